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
ORDER = st.integers(-1, 3)
"""Which message in flight the network delivers next while a run concludes: the k-th oldest (-1: newest)."""
BUMP = st.integers(0, 2)
"""How far above its previous ballot a rival proposer's next one is (rival ballots only ever increase)."""
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
    """Delivery of one message or of everything in flight until quiet (each time the k-th oldest), loss,
    duplication, and crash-restart of a node under test."""
    return [
        _step("deliver", INDEX),
        _step("settle", INDEX),
        _step("duplicate", INDEX),
        _step("drop", INDEX),
        _step("crash", INDEX),
    ]


def _rivals(masks: st.SearchStrategy[int]) -> list[st.SearchStrategy[Step]]:
    """A competing proposer's new ballot (phase 1), its proposal at its current ballot (phase 2), or both in
    one step with an adversarially chosen quorum: how votes at several ballots come about."""
    return [
        _step("rival_prepare", INDEX, BUMP, masks),
        _step("rival_accept", INDEX, masks, VALUE),
        _step("rival_ballot", INDEX, BUMP, masks, VALUE),
    ]


def step_kinds(role: str, n: int) -> list[st.SearchStrategy[Step]]:
    masks = _masks(n)
    if role == "acceptor":
        return [
            _step("prepare", INDEX, ROUNDS),
            _step("accept", INDEX, ROUNDS, VALUE),
            _step("redeliver", INDEX),
            _step("crash", INDEX),
        ]
    clients = [_step("propose", INDEX, VALUE), _step("timeout", INDEX)]
    if role == "proposer":
        return [*clients, *_rivals(masks), *_network()]
    if role == "learner":
        return [*_rivals(masks), *_network()]
    return [*clients, *_network()]


def case_strategy(role: str, max_steps: int) -> st.SearchStrategy[tuple[int, list[Step]]]:
    """(index into CONFIGS, steps ending in `finish`). Swarm testing (Groce et al., ISSTA 2012): half the
    cases first draw which kinds of step they may use, so cases made mostly of, say, rival ballots and
    reordered deliveries are common rather than drowned in an even mix; the other half may use every kind."""

    @st.composite
    def case(draw: st.DrawFn) -> tuple[int, list[Step]]:
        config = draw(st.integers(0, len(CONFIGS) - 1))
        kinds = step_kinds(role, CONFIGS[config].n)
        every = frozenset(range(len(kinds)))
        enabled = sorted(draw(st.one_of(st.just(every), st.frozensets(st.sampled_from(sorted(every)), min_size=1))))
        steps = draw(st.lists(st.one_of([kinds[i] for i in enabled]), min_size=1, max_size=max_steps))
        return config, [*steps, draw(_step("finish", ORDER, ORDER, ORDER))]

    return case()


def setup_for(role: str, config: int, options: dict[str, str]) -> Setup:
    return Setup(role, CONFIGS[config], options=tuple(sorted(options.items())))


def config_json(config: int) -> dict[str, Any]:
    qs = CONFIGS[config]
    return {"index": config, "describe": qs.describe(), "n": qs.n}
