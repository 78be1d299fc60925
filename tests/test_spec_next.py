"""A model's `next` is its actions: every enabled step that changes the state, each once, and nothing else.

`next` skips, by cheap guards, the calls that would fail or change nothing (a prepare sent again, a vote
repeated) so the explorer does not build and discard them. These tests hold it to the plain path: every
action applied with every argument through `apply`, keeping the successors that differ from the state.
"""

from __future__ import annotations

import inspect
from itertools import product
from typing import Any

import pytest

from paxiom.spec.model import Action
from paxiom.spec.quorums import QuorumSystem
from paxiom.variants import build_model

MODELS = [
    ("paxos", QuorumSystem.majority(3), {"max_ballot": 1}),
    ("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1}),
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]}),
    ("multipaxos", QuorumSystem.majority(2), {"max_ballot": 1, "slots": 2}),
    ("multipaxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1, "slots": 2}),
    ("reconfig", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 2}),
    ("reconfig", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 2, "alpha": 2, "bug": "mixed"}),
    ("reconfig", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 2, "bug": "early"}),
    ("cheap", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 2}),
    ("cheap", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 2, "bug": "aux-commands"}),
]


def every_action(m: Any) -> list[Action]:
    """Each action of the model with each combination of arguments from its constants' domains."""
    cfg = m.cfg
    commands = getattr(cfg, "commands", cfg.values)  # reconfig's values and its configuration commands
    domains = {"a": cfg.quorums.nodes, "b": cfg.ballots, "slot": range(getattr(cfg, "slots", 1)), "v": commands}
    actions = []
    for name, f in m.actions.items():
        params = list(inspect.signature(f).parameters)[2:]  # after (cfg, s)
        for args in product(*(domains[p] for p in params)):
            actions.append(Action(name, tuple(zip(params, args, strict=True))))
    return actions


def plain_successors(m: Any, s: Any, actions: list[Action]) -> set[tuple[Action, Any]]:
    return {(a, t) for a in actions if (t := m.apply(s, a)) is not None and t != s}


def reachable(m: Any, limit: int) -> list[Any]:
    seen, frontier = set(m.init()), list(m.init())
    while frontier and len(seen) < limit:
        frontier = [t for s in frontier for _, t in m.next(s) if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
    return sorted(seen, key=repr)


def mismatches(m: Any, states: list[Any]) -> list[Any]:
    """States where `next` differs from the plain path (a step missing, extra, repeated or stuttering)."""
    actions = every_action(m)
    bad = []
    for s in states:
        steps = list(m.next(s))
        if len(set(steps)) != len(steps) or set(steps) != plain_successors(m, s, actions):
            bad.append(s)
    return bad


@pytest.mark.parametrize(("variant", "qs", "constants"), MODELS)
def test_next_is_the_plain_path(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = build_model(variant, qs, values=["v1", "v2"], **constants)
    states = reachable(m, 1500)
    assert len(states) >= 1000 or len(states) == len(reachable(m, 10**6))
    assert mismatches(m, states) == []


def test_a_next_that_drops_or_stutters_is_caught() -> None:
    m = build_model("multipaxos", QuorumSystem.majority(2), values=["v1", "v2"], max_ballot=1, slots=2)

    class Dropping(type(m)):  # type: ignore[misc]
        def next(self, s: Any) -> Any:
            return (step for step in super().next(s) if step[0].name != "Phase1b")

    class Stuttering(type(m)):  # type: ignore[misc]
        def next(self, s: Any) -> Any:
            yield from super().next(s)
            yield Action("Phase1a", (("b", 0),)), s

    states = reachable(m, 500)
    assert mismatches(Dropping(m.cfg), states) and mismatches(Stuttering(m.cfg), states[1:])
