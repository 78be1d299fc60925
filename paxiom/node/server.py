"""`paxiom node`: one replica of the service — the verified core, driven by the one host driver, on disk and
on the network.

Inside one asyncio loop (uvloop when installed): `impl.host.Host` runs the replica over the application
wrapped in client sessions; `NodeStorage` makes its writes durable by group commit on a worker thread and
reports each ticket synced back to the loop; the peer transport carries protocol messages over mutual TLS;
a clock task ticks the replica; the client listener (mutual TLS too) turns requests into commands.

A client is answered only once its command was applied, which the host does only after the writes of that
Ready (and all before) were synced: an answer is never lost by a crash. Reads are commands too — a `get`
takes its place in the log and is answered when applied, so it is linearizable without any clock or
lease. In a Fast Paxos cluster (`[quorums] fast`) the nodes run `impl.fast`'s core and a client sends each
command straight to every node (`ProposeRequest`): each votes it at the open fast ballot and answers once it is
applied, chosen by a fast quorum or recovered after a collision; the leader takes it the classic way when no fast
ballot is open. A node that is not the leader answers `not_leader` with its hint; a node whose storage reported
corruption in the middle of its log refuses to start (repairing from peers is not implemented), because
voting with lost promises could choose two values.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import os
import signal
import ssl
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from paxiom.client import protocol
from paxiom.client.protocol import ClientRequest, ClientResponse, ProposeRequest, StatusRequest, StatusResponse
from paxiom.cluster import parse_cluster
from paxiom.errors import PaxiomError
from paxiom.impl.cheap.replica import CheapReplica
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.fast.replica import FastReplica
from paxiom.impl.host import Host
from paxiom.impl.messages import Envelope
from paxiom.impl.observe import Applied, MsgId, Record, dumps
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig import is_config, service_of
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import Command, command_bytes
from paxiom.node import codec
from paxiom.node.clusterfile import ServiceCluster, certify, load_service_cluster
from paxiom.node.datadir import DataDir, atomic_write
from paxiom.node.echoes import Echoes, PeerMessage
from paxiom.node.framing import FrameDecoder, FrameError, encode_frame
from paxiom.node.kvstore import KVStore
from paxiom.node.metrics import Metrics
from paxiom.node.reconfigure import addresses, refusal
from paxiom.node.sessions import APPLIED, STALE, Application, Outcome, SessionMachine, decode_outcome
from paxiom.node.storage import CorruptStorage, NodeStorage, StorageReport
from paxiom.node.tls import CLIENT, NODE, AuthError, Incoming, Listener, PeerSecurity, TlsDir, check_peer, listen_paused
from paxiom.node.traced import Traced, opened
from paxiom.node.transport import PeerTransport

log = logging.getLogger("paxiom.node")
T = TypeVar("T")

APPLIED_TAG = bytes((APPLIED,))
"""The first byte of a session result whose command was applied (`sessions.encode_outcome`)."""
WAIT_LIMIT = 30.0
"""Most seconds a client request waits for its command to be applied before `unavailable`."""
READ_CHUNK = 1 << 16
HANDSHAKE_TIMEOUT = 5.0
MAX_CLIENT_FRAME = 2 << 20
MAX_UNREAD = 16 << 20
"""Bytes of answers a client may leave unread before it is disconnected."""
MAX_IN_FLIGHT = 8192
"""Command requests one client connection may have unanswered; past it the connection is closed."""
GC_THRESHOLDS = (100_000, 20, 100)
"""Allocations before a young collection, young collections before a middle one, middle before a full one
(Python's defaults: 700, 10, 10); see `main`."""
SWITCH_INTERVAL = 0.0005
"""Seconds a thread waiting for the GIL waits before the running one must hand it over (see `main`)."""
MAX_HANDSHAKES = 64
"""Client connections still in their TLS handshake; more are closed at once (a slow-handshake flood)."""
_command = codec.constructor(Command)
"""`Command` as the decoders build it: of a request's fields, which its decoder checked as a command's."""


class Peers(Protocol):
    """What the node needs of a peer transport: `PeerTransport` over TCP, or Maelstrom's messages."""

    def send(self, dst: str, msg: PeerMessage | Traced) -> None: ...

    async def stop(self) -> None: ...


class NodeRefused(PaxiomError):
    """The node must not start (unsafe quorums, a corrupt log, a foreign data directory)."""


@dataclass(frozen=True)
class NodeOptions:
    config: Path
    node: str
    data_dir: Path
    trace_dir: Path | None = None
    insecure: bool = False
    app: Callable[[], Application] = KVStore


class JsonLines(logging.Formatter):
    """Structured log lines: one JSON object per line with time, level, event and the record's fields."""

    FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line |= {k: v for k, v in record.__dict__.items() if k not in self.FIELDS}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _Tag(logging.Filter):
    """Adds the node's name to every log record."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        return True


def setup_logging(node: str, stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(_Tag(node))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


Settle = Callable[[bytes | BaseException], None]
"""Ends one wait: given the command's result once it is applied, or the error that ends the wait instead."""


class Waiters:
    """Requests waiting for their command to be applied, keyed by the command's identity; each is settled
    at most once, synchronously (no future or scheduled callback per request: they were much of its cost)."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, int], list[Settle]] = {}

    def wait(self, key: tuple[str, int], settle: Settle) -> None:
        self._waiting.setdefault(key, []).append(settle)

    def forget(self, key: tuple[str, int], settle: Settle) -> None:
        settles = self._waiting.get(key, [])
        if settle in settles:
            settles.remove(settle)
        if not settles:
            self._waiting.pop(key, None)

    def applied(self, record: Applied) -> None:
        waiting = self._waiting
        if not waiting:  # a follower's entries, or nobody waiting here
            return
        for command, result in zip(record.value, record.results, strict=True):
            for settle in waiting.pop((command.client, command.seq), ()):
                settle(result)

    def fail(self, keys: set[tuple[str, int]], error: Exception) -> None:
        for key in keys:
            for settle in self._waiting.pop(key, ()):
                settle(error)

    def fail_all(self, error: Exception) -> None:
        waiting, self._waiting = self._waiting, {}
        for settles in waiting.values():
            for settle in settles:
                settle(error)

    def __len__(self) -> int:
        return len(self._waiting)


class Replies:
    """A client connection's answers, written together once per turn of the loop (one TLS record and one
    send for all of them). A client that does not read its answers is disconnected, not buffered for."""

    def __init__(self, writer: asyncio.StreamWriter, metrics: Metrics) -> None:
        self.writer = writer
        self.metrics = metrics
        self.frames: list[bytes] = []
        self.pending = 0
        """Command requests of this connection not answered yet."""

    def add(self, frame: bytes) -> None:
        if not self.frames:
            asyncio.get_running_loop().call_soon(self.flush)
        self.frames.append(frame)

    def flush(self) -> None:
        frames, self.frames = self.frames, []
        self.metrics.frame("client", "out", len(frames))
        if self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > MAX_UNREAD:
            log.warning("client does not read its answers, closing", extra={"event": "client-slow"})
            self.writer.transport.abort()
            return
        self.writer.write(b"".join(frames))


class Pending:
    """One client command request waiting for its command to be applied (a `Settle` of `Waiters`): answered
    on its connection once, by whichever comes first of the result, a failure, or its deadline."""

    __slots__ = ("deadline", "done", "node", "replies", "request", "started")

    def __init__(self, node: Node, replies: Replies, request: ClientRequest, started: float) -> None:
        self.node = node
        self.replies = replies
        self.request = request
        self.started = started
        self.deadline = started + WAIT_LIMIT
        self.done = False

    def __call__(self, outcome: bytes | BaseException) -> None:
        if self.done:
            return
        self.done = True
        self.replies.pending -= 1
        node, request = self.node, self.request
        if isinstance(outcome, bytes) and outcome[:1] == APPLIED_TAG:  # nearly every answer: no objects built
            node.metrics.commit_latency.observe(time.monotonic() - self.started)
            node.answers[protocol.OK] += 1
            try:
                self.replies.add(encode_frame(protocol.encode_ok(request.id, outcome[1:])))
            except codec.EncodeError:  # a result beyond the bound: `reply` answers why
                node.reply(self.replies, ClientResponse(request.id, protocol.OK, outcome[1:]))
            return
        if isinstance(outcome, TimeoutError):
            node.waiters.forget((request.client, request.seq), self)
        response = node.response(request, decode_outcome(outcome) if isinstance(outcome, bytes) else outcome)
        node.answers[response.status] += 1
        node.reply(self.replies, response)


class Deposed(Exception):
    """The node stopped leading while the request waited; the client should retry at the new leader."""


class NoLeader(Exception):
    """The core knows no leader to hand the command to; nothing was submitted."""


class NotTaken(Exception):
    """A command sent straight to this acceptor found no fast ballot open here and this node not leading:
    nothing was submitted (the client falls back to the leader)."""


class Trace:
    """`--trace DIR`: the host's observation records as JSON lines, one file per node that every incarnation
    appends to (so the file is the node's history in order, restarts included, as `paxiom trace check`
    reads it)."""

    def __init__(self, directory: Path, node: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # line-buffered: a record reaches the file (not the disk) before the node acts on it, so a SIGKILL
        # loses no record of anything the node did
        self.file = (directory / f"{node}.jsonl").open("a", encoding="utf-8", buffering=1)

    def __call__(self, record: Record) -> None:
        self.file.write(dumps(record) + "\n")

    def close(self) -> None:
        self.file.close()


def _log_alarm(text: str) -> None:
    """What the core refused or could not do (a divergent catch-up, a snapshot too large): an operator's matter."""
    log.warning(text, extra={"event": "alarm"})


