"""Fast Paxos against classic Multi-Paxos in the simulator: message delays per command, and what collisions cost.

    .venv/bin/python bench/fastpaxos.py [--replicas 5] [--rounds 150] [--rates 0,0.05,0.1,0.2,0.4] [--seed 0]
        [--json]

Time is counted in message delays: the cluster runs in synchronous rounds, and in each round every message
in flight is delivered, every replica ticks once (so heartbeats, elections and the fast leader's stall check
run on the same clock), and then clients send. A message sent in round t arrives in round t + 1. Clients are
outside the cluster, one delay from every replica: a classic client sends its command to the leader
(Forward), which sends it to the acceptors (Accept), whose votes reach the leader (Accepted), which tells
every replica (Chosen); a fast client sends it to every acceptor (Propose), whose votes reach every replica.

1. Delays: one command at a time on a quiet cluster; rounds from the client's send until the leader, and
   until every replica, applied it.
2. Collisions: two clients each send one command every round for --rounds rounds. Their messages normally
   reach every acceptor in the same order, so each slot gets one value from every acceptor; in a fraction
   (the collision rate) of the rounds, enough acceptors get them in the other order that neither command has a
   fast quorum in either slot, and the leader must recover through a classic ballot (and, with collisions in
   a row, stays classic longer: `impl.fast.replica.CLASSIC_SLOTS`). A command not applied within a client
   timeout (three election timeouts) is sent again. Throughput is the commands applied everywhere per round,
   until all are; the delay is from the first send to applied everywhere; "fast path" is the share of
   command slots chosen by a fast quorum's votes for a client's Propose, no 2a. Classic Multi-Paxos runs the
   same workload once (the order of its clients' messages changes nothing it does) and is the peer every
   ratio is taken against.

Every run is judged by the refinement oracle (spec/multipaxos.py, spec/fastpaxos.py): a benchmark of a run the
spec does not allow would measure nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from paxiom.impl.ballot import Ballot
from paxiom.impl.fast.replica import is_fast
from paxiom.impl.messages import Accept, Accepted, Envelope, Forward, Propose
from paxiom.impl.observe import Applied, Record, Sent
from paxiom.impl.proposer import Role
from paxiom.impl.sim.runner import Execution
from paxiom.impl.sim.simulator import ClusterSettings, Step
from paxiom.impl.values import Command, Value
from paxiom.spec.quorums import QuorumFamily

WARM_UP_ROUNDS = 200
QUIET_ROUNDS = 6
DRAIN_ROUNDS = 2000


@dataclass
class Watch:
    """When each command was first applied by the leader's and by every replica, and the messages sent."""

    replicas: int
    round: int = 0
    applied: dict[Command, set[int]] = field(default_factory=dict)
    first: dict[Command, int] = field(default_factory=dict)
    everywhere: dict[Command, int] = field(default_factory=dict)
    messages: int = 0
    votes: dict[tuple[int, Ballot, Value], set[int]] = field(default_factory=dict)
    """Who voted for what in each slot at each fast ballot."""
    proposed: set[tuple[int, Ballot]] = field(default_factory=set)
    """(slot, ballot) of every 2a: a vote after one is not on the fast path."""
    slots: set[int] = field(default_factory=set)
    """Slots applied with commands (not no-ops)."""

    def on_records(self, replica: int, records: list[Record]) -> None:
        for record in records:
            if isinstance(record, Sent) and record.envelope.dst != record.node:
                self.messages += 1
            if isinstance(record, Sent) and isinstance(record.envelope.msg, Accept):
                self.proposed.add((record.envelope.msg.slot, record.envelope.msg.ballot))
            if isinstance(record, Sent) and isinstance(record.envelope.msg, Accepted):
                vote = record.envelope.msg
                if is_fast(vote.ballot):
                    self.votes.setdefault((vote.slot, vote.ballot, vote.value), set()).add(record.node)
            if isinstance(record, Applied) and record.value:
                self.slots.add(record.slot)
            if isinstance(record, Applied):
                for command in record.value:
                    where = self.applied.setdefault(command, set())
                    where.add(replica)
                    self.first.setdefault(command, self.round)
                    if len(where) == self.replicas:
                        self.everywhere.setdefault(command, self.round)

    def end_step(self, index: int, step: Step) -> None:
        pass

    def fast_share(self, fast: QuorumFamily | None) -> float:
        """The share of command slots chosen on the fast path: a fast quorum's votes at a fast ballot, no 2a."""
        if fast is None:
            return 0.0
        on_fast_path = {
            slot
            for (slot, ballot, _), voters in self.votes.items()
            if (slot, ballot) not in self.proposed and fast.is_quorum(sum(1 << a for a in voters))
        }
        return len(on_fast_path & self.slots) / len(self.slots)


