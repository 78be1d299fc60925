"""NodeStorage, snapshots and the data directory: what the core wrote is what a restart reads back."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxiom.errors import PaxiomError
from paxiom.impl.ballot import Ballot
from paxiom.impl.messages import Snapshot, Vote
from paxiom.impl.storage import DurableState, SaveChosen, SavePromise, SaveSnapshot, SaveVote, Write
from paxiom.impl.values import Command, Value
from paxiom.node.datadir import DataDir
from paxiom.node.powerloss import power_loss
from paxiom.node.snapshots import SnapshotStore
from paxiom.node.storage import CorruptStorage, NodeStorage, StorageConfig
from paxiom.node.synced import SyncedOffsets
from paxiom.node.wal import WalConfig


def no_sync(fd: int) -> None:
    """Judge file contents, not the disk."""


def value(slot: int) -> Value:
    return (Command("client", slot, f"put k{slot} v{slot}".encode()),)


def history(slots: range) -> list[tuple[Write, ...]]:
    """Appends like a leader's: the promise, then per slot a vote and, later, its chosen value."""
    ballot = Ballot(1, 0)
    out: list[tuple[Write, ...]] = [(SavePromise(ballot),)]
    out += [(SaveVote(Vote(s, ballot, value(s))), SaveChosen(s, value(s))) for s in slots]
    return out


def snapshot_at(slot: int) -> SaveSnapshot:
    return SaveSnapshot(Snapshot(slot, f"state through {slot}".encode(), b"c" * 8, b"d" * 8))


def expected(appends: list[tuple[Write, ...]]) -> DurableState:
    state = DurableState()
    for writes in appends:
        for write in writes:
            state.persist(write)
    return state


def open_storage(path: Path, segment_bytes: int = 1 << 20, **kw: object) -> NodeStorage:
    config = StorageConfig(wal=WalConfig(segment_bytes=segment_bytes))
    return NodeStorage(path, cluster_id="c1", node_id="n1", config=config, sync=no_sync, **kw)  # type: ignore[arg-type]


def run(path: Path, appends: list[tuple[Write, ...]], segment_bytes: int = 1 << 20) -> list[int]:
    """Append one at a time, each waiting for its completion (so each is its own sync group)."""
    tickets: list[int] = []
    synced = threading.Semaphore(0)

    def done(ticket: int) -> None:
        tickets.append(ticket)
        synced.release()

    with open_storage(path, segment_bytes, on_synced=done) as storage:
        for writes in appends:
            storage.append(writes)
            assert synced.acquire(timeout=5)
    return tickets


def test_round_trip_with_tickets_in_order(tmp_path: Path) -> None:
    appends = history(range(1, 30))
    assert run(tmp_path, appends) == list(range(1, len(appends) + 1))
    with open_storage(tmp_path) as storage:
        assert storage.report.clean and storage.report.checkpoint is None
        assert storage.load() == expected(appends)


def test_a_snapshot_checkpoints_the_state_and_compacts_the_log_behind_it(tmp_path: Path) -> None:
    appends = [
        *history(range(1, 40)),
        (snapshot_at(30), SaveVote(Vote(40, Ballot(1, 0), value(40)))),
        *history(range(41, 45)),
    ]
    run(tmp_path, appends, segment_bytes=600)
    with open_storage(tmp_path, 600) as storage:
        state = storage.load()
        assert state == expected(appends)
        assert state.snapshot is not None and state.snapshot.last_slot == 30 and min(state.chosen) == 31
        assert storage.report.checkpoint is not None
        first_kept = int(storage.wal.segment_paths[0].stem)
        assert 1 < first_kept <= int(storage.report.checkpoint.removesuffix(".snap")) + 1
    assert len(list((tmp_path / "snapshots").iterdir())) == 1


def test_a_later_snapshot_replaces_the_earlier_one(tmp_path: Path) -> None:
    appends = [*history(range(1, 10)), (snapshot_at(5),), *history(range(10, 20)), (snapshot_at(15),)]
    run(tmp_path, appends)
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == [open_storage_name(tmp_path)]
    with open_storage(tmp_path) as storage:
        assert storage.load() == expected(appends)


def open_storage_name(path: Path) -> str:
    with open_storage(path) as storage:
        assert storage.report.checkpoint is not None
        return storage.report.checkpoint


