"""The fault campaign against real `paxiom node` processes on loopback: its teeth (each storage bug of
`paxiom.node.storage_mutants` fails its run; every bug a node can carry has a tooth or a reason why none
can bite; slow: each core bug's tooth bites), a short campaign covering every fault kind that holds, and
(slow) the long campaign. Every process runs in its own process group and is stopped by the run itself
(`CampaignCluster.stop` in a finally); every wait is bounded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import pytest

from paxiom.campaign.cluster import MUTANTS
from paxiom.campaign.faults import KINDS, kinds_of, load, plan
from paxiom.campaign.run import RunSpec, run_one
from paxiom.campaign.table import campaign, totals
from paxiom.campaign.teeth import NOT_EXPOSED, TEETH, bite, caught_by, unaccounted
from paxiom.node.storage_mutants import MUTANTS as STORAGE_MUTANTS

NODES = ["n1", "n2", "n3"]


@pytest.mark.parametrize("mutant", STORAGE_MUTANTS)
def test_each_storage_bug_fails_its_run(mutant: str, tmp_path: Path) -> None:
    found = bite(mutant, tmp_path)
    assert found.caught, f"{mutant} went unnoticed in {found.runs} run(s)"
    assert any(sign in a for a in found.anomalies for sign in TEETH[mutant].signs), found.anomalies


def test_every_bug_a_node_can_carry_has_a_tooth_or_a_reason() -> None:
    assert not unaccounted(), f"no tooth for {unaccounted()} (add one to paxiom.campaign.teeth, or say why none)"
    assert not set(TEETH) & set(NOT_EXPOSED) and set(TEETH) | set(NOT_EXPOSED) <= set(MUTANTS)
    for tooth in TEETH.values():
        nodes = [f"n{i}" for i in range(1, tooth.nodes + 1)]
        steps = tooth.schedule(nodes, tooth.duration) if tooth.schedule else plan(tooth.faults, nodes, Random(1), 12)
        assert steps and all(s["fault"] in KINDS and 0 < s["at"] < tooth.duration for s in steps)


def test_what_caught_a_bug_is_named() -> None:
    assert (
        caught_by("oracle objects at t/n2.jsonl:7: promise_monotonicity: after ...") == "oracle: promise_monotonicity"
    )
    assert caught_by("oracle objects at t/n3.jsonl:9: Phase2a(b=5, slot=4, v=[]): not enabled") == "oracle: Phase2a"
    assert caught_by("slot 70: n1 n3 applied (...); n2 applied (...)") == "two values applied in one slot"


def test_a_short_campaign_with_every_fault_kind_holds(tmp_path: Path) -> None:
    halves = (("kill", "power", "corrupt", "hostile"), ("partition", "delay", "reset", "pause", "reconfigure"))
    reports = [
        asyncio.run(
            run_one(RunSpec(seed=11 + i, duration=15, faults=kinds), tmp_path / f"seed-{11 + i}", tmp_path / "f")
        )
        for i, kinds in enumerate(halves)
    ]
    table = totals(reports)
    assert set(table["faults"]) == set(kinds_of("multipaxos")), table["faults"]  # every kind was injected somewhere
    failed = [(r.seed, r.anomalies, r.schedule, r.log_tails) for r in reports if not r.ok]
    assert not failed, failed
    assert table["lost_acknowledged_writes"] == 0 and table["node_crashes"] == 0
    assert table["strangers"] == table["strangers_refused"]
    assert table["hostile_frames_sent"] > 0 and table["hostile_connections_dropped"] == table["hostile_connections"]
    assert table["corruption_injected"] > 0 and table["corruption_repaired"] == table["corruption_detected"]
    seed, steps = load(tmp_path / "seed-11" / "schedule.json", NODES)  # the run's schedule replays
    assert seed == 11 and {s["fault"] for s in steps} <= set(KINDS) and all(s["params"] for s in steps)


def test_the_plan_deals_every_kind_and_stays_in_the_window() -> None:
    import random

    steps = plan(list(KINDS), NODES, random.Random(3), 40.0)
    assert {s["fault"] for s in steps} == set(KINDS)
    assert all(1.0 <= s["at"] <= 30.0 for s in steps)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m for m in TEETH if m not in STORAGE_MUTANTS])
def test_core_mutants_fail_their_run(mutant: str, tmp_path: Path) -> None:
    found = bite(mutant, tmp_path)
    assert found.caught, f"{mutant} went unnoticed in {found.runs} run(s)"


@pytest.mark.slow
def test_the_long_campaign_holds(tmp_path: Path) -> None:
    _, table = campaign(RunSpec(seed=1000, duration=15), 200, None)
    assert table["runs_failed"] == 0, table


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--faults", "kill,flood"], "unknown fault flood"),
        (["--mutant", "nope"], "unknown mutant 'nope'"),
        (["--replay", "missing.json"], "not a replayable schedule"),
        (["--variant", "fastpaxos", "--faults", "kill,reconfigure"], "fault reconfigure does not apply to fastpaxos"),
        (["--faults", "retire"], "fault retire does not apply to multipaxos"),
        (["--mutant", "cheap-aux-votes-commands"], "unknown mutant 'cheap-aux-votes-commands' for multipaxos"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paxiom.cli.main import main

    result = CliRunner().invoke(main, ["campaign", *args, "--json"])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_trace_check_takes_one_reference_state_machine(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paxiom.cli.main import main

    result = CliRunner().invoke(main, ["trace", "check", "--kv-reference", "--service-reference", str(tmp_path)])
    assert result.exit_code == 2 and "give one" in result.output and "Traceback" not in result.output
