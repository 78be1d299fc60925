"""Group commit: batches share fdatasyncs, completions never precede their sync, the caller never blocks."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paxiom.errors import PaxiomError
from paxiom.node.groupcommit import GroupCommitter, Ticket
from paxiom.node.synced import SyncedOffsets
from paxiom.node.wal import Sync, WalConfig, WriteAheadLog


class SlowSync:
    """A fake fdatasync that takes `delay` seconds and records, per call, the last LSN written before it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.durable = 0
        self.wal: WriteAheadLog | None = None
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, fd: int) -> None:
        assert self.wal is not None
        written = self.wal.next_lsn - 1
        self.gate.wait(5)
        time.sleep(self.delay)
        self.calls += 1
        self.durable = written


def open_committer(
    root: Path,
    sync: Sync | SlowSync = os.fdatasync,
    segment_bytes: int = 1 << 20,
    kind: type[GroupCommitter] = GroupCommitter,
) -> GroupCommitter:
    (root / "wal").mkdir(exist_ok=True)
    wal = WriteAheadLog.open(
        root / "wal", cluster_id="c1", node_id="n1", config=WalConfig(segment_bytes=segment_bytes),
        synced=SyncedOffsets(root), sync=sync,
    )  # fmt: skip
    if isinstance(sync, SlowSync):
        sync.wal = wal
    return kind(wal)


def recovered(root: Path) -> list[bytes]:
    wal = WriteAheadLog.open(root / "wal", cluster_id="c1", node_id="n1", synced=SyncedOffsets(root))
    wal.close()
    return [payload for _, payload in wal.recovery.records]


