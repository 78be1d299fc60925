"""The asyncio peer transport: one authenticated, framed connection per direction between every two nodes.

Each node dials every peer and only writes on that connection; it only reads on the connections its
listener accepts. That needs no deduplication and keeps each side's job simple: a dialer owns its
peer's outbound queue, a reader hands `(src, message)` to the host.

Who is who comes from the certificates. The listener accepts plain TCP and upgrades it to TLS itself, so
a failed handshake (no certificate, another CA's, a plaintext client) is counted and logged here, before
anything is read. The first frame on an accepted connection is a `Hello` naming the dialer; it must be a
node of this cluster and the very node its certificate names. A dialer checks, in the handshake, that the
node it reached presents the certificate of the node it meant.

Outbound queues are bounded in frames and bytes and **drop the oldest** frame when full: Paxos tolerates
lost messages (proposers retry, heartbeats repeat, catch-up fills gaps), and after a stall the newest
messages (higher ballots, later slots and commit indices) are the useful ones, whereas refusing new ones
would keep delivering stale traffic and hand the loss to the core as an error it cannot act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from paxiom.impl.messages import Message
from paxiom.node import codec
from paxiom.node.echoes import PeerMessage
from paxiom.node.framing import MAX_FRAME, FrameDecoder, FrameError, encode_frame
from paxiom.node.tls import NODE, AuthError, Incoming, Listener, PeerSecurity, check_peer, listen_paused
from paxiom.node.traced import WIRE, Traced

log = logging.getLogger("paxiom.node.transport")

Handler = Callable[[str, PeerMessage | Traced], None]
"""Receives every decoded message with the name of the node that sent it; must not block."""
READ_CHUNK = 1 << 16
RECEIVED = WIRE | {Traced}
"""What a peer may send after its hello: a protocol message or a reference to one (`echoes`), bare or with
its id (a tracing sender)."""


@dataclass(frozen=True)
class Hello:
    """The first frame a dialer sends: who it is (checked against its certificate) and its cluster."""

    cluster: str
    node: str


codec.register(128, Hello, {(Hello, "cluster"): codec.Text(1, 64), (Hello, "node"): codec.Text(1, 64)})


@dataclass
class Counters:
    """Monotonic totals for metrics."""

    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    handshakes_refused: int = 0
    decode_errors: int = 0
    dropped: int = 0
    """Frames dropped from a full outbound queue."""
    unsendable: int = 0
    """Messages dropped because no receiver would accept them (beyond a bound of the codec or the frame)."""
    connects: int = 0
    disconnects: int = 0


@dataclass
class Outbox:
    """A peer's bounded queue of encoded frames; `put` drops the oldest frames to make room."""

    max_frames: int
    max_bytes: int
    frames: deque[bytes] = field(default_factory=deque)
    size: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, frame: bytes) -> int:
        """Queue `frame`; returns how many frames were dropped for it."""
        dropped = 0
        while self.frames and (len(self.frames) >= self.max_frames or self.size + len(frame) > self.max_bytes):
            self.size -= len(self.frames.popleft())
            dropped += 1
        self.frames.append(frame)
        self.size += len(frame)
        self.ready.set()
        return dropped

    def take(self) -> list[bytes]:
        batch = list(self.frames)
        self.frames.clear()
        self.size = 0
        self.ready.clear()
        return batch


@dataclass(frozen=True)
class Limits:
    max_frame: int = MAX_FRAME
    queue_frames: int = 4096
    queue_bytes: int = 32 << 20
    backoff: tuple[float, float] = (0.05, 2.0)
    """First and largest delay between reconnection attempts (doubling, with jitter); a peer that dials us is
    back, so our dialer to it stops waiting and dials at once."""
    handshake_timeout: float = 5.0
    """For the TLS handshake and the Hello that follows it."""
    max_pending: int = 64
    """Accepted connections still in their handshake; more are closed at once (a slow-handshake flood)."""


