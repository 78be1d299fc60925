"""Multi-Paxos conformance: an acceptor of a log of slots, judged by `spec/multipaxos.py`.

What changes from single-decree Paxos is what makes a log cheap, and what its implementations get wrong:
one promise covers every slot (a vote in any slot raises it, and it bounds votes in every slot), and a
promise reports the latest vote of every slot at once, so a new leader's single phase 1 learns the whole log
(its catch-up of the slots it missed). The judge holds the spec's `LogState`; a promise is judged by
`multipaxos.phase1b` and compared with the 1b message the spec itself would send, a vote by
`multipaxos.phase2b`, and after every step the spec's per-slot agreement and validity must hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from paxiom.conform.world import SLOTS, BaseWorld, Event, pick
from paxiom.spec import multipaxos as mp
from paxiom.spec.paxos import M1a
from paxiom.variants import build_model

if TYPE_CHECKING:
    from paxiom.conform.world import Setup


class MultiJudge(BaseJudge[mp.State]):
    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        model = build_model(
            "multipaxos", setup.quorums, values=setup.values, max_ballot=MAX_BALLOT, slots=setup.wire.slots
        )
        assert isinstance(model, mp.MultiPaxosModel)
        self.cfg = model.cfg
        self.s = mp.init(self.cfg)
        self.raised: dict[int, tuple[str, int | None]] = {}
        """Per acceptor: what last raised its promise (for the reason), and the slot of that vote if one did."""

    # ------------------------------------------------------------ mapping to the spec

    def report(self, votes: tuple[SlotVote, ...]) -> tuple[mp.SlotVote, ...]:
        """A promise's sparse votes as the spec's 1b report: (ballot, value) for every slot, (-1, None) unvoted."""
        dense: list[mp.SlotVote] = [(-1, None)] * self.cfg.slots
        for v in votes:
            dense[v.slot] = (self.bint(v.ballot), v.value)
        return tuple(dense)

    def to_spec(self, m: Protocol) -> mp.Message | None:
        match m:
            case Prepare(ballot=b):
                return M1a(self.bint(b))
            case Promise(src=src, ballot=b, votes=votes):
                return mp.M1b(self.acc_index[src], self.bint(b), self.report(votes or ()))
            case Accept(ballot=b, value=v, slot=int(slot)):
                return mp.M2a(self.bint(b), slot, v)
            case Accepted(src=src, ballot=b, value=v, slot=int(slot)):
                return mp.M2b(self.acc_index[src], self.bint(b), slot, v)
        return None

    def phase1b(self, s: mp.State, a: int, bi: int) -> mp.State | None:
        return mp.phase1b(self.cfg, s, a, bi)

    def proposal_at(self, bi: int, slot: int) -> str | None:
        return next((m.val for m in self.s.msgs if isinstance(m, mp.M2a) and (m.bal, m.slot) == (bi, slot)), None)

    def slot_vote(self, vote: mp.SlotVote) -> str:
        return self.vote(*vote)

    # ------------------------------------------------------------ the rules

    promise_scope = " for every slot"

    def vote_for(self, view: mp.State, a: int, bi: int, m: Accept) -> mp.State | None:
        return mp.phase2b(self.cfg, view, a, bi, m.slot or 0, m.value)

    def place(self, m: Accept) -> str:
        return f" in slot {m.slot}"

    def judge_promise(self, node: str, o: Promise) -> None:
        a, m = self.acc_index[node], self.to_spec(o)
        if m in self.s.msgs:
            return  # a retransmission
        view = self.view(node, ("1a", "2a"))
        t = mp.phase1b(self.cfg, view, a, self.bint(o.ballot))
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
        if m in self.s.msgs or not isinstance(m, mp.M2b):
            return
        view = self.view(node, ("1a", "2a"))
        t = mp.phase2b(self.cfg, view, a, m.bal, m.slot, m.val)
        if t is None:
            if mp.M2a(m.bal, m.slot, m.val) not in view.msgs:
                raise Violated(
                    "replies_to_requests",
                    node,
                    f"voted for {o.value} at {o.ballot} in slot {m.slot}, which nobody asked it to",
                )
            refusal = Violated(
                "accept_at_or_above_promise",
                node,
                f"voted for {o.value} at {o.ballot} in slot {m.slot} below its promise {self.promised_text(a)}",
            )
            raise self.slot_rule(a, m.slot, refusal)
        self.raise_promise(a, t, f"its vote at {o.ballot} in slot {m.slot}", m.slot)
        self.s = t._replace(msgs=self.s.msgs | {m})

    def raise_promise(self, a: int, t: mp.State, what: str, slot: int | None) -> None:
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
        """A leader's proposal in one slot, by `multipaxos.phase2a` over the promises it received: after its one
        phase 1 it must propose, in every slot, the highest vote its quorum reported there (catching up)."""
        self.owned(node, o.ballot, "accept")
        m = self.to_spec(o)
        if m in self.s.msgs or not isinstance(m, mp.M2a):
            return
        view = self.view(node, ("1b",), everyone=("2a",))
        if mp.phase2a(self.cfg, view, m.bal, m.slot, m.val) is None:
            rule, reason = self.explain_phase2a(view, o.ballot, m.slot, m.val)
            raise Violated(rule, node, reason)
        self.send(m)

    def explain_phase2a(self, view: mp.State, b: Ballot, slot: int, v: str) -> tuple[str, str]:
        bi = self.bint(b)
        earlier = self.proposal_at(bi, slot)
        if earlier is not None:
            return "one_value_per_ballot", f"proposed {v} at {b} in slot {slot}, which already carries {earlier}"
        heard = {m.acc: m.votes[slot] for m in view.msgs if isinstance(m, mp.M1b) and m.bal == bi}
        mask = sum(1 << a for a in heard)
        if not self.setup.quorums.phase1.is_quorum(mask):
            return (
                "phase1_quorum",
                f"proposed {v} at {b} in slot {slot} with promises for {b} only from {self.names(mask)}; "
                f"phase-1 quorums are {self.setup.quorums.phase1.describe()}",
            )
        allowed = sorted(mp.proposable(self.cfg, view, bi, slot))
        if allowed == sorted(self.setup.values):
            return "validity", f"proposed {v!r} in slot {slot}, which no client asked for"
        reports = ", ".join(f"{self.setup.acceptors[a]}: {self.slot_vote(heard[a])}" for a in sorted(heard))
        return (
            "highest_vote",
            f"proposed {v} at {b} in slot {slot}, but its promises report there ({reports}) and allow only "
            f"{', '.join(allowed)}",
        )

    def judge_decision(self, node: str, value: str, slot: int | None) -> None:
        """A decision in one slot, by `multipaxos.chosen` over the votes the learner received."""
        slot = slot or 0
        view = self.view(node, ("2b",))
        if value not in mp.chosen(self.cfg, view).get(slot, set()):
            votes = ((m.bal, m.acc) for m in view.msgs if isinstance(m, mp.M2b) and (m.slot, m.val) == (slot, value))
            heard = self.heard(votes)
            raise Violated(
                "learner_quorum",
                node,
                f"decided {value} in slot {slot}, but the accepted messages it received for {value} in slot {slot} "
                f"are {heard or 'none'}: no ballot has a phase-2 quorum ({self.setup.quorums.phase2.describe()})",
            )
        self.decided[node] = value

    def check_invariants(self, node: str) -> None:
        for rule, invariant in (("agreement", mp.agreement), ("validity", mp.validity)):
            reason = invariant(self.cfg, self.s)
            if reason is not None:
                raise Violated(rule, node, reason)


class MultiWorld(BaseWorld):
    """The acceptor of a log under test: suite proposers send prepares (one for all slots) and accepts for any
    slot in any order, as a leader filling holes and a lagging acceptor catching up see them."""

    judge_class = MultiJudge
    j: MultiJudge

    def do_rival_accept(self, p: int, mask: int, slot: int, vk: int) -> None:
        """A suite leader proposes in `slot` at its current ballot (if `multipaxos.phase2a` lets it: a phase-1
        quorum, the slot's highest vote) and the acceptors in `mask` vote; a late call is a stale accept."""
        b = self.rival_ballots.get(pick(self.rivals, p))
        if b is None:
            return
        bi, slot = self.j.bint(b), slot % SLOTS
        value = self.j.proposal_at(bi, slot)
        if value is None:
            allowed = sorted(mp.proposable(self.j.cfg, self.j.s, bi, slot))
            if not allowed:
                return
            value = pick(self.setup.values, vk) if pick(self.setup.values, vk) in allowed else allowed[0]
            self.j.send(mp.M2a(bi, slot, value))
        voters = []
        for a in self.mask_acceptors(mask):
            if (t := mp.phase2b(self.j.cfg, self.j.s, a, bi, slot, value)) is not None:
                self.j.s = t
                voters.append(self.setup.acceptors[a])
        self.log.append(f"{b.node} proposes {value} at {b} in slot {slot}; voted by {', '.join(voters) or 'nobody'}")
        self.events.append(Event("note", b.node, b.node, f"phase 2 at {b} slot {slot}: {value} by {', '.join(voters)}"))
        if self.setup.role == "learner":
            learner = self.iut[0]
            self.pending += [Accepted(a, learner, b, value, slot) for a in voters]

    def simulated_acceptor(self, m: Protocol) -> None:
        """An acceptor the suite plays for a leader under test answers by `multipaxos.phase1b`/`phase2b`:
        a promise reporting every slot's vote, a vote, or a nack with its promise."""
        if m.dst not in self.j.acc_index or not isinstance(m, Prepare | Accept):
            return
        a, bi = self.j.acc_index[m.dst], self.j.bint(m.ballot)
        s = self.j.s
        t = mp.phase1b(self.j.cfg, s, a, bi) if isinstance(m, Prepare) else None
        if isinstance(m, Accept):
            t = mp.phase2b(self.j.cfg, s, a, bi, m.slot or 0, m.value)
        reply: Protocol
        if t is None:
            reply = Nack(m.dst, m.src, m.ballot, self.j.ballot(s.max_bal[a]))
        elif isinstance(m, Prepare):
            votes = zip(t.max_vbal[a], t.max_val[a], strict=True)
            report = tuple(SlotVote(i, self.j.ballot(vb), str(v)) for i, (vb, v) in enumerate(votes) if vb >= 0)
            reply = Promise(m.dst, m.src, m.ballot, None, report)
        else:
            reply = Accepted(m.dst, m.src, m.ballot, m.value, m.slot)
        if t is not None:
            self.j.s = t
        self.pending.append(reply)

    def do_accept(self, p: int, rnd: int, slot: int, vk: int) -> None:
        """A suite proposer asks the acceptor under test to vote in `slot` (one value per ballot and slot)."""
        b, slot = Ballot(rnd, pick(self.rivals, p)), slot % SLOTS
        bi = self.j.bint(b)
        value = self.j.proposal_at(bi, slot) or pick(self.setup.values, vk)
        self.j.send(mp.M2a(bi, slot, value))
        self.inputs.append(Accept(b.node, self.iut[0], b, value, slot))
        self.deliver(self.inputs[-1])
