"""The binary encoding of every message and durable write: msgpack, versioned, strictly decoded.

A payload is the msgpack array `[VERSION, tag, body]`; `body` is the object's fields in declaration order,
nested dataclasses and named tuples as arrays of their own fields. One table (`KINDS`) maps tags to
classes; the encoder and decoder of each class are built once from its type annotations, with bounds from
`RULES`, so adding a message is one line, never a hand-written codec.

Decoding trusts nothing: every field is type-checked (a bool is not an int, a str is not bytes) and
range-checked, every array has its exact or bounded length, and any failure — malformed msgpack, an
unknown version or tag, a wrong type, a value out of range — is a `DecodeError` naming the field
(`Accept.value[2].seq: ...`). No other exception escapes `decode`, whatever the input.

Tag ranges: 1-31 protocol messages, 32-63 durable writes, 64-127 client requests and responses (the
service registers them with `register`), 128-255 transport control.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, TypeVar, cast

import msgpack

from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import (
    Accept,
    Accepted,
    AnyFrom,
    CatchUpReply,
    CatchUpRequest,
    Chosen,
    ChosenEntry,
    Forward,
    Heartbeat,
    Message,
    Nack,
    Prepare,
    Promise,
    Propose,
    Snapshot,
    Vote,
)
from paxiom.impl.storage import SaveChosen, SavePromise, SaveSnapshot, SaveVote, Write
from paxiom.impl.values import Command, Value

T = TypeVar("T")
VERSION = 1
I64_MAX = (1 << 63) - 1
MAX_OP = 1 << 20
"""Largest command op (1 MiB)."""
MAX_STATE = 8 << 20
"""Largest snapshot state (8 MiB): a snapshot travels in one catch-up frame."""
MAX_ITEMS = 1 << 16
"""Default bound on the length of any tuple (commands in a batch, votes in a promise, entries)."""
MAX_DIGEST = 64


class DecodeError(Exception):
    """The payload is not a valid encoding; `path` names the field (`Accept.value[0].seq`)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = ""

    def at(self, step: str) -> DecodeError:
        """Prefix the path with the enclosing field, on the way out of a nested decoder."""
        self.path = step + self.path
        return self

    def __str__(self) -> str:
        return f"{self.path.lstrip('.')}: {self.problem}" if self.path else self.problem


class EncodeError(Exception):
    """The object is not of a registered kind, or breaks a bound its receiver would refuse: never sent, never
    logged, since a peer would drop the link and recovery would call the log corrupt."""


@dataclass(frozen=True)
class Int:
    lo: int = 0
    hi: int = I64_MAX


@dataclass(frozen=True)
class Text:
    """A str of `lo`..`hi` characters."""

    lo: int = 0
    hi: int = 256


@dataclass(frozen=True)
class Blob:
    hi: int = MAX_OP


@dataclass(frozen=True)
class Many:
    """A homogeneous tuple of at most `hi` items."""

    hi: int = MAX_ITEMS


Rule = Int | Text | Blob | Many
DEFAULTS: dict[type, Rule] = {int: Int(), str: Text(), bytes: Blob(), tuple: Many()}

RULES: dict[tuple[type, str], Rule] = {
    (Ballot, "round"): Int(-1),
    (Ballot, "replica"): Int(-1, 1 << 16),
    (Command, "client"): Text(1, 256),
    (Command, "seq"): Int(1),
    (Snapshot, "last_slot"): Int(-1),
    (Snapshot, "state"): Blob(MAX_STATE),
    (Snapshot, "checksum"): Blob(MAX_DIGEST),
    (Snapshot, "digest"): Blob(MAX_DIGEST),
    (ChosenEntry, "checksum"): Blob(MAX_DIGEST),
}
"""Bounds of fields that differ from `DEFAULTS` (ints 0..2^63-1, str <= 256 chars, bytes <= 1 MiB)."""

Encoder = Callable[[Any], Any]
"""To what msgpack packs, refusing (DecodeError) what the decoder would refuse: whatever encodes decodes."""
Decoder = Callable[[Any], Any]


