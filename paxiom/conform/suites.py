"""The variants the suite judges (named as in `paxiom.variants`), the roles it judges in each, and their worlds."""

from __future__ import annotations

from typing import NamedTuple

from paxiom.conform.fast import FastWorld
from paxiom.conform.multi import MultiWorld
from paxiom.conform.node import ROLES
from paxiom.conform.reconfig import CheapWorld, ConfigWorld
from paxiom.conform.world import BaseWorld, World
from paxiom.errors import PaxiomError


class Suite(NamedTuple):
    world: type[BaseWorld]
    roles: tuple[str, ...]


SUITES: dict[str, Suite] = {
    "paxos": Suite(World, ROLES),
    "multipaxos": Suite(MultiWorld, ("acceptor", "proposer", "learner")),
    "fastpaxos": Suite(FastWorld, ("acceptor", "proposer", "learner")),
    "reconfig": Suite(ConfigWorld, ("acceptor", "proposer", "learner")),
    "cheap": Suite(CheapWorld, ("acceptor", "proposer", "learner")),
}


def suite(variant: str, role: str) -> Suite:
    """The suite for `variant` in `role`; a PaxiomError (usage error) naming what exists otherwise."""
    if variant not in SUITES:
        have = ", ".join(SUITES)
        raise PaxiomError(f"--variant {variant}: the conformance suite judges {have}, not {variant} (yet)")
    found = SUITES[variant]
    if role not in found.roles:
        raise PaxiomError(f"--variant {variant} judges the role(s) {', '.join(found.roles)}, not {role} (yet)")
    return found
