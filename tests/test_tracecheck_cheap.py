"""`paxiom trace check` on Cheap Paxos runs: the Start records name the auxiliaries, and the checker judges
the run by `spec/cheap.py`'s layout, whose auxiliaries are the last acceptors; records that name another
layout, disagree, or give no window α are refused at their field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from paxiom.errors import PaxiomError
from paxiom.impl import tracecheck
from paxiom.impl.reconfig_oracle import CheapOracle
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.spec import cheap


@pytest.fixture
def cheap_run(tmp_path: Path) -> Path:
    """Three nodes, two mains and the auxiliary a3, traced."""
    result = run(ClusterSettings(replicas=3, seed=0, variant="cheap"), 300, Faults(), trace_dir=tmp_path)
    assert result.objection is None
    return tmp_path


def edit_starts(directory: Path, change: Callable[[dict[str, Any]], None], names: tuple[str, ...]) -> None:
    """Rewrite the Start records of the nodes `names` with `change`."""
    for name in names:
        path = directory / f"{name}.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for record in records:
            if record["type"] == "Start":
                change(record)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_cheap_run_is_judged_by_cheaps_oracle_with_its_auxiliary(cheap_run: Path) -> None:
    oracle = tracecheck.oracle_for(tracecheck.read_dir(cheap_run), None)
    assert isinstance(oracle, CheapOracle) and isinstance(oracle.spec, cheap.Config)
    assert oracle.spec.mains_of[0] == frozenset({0, 1})
    verdict = tracecheck.check(cheap_run)
    assert verdict.holds and verdict.spec == "cheap"


def test_auxiliaries_that_are_not_the_last_acceptors_are_refused(cheap_run: Path) -> None:
    """spec/cheap.py's mains are the first acceptors: a trace naming a1 the auxiliary names a layout cheap has
    no configuration for, and is not judged as if a3 were the auxiliary."""
    edit_starts(cheap_run, lambda r: r.update(auxiliaries=[0]), ("a1", "a2", "a3"))
    with pytest.raises(PaxiomError, match=r"field record.auxiliaries: .*the last"):
        tracecheck.oracle_for(tracecheck.read_dir(cheap_run), None)


def test_nodes_naming_different_auxiliaries_are_refused(cheap_run: Path) -> None:
    edit_starts(cheap_run, lambda r: r.update(auxiliaries=[]), ("a2",))
    with pytest.raises(PaxiomError, match=r"field record.auxiliaries: auxiliaries other than"):
        tracecheck.quorums_of(tracecheck.read_dir(cheap_run))


def test_a_cheap_run_without_a_window_is_refused(cheap_run: Path) -> None:
    edit_starts(cheap_run, lambda r: r.update(alpha=0), ("a1", "a2", "a3"))
    with pytest.raises(PaxiomError, match=r"field record.alpha: a Cheap Paxos node runs a window"):
        tracecheck.oracle_for(tracecheck.read_dir(cheap_run), None)