class _Codec(NamedTuple):
    encode: Encoder
    decode: Decoder
    check: str | None = None
    """For a leaf, a Python condition on `{v}`, true exactly when `decode` refuses the value: records inline
    it (a call per field is most of a decode's time) and call `decode` only to word the refusal."""


def _typename(raw: object) -> str:
    return "array" if type(raw) is list else type(raw).__name__


def _leaf(tp: type, rule: Rule) -> _Codec:
    if tp is int:
        assert isinstance(rule, Int)
        lo, hi = rule.lo, rule.hi

        def dec_int(raw: Any) -> int:
            if type(raw) is not int:
                raise DecodeError(f"expected int, got {_typename(raw)}")
            if not lo <= raw <= hi:
                raise DecodeError(f"{raw} outside {lo}..{hi}")
            return raw

        return _Codec(dec_int, dec_int, f"type({{v}}) is not int or not {lo} <= {{v}} <= {hi}")
    if tp is bool:

        def dec_bool(raw: Any) -> bool:
            if type(raw) is not bool:
                raise DecodeError(f"expected bool, got {_typename(raw)}")
            return raw

        return _Codec(dec_bool, dec_bool, "type({v}) is not bool")
    expected, (lo, hi) = (str, (rule.lo, rule.hi)) if isinstance(rule, Text) else (bytes, (0, cast(Blob, rule).hi))

    def dec_sized(raw: Any) -> Any:
        if type(raw) is not expected:
            raise DecodeError(f"expected {expected.__name__}, got {_typename(raw)}")
        if not lo <= len(raw) <= hi:
            raise DecodeError(f"length {len(raw)} outside {lo}..{hi}")
        return raw

    return _Codec(dec_sized, dec_sized, f"type({{v}}) is not {expected.__name__} or not {lo} <= len({{v}}) <= {hi}")


def _locate(steps: Iterable[tuple[str, Decoder, Any]]) -> NoReturn:
    """Re-decode part by part to name the one that failed: the fast path keeps no position."""
    for step, dec, item in steps:
        try:
            dec(item)
        except DecodeError as exc:
            raise exc.at(step) from None
    raise AssertionError("a decoder failed only once")


def _record(cls: type) -> _Codec:
    """A dataclass or named tuple: an array of exactly its fields, each by its own annotation.

    Encoder and decoder are generated Python: fields read by name, leaf checks inline, nested codecs called.
    """
    hints = typing.get_type_hints(cls)
    names = _names(cls)
    parts = [(name, _codec(hints[name], RULES.get((cls, name)))) for name in names]
    count = len(parts)
    fields = [f"f{i}" for i in range(count)]
    env: dict[str, Any] = {"cls": cls, "DecodeError": DecodeError, "_fail": _fail}
    lines = ["def decode(raw):", f"    if type(raw) is not list or len(raw) != {count}:", "        raise _shape(raw)"]
    env["_shape"] = lambda raw: DecodeError(
        f"expected an array of {count} fields of {cls.__name__}, got "
        + (f"{len(raw)} items" if type(raw) is list else _typename(raw))
    )
    if count:
        lines.append(f"    {', '.join(fields)}, = raw")
    encoding = ["def encode(obj):", "    if type(obj) is not cls:", "        raise _wrong(obj)"]
    env["_wrong"] = lambda obj: DecodeError(f"expected {cls.__name__}, got {type(obj).__name__}")
    for (name, part), v in zip(parts, fields, strict=True):
        env[f"d_{v}"], env[f"e_{v}"] = part.decode, part.encode
        if part.check is not None:
            refuse = [f"    if {part.check.format(v=v)}:", f"        raise _fail({'.' + name!r}, d_{v}, {v})"]
            lines += refuse
            encoding += [f"    {v} = obj.{name}", *refuse]
        else:
            lines += ["    try:", f"        {v} = d_{v}({v})", "    except DecodeError as exc:"]
            lines += [f"        raise exc.at({'.' + name!r}) from None"]
            encoding += ["    try:", f"        {v} = e_{v}(obj.{name})", "    except DecodeError as exc:"]
            encoding += [f"        raise exc.at({'.' + name!r}) from None"]
    lines += [
        "    try:",
        *_construct(cls, names, fields, env, "        "),
        "    except (TypeError, ValueError) as exc:",
    ]
    lines += [f"        raise DecodeError(f'rejected by {cls.__name__}: {{exc}}') from None"]
    lines += [*encoding, f"    return [{', '.join(fields)}]"]
    exec("\n".join(lines), env)  # the source is built above from identifiers and int bounds only
    return _Codec(env["encode"], env["decode"])


