"""`paxiom trace check` reads a Fast Paxos node's fast quorums as the set they are: nodes that list the same
minimal fast quorums in another order name the same cluster (as the phase-1 and phase-2 quorums are compared,
by their canonical encoding)."""

from __future__ import annotations

import json
from pathlib import Path

from paxiom.impl import tracecheck
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings


def test_fast_quorums_listed_in_another_order_are_the_same_quorums(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=5, seed=1, variant="fastpaxos"), 300, Faults(), trace_dir=tmp_path)
    path = tmp_path / "a2.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["type"] == "Start" and len(records[0]["fast"]) > 1
    records[0]["fast"] = records[0]["fast"][::-1]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    verdict = tracecheck.check(tmp_path)
    assert verdict.holds and verdict.spec == "fastpaxos"
