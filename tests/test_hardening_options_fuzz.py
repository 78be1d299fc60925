"""Issue 14's fuzz campaign over options: every verb, run through the real CLI entry point in process, with
hostile option values (0, negative, huge; nan, inf, 1e308; odd strings; missing values; unknown options).

Promises checked on every invocation: never a traceback, exit code 0, 1 or 2, under --json stdout is exactly
one strict JSON document (no NaN/Infinity), a usage error (exit 2) is exactly one line on stderr, and each
invocation finishes quickly. Options that would legitimately ask for a long run (a bigger search budget) get
only small or invalid values, after a base that bounds the work; the huge values of the options that used
to explode run in subprocesses under RLIMIT_AS (memory bounded). A second campaign points `paxiom conform`
at a target writing random, huge and deeply nested lines.

    .venv/bin/pytest -q tests/test_hardening_options_fuzz.py              # bounded, for make test
    .venv/bin/pytest -q -m slow tests/test_hardening_options_fuzz.py      # the large run
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxiom.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TARGET = str(Path(__file__).resolve().parent / "hostile_target.py")
TINY_ADAPTER = f"{ROOT / 'examples' / 'conformance' / 'minimal_adapter.py'}:TinyAdapter"
CLUSTER = ROOT / "examples" / "quorums" / "etcd-5.toml"
SECONDS_PER_INVOCATION = 30.0
MEMORY_LIMIT = 1 << 30

INTS = ["0", "-1", "-9223372036854775809", "1000000000", str(10**30), "9" * 5000, "1e3", "0x10", "", "x", "٣", "3"]
FLOATS = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "0", "-0.0", "1e-320", "", "x", "0.5"]
WORDS = ["", "-", "--", "--json", "a=b", "=", "mutant=nope", "mutant=vote-not-persisted", "../x", "a1", "\x00", "é"]
SMALL_BUDGETS = ["0", "-1", "-9223372036854775809", "", "x", "1e3", "2"]
"""For options that set how much work to do: never a big one (the base already bounds the run)."""
SMALL_SECONDS = ["nan", "inf", "-inf", "-1", "0", "", "x", "0.5"]

PATH_KEYS = ["missing", "dir", "garbage", "non-utf8", "deep-json", "in-missing-folders", "empty"]


def values(kind: str) -> st.SearchStrategy[str]:
    if kind == "int":
        return st.sampled_from(INTS) | st.integers(-(10**20), 10**20).map(str)
    if kind == "float":
        return st.sampled_from(FLOATS) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    if kind == "budget":
        return st.sampled_from(SMALL_BUDGETS)
    if kind == "seconds":
        return st.sampled_from(SMALL_SECONDS)
    if kind == "path":
        return st.sampled_from(PATH_KEYS).map(lambda k: f"@{k}")
    if kind.startswith("choice:"):
        return st.sampled_from(kind.removeprefix("choice:").split(",")) | st.sampled_from(WORDS)
    return st.sampled_from(WORDS) | st.text(max_size=20)


# verb -> (base arguments that keep the run small, {option: kind}); "flag" options take no value.
VERBS: dict[str, tuple[list[str], dict[str, str]]] = {
    "explore": (
        ["explore", "--max-states", "3000", "--max-memory", "64"],
        {
            "--variant": "choice:paxos,multipaxos,fastpaxos,reconfig", "--acceptors": "int", "--values": "int",
            "--alpha": "int", "--new-quorums": "path",
            "--max-ballot": "int", "--q1": "int", "--q2": "int", "--fast-quorum": "int", "--fast-ballots": "str",
            "--slots": "int", "--invariant": "str", "--max-states": "budget", "--max-memory": "budget",
            "--trace-out": "path", "--replay": "path", "--quorums": "path",
        },
    ),
    "prove": (
        ["prove", "--list"],
        {"--variant": "choice:paxos,multipaxos,fastpaxos", "--drop": "str", "--weaken": "str", "--bmc": "int",
         "--trace-out": "path", "--timeout": "float"},
    ),
    "conform": (
        ["conform", "--adapter", TINY_ADAPTER, "--max-examples", "3", "--max-findings", "1"],
        {"--role": "choice:acceptor,proposer,learner,group", "--max-examples": "budget", "--seed": "int",
         "--option": "str", "--timeout": "float", "--max-findings": "budget", "--replay": "path", "--out": "path",
         "--junit": "path", "--adapter": "str"},
    ),
    "quorum": (["quorum", "check", str(CLUSTER), "--no-load"], {"--leader": "str", "--trace-out": "path"}),
    "sim": (
        ["sim", "--steps", "40", "--shrink-seconds", "0"],
        {"--replicas": "budget", "--seed": "int", "--steps": "budget", "--faults": "str", "--q1": "int",
         "--q2": "int", "--mutant": "str", "--replay": "path", "--trace-out": "path", "--shrink-seconds": "seconds"},
    ),
    "tla check": (
        ["tla", "check", "@no-models"],  # a directory no fuzzed option writes into: TLC never starts
        {"--workers": "int", "--trace-out": "path", "--twin": "flag", "--expected": "flag"},
    ),
    "tla export": (
        ["tla", "export", str(CLUSTER), "--out", "@out"],
        {"--variant": "choice:paxos,multipaxos,fastpaxos", "--values": "str", "--max-ballot": "int",
         "--slots": "int", "--fast-ballots": "str", "--name": "str", "--out": "path"},
    ),
}  # fmt: skip


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """A verb's base, then up to four hostile options, maybe an unknown one, maybe one missing its value."""
    verb = draw(st.sampled_from(sorted(VERBS)))
    base, options = VERBS[verb]
    args = list(base)
    for option in draw(st.lists(st.sampled_from(sorted(options)), max_size=4)):
        args += [option] if options[option] == "flag" else [option, draw(values(options[option]))]
    if draw(st.booleans()):
        args.append("--json")
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(st.sampled_from(["--nope", "-z", "--json=1", "--max-nothing"])))
    valued = [o for o, kind in options.items() if kind != "flag"]
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(st.sampled_from(valued)))  # a value-taking option left without its value
    return args


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "dir").mkdir()
    (root / "no-models").mkdir()
    (root / "garbage").write_text("not a paxiom file {]")
    (root / "non-utf8").write_bytes(b"\xff\xfe\x00bad")
    (root / "deep-json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "empty").write_text("")
    extra = {"out": root / "out", "in-missing-folders": root / "a" / "b" / "c", "no-models": root / "no-models"}
    return {k: root / k for k in PATH_KEYS} | extra


def resolve(args: list[str], paths: dict[str, Path]) -> list[str]:
    return [str(paths[a[1:]]) if a.startswith("@") and a[1:] in paths else a for a in args]


TAKE_VALUES = {option for _, options in VERBS.values() for option, kind in options.items() if kind != "flag"}


def json_asked(args: list[str]) -> bool:
    """Whether --json is the flag, not the value of the option before it (`--adapter --json`)."""
    return any(a == "--json" and (i == 0 or args[i - 1] not in TAKE_VALUES) for i, a in enumerate(args))


def check_promises(args: list[str], code: int, out: str, err: str) -> None:
    """The verbs' common promise, for one invocation."""
    assert "Traceback" not in out + err, err[-2000:]
    assert code in (0, 1, 2), (code, err[-500:])
    if json_asked(args):
        json.loads(out, parse_constant=lambda c: pytest.fail(f"{args}: {c} is not JSON"))
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


def invoke(args: list[str], tally: Counter[str]) -> None:
    started = time.monotonic()
    # a watchdog thread, not SIGALRM (which conform's in-process deadline uses): a hang ends the run, with
    # every thread's stack printed, instead of holding the suite
    faulthandler.dump_traceback_later(SECONDS_PER_INVOCATION * 2, exit=True)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    check_promises(args, result.exit_code, result.stdout, result.stderr)
    assert time.monotonic() - started < SECONDS_PER_INVOCATION, args
    tally[f"exit {result.exit_code}"] += 1


def campaign(examples: int, paths: dict[str, Path]) -> Counter[str]:
    tally: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(invocations())
    def one(args: list[str]) -> None:
        invoke(resolve(args, paths), tally)

    one()
    print(f"\noptions fuzz: {sum(tally.values())} invocations, {dict(sorted(tally.items()))}")
    return tally


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Verbs that write default files (conform-findings/, sim's trace) write them here, not in the repo."""
    monkeypatch.chdir(tmp_path)
    yield


@pytest.mark.timeout(170)
def test_every_verb_keeps_its_promises_under_hostile_options(paths: dict[str, Path]) -> None:
    tally = campaign(120, paths)
    assert tally["exit 2"] > 0 and tally["exit 0"] + tally["exit 1"] > 0, "both refusals and runs were exercised"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_verb_keeps_its_promises_under_hostile_options_large(paths: dict[str, Path]) -> None:
    campaign(1500, paths)


# ---------------------------------------------------------------- huge values, memory bounded

HUGE = [
    ["explore", "--acceptors", "1000000000"],
    ["explore", "--values", "1000000000"],
    ["explore", "--max-ballot", "1000000000"],
    ["explore", "--acceptors", "6", "--max-ballot", "2"],
    ["explore", "--acceptors", "6", "--max-ballot", "2", "--max-states", str(10**30)],
    ["explore", "--acceptors", "20", "--max-states", "1000000000000"],
    ["explore", "--variant", "multipaxos", "--slots", "1000000000"],
    ["sim", "--replicas", "10000", "--steps", "10"],
    ["tla", "export", str(CLUSTER), "--out", "out", "--values", ",".join(f"v{i}" for i in range(5_000))],
]

LIMITED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({0}, {0})); "
    "from paxiom.cli.main import main; sys.argv[0] = 'paxiom'; main()"
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics")
@pytest.mark.parametrize("args", HUGE, ids=lambda a: " ".join(a)[:60])
def test_huge_values_are_refused_or_run_within_bounded_memory(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED.format(MEMORY_LIMIT), *args, "--json"],
        capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "MemoryError" not in proc.stderr
    check_promises([*args, "--json"], proc.returncode, proc.stdout, proc.stderr)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < 2 * MEMORY_LIMIT


# ---------------------------------------------------------------- hostile targets


def hostile_campaign(seeds: int) -> Counter[str]:
    tally: Counter[str] = Counter()
    for seed in range(seeds):
        args = ["conform", "--json", "--max-examples", "3", "--max-findings", "1", "--timeout", "1", "--out", "f",
                "--", sys.executable, "-S", HOSTILE_TARGET, "random", str(seed)]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        check_promises(args, result.exit_code, result.stdout, result.stderr)
        doc = json.loads(result.stdout)
        assert len(result.stdout) < 500_000, "whatever the target wrote is shown shortened"
        tally.update(f["rule"] for f in doc["findings"])
        tally["conforms" if doc["conforms"] else "runs"] += 1
    print(f"\nhostile-target fuzz: {seeds} runs, {dict(sorted(tally.items()))}")
    return tally


@pytest.mark.timeout(120)
def test_a_hostile_target_is_judged_never_crashes_the_suite() -> None:
    tally = hostile_campaign(8)
    assert tally["protocol"] > 0


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_hostile_target_is_judged_never_crashes_the_suite_large() -> None:
    hostile_campaign(200)
