"""Adversarial schedules as hypothesis strategies: what happens, in which order, to which node.

A test case is a quorum configuration and a list of `Step`s. Steps name messages, nodes and values by
index modulo what exists at that moment, so every generated list is a valid schedule and hypothesis can
shrink it freely (drop steps, lower indices) towards the shortest one that still breaks a rule.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from paxiom.conform.configs import LOG_SLOTS, RECONFIG_INITIAL
from paxiom.conform.messages import CONFIGURED
from paxiom.conform.world import FAST_ROUNDS, SLOTS, Setup, Step
from paxiom.spec.quorums import QuorumSystem

ROUNDS = st.integers(0, 3)
SLOT = st.integers(0, SLOTS - 1)
ORDER = st.integers(-1, 3)
"""Which message in flight the network delivers next while a run concludes: the k-th oldest (-1: newest)."""
BUMP = st.integers(0, 2)
"""How far above its previous ballot a rival proposer's next one is (rival ballots only ever increase)."""
INDEX = st.integers(0, 7)
VALUE = st.integers(0, 2)
COMMAND = st.integers(0, 5)
"""Reconfiguration and Cheap Paxos: a value (0..2) or a configuration command (3..), modulo the commands."""
SWITCH = 3
"""The index of `cfg1` among those commands (it follows the three values)."""
LOG_SLOT = st.integers(0, LOG_SLOTS - 1)
CONF = st.integers(0, 3)

CONFIGS: tuple[QuorumSystem, ...] = (
    QuorumSystem.majority(3),
    QuorumSystem.flexible(4, 3, 2),
    QuorumSystem.flexible(4, 2, 3),
)
"""Classic majorities and both Flexible Paxos trade-offs (|Q1| + |Q2| > n)."""

VARIANT_CONFIGS: dict[str, tuple[QuorumSystem, ...]] = {
    "paxos": CONFIGS,
    "multipaxos": CONFIGS,
    "fastpaxos": (QuorumSystem.fast_paxos(3, 2, 3), QuorumSystem.fast_paxos(4, 3, 3)),
    "reconfig": (RECONFIG_INITIAL,),
    "cheap": (QuorumSystem.majority(3), QuorumSystem.majority(5), QuorumSystem.majority(3)),
}
"""The quorum systems of each variant's runs; Fast Paxos's meet `quorums.phase1_meets_two_fast`. For
reconfiguration and Cheap Paxos they are the initial configuration (`conform/configs.py` has the others):
Cheap Paxos with 2 mains and 1 auxiliary, with 3 mains and 2, and again 2 and 1 (`JUDGED`)."""
JUDGED: dict[str, tuple[int | None, ...]] = {"cheap": (None, None, 0)}
"""Which acceptor an acceptor run judges, per quorum system (None: the variant's own choice, in Cheap Paxos
its first auxiliary): Cheap Paxos's third system judges the main a1, which `cfg1` retires."""


def configs(variant: str) -> tuple[QuorumSystem, ...]:
    return VARIANT_CONFIGS[variant]


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


@functools.cache
def step_kinds(variant: str, role: str, n: int) -> list[st.SearchStrategy[Step]]:
    masks = _masks(n)
    if variant in CONFIGURED:
        return _configured_steps(role, masks)
    if role == "acceptor":
        accept = _step("accept", INDEX, ROUNDS, SLOT, VALUE)  # Multi-Paxos: in a slot
        fast = [_step("any", INDEX, st.integers(0, len(FAST_ROUNDS) - 1)), _step("client", VALUE)]
        return [
            _step("prepare", INDEX, ROUNDS),
            accept if variant == "multipaxos" else _step("accept", INDEX, ROUNDS, VALUE),
            *(fast if variant == "fastpaxos" else []),
            _step("redeliver", INDEX),
            _step("crash", INDEX),
        ]
    clients = [_step("propose", INDEX, VALUE), _step("timeout", INDEX)]
    fast = [_step("rival_fast", INDEX, BUMP, masks, st.integers(0, (1 << n) - 1), VALUE, VALUE)]
    rivals = [*_rivals(masks), *(fast if variant == "fastpaxos" else [])]
    if variant == "multipaxos":  # a rival leader: one phase 1 for the log, then proposals slot by slot
        rivals = [_step("rival_prepare", INDEX, BUMP, masks), _step("rival_accept", INDEX, masks, SLOT, VALUE)]
    if role == "proposer":
        return [*clients, *rivals, *_network()]
    if role == "learner":
        return [*rivals, *_network()]
    return [*clients, *_network()]


