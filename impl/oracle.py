"""The refinement oracle: every observed step must be a step of the Multi-Paxos spec.

The oracle reads observations (`impl.observe` records), never the replicas' objects, so it judges the
simulator (which feeds it each replica's records per transition, `on_records`) and a real run of
separate processes alike (their merged JSON-lines traces, one record at a time, `feed`; see
`paxiom trace check`). It maps what happened onto `paxiom.spec.multipaxos` and objects — with the spec
action it failed to match and why — unless each transition is one or more spec actions, or a stutter:

* The abstraction: a replica ballot `(round, replica)` is the integer `round * n + replica` (order- and
  uniqueness-preserving); a value is its rendering (`noop` or the list of commands); the spec's `msgs`
  is the history of every protocol message any replica emitted (`Sent`, including those a replica
  delivered to itself); acceptor `a`'s `maxBal`/`maxVBal`/`maxVal` are the promise and votes on `a`'s
  disk, as its `Synced` records wrote them (a promise or vote is reported, to others or to the replica's
  own proposer, only once synced; a 2a may leave first, and the spec's Phase2a asks nothing of the disk).
* The matching: each emitted protocol message is the spec action that sends it (`Prepare` is
  Phase1a(b), `Promise` Phase1b(a, b), `Accept` Phase2a(b, slot, v), `Accepted` Phase2b(a, b, slot, v));
  a message already in `msgs` is a resend (stutter). The action is applied with the spec's own action
  function, which says whether it is enabled; at the end of the transition the acceptor's disk must
  equal the spec's acceptor. Everything else (heartbeats, catch-up, ticks, crashes) must be a stutter.
  A restart must recover everything synced, and nothing that was neither synced nor announced.
* Kills between a sync and its records: the host records each write batch, with every message of its
  Ready that waits for it, in an `Intent` before the storage gets it (`impl.host`; the eager messages and
  the requests a replica delivered to itself are recorded `Sent` before that), so whatever a disk can hold was on
  record first. A synced batch whose `Sent` records stop short (a kill after `Synced`) has its remaining
  messages sent and lost when its transition is judged. At a restart, every recovered vote or promise
  the `Synced` records did not build must be a write of an announced, unsynced intent (else "recovery"
  objects); the intents up to the last one the disk shows reached storage, in order, so their proposals
  (1a, 2a: their loopback copies reached the node's own acceptor) are the spec's Phase1a/Phase2a with
  their network copies lost, and the recovered votes and promise are Phase2b/Phase1b with theirs lost.
  The spec still judges each of those actions enabled, so the leader's recovered vote for its own
  proposal is accepted only if that proposal was one the spec allows.
* The invariants: the spec's named invariants and step invariants (agreement, promise monotonicity —
  across crashes too —, votes_safe, stability, ...) are evaluated after every transition that changed
  the abstract state.
* What clients see (`Applied`, `Restored`): replicas apply entries in slot order, only chosen values, the
  same value per slot everywhere, and a snapshot restored holds exactly the state the chosen prefix gives.

Per-slot projection. A Multi-Paxos state is the product of its slot projections — every projection
shares `maxBal` and the 1a messages, and each 1b contributes its report for that slot — and every action
and invariant of `spec/multipaxos.py` acts slot by slot. The oracle therefore keeps one single-slot spec
state per log slot (created from a template when the slot is first proposed) and runs the spec's own
functions on those, so checking a step costs the same at slot 10 as at slot 10,000. Each slot's value
domain (`Config.values`) is the values proposed there plus one stand-in for every other client value,
because the real domain (all batches of commands) is unbounded.

Ballot frames. A spec action at ballot b reads no 1a or 1b message of another ballot (tests/test_oracle.py
holds every action of every variant to that over a run's projections), so a projection keeps its 1a and 1b
messages by ballot (`SlotView.whole`) and each action runs on its ballot's frame: the acceptors' state, the
slot's 2a and 2b messages, and that ballot's 1a and 1b. Its verdict and the messages it adds are the whole
state's, while a step costs what one ballot holds rather than every election behind it.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from paxiom.impl.ballot import Ballot
from paxiom.impl.kv import KeyValueStore
from paxiom.impl.messages import Accept, Accepted, Envelope, Prepare, Promise, Snapshot, Vote
from paxiom.impl.objection import Objection
from paxiom.impl.observe import INPUTS, Alarm, Applied, Crash, Intent, Record, Restored, Sent, Start, Synced
from paxiom.impl.statemachine import StateMachine
from paxiom.impl.storage import DurableState, SavePromise, SaveSnapshot, SaveVote, Write
from paxiom.impl.values import Value, render_value
from paxiom.spec import multipaxos as mp
from paxiom.spec.model import Action, act
from paxiom.spec.paxos import M1a
from paxiom.spec.quorums import QuorumSystem

if TYPE_CHECKING:
    from paxiom.impl.sim.simulator import Step

OTHER_VALUE = "<some other client value>"
"""Stands for every value nobody proposed in a slot, so the spec's value domain is never exhausted."""
MAX_BALLOT = 2**62

