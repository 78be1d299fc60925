"""Both listeners (peer and client) on each event loop the node may run on: asyncio's and, when the `fast`
extra is installed, uvloop's — whose transports are not `asyncio.ReadTransport` instances."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from paxiom.client.cluster import aconnect
from paxiom.impl.proposer import Role
from paxiom.node.clusterfile import load_service_cluster
from paxiom.node.server import Node, NodeOptions
from paxiom.node.supervisor import prepare
from paxiom.node.tls import Incoming, listen_paused

pytestmark = pytest.mark.timeout(60)


def runner(name: str) -> Callable[[Coroutine[Any, Any, None]], None]:
    if name == "asyncio":
        return asyncio.run
    uvloop = pytest.importorskip("uvloop", reason="uvloop (the `fast` extra) is not installed")
    run: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    return run


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_three_node_cluster_elects_and_serves_a_client_over_mutual_tls(tmp_path: Path, loop: str) -> None:
    """A leader needs the peer listeners (mutual TLS between nodes), the answers need the client listener."""
    run = runner(loop)
    path = prepare(tmp_path, 3)
    sc = dataclasses.replace(load_service_cluster(path), metrics={})

    async def scenario() -> None:
        nodes = [Node(sc, NodeOptions(config=path, node=n, data_dir=tmp_path / "data" / n)) for n in sc.nodes]
        try:
            for node in nodes:
                await node.start()
            async with asyncio.timeout(20):
                while not any(node.host.replica.role is Role.LEADER for node in nodes):
                    await asyncio.sleep(0.01)
            async with aconnect(path, timeout=10) as client:
                await client.put("k", b"on " + loop.encode())
                assert await client.get("k") == b"on " + loop.encode()
        finally:
            for node in nodes:
                await node.stop()

    run(asyncio.wait_for(scenario(), 45))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_the_listener_binds_what_asyncio_would(host: str) -> None:
    async def scenario() -> None:
        async def echo(incoming: Incoming) -> None:
            writer = await incoming.upgrade(None)
            writer.write(await incoming.reader.readexactly(2))
            await writer.drain()
            writer.close()

        listener = await listen_paused(echo, host, 0)
        try:
            address = listener.sockets[0].getsockname()
            reader, writer = await asyncio.open_connection(address[0], address[1])
            writer.write(b"hi")
            assert await reader.readexactly(2) == b"hi"
            writer.close()
        finally:
            listener.close()
            await listener.wait_closed()

    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    asyncio.run(asyncio.wait_for(scenario(), 10))
