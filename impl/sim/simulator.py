"""The deterministic cluster simulator: N replica cores, a simulated network and disks, simulated time.

The simulator does nothing on its own: every step is an adversary's choice (`Step`, a JSON-able dict
such as `{"action": "deliver", "msg": 17}`), so a schedule — a list of steps — replays exactly, which is
what makes shrunk counterexamples and `paxiom sim --replay` possible. Each replica runs under the
production host driver (`impl.host.Host`) over an in-memory disk that is durable at once, so a Ready's
writes reach the disk before its messages enter the network and before its entries are applied (or,
with `lazy_sync`, one whose writes are synced only at the replica's next tick, `impl.sim.disk`); the
host's observation records go to the observers (`watch`), and are not built while nobody watches. A
crash discards the host, its replica and its state machine, and keeps only the disk.

Steps that make no sense in the current state (delivering a message no longer in flight, restarting a
running replica) are skipped; that is what lets a shrinker delete steps freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Protocol, TypeVar

from paxiom.errors import PaxiomError
from paxiom.impl.cheap.replica import CheapReplica
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.fast.replica import FastReplica, smallest_fast_quorum
from paxiom.impl.host import Host, ImmediateStorage
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.kv import KeyValueStore
from paxiom.impl.mutants import MUTANTS, Mutation, variant_of
from paxiom.impl.objection import Objection
from paxiom.impl.observe import Alarm, Applied, Crash, Record
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig import config_command, majority_of
from paxiom.impl.replica import Replica
from paxiom.impl.sim.disk import LazyStorage
from paxiom.impl.sim.mutants import core_class, host_class
from paxiom.impl.sim.network import Network
from paxiom.impl.storage import DurableState
from paxiom.impl.values import Command
from paxiom.spec.quorums import QuorumSystem, Threshold, acceptor_names
from paxiom.variants import SIMULATED

Step = dict[str, Any]
T = TypeVar("T")

ACTIONS: dict[str, tuple[str, ...]] = {
    "deliver": ("msg",),
    "drop": ("msg",),
    "duplicate": ("msg",),
    "corrupt": ("msg",),
    "tick": ("replica",),
    "crash": ("replica",),
    "restart": ("replica",),
    "partition": ("side",),
    "oneway": ("side",),
    "heal": (),
    "submit": ("replica", "client", "seq", "command"),
    "reconfigure": ("replica", "seq", "members"),
    "quiesce": ("rounds",),
    "quiet": ("rounds",),
}
"""Every step kind and its arguments. `quiesce` is the fault-free epilogue of the liveness check: heal,
restart everyone, then `rounds` fair rounds (every replica ticks, every message is delivered in order,
unapplied commands are resubmitted). `quiet` is the quiet period before it: the same heal, restart
and fair rounds, but nothing is submitted or resubmitted, so a lag that only new work would heal stays."""


class Observer(Protocol):
    """Watches a run step by step; the refinement oracle is one. Raising an exception stops the run."""

    def on_records(self, replica: int, records: list[Record]) -> None:
        """What one replica's host observed while handling one input or booting (or its crash)."""
        ...

    def end_step(self, index: int, step: Step) -> None: ...


