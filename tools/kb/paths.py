"""Where the project's data files live, resolved once so no module hard-codes paths."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
VOCABULARY_FILE = DATA_DIR / "vocabulary.yml"
REDLINE_RULES_FILE = DATA_DIR / "redlines.yml"


def shown_path(path: Path, root: Path, outside: str | None = None) -> str:
    """`path` as messages show it: relative to the project `root` (the folder of mkdocs.yml)
    when inside it, else `outside` (default: the path as given)."""
    resolved = path.resolve()
    if resolved.is_relative_to(root.resolve()):
        return resolved.relative_to(root.resolve()).as_posix()
    return outside if outside is not None else path.as_posix()


def cache_dir() -> Path:
    """Where the checker and the build keep what they can reuse between runs (never needed for
    correctness): KB_CACHE_DIR, else $XDG_CACHE_HOME/cuishou-kb, else ~/.cache/cuishou-kb."""
    explicit = os.environ.get("KB_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cuishou-kb"


def cache_enabled() -> bool:
    """KB_NO_CACHE=1 turns every cache off."""
    return os.environ.get("KB_NO_CACHE", "") in ("", "0")


# A hand-written Traditional page x.zh-Hant.md (mkdocs-static-i18n suffix structure)
# overrides the page generated from x.md.
HANT_SUFFIX = ".zh-Hant.md"


def translated_source(path: str) -> str:
    """The source page of a hand-written translation (`x.zh-Hant.md` → `x.md`); other paths unchanged."""
    return path[: -len(HANT_SUFFIX)] + ".md" if path.endswith(HANT_SUFFIX) else path


@lru_cache(maxsize=None)
def load_vocabulary(path: Path = VOCABULARY_FILE) -> dict:
    """The controlled vocabularies and front-matter schema (tools/kb/data/vocabulary.yml)."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
