"""The simulated network: every message in flight is addressable, so an adversary can pick any of them.

Delivering any in-flight message (not just the oldest) is reordering and arbitrary delay; `drop`,
`duplicate` and `corrupt` are loss, duplication and corruption. A partition cuts the cluster into two
sides; a message crossing it is lost when the adversary tries to deliver it. A one-way partition only
loses messages leaving `side` (the others still reach it), the asymmetric failure that fools naive
failure detectors.
"""

from __future__ import annotations

import dataclasses

from paxiom.impl.messages import CatchUpReply, ChosenEntry, Envelope, Snapshot
from paxiom.impl.observe import MsgId


class Network:
    def __init__(self) -> None:
        self.in_flight: dict[int, Envelope] = {}
        """Message id -> envelope, in sending order (ids increase). These ids are the adversary's handles;
        `sent_as` gives the sender's own id for each (its `Sent` record)."""
        self.sent_as: dict[int, MsgId | None] = {}
        self.next_id = 0
        self.side: frozenset[int] | None = None
        """When partitioned: the replicas on one side; everyone else is on the other."""
        self.oneway = False
        """Whether only messages leaving `side` are lost."""

    def send(self, msg_id: MsgId | None, envelope: Envelope) -> int:
        mid = self.next_id
        self.next_id += 1
        self.in_flight[mid] = envelope
        self.sent_as[mid] = msg_id
        return mid

    def take(self, mid: int) -> tuple[MsgId | None, Envelope] | None:
        """Remove a message from flight (with its sender's id); None if it is gone or the partition
        swallows it."""
        envelope = self.in_flight.pop(mid, None)
        msg_id = self.sent_as.pop(mid, None)
        if envelope is None or self.cut(envelope.src, envelope.dst):
            return None
        return msg_id, envelope

    def drop(self, mid: int) -> bool:
        self.sent_as.pop(mid, None)
        return self.in_flight.pop(mid, None) is not None

    def cut(self, a: int, b: int) -> bool:
        if self.side is None:
            return False
        if self.oneway:
            return a in self.side and b not in self.side
        return (a in self.side) != (b in self.side)

    def duplicate(self, mid: int) -> bool:
        envelope = self.in_flight.get(mid)
        if envelope is None:
            return False
        self.send(self.sent_as[mid], envelope)
        return True

    def corrupt(self, mid: int) -> bool:
        """Flip a byte in a catch-up reply (the only message big enough to carry a log or a snapshot)."""
        envelope = self.in_flight.get(mid)
        if envelope is None or not isinstance(envelope.msg, CatchUpReply):
            return False
        damaged = corrupt_reply(envelope.msg)
        if damaged is None:
            return False
        self.in_flight[mid] = dataclasses.replace(envelope, msg=damaged)
        return True


def _flip(data: bytes) -> bytes:
    """Toggle the case of the first letter (a plausible-looking corruption that still parses), else flip
    a bit of the first byte."""
    i = next((i for i, b in enumerate(data) if chr(b).isalpha()), 0)
    return data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1 :]


def corrupt_reply(reply: CatchUpReply) -> CatchUpReply | None:
    """The reply with one byte flipped in its first non-empty command, or else in its snapshot state."""
    for i, entry in enumerate(reply.entries):
        if entry.value and entry.value[0].op:
            first = entry.value[0]
            value = (dataclasses.replace(first, op=_flip(first.op)), *entry.value[1:])
            entries = (*reply.entries[:i], ChosenEntry(entry.slot, value, entry.checksum), *reply.entries[i + 1 :])
            return CatchUpReply(reply.snapshot, entries)
    snap = reply.snapshot
    if snap is not None and snap.state:
        return CatchUpReply(Snapshot(snap.last_slot, _flip(snap.state), snap.checksum, snap.digest), reply.entries)
    return None
