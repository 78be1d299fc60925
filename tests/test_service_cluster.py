"""The real service, as separate processes on loopback: serve, lose the leader to SIGKILL, fail over, restart
and catch up; nothing acknowledged is lost, a retried write applies once, strangers are refused.

Every process runs in its own process group and the fixture kills the groups whatever happens; every wait
is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paxiom.client import AsyncClient, Client, Timeout, Unavailable
from paxiom.client.cluster import client_tls
from paxiom.impl import observe, tracecheck
from paxiom.impl.values import Value
from paxiom.node import kvstore as kv
from paxiom.node import tls
from paxiom.node.clusterfile import ServiceCluster
from paxiom.node.supervisor import CLIENT, NODE_COMMAND, Supervisor, prepare, statuses, summarise, wait_ready

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5}


def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `check` until it returns something truthy, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Supervisor]:
    path = prepare(tmp_path / "cluster", 3, tuning=TUNING)
    yield from running(Supervisor(path, extra=["--trace", str(tmp_path / "trace")], restart=False))


def running(supervisor: Supervisor) -> Iterator[Supervisor]:
    """The supervisor's nodes started and a leader elected; every node stopped afterwards, whatever happens."""
    try:
        supervisor.start_all()
        summary = asyncio.run(wait_ready(supervisor.sc, time.monotonic() + 30))
        assert summary["leader"], log_tails(supervisor)
        yield supervisor
    finally:
        supervisor.stop()


def log_tails(supervisor: Supervisor) -> str:
    """The end of every node's log, for a failure message."""
    logs = sorted((supervisor.root / "logs").glob("*.log"))
    return "\n".join(f"{log.name}: {log.read_text()[-1500:]}" for log in logs)


def summary_of(supervisor: Supervisor) -> dict[str, Any]:
    return summarise(asyncio.run(statuses(supervisor.sc, client=CLIENT, timeout=1.0)))


def client_of(supervisor: Supervisor) -> Client:
    return Client(supervisor.sc.clients, client_tls(supervisor.sc, CLIENT), timeout=15)


def test_serves_survives_leader_sigkill_and_the_old_leader_catches_up(cluster: Supervisor) -> None:
    acknowledged: dict[str, bytes] = {}
    with client_of(cluster) as client:
        for i in range(20):
            client.put(f"k{i}", b"v%d" % i)
            acknowledged[f"k{i}"] = b"v%d" % i
        assert client.get("k3") == b"v3"
        assert client.cas("k3", b"v3", b"w3").status == kv.OK
        acknowledged["k3"] = b"w3"
        assert client.cas("k3", b"v3", b"x").status == kv.MISMATCH
        old = client.leader
        assert old is not None
        os.killpg(cluster.processes[old].popen.pid, signal.SIGKILL)
        with (cluster.root.parent / "trace" / f"{old}.jsonl").open("a") as trace:  # the killer records it
            trace.write(observe.dumps(observe.Crash(cluster.sc.index(old))) + "\n")
        for i in range(20, 40):  # the first of these waits out the election
            client.put(f"k{i}", b"v%d" % i)
            acknowledged[f"k{i}"] = b"v%d" % i
        assert client.leader != old
        new = eventually(
            lambda: (s := summary_of(cluster))["leader"] not in (None, old) and s["leader"], 10, "new leader"
        )
        cluster.processes[old].popen.wait(5)
        cluster.start(old)

        def caught_up() -> bool:
            nodes = summary_of(cluster)["nodes"]
            return "error" not in nodes[old] and nodes[old]["lag"] == 0  # (it may even win the next election)

        try:
            eventually(caught_up, 20, f"{old} catches up with {new}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{summary_of(cluster)}\n{log_tails(cluster)}") from None
        for key, value in acknowledged.items():
            assert client.get(key) == value, key
        listed = client.list("k", limit=100)
        assert set(listed.keys) == set(acknowledged) and not listed.more

    def level() -> dict[str, Any] | None:  # the last read is committed at the leader, at the others a beat later
        s = summary_of(cluster)
        return None if s["unreachable"] or any(n["lag"] for n in s["nodes"].values()) else s["nodes"]

    nodes = eventually(level, 10, f"all answer, {old} and {new} at one commit index")
    assert nodes[old]["incarnation"] == 1
    cluster.stop()  # every record written (a stopped node's last ones too) before the traces are judged
    verdict = tracecheck.check(cluster.root.parent / "trace")
    assert verdict.holds, (verdict.objection, verdict.at)
    assert verdict.nodes and verdict.actions_matched > 0
    applied = agreed_log(cluster.root.parent / "trace")
    puts = {kv.put_op(key, value) for key, value in acknowledged.items() if key != "k3"}
    assert puts <= {command.op for value in applied.values() for command in value}


