"""Near-identical texts (one story syndicated by several outlets) by MinHash of word shingles.

The estimated Jaccard similarity of two texts' sets of word 5-grams is the share of equal
positions in their signatures. Copies of a wire story differ by a headline, a byline, a
footer or a trimmed paragraph; distinct stories on one topic share words but few 5-grams.
`NEAR_DUPLICATE` is measured by `bench/near_duplicates.py` (see the README).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

SHINGLE_WORDS = 5
PERMUTATIONS = 128
# Measured by bench/near_duplicates.py on 1270 stories: a copy with one syndication edit (byline
# and footer, an edge paragraph dropped, 3% of words changed, a headline sentence) scores at
# least 0.41, with all of them at once at least 0.28; distinct stories of the same topic score
# at most 0.16 (p99.9 0.02). 0.25 sits between the two.
NEAR_DUPLICATE = 0.25

_rng = np.random.default_rng(20240721)
_A = _rng.integers(0, np.iinfo(np.uint64).max, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, np.iinfo(np.uint64).max, size=PERMUTATIONS, dtype=np.uint64)
_SHIFT = np.uint64(32)


def shingles(text: str, width: int = SHINGLE_WORDS) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    if len(words) <= width:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + width]) for i in range(len(words) - width + 1)}


def signature(text: str) -> np.ndarray:
    """PERMUTATIONS minimum hashes (uint32) of the text's shingles."""
    grams = shingles(text)
    if not grams:
        return np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
            for g in grams
        ),
        dtype=np.uint64,
        count=len(grams),
    )
    # Multiply-shift hashing: the high half of (a*x + b) mod 2**64 with random 64-bit a (odd)
    # and b is a well-mixed 32-bit hash of x; uint64 arithmetic wraps, which is the mod.
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) >> _SHIFT
    result: np.ndarray = permuted.min(axis=0).astype(np.uint32)
    return result


def similarity(one: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of `one` to every row of `others`."""
    if len(others) == 0:
        return np.empty(0, dtype=np.float64)
    result: np.ndarray = (others == one[None, :]).mean(axis=1)
    return result


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)
