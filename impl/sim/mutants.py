"""Mutant hosts and cores: the catalogued bugs (`paxiom.impl.mutants`) as overrides of production classes.

Production code names the spot each bug would live in with a small method; a mutant overrides that one
method, so the production path carries no test machinery.
"""

from __future__ import annotations

from paxiom.impl.host import Host
from paxiom.impl.messages import ChosenEntry


class StaleSnapshotHost(Host):
    """snapshot-drops-last-applied: the snapshot is taken just before the slot it is labelled with is
    applied, so a replica restored from it silently loses that entry."""

    _before: tuple[int, bytes] | None = None

    def _apply(self, entry: ChosenEntry) -> None:
        self._before = (entry.slot, self.sm.snapshot())
        super()._apply(entry)

    def _snapshot(self, slot: int) -> None:
        if self._before is not None and self._before[0] == slot:
            self.replica.snapshot_taken(slot, self._before[1])
        else:
            super()._snapshot(slot)
