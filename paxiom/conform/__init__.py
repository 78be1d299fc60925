"""The conformance suite: test anyone's Paxos against paxiom's executable spec.

Plug an implementation in either as an in-process `Adapter` subclass or as a process speaking the
JSON-lines protocol (`docs/conformance.md`); `check` searches adversarial schedules for a rule it breaks.
"""

from paxiom.conform.adapter import Adapter
from paxiom.conform.messages import (
    Accept,
    Accepted,
    Ballot,
    Decision,
    Input,
    LastVote,
    Nack,
    Output,
    Prepare,
    Promise,
    Propose,
    Timeout,
)
from paxiom.conform.node import Node, Quorums

__all__ = [
    "Accept",
    "Accepted",
    "Adapter",
    "Ballot",
    "Decision",
    "Input",
    "LastVote",
    "Nack",
    "Node",
    "Output",
    "Prepare",
    "Promise",
    "Propose",
    "Quorums",
    "Timeout",
]
