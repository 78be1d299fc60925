"""`paxiom conform`: test a Paxos implementation against the spec, in process or as a process."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paxiom.cli.output import (
    FiniteFloat,
    console,
    emit_json,
    err_console,
    finish,
    json_option,
    output_path,
    show_progress,
    user_errors,
)
from paxiom.conform.node import ROLES
from paxiom.conform.targets import DEFAULT_TIMEOUT, MAX_TIMEOUT, ProcessTarget, Target, load_adapter
from paxiom.errors import PaxiomError
from paxiom.fanout import Pool, default_workers
from paxiom.maelstrom.cli import system_options
from paxiom.variants import VARIANTS

if TYPE_CHECKING:
    from paxiom.conform.report import Report


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PaxiomError(f"--option {pair!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _target(adapter: str | None, command: tuple[str, ...], timeout: float, log_dir: Path) -> Target:
    if bool(adapter) == bool(command):
        raise PaxiomError("give either --adapter MODULE:CLASS or a command after --, not both and not neither")
    if adapter:
        target = load_adapter(adapter)
        target.timeout = timeout
        return target
    return ProcessTarget(command, log_dir, timeout)


def _print(report: Report, written: list[Path]) -> None:
    judged = ", ".join(f"{n} {kind}" for kind, n in sorted(report.judged.items())) or "no messages"
    console.print(
        f"[bold]{report.target}[/] as [bold]{report.suite}[/]: {report.examples} schedules in {report.seconds:.1f} s "
        f"(seed {report.seed}); judged {judged}",
        soft_wrap=True,
    )
    if report.replay_of is not None and not report.findings:
        was = f" (it broke {report.replay_of} when recorded)" if report.replay_of else ""
        console.print(f"[bold green]no longer fails[/]: the replayed schedule breaks no rule{was}", soft_wrap=True)
        return
    if report.conforms:
        console.print("[bold green]conforms[/]: no rule broken")
        return
    if report.vacuous:
        console.print("[bold yellow]inconclusive[/]: no message of this role was judged; raise --max-examples")
        return
    if report.stopped:
        console.print(f"[bold red]stopped early[/]: {report.stopped}", soft_wrap=True)
    table = Table(title=f"{len(report.findings)} finding(s)", show_lines=True)
    for column in ("rule", "node", "reason"):
        table.add_column(column)
    for f in report.findings:
        table.add_row(f.rule, f.node, f.reason)
    console.print(table)
    for f, path in zip(report.findings, written, strict=False):
        steps = f"{len(f.steps)} step{'' if len(f.steps) == 1 else 's'}"
        console.print(f"\n[bold red]{f.rule}[/] — shrunk schedule ({steps}), replay: {path}", soft_wrap=True)
        for line in f.log:
            console.print(f"  {line}", markup=False, highlight=False)
        console.print(f"  [dim]sequence diagram: {path.with_suffix('.mmd')}[/]")


def _run(
    target: Target,
    variant: str,
    role: str,
    max_examples: int,
    seed: int,
    opts: dict[str, str],
    max_findings: int,
    replay_file: Path | None,
    as_json: bool,
    seeds: int = 1,
    workers: int = 1,
) -> Report:
    from paxiom.conform.report import load_replay  # hypothesis: only once a search or replay runs
    from paxiom.conform.search import check, check_seeds, replay

    if replay_file is not None:
        try:
            recorded = load_replay(replay_file)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise PaxiomError(f"not a replay file: {type(exc).__name__}: {exc}", where=str(replay_file)) from None
        target.check_options({**recorded.options, **opts})
        report = replay(target, recorded.role, recorded.config, recorded.steps, {**recorded.options, **opts},
                        recorded.rule, recorded.variant)  # fmt: skip
    else:
        target.check_options(opts)
        wanted = "node" if role == "group" else role
        declared = target.roles()
        if declared is not None and wanted not in declared:
            raise PaxiomError(f"{target.name} cannot play {wanted} (it declares {', '.join(sorted(declared))})")
        with Progress(
            TextColumn("[bold]conform[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not show_progress(),
        ) as progress:
            if seeds > 1:  # independent searches, fanned out, merged in seed order
                task = progress.add_task(f"{role} over {seeds} seeds", total=seeds)
                return check_seeds(target, role, range(seed, seed + seeds), Pool(min(workers, seeds)),
                                   max_findings=max_findings, on_report=lambda _: progress.advance(task),
                                   max_examples=max_examples, options=opts, variant=variant)  # fmt: skip
            task = progress.add_task(role, total=max_examples * max_findings)
            report = check(
                target,
                role,
                max_examples=max_examples,
                seed=seed,
                options=opts,
                max_findings=max_findings,
                on_example=lambda: progress.advance(task),
                variant=variant,
            )
    return report


@click.command()
@system_options
@click.option("--adapter", metavar="MODULE:CLASS", help="An in-process adapter (MODULE:CLASS or FILE.py:CLASS).")
@click.option("--role", type=click.Choice(ROLES), default="acceptor", show_default=True, help="What to test.")
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default="paxos",
    show_default=True,
    help="The protocol judged; multipaxos, fastpaxos, reconfig and cheap (acceptors, proposers, learners) speak "
    "paxiom-conform/2.",
)
@click.option("--max-examples", type=click.IntRange(1), default=200, show_default=True, help="Schedules per search.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the schedule search (reproducible).")
@click.option(
    "--seeds",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Run independent searches with seeds --seed, --seed + 1, ...; findings merged in seed order.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Processes the --seeds searches run in (default: the cores available); the report does not depend on it.",
)
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Passed to the implementation.")
@click.option(
    "--timeout",
    type=FiniteFloat(0.01, MAX_TIMEOUT),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds the implementation may take to answer one input.",
)
@click.option(
    "--max-findings",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Distinct rules to look for before stopping.",
)
@click.option(
    "--replay",
    "replay_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Run the schedule of a replay file once instead of searching.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("conform-findings"),
    show_default=True,
    help="Where replay files and diagrams of findings are written (missing parent folders are created).",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here (missing parent folders are created).",
)
@json_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@user_errors
def conform(
    adapter: str | None,
    role: str,
    variant: str,
    max_examples: int,
    seed: int,
    seeds: int,
    workers: int | None,
    options: tuple[str, ...],
    timeout: float,
    max_findings: int,
    replay_file: Path | None,
    out: Path,
    junit: Path | None,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Judge an implementation's every message by the spec under adversarial schedules.

    \b
    In process:      paxiom conform --adapter mylib_adapter:MyAdapter --role acceptor
    Out of process:  paxiom conform --role acceptor -- node examples/conformance/acceptor.js
    Multi-Paxos:     paxiom conform --variant multipaxos -- node examples/conformance/log_acceptor.js
    Cheap Paxos:     paxiom conform --variant cheap -- python3 examples/conformance/acceptor_v2.py

    Exit 0: conforms; 1: rules broken (each with a shrunk schedule and a replay file), or nothing was judged
    (inconclusive); 2: usage error.
    """
    opts = _options(options)
    with tempfile.TemporaryDirectory(prefix="paxiom-conform-logs-") as log_dir:  # the processes' stderr
        report = _run(_target(adapter, command, timeout, Path(log_dir)), variant, role, max_examples, seed, opts,
                      max_findings, replay_file, as_json, seeds, workers or default_workers())  # fmt: skip
    written = report.write_replays(out, opts) if report.findings else []
    for finding, path in zip(report.findings, written, strict=True):
        path.with_suffix(".mmd").write_text(finding.mermaid() + "\n")
    if junit is not None:
        report.junit(output_path(junit))
    if as_json:
        doc = report.to_json()
        for f, path in zip(doc["findings"], written, strict=True):
            f["replay_file"] = str(path)
        emit_json(doc)
        err_console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    else:
        _print(report, written)
    finish(report.conforms)
