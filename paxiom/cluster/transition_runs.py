"""A transition's counterexample as a run of `spec/reconfig.py` that chooses two values in one slot.

With α = 1 and the failing condition's quorums Q1 (phase 1) and Q2 (phase 2, disjoint from Q1), the run
works in the slot the phase-2 family governs. For an old-configuration phase-2 quorum that is slot 0. For a
new one, slot 0 first chooses `cfg1` with old quorums, so the new configuration governs slot 1. Then
ballot 0, promised by Q1, proposes v1 there and Q2 votes it (chosen). Ballot 1 is promised by Q1 again,
which reports no vote in that slot because it misses Q2, so its leader may propose v2, and Q2 votes for it
too. The run is replayed through the spec's own actions (`runs.replay`). A cross-configuration condition's
run is only a run of the spec's `mixed` bug: the real protocol refuses its Phase2a.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paxiom.cluster.certify import Counterexample
from paxiom.cluster.expr import support
from paxiom.cluster.runs import VALUES, Restricted, Run, _each, replay
from paxiom.spec import reconfig
from paxiom.spec.model import Action, act
from paxiom.spec.quorums import ENUMERATION_LIMIT, QuorumSystem

if TYPE_CHECKING:
    from paxiom.cluster.transition import Transition

SLOTS = 2


def build_run(transition: Transition, cex: Counterexample, bug: str | None = None) -> Run | str:
    """The run for a failed condition (`bug` names a spec variant to replay on), or why none was built."""
    (_, q1), (phase2, q2) = cex.quorums
    in_new = phase2.startswith("new")
    old1 = _quorum_near(transition, "old phase1", q1 | q2) if in_new else 0
    old2 = _quorum_near(transition, "old phase2", q1 | q2 | old1) if in_new else 0
    involved = q1 | q2 | old1 | old2
    everyone = (1 << transition.n) - 1
    if transition.n <= ENUMERATION_LIMIT:
        keep = everyone
    elif involved.bit_count() <= ENUMERATION_LIMIT:
        keep = involved
    else:
        return (
            f"no run replayed: the spec enumerates quorums and the run would span {involved.bit_count()} nodes "
            f"(limit {ENUMERATION_LIMIT})"
        )
    old, new = (_restricted(transition.system(side), keep, everyone) for side in ("old", "new"))
    cfg = reconfig.Config(old, VALUES, 1, slots=SLOTS, alpha=1, new=(new,), bug=bug)
    model = reconfig.ReconfigModel(cfg)
    actions = _actions(old.nodes, _keep(q1, keep), _keep(q2, keep), (_keep(old1, keep), _keep(old2, keep)), in_new)
    restricted = None if keep == everyone else old.nodes
    return replay(model, actions, restricted, lambda state: _chosen(cfg, state))


def _quorum_near(transition: Transition, family: str, near: int) -> int:
    """An inclusion-minimal quorum of `family` (to choose cfg1 with), of nodes in `near` where it can be: a
    large cluster's run then spans few enough nodes to replay."""
    expr = transition.families[family].expr
    mask = support(expr)
    for i in sorted(range(transition.n), key=lambda i: near >> i & 1):
        if mask >> i & 1 and expr.holds(mask & ~(1 << i)):
            mask &= ~(1 << i)
    return mask


def _restricted(qs: QuorumSystem, keep: int, everyone: int) -> QuorumSystem:
    if keep == everyone:
        return qs
    return QuorumSystem(Restricted(qs.phase1, keep), Restricted(qs.phase2, keep), name=qs.name)


def _keep(mask: int, keep: int) -> int:
    """`mask` in the numbering of the nodes in `keep` (the restricted system's)."""
    out, position = 0, 0
    for i in range(keep.bit_length()):
        if keep >> i & 1:
            out |= (mask >> i & 1) << position
            position += 1
    return out


def _actions(names: tuple[str, ...], q1: int, q2: int, switch_quorums: tuple[int, int], in_new: bool) -> list[Action]:
    """The module docstring's run; `switch_quorums` (old phase 1, old phase 2) choose cfg1 in slot 0 first
    (both 0 when the run stays in slot 0)."""
    old1, old2 = switch_quorums
    cfg1 = reconfig.switch(1)
    steps = [act("Phase1a", b=0)]
    steps += [act("Phase1b", a=a, b=0) for a in _each(names, q1 | old1)]
    if in_new:
        steps.append(act("Phase2a", b=0, slot=0, v=cfg1))
        steps += [act("Phase2b", a=a, b=0, slot=0, v=cfg1) for a in _each(names, old2)]
    slot = 1 if in_new else 0
    for b, v in enumerate(VALUES):
        if b:
            steps.append(act("Phase1a", b=b))
            steps += [act("Phase1b", a=a, b=b) for a in _each(names, q1)]
        steps.append(act("Phase2a", b=b, slot=slot, v=v))
        steps += [act("Phase2b", a=a, b=b, slot=slot, v=v) for a in _each(names, q2)]
    return steps


def _chosen(cfg: reconfig.Config, state: Any) -> list[str]:
    return [f"slot {slot}: {v}" for slot, values in sorted(reconfig.chosen(cfg, state).items()) for v in sorted(values)]
