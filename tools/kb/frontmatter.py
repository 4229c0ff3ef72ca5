"""Page front matter: split it off exactly as MkDocs does, parse it, check it against vocabulary.yml.

MkDocs silently renders a front-matter block whose YAML does not parse as ordinary
text; `split_front_matter` reports that instead, with the line of the YAML error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser when available (several times faster on large sites); same errors and marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from kb.paths import load_vocabulary
from kb.problems import Problem, problem, suggest

# Same delimiters as mkdocs.utils.meta (the YAML-style block MkDocs understands).
_FRONT_MATTER = re.compile(r"\A-{3}[ \t]*\n(.*?\n)?(?:-{3}|\.{3})[ \t]*(?:\n|\Z)", re.S)


@dataclass
class FrontMatter:
    data: dict[str, Any]
    body: str  # the Markdown after the block
    body_line: int  # 1-based file line where `body` starts
    key_lines: dict[str, int]  # key -> 1-based file line
    error: Problem | None = None


def split_front_matter(text: str, path: str) -> FrontMatter:
    """Split `text` into front matter and body; `error` is set if the block is not valid YAML."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return FrontMatter({}, text, 1, {})
    block = match.group(1) or ""
    body = text[match.end():]
    body_line = text.count("\n", 0, match.end()) + 1
    key_lines = {}
    for number, line in enumerate(block.splitlines(), start=2):
        key = re.match(r"([A-Za-z_][\w-]*)\s*:", line)
        if key:
            key_lines.setdefault(key.group(1), number)
    try:
        data = yaml.load(block, Loader=_LOADER) if block.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return FrontMatter({}, body, body_line, key_lines, problem(path, line, "front-matter-yaml", error=reason))
    if not isinstance(data, dict):
        return FrontMatter(
            {}, body, body_line, key_lines,
            problem(path, 2, "front-matter-yaml", error="内容应为「键: 值」形式的映射"),
        )
    return FrontMatter(data, body, body_line, key_lines)


# Expected Python types of each front-matter key (names come from vocabulary.yml).
_LIST = (list,)
KEY_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "title": ((str,), "文字"),
    "description": ((str,), "文字"),
    "tags": (_LIST, "列表"),
    "sources": (_LIST, "列表"),
    "audience": (_LIST, "列表"),
    "debtor_types": (_LIST, "列表"),
    "stages": (_LIST, "列表"),
    "related": (_LIST, "列表"),
    "keywords": (_LIST, "列表"),
    "search": ((dict,), "映射（如 {boost: 2}）"),
    "hide": (_LIST, "列表"),
    "icon": ((str,), "文字"),
    "status": ((str,), "文字"),
    "template": ((str,), "文字"),
    "generated": ((bool,), "true 或 false"),
}


def vocabulary_sets(vocabulary: dict | None = None) -> dict[str, list[str]]:
    """Allowed values per controlled front-matter key."""
    vocabulary = vocabulary or load_vocabulary()
    return {
        "tags": [tag for group in vocabulary["tags"].values() for tag in group],
        "sources": list(vocabulary["sources"]),
        "audience": list(vocabulary["audiences"]),
        "debtor_types": list(vocabulary["debtor_types"]),
        "stages": [str(stage) for stage in vocabulary["stages"]],
    }


def check_front_matter(
    fm: FrontMatter, path: str, page_paths: set[str], vocabulary: dict | None = None, display: str | None = None
) -> list[Problem]:
    """Schema and reference checks of one page's front matter (`path` docs-relative, `display` shown)."""
    if fm.error is not None:
        return [fm.error]
    vocabulary = vocabulary or load_vocabulary()
    schema = vocabulary["front_matter"]
    required = list(schema["required"])
    if path in schema.get("sources_optional_for", []):
        required.remove("sources")
    allowed = set(schema["required"]) | set(schema["optional"])
    problems: list[Problem] = []
    data = fm.data
    shown = display or path
    line = fm.key_lines.get
    for key in required:
        if key not in data or data[key] in (None, "", []):
            problems.append(problem(shown, 1, "front-matter-missing", key=key))
    for key in data:
        if key not in allowed:
            problems.append(problem(shown, line(key, 1), "front-matter-unknown-key", key=key, hint=suggest(key, allowed)))
    allowed_values = vocabulary_sets(vocabulary)
    for key, value in data.items():
        if key not in allowed or value is None:
            continue
        types, expected = KEY_TYPES.get(key, ((object,), ""))
        if not isinstance(value, types):
            problems.append(problem(shown, line(key, 1), "front-matter-type", key=key, expected=expected, actual=value))
            continue
        if key in allowed_values:
            for item in value:
                item_text = str(item)
                if item_text not in allowed_values[key]:
                    problems.append(problem(shown, line(key, 1), "front-matter-value", key=key, value=item_text,
                        hint=suggest(item_text, allowed_values[key]),
                    ))
        elif key == "related":
            for item in value:
                if str(item) not in page_paths:
                    problems.append(problem(shown, line(key, 1), "related-missing", where="", value=item,
                        hint=suggest(str(item), page_paths),
                    ))
        elif key == "keywords":
            for item in value:
                if not isinstance(item, (str, int)):
                    problems.append(problem(shown, line(key, 1), "front-matter-type", key=key, expected="文字列表", actual=item))
    return problems
