"""`paxiom node --maelstrom`: the same node, speaking Maelstrom's JSON protocol on stdin/stdout.

Everything but the network is the server's: the host driver, `NodeStorage` with group commit in the data
directory (`--data-dir`, else `$MAELSTROM_DATA_DIR`), client sessions and the KV application. Peers are
reached through Maelstrom: a protocol message travels as `{"type": "paxiom", "frame": <base64 of its codec
encoding>}` addressed to the peer, so Maelstrom (or paxiom's own harness) can delay, drop and partition
it. The cluster is the `init` message's `node_ids`, with majority quorums.

Clients speak lin-kv — `read`, `write`, `cas` — and may address any node: a
follower hands the command to the leader (the core's forward) and answers once it has applied the entry
itself, so every answer comes after apply and sync and every read goes through the log. Errors: 20 key
does not exist, 22 cas precondition failed, 11 no leader known (definite: nothing was submitted), 0
timeout (indefinite: the command may still be chosen), 12 malformed request, 10 unsupported type.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from paxiom.errors import PaxiomError
from paxiom.impl.messages import Envelope
from paxiom.impl.values import Command
from paxiom.node import codec
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import Address, parse_service_cluster, render
from paxiom.node.echoes import PeerMessage
from paxiom.node.server import Node, NodeOptions, NoLeader, setup_logging
from paxiom.node.sessions import APPLIED, Application
from paxiom.node.tls import PeerSecurity
from paxiom.node.traced import Traced, opened
from paxiom.node.transport import RECEIVED

log = logging.getLogger("paxiom.node.maelstrom")

CLUSTER_ID = "maelstrom"
MAX_LINE = 1 << 20
ANSWER_WITHIN = 2.0
"""Seconds a client request waits for its entry before the indefinite `timeout` error."""
TIMEOUT, NOT_SUPPORTED, UNAVAILABLE, MALFORMED, NO_KEY, PRECONDITION = 0, 10, 11, 12, 20, 22


class Wire:
    """stdout: one JSON message per line, flushed at once."""

    def __init__(self, me: str) -> None:
        self.me = me
        self.next_id = 0

    def emit(self, dest: str, body: dict[str, Any]) -> None:
        self.next_id += 1
        line = json.dumps({"src": self.me, "dest": dest, "body": {**body, "msg_id": self.next_id}})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reply(self, request: dict[str, Any], body: dict[str, Any]) -> None:
        self.emit(request["src"], {**body, "in_reply_to": request["body"].get("msg_id")})

    def error(self, request: dict[str, Any], code: int, text: str) -> None:
        self.reply(request, {"type": "error", "code": code, "text": text})


class MaelstromPeers:
    """The peer transport's seam (`send`, `stop`), over Maelstrom messages."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def send(self, dst: str, msg: PeerMessage | Traced) -> None:
        self.wire.emit(dst, {"type": "paxiom", "frame": base64.b64encode(codec.encode(msg)).decode()})

    async def stop(self) -> None:
        return None


