"""Literal prefilters derived from the rules' regular expressions at load time.

For a compiled pattern, `required_literals` returns a set of literal strings such that
every match of the pattern contains at least one of them (or None when no such set is
known, e.g. for a pattern that can match anything). The engine runs a pattern over a
text only when the text may contain one of its literals, so results are unchanged: a
pattern is skipped only when it cannot match at all.

Presence is tested against the set of characters and of character pairs (bigrams) in
the text: a literal "may occur" when every one of its bigrams occurs. This over-
approximates (never misses a literal) and costs one pass over the text plus a few
set look-ups per literal, instead of one regex scan per pattern.

The parse uses the standard library's regex parser (`re._parser`); if it is missing or
rejects a pattern, the pattern simply gets no prefilter and always runs.
"""

from __future__ import annotations

import re

try:  # CPython 3.11+: re._parser / re._constants; older: sre_parse / sre_constants
    from re import _constants as _c
    from re import _parser as _parser
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

# Limits keep the derived sets small; exceeding them only weakens a prefilter.
_MAX_EXACT = 64  # strings in an exact set (cross products of alternatives)
_MAX_CLASS = 16  # characters of a character class taken as alternatives
_MAX_REPEAT = 4  # fixed repetition expanded into an exact set


def _cross(a: set, b: set) -> set | None:
    if len(a) * len(b) > _MAX_EXACT:
        return None
    return {x + y for x in a for y in b}


def _useful(s: set | None) -> bool:
    return bool(s) and "" not in s


def _better(a: set | None, b: set | None) -> set | None:
    """The more selective of two must-sets: longer shortest literal, then fewer literals."""
    if not _useful(a):
        return b if _useful(b) else None
    if not _useful(b):
        return a
    ka = (min(map(len, a)), -len(a))
    kb = (min(map(len, b)), -len(b))
    return a if ka >= kb else b


def _seq(items) -> tuple[set | None, set | None]:
    """(exact, must) for a sequence of parsed items.

    exact: every string the sequence can match (None when unknown or too many);
    must: literals one of which occurs in every match (None when unknown).
    """
    items = getattr(items, "data", items)  # a SubPattern's list (its __getitem__ is slow)
    if all(op is _c.LITERAL for op, _ in items):  # fast path: a plain word (lexicon entries)
        word = "".join([chr(av) for _, av in items])
        return {word}, ({word} if word else None)
    exact: set | None = {""}
    run: set | None = {""}  # cross product of the current run of exact items
    best: set | None = None
    for op, av in items:
        e, m = _item(op, av)
        best = _better(best, m)
        if e is not None and run is not None:
            run = _cross(run, e)
        if e is None or run is None:
            best = _better(best, run)
            run = set(e) if e is not None else None
        if exact is not None:
            exact = _cross(exact, e) if e is not None else None
    best = _better(best, run)
    if exact is not None:
        best = _better(best, exact)
    return exact, best


def _item(op, av) -> tuple[set | None, set | None]:
    if op is _c.LITERAL:
        ch = chr(av)
        return {ch}, {ch}
    if op is _c.IN:
        chars = set()
        for sop, sav in av:
            if sop is _c.LITERAL:
                chars.add(chr(sav))
            elif sop is _c.RANGE and sav[1] - sav[0] < _MAX_CLASS:
                chars.update(chr(c) for c in range(sav[0], sav[1] + 1))
            else:  # NEGATE, CATEGORY, wide ranges
                return None, None
            if len(chars) > _MAX_CLASS:
                return None, None
        return chars, chars
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return {""}, None  # zero-width
    if op is _c.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & _c.SRE_FLAG_IGNORECASE:
            return None, None
        return _seq(sub)
    if op is getattr(_c, "ATOMIC_GROUP", object()):
        return _seq(av)
    if op is _c.BRANCH:
        exact: set | None = set()
        must: set | None = set()
        for alt in av[1]:
            e, m = _seq(alt)
            if exact is not None:
                exact = exact | e if e is not None and len(exact) + len(e) <= _MAX_EXACT else None
            own = e if _useful(e) else m
            if must is not None:
                must = must | own if _useful(own) else None
        return exact, (must if _useful(must) else None)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", object())):
        lo, hi, sub = av
        e, m = _seq(sub)
        if lo == 0:
            if hi == 1 and e is not None:
                return e | {""}, None
            return None, None
        own = e if _useful(e) else m
        if e is not None and lo == hi and lo <= _MAX_REPEAT:
            rep: set | None = {""}
            for _ in range(lo):
                rep = _cross(rep, e) if rep is not None else None
            return rep, _better(rep, own)
        return None, own
    return None, None  # ANY, NOT_LITERAL, CATEGORY, GROUPREF, GROUPREF_EXISTS, …


def required_literals(pattern: re.Pattern) -> frozenset | None:
    """Literals one of which every match of `pattern` contains, or None if unknown."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
        if parsed.state.flags & _c.SRE_FLAG_IGNORECASE:
            return None
        exact, must = _seq(parsed.data)
    except Exception:  # any parser change or surprise: no prefilter, the pattern always runs
        return None
    best = _better(must, exact)
    return frozenset(best) if _useful(best) else None


def text_grams(text: str) -> set:
    """Every character and every pair of adjacent characters of `text` (as strings)."""
    grams = set(text)
    grams.update(map(str.__add__, text, text[1:]))
    return grams


def _literal_keys(lit: str) -> tuple[str, ...]:
    return (lit,) if len(lit) == 1 else tuple(lit[i:i + 2] for i in range(len(lit) - 1))


class PrefilterIndex:
    """All prefilters of a rule set in one inverted index.

    `enabled(grams)` returns the ids of the patterns that may match a text: those without a
    prefilter, plus those with a literal whose characters/bigrams all occur in the text.
    Each literal is filed under its first key (character or bigram); only literals whose
    first key occurs are checked further, so the cost follows the text, not the lexicon.
    """

    def __init__(self) -> None:
        self._always: set = set()
        self._index: dict[str, list] = {}
        self._keys: set = set()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, pid, pattern: re.Pattern) -> None:
        self._count += 1
        lits = required_literals(pattern)
        if lits is None:
            self._always.add(pid)
            return
        for lit in sorted(lits):
            keys = _literal_keys(lit)
            self._index.setdefault(keys[0], []).append((keys[1:], pid))
            self._keys.add(keys[0])

    def enabled(self, grams: set) -> set:
        out = set(self._always)
        index = self._index
        for key in grams.intersection(self._keys):
            for rest, pid in index[key]:
                if pid not in out and all(k in grams for k in rest):
                    out.add(pid)
        return out
