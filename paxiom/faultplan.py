"""The fault-schedule vocabulary both fault harnesses share (`paxiom.maelstrom.nemesis` over its simulated
network, `paxiom.campaign.faults` over real proxies): partition shapes, the list of every directed link,
the window faults may fall in, and how a schedule step reads. Each harness keeps its own registry of fault
kinds (what a fault does differs); what a partition *is* and when faults happen is defined once, here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]


def cut(a: Sequence[str], b: Sequence[str], *, both: bool = True) -> list[list[str]]:
    """The directed links from every node of `a` to every node of `b` (and back when `both`)."""
    return [[x, y] for x in a for y in b] + ([[y, x] for x in a for y in b] if both else [])


def all_links(nodes: list[str]) -> list[list[str]]:
    return [[a, b] for a in nodes for b in nodes if a != b]


def plan_partition(rng: random.Random, nodes: list[str]) -> Params:
    """A seeded partition: random halves, one node isolated, one-way, a bridge (3+ nodes: one node sees both
    sides) or a majority ring (5+ nodes); `links` are the directed links it blocks."""
    shapes = (
        ["halves", "isolate", "one-way"]
        + (["bridge"] if len(nodes) >= 3 else [])
        + (["ring"] if len(nodes) >= 5 else [])
    )
    shape = rng.choice(shapes)
    order = rng.sample(nodes, len(nodes))
    half = len(nodes) // 2
    if shape == "isolate":
        links, text = cut(order[:1], order[1:]), f"{order[0]} isolated"
    elif shape == "halves":
        links, text = cut(order[:half], order[half:]), f"{' '.join(order[:half])} | {' '.join(order[half:])}"
    elif shape == "one-way":
        links = cut(order[:half], order[half:], both=False)
        text = f"{' '.join(order[:half])} -> {' '.join(order[half:])} dropped (the other way works)"
    elif shape == "bridge":
        rest = order[1:]
        side = len(rest) // 2
        links = cut(rest[:side], rest[side:])
        text = f"{' '.join(rest[:side])} | {' '.join(rest[side:])}, bridged by {order[0]}"
    else:  # ring: everyone sees a majority, no two the same one
        reach = (len(nodes) // 2 + 1) // 2
        n = len(order)
        far = [(i, j) for i in range(n) for j in range(n) if i != j and min((i - j) % n, (j - i) % n) > reach]
        links = [[order[i], order[j]] for i, j in far]
        text = f"majority ring {' '.join(order)}"
    return {"shape": shape, "blocked": True, "links": links, "text": text}


@dataclass(frozen=True, slots=True)
class Window:
    """When faults may happen: after a healthy lead-in, and all healed before the final quiet period."""

    first: float
    last: float

    @staticmethod
    def of(time_limit: float) -> Window:
        return Window(min(1.0, 0.2 * time_limit), time_limit - max(1.0, 0.25 * time_limit))


def describe(step: Params) -> str:
    """One schedule step as a log line: `start partition #2: n1 isolated`."""
    params = step["params"]
    what = params.get("text") or params.get("node", "")
    return f"{step['op']} {step['fault']} #{step['id']}: {what}"
