"""Single-decree Paxos as a first-order transition system, and its inductive invariant.

This is the relational model of `paxiom.spec.paxos` (Lamport's message-set Paxos) in the style of Padon
et al., "Paxos Made EPR" (OOPSLA 2017). `build()` also yields Flexible Paxos (two quorum sorts) and
Multi-Paxos (every proposal and vote indexed by a slot); see `flexible.py` and `multipaxos.py`.

How it parallels the executable spec (same action names, same invariant names):

| spec (`spec/paxos.py`)                        | relational model                                    |
|-----------------------------------------------|-----------------------------------------------------|
| ballots 0..max_ballot, -1 = "no ballot"       | sort `round`, total order `le`, least round `none`  |
| acceptors, quorums from a QuorumSystem        | sorts `node`, `quorum`; `member(N, Q)`              |
| `M1a(b)` in msgs                              | `one_a(b)`                                          |
| `M1b(a, b, ...)` in msgs                      | `one_b(a, b)`                                       |
| `b < max_bal[a]` (a promised above b)         | `left_round(a, b)`                                  |
| `M2a(b, v)` in msgs                           | `proposal(b, v)`                                    |
| `M2b(a, b, v)` in msgs                        | `vote(a, b, v)`                                     |
| `chosen(s)`                                   | derived: some quorum all voted (b, v)               |

Where it abstracts the spec:
- A 1b message's report (mbal, mval) is not stored. Phase2a reads the votes of the quorum's members
  below b directly, and takes the highest one's round `maxb` as a parameter, with "it is the highest"
  stated by a universally quantified guard rather than computed by a max function (a max function leaves
  EPR). This is sound because promise_monotonicity freezes those votes once the 1b is sent: the report
  and the votes below b agree.
- The promise `maxBal[a]` is not a number: "b > maxBal[a]" (Phase1b) is "a has not left b, joined b or
  voted at b", and "b >= maxBal[a]" (Phase2b) is "a has not left b". Values are not bounded by a
  configured set, so `type_ok` only says that no message or vote carries `none`, and `validity` has no
  counterpart here. `stability` (chosen never shrinks) needs no obligation: no action removes a vote.
- Rounds, nodes, values and quorums are unbounded: the proof covers every cluster whose quorums satisfy
  the axioms (see `paxiom prove --config`).
"""

from __future__ import annotations

import z3

from paxiom.proofs.fol import (
    Action,
    Axiom,
    Conjunct,
    Params,
    Rel,
    Relation,
    State,
    TransitionSystem,
    View,
    added,
    exists,
    forall,
    intersect,
    total_order,
)


