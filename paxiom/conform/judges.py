"""Judging what an implementation emits: the spec decides, this module names the rule and explains a no.

The judge holds the spec's own state (`paxiom.spec.paxos.State`): the message set holds every message anyone
sent, and the acceptor variables hold what the spec allows each acceptor to have done — for an acceptor
under test, as tracked from the messages it emitted. Each emitted message is judged by applying the spec
action that would send it to the state *as that node has seen it* (the messages delivered to it): a
promise by `phase1b`, a vote by `phase2b`, a proposal by `phase2a`, a decision by `chosen`.

Ballots `[round, proposer]` map to the spec's integers as `round * P + rank(proposer)`, which preserves
order and uniqueness.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from typing import Protocol as Typing

from paxiom.conform.messages import (
    Accept,
    AcceptAny,
    Accepted,
    Ballot,
    Decision,
    Input,
    Output,
    Prepare,
    Promise,
    Protocol,
    describe,
)
from paxiom.spec import paxos
from paxiom.spec.paxos import M1a, M1b, M2a, M2b, MAny

if TYPE_CHECKING:
    from paxiom.conform.world import Setup

MAX_BALLOT = 10**9
"""The spec's ballot bound; ballots are never enumerated here, only compared."""

ALLOWED_OUTPUT: dict[str, set[str]] = {
    "acceptor": {"promise", "nack", "accepted"},
    "proposer": {"prepare", "accept", "any", "decision"},
    "learner": {"decision"},
    "group": {"prepare", "promise", "nack", "accept", "accepted", "decision"},
}
RECEIVERS = {
    "prepare": "acceptors",
    "accept": "acceptors",
    "any": "acceptors",
    "promise": "proposers",
    "nack": "proposers",
}


@dataclass(frozen=True)
class Violation:
    rule: str
    node: str
    reason: str


class Violated(Exception):
    def __init__(self, rule: str, node: str, reason: str) -> None:
        super().__init__(reason)
        self.violation = Violation(rule, node, reason)


class SpecState(Typing):
    """What every variant's spec state offers the judge: the set of messages sent, replaceable."""

    @property
    def msgs(self) -> frozenset[Any]: ...

    @property
    def max_bal(self) -> tuple[int, ...]: ...

    def _replace(self, *, msgs: frozenset[Any]) -> Self: ...


S = TypeVar("S", bound=SpecState)