class Cluster:
    """A simulated cluster under the oracle, run in synchronous rounds."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.execution = Execution(settings)
        self.sim = self.execution.sim
        self.watch = Watch(settings.replicas)
        self.sim.watch(self.watch)
        self.n = settings.replicas

    def feed(self, step: Step) -> None:
        if not self.execution.feed(step):
            raise SystemExit(f"the oracle objects: {self.execution.result.objection}")

    def round(self, first: set[int] | None = None) -> None:
        """Deliver what is in flight (the messages in `first` before the others), then tick everyone."""
        self.watch.round += 1
        flight = list(self.sim.network.in_flight)
        for mid in sorted(flight, key=lambda m: m not in (first or set())):
            self.feed({"action": "deliver", "msg": mid})
        for r in range(self.n):
            self.feed({"action": "tick", "replica": r})

    def leader(self) -> int | None:
        leaders = [r for r, rep in enumerate(self.sim.replicas) if rep is not None and rep.role is Role.LEADER]
        return leaders[0] if len(leaders) == 1 else None

    def warm_up(self) -> int:
        """Rounds until one replica leads (a fast leader: with its AnyFrom out), and a few more for the
        cluster to go quiet; returns the leader."""
        for _ in range(WARM_UP_ROUNDS):
            self.round()
            leader = self.leader()
            replica = self.sim.replicas[leader] if leader is not None else None
            if leader is not None and replica is not None and getattr(replica.proposer, "any_from", 0) is not None:
                for _ in range(QUIET_ROUNDS):
                    self.round()
                if self.leader() == leader:
                    return leader
        raise SystemExit("no stable leader was elected during the warm-up")

    def send(self, command: Command, fast: bool) -> None:
        """A client's command, arriving in the next round: at every acceptor (`Propose`) on the fast path, at
        the leader (`Forward`) on the classic one. A client is no replica: its message names its
        destination as its sender."""
        value = (command,)
        leader = self.leader()
        targets = range(self.n) if fast or leader is None else [leader]
        for dst in targets:
            self.sim.network.send(None, Envelope(dst, dst, Propose(value) if fast else Forward(value)))


def delays(variant: str, replicas: int, commands: int) -> dict[str, float]:
    """Message delays from a client's send to applied at the leader and everywhere, one command at a time."""
    cluster = Cluster(ClusterSettings(replicas=replicas, variant=variant))
    cluster.warm_up()
    at_leader, everywhere = [], []
    for seq in range(1, commands + 1):
        command = Command("c", seq, f"set k v{seq}".encode())
        start = cluster.watch.round
        cluster.send(command, variant == "fastpaxos")
        while command not in cluster.watch.everywhere:
            cluster.round()
        at_leader.append(cluster.watch.first[command] - start)
        everywhere.append(cluster.watch.everywhere[command] - start)
    return {"leader": statistics.mean(at_leader), "everywhere": statistics.mean(everywhere)}


