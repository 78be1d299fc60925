"""How strong is the conformance suite? Detection rate and time to detection over the core's mutant catalogue.

    .venv/bin/python bench/conformance_mutants.py [--max-examples 200] [--seeds 20] [--no-sim] [--json]

The default budget is `paxiom conform`'s own (200 schedules), so the detection probability column is the
chance that one run of the suite, as a user runs it, catches the bug: the share of seeds that did. Every
mutant of `paxiom.impl.mutants` whose bug lives in a single-decree role (acceptor, proposer, learner) is
wrapped as an implementation under test and searched with several seeds; the table gives, per mutant, in how
many seeds it was caught, the rule that caught it, and the median number of schedules and seconds until the
first failing schedule (before shrinking), plus the length of the shrunk schedule. Mutants of the replication
layer (catch-up, snapshots, apply order) and `skip-holes` need several slots and are listed as not applicable.
No outside tool judges a black-box implementation message by message (Jepsen and Maelstrom check client-
visible histories); the peer measured in the same run is paxiom's own whole-cluster simulator (`paxiom sim
--mutant NAME`, issue 6), which runs N full replicas under faults and checks a refinement mapping onto the
Multi-Paxos spec: the ratio column is its time to detection over the suite's (above 1: the conformance suite
is faster). The unmutated core is timed as the baseline cost of a conformant target.

The Multi-Paxos, Fast Paxos, reconfiguration and Cheap Paxos suites (`--variant`, protocol
paxiom-conform/2) are measured the same way on the mutants of the reference acceptor, coordinator and
learner `examples/conformance/acceptor_v2.py`, `proposer_v2.py`, `learner_v2.py` (served in process),
listed with their variant; the simulator has no such mutants, so they have no peer column.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from paxiom.conform.search import check
from paxiom.conform.targets import load_adapter
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim.hunt import hunt

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
CORE = f"{EXAMPLES / 'paxiom_core.py'}:Core"
ACCEPTOR_V2 = f"{EXAMPLES / 'acceptor_v2_inprocess.py'}:InProcess"
VARIANT_MUTANTS = {
    "promise-per-slot": ("multipaxos", "acceptor"),
    "forget-on-catch-up": ("multipaxos", "acceptor"),
    "recover-last-slot-only": ("multipaxos", "proposer"),
    "count-across-slots": ("multipaxos", "learner"),
    "second-fast-vote": ("fastpaxos", "acceptor"),
    "fast-vote-below-promise": ("fastpaxos", "acceptor"),
    "highest-vote-after-collision": ("fastpaxos", "proposer"),
    "any-despite-votes": ("fastpaxos", "proposer"),
    "classic-quorum-at-fast-ballot": ("fastpaxos", "learner"),
    "votes-outside-config": ("reconfig", "acceptor"),
    "leader-config-early": ("reconfig", "proposer"),
    "old-config-quorum": ("reconfig", "proposer"),
    "learner-initial-quorums": ("reconfig", "learner"),
    "aux-votes-commands": ("cheap", "acceptor"),
    "aux-forgets-votes": ("cheap", "acceptor"),
    "commands-to-auxiliary": ("cheap", "proposer"),
    "learner-config-early": ("cheap", "learner"),
}
"""The protocol-2 reference nodes' mutants (`--option mutant=NAME`), the variant and role judging each."""
ROLES = ("acceptor", "proposer", "learner")
MULTI_SLOT_ONLY = {"skip-holes": "a hole needs a later slot to be chosen; single-decree has one slot"}


@dataclass
class Run:
    seed: int
    rule: str | None
    examples_to_detection: int = 0
    seconds_to_detection: float = 0.0
    shrunk_steps: int = 0


def measure(
    name: str, role: str, seeds: int, max_examples: int, with_sim: bool, target: str = CORE, variant: str = "paxos"
) -> dict[str, Any]:
    adapter = load_adapter(target)
    runs = []
    for seed in range(seeds):
        options = {"mutant": name}
        report = check(
            adapter, role, max_examples=max_examples, seed=seed, options=options, max_findings=1, variant=variant
        )
        f = report.findings[0] if report.findings else None
        run = Run(seed, None)
        if f is not None:
            run = Run(seed, f.rule, f.examples_to_detection, round(f.seconds_to_detection, 3), len(f.steps))
        runs.append(run)
    caught = [r for r in runs if r.rule is not None]
    sim = hunt(MUTANTS[name], shrink_seconds=0) if with_sim else None

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    return {
        "mutant": name,
        "role": role,
        "variant": variant,
        "caught_in_seeds": len(caught),
        "seeds": seeds,
        "detection_probability": round(len(caught) / seeds, 3),
        "rules": sorted({str(r.rule) for r in caught}),
        "median_examples": median([r.examples_to_detection for r in caught]),
        "median_seconds": median([r.seconds_to_detection for r in caught]),
        "median_shrunk_steps": median([r.shrunk_steps for r in caught]),
        "sim_seconds_to_detection": round(sim.seconds, 3) if sim is not None and sim.found is not None else None,
        "runs": [asdict(r) for r in runs],
    }


