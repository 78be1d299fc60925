"""Reconfiguration through the log with an α-window (`spec/reconfig.py`) as a first-order transition system.

Multi-Paxos (flexible: phase-1 and phase-2 quorums are separate sorts) whose every slot runs under one
*configuration* with its own quorums (`qconf1(Q1, C)`, `qconf2(Q2, C)`). The first slots (`early`, the
spec's s < α) run under the initial configuration `c0`; every later slot j under the configuration reached
from its predecessor's (`pred(P, j)`) by executing the command chosen at the slot `decides(I, j)` names
(I = j − α in the spec). `next_conf(C, V, C')` is what executing V does to the configuration: a `cfgK`
command switches to K, any other keeps C.

The one quorum axiom is `config_quorum_intersection`: a phase-1 and a phase-2 quorum *of the same
configuration* share a node; quorums of different configurations need not meet (in the spec's models they
are disjoint). Safety across configurations comes instead from agreement on the commands that decide
configurations, which `config_unique` carries and which needs agreement at earlier slots: the argument of
Lamport's "Reconfiguring a State Machine" (2010). The published first-order anchors for reconfiguration are
mypyvy's stoppable and vertical Paxos models (Padon et al.'s lineage; see docs/reconfiguration.md); this
model is written from the spec, in this repository's EPR encoding (`paxos.py`).

How it abstracts the spec: the governing configuration is a state relation `config_of`, added to by
Configure and Reconfigure once a slot's configuration can be computed, rather than a function recomputed
from the chosen log; configurations, commands and `next_conf` are uninterpreted, so the proof covers any
number of configurations, any α and logs of any length. Acceptors outside a slot's configuration may vote
there (the spec forbids it; allowing more behaviour only strengthens a safety proof).
"""

from __future__ import annotations

import z3

from paxiom.proofs.fol import Action, Axiom, Params, Rel, Relation, State, TransitionSystem, added, exists, forall
from paxiom.proofs.logconfig import RECONFIGURE_PARAMS, LogConfigVocabulary, conj
from paxiom.proofs.paxos import classic_actions, classic_conjuncts


class ReconfigVocabulary(LogConfigVocabulary):
    """Multi-Paxos's flexible vocabulary plus configurations, their phase-1 and phase-2 quorums and the log."""

    def __init__(self) -> None:
        super().__init__(flexible=True)
        b = z3.BoolSort()
        self.qconf1 = z3.Function("qconf1", self.quorum1, self.config, b)
        self.qconf2 = z3.Function("qconf2", self.quorum2, self.config, b)
        self.lead_quorum, self.decide_quorum, self.decide_member = self.qconf1, self.qconf2, self.member2
        self.rigidify(self.qconf1, self.qconf2)

    def governed(self, s: State, slot: z3.ExprRef, q: z3.ExprRef) -> z3.BoolRef:
        """q is a phase-2 quorum of a configuration slot runs under (nothing is chosen in a slot without one)."""
        return exists([self.C], z3.And(s["config_of"](slot, self.C), self.qconf2(q, self.C)))

    def chosen_at(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        v = self
        (i,) = v.I
        voted = forall([v.N], z3.Implies(v.member2(v.N, v.Q), s["vote"](v.N, i, r, val)))
        return exists([v.Q], z3.And(v.governed(s, i, v.Q), voted))

    def chosen(self, s: State, i: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """val is chosen at slot i (at some round), by a phase-2 quorum of the slot's configuration."""
        (slot,) = self.I
        return exists([self.R], z3.substitute(self.chosen_at(s, self.R, val), (slot, i)))

    def axioms(self) -> tuple[Axiom, ...]:
        v = self
        q1, q2 = z3.Const("Q1", v.quorum1), z3.Const("Q2", v.quorum2)
        meet = exists([v.N], z3.And(v.member1(v.N, q1), v.member2(v.N, q2)))
        intersection = forall([v.C, q1, q2], z3.Implies(z3.And(v.qconf1(q1, v.C), v.qconf2(q2, v.C)), meet))
        nonempty = z3.And(
            forall([q1], exists([v.N], v.member1(v.N, q1))), forall([q2], exists([v.N], v.member2(v.N, q2)))
        )
        return (
            v.round_order(),
            Axiom(
                "config_quorum_intersection",
                "a phase-1 and a phase-2 quorum of the same configuration share a node (and quorums have members)",
                z3.And(intersection, nonempty),
                nonempty,
                "every quorum has a member",
            ),
            Axiom(
                "next_configuration",
                "executing a command in a configuration leads to one configuration",
                v.functional_next(),
            ),
            v.log_slots(),
        )


def build() -> TransitionSystem:
    v = ReconfigVocabulary()
    (i,) = v.I
    relations = (
        *v.state_relations(),
        Relation("config_of", ("slot", "config"), "slot i runs under configuration c"),
        Relation("applied", ("slot", "value"), "slot j's configuration was computed by executing command v"),
    )

    def configure_initial(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        return v.early(p["slot"]), {"config_of": added(s["config_of"], p["slot"], v.c0)}

    def reconfigure(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        j, c = p["slot"], p["c"]
        guard = v.reconfigured(s, p, v.chosen(s, p["i"], p["v"]))
        return guard, {"config_of": added(s["config_of"], j, c), "applied": added(s["applied"], j, p["v"])}

    actions = (
        *classic_actions(v),
        Action(
            "Configure",
            "one of the first α slots runs under the initial configuration c0",
            (("slot", "slot"),),
            configure_initial,
        ),
        Action(
            "Reconfigure",
            "slot runs under c: its predecessor prev's configuration cprev after executing v, the command chosen "
            "at i, the slot that decides it (i = slot − α)",
            RECONFIGURE_PARAMS,
            reconfigure,
        ),
    )

    shared = v.config_conjuncts()
    conjuncts = (
        *classic_conjuncts(v, relations),
        conj(
            "votes_governed",
            "proposals (so votes) are made only in slots whose configuration is known",
            [i, v.R, v.V],
            lambda s: z3.Implies(s["proposal"](i, v.R, v.V), exists([v.C], s["config_of"](i, v.C))),
        ),
        shared["config_unique"],
        shared["initial_config"],
        shared["config_applied"],
        conj(
            "applied_chosen",
            "that command is chosen at the deciding slot",
            [v.J, v.V, i],
            lambda s: z3.Implies(z3.And(s["applied"](v.J, v.V), v.decides(i, v.J)), v.chosen(s, i, v.V)),
        ),
        shared["applied_next"],
        conj(
            "applied_in_order",
            "a command is applied to a slot only with its configuration, and only once the "
            "slot's predecessor is configured",
            [v.J, v.V, v.P],
            lambda s: z3.Implies(
                s["applied"](v.J, v.V),
                z3.And(
                    exists([v.C], s["config_of"](v.J, v.C)),
                    z3.Implies(v.pred(v.P, v.J), exists([v.C], s["config_of"](v.P, v.C))),
                ),
            ),
        ),
    )
    title = "Reconfiguration through the log (Multi-Paxos, an α-window)"
    return v.system("reconfig", title, relations, v.axioms(), actions, conjuncts)


MODEL = build()
