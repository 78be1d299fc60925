"""The replica core in isolation: configuration checks, acceptor rules, checksums, durability."""

from __future__ import annotations

import json
import re

import pytest

from paxiom.impl.acceptor import Acceptor
from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.checksum import GENESIS, chain
from paxiom.impl.config import ReplicaConfig, UnsafeQuorums
from paxiom.impl.host import Host, ImmediateStorage
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.kv import KeyValueStore
from paxiom.impl.learner import Learner
from paxiom.impl.messages import (
    Accept,
    Accepted,
    CatchUpReply,
    Chosen,
    ChosenEntry,
    Envelope,
    Heartbeat,
    Nack,
    Prepare,
    Promise,
    Snapshot,
    Vote,
)
from paxiom.impl.observe import Applied, MsgId, ObservationError, Record, Sent, Tick, dumps, from_json
from paxiom.impl.proposer import Proposal, Proposer
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState, SaveChosen, SavePromise, SaveSnapshot, SaveVote, Write
from paxiom.impl.values import Command, Value, encode_value, render_value
from paxiom.spec.quorums import QuorumSystem


def cmd(op: str, client: str = "c", seq: int = 1) -> Command:
    return Command(client, seq, op.encode())


def test_refuses_non_intersecting_quorums_and_names_them() -> None:
    config = ReplicaConfig(0, QuorumSystem.flexible(5, 2, 3))
    with pytest.raises(UnsafeQuorums, match=r"phase-1 \{a1, a2\}.*phase-2 \{a3, a4, a5\}"):
        Replica(config)


def test_flexible_quorums_that_intersect_start() -> None:
    replica = Replica(ReplicaConfig(0, QuorumSystem.flexible(5, 4, 2)))
    assert replica.commit == 0


def test_ballots_order_by_round_then_replica_and_map_injectively() -> None:
    ballots = [Ballot(r, i) for r in range(4) for i in range(3)]
    assert sorted(ballots) == ballots
    assert [b.to_int(3) for b in ballots] == list(range(12))
    assert NULL_BALLOT.to_int(3) == -1 < Ballot(0, 0).to_int(3)


def test_acceptor_promises_only_above_and_reports_votes() -> None:
    acc = Acceptor()
    writes, reply = acc.on_prepare(Ballot(1, 0), 0)
    assert writes == [SavePromise(Ballot(1, 0))] and isinstance(reply, Promise)
    writes, reply = acc.on_accept(Ballot(1, 0), 0, (cmd("x"),))
    assert writes == [SaveVote(Vote(0, Ballot(1, 0), (cmd("x"),)))] and isinstance(reply, Accepted)
    assert acc.on_prepare(Ballot(1, 0), 0) == ([], None)  # a repeat is ignored, never re-answered
    assert acc.on_prepare(Ballot(0, 2), 0) == ([], Nack(Ballot(1, 0)))
    _, reply = acc.on_prepare(Ballot(2, 1), 0)
    assert isinstance(reply, Promise) and reply.votes == (Vote(0, Ballot(1, 0), (cmd("x"),)),)
    assert acc.on_accept(Ballot(1, 0), 1, (cmd("y"),)) == ([], Nack(Ballot(2, 1)))


def test_vote_above_promise_raises_promise() -> None:
    acc = Acceptor()
    writes, _ = acc.on_accept(Ballot(3, 1), 0, ())
    assert acc.promise == Ballot(3, 1) and SavePromise(Ballot(3, 1)) in writes


def test_restart_from_disk_keeps_promise_and_votes() -> None:
    disk = DurableState()
    disk.persist(SavePromise(Ballot(4, 2)))
    disk.persist(SaveVote(Vote(0, Ballot(4, 2), (cmd("set a 1"),))))
    replica = Replica(ReplicaConfig(1, QuorumSystem.majority(3)), disk, incarnation=1)
    assert replica.acceptor.promise == Ballot(4, 2)
    assert replica.acceptor.votes[0].value == (cmd("set a 1"),)


def _entries(values: list[Value]) -> tuple[ChosenEntry, ...]:
    out, prev = [], GENESIS
    for slot, value in enumerate(values):
        prev = chain(prev, slot, value)
        out.append(ChosenEntry(slot, value, prev))
    return tuple(out)


