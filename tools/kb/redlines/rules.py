"""Loading, validating and compiling the red-line rules file (tools/kb/data/redlines.yml)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from kb.paths import REDLINE_RULES_FILE

from . import prefilter
from .compiled import LazyPattern, RulesMemo, compile_recorded
from .normalize import Normalizer

SEVERITIES = ("error", "warning", "suggestion")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}  # suggestion 0 … error 2
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "suggestion": "建议"}
SOURCE_STATUS = {"verified": "已核实", "secondary": "仅见二手资料", "unverified": "未核实"}
CHECKS = ("contact_time", "personal_data")
RULE_ID = re.compile(r"^R\d{2}$")
_MACRO = re.compile(r"\{([A-Z_]+)\}")


class RulesError(ValueError):
    """The rules file is invalid; the message (Chinese) names the rule and the problem."""


@dataclass(frozen=True)
class Context:
    # The trigger's top-level alternatives, each compiled and prefiltered on its own; the engine
    # takes their matches leftmost first, as the whole alternation would: see _Compiler.compile_split.
    triggers: tuple
    require: re.Pattern | None
    unless: re.Pattern | None
    scope: str  # "sentence", "clause" or "line" (a whole line/paragraph: 你是他朋友吧？……他欠了……)
    # Structural match: every pattern must also occur in the same scope, in any order.
    all_of: tuple = ()


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    prohibits: str
    sources: tuple
    suggestion: str
    examples_bad: tuple
    examples_good: tuple
    patterns: tuple
    contexts: tuple
    exceptions: re.Pattern | None
    unless: re.Pattern | None
    negation: bool
    check: str | None
    raw: dict = field(repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class RuleSet:
    path: str
    rules: tuple
    by_id: dict
    structure: dict
    policy: dict
    normalizer: Normalizer
    sentence_delims: re.Pattern
    clause_delims: re.Pattern
    negators: re.Pattern
    false_negators: re.Pattern
    addressee_before_negator: re.Pattern
    condemners: re.Pattern
    reported_speech: re.Pattern
    rule_reference: re.Pattern
    collector_speech: re.Pattern
    call_script: dict
    raw: dict = field(repr=False, compare=False, hash=False)
    # Prefilter analysis (kb.redlines.prefilter.analyse) of every pattern and context trigger, by source.
    prefilters: dict = field(default_factory=dict, repr=False, compare=False, hash=False)
    # Compiled form of every regex, by source (kb.redlines.compiled.compile_recorded), for the memo.
    recipes: dict = field(default_factory=dict, repr=False, compare=False, hash=False)
    # sha256 of the rules file's bytes ("" when not read from a file): results caches key on it.
    digest: str = ""
    # Every regex made for these rules, compiled or not (see compile_all).
    lazy_patterns: tuple = field(default=(), repr=False, compare=False, hash=False)

    def compile_all(self) -> None:
        """Compile every regex now. Before forking checker workers: compiling from memo recipes
        takes ~30 ms once, where each worker would otherwise compile what it meets on its own."""
        for pattern in self.lazy_patterns:
            pattern.search  # noqa: B018 — the first attribute use compiles (LazyPattern)

    def rule(self, rule_id: str) -> Rule:
        return self.by_id[rule_id]

    @property
    def window(self) -> tuple[int, int]:
        cw = self.policy["contact_window"]
        return _minutes(cw["start"]), _minutes(cw["end"])


def _minutes(hhmm: str) -> int:
    h, m = str(hhmm).split(":")
    return int(h) * 60 + int(m)


def _fail(where: str, problem: str) -> None:
    raise RulesError(f"红线规则文件无效：{where}：{problem}")


class _Compiler:
    """Expands lexicon macros and compiles patterns into LazyPatterns.

    Untrusted (the default) compiles every regex now, which validates it, and records its
    recipe and parse tree. `recipes` given: these exact rules were validated before
    (kb.redlines.compiled.RulesMemo), so nothing is compiled now; each regex is built from
    its recipe on first use.
    """

    def __init__(self, lexicon: dict, sentence_delims: str, recipes: dict | None = None):
        self.lexicon = lexicon
        self.trusted = recipes is not None
        self.recipes: dict = recipes if recipes is not None else {}
        self.trees: dict = {}  # source → parse tree, for the prefilter analysis (untrusted only)
        self.made: list[LazyPattern] = []
        # `.` inside `.{m,n}`, `.*`, `.+` must not cross a sentence boundary.
        self.dot = "[^" + sentence_delims.strip("[]") + "]"

    def lazy(self, source: str) -> LazyPattern:
        """A LazyPattern for `source`: compiled now (raising re.error) unless trusted."""
        if self.trusted:
            made = LazyPattern(source, recipe=self.recipes.get(source))
        else:
            compiled, recipe, tree = compile_recorded(source)
            if recipe is not None:
                self.recipes[source] = recipe
                self.trees[source] = tree
            made = LazyPattern(source, compiled)
        self.made.append(made)
        return made

    def expand(self, pattern: str, where: str) -> str:
        def repl(m: re.Match) -> str:
            name = m.group(1)
            if name not in self.lexicon:
                _fail(where, f"引用了未定义的词表 {{{name}}}（在 lexicon 中定义）")
            return "(?:" + self.lexicon[name] + ")"

        out = _MACRO.sub(repl, pattern)
        return re.sub(r"(?<!\\)\.(?=[{*+])", lambda _: self.dot, out)

    def compile_split(self, patterns, where: str) -> tuple:
        """Each pattern and each of its top-level alternatives compiled on its own.

        CPython's regex engine skips ahead quickly only when a pattern starts with a
        literal or a set of literals; one big alternation defeats that, so the pieces
        are kept apart (about 4× faster on the site's pages).
        """
        pairs = self._expand_all(patterns, where)
        if pairs is None:
            return ()
        try:
            pieces = [self.lazy(alt) for _, expanded in pairs for alt in _split_top_level(expanded)]
        except re.error:
            pieces = None
        if self.trusted:  # validated before: nothing to check, and checking would compile
            return tuple(pieces)
        if pieces is None or any(pc.groupindex or pc.flags & ~re.UNICODE for pc in pieces):
            # Rare shapes (a piece invalid on its own, named groups, inline flags): the whole
            # alternation decides validity and reports the error, as it always has.
            self.compile(patterns, where)
            if pieces is None:
                pieces = [self.lazy(alt) for _, expanded in pairs for alt in _split_top_level(expanded)]
        return tuple(pieces)

    def _expand_all(self, patterns, where: str) -> list[tuple[str, str]] | None:
        """(pattern, expanded) pairs; None when there are no patterns."""
        if patterns is None:
            return None
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            _fail(where, "应为非空字符串列表")
        if not patterns:
            return None
        pairs = []
        for i, p in enumerate(patterns):
            try:
                pairs.append((p, self.expand(p, f"{where}[{i}]")))
            except RulesError:
                self._check_each(pairs, where)  # an invalid earlier pattern is reported first
                raise
        return pairs

    @staticmethod
    def _check_each(pairs: list[tuple[str, str]], where: str) -> None:
        for i, (p, expanded) in enumerate(pairs):
            try:
                re.compile(expanded)
            except re.error as exc:
                _fail(f"{where}[{i}]", f"不是合法的正则表达式（{exc}）：{p}")

    def compile(self, patterns, where: str) -> LazyPattern | None:
        # Each pattern is compiled once, inside the alternation; only when that fails are
        # the patterns compiled one by one to name the invalid one.
        pairs = self._expand_all(patterns, where)
        if pairs is None:
            return None
        source = "|".join(f"(?:{expanded})" for _, expanded in pairs)
        try:
            return self.lazy(source)
        except re.error:
            self._check_each(pairs, where)
            raise


def _split_top_level(pattern: str) -> list[str]:
    """Split a regex at its top-level `|` (outside groups and character classes)."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    # A piece that uses a lookbehind or backreference stays valid on its own; empty pieces are dropped.
    return [p for p in parts if p]


def _compile_global(raw: dict, key: str, comp: _Compiler, section: str = "global") -> LazyPattern:
    value = (raw.get(section) or {}).get(key)
    if not isinstance(value, str) or not value:
        _fail(f"{section}.{key}", "缺少或为空")
    try:
        return comp.lazy(value)
    except re.error as exc:
        _fail(f"{section}.{key}", f"不是合法的正则表达式（{exc}）")


REQUIRED_RULE_KEYS = ("id", "name", "severity", "prohibits", "sources", "suggestion", "match", "examples")


def _build_rule(item: dict, index: int, comp: _Compiler) -> Rule:
    if not isinstance(item, dict):
        _fail(f"第 {index + 1} 条规则", "应为映射（键: 值）")
    rid = item.get("id")
    label = f"规则 {rid}" if rid else f"第 {index + 1} 条规则"
    if not isinstance(rid, str) or not RULE_ID.match(rid):
        _fail(label, "缺少 id 或格式不对（应为 R 加两位数字，如 R07）")
    for key in REQUIRED_RULE_KEYS:
        if key not in item or item[key] in (None, "", [], {}):
            _fail(label, f"缺少必填项 {key}")
    if item["severity"] not in SEVERITIES:
        _fail(label, f"severity 必须是 error / warning / suggestion 之一，而不是 {item['severity']!r}")
    sources = item["sources"]
    if not isinstance(sources, list):
        _fail(label, "sources 应为列表")
    for i, src in enumerate(sources):
        if not isinstance(src, dict) or not src.get("ref") or src.get("status") not in SOURCE_STATUS:
            _fail(label, f"sources[{i}] 需要 ref 和 status（verified / secondary / unverified）")
    check = item.get("check")
    if check is not None and check not in CHECKS:
        _fail(label, f"check 只能是 {' / '.join(CHECKS)}，而不是 {check!r}")
    match = item["match"]
    if not isinstance(match, dict):
        _fail(label, "match 应为映射")
    unknown = set(match) - {"patterns", "context", "exceptions", "unless"}
    if unknown:
        _fail(label, f"match 中有未知的键：{', '.join(sorted(unknown))}")
    patterns = comp.compile_split(match.get("patterns"), f"{label} 的 match.patterns")
    contexts = []
    for i, ctx in enumerate(match.get("context") or []):
        where = f"{label} 的 match.context[{i}]"
        if not isinstance(ctx, dict) or not ctx.get("trigger"):
            _fail(where, "需要 trigger")
        scope = ctx.get("scope", "sentence")
        if scope not in ("sentence", "clause", "line"):
            _fail(where, "scope 只能是 sentence、clause 或 line")
        unknown_ctx = set(ctx) - {"trigger", "require", "unless", "scope", "all_of"}
        if unknown_ctx:
            _fail(where, f"有未知的键：{', '.join(sorted(unknown_ctx))}")
        all_of = ctx.get("all_of") or []
        if not isinstance(all_of, list):
            _fail(where, "all_of 应为列表（每一项都须在同一子句/句中出现，顺序不限）")
        contexts.append(Context(
            comp.compile_split(ctx["trigger"], where + ".trigger"),
            comp.compile(ctx.get("require"), where + ".require"),
            comp.compile(ctx.get("unless"), where + ".unless"),
            scope,
            tuple(comp.compile(a, f"{where}.all_of[{j}]") for j, a in enumerate(all_of)),
        ))
    if not patterns and not contexts and check is None:
        _fail(label, "match 中既没有 patterns 也没有 context，规则不会匹配任何内容")
    examples = item["examples"]
    if not isinstance(examples, dict) or not examples.get("bad") or not examples.get("good"):
        _fail(label, "examples 需要同时给出 bad（违规）和 good（合规）示例句")
    for kind in ("bad", "good"):
        if not all(isinstance(s, str) and s.strip() for s in examples[kind]):
            _fail(label, f"examples.{kind} 中的示例句必须是非空字符串")
    if check == "contact_time" and not comp.trusted:
        comp.compile(item.get("contact_verbs") or "", f"{label} 的 contact_verbs") if item.get("contact_verbs") else _fail(label, "check: contact_time 需要 contact_verbs")
    if check == "personal_data" and not comp.trusted:
        pd = item.get("personal_data")
        if not isinstance(pd, dict):
            _fail(label, "check: personal_data 需要 personal_data 配置")
        for key in ("resident_id", "mobile", "bank_card"):
            if key not in pd:
                _fail(label, f"personal_data 缺少 {key}")
            try:
                re.compile(pd[key])
            except re.error as exc:
                _fail(label, f"personal_data.{key} 不是合法的正则表达式（{exc}）")
        if pd.get("prefilter") is not None:
            try:
                re.compile(pd["prefilter"])
            except (re.error, TypeError) as exc:
                _fail(label, f"personal_data.prefilter 不是合法的正则表达式（{exc}）")
    return Rule(
        id=rid, name=str(item["name"]), severity=item["severity"], prohibits=str(item["prohibits"]).strip(),
        sources=tuple(sources), suggestion=str(item["suggestion"]).strip(),
        examples_bad=tuple(examples["bad"]), examples_good=tuple(examples["good"]),
        patterns=patterns, contexts=tuple(contexts),
        exceptions=comp.compile(match.get("exceptions"), f"{label} 的 match.exceptions"),
        unless=comp.compile(match.get("unless"), f"{label} 的 match.unless"),
        negation=bool(item.get("negation", True)), check=check, raw=item,
    )


def parse_rules(raw, path: str = "<rules>", prefilters: dict | None = None, recipes: dict | None = None,
                digest: str = "") -> RuleSet:
    """Validate and compile parsed rules. `prefilters` and `recipes` (from a RulesMemo of these
    exact rules) mark them as validated before: nothing is compiled or analysed up front."""
    if (prefilters is None) != (recipes is None):
        raise ValueError("prefilters and recipes come together (from one RulesMemo)")
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list) or not raw["rules"]:
        _fail(path, "顶层必须是映射，且包含非空的 rules 列表")
    seg = raw.get("segmentation") or {}
    sentence = seg.get("sentence_delimiters") or r"[。！？!?；;\n|]"
    clause = seg.get("clause_delimiters") or r"[，,、：:。！？!?；;\n|]"
    lexicon = raw.get("lexicon") or {}
    if not isinstance(lexicon, dict) or not all(isinstance(v, str) for v in lexicon.values()):
        _fail("lexicon", "应为 名称: 正则 的映射")
    comp = _Compiler(lexicon, sentence, recipes)
    rules, by_id = [], {}
    for index, item in enumerate(raw["rules"]):
        rule = _build_rule(item, index, comp)
        if rule.id in by_id:
            _fail(f"规则 {rule.id}", "id 重复")
        by_id[rule.id] = rule
        rules.append(rule)
    policy = raw.get("policy") or {}
    cw = policy.get("contact_window") or {}
    try:
        start, end = _minutes(cw["start"]), _minutes(cw["end"])
        if not 0 <= start < end <= 24 * 60:
            raise ValueError
    except (KeyError, ValueError):
        _fail("policy.contact_window", "需要 start 和 end（HH:MM，start 早于 end）")
    if not isinstance(policy.get("max_calls_per_day"), int) or policy["max_calls_per_day"] < 1:
        _fail("policy.max_calls_per_day", "应为正整数")
    structure = raw.get("structure") or {}
    for sid, spec in structure.items():
        if not isinstance(spec, dict) or spec.get("severity") not in SEVERITIES or not spec.get("message"):
            _fail(f"structure.{sid}", "需要 severity 和 message")
    try:
        normalizer = Normalizer.from_config(raw.get("normalization") or {})
    except (re.error, TypeError) as exc:
        _fail("normalization", f"配置无效（{exc}）")
    _check_learned(raw.get("learned"), by_id)
    sentence_delims, clause_delims = comp.lazy(sentence), comp.lazy(clause)
    return RuleSet(
        path=path, rules=tuple(rules), by_id=by_id, structure=structure, policy=policy,
        normalizer=normalizer,
        sentence_delims=sentence_delims, clause_delims=clause_delims,
        negators=_compile_global(raw, "negators", comp),
        false_negators=_compile_global(raw, "false_negators", comp),
        addressee_before_negator=_compile_global(raw, "addressee_before_negator", comp),
        condemners=_compile_global(raw, "condemners", comp),
        reported_speech=_compile_global(raw, "reported_speech", comp),
        rule_reference=_compile_global(raw, "rule_reference", comp),
        collector_speech=_compile_global(raw, "collector_speech", comp),
        call_script=raw.get("call_script") or {"checked_keys": ["title", "notes"], "phrase_rule_speakers": ["催收员"]},
        raw=raw,
        prefilters=prefilters if prefilters is not None else _analyse_all(rules, comp.trees),
        recipes=comp.recipes,
        digest=digest,
        lazy_patterns=tuple(comp.made),
    )


