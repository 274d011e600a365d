"""Each test of :mod:`crisis_survey.stats` computed for one by-cell from its counts (private).

A kernel takes a :class:`Cell` (the counts or moments :func:`._study.count_items` produced for
one by-cell) and returns the :class:`~crisis_survey.stats.TestResult` the public stats function
returns for that cell's raw answers. Rank and contingency tests call the stats modules' own
count- and moment-based helpers (``_signed_rank_from_counts``, ``_mann_whitney_from_counts``,
``_mcnemar_from_counts``, ``_marginal_homogeneity_from_table``, ``_chi_square_from_table``,
``_fisher_from_table``, ``_linear_trend_from_table``, ``_paired_t_from_moments``,
``_welch_t_from_moments``, ``_partially_overlapping_t_from_moments``,
``_partially_overlapping_z_from_counts``), which the public functions call too, so every
formula has one implementation; ``tests/test_compare.py`` checks every kernel against the public
function on each cell's raw data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import CrisisSurveyError
from ..stats import _contingency as ct
from ..stats import _exact as ex
from ..stats import _overlap as ov
from ..stats import _parametric as pm
from ..stats import _rank as rk
from ..stats._registry import TESTS
from ..stats._results import TestResult

FloatArray = npt.NDArray[np.float64]

__all__ = ["KERNELS", "Batch", "Cell", "p_method", "run", "run_batch"]

#: A test's options (every option of :data:`crisis_survey.stats.TESTS`, checked).
Options = Mapping[str, Any]
_NONE: Options = {}

#: how a p-value was found (the comparison table's ``method`` column; :func:`p_method`)
EXACT, ASYMPTOTIC, CORRECTED, MIDP = "exact", "asymptotic", "asymptotic, corrected", "mid-p"
T_DIST = "t distribution"


@dataclass(frozen=True)
class Cell:
    """The counts of one item in one by-cell for one design.

    Categorical items: ``table`` is the ``k x k`` table of complete pairs (wave-1 level in rows),
    ``w1``/``w2`` the per-level counts of the two samples (independent design: every answer of
    the wave; overlapping design: the answers without a partner), ``scores`` the level scores.
    Numeric items: ``table`` holds ``n, mean_x, mean_y, ssd_x, ssd_y, cross``; ``w1``/``w2``
    hold ``n, mean, ssd``; ``diff`` the moments of ``x - y``.
    """

    categorical: bool
    table: FloatArray
    w1: FloatArray
    w2: FloatArray
    scores: FloatArray
    diff: FloatArray | None = None


Moments = tuple[float, float, float]  # n, mean, sum of squared deviations


def _cat_moments(counts: FloatArray, scores: FloatArray) -> Moments:
    n = float(counts.sum())
    if n == 0:
        return 0.0, math.nan, math.nan
    mean = float(counts @ scores) / n
    return n, mean, float(counts @ (scores - mean) ** 2)


def combine(a: Moments, b: Moments) -> Moments:
    """Moments of the union of two samples (Chan et al.'s pairwise update)."""
    na, ma, sa = a
    nb, mb, sb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = mb - ma
    return n, ma + delta * nb / n, sa + sb + delta * delta * na * nb / n


def as_moments(values: FloatArray) -> Moments:
    """``(n, mean, ssd)`` from a length-3 array."""
    n, mean, ssd = (float(v) for v in values)
    return n, mean, ssd


def _pair_moments(cell: Cell) -> tuple[Moments, Moments, float]:
    """Moments of wave-1 and wave-2 answers of the complete pairs, and their cross-product."""
    if not cell.categorical:
        n, mx, my, sx, sy, cross = (float(v) for v in cell.table)
        return (n, mx, sx), (n, my, sy), cross
    t = cell.table
    s = cell.scores
    mx_ = _cat_moments(t.sum(axis=1), s)
    my_ = _cat_moments(t.sum(axis=0), s)
    if mx_[0] == 0:
        return mx_, my_, math.nan
    dx, dy = s - mx_[1], s - my_[1]
    return mx_, my_, float(dx @ t @ dy)


def _sample(cell: Cell, wave: int) -> Moments:
    counts = cell.w1 if wave == 1 else cell.w2
    if cell.categorical:
        return _cat_moments(counts, cell.scores)
    n, mean, ssd = (float(v) for v in counts)
    return n, mean, ssd


# -- rank tests ------------------------------------------------------------------------------
def _wilcoxon(cell: Cell, opts: Options = _NONE) -> TestResult:
    t = cell.table
    k = t.shape[0]
    i, j = np.indices((k, k))
    d = (j - i).ravel()  # y - x (wave 2 minus wave 1) in level positions
    flat = t.ravel()
    pos = np.bincount(d[d > 0] - 1, weights=flat[d > 0], minlength=k - 1)
    neg = np.bincount(-d[d < 0] - 1, weights=flat[d < 0], minlength=k - 1)
    n_zero = int(np.trace(t))
    if t.sum() == 0:
        raise CrisisSurveyError("no complete pairs")
    return rk._signed_rank_from_counts(
        np.rint(pos).astype(np.int64), np.rint(neg).astype(np.int64), n_zero, **opts
    )


def _mann_whitney(cell: Cell, opts: Options = _NONE) -> TestResult:
    return rk._mann_whitney_from_counts(
        np.rint(cell.w1).astype(np.int64), np.rint(cell.w2).astype(np.int64), **opts
    )


# -- contingency tests ----------------------------------------------------------------------
def _mcnemar(cell: Cell, opts: Options = _NONE) -> TestResult:
    t = np.rint(cell.table).astype(np.int64)
    if t.shape != (2, 2):
        raise CrisisSurveyError("McNemar's test needs a binary item (a 2 x 2 paired table)")
    # Default without continuity correction (TESTS["mcnemar"]): Fagerland, Lydersen & Laake
    # (2013) recommend it, and our null calibration (tests/test_calibration.py) finds the
    # corrected test's size at 0.025-0.035 for 30-100 pairs.
    return ct._mcnemar_from_counts(
        int(t[0, 0]), int(t[0, 1]), int(t[1, 0]), int(t[1, 1]), **opts
    )


def _marginal_homogeneity(cell: Cell, opts: Options = _NONE) -> TestResult:
    return ct._marginal_homogeneity_from_table(np.rint(cell.table).astype(np.int64), **opts)


def _two_by_k(cell: Cell) -> npt.NDArray[np.int64]:
    tab = np.rint(np.vstack([cell.w1, cell.w2])).astype(np.int64)
    if tab[0].sum() == 0 or tab[1].sum() == 0:
        raise CrisisSurveyError("a wave has no answers")
    return tab


def _chi_square(cell: Cell, opts: Options = _NONE) -> TestResult:
    return ct._chi_square_from_table(_two_by_k(cell), **opts)


def _fisher(cell: Cell, opts: Options = _NONE) -> TestResult:
    return ct._fisher_from_table(_two_by_k(cell))


def min_expected(cell: Cell) -> float:
    """Smallest expected count of the 2 x k table over the levels anyone chose."""
    tab = np.vstack([cell.w1, cell.w2])
    tab = tab[:, tab.sum(axis=0) > 0]
    n = tab.sum()
    if n == 0 or tab.shape[1] < 2:
        return math.nan
    return float((np.outer(tab.sum(axis=1), tab.sum(axis=0)) / n).min())


def _chi_square_or_fisher(cell: Cell, opts: Options = _NONE) -> TestResult:
    if min_expected(cell) < 5.0:
        return _fisher(cell)
    return _chi_square(cell, opts)


def _linear_trend(cell: Cell, opts: Options = _NONE) -> TestResult:
    return ct._linear_trend_from_table(_two_by_k(cell), cell.scores)


# -- t and z tests from moments: the stats modules' own moment/count-based implementations --
def _var(ssd: float, n: float) -> float:
    return ssd / (n - 1) if n > 1 else math.nan


def _paired_t(cell: Cell, opts: Options = _NONE) -> TestResult:
    """As :func:`crisis_survey.stats.paired_t` with its defaults (two-sided, 95%, d_z)."""
    (n, mx, sx), (_, my, sy), cross = _pair_moments(cell)
    if cell.diff is not None:  # the moments of x - y: the change y - x has minus its mean
        _, minus_d, ssd_d = (float(v) for v in cell.diff)
        mean_d = -minus_d
    else:
        mean_d, ssd_d = my - mx, max(sx + sy - 2.0 * cross, 0.0)
    return pm._paired_t_from_moments(int(n), mean_d, _var(ssd_d, n), mx, my)


def _welch_t(cell: Cell, opts: Options = _NONE) -> TestResult:
    """As :func:`crisis_survey.stats.welch_t` with its defaults (Hedges' g, average-variance SD)."""
    nx, mx, sx = _sample(cell, 1)
    ny, my, sy = _sample(cell, 2)
    return pm._welch_t_from_moments(nx, mx, _var(sx, nx), ny, my, _var(sy, ny))


def _po_t(cell: Cell, opts: Options = _NONE) -> TestResult:
    """As :func:`crisis_survey.stats.partially_overlapping_t` with its defaults (T_new2)."""
    px, py, cross = _pair_moments(cell)
    ax, ay = _sample(cell, 1), _sample(cell, 2)
    n1, m1, s1 = combine(ax, px)
    n2, m2, s2 = combine(ay, py)
    nc = px[0]
    r = 0.0
    if nc >= 2 and px[2] > 0 and py[2] > 0:
        r = cross / math.sqrt(px[2] * py[2])
    return ov._partially_overlapping_t_from_moments(
        (n1, m1, _var(s1, n1)), (n2, m2, _var(s2, n2)), ax[0], ay[0], nc, r,
        details={"n_pairs": nc, "n_x_only": ax[0], "n_y_only": ay[0]},
    )


def _po_z(cell: Cell, opts: Options = _NONE) -> TestResult:
    """As :func:`crisis_survey.stats.partially_overlapping_z` with its defaults."""
    t = np.rint(cell.table).astype(np.int64)
    if t.shape != (2, 2):
        raise CrisisSurveyError("the z-test for proportions needs a binary item")
    n00, n01, n10, n11 = (int(v) for v in t.ravel())
    w1, w2 = np.rint(cell.w1).astype(np.int64), np.rint(cell.w2).astype(np.int64)
    return ov._partially_overlapping_z_from_counts(
        (n00, n01, n10, n11), (int(w1.sum()), int(w1[1])), (int(w2.sum()), int(w2[1])),
    )


# -- many cells at once --------------------------------------------------------------------
# Each batch below computes, for a stack of cells, what the kernel above returns for each
# cell (the same formulas, from the stats modules' ``_*_batch`` functions, with vectorised
# distribution functions). ``done`` marks the cells it computed; the others (a test that is
# not defined or raises for that cell, or an exact distribution too large to enumerate) are
# run by the per-cell kernel, which also says why. ``tests/test_compare.py`` checks every
# batch against the per-cell kernels on random counts.
@dataclass(frozen=True)
class Batch:
    """One test's results for many cells (arrays aligned with the cells given)."""

    test: str  # the test that was run (chi_square_or_fisher runs one of two)
    statistic_name: str
    effect_measure: str | None
    statistic: FloatArray
    df: FloatArray | None
    p_value: FloatArray
    effect_size: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    done: npt.NDArray[np.bool_]  # cells computed here; the per-cell kernel does the others
    method: npt.NDArray[np.object_]  # how each p-value was found (see p_method)
    odds_ratio: FloatArray | None = None  # binary items: the odds ratio beside the RD
    odds_ratio_ci_low: FloatArray | None = None
    odds_ratio_ci_high: FloatArray | None = None


def _batch(test: str, statistic_name: str, effect_measure: str | None,
           values: dict[str, npt.NDArray[Any]], done: npt.NDArray[np.bool_],
           effect: str = "effect_size", method: str = "asymptotic") -> Batch:
    m = done.shape[0]
    nan = np.full(m, np.nan)
    p = np.asarray(values["p_value"], dtype=np.float64)
    return Batch(test, statistic_name, effect_measure, values["statistic"], values.get("df"),
                 p, values.get(effect, nan), values.get("ci_low", nan),
                 values.get("ci_high", nan), done & ~np.isnan(p),
                 np.full(m, method, dtype=object), values.get("odds_ratio"),
                 values.get("odds_ratio_ci_low"), values.get("odds_ratio_ci_high"))


def _table_effect(test: str, levels: int) -> str | None:
    """The effect measure ``test`` reports for a wave x answer table with ``levels`` answer
    levels (the registry's: a binary item's risk difference, Cramer's V for more levels)."""
    spec = TESTS[test].effect_for("binary" if levels == 2 else "nominal")
    return spec.name if spec is not None else None


def _difference_counts(tables: FloatArray) -> tuple[npt.NDArray[np.int64], ...]:
    """Counts of paired differences ``y - x = +d`` / ``-d`` (wave 2 minus wave 1, d = 1..k-1)
    and of zeros, read off the diagonals of every ``k x k`` table (wave-1 level in rows, so
    the pairs higher in wave 2 are above the diagonal)."""
    t = np.rint(tables).astype(np.int64)
    k = t.shape[1]
    pos = np.stack([np.trace(t, offset=d, axis1=1, axis2=2) for d in range(1, k)], axis=1)
    neg = np.stack([np.trace(t, offset=-d, axis1=1, axis2=2) for d in range(1, k)], axis=1)
    return pos, neg, np.trace(t, axis1=1, axis2=2)


def _wilcoxon_batch(tables: FloatArray) -> Batch:
    """:func:`_wilcoxon` for a stack of ``k x k`` tables: every statistic, effect and interval
    in one pass; cells with fewer than ``AUTO_EXACT_BELOW`` non-zero differences get the exact
    conditional p-value (as :func:`_wilcoxon` does). Cells without non-zero differences are
    left to the per-cell kernel, which says why the test is not defined."""
    pos, neg, zeros = _difference_counts(tables)
    b = rk._signed_rank_batch(pos, neg, zeros)
    p = np.array(b["p_value"], dtype=np.float64)
    low, high = np.array(b["ci_low"]), np.array(b["ci_high"])
    small = b["n_nonzero"] < rk.AUTO_EXACT_BELOW
    exact = small & (b["n_nonzero"] > 0)
    if exact.any():  # exact p-values and the intervals inverting the same exact test
        p[exact], low[exact], high[exact] = rk._signed_rank_exact(
            pos[exact], neg[exact], zeros[exact], b["v2"][exact], b["total2"][exact])
    return Batch("wilcoxon_signed_rank", "V", _effect("wilcoxon_signed_rank"), b["statistic"],
                 None, p, b["r"], low, high, ~(small & ~exact),
                 np.where(exact, EXACT, CORRECTED).astype(object))


def _mann_whitney_batch(w1: FloatArray, w2: FloatArray) -> Batch:
    """:func:`_mann_whitney` for stacks of per-level counts: the asymptotic cells in one
    pass, the exact p-values of the small cells (both samples under ``AUTO_EXACT_BELOW``) in
    one compiled call (:func:`~crisis_survey.stats._exact.rank_sum_exact_ps`)."""
    cx, cy = np.rint(w1).astype(np.int64), np.rint(w2).astype(np.int64)
    b = rk._mann_whitney_batch(cx, cy)
    p = np.array(b["p_value"], dtype=np.float64)
    small = (b["n_x"] < rk.AUTO_EXACT_BELOW) & (b["n_y"] < rk.AUTO_EXACT_BELOW)
    empty = (b["n_x"] == 0) | (b["n_y"] == 0)
    exact = small & ~empty
    exact[exact] = ex.rank_sum_enumerations(cx[exact] + cy[exact], b["n_x"][exact]) <= \
        ex.MAX_ENUMERATED
    if exact.any():
        p[exact] = ex.rank_sum_exact_ps(cx[exact], cy[exact], "two-sided")
    return Batch("mann_whitney", "W", _effect("mann_whitney"), b["statistic"], None, p, b["r"],
                 b["ci_low"], b["ci_high"], ~empty & (~small | exact),
                 np.where(exact, EXACT, CORRECTED).astype(object))


def _effect(test: str) -> str:
    """The name of the effect measure ``test`` reports (one for every level it serves)."""
    names = {name for _, name in TESTS[test].effects}
    assert len(names) == 1, (test, names)
    return names.pop()


def _two_by_k_batch(w1: FloatArray, w2: FloatArray) -> npt.NDArray[np.int64]:
    return np.rint(np.stack([w1, w2], axis=1)).astype(np.int64)


def _min_expected_batch(w1: FloatArray, w2: FloatArray) -> FloatArray:
    """:func:`min_expected` of every cell (NaN where it is NaN), the same arithmetic."""
    tab = np.stack([w1, w2], axis=1)
    col = tab.sum(axis=1)
    used = col > 0
    n = tab.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = tab.sum(axis=2)[:, :, None] * col[:, None, :] / n[:, None, None]
        low = np.where(used[:, None, :], expected, np.inf).min(axis=(1, 2))
    return np.where((n == 0) | (used.sum(axis=1) < 2), np.nan, low)


def _chi_square_batch(w1: FloatArray, w2: FloatArray, cells: npt.NDArray[np.bool_]) -> Batch:
    tab = _two_by_k_batch(w1, w2)
    both = (tab.sum(axis=2) > 0).all(axis=1)  # _two_by_k raises otherwise
    v = ct._chi_square_batch(tab)
    return _batch("chi_square", "X-squared", _table_effect("chi_square", tab.shape[2]), v,
                  cells & both & v["ok"])


def _fisher_batches(w1: FloatArray, w2: FloatArray, cells: npt.NDArray[np.bool_]
                    ) -> list[Batch]:
    """Fisher's test of the cells whose 2 x k table has two or three answered levels (a 2 x 2
    or 2 x 3 table after dropping the empty columns, as :func:`_fisher_from_table` does);
    tables with more answered levels are enumerated per cell."""
    tab = _two_by_k_batch(w1, w2)
    used = tab.sum(axis=1) > 0
    two = used.sum(axis=1) == 2
    m = tab.shape[0]
    nan = np.full(m, np.nan)
    values: dict[str, npt.NDArray[Any]] = {key: nan.copy() for key in (
        "statistic", "p_value", "effect_size", "ci_low", "ci_high", "odds_ratio",
        "odds_ratio_ci_low", "odds_ratio_ci_high")}
    ok = np.zeros(m, dtype=bool)
    idx = np.flatnonzero(two & cells)
    if idx.size:
        cols = np.sort(np.argsort(~used[idx], axis=1, kind="stable")[:, :2], axis=1)
        t2 = np.take_along_axis(tab[idx], cols[:, None, :], axis=2)
        f = ct._fisher_2x2_batch(t2)
        if tab.shape[2] > 2:  # two answered levels of more: the chi-square test's V
            v = ct._chi_square_batch(t2, binary=False)
            f.update(effect_size=v["effect_size"], ci_low=v["ci_low"], ci_high=v["ci_high"])
        for key in values:
            values[key][idx] = f[key]
        ok[idx] = f["ok"]
    batches = [_batch("fisher_exact", "odds ratio",
                      _table_effect("fisher_exact", tab.shape[2]), values, ok, method=EXACT)]
    three = np.flatnonzero((used.sum(axis=1) == 3) & cells)
    if three.size:
        cols = np.sort(np.argsort(~used[three], axis=1, kind="stable")[:, :3], axis=1)
        t3 = np.take_along_axis(tab[three], cols[:, None, :], axis=2)
        f = ct._fisher_2x3_batch(t3)
        v = ct._chi_square_batch(t3)  # the effect: the chi-square test's V of the same table
        v3 = {key: nan.copy() for key in ("statistic", "p_value", "effect_size", "ci_low",
                                           "ci_high")}
        ok3 = np.zeros(m, dtype=bool)
        v3["statistic"][three], v3["p_value"][three], ok3[three] = (
            f["statistic"], f["p_value"], f["ok"])
        for key in ("effect_size", "ci_low", "ci_high"):
            v3[key][three] = v[key]
        batches.append(_batch("fisher_exact", "P(table)", _table_effect("fisher_exact", 3),
                              v3, ok3, method=EXACT))
    return batches


def _moments_batch(counts: FloatArray, scores: FloatArray) -> tuple[FloatArray, ...]:
    """:func:`_cat_moments` of every row: n, mean, ssd (NaN mean and ssd where n = 0)."""
    n = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n == 0, np.nan, (counts @ scores) / np.where(n == 0, 1.0, n))
        ssd = np.where(n == 0, np.nan, (counts * (scores[None, :] - mean[:, None]) ** 2)
                       .sum(axis=1))
    return n, mean, ssd