def _construct(cls: type, names: list[str], fields: list[str], env: dict[str, Any], indent: str) -> list[str]:
    """The lines that build `cls` from the variables `fields` (its fields `names`). A frozen dataclass with
    slots (every message, write and command) is built as its own `__init__` builds it — each slot set, then
    `__post_init__` — but through the slots' descriptors rather than a call of `__init__` making
    `object.__setattr__` calls: a third of the cost, and a follower builds a command per command of every
    batch it receives."""
    params = getattr(cls, "__dataclass_params__", None)
    slots = [getattr(cls, name, None) for name in names]
    if params is None or not params.frozen or not all(isinstance(s, types.MemberDescriptorType) for s in slots):
        return [f"{indent}return cls({', '.join(fields)})"]
    env["_new"] = object.__new__
    lines = [f"{indent}obj = _new(cls)"]
    for v, slot in zip(fields, slots, strict=True):
        env[f"s_{v}"] = slot.__set__  # type: ignore[union-attr]
        lines.append(f"{indent}s_{v}(obj, {v})")
    if hasattr(cls, "__post_init__"):
        lines.append(f"{indent}obj.__post_init__()")
    return [*lines, f"{indent}return obj"]


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else list(cls._fields)  # type: ignore[attr-defined]


def constructor(cls: Callable[..., T]) -> Callable[..., T]:
    """`cls` itself, called with every field in order, but built as the decoders build it (`_construct`): for
    a hot path that makes objects of fields it holds already checked (a command of a decoded request)."""
    assert isinstance(cls, type)
    fields = [f"f{i}" for i in range(len(_names(cls)))]
    env: dict[str, Any] = {"cls": cls}
    lines = [f"def make({', '.join(fields)}):", *_construct(cls, _names(cls), fields, env, "    ")]
    exec("\n".join(lines), env)  # built from identifiers only
    return cast(Callable[..., T], env["make"])


def _fail(step: str, decode: Decoder, value: Any) -> DecodeError:
    """The refusal an inlined check stands for, worded by the leaf's own decoder."""
    try:
        decode(value)
    except DecodeError as exc:
        return exc.at(step)
    raise AssertionError(f"the inlined check of {step} refused {value!r}, which its decoder accepts")


def _codec(tp: Any, rule: Rule | None) -> _Codec:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        enc, dec, check = _codec(args[0] if args[1] is type(None) else args[1], rule)
        return _Codec(
            lambda obj: None if obj is None else enc(obj),
            lambda raw: None if raw is None else dec(raw),
            None if check is None else f"{{v}} is not None and ({check})",
        )
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item_enc, item_dec, _ = _codec(args[0], None)
        hi = cast(Many, rule or DEFAULTS[tuple]).hi

        def sequence(expected: type, convert: Callable[[Any], Any], finish: Callable[[list[Any]], Any]) -> Decoder:
            def walk(raw: Any) -> Any:
                if type(raw) is not expected:
                    got = _typename(raw) if expected is list else type(raw).__name__
                    raise DecodeError(f"expected {'an array' if expected is list else 'a tuple'}, got {got}")
                items = cast("list[Any] | tuple[Any, ...]", raw)  # mypy narrows `raw` to object above
                if len(items) > hi:
                    raise DecodeError(f"{len(items)} items, more than {hi}")
                try:
                    return finish([convert(item) for item in items])
                except DecodeError:
                    _locate((f"[{i}]", convert, item) for i, item in enumerate(items))

            return walk

        return _Codec(sequence(tuple, item_enc, list), sequence(list, item_dec, tuple))
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or (issubclass(tp, tuple) and hasattr(tp, "_fields"))):
        return _record(tp)
    if tp in (int, str, bytes, bool):
        return _leaf(tp, rule or DEFAULTS.get(tp, Int()))
    raise TypeError(f"the codec cannot encode fields of type {tp!r}")


