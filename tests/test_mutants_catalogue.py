"""The oracle has teeth: every catalogued bug is caught within the default budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paxiom.impl.acceptor import Acceptor
from paxiom.impl.cheap.replica import CheapProposer, CheapReplica
from paxiom.impl.fast.replica import FastProposer, FastReplica
from paxiom.impl.host import Host
from paxiom.impl.learner import Learner
from paxiom.impl.mutants import MUTANTS, Mutation
from paxiom.impl.proposer import Proposer
from paxiom.impl.replica import Replica
from paxiom.impl.sim.hunt import UNIFORM, hunt
from paxiom.impl.sim.mutants import (
    OVERRIDES,
    AppliesOutOfOrder,
    ApplyOutOfOrder,
    PromiseOmitsVotes,
    SkipHoles,
    StaleSnapshotHost,
    core_class,
    host_class,
)
from paxiom.impl.sim.runner import replay
from paxiom.impl.sim.shrink import shrink

ROLES = {"acceptor", "proposer", "learner", "replication", "fast", "reconfiguration"}


FAMILIES = {
    "acceptor": (Acceptor,),
    "proposer": (Proposer,),
    "learner": (Proposer,),
    "replication": (Learner, Replica, Host),
    "fast": (FastProposer, FastReplica),
    "reconfiguration": (Proposer,),
}
"""Where each role's bugs live ("learner" bugs are in the leader's tally of votes, a Proposer's)."""
PRODUCTION = (FastProposer, FastReplica, CheapProposer, CheapReplica, Acceptor, Proposer, Learner, Replica, Host)
"""Most derived first: a fast or cheap mutant overrides a rule of its variant's core."""


def test_catalogue_is_documented_and_every_mutant_overrides_a_named_spot() -> None:
    assert len(MUTANTS) >= 15
    assert {m.mutation for m in MUTANTS.values()} == set(Mutation) == set(OVERRIDES)
    descriptions = [info.description for info in MUTANTS.values()]
    assert len(set(descriptions)) == len(descriptions)
    docs = (Path(__file__).parent.parent / "docs" / "simulation.md").read_text()
    for name, info in MUTANTS.items():
        assert name == info.mutation.value and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name)
        assert info.role in ROLES and len(info.description) > 40 and info.description.endswith(".")
        overrides = OVERRIDES[info.mutation]
        assert any(issubclass(cls, FAMILIES[info.role]) for cls in overrides), f"{name}: no {info.role} override"
        for cls in overrides:
            base = next(b for b in PRODUCTION if issubclass(cls, b))
            hooks = [
                attr for attr, v in vars(cls).items() if callable(v) and attr != "__init__" and hasattr(base, attr)
            ]
            assert hooks, f"{name}: {cls.__name__} overrides no method of {base.__name__}"
    assert "paxiom sim --list-mutants" in docs


def test_mutant_cores_compose_and_production_stays_plain() -> None:
    assert core_class(()) is Replica and host_class(()) is Host
    both = core_class({Mutation.PROMISE_OMITS_VOTES, Mutation.SKIP_HOLES, Mutation.APPLY_OUT_OF_ORDER})
    assert issubclass(both.acceptor_class, PromiseOmitsVotes) and issubclass(both.proposer_class, SkipHoles)
    assert issubclass(both.learner_class, ApplyOutOfOrder) and issubclass(both, AppliesOutOfOrder)
    assert host_class({Mutation.SNAPSHOT_DROPS_LAST_APPLIED}) is StaleSnapshotHost


@pytest.mark.parametrize("name", list(MUTANTS))
def test_oracle_catches_mutant(name: str) -> None:
    found = hunt(MUTANTS[name], shrink_seconds=0)
    assert found.found is not None, f"{name} survived {found.runs} runs"
    assert found.found.objection is not None
    # the refinement oracle caught it, not the core stopping itself on a local invariant
    assert found.found.objection.check not in ("local-invariant", "replica-failed"), str(found.found.objection)


def test_shrinking_keeps_the_failure_and_cuts_the_schedule() -> None:
    # a uniform hunt's schedule, 475 steps (the default hunt's biased first run objects within 50)
    found = hunt(MUTANTS["phase1-quorum-too-small"], shrink_seconds=0, schedules=(UNIFORM,)).found
    assert found is not None and found.objection is not None
    # a budget in replays, not seconds, so the result does not depend on how loaded the machine is (about
    # 220 replays shrink it all the way; the first quarter-length schedule comes after about 65)
    shrunk = shrink(found.settings, found, seconds=600, replays=400)
    assert shrunk.objection is not None
    assert shrunk.objection.check.split("(")[0] == found.objection.check.split("(")[0] == "Phase2a"
    assert len(shrunk.steps) < len(found.steps) / 4
    assert len(shrink(found.settings, found, seconds=600, replays=2).steps) > len(shrunk.steps)  # the bound holds
    again = replay(shrunk.settings, shrunk.steps)
    assert again.objection is not None and again.objection.check == shrunk.objection.check
