"""Literal prefilters derived from the rules' regular expressions at load time.

For a compiled pattern, `required_literals` returns a set of literal strings such that
every match of the pattern contains at least one of them (or None when no such set is
known, e.g. for a pattern that can match anything). `analyse` adds the literal sets of the
pattern's top-level items, each of which every match also needs. The engine runs a pattern
over a text only when the text may contain a literal of every such set, so results are
unchanged: a pattern is skipped only when it cannot match at all.

Presence is tested exactly, with one Aho–Corasick automaton over every literal of every
pattern (PrefilterIndex): one pass of C code per line instead of one regex scan per pattern.

The parse uses the standard library's regex parser (`re._parser`); if it is missing or
rejects a pattern, the pattern simply gets no prefilter and always runs.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import NamedTuple

import ahocorasick

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

_SECOND = itemgetter(1)  # the value (literal id) of an automaton hit


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


# Categories that never match a line break ("\n"), and ones that always do.
_NO_NL_CATEGORIES = {"CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_SPACE", "CATEGORY_NOT_LINEBREAK",
                     "CATEGORY_UNI_DIGIT", "CATEGORY_UNI_WORD", "CATEGORY_UNI_NOT_SPACE", "CATEGORY_UNI_NOT_LINEBREAK"}
_NL_CATEGORIES = {"CATEGORY_SPACE", "CATEGORY_LINEBREAK", "CATEGORY_UNI_SPACE", "CATEGORY_UNI_LINEBREAK"}
# Anchors that read the same at a line end as before "\n" (\b, \B, ^, \A, multi-line $).
_LINE_SAFE_AT = {"AT_BOUNDARY", "AT_NON_BOUNDARY", "AT_UNI_BOUNDARY", "AT_UNI_NON_BOUNDARY", "AT_LOC_BOUNDARY",
                 "AT_LOC_NON_BOUNDARY", "AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BEGINNING_LINE", "AT_END_LINE"}


def _set_has_newline(av) -> bool | None:
    """Whether a character class matches "\n" (None when unsure)."""
    negate = bool(av) and av[0][0] is _c.NEGATE
    listed = False
    for op, arg in av[1:] if negate else av:
        if op is _c.LITERAL:
            listed = listed or arg == 10
        elif op is _c.RANGE:
            listed = listed or arg[0] <= 10 <= arg[1]
        elif op is _c.CATEGORY:
            if str(arg) in _NL_CATEGORIES:
                listed = True
            elif str(arg) not in _NO_NL_CATEGORIES:
                return None
        else:
            return None
    return not listed if negate else listed


def _line_bound(items) -> bool:
    """True when nothing in the pattern (lookarounds included) can match or test past a "\n",
    so searching one line (pos/endpos) finds exactly the matches a whole-text search finds there."""
    for op, av in getattr(items, "data", items):
        if op is _c.LITERAL:
            if av == 10:
                return False
        elif op is _c.NOT_LITERAL:
            if av != 10:
                return False
        elif op is _c.IN:
            if _set_has_newline(av) is not False:
                return False
        elif op is _c.ANY:
            continue  # DOTALL is refused below
        elif op is _c.AT:
            if str(av) not in _LINE_SAFE_AT:
                return False
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            if not _line_bound(av[1]):
                return False
        elif op is _c.SUBPATTERN:
            if av[1] & _c.SRE_FLAG_DOTALL or not _line_bound(av[3]):
                return False
        elif op is _c.BRANCH:
            if not all(_line_bound(alt) for alt in av[1]):
                return False
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", object())):
            if not _line_bound(av[2]):
                return False
        elif op is getattr(_c, "ATOMIC_GROUP", object()):
            if not _line_bound(av):
                return False
        elif op is _c.GROUPREF:
            continue  # repeats a group checked on its own
        else:  # GROUPREF_EXISTS, CATEGORY outside a class, anything new: assume it may
            return False
    return True


def analyse(pattern: re.Pattern, parsed=None) -> tuple[frozenset | None, bool, tuple]:
    """(required literals or None, line-bound?, further required sets) from one parse of the
    pattern (`parsed`: the parse tree of `pattern.pattern` when the caller already has it).

    The further sets come from the pattern's top-level items: every match contains one
    literal of EACH set as well (你…不还…就 needs 你, 不还 and 就), which rules out most
    lines where only the indexed literal occurs."""
    try:
        if parsed is None:
            parsed = _parser.parse(pattern.pattern, pattern.flags)
        flags = parsed.state.flags | pattern.flags
        line_bound = not flags & _c.SRE_FLAG_DOTALL and _line_bound(parsed.data)
        if flags & _c.SRE_FLAG_IGNORECASE:
            return None, line_bound, ()
        exact, must = _seq(parsed.data)
        best = _better(must, exact)
        if not _useful(best):
            return None, line_bound, ()
        return frozenset(best), line_bound, _further(parsed.data, best)
    except Exception:  # any parser change or surprise: no prefilter, the pattern always runs
        return None, False, ()


def _further(items, best: set) -> tuple:
    """Must-sets of the top-level items that `best` does not already imply."""
    out = []
    for op, av in getattr(items, "data", items):
        e, m = _item(op, av)
        own = _better(m, e)
        if not _useful(own) or own == best:
            continue
        if all(any(c in lit for c in own) for lit in best):
            continue  # every indexed literal contains one of these: no extra test
        conj = frozenset(own)
        if conj not in out:
            out.append(conj)
    return tuple(out)


def required_literals(pattern: re.Pattern) -> frozenset | None:
    """Literals one of which every match of `pattern` contains, or None if unknown."""
    return analyse(pattern)[0]


class _Lookup(NamedTuple):
    """What PrefilterIndex derives from its patterns' literals, each literal numbered once."""

    automaton: object | None  # finds the literals of two or more characters (None: there are none)
    char_ids: dict  # one-character literal → its id
    chars: frozenset  # the one-character literals
    pids_of: list  # literal id → ids of the patterns that require it
    further: dict  # pattern id → its further required sets, as sets of literal ids
    further_pids: frozenset
    across_lines: tuple  # (literal, id) of the literals with a line break: never inside one line


