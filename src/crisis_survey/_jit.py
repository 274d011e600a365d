"""Compiled kernels (private): answer slots and packed keys in one pass per item, one
counting pass per pack, and the exact signed-rank distributions.

Every count :func:`~crisis_survey.compare.compare_waves` needs is a histogram over a small
integer key (see :mod:`crisis_survey.compare._study`). numpy builds such a key only in
several temporary passes (the slot of every answer alone takes eight byte-wide passes), and
``np.bincount`` then converts the key to ``intp``, scans it for its range and counts it while
holding the GIL.
These kernels, compiled by numba, do the same work in single passes that the compiler
vectorises (``nogil``, so two threads really count at once; ``cache=True``, so the compiled
code is stored beside this file, or in numba's user cache where that is not writable, and later
processes load it instead of compiling):

``wave_digit(pdigit, digit, codes, reasons, lo, hi, top, radix, first, pfirst)``
    for every row, the answer's *slot*: ``code + 1`` for an answer (``code >= 0``), ``top``
    for a missing answer whose missing-reason code lies in ``lo..hi`` (the excluded codes:
    "don't know", ...; ``top = 0`` when there are none) and ``0`` for any other missing
    answer; folds it into the wave pack's key, ``digit = digit * radix + slot``
    (``digit = slot`` when ``first``), and into the row's key of the item's pair pack,
    ``pdigit = pdigit * radix + slot`` (``pdigit = slot`` when ``pfirst``).
``pair_count(base, stride, digit1, digit2, pos1, pos2, radix, out)``
    the pairs' count of one pair pack: ``out[base * stride + digit1[pos1] * radix +
    digit2[pos2]] += 1`` for every pair, the two waves' pack keys read at the pairs' row
    positions (one read of each wave's key per pair and pack, not one per item); returns
    how many keys fell outside ``out``, as ``count``.
``by_cells(acc, codes, levels, first)``
    the layout's by-cell of every row, one by-column at a time: ``acc = code`` (``first``) or
    ``acc = acc * levels + code``, -1 wherever a value is missing.
``spare_cells(acc, spare, counts)``
    rows without a by-cell (-1) get the spare cell ``spare``; ``counts[cell] += 1`` for every
    row (which by-cells hold anyone).
``row_keys(out, cells, linked)``
    the first digit of every row's counting key: ``out = cell * 2 + linked``.
``count(base, stride, digit, out)``
    ``out[base * stride + digit] += 1`` for every row; returns how many keys fell outside
    ``out`` (always 0 for keys built as above; the caller raises otherwise, so a wrong key can
    never write outside the array).
``signed_rank_pmfs(scores2, mult, weights, offsets, pmf, old)``
    the exact null distribution of the doubled signed-rank statistic of every row
    (:mod:`crisis_survey.stats._exact`): per distinct absolute difference ``j`` (doubled score
    ``scores2[c, j]``, ``mult[c, j]`` differences) one convolution
    ``pmf[t + k * step] += weights[k] * old[t]`` with the Binomial(m, 1/2) weights stored at
    ``weights[offsets[c, j]:]``; the same operations in the same order as numpy slices would
    do them (so the same bits), without a Python call per factor or per sample.
``rank_sum_exact_ps(counts, scores2, n_take, observed, center, alternative, comb, out)``
    the exact conditional p-value of the doubled rank sum of every row
    (:func:`crisis_survey.stats._exact.rank_sum_exact_ps`): with tied values the sum is
    ``sum_v a_v * scores2[v]``, ``a_v`` of the ``counts[v]`` observations at value ``v`` taken,
    with weight ``prod_v C(counts[v], a_v)`` (``comb`` holds the binomial coefficients); every
    allocation ``a`` of ``n_take`` is enumerated (the last value takes what is left), and the
    weights of the sums at least as extreme as ``observed`` (``alternative`` 0 two-sided, 1
    less, 2 greater; ``center`` is twice the expected doubled sum) are added up.

``nchg_moments(logdc, starts, widths, slo, centre, theta, rows, mode, out)``
    the noncentral hypergeometric distribution of the first cell of every 2 x 2 table ``r``
    in ``rows`` (:func:`crisis_survey.stats._contingency._conditional_odds_ratio_batch`),
    at log odds ratio ``theta[i]``: its log weights ``logdc[starts[r]:starts[r] +
    widths[r]]`` at the counts ``slo[r], slo[r] + 1, ...``; density ``exp(logdc + theta *
    count - max)`` normalised, as the one-table function computes it. ``out[i]`` gets, for
    ``mode`` 0, ``E[X] - centre``, ``Var X`` and the third central moment (the mean and its
    first two derivatives in ``theta``); for ``mode`` 1 (``X >= centre``) or 2 (``X <=
    centre``) the tail probability and its first two derivatives
    (``E[1(X - mu)]``, ``E[1(X - mu)^2] - P Var X``); then the largest log density and the
    log densities at the first and last count (the window check), and ``Var X``. The log
    density is
    concave in the count: its peak is found by bisection on its slope, and the sums run
    from the peak outwards until the density is :data:`NCHG_CUT` below it (the numpy twin
    adds every count; the part left out is below 1e-20 of the sums).
``nchg_log_weights(lf, m, nn, k, slo, starts, widths, out)``
    those log weights, ``log C(m, s) + log C(nn, k - s)``, from the table of log factorials
    ``lf`` (``lf[i] = gammaln(i + 1)``), subtracted in the order of the gammaln reference
    (so the same bits).

The kernels are plain Python functions here (they run uncompiled, slowly and with the same
results, under ``NUMBA_DISABLE_JIT=1``); :func:`kernels` compiles them on first use, so
importing crisis_survey does not import numba. Importing numba and loading the cached kernels
costs a process about 0.3 s of CPU, more than the counting itself below some
:data:`SMALL_ROWS` rows (the shipped sample has about 1,000): :func:`kernels_for` gives small
inputs the same operations as numpy array operations (:func:`numpy_kernels`, the same
integers and the same bits, compared with the compiled kernels in ``tests/test_jit.py``).
Counts are exact integers, so results do not depend on compilation or thread scheduling;
``tests/test_compare.py`` checks them against one ``np.bincount`` per item.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["Kernels", "kernels"]


def _wave_digit(pdigit: Any, digit: Any, codes: Any, reasons: Any, lo: Any, hi: Any,
                top: Any, radix: int, first: bool, pfirst: bool) -> None:
    for i in range(codes.size):
        c = codes[i]
        r = reasons[i]
        other = top if (r >= lo) & (r <= hi) else 0
        slot = c + 1 if c >= 0 else other
        if first:
            digit[i] = slot
        else:
            digit[i] = digit[i] * radix + slot
        if pfirst:
            pdigit[i] = slot
        else:
            pdigit[i] = pdigit[i] * radix + slot


def _pair_count(base: Any, stride: int, digit1: Any, digit2: Any, pos1: Any, pos2: Any,
                radix: int, out: Any) -> int:
    size = out.size
    outside = 0
    for p in range(pos1.size):
        key = base[p] * stride + digit1[pos1[p]] * radix + digit2[pos2[p]]
        if key < size:
            out[key] += 1
        else:
            outside += 1
    return outside


def _count(base: Any, stride: int, digit: Any, out: Any) -> int:
    size = out.size
    outside = 0
    for i in range(digit.size):
        key = base[i] * stride + digit[i]
        if key < size:
            out[key] += 1
        else:
            outside += 1
    return outside


def _by_cells(acc: Any, codes: Any, levels: int, first: bool) -> None:
    for i in range(codes.size):
        c = codes[i]
        if first:
            acc[i] = c if c >= 0 else -1
        else:
            a = acc[i]
            acc[i] = a * levels + c if (a >= 0) & (c >= 0) else -1


def _spare_cells(acc: Any, spare: int, counts: Any) -> None:
    for i in range(acc.size):
        a = acc[i]
        if a < 0:
            a = spare
            acc[i] = a
        counts[a] += 1


def _row_keys(out: Any, cells: Any, linked: Any) -> None:
    for i in range(cells.size):
        out[i] = cells[i] * 2 + linked[i]


def _signed_rank_pmfs(scores2: Any, mult: Any, weights: Any, offsets: Any, pmf: Any,
                      old: Any) -> None:
    cells, factors = mult.shape
    for c in range(cells):
        row = pmf[c]
        row[:] = 0.0
        row[0] = 1.0
        top = 0  # highest reachable doubled sum so far
        for j in range(factors):
            m = mult[c, j]
            if m == 0:
                continue
            step = scores2[c, j]
            for t in range(top + 1):
                old[t] = row[t]
                row[t] = 0.0
            for k in range(m + 1):
                w = weights[offsets[c, j] + k]
                at = k * step
                for t in range(top + 1):
                    row[at + t] += w * old[t]
            top += m * step


def _rank_sum_exact_ps(counts: Any, scores2: Any, n_take: Any, observed: Any, center: Any,
                       alternative: int, comb: Any, out: Any) -> None:
    n_rows, width = counts.shape
    a = [0] * (width + 1)
    rem = [0] * (width + 1)
    part = [0] * (width + 1)
    weight = [0.0] * (width + 1)
    suffix = [0] * (width + 1)
    for row in range(n_rows):
        c = counts[row]
        sc = scores2[row]
        total = 0
        for v in range(width):
            total += c[v]
        suffix[width] = 0
        for v in range(width - 1, -1, -1):
            suffix[v] = suffix[v + 1] + c[v]
        obs = observed[row]
        obs_dev = abs(2 * obs - center[row])
        if alternative == 0 and obs_dev == 0:
            out[row] = 1.0
            continue
        last = width - 1
        hit = 0.0
        if last == 0:  # one value: a single possible sum
            hit = 1.0
        else:
            rem[0] = n_take[row]
            part[0] = 0
            weight[0] = 1.0
            i = 0
            a[0] = max(0, rem[0] - suffix[1]) - 1
            while i >= 0:
                a[i] += 1
                if a[i] > min(c[i], rem[i]):
                    i -= 1
                    continue
                r = rem[i] - a[i]
                s = part[i] + a[i] * sc[i]
                w = weight[i] * comb[c[i], a[i]]
                if i == last - 1:
                    t2 = s + r * sc[last]
                    w = w * comb[c[last], r]
                    if alternative == 0:
                        take = abs(2 * t2 - center[row]) >= obs_dev
                    elif alternative == 1:
                        take = t2 <= obs
                    else:
                        take = t2 >= obs
                    if take:
                        hit += w
                else:
                    i += 1
                    rem[i] = r
                    part[i] = s
                    weight[i] = w
                    a[i] = max(0, r - suffix[i + 1]) - 1
            hit = hit / comb[total, n_take[row]]
        out[row] = min(max(hit, 0.0), 1.0)


#: how far (natural log) below its peak the density of a table may be where
#: :func:`_nchg_moments` stops adding (e^-50 = 2e-22 of the peak: no digit of the sums)
NCHG_CUT = 50.0


def _nchg_moments(logdc: Any, starts: Any, widths: Any, slo: Any, centre: Any, theta: Any,
                  rows: Any, mode: int, out: Any) -> None:
    for i in range(rows.size):
        r = rows[i]
        th = theta[i]
        o = starts[r]
        w = widths[r]
        s0 = slo[r]
        # the log density is concave in the count: its peak by bisection on the slope
        lo = 0
        hi = w - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if logdc[o + mid + 1] + th * float(s0 + mid + 1) > logdc[o + mid] + th * float(
                    s0 + mid):
                lo = mid + 1
            else:
                hi = mid
        peak = lo
        top = logdc[o + peak] + th * float(s0 + peak)
        floor = top - NCHG_CUT
        c = float(centre[r])
        cut = centre[r] - s0
        z = 0.0
        m1 = 0.0
        m2 = 0.0
        m3 = 0.0
        p0 = 0.0
        p1 = 0.0
        p2 = 0.0
        # from the peak outwards, up then down, until the density is NCHG_CUT below it
        for side in range(2):
            j = peak if side == 0 else peak - 1
            step = 1 if side == 0 else -1
            while 0 <= j < w:
                s = float(s0 + j)
                d = logdc[o + j] + th * s
                if d < floor:
                    break
                e = math.exp(d - top)
                u = s - c
                eu = e * u
                z += e
                m1 += eu
                m2 += eu * u
                m3 += eu * u * u
                if (mode == 1 and j >= cut) or (mode == 2 and j <= cut):
                    p0 += e
                    p1 += eu
                    p2 += eu * u
                j += step
        mu = m1 / z
        var = m2 / z - mu * mu
        if mode == 0:
            out[i, 0] = mu
            out[i, 1] = var
            out[i, 2] = m3 / z - 3.0 * mu * (m2 / z) + 2.0 * mu * mu * mu
        else:
            prob = p0 / z
            out[i, 0] = prob
            out[i, 1] = p1 / z - prob * mu
            out[i, 2] = (p2 - 2.0 * mu * p1 + mu * mu * p0) / z - prob * var
        out[i, 3] = top
        out[i, 4] = logdc[o] + th * float(s0)
        out[i, 5] = logdc[o + w - 1] + th * float(s0 + w - 1)
        out[i, 6] = var


def _nchg_log_weights(lf: Any, m: Any, nn: Any, k: Any, slo: Any, starts: Any, widths: Any,
                      out: Any) -> None:
    for r in range(m.size):
        gm = lf[m[r]]
        gn = lf[nn[r]]
        o = starts[r]
        for j in range(widths[r]):
            s = slo[r] + j
            out[o + j] = (gm - lf[s] - lf[m[r] - s]) + (gn - lf[k[r] - s] - lf[nn[r] - k[r] + s])


Kernel = Callable[..., Any]

#: Rows (or, for the signed-rank distributions, loop steps) below which
#: :func:`kernels_for` gives the numpy kernels: loading numba costs more than it saves.
SMALL_ROWS = 50_000


@dataclass(frozen=True)
class Kernels:
    """The compiled kernels (see the module docstring)."""

    by_cells: Kernel
    spare_cells: Kernel
    wave_digit: Kernel
    pair_count: Kernel
    count: Kernel
    row_keys: Kernel
    signed_rank_pmfs: Kernel
    rank_sum_exact_ps: Kernel
    nchg_moments: Kernel
    nchg_log_weights: Kernel


@cache
def kernels() -> Kernels:
    """The kernels compiled by numba (``nogil``, cached on disk): compiled once per process
    and argument types, or loaded from numba's cache."""
    import numba

    def jit(fn: Kernel) -> Kernel:
        compiled: Kernel = numba.njit(nogil=True, cache=True)(fn)
        return compiled

    return Kernels(by_cells=jit(_by_cells), spare_cells=jit(_spare_cells),
                   wave_digit=jit(_wave_digit), pair_count=jit(_pair_count),
                   count=jit(_count), row_keys=jit(_row_keys),
                   signed_rank_pmfs=jit(_signed_rank_pmfs),
                   rank_sum_exact_ps=jit(_rank_sum_exact_ps),
                   nchg_moments=jit(_nchg_moments),
                   nchg_log_weights=jit(_nchg_log_weights))


