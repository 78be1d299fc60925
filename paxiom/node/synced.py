"""`synced.json`: how many bytes of each storage file are known to be on stable storage.

Rewritten (temp file and rename, no fsync) after every sync that changed a file, before any completion of
that sync is fired. Two readers: the fault campaign, which simulates a power loss by cutting every file
back to its listed length (an unlisted file to nothing), and recovery, which treats damage below a listed
length as corruption of acknowledged data rather than a torn write. A claim is only ever made after the
bytes it covers were synced, so a stale file (lost in a real power cut) understates, never overstates.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path

from paxiom.node.datadir import atomic_write

SYNCED = "synced.json"
FORMAT = 1


class SyncedOffsets:
    """Per-file synced lengths, keyed by path relative to the data directory. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.previous = self.read(root)
        """What the previous run published, read before this run overwrites it: evidence for recovery."""
        self._lengths = dict(self.previous)  # kept until superseded: a run that refuses to start keeps the evidence
        self._synced_lsn = 0
        self._lock = threading.Lock()

    @staticmethod
    def read(root: Path) -> dict[str, int]:
        """The lengths last published under `root`; empty if the file is missing or unreadable."""
        try:
            record = json.loads((root / SYNCED).read_bytes())
            files = record["files"]
            if record["format"] != FORMAT or not isinstance(files, dict):
                return {}
            return {str(name): int(length) for name, length in files.items()}
        except (OSError, ValueError, KeyError, TypeError):
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
            record = {"format": FORMAT, "synced_lsn": self._synced_lsn, "files": dict(sorted(self._lengths.items()))}
            atomic_write(self.root / SYNCED, json.dumps(record).encode() + b"\n", durable=False)

    def snapshot(self) -> dict[str, int]:
        """The current synced lengths (the API twin of the status file)."""
        with self._lock:
            return dict(self._lengths)

    @property
    def synced_lsn(self) -> int:
        with self._lock:
            return self._synced_lsn
