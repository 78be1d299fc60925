"""`paxiom tla`: the TLA+ twins of the spec, checked by TLC.

`paxiom tla check` runs TLC on every model in `tla/` (or on the configs and directories given): exit 0 when
every invariant holds in every model, 1 on a violation (as for every verb). Each model's config also names
the verdict it expects (`\\* paxiom-expect: ...`); with `--expected`, the regression mode `make test` uses,
an unsafe quorum configuration that TLC finds unsafe is a success, and exit 1 means some model did not give
its expected verdict (an unexpected violation, or an expected one TLC did not find).

`paxiom tla export CLUSTER.toml --out DIR` writes a TLC model of a cluster file's quorum families, with
the twin spec it extends, so an operator can check their own configuration with TLC.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from paxiom import trace as tracefile
from paxiom.cli.explore_cmd import MAX_BALLOT, MAX_SLOTS, MAX_VALUES
from paxiom.cli.output import console, count, emit_json, err_console, finish, json_option, user_errors
from paxiom.errors import PaxiomError
from paxiom.spec.quorums import ENUMERATION_LIMIT
from paxiom.tlc.models import (
    BASE_MODULES,
    TLA_DIR,
    TlcModel,
    base_sources,
    expectation,
    find_configs,
    read_sources,
)
from paxiom.tlc.runner import TlcRun, default_workers, run_tlc

SMALL_FOR_TLC = 5
"""Acceptors beyond which an exported model's state space is likely too large for a quick TLC run."""


@click.group()
def tla() -> None:
    """TLA+ twins of the spec (tla/), checked by TLC."""


def _configs(paths: tuple[Path, ...]) -> list[Path]:
    """The model configs named on the command line (files, or directories of them); tla/ if none."""
    configs: list[Path] = []
    for path in paths or (TLA_DIR,):
        if path.is_dir():
            configs += find_configs(path)
        elif path.suffix in (".cfg", ".tla") and path.is_file():
            cfg, module = path.with_suffix(".cfg"), path.with_suffix(".tla")
            if not cfg.is_file():
                raise PaxiomError(
                    f"no TLC config {cfg.name} next to it (a spec that models extend is checked through them: "
                    f"`paxiom tla check {path.parent}`)",
                    where=str(path),
                )
            if not module.is_file():
                raise PaxiomError(f"no model module {module.name} next to it", where=str(path))
            configs.append(cfg)
        else:
            raise PaxiomError("not a TLC model (.cfg or .tla) or a directory of them", where=str(path))
    if not configs:
        raise PaxiomError(f"no TLC models (a .cfg with its .tla) in {', '.join(map(str, paths or (TLA_DIR,)))}")
    return configs


def _report(cfg: Path, cfg_text: str, run: TlcRun, trace_out: Path | None, twin: bool) -> dict[str, Any]:
    """One model's verdict. When the config names its constants, a counterexample is replayed through the
    Python spec, and with `twin` the explorer runs on the same constants; both must agree with TLC."""
    from paxiom.tlc.counterexample import replay_in_spec  # both run the explorer: only for a TLC run
    from paxiom.tlc.twins import compare_with_explorer

    expect = expectation(cfg_text, where=str(cfg))
    model = TlcModel.from_cfg(cfg.stem, cfg_text)
    found = run.violation.invariant if run.violation else None
    report: dict[str, Any] = {
        "model": cfg.stem,
        "config": str(cfg),
        "expect": f"{expect} violated" if expect else "holds",
        "result": f"{found} violated" if found else "holds",
        "as_expected": found == expect,
        "distinct_states": run.distinct_states,
        "generated": run.generated,
        "depth": run.depth,
        "seconds": round(run.seconds, 2),
        "violation": None,
    }
    if twin and model is not None:
        twin_run = compare_with_explorer(model, run)
        report["explorer"] = {
            "distinct_states": twin_run.distinct_states,
            "depth": twin_run.depth,
            "result": f"{twin_run.violated} violated" if twin_run.violated else "holds",
            "seconds": round(twin_run.seconds, 2),
            "agrees": twin_run.agrees,
        }
        report["as_expected"] = report["as_expected"] and twin_run.agrees
    if run.violation is None:
        return report
    violation: dict[str, Any] = {"invariant": found, "kind": run.violation.kind, "actions": list(run.violation.actions)}
    if model is not None:
        spec = replay_in_spec(model, run)
        violation |= {"steps": [a.to_json() for a in spec.actions], "spec_confirms": spec.confirms}
        violation["spec_reason"] = spec.reason
        report["as_expected"] = report["as_expected"] and spec.confirms
        if trace_out is not None:
            trace_out.mkdir(parents=True, exist_ok=True)
            path = trace_out / f"{cfg.stem}.json"
            tracefile.dump(model.python_model(), list(spec.actions), path)
            violation["trace"] = str(path)
    report["violation"] = violation
    return report


