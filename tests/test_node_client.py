"""The client's discovery, redirect, retry and error rules, against scripted in-process nodes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from paxiom.client import AsyncClient, NotLeader, Rejected, Timeout, Unavailable
from paxiom.client import connection as connection_module
from paxiom.client import protocol as p
from paxiom.client.connection import Connection
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import Address
from paxiom.node.framing import FrameDecoder, encode_frame

Script = Callable[[p.ClientRequest], p.ClientResponse | None]
"""What a fake node answers (None: say nothing)."""


class FakeNode:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[p.ClientRequest] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> Address:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return Address("127.0.0.1", self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        while data := await reader.read(65536):
            for payload in decoder.feed(data):
                request = p.decode_request(payload)
                assert isinstance(request, p.ClientRequest)
                self.seen.append(request)
                answer = self.script(request)
                if answer is not None:
                    writer.write(encode_frame(p.encode(answer)))
        writer.close()


def ok(result: bytes) -> Script:
    return lambda r: p.ClientResponse(r.id, p.OK, result)


def redirect(to: str | None) -> Script:
    return lambda r: p.ClientResponse(r.id, p.NOT_LEADER, leader=to)


async def cluster(**scripts: Script) -> tuple[dict[str, FakeNode], dict[str, Address]]:
    nodes = {name: FakeNode(script) for name, script in scripts.items()}
    return nodes, {name: await node.start() for name, node in nodes.items()}


def test_redirect_to_the_hinted_leader_then_stick_to_it() -> None:
    async def main() -> None:
        nodes, addresses = await cluster(n1=redirect("n3"), n2=redirect("n3"), n3=ok(kv.KVResult(kv.OK, b"v").encode()))
        async with AsyncClient(addresses, None, timeout=2) as client:
            assert await client.get("k") == b"v"
            assert client.leader == "n3"
            await client.put("k", b"w")
        assert [r.seq for r in nodes["n3"].seen] == [1, 2]
        assert len(nodes["n1"].seen) + len(nodes["n2"].seen) <= 2

    asyncio.run(main())


def test_a_silent_node_is_left_and_the_retry_keeps_the_seq() -> None:
    async def main() -> None:
        nodes, addresses = await cluster(n1=lambda r: None, n2=ok(kv.KVResult(kv.OK).encode()))
        async with AsyncClient(addresses, None, timeout=3, attempt_timeout=0.2, client_id="me") as client:
            await client.put("k", b"v")
        retried = nodes["n1"].seen + nodes["n2"].seen
        assert {(r.client, r.seq) for r in retried} == {("me", 1)}

    asyncio.run(main())


def test_errors_name_what_happened() -> None:
    async def main() -> None:
        _, silent = await cluster(n1=lambda r: None)
        with pytest.raises(Timeout, match="may still be applied"):
            await AsyncClient(silent, None, timeout=0.3, attempt_timeout=0.1).put("k", b"v")
        _, lost = await cluster(n1=redirect("n9"), n2=redirect(None))
        with pytest.raises(NotLeader) as caught:
            await AsyncClient(lost, None, timeout=0.3).put("k", b"v")
        assert caught.value.leader in ("n9", None)
        _, refusing = await cluster(n1=lambda r: p.ClientResponse(r.id, p.STALE, message="seq 1 < 4"))
        with pytest.raises(Rejected, match="stale"):
            await AsyncClient(refusing, None, timeout=1).put("k", b"v")
        _, bad_op = await cluster(n1=ok(kv.KVResult(kv.ERROR, b"bad op").encode()))
        with pytest.raises(Rejected, match="bad op"):
            await AsyncClient(bad_op, None, timeout=1).put("k", b"v")
        # a leader took it, was deposed, and no node answered after: the command may still be chosen
        _, deposed = await cluster(n1=lambda r: p.ClientResponse(r.id, p.IN_DOUBT, message="this node stopped leading"))
        deposed["n2"] = Address("127.0.0.1", 1)
        with pytest.raises(Timeout, match="may still be applied"):
            await AsyncClient(deposed, None, timeout=0.3).put("k", b"v")
        nobody = {"n1": Address("127.0.0.1", 1)}
        with pytest.raises(Unavailable, match="cannot connect"):
            await AsyncClient(nobody, None, timeout=0.3).put("k", b"v")

    asyncio.run(main())


def test_a_command_no_node_took_leaves_its_seq_to_the_next() -> None:
    """Found by the campaign (docs/campaign.md): a session whose first command failed Unavailable went on at
    seq 2, which the service refuses as expired (no session: seq 1 was never applied), for good."""

    async def main() -> None:
        serving = False
        nodes, addresses = await cluster(
            n1=lambda r: p.ClientResponse(r.id, p.OK, kv.KVResult(kv.OK).encode()) if serving
            else p.ClientResponse(r.id, p.UNAVAILABLE, message="recovering")
        )  # fmt: skip
        async with AsyncClient(addresses, None, timeout=0.3, client_id="me") as client:
            with pytest.raises(Unavailable):
                await client.put("k", b"v")
            serving = True
            await client.put("k", b"v")
        assert {(r.client, r.seq) for r in nodes["n1"].seen} == {("me", 1)}

    asyncio.run(main())


def test_a_session_whose_first_command_timed_out_goes_on_under_a_new_one() -> None:
    """The same campaign finding, when the first command timed out instead: its seq cannot be given back (it
    may still be applied), so the next goes out at seq 2, which a session machine that never applied seq 1
    refuses as expired. The client opens a new session (seq 1) for it; nothing was applied under seq 2."""

    opened: set[str] = set()

    def session_machine(r: p.ClientRequest) -> p.ClientResponse | None:
        if not opened and r.client == "me" and r.seq == 1:
            return None  # the first command is lost: the client times out, in doubt
        if r.client not in opened and r.seq > 1:
            return p.ClientResponse(r.id, p.EXPIRED, message=f"no session for {r.client}")
        opened.add(r.client)
        return p.ClientResponse(r.id, p.OK, kv.KVResult(kv.OK).encode())

    async def main() -> None:
        nodes, addresses = await cluster(n1=session_machine)
        async with AsyncClient(addresses, None, timeout=0.3, attempt_timeout=0.1, client_id="me") as client:
            with pytest.raises(Timeout):
                await client.put("k", b"v")
            await client.put("k", b"w")
            await client.put("k", b"x")
        after = [(r.client, r.seq) for r in nodes["n1"].seen if r.client != "me"]
        assert [seq for _, seq in after] == [1, 2] and len({c for c, _ in after}) == 1
        assert ("me", 2) in {(r.client, r.seq) for r in nodes["n1"].seen}

    asyncio.run(main())


def test_sessions_run_concurrently_each_with_its_own_seq() -> None:
    async def main() -> None:
        nodes, addresses = await cluster(n1=ok(kv.KVResult(kv.OK).encode()))
        async with AsyncClient(addresses, None, sessions=4, client_id="c") as client:
            await asyncio.gather(*(client.put(f"k{i}", b"") for i in range(12)))
        seen = [(r.client, r.seq) for r in nodes["n1"].seen]
        assert len(set(seen)) == 12 and {c for c, _ in seen} == {f"c.{i}" for i in range(4)}

    asyncio.run(main())


def test_concurrent_first_requests_share_one_connection() -> None:
    """Requests that find no connection at once wait for one attempt: each opening its own orphaned all but
    the last (their requests hung until a timeout) and cost a TLS handshake apiece."""

    class Counting(FakeNode):
        accepted = 0

        async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            await super().serve(reader, writer)

    async def main() -> None:
        node = Counting(ok(kv.KVResult(kv.OK).encode()))
        async with AsyncClient({"n1": await node.start()}, None, timeout=5, sessions=50) as client:
            await asyncio.wait_for(asyncio.gather(*(client.put(f"k{i}", b"v") for i in range(50))), 5)
        assert node.accepted == 1
        assert len(node.seen) == 50

    asyncio.run(main())


async def _silent_connection() -> tuple[Connection, asyncio.Server]:
    """A client connection to a listener that accepts and then never reads, writes or closes."""
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return Connection(reader, writer), server


def test_a_cancelled_close_propagates_to_its_caller() -> None:
    """Cancelling a task while it closes a connection cancels that task (it used to swallow the
    cancellation while awaiting the reader and carry on, which hung the campaign's attacker)."""

    async def scenario() -> None:
        connection, server = await _silent_connection()

        async def stubborn_reader() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(0.5)  # takes its time to stop, as a reader mid-frame may

        connection.task.cancel()
        connection.task = asyncio.get_running_loop().create_task(stubborn_reader())
        await asyncio.sleep(0)
        closing = asyncio.get_running_loop().create_task(connection.close())
        await asyncio.sleep(0.05)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(closing, 5)
        server.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_close_is_bounded_when_the_stream_never_finishes_closing(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> float:
        connection, server = await _silent_connection()

        async def never() -> None:
            await asyncio.sleep(3600)

        monkeypatch.setattr(connection.writer, "wait_closed", never)
        monkeypatch.setattr(connection_module, "CLOSE_TIMEOUT", 0.2)
        started = time.monotonic()
        await asyncio.wait_for(connection.close(), 10)
        server.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 5


def test_a_connection_times_out_each_request_at_its_own_deadline() -> None:
    """One timer serves all of a connection's requests: a short deadline after a long one still fires on time,
    an answered request is not failed later, and a request without a timeout waits on."""

    async def main() -> None:
        _, addresses = await cluster(n1=lambda r: ok(b"")(r) if r.seq == 3 else None)
        connection = await Connection.open(addresses["n1"], None, "n1", 1)
        loop = asyncio.get_running_loop()
        long = loop.create_task(connection.command("c", 1, b"", 5))
        unbounded = loop.create_task(connection.command("c", 2, b""))
        await asyncio.sleep(0)
        started = loop.time()
        with pytest.raises(TimeoutError):
            await connection.command("c", 4, b"", 0.1)
        assert loop.time() - started < 2
        assert isinstance(await connection.command("c", 3, b"", 0.1), p.ClientResponse)
        await asyncio.sleep(0.2)  # past the answered request's deadline: nothing fails it
        assert not long.done() and not unbounded.done()
        await connection.close()
        for task in (long, unbounded):
            with pytest.raises(ConnectionError):
                await task

    asyncio.run(main())
