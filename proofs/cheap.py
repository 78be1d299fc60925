"""Cheap Paxos (Lamport, Massa 2004) as a first-order transition system: Multi-Paxos whose acceptors are
reconfigured through the log, retiring failed main acceptors.

A *configuration* has main and auxiliary acceptors and its own quorums (`qconf(Q, C)`); the mains alone
are a quorum, which is the cheap normal case — auxiliaries only help when a main has failed. Each slot runs
under one configuration: the first slots (`early`) under the initial configuration `c0`, every later
slot j under the configuration reached from slot j's predecessor by executing the command chosen at the
slot `decides(i, j)` names (i = j - alpha in the paper). A command that `retires(v, n)` yields a
configuration without n: that is the reconfiguration which retires a failed main.

Actions are those of `multipaxos.py` plus the reconfiguration: Learn(slot, v) (a replica learns that v is
chosen), Configure(slot) and Reconfigure(slot, i, v, prev, cprev, c); Phase2a additionally names the
slot's configuration c, which must own its quorum. The only quorum axiom is `config_quorum_intersection`:
two quorums *of the same configuration* share a node; quorums of different configurations need not
meet. Safety across configurations then comes from agreement on the reconfiguration commands — exactly
what the invariant's `config_unique` carries, and why it needs agreement on earlier slots.

Abstractions: there is no executable twin in `spec/` (the spec issue has no Cheap Paxos), so this model is
parallel to `multipaxos.py` instead; configurations, commands and `next_conf` are uninterpreted, so the
proof covers any number of reconfigurations and any alpha. The configuration of a slot is one global
relation that every replica's computation adds to: two replicas that learned different commands would
add two configurations for a slot, which `config_unique` rules out.
"""

from __future__ import annotations

import z3

from paxiom.proofs.fol import Action, Axiom, Params, Rel, Relation, State, TransitionSystem, added, exists, forall
from paxiom.proofs.logconfig import RECONFIGURE_PARAMS, LogConfigVocabulary, conj
from paxiom.proofs.paxos import classic_actions, classic_conjuncts


