#!/usr/bin/env python3
"""An acceptor for single-decree, Multi-, Fast and Cheap Paxos and for reconfiguration, speaking
paxiom-conform/1 and /2 on stdin/stdout.

    paxiom conform --variant multipaxos -- python3 examples/conformance/acceptor_v2.py
    paxiom conform --variant fastpaxos -- python3 examples/conformance/acceptor_v2.py
    paxiom conform --variant cheap -- python3 examples/conformance/acceptor_v2.py
    paxiom conform --variant multipaxos --option mutant=promise-per-slot -- python3 examples/conformance/acceptor_v2.py

Standard library only, knowing nothing of paxiom but the wire format (docs/conformance.md). Its state is
one promise for the whole log and, per slot, the latest vote (single-decree and Fast Paxos use slot 0),
kept in <data_dir>/acceptor.json — written, fsynced and renamed into place before any reply that depends
on it. A Fast Paxos coordinator's `any` opens a fast ballot; the first client value (`propose`) to reach
the acceptor there gets its vote, and no later one: one vote per ballot. Under reconfiguration and Cheap
Paxos an accept names the configuration of its slot (one of init's `configs`): the acceptor votes only if
it is a member of it and, if it is one of its auxiliaries, only for a command that retires a main (one of
init's `commands`) — so an auxiliary's log holds retirements alone, which it stores like any vote.

`--option mutant=NAME` swaps in a subclass overriding a method or two with a bug real implementations have had:
- promise-per-slot (multipaxos): a vote raises only its own slot's promise, as if each slot had its own;
- forget-on-catch-up (multipaxos): an accept beyond a hole makes it jump ahead, dropping its lower slots;
- second-fast-vote (fastpaxos): at a fast ballot it votes for every client value, not just the first;
- fast-vote-below-promise (fastpaxos): it takes client values at a fast ballot below its promise;
- votes-outside-config (reconfig): it votes under any configuration an accept names, member or not;
- aux-votes-commands (cheap): an auxiliary votes for ordinary commands too;
- aux-forgets-votes (cheap): an auxiliary, "storing nothing of the log", persists only its promise.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

PROTOCOLS = ("paxiom-conform/1", "paxiom-conform/2")
VARIANTS = ("paxos", "multipaxos", "fastpaxos", "reconfig", "cheap")
LOGS = ("multipaxos", "reconfig", "cheap")
"""The variants whose messages name a slot (and, but for multipaxos, a configuration)."""
Ballot = list[Any]
"""[round, proposer id], compared by round, then id."""


def key(b: Ballot | None) -> tuple[int, str]:
    return (-1, "") if b is None else (b[0], b[1])


class Refused(Exception):
    """An input this acceptor does not take: answered with an error line instead of done."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


class Acceptor:
    def __init__(self, init: dict[str, Any]) -> None:
        self.me, self.variant = init["node"], init.get("variant", "paxos")
        self.configs: list[dict[str, Any]] = init.get("configs", [])
        self.commands: dict[str, int] = init.get("commands", {})
        self.file = os.path.join(init["data_dir"], "acceptor.json")
        state: dict[str, Any] = {"promised": None, "votes": {}}
        if os.path.exists(self.file):
            with open(self.file) as f:
                state = json.load(f)
        self.promised: Ballot | None = state["promised"]
        self.votes: dict[int, list[Any]] = {int(s): v for s, v in state["votes"].items()}
        """slot -> [ballot, value] of the latest vote there."""
        self.opened: list[Ballot] = []
        """Fast ballots a coordinator opened with any (volatile: forgetting one only forgoes a fast vote)."""

    def save(self) -> None:
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"promised": self.promised, "votes": self.votes}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.file)

    # ---------------------------------------------------------------- messages in

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        if kind == "prepare":
            return self.on_prepare(msg["from"], msg["ballot"])
        if kind == "accept":
            return self.on_accept(msg["from"], msg["ballot"], msg.get("slot", 0), msg["value"], msg.get("config"))
        if kind == "any" and self.variant == "fastpaxos":
            self.opened.append(msg["ballot"])
            return []
        if kind == "propose" and self.variant == "fastpaxos":
            return self.on_client(msg["value"])
        raise Refused("unsupported", f"a {self.variant} acceptor does not handle {kind}")

    def on_prepare(self, src: str, b: Ballot) -> list[dict[str, Any]]:
        if key(b) <= key(self.promised):
            return [self.nack(src, b, self.promised)]
        self.promised = b
        self.save()
        return [{"type": "promise", "from": self.me, "to": src, "ballot": b, **self.report()}]

    def report(self) -> dict[str, Any]:
        """The promise's report: every slot's latest vote in Multi-Paxos, the one latest vote otherwise."""
        if self.variant in LOGS:
            return {"votes": [{"slot": s, "ballot": b, "value": v} for s, (b, v) in sorted(self.votes.items())]}
        last = self.votes.get(0)
        return {"last": None if last is None else {"ballot": last[0], "value": last[1]}}

    def on_accept(self, src: str, b: Ballot, slot: int, value: str, config: int | None) -> list[dict[str, Any]]:
        if config is not None and not self.may_vote_in(self.configs[config], value):
            return []  # not a voter of that slot's configuration: it stays out
        if not self.may_vote(b, slot, value):
            return [self.nack(src, b, self.promise_for(slot))]
        return self.vote(src, b, slot, value, config)

    def may_vote_in(self, config: dict[str, Any], value: str) -> bool:
        """A member of the configuration; an auxiliary of it only for a command retiring a main."""
        return self.me in config["members"] and (self.me not in config.get("auxiliaries", ()) or value in self.commands)

    def promise_for(self, slot: int) -> Ballot | None:
        """The promise that bounds votes in `slot`: the one promise of the whole log."""
        return self.promised

    def may_vote(self, b: Ballot, slot: int, value: str) -> bool:
        """At or above the promise; in Fast Paxos once per ballot (a repeated accept is answered again)."""
        voted = self.votes.get(slot)
        once = self.variant != "fastpaxos" or voted is None or key(voted[0]) < key(b) or voted == [b, value]
        return key(b) >= key(self.promise_for(slot)) and once

    def vote(self, to: str, b: Ballot, slot: int, value: str, config: int | None = None) -> list[dict[str, Any]]:
        self.raise_promise(b, slot)
        self.votes[slot] = [b, value]
        self.save()
        where = {"slot": slot} if self.variant in LOGS else {}
        where |= {} if config is None else {"config": config}
        return [{"type": "accepted", "from": self.me, "to": to, "ballot": b, "value": value, **where}]

    def on_client(self, value: str) -> list[dict[str, Any]]:
        """Fast Paxos: vote for a client's value at the highest fast ballot opened that it may still vote at."""
        for b in sorted(self.opened, key=key, reverse=True):
            if self.may_take_client(b):
                return self.vote(b[1], b, 0, value)  # to the ballot's coordinator
        return []

    def may_take_client(self, b: Ballot) -> bool:
        voted = self.votes.get(0)
        return key(b) >= key(self.promised) and (voted is None or key(voted[0]) < key(b))

    def raise_promise(self, b: Ballot, slot: int) -> None:
        """A vote raises the promise (of every slot) to its ballot."""
        self.promised = max(self.promised, b, key=key)

    def nack(self, to: str, b: Ballot, promised: Ballot | None) -> dict[str, Any]:
        return {"type": "nack", "from": self.me, "to": to, "ballot": b, "promised": promised}