Taken = Callable[[mp.Config, mp.State], mp.State | None]
"""A spec action with its arguments bound, taken in a projection's frame (`SlotView.frame`)."""

Event = tuple[int | None, Taken]
"""A whole-log change at a ballot (None: one that adds no message), replayable on any slot projection."""

WHOLE_LOG = frozenset({"1a", "1b"})
"""The message types of a whole-log change: every projection has them, each 1b with its slot's report."""


class SlotRules(NamedTuple):
    """The spec functions the oracle judges one slot's projection with: `spec/multipaxos.py`'s, or a variant's
    over the same single-slot state shape (`impl.fast.oracle` routes them to `spec/fastpaxos.py`)."""

    phase1a: Callable[[mp.Config, mp.State, int], mp.State | None]
    phase1b: Callable[[mp.Config, mp.State, int, int], mp.State | None]
    phase2a: Callable[[mp.Config, mp.State, int, int, str], mp.State | None]
    phase2b: Callable[[mp.Config, mp.State, int, int, int, str], mp.State | None]
    proposable: Callable[[mp.Config, mp.State, int, int], set[str]]
    chosen: Callable[[mp.Config, mp.State], dict[int, set[str]]]


MULTIPAXOS = SlotRules(mp.phase1a, mp.phase1b, mp.phase2a, mp.phase2b, mp.proposable, mp.chosen)


@dataclass
class SlotView:
    """One slot's projection of the abstract state, with the spec model configured for it."""

    model: mp.MultiPaxosModel
    state: mp.State
    """The acceptors' promises and votes here, with the slot's 2a and 2b messages (a variant's phase-2
    messages too; the template has none): the projection but for its 1a and 1b messages, in `whole`."""
    whole: dict[int, frozenset[mp.Message]]
    """The projection's 1a and 1b messages, by ballot (a table shared while projections agree on it)."""
    synced: int = 0
    """How many whole-log events (`RefinementOracle.events`) this projection has absorbed."""
    judged: tuple[int, ...] | None = None
    """The promises (maxBal) when the invariants last held here (None: never judged). A new slot's
    projection starts as the template's state and inherits what the template's judging covered."""
    fresh: frozenset[mp.Message] = frozenset()
    """The 1a and 1b messages added since the invariants last held: what is chosen, and every invariant but
    `type_ok` and `promise_monotonicity`, reads only the phase-2 messages, so these and those are judged."""
    chosen: tuple[frozenset[mp.Message], mp.MultiPaxosModel, frozenset[str]] | None = None
    """The values chosen here, with the `phase2` and model they were computed for: five replicas apply
    each slot and ask the same question of the same messages."""

    @property
    def cfg(self) -> mp.Config:
        return self.model.cfg

    @property
    def phase2(self) -> frozenset[mp.Message]:
        return self.state.msgs

    def frame(self, b: int | None) -> mp.State:
        """`state` with ballot b's 1a and 1b messages: where a spec action at ballot b is taken."""
        whole = None if b is None else self.whole.get(b)
        return self.state if whole is None else self.with_msgs(self.state.msgs | whole)

    def whole_state(self) -> mp.State:
        """The projection with every message, for the rare judgement that reads them all."""
        return self.with_msgs(self.state.msgs.union(*self.whole.values()))

    def with_msgs(self, msgs: frozenset[mp.Message]) -> mp.State:
        """`state` with other messages (built directly: `_replace` costs twice as much)."""
        s = self.state
        return mp.LogState(s.max_bal, s.max_vbal, s.max_val, msgs)

    def apply(self, b: int | None, step: Taken) -> bool:
        """Take a spec action at ballot b in its frame; False, and nothing changed, if it is not enabled."""
        frame = self.frame(b)
        after = step(self.cfg, frame)
        if after is None:
            return False
        self._become(frame, after)
        return True

    def _become(self, frame: mp.State, after: mp.State) -> None:
        """Become the successor an action computed in `frame` (the messages it added sorted by type)."""
        added = after.msgs - frame.msgs
        whole = frozenset([m for m in added if m.type in WHOLE_LOG]) if added else added
        if whole:
            table = dict(self.whole)  # replaced, never changed in place: new projections share the template's
            for m in whole:
                table[m.bal] = table.get(m.bal, frozenset()) | {m}
            self.whole = table
            if self.judged is not None:
                self.fresh |= whole
        phase2 = self.state.msgs | (added - whole) if len(added) > len(whole) else self.state.msgs
        self.state = mp.LogState(after.max_bal, after.max_vbal, after.max_val, phase2)


