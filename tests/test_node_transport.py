"""The peer transport over real sockets on 127.0.0.1: delivery, refusals, malformed frames, bounded queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Accept, Heartbeat, Message, Nack, Prepare
from paxiom.impl.values import Command
from paxiom.node import codec
from paxiom.node.framing import HEADER, MAGIC, VERSION, encode_frame
from paxiom.node.tls import NODE, Incoming, PeerSecurity, TlsDir, generate
from paxiom.node.transport import Hello, Limits, PeerTransport

NODES = ("n1", "n2", "n3")
WAIT = 10.0
FAST = Limits(backoff=(0.01, 0.1), handshake_timeout=2.0)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsDir:
    root = tmp_path_factory.mktemp("tls")
    generate(root, "test", NODES, ())
    return TlsDir(root)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> TlsDir:
    root = tmp_path_factory.mktemp("foreign")
    generate(root, "test", NODES, ())
    return TlsDir(root)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, WAIT * 2))


async def until(predicate: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.005)
    assert predicate(), what


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, Message]] = []

    def __call__(self, src: str, msg: Message) -> None:
        self.got.append((src, msg))


@asynccontextmanager
async def cluster(tls: TlsDir | None, names: tuple[str, ...] = NODES) -> AsyncIterator[dict[str, Any]]:
    """Transports for `names`, listening and dialing each other; all stopped on exit."""
    nodes: dict[str, Any] = {}
    for name in names:
        security = PeerSecurity.mutual_tls(tls, "test", name) if tls else PeerSecurity.plaintext("test")
        inbox = Inbox()
        transport = PeerTransport(name, security, inbox, FAST)
        nodes[name] = (transport, inbox, await transport.listen())
    try:
        for transport, _, _ in nodes.values():
            transport.connect({n: ("127.0.0.1", port) for n, (_, _, port) in nodes.items()})
        yield nodes
    finally:
        for transport, _, _ in nodes.values():
            await transport.stop()


def accept(slot: int, size: int = 10) -> Accept:
    return Accept(Ballot(3, 1), slot, (Command("c1", slot + 1, bytes(size)),))


def test_mutual_tls_delivers_messages_between_three_nodes(tls: TlsDir) -> None:
    async def scenario() -> None:
        async with cluster(tls) as nodes:
            t1, _, _ = nodes["n1"]
            t2, inbox2, _ = nodes["n2"]
            _, inbox3, _ = nodes["n3"]
            sent = [Prepare(Ballot(1, 0), 0), accept(0), accept(1, 1000), Heartbeat(Ballot(1, 0), 2)]
            for msg in sent:
                t1.broadcast(msg)
            t2.send("n3", Nack(Ballot(9, 2)))
            await until(lambda: len(inbox2.got) == 4 and len(inbox3.got) == 5, "all delivered")
            assert inbox2.got == [("n1", m) for m in sent]
            assert sorted(inbox3.got, key=lambda g: g[0]) == [("n1", m) for m in sent] + [("n2", Nack(Ballot(9, 2)))]
            assert t1.counters.frames_out == 8 and t1.counters.handshakes_refused == 0
            assert t2.counters.frames_in == 4 and t2.counters.decode_errors == 0
            with pytest.raises(ValueError, match="'n9' is not a peer of n1"):
                t1.send("n9", accept(0))

    run(scenario())


def test_a_restarted_peer_is_reconnected_and_served(tls: TlsDir) -> None:
    async def scenario() -> None:
        async with cluster(tls, ("n1", "n2")) as nodes:
            t1, _, _ = nodes["n1"]
            t2, inbox2, port2 = nodes["n2"]
            t1.send("n2", accept(0))
            await until(lambda: len(inbox2.got) == 1, "first delivery")
            await t2.stop()
            reborn_inbox = Inbox()
            reborn = PeerTransport("n2", PeerSecurity.mutual_tls(tls, "test", "n2"), reborn_inbox, FAST)
            await reborn.listen(port=port2)
            reborn.connect({"n1": ("127.0.0.1", nodes["n1"][2])})
            try:

                async def keep_sending() -> None:
                    slot = 1
                    while not reborn_inbox.got:
                        t1.send("n2", accept(slot))
                        slot += 1
                        await asyncio.sleep(0.02)

                await asyncio.wait_for(keep_sending(), WAIT)
                assert reborn_inbox.got[0][0] == "n1"
                assert t1.counters.connects >= 2
            finally:
                await reborn.stop()

    run(scenario())


async def _raw(port: int, ctx: ssl.SSLContext | None, hostname: str = "n1") -> tuple[Any, Any]:
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=hostname if ctx else None), WAIT
    )


def _dialer(tls: TlsDir, holder: TlsDir | None, name: str = "n2") -> ssl.SSLContext:
    """A client context trusting the cluster CA, presenting `holder`'s certificate of `name` (or none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(tls.ca)
    if holder is not None:
        ctx.load_cert_chain(holder.cert(NODE, name), holder.key(NODE, name))
    return ctx


