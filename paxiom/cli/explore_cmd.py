"""`paxiom explore`: model-check a spec variant on small constants, or replay a trace file through it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from paxiom import trace as tracefile
from paxiom.cli.output import (
    console,
    emit_json,
    err_console,
    finish,
    json_option,
    output_path,
    show_progress,
    user_errors,
)
from paxiom.cli.trace_view import print_trace, trace_json, violation_json, violation_summary
from paxiom.errors import PaxiomError
from paxiom.spec.quorums import ENUMERATION_LIMIT, Majority, QuorumSystem, Threshold, acceptor_names
from paxiom.variants import VARIANTS, AnyModel, build_model

if TYPE_CHECKING:  # the explorer is imported when a command runs, not for --help
    from paxiom.explorer import Result

EXPLORABLE_ACCEPTORS = 6
"""Beyond this, explicit-state exploration of even one ballot takes hours: refuse rather than hang."""
MAX_VALUES, MAX_BALLOT, MAX_SLOTS = 6, 9, 6
"""Each constant's limit, checked before anything is built: state spaces grow exponentially in all of them."""
DEFAULT_MAX_MEMORY_MB = 2048
BYTES_PER_STATE = 1700
"""Resident memory one explored state costs (measured: 185,369 Paxos states in 313 MB)."""
BYTES_PER_FINGERPRINT = 650
"""What one state costs with --fingerprint (measured: 185,369 Paxos states in 116 MB): 8-byte fingerprints of
itself and its parent in the visited table, and its share of the frontier, which is still held whole."""
HOPELESS = 1000
"""Refuse up front when the estimated state space is this many times what the memory budget holds."""


def check_acceptors(n: int, max_states: int | None) -> None:
    """Refuse, before any list of names is built, more acceptors than exploration can cope with."""
    if n > ENUMERATION_LIMIT or (n > EXPLORABLE_ACCEPTORS and max_states is None):
        bound = " (or bound the search with --max-states)" if n <= ENUMERATION_LIMIT else ""
        raise PaxiomError(
            f"{n} acceptors is too many to explore every state (limit {EXPLORABLE_ACCEPTORS}); "
            f"`paxiom quorum check` decides these quorums symbolically{bound}"
        )


def quorum_system(
    variant: str, acceptors: int, q1: int | None, q2: int | None, fast: int | None, quorums: Path | None
) -> QuorumSystem:
    """The quorums from a cluster file, or thresholds over a1..aN (majorities unless given)."""
    if quorums is not None:
        from paxiom.cluster import load_cluster  # the TOML language; imported only when asked for

        return load_cluster(quorums).quorum_system
    nodes = acceptor_names(acceptors)
    try:
        phase1 = Majority(nodes) if q1 is None else Threshold(nodes, q1)
        phase2 = Majority(nodes) if q2 is None else Threshold(nodes, q2)
        fast_k = math.ceil(3 * acceptors / 4) if fast is None else fast
        fast_family = Threshold(nodes, fast_k) if variant == "fastpaxos" else None
    except ValueError as exc:
        raise PaxiomError(f"bad quorum size: {exc}") from None
    return QuorumSystem(phase1, phase2, fast_family)


def reconfig_constants(variant: str, alpha: int, new_quorums: Path | None) -> dict[str, Any]:
    """reconfig's window and, from a cluster file, its second configuration; cheap's window (its configurations
    follow from its mains); other variants take neither."""
    if variant == "cheap":
        return {"alpha": alpha}
    if variant != "reconfig":
        return {}
    configs = None if new_quorums is None else [quorum_system(variant, 0, None, None, None, new_quorums)]
    return {"alpha": alpha, "configs": configs}


def estimated_states(variant: str, acceptors: int, values: int, max_ballot: int, slots: int) -> float:
    """A rough size of the reachable state space, fitted to measured runs of every variant (it errs high, by
    up to ~30x on those): log10 grows with the square of acceptors x ballots (x slots), and with the values."""
    u = acceptors * (max_ballot + 1) * (slots if variant in ("multipaxos", "reconfig", "cheap") else 1)
    return float(10.0 ** (0.035 * u * u + 0.1 * u + 2 + 0.04 * u * math.log2(values / 2)))


