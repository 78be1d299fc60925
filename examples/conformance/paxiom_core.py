"""paxiom's own Multi-Paxos core (`paxiom.impl`) under the conformance suite, one slot at a time.

    paxiom conform --adapter examples/conformance/paxiom_core.py:Core --role acceptor
    paxiom conform --adapter examples/conformance/paxiom_core.py:Core --role proposer --option mutant=propose-own-value

The suite is single-decree, so everything happens in slot 0: a canonical value `v` is the one-command
batch `(Command("client:v", 1, b"v"),)`, and a ballot `[round, proposer]` is the core's
`Ballot(round, index of proposer)`. Each role wraps the core's own class for it, and persists exactly the
writes the core hands out (`impl.storage`):
- acceptor: `impl.acceptor.Acceptor`;
- proposer: `impl.proposer.Proposer`, persisting the ballot it stands at as a replica's co-located acceptor
  would (the durable promise the core derives its next ballot from);
- learner: the core learns through its leader's tally (`Proposer.on_accepted`), so the learner adopts the
  leadership of each higher ballot whose accept it sees and tallies the accepted messages for it;
- node (group tests): the whole `impl.replica.Replica`; heartbeats and catch-up are not part of the
  canonical protocol and are not sent (to the suite they are lost messages).
`--option mutant=NAME` injects one of the core's catalogued bugs (`paxiom.impl.mutants`): the roles are
built from the mutant's core (`paxiom.impl.sim.mutants.core_class`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from paxiom.conform import (
    Accept,
    Accepted,
    Adapter,
    Ballot,
    Decision,
    Input,
    LastVote,
    Nack,
    Node,
    Output,
    Prepare,
    Promise,
    Propose,
    Timeout,
)
from paxiom.impl import messages as core
from paxiom.impl.ballot import Ballot as CoreBallot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.mutants import mutant
from paxiom.impl.proposer import Proposal, Role
from paxiom.impl.sim.mutants import core_class
from paxiom.impl.storage import DurableState, Ready, Write
from paxiom.impl.values import Command, Value, render_value
from paxiom.spec.quorums import Explicit, QuorumSystem


class Core(Adapter):
    roles = frozenset({"acceptor", "proposer", "learner", "node"})

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        """`mutant=NAME` must name a catalogued bug (the KeyError lists the catalogue); nothing else is known."""
        if unknown := sorted(set(options) - {"mutant"}):
            raise ValueError(f"unknown option {unknown[0]!r}; this adapter knows only mutant=NAME")
        if "mutant" in options:
            mutant(options["mutant"])

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        name = node.options.get("mutant")
        self.mutations = frozenset({mutant(name).mutation}) if name else frozenset()
        acceptors = node.acceptors
        quorums = QuorumSystem(Explicit(acceptors, node.phase1.sets), Explicit(acceptors, node.phase2.sets))
        me = node.proposers.index(node.id) if node.id in node.proposers else 0
        self.config = ReplicaConfig(me, quorums, batch_size=1)
        self.durable = self.restore(self.load() or {})
        core = core_class(self.mutations)
        self.acceptor = core.acceptor_class(self.durable.promise, self.durable.votes)
        self.proposer = core.proposer_class(self.config)
        self.replica = core(self.config, self.durable.copy(), node.incarnation)
        # (built in every role, for simplicity: only the node role of group tests drives it)
        self.decided = 0 in self.durable.chosen
        self.wanted: tuple[Value, ...] = ()
        """Client values asked for and not yet handed to a leader (proposer and node roles)."""

    # ------------------------------------------------------------ translation

    def ballot(self, b: Ballot) -> CoreBallot:
        return CoreBallot(b.round, self.node.proposers.index(b.node))

    def canonical(self, b: CoreBallot) -> Ballot:
        return Ballot(b.round, self.node.proposers[b.replica])

    @staticmethod
    def value(v: str) -> Value:
        """The one-command batch asking for `v`, sent by a client of its own (distinct values are distinct
        commands; the same value asked twice is one client's retry)."""
        return (Command(f"client:{v}", 1, v.encode()),)

    @staticmethod
    def text(value: Value) -> str:
        return value[0].op.decode() if len(value) == 1 else render_value(value)

    def index(self, name: str) -> int:
        return self.node.acceptors.index(name)

    def to_core(self, msg: Input) -> core.Message | None:
        match msg:
            case Prepare(ballot=b):
                return core.Prepare(self.ballot(b), 0)
            case Promise(ballot=b, last=last):
                votes = () if last is None else (core.Vote(0, self.ballot(last.ballot), self.value(last.value)),)
                return core.Promise(self.ballot(b), 0, votes)
            case Nack(promised=p):
                return core.Nack(self.ballot(p))
            case Accept(ballot=b, value=v):
                return core.Accept(self.ballot(b), 0, self.value(v))
            case Accepted(ballot=b, value=v):
                return core.Accepted(self.ballot(b), 0, self.value(v))
        return None

    def from_core(self, dst: str, msg: core.Message, asked: Ballot | None = None) -> list[Output]:
        """Slot-0 protocol messages in canonical form; everything else is outside the single-decree suite
        (including phase 1 from slot 1 on, which a replica that knows slot 0 is chosen runs)."""
        me = self.node.id
        match msg:
            case core.Prepare(ballot=b, first_slot=0):
                return [Prepare(me, dst, self.canonical(b))]
            case core.Promise(ballot=b, first_slot=0, votes=votes):
                slot0 = [LastVote(self.canonical(v.ballot), self.text(v.value)) for v in votes if v.slot == 0]
                return [Promise(me, dst, self.canonical(b), slot0[0] if slot0 else None)]
            case core.Accept(ballot=b, slot=0, value=v):
                return [Accept(me, dst, self.canonical(b), self.text(v))]
            case core.Accepted(ballot=b, slot=0, value=v):
                return [Accepted(me, dst, self.canonical(b), self.text(v))]
            case core.Nack(promised=p) if asked is not None:
                return [Nack(me, dst, asked, self.canonical(p))]
            case core.Chosen(slot=0, value=v):
                return self.decide(v)
        return []

    def decide(self, value: Value) -> list[Output]:
        return [Decision(self.node.id, self.text(value))]

    # ------------------------------------------------------------ durability: exactly the core's writes

    def restore(self, doc: dict[str, Any]) -> DurableState:
        durable = DurableState()
        if "promise" in doc:
            durable.promise = CoreBallot(*doc["promise"])
        for slot, (rnd, replica, value) in doc.get("votes", {}).items():
            durable.votes[int(slot)] = core.Vote(int(slot), CoreBallot(rnd, replica), self.value(value))
        durable.chosen = {int(slot): self.value(value) for slot, value in doc.get("chosen", {}).items()}
        return durable

    def persist(self, writes: Iterable[Write]) -> None:
        for write in writes:
            self.durable.persist(write)
        votes = {s: [v.ballot.round, v.ballot.replica, self.text(v.value)] for s, v in self.durable.votes.items()}
        chosen = {s: self.text(v) for s, v in self.durable.chosen.items()}
        self.save({"promise": list(self.durable.promise), "votes": votes, "chosen": chosen})

    # ------------------------------------------------------------ roles

    def handle(self, msg: Input) -> list[Output]:
        role = {"acceptor": self.as_acceptor, "proposer": self.as_proposer, "learner": self.as_learner}
        return role.get(self.node.role, self.as_node)(msg)

    def as_acceptor(self, msg: Input) -> list[Output]:
        reply: core.Message | None
        if isinstance(msg, Prepare):
            writes, reply = self.acceptor.on_prepare(self.ballot(msg.ballot), 0)
        elif isinstance(msg, Accept):
            writes, reply = self.acceptor.on_accept(self.ballot(msg.ballot), 0, self.value(msg.value))
        else:
            return []
        self.persist(writes)
        return [] if reply is None else self.from_core(msg.src, reply, msg.ballot)

    def as_proposer(self, msg: Input) -> list[Output]:
        p = self.proposer
        out: list[tuple[int, core.Message]] = []
        if isinstance(msg, Propose):
            self.wanted = (*self.wanted, self.value(msg.value))
            p.submit(self.value(msg.value))
            out = self.elect() if p.role is Role.FOLLOWER else p.propose_pending(0)
        elif isinstance(msg, Timeout):
            out = self.elect()
        elif isinstance(msg, Promise):
            promise = self.to_core(msg)
            assert isinstance(promise, core.Promise)
            out = p.on_promise(self.index(msg.src), promise, self.durable.chosen)
        elif isinstance(msg, Nack):
            out = p.observe(self.ballot(msg.promised), 0)
        elif isinstance(msg, Accepted):
            return self.tally(msg)
        return [m for dst, c in out for m in self.from_core(self.node.acceptors[dst], c)]

    def elect(self) -> list[tuple[int, core.Message]]:
        """Stand for election; the client values still wanted are resubmitted, as retrying clients would."""
        out = self.proposer.start_election(max(self.durable.promise, self.proposer.ballot), 0)
        for value in self.wanted:
            self.proposer.submit(value)
        # the durable promise of the replica's co-located acceptor, which joins its own ballot first
        self.durable.promise = max(self.durable.promise, self.proposer.ballot)
        self.persist([])
        return out

    def tally(self, msg: Accepted) -> list[Output]:
        accepted = self.to_core(msg)
        assert isinstance(accepted, core.Accepted)
        decided = self.proposer.on_accepted(self.index(msg.src), accepted)
        if decided is None:
            return []
        self.decided = True
        self.durable.chosen[0] = decided
        self.persist([])
        return self.decide(decided)

    def as_learner(self, msg: Input) -> list[Output]:
        p = self.proposer
        if isinstance(msg, Accept) and self.ballot(msg.ballot) > p.ballot and not self.decided:
            p.role, p.ballot = Role.LEADER, self.ballot(msg.ballot)
            p.proposals = {0: Proposal(self.value(msg.value), p.configs.latest)}
        if isinstance(msg, Accepted):
            return self.tally(msg)
        return []

    def as_node(self, msg: Input) -> list[Output]:
        r = self.replica
        if isinstance(msg, Propose):
            self.wanted = (*self.wanted, self.value(msg.value))
        elif isinstance(msg, Timeout):
            for _ in range(2 * self.config.election_timeout):
                r.tick()
        else:
            envelope = self.to_core(msg)
            if envelope is not None:
                assert not isinstance(msg, Propose | Timeout)
                r.receive(core.Envelope(self.index(msg.src), self.index(self.node.id), envelope))
        if self.wanted and r.submit(tuple(command for value in self.wanted for command in value)):
            self.wanted = ()
        asked = msg.ballot if isinstance(msg, Prepare | Accept) else None  # what a nack refuses
        out: list[Output] = []
        decisions: list[Output] = []
        while r.has_ready():  # ends: a reply handed back to the replica is answered by nothing
            ready = r.ready()
            self.persist(ready.writes)
            for env in ready.emitted:
                out += self.from_core(self.node.acceptors[env.dst], env.msg, asked)
            decisions += self.decisions(ready)
            for env in ready.messages:  # its own acceptor's replies count once persisted
                if env.dst == env.src:
                    r.receive(env)
        return [o for o in out if not isinstance(o, Decision)] + decisions

    def decisions(self, ready: Ready) -> list[Output]:
        for entry in ready.committed:
            if entry.slot == 0 and not self.decided:
                self.decided = True
                return self.decide(entry.value)
        return []
