"""TLC's counterexamples as paxiom traces, replayable through the Python spec.

Every action of the twins sends exactly one new message, and that message carries all of the action's
parameters: the acceptor, the ballot, the slot and the value. TLC's trace never contains a step that
changes nothing. So the message that is new in each state of TLC's trace names the action's arguments,
and the TLC run becomes a list of `Action`s that `paxiom explore --replay` (and `explorer.replay`) can
run through the spec. If the spec confirms the same violation, the twins agree on the run itself, not
only on how many states they count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.explorer import replay
from paxiom.spec.model import Action, Scalar, SpecModel
from paxiom.tlc.models import TlcModel
from paxiom.tlc.runner import TlcRun

_STATE = re.compile(r"^State \d+: <([\w!]+)")
_OPEN, _CLOSE = "([{", ")]}"
_BRACKET_SPACE = re.compile(r"(?<=[\[(]) | (?=[\])])")
_ARGUMENTS = (("acc", "a"), ("bal", "b"), ("slot", "slot"), ("val", "v"))
"""Message field -> action argument, in the order the spec's actions declare them."""


def tlc_steps(output: str) -> list[tuple[str, dict[str, str]]]:
    """Each step of TLC's error trace: the action's name and the fields of the message it sent."""
    names: list[str] = []
    sets: list[set[str]] = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if m := _STATE.match(line):
            names.append(m[1].rsplit("!", 1)[-1])
            sets.append(_messages(_variable(lines, i + 1, "msgs")))
    steps: list[tuple[str, dict[str, str]]] = []
    for number in range(1, len(sets)):
        sent = sets[number] - sets[number - 1]
        if len(sent) != 1:
            raise PaxiomError(f"step {number} of TLC's trace sent {len(sent)} messages, not one")
        steps.append((names[number], _fields(sent.pop())))
    return steps


def to_actions(model: TlcModel, steps: list[tuple[str, dict[str, str]]]) -> list[Action]:
    """The steps as the spec's actions, acceptors named as in the model's quorum system."""
    nodes = model.quorums.nodes
    actions: list[Action] = []
    for name, fields in steps:
        args: list[tuple[str, Scalar]] = []
        for field, arg in _ARGUMENTS:
            if field in fields:
                text = fields[field]
                value: Scalar = nodes[int(text)] if field == "acc" else _scalar(text)
                args.append((arg, value))
        actions.append(Action(name, tuple(args)))
    return actions


def _variable(lines: list[str], start: int, name: str) -> str:
    """The printed value of variable `name` in the state whose lines begin at `start`."""
    prefix = f"/\\ {name} = "
    for i in range(start, len(lines)):
        if not lines[i].strip() or lines[i].startswith("State "):
            break
        if lines[i].startswith(prefix):
            value = [lines[i][len(prefix) :]]
            for more in lines[i + 1 :]:
                if not more.strip() or more.startswith("/\\ "):
                    break
                value.append(more)
            return " ".join(value)
    raise PaxiomError(f"TLC's trace does not print the variable {name}")


def _messages(set_text: str) -> set[str]:
    """The records of a printed set, each with its whitespace normalised (TLC breaks a record over lines, with
    a space after its opening bracket, in one state and prints it on one line in the next)."""
    inner = set_text.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise PaxiomError(f"TLC printed msgs as {set_text[:40]!r}, not a set")
    return {_BRACKET_SPACE.sub("", " ".join(item.split())) for item in _split_top(inner[1:-1]) if item.strip()}


def _fields(record: str) -> dict[str, str]:
    """The top-level fields of a printed record `[f |-> v, ...]`."""
    body = record.strip()[1:-1]
    fields: dict[str, str] = {}
    for item in _split_top(body):
        key, _, value = item.partition("|->")
        fields[key.strip()] = value.strip()
    return fields


def _split_top(text: str) -> list[str]:
    """`text` split at the commas outside any brackets or strings."""
    parts, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if quoted:
            quoted = not (ch == '"' and text[i - 1] != "\\")
        elif ch == '"':
            quoted = True
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _scalar(text: str) -> Scalar:
    """A printed TLA+ integer or string as Python."""
    if text.startswith('"'):
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return int(text)


@dataclass(frozen=True)
class SpecReplay:
    """TLC's counterexample run through the Python spec."""

    actions: tuple[Action, ...]
    confirms: bool
    """Whether the spec, taking the same steps, breaks the same invariant."""
    reason: str
    """The spec's explanation of the violation, or why it does not confirm it."""


def replay_in_spec(model: TlcModel, run: TlcRun) -> SpecReplay:
    """Replay the counterexample of `run` (which found a violation) through the model's Python spec."""
    assert run.violation is not None
    actions = to_actions(model, tlc_steps(run.output))
    try:
        spec: SpecModel[Any] = model.python_model()
        _, violations = replay(spec, actions)
    except ValueError as exc:
        return SpecReplay(tuple(actions), False, f"the spec cannot take TLC's run: {exc}")
    wanted = (run.violation.invariant, run.violation.kind)
    for violation in violations:
        if (violation.invariant, violation.kind) == wanted:
            return SpecReplay(tuple(actions), True, violation.reason)
    found = ", ".join(v.invariant for v in violations) or "nothing"
    return SpecReplay(tuple(actions), False, f"the spec finds {found} violated along TLC's run, not {wanted[0]}")
