"""Observations: what one node did, as typed records a host emits to a sink, JSON-lines serialisable.

The host driver (`impl.host.Host`) emits, per node and in the order things happened: every input
(`Start` with what was recovered from disk, `Tick`, `Receive`, `Submit`), every batch of durable writes
with the messages that wait on it, before the storage gets it (`Intent`), and the batch again once it is
synced (`Synced`), every protocol message the core emitted, including those it delivered to itself
(`Sent`), the snapshots it restored (`Restored`) and the entries it applied with their results
(`Applied`), and integrity alarms (`Alarm`); a supervisor adds `Crash`. The simulator feeds the same
records to the refinement oracle, and a real process writes them one JSON object per line, so the oracle
can judge a run of separate processes offline.

Every sent message has an id `MsgId(node, incarnation, counter)`, unique across the cluster and across
restarts; the receiving node's `Receive` names the same id, which links it to its send when the traces
of several processes are merged.

`to_json(record)` / `from_json(doc)` convert records to and from JSON-able dicts. Decoding is strict:
anything malformed raises `ObservationError` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Union

from paxiom.errors import PaxiomError
from paxiom.impl import messages, storage
from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Envelope, Snapshot
from paxiom.impl.storage import Write
from paxiom.impl.values import Command, Value
from paxiom.spec.quorums import Explicit, QuorumSystem


class MsgId(NamedTuple):
    node: int
    incarnation: int
    counter: int

    def __str__(self) -> str:
        return f"{self.node}.{self.incarnation}.{self.counter}"


@dataclass(frozen=True, slots=True)
class Start:
    """The node (re)started; `recovered` rebuilds what it found on disk (snapshot first). It names the
    cluster too — its nodes and the minimal phase-1, phase-2 and (Fast Paxos) fast quorums as bitmasks — so
    a trace is judged against the quorum system the node ran."""

    node: int
    incarnation: int
    recovered: tuple[Write, ...]
    nodes: tuple[str, ...]
    phase1: tuple[int, ...]
    phase2: tuple[int, ...]
    alpha: int = 0
    """The reconfiguration window the node runs (`ReplicaConfig.alpha`; 0 in traces from before it)."""
    fast: tuple[int, ...] = ()
    """The minimal fast quorums of a Fast Paxos node (`impl.fast`); empty when it runs no fast ballots."""
    auxiliaries: tuple[int, ...] = ()
    """Cheap Paxos's auxiliaries by index (`ReplicaConfig.auxiliaries`), so the Cheap oracle can judge; empty
    when the node runs none."""

    @staticmethod
    def of(
        node: int,
        incarnation: int,
        recovered: tuple[Write, ...],
        quorums: QuorumSystem,
        alpha: int = 0,
        auxiliaries: frozenset[int] = frozenset(),
    ) -> Start:
        families = (quorums.phase1.minimal_quorums, quorums.phase2.minimal_quorums)
        fast = quorums.fast.minimal_quorums if quorums.fast is not None else ()
        return Start(node, incarnation, recovered, quorums.nodes, *families, alpha, fast, tuple(sorted(auxiliaries)))

    def quorums(self) -> QuorumSystem:
        def family(masks: tuple[int, ...]) -> Explicit:
            return Explicit(self.nodes, [[n for i, n in enumerate(self.nodes) if m >> i & 1] for m in masks])

        return QuorumSystem(family(self.phase1), family(self.phase2), family(self.fast) if self.fast else None)


@dataclass(frozen=True, slots=True)
class Tick:
    node: int


@dataclass(frozen=True, slots=True)
class Receive:
    """`envelope` arrived from the network; `id` is its sender's `Sent` id (None if the transport lost it)."""

    node: int
    id: MsgId | None
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Submit:
    """Clients handed `commands` to this node; `accepted` is False when it knew no leader to take them (or,
    `direct`, sent straight to every acceptor of a Fast Paxos cluster, when it neither voted nor led)."""

    node: int
    commands: tuple[Command, ...]
    accepted: bool
    direct: bool = False


@dataclass(frozen=True, slots=True)
class Intent:
    """These writes are handed to storage now, and `emitted` (the messages of their Ready that wait for them,
    the replica's own acceptor's replies to itself too) leaves once they are synced. Recorded before the
    storage can make anything durable, so a node killed between the sync and its `Synced`/`Sent` records
    still left a record of what its disk may hold: the oracle accepts a recovered write only if a `Synced`
    or an `Intent` announced it."""

    node: int
    writes: tuple[Write, ...]
    emitted: tuple[Envelope, ...]


@dataclass(frozen=True, slots=True)
class Synced:
    """These writes, in order, are durable."""

    node: int
    writes: tuple[Write, ...]


@dataclass(frozen=True, slots=True)
class Sent:
    """The core emitted this message (sent to the network, or delivered to itself when `dst == node`)."""

    node: int
    id: MsgId
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Restored:
    """The state machine was replaced by this snapshot's state."""

    node: int
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class Applied:
    """The state machine applied `value` at `slot`, with one result per command."""

    node: int
    slot: int
    value: Value
    results: tuple[bytes, ...]

    def by_command(self) -> dict[tuple[str, int], bytes]:
        """Results keyed by command identity (client, seq)."""
        return {(c.client, c.seq): r for c, r in zip(self.value, self.results, strict=True)}


