"""Engine behaviour: the scope of a rule negator (clause-bounded, lists continue it) and
words that look like negators but are ordinary verbs (不在家)."""

from __future__ import annotations

import pytest

from kb.redlines import check_text, learned


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


# --- structural contexts (`all_of`): every listed pattern in the same clause/sentence, any order ---

def _with_context(tmp_path, rule_id: str, ctx: dict):
    import yaml

    from kb.paths import REDLINE_RULES_FILE

    raw = yaml.safe_load(REDLINE_RULES_FILE.read_text(encoding="utf-8"))
    raw.pop("learned", None)  # rule mechanics: the rules alone, without the learned detector
    rule = next(r for r in raw["rules"] if r["id"] == rule_id)
    rule["match"]["context"] = [ctx]
    rule["match"].pop("patterns", None)
    rule["match"].pop("unless", None)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    from kb.redlines import load_rules

    return load_rules(path)


def test_all_of_requires_every_pattern_in_any_order(tmp_path):
    rs = _with_context(tmp_path, "R04", {"trigger": "邻居", "all_of": ["告诉", "欠款"]})
    found = lambda t: "R04" in {f.rule for f in check_text(t, rules=rs)}  # noqa: E731
    assert found("告诉邻居他的欠款。")
    assert found("他的欠款，邻居那边我们会告诉。")  # order does not matter
    assert not found("告诉邻居他搬家了。")  # one pattern missing
    assert found("告诉邻居一声，欠款的事再说。")  # sentence scope: both in the sentence
    rs = _with_context(tmp_path, "R04", {"trigger": "邻居", "scope": "clause", "all_of": ["告诉", "欠款"]})
    assert not {f.rule for f in check_text("告诉邻居一声，欠款的事再说。", rules=rs)} & {"R04"}


def test_all_of_must_be_a_list(tmp_path):
    from kb.redlines import RulesError

    with pytest.raises(RulesError, match="all_of"):
        _with_context(tmp_path, "R04", {"trigger": "邻居", "all_of": "告诉"})


# Round-4 structural R04/R05: wording not listed anywhere in the rules file.
@pytest.mark.parametrize("text, rule", [
    ("他同事跟他关系好，让同事先帮他打款过来。", "R05"),
    ("他老婆也有份，让她来买单。", "R05"),
    ("你丈母娘手里有钱，让她给你兜底。", "R05"),
    ("他欠的钱，他父母跑不掉。", "R05"),
    ("你单位的人事我们已经找过了，欠款的事他们都清楚。", "R04"),
    ("去他老家村委会，说一下他欠银行钱的事。", "R04"),
])
def test_structural_third_party_rules_catch_new_wording(text, rule):
    assert rule in rules(text)


@pytest.mark.parametrize("text", [
    "客户的哥哥来电说想帮弟弟还款，坐席请他与客户本人商量。",
    "您的家人没有替您还款的义务。",
    "你自己还，还是想分期？",
    "暴力催收已被列为刑事犯罪，公司对此零容忍。",  # 催收 is not 催 (pressing someone)
    "失联修复只请联系人转告、不披露债务。",
    "律师函只寄给客户本人的有效地址，不寄往客户的工作单位。",
])
def test_structural_third_party_rules_keep_exclusions(text):
    assert not rules(text) & {"R04", "R05"}


def test_asking_a_third_party_to_remind_is_pressure_not_a_demand_to_pay():
    # 帮忙提醒他还钱: the third party passes pressure (R04); nobody asks them to pay (R05).
    assert rules("请同学们帮忙提醒他还钱。") & {"R04", "R05"} == {"R04"}


# --- round 5: line scope, utterance condemners, intensifiers that look like negators ---------

def test_line_scope_spans_sentences_of_one_line_only(tmp_path):
    rs = _with_context(tmp_path, "R04", {"trigger": "你是他朋友", "scope": "line", "all_of": ["欠了"]})
    found = lambda t: "R04" in {f.rule for f in check_text(t, rules=rs)}  # noqa: E731
    assert found("你是他朋友吧？跟你说个事，他欠了我们五万。")  # the next sentence of the same line
    assert not found("你是他朋友吧？\n他欠了我们五万。")  # another line is another paragraph


def test_scope_must_be_known(tmp_path):
    from kb.redlines import RulesError

    with pytest.raises(RulesError, match="scope"):
        _with_context(tmp_path, "R04", {"trigger": "邻居", "scope": "page", "all_of": ["告诉"]})


@pytest.mark.parametrize("text, rule", [
    # The listener named as a third party in one sentence is still one in the next (R04), or in a later clause (R05).
    ("您是他表哥吧？他在我们这儿欠款一直没还，您劝劝他。", "R04"),
    ("那你是他室友，先替他垫三个月。", "R05"),
    ("你这个干妈帮他出点钱不过分吧？", "R05"),
    ("他的账你们做兄弟的得凑出来。", "R05"),
    ("你男朋友欠的五千，你今天先转过来。", "R05"),
    # 别停 / 别看 are intensifiers, not rule negators.
    ("晚上22:30还没回电就继续拨，别停。", "R03"),
    ("别看我现在客气，真翻了脸可就没这么好说话了。", "R01"),
])
def test_round5_structures(text, rule):
    assert rule in rules(text)


@pytest.mark.parametrize("text", [
    # A condemnation that points back at the words before it, even when they say 你.
    "不能在客户家逗留，让他们先帮你垫一下这种话也不要说。",
    "“父债子还”不是法律规定，培训中明确禁止对家属这样讲。",
    "横幅、大字报等公开羞辱方式一律禁止。",
    # The listener as a third party, but nothing is disclosed or demanded.
    "您是他妈妈吧？麻烦您转告他回个电话。",
    "你是他老婆吧？他欠的钱你不用管，我们只找他本人。",
    "他欠的钱，你提醒他早点还。",
    # 不再 + contact is a negator; a quoted insult followed by 这类辱骂 is being condemned.
    "晚上九点后不再拨打客户电话。",
    "在培训中我们分析了“你这个骗子”这类辱骂的危害。",
    # …是错误的 / 反面教材 condemn what comes before them; someone else's impersonation is not ours.
    "外访员以社区工作人员名义上门的做法是错误的。",
    "假扮快递员的案例在培训中作为反面教材。",
    "外访时发现有人冒充我司收取现金，已报警。",
])
def test_round5_statements_stay_clean(text):
    assert not rules(text) & {"R01", "R02", "R03", "R04", "R05", "R08", "R10"}


# Contact times (R03): minutes written in numerals count, and a bare hour is read as evening
# only when the sentence says so (the window in redlines.yml is 08:00–21:00).
@pytest.mark.parametrize("text, flagged", [
    ("晚上九点四十给他打过去。", True),
    ("晚上九点四十五分再打一遍。", True),
    ("晚上九点零五打给他。", True),
    ("今晚9点40再打。", True),
    ("晚上八点四十给他打过去。", False),
    ("下班回家以后十点给他打电话。", True),
    ("吃完晚饭九点半再打一轮。", True),
    ("十点给他打电话。", False),
    ("上午十点给他打电话。", False),
    ("晚上九点前结束外呼。", False),
])
def test_contact_time_minutes_and_evening_hours(text, flagged):
    with learned.using(None):  # the time rule itself, not the learned detector
        assert ("R03" in rules(text)) is flagged