def agreed_log(trace: Path) -> dict[int, Value]:
    """Every node's applied entries from its trace records: one value per slot across nodes and restarts."""
    by_slot: dict[int, set[Value]] = {}
    for file in sorted(trace.glob("*.jsonl")):
        for line in file.read_text().splitlines():
            record = observe.from_json(json.loads(line))
            if isinstance(record, observe.Applied):
                by_slot.setdefault(record.slot, set()).add(record.value)
    assert by_slot and all(len(values) == 1 for values in by_slot.values()), "two values applied at one slot"
    assert sorted(by_slot) == list(range(len(by_slot))), "a slot missing from every node's applied log"
    return {slot: values.pop() for slot, values in by_slot.items()}


async def retried(sc: ServiceCluster, fast: bool = False) -> list[kv.KVResult]:
    """One cas (it succeeds only while the key is absent) as a client that lost its answer sends it: twice under
    the same (client, seq), from two clients with their own connections, the second after the first was applied;
    then another session's cas of the same key. Each client finds the leader (or, `fast`, sends straight to every
    acceptor) and goes on past a deposed one, as a loaded machine's elections ask."""
    context, answers = client_tls(sc, CLIENT), []
    for client_id in ("retrier", "retrier", None):
        async with AsyncClient(
            sc.clients, context, timeout=8, attempt_timeout=1.0, fast=fast, client_id=client_id
        ) as c:
            answers.append(await c.cas("once", None, b"first" if client_id else b"second"))
    return answers


def test_a_retried_write_applies_once_and_gets_the_first_answer(cluster: Supervisor) -> None:
    first, retry, other_session = asyncio.run(retried(cluster.sc))
    assert first.status == kv.OK and retry.status == kv.OK  # the retry is answered, not applied again
    assert other_session == kv.KVResult(kv.MISMATCH, b"first")


def test_clients_without_this_clusters_certificate_are_refused(cluster: Supervisor, tmp_path: Path) -> None:
    tls.generate(tmp_path / "other", "other", ["n1"], [CLIENT])
    strangers: dict[str, ssl.SSLContext | None] = {
        "plaintext": None,
        "another cluster's CA": tls.client_context(tls.TlsDir(tmp_path / "other"), CLIENT),
    }
    bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bare.load_verify_locations(cafile=str(tls.TlsDir(cluster.sc.tls_dir or tmp_path).ca))
    strangers["no certificate"] = bare

    async def attempt(context: ssl.SSLContext | None) -> None:
        async with AsyncClient(cluster.sc.clients, context, timeout=1.5, attempt_timeout=0.5) as stranger:
            await stranger.put("intruder", b"x")

    for context in strangers.values():
        with pytest.raises((Unavailable, Timeout), match=r"within 1\.5 s"):  # refused before any answer
            asyncio.run(attempt(context))

    with client_of(cluster) as client:
        assert client.get("intruder") is None
    logs = "".join((cluster.root / "logs" / f"{n}.log").read_text() for n in cluster.sc.nodes)
    assert logs.count('"client-refused"') >= len(strangers)


