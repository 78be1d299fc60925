"""The smallest complete in-process plug-in: a toy acceptor library, and the adapter that puts it under test.

paxiom conform --adapter examples/conformance/minimal_adapter.py:TinyAdapter --role acceptor
"""

from __future__ import annotations

from paxiom.conform import Accept, Accepted, Adapter, Ballot, Input, LastVote, Nack, Node, Output, Prepare, Promise

Number = tuple[int, str]


class TinyAcceptor:
    """The "library": its own names and types, knowing nothing of paxiom."""

    def __init__(self, promised: Number | None = None, voted: tuple[Number, str] | None = None) -> None:
        self.promised, self.voted = promised, voted

    def on_prepare(self, n: Number) -> bool:
        if self.promised is not None and n <= self.promised:
            return False
        self.promised = n
        return True

    def on_accept(self, n: Number, value: str) -> bool:
        if self.promised is not None and n < self.promised:
            return False
        self.promised, self.voted = n, (n, value)
        return True


def number(ballot: Ballot | list[object]) -> Number:
    """A canonical ballot `[round, proposer]` (or its JSON form) as the library's proposal number."""
    return int(str(ballot[0])), str(ballot[1])


class TinyAdapter(Adapter):
    roles = frozenset({"acceptor"})

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        saved = self.load() or {}  # None on a fresh start; what save() stored after a restart
        promised = number(saved["promised"]) if saved.get("promised") else None
        voted = (number(saved["voted"][0]), saved["voted"][1]) if saved.get("voted") else None
        self.lib = TinyAcceptor(promised, voted)

    def handle(self, msg: Input) -> list[Output]:
        me = self.node.id
        if isinstance(msg, Prepare):
            ok = self.lib.on_prepare(number(msg.ballot))
        elif isinstance(msg, Accept):
            ok = self.lib.on_accept(number(msg.ballot), msg.value)
        else:
            return []  # an acceptor is only sent prepares and accepts
        self.save({"promised": self.lib.promised, "voted": self.lib.voted})  # durable before replying
        if not ok:
            assert self.lib.promised is not None
            return [Nack(me, msg.src, msg.ballot, Ballot(*self.lib.promised))]
        if isinstance(msg, Accept):
            return [Accepted(me, msg.src, msg.ballot, msg.value)]
        last = None if self.lib.voted is None else LastVote(Ballot(*self.lib.voted[0]), self.lib.voted[1])
        return [Promise(me, msg.src, msg.ballot, last)]
