"""A fuzz campaign over every file the tools read, through the real CLI in-process (issue 14).

Seeds are the example cluster files and trace files of each kind; hypothesis mutates them (byte flips,
hostile bytes and snippets, truncations, deep nesting, huge and non-finite numbers, unknown keys, wrong
types, values swapped at any field of a trace) and each result goes through the verb that reads it with
--json. The promise checked on every run: no exception escapes (no traceback), the exit code is 0, 1 or 2,
stdout is exactly one strict JSON document, an exit 2 is one line on stderr naming `file:line:col` (a
field too, for trace files), and no run takes long. Worst cases run in a subprocess under an address-space
limit. `make test` runs a bounded, derandomised campaign; `-m slow` a large random one. The counts are
printed at the end (`pytest -s`) and written to $PAXIOM_FUZZ_REPORT when set.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxiom.cli.main import main
from paxiom.impl.sim.simulator import ClusterSettings

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples" / "quorums"
SMALL_CLUSTERS = sorted(p for p in EXAMPLES.glob("*.toml") if p.name not in ("thousand.toml", "zones-9x9.toml"))
SECONDS_PER_RUN = 30.0
COUNTS: Counter[str] = Counter()
KEY = r'\["(?:[^"\\]|\\.)*"\]'
FIELD = rf"(?:[A-Za-z_]\w*|{KEY})(?:\.[A-Za-z_]\w*|\[\d+\]|{KEY})*: "
"""How a trace error names its field: `constants.replicas: `, `steps[3].msg: `, `constants["odd key"]: `."""

HOSTILE = [
    b"nan",
    b"inf",
    b"-inf",
    b"-1",
    b"0",
    b"1e400",
    b"9" * 5000,
    b"1" + b"0" * 20,
    b"1000000000",
    b"[" * 400,
    b"{a=" * 120,
    b"all(" * 400,
    b"majority(" * 120,
    b"3 of (",
    b'"',
    b"'",
    b"\\",
    b"\\u0000",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\x00",
    b"\r",
    b"\n",
    b'\n[zones]\nz = ["z"]\n',
    b"\n[weights]\n",
    b"\nunknown = 1\n",
    b"\n[latency_ms]\n",
    b"= ",
    b",",
    b")",
    b"(",
    b"description = [1]\n",
    b"[[quorums]]",
    b'"""',
    b"#",
    b"true",
    b"1979-05-27",
    b"{}",
    b"[]",
    b"null",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1.5",
]


def reject(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


def invoke(args: list[str], path: Path, *, field: bool = False) -> int:
    """Run one CLI command and check every promise; returns the exit code."""
    started = time.perf_counter()
    result = CliRunner().invoke(main, [*args, "--json"])
    elapsed = time.perf_counter() - started
    verb = " ".join(a for a in args[:2] if not a.startswith("/"))
    COUNTS[f"{verb}: exit {result.exit_code}"] += 1
    COUNTS["runs"] += 1
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exc_info}\n{path.read_bytes()[:2000]!r}"
    )
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    assert elapsed < SECONDS_PER_RUN, (args, elapsed)
    json.loads(result.stdout, parse_constant=reject)  # exactly one strict JSON document (raises otherwise)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        message = lines[0].removeprefix("paxiom: error: ")
        placed = re.match(rf"{re.escape(str(path))}:\d+:\d+: (?P<what>.+)", message)
        assert placed, message
        if (
            field
            and not message.endswith(("not valid JSON", "deep (the most paxiom reads)"))
            and "UTF-8" not in message
        ):
            assert re.match(rf"(not valid JSON|the document: |{FIELD})", placed["what"]), message
    return int(result.exit_code)


