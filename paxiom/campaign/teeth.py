"""The campaign's teeth: a node carrying a known bug, under the faults that expose it, must fail the run.

Every storage bug of `paxiom.node.storage_mutants` and every bug of the core's catalogue
(`paxiom.impl.mutants`) in a core the node runs (Multi-, Fast or Cheap Paxos) has a `Tooth`: a fixed schedule (replayed,
not planned, so what is done is deterministic) or the seeded mix of `CORE_FAULTS`, the cluster size, and
how many seeds a check may try. `NOT_EXPOSED` names the bugs the real service cannot show, and why.
`bite` runs one tooth; `bench/campaign.py --teeth` prints the table, tests/test_campaign.py asserts it.

Why these schedules: a deposed leader's queued Accepts reach acceptors that promised higher only after a
partition heals (`isolations`); a lossy slow network with the leader paused now and then (`storm`) loses a
Prepare while the Accepts after it arrive, delivers Promises and votes after a newer ballot started, and
starts two candidates at once. Real timing differs run to run, so a storm tooth has three seeds to bite.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.campaign.cluster import MUTANTS
from paxiom.campaign.run import RunSpec
from paxiom.campaign.table import bounded
from paxiom.faultplan import all_links

CORE_FAULTS = ("kill", "power", "partition", "pause")
CHEAP_FAULTS = ("kill", "retire", "partition", "pause")
"""Cheap Paxos's mix: the core faults with a main retired through the auxiliary, without power loss (which
takes every node down for a moment and so gives no main time to be suspected)."""

Step = dict[str, Any]
Schedule = Callable[[list[str], float], list[Step]]


def _fault(fault_id: int, fault: str, at: float, hold: float, params: dict[str, Any]) -> list[Step]:
    return [
        {"at": round(at, 3), "op": "start", "id": fault_id, "fault": fault, "params": params},
        {"at": round(at + hold, 3), "op": "heal", "id": fault_id, "fault": fault, "params": params},
    ]


def _every(first: float, period: float, hold: float, last: float) -> list[float]:
    """Start times from `first`, one each `period`, of faults that heal by `last`."""
    starts, t = [], first
    while t + hold <= last:
        starts.append(t)
        t += period
    return starts


def power_cuts(nodes: list[str], duration: float) -> list[Step]:
    """Every node loses power five times: what it acknowledged but never synced is gone."""
    return [step for i in range(5) for step in _fault(i, "power", 1.5 + 1.2 * i, 0.3,
            {"nodes": list(nodes), "seed": i, "text": "every node"})]  # fmt: skip


def damaged_wal(how: str) -> Schedule:
    """A synced log record of the last node damaged (`how`: bitflip or zero), then one of the first."""

    def steps(nodes: list[str], duration: float) -> list[Step]:
        return [
            *_fault(0, "corrupt", 2.5, 0.5, {"node": nodes[-1], "target": "wal", "how": how, "seed": 3}),
            *_fault(1, "corrupt", 5.0, 0.5, {"node": nodes[0], "target": "wal", "how": how, "seed": 4}),
        ]

    steps.__doc__ = f"A synced log record damaged ({how}) on the last node, then on the first."
    return steps


def isolations(nodes: list[str], duration: float) -> list[Step]:
    """The leader cut off for 1 s (the others elect within it) every 2.2 s; it keeps taking commands, and
    its queued Accepts reach the new leader's acceptors when the partition heals. 1 s, not longer: the
    stale slots must still be above those acceptors' snapshot floor (a snapshot every 100 slots)."""
    isolate = {"shape": "isolate", "node": "leader", "text": "the leader isolated"}
    starts = _every(1.5, 2.2, 1.0, duration - 3)
    return [step for i, t in enumerate(starts) for step in _fault(i, "partition", t, 1.0, dict(isolate))]


