"""Fast Paxos in the service: a cluster file with `[quorums] fast` runs `impl.fast`'s core, certified at start
with the fast intersection condition; its clients send each command straight to every acceptor and fall back
to the leader. Separate processes on loopback (mutual TLS, port 0 addresses), every process stopped, every
wait bounded: concurrent clients with collisions, the leader's SIGKILL, `paxiom lin check` and `paxiom trace
check` over the run; and a fast bug run through the service is objected to by the trace checker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_service_cluster import eventually, log_tails, retried, running, summary_of
from test_service_inprocess import settled, until

from paxiom.campaign.cluster import prelude
from paxiom.campaign.workload import Workload
from paxiom.cli.main import main
from paxiom.client.aio import AsyncClient
from paxiom.client.cluster import aconnect, client_tls
from paxiom.client.connection import Connection
from paxiom.client.protocol import ClientResponse, Response
from paxiom.errors import PaxiomError
from paxiom.impl import observe
from paxiom.impl.config import UnsafeQuorums
from paxiom.impl.fast.replica import is_fast
from paxiom.impl.messages import Prepare
from paxiom.lin.history import write_jsonl
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import ServiceCluster, certify, load_service_cluster, parse_service_cluster
from paxiom.node.server import Node, NodeOptions
from paxiom.node.supervisor import CLIENT, NODE_COMMAND, Supervisor, prepare

pytestmark = pytest.mark.timeout(150)

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5}
NODES = ("n1", "n2", "n3", "n4")


def fast_cluster(directory: Path, fast: int = 3) -> Path:
    """A 4-node cluster file with majority classic quorums (3 of 4) and fast quorums of `fast`."""
    return prepare(directory, len(NODES), tuning=TUNING, fast=fast)


class MutantSupervisor(Supervisor):
    """Every node runs the catalogue's bug `mutant`, installed as the campaign installs it (`prelude`)."""

    def __init__(self, path: Path, mutant: str, **options: object) -> None:
        super().__init__(path, **options)  # type: ignore[arg-type]
        self.mutant = mutant

    def command(self, node: str) -> list[str]:
        argv = super().command(node)
        argv[2] = prelude(self.mutant)
        return argv


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Supervisor]:
    path = fast_cluster(tmp_path / "cluster")
    yield from running(Supervisor(path, extra=["--trace", str(tmp_path / "trace")], restart=False))


async def collide(sc: ServiceCluster, tag: str, live: tuple[str, ...] = NODES) -> dict[str, list[str]]:
    """Two clients' commands reaching the `live` acceptors in opposite orders — `a` at the first half, then `b`
    at all, then `a` at the rest — so that no value can reach a fast quorum of 3 in the first slot: a collision
    the leader must recover from. Per command, the statuses of its direct sends (or what went wrong); a command
    no acceptor answered `ok` (its leader deposed meanwhile, as happens on a loaded machine) then goes on as the
    client library goes on, through the leader under the same (client, seq), and that answer is appended."""
    context = client_tls(sc, CLIENT)
    connections = {n: await Connection.open(sc.clients[n], context, n, 5) for n in live}
    a, b = (f"{tag}-a", 1, kv.put_op(f"{tag}-a", b"a")), (f"{tag}-b", 1, kv.put_op(f"{tag}-b", b"b"))
    half = len(live) // 2
    sends: dict[str, list[asyncio.Future[Response]]] = {a[0]: [], b[0]: []}
    try:
        for command, nodes in ((a, live[:half]), (b, live), (a, live[half:])):
            futures = [asyncio.ensure_future(connections[n].command(*command, 5, direct=True)) for n in nodes]
            sends[command[0]] += futures
            await asyncio.sleep(0.03)
        statuses = {
            client: [r.status if isinstance(r, ClientResponse) else type(r).__name__ for r in answers]
            for client, futures in sends.items()
            for answers in [await asyncio.gather(*futures, return_exceptions=True)]
        }
    finally:
        for connection in connections.values():
            await connection.close()
    for client, op in ((a[0], a[2]), (b[0], b[2])):
        if "ok" not in statuses[client]:
            async with AsyncClient({n: sc.clients[n] for n in live}, context, timeout=10, client_id=client) as c:
                try:
                    await c.execute(op)  # seq 1 again: applied at most once, whichever path took it
                    statuses[client].append("ok")
                except PaxiomError as exc:
                    statuses[client].append(type(exc).__name__)
    return statuses


