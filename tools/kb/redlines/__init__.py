"""Compliance red-line checker (合规红线检查) for pages, call scripts and any text.

Public API (used by the CLI, the MkDocs build hooks and the tests):

    from kb.redlines import Finding, check_markdown, check_text, load_rules, render_rules_markdown

The rules live in one file, tools/kb/data/redlines.yml (kb.paths.REDLINE_RULES_FILE).
Rules and compiled matchers are cached, so calling the checks once per page is cheap.
"""

from __future__ import annotations

from .engine import Finding, hits_to_findings, scanner_for
from .markdown import check_markdown_with
from .render import render_rules_markdown
from .rules import RuleSet, RulesError, load_rules

__all__ = [
    "Finding", "RuleSet", "RulesError", "check_markdown", "check_text", "load_rules", "render_rules_markdown",
]


def _ruleset(rules) -> RuleSet:
    if rules is None:
        return load_rules()
    if isinstance(rules, RuleSet):
        return rules
    return load_rules(rules)


def check_text(text: str, path: str = "<text>", rules=None) -> list[Finding]:
    """Check plain prose (every character is text); returns findings sorted by position."""
    rs = _ruleset(rules)
    return hits_to_findings(scanner_for(rs).scan(text), text, path)


def check_markdown(text: str, path: str = "<text>", rules=None) -> list[Finding]:
    """Check a Markdown page: prose, counter-example blocks, suppressions and call scripts."""
    return check_markdown_with(text, path, _ruleset(rules))