@tla.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[MODEL.cfg|MODEL.tla|DIR]...")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="TLC worker threads (default: cores, ≤ 2).")
@click.option(
    "--trace-out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each counterexample as a paxiom trace file (replay: paxiom explore --replay); "
    "missing parent folders are created.",
)
@click.option("--twin", is_flag=True, help="Also run the Python explorer on each model's constants; both must agree.")
@click.option(
    "--expected",
    is_flag=True,
    help="Exit 0 when every model gives the verdict its config expects (unsafe models: a violation).",
)
@json_option
@user_errors
def check(
    paths: tuple[Path, ...], workers: int | None, trace_out: Path | None, twin: bool, expected: bool, as_json: bool
) -> None:
    """Run TLC on every model (default: tla/) and report each verdict beside the one its config expects.

    A counterexample of a generated model is replayed through the Python spec, which must break the same
    invariant. Exit 0 when no model violates an invariant (with --twin: and the explorer agrees), 1 on a
    violation, 2 when TLC cannot run. With --expected: 0 when every model gives its expected verdict.
    """
    reports: list[dict[str, Any]] = []
    configs = list(dict.fromkeys(_configs(paths)))  # X.tla and X.cfg name one model
    for number, cfg in enumerate(configs, start=1):
        cfg_text = cfg.read_text()
        expectation(cfg_text, where=str(cfg))  # refuse a config without its expected verdict before running
        where = f"{number}/{len(configs)}"
        with err_console.status(f"TLC: {cfg.stem}, model {where} ({workers or default_workers()} workers)"):
            run = run_tlc(read_sources(cfg.parent), cfg.stem, cfg_text, workers=workers)
        reports.append(_report(cfg, cfg_text, run, trace_out, twin))
    all_expected = all(r["as_expected"] for r in reports)
    all_hold = all(r["result"] == "holds" and r.get("explorer", {}).get("agrees", True) for r in reports)
    if as_json:
        emit_json({"models": reports, "as_expected": all_expected, "holds": all_hold})
        err_console.print(_summary(reports), markup=False, highlight=False, soft_wrap=True)
    else:
        _print_reports(reports)
    finish(all_expected if expected else all_hold)


def _summary(reports: list[dict[str, Any]]) -> str:
    """The line a run ends with (on stderr under --json)."""
    violating = sum(r["result"] != "holds" for r in reports)
    unexpected = sum(not r["as_expected"] for r in reports)
    seconds = sum(r["seconds"] for r in reports)
    return (
        f"paxiom tla check: {count(len(reports), 'model')} in {seconds:.1f} s, {violating} violating an invariant, "
        f"{unexpected} not giving the expected verdict"
    )


def _print_reports(reports: list[dict[str, Any]]) -> None:
    table = Table(title="TLC (states: distinct states found)", box=box.SIMPLE_HEAD)
    table.add_column("model", no_wrap=True)
    table.add_column("expected", no_wrap=True)
    table.add_column("TLC", no_wrap=True)
    for column in ("states", "depth", "sec"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, min_width=1)
    for r in reports:
        table.add_row(
            r["model"],
            _short(r["expect"]),
            _short(r["result"]),
            f"{r['distinct_states']:,}",
            str(r["depth"]),
            f"{r['seconds']:.1f}",
            "[green]✓[/]" if r["as_expected"] else "[bold red]✗[/]",
        )
    console.print(table)
    for r in reports:
        if "explorer" in r:
            e = r["explorer"]
            verdict = "[green]agrees[/]" if e["agrees"] else "[bold red]DISAGREES[/]"
            console.print(
                f"{escape(r['model'])}: the explorer, on the same constants: {e['result']}, "
                f"{e['distinct_states']:,} states, depth {e['depth']}, {e['seconds']:.1f} s: {verdict}"
            )
    for r in reports:
        violation = r["violation"]
        if violation is None:
            continue
        console.print(f"\n[bold]{escape(r['model'])}[/]: {violation['invariant']} violated after {r['depth']} steps:")
        if "steps" not in violation:
            console.print("  " + " → ".join(violation["actions"]))
            continue
        for number, step in enumerate(violation["steps"], start=1):
            args = ", ".join(f"{k}={v}" for k, v in step.items() if k != "action")
            console.print(f"  {number:>2}. {step['action']}({args})")
        verdict = "[green]confirms[/]" if violation["spec_confirms"] else "[bold red]does NOT confirm[/]"
        console.print(f"  The Python spec {verdict} it: {escape(violation['spec_reason'])}")
        if "trace" in violation:
            console.print(f"  Replay: paxiom explore --replay {escape(violation['trace'])}")
    violating = [r["model"] for r in reports if r["result"] != "holds"]
    if violating:
        console.print(f"[bold red]{count(len(violating), 'model')} violating an invariant:[/] {', '.join(violating)}")
    bad = [r["model"] for r in reports if not r["as_expected"]]
    if bad:
        console.print(f"[bold red]{count(len(bad), 'model')} not giving the expected verdict:[/] {', '.join(bad)}")
    elif len(reports) == 1:
        console.print("[green]The model gave its expected verdict.[/]")
    else:
        console.print(f"[green]All {len(reports)} models gave their expected verdict.[/]")


