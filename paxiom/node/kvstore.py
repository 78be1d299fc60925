"""The key-value application the service ships: get, put, delete, compare-and-set, list by prefix.

An `Application` (see `paxiom.node.sessions`): ops and results are msgpack, keys are strings, values bytes.
Reads are ops in the log like writes — a `get` is answered by the replica that applies it, at its place in
the log, which makes every read linearizable without trusting a clock. Malformed or oversized ops are
applied as no-ops answered `error`, because every replica must apply every chosen op the same way.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

import msgpack

from paxiom.node.sessions import SessionMachine

MAX_KEY_BYTES = 1024
MAX_VALUE_BYTES = 1 << 20
MAX_LIST = 1000
"""Most keys one `list` returns; the caller pages on with `start_after`."""

OK = "ok"
NOT_FOUND = "not_found"
MISMATCH = "mismatch"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class KVResult:
    status: str
    value: bytes | None = None
    """get: the value; cas mismatch: the current value; error: the message (UTF-8)."""
    keys: tuple[str, ...] = field(default=())
    more: bool = False
    """list: keys past the returned ones match too."""

    def encode(self) -> bytes:
        return _pack(self.status, self.value, list(self.keys), self.more)

    @classmethod
    def decode(cls, raw: bytes) -> KVResult:
        if raw == _DONE_ENCODED:  # the answer to nearly every write
            return _DONE
        status, value, keys, more = msgpack.unpackb(raw, raw=False)
        return cls(status, value, tuple(keys), more)


def get_op(key: str) -> bytes:
    return _pack("get", key)


def put_op(key: str, value: bytes) -> bytes:
    return _pack("put", key, value)


def delete_op(key: str) -> bytes:
    return _pack("del", key)


def cas_op(key: str, expected: bytes | None, new: bytes) -> bytes:
    """Set `key` to `new` if it holds `expected` (None: if it is absent)."""
    return _pack("cas", key, expected, new)


def list_op(prefix: str, limit: int = MAX_LIST, start_after: str = "") -> bytes:
    return _pack("list", prefix, limit, start_after)


def render_op(op: bytes) -> str | None:
    """`put greeting=hello`, `cas counter 1->2`, `cas counter (absent)->1`, `get k`, `del k`,
    `list prefix=p limit=10 after=k`: a name for an op these functions encode (None for any other bytes,
    which includes an encoding they would not produce), for `paxiom trace check` (`render_ops_with`). A
    word is bare when plain, else a JSON string; a value that is not UTF-8 is `0x` hex."""
    try:
        fields = msgpack.unpackb(op, raw=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    if not isinstance(fields, list) or not fields or _pack(*fields) != op:
        return None
    name, args = fields[0], fields[1:]
    shape = [type(arg) for arg in args]
    if name in ("get", "del") and shape == [str]:
        return f"{name} {_word(args[0])}"
    if name == "put" and shape == [str, bytes]:
        return f"put {_word(args[0])}={_bytes(args[1])}"
    if name == "cas" and shape in ([str, bytes, bytes], [str, type(None), bytes]):
        expected = "(absent)" if args[1] is None else _bytes(args[1])
        return f"cas {_word(args[0])} {expected}->{_bytes(args[2])}"
    if name == "list" and shape == [str, int, str]:
        return f"list prefix={_word(args[0])} limit={args[1]} after={_word(args[2])}"
    return None


_PLAIN = re.compile(r"[A-Za-z0-9_.\-]+")


def _word(text: str) -> str:
    return text if _PLAIN.fullmatch(text) and not text.startswith("0x") else json.dumps(text)


def _bytes(data: bytes) -> str:
    try:
        return _word(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "0x" + data.hex()


_PACKER = msgpack.Packer(use_bin_type=True)
"""Shared, as `codec._PACKER` is (`msgpack.packb` builds a packer per call): a client packs an op per command."""


def _pack(*fields: Any) -> bytes:
    packed: bytes = _PACKER.pack(fields)
    return packed


_DONE = KVResult(OK)
"""The answer of a put, a delete or a cas that succeeded, encoded once."""
_DONE_ENCODED = _DONE.encode()


class KVStore:
    """The shipped application: a dict with its keys kept sorted, so listing a prefix is a range scan."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.keys: list[str] = []

    def apply(self, op: bytes) -> bytes:
        try:
            fields = msgpack.unpackb(op, raw=False)
            result = self._dispatch(fields)
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            return KVResult(ERROR, f"bad op: {exc}"[:200].encode()).encode()
        return _DONE_ENCODED if result is _DONE else result.encode()  # every replica encodes every result

    def _dispatch(self, fields: Any) -> KVResult:
        if not isinstance(fields, list) or not fields:
            raise ValueError("an op is a non-empty list")
        name, args = fields[0], fields[1:]
        if name == "get" and len(args) == 1:
            value = self.data.get(_key(args[0]))
            return KVResult(OK, value) if value is not None else KVResult(NOT_FOUND)
        if name == "put" and len(args) == 2:
            self._set(_key(args[0]), _value(args[1]))
            return _DONE
        if name == "del" and len(args) == 1:
            key = _key(args[0])
            if key not in self.data:
                return KVResult(NOT_FOUND)
            del self.data[key]
            del self.keys[bisect.bisect_left(self.keys, key)]
            return _DONE
        if name == "cas" and len(args) == 3:
            key, expected, new = _key(args[0]), args[1], _value(args[2])
            current = self.data.get(key)
            if expected is not None and current is None:
                return KVResult(NOT_FOUND)
            if current != (None if expected is None else _value(expected)):
                return KVResult(MISMATCH, current)
            self._set(key, new)
            return _DONE
        if name == "list" and len(args) == 3:
            return self._list(_key(args[0], allow_empty=True), args[1], _key(args[2], allow_empty=True))
        raise ValueError(f"unknown op {name!r} with {len(args)} arguments")

    def _set(self, key: str, value: bytes) -> None:
        if key not in self.data:
            bisect.insort(self.keys, key)
        self.data[key] = value

    def _list(self, prefix: str, limit: Any, start_after: str) -> KVResult:
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise ValueError(f"list limit must be an integer in 1..{MAX_LIST}")
        start = (
            bisect.bisect_right(self.keys, start_after)
            if start_after >= prefix
            else bisect.bisect_left(self.keys, prefix)
        )
        found: list[str] = []
        for key in self.keys[start : start + limit + 1]:
            if not key.startswith(prefix):
                break
            found.append(key)
        return KVResult(OK, keys=tuple(found[:limit]), more=len(found) > limit)

    def snapshot(self) -> bytes:
        return _pack(*([key, self.data[key]] for key in self.keys))

    def restore(self, state: bytes) -> None:
        pairs = msgpack.unpackb(state, raw=False)
        self.data = {key: value for key, value in pairs}
        self.keys = sorted(self.data)


def _key(raw: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(raw, str) or (not raw and not allow_empty):
        raise ValueError("a key is a non-empty string")
    if 4 * len(raw) > MAX_KEY_BYTES and len(raw.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:  # <= 4 bytes a char
        raise ValueError(f"a key is at most {MAX_KEY_BYTES} bytes")
    return raw


def _value(raw: Any) -> bytes:
    if not isinstance(raw, bytes):
        raise ValueError("a value is bytes")
    if len(raw) > MAX_VALUE_BYTES:
        raise ValueError(f"a value is at most {MAX_VALUE_BYTES} bytes")
    return raw


def replicated() -> SessionMachine:
    """What a `paxiom node` replicates by default: this store behind client sessions. The refinement
    oracle replays the chosen log through a fresh one to check the snapshots a node restores."""
    return SessionMachine(KVStore())
