"""Cross-references MkDocs' own link validation does not see.

MkDocs 1.6 (`validation:` + `--strict`) already checks Markdown links and heading anchors
of pages; these checks cover the rest: links inside included snippets (resolved per
including page, and reported against the snippet), links to call-script ids, pages
nothing reaches, and the glossary tooltips.
"""

from __future__ import annotations

import re

from kb.paths import shown_path, translated_source
from kb.problems import Problem, problem, suggest
from kb.site import INLINE_LINK, Site, blank_code

ABBREVIATION = re.compile(r"^\*\[(?P<term>[^\]]+)\]:")
GLOSSARY_FILE = "glossary.md"
ABBREVIATIONS_FILE = "abbreviations.md"


def check_snippets(site: Site) -> list[Problem]:
    """Every --8<-- include resolves, and the links inside it resolve from the including page."""
    problems: list[Problem] = []
    shown = [shown_path(base, site.docs_dir.resolve().parent) for base in site.snippet_base]
    bases = "、".join(shown) or "（未配置）"
    available = sorted({p.name for base in site.snippet_base if base.is_dir() for p in base.rglob("*.md")})
    snippet_cache: dict[str, list[tuple[int, str]]] = {}
    for page in site.pages.values():
        for snippet in page.snippets:
            found = site.snippet_file(snippet.name)
            if found is None:
                problems.append(problem(page.display, snippet.line, "include-missing", value=snippet.name, base=bases,
                                        hint=suggest(snippet.name, available)))
                continue
            key = found.as_posix()
            if key not in snippet_cache:
                text = found.read_text(encoding="utf-8", errors="replace")
                snippet_cache[key] = [(n, m.group("target")) for n, line in enumerate(blank_code(text).split("\n"), 1)
                                      for m in INLINE_LINK.finditer(line)]
            for snippet_line, target in snippet_cache[key]:
                reason, hint = _link_problem(site, page.path, target)
                if reason:
                    problems.append(problem(page.display, snippet.line, "include-link", snippet=snippet.name,
                                            snippet_line=snippet_line, target=target, reason=reason, hint=hint))
    return problems


def _link_problem(site: Site, from_page: str, target: str) -> tuple[str, str]:
    resolved, fragment = site.resolve(from_page, target)
    if resolved is None or not resolved.endswith(".md"):
        return "", ""
    if resolved not in site.pages:
        return f"页面 {resolved} 不存在", suggest(resolved, site.pages)
    if fragment and fragment not in site.pages[resolved].anchors:
        return f"{resolved} 上没有锚点 #{fragment}", suggest(fragment, site.pages[resolved].anchors)
    return "", ""


def check_script_anchors(site: Site) -> list[Problem]:
    """Links of the form page.md#id into a page that holds call scripts must name an existing anchor."""
    problems: list[Problem] = []
    for page in site.pages.values():
        for link in page.links:
            resolved, fragment = site.resolve(page.path, link.target)
            target = site.pages.get(resolved) if resolved else None
            if not fragment or target is None or not target.scripts or fragment in target.anchors:
                continue
            problems.append(problem(page.display, link.line, "script-anchor-missing", target=link.target,
                                    value=fragment, page=resolved, hint=suggest(fragment, target.script_ids)))
    return problems


def check_orphans(site: Site) -> list[Problem]:
    """Pages that the nav does not list and no other page (or front matter `related`) links to."""
    if site.nav_paths is None:
        return []
    reached = set(site.nav_paths)
    for page in site.pages.values():
        for link in page.links:
            resolved, _ = site.resolve(page.path, link.target)
            if resolved and resolved != page.path:
                reached.add(resolved)
        for item in page.meta.get("related") or []:
            reached.add(str(item))
    return [
        problem(page.display, 0, "orphan-page")
        for path, page in sorted(site.pages.items())
        if path not in reached and translated_source(path) not in reached
    ]


def glossary_terms(text: str) -> set[str]:
    """Terms defined on the glossary page: headings, definition-list terms, bold table cells, abbreviations."""
    terms: set[str] = set()
    lines = blank_code(text).split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        heading = re.match(r"^#{2,6}\s+(.+?)\s*(\{[^}]*\})?\s*$", stripped)
        if heading:
            terms.add(heading.group(1).strip())
            terms.update(part.strip() for part in re.split(r"[（(／/、]|\s+", heading.group(1)) if part.strip())
        if index + 1 < len(lines) and re.match(r"^:\s{1,3}\S", lines[index + 1]) and stripped:
            terms.add(stripped.strip("*").strip())
        for bold in re.findall(r"\*\*(.+?)\*\*", stripped):
            terms.add(bold.strip())
        if stripped.startswith("|"):
            cells = [cell.strip().strip("*").strip() for cell in stripped.strip("|").split("|")]
            if cells:
                terms.add(cells[0])
    return {term for term in terms if term}


def check_glossary(site: Site) -> list[Problem]:
    """Each *[term]: in abbreviations.md is defined once and has an entry on glossary.md."""
    abbreviations = site.snippet_file(ABBREVIATIONS_FILE)
    glossary = site.pages.get(GLOSSARY_FILE)
    if abbreviations is None or glossary is None:
        return []
    shown = shown_path(abbreviations, site.docs_dir.resolve().parent, f"{abbreviations.parent.name}/{ABBREVIATIONS_FILE}")
    terms = glossary_terms(glossary.text)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(abbreviations.read_text(encoding="utf-8", errors="replace").split("\n"), 1):
        match = ABBREVIATION.match(line)
        if not match:
            continue
        term = match.group("term").strip()
        if term in seen:
            problems.append(problem(shown, number, "glossary-duplicate", value=term, other=seen[term]))
            continue
        seen[term] = number
        if term not in terms:
            problems.append(problem(shown, number, "glossary-missing", value=term, hint=suggest(term, terms)))
    return problems
