"""Ballots: unique per replica and totally ordered, so two leaders never share one.

A ballot is `(round, replica)`: rounds order ballots, the replica id breaks ties, and because every
replica only ever mints ballots carrying its own id, no ballot is ever used by two leaders (the property
the classic "ballots not unique" bug breaks). The spec numbers ballots with plain integers; `to_int`
is the order- and uniqueness-preserving map the refinement oracle uses.
"""

from __future__ import annotations

from typing import NamedTuple


class Ballot(NamedTuple):
    round: int
    replica: int

    def to_int(self, replicas: int) -> int:
        """The spec's integer ballot: order-preserving and injective for replica ids below `replicas`."""
        return -1 if self.round < 0 else self.round * replicas + self.replica

    def __str__(self) -> str:
        return "⊥" if self.round < 0 else f"{self.round}.{self.replica}"


NULL_BALLOT = Ballot(-1, -1)
"""Below every real ballot: the promise of an acceptor that has promised nothing."""