def storm(nodes: list[str], duration: float) -> list[Step]:
    """Every link slow (0-150 ms) and reset 4 times a second for the whole window, and the leader paused
    for 0.8 s every 2 s."""
    network = {"delay": 0.15, "reset_rate": 4.0, "links": all_links(nodes), "text": "a slow, lossy network"}
    steps = _fault(0, "delay", 1.0, duration - 4.0, network)
    for i, t in enumerate(_every(2.0, 2.0, 0.8, duration - 3.5), 1):
        steps += _fault(i, "pause", t, 0.8, {"node": "leader"})
    return sorted(steps, key=lambda s: (s["at"], s["op"] == "start"))


@dataclass(frozen=True)
class Tooth:
    """How the campaign exposes one bug."""

    schedule: Schedule | None = None
    """A fixed schedule; None: the seeded mix of `faults`."""
    faults: tuple[str, ...] = CORE_FAULTS
    nodes: int = 3
    duration: float = 12.0
    seed: int = 1
    runs: int = 2
    """Seeds (seed, seed + 1, ...) a check tries before the bug counts as missed."""
    signs: tuple[str, ...] = ()
    """When given, a failure must name one of these (the reason the bug should be caught for)."""
    variant: str = "multipaxos"
    """The service variant whose nodes carry the bug (a fast or cheap bug runs on a cluster of its variant)."""


_MIX = Tooth(seed=21)
_STORM = Tooth(storm, duration=30.0, runs=3)
TEETH: dict[str, Tooth] = {
    "ack-before-sync": Tooth(power_cuts, duration=8, seed=7, runs=1,
                             signs=("without its synced vote", "lost", "not linearizable")),
    "no-crc": Tooth(damaged_wal("bitflip"), duration=8, seed=7, runs=1,
                    signs=("started on a log with a damaged synced record",)),
    "truncate-mid-log": Tooth(damaged_wal("zero"), duration=8, seed=7, runs=1,
                              signs=("started on a log with a damaged synced record",)),
    "promise-not-persisted": _MIX,
    "vote-not-persisted": _MIX,
    "promise-omits-votes": _MIX,
    "propose-own-value": _MIX,
    "phase2-quorum-off-by-one": _MIX,
    "phase1-quorum-too-small": _MIX,
    "step-down-ignored": _MIX,
    "apply-out-of-order": _MIX,
    "snapshot-drops-last-applied": _MIX,
    "own-reply-before-sync": Tooth(power_cuts, duration=8, seed=7, runs=1),
    "accept-below-promise": Tooth(isolations, duration=14.0),
    "vote-keeps-old-promise": Tooth(storm, duration=30.0, runs=8),  # caught in 1 of 5 runs: needs a lost Prepare
    "mixed-ballot-votes": _STORM,
    "first-vote-not-highest": _STORM,
    "ballots-not-unique": _STORM,
    "double-count-acceptor": Tooth(storm, nodes=5, duration=30.0, runs=5),  # caught in 4 of 7 runs
    "fast-quorum-too-small": Tooth(nodes=4, seed=21, variant="fastpaxos"),
    "fast-recovery-any-value": Tooth(nodes=4, seed=21, variant="fastpaxos"),
    "cheap-aux-votes-commands": Tooth(faults=CHEAP_FAULTS, seed=21, runs=1, variant="cheap"),
    "cheap-retire-keeps-auxiliaries": Tooth(faults=CHEAP_FAULTS, seed=21, variant="cheap"),
}  # fmt: skip
"""Every injectable bug the service can show, and how."""

