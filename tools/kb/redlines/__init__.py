"""Compliance red-line checker (合规红线检查) for pages, call scripts and any text.

Public API (used by the CLI, the MkDocs build hooks and the tests):

    from kb.redlines import Finding, check_markdown, check_text, load_rules, load_rule_descriptions, render_rules_markdown

The rules live in one file, tools/kb/data/redlines.yml (kb.paths.REDLINE_RULES_FILE).
Rules and compiled matchers are cached, so calling the checks once per page is cheap.
"""

from __future__ import annotations

from . import learned
from .engine import Finding, hits_to_findings, scanner_for
from .markdown import check_markdown_with
from .render import render_rules_markdown
from .rules import RuleSet, RulesError, load_rule_descriptions, load_rules

__all__ = [
    "Finding", "RuleSet", "RulesError", "check_markdown", "check_text", "load_rule_descriptions", "load_rules", "preload",
    "render_rules_markdown",
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


def preload(rules=None) -> None:
    """Load the learned model now, and nothing that needs compiling.

    A build calls this just before it forks its checker process. The build process needs the
    model (the 合规红线 page shows its thresholds) and the forked child inherits it instead of
    reading it a second time. The rules' 1 500 regexes are left to the child, which compiles
    them (over a second when nothing is cached) while this process renders pages; this
    process only reads the rules as documentation (load_rule_descriptions). Errors are left
    to the check itself, which reports them."""
    try:
        learned.active_model(rules if isinstance(rules, RuleSet) else load_rule_descriptions(rules))
    except RulesError:  # learned.ModelError included
        pass
