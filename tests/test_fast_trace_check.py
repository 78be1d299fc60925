"""`paxiom trace check` on Fast Paxos runs: the Start records carry the fast quorums, so the offline checker
judges a fast run by `spec/fastpaxos.py` as the simulator's oracle does, and objects to a fast mutant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paxiom.errors import PaxiomError
from paxiom.impl import tracecheck
from paxiom.impl.fast.oracle import FastRefinementOracle
from paxiom.impl.mutants import Mutation
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings


def test_a_fast_run_is_judged_offline_by_the_fast_oracle_with_the_simulators_actions(tmp_path: Path) -> None:
    settings = ClusterSettings(replicas=5, seed=1, variant="fastpaxos")
    result = run(settings, 1500, Faults(), trace_dir=tmp_path)
    assert result.objection is None
    traces = tracecheck.read_dir(tmp_path)
    assert isinstance(tracecheck.oracle_for(traces, None), FastRefinementOracle)
    fast, expected = tracecheck.quorums_of(traces).fast, settings.quorums().fast
    assert fast is not None and expected is not None and fast.minimal_quorums == expected.minimal_quorums
    verdict = tracecheck.check(tmp_path)
    assert verdict.holds and verdict.actions_matched == result.actions_matched > 0
    assert verdict.spec == "fastpaxos"


@pytest.mark.parametrize("mutant", ["fast-quorum-too-small", "fast-recovery-any-value"])
def test_a_fast_mutants_trace_gets_the_simulators_objection(tmp_path: Path, mutant: str) -> None:
    settings = ClusterSettings(replicas=5, seed=1, variant="fastpaxos", mutations=frozenset({Mutation(mutant)}))
    result = run(settings, 3000, Faults(), trace_dir=tmp_path)
    assert result.objection is not None
    verdict = tracecheck.check(tmp_path)
    assert not verdict.holds and verdict.objection is not None
    assert verdict.objection.check == result.objection.check


def test_nodes_naming_different_fast_quorums_are_refused_at_file_and_line(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=5, seed=1, variant="fastpaxos"), 100, Faults(), trace_dir=tmp_path)
    path = tmp_path / "a2.jsonl"
    lines = path.read_text().splitlines()
    start = json.loads(lines[0])
    assert start["type"] == "Start" and start["fast"]
    start["fast"] = start["fast"][1:]
    lines[0] = json.dumps(start)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PaxiomError, match=r"a2\.jsonl:1.*field record\.fast"):
        tracecheck.check(tmp_path)
