"""A protocol message with the id its sender's host gave it, for nodes that trace (`paxiom node --trace`).

The observation records name every sent message by `MsgId(node, incarnation, counter)`; when the receiver's
`Receive` record names the same id, `paxiom trace check` can merge the nodes' traces in causal order. The id
travels only when the sender traces; receivers accept a message with or without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from paxiom.impl.observe import MsgId
from paxiom.node import codec
from paxiom.node.echoes import REFS, PeerMessage
from paxiom.node.framing import MAX_FRAME


@dataclass(frozen=True, slots=True)
class Traced:
    node: int
    incarnation: int
    counter: int
    payload: bytes
    """The codec encoding of the message (checked again when unwrapped)."""

    @classmethod
    def wrap(cls, msg_id: MsgId, msg: PeerMessage) -> Traced:
        return cls(msg_id.node, msg_id.incarnation, msg_id.counter, codec.encode(msg))

    def unwrap(self) -> tuple[MsgId, PeerMessage]:
        """The id and the message; `codec.DecodeError` if the payload is not a protocol message or a reference."""
        return MsgId(self.node, self.incarnation, self.counter), cast(PeerMessage, codec.decode(self.payload, WIRE))


def opened(received: PeerMessage | Traced) -> tuple[MsgId | None, PeerMessage]:
    """A received message and its sender's id, if it came with one."""
    return received.unwrap() if isinstance(received, Traced) else (None, received)


WIRE = codec.MESSAGES | REFS
codec.register(129, Traced, {(Traced, "node"): codec.Int(0, 1 << 16), (Traced, "payload"): codec.Blob(MAX_FRAME)})
