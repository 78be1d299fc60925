"""Sequential specifications the checker linearizes against, compiled to small step codes.

Every model here is a map of independent keys (a single register is the key None), so a history splits
per key (P-compositionality) and each key's state is one hashable value (None: missing key). An operation
compiles to a `Step` (kind, a, b) or to nothing when it cannot constrain the search: a `fail` (it did not
happen) and an indeterminate read (it changes nothing and its result is unknown). An indeterminate update
(`info`, or no completion) may take effect at any time after its invocation or never: it compiles to the
same step as a completed one, and the search places it wherever it is legal but never has to place it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from paxiom.errors import PaxiomError
from paxiom.lin.history import Operation

# Step kinds (ints, so the search's hot loop compares small integers).
READ: Final = 0  # legal iff state == a
WRITE: Final = 1  # state := a
CAS: Final = 2  # legal iff state == a; state := b
APPEND: Final = 3  # legal iff the value can be appended to; state := state + a

Step = tuple[int, Any, Any]


class Illegal:
    """The result of a step its precondition forbids (a unique sentinel: None is a legal state)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ILLEGAL"


ILLEGAL: Final = Illegal()


def _append(state: Any, item: Any) -> Any:
    if state is None:
        return (item,)
    if isinstance(state, tuple):
        return (*state, item)
    if isinstance(state, str) and isinstance(item, str):
        return state + item
    return ILLEGAL


def apply(state: Any, kind: int, a: Any, b: Any) -> Any:
    """The state after one step, or ILLEGAL."""
    if kind == READ:
        return state if state == a else ILLEGAL
    if kind == WRITE:
        return a
    if kind == CAS:
        return b if state == a else ILLEGAL
    return _append(state, a)


@dataclass(frozen=True, slots=True)
class Model:
    """A per-key model: which `f`s it knows and how each compiles to a step."""

    name: str
    read: str
    write: str
    update: str  # "cas" or "append"

    @property
    def fs(self) -> tuple[str, str, str]:
        return (self.read, self.write, self.update)

    def compile(self, op: Operation) -> Step | None:
        """The step an operation contributes, or None when it cannot constrain any linearization."""
        step = self._compile(op)
        try:
            hash(step)
        except TypeError:
            raise PaxiomError(
                f"op {op.id} (process {op.process}): values must be hashable (tuples, not lists)"
            ) from None
        return step

    def _compile(self, op: Operation) -> Step | None:
        if op.f not in self.fs:
            raise PaxiomError(f"{op.f!r} is not an operation of model {self.name} (it has {', '.join(self.fs)})")
        if op.status == "fail" or (op.f == self.read and op.status == "info"):
            return None
        if op.f == self.read:
            return (READ, op.output, None)
        if op.f == self.write:
            return (WRITE, op.value, None)
        if self.update == "append":
            return (APPEND, op.value, None)
        pair = op.value
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise PaxiomError(f"cas value must be [old new], got {pair!r} (process {op.process})")
        return (CAS, pair[0], pair[1])

    def requires(self, op: Operation) -> frozenset[Any]:
        """Tokens one of which some other operation must produce for `op`'s observation to make sense.

        Empty when `op` observes nothing or observes nil (the initial state). The explanation's shrink keeps
        a read together with a writer of what it read, so it never reduces to "a read of a value nobody
        wrote" when the history does contain that writer.
        """
        if op.status != "ok" or op.f == self.write or (op.f == self.update and self.update == "append"):
            return frozenset()
        seen = op.output if op.f == self.read else op.value[0] if isinstance(op.value, tuple) else None
        return frozenset() if seen is None else _tokens(seen, with_last=self.update == "append")

    def produces(self, op: Operation) -> frozenset[Any]:
        """Tokens for the values `op` may leave in its key (see `requires`)."""
        if op.status == "fail" or op.f == self.read:
            return frozenset()
        if op.f == self.write:
            return _tokens(op.value, with_last=self.update == "append")
        if self.update == "append":
            return frozenset({("last", op.value)})
        return frozenset({("val", op.value[1])}) if isinstance(op.value, tuple) and len(op.value) == 2 else frozenset()

    def describe(self, op: Operation, *, with_key: bool = True) -> str:
        """One line for an operation, as explanations and the timeline show it."""
        key = "" if op.key is None or not with_key else f"[{op.key!r}] "
        if op.f == self.read:
            shown = "?" if op.status != "ok" else _show(op.output)
            return f"{key}{op.f} -> {shown} ({op.status})"
        if op.f == "cas" and isinstance(op.value, tuple) and len(op.value) == 2:
            return f"{key}cas {_show(op.value[0])} -> {_show(op.value[1])} ({op.status})"
        return f"{key}{op.f} {_show(op.value)} ({op.status})"


def _tokens(value: Any, *, with_last: bool) -> frozenset[Any]:
    last = {("last", value[-1])} if with_last and isinstance(value, tuple | str) and value else set()
    return frozenset({("val", value), *last})


def _show(value: Any) -> str:
    return "nil" if value is None else repr(value)


CAS_REGISTER: Final = Model("cas-register", "read", "write", "cas")
KV: Final = Model("kv", "get", "put", "append")
MODELS: Final = {m.name: m for m in (CAS_REGISTER, KV)}


def infer(ops: list[Operation]) -> Model:
    """The model whose operations the history uses (kv if any get/put/append, else cas-register)."""
    return KV if any(op.f in KV.fs for op in ops) else CAS_REGISTER


def show_state(state: Any) -> str:
    """A model state or key for humans: nil for None (a missing key's value, a single register's key)."""
    return _show(state)