def recovery(report: StorageReport) -> dict[str, Any]:
    """What this incarnation's start found on disk and set aside (corruption refuses the start instead, logged
    as `corrupt`): a torn tail dropped, log damage a snapshot covers, damaged snapshots skipped."""
    return {
        "checkpoint": report.checkpoint,
        "torn_bytes": report.recovery.torn_bytes,
        "covered": [str(damage) for damage in report.recovery.covered],
        "skipped_snapshots": [f"{name}: {why}" for name, why in report.damaged_snapshots],
    }


def next_incarnation(datadir: DataDir) -> int:
    """A counter kept in the data directory, so message ids stay unique across restarts."""
    path = datadir.sub("service") / "incarnation"
    try:
        previous = int(path.read_text())
    except (OSError, ValueError):
        previous = -1
    atomic_write(path, f"{previous + 1}\n".encode())
    return previous + 1


class Node:
    """One running node. `start()` opens storage and listeners; `stop()` shuts everything down in order."""

    FAIL_ON_DEPOSED = True
    """Answer waiting clients `not_leader` at once when deposed (they retry at the new leader with the
    same seq) rather than letting them wait for an entry that may never be chosen."""

    def __init__(self, sc: ServiceCluster, options: NodeOptions) -> None:
        self.sc = sc
        self.options = options
        self.name = options.node
        self.me = sc.index(options.node)
        self.metrics = Metrics(self.name)
        self.waiters = Waiters()
        self.started = time.monotonic()
        self.stopping = asyncio.Event()
        self.role = Role.FOLLOWER
        self.leader: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._servers: list[Listener] = []
        self._clients: set[asyncio.StreamWriter] = set()
        self.trace: Trace | None = None
        self.last_sync: float | None = None
        self._client_tls: ssl.SSLContext | None = None
        self.failure: str | None = None
        """Why the node stopped on its own (a storage failure), for the exit status."""
        self._submitting: list[Command] = []
        """Commands gathered in this turn of the loop, submitted together by `_submit_gathered`."""
        self._deadlines: deque[Pending] = deque()
        """Client requests waiting, in arrival order (so by deadline); the clock expires them."""
        self.answers: Counter[str] = Counter()
        """Answers by status since the metrics last took them (in bulk, with the storage samples)."""
        self._peer_frames: dict[str, int] = {}
        self.echoes = Echoes()
        """Batches a peer holds already go to it as references (`paxiom.node.echoes`)."""
        self._handshakes = 0
        self.names = list(sc.nodes)
        """Every node the cluster has had, by index: the file's, then those reconfigurations added."""
        self.current = sc.cluster
        """The configuration in force as a cluster file (what a proposed change is certified from)."""
        self._epochs = 1
        """How many of the core's configurations the node has followed (`_follow_configuration`)."""

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        security = self.open()
        self.transport: Peers = await self._open_transport(security)
        self._servers.append(await self._listen_clients(security))
        if self.name in self.sc.metrics:
            port = self.metrics.serve(self.sc.metrics[self.name])
            log.info("metrics endpoint up", extra={"event": "metrics", "port": port})
        self._tasks.append(asyncio.get_running_loop().create_task(self._clock()))
        self._follow_configuration()
        log.info(
            "node started",
            extra={
                "event": "start",
                "incarnation": self.incarnation,
                "peer": str(self.sc.peers[self.name]),
                "client": str(self.sc.clients[self.name]),
                "commit": self.host.replica.commit,
            },
        )

    def open(self) -> PeerSecurity:
        """Everything before the network: certify the quorums, recover storage, build the host."""
        certify(self.sc.cluster)
        tuning = self.sc.tuning
        fast = self.sc.cluster.fast is not None
        config = ReplicaConfig(
            replica_id=self.me,
            quorums=self.sc.cluster.quorum_system,
            seed=int.from_bytes(os.urandom(4), "big"),
            election_timeout=tuning["election_timeout"],
            heartbeat_interval=tuning["heartbeat_interval"],
            window=tuning["window"],
            alpha=None if fast else tuning["alpha"],  # a Fast Paxos cluster does not reconfigure
            batch_size=tuning["batch_size"],
            snapshot_interval=tuning["snapshot_interval"],
            snapshot_bytes=codec.MAX_STATE,  # a bigger snapshot could be neither logged nor sent
            auxiliaries=frozenset(self.sc.index(n) for n in self.sc.auxiliaries),
        )
        config.check()
        security = self._security()
        self.storage, durable = self._open_storage()
        log.info("storage recovered", extra={"event": "recovered", **recovery(self.storage.report)})
        self.incarnation = next_incarnation(self.storage.datadir)
        if self.options.trace_dir is not None:
            self.trace = Trace(self.options.trace_dir, self.name)
        self.sm = SessionMachine(self.options.app())
        self.host = Host(
            config,
            self.sm,
            self.storage,
            self._send,
            durable=durable,
            incarnation=self.incarnation,
            reply=self.waiters.applied,
            sink=self.trace,
            alarm=_log_alarm,
            core=FastReplica if fast else CheapReplica if config.auxiliaries else Replica,
        )
        return security

    def _security(self) -> PeerSecurity:
        if self.options.insecure:
            return PeerSecurity.plaintext(self.sc.cluster_id)
        if self.sc.tls_dir is None:
            raise NodeRefused("the cluster file names no service.tls_dir; plaintext needs --insecure")
        return PeerSecurity.mutual_tls(TlsDir(self.sc.tls_dir), self.sc.cluster_id, self.name)

    async def stop(self) -> None:
        """Stop taking requests, stop ticking, flush storage, close links: a clean exit."""
        for server in self._servers:
            server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.waiters.fail_all(Deposed("the node is shutting down"))
        for writer in list(self._clients):
            writer.close()
        if hasattr(self, "transport"):
            await self.transport.stop()
        if hasattr(self, "storage"):
            self.storage.close()
        self.metrics.close()
        if self.trace is not None:
            self.trace.close()
        if self._tasks:  # it started (the clock runs); a refused start logs only its refusal
            log.info("node stopped", extra={"event": "stop"})

    async def _clock(self) -> None:
        period = self.sc.tuning["tick_ms"] / 1000
        samples = max(1, round(0.5 / period))
        for count in itertools.count():
            await asyncio.sleep(period)
            self.host.tick()
            self._follow_configuration()
            self._watch_role()
            self._expire()
            if count % samples == 0:
                self._sample_storage()

    def _watch_role(self) -> None:
        replica = self.host.replica
        role, leader = replica.role, replica.proposer.leader_hint
        if role is not self.role:
            if role is Role.CANDIDATE:
                self.metrics.elections.inc()
            if self.role is Role.LEADER and self.FAIL_ON_DEPOSED:
                self.waiters.fail_all(Deposed("this node stopped leading"))
            log.info(
                "role changed", extra={"event": "role", "role": role.value, "ballot": str(replica.proposer.ballot)}
            )
            self.role = role
            self.metrics.is_leader.set(1 if role is Role.LEADER else 0)
        if leader != self.leader:
            self.leader = leader
            self.metrics.leader_changes.inc()
        self.metrics.commit_index.set(replica.commit)

    # ------------------------------------------------------------------ storage and peers

    def _open_storage(self) -> tuple[NodeStorage, DurableState]:
        """Recover the data directory (blocking, before serving); corruption in the log refuses the start."""
        loop = asyncio.get_running_loop()

        def synced(ticket: int) -> None:  # on the group-commit thread
            loop.call_soon_threadsafe(self.host.synced, ticket)

        def failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(self._storage_failed, error)

        storage = NodeStorage(
            self.options.data_dir, cluster_id=self.sc.cluster_id, node_id=self.name, on_synced=synced, on_failure=failed
        )
        try:
            durable = storage.load()
        except CorruptStorage as exc:
            storage.close()
            log.error("refusing to vote or lead", extra={"event": "corrupt", "problems": list(exc.report.problems)})
            raise NodeRefused(
                f"{exc}; repair from peers is not implemented: restore this node's data directory from a "
                "backup (wiping it is unsafe: the node would forget promises and votes that others counted)"
            ) from None
        return storage, durable

    def _storage_failed(self, error: BaseException) -> None:
        """A failed fdatasync is final: stop rather than serve from state that may not be on disk."""
        log.error("storage failed, stopping", extra={"event": "storage-failed", "reason": repr(error)})
        self.failure = f"storage failed: {error!r}"
        self.stopping.set()

    def _sample_storage(self) -> None:
        for seconds in self.storage.sync_latencies():
            self.metrics.sync_latency.observe(seconds)
            self.last_sync = seconds
        self.metrics.wal_bytes.set(self.storage.wal_bytes())
        for status, count in self.answers.items():
            self.metrics.answered(status, count)
        self.answers.clear()
        counters = getattr(self.transport, "counters", None)
        if counters is not None:  # the TCP transport's totals (Maelstrom's network counts its own)
            for direction, total in (("in", counters.frames_in), ("out", counters.frames_out)):
                self.metrics.frame("peer", direction, total - self._peer_frames.get(direction, 0))
                self._peer_frames[direction] = total

    async def _open_transport(self, security: PeerSecurity) -> PeerTransport:
        transport = PeerTransport(self.name, security, self._receive)
        address = self.sc.peers[self.name]
        await transport.listen(address.host, address.port)
        transport.connect({n: (a.host, a.port) for n, a in self.sc.peers.items()})
        return transport

    def _receive(self, src: str, received: PeerMessage | Traced) -> None:
        """A peer's message (a reference resolved by `echoes`: one naming what we no longer hold is lost)."""
        try:
            msg_id, wire = opened(received)
        except codec.DecodeError as exc:
            log.warning("bad traced message dropped", extra={"event": "peer-frame", "peer": src, "reason": str(exc)})
            return
        msg = self.echoes.incoming(src, wire)
        if msg is not None:
            self.host.receive(Envelope(self.names.index(src), self.me, msg), msg_id)

    def _send(self, msg_id: MsgId, envelope: Envelope) -> None:
        """With --trace the message carries its id, so the receiver's trace names the same send."""
        if envelope.dst >= len(self.names):
            self._follow_configuration()  # a switch the core learned just now names the node
        if envelope.dst >= len(self.names):
            return  # an address nobody gave: the message is lost, as the network may lose any
        dst = self.names[envelope.dst]
        msg = self.echoes.outgoing(dst, envelope.msg)
        self.transport.send(dst, msg if self.trace is None else Traced.wrap(msg_id, msg))

    def _follow_configuration(self) -> None:
        """Connect to the nodes the configurations the core learned since last time add (their addresses
        travel in the switch), and take the latest as the one a proposed change is certified from."""
        configs = self.host.replica.configs
        if len(configs.epochs) == self._epochs or not hasattr(self, "transport"):
            return
        for epoch in configs.epochs[self._epochs :]:
            service = None if epoch.entry is None else service_of(epoch.entry.value)
            if service is None:
                continue
            try:
                peers = addresses(service, "peers")
                self.current = parse_cluster(service["cluster"], f"<configuration of slot {epoch.slot}>")
            except (PaxiomError, KeyError, TypeError) as exc:  # certified before it was proposed: never expected
                log.error("configuration unreadable", extra={"event": "configuration", "reason": str(exc)})
                continue
            if isinstance(self.transport, PeerTransport):  # (a Maelstrom node's peers are Maelstrom's)
                self.transport.connect({n: (a.host, a.port) for n, a in peers.items()})
            log.info(
                "configuration",
                extra={"event": "configuration", "slot": epoch.slot, "nodes": ",".join(self.current.nodes)},
            )
        self._epochs = len(configs.epochs)
        self.names = list(configs.nodes)

    # ------------------------------------------------------------------ clients

    async def _listen_clients(self, security: PeerSecurity) -> Listener:
        address = self.sc.clients[self.name]
        self._client_tls = security.server
        return await listen_paused(self._serve_client, address.host, address.port, READ_CHUNK)

    async def _authenticate(self, incoming: Incoming) -> asyncio.StreamWriter | None:
        """Upgrade to TLS and check the certificate names a client (or node) of this cluster, before any
        frame is read; a failure is logged and the connection closed (None)."""
        if self._client_tls is None:
            return await incoming.upgrade(None)
        peer = incoming.peername
        if self._handshakes >= MAX_HANDSHAKES:
            log.warning(
                "client refused",
                extra={
                    "event": "client-refused",
                    "peer": str(peer),
                    "reason": f"{MAX_HANDSHAKES} handshakes already in progress",
                },
            )
            incoming.abort()
            return None
        self._handshakes += 1
        try:
            writer = await asyncio.wait_for(incoming.upgrade(self._client_tls), HANDSHAKE_TIMEOUT)
            cert = writer.get_extra_info("peercert")
            try:
                check_peer(cert, self.sc.cluster_id, CLIENT)
            except AuthError:
                check_peer(cert, self.sc.cluster_id, NODE)
        except (OSError, TimeoutError, AuthError) as exc:
            log.warning("client refused", extra={"event": "client-refused", "peer": str(peer), "reason": repr(exc)})
            incoming.abort()
            return None
        finally:
            self._handshakes -= 1
        return writer

    async def _serve_client(self, incoming: Incoming) -> None:
        peer, reader = incoming.peername, incoming.reader
        if (writer := await self._authenticate(incoming)) is None:
            return
        self._clients.add(writer)
        replies = Replies(writer, self.metrics)
        decoder = FrameDecoder(MAX_CLIENT_FRAME)
        try:
            while data := await reader.read(READ_CHUNK):
                frames = 0
                for payload in decoder.feed(data):
                    frames += 1
                    request = protocol.decode_request(payload)
                    if isinstance(request, StatusRequest):
                        self.reply(replies, StatusResponse(request.id, json.dumps(self.status()).encode()))
                    else:
                        self._request(request, replies)
                self.metrics.frame("client", "in", frames)
                if replies.pending > MAX_IN_FLIGHT:
                    log.warning(
                        "client has too many requests in flight, closing",
                        extra={"event": "client-flood", "peer": str(peer), "in_flight": replies.pending},
                    )
                    break
        except (FrameError, codec.DecodeError) as exc:
            log.warning(
                "bad client frame, closing", extra={"event": "client-frame", "peer": str(peer), "reason": str(exc)}
            )
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("client connection lost", extra={"event": "client-lost", "peer": str(peer), "reason": str(exc)})
        finally:
            self._clients.discard(writer)
            writer.close()

    def reply(self, replies: Replies, response: ClientResponse | StatusResponse) -> None:
        try:
            payload = protocol.encode(response)
        except codec.EncodeError as exc:  # an application's result beyond the bound: raising here loses the answer
            log.error("answer cannot be encoded", extra={"event": "client-answer", "reason": str(exc)})
            payload = protocol.encode(ClientResponse(response.id, protocol.ERROR, message=f"unsendable answer: {exc}"))
        replies.add(encode_frame(payload))

    def _refusal(self, command: Command) -> str | None:
        """Why a configuration change a client proposes is refused (`reconfigure.refusal`), from the
        configuration in force and every node that has been an auxiliary (it never learned the log)."""
        epochs = self.host.replica.configs.epochs
        auxiliaries = frozenset(self.names[a] for epoch in epochs for a in epoch.auxiliaries)
        return refusal(command.op, self.current, tuple(self.names), auxiliaries)

    def _request(self, request: ClientRequest, replies: Replies) -> None:
        """Take a command request with no task, timer or future of its own (they were most of a request's
        cost): its `Pending` answers once the command is applied or fails, and the clock expires stale ones."""
        command = _command(request.client, request.seq, request.op)
        if is_config(command) and (why := self._refusal(command)) is not None:
            log.warning("configuration change refused", extra={"event": "configuration", "reason": why})
            self.reply(replies, ClientResponse(request.id, protocol.ERROR, message=f"refused: {why}"))
            return
        if len(command.op) > codec.MAX_OP or command_bytes(command) > self.host.replica.config.batch_bytes:
            # no slot could carry it, nor any peer message: refused here, on every node, with the reason
            largest = min(codec.MAX_OP, self.host.replica.config.batch_bytes - command_bytes(command) + len(command.op))
            message = f"an op of {len(command.op)} bytes is above the largest command, {largest} bytes"
            self.reply(replies, ClientResponse(request.id, protocol.ERROR, message=message))
            return
        direct = isinstance(request, ProposeRequest)
        if self.host.replica.role is not Role.LEADER and not direct:
            self.reply(replies, ClientResponse(request.id, protocol.NOT_LEADER, leader=self._hint()))
            return
        pending = Pending(self, replies, request, time.monotonic())
        replies.pending += 1
        key = (request.client, request.seq)
        self.waiters.wait(key, pending)
        if direct:  # alone in its value: every acceptor must vote the same value, whatever else reached it
            if not self.host.submit((command,), direct=True):
                self.waiters.forget(key, pending)
                pending(NotTaken())
                return
        else:
            self._gather(command)
        self._deadlines.append(pending)

    def _expire(self) -> None:
        """Fail the requests past their deadline (and drop the settled ones at the front)."""
        now = time.monotonic()
        while self._deadlines and (self._deadlines[0].done or self._deadlines[0].deadline <= now):
            self._deadlines.popleft()(TimeoutError())

    def _hint(self) -> str | None:
        hint = self.host.replica.proposer.leader_hint
        return None if hint is None or hint == self.me else self.names[hint]

    async def execute(self, command: Command, limit: float = WAIT_LIMIT) -> Outcome:
        """Submit one command and wait until it is applied here (after its sync); raises `NoLeader` when
        the core knows no leader, `Deposed` when this node stopped leading meanwhile, `TimeoutError`.

        Commands arriving in one turn of the event loop are submitted together, so the core can put them
        in one slot (one vote, one sync, one round trip) instead of one slot each."""
        key = (command.client, command.seq)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def settle(outcome: bytes | BaseException) -> None:
            if not future.done():
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

        self.waiters.wait(key, settle)
        self._gather(command)
        try:
            return decode_outcome(await asyncio.wait_for(future, limit))
        finally:
            self.waiters.forget(key, settle)

    def _gather(self, command: Command) -> None:
        if not self._submitting:
            asyncio.get_running_loop().call_soon(self._submit_gathered)
        self._submitting.append(command)

    def _submit_gathered(self) -> None:
        commands, self._submitting = tuple(self._submitting), []
        if not self.host.submit(commands):
            self.waiters.fail({(c.client, c.seq) for c in commands}, NoLeader("no leader is known"))

    def response(self, request: ClientRequest, outcome: Outcome | BaseException) -> ClientResponse:
        """The answer to a request whose command was not applied for it: refused by its session, or failed."""
        rid = request.id
        if isinstance(outcome, Deposed):  # submitted: a new leader may still choose it
            return ClientResponse(rid, protocol.IN_DOUBT, leader=self._hint(), message=str(outcome))
        if isinstance(outcome, TimeoutError):
            return ClientResponse(rid, protocol.IN_DOUBT, message=f"not applied within {WAIT_LIMIT:g} s")
        if isinstance(outcome, NotTaken):
            return ClientResponse(rid, protocol.NOT_LEADER, leader=self._hint())
        if isinstance(outcome, BaseException):  # NoLeader
            return ClientResponse(rid, protocol.UNAVAILABLE, message=str(outcome))
        status = protocol.STALE if outcome.tag == STALE else protocol.EXPIRED
        return ClientResponse(rid, status, message=f"session {request.client} refused seq {request.seq}")

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        replica = self.host.replica
        ballot = max(replica.acceptor.promise, replica.proposer.ballot)
        return {
            "node": self.name,
            "role": replica.role.value,
            "leader": None if replica.proposer.leader_hint is None else self.names[replica.proposer.leader_hint],
            "configuration": {"slot": replica.configs.latest.slot, "nodes": list(self.current.nodes)},
            "ballot": [ballot.round, ballot.replica],
            "commit_index": replica.commit,
            "applied_index": replica.applied + 1,  # slots applied, counted as commit_index counts them
            "incarnation": self.incarnation,
            "waiting_clients": len(self.waiters),
            "waiting_readys": self.host.waiting,
            "last_sync_ms": None if self.last_sync is None else round(self.last_sync * 1000, 3),
            "wal_bytes": self.storage.wal_bytes(),
            "recovery": recovery(self.storage.report),
            "uptime_s": round(time.monotonic() - self.started, 3),
        }