# -------------------------------------------------------------------- mutants: one overridden method each


class PromisePerSlot(Acceptor):
    def raise_promise(self, b: Ballot, slot: int) -> None:
        pass  # BUG: the vote raises only its own slot's promise: the ballot it records in that slot

    def promise_for(self, slot: int) -> Ballot | None:
        voted = self.votes.get(slot)
        return max(self.promised, None if voted is None else voted[0], key=key)


class ForgetOnCatchUp(Acceptor):
    def vote(self, to: str, b: Ballot, slot: int, value: str, config: int | None = None) -> list[dict[str, Any]]:
        if slot > max(self.votes, default=-1) + 1:
            self.votes = {}  # BUG: catching up past a hole, it takes the lower slots as settled and drops them
        return super().vote(to, b, slot, value, config)


class SecondFastVote(Acceptor):
    def may_take_client(self, b: Ballot) -> bool:
        return key(b) >= key(self.promised)  # BUG: forgets that it already voted at this fast ballot


class FastVoteBelowPromise(Acceptor):
    def may_take_client(self, b: Ballot) -> bool:
        voted = self.votes.get(0)
        return voted is None or key(voted[0]) < key(b)  # BUG: never looks at its promise


class VotesOutsideConfig(Acceptor):
    def may_vote_in(self, config: dict[str, Any], value: str) -> bool:
        return True  # BUG: trusts whatever configuration an accept names, whether it belongs to it or not


class AuxVotesCommands(Acceptor):
    def may_vote_in(self, config: dict[str, Any], value: str) -> bool:
        return self.me in config["members"]  # BUG: an auxiliary votes like a main


class AuxForgetsVotes(Acceptor):
    def save(self) -> None:
        if self.me in self.configs[0].get("auxiliaries", ()):
            self.votes, votes = {}, self.votes  # BUG: "an auxiliary stores nothing of the log": its votes stay
            super().save()  # in memory only, so a restart forgets the retirements it voted for
            self.votes = votes
        else:
            super().save()


MUTANTS = {
    "promise-per-slot": PromisePerSlot,
    "forget-on-catch-up": ForgetOnCatchUp,
    "second-fast-vote": SecondFastVote,
    "fast-vote-below-promise": FastVoteBelowPromise,
    "votes-outside-config": VotesOutsideConfig,
    "aux-votes-commands": AuxVotesCommands,
    "aux-forgets-votes": AuxForgetsVotes,
}


def start(init: dict[str, Any]) -> Acceptor:
    if init.get("protocol") not in PROTOCOLS or init.get("variant", "paxos") not in VARIANTS:
        raise Refused("unsupported", f"speaks {', '.join(PROTOCOLS)} for {', '.join(VARIANTS)}")
    return chosen_class(init, MUTANTS, Acceptor)(init)


def chosen_class(init: dict[str, Any], mutants: dict[str, type[T]], default: type[T]) -> type[T]:
    """The class the `mutant` option of `init` names (the correct `default` without one); an unknown name
    is refused."""
    name = init.get("options", {}).get("mutant")
    if name is not None and name not in mutants:
        raise Refused("unsupported", f"no mutant {name!r}; known: {', '.join(mutants)}")
    return mutants.get(name, default)


class Handler(Protocol):
    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]: ...


def serve(start: Callable[[dict[str, Any]], Handler]) -> None:
    """The protocol loop: `init` builds the node by `start`, every other line goes to its `handle`, and
    each answer ends with `done` (or an `error` line for what it refuses)."""
    node: Handler | None = None
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["type"] == "init":
                node, out = start(msg), []
            elif node is None:
                raise Refused("malformed", "init must come first")
            else:
                out = node.handle(msg)
        except Refused as refused:
            print(json.dumps({"type": "error", "seq": msg.get("seq"), "code": refused.code, "text": str(refused)}))
            sys.stdout.flush()
            continue
        for o in out:
            print(json.dumps(o))
        print(json.dumps({"type": "done", "seq": msg.get("seq")}), flush=True)


if __name__ == "__main__":
    serve(start)
