"""`NodeStorage`: the core's durable writes on a real disk — the `impl.host.Storage` of the server.

Layout of a data directory: `identity.json` (cluster and node id), `LOCK`, `synced.json`, `wal/` (segments
of records, one encoded `Write` each, `paxiom.node.codec`) and `snapshots/` (at most one checkpoint).

`append(writes)` returns a ticket (1, 2, ...) at once; the group-commit thread makes the writes durable and
then reports the ticket through `on_synced` on that thread (the server hands it to its loop with
`call_soon_threadsafe(host.synced, ticket)`). A `SaveSnapshot` goes in the log like every write and is
followed by a checkpoint: the whole durable state after it (`DurableState.as_writes`, which starts with the
snapshot) written as a snapshot file once every record up to it is synced, after which the log segments it
covers are deleted. Because the log holds the snapshot write too, an older checkpoint plus the log rebuilds
exactly what a damaged newer checkpoint held, for as long as compaction has not run behind it.

Opening recovers: the latest valid checkpoint, then the log after it. A torn tail is dropped silently (it
was never acknowledged); anything else that cannot be vouched for makes `load()` raise `CorruptStorage`,
so a node never votes or leads from state it cannot trust, and opens the log read-only.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import msgpack

from paxiom.errors import PaxiomError
from paxiom.impl.storage import DurableState, SaveSnapshot, Write
from paxiom.node import codec
from paxiom.node.datadir import DataDir
from paxiom.node.groupcommit import CommitStats, GroupCommitter
from paxiom.node.recovery import Recovery
from paxiom.node.snapshots import SnapshotStore
from paxiom.node.synced import SyncedOffsets
from paxiom.node.wal import Sync, WalConfig, WriteAheadLog

log = logging.getLogger(__name__)

MAX_CHECKPOINT_WRITES = 1 << 24


@dataclass(frozen=True, slots=True)
class StorageReport:
    """What opening found: the log's recovery, the checkpoint used, and every problem, as readable lines."""

    recovery: Recovery
    checkpoint: str | None
    damaged_snapshots: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()
    """Corruption: each line names a file, a byte range or LSN, and what is wrong."""

    @property
    def clean(self) -> bool:
        return not self.problems


class CorruptStorage(PaxiomError):
    """Acknowledged state cannot be read back. `state` is what could be (for repair decisions only)."""

    def __init__(self, where: Path, report: StorageReport, state: DurableState) -> None:
        self.report = report
        self.state = state
        super().__init__(
            "storage is corrupt, refusing to vote or lead until repaired: " + "; ".join(report.problems),
            where=str(where),
        )


def encode_checkpoint(state: DurableState) -> bytes:
    return msgpack.packb([codec.encode(w) for w in state.as_writes()], use_bin_type=True)  # type: ignore[no-any-return]


def decode_checkpoint(payload: bytes) -> list[Write]:
    items = msgpack.unpackb(payload, raw=False, max_array_len=MAX_CHECKPOINT_WRITES, max_bin_len=len(payload))
    if type(items) is not list or not all(type(item) is bytes for item in items):
        raise codec.DecodeError("a checkpoint is an array of encoded writes")
    return [codec.decode_write(item) for item in items]


@dataclass(frozen=True, slots=True)
class StorageConfig:
    wal: WalConfig = field(default_factory=WalConfig)
    max_snapshot: int = 1 << 30


Synced = Callable[[int], None]
Failed = Callable[[BaseException], None]