def kernels_for(rows: int) -> Kernels:
    """The kernels for inputs of ``rows`` rows: :func:`numpy_kernels` below
    :data:`SMALL_ROWS`, else the compiled :func:`kernels`."""
    return numpy_kernels() if rows < SMALL_ROWS else kernels()


# -- the same kernels as numpy array operations (small inputs: no numba to load) -------------
def _np_wave_digit(pdigit: Any, digit: Any, codes: Any, reasons: Any, lo: Any, hi: Any,
                   top: Any, radix: int, first: bool, pfirst: bool) -> None:
    import numpy as np

    other = np.where((reasons >= lo) & (reasons <= hi), np.int64(top), 0)
    slot = np.where(codes >= 0, codes.astype(np.int64) + 1, other)
    digit[:] = slot if first else digit.astype(np.int64) * int(radix) + slot
    pdigit[:] = slot if pfirst else pdigit.astype(np.int64) * int(radix) + slot


def _np_pair_count(base: Any, stride: int, digit1: Any, digit2: Any, pos1: Any, pos2: Any,
                   radix: int, out: Any) -> int:
    import numpy as np

    key = (base.astype(np.int64) * int(stride) + digit1[pos1].astype(np.int64) * int(radix)
           + digit2[pos2])
    inside = key < out.size
    np.add(out, np.bincount(key[inside], minlength=out.size), out=out, casting="unsafe")
    return int(key.size - np.count_nonzero(inside))


