"""The default hunt: runs take turns at biased, uniform and swarm + biased schedules, and its finale."""

from __future__ import annotations

import json

from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim.hunt import ROTATION, UNIFORM, Schedule, attempts, hunt, schedules_of
from paxiom.impl.sim.runner import replay
from paxiom.impl.sim.shrink import check_kind, shrink


def test_the_default_hunt_rotates_schedules_and_flags_pick_one() -> None:
    plan = attempts(None, 7, 100, None, None)
    assert [job.schedule for job in plan] == [*ROTATION, *ROTATION, ROTATION[0]]
    assert [job.settings.seed for job in plan] == list(range(7))
    assert {s.name for s in ROTATION} == {"uniform", "bias", "swarm+bias"}
    assert schedules_of() == ROTATION and schedules_of(uniform=True) == (UNIFORM,)
    assert schedules_of(swarm=True) == (Schedule(swarm=True),) and schedules_of(bias=True) == (Schedule(bias=True),)


def test_the_default_hunt_catches_in_three_runs_what_uniform_misses_and_replays_it() -> None:
    """promise-on-equal-ballot: uniform hunts need about five runs of 3000 steps (docs/simulation.md)."""
    mutant = MUTANTS["promise-on-equal-ballot"]
    assert hunt(mutant, runs=3, shrink_seconds=0, schedules=(UNIFORM,)).found is None
    found = hunt(mutant, runs=3, shrink_seconds=0)
    assert found.found is not None and found.found.objection is not None
    assert found.schedule == ROTATION[0] and found.steps < 3000  # the biased first run
    small = shrink(found.found.settings, found.found, seconds=600, replays=60)
    assert len(small.steps) < len(found.found.steps)
    again = replay(small.settings, small.steps)  # a biased run's steps replay without its tactics
    assert again.objection is not None and check_kind(again) == check_kind(found.found) == "Phase1b"


def test_the_default_hunt_on_the_production_core_finds_nothing() -> None:
    found = hunt(None, runs=3, steps=1500, shrink_seconds=0)
    assert found.found is None and found.runs == 3


def test_cli_hunts_name_the_schedule_and_uniform_excludes_bias() -> None:
    result = CliRunner().invoke(main, ["sim", "--mutant", "promise-on-equal-ballot", "--shrink-seconds", "1", "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["schedule"] == "bias"
    refused = CliRunner().invoke(main, ["sim", "--hunt", "--uniform", "--bias"])
    assert refused.exit_code == 2 and "--uniform" in refused.output
