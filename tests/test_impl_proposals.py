"""The proposer's bookkeeping of commands in flight (`Proposals.holds`) and its one-pass `next_batch`."""

from __future__ import annotations

import random

from paxiom.impl.config import ReplicaConfig
from paxiom.impl.proposer import Proposal, Proposals, Proposer
from paxiom.impl.reconfig import CONFIG_OP, is_config
from paxiom.impl.values import Command, command_bytes
from paxiom.spec.quorums import QuorumSystem


def proposer(batch_size: int = 4, batch_bytes: int = 4 << 20) -> Proposer:
    return Proposer(ReplicaConfig(0, QuorumSystem.majority(3), batch_size=batch_size, batch_bytes=batch_bytes))


def test_holds_counts_each_command_over_every_proposal_that_holds_it() -> None:
    p = proposer()
    a, b = Command("c", 1, b"a"), Command("c", 2, b"b")
    epoch = p.configs.latest
    p.proposals[3] = Proposal((a, b), epoch)
    p.proposals[4] = Proposal((a,), epoch)  # a re-proposal can hold a command a new batch holds too
    assert p.proposals.holds == {a: 2, b: 1}
    p.proposals[3] = Proposal((b,), epoch)  # a slot proposed anew forgets what it held
    assert p.proposals.holds == {a: 1, b: 1}
    del p.proposals[4]
    p.forget(3)
    assert p.proposals.holds == {} and not p.proposals
    p.proposals = {5: Proposal((b,), epoch)}  # a plain dict assigned is counted too
    assert isinstance(p.proposals, Proposals) and p.proposals.holds == {b: 1}


def test_submit_skips_a_command_in_flight_until_its_proposal_is_gone() -> None:
    p = proposer()
    a, twin = Command("c", 1, b"a"), Command("d", 1, b"a")
    p.proposals[0] = Proposal((a,), p.configs.latest)
    p.submit((a, twin))
    assert list(p.queue) == [twin]  # same bytes, another identity: a command of its own
    p.step_down()
    p.submit((a,))
    assert list(p.queue) == [a]


def reference_batch(queue: dict[Command, None], size: int, room: int) -> tuple[Command, ...]:
    """`next_batch` as it took commands one at a time from the front."""
    batch: list[Command] = []
    while queue and len(batch) < size:
        command = next(iter(queue))
        need = command_bytes(command)
        if batch and (need > room or is_config(command) or is_config(batch[0])):
            break
        del queue[command]
        batch.append(command)
        room -= need
    return tuple(batch)


def test_next_batch_takes_what_taking_one_at_a_time_took() -> None:
    rng = random.Random(7)
    for _ in range(200):
        size, room = rng.randint(1, 6), rng.randint(60, 400)
        p = proposer(batch_size=size, batch_bytes=room)
        commands = [
            Command("c", seq, (CONFIG_OP if rng.random() < 0.15 else b"") + bytes(rng.randint(0, 120)))
            for seq in range(1, rng.randint(1, 30))
        ]
        p.submit(tuple(commands))
        expected = dict.fromkeys(commands)
        while p.queue:
            assert p.next_batch() == reference_batch(expected, size, room)
        assert not expected