def _configured_steps(role: str, masks: st.SearchStrategy[int]) -> list[st.SearchStrategy[Step]]:
    """Reconfiguration and Cheap Paxos: Multi-Paxos's steps over their slots and commands; an accept to the
    acceptor under test names a configuration."""
    if role == "acceptor":
        accept = _step("accept", INDEX, ROUNDS, LOG_SLOT, COMMAND, CONF)
        return [_step("prepare", INDEX, ROUNDS), accept, _step("redeliver", INDEX), _step("crash", INDEX)]
    rivals = [_step("rival_prepare", INDEX, BUMP, masks), _step("rival_accept", INDEX, masks, LOG_SLOT, COMMAND)]
    clients = [_step("propose", INDEX, COMMAND), _step("timeout", INDEX)] if role == "proposer" else []
    return [*clients, *rivals, *_network()]


@functools.cache
def _configured_openings(role: str, n: int) -> st.SearchStrategy[list[Step]]:
    """Reconfiguration and Cheap Paxos openings, each the situation a per-slot rule exists for:
    - acceptor: an accept naming some configuration (is it a member? an auxiliary, and the command
      ordinary?), or a retirement voted under the initial configuration (the durability probe that ends
      every acceptor schedule then asks whether the vote survived a restart);
    - proposer: a client's `cfg1` chosen in slot 0 and then two commands (the next slot is still the old
      configuration's, the one after the new one's), with or without the leader's prepares reaching only
      two acceptors (an old configuration's quorum, not the new one's);
    - learner: a rival leader's `cfg1` chosen in slot 0 by everyone, then a command voted by a2 and a3 in
      slot 1 or 2 (under the old configuration, or the new one), every vote delivered."""
    if role == "acceptor":
        any_config = _step("accept", INDEX, ROUNDS, LOG_SLOT, COMMAND, CONF)
        retirement = _step("accept", INDEX, ROUNDS, LOG_SLOT, st.integers(SWITCH, SWITCH + 1), st.just(0))
        return st.one_of(st.just([]), *(c.map(lambda step: [step]) for c in (any_config, retirement)))
    if role == "proposer":
        switch = Step("propose", (0, SWITCH))
        partial = st.booleans().map(lambda p: [Step("deliver", (0,))] * 2 + [Step("drop", (0,))] * (n - 2) if p else [])
        commands = VALUE.map(lambda v: [Step("propose", (0, v)), Step("propose", (0, (v + 1) % 3))])
        opening = st.tuples(partial, commands).map(
            lambda t: [switch, *t[0], Step("settle", (0,)), *t[1], Step("settle", (0,))]
        )
        return st.one_of(st.just([]), opening)
    every, pair = (1 << n) - 1, 0b110
    chosen = [Step("rival_prepare", (0, 0, every)), Step("rival_accept", (0, every, 0, SWITCH))]
    voted = st.tuples(st.integers(1, 2), VALUE).map(lambda t: Step("rival_accept", (0, pair, t[0], t[1])))
    return st.one_of(st.just([]), st.tuples(voted, _step("settle", INDEX)).map(lambda t: [*chosen, *t]))


def _diverging(d: tuple[int, int, int, int, Step]) -> tuple[Step, ...]:
    rival, bump, value, other, propose = d
    return Step("rival_ballot", (rival, bump, 1, value)), Step("rival_ballot", (rival, 0, 2, value + other)), propose