def _analyse_all(rules, trees: dict) -> dict:
    """The prefilter analysis of every pattern and context trigger (what the engine indexes)."""
    out = {}
    for rule in rules:
        for pattern in (*rule.patterns, *(t for ctx in rule.contexts for t in ctx.triggers)):
            if pattern.pattern not in out:
                out[pattern.pattern] = prefilter.analyse(pattern, trees.get(pattern.pattern))
    return out


_LEARNED_KEYS = {
    # key: (check, description of a valid value)
    "enabled": (lambda v: isinstance(v, bool), "true 或 false"),
    "model": (lambda v: isinstance(v, str) and bool(v.strip()), "模型文件的路径（相对于 tools/kb/data/），如 redlines_model.json.gz"),
    "rules": (lambda v: isinstance(v, list) and bool(v), "非空的规则编号列表，如 [R01, R02]"),
    "min_precision": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1, "0 到 1 之间的数（不含 0）"),
    "min_threshold": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1, "0 到 1 之间的概率（不含两端）"),
    "folds": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2, "不小于 2 的整数"),
    "C": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, "正数"),
    "prune": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0, "非负数"),
    "min_han": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "正整数"),
    "min_df": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "正整数"),
    "clean_pages": (lambda v: isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v),
                    "路径列表（相对于仓库根目录），如 [docs]"),
}


