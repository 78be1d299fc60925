"""Tactics: short scripted stretches of a schedule, each aimed at one dangerous interleaving.

Random schedules reach some of `impl.sim.coverage.COUNTERS` thousands of times per 10k steps and others
almost never: two leaders at one round needs two clocks to run out together and each to win a quorum
the other did not reach. A tactic is the few dozen steps a person would write by hand to get there —
let a follower's clock run out while the leader's Accepts are still in flight, let a new leader fill a
slot its quorum reported nothing in, crash a replica just after it wrote a vote and lose the reply. The
biased schedule (`runner.schedule` with a `Coverage`) picks, now and then, the tactic of a counter drawn
with weight 1/(1 + count)², so the rarest situations get the most attempts. Tactics only reorder, hold
back, lose and time messages and clocks, as any adversary may: whatever they reach is a legal run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import TYPE_CHECKING

from paxiom.impl.cheap.replica import SUSPECT_AFTER
from paxiom.impl.messages import Accept, Accepted, CatchUpReply, CatchUpRequest, Envelope, Heartbeat, Prepare, Promise
from paxiom.impl.proposer import Role
from paxiom.impl.sim.coverage import Coverage
from paxiom.impl.sim.simulator import Simulator, Step

if TYPE_CHECKING:
    from paxiom.impl.sim.runner import Faults

BUDGET = 60
"""Deliveries one stretch of a tactic may make (a bound, so a tactic always ends)."""


def client_command(number: int, keys: int, clients: int = 3) -> Step:
    """The `number`th command (from 1) of a workload of `clients` clients taking turns, each numbering its
    own commands from 1: the submit step's client, seq and command text."""
    return {
        "client": f"c{number % clients}",
        "seq": (number - 1) // clients + 1,
        "command": f"set k{number % keys} v{number}",
    }


class Workload:
    """A schedule's client commands, numbered from 1 across its random submits and its tactics'."""

    def __init__(self, keys: int = 5) -> None:
        self.number = 0
        self.keys = keys

    def submit(self, replica: int) -> Step:
        self.number += 1
        return {"action": "submit", "replica": replica, **client_command(self.number, self.keys)}


Tactic = Callable[[Simulator, random.Random, "Faults", Coverage, Workload], Iterator[Step]]


def _live(sim: Simulator) -> list[int]:
    return [r for r, replica in enumerate(sim.replicas) if replica is not None]


def _role(sim: Simulator, r: int) -> Role | None:
    replica = sim.replicas[r]
    return replica.proposer.role if replica is not None else None


def _round_seen(sim: Simulator, r: int) -> int:
    """The round `r` would stand at next, less one: the highest it has seen or promised."""
    replica = sim.replicas[r]
    assert replica is not None
    return max(replica.proposer.max_round, replica.acceptor.promise.round)


def _freshest_follower(sim: Simulator, rng: random.Random) -> int | None:
    """A live follower with the longest log, and of those one that has seen the highest round: a lagging
    candidate would only collect catch-up replies and refusals instead of promises."""
    followers = [r for r in _live(sim) if _role(sim, r) is Role.FOLLOWER]
    if not followers:
        return None

    def fresh(r: int) -> tuple[int, int]:
        replica = sim.replicas[r]
        assert replica is not None
        return replica.commit, _round_seen(sim, r)

    top = max(map(fresh, followers))
    return rng.choice([r for r in followers if fresh(r) == top])


def _leader(sim: Simulator) -> int | None:
    """The live leader at the highest ballot, if any."""
    leaders = [
        (rep.proposer.ballot, r) for r, rep in enumerate(sim.replicas) if rep and rep.proposer.role is Role.LEADER
    ]
    return max(leaders)[1] if leaders else None


def _ticks(r: int, times: int) -> Iterator[Step]:
    for _ in range(times):
        yield {"action": "tick", "replica": r}


