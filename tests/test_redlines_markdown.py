"""Markdown awareness: counter-example blocks, suppressions, non-prose, call scripts, positions."""

from __future__ import annotations

from kb.redlines import check_markdown, check_text

THREAT = "你再不还钱，我们马上派人去你家，让你好看。"


def rules_of(findings):
    return [f.rule for f in findings]


def test_redline_block_is_exempt_but_personal_data_is_not():
    page = (
        "# 页面\n\n"
        '!!! redline "反例（R01 威胁恐吓）"\n'
        f"    原资料话术：{THREAT}\n"
        "    客户手机 13912345678。\n\n"
        '!!! compliant "合规做法"\n'
        "    平和说明逾期事实。\n"
    )
    findings = check_markdown(page, "p.md")
    assert rules_of(findings) == ["R12"]
    assert (findings[0].line, findings[0].column) == (5, 10)


def test_same_text_outside_block_is_flagged():
    findings = check_markdown(f"# 页面\n\n{THREAT}\n", "p.md")
    assert "R01" in rules_of(findings)
    assert findings[0].line == 3


def test_redline_block_without_or_with_unknown_id_is_an_error():
    page = '!!! redline "反例"\n    内容\n\n!!! compliant "合规"\n    内容\n'
    f = check_markdown(page)
    assert rules_of(f) == ["MD01"] and f[0].severity == "error"
    page = '??? redline "反例（R99 不存在）"\n    内容\n\n!!! compliant "合规"\n    内容\n'
    f = check_markdown(page)
    assert rules_of(f) == ["MD02"] and "R99" in f[0].message


def test_redline_block_without_compliant_is_a_warning():
    page = f'???+ redline "反例（R01）"\n    {THREAT}\n\n正文继续。\n'
    f = check_markdown(page)
    assert rules_of(f) == ["MD03"] and f[0].severity == "warning"


def test_suppression_with_reason_applies_to_next_line():
    page = f"<!-- redline-disable R01: 培训材料原文，保留作讨论 -->\n{THREAT}\n"
    assert check_markdown(page) == []
    page = f"{THREAT} <!-- redline-disable-line R01: 原文引用 -->\n"
    assert check_markdown(page) == []


def test_suppression_without_reason_is_an_error_and_does_not_suppress():
    page = f"<!-- redline-disable R01 -->\n{THREAT}\n"
    f = check_markdown(page)
    assert "MD04" in rules_of(f) and "R01" in rules_of(f)


def test_unused_suppression_is_reported():
    page = "<!-- redline-disable R07: 没有必要 -->\n今天天气很好。\n"
    f = check_markdown(page)
    assert rules_of(f) == ["MD06"] and "R07" in f[0].message and f[0].line == 1


def test_front_matter_code_urls_and_link_targets_are_not_prose():
    page = (
        "---\n"
        "title: 让你坐牢\n"
        "keywords: [爆通讯录]\n"
        "---\n\n"
        "```text\n你再不还就让你坐牢\n```\n\n"
        "行内代码 `让你好看` 不检查，链接 [说明](https://x.example/让你坐牢) 与 <https://x.example/坐牢>。\n"
        "裸网址 https://example.com/爆通讯录 也不检查。\n"
    )
    assert check_markdown(page) == []


CALL_SCRIPT = """# 话术

```call-script
id: bad-example
title: 承诺未兑现：再不还就让你坐牢
scenario: 承诺未兑现
turns:
  - 催收员: 您好，请问是王先生吗？
  - 客户: 你们这些骗子，别打了！
  - 催收员: "你再拖，我们明天就通知你单位领导。"
notes: 要点：先核实身份。
```
"""


def test_call_script_values_are_checked_at_the_right_position():
    findings = check_markdown(CALL_SCRIPT, "s.md")
    got = [(f.rule, f.line, f.column) for f in findings]
    lines = CALL_SCRIPT.split("\n")
    title_line = next(i for i, l in enumerate(lines) if l.startswith("title:")) + 1
    turn_line = next(i for i, l in enumerate(lines) if "通知你单位" in l) + 1
    r07 = [f for f in findings if f.rule == "R07"]
    assert r07 and r07[0].line == title_line
    assert r07[0].column == lines[title_line - 1].index(r07[0].match) + 1
    r04 = [f for f in findings if f.rule == "R04"]
    assert r04 and r04[0].line == turn_line
    assert r04[0].column > lines[turn_line - 1].index("你再拖")  # inside the value, not the key
    # The customer's own words are not the collector's conduct; keys are never checked.
    assert all(f.line != turn_line - 1 for f in findings)


def test_traditional_and_pinyin_noise_report_original_positions():
    text = "第一行。\n客戶說沒錢，催收員說：「你再不還(huán)錢，就讓你坐(zuò)牢。」"
    findings = check_text(text)
    f = next(f for f in findings if f.rule == "R07")
    assert f.line == 2
    col = text.split("\n")[1].index("坐") + 1
    assert f.column <= col
    assert "坐(zuò)牢" in f.match or f.match.startswith("坐")


def test_lawful_statements_and_trade_vocabulary_are_clean():
    for s in ["银行有权依法起诉，结果以法院裁判为准。", "逾期信息会按规定报送征信。",
              "严禁威胁客户，不得向第三人透露欠款。", "老赖型客户要加强催收管理。",
              "客户说他最近失业了，暂时还不上。"]:
        assert check_text(s) == [], s


def test_includes_are_checked_by_default_overrides_skipped(tmp_path, monkeypatch):
    from kb.redlines.cli import _collect

    (tmp_path / "docs" / "_includes").mkdir(parents=True)
    (tmp_path / "docs" / "_overrides").mkdir()
    (tmp_path / "docs" / "_includes" / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "docs" / "_overrides" / "b.md").write_text("x", encoding="utf-8")
    files = [p.name for p in _collect([str(tmp_path / "docs")])]
    assert files == ["a.md"]
