"""Tolerant linkage: candidate pairs for keys without an exact partner, and their scores.

A wave-1 key and a wave-2 key that did not link exactly are a *candidate pair* when their
normalised keys differ by one retyping error: one edit (a character substituted, inserted
or deleted), two neighbouring characters swapped, look-alike characters (O/0, I/1, l/1,
S/5, B/8), or, for a structured self-generated code, one whole component. Candidates are
found by blocking (exact joins on derived strings, never all pairs) and checked with
rapidfuzz's distances; each gets a Fellegi-Sunter style score (``docs/linkage.md``,
section 8). Nothing here decides a link: ``_linkage`` applies the policy.

Blocking strings of a key ``k`` (``s`` = ``k`` with look-alikes folded to one character),
joined through 64-bit polynomial hashes computed from prefix sums (never built as strings):

- ``s`` with one character deleted, for each position, and ``s`` itself. Two keys share
  one of these exactly when their folded forms are within one deletion of a common string,
  which every one-edit, one-swap and look-alike pair is (a superset, checked afterwards);
- ``k`` with component ``c`` blanked out, for each component ``c`` (only for keys whose
  length is that of the code's components).

Work is linear in the number of keys times their length, plus the candidate pairs found;
blocks shared by more than ``MAX_BLOCK`` keys of a wave are not searched (counted).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.process import cpdist

__all__ = [
    "KEY_CLASSES", "MAX_BLOCK", "MAX_KEY_LENGTH", "Candidates", "FieldWeights",
    "field_weights", "find_candidates",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: The kinds of key difference a candidate pair can have, in order of precedence.
KEY_CLASSES: tuple[str, ...] = ("confusable", "one edit", "transposition", "component")
#: Blocks (blocking strings) shared by more keys than this in either wave are skipped.
MAX_BLOCK = 50
#: Keys longer than this (in characters) get no deletion blocking strings (only components).
MAX_KEY_LENGTH = 64
#: Look-alike characters folded to one before comparing (on the normalised, case-folded key).
_FOLD = str.maketrans("o0il1s5b8", "001115588")


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs: positions in the unmatched rows of each wave and their key class."""

    pos1: IntArray          #: positions in wave 1's rows
    pos2: IntArray          #: positions in wave 2's rows
    key_class: IntArray     #: index into KEY_CLASSES
    distance: IntArray      #: OSA distance of the normalised keys (component: Hamming)
    skipped_blocks: int     #: blocks not searched because they were too common

    def __len__(self) -> int:
        return int(self.pos1.size)


#: Look-alike folding of code points below 128 (others are kept).
_FOLD_CP = np.arange(128, dtype=np.uint32)
for _a, _b in zip(b"oilsb", b"01158", strict=True):
    _FOLD_CP[_a] = _b
#: Polynomial hashing modulo 2**64: an odd base (invertible), and mixing constants.
_BASE = 0x100000001B3
_BASE_INV = pow(_BASE, -1, 2**64)
_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


def _powers(n: int, base: int) -> npt.NDArray[np.uint64]:
    out = np.empty(n, dtype=np.uint64)
    value = 1
    for i in range(n):  # n is a key length (at most MAX_KEY_LENGTH + 1)
        out[i] = value
        value = value * base % 2**64
    return out


def _finish(h: npt.NDArray[np.uint64], length: int, tag: int) -> npt.NDArray[np.uint64]:
    """The blocking code of a string with hash ``h``: its length and kind mixed in."""
    with np.errstate(over="ignore"):
        mixed = (h ^ (np.uint64(length) * _MIX1)) * _MIX2 + np.uint64(tag)
    return np.asarray(mixed, dtype=np.uint64)