def answered(statuses: dict[str, list[str]]) -> bool:
    """Each of the colliding commands was answered `ok` by some node."""
    return all("ok" in answers for answers in statuses.values())


def traces(trace: Path) -> list[list[observe.Record]]:
    """Each node's records, in its file's order."""
    files = sorted(trace.glob("*.jsonl"))
    return [[observe.from_json(json.loads(line)) for line in file.read_text().splitlines()] for file in files]


def prepares(trace: Path) -> list[Prepare]:
    return [
        r.envelope.msg
        for records in traces(trace)
        for r in records
        if isinstance(r, observe.Sent) and isinstance(r.envelope.msg, Prepare)
    ]


def classic_prepares(trace: Path) -> int:
    """Elections at a classic ballot: recoveries from a collision, or from a commit point stalled two heartbeats."""
    return sum(not is_fast(p.ballot) for p in prepares(trace))


def direct_votes(trace: Path) -> int:
    """Commands a node took straight from a client while not leading: the fast path."""
    taken = 0
    for records in traces(trace):
        leading = False
        for record in records:
            if isinstance(record, observe.Sent) and isinstance(record.envelope.msg, Prepare):
                leading = True  # (an upper bound on leading: a candidate may lose, which only lowers the count)
            elif isinstance(record, observe.Start):
                leading = False
            elif isinstance(record, observe.Submit) and record.direct and record.accepted and not leading:
                taken += 1
    return taken


async def acknowledging(workload: Workload, count: int, since: int, cluster: Supervisor) -> None:
    """Until `count` of the workers' ops were acknowledged after `since` (the recorder's clock), at most 60 s: a
    loaded machine acknowledges fewer per second, so a count in a fixed window would measure the load."""

    def enough() -> bool:
        after = (e for e in workload.recorder.events if e.type == "ok" and e.process != "final")
        return sum((e.time or 0) > since for e in after) >= count

    try:
        await until(enough, 60, f"{count} ops acknowledged")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_tails(cluster)}") from None


