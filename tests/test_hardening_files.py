"""Hostile and malformed files: each defect of issue 14's file-reading half, as a regression test through the CLI.

Every case asserts the promise itself: exit 2 with exactly one line on stderr naming `file:line:col` (and the
field where there is one), never a traceback; with --json, one strict JSON document on stdout.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.cluster import load_cluster, parse_cluster
from paxiom.cluster.expr import Gate, Leaf
from paxiom.cluster.selection import TooLarge, cheapest_selection
from paxiom.cluster.tolerance import min_crashes
from paxiom.errors import PaxiomError
from paxiom.inputs import MAX_NESTING, read_json
from paxiom.schema import validate_sim_trace

EXAMPLES = Path(__file__).parent.parent / "examples" / "quorums"
SAFE = (EXAMPLES / "three-dc.toml").read_text()


def reject(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def bad_input(*args: str, where: str, words: str) -> str:
    """Run with --json; assert exit 2, one stderr line starting at `where`, one strict JSON document."""
    code, out, err = run(*args, "--json")
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    message = lines[0].removeprefix("paxiom: error: ")
    assert re.match(where, message), message
    assert words in message, message
    assert json.loads(out, parse_constant=reject)["error"] == message
    return message


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def cluster_with(quorums: str, nodes: str = '["a", "b", "c"]', extra: str = "") -> str:
    return f'nodes = {nodes}\n{extra}\n[quorums]\nphase1 = "{quorums}"\n'


# --- non-UTF-8 -----------------------------------------------------------------------------------------------------

NOT_UTF8 = SAFE.replace('"a2"', '"a\xe92"', 1).encode("latin-1")
LINE_OF_A2 = next(i for i, line in enumerate(SAFE.splitlines(), 1) if '"a2"' in line)
COL_OF_A2 = SAFE.splitlines()[LINE_OF_A2 - 1].index('"a2"') + 3


@pytest.mark.parametrize(
    "verb",
    [
        ("quorum", "check"),
        ("explore", "--quorums"),
        ("prove", "--config"),
        ("tla", "export", "--out", "OUT"),
    ],
)
def test_a_cluster_file_that_is_not_utf8_is_one_line_at_its_byte(tmp_path: Path, verb: tuple[str, ...]) -> None:
    path = write(tmp_path, "c.toml", NOT_UTF8)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in verb]
    args = [*args[:2], path, *args[2:]] if verb[0] == "tla" else [*args, path]
    bad_input(*args, where=rf"{re.escape(path)}:{LINE_OF_A2}:{COL_OF_A2}: ", words="not UTF-8 (byte 0xe9)")


def test_a_trace_file_that_is_not_utf8_is_one_line_at_its_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", b'{"variant": "paxos",\n  "x": "\xff"}')
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:2:9: ", words="not UTF-8 (byte 0xff)")


# --- deep nesting ----------------------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    expr = "a"
    for i in range(depth):
        expr = f"any({expr}, b)" if i % 2 else f"all({expr}, c)"
    return expr


def test_expressions_nest_to_the_documented_limit_and_no_further(tmp_path: Path) -> None:
    deepest = write(tmp_path, "deep.toml", cluster_with(nested(100)))
    code, out, _ = run("quorum", "check", deepest, "--json")
    assert code in (0, 1) and json.loads(out)["fault_tolerance"]["phase1"]["min_crashes"] >= 1
    for depth in (101, 330, 5000):  # 330 used to be a RecursionError
        path = write(tmp_path, f"d{depth}.toml", cluster_with(nested(depth)))
        bad_input("quorum", "check", path, where=rf"{re.escape(path)}:4:\d+: ", words="nested more than 100 deep")


def test_a_chain_of_zones_is_expanded_without_recursion_up_to_its_limit(tmp_path: Path) -> None:
    def chain(length: int) -> str:
        zones = "\n".join(f'z{i} = ["n{i}"' + (f', "z{i + 1}"]' if i + 1 < length else "]") for i in range(length))
        nodes = ", ".join(f'"n{i}"' for i in range(length))
        return f'nodes = [{nodes}]\n[zones]\n{zones}\n[quorums]\nphase1 = "majority(z0)"\n'

    assert load_cluster(write(tmp_path, "ok.toml", chain(64))).zones["z0"] == tuple(range(64))
    path = write(tmp_path, "chain.toml", chain(1000))
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:\d+:\d+: ", words="zones nest more than 64 deep")


@pytest.mark.parametrize("opening", ["[", "{a = "])
def test_deeply_nested_toml_is_refused_before_the_parser_recurses(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    path = write(tmp_path, "n.toml", f'nodes = ["a"]\nx = {opening * 1000}1{closing * 1000}\n')
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:2:\d+: ", words=f"nested more than {MAX_NESTING}")


def test_deeply_nested_trace_json_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '{"variant": "paxos", "steps": ' + "[" * 1000 + "]" * 1000 + "}")
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:1:\d+: ", words="nested more than 64 deep")


# --- huge numbers ----------------------------------------------------------------------------------------------------


def test_a_threshold_of_thousands_of_digits_is_larger_than_any_total_weight(tmp_path: Path) -> None:
    path = write(tmp_path, "k.toml", cluster_with(f"{'9' * 4301} of (a, b, c)"))
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:4:11: ", words="is larger than the total weight 3")


@pytest.mark.parametrize(("weight", "words"), [("1" + "0" * 20, "up to 10^18"), ("9" * 5000, "too many digits")])
def test_huge_weights_are_refused_with_their_limit(tmp_path: Path, weight: str, words: str) -> None:
    path = write(tmp_path, "w.toml", cluster_with("majority(a, b, c)", extra=f"[weights]\na = {weight}"))
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:3:\d+: ", words=words)


def test_weights_of_a_billion_cost_neither_memory_nor_time(tmp_path: Path) -> None:
    weights = "\n".join(
        f"{n} = {w}" for n, w in zip("abcdefg", (10**9, 10**9 - 7, 999_999_937, 10**18, 3, 5, 7), strict=True)
    )
    equal = "\n".join(f"{n} = {10**9}" for n in "abcdefg")
    nodes = '["a", "b", "c", "d", "e", "f", "g"]'
    for table in (weights, equal):
        text = cluster_with("majority(a, b, c, d, e, f, g)", nodes=nodes, extra=f"[weights]\n{table}")
        path = write(tmp_path, "big.toml", text + 'phase2 = "2 of (majority(a, b, c), majority(d, e, f, g), g)"\n')
        tracemalloc.start()
        started = time.perf_counter()
        code, out, _ = run("quorum", "check", path, "--json")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert code in (0, 1) and time.perf_counter() - started < 30
        assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB"  # the table sized by the weights took gigabytes
        doc = json.loads(out, parse_constant=reject)
        assert doc["fault_tolerance"]["phase1"]["min_crashes"] == (1 if table is weights else 4)


def test_bounded_selection_agrees_with_brute_force_and_refuses_what_it_cannot_table() -> None:
    import itertools
    import random

    rng = random.Random(14)
    for _ in range(300):
        size = rng.randrange(1, 7)
        options = [
            (float(rng.randrange(1, 4)), 1 << i, rng.choice((1, 2, 3, 10**9, 2 * 10**9 + 1))) for i in range(size)
        ]
        need = rng.randrange(1, sum(w for *_, w in options) + 1)
        best = min(
            sum(options[i][0] for i in chosen)
            for r in range(size + 1)
            for chosen in itertools.combinations(range(size), r)
            if sum(options[i][2] for i in chosen) >= need
        )
        cost, mask = cheapest_selection(options, need)
        assert cost == best and sum(w for _, m, w in options if m & mask) >= need
    varied = [(0.5 + i / 1000, 1 << i, 10**9 + i) for i in range(200)]  # float costs: no cost table either
    with pytest.raises(TooLarge):
        cheapest_selection(varied, 100 * 10**9)


def test_tolerance_falls_back_to_z3_when_the_table_would_be_too_large() -> None:
    weights = [10**9 + 7 * i for i in range(12)]
    expr = Gate("of", sum(weights) // 2 + 1, tuple(Leaf(i) for i in range(12)), tuple(weights), "majority")
    nested_gate = Gate("any", 1, (expr, Leaf(12)), (1, 1), "any")
    assert min_crashes(expr, 13).min_crashes == 6
    assert min_crashes(nested_gate, 13).min_crashes == 7


# --- NaN and infinite round-trip times -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "+nan", "1e10"])
def test_round_trip_times_are_finite_non_negative_numbers(tmp_path: Path, value: str) -> None:
    text = cluster_with("majority(a, b, c)", extra=f"[latency_ms]\na = {{ a = 1, b = {value}, c = 2 }}")
    path = write(tmp_path, "l.toml", text + "[latency_ms.b]\nb = 0\nc = 1\n[latency_ms.c]\nc = 0\n")
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:3:14: ", words="latency_ms.a.b: a round-trip time")


# --- large files load in linear time ---------------------------------------------------------------------------------


def many_nodes(n: int) -> str:
    names = ", ".join(f'"n{i}"' for i in range(n))
    return f'nodes = [{names}]\n[zones]\nall_nodes = [{names}]\n[quorums]\nphase1 = "majority(all_nodes)"\n'


def test_loading_grows_linearly_with_the_number_of_nodes() -> None:
    def seconds(n: int) -> float:
        text = many_nodes(n)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            parse_cluster(text)
            runs.append(time.perf_counter() - started)
        return min(runs)

    small, large = seconds(5_000), seconds(40_000)
    # 8x the nodes: about 8x the time when linear, 64x when quadratic as it was (20k nodes took 9.2 s)
    assert large / small < 24, (small, large)


# --- trace files: every field checked --------------------------------------------------------------------------------

TRACE: dict[str, Any] = {
    "variant": "paxos",
    "constants": {
        "nodes": ["a1", "a2", "a3"],
        "phase1": [["a1", "a2"]],
        "phase2": [["a2", "a3"]],
        "values": ["v1", "v2"],
        "max_ballot": 1,
    },
    "steps": [{"action": "Phase1a", "b": 0}],
}


def trace_with(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(TRACE))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return doc


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variant": "raft"}, "variant: must be one of"),
        ({"constants__max_ballot": None}, "constants.max_ballot: must be an integer"),
        ({"constants__max_ballot": 1.5}, "constants.max_ballot: must be an integer"),
        ({"constants__max_ballot": 10**9}, "constants.max_ballot: must be an integer from 0 to 1000"),
        ({"constants__nodes": ["a1", 2]}, "constants.nodes[1]: must be a string"),
        ({"constants__phase1__0": ["a1", "zz"]}, "constants.phase1[0][1]: must be one of a1, a2, a3"),
        ({"constants__phase2": {"a": 1}}, "constants.phase2: must be a list"),
        ({"constants__slots": 2}, "constants.slots: unknown key"),
        ({"steps__0": "Phase1a"}, "steps[0]: must be an object"),
        ({"steps__0__b": [0]}, "steps[0].b: must be an integer"),
        ({"steps__0__b": {"x": 1}}, "steps[0].b: must be an integer"),
    ],
)
def test_explorer_trace_fields_are_checked_with_their_place(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    path = write(tmp_path, "t.json", json.dumps(trace_with(**changes), indent=1))
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:\d+:\d+: ", words=field)


def test_non_finite_and_huge_json_numbers_are_named(tmp_path: Path) -> None:
    text = json.dumps(TRACE, indent=1)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"max_ballot"' in ln)
    for token, words in (
        ("NaN", "not NaN"),
        ("-Infinity", "not -Infinity"),
        ("1e999", "not 1e999"),
        ("9" * 5000, "not a 5,000-digit number"),
        ("9" * 200, "not a number of about 199 digits"),
    ):
        path = write(tmp_path, "t.json", text.replace('"max_ballot": 1', f'"max_ballot": {token}'))
        bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:{line}:\d+: ", words=words)


SIM_SCHEMA: dict[str, Any] = {
    "variant": "multipaxos-sim",
    "settings": (
        "replicas",
        "seed",
        "phase1",
        "phase2",
        "election_timeout",
        "heartbeat_interval",
        "window",
        "batch_size",
        "snapshot_interval",
        "mutations",
    ),
    "actions": {
        "deliver": ("msg",),
        "tick": ("replica",),
        "partition": ("side",),
        "quiesce": ("rounds",),
        "submit": ("replica", "client", "seq", "command"),
    },
    "mutations": ("skip-holes",),
}
SIM_TRACE = {
    "variant": "multipaxos-sim",
    "constants": {"replicas": 3, "phase1": None, "election_timeout": 8},
    "steps": [{"action": "tick", "replica": 0}, {"action": "deliver", "msg": 1, "note": "x"}],
}


@pytest.mark.parametrize(
    ("constants", "step", "field"),
    [
        ({"replicas": 0}, None, "constants.replicas: must be an integer from 1 to 20, not 0"),
        ({"replicas": 2.5}, None, "constants.replicas: must be an integer from 1 to 20, not 2.5"),
        ({"replicas": 100}, None, "constants.replicas: must be an integer from 1 to 20, not 100"),
        ({"phase1": 99}, None, "constants.phase1: must be an integer from 1 to 3, not 99"),
        ({"election_timeout": None}, None, "constants.election_timeout: must be an integer"),
        ({"mutations": ["nope"]}, None, "constants.mutations[0]: must be one of skip-holes"),
        ({"colour": 1}, None, "constants.colour: unknown key"),
        ({}, {"action": "tick", "replica": "a1"}, "steps[1].replica: must be an integer from 0 to 2"),
        ({}, {"action": "tick", "replica": 0, "note": {"x": 1}}, "steps[1].note: must be a string, not a table"),
        ({}, {"action": "tick"}, "steps[1].replica: missing"),
        ({}, {"action": "fly"}, "steps[1].action: must be one of"),
        ({}, {"action": "quiesce", "rounds": 10**12}, "steps[1].rounds: must be an integer from 0 to"),
        ({}, {"action": "partition", "side": [0, 7]}, "steps[1].side[1]: must be an integer from 0 to 2"),
    ],
)
def test_simulation_trace_fields_are_checked_with_their_place(
    tmp_path: Path, constants: dict[str, Any], step: dict[str, Any] | None, field: str
) -> None:
    doc = json.loads(json.dumps(SIM_TRACE))
    doc["constants"].update(constants)
    if step is not None:
        doc["steps"][1] = step
    path = write(tmp_path, "s.json", json.dumps(doc, indent=1))
    validate_sim_trace(read_json(write(tmp_path, "ok.json", json.dumps(SIM_TRACE))), **SIM_SCHEMA)
    with pytest.raises(PaxiomError) as info:
        validate_sim_trace(read_json(path), **SIM_SCHEMA)
    assert re.match(rf"{re.escape(path)}:\d+:\d+: {re.escape(field)}", str(info.value)), str(info.value)


def test_a_field_error_points_at_the_value_itself(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(SIM_TRACE))
    doc["steps"][1]["msg"] = "x"
    text = json.dumps(doc, indent=1)
    path = write(tmp_path, "s.json", text)
    with pytest.raises(PaxiomError) as info:
        validate_sim_trace(read_json(path), **SIM_SCHEMA)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"msg": "x"' in ln)
    col = text.splitlines()[line - 1].index('"x"') + 1
    assert str(info.value).startswith(f"{path}:{line}:{col}: steps[1].msg: must be an integer")


# --- misleading output -----------------------------------------------------------------------------------------------


def test_an_unsafe_report_says_its_fault_tolerance_is_availability_only() -> None:
    code, out, _ = run("quorum", "check", str(EXAMPLES / "flexible-unsafe.toml"), "--no-load")
    assert code == 1
    before, after = out.split("availability only", 1)
    assert "UNSAFE" in before and "UNSAFE" in after.splitlines()[0]
    assert "survives any 4 crashes" in after and "keeping quorums (but not safety)" in after
    assert "staying live" not in out
    code, out, _ = run("quorum", "check", str(EXAMPLES / "flexible-unsafe.toml"), "--no-load", "--json")
    assert json.loads(out)["fault_tolerance"]["availability_only"] is True
    code, out, _ = run("quorum", "check", str(EXAMPLES / "three-dc.toml"), "--no-load")
    assert code == 0 and "availability only" not in out and "staying live" in out


def test_one_crash_is_singular_and_none_is_no_crash(tmp_path: Path) -> None:
    one = write(tmp_path, "one.toml", cluster_with("majority(a, b, c)"))
    code, out, _ = run("quorum", "check", one, "--no-load")
    assert code == 0 and "survives any 1 crash;" in out and "these 2 leave" in out
    none = write(tmp_path, "none.toml", cluster_with("all(a, b, c)"))
    _, out, _ = run("quorum", "check", none, "--no-load")
    assert "survives no crash; this node leaves no phase1 quorum: {a}" in out and "any 0 crashes" not in out


def test_prove_on_an_unsafe_file_never_prints_a_proved_headline() -> None:
    code, out, _ = run("prove", "--config", str(EXAMPLES / "flexible-unsafe.toml"), "--variant", "flexible")
    assert code == 1
    headline = next(line for line in out.splitlines() if line.startswith("flexible"))
    assert "NOT SAFE on" in headline and "PROVED," not in headline
    code, out, _ = run("prove", "--config", str(EXAMPLES / "flexible-safe.toml"), "--variant", "flexible")
    assert code == 0 and "Flexible Paxos: PROVED, " in out


def test_a_fast_variant_on_a_file_without_fast_quorums_points_at_its_quorums_table() -> None:
    path = str(EXAMPLES / "etcd-5.toml")
    line = next(i for i, text in enumerate(Path(path).read_text().splitlines(), 1) if text == "[quorums]")
    where = rf"{re.escape(path)}:{line}:1: field quorums: "
    bad_input("prove", "--config", path, "--variant", "fastpaxos", where=where, words="no fast quorums declared")


def test_a_trace_the_spec_cannot_tabulate_is_refused_before_the_table(tmp_path: Path) -> None:
    nodes = [f"a{i}" for i in range(1, 21)]
    quorums = [nodes[i : i + 11] for i in range(9)]  # 2^20 subsets x 9 quorums: minutes of tabulation
    doc = {
        "variant": "paxos",
        "constants": {"nodes": nodes, "phase1": quorums, "phase2": quorums, "values": ["v1"], "max_ballot": 0},
        "steps": [],
    }
    path = write(tmp_path, "big.json", json.dumps(doc, indent=1))
    started = time.perf_counter()
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:\d+:\d+: ", words="constants.phase1: 9 quorums")
    assert time.perf_counter() - started < 10


def test_an_unreplayable_step_is_placed_at_the_step(tmp_path: Path) -> None:
    doc = trace_with(steps__0={"action": "Phase1b", "a": "a1", "b": 0})  # no prepare for ballot 0 was sent
    text = json.dumps(doc, indent=1)
    path = write(tmp_path, "t.json", text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"Phase1b"' in ln) - 1
    bad_input(
        "explore", "--replay", path, where=rf"{re.escape(path)}:{line}:\d+: ", words="steps[0]: Phase1b(a=a1, b=0)"
    )


def test_whole_file_errors_point_at_the_declaration(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    bad_input(
        "tla",
        "export",
        str(EXAMPLES / "thousand.toml"),
        "--out",
        out,
        where=r".*thousand\.toml:\d+:1: ",
        words="1000 acceptors",
    )
    bad_input(
        "tla",
        "export",
        str(EXAMPLES / "etcd-5.toml"),
        "--variant",
        "fastpaxos",
        "--out",
        out,
        where=r".*etcd-5\.toml:\d+:1: ",
        words="needs fast quorums",
    )


def test_more_nodes_than_the_limit_are_refused_at_the_list(tmp_path: Path) -> None:
    path = write(tmp_path, "many.toml", many_nodes(100_001))
    bad_input("quorum", "check", path, where=rf"{re.escape(path)}:1:1: ", words="nodes must be a list of 1 to 100,000")


def test_a_field_after_a_huge_number_is_still_located(tmp_path: Path) -> None:
    text = json.dumps(trace_with(constants__slots=0))
    path = write(tmp_path, "t.json", '{"huge": ' + "9" * 5000 + ", " + text[1:])  # locating skips the number
    message = bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:1:\d+: ", words="constants.slots:")
    assert int(message.split(":")[2]) > 5000


def test_a_huge_number_then_garbage_is_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", "9" * 5000 + "{")  # the retry for the huge number met the syntax error
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:1:5001: ", words="not valid JSON: Extra data")


def test_an_error_on_line_100_is_not_an_emoji(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", "\n" * 99 + "{,}")  # rich printed file💯1 for file:100:1
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:100:2: ", words="not valid JSON")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"replicas": 0}, "constants.replicas: must be an integer from 1 to 20, not 0"),
        ({"replicas": 3.0}, "constants.replicas: must be an integer from 1 to 20, not 3.0"),
        ({"replicas": 100}, "constants.replicas: must be an integer from 1 to 20, not 100"),
        ({"phase1": 99}, "constants.phase1: must be an integer from 1 to 3, not 99"),
        ({"election_timeout": None}, "constants.election_timeout: must be an integer"),
        ({"steps": {"replica": "a1"}}, "steps[0].replica: must be an integer from 0 to 2, not 'a1'"),
        ({"steps": {"note": {"m": 1}}}, "steps[0].note: must be a string, not a table"),
        ({"phase1": 1, "phase2": 1}, "constants: "),  # well-typed, but quorums that share no acceptor
    ],
)
def test_sim_replay_checks_every_field_with_its_place(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    from paxiom.impl.sim.simulator import ClusterSettings

    doc: dict[str, Any] = {
        "variant": "multipaxos-sim",
        "constants": ClusterSettings().to_json(),
        "steps": [{"action": "tick", "replica": 0}],
    }
    doc["steps"][0].update(change.pop("steps", {}))
    doc["constants"].update(change)
    path = write(tmp_path, "s.json", json.dumps(doc, indent=1))
    bad_input("sim", "--replay", path, where=rf"{re.escape(path)}:\d+:\d+: ", words=field)


def test_sim_replay_reads_through_the_same_layer(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", b'{"variant": "multipaxos-sim",\n "\xfe": 1}')
    bad_input("sim", "--replay", path, where=rf"{re.escape(path)}:2:3: ", words="not UTF-8")
    path = write(tmp_path, "d.json", '{"variant": "multipaxos-sim", "steps": ' + "[" * 1000 + "]" * 1000 + "}")
    bad_input("sim", "--replay", path, where=rf"{re.escape(path)}:1:\d+: ", words="nested more than 64 deep")


def test_an_odd_key_is_quoted_in_the_field_name(tmp_path: Path) -> None:
    doc = trace_with()
    doc["constants"]["3 of (x"] = 1
    path = write(tmp_path, "t.json", json.dumps(doc, indent=1))
    bad_input("explore", "--replay", path, where=rf"{re.escape(path)}:\d+:\d+: ", words='constants["3 of (x"]: unknown')
