"""All site checks in one call: `check_site(site)` -> sorted problems.

Each rule lives in its own module (frontmatter, call_scripts, links, generated,
kb.redlines); this module only composes them, for the build hook and `kb-check`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kb import generated
from kb.call_scripts import check_script
from kb.frontmatter import check_front_matter
from kb.links import check_glossary, check_orphans, check_script_anchors, check_snippets
from kb.paths import translated_source
from kb.problems import Problem, problem, suggest
from kb.site import PageSource, Site

log = logging.getLogger(__name__)


def check_duplicate_script_ids(site: Site) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for page in site.pages.values():
        if translated_source(page.path) != page.path:
            continue  # a hand-written x.zh-Hant.md repeats the ids of x.md on purpose
        for script in page.scripts:
            if not script.id:
                continue
            where = f"{page.display}:{script.line}"
            if script.id in seen:
                problems.append(problem(page.display, script.line, "script-id-duplicate", value=script.id, other=seen[script.id]))
            else:
                seen[script.id] = where
    return problems


def check_markers(site: Site, page: PageSource) -> list[Problem]:
    problems = []
    for marker in page.markers:
        if marker.name not in generated.GENERATORS:
            problems.append(problem(page.display, marker.line, "generator-unknown", value=marker.name,
                                    hint=suggest(marker.name, generated.GENERATORS)))
            continue
        try:
            generated.run(site, page.path, marker.name, marker.args)
        except generated.GeneratorError as exc:
            problems.append(problem(page.display, marker.line, "generator-args", value=marker.name, reason=exc))
    return problems


def redline_checker():
    """kb.redlines.check_markdown, or None while that module is not installed."""
    try:
        from kb.redlines import check_markdown
    except ImportError as exc:  # the engine is not installed (or only partly) in this checkout
        # The engine ships with this repository: a checkout without it must not pass silently.
        logging.getLogger("mkdocs.plugins.kb").warning("红线检查模块 kb.redlines 无法导入，未做红线检查：%s", exc)
        return None
    return check_markdown


def preload_redline_checker() -> None:
    """Load the red-line engine's rules and model in this process (see kb.redlines.preload)."""
    if redline_checker() is not None:
        from kb.redlines import preload

        preload()


# page → ((checker, rules-file version, text), problems). `mkdocs serve` rebuilds the whole
# site after every edit; only the edited page needs the red-line engine again.
_REDLINE_RESULTS: dict[str, tuple[tuple, tuple[Problem, ...]]] = {}


def _rules_version() -> tuple:
    """The rules file's and the learned detector's model file's versions: what the checker reads
    besides the page. Constant during one check_site, so it is read once per run."""
    from kb.paths import REDLINE_RULES_FILE
    from kb.redlines.learned import model_version

    try:
        return (str(REDLINE_RULES_FILE), REDLINE_RULES_FILE.stat().st_mtime_ns, model_version())
    except OSError:
        return (str(REDLINE_RULES_FILE), None)  # the checker reports the unreadable rules file itself


def _rules_problem(checker, root: Path) -> Problem | None:
    """A broken rules file, as one problem of the build (instead of a crash on every page)."""
    from kb.redlines import RulesError, check_markdown, load_rules

    if checker is not check_markdown:
        return None
    try:
        load_rules()
    except RulesError as exc:
        from kb.paths import REDLINE_RULES_FILE, shown_path

        return problem(shown_path(REDLINE_RULES_FILE, root), 0, "redline-rules", reason=exc)
    return None


def _findings_cache(checker):
    """Findings of pages checked by earlier builds with the same checker (kb.redlines.results);
    None for any checker but the engine's own (tests pass fakes)."""
    from kb.redlines import RulesError, check_markdown, load_rules
    from kb.redlines.results import FindingsCache

    if checker is not check_markdown:
        return None
    try:
        return FindingsCache(load_rules())
    except RulesError:
        return None  # the checker itself reports a broken rules file


def _remembering(checker, remembered):
    def check(text: str, path: str):
        findings = remembered.get(text, True, path)
        if findings is None:
            findings = checker(text, path)
            remembered.put(text, True, findings)
        return findings

    check.__wrapped__ = checker  # the in-memory results (serve) key on the checker itself
    return check


def check_redlines(page: PageSource, checker, rules_version: tuple | None = None) -> list[Problem]:
    version = (getattr(checker, "__wrapped__", checker), rules_version or _rules_version(), page.text)
    cached = _REDLINE_RESULTS.get(page.display)
    if cached is None or cached[0] != version:
        cached = _REDLINE_RESULTS[page.display] = (version, tuple(_redline_problems(page, checker)))
    return list(cached[1])


def _redline_problems(page: PageSource, checker) -> list[Problem]:
    problems = []
    for finding in checker(page.text, page.display):
        if getattr(finding, "severity", "error") != "error":
            continue
        text = finding.message
        if getattr(finding, "match", None) and finding.match not in text:
            text += f"（「{finding.match}」）"
        if getattr(finding, "suggestion", None):
            text += f"；建议：{finding.suggestion}"
        line = finding.line
        if getattr(finding, "column", None):
            text += f"（第 {finding.column} 列）"
        problems.append(problem(page.display, line, "redline", rule=finding.rule, text=text))
    return problems


def check_page(site: Site, page: PageSource, checker=None, rules_version: tuple | None = None) -> list[Problem]:
    """Checks local to one page (front matter, scripts, markers, red lines)."""
    if page.decode_error is not None:
        return [page.decode_error]
    problems = check_front_matter(page.front_matter, page.path, set(site.pages), site.vocabulary, page.display)
    for script in page.scripts:
        problems += check_script(script, set(site.pages), site.vocabulary)
    problems += check_markers(site, page)
    if checker is not None:
        problems += check_redlines(page, checker, rules_version)
    return problems


def check_site(site: Site, only: set[str] | None = None, redlines: bool = True) -> list[Problem]:
    """Every problem of the site; `only` limits the report to these docs-relative pages (site-wide rules still run)."""
    checker = redline_checker() if redlines else None
    problems: list[Problem] = []
    broken_rules = _rules_problem(checker, site.docs_dir.resolve().parent) if checker is not None else None
    if broken_rules is not None:
        problems.append(broken_rules)
        checker = None
    rules_version = _rules_version() if checker is not None else None
    remembered = _findings_cache(checker) if checker is not None else None
    if remembered is not None:
        checker = _remembering(checker, remembered)
    for path, page in site.pages.items():
        if only is None or path in only:
            problems += check_page(site, page, checker, rules_version)
    if remembered is not None:
        remembered.save()
    site_wide = check_duplicate_script_ids(site) + check_snippets(site) + check_script_anchors(site) + check_orphans(site)
    if only is not None:
        shown = {site.pages[p].display for p in only if p in site.pages}
        site_wide = [p for p in site_wide if p.path in shown]
    else:
        site_wide += check_glossary(site)
    return sorted(set(problems + site_wide))
