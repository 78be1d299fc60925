"""The spec variants by name, so a trace file or a command line can rebuild a model from its constants."""

from __future__ import annotations

from typing import Any

from paxiom.spec import cheap, fastpaxos, multipaxos, paxos, reconfig
from paxiom.spec.quorums import QuorumSystem

AnyModel = paxos.PaxosModel | multipaxos.MultiPaxosModel | reconfig.ReconfigModel
VARIANTS = ("paxos", "multipaxos", "fastpaxos", "reconfig", "cheap")
SIMULATED = ("multipaxos", "fastpaxos", "reconfig", "cheap")
"""The variants the implementation runs (`paxiom sim --variant`), each judged by its spec's oracle."""
SERVICE = ("multipaxos", "fastpaxos", "cheap")
"""The variants the service runs as `paxiom node` processes (`paxiom cluster up`, `paxiom campaign --variant`)."""


def build_model(
    variant: str,
    quorums: QuorumSystem,
    *,
    values: list[str] | tuple[str, ...],
    max_ballot: int,
    slots: int = 1,
    fast_ballots: list[int] | tuple[int, ...] | frozenset[int] = (),
    alpha: int = 1,
    configs: list[Any] | tuple[Any, ...] | None = None,
    bug: str | None = None,
    mains: int = 0,
    retirable: int = 0,
    **unknown: Any,
) -> AnyModel:
    """A model of `variant` with the given constants; raises ValueError on anything inconsistent.

    reconfig's `configs` are its configurations after the initial one (`quorums`), as QuorumSystems or as
    `spec.reconfig.config_to_json` documents; None means one: the initial acceptors without the first.
    cheap derives its configurations from `mains` (0: a majority of the acceptors) and `retirable` (how many
    mains have a retirement command; 0: all) and takes no `configs`.
    """
    if unknown:
        raise ValueError(f"unknown constants for {variant}: {sorted(unknown)}")
    vals = tuple(str(v) for v in values)
    if variant == "paxos":
        return paxos.PaxosModel(paxos.Config(quorums, vals, int(max_ballot)))
    if variant == "multipaxos":
        return multipaxos.MultiPaxosModel(multipaxos.Config(quorums, vals, int(max_ballot), slots=int(slots)))
    if variant == "fastpaxos":
        cfg = fastpaxos.Config(quorums, vals, int(max_ballot), fast_ballots=frozenset(int(b) for b in fast_ballots))
        return fastpaxos.FastPaxosModel(cfg)
    if variant == "reconfig":
        new = (
            (reconfig.without(quorums, quorums.nodes[0]),)
            if configs is None
            else tuple(reconfig.config_from_json(quorums.nodes, c) for c in configs)
        )
        rc = reconfig.Config(quorums, vals, int(max_ballot), slots=int(slots), alpha=int(alpha), new=new, bug=bug)
        return reconfig.ReconfigModel(rc)
    if variant == "cheap":
        if configs:
            raise ValueError("cheap derives its configurations from its mains; give no configs")
        cc = cheap.Config(
            quorums,
            vals,
            int(max_ballot),
            slots=int(slots),
            alpha=int(alpha),
            bug=bug,
            mains=int(mains),
            retirable=int(retirable),
        )
        return cheap.CheapModel(cc)
    raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