def test_a_node_refuses_unsafe_quorums_naming_them(tmp_path: Path) -> None:
    path = prepare(tmp_path / "cluster", 3)
    text = path.read_text().replace(
        'phase1 = "majority(n1, n2, n3)"', 'phase1 = "1 of (n1, n2, n3)"\nphase2 = "2 of (n1, n2, n3)"'
    )
    path.write_text(text)
    run = subprocess.run(
        [*NODE_COMMAND, "--config", str(path), "--id", "n1", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "phase1 x phase2 fails: phase1 quorum {n1} and phase2 quorum {n2, n3} share no node" in run.stderr
    assert '"node stopped"' not in run.stderr  # it never started
    assert not (tmp_path / "d").exists()  # refused before touching the data directory


def test_a_node_refuses_a_log_corrupted_in_the_middle(tmp_path: Path) -> None:
    path = prepare(tmp_path / "cluster", 1, tuning=TUNING)
    supervisor = Supervisor(path, restart=False)
    try:
        supervisor.start_all()
        assert asyncio.run(wait_ready(supervisor.sc, time.monotonic() + 30))["leader"] == "n1", log_tails(supervisor)
        with client_of(supervisor) as client:
            for i in range(30):
                client.put(f"k{i}", b"x" * 100)
    finally:
        supervisor.stop()
    segment = max((path.parent / "data" / "n1" / "wal").iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    run = subprocess.run(
        [*NODE_COMMAND, "--config", str(path), "--id", "n1", "--data-dir", str(path.parent / "data" / "n1")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "corrupt" in run.stderr and "refusing to vote or lead" in run.stderr


if sys.platform != "linux":  # process groups and fdatasync as the tests assume them
    pytestmark = pytest.mark.skip("Linux only")


def five_minutes() -> list[tuple[str, str]]:
    """The `paxiom kv` commands of docs/service.md's "Five minutes" and the output shown under each."""
    text = (Path(__file__).parent.parent / "docs" / "service.md").read_text(encoding="utf-8")
    block = text.split("## Five minutes", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    assert "python -c" not in block  # python3: what a Debian or macOS shell has
    pairs: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:].split("#")[0].strip(), ""))
        elif pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
    kv = [(command, shown) for command, shown in pairs if command.startswith("paxiom kv ")]
    assert len(kv) >= 5
    return kv[:-1]  # the last get follows the kill, which this test does not do


def test_the_kv_and_status_verbs_against_a_running_cluster(cluster: Supervisor) -> None:
    paxiom = str(Path(sys.executable).parent / "paxiom")
    path = str(cluster.path)

    def verb(*args: str) -> tuple[int, Any]:
        run = subprocess.run([paxiom, *args, "--cluster", path, "--json"], capture_output=True, text=True, timeout=60)
        return run.returncode, json.loads(run.stdout)

    for command, shown in five_minutes():  # docs/service.md's walk-through prints what the verbs print
        args = command.replace("dev/cluster.toml", path).split()[1:]
        assert subprocess.run([paxiom, *args], capture_output=True, text=True, timeout=60).stdout == shown, command
    code, put = verb("kv", "put", "cli", "one")
    assert code == 0 and put["ok"] and put["leader"] in cluster.sc.nodes
    assert verb("kv", "get", "cli") == (0, {"key": "cli", "found": True, "value": "one"})
    assert verb("kv", "cas", "cli", "two", "--expect", "nope")[0] == 1
    assert verb("kv", "cas", "cli", "two", "--expect", "one")[0] == 0
    assert verb("kv", "list", "cl") == (0, {"prefix": "cl", "keys": ["cli"], "more": False})
    assert verb("kv", "del", "cli") == (0, {"key": "cli", "deleted": True})
    assert verb("kv", "get", "cli") == (1, {"key": "cli", "found": False, "value": None})

    def healthy() -> dict[str, Any] | None:  # a leader: an election under load has none for a moment
        code, status = verb("cluster", "status")
        return status if code == 0 and status["healthy"] else None

    status = eventually(healthy, 30, "a healthy status")
    assert {n["lag"] for n in status["nodes"].values()} <= {0, 1}

    def caught_up() -> bool:  # both columns count slots: a node that applied all it committed shows them equal
        nodes = verb("cluster", "status")[1]["nodes"].values()
        return all(n["applied_index"] == n["commit_index"] == status["commit_index"] > 0 for n in nodes)

    eventually(caught_up, 10, "every node applies what it committed")
    wide = {**os.environ, "COLUMNS": "200"}
    table = subprocess.run(
        [paxiom, "cluster", "status", "--cluster", path], capture_output=True, text=True, timeout=60, env=wide
    )
    assert "committed" in table.stdout and "applied" in table.stdout