def _deliver(
    sim: Simulator, wanted: Callable[[Envelope], bool], limit: int = BUDGET, held: frozenset[int] = frozenset()
) -> Iterator[Step]:
    """Deliver the in-flight messages `wanted` picks, and those their deliveries send: newest first, so
    the exchange a tactic drives is found at once however long the backlog. Messages `held` stay in flight."""
    flight = sim.network.in_flight
    for _ in range(limit):
        mid = next((m for m in reversed(flight) if m not in held and wanted(flight[m])), None)
        if mid is None:
            return
        yield {"action": "deliver", "msg": mid}


def _campaign(sim: Simulator, r: int, avoid: frozenset[int], first: int | None = None) -> Iterator[Step]:
    """`r`'s clock runs out (unless it already stands or leads) and it wins with the promises of replicas
    outside `avoid`, who never see its Prepare; `first`'s promise, if given, is counted before any other."""
    for _ in range(3 * sim.settings.election_timeout):
        if _role(sim, r) is not Role.FOLLOWER:
            break
        yield {"action": "tick", "replica": r}
    for peers in ((first,) if first is not None else (), range(sim.settings.replicas)):
        yield from _deliver(sim, partial(_election, r, frozenset(peers) - avoid))


def _election(r: int, peers: frozenset[int], e: Envelope) -> bool:
    """`r`'s Prepares to `peers` and their Promises back."""
    return (type(e.msg) is Prepare and e.src == r and e.dst in peers) or (
        type(e.msg) is Promise and e.dst == r and e.src in peers
    )


def _some_leader(sim: Simulator, rng: random.Random) -> Iterator[Step]:
    """Elect someone if nobody leads: the freshest follower (a candidate already standing may have no
    Prepare left in flight to drive), else anyone."""
    live = _live(sim)
    if _leader(sim) is None and live:
        candidate = _freshest_follower(sim, rng)
        yield from _campaign(sim, rng.choice(live) if candidate is None else candidate, frozenset())


def _leader_and_others(
    sim: Simulator, rng: random.Random, settle: bool = False
) -> Generator[Step, None, tuple[int | None, list[int]]]:
    """Elect someone if nobody leads (with `settle`, a calm moment follows: everything in flight is
    delivered, the leader's heartbeats resend what is short of a quorum, and those are delivered too, so
    its pipeline has room; someone is elected again should the backlog depose the leader): the leader,
    and the other live replicas."""
    yield from _some_leader(sim, rng)
    if settle:
        yield from _deliver(sim, lambda e: True, 2 * BUDGET)
        yield from _some_leader(sim, rng)
        leader = _leader(sim)
        if leader is not None:
            yield from _ticks(leader, sim.settings.heartbeat_interval)
            yield from _deliver(sim, lambda e: True, 2 * BUDGET)
    leader = _leader(sim)
    return leader, [r for r in _live(sim) if r != leader]