class BaseJudge(ABC, Generic[S]):
    """What judging means in every variant: the spec state `s`, what each node under test was delivered,
    the dispatch of emitted messages to the rule checks, and the mapping of ballots to the spec's integers.
    A variant's judge supplies the checks by calling its own spec."""

    s: S

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.ranked = tuple(sorted(setup.proposers))
        self.acc_index = {name: i for i, name in enumerate(setup.acceptors)}
        self.delivered: dict[str, set[paxos.Message]] = {n: set() for n in setup.under_test}
        self.highest: dict[str, tuple[Ballot, int]] = {}
        """Per proposer under test: the highest ballot it prepared, and in which incarnation."""
        self.requested: set[str] = set()
        self.decided: dict[str, str] = {}
        self.judged: Counter[str] = Counter()

    @property
    def commands(self) -> tuple[str, ...]:
        """What a client may ask for, and a leader propose where it is free to (reconfiguration adds the
        commands that switch configurations)."""
        return self.setup.values

    def record_delivery(self, m: Protocol) -> None:
        spec_msg = self.to_spec(m)
        if spec_msg is not None and m.dst in self.delivered:
            self.delivered[m.dst].add(spec_msg)

    def send(self, m: Any) -> None:
        """Add a spec message to the set of messages sent (the suite's own parties send this way)."""
        self.s = self.s._replace(msgs=self.s.msgs | {m})

    @abstractmethod
    def to_spec(self, m: Protocol) -> Any:
        """The spec's message for a canonical one (None for those the spec has no message for)."""

    @abstractmethod
    def phase1b(self, s: S, a: int, bi: int) -> S | None:
        """The variant's Phase1b action: acceptor a joins ballot bi in state s."""

    promise_scope = ""
    """How the variant's promise reads in a finding (Multi-Paxos: one promise for every slot)."""

    def must_answer(self, m: Input) -> str | None:
        """For an acceptor under test alone: why it must answer `m` (the spec lets it), or None."""
        if self.setup.role != "acceptor" or not isinstance(m, Prepare | Accept):
            return None
        a, bi = self.acc_index[m.dst], self.bint(m.ballot)
        view = self.view(m.dst, ("1a", "2a"))
        promised = self.promised_text(a)
        if isinstance(m, Prepare) and self.phase1b(view, a, bi) is not None:
            return f"did not promise {m.ballot} although its promise{self.promise_scope} was {promised}"
        if isinstance(m, Accept) and self.vote_for(view, a, bi, m) is not None:
            return f"did not vote for {m.value} at {m.ballot}{self.place(m)} although its promise was {promised}"
        return None

    @abstractmethod
    def vote_for(self, view: S, a: int, bi: int, m: Accept) -> S | None:
        """The variant's Phase2b action for acceptor a voting for what `m` proposes at ballot bi."""

    def place(self, m: Accept) -> str:
        """Where in the log `m`'s vote goes, as a finding says it (single-decree: nowhere to say)."""
        return ""

    @abstractmethod
    def check_invariants(self, node: str) -> None:
        """The spec's agreement and validity over everything anybody sent, after every step."""

    @abstractmethod
    def judge_accept(self, node: str, o: Accept) -> None: ...

    def judge_any(self, node: str, o: AcceptAny) -> None:
        """Only Fast Paxos has any messages (the others' wire refuses them before they get here)."""
        raise Violated("protocol", node, f"the {self.setup.variant} suite has no any messages: {describe(o)}")

    @abstractmethod
    def judge_decision(self, node: str, value: str, slot: int | None) -> None: ...

    @abstractmethod
    def judge_promise(self, node: str, o: Promise) -> None: ...

    @abstractmethod
    def judge_accepted(self, node: str, o: Accepted) -> None: ...

    def judge(self, node: str, o: Output, incarnation: int) -> None:
        """Judge one message `node` emitted; raises Violated naming the rule it breaks."""
        role = self.setup.role
        if o.type not in ALLOWED_OUTPUT[role]:
            raise Violated("protocol", node, f"a {role} sent {describe(o)}")
        if isinstance(o, Decision):
            self.judged["decision"] += 1
            self.judge_decision(node, o.value, o.slot)
            return
        receivers = RECEIVERS.get(o.type, "learners or proposers")
        allowed = getattr(self.setup, receivers, None) or self.setup.learners + self.setup.proposers
        if o.dst not in allowed:
            raise Violated("protocol", node, f"sent {describe(o)} to {o.dst}, which is not one of the {receivers}")
        if o.type in ("promise", "accepted", "nack") and node not in self.acc_index:
            raise Violated("protocol", node, f"{node} is not an acceptor but sent {describe(o)}")
        if o.type != "nack":
            self.judged[o.type] += 1
        match o:
            case Prepare():
                self.judge_prepare(node, o, incarnation)
            case Accept():
                self.judge_accept(node, o)
            case AcceptAny():
                self.judge_any(node, o)
            case Promise():
                self.judge_promise(node, o)
            case Accepted():
                self.judge_accepted(node, o)

    # ------------------------------------------------------------ mapping to the spec

    def bint(self, b: Ballot) -> int:
        """A ballot as the spec's integer: `round * P + rank(proposer)`."""
        return b.round * len(self.ranked) + self.ranked.index(b.node)

    def ballot(self, i: int) -> Ballot:
        return Ballot(i // len(self.ranked), self.ranked[i % len(self.ranked)])

    def vote(self, mbal: int, mval: str | None) -> str:
        return "none" if mbal < 0 else f"({self.ballot(mbal)}, {mval})"

    def names(self, mask: int) -> str:
        return "{" + ", ".join(self.setup.quorums.phase1.names(mask)) + "}"

    def view(self, node: str, kinds: Iterable[str], everyone: Iterable[str] = ()) -> S:
        """The spec state as `node` has seen it: the messages of `kinds` delivered to it, plus the messages of
        kinds `everyone` that anybody sent (proposals are global: one per ballot across all proposers)."""
        kinds, everyone = set(kinds), set(everyone)
        seen = {m for m in self.delivered.get(node, ()) if m.type in kinds}
        return self.s._replace(msgs=frozenset(seen | {m for m in self.s.msgs if m.type in everyone}))

    def heard(self, votes: Iterable[tuple[int, int]]) -> str:
        """The (ballot, acceptor) votes a learner received, by ballot: "at 1.0 from a1, a2; at 2.1 from a3"."""
        by_ballot: dict[int, list[str]] = {}
        for bal, acc in votes:
            by_ballot.setdefault(bal, []).append(self.setup.acceptors[acc])
        return "; ".join(f"at {self.ballot(b)} from {', '.join(sorted(a))}" for b, a in sorted(by_ballot.items()))

    def promised_text(self, a: int) -> str:
        promised = self.s.max_bal[a]
        return str(self.ballot(promised)) if promised >= 0 else "nothing"

    def refuse_promise(self, node: str, o: Promise, view: S, last: str) -> Violated:
        """Why the spec's phase1b refused `o` (a promise): no prepare asked for it, or the promise forbids it."""
        if M1a(self.bint(o.ballot)) not in view.msgs:
            return Violated("replies_to_requests", node, f"promised {o.ballot}, which no prepare it got asked for")
        promised = self.promised_text(self.acc_index[node])
        if promised == str(o.ballot):
            reason = f"promised {o.ballot} a second time (reporting {last}): a ballot may be joined only once, "
            reason += f"strictly above the promise, and its promise already was {promised}"
        else:
            reason = f"promised {o.ballot} although its promise already was {promised}"
        return Violated("promise_above_promise", node, reason)

    def judge_prepare(self, node: str, o: Prepare, inc: int) -> None:
        self.owned(node, o.ballot, "prepare")
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
        self.send(M1a(self.bint(o.ballot)))

    def owned(self, node: str, b: Ballot, what: str) -> None:
        if b.node != node:
            raise Violated("ballot_owned", node, f"sent {what} with ballot {b}, which belongs to {b.node}")


class Judge(BaseJudge[paxos.State]):
    """Single-decree Paxos (`spec/paxos.py`); Fast Paxos's judge extends it (the same state and messages)."""

    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        self.cfg = self.config()
        self.s = paxos.init(self.cfg)

    def config(self) -> paxos.Config:
        return paxos.Config(self.setup.quorums, self.setup.values, MAX_BALLOT)

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
            case AcceptAny(ballot=b):
                return MAny(self.bint(b))
        return None

    # ------------------------------------------------------------ views

    def proposal_at(self, bi: int) -> str | None:
        return next((m.val for m in self.s.msgs if isinstance(m, M2a) and m.bal == bi), None)

    def vote_for(self, view: paxos.State, a: int, bi: int, m: Accept) -> paxos.State | None:
        return self.phase2b(view, a, bi, m.value)

    def phase1b(self, s: paxos.State, a: int, bi: int) -> paxos.State | None:
        return paxos.phase1b(self.cfg, s, a, bi)

    def phase2b(self, view: paxos.State, a: int, bi: int, v: str) -> paxos.State | None:
        """The variant's Phase2b action (a vote for a leader's proposal)."""
        return paxos.phase2b(self.cfg, view, a, bi, v)

    def phase2a(self, view: paxos.State, bi: int, v: str) -> paxos.State | None:
        """The variant's Phase2a action (a leader's proposal)."""
        return paxos.phase2a(self.cfg, view, bi, v)

    def proposable(self, view: paxos.State, bi: int) -> set[str]:
        """What the variant's Phase2a lets the leader of `bi` propose in `view` (the highest-vote rule)."""
        return paxos.proposable(self.cfg, view, bi)

    # ------------------------------------------------------------ the rules

    def judge_accept(self, node: str, o: Accept) -> None:
        self.owned(node, o.ballot, "accept")
        bi, v = self.bint(o.ballot), o.value
        if M2a(bi, v) in self.s.msgs:
            return  # a retransmission: sending a message again changes nothing
        view = self.view(node, ("1b",), everyone=("2a", "any"))
        if self.phase2a(view, bi, v) is None:
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
        allowed = sorted(self.proposable(view, bi))
        if allowed == sorted(self.setup.values):
            return "validity", f"proposed {v!r}, which no client asked for"
        return self.vote_rule(
            heard
        ), f"proposed {v} at {b}, but {self.reports_text(heard)} allow only {', '.join(allowed)}"

    def reports_text(self, heard: dict[int, tuple[int, str | None]]) -> str:
        reports = ", ".join(f"{self.setup.acceptors[a]}: {self.vote(*heard[a])}" for a in sorted(heard))
        return f"its promises ({reports})"

    def vote_rule(self, heard: dict[int, tuple[int, str | None]]) -> str:
        """The rule a proposal its promises do not allow breaks."""
        return "highest_vote"

    def judge_promise(self, node: str, o: Promise) -> None:
        a, bi = self.acc_index[node], self.bint(o.ballot)
        m = self.to_spec(o)
        if m in self.s.msgs:
            return
        view = self.view(node, ("1a", "2a"))
        t = paxos.phase1b(self.cfg, view, a, bi)
        if t is None:
            raise self.refuse_promise(node, o, view, f"last vote {self.last_text(o)}")
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
        view = self.view(node, ("1a", "2a", "any"))
        t = self.phase2b(view, a, bi, o.value) if M2a(bi, o.value) in view.msgs else self.fast_vote(node, view, o)
        if t is None:
            raise self.refuse_vote(node, view, o)
        self.s = t._replace(msgs=self.s.msgs | {m})

    def fast_vote(self, node: str, view: paxos.State, o: Accepted) -> paxos.State | None:
        """A vote no proposal asked for: none in single-decree Paxos (Fast Paxos: a client's value)."""
        return None

    def refuse_vote(self, node: str, view: paxos.State, o: Accepted) -> Violated:
        """Why the spec refused a vote: nobody asked for it, or the promise forbids it."""
        if M2a(self.bint(o.ballot), o.value) not in view.msgs:
            return Violated("replies_to_requests", node, f"voted for {o.value} at {o.ballot}, which nobody asked it to")
        return self.below_promise(node, o)

    def below_promise(self, node: str, o: Accepted) -> Violated:
        promised = self.promised_text(self.acc_index[node])
        return Violated(
            "accept_at_or_above_promise", node, f"voted for {o.value} at {o.ballot} below its promise {promised}"
        )

    def judge_decision(self, node: str, value: str, slot: int | None) -> None:
        view = self.view(node, ("2b",))
        if value not in paxos.chosen(self.cfg, view):
            heard = self.heard((m.bal, m.acc) for m in view.msgs if isinstance(m, M2b) and m.val == value)
            raise Violated(
                "learner_quorum",
                node,
                f"decided {value}, but the accepted messages it received for {value} are "
                f"{heard or 'none'}: no ballot has {self.deciding_quorums()}",
            )
        if self.setup.role == "group":
            if value not in self.requested:
                raise Violated("validity", node, f"decided {value}, which no client proposed")
            for other, theirs in self.decided.items():
                if theirs != value:
                    raise Violated("agreement", node, f"decided {value} but {other} decided {theirs}")
        self.decided[node] = value

    def deciding_quorums(self) -> str:
        """The quorums that choose a value, for a learner's reason."""
        return f"a phase-2 quorum ({self.setup.quorums.phase2.describe()})"

    def check_invariants(self, node: str) -> None:
        for rule, invariant in (("agreement", paxos.agreement), ("validity", paxos.validity)):
            reason = invariant(self.cfg, self.s)
            if reason is not None:
                raise Violated(rule, node, reason)
