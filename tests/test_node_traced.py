"""A traced message carries its sender's id and unwraps only to a protocol message."""

from __future__ import annotations

import pytest

from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Prepare
from paxiom.impl.observe import MsgId
from paxiom.node import codec
from paxiom.node.traced import Traced, opened
from paxiom.node.transport import RECEIVED


def test_the_id_and_message_survive_the_wire_and_bare_messages_pass() -> None:
    msg = Prepare(Ballot(3, 1), 7)
    received = codec.decode(codec.encode(Traced.wrap(MsgId(1, 2, 40), msg)), RECEIVED)
    assert isinstance(received, Traced)
    assert opened(received) == (MsgId(1, 2, 40), msg)
    assert opened(msg) == (None, msg)


def test_a_payload_that_is_not_a_protocol_message_is_refused() -> None:
    smuggled = Traced(1, 0, 0, codec.encode(Traced(1, 0, 0, b"")))
    with pytest.raises(codec.DecodeError):
        opened(smuggled)
