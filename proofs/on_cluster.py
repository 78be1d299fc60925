"""Composing an unbounded proof with one cluster's quorums.

A proof assumes only its quorum axioms (e.g. `phase1_meets_phase2`), for quorums of any shape. A cluster
file (`paxiom.cluster`, issue 3's TOML language) defines concrete quorum families; its certifier decides
with Z3 whether they satisfy an intersection condition. If every axiom the proof assumes holds on the
cluster, the cluster's quorums are a model of the axioms and the protocol is safe on it — one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paxiom.cluster.certify import Condition, Outcome, decide
from paxiom.cluster.check import conditions
from paxiom.cluster.config import Cluster
from paxiom.errors import PaxiomError
from paxiom.proofs.fol import TransitionSystem

SAYS = {
    "phase1 x phase2": "every phase-1 quorum meets every phase-2 quorum",
    "phase1 x phase1": "every two phase-1 quorums meet",
    "phase2 x phase2": "every two phase-2 quorums meet",
    "phase1 x fast x fast": "every phase-1 quorum and any two fast quorums share a node",
    "phase2 x fast x fast": "every phase-2 quorum and any two fast quorums share a node",
}


def axiom_conditions(variant: str, cluster: Cluster) -> dict[str, list[str]]:
    """Which of the certifier's conditions make the cluster a model of each quorum axiom of `variant`.

    Classic models have one quorum sort, instantiated by the phase-1 and phase-2 quorums together, so
    every pair must meet; flexible models give each family its own sort."""
    classic = ["phase1 x phase2"] + (["phase1 x phase1", "phase2 x phase2"] if cluster.phase2_declared else [])
    fast = ["phase1 x fast x fast"] + (["phase2 x fast x fast"] if cluster.phase2_declared else [])
    table = {
        "paxos": {"quorum_intersection": classic},
        "flexible": {"phase1_meets_phase2": ["phase1 x phase2"]},
        "multipaxos": {"phase1_meets_phase2": ["phase1 x phase2"]},
        "fastpaxos": {"quorum_intersection": classic, "phase1_meets_two_fast": fast},
        "fast-flexible": {
            "phase1_meets_phase2": ["phase1 x phase2"],
            "phase1_meets_two_fast": ["phase1 x fast x fast"],
        },
    }
    if variant not in table:
        raise PaxiomError(f"{variant} changes configurations as it runs; a cluster file describes only one")
    if "fast" in variant and cluster.fast is None:
        raise PaxiomError(
            f"field quorums: no fast quorums declared, so {variant} does not apply", where=cluster.place("quorums")
        )
    return table[variant]


def variants_for(cluster: Cluster) -> list[str]:
    """What a cluster file runs, by default: Flexible and Multi-Paxos, plus Fast Flexible if it has fast
    quorums (the spec's protocols take phase-1 and phase-2 quorums from the file as they are)."""
    return ["flexible", "multipaxos"] + (["fast-flexible"] if cluster.fast is not None else [])


@dataclass
class ClusterVerdict:
    variant: str
    cluster: Cluster
    outcomes: dict[str, list[Outcome]]
    """Axiom name -> the certifier's outcome for each condition it needs."""
    proved: bool

    @property
    def holds(self) -> bool:
        return self.proved and all(o.holds for os in self.outcomes.values() for o in os)

    def sentence(self, title: str) -> str:
        axioms = " and ".join(self.outcomes)
        n, file = self.cluster.n, self.cluster.path
        if not self.proved:
            return f"{title} is not shown safe on {file}: its generic proof did not go through."
        broken = next((o for os in self.outcomes.values() for o in os if not o.holds), None)
        if broken is None:
            facts = "; ".join(SAYS[o.condition.name] for os in self.outcomes.values() for o in os)
            secs = sum(o.seconds for os in self.outcomes.values() for o in os)
            return (
                f"{title} is safe on {file} because {facts} (Z3 certified for its {n} nodes in {secs:.3f} s), "
                f"and {axioms} {'is' if len(self.outcomes) == 1 else 'are'} all its unbounded proof assumes."
            )
        assert broken.counterexample is not None
        named = [
            f"{fam} quorum {{{', '.join(self.cluster.names(mask))}}}" for fam, mask in broken.counterexample.quorums
        ]
        quorums = ", ".join(named[:-1]) + " and " + named[-1]
        axiom = next(a for a, os in self.outcomes.items() if broken in os)
        if broken.condition.needed:
            pointer = f"see `paxiom quorum check {file}` for a run that decides two values"
        else:
            pointer = (
                f"the file's own protocol does not need this; `paxiom quorum check {file}` says which variants "
                "it is safe for"
            )
        return (
            f"{title} is not shown safe on {file}: its proof assumes {axiom}, but {quorums} share no node "
            f"({pointer})."
        )

    def to_json(self, title: str) -> dict[str, Any]:
        return {
            "file": self.cluster.path,
            "holds": self.holds,
            "sentence": self.sentence(title),
            "axioms": {
                axiom: [
                    {
                        "condition": o.condition.name,
                        "holds": o.holds,
                        "seconds": round(o.seconds, 4),
                        "quorums": None if o.counterexample is None else [
                            {"family": fam, "nodes": self.cluster.names(mask)}
                            for fam, mask in o.counterexample.quorums
                        ],
                    }
                    for o in outcomes
                ]
                for axiom, outcomes in self.outcomes.items()
            },
        }


def certify(ts: TransitionSystem, cluster: Cluster, proved: bool) -> ClusterVerdict:
    """Decide, on this cluster, every condition behind the quorum axioms of `ts`'s proof."""
    needed = axiom_conditions(ts.variant, cluster)
    known = {c.name: c for c in conditions(cluster)}
    families = {name: fam.expr for name, fam in cluster.families().items()}
    outcomes: dict[str, list[Outcome]] = {}
    for axiom, names in needed.items():
        conds = [known.get(name) or _condition(name) for name in names]
        outcomes[axiom] = [decide(c, families, cluster.n) for c in conds]
    return ClusterVerdict(ts.variant, cluster, outcomes, proved)


def _condition(name: str) -> Condition:
    """A condition the certifier does not list for this file (it lists those its protocols need)."""
    return Condition(name, tuple(name.split(" x ")), needed=True)
