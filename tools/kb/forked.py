"""One task in a forked process: work a build does on the second core while it renders.

The child starts as a copy of this process (rules, model, the parsed site already in memory),
so a large input is best left in a module global set just before `submit_forked` and cleared
after it: the fork happens inside the call. Arguments and the result are pickled.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def submit_forked(function, *args, niceness: int = 0) -> Future | None:
    """Run `function(*args)` in a forked child at `niceness` (0: this process's priority).
    None where fork is unavailable: the caller does the work itself."""
    if not fork_available():
        return None
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        return executor.submit(_at_niceness, niceness, function, *args)  # forks now
    finally:
        executor.shutdown(wait=False)  # the child exits after this one task


def _at_niceness(niceness: int, function, *args):
    if niceness:
        try:
            os.nice(niceness)
        except (AttributeError, OSError):  # not on this system, or not allowed: run as is
            pass
    return function(*args)