class Vocabulary:
    """Sorts, rigid symbols and bound variables shared by the classic and fast models.

    `member1` is the phase-1 quorum membership (used by Phase2a), `member2` the phase-2 one (used by
    `chosen`); they are the same symbol when one quorum family serves both phases. `slots` is `()` for
    single-decree models and a one-slot tuple for Multi-Paxos, prefixed to every per-slot relation."""

    def __init__(self, *, flexible: bool, slots: bool) -> None:
        self.node = z3.DeclareSort("node")
        self.round = z3.DeclareSort("round")
        self.value = z3.DeclareSort("value")
        self.sorts: dict[str, z3.SortRef] = {"node": self.node, "round": self.round, "value": self.value}
        self.le = z3.Function("le", self.round, self.round, z3.BoolSort())
        self.none = z3.Const("none", self.round)
        self.quorum1 = z3.DeclareSort("quorum1" if flexible else "quorum")
        self.quorum2 = z3.DeclareSort("quorum2") if flexible else self.quorum1
        self.member1 = z3.Function("member1" if flexible else "member", self.node, self.quorum1, z3.BoolSort())
        self.member2 = (
            z3.Function("member2", self.node, self.quorum2, z3.BoolSort()) if flexible else self.member1
        )
        self.q1_name = "quorum1" if flexible else "quorum"
        self.q2_name = "quorum2" if flexible else "quorum"
        self.sorts[self.q1_name] = self.quorum1
        self.sorts[self.q2_name] = self.quorum2
        self.rigid: dict[str, z3.FuncDeclRef] = {"le": self.le, self.member1.name(): self.member1}
        self.rigid[self.member2.name()] = self.member2
        self.slot_sort = ("slot",) if slots else ()
        if slots:
            self.sorts["slot"] = z3.DeclareSort("slot")
        self.I = tuple(z3.Const("I", self.sorts[s]) for s in self.slot_sort)
        self.N = z3.Const("N", self.node)
        self.Q = z3.Const("Q", self.quorum2)
        self.R, self.R1, self.R2, self.MR = z3.Consts("R R1 R2 MR", self.round)
        self.V, self.V1, self.V2 = z3.Consts("V V1 V2", self.value)

    def lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        return z3.Not(self.le(b, a))

    def round_order(self) -> Axiom:
        return Axiom(
            "round_order",
            "rounds are totally ordered by le, with `none` (the spec's -1) below every round",
            total_order(self.le, self.round, self.none),
        )

    def classic_quorum_axiom(self, flexible: bool, kind: str) -> Axiom:
        """`phase1_meets_phase2` over two quorum sorts, `quorum_intersection` over one."""
        if flexible:
            return self.quorum_axiom(
                "phase1_meets_phase2", f"every phase-1 quorum shares a node with every {kind}phase-2 quorum"
            )
        return self.quorum_axiom("quorum_intersection", f"every two {kind}quorums share a node")

    def system(
        self,
        variant: str,
        title: str,
        relations: tuple[Relation, ...],
        axioms: tuple[Axiom, ...],
        actions: tuple[Action, ...],
        conjuncts: tuple[Conjunct, ...],
    ) -> TransitionSystem:
        """The transition system over this vocabulary, with agreement as its safety property."""
        constants = {"none": self.none, **self.extra_constants()}
        return TransitionSystem(
            variant, title, self.sorts, self.rigid, constants, relations, axioms, actions, conjuncts, self.agreement(),
            views=(self.chosen_view(),),
        )

    def chosen_view(self) -> View:
        """`chosen(b, v)` (per slot with slots), as derived in the spec: some quorum all voted (b, v)."""
        v = self

        def chosen(s: State, *args: z3.ExprRef) -> z3.BoolRef:
            *slot, r, val = args
            formula = v.chosen_at(s, r, val)
            return z3.substitute(formula, *zip(v.I, slot, strict=True)) if slot else formula

        doc = "some quorum of the round's kind all voted for it"
        return View("chosen", (*v.slot_sort, "round", "value"), doc, chosen)

    def extra_constants(self) -> dict[str, z3.ExprRef]:
        return {}

    def quorum_axiom(self, name: str, doc: str) -> Axiom:
        """Phase-1 quorums meet phase-2 quorums; weakened: quorums are merely non-empty."""
        v = self
        weak = [forall([v.Q], exists([v.N], v.member2(v.N, v.Q)))]
        if v.quorum1 is not v.quorum2:
            q1 = z3.Const("Q1", v.quorum1)
            weak.append(forall([q1], exists([v.N], v.member1(v.N, q1))))
        return Axiom(
            name, doc, intersect(v.node, v.member1, v.member2), z3.And(*weak), "every quorum has a member"
        )

    # ------------------------------------------------------------ actions shared by every variant

    def phase1a(self) -> Action:
        def step(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
            return p["b"] != self.none, {"one_a": added(s["one_a"], p["b"])}

        return Action("Phase1a", "a leader sends prepare(b)", (("b", "round"),), step)

    def phase1b(self) -> Action:
        def step(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
            a, b = p["a"], p["b"]
            v = self
            promised_below_b = z3.And(  # the spec's b > maxBal[a]: a has neither left, joined nor voted in b
                z3.Not(s["left_round"](a, b)),
                z3.Not(s["one_b"](a, b)),
                forall([*v.I, v.V], z3.Not(s["vote"](a, *v.I, b, v.V))),
            )
            guard = z3.And(b != v.none, s["one_a"](b), promised_below_b)
            return guard, {"one_b": added(s["one_b"], a, b), "left_round": self.leave_below(s, a, b)}

        return Action(
            "Phase1b",
            "acceptor a, whose promise is below b, promises b: it leaves every round below b and sends 1b",
            (("a", "node"), ("b", "round")),
            step,
        )

    def leave_below(self, s: State, a: z3.ExprRef, b: z3.ExprRef) -> Rel:
        """`left_round` after acceptor a raises its promise to b."""
        old = s["left_round"]

        def rel(n: z3.ExprRef, r: z3.ExprRef) -> z3.BoolRef:
            return z3.Or(old(n, r), z3.And(n == a, self.lt(r, b)))

        return rel

    def may_lead(self, s: State, p: Params) -> z3.BoolRef:
        """Any further condition on Phase2a (Cheap Paxos: the slot's configuration owns the quorum)."""
        return z3.BoolVal(True)

    def lead_params(self) -> tuple[tuple[str, str], ...]:
        """Any further parameters of Phase2a, checked by `may_lead`."""
        return ()

    def joined(self, s: State, q: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """Every member of phase-1 quorum q has sent 1b for b."""
        return forall([self.N], z3.Implies(self.member1(self.N, q), s["one_b"](self.N, b)))

    def highest_vote_at(self, s: State, i: tuple[z3.ExprRef, ...], q: z3.ExprRef, b: z3.ExprRef,
                        maxb: z3.ExprRef) -> z3.BoolRef:
        """`maxb` is the highest round below b in which a member of q voted (`none`: nobody did)."""
        v = self
        voted_below = z3.And(v.member1(v.N, q), v.lt(v.MR, b), s["vote"](v.N, *i, v.MR, v.V))
        none_voted = forall([v.N, v.MR, v.V], z3.Not(voted_below))
        at_most_maxb = forall([v.N, v.MR, v.V], z3.Implies(voted_below, v.le(v.MR, maxb)))
        someone_at_maxb = exists([v.N, v.V], z3.And(v.member1(v.N, q), s["vote"](v.N, *i, maxb, v.V)))
        return z3.Or(
            z3.And(maxb == v.none, none_voted),
            z3.And(maxb != v.none, v.lt(maxb, b), someone_at_maxb, at_most_maxb),
        )

    def type_ok(self, relations: tuple[Relation, ...]) -> Conjunct:
        """Nothing is sent or voted at `none`, the spec's -1; only `left_round` may mention it."""
        v = self

        def formula(s: State) -> z3.BoolRef:
            facts = []
            for rel in relations:
                if rel.name == "left_round" or "round" not in rel.sorts:
                    continue
                xs = [z3.Const(f"{rel.name}.{i}", v.sorts[sort]) for i, sort in enumerate(rel.sorts)]
                xs[rel.sorts.index("round")] = v.none
                facts.append(forall([x for x in xs if x is not v.none], z3.Not(s[rel.name](*xs))))
            return z3.And(*facts)

        return Conjunct("type_ok", "no message or vote carries round `none` (the spec's -1)", formula)

    def promise_monotonicity(self) -> Conjunct:
        v = self
        return Conjunct(
            "promise_monotonicity",
            "an acceptor that joined round R2 has left every lower round R1",
            lambda s: forall(
                [v.N, v.R1, v.R2],
                z3.Implies(z3.And(s["one_b"](v.N, v.R2), v.lt(v.R1, v.R2)), s["left_round"](v.N, v.R1)),
            ),
        )

    def one_value_per_ballot(self) -> Conjunct:
        v = self
        return Conjunct(
            "one_value_per_ballot",
            "at most one value is proposed (2a) per round",
            lambda s: forall(
                [*v.I, v.R, v.V1, v.V2],
                z3.Implies(z3.And(s["proposal"](*v.I, v.R, v.V1), s["proposal"](*v.I, v.R, v.V2)), v.V1 == v.V2),
            ),
        )

    def not_choosable(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """No phase-2 quorum can still choose val at round r: each has a member that left r without
        voting for val. (The slot, if any, is the bound variable I.)"""
        v = self
        return forall(
            [v.Q],
            exists(
                [v.N],
                z3.And(v.member2(v.N, v.Q), s["left_round"](v.N, r), z3.Not(s["vote"](v.N, *v.I, r, val))),
            ),
        )

    def chosen_at(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """Some phase-2 quorum all voted (r, val)."""
        v = self
        return exists([v.Q], forall([v.N], z3.Implies(v.member2(v.N, v.Q), s["vote"](v.N, *v.I, r, val))))

    def agreement(self) -> Conjunct:
        v = self

        def chosen(s: State, val: z3.ExprRef) -> z3.BoolRef:
            return exists([v.R], v.chosen_at(s, v.R, val))

        return Conjunct(
            "agreement",
            "at most one value is chosen" + (" per slot" if v.I else ""),
            lambda s: forall([*v.I, v.V1, v.V2], z3.Implies(z3.And(chosen(s, v.V1), chosen(s, v.V2)), v.V1 == v.V2)),
        )

    def state_relations(self) -> tuple[Relation, ...]:
        i = self.slot_sort
        return (
            Relation("one_a", ("round",), "1a(b) was sent"),
            Relation("one_b", ("node", "round"), "acceptor a sent 1b for b"),
            Relation("left_round", ("node", "round"), "acceptor a promised a round above b"),
            Relation("proposal", (*i, "round", "value"), "2a: the leader of b proposed v"),
            Relation("vote", ("node", *i, "round", "value"), "2b: acceptor a voted for v at b"),
        )


def classic_actions(v: Vocabulary) -> tuple[Action, ...]:
    """Phase1a, Phase1b, Phase2a and Phase2b of classic (Flexible, Multi-) Paxos over vocabulary v."""
    slot_param = tuple(("slot", s) for s in v.slot_sort)

    def slot(p: Params) -> tuple[z3.ExprRef, ...]:
        return tuple(p["slot"] for _ in v.slot_sort)

    def phase2a(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        i, b, val, q, maxb = slot(p), p["b"], p["v"], p["q"], p["maxb"]
        guard = z3.And(
            b != v.none,
            forall([v.V], z3.Not(s["proposal"](*i, b, v.V))),
            v.may_lead(s, p),
            v.joined(s, q, b),
            v.highest_vote_at(s, i, q, b, maxb),
            z3.Or(maxb == v.none, exists([v.N], z3.And(v.member1(v.N, q), s["vote"](v.N, *i, maxb, val)))),
        )
        return guard, {"proposal": added(s["proposal"], *i, b, val)}

    def phase2b(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        i, a, b, val = slot(p), p["a"], p["b"], p["v"]
        guard = z3.And(b != v.none, s["proposal"](*i, b, val), z3.Not(s["left_round"](a, b)))
        return guard, {"vote": added(s["vote"], a, *i, b, val), "left_round": v.leave_below(s, a, b)}

    return (
        v.phase1a(),
        v.phase1b(),
        Action(
            "Phase2a",
            "with phase-1 quorum q joined to b, propose v: the value of q's highest vote below b (at "
            "round maxb), or anything if q never voted below b (maxb = none)",
            (("b", "round"), *slot_param, ("v", "value"), ("q", v.q1_name), ("maxb", "round"), *v.lead_params()),
            phase2a,
        ),
        Action(
            "Phase2b",
            "acceptor a, not past b, votes for the proposal (b, v) and raises its promise to b",
            (("a", "node"), ("b", "round"), *slot_param, ("v", "value")),
            phase2b,
        ),
    )


def classic_conjuncts(v: Vocabulary, relations: tuple[Relation, ...]) -> tuple[Conjunct, ...]:
    """The inductive invariant of classic Paxos (per slot, with slots)."""
    return (
        v.type_ok(relations),
        v.one_value_per_ballot(),
        Conjunct(
            "votes_follow_proposals",
            "every vote is for the value proposed in its round",
            lambda s: forall(
                [v.N, *v.I, v.R, v.V], z3.Implies(s["vote"](v.N, *v.I, v.R, v.V), s["proposal"](*v.I, v.R, v.V))
            ),
        ),
        v.promise_monotonicity(),
        Conjunct(
            "votes_safe",
            "a proposal for V2 at R2 means no other value V1 is choosable at any lower round R1 (other "
            "than none): every phase-2 quorum has a member that left R1 without voting for V1",
            lambda s: forall(
                [*v.I, v.R1, v.R2, v.V1, v.V2],
                z3.Implies(
                    z3.And(v.none != v.R1, v.lt(v.R1, v.R2), s["proposal"](*v.I, v.R2, v.V2), v.V1 != v.V2),
                    v.not_choosable(s, v.R1, v.V1),
                ),
            ),
        ),
    )


def build(variant: str, title: str, *, flexible: bool, slots: bool) -> TransitionSystem:
    """Classic Paxos over one quorum family, Flexible Paxos over two, and Multi-Paxos with slots."""
    v = Vocabulary(flexible=flexible, slots=slots)
    relations = v.state_relations()
    axioms = (v.round_order(), v.classic_quorum_axiom(flexible, ""))
    return v.system(variant, title, relations, axioms, classic_actions(v), classic_conjuncts(v, relations))


MODEL = build("paxos", "Single-decree Paxos", flexible=False, slots=False)
