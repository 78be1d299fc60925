"""What every executable spec offers its users: the explorer, replay, the oracle and the conformance suite.

A spec is a state machine with named actions and named invariants. Actions carry every parameter
explicitly (as in TLA+: `Phase2a(b, v)`), so a trace is just a list of actions and replaying it needs
nothing but the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property, partial
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

from paxiom.spec.quorums import Violation, quorum_intersection

S = TypeVar("S")
C = TypeVar("C")

Scalar = int | str | None


class Action(NamedTuple):
    """One step of a spec: the action's name and its arguments, in declaration order."""

    name: str
    args: tuple[tuple[str, Scalar], ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.args)})"

    def arg(self, key: str) -> Scalar:
        for k, v in self.args:
            if k == key:
                return v
        raise KeyError(f"{self} has no argument {key!r}")

    def to_json(self) -> dict[str, Scalar]:
        return {"action": self.name, **dict(self.args)}

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> Action:
        if not isinstance(doc.get("action"), str):
            raise ValueError(f"a step needs an 'action' name: {dict(doc)}")
        args = tuple((k, v) for k, v in doc.items() if k != "action")
        for k, v in args:
            if not isinstance(v, int | str | type(None)):
                raise ValueError(f"argument {k!r} of {doc['action']} must be a number or a name, not {v!r}")
        return Action(doc["action"], args)


def act(name: str, **args: Scalar) -> Action:
    """Build an Action with keyword arguments, e.g. `act("Phase1a", b=0)`."""
    return Action(name, tuple(args.items()))


def apply_action(
    cfg: Any, actions: Mapping[str, Callable[..., S | None]], s: S, action: Action, variant: str
) -> S | None:
    """Apply a named action with trace-style arguments (`a` is an acceptor's name) to a spec's functions."""
    if action.name not in actions:
        raise ValueError(f"{variant} has no action {action.name!r} (it has {', '.join(actions)})")
    index = {name: i for i, name in enumerate(cfg.quorums.nodes)}
    kwargs: dict[str, Any] = {}
    for key, value in action.args:
        if key == "a" and value not in index:
            raise ValueError(f"{action}: unknown acceptor {value!r}")
        kwargs[key] = index[value] if key == "a" else value
    try:
        return actions[action.name](cfg, s, **kwargs)
    except TypeError:
        raise ValueError(f"{action}: wrong arguments for {action.name}") from None


Invariant = Callable[[S], str | None]
"""Returns None when the invariant holds in the state, else a sentence saying why it does not."""

StepInvariant = Callable[[S, S], str | None]
"""A property of one transition (pre-state, post-state): None when it holds, else why not."""


class SpecModel(Protocol[S]):
    """A protocol spec with its constants fixed: what the explorer and replay need."""

    variant: ClassVar[str]

    @property
    def invariants(self) -> Mapping[str, Invariant[S]]: ...

    @property
    def step_invariants(self) -> Mapping[str, StepInvariant[S]]: ...

    def init(self) -> list[S]: ...

    def next(self, s: S) -> Iterator[tuple[Action, S]]: ...

    def apply(self, s: S, action: Action) -> S | None:
        """The successor of `s` by `action`, or None when the action is not enabled in `s`."""
        ...

    def render(self, s: S) -> dict[str, Any]:
        """The state as JSON-able data, with acceptor names rather than indices."""
        ...

    def constants(self) -> dict[str, Any]:
        """The model's constants as JSON-able data; `trace.load` rebuilds the model from them."""
        ...


class ModelBase(Generic[S, C]):
    """What every variant's model shares: its constants, actions and invariants by name, and replay.

    A variant names its actions (`actions`), its state invariants (`state_checks`, named by function) and
    its step invariants (`step_checks`); each takes the constants first.
    """

    variant: ClassVar[str]
    actions: ClassVar[Mapping[str, Callable[..., Any]]]
    state_checks: ClassVar[tuple[Callable[[Any, Any], str | None], ...]]
    step_checks: ClassVar[Mapping[str, Callable[[Any, Any, Any], str | None]]]

    def __init__(self, cfg: C) -> None:
        self.cfg = cfg

    # Built on first use: the refinement oracle makes a model per log slot and judges with the spec's
    # functions directly (`state_checks`, `step_checks`), so it needs neither of these.
    @cached_property
    def config_violation(self) -> Violation | None:
        return quorum_intersection(self.cfg.quorums)  # type: ignore[attr-defined]

    @cached_property
    def invariants(self) -> Mapping[str, Invariant[S]]:
        return {f.__name__: partial(f, self.cfg) for f in self.state_checks}

    @cached_property
    def step_invariants(self) -> Mapping[str, StepInvariant[S]]:
        return {name: partial(f, self.cfg) for name, f in self.step_checks.items()}

    def apply(self, s: S, action: Action) -> S | None:
        """Replay one action; its arguments are named as in a trace (`a` is an acceptor's name)."""
        return apply_action(self.cfg, self.actions, s, action, self.variant)