def _combine_batch(a: tuple[FloatArray, ...], b: tuple[FloatArray, ...]
                   ) -> tuple[FloatArray, ...]:
    """:func:`combine` of every row."""
    na, ma, sa = a
    nb, mb, sb = b
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = mb - ma
        mean = np.where(na == 0, mb, np.where(nb == 0, ma, ma + delta * nb / n))
        ssd = np.where(na == 0, sb, np.where(nb == 0, sa, sa + sb + delta * delta * na * nb / n))
    return np.where(na == 0, nb, np.where(nb == 0, na, n)), mean, ssd


def _po_t_batch(tables: FloatArray, w1: FloatArray, w2: FloatArray, scores: FloatArray,
                categorical: bool) -> Batch:
    """:func:`_po_t` for every cell."""
    if categorical:
        px = _moments_batch(tables.sum(axis=2), scores)
        py = _moments_batch(tables.sum(axis=1), scores)
        ax, ay = _moments_batch(w1, scores), _moments_batch(w2, scores)
        with np.errstate(invalid="ignore"):
            cross = np.einsum("ci,cij,cj->c", scores[None, :] - px[1][:, None], tables,
                              scores[None, :] - py[1][:, None])
        cross = np.where(px[0] == 0, np.nan, cross)
    else:
        n, mx, my, sx, sy, cross = (tables[:, j] for j in range(6))
        px, py = (n, mx, sx), (n, my, sy)
        ax = (w1[:, 0], w1[:, 1], w1[:, 2])
        ay = (w2[:, 0], w2[:, 1], w2[:, 2])
    n1, m1, s1 = _combine_batch(ax, px)
    n2, m2, s2 = _combine_batch(ay, py)
    nc = px[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        has_r = (nc >= 2) & (px[2] > 0) & (py[2] > 0)
        r = np.where(has_r, cross / np.sqrt(px[2] * py[2]), 0.0)
        v1 = np.where(n1 > 1, s1 / (n1 - 1), np.nan)
        v2 = np.where(n2 > 1, s2 / (n2 - 1), np.nan)
    v = ov._partially_overlapping_t_batch((n1, m1, v1), (n2, m2, v2), ax[0], ay[0], nc, r)
    return _batch("partially_overlapping_t", "t", _effect("partially_overlapping_t"), v, v["ok"],
                  effect="estimate", method=T_DIST)


def _po_z_batch(tables: FloatArray, w1: FloatArray, w2: FloatArray) -> Batch:
    """:func:`_po_z` for every cell (binary items)."""
    t = np.rint(tables).astype(np.int64).reshape(-1, 4)
    a, b = np.rint(w1).astype(np.int64), np.rint(w2).astype(np.int64)
    v = ov._partially_overlapping_z_batch(
        (t[:, 0], t[:, 1], t[:, 2], t[:, 3]), (a.sum(axis=1), a[:, 1]), (b.sum(axis=1), b[:, 1]))
    return _batch("partially_overlapping_z", "z", _effect("partially_overlapping_z"), v, v["ok"],
                  effect="estimate")


def run_batch(test: str, tables: FloatArray, w1: FloatArray, w2: FloatArray,
              scores: FloatArray, categorical: bool, opts: Options = _NONE) -> list[Batch]:
    """``test`` for many cells at once: the batches that computed some of the cells (none
    when the test has no batch form, or options other than the test's defaults are asked
    for: the per-cell kernels take every option); the remaining cells are run per cell."""
    defaults = TESTS[test].defaults if test in TESTS else {}
    if any(opts.get(k, v) != v for k, v in defaults.items()):
        return []
    m = w1.shape[0]
    everyone = np.ones(m, dtype=bool)
    binary_table = tables.ndim == 3 and tables.shape[1:] == (2, 2)
    if test == "wilcoxon_signed_rank" and categorical:
        return [_wilcoxon_batch(tables)]
    if test == "mann_whitney" and categorical:
        return [_mann_whitney_batch(w1, w2)]
    if test == "mcnemar" and categorical and binary_table:
        v = ct._mcnemar_batch(np.rint(tables).astype(np.int64), correction=False)
        return [_batch(test, "X-squared", _effect(test), v, v["ok"])]
    if test == "marginal_homogeneity" and categorical:
        v = ct._marginal_homogeneity_batch(np.rint(tables).astype(np.int64))
        return [_batch(test, "X-squared", _effect(test), v, v["ok"])]
    if test == "chi_square" and categorical:
        return [_chi_square_batch(w1, w2, everyone)]
    if test == "fisher_exact" and categorical:
        return _fisher_batches(w1, w2, everyone)
    if test == "chi_square_or_fisher" and categorical:
        low = _min_expected_batch(w1, w2)
        return [_chi_square_batch(w1, w2, ~(low < 5.0)), *_fisher_batches(w1, w2, low < 5.0)]
    if test == "partially_overlapping_t":
        return [_po_t_batch(tables, w1, w2, scores, categorical)]
    if test == "partially_overlapping_z" and categorical and binary_table:
        return [_po_z_batch(tables, w1, w2)]
    return []


Kernel = Callable[[Cell, Options], TestResult]

#: test name -> kernel (the tests of :data:`crisis_survey.stats.TESTS`)
KERNELS: dict[str, Kernel] = {
    "wilcoxon_signed_rank": _wilcoxon,
    "mcnemar": _mcnemar,
    "marginal_homogeneity": _marginal_homogeneity,
    "paired_t": _paired_t,
    "mann_whitney": _mann_whitney,
    "chi_square": _chi_square,
    "fisher_exact": _fisher,
    "chi_square_or_fisher": _chi_square_or_fisher,
    "linear_trend": _linear_trend,
    "welch_t": _welch_t,
    "partially_overlapping_t": _po_t,
    "partially_overlapping_z": _po_z,
}



def p_method(test: str, result: TestResult, opts: Options = _NONE) -> str:
    """How ``result``'s p-value was found: exact, asymptotic (continuity-corrected or not)
    or mid-p (the table's ``method`` column)."""
    d = result.details
    if test in ("wilcoxon_signed_rank", "mann_whitney"):
        if d.get("exact"):
            return EXACT
        return CORRECTED if d.get("continuity_correction") else ASYMPTOTIC
    if test == "mcnemar":
        method = str(opts.get("method", "asymptotic"))
        if method != "asymptotic":
            return EXACT if method == "exact" else MIDP
        return CORRECTED if d.get("continuity_correction") else ASYMPTOTIC
    if test == "fisher_exact":
        return EXACT
    if test == "chi_square":
        return CORRECTED if d.get("continuity_correction") else ASYMPTOTIC
    if test in ("paired_t", "welch_t", "partially_overlapping_t"):
        return T_DIST
    return ASYMPTOTIC


def run(test: str, cell: Cell, opts: Options = _NONE) -> TestResult:
    """Run ``test`` on one cell with its options (each :data:`~crisis_survey.stats.TESTS`
    option, checked)."""
    return KERNELS[test](cell, opts)
