"""What `paxiom trace check` tells a person: which record broke the check, and the commands it names."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl import observe
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.impl.values import Command, render_ops_with, render_value
from paxiom.node import kvstore as kv

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
    intent = max(j for j in range(i) if records[j]["type"] == "Intent" and records[j]["writes"] == records[i]["writes"])
    for j in (intent, i):  # the host announces the batch it syncs: a consistent forgery lowers both
        records[j]["writes"][0]["ballot"][1] -= 1
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    last = i + 1
    while records[last]["type"] in OUTPUTS:
        last += 1
    assert records[last - 1]["type"] == "Sent" and records[last]["type"] not in OUTPUTS  # the case reported
    code, doc = _check(tmp_path)
    assert code == 1 and doc["check"] == "promise_monotonicity"
    assert (doc["file"], doc["line"]) == (str(path), last)  # the Sent on line `last`, not the input after it


def test_an_objection_names_the_service_kvs_ops_readably(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=3, seed=2), 10, Faults(), trace_dir=tmp_path / "sim")
    start = json.loads((tmp_path / "sim" / "a1.jsonl").read_text().splitlines()[0])
    trace = tmp_path / "kv"
    trace.mkdir()
    ops = (kv.put_op("greeting", b"hello"), kv.cas_op("counter", None, b"1"), b"\x93\xff" * 20)
    applied = observe.Applied(0, 0, tuple(Command("c1", i, op) for i, op in enumerate(ops, 1)), (b"",) * 3)
    (trace / "a1.jsonl").write_text(json.dumps(start) + "\n" + observe.dumps(applied) + "\n")
    code, doc = _check(trace)
    assert code == 1 and doc["check"] == "apply-only-chosen"
    shown = "[c1#1 put greeting=hello, c1#2 cas counter (absent)->1, c1#3 0x93ff93ff93ff93ff93ff93ff93ff93ff...40B~"
    assert shown in doc["reason"] and "\\udc" not in doc["reason"]


def test_op_names_stay_unambiguous() -> None:
    render_ops_with(kv.render_op)
    ops = [
        kv.put_op("a", b"b=c"),
        kv.put_op("a=b", b"c"),
        kv.put_op("k", b"0xff"),
        kv.put_op("k", b"\xff"),
        kv.cas_op("k", None, b"1"),
        kv.cas_op("k", b"(absent)", b"1"),
        kv.get_op("k"),
        b"\xffget k",
        b"get k",
        bytes.fromhex("92a3676574a16b"),  # get k in msgpack: the very bytes get_op makes
        bytes.fromhex("92a3676574d9016b"),  # get k with a str8 header: not an encoding get_op produces
        b"\xff" * 33,
        b"\xff" * 32 + b"\xfe",
    ]
    names = {op: render_value((Command("c", 1, op),)) for op in ops}
    assert len(set(names.values())) == len(set(ops))
    assert names[kv.get_op("k")] == "[c#1 get k]" and names[b"get k"] == '[c#1 "get k"]'
