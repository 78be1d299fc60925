"""Traces for people and for machines: a numbered step list showing what each action changed, or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from paxiom.variants import AnyModel

if TYPE_CHECKING:  # the explorer only for a command that prints a trace
    from paxiom.explorer import Step, Violation


def sim_step_words(step: dict[str, Any]) -> str:
    """A simulator schedule step for people: replicas by name (`replica=a4`, `side=a1,a2`), as every other
    line of the report names them, while the trace file keeps their 0-based indices."""

    def name(v: Any) -> str:
        return f"a{v + 1}" if type(v) is int else str(v)

    def word(key: str, v: Any) -> str:
        if key == "replica":
            return name(v)
        if key == "side" and isinstance(v, list):
            return ",".join(map(name, v))
        return str(v)

    return " ".join(f"{k}={word(k, v)}" for k, v in step.items())


def format_message(m: dict[str, Any]) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in m.items() if k != "type")
    return f"{m['type']}({fields})"


def change_lines(change: dict[str, Any]) -> list[str]:
    """One line per changed variable entry, e.g. `maxBal[a1] = 2`, `msgs += 1b(acc=a1, ...)`."""
    lines: list[str] = []
    for var, value in change.items():
        if isinstance(value, list):
            lines += [f"{var} += {format_message(m) if isinstance(m, dict) else m}" for m in value]
        elif isinstance(value, dict) and var != "chosen":
            lines += [f"{var}[{k}] = {v}" for k, v in value.items()]
        else:
            lines.append(f"{var} = {value}")
    return lines


def trace_json(model: AnyModel, trace: list[Step[Any]]) -> list[dict[str, Any]]:
    return [
        {"step": i, "action": step.action.to_json() if step.action else None, "state": model.render(step.state)}
        for i, step in enumerate(trace)
    ]


def violation_json(model: AnyModel, violation: Violation[Any] | None) -> dict[str, Any] | None:
    if violation is None:
        return None
    return {
        "invariant": violation.invariant,
        "kind": violation.kind,
        "reason": violation.reason,
        "trace": trace_json(model, violation.trace),
    }


def violation_summary(violation: Violation[Any]) -> dict[str, Any]:
    """A violation found along a known trace: which invariant, why, and at which step."""
    return {
        "invariant": violation.invariant,
        "kind": violation.kind,
        "reason": violation.reason,
        "step": len(violation.trace) - 1,
    }


def print_trace(console: Console, model: AnyModel, trace: list[Step[Any]]) -> None:
    from paxiom.explorer import describe_change

    before: dict[str, Any] | None = None
    for i, step in enumerate(trace):
        after = model.render(step.state)
        if step.action is None:
            console.print(f"  [dim]{i:>3}.[/] [bold]Init[/]")
        else:
            console.print(f"  [dim]{i:>3}.[/] [bold cyan]{step.action}[/]")
            for line in change_lines(describe_change(before, after)):
                console.print(f"        {escape(line)}", soft_wrap=True)
        before = after