@functools.cache
def openings(variant: str, role: str, n: int) -> st.SearchStrategy[list[Step]]:
    """Known adversarial openings a case may start with (its parameters still drawn and shrunk), each one
    the situation a rule exists for and which an even mix of steps reaches only by luck:
    - diverging votes: two rival ballots for different values, the lower voted by the first acceptor and the
      higher by the second, then a client request: the proposer's phase 1 hears of the lower vote first
      (the highest-vote rule);
    - preemption in phase 2: the proposer gets its phase-1 quorum, sends its accepts, and a rival's higher
      prepare reaches every acceptor before them (stepping down, not taking the higher ballot over);
    - a late promise: one promise of the proposer's first ballot is still in flight when its timer fires
      and it starts a second (tallying answers to different ballots);
    - a duplicated vote: one acceptor's accepted message reaches the learner twice (counting acceptors,
      not messages);
    - catch-up past a hole (Multi-Paxos): votes in the first slot and then in the last, the slot between
      never proposed (a lagging acceptor catching up with a leader ahead of it);
    - a collision (Fast Paxos): a fast ballot opened with any, then two clients' different values;
    - a stale fast ballot (Fast Paxos): a prepare, a lower fast ballot opened with any, a client's value;
    - fast votes (Fast Paxos): a coordinator's fast ballot, clients' values voted by some acceptors,
      colliding or not, then every vote delivered (learner) or a client request (the coordinator under
      test must recover from what its phase 1 reports).
    The empty opening comes first, so shrinking removes an opening that is not needed."""
    if variant in CONFIGURED:
        return _configured_openings(role, n)
    if role == "acceptor":
        return _acceptor_openings(variant)
    if variant == "multipaxos":
        return _log_openings(role, n)
    if variant == "fastpaxos":
        # often all acceptors but the last vote, and all of them but the one before it vote the later value: a
        # collision in which that value may still have been chosen by a fast quorum (what the recovery rule is
        # for), and, in the simplest draws, not the smallest value voted
        voters = st.one_of(st.just((1 << (n - 1)) - 1), _masks(n))
        if role == "learner":  # votes at a fast ballot, colliding or not, all delivered
            fast_votes = _step("rival_fast", INDEX, st.just(0), voters, st.integers(0, (1 << n) - 1), VALUE, VALUE)
            return st.one_of(st.just([]), st.tuples(fast_votes, _step("settle", INDEX)).map(list))
        split = st.one_of(st.just((1 << (n - 2)) - 1), st.integers(0, (1 << n) - 1))
        voted = _step("rival_fast", INDEX, st.just(0), voters, split, VALUE, st.integers(1, 2))
        # the coordinator's phase 1 delivered in order: its quorum is the first acceptors, the ones that voted
        recover = st.tuples(voted, _step("propose", INDEX, VALUE), st.just(Step("settle", (0,))))
        return st.one_of(st.just([]), recover.map(list))
    if variant != "paxos":
        return st.just([])
    one = st.integers(0, n - 1).map(lambda a: 1 << a)
    every = (1 << n) - 1
    rival_alone = _step("rival_ballot", INDEX, BUMP, one, VALUE)
    if role == "proposer":
        diverging = st.tuples(INDEX, BUMP, VALUE, st.integers(1, 2), _step("propose", INDEX, VALUE)).map(_diverging)
        first_phase = [Step("deliver", (0,))] * (n + 2)
        preempted = _step("propose", INDEX, VALUE).flatmap(
            lambda p: _step("rival_prepare", INDEX, BUMP, st.just(every)).map(lambda r: (p, *first_phase, r))
        )
        late = _step("propose", INDEX, VALUE).map(lambda p: (p, Step("deliver", (0,)), Step("timeout", (0,))))
        chosen = [diverging, preempted, late]
    elif role == "learner":
        chosen = [st.tuples(rival_alone, _step("duplicate", INDEX))]
    else:
        return st.just([])
    return st.one_of(st.just([]), *(c.map(list) for c in chosen))


