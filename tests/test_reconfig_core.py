"""Reconfiguration in the core: switches decided through the log govern from slot i + α, per slot."""

from __future__ import annotations

import pytest

from paxiom.impl.config import ReplicaConfig
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.messages import Accept, ChosenEntry, Envelope
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig import (
    Configurations,
    Epoch,
    config_command,
    decode_config,
    encode_config,
    majority_of,
    switch_of,
)
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import Command
from paxiom.spec.quorums import Explicit, QuorumSystem, acceptor_names

NODES = acceptor_names(4)
OLD = majority_of(NODES, (0, 1, 2))
NEW = majority_of(NODES, (1, 2, 3))
ALPHA = 3


def shown(epoch: Epoch | None) -> QuorumSystem | None:
    """The configuration an epoch holds, as the module's own object when it is OLD or NEW."""
    assert epoch is not None
    return {encode_config(qs): qs for qs in (OLD, NEW)}.get(encode_config(epoch.quorums))


def entry(slot: int, qs: QuorumSystem | None = None) -> ChosenEntry:
    value = (config_command("op", slot + 1, qs),) if qs else (Command("c", slot + 1, b"set k v"),)
    return ChosenEntry(slot, value, bytes(16))


def test_a_switch_governs_from_its_slot_plus_alpha_and_only_once_known() -> None:
    configs = Configurations(OLD, ALPHA)
    for slot in range(6):
        configs.learn(entry(slot, NEW if slot == 2 else None))
    assert [shown(configs.epoch(s, commit=6)) for s in (0, 4, 5, 8)] == [OLD, OLD, NEW, NEW]
    assert configs.epoch(9, commit=6) is None  # decided by slot 6, not committed yet
    assert [shown(e) for e in configs.open_epochs(4)] == [OLD, NEW]  # slots 4..6
    assert [e.slot for e in configs.retained(1)] == [] and [e.slot for e in configs.retained(3)] == [2]
    restored = Configurations(OLD, ALPHA, configs.retained(5))
    restored.skip_to(5)
    assert shown(restored.epoch(6, commit=6)) == NEW
    with pytest.raises(BrokenInvariant, match="learned slot 7 after slot 5"):
        configs.learn(entry(7))


def test_only_a_safe_switch_that_keeps_every_node_is_one() -> None:
    assert decode_config(encode_config(NEW)) is not None and switch_of(entry(0, NEW).value) is not None
    unsafe = QuorumSystem(Explicit(NODES, [["a1"], ["a2"]]), Explicit(NODES, [["a3"]]))
    reordered = majority_of(("a2", "a1", "a3", "a4"), (0, 1, 2))
    shorter = majority_of(NODES[:3], (0, 1))  # names fewer nodes: those it names keep their places
    grown = majority_of((*NODES, "a5"), (1, 2, 3, 4))
    configs = Configurations(OLD, 1)
    for slot, qs in enumerate((unsafe, reordered, shorter, grown)):
        configs.learn(entry(slot, qs))
    assert [e.slot for e in configs.epochs] == [-1, 2, 3] and configs.universe == 5
    assert configs.nodes == (*NODES, "a5")
    assert switch_of((Command("c", 1, b"paxiom/config {not json"),)) is None
    assert switch_of((*entry(0, NEW).value, Command("c", 2, b"set k v"))) is None  # not alone in its slot


