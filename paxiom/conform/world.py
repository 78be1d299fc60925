"""One test run: the suite plays the network and every party that is not under test, and the spec judges.

The world is the spec's own state (`paxiom.spec.paxos.State`): the message set holds every message anyone
sent, and the acceptor variables hold what the spec allows each acceptor to have done — for an acceptor
under test, as tracked from the messages it emitted. Each message an implementation emits is judged by
applying the spec action that would send it to the state *as that node has seen it* (the messages delivered
to it): a promise by `phase1b`, a vote by `phase2b`, a proposal by `phase2a`, a decision by `chosen`.
The spec says yes or no; this module only explains a no in words and names the rule.

Ballots `[round, proposer]` map to the spec's integers as `round * P + rank(proposer)`, which preserves
order and uniqueness. The parties the suite simulates (rival proposers, acceptors when a proposer is under
test) act by the spec's own actions, so every message they send is one the spec allows.
"""

from __future__ import annotations

import inspect
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from paxiom.conform.messages import (
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
    describe,
)
from paxiom.conform.node import Node, Quorums
from paxiom.conform.targets import Failure, Instance, Target
from paxiom.errors import PaxiomError
from paxiom.spec import paxos
from paxiom.spec.paxos import M1a, M1b, M2a, M2b
from paxiom.spec.quorums import QuorumSystem

VALUES = ("v1", "v2", "v3")
MAX_BALLOT = 10**9
"""The spec's ballot bound; ballots are never enumerated here, only compared."""

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


@dataclass(frozen=True)
class Violation:
    rule: str
    node: str
    reason: str


class Violated(Exception):
    def __init__(self, rule: str, node: str, reason: str) -> None:
        super().__init__(reason)
        self.violation = Violation(rule, node, reason)


@dataclass
class Outcome:
    violation: Violation | None
    log: list[str]
    """The schedule as it actually ran, one readable line per step."""
    events: list[Event]
    judged: Counter[str] = field(default_factory=Counter)
    """How many emitted messages of each type were judged: shows whether the checks had anything to bite."""


@dataclass(frozen=True)
class Setup:
    role: str
    quorums: QuorumSystem
    values: tuple[str, ...] = VALUES
    options: tuple[tuple[str, str], ...] = ()

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
        return {"acceptor": self.acceptors[:1], "proposer": ("p2",), "learner": ("l1",)}.get(self.role, self.acceptors)

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
        )


ALLOWED_OUTPUT = {
    "acceptor": {"promise", "nack", "accepted"},
    "proposer": {"prepare", "accept", "decision"},
    "learner": {"decision"},
    "group": {"prepare", "promise", "nack", "accept", "accepted", "decision"},
}
RECEIVERS = {"prepare": "acceptors", "accept": "acceptors", "promise": "proposers", "nack": "proposers"}


def vote_text(mbal: int, mval: str | None, ballot: Callable[[int], Ballot]) -> str:
    return "none" if mbal < 0 else f"({ballot(mbal)}, {mval})"


