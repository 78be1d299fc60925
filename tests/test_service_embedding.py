"""Embedding: a node replicating an application's own object (examples/embedding/ledger.py), not the KV store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from paxiom.impl.values import Command
from paxiom.node.sessions import SessionMachine
from paxiom.node.supervisor import Supervisor, prepare, wait_ready

EXAMPLE = Path(__file__).parent.parent / "examples" / "embedding" / "ledger.py"
sys.path.insert(0, str(EXAMPLE.parent))
import ledger  # noqa: E402


def test_the_ledger_is_deterministic_and_survives_snapshot_restore() -> None:
    first = SessionMachine(ledger.Ledger())
    ops = [
        ledger.op("open", account="a"),
        ledger.op("open", account="b"),
        ledger.op("deposit", account="a", amount=9),
        ledger.op("transfer", **{"from": "a"}, to="b", amount=4),
        ledger.op("transfer", **{"from": "b"}, to="a", amount=5),
    ]
    answers = [first.apply(Command("c", i, op)) for i, op in enumerate(ops, 1)]
    second = SessionMachine(ledger.Ledger())
    second.restore(first.snapshot())
    assert second.snapshot() == first.snapshot()
    assert json.loads(answers[-1][1:]) == {"ok": False, "error": "insufficient funds", "balance": 4}


def test_a_node_serves_the_ledger_through_the_example_script(tmp_path: Path) -> None:
    path = prepare(tmp_path / "cluster", 1, tuning={"tick_ms": 10})
    supervisor = Supervisor(path, extra=["--app", f"{EXAMPLE}:Ledger"], restart=False)
    try:
        supervisor.start_all()
        assert asyncio.run(wait_ready(supervisor.sc, time.monotonic() + 30))["leader"] == "n1"
        run = subprocess.run(
            [sys.executable, str(EXAMPLE), "--cluster", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        supervisor.stop()
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert json.loads(lines["transfer"]) == {"balance": 70, "ok": True}
    assert json.loads(lines["overdraw"])["error"] == "insufficient funds"
    assert json.loads(lines["total"]) == {"accounts": 2, "ok": True, "total": 100}