@functools.cache
def _log_openings(role: str, n: int) -> st.SearchStrategy[list[Step]]:
    """Multi-Paxos leader and learner openings: a rival leader's phase 1 with every acceptor, then single
    votes in two different slots, then a client request (the leader under test must catch up on both
    slots) or, for a learner, also a slot every acceptor votes in (so that decisions are common) and every
    vote delivered (the learner must count each slot apart)."""
    one, every = st.integers(0, n - 1).map(lambda a: 1 << a), (1 << n) - 1
    phase1 = _step("rival_prepare", INDEX, st.just(0), st.just(every))
    first, last = (_step("rival_accept", st.just(0), one, st.just(slot), VALUE) for slot in (0, SLOTS - 1))
    if role == "proposer":
        return st.one_of(st.just([]), st.tuples(phase1, first, last, _step("propose", INDEX, VALUE)).map(list))
    chosen = _step("rival_accept", st.just(0), st.just(every), SLOT, VALUE)
    return st.one_of(st.just([]), st.tuples(phase1, chosen, first, last, _step("settle", INDEX)).map(list))


@functools.cache
def _acceptor_openings(variant: str) -> st.SearchStrategy[list[Step]]:
    fast_any = _step("any", INDEX, st.integers(0, len(FAST_ROUNDS) - 1))
    chosen: list[st.SearchStrategy[tuple[Step, ...]]] = []
    if variant == "multipaxos":
        first, last = (_step("accept", INDEX, ROUNDS, st.just(slot), VALUE) for slot in (0, SLOTS - 1))
        chosen = [st.tuples(first, last)]
    elif variant == "fastpaxos":
        collision = st.tuples(fast_any, VALUE, st.integers(1, 2)).map(
            lambda t: (t[0], Step("client", (t[1],)), Step("client", (t[1] + t[2],)))
        )
        chosen = [collision, st.tuples(_step("prepare", INDEX, ROUNDS), fast_any, _step("client", VALUE))]
    return st.one_of(st.just([]), *(c.map(list) for c in chosen))


def case_strategy(variant: str, role: str, max_steps: int) -> st.SearchStrategy[tuple[int, list[Step]]]:
    """(index into CONFIGS, steps ending in `finish`). Swarm testing (Groce et al., ISSTA 2012): half the
    cases first draw which kinds of step they may use, so cases made mostly of, say, rival ballots and
    reordered deliveries are common rather than drowned in an even mix; the other half may use every kind.
    A case may begin with one of the role's adversarial `openings`."""

    @st.composite
    def case(draw: st.DrawFn) -> tuple[int, list[Step]]:
        config = draw(st.integers(0, len(configs(variant)) - 1))
        n = configs(variant)[config].n
        every = frozenset(range(len(step_kinds(variant, role, n))))
        enabled = draw(st.one_of(st.just(every), st.frozensets(st.sampled_from(sorted(every)), min_size=1)))
        opening = draw(openings(variant, role, n))
        steps = draw(_schedule(variant, role, n, enabled, max(1, max_steps - len(opening))))
        return config, [*opening, *steps, draw(FINISH)]

    return case()


FINISH = _step("finish", ORDER, ORDER, ORDER)


@functools.cache
def _schedule(
    variant: str, role: str, n: int, enabled: frozenset[int], max_steps: int
) -> st.SearchStrategy[list[Step]]:
    """Built once per swarm choice: building strategies anew for every case cost a third of the run time."""
    kinds = step_kinds(variant, role, n)
    return st.lists(st.one_of([kinds[i] for i in sorted(enabled)]), min_size=1, max_size=max_steps)


def setup_for(variant: str, role: str, config: int, options: dict[str, str]) -> Setup:
    judged = JUDGED.get(variant, (None,) * len(configs(variant)))[config]
    return Setup(role, configs(variant)[config], options=tuple(sorted(options.items())), variant=variant, judged=judged)


def config_json(variant: str, config: int) -> dict[str, Any]:
    qs = configs(variant)[config]
    doc: dict[str, Any] = {"index": config, "describe": qs.describe(), "n": qs.n}
    return doc | {"judged_acceptor": setup_for(variant, "acceptor", config, {}).under_test[0]}