class RefinementOracle:
    rules: ClassVar[SlotRules] = MULTIPAXOS
    spec_name: ClassVar[str] = "multipaxos"
    """The spec module (`spec/<spec_name>.py`) its verdicts are stated against, for reports."""

    def __init__(
        self,
        quorums: QuorumSystem,
        invariants: bool = True,
        reference: Callable[[], StateMachine] | None = KeyValueStore,
    ) -> None:
        """`invariants=False` skips the spec's invariants (never the matching of actions): the shrinker
        uses it to replay faster while hunting a failure that is not an invariant's. Restored snapshots are
        compared with a fresh `reference()` state machine replaying the chosen log (the nodes' own state
        machine: the simulator's `KeyValueStore` by default, the service's session KV for its traces);
        None skips that comparison (a run of a state machine the caller cannot rebuild)."""
        self.invariants = invariants
        self.quorums = quorums
        self.n = quorums.n
        self.names = self.quorums.nodes
        self.template = SlotView(
            self._model((OTHER_VALUE,)),
            mp.State((-1,) * self.n, ((-1,),) * self.n, ((None,),) * self.n, frozenset()),
            {},
        )
        self.slots: dict[int, SlotView] = {}
        self.slot_order: list[int] = []
        """The keys of `slots`, sorted."""
        self.events: list[Event] = []
        """Every whole-log change (1a, 1b, a promise raised by a vote), in order; slot projections absorb
        them lazily, when next touched, so an election costs the same however long the log is."""
        self.voted_by: list[set[int]] = [set() for _ in range(self.n)]
        self.reports: dict[tuple[int, int], tuple[Vote, ...]] = {}
        self.durable = [DurableState() for _ in range(self.n)]
        """Each acceptor's state as its `Synced` records built it: what the spec's acceptor maps to."""
        self.started = [False] * self.n
        self.announced: list[deque[Intent]] = [deque() for _ in range(self.n)]
        """Each node's intents whose `Synced` has not been recorded yet, oldest first."""
        self.due: list[deque[Envelope]] = [deque() for _ in range(self.n)]
        """The messages of each node's last synced batch not yet recorded `Sent`."""
        self.dirty: set[int] = set()
        """Acceptors whose state may have moved since it was last compared with the spec's."""
        self.moved: list[set[int] | None] = [set() for _ in range(self.n)]
        """Per acceptor, the slots whose vote moved on its disk or in the spec since they were last compared
        (None: every slot, after a restart or a snapshot): the rest still agree, so the comparison costs
        what changed rather than the log's length."""
        self.last_applied = [-1] * self.n
        self.first_applied: dict[int, Value] = {}
        self.reference = reference() if reference is not None else None
        self.reference_states: dict[int, bytes] = {-1: self.reference.snapshot()} if self.reference else {}
        self.reference_last = -1
        self.acknowledged: dict[int, Value] = {}
        self.step = 0
        self.transitions = 0
        self.actions_matched = 0
        self._matched: list[Action] = []
        self._last_matched: tuple[object, int] = (None, -1)
        """The protocol message `_match` last judged, and its sender."""
        self._before: dict[int, mp.State] = {}
        """Each projection this transition moved (-1: the template): its `state` before."""

    # ------------------------------------------------------------------ feeding observations

    def on_records(self, replica: int, records: list[Record]) -> None:
        """One transition of the simulator: what one replica's host observed for one input (or a crash)."""
        self._begin()
        for record in records:
            self._feed(record)
        self._settle()

    def feed(self, record: Record) -> None:
        """One record of a merged multi-process trace, in causal order. A node's transition ends when its
        next input (or write batch) arrives: its acceptor state is compared with the spec's then."""
        if self.ends_transition(record):
            self.end_transition()
        self._feed(record)

    def ends_transition(self, record: Record) -> bool:
        """Whether `feed(record)` first judges the transitions fed so far (an objection then is theirs)."""
        return record.node in self.dirty and not isinstance(record, Sent | Applied | Restored | Alarm | Intent)

    def end_transition(self) -> None:
        self._settle()
        self._begin()

    def finish(self) -> None:
        """The end of an offline trace: settle what is pending, and check acknowledged entries."""
        self._settle()
        self.final_check()

    def end_step(self, index: int, step: Step) -> None:
        self.step = index + 1

    def _feed(self, record: Record) -> None:
        node = record.node
        if not 0 <= node < self.n:
            raise self._object("trace", f"a record of node {node}, outside 0..{self.n - 1}")
        if isinstance(record, INPUTS):
            return
        match record:  # the commonest first: most records of a transition are messages it sent
            case Sent(envelope=envelope):
                if envelope.src != node:
                    raise self._object("trace", f"{self.names[node]} recorded sending a message from {envelope.src}")
                self._match(envelope)
                due = self.due[node]
                if due and due[0] == envelope:
                    due.popleft()
                self.dirty.add(node)
            case Intent():
                self.announced[node].append(record)
            case Synced(writes=writes):
                self._synced(node, writes)
                for write in writes:
                    self.durable[node].persist(write)
                    self._moved(node, write)
                self.dirty.add(node)
            case Applied():
                self._check_applied(node, record)
            case Start(recovered=recovered):
                self._restart(node, recovered)
            case Restored(snapshot=snapshot):
                self._check_restored(node, snapshot)
            case Crash():
                self.dirty.add(node)
            case _:
                pass

    def _settle(self) -> None:
        """Compare every acceptor that moved with the spec's, then run the invariants on what changed."""
        if self.dirty:
            dirty = sorted(self.dirty)
            for a in dirty:
                self._lost(a)
            for a in dirty:
                self._check_acceptor(a)
            self.dirty.clear()
        if self.invariants and self._before:
            self._check_invariants()

    def _synced(self, a: int, writes: tuple[Write, ...]) -> None:
        """A batch became durable: its intent's messages are due now (traces without intents have none)."""
        self._lost(a)
        announced = self.announced[a]
        if not announced:
            return
        if announced[0].writes != writes:
            raise self._object("trace", f"{self.names[a]} synced writes other than its next intent announced")
        self.due[a] = deque(announced.popleft().emitted)

    def _moved(self, a: int, write: Write) -> None:
        """Note what a synced write moved on `a`'s disk (`moved`)."""
        moved = self.moved[a]
        if isinstance(write, SaveSnapshot):
            self.moved[a] = None
        elif isinstance(write, SaveVote) and moved is not None:
            moved.add(write.vote.slot)

    def _lost(self, a: int) -> None:
        """The synced batch's messages never recorded sent (a kill in between): sent, then lost."""
        due = self.due[a]
        while due:
            self._match(due.popleft())

    def _restart(self, a: int, recovered: tuple[Write, ...]) -> None:
        """A (re)start: the disk must hold everything the node synced, and nothing it neither synced nor
        announced. Durable writes whose messages never left (a crash between sync and send, or between
        sync and the records of it) are the spec's actions with their messages lost."""
        self._lost(a)
        state = DurableState()
        for write in recovered:
            state.persist(write)
        before, name = self.durable[a], self.names[a]
        if self.started[a]:
            if state.promise < before.promise:
                raise self._object(
                    "promise_monotonicity",
                    f"{name} restarted with promise {state.promise}, below the {before.promise} it had synced",
                )
            floor = state.snapshot.last_slot + 1 if state.snapshot else 0
            for slot, vote in before.votes.items():
                if slot >= floor and (slot not in state.votes or state.votes[slot].ballot < vote.ballot):
                    raise self._object("recovery", f"{name} restarted without its synced vote in slot {slot}")
        self._recover_intents(a, before, state)
        for slot, vote in sorted(state.votes.items()):
            if before.votes.get(slot) != vote:
                self._phase2b(a, self.ballot(vote.ballot), slot, render_value(vote.value))
        b = self.ballot(state.promise)
        if b > self.template.state.max_bal[a]:
            self._phase1b_unannounced(a, b)
        self.durable[a] = state
        self.moved[a] = None
        self.started[a] = True
        self.last_applied[a] = -1
        self.dirty.add(a)

    def _recover_intents(self, a: int, before: DurableState, state: DurableState) -> None:
        """Match what the disk holds beyond the synced records with the node's unsynced intents: every new
        vote or promise must be one of their writes; the proposals of the intents up to the last one the
        disk shows are Phase1a/Phase2a, their messages lost (`RefinementOracle`, the kills)."""
        announced, name = self.announced[a], self.names[a]
        wrote: dict[Write, int] = {}
        for i, intent in enumerate(announced):
            for write in intent.writes:
                if isinstance(write, SaveVote | SavePromise):
                    wrote[write] = i
        reached = -1
        for slot, vote in sorted(state.votes.items()):
            if before.votes.get(slot) == vote or self._cast(a, vote):
                continue
            at = wrote.get(SaveVote(vote))
            if at is None:
                raise self._object(
                    "recovery", f"{name} restarted with a vote in slot {slot} it neither synced nor announced"
                )
            reached = max(reached, at)
        if self.ballot(state.promise) > max(self.ballot(before.promise), self.template.state.max_bal[a]):
            at = wrote.get(SavePromise(state.promise))
            if at is None:
                raise self._object(
                    "recovery", f"{name} restarted with promise {state.promise}, which it neither synced nor announced"
                )
            reached = max(reached, at)
        for intent in list(announced)[: reached + 1]:
            for envelope in intent.emitted:
                if isinstance(envelope.msg, Prepare | Accept):
                    self._match(envelope)
        announced.clear()

    def _cast(self, a: int, vote: Vote) -> bool:
        """Whether the spec already has this vote of `a` (recovered again from an older snapshot's log)."""
        view = self.slots.get(vote.slot)
        m2b = mp.M2b(a, self.ballot(vote.ballot), 0, render_value(vote.value))
        return view is not None and m2b in view.phase2

    def final_check(self) -> None:
        """Every acknowledged entry is still chosen at the end of the run."""
        for slot, value in sorted(self.acknowledged.items()):
            if render_value(value) not in self._chosen(slot):
                raise Objection(
                    "acknowledged-stays-chosen",
                    f"slot {slot}: acknowledged {render_value(value)} is no longer chosen",
                    self.step,
                )

    # ------------------------------------------------------------------ abstraction

    def ballot(self, ballot: Ballot) -> int:
        return ballot.to_int(self.n)

    def _model(self, values: tuple[str, ...], quorums: QuorumSystem | None = None) -> mp.MultiPaxosModel:
        """A slot's spec model over `values`, with `quorums` (the slot's configuration; default the cluster's)."""
        return mp.MultiPaxosModel(mp.Config(quorums or self.quorums, values, MAX_BALLOT, slots=1))

    def _view(self, slot: int, value: str | None = None) -> SlotView:
        """The slot's projection, brought up to date with every whole-log event (created from the template
        when first needed); `value` joins its value domain."""
        view = self.slots.get(slot)
        if view is None:
            template = self.template
            view = self.slots[slot] = SlotView(
                template.model,
                template.state,
                template.whole,
                len(self.events),
                judged=template.judged,
                fresh=template.fresh,
            )
            bisect.insort(self.slot_order, slot)
        for b, step in self.events[view.synced :]:
            absorbed = view.apply(b, step)
            assert absorbed, "a whole-log action enabled in the template but not in a slot"
        view.synced = len(self.events)
        if value is not None and value not in view.cfg.values:
            view.model = self._model((value, *view.cfg.values), view.cfg.quorums)
        return view

    def _chosen(self, slot: int) -> frozenset[str]:
        view = self.slots.get(slot)
        if view is None:
            return frozenset()
        if view.chosen is None or view.chosen[0] is not view.phase2 or view.chosen[1] is not view.model:
            values = self.rules.chosen(view.cfg, view.state).get(0, set())
            view.chosen = (view.phase2, view.model, frozenset(values))
        return view.chosen[2]

    # ------------------------------------------------------------------ matching steps to spec actions

    def _begin(self) -> None:
        self.transitions += 1
        if self._matched:
            self._matched = []
        self._before.clear()

    def _object(self, check: str, reason: str) -> Objection:
        return Objection(check, reason, self.step, tuple(self._matched))

    def _take(self, slot: int, view: SlotView, b: int | None, step: Taken) -> bool:
        """Take a spec action at ballot b in a projection (slot -1: the template), noting its state before
        for the step invariants; False if not enabled."""
        before = view.state
        if not view.apply(b, step):
            return False
        self._before.setdefault(slot, before)
        return True

    def _prepared(self, b: int) -> bool:
        """Whether some replica sent a 1a for ballot b."""
        return M1a(b) in self.template.whole.get(b, frozenset())

    def _match(self, envelope: Envelope) -> None:
        msg, a = envelope.msg, envelope.src
        if msg is self._last_matched[0] and a == self._last_matched[1]:
            return  # the message just judged, sent on to another acceptor: a resend, as below
        match msg:
            case Prepare(ballot):
                b = self.ballot(ballot)
                if not self._prepared(b):
                    self._phase1a(b)
            case Promise(ballot):
                if self.reports.get((a, self.ballot(ballot))) != msg.votes:
                    self._phase1b(a, msg)
            case Accept(ballot, slot, value):
                self._phase2a(self.ballot(ballot), slot, render_value(value))
            case Accepted(ballot, slot, value):
                self._phase2b(a, self.ballot(ballot), slot, render_value(value))
            case _:
                pass
        self._last_matched = (msg, a)

    def _whole_log(self, action: Action, b: int, step: Taken) -> None:
        """A Phase1a or Phase1b: applied to the template now, to each slot projection when next touched."""
        taken = self._take(-1, self.template, b, step)
        assert taken
        self.events.append((b, step))
        self._matched.append(action)
        self.actions_matched += 1

    def _phase1a(self, b: int) -> None:
        self._whole_log(act("Phase1a", b=b), b, lambda cfg, s: self.rules.phase1a(cfg, s, b))

    def _phase1b_step(self, a: int, b: int) -> Taken:
        return lambda cfg, s: self.rules.phase1b(cfg, s, a, b)

    def _phase1b(self, a: int, promise: Promise) -> None:
        b, name = self.ballot(promise.ballot), self.names[a]
        action = act("Phase1b", a=name, b=b)
        if self.rules.phase1b(self.template.cfg, self.template.frame(b), a, b) is None:
            why = (
                f"no 1a for ballot {b} was ever sent"
                if not self._prepared(b)
                else f"ballot {b} is not above maxBal[{name}] = {self.template.state.max_bal[a]}"
            )
            raise self._object(str(action), f"not enabled: {why}")
        reported = {vote.slot: vote for vote in promise.votes}
        for slot in reported:
            if slot not in self.slots:
                raise self._object(
                    str(action), f"the promise reports a vote in slot {slot}, where nothing was ever proposed"
                )
        # Phase1b leaves votes alone, so each projection's votes are current without absorbing events.
        for slot in self.slot_order[bisect.bisect_left(self.slot_order, promise.first_slot) :]:
            view = self.slots[slot]
            spec_vote = (view.state.max_vbal[a][0], view.state.max_val[a][0])
            got = reported.get(slot)
            mine = (self.ballot(got.ballot), render_value(got.value)) if got else (-1, None)
            if mine != spec_vote:
                raise self._object(
                    str(action),
                    f"the spec's 1b reports (maxVBal, maxVal) = {spec_vote} in slot "
                    f"{slot}, the replica's promise reports {mine}",
                )
        self._whole_log(action, b, self._phase1b_step(a, b))
        self.reports[a, b] = promise.votes

    def _phase1b_unannounced(self, a: int, b: int) -> None:
        """A promise found on disk at a restart, whose Promise never left: Phase1b, its 1b lost."""
        action = act("Phase1b", a=self.names[a], b=b)
        if self.rules.phase1b(self.template.cfg, self.template.frame(b), a, b) is None:
            raise self._object(
                str(action), f"not enabled: {self.names[a]} recovered promise {b}, which no 1a asked for"
            )
        self._whole_log(action, b, self._phase1b_step(a, b))

    def _phase2a(self, b: int, slot: int, v: str) -> None:
        proposal = mp.M2a(b, 0, v)
        if (known := self.slots.get(slot)) is not None and proposal in known.phase2:
            return  # the same 2a to another acceptor: nothing to judge, and the slot catches up when next judged
        view = self._view(slot, v)
        action = act("Phase2a", b=b, slot=slot, v=v)
        if not self._take(slot, view, b, lambda cfg, s: self.rules.phase2a(cfg, s, b, 0, v)):
            raise self._object(str(action), f"not enabled: {self._why_not_2a(view, b, v)}")
        self._matched.append(action)
        self.actions_matched += 1

    def _why_not_2a(self, view: SlotView, b: int, v: str) -> str:
        frame = view.frame(b)
        earlier = sorted(m.val for m in frame.msgs if m.type == "2a" and m.bal == b)  # type: ignore[union-attr]
        if earlier:
            return f"ballot {b} already proposed {earlier[0]!r} in this slot (one value per ballot and slot)"
        promised = sorted(m.acc for m in frame.msgs if m.type == "1b" and m.bal == b)  # type: ignore[union-attr]
        allowed = self.rules.proposable(view.cfg, frame, b, 0)
        if not allowed:
            if not promised:
                return f"no acceptor promised ballot {b}"
            names = ", ".join(self.names[x] for x in promised)
            return f"only {names} promised ballot {b}: that is no phase-1 quorum"
        return f"{v!r} is not the highest vote a promised phase-1 quorum reported; allowed: {sorted(allowed)}"

    def _phase2b(self, a: int, b: int, slot: int, v: str) -> None:
        vote = mp.M2b(a, b, 0, v)
        if (known := self.slots.get(slot)) is not None and vote in known.phase2:
            return  # the same 2b to another learner
        view = self._view(slot, v)
        name = self.names[a]
        action = act("Phase2b", a=name, b=b, slot=slot, v=v)
        if not self._take(slot, view, b, lambda cfg, s: self.rules.phase2b(cfg, s, a, b, 0, v)):
            why = (
                f"nobody proposed {v!r} in slot {slot} at ballot {b}"
                if mp.M2a(b, 0, v) not in view.phase2
                else f"ballot {b} is below maxBal[{name}] = {view.state.max_bal[a]}"
            )
            raise self._object(str(action), f"not enabled: {why}")
        self.voted_by[a].add(slot)
        if (moved := self.moved[a]) is not None:
            moved.add(slot)
        promise = view.state.max_bal
        if promise[a] > self.template.state.max_bal[a]:
            # Phase2b raised a's promise for the whole log: every other projection learns it lazily
            event: Event = (None, lambda cfg, s: s._replace(max_bal=promise))
            self._take(-1, self.template, *event)
            self.events.append(event)
            view.synced = len(self.events)
        self._matched.append(action)
        self.actions_matched += 1

    # ------------------------------------------------------------------ acceptor state = spec state

    def _check_acceptor(self, a: int) -> None:
        """`a`'s disk holds the spec's maxBal[a], and the spec's votes of `a` in every slot its snapshot
        has not compacted (those `moved` since the last comparison: the others agreed then, and neither
        side changed them since)."""
        disk = self.durable[a]
        spec_bal = self.template.state.max_bal[a]
        mine = self.ballot(disk.promise)
        moved = self.moved[a]
        if mine == spec_bal and moved is not None and not moved:
            return  # the promise agrees and no vote moved: the rest agreed when last compared
        name = self.names[a]
        what = f"this step of {name}"
        if mine < spec_bal:
            raise self._object(
                "promise_monotonicity",
                f"after {what}, {name}'s disk holds promise {mine}, below the {spec_bal} its messages made "
                f"(maxBal[{name}] would fall from {spec_bal} to {mine}): the promise was not kept",
            )
        if mine != spec_bal:
            raise self._object(
                "refinement",
                f"after {what}, maxBal[{name}] is {mine} but the spec actions it "
                f"matched ({self._listing()}) give {spec_bal}",
            )
        self.moved[a] = set()
        floor = disk.snapshot.last_slot + 1 if disk.snapshot else 0
        if moved is None:
            self.voted_by[a] = {slot for slot in self.voted_by[a] if slot >= floor}
            moved = set(disk.votes) | self.voted_by[a]
        slots = sorted([slot for slot in moved if slot >= floor])
        for slot in slots:
            vote = disk.votes.get(slot)
            if vote is None:
                continue
            view = self.slots.get(slot)
            spec_vote = (view.state.max_vbal[a][0], view.state.max_val[a][0]) if view else (-1, None)
            if (self.ballot(vote.ballot), render_value(vote.value)) != spec_vote:
                raise self._object(
                    "refinement",
                    f"after {what}, {name}'s vote in slot {slot} is "
                    f"({self.ballot(vote.ballot)}, {render_value(vote.value)!r}) but the spec has "
                    f"{spec_vote}",
                )
        for slot in slots:
            if slot in self.voted_by[a] and slot not in disk.votes:
                view = self.slots[slot]
                raise self._object(
                    "refinement",
                    f"after {what}, {name} has no vote in slot {slot} but the spec has "
                    f"({view.state.max_vbal[a][0]}, {view.state.max_val[a][0]!r}): the vote was lost",
                )

    def invariant_names(self) -> set[str]:
        model = self.template.model
        return set(model.invariants) | set(model.step_invariants)

    def _listing(self) -> str:
        return ", ".join(map(str, self._matched)) or "none: a stutter"

    # ------------------------------------------------------------------ invariants

    def _check_invariants(self) -> None:
        for slot, before in self._before.items():
            view = self.template if slot < 0 else self.slots[slot]
            unjudged, model = self._unjudged(view), view.model
            for holds in model.state_checks:  # the spec's functions with the slot's constants (a model's
                if (reason := holds(model.cfg, unjudged)) is not None:  # `invariants` are these, bound)
                    raise self._object(holds.__name__, _where(slot) + reason)
            for name, step_holds in model.step_checks.items():
                if (reason := step_holds(model.cfg, before, view.state)) is not None:
                    raise self._object(name, _where(slot) + reason)
            view.judged, view.fresh = view.state.max_bal, frozenset()

    @staticmethod
    def _unjudged(view: SlotView) -> mp.State:
        """The projection's state with only the messages the invariants have not yet held for, plus its 2a
        and 2b messages: the same verdicts as the whole state, at a cost that does not grow with the
        elections behind it. `type_ok` and `promise_monotonicity` judge each 1a and 1b by itself, against
        constants the oracle's models share (ballots, one slot) and a promise that has not fallen since
        they last held (else the whole state is judged); the other invariants read only the 2a and 2b."""
        state, judged = view.state, view.judged
        if judged is None or any(now < then for now, then in zip(state.max_bal, judged, strict=True)):
            return view.whole_state()
        return view.with_msgs(state.msgs | view.fresh) if view.fresh else state

    # ------------------------------------------------------------------ what clients see

    def _check_applied(self, r: int, applied: Applied) -> None:
        name = self.names[r]
        slot, value = applied.slot, applied.value
        if slot != self.last_applied[r] + 1:
            raise self._object("apply-in-order", f"{name} applied slot {slot} right after slot {self.last_applied[r]}")
        shown = render_value(value)
        chosen = self._chosen(slot)
        if shown not in chosen:
            raise self._object(
                "apply-only-chosen",
                f"{name} applied {shown} at slot {slot}, where the spec has "
                f"{'chosen ' + str(sorted(chosen)) if chosen else 'chosen nothing'}",
            )
        first = self.first_applied.setdefault(slot, value)
        if first != value:
            raise self._object(
                "same-entry-everywhere",
                f"{name} applied {shown} at slot {slot}, another replica applied {render_value(first)}",
            )
        if self.reference is not None and slot == self.reference_last + 1:
            for command in value:
                self.reference.apply(command)
            self.reference_states[slot] = self.reference.snapshot()
            self.reference_last = slot
        self.acknowledged[slot] = value
        self.last_applied[r] = slot

    def _check_restored(self, r: int, snapshot: Snapshot) -> None:
        """The restored state is the one the chosen prefix gives (the reference replays every slot once)."""
        self.last_applied[r] = snapshot.last_slot
        expected = self.reference_states.get(snapshot.last_slot)
        if expected is not None and snapshot.state != expected:
            raise self._object(
                "snapshot-matches-log",
                f"{self.names[r]} restored a snapshot up to slot {snapshot.last_slot} "
                f"and now holds {_state(snapshot.state)} where the chosen log up to slot "
                f"{snapshot.last_slot} gives {_state(expected)}",
            )


def _where(slot: int) -> str:
    """An objection's place: a slot, or nothing for the whole log (the template, slot -1)."""
    return "" if slot < 0 else f"slot {slot}: "


def _state(state: bytes) -> str:
    """A state machine's snapshot for an objection: its text, or (a binary one) its size and first bytes."""
    try:
        return state.decode()
    except UnicodeDecodeError:
        return f"{len(state)} bytes {state[:32].hex()}..."
