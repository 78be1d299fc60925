"""Seeded fault schedules, the bounded liveness check, and replay — runs the oracle judges.

`run` draws a schedule from a seeded generator (so `--seed` replays exactly), feeding every step to the
simulator with the refinement oracle watching; when the fault phase ends it appends one `quiesce` step:
faults stop, and within a bounded number of fair rounds every submitted command must be applied and
every replica caught up. `replay` runs a recorded schedule (a trace file's steps) the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paxiom.errors import PaxiomError
from paxiom.impl.fast.oracle import FastRefinementOracle
from paxiom.impl.messages import CatchUpReply, describe
from paxiom.impl.objection import Objection
from paxiom.impl.observe import JsonLines, Record
from paxiom.impl.oracle import RefinementOracle
from paxiom.impl.sim.simulator import ClusterSettings, Simulator, Step
from paxiom.impl.values import render_command

FAULTS = ("loss", "dup", "reorder", "delay", "partition", "crash", "corrupt")
"""loss/dup: drop or duplicate a message; reorder: deliver a random in-flight message rather than the
oldest; delay: a burst of ticks on one replica while messages wait; partition: cut the cluster in two,
both ways or (three times in ten) one way only, and later heal; crash: crash a replica (and later
restart it from its disk); corrupt: flip a byte in a catch-up reply."""

LIVENESS_ROUNDS = 100


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


def schedule(sim: Simulator, rng: random.Random, faults: Faults, churn: float = 1.0) -> Iterator[Step]:
    """An endless adversarial schedule: mostly deliveries and ticks, with the enabled faults mixed in.
    `churn` scales how often replicas crash, the network splits and clocks race ahead (leader changes)."""
    n = sim.settings.replicas
    command = 0
    crash, split, delay = 0.02 * churn, 0.02 * churn, 0.01 * churn
    while True:
        x = rng.random() * (0.95 + crash + split + delay)
        flight = list(sim.network.in_flight)
        if x < 0.06:
            for _ in range(rng.randrange(1, 4)):
                command += 1
                yield {"action": "submit", "replica": rng.randrange(n), **client_command(command, 5)}
        elif x < 0.16 or (x < 0.92 and not flight):
            yield {"action": "tick", "replica": rng.randrange(n)}
        elif x < 0.92:
            yield _message_step(rng, faults, flight, sim)
        elif x < 0.92 + crash:
            if "crash" in faults:
                down = [r for r, replica in enumerate(sim.replicas) if replica is None]
                if down and (len(down) == n or rng.random() < 0.6):
                    yield {"action": "restart", "replica": rng.choice(down)}
                else:
                    yield {"action": "crash", "replica": rng.choice([r for r in range(n) if r not in down])}
        elif x < 0.92 + crash + split:
            if "partition" in faults and n > 1:
                if sim.network.side is None:
                    kind = "oneway" if rng.random() < 0.3 else "partition"
                    yield {"action": kind, "side": sorted(rng.sample(range(n), rng.randrange(1, n)))}
                else:
                    yield {"action": "heal"}
        elif x < 0.92 + crash + split + delay and "delay" in faults:
            r = rng.randrange(n)
            for _ in range(rng.randrange(2, 2 * sim.settings.election_timeout)):
                yield {"action": "tick", "replica": r}


def client_command(number: int, keys: int, clients: int = 3) -> Step:
    """The `number`th command (from 1) of a workload of `clients` clients taking turns, each numbering its
    own commands from 1: the submit step's client, seq and command text."""
    return {
        "client": f"c{number % clients}",
        "seq": (number - 1) // clients + 1,
        "command": f"set k{number % keys} v{number}",
    }


def _message_step(rng: random.Random, faults: Faults, flight: list[int], sim: Simulator) -> Step:
    """Deliver a message (the oldest, or with reordering any), or lose, duplicate or corrupt one."""
    x = rng.random()
    if x < 0.08 and "loss" in faults:
        return {"action": "drop", "msg": rng.choice(flight)}
    if x < 0.14 and "dup" in faults:
        return {"action": "duplicate", "msg": rng.choice(flight)}
    if x < 0.19 and "corrupt" in faults:
        replies = [mid for mid in flight if isinstance(sim.network.in_flight[mid].msg, CatchUpReply)]
        if replies:
            return {"action": "corrupt", "msg": rng.choice(replies)}
    mid = rng.choice(flight) if "reorder" in faults and rng.random() < 0.5 else flight[0]
    return {"action": "deliver", "msg": mid}


def liveness_bound(sim: Simulator) -> int:
    """Fair rounds allowed after faults stop: enough to elect a leader and catch everyone up, plus a
    few round trips per pipeline-window's worth of commands still waiting."""
    per_round_trip = sim.settings.window * sim.settings.batch_size
    return LIVENESS_ROUNDS + 4 * -(-len(sim.unapplied()) // per_round_trip)


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

    def __init__(self, settings: ClusterSettings, invariants: bool = True, trace_dir: Path | None = None) -> None:
        self.trace = TraceDir(trace_dir, settings.quorums().nodes) if trace_dir is not None else None
        self.sim = Simulator(settings, [self.trace] if self.trace else [])
        oracle = FastRefinementOracle if settings.variant == "fastpaxos" else RefinementOracle
        self.oracle = oracle(settings.quorums(), invariants)
        self.sim.watch(self.oracle)
        self.result = RunResult(settings)
        self.names = settings.quorums().nodes
        self._started = time.perf_counter()

    def feed(self, step: Step) -> bool:
        """Take one step; False once the oracle has objected. Steps that name a message are recorded
        with a `note` saying which message it was, so a trace reads without replaying it."""
        if "msg" in step:
            step = self._resolve(step)
        self.result.steps.append(step)
        try:
            self.sim.step(step)
            if step["action"] == "quiesce":
                self._check_settled(int(step["rounds"]))
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

    def finish(self) -> RunResult:
        if self.trace is not None:
            self.trace.close()
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
) -> RunResult:
    """`steps` adversarial steps from the schedule seeded by `settings.seed`, then the liveness check."""
    execution = Execution(settings, trace_dir=trace_dir)
    rng = random.Random(f"schedule/{settings.seed}")
    adversary = schedule(execution.sim, rng, faults, churn)
    for i in range(steps):
        if not execution.feed(next(adversary)):
            return execution.finish()
        if progress is not None and i % 256 == 0:
            progress(i)
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
