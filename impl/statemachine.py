"""The interface between the replicated log and the application it replicates."""

from __future__ import annotations

from typing import Protocol

from paxiom.impl.values import Command


class StateMachine(Protocol):
    """Deterministic: the same commands in the same order give the same results and the same snapshot."""

    def apply(self, command: Command) -> bytes:
        """Execute one command (its identity lets a state machine with client sessions apply a retry once)
        and return its result for the client."""
        ...

    def snapshot(self) -> bytes:
        """The whole state as bytes, so the log below it can be discarded."""
        ...

    def restore(self, state: bytes) -> None:
        """Replace the state with one `snapshot()` produced."""
        ...
