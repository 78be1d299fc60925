"""`synced.json`: claims overwrite a slot in place (no file replaced per sync), and a reader takes the newest
slot whose CRC holds, so a torn or damaged publication falls back to an older claim (it understates)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paxiom.node.synced import PAGE, SYNCED, SyncedOffsets


def publish(root: Path, lengths: list[int]) -> SyncedOffsets:
    """One publication per length, each claiming `wal/a.seg` at that length."""
    synced = SyncedOffsets(root)
    for length in lengths:
        synced.update({root / "wal" / "a.seg": length})
    return synced


def test_a_run_replaces_the_file_once_then_overwrites_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: list[object] = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda *args: replaced.append(args) or real(*args))
    publish(tmp_path, list(range(1, 51)))
    assert len(replaced) == 1, "a temp file and a rename on every sync (~1 ms each on ext4)"
    assert SyncedOffsets.read(tmp_path) == {"wal/a.seg": 50}
    assert (tmp_path / SYNCED).stat().st_size == 2 * PAGE
    assert not (tmp_path / f"{SYNCED}.tmp").exists()


@pytest.mark.parametrize("damage", ["flip", "zeros", "junk"])
def test_a_damaged_newest_slot_falls_back_to_the_older_claim(tmp_path: Path, damage: str) -> None:
    publish(tmp_path, [10, 20, 30])  # 10 in both slots (the run's first file), 20 in slot 0, 30 in slot 1
    data = bytearray((tmp_path / SYNCED).read_bytes())
    newest = slice(PAGE, 2 * PAGE)
    if damage == "flip":
        data[PAGE + 20] ^= 0x01
    elif damage == "zeros":
        data[newest] = bytes(PAGE)
    else:
        data[PAGE + 100 : PAGE + 164] = os.urandom(64)
    (tmp_path / SYNCED).write_bytes(bytes(data))
    assert SyncedOffsets.read(tmp_path) == {"wal/a.seg": 20}
    data[5] ^= 0x01  # both slots damaged: no claim at all
    (tmp_path / SYNCED).write_bytes(bytes(data))
    assert SyncedOffsets.read(tmp_path) == {}


def test_a_record_that_outgrows_its_slot_gets_a_larger_file(tmp_path: Path) -> None:
    synced = SyncedOffsets(tmp_path)
    many = {tmp_path / "wal" / f"{i:020d}.seg": i for i in range(200)}  # ~7 KB of JSON
    synced.update({tmp_path / "wal" / "a.seg": 1})
    synced.update(many)
    synced.update({}, drop=(tmp_path / "wal" / "a.seg",))
    assert (tmp_path / SYNCED).stat().st_size == 2 * 2 * PAGE
    assert SyncedOffsets.read(tmp_path) == {f"wal/{p.name}": n for p, n in many.items()}


@pytest.mark.parametrize(
    "content", [b"", b"\n", b"{}", b'{"format": 1, "synced_lsn": 3, "files": {"wal/a.seg": 9}}\n', bytes(2 * PAGE)]
)
def test_anything_else_reads_as_no_claim(tmp_path: Path, content: bytes) -> None:
    (tmp_path / SYNCED).write_bytes(content + os.urandom(7))
    assert SyncedOffsets.read(tmp_path) == {}


def test_a_new_run_keeps_the_previous_claims_until_it_publishes(tmp_path: Path) -> None:
    publish(tmp_path, [10, 20, 30])
    again = SyncedOffsets(tmp_path)
    assert again.previous == again.snapshot() == {"wal/a.seg": 30}
    again.update({tmp_path / "wal" / "b.seg": 5})
    assert SyncedOffsets.read(tmp_path) == {"wal/a.seg": 30, "wal/b.seg": 5}
