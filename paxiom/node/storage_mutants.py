"""Storage bugs for the fault campaign's teeth check: each is a subclass overriding one small method.

- `ack-before-sync`: a sync group's completions fire before its fdatasync (which runs only when the next
  group is written), so `synced.json` lags what was acknowledged.
- `no-crc`: recovery accepts a record whose CRC does not match.
- `truncate-mid-log`: recovery treats every damaged record as a torn tail and cuts the log there.

`install(name)` swaps the subclass in for the whole process (a campaign starts a mutant node with
`python -c "from paxiom.node.storage_mutants import install; install('no-crc'); from paxiom.cli.main
import main; main()" node ...`); `installed(name)` does the same for a `with` block. A real node never
imports this module.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

from paxiom.node import recovery, storage
from paxiom.node.groupcommit import GroupCommitter
from paxiom.node.walformat import RECORD_HEADER, Record

_FIELDS = struct.Struct("<IIQI")


class AckBeforeSync(GroupCommitter):
    def write_and_sync(self, records: list[bytes]) -> float:
        latency = self.wal.sync() if self.wal.writable else 0.0  # the previous group's sync, one group late
        self.wal.write_group(records)
        return latency


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
