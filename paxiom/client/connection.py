"""One client connection to one node: framed requests out, responses paired with them by id."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import ssl

from paxiom.client import protocol
from paxiom.client.protocol import Response, StatusRequest
from paxiom.node import codec
from paxiom.node.clusterfile import Address
from paxiom.node.framing import FrameDecoder, FrameError, encode_frame

READ_CHUNK = 1 << 16
HIGH_WATER = 1 << 20
"""Bytes queued on the socket past which a caller waits for them to drain."""
CLOSE_TIMEOUT = 2.0
"""Seconds a close waits for the stream to finish closing (a TLS peer may never answer close_notify)."""


class Connection:
    """Multiplexed: many requests may be outstanding; a reader task resolves each by its response's id.

    Any failure of the stream (closed, reset, undecodable frame) fails every outstanding request with
    ConnectionError and marks the connection closed, so the client moves on to another node.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[Response]] = {}
        self.closed = False
        self.outgoing: list[bytes] = []
        self.deadlines: list[tuple[float, int, asyncio.Future[Response]]] = []
        """A heap of the outstanding requests' deadlines (loop time), swept by one timer: a timer (and a
        timeout context) of each request's own was a good part of its cost."""
        self.timer: asyncio.TimerHandle | None = None
        self.task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, address: Address, tls: ssl.SSLContext | None, node: str, timeout: float) -> Connection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address.host, address.port, ssl=tls, server_hostname=node if tls else None),
            timeout,
        )
        return cls(reader, writer)

    async def command(
        self, client: str, seq: int, op: bytes, timeout: float | None = None, *, direct: bool = False
    ) -> Response:
        """The node's answer to a command request; TimeoutError if none came within `timeout` s (None: no bound).
        `direct`: sent to this node as one of every acceptor of a Fast Paxos cluster (`ProposeRequest`)."""
        rid = next(self.ids)
        return await self._call(rid, protocol.encode_command(rid, client, seq, op, direct=direct), timeout)

    async def status(self, timeout: float | None = None) -> Response:
        rid = next(self.ids)
        return await self._call(rid, protocol.encode(StatusRequest(rid)), timeout)

    async def _call(self, rid: int, payload: bytes, timeout: float | None) -> Response:
        """Send the request `payload` (of id `rid`) and wait for its answer, for at most `timeout` seconds (None:
        no bound)."""
        if self.closed:
            raise ConnectionError("connection closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self.waiting[rid] = future
        deadline = None
        if timeout is not None:
            deadline = loop.time() + timeout
            heap = self.deadlines
            while heap and heap[0][2].done():  # answered ones go here, not only at the timer: the heap stays small
                heapq.heappop(heap)
            heapq.heappush(heap, (deadline, rid, future))
            if self.timer is None or deadline < self.timer.when():
                self._arm(loop, deadline)
        try:
            if not self.outgoing:
                loop.call_soon(self._flush)
            self.outgoing.append(encode_frame(payload))
            if self.writer.transport.get_write_buffer_size() > HIGH_WATER:
                async with asyncio.timeout_at(deadline):
                    await self.writer.drain()
            return await future
        finally:
            self.waiting.pop(rid, None)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """Fail the requests past their deadline with TimeoutError; drop the answered ones on the way."""
        self.timer = None
        loop = asyncio.get_running_loop()
        now, heap = loop.time(), self.deadlines
        while heap and (heap[0][2].done() or heap[0][0] <= now):
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_exception(TimeoutError())
        if heap:
            self._arm(loop, heap[0][0])

    def _flush(self) -> None:
        """Requests made in one turn of the loop leave in one write (one TLS record, one send)."""
        frames, self.outgoing = self.outgoing, []
        if not self.closed:
            self.writer.write(b"".join(frames))

    async def _read(self) -> None:
        decoder = FrameDecoder()
        problem: Exception = ConnectionError("connection closed by the node")
        try:
            while True:
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    break
                for payload in decoder.feed(data):
                    response = protocol.decode_response(payload)
                    future = self.waiting.get(response.id)
                    if future is not None and not future.done():
                        future.set_result(response)
        except (OSError, FrameError, codec.DecodeError) as exc:
            problem = ConnectionError(f"connection failed: {exc}")
        finally:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(problem)
            self.writer.close()

    async def close(self) -> None:
        """Stop the reader and close the stream, within CLOSE_TIMEOUT. A cancellation of the caller while
        closing propagates (awaiting the reader under a suppress would swallow it and leave the caller
        running); the reader's own end, cancelled or failed, is not the caller's error."""
        self.closed = True
        self.task.cancel()
        await asyncio.wait({self.task})
        if not self.task.cancelled():
            self.task.exception()  # retrieved: the reader already failed every waiter with it
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.writer.wait_closed()
