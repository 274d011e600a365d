"""Exact conditional (permutation) null distributions of rank statistics (private).

Both distributions are computed from counts per distinct value, never from individual
observations, and on *doubled* scores so that midranks are integers: a tie group that
occupies ordinary ranks ``start + 1, ..., start + c`` has midrank ``start + (c + 1) / 2`` and
doubled score ``2 * start + c + 1``.

Signed-rank statistic
    Given the absolute differences (and, for Pratt's method, the zeros) the signs of the
    non-zero differences are independent fair coins under the null hypothesis. With ``m_j``
    non-zero differences sharing the doubled score ``s_j``, the number ``K_j`` of them that are
    positive is Binomial(m_j, 1/2), and ``2V = sum_j s_j K_j``. Its generating function is
    ``prod_j 2^{-m_j} sum_k C(m_j, k) t^{k s_j}``: one polynomial convolution per distinct
    value. This is the distribution coin's ``wilcoxsign_test(distribution = "exact")``
    computes (Streitberg-Roehmel shift algorithm), conditional on the observed ties and zeros.

Rank-sum statistic
    Given the pooled sample, the ``n`` members of the smaller sample are a random subset of
    size ``n`` of the ``N`` pooled observations. Per distinct value ``j`` (count ``c_j``,
    doubled midrank ``s_j``) the number ``A_j`` of subset members taking that value is
    multivariate hypergeometric, and the doubled rank sum is ``sum_j s_j A_j``. A dynamic
    programme over distinct values keeps ``P[m, t]`` = P(partial doubled sum = t | m members
    among the values seen so far), and moves to the next value with hypergeometric weights
    ``C(C_prev, m - a) C(c_j, a) / C(C_prev + c_j, m)``; every step is a handful of numpy
    slice operations over the whole ``(m, t)`` table. This is the distribution coin's
    ``wilcox_test(distribution = "exact")`` computes.

Costs and limits
    The signed-rank table has ``n_nonzero (n_nonzero + 1) + 1`` cells at most and costs about
    ``n_nonzero`` vectorised passes over it, so O(n^3) elementary operations; the rank-sum
    table has ``(n_small + 1) x (doubled maximum rank sum + 1)`` cells and costs about
    ``N`` passes, O(n_small^2 N^2) operations. Requests whose estimated operation count exceeds
    :data:`MAX_EXACT_OPERATIONS` or whose table exceeds :data:`MAX_EXACT_CELLS` raise
    :class:`~crisis_survey.CrisisSurveyError`. In practice the limits are about 2,000
    non-zero differences for the signed-rank test (about 1,800 without ties) and about 190
    observations in each of two equal samples for the rank-sum test (more in the larger
    sample when the other is small: 40 against 1,000 is fine). The normal
    approximation is accurate long before that.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from scipy.special import binom as _binomial_coefficient
from scipy.special import gammaln
from scipy.stats import binom

from .._errors import CrisisSurveyError
from .._jit import SMALL_ROWS, kernels, numpy_kernels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "MAX_EXACT_CELLS",
    "MAX_EXACT_OPERATIONS",
    "exact_p_value",
    "exact_p_values",
    "rank_sum_exact_ps",
    "rank_sum_pmf",
    "rank_sum_work",
    "signed_rank_pmf",
    "signed_rank_pmfs",
    "signed_rank_work",
]

#: Largest number of table cells (float64) an exact distribution may allocate (about 240 MB).
MAX_EXACT_CELLS: int = 30_000_000
#: Largest estimated number of elementary multiply-adds an exact distribution may take
#: (a few seconds on one core).
MAX_EXACT_OPERATIONS: float = 4e9


def doubled_midranks(counts: IntArray, offset: int = 0) -> IntArray:
    """Doubled midranks ``2 * start + c + 1`` of consecutive tie groups of sizes ``counts``.

    ``offset`` is the number of observations ranked below the first group (the zeros under
    Pratt's method).
    """
    counts = np.asarray(counts, dtype=np.int64)
    start = np.cumsum(counts) - counts + offset
    return np.asarray(2 * start + counts + 1, dtype=np.int64)


# -- signed-rank statistic ---------------------------------------------------------------


def signed_rank_work(scores2: IntArray, mult: IntArray) -> tuple[IntArray, IntArray]:
    """Table cells and estimated multiply-adds of :func:`signed_rank_pmf` for every row of
    ``scores2`` / ``mult`` (2-D, one sample a row; 1-D for one sample); zero multiplicities
    take no work."""
    scores2 = np.atleast_2d(np.asarray(scores2, dtype=np.int64))
    mult = np.atleast_2d(np.asarray(mult, dtype=np.int64))
    support = np.cumsum(scores2 * mult, axis=1) + 1  # support length after each factor
    cells = support[:, -1] if support.shape[1] else np.ones(len(mult), dtype=np.int64)
    work = np.where(mult > 0, (mult + 1) * support, 0).sum(axis=1)
    return np.asarray(cells, dtype=np.int64), np.asarray(work, dtype=np.int64)


def _half_binomial(m: int) -> FloatArray:
    """Binomial(m, 1/2) probabilities of 0..m: the coefficients times ``2**-m`` (a ufunc call,
    exactly representable, so exact to one rounding) up to m = 50, else scipy's distribution."""
    k = np.arange(m + 1)
    if m <= 50:  # C(50, 25) < 2**53
        return np.asarray(_binomial_coefficient(m, k) * 2.0**-m, dtype=np.float64)
    return np.asarray(binom.pmf(k, m, 0.5), dtype=np.float64)


def signed_rank_pmf(scores2: IntArray, mult: IntArray) -> FloatArray:
    """Null distribution of the doubled signed-rank statistic ``2V``.

    Parameters
    ----------
    scores2
        Doubled (integer) scores of the distinct absolute differences.
    mult
        How many non-zero differences share each score.

    Returns
    -------
    numpy.ndarray
        ``pmf[t] = P(2V = t)`` for ``t = 0, ..., sum(scores2 * mult)``.
    """
    pmf, sizes = signed_rank_pmfs(np.asarray(scores2, dtype=np.int64)[None, :],
                                  np.asarray(mult, dtype=np.int64)[None, :])
    return pmf[0, : int(sizes[0])]


def signed_rank_pmfs(scores2: IntArray, mult: IntArray) -> tuple[FloatArray, IntArray]:
    """:func:`signed_rank_pmf` of every row of ``scores2`` / ``mult`` (2-D, one sample a row;
    zero multiplicities are skipped), computed in one compiled call.

    Returns the distributions as the rows of one array (each row zero beyond its support) and
    the length of each row's support.
    """
    scores2 = np.atleast_2d(np.asarray(scores2, dtype=np.int64))
    mult = np.atleast_2d(np.asarray(mult, dtype=np.int64))
    sizes, work = signed_rank_work(scores2, mult)
    for c in np.flatnonzero((sizes > MAX_EXACT_CELLS) | (work > MAX_EXACT_OPERATIONS)):
        _check_budget(int(sizes[c]), float(work[c]), "signed-rank",
                      f"{int(mult[c].sum())} non-zero differences")
    # Binomial(m, 1/2) weights of every multiplicity that occurs, stored once each
    distinct = np.unique(mult[mult > 0]).tolist()
    parts = [_half_binomial(int(m)) for m in distinct]
    starts = np.cumsum([0] + [len(w) for w in parts])[:-1]
    offset_of = np.zeros(int(mult.max(initial=0)) + 1, dtype=np.int64)
    offset_of[np.asarray(distinct, dtype=np.int64)] = starts
    weights = np.concatenate(parts) if parts else np.zeros(1)
    width = int(sizes.max(initial=1))
    pmf = np.empty((len(mult), width), dtype=np.float64)
    # one Python step per (row, score, multiplicity): few of them, and the numpy kernel
    # spares this process loading numba
    steps = int(np.where(mult > 0, mult + 1, 0).sum())
    k = kernels() if steps * 20 >= SMALL_ROWS or int(work.sum()) >= 50 * SMALL_ROWS else \
        numpy_kernels()
    k.signed_rank_pmfs(scores2, mult, weights, offset_of[mult], pmf,
                       np.empty(width, dtype=np.float64))
    return pmf, sizes


def width_blocks(widths: IntArray) -> Iterator[tuple[npt.NDArray[np.intp], int]]:
    """Row numbers in blocks of similar ``widths`` (within a quarter of each other, plus 32),
    each with the block's largest width: distributions stacked in one array are padded to
    the widest, and most small cells need far fewer points."""
    widths = np.asarray(widths, dtype=np.int64)
    order = np.argsort(widths, kind="stable")
    start = 0
    while start < len(order):
        cap = int(widths[order[start]] * 1.25) + 32
        stop = start + int(np.searchsorted(widths[order[start:]], cap, side="right"))
        block = order[start:stop]
        yield block, max(1, int(widths[block].max()))
        start = stop


def exact_p_values(pmf: FloatArray, observed: IntArray, twice_center: IntArray,
                   alternative: str) -> FloatArray:
    """:func:`exact_p_value` of every row of ``pmf`` (rows zero beyond their support), with
    each row's observed statistic and twice its expectation; vectorised over the rows, in
    blocks of similar support width (:func:`width_blocks`)."""
    pmf = np.atleast_2d(pmf)
    observed = np.broadcast_to(np.asarray(observed, dtype=np.int64), (pmf.shape[0],))
    twice_center = np.broadcast_to(np.asarray(twice_center, dtype=np.int64), (pmf.shape[0],))
    nonzero = pmf != 0.0
    widths = np.where(nonzero.any(axis=1),
                      pmf.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 1)
    out = np.empty(pmf.shape[0])
    for block, w in width_blocks(widths):
        out[block] = _exact_p_values_padded(pmf[block, :w], observed[block],
                                            twice_center[block], alternative)
    return out


def _exact_p_values_padded(pmf: FloatArray, observed: IntArray, twice_center: IntArray,
                           alternative: str) -> FloatArray:
    """:func:`exact_p_values` on the rows as given (the plain reference)."""
    t = np.arange(pmf.shape[1], dtype=np.int64)[None, :]
    observed = np.asarray(observed, dtype=np.int64)[:, None]
    center = np.asarray(twice_center, dtype=np.int64)[:, None]
    if alternative == "less":
        keep = t <= observed
    elif alternative == "greater":
        keep = t >= observed
    else:
        keep = np.abs(2 * t - center) >= np.abs(2 * observed - center)
    p = np.where(keep, pmf, 0.0).sum(axis=1)
    if alternative not in ("less", "greater"):
        p = np.where((2 * observed - center)[:, 0] == 0, 1.0, p)
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)


