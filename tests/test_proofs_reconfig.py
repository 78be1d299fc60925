"""The reconfiguration proof (proofs/reconfig.py): quorums need meet only within a configuration, and the
reconfiguration it proves safe really happens — a slot runs under a configuration other than the initial one."""

from __future__ import annotations

import itertools

import z3

from paxiom.proofs import variants
from paxiom.proofs.bmc import bmc
from paxiom.proofs.fol import State
from paxiom.proofs.prover import prove


def test_weakened_axiom_gives_disjoint_phase_quorums_of_one_configuration() -> None:
    result = prove(variants.model("reconfig"), weaken=["config-quorum-intersection"])
    assert not result.proved and result.cti is not None and result.cti.verified
    assert "unknown" not in {ob.status for ob in result.obligations}
    quorums, rigid = result.cti.structure.quorums, result.cti.structure.rigid
    pairs = itertools.product(rigid["qconf1"], rigid["qconf2"])
    assert any(
        c1 == c2 and not set(quorums["member1"][q1]) & set(quorums["member2"][q2]) for (q1, c1), (q2, c2) in pairs
    ), (quorums, rigid)


def test_the_real_axioms_prove_it_and_a_new_configuration_is_reached() -> None:
    ts = variants.model("reconfig")
    assert prove(ts).proved
    j, c = z3.Const("J", ts.sorts["slot"]), z3.Const("C", ts.sorts["config"])

    def new_configuration(s: State) -> z3.BoolRef:
        return z3.Exists([j, c], z3.And(s["config_of"](j, c), c != ts.constants["c0"]))

    result = bmc(ts, 8, goal=("a slot under a new configuration", new_configuration))
    assert result.status == "violated" and result.run is not None
    assert result.run.steps[-1]["action"] == "Reconfigure"
