"""Hunting a mutant: seeded fault schedules until the oracle objects, then shrinking the schedule.

The default budget cycles through four profiles — 5 or 3 replicas, normal or doubled churn (crashes,
partitions, clock bursts) — with a new seed per run. Some bugs need five replicas to hurt (with three,
one duplicate vote plus the leader's own is a true majority); others need many leader changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from paxiom.impl.mutants import MutantInfo
from paxiom.impl.sim.runner import Faults, RunResult, run
from paxiom.impl.sim.shrink import shrink
from paxiom.impl.sim.simulator import ClusterSettings

DEFAULT_RUNS = 120
"""Runs (seeds 0, 1, 2, ...), cycling through the four profiles."""
DEFAULT_STEPS = 3000


@dataclass
class Hunt:
    mutant: MutantInfo
    found: RunResult | None
    """The first failing run (unshrunk), if any."""
    shrunk: RunResult | None
    runs: int
    steps: int
    """Simulated steps until the first objection, summed over every run."""
    seconds: float
    """Wall time until the first objection (shrinking excluded)."""
    shrink_seconds: float = 0.0


def hunt(
    mutant: MutantInfo,
    runs: int = DEFAULT_RUNS,
    steps: int = DEFAULT_STEPS,
    faults: Faults | None = None,
    replicas: int | None = None,
    shrink_seconds: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> Hunt:
    started = time.perf_counter()
    total = 0
    for run_index in range(runs):
        n, churn = replicas or (5, 3)[run_index % 2], (1.0, 2.0)[run_index // 2 % 2]
        settings = ClusterSettings(replicas=n, seed=run_index, mutations=frozenset({mutant.mutation}))
        result = run(settings, steps, faults or Faults(), churn=churn)
        total += len(result.steps)
        if progress is not None:
            progress(run_index)
        if result.objection is not None:
            found_after = time.perf_counter() - started
            t = time.perf_counter()
            small = shrink(settings, result, shrink_seconds) if shrink_seconds > 0 else result
            return Hunt(mutant, result, small, run_index + 1, total, found_after, time.perf_counter() - t)
    return Hunt(mutant, None, None, runs, total, time.perf_counter() - started)
