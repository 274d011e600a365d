"""Tests for partially overlapping samples: linked respondents plus one-wave-only respondents.

The public names are :func:`partially_overlapping_t` and :func:`partially_overlapping_z`,
re-exported by :mod:`crisis_survey.stats`.  In a two-wave panel survey, respondents who
answered in both waves are *paired*; those who answered in only one wave are *unpaired*.  These
tests use all of them at once (Derrick and colleagues' tests, R package
``Partiallyoverlapping``).  They work from moments (t-test) and from counts (z-test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError
from ._arrays import FloatArray, as_float, check_alternative
from ._parametric import check_confidence, interval, intervals, moments, p_value, p_values
from ._results import Alternative, TestResult

__all__ = ["partially_overlapping_t", "partially_overlapping_z"]

IncompletePairs = Literal["unpaired", "drop"]

_EPS = float(np.finfo(np.float64).eps)


class _Parts:
    """The four samples after missing values were handled."""

    __slots__ = ("moved_x", "moved_y", "x1", "x2", "x3", "x4")

    def __init__(
        self,
        x_only: Any,
        y_only: Any,
        x_paired: Any,
        y_paired: Any,
        incomplete_pairs: str,
        binary: bool = False,
    ) -> None:
        if incomplete_pairs not in ("unpaired", "drop"):
            raise CrisisSurveyError(
                f"incomplete_pairs must be 'unpaired' or 'drop'; got {incomplete_pairs!r}"
            )
        names = ("x_only", "y_only", "x_paired", "y_paired")
        values = (x_only, y_only, x_paired, y_paired)
        arrays = [_coerce(v, name, binary) for v, name in zip(values, names, strict=True)]
        a1, a2, a3, a4 = arrays
        if a3.shape != a4.shape:
            raise CrisisSurveyError(
                "x_paired and y_paired must have the same length (one entry per linked "
                f"respondent); got {a3.size} and {a4.size}"
            )
        m3, m4 = np.isnan(a3), np.isnan(a4)
        both = ~(m3 | m4)
        x_alone = ~m3 & m4
        y_alone = m3 & ~m4
        self.x1 = a1[~np.isnan(a1)]
        self.x2 = a2[~np.isnan(a2)]
        self.x3 = a3[both]
        self.x4 = a4[both]
        self.moved_x = self.moved_y = 0
        if incomplete_pairs == "unpaired":
            self.moved_x, self.moved_y = int(x_alone.sum()), int(y_alone.sum())
            self.x1 = np.concatenate([self.x1, a3[x_alone]])
            self.x2 = np.concatenate([self.x2, a4[y_alone]])

    def counts(self) -> dict[str, float]:
        return {
            "n_x": float(self.x1.size + self.x3.size),
            "n_y": float(self.x2.size + self.x4.size),
            "n_pairs": float(self.x3.size),
            "n_x_only": float(self.x1.size),
            "n_y_only": float(self.x2.size),
            "n_moved_to_x_only": float(self.moved_x),
            "n_moved_to_y_only": float(self.moved_y),
        }


def _coerce(values: Any, name: str, binary: bool) -> FloatArray:
    if values is None:
        return np.empty(0, dtype=np.float64)
    if binary:
        cats = None
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            cats = values.cat.categories
        elif isinstance(values, pd.Categorical):
            cats = values.categories
        if cats is not None and len(cats) != 2:
            raise CrisisSurveyError(
                f"{name} is a Categorical with {len(cats)} categories; a binary item needs "
                "exactly 2 (the second counts as 1)"
            )
    arr = as_float(values, name)
    if binary:
        bad = ~np.isnan(arr) & (arr != 0.0) & (arr != 1.0)
        if bad.any():
            shown = ", ".join(repr(float(v)) for v in np.unique(arr[bad])[:5])
            raise CrisisSurveyError(
                f"{name} must hold only 0, 1 or missing values for the z-test for "
                f"proportions; found {shown}"
            )
    return arr


def _paired_r(x3: FloatArray, x4: FloatArray) -> float:
    """Pearson correlation of the pairs; 0 when fewer than 2 pairs or a side is constant."""
    if x3.size < 2:
        return 0.0
    d3, d4 = x3 - x3.mean(), x4 - x4.mean()
    s33, s44 = float(d3 @ d3), float(d4 @ d4)
    if s33 == 0.0 or s44 == 0.0:
        return 0.0
    return float(d3 @ d4) / math.sqrt(s33 * s44)


# -- t-test -----------------------------------------------------------------------------------
def partially_overlapping_t(
    x_only: Any,
    y_only: Any,
    x_paired: Any,
    y_paired: Any,
    *,
    var_equal: bool = False,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    incomplete_pairs: IncompletePairs = "unpaired",
) -> TestResult:
    r"""Partially overlapping samples t-test of Derrick et al. (2017), T_new1 and T_new2.

    Compares the wave-1 mean with the wave-2 mean using every respondent: those linked across
    waves (paired) and those who answered in one wave only (unpaired).

    Parameters
    ----------
    x_only, y_only : array-like or None
        Wave-1-only and wave-2-only answers (unpaired; any lengths, may be empty).
    x_paired, y_paired : array-like
        Wave-1 and wave-2 answers of linked respondents, aligned (same length).
    var_equal : bool
        ``True``: :math:`T_{new1}` (pooled variance).  ``False`` (default): :math:`T_{new2}`
        (separate variances, Welch-type degrees of freedom).
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis about ``mean(wave 2) - mean(wave 1)`` (``"greater"``: wave 2
        higher).
    confidence : float
        Confidence level of the interval for the difference in means.
    incomplete_pairs : {"unpaired", "drop"}
        What to do with a linked respondent who has a missing answer in one wave.
        ``"unpaired"`` (default): the answer given joins that wave's unpaired sample (as
        ``Partover.test(..., stacked = TRUE)`` does).  ``"drop"``: the pair is discarded.

    Returns
    -------
    TestResult
        ``statistic`` (t, positive when wave 2 is higher), ``df``, ``p_value``, ``n`` (values
        used, ``n_x + n_y``), ``estimate`` (difference in means, wave 2 - wave 1), ``effect_size``
        = the same difference with
        ``effect_measure="mean difference"`` and its confidence interval in ``ci_low``,
        ``ci_high`` (also in details ``mean_diff_ci_low``/``_high``).  ``details`` also holds
        ``se``, ``r``, ``mean_x``, ``mean_y``, ``sd_x``, ``sd_y``, the sample sizes ``n_x``,
        ``n_y``, ``n_pairs``, ``n_x_only``, ``n_y_only`` and ``n_moved_to_x_only``/``y_only``.

    Raises
    ------
    CrisisSurveyError
        Paired inputs of different lengths, fewer than 2 values in a wave, data without
        variation, or a bad keyword.

    Notes
    -----
    Let :math:`n_a, n_b` be the unpaired counts, :math:`n_c` the pairs, :math:`n_1 = n_a + n_c`,
    :math:`n_2 = n_b + n_c` the wave totals, :math:`\bar x_1, \bar x_2, s_1, s_2` the means and
    SDs of *all* values of each wave, and :math:`r` the Pearson correlation of the pairs
    (taken as 0 when a paired side is constant, as the package does, or when
    :math:`n_c < 2`).

    .. math::

        T_{new1} = \frac{\bar x_2 - \bar x_1}
            {s_p\sqrt{1/n_1 + 1/n_2 - 2 r n_c/(n_1 n_2)}},\quad
        s_p^2 = \frac{(n_1-1)s_1^2 + (n_2-1)s_2^2}{n_1+n_2-2},

        \nu_1 = (n_c - 1) + \frac{n_a + n_b + n_c - 1}{n_a + n_b + 2n_c}(n_a + n_b),

        T_{new2} = \frac{\bar x_2 - \bar x_1}
            {\sqrt{s_1^2/n_1 + s_2^2/n_2 - 2 r s_1 s_2 n_c/(n_1 n_2)}},

        \nu_2 = (n_c - 1) + \frac{\gamma - n_c + 1}{n_a + n_b + 2n_c}(n_a + n_b),\quad
        \gamma = \frac{(s_1^2/n_1 + s_2^2/n_2)^2}
            {(s_1^2/n_1)^2/(n_1-1) + (s_2^2/n_2)^2/(n_2-1)}.

    The interval for the difference is :math:`\bar x_2 - \bar x_1 \pm t_{\nu}\,SE`.

    Limiting cases: with no unpaired values :math:`T_{new2}` *is* the paired t-test (and
    :math:`T_{new1}` is when the two sample variances are equal); with no pairs
    :math:`T_{new1}` is Student's and :math:`T_{new2}` Welch's independent-samples test.
    ``Partover.test`` refuses fewer than 2 pairs; here no pairs gives those independent
    tests, and one pair enters with :math:`r = 0`.  ``Partover.test`` computes the
    ``"greater"`` p-value as ``pt(-abs(t), df)``, wrong for negative t; here it is
    :math:`P(T_\nu \ge t)`.

    Equivalent R (package ``Partiallyoverlapping``; it reads wave 1 relative to wave 2, so its
    ``t`` and interval have the opposite sign)::

        Partover.test(x_only, y_only, x_paired, y_paired, var.equal = FALSE,
                      alternative = "two.sided", conf.level = 0.95)

    References
    ----------
    Derrick, B., Russ, B., Toher, D. & White, P. (2017). Test statistics for the comparison
    of means for two samples that include both paired and independent observations.
    *J. Modern Applied Statistical Methods* 16(1), 137-157.
    Derrick, B., Toher, D. & White, P. (2017). How to compare the means of two samples that
    include paired observations and independent observations: a companion to Derrick, Russ,
    Toher and White (2017). *The Quantitative Methods for Psychology* 13(2), 120-126.

    Examples
    --------
    The worked example of Derrick, Toher & White (2017):

    >>> from crisis_survey.stats import partially_overlapping_t
    >>> res = partially_overlapping_t(
    ...     [20, 21, 16, 18, 14, 12, 14, 17], [10, 16, 18, 16, 15, 14, 13, 10],
    ...     [14, 15, 18, 20, 11, 19, 14, 15], [15, 10, 15, 17, 13, 19, 12, 13],
    ...     var_equal=True)
    >>> print(f"t = {res.statistic:.4f}, df = {res.df:.1f}, p = {res.p_value:.5f}")
    t = -2.4207, df = 18.5, p = 0.02597
    """
    check_alternative(alternative)
    check_confidence(confidence)
    if not isinstance(var_equal, bool | np.bool_):
        raise CrisisSurveyError(f"var_equal must be True or False; got {var_equal!r}")
    parts = _Parts(x_only, y_only, x_paired, y_paired, incomplete_pairs)
    s1 = np.concatenate([parts.x1, parts.x3])
    s2 = np.concatenate([parts.x2, parts.x4])
    n1, m1, v1 = moments(s1)
    n2, m2, v2 = moments(s2)
    return _partially_overlapping_t_from_moments(
        (n1, m1, v1), (n2, m2, v2), parts.x1.size, parts.x2.size, parts.x3.size,
        _paired_r(parts.x3, parts.x4), var_equal=var_equal, alternative=alternative,
        confidence=confidence, details=parts.counts(),
    )


def _partially_overlapping_t_from_moments(
    wave1: tuple[float, float, float],
    wave2: tuple[float, float, float],
    na: float,
    nb: float,
    nc: float,
    r: float,
    *,
    var_equal: bool = False,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    details: Mapping[str, float] | None = None,
) -> TestResult:
    """Partially overlapping t-test from moments (the one implementation).

    Parameters
    ----------
    wave1, wave2
        ``(n, mean, sample variance)`` of *all* values of each wave (paired and unpaired).
    na, nb, nc
        Unpaired counts of wave 1 and wave 2 and the number of complete pairs.
    r
        Pearson correlation of the pairs (0 when fewer than 2 pairs or a side is constant).
    var_equal, alternative, confidence
        As in :func:`partially_overlapping_t`; not re-validated here.
    details
        Extra entries for the result's ``details`` (sample sizes).

    Returns
    -------
    TestResult
        What :func:`partially_overlapping_t` returns for data with these moments.
    """
    n1, m1, v1 = wave1
    n2, m2, v2 = wave2
    for wave, n_ in ((1, n1), (2, n2)):
        if n_ < 2:
            raise CrisisSurveyError(
                f"the partially overlapping t-test needs at least 2 values in wave {wave} "
                f"(paired and unpaired together); got {n_:.0f}"
            )
    estimate = m2 - m1  # wave 2 minus wave 1
    if var_equal:
        sp = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
        se = sp * math.sqrt(max(0.0, 1.0 / n1 + 1.0 / n2 - 2.0 * r * nc / (n1 * n2)))
        df = (nc - 1) + (na + nb + nc - 1) / (na + nb + 2 * nc) * (na + nb)
    else:
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
    lo, hi = interval(estimate, se, alternative, confidence, df)
    out = {
        "mean_diff_ci_low": lo,
        "mean_diff_ci_high": hi,
        "se": se,
        "r": r,
        "mean_x": m1,
        "mean_y": m2,
        "sd_x": math.sqrt(v1),
        "sd_y": math.sqrt(v2),
        **(details or {}),
    }
    name = "T_new1, equal variances" if var_equal else "T_new2, Welch-type"
    return TestResult(
        method=f"Partially overlapping samples t-test ({name})",
        statistic=t,
        p_value=p_value(t, alternative, df),
        n=int(n1 + n2),
        df=df,
        statistic_name="t",
        alternative=alternative,
        effect_size=estimate,
        effect_measure="mean difference",
        ci_low=lo,
        ci_high=hi,
        confidence=float(confidence),
        estimate=estimate,
        details=out,
    )


def _partially_overlapping_t_batch(
    wave1: tuple[FloatArray, FloatArray, FloatArray],
    wave2: tuple[FloatArray, FloatArray, FloatArray],
    na: FloatArray,
    nb: FloatArray,
    nc: FloatArray,
    r: FloatArray,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`_partially_overlapping_t_from_moments` (Welch-type ``T_new2``) for many
    comparisons at once, element by element the same arithmetic (so the same bits).

    Arguments are arrays with one entry per comparison. Returns ``statistic``, ``df``,
    ``p_value``, ``estimate``, ``ci_low``, ``ci_high`` and ``ok``: False where the one-at-a-time
    function raises (fewer than 2 values in a wave, no variation, degrees of freedom not
    positive); those entries hold NaN and need the one-at-a-time function for the reason.
    """
    n1, m1, v1 = (np.asarray(a, dtype=np.float64) for a in wave1)
    n2, m2, v2 = (np.asarray(a, dtype=np.float64) for a in wave2)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = m2 - m1  # wave 2 minus wave 1
        e1, e2 = v1 / n1, v2 / n2
        cov = 2.0 * r * nc * np.sqrt(v1 * v2) / (n1 * n2)
        se = np.sqrt(np.maximum(0.0, e1 + e2 - cov))
        pos = e1 + e2 > 0
        gamma = np.where(pos, (e1 + e2) ** 2 / (e1**2 / (n1 - 1) + e2**2 / (n2 - 1)), 0.0)
        df = (nc - 1) + (gamma - nc + 1) / (na + nb + 2 * nc) * (na + nb)
        ok = ((n1 >= 2) & (n2 >= 2) & (se > 10.0 * _EPS * np.maximum(np.abs(m1), np.abs(m2)))
              & (df > 0))
        df = np.where(ok, df, 1.0)
        t = np.where(ok, estimate / se, 0.0)
    p = p_values(t, alternative, df)
    lo, hi = intervals(estimate, np.where(ok, se, 0.0), alternative, confidence, df)
    nan = np.nan
    return {"statistic": np.where(ok, t, nan), "df": np.where(ok, df, nan),
            "p_value": np.where(ok, p, nan), "estimate": np.where(ok, estimate, nan),
            "ci_low": np.where(ok, lo, nan), "ci_high": np.where(ok, hi, nan), "ok": ok}


