"""Counterexample runs: when quorums fail to intersect, a concrete run of the spec choosing two values.

The run uses exactly the violating quorums the certifier found and is replayed through the spec's own
actions (`model.apply`), so what the operator sees is a run the protocol can take, not an argument.

* phase-1 x phase-2 (single-decree Paxos, `spec/paxos.py`): ballot 0 is prepared by Q1 and voted v1 by
  Q2; ballot 1 is prepared by Q1 again, which reports no vote because it misses Q2, so its leader is free
  to propose v2, which Q2 votes for too. Both values are chosen.
* phase-1 x fast x fast (`spec/fastpaxos.py`, ballots 0 and 1 fast): at ballot 0 fast quorum F votes v1
  (chosen) and the acceptors of F' outside F vote v2. Q1 then sees every member of Q1 ∩ F' report v2 —
  or no vote at all, when one of the fast quorums misses Q1 and that one chose v1 — so the recovery
  rule lets the leader of ballot 1 propose v2, and F' votes for it there: chosen too.

The spec enumerates quorums, so the run needs a small system: a large cluster's run is replayed on its
restriction to the nodes the run uses (a run there is a run of the whole cluster with the rest idle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxiom import trace
from paxiom.cluster.certify import Counterexample
from paxiom.cluster.config import Cluster
from paxiom.spec import fastpaxos, paxos
from paxiom.spec.model import Action, act
from paxiom.spec.quorums import ENUMERATION_LIMIT, QuorumFamily, QuorumSystem
from paxiom.variants import AnyModel

VALUES = ("v1", "v2")


class Restricted(QuorumFamily):
    """A family restricted to some of its nodes: the quorums that lie inside them."""

    def __init__(self, base: QuorumFamily, keep: int) -> None:
        self.positions = [i for i in range(base.n) if keep >> i & 1]
        super().__init__([base.nodes[i] for i in self.positions])
        self.base = base
        # the spec tabulates every subset (2^20 calls): map the mask a byte at a time, not a bit at a time
        self._bytes = [
            [sum(1 << p for b, p in enumerate(self.positions[at : at + 8]) if byte >> b & 1) for byte in range(256)]
            for at in range(0, len(self.positions), 8)
        ]

    def is_quorum(self, mask: int) -> bool:
        full = 0
        for table in self._bytes:
            full |= table[mask & 255]
            mask >>= 8
        return self.base.is_quorum(full)

    def describe(self) -> str:
        return f"{self.base.describe()} (restricted to {', '.join(self.nodes)})"


@dataclass(frozen=True)
class Run:
    model: AnyModel
    actions: list[Action]
    restricted_to: tuple[str, ...] | None
    """The nodes of the system the run was replayed on, when that is a restriction of the cluster."""
    agreement: str | None
    """The spec's `agreement` invariant on the final state: a reason when it fails (as it must)."""
    first_violation: tuple[str, int, str] | None
    """(invariant, step number, reason): the first invariant the run breaks on the way."""
    chosen: list[list[str]]
    """The values chosen after each step (reconfig's as "slot: value")."""

    def steps(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.actions]

    def summary(self) -> dict[str, Any]:
        """The --json document's `replay` field."""
        return {
            "variant": self.model.variant,
            "agreement": self.agreement,
            "first_violation": None
            if self.first_violation is None
            else dict(zip(("invariant", "step", "reason"), self.first_violation, strict=True)),
            "restricted_to": self.restricted_to,
        }

    def write(self, path: Path) -> None:
        trace.dump(self.model, self.actions, path)