def collisions(variant: str, replicas: int, rounds: int, rate: float, seed: int) -> dict[str, float]:
    """Two clients, one command each per round, a `rate` of the rounds colliding."""
    settings = ClusterSettings(replicas=replicas, variant=variant, seed=seed)
    cluster = Cluster(settings)
    leader = cluster.warm_up()
    fast = variant == "fastpaxos"
    rng = random.Random(f"collisions/{seed}/{rate}")
    family = settings.quorums().fast
    smallest = min(q.bit_count() for q in family.minimal_quorums) if family is not None else replicas
    swapped = set([r for r in range(replicas) if r != leader][: replicas - smallest + 1])
    """Acceptors that hear the second client first in a colliding round: then neither value has a fast quorum."""
    sent: dict[Command, int] = {}
    """Each command and the round it was last sent in."""
    timeout = 3 * settings.election_timeout
    start, retries, collided = cluster.watch.round, 0, 0
    for i in range(rounds + DRAIN_ROUNDS):
        first: set[int] = set()
        if fast and i < rounds and i and rng.random() < rate:
            # enough acceptors hear the second client before the first that neither has a fast quorum
            collided += 1
            first = {
                mid
                for mid, e in cluster.sim.network.in_flight.items()
                if isinstance(e.msg, Propose) and e.msg.commands[0].client == "c1" and e.dst in swapped
            }
        cluster.round(first)
        if i < rounds:
            for c in range(2):
                command = Command(f"c{c}", i + 1, f"set k{c} v{i}".encode())
                sent[command] = cluster.watch.round
                cluster.send(command, fast)
        for command, when in list(sent.items()):
            if command not in cluster.watch.first and cluster.watch.round - when >= timeout:
                retries += 1
                sent[command] = cluster.watch.round
                cluster.send(command, fast)
        if i >= rounds and all(command in cluster.watch.everywhere for command in sent):
            break
    else:
        raise SystemExit(f"{variant}: commands still unapplied after {DRAIN_ROUNDS} rounds of draining")
    cluster.execution.finish()
    end = max(cluster.watch.everywhere[c] for c in sent)
    first_sent = {c: start + int(c.seq) for c in sent}
    delay = [cluster.watch.everywhere[c] - first_sent[c] for c in sent]
    return {
        "throughput": len(sent) / (end - start),
        "delay": statistics.mean(delay),
        "p95": sorted(delay)[int(0.95 * (len(delay) - 1))],
        "messages": cluster.watch.messages / len(sent),
        "retries": retries,
        "collided_rounds": collided,
        "fast_share": cluster.watch.fast_share(settings.quorums().fast),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--rates", default="0,0.05,0.1,0.2,0.4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    doc: dict[str, Any] = {"replicas": args.replicas, "rounds": args.rounds}
    doc["delays"] = {v: delays(v, args.replicas, 20) for v in ("multipaxos", "fastpaxos")}
    classic = collisions("multipaxos", args.replicas, args.rounds, 0.0, args.seed)
    doc["classic"] = classic
    doc["fast"] = {rate: collisions("fastpaxos", args.replicas, args.rounds, rate, args.seed) for rate in rates}
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        print()
        return
    d = doc["delays"]
    print(f"message delays per command, {args.replicas} replicas, one client outside the cluster (no contention):")
    print(f"  {'':<24}{'classic':>9}{'fast':>7}{'fast/classic':>14}")
    for where in ("leader", "everywhere"):
        c, f = d["multipaxos"][where], d["fastpaxos"][where]
        label = "applied at the leader" if where == "leader" else "applied everywhere"
        print(f"  {label:<24}{c:>9.2f}{f:>7.2f}{f / c:>14.2f}")
    print(
        f"\ntwo clients, one command each per round for {args.rounds} rounds; classic: "
        f"{classic['throughput']:.2f} commands/round, delay {classic['delay']:.2f} (p95 {classic['p95']}), "
        f"{classic['messages']:.1f} messages/command"
    )
    header = (
        "collision rate",
        "collided",
        "fast path",
        "thr/round",
        "thr ratio",
        "delay",
        "delay ratio",
        "p95",
        "msgs/cmd",
        "msg ratio",
        "retries",
    )
    print("  " + "".join(f"{h:>12}" for h in header))
    for rate, f in doc["fast"].items():
        row = (
            f"{rate:.2f}",
            f["collided_rounds"],
            f"{f['fast_share']:.0%}",
            f"{f['throughput']:.2f}",
            f"{f['throughput'] / classic['throughput']:.2f}",
            f"{f['delay']:.2f}",
            f"{f['delay'] / classic['delay']:.2f}",
            f["p95"],
            f"{f['messages']:.1f}",
            f"{f['messages'] / classic['messages']:.2f}",
            f["retries"],
        )
        print("  " + "".join(f"{x:>12}" for x in row))
    print("  ratios are fast / classic, measured in the same run; every run judged by the refinement oracle")


if __name__ == "__main__":
    main()
