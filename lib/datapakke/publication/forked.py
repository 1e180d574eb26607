"""Independent LP jobs side by side: a process per core, forked so the model is shared, not pickled.

The suppression protects each count measure on its own once the cells' own decision is made, and
the audit runs its LP passes on its own; both hand their jobs here.  Without ``fork`` (or with
one core) the jobs run one after the other in this process: the results are the same.
"""
from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable

#: The shared state of the running ``fork_map`` (read by the forked workers).
_STATE: Any = None


def _call(args: tuple[Callable, Any]):
    fn, job = args
    return fn(_STATE, job)


def fork_map(fn: Callable[[Any, Any], Any], jobs: list, state: Any, workers: int | None = None) -> list:
    """``[fn(state, job) for job in jobs]``, in forked processes when there is more than one core.

    ``fn`` must be a module-level function (the workers receive it by name).
    """
    global _STATE
    workers = workers or os.cpu_count() or 1
    _STATE = state
    try:
        if workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
                return pool.map(_call, [(fn, j) for j in jobs], chunksize=1)
        return [fn(state, j) for j in jobs]
    finally:
        _STATE = None
