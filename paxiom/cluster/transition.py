"""`paxiom quorum check --transition OLD NEW`: is changing OLD's configuration to NEW's safe under the α-window?

What the protocol (`spec/reconfig.py`, proved in `proofs/reconfig.py`) needs of the pair:
* The window gives every slot exactly one configuration: the one after slots 0..s − α (`governing`). A
  proposal names it, only its members vote (`phase2b`), and a value is chosen only by a phase-2 quorum
  of it (`chosen`). So each configuration must be safe on its own: old phase-1 x old phase-2, and new
  phase-1 x new phase-2. This is the proof's one quorum axiom, `config_quorum_intersection`, which is
  stated per configuration.
* Nothing is needed across the two. A ballot's promise covers every slot (`phase1b`), so a leader's
  phase 1 can span slots of both configurations. But `proposable` reads, for each slot, a promised
  phase-1 quorum of that slot's own configuration, never the other's. Old phase-1 x new phase-2 and
  new phase-1 x old phase-2 are decided and reported anyway. Only the deliberately unsafe `mixed` bug
  (a phase-1 quorum of any configuration) needs them, and `transition_runs` replays it choosing two values.
α decides which slots a configuration governs, not which quorums must meet, so no condition mentions it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paxiom.cluster.certify import Condition, Outcome, Verdicts, decide
from paxiom.cluster.config import Cluster, load_cluster
from paxiom.cluster.expr import ClusterFamily, Expr, Gate, Leaf
from paxiom.cluster.runs import Run
from paxiom.cluster.transition_runs import build_run
from paxiom.errors import PaxiomError
from paxiom.spec.quorums import QuorumSystem

SIDES = ("old", "new")
PHASES = ("phase1", "phase2")
WHY = {
    "old phase1 x old phase2": "slots before i + α are governed by the old configuration alone: Phase2a reads "
    "a promised phase-1 quorum of it and a phase-2 quorum of it chooses (spec/reconfig.py proposable, chosen)",
    "new phase1 x new phase2": "slots from i + α on are governed by the new configuration alone, the same "
    "way (spec/reconfig.py governing, proposable, chosen)",
    "old phase1 x new phase2": "not needed: a leader's phase 1 spans both configurations (one promise covers "
    "every slot), but in a new slot it reads a phase-1 quorum of the new configuration (spec/reconfig.py "
    "proposable); only the deliberately unsafe bug 'mixed' needs this",
    "new phase1 x old phase2": "not needed, likewise: an old slot is re-proposed from a phase-1 quorum of "
    "the old configuration; only the bug 'mixed' needs this",
}
CONDITIONS = tuple(
    Condition(name, (f"{p} phase1", f"{q} phase2"), needed=p == q)
    for name, (p, q) in zip(WHY, (("old", "old"), ("new", "new"), ("old", "new"), ("new", "old")), strict=True)
)


def relabel(expr: Expr, index: Sequence[int]) -> Expr:
    """`expr` with node i renamed to node index[i]: a file's expression over the pair's node numbering."""
    if isinstance(expr, Leaf):
        return Leaf(index[expr.index])
    return Gate(expr.op, expr.threshold, tuple(relabel(a, index) for a in expr.args), expr.weights, expr.text)


@dataclass(frozen=True)
class Transition:
    """Two cluster files over one numbering of nodes: the old file's in order, then the ones the new adds."""

    old: Cluster
    new: Cluster
    nodes: tuple[str, ...]
    families: dict[str, ClusterFamily]
    """"old phase1", "old phase2", "new phase1", "new phase2", each over `nodes`."""

    @property
    def n(self) -> int:
        return len(self.nodes)

    def names(self, mask: int) -> list[str]:
        return [name for i, name in enumerate(self.nodes) if mask >> i & 1]

    def system(self, side: str) -> QuorumSystem:
        """One configuration as the spec takes it, over every node of the pair."""
        return QuorumSystem(self.families[f"{side} phase1"], self.families[f"{side} phase2"], name=side)


def load_transition(old_path: str, new_path: str) -> Transition:
    """Read both files (every mistake a PaxiomError at file:line:col) and number their nodes together."""
    return transition_of(load_cluster(old_path), load_cluster(new_path))


def transition_of(old: Cluster, new: Cluster, universe: tuple[str, ...] = ()) -> Transition:
    """The pair numbered `universe` first (the nodes a running cluster has ever had, in their order), then
    the old file's other nodes, then the new file's: a node keeps its index for life (`impl.reconfig`)."""
    for cluster in (old, new):
        if cluster.fast is not None:
            raise PaxiomError(
                "quorums.fast: the α-window protocol (spec/reconfig.py) is Multi-Paxos without fast rounds; "
                "certify a fast configuration alone with `paxiom quorum check FILE`",
                where=cluster.place("quorums.fast"),
            )
    nodes = tuple(dict.fromkeys((*universe, *old.nodes, *new.nodes)))
    position = {name: i for i, name in enumerate(nodes)}
    families: dict[str, ClusterFamily] = {}
    for side, cluster in (("old", old), ("new", new)):
        index = [position[name] for name in cluster.nodes]
        for p in PHASES:
            family = getattr(cluster, p)
            families[f"{side} {p}"] = ClusterFamily(nodes, relabel(family.expr, index), family.text)
    return Transition(old, new, nodes, families)


@dataclass
class TransitionReport(Verdicts):
    transition: Transition
    outcomes: list[Outcome]
    run: Run | str | None
    """The replayed counterexample run, why none was built, or None when safe."""

    def to_json(self) -> dict[str, Any]:
        t = self.transition
        old, new = set(t.old.nodes), set(t.new.nodes)
        run = self.run
        return {
            "old": t.old.path,
            "new": t.new.path,
            "protocol": "reconfig: the α-window (spec/reconfig.py, proofs/reconfig.py)",
            "nodes": {
                "old": list(t.old.nodes),
                "new": list(t.new.nodes),
                "added": [n for n in t.new.nodes if n not in old],
                "removed": [n for n in t.old.nodes if n not in new],
            },
            "quorums": {side: {p: t.families[f"{side} {p}"].describe() for p in PHASES} for side in SIDES},
            "safe": self.safe,
            "checks": [o.to_json(t.names, WHY[o.condition.name]) for o in self.outcomes],
            "trace": None if run is None or isinstance(run, str) else run.steps(),
            "replay": None if run is None else ({"note": run} if isinstance(run, str) else run.summary()),
        }


def check_transition(transition: Transition) -> TransitionReport:
    """Decide every condition; on a needed failure, build and replay a spec run choosing two values."""
    exprs = {name: fam.expr for name, fam in transition.families.items()}
    outcomes = [decide(cond, exprs, transition.n) for cond in CONDITIONS]
    report = TransitionReport(transition, outcomes, None)
    failed = report.failed
    if failed is not None and failed.counterexample is not None:
        report.run = build_run(transition, failed.counterexample)
    return report
