"""Simulate a power loss on a stopped node's data directory, as the fault campaign models it.

Run only after the node was killed (SIGKILL): every log segment and snapshot file is cut back to the length
`synced.json` lists for it — what the node had synced, which is all it ever acknowledged — and a file that
lost bytes that way (writes were in flight) may be left with a torn fragment of random bytes at its end. A
file with nothing unsynced is left as it is: a power cut does not write to a file nobody was writing (an
older, rotated segment; a finished snapshot). A file not listed (created or renamed after the last
publication, or a temp file) is cut to nothing before the fragment: harsher than a real power cut, which
keeps a synced rename. The identity file, the lock and `synced.json` itself are left alone.
"""

from __future__ import annotations

import random
from pathlib import Path

from paxiom.node.synced import SyncedOffsets

STORAGE_DIRS = ("wal", "snapshots")


def power_loss(root: Path, rng: random.Random, max_junk: int = 64) -> list[tuple[str, int, int]]:
    """Cut every storage file of `root`; returns (file, length before, length after) for each."""
    claims = SyncedOffsets.read(root)
    cuts = []
    for sub in STORAGE_DIRS:
        if not (root / sub).is_dir():
            continue
        for path in sorted((root / sub).iterdir()):
            name = f"{sub}/{path.name}"
            before = path.stat().st_size
            keep = min(before, claims.get(name, 0))
            torn = before > keep and rng.random() < 0.5  # only a file with writes in flight can be torn
            junk = rng.randbytes(rng.randint(1, max_junk)) if torn else b""
            with path.open("r+b") as file:
                file.truncate(keep)
                file.seek(keep)
                file.write(junk)
            cuts.append((name, before, keep + len(junk)))
    return cuts
