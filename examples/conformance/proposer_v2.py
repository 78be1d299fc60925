#!/usr/bin/env python3
"""A Fast Paxos coordinator (and single-decree proposer), and a Multi-Paxos leader, also reconfiguring
(and running Cheap Paxos), speaking paxiom-conform/1 and /2 on stdin/stdout.

    paxiom conform --variant fastpaxos --role proposer -- python3 examples/conformance/proposer_v2.py
    paxiom conform --variant multipaxos --role proposer -- python3 examples/conformance/proposer_v2.py
    paxiom conform --variant reconfig --role proposer -- python3 examples/conformance/proposer_v2.py

A client's `propose` (or its timer) starts a ballot one round above every round it used or heard of in a
nack; the round is persisted in <data_dir>/proposer.json before the prepare goes out, so a restart never
reuses a ballot. Rounds listed in init's `fast_rounds` are fast. Once a phase-1 quorum has promised, the
coordinator applies the recovery rule (Lamport, "Fast Paxos", 2006) to what those promises report: no vote
leaves it free; one value at the highest reported ballot k forces that value; several (a collision at a
fast k) force the value w that every acceptor of the quorum Q and some fast quorum R reported at k, for
whichever such R exists — the only value a fast quorum may have chosen — and otherwise leave it free. Free
at a fast ballot it sends `any`; otherwise it proposes the forced value or its client's. It decides once a
quorum of the ballot's kind (fast at a fast ballot) voted one value.

The Multi-Paxos leader (`Leader`) runs one phase 1 for the whole log; once a phase-1 quorum has promised
it catches up: in every slot some promise reported a vote for, it proposes the highest one reported there,
and only then gives its clients' values the free slots, lowest first. It decides each slot on a phase-2
quorum of votes there.

The reconfiguring leader (`ConfigLeader`, for reconfig and cheap) fills the slots in order, each under the
configuration that governs it: the one after the last configuration command (init's `commands`) it has
seen chosen in the slots up to slot - alpha, so it proposes in a slot only once it knows all of those are
chosen (alpha slots in flight at most). It needs promises from a phase-1 quorum of that configuration (too
few, and it waits: its timer starts a higher ballot), catches up from their reports, and sends the proposal
to the members that may vote for it: under Cheap Paxos, an ordinary command to the mains alone and a retirement
to the auxiliaries too. It decides a slot on a phase-2 quorum of the configuration its votes name.

`--option mutant=NAME`:
- highest-vote-after-collision: after a collision it proposes the smallest value voted at k, as if the
  classic highest-vote rule applied, instead of the one a fast quorum may have chosen;
- any-despite-votes: at a fast ballot it sends any whatever its promises report;
- recover-last-slot-only (multipaxos): after phase 1 it re-proposes only the highest slot reported, taking
  the slots below it as free for its clients' values;
- leader-config-early (reconfig): a configuration chosen in slot i governs it from slot i + 1, whatever alpha;
- old-config-quorum (reconfig): it checks every slot's promises against the initial configuration's quorums;
- commands-to-auxiliary (cheap): it sends every proposal to the auxiliaries too.
"""

from __future__ import annotations

import json
import os
from typing import Any

from acceptor_v2 import Ballot, Refused, chosen_class, key, serve  # beside this file, stdlib only

Vote = tuple[tuple[int, str], str]
"""(ballot key, value) of a reported vote."""


