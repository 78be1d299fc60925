"""The canonical messages every implementation under test speaks, and their JSON form (protocol versions 1, 2).

Version 1 is single-decree Paxos. Version 2 adds what the other variants need: Multi-Paxos's slots (on
accept, accepted and decision, and a promise reporting its latest vote in every slot), Fast Paxos's
`any` message and client values sent straight to acceptors (`propose` to an acceptor), and for
reconfiguration and Cheap Paxos (logs of slots too) the configuration a proposal names (`config` on accept
and accepted: the index of one of init's `configs`). Which fields a message must carry depends on the
variant of the run (`Wire`), given at init.

A ballot is a pair `[round, proposer]`: rounds order ballots, the proposer's id breaks ties, and because a
proposer only ever mints ballots carrying its own id, no ballot is ever used by two proposers. This is the
shape nearly every implementation already uses (composable-paxos's `ProposalID(number, uid)`, paxiom's
`Ballot(round, replica)`), so adapters translate rather than invent.

Parsing is strict: anything that is not exactly one of these shapes raises `Garbage`, naming what is wrong,
because an implementation emitting garbage is itself a finding.
"""

from __future__ import annotations

import reprlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

PROTOCOL = "paxiom-conform/1"
PROTOCOL_2 = "paxiom-conform/2"


LOGS = ("multipaxos", "reconfig", "cheap")
"""The variants whose messages name slots of a log."""
CONFIGURED = frozenset({"reconfig", "cheap"})
"""The variants whose proposals and votes name a configuration."""


class Wire(NamedTuple):
    """What the messages of a run look like: its variant, how many slots are in play (the log variants)
    and how many configurations a proposal may name (reconfiguration, Cheap Paxos)."""

    variant: str = "paxos"
    slots: int = 1
    configs: int = 1

    @property
    def protocol(self) -> str:
        """Single-decree runs keep version 1, so version-1 implementations keep working unchanged."""
        return PROTOCOL if self.variant == "paxos" else PROTOCOL_2

    @property
    def slotted(self) -> bool:
        return self.variant in LOGS

    @property
    def configured(self) -> bool:
        return self.variant in CONFIGURED


V1 = Wire()

MAX_ROUND = 2**63 - 1
"""Rounds beyond a signed 64-bit integer are garbage: no implementation mints them, and they would make the
suite's own arithmetic and printing arbitrarily slow."""

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxtuple = 4, 8, 8, 8
_SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 120, 40, 120


def shown(thing: Any) -> str:
    """A bounded repr for reports: whatever an implementation emits (huge, deeply nested) stays one short line."""
    try:
        return _SHORT.repr(thing)
    except (ValueError, RecursionError):
        return f"<{type(thing).__name__} too large to show>"


class Garbage(ValueError):
    """A message that is not well formed in the canonical schema."""


class Ballot(NamedTuple):
    """Ordered by round, then by proposer id (string order)."""

    round: int
    node: str

    def __str__(self) -> str:
        return f"{self.round}.{self.node}"

    def to_json(self) -> list[Any]:
        return [self.round, self.node]


class LastVote(NamedTuple):
    """An acceptor's latest vote, reported in its promise."""

    ballot: Ballot
    value: str


class SlotVote(NamedTuple):
    """Multi-Paxos: an acceptor's latest vote in one slot, reported in its promise."""

    slot: int
    ballot: Ballot
    value: str


@dataclass(frozen=True)
class Prepare:
    """1a: `src` asks `dst` to join `ballot`."""

    src: str
    dst: str
    ballot: Ballot
    type = "prepare"


@dataclass(frozen=True)
class Promise:
    """1b: `src` joins `ballot` and reports its latest vote (None if it never voted). In Multi-Paxos it
    joins `ballot` for every slot at once and `votes` reports its latest vote in each slot it voted in
    (`last` is then unused)."""

    src: str
    dst: str
    ballot: Ballot
    last: LastVote | None
    votes: tuple[SlotVote, ...] | None = None
    type = "promise"


@dataclass(frozen=True)
class Nack:
    """`src` refuses `ballot` because it has promised `promised`, a higher one."""

    src: str
    dst: str
    ballot: Ballot
    promised: Ballot
    type = "nack"


@dataclass(frozen=True)
class Accept:
    """2a: `src` asks `dst` to vote for `value` at `ballot` (in `slot`, in the log variants; under
    configuration `config`, the one governing the slot, in reconfiguration and Cheap Paxos)."""

    src: str
    dst: str
    ballot: Ballot
    value: str
    slot: int | None = None
    config: int | None = None
    type = "accept"