def _greeting(claim: str) -> bytes:
    return encode_frame(codec.encode(Hello("test", claim))) + encode_frame(codec.encode(accept(0)))


async def _exchange(port: int, ctx: ssl.SSLContext | None, data: bytes) -> bytes:
    """Send `data`, then read until the node closes the connection (bounded): what came back."""
    try:
        reader, writer = await _raw(port, ctx)
    except (ssl.SSLError, OSError) as exc:
        return repr(exc).encode()
    try:
        writer.write(data)
        return await asyncio.wait_for(reader.read(), WAIT)
    except (ssl.SSLError, OSError) as exc:
        return repr(exc).encode()
    finally:
        writer.transport.abort()


@pytest.mark.parametrize("who", ["foreign CA", "no certificate", "plaintext", "n2 claiming n3", "n2 claiming n1"])
def test_unauthenticated_dialers_are_refused_and_nothing_is_delivered(
    who: str, tls: TlsDir, foreign: TlsDir, caplog: pytest.LogCaptureFixture
) -> None:
    contexts = {
        "foreign CA": (_dialer(tls, foreign), "n2"),
        "no certificate": (_dialer(tls, None), "n2"),
        "plaintext": (None, "n2"),
        "n2 claiming n3": (_dialer(tls, tls), "n3"),
        "n2 claiming n1": (_dialer(tls, tls), "n1"),  # not even a peer of n1: itself
    }
    ctx, claim = contexts[who]

    async def scenario() -> None:
        async with cluster(tls, ("n1",)) as nodes:
            t1, inbox1, port1 = nodes["n1"]
            t1.peers.update({"n2": ("127.0.0.1", 1), "n3": ("127.0.0.1", 1)})  # known peers, never dialed
            answer = await _exchange(port1, ctx, _greeting(claim))
            await until(lambda: t1.counters.handshakes_refused == 1, "the refusal counted")
            assert b"PX" not in answer
            assert inbox1.got == [] and t1.counters.frames_in == 0

    with caplog.at_level(logging.WARNING, logger="paxiom.node.transport"):
        run(scenario())
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refusing")]
    assert len(refusals) == 1, refusals
    if who.startswith("n2 claiming"):
        assert "claims to be n3 but its certificate names n2" in refusals[0] or "'n1' of cluster" in refusals[0]


def test_a_dialer_refuses_a_node_presenting_another_nodes_certificate(tls: TlsDir) -> None:
    async def scenario() -> None:
        async with cluster(tls, ("n1", "n2")) as nodes:
            t1, _, _ = nodes["n1"]
            _, inbox2, port2 = nodes["n2"]
            t1.connect({"n3": ("127.0.0.1", port2)})  # n2 listens where n1 believes n3 is
            t1.send("n3", accept(0))
            await until(lambda: t1.counters.handshakes_refused >= 1, "the dialer's refusal")
            assert t1.queued("n3")[0] == 1  # never sent to the impostor
            assert all(msg != accept(0) or src != "n1" for src, msg in inbox2.got)

    run(scenario())