# --- mutations ---------------------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` after 1 to 4 byte-level or token-level edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "byte", "delete", "truncate", "insert", "number", "duplicate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE))
        elif kind == "number":
            numbers = list(re.finditer(rb"(?<![\w.])\d+(\.\d+)?(?![\w.])", bytes(data)))
            if numbers:
                m = numbers[draw(st.integers(0, len(numbers) - 1))]
                data[m.start() : m.end()] = draw(st.sampled_from(HOSTILE[:10]))
        else:
            lines = bytes(data).split(b"\n")
            line = draw(st.integers(0, len(lines) - 1))
            data = bytearray(b"\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]]))
    return bytes(data)


HUGE, DEEP = "\x00huge", "\x00deep"
"""Stand-ins replaced after encoding: the encoder can write neither a 5,000-digit integer nor 1,000 levels."""


def hostile_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.integers(-3, 30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.sampled_from([{"x": 1}, [], [[]], {}, "a1", ["a1", "a1"], [0, 99], HUGE, DEEP, [[[[[[[[1]]]]]]]]]),
    )


def encode(doc: Any) -> bytes:
    text = json.dumps(doc, indent=1, allow_nan=True)
    return text.replace(json.dumps(HUGE), "9" * 5000).replace(json.dumps(DEEP), "[" * 1000 + "]" * 1000).encode()


def paths_of(doc: Any) -> list[tuple[str | int, ...]]:
    """Every field and item path in a decoded JSON document, without recursion."""
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        found.append(path)
        items: Iterator[tuple[str | int, Any]] = (
            iter(value.items())
            if isinstance(value, dict)
            else iter(enumerate(value))
            if isinstance(value, list)
            else iter(())
        )
        stack.extend(((*path, key), child) for key, child in items)
    return found


@st.composite
def mutated_json(draw: st.DrawFn, seed: dict[str, Any]) -> bytes:
    """A trace with a value replaced, a key added or removed, then maybe byte-level edits."""
    doc = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        if not path:
            continue
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(hostile_values())
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "note", "replicas", "slots", "fast"]))] = draw(hostile_values())
        else:
            parent.append(draw(hostile_values()))
    text = encode(doc)
    return draw(mutated(text)) if draw(st.booleans()) else text


@st.composite
def generated_cluster(draw: st.DrawFn) -> bytes:
    """A cluster file built from parts, well-formed TOML but with hostile values: huge or zero weights,
    NaN/infinite/negative round-trip times, zones naming each other, deep or wide expressions."""
    nodes = draw(
        st.lists(
            st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "i", "10.0.0.1:7", "all", "7", "x y"]),
            min_size=1,
            max_size=7,
            unique=True,
        )
    )
    zone_names = draw(st.lists(st.sampled_from(["z1", "z2", "z3", "dc"]), max_size=3, unique=True))
    names = nodes + zone_names
    quoted = [f"'{n}'" if not re.fullmatch(r"[A-Za-z0-9_.:@/-]+", n) else n for n in names]
    expr = draw(
        st.recursive(
            st.sampled_from(quoted),
            lambda inner: st.tuples(
                st.sampled_from(["all", "any", "majority"] * 3 + ["1 of", "2 of", "3 of", "99 of", "0 of"]),
                st.lists(inner, min_size=1, max_size=4),
            ).map(lambda g: f"{g[0]}({', '.join(g[1])})" if "of" not in g[0] else f"{g[0]} ({', '.join(g[1])})"),
            max_leaves=12,
        )
    )
    weight = st.one_of(
        st.integers(1, 4), st.integers(2, 9), st.integers(10**8, 10**9), st.sampled_from([0, -1, 10**19])
    )
    number = st.one_of(st.integers(0, 200), st.floats(0, 500), st.floats(allow_nan=True, allow_infinity=True))
    lines = [f"nodes = {json.dumps(nodes)}"]
    if draw(st.booleans()):
        description = draw(st.sampled_from(['"d"', "1", '["x"]']))
        lines.append(f"description = {description}")
    lines.append("[zones]")
    lines += [f"{z} = {json.dumps(draw(st.lists(st.sampled_from(names), max_size=4)))}" for z in zone_names]
    lines.append("[weights]")
    lines += [f'"{n}" = {draw(weight)}' for n in draw(st.lists(st.sampled_from(nodes), max_size=3, unique=True))]
    lines.append("[quorums]")
    lines.append(f'phase1 = "{expr}"')
    if draw(st.booleans()):
        lines.append(f'phase2 = "{draw(st.sampled_from(quoted))}"')
    if draw(st.booleans()):
        lines.append("[latency_ms]")
        for src in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            row = ", ".join(
                f'"{dst}" = {draw(number)}'
                for dst in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
            )
            lines.append(f'"{src}" = {{ {row} }}')
    return ("\n".join(lines) + "\n").encode()


