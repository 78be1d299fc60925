"""A simulated disk whose syncs lag its writes, as a real one's fdatasync does.

`impl.host.ImmediateStorage` is durable as soon as `append` returns, so no crash can fall between a
write and its sync, and a host that counted (or sent) something before its sync would go unnoticed.
`LazyStorage` keeps each append pending until the simulator syncs it (`sync`, at the replica's next
tick); a crash discards the storage with its host, so the pending writes are lost as in a power cut,
and the refinement oracle sees every message a host let out early ahead of the `Synced` it needed.
"""

from __future__ import annotations

from paxiom.impl.host import Host
from paxiom.impl.storage import DurableState, Write


class LazyStorage:
    def __init__(self, disk: DurableState) -> None:
        self.disk = disk
        """What survives a crash: only synced writes reach it."""
        self.pending: list[Write] = []
        self.ticket = 0
        self.host: Host | None = None

    def bind(self, host: Host) -> None:
        self.host = host

    def append(self, writes: tuple[Write, ...]) -> int:
        self.pending += writes
        self.ticket += 1
        return self.ticket

    def sync(self) -> None:
        """Make every pending write durable, in order, and tell the host (its waiting messages leave)."""
        if not self.pending:
            return
        for write in self.pending:
            self.disk.persist(write)
        self.pending.clear()
        if self.host is not None:
            self.host.synced(self.ticket)
