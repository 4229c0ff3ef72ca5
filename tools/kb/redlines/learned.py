"""The learned second detector (学习型检测器): a sentence classifier unioned with the rules.

A char 1–3-gram TF-IDF (binary tf, l2 norm) + logistic regression per rule, trained
with scikit-learn by `python -m kb.redlines.train` on the DEV and TRAIN splits of the
labelled corpus, and shipped as a small JSON model file. Inference here is pure Python (no numpy or
scikit-learn at check time): every n-gram of the model vocabulary carries one packed integer
(its idf² and its idf-folded weight for every rule), so scoring a sentence is one set
intersection and one integer sum in C, whatever the number of rules.

Configuration lives in ONE place, the `learned:` section of the rules file (validated by
rules.py); the per-rule probability thresholds, chosen by cross-validation on DEV, live in
the model file (written by the trainer).

The scanner (engine.py) calls `scan_sentences` after the rules: a sentence that the rules
already report for a rule keeps the rule's finding (it has the precise span); the Markdown
layer's exemptions and suppressions apply to learned findings unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import zlib
from contextlib import contextmanager
from functools import lru_cache
from itertools import repeat
from operator import add
from pathlib import Path
from struct import unpack_from

from kb import diskcache
from kb.paths import DATA_DIR

from .rules import RulesError

MODEL_FORMAT = 3
# Blanks and Markdown list/quote/heading markers before a sentence are not part of it.
_LEAD_STRIP = " \t\r\n\f\v\u3000\xa0-*+>#"


class ModelError(RulesError):
    """The model file is missing or unreadable (Chinese message); a RulesError, so callers
    that report an invalid rules file report this the same way."""


# ASCII lower case only (Chinese has no case; keeps the text's length).
_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_HAS_ASCII_UPPER = re.compile("[A-Z]").search  # translate() is slow on CJK text; most sentences need none


def analyzer_text(text: str) -> str:
    """The exact string the n-grams are taken from (training and inference alike)."""
    s = text.strip()
    return s.translate(_LOWER) if _HAS_ASCII_UPPER(s) else s


def grams_of(s: str) -> list[str]:
    """Every char 1-, 2- and 3-gram of `s` (with repeats), built by C-level maps."""
    grams = list(s)
    bigrams = list(map(add, s, s[1:]))
    grams += bigrams
    grams += map(add, bigrams, s[2:])
    return grams


def ngrams(text: str) -> list[str]:
    """Char 1–3-grams of an already normalised sentence (the trainer's `analyzer`)."""
    return grams_of(analyzer_text(text))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class Model:
    """Per-rule linear scores over binary-tf, l2-normalised tf-idf of char 1–3-grams.

    Each n-gram of the vocabulary carries ONE integer, its packed weight vector: field 0 is
    idf² (the l2 norm needs every known n-gram), field k ≥ 1 is rule k's coefficient × idf
    (idf folded in, negligible weights pruned to 0), each in fixed point (× `scale`) in a
    signed `field_bits`-bit field (stored as unsigned hex, modulo 2^(bits × fields)). Integer
    addition adds every field at once, so a sentence costs one C-level `sum` over its distinct
    known n-grams (binary tf: a repeated n-gram counts once) plus one struct.unpack — instead
    of a Python loop over n-grams × rules.
    """

    def __init__(self, rules, bias, thresholds, vectors, scale, field_bits, min_han, meta):
        self.rules = tuple(rules)
        self.bias = tuple(bias)
        self.thresholds = dict(thresholds)
        self.vectors = vectors
        self.scale = float(scale)
        self.bits = int(field_bits)
        self.min_han = int(min_han)
        self.meta = meta
        self._vocab = frozenset(vectors)  # frozenset.intersection(list) is the fastest C-level match
        if self.bits % 8:
            raise ModelError("学习型检测器模型的 field_bits 必须是 8 的倍数")
        fields = len(self.rules) + 1
        self._nbytes = fields * self.bits // 8
        self._fmt = "<" + {64: "Q", 32: "I"}[self.bits] * fields
        # Per-field offset for sums: n vectors add n × 2^(bits−24) (n < 2^23 n-grams per
        # sentence) and |weight| × scale stays far below 2^(bits−24).
        self._half = 1 << (self.bits - 24)
        self._offset = sum(self._half << (self.bits * k) for k in range(fields))
        self._all = (1 << (self.bits * fields)) - 1  # vectors are stored modulo 2^(bits × fields)
        self.cuts = tuple(_logit(self.thresholds[r]) if r in self.thresholds else math.inf for r in self.rules)

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        if data.get("format") != MODEL_FORMAT:
            raise ModelError(f"学习型检测器模型格式不对（应为 format: {MODEL_FORMAT}，请重新训练）")
        rules = tuple(data["rules"])
        # Two parallel strings — the n-grams one per line, their packed vectors as unsigned hex
        # (modulo 2^(bits × fields)) separated by blanks: split and parsed in C at load time.
        grams = data["vocabulary"].split("\n") if data["vocabulary"] else []
        packed = data["vectors"].split()
        if len(grams) != len(packed):
            raise ModelError("学习型检测器模型损坏：vocabulary 与 vectors 的条数不同")
        vectors = dict(zip(grams, map(int, packed, repeat(16))))
        return cls(rules, tuple(data["bias"][r] for r in rules), data["thresholds"], vectors,
                   data["scale"], data["field_bits"], data.get("min_han", 4),
                   {k: v for k, v in data.items() if k not in ("vectors", "vocabulary")})

    def parts(self) -> tuple:
        """The constructor's arguments: what the on-disk memo keeps of a parsed model file."""
        return (self.rules, self.bias, self.thresholds, self.vectors, self.scale, self.bits,
                self.min_han, self.meta)

    def unpack(self, packed: int, count: int = 1) -> list[float]:
        """[idf², weight of rule 1, …] from a packed vector or a sum of `count` of them: an
        offset of `count` × 2^(bits−24) per field makes every field non-negative, so one
        to_bytes/struct.unpack in C splits them."""
        raw = unpack_from(self._fmt, ((packed + count * self._offset) & self._all).to_bytes(self._nbytes, "little"))
        shift = count * self._half
        scale = self.scale
        return [(f - shift) / scale for f in raw]

    def weight(self, rule: str, gram: str) -> float:
        """The idf-folded weight of one n-gram for one rule (0.0 when unknown or pruned)."""
        packed = self.vectors.get(gram)
        return 0.0 if packed is None else self.unpack(packed)[1 + self.rules.index(rule)]

    def scores(self, sentence: str) -> list[float] | None:
        """Linear scores (logits) per rule; None when no n-gram of the sentence is known."""
        return self.scores_of(ngrams(sentence))

    def scores_of(self, grams: list[str]) -> list[float] | None:
        common = self._vocab.intersection(grams)  # the distinct known n-grams, built in C
        if not common:
            return None
        fields = self.unpack(sum(map(self.vectors.__getitem__, common)), len(common))
        norm = math.sqrt(fields[0])
        return [w / norm + b for w, b in zip(fields[1:], self.bias)]

    def probabilities(self, sentence: str) -> dict[str, float]:
        sc = self.scores(sentence)
        if sc is None:
            sc = list(self.bias)
        return {r: 1.0 / (1.0 + math.exp(-x)) for r, x in zip(self.rules, sc)}

    def predict(self, sentence: str) -> list[tuple[str, float]]:
        """(rule, probability) for every rule whose threshold the sentence reaches — the same
        arithmetic as `scores`, inlined: this runs for every prose sentence of every page."""
        s = sentence.strip()
        if _HAS_ASCII_UPPER(s):
            s = s.translate(_LOWER)
        bigrams = list(map(add, s, s[1:]))
        grams = list(s)
        grams += bigrams
        grams += map(add, bigrams, s[2:])
        common = self._vocab.intersection(grams)
        if not common:
            return []
        n = len(common)
        raw = unpack_from(self._fmt, ((sum(map(self.vectors.__getitem__, common)) + n * self._offset)
                                      & self._all).to_bytes(self._nbytes, "little"))
        shift = n * self._half
        inv = 1.0 / math.sqrt((raw[0] - shift) * self.scale)  # 1 / (scale × l2 norm)
        out = []
        for r, f, b, cut in zip(self.rules, raw[1:], self.bias, self.cuts):
            x = (f - shift) * inv + b
            if x >= cut:
                out.append((r, 1.0 / (1.0 + math.exp(-x))))
        return out


# --- loading (cached per file version, like the rules) ----------------------------------------

MEMO_KIND = "model"
_RETRAIN = "重新训练：python -m kb.redlines.train，需先 pip install -e .[train]"


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> Model:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ModelError(f"无法读取学习型检测器模型 {path}：{exc.strerror or exc}（{_RETRAIN}）") from exc
    # Parsing ~50 000 packed vectors from hex costs ~0.3 s a process; their pickle, ~0.05 s.
    memo_key = diskcache.derived_key(Path(__file__).resolve().parent, ("learned.py",), raw)
    parts = diskcache.load(MEMO_KIND, memo_key)
    if isinstance(parts, tuple):
        return Model(*parts)
    try:
        data = json.loads(gzip.decompress(raw) if path.endswith(".gz") else raw)
    except (ValueError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ModelError(f"学习型检测器模型 {path} 不是合法的 gzip JSON：{exc}（{_RETRAIN}）") from exc
    try:
        model = Model.from_dict(data)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ModelError(f"学习型检测器模型 {path} 缺少或损坏了字段：{exc}") from exc
    diskcache.store(MEMO_KIND, memo_key, model.parts())
    return model


def load_model(path) -> Model:
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError as exc:
        raise ModelError(f"无法读取学习型检测器模型 {p}：{exc.strerror}（{_RETRAIN}）") from exc
    return _load_cached(str(p), mtime)


def model_path(ruleset) -> Path | None:
    """The model file named by the rules file's `learned:` section (relative to tools/kb/data/,
    so a copy of the rules file elsewhere still uses the shipped model)."""
    cfg = ruleset.raw.get("learned") or {}
    if not cfg.get("model"):
        return None
    p = Path(cfg["model"])
    return p if p.is_absolute() else DATA_DIR / p


# An override for evaluation: `with using(None)` → rules only; `with using(model)` → that model
# (cross-validation folds). Outside such a block the rules file decides.
_OVERRIDE: list = []


@contextmanager
def using(model: Model | None):
    _OVERRIDE.append(model)
    try:
        yield
    finally:
        _OVERRIDE.pop()


def active_model_digest(ruleset) -> str | None:
    """sha256 of the model file the rules file names, "-" when the detector is off, None when
    unreadable or inside `using(…)` (then the active model is not that file): identifies the
    model for results caches without parsing it (0.2 s)."""
    if _OVERRIDE:
        return None
    cfg = ruleset.raw.get("learned") or {}
    path = model_path(ruleset) if cfg.get("enabled") else None
    if path is None:
        return "-"
    try:
        return _file_digest(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


@lru_cache(maxsize=4)
def _file_digest(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def active_model(ruleset) -> Model | None:
    if _OVERRIDE:
        return _OVERRIDE[-1]
    cfg = ruleset.raw.get("learned") or {}
    if not cfg.get("enabled"):
        return None
    path = model_path(ruleset)
    if path is None:
        return None
    return load_model(path)


def model_version() -> tuple:
    """(path, mtime) of the model file the default rules file names — for callers that cache
    check results (kb.validate) and must notice a retrained model."""
    from .rules import load_rules

    try:
        p = model_path(load_rules())
        return (str(p), p.stat().st_mtime_ns) if p is not None else ()
    except (RulesError, OSError):
        return ()


def covered_rules(ruleset) -> dict[str, float]:
    """Rule id → threshold for the rules the learned detector covers ({} when disabled)."""
    try:
        model = active_model(ruleset)
    except ModelError:
        return {}
    if model is None:
        return {}
    return {r: model.thresholds[r] for r in model.rules if r in model.thresholds and r in ruleset.by_id}


# --- sentences --------------------------------------------------------------------------------

def sentence_spans(text: str, delims: list[int]) -> list[tuple[int, int, int]]:
    """(s0, start, end) per sentence of normalised `text`: s0 is the engine's sentence key (the
    index after the previous delimiter), start/end trim blanks and Markdown markers and include
    the closing punctuation (the corpus sentences end with it) but not a line break or table bar."""
    out = []
    prev = 0
    n = len(text)
    for d in delims + [n]:
        b = d + 1 if d < n and text[d] not in "\n|" else d
        seg = text[prev:b]
        body = seg.lstrip(_LEAD_STRIP)
        if body:
            a = prev + len(seg) - len(body)
            out.append((prev, a, a + len(body.rstrip())))
        prev = d + 1
    return out


@lru_cache(maxsize=8)
def _han_at_least(n: int) -> re.Pattern:
    return re.compile(r"(?:[^\u3400-\u9fff]*[\u3400-\u9fff]){%d}" % n)


def is_candidate(sentence: str, min_han: int) -> bool:
    """At least `min_han` Chinese characters: shorter sentences carry too few n-grams."""
    return _han_at_least(min_han).match(sentence) is not None


# The rules' own sentence-level filters, applied to a learned hit (the whole sentence):
#   mention    — a rule id on the line (a table row, "——这是骚扰（R03）") marks a mention;
#   statement  — a rule statement, condemnation or customer's reported speech in the sentence
#                (严禁……/一经发现严肃处理/客户说……), judged as the engine judges the time rule;
#   unless     — the rule's own `match.unless` (sentence-level exclusions, e.g. 自愿 for R05);
#   exceptions — the rule's own `match.exceptions` anywhere in the sentence (老赖型 for R02).
GUARDS = ("mention", "statement", "unless", "exceptions")


def _mentions_rule(ruleset, text: str, a: int, b: int) -> bool:
    l0 = text.rfind("\n", 0, a) + 1
    l1 = text.find("\n", b)
    return bool(ruleset.rule_reference.search(text, l0, l1 if l1 >= 0 else len(text)))


def sentence_excluded(scanner, text: str, s0: int, a: int, b: int) -> bool:
    """Sentence-level guards that do not depend on the rule."""
    if "mention" in GUARDS and _mentions_rule(scanner.rs, text, a, b):
        return True
    if "statement" in GUARDS and (scanner._negated(text, s0, b) or scanner.rs.condemners.search(text, s0, b)
                                  or scanner._reported(text, s0, b)):
        return True
    return False


def rule_excluded(rule, text: str, a: int, b: int) -> bool:
    if "unless" in GUARDS and rule.unless is not None and rule.unless.search(text, a, b):
        return True
    if "exceptions" in GUARDS and rule.exceptions is not None and rule.exceptions.search(text, a, b):
        return True
    return False


def _scanner(ruleset):
    from .engine import scanner_for  # engine imports this module

    return scanner_for(ruleset)


def predict_text(model: Model, ruleset, text: str) -> set[str]:
    """The rules the learned detector alone reports anywhere in plain `text` (for evaluation;
    the same sentences, guards and thresholds as scan_sentences, without the union)."""
    found: set[str] = set()
    norm = ruleset.normalizer(text)
    delims = [m.start() for m in ruleset.sentence_delims.finditer(norm.text)]
    scan_sentences(ruleset, model, norm, text, delims, lambda rule, *_: found.add(rule.id), _scanner(ruleset))
    return found


def scan_sentences(ruleset, model: Model, norm, original: str, delims: list[int], emit, scanner,
                   blocked=None) -> None:
    """Score each prose sentence of the normalised text; `emit(rule, start, end, s0, message,
    detector)` is the scanner's, which skips sentences the rules already report for that
    rule and positions that are exempt (counter-example blocks, headings, non-prose);
    `blocked(original offset)` lets exempt sentences skip the scoring altogether."""
    by_id = ruleset.by_id
    text = norm.text
    enough = _han_at_least(model.min_han).match
    predict = model.predict
    for s0, a, b in sentence_spans(text, delims):
        sent = text[a:b]
        if enough(sent) is None or (blocked is not None and blocked(norm.to_orig(a))):
            continue
        hits = predict(sent)
        if not hits or sentence_excluded(scanner, text, s0, a, b):
            continue
        o_a, o_b = norm.span_to_orig(a, b)
        for rid, prob in hits:
            rule = by_id.get(rid)
            if rule is None or rule_excluded(rule, text, a, b):
                continue
            emit(rule, a, b, s0, f"{rule.name}（学习型检测器，概率 {prob:.2f}）：“{original[o_a:o_b]}”", "learned")
