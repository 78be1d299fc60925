"""Cheap Paxos (Lamport and Massa, 2004): reconfiguration through the log (`spec/reconfig.py`) whose
configurations have main and auxiliary acceptors, and whose configuration commands retire a failed main.

The acceptors are a1..aN; the first `mains` of them are the mains, the rest auxiliaries, fewer than the
mains. Configuration 0 has every acceptor; its quorums are the sets of as many acceptors as there are
mains: all the mains (the cheap normal case), or the mains but k plus k auxiliaries (a main has failed).
Configuration k (k = 1..mains) is the one `cfgk` switches to: main k retired, the other mains kept, and of
the auxiliaries only as many as stay fewer than the remaining mains, with quorums built the same way. With
2 mains and 1 auxiliary: configuration 0 is any 2 of a1, a2, a3; `cfg1` leaves a2 alone, `cfg2` a1 alone.

Auxiliaries take part only to retire a main: they promise (phase 1) like anyone, but an auxiliary of a
slot's configuration votes (phase 2) only for a `cfgk` command (`Config.may_vote`, checked by the
invariant `aux_votes_retire`). So ordinary commands are chosen by the mains alone, and an auxiliary's log
holds nothing but retirement commands. The restriction costs liveness, not safety: a slot in which a
surviving main already voted an ordinary command when the other main failed waits for that main. Everything
else — the α-window, the per-configuration highest-vote rule, the named invariants — is reconfig's.

How this matches the Z3 model `proofs/cheap.py` (`cheap_configurations` and its other axioms):
- `main(N, C)`, `aux(N, C)`: `Config.mains_of[c]` and `members[c] - mains_of[c]`, disjoint;
- "each configuration's mains form a quorum": all the mains are as many as the threshold;
- "its quorums hold only its mains and auxiliaries": quorums are drawn from `members[c]`;
- `config_quorum_intersection`: more than half of a configuration's members make a quorum (the auxiliaries
  are fewer than the mains), checked per configuration as in reconfig;
- `next_conf` / `retires(v, n)`: `cfgk` leads to configuration k, where main k is neither main nor
  auxiliary (absolute, as in reconfig: it holds from any configuration in which main k is a main).
The Z3 model lets auxiliaries vote on anything; the spec's auxiliaries do less, which a safety proof covers.

Two deliberate bugs (`Config.bug`):
- "aux-quorum": a retirement keeps every auxiliary, so after `cfg1` with 2 mains and 1 auxiliary the
  auxiliary alone is a quorum of configuration 1 — its quorums no longer meet, and agreement breaks;
- "aux-commands": auxiliaries vote on ordinary commands too (safe, as the Z3 model shows, but no longer
  Cheap Paxos: only `aux_votes_retire` objects).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paxiom.spec import reconfig
from paxiom.spec.quorums import Explicit, QuorumSystem
from paxiom.spec.reconfig import M2b, State, switched_to

BUGS = ("aux-quorum", "aux-commands")
"""The deliberately unsafe (or no longer cheap) variants, see the module docstring."""


@dataclass(frozen=True)
class Config(reconfig.Config):
    """reconfig's constants, with the configurations derived from how many acceptors are mains (0: a
    majority of them). `quorums` names the acceptors and must be configuration 0 (a majority, when the
    mains are a majority); `new` is left empty and filled in."""

    mains: int = 0
    retirable: int = 0
    """How many mains, the first ones, have a retirement command (0: every main)."""
    mains_of: tuple[frozenset[int], ...] = field(init=False, repr=False)
    bugs: ClassVar[tuple[str, ...]] = BUGS

    def __post_init__(self) -> None:
        nodes = self.quorums.nodes
        k = self.mains or len(nodes) // 2 + 1
        if not 2 <= k <= len(nodes) or len(nodes) - k >= k:
            raise ValueError(f"cheap needs at least 2 mains and fewer auxiliaries than mains, not {k} of {len(nodes)}")
        if self.new:
            raise ValueError("cheap derives its configurations from its mains; give no further ones")
        if not 0 <= self.retirable <= k:
            raise ValueError(f"retirable must be 0..{k} (how many mains have a retirement command)")
        auxiliaries = nodes[k:]
        layouts = [(nodes[:k], auxiliaries)]
        for retired in nodes[: self.retirable or k]:
            kept = tuple(m for m in nodes[:k] if m != retired)
            layouts.append((kept, auxiliaries if self.bug == "aux-quorum" else auxiliaries[: len(kept) - 1]))
        systems = tuple(_config(nodes, m, x) for m, x in layouts)
        if _minimal(self.quorums) != _minimal(systems[0]):
            raise ValueError(f"cheap's quorums follow from its mains: any {k} of its {len(nodes)} acceptors, not these")
        object.__setattr__(self, "mains", k)
        object.__setattr__(self, "retirable", self.retirable or k)
        object.__setattr__(self, "quorums", systems[0])
        object.__setattr__(self, "new", systems[1:])
        object.__setattr__(self, "mains_of", tuple(frozenset(nodes.index(n) for n in m) for m, _ in layouts))
        super().__post_init__()

    def may_vote(self, a: int, conf: int, v: str) -> bool:
        """A main of the configuration votes for anything; an auxiliary only for a retirement (`cfgk`)."""
        if not super().may_vote(a, conf, v):
            return False
        return a in self.mains_of[conf] or switched_to(self, v) is not None or self.bug == "aux-commands"


def _config(nodes: tuple[str, ...], mains: tuple[str, ...], auxiliaries: tuple[str, ...]) -> QuorumSystem:
    """Quorums of as many acceptors as there are mains, drawn from the mains and the auxiliaries."""
    family = Explicit(nodes, itertools.combinations((*mains, *auxiliaries), len(mains)))
    name = f"mains {', '.join(mains)}" + (f"; auxiliaries {', '.join(auxiliaries)}" if auxiliaries else "")
    return QuorumSystem(family, family, name=name)


def _minimal(qs: QuorumSystem) -> tuple[frozenset[int], frozenset[int]]:
    return frozenset(qs.phase1.minimal_quorums), frozenset(qs.phase2.minimal_quorums)


def aux_votes_retire(cfg: Config, s: State) -> str | None:
    """An auxiliary of a vote's configuration votes only for a command that retires a main."""
    for m in sorted(s.msgs, key=str):
        if not isinstance(m, M2b) or not 0 <= m.conf < len(cfg.mains_of):
            continue  # type_ok judges malformed messages
        if m.acc not in cfg.mains_of[m.conf] and switched_to(cfg, m.val) is None:
            return f"auxiliary {cfg.quorums.nodes[m.acc]} voted for the ordinary command {m.val!r} in slot {m.slot}"
    return None


class CheapModel(reconfig.ReconfigModel):
    """Cheap Paxos with fixed constants: reconfig's actions and invariants, plus `aux_votes_retire`."""

    variant = "cheap"
    state_checks = (*reconfig.ReconfigModel.state_checks, aux_votes_retire)

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.cheap = cfg

    def render(self, s: State) -> dict[str, Any]:
        names = self.cheap.quorums.nodes
        return super().render(s) | {"mains": [[names[a] for a in sorted(m)] for m in self.cheap.mains_of]}

    def constants(self) -> dict[str, Any]:
        cfg = self.cheap
        doc: dict[str, Any] = {"values": list(cfg.values), "max_ballot": cfg.max_ballot, "slots": cfg.slots}
        doc |= {"alpha": cfg.alpha, "mains": cfg.mains, "retirable": cfg.retirable}
        return doc | ({"bug": cfg.bug} if cfg.bug else {})