# -- rank-sum statistic ------------------------------------------------------------------


def _rank_sum_plan(
    counts: IntArray, n_take: int
) -> tuple[IntArray, int, list[tuple[int, int, int]]]:
    """Doubled scores, table width, and per value the (lo, hi, step count) of the DP."""
    counts = np.asarray(counts, dtype=np.int64)
    scores2 = doubled_midranks(counts)
    total = int(counts.sum())
    # the largest doubled rank sum of n_take observations: the top n_take doubled scores
    remaining, top_sum = n_take, 0
    for c, s in zip(counts[::-1], scores2[::-1], strict=True):
        take = min(int(c), remaining)
        top_sum += take * int(s)
        remaining -= take
        if remaining == 0:
            break
    seen = 0
    plan: list[tuple[int, int, int]] = []
    for c in counts:
        seen += int(c)
        lo = max(0, n_take - (total - seen))
        hi = min(n_take, seen)
        plan.append((lo, hi, min(int(c), n_take)))
    return scores2, top_sum + 1, plan


def rank_sum_work(counts: IntArray, n_take: int) -> tuple[int, float]:
    """Return (largest table cells, estimated multiply-adds) of :func:`rank_sum_pmf`."""
    _, width, plan = _rank_sum_plan(counts, n_take)
    cells = max((hi - lo + 1) * width for lo, hi, _ in plan) if plan else 1
    work = float(sum((steps + 1) * (hi - lo + 1) * width for lo, hi, steps in plan))
    return cells, work


