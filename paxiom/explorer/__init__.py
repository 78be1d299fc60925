"""A breadth-first explicit-state model checker for any `SpecModel`.

Breadth-first order means the first violation found is at the smallest depth, so the trace printed is a
shortest one. Every invariant is checked in every distinct state and every step invariant on every
non-stuttering transition (as in TLA+, `[][P]_vars` says nothing about steps that change nothing).

The search (`search.py`) runs on one core or, with `workers`, on several processes that each own a shard
of the visited set (`parallel.py`), with the same counts and traces; invariants are judged once per
distinct view of what they read (`reads.py`). Options trade exactness of the count for reach: `symmetry`
explores one state per orbit under renaming of acceptors and values (`symmetry.py`), `fingerprint` stores
8 bytes per state instead of the state (`fingerprint.py`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Collection
from typing import TypeVar

from paxiom.explorer import parallel
from paxiom.explorer.core import Progress, Result, Step, Violation, describe_change, replay
from paxiom.explorer.fingerprint import collision_probability
from paxiom.explorer.reads import Invariants, Steps
from paxiom.explorer.search import Expander, Keys, Outcome, Search
from paxiom.fanout import default_workers
from paxiom.spec.model import SpecModel

__all__ = ["Progress", "Result", "Step", "Violation", "default_workers", "describe_change", "explore", "replay"]

S = TypeVar("S")


def explore(
    model: SpecModel[S],
    *,
    only: Collection[str] | None = None,
    max_states: int | None = None,
    max_memory: int | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    symmetry: bool = False,
    fingerprint: bool = False,
) -> Result[S]:
    """Visit every reachable state (up to `max_states`), stopping at the first violation.

    `only` restricts checking to the named invariants (state or step); None checks them all. `max_memory`
    bounds the growth of resident memory (bytes, summed over the workers) while exploring: past it the run
    stops, incomplete, rather than die of a MemoryError hours in. `workers` > 1 runs the search on that
    many processes. With
    `symmetry` the counts are of orbits; with `fingerprint` of distinct fingerprints. Raises ValueError
    when `symmetry` is asked of a variant that has none.
    """
    invariants = [(n, f) for n, f in model.invariants.items() if only is None or n in only]
    steps = [(n, f) for n, f in model.step_invariants.items() if only is None or n in only]
    checked = [n for n, _ in invariants] + [f"{n} (step)" for n, _ in steps]
    started = time.perf_counter()
    keys = Keys(model, symmetry=symmetry, fingerprint=fingerprint)
    search = Search(Expander(model, keys, Invariants(invariants), Steps(steps)), max_states)

    def tick(distinct: int, generated: int, depth: int, grown: int | None) -> str | None:
        if progress is not None:
            progress(distinct, generated, depth)
        return "max_memory" if max_memory is not None and grown is not None and grown > max_memory else None

    if (bad := search.start()) is not None:
        name, _, key = bad
        trace = search.trace(key)
        reason = dict(model.invariants)[name](trace[-1].state) or bad[1]
        outcome = Outcome(len(search.visited), search.generated, 0, Violation(name, "state", reason, trace))
    else:
        outcome = parallel.run(search, workers, tick) if workers > 1 else search.run(tick)
    gc.unfreeze()
    violation = outcome.violation
    return Result(
        model.variant,
        outcome.distinct,
        outcome.generated,
        len(violation.trace) - 1 if violation else outcome.depth,
        time.perf_counter() - started,
        outcome.stopped is None and violation is None,
        violation,
        checked,
        outcome.stopped,
        workers,
        len(keys.symmetry) if keys.symmetry else None,
        collision_probability(outcome.distinct) if fingerprint else None,
    )