def _depose(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """The leader proposes; before its Accepts arrive, a follower that never heard from it takes over."""
    leader, others = yield from _leader_and_others(sim, rng)
    if leader is None or not others:
        return
    yield work.submit(leader)
    rival = rng.choice(others)
    yield from _campaign(sim, rival, frozenset({leader}))
    yield from _ticks(rival, sim.settings.heartbeat_interval)


def _same_round(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """Two followers stand at once (the same next round), each behind the other's back; both win a
    quorum in turn (the higher ballot second) and both propose."""
    rounds: dict[int, list[int]] = {}
    for r, replica in enumerate(sim.replicas):
        if replica is not None and replica.proposer.role is not Role.LEADER:
            rounds.setdefault(_round_seen(sim, r), []).append(r)
    pairs = [group for group in rounds.values() if len(group) > 1]
    if not pairs:
        return
    first, second = sorted(rng.sample(max(pairs, key=len), 2))
    yield from _campaign(sim, first, frozenset({second}))
    yield work.submit(first)
    yield from _campaign(sim, second, frozenset({first}))
    yield work.submit(second)


def _split_votes(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """The leader votes for its own proposal, which reaches nobody else; a rival whose quorum reported
    nothing there puts another value in the slot at a higher ballot; then the old leader hears of it and
    takes over again, to find its own vote outvoted by a higher one. (The log settles first, so the
    leader's proposal lands in the rival's window.)"""
    leader, others = yield from _leader_and_others(sim, rng, settle=True)
    if leader is None or not others:
        return
    yield work.submit(leader)
    rival = rng.choice(others)
    yield from _campaign(sim, rival, frozenset({leader}))
    yield work.submit(rival)
    yield from _ticks(rival, sim.settings.heartbeat_interval)
    yield from _deliver(sim, lambda e: type(e.msg) is Heartbeat and e.src == rival and e.dst == leader)
    yield from _campaign(sim, leader, frozenset(), first=rival)


def _hold_catch_up(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """A follower misses a stretch of the log and asks to catch up; its reply is held while the log moves
    on past another snapshot, then delivered."""
    leader, others = yield from _leader_and_others(sim, rng)
    if leader is None or not others:
        return
    follower = rng.choice(others)
    burst = sim.settings.batch_size * (sim.settings.snapshot_interval + 1)
    for _ in range(burst):
        yield work.submit(leader)
    yield from _deliver(sim, lambda e: follower not in (e.src, e.dst), 2 * BUDGET)
    yield from _ticks(leader, sim.settings.heartbeat_interval)
    yield from _deliver(
        sim,
        lambda e: (
            (type(e.msg) is Heartbeat and e.dst == follower) or (type(e.msg) is CatchUpRequest and e.src == follower)
        ),
    )
    for _ in range(burst):
        yield work.submit(leader)
    yield from _deliver(sim, lambda e: type(e.msg) is not CatchUpReply and e.dst != follower, 2 * BUDGET)
    yield from _deliver(sim, lambda e: type(e.msg) is CatchUpReply and e.dst == follower)


def _crash_after_write(
    sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload
) -> Iterator[Step]:
    """An acceptor takes a Prepare or Accept, writes its promise or vote, and crashes before its reply
    leaves: the reply is lost with it. It restarts at once from its disk."""
    if "crash" not in faults:
        return

    def targets() -> list[int]:
        """Prepares and Accepts their acceptor will take (a stale one is refused, and writes nothing)."""
        replicas = sim.replicas
        return [
            m
            for m, e in sim.network.in_flight.items()
            if type(e.msg) in (Prepare, Accept)
            and e.src != e.dst
            and (acceptor := replicas[e.dst]) is not None
            and e.msg.ballot >= acceptor.acceptor.promise  # type: ignore[union-attr]
        ]

    if not targets():
        leader = _leader(sim)
        if leader is not None:
            yield work.submit(leader)
    choices = targets()
    if not choices:
        return
    mid = rng.choice(choices)
    r = sim.network.in_flight[mid].dst
    yield {"action": "deliver", "msg": mid}
    if not cov.fresh.get(r):
        return
    yield {"action": "crash", "replica": r}
    for lost in sorted(cov.unsent):
        yield {"action": "drop", "msg": lost}
    yield {"action": "restart", "replica": r}


def _hole(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """The leader proposes in two slots and only the later one reaches an acceptor; a rival whose quorum
    includes that acceptor takes over and must fill the earlier slot."""
    leader, others = yield from _leader_and_others(sim, rng, settle=True)
    if leader is None or len(others) < 2:
        return
    for _ in range(sim.settings.batch_size + 1):
        yield work.submit(leader)
    voter, rival = rng.sample(others, 2)
    accepts = [
        m for m, e in sim.network.in_flight.items() if type(e.msg) is Accept and e.src == leader and e.dst == voter
    ]
    if len(accepts) < 2:
        return
    yield {"action": "deliver", "msg": accepts[-1]}
    yield from _campaign(sim, rival, frozenset({leader}), first=voter)


def _late_answers(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """A follower stands; its promises are held while its clock runs out again and it stands once more;
    then the old ballot's promises arrive."""
    r = _freshest_follower(sim, rng)
    if r is None:
        return
    yield from _campaign(sim, r, frozenset(range(sim.settings.replicas)))  # its Prepares stay in flight
    replica = sim.replicas[r]
    if replica is None or _role(sim, r) is not Role.CANDIDATE:
        return
    first = replica.proposer.ballot
    yield from _deliver(sim, lambda e: type(e.msg) is Prepare and e.src == r and e.dst != r)
    for _ in range(3 * sim.settings.election_timeout):
        replica = sim.replicas[r]
        if replica is None or replica.proposer.ballot != first:
            break
        yield {"action": "tick", "replica": r}
    yield from _deliver(sim, lambda e: type(e.msg) is Promise and e.dst == r and e.msg.ballot == first)
    yield work.submit(r)  # a client's command: whatever it now leads (or not) at, it proposes


def _duplicate_votes(
    sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload
) -> Iterator[Step]:
    """The leader's Accept reaches one acceptor, whose Accepted is duplicated on its way back."""
    if "dup" not in faults:
        return
    leader, others = yield from _leader_and_others(sim, rng, settle=True)
    if leader is None or not others:
        return
    yield work.submit(leader)
    voter = rng.choice(others)
    yield from _deliver(sim, lambda e: type(e.msg) is Accept and e.src == leader and e.dst == voter, 1)
    replies = [m for m, e in sim.network.in_flight.items() if type(e.msg) is Accepted and e.src == voter]
    if not replies:
        return
    for _ in range(2):
        yield {"action": "duplicate", "msg": replies[-1]}
    yield from _deliver(sim, lambda e: type(e.msg) is Accepted and e.src == voter and e.dst == leader)


def _stale_prepare(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """A candidate's Prepare is duplicated and one copy lags far behind (a link that retransmits, a route
    that changes): the election completes, the new leader's Accepts are voted for, and only then does the
    stale copy reach its acceptor."""
    if "dup" not in faults:
        return
    r, everyone = _freshest_follower(sim, rng), frozenset(range(sim.settings.replicas))
    if r is None:
        return
    yield from _campaign(sim, r, everyone)  # its Prepares stay in flight
    prepares = [m for m, e in sim.network.in_flight.items() if type(e.msg) is Prepare and e.src == r and e.dst != r]
    if _role(sim, r) is not Role.CANDIDATE or not prepares:
        return
    yield {"action": "duplicate", "msg": rng.choice(prepares)}
    held = frozenset({sim.network.next_id - 1})
    yield from _deliver(sim, partial(_election, r, everyone), held=held)
    yield work.submit(r)
    yield from _deliver(sim, lambda e: type(e.msg) in (Accept, Accepted) and r in (e.src, e.dst), held=held)
    yield from _deliver(sim, lambda e: True, 1, held=frozenset(sim.network.in_flight) - held)


def _left_behind(sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload) -> Iterator[Step]:
    """A follower is cut off (or crashed) while the leader decides a few slots, and is back as the
    clients fall silent: only the leader's heartbeats tell it how far behind it is, and the catch-up
    reply it asks for arrives corrupted (when corruption is allowed)."""
    leader, others = yield from _leader_and_others(sim, rng, settle=True)
    cut = "partition" in faults and ("crash" not in faults or rng.random() < 0.5)
    if leader is None or not others or not (cut or "crash" in faults):
        return
    follower = rng.choice(others)
    yield {"action": "partition", "side": [follower]} if cut else {"action": "crash", "replica": follower}
    for _ in range(sim.settings.batch_size + 1):
        yield work.submit(leader)
    yield from _deliver(sim, lambda e: True, 2 * BUDGET)  # what crosses the cut is lost
    yield {"action": "heal"} if cut else {"action": "restart", "replica": follower}
    yield from _ticks(leader, sim.settings.heartbeat_interval)
    yield from _deliver(
        sim,
        lambda e: (
            (type(e.msg) is Heartbeat and e.dst == follower) or (type(e.msg) is CatchUpRequest and e.src == follower)
        ),
    )
    replies = [m for m, e in sim.network.in_flight.items() if type(e.msg) is CatchUpReply and e.dst == follower]
    if "corrupt" in faults:
        for mid in replies:
            yield {"action": "corrupt", "msg": mid}
    yield from _deliver(sim, lambda e: type(e.msg) is CatchUpReply and e.dst == follower)


TACTICS: dict[str, Tactic] = {
    "competing_leaders": _depose,
    "deposed_with_accepts_in_flight": _depose,
    "same_round_competition": _same_round,
    "takeover_mixed_ballots": _split_votes,
    "recovered_vote_differs": _split_votes,
    "catchup_races_snapshot": _hold_catch_up,
    "crash_between_write_and_send": _crash_after_write,
    "takeover_with_hole": _hole,
    "late_answer": _late_answers,
    "duplicate_vote": _duplicate_votes,
    "repeat_prepare": _stale_prepare,
}
"""Each counter's tactic (`impl.sim.coverage.COUNTERS` names them all)."""


def _retire_failed_main(
    sim: Simulator, rng: random.Random, faults: Faults, cov: Coverage, work: Workload
) -> Iterator[Step]:
    """Cheap Paxos: a main that does not lead crashes owing the leader a vote, and the leader's heartbeats
    go on until it suspects the main and stands again to retire it, through a quorum that takes in the
    auxiliaries (which vote for nothing but a retirement)."""
    if sim.settings.variant != "cheap" or "crash" not in faults:
        return
    leader, others = yield from _leader_and_others(sim, rng, settle=True)
    mains = [r for r in others if r < sim.settings.mains]
    if leader is None or not mains:
        return
    yield {"action": "crash", "replica": rng.choice(mains)}
    yield work.submit(leader)
    for _ in range((SUSPECT_AFTER + 1) * sim.settings.election_timeout // sim.settings.heartbeat_interval):
        yield from _ticks(leader, sim.settings.heartbeat_interval)
        yield from _deliver(sim, lambda e: True)


FINALE: tuple[Tactic, ...] = (_hole, _left_behind, _retire_failed_main)
"""What a biased run's fault phase ends with: damage only the quiet period and the final check can see —
a hole in the log under a leader that then stays (a new leader must fill it), and a follower that missed
slots with no new command to wake it — and, in a Cheap Paxos cluster, a failed main's retirement."""


def _whole(sim: Simulator) -> Iterator[Step]:
    """Heal the partition and restart crashed replicas: a tactic drives one exchange among replicas,
    which a cut or a dead quorum would swallow halfway."""
    if sim.network.side is not None:
        yield {"action": "heal"}
    for r, replica in enumerate(sim.replicas):
        if replica is None:
            yield {"action": "restart", "replica": r}


def tactic(sim: Simulator, rng: random.Random, faults: Faults, coverage: Coverage, work: Workload) -> Iterator[Step]:
    """The steps of one tactic, in a cluster made whole, for a counter drawn among those whose tactic was
    played least so far with weight 1/(1 + count)²: the rarest are likeliest first, and no tactic plays
    twice (whether or not it reached its counter) before every one has played once."""
    least = min(coverage.played.values())
    names = [name for name in TACTICS if coverage.played[name] == least]
    weights = [1 / (1 + coverage.counts[name]) ** 2 for name in names]
    name = rng.choices(names, weights)[0]
    coverage.played[name] += 1
    yield from _whole(sim)
    yield from TACTICS[name](sim, rng, faults, coverage, work)


def finale(sim: Simulator, rng: random.Random, faults: Faults, coverage: Coverage, work: Workload) -> Iterator[Step]:
    """The steps of the `FINALE` tactics, one after the other, in a cluster made whole."""
    yield from _whole(sim)
    for play in FINALE:
        yield from play(sim, rng, faults, coverage, work)