class World:
    def __init__(self, target: Target, setup: Setup, workdir: Path) -> None:
        self.target, self.setup, self.workdir = target, setup, workdir
        self.cfg = paxos.Config(setup.quorums, setup.values, MAX_BALLOT)
        self.s = paxos.init(self.cfg)
        self.ranked = tuple(sorted(setup.proposers))
        self.acc_index = {name: i for i, name in enumerate(setup.acceptors)}
        self.iut = setup.under_test
        self.rivals = tuple(p for p in setup.proposers if p not in self.iut)
        self.instances: dict[str, Instance] = {}
        self.incarnation = dict.fromkeys(self.iut, 0)
        self.delivered: dict[str, set[paxos.Message]] = {n: set() for n in self.iut}
        self.pending: list[Protocol] = []
        self.inputs: list[Protocol] = []
        self.highest: dict[str, tuple[Ballot, int]] = {}
        self.rival_ballots: dict[str, Ballot] = {}
        self.requested: set[str] = set()
        self.decided: dict[str, str] = {}
        self.log: list[str] = []
        self.events: list[Event] = []
        self.judged: Counter[str] = Counter()
        self.current = self.iut[0]

    # ------------------------------------------------------------ mapping to the spec

    def bint(self, b: Ballot) -> int:
        return b.round * len(self.ranked) + self.ranked.index(b.node)

    def ballot(self, i: int) -> Ballot:
        return Ballot(i // len(self.ranked), self.ranked[i % len(self.ranked)])

    def to_spec(self, m: Protocol) -> paxos.Message | None:
        match m:
            case Prepare(ballot=b):
                return M1a(self.bint(b))
            case Promise(src=src, ballot=b, last=last):
                if last is None:
                    return M1b(self.acc_index[src], self.bint(b), -1, None)
                return M1b(self.acc_index[src], self.bint(b), self.bint(last.ballot), last.value)
            case Accept(ballot=b, value=v):
                return M2a(self.bint(b), v)
            case Accepted(src=src, ballot=b, value=v):
                return M2b(self.acc_index[src], self.bint(b), v)
        return None

    def vote(self, mbal: int, mval: str | None) -> str:
        return vote_text(mbal, mval, self.ballot)

    def names(self, mask: int) -> str:
        return "{" + ", ".join(self.setup.quorums.phase1.names(mask)) + "}"

    # ------------------------------------------------------------ running

    def run(self, steps: Iterable[Step]) -> Outcome:
        violation = None
        try:
            for name in self.iut:
                (self.workdir / name).mkdir(parents=True, exist_ok=True)
                self.current = name
                self.instances[name] = self.target.start(self.setup.node(name, self.workdir / name, 0))
            for step in steps:
                self.step(step)
                self.check_invariants()
        except Violated as exc:
            violation = exc.violation
        except Failure as exc:
            violation = Violation(exc.kind, self.current, exc.detail)
        finally:
            for instance in self.instances.values():
                instance.kill()
            shutil.rmtree(self.workdir, ignore_errors=True)
        if violation is not None:
            self.events.append(Event("note", violation.node, violation.node, f"VIOLATION {violation.rule}"))
        return Outcome(violation, self.log, self.events, self.judged)

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
                self.check_invariants()
            waiting = [n for n in self.proposers_under_test() if n not in self.decided]
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
        spec_msg = self.to_spec(m)
        if spec_msg is not None:
            self.delivered[m.dst].add(spec_msg)
        must_answer = self.must_answer(m)
        out = self.feed(m.dst, m)
        answered = any(isinstance(o, Promise | Accepted) and o.ballot == m.ballot for o in out)
        if must_answer is not None and not answered:
            raise Violated("acceptor_answers", m.dst, must_answer)

    # ------------------------------------------------------------ steps the schedules use

    def do_prepare(self, p: int, rnd: int) -> None:
        """A suite proposer sends a prepare to the acceptor under test."""
        b = Ballot(rnd, pick(self.rivals, p))
        self.s = self.s._replace(msgs=self.s.msgs | {M1a(self.bint(b))})
        self.inputs.append(Prepare(b.node, self.iut[0], b))
        self.deliver(self.inputs[-1])

    def do_accept(self, p: int, rnd: int, vk: int) -> None:
        """A suite proposer asks the acceptor under test to vote (one value per ballot, as proposers do)."""
        b = Ballot(rnd, pick(self.rivals, p))
        value = self.proposal_at(self.bint(b)) or pick(self.setup.values, vk)
        self.s = self.s._replace(msgs=self.s.msgs | {M2a(self.bint(b), value)})
        self.inputs.append(Accept(b.node, self.iut[0], b, value))
        self.deliver(self.inputs[-1])

    def do_redeliver(self, k: int) -> None:
        """A stale or duplicated copy of an earlier message reaches the acceptor again."""
        if self.inputs:
            self.deliver(pick(self.inputs, k), again=True)

    def do_propose(self, k: int, vk: int) -> None:
        node, value = pick(self.proposers_under_test(), k), pick(self.setup.values, vk)
        self.requested.add(value)
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
        bi = self.bint(b)
        self.s = self.s._replace(msgs=self.s.msgs | {M1a(bi)})
        joined = []
        for a in self.mask_acceptors(mask):
            t = paxos.phase1b(self.cfg, self.s, a, bi)
            if t is not None:
                self.s = t
                joined.append(self.setup.acceptors[a])
        self.log.append(f"{b.node} prepares {b}; promised by {', '.join(joined) or 'nobody'}")
        self.events.append(Event("note", b.node, b.node, f"phase 1 at {b}: {', '.join(joined) or 'no'} promises"))

    def do_rival_accept(self, p: int, mask: int, vk: int) -> None:
        """A suite proposer proposes at its current ballot (if the spec lets it: a phase-1 quorum, the
        highest-vote rule) and the acceptors in `mask` vote; a late call is a stale accept."""
        b = self.rival_ballots.get(pick(self.rivals, p))
        if b is None:
            return
        bi = self.bint(b)
        value = self.proposal_at(bi)
        if value is None:
            allowed = sorted(paxos.proposable(self.cfg, self.s, bi))
            if not allowed:
                return
            value = pick(self.setup.values, vk) if pick(self.setup.values, vk) in allowed else allowed[0]
            self.s = self.s._replace(msgs=self.s.msgs | {M2a(bi, value)})
        voters = []
        for a in self.mask_acceptors(mask):
            t = paxos.phase2b(self.cfg, self.s, a, bi, value)
            if t is not None:
                self.s = t
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
        bi, want = self.bint(b), pick(self.setup.values, vk)
        quorums = self.setup.quorums.phase1.minimal_quorums
        chosen_quorum = quorums[0]
        for q in quorums:
            t = self.s._replace(msgs=self.s.msgs | {M1a(bi)})
            for a in self.mask_acceptors(q):
                t = paxos.phase1b(self.cfg, t, a, bi) or t
            if want in paxos.proposable(self.cfg, t, bi):
                chosen_quorum = q
                break
        self.rival_phase1(b, chosen_quorum)
        self.do_rival_accept(p, voters, vk)

    # ------------------------------------------------------------ helpers

    def proposers_under_test(self) -> tuple[str, ...]:
        return tuple(n for n in self.iut if n in self.setup.proposers)

    def mask_acceptors(self, mask: int) -> list[int]:
        return [a for a in self.cfg.acceptors if mask >> a & 1]

    def proposal_at(self, bi: int) -> str | None:
        return next((m.val for m in self.s.msgs if isinstance(m, M2a) and m.bal == bi), None)

    def view(self, node: str, kinds: Iterable[str], everyone: Iterable[str] = ()) -> paxos.State:
        """The spec state as `node` has seen it: the messages of `kinds` delivered to it, plus the messages of
        kinds `everyone` that anybody sent (proposals are global: one per ballot across all proposers)."""
        kinds, everyone = set(kinds), set(everyone)
        seen = {m for m in self.delivered.get(node, ()) if m.type in kinds}
        return self.s._replace(msgs=frozenset(seen | {m for m in self.s.msgs if m.type in everyone}))

    def simulated_acceptor(self, m: Protocol) -> None:
        """An acceptor the suite plays answers by the spec: promise/vote when enabled, otherwise nack."""
        if m.dst not in self.acc_index:
            return
        a = self.acc_index[m.dst]
        if isinstance(m, Prepare | Accept):
            bi = self.bint(m.ballot)
            t = (
                paxos.phase1b(self.cfg, self.s, a, bi)
                if isinstance(m, Prepare)
                else paxos.phase2b(self.cfg, self.s, a, bi, m.value)
            )
            reply: Protocol
            if t is None:
                reply = Nack(m.dst, m.src, m.ballot, self.ballot(self.s.max_bal[a]))
            elif isinstance(m, Prepare):
                last = None if t.max_vbal[a] < 0 else LastVote(self.ballot(t.max_vbal[a]), str(t.max_val[a]))
                reply = Promise(m.dst, m.src, m.ballot, last)
            else:
                reply = Accepted(m.dst, m.src, m.ballot, m.value)
            if t is not None:
                self.s = t
            self.pending.append(reply)

    def must_answer(self, m: Protocol) -> str | None:
        """For an acceptor under test alone: why it must answer `m` (the spec lets it), or None."""
        if self.setup.role != "acceptor" or not isinstance(m, Prepare | Accept):
            return None
        a, bi = self.acc_index[m.dst], self.bint(m.ballot)
        view = self.view(m.dst, ("1a", "2a"))
        promised = self.ballot(self.s.max_bal[a]) if self.s.max_bal[a] >= 0 else "nothing"
        if isinstance(m, Prepare) and paxos.phase1b(self.cfg, view, a, bi) is not None:
            return f"did not promise {m.ballot} although its promise was {promised}"
        if isinstance(m, Accept) and paxos.phase2b(self.cfg, view, a, bi, m.value) is not None:
            return f"did not vote for {m.value} at {m.ballot} although its promise was {promised}"
        return None

    # ------------------------------------------------------------ judging what the implementation emits

    def emit(self, node: str, o: Output) -> None:
        role = self.setup.role
        if o.type not in ALLOWED_OUTPUT[role]:
            raise Violated("protocol", node, f"a {role} sent {describe(o)}")
        if isinstance(o, Decision):
            self.judged["decision"] += 1
            self.events.append(Event("note", node, node, describe(o)))
            self.judge_decision(node, o.value)
            return
        receivers = RECEIVERS.get(o.type, "learners or proposers")
        allowed = getattr(self.setup, receivers, None) or self.setup.learners + self.setup.proposers
        if o.dst not in allowed:
            raise Violated("protocol", node, f"sent {describe(o)} to {o.dst}, which is not one of the {receivers}")
        if o.type in ("promise", "accepted", "nack") and node not in self.acc_index:
            raise Violated("protocol", node, f"{node} is not an acceptor but sent {describe(o)}")
        judge = {"prepare": self.judge_prepare, "accept": self.judge_accept, "promise": self.judge_promise}
        judge |= {"accepted": self.judge_accepted}
        if o.type in judge:
            self.judged[o.type] += 1
            try:
                judge[o.type](node, o)  # type: ignore[operator]
            except Violated:
                self.events.append(Event("msg", o.src, o.dst, describe(o)))  # the offending message, drawn
                raise
        self.route(o)

    def route(self, o: Protocol) -> None:
        spec_msg = self.to_spec(o)
        if o.dst == o.src:
            # handled inside the node itself: it has seen its own message
            if spec_msg is not None:
                self.delivered[o.src].add(spec_msg)
            return
        if o.dst in self.instances or (self.setup.role == "proposer" and o.dst in self.acc_index):
            self.pending.append(o)
        else:
            self.events.append(Event("msg", o.src, o.dst, describe(o)))

    def judge_prepare(self, node: str, o: Prepare) -> None:
        self.owned(node, o.ballot, "prepare")
        inc = self.incarnation[node]
        if node in self.highest:
            used, used_inc = self.highest[node]
            if o.ballot < used:
                raise Violated("ballot_increasing", node, f"prepared {o.ballot} after having used {used}")
            if o.ballot == used and used_inc != inc:
                raise Violated(
                    "ballot_increasing",
                    node,
                    f"prepared {o.ballot} again after a restart: it used that ballot before the crash and cannot know "
                    "what it proposed with it",
                )
        if node not in self.highest or o.ballot > self.highest[node][0]:
            self.highest[node] = (o.ballot, inc)
        self.s = self.s._replace(msgs=self.s.msgs | {M1a(self.bint(o.ballot))})

    def owned(self, node: str, b: Ballot, what: str) -> None:
        if b.node != node:
            raise Violated("ballot_owned", node, f"sent {what} with ballot {b}, which belongs to {b.node}")

    def judge_accept(self, node: str, o: Accept) -> None:
        self.owned(node, o.ballot, "accept")
        bi, v = self.bint(o.ballot), o.value
        if M2a(bi, v) in self.s.msgs:
            return  # a retransmission: sending a message again changes nothing
        view = self.view(node, ("1b",), everyone=("2a",))
        if paxos.phase2a(self.cfg, view, bi, v) is None:
            rule, reason = self.explain_phase2a(view, o.ballot, v)
            raise Violated(rule, node, reason)
        self.s = self.s._replace(msgs=self.s.msgs | {M2a(bi, v)})

    def explain_phase2a(self, view: paxos.State, b: Ballot, v: str) -> tuple[str, str]:
        bi = self.bint(b)
        earlier = self.proposal_at(bi)
        if earlier is not None:
            return "one_value_per_ballot", f"proposed {v} at {b}, which already carries {earlier}"
        heard = paxos.reports(view, bi)
        mask = sum(1 << a for a in heard)
        if not self.setup.quorums.phase1.is_quorum(mask):
            return (
                "phase1_quorum",
                f"proposed {v} at {b} with promises for {b} only from {self.names(mask)}; "
                f"phase-1 quorums are {self.setup.quorums.phase1.describe()}",
            )
        allowed = sorted(paxos.proposable(self.cfg, view, bi))
        if allowed == sorted(self.setup.values):
            return "validity", f"proposed {v!r}, which no client asked for"
        reports = ", ".join(f"{self.setup.acceptors[a]}: {self.vote(*heard[a])}" for a in sorted(heard))
        return "highest_vote", f"proposed {v} at {b}, but its promises ({reports}) allow only {', '.join(allowed)}"

    def judge_promise(self, node: str, o: Promise) -> None:
        a, bi = self.acc_index[node], self.bint(o.ballot)
        m = self.to_spec(o)
        if m in self.s.msgs:
            return
        view = self.view(node, ("1a", "2a"))
        t = paxos.phase1b(self.cfg, view, a, bi)
        if t is None:
            if M1a(bi) not in view.msgs:
                raise Violated("replies_to_requests", node, f"promised {o.ballot}, which no prepare it got asked for")
            promised = self.ballot(self.s.max_bal[a])
            if promised == o.ballot:
                reason = f"promised {o.ballot} a second time (reporting last vote {self.last_text(o)}): a ballot "
                reason += f"may be joined only once, strictly above the promise, and its promise already was {promised}"
            else:
                reason = f"promised {o.ballot} although its promise already was {promised}"
            raise Violated("promise_above_promise", node, reason)
        expected = M1b(a, bi, t.max_vbal[a], t.max_val[a])
        if m != expected:
            raise Violated(
                "promise_reports_last_vote",
                node,
                f"its promise for {o.ballot} reports last vote {self.last_text(o)}, but its latest vote is "
                f"{self.vote(t.max_vbal[a], t.max_val[a])}",
            )
        self.s = t._replace(msgs=self.s.msgs | {expected})

    @staticmethod
    def last_text(o: Promise) -> str:
        return "none" if o.last is None else f"({o.last.ballot}, {o.last.value})"

    def judge_accepted(self, node: str, o: Accepted) -> None:
        a, bi = self.acc_index[node], self.bint(o.ballot)
        m = M2b(a, bi, o.value)
        if m in self.s.msgs:
            return
        view = self.view(node, ("1a", "2a"))
        t = paxos.phase2b(self.cfg, view, a, bi, o.value)
        if t is None:
            if M2a(bi, o.value) not in view.msgs:
                raise Violated(
                    "replies_to_requests", node, f"voted for {o.value} at {o.ballot}, which nobody asked it to"
                )
            promised = self.ballot(self.s.max_bal[a])
            raise Violated(
                "accept_at_or_above_promise", node, f"voted for {o.value} at {o.ballot} below its promise {promised}"
            )
        self.s = t._replace(msgs=self.s.msgs | {m})

    def judge_decision(self, node: str, value: str) -> None:
        view = self.view(node, ("2b",))
        if value not in paxos.chosen(self.cfg, view):
            by_ballot: dict[int, list[str]] = {}
            for m in view.msgs:
                if isinstance(m, M2b) and m.val == value:
                    by_ballot.setdefault(m.bal, []).append(self.setup.acceptors[m.acc])
            heard = "; ".join(f"at {self.ballot(b)} from {', '.join(sorted(a))}" for b, a in sorted(by_ballot.items()))
            raise Violated(
                "learner_quorum",
                node,
                f"decided {value}, but the accepted messages it received for {value} are "
                f"{heard or 'none'}: no ballot has a phase-2 quorum ({self.setup.quorums.phase2.describe()})",
            )
        if self.setup.role == "group":
            if value not in self.requested:
                raise Violated("validity", node, f"decided {value}, which no client proposed")
            for other, theirs in self.decided.items():
                if theirs != value:
                    raise Violated("agreement", node, f"decided {value} but {other} decided {theirs}")
        self.decided[node] = value

    def check_invariants(self) -> None:
        for rule, invariant in (("agreement", paxos.agreement), ("validity", paxos.validity)):
            reason = invariant(self.cfg, self.s)
            if reason is not None:
                raise Violated(rule, self.current, reason)


def summarize(out: Sequence[Output]) -> list[str]:
    """`accept 1.p2 v1 to a1, a2, a3` rather than three lines."""
    groups: dict[str, list[str]] = {}
    for o in out:
        groups.setdefault(describe(o), []).append(getattr(o, "dst", "the suite"))
    return [f"{label} to {', '.join(dsts)}" for label, dsts in groups.items()]
