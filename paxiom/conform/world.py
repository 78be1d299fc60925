"""One test run: the suite plays the network and every party that is not under test; the judge decides.

The parties the suite simulates (rival proposers, the acceptors a proposer under test talks to) act by the
spec's own actions on the judge's spec state, so every message they send is one the spec allows. Every
message the implementation emits goes to `judges.Judge` before it goes anywhere else.
"""

from __future__ import annotations

import inspect
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from paxiom.conform import configs
from paxiom.conform.judges import MAX_BALLOT, BaseJudge, Judge, Violated, Violation
from paxiom.conform.messages import (
    CONFIGURED,
    Accept,
    Accepted,
    Ballot,
    Decision,
    Input,
    LastVote,
    Nack,
    Output,
    Prepare,
    Promise,
    Propose,
    Protocol,
    Timeout,
    Wire,
    describe,
)
from paxiom.conform.node import Node, Quorums
from paxiom.conform.targets import Failure, Instance, Target
from paxiom.errors import PaxiomError
from paxiom.spec import paxos, reconfig
from paxiom.spec.paxos import M1a, M2a
from paxiom.spec.quorums import QuorumSystem

VALUES = ("v1", "v2", "v3")
SLOTS = 3
"""Multi-Paxos: the slots in play (0..2): enough for a hole below a vote and a slot above it."""
FAST_ROUNDS = (0, 2)
"""Fast Paxos: the rounds whose ballots are fast; the others (1, 3, ...) are classic, for recovery."""

SETTLE_LIMIT = 60
"""Most deliveries one `settle` step makes: an implementation that chatters forever is still judged."""

ORDER_WORDS = {0: ", oldest first", -1: ", newest first"}

T = TypeVar("T")


def pick(items: Sequence[T], k: int) -> T:
    """Schedules name things by index modulo the choices, so every generated schedule is valid."""
    return items[k % len(items)]


class Step(NamedTuple):
    """One schedule step, e.g. `Step("deliver", (2,))`; see `schedules.STEPS` for the kinds per role."""

    kind: str
    args: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"step": self.kind, "args": list(self.args)}

    @staticmethod
    def from_json(doc: Any) -> Step:
        if not isinstance(doc, dict) or not isinstance(doc.get("step"), str):
            raise ValueError(f"a step is {{'step': kind, 'args': [...]}}, not {doc!r}")
        args = doc.get("args", [])
        if not isinstance(args, list) or not all(type(a) is int for a in args):
            raise ValueError(f"step arguments must be integers: {doc!r}")
        return Step(doc["step"], tuple(args))


class Event(NamedTuple):
    """For the sequence diagram: a message arrow (`msg`, `drop`) or a `note` over `src`."""

    kind: str
    src: str
    dst: str
    label: str


@dataclass
class Outcome:
    violation: Violation | None
    log: list[str]
    """The schedule as it actually ran, one readable line per step."""
    events: list[Event]
    judged: Counter[str] = field(default_factory=Counter)
    """How many emitted messages of each type were judged: shows whether the checks had anything to bite."""
    started: bool = True
    """False when the implementation failed before the schedule began (its first start): no schedule can
    get further, so the search stops at once rather than time out on every one."""


