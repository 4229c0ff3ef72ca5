"""The on-disk cache of the checker and the build: how entries are read, written and pruned.

Entries: the red-line rules memo (kb.redlines.compiled.RulesMemo), the parsed learned model
(kb.redlines.learned), remembered findings (kb.redlines.results.FindingsCache) and search
segmentation (kb.search_index). Every entry is one pickle file whose
name carries a key derived from everything that decides its content (the inputs, the
checker's own code, the Python build), so a stale entry is never read, only left behind;
the oldest entries of a kind beyond KEEP_PER_KIND are deleted when a new one is written.

Location: kb.paths.cache_dir() (KB_CACHE_DIR, else the user's cache directory); KB_NO_CACHE=1
turns the cache off. Any problem reading or writing it only costs speed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from kb.paths import cache_dir
from kb.paths import cache_enabled as enabled

# Bump when an entry's layout changes; code changes are covered by code_fingerprint().
FORMAT = 1
# Entries kept per kind: a few rules-file versions (a trainer editing rules, a branch switch).
KEEP_PER_KIND = 6


@lru_cache(maxsize=None)
def code_fingerprint(directory: Path, modules: tuple[str, ...] | None = None) -> bytes | None:
    """Digest of the given modules in `directory` (default: all of them), this module and the
    Python build; None when the sources cannot be read (then nothing is cached). Read once per
    process: the code that runs is the code imported at start, whatever the files say later."""
    digest = hashlib.sha256(f"{FORMAT}|{sys.version}".encode())
    try:
        digest.update(Path(__file__).read_bytes())
        names = modules or tuple(sorted(p.name for p in directory.glob("*.py")))
        for name in names:
            digest.update(name.encode())
            digest.update((directory / name).read_bytes())
    except OSError:
        return None
    return digest.digest()


def derived_key(directory: Path, modules: tuple[str, ...], data: bytes) -> str | None:
    """The key of an entry that these modules derive from `data` alone (a file's bytes): None
    when the modules cannot be read."""
    code = code_fingerprint(directory, modules)
    return None if code is None else hashlib.sha256(code + data).hexdigest()


def entry_path(kind: str, key: str) -> Path:
    return cache_dir() / f"{kind}-{key[:32]}.pickle"


def load(kind: str, key: str | None):
    """The data stored under (kind, key), or None."""
    if key is None or not enabled():
        return None
    try:
        with open(entry_path(kind, key), "rb") as handle:
            data = pickle.load(handle)
    except Exception:  # noqa: BLE001 — missing, truncated or foreign file: as if absent
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data.get("data")


def store(kind: str, key: str | None, data) -> None:
    """Write an entry whole, then rename it into place: readers see the old or the new file."""
    if key is None or not enabled():
        return
    path = entry_path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{kind}-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump({"key": key, "data": data}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 — an entry that cannot be written only costs speed
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(kind, keep=path)


def _prune(kind: str, keep: Path) -> None:
    try:
        entries = sorted(cache_dir().glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in entries if p != keep][KEEP_PER_KIND - 1:]:
            old.unlink()
    except OSError:
        pass