def test_a_torn_tail_loses_only_the_unacknowledged_append(tmp_path: Path) -> None:
    appends = history(range(1, 10))
    run(tmp_path, appends)
    segment = next((tmp_path / "wal").iterdir())
    segment.write_bytes(segment.read_bytes()[:-5])
    (tmp_path / "synced.json").unlink()  # the power cut took the status file's last rewrite with it
    with open_storage(tmp_path) as storage:
        assert storage.report.recovery.torn_bytes > 0
        state = storage.load()
    assert state == expected([*appends[:-1], appends[-1][:1]])


def test_mid_log_corruption_refuses_to_load_and_to_write(tmp_path: Path) -> None:
    run(tmp_path, history(range(1, 10)))
    segment = next((tmp_path / "wal").iterdir())
    data = bytearray(segment.read_bytes())
    data[400] ^= 0x01
    segment.write_bytes(bytes(data))
    with open_storage(tmp_path) as storage:
        with pytest.raises(CorruptStorage, match=r"refusing to vote or lead.*record CRC mismatch \(LSN \d+\)") as info:
            storage.load()
        assert info.value.report.recovery.corrupt and info.value.state.promise == Ballot(1, 0)
        with pytest.raises(PaxiomError, match="corrupt"):
            storage.append((SavePromise(Ballot(2, 0)),))
    assert segment.read_bytes() == bytes(data)


def test_a_damaged_snapshot_after_compaction_is_corruption(tmp_path: Path) -> None:
    run(tmp_path, [*history(range(1, 40)), (snapshot_at(35),)], segment_bytes=600)
    snap = next((tmp_path / "snapshots").iterdir())
    data = bytearray(snap.read_bytes())
    data[-3] ^= 0x40
    snap.write_bytes(bytes(data))
    with open_storage(tmp_path, 600) as storage, pytest.raises(CorruptStorage, match=r"CRC mismatch; wal/.*LSN gap"):
        storage.load()
    assert storage.report.damaged_snapshots == ((snap.name, "snapshot CRC mismatch"),)


def test_a_damaged_newest_snapshot_falls_back_to_the_older_one_while_the_log_still_covers_it(tmp_path: Path) -> None:
    appends = [*history(range(1, 20)), (snapshot_at(10),), *history(range(20, 25))]
    run(tmp_path, appends)
    store = SnapshotStore(tmp_path / "snapshots", "c1", "n1", SyncedOffsets(tmp_path))
    older = store.files()[0]
    newer = older.with_name(f"{int(older.stem) + 5:020d}.snap")
    newer.write_bytes(older.read_bytes()[:-1])
    with open_storage(tmp_path) as storage:
        assert storage.load() == expected(appends)
        assert storage.report.damaged_snapshots[0][0] == newer.name


def test_a_crash_between_temp_write_and_rename_leaves_the_old_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SnapshotStore(tmp_path, "c1", "n1", SyncedOffsets(tmp_path))
    store.write(5, b"old state")

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write(9, b"new state")
    monkeypatch.undo()
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    reopened = SnapshotStore(tmp_path, "c1", "n1", SyncedOffsets(tmp_path))
    found = reopened.load()
    assert found.snapshot is not None and (found.snapshot.covered_lsn, found.snapshot.payload) == (5, b"old state")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_another_nodes_snapshot_is_damage(tmp_path: Path) -> None:
    SnapshotStore(tmp_path, "c1", "n2", SyncedOffsets(tmp_path)).write(5, b"theirs")
    found = SnapshotStore(tmp_path, "c1", "n1", SyncedOffsets(tmp_path)).load()
    assert found.snapshot is None and "node 'n2'" in found.damaged[0][1]


def test_synced_offsets_cover_every_acknowledged_append(tmp_path: Path) -> None:
    seen: list[dict[str, int]] = []
    storage = open_storage(tmp_path)
    storage.on_synced = lambda ticket: seen.append(storage.synced_offsets())
    storage.append((SavePromise(Ballot(3, 1)),))
    storage.close()
    (segment,) = (tmp_path / "wal").iterdir()
    assert seen == [{f"wal/{segment.name}": segment.stat().st_size}]
    assert SyncedOffsets.read(tmp_path) == seen[0]