class PeerTransport:
    """Frames between `node` and its peers. `listen`, then `connect`, then `send`; `stop` ends everything."""

    def __init__(self, node: str, security: PeerSecurity, handler: Handler, limits: Limits | None = None) -> None:
        self.node = node
        self.security = security
        self.handler = handler
        self.limits = limits or Limits()
        self.counters = Counters()
        self.peers: dict[str, tuple[str, int]] = {}
        self._outboxes: dict[str, Outbox] = {}
        self._back: dict[str, asyncio.Event] = {}
        """Set when a peer dialed us: its listener is up, so a dialer waiting to retry it dials now."""
        self._inbound: dict[str, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Listener | None = None
        self._pending = 0
        self._random = random.Random()
        self._last: tuple[object, bytes] = (None, b"")
        """The last message encoded and its frame."""

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start accepting peers; returns the bound port."""
        self._server = await listen_paused(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def connect(self, peers: Mapping[str, tuple[str, int]]) -> None:
        """Start a dialer (and an outbound queue) for every peer other than this node."""
        for peer, address in peers.items():
            if peer == self.node or peer in self.peers:
                continue
            self.peers[peer] = address
            self._outboxes[peer] = Outbox(self.limits.queue_frames, self.limits.queue_bytes)
            self._back[peer] = asyncio.Event()
            self._spawn(self._dial(peer))

    def send(self, dst: str, msg: PeerMessage | Traced) -> None:
        """Queue `msg` for `dst`; never blocks (a full queue drops its oldest frame)."""
        self._enqueue((dst,), msg)

    def broadcast(self, msg: Message) -> None:
        """Queue `msg` for every peer, encoded once."""
        self._enqueue(tuple(self._outboxes), msg)

    def _enqueue(self, dsts: tuple[str, ...], msg: PeerMessage | Traced) -> None:
        last, frame = self._last
        # The host sends a broadcast as one message per peer, one after the other (the same object, or equal
        # ones built per peer): encode it once. Equal messages encode alike, and the check is cheap because
        # the copies share their value tuple.
        if type(msg) is not type(last) or not (msg is last or msg == last):
            try:
                frame = encode_frame(codec.encode(msg), self.limits.max_frame)
            except (codec.EncodeError, FrameError) as exc:
                # A message its receivers would refuse (e.g. a catch-up larger than a frame) is dropped like a
                # lost one, loudly: raising here would take the whole node down over one message.
                self.counters.unsendable += 1
                log.error("not sending %s to %s: %s", type(msg).__name__, ", ".join(dsts), exc)
                return
            self._last = (msg, frame)
        for dst in dsts:
            outbox = self._outboxes.get(dst)
            if outbox is None:
                raise ValueError(f"{dst!r} is not a peer of {self.node} (peers: {', '.join(self._outboxes)})")
            self.counters.dropped += outbox.put(frame)

    def queued(self, dst: str) -> tuple[int, int]:
        """Frames and bytes waiting for `dst`."""
        outbox = self._outboxes[dst]
        return len(outbox.frames), outbox.size

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._inbound.values()):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- outbound: dial, say hello, write batches until the connection fails, back off, again

    async def _dial(self, peer: str) -> None:
        host, port = self.peers[peer]
        low, high = self.limits.backoff
        delay = low
        loop = asyncio.get_running_loop()
        back = self._back[peer]
        while True:
            started = loop.time()
            back.clear()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for returns a connection that completed in the turn
                # `stop` cancelled it, swallowing the cancellation, and the dialer would run on forever
                async with asyncio.timeout(self.limits.handshake_timeout):
                    reader, writer = await asyncio.open_connection(
                        host, port, ssl=self.security.client, server_hostname=peer if self.security.client else None
                    )
            except (OSError, TimeoutError) as exc:
                if isinstance(exc, ssl.SSLCertVerificationError):
                    self.counters.handshakes_refused += 1
                    log.warning("refusing %s at %s:%d: %s", peer, host, port, exc.verify_message or exc)
            else:
                self.counters.connects += 1
                try:
                    await self._pump(peer, reader, writer)
                except (OSError, AuthError) as exc:
                    log.info("connection to %s lost: %s", peer, _reason(exc))
                finally:
                    self.counters.disconnects += 1
                    writer.transport.abort()  # close() would wait to flush to a peer that may never read
            # a link that stayed up a while reconnects at once; one that keeps failing backs off, until the peer
            # dials us: a restarted node must hear its leader before its election timeout, not after our backoff
            delay = low if loop.time() - started > high else min(2 * delay, high)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay * self._random.uniform(0.5, 1.0)):
                    await back.wait()
            if back.is_set():
                delay = low

    async def _pump(self, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.security.client is not None:
            try:
                check_peer(writer.get_extra_info("peercert"), self.security.cluster_id, NODE, peer)
            except AuthError:
                self.counters.handshakes_refused += 1
                raise
        writer.write(encode_frame(codec.encode(Hello(self.security.cluster_id, self.node))))
        watch = asyncio.ensure_future(reader.read(1))  # an outbound link carries nothing back: data or EOF ends it
        write = asyncio.ensure_future(self._write(self._outboxes[peer], writer))
        try:
            done, _ = await asyncio.wait((watch, write), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            write.cancel()
            await asyncio.gather(watch, write, return_exceptions=True)
        for task in done:
            if (exc := task.exception()) is not None:
                raise exc
        raise ConnectionResetError("closed by the peer")

    async def _write(self, outbox: Outbox, writer: asyncio.StreamWriter) -> None:
        while True:
            await writer.drain()
            await outbox.ready.wait()
            batch = outbox.take()
            data = b"".join(batch)
            writer.write(data)
            self.counters.frames_out += len(batch)
            self.counters.bytes_out += len(data)

    # ---- inbound: handshake, hello, then frames to the handler until anything is wrong

    async def _accept(self, incoming: Incoming) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        host, port = incoming.peername
        where = f"{host}:{port}"
        src = None
        frames = self._frames(incoming.reader, FrameDecoder(self.limits.max_frame))
        try:
            src = await self._handshake(where, incoming, frames)
            if src is not None:
                await self._read(src, where, frames)
        except OSError as exc:
            log.info("connection from %s (%s) lost: %s", src or "?", where, _reason(exc))
        finally:
            self._tasks.discard(task)
            if src is not None and self._inbound.get(src) is incoming.writer:
                del self._inbound[src]
            incoming.abort()
            await frames.aclose()

    async def _frames(self, reader: asyncio.StreamReader, decoder: FrameDecoder) -> AsyncGenerator[bytes, None]:
        while data := await reader.read(READ_CHUNK):
            self.counters.bytes_in += len(data)
            for payload in decoder.frames(data):  # frames before a bad header are still delivered
                yield payload
        if not decoder.at_boundary():
            raise EOFError("the stream ended inside a frame")

    async def _handshake(self, where: str, incoming: Incoming, frames: AsyncIterator[bytes]) -> str | None:
        """The authenticated name of the dialer, or None after counting and logging a refusal."""
        if self._pending >= self.limits.max_pending:
            self.counters.handshakes_refused += 1
            log.warning("refusing %s: %d handshakes already in progress", where, self._pending)
            return None
        self._pending += 1
        try:
            async with asyncio.timeout(self.limits.handshake_timeout):
                writer = await incoming.upgrade(self.security.server)
                certified = None
                if self.security.server is not None:
                    certified = check_peer(writer.get_extra_info("peercert"), self.security.cluster_id, NODE).name
                hello = codec.decode(await anext(frames), {Hello})
            assert isinstance(hello, Hello)
            if hello.cluster != self.security.cluster_id or hello.node not in self.peers:
                raise AuthError(f"{hello.node!r} of cluster {hello.cluster!r} is not a peer of {self.node}")
            if certified is not None and hello.node != certified:
                raise AuthError(f"claims to be {hello.node} but its certificate names {certified}")
        except (AuthError, FrameError, codec.DecodeError, TimeoutError, EOFError, StopAsyncIteration, OSError) as exc:
            self.counters.handshakes_refused += 1
            log.warning("refusing %s: %s", where, _reason(exc))
            return None
        finally:
            self._pending -= 1
        previous = self._inbound.get(hello.node)
        if previous is not None:
            previous.transport.abort()  # the peer reconnected; its old connection is dead or dying
        self._inbound[hello.node] = writer
        self.counters.connects += 1
        if (back := self._back.get(hello.node)) is not None:  # None: a peer we do not dial (tests)
            back.set()
        return hello.node

    async def _read(self, src: str, where: str, frames: AsyncIterator[bytes]) -> None:
        try:
            async for payload in frames:
                msg = cast(PeerMessage | Traced, codec.decode(payload, RECEIVED))
                self.counters.frames_in += 1
                try:
                    self.handler(src, msg)
                except Exception:
                    log.exception("the handler failed on %s from %s; closing that connection", type(msg).__name__, src)
                    return
        except (FrameError, codec.DecodeError, EOFError) as exc:
            self.counters.decode_errors += 1
            log.warning("closing the connection from %s (%s): %s", src, where, _reason(exc))
        finally:
            self.counters.disconnects += 1


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
