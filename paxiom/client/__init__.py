"""Python clients of a paxiom node: `Client` (blocking) and `AsyncClient` (asyncio), same rules.

from paxiom.client import connect
with connect("cluster.toml") as client:
    client.put("greeting", b"hello")
    assert client.get("greeting") == b"hello"
"""

from paxiom.client.aio import AsyncClient
from paxiom.client.errors import ClientError, NotLeader, Rejected, Timeout, Unavailable
from paxiom.client.sync import Client

__all__ = ["AsyncClient", "Client", "ClientError", "NotLeader", "Rejected", "Timeout", "Unavailable"]
