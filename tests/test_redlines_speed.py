"""Speed-ups must not change results: literal prefilters are sound, libyaml reads the same rules.

The prefilter lets the engine skip a pattern on a text that cannot contain any literal every
match of the pattern needs. Soundness is checked against real text: on every page of the site,
every rule example and a sample of the labelled corpus, a pattern the prefilter skips has no
match at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kb.paths import REDLINE_RULES_FILE
from kb.redlines import check_markdown, load_rules
from kb.redlines.engine import scanner_for
from kb.redlines.prefilter import PrefilterIndex, required_literals

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus" / "redlines"


def _texts() -> list[str]:
    rs = load_rules()
    out = [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").rglob("*.md")) if "_overrides" not in p.parts]
    out += [s for r in rs.rules for s in r.examples_bad + r.examples_good]
    lines = [ln.split("\t", 1)[1] for f in sorted(CORPUS.glob("*.tsv"))
             for ln in f.read_text(encoding="utf-8").splitlines() if "\t" in ln and not ln.startswith("#")]
    out += lines[::4]
    return out


@pytest.mark.parametrize(("pattern", "expected"), [
    ("老赖|骗子", {"老赖", "骗子"}),
    ("(你|他)就是[^，]{0,4}(狗|猪)", {"你就是", "他就是"}),
    ("(先)?(别|不要)(说|提)[^，]?催收", {"催收"}),
    ("(别|不要)(说|提)", {"别说", "别提", "不要说", "不要提"}),
    ("[^，]*", None),
    ("(?i)call", None),
    ("(凌晨|半夜)?\\d+点", {"点"}),
])
def test_required_literals(pattern, expected):
    lits = required_literals(re.compile(pattern))
    assert (set(lits) if lits is not None else None) == expected


@pytest.mark.parametrize(("pattern", "further"), [
    # Each top-level item's literals are required as well, unless the indexed ones imply them.
    ("你[^，]{0,4}(不还|没还)[^，]{0,3}就", [{"你"}, {"就"}]),
    ("(你|您)就是[^，]{0,4}(狗|猪)", [{"狗", "猪"}]),
    ("老赖|骗子", []),
    ("(先)?(别|不要)(说|提)[^，]?催收", [{"说", "提"}, {"别", "不要"}]),
])
def test_further_required_sets(pattern, further):
    from kb.redlines.prefilter import analyse

    lits, _line_bound, extra = analyse(re.compile(pattern))
    assert lits is not None
    assert sorted(map(set, extra), key=sorted) == sorted(further, key=sorted)


def test_a_line_with_only_some_required_literals_is_skipped():
    index = PrefilterIndex()
    pattern = re.compile("你[^，\n]{0,4}不还[^，\n]{0,3}就")  # line-bound: searched line by line
    index.add(0, pattern)
    text = "你好\n他不还钱\n你要是不还就麻烦了"
    lines, whole = index.locate(text)
    assert lines == {0: [(8, 17)]} and not whole  # line 2 has 不还 but neither 你 nor 就
    assert [m.group(0) for a, b in lines[0] for m in pattern.finditer(text, a, b)] == ["你要是不还就"]


def test_prefilter_finds_exactly_the_matches_of_a_whole_text_search():
    rs = load_rules()
    scanner = scanner_for(rs)
    pieces = [(p, pid) for pats in scanner._patterns.values() for p, pid in pats]
    pieces += [piece for ctxs in scanner._contexts.values() for _, ctx_pieces in ctxs for piece in ctx_pieces]
    assert len(pieces) > 100
    skipped = 0
    for original in _texts():
        text = rs.normalizer(original).text
        lines, whole = scanner._prefilter.locate(text)
        for pattern, pid in pieces:
            expected = [m.span() for m in pattern.finditer(text)]
            if pid in lines:
                got = [m.span() for a, b in lines[pid] for m in pattern.finditer(text, a, b)]
            elif pid in whole:
                got = expected
            else:
                got, skipped = [], skipped + 1
            assert got == expected, f"前置过滤改变了匹配结果：{pattern.pattern[:80]}"
    assert skipped > 0  # the prefilter does skip work


def test_a_literal_across_line_breaks_enables_a_whole_text_pattern():
    index = PrefilterIndex()
    index.add(0, re.compile("催\n\n收"))  # not line-bound: searched on the whole text
    index.add(1, re.compile("收款"))
    assert index.locate("催\n\n收") == ({}, {0})
    assert index.locate("催\n收") == ({}, set())
    assert index.locate("先催\n\n收款") == ({1: [(4, 6)]}, {0})


def test_libyaml_reads_the_rules_file_like_the_python_loader():
    text = REDLINE_RULES_FILE.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == yaml.safe_load(text)


def test_invalid_yaml_keeps_the_python_loader_message(tmp_path):
    from kb.redlines import RulesError

    bad = tmp_path / "rules.yml"
    bad.write_text("rules: [\n  - id: R01\n", encoding="utf-8")
    with pytest.raises(RulesError, match="不是合法的 YAML") as info:
        load_rules(bad)
    try:
        yaml.safe_load(bad.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        assert str(exc) in str(info.value)


def test_site_page_findings_are_stable_across_repeated_checks():
    page = (REPO / "docs" / "compliance" / "redlines.md").read_text(encoding="utf-8")
    first = check_markdown(page, "docs/compliance/redlines.md")
    assert check_markdown(page, "docs/compliance/redlines.md") == first


def _all_corpus_lines() -> list[str]:
    return [ln.split("\t", 1)[1] for f in sorted(CORPUS.glob("*.tsv"))
            for ln in f.read_text(encoding="utf-8").splitlines() if "\t" in ln and not ln.startswith("#")]


def test_time_gate_keeps_every_time_expression():
    # R03 searches for clock times only on lines with a gate hit; that must find every match.
    from kb.redlines.engine import _TIME_GATE, _TIME_RE, _lines_with

    rs = load_rules()
    texts = _texts() + _all_corpus_lines() + ["凌晨给他打", "深更半夜去敲门", "睡觉的时候打", "晚上10:30再打\n第二行 9点"]
    matched = 0
    for text in texts:
        norm = rs.normalizer(text).text
        everywhere = [m.span() for m in _TIME_RE.finditer(norm) if m.group(0)]
        gated = [m.span() for a, b in _lines_with(_TIME_GATE, norm) for m in _TIME_RE.finditer(norm, a, b) if m.group(0)]
        assert gated == everywhere, text
        matched += bool(everywhere)
    assert matched > 50  # the check saw real time expressions


def test_personal_data_prefilter_is_sound():
    # A text without a prefilter hit skips the three personal-data patterns: none of them may match it.
    rs = load_rules()
    (rule,) = [r for r in rs.rules if r.check == "personal_data"]
    cfg = rule.raw["personal_data"]
    assert cfg.get("prefilter"), "the rules file configures a personal-data prefilter"
    gate = re.compile(cfg["prefilter"])
    patterns = [re.compile(cfg[k]) for k in ("resident_id", "mobile", "bank_card")]
    texts = _texts() + _all_corpus_lines() + list(rule.examples_bad) + [
        "+86 138-1234-5678", "+86-13812345678", "13812345678", "6222 0212 3456 7890", "6222-0212-3456-7890-123",
        "110101199003074514", "11010119900307451X", "6222021234567890123",
    ]
    hits = 0
    for text in texts:
        if gate.search(text) is None:
            assert not any(p.search(text) for p in patterns), text
        else:
            hits += any(p.search(text) for p in patterns)
    assert hits > 10
