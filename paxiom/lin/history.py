"""Histories of client operations: Jepsen's event model, read from and written to EDN or JSON lines.

A history is a list of `Event`s in real-time order, as Jepsen records it: every client operation is an
`invoke` followed, on the same process, by its completion — `ok` (it happened, `value` is its result),
`fail` (it certainly did not happen) or `info` (indeterminate: it may have taken effect at any time after
its invocation, or never; a missing completion means the same). `pair` turns events into `Operation`s.

Values: `read` invokes with None and completes with the value read; `write` carries v; `cas` carries
`[old, new]` (a tuple); kv models use `get` / `put` / `append`. A keyed history names each event's key
in `key`; Maelstrom lin-kv's and Jepsen's independent form, where every value is `[key, value]` and no
event has `:key`, is recognised when the file is read and unwrapped into `key`/`value`.

The harness writes histories with `write_edn`/`write_jsonl` and the checker reads them back with
`read_history`, which picks the format by content. Process "nemesis" (Jepsen's `:nemesis`) is not a
client: `pair` skips its events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

from paxiom.errors import PaxiomError
from paxiom.inputs import decode
from paxiom.lin.edn import Keyword, dumps, read_forms

EventType = Literal["invoke", "ok", "fail", "info"]
Status = Literal["ok", "fail", "info"]
EVENT_TYPES: frozenset[str] = frozenset(("invoke", "ok", "fail", "info"))
NEMESIS = "nemesis"
MAX_BYTES = 1 << 30  # a larger history file is refused rather than read into memory


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a history."""

    index: int  # position in the history (Jepsen's :index; the line order when the file has none)
    process: int | str  # Jepsen's :process; a string for :nemesis
    type: EventType
    f: str  # "read" | "write" | "cas" (cas-register); "get" | "put" | "append" (kv)
    value: Any  # read: the value read or None; write: v; cas: (old, new)
    key: Any = None  # str | int | None: the register or kv key; None for a single register
    time: int | None = None  # nanoseconds since the start of the test
    error: Any = None  # Jepsen's :error on a fail/info completion, kept for explanations


@dataclass(frozen=True, slots=True)
class Operation:
    """An invocation and its completion; `status` "info" also stands for a missing completion."""

    id: int  # 0, 1, ... in invocation order
    process: int | str
    f: str
    key: Any
    value: Any  # the invocation's value
    output: Any  # the completion's value when status is "ok", else None
    status: Status
    call: int  # position of the invoke event in the event list
    ret: int | None  # position of the completion event; None when there was none
    call_time: int | None = None
    ret_time: int | None = None
    error: Any = None


class _Unpaired(Exception):
    """A pairing error at event position `pos` (turned into a PaxiomError by the caller, who knows the line)."""

    def __init__(self, pos: int, what: str) -> None:
        self.pos = pos
        self.what = what


def pair(events: Sequence[Event]) -> list[Operation]:
    """Match each process's invocation with its completion; a process has at most one outstanding operation.

    Raises PaxiomError (naming the event's index) on a completion with no invocation, a second invocation
    while one is outstanding, or a completion whose `f` differs from its invocation's.
    """
    try:
        return _pair(events)
    except _Unpaired as exc:
        raise PaxiomError(exc.what, where=f"event {events[exc.pos].index}") from None


def _pair(events: Sequence[Event]) -> list[Operation]:
    calls: list[Event] = []  # by operation id
    positions: list[int] = []
    completions: dict[int, tuple[int, Event]] = {}  # operation id -> (position, completion event)
    outstanding: dict[int | str, int] = {}  # process -> operation id
    for pos, ev in enumerate(events):
        if ev.process == NEMESIS:
            continue
        if ev.type == "invoke":
            if ev.process in outstanding:
                prior = calls[outstanding[ev.process]]
                raise _Unpaired(
                    pos, f"process {ev.process} invokes while its {prior.f} of event {prior.index} is still open"
                )
            outstanding[ev.process] = len(calls)
            calls.append(ev)
            positions.append(pos)
            continue
        at = outstanding.pop(ev.process, None)
        if at is None:
            raise _Unpaired(pos, f"{ev.type} completion of process {ev.process} without an invocation")
        if ev.f != calls[at].f:
            raise _Unpaired(pos, f"{ev.type} {ev.f} completes an invocation of {calls[at].f}")
        completions[at] = (pos, ev)
    ops: list[Operation] = []
    for i, (call, pos) in enumerate(zip(calls, positions, strict=True)):
        ret, done = completions.get(i, (None, None))
        if done is None:
            ops.append(Operation(i, call.process, call.f, call.key, call.value, None, "info", pos, None, call.time))
            continue
        status: Status = "info" if done.type == "invoke" else done.type
        output = done.value if status == "ok" else None
        ops.append(
            Operation(
                i,
                call.process,
                call.f,
                call.key,
                call.value,
                output,
                status,
                pos,
                ret,
                call.time,
                done.time,
                done.error,
            )
        )
    return ops