def _log_choose(n: FloatArray | float, k: FloatArray) -> FloatArray:
    out: FloatArray = (
        gammaln(np.asarray(n, dtype=np.float64) + 1.0)
        - gammaln(k + 1.0)
        - gammaln(np.asarray(n, dtype=np.float64) - k + 1.0)
    )
    return out


def rank_sum_pmf(counts: IntArray, n_take: int) -> FloatArray:
    """Null distribution of the doubled rank sum of ``n_take`` of the pooled observations.

    Parameters
    ----------
    counts
        Pooled count of each distinct value, in increasing order of the value.
    n_take
        Size of the sample whose rank sum is wanted (the others form the other sample).

    Returns
    -------
    numpy.ndarray
        ``pmf[t] = P(2 T = t)`` for ``t = 0, ..., 2 * max T``, where ``T`` is the sum of the
        midranks of a uniformly random subset of size ``n_take``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    counts = counts[counts > 0]
    total = int(counts.sum())
    if not 0 <= n_take <= total:
        raise CrisisSurveyError(f"cannot take {n_take} of {total} observations")
    cells, work = rank_sum_work(counts, n_take)
    _check_budget(cells, work, "rank-sum", f"samples of {n_take} and {total - n_take}")
    scores2, width, plan = _rank_sum_plan(counts, n_take)

    # table[m - lo, t]: P(partial doubled sum = t | m chosen among the values seen so far)
    table = np.zeros((1, width), dtype=np.float64)
    table[0, 0] = 1.0
    lo_prev, hi_prev, seen = 0, 0, 0
    for c_np, s_np, (lo, hi, steps) in zip(counts, scores2, plan, strict=True):
        c, s = int(c_np), int(s_np)
        new = np.zeros((hi - lo + 1, width), dtype=np.float64)
        targets = np.arange(lo, hi + 1, dtype=np.float64)
        for a in range(steps + 1):
            # target rows m with m - a inside the previous band
            m_lo, m_hi = max(lo, lo_prev + a), min(hi, hi_prev + a)
            shift = a * s
            if m_lo > m_hi or shift >= width:
                continue
            m = targets[m_lo - lo : m_hi - lo + 1]
            log_w = (
                _log_choose(seen, m - a)
                + _log_choose(c, np.full_like(m, a))
                - _log_choose(seen + c, m)
            )
            w = np.exp(log_w)[:, None]
            src = table[m_lo - a - lo_prev : m_hi - a - lo_prev + 1, : width - shift]
            new[m_lo - lo : m_hi - lo + 1, shift:] += w * src
        table, lo_prev, hi_prev = new, lo, hi
        seen += c
    final: FloatArray = table[n_take - lo_prev]
    return final


#: Most allocations :func:`rank_sum_exact_ps` enumerates for one sample (rows above it are
#: left to :func:`rank_sum_pmf`, one at a time).
MAX_ENUMERATED: int = 2_000_000

_ALTERNATIVE_CODE = {"two-sided": 0, "less": 1, "greater": 2}


def rank_sum_enumerations(counts: IntArray, n_take: IntArray) -> FloatArray:
    """How many allocations :func:`rank_sum_exact_ps` enumerates for every row (the product
    of ``min(count, n_take) + 1`` over all values but the most frequent)."""
    c = np.sort(np.asarray(counts, dtype=np.int64), axis=1)[:, :-1]
    return np.asarray(np.prod(np.minimum(c, np.asarray(n_take)[:, None]) + 1.0, axis=1),
                      dtype=np.float64)


def rank_sum_exact_ps(count_x: IntArray, count_y: IntArray, alternative: str) -> FloatArray:
    """The exact conditional p-value of the rank sum of ``x`` for every row (counts per
    ordered value, one comparison a row), the p-value :func:`exact_p_value` gives from
    :func:`rank_sum_pmf` (to rounding), computed in one compiled call.

    With tied values the doubled rank sum is ``sum_v a_v * s_v`` (``s_v`` the doubled midrank
    of value ``v``, ``a_v`` how many of its ``c_v`` observations are in ``x``), each
    allocation having probability ``prod_v C(c_v, a_v) / C(n, n_x)``; the kernel enumerates
    the allocations (the most frequent value takes what is left), which for the few levels of
    a survey item is far less work than the distribution over every possible sum. Rows
    needing more than :data:`MAX_ENUMERATED` allocations must use :func:`rank_sum_pmf`.
    """
    cx = np.atleast_2d(np.asarray(count_x, dtype=np.int64))
    cy = np.atleast_2d(np.asarray(count_y, dtype=np.int64))
    counts = cx + cy
    scores2 = 2 * (np.cumsum(counts, axis=1) - counts) + counts + 1
    n_x = cx.sum(axis=1)
    total = counts.sum(axis=1)
    observed = (cx * scores2).sum(axis=1)
    center = 2 * n_x * (total + 1)
    order = np.argsort(counts, axis=1, kind="stable")  # the most frequent value last
    counts = np.ascontiguousarray(np.take_along_axis(counts, order, axis=1))
    scores2 = np.ascontiguousarray(np.take_along_axis(scores2, order, axis=1))
    top = int(total.max(initial=0))
    grid = np.arange(top + 1, dtype=np.float64)
    comb = np.ascontiguousarray(_binomial_coefficient(grid[:, None], grid[None, :]))
    out = np.empty(len(counts), dtype=np.float64)
    kernels().rank_sum_exact_ps(counts, scores2, n_x, observed, center,
                                _ALTERNATIVE_CODE[alternative], comb, out)
    return out


# -- p-values ----------------------------------------------------------------------------


def exact_p_value(pmf: FloatArray, observed: int, twice_center: int, alternative: str) -> float:
    """P-value of an observed value of a lattice statistic with probability function ``pmf``.

    Parameters
    ----------
    pmf
        ``pmf[t]`` is the null probability of the (doubled) statistic taking the value ``t``.
    observed
        The observed (doubled) statistic, an index into ``pmf``.
    twice_center
        Twice the null expectation of the (doubled) statistic, an integer.
    alternative
        ``"less"``: ``P(T <= t)``; ``"greater"``: ``P(T >= t)``; ``"two-sided"``: the
        probability of a value at least as far from the expectation as the observed one,
        ``P(|T - E T| >= |t - E T|)`` (coin's two-sided p-value; 1 when ``t = E T``).
    """
    if alternative == "less":
        p = float(np.sum(pmf[: observed + 1]))
    elif alternative == "greater":
        p = float(np.sum(pmf[observed:]))
    else:
        obs_dev = abs(2 * observed - twice_center)
        if obs_dev == 0:
            return 1.0
        dev = np.abs(2 * np.arange(pmf.size, dtype=np.int64) - twice_center)
        p = float(np.sum(pmf[dev >= obs_dev]))
    return min(max(p, 0.0), 1.0)


def _check_budget(cells: int, work: float, what: str, size: str) -> None:
    if cells > MAX_EXACT_CELLS or work > MAX_EXACT_OPERATIONS:
        raise CrisisSurveyError(
            f"the exact {what} distribution for {size} is too large to compute "
            f"({cells:,} table cells, about {work:.2g} operations; limits "
            f"{MAX_EXACT_CELLS:,} cells and {MAX_EXACT_OPERATIONS:.2g} operations). "
            "Use method='asymptotic' (the normal approximation is accurate at this size)."
        )
