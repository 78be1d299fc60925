"""Reconfiguring the real service on loopback: a 3-node cluster adds a 4th node and removes one while it
serves; an unsafe change is refused before it is proposed and, proposed anyway, by the node itself; the
merged traces pass `paxiom trace check`. Every process is stopped and every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from paxiom.client import Client, Rejected
from paxiom.client.cluster import client_tls
from paxiom.impl import tracecheck
from paxiom.impl.reconfig import CONFIG_OP
from paxiom.node import tls
from paxiom.node.clusterfile import load_service_cluster, render
from paxiom.node.supervisor import CLIENT, NODE_COMMAND, Supervisor, free_ports, prepare, statuses, wait_ready

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5, "alpha": 4}
PAXIOM = NODE_COMMAND[:-1]  # the paxiom CLI in this interpreter


def eventually(check, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def status_of(supervisor: Supervisor, nodes: list[str]) -> dict[str, dict[str, object] | str]:
    sc = supervisor.sc
    found = asyncio.run(statuses(sc, client=CLIENT, timeout=1.0))
    return {n: found[n] for n in nodes if n in found}


def write_new(root: Path, old_path: Path) -> Path:
    """new.toml: n1 removed, n4 added, majorities of n2, n3, n4 (n2 and n3 keep their addresses)."""
    old = load_service_cluster(old_path)
    port, client = free_ports(2)
    peers = {n: a for n, a in old.peers.items() if n != "n1"} | {"n4": type(old.peers["n2"])("127.0.0.1", port)}
    clients = {n: a for n, a in old.clients.items() if n != "n1"} | {"n4": type(old.peers["n2"])("127.0.0.1", client)}
    text = render(["n2", "n3", "n4"], peers, clients, {}, cluster_id=old.cluster_id, tls_dir="tls", tuning=TUNING)
    path = root / "new.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_cluster_adds_a_node_and_removes_one_while_serving(tmp_path: Path) -> None:
    path = prepare(tmp_path / "cluster", 3, tuning=TUNING)
    root = path.parent
    shutil.rmtree(root / "tls")  # one CA for the three nodes and the one the change adds
    tls.generate(root / "tls", "local", ["n1", "n2", "n3", "n4"], [CLIENT])
    new_path = write_new(root, path)
    trace = tmp_path / "trace"
    first = Supervisor(path, extra=["--trace", str(trace)], restart=False)
    joined: Supervisor | None = None
    try:
        first.start_all()
        assert asyncio.run(wait_ready(first.sc, time.monotonic() + 30))["leader"]
        with Client(first.sc.clients, client_tls(first.sc, CLIENT), timeout=15) as client:
            for i in range(5):
                client.put(f"before{i}", b"v")
            unsafe = root / "unsafe.toml"  # |Q1| + |Q2| = 2 + 1 is not above 3
            quorums = 'phase1 = "2 of (n2, n3, n4)"\nphase2 = "1 of (n2, n3, n4)"'
            unsafe.write_text(new_path.read_text().replace('phase1 = "majority(n2, n3, n4)"', quorums))
            forged = CONFIG_OP + json.dumps({"nodes": ["n1"], "phase1": [["n1"]], "phase2": [["n1"]]}).encode()
            with pytest.raises(Rejected, match="refused: a configuration command must carry"):
                client.execute(forged)  # an uncertified change: the node refuses it on receipt
        run = subprocess.run(
            [*PAXIOM, "cluster", "reconfigure", "--cluster", str(path), "--to", str(new_path), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        doc = json.loads(run.stdout)
        assert doc["chosen"] and doc["added"] == ["n4"] and doc["removed"] == ["n1"] and doc["certified"]["safe"]
        joined = Supervisor(Path(doc["joining"]), extra=["--trace", str(trace)], restart=False)
        joined.start("n4")
        with Client(joined.sc.clients, client_tls(joined.sc, CLIENT), timeout=15) as client:
            for i in range(2 * TUNING["alpha"] + 4):  # past slot i + α: the new configuration governs
                client.put(f"during{i}", b"v")

            def governs() -> bool:
                found = status_of(joined, ["n2", "n3", "n4"])
                docs = [d for d in found.values() if isinstance(d, dict)]
                return len(docs) == 3 and all(d["configuration"]["nodes"] == ["n2", "n3", "n4"] for d in docs)  # type: ignore[index]

            eventually(governs, 30, "n2, n3 and n4 follow the new configuration")
            first.processes["n1"].popen.terminate()  # removed: the cluster no longer needs it
            first.processes["n1"].popen.wait(timeout=30)
            for i in range(5):
                client.put(f"after{i}", b"v")
            assert client.get("after4") == b"v" and client.get("before0") == b"v"

            def caught_up() -> bool:
                found = status_of(joined, ["n2", "n3", "n4"])
                commits = [d["commit_index"] for d in found.values() if isinstance(d, dict)]
                return len(commits) == 3 and len(set(commits)) == 1

            eventually(caught_up, 30, "n4 caught up with n2 and n3")
    finally:
        first.stop()
        if joined is not None:
            joined.stop()
    verdict = tracecheck.check(trace)
    assert verdict.holds, verdict.objection
    assert verdict.nodes == ("n1", "n2", "n3", "n4")
    unsafe_run = subprocess.run(
        [*PAXIOM, "cluster", "reconfigure", "--cluster", str(path), "--to", str(unsafe), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unsafe_run.returncode == 1, unsafe_run.stdout + unsafe_run.stderr
    refused = json.loads(unsafe_run.stdout)
    assert refused["proposed"] is False and refused["certified"]["safe"] is False
