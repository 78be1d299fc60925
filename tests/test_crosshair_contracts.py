"""CrossHair has teeth: the spec's contracts hold, and a mutated acceptor rule is refuted with an example."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import paxiom.spec.acceptor as acceptor_module

CROSSHAIR = Path(sys.executable).parent / "crosshair"


def crosshair(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CROSSHAIR), "check", "--analysis_kind=PEP316", "--per_condition_timeout=8", str(path)],
        capture_output=True, text=True, timeout=240, cwd=path.parent,
    )


@pytest.mark.parametrize(
    ("original", "mutant"),
    [
        ("    if b <= acc.max_bal:\n", "    if b < acc.max_bal:\n"),  # promise the same ballot twice
        ("    if b < acc.max_bal:\n", "    if b < acc.max_bal - 1:\n"),  # vote just below the promise
        ("    return Acceptor(b, b, v)\n", "    return Acceptor(acc.max_bal, b, v)\n"),  # vote without raising
    ],
)
def test_crosshair_refutes_a_mutated_acceptor(tmp_path: Path, original: str, mutant: str) -> None:
    source = Path(acceptor_module.__file__).read_text()
    assert original in source
    target = tmp_path / "acceptor_mutant.py"
    target.write_text(source.replace(original, mutant, 1))
    result = crosshair(target)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "false when calling" in result.stdout


def test_contracts_hold_on_the_real_acceptor(tmp_path: Path) -> None:
    target = tmp_path / "acceptor_copy.py"
    shutil.copy(acceptor_module.__file__, target)
    result = crosshair(target)
    assert result.returncode == 0, result.stdout + result.stderr
