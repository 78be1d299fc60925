"""What an implementation under test is told when it starts: who it is, who its peers are, its quorums.

The same information reaches an in-process adapter (as a `Node`) and an out-of-process implementation
(as the `init` line of the process protocol), so both plug-in ways see exactly the same world.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.conform.messages import V1, Wire
from paxiom.spec.quorums import QuorumFamily, Threshold

ROLES = ("acceptor", "proposer", "learner", "group")
"""What the suite can test; in `group` every instance plays all three parts (its init role is `node`)."""


@dataclass(frozen=True)
class Quorums:
    """One quorum family as an implementation sees it: `size` when it is "any k acceptors", and always the
    minimal quorums as explicit sets of acceptor ids."""

    size: int | None
    sets: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, family: QuorumFamily) -> Quorums:
        size = family.k if isinstance(family, Threshold) else None
        return cls(size, tuple(tuple(family.names(q)) for q in family.minimal_quorums))

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "sets": [list(s) for s in self.sets]}


@dataclass(frozen=True)
class Node:
    id: str
    role: str
    """acceptor, proposer, learner, or node (all three at once, in group tests)."""
    acceptors: tuple[str, ...]
    proposers: tuple[str, ...]
    learners: tuple[str, ...]
    phase1: Quorums
    phase2: Quorums
    data_dir: Path
    """The only place the implementation may persist anything; it survives a kill and restart."""
    incarnation: int = 0
    """0 at first start, then 1, 2, ... after each kill and restart on the same data directory."""
    options: Mapping[str, str] = field(default_factory=dict)
    """Free-form `--option KEY=VALUE` settings from the command line (e.g. which mutant to inject)."""
    wire: Wire = V1
    """The variant of the run (paxos, multipaxos, fastpaxos) and, for Multi-Paxos, the slots in play."""
    fast: Quorums | None = None
    """Fast Paxos: the fast quorums."""
    fast_rounds: tuple[int, ...] = ()
    """Fast Paxos: the rounds whose ballots are fast (every other ballot is classic)."""
    configured: Mapping[str, Any] | None = None
    """Reconfiguration and Cheap Paxos: `alpha`, `configs` and `commands` (`configs.init_doc`)."""

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node id that may appear in a message."""
        return tuple(dict.fromkeys(self.acceptors + self.proposers + self.learners))

    def init_json(self) -> dict[str, Any]:
        """The init line: version 1's fields, and version 2's `variant` and its constants beside them."""
        doc: dict[str, Any] = {
            "type": "init",
            "protocol": self.wire.protocol,
            "node": self.id,
            "role": self.role,
            "acceptors": list(self.acceptors),
            "proposers": list(self.proposers),
            "learners": list(self.learners),
            "quorums": {"phase1": self.phase1.to_json(), "phase2": self.phase2.to_json()},
            "data_dir": str(self.data_dir),
            "incarnation": self.incarnation,
            "options": dict(self.options),
        }
        if self.wire.protocol != V1.protocol:
            doc["variant"] = self.wire.variant
        if self.wire.slotted:
            doc["slots"] = self.wire.slots
        if self.fast is not None:
            doc["quorums"]["fast"] = self.fast.to_json()
            doc["fast_rounds"] = list(self.fast_rounds)
        return doc | dict(self.configured or {})
