"""composable-paxos 1.0.0 (PyPI) under the conformance suite.

    paxiom conform --adapter examples/conformance/composable.py:Composable --role acceptor
    paxiom conform --adapter examples/conformance/composable.py:ComposablePy3 --role proposer

`Composable` uses the library exactly as documented. `ComposablePy3` adds the only Python 3 workaround a
user can apply from outside: a sentinel `ProposalID(-1, "")` wherever the library starts from `None` (which
Python 3 refuses to compare), so the suite can reach the protocol logic behind the TypeErrors.
Ballots map one to one: `[round, node]` is `ProposalID(round, node)`.
"""

from __future__ import annotations

from typing import Any

import composable_paxos as cp

from paxiom.conform import (
    Accept,
    Accepted,
    Adapter,
    Ballot,
    Decision,
    Input,
    LastVote,
    Nack,
    Node,
    Output,
    Prepare,
    Promise,
    Propose,
    Timeout,
)


def pid(b: Any) -> Any:
    return None if b is None else cp.ProposalID(*b)


class Composable(Adapter):
    roles = frozenset({"acceptor", "proposer", "learner"})
    NONE: Any = None
    """What stands for "no ballot" when talking to the library."""

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        saved = self.load() or {}
        me, role = node.id, node.role
        self.acceptor = cp.Acceptor(
            me, pid(saved.get("promised")) or self.NONE, pid(saved.get("accepted")), saved.get("value")
        )
        self.proposer = cp.Proposer(me, node.phase1.size)
        self.learner = cp.Learner(me, node.phase2.size)
        self.part = {"acceptor": self.acceptor, "proposer": self.proposer, "learner": self.learner}[role]

    def to_library(self, msg: Input) -> Any:
        match msg:
            case Prepare(src=s, ballot=b):
                return cp.Prepare(s, pid(b))
            case Promise(src=s, dst=d, ballot=b, last=last):
                vote, value = (self.NONE, None) if last is None else (pid(last.ballot), last.value)
                return cp.Promise(s, d, pid(b), vote, value)
            case Nack(src=s, dst=d, ballot=b, promised=p):
                return cp.Nack(s, d, pid(b), pid(p))
            case Accept(src=s, ballot=b, value=v):
                return cp.Accept(s, pid(b), v)
            case Accepted(src=s, ballot=b, value=v):
                return cp.Accepted(s, pid(b), v)
        return None

    def from_library(self, reply: Any, dst: str) -> list[Output]:
        me, everyone = self.node.id, self.node.acceptors
        ballot = Ballot(*reply.proposal_id) if hasattr(reply, "proposal_id") else None
        match type(reply).__name__, ballot:
            case "Prepare", Ballot() as b:
                return [Prepare(me, a, b) for a in everyone]
            case "Accept", Ballot() as b:
                return [Accept(me, a, b, reply.proposal_value) for a in everyone]
            case "Promise", Ballot() as b:
                voted = reply.last_accepted_id not in (None, self.NONE)
                last = LastVote(Ballot(*reply.last_accepted_id), reply.last_accepted_value) if voted else None
                return [Promise(me, dst, b, last)]
            case "Nack", Ballot() as b:
                return [Nack(me, dst, b, Ballot(*reply.promised_proposal_id))]
            case "Accepted", Ballot() as b:
                return [Accepted(me, dst, b, reply.proposal_value)]
            case "Resolution", _:
                return [Decision(me, reply.value)]
        return []

    def handle(self, msg: Input) -> list[Output]:
        p = self.proposer
        if isinstance(msg, Propose):
            reply = p.propose_value(msg.value) or (None if p.leader else p.prepare())
        elif isinstance(msg, Timeout):
            reply = p.prepare() if self.part is p else None
        elif hasattr(self.part, "receive_" + type(self.to_library(msg)).__name__.lower()):
            reply = self.part.receive(self.to_library(msg))
        else:
            reply = None  # not this part's message: e.g. the copy of an accept a learner is sent
        a = self.acceptor
        self.save(
            {
                "promised": a.promised_id if a.promised_id != self.NONE else None,
                "accepted": a.accepted_id,
                "value": a.accepted_value,
            }
        )
        return self.from_library(reply, getattr(msg, "src", ""))


class ComposablePy3(Composable):
    NONE = cp.ProposalID(-1, "")

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.proposer.highest_accepted_id = self.NONE
        # the learner looks up each acceptor's previous ballot; start every acceptor at the sentinel
        self.learner.acceptors = dict.fromkeys(node.acceptors, self.NONE)
        start = cp.Learner.ProposalStatus(None)
        start.retain_count, start.acceptors = len(node.acceptors), set(node.acceptors)
        self.learner.proposals = {self.NONE: start}