def _check_learned(cfg, by_id: dict) -> None:
    """The `learned:` section (second detector, kb/redlines/learned.py); absent = rules only."""
    if cfg is None:
        return
    if not isinstance(cfg, dict):
        _fail("learned", "应为映射（enabled、model、rules …）")
    unknown = set(cfg) - set(_LEARNED_KEYS)
    if unknown:
        _fail("learned", f"有未知的键：{', '.join(sorted(map(str, unknown)))}（可用：{', '.join(_LEARNED_KEYS)}）")
    for key in ("enabled", "model", "rules"):
        if key not in cfg:
            _fail("learned", f"缺少必填项 {key}")
    for key, (ok, want) in _LEARNED_KEYS.items():
        if key in cfg and not ok(cfg[key]):
            _fail(f"learned.{key}", f"应为{want}，而不是 {cfg[key]!r}")
    for i, rid in enumerate(cfg["rules"]):
        if not isinstance(rid, str) or rid not in by_id:
            _fail(f"learned.rules[{i}]", f"规则 {rid!r} 不存在")
        if by_id[rid].check == "personal_data":
            _fail(f"learned.rules[{i}]", f"{rid} 是个人信息规则（校验位、Luhn），只能由规则检测，不能交给学习型检测器")
    if len(set(cfg["rules"])) != len(cfg["rules"]):
        _fail("learned.rules", "规则编号重复")


