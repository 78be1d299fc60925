"""Lexer and recursive-descent parser for quorum expressions.

    expr  := NUMBER "of" "(" args ")"          at least NUMBER weight of the arguments
           | ("all" | "any" | "majority") "(" args ")"
           | node
    args  := arg ("," arg)* [","]
    arg   := expr | zone                         a zone stands for its nodes, in file order
    node, zone := NAME | "quoted name" | 'quoted name'

Names are letters, digits and `_ . : - @ /`, not all digits (a bare number is a threshold). Every token
keeps its offset in the expression, so each mistake is reported at its `file:line:col`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from paxiom.cluster.expr import Expr, Gate, Leaf
from paxiom.errors import PaxiomError

FUNCTIONS = ("all", "any", "majority")
MAX_DEPTH = 100
"""Deepest nesting of gates in one expression; deeper is refused, so nothing that walks the tree
(evaluation, the Z3 encoding, tolerance, load) can exhaust Python's stack."""
_LONGEST_THRESHOLD = 40
"""A threshold with more digits exceeds any total weight (at most 10^18 per node), so it is not converted."""
_TOKEN = re.compile(r"""\s*(?:(?P<punct>[(),])|(?P<quoted>"[^"]*"|'[^']*')|(?P<word>[A-Za-z0-9_.:@/-]+)|(?P<bad>\S))""")


@dataclass(frozen=True)
class Token:
    kind: str  # "punct", "number", "name", "end"
    text: str
    offset: int
    quoted: bool = False


def tokenize(text: str, where: Callable[[int], str]) -> list[Token]:
    tokens: list[Token] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:  # some non-blank character remains
        m = _TOKEN.match(text, pos)
        assert m is not None  # the pattern matches any non-blank character
        start = m.start(m.lastgroup or 0)
        if m.group("bad") is not None:
            raise PaxiomError(f"unexpected character {m.group('bad')!r} in quorum expression", where=where(start))
        if m.group("punct") is not None:
            tokens.append(Token("punct", m.group("punct"), start))
        elif m.group("quoted") is not None:
            tokens.append(Token("name", m.group("quoted")[1:-1], start, quoted=True))
        else:
            word = m.group("word")
            tokens.append(Token("number" if word.isdigit() else "name", word, start))
        pos = m.end()
    tokens.append(Token("end", "", end))
    return tokens


@dataclass(frozen=True)
class Names:
    """What names mean in one cluster: node indices, weights, and zones (already expanded to nodes)."""

    index: Mapping[str, int]
    weights: Sequence[int]
    zones: Mapping[str, tuple[int, ...]]


class Parser:
    """Parses one expression string into an `Expr`, checking every name, threshold and duplicate."""

    def __init__(self, text: str, names: Names, where: Callable[[int], str]) -> None:
        self.text = text
        self.names = names
        self.where = where
        self.tokens = tokenize(text, where)
        self.i = 0
        self.depth = 0

    def fail(self, message: str, token: Token) -> PaxiomError:
        return PaxiomError(message, where=self.where(token.offset))

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str, context: str) -> Token:
        token = self.take()
        if token.text != text or token.kind not in ("punct", "name"):
            found = "the end of the expression" if token.kind == "end" else repr(token.text)
            raise self.fail(f"expected {text!r} {context}, found {found}", token)
        return token

    def parse(self) -> Expr:
        if self.peek.kind == "end":
            raise self.fail("empty quorum expression", self.peek)
        expr = self.expression()
        if self.peek.kind != "end":
            raise self.fail(f"unexpected {self.peek.text!r} after a complete expression", self.peek)
        return expr

    def expression(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            self.expect("of", f"after the threshold {_short(token.text)}")
            digits = token.text.lstrip("0") or "0"
            return self.gate("of", token, int(digits) if len(digits) <= _LONGEST_THRESHOLD else 10**_LONGEST_THRESHOLD)
        if token.kind == "name" and not token.quoted and token.text in FUNCTIONS:
            return self.gate(token.text, token, None)
        if token.kind == "name":
            if token.text in self.names.zones:
                raise self.fail(
                    f"zone {token.text!r} is a group of nodes, not a quorum: write all({token.text}), "
                    f"any({token.text}), majority({token.text}) or K of ({token.text})",
                    token,
                )
            return Leaf(self.node(token))
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise self.fail(f"expected a node, all/any/majority(...) or 'K of (...)', found {found}", token)

    def node(self, token: Token) -> int:
        if token.text not in self.names.index:
            raise self.fail(f"unknown node or zone {token.text!r}", token)
        return self.names.index[token.text]

    def gate(self, op: str, head: Token, k: int | None) -> Gate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"quorum expression nested more than {MAX_DEPTH} deep (the most paxiom reads)", head)
        gate = self._gate(op, head, k)
        self.depth -= 1
        return gate

    def _gate(self, op: str, head: Token, k: int | None) -> Gate:
        self.expect("(", f"after {head.text!r}" if k is None else f"after '{_short(head.text)} of'")
        args: list[Expr] = []
        weights: list[int] = []
        seen: dict[int, str] = {}
        if self.peek.text == ")" and self.peek.kind == "punct":
            raise self.fail(f"{head.text!r} has no arguments: an empty quorum family", self.peek)
        while True:
            token = self.peek
            if token.kind == "name" and token.text in self.names.zones:
                self.take()
                members = self.names.zones[token.text]
                if not members:
                    raise self.fail(f"zone {token.text!r} is empty: an empty quorum family", token)
                leaves: list[Expr] = [Leaf(i) for i in members]
                via = f" (via zone {token.text!r})"
            else:
                leaves = [self.expression()]
                via = ""
            for leaf in leaves:
                if isinstance(leaf, Leaf):
                    if leaf.index in seen:
                        name = self._name_of(leaf.index)
                        raise self.fail(
                            f"node {name!r} appears twice in one argument list{seen[leaf.index] or via}", token
                        )
                    seen[leaf.index] = via
                args.append(leaf)
                weights.append(self.names.weights[leaf.index] if isinstance(leaf, Leaf) else 1)
            if not (self.peek.kind == "punct" and self.peek.text == ","):
                break
            self.take()
            if self.peek.kind == "punct" and self.peek.text == ")":
                break
        close = self.expect(")", "to close the argument list")
        text = self.text[head.offset : close.offset + 1]
        total = sum(weights)
        if op == "all":
            threshold = total
        elif op == "any":
            threshold = 1
        elif op == "majority":
            threshold = total // 2 + 1
        else:
            assert k is not None
            if k < 1:
                raise self.fail("a threshold must be at least 1 (0 would make the empty set a quorum)", head)
            if k > total:
                raise self.fail(
                    f"threshold {_short(head.text)} is larger than the total weight {total} of its arguments, "
                    "so no set is a quorum",
                    head,
                )
            threshold = k
        return Gate(op, threshold, tuple(args), tuple(weights), text)

    def _name_of(self, index: int) -> str:
        return next(name for name, i in self.names.index.items() if i == index)


def _short(number: str) -> str:
    return number if len(number) <= 20 else f"{number[:8]}...({len(number)} digits)"


def parse_expression(text: str, names: Names, where: Callable[[int], str]) -> Expr:
    """Parse one quorum expression; `where(offset)` turns an offset in `text` into `file:line:col`."""
    return Parser(text, names, where).parse()
