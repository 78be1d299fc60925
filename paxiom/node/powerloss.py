"""Simulate a power loss on a stopped node's data directory, as the fault campaign models it.

Run only after the node was killed (SIGKILL): every log segment and snapshot file is cut back to the length
`synced.json` lists for it — what the node had synced, which is all it ever acknowledged — and a torn
fragment of random bytes may be left at its end. A file not listed (created or renamed after the last
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
            junk = rng.randbytes(rng.randint(0, max_junk)) if rng.random() < 0.5 else b""
            with path.open("r+b") as file:
                file.truncate(keep)
                file.seek(keep)
                file.write(junk)
            cuts.append((name, before, keep + len(junk)))
    return cuts