def _yaml_load(text: str):
    """yaml.safe_load, through libyaml when available (about 10× faster on the rules file).
    On an error the pure-Python loader runs again so the message stays the familiar one."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 — CSafeLoader is the safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise RulesError(f"无法读取红线规则文件 {path}：{exc.strerror}") from exc


def _parse_yaml(data: bytes, path: str):
    try:
        return _yaml_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RulesError(f"红线规则文件 {path} 不是 UTF-8 编码") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"红线规则文件 {path} 不是合法的 YAML：{exc}") from exc


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> RuleSet:
    data = _read(path)
    memo = RulesMemo(data)
    digest = hashlib.sha256(data).hexdigest()
    known = memo.load()
    if known is not None:
        return parse_rules(known["raw"], path, prefilters=known["prefilters"], recipes=known["recipes"], digest=digest)
    raw = _parse_yaml(data, path)
    ruleset = parse_rules(raw, path, digest=digest)
    memo.store(raw, ruleset.prefilters, ruleset.recipes)
    return ruleset


@lru_cache(maxsize=8)
def _describe_cached(path: str, mtime_ns: int) -> RuleSet:
    data = _read(path)
    return parse_rules(_parse_yaml(data, path), path, prefilters={}, recipes={}, digest=hashlib.sha256(data).hexdigest())


def _file_version(path) -> tuple[str, int]:
    p = Path(path) if path is not None else REDLINE_RULES_FILE
    try:
        return str(p), p.stat().st_mtime_ns
    except OSError as exc:
        raise RulesError(f"无法读取红线规则文件 {p}：{exc.strerror}") from exc


def load_rules(path=None) -> RuleSet:
    """Load and compile a rules file (default: kb.paths.REDLINE_RULES_FILE); cached per file version."""
    return _load_cached(*_file_version(path))


def load_rule_descriptions(path=None) -> RuleSet:
    """The rules as documentation: names, sources, examples, policy, the model's file. Parsed
    but not compiled (60 ms instead of over a second when nothing is cached), so an invalid
    regex goes unnoticed here: never check text with it; load_rules validates. The build
    renders the 合规红线 page from this while its checker process compiles the real rules."""
    return _describe_cached(*_file_version(path))
