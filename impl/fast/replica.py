"""Fast Multi-Paxos: the Multi-Paxos replica with fast ballots, in which clients' commands go straight to
acceptors (Lamport, "Fast Paxos", 2006, section 4 on a sequence of instances).

Ballots of even rounds are fast, of odd rounds classic (`is_fast`). A replica elected at a fast ballot runs
phase 1 once for the log as in Multi-Paxos, (re-)proposes in the slots its promises reported votes in, by
the coordinator's recovery rule of `spec/fastpaxos.py` (`fastpaxos.recoverable`, called here, not
restated), proposes the commands forwarded to it while it stood, and then sends `AnyFrom(ballot, slot)`:
every acceptor that has not promised higher now votes for each client command it receives — a client's
`Propose` (`propose`: the service's client sends each command to every acceptor itself), or a client
submitting to it, its gateway, which relays it to the others as a `Propose` — in its
lowest slot from there on where it has not voted at that ballot, and sends the vote to every replica. Every
replica learns a slot when a fast quorum voted one value there at one fast ballot: two message delays from
the client, against three to the leader (four to every replica) in classic Multi-Paxos.

Collisions: acceptors that receive two commands in different orders put them in different slots. The
leader sees it in its tally (no value can still reach a fast quorum) or, for slots left short by lost
messages, when the commit point has not moved for two heartbeats; it falls back to a classic ballot (the
next odd round) whose phase 1 reports the fast votes, proposes in each slot what the recovery rule allows
(a collided command when it is free to choose; the other collided commands go to new slots, so none is
lost), and runs classic for `CLASSIC_SLOTS` new
slots (doubling with each collision in a row: under contention the fast path only costs recoveries) before
it stands at a fast ballot again. An acceptor that promised a fast ballot whose AnyFrom has not arrived
holds its clients' commands until it does; one with no fast ballot open forwards them to the leader, as
classic Multi-Paxos does; commands queued at a leader whose fast ballot is open are relayed as a `Propose`.

The rules a bug would break are small named methods (`FastProposer.decides`, `FastProposer.recover_value`,
`FastReplica.free_slot`), which the mutant catalogue overrides (`impl.fast.mutants`).
"""

from __future__ import annotations

from typing import Any

from paxiom.impl.ballot import Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import Accepted, AnyFrom, Forward, Message, Nack, Prepare, Propose, Vote
from paxiom.impl.proposer import Outgoing, Proposal, Proposer, Role
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import NOOP, Command, Value, render_value
from paxiom.spec import fastpaxos as fp


def is_fast(ballot: Ballot) -> bool:
    """Even rounds are fast ballots; odd rounds are the classic ballots collisions fall back to."""
    return ballot.round >= 0 and ballot.round % 2 == 0


CLASSIC_SLOTS = 8
"""Slots a leader runs classic after a collision, before it tries the fast path again (doubled per collision
in a row, up to `MAX_CLASSIC_SLOTS`): under contention fast ballots only cost recoveries."""
MAX_CLASSIC_SLOTS = 1024
CLEAN_SLOTS = 64
"""A fast ballot that ran this many slots before colliding ends the streak of collisions."""


def smallest_fast_quorum(n: int, phase1: int) -> int:
    """The fewest acceptors a fast quorum may have with phase-1 quorums of `phase1`: any phase-1 quorum and
    two fast quorums must share an acceptor (`quorums.phase1_meets_two_fast`), i.e. phase1 + 2 fast > 2 n."""
    return next(k for k in range(1, n + 1) if phase1 + 2 * k > 2 * n)