# --- seeds ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One explorer trace per variant (written by the tools themselves) and one simulation trace."""
    tmp = tmp_path_factory.mktemp("seeds")
    found: dict[str, dict[str, Any]] = {}
    for name in ("two-dc-unsafe", "fast-paxos-unsafe"):
        out = tmp / f"{name}.json"
        CliRunner().invoke(
            main, ["quorum", "check", str(EXAMPLES / f"{name}.toml"), "--no-load", "--trace-out", str(out), "--json"]
        )
        found[name] = json.loads(out.read_text())
    found["multipaxos"] = {
        "variant": "multipaxos",
        "constants": {
            "nodes": ["a1", "a2", "a3"],
            "phase1": [["a1", "a2"], ["a2", "a3"]],
            "phase2": [["a1", "a3"]],
            "values": ["v1", "v2"],
            "max_ballot": 1,
            "slots": 2,
        },
        "steps": [{"action": "Phase1a", "b": 0}, {"action": "Phase1b", "a": "a1", "b": 0}],
    }
    replicas = [i % 3 for i in range(12)]
    found["sim"] = {
        "variant": "multipaxos-sim",
        "constants": ClusterSettings().to_json(),
        "steps": [{"action": "submit", "replica": 0, "client": "c1", "seq": 1, "command": "set k v"}]
        + [{"action": "tick", "replica": r} for r in replicas]
        + [{"action": "deliver", "msg": m, "note": "m"} for m in range(10)]
        + [
            {"action": "crash", "replica": 1},
            {"action": "partition", "side": [0]},
            {"action": "heal"},
            {"action": "restart", "replica": 1},
            {"action": "quiesce", "rounds": 8},
        ],
    }
    return found


def campaign(examples: int, randomised: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not randomised,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
            HealthCheck.large_base_example,
        ],
    )


def cluster_commands(path: Path, out: Path) -> list[list[str]]:
    return [
        ["quorum", "check", str(path), "--no-load"],
        ["explore", "--quorums", str(path), "--max-states", "300"],
        ["tla", "export", str(path), "--out", str(out)],
        ["prove", "--config", str(path), "--variant", "flexible"],
    ]


def fuzz_cluster_files(tmp: Path, examples: int, randomised: bool) -> None:
    seeds = {p.name: p.read_bytes() for p in SMALL_CLUSTERS}

    @campaign(examples, randomised)
    @given(st.sampled_from(sorted(seeds)).flatmap(lambda name: mutated(seeds[name])), st.integers(0, 3))
    def check(data: bytes, which: int) -> None:
        path = tmp / "fuzzed.toml"
        path.write_bytes(data)
        invoke(cluster_commands(path, tmp / "tla-out")[which], path)

    check()


def fuzz_generated_clusters(tmp: Path, examples: int, randomised: bool) -> None:
    @campaign(examples, randomised)
    @given(generated_cluster(), st.booleans())
    def check(data: bytes, with_load: bool) -> None:
        path = tmp / "generated.toml"
        path.write_bytes(data)
        invoke(["quorum", "check", str(path), *(() if with_load else ("--no-load",))], path)

    check()


def fuzz_trace_files(tmp: Path, traces: dict[str, dict[str, Any]], examples: int, randomised: bool) -> None:
    spec = {k: v for k, v in traces.items() if k != "sim"}

    @campaign(examples, randomised)
    @given(st.sampled_from(sorted(spec)).flatmap(lambda name: mutated_json(spec[name])))
    def check(data: bytes) -> None:
        path = tmp / "fuzzed.json"
        path.write_bytes(data)
        invoke(["explore", "--replay", str(path)], path, field=True)

    check()


def fuzz_sim_traces(tmp: Path, seed: dict[str, Any], examples: int, randomised: bool) -> None:
    @campaign(examples, randomised)
    @given(mutated_json(seed))
    def check(data: bytes) -> None:
        path = tmp / "fuzzed-sim.json"
        path.write_bytes(data)
        invoke(["sim", "--replay", str(path)], path, field=True)

    check()


def test_fuzz_cluster_files(tmp_path: Path) -> None:
    fuzz_cluster_files(tmp_path, examples=90, randomised=False)


def test_fuzz_generated_cluster_files(tmp_path: Path) -> None:
    fuzz_generated_clusters(tmp_path, examples=120, randomised=False)