@dataclass(frozen=True)
class ClusterSettings:
    """The constants of a simulated cluster (everything a trace file needs to rebuild it)."""

    replicas: int = 3
    seed: int = 0
    phase1: int | None = None
    """Phase-1 quorum size (None: majority)."""
    phase2: int | None = None
    election_timeout: int = 8
    heartbeat_interval: int = 2
    window: int = 4
    batch_size: int = 2
    snapshot_interval: int = 4
    mutations: frozenset[Mutation] = field(default_factory=frozenset)
    """Injected bugs: the simulator builds its cores and hosts from their overrides (`impl.sim.mutants`)."""

    variant: str = ""
    """The protocol the replicas run (`paxiom.variants.SIMULATED`); empty: the one the mutations are bugs of
    (multipaxos when there are none)."""
    fast: int | None = None
    """Fast quorum size, for fastpaxos (None: the smallest the phase-1 quorum allows)."""
    alpha: int = 8
    """The reconfiguration window (`ReplicaConfig.alpha`); a `reconfig` cluster starts with its last replica
    outside every quorum, and its schedule switches configurations (`impl.sim.reconfigure`)."""
    lazy_sync: bool = False
    """Each replica's writes become durable only at its next tick, and a crash loses those not synced
    yet (`impl.sim.disk.LazyStorage`): what catches a host counting or sending before its sync."""

    def __post_init__(self) -> None:
        try:
            variant = self.variant or variant_of(self.mutations)
        except ValueError as exc:
            raise PaxiomError(str(exc)) from None
        object.__setattr__(self, "variant", variant)
        if variant not in SIMULATED:
            raise PaxiomError(f"variant {variant!r} is not simulated; choose one of {', '.join(SIMULATED)}")
        fast_bugs = {MUTANTS[m.value].variant == "fastpaxos" for m in self.mutations}
        if fast_bugs and fast_bugs != {variant == "fastpaxos"}:
            names = ", ".join(sorted(m.value for m in self.mutations))
            raise PaxiomError(f"mutations {names} are not all bugs of the {variant} core")

    def quorums(self) -> QuorumSystem:
        majority = self.replicas // 2 + 1
        q1, q2 = self.phase1 or majority, self.phase2 or majority
        if self.variant == "reconfig":
            return majority_of(acceptor_names(self.replicas), range(max(1, self.replicas - 1)))
        if self.variant == "cheap":  # cheap's configuration 0: any `mains` of every acceptor
            return majority_of(acceptor_names(self.replicas), range(self.replicas))
        if self.variant != "fastpaxos":
            return QuorumSystem.flexible(self.replicas, q1, q2)
        nodes, fast = acceptor_names(self.replicas), self.fast or smallest_fast_quorum(self.replicas, q1)
        families = (Threshold(nodes, q1), Threshold(nodes, q2), Threshold(nodes, fast))
        return QuorumSystem(*families, name=f"|Q1|={q1}, |Q2|={q2}, fast {fast} of {self.replicas}")

    @property
    def mains(self) -> int:
        """Cheap Paxos's main acceptors, the first ones: a majority (the rest are auxiliaries)."""
        return self.replicas // 2 + 1

    def core(self) -> type[Replica]:
        """The variant's replica core, before any injected bug."""
        return {"fastpaxos": FastReplica, "cheap": CheapReplica}.get(self.variant, Replica)

    def replica_config(self, replica: int) -> ReplicaConfig:
        return ReplicaConfig(
            replica_id=replica,
            quorums=self.quorums(),
            seed=self.seed,
            election_timeout=self.election_timeout,
            heartbeat_interval=self.heartbeat_interval,
            window=self.window,
            alpha=self.alpha if self.variant in ("reconfig", "cheap") else None,
            auxiliaries=frozenset(range(self.mains, self.replicas)) if self.variant == "cheap" else frozenset(),
            batch_size=self.batch_size,
            snapshot_interval=self.snapshot_interval,
        )

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "mutations"}
        doc["mutations"] = sorted(m.value for m in self.mutations)
        return doc

    @staticmethod
    def from_json(doc: dict[str, Any]) -> ClusterSettings:
        known = set(ClusterSettings.__dataclass_fields__)
        unknown = set(doc) - known
        if unknown:
            raise PaxiomError(f"unknown cluster settings {sorted(unknown)}")
        try:
            mutations = frozenset(Mutation(m) for m in doc.get("mutations", []))
        except ValueError as exc:
            raise PaxiomError(f"unknown mutation: {exc}") from None
        return replace(ClusterSettings(), **{**doc, "mutations": mutations})