def _np_count(base: Any, stride: int, digit: Any, out: Any) -> int:
    import numpy as np

    key = base.astype(np.int64) * int(stride) + digit
    inside = key < out.size
    np.add(out, np.bincount(key[inside], minlength=out.size), out=out, casting="unsafe")
    return int(key.size - np.count_nonzero(inside))


def _np_by_cells(acc: Any, codes: Any, levels: int, first: bool) -> None:
    import numpy as np

    if first:
        acc[:] = np.where(codes >= 0, codes, -1)
    else:
        acc[:] = np.where((acc >= 0) & (codes >= 0), acc.astype(np.int64) * int(levels) + codes,
                          -1)


def _np_spare_cells(acc: Any, spare: int, counts: Any) -> None:
    import numpy as np

    acc[acc < 0] = spare
    np.add(counts, np.bincount(acc, minlength=counts.size), out=counts, casting="unsafe")


def _np_row_keys(out: Any, cells: Any, linked: Any) -> None:
    out[:] = cells * 2 + linked


def _np_signed_rank_pmfs(scores2: Any, mult: Any, weights: Any, offsets: Any, pmf: Any,
                         old: Any) -> None:
    # the kernel's loops over t as slices: each element sees the same operations in the
    # same order (the kernel was written to give numpy's bits)
    cells, factors = mult.shape
    for c in range(cells):
        row = pmf[c]
        row[:] = 0.0
        row[0] = 1.0
        top = 0
        for j in range(factors):
            m = int(mult[c, j])
            if m == 0:
                continue
            step = int(scores2[c, j])
            old[:top + 1] = row[:top + 1]
            row[:top + 1] = 0.0
            for k in range(m + 1):
                at = k * step
                row[at:at + top + 1] += weights[offsets[c, j] + k] * old[:top + 1]
            top += m * step


