"""The mutant catalogue: named bugs real Paxos implementations have shipped, injectable into the core.

Each `Mutation` names one bug; production code carries none of them. Each is an override of the one
small named method of a production class the bug lives in (`paxiom.impl.sim.mutants.OVERRIDES`; two
for the bugs that span two roles), which the simulator swaps in when `ClusterSettings.mutations` asks.
The catalogue exists to prove the refinement oracle has teeth: `paxiom sim --mutant NAME` runs seeded
fault schedules until the oracle objects, and the test suite asserts it always does.

For the conformance suite: `MUTANTS` maps each name to a `MutantInfo` (its description and the role it
breaks: acceptor, proposer, learner or replication); `paxiom.impl.sim.mutants.core_class({Mutation.X})`
builds a core carrying it (its `acceptor_class`, `proposer_class` and `learner_class` are the roles),
and `paxiom.impl.sim.hunt.hunt(MUTANTS[name])` runs the default hunt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Mutation(enum.Enum):
    PROMISE_NOT_PERSISTED = "promise-not-persisted"
    VOTE_NOT_PERSISTED = "vote-not-persisted"
    ACCEPT_BELOW_PROMISE = "accept-below-promise"
    PROMISE_ON_EQUAL_BALLOT = "promise-on-equal-ballot"
    PROMISE_OMITS_VOTES = "promise-omits-votes"
    VOTE_KEEPS_OLD_PROMISE = "vote-keeps-old-promise"
    PROPOSE_OWN_VALUE = "propose-own-value"
    FIRST_VOTE_NOT_HIGHEST = "first-vote-not-highest"
    DOUBLE_COUNT_ACCEPTOR = "double-count-acceptor"
    MIXED_BALLOT_VOTES = "mixed-ballot-votes"
    PHASE2_QUORUM_OFF_BY_ONE = "phase2-quorum-off-by-one"
    PHASE1_QUORUM_TOO_SMALL = "phase1-quorum-too-small"
    BALLOTS_NOT_UNIQUE = "ballots-not-unique"
    CATCHUP_SERVES_VOTES = "catchup-serves-votes"
    SKIP_HOLES = "skip-holes"
    STEP_DOWN_IGNORED = "step-down-ignored"
    APPLY_OUT_OF_ORDER = "apply-out-of-order"
    CATCHUP_WITHOUT_CHECKSUM = "catchup-without-checksum"
    SNAPSHOT_DROPS_LAST_APPLIED = "snapshot-drops-last-applied"
    CATCHUP_ONLY_ON_TRAFFIC = "catchup-only-on-traffic"
    OWN_REPLY_BEFORE_SYNC = "own-reply-before-sync"
    FAST_QUORUM_TOO_SMALL = "fast-quorum-too-small"
    FAST_RECOVERY_ANY_VALUE = "fast-recovery-any-value"
    CONFIG_APPLIED_EARLY = "config-applied-early"
    CONFIG_QUORUMS_MIXED = "config-quorums-mixed"
    CHEAP_AUX_VOTES_COMMANDS = "cheap-aux-votes-commands"
    CHEAP_RETIRE_KEEPS_AUXILIARIES = "cheap-retire-keeps-auxiliaries"


@dataclass(frozen=True)
class MutantInfo:
    mutation: Mutation
    role: str
    """acceptor, proposer, learner or replication: the part of a replica the bug lives in; fast: the fast
    path of the Fast Paxos core (`impl.fast`); reconfiguration: the configuration rules of a reconfiguring
    (or Cheap Paxos) core (`impl.reconfig`), which the single-decree conformance suite has no part for."""
    description: str
    variant: str = "multipaxos"
    """The protocol whose core the bug is injected into (`paxiom.variants.SIMULATED`)."""
    lazy_sync: bool = False
    """The bug shows only on a disk whose syncs lag its writes (`ClusterSettings.lazy_sync`): the hunt
    runs it there."""

    @property
    def name(self) -> str:
        return self.mutation.value


def _info(
    mutation: Mutation, role: str, description: str, variant: str = "", *, lazy_sync: bool = False
) -> tuple[str, MutantInfo]:
    variant = variant or ("fastpaxos" if role == "fast" else "multipaxos")
    return mutation.value, MutantInfo(mutation, role, description, variant, lazy_sync)


MUTANTS: dict[str, MutantInfo] = dict(
    [
        _info(
            Mutation.PROMISE_NOT_PERSISTED,
            "acceptor",
            "The promise is kept in memory only and the Promise reply leaves before it is on disk; after a "
            "crash the acceptor has forgotten it and can join a lower ballot.",
        ),
        _info(
            Mutation.VOTE_NOT_PERSISTED,
            "acceptor",
            "The vote is acknowledged (Accepted) without being written; after a crash it is gone, so a later "
            "Promise under-reports and a chosen value can be overwritten.",
        ),
        _info(
            Mutation.ACCEPT_BELOW_PROMISE,
            "acceptor",
            "Phase 2b ignores the promise: an Accept from a deposed leader's lower ballot is still voted for.",
        ),
        _info(
            Mutation.PROMISE_ON_EQUAL_BALLOT,
            "acceptor",
            "The promise check uses >= where > is needed, so a duplicated Prepare is joined a second time "
            "and its second Promise reports votes cast since the first.",
        ),
        _info(
            Mutation.PROMISE_OMITS_VOTES,
            "acceptor",
            "The Promise reply leaves out the acceptor's earlier votes, so the new leader cannot re-propose them.",
        ),
        _info(
            Mutation.VOTE_KEEPS_OLD_PROMISE,
            "acceptor",
            "Voting at a ballot above the promise does not raise the promise to that ballot, so the acceptor "
            "can later join a ballot between the two.",
        ),
        _info(
            Mutation.PROPOSE_OWN_VALUE,
            "proposer",
            "After phase 1 the new leader proposes its own commands in every slot instead of the highest "
            "vote reported there.",
        ),
        _info(
            Mutation.FIRST_VOTE_NOT_HIGHEST,
            "proposer",
            "The new leader re-proposes the first vote it heard of in each slot, not the one with the highest ballot.",
        ),
        _info(
            Mutation.DOUBLE_COUNT_ACCEPTOR,
            "learner",
            "The leader counts Accepted messages, not distinct acceptors, so a duplicated message fakes a quorum.",
        ),
        _info(
            Mutation.MIXED_BALLOT_VOTES,
            "proposer",
            "Promises and votes are tallied without checking their ballot, so a late Promise or Accepted from "
            "an earlier ballot counts toward the current one: a phase-1 or phase-2 quorum made of answers "
            "to different ballots.",
        ),
        _info(
            Mutation.PHASE2_QUORUM_OFF_BY_ONE,
            "learner",
            "A slot is declared chosen one acceptor short of a phase-2 quorum.",
        ),
        _info(
            Mutation.PHASE1_QUORUM_TOO_SMALL,
            "proposer",
            "The leader completes phase 1 with a quorum one acceptor smaller than configured, too small to "
            "meet every phase-2 quorum (the Flexible Paxos condition |Q1| + |Q2| > n broken).",
        ),
        _info(
            Mutation.BALLOTS_NOT_UNIQUE,
            "proposer",
            "Ballots are plain round numbers with no replica id, and an acceptor answers a Prepare equal to its "
            "promise again (the usual idempotent retransmission, safe only when ballots are unique): two "
            "replicas can both complete phase 1 for one ballot and propose different values in it.",
        ),
        _info(
            Mutation.CATCHUP_SERVES_VOTES,
            "replication",
            "A replica serving catch-up also ships slots it has only voted in, not learned chosen, so the "
            "lagging replica applies values that may never be chosen.",
        ),
        _info(
            Mutation.SKIP_HOLES,
            "proposer",
            "A new leader does not fill slots nobody voted in with no-ops; the log has a hole and nothing "
            "after it is ever applied (caught by the bounded liveness check).",
        ),
        _info(
            Mutation.STEP_DOWN_IGNORED,
            "proposer",
            "A leader that learns of a higher ballot does not step down: it takes that ballot over and keeps "
            "sending Accepts without running phase 1 for it.",
        ),
        _info(
            Mutation.APPLY_OUT_OF_ORDER,
            "replication",
            "Chosen entries are applied as soon as they are learned instead of in slot order.",
        ),
        _info(
            Mutation.CATCHUP_WITHOUT_CHECKSUM,
            "replication",
            "Catch-up replies are applied without verifying their checksum chain, so a corrupted or divergent "
            "log is applied.",
        ),
        _info(
            Mutation.SNAPSHOT_DROPS_LAST_APPLIED,
            "replication",
            "The snapshot is labelled with the last applied slot but taken before that slot was applied; a "
            "replica restored from it silently loses one entry.",
        ),
        _info(
            Mutation.CATCHUP_ONLY_ON_TRAFFIC,
            "replication",
            "A follower asks to catch up only when it has voted in a new slot since it last looked, taking a "
            "heartbeat's commit index alone as no reason to: one that missed decisions (or restarted behind) "
            "stays behind in a quiet cluster until new commands arrive (caught by the quiet-period check; the "
            "final check's resubmissions heal it).",
        ),
        _info(
            Mutation.OWN_REPLY_BEFORE_SYNC,
            "replication",
            "The replica hands its own acceptor's Promise and Accepted back to its proposer at once, as if they "
            "were eager, instead of once their writes are synced: the leader counts its own vote before it is "
            "durable, and a power cut before the sync takes a counted vote away from a chosen value.",
            lazy_sync=True,
        ),
        _info(
            Mutation.FAST_QUORUM_TOO_SMALL,
            "fast",
            "A slot is learned chosen at a fast ballot by one acceptor fewer than a fast quorum, so a value a "
            "collision's recovery may replace is already applied.",
        ),
        _info(
            Mutation.FAST_RECOVERY_ANY_VALUE,
            "fast",
            "Taking over (after a collision, say), the leader re-proposes any value an acceptor reported in the "
            "slot, whatever its ballot, instead of what the recovery rule allows (at a fast ballot, the value all "
            "of some fast quorum's reporting members voted), so it can replace a chosen value.",
        ),
        _info(
            Mutation.CONFIG_APPLIED_EARLY,
            "reconfiguration",
            "A leader uses a new configuration as soon as its switch is committed in slot i, not from slot i + α: "
            "slots the old configuration governs get the new one's members and quorums.",
            "reconfig",
        ),
        _info(
            Mutation.CONFIG_QUORUMS_MIXED,
            "reconfiguration",
            "A leader's phase 1 counts as complete for every slot once its promises hold a phase-1 quorum of any "
            "configuration, old or new, not of the one governing each slot.",
            "reconfig",
        ),
        _info(
            Mutation.CHEAP_AUX_VOTES_COMMANDS,
            "reconfiguration",
            "Cheap Paxos's auxiliary acceptors vote for ordinary commands too, not only for the retirement of a "
            "failed main, and the leader asks them to, so an auxiliary's log holds client commands.",
            "cheap",
        ),
        _info(
            Mutation.CHEAP_RETIRE_KEEPS_AUXILIARIES,
            "reconfiguration",
            "Cheap Paxos's leader retires a failed main to a configuration built by hand that keeps every "
            "auxiliary (spec/cheap.py's aux-quorum bug), whose quorums need not meet: the core refuses it as a "
            "switch, so the auxiliaries vote for an ordinary command.",
            "cheap",
        ),
    ]
)


def variant_of(mutations: Iterable[Mutation]) -> str:
    """The variant whose core `mutations` are bugs of (multipaxos when there are none)."""
    variants = {MUTANTS[m.value].variant for m in mutations}
    if len(variants) > 1:
        raise ValueError(f"mutations of different variants cannot be combined: {sorted(variants)}")
    return variants.pop() if variants else "multipaxos"


def mutant(name: str) -> MutantInfo:
    """Look a mutant up by name; a KeyError lists the catalogue."""
    try:
        return MUTANTS[name]
    except KeyError:
        raise KeyError(f"no mutant {name!r}; the catalogue has: {', '.join(MUTANTS)}") from None
