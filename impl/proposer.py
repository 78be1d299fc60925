"""The proposer role: elections, re-proposal of reported votes, pipelined and batched phase 2.

A candidate runs phase 1 once for every slot from its first unchosen one. When a phase-1 quorum has
promised, it becomes leader: in each slot it re-proposes the highest-ballot vote reported there, fills
slots nobody voted in with no-ops, and then serves new client commands, up to `batch_size` commands and
`batch_bytes` bytes per slot and `window` slots in flight. A leader that hears of a higher ballot steps down.

Reconfiguration (`impl.reconfig`): a slot is proposed only once its configuration is known (slot − α
committed); its Accepts go to that configuration's members and its phase-2 quorum is counted in it. A
candidate leads once its promises hold a phase-1 quorum of every configuration governing an open slot; a
leader that reaches a slot of a configuration its promises do not cover stands again, at a higher ballot.
Reported votes beyond the window are re-proposed as the window reaches them.

The rules a bug would break are small named methods (`own_ballot`, `phase1_quorum`, `phase1_covers`,
`slot_epoch`, `counts`, `prefer`, `pick_value`, `phase2_quorum`, `preempted`), which the mutant catalogue
overrides (`paxiom.impl.sim.mutants`). Local invariants: every Prepare and Accept goes out at a ballot of
our own, every Accept at the ballot whose phase 1 we completed, in a slot whose configuration is known,
under that configuration, and with a phase-1 quorum of it promised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.messages import Accept, Accepted, Message, Prepare, Promise, Vote
from paxiom.impl.reconfig import Configurations, Epoch, is_config
from paxiom.impl.values import NOOP, Command, Value, command_bytes
from paxiom.spec.quorums import QuorumSystem

Outgoing = list[tuple[int, Message]]
"""(destination replica, message); the replica routes messages to itself through its loopback."""


class Role(enum.Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass
class Proposal:
    value: Value
    epoch: Epoch
    """The configuration governing its slot: its members vote, its phase-2 quorums decide."""
    accepted: int = 0
    """Bitmask of the acceptors that voted for it at the leader's ballot."""
    passed: int = 0
    """Retransmissions that passed it over as merely late (`retransmit`'s patience)."""


class Proposals(dict[int, Proposal]):
    """The proposals in flight by slot, counting the commands they hold (`holds`) as proposals come and go, so
    `submit` tells a command in flight by one lookup: building a set of every command in flight on each call
    cost a pass over the whole pipeline per client request on an open loop's small submits. Only item
    assignment and `del` change it (the proposer uses nothing else)."""

    def __init__(self, proposals: dict[int, Proposal] | None = None) -> None:
        super().__init__()
        self.holds: dict[Command, int] = {}
        for slot, proposal in (proposals or {}).items():
            self[slot] = proposal

    def __setitem__(self, slot: int, proposal: Proposal) -> None:
        if slot in self:
            del self[slot]
        super().__setitem__(slot, proposal)
        holds = self.holds
        for command in proposal.value:
            holds[command] = holds.get(command, 0) + 1

    def __delitem__(self, slot: int) -> None:
        holds = self.holds
        for command in self[slot].value:
            if (left := holds.pop(command) - 1) > 0:
                holds[command] = left
        super().__delitem__(slot)