def _np_nchg_moments(logdc: Any, starts: Any, widths: Any, slo: Any, centre: Any, theta: Any,
                     rows: Any, mode: int, out: Any) -> None:
    # the kernel's sums per table as segment sums over the tables' windows laid end to end
    import numpy as np

    w = widths[rows]
    seg = np.repeat(np.arange(rows.size), w)
    first = np.cumsum(w) - w
    j = np.arange(seg.size) - first[seg]
    r = rows[seg]
    s = (slo[r] + j).astype(np.float64)
    d = logdc[starts[r] + j] + theta[seg] * s
    top = np.maximum.reduceat(d, first)
    e = np.exp(d - top[seg])
    cut = centre[r] - slo[r]
    u = s - centre[r]
    eu = e * u

    def total(v: Any) -> Any:
        return np.bincount(seg, weights=v, minlength=rows.size)

    z, m1, m2 = total(e), total(eu), total(eu * u)
    mu = m1 / z
    var = m2 / z - mu * mu
    if mode == 0:
        out[:, 0] = mu
        out[:, 1] = var
        out[:, 2] = total(eu * u * u) / z - 3.0 * mu * (m2 / z) + 2.0 * mu * mu * mu
    else:
        inside = (j >= cut) if mode == 1 else (j <= cut)
        p0, p1, p2 = (total(np.where(inside, v, 0.0)) for v in (e, eu, eu * u))
        prob = p0 / z
        out[:, 0] = prob
        out[:, 1] = p1 / z - prob * mu
        out[:, 2] = (p2 - 2.0 * mu * p1 + mu * mu * p0) / z - prob * var
    last = first + w - 1
    out[:, 3] = top
    out[:, 4] = d[first]
    out[:, 5] = d[last]
    out[:, 6] = var