CHILD = textwrap.dedent(
    """
    import sys
    from paxiom.impl.ballot import Ballot
    from paxiom.impl.messages import Snapshot
    from paxiom.impl.storage import SaveChosen, SavePromise, SaveSnapshot
    from paxiom.impl.values import Command
    from paxiom.node.storage import NodeStorage
    from paxiom.node.storage import StorageConfig
    from paxiom.node.wal import WalConfig
    if len(sys.argv) > 3:
        from paxiom.node.storage_mutants import install
        install(sys.argv[3])
    config = StorageConfig(wal=WalConfig(segment_bytes=int(sys.argv[2])))
    storage = NodeStorage(sys.argv[1], cluster_id="c1", node_id="n1", config=config)
    start = max(1, storage.load().promise.round + 1)
    for i in range(start, start + 100000):
        writes = (SavePromise(Ballot(i, 0)), SaveChosen(i, (Command("c", i, b"op"),)))
        if i % 40 == 0:
            writes += (SaveSnapshot(Snapshot(i, b"state", b"c", b"d")),)
        storage.append(writes, on_synced=lambda ticket, i=i: print(i, flush=True))
    """
)


@pytest.mark.parametrize("seed", [1])
def test_power_loss_after_kill_keeps_every_acknowledged_write(tmp_path: Path, seed: int) -> None:
    kill_cut_restart(tmp_path, seed)


def kill_cut_restart(tmp_path: Path, seed: int, mutant: str | None = None) -> None:
    """The fault campaign's model in miniature, three times over: SIGKILL mid-stream, every file cut back
    to its synced length plus random junk, restart; nothing acknowledged may be missing."""
    rng = random.Random(seed)
    acked = snapshot = 0
    for _ in range(3):
        command = [sys.executable, "-c", CHILD, str(tmp_path), "2000", *([mutant] if mutant else [])]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        target = acked + rng.randint(20, 120)
        try:
            for line in child.stdout:
                acked = int(line)
                snapshot = acked if acked % 40 == 0 else snapshot
                if acked >= target:
                    break
        finally:
            child.kill()
            child.wait(10)
        assert acked >= target
        power_loss(tmp_path, rng)
        with open_storage(tmp_path, 2000) as storage:
            assert storage.report.clean, storage.report.problems
            state = storage.load()
        assert state.promise.round >= acked
        covered = 0 if state.snapshot is None else state.snapshot.last_slot
        assert covered >= snapshot, "an acknowledged snapshot is missing"
        assert all(slot in state.chosen for slot in range(covered + 1, acked + 1))


def test_an_empty_dir_is_initialised_and_reopens(tmp_path: Path) -> None:
    with DataDir(tmp_path / "d", "c1", "n1"):
        pass
    assert (tmp_path / "d" / "identity.json").exists()
    with DataDir(tmp_path / "d", "c1", "n1") as again:
        assert again.node_id == "n1"


@pytest.mark.parametrize(("cluster", "node"), [("c2", "n1"), ("c1", "n2")])
def test_another_clusters_or_nodes_dir_is_refused_naming_both(tmp_path: Path, cluster: str, node: str) -> None:
    DataDir(tmp_path, "c1", "n1").close()
    with pytest.raises(
        PaxiomError, match=rf"cluster 'c1' node 'n1', refusing to start it as cluster '{cluster}' node '{node}'"
    ):
        DataDir(tmp_path, cluster, node)


def test_a_dir_with_files_but_no_identity_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wal").mkdir()
    with pytest.raises(PaxiomError, match="not empty"):
        DataDir(tmp_path, "c1", "n1")


def test_a_second_process_is_refused(tmp_path: Path) -> None:
    held = DataDir(tmp_path, "c1", "n1")
    probe = "import sys; from paxiom.node.datadir import DataDir; DataDir(sys.argv[1], 'c1', 'n1')"
    try:
        other = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=30)
        assert other.returncode != 0 and "in use by another process" in other.stderr
        with pytest.raises(PaxiomError, match="in use"):
            DataDir(tmp_path, "c1", "n1")
    finally:
        held.close()
    DataDir(tmp_path, "c1", "n1").close()


def test_storage_on_a_locked_dir_is_refused(tmp_path: Path) -> None:
    with open_storage(tmp_path), pytest.raises(PaxiomError, match="in use"):
        open_storage(tmp_path)


def test_completions_arrive_off_the_calling_thread(tmp_path: Path) -> None:
    threads: list[str] = []
    done = threading.Event()

    def where(ticket: int) -> None:
        threads.append(threading.current_thread().name)
        done.set()

    storage = open_storage(tmp_path, on_synced=where)
    storage.append((SavePromise(Ballot(1, 0)),))
    assert done.wait(5)
    storage.close()
    assert threads == ["paxiom-group-commit"]


