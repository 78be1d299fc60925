"""The wire codec: every message and write round-trips; any other input is a DecodeError naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxiom.impl.ballot import NULL_BALLOT, Ballot
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
    Nack,
    Prepare,
    Promise,
    Propose,
    Snapshot,
    Vote,
)
from paxiom.impl.storage import SaveChosen, SavePromise, SaveSnapshot, SaveVote
from paxiom.impl.values import Command
from paxiom.node import codec
from paxiom.node.codec import MESSAGES, WRITES, DecodeError, decode, decode_message, decode_write, encode

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

slots = st.integers(0, 2**63 - 1)
ballots = st.builds(Ballot, st.integers(0, 2**40), st.integers(0, 64)) | st.just(NULL_BALLOT)
commands = st.builds(Command, st.text(min_size=1, max_size=20), st.integers(1, 2**63 - 1), st.binary(max_size=64))
values = st.lists(commands, max_size=4).map(tuple)
digests = st.binary(min_size=16, max_size=16)
votes = st.builds(Vote, slots, ballots, values)
snapshots = st.builds(Snapshot, st.integers(-1, 2**40), st.binary(max_size=200), digests, digests)
entries = st.builds(ChosenEntry, slots, values, digests)

KIND_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    Prepare: st.builds(Prepare, ballots, slots),
    Promise: st.builds(Promise, ballots, slots, st.lists(votes, max_size=3).map(tuple)),
    Accept: st.builds(Accept, ballots, slots, values),
    Accepted: st.builds(Accepted, ballots, slots, values),
    Nack: st.builds(Nack, ballots),
    Heartbeat: st.builds(Heartbeat, ballots, slots),
    Chosen: st.builds(Chosen, slots, values),
    CatchUpRequest: st.builds(CatchUpRequest, slots),
    CatchUpReply: st.builds(CatchUpReply, st.none() | snapshots, st.lists(entries, max_size=3).map(tuple)),
    Forward: st.builds(Forward, values),
    AnyFrom: st.builds(AnyFrom, ballots, slots),
    Propose: st.builds(Propose, values),
    SavePromise: st.builds(SavePromise, ballots),
    SaveVote: st.builds(SaveVote, votes),
    SaveChosen: st.builds(SaveChosen, slots, values),
    SaveSnapshot: st.builds(SaveSnapshot, snapshots),
}
any_kind = st.one_of(*KIND_STRATEGIES.values())


def test_every_core_kind_is_registered_and_covered() -> None:
    assert set(KIND_STRATEGIES) == MESSAGES | WRITES
    assert {kind.cls for kind in codec.KINDS.values()} >= MESSAGES | WRITES


@FUZZ
@given(any_kind)
def test_every_kind_round_trips(obj: object) -> None:
    data = encode(obj)
    assert decode(data) == obj
    assert type(decode(data)) is type(obj)


def test_messages_and_writes_are_told_apart() -> None:
    accept = Accept(Ballot(1, 0), 3, (Command("c1", 1, b"set a 1"), Command("c2", 1, b"set a 1")))
    assert decode_message(encode(accept)) == accept
    with pytest.raises(DecodeError, match="tag: Accept is not accepted here"):
        decode_write(encode(accept))
    write = SaveChosen(3, accept.value)
    assert decode_write(encode(write)) == write
    with pytest.raises(DecodeError, match="SaveChosen is not accepted here"):
        decode_message(encode(write))


def _raw(obj: object) -> list[Any]:
    raw = msgpack.unpackb(encode(obj))
    assert isinstance(raw, list)
    return raw


ACCEPT = Accept(Ballot(2, 1), 7, (Command("c1", 4, b"op"),))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r[2][2][0].__setitem__(1, 0), r"Accept\.value\[0\]\.seq: 0 outside 1\.\."),
        (lambda r: r[2][2][0].__setitem__(0, ""), r"Accept\.value\[0\]\.client: length 0 outside 1\.\.256"),
        (lambda r: r[2][2][0].__setitem__(2, "op"), r"Accept\.value\[0\]\.op: expected bytes, got str"),
        (lambda r: r[2][0].__setitem__(0, True), r"Accept\.ballot\.round: expected int, got bool"),
        (lambda r: r[2][0].__setitem__(0, -2), r"Accept\.ballot\.round: -2 outside -1\.\."),
        (lambda r: r[2].__setitem__(1, -1), r"Accept\.slot: -1 outside 0\.\."),
        (lambda r: r[2].__setitem__(1, 1.0), r"Accept\.slot: expected int, got float"),
        (lambda r: r[2].append(0), r"Accept: expected an array of 3 fields of Accept, got 4 items"),
        (lambda r: r[2].__setitem__(2, {}), r"Accept\.value: expected an array, got dict"),
        (lambda r: r[2].__setitem__(2, {"a": 1}), r"not valid msgpack .*max_map_len"),
        (lambda r: r.__setitem__(0, 2), r"version: unknown encoding version 2"),
        (lambda r: r.__setitem__(1, 99), r"tag: unknown kind 99"),
        (lambda r: r.__setitem__(1, "3"), r"tag: unknown kind '3'"),
        (lambda r: r.append(None), r"expected the array \[version, tag, body\]"),
    ],
)
def test_a_bad_field_is_named(mutate: Any, message: str) -> None:
    raw = _raw(ACCEPT)
    mutate(raw)
    with pytest.raises(DecodeError, match=message):
        decode(msgpack.packb(raw, use_bin_type=True))


def test_bounds_of_lengths_and_msgpack_limits() -> None:
    raw = _raw(ACCEPT)
    raw[2][2][0][0] = "c" * 257
    with pytest.raises(DecodeError, match="client: length 257"):
        decode(msgpack.packb(raw))
    raw = _raw(Forward(()))
    raw[2][0] = [["c", 1, b""]] * (codec.MAX_ITEMS + 1)
    with pytest.raises(DecodeError, match="not valid msgpack"):  # refused by msgpack before any object is built
        decode(msgpack.packb(raw))
    raw = _raw(ACCEPT)
    raw[2][2][0][2] = bytes(codec.MAX_OP + 1)
    with pytest.raises(DecodeError, match=r"op: length 1048577 outside 0\.\.1048576"):
        decode(msgpack.packb(raw, use_bin_type=True))
    raw = _raw(SaveSnapshot(Snapshot(0, b"", bytes(16), bytes(16))))
    raw[2][0][3] = bytes(65)
    with pytest.raises(DecodeError, match=r"SaveSnapshot\.snapshot\.digest: length 65"):
        decode(msgpack.packb(raw, use_bin_type=True))


def test_extension_kinds_register_once_with_their_own_bounds() -> None:
    @dataclass(frozen=True)
    class Probe:
        key: str
        values: tuple[int, ...]
        note: bytes | None

    codec.register(250, Probe, {(Probe, "key"): codec.Text(1, 8), (Probe, "values"): codec.Many(2)})
    try:
        assert decode(encode(Probe("k", (1, 2), None))) == Probe("k", (1, 2), None)
        assert decode(encode(Probe("k", (), b"x")), accept={Probe}) == Probe("k", (), b"x")
        with pytest.raises(DecodeError, match=r"Probe\.values: 3 items, more than 2"):
            decode(msgpack.packb([codec.VERSION, 250, ["k", [1, 2, 3], None]]))
        with pytest.raises(DecodeError, match=r"Probe\.key: length 9"):
            decode(msgpack.packb([codec.VERSION, 250, ["k" * 9, [], None]]))
        with pytest.raises(codec.EncodeError, match=r"Probe\.values: 3 items, more than 2"):
            encode(Probe("k", (1, 2, 3), None))
        with pytest.raises(codec.EncodeError, match=r"Probe\.values\[1\]: expected int, got str"):
            encode(Probe("k", (1, "2"), None))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="already registered"):
            codec.register(250, Probe)
        with pytest.raises(ValueError, match="already registered"):
            codec.register(3, type("Other", (), {}))
    finally:
        del codec._BY_CLASS[codec.KINDS.pop(250).cls]


def test_unregistered_objects_are_refused_on_encode() -> None:
    with pytest.raises(codec.EncodeError, match="Vote is not a registered kind"):
        encode(Vote(0, Ballot(0, 0), ()))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (Accept(Ballot(1, 0), 0, (Command("c", 1, bytes(codec.MAX_OP + 1)),)), r"Accept\.value\[0\]\.op: length"),
        (Accept(Ballot(1, 0), 0, (Command("c" * 257, 1, b""),)), r"Accept\.value\[0\]\.client: length 257"),
        (Accept(Ballot(1, 0), -1, ()), r"Accept\.slot: -1 outside 0\.\."),
        (Accept(Ballot(True, 0), 0, ()), r"Accept\.ballot\.round: expected int, got bool"),
        (Accept((1, 0), 0, ()), r"Accept\.ballot: expected Ballot, got tuple"),  # type: ignore[arg-type]
        (Forward([Command("c", 1, b"")]), r"Forward\.commands: expected a tuple, got list"),  # type: ignore[arg-type]
        (SaveSnapshot(Snapshot(0, bytes(codec.MAX_STATE + 1), b"", b"")), r"SaveSnapshot\.snapshot\.state"),
    ],
)
def test_what_the_receiver_would_refuse_is_never_encoded(obj: object, message: str) -> None:
    """A peer would drop the link over it, and a WAL holding it would read back as corrupt."""
    with pytest.raises(codec.EncodeError, match=message):
        encode(obj)


# ---- fuzzing: nothing but DecodeError, whatever arrives


def _decodes_or_refuses(data: bytes) -> None:
    try:
        obj = decode(data)
    except DecodeError:
        return
    assert decode(encode(obj)) == obj  # whatever is accepted is a well-formed object of a known kind


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes(data: bytes) -> None:
    _decodes_or_refuses(data)


@FUZZ
@given(any_kind, st.data())
def test_mutated_and_truncated_encodings(obj: object, data: st.DataObject) -> None:
    encoded = bytearray(encode(obj))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(encoded) - 1))
        match data.draw(st.sampled_from(["flip", "set", "insert", "delete"])):
            case "flip":
                encoded[at] ^= 1 << data.draw(st.integers(0, 7))
            case "set":
                encoded[at] = data.draw(st.integers(0, 255))
            case "insert":
                encoded[at:at] = data.draw(st.binary(min_size=1, max_size=4))
            case _:
                del encoded[at]
        if not encoded:
            break
    _decodes_or_refuses(bytes(encoded))
    _decodes_or_refuses(bytes(encoded[: data.draw(st.integers(0, len(encoded)))]))


msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


@FUZZ
@given(st.sampled_from(sorted(codec.KINDS)), msgpack_values)
def test_well_formed_msgpack_of_the_wrong_shape(tag: int, body: Any) -> None:
    _decodes_or_refuses(msgpack.packb([codec.VERSION, tag, body], use_bin_type=True))


def _leaves(raw: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    if isinstance(raw, list):
        return [leaf for i, item in enumerate(raw) for leaf in _leaves(item, (*path, i))] or [path]
    return [path]


@FUZZ
@given(any_kind, st.data())
def test_a_field_replaced_by_anything(obj: object, data: st.DataObject) -> None:
    raw = _raw(obj)
    path = data.draw(st.sampled_from(_leaves(raw[2])))
    replacement = data.draw(msgpack_values)
    if not path:
        raw[2] = replacement
    else:
        parent = raw[2]
        for i in path[:-1]:
            parent = parent[i]
        parent[path[-1]] = replacement
    _decodes_or_refuses(msgpack.packb(raw, use_bin_type=True))
