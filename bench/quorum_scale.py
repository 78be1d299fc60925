"""Quorum analysis at scale: paxiom's Z3 certifier against quoracle (the Python peer), same machine, same run.

    .venv/bin/python bench/quorum_scale.py [--timeout SECONDS] [--no-peer]

For each system it times, on the paxiom side, deciding phase-1 x phase-2 intersection, the fault
tolerance of both families and the load; on the peer side the same questions through quoracle 0.0.4
(`QuorumSystem(reads, writes)` checks intersection by enumerating quorums, `resilience()`, `load()` an LP
over every quorum). quoracle is installed into `bench/.venv-quoracle`, made by this script, never as a
dependency of paxiom; each peer operation runs in its own process, killed after --timeout seconds.
Ratios are peer time / paxiom time; "> T" marks a timeout, "n/a" a question the peer cannot express.

A second table shows how load and latency grow with majorities of majorities of 81, 225, 441 and 1,000
nodes, with equal or uneven zones (load in closed form) and weighted nodes (the compact LP), each beside column
generation (the general read-once LP, budget 10 s, timed once) measured in the same run, and the latency analysis
over every zone's first node as leader.

A third table (alone with --end-to-end) is the user's job: `paxiom quorum check FILE` in a fresh process,
for majorities of majorities, a majority threshold, weighted zones and a Flexible Paxos pair of 81, 243,
500 and 1,000 nodes. Beside the wall time it shows each analysis timed in this process (intersection by
the exact procedure over the read-once tree, fault tolerance, latency, load) and the same intersection
decided by Z3 alone (`certify.decide_z3`, the peer, in its own process killed after --timeout seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from paxiom.cluster import Cluster, parse_cluster
from paxiom.cluster.certify import Z3, Condition, decide
from paxiom.cluster.check import conditions
from paxiom.cluster.load import quorum_load
from paxiom.cluster.tolerance import min_crashes

PEER_VENV = Path(__file__).parent / ".venv-quoracle"
T = TypeVar("T")


@dataclass(frozen=True)
class System:
    name: str
    kind: str  # majority | flexible | grid | rowcol | zones | uneven | weighted zones | weighted
    size: tuple[int, ...]


SYSTEMS = [
    System("majority of 15", "majority", (15,)),
    System("majority of 25", "majority", (25,)),
    System("5x5 grid", "grid", (5,)),
    System("5x5 grid, a row and a column", "rowcol", (5,)),
    System("5x5 majority of majorities", "zones", (5, 5)),
    System("majority of 1,001", "majority", (1001,)),
    System("|Q1|=800, |Q2|=201 of 1,000", "flexible", (1000, 800, 201)),
    System("30x30 grid", "grid", (30,)),
    System("30x30 grid, a row and a column", "rowcol", (30,)),
    System("9 zones x 9 nodes majority of majorities", "zones", (9, 9)),
    System("50 weighted nodes", "weighted", (50,)),
]


def cluster_text(s: System) -> str:
    """The system in paxiom's cluster language."""
    def names(xs: list[str]) -> str:
        return ", ".join(f'"{x}"' for x in xs)

    if s.kind in ("majority", "flexible", "weighted"):
        nodes = [f"n{i}" for i in range(s.size[0])]
        head = f"nodes = [{names(nodes)}]\n[zones]\neveryone = [{names(nodes)}]\n"
        if s.kind == "majority":
            return head + '[quorums]\nphase1 = "majority(everyone)"\n'
        if s.kind == "flexible":
            _, q1, q2 = s.size
            return head + f'[quorums]\nphase1 = "{q1} of (everyone)"\nphase2 = "{q2} of (everyone)"\n'
        weights = "".join(f"n{i} = {1 + i % 5}\n" for i in range(s.size[0]))
        return head + f'[weights]\n{weights}[quorums]\nphase1 = "majority(everyone)"\n'
    if s.kind in ("grid", "rowcol"):
        k = s.size[0]
        rows = [[f"r{r}c{c}" for c in range(k)] for r in range(k)]
        zones = "".join(f"row{r} = [{names(rows[r])}]\n" for r in range(k))
        zones += "".join(f"col{c} = [{names([row[c] for row in rows])}]\n" for c in range(k))
        nodes = [x for row in rows for x in row]
        full_row = "any(" + ", ".join(f"all(row{r})" for r in range(k)) + ")"
        if s.kind == "grid":  # phase 1 a full row, phase 2 one node in every row
            phase1, phase2 = full_row, "all(" + ", ".join(f"any(row{r})" for r in range(k)) + ")"
        else:  # Maekawa-style: a full row and a full column, for both phases (nodes shared: Z3 path)
            full_col = "any(" + ", ".join(f"all(col{c})" for c in range(k)) + ")"
            phase1 = phase2 = f"all({full_row}, {full_col})"
        return f'nodes = [{names(nodes)}]\n[zones]\n{zones}[quorums]\nphase1 = "{phase1}"\nphase2 = "{phase2}"\n'
    zones_n, per = s.size
    sizes = [per] * zones_n
    if s.kind == "uneven":  # zones of per - 2, per, per + 2 nodes in turn, the last one making up the total
        sizes = [per + (z % 3 - 1) * 2 for z in range(zones_n)]
        sizes[-1] += zones_n * per - sum(sizes)
    groups = [[f"z{z}n{i}" for i in range(size)] for z, size in enumerate(sizes)]
    zones = "".join(f"z{z} = [{names(groups[z])}]\n" for z in range(zones_n))
    nodes = [x for g in groups for x in g]
    phase1 = "majority(" + ", ".join(f"majority(z{z})" for z in range(zones_n)) + ")"
    weights = ""
    if s.kind == "weighted zones":  # nodes weighing 1, 2 and 3 in turn: the zones' gates need the LP
        weights = "[weights]\n" + "".join(f"{x} = {1 + i % 3}\n" for g in groups for i, x in enumerate(g))
    return f'nodes = [{names(nodes)}]\n[zones]\n{zones}{weights}[quorums]\nphase1 = "{phase1}"\n'


