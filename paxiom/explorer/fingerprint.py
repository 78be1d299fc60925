"""64-bit state fingerprints, as TLC keeps them, for models whose states do not all fit in memory.

With `--fingerprint` the explorer remembers each visited state as 8 bytes of BLAKE2b over a canonical
encoding of the state (sets encoded in sorted order, so equal states always get equal fingerprints),
plus its parent's fingerprint for the trace, instead of the state itself. Two distinct states sharing a
fingerprint would make the second look visited and leave its successors unexplored; for n distinct
states the chance of any such collision is at most n(n-1)/2^65 (the birthday bound for a uniform 64-bit
hash), which the explorer reports with the result, as TLC does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Any

BITS = 64
MEMO_LIMIT = 1 << 18
"""Encodings of parts of states remembered before the memo starts afresh."""


def digest(code: bytes) -> int:
    """A uniform 64-bit hash of `code` (the same in every process, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(code, digest_size=BITS // 8).digest(), "little")


class Fingerprints:
    """Fingerprints of states built from None, numbers, strings, tuples and frozensets."""

    def __init__(self) -> None:
        self.encoded: dict[Hashable, bytes] = {}
        """Encodings of the parts seen so far: a spec's messages and acceptor entries repeat across states."""

    def __call__(self, s: Any) -> int:
        if not isinstance(s, tuple):
            return digest(self.encode(s))
        return digest(b"|".join([self.encode_set(x) if isinstance(x, frozenset) else self.part(x) for x in s]))

    def part(self, x: Hashable) -> bytes:
        code = self.encoded.get(x)
        if code is None:
            if len(self.encoded) >= MEMO_LIMIT:
                self.encoded.clear()
            code = self.encoded[x] = self.encode(x)
        return code

    def encode_set(self, x: frozenset[Any]) -> bytes:
        return b"{" + b",".join(sorted([self.part(y) for y in x])) + b"}"

    def encode(self, x: Any) -> bytes:
        if isinstance(x, tuple):
            return b"(" + b",".join([self.encode(y) for y in x]) + b")"
        if isinstance(x, frozenset):
            return self.encode_set(x)
        if x is None or isinstance(x, bool | int | str):
            return repr(x).encode()
        raise TypeError(f"cannot fingerprint a state holding a {type(x).__name__}")


def collision_probability(distinct: int) -> float:
    """The birthday bound: the chance that some two of `distinct` uniform 64-bit fingerprints are equal."""
    return min(1.0, distinct * (distinct - 1) / float(2 ** (BITS + 1)))
