"""What Cheap Paxos (`cheap.py`) and reconfiguration with an α-window (`reconfig.py`) share: Multi-Paxos
whose every slot runs under one configuration, computed through the log.

The first slots (`early`) run under the initial configuration `c0`; every later slot j under the
configuration reached from its predecessor's (`pred(P, j)`) by executing the command chosen at the slot
`decides(I, j)` names. `next_conf(C, V, C')` is what executing V does to a configuration. A variant names
the quorums a leader takes its phase 1 from (`lead_quorum`) and those that choose (`decide_quorum`, whose
members are `decide_member`), and what it declares on top of this vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from paxiom.proofs.fol import Axiom, Conjunct, Params, State, exists, forall
from paxiom.proofs.paxos import Vocabulary


class LogConfigVocabulary(Vocabulary):
    """Multi-Paxos's vocabulary plus configurations and the log's slot structure."""

    lead_quorum: z3.FuncDeclRef
    decide_quorum: z3.FuncDeclRef
    decide_member: z3.FuncDeclRef

    def __init__(self, flexible: bool) -> None:
        super().__init__(flexible=flexible, slots=True)
        self.config = z3.DeclareSort("config")
        self.sorts["config"] = self.config
        slot, b = self.sorts["slot"], z3.BoolSort()
        self.pred = z3.Function("pred", slot, slot, b)
        self.decides = z3.Function("decides", slot, slot, b)
        self.early = z3.Function("early", slot, b)
        self.next_conf = z3.Function("next_conf", self.config, self.value, self.config, b)
        self.c0 = z3.Const("c0", self.config)
        self.C, self.C1, self.C2, self.CP = z3.Consts("C C1 C2 CP", self.config)
        self.J, self.P, self.I1 = z3.Consts("J P I1", slot)

    def rigidify(self, *functions: z3.FuncDeclRef) -> None:
        """Declare the log's functions and a variant's own as rigid (unchanged by every action)."""
        for f in (*functions, self.pred, self.decides, self.early, self.next_conf):
            self.rigid[f.name()] = f

    def extra_constants(self) -> dict[str, z3.ExprRef]:
        return {"c0": self.c0}

    def may_lead(self, s: State, p: Params) -> z3.BoolRef:
        return z3.And(s["config_of"](p["slot"], p["c"]), self.lead_quorum(p["q"], p["c"]))

    def lead_params(self) -> tuple[tuple[str, str], ...]:
        return (("c", "config"),)

    def not_choosable(self, s: State, r: z3.ExprRef, val: z3.ExprRef) -> z3.BoolRef:
        v = self
        (i,) = v.I
        left = z3.And(v.decide_member(v.N, v.Q), s["left_round"](v.N, r), z3.Not(s["vote"](v.N, i, r, val)))
        return forall(
            [v.C, v.Q], z3.Implies(z3.And(s["config_of"](i, v.C), v.decide_quorum(v.Q, v.C)), exists([v.N], left))
        )

    def functional_next(self) -> z3.BoolRef:
        """Executing a command in a configuration leads to at most one configuration."""
        v = self
        both = z3.And(v.next_conf(v.C, v.V, v.C1), v.next_conf(v.C, v.V, v.C2))
        return forall([v.C, v.V, v.C1, v.C2], z3.Implies(both, v.C1 == v.C2))

    def log_slots(self) -> Axiom:
        """The log's shape: a slot has at most one predecessor and one deciding slot; early slots have none."""
        v = self
        (i,) = v.I
        slots = z3.And(
            forall([v.P, i, v.J], z3.Implies(z3.And(v.pred(v.P, v.J), v.pred(i, v.J)), i == v.P)),
            forall([v.I1, i, v.J], z3.Implies(z3.And(v.decides(v.I1, v.J), v.decides(i, v.J)), i == v.I1)),
            forall([i, v.J], z3.Implies(v.early(v.J), z3.Not(v.decides(i, v.J)))),
        )
        doc = (
            "a slot has at most one predecessor and at most one slot deciding its configuration; early slots have none"
        )
        return Axiom("log_slots", doc, slots)

    def reconfigured(self, s: State, p: Params, known: z3.BoolRef) -> z3.BoolRef:
        """Reconfigure's guard: slot runs under c, its predecessor prev's configuration cprev after executing v,
        which the deciding slot i is `known` to hold."""
        j = p["slot"]
        return z3.And(
            self.decides(p["i"], j),
            known,
            self.pred(p["prev"], j),
            s["config_of"](p["prev"], p["cprev"]),
            self.next_conf(p["cprev"], p["v"], p["c"]),
        )

    def config_conjuncts(self) -> dict[str, Conjunct]:
        """The invariant's conjuncts about configurations that both variants state alike, by name."""
        v = self
        (i,) = v.I
        return {
            "config_unique": conj(
                "config_unique",
                "each slot runs under at most one configuration",
                [i, v.C1, v.C2],
                lambda s: z3.Implies(z3.And(s["config_of"](i, v.C1), s["config_of"](i, v.C2)), v.C1 == v.C2),
            ),
            "initial_config": conj(
                "initial_config",
                "early slots run under c0",
                [v.J, v.C],
                lambda s: z3.Implies(z3.And(s["config_of"](v.J, v.C), v.early(v.J)), v.c0 == v.C),
            ),
            "config_applied": conj(
                "config_applied",
                "a decided slot's configuration comes from executing some command",
                [v.J, v.C, i],
                lambda s: z3.Implies(
                    z3.And(s["config_of"](v.J, v.C), v.decides(i, v.J)), exists([v.V], s["applied"](v.J, v.V))
                ),
            ),
            "applied_next": conj(
                "applied_next",
                "and leads from the predecessor's configuration to this one",
                [v.J, v.C, v.V, v.P, v.CP],
                lambda s: z3.Implies(
                    z3.And(
                        s["config_of"](v.J, v.C), s["applied"](v.J, v.V), v.pred(v.P, v.J), s["config_of"](v.P, v.CP)
                    ),
                    v.next_conf(v.CP, v.V, v.C),
                ),
            ),
        }


RECONFIGURE_PARAMS = (
    ("slot", "slot"),
    ("i", "slot"),
    ("v", "value"),
    ("prev", "slot"),
    ("cprev", "config"),
    ("c", "config"),
)
"""Reconfigure(slot, i, v, prev, cprev, c)."""


def conj(name: str, doc: str, variables: list[z3.ExprRef], body: Callable[[State], z3.BoolRef]) -> Conjunct:
    """A conjunct that holds for all values of `variables`."""
    return Conjunct(name, doc, lambda s: forall(variables, body(s)))
