"""Engine behaviour: the scope of a rule negator (clause-bounded, lists continue it) and
words that look like negators but are ordinary verbs (不在家)."""

from __future__ import annotations

import pytest

from kb.redlines import check_text


def rules(text: str) -> set[str]:
    return {f.rule for f in check_text(text)}


@pytest.mark.parametrize("text, rule", [
    # A negator governs its own clause; a later clause that tells someone to act is outside it.
    ("不要在电话里吵，让他们先帮他把钱垫上。", "R05"),
    ("别在电话里吵架，叫她先替他把钱还上。", "R05"),
    # 不在 as "not at" is a verb, not a rule negator.
    ("他不在家，就在他家门口守一整夜。", "R11"),
])
def test_negation_does_not_cross_into_a_new_instruction(text, rule):
    assert rule in rules(text)


@pytest.mark.parametrize("text", [
    # A list continued with 或/和/以及 stays under the negator.
    "不得威胁客户，或让他们先帮他把钱垫上。",
    "严禁辱骂客户，以及让他们先帮他把钱垫上。",
    # 不在 + an action is still a rule statement.
    "不在深夜给客户打电话。",
    "他不在家，外访员留下联系卡后离开。",
])
def test_rule_statements_and_lists_stay_negated(text):
    assert not rules(text) & {"R03", "R05", "R11"}
