"""The constants of reconfiguration and Cheap Paxos runs: the configurations, the α-window, and what init
tells an implementation about them.

A run's quorum system (`schedules.VARIANT_CONFIGS`) is its initial configuration, over every acceptor that
ever takes part. Reconfiguration's further configurations are listed here with it (`FURTHER`); Cheap
Paxos derives its own from how many acceptors are mains (`spec/cheap.py`: a majority, the rest
auxiliaries). Either way the spec's `Config` is built once per quorum system (`spec_config`) and is what
the judges call, what the suite's own parties act by, and what init describes (`init_doc`).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from paxiom.conform.node import Quorums
from paxiom.spec import reconfig
from paxiom.spec.quorums import Explicit, QuorumSystem, acceptor_names
from paxiom.variants import build_model

ALPHA = 2
"""A configuration chosen in slot i governs slots i + 2 on: wide enough that slot i + 1 is the early
application a wrong implementation makes, small enough that 4 slots see a switch take effect."""
LOG_SLOTS = 4
"""The slots in play in reconfiguration and Cheap Paxos runs."""


def majority_of(nodes: tuple[str, ...], among: tuple[str, ...], name: str) -> QuorumSystem:
    """Majorities of `among`, over all of `nodes` (the acceptors outside `among` are not members)."""
    family = Explicit(nodes, _majorities(among))
    return QuorumSystem(family, family, name=name)


def _majorities(among: tuple[str, ...]) -> list[tuple[str, ...]]:
    return list(itertools.combinations(among, len(among) // 2 + 1))


_FIVE = acceptor_names(5)
RECONFIG_INITIAL = majority_of(_FIVE, _FIVE[:3], "majority of a1..a3, of a1..a5")
FURTHER: dict[QuorumSystem, tuple[QuorumSystem, ...]] = {
    RECONFIG_INITIAL: (
        majority_of(_FIVE, _FIVE, "grown to a majority of a1..a5"),
        majority_of(_FIVE, ("a2", "a3", "a4"), "a1 replaced by a4: majority of a2, a3, a4"),
    ),
}
"""Reconfiguration's configurations after the initial one: cfg1 grows the cluster (an old quorum is no
longer a quorum), cfg2 replaces a1 (which then may not vote)."""


@functools.cache
def spec_config(variant: str, quorums: QuorumSystem, values: tuple[str, ...], max_ballot: int) -> reconfig.Config:
    """The spec's constants for a run of `variant` (reconfig or cheap) whose initial configuration is `quorums`."""
    configs = FURTHER.get(quorums) if variant == "reconfig" else None
    model = build_model(
        variant, quorums, values=values, max_ballot=max_ballot, slots=LOG_SLOTS, alpha=ALPHA, configs=configs
    )
    assert isinstance(model, reconfig.ReconfigModel)
    return model.cfg


def auxiliaries(cfg: reconfig.Config, conf: int) -> frozenset[int]:
    """The auxiliary acceptors of configuration `conf` (Cheap Paxos; none in plain reconfiguration)."""
    mains = getattr(cfg, "mains_of", None)
    return frozenset() if mains is None else cfg.members[conf] - mains[conf]


def init_doc(cfg: reconfig.Config) -> dict[str, Any]:
    """What init adds for these variants: the window, every configuration (its members, its quorums and, in
    Cheap Paxos, its mains and auxiliaries) and the commands that switch to each."""
    nodes = cfg.quorums.nodes
    configs = []
    for conf, qs in enumerate(cfg.configs):
        doc: dict[str, Any] = {
            "members": [nodes[a] for a in sorted(cfg.members[conf])],
            "phase1": Quorums.of(qs.phase1).to_json(),
            "phase2": Quorums.of(qs.phase2).to_json(),
        }
        if hasattr(cfg, "mains_of"):
            doc["auxiliaries"] = [nodes[a] for a in sorted(auxiliaries(cfg, conf))]
        configs.append(doc)
    commands = {reconfig.switch(k): k for k in range(1, len(cfg.configs))}
    return {"alpha": cfg.alpha, "configs": configs, "commands": commands}
