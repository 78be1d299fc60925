"""Fast Paxos (Lamport 2006) as a first-order transition system, and its inductive invariant.

Extends the vocabulary of `paxos.py` with a sort of fast quorums, a rigid `fast(R)` marking fast rounds and
the "any" message `any_msg(R)`. `build()` also yields Fast Flexible Paxos (`fast_flexible.py`), where the
phase-1 quorums and the classic phase-2 quorums are separate sorts.

Parallel to `paxiom.spec.fastpaxos`: actions Phase1a, Phase1b, Phase2a, Phase2aAny, Phase2b, Phase2bAny;
acceptors vote at most once per round; a value is chosen at a fast round by a fast quorum, at a classic one
by a classic (phase-2) quorum. The abstractions of `paxos.py` apply (1b reports read from frozen votes).

The recovery rule is the spec's (`paxiom.spec.fastpaxos.recoverable`, Lamport's rule). After hearing
phase-1 quorum q, whose highest vote below b is at round maxb, with V the values q's members voted there:
- nobody in q voted below b (maxb = none): Phase2a(b, v) for any v, or at a fast b Phase2aAny;
- one value in V (maxb classic or fast): that value — the leader of a fast round may have sent a plain 2a;
- several values (a collision, so maxb was fast and its leader sent "any"): the value w such that some
  fast quorum R has every acceptor of q and R voting (maxb, w) (Lamport's O4; the three-way axiom makes
  it unique); if there is none, anything, and at a fast b also "any".
The guards never count V: Phase2a's "recovered" case is "a member of q voted (maxb, v) and, if maxb is
fast, v passes O4 or no value does", and its free case is "maxb is fast, two members of q voted different
values there, and no value passes O4" — an existential in the guard, so the model stays in EPR. The free
case is safe because a collision at maxb means "any" was sent there (`votes_follow_proposals`,
`one_value_per_ballot`), so nothing is choosable below maxb (`votes_safe`), and no O4 value means nothing
is choosable at maxb; the invariant needed no new conjunct for it.
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
    Step,
    TransitionSystem,
    added,
    exists,
    forall,
    intersect,
)
from paxiom.proofs.paxos import Vocabulary


class FastVocabulary(Vocabulary):
    """The classic vocabulary plus fast quorums, fast rounds and the "any" message."""

    def __init__(self, *, flexible: bool) -> None:
        super().__init__(flexible=flexible, slots=False)
        self.fastq = z3.DeclareSort("fastquorum")
        self.sorts["fastquorum"] = self.fastq
        self.memberf = z3.Function("memberf", self.node, self.fastq, z3.BoolSort())
        self.fast = z3.Function("fast", self.round, z3.BoolSort())
        self.rigid.update({"memberf": self.memberf, "fast": self.fast})
        self.F = z3.Const("F", self.fastq)
        self.W = z3.Const("W", self.value)

    def not_choosable(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """No quorum of r's kind can still choose val at r."""
        v = self
        fast_blocked = forall(
            [v.F],
            exists([v.N], z3.And(v.memberf(v.N, v.F), s["left_round"](v.N, r), z3.Not(s["vote"](v.N, r, val)))),
        )
        return z3.And(
            z3.Implies(z3.Not(v.fast(r)), super().not_choosable(s, r, val)),
            z3.Implies(v.fast(r), fast_blocked),
        )

    def chosen_at(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        v = self
        by_fast = exists([v.F], forall([v.N], z3.Implies(v.memberf(v.N, v.F), s["vote"](v.N, r, val))))
        return z3.If(v.fast(r), by_fast, super().chosen_at(s, r, val))

    def o4(self, s: State, q: z3.ExprRef, maxb: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """Lamport's O4(val): some fast quorum R has every acceptor of q and R voting (maxb, val)."""
        v = self
        return exists(
            [v.F],
            forall([v.N], z3.Implies(z3.And(v.member1(v.N, q), v.memberf(v.N, v.F)), s["vote"](v.N, maxb, val))),
        )

    def no_o4(self, s: State, q: z3.ExprRef, maxb: z3.ExprRef) -> z3.BoolRef:
        """No value satisfies O4 (stated positively, so the alternation runs value, fast quorum -> node)."""
        v = self
        return forall(
            [v.W, v.F],
            exists(
                [v.N], z3.And(v.member1(v.N, q), v.memberf(v.N, v.F), z3.Not(s["vote"](v.N, maxb, v.W)))
            ),
        )

    def three_way_axiom(self) -> Axiom:
        v = self
        f1, f2 = z3.Consts("F1 F2", v.fastq)
        q1 = z3.Const("Q1", v.quorum1)
        pairwise = z3.And(
            forall([q1, f1], exists([v.N], z3.And(v.member1(v.N, q1), v.memberf(v.N, f1)))),
            forall([f1, f2], exists([v.N], z3.And(v.memberf(v.N, f1), v.memberf(v.N, f2)))),
        )
        return Axiom(
            "phase1_meets_two_fast",
            "every phase-1 quorum and any two fast quorums share a node",
            intersect(v.node, v.member1, v.memberf, v.memberf),
            pairwise,
            "quorums only meet pairwise (phase-1 and fast, fast and fast)",
        )


def build(variant: str, title: str, *, flexible: bool) -> TransitionSystem:
    """Fast Paxos over classic and fast quorums; with `flexible`, Fast Flexible Paxos."""
    v = FastVocabulary(flexible=flexible)

    def unstarted(s: State, b: z3.ExprRef) -> z3.BoolRef:
        """The leader of b has sent neither a 2a nor "any"."""
        return z3.And(b != v.none, forall([v.V], z3.Not(s["proposal"](b, v.V))), z3.Not(s["any_msg"](b)))

    def free_after_collision(s: State, q: z3.ExprRef, maxb: z3.ExprRef) -> z3.BoolRef:
        """q's highest round maxb is fast, two members of q voted different values there, and none passes
        O4: nothing can have been chosen at maxb or below, so the leader is free."""
        n1, n2 = z3.Consts("N1 N2", v.node)
        collision = exists(
            [n1, n2, v.V1, v.V2],
            z3.And(
                v.member1(n1, q), v.member1(n2, q), s["vote"](n1, maxb, v.V1), s["vote"](n2, maxb, v.V2),
                v.V1 != v.V2,
            ),
        )
        return z3.And(v.fast(maxb), collision, v.no_o4(s, q, maxb))

    def phase2a(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        b, val, q, maxb = p["b"], p["v"], p["q"], p["maxb"]
        recovered = z3.And(
            exists([v.N], z3.And(v.member1(v.N, q), s["vote"](v.N, maxb, val))),
            z3.Implies(v.fast(maxb), z3.Or(v.o4(s, q, maxb, val), v.no_o4(s, q, maxb))),
        )
        guard = z3.And(
            unstarted(s, b),
            v.joined(s, q, b),
            v.highest_vote_at(s, (), q, b, maxb),
            z3.Or(maxb == v.none, recovered, free_after_collision(s, q, maxb)),
        )
        return guard, {"proposal": added(s["proposal"], b, val)}

    def phase2a_any(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        b, q, maxb = p["b"], p["q"], p["maxb"]
        guard = z3.And(
            v.fast(b),
            unstarted(s, b),
            v.joined(s, q, b),
            v.highest_vote_at(s, (), q, b, maxb),
            z3.Or(maxb == v.none, free_after_collision(s, q, maxb)),
        )
        return guard, {"any_msg": added(s["any_msg"], b)}

    def vote_step(enabled: str) -> Step:
        def step(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
            a, b, val = p["a"], p["b"], p["v"]
            allowed = s["proposal"](b, val) if enabled == "proposal" else z3.And(b != v.none, s["any_msg"](b))
            guard = z3.And(
                allowed, z3.Not(s["left_round"](a, b)), forall([v.V], z3.Not(s["vote"](a, b, v.V)))
            )
            return guard, {"vote": added(s["vote"], a, b, val), "left_round": v.leave_below(s, a, b)}

        return step

    vote_params = (("a", "node"), ("b", "round"), ("v", "value"))
    actions = (
        v.phase1a(),
        v.phase1b(),
        Action(
            "Phase2a",
            "with phase-1 quorum q joined to b, propose v: anything if q never voted below b (maxb = none), "
            "else a value q voted at its highest round maxb — the O4 value if maxb is fast and one exists — "
            "or anything after a collision at fast maxb with no O4 value",
            (("b", "round"), ("v", "value"), ("q", v.q1_name), ("maxb", "round")),
            phase2a,
        ),
        Action(
            "Phase2aAny",
            "at fast round b, with phase-1 quorum q joined, send \"any\" when the leader is free: q never "
            "voted below b (maxb = none), or its highest round maxb is fast with a collision and no O4 value",
            (("b", "round"), ("q", v.q1_name), ("maxb", "round")),
            phase2a_any,
        ),
        Action("Phase2b", "acceptor a, not past b and not yet voted at b, votes for the proposal (b, v)",
               vote_params, vote_step("proposal")),
        Action("Phase2bAny", "acceptor a, not past b and not yet voted at b, votes for a client's v after "
               "\"any\"", vote_params, vote_step("any")),
    )
    any_msg = Relation("any_msg", ("round",), "the leader of fast round b sent \"any\"")
    relations = (*v.state_relations(), any_msg)
    conjuncts = (
        v.type_ok(relations),
        v.one_value_per_ballot(),
        Conjunct(
            "any_only_fast",
            "\"any\" is sent only at fast rounds",
            lambda s: forall([v.R], z3.Implies(s["any_msg"](v.R), v.fast(v.R))),
        ),
        Conjunct(
            "votes_follow_proposals",
            "every vote is for the round's proposal, or any value after \"any\"",
            lambda s: forall(
                [v.N, v.R, v.V],
                z3.Implies(s["vote"](v.N, v.R, v.V), z3.Or(s["proposal"](v.R, v.V), s["any_msg"](v.R))),
            ),
        ),
        Conjunct(
            "one_vote_per_ballot",
            "an acceptor votes at most once per round",
            lambda s: forall(
                [v.N, v.R, v.V1, v.V2],
                z3.Implies(z3.And(s["vote"](v.N, v.R, v.V1), s["vote"](v.N, v.R, v.V2)), v.V1 == v.V2),
            ),
        ),
        v.promise_monotonicity(),
        Conjunct(
            "votes_safe",
            "a proposal for V2 at R2 (or \"any\" at R2) means no other value V1 (no value at all) is "
            "choosable at a lower round R1 (other than none): every quorum of R1's kind has a member that "
            "left R1 without voting for V1",
            lambda s: forall(
                [v.R1, v.R2, v.V1, v.V2],
                z3.Implies(
                    z3.And(
                        v.none != v.R1,
                        v.lt(v.R1, v.R2),
                        z3.Or(z3.And(s["proposal"](v.R2, v.V2), v.V1 != v.V2), s["any_msg"](v.R2)),
                    ),
                    v.not_choosable(s, v.R1, v.V1),
                ),
            ),
        ),
    )
    axioms = (v.round_order(), v.classic_quorum_axiom(flexible, "classic "), v.three_way_axiom())
    return v.system(variant, title, relations, axioms, actions, conjuncts)


MODEL = build("fastpaxos", "Fast Paxos", flexible=False)