async def _authenticated(tls: TlsDir, port: int) -> tuple[Any, Any]:
    reader, writer = await _raw(port, _dialer(tls, tls))
    writer.write(encode_frame(codec.encode(Hello("test", "n2"))))
    return reader, writer


def test_a_malformed_frame_closes_that_connection_with_one_log_line(
    tls: TlsDir, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with cluster(tls, ("n1",)) as nodes:
            t1, inbox1, port1 = nodes["n1"]
            t1.peers["n2"] = ("127.0.0.1", 1)
            reader, writer = await _authenticated(tls, port1)
            bad = bytearray(codec.encode(accept(5)))
            bad[-12] = 0xC1  # a msgpack byte that is never valid
            writer.write(encode_frame(codec.encode(accept(4))) + encode_frame(bytes(bad)) + encode_frame(b"never"))
            assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed by n1
            writer.transport.abort()
            assert inbox1.got == [("n2", accept(4))]
            assert t1.counters.decode_errors == 1

    with caplog.at_level(logging.WARNING, logger="paxiom.node.transport"):
        run(scenario())
    closing = [r.getMessage() for r in caplog.records if "closing the connection" in r.getMessage()]
    assert len(closing) == 1 and "from n2" in closing[0] and "DecodeError" in closing[0], closing


def test_an_oversized_length_header_closes_the_connection_without_allocating(tls: TlsDir) -> None:
    async def scenario() -> None:
        async with cluster(tls, ("n1",)) as nodes:
            t1, inbox1, port1 = nodes["n1"]
            t1.peers["n2"] = ("127.0.0.1", 1)
            reader, writer = await _authenticated(tls, port1)
            await until(lambda: t1.counters.connects == 1, "authenticated")
            tracemalloc.start()
            try:
                writer.write(HEADER.pack(MAGIC, VERSION, 0, 2**32 - 1) + bytes(1000))
                assert await asyncio.wait_for(reader.read(), WAIT) == b""
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            writer.transport.abort()
            assert peak < 1 << 20, f"{peak} bytes allocated for a frame that was refused"
            assert t1.counters.decode_errors == 1 and inbox1.got == []

    run(scenario())


def test_the_queue_bound_holds_under_a_stalled_peer(tls: TlsDir) -> None:
    """A peer that completes the handshake, then never reads: its queue drops the oldest, memory stays bounded."""
    stalled: list[asyncio.StreamWriter] = []
    release = asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await writer.start_tls(PeerSecurity.mutual_tls(tls, "test", "n2").server)  # type: ignore[arg-type]
        stalled.append(writer)
        await release.wait()

    async def scenario() -> None:
        fake = await asyncio.start_server(never_read, "127.0.0.1", 0)
        limits = Limits(queue_frames=64, queue_bytes=40_000, backoff=(0.01, 0.1))
        t1 = PeerTransport("n1", PeerSecurity.mutual_tls(tls, "test", "n1"), Inbox(), limits)
        try:
            t1.connect({"n2": ("127.0.0.1", fake.sockets[0].getsockname()[1])})
            await until(lambda: bool(stalled), "the stalled peer connected")
            sent, worst = 0, 0
            while t1.counters.dropped < 2000:
                for _ in range(16):
                    t1.send("n2", accept(sent, 1000))
                    sent += 1
                frames, size = t1.queued("n2")
                worst = max(worst, size)
                assert frames <= 64 and size <= 40_000
                await asyncio.sleep(0)
                assert sent < 200_000, "the peer never stalled"
            frames, _ = t1.queued("n2")
            assert t1.counters.frames_out + t1.counters.dropped + frames == sent  # every frame accounted for
            assert worst > 30_000  # the bound, not luck, held the queue
        finally:
            await t1.stop()
            release.set()
            for writer in stalled:
                writer.transport.abort()
            fake.close()
            await fake.wait_closed()

    run(scenario())


def test_plaintext_only_when_asked_for_and_loudly(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(None, ("n1", "n2")) as nodes:
            t1, _, _ = nodes["n1"]
            _, inbox2, _ = nodes["n2"]
            t1.send("n2", accept(0))
            await until(lambda: inbox2.got == [("n1", accept(0))], "plaintext delivery")

    with caplog.at_level(logging.WARNING, logger="paxiom.node.tls"):
        run(scenario())
    assert sum("INSECURE" in r.getMessage() for r in caplog.records) == 2


def test_hostile_streams_from_an_authenticated_peer_never_break_the_node(tls: TlsDir) -> None:
    """Random and mutated frames, seeded: every bad connection is closed, the node keeps serving good ones."""
    rng = random.Random(12)
    valid = [encode_frame(codec.encode(m)) for m in (accept(1), accept(2, 300), Heartbeat(Ballot(1, 0), 9))]

    def hostile() -> bytes:
        stream = bytearray(b"".join(rng.choices(valid, k=3)))
        for _ in range(rng.randint(1, 4)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
        return bytes(stream) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 200))

    async def scenario() -> None:
        async with cluster(tls, ("n1",)) as nodes:
            t1, inbox1, port1 = nodes["n1"]
            t1.peers["n2"] = ("127.0.0.1", 1)
            for _ in range(40):
                reader, writer = await _authenticated(tls, port1)
                writer.write(hostile())
                with contextlib.suppress(TimeoutError):  # a stream that is still valid stays open: move on
                    await asyncio.wait_for(reader.read(), 0.05)
                writer.transport.abort()
            assert t1.counters.decode_errors >= 20
            before = len(inbox1.got)
            reader, writer = await _authenticated(tls, port1)
            writer.write(valid[0])
            await until(lambda: len(inbox1.got) == before + 1, "a good peer is still served")
            writer.transport.abort()
            assert all(type(msg) in (Accept, Heartbeat) for _, msg in inbox1.got)

    run(scenario())


def test_silent_connections_time_out_and_too_many_handshakes_are_turned_away(tls: TlsDir) -> None:
    async def scenario() -> None:
        limits = Limits(handshake_timeout=0.3, max_pending=3)
        t1 = PeerTransport("n1", PeerSecurity.mutual_tls(tls, "test", "n1"), Inbox(), limits)
        port = await t1.listen()
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
        try:
            await until(lambda: t1.counters.handshakes_refused == 1, "the fourth turned away at once")
            assert await asyncio.wait_for(silent[3][0].read(), WAIT) == b""
            await until(lambda: t1.counters.handshakes_refused == 4, "the other three timed out")
            for reader, _ in silent[:3]:
                assert await asyncio.wait_for(reader.read(), WAIT) == b""
        finally:
            for _, writer in silent:
                writer.transport.abort()
            await t1.stop()

    run(scenario())


def test_a_message_no_receiver_would_accept_is_dropped_loudly(tls: TlsDir, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tls, ("n1", "n2")) as nodes:
            t1, _, _ = nodes["n1"]
            _, inbox2, _ = nodes["n2"]
            t1.send("n2", accept(0, codec.MAX_OP + 1))  # an op beyond the codec's bound
            t1.limits = Limits(max_frame=100)
            t1.broadcast(accept(1, 200))  # a frame beyond the maximum
            t1.limits = FAST
            t1.send("n2", accept(2))
            await until(lambda: inbox2.got == [("n1", accept(2))], "the next message still delivered")
            assert t1.counters.unsendable == 2 and t1.counters.dropped == 0

    with caplog.at_level(logging.ERROR, logger="paxiom.node.transport"):
        run(scenario())
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all(e.startswith("not sending Accept to n2: ") for e in errors), errors
    assert "Accept.value[0].op: length 1048577" in errors[0] and "exceeds the maximum frame of 100" in errors[1]


def test_a_message_sent_to_each_peer_in_turn_is_encoded_once(tls: TlsDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host sends a broadcast as one send per peer, each with the same or an equal message."""
    encoded: list[object] = []
    real = codec.encode

    def counting(obj: Any) -> bytes:
        encoded.append(obj)
        return real(obj)

    async def scenario() -> None:
        async with cluster(tls) as nodes:
            t1, _ = nodes["n1"][0], monkeypatch.setattr(codec, "encode", counting)
            value = (Command("c1", 1, b"x" * 100),)
            for dst in ("n2", "n3"):
                t1.send(dst, Accept(Ballot(3, 1), 7, value))  # equal copies, as the core builds per peer
            t1.send("n2", accept(8))
            t1.send("n3", accept(8))  # the same object would do too
            for name in ("n2", "n3"):
                inbox = nodes[name][1]
                await until(lambda inbox=inbox: len(inbox.got) == 2, f"{name} got both")
                assert [m for _, m in inbox.got] == [Accept(Ballot(3, 1), 7, value), accept(8)]
            assert [type(m) for m in encoded if isinstance(m, Accept)] == [Accept, Accept]

    run(scenario())


class LateAccepter(PeerTransport):
    """Its accept task runs only after the dialer's first bytes (the ClientHello) have arrived."""

    async def _accept(self, incoming: Incoming) -> None:
        await asyncio.sleep(0.2)
        await super()._accept(incoming)


@pytest.mark.parametrize("secure", [True, False])
def test_bytes_that_arrive_before_the_accept_task_runs_reach_the_handshake(tls: TlsDir, secure: bool) -> None:
    async def scenario() -> None:
        def security(name: str) -> PeerSecurity:
            return PeerSecurity.mutual_tls(tls, "test", name) if secure else PeerSecurity.plaintext("test")

        limits = Limits(backoff=(0.01, 0.1), handshake_timeout=1.0)
        inbox = Inbox()
        t1 = PeerTransport("n1", security("n1"), Inbox(), limits)
        t2 = LateAccepter("n2", security("n2"), inbox, limits)
        peers = {"n1": ("127.0.0.1", await t1.listen()), "n2": ("127.0.0.1", await t2.listen())}
        t1.connect(peers)
        t2.connect(peers)
        try:
            t1.send("n2", accept(0))
            async with asyncio.timeout(0.9):  # within one handshake timeout: the first connection succeeded
                while not inbox.got:
                    await asyncio.sleep(0.005)
            assert inbox.got == [("n1", accept(0))]
            assert t2.counters.handshakes_refused == 0
        finally:
            await t1.stop()
            await t2.stop()

    run(scenario())


def test_a_peer_that_dials_back_is_redialed_at_once_not_after_the_backoff(tls: TlsDir) -> None:
    """A restarted node must hear its leader before its election timeout, whatever the leader's backoff."""

    async def scenario() -> None:
        slow = Limits(backoff=(3.0, 8.0), handshake_timeout=2.0)  # a lost link waits 3-6 s before it is redialed
        t1 = PeerTransport("n1", PeerSecurity.mutual_tls(tls, "test", "n1"), Inbox(), slow)
        t2 = PeerTransport("n2", PeerSecurity.mutual_tls(tls, "test", "n2"), Inbox(), FAST)
        peers = {"n1": ("127.0.0.1", await t1.listen()), "n2": ("127.0.0.1", await t2.listen())}
        t1.connect(peers)
        t2.connect(peers)
        reborn_inbox = Inbox()
        reborn = PeerTransport("n2", PeerSecurity.mutual_tls(tls, "test", "n2"), reborn_inbox, FAST)
        try:
            t1.send("n2", accept(0))
            await until(lambda: t2.counters.frames_in == 1, "first delivery")
            await t2.stop()
            await until(lambda: t1.counters.disconnects >= 1, "n1 saw the link go")
            await reborn.listen(port=peers["n2"][1])
            reborn.connect(peers)
            t1.send("n2", accept(1))
            async with asyncio.timeout(2.5):
                while not reborn_inbox.got:
                    await asyncio.sleep(0.005)
            assert reborn_inbox.got == [("n1", accept(1))]
        finally:
            for transport in (t1, t2, reborn):
                await transport.stop()

    run(scenario())