@dataclass(frozen=True)
class _Kind:
    tag: int
    cls: type
    encode: Encoder
    decode: Decoder


KINDS: dict[int, _Kind] = {}
_BY_CLASS: dict[type, _Kind] = {}
_LIMITS: dict[str, int] = {"max_str_len": 0, "max_bin_len": 0, "max_array_len": 3, "max_map_len": 0, "max_ext_len": 0}
_PACKER = msgpack.Packer(use_bin_type=True)
"""One packer for every payload: `msgpack.packb` builds one per call, which cost more than packing a small frame.
Shared safely: `pack` runs in C without releasing the GIL, and starts afresh after a failure."""


def _unpacker() -> Callable[[bytes], Any]:
    """`msgpack.unpackb` with `_LIMITS` written into the call as constants: unpacking a dict of keywords into
    every call took longer than unpacking a small frame. Made again whenever `register` moves a limit."""
    limits = ", ".join(f"{name}={value}" for name, value in _LIMITS.items())
    env: dict[str, Any] = {"unpackb": msgpack.unpackb}
    exec(f"def unpack(data):\n    return unpackb(data, raw=False, use_list=True, strict_map_key=True, {limits})", env)
    return cast(Callable[[bytes], Any], env["unpack"])


_unpack = _unpacker()


def register(tag: int, cls: type, rules: Mapping[tuple[type, str], Rule] | None = None) -> None:
    """Add a kind to the table (the extension point for client frames and transport control).

    `rules` bounds the fields of `cls` and of the classes nested in it that differ from `DEFAULTS`.
    """
    if not 0 < tag < 256 or tag in KINDS or cls in _BY_CLASS:
        raise ValueError(f"tag {tag} or class {cls.__name__} is already registered or out of range")
    RULES.update(rules or {})
    encode_body, decode_body, _ = _codec(cls, None)
    kind = _Kind(tag, cls, encode_body, decode_body)
    KINDS[tag] = _BY_CLASS[cls] = kind
    # msgpack's own limits: nothing the schema could accept is refused, nothing larger is ever built.
    for rule in (*RULES.values(), *DEFAULTS.values()):
        if isinstance(rule, Text):
            _LIMITS["max_str_len"] = max(_LIMITS["max_str_len"], 4 * rule.hi)  # UTF-8: <= 4 bytes a character
        elif isinstance(rule, Blob):
            _LIMITS["max_bin_len"] = max(_LIMITS["max_bin_len"], rule.hi)
        elif isinstance(rule, Many):
            _LIMITS["max_array_len"] = max(_LIMITS["max_array_len"], rule.hi)
    global _unpack
    _unpack = _unpacker()


BATCHES_KEPT = 32
"""Batches whose encoding `encode` keeps, the latest first out: more than the slots between a batch's Accept
and its decision's record while a leader's pipeline holds a few full slots."""
_batches: OrderedDict[int, tuple[Value, bytes]] = OrderedDict()
"""The msgpack of the batches encoded last, by the identity of the batch (held, so its id is not reused)."""


def _split(obj: object) -> tuple[object, Value] | None:
    """For the kinds whose encoding ends with a batch (an Accept, a vote's record, a decision's record), `obj`
    with an empty batch in its place, and its batch: the same batch a leader encodes three times a slot (sent,
    voted for, recorded chosen) and a follower twice."""
    if type(obj) is Accept:
        return Accept(obj.ballot, obj.slot, ()), obj.value
    if type(obj) is SaveVote:
        return SaveVote(Vote(obj.vote.slot, obj.vote.ballot, ())), obj.vote.value
    if type(obj) is SaveChosen:
        return SaveChosen(obj.slot, ()), obj.value
    return None


