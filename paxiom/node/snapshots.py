"""Snapshot files: one opaque payload covering the log up to an LSN, replaced atomically, CRC-checked on load.

File `<covered LSN, 20 digits>.snap`: a 128-byte little-endian header — magic `PXSN`, format version (u16),
header size (u16), covered LSN (u64), payload length (u64), cluster id and node id (48 bytes each,
NUL-padded), 4 reserved zero bytes, CRC32C (u32) of the 124 header bytes before it and the payload — then
the payload. Written as temp file, fsync, rename, fsync of the directory, so a crash leaves the previous
snapshot or the new one, never a mix; only then are older snapshots removed (and, by the caller, the log
segments the new one covers). A damaged snapshot is skipped on load and reported: the next older one, with
the log after it, still rebuilds the state if compaction had not yet run; if it had, the log shows a gap.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import crc32c

from paxiom.node.datadir import MAX_ID_BYTES, atomic_write, fsync_dir
from paxiom.node.synced import SyncedOffsets

MAGIC: Final = b"PXSN"
VERSION: Final = 1
SUFFIX: Final = ".snap"
_HEADER = struct.Struct(f"<4sHHQQ{MAX_ID_BYTES}s{MAX_ID_BYTES}s4x")
HEADER_SIZE: Final = _HEADER.size + 4


@dataclass(frozen=True, slots=True)
class LoadedSnapshot:
    covered_lsn: int
    payload: bytes
    path: Path


@dataclass(frozen=True, slots=True)
class SnapshotLoad:
    snapshot: LoadedSnapshot | None
    damaged: tuple[tuple[str, str], ...]
    """Newer snapshot files that failed their checks: (file name, why), newest first."""


def _covered(path: Path) -> int | None:
    stem = path.name.removesuffix(SUFFIX)
    return int(stem) if path.name.endswith(SUFFIX) and len(stem) == 20 and stem.isdigit() else None


class SnapshotStore:
    def __init__(
        self, directory: Path, cluster_id: str, node_id: str, synced: SyncedOffsets, max_bytes: int = 1 << 30
    ) -> None:
        self.directory = directory
        self._ids = (cluster_id.encode(), node_id.encode())
        self.synced = synced
        self.max_bytes = max_bytes
        for tmp in directory.glob("*.tmp"):  # a crash between the temp write and the rename: the old one stands
            tmp.unlink()
        fsync_dir(directory)  # the removals, and a rename a killed predecessor had not synced yet
        self.synced.update({p: p.stat().st_size for p in self.files()})  # their content was synced before

    def files(self) -> list[Path]:
        """Snapshot files, newest first."""
        named = [(lsn, p) for p in self.directory.iterdir() if (lsn := _covered(p)) is not None]
        return [p for _, p in sorted(named, reverse=True)]

    def load(self) -> SnapshotLoad:
        damaged: list[tuple[str, str]] = []
        for path in self.files():
            found = self._read(path)
            if isinstance(found, LoadedSnapshot):
                return SnapshotLoad(found, tuple(damaged))
            damaged.append((path.name, found))
        return SnapshotLoad(None, tuple(damaged))

    def _read(self, path: Path) -> LoadedSnapshot | str:
        size = path.stat().st_size
        if size < HEADER_SIZE or size - HEADER_SIZE > self.max_bytes:
            return f"{size} bytes: not a snapshot of at most {self.max_bytes} bytes"
        with path.open("rb") as file:
            head = file.read(HEADER_SIZE)
            magic, version, header_size, covered, length, cluster, node = _HEADER.unpack_from(head)
            if (magic, version, header_size) != (MAGIC, VERSION, HEADER_SIZE):
                return f"unknown snapshot format (magic {magic!r}, version {version}, header size {header_size})"
            if length > size - HEADER_SIZE:  # bytes after the payload are not ours to judge: the CRC covers ours
                return f"header says {length} payload bytes, the file holds {size - HEADER_SIZE}"
            payload = file.read(length)
        crc = crc32c.crc32c(payload, crc32c.crc32c(head[: HEADER_SIZE - 4]))
        if crc != int.from_bytes(head[HEADER_SIZE - 4 :], "little"):
            return "snapshot CRC mismatch"
        ids = (cluster.rstrip(b"\0"), node.rstrip(b"\0"))
        if ids != self._ids:
            return f"snapshot of cluster {ids[0].decode(errors='replace')!r} node {ids[1].decode(errors='replace')!r}"
        if covered != _covered(path):
            return f"header says it covers LSN {covered}"
        return LoadedSnapshot(covered, payload, path)

    def write(self, covered_lsn: int, payload: bytes) -> Path:
        """Durably replace every snapshot with one covering the log up to `covered_lsn`."""
        if len(payload) > self.max_bytes:
            raise ValueError(f"snapshot of {len(payload)} bytes above the maximum {self.max_bytes}")
        head = _HEADER.pack(MAGIC, VERSION, HEADER_SIZE, covered_lsn, len(payload), *self._ids)
        crc = crc32c.crc32c(payload, crc32c.crc32c(head))
        path = self.directory / f"{covered_lsn:020d}{SUFFIX}"
        atomic_write(path, head + crc.to_bytes(4, "little") + payload)
        self.synced.update({path: HEADER_SIZE + len(payload)})
        older = [p for p in self.files() if p != path]
        for old in older:
            os.unlink(old)
        if older:
            fsync_dir(self.directory)
            self.synced.update({}, drop=tuple(older))
        return path
