"""Coverage of the dangerous interleavings, counted from observation records, and time without a leader.

A random schedule that never reaches two leaders at once, or a takeover that must choose between votes of
different ballots, cannot find the bugs that hide there, however long it runs. `Coverage` is an observer
(`Simulator.watch`) that counts how often a run reached each situation in `COUNTERS`. It reads the hosts'
records (`impl.observe`), plus the simulated network for what records cannot say (which messages are
still in flight, which were lost), never the replicas' objects, so what it counts is what happened.
Only runs that ask for it (`paxiom sim --coverage`, the biased hunts) pay for it.

Leadership is read off the records too: a replica *claims* ballot b from the first Accept or Heartbeat it
sends at b until it crashes, stands for election again, or sees a higher ballot (its acceptor joins one,
or a Nack or Heartbeat names one). A tick with no live claim at the highest ballot any acceptor has
joined is a tick without a leader: a deposed leader that keeps its followers from electing costs
availability, and so does a candidate that never completes phase 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.messages import (
    Accept,
    Accepted,
    CatchUpReply,
    Envelope,
    Heartbeat,
    Nack,
    Prepare,
    Promise,
    Vote,
)
from paxiom.impl.observe import Crash, MsgId, Receive, Record, Restored, Sent, Synced, Tick
from paxiom.impl.sim.network import Network
from paxiom.impl.storage import SaveSnapshot

COUNTERS: dict[str, str] = {
    "competing_leaders": "a replica starts leading while another still claims leadership",
    "same_round_competition": "votes at two ballots of the same round, proposed by different leaders",
    "takeover_mixed_ballots": "a new leader's promises report votes of different ballots in one slot",
    "deposed_with_accepts_in_flight": "an acceptor joins a higher ballot while the old leader's Accepts are in flight",
    "catchup_races_snapshot": "a catch-up reply arrives after its sender or receiver took or restored a snapshot",
    "crash_between_write_and_send": "a replica crashes right after a durable write, and a message of it is lost",
    "recovered_vote_differs": "a new leader recovers a vote whose value differs from its own vote in that slot",
    "takeover_with_hole": "a new leader's promises report votes above a slot none of them reported (to fill)",
    "late_answer": "a proposer still collecting promises (or votes in a slot) gets one for its own earlier ballot",
    "duplicate_vote": "a proposer gets the same Accepted twice at its current ballot (a duplicated message)",
    "repeat_prepare": "an acceptor gets a Prepare again at the ballot it promised, after voting at that ballot",
}
"""The dangerous interleavings counted, each with what counts as one."""

PER = 10_000
"""Counters are reported per this many steps."""


@dataclass
class Availability:
    """Simulated time (ticks) during the fault phase, and how much of it had no leader."""

    ticks: int = 0
    leaderless: int = 0
    longest: int = 0
    """The longest stretch of consecutive leaderless ticks."""
    _stretch: int = 0

    def tick(self, led: bool) -> None:
        self.ticks += 1
        if led:
            self._stretch = 0
            return
        self.leaderless += 1
        self._stretch += 1
        self.longest = max(self.longest, self._stretch)

    def to_json(self) -> dict[str, Any]:
        share = self.leaderless / self.ticks if self.ticks else 0.0
        return {
            "ticks": self.ticks,
            "leaderless_ticks": self.leaderless,
            "leaderless_share": round(share, 4),
            "longest_leaderless_ticks": self.longest,
        }


class Coverage:
    """Counts `COUNTERS` over a run (an observer: watch it before the first step)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.played = dict.fromkeys(COUNTERS, 0)
        """Counter -> how often a biased schedule played its tactic (`impl.sim.tactics.tactic`)."""
        self.steps = 0
        self.availability = Availability()
        self.active = True
        """Counting; `stop()` ends it when faults stop (the epilogues are not the adversary's work)."""
        self.claims: dict[int, Ballot] = {}
        """Replica -> the ballot it claims to lead."""
        self.top = NULL_BALLOT
        """The highest ballot any acceptor has joined (promised or voted in)."""
        self.promises: dict[int, tuple[Ballot, dict[int, tuple[Vote, ...]]]] = {}
        """Candidate -> its ballot and the votes each promiser reported for it."""
        self.voted_leaders: dict[int, set[int]] = {}
        """Round -> the leaders whose Accepts were voted for at a ballot of that round."""
        self.deposed: set[tuple[int, Ballot]] = set()
        self.ballots: dict[int, Ballot] = {}
        self.first_slots: dict[int, int] = {}
        """Replica -> the first slot of its latest Prepare."""
        """Replica -> the ballot of its latest Prepare (the one its proposer now stands or leads at)."""
        self.proposing: dict[int, set[int]] = {}
        """Leader -> the slots it has sent Accepts in at the ballot it claims."""
        self.joined: dict[int, tuple[Ballot, bool]] = {}
        """Acceptor -> the ballot it last joined, and whether it has voted at that ballot since."""
        self.votes_heard: set[tuple[int, MsgId]] = set()
        """(Proposer, Accepted id) pairs received at the proposer's current ballot."""
        self.epochs: dict[int, int] = {}
        """Replica -> how many snapshots it took or restored."""
        self.replies: dict[MsgId, tuple[int, int]] = {}
        """A catch-up reply's id -> its sender's and receiver's snapshot epochs when it was sent."""
        self.fresh: dict[int, list[MsgId]] = {}
        """Replica -> the messages of the durable write its latest transition made (empty if none)."""
        self.unsent: set[int] = set()
        """Network ids of messages a crash left in flight right after their durable write."""
        self._sent: dict[type[Any], Callable[[int, Envelope, MsgId], None]] = {
            Accept: self._sent_claim,
            Heartbeat: self._sent_claim,
            Prepare: self._sent_prepare,
            Promise: self._sent_promise,
            Accepted: self._sent_accepted,
            CatchUpReply: self._sent_reply,
        }
        self._received: dict[type[Any], Callable[[int, Receive], None]] = {
            Prepare: self._received_prepare,
            Promise: self._received_promise,
            Accepted: self._received_accepted,
            Nack: self._received_higher,
            Heartbeat: self._received_higher,
            CatchUpReply: self._received_reply,
        }

    # ------------------------------------------------------------------ the observer

    def on_records(self, replica: int, records: list[Record]) -> None:
        if not self.active:
            return
        batch: list[MsgId] | None = None
        for record in records:
            kind = type(record)
            if kind is Sent:
                assert isinstance(record, Sent)
                envelope = record.envelope
                handler = self._sent.get(type(envelope.msg))
                if handler is not None:
                    handler(record.node, envelope, record.id)
                if batch is not None and envelope.dst != record.node:
                    batch.append(record.id)
            elif kind is Receive:
                assert isinstance(record, Receive)
                handle = self._received.get(type(record.envelope.msg))
                if handle is not None:
                    handle(record.node, record)
            elif kind is Tick:
                self.availability.tick(self.led())
            elif kind is Synced:
                assert isinstance(record, Synced)
                batch = []
                if any(type(w) is SaveSnapshot for w in record.writes):
                    self.epochs[replica] = self.epochs.get(replica, 0) + 1
            elif kind is Restored:
                self.epochs[replica] = self.epochs.get(replica, 0) + 1
            elif kind is Crash:
                self._crashed(replica)
        if batch is not None:
            self.fresh[replica] = batch
        else:
            self.fresh.pop(replica, None)

    def end_step(self, index: int, step: dict[str, Any]) -> None:
        if not self.active:
            return
        self.steps += 1
        if step["action"] == "drop" and step["msg"] in self.unsent:
            self.unsent.clear()
            self.counts["crash_between_write_and_send"] += 1

    def stop(self) -> None:
        self.active = False

    # ------------------------------------------------------------------ what it says

    def led(self) -> bool:
        """Whether some replica leads the highest ballot joined anywhere."""
        return any(b >= self.top for b in self.claims.values())

    def per_10k(self) -> dict[str, float]:
        return {k: round(v * PER / self.steps, 2) if self.steps else 0.0 for k, v in self.counts.items()}

    def lowest(self) -> list[str]:
        """The counters, least reached first."""
        return sorted(self.counts, key=lambda k: self.counts[k])

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "counts": dict(self.counts),
            "per_10k_steps": self.per_10k(),
            "availability": self.availability.to_json(),
        }

    # ------------------------------------------------------------------ leadership

    def _sent_claim(self, node: int, envelope: Envelope, _: MsgId) -> None:
        msg = envelope.msg
        ballot = msg.ballot  # type: ignore[union-attr]
        if self.claims.get(node) != ballot:
            if any(other != node for other in self.claims):
                self.counts["competing_leaders"] += 1
            self.claims[node] = ballot
            self.proposing[node] = set()
            self._takeover(node, ballot)
        if type(msg) is Accept:
            self.proposing[node].add(msg.slot)

    def _sent_prepare(self, node: int, envelope: Envelope, _: MsgId) -> None:
        self.claims.pop(node, None)
        self.proposing.pop(node, None)
        assert isinstance(envelope.msg, Prepare)
        self.promises[node] = (envelope.msg.ballot, {})
        self.ballots[node] = envelope.msg.ballot
        self.first_slots[node] = envelope.msg.first_slot

    def _joined(self, node: int, ballot: Ballot) -> None:
        """`node`'s acceptor joined `ballot`: its own claim below it is over."""
        if ballot > self.top:
            self.top = ballot
        claim = self.claims.get(node)
        if claim is not None and ballot > claim:
            del self.claims[node]

    def _sent_promise(self, node: int, envelope: Envelope, _: MsgId) -> None:
        promise = envelope.msg
        assert isinstance(promise, Promise)
        self._joined(node, promise.ballot)
        if self.joined.get(node, (NULL_BALLOT,))[0] != promise.ballot:
            self.joined[node] = (promise.ballot, False)
        if envelope.dst == node:  # our own acceptor's promise never crosses the network
            self._collect(node, node, promise)
        for leader, claim in self.claims.items():
            if (
                claim < promise.ballot
                and (leader, claim) not in self.deposed
                and self._accepts_in_flight(leader, claim)
            ):
                self.deposed.add((leader, claim))
                self.counts["deposed_with_accepts_in_flight"] += 1

    def _accepts_in_flight(self, leader: int, ballot: Ballot) -> bool:
        return any(
            e.src == leader and type(e.msg) is Accept and e.msg.ballot == ballot
            for e in self.network.in_flight.values()
        )

    def _sent_accepted(self, node: int, envelope: Envelope, _: MsgId) -> None:
        ballot = envelope.msg.ballot  # type: ignore[union-attr]
        self._joined(node, ballot)
        if ballot >= self.joined.get(node, (NULL_BALLOT,))[0]:
            self.joined[node] = (ballot, True)
        leaders = self.voted_leaders.setdefault(ballot.round, set())
        if envelope.dst not in leaders:
            leaders.add(envelope.dst)
            if len(leaders) > 1:
                self.counts["same_round_competition"] += 1

    def _received_higher(self, node: int, record: Receive) -> None:
        msg = record.envelope.msg
        ballot = msg.promised if isinstance(msg, Nack) else msg.ballot  # type: ignore[union-attr]
        claim = self.claims.get(node)
        if claim is not None and ballot > claim:
            del self.claims[node]
        if ballot > self.top and isinstance(msg, Nack):
            self.top = ballot

    def _crashed(self, node: int) -> None:
        self.claims.pop(node, None)
        self.proposing.pop(node, None)
        self.promises.pop(node, None)
        self.ballots.pop(node, None)
        fresh = set(self.fresh.pop(node, ()))
        if fresh:
            self.unsent = {mid for mid, sid in self.network.sent_as.items() if sid in fresh}

    # ------------------------------------------------------------------ takeovers

    def _received_prepare(self, node: int, record: Receive) -> None:
        if self.joined.get(node) == (record.envelope.msg.ballot, True):  # type: ignore[union-attr]
            self.counts["repeat_prepare"] += 1

    def _received_promise(self, node: int, record: Receive) -> None:
        assert isinstance(record.envelope.msg, Promise)
        if node in self.promises:  # still collecting for its current ballot
            self._late(node, record.envelope.msg.ballot)
        self._collect(node, record.envelope.src, record.envelope.msg)

    def _received_accepted(self, node: int, record: Receive) -> None:
        msg = record.envelope.msg
        assert isinstance(msg, Accepted)
        ballot = msg.ballot
        if msg.slot in self.proposing.get(node, ()):
            self._late(node, ballot)
        if record.id is None or ballot != self.ballots.get(node):
            return
        if (node, record.id) in self.votes_heard:
            self.counts["duplicate_vote"] += 1
        else:
            self.votes_heard.add((node, record.id))

    def _late(self, node: int, ballot: Ballot) -> None:
        current = self.ballots.get(node)
        if current is not None and ballot < current:
            self.counts["late_answer"] += 1

    def _collect(self, candidate: int, src: int, promise: Promise) -> None:
        entry = self.promises.get(candidate)
        if entry is not None and entry[0] == promise.ballot:
            entry[1][src] = promise.votes

    def _takeover(self, leader: int, ballot: Ballot) -> None:
        """`leader` just started proposing at `ballot`: what did its phase 1 have to choose from?"""
        entry = self.promises.pop(leader, None)
        if entry is None or entry[0] != ballot:
            return
        reports = entry[1]
        ballots: dict[int, set[Ballot]] = {}
        best: dict[int, Vote] = {}
        for votes in reports.values():
            for vote in votes:
                ballots.setdefault(vote.slot, set()).add(vote.ballot)
                if vote.slot not in best or vote.ballot > best[vote.slot].ballot:
                    best[vote.slot] = vote
        if any(len(seen) > 1 for seen in ballots.values()):
            self.counts["takeover_mixed_ballots"] += 1
        if ballots and len(ballots) <= max(ballots) - self.first_slots.get(leader, 0):
            self.counts["takeover_with_hole"] += 1
        own = {vote.slot: vote.value for vote in reports.get(leader, ())}
        if any(best[slot].value != value for slot, value in own.items()):
            self.counts["recovered_vote_differs"] += 1

    # ------------------------------------------------------------------ catch-up

    def _sent_reply(self, node: int, envelope: Envelope, msg_id: MsgId) -> None:
        self.replies[msg_id] = (self.epochs.get(node, 0), self.epochs.get(envelope.dst, 0))

    def _received_reply(self, node: int, record: Receive) -> None:
        sent = self.replies.get(record.id) if record.id is not None else None
        if sent is not None and sent != (self.epochs.get(record.envelope.src, 0), self.epochs.get(node, 0)):
            self.counts["catchup_races_snapshot"] += 1
