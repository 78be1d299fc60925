"""The network between nodes: every node-to-node message passes here, link by directed link.

Each directed link carries the faults currently applied to it (by fault id, so overlapping faults heal
independently): blocked, a loss probability, a duplication probability and a delay range. Undelayed
messages on a link arrive in order; a delayed link draws a delay per message, so it also reorders.
Client traffic does not pass here: as in Maelstrom, clients are never partitioned from their node.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from paxiom.maelstrom.protocol import Message

Link = tuple[str, str]  # (src, dest)


@dataclass(frozen=True, slots=True)
class LinkFault:
    blocked: bool = False
    loss: float = 0.0
    duplicate: float = 0.0
    delay: tuple[float, float] = (0.0, 0.0)  # seconds, drawn uniformly per message


class Network:
    def __init__(self, nodes: Iterable[str], rng: random.Random, deliver: Callable[[Message], None]) -> None:
        self.nodes = list(nodes)
        self.rng = rng
        self.deliver = deliver
        self.faults: dict[Link, dict[int, LinkFault]] = {(a, b): {} for a in self.nodes for b in self.nodes if a != b}
        self.stats: Counter[str] = Counter()

    def apply(self, fault_id: int, fault: LinkFault, links: Iterable[Link]) -> None:
        for link in links:
            self.faults[link][fault_id] = fault

    def heal(self, fault_id: int) -> None:
        for active in self.faults.values():
            active.pop(fault_id, None)

    def send(self, msg: Message) -> None:
        active = self.faults.get((msg.origin, msg.dest))
        if active is None:
            self.stats["unroutable"] += 1
            return
        self.stats["sent"] += 1
        faults = active.values()
        if any(f.blocked for f in faults):
            self.stats["partitioned"] += 1
            return
        if self.rng.random() < max((f.loss for f in faults), default=0.0):
            self.stats["lost"] += 1
            return
        copies = 2 if self.rng.random() < max((f.duplicate for f in faults), default=0.0) else 1
        self.stats["duplicated"] += copies - 1
        high = max((f.delay[1] for f in faults), default=0.0)
        low = max((f.delay[0] for f in faults), default=0.0)
        for _ in range(copies):
            if high > 0:
                self.stats["delayed"] += 1
                asyncio.get_running_loop().call_later(self.rng.uniform(low, high), self.deliver, msg)
            else:
                self.deliver(msg)
