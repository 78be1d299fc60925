"""The request path's fast paths give exactly what the general code they stand in for gives."""

from __future__ import annotations

import msgpack
import pytest

from paxiom.client import protocol
from paxiom.client.protocol import ClientRequest, ClientResponse, ProposeRequest
from paxiom.impl.ballot import Ballot
from paxiom.impl.checksum import GENESIS, chain
from paxiom.impl.messages import Accept, Vote
from paxiom.impl.storage import SaveChosen, SaveVote
from paxiom.impl.values import Command, encode_value
from paxiom.node import codec
from paxiom.node.codec import BATCHES_KEPT

VALUE = (Command("c1", 3, b"put a"), Command("kl\u00e9\ud800", 2**40, bytes(range(40))), Command("z", 1, b""))


def test_the_checksum_chain_is_the_one_logs_and_snapshots_already_carry() -> None:
    """Bytes taken from the encoding before it was joined in one go: a changed chain would call every
    existing log divergent."""
    assert encode_value(()) == bytes(4)
    assert encode_value(VALUE).hex() == (
        "000000030000000263310000000000000003000000057075742061000000076b6cc3a9eda080000001000000000000000028"
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627000000017a0000000000"
        "00000100000000"
    )
    assert chain(GENESIS, 7, VALUE).hex() == "60fa8c859b370c9a1ffa971204433f64"


@pytest.mark.parametrize("direct", [False, True])
def test_encode_command_is_the_requests_encoding(direct: bool) -> None:
    kind = ProposeRequest if direct else ClientRequest
    for rid, client, seq, op in ((0, "c", 1, b""), (7, "x" * 256, codec.I64_MAX, b"op" * 500)):
        fast = protocol.encode_command(rid, client, seq, op, direct=direct)
        assert fast == protocol.encode(kind(rid, client, seq, op))
        assert protocol.decode_request(fast) == kind(rid, client, seq, op)


@pytest.mark.parametrize(
    ("rid", "client", "seq", "op", "where"),
    [(-1, "c", 1, b"", "id"), (1, "", 1, b"", "client"), (1, "c", 0, b"", "seq"), (1, "c", 1, "op", "op")],
)
def test_encode_command_refuses_what_the_receiver_would(rid: int, client: str, seq: int, op: bytes, where: str) -> None:
    with pytest.raises(codec.EncodeError, match=f"ClientRequest.{where}"):
        protocol.encode_command(rid, client, seq, op)


def test_the_decoders_build_objects_as_their_constructors_do() -> None:
    make = codec.constructor(Command)
    assert make("c", 2, b"x") == Command("c", 2, b"x")
    with pytest.raises(ValueError, match="seq >= 1"):  # __post_init__ still runs
        make("c", 0, b"x")
    long = ClientResponse(1, protocol.OK, b"r", None, "m" * (2 * protocol.MAX_MESSAGE))
    assert protocol.decode_response(protocol.encode(long)) == long


def test_an_optional_field_checked_inline_is_still_refused_by_name() -> None:
    body = [1, protocol.OK, b"", 5, ""]  # leader: a str or nil, not an int
    with pytest.raises(codec.DecodeError, match=r"ClientResponse\.leader: expected str, got int"):
        protocol.decode_response(codec.pack(codec.tag_of(ClientResponse), body))
    body[3] = "n2"
    assert protocol.decode_response(codec.pack(codec.tag_of(ClientResponse), body)) == ClientResponse(
        1, "ok", leader="n2"
    )


def test_a_batch_spliced_in_encodes_as_the_whole_payload_packed_at_once() -> None:
    ballot = Ballot(4, 1)
    batches = [tuple(Command(f"c{i}", seq, bytes(i * 7)) for i in range(1, 30)) for seq in range(1, 2 * BATCHES_KEPT)]
    for slot, batch in enumerate(batches):  # more batches than are kept: hits and misses alike
        for obj in (Accept(ballot, slot, batch), SaveVote(Vote(slot, ballot, batch)), SaveChosen(slot, batch)):
            whole = msgpack.packb(
                (codec.VERSION, codec.tag_of(type(obj)), codec.KINDS[codec.tag_of(type(obj))].encode(obj))
            )
            assert codec.encode(obj) == whole
            assert codec.decode(codec.encode(obj)) == obj


def test_a_spliced_batch_is_refused_by_name_as_before() -> None:
    bad = (Command("c", 1, b""), Command("x" * 300, 1, b""))  # a client id beyond its bound
    with pytest.raises(codec.EncodeError, match=r"SaveVote\.vote\.value\[1\]\.client"):
        codec.encode(SaveVote(Vote(0, Ballot(1, 0), bad)))
    with pytest.raises(codec.EncodeError, match=r"Accept\.slot"):
        codec.encode(Accept(Ballot(1, 0), -1, bad[:1]))
