"""Seeded soaks without mutants: every fault, the oracle watching every step, liveness after faults stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from paxiom.impl.sim import trace
from paxiom.impl.sim.runner import Faults, replay, run
from paxiom.impl.sim.simulator import ClusterSettings


@pytest.mark.parametrize(("replicas", "seed"), [(3, 1), (3, 2), (5, 3), (5, 4), (4, 5), (2, 6)])
def test_soak_with_every_fault_finds_nothing_and_settles(replicas: int, seed: int) -> None:
    result = run(ClusterSettings(replicas=replicas, seed=seed), 2500, Faults())
    assert result.objection is None, str(result.objection)
    assert result.liveness_rounds is not None
    kinds = {step["action"] for step in result.steps}
    assert {"crash", "restart", "drop", "duplicate", "partition", "deliver"} <= kinds
    assert result.actions_matched > 100


@pytest.mark.parametrize(("q1", "q2", "seed", "steps"), [(4, 2, 7, 2000), (2, 4, 204, 4000)])
def test_flexible_quorums_soak(q1: int, q2: int, seed: int, steps: int) -> None:
    # (2, 4, 204): a leader behind the followers' snapshots must be handed the snapshot when it proposes
    # in a compacted slot, or it never completes a phase-2 quorum of four
    result = run(ClusterSettings(replicas=5, seed=seed, phase1=q1, phase2=q2), steps, Faults())
    assert result.objection is None, str(result.objection)


def test_runs_replay_exactly(tmp_path: Path) -> None:
    settings = ClusterSettings(replicas=3, seed=11)
    first = run(settings, 800, Faults())
    path = tmp_path / "t.json"
    trace.dump(first, path)
    loaded_settings, steps = trace.load(path)
    again = replay(loaded_settings, steps)
    assert again.steps == first.steps and again.transitions == first.transitions
    assert again.actions_matched == first.actions_matched


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 110))
@pytest.mark.parametrize("replicas", [3, 5])
def test_long_soak(replicas: int, seed: int) -> None:
    result = run(ClusterSettings(replicas=replicas, seed=seed), 20000, Faults())
    assert result.objection is None, str(result.objection)


def test_corrupted_catch_ups_are_refused_not_applied() -> None:
    result = run(ClusterSettings(replicas=3, seed=3), 10000, Faults())
    assert any(step["action"] == "corrupt" for step in result.steps)
    assert result.refused > 0  # the checksum chain caught them ...
    assert result.objection is None  # ... and the oracle saw no corrupted entry applied
