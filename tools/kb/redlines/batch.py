"""Checking many texts at once, spread over the machine's CPUs.

Checking is pure Python and CPU-bound, so one process uses one core. For a whole site the
texts are split into one batch per worker, balanced by size; workers are forked after the
rules, the learned model and OpenCC are loaded and every regex is compiled, so they start
with everything ready and cost a few milliseconds each. Small inputs are checked in-process: below MIN_PARALLEL_CHARS,
starting workers costs more than it saves. Results come back in input order and are the
same as checking each text in turn. Texts checked before with the same checker are not
checked again (kb.redlines.results).
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

from . import check_markdown, check_text, learned
from .engine import Finding, scanner_for
from .results import FindingsCache
from .rules import RuleSet

# About a tenth of the site's text: below this one process is as fast as two (measured on a 2-core VM).
MIN_PARALLEL_CHARS = 40_000


@dataclass(frozen=True)
class Source:
    path: str
    text: str
    markdown: bool = True


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _check(source: Source, rs: RuleSet) -> list[Finding]:
    check = check_markdown if source.markdown else check_text
    return check(source.text, source.path, rules=rs)


_WORKER_RULES: RuleSet | None = None  # set before forking; the forked workers inherit it


def _check_batch(batch: list[tuple[int, Source]]) -> list[tuple[int, list[Finding]]]:
    return [(i, _check(src, _WORKER_RULES)) for i, src in batch]


def _batches(sources: list[Source], n: int) -> list[list[tuple[int, Source]]]:
    """Longest first, each to the currently lightest batch: batches of near-equal size."""
    bins: list[list[tuple[int, Source]]] = [[] for _ in range(n)]
    load = [0] * n
    for i in sorted(range(len(sources)), key=lambda k: -len(sources[k].text)):
        k = load.index(min(load))
        bins[k].append((i, sources[i]))
        load[k] += len(sources[i].text)
    return [b for b in bins if b]


def workers_for(sources: list[Source], jobs: int | None) -> int:
    """How many processes to use: `jobs` when given (≥ 1), else one per CPU for large inputs."""
    if jobs is not None and jobs >= 1:
        wanted = jobs
    elif sum(len(s.text) for s in sources) < MIN_PARALLEL_CHARS:
        wanted = 1
    else:
        wanted = available_cpus()
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # workers must inherit the loaded rules; spawning would reload them
    return max(1, min(wanted, len(sources)))


def check_sources(sources: list[Source], rs: RuleSet, jobs: int | None = None,
                  cache: bool = True) -> list[list[Finding]]:
    """Findings per source, in input order. `jobs`: worker processes (None = automatic);
    `cache`: reuse and remember findings of unchanged texts (kb.redlines.results)."""
    store = FindingsCache(rs) if cache else None
    out: list[list[Finding] | None] = [None] * len(sources)
    todo = []
    for i, src in enumerate(sources):
        out[i] = store.get(src.text, src.markdown, src.path) if store is not None else None
        if out[i] is None:
            todo.append(i)
    for i, findings in zip(todo, _check_all([sources[i] for i in todo], rs, jobs)):
        out[i] = findings
        if store is not None:
            store.put(sources[i].text, sources[i].markdown, findings)
    if store is not None:
        store.save()
    return out


def _check_all(sources: list[Source], rs: RuleSet, jobs: int | None) -> list[list[Finding]]:
    n = workers_for(sources, jobs)
    if n == 1:
        return [_check(src, rs) for src in sources]
    global _WORKER_RULES
    # Build everything the workers need before forking, once, instead of once per worker.
    scanner_for(rs)
    learned.active_model(rs)
    rs.compile_all()
    rs.normalizer("繁體")  # loads OpenCC's converter
    _WORKER_RULES = rs
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            results = pool.map(_check_batch, _batches(sources, n), chunksize=1)
    finally:
        _WORKER_RULES = None
    out: list[list[Finding]] = [[] for _ in sources]
    for batch in results:
        for i, findings in batch:
            out[i] = findings
    return out
