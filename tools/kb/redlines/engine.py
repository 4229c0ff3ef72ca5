"""The matching engine: plain prose in, findings (with original positions) out."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from . import learned, pii
from .prefilter import PrefilterIndex
from .rules import Rule, RuleSet


@dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based, in characters of the original text
    rule: str
    severity: str
    message: str
    match: str
    suggestion: str
    detector: str = "rule"  # "rule" or "learned" (the second detector, kb/redlines/learned.py)

    def as_dict(self) -> dict:
        return {
            "path": self.path, "line": self.line, "column": self.column, "rule": self.rule,
            "severity": self.severity, "message": self.message, "match": self.match,
            "suggestion": self.suggestion, "detector": self.detector,
        }


@dataclass(frozen=True)
class Hit:
    """A raw hit in original offsets, before suppressions and line/column conversion."""

    start: int
    end: int
    rule: str
    severity: str
    message: str
    suggestion: str
    detector: str = "rule"


# --- time expressions for R03 ------------------------------------------------------------
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NIGHT_WORDS = "凌晨|半夜|深夜|午夜|三更半夜|大半夜|深更半夜|后半夜|夜里两三点|睡觉的时候"
# 九点四十 / 九点零五 / 九点十五分: minutes in numerals count (not as :00).
_CN_MINUTES = r"(?:[一二三四五]十[一二三四五六七八九]?|十[一二三四五六七八九]?|[零〇][一二三四五六七八九])分?"
# A bare hour ("十点") is ambiguous, unless the sentence places it in the evening.
_EVENING_CUE = re.compile(r"下班(?:回家)?(?:以后|之后|后)|晚饭(?:以后|之后|后)|吃完晚饭|睡(?:觉)?前|快睡|准备睡|躺下")
_TIME_RE = re.compile(
    r"(?P<night>" + _NIGHT_WORDS + r")?"
    r"(?P<period>早上|早晨|清晨|一早|上午|中午|下午|傍晚|晚上|夜里|夜间|今晚|明晚|晚|夜)?"
    r"(?P<h>\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
    r"(?:[:：](?P<m>\d{2})|(?P<unit>点|时)(?P<half>半|\d{2}分?|\d分|[一二三]刻|" + _CN_MINUTES + r")?)"
    r"(?P<after>以后|之后|后|过后|以前|之前|前|以外)?"
    r"|(?P<bare>" + _NIGHT_WORDS + r")"
)
# Every _TIME_RE match contains one of these (a numeral before :/点/时, or a night word that
# is not itself made of one), so only lines with a hit need the slower _TIME_RE, whose
# optional leading groups defeat the regex engine's fast skipping. Kept sound by a test.
_TIME_GATE = re.compile(r"[\d零〇一二两三四五六七八九十][:：点时]|凌晨|半夜|深夜|午夜|睡觉的时候")


def _lines_with(gate: re.Pattern, text: str):
    """(start, end) of each line of `text` holding a match of `gate`, in order, once each."""
    end = -1
    for m in gate.finditer(text):
        if m.start() <= end:
            continue
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        yield start, end


_FREQ_RE = re.compile(
    r"(?:一天|每天|一日|每日|当天|一上午|一下午|一晚上|半天|一小时|一个小时)"
    r"[^，,。！？!?；;\n]{0,8}?(?:打|拨|呼|call|发|响)了?(?:他|她|你|客户)?了?"
    r"(?P<n>\d+|[一二两三四五六七八九十百几]+)(?P<more>多)?(?:个|通|次|遍|条)"
)


def _cn_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if s == "几十" or s.startswith("几十"):
        return 20
    if s.startswith("十几"):
        return 11
    if "几" in s:
        return None
    if "百" in s:
        return 100
    total, cur = 0, 0
    for ch in s:
        if ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch in _CN_DIGITS:
            cur = _CN_DIGITS[ch]
        else:
            return None
    return total + cur


def _minute(half: str) -> int:
    if half == "半":
        return 30
    if half.endswith("刻"):
        return 15 * _CN_DIGITS.get(half[0], 0)
    return _cn_number(half.rstrip("分")) or 0


def _time_outside(m: re.Match, window: tuple[int, int], evening: bool = False) -> bool:
    """Whether the time `m` names lies outside the contact window; `evening`: the sentence
    places a bare hour in the evening (下班回家后十点 is 22:00)."""
    if m.group("bare"):
        return True
    start, end = window
    hour = _cn_number(m.group("h"))
    if hour is None or hour > 24:
        return False
    period = m.group("period") or ""
    minute = 0
    if m.group("m"):
        minute = int(m.group("m"))
    elif m.group("half"):
        minute = _minute(m.group("half"))
    if m.group("night"):
        return True
    if period in ("下午", "傍晚", "晚上", "夜里", "夜间", "今晚", "明晚", "晚", "夜"):
        if hour <= 5 and period not in ("下午", "傍晚"):
            return True  # 夜里一点 / 晚上两点: small hours after midnight
        if hour < 12:
            hour += 12
        elif hour == 12 and period not in ("下午",):
            hour = 24
    elif period in ("早上", "早晨", "清晨", "一早", "上午"):
        if hour == 12:
            hour = 0
    elif evening and 1 <= hour <= 11 and not m.group("m"):
        hour += 12
    elif not m.group("m"):
        # A bare "10点" is ambiguous; only 24-hour readings outside 8–21 are taken literally.
        if hour < 22:
            return False
    t = hour * 60 + minute
    after = m.group("after") or ""
    if after in ("以后", "之后", "后", "过后", "以外"):
        return t >= end or t < start
    if after in ("以前", "之前", "前"):
        return t <= start
    return t < start or t > end


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class Scanner:
    """Runs every rule of a RuleSet over one piece of (masked) original text."""

    def __init__(self, ruleset: RuleSet):
        self.rs = ruleset
        self._pii = {}
        self._verbs = {}
        for rule in ruleset.rules:
            if rule.check == "personal_data":
                cfg = rule.raw["personal_data"]
                self._pii[rule.id] = {k: re.compile(cfg[k]) for k in ("resident_id", "mobile", "bank_card")}
                # Numbers inside URLs, or labelled as order/serial numbers, are not personal data.
                # `prefilter`: a fast pattern every personal-data match contains; texts without
                # one skip the three slower patterns (their leading look-behinds defeat fast skipping).
                for k in ("not_prose", "not_pii_label", "prefilter"):
                    if cfg.get(k):
                        self._pii[rule.id][k] = re.compile(cfg[k])
            if rule.check == "contact_time":
                self._verbs[rule.id] = re.compile(rule.raw["contact_verbs"])
        glob = ruleset.raw.get("global") or {}
        self._neg_break = re.compile(glob["negation_scope_break"]) if glob.get("negation_scope_break") else None
        self._neg_cont = re.compile(glob["negation_continuation"]) if glob.get("negation_continuation") else None
        self._neg_speech = re.compile(glob["negation_break_speech"]) if glob.get("negation_break_speech") else None
        # A later clause that starts a new instruction (让/叫/把…, 就…) is outside the negator's scope.
        self._neg_clause = re.compile(glob["negation_break_clause"]) if glob.get("negation_break_clause") else None
        self._cond_addr = re.compile(glob["addressee_before_condemner"]) if glob.get("addressee_before_condemner") else None
        self._cond_utter = re.compile(glob["utterance_condemners"]) if glob.get("utterance_condemners") else None
        # Literal prefilters derived from the patterns: a pattern or context trigger runs over a
        # text only when the text may contain one of the literals every match needs.
        self._prefilter = PrefilterIndex()
        self._patterns: dict[str, tuple] = {}
        self._contexts: dict[str, tuple] = {}
        self._pids: dict[str, frozenset] = {}  # every prefilter id of a rule's patterns and triggers
        known = ruleset.prefilters
        for rule in ruleset.rules:
            pats, ctxs = [], []
            for pattern in rule.patterns:
                pats.append((pattern, len(self._prefilter)))
                self._prefilter.add(len(self._prefilter), pattern, known.get(pattern.pattern))
            for ctx in rule.contexts:
                pieces = []
                for trigger in ctx.triggers:
                    pieces.append((trigger, len(self._prefilter)))
                    self._prefilter.add(len(self._prefilter), trigger, known.get(trigger.pattern))
                ctxs.append((ctx, tuple(pieces)))
            self._patterns[rule.id], self._contexts[rule.id] = tuple(pats), tuple(ctxs)
            self._pids[rule.id] = frozenset(pid for _, pid in pats) | {pid for _, pieces in ctxs for _, pid in pieces}
        self._prefilter.build()

    # -- sentence helpers -----------------------------------------------------------------
    def _bounds(self, delims: list[int], pos: int, length: int) -> tuple[int, int]:
        k = bisect_right(delims, pos - 1)
        start = delims[k - 1] + 1 if k > 0 else 0
        end = delims[k] if k < len(delims) else length
        return start, end

    def _negated(self, text: str, s0: int, s: int) -> bool:
        if s <= s0:
            return False
        # A few characters of the hit stay visible so a look-ahead negator (不(?=收)) can match
        # right before the hit; only negators that end before the hit count.
        prefix = text[s0:s + 4]
        false_spans = [m.span() for m in self.rs.false_negators.finditer(prefix)]
        for m in self.rs.negators.finditer(prefix):
            if m.start() >= s - s0:
                break
            if m.end() > s - s0:
                continue
            if any(a <= m.start() < b for a, b in false_spans):
                continue
            if self.rs.addressee_before_negator.search(prefix, 0, m.start()):
                continue
            if self._scope_ended(prefix, m.end(), s - s0):
                continue
            return True
        return False

    def _scope_ended(self, prefix: str, a: int, b: int) -> bool:
        """Negation is clause-bounded: a comma between negator and hit ends it when the later
        clause is speech to the customer (别装了，我弄死你) — not in a list heading (禁止：…),
        a continued list (严禁威胁客户，或以……) or a quoted utterance (不得对客户说，……)."""
        brk = self._neg_break
        if brk is None or prefix[a:a + 2].lstrip()[:1] in ("：", ":"):
            return False
        last = None
        for last in brk.finditer(prefix, a, b):
            pass
        if last is None or prefix[last.start() - 1:last.start()] in ("说", "讲", "称", "道"):
            return False
        if self._neg_cont is not None and self._neg_cont.match(prefix, last.end(), b):
            return False
        if self._neg_clause is not None and self._neg_clause.match(prefix, last.end()):
            return True
        return self._neg_speech is None or bool(self._neg_speech.search(prefix, last.end()))

    def _names_rule(self, text: str, s: int, e: int) -> bool:
        """A rule id anywhere on the hit's line (a table row, "——这是骚扰（R03）") marks a mention."""
        l0 = text.rfind("\n", 0, s) + 1
        l1 = text.find("\n", e)
        return bool(self.rs.rule_reference.search(text, l0, l1 if l1 >= 0 else len(text)))

    def _addressed_condemner(self, text: str, s0: int, c: int) -> bool:
        """属于/涉嫌…犯罪 said to the customer ("你的欠款涉嫌犯罪") is not a condemnation;
        a quoted "你…" ("‘你要坐牢’属于违规") still is."""
        if self._cond_addr is None:
            return False
        if self._cond_utter is not None and self._cond_utter.match(text, c):
            return False
        k = max(text.rfind(ch, s0, c) for ch in "，,") + 1
        return bool(self._cond_addr.search(text, max(k, s0), c))

    def _reported(self, text: str, s0: int, s: int) -> bool:
        """The hit is inside a customer's reported speech not followed by staff speech."""
        last_customer = -1
        for m in self.rs.reported_speech.finditer(text, s0, s):
            last_customer = m.end()
        if last_customer < 0:
            return False
        return not any(True for _ in self.rs.collector_speech.finditer(text, last_customer, s))

    def _rule_admits(self, rule: Rule, text: str, s0: int, s1: int, s: int, e: int) -> bool:
        """Rule-level filters shared by patterns and contexts: exceptions, `unless`, rule statements."""
        if rule.exceptions is not None and any(
            em.start() < e and s < em.end() for em in rule.exceptions.finditer(text, s0, s1)
        ):
            return False
        if rule.unless is not None and rule.unless.search(text, s0, s1):
            return False
        return not self._statement(text, s0, s1, s, e, rule)

    def _statement(self, text: str, s0: int, s1: int, s: int, e: int, rule: Rule) -> bool:
        """True when the hit is part of a rule statement, a condemnation or reported speech."""
        if not rule.negation:
            return False
        if self._negated(text, s0, s):
            return True
        cm = self.rs.condemners.search(text, e, s1)
        if cm and not self._addressed_condemner(text, s0, cm.start()):
            return True
        if self._reported(text, s0, s):
            return True
        # A rule id anywhere on the line (e.g. a table row "| R06 | 冒充公检法 |") marks a mention.
        l0 = text.rfind("\n", 0, s) + 1
        l1 = text.find("\n", e)
        if self.rs.rule_reference.search(text, l0, l1 if l1 >= 0 else len(text)):
            return True
        return False

    # -- main ----------------------------------------------------------------------------
    def scan(self, original: str, exempt: list[tuple[int, int]] | None = None,
             pii_only: list[tuple[int, int]] | None = None) -> list[Hit]:
        """`exempt`: original-offset ranges where phrase rules are skipped (PII still checked)."""
        rs = self.rs
        blocked = _merge(sorted((exempt or []) + (pii_only or [])))
        starts = [a for a, _ in blocked]

        def is_blocked(pos: int) -> bool:
            k = bisect_right(starts, pos) - 1
            return k >= 0 and pos < blocked[k][1]

        norm = rs.normalizer(original)
        text = norm.text
        n = len(text)
        sdel = [m.start() for m in rs.sentence_delims.finditer(text)]
        cdel = None
        line_spans, whole = self._prefilter.locate(text)

        def matches(pattern: re.Pattern, pid: int):
            # Same matches, in the same order, as pattern.finditer(text): a line-bound pattern
            # is searched only on the lines that may hold one of its literals.
            spans = line_spans.get(pid)
            if spans is not None:
                for a, b in spans:
                    yield from pattern.finditer(text, a, b)
            elif pid in whole:
                yield from pattern.finditer(text)
        hits: list[Hit] = []
        seen: set[tuple[str, int]] = set()

        def emit(rule: Rule, s: int, e: int, s0: int, message: str | None = None, detector: str = "rule") -> None:
            key = (rule.id, s0)
            if key in seen:
                return
            o_s, o_e = norm.span_to_orig(s, e)
            if blocked and is_blocked(o_s):
                return
            seen.add(key)
            hits.append(Hit(o_s, o_e, rule.id, rule.severity,
                            message or f"{rule.name}：“{original[o_s:o_e]}”", rule.suggestion, detector))

        def candidates(pattern, pid, rule_id: str):
            """Non-empty matches of a pattern in `active`, with their sentence bounds, not yet reported."""
            for m in matches(pattern, pid):
                s, e = m.span()
                if s == e:
                    continue
                s0, s1 = self._bounds(sdel, s, n)
                if (rule_id, s0) not in seen:
                    yield s, e, s0, s1

        active = whole.union(line_spans)  # the patterns that may match somewhere in this text
        for rule in rs.rules:
            if active.isdisjoint(self._pids[rule.id]):
                patterns, contexts = (), ()
            else:
                patterns, contexts = self._patterns[rule.id], self._contexts[rule.id]
            for pattern, pid in patterns:
                if pid not in active:
                    continue
                for s, e, s0, s1 in candidates(pattern, pid, rule.id):
                    if self._rule_admits(rule, text, s0, s1, s, e):
                        emit(rule, s, e, s0)
            for ctx, pieces in contexts:
                # Leftmost first, and at one position the earlier alternative, as one alternation would.
                found = [(c, k) for k, (trigger, pid) in enumerate(pieces) if pid in active
                         for c in candidates(trigger, pid, rule.id)]
                if len(pieces) > 1:
                    found.sort(key=lambda item: (item[0][0], item[1]))
                for (s, e, s0, s1), _ in found:
                    if (rule.id, s0) in seen:
                        continue
                    if ctx.scope == "clause":
                        if cdel is None:
                            cdel = [c.start() for c in rs.clause_delims.finditer(text)]
                        c0, c1 = self._bounds(cdel, s, n)
                    elif ctx.scope == "line":
                        # The whole line (paragraph): a listener named as a third party in one
                        # sentence (你是他朋友吧？) is still that third party in the next one.
                        c0 = text.rfind("\n", 0, s) + 1
                        c1 = text.find("\n", e)
                        c1 = n if c1 < 0 else c1
                    else:
                        c0, c1 = s0, s1
                    if ctx.require is not None and not ctx.require.search(text, c0, c1):
                        continue
                    if ctx.all_of and not all(a.search(text, c0, c1) for a in ctx.all_of):
                        continue
                    if ctx.unless is not None and ctx.unless.search(text, c0, c1):
                        continue
                    if self._rule_admits(rule, text, s0, s1, s, e):
                        emit(rule, s, e, s0)
            if rule.check == "contact_time":
                self._scan_time(rule, text, sdel, n, emit)
            if rule.check == "personal_data":
                hits.extend(self._scan_pii(rule, original))
        # The learned detector last: a sentence the rules already report for a rule keeps the
        # rule's finding (`seen`); exempt positions are skipped by `emit` as for the rules.
        model = learned.active_model(rs)
        if model is not None:
            learned.scan_sentences(rs, model, norm, original, sdel, emit, self, is_blocked if blocked else None)
        hits.sort(key=lambda h: (h.start, h.rule))
        return hits

    def _scan_time(self, rule: Rule, text: str, sdel: list[int], n: int, emit) -> None:
        rs = self.rs
        window = rs.window
        verbs = self._verbs[rule.id]
        cw = rs.policy["contact_window"]
        cap = rs.policy["max_calls_per_day"]
        for m in (m for a, b in _lines_with(_TIME_GATE, text) for m in _TIME_RE.finditer(text, a, b)):
            if not m.group(0):
                continue
            s, e = m.span()
            s0, s1 = self._bounds(sdel, s, n)
            if not _time_outside(m, window, _EVENING_CUE.search(text, s0, s1) is not None):
                continue
            if not verbs.search(text, s0, s1):
                continue
            if rule.unless is not None and rule.unless.search(text, s0, s1):
                continue
            # A time rule is a statement when a negator appears anywhere in the sentence
            # ("晚上九点以后不得拨打").
            if self._negated(text, s0, s1) or self.rs.condemners.search(text, s0, s1) \
                    or self._reported(text, s0, s1) or self._names_rule(text, s, e):
                continue
            emit(rule, s, e, s0, f"{rule.name}：在{cw['label']} {cw['start']}–{cw['end']} 以外联系（“{text[s:e]}”）")
        for m in _FREQ_RE.finditer(text):
            count = _cn_number(m.group("n"))
            if count is None or count <= cap:
                continue
            s, e = m.span()
            s0, s1 = self._bounds(sdel, s, n)
            if self._negated(text, s0, s1) or self.rs.condemners.search(text, s0, s1) \
                    or self._reported(text, s0, s1) or self._names_rule(text, s, e):
                continue
            emit(rule, s, e, s0, f"{rule.name}：呼叫频次超过{rs.policy['max_calls_label']}（“{text[s:e]}”）")

    def _scan_pii(self, rule: Rule, original: str) -> list[Hit]:
        pats = self._pii[rule.id]
        if "prefilter" in pats and pats["prefilter"].search(original) is None:
            return []
        msgs = rule.raw["personal_data"].get("messages", {})
        out: list[Hit] = []
        taken: list[tuple[int, int]] = []

        if "not_prose" in pats:
            taken.extend(m.span() for m in pats["not_prose"].finditer(original))
        label = pats.get("not_pii_label")

        def free(a: int, b: int) -> bool:
            if label is not None and label.search(original, max(0, a - 12), a):
                return False
            return not any(x < b and a < y for x, y in taken)

        checks = (("resident_id", pii.resident_id_valid), ("bank_card", pii.luhn_valid), ("mobile", pii.mobile_valid))
        for kind, valid in checks:
            for m in pats[kind].finditer(original):
                a, b = m.span()
                if not free(a, b) or not valid(m.group(0)):
                    continue
                taken.append((a, b))
                out.append(Hit(a, b, rule.id, rule.severity,
                               f"{rule.name}：{msgs.get(kind, kind)}（“{m.group(0)}”）", rule.suggestion))
        return out


_SCANNERS: dict[int, tuple[RuleSet, Scanner]] = {}


def scanner_for(ruleset: RuleSet) -> Scanner:
    key = id(ruleset)
    cached = _SCANNERS.get(key)
    if cached is None or cached[0] is not ruleset:
        cached = (ruleset, Scanner(ruleset))
        _SCANNERS[key] = cached
    return cached[1]


class LineIndex:
    """Original offset → (line, column), both 1-based."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        k = bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1

    def line_span(self, line: int) -> tuple[int, int]:
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else None
        return start, end


def hits_to_findings(hits: list[Hit], original: str, path: str, index: LineIndex | None = None) -> list[Finding]:
    index = index or LineIndex(original)
    out = []
    for h in hits:
        line, col = index.position(h.start)
        out.append(Finding(path, line, col, h.rule, h.severity, h.message, original[h.start:h.end], h.suggestion,
                           h.detector))
    return out
