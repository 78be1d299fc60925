"""Hunting: seeded fault schedules until the oracle objects, then shrinking the schedule.

A hunt for a mutant cycles through four profiles — 5 or 3 replicas, normal or doubled churn (crashes,
partitions, clock bursts) — with a new seed per run. Some bugs need five replicas to hurt (with three,
one duplicate vote plus the leader's own is a true majority); others need many leader changes. A hunt
without a mutant (a soak) runs the production code over consecutive seeds the same way.

Its runs also take turns at how their schedule is drawn (`ROTATION`): biased (tactics aimed at the
interleavings reached least, and the finale), uniform, then swarm + biased. Tactics reach the rare
interleavings uniform schedules almost never do; uniform runs keep what tactics undo (a storm left
raging when the faults stop); swarm runs vary the weather. A hunt given one `Schedule` runs only that.

Runs are fanned out by `paxiom.fanout` (local cores, or a Dask cluster): each worker runs one seed and
sends back its step count and, if the oracle objected, the failing schedule; results are taken in seed
order, so the first failure, the runs and the steps counted until it are those of one worker. The
failing schedule is replayed here (the replay file's own check) and shrunk here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from paxiom.fanout import IN_PROCESS, Pool, ordered
from paxiom.impl.mutants import MutantInfo
from paxiom.impl.sim.runner import Faults, RunResult, replay, run
from paxiom.impl.sim.shrink import shrink
from paxiom.impl.sim.simulator import ClusterSettings, Step

DEFAULT_RUNS = 120
"""Runs (seeds 0, 1, 2, ...), cycling through the four profiles."""
DEFAULT_STEPS = 3000


@dataclass(frozen=True)
class Schedule:
    """How a run's schedule is drawn (`runner.run`'s `swarm` and `bias`)."""

    swarm: bool = False
    bias: bool = False

    @property
    def name(self) -> str:
        return "+".join(kind for kind, on in (("swarm", self.swarm), ("bias", self.bias)) if on) or "uniform"


UNIFORM = Schedule()
ROTATION = (Schedule(bias=True), UNIFORM, Schedule(swarm=True, bias=True))
"""The default hunt's schedules, run i drawing the (i mod 3)-th: biased first, as most hard bugs fall to
tactics in the first run (docs/simulation.md measures each against uniform)."""


def schedules_of(swarm: bool = False, bias: bool = False, uniform: bool = False) -> tuple[Schedule, ...]:
    """What a hunt asked for swarm, biased or uniform runs only (`paxiom sim --swarm/--bias/--uniform`)
    runs: that schedule; asked for none, `ROTATION`."""
    if swarm or bias:
        return (Schedule(swarm, bias),)
    return (UNIFORM,) if uniform else ROTATION


@dataclass
class Hunt:
    mutant: MutantInfo | None
    """None for a soak of the production code."""
    found: RunResult | None
    """The first failing run (unshrunk), if any."""
    shrunk: RunResult | None
    runs: int
    steps: int
    """Simulated steps until the first objection, summed over every run."""
    seconds: float
    """Wall time until the first objection (shrinking excluded)."""
    shrink_seconds: float = 0.0
    schedule: Schedule | None = None
    """How the failing run's schedule was drawn."""


@dataclass(frozen=True)
class Attempt:
    """One seeded run, as sent to a worker."""

    settings: ClusterSettings
    steps: int
    faults: Faults
    churn: float
    schedule: Schedule = UNIFORM


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the run's length and, when the oracle objected, its schedule."""

    steps: int
    failing: list[Step] | None


def attempt(job: Attempt) -> Outcome:
    result = run(job.settings, job.steps, job.faults, churn=job.churn, swarm=job.schedule.swarm, bias=job.schedule.bias)
    return Outcome(len(result.steps), None if result.objection is None else result.steps)


def attempts(
    mutant: MutantInfo | None,
    runs: int,
    steps: int,
    faults: Faults | None,
    replicas: int | None,
    first_seed: int = 0,
    schedules: tuple[Schedule, ...] = ROTATION,
) -> list[Attempt]:
    """The hunt's runs in order: seed first_seed + i with the i-th profile and the i-th of `schedules`
    (cycling)."""
    mutations = frozenset() if mutant is None else frozenset({mutant.mutation})
    lazy = mutant is not None and mutant.lazy_sync
    plan = []
    for i in range(runs):
        n, churn = replicas or (5, 3)[i % 2], (1.0, 2.0)[i // 2 % 2]
        settings = ClusterSettings(replicas=n, seed=first_seed + i, mutations=mutations, lazy_sync=lazy)
        plan.append(Attempt(settings, steps, faults or Faults(), churn, schedules[i % len(schedules)]))
    return plan


def hunt(
    mutant: MutantInfo | None,
    runs: int = DEFAULT_RUNS,
    steps: int = DEFAULT_STEPS,
    faults: Faults | None = None,
    replicas: int | None = None,
    shrink_seconds: float = 10.0,
    progress: Callable[[int], None] | None = None,
    *,
    first_seed: int = 0,
    pool: Pool = IN_PROCESS,
    schedules: tuple[Schedule, ...] = ROTATION,
) -> Hunt:
    """Run the attempts in `pool` until the first (in seed order) the oracle objects to, and shrink it
    (its recorded steps replay without the schedule that drew them)."""
    started = time.perf_counter()
    total = 0
    plan = attempts(mutant, runs, steps, faults, replicas, first_seed, schedules)
    first: tuple[int, list[Step]] | None = None
    results = ordered(attempt, plan, pool)
    try:
        for index, outcome in enumerate(results):
            total += outcome.steps
            if progress is not None:
                progress(index)
            if outcome.failing is not None:
                first = index, outcome.failing
                break
    finally:
        results.close()  # stops the workers still running seeds past the first failure
    if first is None:
        return Hunt(mutant, None, None, runs, total, time.perf_counter() - started)
    index, failing = first
    found_after = time.perf_counter() - started
    found = replay(plan[index].settings, failing)
    assert found.objection is not None, "a failing schedule replays to its objection"
    t = time.perf_counter()
    small = shrink(plan[index].settings, found, shrink_seconds) if shrink_seconds > 0 else found
    return Hunt(mutant, found, small, index + 1, total, found_after, time.perf_counter() - t, plan[index].schedule)