def read_history(path: str | os.PathLike[str]) -> list[Event]:
    """Read a Jepsen/Maelstrom `.edn` history or a paxiom `.jsonl` one (chosen by content, not name).

    The events are also paired (see `pair`), so a malformed history raises PaxiomError naming `file:line`.
    """
    source = str(path)
    p = Path(path)
    if p.stat().st_size > MAX_BYTES:
        raise PaxiomError(f"history larger than {MAX_BYTES} bytes", where=source)
    text = decode(p.read_bytes(), source).text
    first = text.lstrip()[:2]
    records = _json_records(text, source) if first.startswith("{") and first[1:].lstrip()[:1] == '"' else None
    if records is None:
        records = _edn_records(text, source)
    lines: list[int] = []
    events: list[Event] = []
    for record, line in records:
        events.append(_event(record, len(events), f"{source}:{line}"))
        lines.append(line)
    if not events:
        raise PaxiomError("no events in the history", where=source)
    if _is_independent(events):
        events = [_unwrap(ev) for ev in events]
    try:
        _pair(events)
    except _Unpaired as exc:
        raise PaxiomError(exc.what, where=f"{source}:{lines[exc.pos]}") from None
    return events


def write_edn(events: Iterable[Event], path: str | os.PathLike[str]) -> None:
    """One EDN map per line, Jepsen's layout plus `:key` for keyed histories; `read_history` reads it back."""
    with open(path, "w", encoding="utf-8") as out:
        for ev in events:
            out.write(dumps(_record(ev, edn=True)) + "\n")


def write_jsonl(events: Iterable[Event], path: str | os.PathLike[str]) -> None:
    """One JSON object per line with the `Event` field names; tuples become arrays."""
    with open(path, "w", encoding="utf-8") as out:
        for ev in events:
            out.write(json.dumps(_record(ev, edn=False), separators=(",", ":")) + "\n")


def _record(ev: Event, *, edn: bool) -> dict[Any, Any]:
    kw: Any = Keyword if edn else str
    process: Any = kw(ev.process) if isinstance(ev.process, str) else ev.process
    fields: dict[str, Any] = {"index": ev.index, "time": ev.time, "type": kw(ev.type), "process": process}
    fields |= {"f": kw(ev.f), "key": ev.key, "value": ev.value, "error": ev.error}
    return {kw(k): v for k, v in fields.items() if v is not None or k == "value"}


def _json_records(text: str, source: str) -> Iterator[tuple[Any, int]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield _freeze(json.loads(raw)), number
        except (json.JSONDecodeError, RecursionError) as exc:
            raise PaxiomError(f"not JSON: {getattr(exc, 'msg', exc)}", where=f"{source}:{number}") from None


def _edn_records(text: str, source: str) -> Iterator[tuple[Any, int]]:
    for form, line in read_forms(text, source):
        if isinstance(form, tuple) and all(isinstance(item, dict) for item in form):
            yield from ((item, line) for item in form)  # a whole history as one vector (Knossos's layout)
        else:
            yield form, line


def _freeze(value: Any) -> Any:
    """JSON arrays as tuples, so values are hashable like EDN vectors."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return value


def _event(record: Any, position: int, where: str) -> Event:
    if not isinstance(record, dict):
        raise PaxiomError(f"expected a map for an event, got {type(record).__name__}", where=where)
    kind = record.get("type")
    if kind not in EVENT_TYPES:
        raise PaxiomError(f"type must be one of invoke/ok/fail/info, got {dumps_safe(kind)}", where=where)
    process = record.get("process")
    if isinstance(process, bool) or not isinstance(process, int | str):
        raise PaxiomError(f"process must be an integer or a keyword, got {dumps_safe(process)}", where=where)
    f = record.get("f")
    if not isinstance(f, str) or not f:
        raise PaxiomError(f"f must be a keyword or string, got {dumps_safe(f)}", where=where)
    index = record.get("index", position)
    time = record.get("time")
    for name, number in (("index", index), ("time", time)):
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            raise PaxiomError(f"{name} must be an integer, got {dumps_safe(number)}", where=where)
    key = record.get("key")
    try:
        hash(key)
        hash(record.get("value"))
    except TypeError:
        raise PaxiomError("key and value must not contain maps", where=where) from None
    event_type = cast(EventType, str(kind))
    return Event(
        index,
        str(process) if isinstance(process, str) else process,
        event_type,
        str(f),
        record.get("value"),
        key,
        time,
        record.get("error"),
    )


def dumps_safe(value: Any) -> str:
    """A short rendering of a bad field for an error message."""
    try:
        text = dumps(value)
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_REGISTER_FS = frozenset(("read", "write", "cas"))


def _is_independent(events: Sequence[Event]) -> bool:
    """Maelstrom lin-kv / Jepsen independent: no :key anywhere, every register value is [key, value]."""
    client = [ev for ev in events if ev.process != NEMESIS]
    if not client or any(ev.key is not None or ev.f not in _REGISTER_FS for ev in client):
        return False
    for ev in client:
        if not (isinstance(ev.value, tuple) and len(ev.value) == 2):
            if ev.type in ("fail", "info") and ev.value is None:
                continue  # a completion that dropped its value
            return False
        if ev.f == "cas" and not (isinstance(ev.value[1], tuple) and len(ev.value[1]) == 2):
            return False
    return True


def _unwrap(ev: Event) -> Event:
    if ev.process == NEMESIS or not isinstance(ev.value, tuple):
        return ev
    return replace(ev, key=ev.value[0], value=ev.value[1])
