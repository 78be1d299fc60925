"""Searching for violations: hypothesis generates schedules, the world judges them, hypothesis shrinks.

Each search round asks `hypothesis.find` for a schedule that breaks a rule not reported yet, so one run can
report several distinct rules, each with its own shortest schedule; the shrinker is told to keep the same
rule, so a shrunk schedule never silently turns into a different bug.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from random import Random

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from paxiom.conform.report import Finding, Report
from paxiom.conform.schedules import case_strategy, setup_for
from paxiom.conform.targets import Target
from paxiom.conform.world import Outcome, Step, World

Case = tuple[int, list[Step]]


def run_case(target: Target, role: str, case: Case, options: dict[str, str]) -> Outcome:
    """Run one schedule against fresh instances in a throw-away directory."""
    workdir = Path(tempfile.mkdtemp(prefix="paxiom-conform-"))
    return World(target, setup_for(role, case[0], options), workdir).run(case[1])


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
) -> Report:
    options = options or {}
    findings: list[Finding] = []
    judged: Counter[str] = Counter()
    examples = 0
    started = time.monotonic()
    for round_no in range(max_findings):
        known = {f.rule for f in findings}
        failing: dict[str, Outcome] = {}
        first_failure: list[tuple[float, int]] = []

        def breaks_new_rule(
            case: Case,
            known: set[str] = known,
            failing: dict[str, Outcome] = failing,
            first_failure: list[tuple[float, int]] = first_failure,
        ) -> bool:
            nonlocal examples
            examples += 1
            on_example()
            outcome = run_case(target, role, case, options)
            judged.update(outcome.judged)
            if outcome.violation is None or outcome.violation.rule in known:
                return False
            if not first_failure:
                first_failure.append((time.monotonic() - started, examples))
            failing[repr(case)] = outcome
            return True

        try:
            case = find(
                case_strategy(role, max_steps),
                breaks_new_rule,
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
        except NoSuchExample:
            break
        outcome = failing[repr(case)]
        assert outcome.violation is not None
        seconds, nth = first_failure[0]
        findings.append(Finding.of(outcome, case[0], case[1], seconds, nth))
    return Report(
        target=target.name,
        role=role,
        seed=seed,
        max_examples=max_examples,
        findings=findings,
        examples=examples,
        seconds=time.monotonic() - started,
        judged=judged,
    )


def replay(target: Target, role: str, config: int, steps: Sequence[Step], options: dict[str, str]) -> Report:
    """Run one recorded schedule once (from a replay file) and report what it shows now."""
    started = time.monotonic()
    outcome = run_case(target, role, (config, list(steps)), options)
    findings = [] if outcome.violation is None else [Finding.of(outcome, config, list(steps), 0.0, 1)]
    return Report(target.name, role, 0, 1, findings, 1, time.monotonic() - started, outcome.judged)