# -- z-test -----------------------------------------------------------------------------------
def partially_overlapping_z(
    x_only: Any,
    y_only: Any,
    x_paired: Any,
    y_paired: Any,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    incomplete_pairs: IncompletePairs = "unpaired",
) -> TestResult:
    r"""Partially overlapping samples z-test for two proportions (Derrick et al. 2015).

    Compares the proportion of 1s (e.g. "yes", "agree") in wave 1 with that in wave 2 using
    linked respondents and one-wave-only respondents together.

    Parameters
    ----------
    x_only, y_only : array-like or None
        Wave-1-only and wave-2-only answers, coded 0/1 (booleans accepted; a Categorical
        with two categories counts its second category as 1). Missing values are dropped.
    x_paired, y_paired : array-like
        Wave-1 and wave-2 answers (0/1) of linked respondents, aligned.
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis about ``p(wave 2) - p(wave 1)`` (``"greater"``: more 1s in
        wave 2).
    confidence : float
        Confidence level of the interval for the difference in proportions.
    incomplete_pairs : {"unpaired", "drop"}
        As in :func:`partially_overlapping_t`: by default the answer of a linked respondent
        who answered in one wave only joins that wave's unpaired sample.

    Returns
    -------
    TestResult
        ``statistic`` (z), ``df=None``, ``p_value``, ``n`` (values used, ``n_x + n_y``),
        ``estimate`` and ``effect_size`` = difference in proportions, wave 2 - wave 1
        (``effect_measure=
        "difference in proportions"``) with the package's interval in ``ci_low``/``ci_high``.
        ``details``: ``p_x``, ``p_y``, ``p_pooled``, ``r`` (phi of the pairs), ``se``, the
        paired table ``n_11``, ``n_10``, ``n_01``, ``n_00`` (wave 1, wave 2), the unpaired
        successes ``n_x_only_1``, ``n_y_only_1`` and the sample sizes (as the t-test).

    Raises
    ------
    CrisisSurveyError
        Values other than 0/1, paired inputs of different lengths, an empty wave, every
        observation equal (the z statistic is 0/0), or a bad keyword.

    Notes
    -----
    With paired table counts :math:`a` (1,1), :math:`b` (1,0), :math:`c` (0,1), :math:`d`
    (0,0), unpaired successes :math:`e` (of :math:`n_a`) and :math:`g` (of :math:`n_b`),
    :math:`n_1 = n_a + n_c`, :math:`n_2 = n_b + n_c`:

    .. math::

        \hat p_1 = \frac{a+b+e}{n_1},\quad \hat p_2 = \frac{a+c+g}{n_2},\quad
        \bar p = \frac{n_1\hat p_1 + n_2\hat p_2}{n_1+n_2},

        z = \frac{\hat p_2 - \hat p_1}
            {\sqrt{\bar p(1-\bar p)\,(1/n_1 + 1/n_2 - 2 r n_c/(n_1 n_2))}},

    where :math:`r` is the phi coefficient (Pearson correlation) of the pairs, taken as 0 when
    a paired side is constant or there are fewer than 2 pairs.  The interval is the one
    ``Prop.test`` reports, :math:`\hat p_2 - \hat p_1 \pm z_{1-\alpha/2}\,SE` with the same
    pooled (null) SE as the test - so it excludes 0 exactly when the test rejects, but it is
    not an unpooled Wald interval; read it as a companion of the test.  Computed from counts
    (``np.bincount`` of the pair codes).  As for the t-test, the ``"greater"`` p-value is the
    upper tail (``Prop.test`` has ``pnorm(-abs(z))``).

    Equivalent R (package ``Partiallyoverlapping``; it reads wave 1 relative to wave 2, so its
    ``z`` and interval have the opposite sign)::

        Prop.test(x_only, y_only, x_paired, y_paired, alternative = "two.sided",
                  conf.level = 0.95)

    References
    ----------
    Derrick, B., Dobson-Mckittrick, A., Toher, D. & White, P. (2015). Test statistics for
    comparing two proportions with partially overlapping samples. *J. Applied Quantitative
    Methods* 10(3), 1-14.

    Examples
    --------
    The worked example of Derrick, Dobson-Mckittrick, Toher & White (2015): 15 pairs, 9
    wave-1-only and 6 wave-2-only respondents.

    >>> from crisis_survey.stats import partially_overlapping_z
    >>> pairs_x = [1] * 8 + [1] + [0] * 3 + [0] * 3
    >>> pairs_y = [1] * 8 + [0] + [1] * 3 + [0] * 3
    >>> res = partially_overlapping_z([1, 1, 1, 1, 1, 0, 0, 0, 0], [1] * 6, pairs_x, pairs_y)
    >>> print(f"z = {res.statistic:.3f}, p = {res.p_value:.5f}")
    z = 1.937, p = 0.05278
    >>> print(f"difference {res.effect_size:.4f} [{res.ci_low:.4f}, {res.ci_high:.4f}]")
    difference 0.2262 [-0.0027, 0.4551]
    """
    check_alternative(alternative)
    check_confidence(confidence)
    parts = _Parts(x_only, y_only, x_paired, y_paired, incomplete_pairs, binary=True)
    # Paired table from one bincount of the codes 2 * x + y: 0 = (0,0), 1 = (0,1), 2 = (1,0),
    # 3 = (1,1).
    table = np.bincount((2 * parts.x3 + parts.x4).astype(np.intp), minlength=4)
    n00, n01, n10, n11 = (int(v) for v in table)
    return _partially_overlapping_z_from_counts(
        (n00, n01, n10, n11), (parts.x1.size, int(parts.x1.sum())),
        (parts.x2.size, int(parts.x2.sum())), alternative=alternative, confidence=confidence,
        details=parts.counts(),
    )