@dataclass(frozen=True, slots=True)
class Alarm:
    """An integrity failure the core detected and refused (a corrupted or divergent catch-up)."""

    node: int
    text: str


@dataclass(frozen=True, slots=True)
class Crash:
    """The node stopped without warning (recorded by whoever killed it); only its disk survives."""

    node: int


Record = Start | Tick | Receive | Submit | Intent | Synced | Sent | Restored | Applied | Alarm | Crash
RECORDS: tuple[type[Any], ...] = typing.get_args(Record)
INPUTS = (Tick, Receive, Submit)
"""The records of what a host was handed: a checker judges what the node recorded doing about them."""


class ObservationError(PaxiomError):
    """A record that does not decode: names the field that is wrong."""


# ---------------------------------------------------------------------- JSON

_TAGGED: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (*typing.get_args(messages.Message), *typing.get_args(storage.Write), *RECORDS)
}
"""Classes that appear as one member of a union: their JSON objects carry a `type` tag."""


def to_json(record: Record) -> dict[str, Any]:
    """A JSON-able dict: dataclasses as objects (tagged with `type` where a union needs it), tuples as
    lists, bytes as base64 strings, ballots and message ids as lists."""
    doc = _encode(record)
    assert isinstance(doc, dict)
    return doc


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple):  # NamedTuples (Ballot, MsgId) too: as lists
        return [_encode(v) for v in value]
    if dataclasses.is_dataclass(value):
        cls = type(value)
        doc = {"type": cls.__name__} if cls.__name__ in _TAGGED else {}
        for f in dataclasses.fields(value):
            doc[f.name] = _encode(getattr(value, f.name))
        return doc
    return value


def from_json(doc: Any) -> Record:
    """The record `to_json` gave `doc`; ObservationError naming the field otherwise."""
    record = _decode(Record, doc, "record")
    return typing.cast(Record, record)


def dumps(record: Record) -> str:
    """One JSON line (no newline)."""
    return json.dumps(to_json(record), separators=(",", ":"))


class JsonLines:
    """A sink appending each record to a file as one JSON line (a process's trace; `paxiom trace check`
    reads a directory of them, one file per node)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def __call__(self, record: Record) -> None:
        self._file.write(dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _fail(where: str, what: str) -> ObservationError:
    return ObservationError(f"field {where}: {what}")


def _decode(hint: Any, doc: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is type(None):
        if doc is not None:
            raise _fail(where, "expected null")
        return None
    if origin in (Union, types.UnionType):
        return _decode_union(typing.get_args(hint), doc, where)
    if hint is bool or hint is str:
        if not isinstance(doc, hint):
            raise _fail(where, f"expected a {hint.__name__}, got {doc!r:.40}")
        return doc
    if hint is int:
        if not isinstance(doc, int) or isinstance(doc, bool):
            raise _fail(where, f"expected an integer, got {doc!r:.40}")
        return doc
    if hint is bytes:
        if not isinstance(doc, str):
            raise _fail(where, "expected base64 bytes")
        try:
            return base64.b64decode(doc, validate=True)
        except binascii.Error:
            raise _fail(where, "not valid base64") from None
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(doc, list):
            raise _fail(where, "expected a list")
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(doc))
    if hint in (Ballot, MsgId):
        if not isinstance(doc, list) or len(doc) != len(hint._fields):
            raise _fail(where, f"expected a list of {len(hint._fields)} integers")
        return hint(*(_decode(int, v, f"{where}[{i}]") for i, v in enumerate(doc)))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, doc, where)
    raise AssertionError(f"no JSON decoding for {hint!r}")  # a record type this module forgot


def _decode_union(members: tuple[Any, ...], doc: Any, where: str) -> Any:
    if doc is None and type(None) in members:
        return None
    options = [m for m in members if m is not type(None)]
    if len(options) == 1:
        return _decode(options[0], doc, where)
    tag = doc.get("type") if isinstance(doc, dict) else None
    cls = _TAGGED.get(tag) if isinstance(tag, str) else None
    if cls is None or cls not in options:
        names = ", ".join(m.__name__ for m in options)
        raise _fail(f"{where}.type", f"expected one of {names}, got {tag!r:.40}")
    return _decode_dataclass(cls, doc, where)


def _decode_dataclass(cls: type[Any], doc: Any, where: str) -> Any:
    if not isinstance(doc, dict):
        raise _fail(where, f"expected an object ({cls.__name__})")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    extra = set(doc) - set(names) - ({"type"} if cls.__name__ in _TAGGED else set())
    if extra:
        raise _fail(f"{where}.{sorted(extra)[0]}", f"unknown in {cls.__name__}")
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in doc and f.default is dataclasses.MISSING]
    if missing:
        raise _fail(f"{where}.{missing[0]}", f"missing from {cls.__name__}")
    values = {name: _decode(hints[name], doc[name], f"{where}.{name}") for name in names if name in doc}
    try:
        return cls(**values)
    except ValueError as exc:  # a field out of range (a command without a client, say)
        raise _fail(where, str(exc)) from None
