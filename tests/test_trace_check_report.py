"""What `paxiom trace check` tells a person: which record broke the check, and the commands it names."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings

OUTPUTS = {"Sent", "Applied", "Restored", "Alarm"}
"""Records that belong to the transition before them (the host's outputs), as the oracle groups them."""


def _check(directory: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["trace", "check", str(directory), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_an_objection_names_the_last_record_of_the_transition_that_broke_the_check(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=3, seed=2), 100, Faults(), trace_dir=tmp_path)
    path = tmp_path / "a1.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    # a raised promise whose sync is followed by the Promise it allows: record a lower ballot as synced
    i = next(
        i
        for i, r in enumerate(records)
        if r["type"] == "Synced" and [w["type"] for w in r["writes"]] == ["SavePromise"] and r["writes"][0]["ballot"][1]
    )
    records[i]["writes"][0]["ballot"][1] -= 1
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    last = i + 1
    while records[last]["type"] in OUTPUTS:
        last += 1
    assert records[last - 1]["type"] == "Sent" and records[last]["type"] not in OUTPUTS  # the case reported
    code, doc = _check(tmp_path)
    assert code == 1 and doc["check"] == "promise_monotonicity"
    assert (doc["file"], doc["line"]) == (str(path), last)  # the Sent on line `last`, not the input after it