class Proposer:
    def __init__(self, init: dict[str, Any]) -> None:
        self.me, self.acceptors = init["node"], init["acceptors"]
        self.quorums: dict[str, dict[str, Any]] = init["quorums"]
        self.fast_rounds = set(init.get("fast_rounds", ()))
        self.file = os.path.join(init["data_dir"], "proposer.json")
        self.round = -1
        if os.path.exists(self.file):
            with open(self.file) as f:
                self.round = json.load(f)["round"]
        self.seen = -1
        """The highest round a nack told it of."""
        self.ballot: Ballot | None = None
        self.value: str | None = None
        self.promises: dict[str, Vote | None] = {}
        self.proposed = False
        self.votes: dict[str, set[str]] = {}
        self.decided = False

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        if kind == "propose":
            self.value = self.value or msg["value"]
            return self.start() if self.ballot is None else []
        if kind == "timeout":
            return [] if self.decided or self.value is None else self.start()
        if kind == "nack":
            self.seen = max(self.seen, msg["promised"][0])
            return []
        if msg["ballot"] != self.ballot:
            return []  # an answer to an earlier ballot
        if kind == "promise":
            last = msg["last"]
            self.promises[msg["from"]] = None if last is None else (key(last["ballot"]), last["value"])
            return self.phase2() if not self.proposed and self.has_quorum("phase1", set(self.promises)) else []
        if kind == "accepted":
            voters = self.votes.setdefault(msg["value"], set())
            voters.add(msg["from"])
            if not self.decided and self.has_quorum("fast" if self.is_fast() else "phase2", voters):
                self.decided = True
                return [{"type": "decision", "from": self.me, "value": msg["value"]}]
            return []
        raise Refused("unsupported", f"a proposer does not handle {kind}")

    def has_quorum(self, family: str, members: set[str]) -> bool:
        return self.has_quorum_in(self.quorums[family], members)

    def has_quorum_in(self, family: dict[str, Any], members: set[str]) -> bool:
        return any(set(q) <= members for q in family["sets"])

    def is_fast(self) -> bool:
        return self.ballot is not None and self.ballot[0] in self.fast_rounds

    def start(self) -> list[dict[str, Any]]:
        self.round = max(self.round, self.seen) + 1
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"round": self.round}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.file)
        self.ballot, self.promises, self.proposed, self.votes = [self.round, self.me], {}, False, {}
        return self.to_acceptors({"type": "prepare"})

    def phase2(self) -> list[dict[str, Any]]:
        self.proposed = True
        forced = self.recover([v for v in self.promises.values() if v is not None])
        if forced is None and self.is_fast():
            return self.to_acceptors({"type": "any"})
        return self.to_acceptors({"type": "accept", "value": forced or self.value})

    def recover(self, reported: list[Vote]) -> str | None:
        """The value the recovery rule forces, or None when the coordinator is free."""
        if not reported:
            return None
        top = max(b for b, _ in reported)
        at_top = sorted({v for b, v in reported if b == top})
        if len(at_top) == 1:
            return at_top[0]
        return self.after_collision(top, at_top)

    def after_collision(self, top: tuple[int, str], values: list[str]) -> str | None:
        for w in values:
            for fast in self.quorums["fast"]["sets"]:
                if all(self.promises[a] == (top, w) for a in fast if a in self.promises):
                    return w  # every acceptor of Q and this fast quorum voted w at k: w may be chosen
        return None

    def to_acceptors(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**doc, "from": self.me, "to": a, "ballot": self.ballot} for a in self.acceptors]


class Leader(Proposer):
    def __init__(self, init: dict[str, Any]) -> None:
        super().__init__(init)
        self.slots: int = init["slots"]
        self.queue: list[str] = []
        """Clients' values not yet given a slot."""
        self.reports: dict[str, dict[int, Vote]] = {}
        self.log: dict[int, str] = {}
        """What it proposed in each slot at its current ballot."""
        self.tally: dict[tuple[int, str], set[str]] = {}
        self.chosen: set[int] = set()

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        if kind == "propose":
            if msg["value"] not in self.queue and msg["value"] not in self.log.values():
                self.queue.append(msg["value"])
            return self.start() if self.ballot is None else self.assign() if self.proposed else []
        if kind == "timeout":
            return self.start() if self.queue or set(self.log) - self.chosen else []
        if kind == "nack":
            return super().handle(msg)
        if msg["ballot"] != self.ballot:
            return []  # an answer to an earlier ballot
        if kind == "promise":
            self.reports[msg["from"]] = {v["slot"]: (key(v["ballot"]), v["value"]) for v in msg["votes"]}
            return self.phase2() if not self.proposed and self.has_quorum("phase1", set(self.reports)) else []
        if kind == "accepted":
            slot = msg["slot"]
            voters = self.tally.setdefault((slot, msg["value"]), set())
            voters.add(msg["from"])
            if slot not in self.chosen and self.has_quorum("phase2", voters):
                self.chosen.add(slot)
                return [{"type": "decision", "from": self.me, "value": msg["value"], "slot": slot}]
            return []
        raise Refused("unsupported", f"a leader does not handle {kind}")

    def start(self) -> list[dict[str, Any]]:
        self.queue += [v for v in self.log.values() if v not in self.queue]  # re-proposed under the new ballot
        self.reports, self.log, self.tally = {}, {}, {}
        return super().start()

    def phase2(self) -> list[dict[str, Any]]:
        self.proposed = True
        for slot in self.slots_to_recover():
            reported = [r[slot] for r in self.reports.values() if slot in r]
            self.log[slot] = max(reported)[1]  # the highest vote reported in that slot
        out = [m for slot, value in sorted(self.log.items()) for m in self.accept(slot, value)]
        return out + self.assign()

    def slots_to_recover(self) -> list[int]:
        return sorted({slot for r in self.reports.values() for slot in r})

    def assign(self) -> list[dict[str, Any]]:
        out = []
        for value in [v for v in self.queue if v not in self.log.values()]:
            free = [s for s in range(self.slots) if s not in self.log]
            if not free:
                break
            self.log[free[0]] = value
            out += self.accept(free[0], value)
        self.queue = [v for v in self.queue if v not in self.log.values()]
        return out

    def accept(self, slot: int, value: str) -> list[dict[str, Any]]:
        return self.to_acceptors({"type": "accept", "slot": slot, "value": value})