@dataclass(frozen=True)
class AcceptAny:
    """Fast Paxos 2a "any": the coordinator of fast ballot `ballot` lets `dst` vote for the first client
    value that reaches it."""

    src: str
    dst: str
    ballot: Ballot
    type = "any"


@dataclass(frozen=True)
class Accepted:
    """2b: `src` voted for `value` at `ballot` (in `slot`, under the accept's `config`, as in `Accept`);
    sent to proposers and learners."""

    src: str
    dst: str
    ballot: Ballot
    value: str
    slot: int | None = None
    config: int | None = None
    type = "accepted"


@dataclass(frozen=True)
class Decision:
    """`src` has learned that `value` is chosen (in `slot`, in Multi-Paxos), addressed to the suite, which
    stands in for clients."""

    src: str
    value: str
    slot: int | None = None
    type = "decision"


@dataclass(frozen=True)
class Propose:
    """Control input to a proposer: a client asks it to get `value` chosen. In Fast Paxos clients also send
    their value straight to acceptors, which vote for it at a ballot opened with "any"."""

    value: str
    type = "propose"


@dataclass(frozen=True)
class Timeout:
    """Control input: the node's retry timer fired (a proposer may start a higher ballot)."""

    type = "timeout"


Protocol = Prepare | Promise | Nack | Accept | AcceptAny | Accepted
"""Messages between nodes."""
Output = Protocol | Decision
"""Everything an implementation may emit."""
Input = Protocol | Propose | Timeout
"""Everything the suite may send to an implementation."""


def to_json(msg: Output | Input) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": msg.type}
    if isinstance(msg, Prepare | Promise | Nack | Accept | AcceptAny | Accepted | Decision):
        doc["from"] = msg.src
    if isinstance(msg, Prepare | Promise | Nack | Accept | AcceptAny | Accepted):
        doc["to"] = msg.dst
        doc["ballot"] = msg.ballot.to_json()
    if isinstance(msg, Promise) and msg.votes is not None:
        doc["votes"] = [{"slot": v.slot, "ballot": v.ballot.to_json(), "value": v.value} for v in msg.votes]
    elif isinstance(msg, Promise):
        doc["last"] = None if msg.last is None else {"ballot": msg.last.ballot.to_json(), "value": msg.last.value}
    if isinstance(msg, Nack):
        doc["promised"] = msg.promised.to_json()
    if isinstance(msg, Accept | Accepted | Decision | Propose):
        doc["value"] = msg.value
    if isinstance(msg, Accept | Accepted | Decision) and msg.slot is not None:
        doc["slot"] = msg.slot
    if isinstance(msg, Accept | Accepted) and msg.config is not None:
        doc["config"] = msg.config
    return doc


def describe(msg: Output | Input) -> str:
    """One line for step lists and diagrams, e.g. `promise 2.p1 last=(1.p2, v1)`, `accept 1.p1 slot 2 v3`."""
    match msg:
        case Prepare(ballot=b):
            return f"prepare {b}"
        case Promise(ballot=b, votes=tuple(votes)):
            return f"promise {b} votes={votes_text(votes)}"
        case Promise(ballot=b, last=last):
            return f"promise {b} last=" + ("none" if last is None else f"({last.ballot}, {last.value})")
        case Nack(ballot=b, promised=p):
            return f"nack {b} promised={p}"
        case Accept(ballot=b, value=v, slot=slot, config=config):
            return f"accept {b}{in_slot(slot)} {v}{under(config)}"
        case AcceptAny(ballot=b):
            return f"any {b}"
        case Accepted(ballot=b, value=v, slot=slot, config=config):
            return f"accepted {b}{in_slot(slot)} {v}{under(config)}"
        case Decision(value=v, slot=slot):
            return f"decision{in_slot(slot)} {v}"
        case Propose(value=v):
            return f"propose {v}"
    return "timeout"


def votes_text(votes: tuple[SlotVote, ...]) -> str:
    """`slot 0 (1.p1, v1), slot 2 (0.p2, v3)`, or `none`."""
    return ", ".join(f"slot {v.slot} ({v.ballot}, {v.value})" for v in votes) or "none"


def in_slot(slot: int | None) -> str:
    return "" if slot is None else f" slot {slot}"


def under(config: int | None) -> str:
    return "" if config is None else f" (config {config})"


# ---------------------------------------------------------------- strict parsing