def paxiom_times(c: Cluster) -> dict[str, float | str]:
    families = {name: fam.expr for name, fam in c.families().items()}
    started = time.perf_counter()
    outcome = decide(Condition("phase1 x phase2", ("phase1", "phase2"), True), families, c.n)
    assert outcome.holds
    t_intersection = time.perf_counter() - started
    started = time.perf_counter()
    crashes = [min_crashes(families[f], c.n).min_crashes for f in ("phase1", "phase2")]
    t_tolerance = time.perf_counter() - started
    started = time.perf_counter()
    load = quorum_load(families["phase1"])
    t_load = time.perf_counter() - started
    how = "closed form" if load.method.startswith("closed form") else "LP, HiGHS"
    return {
        "intersection": t_intersection,
        "tolerance": t_tolerance,
        "load": t_load if load.value is not None else "declined",
        "crashes": f"{crashes[0]}/{crashes[1]}",
        "load_value": f"declined: {load.note}" if load.value is None else f"{load.value:.3f} ({how})",
    }


PEER_SCRIPT = r"""
import json, sys, time
from quoracle import Node, QuorumSystem, choose, majority
spec = json.loads(sys.argv[1]); kind, size, op = spec["kind"], spec["size"], spec["op"]
def qs():
    if kind == "majority":
        nodes = [Node(f"n{i}") for i in range(size[0])]
        return QuorumSystem(reads=majority(nodes), writes=majority(nodes))
    if kind == "flexible":
        nodes = [Node(f"n{i}") for i in range(size[0])]
        return QuorumSystem(reads=choose(size[1], nodes), writes=choose(size[2], nodes))
    if kind in ("grid", "rowcol"):
        k = size[0]
        rows = [[Node(f"r{r}c{c}") for c in range(k)] for r in range(k)]
        full_row = choose(1, [choose(k, row) for row in rows])
        if kind == "grid":
            return QuorumSystem(reads=full_row, writes=choose(k, [choose(1, row) for row in rows]))
        full_col = choose(1, [choose(k, [row[c] for row in rows]) for c in range(k)])
        both = choose(2, [full_row, full_col])
        return QuorumSystem(reads=both, writes=both)
    zones = [[Node(f"z{z}n{i}") for i in range(size[1])] for z in range(size[0])]
    m = majority([majority(z) for z in zones])
    return QuorumSystem(reads=m, writes=m)
started = time.perf_counter()
system = qs()
if op == "tolerance":
    started = time.perf_counter(); system.resilience()
elif op == "load":
    started = time.perf_counter(); system.load(read_fraction=1)
print(json.dumps(time.perf_counter() - started))
"""


