"""`synced.json`: how many bytes of each storage file are known to be on stable storage.

Published after every sync that changed a file, before any completion of that sync is fired. Two readers:
the fault campaign, which simulates a power loss by cutting every file back to its listed length (an
unlisted file to nothing), and recovery, which treats damage below a listed length as corruption of
acknowledged data rather than a torn write. A claim is only ever made after the bytes it covers were
synced, so a stale claim (lost in a real power cut) understates, never overstates.

The file is two slots of one page each, every slot a line `<crc32c, 8 hex digits> <JSON record>` padded
with spaces. A publication overwrites the older slot in place with one `pwrite` (no fsync): a replace by
temp file and rename cost ~1 ms a sync on ext4 (the rename starts writeback of the temp file), the
overwrite a few microseconds. A kill cannot tear one write of one page; a power cut may leave a slot torn,
which its CRC rejects, and the reader takes the newest valid slot — the other one, older, so it understates.
The first publication of a run, and one that outgrows its slot, replace the whole file (temp and rename).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import crc32c

from paxiom.node.datadir import atomic_write

SYNCED = "synced.json"
FORMAT = 2
PAGE = 4096


def _slot(record: bytes, size: int) -> bytes | None:
    """The slot holding `record`, or None if it does not fit `size` bytes."""
    line = b"%08x %s" % (crc32c.crc32c(record), record)
    return line.ljust(size - 1) + b"\n" if len(line) < size else None


def _parse(slot: bytes) -> dict[str, Any] | None:
    """The record of a slot, or None unless its CRC and format check."""
    crc, _, record = slot.rstrip().partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != crc32c.crc32c(record):
            return None
        parsed = json.loads(record)
        if parsed["format"] != FORMAT or not isinstance(parsed["files"], dict) or not isinstance(parsed["seq"], int):
            return None
        return dict(parsed)
    except (ValueError, KeyError, TypeError):
        return None


class SyncedOffsets:
    """Per-file synced lengths, keyed by path relative to the data directory. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.previous = self.read(root)
        """What the previous run published, read before this run overwrites it: evidence for recovery."""
        self._lengths = dict(self.previous)  # kept until superseded: a run that refuses to start keeps the evidence
        self._synced_lsn = 0
        self._seq = 0
        self._slot_size = 0
        """Of the file this run wrote; 0 until its first publication (which replaces whatever was there)."""
        self._lock = threading.Lock()

    @staticmethod
    def read(root: Path) -> dict[str, int]:
        """The lengths last published under `root` (its newest valid slot); empty if there is none."""
        try:
            data = (root / SYNCED).read_bytes()
        except OSError:
            return {}
        half = len(data) // 2
        records = [r for r in (_parse(data[:half]), _parse(data[half:])) if r is not None] if half else []
        if not records:
            return {}
        try:
            return {str(name): int(length) for name, length in max(records, key=lambda r: r["seq"])["files"].items()}
        except (ValueError, TypeError):
            return {}

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def update(
        self, lengths: Mapping[Path, int], *, drop: tuple[Path, ...] = (), synced_lsn: int | None = None
    ) -> None:
        """Record new synced lengths (and forget removed files), then publish."""
        with self._lock:
            for path, length in lengths.items():
                self._lengths[self.rel(path)] = length
            for path in drop:
                self._lengths.pop(self.rel(path), None)
            if synced_lsn is not None:
                self._synced_lsn = synced_lsn
            self._seq += 1
            files = dict(sorted(self._lengths.items()))
            record = {"format": FORMAT, "seq": self._seq, "synced_lsn": self._synced_lsn, "files": files}
            self._publish(json.dumps(record, separators=(",", ":")).encode())

    def _publish(self, record: bytes) -> None:
        slot = _slot(record, self._slot_size) if self._slot_size else None
        if slot is None:  # the run's first publication, or the record outgrew its slot: a new file, both slots
            self._slot_size = max(self._slot_size, PAGE)
            while (slot := _slot(record, self._slot_size)) is None:
                self._slot_size *= 2
            atomic_write(self.root / SYNCED, slot * 2, durable=False)
            return
        fd = os.open(self.root / SYNCED, os.O_WRONLY)
        try:
            view, offset = memoryview(slot), (self._seq % 2) * self._slot_size
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        finally:
            os.close(fd)

    def snapshot(self) -> dict[str, int]:
        """The current synced lengths (the API twin of the status file)."""
        with self._lock:
            return dict(self._lengths)

    @property
    def synced_lsn(self) -> int:
        with self._lock:
            return self._synced_lsn