class PrefilterIndex:
    """All prefilters of a rule set in one Aho–Corasick automaton.

    `locate(text)` tells, for each pattern id, where the pattern has to run: patterns whose
    matches stay inside one line run only on the lines that contain one of their literals
    (and one literal of each of their further sets); the others run on the whole text when
    it contains them (or always, without a prefilter). One automaton pass per line finds
    every literal of every pattern at once, in C (pyahocorasick), instead of one regex scan
    per pattern or a Python set test per literal.
    """

    def __init__(self) -> None:
        self._always: set = set()
        self._line_bound: set = set()
        self._page_level = False
        self._count = 0
        self._required: list = []  # (literals, pid) of every pattern with a prefilter
        self._further_sets: dict = {}  # pid → its further required literal sets
        self._built: _Lookup | None = None  # built on first use, and again after an add

    def __len__(self) -> int:
        return self._count

    def add(self, pid, pattern: re.Pattern, analysis: tuple | None = None) -> None:
        """Index one pattern; `analysis` is its `analyse()` result when already known."""
        self._count += 1
        lits, line_bound, further = analysis if analysis is not None else analyse(pattern)
        if lits is None:
            self._always.add(pid)
            return
        if line_bound:
            self._line_bound.add(pid)
        else:
            self._page_level = True
        self._required.append((lits, pid))
        if further:
            self._further_sets[pid] = further
        self._built = None

    def build(self) -> _Lookup:
        """The look-up structures, built now if need be (e.g. before forking workers)."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def _build(self) -> _Lookup:
        """Number every literal; one-character literals are looked up in a line's set of
        characters, longer ones found by the automaton (a common character such as 的 would
        otherwise make a third of all automaton hits)."""
        ids: dict[str, int] = {}

        def lit_id(lit: str) -> int:
            return ids.setdefault(lit, len(ids))

        owners: dict[int, set] = {}
        for lits, pid in self._required:
            for lit in lits:
                owners.setdefault(lit_id(lit), set()).add(pid)
        further = {pid: tuple(frozenset(map(lit_id, conj)) for conj in sets)
                   for pid, sets in self._further_sets.items()}
        char_ids = {lit: i for lit, i in ids.items() if len(lit) == 1}
        automaton = None
        if len(char_ids) < len(ids):
            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            for lit, i in ids.items():
                if len(lit) > 1:
                    automaton.add_word(lit, i)
            automaton.make_automaton()
        return _Lookup(
            automaton=automaton,
            char_ids=char_ids,
            chars=frozenset(char_ids),
            pids_of=[frozenset(owners.get(i, ())) for i in range(len(ids))],
            further=further,
            further_pids=frozenset(further),
            across_lines=tuple((lit, i) for lit, i in ids.items() if "\n" in lit),
        )

    def _found(self, present: set) -> set:
        """Ids of the indexed patterns whose literals are present (`present`: literal ids)."""
        built = self.build()
        out = set().union(*map(built.pids_of.__getitem__, present))
        for pid in out.intersection(built.further_pids):
            for conj in built.further[pid]:
                if present.isdisjoint(conj):
                    out.discard(pid)
                    break
        return out

    def literals_in(self, text: str) -> set:
        """Ids of the indexed literals that occur in `text`."""
        built = self.build()
        present = set(map(built.char_ids.__getitem__, built.chars.intersection(text)))
        if built.automaton is not None:
            present.update(map(_SECOND, built.automaton.iter(text)))
        return present

    def locate(self, text: str) -> tuple[dict, set]:
        """({line-bound pattern id: [(start, end) of each line to search]}, {ids to run on the whole text})."""
        lines: dict = {}
        whole = set(self._always)
        line_bound = self._line_bound
        found = self._found
        literals_in = self.literals_in
        page = self._page_level
        in_text: set = set()  # the literals of the whole text, for the patterns searched on all of it
        start = 0
        for line in text.split("\n"):
            end = start + len(line)
            if line:
                present = literals_in(line)
                if present:
                    if page:
                        in_text |= present
                    for pid in found(present).intersection(line_bound):
                        lines.setdefault(pid, []).append((start, end))
            start = end + 1
        if page:
            in_text.update(i for lit, i in self.build().across_lines if lit in text)
            whole |= found(in_text) - line_bound
        return lines, whole
