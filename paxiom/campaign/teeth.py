"""The campaign's teeth: a node carrying a known bug, under the one fault that exposes it, must fail the run.

Each storage bug of `paxiom.node.storage_mutants` gets a fixed schedule (replayed, not planned, so the
check is deterministic in what it does): acknowledging before the sync meets a power loss of every node
(what it acknowledged was never on disk); skipping the CRC check and truncating at the first bad record
meet a damaged synced log record (the node must refuse to start; the bug starts it). Core mutants of
`paxiom.impl.mutants` run under a seeded mix of kills, power losses and partitions.
"""

from __future__ import annotations

from typing import Any

from paxiom.node.storage_mutants import MUTANTS as STORAGE_MUTANTS

CORE_FAULTS = ("kill", "power", "partition", "pause")


def _fault(fault_id: int, fault: str, at: float, hold: float, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"at": at, "op": "start", "id": fault_id, "fault": fault, "params": params},
        {"at": at + hold, "op": "heal", "id": fault_id, "fault": fault, "params": params},
    ]


def schedule(mutant: str, nodes: list[str]) -> list[dict[str, Any]] | None:
    """The fixed schedule for a storage bug; None for a core mutant (it runs a planned mix)."""
    if mutant == "ack-before-sync":
        cuts = [_fault(i, "power", 1.5 + 1.2 * i, 0.3, {"nodes": list(nodes), "seed": i, "text": "every node"})
                for i in range(5)]  # fmt: skip
        return [step for cut in cuts for step in cut]
    if mutant in STORAGE_MUTANTS:
        how = "bitflip" if mutant == "no-crc" else "zero"
        return [
            *_fault(0, "corrupt", 2.5, 0.5, {"node": nodes[-1], "target": "wal", "how": how, "seed": 3}),
            *_fault(1, "corrupt", 5.0, 0.5, {"node": nodes[0], "target": "wal", "how": how, "seed": 4}),
        ]
    return None
