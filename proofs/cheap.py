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

from collections.abc import Callable

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
    added,
    exists,
    forall,
)
from paxiom.proofs.paxos import Vocabulary, classic_actions, classic_conjuncts


class CheapVocabulary(Vocabulary):
    """Multi-Paxos's vocabulary plus configurations, their quorums, main and auxiliary acceptors."""

    def __init__(self) -> None:
        super().__init__(flexible=False, slots=True)
        self.config = z3.DeclareSort("config")
        self.sorts["config"] = self.config
        slot = self.sorts["slot"]
        b = z3.BoolSort()
        self.qconf = z3.Function("qconf", self.quorum1, self.config, b)
        self.main = z3.Function("main", self.node, self.config, b)
        self.aux = z3.Function("aux", self.node, self.config, b)
        self.pred = z3.Function("pred", slot, slot, b)
        self.decides = z3.Function("decides", slot, slot, b)
        self.early = z3.Function("early", slot, b)
        self.next_conf = z3.Function("next_conf", self.config, self.value, self.config, b)
        self.retires = z3.Function("retires", self.value, self.node, b)
        self.c0 = z3.Const("c0", self.config)
        for f in (self.qconf, self.main, self.aux, self.pred, self.decides, self.early, self.next_conf, self.retires):
            self.rigid[f.name()] = f
        self.C, self.C1, self.C2, self.CP = z3.Consts("C C1 C2 CP", self.config)
        self.J, self.P, self.I1 = z3.Consts("J P I1", slot)

    def extra_constants(self) -> dict[str, z3.ExprRef]:
        return {"c0": self.c0}

    def in_config(self, s: State, slot: z3.ExprRef, q: z3.ExprRef) -> z3.BoolRef:
        """q is a quorum of every configuration slot runs under (there is at most one)."""
        return forall([self.C], z3.Implies(s["config_of"](slot, self.C), self.qconf(q, self.C)))

    def may_lead(self, s: State, p: Params) -> z3.BoolRef:
        return z3.And(s["config_of"](p["slot"], p["c"]), self.qconf(p["q"], p["c"]))

    def lead_params(self) -> tuple[tuple[str, str], ...]:
        return (("c", "config"),)

    def not_choosable(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        v = self
        (i,) = v.I
        return forall(
            [v.C, v.Q],
            z3.Implies(
                z3.And(s["config_of"](i, v.C), v.qconf(v.Q, v.C)),
                exists([v.N], z3.And(v.member1(v.N, v.Q), s["left_round"](v.N, r), z3.Not(s["vote"](v.N, i, r, val)))),
            ),
        )

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
            z3.And(
                v.in_config(s, i, v.Q), forall([v.N], z3.Implies(v.member1(v.N, v.Q), s["vote"](v.N, i, v.R, val)))
            ),
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
            forall([v.C], exists([v.Q], z3.And(
                v.qconf(v.Q, v.C), forall([v.N], v.member1(v.N, v.Q) == v.main(v.N, v.C))
            ))),
            forall([v.C, v.Q, v.N], z3.Implies(
                z3.And(v.qconf(v.Q, v.C), v.member1(v.N, v.Q)), z3.Or(v.main(v.N, v.C), v.aux(v.N, v.C))
            )),
            forall([v.N, v.C], z3.Not(z3.And(v.main(v.N, v.C), v.aux(v.N, v.C)))),
            forall([v.C, v.V, v.C1, v.C2], z3.Implies(
                z3.And(v.next_conf(v.C, v.V, v.C1), v.next_conf(v.C, v.V, v.C2)), v.C1 == v.C2
            )),
            forall([v.C, v.V, v.C1, v.N], z3.Implies(
                z3.And(v.next_conf(v.C, v.V, v.C1), v.retires(v.V, v.N)),
                z3.And(v.main(v.N, v.C), z3.Not(v.main(v.N, v.C1)), z3.Not(v.aux(v.N, v.C1))),
            )),
        )
        (i,) = v.I
        slots = z3.And(
            forall([v.P, i, v.J], z3.Implies(z3.And(v.pred(v.P, v.J), v.pred(i, v.J)), i == v.P)),
            forall([v.I1, i, v.J], z3.Implies(z3.And(v.decides(v.I1, v.J), v.decides(i, v.J)), i == v.I1)),
            forall([i, v.J], z3.Implies(v.early(v.J), z3.Not(v.decides(i, v.J)))),
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
            Axiom(
                "log_slots",
                "a slot has at most one predecessor and at most one slot deciding its configuration; early "
                "slots have none",
                slots,
            ),
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
        guard = z3.And(
            v.decides(p["i"], j),
            s["executed"](p["i"], p["v"]),
            v.pred(p["prev"], j),
            s["config_of"](p["prev"], p["cprev"]),
            v.next_conf(p["cprev"], p["v"], c),
        )
        return guard, {**configure(s, j, c), "applied": added(s["applied"], j, p["v"])}

    actions = (
        *classic_actions(v),
        Action("Learn", "a replica learns that v is chosen at slot", (("slot", "slot"), ("v", "value")), learn),
        Action("Configure", "an early slot runs under the initial configuration c0", (("slot", "slot"),),
               configure_initial),
        Action(
            "Reconfigure",
            "slot runs under c: the configuration of its predecessor prev (cprev) after executing the command v "
            "learned at slot i, the slot that decides it (v may retire a failed main)",
            (("slot", "slot"), ("i", "slot"), ("v", "value"), ("prev", "slot"), ("cprev", "config"),
             ("c", "config")),
            reconfigure,
        ),
    )

    def conj(name: str, doc: str, variables: list[z3.ExprRef], body: Callable[[State], z3.BoolRef]) -> Conjunct:
        return Conjunct(name, doc, lambda s: forall(variables, body(s)))

    conjuncts = (
        *classic_conjuncts(v, relations),
        conj(
            "config_unique", "each slot runs under at most one configuration", [i, v.C1, v.C2],
            lambda s: z3.Implies(z3.And(s["config_of"](i, v.C1), s["config_of"](i, v.C2)), v.C1 == v.C2),
        ),
        conj(
            "proposals_configured", "proposals are made only in slots whose configuration is known", [i, v.R, v.V],
            lambda s: z3.Implies(s["proposal"](i, v.R, v.V), s["configured"](i)),
        ),
        conj(
            "configured_has_config", "a slot is configured exactly when it has a configuration", [i, v.C1],
            lambda s: z3.And(
                z3.Implies(s["configured"](i), exists([v.C], s["config_of"](i, v.C))),
                z3.Implies(s["config_of"](i, v.C1), s["configured"](i)),
            ),
        ),
        conj(
            "initial_config", "early slots run under c0", [v.J, v.C],
            lambda s: z3.Implies(z3.And(s["config_of"](v.J, v.C), v.early(v.J)), v.c0 == v.C),
        ),
        conj(
            "config_applied", "a decided slot's configuration comes from executing some command", [v.J, v.C, i],
            lambda s: z3.Implies(
                z3.And(s["config_of"](v.J, v.C), v.decides(i, v.J)), exists([v.V], s["applied"](v.J, v.V))
            ),
        ),
        conj(
            "applied_executed", "that command was learned at the deciding slot", [v.J, v.V, i],
            lambda s: z3.Implies(z3.And(s["applied"](v.J, v.V), v.decides(i, v.J)), s["executed"](i, v.V)),
        ),
        conj(
            "applied_next", "and leads from the predecessor's configuration to this one",
            [v.J, v.C, v.V, v.P, v.CP],
            lambda s: z3.Implies(
                z3.And(s["config_of"](v.J, v.C), s["applied"](v.J, v.V), v.pred(v.P, v.J), s["config_of"](v.P, v.CP)),
                v.next_conf(v.CP, v.V, v.C),
            ),
        ),
        conj(
            "applied_in_order", "a command is applied to a slot only together with its configuration, "
            "and only once its predecessor is configured",
            [v.J, v.V, v.P],
            lambda s: z3.Implies(
                s["applied"](v.J, v.V), z3.And(s["configured"](v.J), z3.Implies(v.pred(v.P, v.J), s["configured"](v.P)))
            ),
        ),
        conj(
            "executed_chosen", "a learned command is chosen", [i, v.V],
            lambda s: z3.Implies(s["executed"](i, v.V), v.chosen(s, i, v.V)),
        ),
    )
    return v.system("cheap", "Cheap Paxos (Multi-Paxos reconfigured through the log)", relations, v.axioms(),
                    actions, conjuncts)


MODEL = build()
