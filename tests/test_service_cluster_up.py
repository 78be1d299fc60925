"""`paxiom cluster up` as a user runs it: what it prints when a leader is elected, and when none is.

Each run is a real supervisor process with real node processes on loopback (ports from the OS); every
process is stopped whatever happens and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paxiom.node.supervisor import prepare

PAXIOM = str(Path(sys.executable).parent / "paxiom")
LEDGER = Path(__file__).parent.parent / "examples" / "embedding" / "ledger.py"

if sys.platform != "linux":  # process groups as the tests assume them
    pytestmark = pytest.mark.skip("Linux only")


def _kill_leftovers(directory: Path) -> None:
    """SIGKILL every node the supervisor's pids.json still names (a supervisor killed cannot stop them)."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        for pid in json.loads((directory / "pids.json").read_text()).values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def test_nodes_that_die_at_start_are_one_error_line_naming_the_log(tmp_path: Path) -> None:
    directory = tmp_path / "dev"
    path = prepare(directory, 3)
    path.write_text(
        path.read_text().replace(
            'phase1 = "majority(n1, n2, n3)"', 'phase1 = "1 of (n1, n2, n3)"\nphase2 = "2 of (n1, n2, n3)"'
        )
    )
    try:
        run = subprocess.run(
            [PAXIOM, "cluster", "up", "-n", "3", "--dir", str(directory), "--ready-timeout", "600", "--no-restart"],
            capture_output=True,
            text=True,
            timeout=60,  # well before the ready timeout: once no quorum of nodes is running it stops waiting
        )
    finally:
        _kill_leftovers(directory)
    assert run.returncode == 1
    assert run.stdout == ""  # no node table, no hint to use a cluster that is not there
    assert "None" not in run.stderr and len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith(
        f"paxiom: no leader possible: too few nodes still running; {directory / 'logs' / 'n1.log'}: "
    )
    assert "refusing to start on unsafe quorums" in run.stderr


@pytest.mark.parametrize("app", [None, f"{LEDGER}:Ledger"], ids=["kv", "app"])
def test_the_hint_fits_the_application(tmp_path: Path, app: str | None) -> None:
    directory = tmp_path / "dev"
    out = tmp_path / "up.out"
    command = [PAXIOM, "cluster", "up", "-n", "1", "--dir", str(directory), *(["--app", app] if app else [])]
    with out.open("wb") as stdout:
        up = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.DEVNULL, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while "leader:" not in out.read_text() and up.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        printed = out.read_text()
        up.send_signal(signal.SIGTERM)
        assert up.wait(30) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(5)
        _kill_leftovers(directory)
    assert "leader: n1" in printed, printed
    if app is None:
        assert "paxiom kv put greeting hello" in printed
    else:
        assert "kv put" not in printed and "execute(op)" in printed and "Embedding" in printed
