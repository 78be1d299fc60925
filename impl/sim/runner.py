"""Seeded fault schedules, the bounded liveness check, and replay — runs the oracle judges.

`run` draws a schedule from a seeded generator (so `--seed` replays exactly), feeding every step to the
simulator with the refinement oracle watching; when the fault phase ends it appends one `quiesce` step:
faults stop, and within a bounded number of fair rounds every submitted command must be applied and
every replica caught up. `replay` runs a recorded schedule (a trace file's steps) the same way.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.impl.fast.oracle import FastRefinementOracle
from paxiom.impl.messages import CatchUpReply, describe
from paxiom.impl.objection import Objection
from paxiom.impl.observe import JsonLines, Record
from paxiom.impl.oracle import RefinementOracle
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig_oracle import CheapOracle, ReconfigOracle
from paxiom.impl.sim.coverage import Coverage
from paxiom.impl.sim.reconfigure import reconfigurations
from paxiom.impl.sim.simulator import ClusterSettings, Simulator, Step
from paxiom.impl.sim.tactics import Workload, finale, tactic
from paxiom.impl.values import render_command

FAULTS = ("loss", "dup", "reorder", "delay", "partition", "crash", "corrupt")
"""loss/dup: drop or duplicate a message; reorder: deliver a random in-flight message rather than the
oldest; delay: a burst of ticks on one replica while messages wait; partition: cut the cluster in two,
both ways or (three times in ten) one way only, and later heal; crash: crash a replica (and later
restart it from its disk); corrupt: flip a byte in a catch-up reply."""

LIVENESS_ROUNDS = 100
QUIET_ROUNDS = 60
"""Fair rounds of the quiet period beyond the backlog's (`quiet_bound`): time for an election (a few
election timeouts) and a catch-up."""
EPILOGUES = ("quiet", "quiesce")
TACTIC_RATE = 0.02
"""Per step, the chance a biased schedule starts a tactic (tactics are a few dozen steps long)."""


@dataclass(frozen=True)
class Faults:
    enabled: frozenset[str] = frozenset(FAULTS)

    @staticmethod
    def parse(text: str) -> Faults:
        """`all`, `none`, or a comma-separated list of fault names."""
        if text.strip() == "all":
            return Faults()
        if text.strip() == "none":
            return Faults(frozenset())
        names = frozenset(part.strip() for part in text.split(",") if part.strip())
        unknown = names - set(FAULTS)
        if unknown:
            raise PaxiomError(f"unknown faults {sorted(unknown)} (known: {', '.join(FAULTS)}, all, none)")
        return Faults(names)

    def __contains__(self, name: str) -> bool:
        return name in self.enabled


@dataclass(frozen=True)
class Mix:
    """How often the adversary does what. Top-level moves are drawn by weight (`pause` draws do nothing);
    `loss`, `dup` and `corrupt` are shares of the message moves, `reorder` the chance a delivery picks any
    in-flight message rather than the oldest, `oneway` the share of one-way partitions. The defaults
    are the uniform schedule; `swarm` draws a run's own mix."""

    submit: float = 0.06
    tick: float = 0.10
    message: float = 0.76
    pause: float = 0.03
    crash: float = 0.02
    split: float = 0.02
    delay: float = 0.01
    loss: float = 0.08
    dup: float = 0.06
    corrupt: float = 0.05
    reorder: float = 0.5
    oneway: float = 0.3
    tactic: float = 0.0
    """Per step, the chance of a coverage-directed tactic (`impl.sim.tactics`; only with a `Coverage`)."""
    finale: float = 0.0
    """The chance the fault phase ends in the finale (`impl.sim.tactics.FINALE`), whose outcome then meets
    the quiet period and the final check untouched by later faults."""

    def churned(self, churn: float) -> Mix:
        """Crashes, splits and clock bursts `churn` times as often (more leader changes)."""
        return dataclasses.replace(self, crash=self.crash * churn, split=self.split * churn, delay=self.delay * churn)

    @staticmethod
    def swarm(rng: random.Random, faults: Faults) -> tuple[Mix, Faults]:
        """Swarm testing (Groce et al.; FoundationDB, TigerBeetle): a run's own subset of `faults`, each
        kept with probability one half, and its own rates, so some runs are calm and some are storms, and
        no fault's moves always crowd out the interleavings another needs. One run in four keeps the
        uniform mix of every fault: bugs that need all of them at once (duplicates among crashes among
        partitions) are not left to chance."""
        if rng.random() < 0.25:
            return Mix(), faults
        kept = frozenset(f for f in sorted(faults.enabled) if rng.random() < 0.5)
        mix = Mix(
            submit=rng.uniform(0.02, 0.15),
            tick=rng.uniform(0.05, 0.3),
            crash=rng.uniform(0.0, 0.06),
            split=rng.uniform(0.0, 0.06),
            delay=rng.uniform(0.0, 0.05),
            loss=rng.uniform(0.0, 0.3),
            dup=rng.uniform(0.0, 0.2),
            corrupt=rng.uniform(0.0, 0.15),
            reorder=rng.random(),
            oneway=rng.random(),
        )
        return mix, Faults(kept)

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def schedule(
    sim: Simulator,
    rng: random.Random,
    faults: Faults,
    churn: float = 1.0,
    mix: Mix | None = None,
    coverage: Coverage | None = None,
    allowed: Faults | None = None,
    workload: Workload | None = None,
) -> Iterator[Step]:
    """An endless adversarial schedule: mostly deliveries and ticks, with the enabled faults mixed in.
    `churn` scales how often replicas crash, the network splits and clocks race ahead (leader changes).
    Given a `coverage` and a mix with `tactic` > 0, some steps are tactics aimed at the dangerous
    interleavings the run has reached least so far, using any fault in `allowed` (default: `faults`; a
    swarm run draws `faults` from it)."""
    mix = (mix or Mix()).churned(churn)
    n = sim.settings.replicas
    workload = workload or Workload()
    crash, split, delay = mix.crash, mix.split, mix.delay
    submit, tick, message = mix.submit, mix.submit + mix.tick, mix.submit + mix.tick + mix.message
    total = message + mix.pause + crash + split + delay
    while True:
        if coverage is not None and mix.tactic and rng.random() < mix.tactic:
            yield from tactic(sim, rng, allowed or faults, coverage, workload)
            continue
        x = rng.random() * total
        flight = list(sim.network.in_flight)
        if x < submit:
            for _ in range(rng.randrange(1, 4)):
                yield workload.submit(rng.randrange(n))
        elif x < tick or (x < message and not flight):
            yield {"action": "tick", "replica": rng.randrange(n)}
        elif x < message:
            yield _message_step(rng, faults, flight, sim, mix)
        elif x < message + crash:
            if "crash" in faults:
                down = [r for r, replica in enumerate(sim.replicas) if replica is None]
                if down and (len(down) == n or rng.random() < 0.6):
                    yield {"action": "restart", "replica": rng.choice(down)}
                else:
                    yield {"action": "crash", "replica": rng.choice([r for r in range(n) if r not in down])}
        elif x < message + crash + split:
            if "partition" in faults and n > 1:
                if sim.network.side is None:
                    kind = "oneway" if rng.random() < mix.oneway else "partition"
                    yield {"action": kind, "side": sorted(rng.sample(range(n), rng.randrange(1, n)))}
                else:
                    yield {"action": "heal"}
        elif x < message + crash + split + delay and "delay" in faults:
            r = rng.randrange(n)
            for _ in range(rng.randrange(2, 2 * sim.settings.election_timeout)):
                yield {"action": "tick", "replica": r}