class Proposer:
    def __init__(self, config: ReplicaConfig, configs: Configurations | None = None) -> None:
        self.config = config
        self.configs = configs or Configurations(config.quorums, config.alpha)
        """The configurations known from the committed log (the replica's, shared)."""
        self.me = config.replica_id
        self.role = Role.FOLLOWER
        self.ballot = NULL_BALLOT
        self.held: Ballot | None = None
        """The ballot whose phase 1 we completed, while we lead it."""
        self.max_round = -1
        """The highest round this proposer has seen or used since it started (volatile)."""
        self.promises: dict[int, Promise] = {}
        self.promised = 0
        """Bitmask of the acceptors in `promises`."""
        self._proposals = Proposals()
        self.reported: dict[int, Vote] = {}
        """The highest vote the promises reported per slot, for slots not re-proposed yet."""
        self.refill = -1
        """The last slot a new leader must re-propose (or fill with a no-op) before new commands."""
        self.decided: set[int] = set()
        """Slots up to `refill` known chosen since we took over: nothing to re-propose there."""
        self.next_slot = 0
        self.queue: dict[Command, None] = {}
        """Commands waiting for a slot, in arrival order (a dict: an ordered set of identities)."""
        self.leader_hint: int | None = None

    @property
    def proposals(self) -> Proposals:
        """Our proposals still short of a phase-2 quorum, by slot."""
        return self._proposals

    @proposals.setter
    def proposals(self, proposals: dict[int, Proposal]) -> None:
        self._proposals = Proposals(proposals)

    def everyone(self, msg: Message) -> Outgoing:
        return [(dst, msg) for dst in range(self.configs.universe)]

    # ------------------------------------------------------------------ the rules

    def own_ballot(self, round: int) -> Ballot:
        """Ballots carry our replica id, so no two replicas ever use the same one."""
        return Ballot(round, self.me)

    def phase1_quorum(self, promised: int, quorums: QuorumSystem) -> bool:
        """Whether the acceptors in bitmask `promised` form a phase-1 quorum of `quorums`."""
        return quorums.phase1.is_quorum(promised)

    def phase1_covers(self, promised: int, epoch: Epoch) -> bool:
        """Whether the promises in bitmask `promised` let us propose in a slot `epoch` governs: a
        phase-1 quorum of that configuration itself (`spec/reconfig.py` proposable)."""
        return self.phase1_quorum(promised, epoch.quorums)

    def accept_targets(self, epoch: Epoch, value: Value) -> frozenset[int]:
        """Who is asked to vote for `value` in a slot `epoch` governs: its voters (no auxiliary is asked
        to vote for an ordinary command)."""
        return epoch.voters(value)

    def slot_epoch(self, slot: int, commit: int) -> Epoch | None:
        """The configuration we propose `slot` under: the one governing it, once slot − α is committed."""
        return self.configs.epoch(slot, self.committed(commit))

    def committed(self, commit: int) -> int:
        """The first slot not committed: `commit`, unless that is only where a window is measured from
        (after a take-over, the last re-proposal), beyond what the configurations have learned committed."""
        return min(commit, self.configs.learned + 1)

    def counts(self, ballot: Ballot) -> bool:
        """Only answers to our current ballot count towards its quorums."""
        return ballot == self.ballot

    def prefer(self, best: Vote | None, vote: Vote) -> Vote:
        """Of two votes reported in one slot, the one with the higher ballot."""
        return vote if best is None or vote.ballot > best.ballot else best

    def pick_value(self, slot: int, reported: Vote | None) -> Value | None:
        """What a new leader proposes in `slot`: the highest vote reported there, else a no-op (None:
        propose nothing)."""
        return reported.value if reported is not None else NOOP

    def phase2_quorum(self, slot: int, proposal: Proposal) -> bool:
        """Whether the acceptors that voted for `proposal` form a phase-2 quorum of its configuration."""
        return proposal.epoch.quorums.phase2.is_quorum(proposal.accepted)

    def preempted(self, ballot: Ballot, commit: int) -> Outgoing:
        """A ballot above ours is in play: step down."""
        self.step_down()
        return []

    # ------------------------------------------------------------------ phase 1

    def start_election(self, promised: Ballot, first_slot: int) -> Outgoing:
        """Stand for election at a ballot above everything seen, including our own durable promise."""
        self.max_round = max(self.max_round, promised.round) + 1
        self.ballot = self.own_ballot(self.max_round)
        self.role = Role.CANDIDATE
        self.held = None
        self.promises = {}
        self.promised = 0
        self.proposals = {}
        self.reported = {}
        self.refill = -1
        self.next_slot = first_slot
        self.leader_hint = None
        self.check_ballot()
        return self.everyone(Prepare(self.ballot, first_slot))

    def on_promise(self, src: int, promise: Promise, known_chosen: dict[int, Value]) -> Outgoing:
        """Collect a promise; once they hold a phase-1 quorum of every configuration governing a slot open
        when we stood, take over and (re-)propose. `known_chosen` are slots we already know the decision
        of: nothing needs proposing there."""
        if self.role is not Role.CANDIDATE:
            return []
        if not self.counts(promise.ballot):
            return []
        self.promises[src] = promise
        self.promised |= 1 << src
        if not all(self.phase1_covers(self.promised, e) for e in self.configs.open_epochs(self.next_slot)):
            return []
        self.role = Role.LEADER
        self.held = self.ballot
        self.leader_hint = self.me
        return self._take_over(known_chosen)

    def _take_over(self, known_chosen: dict[int, Value]) -> Outgoing:
        reported: dict[int, Vote] = {}
        for promise in self.promises.values():
            for vote in promise.votes:
                reported[vote.slot] = self.prefer(reported.get(vote.slot), vote)
        self.reported = reported
        self.refill = max(reported, default=-1)
        self.decided = set(known_chosen)
        out = self._refill(self.next_slot)
        if self.next_slot <= self.refill or self.role is not Role.LEADER:
            return out  # the rest waits for its configuration (or we stood again)
        return out + self.propose_pending(self.next_slot)  # a window of new commands from the last re-proposal

    # ------------------------------------------------------------------ phase 2

    def submit(self, commands: tuple[Command, ...]) -> None:
        """Queue commands for a slot. A command whose exact identity is already queued or in flight is a
        client's retry and is not queued twice; commands are never merged by content (two clients sending
        the same bytes are two commands), and one that is already chosen is the state machine's to spot."""
        in_flight, queue = self.proposals.holds, self.queue
        for command in commands:
            if command not in in_flight:
                queue.setdefault(command)

    def next_batch(self) -> Value:
        """The oldest queued commands, bounded in count and in bytes (a slot must fit in one message)."""
        batch: list[Command] = []
        room, most = self.config.batch_bytes, self.config.batch_size
        for command in self.queue:  # one pass: taking each from the front anew rescans the entries deleted there
            size = command_bytes(command)
            if len(batch) == most or (batch and (size > room or is_config(command) or is_config(batch[0]))):
                break  # a configuration command goes alone in its slot (`impl.reconfig.switch_of`)
            batch.append(command)
            room -= size
        for command in batch:
            del self.queue[command]
        return tuple(batch)

    def _propose(self, slot: int, value: Value, epoch: Epoch, commit: int) -> Outgoing:
        self.check_ballot()
        self.check_governed(slot, epoch, commit)
        self.proposals[slot] = Proposal(value, epoch)
        accept = Accept(self.ballot, slot, value)
        return [(dst, accept) for dst in sorted(self.accept_targets(epoch, value))]

    def propose_pending(self, commit: int) -> Outgoing:
        """Re-propose what the promises reported (no-ops in the holes) where the decision is not known
        yet, then fill the pipeline window with batches of queued commands: in slot order, each slot once
        its configuration is known (`commit` is the first slot not committed)."""
        if self.role is not Role.LEADER:
            return []
        self.next_slot = max(self.next_slot, commit)  # slots below commit are chosen (maybe via catch-up)
        out = self._refill(commit)
        while self.role is Role.LEADER and self.next_slot > self.refill:
            if not (self.queue and self.next_slot < commit + self.config.window):
                break
            epoch = self._governed(self.next_slot, commit, out)
            if epoch is None:
                break
            out += self._propose(self.next_slot, self.next_batch(), epoch, commit)
            self.next_slot += 1
        return out

    def _refill(self, commit: int) -> Outgoing:
        """Re-propose the reported votes (no-ops in the holes) up to `refill`, as far as the configurations
        are known, skipping slots known decided."""
        out: Outgoing = []
        while self.role is Role.LEADER and self.next_slot <= self.refill:
            slot = self.next_slot
            epoch = self._governed(slot, commit, out)
            if epoch is None:
                break
            if slot not in self.decided:
                value = self.pick_value(slot, self.reported.pop(slot, None))
                if value is not None:
                    out += self._propose(slot, value, epoch, commit)
            self.next_slot += 1
        return out

    def _governed(self, slot: int, commit: int, out: Outgoing) -> Epoch | None:
        """The configuration to propose `slot` under, or None: not known yet (slot − α is not committed),
        or not covered by our promises, in which case we stand again (its Prepare joins `out`)."""
        epoch = self.slot_epoch(slot, commit)
        if epoch is not None and not self.phase1_covers(self.promised, epoch):
            out += self.start_election(self.ballot, commit)
            return None
        return epoch

    def on_accepted(self, src: int, msg: Accepted) -> Value | None:
        """Tally a vote; returns the value once a phase-2 quorum has voted for it at our ballot."""
        proposal = self.proposals.get(msg.slot)
        if self.role is not Role.LEADER or proposal is None:
            return None
        if not self.counts(msg.ballot):
            return None
        proposal.accepted |= 1 << src
        if not self.phase2_quorum(msg.slot, proposal):
            return None
        del self.proposals[msg.slot]
        return proposal.value

    def forget(self, slot: int) -> None:
        """`slot` is known chosen (perhaps through catch-up): stop proposing there."""
        if slot in self.proposals:
            del self.proposals[slot]
        if slot <= self.refill:
            self.decided.add(slot)

    @property
    def patience(self) -> int:
        """Heartbeats an Accept may wait before `retransmit` resends it: about a third of an election timeout, so
        a vote lost with a dropped link comes again well in time, but one merely late (under load, often) is not
        sent twice, a second copy of every batch to every follower. 1 in the service's timing (30/5 ticks); 0,
        resending at every heartbeat as before, in the simulator's (8/2) and `ReplicaConfig`'s (10/3)."""
        return max(0, self.config.election_timeout // (3 * self.config.heartbeat_interval) - 1)

    def retransmit(self, commit: int, patience: int = 0) -> Outgoing:
        """Resend Accepts still short of a quorum, to the acceptors that have not voted, once a proposal was
        passed over `patience` times (each call counts one)."""
        out: Outgoing = []
        if self.proposals:
            self.check_ballot()
        for slot, proposal in sorted(self.proposals.items()):
            if slot < commit:
                continue
            if proposal.passed < patience:
                proposal.passed += 1
                continue
            accept = Accept(self.ballot, slot, proposal.value)
            targets = self.accept_targets(proposal.epoch, proposal.value)
            out += [(dst, accept) for dst in sorted(targets) if not proposal.accepted >> dst & 1]
        return out

    # ------------------------------------------------------------------ leadership changes

    def observe(self, ballot: Ballot, commit: int) -> Outgoing:
        """Someone has promised or leads `ballot`: if it is above ours, step down."""
        self.max_round = max(self.max_round, ballot.round)
        if self.role is Role.FOLLOWER or ballot <= self.ballot:
            return []
        return self.preempted(ballot, commit)

    def step_down(self) -> None:
        """Become a follower. Queued and in-flight commands are dropped: clients retry through the new
        leader, and an in-flight command may still be chosen by whoever re-proposes its slot."""
        self.role = Role.FOLLOWER
        self.held = None
        self.queue.clear()
        self.proposals = {}
        self.promises = {}
        self.promised = 0
        self.reported = {}
        self.refill = -1

    # ------------------------------------------------------------------ local invariants

    def check_ballot(self) -> None:
        """Our ballots are our own, and we only propose at the ballot whose phase 1 we completed."""
        if self.ballot.replica != self.me:
            raise BrokenInvariant(f"{self.me} is using ballot {self.ballot}, which is not its own")
        if self.role is Role.LEADER and self.held != self.ballot:
            raise BrokenInvariant(f"proposing at ballot {self.ballot}, but phase 1 completed for {self.held}")

    def check_governed(self, slot: int, epoch: Epoch, commit: int) -> None:
        """We propose in a slot only under the configuration governing it, known once slot − α is
        committed, and with a phase-1 quorum of that configuration promised."""
        governs = self.configs.epoch(slot, self.committed(commit))
        if governs is None:
            last = slot - (self.config.alpha or 0)
            raise BrokenInvariant(f"proposing in slot {slot} before slot {last} is committed")
        if epoch is not governs:
            raise BrokenInvariant(f"proposing in slot {slot} under a configuration other than the one governing it")
        if not self.phase1_quorum(self.promised, epoch.quorums):
            raise BrokenInvariant(f"proposing in slot {slot} without a phase-1 quorum of its configuration")
