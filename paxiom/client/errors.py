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
    """No node could be reached, or none could serve (no quorum), before the deadline: nothing was applied."""


class Timeout(ClientError):
    """A node may have taken the request (it did not answer, or answered `in_doubt`) and no outcome came
    before the deadline: the outcome is unknown.

    Until the deadline the client retried under the request's one session seq, so it applies at most once;
    calling again is a new request (a new seq).
    """


class Rejected(ClientError):
    """The service refused the request itself (bad op, stale or expired session); retrying will not help."""