def ensure_peer() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing quoracle into {PEER_VENV} (once)", file=sys.stderr)
        venv.create(PEER_VENV, with_pip=True)
        (PEER_VENV / ".gitignore").write_text("*\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "quoracle==0.0.4"], check=True)
    return python


def peer_time(python: Path, s: System, op: str, timeout: float) -> float | str:
    if s.kind == "weighted":
        return "n/a"
    spec = json.dumps({"kind": s.kind, "size": list(s.size), "op": op})
    try:
        done = subprocess.run([str(python), "-c", PEER_SCRIPT, spec], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s"
    if done.returncode != 0:
        return "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    return float(json.loads(done.stdout))


def show(t: float | str) -> str:
    if isinstance(t, str):
        return t
    return f"{t:.2f} s" if t >= 1 else f"{t * 1000:.2f} ms"


def ratio(peer: float | str, ours: float | str) -> str:
    if isinstance(ours, str):
        return "-"
    if isinstance(peer, float):
        return f"{peer / ours:,.2g}x" if peer < 10 * ours else f"{peer / ours:,.0f}x"
    if peer.startswith(">"):
        return f"> {float(peer.split()[1]) / ours:,.0f}x"
    return "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per peer operation (default 60)")
    parser.add_argument("--no-peer", action="store_true", help="time paxiom only")
    parser.add_argument("--end-to-end", action="store_true", help="only the `paxiom quorum check` table")
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end_table(args.timeout)
        return
    python = None if args.no_peer else ensure_peer()
    import z3

    # warm up: the first Z3 solve and the scipy import cost ~0.1 s and ~1 s once per process; the peer's
    # times likewise exclude its interpreter start and imports
    paxiom_times(parse_cluster(cluster_text(System("warm-up", "zones", (2, 3))), "warm-up"))
    import scipy.optimize  # noqa: F401  (the warm-up's load is in closed form: no LP imports it)

    print(f"z3 {z3.get_version_string()}; peer quoracle 0.0.4 in {PEER_VENV}; timeout {args.timeout:g} s per peer op")
    header = f"{'system':<42} {'question':<13} {'paxiom':>10} {'quoracle':>12} {'ratio':>10}  answer"
    print(header)
    print("-" * len(header))
    for s in SYSTEMS:
        c = parse_cluster(cluster_text(s), s.name)
        ours = paxiom_times(c)
        built: float | str = 0.0
        for op in ("intersection", "tolerance", "load"):
            # every peer question starts by building the system, which enumerates its quorums
            if python is None:
                peer: float | str = "skipped"
            elif isinstance(built, str) and built.startswith(">"):
                peer = built
            else:
                peer = built = peer_time(python, s, op, args.timeout)
            answer = {"intersection": "holds", "tolerance": f"min crashes {ours['crashes']}",
                      "load": f"load {ours['load_value']}"}[op]
            print(f"{s.name:<42} {op:<13} {show(ours[op]):>10} {show(peer):>12} {ratio(peer, ours[op]):>10}  {answer}",
                  flush=True)
    scale_table()
    end_to_end_table(args.timeout)
    baseline = default_solver_baseline(25, args.timeout)
    print(f"\nthe encoding matters: z3.Solver() with PbGe on majority of 25 x majority of 25: {baseline}")


SCALE = [(9, 9), (15, 15), (21, 21), (40, 25)]
"""(zones, nodes per zone): 81, 225, 441 and 1,000 nodes."""


def with_latency(text: str, zones_n: int) -> str:
    """Round-trip times between zones: 0.5 ms inside one, 10-59 ms between two."""
    def rtt(a: int, b: int) -> float:
        return 0.5 if a == b else 10 + (7 * a + 3 * b) % 50

    rows = "".join(
        f"z{a} = {{ {', '.join(f'z{b} = {rtt(a, b)}' for b in range(a, zones_n))} }}\n" for a in range(zones_n)
    )
    return text + "[latency_ms]\n" + rows


def best_of(times: int, compute: Callable[[], T]) -> tuple[T, float]:
    """compute()'s result and its least wall time over `times` calls."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        result = compute()
        seconds.append(time.perf_counter() - started)
    return result, min(seconds)


def scale_table() -> None:
    from scipy.optimize import linprog

    from paxiom.cluster.latency import leader_latencies, leaders_to_try
    from paxiom.cluster.load import column_generation_load

    header = (
        f"{'majority of majorities':<36} {'load':>9} {'col. gen.':>10} {'ratio':>8} {'latency':>9}  answer"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for kind in ("zones", "uneven", "weighted zones"):
        for zones_n, per in SCALE:
            shape = {"zones": "equal zones", "uneven": "uneven zones", "weighted zones": "zones, weights 1-3"}[kind]
            s = System(f"{zones_n * per:,} nodes, {zones_n} {shape}", kind, (zones_n, per))
            c = parse_cluster(with_latency(cluster_text(s), zones_n), s.name)
            expr = c.phase1.expr
            fast, t_fast = best_of(3, partial(quorum_load, expr))  # the least of 3: the machine is shared
            started = time.perf_counter()
            general = column_generation_load(expr, linprog)
            t_general = time.perf_counter() - started
            assert c.round_trips is not None
            families = {name: fam.expr for name, fam in c.families().items()}
            trips, leaders = c.round_trips, leaders_to_try(c.n, c.zones)
            _, t_latency = best_of(3, partial(leader_latencies, families, trips, leaders))
            assert fast.value is not None
            if general.value is None:
                shown = f"> {t_general:.0f} s"
                versus = f"> {t_general / t_fast:,.0f}x" if t_general > t_fast else "-"
            else:
                assert abs(general.value - fast.value) < 1e-7, (general.value, fast.value)
                shown, versus = show(t_general), f"{t_general / t_fast:,.0f}x"
            method = "closed form" if fast.method.startswith("closed form") else "compact LP"
            print(
                f"{s.name:<36} {show(t_fast):>9} {shown:>10} {versus:>8} {show(t_latency):>9}  "
                f"load {fast.value:.4f} ({method})",
                flush=True,
            )


END_TO_END = [(81, (9, 9)), (243, (27, 9)), (500, (20, 25)), (1000, (40, 25))]
"""nodes, (zones, nodes per zone)."""

Z3_SCRIPT = r"""
import sys, time
from paxiom.cluster import load_cluster
from paxiom.cluster.certify import decide_z3
from paxiom.cluster.check import conditions
c = load_cluster(sys.argv[1])
families = {name: fam.expr for name, fam in c.families().items()}
started = time.perf_counter()
for condition in conditions(c):
    decide_z3(condition, families, c.n)
print(time.perf_counter() - started)
"""


def end_to_end_systems() -> list[tuple[str, str]]:
    """(name, cluster file text) of the user's job at each size."""
    systems = []
    for n, (zones_n, per) in END_TO_END:
        for kind in ("zones", "majority", "weighted zones", "flexible"):
            size = {"zones": (zones_n, per), "weighted zones": (zones_n, per), "majority": (n,)}.get(
                kind, (n, n * 4 // 5, n - n * 4 // 5 + 1)
            )
            labels = {"zones": "majority of majorities", "majority": "majority (threshold)",
                      "weighted zones": "weighted zones"}
            label = labels[kind] if kind in labels else f"|Q1|={size[1]}, |Q2|={size[2]}"
            text = cluster_text(System(label, kind, size))
            if "zones" in kind:
                text = with_latency(text, zones_n)
            systems.append((f"{n:,} nodes, {label}", text))
    return systems


def end_to_end_table(timeout: float) -> None:
    """`paxiom quorum check FILE` in a fresh process, each analysis in this one, Z3 alone in its own."""
    paxiom = shutil.which("paxiom", path=str(Path(sys.executable).parent)) or "paxiom"
    header = (
        f"{'system':<40} {'check (wall)':>12} {'intersect.':>10} {'tolerance':>9} {'latency':>9} {'load':>9} "
        f"{'Z3 alone':>10} {'ratio':>8}  decided by"
    )
    print(f"\n`paxiom quorum check FILE`, process start included (least of 3)\n{header}\n{'-' * len(header)}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in end_to_end_systems():
            path = Path(tmp) / "cluster.toml"
            path.write_text(text)
            _, wall = best_of(3, partial(subprocess.run, [paxiom, "quorum", "check", str(path)],
                                         capture_output=True, check=False, env=installed_env(tmp)))
            by, t_intersection, t_tolerance, t_latency, t_load = analyses(parse_cluster(text, name))
            z3_alone = z3_time(path, timeout)
            print(
                f"{name:<40} {show(wall):>12} {show(t_intersection):>10} {show(t_tolerance):>9} "
                f"{show(t_latency):>9} {show(t_load):>9} {show(z3_alone):>10} {ratio(z3_alone, t_intersection):>8}  "
                f"{', '.join(by)}",
                flush=True,
            )


def analyses(c: Cluster) -> tuple[list[str], float, float, float | str, float]:
    """Who decided the intersections, and the least of 3 times of each analysis `quorum check` runs."""
    from paxiom.cluster.latency import leader_latencies, leaders_to_try

    families = {f: fam.expr for f, fam in c.families().items()}
    outcomes, t_intersection = best_of(3, lambda: [decide(k, families, c.n) for k in conditions(c)])
    _, t_tolerance = best_of(3, lambda: [min_crashes(e, c.n) for e in families.values()])
    t_latency: float | str = "-"
    if c.round_trips is not None:
        trips, leaders = c.round_trips, leaders_to_try(c.n, c.zones)
        _, t_latency = best_of(3, partial(leader_latencies, families, trips, leaders))
    _, t_load = best_of(3, lambda: [quorum_load(e) for e in families.values()])
    by = sorted({"Z3" if o.method == Z3 else "exact" for o in outcomes})
    return by, t_intersection, t_tolerance, t_latency, t_load


def installed_env(tmp: str) -> dict[str, str]:
    """The environment of an installed paxiom: bytecode cached (in `tmp`, not the tree), as pip leaves it;
    without it every run compiles its ~150 modules first."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}


def z3_time(path: Path, timeout: float) -> float | str:
    """Every condition of the file decided by Z3 alone, in a fresh process killed after `timeout`."""
    try:
        done = subprocess.run([sys.executable, "-c", Z3_SCRIPT, str(path)], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s"
    return float(done.stdout) if done.returncode == 0 else "error"


def default_solver_baseline(n: int, timeout: float) -> str:
    """Why the encoding matters: z3's default solver on the pseudo-Boolean form of majority x majority."""
    import z3

    xs, ys = z3.Bools(" ".join(f"x{i}" for i in range(n))), z3.Bools(" ".join(f"y{i}" for i in range(n)))
    solver = z3.Solver()
    solver.set("timeout", int(timeout * 1000))
    k = n // 2 + 1
    solver.add(z3.PbGe([(x, 1) for x in xs], k), z3.PbGe([(y, 1) for y in ys], k))
    solver.add(*(z3.Not(z3.And(x, y)) for x, y in zip(xs, ys, strict=True)))
    started = time.perf_counter()
    verdict = solver.check()
    seconds = time.perf_counter() - started
    return f"{seconds:.2f} s ({verdict})" if verdict != z3.unknown else f"> {timeout:g} s (gave up)"


if __name__ == "__main__":
    main()
