"""The write-ahead log: append sync groups of opaque records to segment files, fdatasync, rotate, compact.

One writer (the group-commit thread) calls `write_group` then `sync`; nothing here takes locks. Opening
runs recovery first (`recovery.py`): a torn tail is cut and synced away before anything new is appended;
a log with corruption opens read-only, so nothing is ever written after data nobody can vouch for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paxiom.errors import PaxiomError
from paxiom.node.datadir import fsync_dir, write_all
from paxiom.node.recovery import Recovery, recover, segments
from paxiom.node.synced import SyncedOffsets
from paxiom.node.walformat import HEADER_SIZE, SegmentHeader, encode_record, parse_segment_name, segment_name

Sync = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class WalConfig:
    segment_bytes: int = 64 << 20
    """A group that starts at or past this size goes in a new segment (groups never span segments)."""
    max_record: int = 16 << 20
    """A longer record is refused on write and is damage on read: a length field is never trusted further."""


class WriteAheadLog:
    """The log of one node, opened with `WriteAheadLog.open`; `recovery` says what was read back."""

    def __init__(
        self,
        directory: Path,
        header: SegmentHeader,
        config: WalConfig,
        recovery: Recovery,
        synced: SyncedOffsets,
        sync: Sync,
    ) -> None:
        self.directory = directory
        self.config = config
        self.recovery = recovery
        self.synced = synced
        self._ids = header
        self._sync = sync
        self.next_lsn = recovery.next_lsn
        self._segments = [(parse_segment_name(p.name) or 0, p) for p in segments(directory)]
        self._fd = -1
        self._size = 0
        self._dirty = False

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        cluster_id: str,
        node_id: str,
        config: WalConfig | None = None,
        base_lsn: int = 0,
        synced: SyncedOffsets,
        sync: Sync = os.fdatasync,
    ) -> WriteAheadLog:
        """Recover `directory` (a log whose LSNs up to `base_lsn` a snapshot covers), then open for append
        unless it is corrupt. `synced` holds the previous run's claims and publishes this run's."""
        config = config or WalConfig()
        result = recover(
            directory, cluster_id=cluster_id, node_id=node_id, max_record=config.max_record, base_lsn=base_lsn,
            claims=synced.previous,
        )  # fmt: skip
        if result.clean and result.truncate is not None:
            path, keep = result.truncate
            if keep == 0:
                path.unlink()
                fsync_dir(directory)
            else:
                os.truncate(path, keep)
        wal = cls(directory, SegmentHeader(0, cluster_id, node_id), config, result, synced, sync)
        if result.clean:
            wal._open_tail()
        return wal

    def _open_tail(self) -> None:
        """Sync what a killed predecessor left in the page cache, publish it, and open the last segment."""
        for _, path in self._segments:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self.synced.update({p: p.stat().st_size for _, p in self._segments}, synced_lsn=self.next_lsn - 1)
        if self._segments and self.recovery.tail_lsn == self.next_lsn:
            path = self._segments[-1][1]
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self._size = path.stat().st_size
        else:
            self._new_segment()

    def _new_segment(self) -> None:
        """Start the segment for `next_lsn`: header written and synced, directory entry synced, published."""
        path = self.directory / segment_name(self.next_lsn)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        write_all(fd, SegmentHeader(self.next_lsn, self._ids.cluster_id, self._ids.node_id).pack())
        os.fsync(fd)
        fsync_dir(self.directory)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._size = fd, HEADER_SIZE
        self._segments.append((self.next_lsn, path))
        self.synced.update({path: HEADER_SIZE})

    @property
    def writable(self) -> bool:
        return self._fd >= 0

    @property
    def segment_paths(self) -> list[Path]:
        return [p for _, p in self._segments]

    def write_group(self, payloads: Sequence[bytes]) -> int:
        """Append one sync group (not yet synced); returns its first LSN."""
        if not self.writable:
            raise PaxiomError("the write-ahead log is closed or corrupt; refusing to append", where=str(self.directory))
        for payload in payloads:
            if len(payload) > self.config.max_record:
                raise PaxiomError(f"record of {len(payload)} bytes above the maximum {self.config.max_record}")
        if self._size >= self.config.segment_bytes and self._size > HEADER_SIZE:
            if self._dirty:
                self.sync()
            self._new_segment()
        first = self.next_lsn
        data = b"".join(encode_record(first + i, i, payload) for i, payload in enumerate(payloads))
        write_all(self._fd, data)
        self._size += len(data)
        self.next_lsn += len(payloads)
        self._dirty = True
        return first

    def sync(self) -> float:
        """fdatasync the open segment and publish its synced length; returns the seconds the sync took."""
        start = time.perf_counter()
        self._sync(self._fd)
        elapsed = time.perf_counter() - start
        self._dirty = False
        self.synced.update({self._segments[-1][1]: self._size}, synced_lsn=self.next_lsn - 1)
        return elapsed

    def compact(self, covered_lsn: int) -> int:
        """Delete the segments whose every record is at or below `covered_lsn`; returns how many."""
        doomed = [
            p for (_, p), (nxt, _) in zip(self._segments, self._segments[1:], strict=False) if nxt <= covered_lsn + 1
        ]
        if not doomed:
            return 0
        for path in doomed:
            path.unlink()
        fsync_dir(self.directory)
        self._segments = self._segments[len(doomed) :]
        self.synced.update({}, drop=tuple(doomed))
        return len(doomed)

    def abandon(self) -> None:
        """Close without syncing: after a failed fdatasync the page cache can no longer be trusted to reach
        the disk (a retried fsync may report success for lost pages), so nothing more is written."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        """Sync anything written and close (idempotent)."""
        if self._fd >= 0:
            if self._dirty:
                self.sync()
            os.close(self._fd)
            self._fd = -1