def build_run(cluster: Cluster, cex: Counterexample) -> Run | str:
    """The run for a failed needed condition, replayed; or a sentence saying why none can be built."""
    families = tuple(fam for fam, _ in cex.quorums)
    masks = [m for _, m in cex.quorums]
    involved = 0
    for mask in masks:
        involved |= mask
    if cluster.n <= ENUMERATION_LIMIT:
        qs, keep = cluster.quorum_system, (1 << cluster.n) - 1
    elif involved.bit_count() <= ENUMERATION_LIMIT:
        keep = involved
        base = cluster.quorum_system
        qs = QuorumSystem(
            Restricted(base.phase1, keep),
            Restricted(base.phase2, keep),
            Restricted(base.fast, keep) if base.fast is not None else None,
        )
    else:
        return (
            f"no run replayed: the spec enumerates quorums and the violating quorums span "
            f"{involved.bit_count()} nodes (limit {ENUMERATION_LIMIT})"
        )
    names = cluster.nodes
    if families == ("phase1", "phase2"):
        actions = _classic_run(names, masks[0], masks[1])
        fast_ballots: tuple[int, ...] = ()
    elif families == ("phase1", "fast", "fast"):
        actions = _fast_run(names, masks[0], masks[1], masks[2])
        fast_ballots = (0, 1)
    else:
        return f"no run: {' x '.join(families)} is not a condition the protocol needs"
    model: paxos.PaxosModel
    if qs.fast is not None:
        model = fastpaxos.FastPaxosModel(fastpaxos.Config(qs, VALUES, 1, fast_ballots=frozenset(fast_ballots)))
    else:
        model = paxos.PaxosModel(paxos.Config(qs, VALUES, 1))
    restricted = None if keep == (1 << cluster.n) - 1 else tuple(qs.nodes)
    return replay(model, actions, restricted, lambda state: sorted(paxos.chosen(model.cfg, state)))


def _each(names: tuple[str, ...], mask: int) -> list[str]:
    return [name for i, name in enumerate(names) if mask >> i & 1]


def _classic_run(names: tuple[str, ...], q1: int, q2: int) -> list[Action]:
    steps: list[Action] = []
    for b, v in ((0, VALUES[0]), (1, VALUES[1])):
        steps.append(act("Phase1a", b=b))
        steps += [act("Phase1b", a=a, b=b) for a in _each(names, q1)]
        steps.append(act("Phase2a", b=b, v=v))
        steps += [act("Phase2b", a=a, b=b, v=v) for a in _each(names, q2)]
    return steps


def _fast_run(names: tuple[str, ...], q1: int, f1: int, f2: int) -> list[Action]:
    """Fast ballot 0 chooses v1 with one fast quorum; recovery lets fast ballot 1 choose v2 with the other."""
    if q1 & f1 and q1 & f2:
        # collision: F votes v1 (and chooses it), F' outside F votes v2, so Q1 ∩ F' reports only v2
        votes = [(a, VALUES[0]) for a in _each(names, f1)] + [(a, VALUES[1]) for a in _each(names, f2 & ~f1)]
        later = f2
    else:
        # a fast quorum missing Q1 chooses v1 unseen: Q1 reports no vote at all
        unseen, later = (f2, f1) if q1 & f1 else (f1, f2)
        votes = [(a, VALUES[0]) for a in _each(names, unseen)]
    steps = [act("Phase1a", b=0)]
    steps += [act("Phase1b", a=a, b=0) for a in _each(names, q1)]
    steps.append(act("Phase2aAny", b=0))
    steps += [act("Phase2bAny", a=a, b=0, v=v) for a, v in votes]
    steps.append(act("Phase1a", b=1))
    steps += [act("Phase1b", a=a, b=1) for a in _each(names, q1)]
    steps.append(act("Phase2a", b=1, v=VALUES[1]))
    steps += [act("Phase2b", a=a, b=1, v=VALUES[1]) for a in _each(names, later)]
    return steps


def replay(
    model: AnyModel, actions: list[Action], restricted: tuple[str, ...] | None, chosen_in: Callable[[Any], list[str]]
) -> Run | str:
    """Run `actions` through the spec's own actions, noting what is chosen (`chosen_in`) and what breaks."""
    state: Any = model.init()[0]
    first: tuple[str, int, str] | None = None
    chosen: list[list[str]] = []
    for number, action in enumerate(actions, start=1):
        nxt = model.apply(state, action)
        if nxt is None:
            return f"the spec does not accept step {number} of the constructed run, {action} (a paxiom bug)"
        state = nxt
        chosen.append(chosen_in(state))
        for name, check in model.invariants.items():
            if first is None and (reason := check(state)) is not None:
                first = (name, number, reason)
    return Run(model, actions, restricted, model.invariants["agreement"](state), first, chosen)
