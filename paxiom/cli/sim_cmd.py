"""`paxiom sim`: deterministic cluster simulation under the refinement oracle, mutants, replay."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from paxiom.cli.output import (
    FiniteFloat,
    console,
    emit_json,
    err_console,
    finish,
    json_option,
    output_path,
    user_errors,
)
from paxiom.cli.trace_view import sim_step_words
from paxiom.errors import PaxiomError
from paxiom.fanout import LOCAL_DASK, Pool, default_workers
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim import trace
from paxiom.impl.sim.coverage import COUNTERS, PER
from paxiom.impl.sim.hunt import DEFAULT_RUNS, DEFAULT_STEPS, hunt, schedules_of
from paxiom.impl.sim.runner import FAULTS, Faults, RunResult, replay, run
from paxiom.impl.sim.shrink import shrink
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.spec.quorums import ENUMERATION_LIMIT
from paxiom.variants import SIMULATED


def _report(result: RunResult, trace_path: Path | None, as_json: bool, extra: dict[str, Any]) -> None:
    doc = {
        **extra,
        **trace.verdict(result),
        "checked_transitions": result.transitions,
        "spec_actions_matched": result.actions_matched,
        "corrupt_catch_ups_refused": result.refused,
        "steps": len(result.steps),
        "seconds": round(result.seconds, 3),
        "transitions_per_second": round(result.transitions / result.seconds) if result.seconds else None,
    }
    if result.quiet_rounds is not None:
        doc["quiet_rounds"] = result.quiet_rounds
    if result.mix is not None:
        doc["mix"] = result.mix
    if result.coverage is not None:
        doc["coverage"] = result.coverage
    if trace_path is not None:
        trace.dump(result, output_path(trace_path))
        doc["trace"] = str(trace_path)
    if as_json:
        emit_json(doc)
        return
    if result.coverage is not None:
        _print_coverage(result.coverage)
    objection = result.objection
    if objection is None:
        console.print(
            f"[green]holds[/]: {doc['steps']} steps, {result.transitions} transitions checked against "
            f"spec/{result.settings.variant} ({result.actions_matched} spec actions matched) in {doc['seconds']} s; "
            f"every replica at the leader's commit index {result.quiet_rounds} quiet rounds after faults stopped, "
            f"settled {result.liveness_rounds} fair rounds after resubmitting; "
            f"{result.refused} corrupted catch-up replies caught by checksum and refused"
        )
        return
    console.print(f"[bold red]oracle objects[/] at step {objection.step}: [bold]{escape(objection.check)}[/]")
    console.print(f"  {escape(objection.reason)}", soft_wrap=True)
    if objection.matched:
        console.print("  the step had matched: " + escape(", ".join(map(str, objection.matched))))
    if trace_path is not None:
        console.print(
            f"  schedule of {len(result.steps)} steps written to {trace_path} "
            f"(replay: paxiom sim --replay {trace_path})"
        )
        shown = result.steps if len(result.steps) <= 30 else result.steps[-12:]
        if len(shown) < len(result.steps):
            console.print(f"    ... {len(result.steps) - len(shown)} earlier steps")
        for i, step in enumerate(shown, len(result.steps) - len(shown)):
            console.print(f"    {i:>4}  " + escape(sim_step_words(step)))


def _print_coverage(doc: dict[str, Any]) -> None:
    table = Table(title=f"dangerous interleavings reached in {doc['steps']} fault-phase steps")
    for column in ("interleaving", "count", f"per {PER:,} steps", "what counts"):
        table.add_column(column, justify="right" if column in ("count", f"per {PER:,} steps") else "left")
    for name, what in COUNTERS.items():
        table.add_row(name, str(doc["counts"][name]), str(doc["per_10k_steps"][name]), what)
    console.print(table)
    a = doc["availability"]
    console.print(
        f"without a leader: {a['leaderless_ticks']} of {a['ticks']} ticks ({a['leaderless_share']:.1%}), "
        f"longest stretch {a['longest_leaderless_ticks']} ticks"
    )


def _list_mutants(as_json: bool) -> None:
    if as_json:
        emit_json([{"name": m.name, "role": m.role, "description": m.description} for m in MUTANTS.values()])
        return
    table = Table(title=f"{len(MUTANTS)} injectable bugs (paxiom sim --mutant NAME)")
    for column in ("name", "role", "description"):
        table.add_column(column)
    for m in MUTANTS.values():
        table.add_row(m.name, m.role, m.description)
    console.print(table)


@click.command()
@click.option(
    "--replicas",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help=f"Cluster size (at most {ENUMERATION_LIMIT}: the oracle enumerates quorums).",
)
@click.option("--seed", default=0, show_default=True, help="Seeds the cluster and the fault schedule.")
@click.option(
    "--steps",
    type=click.IntRange(1),
    default=2000,
    show_default=True,
    help="Adversarial steps before the liveness check.",
)
@click.option("--faults", default="all", show_default=True, help=f"all, none, or a list of: {', '.join(FAULTS)}.")
@click.option("--swarm", is_flag=True, help="Swarm testing: each run draws its own subset of --faults and rates.")
@click.option(
    "--bias",
    is_flag=True,
    help="Mix in tactics aimed at the dangerous interleavings the run has reached least (see --coverage).",
)
@click.option(
    "--uniform",
    is_flag=True,
    help="Hunt with uniform schedules only (a hunt's runs otherwise take turns: biased, uniform, swarm + "
    "biased; --swarm/--bias give every run that schedule).",
)
@click.option(
    "--coverage",
    is_flag=True,
    help="Count the dangerous interleavings reached (per 10k steps) and the time without a leader.",
)
@click.option("--q1", type=click.IntRange(1), default=None, help="Phase-1 quorum size (default: majority).")
@click.option("--q2", type=click.IntRange(1), default=None, help="Phase-2 quorum size (default: majority).")
@click.option(
    "--variant",
    type=click.Choice(SIMULATED),
    default="multipaxos",
    show_default=True,
    help="The protocol the replicas run; fastpaxos: fast ballots, clients' commands straight to acceptors; "
    "reconfig: the last replica starts outside every quorum and the schedule switches configurations through "
    "the log (adding, removing, replacing replicas) under the faults; cheap: Cheap Paxos, a majority of mains "
    "and auxiliaries that vote only for the retirement of a main, which the schedule asks for.",
)
@click.option(
    "--alpha",
    type=click.IntRange(1),
    default=None,
    help="Reconfiguration window of --variant reconfig or cheap: a switch chosen in slot i governs from i + α "
    "(default 8).",
)
@click.option(
    "--fast",
    type=click.IntRange(1),
    default=None,
    help="Fast quorum size (fastpaxos; default: the smallest the phase-1 quorum allows).",
)
@click.option("--mutant", default=None, help="Hunt this injected bug with the default budget until the oracle objects.")
@click.option(
    "--hunt",
    "soak",
    is_flag=True,
    help="Hunt over seeds --seed, --seed + 1, ... (--runs of them) until the oracle objects (implied by --mutant).",
)
@click.option("--runs", type=click.IntRange(1), default=DEFAULT_RUNS, show_default=True, help="Seeds a hunt runs.")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Processes a hunt runs its seeds in (default: the cores available); the verdict does not depend on it.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    default=None,
    help="Run a hunt's seeds on this Dask scheduler's workers (the distributed extra).",
)
@click.option("--dask", is_flag=True, help="Run a hunt on a Dask LocalCluster of --workers processes on this machine.")
@click.option("--list-mutants", is_flag=True, help="List the mutant catalogue.")
@click.option("--replay", "replay_file", type=click.Path(path_type=Path), default=None, help="Replay a trace file.")
@click.option(
    "--trace-out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where a failing (shrunk) schedule is written (missing parent folders are created; default: a file "
    "in the system's temporary directory, named in the report).",
)
@click.option(
    "--shrink-seconds", type=FiniteFloat(0, 3600), default=20.0, show_default=True, help="Time allowed for shrinking."
)
@click.option(
    "--trace-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write every replica's observation records to DIR/<replica>.jsonl (see paxiom trace check).",
)
@json_option
@user_errors
def sim(
    replicas: int,
    seed: int,
    steps: int,
    faults: str,
    swarm: bool,
    bias: bool,
    uniform: bool,
    coverage: bool,
    q1: int | None,
    q2: int | None,
    variant: str,
    fast: int | None,
    alpha: int | None,
    mutant: str | None,
    soak: bool,
    runs: int,
    workers: int | None,
    scheduler: str | None,
    dask: bool,
    list_mutants: bool,
    replay_file: Path | None,
    trace_out: Path | None,
    shrink_seconds: float,
    trace_dir: Path | None,
    as_json: bool,
) -> None:
    """Simulate a Multi-Paxos (or Fast Paxos, or reconfiguring) cluster under faults; the spec judges every step.

    Exit 0: the oracle found nothing (and the cluster settled after faults stopped); 1: it objected, and
    the shrunk schedule is written to --trace-out; 2: bad input.
    """
    if list_mutants:
        _list_mutants(as_json)
        return
    if replay_file is not None:
        settings, schedule = trace.load(replay_file)
        result = replay(settings, schedule, trace_dir=trace_dir)
        _report(result, None, as_json, {"replayed": str(replay_file)})
        finish(result.holds)
    if uniform and (swarm or bias):
        raise PaxiomError("--uniform draws uniform schedules only; it excludes --swarm and --bias")
    trace_out = trace_out or Path(tempfile.gettempdir()) / "paxiom-sim" / f"trace-{mutant or f'seed-{seed}'}.json"
    if replicas > ENUMERATION_LIMIT:
        raise PaxiomError(
            f"--replicas {replicas}: the simulator's oracle enumerates quorums (limit {ENUMERATION_LIMIT} "
            "replicas); certify a larger cluster's quorums with `paxiom quorum check`"
        )
    if mutant is not None or soak:
        if mutant is not None and mutant not in MUTANTS:
            raise PaxiomError(f"no mutant {mutant!r}; see paxiom sim --list-mutants")
        given = click.get_current_context().get_parameter_source
        if given("variant") is ParameterSource.COMMANDLINE or fast is not None or alpha is not None:
            raise PaxiomError(
                "--variant/--fast/--alpha do not apply to hunts: a mutant runs the variant it is a bug of, a --hunt "
                "soak runs multipaxos"
            )
        if mutant is not None and given("seed") is ParameterSource.COMMANDLINE:
            raise PaxiomError(f"--mutant hunts over its own seeds (runs 0..{runs - 1}); --seed does not apply to it")
        if coverage:
            raise PaxiomError("--coverage counts the interleavings of one run; it does not apply to hunts")
        if dask and scheduler is not None:
            raise PaxiomError("--dask starts a local Dask cluster; --scheduler names a running one: give one of them")
        pool = Pool(workers or default_workers(), LOCAL_DASK if dask else scheduler)
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task(f"hunting {mutant or 'over seeds'} in {pool.describe()}", total=runs)
            found = hunt(
                None if mutant is None else MUTANTS[mutant],
                runs=runs,
                steps=steps if given("steps") is ParameterSource.COMMANDLINE else DEFAULT_STEPS,
                faults=Faults.parse(faults),
                replicas=replicas if given("replicas") is ParameterSource.COMMANDLINE else None,
                shrink_seconds=shrink_seconds,
                progress=lambda i: bar.update(task, completed=i + 1),
                first_seed=0 if mutant is not None else seed,
                pool=pool,
                schedules=schedules_of(swarm, bias, uniform),
            )
        extra = {
            "mutant": mutant,
            "runs": found.runs,
            "steps_to_detection": found.steps,
            "seconds_to_detection": round(found.seconds, 3),
        }
        if found.shrunk is None:
            if as_json:
                emit_json({**extra, "holds": True})
            else:
                caught = "[green]holds[/]: no objection" if mutant is None else "[yellow]not caught[/]"
                console.print(f"{caught} within the budget ({found.runs} runs, {found.steps} steps)")
            finish(True)
        assert found.found is not None and found.schedule is not None
        extra["unshrunk_steps"] = len(found.found.steps)
        extra["schedule"] = found.schedule.name
        if mutant is None:
            extra["failing_seed"] = found.found.settings.seed
        if trace_dir is not None:  # the shrunk schedule's records, for paxiom trace check
            replay(found.shrunk.settings, found.shrunk.steps, trace_dir=trace_dir)
        _report(found.shrunk, trace_out, as_json, extra)
        finish(False)
    try:
        if fast is not None and variant != "fastpaxos":
            raise PaxiomError("--fast sizes the fast quorums of --variant fastpaxos only")
        if alpha is not None and variant not in ("reconfig", "cheap"):
            raise PaxiomError("--alpha is the reconfiguration window of --variant reconfig or cheap only")
        if variant in ("reconfig", "cheap") and (q1 is not None or q2 is not None or replicas < 2):
            raise PaxiomError(f"--variant {variant} runs majorities of at least 2 replicas; --q1/--q2 do not apply")
        settings = ClusterSettings(replicas=replicas, seed=seed, phase1=q1, phase2=q2, variant=variant, fast=fast)
        if alpha is not None:
            settings = dataclasses.replace(settings, alpha=alpha)
        settings.quorums()
    except ValueError as exc:
        raise PaxiomError(str(exc)) from None
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"simulating {replicas} replicas", total=steps)
        result = run(
            settings,
            steps,
            Faults.parse(faults),
            progress=lambda i: bar.update(task, completed=i),
            trace_dir=trace_dir,
            swarm=swarm,
            bias=bias,
            coverage=coverage,
        )
    if result.objection is not None:
        result = shrink(settings, result, shrink_seconds)
    header = {"variant": variant, "replicas": replicas, "seed": seed}
    _report(result, trace_out if result.objection else None, as_json, header)
    finish(result.holds)
