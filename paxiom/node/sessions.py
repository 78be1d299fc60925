"""Client sessions: exactly-once application of client commands on top of any replicated application.

The core never deduplicates (two clients sending the same bytes are two commands), and a client that
times out must retry with the same `(client, seq)` identity: the retry may land in a second log slot.
`SessionMachine` wraps an `Application` and remembers, per client, the last seq it applied and that
command's result, so

* a retry (same client, same seq) is answered with the first result and not applied again;
* an older seq is answered `STALE` (the client has moved on; its answer is gone);
* a seq above 1 from a client with no session is answered `EXPIRED`: its session was evicted, and applying
  the command could apply it twice.

A client therefore keeps at most one command in flight per session (the Python client does); concurrency
comes from more sessions. The table is bounded, and expiry is deterministic — by the count of commands
applied, never by a clock — so every replica evicts the same sessions at the same point of the log, and
the table lives in the snapshot with the application's state.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import msgpack

from paxiom.impl.values import Command

APPLIED = 0
"""Result tag: the application's result follows (applied now, or remembered from the first time)."""
STALE = 1
"""Result tag: the seq is below the session's last; nothing was applied."""
EXPIRED = 2
"""Result tag: no session for this client and seq > 1; nothing was applied."""

DEFAULT_CAPACITY = 10_000
DEFAULT_IDLE_LIMIT = 1_000_000
"""A session untouched for this many applied commands is dropped."""


class Application(Protocol):
    """What an embedding application implements to be replicated by a paxiom node.

    Deterministic: the same ops in the same order must give the same results and the same snapshot on
    every replica (no clocks, no randomness, no iteration over unordered sets into the result).
    """

    def apply(self, op: bytes) -> bytes:
        """Execute one client operation and return its result for that client."""
        ...

    def snapshot(self) -> bytes:
        """The whole state as bytes, so the log below it can be discarded."""
        ...

    def restore(self, state: bytes) -> None:
        """Replace the state with one `snapshot()` produced."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decoded `SessionMachine.apply` result."""

    tag: int
    result: bytes
    """The application's result when `tag == APPLIED`, else empty."""


def encode_outcome(tag: int, result: bytes = b"") -> bytes:
    return bytes((tag,)) + result


_APPLIED, _STALE, _EXPIRED = encode_outcome(APPLIED), encode_outcome(STALE), encode_outcome(EXPIRED)


def decode_outcome(raw: bytes) -> Outcome:
    if not raw or raw[0] not in (APPLIED, STALE, EXPIRED):
        raise ValueError(f"not a session result: {raw[:16]!r}")
    return Outcome(raw[0], raw[1:])


@dataclass(slots=True)
class _Session:
    seq: int
    result: bytes
    touched: int
    """The applied-command count when this session last applied a command."""


class SessionMachine:
    """The core's `StateMachine` over an `Application`, with bounded, snapshotted client sessions."""

    def __init__(
        self, app: Application, capacity: int = DEFAULT_CAPACITY, idle_limit: int = DEFAULT_IDLE_LIMIT
    ) -> None:
        if capacity < 1 or idle_limit < 1:
            raise ValueError("session capacity and idle limit must be at least 1")
        self.app = app
        self.capacity = capacity
        self.idle_limit = idle_limit
        self.applied = 0
        """Commands applied (retries included): the deterministic clock of expiry."""
        self._idle_due = 0
        """No session can be idle for `idle_limit` before `applied` reaches this (the oldest session's last
        touch only ever moves on), so `apply` looks for idle sessions only from then on."""
        self.sessions: OrderedDict[str, _Session] = OrderedDict()
        """Least recently applied first."""

    def apply(self, command: Command) -> bytes:
        """Run on every replica for every applied command: kept to a few dict operations."""
        self.applied += 1
        sessions, client, seq = self.sessions, command.client, command.seq
        session = sessions.get(client)
        if session is None:
            if seq > 1:
                return _EXPIRED
            session = sessions[client] = _Session(seq, self.app.apply(command.op), self.applied)
        elif seq < session.seq:
            return _STALE
        else:
            if seq > session.seq:
                session.seq, session.result = seq, self.app.apply(command.op)
            session.touched = self.applied
            sessions.move_to_end(client)
        if len(sessions) > self.capacity or self.applied >= self._idle_due:
            self._expire()
        return _APPLIED + session.result

    def _expire(self) -> None:
        sessions = self.sessions
        while len(sessions) > self.capacity or self.applied - next(iter(sessions.values())).touched >= self.idle_limit:
            del sessions[next(iter(sessions))]
        self._idle_due = next(iter(sessions.values())).touched + self.idle_limit

    def snapshot(self) -> bytes:
        table = [[client, s.seq, s.result, s.touched] for client, s in self.sessions.items()]
        packed: bytes = msgpack.packb([self.applied, table, self.app.snapshot()], use_bin_type=True)
        return packed

    def restore(self, state: bytes) -> None:
        applied, table, inner = msgpack.unpackb(state, raw=False)
        self.app.restore(inner)
        self.applied = applied
        self._idle_due = 0
        self.sessions = OrderedDict((client, _Session(seq, result, touched)) for client, seq, result, touched in table)
