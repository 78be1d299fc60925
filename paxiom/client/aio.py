"""The asyncio client: leader discovery and redirect, retries under the same session seq, deadlines.

Each request runs under a deadline (`timeout`). It goes to the node believed to lead; a `not_leader`
answer moves it to the hinted node, a refused connection or `unavailable` to the next node after a short
pause, and a node that says nothing within `attempt_timeout` is left for the next one. Once an attempt may
have been submitted (no answer, or `in_doubt`: a leader took it and was deposed), failing to finish by the
deadline is a `Timeout` (outcome unknown), never `NotLeader` or `Unavailable` (which mean not applied). Every attempt
carries the same `(client, seq)`, so however many nodes saw it, the service applies it once and every
answer is the first one. A session has at most one request in flight; `sessions=k` gives k of them.

With `fast` (a Fast Paxos cluster: `[quorums] fast`, which `cluster.aconnect` reads), each request is first
sent straight to every node at once, the acceptors of the open fast ballot, and the first `ok` answers it:
two message delays to a learner instead of three through the leader. When no node takes it that way (no fast
ballot open, the leader taking it the classic way gone) or none answers within `attempt_timeout` (its vote
lost in a collision the leader recovered otherwise), it goes on as above, under the same seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from paxiom.client import protocol
from paxiom.client.connection import Connection
from paxiom.client.errors import NotLeader, Rejected, Timeout, Unavailable
from paxiom.client.protocol import ClientResponse, StatusResponse
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import Address

PAUSE = 0.05
"""Seconds to wait before trying again after a node refused or could not serve."""
UNREACHED, REDIRECTED, TIMED_OUT = range(3)
"""What went wrong last, worst kept: a timed-out request may have been applied, a refused one was not."""
RETRYABLE = frozenset((protocol.NOT_LEADER, protocol.IN_DOUBT, protocol.UNAVAILABLE))
"""Answers after which the request goes on at another node (the others end it)."""


@dataclass
class Session:
    client: str
    seq: int = 0

    def renew(self) -> None:
        """A new identity at seq 1, for a session the service no longer knows (see `_Expired`)."""
        self.client, self.seq = uuid.uuid4().hex, 1


class _Expired(Exception):
    """The service answered `expired`: it holds no session for this client, so it applied nothing. That
    happens after eviction, or when the session's first command timed out without ever being taken (every
    later seq is then above 1 for a client with none). The command goes on under a renewed session; an
    earlier command still in doubt stays at most once under the old identity."""


class AsyncClient:
    def __init__(
        self,
        addresses: Mapping[str, Address],
        tls: ssl.SSLContext | None,
        *,
        timeout: float = 10.0,
        attempt_timeout: float = 2.0,
        sessions: int = 1,
        client_id: str | None = None,
        fast: bool = False,
    ) -> None:
        if not addresses:
            raise ValueError("a client needs at least one node address")
        self.addresses = dict(addresses)
        self.tls = tls
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self.fast = fast
        base = client_id or uuid.uuid4().hex
        self.free: asyncio.Queue[Session] = asyncio.Queue()
        for i in range(sessions):
            self.free.put_nowait(Session(base if sessions == 1 else f"{base}.{i}"))
        self.leader: str | None = None
        self.connections: dict[str, Connection] = {}
        self._opening: dict[str, asyncio.Future[Connection]] = {}
        self._order = itertools.cycle(list(self.addresses))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ the KV store's operations

    async def get(self, key: str) -> bytes | None:
        result = await self.kv(kv.get_op(key))
        return result.value if result.status == kv.OK else None

    async def put(self, key: str, value: bytes) -> None:
        await self.kv(kv.put_op(key, value))

    async def delete(self, key: str) -> bool:
        """True when the key existed."""
        return (await self.kv(kv.delete_op(key))).status == kv.OK

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> kv.KVResult:
        """`ok`, `not_found` (expected a value, the key is absent) or `mismatch` (with the current value)."""
        return await self.kv(kv.cas_op(key, expected, new))

    async def list(self, prefix: str = "", limit: int = kv.MAX_LIST, start_after: str = "") -> kv.KVResult:
        return await self.kv(kv.list_op(prefix, limit, start_after))

    async def kv(self, op: bytes) -> kv.KVResult:
        result = kv.KVResult.decode(await self.execute(op))
        if result.status == kv.ERROR:
            raise Rejected((result.value or b"").decode("utf-8", "replace"))
        return result

    # ------------------------------------------------------------------ any application

    async def execute(self, op: bytes) -> bytes:
        """Run one application op through the log; its result once applied on a synced quorum."""
        if len(op) > protocol.MAX_REQUEST_OP:  # no node could read the request
            raise Rejected(f"an op of {len(op)} bytes is above the largest request, {protocol.MAX_REQUEST_OP} bytes")
        try:  # a free session at once, as nearly always, without a coroutine of the queue's
            session = self.free.get_nowait()
        except asyncio.QueueEmpty:
            session = await self.free.get()
        try:
            session.seq += 1
            try:
                return await self._run(session, op)
            except _Expired:
                session.renew()  # seq 1 opens a session, so this cannot be answered `expired` again
                return await self._run(session, op)
        except (NotLeader, Unavailable):
            session.seq -= 1  # no node took it, so its seq is free again: the service starts a session at seq 1
            raise
        finally:
            self.free.put_nowait(session)

    async def status(self, node: str) -> dict[str, object]:
        """The node's own status document (leader, ballot, commit index, storage figures)."""
        connection = await self._connect(node, self.attempt_timeout)
        response = await connection.status(self.attempt_timeout)
        if not isinstance(response, StatusResponse):
            raise Rejected(f"{node} answered a status request with {response!r}")
        document = json.loads(response.document)
        assert isinstance(document, dict)
        return document

    async def _run(self, session: Session, op: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        failure, last, hint = UNREACHED, "no node answered", None
        if self.fast:
            outcome = await self._fast(session, op, deadline)
            if isinstance(outcome, bytes):
                return outcome
            failure, last, hint = outcome
        known = self.leader or hint
        target = known if known in self.addresses else next(self._order)
        while (remaining := deadline - time.monotonic()) > 0:
            attempt = min(remaining, self.attempt_timeout)
            try:
                connection = self.connections.get(target) or await self._connect(target, attempt)
                if connection.closed:
                    connection = await self._connect(target, attempt)
            except (TimeoutError, OSError) as exc:
                failure, last = max(failure, UNREACHED), f"{target}: cannot connect ({type(exc).__name__} {exc})"
                target = await self._next(target, deadline)
                continue
            try:
                response = await connection.command(session.client, session.seq, op, attempt)
            except (TimeoutError, OSError) as exc:  # ConnectionError is an OSError
                failure, last = TIMED_OUT, f"{target}: no answer ({type(exc).__name__} {exc})"
                await self._drop(target)
                target = next(self._order)
                continue
            assert isinstance(response, ClientResponse)
            if response.status == protocol.OK:
                self.leader = target
                return response.result
            if response.status in (protocol.NOT_LEADER, protocol.IN_DOUBT):
                hint = response.leader or hint
                if response.status == protocol.IN_DOUBT:  # it was submitted: whatever follows, it may be applied
                    failure, last = TIMED_OUT, f"{target}: {response.message}"
                else:
                    failure = max(failure, REDIRECTED)
                    last = f"{target}: not the leader" + (f" (leader: {hint})" if hint else "")
                if response.leader in self.addresses and response.leader != target:
                    target = response.leader
                else:
                    target = await self._next(target, deadline)
                continue
            if response.status == protocol.UNAVAILABLE:
                failure, last = max(failure, REDIRECTED), f"{target}: unavailable ({response.message})"
                target = await self._next(target, deadline)
                continue
            if response.status == protocol.EXPIRED:
                raise _Expired(response.message)
            raise Rejected(f"{target}: {response.status}: {response.message}".rstrip(": "))
        within = f"within {self.timeout:g} s ({last})"
        if failure == TIMED_OUT:
            raise Timeout(f"no outcome {within}; the request may still be applied (at most once)")
        if failure == REDIRECTED and hint is not None:
            raise NotLeader(f"no leader answered {within}", hint)
        raise Unavailable(f"the cluster could not serve {within}")

    async def _fast(self, session: Session, op: bytes, deadline: float) -> bytes | tuple[int, str, str | None]:
        """The fast path: the command to every node at once, the first `ok` its result. Otherwise what the
        classic path goes on from: the worst failure seen, its text, and a leader hint."""
        attempt = max(0.0, min(self.attempt_timeout, deadline - time.monotonic()))

        async def one(node: str) -> tuple[str, int, str, ClientResponse | None]:
            try:
                connection = await self._connect(node, attempt)
            except (TimeoutError, OSError) as exc:
                return node, UNREACHED, f"{node}: cannot connect ({type(exc).__name__} {exc})", None
            try:
                response = await connection.command(session.client, session.seq, op, attempt, direct=True)
            except (TimeoutError, OSError) as exc:  # it may have voted: the outcome is unknown
                return node, TIMED_OUT, f"{node}: no answer ({type(exc).__name__} {exc})", None
            assert isinstance(response, ClientResponse)
            return node, TIMED_OUT if response.status == protocol.IN_DOUBT else REDIRECTED, "", response

        failure, last, hint = UNREACHED, "no node answered", None
        tasks = [asyncio.ensure_future(one(node)) for node in self.addresses]
        try:
            for next_answer in asyncio.as_completed(tasks):
                node, kind, text, response = await next_answer
                if response is not None and response.status == protocol.OK:
                    return response.result
                if response is not None and response.status == protocol.EXPIRED:
                    raise _Expired(response.message)
                if response is not None and response.status not in RETRYABLE:
                    raise Rejected(f"{node}: {response.status}: {response.message}".rstrip(": "))
                if response is not None:
                    hint = response.leader or hint
                    text = f"{node}: {response.status}" + (f" ({response.message})" if response.message else "")
                if kind >= failure:
                    failure, last = kind, text
        finally:
            for task in tasks:
                task.cancel()
        return failure, last, hint

    async def _next(self, target: str, deadline: float) -> str:
        """The next node to try, after a short pause (bounded by the deadline)."""
        await asyncio.sleep(max(0.0, min(PAUSE, deadline - time.monotonic())))
        if self.leader == target:
            self.leader = None
        return next(self._order)

    async def _connect(self, node: str, timeout: float) -> Connection:
        """The open connection to `node`, or one being opened: requests that find none at the same time share
        one attempt (each opening its own would orphan all but the last, and the requests riding on them)."""
        connection = self.connections.get(node)
        if connection is not None and not connection.closed:
            return connection
        if node not in self.addresses:
            raise ConnectionError(f"unknown node {node!r}")
        opening = self._opening.get(node)
        if opening is None:
            opening = asyncio.ensure_future(Connection.open(self.addresses[node], self.tls, node, timeout))
            self._opening[node] = opening
            opening.add_done_callback(lambda done: self._opened(node, done))
        return await asyncio.wait_for(asyncio.shield(opening), timeout)

    def _opened(self, node: str, done: asyncio.Future[Connection]) -> None:
        del self._opening[node]
        if not done.cancelled() and done.exception() is None:
            self.connections[node] = done.result()

    async def _drop(self, node: str) -> None:
        connection = self.connections.pop(node, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
        if self.leader == node:
            self.leader = None

    async def close(self) -> None:
        for opening in list(self._opening.values()):
            opening.cancel()
        for node in list(self.connections):
            await self._drop(node)
