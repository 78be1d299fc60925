"""Group commit: every batch submitted while one fdatasync runs goes into the next write and the next sync.

`submit` never blocks on the disk (it takes a lock for a list append), so the event loop can call it. One
worker thread takes everything pending, writes it as one sync group, calls fdatasync once, publishes the
synced lengths, and only then fires each batch's completion, in submission order, on the worker thread:
the caller's callback must hand off thread-safely (`loop.call_soon_threadsafe`). A checkpoint (snapshot)
is ordered like a batch: written after every earlier batch is synced, before any later one is written.
A failed fdatasync is final (the page cache may have dropped the pages): every pending and later batch
completes with the error, and nothing more is written.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from paxiom.errors import PaxiomError
from paxiom.node.wal import WriteAheadLog

log = logging.getLogger(__name__)

Completion = Callable[[BaseException | None], None]
"""Called once the batch is durable (with None) or can never be (with the error)."""
Checkpoint = Callable[[int], None]
"""Writes a snapshot covering LSNs up to its argument, durably, on the worker thread."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The LSNs of one submitted batch (`last_lsn < first_lsn` for an empty batch or a checkpoint)."""

    first_lsn: int
    last_lsn: int


@dataclass(frozen=True, slots=True)
class _Item:
    records: Sequence[bytes]
    done: Completion | None
    checkpoint: Checkpoint | None = None


@dataclass(frozen=True, slots=True)
class CommitStats:
    syncs: int
    batches: int
    records: int
    checkpoints: int
    synced_lsn: int


class GroupCommitter:
    """The single writer of a `WriteAheadLog`. Use as a context manager or call `close()` (which flushes)."""

    def __init__(self, wal: WriteAheadLog, *, samples: int = 4096) -> None:
        if not wal.writable:
            raise PaxiomError(
                "the write-ahead log is not open for append (corrupt or closed)", where=str(wal.directory)
            )
        self.wal = wal
        self._next_lsn = wal.next_lsn
        self._pending: list[_Item] = []
        self._cond = threading.Condition()
        self._closing = False
        self._failure: BaseException | None = None
        self._latencies: collections.deque[float] = collections.deque(maxlen=samples)
        self._syncs = self._batches = self._records = self._checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="paxiom-group-commit", daemon=True)
        self._thread.start()

    def submit(self, records: Sequence[bytes], done: Completion | None = None) -> Ticket:
        """Queue one batch; `done` fires after the fdatasync that covers it returned."""
        return self._enqueue(_Item(tuple(records), done))

    def submit_checkpoint(self, checkpoint: Checkpoint, done: Completion | None = None) -> Ticket:
        """Queue a snapshot covering every LSN submitted so far; `done` fires once it is durable."""
        return self._enqueue(_Item((), done, checkpoint))

    def _enqueue(self, item: _Item) -> Ticket:
        limit = self.wal.config.max_record
        if any(len(record) > limit for record in item.records):  # refused here, not fatal on the worker
            raise PaxiomError(f"a record above the maximum of {limit} bytes")
        with self._cond:
            if self._closing:
                raise PaxiomError("group commit is closed")
            if self._failure is not None:
                raise PaxiomError(f"the log can no longer be synced: {self._failure}")
            first = self._next_lsn
            self._next_lsn += len(item.records)
            self._pending.append(item)
            self._cond.notify()
        return Ticket(first, first + len(item.records) - 1)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                items, self._pending = self._pending, []
                if not items:
                    return
            if self._failure is None:
                try:
                    self._commit(items)
                except BaseException as error:
                    log.error("storage failed, refusing further writes: %r", error)
                    with self._cond:
                        self._failure = error
                    self.wal.abandon()
            if self._failure is not None:
                self._complete(items, self._failure)

    def _commit(self, items: list[_Item]) -> None:
        """Write and sync runs of batches; a checkpoint ends a run. An item leaves `items` once completed, so
        on failure `items` holds exactly those still owed a completion."""
        while items:
            run = len(items) if (cut := next((i for i, it in enumerate(items) if it.checkpoint), None)) is None else cut
            if run:
                latency = self.write_and_sync([r for item in items[:run] for r in item.records])
                with self._cond:
                    self._latencies.append(latency)
                    self._syncs += 1
                    self._batches += run
                    self._records += sum(len(item.records) for item in items[:run])
                self._complete(items[:run], None)
                del items[:run]
            if items:
                checkpoint = items[0].checkpoint
                assert checkpoint is not None
                checkpoint(self.wal.next_lsn - 1)
                with self._cond:
                    self._checkpoints += 1
                self._complete(items[:1], None)
                del items[:1]

    def write_and_sync(self, records: list[bytes]) -> float:
        """Write one sync group and fdatasync it; returns the seconds the sync took."""
        self.wal.write_group(records)
        return self.wal.sync()

    @staticmethod
    def _complete(items: list[_Item], error: BaseException | None) -> None:
        for item in items:
            if item.done is None:
                continue
            try:
                item.done(error)
            except Exception:
                log.exception("a storage completion callback failed")

    def sync_latencies(self) -> list[float]:
        """The fdatasync durations (seconds) since the last call, oldest first; for a latency histogram."""
        with self._cond:
            samples = list(self._latencies)
            self._latencies.clear()
        return samples

    def stats(self) -> CommitStats:
        with self._cond:
            return CommitStats(self._syncs, self._batches, self._records, self._checkpoints, self.wal.synced.synced_lsn)

    @property
    def failure(self) -> BaseException | None:
        with self._cond:
            return self._failure

    def close(self) -> None:
        """Flush everything submitted, stop the worker, close the log (idempotent). Not from a completion:
        the worker cannot wait for itself."""
        if threading.current_thread() is self._thread:
            raise PaxiomError("group commit closed from its own completion callback")
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()
        if self._failure is None:
            self.wal.close()

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
