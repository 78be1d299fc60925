"""The fault campaign on the Fast Paxos and Cheap Paxos services (`paxiom campaign --variant`): a short run of
each holds under the faults that apply to it, judged by the same judges with its own spec's oracle, and a
node carrying a bug of the variant's core fails its run. Every process is stopped by the run itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from paxiom.campaign.cluster import MUTANTS, layout, mutants_of
from paxiom.campaign.faults import KINDS, kinds_of, parse_kinds
from paxiom.campaign.run import RunSpec, run_one
from paxiom.campaign.teeth import caught_by
from paxiom.errors import PaxiomError
from paxiom.variants import SERVICE


def _direct_submits(trace_dir: Path) -> int:
    """Commands a node took straight from a client (the fast path), from the Submit records."""
    return sum(
        1 for path in trace_dir.glob("*.jsonl") for line in path.open(encoding="utf-8")
        if '"Submit"' in line and json.loads(line).get("direct")
    )  # fmt: skip


def test_each_variant_gets_the_faults_that_apply_and_its_layout() -> None:
    assert set(kinds_of("multipaxos")) == set(KINDS) - {"retire"}
    for variant in ("fastpaxos", "cheap"):
        assert "reconfigure" not in kinds_of(variant)
        with pytest.raises(PaxiomError, match="does not apply to"):
            parse_kinds("kill,reconfigure", variant)
    assert "retire" in kinds_of("cheap") and "retire" not in kinds_of("fastpaxos")
    assert layout("fastpaxos", 4) == (3, 0) and layout("fastpaxos", 3) == (3, 0) and layout("cheap", 3) == (None, 1)
    assert layout("cheap", 5) == (None, 2) and layout("multipaxos", 3) == (None, 0)
    assert all(set(mutants_of(v)) <= set(MUTANTS) for v in SERVICE)
    assert "fast-quorum-too-small" in mutants_of("fastpaxos") and "fast-quorum-too-small" not in mutants_of("cheap")


@pytest.mark.parametrize(
    ("variant", "nodes", "faults"),
    [("fastpaxos", 4, ("kill", "pause")), ("cheap", 3, ("retire",))],
)
def test_a_short_campaign_run_of_the_variant_holds(variant: str, nodes: int, faults: tuple[str, ...],
                                                   tmp_path: Path) -> None:  # fmt: skip
    spec = RunSpec(seed=5, nodes=nodes, duration=6, faults=faults, variant=variant, workers=3)
    report = asyncio.run(run_one(spec, tmp_path / "run", tmp_path / "foreign"))
    assert report.ok, report.anomalies
    f = report.figures
    assert f["ops_ok"] > 0 and f["linearizable"] == "ok" and f["lost_acknowledged_writes"] == 0
    assert f["trace"]["spec"] == variant and f["trace"]["spec_actions_matched"] > 0
    assert set(f["faults"]) == set(faults)
    if variant == "fastpaxos":
        assert _direct_submits(tmp_path / "run" / "trace") > 0  # the clients took the fast path
    else:
        assert f["configurations_chosen"] >= 1  # the killed main was retired through the auxiliary


def test_a_cheap_core_bug_fails_its_campaign_run(tmp_path: Path) -> None:
    """The auxiliary votes for client commands: the Cheap oracle objects (the Z3 model allows the vote)."""
    spec = RunSpec(seed=5, nodes=3, duration=5, faults=("kill",), mutant="cheap-aux-votes-commands",
                   variant="cheap", workers=3)  # fmt: skip
    report = asyncio.run(run_one(spec, tmp_path / "run", tmp_path / "foreign"))
    assert not report.ok
    assert any(caught_by(a).startswith("oracle:") for a in report.anomalies), report.anomalies
