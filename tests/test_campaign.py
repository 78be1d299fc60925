"""The fault campaign against real `paxiom node` processes on loopback: its teeth (each storage bug of
`paxiom.node.storage_mutants` fails its run), a short campaign covering every fault kind that holds, and
(slow) the long campaign. Every process runs in its own process group and is stopped by the run itself
(`CampaignCluster.stop` in a finally); every wait is bounded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paxiom.campaign.faults import KINDS, load, plan
from paxiom.campaign.run import RunSpec, run_one
from paxiom.campaign.table import campaign, totals
from paxiom.campaign.teeth import schedule
from paxiom.node.storage_mutants import MUTANTS

NODES = ["n1", "n2", "n3"]

CAUGHT_BY = {
    "ack-before-sync": ("without its synced vote", "lost", "not linearizable"),
    "no-crc": ("started on a log with a damaged synced record",),
    "truncate-mid-log": ("started on a log with a damaged synced record",),
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_storage_bug_fails_its_run(mutant: str, tmp_path: Path) -> None:
    spec = RunSpec(seed=7, duration=8, mutant=mutant, schedule=schedule(mutant, NODES))
    report = asyncio.run(run_one(spec, tmp_path / "run", tmp_path / "foreign"))
    assert not report.ok, f"{mutant} went unnoticed: {report.figures}"
    assert any(sign in a for a in report.anomalies for sign in CAUGHT_BY[mutant]), report.anomalies


def test_a_short_campaign_with_every_fault_kind_holds(tmp_path: Path) -> None:
    halves = (("kill", "power", "corrupt", "hostile"), ("partition", "delay", "reset", "pause"))
    reports = [
        asyncio.run(
            run_one(RunSpec(seed=11 + i, duration=15, faults=kinds), tmp_path / f"seed-{11 + i}", tmp_path / "f")
        )
        for i, kinds in enumerate(halves)
    ]
    table = totals(reports)
    assert set(table["faults"]) == set(KINDS), table["faults"]  # every kind was injected somewhere
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
@pytest.mark.parametrize("mutant", ["vote-not-persisted", "promise-not-persisted", "phase2-quorum-off-by-one"])
def test_core_mutants_fail_their_run(mutant: str, tmp_path: Path) -> None:
    spec = RunSpec(seed=21, duration=12, mutant=mutant, faults=("kill", "power", "partition", "pause"))
    report = asyncio.run(run_one(spec, tmp_path / "run", tmp_path / "foreign"))
    assert not report.ok, report.anomalies


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
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paxiom.cli.main import main

    result = CliRunner().invoke(main, ["campaign", *args, "--json"])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
