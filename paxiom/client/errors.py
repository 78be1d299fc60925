"""What a client call can fail with. Each names what happened, so a caller can decide to retry or not."""

from __future__ import annotations

from paxiom.errors import PaxiomError


class ClientError(PaxiomError):
    """Base of every client failure."""


class NotLeader(ClientError):
    """Nodes kept redirecting (no leader settled) until the request's deadline; `leader` is the last hint."""

    def __init__(self, message: str, leader: str | None = None) -> None:
        super().__init__(message)
        self.leader = leader


class Unavailable(ClientError):
    """No node could be reached, or none could serve (no quorum), before the deadline."""


class Timeout(ClientError):
    """A node took the request but no answer came before the deadline: it may or may not have applied.

    Retrying the same call on the same client is safe: the retry reuses the session seq and applies once.
    """


class Rejected(ClientError):
    """The service refused the request itself (bad op, stale or expired session); retrying will not help."""
