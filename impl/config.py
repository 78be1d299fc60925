"""A replica's configuration, checked before it may start."""

from __future__ import annotations

from dataclasses import dataclass

from paxiom.errors import PaxiomError
from paxiom.spec.quorums import QuorumSystem, quorum_intersection


class UnsafeQuorums(PaxiomError):
    """The quorum system fails an intersection condition: running it could choose two values."""


@dataclass(frozen=True)
class ReplicaConfig:
    replica_id: int
    quorums: QuorumSystem
    """Phase-1 and phase-2 families over the replicas (replica i is acceptor i)."""
    seed: int = 0
    """Seeds the election-timeout randomisation, so runs replay exactly."""
    election_timeout: int = 10
    """Ticks without hearing a leader before standing for election; the actual timeout is drawn
    uniformly from [election_timeout, 2 * election_timeout) each time the timer is reset."""
    heartbeat_interval: int = 3
    window: int = 8
    """Most slots a leader keeps in flight (proposed, not yet known chosen)."""
    alpha: int | None = None
    """The reconfiguration window α (`impl.reconfig`): a configuration chosen in slot i governs slots from
    i + α on, so a leader proposes in slot s only once slot s − α is committed. Every replica of a cluster
    must use the same α. None: the cluster never reconfigures (a configuration command is an ordinary
    command, and the pipeline is bounded by `window` alone)."""
    auxiliaries: frozenset[int] = frozenset()
    """Acceptors of the initial configuration that vote only for configuration commands (Cheap Paxos's
    auxiliaries, `spec/cheap.py`): they take part only to reconfigure a failed main away."""
    batch_size: int = 4
    """Most client commands per slot."""
    batch_bytes: int = 4 << 20
    """Most bytes of commands per slot (`values.value_bytes`), well below the 16 MiB frame a slot travels in;
    a command larger than this alone goes alone (the server refuses such ops before they reach the core)."""
    catch_up_bytes: int = 12 << 20
    """Most bytes of one catch-up reply (snapshot and entries, beyond its first item): a longer prefix goes
    in chunks the lagging replica asks for in turn."""
    snapshot_interval: int = 16
    """Take a snapshot (and compact the log below it) every this many applied slots."""
    snapshot_bytes: int = 8 << 20
    """Largest state machine snapshot kept: a bigger one is not taken (an alarm says so) and the log below
    it stays, because a snapshot must fit one durable record and one catch-up frame."""

    @property
    def n(self) -> int:
        return self.quorums.n

    def check(self) -> None:
        """Refuse to start on anything that could break safety or liveness, naming what is wrong."""
        violation = quorum_intersection(self.quorums)
        if violation is not None:
            raise UnsafeQuorums(violation.describe(self.quorums.nodes))
        if not 0 <= self.replica_id < self.n:
            raise PaxiomError(f"replica id {self.replica_id} is outside 0..{self.n - 1}")
        for name in (
            "election_timeout",
            "heartbeat_interval",
            "window",
            "batch_size",
            "batch_bytes",
            "catch_up_bytes",
            "snapshot_interval",
            "snapshot_bytes",
        ):
            if getattr(self, name) < 1:
                raise PaxiomError(f"{name} must be at least 1")
        if self.alpha is not None and self.alpha < 1:
            raise PaxiomError("alpha must be at least 1 (or None: no reconfiguration)")
        if self.heartbeat_interval >= self.election_timeout:
            raise PaxiomError("heartbeat_interval must be below election_timeout, or followers keep electing")
        if self.catch_up_bytes < 2 * self.batch_bytes:
            raise PaxiomError("catch_up_bytes must be at least twice batch_bytes, or a cut reply looks complete")
