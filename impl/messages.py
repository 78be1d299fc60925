"""The wire protocol between replicas. Every message is an immutable value; `Envelope` adds addresses.

Phase 1 (`Prepare`/`Promise`) runs once per leadership for every slot from the candidate's first unchosen
slot; phase 2 (`Accept`/`Accepted`) runs per slot and is pipelined. `Nack` tells a proposer its ballot is
stale, `Heartbeat` keeps followers from starting elections and tells them how far the log is chosen,
`Chosen` spreads decisions, `CatchUpRequest`/`CatchUpReply` move a chosen prefix (or a snapshot) to a
lagging replica, and `Forward` hands client commands to the leader.
"""

from __future__ import annotations

from dataclasses import dataclass

from paxiom.impl.ballot import Ballot
from paxiom.impl.values import Command, Value, render_value


@dataclass(frozen=True, slots=True)
class Vote:
    """An acceptor's latest vote in one slot."""

    slot: int
    ballot: Ballot
    value: Value


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state machine after applying every slot up to `last_slot`, sealed by `digest`."""

    last_slot: int
    state: bytes
    checksum: bytes
    """The chain checksum of the chosen prefix up to `last_slot`."""
    digest: bytes
    """`checksum.state_digest(state, checksum, switches)`: detects a corrupted snapshot."""
    switches: tuple[ChosenEntry, ...] = ()
    """The configuration commands compacted into it that still govern slots above it (`impl.reconfig`)."""


@dataclass(frozen=True, slots=True)
class ChosenEntry:
    slot: int
    value: Value
    checksum: bytes
    """The chain checksum of the prefix ending at this entry."""


@dataclass(frozen=True, slots=True)
class Prepare:
    """1a: join `ballot` for every slot from `first_slot` on."""

    ballot: Ballot
    first_slot: int


@dataclass(frozen=True, slots=True)
class Promise:
    """1b: the sender joined `ballot` and reports its votes in slots `first_slot` and above."""

    ballot: Ballot
    first_slot: int
    votes: tuple[Vote, ...]


@dataclass(frozen=True, slots=True)
class Accept:
    """2a: vote for `value` in `slot` at `ballot`."""

    ballot: Ballot
    slot: int
    value: Value


@dataclass(frozen=True, slots=True)
class Accepted:
    """2b: the sender voted for `value` in `slot` at `ballot`."""

    ballot: Ballot
    slot: int
    value: Value


@dataclass(frozen=True, slots=True)
class Nack:
    """The sender has promised `promised`, above the ballot it was asked to join or vote in."""

    promised: Ballot


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The leader of `ballot` is alive; every slot below `commit` is chosen and known to it."""

    ballot: Ballot
    commit: int


@dataclass(frozen=True, slots=True)
class Chosen:
    """`value` is chosen in `slot`."""

    slot: int
    value: Value


@dataclass(frozen=True, slots=True)
class CatchUpRequest:
    """Send me the chosen entries from `first_slot` on (or a snapshot if you compacted them)."""

    first_slot: int


@dataclass(frozen=True, slots=True)
class CatchUpReply:
    """A chosen prefix: an optional snapshot, then consecutive entries each carrying its chain checksum."""

    snapshot: Snapshot | None
    entries: tuple[ChosenEntry, ...]


@dataclass(frozen=True, slots=True)
class Forward:
    """Client commands handed to the replica believed to lead."""

    commands: tuple[Command, ...]


@dataclass(frozen=True, slots=True)
class AnyFrom:
    """Fast Paxos's "any": the leader of fast `ballot` lets acceptors vote for client commands directly, in
    every slot from `first_slot` on (`impl.fast`)."""

    ballot: Ballot
    first_slot: int


@dataclass(frozen=True, slots=True)
class Propose:
    """Fast Paxos: client commands sent straight to an acceptor, to vote for at its open fast ballot."""

    commands: tuple[Command, ...]


Message = (
    Prepare
    | Promise
    | Accept
    | Accepted
    | Nack
    | Heartbeat
    | Chosen
    | CatchUpRequest
    | CatchUpReply
    | Forward
    | AnyFrom
    | Propose
)


@dataclass(frozen=True, slots=True)
class Envelope:
    src: int
    dst: int
    msg: Message


def describe(envelope: Envelope, names: tuple[str, ...]) -> str:
    """One line for a human reading a trace, e.g. `a5 -> a4 Prepare(ballot=1.4, first_slot=0)`."""
    msg = envelope.msg
    fields = []
    for name in msg.__slots__:
        value = getattr(msg, name)
        if name == "votes":
            value = "[" + ", ".join(f"{v.slot}:{v.ballot}={render_value(v.value)}" for v in value) + "]"
        elif name == "entries":
            value = f"slots {value[0].slot}..{value[-1].slot}" if value else "none"
        elif name == "snapshot":
            value = f"up to slot {value.last_slot}" if value is not None else "none"
        elif name in ("value", "commands"):
            value = render_value(value)
        fields.append(f"{name}={value}")
    return f"{names[envelope.src]} -> {names[envelope.dst]} {type(msg).__name__}({', '.join(fields)})"