class CheapVocabulary(LogConfigVocabulary):
    """Multi-Paxos's vocabulary plus configurations, their quorums, main and auxiliary acceptors."""

    def __init__(self) -> None:
        super().__init__(flexible=False)
        b = z3.BoolSort()
        self.qconf = z3.Function("qconf", self.quorum1, self.config, b)
        self.main = z3.Function("main", self.node, self.config, b)
        self.aux = z3.Function("aux", self.node, self.config, b)
        self.retires = z3.Function("retires", self.value, self.node, b)
        self.lead_quorum, self.decide_quorum, self.decide_member = self.qconf, self.qconf, self.member1
        self.rigidify(self.qconf, self.main, self.aux, self.retires)

    def in_config(self, s: State, slot: z3.ExprRef, q: z3.ExprRef) -> z3.BoolRef:
        """q is a quorum of every configuration slot runs under (there is at most one)."""
        return forall([self.C], z3.Implies(s["config_of"](slot, self.C), self.qconf(q, self.C)))

    def chosen_at(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        v = self
        (i,) = v.I
        return exists(
            [v.Q],
            z3.And(v.in_config(s, i, v.Q), forall([v.N], z3.Implies(v.member1(v.N, v.Q), s["vote"](v.N, i, r, val)))),
        )

    def chosen(self, s: State, i: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        """val is chosen at slot i, by a quorum of the slot's configuration."""
        v = self
        return exists(
            [v.R, v.Q],
            z3.And(v.in_config(s, i, v.Q), forall([v.N], z3.Implies(v.member1(v.N, v.Q), s["vote"](v.N, i, v.R, val)))),
        )

    def axioms(self) -> tuple[Axiom, ...]:
        v = self
        q1, q2 = z3.Consts("Q1 Q2", v.quorum1)
        intersection = forall(
            [v.C, q1, q2],
            z3.Implies(
                z3.And(v.qconf(q1, v.C), v.qconf(q2, v.C)),
                exists([v.N], z3.And(v.member1(v.N, q1), v.member1(v.N, q2))),
            ),
        )
        nonempty = forall([v.C, q1], z3.Implies(v.qconf(q1, v.C), exists([v.N], v.member1(v.N, q1))))
        structure = z3.And(
            forall([v.Q], exists([v.N], v.member1(v.N, v.Q))),
            forall(
                [v.C], exists([v.Q], z3.And(v.qconf(v.Q, v.C), forall([v.N], v.member1(v.N, v.Q) == v.main(v.N, v.C))))
            ),
            forall(
                [v.C, v.Q, v.N],
                z3.Implies(z3.And(v.qconf(v.Q, v.C), v.member1(v.N, v.Q)), z3.Or(v.main(v.N, v.C), v.aux(v.N, v.C))),
            ),
            forall([v.N, v.C], z3.Not(z3.And(v.main(v.N, v.C), v.aux(v.N, v.C)))),
            v.functional_next(),
            forall(
                [v.C, v.V, v.C1, v.N],
                z3.Implies(
                    z3.And(v.next_conf(v.C, v.V, v.C1), v.retires(v.V, v.N)),
                    z3.And(v.main(v.N, v.C), z3.Not(v.main(v.N, v.C1)), z3.Not(v.aux(v.N, v.C1))),
                ),
            ),
        )
        return (
            v.round_order(),
            Axiom(
                "config_quorum_intersection",
                "two quorums of the same configuration share a node",
                intersection,
                nonempty,
                "every quorum has a member",
            ),
            Axiom(
                "cheap_configurations",
                "quorums are non-empty; each configuration's mains form a quorum, its quorums hold only its "
                "mains and auxiliaries; a command leads to one next configuration, and one retiring n drops main n",
                structure,
            ),
            v.log_slots(),
        )


def build() -> TransitionSystem:
    v = CheapVocabulary()
    (i,) = v.I
    relations = (
        *v.state_relations(),
        Relation("config_of", ("slot", "config"), "slot i runs under configuration c"),
        Relation("configured", ("slot",), "some replica computed slot i's configuration"),
        Relation("applied", ("slot", "value"), "slot j's configuration was computed by executing command v"),
        Relation("executed", ("slot", "value"), "some replica learned that v is chosen at slot i"),
    )

    def configure(s: State, slot: z3.ExprRef, c: z3.ExprRef) -> dict[str, Rel]:
        return {"config_of": added(s["config_of"], slot, c), "configured": added(s["configured"], slot)}

    def learn(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        return v.chosen(s, p["slot"], p["v"]), {"executed": added(s["executed"], p["slot"], p["v"])}

    def configure_initial(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        return v.early(p["slot"]), configure(s, p["slot"], v.c0)

    def reconfigure(s: State, p: Params) -> tuple[z3.BoolRef, dict[str, Rel]]:
        j, c = p["slot"], p["c"]
        guard = v.reconfigured(s, p, s["executed"](p["i"], p["v"]))
        return guard, {**configure(s, j, c), "applied": added(s["applied"], j, p["v"])}

    actions = (
        *classic_actions(v),
        Action("Learn", "a replica learns that v is chosen at slot", (("slot", "slot"), ("v", "value")), learn),
        Action(
            "Configure", "an early slot runs under the initial configuration c0", (("slot", "slot"),), configure_initial
        ),
        Action(
            "Reconfigure",
            "slot runs under c: the configuration of its predecessor prev (cprev) after executing the command v "
            "learned at slot i, the slot that decides it (v may retire a failed main)",
            RECONFIGURE_PARAMS,
            reconfigure,
        ),
    )

    shared = v.config_conjuncts()
    conjuncts = (
        *classic_conjuncts(v, relations),
        shared["config_unique"],
        conj(
            "proposals_configured",
            "proposals are made only in slots whose configuration is known",
            [i, v.R, v.V],
            lambda s: z3.Implies(s["proposal"](i, v.R, v.V), s["configured"](i)),
        ),
        conj(
            "configured_has_config",
            "a slot is configured exactly when it has a configuration",
            [i, v.C1],
            lambda s: z3.And(
                z3.Implies(s["configured"](i), exists([v.C], s["config_of"](i, v.C))),
                z3.Implies(s["config_of"](i, v.C1), s["configured"](i)),
            ),
        ),
        shared["initial_config"],
        shared["config_applied"],
        conj(
            "applied_executed",
            "that command was learned at the deciding slot",
            [v.J, v.V, i],
            lambda s: z3.Implies(z3.And(s["applied"](v.J, v.V), v.decides(i, v.J)), s["executed"](i, v.V)),
        ),
        shared["applied_next"],
        conj(
            "applied_in_order",
            "a command is applied to a slot only together with its configuration, "
            "and only once its predecessor is configured",
            [v.J, v.V, v.P],
            lambda s: z3.Implies(
                s["applied"](v.J, v.V), z3.And(s["configured"](v.J), z3.Implies(v.pred(v.P, v.J), s["configured"](v.P)))
            ),
        ),
        conj(
            "executed_chosen",
            "a learned command is chosen",
            [i, v.V],
            lambda s: z3.Implies(s["executed"](i, v.V), v.chosen(s, i, v.V)),
        ),
    )
    return v.system(
        "cheap", "Cheap Paxos (Multi-Paxos reconfigured through the log)", relations, v.axioms(), actions, conjuncts
    )


MODEL = build()