def _np_nchg_log_weights(lf: Any, m: Any, nn: Any, k: Any, slo: Any, starts: Any, widths: Any,
                         out: Any) -> None:
    import numpy as np

    table = np.repeat(np.arange(m.size), widths)
    s = slo[table] + (np.arange(table.size) - starts[table])
    mt, nt, kt = m[table], nn[table], k[table]
    out[:] = (lf[mt] - lf[s] - lf[mt - s]) + (lf[nt] - lf[kt - s] - lf[nt - kt + s])


def _np_rank_sum_exact_ps(*args: Any) -> None:  # an enumeration: the compiled kernel
    kernels().rank_sum_exact_ps(*args)


@cache
def numpy_kernels() -> Kernels:
    """The kernels as numpy array operations (the same results as :func:`kernels`, without
    loading numba; the exact rank-sum enumeration stays compiled)."""
    return Kernels(by_cells=_np_by_cells, spare_cells=_np_spare_cells,
                   wave_digit=_np_wave_digit, pair_count=_np_pair_count, count=_np_count,
                   row_keys=_np_row_keys, signed_rank_pmfs=_np_signed_rank_pmfs,
                   rank_sum_exact_ps=_np_rank_sum_exact_ps, nchg_moments=_np_nchg_moments,
                   nchg_log_weights=_np_nchg_log_weights)