def test_fuzz_trace_files(tmp_path: Path, traces: dict[str, dict[str, Any]]) -> None:
    fuzz_trace_files(tmp_path, traces, examples=120, randomised=False)


def test_fuzz_simulation_trace_files(tmp_path: Path, traces: dict[str, dict[str, Any]]) -> None:
    fuzz_sim_traces(tmp_path, traces["sim"], examples=150, randomised=False)


@pytest.mark.slow
def test_fuzz_large_campaign(tmp_path: Path, traces: dict[str, dict[str, Any]]) -> None:
    fuzz_cluster_files(tmp_path, examples=1500, randomised=True)
    fuzz_generated_clusters(tmp_path, examples=1500, randomised=True)
    fuzz_trace_files(tmp_path, traces, examples=1500, randomised=True)
    fuzz_sim_traces(tmp_path, traces["sim"], examples=3000, randomised=True)


# --- worst cases under a memory limit ------------------------------------------------------------------------------

STEP = '{"action": "Phase1a", "b": 0}'
TRACE_HEAD = (
    '{"variant": "paxos", "constants": {"nodes": ["a1"], "phase1": [["a1"]], "phase2": [["a1"]], '
    '"values": ["v1"], "max_ballot": 0}, "steps": '
)
WORST_CASES = {
    "weights-1e9.toml": 'nodes = ["a","b","c","d","e","f","g"]\n[weights]\n'
    + "".join(f"{n} = {10**9 + 13 * i}\n" for i, n in enumerate("abcdefg"))
    + '[quorums]\nphase1 = "majority(a,b,c,d,e,f,g)"\nphase2 = "2 of (majority(a,b,c), majority(d,e,f,g), g)"\n',
    "nodes-100k.toml": "nodes = ["
    + ", ".join(f'"n{i}"' for i in range(100_000))
    + ']\n[quorums]\nphase1 = "any(n0, n7)"\n',
    "expr-depth-5000.toml": 'nodes = ["a","b"]\n[quorums]\nphase1 = "' + "all(" * 5000 + "a" + ")" * 5000 + '"\n',
    "arrays-depth-1e5.toml": "nodes = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "zones-chain-1000.toml": 'nodes = ["n0"]\n[zones]\n'
    + "".join(f'z{i} = ["z{i + 1}"]\n' for i in range(1000))
    + 'z1000 = ["n0"]\n[quorums]\nphase1 = "any(z0)"\n',
    "trace-depth-1e5.json": TRACE_HEAD + "[" * 100_000 + "]" * 100_000 + "}",
    "trace-1e6-digits.json": TRACE_HEAD + "[" + "9" * 1_000_000 + "]}",
    "trace-32mb.json": TRACE_HEAD + "[" + ", ".join([STEP] * 1_000_000) + "]}",
}
MEMORY_LIMIT = 2 * 2**30


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", sorted(WORST_CASES))
def test_worst_cases_stay_within_memory_and_time(tmp_path: Path, case: str) -> None:
    path = tmp_path / case
    path.write_text(WORST_CASES[case])
    verb = ["quorum", "check"] if case.endswith(".toml") else ["explore", "--replay"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from paxiom.cli.main import main; main()", *verb, str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,
        check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    COUNTS[f"worst case {case}: exit {done.returncode}"] += 1
    assert done.returncode in (0, 1, 2), done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    json.loads(done.stdout, parse_constant=reject)
    if done.returncode == 2:
        assert re.match(rf"paxiom: error: {re.escape(str(path))}:\d+:\d+: ", done.stderr), done.stderr
    assert time.perf_counter() - started < 90


def test_zz_campaign_report() -> None:
    """Print (and optionally save) what the campaign ran; runs last in this module."""
    report = dict(sorted(COUNTS.items()))
    print("\nfuzz campaign:", json.dumps(report, indent=1))
    if os.environ.get("PAXIOM_FUZZ_REPORT"):
        Path(os.environ["PAXIOM_FUZZ_REPORT"]).write_text(json.dumps(report, indent=1) + "\n")
    if COUNTS["runs"]:  # the campaign in this session reached both verdicts and refusals
        assert any(k.endswith("exit 2") for k in COUNTS) and any(k.endswith(("exit 0", "exit 1")) for k in COUNTS)
