"""Reconfiguration under faults: the simulator switches configurations, spec/reconfig.py judges every step."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl import tracecheck
from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Accept, Envelope
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.objection import Objection
from paxiom.impl.reconfig_oracle import ReconfigOracle
from paxiom.impl.sim import trace
from paxiom.impl.sim.hunt import hunt
from paxiom.impl.sim.reconfigure import reconfigurations
from paxiom.impl.sim.runner import Execution, Faults, replay, run, schedule
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.impl.values import Command
from paxiom.spec.reconfig import config_members


def test_switches_govern_under_faults_and_the_spare_joins() -> None:
    settings = ClusterSettings(replicas=5, seed=3, variant="reconfig", alpha=3)
    execution = Execution(settings)
    oracle = execution.oracle
    assert isinstance(oracle, ReconfigOracle)
    adversary = reconfigurations(settings, schedule(execution.sim, random.Random(3), Faults()))
    for _ in range(3000):
        assert execution.feed(next(adversary)), str(execution.result.objection)
    assert execution.feed({"action": "quiesce", "rounds": 400}), str(execution.result.objection)
    governed = set(oracle.conf.values())
    assert len(governed - {0}) >= 2, governed  # slots decided under at least two further configurations
    assert any(4 in config_members(oracle.spec.configs[c]) for c in governed)  # a5, the spare, became a member
    assert len({kv.snapshot() for kv in execution.sim.states}) == 1


def test_other_variants_draw_the_same_schedule() -> None:
    plain = run(ClusterSettings(replicas=3, seed=5), 400, Faults())
    assert not any(step["action"] == "reconfigure" for step in plain.steps)
    mixed = run(ClusterSettings(replicas=3, seed=5, variant="reconfig"), 3000, Faults())
    assert mixed.holds and any(step["action"] == "reconfigure" for step in mixed.steps)


def test_a_proposal_before_slot_minus_alpha_is_chosen_is_no_spec_step() -> None:
    execution = Execution(ClusterSettings(replicas=3, seed=0, variant="reconfig", alpha=2))
    forged = Envelope(0, 0, Accept(Ballot(0, 0), 5, (Command("mallory", 1, b"set x 1"),)))
    execution.oracle._begin()
    with pytest.raises(Objection, match=r"slot 5's configuration is not known yet.* slot 0 is not chosen"):
        execution.oracle._match(forged)


def test_each_reconfiguration_mutant_is_caught_by_the_spec_not_the_core() -> None:
    early = hunt(MUTANTS["config-applied-early"], runs=12, shrink_seconds=0).found
    mixed = hunt(MUTANTS["config-quorums-mixed"], runs=12, shrink_seconds=0).found
    assert early is not None and early.objection is not None and mixed is not None and mixed.objection is not None
    assert early.settings.variant == mixed.settings.variant == "reconfig"
    assert early.objection.check.startswith(("Phase2b", "Phase2a", "apply-only-chosen")), str(early.objection)
    assert mixed.objection.check.startswith("Phase2a") and "phase-1 quorum" in mixed.objection.reason


def test_a_reconfiguring_trace_replays_and_the_cli_runs_and_lists_it(tmp_path: Path) -> None:
    found = hunt(MUTANTS["config-quorums-mixed"], runs=4, shrink_seconds=0).found
    assert found is not None
    path = tmp_path / "t.json"
    trace.dump(found, path)
    settings, steps = trace.load(path)
    again = replay(settings, steps)
    assert again.objection is not None and str(again.objection) == str(found.objection)
    result = CliRunner().invoke(main, ["sim", "--variant", "reconfig", "--steps", "600", "--alpha", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["holds"] is True
    listing = CliRunner().invoke(main, ["sim", "--list-mutants", "--json"])
    names = {m["name"] for m in json.loads(listing.output)}
    assert {"config-applied-early", "config-quorums-mixed"} <= names
    refused = CliRunner().invoke(main, ["sim", "--variant", "multipaxos", "--alpha", "2"])
    assert refused.exit_code == 2 and "--alpha" in refused.output


def test_trace_check_judges_a_reconfiguring_run_by_spec_reconfig(tmp_path: Path) -> None:
    settings = ClusterSettings(replicas=4, seed=2, variant="reconfig", alpha=3)
    result = run(settings, 3000, Faults(), trace_dir=tmp_path)
    assert result.holds and any(step["action"] == "reconfigure" for step in result.steps)
    traces = tracecheck.read_dir(tmp_path)
    assert isinstance(tracecheck.oracle_for(traces, None), ReconfigOracle)
    verdict = tracecheck.check(tmp_path)
    assert verdict.holds and verdict.actions_matched > 0, verdict.objection
