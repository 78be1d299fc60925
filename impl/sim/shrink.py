"""Shrinking a failing schedule to a short one that still fails the same check.

Three passes, each keeping a change only if the replay still objects with the same check:

1. the shortest prefix that still fails once the fault-free epilogue that failed (`quiet` or `quiesce`)
   runs after it (binary search — the epilogue drives the cluster deterministically, so most of a long
   tail is redundant);
2. deleting every step of one kind at once (all drops, all duplicates, all partitions, ...);
3. delta debugging (Zeller's ddmin, complement form) over what is left.

Steps that stop making sense after a deletion are skipped by the simulator, so any sub-schedule is
replayable. Bounded in time (and, for a result that must not depend on the machine's speed, in replays):
the result always fails, and is minimal as far as the budget allowed.
"""

from __future__ import annotations

import time

from paxiom.impl.sim.runner import EPILOGUES, LIVENESS_ROUNDS, Execution, RunResult, replay
from paxiom.impl.sim.simulator import ClusterSettings, Step


def check_kind(result: RunResult) -> str | None:
    """What failed, without its arguments: `Phase2a`, `agreement`, `liveness`, ..."""
    return result.objection.check.split("(")[0] if result.objection else None


class _Shrinker:
    def __init__(self, settings: ClusterSettings, failing: RunResult, seconds: float, replays: int | None) -> None:
        self.settings = settings
        self.replays_left = replays
        self.kind = check_kind(failing)
        self.deadline = time.perf_counter() + seconds
        self.best = failing
        self.steps = _cut(failing)
        last = self.steps[-1] if self.steps else None
        if last is not None and last["action"] in EPILOGUES:
            self.epilogue: Step = dict(last)
        else:
            self.epilogue = {"action": "quiesce", "rounds": 4 * LIVENESS_ROUNDS}
        self.invariants = self.kind in invariant_names(settings)
        """Replay with the spec's invariants only when the failure is one of them: twice as fast."""

    def time_left(self) -> bool:
        return self.replays_left != 0 and time.perf_counter() < self.deadline

    def attempt(self, candidate: list[Step]) -> bool:
        """Adopt `candidate` if it still fails the same way (cut at its objection)."""
        if self.replays_left is not None:
            self.replays_left -= 1
        outcome = replay(self.settings, candidate, self.invariants)
        if check_kind(outcome) != self.kind or len(_cut(outcome)) >= len(self.steps):
            return False
        self.best, self.steps = outcome, _cut(outcome)
        return True

    def confirm(self) -> RunResult:
        """The final schedule replayed with every check on (it may now fail an invariant even earlier)."""
        if self.invariants:
            return self.best
        outcome = replay(self.settings, self.steps)
        return outcome if outcome.objection is not None else self.best

    def body(self) -> list[Step]:
        return [s for s in self.steps if s["action"] not in EPILOGUES]

    def prefix_pass(self) -> None:
        body = self.body()
        low, high = 0, len(body)
        while low < high and self.time_left():
            mid = (low + high) // 2
            if self.attempt([*body[:mid], self.epilogue]):
                high = min(mid, len(self.body()))
                body = self.body()
            else:
                low = mid + 1

    def kind_pass(self) -> None:
        for kind in ("drop", "duplicate", "corrupt", "partition", "heal", "crash", "restart", "submit", "tick"):
            if not self.time_left():
                return
            if any(s["action"] == kind for s in self.steps):
                self.attempt([s for s in self.steps if s["action"] != kind])

    def ddmin_pass(self) -> None:
        chunks = 2
        while len(self.steps) > 1 and self.time_left():
            size = max(1, len(self.steps) // chunks)
            reduced = False
            start = 0
            while start < len(self.steps) and self.time_left():
                candidate = self.steps[:start] + self.steps[start + size :]
                if self.steps[-1]["action"] in EPILOGUES and candidate[-1:] != self.steps[-1:]:
                    candidate.append(self.steps[-1])
                if self.attempt(candidate):
                    reduced = True
                else:
                    start += size
            if not reduced:
                if size == 1:
                    return
                chunks = min(len(self.steps), chunks * 2)


def shrink(
    settings: ClusterSettings, failing: RunResult, seconds: float = 10.0, replays: int | None = None
) -> RunResult:
    """`failing` cut short, within `seconds` and at most `replays` replays (None: no such bound)."""
    if check_kind(failing) is None:
        return failing
    shrinker = _Shrinker(settings, failing, seconds, replays)
    shrinker.prefix_pass()
    shrinker.kind_pass()
    shrinker.ddmin_pass()
    return shrinker.confirm()


def invariant_names(settings: ClusterSettings) -> set[str]:
    return Execution(settings).oracle.invariant_names()


def _cut(result: RunResult) -> list[Step]:
    """The schedule up to and including the step the oracle objected in."""
    assert result.objection is not None
    return list(result.steps[: result.objection.step + 1])
