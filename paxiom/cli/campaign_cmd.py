"""`paxiom campaign`: fault campaigns against a real local cluster of `paxiom node` processes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from paxiom.cli.output import FiniteFloat, console, emit_json, finish, json_option, user_errors
from paxiom.errors import PaxiomError
from paxiom.variants import SERVICE

if TYPE_CHECKING:
    from paxiom.campaign.run import RunReport


@click.command(
    help="Start a real cluster on loopback (mutual TLS, a fault-injecting proxy on every peer link, --trace), run "
    "concurrent clients, inject seeded faults, heal, recover and judge: linearizable history, no acknowledged "
    "write lost, one value per slot, the refinement oracle over the traces, corruption never served. Exit 0 "
    "when every run holds, 1 when one does not."
)
@click.option(
    "--variant",
    type=click.Choice(SERVICE),
    default="multipaxos",
    show_default=True,
    help="The service's protocol: fastpaxos lays the cluster out as `cluster up --fast` (fast quorums of "
    "ceil(3n/4), clients proposing to every node), cheap as `--mains --auxiliaries` (a majority of mains, "
    "the rest auxiliaries). Faults that do not apply to it are left out (docs/campaign.md).",
)
@click.option("--cluster-size", type=click.IntRange(3, 7), default=3, show_default=True, help="Nodes.")
@click.option("--duration", type=FiniteFloat(min=4), default=12.0, show_default=True, help="Seconds of load a run.")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Seed of the first run.")
@click.option("--faults", default=None, help="Comma-separated fault kinds (default: all; see docs/campaign.md).")
@click.option("--runs", type=click.IntRange(1, 10_000), default=1, show_default=True, help="Seeds seed, seed+1, ...")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Runs at a time, each its own cluster (reports in seed order): mind the cores a cluster needs.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Keep each run's directory here.")
@click.option("--replay", type=click.Path(dir_okay=False, path_type=Path), help="Re-apply a run's schedule.json.")
@click.option("--mutant", help="Start every node with this storage or core bug (the campaign's teeth).")
@json_option
@user_errors
def campaign(
    variant: str,
    cluster_size: int,
    duration: float,
    seed: int,
    faults: str | None,
    runs: int,
    workers: int,
    out: Path | None,
    replay: Path | None,
    mutant: str | None,
    as_json: bool,
) -> None:
    from paxiom.campaign import faults as registry
    from paxiom.campaign.cluster import mutants_of
    from paxiom.campaign.run import RunSpec
    from paxiom.campaign.table import campaign as run_campaign

    if mutant is not None and mutant not in mutants_of(variant):
        raise PaxiomError(f"unknown mutant {mutant!r} for {variant} (known: {', '.join(mutants_of(variant))})")
    kinds = tuple(registry.parse_kinds(faults, variant)) if faults else None  # None: every kind of the variant
    spec = RunSpec(seed, cluster_size, duration, kinds, mutant, variant=variant)
    if replay is not None:
        spec.seed, spec.schedule = registry.load(replay, [f"n{i}" for i in range(1, cluster_size + 1)])
        runs = 1

    def progress(report: RunReport) -> None:
        if not as_json:
            _print_run(report)

    reports, table = run_campaign(spec, runs, out, progress, workers)
    holds = all(r.ok for r in reports)
    if as_json:
        emit_json({"holds": holds, "totals": table, "runs": [r.to_json() for r in reports]})
    else:
        _print_table(table)
    finish(holds)


def _print_run(report: RunReport) -> None:
    f = report.figures
    head = "[green]holds[/]" if report.ok else "[bold red]FAILS[/]"
    console.print(
        f"seed {report.seed}: {head}  ops {f.get('ops_attempted', 0)} ok {f.get('ops_ok', 0)}  "
        f"faults {f.get('faults', {})}",
        highlight=False,
    )
    if report.ok:
        return
    console.print(f"  run directory: {escape(report.directory)} (schedule.json, history.jsonl, trace/, logs)")
    console.print("  schedule:\n    " + "\n    ".join(map(escape, report.schedule)), highlight=False)
    for anomaly in report.anomalies:
        console.print(f"  [bold]anomaly[/]: {escape(anomaly)}", soft_wrap=True, highlight=False)
    for line in report.explanation:
        console.print(f"    {escape(line)}", soft_wrap=True, highlight=False)
    console.print(f"  replay: paxiom campaign --replay {escape(report.directory)}/schedule.json")
    console.print("  node log tails:\n" + escape(report.log_tails), highlight=False, soft_wrap=True)


def _print_table(table: dict[str, Any]) -> None:
    for key, value in table.items():
        console.print(f"{key:<30} {escape(str(value))}", highlight=False)