def _blocking_codes(keys: pa.LargeStringArray, components: Sequence[int]
                    ) -> tuple[list[npt.NDArray[np.uint64]], list[IntArray]]:
    """64-bit codes of every blocking string of every non-null key, and the key's position.

    A blocking string is never built: its polynomial hash (sum of code point x base^j,
    modulo 2**64) is computed from prefix sums of the key's code points, so each of the
    ``len + 1`` deletion strings of a key costs a few array operations. Keys are grouped by
    length (one fixed-width code-point matrix per length). Two different strings may
    share a code (a hash collision); that only adds a pair which the distance check
    removes, so no candidate is lost and none is invented.
    """
    codes: list[npt.NDArray[np.uint64]] = []
    owners: list[IntArray] = []
    lengths = np.asarray(pc.utf8_length(keys).fill_null(0).to_numpy(), dtype=np.int64)
    values = keys.to_numpy(zero_copy_only=False)
    width = int(sum(components)) if len(components) > 1 else -1
    bounds = np.cumsum([0, *components]) if width > 0 else np.zeros(0, dtype=np.int64)
    for length in np.unique(lengths[lengths > 0]):
        L = int(length)
        if L > MAX_KEY_LENGTH and width != L:
            continue
        rows = np.flatnonzero(lengths == L)
        raw = np.asarray(values[rows].astype(f"<U{L}")).view(np.uint32).reshape(rows.size, L)
        power = _powers(L + 1, _BASE)
        with np.errstate(over="ignore"):
            if L <= MAX_KEY_LENGTH:
                folded = raw.copy()
                small = folded < 128
                folded[small] = _FOLD_CP[folded[small]]
                prefix = np.zeros((rows.size, L + 1), dtype=np.uint64)
                np.cumsum(folded.astype(np.uint64) * power[:L], axis=1, out=prefix[:, 1:])
                full = prefix[:, L]
                codes.append(_finish(full, L, 1))
                owners.append(rows)
                inverse = np.uint64(_BASE_INV)
                for i in range(L):  # the key with its i-th character deleted
                    h = prefix[:, i] + (full - prefix[:, i + 1]) * inverse
                    codes.append(_finish(h, L - 1, 1))
                    owners.append(rows)
            if width == L:
                prefix = np.zeros((rows.size, L + 1), dtype=np.uint64)
                np.cumsum(raw.astype(np.uint64) * power[:L], axis=1, out=prefix[:, 1:])
                full = prefix[:, L]
                for c in range(len(components)):  # the key with component c blanked out
                    start, end = int(bounds[c]), int(bounds[c + 1])
                    h = prefix[:, start] + (full - prefix[:, end])
                    codes.append(_finish(h, L, 2 + c))
                    owners.append(rows)
    return codes, owners


def _join(codes1: list[npt.NDArray[np.uint64]], owners1: list[IntArray],
          codes2: list[npt.NDArray[np.uint64]], owners2: list[IntArray]
          ) -> tuple[IntArray, IntArray, int]:
    """Distinct (row1, row2) sharing a blocking code; blocks over MAX_BLOCK skipped."""
    empty = np.empty(0, np.int64)
    if not codes1 or not codes2:
        return empty, empty, 0
    c1, c2 = np.concatenate(codes1), np.concatenate(codes2)
    own1, own2 = np.concatenate(owners1), np.concatenate(owners2)
    u1, n1 = _sorted_counts(np.sort(c1))
    u2, n2 = _sorted_counts(np.sort(c2))
    shared, at1, at2 = np.intersect1d(u1, u2, assume_unique=True, return_indices=True)
    small = (n1[at1] <= MAX_BLOCK) & (n2[at2] <= MAX_BLOCK)
    # the usable codes are few (those shared by both waves): a hash look-up of every code
    # in them stays in cache, unlike a binary search in all codes
    usable = pd.Index(shared[small])
    keep1 = usable.get_indexer(pd.Index(c1)) >= 0
    keep2 = usable.get_indexer(pd.Index(c2)) >= 0
    left = pd.DataFrame({"code": c1[keep1], "row1": own1[keep1]})
    right = pd.DataFrame({"code": c2[keep2], "row2": own2[keep2]})
    pairs = left.merge(right, on="code", how="inner")
    if pairs.empty:
        return empty, empty, int((~small).sum())
    radix = int(own2.max()) + 1
    packed = np.unique(pairs["row1"].to_numpy(np.int64) * radix
                       + pairs["row2"].to_numpy(np.int64))
    row1, row2 = np.divmod(packed, radix)
    return row1.astype(np.int64), row2.astype(np.int64), int((~small).sum())


def _sorted_counts(values: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], IntArray]:
    """Distinct values of a sorted array and how often each occurs."""
    if values.size == 0:
        return values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return values[starts], np.diff(np.append(starts, values.size)).astype(np.int64)




def _component_differs(a: Sequence[str], b: Sequence[str], components: Sequence[int]
                       ) -> npt.NDArray[np.bool_]:
    """Whether keys a[i], b[i] (both of the components' total length) differ in exactly one
    component (vectorised over the fixed-width UTF-32 code points)."""
    width = int(sum(components))
    if not a or width == 0:
        return np.zeros(len(a), dtype=bool)
    ua = np.asarray(a, dtype=f"<U{width}")
    ub = np.asarray(b, dtype=f"<U{width}")
    va = ua.view(np.uint32).reshape(len(a), width)
    vb = ub.view(np.uint32).reshape(len(b), width)
    lens_ok = (np.char.str_len(ua) == width) & (np.char.str_len(ub) == width)
    bounds = np.cumsum([0, *components])
    differs = np.stack([(va[:, s:e] != vb[:, s:e]).any(axis=1)
                        for s, e in itertools.pairwise(bounds)], axis=1)
    return np.asarray(lens_ok & (differs.sum(axis=1) == 1), dtype=bool)