def check_feasible(
    variant: str,
    n: int,
    values: int,
    max_ballot: int,
    slots: int,
    max_memory_mb: int,
    max_states: int | None,
    fingerprint: bool = False,
) -> None:
    """Refuse, before building anything, a model whose exploration cannot finish within the memory budget
    (unless --max-states asks for a bounded look that fits in it)."""
    estimate = estimated_states(variant, n, values, max_ballot, slots)
    budget = max_memory_mb * 2**20 / (BYTES_PER_FINGERPRINT if fingerprint else BYTES_PER_STATE)
    if max_states is not None and max_states <= budget:
        return
    if estimate > HOPELESS * budget:
        raise PaxiomError(
            f"{variant} on {n} acceptors, {values} values, ballots 0..{max_ballot} has about "
            f"10^{math.log10(estimate):.0f} states, beyond what fits in --max-memory {max_memory_mb} MB "
            f"(about {budget:,.0f} states): use fewer acceptors or ballots, bound the search with --max-states, "
            "store fingerprints (--fingerprint), explore one state per orbit (--symmetry), "
            "check the model with TLC (`paxiom tla export`), or decide the quorums symbolically "
            "(`paxiom quorum check`, `paxiom prove`)"
        )


def run_with_progress(
    model: AnyModel, only: list[str] | None, max_states: int | None, max_memory_mb: int, **options: Any
) -> Result[Any]:
    """Explore with a progress bar on a terminal; `options` are `explorer.explore`'s workers/symmetry/fingerprint."""
    from paxiom import explorer

    limits: dict[str, Any] = {"only": only, "max_states": max_states, "max_memory": max_memory_mb * 2**20, **options}
    if not show_progress():
        return explorer.explore(model, **limits)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("exploring", total=None)

        def tick(distinct: int, generated: int, depth: int) -> None:
            bar.update(task, description=f"{distinct:,} distinct states, {generated:,} generated, depth {depth}")

        return explorer.explore(model, **limits, progress=tick)


def verdict(model: AnyModel, result: Result[Any]) -> str:
    """holds, violated, or incomplete: a run stopped by a budget has proved nothing."""
    if result.violation is not None or (result.complete and model.config_violation is not None):
        return "violated"
    return "holds" if result.complete else "incomplete"


STOPPED = {
    "max_states": "stopped at --max-states",
    "max_memory": "stopped at --max-memory",
}


def summary_json(model: AnyModel, result: Result[Any]) -> dict[str, Any]:
    config = model.config_violation
    return {
        "variant": result.variant,
        "constants": {**tracefile.quorums_to_json(model.cfg.quorums), **model.constants()},
        "quorums": model.cfg.quorums.describe(),
        "quorum_intersection": {
            "holds": config is None,
            "reason": config.describe(model.cfg.quorums.nodes) if config else None,
        },
        "checked": result.checked,
        "distinct_states": result.distinct_states,
        "counted": counted(result),
        "generated": result.generated,
        "depth": result.depth,
        "seconds": round(result.seconds, 3),
        "states_per_second": round(result.states_per_second),
        "complete": result.complete,
        "workers": result.workers,
        "symmetry_group_order": result.symmetry,
        "fingerprint_collision_probability": result.collision_probability,
        "verdict": verdict(model, result),
        "stopped": result.stopped,
        "violation": violation_json(model, result.violation),
    }


def counted(result: Result[Any]) -> str:
    """What distinct_states counts: states, orbits under renaming, fingerprints, or orbits' fingerprints."""
    what = "orbits" if result.symmetry is not None else "states"
    return f"{what} by fingerprint" if result.collision_probability is not None else what


