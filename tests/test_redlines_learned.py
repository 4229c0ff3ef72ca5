"""The learned second detector (kb/redlines/learned.py): model freshness, inference, the union
with the rules, the Markdown exemptions, the config validation. No scikit-learn needed, except
for the parity test, which is skipped without it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kb.paths import REDLINE_RULES_FILE
from kb.redlines import RulesError, check_markdown, check_text, learned, load_rules
from kb.redlines import train as trainer

REPO = Path(__file__).resolve().parent.parent

# New wording the rules do not catch (written for this test, not taken from the corpus):
# a threat of people lying in wait (R01).
NEW_THREAT = "我们的人明天一早就去你家楼下守着，看你往哪儿躲。"
NEW_THREAT_HANT = "我們的人明天一早就去你家樓下守著，看你往哪兒躲。"
NEW_THREAT_PINYIN = "我們(men)的人明天一早就去你(nǐ)家樓下守著，看你往哪兒躲。"


def _learned(findings):
    return [f for f in findings if f.detector == "learned"]


@pytest.fixture(scope="module")
def rs():
    return load_rules()


@pytest.fixture(scope="module")
def model(rs):
    return learned.active_model(rs)


# --- the model file ----------------------------------------------------------------------------

def test_model_is_trained_on_the_current_dev_split(rs):
    why = trainer.stale_reason(rs)
    assert why is None, (
        f"{why}。语料的 DEV/TRAIN 集或 learned 配置变了，请重新训练并提交模型："
        "pip install -e '.[train]' && (cd tools && python -m kb.redlines.train)")


def test_model_covers_the_configured_rules_and_never_personal_data(rs, model):
    cfg = rs.raw["learned"]
    assert set(model.rules) <= set(cfg["rules"])
    assert "R12" not in model.rules
    assert all(0.5 <= model.thresholds[r] < 1 for r in model.rules)
    assert model.meta["sklearn"] and len(model.meta["fingerprint"]) == 32


def test_checking_does_not_import_numpy_or_sklearn():
    code = ("import sys; sys.path.insert(0, 'tools'); from kb.redlines import check_text; "
            f"check_text({NEW_THREAT!r}); "
            "bad = [m for m in ('numpy', 'sklearn', 'scipy') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_inference_matches_scikit_learn(rs):
    """The pure-Python scorer reproduces scikit-learn's decision function (up to the 4-decimal
    rounding of the stored weights)."""
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = ["你再不还钱我就弄死你。", "我们依法向法院起诉。", "明天去你单位找你领导聊聊你欠钱的事。",
             "您好，请问您方便的时候回个电话。", "再不还就让你全家都知道。", "按规定报送征信。"]
    labels = [frozenset({"R01"}), frozenset(), frozenset({"R04"}), frozenset(), frozenset({"R04"}), frozenset()]
    cfg = dict(trainer.config(rs), rules=["R01", "R04"], prune=0.0)
    m = learned.Model.from_dict(trainer.fit(texts, labels, cfg))
    vec = TfidfVectorizer(analyzer=learned.ngrams, binary=True, norm="l2").fit(texts)
    X = vec.transform(texts + [NEW_THREAT])
    for k, rid in enumerate(m.rules):
        y = [rid in lab for lab in labels]
        clf = LogisticRegression(C=cfg["C"], class_weight="balanced", solver="liblinear", random_state=0,
                                 max_iter=5000).fit(vec.transform(texts), y)
        want = clf.decision_function(X)
        got = [m.scores(t)[k] for t in texts + [NEW_THREAT]]
        assert got == pytest.approx(list(want), abs=2e-3)


def test_fast_predict_agrees_with_scores(model, rs):
    for text in [NEW_THREAT, NEW_THREAT_HANT, "跟你老板说一声你欠了我们一大笔钱，看他还敢不敢用你。",
                 "协商不成的，银行将依法起诉，结果以法院裁判为准。", "abc"]:
        sent = rs.normalizer(text).text
        sc = model.scores(sent) or []
        want = [(r, 1 / (1 + math.exp(-x))) for r, x, cut in zip(model.rules, sc, model.cuts) if x >= cut]
        got = model.predict(sent)
        assert [r for r, _ in got] == [r for r, _ in want]
        assert [p for _, p in got] == pytest.approx([p for _, p in want], abs=1e-9)


# --- inference and the union ----------------------------------------------------------------

@pytest.mark.parametrize("text", [NEW_THREAT, NEW_THREAT_HANT, NEW_THREAT_PINYIN])
def test_new_wording_is_flagged_with_original_position(text):
    with learned.using(None):
        assert not check_text(text), "the rules alone miss this wording (else the test shows nothing)"
    page = f"# 标题\n\n前面一句话。{text}\n"
    found = [f for f in check_markdown(page, "p.md") if f.rule == "R01"]
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.line, f.column) == ("learned", 3, len("前面一句话。") + 1)
    assert f.match == text  # the original sentence (Traditional, pinyin noise and all)
    assert f.severity == load_rules().rule("R01").severity
    assert f.suggestion == load_rules().rule("R01").suggestion


@pytest.mark.parametrize("text", [
    "严禁派人去客户家楼下守着，看他往哪儿躲。",  # the model alone scores R11 high; a rule statement
    "派人去客户家楼下守着看他往哪儿躲，一经发现严肃处理。",
    "协商不成的，银行将依法起诉，结果以法院裁判为准。",
    "按规定报送征信，逾期记录会如实反映在个人信用报告中。",
    "客户说我们的人明天一早就去他家楼下守着。",  # a customer's reported words
])
def test_statements_and_lawful_facts_are_not_flagged(text):
    assert check_text(text) == []


def test_a_sentence_the_rules_report_is_reported_once(model, rs):
    text = "跟你老板说一声你欠了我们一大笔钱，看他还敢不敢用你。"
    assert "R04" in {r for r, _ in model.predict(rs.normalizer(text).text)}  # both detectors fire
    found = [f for f in check_text(text) if f.rule == "R04"]
    assert len(found) == 1 and found[0].detector == "rule"


def test_disabled_and_overridden():
    with learned.using(None):
        assert check_text(NEW_THREAT) == []
    # Also R11 (waiting outside the home) since the round-8 training batches; R01 is the point.
    assert "R01" in {f.rule for f in check_text(NEW_THREAT)}


def test_json_output_names_the_detector(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(f"{NEW_THREAT}\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "tools/redlines.py", "--format", "json", str(page)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert ("R01", "learned", 1, 1) in [(d["rule"], d["detector"], d["line"], d["column"]) for d in data]
    assert {d["detector"] for d in data} == {"learned"}
    assert {"path", "line", "column", "rule", "severity", "message", "match", "suggestion"} <= set(data[0])


def test_explain_mentions_the_learned_detector():
    out = subprocess.run([sys.executable, "tools/redlines.py", "--explain", "R01"], cwd=REPO,
                         capture_output=True, text=True)
    assert "学习型检测器" in out.stdout
    out = subprocess.run([sys.executable, "tools/redlines.py", "--explain", "R12"], cwd=REPO,
                         capture_output=True, text=True)
    assert "学习型检测器" not in out.stdout


# --- Markdown exemptions apply unchanged ------------------------------------------------------

def test_counter_example_block_is_exempt():
    page = (f'!!! redline "反例（R01 威胁）"\n    {NEW_THREAT}\n\n'
            '!!! compliant "合规做法"\n    您好，我们想和您商量一个还款方案。\n')
    assert check_markdown(page, "p.md") == []


def test_suppression_applies_and_counts_as_used():
    page = f"<!-- redline-disable R01, R11: 培训材料引用客户投诉中的原话 -->\n{NEW_THREAT}\n"
    assert check_markdown(page, "p.md") == []


def test_code_headings_and_front_matter_are_not_scored():
    page = f"---\ntitle: {NEW_THREAT}\n---\n\n# {NEW_THREAT}\n\n```\n{NEW_THREAT}\n```\n\n`{NEW_THREAT}`\n"
    assert _learned(check_markdown(page, "p.md")) == []


def test_docs_pages_are_clean():
    out = subprocess.run([sys.executable, "tools/redlines.py", "docs", "--format", "json"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[:2000]


# --- configuration ------------------------------------------------------------------------------

def _with_learned(tmp_path, change):
    raw = yaml.safe_load(REDLINE_RULES_FILE.read_text(encoding="utf-8"))
    change(raw["learned"])
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda c: c["rules"].append("R12"), "R12 是个人信息规则"),
    (lambda c: c["rules"].append("R99"), "learned.rules"),
    (lambda c: c.update(enabled="yes"), "learned.enabled"),
    (lambda c: c.update(min_precision=1.5), "learned.min_precision"),
    (lambda c: c.update(typo=1), "未知的键"),
    (lambda c: c.pop("model"), "缺少必填项 model"),
])
def test_learned_section_is_validated(tmp_path, change, message):
    with pytest.raises(RulesError, match=message):
        load_rules(_with_learned(tmp_path, change))


def test_missing_model_is_a_usage_error(tmp_path):
    path = _with_learned(tmp_path, lambda c: c.update(model=str(tmp_path / "none.json.gz")))
    out = subprocess.run([sys.executable, "tools/redlines.py", "--rules", str(path), "docs"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "python -m kb.redlines.train" in out.stderr


def test_threshold_choice():
    scores = [3.0, 2.0, 1.0, 0.5, -1.0, -math.inf]
    gold = [True, True, False, True, False, True]
    t, precision, recall = trainer.choose_threshold(scores, gold, 0.97, 0.5)
    assert precision == 1.0 and recall == 0.5  # stops before the first false positive
    assert learned._logit(t) == pytest.approx(1.5, abs=1e-3)  # midway between 2.0 and 1.0


def test_a_model_broken_after_a_cached_run_is_still_reported(tmp_path):
    # The findings cache keys on the model file's bytes: a damaged model is never hidden by it.
    import shutil

    from kb.paths import DATA_DIR

    model = tmp_path / "model.json.gz"
    shutil.copy(DATA_DIR / "redlines_model.json.gz", model)
    path = _with_learned(tmp_path, lambda c: c.update(model=str(model)))
    page = tmp_path / "page.md"
    page.write_text("# 标题\n\n逾期信息会按规定报送征信。\n", encoding="utf-8")
    run = lambda: subprocess.run([sys.executable, "tools/redlines.py", "--rules", str(path), str(page)],  # noqa: E731
                                 cwd=REPO, capture_output=True, text=True)
    assert run().returncode == 0
    model.write_bytes(b"not gzip")
    out = run()
    assert out.returncode == 2 and "学习型检测器模型" in out.stderr and "python -m kb.redlines.train" in out.stderr
