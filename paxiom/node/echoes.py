"""A peer link never carries a slot's batch back to the node that sent it, nor twice to a node that has it.

An `Accepted` repeats the value of the `Accept` it answers, and a `Chosen` the value of an `Accept` its
receiver already voted for: whole batches, encoded by one node and decoded by another for nothing (most of
a follower's codec work per command, and a good part of a leader's). `Echoes` sits in the peer transport and
sends such a message as a reference — `AcceptedRef(ballot, slot)`, `ChosenRef(ballot, slot)` — which the
receiving transport resolves into the full message from the `Accept` it sent or received, before its host
sees it. The core, the traces and the oracle see the messages unchanged; only the link is lighter.

A reference names the ballot, and a leader sends one value per ballot and slot, so a resolved message holds
exactly the value its sender meant. Only a value the sender holds as the very object of that `Accept` is
referred to (an identity test: nothing is compared element by element). A reference that cannot be resolved
(the receiver restarted, or evicted the entry) is dropped like a lost message, and the leader's
retransmission or the follower's catch-up recovers as from any loss. Each table keeps the latest `limit`
slots, so memory stays bounded whatever a peer sends.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Accept, Accepted, Chosen, Message
from paxiom.impl.values import Value
from paxiom.node import codec

E = TypeVar("E")
LIMIT = 1024
"""Slots remembered per table: well beyond a leader's window of slots in flight."""


@dataclass(frozen=True, slots=True)
class AcceptedRef:
    """`Accepted(ballot, slot, value)` for the value of the `Accept(ballot, slot, value)` its receiver sent."""

    ballot: Ballot
    slot: int


@dataclass(frozen=True, slots=True)
class ChosenRef:
    """`Chosen(slot, value)` for the value of the `Accept(ballot, slot, value)` its receiver voted for."""

    ballot: Ballot
    slot: int


codec.register(130, AcceptedRef)
codec.register(131, ChosenRef)
REFS: frozenset[type] = frozenset((AcceptedRef, ChosenRef))
PeerMessage = Message | AcceptedRef | ChosenRef
"""What a node sends a peer: a protocol message, or a reference standing for one."""


@dataclass(slots=True)
class _Sent:
    ballot: Ballot
    value: Value
    voters: set[str]
    """Peers whose vote for it arrived: a `Chosen` goes to them as a reference."""


_NOTHING: OrderedDict[int, tuple[Ballot, Value]] = OrderedDict()
"""The table of a peer that sent us no Accept (never written)."""


class Echoes:
    """One node's tables: the Accepts it sent (as a leader), and the latest Accept of each slot from each peer."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.sent: OrderedDict[int, _Sent] = OrderedDict()
        self.received: dict[str, OrderedDict[int, tuple[Ballot, Value]]] = {}
        self.unresolved = 0
        """References dropped because the entry they name was unknown here."""

    def outgoing(self, dst: str, msg: Message) -> PeerMessage:
        """What to encode for `dst` in place of `msg`."""
        if type(msg) is Accept:
            entry = self.sent.get(msg.slot)
            if entry is None or entry.ballot != msg.ballot or entry.value is not msg.value:
                self._keep(self.sent, msg.slot, _Sent(msg.ballot, msg.value, set()))
        elif type(msg) is Accepted:
            known = self.received.get(dst, _NOTHING).get(msg.slot)
            if known is not None and known[0] == msg.ballot and known[1] is msg.value:
                return AcceptedRef(msg.ballot, msg.slot)
        elif type(msg) is Chosen:
            entry = self.sent.get(msg.slot)
            if entry is not None and entry.value is msg.value and dst in entry.voters:
                return ChosenRef(entry.ballot, msg.slot)
        return msg

    def incoming(self, src: str, msg: PeerMessage) -> Message | None:
        """The message `msg` from `src` stands for; None when it is a reference to an unknown entry."""
        if type(msg) is Accept:
            self._keep(self.received.setdefault(src, OrderedDict()), msg.slot, (msg.ballot, msg.value))
        elif type(msg) is AcceptedRef or type(msg) is Accepted:
            entry = self.sent.get(msg.slot)
            if entry is not None and entry.ballot == msg.ballot:
                entry.voters.add(src)
                return msg if type(msg) is Accepted else Accepted(msg.ballot, msg.slot, entry.value)
        elif type(msg) is ChosenRef:
            known = self.received.get(src, _NOTHING).get(msg.slot)
            if known is not None and known[0] == msg.ballot:
                return Chosen(msg.slot, known[1])
        if isinstance(msg, AcceptedRef | ChosenRef):
            self.unresolved += 1
            return None
        return msg

    def _keep(self, table: OrderedDict[int, E], slot: int, entry: E) -> None:
        table[slot] = entry
        table.move_to_end(slot)
        if len(table) > self.limit:
            table.popitem(last=False)
