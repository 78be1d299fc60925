"""Disk corruption of a stopped node's data directory: a bit flip or a zeroed block in synced bytes.

Only bytes `synced.json` lists as synced are damaged (damage past them is a torn write, which recovery
rightly cuts), so every damage here is of data the node may have acknowledged. In a log segment the
damage falls inside a record whose LSN no snapshot covers: the node **must** refuse to start (a record
that was synced may be a vote or a promise others counted). In a snapshot it falls inside the header or
payload: the node may refuse, or fall back to an older snapshot and the log — what it then recovers is
judged by the refinement oracle, which objects if a synced vote or promise is missing.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from paxiom.node.snapshots import HEADER_SIZE as SNAP_HEADER
from paxiom.node.synced import SyncedOffsets
from paxiom.node.walformat import HEADER_SIZE, Record, parse_record

MAX_RECORD = 1 << 24


def _records(buf: bytes, end: int) -> list[Record]:
    found, offset = [], HEADER_SIZE
    while offset < end:
        record = parse_record(buf, offset, MAX_RECORD)
        if isinstance(record, str):
            break
        if record.end <= end:
            found.append(record)
        offset = record.end
    return found


def _damage(path: Path, start: int, stop: int, rng: random.Random, how: str) -> dict[str, Any]:
    """Flip one bit, or zero up to 64 bytes, somewhere in [start, stop) of `path`."""
    data = bytearray(path.read_bytes())
    at = rng.randrange(start, stop)
    if how == "bitflip":
        data[at] ^= 1 << rng.randrange(8)
        length = 1
    else:
        length = min(rng.randint(8, 64), stop - at)
        data[at : at + length] = bytes(length)
    path.write_bytes(bytes(data))
    return {"file": path.name, "offset": at, "length": length, "how": how}


def covered(root: Path, claims: dict[str, int]) -> int:
    """The highest LSN a listed snapshot covers (its file name)."""
    names = [name.split("/")[1] for name in claims if name.startswith("snapshots/") and name.endswith(".snap")]
    return max((int(name[:-5]) for name in names if name[:-5].isdigit()), default=0)


def corrupt(root: Path, rng: random.Random, target: str, how: str) -> dict[str, Any]:
    """Damage `target` ("wal" or "snapshot") of the data directory `root`; says what and whether the node
    must refuse to start ({"skipped": ...} when there is nothing synced of that kind to damage)."""
    claims = SyncedOffsets.read(root)
    if target == "snapshot":
        snaps = sorted(n for n, size in claims.items() if n.startswith("snapshots/") and size > SNAP_HEADER)
        if not snaps or not (root / snaps[-1]).exists():
            return {"skipped": "no synced snapshot"}
        name = snaps[-1]
        size = min(claims[name], (root / name).stat().st_size)
        return {**_damage(root / name, 0, size, rng, how), "file": name, "target": target, "must_refuse": False}
    floor = covered(root, claims)
    candidates: list[tuple[str, Record]] = []
    for name, size in sorted(claims.items()):
        if name.startswith("wal/") and (root / name).exists():
            buf = (root / name).read_bytes()[:size]
            candidates += [(name, r) for r in _records(buf, size) if r.lsn > floor]
    if not candidates:
        return {"skipped": f"no synced log record above the snapshot (LSN {floor})"}
    name, record = rng.choice(candidates)
    damage = _damage(root / name, record.offset, record.end, rng, how)
    return {**damage, "file": name, "target": target, "lsn": record.lsn, "must_refuse": True}
