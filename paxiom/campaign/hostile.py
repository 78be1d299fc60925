"""Hostile peers: strangers that must be refused, and an authenticated peer that sends garbage.

The attacker runs in the campaign's process. Strangers dial a node's peer or client port in plaintext,
with TLS but no certificate, or with a certificate of another cluster's CA (trusting the real CA, so the
refusal is the node's); each then says Hello as a real node (peer port) or asks for status (client port)
and must see its connection closed, never answered. The authenticated attacker holds a real node
certificate (a compromised peer's key), says Hello under that name, then writes a burst of hostile frames:
random payloads, mutated codec encodings, oversized and malformed frame headers. Only frames the codec
refuses are sent — a mutated frame that decodes is a forged protocol message, which no crash-fault
protocol survives and which is not what is tested here. The node must drop the connection at the first
bad frame and keep serving (it reads and judges only that first frame; the rest of the burst is written
but discarded with the connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path

import msgpack

from paxiom.client.connection import Connection
from paxiom.node import codec, tls
from paxiom.node.framing import encode_frame
from paxiom.node.transport import RECEIVED, Hello

BURST = 256
"""Hostile frames written per authenticated connection."""
STRANGERS = ("plaintext", "no-cert", "foreign-ca")


@dataclass
class HostileStats:
    frames_sent: int = 0
    authenticated_connections: int = 0
    dropped_by_node: int = 0
    """Authenticated connections the node closed after the garbage (it must close every one)."""
    strangers: int = 0
    strangers_refused: int = 0
    admitted: list[str] | None = None

    def merge(self, other: HostileStats) -> None:
        self.frames_sent += other.frames_sent
        self.authenticated_connections += other.authenticated_connections
        self.dropped_by_node += other.dropped_by_node
        self.strangers += other.strangers
        self.strangers_refused += other.strangers_refused
        self.admitted = (self.admitted or []) + (other.admitted or [])


class Attacker:
    def __init__(self, tls_dir: Path, foreign_dir: Path, cluster_id: str, rng: random.Random) -> None:
        self.dir = tls.TlsDir(tls_dir)
        self.cluster_id = cluster_id
        self.rng = rng
        self.stats = HostileStats(admitted=[])
        if not foreign_dir.exists():
            tls.generate(foreign_dir, "foreign", ["n1"], ["admin"])
        self.foreign = tls.TlsDir(foreign_dir)

    def _context(self, kind: str) -> ssl.SSLContext | None:
        if kind == "plaintext":
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(cafile=str(self.dir.ca))
        if kind == "foreign-ca":
            ctx.load_cert_chain(str(self.foreign.cert(tls.NODE, "n1")), str(self.foreign.key(tls.NODE, "n1")))
        return ctx

    def _garbage(self, node: str) -> bytes:
        """One hostile frame: its bytes on the wire (most framed correctly, some with a broken header)."""
        rng = self.rng
        while True:
            choice = rng.random()
            if choice < 0.1:  # a header claiming a huge frame, or a wrong magic
                return struct.pack(">4sBBI", rng.choice([b"PXF1", rng.randbytes(4)]), 1, 0, rng.randrange(1 << 32))
            if choice < 0.4:
                payload = rng.randbytes(rng.randrange(0, 256))
            else:
                base = rng.choice(
                    [
                        codec.encode(Hello(self.cluster_id, node)),
                        msgpack.packb(
                            [rng.randrange(256), [rng.random(), rng.randbytes(8), None, rng.randrange(-9, 1 << 40)]]
                        ),
                    ]
                )
                data = bytearray(base)
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                payload = bytes(data)
            try:
                codec.decode(payload, RECEIVED)
            except Exception:  # a DecodeError, or anything else the codec raises: refused either way
                return encode_frame(payload)

    async def _closed_by_peer(self, reader: asyncio.StreamReader, timeout: float) -> bool:
        """True when the other side closes (EOF or reset) without sending anything first."""
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), timeout)
        except TimeoutError:
            return False
        except OSError:
            return True
        return data == b""

    async def garbage(self, node: str, port: int, as_node: str) -> None:
        ctx = tls.client_context(self.dir, as_node, tls.NODE)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=node), 3.0
            )
        except (OSError, TimeoutError):
            return
        try:
            burst = b"".join(self._garbage(as_node) for _ in range(BURST))
            writer.write(encode_frame(codec.encode(Hello(self.cluster_id, as_node))) + burst)
            with contextlib.suppress(OSError):
                await writer.drain()
            self.stats.authenticated_connections += 1
            self.stats.frames_sent += BURST
            if await self._closed_by_peer(reader, 3.0):
                self.stats.dropped_by_node += 1
        finally:
            writer.transport.abort()

    async def stranger(self, node: str, peer_port: int, client_port: int, kind: str) -> None:
        """A stranger on the peer port (says Hello as `node`'s peer) or the client port (asks for status)."""
        ctx = self._context(kind)
        self.stats.strangers += 1
        on_client = self.rng.random() < 0.5
        where = f"{kind} stranger on {node}'s {'client' if on_client else 'peer'} port"
        if on_client:
            from paxiom.node.clusterfile import Address

            try:
                connection = await Connection.open(Address("127.0.0.1", client_port), ctx, node, 3.0)
                try:
                    await asyncio.wait_for(connection.status(), 3.0)
                    self.stats.admitted = [*(self.stats.admitted or []), where]
                    return
                finally:
                    await asyncio.wait({asyncio.ensure_future(connection.close())}, timeout=3.0)
            except Exception:  # refused in the handshake, closed, or never answered
                self.stats.strangers_refused += 1
                return
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", peer_port, ssl=ctx, server_hostname=node if ctx else None), 3.0
            )
        except (OSError, TimeoutError):
            self.stats.strangers_refused += 1
            return
        try:
            with contextlib.suppress(OSError):
                writer.write(encode_frame(codec.encode(Hello(self.cluster_id, "n1" if node != "n1" else "n2"))))
                await writer.drain()
            if await self._closed_by_peer(reader, 3.0):
                self.stats.strangers_refused += 1
            else:
                self.stats.admitted = [*(self.stats.admitted or []), where]
        finally:
            writer.transport.abort()