def test_catch_up_commits_a_verified_prefix_in_order() -> None:
    learner = Learner(snapshot_interval=100)
    learner.install(CatchUpReply(None, _entries([(cmd("set a 1"),), (), (cmd("set a 2"),)])))
    committed, snapshot_at = learner.advance()
    assert [e.slot for e in committed] == [0, 1, 2] and snapshot_at is None
    assert (
        learner.checksum == committed[-1].checksum == _entries([(cmd("set a 1"),), (), (cmd("set a 2"),)])[-1].checksum
    )


def test_catch_up_refuses_a_corrupted_entry() -> None:
    good = _entries([(cmd("set a 1"),), (cmd("set b 2"),)])
    bad = (good[0], ChosenEntry(1, (cmd("set b 3"),), good[1].checksum))
    learner = Learner(snapshot_interval=100)
    learner.install(CatchUpReply(None, bad))
    committed, _ = learner.advance()
    assert [e.slot for e in committed] == [0]
    assert learner.alarms and "checksum" in learner.alarms[0]


def test_snapshot_compacts_and_serves_lagging_replicas() -> None:
    learner = Learner(snapshot_interval=2)
    learner.install(CatchUpReply(None, _entries([(cmd("set a 1"),), (cmd("set b 2"),), (cmd("set c 3"),)])))
    committed, snapshot_at = learner.advance()
    assert snapshot_at == 1  # the host applies slots 0 and 1, snapshots, then applies slot 2
    kv = KeyValueStore()
    for entry in committed[:2]:
        kv.apply(*entry.value)
    assert learner.sealed(1, kv.snapshot()) is not None
    assert learner.snapshot is not None and learner.snapshot.last_slot == 1 and sorted(learner.log) == [2]
    reply = learner.catch_up_reply(0)
    assert reply is not None and reply.snapshot == learner.snapshot and [e.slot for e in reply.entries] == [2]
    fresh = Learner(snapshot_interval=2)
    fresh.install(reply)
    assert fresh.restore == learner.snapshot
    assert [e.slot for e in fresh.advance()[0]] == [2] and fresh.checksum == learner.checksum


def test_a_snapshot_above_snapshot_bytes_is_not_taken_and_the_log_stays() -> None:
    config = ReplicaConfig(0, QuorumSystem.majority(1), election_timeout=2, heartbeat_interval=1,
                           snapshot_interval=2, snapshot_bytes=64)  # fmt: skip
    replica = Replica(config, DurableState())
    for _ in range(10):
        replica.tick()
    kv, writes, alarms = KeyValueStore(), [], []
    for i in range(20):
        if i < 6:
            replica.submit((cmd(f"set k{i} {'v' * 40}", seq=i + 1),))
        ready = replica.ready()
        writes += ready.writes
        alarms += ready.alarms
        for entry in ready.committed:
            for command in entry.value:
                kv.apply(command)
            replica.applied_through(entry.slot)
        if ready.snapshot is not None:
            replica.snapshot_taken(ready.snapshot, kv.snapshot())
        for envelope in ready.messages:  # its own promise and votes, handed back once "synced"
            replica.receive(envelope)
    assert replica.applied >= 1 and not any(isinstance(w, SaveSnapshot) for w in writes)
    assert alarms and "exceed snapshot_bytes (64)" in alarms[0] and replica.learner.snapshot is None
    assert replica.learner.catch_up_reply(0) is not None  # the log below is still served


def test_kv_state_machine_round_trips_its_snapshot() -> None:
    kv = KeyValueStore()
    assert kv.apply(cmd("set k v")) == b"ok" and kv.apply(cmd("get k", seq=2)) == b"v"
    assert kv.apply(cmd("bogus", seq=3)).startswith(b"error")
    other = KeyValueStore()
    other.restore(kv.snapshot())
    assert other.data == {"k": "v"}


def test_ready_carries_the_writes_a_reply_depends_on() -> None:
    replica = Replica(ReplicaConfig(1, QuorumSystem.majority(3)))
    replica.ready()
    replica.receive(Envelope(0, 1, Prepare(Ballot(2, 0), 0)))
    ready = replica.ready()
    assert SavePromise(Ballot(2, 0)) in ready.writes
    assert [e.msg for e in ready.messages] == [Promise(Ballot(2, 0), 0, ())]
    replica.receive(Envelope(0, 1, Accept(Ballot(2, 0), 0, (cmd("set a 1"),))))
    ready = replica.ready()
    assert SaveVote(Vote(0, Ballot(2, 0), (cmd("set a 1"),))) in ready.writes
    assert [e.msg for e in ready.messages] == [Accepted(Ballot(2, 0), 0, (cmd("set a 1"),))]