class ConfigLeader(Leader):
    def __init__(self, init: dict[str, Any]) -> None:
        super().__init__(init)
        self.alpha: int = init["alpha"]
        self.configs: list[dict[str, Any]] = init["configs"]
        self.switches: dict[str, int] = init["commands"]
        self.decided: dict[int, str] = {}
        """What it has seen chosen, per slot (chosen once is chosen for good, whatever the ballot)."""

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        if kind == "propose":
            if msg["value"] not in [*self.queue, *self.log.values(), *self.decided.values()]:
                self.queue.append(msg["value"])
            return self.start() if self.ballot is None else self.fill()
        if kind not in ("promise", "accepted") or msg["ballot"] != self.ballot:
            return super().handle(msg)  # timeouts, nacks, answers to an earlier ballot
        if kind == "promise":
            self.reports[msg["from"]] = {v["slot"]: (key(v["ballot"]), v["value"]) for v in msg["votes"]}
            return self.fill()
        slot, value = msg["slot"], msg["value"]
        voters = self.tally.setdefault((slot, value), set())
        voters.add(msg["from"])
        out = []
        if slot not in self.decided and self.has_quorum_in(self.configs[msg["config"]]["phase2"], voters):
            self.decided[slot] = value
            self.chosen.add(slot)
            out = [{"type": "decision", "from": self.me, "value": value, "slot": slot}]
        return out + self.fill()

    def start(self) -> list[dict[str, Any]]:
        self.log = {s: v for s, v in self.log.items() if s not in self.decided}  # only open slots' values return
        return super().start()

    def fill(self) -> list[dict[str, Any]]:
        """Propose in every slot this ballot may, lowest first, each under the configuration governing it."""
        out: list[dict[str, Any]] = []
        for slot in range(self.slots):
            if slot in self.log or slot in self.decided:
                continue
            conf = self.governing(slot)
            if conf is None:
                break  # the window: it does not know all of slots 0..slot - alpha chosen yet
            members = self.configs[conf]["members"]
            promised = {a for a in self.reports if a in members}
            if not self.has_quorum_in(self.phase1_quorums(conf), promised):
                break  # too few of this configuration have promised this ballot
            reported = [self.reports[a][slot] for a in promised if slot in self.reports[a]]
            value = max(reported)[1] if reported else self.next_value()
            if value is not None:
                self.log[slot] = value
                voters = self.voters(conf, value)
                out += [{**m, "config": conf} for m in self.accept(slot, value) if m["to"] in voters]
        return out

    def governing(self, slot: int) -> int | None:
        """The configuration after the slots up to slot - alpha, once it has seen all of them chosen."""
        last = slot - self.window()
        if any(j not in self.decided for j in range(last + 1)):
            return None
        conf = 0
        for j in range(last + 1):
            conf = self.switches.get(self.decided[j], conf)
        return conf

    def window(self) -> int:
        return self.alpha

    def phase1_quorums(self, conf: int) -> dict[str, Any]:
        return self.configs[conf]["phase1"]

    def next_value(self) -> str | None:
        fresh = [v for v in self.queue if v not in [*self.log.values(), *self.decided.values()]]
        if not fresh:
            return None
        self.queue.remove(fresh[0])
        return fresh[0]

    def voters(self, conf: int, value: str) -> list[str]:
        """Who may vote for `value` under `conf`: its members, but its auxiliaries only for a retirement."""
        config = self.configs[conf]
        auxiliaries = () if value in self.switches else config.get("auxiliaries", ())
        return [a for a in config["members"] if a not in auxiliaries]


class HighestVoteAfterCollision(Proposer):
    def after_collision(self, top: tuple[int, str], values: list[str]) -> str | None:
        return values[0]  # BUG: a collision is not a single highest vote; the fast quorums decide


class AnyDespiteVotes(Proposer):
    def recover(self, reported: list[Vote]) -> str | None:
        return None if self.is_fast() else super().recover(reported)  # BUG: free at every fast ballot


class RecoverLastSlotOnly(Leader):
    def slots_to_recover(self) -> list[int]:
        return super().slots_to_recover()[-1:]  # BUG: the lower slots' votes are taken as settled


class LeaderConfigEarly(ConfigLeader):
    def window(self) -> int:
        return 1  # BUG: a configuration chosen in slot i is taken to govern slot i + 1 already


class OldConfigQuorum(ConfigLeader):
    def phase1_quorums(self, conf: int) -> dict[str, Any]:
        return self.configs[0]["phase1"]  # BUG: the initial configuration's quorums, for every slot


class CommandsToAuxiliary(ConfigLeader):
    def voters(self, conf: int, value: str) -> list[str]:
        return list(self.configs[conf]["members"])  # BUG: the auxiliaries get every command, not only retirements


MUTANTS: dict[str, type[Proposer]] = {
    "highest-vote-after-collision": HighestVoteAfterCollision,
    "any-despite-votes": AnyDespiteVotes,
    "recover-last-slot-only": RecoverLastSlotOnly,
    "leader-config-early": LeaderConfigEarly,
    "old-config-quorum": OldConfigQuorum,
    "commands-to-auxiliary": CommandsToAuxiliary,
}
LEADERS: dict[str, type[Proposer]] = {"multipaxos": Leader, "reconfig": ConfigLeader, "cheap": ConfigLeader}


def start(init: dict[str, Any]) -> Proposer:
    default = LEADERS.get(init.get("variant", "paxos"), Proposer)
    return chosen_class(init, MUTANTS, default)(init)


if __name__ == "__main__":
    serve(start)
