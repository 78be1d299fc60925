"""A node's data directory: who it belongs to, one process at a time, and atomic file replacement.

The directory records the cluster id and node id it was initialised for, so a node started with the wrong
`--data-dir` refuses instead of voting with another node's promises. An exclusive `flock` on a lock file
keeps a second process off the same directory (the lock dies with the process, so a crash never leaves a
stale lock behind).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from paxiom.errors import PaxiomError

IDENTITY = "identity.json"
LOCK = "LOCK"
IDENTITY_FORMAT = 1
MAX_ID_BYTES = 48
"""Segment and snapshot headers hold the ids in fixed fields of this size."""


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (created, renamed, removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """`os.write` may write less than asked; loop until everything is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never a mix.

    Durable: temp file, fsync, rename, fsync of the directory. Not durable (status files only read after a
    kill, never after a power loss): temp file and rename.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


def check_id(kind: str, value: str) -> None:
    if not value or len(value.encode()) > MAX_ID_BYTES or "\0" in value:
        raise PaxiomError(f"{kind} id must be 1..{MAX_ID_BYTES} UTF-8 bytes without NUL, got {value!r}")


class DataDir:
    """An opened, locked data directory of one node of one cluster. Use as a context manager or `close()`."""

    def __init__(self, path: Path | str, cluster_id: str, node_id: str) -> None:
        check_id("cluster", cluster_id)
        check_id("node", node_id)
        self.path = Path(path)
        self.cluster_id = cluster_id
        self.node_id = node_id
        if not self.path.is_dir():
            self.path.mkdir(parents=True)
            fsync_dir(self.path.parent)  # the directory's own entry, or a power cut could take all of it
        self._lock_fd = self._lock()
        try:
            self._check_identity()
        except BaseException:
            self.close()
            raise

    def _lock(self) -> int:
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PaxiomError("data directory is in use by another process", where=str(self.path)) from None
        return fd

    def _check_identity(self) -> None:
        file = self.path / IDENTITY
        if not file.exists():
            if any(p.name not in (LOCK, IDENTITY + ".tmp") for p in self.path.iterdir()):
                raise PaxiomError(f"not empty and has no {IDENTITY}; refusing to adopt it", where=str(self.path))
            record = {"format": IDENTITY_FORMAT, "cluster_id": self.cluster_id, "node_id": self.node_id}
            atomic_write(file, json.dumps(record, sort_keys=True).encode() + b"\n")
            return
        try:
            record = json.loads(file.read_bytes())
            found = (record["cluster_id"], record["node_id"])
            fmt = record["format"]
        except (ValueError, KeyError, TypeError) as error:
            raise PaxiomError(f"unreadable {IDENTITY}: {error}", where=str(self.path)) from None
        if fmt != IDENTITY_FORMAT:
            raise PaxiomError(f"{IDENTITY} has format {fmt!r}, this build reads {IDENTITY_FORMAT}", where=str(file))
        if found != (self.cluster_id, self.node_id):
            raise PaxiomError(
                f"belongs to cluster {found[0]!r} node {found[1]!r}, "
                f"refusing to start it as cluster {self.cluster_id!r} node {self.node_id!r}",
                where=str(self.path),
            )

    def sub(self, name: str) -> Path:
        """A subdirectory (created durably on first use)."""
        path = self.path / name
        if not path.is_dir():
            path.mkdir()
            fsync_dir(self.path)
        return path

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> DataDir:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
