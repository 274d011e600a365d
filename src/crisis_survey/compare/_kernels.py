"""Each test of :mod:`crisis_survey.stats` computed for one by-cell from its counts (private).

A kernel takes a :class:`Cell` (the counts or moments :func:`._study.count_item` produced for
one by-cell) and returns the :class:`~crisis_survey.stats.TestResult` the public stats function
returns for that cell's raw answers. Rank and contingency tests call the stats modules' own
count-based helpers (``_signed_rank_from_counts``, ``_mann_whitney_from_counts``,
``_mcnemar_from_counts``, ``_marginal_homogeneity_from_table``, ``_chi_square_from_table``,
``_fisher_from_table``, ``_linear_trend_from_table``). The t- and z-tests have no such helpers
in :mod:`crisis_survey.stats` yet, so :func:`_paired_t`, :func:`_welch_t`, :func:`_po_t` and
:func:`_po_z` below compose the published formulas from moments, using the stats modules' own
pieces (p-value, interval, effect-size interval); ``tests/test_compare.py`` checks every kernel
against the public function on each cell's raw data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._errors import CrisisSurveyError
from ..stats import _contingency as ct
from ..stats import _rank as rk
from ..stats._parametric import _smd_ci, hedges_j, interval, p_value
from ..stats._results import TestResult

FloatArray = npt.NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)

__all__ = ["DESIGN_OF", "KERNELS", "MEASUREMENTS_OF", "Cell", "run"]


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
def _wilcoxon(cell: Cell) -> TestResult:
    t = cell.table
    k = t.shape[0]
    i, j = np.indices((k, k))
    d = (i - j).ravel()  # x - y in level positions
    flat = t.ravel()
    pos = np.bincount(d[d > 0] - 1, weights=flat[d > 0], minlength=k - 1)
    neg = np.bincount(-d[d < 0] - 1, weights=flat[d < 0], minlength=k - 1)
    n_zero = int(np.trace(t))
    if t.sum() == 0:
        raise CrisisSurveyError("no complete pairs")
    return rk._signed_rank_from_counts(
        np.rint(pos).astype(np.int64), np.rint(neg).astype(np.int64), n_zero
    )


def _mann_whitney(cell: Cell) -> TestResult:
    return rk._mann_whitney_from_counts(
        np.rint(cell.w1).astype(np.int64), np.rint(cell.w2).astype(np.int64)
    )


# -- contingency tests ----------------------------------------------------------------------
def _mcnemar(cell: Cell) -> TestResult:
    t = np.rint(cell.table).astype(np.int64)
    if t.shape != (2, 2):
        raise CrisisSurveyError("McNemar's test needs a binary item (a 2 x 2 paired table)")
    # Without continuity correction: Fagerland, Lydersen & Laake (2013) recommend it, and our
    # null calibration (tests/test_calibration.py) finds the corrected test's size at 0.025-0.035
    # for 30-100 pairs. The stats function keeps R's default (correct=TRUE) for R parity.
    return ct._mcnemar_from_counts(
        int(t[0, 0]), int(t[0, 1]), int(t[1, 0]), int(t[1, 1]), correction=False
    )


def _marginal_homogeneity(cell: Cell) -> TestResult:
    return ct._marginal_homogeneity_from_table(np.rint(cell.table).astype(np.int64))


def _two_by_k(cell: Cell) -> npt.NDArray[np.int64]:
    tab = np.rint(np.vstack([cell.w1, cell.w2])).astype(np.int64)
    if tab[0].sum() == 0 or tab[1].sum() == 0:
        raise CrisisSurveyError("a wave has no answers")
    return tab


def _chi_square(cell: Cell) -> TestResult:
    return ct._chi_square_from_table(_two_by_k(cell))


def _fisher(cell: Cell) -> TestResult:
    return ct._fisher_from_table(_two_by_k(cell))


def min_expected(cell: Cell) -> float:
    """Smallest expected count of the 2 x k table over the levels anyone chose."""
    tab = np.vstack([cell.w1, cell.w2])
    tab = tab[:, tab.sum(axis=0) > 0]
    n = tab.sum()
    if n == 0 or tab.shape[1] < 2:
        return math.nan
    return float((np.outer(tab.sum(axis=1), tab.sum(axis=0)) / n).min())


def _chi_square_or_fisher(cell: Cell) -> TestResult:
    if min_expected(cell) < 5.0:
        return _fisher(cell)
    return _chi_square(cell)


def _linear_trend(cell: Cell) -> TestResult:
    return ct._linear_trend_from_table(_two_by_k(cell), cell.scores)


# -- t and z tests from moments -------------------------------------------------------------
def _check_constant(se: float, centre: float, what: str) -> None:
    if not se > 10.0 * _EPS * abs(centre):
        raise CrisisSurveyError(
            f"{what} are essentially constant, so the t statistic is undefined "
            "(expected some variation in the data)"
        )


def _paired_t(cell: Cell) -> TestResult:
    """As :func:`crisis_survey.stats.paired_t` with its defaults (two-sided, 95%, d_z)."""
    (n, mx, sx), (_, my, sy), cross = _pair_moments(cell)
    if cell.diff is not None:
        _, mean_d, ssd_d = (float(v) for v in cell.diff)
    else:
        mean_d, ssd_d = mx - my, max(sx + sy - 2.0 * cross, 0.0)
    if n < 2:
        raise CrisisSurveyError(f"the paired t-test needs at least 2 complete pairs; got {n:.0f}")
    sd_d = math.sqrt(ssd_d / (n - 1))
    se = sd_d / math.sqrt(n)
    _check_constant(se, mean_d, "the paired differences x - y")
    df = n - 1.0
    t = mean_d / se
    lo_m, hi_m = interval(mean_d, se, "two-sided", 0.95, df)
    lo, hi = _smd_ci(t, df, 1.0 / n, "two-sided", 0.95)
    return TestResult(
        method="Paired t-test", statistic=t, p_value=p_value(t, "two-sided", df), n=int(n),
        df=df, statistic_name="t", effect_size=mean_d / sd_d, effect_measure="Cohen's d_z",
        ci_low=lo, ci_high=hi, estimate=mean_d,
        details={"mean_diff_ci_low": lo_m, "mean_diff_ci_high": hi_m, "se": se,
                 "sd_diff": sd_d, "mean_x": mx, "mean_y": my, "n_pairs": n},
    )


def _welch_t(cell: Cell) -> TestResult:
    """As :func:`crisis_survey.stats.welch_t` with its defaults (Hedges' g, average-variance SD)."""
    nx, mx, sx = _sample(cell, 1)
    ny, my, sy = _sample(cell, 2)
    for name, n_ in (("x", nx), ("y", ny)):
        if n_ < 2:
            raise CrisisSurveyError(
                f"Welch's t-test needs at least 2 non-missing values in {name}; got {n_:.0f}"
            )
    vx, vy = sx / (nx - 1), sy / (ny - 1)
    ex, ey = vx / nx, vy / ny
    se = math.sqrt(ex + ey)
    diff = mx - my
    _check_constant(se, max(abs(mx), abs(my)), "the data")
    df = (ex + ey) ** 2 / (ex**2 / (nx - 1) + ey**2 / (ny - 1))
    t = diff / se
    lo_m, hi_m = interval(diff, se, "two-sided", 0.95, df)
    sd = math.sqrt((vx + vy) / 2.0)
    hn = 2.0 * (ny * vx + nx * vy) / (nx * ny * (vx + vy))
    lo, hi = _smd_ci(t, df, hn, "two-sided", 0.95)
    j = hedges_j(df)
    return TestResult(
        method="Welch two-sample t-test", statistic=t, p_value=p_value(t, "two-sided", df),
        n=int(nx + ny), df=df, statistic_name="t", effect_size=diff / sd * j,
        effect_measure="Hedges' g (average-variance SD)", ci_low=lo * j, ci_high=hi * j,
        estimate=diff,
        details={"mean_diff_ci_low": lo_m, "mean_diff_ci_high": hi_m, "se": se, "mean_x": mx,
                 "mean_y": my, "sd_x": math.sqrt(vx), "sd_y": math.sqrt(vy), "n_x": nx,
                 "n_y": ny},
    )


def _po_t(cell: Cell) -> TestResult:
    """As :func:`crisis_survey.stats.partially_overlapping_t` with its defaults (T_new2)."""
    px, py, cross = _pair_moments(cell)
    ax, ay = _sample(cell, 1), _sample(cell, 2)
    n1, m1, s1 = combine(ax, px)
    n2, m2, s2 = combine(ay, py)
    for wave, n_ in ((1, n1), (2, n2)):
        if n_ < 2:
            raise CrisisSurveyError(
                f"the partially overlapping t-test needs at least 2 values in wave {wave} "
                f"(paired and unpaired together); got {n_:.0f}"
            )
    na, nb, nc = ax[0], ay[0], px[0]
    r = 0.0
    if nc >= 2 and px[2] > 0 and py[2] > 0:
        r = cross / math.sqrt(px[2] * py[2])
    v1, v2 = s1 / (n1 - 1), s2 / (n2 - 1)
    estimate = m1 - m2
    e1, e2 = v1 / n1, v2 / n2
    cov = 2.0 * r * nc * math.sqrt(v1 * v2) / (n1 * n2)
    se = math.sqrt(max(0.0, e1 + e2 - cov))
    gamma = (e1 + e2) ** 2 / (e1**2 / (n1 - 1) + e2**2 / (n2 - 1)) if e1 + e2 > 0 else 0.0
    df = (nc - 1) + (gamma - nc + 1) / (na + nb + 2 * nc) * (na + nb)
    if not se > 10.0 * _EPS * max(abs(m1), abs(m2)):
        raise CrisisSurveyError(
            "the data are essentially constant (the standard error of the difference in "
            "means is 0), so the t statistic is undefined; expected some variation"
        )
    if not df > 0:
        raise CrisisSurveyError(f"the degrees of freedom are not positive ({df}); too few data")
    t = estimate / se
    lo, hi = interval(estimate, se, "two-sided", 0.95, df)
    return TestResult(
        method="Partially overlapping samples t-test (T_new2, Welch-type)", statistic=t,
        p_value=p_value(t, "two-sided", df), n=int(n1 + n2), df=df, statistic_name="t",
        effect_size=estimate, effect_measure="mean difference", ci_low=lo, ci_high=hi,
        estimate=estimate,
        details={"se": se, "r": r, "mean_x": m1, "mean_y": m2, "sd_x": math.sqrt(v1),
                 "sd_y": math.sqrt(v2), "n_pairs": nc, "n_x_only": na, "n_y_only": nb},
    )


def _po_z(cell: Cell) -> TestResult:
    """As :func:`crisis_survey.stats.partially_overlapping_z` with its defaults."""
    t = np.rint(cell.table).astype(np.int64)
    if t.shape != (2, 2):
        raise CrisisSurveyError("the z-test for proportions needs a binary item")
    n00, n01, n10, n11 = (int(v) for v in t.ravel())
    na, nb, nc = float(cell.w1.sum()), float(cell.w2.sum()), float(t.sum())
    e, g = float(cell.w1[1]), float(cell.w2[1])
    n1, n2 = na + nc, nb + nc
    for wave, n_ in ((1, n1), (2, n2)):
        if n_ == 0:
            raise CrisisSurveyError(
                f"the partially overlapping z-test needs at least one value in wave {wave}"
            )
    if nc >= 2 and 0 not in (n11 + n10, n01 + n00, n11 + n01, n10 + n00):
        r = (n11 * n00 - n10 * n01) / math.sqrt(
            float(n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
        )
    else:
        r = 0.0
    p1 = (n11 + n10 + e) / n1
    p2 = (n11 + n01 + g) / n2
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    w = pbar * (1.0 - pbar)
    se = math.sqrt(max(0.0, w / n1 + w / n2 - 2.0 * r * w * nc / (n1 * n2)))
    estimate = p1 - p2
    if not se > 0.0:
        raise CrisisSurveyError(
            "every observation has the same value (all 0 or all 1, or only perfectly "
            "concordant pairs), so the z statistic is 0/0; expected some variation"
        )
    z = estimate / se
    lo, hi = interval(estimate, se, "two-sided", 0.95)
    return TestResult(
        method="Partially overlapping samples z-test for two proportions", statistic=z,
        p_value=p_value(z, "two-sided"), n=int(n1 + n2), df=None, statistic_name="z",
        effect_size=estimate, effect_measure="difference in proportions", ci_low=lo,
        ci_high=hi, estimate=estimate,
        details={"p_x": p1, "p_y": p2, "p_pooled": pbar, "r": r, "se": se, "n_pairs": nc},
    )


Kernel = Callable[[Cell], TestResult]

#: test name -> kernel
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

#: test name -> the design it belongs to
DESIGN_OF: dict[str, str] = {
    "wilcoxon_signed_rank": "paired",
    "mcnemar": "paired",
    "marginal_homogeneity": "paired",
    "paired_t": "paired",
    "mann_whitney": "independent",
    "chi_square": "independent",
    "fisher_exact": "independent",
    "chi_square_or_fisher": "independent",
    "linear_trend": "independent",
    "welch_t": "independent",
    "partially_overlapping_t": "overlapping",
    "partially_overlapping_z": "overlapping",
}

#: test name -> measurement levels it can analyse (from counts or moments)
MEASUREMENTS_OF: dict[str, tuple[str, ...]] = {
    "wilcoxon_signed_rank": ("ordinal", "binary"),
    "mcnemar": ("binary",),
    "marginal_homogeneity": ("ordinal", "binary", "nominal"),
    "paired_t": ("numeric", "ordinal", "binary"),
    "mann_whitney": ("ordinal", "binary"),
    "chi_square": ("ordinal", "binary", "nominal"),
    "fisher_exact": ("ordinal", "binary", "nominal"),
    "chi_square_or_fisher": ("ordinal", "binary", "nominal"),
    "linear_trend": ("ordinal", "binary"),
    "welch_t": ("numeric", "ordinal", "binary"),
    "partially_overlapping_t": ("numeric", "ordinal", "binary"),
    "partially_overlapping_z": ("binary",),
}


def run(test: str, cell: Cell) -> TestResult:
    """Run ``test`` on one cell."""
    return KERNELS[test](cell)