class DeferredStorage:
    """A storage whose syncs complete only when the test says so (like a group-commit WAL's)."""

    def __init__(self) -> None:
        self.appended: list[tuple[Write, ...]] = []

    def append(self, writes: tuple[Write, ...]) -> int:
        self.appended.append(writes)
        return len(self.appended)


class Lone:
    """A one-replica cluster run by the host driver, recording what it sends, replies and observes."""

    def __init__(self, storage: DeferredStorage | None = None) -> None:
        config = ReplicaConfig(0, QuorumSystem.majority(1), election_timeout=2, heartbeat_interval=1)
        self.kv = KeyValueStore()
        self.replies: list[Applied] = []
        self.records: list[Record] = []
        immediate = ImmediateStorage(DurableState())
        self.host = Host(
            config,
            self.kv,
            storage or immediate,
            lambda i, e: None,
            reply=self.replies.append,
            sink=self.records.append,
        )
        immediate.bind(self.host)
        for _ in range(10):
            self.host.tick()
            if storage is not None:  # its own promise counts once synced
                self.host.synced(len(storage.appended))
            if self.host.replica.role.value == "leader":
                return
        raise AssertionError("a lone replica never elected itself")


def test_a_lone_replica_elects_itself_and_applies_in_order() -> None:
    lone = Lone()
    lone.host.submit((cmd("set a 1", seq=1), cmd("set b 2", seq=2)))
    lone.host.submit((cmd("set a 3", seq=3),))
    assert [(a.slot, [c.seq for c in a.value]) for a in lone.replies] == [(0, [1, 2]), (1, [3])]
    assert [a.results for a in lone.replies] == [(b"ok", b"ok"), (b"ok",)]
    assert lone.kv.snapshot() == b'{"a":"3","b":"2"}' and lone.host.replica.applied == 1


def test_two_clients_sending_the_same_bytes_are_both_applied() -> None:
    lone = Lone()
    twins = (cmd("set a 1", client="alice"), cmd("set a 1", client="bob"))
    lone.host.submit(twins)
    assert [c for a in lone.replies for c in a.value] == list(twins)
    assert lone.replies[0].by_command() == {("alice", 1): b"ok", ("bob", 1): b"ok"}


def test_a_vote_counts_once_synced_and_a_chosen_entry_applies_without_waiting_for_its_own_record() -> None:
    storage = DeferredStorage()
    lone = Lone(storage)
    synced_before = len(storage.appended)
    lone.host.submit((cmd("set a 1", seq=1),))
    lone.host.submit((cmd("set a 2", seq=2),))
    assert len(storage.appended) == synced_before + 2 and lone.replies == [] and lone.host.waiting == 2
    lone.host.synced(synced_before + 1)  # slot 0's vote is durable: chosen, applied, answered
    assert [a.slot for a in lone.replies] == [0] and SaveChosen(0, (cmd("set a 1", seq=1),)) in storage.appended[-1]
    lone.host.synced(synced_before + 2)  # the second vote waited for its own sync, not for slot 0's record
    assert [a.slot for a in lone.replies] == [0, 1] and lone.kv.data == {"a": "2"}
    kinds = [type(r).__name__ for r in lone.records if not isinstance(r, Tick | Sent)]
    assert kinds[-6:] == ["Synced", "Intent", "Applied", "Synced", "Intent", "Applied"]  # no sync before Applied


class Leader:
    """Replica 0 of three, led by the host driver over a storage that syncs when told."""

    def __init__(self) -> None:
        self.storage = DeferredStorage()
        self.sent: list[Envelope] = []
        self.replies: list[Applied] = []
        config = ReplicaConfig(0, QuorumSystem.majority(3), election_timeout=2, heartbeat_interval=1)
        self.host = Host(
            config, KeyValueStore(), self.storage, lambda i, e: self.sent.append(e), reply=self.replies.append
        )
        for _ in range(10):
            self.host.tick()
            self.sync()
            if any(isinstance(e.msg, Prepare) for e in self.sent):
                break
        ballot = self.host.replica.proposer.ballot
        self.host.receive(Envelope(1, 0, Promise(ballot, 0, ())))
        self.sync()
        assert self.host.replica.role.value == "leader"
        self.ballot = ballot
        self.sent.clear()

    def sync(self) -> None:
        self.host.synced(len(self.storage.appended))


