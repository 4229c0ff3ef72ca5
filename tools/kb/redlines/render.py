"""The generated 合规红线 page section: one `## Rxx 名称 {#rxx}` section per rule."""

from __future__ import annotations

import re

from . import learned
from .rules import SEVERITY_LABELS, SOURCE_STATUS, RuleSet, load_rules

_DIGITS = re.compile(r"\d{11,}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _example(text: str) -> str:
    # Examples of personal data are shown as code so the page itself carries no "real" numbers as prose.
    return f"`{text}`" if _DIGITS.search(text.replace(" ", "")) else _cell(text)


def render_rules_markdown(rules: RuleSet | None = None) -> str:
    """Markdown for `<!-- kb:generate redline-rules -->`: the contact-window policy and every rule."""
    rs = rules if isinstance(rules, RuleSet) else load_rules(rules)
    cw = rs.policy["contact_window"]
    out = [
        "## 联系时段与频次（公司政策） {#contact-policy}",
        "",
        f"- 联系时段：**{cw['start']}–{cw['end']}**（{cw['label']}）。{cw.get('note', '').strip()}",
        f"- 呼叫频次：{rs.policy['max_calls_label']}。",
        "",
        "| 规则 | 级别 | 学习型检测器（报告阈值） |",
        "|---|---|---|",
    ]
    covered = learned.covered_rules(rs)
    for rule in rs.rules:
        model = f"覆盖（概率 ≥ {covered[rule.id]:.2f}）" if rule.id in covered else "不覆盖（只用规则）"
        out.append(f"| [{rule.id} {_cell(rule.name)}](#{rule.id.lower()}) | {SEVERITY_LABELS[rule.severity]} | {model} |")
    out.append("")
    for rule in rs.rules:
        out += [
            f"## {rule.id} {rule.name} {{#{rule.id.lower()}}}",
            "",
            f"**级别**：{SEVERITY_LABELS[rule.severity]}（{rule.severity}）",
            "",
            f"**禁止**：{rule.prohibits.replace('；', '，')}",
            "",
            "**法律与监管依据**：",
            "",
        ]
        for src in rule.sources:
            status = SOURCE_STATUS[src["status"]]
            mark = "（**未核实**，不作为法律依据引用）" if src["status"] == "unverified" else f"（{status}）"
            out.append(f"- {src['ref']}{mark}")
        out += [
            "",
            f'!!! redline "示例对照（{rule.id} {rule.name}）"',
            "",
            "    | 违规示例（✗） | 合规示例（✓） |",
            "    |---|---|",
        ]
        bad, good = list(rule.examples_bad), list(rule.examples_good)
        for k in range(max(len(bad), len(good))):
            b = _example(bad[k]) if k < len(bad) else ""
            g = _example(good[k]) if k < len(good) else ""
            out.append(f"    | {b} | {g} |")
        out += ["", '!!! compliant "合规做法"', "", f"    {rule.suggestion}", ""]
    return "\n".join(out).rstrip() + "\n"
