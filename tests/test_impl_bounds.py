"""Every message the core emits fits in one frame: batches are bounded in bytes, and a long chosen prefix
goes to a lagging replica in chunks it asks for in turn."""

from __future__ import annotations

import pytest

from paxiom.impl.ballot import Ballot
from paxiom.impl.checksum import state_digest
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import CatchUpReply, CatchUpRequest, Envelope, Heartbeat, Snapshot
from paxiom.impl.proposer import Proposer
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import Command, value_bytes
from paxiom.node import codec
from paxiom.node.framing import MAX_FRAME
from paxiom.spec.quorums import QuorumSystem

OP = bytes(codec.MAX_OP)  # one shared 1 MiB op: many commands, little memory


def config(replica: int) -> ReplicaConfig:
    return ReplicaConfig(replica, QuorumSystem.majority(3), batch_size=256, snapshot_interval=1 << 20)


def test_a_batch_of_large_commands_is_bounded_in_bytes() -> None:
    proposer = Proposer(config(0))
    proposer.submit(tuple(Command("c", seq, OP) for seq in range(1, 257)))  # 256 MiB: sixteen frames
    batches = []
    while proposer.queue:
        batches.append(proposer.next_batch())
    assert sum(map(len, batches)) == 256 and len(batches) > 1
    for batch in batches:
        assert value_bytes(batch) <= proposer.config.batch_bytes
    assert len(codec.encode(CatchUpReply(None, ()))) < MAX_FRAME  # sanity of the bound's use below
    small = Proposer(config(0))
    small.submit(tuple(Command("c", seq, b"x") for seq in range(1, 300)))
    assert len(small.next_batch()) == 256, "small commands are still bounded by count"


@pytest.mark.parametrize("snapshot", [False, True])
def test_a_long_prefix_catches_up_in_chunks_each_within_a_frame(snapshot: bool) -> None:
    slots = 40  # 40 slots of a 1 MiB command: 40 MiB, beyond any one frame
    first = 10 if snapshot else 0  # with a snapshot of the largest state up to slot 9
    chosen = {slot: (Command("c", slot + 1, OP),) for slot in range(first, slots)}
    state, checksum = bytes(codec.MAX_STATE), b"\x01" * 32
    sealed = Snapshot(first - 1, state, checksum, state_digest(state, checksum)) if snapshot else None
    ahead = Replica(config(0), DurableState(chosen=chosen, snapshot=sealed))
    behind = Replica(config(1))
    assert ahead.commit == slots
    inbox = [Envelope(0, 1, Heartbeat(Ballot(0, 0), ahead.commit))]
    replies = 0
    for _ in range(4 * slots):  # bounded: every reply must make progress
        if not inbox:
            break
        envelope = inbox.pop(0)
        target = behind if envelope.dst == 1 else ahead
        target.receive(envelope)
        for out in target.ready().deliveries:
            if isinstance(out.msg, CatchUpReply | CatchUpRequest):
                assert len(codec.encode(out.msg)) <= MAX_FRAME - 8, "a message the transport could not send"
                replies += isinstance(out.msg, CatchUpReply)
                inbox.append(out)
    assert behind.commit == slots
    assert (behind.learner.snapshot is not None) == snapshot
    assert replies > 2, "the prefix went in several chunks"