def check_cli(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, [*args, "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc
    assert isinstance(doc, dict)
    return doc


def test_a_fast_cluster_serves_through_collisions_and_the_leaders_sigkill(cluster: Supervisor, tmp_path: Path) -> None:
    sc, trace = cluster.sc, tmp_path / "trace"
    first, retry, other = asyncio.run(retried(sc, fast=True))  # applied once, the first answer
    assert first.status == retry.status == kv.OK and other == kv.KVResult(kv.MISMATCH, b"first")
    before = classic_prepares(trace)  # a leader whose commit point stalled (a loaded machine) recovers too
    statuses = asyncio.run(collide(sc, "c0"))
    assert answered(statuses), statuses
    assert classic_prepares(trace) > before, "the collision was not recovered at a classic ballot"

    workload = Workload(
        dict(sc.clients), client_tls(sc, CLIENT), random.Random(13), workers=4, keys=2, timeout=6, fast=True
    )

    killed: list[str] = []

    async def run() -> dict[str, int | None] | None:
        task = asyncio.ensure_future(workload.run())
        await asyncio.sleep(1.5)
        leader = await asyncio.to_thread(eventually, lambda: summary_of(cluster)["leader"], 10, "a leader to kill")
        os.killpg(cluster.processes[leader].popen.pid, signal.SIGKILL)
        cluster.processes[leader].popen.wait(5)
        killed.append(leader)
        with (trace / f"{leader}.jsonl").open("a") as file:  # the killer records it
            file.write(observe.dumps(observe.Crash(sc.index(leader))) + "\n")
        await asyncio.sleep(3.0)
        await acknowledging(workload, 20, 0, cluster)
        workload.stopping.set()
        await asyncio.wait_for(task, 20)
        return await workload.final_reads(10)

    final = asyncio.run(run())
    assert final is not None, log_tails(cluster)
    events = workload.recorder.events
    eventually(lambda: summary_of(cluster)["leader"], 10, "a new leader")
    live = tuple(n for n in NODES if n not in killed)
    assert answered(statuses := asyncio.run(collide(sc, "c1", live))), statuses  # still recovered, one node down
    cluster.stop()  # every record written before the traces are judged

    history = tmp_path / "history.jsonl"
    write_jsonl(events, history)
    lin = check_cli("lin", "check", str(history), "--model", "cas-register")
    assert lin["verdict"] == "ok" and lin["linearizable"] is True, lin
    verdict = check_cli("trace", "check", str(trace))
    assert verdict["holds"] is True and verdict["spec_actions_matched"] and verdict["spec"] == "fastpaxos", verdict
    assert direct_votes(trace) > 0, "no command took the fast path"


def test_the_trace_checker_objects_to_a_fast_quorum_too_small_run_through_the_service(tmp_path: Path) -> None:
    """Deciding on one vote fewer than a fast quorum lets both colliding commands be chosen in one slot:
    `paxiom trace check` over the nodes' traces must say so."""
    path = fast_cluster(tmp_path / "cluster")
    trace = tmp_path / "trace"
    supervisor = MutantSupervisor(path, "fast-quorum-too-small", trace_dir=trace, restart=False)
    for _ in running(supervisor):
        asyncio.run(collide(supervisor.sc, "m"))
        supervisor.stop()
    result = CliRunner().invoke(main, ["trace", "check", str(trace), "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["holds"] is False, doc
    assert doc["file"].endswith(".jsonl") and doc["line"] >= 1


def test_fast_quorums_are_certified_at_start_and_unsafe_ones_refused_naming_them(tmp_path: Path) -> None:
    safe = load_service_cluster(fast_cluster(tmp_path / "safe"))
    certify(safe.cluster)  # 3 + 3 + 3 > 2 * 4
    path = fast_cluster(tmp_path / "unsafe", fast=2)
    with pytest.raises(UnsafeQuorums, match=r"phase1 x fast x fast fails: .* share no node"):
        certify(load_service_cluster(path).cluster)
    run = subprocess.run(
        [*NODE_COMMAND, "--config", str(path), "--id", "n1", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "phase1 x fast x fast fails: phase1 quorum {" in run.stderr and "fast quorum {" in run.stderr
    assert not (tmp_path / "d").exists()  # refused before touching the data directory


def test_a_fast_cluster_has_no_auxiliaries(tmp_path: Path) -> None:
    text = fast_cluster(tmp_path).read_text().replace("[service]\n", '[service]\nauxiliaries = ["n4"]\n', 1)
    with pytest.raises(PaxiomError, match=r"c\.toml:\d+.*service.auxiliaries: Cheap Paxos has no fast quorums"):
        parse_service_cluster(text, tmp_path / "c.toml")


def test_the_client_of_a_fast_cluster_file_takes_the_fast_path(tmp_path: Path) -> None:
    async def fast_of(path: Path) -> bool:
        async with aconnect(path) as client:
            return client.fast

    assert asyncio.run(fast_of(fast_cluster(tmp_path / "fast")))
    assert not asyncio.run(fast_of(prepare(tmp_path / "classic", 3)))


def test_a_fast_client_of_a_classic_cluster_is_served_by_the_leader_alone(tmp_path: Path) -> None:
    """Sent straight to every node of a classic cluster, a command is taken by the leader only
    (`Replica.propose`; the others answer not_leader, submitting nothing): applied once per request."""
    path = prepare(tmp_path, 3, tuning=TUNING)
    sc = dataclasses.replace(load_service_cluster(path), metrics={})

    async def scenario() -> list[observe.Submit]:
        trace = tmp_path / "trace"
        nodes = [Node(sc, NodeOptions(path, name, tmp_path / "data" / name, trace_dir=trace)) for name in sc.nodes]
        try:
            for node in nodes:
                await node.start()
            await until(lambda: settled(dict(zip(sc.nodes, nodes, strict=True))), 20, "a leader every node follows")
            async with AsyncClient(sc.clients, client_tls(sc, CLIENT), timeout=10, fast=True) as client:
                for i in range(5):
                    await client.put(f"k{i}", b"v")
                assert await client.get("k4") == b"v"
        finally:
            for node in nodes:
                await node.stop()
        return [r for records in traces(trace) for r in records if isinstance(r, observe.Submit)]

    submits = asyncio.run(asyncio.wait_for(scenario(), 60))
    taken = [s for s in submits if s.direct and s.accepted]
    assert len(taken) >= 6 and len({s.node for s in taken}) == 1  # one node, the leader, took each request
    assert len([s for s in submits if s.direct and not s.accepted]) >= 2 * 6  # the others submitted nothing
