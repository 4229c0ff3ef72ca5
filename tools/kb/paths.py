"""Where the project's data files live, resolved once so no module hard-codes paths."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
VOCABULARY_FILE = DATA_DIR / "vocabulary.yml"
REDLINE_RULES_FILE = DATA_DIR / "redlines.yml"

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