def ratio(peer: float | None, ours: float | None) -> str:
    return f"{peer / ours:.2g}x" if peer is not None and ours else "-"


def baseline(max_examples: int) -> dict[str, float]:
    """Seconds per 100 schedules against the unmutated core, per role, and the unmutated reference acceptor
    of protocol 2, per variant (`multipaxos acceptor`, `fastpaxos acceptor`)."""
    out = {}
    runs = [(CORE, "paxos", role) for role in ROLES]
    runs += [(ACCEPTOR_V2, variant, role) for variant, role in sorted(set(VARIANT_MUTANTS.values()))]
    for target, variant, role in runs:
        started = time.monotonic()
        report = check(load_adapter(target), role, max_examples=max_examples, seed=0, max_findings=1, variant=variant)
        assert report.conforms, f"{target} does not conform as {report.suite}: {report.findings[0].title}"
        out[report.suite] = round((time.monotonic() - started) / report.examples * 100, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-sim", action="store_true", help="skip the whole-cluster simulator's timings")
    parser.add_argument("--only", action="append", metavar="MUTANT", help="measure only these mutants")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    err = Console(stderr=True)
    applicable = {n: m.role for n, m in MUTANTS.items() if m.role in ROLES and n not in MULTI_SLOT_ONLY}
    applicable = {n: r for n, r in applicable.items() if not args.only or n in args.only}
    results = []
    for name, role in applicable.items():
        err.print(f"[dim]{name} ({role}) ...[/]")
        results.append(measure(name, role, args.seeds, args.max_examples, not args.no_sim))
    for name, (variant, role) in VARIANT_MUTANTS.items():
        if not args.only or name in args.only:
            err.print(f"[dim]{name} ({variant} {role}) ...[/]")
            results.append(measure(name, role, args.seeds, args.max_examples, False, ACCEPTOR_V2, variant))
    cost = baseline(min(args.max_examples, 200))
    not_applicable = {
        n: MULTI_SLOT_ONLY.get(n, f"a {m.role} bug (several slots)") for n, m in MUTANTS.items() if n not in applicable
    }
    always = sum(r["caught_in_seeds"] == r["seeds"] for r in results)
    times = [r["median_seconds"] for r in results if r["median_seconds"] is not None]
    summary = {
        "max_examples": args.max_examples,
        "seeds": args.seeds,
        "applicable": len(results),
        "caught_in_every_seed": always,
        "detection_rate": round(always / len(results), 3) if results else None,
        "mean_detection_probability": (
            round(statistics.mean(r["detection_probability"] for r in results), 3) if results else None
        ),
        "median_seconds_to_detection": round(statistics.median(times), 3) if times else None,
        "max_seconds_to_detection": max(times) if times else None,
        "core_seconds_per_100_schedules": cost,
    }
    if args.json:
        json.dump({"summary": summary, "mutants": results, "not_applicable": not_applicable}, sys.stdout, indent=2)
        print()
        return
    table = Table(title=f"conformance suite vs the core's mutants ({args.seeds} seeds, {args.max_examples} examples)")
    columns: tuple[str, ...] = ("mutant", "variant", "role", "caught", "P(detect)", "rule", "median schedules")
    columns += ("median s", "shrunk steps", "sim s", "sim/suite")
    for column in columns:
        table.add_column(column)
    for r in results:
        table.add_row(
            r["mutant"], r["variant"], r["role"], f"{r['caught_in_seeds']}/{r['seeds']}",
            f"{r['detection_probability']:.2f}",
            ", ".join(r["rules"]),
            str(r["median_examples"]), str(r["median_seconds"]), str(r["median_shrunk_steps"]),
            str(r["sim_seconds_to_detection"]), ratio(r["sim_seconds_to_detection"], r["median_seconds"]),
        )  # fmt: skip
    console = Console(width=200)
    console.print(table)
    console.print(
        f"detection rate: {always}/{len(results)} applicable mutants caught in every seed, mean detection "
        f"probability {summary['mean_detection_probability']}; median time to "
        f"detection {summary['median_seconds_to_detection']} s, worst {summary['max_seconds_to_detection']} s"
    )
    console.print(f"unmutated core, seconds per 100 schedules: {cost}")
    console.print("not applicable (need several slots): " + ", ".join(not_applicable))


if __name__ == "__main__":
    main()
