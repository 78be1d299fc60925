"""The verdict that a simulated run is not a behaviour of the spec (or of a correct replicated log)."""

from __future__ import annotations

from paxiom.spec.model import Action


class Objection(Exception):
    def __init__(self, check: str, reason: str, step: int, matched: tuple[Action, ...] = ()) -> None:
        self.check = check
        """The spec action that failed to match, the invariant that failed, or the client-level check."""
        self.reason = reason
        self.step = step
        self.matched = matched
        """The spec actions the failing transition had matched before the objection."""
        super().__init__(f"step {step}: {check}: {reason}")
