"""Matching work split over forked worker processes (``Pipeline.workers``), merged in a fixed order.

Workers are forked, so they read the parent's record table, caches and pair arrays copy-on-write and
nothing large is pickled to them; each task is a small argument (a range of pairs) and its result
comes back whole. Results are returned in task order, never in the order workers finish, so what the
caller merges does not depend on the number of workers or on timing.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

#: what forked workers read: set just before the pool forks, cleared after
_SHARED: dict[str, Any] = {}


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def shared() -> dict[str, Any]:
    """The state the parent set for this pool (inside a worker)."""
    return _SHARED


class Pending:
    """Results of tasks running in forked workers. :meth:`result` waits for them, then stops and
    reaps the workers (so their CPU time is counted as this process's children's)."""

    def __init__(self, pool, running, combine: Callable[[list], Any] = list) -> None:
        self._pool, self._running, self._combine = pool, running, combine

    def result(self) -> Any:
        try:
            return self._combine(self._running.get())
        finally:
            self._pool.terminate()
            self._pool.join()


class Ready:
    """A result computed in this process, with :class:`Pending`'s interface."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


def start_forked(task: Callable[[Any], Any], arguments: Sequence[Any], workers: int, state: dict[str, Any],
                 combine: Callable[[list], Any] = list) -> Pending:
    """Start ``[task(a) for a in arguments]`` in ``workers`` forked processes that see ``state``
    through :func:`shared`; ``combine`` is applied to the list by :meth:`Pending.result`. ``task``
    must be a module-level function (it is sent by name). Call ``result()`` before forking again:
    a fork while this pool's threads run could copy a lock one of them holds."""
    _SHARED.update(state)
    try:
        pool = multiprocessing.get_context("fork").Pool(min(workers, len(arguments)))
    finally:
        _SHARED.clear()  # the workers were forked with their copy
    return Pending(pool, pool.map_async(task, arguments, chunksize=1), combine)


def ranges(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive ``(start, stop)`` ranges covering ``range(total)``, sizes differing by at most 1.

    >>> ranges(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    parts = max(1, min(parts, total))
    size, extra = divmod(total, parts)
    found, start = [], 0
    for part in range(parts):
        stop = start + size + (part < extra)
        found.append((start, stop))
        start = stop
    return found
