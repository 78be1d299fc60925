"""The adversary as hypothesis rules: a `RuleBasedStateMachine` over the simulator and the oracle.

Each rule is one adversary move (deliver, drop, duplicate or corrupt a message, tick, crash, restart,
partition, heal, client submit); hypothesis explores schedules and, when the oracle objects, shrinks
the schedule to a minimal one. Each example's coverage (`impl.sim.coverage`) is its `target()`, so the
search climbs towards schedules reaching more of the dangerous interleavings. Every failing run writes
its schedule as a trace file, so the file left behind by the final (shrunk) failing example replays with
`paxiom sim --replay`.
"""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import strategies as st
from hypothesis import target
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from paxiom.impl.messages import CatchUpReply
from paxiom.impl.sim import trace
from paxiom.impl.sim.runner import Execution
from paxiom.impl.sim.simulator import ClusterSettings, Step
from paxiom.impl.sim.tactics import client_command


def cluster_machine(settings: ClusterSettings, trace_path: Path) -> type[RuleBasedStateMachine]:
    """A state machine class for one cluster configuration; failures land in `trace_path`."""
    n = settings.replicas
    replica = st.integers(0, n - 1)

    class Cluster(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.execution = Execution(settings, coverage=True)
            self.commands = 0

        def _feed(self, step: Step) -> None:
            if not self.execution.feed(step):
                result = self.execution.finish()
                trace.dump(result, trace_path)
                raise AssertionError(f"{result.objection}\nreplay with: paxiom sim --replay {trace_path}")

        def _message(self, pick: int) -> int | None:
            in_flight = list(self.execution.sim.network.in_flight)
            return in_flight[pick % len(in_flight)] if in_flight else None

        @rule(pick=st.integers(0, 1 << 16))
        def deliver(self, pick: int) -> None:
            mid = self._message(pick)
            if mid is not None:
                self._feed({"action": "deliver", "msg": mid})

        @rule(pick=st.integers(0, 1 << 16))
        def drop(self, pick: int) -> None:
            mid = self._message(pick)
            if mid is not None:
                self._feed({"action": "drop", "msg": mid})

        @rule(pick=st.integers(0, 1 << 16))
        def duplicate(self, pick: int) -> None:
            mid = self._message(pick)
            if mid is not None:
                self._feed({"action": "duplicate", "msg": mid})

        @rule(pick=st.integers(0, 1 << 16))
        def corrupt(self, pick: int) -> None:
            replies = [m for m, e in self.execution.sim.network.in_flight.items() if isinstance(e.msg, CatchUpReply)]
            if replies:
                self._feed({"action": "corrupt", "msg": replies[pick % len(replies)]})

        @rule(r=replica, times=st.integers(1, 2 * settings.election_timeout))
        def tick(self, r: int, times: int) -> None:
            for _ in range(times):
                self._feed({"action": "tick", "replica": r})

        @rule(r=replica)
        def crash(self, r: int) -> None:
            self._feed({"action": "crash", "replica": r})

        @rule(r=replica)
        def restart(self, r: int) -> None:
            self._feed({"action": "restart", "replica": r})

        @rule(side=st.sets(replica, min_size=1, max_size=max(1, n - 1)))
        def partition(self, side: set[int]) -> None:
            self._feed({"action": "partition", "side": sorted(side)})

        @rule(side=st.sets(replica, min_size=1, max_size=max(1, n - 1)))
        def oneway(self, side: set[int]) -> None:
            self._feed({"action": "oneway", "side": sorted(side)})

        @rule()
        def heal(self) -> None:
            self._feed({"action": "heal"})

        @rule(r=replica)
        def submit(self, r: int) -> None:
            self.commands += 1
            self._feed({"action": "submit", "replica": r, **client_command(self.commands, 3)})

        @invariant()
        def oracle_content(self) -> None:
            assert self.execution.result.objection is None

        def teardown(self) -> None:
            # steer the search towards schedules reaching more of the dangerous interleavings, the rare first
            coverage = self.execution.coverage
            assert coverage is not None
            target(sum(math.log1p(count) for count in coverage.counts.values()), label="dangerous interleavings")
            if self.execution.result.objection is None:
                self._feed({"action": "quiesce", "rounds": 400})

    return Cluster