def _field(doc: Mapping[str, Any], key: str) -> Any:
    if key not in doc:
        raise Garbage(f"{doc.get('type')!r} message lacks {key!r}")
    return doc[key]


def _name(doc: Mapping[str, Any], key: str, known: Collection[str]) -> str:
    value = _field(doc, key)
    if not isinstance(value, str) or value not in known:
        raise Garbage(f"{key!r} is {shown(value)}, not a node id from init")
    return value


def _value(doc: Mapping[str, Any], key: str = "value") -> str:
    value = _field(doc, key)
    if not isinstance(value, str):
        raise Garbage(f"{key!r} must be a string, not {shown(value)}")
    return value


def parse_ballot(raw: Any, proposers: Collection[str]) -> Ballot:
    ok = isinstance(raw, list) and len(raw) == 2 and type(raw[0]) is int and 0 <= raw[0] <= MAX_ROUND
    if not ok or not isinstance(raw[1], str) or raw[1] not in proposers:
        raise Garbage(f"ballot {shown(raw)} is not [round in 0..2^63-1, proposer id]")
    return Ballot(raw[0], raw[1])


def _slot(doc: Mapping[str, Any], wire: Wire) -> int | None:
    """The slot a Multi-Paxos message must carry; other variants have none."""
    return _slot_in(doc, wire) if wire.slotted else None


def _slot_in(doc: Mapping[str, Any], wire: Wire) -> int:
    slot = _field(doc, "slot")
    if type(slot) is not int or not 0 <= slot < wire.slots:
        raise Garbage(f"'slot' is {shown(slot)}, not a slot in 0..{wire.slots - 1} (init's slots)")
    return slot


def _config(doc: Mapping[str, Any], wire: Wire) -> int | None:
    """The configuration a reconfiguration or Cheap Paxos proposal or vote must name; others name none."""
    if not wire.configured:
        return None
    config = _field(doc, "config")
    if type(config) is not int or not 0 <= config < wire.configs:
        raise Garbage(f"'config' is {shown(config)}, not a configuration in 0..{wire.configs - 1} (init's configs)")
    return config


def _votes(raw: Any, proposers: Collection[str], wire: Wire) -> tuple[SlotVote, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        raise Garbage(f"'votes' must be a list of {{slot, ballot, value}}, not {shown(raw)}")
    votes = tuple(SlotVote(_slot_in(v, wire), parse_ballot(_field(v, "ballot"), proposers), _value(v)) for v in raw)
    if len({v.slot for v in votes}) != len(votes):
        raise Garbage(f"'votes' reports a slot twice: {shown(raw)}")
    return tuple(sorted(votes))


def from_json(doc: Any, nodes: Collection[str], proposers: Collection[str], wire: Wire = V1) -> Output:
    """An emitted message, validated against the node ids given at init and the run's `wire`."""
    if not isinstance(doc, dict):
        raise Garbage(f"a message must be a JSON object, not {type(doc).__name__}")
    kind = doc.get("type")
    if kind == "decision":
        return Decision(_name(doc, "from", nodes), _value(doc), _slot(doc, wire))
    kinds = ("prepare", "promise", "nack", "accept", "accepted") + (("any",) if wire.variant == "fastpaxos" else ())
    if kind not in kinds:
        raise Garbage(f"unknown message type {shown(kind)}")
    src, dst = _name(doc, "from", nodes), _name(doc, "to", nodes)
    ballot = parse_ballot(_field(doc, "ballot"), proposers)
    if kind == "prepare":
        return Prepare(src, dst, ballot)
    if kind == "any":
        return AcceptAny(src, dst, ballot)
    if kind == "promise" and wire.slotted:
        return Promise(src, dst, ballot, None, _votes(_field(doc, "votes"), proposers, wire))
    if kind == "promise":
        last = _field(doc, "last")
        if last is None:
            return Promise(src, dst, ballot, None)
        if not isinstance(last, dict):
            raise Garbage(f"'last' must be null or {{ballot, value}}, not {shown(last)}")
        return Promise(src, dst, ballot, LastVote(parse_ballot(_field(last, "ballot"), proposers), _value(last)))
    if kind == "nack":
        return Nack(src, dst, ballot, parse_ballot(_field(doc, "promised"), proposers))
    if kind == "accept":
        return Accept(src, dst, ballot, _value(doc), _slot(doc, wire), _config(doc, wire))
    return Accepted(src, dst, ballot, _value(doc), _slot(doc, wire), _config(doc, wire))
