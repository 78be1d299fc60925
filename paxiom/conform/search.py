"""Searching for violations: hypothesis generates schedules, the world judges them, hypothesis shrinks.

Each search round asks `hypothesis.find` for a schedule that breaks a rule not reported yet, so one run can
report several distinct rules, each with its own shortest schedule; once a schedule fails, only the same
rule counts as failing, so a shrunk schedule never silently turns into a different bug, and shrinking is
given a bounded number of further runs (`SHRINK_BUDGET`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.machinery import PathFinder
from pathlib import Path
from random import Random
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from paxiom.conform.report import Finding, Report
from paxiom.conform.schedules import case_strategy, configs, setup_for
from paxiom.conform.suites import suite
from paxiom.conform.targets import AdapterTarget, Target
from paxiom.conform.world import Outcome, Step
from paxiom.errors import PaxiomError
from paxiom.fanout import IN_PROCESS, Pool, ordered

Case = tuple[int, list[Step]]

SHRINK_BUDGET = 200
"""Runs shrinking may take after the first failing schedule; then the smallest failing one so far is kept."""


SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
"""Where the throw-away data directories go: memory where there is a tmpfs (creating and removing them on
disk cost a sixth of the run time), else the system's temporary directory."""


def run_case(target: Target, role: str, case: Case, options: dict[str, str], variant: str = "paxos") -> Outcome:
    """Run one schedule of `variant` against fresh instances in a throw-away directory."""
    world = suite(variant, role).world
    workdir = Path(tempfile.mkdtemp(prefix="paxiom-conform-", dir=SCRATCH))
    return world(target, setup_for(variant, role, case[0], options), workdir).run(case[1])


class _Round:
    """One search for a rule not reported yet. Once a case fails, only the same rule counts as failing (so
    shrinking cannot slip to a different bug), and shrinking gets a bounded number of further runs."""

    def __init__(
        self,
        run: Callable[[Case], Outcome],
        known: set[str],
        shrink_budget: int,
        progress: Callable[[], tuple[float, int]],
        configs: int,
    ) -> None:
        self.run, self.known, self.shrink_budget, self.progress = run, known, shrink_budget, progress
        self.configs = configs
        self.rule: str | None = None
        self.detected_after = (0.0, 0)
        """(seconds, schedules run) when the first failing case was found, before shrinking."""
        self.best: tuple[Case, Outcome] | None = None
        self.runs_since_failure = 0
        self.cannot_start = False
        """The implementation failed its first start under every quorum system: every schedule would, so
        nothing more is run."""

    def fails(self, case: Case) -> bool:
        if self.best is not None:
            self.runs_since_failure += 1
            if self.cannot_start or self.runs_since_failure > self.shrink_budget:
                # nothing left to learn: only the current best still fails, so hypothesis stops where it is
                return repr(case) == repr(self.best[0])
        outcome = self.run(case)
        v = outcome.violation
        if v is None or v.rule in self.known or (self.rule is not None and v.rule != self.rule):
            return False
        if self.rule is None:
            self.rule, self.detected_after = v.rule, self.progress()
        self.best = (case, outcome)  # hypothesis only accepts a failing case smaller than its current one
        self.cannot_start = not outcome.started and not self.starts_elsewhere(case[0])
        return True

    def starts_elsewhere(self, config: int) -> bool:
        """Whether the implementation starts under some other quorum system (one that cannot express, say,
        Flexible quorums still gets its majority runs judged): one empty schedule per configuration."""
        return any(self.run((other, [])).started for other in range(self.configs) if other != config)

    def one_by_one(self) -> tuple[Case, Outcome]:
        """After hypothesis has shrunk: drop single steps it could not (an opening is drawn as one unit), as
        long as the same rule still breaks; at most one run per step."""
        assert self.best is not None
        (config, steps), outcome = self.best
        for i in reversed(range(len(steps) - 1)):  # the final `finish` stays
            shorter = (config, steps[:i] + steps[i + 1 :])
            again = self.run(shorter)
            if again.violation is not None and again.violation.rule == self.rule:
                (config, steps), outcome = shorter, again
        return (config, steps), outcome