def test_accepts_leave_while_the_leaders_own_vote_is_still_syncing() -> None:
    leader = Leader()
    value = (cmd("set a 1"),)
    leader.host.submit(value)
    assert [(e.dst, e.msg) for e in leader.sent] == [(d, Accept(leader.ballot, 0, value)) for d in (1, 2)]
    assert SaveVote(Vote(0, leader.ballot, value)) in leader.storage.appended[-1]


def test_a_leader_decides_only_on_its_own_vote_once_synced() -> None:
    leader = Leader()
    value = (cmd("set a 1"),)
    leader.host.submit(value)
    leader.host.receive(Envelope(1, 0, Accepted(leader.ballot, 0, value)))
    assert leader.replies == [] and not any(isinstance(e.msg, Chosen) for e in leader.sent)  # 1 durable vote of 2
    leader.sync()
    assert [a.slot for a in leader.replies] == [0]
    assert [e.dst for e in leader.sent if isinstance(e.msg, Chosen)] == [1, 2]


def test_heartbeats_do_not_wait_behind_a_sync_in_progress() -> None:
    leader = Leader()
    leader.host.submit((cmd("set a 1"),))  # its vote is being synced, and stays so
    leader.sent.clear()
    for _ in range(3):
        leader.host.tick()
    assert {e.dst for e in leader.sent if isinstance(e.msg, Heartbeat)} == {1, 2} and leader.host.waiting


def test_a_follower_vote_stays_home_until_synced_while_a_decision_applies_at_once() -> None:
    storage = DeferredStorage()
    sent: list[Envelope] = []
    applied: list[Applied] = []
    config = ReplicaConfig(1, QuorumSystem.majority(3))
    host = Host(config, KeyValueStore(), storage, lambda i, e: sent.append(e), reply=applied.append)
    ballot, value = Ballot(2, 0), (cmd("set a 1"),)
    host.receive(Envelope(0, 1, Accept(ballot, 0, value)))
    assert sent == [] and storage.appended
    host.receive(Envelope(0, 1, Chosen(0, value)))
    assert [a.slot for a in applied] == [0] and sent == []  # chosen by the others: applied before our sync
    host.synced(len(storage.appended))
    assert [e.msg for e in sent] == [Accepted(ballot, 0, value)]


def test_one_group_commit_sync_completes_every_ready_waiting_on_it_in_order() -> None:
    storage = DeferredStorage()
    lone = Lone(storage)
    lone.host.synced(len(storage.appended))
    for seq in (1, 2, 3):
        lone.host.submit((cmd(f"set a {seq}", seq=seq),))
    assert lone.replies == [] and lone.host.waiting == 3
    lone.host.synced(len(storage.appended))  # one fdatasync covered all three appends
    assert [a.slot for a in lone.replies] == [0, 1, 2] and lone.kv.data == {"a": "3"}
    assert lone.host.waiting == 3  # only the three decisions' own records, which nothing waits for


def test_a_reply_waits_for_the_sync_that_makes_the_promise_durable() -> None:
    storage = DeferredStorage()
    sent: list[Envelope] = []
    host = Host(ReplicaConfig(1, QuorumSystem.majority(3)), KeyValueStore(), storage, lambda i, e: sent.append(e))
    host.receive(Envelope(0, 1, Prepare(Ballot(2, 0), 0)), MsgId(0, 0, 0))
    assert storage.appended == [(SavePromise(Ballot(2, 0)),)] and sent == []
    host.synced(1)
    assert [e.msg for e in sent] == [Promise(Ballot(2, 0), 0, ())]


def test_observations_round_trip_through_json_lines() -> None:
    lone = Lone()
    lone.host.submit((cmd("set a 1"), Command('b\n"x', 7, bytes(range(256)))))
    lone.host.receive(Envelope(0, 0, Heartbeat(Ballot(9, 0), 0)), MsgId(0, 0, 1))
    assert {type(r).__name__ for r in lone.records} >= {"Start", "Tick", "Submit", "Synced", "Sent", "Applied"}
    for record in lone.records:
        assert from_json(json.loads(dumps(record))) == record


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"type": "Tick"}, "record.node"),
        ({"type": "Fly", "node": 0}, "record.type"),
        ({"type": "Tick", "node": "0"}, "record.node"),
        ({"type": "Tick", "node": 0, "extra": 1}, "record.extra"),
        (
            {"type": "Submit", "node": 0, "commands": [{"client": "", "seq": 1, "op": ""}], "accepted": True},
            "record.commands[0]",
        ),
        ({"type": "Synced", "node": 0, "writes": [{"type": "SavePromise", "ballot": [1]}]}, "record.writes[0].ballot"),
    ],
)
def test_malformed_observations_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ObservationError, match=re.escape(f"field {field}")):
        from_json(doc)