def find_candidates(keys1: pa.LargeStringArray, keys2: pa.LargeStringArray,
                    rows1: IntArray, rows2: IntArray,
                    components: Sequence[int] = ()) -> Candidates:
    """Candidate pairs between the keys at positions ``rows1`` (wave 1) and ``rows2``.

    ``keys1``/``keys2`` are the normalised keys of every row of each wave; only the rows
    listed (those without an exact partner) are searched. Returns positions into the waves.
    """
    sub1 = keys1.take(pa.array(rows1, type=pa.int64()))
    sub2 = keys2.take(pa.array(rows2, type=pa.int64()))
    s1, o1 = _blocking_codes(sub1, components)
    s2, o2 = _blocking_codes(sub2, components)
    i1, i2, skipped = _join(s1, o1, s2, o2)
    empty = np.empty(0, np.int64)
    if i1.size == 0:
        return Candidates(empty, empty, empty, empty, skipped)
    a = sub1.take(pa.array(i1)).to_pylist()
    b = sub2.take(pa.array(i2)).to_pylist()
    fa = [x.translate(_FOLD) for x in a]
    fb = [x.translate(_FOLD) for x in b]
    lev = cpdist(a, b, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    osa = cpdist(a, b, scorer=OSA.distance, dtype=np.int64, workers=1)
    fosa = cpdist(fa, fb, scorer=OSA.distance, dtype=np.int64, workers=1)
    comp = (_component_differs(a, b, components) if len(components) > 1
            else np.zeros(len(a), dtype=bool))
    klass = np.full(len(a), -1, dtype=np.int64)
    swap = (osa == 1) & (lev == 2)
    klass[comp] = 3
    klass[(fosa == 1) & (osa > 0) & ~swap] = 1  # one edit after folding look-alikes
    klass[swap] = 2
    klass[lev == 1] = 1
    klass[(fosa == 0) & (osa > 0)] = 0
    keep = klass >= 0
    distance = np.asarray(osa, dtype=np.int64)
    return Candidates(rows1[i1[keep]], rows2[i2[keep]], klass[keep], distance[keep], skipped)


# -- the score ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldWeights:
    """Fellegi-Sunter weights (log2 likelihood ratios) of one agreement field."""

    name: str
    m: float            #: P(agree | same person), from the exact links
    u: float            #: P(agree | different people), from the unmatched rows' frequencies
    agree: float        #: log2(m / u)
    disagree: float     #: log2((1 - m) / (1 - u))


def field_weights(name: str, codes1: IntArray, codes2: IntArray, linked1: IntArray,
                  linked2: IntArray, unmatched1: IntArray, unmatched2: IntArray,
                  n_levels: int) -> FieldWeights:
    """The weights of one field from integer codes (-1 missing) of both waves.

    ``m`` is the share of exact links whose two rows agree (with one pseudo-agreement and
    one pseudo-disagreement: (a + 1) / (n + 2)); ``u`` is the chance that a random unmatched
    wave-1 row and a random unmatched wave-2 row agree, sum_k p1(k) p2(k), from the counts
    of the values among the unmatched rows (missing values left out).
    """
    a, b = codes1[linked1], codes2[linked2]
    both = (a >= 0) & (b >= 0)
    m = (float(np.sum(a[both] == b[both])) + 1.0) / (float(both.sum()) + 2.0)
    m = min(max(m, 0.5), 0.999)
    x, y = codes1[unmatched1], codes2[unmatched2]
    p1 = np.bincount(x[x >= 0], minlength=n_levels).astype(np.float64)
    p2 = np.bincount(y[y >= 0], minlength=n_levels).astype(np.float64)
    if p1.sum() > 0 and p2.sum() > 0:
        u = float(np.dot(p1 / p1.sum(), p2 / p2.sum()))
    else:
        u = 1.0 / max(n_levels, 1)
    u = min(max(u, 1e-4), 0.99)
    m = max(m, u)  # agreement never counts against a link
    return FieldWeights(name, m, u, math.log2(m / u), math.log2((1.0 - m) / (1.0 - u)))


def key_weights(n_class: IntArray, n_decoy: IntArray, n_unmatched1: int,
                n_unmatched2: int, n_linked2: int) -> FloatArray:
    """Key-class weights: log2(m_c / lambda_c), lambda_c = expected chance neighbours.

    ``n_decoy[c]`` is the number of class-``c`` candidates between the unmatched wave-1 keys
    and the wave-2 keys of *exact links* (other people's keys, so every such candidate is
    chance); the chance rate per pair is ``(n_decoy + 0.5) / (n_unmatched1 * n_linked2)``,
    and a wave-1 key meets ``lambda_c = rate * n_unmatched2`` class-``c`` keys among the
    unmatched wave-2 keys by chance. ``m_c = 1 / len(KEY_CLASSES)``: every kind of error
    is taken as equally likely for a returner.
    """
    del n_class  # the weight does not use the candidates themselves (they include matches)
    pairs = max(n_unmatched1, 1) * max(n_linked2, 1)
    rate = (np.asarray(n_decoy, dtype=np.float64) + 0.5) / pairs
    lam = rate * max(n_unmatched2, 1)
    return np.asarray(np.log2((1.0 / len(KEY_CLASSES)) / lam), dtype=np.float64)