class Cluster:
    """Replicas of `quorums` (by default four, a4 outside the initial configuration) exchanging messages in
    order, no faults."""

    def __init__(
        self, quorums: QuorumSystem = OLD, alpha: int = ALPHA, auxiliaries: frozenset[int] = frozenset()
    ) -> None:
        self.replicas = [
            Replica(
                ReplicaConfig(
                    r,
                    quorums,
                    seed=1,
                    election_timeout=4,
                    heartbeat_interval=1,
                    window=4,
                    alpha=alpha,
                    batch_size=1,
                    auxiliaries=auxiliaries,
                )
            )
            for r in range(quorums.n)
        ]
        self.accepts: list[Envelope] = []
        self.down: set[int] = set()

    def run(self, rounds: int) -> None:
        for _ in range(rounds):
            for r, replica in enumerate(self.replicas):
                if r not in self.down:
                    replica.tick()
            self.drain()

    def drain(self) -> None:
        for _ in range(1000):
            readys = [(r, rep.ready()) for r, rep in enumerate(self.replicas) if r not in self.down]
            messages = [m for _, ready in readys for m in ready.deliveries]
            for r, ready in readys:
                self.accepts += [m for m in ready.emitted if isinstance(m.msg, Accept)]
                for e in ready.committed:
                    self.replicas[r].applied_through(e.slot)
            if not messages:
                return
            for envelope in messages:
                if envelope.dst not in self.down:
                    self.replicas[envelope.dst].receive(envelope)

    def leader(self) -> Replica:
        return next(rep for r, rep in enumerate(self.replicas) if rep.role is Role.LEADER and r not in self.down)


def test_slots_below_i_plus_alpha_use_the_old_configuration_and_later_ones_the_new() -> None:
    cluster = Cluster()
    cluster.run(20)
    leader = cluster.leader()
    leader.submit(tuple(Command("c", s, f"set k{s} v".encode()) for s in range(1, 4)))
    cluster.drain()
    switch_slot = leader.commit
    leader.submit((config_command("admin", 1, NEW),))
    leader.submit(tuple(Command("c", s, f"set k{s} v".encode()) for s in range(4, 20)))
    cluster.run(10)
    assert all(rep.commit == leader.commit > switch_slot + ALPHA + 4 for rep in cluster.replicas)
    for envelope in cluster.accepts:
        members = {0, 1, 2} if envelope.msg.slot < switch_slot + ALPHA else {1, 2, 3}  # type: ignore[union-attr]
        assert envelope.dst in members, envelope
    assert {e.dst for e in cluster.accepts} == {0, 1, 2, 3}
    cluster.down.add(0)  # a1 is out of the configuration now: losing it costs nothing
    before = leader.commit
    cluster.run(30)
    leader = cluster.leader()
    leader.submit((Command("c", 99, b"set after a1"),))
    cluster.run(5)
    assert leader.commit > before and all(cluster.replicas[r].commit == leader.commit for r in (1, 2, 3))


def test_a_restarted_replica_learns_its_configurations_from_the_snapshot() -> None:
    configs = Configurations(OLD, ALPHA)
    for slot in range(8):
        configs.learn(entry(slot, NEW if slot == 1 else None))
    replica = Replica(ReplicaConfig(3, OLD, alpha=ALPHA, snapshot_interval=2), DurableState())
    for e in (entry(s, NEW if s == 1 else None) for s in range(8)):
        replica.learner.learn(e.slot, e.value)
    replica.tick()
    for e in replica.ready().committed:
        replica.applied_through(e.slot)
    replica.snapshot_taken(7, b"{}")
    snapshot = replica.learner.snapshot
    assert snapshot is not None and [e.slot for e in snapshot.switches] == [1]
    again = Replica(ReplicaConfig(3, OLD, alpha=ALPHA), DurableState(snapshot=snapshot))
    assert shown(again.configs.epoch(8, commit=8)) == NEW
    forged = type(snapshot)(snapshot.last_slot, snapshot.state, snapshot.checksum, snapshot.digest, ())
    assert replica.learner.verify_snapshot(forged) is not None  # the digest covers the switches


def test_the_proposer_refuses_a_slot_whose_configuration_it_does_not_know() -> None:
    cluster = Cluster()
    cluster.run(20)
    proposer = cluster.leader().proposer
    with pytest.raises(BrokenInvariant, match=r"before slot \d+ is committed"):
        proposer._propose(cluster.leader().commit + ALPHA, (), proposer.configs.latest, cluster.leader().commit)
