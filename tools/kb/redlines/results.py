"""Findings remembered per text, so an unchanged page is not checked again.

A page's findings depend only on its text, on whether it is read as Markdown, and on the
checker: the rules file, the learned model and the checker's code (and the OpenCC and
Python builds it runs on). All of those go into one key; a page is looked up by a digest of
its text. Any change to the rules, the model or the code starts a fresh cache. The path is
not part of the key: findings are stored without it and get the caller's path back.

Used by the command line (kb.redlines.batch) and by the build checks (kb.validate); the
storage is kb.diskcache (KB_NO_CACHE=1 turns it off).
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, replace
from pathlib import Path

from kb import diskcache

from . import learned
from .engine import Finding
from .rules import RuleSet

# Entries kept in one cache file: far more than the site's pages, few enough to load in milliseconds.
MAX_ENTRIES = 20_000


def _opencc_version() -> str:
    try:
        from importlib.metadata import version

        return version("opencc")
    except Exception:  # noqa: BLE001 — unknown version: part of the key as such
        return "?"


def checker_key(rs: RuleSet) -> str | None:
    """What decides a text's findings besides the text; None when it cannot be pinned down
    (rules not read from a file, a test overriding the learned model, unreadable sources)."""
    if not rs.digest:
        return None
    code = diskcache.code_fingerprint(Path(__file__).resolve().parent)
    if code is None:
        return None
    model = learned.active_model_digest(rs)
    if model is None:
        return None  # overridden by a test, or unreadable (checking reports it)
    parts = [code, rs.digest.encode(), model.encode(), _opencc_version().encode()]
    return hashlib.sha256(b"|".join(parts)).hexdigest()


def text_key(text: str, markdown: bool) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16, person=b"md" if markdown else b"txt").hexdigest()


class FindingsCache:
    KIND = "findings"

    def __init__(self, rs: RuleSet):
        self.key = checker_key(rs)
        loaded = diskcache.load(self.KIND, self.key)
        self._entries: dict = loaded if isinstance(loaded, dict) else {}
        self._dirty = False

    def get(self, text: str, markdown: bool, path: str) -> list[Finding] | None:
        if self.key is None:
            return None
        rows = self._entries.get(text_key(text, markdown))
        if rows is None:
            return None
        return [Finding(path, *row) for row in rows]

    def put(self, text: str, markdown: bool, findings: list[Finding]) -> None:
        if self.key is None:
            return
        self._entries[text_key(text, markdown)] = tuple(astuple(replace(f, path=""))[1:] for f in findings)
        self._dirty = True

    def save(self) -> None:
        if self.key is None or not self._dirty:
            return
        if len(self._entries) > MAX_ENTRIES:  # the oldest insertions go first
            for k in list(self._entries)[: len(self._entries) - MAX_ENTRIES]:
                del self._entries[k]
        diskcache.store(self.KIND, self.key, self._entries)
        self._dirty = False
