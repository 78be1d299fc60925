"""`paxiom conform --system lin-kv ... -- CMD`: the options, and the run behind them.

`system_options` decorates the conform command: it adds the system-level options and, when `--system`
is given, runs the harness instead of the role search, so conform_cmd.py needs only the decorator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape

from paxiom import faultplan
from paxiom.cli.output import console, emit_json, err_console, finish, user_errors
from paxiom.errors import PaxiomError
from paxiom.lin.check import check
from paxiom.maelstrom import nemesis
from paxiom.maelstrom.report import Report, reproducibility
from paxiom.maelstrom.run import Config, run

F = TypeVar("F", bound=Callable[..., Any])
SYSTEMS = ("lin-kv",)
LIN_TIMEOUT = 60.0  # seconds the linearizability search may take before the verdict is "unknown"
DEFAULTS: dict[str, Any] = {"system": None, "nodes": 3, "concurrency": 3, "rate": 20.0, "time_limit": 10.0,
                            "nemesis_names": ""}  # fmt: skip


def system_options(command: F) -> F:
    """Add --system and its options to `command`; with --system the harness runs instead of `command`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mine = {name: kwargs.pop(name) for name in DEFAULTS}
        if mine["system"] is None:
            changed = [name for name, value in mine.items() if value != DEFAULTS[name]]
            if changed:
                flag = "--" + changed[0].replace("_names", "").replace("_", "-")
                return _usage(f"{flag} needs --system lin-kv", as_json=bool(kwargs.get("as_json")))
            return command(*args, **kwargs)
        return _run(**mine, **kwargs)

    options = [
        click.option("--system", type=click.Choice(SYSTEMS), help="Test a whole service over Maelstrom's protocol."),
        click.option("--nodes", type=click.IntRange(1, 32), default=DEFAULTS["nodes"], show_default=True,
                     help="--system: processes of CMD to start."),
        click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULTS["concurrency"],
                     show_default=True, help="--system: logical clients."),
        click.option("--rate", type=click.FloatRange(0.1, 10_000), default=DEFAULTS["rate"], show_default=True,
                     help="--system: operations per second, all clients together."),
        click.option("--time-limit", type=click.FloatRange(0.5, 86_400), default=DEFAULTS["time_limit"],
                     show_default=True, help="--system: seconds of workload (faults healed before the last part)."),
        click.option("--nemesis", "nemesis_names", default="", metavar="KIND,...",
                     help=f"--system: faults to inject ({', '.join(nemesis.KINDS)})."),
    ]  # fmt: skip
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


@user_errors
def _usage(message: str, *, as_json: bool) -> None:
    raise PaxiomError(message)


@user_errors
def _run(*, as_json: bool, **kw: Any) -> None:
    command = tuple(kw["command"])
    kinds = tuple(nemesis.parse_kinds(kw["nemesis_names"]))
    if kw.get("adapter"):
        raise PaxiomError("--adapter cannot be used with --system: give the node's command after --")
    if not command:
        raise PaxiomError("give the node's command after --, e.g. -- python3 examples/maelstrom/primary_kv.py")
    config = Config(command=command, nodes=kw["nodes"], concurrency=kw["concurrency"], rate=kw["rate"],
                    time_limit=kw["time_limit"], nemesis=kinds,
                    seed=kw["seed"], timeout=kw["timeout"], replay=kw["replay_file"])  # fmt: skip
    out: Path = kw["out"]
    if config.replay is not None:
        nemesis.load(config.replay, config.node_ids)  # refuse a bad schedule before starting anything
    if not as_json:
        err_console.print(f"[dim]running {escape(' '.join(command))} on {config.nodes} nodes for "
                          f"{config.time_limit:g} s ...[/]")  # fmt: skip
    outcome = run(config, out)
    lin, failure = None, ""
    if outcome.started:
        try:
            lin = check(outcome.history, model="cas-register", timeout=LIN_TIMEOUT)
        except Exception as exc:  # a checker fault must not lose the run: verdict unknown, history kept
            failure = f"the linearizability checker failed: {type(exc).__name__}: {exc}"
    report = Report(outcome, lin, " ".join(command), out, failure)
    files = report.write()
    junit: Path | None = kw.get("junit")
    if junit is not None:
        report.junit(junit)
    if as_json:
        emit_json(report.to_json(files))
    else:
        _print(report, files)
    finish(report.passed)


def _print(report: Report, files: dict[str, str]) -> None:
    config = report.outcome.config
    faults = ",".join(config.nemesis) or ("replayed" if config.replay else "none")
    p = console.print
    p(f"[bold]lin-kv[/]: {escape(report.target)} on {config.nodes} nodes, {config.concurrency} clients at "
      f"{config.rate:g} ops/s for {config.time_limit:g} s, nemesis {faults} (seed {config.seed}); "
      f"{len(report.ops)} operations in {report.outcome.seconds:.1f} s", soft_wrap=True)  # fmt: skip
    colour = "green" if report.passed else "red"
    p(f"[bold {colour}]{report.verdict}[/]" + ("" if not report.outcome.findings else " — and the nodes misbehaved"))
    for line in report.explanation_lines() + ([report.checker_failure] if report.checker_failure else []):
        p(f"  {escape(line)}", soft_wrap=True)
    for f in report.outcome.findings:
        p(f"  [bold red]{f.kind}[/] {f.node} at {f.time:.2f} s: {escape(f.detail)}", soft_wrap=True)
    if report.outcome.started:
        for phase, counts in report.availability().items():
            p(f"  {phase:9} ok {counts['ok']:4}  fail {counts['fail']:4}  info {counts['info']:4}")
        lat = report.latency_ms()
        if lat:
            p("  latency ms: " + "  ".join(f"{k} {v:g}" for k, v in lat.items()))
    for step in report.outcome.steps:
        p(f"  [dim]{step['at']:7.2f} s[/] {escape(faultplan.describe(step))}", soft_wrap=True)
    for node, lines in report.tails().items():
        if lines:
            p(f"  [bold]{node} stderr around the anomaly[/]")
            for line in lines:
                p(f"    {escape(line)}", soft_wrap=True, highlight=False)
    p("  [dim]" + escape(", ".join(f"{k}: {v}" for k, v in files.items() if not k.endswith(".log"))) + "[/]",
      soft_wrap=True)  # fmt: skip
    p(f"  [dim]{escape(reproducibility(config.seed, config.replay is not None))}[/]", soft_wrap=True)