@dataclass(frozen=True)
class Setup:
    role: str
    quorums: QuorumSystem
    values: tuple[str, ...] = VALUES
    options: tuple[tuple[str, str], ...] = ()
    variant: str = "paxos"
    judged: int | None = None
    """The acceptor an acceptor run judges, by index (None: the first; in Cheap Paxos the first auxiliary)."""

    @property
    def wire(self) -> Wire:
        if self.variant in CONFIGURED:
            return Wire(self.variant, configs.LOG_SLOTS, len(self.log_config.configs))
        return Wire(self.variant, SLOTS if self.variant == "multipaxos" else 1)

    @property
    def log_config(self) -> reconfig.Config:
        """Reconfiguration and Cheap Paxos: the spec's constants, configurations and window included."""
        return configs.spec_config(self.variant, self.quorums, self.values, MAX_BALLOT)

    @property
    def acceptors(self) -> tuple[str, ...]:
        return self.quorums.nodes

    @property
    def proposers(self) -> tuple[str, ...]:
        return self.acceptors if self.role == "group" else ("p1", "p2")

    @property
    def learners(self) -> tuple[str, ...]:
        return self.acceptors if self.role == "group" else ("l1",)

    @property
    def under_test(self) -> tuple[str, ...]:
        """The node ids the implementation plays; the suite plays everyone else."""
        first = self.acceptors[:1]
        if self.judged is not None:
            first = (self.acceptors[self.judged],)
        elif self.variant == "cheap":  # the auxiliary is what Cheap Paxos adds (a main is judged by JUDGED)
            first = (self.acceptors[min(configs.auxiliaries(self.log_config, 0))],)
        return {"acceptor": first, "proposer": ("p2",), "learner": ("l1",)}.get(self.role, self.acceptors)

    def node(self, name: str, data_dir: Path, incarnation: int) -> Node:
        return Node(
            name,
            "node" if self.role == "group" else self.role,
            self.acceptors,
            self.proposers,
            self.learners,
            Quorums.of(self.quorums.phase1),
            Quorums.of(self.quorums.phase2),
            data_dir,
            incarnation,
            dict(self.options),
            self.wire,
            None if self.quorums.fast is None else Quorums.of(self.quorums.fast),
            FAST_ROUNDS if self.variant == "fastpaxos" else (),
            configs.init_doc(self.log_config) if self.variant in CONFIGURED else None,
        )


