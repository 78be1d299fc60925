"""Storage bugs for the fault campaign's teeth check: each is a subclass overriding one small method.

- `ack-before-sync`: every sync group completes as soon as it is written, and fdatasync runs at most once
  per `LAZY_SYNC_S` (the "fsync every second" setting of many stores), so `synced.json` lags what was
  acknowledged by up to that long: a power loss of a majority then loses acknowledged writes.
- `no-crc`: recovery accepts a record whose CRC does not match.
- `truncate-mid-log`: recovery treats every damaged record as a torn tail and cuts the log there.

`install(name)` swaps the subclass in for the whole process (a campaign starts a mutant node with
`python -c "from paxiom.node.storage_mutants import install; install('no-crc'); from paxiom.cli.main
import main; main()" node ...`); `installed(name)` does the same for a `with` block. A real node never
imports this module.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

from paxiom.node import recovery, storage
from paxiom.node.groupcommit import GroupCommitter
from paxiom.node.walformat import RECORD_HEADER, Record

_FIELDS = struct.Struct("<IIQI")


LAZY_SYNC_S = 1.0


class AckBeforeSync(GroupCommitter):
    _last_sync = 0.0

    def write_and_sync(self, records: list[bytes]) -> float:
        self.wal.write_group(records)
        now = time.monotonic()
        if now - self._last_sync < LAZY_SYNC_S:
            return 0.0
        self._last_sync = now
        return self.wal.sync()


class NoCrcScan(recovery.Scan):
    def parse(self, buf: bytes, offset: int) -> Record | str:
        found = super().parse(buf, offset)
        if found != "record CRC mismatch":
            return found
        _, length, lsn, group_pos = _FIELDS.unpack_from(buf, offset)
        end = offset + RECORD_HEADER + length
        return Record(lsn, group_pos, bytes(buf[offset + RECORD_HEADER : end]), offset, end)


class TruncateMidLogScan(recovery.Scan):
    def proven_synced(self, buf: bytes, offset: int, follower: Record | None, last: bool, claim: int) -> bool:
        return False


_SPOTS: dict[str, tuple[object, str, type]] = {
    "ack-before-sync": (storage, "GroupCommitter", AckBeforeSync),
    "no-crc": (recovery, "Scan", NoCrcScan),
    "truncate-mid-log": (recovery, "Scan", TruncateMidLogScan),
}
MUTANTS = tuple(_SPOTS)


def install(name: str) -> type:
    """Put mutant `name` in place for the rest of the process; returns what it replaced."""
    module, attribute, mutant = _SPOTS[name]
    original: type = getattr(module, attribute)
    setattr(module, attribute, mutant)
    return original


@contextmanager
def installed(name: str) -> Iterator[None]:
    module, attribute, _ = _SPOTS[name]
    original = install(name)
    try:
        yield
    finally:
        setattr(module, attribute, original)