def _packed(batch: Value) -> bytes | None:
    """The msgpack of `batch`, packed once while it is among the latest; None if its encoding is refused (the
    general path then words why)."""
    hit = _batches.get(id(batch))
    if hit is not None and hit[0] is batch:
        return hit[1]
    try:
        packed = cast(bytes, _PACKER.pack(_encode_batch(batch)))
    except DecodeError:
        return None
    _batches[id(batch)] = (batch, packed)
    if len(_batches) > BATCHES_KEPT:
        _batches.popitem(last=False)
    return packed


def encode(obj: object) -> bytes:
    """The payload of any registered kind. A batch the payload ends with is spliced in as packed before (the
    empty batch standing for it is the last byte of the rest's encoding), the same bytes as packed whole."""
    split = _split(obj)
    if split is not None and split[1] and (batch := _packed(split[1])) is not None:
        return _encode_whole(split[0])[:-1] + batch
    return _encode_whole(obj)


def _encode_whole(obj: object) -> bytes:
    kind = _BY_CLASS.get(type(obj))
    if kind is None:
        raise EncodeError(f"{type(obj).__name__} is not a registered kind")
    try:
        body = kind.encode(obj)
    except DecodeError as exc:
        raise EncodeError(f"{exc.at(kind.cls.__name__)} (the receiver would refuse it)") from None
    return pack(kind.tag, body)


def pack(tag: int, body: list[Any]) -> bytes:
    """The payload of kind `tag` with `body` as `encode` builds it: for a fast path that builds (and checks
    against `rule`) a frequent body itself rather than a dataclass to encode."""
    return cast(bytes, _PACKER.pack((VERSION, tag, body)))


def tag_of(cls: type) -> int:
    return _BY_CLASS[cls].tag


def rule(cls: type, name: str, tp: type) -> Rule:
    """The bound of field `name` (of type `tp`) of `cls`: its own in `RULES`, else the default."""
    return RULES.get((cls, name)) or DEFAULTS[tp]


def decode(data: bytes, accept: Iterable[type] | None = None) -> object:
    """The object `data` encodes; with `accept`, only a kind among those classes is valid."""
    try:
        raw = _unpack(data)
    except Exception as exc:  # msgpack raises several unrelated types on malformed input
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DecodeError(f"not valid msgpack ({detail})") from None
    if type(raw) is not list or len(raw) != 3:
        raise DecodeError(f"expected the array [version, tag, body], got {_typename(raw)}")
    version, tag, body = raw
    if type(version) is not int or version != VERSION:
        raise DecodeError(f"unknown encoding version {version!r}").at("version")
    kind = KINDS.get(tag) if type(tag) is int else None
    if kind is None:
        raise DecodeError(f"unknown kind {tag!r}").at("tag")
    if accept is not None and kind.cls not in accept:
        raise DecodeError(f"{kind.cls.__name__} is not accepted here").at("tag")
    try:
        return kind.decode(body)
    except DecodeError as exc:
        raise exc.at(kind.cls.__name__) from None


_encode_batch = _codec(Value, None).encode
MESSAGES: frozenset[type] = frozenset(typing.get_args(Message))
WRITES: frozenset[type] = frozenset(typing.get_args(Write))


def decode_message(data: bytes) -> Message:
    return cast(Message, decode(data, MESSAGES))


def decode_write(data: bytes) -> Write:
    return cast(Write, decode(data, WRITES))


for _tag, _cls in (
    (1, Prepare),
    (2, Promise),
    (3, Accept),
    (4, Accepted),
    (5, Nack),
    (6, Heartbeat),
    (7, Chosen),
    (8, CatchUpRequest),
    (9, CatchUpReply),
    (10, Forward),
    (11, AnyFrom),
    (12, Propose),
    (32, SavePromise),
    (33, SaveVote),
    (34, SaveChosen),
    (35, SaveSnapshot),
):
    register(_tag, _cls)