class BaseWorld:
    """What every variant's run shares: starting, feeding, killing and restarting the nodes under test, the
    network, clients, and judging everything they emit. A variant adds the steps its schedules use."""

    judge_class: type[BaseJudge[Any]]
    j: BaseJudge[Any]

    def __init__(self, target: Target, setup: Setup, workdir: Path) -> None:
        self.target, self.setup, self.workdir = target, setup, workdir
        self.j = self.judge_class(setup)
        self.iut = setup.under_test
        self.rivals = tuple(p for p in setup.proposers if p not in self.iut)
        self.instances: dict[str, Instance] = {}
        self.incarnation = dict.fromkeys(self.iut, 0)
        self.pending: list[Protocol] = []
        """Messages in flight, to or from a node under test (or an acceptor the suite plays)."""
        self.inputs: list[Protocol] = []
        """What suite proposers sent an acceptor under test: what `redeliver` repeats."""
        self.rival_ballots: dict[str, Ballot] = {}
        self.log: list[str] = []
        self.events: list[Event] = []
        self.current = self.iut[0]

    # ------------------------------------------------------------ running

    def run(self, steps: Iterable[Step]) -> Outcome:
        violation = None
        started = False
        try:
            for name in self.iut:
                (self.workdir / name).mkdir(parents=True, exist_ok=True)
                self.current = name
                self.instances[name] = self.target.start(self.setup.node(name, self.workdir / name, 0))
            started = True
            for step in steps:
                self.step(step)
                self.j.check_invariants(self.current)
        except Violated as exc:
            violation = exc.violation
        except Failure as exc:
            violation = Violation(exc.kind, self.current, exc.detail)
            if not started:
                self.log.append(f"{self.current} is started (init) and fails: {exc.kind}")
            if exc.sent is not None:
                self.log.append(f"  {self.current} sends, malformed: {exc.sent}")
                self.events.append(Event("note", self.current, self.current, f"malformed: {exc.sent}"))
        finally:
            for instance in self.instances.values():
                instance.kill()
            shutil.rmtree(self.workdir, ignore_errors=True)
        if violation is not None:
            self.events.append(Event("note", violation.node, violation.node, f"VIOLATION {violation.rule}"))
        return Outcome(violation, self.log, self.events, self.j.judged, started)

    def do_finish(self, *orders: int) -> None:
        """Let the run conclude (the last step of every generated schedule): the network delivers what is in
        flight and, should that leave a proposer under test without a decision, its timer fires and the
        network settles again, up to once per entry of `orders` (the `settle` order of each round). This is
        what drives a proposer above its rivals' ballots, where it must re-propose their votes."""
        if self.setup.role == "acceptor":
            self.probe_durability()
            return
        for k in orders:
            if self.pending:
                words = ORDER_WORDS.get(k, f", each time the {k + 1}th oldest")
                self.log.append(f"(the network delivers what is in flight{words})")
                self.do_settle(k)
                self.j.check_invariants(self.current)
            waiting = [n for n in self.proposers_under_test() if n not in self.j.decided]
            if not waiting:
                return
            for i in range(len(waiting)):
                self.do_timeout(i)

    def probe_durability(self) -> None:
        """End every acceptor schedule by killing and restarting it, then asking it to join the lowest
        ballot (it must refuse if it promised anything) and one above everything (it must report its vote)."""
        if not self.inputs:
            return
        self.do_crash(0)
        top = max(m.ballot.round for m in self.inputs)
        self.log.append("(probe: after a restart, is the promise and the vote still there?)")
        self.do_prepare(0, 0)
        self.do_prepare(0, top + 1)

    def step(self, step: Step) -> None:
        handler = getattr(self, "do_" + step.kind, None)
        try:
            if handler is None:
                raise TypeError("unknown step")
            inspect.signature(handler).bind(*step.args)
        except TypeError:
            raise PaxiomError(f"{step.to_json()} is not a step of {self.setup.role} schedules") from None
        handler(*step.args)

    def feed(self, node: str, inp: Input) -> list[Output]:
        self.current = node
        out = self.instances[node].send(inp)
        if out:
            self.log.append(f"  {node} sends " + "; ".join(summarize(out)))
        for o in out:
            self.emit(node, o)
        return out

    def deliver(self, m: Protocol, again: bool = False) -> None:
        self.log.append(f"{'again: ' if again else ''}{m.src} -> {m.dst}: {describe(m)}")
        self.events.append(Event("msg", m.src, m.dst, describe(m)))
        if m.dst not in self.instances:
            self.simulated_acceptor(m)
            return
        self.j.record_delivery(m)
        must_answer = self.j.must_answer(m)
        out = self.feed(m.dst, m)
        answered = any(isinstance(o, Promise | Accepted) and o.ballot == m.ballot for o in out)
        if must_answer is not None and not answered:
            raise Violated("acceptor_answers", m.dst, must_answer)

    # ------------------------------------------------------------ steps the schedules use

    def do_prepare(self, p: int, rnd: int) -> None:
        """A suite proposer sends a prepare to the acceptor under test."""
        b = Ballot(rnd, pick(self.rivals, p))
        self.j.send(M1a(self.j.bint(b)))
        self.inputs.append(Prepare(b.node, self.iut[0], b))
        self.deliver(self.inputs[-1])

    def do_redeliver(self, k: int) -> None:
        """A stale or duplicated copy of an earlier message reaches the acceptor again."""
        if self.inputs:
            self.deliver(pick(self.inputs, k), again=True)

    def do_propose(self, k: int, vk: int) -> None:
        node, value = pick(self.proposers_under_test(), k), pick(self.j.commands, vk)
        self.j.requested.add(value)
        self.log.append(f"client -> {node}: propose {value}")
        self.events.append(Event("msg", "client", node, f"propose {value}"))
        self.feed(node, Propose(value))

    def do_timeout(self, k: int) -> None:
        node = pick(self.proposers_under_test(), k)
        self.log.append(f"{node}: timer fires")
        self.events.append(Event("note", node, node, "timeout"))
        self.feed(node, Timeout())

    def do_deliver(self, k: int) -> None:
        if self.pending:
            self.deliver(self.pending.pop(k % len(self.pending)))

    def do_settle(self, k: int = 0) -> None:
        """Deliver everything in flight, including the replies it provokes (bounded): each time the k-th
        oldest message (modulo what is in flight; k = -1: the newest), so k = 0 is FIFO and others reorder."""
        for _ in range(SETTLE_LIMIT):
            if not self.pending:
                return
            self.deliver(self.pending.pop(k % len(self.pending)))

    def do_duplicate(self, k: int) -> None:
        if self.pending:
            self.deliver(pick(self.pending, k), again=True)

    def do_drop(self, k: int) -> None:
        if self.pending:
            m = self.pending.pop(k % len(self.pending))
            self.log.append(f"lost: {m.src} -> {m.dst}: {describe(m)}")
            self.events.append(Event("drop", m.src, m.dst, describe(m)))

    def do_crash(self, k: int) -> None:
        node = pick(self.iut, k)
        self.log.append(f"{node} is killed (SIGKILL) and restarted on its data directory")
        self.events.append(Event("note", node, node, "killed and restarted"))
        self.current = node
        self.instances.pop(node).kill()
        self.incarnation[node] += 1
        self.instances[node] = self.target.start(self.setup.node(node, self.workdir / node, self.incarnation[node]))

    # ------------------------------------------------------------ helpers

    def next_rival_ballot(self, p: int, bump: int) -> Ballot:
        """A rival's new ballot: `bump` rounds above its previous one (a proposer's ballots only increase)."""
        rival = pick(self.rivals, p)
        previous = self.rival_ballots.get(rival)
        b = Ballot(bump if previous is None else previous.round + 1 + bump, rival)
        self.rival_ballots[rival] = b
        return b

    def do_rival_prepare(self, p: int, bump: int, mask: int) -> None:
        """A suite proposer starts a new ballot: phase 1 with the acceptors in `mask` (played by the spec)."""
        self.rival_phase1(self.next_rival_ballot(p, bump), mask)

    def rival_phase1(self, b: Ballot, mask: int) -> None:
        bi = self.j.bint(b)
        self.j.send(M1a(bi))
        joined = []
        for a in self.mask_acceptors(mask):
            t = self.j.phase1b(self.j.s, a, bi)
            if t is not None:
                self.j.s = t
                joined.append(self.setup.acceptors[a])
        self.log.append(f"{b.node} prepares {b}; promised by {', '.join(joined) or 'nobody'}")
        self.events.append(Event("note", b.node, b.node, f"phase 1 at {b}: {', '.join(joined) or 'no'} promises"))

    def mask_acceptors(self, mask: int) -> list[int]:
        return [a for a in range(self.setup.quorums.n) if mask >> a & 1]

    def proposers_under_test(self) -> tuple[str, ...]:
        return tuple(n for n in self.iut if n in self.setup.proposers)

    def simulated_acceptor(self, m: Protocol) -> None:
        """An acceptor the suite plays answers `m`: only proposer tests have them (World's, by the spec)."""

    # ------------------------------------------------------------ what the implementation emits

    def emit(self, node: str, o: Output) -> None:
        try:
            self.j.judge(node, o, self.incarnation[node])
        except Violated:
            if not isinstance(o, Decision):
                self.events.append(Event("msg", o.src, o.dst, describe(o)))  # the offending message, drawn
            raise
        finally:
            if isinstance(o, Decision):
                self.events.append(Event("note", node, node, describe(o)))
        if not isinstance(o, Decision):
            self.route(o)

    def route(self, o: Protocol) -> None:
        if o.dst == o.src:
            self.j.record_delivery(o)  # handled inside the node itself: it has seen its own message
            return
        if o.dst in self.instances or (self.setup.role == "proposer" and o.dst in self.j.acc_index):
            self.pending.append(o)
        else:
            self.events.append(Event("msg", o.src, o.dst, describe(o)))


