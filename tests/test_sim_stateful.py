"""hypothesis drives the adversary; failures shrink to a minimal schedule written as a trace file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from paxiom.impl.mutants import Mutation
from paxiom.impl.sim import trace
from paxiom.impl.sim.runner import replay
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.impl.sim.stateful import cluster_machine

FAST = settings(
    max_examples=60, stateful_step_count=80, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("replicas", [3, 5])
def test_no_adversary_schedule_breaks_the_core(replicas: int, tmp_path: Path) -> None:
    machine = cluster_machine(ClusterSettings(replicas=replicas, seed=replicas), tmp_path / "trace.json")
    run_state_machine_as_test(machine, settings=FAST)
    assert not (tmp_path / "trace.json").exists()


def test_a_mutant_shrinks_to_a_replayable_schedule(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    cluster = ClusterSettings(replicas=3, seed=1, mutations=frozenset({Mutation.PROMISE_NOT_PERSISTED}))
    with pytest.raises(AssertionError, match="promise_monotonicity"):
        run_state_machine_as_test(
            cluster_machine(cluster, path), settings=settings(FAST, max_examples=300, stateful_step_count=30)
        )
    loaded, steps = trace.load(path)
    assert loaded == cluster
    again = replay(loaded, steps)
    assert again.objection is not None and again.objection.check == "promise_monotonicity"
    # minimal: no crash is needed, because the oracle compares each acceptor's disk (its synced writes)
    # with the spec: the first Promise leaves while the disk still holds no promise
    assert not any(step["action"] == "crash" for step in steps)
    assert len(steps) <= 2 * cluster.election_timeout + 1
    assert "disk holds promise -1" in str(again.objection)