def _partially_overlapping_z_from_counts(
    paired: tuple[int, int, int, int],
    only_x: tuple[int, int],
    only_y: tuple[int, int],
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    details: Mapping[str, float] | None = None,
) -> TestResult:
    """Partially overlapping z-test from counts (the one implementation).

    Parameters
    ----------
    paired
        The paired table ``(n00, n01, n10, n11)`` (wave-1 value, wave-2 value).
    only_x, only_y
        ``(n, successes)`` of the unpaired answers of wave 1 and of wave 2.
    alternative, confidence
        As in :func:`partially_overlapping_z`; not re-validated here.
    details
        Extra entries for the result's ``details`` (sample sizes).

    Returns
    -------
    TestResult
        What :func:`partially_overlapping_z` returns for data with these counts.
    """
    n00, n01, n10, n11 = paired
    (na, e), (nb, g) = only_x, only_y
    nc = n00 + n01 + n10 + n11
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
    estimate = p2 - p1  # wave 2 minus wave 1
    if not se > 0.0:
        raise CrisisSurveyError(
            "every observation has the same value (all 0 or all 1, or only perfectly "
            "concordant pairs), so the z statistic is 0/0; expected some variation"
        )
    z = estimate / se
    lo, hi = interval(estimate, se, alternative, confidence)
    out = {
        "p_x": p1,
        "p_y": p2,
        "p_pooled": pbar,
        "r": r,
        "se": se,
        "n_11": float(n11),
        "n_10": float(n10),
        "n_01": float(n01),
        "n_00": float(n00),
        "n_x_only_1": float(e),
        "n_y_only_1": float(g),
        **(details or {}),
    }
    return TestResult(
        method="Partially overlapping samples z-test for two proportions",
        statistic=z,
        p_value=p_value(z, alternative),
        n=int(n1 + n2),
        df=None,
        statistic_name="z",
        alternative=alternative,
        effect_size=estimate,
        effect_measure="difference in proportions",
        ci_low=lo,
        ci_high=hi,
        confidence=float(confidence),
        estimate=estimate,
        details=out,
    )