class World(BaseWorld):
    """Single-decree Paxos, and what Fast Paxos's world extends: the suite's proposers and acceptors act by
    `spec/paxos.py`'s actions."""

    judge_class = Judge
    j: Judge

    def do_accept(self, p: int, rnd: int, vk: int) -> None:
        """A suite proposer asks the acceptor under test to vote (one value per ballot, as proposers do)."""
        b = Ballot(rnd, pick(self.rivals, p))
        value = self.j.proposal_at(self.j.bint(b)) or pick(self.setup.values, vk)
        self.j.s = self.j.s._replace(msgs=self.j.s.msgs | {M2a(self.j.bint(b), value)})
        self.inputs.append(Accept(b.node, self.iut[0], b, value))
        self.deliver(self.inputs[-1])

    def do_rival_accept(self, p: int, mask: int, vk: int) -> None:
        """A suite proposer proposes at its current ballot (if the spec lets it: a phase-1 quorum, the
        highest-vote rule) and the acceptors in `mask` vote; a late call is a stale accept."""
        b = self.rival_ballots.get(pick(self.rivals, p))
        if b is None:
            return
        bi = self.j.bint(b)
        value = self.j.proposal_at(bi)
        if value is None:
            allowed = sorted(self.j.proposable(self.j.s, bi))
            if not allowed:
                return
            value = pick(self.setup.values, vk) if pick(self.setup.values, vk) in allowed else allowed[0]
            self.j.s = self.j.s._replace(msgs=self.j.s.msgs | {M2a(bi, value)})
        voters = []
        for a in self.mask_acceptors(mask):
            t = self.j.phase2b(self.j.s, a, bi, value)
            if t is not None:
                self.j.s = t
                voters.append(self.setup.acceptors[a])
        self.log.append(f"{b.node} proposes {value} at {b}; voted by {', '.join(voters) or 'nobody'}")
        self.events.append(Event("note", b.node, b.node, f"phase 2 at {b}: {value} voted by {', '.join(voters)}"))
        if self.setup.role == "learner":
            learner = self.iut[0]
            self.pending.append(Accept(b.node, learner, b, value))
            self.pending += [Accepted(a, learner, b, value) for a in voters]

    def do_rival_ballot(self, p: int, bump: int, voters: int, vk: int) -> None:
        """A competing proposer that wants its own value: a new ballot, phase 1 with the first minimal
        phase-1 quorum whose promises (by the spec) let it propose `values[vk]`, if any, then the acceptors
        in `voters` vote. This is how diverging votes at different ballots come about."""
        b = self.next_rival_ballot(p, bump)
        bi, want = self.j.bint(b), pick(self.setup.values, vk)
        quorums = self.setup.quorums.phase1.minimal_quorums
        chosen_quorum = quorums[0]
        for q in quorums:
            t = self.j.s._replace(msgs=self.j.s.msgs | {M1a(bi)})
            for a in self.mask_acceptors(q):
                t = paxos.phase1b(self.j.cfg, t, a, bi) or t
            if want in self.j.proposable(t, bi):
                chosen_quorum = q
                break
        self.rival_phase1(b, chosen_quorum)
        self.do_rival_accept(p, voters, vk)

    def simulated_acceptor(self, m: Protocol) -> None:
        """An acceptor the suite plays answers by the spec: promise/vote when enabled, otherwise nack."""
        if m.dst not in self.j.acc_index:
            return
        a = self.j.acc_index[m.dst]
        if isinstance(m, Prepare | Accept):
            bi = self.j.bint(m.ballot)
            t = (
                paxos.phase1b(self.j.cfg, self.j.s, a, bi)
                if isinstance(m, Prepare)
                else self.j.phase2b(self.j.s, a, bi, m.value)
            )
            reply: Protocol
            if t is None:
                reply = Nack(m.dst, m.src, m.ballot, self.j.ballot(self.j.s.max_bal[a]))
            elif isinstance(m, Prepare):
                last = None if t.max_vbal[a] < 0 else LastVote(self.j.ballot(t.max_vbal[a]), str(t.max_val[a]))
                reply = Promise(m.dst, m.src, m.ballot, last)
            else:
                reply = Accepted(m.dst, m.src, m.ballot, m.value)
            if t is not None:
                self.j.s = t
            self.pending.append(reply)


def summarize(out: Sequence[Output]) -> list[str]:
    """`accept 1.p2 v1 to a1, a2, a3` rather than three lines."""
    groups: dict[str, list[str]] = {}
    for o in out:
        groups.setdefault(describe(o), []).append(getattr(o, "dst", "the suite"))
    return [f"{label} to {', '.join(dsts)}" for label, dsts in groups.items()]