def print_summary(model: AnyModel, result: Result[Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("variant", result.variant)
    table.add_row("quorums", model.cfg.quorums.describe())
    table.add_row("constants", ", ".join(f"{k}={v}" for k, v in model.constants().items()))
    table.add_row(f"distinct {counted(result)}", f"{result.distinct_states:,}")
    if result.symmetry is not None:
        table.add_row("symmetry", f"{result.symmetry} renamings of acceptors and values; one state per orbit")
    if result.collision_probability is not None:
        table.add_row("fingerprints", f"64-bit; collision probability at most {result.collision_probability:.1e}")
    table.add_row("states generated", f"{result.generated:,}")
    table.add_row("depth", str(result.depth))
    table.add_row(
        "time", f"{result.seconds:.2f} s ({result.states_per_second:,.0f} states/s, {result.workers} workers)"
    )
    console.print(table)
    if model.config_violation is not None:
        reason = model.config_violation.describe(model.cfg.quorums.nodes)
        console.print(f"[yellow]quorum_intersection fails:[/] {escape(reason)}")
    if result.violation is not None:
        v = result.violation
        console.print(f"\n[bold red]VIOLATION[/] of [bold]{v.invariant}[/] ({v.kind}): {escape(v.reason)}")
        console.print(f"shortest trace, {len(v.trace) - 1} steps:")
        print_trace(console, model, v.trace)
    elif result.complete:
        console.print(f"\n[bold green]No violation[/] of {', '.join(result.checked)} in any reachable state.")
    else:
        console.print(
            f"\n[bold yellow]INCOMPLETE[/]: {STOPPED.get(str(result.stopped), 'stopped')} after "
            f"{result.distinct_states:,} states without a violation; the model was not fully explored, so "
            "nothing is proved (exit 1)."
        )


def do_replay(path: Path, as_json: bool) -> None:
    from paxiom.explorer import replay

    model, actions = tracefile.load(path)
    try:
        trace, violations = replay(model, actions)  # type: ignore[misc]
    except ValueError as exc:
        raise PaxiomError(f"the spec cannot take this trace: {exc}", where=str(path)) from None
    if as_json:
        emit_json(
            {
                "variant": model.variant,
                "replay": str(path),
                "steps": trace_json(model, trace),
                "violations": [violation_summary(x) for x in violations],
            }
        )
    else:
        console.print(f"replaying {path} through the {model.variant} spec ({model.cfg.quorums.describe()})")
        print_trace(console, model, trace)
        for x in violations:
            step = len(x.trace) - 1
            console.print(f"[bold red]VIOLATION[/] at step {step} of [bold]{x.invariant}[/]: {escape(x.reason)}")
        if not violations:
            console.print("\n[bold green]Every invariant holds along the trace.[/]")
    finish(not violations)


@click.command("explore")
@click.option("--variant", type=click.Choice(VARIANTS), default="paxos", show_default=True)
@click.option(
    "--acceptors",
    "-n",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help=f"Acceptors a1..aN (at most {EXPLORABLE_ACCEPTORS}, or {ENUMERATION_LIMIT} with --max-states).",
)
@click.option(
    "--values",
    "-v",
    "n_values",
    type=click.IntRange(1, MAX_VALUES),
    default=2,
    show_default=True,
    help="Values v1..vV.",
)
@click.option(
    "--max-ballot", "-b", type=click.IntRange(0, MAX_BALLOT), default=2, show_default=True, help="Ballots are 0..B."
)
@click.option("--q1", type=click.IntRange(1), help="Phase-1 quorum size (default: majority).")
@click.option("--q2", type=click.IntRange(1), help="Phase-2 quorum size (default: majority).")
@click.option("--fast-quorum", type=click.IntRange(1), help="Fast quorum size (fastpaxos; default: ceil(3n/4)).")
@click.option("--fast-ballots", default="0", show_default=True, help="Comma-separated fast ballots (fastpaxos).")
@click.option(
    "--slots", type=click.IntRange(1, MAX_SLOTS), default=2, show_default=True, help="Log slots (multipaxos)."
)
@click.option("--quorums", "quorums_file", type=click.Path(path_type=Path), help="Quorums from a cluster TOML file.")
@click.option(
    "--alpha",
    type=click.IntRange(1, MAX_SLOTS),
    default=1,
    show_default=True,
    help="Reconfiguration window (reconfig, cheap).",
)
@click.option(
    "--new-quorums",
    "new_quorums_file",
    type=click.Path(path_type=Path),
    help="The configuration cfg1 switches to, from a cluster TOML file over the same acceptors "
    "(reconfig; default: a majority of all but the first acceptor).",
)
@click.option("--invariant", "invariants", multiple=True, help="Check only these invariants (repeatable).")
@click.option(
    "--max-states",
    type=click.IntRange(1),
    help="Stop after this many distinct states (a stopped run is incomplete: exit 1, never 'holds').",
)
@click.option(
    "--max-memory",
    "max_memory_mb",
    type=click.IntRange(16),
    default=DEFAULT_MAX_MEMORY_MB,
    show_default=True,
    help="Megabytes exploration may grow by before it stops, incomplete (exit 1).",
)
@click.option(
    "--trace-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the violating trace as a replay file (missing parent folders are created).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes expanding each breadth-first level (counts as with one). More than one pays only on "
    "big machines: on 2 cores the forked levels cost 1.6-2.1x the CPU of one process.",
)
@click.option(
    "--symmetry",
    is_flag=True,
    help="Explore one state per orbit under renaming of acceptors and values (paxos, multipaxos, fastpaxos): "
    "counts orbits.",
)
@click.option(
    "--fingerprint",
    is_flag=True,
    help="Remember 64-bit fingerprints instead of visited states (half the memory on Paxos 3/2/0..2: the "
    "frontier is still held whole); the collision probability is reported.",
)
@click.option("--replay", "replay_file", type=click.Path(path_type=Path), help="Replay a trace file instead.")
@json_option
@user_errors
def explore(
    variant: str,
    acceptors: int,
    n_values: int,
    max_ballot: int,
    q1: int | None,
    q2: int | None,
    fast_quorum: int | None,
    fast_ballots: str,
    slots: int,
    quorums_file: Path | None,
    alpha: int,
    new_quorums_file: Path | None,
    invariants: tuple[str, ...],
    max_states: int | None,
    max_memory_mb: int,
    trace_out: Path | None,
    workers: int,
    symmetry: bool,
    fingerprint: bool,
    replay_file: Path | None,
    as_json: bool,
) -> None:
    """Check every invariant in every reachable state (breadth-first: a violation's trace is a shortest one).

    Exit 0 when no invariant is violated in any reachable state (and the quorums intersect), 1 on a
    violation or when a budget (--max-states, --max-memory) stopped the run first, 2 on bad input.
    """
    if replay_file is not None:
        do_replay(replay_file, as_json)
    if quorums_file is None:
        check_acceptors(acceptors, max_states)
    qs = quorum_system(variant, acceptors, q1, q2, fast_quorum, quorums_file)
    check_acceptors(qs.n, max_states)
    check_feasible(variant, qs.n, n_values, max_ballot, slots, max_memory_mb, max_states, fingerprint)
    if variant == "fastpaxos" and qs.fast is None:
        raise PaxiomError("fastpaxos needs fast quorums: give --fast-quorum or a cluster file with `fast`")
    if not all(b.strip().isdigit() for b in fast_ballots.split(",") if b.strip()):
        raise PaxiomError(f"--fast-ballots {fast_ballots!r}: give ballot numbers separated by commas, e.g. 0,2")
    fast = [int(b) for b in fast_ballots.split(",") if b.strip()]
    try:
        model = build_model(
            variant,
            qs,
            values=[f"v{i + 1}" for i in range(n_values)],
            max_ballot=max_ballot,
            slots=slots,
            fast_ballots=fast,
            **reconfig_constants(variant, alpha, new_quorums_file),
        )
    except ValueError as exc:
        raise PaxiomError(str(exc)) from None
    known = set(model.invariants) | set(model.step_invariants)
    if unknown := [name for name in invariants if name not in known]:
        raise PaxiomError(f"unknown invariant {unknown[0]!r}; known: {', '.join(sorted(known))}")
    from paxiom.explorer.symmetry import SYMMETRIC_VARIANTS

    if symmetry and variant not in SYMMETRIC_VARIANTS:
        raise PaxiomError(
            f"--symmetry is offered for {', '.join(SYMMETRIC_VARIANTS)}: {variant}'s configurations or commands "
            "tell acceptors and values apart"
        )
    options = {"workers": workers, "symmetry": symmetry, "fingerprint": fingerprint}
    result = run_with_progress(model, list(invariants) or None, max_states, max_memory_mb, **options)
    if trace_out is not None and result.violation is not None:
        actions = [s.action for s in result.violation.trace if s.action is not None]
        tracefile.dump(model, actions, output_path(trace_out))
    if as_json:
        emit_json(summary_json(model, result))
    else:
        print_summary(model, result)
        if trace_out is not None and result.violation is not None:
            console.print(f"\ntrace written to {trace_out} (replay: paxiom explore --replay {trace_out})")
    finish(verdict(model, result) == "holds")
