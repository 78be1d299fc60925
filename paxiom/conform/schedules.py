"""Adversarial schedules as hypothesis strategies: what happens, in which order, to which node.

A test case is a quorum configuration and a list of `Step`s. Steps name messages, nodes and values by
index modulo what exists at that moment, so every generated list is a valid schedule and hypothesis can
shrink it freely (drop steps, lower indices) towards the shortest one that still breaks a rule.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from paxiom.conform.world import Setup, Step
from paxiom.spec.quorums import QuorumSystem

ROUNDS = st.integers(0, 3)
INDEX = st.integers(0, 7)
VALUE = st.integers(0, 2)

CONFIGS: tuple[QuorumSystem, ...] = (
    QuorumSystem.majority(3),
    QuorumSystem.flexible(4, 3, 2),
    QuorumSystem.flexible(4, 2, 3),
)
"""Classic majorities and both Flexible Paxos trade-offs (|Q1| + |Q2| > n)."""


def _step(kind: str, *args: st.SearchStrategy[int]) -> st.SearchStrategy[Step]:
    return st.tuples(*args).map(lambda xs: Step(kind, tuple(xs)))


def _masks(n: int) -> st.SearchStrategy[int]:
    """Sets of acceptors; single acceptors are drawn half the time, since a lone vote is what lets a later
    ballot with a different value proceed beside it (the situations the highest-vote rule exists for)."""
    return st.one_of(st.integers(0, n - 1).map(lambda a: 1 << a), st.integers(1, (1 << n) - 1))


def _network() -> list[st.SearchStrategy[Step]]:
    """Delivery dominates (one message, or everything in flight until quiet), then loss, duplication and
    crash-restart of a node under test."""
    deliver = _step("deliver", INDEX)
    settle = _step("settle", INDEX)
    return [deliver, deliver, settle, _step("duplicate", INDEX), _step("drop", INDEX), _step("crash", INDEX)]


def _rivals(masks: st.SearchStrategy[int]) -> list[st.SearchStrategy[Step]]:
    """A suite proposer's phase 1, its phase 2, or both in one step (how earlier votes come about)."""
    ballot = _step("rival_ballot", INDEX, ROUNDS, masks, VALUE)
    return [
        _step("rival_prepare", INDEX, ROUNDS, masks),
        _step("rival_accept", INDEX, ROUNDS, masks, VALUE),
        ballot,
        ballot,
        ballot,
    ]


def step_strategy(role: str, n: int) -> st.SearchStrategy[Step]:
    masks = _masks(n)
    kinds: list[st.SearchStrategy[Step]]
    if role == "acceptor":
        kinds = [
            _step("prepare", INDEX, ROUNDS),
            _step("accept", INDEX, ROUNDS, VALUE),
            _step("redeliver", INDEX),
            _step("crash", INDEX),
        ]
    elif role == "proposer":
        kinds = [
            _step("propose", INDEX, VALUE),
            _step("timeout", INDEX),
            *_rivals(masks),
            *_network(),
        ]
    elif role == "learner":
        kinds = [
            *_rivals(masks),
            *_network(),
        ]
    else:
        kinds = [_step("propose", INDEX, VALUE), _step("timeout", INDEX), *_network()]
    return st.one_of(kinds)


def case_strategy(role: str, max_steps: int) -> st.SearchStrategy[tuple[int, list[Step]]]:
    """(index into CONFIGS, steps)."""
    return st.integers(0, len(CONFIGS) - 1).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(step_strategy(role, CONFIGS[c].n), min_size=1, max_size=max_steps))
    )


def setup_for(role: str, config: int, options: dict[str, str]) -> Setup:
    return Setup(role, CONFIGS[config], options=tuple(sorted(options.items())))


def config_json(config: int) -> dict[str, Any]:
    qs = CONFIGS[config]
    return {"index": config, "describe": qs.describe(), "n": qs.n}