NOT_EXPOSED: dict[str, str] = {
    "promise-on-equal-ballot": "needs a Prepare delivered twice at one ballot. The service never sends one "
    "twice: each election is a fresh ballot, a Prepare is not retransmitted, TCP neither duplicates nor "
    "resends, and a frame lost with its connection is gone; an acceptor whose promise reached the ballot "
    "through an Accept (its Prepare lost) never sees that Prepare. The simulator, which duplicates messages, "
    "catches it.",
    "catchup-without-checksum": (
        "needs a catch-up reply that is corrupted or diverges from the receiver's log. Between real nodes there "
        "is none: replies travel over mutual TLS (a damaged frame fails its MAC), a node never holds damaged "
        "records (it refuses to start on them), and correct replicas never diverge, so the check it skips never "
        "fails (no Alarm record in any campaign trace) and skipping it changes nothing. The simulator, which "
        "corrupts messages, catches it; the campaign's attacker forges no decodable messages."
    ),
    "skip-holes": (
        "needs a new leader whose phase-1 quorum holds a vote in a later slot but none in an earlier one. A "
        "link is one ordered TCP stream and the leader resends an Accept short of a quorum every heartbeat "
        "(50 ms), so an acceptor lacks a slot below one it voted in only between a reset that lost it and the "
        "next heartbeat, and a quorum only if both acceptors' links lost it in that window just before the "
        "leader is lost; then the hole must outlast every later election. No such election was seen (docs)."
    ),
    "catchup-serves-votes": (
        "ships, as chosen, slots the server has only voted in. Followers learn each slot from the leader's "
        "Chosen broadcast, so such slots are the leader's own proposals in flight, chosen a few ms later with "
        "the value shipped: what the lagging node applies is what is chosen. Only a leader deposed in those ms, "
        "before any other acceptor voted, makes it differ, or the oracle's merge ordering the apply before the "
        "second vote (docs)."
    ),
    "catchup-only-on-traffic": (
        "leaves a follower that missed decisions behind only while no new command arrives. The campaign's "
        "clients never pause, and what a lagging follower holds is seen by no client (every answer comes "
        "from the leader applying the op in the log); the simulator's quiet-period check catches it."
    ),
}
"""Catalogue bugs of the service's core that no fault of the real service can expose, and why."""


def unaccounted() -> list[str]:
    """Bugs a node can carry with neither a tooth nor a reason why none can bite: gaps in the teeth."""
    return [mutant for mutant in MUTANTS if mutant not in TEETH and mutant not in NOT_EXPOSED]


@dataclass
class Bite:
    """A tooth's check: whether a run failed, after how many, and what failed it."""

    mutant: str
    caught: bool
    runs: int
    anomalies: list[str] = field(default_factory=list)
    seed: int | None = None

    @property
    def by(self) -> str:
        """Every judgement that objected, in the order of the run's anomalies."""
        return ", ".join(dict.fromkeys(caught_by(a) for a in self.anomalies))


def caught_by(anomaly: str) -> str:
    """The judgement an anomaly comes from, in a few words."""
    if found := re.match(r"oracle objects at \S+: ([\w-]+)", anomaly):
        return f"oracle: {found.group(1)}"
    for sign, by in (
        ("slot ", "two values applied in one slot"),
        ("the history is not linearizable", "paxiom lin: not linearizable"),
        ("lost; final value", "lost acknowledged write"),
        ("started on a log with a damaged synced record", "a node started on a damaged log"),
        ("did not answer a read", "no final read (liveness)"),
        ("node crash", "node crash"),
    ):
        if anomaly.startswith(sign) or sign in anomaly:
            return by
    return anomaly[:60]


def bite(mutant: str, out: Path) -> Bite:
    """Run `mutant`'s tooth, seed after seed, until a run fails or the tooth's budget is spent."""
    tooth = TEETH[mutant]
    nodes = [f"n{i}" for i in range(1, tooth.nodes + 1)]
    for i in range(tooth.runs):
        seed = tooth.seed + i
        schedule = tooth.schedule(nodes, tooth.duration) if tooth.schedule is not None else None
        spec = RunSpec(seed, tooth.nodes, tooth.duration, tooth.faults, mutant, schedule, variant=tooth.variant)
        directory = out / f"{mutant}-{seed}"
        report = asyncio.run(bounded(spec, directory, out / "foreign-tls"))
        if not report.ok:
            return Bite(mutant, True, i + 1, report.anomalies, seed)
    return Bite(mutant, False, tooth.runs)
