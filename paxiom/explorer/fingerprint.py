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


class Fingerprints:
    """Fingerprints of states built from None, numbers, strings, tuples and frozensets."""

    def __init__(self) -> None:
        self.encoded: dict[Hashable, bytes] = {}
        """Encodings of the elements of sets seen so far (a spec's messages come from a small universe)."""

    def __call__(self, s: Hashable) -> int:
        digest = hashlib.blake2b(self.encode(s), digest_size=BITS // 8).digest()
        return int.from_bytes(digest, "little")

    def encode(self, x: Any) -> bytes:
        if isinstance(x, tuple):
            return b"(" + b",".join(self.encode(y) for y in x) + b")"
        if isinstance(x, frozenset):
            return b"{" + b",".join(sorted(self.element(y) for y in x)) + b"}"
        if x is None or isinstance(x, bool | int | str):
            return repr(x).encode()
        raise TypeError(f"cannot fingerprint a state holding a {type(x).__name__}")

    def element(self, y: Hashable) -> bytes:
        code = self.encoded.get(y)
        if code is None:
            code = self.encoded[y] = self.encode(y)
        return code


def collision_probability(distinct: int) -> float:
    """The birthday bound: the chance that some two of `distinct` uniform 64-bit fingerprints are equal."""
    return min(1.0, distinct * (distinct - 1) / float(2 ** (BITS + 1)))
