"""The proposer role: elections, re-proposal of reported votes, pipelined and batched phase 2.

A candidate runs phase 1 once for every slot from its first unchosen one. When a phase-1 quorum has
promised, it becomes leader: in each slot it re-proposes the highest-ballot vote reported there, fills
slots nobody voted in with no-ops, and then serves new client commands, up to `batch_size` per slot and
`window` slots in flight. A leader that hears of a higher ballot steps down.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import Accept, Accepted, Message, Prepare, Promise, Vote
from paxiom.impl.mutants import Mutation
from paxiom.impl.values import NOOP, Command, Value

Outgoing = list[tuple[int, Message]]
"""(destination replica, message); the replica routes messages to itself through its loopback."""


class Role(enum.Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass
class Proposal:
    value: Value
    accepted: int = 0
    """Bitmask of the acceptors that voted for it at the leader's ballot."""
    count: int = 0
    """Accepted messages received (only the DOUBLE_COUNT_ACCEPTOR mutant looks at this)."""


class Proposer:
    def __init__(self, config: ReplicaConfig) -> None:
        self.config = config
        self.me = config.replica_id
        self.mutations = config.mutations
        self.role = Role.FOLLOWER
        self.ballot = NULL_BALLOT
        self.max_round = -1
        """The highest round this proposer has seen or used since it started (volatile)."""
        self.promises: dict[int, Promise] = {}
        self.proposals: dict[int, Proposal] = {}
        self.next_slot = 0
        self.queue: dict[Command, None] = {}
        """Commands waiting for a slot, in arrival order (a dict: an ordered set of identities)."""
        self.leader_hint: int | None = None

    def everyone(self, msg: Message) -> Outgoing:
        return [(dst, msg) for dst in range(self.config.n)]

    # ------------------------------------------------------------------ phase 1

    def start_election(self, promised: Ballot, first_slot: int) -> Outgoing:
        """Stand for election at a ballot above everything seen, including our own durable promise."""
        self.max_round = max(self.max_round, promised.round) + 1
        replica = 0 if Mutation.BALLOTS_NOT_UNIQUE in self.mutations else self.me
        self.ballot = Ballot(self.max_round, replica)
        self.role = Role.CANDIDATE
        self.promises = {}
        self.proposals = {}
        self.next_slot = first_slot
        self.leader_hint = None
        return self.everyone(Prepare(self.ballot, first_slot))

    def _phase1_quorum(self, mask: int) -> bool:
        if Mutation.PHASE1_QUORUM_TOO_SMALL in self.mutations:
            return any(self.config.quorums.phase1.is_quorum(mask | 1 << i) for i in range(self.config.n))
        return self.config.quorums.phase1.is_quorum(mask)

    def on_promise(self, src: int, promise: Promise, known_chosen: dict[int, Value]) -> Outgoing:
        """Collect a promise; on a phase-1 quorum, take over and (re-)propose. `known_chosen` are slots we
        already know the decision of: nothing needs proposing there."""
        if self.role is not Role.CANDIDATE:
            return []
        if promise.ballot != self.ballot and Mutation.MIXED_BALLOT_VOTES not in self.mutations:
            return []
        self.promises[src] = promise
        if not self._phase1_quorum(sum(1 << a for a in self.promises)):
            return []
        self.role = Role.LEADER
        self.leader_hint = self.me
        return self._take_over(known_chosen)

    def _take_over(self, known_chosen: dict[int, Value]) -> Outgoing:
        reported: dict[int, Vote] = {}
        for promise in self.promises.values():
            for vote in promise.votes:
                best = reported.get(vote.slot)
                if Mutation.FIRST_VOTE_NOT_HIGHEST in self.mutations:
                    if best is None:
                        reported[vote.slot] = vote
                elif best is None or vote.ballot > best.ballot:
                    reported[vote.slot] = vote
        top = max(reported, default=self.next_slot - 1)
        out: Outgoing = []
        for slot in range(self.next_slot, top + 1):
            if slot in known_chosen:
                continue
            if Mutation.PROPOSE_OWN_VALUE in self.mutations:
                value = self._next_batch() or NOOP
            elif slot in reported:
                value = reported[slot].value
            elif Mutation.SKIP_HOLES in self.mutations:
                continue
            else:
                value = NOOP
            out += self._propose(slot, value)
        self.next_slot = max(self.next_slot, top + 1)
        return out + self.propose_pending(self.next_slot)

    # ------------------------------------------------------------------ phase 2

    def submit(self, commands: tuple[Command, ...]) -> None:
        """Queue commands for a slot. A command whose exact identity is already queued or in flight is a
        client's retry and is not queued twice; commands are never merged by content (two clients sending
        the same bytes are two commands), and one that is already chosen is the state machine's to spot."""
        in_flight = {c for p in self.proposals.values() for c in p.value}
        for command in commands:
            if command not in in_flight:
                self.queue.setdefault(command)

    def _next_batch(self) -> Value:
        batch: list[Command] = []
        while self.queue and len(batch) < self.config.batch_size:
            command = next(iter(self.queue))
            del self.queue[command]
            batch.append(command)
        return tuple(batch)

    def _propose(self, slot: int, value: Value) -> Outgoing:
        self.proposals[slot] = Proposal(value)
        return self.everyone(Accept(self.ballot, slot, value))

    def propose_pending(self, commit: int) -> Outgoing:
        """Fill the pipeline window with batches of queued commands."""
        out: Outgoing = []
        if self.role is not Role.LEADER:
            return out
        self.next_slot = max(self.next_slot, commit)  # slots below commit are chosen (maybe via catch-up)
        while self.queue and self.next_slot < commit + self.config.window:
            out += self._propose(self.next_slot, self._next_batch())
            self.next_slot += 1
        return out

    def on_accepted(self, src: int, msg: Accepted) -> Value | None:
        """Tally a vote; returns the value once a phase-2 quorum has voted for it at our ballot."""
        proposal = self.proposals.get(msg.slot)
        if self.role is not Role.LEADER or proposal is None:
            return None
        if msg.ballot != self.ballot and Mutation.MIXED_BALLOT_VOTES not in self.mutations:
            return None
        proposal.accepted |= 1 << src
        proposal.count += 1
        mask = proposal.accepted
        if Mutation.DOUBLE_COUNT_ACCEPTOR in self.mutations:
            mask = (1 << min(proposal.count, self.config.n)) - 1
        phase2 = self.config.quorums.phase2
        chosen = phase2.is_quorum(mask)
        if Mutation.PHASE2_QUORUM_OFF_BY_ONE in self.mutations:
            chosen = any(phase2.is_quorum(mask | 1 << i) for i in range(self.config.n))
        if not chosen:
            return None
        del self.proposals[msg.slot]
        return proposal.value

    def forget(self, slot: int) -> None:
        """`slot` is known chosen (perhaps through catch-up): stop proposing there."""
        self.proposals.pop(slot, None)

    def retransmit(self, commit: int) -> Outgoing:
        """Resend Accepts still short of a quorum, to the acceptors that have not voted."""
        out: Outgoing = []
        for slot, proposal in sorted(self.proposals.items()):
            if slot < commit:
                continue
            accept = Accept(self.ballot, slot, proposal.value)
            out += [(dst, accept) for dst in range(self.config.n) if not proposal.accepted >> dst & 1]
        return out

    # ------------------------------------------------------------------ leadership changes

    def observe(self, ballot: Ballot, commit: int) -> Outgoing:
        """Someone has promised or leads `ballot`: if it is above ours, step down."""
        self.max_round = max(self.max_round, ballot.round)
        if self.role is Role.FOLLOWER or ballot <= self.ballot:
            return []
        if self.role is Role.LEADER and Mutation.STEP_DOWN_IGNORED in self.mutations:
            self.max_round += 1
            self.ballot = Ballot(self.max_round, self.me)
            for proposal in self.proposals.values():
                proposal.accepted = proposal.count = 0
            return self.retransmit(commit)
        self.step_down()
        return []

    def step_down(self) -> None:
        """Become a follower. Queued and in-flight commands are dropped: clients retry through the new
        leader, and an in-flight command may still be chosen by whoever re-proposes its slot."""
        self.role = Role.FOLLOWER
        self.queue.clear()
        self.proposals = {}
        self.promises = {}
