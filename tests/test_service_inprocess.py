"""Nodes in one process on real sockets (127.0.0.1, ports from the OS): a restarted follower rejoins without
an election, a clean stop is silent, and what a client cannot be answered in full is still answered."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from paxiom.client import Rejected, protocol
from paxiom.client.cluster import aconnect
from paxiom.client.protocol import ClientRequest, ClientResponse
from paxiom.impl.proposer import Role
from paxiom.node import codec
from paxiom.node.clusterfile import ServiceCluster, load_service_cluster
from paxiom.node.recovery import segments
from paxiom.node.server import Node, NodeOptions, NoLeader
from paxiom.node.supervisor import prepare

pytestmark = pytest.mark.timeout(60)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not check():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"no {what} within {seconds} s") from None


def leader_of(nodes: dict[str, Node]) -> Node | None:
    leading = [node for node in nodes.values() if node.host.replica.role is Role.LEADER]
    return leading[0] if len(leading) == 1 else None


def settled(nodes: dict[str, Node]) -> bool:
    """One leader, every other node a follower that promised its ballot: the first election is over. A leader
    alone can be one of several candidates, the others standing at higher ballots that soon depose it."""
    leader = leader_of(nodes)
    if leader is None:
        return False
    ballot = leader.host.replica.proposer.ballot
    others = [n.host.replica for n in nodes.values() if n is not leader]
    return all(r.role is Role.FOLLOWER and r.acceptor.promise == ballot for r in others)


def test_a_restarted_follower_rejoins_without_deposing_the_leader(tmp_path: Path) -> None:
    path = prepare(tmp_path, 3)
    sc: ServiceCluster = dataclasses.replace(load_service_cluster(path), metrics={})

    def node(name: str) -> Node:
        return Node(sc, NodeOptions(config=path, node=name, data_dir=tmp_path / "data" / name))

    async def scenario() -> None:
        nodes = {name: node(name) for name in sc.nodes}
        try:
            for n in nodes.values():
                await n.start()
            await until(lambda: settled(nodes), 20, "a leader every node follows")
            leader = leader_of(nodes)
            assert leader is not None
            ballot = leader.host.replica.proposer.ballot
            follower = next(name for name, n in nodes.items() if n is not leader)
            await nodes[follower].stop()
            await asyncio.sleep(4.0)  # long enough for the leader's dialer to back off to its longest delay
            nodes[follower] = node(follower)
            await nodes[follower].start()
            reborn = nodes[follower].host.replica
            await until(lambda: reborn.proposer.leader_hint == leader.me, 5, "the restarted node hears the leader")
            await asyncio.sleep(1.5)  # beyond any election timeout (300-600 ms)
            assert leader.host.replica.role is Role.LEADER
            assert leader.host.replica.proposer.ballot == ballot, "the healthy leader was deposed"
            assert reborn.role is Role.FOLLOWER and reborn.acceptor.promise == ballot
        finally:
            for n in nodes.values():
                await n.stop()

    asyncio.run(asyncio.wait_for(scenario(), 50))


def test_a_clean_stop_is_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Connections still in their handshake (client and peer) when the node stops are closed without asyncio
    logging an error for their cancelled tasks."""
    path = prepare(tmp_path, 1)
    sc = dataclasses.replace(load_service_cluster(path), metrics={})

    async def scenario() -> None:
        node = Node(sc, NodeOptions(config=path, node="n1", data_dir=tmp_path / "data" / "n1"))
        silent = []
        try:
            await node.start()
            for address in (sc.clients["n1"], sc.peers["n1"]):
                silent += [await asyncio.open_connection(address.host, address.port) for _ in range(3)]
            await asyncio.sleep(0.2)  # their accept tasks are waiting for a ClientHello
        finally:
            await node.stop()
            for _, writer in silent:
                writer.transport.abort()

    with caplog.at_level(logging.WARNING):
        asyncio.run(asyncio.wait_for(scenario(), 30))
        gc.collect()
    noise = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.name == "asyncio"]
    assert noise == []


class BigAnswers:
    """An application whose answer to `big` is above any answer's bound; any other op is echoed."""

    def apply(self, op: bytes) -> bytes:
        return bytes(2 << 20) if op == b"big" else op

    def snapshot(self) -> bytes:
        return b""

    def restore(self, state: bytes) -> None:
        pass


def test_what_cannot_be_answered_in_full_is_refused_with_its_reason(tmp_path: Path) -> None:
    """An op no slot can carry is refused before it reaches the core, an answer above its bound becomes an
    error, and a message of any length is cut to fit: the client always hears why."""
    path = prepare(tmp_path, 1)
    sc = dataclasses.replace(load_service_cluster(path), metrics={})

    async def scenario() -> None:
        node = Node(sc, NodeOptions(config=path, node="n1", data_dir=tmp_path / "data" / "n1", app=BigAnswers))
        await node.start()
        try:
            await until(lambda: node.host.replica.role is Role.LEADER, 20, "leadership")
            async with aconnect(path, timeout=10) as client:
                assert await client.execute(b"echo") == b"echo"
                with pytest.raises(Rejected, match="an op of 1048577 bytes is above the largest command, 1048576"):
                    await client.execute(bytes(codec.MAX_OP + 1))
                with pytest.raises(Rejected, match="above the largest request"):
                    await client.execute(bytes(protocol.MAX_REQUEST_OP + 1))
                with pytest.raises(Rejected, match=r"unsendable answer: ClientResponse\.result"):
                    await client.execute(b"big")
                assert await client.execute(b"still serving") == b"still serving"
            huge = node.response(ClientRequest(1, "c", 1, b""), NoLeader("x" * 100_000))
            answer = protocol.decode_response(protocol.encode(huge))
            assert isinstance(answer, ClientResponse) and len(answer.message) == protocol.MAX_MESSAGE
            assert answer.message.startswith("xxx") and answer.message.endswith("…")
        finally:
            await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), 40))


def test_status_and_log_show_what_the_last_recovery_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = prepare(tmp_path, 1)
    sc = dataclasses.replace(load_service_cluster(path), metrics={})
    data = tmp_path / "data" / "n1"

    async def incarnation(write: bool) -> Any:
        node = Node(sc, NodeOptions(config=path, node="n1", data_dir=data))
        await node.start()
        try:
            if write:
                await until(lambda: node.host.replica.role is Role.LEADER, 20, "leadership")
                async with aconnect(path, timeout=10) as client:
                    await client.put("k", b"v")
            return node.status()["recovery"]
        finally:
            await node.stop()

    with caplog.at_level(logging.INFO, logger="paxiom.node"):
        first = asyncio.run(asyncio.wait_for(incarnation(True), 40))
        assert first["torn_bytes"] == 0
        segment = segments(data / "wal")[-1]
        with segment.open("ab") as f:
            f.write(b"\x07" * 37)  # a torn tail: bytes of a write that never completed, never synced
        second = asyncio.run(asyncio.wait_for(incarnation(False), 40))
    assert second["torn_bytes"] == 37 and second["covered"] == [] and second["skipped_snapshots"] == []
    recovered = [r for r in caplog.records if getattr(r, "event", None) == "recovered"]
    assert [r.__dict__["torn_bytes"] for r in recovered] == [0, 37]  # a logging `extra` field