def test_the_queue_skips_a_retried_identity_but_never_merges_by_content() -> None:
    proposer = Proposer(ReplicaConfig(0, QuorumSystem.majority(3)))
    alice, bob = cmd("set a 1", client="alice"), cmd("set a 1", client="bob")
    proposer.submit((alice, bob, alice))
    assert list(proposer.queue) == [alice, bob]


def test_values_name_and_encode_command_identity() -> None:
    values: list[Value] = [
        (cmd("set a 1", client="alice"),),
        (cmd("set a 1", client="bob"),),
        (cmd("set a 1", client="alice", seq=2),),
        (cmd('set a 1", bob#1 "x', client="alice"),),
        (cmd("set a 1", client="alice"), cmd("x", client="bob")),
        (Command("a#1", 1, b"x"),),
        (Command("a", 11, b"x"),),
        (Command("a", 1, b"\xff"),),
        (Command("a", 1, b"\\xff"),),
    ]
    assert len({render_value(v) for v in values}) == len({encode_value(v) for v in values}) == len(values)
    assert render_value(values[0]) == '[alice#1 "set a 1"]'
    with pytest.raises(ValueError):
        Command("", 1, b"x")
    with pytest.raises(ValueError):
        Command("a", 0, b"x")


# ---------------------------------------------------------------------- local invariants, on injected bugs


def test_the_acceptor_stops_a_vote_below_its_promise_and_a_falling_promise() -> None:
    class VotesBelow(Acceptor):
        def admits(self, ballot: Ballot) -> bool:
            return True

    class JoinsAnything(Acceptor):
        def joins(self, ballot: Ballot) -> bool:
            return True

    with pytest.raises(BrokenInvariant, match="below the promise"):
        VotesBelow(Ballot(3, 0)).on_accept(Ballot(1, 0), 0, ())
    with pytest.raises(BrokenInvariant, match="promise would fall"):
        JoinsAnything(Ballot(3, 0)).on_prepare(Ballot(1, 0), 0)


def test_the_proposer_stops_at_a_ballot_it_does_not_hold() -> None:
    class Borrows(Proposer):
        def own_ballot(self, round: int) -> Ballot:
            return Ballot(round, 0)

    with pytest.raises(BrokenInvariant, match="not its own"):
        Borrows(ReplicaConfig(1, QuorumSystem.majority(3))).start_election(NULL_BALLOT, 0)
    leader = Lone().host.replica.proposer
    leader.ballot = Ballot(leader.ballot.round + 1, 0)  # took a ballot over without running phase 1
    leader.proposals[0] = Proposal((), leader.configs.latest)
    with pytest.raises(BrokenInvariant, match="phase 1 completed"):
        leader.retransmit(0)


def test_the_replica_stops_a_host_that_applies_out_of_order_or_snapshots_ahead() -> None:
    lone = Lone()
    lone.host.submit((cmd("set a 1"),))
    replica = lone.host.replica
    assert replica.applied == 0
    with pytest.raises(BrokenInvariant, match="applied slot 2 after slot 0"):
        replica.applied_through(2)
    with pytest.raises(BrokenInvariant, match="applied only up to 0"):
        replica.snapshot_taken(1, b"{}")


def test_the_learner_keeps_its_commit_index_and_committed_values() -> None:
    learner = Learner(snapshot_interval=100)
    learner.install(CatchUpReply(None, _entries([(cmd("set a 1"),), (cmd("set a 2"),)])))
    learner.advance()
    with pytest.raises(BrokenInvariant, match="commit index back"):
        learner._adopt(Snapshot(0, b"{}", GENESIS, GENESIS))
    assert learner.learn(1, (cmd("set a 3"),)) == [] and "was chosen" in learner.alarms[-1]
    learner.last, learner.pending = 0, {1: (cmd("set a 3"),)}  # a bug that forgot slot 1 was committed
    with pytest.raises(BrokenInvariant, match="slot 1 would change"):
        learner.advance()