class FastProposer(Proposer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.config
        if config.quorums.fast is None:
            raise ValueError("a Fast Paxos replica needs fast quorums")
        self.fast_family = config.quorums.fast
        self.spec = fp.Config(config.quorums, ("",), 0)
        """The recovery rule's constants: only the quorums are read."""
        self.want_fast = True
        """Whether the next election is at a fast ballot (False once, to recover from a collision)."""
        self.any_from: int | None = None
        """While leading a fast ballot: the first slot its AnyFrom opened."""
        self.recovered_below = 0
        """While leading a classic ballot: it stays classic until every slot below this is chosen."""
        self.streak = 0
        """Collisions recovered from in a row, each within `CLEAN_SLOTS` slots of the fast ballot before."""
        self.fast_from = 0
        """The first slot the current (or last) fast ballot opened."""
        self._reports: dict[int, dict[int, tuple[int, str | None]]] = {}
        self._values: dict[str, Value] = {}

    # ------------------------------------------------------------------ the rules

    def decides(self, ballot: Ballot, voters: int) -> bool:
        """Whether the acceptors in bitmask `voters`, voting one value at `ballot`, choose it: a fast quorum at
        a fast ballot, a phase-2 quorum at a classic one."""
        family = self.fast_family if is_fast(ballot) else self.config.quorums.phase2
        return family.is_quorum(voters)

    def recover_value(self, slot: int, reports: dict[int, tuple[int, str | None]]) -> set[str] | None:
        """The coordinator's recovery rule over the promised quorum's reports in `slot`: `spec/fastpaxos.py`'s."""
        return fp.recoverable(self.spec, reports)

    def classic_slots(self) -> int:
        """How many new slots a leader that recovered from a collision runs classic before it tries a fast
        ballot again: doubling with every collision in a row (contention), none when not recovering."""
        return 0 if self.streak == 0 else min(CLASSIC_SLOTS << (self.streak - 1), MAX_CLASSIC_SLOTS)

    def phase2_quorum(self, slot: int, proposal: Proposal) -> bool:
        return self.decides(self.ballot, proposal.accepted)

    def pick_value(self, slot: int, reported: Vote | None) -> Value | None:
        """The recovery rule's value; where it leaves the leader free, the highest reported vote (a collided
        client command), else a no-op. The other values reported in the slot, which lost it in a collision,
        are queued for new slots: no client waits out its timeout for a command the leader saw. A queued
        loser that a later slot re-proposes leaves the queue then (the collisions of one burst often swap
        two commands over two slots); one that another leader or slot chose too is applied once, by its
        session."""
        reports = self._reports.get(slot, {})
        heard: dict[int, tuple[int, str | None]] = {a: reports.get(a, (-1, None)) for a in self.promises}
        rule = self.recover_value(slot, heard)
        picked = (reported.value if reported is not None else NOOP) if rule is None else self._values[min(rule)]
        for command in picked:
            self.queue.pop(command, None)
        for _, shown in reports.values():
            if shown is not None and self._values[shown] not in (picked, NOOP):
                self.submit(self._values[shown])
        return picked

    # ------------------------------------------------------------------ elections and phase 2

    def start_election(self, promised: Ballot, first_slot: int) -> Outgoing:
        """Stand at the next round of the wanted kind (fast, unless recovering from a collision)."""
        round = max(self.max_round, promised.round) + 1
        if is_fast(Ballot(round, self.me)) != self.want_fast:
            round += 1
        self.max_round = round - 1
        self.want_fast = True
        self.any_from = None
        return super().start_election(promised, first_slot)

    def recover(self, promised: Ballot, first_slot: int) -> Outgoing:
        """Fall back to a classic ballot: its phase 1 reports the fast votes, the recovery rule picks."""
        self.want_fast = False
        self.streak = self.streak + 1 if first_slot - self.fast_from < CLEAN_SLOTS else 1
        return self.start_election(promised, first_slot)

    def _take_over(self, known_chosen: dict[int, Value]) -> Outgoing:
        self._reports, self._values = {}, {}
        for a, promise in self.promises.items():
            for vote in promise.votes:
                shown = render_value(vote.value)
                self._values[shown] = vote.value
                self._reports.setdefault(vote.slot, {})[a] = (vote.ballot.to_int(self.config.n), shown)
        out = super()._take_over(known_chosen)
        free = max([self.next_slot, *(slot + 1 for slot in self._reports)])  # above every slot to re-propose
        if not is_fast(self.ballot):
            self.recovered_below = free + self.classic_slots()
            return out
        self.any_from = self.fast_from = max(free, self.next_slot)
        return out + self.everyone(AnyFrom(self.ballot, self.any_from)) + self.propose_pending(self.any_from)

    def propose_pending(self, commit: int) -> Outgoing:
        """Taking over a fast ballot, the leader proposes the queued commands (forwarded to it while it stood)
        in 2a's too, in slots below the one its AnyFrom will open: every acceptor votes a 2a alike, where
        relaying them would collide with the clients' own commands. Once the AnyFrom is out, it puts no new
        command in a slot itself (re-proposals go on) but relays queued ones to the acceptors."""
        if self.role is not Role.LEADER or not is_fast(self.ballot) or self.any_from is None:
            return super().propose_pending(commit)
        queue, self.queue = self.queue, {}
        try:
            out = super().propose_pending(commit)
        finally:
            self.queue = queue
        while self.queue:
            out += self.everyone(Propose(self.next_batch()))
        return out

    def retransmit(self, commit: int, *args: Any) -> Outgoing:
        """Unvoted 2a's, and the AnyFrom again (for acceptors that lost it or restarted since)."""
        out = super().retransmit(commit, *args)
        if self.role is Role.LEADER and self.any_from is not None:
            out += self.everyone(AnyFrom(self.ballot, self.any_from))
        return out


class FastReplica(Replica):
    proposer_class = FastProposer
    proposer: FastProposer

    def __init__(self, config: ReplicaConfig, durable: DurableState | None = None, incarnation: int = 0) -> None:
        self.open: AnyFrom | None = None
        """The latest fast ballot opened to this acceptor (volatile: the leader resends it)."""
        self.cursor = 0
        """The lowest slot that may still be free for a fast vote at `open`'s ballot."""
        self.voted: dict[Value, int] = {}
        """Values this acceptor voted for at `open`'s ballot, with the slot of each: a retried command is not
        voted again while that slot may still choose it (`_still_in_play`)."""
        self.tally: dict[int, dict[tuple[Ballot, Value], int]] = {}
        """Per slot not known chosen, the voters (bitmask) of each value at each fast ballot."""
        self.held: list[Value] = []
        """Client commands that reached this gateway between its promise of a fast ballot and that ballot's
        AnyFrom (volatile: their clients retry after a crash)."""
        self.stuck: tuple[int, int] | None = None
        """(commit point, clock) when the leader last saw it stuck behind fast slots not chosen."""
        super().__init__(config, durable, incarnation)

    # ------------------------------------------------------------------ the rules

    def free_slot(self, ballot: Ballot, first_slot: int) -> int:
        """The lowest slot from `first_slot` on where this acceptor has not voted at `ballot` and that is not
        known chosen (one vote per acceptor per ballot and slot)."""
        slot = max(self.cursor, first_slot, self.acceptor.floor)
        votes = self.acceptor.votes
        while (slot in votes and votes[slot].ballot >= ballot) or self.learner.knows_chosen(slot):
            slot += 1
        return slot

    # ------------------------------------------------------------------ inputs

    def submit(self, commands: tuple[Command, ...]) -> bool:
        """A client's commands reaching this replica, its gateway: voted at the open fast ballot and relayed to
        the other acceptors in one hop (a client next to its gateway sends to them all); else the classic
        path, through the leader."""
        if self._fast_vote(commands):
            self._relay(commands)
            self._settle()
            return True
        return self._hold(commands) or super().submit(commands)

    def propose(self, commands: tuple[Command, ...]) -> bool:
        """A client's commands sent straight to this acceptor as to every other: voted at the open fast ballot
        with no gateway's relay (the client's own messages are the relay); else taken as the classic path
        takes them, by the leader alone."""
        if self._fast_vote(commands):
            self._settle()
            return True
        return super().propose(commands)

    def tick(self) -> None:
        super().tick()
        proposer, commit = self.proposer, self.learner.commit
        self.tally = {slot: votes for slot, votes in self.tally.items() if slot >= commit}
        if proposer.role is not Role.LEADER:
            self.stuck = None
        elif not is_fast(proposer.ballot):
            if commit >= proposer.recovered_below:  # recovered: back to a fast ballot
                self._send(proposer.start_election(self.acceptor.promise, commit))
        elif not (self.learner.pending or any(self._at_my_ballot(votes) for votes in self.tally.values())):
            self.stuck = None
        elif self.stuck is None or self.stuck[0] != commit:
            self.stuck = (commit, self.clock)
        elif self.clock - self.stuck[1] >= 2 * self.config.heartbeat_interval:
            self._recover()
        self._settle()

    # ------------------------------------------------------------------ internals

    def _at_my_ballot(self, votes: dict[tuple[Ballot, Value], int]) -> bool:
        return any(ballot == self.proposer.ballot for ballot, _ in votes)

    def _recover(self) -> None:
        """Fall back to a classic ballot (the caller settles)."""
        self.stuck = None
        self._send(self.proposer.recover(self.acceptor.promise, self.learner.commit))

    def _fast_vote(self, value: Value) -> bool:
        """Vote for a client value at the open fast ballot, if there is one; tell every learner."""
        opened = self.open
        if opened is None or self.acceptor.promise > opened.ballot:
            return False
        if self._still_in_play(value):
            return True
        slot = self.free_slot(opened.ballot, opened.first_slot)
        writes, reply = self.acceptor.on_accept(opened.ballot, slot, value)
        self._writes += writes
        if not isinstance(reply, Accepted):
            return False
        self.voted[value] = slot
        self.cursor = slot + 1
        self._send([(dst, reply) for dst in range(self.config.n)])
        return True

    def _still_in_play(self, value: Value) -> bool:
        """Whether this acceptor's vote for `value` at the open ballot may still choose it: a client's retry of
        it is then not voted again. Once its slot is known chosen the retry is voted in a new slot — if another
        value won the slot (a fast quorum that never collided, so no recovery queues the loser), the command
        would otherwise wait for the next ballot; if it won, the retry is a client that lost its answer, which
        only a new application gives (its session applies it once and answers with the first result)."""
        slot = self.voted.get(value)
        return slot is not None and not self.learner.knows_chosen(slot)

    def _hold(self, value: Value) -> bool:
        """Keep a client's value if this acceptor promised a fast ballot whose AnyFrom is on its way."""
        if is_fast(self.acceptor.promise) and (self.open is None or self.open.ballot < self.acceptor.promise):
            self.held.append(value)
            return True
        return False

    def _relay(self, value: Value) -> None:
        """The gateway's hop: a client's commands to every other acceptor."""
        self._send([(dst, Propose(value)) for dst in range(self.config.n) if dst != self.me])

    def _open(self, src: int, msg: AnyFrom) -> None:
        if msg.ballot < self.acceptor.promise:
            self._send([(src, Nack(self.acceptor.promise))])
            return
        if self.open != msg:
            self.open, self.cursor = msg, msg.first_slot
            self.voted = {v.value: slot for slot, v in self.acceptor.votes.items() if v.ballot == msg.ballot}
            held, self.held = self.held, []
            for value in held:
                if self._fast_vote(value):
                    self._relay(value)
        self._send(self.proposer.observe(msg.ballot, self.learner.commit))
        if src != self.me:
            self._heard_from_leader(src)

    def _tally(self, src: int, msg: Accepted) -> None:
        """Learn a slot a fast quorum voted one value in; as leader, recover from a collision at once."""
        slot = msg.slot
        if self.learner.knows_chosen(slot) or slot < self.acceptor.floor:
            return
        votes = self.tally.setdefault(slot, {})
        key = (msg.ballot, msg.value)
        votes[key] = votes.get(key, 0) | 1 << src
        proposer = self.proposer
        if proposer.decides(msg.ballot, votes[key]):
            self.tally.pop(slot)
            self._learn(slot, msg.value)
            return
        opened = proposer.any_from
        if proposer.role is Role.LEADER and msg.ballot == proposer.ballot and opened is not None and slot >= opened:
            seen = 0
            for (ballot, _), voters in votes.items():
                if ballot == msg.ballot:
                    seen |= voters
            unheard = (1 << self.config.n) - 1 & ~seen
            if not any(
                proposer.decides(ballot, voters | unheard)
                for (ballot, _), voters in votes.items()
                if ballot == msg.ballot
            ):
                self._recover()

    def _handle(self, src: int, msg: Message) -> None:
        match msg:
            case AnyFrom():
                self._open(src, msg)
            case Propose(commands):
                relayed = src != self.me and src == self.proposer.leader_hint
                if not (self._fast_vote(commands) or self._hold(commands) or relayed):
                    super().submit(commands)  # a client's, at a closed acceptor: the classic path
            case Accepted(ballot) if is_fast(ballot):
                super()._handle(src, msg)
                self._tally(src, msg)
            case Forward(commands) if self.proposer.role is Role.CANDIDATE:
                self.proposer.submit(commands)  # a recovering leader keeps what reaches it for its next ballot
            case Prepare(ballot) if self.held and not is_fast(ballot):
                super()._handle(src, msg)
                held, self.held = self.held, []  # no AnyFrom will come: the classic path
                for value in held:
                    super().submit(value)
            case _:
                super()._handle(src, msg)
