"""Expanding a level's chunks on every core: forked workers, merged in order.

Each level forks a pool of workers that inherit the frontier, the visited set and the verdicts learnt so
far by copy-on-write (nothing is sent to them but chunk bounds); each expands its chunks against the
visited set as of the level's start and sends back only the states it found new and the verdicts it
learnt. The parent merges chunks in frontier order (`Search.merge`), so the run picks the parents, the
counts and the first violation serial BFS picks. A state reached from two chunks is checked in both, a
small price against a visited set shared between processes.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from paxiom.explorer.search import CHUNK, Chunk, Expander, Search

SERIAL_BELOW = 512
"""Levels smaller than this are expanded in the parent: forking would cost more than it saves."""

_level: tuple[Expander, list[Any], dict[Any, Any]] | None = None
"""The level being expanded, set in the parent just before the workers fork."""


def _expand(bounds: tuple[int, int]) -> Chunk:
    assert _level is not None, "a worker runs only in a pool forked by chunks()"
    expander, frontier, visited = _level
    expander.invariants.learnt = {}
    chunk = expander.expand(frontier, *bounds, visited)
    chunk.learnt, expander.invariants.learnt = expander.invariants.learnt, None
    return chunk


def bounds(n: int, workers: int) -> list[tuple[int, int]]:
    """Chunks of a level of n states: several per worker, so workers stay busy while the parent merges."""
    size = max(1, min(CHUNK, math.ceil(n / (4 * workers))))
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def chunks(search: Search, workers: int) -> Iterator[Chunk]:
    """The chunks of the current level, expanded (in parallel when it pays), in frontier order."""
    n = len(search.frontier)
    if workers <= 1 or n < SERIAL_BELOW:
        for start, stop in bounds(n, 1):
            yield search.expander.expand(search.frontier, start, stop, search.visited)
        return
    global _level
    _level = (search.expander, search.frontier, search.visited)
    try:
        # An executor rather than multiprocessing.Pool: Pool.terminate on leaving its `with` was seen to
        # deadlock (its task handler waiting on the input queue's lock for workers already gone). The
        # executor's map cancels what is not started when the consumer stops early, and its exit waits.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield from pool.map(_expand, bounds(n, workers))
    finally:
        _level = None