def _short(verdict: str) -> str:
    return verdict.replace(" violated", " ✗")


def _module_name(cluster: Path) -> str:
    words = re.findall(r"[A-Za-z0-9]+", cluster.stem)
    return "MC" + "".join(w[:1].upper() + w[1:] for w in words)


@tla.command("export")
@click.argument("cluster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write (created with any missing parents).",
)
@click.option(
    "--variant",
    type=click.Choice(sorted(BASE_MODULES)),
    default=None,
    help="Spec to check (default: fastpaxos if the cluster has fast quorums, else paxos).",
)
@click.option("--values", default="v1,v2", show_default=True, help="Comma-separated proposable values.")
@click.option("--max-ballot", type=click.IntRange(0, MAX_BALLOT), default=1, show_default=True, help="Ballots 0..N.")
@click.option(
    "--slots", type=click.IntRange(1, MAX_SLOTS), default=2, show_default=True, help="Log slots (multipaxos)."
)
@click.option("--fast-ballots", default="0", show_default=True, help="Comma-separated fast ballots (fastpaxos).")
@click.option("--name", default=None, help="Model module name (default: MC + the cluster file's name).")
@json_option
@user_errors
def export(
    cluster: Path,
    out: Path,
    variant: str | None,
    values: str,
    max_ballot: int,
    slots: int,
    fast_ballots: str,
    name: str | None,
    as_json: bool,
) -> None:
    """Write a TLC model (module + cfg, and the spec it extends) for a cluster file's quorum families.

    The model expects every invariant to hold when the quorum conditions do, and two values chosen when
    they do not. Check it with `paxiom tla check OUT`, or with TLC directly.
    """
    from paxiom.cluster import load_cluster  # the TOML language; imported only when asked for

    loaded = load_cluster(cluster)
    qs = loaded.quorum_system
    if qs.n > ENUMERATION_LIMIT:
        raise PaxiomError(
            f"{qs.n} acceptors is beyond what a TLC model can enumerate (limit {ENUMERATION_LIMIT}); "
            "certify it with `paxiom quorum check` instead",
            where=loaded.place("nodes"),
        )
    variant = variant or ("fastpaxos" if qs.fast is not None else "paxos")
    if variant == "fastpaxos" and qs.fast is None:
        where = loaded.place("quorums")
        raise PaxiomError("Fast Paxos needs fast quorums: the cluster file declares none", where=where)
    try:
        fast = tuple(sorted({int(b) for b in fast_ballots.split(",") if b.strip()})) if variant == "fastpaxos" else ()
    except ValueError:
        raise PaxiomError(f"--fast-ballots must be comma-separated ballot numbers, not {fast_ballots!r}") from None
    if any(b > max_ballot for b in fast):
        raise PaxiomError(f"fast ballots {list(fast)} are not all in 0..{max_ballot}")
    vals = tuple(v.strip() for v in values.split(",") if v.strip())
    if not vals:
        raise PaxiomError("--values needs at least one value")
    if len(vals) > MAX_VALUES:
        raise PaxiomError(f"--values: {len(vals)} values is beyond what TLC can enumerate (limit {MAX_VALUES})")
    model = TlcModel.predicted(
        name or _module_name(cluster),
        variant,
        qs,
        values=vals,
        max_ballot=max_ballot,
        slots=slots if variant == "multipaxos" else 1,
        fast_ballots=fast,
        description=f"{variant} on {cluster.name}: {qs.describe()}",
    )
    written = model.write(out)
    for module, text in base_sources(variant).items():
        (out / f"{module}.tla").write_text(text)
        written.append(out / f"{module}.tla")
    if as_json:
        emit_json(
            {
                "model": model.name,
                "variant": variant,
                "expect": f"{model.expect} violated" if model.expect else "holds",
                "acceptors": {str(i): n for i, n in enumerate(qs.nodes)},
                "written": [str(p) for p in written],
            }
        )
        return
    console.print(f"Wrote {model.name} ({variant}, {qs.n} acceptors) to {escape(str(out))}:")
    for path in written:
        console.print(f"  {escape(str(path))}")
    expected = f"TLC must find {model.expect} violated" if model.expect else "every invariant must hold"
    console.print(f"Expected verdict: {expected}.  Check it with: paxiom tla check {escape(str(out))}")
    if qs.n > SMALL_FOR_TLC:
        err_console.print(f"Note: {qs.n} acceptors make a large state space; TLC may take a long time on it.")
