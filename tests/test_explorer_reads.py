"""Each invariant's declared read set is all it reads: states that agree on it get the same verdict."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from paxiom.explorer import explore
from paxiom.explorer.reads import READS, STEP_READS, Invariants, Reads, Steps
from paxiom.spec import paxos
from paxiom.spec.quorums import QuorumSystem
from paxiom.variants import build_model

MODELS = [
    ("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1}),
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]}),
    ("multipaxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1, "slots": 2}),
]


def states_of(m: Any, limit: int) -> list[Any]:
    seen, frontier = set(m.init()), list(m.init())
    while frontier and len(seen) < limit:
        frontier = [t for s in frontier for _, t in m.next(s) if not (t in seen or seen.add(t))]
    return sorted(seen, key=repr)


def graft(s: Any, other: Any, reads: Any) -> Any:
    """`other`, but with everything `reads` names taken from `s`."""
    msgs = {m for m in other.msgs if m.type not in reads.messages} | {m for m in s.msgs if m.type in reads.messages}
    return other._replace(msgs=frozenset(msgs), **{f: getattr(s, f) for f in reads.fields})


@pytest.mark.parametrize(("variant", "qs", "constants"), MODELS)
def test_a_verdict_depends_only_on_what_the_invariant_reads(variant: str, qs: QuorumSystem, constants: Any) -> None:
    """Unsafe quorums, so the invariants do fail; a state's read part grafted onto another's rest (a state
    no run need reach) keeps the verdict and its reason."""
    m = build_model(variant, qs, values=["v1", "v2"], **constants)
    states, rng = states_of(m, 4000), random.Random(15)
    checked = failed = 0
    for name, f in zip(m.invariants, m.state_checks, strict=True):
        reads = READS.get(f)
        if reads is None:
            continue
        for s in rng.sample(states, 400):
            verdict = f(m.cfg, s)
            failed += verdict is not None
            for other in rng.sample(states, 3):
                assert f(m.cfg, graft(s, other, reads)) == verdict, (name, s, other)
                checked += 1
    assert checked > 1000 and failed > 0


def test_a_wrong_read_set_would_be_caught() -> None:
    """The graft test has teeth: agreement claimed to read only the proposals gives other verdicts."""
    m = build_model("paxos", QuorumSystem.flexible(3, 1, 2), values=["v1", "v2"], max_ballot=1)
    violation = explore(m, only=["agreement"]).violation
    assert violation is not None
    bad, wrong = violation.trace[-1].state, Reads((), frozenset({"2a"}))
    assert paxos.agreement(m.cfg, graft(bad, m.init()[0], READS[paxos.agreement])) is not None
    assert paxos.agreement(m.cfg, graft(bad, m.init()[0], wrong)) is None


def test_memoised_verdicts_are_the_spec_functions_verdicts() -> None:
    m = build_model("paxos", QuorumSystem.flexible(3, 1, 2), values=["v1", "v2"], max_ballot=1)
    invariants, states = Invariants(list(m.invariants.items())), states_of(m, 4000)
    for s in states:
        expected = next(((n, r) for n, f in m.invariants.items() if (r := f(s)) is not None), None)
        assert invariants.broken(s) == expected
    views = Counter(key[0] for key in invariants.memo)  # per memoised invariant, the views it judged
    assert len(views) == len(READS.keys() & set(m.state_checks))
    assert all(0 < n < len(states) for n in views.values())


def steps_of(m: Any, states: list[Any]) -> list[tuple[Any, Any]]:
    return [(s, t) for s in states for _, t in m.next(s) if t != s]


@pytest.mark.parametrize(("variant", "qs", "constants"), MODELS)
def test_a_step_verdict_depends_only_on_the_fields_it_reads(variant: str, qs: QuorumSystem, constants: Any) -> None:
    """Each `STEP_READS` entry: a step's read fields, before and after, grafted onto two other states keep
    the verdict; and a step that lowers a promise (no run takes one) is judged from those fields too."""
    m = build_model(variant, qs, values=["v1", "v2"], **constants)
    states, rng = states_of(m, 2000), random.Random(15)
    steps = rng.sample(steps_of(m, states), 300)
    lowered = [(t, s) for s, t in steps if s.max_bal != t.max_bal]  # backwards: a promise goes down
    checked = failed = 0
    for f in STEP_READS.keys() & set(m.step_checks.values()):
        fields = STEP_READS[f]
        for s, t in steps + lowered:
            verdict = f(m.cfg, s, t)
            failed += verdict is not None
            for a, b in zip(rng.sample(states, 3), rng.sample(states, 3), strict=True):
                grafted = (
                    a._replace(**{x: getattr(s, x) for x in fields}),
                    b._replace(**{x: getattr(t, x) for x in fields}),
                )
                assert f(m.cfg, *grafted) == verdict, (s, t, a, b)
                checked += 1
    assert checked > 1000 and failed > 0


def test_memoised_step_verdicts_are_the_spec_functions_verdicts() -> None:
    m = build_model("multipaxos", QuorumSystem.flexible(3, 1, 2), values=["v1", "v2"], max_ballot=1, slots=2)
    steps = steps_of(m, states_of(m, 2000))
    pairs = steps + [(t, s) for s, t in steps]  # and every step backwards, promises going down
    checks = list(m.step_invariants.items())
    judged = Steps(checks)
    for s, t in pairs:
        assert judged.broken(s, t) == next(((n, r) for n, f in checks if (r := f(s, t)) is not None), None)
    assert 0 < len(judged.memo) < len(pairs) / 10


def test_unregistered_invariants_are_checked_in_full() -> None:
    """A model overriding an invariant with its own function gets no memo for it."""
    m = build_model("paxos", QuorumSystem.majority(3), values=["v1", "v2"], max_ballot=0)
    calls = []

    def counting(cfg: Any, s: Any) -> str | None:
        calls.append(s)
        return None

    class Counted(type(m)):  # type: ignore[misc]
        state_checks = (counting,)

    result = explore(Counted(m.cfg))
    assert len(calls) == result.distinct_states
