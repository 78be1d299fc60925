"""Shrinking a failing schedule to a short one that still fails the same check.

Delta debugging over steps (Zeller's ddmin, complement form): cut the schedule after the objection, then
try deleting ever smaller chunks, keeping a deletion whenever the replay still objects with the same
check. Steps that stop making sense after a deletion are skipped by the simulator, so any sub-schedule
is replayable. Time-bounded: the result is always a failing schedule, minimal as far as time allowed.
"""

from __future__ import annotations

import time

from paxiom.impl.sim.runner import RunResult, replay
from paxiom.impl.sim.simulator import ClusterSettings, Step


def check_kind(result: RunResult) -> str | None:
    """What failed, without its arguments: `Phase2a`, `agreement`, `liveness`, ..."""
    return result.objection.check.split("(")[0] if result.objection else None


def shrink(settings: ClusterSettings, failing: RunResult, seconds: float = 10.0) -> RunResult:
    kind = check_kind(failing)
    if kind is None:
        return failing
    deadline = time.perf_counter() + seconds
    best = failing
    steps = _cut(best)
    chunks = 2
    while len(steps) > 1 and time.perf_counter() < deadline:
        size = max(1, len(steps) // chunks)
        reduced = False
        start = 0
        while start < len(steps) and time.perf_counter() < deadline:
            candidate = steps[:start] + steps[start + size :]
            if candidate and candidate[-1:] != steps[-1:] and steps[-1]["action"] == "quiesce":
                candidate.append(steps[-1])
            outcome = replay(settings, candidate)
            if check_kind(outcome) == kind:
                best, steps, reduced = outcome, _cut(outcome), True
            else:
                start += size
        if not reduced:
            if size == 1:
                break
            chunks = min(len(steps), chunks * 2)
    return best


def _cut(result: RunResult) -> list[Step]:
    """The schedule up to and including the step the oracle objected in."""
    assert result.objection is not None
    return list(result.steps[: result.objection.step + 1])