def closed_loop(committer: GroupCommitter, submitters: int, each: int, check: Callable[[Ticket], None]) -> None:
    """`submitters` threads, each submitting `each` batches one at a time, waiting for each completion."""
    errors: list[BaseException] = []

    def run(who: int) -> None:
        for i in range(each):
            done = threading.Event()
            holder: list[Ticket] = []

            def fired(error: BaseException | None, done: threading.Event = done, holder: list[Ticket] = holder) -> None:
                try:
                    assert error is None
                    check(holder[0])
                except BaseException as failure:
                    errors.append(failure)
                done.set()

            holder.append(committer.submit([f"{who}:{i}".encode()], fired))
            assert done.wait(10), "completion never fired"

    threads = [threading.Thread(target=run, args=(w,)) for w in range(submitters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors[0]


def test_concurrent_submitters_share_fdatasyncs_and_no_completion_precedes_its_sync(tmp_path: Path) -> None:
    sync = SlowSync(0.003)
    committer = open_committer(tmp_path, sync)

    def after_its_sync(ticket: Ticket) -> None:
        assert ticket.last_lsn <= sync.durable, f"LSN {ticket.last_lsn} acknowledged, only {sync.durable} synced"

    closed_loop(committer, submitters=16, each=15, check=after_its_sync)
    committer.close()
    stats = committer.stats()
    assert stats.batches == 16 * 15 and stats.records == 16 * 15
    assert sync.calls == stats.syncs
    assert stats.syncs * 4 < stats.batches, f"{stats.syncs} fdatasyncs for {stats.batches} batches"
    assert sorted(recovered(tmp_path)) == sorted(f"{w}:{i}".encode() for w in range(16) for i in range(15))


def test_submit_returns_at_once_while_a_sync_is_stuck_and_completes_only_after_it(tmp_path: Path) -> None:
    sync = SlowSync(0)
    committer = open_committer(tmp_path, sync)
    sync.gate.clear()
    fired = threading.Event()
    start = time.perf_counter()
    first = committer.submit([b"a"], lambda e: fired.set())
    second = committer.submit([b"b", b"c"])
    assert time.perf_counter() - start < 0.05
    assert (first, second) == (Ticket(1, 1), Ticket(2, 3))
    assert not fired.wait(0.1)
    sync.gate.set()
    assert fired.wait(5)
    committer.close()
    assert recovered(tmp_path) == [b"a", b"b", b"c"]


def test_close_flushes_everything_submitted(tmp_path: Path) -> None:
    committer = open_committer(tmp_path, SlowSync(0.002))
    fired: list[BaseException | None] = []
    for i in range(50):
        committer.submit([str(i).encode()], fired.append)
    committer.close()
    assert fired == [None] * 50
    assert recovered(tmp_path) == [str(i).encode() for i in range(50)]
    with pytest.raises(PaxiomError, match="closed"):
        committer.submit([b"late"])


def test_a_failed_fdatasync_fails_every_pending_batch_and_refuses_more(tmp_path: Path) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    committer = open_committer(tmp_path, broken)
    outcomes: list[BaseException | None] = []
    got = threading.Event()

    def record(error: BaseException | None) -> None:
        outcomes.append(error)
        got.set()

    committer.submit([b"doomed"], record)
    assert got.wait(5)
    assert isinstance(outcomes[0], OSError)
    with pytest.raises(PaxiomError, match="no longer be synced"):
        committer.submit([b"more"])
    committer.close()
    assert isinstance(committer.failure, OSError)


def test_a_checkpoint_sees_every_earlier_batch_synced_and_none_later_written(tmp_path: Path) -> None:
    sync = SlowSync(0)
    committer = open_committer(tmp_path, sync)
    sync.gate.clear()
    seen: list[tuple[int, int, int]] = []
    committer.submit([b"a", b"b"])
    committer.submit_checkpoint(lambda covered: seen.append((covered, sync.durable, committer.wal.next_lsn)))
    committer.submit([b"c"])
    sync.gate.set()
    committer.close()
    assert seen == [(2, 2, 3)]
    assert committer.stats().checkpoints == 1


def test_sync_latencies_are_drained_once(tmp_path: Path) -> None:
    committer = open_committer(tmp_path, SlowSync(0.01))
    done = threading.Event()
    committer.submit([b"x"], lambda e: done.set())
    assert done.wait(5)
    samples = committer.sync_latencies()
    assert len(samples) == 1 and samples[0] >= 0.01
    assert committer.sync_latencies() == []
    committer.close()


def test_an_asyncio_caller_is_woken_through_call_soon_threadsafe(tmp_path: Path) -> None:
    committer = open_committer(tmp_path)

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        waits = []
        for i in range(20):
            future: asyncio.Future[None] = loop.create_future()

            def wake(error: BaseException | None, future: asyncio.Future[None] = future) -> None:
                loop.call_soon_threadsafe(future.set_result, None)

            committer.submit([bytes([i])], wake)
            waits.append(future)
        await asyncio.wait_for(asyncio.gather(*waits), 10)
        return [i for i, f in enumerate(waits) if f.done()]

    assert asyncio.run(main()) == list(range(20))
    committer.close()


def test_rotation_under_group_commit_keeps_every_record(tmp_path: Path) -> None:
    committer = open_committer(tmp_path, SlowSync(0), segment_bytes=400)
    closed_loop(committer, submitters=4, each=10, check=lambda ticket: None)
    committer.close()
    assert len(committer.wal.segment_paths) > 2
    assert len(recovered(tmp_path)) == 40


def test_an_oversized_record_is_refused_at_submit_and_the_log_stays_usable(tmp_path: Path) -> None:
    committer = open_committer(tmp_path, SlowSync(0))
    with pytest.raises(PaxiomError, match="above the maximum"):
        committer.submit([bytes(committer.wal.config.max_record + 1)])
    fired = threading.Event()
    committer.submit([b"fine"], lambda error: fired.set())
    assert fired.wait(5) and committer.failure is None
    committer.close()


def test_closing_from_a_completion_is_refused_not_a_deadlock(tmp_path: Path) -> None:
    committer = open_committer(tmp_path, SlowSync(0))
    outcome: list[BaseException] = []
    done = threading.Event()

    def close_here(error: BaseException | None) -> None:
        try:
            committer.close()
        except PaxiomError as refused:
            outcome.append(refused)
        done.set()

    committer.submit([b"x"], close_here)
    assert done.wait(5) and "own completion" in str(outcome[0])
    committer.close()
