"""The rules memo (kb.redlines.compiled) may only make loading faster, never change a result.

A memo hit skips validation, prefilter analysis and regex compilation; these tests check that
such a load finds exactly what a full load finds, that an invalid rules file is never
memoised, and that a damaged or missing memo only means a full load.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kb.paths import REDLINE_RULES_FILE
from kb.redlines import RulesError, check_markdown, check_text
from kb.redlines.compiled import LazyPattern, RulesMemo, compile_recorded, from_recipe
from kb.redlines.rules import _load_cached

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def memo_dir(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KB_CACHE_DIR", str(cache))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    return cache


def _fresh_load(path: Path):
    """Load bypassing the in-process cache (as a new process would)."""
    return _load_cached.__wrapped__(str(path), path.stat().st_mtime_ns)


def _copy_rules(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "redlines.yml"
    path.write_text(text if text is not None else REDLINE_RULES_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_memo_load_is_lazy_and_finds_what_a_full_load_finds(memo_dir, tmp_path):
    path = _copy_rules(tmp_path)
    full = _fresh_load(path)
    assert list(memo_dir.glob("rules-*.pickle")), "a valid rules file is memoised"
    assert all(p.is_compiled for r in full.rules for p in r.patterns), "a full load compiles (validates) everything"

    memo = _fresh_load(path)
    assert memo is not full
    assert not any(p.is_compiled for r in memo.rules for p in r.patterns), "a memo hit compiles nothing up front"
    assert memo.prefilters == full.prefilters

    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").rglob("*.md"))]
    texts += [s for r in full.rules for s in r.examples_bad + r.examples_good]
    for text in texts:
        assert check_markdown(text, "x.md", memo) == check_markdown(text, "x.md", full)
    compiled = [p for r in memo.rules for p in r.patterns if p.is_compiled]
    assert compiled, "patterns compile on first use"
    for lazy in compiled[:50]:
        plain = re.compile(lazy.pattern)
        assert lazy.compiled.pattern == plain.pattern and lazy.compiled.flags == plain.flags
        assert lazy.compiled.groupindex == plain.groupindex


def test_invalid_rules_are_never_memoised(memo_dir, tmp_path):
    raw = yaml.safe_load(REDLINE_RULES_FILE.read_text(encoding="utf-8"))
    raw["rules"][6]["match"]["patterns"].append("(坐牢")
    path = _copy_rules(tmp_path, yaml.safe_dump(raw, allow_unicode=True))
    for _ in range(2):  # the second load must report the same error, not trust a memo
        with pytest.raises(RulesError, match=r"规则 R07.*不是合法的正则表达式"):
            _fresh_load(path)
    assert not list(memo_dir.glob("rules-*.pickle"))


def test_a_changed_rules_file_is_not_served_from_the_old_memo(memo_dir, tmp_path):
    path = _copy_rules(tmp_path)
    _fresh_load(path)
    sentence = "这个月底前再不还就让你好看。"
    assert not any(f.rule == "R99" for f in check_text(sentence, rules=_fresh_load(path)))
    text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    extra = dict(raw["rules"][0], id="R99", name="测试规则",
                 match={"patterns": ["月底前"]}, examples={"bad": ["月底前"], "good": ["月初"]})
    raw["rules"].append(extra)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert any(f.rule == "R99" for f in check_text(sentence, rules=_fresh_load(path)))
    assert len(list(memo_dir.glob("rules-*.pickle"))) == 2


def test_a_damaged_memo_means_a_full_load(memo_dir, tmp_path):
    path = _copy_rules(tmp_path)
    _fresh_load(path)
    (memo_file,) = memo_dir.glob("rules-*.pickle")
    memo_file.write_bytes(b"not a pickle")
    rs = _fresh_load(path)
    assert all(p.is_compiled for r in rs.rules for p in r.patterns)  # validated again
    assert check_text("我知道你家住哪，晚上等着。", rules=rs)
    assert RulesMemo(path.read_bytes()).load() is not None, "and the memo is written again"


def test_no_memo_when_turned_off_or_unwritable(memo_dir, tmp_path, monkeypatch):
    path = _copy_rules(tmp_path)
    monkeypatch.setenv("KB_NO_CACHE", "1")
    _fresh_load(path)
    assert not memo_dir.exists()
    monkeypatch.delenv("KB_NO_CACHE")
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("KB_CACHE_DIR", str(blocker / "cache"))
    assert _fresh_load(path).rules  # an unwritable cache only costs speed


def test_recipes_rebuild_the_same_regex():
    for source in (r"(?P<h>\d{1,2})(?:点|时)(?P<half>半)?", r"(?i)abc|d[^，。]{0,4}e", r"你(?=们)|[一二三]刻"):
        compiled, recipe, _tree = compile_recorded(source)
        plain = re.compile(source)
        rebuilt = from_recipe(source, recipe)
        for pat in (compiled, rebuilt):
            assert (pat.pattern, pat.flags, pat.groups, pat.groupindex) == \
                (plain.pattern, plain.flags, plain.groups, plain.groupindex)
            for text in ("晚上10点半打", "ABC 你们 三刻 dxxe"):
                assert [m.span() for m in pat.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert from_recipe("a+b", ("garbage",)).pattern == "a+b", "a recipe Python rejects falls back to re.compile"
    with pytest.raises(re.error):
        compile_recorded("(坐牢")


def test_lazy_pattern_compiles_on_first_use():
    lazy = LazyPattern("催收|还款")
    assert not lazy.is_compiled
    assert lazy.search("请按时还款").group(0) == "还款"
    assert lazy.is_compiled and lazy.groups == 0
