"""Making a rules file cheap to load: regexes compiled on first use, and an on-disk memo.

Loading the rules file used to cost about a second before the first page was checked:
every one of ~1 000 regexes was parsed and compiled (to validate it), then parsed again to
derive its prefilter literals. Most of them never run on a given set of pages, because the
prefilter rules them out. So:

* `LazyPattern` wraps a regex source and compiles it the first time it is used.
* `RulesMemo` remembers, per rules-file content, that the file passed validation, its parsed
  YAML, the prefilter analysis of every pattern and each regex's compiled form (a "recipe":
  the arguments CPython's own `re._compiler.compile` hands to `_sre.compile`). A later load
  of the same bytes (by the same checker code and Python) skips validation and analysis, and
  a regex used later is built from its recipe without parsing it again (about 20× cheaper).
  Recipes depend on the exact Python build, which is part of the memo's key; if building
  from a recipe fails for any reason, the regex is compiled the ordinary way.

An invalid rules file is never memoised, so its errors are reported on every load. Where the
memo lives and how it is written: kb.diskcache.
"""

from __future__ import annotations

import re
from array import array
from pathlib import Path

from kb import diskcache

try:  # CPython internals, only used to record and replay compiled regexes (see module docstring)
    import _sre
    from re import _compiler as _re_compiler
    from re import _parser as _re_parser
except ImportError:  # pragma: no cover — another Python: plain re.compile
    _sre = _re_compiler = _re_parser = None

# Modules whose code decides what a rules file compiles to and how its prefilters are derived.
_CODE_MODULES = ("rules.py", "prefilter.py", "compiled.py", "normalize.py")
_BOUND = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


def compile_recorded(source: str) -> tuple[re.Pattern, tuple | None, object]:
    """(compiled pattern, recipe or None, parse tree or None); raises re.error like re.compile.

    Exactly what `re.compile(source)` does, keeping the parse tree (the prefilter analyses it)
    and the arguments to `_sre.compile` (the recipe) on the way."""
    if _sre is None:
        return re.compile(source), None, None
    try:
        parsed = _re_parser.parse(source, 0)
        code = _re_compiler._code(parsed, 0)
        state = parsed.state
        indexgroup = [None] * state.groups
        for name, index in state.groupdict.items():
            indexgroup[index] = name
        compiled = _sre.compile(source, state.flags, code, state.groups - 1, state.groupdict, tuple(indexgroup))
        # The code as a flat array of plain ints (opcodes are int subclasses that refuse pickling).
        recipe = (state.flags, array("I", code), state.groups - 1, dict(state.groupdict), tuple(indexgroup))
        return compiled, recipe, parsed
    except re.error:
        raise
    except Exception:  # internals changed: the ordinary way
        return re.compile(source), None, None


def from_recipe(source: str, recipe: tuple | None) -> re.Pattern:
    if recipe is not None and _sre is not None:
        try:
            flags, code, groups, groupindex, indexgroup = recipe
            return _sre.compile(source, flags, code.tolist(), groups, groupindex, indexgroup)
        except Exception:  # a recipe this Python does not accept: compile instead
            pass
    return re.compile(source)


class LazyPattern:
    """A regex that is compiled on first use; afterwards its methods are the compiled ones."""

    def __init__(self, source: str, compiled: re.Pattern | None = None, recipe: tuple | None = None):
        self.pattern = source
        self._recipe = recipe
        if compiled is not None:
            self._bind(compiled)

    def _bind(self, compiled: re.Pattern) -> re.Pattern:
        self.compiled = compiled
        for name in _BOUND:  # bound methods as attributes: no indirection on the hot path
            setattr(self, name, getattr(compiled, name))
        return compiled

    def __getattr__(self, name: str):
        # Only called for attributes not set on the instance: the first use compiles; later
        # ones (flags, groupindex …) are read from the compiled pattern, never compiling again.
        if name.startswith("__") or name in ("compiled", "_recipe", "pattern"):
            raise AttributeError(name)
        compiled = self.__dict__.get("compiled")
        if compiled is None:
            compiled = self._bind(from_recipe(self.pattern, self._recipe))
        return getattr(compiled, name)

    @property
    def is_compiled(self) -> bool:
        return "compiled" in self.__dict__

    def __reduce__(self):
        return (LazyPattern, (self.pattern,))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern[:60]!r}{'…' if len(self.pattern) > 60 else ''})"


class RulesMemo:
    """What loading one rules file's bytes derived:
    {'raw': parsed YAML, 'prefilters': {source: analysis}, 'recipes': {source: recipe}}."""

    KIND = "rules"

    def __init__(self, rules_bytes: bytes):
        self.key = diskcache.derived_key(Path(__file__).resolve().parent, _CODE_MODULES, rules_bytes)

    def load(self) -> dict | None:
        data = diskcache.load(self.KIND, self.key)
        return data if isinstance(data, dict) else None

    def store(self, raw: dict, prefilters: dict, recipes: dict) -> None:
        diskcache.store(self.KIND, self.key, {"raw": raw, "prefilters": prefilters, "recipes": recipes})
