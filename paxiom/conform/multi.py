"""Multi-Paxos conformance: an acceptor of a log of slots, judged by `spec/multipaxos.py`.

What changes from single-decree Paxos is what makes a log cheap, and what its implementations get wrong:
one promise covers every slot (a vote in any slot raises it, and it bounds votes in every slot), and a
promise reports the latest vote of every slot at once, so a new leader's single phase 1 learns the whole log
(its catch-up of the slots it missed). The judge holds the spec's `LogState`; a promise is judged by
`multipaxos.phase1b` and compared with the 1b message the spec itself would send, a vote by
`multipaxos.phase2b`, and after every step the spec's per-slot agreement and validity must hold.

The judge reaches the spec only through a few hooks (the 2a and 2b messages, Phase2a, Phase2b, what may be
proposed, the phase-1 quorums of a proposal, what is chosen), which is all reconfiguration and Cheap Paxos
(`conform/reconfig.py`) change: their logs are this log, with a configuration per slot.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, ClassVar

from paxiom.conform.judges import MAX_BALLOT, BaseJudge, Violated
from paxiom.conform.messages import (
    Accept,
    Accepted,
    Ballot,
    Nack,
    Prepare,
    Promise,
    Protocol,
    SlotVote,
    votes_text,
)
from paxiom.conform.world import BaseWorld, Event, pick
from paxiom.spec import multipaxos as mp
from paxiom.spec.paxos import M1a
from paxiom.spec.quorums import QuorumFamily
from paxiom.variants import build_model

if TYPE_CHECKING:
    from paxiom.conform.world import Setup

LogState = mp.LogState[Any]
"""Multi-Paxos's state, whatever the variant's 2a and 2b messages carry."""


class LogSpec(typing.Protocol):
    """The actions and invariants a log variant's spec module gives the judge, with one signature in
    `spec/multipaxos.py` and `spec/reconfig.py` (a module is the implementation)."""

    def init(self, cfg: Any) -> LogState: ...
    def phase1b(self, cfg: Any, s: LogState, a: int, b: int) -> LogState | None: ...
    def phase2a(self, cfg: Any, s: LogState, b: int, slot: int, v: str) -> LogState | None: ...
    def phase2b(self, cfg: Any, s: LogState, a: int, b: int, slot: int, v: str) -> LogState | None: ...
    def chosen(self, cfg: Any, s: LogState) -> dict[int, set[str]]: ...
    def agreement(self, cfg: Any, s: LogState) -> str | None: ...
    def validity(self, cfg: Any, s: LogState) -> str | None: ...


class MultiJudge(BaseJudge[LogState]):
    cfg: mp.Config
    spec: ClassVar[LogSpec] = mp
    """The variant's spec module: its actions judge every step and its invariants hold after each."""

    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        self.cfg = self.spec_config()
        self.s = self.spec.init(self.cfg)
        self.raised: dict[int, tuple[str, int | None]] = {}
        """Per acceptor: what last raised its promise (for the reason), and the slot of that vote if one did."""

    def spec_config(self) -> mp.Config:
        setup = self.setup
        model = build_model(
            "multipaxos", setup.quorums, values=setup.values, max_ballot=MAX_BALLOT, slots=setup.wire.slots
        )
        assert isinstance(model, mp.MultiPaxosModel)
        return model.cfg

    # ------------------------------------------------------------ the variant's spec, as hooks

    def proposal_msg(self, bal: int, slot: int, val: str, conf: int | None) -> Any:
        """The spec's 2a message (Multi-Paxos's names no configuration)."""
        return mp.M2a(bal, slot, val)

    def vote_msg(self, acc: int, bal: int, slot: int, val: str, conf: int | None) -> Any:
        return mp.M2b(acc, bal, slot, val)

    def conf_of(self, m: Any) -> int | None:
        """The configuration a spec 2a or 2b names, as the wire carries it (None: the variant has none)."""
        return None

    def phase1b(self, s: LogState, a: int, bi: int) -> LogState | None:
        return self.spec.phase1b(self.cfg, s, a, bi)

    def phase2b_of(self, view: LogState, a: int, bal: int, slot: int, v: str) -> LogState | None:
        return self.spec.phase2b(self.cfg, view, a, bal, slot, v)

    def phase2a_of(self, view: LogState, m: Any) -> LogState | None:
        return self.spec.phase2a(self.cfg, view, m.bal, m.slot, m.val)

    def proposable_in(self, view: LogState, m: Any) -> set[str]:
        """What Phase2a lets the leader of m's ballot propose in m's slot."""
        return mp.proposable(self.cfg, view, m.bal, m.slot)

    def phase1_family(self, m: Any) -> QuorumFamily:
        """The phase-1 quorums the leader of proposal m needs promises from."""
        return self.setup.quorums.phase1

    def chosen_in(self, view: LogState) -> dict[int, set[str]]:
        return self.spec.chosen(self.cfg, view)

    proposal_view: tuple[str, ...] = ("2a",)
    """The kinds of message anybody sent that judging a proposal sees (proposals are one per ballot and slot)."""

    def suite_proposal(self, bi: int, slot: int, want: str) -> Any | None:
        """What a suite leader of ballot bi proposes in `slot` by the spec's Phase2a: `want` if it may, else
        the first value it may (None if nothing may be proposed there yet)."""
        return self.proposal_under(bi, slot, want, None)

    def proposal_under(self, bi: int, slot: int, want: str, conf: int | None) -> Any | None:
        """`suite_proposal` when the proposal names configuration `conf` (None: the variant has none)."""
        allowed = sorted(self.proposable_in(self.s, self.proposal_msg(bi, slot, want, conf)))
        return None if not allowed else self.proposal_msg(bi, slot, want if want in allowed else allowed[0], conf)

    # ------------------------------------------------------------ mapping to the spec

    def report(self, votes: tuple[SlotVote, ...]) -> tuple[mp.SlotVote, ...]:
        """A promise's sparse votes as the spec's 1b report: (ballot, value) for every slot, (-1, None) unvoted."""
        dense: list[mp.SlotVote] = [(-1, None)] * self.cfg.slots
        for v in votes:
            dense[v.slot] = (self.bint(v.ballot), v.value)
        return tuple(dense)

    def to_spec(self, m: Protocol) -> Any:
        match m:
            case Prepare(ballot=b):
                return M1a(self.bint(b))
            case Promise(src=src, ballot=b, votes=votes):
                return mp.M1b(self.acc_index[src], self.bint(b), self.report(votes or ()))
            case Accept(ballot=b, value=v, slot=int(slot), config=conf):
                return self.proposal_msg(self.bint(b), slot, v, conf)
            case Accepted(src=src, ballot=b, value=v, slot=int(slot), config=conf):
                return self.vote_msg(self.acc_index[src], self.bint(b), slot, v, conf)
        return None

    def proposal(self, bi: int, slot: int) -> Any | None:
        """The proposal made at ballot bi in `slot`, if any (one per ballot and slot)."""
        return next((m for m in self.s.msgs if m.type == "2a" and (m.bal, m.slot) == (bi, slot)), None)

    def proposal_at(self, bi: int, slot: int) -> str | None:
        m = self.proposal(bi, slot)
        return None if m is None else str(m.val)

    def slot_vote(self, vote: mp.SlotVote) -> str:
        return self.vote(*vote)

    # ------------------------------------------------------------ the rules

    promise_scope = " for every slot"

    def vote_for(self, view: LogState, a: int, bi: int, m: Accept) -> LogState | None:
        return self.phase2b_of(view, a, bi, m.slot or 0, m.value)

    def place(self, m: Accept) -> str:
        return f" in slot {m.slot}"

    def judge_promise(self, node: str, o: Promise) -> None:
        a, m = self.acc_index[node], self.to_spec(o)
        if m in self.s.msgs:
            return  # a retransmission
        view = self.view(node, ("1a", "2a"))
        t = self.phase1b(view, a, self.bint(o.ballot))
        if t is None:
            refusal = self.refuse_promise(node, o, view, f"votes {votes_text(o.votes or ())}")
            raise self.slot_rule(a, None, refusal)
        (expected,) = t.msgs - view.msgs  # the 1b the spec's phase1b sends
        assert isinstance(expected, mp.M1b) and isinstance(m, mp.M1b)
        if m != expected:
            wrong = [
                f"slot {slot}: it reports {self.slot_vote(said)} but its latest vote there is {self.slot_vote(truth)}"
                for slot, (said, truth) in enumerate(zip(m.votes, expected.votes, strict=True))
                if said != truth
            ]
            raise Violated(
                "promise_reports_last_vote",
                node,
                f"its promise for {o.ballot} must report its latest vote in every slot; " + "; ".join(wrong),
            )
        self.raise_promise(a, t, f"its promise for {o.ballot}", None)
        self.s = t._replace(msgs=self.s.msgs | {expected})

    def judge_accepted(self, node: str, o: Accepted) -> None:
        a, m = self.acc_index[node], self.to_spec(o)
        if m in self.s.msgs:
            return
        view = self.view(node, ("1a", "2a"))
        t = self.phase2b_of(view, a, m.bal, m.slot, m.val)
        if t is None or m not in t.msgs:
            raise self.refuse_log_vote(node, view, m, o)
        self.raise_promise(a, t, f"its vote at {o.ballot} in slot {m.slot}", m.slot)
        self.s = t._replace(msgs=self.s.msgs | {m})

    def refuse_log_vote(self, node: str, view: LogState, m: Any, o: Accepted) -> Violated:
        """Why the spec's Phase2b refused vote m: nobody asked for it, or the promise forbids it."""
        if self.proposal_msg(m.bal, m.slot, m.val, self.conf_of(m)) not in view.msgs:
            return Violated(
                "replies_to_requests",
                node,
                f"voted for {o.value} at {o.ballot} in slot {m.slot}, which nobody asked it to",
            )
        refusal = Violated(
            "accept_at_or_above_promise",
            node,
            f"voted for {o.value} at {o.ballot} in slot {m.slot} below its promise {self.promised_text(m.acc)}",
        )
        return self.slot_rule(m.acc, m.slot, refusal)

    def raise_promise(self, a: int, t: LogState, what: str, slot: int | None) -> None:
        if t.max_bal[a] != self.s.max_bal[a]:
            self.raised[a] = (what, slot)

    def slot_rule(self, a: int, slot: int | None, refusal: Violated) -> Violated:
        """A refusal whose promise came from a vote in another slot: the acceptor kept a promise per slot."""
        what, raised_in = self.raised.get(a, ("", None))
        if raised_in is None or raised_in == slot:
            return refusal
        v = refusal.violation
        reason = f"{v.reason}: one promise covers every slot, and {what} raised it"
        return Violated("promise_covers_all_slots", v.node, reason)

    def judge_accept(self, node: str, o: Accept) -> None:
        """A leader's proposal in one slot, by the spec's Phase2a over the promises it received: after its one
        phase 1 it must propose, in every slot, the highest vote its quorum reported there (catching up)."""
        self.owned(node, o.ballot, "accept")
        m = self.to_spec(o)
        self.check_recipient(node, o, m)
        if m in self.s.msgs:
            return
        view = self.view(node, ("1b",), everyone=self.proposal_view)
        t = self.phase2a_of(view, m)
        if t is None or m not in t.msgs:
            rule, reason = self.explain_phase2a(view, m)
            raise Violated(rule, node, reason)
        self.send(m)

    def check_recipient(self, node: str, o: Accept, m: Any) -> None:
        """Whether the proposal may go to `o.dst` (anywhere, here)."""

    def misnamed(self, view: LogState, m: Any) -> tuple[str, str] | None:
        """A proposal made under the wrong configuration, or too early to know its slot's (none here)."""
        return None

    def quorum_words(self, m: Any) -> str:
        """Whose phase-1 quorums a finding names (the configuration's, where there are several)."""
        return "phase-1 quorums"

    def explain_phase2a(self, view: LogState, m: Any) -> tuple[str, str]:
        b, slot, v = self.ballot(m.bal), m.slot, m.val
        earlier = self.proposal_at(m.bal, slot)
        if earlier is not None:
            return "one_value_per_ballot", f"proposed {v} at {b} in slot {slot}, which already carries {earlier}"
        misnamed = self.misnamed(view, m)
        if misnamed is not None:
            return misnamed
        heard = {r.acc: r.votes[slot] for r in view.msgs if isinstance(r, mp.M1b) and r.bal == m.bal}
        mask = sum(1 << a for a in heard)
        family = self.phase1_family(m)
        if not family.is_quorum(mask):
            return (
                "phase1_quorum",
                f"proposed {v} at {b} in slot {slot} with promises for {b} only from {self.names(mask)}; "
                f"{self.quorum_words(m)} are {family.describe()}",
            )
        allowed = sorted(self.proposable_in(view, m))
        if allowed == sorted(self.commands):
            return "validity", f"proposed {v!r} in slot {slot}, which no client asked for"
        reports = ", ".join(f"{self.setup.acceptors[a]}: {self.slot_vote(heard[a])}" for a in sorted(heard))
        return (
            "highest_vote",
            f"proposed {v} at {b} in slot {slot}, but its promises report there ({reports}) and allow only "
            f"{', '.join(allowed)}",
        )

    def deciding_quorums(self, votes: list[Any]) -> str:
        """The quorums that would decide with these votes (the spec's 2b messages), for a learner's reason."""
        return f"a phase-2 quorum ({self.setup.quorums.phase2.describe()})"

    def judge_decision(self, node: str, value: str, slot: int | None) -> None:
        """A decision in one slot, by the spec's `chosen` over the votes the learner received."""
        slot = slot or 0
        view = self.view(node, ("2b",))
        if value not in self.chosen_in(view).get(slot, set()):
            votes = [m for m in view.msgs if m.type == "2b" and (m.slot, m.val) == (slot, value)]
            heard = self.heard((m.bal, m.acc) for m in votes)
            raise Violated(
                "learner_quorum",
                node,
                f"decided {value} in slot {slot}, but the accepted messages it received for {value} in slot {slot} "
                f"are {heard or 'none'}: no ballot has {self.deciding_quorums(votes)}",
            )
        self.decided[node] = value

    def check_invariants(self, node: str) -> None:
        for rule, invariant in (("agreement", self.spec.agreement), ("validity", self.spec.validity)):
            reason = invariant(self.cfg, self.s)
            if reason is not None:
                raise Violated(rule, node, reason)


