"""The checker's caches may only make it faster, never change a result.

The rules memo (kb.redlines.compiled): a memo hit skips validation, prefilter analysis and
regex compilation; such a load must find exactly what a full load finds, an invalid rules
file is never memoised, and a damaged or missing memo only means a full load.

The findings cache (kb.redlines.results): an unchanged text is not checked again by the
same checker; anything that could change its findings (rules, model, code) is a miss.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import yaml

from kb.paths import REDLINE_RULES_FILE
from kb.redlines import RulesError, batch, check_markdown, check_text, learned, load_rules
from kb.redlines.batch import Source, check_sources
from kb.redlines.compiled import LazyPattern, RulesMemo, compile_recorded, from_recipe
from kb.redlines.results import FindingsCache
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


def test_compile_all_leaves_no_regex_for_forked_workers_to_compile(memo_dir, tmp_path):
    """batch forks its workers after RuleSet.compile_all(): every regex the rules made, global
    ones and context conditions included, must be compiled by then."""
    path = _copy_rules(tmp_path)
    _fresh_load(path)
    memo = _fresh_load(path)

    def reachable(value, seen):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, LazyPattern):
            yield value
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                yield from reachable(item, seen)
        elif isinstance(value, dict):
            for item in value.values():
                yield from reachable(item, seen)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                if name not in ("raw", "recipes", "prefilters", "lazy_patterns"):
                    yield from reachable(getattr(value, name), seen)

    patterns = list(reachable(memo, set()))
    assert len(patterns) > 1000 and not any(p.is_compiled for p in patterns)
    memo.compile_all()
    assert all(p.is_compiled for p in patterns)


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


def test_a_compiled_lazy_pattern_is_never_compiled_again(monkeypatch):
    """Reading flags or groupindex used to rebuild the regex each time (a cold rules load
    compiled every piece twice, 1.4 s of its 2.9 s)."""
    from kb.redlines import compiled as compiled_module

    lazy = LazyPattern("(?P<who>家人|同事)知道")
    first = lazy.compiled if lazy.search("家人知道") else None

    def no_second_compile(*_args):
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiled_module, "from_recipe", no_second_compile)
    assert lazy.flags & re.UNICODE and lazy.groupindex == {"who": 1} and lazy.groups == 1
    assert lazy.compiled is first


def _counting_checks(monkeypatch) -> list:
    checked: list = []
    real = batch._check_all

    def counting(sources, rs, jobs):
        checked.extend(s.path for s in sources)
        return real(sources, rs, jobs)

    monkeypatch.setattr(batch, "_check_all", counting)
    return checked


def test_unchanged_texts_are_not_checked_again(memo_dir, monkeypatch):
    rs = load_rules()
    checked = _counting_checks(monkeypatch)
    sources = [Source("a.md", "# 甲\n\n你再不还，就等着坐牢吧。\n"), Source("b.txt", "逾期信息会按规定报送征信。\n", False)]
    first = check_sources(sources, rs)
    assert checked == ["a.md", "b.txt"] and first[0] and first[0][0].rule == "R07"
    checked.clear()
    # Same texts under other paths: nothing is checked, findings carry the new paths.
    moved = [Source("x/c.md", sources[0].text), Source("d.txt", sources[1].text, False)]
    again = check_sources(moved, rs)
    assert checked == []
    assert [[(f.path, f.line, f.column, f.rule, f.message) for f in fs] for fs in again] == \
        [[("x/c.md", f.line, f.column, f.rule, f.message) for f in first[0]], []]
    # An edited text is checked; the same text read as Markdown vs plain text are different entries.
    check_sources([Source("a.md", sources[0].text + "\n补充一句。\n"), Source("a.txt", sources[0].text, False)], rs)
    assert checked == ["a.md", "a.txt"]


def test_findings_cache_misses_when_the_checker_changes(memo_dir, tmp_path, monkeypatch):
    rs = load_rules()
    text = "# 标题\n\n告诉他领导他欠了银行好几万不还。\n"
    check_sources([Source("p.md", text)], rs)
    checked = _counting_checks(monkeypatch)
    other_rules = _fresh_load(_copy_rules(tmp_path, REDLINE_RULES_FILE.read_text(encoding="utf-8") + "\n# 注释\n"))
    assert FindingsCache(other_rules).key != FindingsCache(rs).key
    check_sources([Source("p.md", text)], other_rules)
    assert checked == ["p.md"], "another rules file is another checker"
    checked.clear()
    with learned.using(None):  # a test switching the learned detector off must not read or write the cache
        assert FindingsCache(rs).key is None
        check_sources([Source("p.md", text)], rs)
    assert checked == ["p.md"]
    checked.clear()
    check_sources([Source("p.md", text)], rs, cache=False)
    assert checked == ["p.md"]


def test_cli_second_run_reports_the_same_from_the_cache(memo_dir, tmp_path):
    import subprocess
    import sys

    page = tmp_path / "bad.md"
    page.write_text("# 标题\n\n你再不还，就等着坐牢吧。\n", encoding="utf-8")
    cmd = [sys.executable, str(REPO / "tools" / "redlines.py"), "--format", "json", str(page)]
    runs = [subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8") for _ in range(2)]
    assert [r.returncode for r in runs] == [1, 1]
    assert json.loads(runs[0].stdout) == json.loads(runs[1].stdout) != []
    assert list(memo_dir.glob("findings-*.pickle"))


def test_preload_loads_the_model_but_leaves_compiling_to_the_forked_checker(memo_dir, tmp_path, monkeypatch):
    """The build preloads before forking its checker: the model (which both processes need) is
    read once and inherited; the regexes are compiled only by the checker, in parallel with
    rendering, so preloading compiles nothing."""
    from kb.redlines import preload
    from kb.redlines import rules as rules_module

    path = _copy_rules(tmp_path)

    def no_compile(*_args, **_kwargs):
        raise AssertionError("preload compiled a regex")

    with monkeypatch.context() as patched:
        patched.setattr(rules_module, "compile_recorded", no_compile)
        preload(path)

    def no_reload(*_args, **_kwargs):
        raise AssertionError("model read again after preload")

    monkeypatch.setattr(learned.gzip, "decompress", no_reload)
    ruleset = load_rules(path)  # the checker's own, compiled load
    assert learned.active_model(ruleset) is not None
    assert check_text("不还钱就打断你的腿", rules=ruleset), "the checker's rules check as usual"


def test_rule_descriptions_render_the_same_page_without_compiling(tmp_path, monkeypatch):
    from kb.redlines import load_rule_descriptions, render_rules_markdown
    from kb.redlines import rules as rules_module

    path = _copy_rules(tmp_path)
    expected = render_rules_markdown(load_rules(path))
    monkeypatch.setattr(rules_module, "compile_recorded", lambda *_: pytest.fail("compiled a regex"))
    described = load_rule_descriptions(path)
    assert render_rules_markdown(described) == expected
    assert "## R07" in expected


def test_preload_leaves_errors_to_the_check(tmp_path):
    from kb.redlines import preload

    broken = _copy_rules(tmp_path, "rules: [")
    preload(broken)  # no exception: the check that follows reports the broken file
    with pytest.raises(RulesError, match="不是合法的 YAML"):
        load_rules(broken)


def test_the_model_memo_scores_exactly_as_the_model_file(memo_dir):
    """The learned model's memo skips parsing its hex vectors; a memo hit, a damaged memo and
    a changed model file must all score exactly as the file itself says."""
    path = learned.model_path(load_rules())
    parse = learned._load_cached.__wrapped__
    sentences = ["你再不还钱，我们就去你单位找你领导聊聊。", "请您按合同约定的还款日还款。",
                 "你弟弟的单位我们已经打过电话了。"]

    parsed = parse(str(path), 0)
    (memo_file,) = memo_dir.glob("model-*.pickle")
    memoised = parse(str(path), 0)
    for sentence in sentences:
        assert memoised.predict(sentence) == parsed.predict(sentence)
        assert memoised.scores(sentence) == parsed.scores(sentence)
    assert memoised.parts() == parsed.parts()

    memo_file.write_bytes(b"not a pickle")
    assert parse(str(path), 0).parts() == parsed.parts(), "a damaged memo means a full parse"

    def parsed_again(*_args, **_kwargs):
        raise AssertionError("a memo hit parsed the model file")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(learned.Model, "from_dict", parsed_again)
        assert parse(str(path), 0).parts() == parsed.parts(), "and is memoised again"

    changed = memo_dir.parent / path.name
    data = json.loads(gzip.decompress(path.read_bytes()))
    data["thresholds"] = {rule: 0.5 for rule in data["thresholds"]}
    changed.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert parse(str(changed), 0).thresholds == data["thresholds"], "another file is parsed, not served"
