"""The mutant catalogue (`paxiom.impl.mutants`) as overrides of the production classes.

Production code names each spot a bug would live in with a small method (`Acceptor.joins`,
`Proposer.pick_value`, `Learner.verify`, `Host._snapshot`, ...); a mutant is a subclass overriding that
one method, so the production path carries no test machinery. `core_class(mutations)` and
`host_class(mutations)` compose the overrides a set of mutations needs into a `Replica` and a `Host`
class (the simulator's factory choice). Where a bug breaks one of the core's own local invariants
(`paxiom.impl.invariant`), its override also skips that check — otherwise the core would stop itself
before the refinement oracle could object, and the catalogue would prove nothing about the oracle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from paxiom.impl.acceptor import Acceptor
from paxiom.impl.ballot import Ballot
from paxiom.impl.cheap.mutants import (
    CheapAuxAcceptsCommands,
    CheapAuxVotesCommands,
    CheapRetireKeepsAuxiliaries,
)
from paxiom.impl.checksum import GENESIS, chain
from paxiom.impl.fast.mutants import FastQuorumTooSmall, RecoveryAnyValue
from paxiom.impl.host import Host
from paxiom.impl.learner import Learner
from paxiom.impl.messages import CatchUpReply, ChosenEntry, Message, Snapshot, Vote
from paxiom.impl.mutants import Mutation
from paxiom.impl.proposer import Outgoing, Proposal, Proposer, Role
from paxiom.impl.reconfig import Epoch
from paxiom.impl.replica import Replica
from paxiom.impl.storage import Write
from paxiom.impl.values import NOOP, Value
from paxiom.spec.quorums import QuorumSystem

# ---------------------------------------------------------------------- acceptor


class PromiseNotPersisted(Acceptor):
    def promise_writes(self, ballot: Ballot) -> list[Write]:
        return []


class VoteNotPersisted(Acceptor):
    def vote_writes(self, vote: Vote) -> list[Write]:
        return []


class AcceptBelowPromise(Acceptor):
    def admits(self, ballot: Ballot) -> bool:
        return True

    def check_vote(self, ballot: Ballot) -> None:
        """Skipped: voting below the promise is this bug."""


class PromiseOnEqualBallot(Acceptor):
    def joins(self, ballot: Ballot) -> bool:
        return ballot >= self.promise


class PromiseOmitsVotes(Acceptor):
    def report(self, first_slot: int) -> tuple[Vote, ...]:
        return ()


class VoteKeepsOldPromise(Acceptor):
    def raises_promise(self, ballot: Ballot) -> bool:
        return False


# ---------------------------------------------------------------------- proposer


class ProposeOwnValue(Proposer):
    def pick_value(self, slot: int, reported: Vote | None) -> Value | None:
        return self.next_batch() or NOOP


class FirstVoteNotHighest(Proposer):
    def prefer(self, best: Vote | None, vote: Vote) -> Vote:
        return vote if best is None else best


class SkipHoles(Proposer):
    def pick_value(self, slot: int, reported: Vote | None) -> Value | None:
        return reported.value if reported is not None else None


class DoubleCountAcceptor(Proposer):
    """Counts Accepted messages per (ballot, slot) instead of distinct acceptors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counted: dict[tuple[Ballot, int], int] = {}

    def phase2_quorum(self, slot: int, proposal: Proposal) -> bool:
        key = (self.ballot, slot)
        self.counted[key] = self.counted.get(key, 0) + 1
        return proposal.epoch.quorums.phase2.is_quorum((1 << min(self.counted[key], self.config.n)) - 1)


class MixedBallotVotes(Proposer):
    def counts(self, ballot: Ballot) -> bool:
        return True


class Phase2QuorumOffByOne(Proposer):
    def phase2_quorum(self, slot: int, proposal: Proposal) -> bool:
        phase2 = proposal.epoch.quorums.phase2
        return any(phase2.is_quorum(proposal.accepted | 1 << i) for i in range(self.config.n))


class Phase1QuorumTooSmall(Proposer):
    def phase1_quorum(self, promised: int, quorums: QuorumSystem) -> bool:
        return any(quorums.phase1.is_quorum(promised | 1 << i) for i in range(self.config.n))


class UnnumberedBallots(Proposer):
    def own_ballot(self, round: int) -> Ballot:
        return Ballot(round, 0)

    def check_ballot(self) -> None:
        """Skipped: ballots that are not our own are this bug."""


