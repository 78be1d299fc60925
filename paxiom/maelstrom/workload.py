"""lin-kv clients: C logical clients c1..cC issuing read / write / cas on a few keys, recording a history.

Each client has one operation outstanding at a time (Jepsen's process model). A request times out into
`info`; a definite error completes it as `fail`, except that a node saying it cannot serve right now
(temporarily-unavailable, node-not-found) is retried on the other nodes within the same timeout, as
Maelstrom's clients do. After an `info` a client continues as a new process (process + C), because its
old operation may still be in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paxiom.lin.history import Event, EventType
from paxiom.maelstrom.proc import Finding
from paxiom.maelstrom.protocol import RETRY_ELSEWHERE, Message, error_name, is_definite

KEYS = (0, 1)
MIX = ("read", "read", "write", "cas")  # half reads: only reads and successful cas reveal the state
VALUES = 100  # values 0..99: a stale read rarely matches some other write by chance


@dataclass(frozen=True, slots=True)
class Op:
    f: str  # read | write | cas
    key: int
    value: Any  # None | v | (old, new)

    def body(self) -> dict[str, Any]:
        if self.f == "read":
            return {"type": "read", "key": self.key}
        if self.f == "write":
            return {"type": "write", "key": self.key, "value": self.value}
        return {"type": "cas", "key": self.key, "from": self.value[0], "to": self.value[1]}


class Clients:
    def __init__(
        self,
        nodes: list[str],
        concurrency: int,
        rate: float,
        timeout: float,
        rng: random.Random,
        start_ns: int,
        send: Callable[[Message], None],
        on_finding: Callable[[Finding], None],
    ) -> None:
        self.nodes = nodes
        self.concurrency = concurrency
        self.rate = rate
        self.timeout = timeout
        self.rng = rng
        self.start_ns = start_ns
        self.send = send
        self.on_finding = on_finding
        self.ids = [f"c{i + 1}" for i in range(concurrency)]
        self.history: list[Event] = []
        self.served: dict[int, str] = {}  # completion event index -> the node that answered (or was waited on)
        self._pending: dict[tuple[str, int], asyncio.Future[dict[str, Any]]] = {}
        self._msg_ids = dict.fromkeys(self.ids, 0)
        self._seen: dict[int, Any] = {}  # key -> the value some client last saw it hold

    def now(self) -> int:
        return time.monotonic_ns() - self.start_ns

    def on_reply(self, msg: Message) -> None:
        future = self._pending.pop((msg.dest, msg.body.get("in_reply_to", -1)), None)
        if future is not None and not future.done():
            future.set_result({**msg.body, "_from": msg.origin})

    async def run(self, until_s: float) -> None:
        await asyncio.gather(*(self._client(i, until_s) for i in range(self.concurrency)))

    def _op(self) -> Op:
        """A random operation; a cas expects the value last seen for its key, so it often succeeds."""
        f = self.rng.choice(MIX)
        key = self.rng.choice(KEYS)
        if f == "read":
            return Op(f, key, None)
        if f == "write":
            return Op(f, key, self.rng.randrange(VALUES))
        seen = self._seen.get(key)
        return Op(f, key, (self.rng.randrange(VALUES) if seen is None else seen, self.rng.randrange(VALUES)))

    async def _client(self, index: int, until_s: float) -> None:
        process = index
        next_at = self.now() / 1e9 + self.rng.uniform(0, self.concurrency / self.rate)
        while True:
            next_at += self.rng.expovariate(self.rate / self.concurrency)
            delay = next_at - self.now() / 1e9
            if next_at >= until_s:
                return
            if delay > 0:
                await asyncio.sleep(delay)
            op = self._op()
            self._record(process, "invoke", op, op.value)
            kind, value, error, node = await self._perform(self.ids[index], op)
            self.served[len(self.history)] = node
            self._record(process, kind, op, value, error)
            if kind == "ok":
                self._seen[op.key] = value if op.f != "cas" else value[1]
            if kind == "info":
                process += self.concurrency

    def _record(self, process: int, kind: EventType, op: Op, value: Any, error: Any = None) -> None:
        self.history.append(Event(len(self.history), process, kind, op.f, value, op.key, self.now(), error))

    async def _perform(self, client: str, op: Op) -> tuple[EventType, Any, Any, str]:
        """(type, value, error) of the completion, and the node it came from (or was waited on)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        first = self.rng.choice(self.nodes)
        others = [n for n in self.nodes if n != first]
        self.rng.shuffle(others)
        error: Any = "timeout"
        for node in [first, *others]:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._msg_ids[client] += 1
            msg_id = self._msg_ids[client]
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending[(client, msg_id)] = future
            self.send(Message(client, node, {**op.body(), "msg_id": msg_id}))
            try:
                reply = await asyncio.wait_for(future, remaining)
            except TimeoutError:
                self._pending.pop((client, msg_id), None)
                return "info", op.value, "timeout", node
            outcome = self._outcome(op, reply)
            if outcome is not None:
                return (*outcome, node)
            error = error_name(int(reply.get("code", -1)))
        return "fail", op.value, error, node  # every node said it could not serve now

    def _outcome(self, op: Op, reply: dict[str, Any]) -> tuple[EventType, Any, Any] | None:
        """The completion a reply means; None to retry on another node."""
        kind = reply.get("type")
        if kind == f"{op.f}_ok":
            return "ok", (reply.get("value") if op.f == "read" else op.value), None
        code = reply.get("code")
        if kind != "error" or isinstance(code, bool) or not isinstance(code, int):
            node = str(reply.get("_from"))
            self.on_finding(Finding("garbage", node, f"answered a {op.f} with {_short(reply)}", self.now() / 1e9))
            return "info", op.value, "garbage"
        if op.f == "read" and code == 20:
            return "ok", None, None  # the key does not exist: the read saw nil
        if code in RETRY_ELSEWHERE:
            return None
        return ("fail" if is_definite(code) else "info"), op.value, error_name(code)


def _short(body: dict[str, Any]) -> str:
    text = repr({k: v for k, v in body.items() if k != "_from"})
    return text if len(text) <= 160 else text[:157] + "..."
