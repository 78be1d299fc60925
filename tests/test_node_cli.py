"""`paxiom node --app`: which application a node replicates, and its refusals as one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paxiom.cli.node_cmd import load_app
from paxiom.errors import PaxiomError
from paxiom.node.kvstore import KVStore

LEDGER = Path(__file__).parent.parent / "examples" / "embedding" / "ledger.py"
PAXIOM = str(Path(sys.executable).parent / "paxiom")


def test_app_specs_load_a_factory() -> None:
    assert load_app(None) is KVStore
    assert load_app("paxiom.node.kvstore:KVStore") is KVStore
    assert load_app(f"{LEDGER}:Ledger")().apply(b'{"do": "total"}') == b'{"accounts": 0, "ok": true, "total": 0}'


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("KVStore", "MODULE:CLASS"),
        ("no.such.module:X", "cannot import"),
        ("paxiom.node.kvstore:Nope", "no class"),
        ("/nowhere.py:X", "cannot load"),
    ],
)
def test_bad_app_specs_are_named(spec: str, problem: str) -> None:
    with pytest.raises(PaxiomError, match=problem):
        load_app(spec)


def test_missing_options_are_one_line_exit_2(tmp_path: Path) -> None:
    run = subprocess.run([PAXIOM, "node", "--id", "n1"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--config, --id and --data-dir are required" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