class StepDownIgnored(Proposer):
    def preempted(self, ballot: Ballot, commit: int) -> Outgoing:
        if self.role is not Role.LEADER:
            return super().preempted(ballot, commit)
        self.max_round += 1
        self.ballot = Ballot(self.max_round, self.me)
        for proposal in self.proposals.values():
            proposal.accepted = 0
        return self.retransmit(commit)

    def check_ballot(self) -> None:
        """Skipped: proposing at a ballot whose phase 1 never ran is this bug."""


# ---------------------------------------------------------------------- learner and replica


class CatchUpWithoutChecksum(Learner):
    def verify_snapshot(self, snapshot: Snapshot) -> str | None:
        return None

    def verify(self, entry: ChosenEntry, checksum: bytes, known: Value | None) -> str | None:
        return None


class ApplyOutOfOrder(Learner):
    """Hands every entry to the host as soon as it is learned, then skips it when its turn comes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.early: set[int] = set()

    def advance(self) -> tuple[list[ChosenEntry], int | None]:
        early = self.early
        released = [ChosenEntry(s, self.pending[s], GENESIS) for s in sorted(set(self.pending) - early)]
        released = [entry for entry in released if entry.slot != self.last + 1]
        early.update(entry.slot for entry in released)
        committed, snapshot_at = super().advance()
        in_turn = [entry for entry in committed if entry.slot not in early]
        early.difference_update(entry.slot for entry in committed)
        return released + in_turn, snapshot_at


class CatchUpServesVotes(Replica):
    def catch_up_reply(self, first_slot: int) -> CatchUpReply | None:
        reply = super().catch_up_reply(first_slot)
        learner, votes = self.learner, self.acceptor.votes
        prev, slot, extra = learner.checksum, learner.last + 1, []
        while slot in votes:
            prev = chain(prev, slot, votes[slot].value)
            extra.append(ChosenEntry(slot, votes[slot].value, prev))
            slot += 1
        if not extra:
            return reply
        return CatchUpReply(reply.snapshot if reply else None, (*(reply.entries if reply else ()), *extra))


class AppliesOutOfOrder(Replica):
    def check_applied(self, slot: int) -> None:
        """Skipped: applying out of slot order is this bug."""


# ---------------------------------------------------------------------- reconfiguration


class ConfigAppliedEarly(Proposer):
    def slot_epoch(self, slot: int, commit: int) -> Epoch | None:
        """The configuration after the committed prefix below the slot, however short (no window)."""
        return self.configs.after(min(slot, commit) - 1)

    def check_governed(self, slot: int, epoch: Epoch, commit: int) -> None:
        """Skipped: proposing under a configuration that does not govern the slot is this bug."""


class ConfigQuorumsMixed(Proposer):
    def phase1_covers(self, promised: int, epoch: Epoch) -> bool:
        return any(self.phase1_quorum(promised, e.quorums) for e in self.configs.epochs)

    def check_governed(self, slot: int, epoch: Epoch, commit: int) -> None:
        """Skipped: proposing without a phase-1 quorum of the slot's configuration is this bug."""


class CatchUpOnlyOnTraffic(Replica):
    _looked_at: int | None = None
    """The newest slot voted in when we last looked (None: not yet; what we recovered counts as seen)."""

    def behind(self, commit: int) -> bool:
        newest = max(self.acceptor.votes, default=-1)
        seen, self._looked_at = self._looked_at, newest
        return seen is not None and newest != seen and super().behind(commit)


class OwnReplyBeforeSync(Replica):
    def waits_for_sync(self, msg: Message) -> bool:
        return False


# ---------------------------------------------------------------------- host


class StaleSnapshotHost(Host):
    """The snapshot is taken just before the slot it is labelled with is applied."""

    _before: tuple[int, bytes] | None = None

    def _apply(self, entry: ChosenEntry) -> None:
        self._before = (entry.slot, self.sm.snapshot())
        super()._apply(entry)

    def _snapshot(self, slot: int) -> None:
        if self._before is not None and self._before[0] == slot:
            self.replica.snapshot_taken(slot, self._before[1])
        else:
            super()._snapshot(slot)


# ---------------------------------------------------------------------- the catalogue's overrides

