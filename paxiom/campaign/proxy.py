"""A TCP proxy on every directed peer link, so the campaign can cut, delay and reset node-to-node traffic.

Each node dials each peer and only writes on the connection it dialed (`paxiom.node.transport`), so the
connection `src` opens to `dst` carries exactly the messages src sends dst: blocking that one link is a
one-way partition. The links are TLS end to end and the proxy sees only ciphertext, so every fault here is
at connection level: *blocked* aborts the link's connections and refuses new ones (the dialer backs off and
retries), *delay* holds each chunk of bytes for a random time in order (a slow link; TCP keeps order, so it
does not reorder messages), *reset* aborts the link's connections at random moments (the frames queued in
them are lost, as after a network reset). Message-level loss and duplication need the frames in clear and
are not simulated on these links.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

Link = tuple[str, str]
CHUNK = 1 << 16


@dataclass
class LinkState:
    blocked: int = 0
    """Faults currently blocking the link (it heals when the last one does)."""
    delay: float = 0.0
    reset_rate: float = 0.0
    """Resets per second while a reset fault holds."""
    connections: set[asyncio.StreamWriter] = field(default_factory=set)
    accepted: int = 0
    refused: int = 0
    resets: int = 0


class LinkProxy:
    """Listens on an OS-chosen loopback port and forwards to `target` under the link's current faults."""

    def __init__(self, link: Link, target: tuple[str, int], rng: random.Random) -> None:
        self.link = link
        self.target = target
        self.state = LinkState()
        self.rng = rng
        self.server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        self._spawn(self._resetter())
        return self.port

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def abort_all(self) -> None:
        for writer in list(self.state.connections):
            writer.transport.abort()
        self.state.connections.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.state.blocked:
            self.state.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 2.0)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self.state.accepted += 1
        self.state.connections |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self.state.connections.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                if self.state.delay:
                    await asyncio.sleep(self.rng.uniform(0, self.state.delay))
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _resetter(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            if self.state.reset_rate and self.rng.random() < self.state.reset_rate * 0.1 and self.state.connections:
                self.state.resets += 1
                self.abort_all()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        self.abort_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Proxies:
    """One proxy per directed link between `nodes`; `port(src, dst)` is what src's cluster file names for dst."""

    def __init__(self, peers: dict[str, tuple[str, int]], rng: random.Random) -> None:
        self.links = {(a, b): LinkProxy((a, b), peers[b], rng) for a in peers for b in peers if a != b}

    async def start(self) -> None:
        for proxy in self.links.values():
            await proxy.start()

    def port(self, src: str, dst: str) -> int:
        return self.links[(src, dst)].port

    def block(self, links: list[Link]) -> None:
        for link in links:
            proxy = self.links[link]
            proxy.state.blocked += 1
            proxy.abort_all()

    def unblock(self, links: list[Link]) -> None:
        for link in links:
            state = self.links[link].state
            state.blocked = max(0, state.blocked - 1)

    def shape(self, links: list[Link], *, delay: float | None = None, reset_rate: float | None = None) -> None:
        for link in links:
            state = self.links[link].state
            state.delay = state.delay if delay is None else delay
            state.reset_rate = state.reset_rate if reset_rate is None else reset_rate

    def totals(self) -> dict[str, int]:
        states = [p.state for p in self.links.values()]
        return {
            "accepted": sum(s.accepted for s in states),
            "refused": sum(s.refused for s in states),
            "resets": sum(s.resets for s in states),
        }

    async def stop(self) -> None:
        for proxy in self.links.values():
            await proxy.stop()