class MultiWorld(BaseWorld):
    """The acceptor of a log under test: suite proposers send prepares (one for all slots) and accepts for any
    slot in any order, as a leader filling holes and a lagging acceptor catching up see them."""

    judge_class = MultiJudge
    j: MultiJudge

    def do_rival_accept(self, p: int, mask: int, slot: int, vk: int) -> None:
        """A suite leader proposes in `slot` at its current ballot (if the spec's Phase2a lets it: a phase-1
        quorum, the slot's highest vote) and the acceptors in `mask` vote; a late call is a stale accept."""
        b = self.rival_ballots.get(pick(self.rivals, p))
        if b is None:
            return
        bi, slot = self.j.bint(b), slot % self.setup.wire.slots
        m = self.j.proposal(bi, slot)
        if m is None:
            m = self.j.suite_proposal(bi, slot, pick(self.j.commands, vk))
            if m is None:
                return
            self.j.send(m)
        voters = []
        for a in self.mask_acceptors(mask):
            if (t := self.j.phase2b_of(self.j.s, a, bi, slot, m.val)) is not None:
                self.j.s = t
                voters.append(self.setup.acceptors[a])
        what = f"{m.val} at {b} in slot {slot}"
        self.log.append(f"{b.node} proposes {what}; voted by {', '.join(voters) or 'nobody'}")
        self.events.append(Event("note", b.node, b.node, f"phase 2 at {b} slot {slot}: {m.val} by {', '.join(voters)}"))
        if self.setup.role == "learner":
            learner, conf = self.iut[0], self.j.conf_of(m)
            self.pending += [Accepted(a, learner, b, m.val, slot, conf) for a in voters]

    def simulated_acceptor(self, m: Protocol) -> None:
        """An acceptor the suite plays for a leader under test answers by the spec's Phase1b/Phase2b: a promise
        reporting every slot's vote, a vote, or a nack with its promise."""
        if m.dst not in self.j.acc_index or not isinstance(m, Prepare | Accept):
            return
        a, bi = self.j.acc_index[m.dst], self.j.bint(m.ballot)
        s = self.j.s
        t = self.j.phase1b(s, a, bi) if isinstance(m, Prepare) else self.j.vote_for(s, a, bi, m)
        reply: Protocol
        if t is None:
            reply = Nack(m.dst, m.src, m.ballot, self.j.ballot(s.max_bal[a]))
        elif isinstance(m, Prepare):
            votes = zip(t.max_vbal[a], t.max_val[a], strict=True)
            report = tuple(SlotVote(i, self.j.ballot(vb), str(v)) for i, (vb, v) in enumerate(votes) if vb >= 0)
            reply = Promise(m.dst, m.src, m.ballot, None, report)
        else:
            reply = Accepted(m.dst, m.src, m.ballot, m.value, m.slot, m.config)
        if t is not None:
            self.j.s = t
        self.pending.append(reply)

    def do_accept(self, p: int, rnd: int, slot: int, vk: int) -> None:
        """A suite proposer asks the acceptor under test to vote in `slot` (one value per ballot and slot)."""
        self.send_accept(Ballot(rnd, pick(self.rivals, p)), slot, vk, None)

    def send_accept(self, b: Ballot, slot: int, vk: int, conf: int | None) -> None:
        bi, slot = self.j.bint(b), slot % self.setup.wire.slots
        m = self.j.proposal(bi, slot) or self.j.proposal_msg(bi, slot, pick(self.j.commands, vk), conf)
        self.j.send(m)
        self.inputs.append(Accept(b.node, self.iut[0], b, m.val, slot, self.j.conf_of(m)))
        self.deliver(self.inputs[-1])