OVERRIDES: dict[Mutation, tuple[type[Any], ...]] = {
    Mutation.PROMISE_NOT_PERSISTED: (PromiseNotPersisted,),
    Mutation.VOTE_NOT_PERSISTED: (VoteNotPersisted,),
    Mutation.ACCEPT_BELOW_PROMISE: (AcceptBelowPromise,),
    Mutation.PROMISE_ON_EQUAL_BALLOT: (PromiseOnEqualBallot,),
    Mutation.PROMISE_OMITS_VOTES: (PromiseOmitsVotes,),
    Mutation.VOTE_KEEPS_OLD_PROMISE: (VoteKeepsOldPromise,),
    Mutation.PROPOSE_OWN_VALUE: (ProposeOwnValue,),
    Mutation.FIRST_VOTE_NOT_HIGHEST: (FirstVoteNotHighest,),
    Mutation.DOUBLE_COUNT_ACCEPTOR: (DoubleCountAcceptor,),
    Mutation.MIXED_BALLOT_VOTES: (MixedBallotVotes,),
    Mutation.PHASE2_QUORUM_OFF_BY_ONE: (Phase2QuorumOffByOne,),
    Mutation.PHASE1_QUORUM_TOO_SMALL: (Phase1QuorumTooSmall,),
    Mutation.BALLOTS_NOT_UNIQUE: (UnnumberedBallots, PromiseOnEqualBallot),
    Mutation.CATCHUP_SERVES_VOTES: (CatchUpServesVotes,),
    Mutation.SKIP_HOLES: (SkipHoles,),
    Mutation.STEP_DOWN_IGNORED: (StepDownIgnored,),
    Mutation.APPLY_OUT_OF_ORDER: (ApplyOutOfOrder, AppliesOutOfOrder),
    Mutation.CATCHUP_WITHOUT_CHECKSUM: (CatchUpWithoutChecksum,),
    Mutation.SNAPSHOT_DROPS_LAST_APPLIED: (StaleSnapshotHost,),
    Mutation.CATCHUP_ONLY_ON_TRAFFIC: (CatchUpOnlyOnTraffic,),
    Mutation.OWN_REPLY_BEFORE_SYNC: (OwnReplyBeforeSync,),
    Mutation.FAST_QUORUM_TOO_SMALL: (FastQuorumTooSmall,),
    Mutation.FAST_RECOVERY_ANY_VALUE: (RecoveryAnyValue,),
    Mutation.CONFIG_APPLIED_EARLY: (ConfigAppliedEarly,),
    Mutation.CONFIG_QUORUMS_MIXED: (ConfigQuorumsMixed,),
    Mutation.CHEAP_AUX_VOTES_COMMANDS: (CheapAuxVotesCommands, CheapAuxAcceptsCommands),
    Mutation.CHEAP_RETIRE_KEEPS_AUXILIARIES: (CheapRetireKeepsAuxiliaries,),
}
"""Every catalogued bug: the override classes that inject it."""

C = TypeVar("C")


def compose(base: type[C], mutations: Iterable[Mutation]) -> type[C]:
    """`base` with the overrides of `mutations` that subclass it (itself when there are none)."""
    parts = [
        cls for m in sorted(set(mutations), key=lambda m: m.value) for cls in OVERRIDES[m] if issubclass(cls, base)
    ]
    parts = list(dict.fromkeys(parts))
    if not parts:
        return base
    if len(parts) == 1:
        return parts[0]
    return cast(type[C], type("+".join(cls.__name__ for cls in parts), tuple(parts), {}))


def core_class(mutations: Iterable[Mutation], base: type[Replica] = Replica) -> type[Replica]:
    """The replica core `base` (a variant's, e.g. `impl.fast.replica.FastReplica`) carrying `mutations`: its
    roles and replica-level overrides swapped in."""
    mutations = frozenset(mutations)
    replica = compose(base, mutations)
    plain = (base.acceptor_class, base.proposer_class, base.learner_class)
    acceptor, proposer, learner = (compose(role, mutations) for role in plain)
    if (acceptor, proposer, learner) == plain:
        return replica
    roles = {"acceptor_class": acceptor, "proposer_class": proposer, "learner_class": learner}
    return type(f"Mutant{replica.__name__}", (replica,), roles)


def host_class(mutations: Iterable[Mutation]) -> type[Host]:
    return compose(Host, mutations)