class NodeStorage:
    """The storage of one node. Opening recovers (blocking; do it before serving); then `load()`."""

    def __init__(
        self,
        path: Path | str,
        *,
        cluster_id: str,
        node_id: str,
        on_synced: Synced | None = None,
        on_failure: Failed | None = None,
        config: StorageConfig | None = None,
        sync: Sync = os.fdatasync,
    ) -> None:
        config = config or StorageConfig()
        self.on_synced = on_synced
        self.on_failure = on_failure
        self.datadir = DataDir(path, cluster_id, node_id)
        try:
            self._open(config, sync)
        except BaseException:
            self.datadir.close()
            raise

    def _open(self, config: StorageConfig, sync: Sync) -> None:
        root = self.datadir.path
        self.synced = SyncedOffsets(root)
        ids = (self.datadir.cluster_id, self.datadir.node_id)
        self.snapshots = SnapshotStore(self.datadir.sub("snapshots"), *ids, self.synced, config.max_snapshot)
        found = self.snapshots.load()
        state, problems = DurableState(), []
        base = 0
        if found.snapshot is not None:
            base = found.snapshot.covered_lsn
            try:
                for write in decode_checkpoint(found.snapshot.payload):
                    state.persist(write)
            except (codec.DecodeError, ValueError) as error:
                problems.append(f"snapshots/{found.snapshot.path.name}: CRC-valid but undecodable: {error}")
        self.wal = WriteAheadLog.open(
            self.datadir.sub("wal"), cluster_id=ids[0], node_id=ids[1], config=config.wal, base_lsn=base,
            synced=self.synced, sync=sync,
        )  # fmt: skip
        recovery = self.wal.recovery
        if not recovery.clean:  # a damaged snapshot is only a problem when the log no longer covers for it
            problems += [f"snapshots/{name}: {why}" for name, why in found.damaged]
        else:
            for name, why in found.damaged:
                log.warning("skipped damaged snapshot %s (%s); recovered from an older one and the log", name, why)
        problems += [f"wal/{c}" for c in recovery.corrupt]
        for lsn, payload in recovery.records:
            try:
                state.persist(codec.decode_write(payload))
            except codec.DecodeError as error:
                problems.append(f"wal LSN {lsn}: CRC-valid but undecodable: {error}")
        for damage in recovery.covered:
            log.warning("log damage the snapshot covers (nothing lost): wal/%s", damage)
        if recovery.torn_bytes:
            log.info("dropped a torn log tail of %d bytes (never synced, never acknowledged)", recovery.torn_bytes)
        checkpoint = None if found.snapshot is None else found.snapshot.path.name
        self.report = StorageReport(recovery, checkpoint, found.damaged, tuple(problems))
        self._state = state
        self._tickets = 0
        self.committer = GroupCommitter(self.wal) if self.report.clean and self.wal.writable else None
        if self.report.problems:
            log.error("storage corrupt: %s", "; ".join(self.report.problems))

    def load(self) -> DurableState:
        """The recovered durable state; raises `CorruptStorage` if acknowledged state was lost or damaged."""
        if not self.report.clean:
            raise CorruptStorage(self.datadir.path, self.report, self._state.copy())
        return self._state.copy()

    def append(self, writes: tuple[Write, ...], on_synced: Synced | None = None) -> int:
        """Start making `writes` durable, in order after every earlier append; returns the ticket that
        `on_synced` (this call's, else the storage's) receives on the group-commit thread once they are."""
        if self.committer is None:
            raise PaxiomError("storage is corrupt or closed; refusing to write", where=str(self.datadir.path))
        encoded = [codec.encode(write) for write in writes]  # everything checked before anything changes
        limit = self.wal.config.max_record
        if any(len(data) > limit for data in encoded):
            raise PaxiomError(f"a write encodes to more than the maximum record of {limit} bytes")
        self._tickets += 1
        done = partial(self._done, self._tickets, on_synced or self.on_synced)
        run: list[bytes] = []
        for i, (write, data) in enumerate(zip(writes, encoded, strict=True)):
            self._state.persist(write)
            last = i == len(writes) - 1
            run.append(data)
            if isinstance(write, SaveSnapshot):
                self.committer.submit(run)
                run = []
                checkpoint = partial(self._checkpoint, encode_checkpoint(self._state))
                self.committer.submit_checkpoint(checkpoint, done if last else None)
        if run or not writes:
            self.committer.submit(run, done)
        return self._tickets

    def _checkpoint(self, payload: bytes, covered_lsn: int) -> None:
        """On the group-commit thread, with every earlier record synced and no later one written."""
        self.snapshots.write(covered_lsn, payload)
        self.wal.compact(covered_lsn)

    def _done(self, ticket: int, on_synced: Synced | None, error: BaseException | None) -> None:
        if error is not None:
            if self.on_failure is not None:
                self.on_failure(error)
            return
        if on_synced is not None:
            on_synced(ticket)

    def synced_offsets(self) -> dict[str, int]:
        """Bytes of each file (relative to the data directory) known to be on stable storage."""
        return self.synced.snapshot()

    def sync_latencies(self) -> list[float]:
        """fdatasync durations (seconds) since the last call."""
        return [] if self.committer is None else self.committer.sync_latencies()

    def stats(self) -> CommitStats | None:
        return None if self.committer is None else self.committer.stats()

    def wal_bytes(self) -> int:
        """Bytes in the log's segments (a segment compacted away meanwhile counts as nothing)."""
        total = 0
        for path in self.wal.segment_paths:
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def close(self) -> None:
        """Flush every append (their completions fire), then release the directory (idempotent)."""
        if self.committer is not None:
            self.committer.close()
            self.committer = None
        else:
            self.wal.abandon()
        self.datadir.close()

    def __enter__(self) -> NodeStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