def check(
    target: Target,
    role: str,
    *,
    max_examples: int,
    seed: int,
    options: dict[str, str] | None = None,
    max_findings: int = 3,
    max_steps: int = 30,
    on_example: Callable[[], None] = lambda: None,
    variant: str = "paxos",
) -> Report:
    options = options or {}
    suite(variant, role)  # a variant or role the suite has no judge for is a usage error before any run
    findings: list[Finding] = []
    judged: Counter[str] = Counter()
    examples = 0
    stopped: str | None = None
    started = time.monotonic()

    def run(case: Case) -> Outcome:
        nonlocal examples
        examples += 1
        on_example()
        outcome = run_case(target, role, case, options, variant)
        judged.update(outcome.judged)
        return outcome

    def progress() -> tuple[float, int]:
        return time.monotonic() - started, examples

    for round_no in range(max_findings):
        known = {f.rule for f in findings}
        search = _Round(run, known, SHRINK_BUDGET, progress, len(configs(variant)))
        with contextlib.suppress(NoSuchExample):
            find(
                case_strategy(variant, role, max_steps),
                search.fails,
                settings=settings(
                    max_examples=max_examples,
                    database=None,
                    deadline=None,
                    phases=(Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet,
                ),
                random=Random(seed + round_no),
            )
        if search.best is None:
            break
        (config, steps), outcome = search.best if search.cannot_start else search.one_by_one()
        if search.cannot_start:
            steps = []  # no step ran: the finding is the start itself
        detected = search.detected_after
        findings.append(Finding.of(outcome, config, steps, detected[0], detected[1], variant))
        if search.cannot_start:
            stopped = f"{target.name} could not start ({findings[-1].rule}), so no schedule could run"
            break
    return Report(
        target=target.name,
        role=role,
        seed=seed,
        max_examples=max_examples,
        findings=findings,
        examples=examples,
        seconds=time.monotonic() - started,
        judged=judged,
        stopped=stopped,
        variant=variant,
    )


def check_seeds(
    target: Target,
    role: str,
    seeds: Sequence[int],
    pool: Pool,
    *,
    max_findings: int = 3,
    on_report: Callable[[Report], None] = lambda r: None,
    **search: Any,
) -> Report:
    """`check` once per seed, fanned out over `pool` (`paxiom.fanout`) and merged in seed order: each rule's
    finding from the first seed that found it, at most `max_findings` in all, examples and judgements summed,
    so the report does not depend on how many workers ran it."""
    if pool != IN_PROCESS and isinstance(target, AdapterTarget):
        module = target.cls.__module__
        if PathFinder.find_spec(module.partition(".")[0]) is None:  # loaded from a file: workers cannot import it
            raise PaxiomError(f"{target.name} cannot be sent to worker processes ({module} is not importable)")
    started = time.monotonic()
    jobs = [(target, role, seed, {**search, "max_findings": max_findings}) for seed in seeds]
    reports = []
    for report in ordered(_check_seed, jobs, pool):
        on_report(report)
        reports.append(report)
    findings: list[Finding] = []
    for found in (f for r in reports for f in r.findings):
        if len(findings) < max_findings and found.rule not in {f.rule for f in findings}:
            findings.append(found)
    first = reports[0]
    return Report(
        target=first.target,
        role=role,
        seed=first.seed,
        max_examples=first.max_examples,
        findings=findings,
        examples=sum(r.examples for r in reports),
        seconds=time.monotonic() - started,
        judged=sum((r.judged for r in reports), Counter()),
        stopped=next((r.stopped for r in reports if r.stopped), None),
        variant=first.variant,
    )


def _check_seed(job: tuple[Target, str, int, dict[str, Any]]) -> Report:
    target, role, seed, search = job
    return check(target, role, seed=seed, **search)


def replay(
    target: Target,
    role: str,
    config: int,
    steps: Sequence[Step],
    options: dict[str, str],
    recorded: str | None = None,
    variant: str = "paxos",
) -> Report:
    """Run one recorded schedule once (from a replay file, which found `recorded`) and report what it shows
    now: a replay that no longer fails is the fix confirmed, not an inconclusive search."""
    started = time.monotonic()
    outcome = run_case(target, role, (config, list(steps)), options, variant)
    findings = [] if outcome.violation is None else [Finding.of(outcome, config, list(steps), 0.0, 1, variant)]
    seconds = time.monotonic() - started
    return Report(
        target.name, role, 0, 1, findings, 1, seconds, outcome.judged, replay_of=recorded or "", variant=variant
    )
