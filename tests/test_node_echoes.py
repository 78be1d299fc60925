"""Echoes: an Accepted or Chosen whose batch its receiver holds travels as a reference and is resolved back into
the very message it stands for; a reference to anything unknown is dropped (as a lost message) and counted."""

from __future__ import annotations

from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Accept, Accepted, Chosen
from paxiom.impl.values import Command
from paxiom.node import codec
from paxiom.node.echoes import AcceptedRef, ChosenRef, Echoes
from paxiom.node.traced import WIRE

B = Ballot(3, 0)
VALUE = tuple(Command(f"c{i}", i + 1, b"x" * 100) for i in range(50))


def wire(msg: object) -> object:
    """Through the codec, as a link carries it."""
    return codec.decode(codec.encode(msg), WIRE)


def test_a_round_of_a_slot_carries_its_batch_once() -> None:
    leader, follower, other = Echoes(), Echoes(), Echoes()
    accept = Accept(B, 7, VALUE)
    for dst in ("f", "o"):
        assert leader.outgoing(dst, accept) is accept
    got = follower.incoming("l", wire(accept))  # type: ignore[arg-type]
    assert got == accept
    assert isinstance(got, Accept)
    other.incoming("l", wire(accept))  # type: ignore[arg-type]
    reply = follower.outgoing("l", Accepted(B, 7, got.value))  # the acceptor answers with the value it voted for
    assert reply == AcceptedRef(B, 7)
    assert len(codec.encode(reply)) < 20 < len(codec.encode(Accepted(B, 7, VALUE))) // 100
    assert leader.incoming("f", wire(reply)) == Accepted(B, 7, VALUE)  # type: ignore[arg-type]
    chosen = Chosen(7, accept.value)
    assert leader.outgoing("f", chosen) == ChosenRef(B, 7)  # its vote arrived: it holds the batch
    assert leader.outgoing("o", chosen) is chosen  # no vote heard from it: the whole message
    assert follower.incoming("l", wire(ChosenRef(B, 7))) == chosen  # type: ignore[arg-type]
    assert leader.unresolved == follower.unresolved == 0


def test_only_the_very_value_of_the_accept_at_its_ballot_is_referred_to() -> None:
    leader, follower = Echoes(), Echoes()
    follower.incoming("l", Accept(B, 1, VALUE))
    equal_copy = tuple(Command(c.client, c.seq, c.op) for c in VALUE)
    assert follower.outgoing("l", Accepted(B, 1, equal_copy)) == Accepted(B, 1, equal_copy)  # not the same object
    assert follower.outgoing("l", Accepted(Ballot(4, 0), 1, VALUE)) == Accepted(Ballot(4, 0), 1, VALUE)
    assert follower.outgoing("x", Accepted(B, 1, VALUE)) == Accepted(B, 1, VALUE)  # another node sent no Accept
    leader.outgoing("f", Accept(B, 1, VALUE))
    leader.outgoing(
        "f", Accept(Ballot(5, 0), 1, VALUE)
    )  # a new ballot in the slot: votes for the old one no longer count
    leader.incoming("f", Accepted(B, 1, VALUE))
    assert leader.outgoing("f", Chosen(1, VALUE)) == Chosen(1, VALUE)


def test_a_reference_to_what_the_receiver_does_not_hold_is_dropped_and_counted() -> None:
    restarted = Echoes()
    assert restarted.incoming("f", AcceptedRef(B, 9)) is None
    assert restarted.incoming("l", ChosenRef(B, 9)) is None
    restarted.incoming("l", Accept(B, 9, VALUE))
    assert restarted.incoming("l", ChosenRef(Ballot(2, 0), 9)) is None  # another ballot's value may differ
    assert restarted.incoming("f", Accepted(B, 9, VALUE)) == Accepted(B, 9, VALUE)  # full messages always pass
    assert restarted.unresolved == 3


def test_tables_keep_the_latest_slots_only() -> None:
    echoes = Echoes(limit=4)
    for slot in range(10):
        echoes.outgoing("f", Accept(B, slot, VALUE))
        echoes.incoming("l", Accept(B, slot, VALUE))
    assert list(echoes.sent) == list(echoes.received["l"]) == [6, 7, 8, 9]
    assert echoes.incoming("f", AcceptedRef(B, 2)) is None