def _message_step(rng: random.Random, faults: Faults, flight: list[int], sim: Simulator, mix: Mix) -> Step:
    """Deliver a message (the oldest, or with reordering any), or lose, duplicate or corrupt one."""
    x = rng.random()
    if x < mix.loss and "loss" in faults:
        return {"action": "drop", "msg": rng.choice(flight)}
    if x < mix.loss + mix.dup and "dup" in faults:
        return {"action": "duplicate", "msg": rng.choice(flight)}
    if x < mix.loss + mix.dup + mix.corrupt and "corrupt" in faults:
        replies = [mid for mid in flight if isinstance(sim.network.in_flight[mid].msg, CatchUpReply)]
        if replies:
            return {"action": "corrupt", "msg": rng.choice(replies)}
    mid = rng.choice(flight) if "reorder" in faults and rng.random() < mix.reorder else flight[0]
    return {"action": "deliver", "msg": mid}


def backlog_rounds(sim: Simulator) -> int:
    """A few round trips per pipeline-window's worth of commands still waiting (a reconfiguring
    cluster's pipeline is at most α slots deep): a leader keeps deciding its queued commands after the
    clients fall silent, so its commit index moves on until the queue is drained."""
    depth = sim.settings.window if sim.configs[0].alpha is None else min(sim.settings.window, sim.configs[0].alpha)
    per_round_trip = depth * sim.settings.batch_size
    return 4 * -(-len(sim.unapplied()) // per_round_trip)


def liveness_bound(sim: Simulator) -> int:
    """Fair rounds allowed after faults stop: enough to elect a leader and catch everyone up, plus the
    backlog's."""
    return LIVENESS_ROUNDS + backlog_rounds(sim)


def quiet_bound(sim: Simulator) -> int:
    """Fair rounds of the quiet period: `QUIET_ROUNDS` once the backlog is drained. While a leader decides
    a slot every round, the others learn it a round later and never stand at its commit index, so a bound
    blind to the backlog objects to a cluster that is only busy."""
    return QUIET_ROUNDS + backlog_rounds(sim)


@dataclass
class RunResult:
    settings: ClusterSettings
    steps: list[Step] = field(default_factory=list)
    objection: Objection | None = None
    transitions: int = 0
    actions_matched: int = 0
    seconds: float = 0.0
    liveness_rounds: int | None = None
    """Fair rounds the cluster needed to settle after faults stopped (None if it never got there)."""
    refused: int = 0
    """Corrupted or divergent catch-up replies the replicas detected by checksum and refused."""
    quiet_rounds: int | None = None
    """Fair rounds of the quiet period every replica needed to reach the leader's commit index."""
    coverage: dict[str, Any] | None = None
    """`Coverage.to_json()` of the fault phase, when the run counted it."""
    mix: dict[str, Any] | None = None
    """The fault mix and rates a swarm run drew."""

    @property
    def holds(self) -> bool:
        return self.objection is None


class TraceDir:
    """Writes every replica's observation records to `DIR/<replica>.jsonl`, as separate processes would
    (`paxiom trace check DIR` judges them offline)."""

    def __init__(self, directory: Path, names: tuple[str, ...]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.files = [JsonLines(directory / f"{name}.jsonl") for name in names]

    def on_records(self, replica: int, records: list[Record]) -> None:
        for record in records:
            self.files[replica](record)

    def end_step(self, index: int, step: Step) -> None:
        pass

    def close(self) -> None:
        for file in self.files:
            file.close()


class Execution:
    """One simulated cluster under the oracle, fed step by step (its records also written to
    `trace_dir` if given)."""

    def __init__(
        self, settings: ClusterSettings, invariants: bool = True, trace_dir: Path | None = None, coverage: bool = False
    ) -> None:
        self.trace = TraceDir(trace_dir, settings.quorums().nodes) if trace_dir is not None else None
        self.sim = Simulator(settings, [self.trace] if self.trace else [])
        if settings.variant == "reconfig":
            self.oracle: RefinementOracle = ReconfigOracle(settings.quorums(), settings.alpha, invariants)
        elif settings.variant == "cheap":
            self.oracle = CheapOracle(settings.quorums(), settings.alpha, settings.mains, invariants)
        else:
            oracle = FastRefinementOracle if settings.variant == "fastpaxos" else RefinementOracle
            self.oracle = oracle(settings.quorums(), invariants)
        self.sim.watch(self.oracle)
        self.coverage = Coverage(self.sim.network) if coverage else None
        if self.coverage is not None:
            self.sim.watch(self.coverage)
        self.result = RunResult(settings)
        self.names = settings.quorums().nodes
        self._started = time.perf_counter()

    def feed(self, step: Step) -> bool:
        """Take one step; False once the oracle has objected. Steps that name a message are recorded
        with a `note` saying which message it was, so a trace reads without replaying it."""
        if "msg" in step:
            step = self._resolve(step)
        self.result.steps.append(step)
        if self.coverage is not None and step["action"] in EPILOGUES:
            self.coverage.stop()
        try:
            self.sim.step(step)
            if step["action"] == "quiesce":
                self._check_settled(int(step["rounds"]))
            elif step["action"] == "quiet":
                self._check_quiet(int(step["rounds"]))
        except Objection as objection:
            self.result.objection = objection
        return self.result.objection is None

    def _resolve(self, step: Step) -> Step:
        """Pin a message step to the message its note describes. Message ids are handed out in sending
        order, so deleting an earlier step (as the shrinker does) renumbers later messages; the note
        keeps naming the same message — or, if that exact message no longer exists (say its ballot
        changed), the oldest in flight of the same kind between the same replicas. A step with neither
        is skipped."""
        flight = self.sim.network.in_flight
        envelope = flight.get(step["msg"])
        note = step.get("note")
        if note is not None and (envelope is None or describe(envelope, self.names) != note):
            notes = {m: describe(e, self.names) for m, e in flight.items()}
            kind = note.split("(")[0]
            mid = next((m for m, text in notes.items() if text == note), None)
            if mid is None:
                mid = next((m for m, text in notes.items() if text.split("(")[0] == kind), None)
            if mid is None:
                return {**step, "msg": -1}
            envelope, step = flight[mid], {**step, "msg": mid}
        return step if envelope is None else {**step, "note": describe(envelope, self.names)}

    def _check_settled(self, rounds: int) -> None:
        if self.sim.settled():
            self.result.liveness_rounds = self.sim.last_quiesce
            self.oracle.final_check()
            return
        missing, lagging = self.sim.unapplied(), self.sim.lagging()
        parts = []
        if missing:
            parts.append(f"{len(missing)} submitted commands never applied (first: {render_command(missing[0])})")
        if lagging:
            parts.append(f"replicas {[self.sim.settings.quorums().nodes[r] for r in lagging]} never caught up")
        raise Objection(
            "liveness", f"{rounds} fair rounds after faults stopped: " + "; ".join(parts), self.sim.steps_taken - 1
        )

    def _check_quiet(self, rounds: int) -> None:
        if self.sim.last_quiet <= rounds:
            self.result.quiet_rounds = self.sim.last_quiet
            return
        names = self.sim.settings.quorums().nodes
        leaders = [names[r] for r, rep in enumerate(self.sim.replicas) if rep and rep.proposer.role is Role.LEADER]
        commits = ", ".join(f"{names[r]} {rep.commit}" for r, rep in enumerate(self.sim.replicas) if rep)
        state = f"leader {', '.join(leaders)}; commit indexes {commits}" if leaders else "no leader"
        raise Objection(
            "quiet-liveness",
            f"{rounds} quiet fair rounds (no faults, no new commands) and not every replica reached the "
            f"leader's commit index: {state}",
            self.sim.steps_taken - 1,
        )

    def finish(self) -> RunResult:
        if self.trace is not None:
            self.trace.close()
        if self.coverage is not None:
            self.result.coverage = self.coverage.to_json()
        self.result.transitions = self.oracle.transitions
        self.result.actions_matched = self.oracle.actions_matched
        self.result.refused = len(self.sim.alarms)
        self.result.seconds = time.perf_counter() - self._started
        return self.result


def run(
    settings: ClusterSettings,
    steps: int,
    faults: Faults,
    liveness_rounds: int | None = None,
    progress: Callable[[int], None] | None = None,
    churn: float = 1.0,
    trace_dir: Path | None = None,
    *,
    swarm: bool = False,
    bias: bool = False,
    coverage: bool = False,
    quiet: bool = True,
) -> RunResult:
    """`steps` adversarial steps from the schedule seeded by `settings.seed`, then the quiet period (unless
    `quiet` is False) and the liveness check. `swarm`: the run draws its own fault mix (`Mix.swarm`);
    `bias`: tactics aim at the interleavings least reached so far (it counts coverage); `coverage`: count
    them (`RunResult.coverage`)."""
    execution = Execution(settings, trace_dir=trace_dir, coverage=coverage or bias)
    rng = random.Random(f"schedule/{settings.seed}")
    mix, allowed = Mix(), faults
    if swarm:
        mix, faults = Mix.swarm(random.Random(f"swarm/{settings.seed}"), faults)
    if bias:
        mix = dataclasses.replace(mix, tactic=TACTIC_RATE, finale=1.0)
    if swarm or bias:
        execution.result.mix = {"faults": sorted(faults.enabled), **mix.to_json()}
    work = Workload()
    adversary = reconfigurations(
        settings, schedule(execution.sim, rng, faults, churn, mix, execution.coverage, allowed, work)
    )
    for i in range(steps):
        if not execution.feed(next(adversary)):
            return execution.finish()
        if progress is not None and i % 256 == 0:
            progress(i)
    if execution.coverage is not None and mix.tactic and rng.random() < mix.finale:
        for step in finale(execution.sim, rng, allowed, execution.coverage, work):
            if not execution.feed(step):
                return execution.finish()
    if quiet and not execution.feed({"action": "quiet", "rounds": quiet_bound(execution.sim)}):
        return execution.finish()
    bound = liveness_bound(execution.sim) if liveness_rounds is None else liveness_rounds
    execution.feed({"action": "quiesce", "rounds": bound})
    return execution.finish()


def replay(
    settings: ClusterSettings, steps: list[Step], invariants: bool = True, trace_dir: Path | None = None
) -> RunResult:
    execution = Execution(settings, invariants, trace_dir)
    for step in steps:
        if not execution.feed(step):
            break
    return execution.finish()
