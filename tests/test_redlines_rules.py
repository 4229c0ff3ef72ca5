"""Every rule's own good/bad example sentences (from redlines.yml) and rules-file validation."""

from __future__ import annotations

import pytest
import yaml

from kb.paths import REDLINE_RULES_FILE
from kb.redlines import RulesError, check_text, load_rules, render_rules_markdown, check_markdown

RULES = load_rules()
BAD = [(r.id, s) for r in RULES.rules for s in r.examples_bad]
GOOD = [(r.id, s) for r in RULES.rules for s in r.examples_good]


def test_covers_r01_to_r16():
    assert [r.id for r in RULES.rules][:16] == [f"R{i:02d}" for i in range(1, 17)]


@pytest.mark.parametrize(("rule_id", "sentence"), BAD, ids=[f"{r}-bad-{i}" for i, (r, _) in enumerate(BAD)])
def test_bad_example_is_flagged_by_its_rule(rule_id, sentence):
    rules = {f.rule for f in check_text(sentence)}
    assert rule_id in rules, f"{rule_id} 的违规示例未被识别：{sentence}"


@pytest.mark.parametrize(("rule_id", "sentence"), GOOD, ids=[f"{r}-good-{i}" for i, (r, _) in enumerate(GOOD)])
def test_good_example_is_clean(rule_id, sentence):
    findings = check_text(sentence)
    assert findings == [], f"{rule_id} 的合规示例被误报：{sentence} → {[(f.rule, f.match) for f in findings]}"


def test_unverified_sources_are_marked():
    statuses = {s["status"] for r in RULES.rules for s in r.sources}
    assert "unverified" in statuses  # e.g. the R03 hours and the NIFA convention (R16)
    r03 = RULES.rule("R03")
    assert any(s["status"] == "unverified" for s in r03.sources)


def test_load_rules_is_cached():
    assert load_rules() is load_rules()
    assert load_rules(REDLINE_RULES_FILE) is RULES


def _broken(tmp_path, mutate):
    raw = yaml.safe_load(REDLINE_RULES_FILE.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_invalid_regex_names_the_rule(tmp_path):
    path = _broken(tmp_path, lambda raw: raw["rules"][6]["match"]["patterns"].append("(坐牢"))
    with pytest.raises(RulesError, match=r"规则 R07.*不是合法的正则表达式"):
        load_rules(path)


def test_bad_severity_and_missing_examples_name_the_rule(tmp_path):
    path = _broken(tmp_path, lambda raw: raw["rules"][1].update(severity="fatal"))
    with pytest.raises(RulesError, match="规则 R02.*severity"):
        load_rules(path)
    path = _broken(tmp_path, lambda raw: raw["rules"][3]["examples"].pop("good"))
    with pytest.raises(RulesError, match="规则 R04.*examples"):
        load_rules(path)


def test_duplicate_id_is_rejected(tmp_path):
    path = _broken(tmp_path, lambda raw: raw["rules"][4].update(id="R01"))
    with pytest.raises(RulesError, match="R01.*重复"):
        load_rules(path)


def test_rendered_page_has_every_rule_with_lowercase_anchor():
    md = render_rules_markdown()
    for rule in RULES.rules:
        assert f"## {rule.id} {rule.name} {{#{rule.id.lower()}}}" in md
        assert f"(#{rule.id.lower()})" in md
    assert "08:00–21:00" in md and "公司政策" in md
    assert "未核实" in md


def test_rendered_page_passes_its_own_checker():
    assert check_markdown(render_rules_markdown(), "docs/compliance/redlines.md") == []
