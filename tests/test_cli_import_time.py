"""The CLI starts in well under a second because its verbs import their heavy dependencies only when run.

`paxiom --help` imports every verb's module (it lists their one-line helps) and `paxiom quorum check` runs
one verb: neither may import Z3, hypothesis, cryptography, prometheus_client, scipy or the explorer. The
test reads Python's own import list (`-X importtime`), not a clock: machines are too noisy for timings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("z3", "hypothesis", "cryptography", "prometheus_client", "scipy", "paxiom.explorer")
RUN = "import sys; from paxiom.cli.main import main; sys.argv = ['paxiom', *sys.argv[1:]]; main()"


def imported(code: str, *args: str) -> set[str]:
    """Every module a fresh interpreter imports running `code` with `args`, by `-X importtime`'s report."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}  # the first line is the header


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    ("code", "args"),
    [
        ("import paxiom.cli.main", ()),
        (RUN, ("--help",)),
        (RUN, ("quorum", "check", "examples/quorums/three-dc.toml")),
    ],
    ids=["import", "help", "quorum-check"],
)
def test_the_cli_imports_no_heavy_dependency(code: str, args: tuple[str, ...]) -> None:
    modules = imported(code, *args)
    assert "paxiom.cli.main" in modules  # the report was read
    assert heavy(modules) == []


def test_a_verb_that_runs_still_imports_what_it_needs() -> None:
    """The check above sees imports: `explore` really runs the explorer (and `prove --list` Z3)."""
    assert heavy(imported(RUN, "explore", "-n", "1", "-b", "0", "-v", "1")) != []
    assert "z3" in imported(RUN, "prove", "--list", "--variant", "paxos")
