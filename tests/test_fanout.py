"""Fanning hunts out: results in job order whatever the pool, and the same hunt verdict from 1 worker, 2
local processes and a Dask LocalCluster (skipped when the distributed extra is not installed)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.fanout import IN_PROCESS, LOCAL_DASK, Pool, ordered
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim.hunt import Hunt, hunt
from paxiom.impl.sim.runner import replay

MUTANT = "ballots-not-unique"
LATE = ("ballots-not-unique", "catchup-serves-votes", "snapshot-drops-last-applied")
"""Mutants usually caught after a few 400-step runs (earlier seeds pass, so the order of results matters)."""


def small_hunt(pool: Pool = IN_PROCESS, name: str = MUTANT) -> Hunt:
    return hunt(MUTANTS[name], runs=8, steps=400, shrink_seconds=0, pool=pool)


def verdict(found: Hunt) -> tuple[Any, ...]:
    assert found.found is not None and found.found.objection is not None
    return found.runs, found.steps, found.found.objection.check, found.found.steps


def test_results_come_back_in_job_order_and_errors_where_they_happened() -> None:
    items = list(range(40, 0, -1))  # big first: they finish last
    for pool in (Pool(1), Pool(2)):
        assert list(ordered(math.factorial, items, pool)) == [math.factorial(i) for i in items]
        results = ordered(math.factorial, [3, -1, 4], pool)
        assert next(results) == 6
        with pytest.raises(ValueError):
            next(results)
    early = ordered(math.factorial, range(1000), Pool(2), ahead=3)
    assert [next(early) for _ in range(3)] == [1, 1, 2]
    early.close()  # the rest cancelled, the processes stopped


def test_a_hunt_gives_the_same_verdict_on_one_or_two_workers() -> None:
    for name in LATE:  # the first whose earlier seeds pass, should the schedules change
        one = small_hunt(name=name)
        if one.runs > 1:
            break
    two = small_hunt(Pool(2), name)
    assert verdict(one) == verdict(two)
    assert two.found is not None and replay(two.found.settings, two.found.steps).objection is not None


def test_a_soak_hunt_counts_every_seed() -> None:
    code, doc = cli("--hunt", "--seed", "3", "--runs", "3", "--steps", "150", "--workers", "2")
    assert code == 0 and doc["holds"] is True and doc["runs"] == 3 and doc["steps_to_detection"] >= 3 * 150


def cli(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["sim", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


def test_a_hunt_on_a_dask_cluster_brings_back_the_same_shrunk_replay(dask_scheduler: str, tmp_path: Path) -> None:
    path = tmp_path / "found.json"
    args = ("--mutant", MUTANT, "--runs", "8", "--steps", "400", "--shrink-seconds", "1", "--trace-out", str(path))
    code, doc = cli(*args, "--scheduler", dask_scheduler)
    assert code == 1 and doc["holds"] is False
    here = small_hunt()
    assert (doc["runs"], doc["steps_to_detection"]) == (here.runs, here.steps)
    assert here.found is not None and doc["unshrunk_steps"] == len(here.found.steps)
    again_code, again = cli("--replay", str(path))  # the shrunk schedule came back and still fails
    assert again_code == 1 and again["check"] == doc["check"]


@pytest.mark.slow
def test_a_hunt_on_its_own_local_dask_cluster() -> None:
    pytest.importorskip("distributed")
    assert verdict(small_hunt(Pool(2, LOCAL_DASK))) == verdict(small_hunt())


@pytest.mark.slow
def test_a_campaign_on_two_workers_reports_every_seed_in_order() -> None:
    from paxiom.campaign.run import RunSpec
    from paxiom.campaign.table import campaign

    reports, table = campaign(RunSpec(seed=1000, duration=5), 2, None, workers=2)
    assert [r.seed for r in reports] == [1000, 1001] and table["runs"] == 2
    assert all(r.ok for r in reports), [r.anomalies for r in reports]