class Simulator:
    def __init__(self, settings: ClusterSettings, observers: list[Observer] | None = None) -> None:
        self.settings = settings
        self.configs = [settings.replica_config(r) for r in range(settings.replicas)]
        for config in self.configs:
            config.check()
        self.core_class = core_class(settings.mutations, settings.core())
        self.host_class = host_class(settings.mutations)
        """The production classes, or subclasses carrying the settings' injected bugs."""
        self.network = Network()
        self.disks = [DurableState() for _ in range(settings.replicas)]
        self.incarnations = [0] * settings.replicas
        self.hosts: list[Host | None] = [None] * settings.replicas
        self.states: list[KeyValueStore] = [KeyValueStore() for _ in range(settings.replicas)]
        """Each replica's state machine (replaced by a fresh one at every restart)."""
        self._records: list[Record] = []
        self._observers = list(observers or [])
        self.steps_taken = 0
        self.transitions = 0
        """Replica transitions (an input handled, a boot, a crash): what an observer is handed one by one."""
        self.last_quiesce = 0
        """Fair rounds the last `quiesce` step needed to settle."""
        self.last_quiet = 0
        """Fair rounds the last `quiet` step needed for every replica to reach the leader's commit index."""
        self.applied_anywhere: set[Command] = set()
        self._unapplied: dict[Command, None] = {}
        """Submitted commands not in `applied_anywhere`, in submission order, kept as commands come and go
        (the liveness epilogue asks for them every round)."""
        self.alarms: list[str] = []
        """Integrity failures replicas detected and refused (corrupted catch-up replies), from their hosts'
        `Alarm` records: collected while an observer watches."""
        for r in range(settings.replicas):
            self._boot(r)

    # ------------------------------------------------------------------ host side of the contract

    @property
    def observers(self) -> tuple[Observer, ...]:
        return tuple(self._observers)

    def watch(self, observer: Observer) -> None:
        """Hand `observer` every transition from now on (the hosts start building records if nobody watched)."""
        self._observers.append(observer)
        for host in self.hosts:
            if host is not None:
                host.sink = self._records.append

    @property
    def replicas(self) -> list[Replica | None]:
        """The running replica cores (None while crashed)."""
        return [host.replica if host is not None else None for host in self.hosts]

    def _boot(self, r: int) -> None:
        storage = LazyStorage(self.disks[r]) if self.settings.lazy_sync else ImmediateStorage(self.disks[r])
        self.states[r] = KeyValueStore()
        host = self._guard(
            r,
            lambda: self.host_class(
                self.configs[r],
                self.states[r],
                storage,
                self.network.send,
                durable=self.disks[r].copy(),
                incarnation=self.incarnations[r],
                reply=self._applied,
                sink=self._records.append if self._observers else None,
                core=self.core_class,
            ),
        )
        storage.bind(host)
        self.hosts[r] = host
        self._flush(r)

    def _applied(self, applied: Applied) -> None:
        self.applied_anywhere.update(applied.value)
        for command in applied.value:
            self._unapplied.pop(command, None)

    def _flush(self, r: int) -> None:
        self.transitions += 1
        if not self._observers:
            return
        records = list(self._records)
        self._records.clear()
        self.alarms += [record.text for record in records if isinstance(record, Alarm)]
        for observer in self._observers:
            observer.on_records(r, records)

    def _guard(self, r: int, poke: Callable[[], T]) -> T:
        try:
            return poke()
        except BrokenInvariant as exc:
            raise Objection("local-invariant", f"{self.configs[r].quorums.nodes[r]}: {exc}", self.steps_taken) from exc
        except Exception as exc:  # a replica that crashes on its input is a finding, not a simulator bug
            raise Objection(
                "replica-failed", f"{self.configs[r].quorums.nodes[r]} raised {exc!r}", self.steps_taken
            ) from exc

    def _activate(self, r: int, poke: Callable[[Host], object]) -> bool:
        host = self.hosts[r] if 0 <= r < len(self.hosts) else None
        if host is None:
            return False
        self._guard(r, lambda: poke(host))
        self._flush(r)
        return True

    # ------------------------------------------------------------------ the adversary's moves

    def step(self, step: Step) -> bool:
        """Take one step; False if it was skipped as meaningless in the current state."""
        done = self._do(step)
        index = self.steps_taken
        self.steps_taken += 1
        for observer in self._observers:
            observer.end_step(index, step)
        return done

    def _do(self, step: Step) -> bool:
        kind = step["action"]
        net = self.network
        if kind == "deliver":
            taken = net.take(step["msg"])
            return taken is not None and self._activate(taken[1].dst, lambda host: host.receive(taken[1], taken[0]))
        if kind == "drop":
            return net.drop(step["msg"])
        if kind == "duplicate":
            return net.duplicate(step["msg"])
        if kind == "corrupt":
            return net.corrupt(step["msg"])
        if kind == "tick":
            return self._activate(step["replica"], _tick)
        if kind == "submit":
            try:
                command = Command(str(step["client"]), int(step["seq"]), str(step["command"]).encode())
            except ValueError as exc:
                raise PaxiomError(f"bad submit step {step}: {exc}") from None
            if command not in self.applied_anywhere:
                self._unapplied.setdefault(command)
            return self._activate(step["replica"], lambda host: host.submit((command,)))
        if kind == "reconfigure":
            return self._reconfigure(step)
        if kind == "crash":
            return self.crash(step["replica"])
        if kind == "restart":
            return self.restart(step["replica"])
        if kind in ("partition", "oneway"):
            side = frozenset(int(r) for r in step["side"])
            if not side or len(side) >= self.settings.replicas:
                return False
            net.side, net.oneway = side, kind == "oneway"
            return True
        if kind == "heal":
            was, net.side, net.oneway = net.side, None, False
            return was is not None
        if kind == "quiesce":
            self.last_quiesce = self.quiesce(int(step["rounds"]))
            return True
        if kind == "quiet":
            self.last_quiet = self.quiet(int(step["rounds"]))
            return True
        raise PaxiomError(f"unknown step {kind!r} (known: {', '.join(ACTIONS)})")

    def _reconfigure(self, step: Step) -> bool:
        """A client asks replica `replica` to switch to the majorities of `members` (`impl.reconfig`); in a
        cheap cluster the auxiliaries among them stay auxiliaries."""
        try:
            members = [int(m) for m in step["members"]]
            qs = majority_of(self.configs[0].quorums.nodes, members)
            cheap = self.settings.variant == "cheap"
            auxiliaries = frozenset(m for m in members if m >= self.settings.mains) if cheap else frozenset()
            command = config_command("reconfig", int(step["seq"]), qs, auxiliaries)
        except (ValueError, TypeError) as exc:
            raise PaxiomError(f"bad reconfigure step {step}: {exc}") from None
        if command not in self.applied_anywhere:
            self._unapplied.setdefault(command)
        return self._activate(step["replica"], lambda host: host.submit((command,)))

    def crash(self, r: int) -> bool:
        if not 0 <= r < len(self.hosts) or self.hosts[r] is None:
            return False
        self.hosts[r] = None
        if self._observers:
            self._records.append(Crash(r))
        self._flush(r)
        return True

    def restart(self, r: int) -> bool:
        if not 0 <= r < len(self.hosts) or self.hosts[r] is not None:
            return False
        self.incarnations[r] += 1
        self._boot(r)
        return True

    # ------------------------------------------------------------------ the liveness epilogue

    def unapplied(self) -> list[Command]:
        """Submitted commands no replica has applied yet."""
        return list(self._unapplied)

    def lagging(self) -> list[int]:
        """Live replicas whose applied prefix is shorter than the longest one (of those that learn the log)."""
        commits = {r: rep.commit for r, rep in enumerate(self.replicas) if rep is not None and rep.learns_log}
        top = max(commits.values(), default=0)
        return [r for r, c in commits.items() if c < top]

    def settled(self) -> bool:
        return not self._unapplied and not self.lagging()

    def caught_up(self) -> bool:
        """Some replica leads, and every live replica that learns the log has reached the leader's commit
        index (the leader at the highest ballot, should a deposed one not know yet)."""
        live = [replica for replica in self.replicas if replica is not None]
        leaders = [replica for replica in live if replica.proposer.role is Role.LEADER]
        if not leaders:
            return False
        top = max(leaders, key=lambda replica: replica.proposer.ballot).commit
        return all(replica.commit >= top for replica in live if replica.learns_log)

    def _calm(self) -> None:
        """Faults stop: heal the network and restart every crashed replica."""
        self.network.side, self.network.oneway = None, False
        for r in range(len(self.hosts)):
            if self.hosts[r] is None:
                self.restart(r)

    def _fair_round(self) -> None:
        """Every replica ticks, then every message in flight is delivered in sending order."""
        for r in range(len(self.hosts)):
            self._activate(r, _tick)
        for mid in list(self.network.in_flight):
            taken = self.network.take(mid)
            if taken is not None:
                self._activate(taken[1].dst, partial(Host.receive, envelope=taken[1], msg_id=taken[0]))

    def quiet(self, rounds: int) -> int:
        """Faults stop and clients fall silent: fair rounds until `caught_up`. Returns the rounds it took
        (`rounds` + 1 if it never got there)."""
        self._calm()
        for rnd in range(rounds):
            if self.caught_up():
                return rnd
            self._fair_round()
        return rounds if self.caught_up() else rounds + 1

    def quiesce(self, rounds: int) -> int:
        """Faults stop: heal, restart everyone, then run fair rounds until every submitted command is
        applied at every replica. Returns the rounds it took (`rounds` + 1 if it never got there)."""
        self._calm()
        resubmit_every = 2 * self.settings.election_timeout
        for rnd in range(rounds):
            if self.settled():
                return rnd
            if rnd % resubmit_every == 0 and (missing := tuple(self._unapplied)):
                for r in range(len(self.hosts)):
                    self._activate(r, partial(Host.submit, commands=missing))
            self._fair_round()
        return rounds if self.settled() else rounds + 1


def _tick(host: Host) -> None:
    """A replica's clock ticks; a lazy disk syncs first (its fdatasync completed meanwhile)."""
    if isinstance(host.storage, LazyStorage):
        host.storage.sync()
    host.tick()
