"""A node killed between the sync of a write batch and the trace's records of it (docs/campaign.md, finding 1).

Three hosts on an in-memory network with disks that are durable as soon as they are written; the leader's
trace and sends stop at a chosen record (its process died there, its disk survives), it restarts from that
disk, and `paxiom trace check`'s checker judges the traces. The host announces each batch in an `Intent`
before the storage gets it, so a kill after the sync leaves a record of what the disk may hold: the oracle
accepts the recovered vote for the leader's own proposal, and still objects to one nobody announced.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from paxiom.impl.config import ReplicaConfig
from paxiom.impl.host import Host, ImmediateStorage
from paxiom.impl.kv import KeyValueStore
from paxiom.impl.messages import Envelope
from paxiom.impl.observe import Crash, MsgId, Record, dumps
from paxiom.impl.proposer import Role
from paxiom.impl.storage import DurableState, SaveVote
from paxiom.impl.tracecheck import Verdict, check
from paxiom.impl.values import Command
from paxiom.spec.quorums import QuorumSystem

N = 3


@dataclass(frozen=True)
class Cut:
    """The process dies at the first record of this kind carrying a vote: right after it (keep) or before."""

    kind: str
    keep: bool = True

    def __call__(self, record: Record) -> bool:
        writes = getattr(record, "writes", ())
        return type(record).__name__ == self.kind and any(isinstance(w, SaveVote) for w in writes)


class Cluster:
    def __init__(self) -> None:
        self.quorums = QuorumSystem.flexible(N, 2, 2)
        self.disks = [DurableState() for _ in range(N)]
        self.traces: list[list[Record]] = [[] for _ in range(N)]
        self.network: deque[tuple[MsgId, Envelope]] = deque()
        self.cuts: list[Cut | None] = [None] * N
        self.dead = [False] * N
        self.hosts = [self._boot(r, 0) for r in range(N)]

    def _boot(self, r: int, incarnation: int) -> Host:
        storage = ImmediateStorage(self.disks[r])
        config = ReplicaConfig(replica_id=r, quorums=self.quorums, seed=r)
        host = Host(
            config,
            KeyValueStore(),
            storage,
            lambda msg_id, envelope: None if self.dead[r] else self.network.append((msg_id, envelope)),
            durable=self.disks[r].copy(),
            incarnation=incarnation,
            sink=lambda record: self._record(r, record),
        )
        storage.bind(host)
        return host

    def _record(self, r: int, record: Record) -> None:
        cut = self.cuts[r]
        if self.dead[r]:
            return
        if cut is not None and cut(record):
            self.dead[r] = True
            if not cut.keep:
                return
        self.traces[r].append(record)

    def deliver(self) -> None:
        for _ in range(10_000):
            if not self.network:
                return
            msg_id, envelope = self.network.popleft()
            if not self.dead[envelope.dst]:
                self.hosts[envelope.dst].receive(envelope, msg_id)
        raise AssertionError("the network never drained")

    def leader(self) -> int:
        for _ in range(500):
            for host in self.hosts:
                host.tick()
            self.deliver()
            leaders = [r for r, h in enumerate(self.hosts) if h.replica.role is Role.LEADER]
            if leaders:
                return leaders[0]
        raise AssertionError("no leader elected in 500 rounds")

    def kill_while_proposing(self, cut: Cut) -> int:
        """The leader takes a command and dies at `cut`; it restarts from its disk and serves on."""
        r = self.leader()
        self.cuts[r] = cut
        assert self.hosts[r].submit((Command("c", 1, b"put k v"),))
        assert self.dead[r], "the cut never came"
        self.network.clear()  # what it sent before dying went with it, and nothing else is in flight
        self.traces[r].append(Crash(r))
        self.cuts[r], self.dead[r] = None, False
        self.hosts[r] = self._boot(r, 1)
        for _ in range(50):
            for host in self.hosts:
                host.tick()
            self.deliver()
        return r

    def check(self, directory: Path) -> Verdict:
        directory.mkdir()
        for r, records in enumerate(self.traces):
            (directory / f"n{r}.jsonl").write_text("".join(dumps(record) + "\n" for record in records))
        return check(directory)


def test_a_leader_killed_after_syncing_its_own_vote_and_before_recording_it_holds(tmp_path: Path) -> None:
    cluster = Cluster()
    r = cluster.kill_while_proposing(Cut("Intent"))
    assert any(vote.ballot.replica == r for vote in cluster.disks[r].votes.values()), "its own vote is on disk"
    verdict = cluster.check(tmp_path / "traces")
    assert verdict.holds, verdict.objection
    assert verdict.actions_matched > 0


def test_a_node_killed_between_synced_and_sent_holds(tmp_path: Path) -> None:
    cluster = Cluster()
    cluster.kill_while_proposing(Cut("Synced"))
    verdict = cluster.check(tmp_path / "traces")
    assert verdict.holds, verdict.objection


def test_a_recovered_vote_no_intent_announced_is_refused(tmp_path: Path) -> None:
    cluster = Cluster()
    cluster.kill_while_proposing(Cut("Intent", keep=False))  # a host that never said it would write
    verdict = cluster.check(tmp_path / "traces")
    assert verdict.objection is not None and verdict.objection.check == "recovery", verdict.objection
    assert "neither synced nor announced" in verdict.objection.reason