async def run(options: NodeOptions) -> None:
    """Run a node until SIGTERM or SIGINT, then stop it cleanly."""
    sc = load_service_cluster(options.config)
    node = Node(sc, options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stopping.set)
    try:
        await node.start()
        await node.stopping.wait()
    finally:
        await node.stop()
    if node.failure is not None:
        raise NodeRefused(node.failure)


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on uvloop when importable, plain asyncio otherwise (the benchmark's client
    runs on the same loop as the nodes)."""
    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, T]], T] = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(main)


def main(options: NodeOptions) -> None:
    """Blocking entry point, with the interpreter tuned for a node:

    * The cyclic garbage collector runs its full collections rarely (`GC_THRESHOLDS`). A node holds up to
      `snapshot_interval` slots of batches (millions of objects, none in a cycle) that every full collection
      walks: at the default thresholds the collector took a fifth of the CPU and stalled the loop up to half
      a second (3 nodes and a client in one process, 1,024 in flight: 59 -> 51 us of CPU per op, the longest
      full collection 0.33 s -> none in 8 s). Young cycles are still collected at once, old ones later.
    * The GIL switch interval drops from 5 ms to `SWITCH_INTERVAL`: the group-commit thread needs the GIL for
      a moment after every fdatasync before the loop hears of it, and a busy loop would make it wait a whole
      interval each time, adding up to 5 ms to every sync on the commit path."""
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
    run_loop(run(options))
