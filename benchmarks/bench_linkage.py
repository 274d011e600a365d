"""Benchmark: tolerant linkage's candidate search at 10^4, 10^5 and 10^6 keys per wave.

Run: ``PYTHONPATH=src python benchmarks/bench_linkage.py [--max 1000000]``.

Each wave has n keys of the self-generated-code form ``LLLL-DDDD``; half of wave 2 are
wave-1 keys (returners), a tenth of those retyped with one error (edit, swap, look-alike,
component), the rest new. The script times ``find_candidates`` (blocking and rapidfuzz
distances, what ``link_waves`` adds to exact linkage) on the keys without an exact partner,
and prints the time per key relative to the smallest size in the same run: a ratio near 1
means linear growth (an all-pairs search would grow 10x per step).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from crisis_survey.link._candidates import find_candidates
from crisis_survey.link._keys import normalise_array


def _keys(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = rng.integers(65, 91, size=(n, 4), dtype=np.uint8)
    digits = rng.integers(48, 58, size=(n, 4), dtype=np.uint8)
    mat = np.concatenate([letters, digits], axis=1)
    return mat


def _retype(rng: np.random.Generator, mat: np.ndarray) -> np.ndarray:
    out = mat.copy()
    n = len(out)
    pos = rng.integers(0, 8, size=n)
    kind = rng.integers(0, 3, size=n)
    rows = np.arange(n)
    sub = kind == 0  # substitution by a look-alike or another character
    out[rows[sub], pos[sub]] = rng.integers(65, 91, size=int(sub.sum()), dtype=np.uint8)
    swap = kind == 1
    p = np.minimum(pos[swap], 6)
    a = out[rows[swap], p].copy()
    out[rows[swap], p] = out[rows[swap], p + 1]
    out[rows[swap], p + 1] = a
    comp = kind == 2
    c = rng.integers(0, 2, size=int(comp.sum())) * 2
    out[rows[comp], c] = rng.integers(65, 91, size=int(comp.sum()), dtype=np.uint8)
    out[rows[comp], c + 1] = rng.integers(65, 91, size=int(comp.sum()), dtype=np.uint8)
    return out


def _strings(mat: np.ndarray) -> pa.LargeStringArray:
    fixed = np.ascontiguousarray(mat).view(f"S{mat.shape[1]}").ravel()
    arrow = pa.array(fixed, type=pa.binary()).cast(pa.large_string())
    return normalise_array(pd.Series(pd.array(arrow, dtype="str")))


def run(n: int, seed: int = 1) -> tuple[float, int, int]:
    rng = np.random.default_rng(seed)
    w1 = _keys(rng, n)
    back = rng.choice(n, size=n // 2, replace=False)
    returners = w1[back]
    typo = rng.random(len(returners)) < 0.1
    returners[typo] = _retype(rng, returners[typo])
    w2 = np.concatenate([returners, _keys(rng, n - len(returners))])
    k1, k2 = _strings(w1), _strings(w2)
    # the rows without an exact partner, as link_waves passes them
    exact = np.isin(np.arange(n), back[~typo])
    only1 = np.flatnonzero(~exact)
    only2 = np.concatenate([np.flatnonzero(typo), np.arange(len(returners), n)])
    start = time.perf_counter()
    cand = find_candidates(k1, k2, only1, only2, (2, 2, 2, 2))
    return time.perf_counter() - start, len(cand), int(typo.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1_000_000)
    args = parser.parse_args()
    sizes = [n for n in (10_000, 100_000, 1_000_000) if n <= args.max]
    base = None
    print(f"{'keys per wave':>14} {'seconds':>9} {'us per key':>11} {'ratio':>6} "
          f"{'candidates':>11} {'retyped':>8}")
    for n in sizes:
        seconds, found, retyped = run(n)
        per_key = seconds / n * 1e6
        base = base or per_key
        print(f"{n:>14,} {seconds:>9.2f} {per_key:>11.2f} {per_key / base:>6.2f} "
              f"{found:>11,} {retyped:>8,}")


if __name__ == "__main__":
    main()
