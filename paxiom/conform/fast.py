"""Fast Paxos conformance: an acceptor that also votes for client values at fast ballots, judged by
`spec/fastpaxos.py`.

Fast Paxos keeps single-decree Paxos's state and messages and adds the coordinator's "any" (`AcceptAny`):
at a fast ballot opened with it, an acceptor votes for the first client value that reaches it
(`fastpaxos.phase2b_any`), and at most once per ballot — the rule that makes a collision detectable, and
the one a fast acceptor breaks when it takes a second client value. The judge is single-decree Paxos's
with the variant's Phase2b actions; a value counts as a client's only if a client sent it to that acceptor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paxiom.conform.judges import Judge, Violated
from paxiom.conform.messages import AcceptAny, Accepted, Ballot, Nack, Propose, Protocol
from paxiom.conform.world import FAST_ROUNDS, Event, World, pick
from paxiom.spec import fastpaxos, paxos, voting
from paxiom.spec.paxos import M2a, MAny
from paxiom.variants import build_model

if TYPE_CHECKING:
    from paxiom.conform.world import Setup


def fast_config(setup: Setup) -> fastpaxos.Config:
    """The spec's constants: ballots of the fast rounds (every proposer's) are fast, the rest classic."""
    proposers = len(setup.proposers)
    fast = [r * proposers + i for r in FAST_ROUNDS for i in range(proposers)]
    model = build_model("fastpaxos", setup.quorums, values=setup.values, max_ballot=max(fast), fast_ballots=fast)
    assert isinstance(model, fastpaxos.FastPaxosModel)
    return model.fast_cfg


class FastJudge(Judge):
    def __init__(self, setup: Setup) -> None:
        self.fast_cfg = fast_config(setup)
        super().__init__(setup)
        self.clients: dict[str, set[str]] = {n: set() for n in setup.under_test}
        """The client values delivered to each acceptor under test."""
        self.opened: dict[str, set[int]] = {n: set() for n in setup.under_test}
        """The fast ballots each acceptor under test was sent an any for since it last started: an acceptor
        need not remember an any across a restart (forgetting one only forgoes a fast vote, which is safe)."""

    def record_delivery(self, m: Protocol) -> None:
        super().record_delivery(m)
        if isinstance(m, AcceptAny) and m.dst in self.opened:
            self.opened[m.dst].add(self.bint(m.ballot))

    def config(self) -> paxos.Config:
        return self.fast_cfg

    def phase2b(self, view: paxos.State, a: int, bi: int, v: str) -> paxos.State | None:
        return fastpaxos.phase2b(self.fast_cfg, view, a, bi, v)

    def proposable(self, view: paxos.State, bi: int) -> set[str]:
        return fastpaxos.proposable(self.fast_cfg, view, bi)

    def phase2a(self, view: paxos.State, bi: int, v: str) -> paxos.State | None:
        return fastpaxos.phase2a(self.fast_cfg, view, bi, v)

    def explain_phase2a(self, view: paxos.State, b: Ballot, v: str) -> tuple[str, str]:
        if MAny(self.bint(b)) in self.s.msgs:
            return "one_value_per_ballot", f"proposed {v} at {b}, which it had opened with any"
        return super().explain_phase2a(view, b, v)

    def vote_rule(self, heard: dict[int, tuple[int, str | None]]) -> str:
        """A collision (several values at the highest reported ballot) is what the recovery rule decides."""
        _, values = voting.highest_vote(list(heard.values()))
        return "recovery" if len(values) > 1 else "highest_vote"

    def judge_any(self, node: str, o: AcceptAny) -> None:
        self.owned(node, o.ballot, "any")
        bi = self.bint(o.ballot)
        if MAny(bi) in self.s.msgs:
            return  # a retransmission
        view = self.view(node, ("1b",), everyone=("2a", "any"))
        if fastpaxos.phase2a_any(self.fast_cfg, view, bi) is None:
            rule, reason = self.explain_any(view, o.ballot)
            raise Violated(rule, node, reason)
        self.send(MAny(bi))

    def explain_any(self, view: paxos.State, b: Ballot) -> tuple[str, str]:
        """Why `fastpaxos.phase2a_any` refused an any at `b`: a classic ballot, a ballot already used, too few
        promises, or promises that force a value (the recovery rule)."""
        bi = self.bint(b)
        if not self.fast_cfg.is_fast(bi):
            return "recovery", f"sent any at {b}, a classic ballot (fast rounds are {', '.join(map(str, FAST_ROUNDS))})"
        earlier = self.proposal_at(bi)
        if earlier is not None:
            return "one_value_per_ballot", f"sent any at {b}, which already carries {earlier}"
        heard = paxos.reports(view, bi)
        mask = sum(1 << a for a in heard)
        if not self.setup.quorums.phase1.is_quorum(mask):
            return "phase1_quorum", f"sent any at {b} with promises for {b} only from {self.names(mask)}"
        forced = ", ".join(sorted(self.proposable(view, bi)))
        return "recovery", f"sent any at {b}, but {self.reports_text(heard)} force {forced}: a value may be chosen"

    def deciding_quorums(self) -> str:
        assert self.setup.quorums.fast is not None
        fast = self.setup.quorums.fast.describe()
        return f"{super().deciding_quorums()} at a classic ballot, or a fast quorum ({fast}) at a fast one"

    def fast_vote(self, node: str, view: paxos.State, o: Accepted) -> paxos.State | None:
        if o.value not in self.clients[node]:
            return None
        return fastpaxos.phase2b_any(self.fast_cfg, view, self.acc_index[node], self.bint(o.ballot), o.value)

    def refuse_vote(self, node: str, view: paxos.State, o: Accepted) -> Violated:
        bi, a = self.bint(o.ballot), self.acc_index[node]
        client = MAny(bi) in view.msgs and o.value in self.clients[node]
        if M2a(bi, o.value) not in view.msgs and not client:
            return Violated(
                "replies_to_requests",
                node,
                f"voted for {o.value} at {o.ballot}, which nobody asked it to: no accept for it reached it, and no "
                f"client's {o.value} after an any for {o.ballot}",
            )
        if self.s.max_vbal[a] >= bi:
            earlier = self.vote(self.s.max_vbal[a], self.s.max_val[a])
            kind = "fast" if self.fast_cfg.is_fast(bi) else "classic"
            return Violated(
                "one_vote_per_ballot",
                node,
                f"voted for {o.value} at {o.ballot} (a {kind} ballot) after its vote {earlier}: an acceptor votes at "
                "most once per ballot, for the first value that reaches it",
            )
        return self.below_promise(node, o)

    def must_vote_for_client(self, node: str, v: str) -> str | None:
        """Why the acceptor under test must vote for the client value `v` just delivered (some ballot it was
        sent an any for lets it, by `phase2b_any`), or None."""
        if self.setup.role != "acceptor":
            return None
        a, view = self.acc_index[node], self.view(node, ("any",))
        for b in sorted(self.opened[node]):
            if fastpaxos.phase2b_any(self.fast_cfg, view, a, b, v) is not None:
                opened = f"{self.ballot(b)} was opened with any"
                return f"did not vote for a client's {v} although {opened} and its promise was {self.promised_text(a)}"
        return None


class FastWorld(World):
    """A Fast Paxos acceptor under test: the suite's coordinators send prepares, accepts and any-messages
    (one phase-2 message per ballot: a value or any), and clients send their values straight to it. A
    learner under test: the suite's coordinators run classic ballots (recovering by `fastpaxos.proposable`)
    and fast ones, where the acceptors the spec plays vote for clients' values, colliding or not."""

    judge_class = FastJudge
    j: FastJudge

    def do_rival_fast(self, p: int, bump: int, voters: int, split: int, vk: int, other: int) -> None:
        """A suite coordinator's next fast ballot (`bump` fast rounds on): phase 1 with every acceptor, then
        any (if `fastpaxos.phase2a_any` lets it), and each acceptor in `voters` votes for a client's value,
        `values[vk]` or, for the acceptors in `split`, `values[vk + other]` (a collision unless other is 0)."""
        rival = pick(self.rivals, p)
        previous = self.rival_ballots.get(rival)
        rounds = [r for r in FAST_ROUNDS if previous is None or r > previous.round]
        if not rounds:
            return  # its fast rounds are used up: only classic ballots remain
        b = Ballot(rounds[min(bump, len(rounds) - 1)], rival)
        self.rival_ballots[rival] = b
        self.rival_phase1(b, (1 << self.setup.quorums.n) - 1)
        bi = self.j.bint(b)
        t = fastpaxos.phase2a_any(self.j.fast_cfg, self.j.s, bi)
        if t is None:
            return
        self.j.s = t
        votes = []
        for a in self.mask_acceptors(voters):
            value = pick(self.setup.values, vk + (other if split >> a & 1 else 0))
            if (u := fastpaxos.phase2b_any(self.j.fast_cfg, self.j.s, a, bi, value)) is not None:
                self.j.s = u
                votes.append(f"{self.setup.acceptors[a]}: {value}")
                self.pending += [Accepted(self.setup.acceptors[a], n, b, value) for n in self.iut]
        self.log.append(
            f"{b.node} opens fast ballot {b} with any; clients' values voted by {', '.join(votes) or 'nobody'}"
        )
        self.events.append(Event("note", b.node, b.node, f"fast ballot {b}: {', '.join(votes) or 'no votes'}"))

    def simulated_acceptor(self, m: Protocol) -> None:
        """As in Paxos; an any from the coordinator under test is answered with a vote for a client's value
        (the first one requested, standing in for the clients that would send it) when `phase2b_any` allows."""
        if not isinstance(m, AcceptAny):
            super().simulated_acceptor(m)
            return
        a, bi = self.j.acc_index[m.dst], self.j.bint(m.ballot)
        value = min(self.j.requested, default=self.setup.values[0])
        t = fastpaxos.phase2b_any(self.j.fast_cfg, self.j.s, a, bi, value)
        if t is None:
            self.pending.append(Nack(m.dst, m.src, m.ballot, self.j.ballot(self.j.s.max_bal[a])))
            return
        self.j.s = t
        self.pending.append(Accepted(m.dst, m.src, m.ballot, value))

    def do_rival_accept(self, p: int, mask: int, vk: int) -> None:
        """As in Paxos, unless the coordinator's current ballot was opened with any (one phase 2 per ballot)."""
        b = self.rival_ballots.get(pick(self.rivals, p))
        if b is None or MAny(self.j.bint(b)) not in self.j.s.msgs:
            super().do_rival_accept(p, mask, vk)

    def do_any(self, p: int, rnd: int) -> None:
        """A suite coordinator opens one of its fast ballots with any (unless it proposed a value there)."""
        b = Ballot(pick(FAST_ROUNDS, rnd), pick(self.rivals, p))
        bi = self.j.bint(b)
        if self.j.proposal_at(bi) is not None:
            return
        self.j.send(MAny(bi))
        self.inputs.append(AcceptAny(b.node, self.iut[0], b))
        self.deliver(self.inputs[-1])

    def do_accept(self, p: int, rnd: int, vk: int) -> None:
        """As in Paxos, at a ballot not opened with any."""
        if MAny(self.j.bint(Ballot(rnd, pick(self.rivals, p)))) not in self.j.s.msgs:
            super().do_accept(p, rnd, vk)

    def do_crash(self, k: int) -> None:
        super().do_crash(k)
        self.j.opened[pick(self.iut, k)].clear()

    def do_client(self, vk: int) -> None:
        """A client sends its value straight to the acceptor under test (Fast Paxos's fast path)."""
        node, value = self.iut[0], pick(self.setup.values, vk)
        self.log.append(f"client -> {node}: propose {value}")
        self.events.append(Event("msg", "client", node, f"propose {value}"))
        self.j.clients[node].add(value)
        must = self.j.must_vote_for_client(node, value)
        out = self.feed(node, Propose(value))
        if must is not None and not any(isinstance(o, Accepted) and o.value == value for o in out):
            raise Violated("acceptor_answers", node, must)