class MaelstromNode(Node):
    FAIL_ON_DEPOSED = False  # a follower's waiters are answered when it applies the entry, as a leader's are

    def __init__(self, options: NodeOptions, node_ids: list[str], wire: Wire) -> None:
        placeholder = {n: Address("maelstrom", 0) for n in node_ids}
        text = render(node_ids, placeholder, placeholder, {}, cluster_id=CLUSTER_ID, tls_dir=None)
        super().__init__(parse_service_cluster(text, Path("<maelstrom init>")), options)
        self.wire = wire
        self._requests: set[asyncio.Task[None]] = set()

    def _security(self) -> PeerSecurity:
        return PeerSecurity(CLUSTER_ID, None, None)  # no sockets: Maelstrom is the network

    async def start(self) -> None:
        self.open()
        self.transport = MaelstromPeers(self.wire)
        self._tasks.append(asyncio.get_running_loop().create_task(self._clock()))
        log.info("maelstrom node started", extra={"event": "start", "incarnation": self.incarnation})

    def deliver(self, message: dict[str, Any]) -> None:
        """A line from stdin: a peer's protocol message, or a client request (answered by a task)."""
        body = message["body"]
        kind = body.get("type")
        if kind == "paxiom":
            try:
                payload = base64.b64decode(body["frame"], validate=True)
                msg_id, wire = opened(cast(PeerMessage | Traced, codec.decode(payload, RECEIVED)))
                src = self.sc.index(message["src"])
            except (KeyError, TypeError, binascii.Error, codec.DecodeError, PaxiomError) as exc:
                log.warning("bad peer message dropped", extra={"event": "peer-frame", "reason": repr(exc)})
                return
            msg = self.echoes.incoming(message["src"], wire)
            if msg is not None:
                self.host.receive(Envelope(src, self.me, msg), msg_id)
            return
        task = asyncio.get_running_loop().create_task(self._client(message))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _client(self, request: dict[str, Any]) -> None:
        body = request["body"]
        kind = body.get("type")
        try:
            op = _op(kind, body)
        except (KeyError, TypeError, ValueError) as exc:
            self.wire.error(request, MALFORMED, f"malformed {kind}: {exc!r}")
            return
        if op is None:
            self.wire.error(request, NOT_SUPPORTED, f"unsupported message type {kind!r}")
            return
        client = f"{request['src']}#{body.get('msg_id')}@{self.name}"[:256]
        deadline = asyncio.get_running_loop().time() + ANSWER_WITHIN
        try:
            while True:  # until a leader is known (an election takes a few ticks) or the deadline
                try:
                    outcome = await self.execute(Command(client, 1, op), ANSWER_WITHIN)
                    break
                except NoLeader:
                    if asyncio.get_running_loop().time() >= deadline:
                        self.wire.error(request, UNAVAILABLE, "no leader known; nothing was submitted")
                        return
                    await asyncio.sleep(self.sc.tuning["tick_ms"] / 1000)
        except TimeoutError:
            self.wire.error(request, TIMEOUT, f"not applied within {ANSWER_WITHIN:g} s (it may still be)")
            return
        assert outcome.tag == APPLIED  # each request is its own session, seq 1: never stale
        self._respond(request, kind, kv.KVResult.decode(outcome.result))

    def _respond(self, request: dict[str, Any], kind: str, result: kv.KVResult) -> None:
        if result.status == kv.NOT_FOUND:
            self.wire.error(request, NO_KEY, "key does not exist")
        elif result.status == kv.MISMATCH:
            current = None if result.value is None else json.loads(result.value)
            self.wire.error(request, PRECONDITION, f"expected a different value (current: {current!r})")
        elif result.status == kv.ERROR:
            self.wire.error(request, MALFORMED, (result.value or b"").decode("utf-8", "replace"))
        elif kind == "read":
            self.wire.reply(request, {"type": "read_ok", "value": json.loads(result.value or b"null")})
        else:
            self.wire.reply(request, {"type": f"{kind}_ok"})


def _op(kind: Any, body: dict[str, Any]) -> bytes | None:
    """The KV op of a lin-kv request (keys and values are any JSON, kept as their JSON text)."""
    if kind not in ("read", "write", "cas"):
        return None
    key = json.dumps(body["key"], sort_keys=True)
    if kind == "read":
        return kv.get_op(key)
    if kind == "write":
        return kv.put_op(key, _value(body["value"]))
    return kv.cas_op(key, _value(body["from"]), _value(body["to"]))


def _value(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


async def serve(data_dir: Path | None, trace_dir: Path | None, app: Callable[[], Application]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    node: MaelstromNode | None = None
    reading = loop.create_task(_lines(reader))
    waiting = loop.create_task(stop.wait())
    try:
        while True:
            done, _ = await asyncio.wait((reading, waiting), return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                return
            line = reading.result()
            if line is None:
                return
            reading = loop.create_task(_lines(reader))
            message = _parse(line)
            if message is None:
                continue
            if node is not None:
                node.deliver(message)
            elif message["body"].get("type") == "init":
                node = await _init(message, data_dir, trace_dir, app)
    finally:
        reading.cancel()
        waiting.cancel()
        if node is not None:
            await node.stop()


async def _init(
    message: dict[str, Any], data_dir: Path | None, trace_dir: Path | None, app: Callable[[], Application]
) -> MaelstromNode:
    body = message["body"]
    me, ids = str(body["node_id"]), [str(n) for n in body["node_ids"]]
    setup_logging(me)
    wire = Wire(me)
    where = data_dir or (Path(os.environ["MAELSTROM_DATA_DIR"]) if os.environ.get("MAELSTROM_DATA_DIR") else None)
    if where is None:
        where = Path(tempfile.mkdtemp(prefix=f"paxiom-{me}-"))
        log.warning("no --data-dir: state in %s does not survive a restart of this node", where)
    node = MaelstromNode(NodeOptions(Path("<maelstrom>"), me, where, trace_dir, True, app), ids, wire)
    await node.start()
    wire.reply(message, {"type": "init_ok"})
    return node


async def _lines(reader: asyncio.StreamReader) -> bytes | None:
    try:
        line = await reader.readline()
    except ValueError:  # longer than MAX_LINE: skip it rather than buffer it
        log.warning("dropped an over-long input line")
        return b""
    return line or None


def _parse(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        message = json.loads(line)
        if isinstance(message, dict) and isinstance(message.get("body"), dict) and "src" in message:
            return message
    except ValueError:
        pass
    log.warning("dropped a line that is not a Maelstrom message", extra={"line": line[:200].decode("utf-8", "replace")})
    return None


def main(data_dir: Path | None, trace_dir: Path | None, app: Callable[[], Application]) -> None:
    asyncio.run(serve(data_dir, trace_dir, app))