def test_an_oversized_write_is_refused_before_it_changes_anything(tmp_path: Path) -> None:
    config = StorageConfig(wal=WalConfig(max_record=200))
    with NodeStorage(tmp_path, cluster_id="c1", node_id="n1", config=config, sync=no_sync) as storage:
        big = SaveChosen(1, (Command("c", 1, bytes(300)),))
        with pytest.raises(PaxiomError, match="maximum record of 200"):
            storage.append((SavePromise(Ballot(1, 0)), big))
        storage.append((SavePromise(Ballot(2, 0)),))
    with NodeStorage(tmp_path, cluster_id="c1", node_id="n1", config=config, sync=no_sync) as storage:
        assert storage.load() == expected([(SavePromise(Ballot(2, 0)),)])


def test_a_restart_republishes_the_snapshot_so_a_power_loss_keeps_it(tmp_path: Path) -> None:
    appends = [*history(range(1, 40)), (snapshot_at(35),)]
    run(tmp_path, appends, segment_bytes=600)
    run(tmp_path, [(SavePromise(Ballot(2, 0)),)], segment_bytes=600)
    assert any(name.startswith("snapshots/") for name in SyncedOffsets.read(tmp_path))
    power_loss(tmp_path, random.Random(7))
    with open_storage(tmp_path, 600) as storage:
        assert storage.load() == expected([*appends, (SavePromise(Ballot(2, 0)),)])


def test_corruption_stays_corruption_across_restarts(tmp_path: Path) -> None:
    """Refusing to start must not erase the evidence: the second start must not call it a torn tail."""
    run(tmp_path, history(range(1, 5)))
    segment = next((tmp_path / "wal").iterdir())
    data = bytearray(segment.read_bytes())
    data[-2] ^= 0x08  # the last record: only synced.json shows it was synced
    segment.write_bytes(bytes(data))
    for _ in range(2):
        with open_storage(tmp_path) as storage, pytest.raises(CorruptStorage, match="record CRC mismatch"):
            storage.load()
    assert segment.read_bytes() == bytes(data)


def test_bytes_after_a_snapshots_payload_are_ignored(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, "c1", "n1", SyncedOffsets(tmp_path))
    path = store.write(5, b"state")
    path.write_bytes(path.read_bytes() + b"junk")
    found = store.load()
    assert found.snapshot is not None and found.snapshot.payload == b"state"
    path.write_bytes(path.read_bytes()[:-6])
    assert store.load().snapshot is None


def test_damage_below_the_snapshot_does_not_stop_the_node(tmp_path: Path) -> None:
    appends = [*history(range(1, 10)), (snapshot_at(5),), *history(range(10, 14))]
    run(tmp_path, appends)
    (segment,) = (tmp_path / "wal").iterdir()
    data = bytearray(segment.read_bytes())
    data[200] ^= 0x20  # an early record, long since covered by the snapshot
    segment.write_bytes(bytes(data))
    with open_storage(tmp_path) as storage:
        assert storage.load() == expected(appends)
        assert storage.report.recovery.covered and storage.report.recovery.clean


appends_strategy = st.lists(
    st.one_of(
        st.builds(lambda r: (SavePromise(Ballot(r, 0)),), st.integers(1, 50)),
        st.builds(lambda s: (SaveVote(Vote(s, Ballot(1, 0), value(s))), SaveChosen(s, value(s))), st.integers(1, 30)),
        st.builds(lambda s: (snapshot_at(s),), st.integers(1, 30)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(appends=appends_strategy, pick=st.integers(0, 1 << 30), size=st.sampled_from([1, 1, 16, 300]))
def test_damage_anywhere_after_everything_was_acknowledged_is_refused_or_harmless(
    tmp_path_factory: pytest.TempPathFactory, appends: list[tuple[Write, ...]], pick: int, size: int
) -> None:
    """Every append was acknowledged, so nothing may be lost: a load either refuses or is exact."""
    root = tmp_path_factory.mktemp("node")
    run(root, appends, segment_bytes=400)
    files = sorted([*(root / "wal").iterdir(), *(root / "snapshots").iterdir()])
    victim = files[pick % len(files)]
    data = bytearray(victim.read_bytes())
    at = pick % len(data)
    data[at : at + size] = bytes(len(data[at : at + size])) if size > 1 else bytes([data[at] ^ 0x5A])
    victim.write_bytes(bytes(data))
    with open_storage(root, 400) as storage:
        try:
            state = storage.load()
        except CorruptStorage:
            return
    assert state == expected(appends)