def _partially_overlapping_z_batch(
    paired: tuple[Any, Any, Any, Any],
    only_x: tuple[Any, Any],
    only_y: tuple[Any, Any],
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`_partially_overlapping_z_from_counts` for many comparisons at once (integer
    count arrays, one entry per comparison), element by element the same arithmetic.

    Returns ``statistic``, ``p_value``, ``estimate``, ``ci_low``, ``ci_high`` and ``ok``: False
    where the one-at-a-time function raises (an empty wave, no variation); NaN there.
    """
    n00, n01, n10, n11 = (np.asarray(a, dtype=np.int64) for a in paired)
    na, e = (np.asarray(a, dtype=np.int64) for a in only_x)
    nb, g = (np.asarray(a, dtype=np.int64) for a in only_y)
    nc = n00 + n01 + n10 + n11
    n1, n2 = na + nc, nb + nc
    with np.errstate(invalid="ignore", divide="ignore"):
        margins = [(n11 + n10), (n01 + n00), (n11 + n01), (n10 + n00)]
        has_r = (nc >= 2) & np.all([m != 0 for m in margins], axis=0)
        prod = (margins[0].astype(np.float64) * margins[1] * margins[2] * margins[3])
        r = np.where(has_r, (n11 * n00 - n10 * n01) / np.sqrt(prod), 0.0)
        p1 = (n11 + n10 + e) / n1
        p2 = (n11 + n01 + g) / n2
        pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
        w = pbar * (1.0 - pbar)
        se = np.sqrt(np.maximum(0.0, w / n1 + w / n2 - 2.0 * r * w * nc / (n1 * n2)))
        estimate = p2 - p1  # wave 2 minus wave 1
        ok = (n1 > 0) & (n2 > 0) & (se > 0.0)
        z = np.where(ok, estimate / se, 0.0)
    p = p_values(z, alternative)
    lo, hi = intervals(estimate, np.where(ok, se, 0.0), alternative, confidence)
    nan = np.nan
    return {"statistic": np.where(ok, z, nan), "p_value": np.where(ok, p, nan),
            "estimate": np.where(ok, estimate, nan), "ci_low": np.where(ok, lo, nan),
            "ci_high": np.where(ok, hi, nan), "ok": ok}
