"""Rank tests: Wilcoxon signed-rank (paired waves) and Mann-Whitney (independent waves).

Both tests are computed from counts. The observations are reduced in one vectorised pass to
counts per distinct value (``np.bincount`` for integer-coded survey answers, ``np.unique``
otherwise); midranks, the statistic, its null moments, the exact conditional distribution
and the rank-biserial effect size are then functions of those counts only. The private
helpers :func:`_signed_rank_from_counts` and :func:`_mann_whitney_from_counts` take the counts
directly, for callers that already hold contingency tables (the comparison engine).

One direction: ``x`` is wave 1 and ``y`` wave 2, and every statistic and effect reads wave 2
relative to wave 1. The signed-rank ``V`` sums the ranks of the pairs whose answer is higher in
wave 2 (differences ``y - x``; R's ``wilcox.test(y, x, paired = TRUE)``), the rank-sum ``W``
is the Mann-Whitney U of wave 2 (R's ``wilcox.test(y, x)``), and ``r > 0`` means higher
answers in wave 2. R's ``wilcox.test(x, y)`` reads the other way: its ``V`` is
``n(n+1)/2 - V`` (without zeros), its ``W`` is ``n_x n_y - W``, and its ``r`` has the
opposite sign.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from .._errors import CrisisSurveyError
from ._arrays import FloatArray, check_alternative, paired, unpaired
from ._exact import (
    exact_p_value,
    exact_p_values,
    rank_sum_pmf,
    signed_rank_pmfs,
)
from ._rank_ci import (
    newcombe_ci,
    signed_rank_ci_asymptotic,
    signed_rank_ci_exact,
)
from ._results import Alternative, TestResult

IntArray = npt.NDArray[np.int64]

__all__ = ["mann_whitney", "wilcoxon_signed_rank"]

#: ``method="auto"`` uses the exact conditional distribution when the number of non-zero
#: paired differences is below this (signed-rank test) or when both samples are smaller than
#: this (Mann-Whitney); the same thresholds as R's ``wilcox.test``.
AUTO_EXACT_BELOW: int = 50

_METHODS = ("auto", "exact", "asymptotic")
_ZERO_METHODS = ("wilcox", "pratt")
#: integer-coded data whose range is at most this are counted with np.bincount
_BINCOUNT_RANGE = 1 << 20


# -- input checks ------------------------------------------------------------------------


def _check_options(method: str, alternative: str, confidence: float) -> None:
    check_alternative(alternative)
    if method not in _METHODS:
        raise CrisisSurveyError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    if not isinstance(confidence, int | float) or not 0.0 < float(confidence) < 1.0:
        raise CrisisSurveyError(
            f"confidence must be a number strictly between 0 and 1; got {confidence!r}"
        )


def _check_finite(values: FloatArray, name: str) -> None:
    if not np.all(np.isfinite(values)):
        raise CrisisSurveyError(
            f"{name} contains infinite values; expected finite numbers or missing values"
        )


def _as_int_codes(values: FloatArray) -> IntArray | None:
    """Integer codes of ``values`` if they are whole numbers in a small range, else None."""
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi - lo > _BINCOUNT_RANGE or not np.array_equal(values, np.rint(values)):
        return None
    return np.asarray(values - lo, dtype=np.int64)


# -- counting ----------------------------------------------------------------------------


def _difference_counts(d: FloatArray) -> tuple[IntArray, IntArray, int]:
    """Counts of positive and negative differences per distinct ``|d|`` (ascending), zeros."""
    codes = _as_int_codes(d)
    top = int(np.max(np.abs(d))) if codes is not None else 0
    if codes is not None and top <= _BINCOUNT_RANGE:
        lo = int(d.min())
        tally = np.bincount(codes + (lo + top), minlength=2 * top + 1).astype(np.int64)
        pos, neg, n_zero = tally[top + 1 :], tally[:top][::-1], int(tally[top])
    else:
        nonzero = d[d != 0]
        n_zero = int(d.size - nonzero.size)
        _, inverse = np.unique(np.abs(nonzero), return_inverse=True)
        k = int(inverse.max()) + 1 if inverse.size else 0
        pos = np.bincount(inverse[nonzero > 0], minlength=k).astype(np.int64)
        neg = np.bincount(inverse[nonzero < 0], minlength=k).astype(np.int64)
    keep = (pos + neg) > 0
    return pos[keep], neg[keep], n_zero


def _level_counts(a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
    """Counts of ``a`` and of ``b`` per distinct pooled value (ascending)."""
    pooled = np.concatenate([a, b])
    codes = _as_int_codes(pooled)
    if codes is None:
        _, inverse = np.unique(pooled, return_inverse=True)
        codes = np.asarray(inverse, dtype=np.int64)
    k = int(codes.max()) + 1
    ca = np.bincount(codes[: a.size], minlength=k).astype(np.int64)
    cb = np.bincount(codes[a.size :], minlength=k).astype(np.int64)
    keep = (ca + cb) > 0
    return ca[keep], cb[keep]


# -- shared pieces -----------------------------------------------------------------------


def _normal_p(z: FloatArray, alternative: str) -> FloatArray:
    """Normal p-values of standardized statistics (elementwise)."""
    if alternative == "less":
        return np.asarray(ndtr(z), dtype=np.float64)
    if alternative == "greater":
        return np.asarray(ndtr(-z), dtype=np.float64)
    return np.minimum(1.0, 2.0 * np.minimum(ndtr(z), ndtr(-z)))


def _continuity(deviation: FloatArray, alternative: str, correction: bool) -> FloatArray:
    """R's continuity correction: 0.5 towards the null in the direction tested (elementwise)."""
    if not correction:
        return np.zeros_like(deviation)
    if alternative == "greater":
        return np.full_like(deviation, 0.5)
    if alternative == "less":
        return np.full_like(deviation, -0.5)
    return 0.5 * np.sign(deviation)


def _doubled_midranks_rows(counts: IntArray, offset: IntArray | int = 0) -> IntArray:
    """:func:`doubled_midranks` of every row of a 2-D count array (zero counts allowed)."""
    start = np.cumsum(counts, axis=1) - counts + np.asarray(offset, dtype=np.int64).reshape(-1, 1)
    return np.asarray(2 * start + counts + 1, dtype=np.int64)


def _choose_exact(method: str, small: bool) -> bool:
    return method == "exact" or (method == "auto" and small)


# -- signed-rank -------------------------------------------------------------------------


def _signed_rank_batch(
    pos: Any,
    neg: Any,
    n_zero: Any,
    *,
    zero_method: str = "wilcox",
    correction: bool = True,
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> dict[str, npt.NDArray[Any]]:
    """Signed-rank statistic, its normal approximation and the rank-biserial r, for many
    samples at once (one row of counts each); the one implementation of these formulas.

    Parameters
    ----------
    pos, neg
        Integer arrays of shape ``(m, L)``: per sample, how many differences ``y - x`` (wave 2
        minus wave 1) are positive / negative with each distinct absolute value, by increasing
        absolute value
        (zeros allowed).
    n_zero
        Integer array ``(m,)``: zero differences per sample.
    zero_method, correction, alternative, confidence
        As in :func:`wilcoxon_signed_rank`; not re-validated here.

    Returns
    -------
    dict of numpy.ndarray
        Per sample: ``statistic`` (V), ``v2`` and ``total2`` (doubled V and doubled sum of
        the ranks taking part, integers), ``expectation``, ``variance``, ``z`` and
        ``p_value`` of the normal approximation (``p_value`` 1 where the variance is 0),
        ``deviation`` (V minus its expectation), ``n_nonzero``, ``n_pairs``, ``r`` (matched-
        pairs rank-biserial, NaN without non-zero differences), ``ci_low``, ``ci_high``.
    """
    pos = np.atleast_2d(np.asarray(pos, dtype=np.int64))
    neg = np.atleast_2d(np.asarray(neg, dtype=np.int64))
    zeros = np.atleast_1d(np.asarray(n_zero, dtype=np.int64))
    mult = pos + neg
    n_nonzero = mult.sum(axis=1)
    # doubled midranks of |d| among the non-zero differences (wilcox) or among all (pratt)
    r2_wilcox = _doubled_midranks_rows(mult)
    r2 = _doubled_midranks_rows(mult, zeros) if zero_method == "pratt" else r2_wilcox
    v2 = (pos * r2).sum(axis=1)
    total2 = (mult * r2).sum(axis=1)  # doubled sum of the ranks taking part
    statistic = v2 / 2.0
    expectation = total2 / 4.0
    variance = (mult * r2.astype(np.float64) ** 2).sum(axis=1) / 16.0
    deviation = statistic - expectation
    degenerate = variance == 0.0
    cc = _continuity(deviation, alternative, correction)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(degenerate, np.nan, (deviation - cc) / np.sqrt(variance))
        p_value = np.where(degenerate, 1.0, _normal_p(z, alternative))
        # matched-pairs rank-biserial correlation (effectsize: zeros dropped before ranking)
        n = n_nonzero.astype(np.float64)
        s_max = n * (n + 1.0) / 2.0
        r = ((pos * r2_wilcox).sum(axis=1) / 2.0 - (neg * r2_wilcox).sum(axis=1) / 2.0) / s_max
    r = np.where(n_nonzero > 0, r, np.nan)
    # the asymptotic inversion of the test along the tilted family (:mod:`._rank_ci`); the
    # exact p-value's callers replace it by the exact inversion (_signed_rank_exact)
    ci_low, ci_high = signed_rank_ci_asymptotic(
        r2_wilcox, mult, (pos * r2_wilcox).sum(axis=1), confidence=confidence,
        alternative=alternative, correction=correction)
    return {
        "statistic": statistic, "v2": v2, "total2": total2, "expectation": expectation,
        "variance": variance, "deviation": deviation, "z": z, "p_value": p_value,
        "n_nonzero": n_nonzero, "n_pairs": n_nonzero + zeros, "r": r, "ci_low": ci_low,
        "ci_high": ci_high,
    }


def _rank_result(
    b: dict[str, Any],
    *,
    exact_p: float | None,
    ties: str,
    correction: bool,
    method: str,
    n: int,
    statistic_name: str,
    effect_measure: str,
    alternative: str,
    confidence: float,
    details: dict[str, float],
) -> TestResult:
    """The :class:`TestResult` of one rank test from its row ``b`` of a ``_*_batch``.

    ``exact_p`` is the p-value of the exact conditional distribution, or ``None`` for the
    normal approximation (``b["z"]``, ``b["p_value"]``). ``method`` holds ``{how}``, filled
    with the way the p-value was found. ``z`` is reported either way (uncorrected when
    exact); ``details`` are added after ``z`` and ``exact``.
    """
    variance = float(b["variance"])
    if exact_p is not None:
        z = float(b["deviation"]) / math.sqrt(variance) if variance > 0.0 else math.nan
        p_value, how = exact_p, f"exact conditional distribution given {ties}"
    else:
        z, p_value = float(b["z"]), float(b["p_value"])
        how = "normal approximation with tie correction" + (
            " and continuity correction" if correction else ""
        )
    exact = exact_p is not None
    return TestResult(
        method=method.format(how=how),
        statistic=float(b["statistic"]),
        p_value=p_value,
        n=n,
        statistic_name=statistic_name,
        alternative=_alt(alternative),
        effect_size=float(b["r"]),
        effect_measure=effect_measure,
        ci_low=float(b["ci_low"]),
        ci_high=float(b["ci_high"]),
        confidence=float(confidence),
        details={
            "z": z,
            "exact": 1.0 if exact else 0.0,
            **details,
            "expectation": float(b["expectation"]),
            "variance": variance,
            "continuity_correction": 1.0 if (correction and not exact) else 0.0,
        },
    )


def _signed_rank_exact_p(
    pos: IntArray, neg: IntArray, n_zero: int, v2: int, total2: int, *, pratt: bool = False,
    alternative: str = "two-sided",
) -> float:
    """Exact p-value of the signed-rank statistic, conditional on the ties and zeros (coin's
    ``distribution = "exact"``), from the counts of :func:`_signed_rank_batch` and its doubled
    statistic ``v2`` and doubled rank total ``total2``."""
    return float(_signed_rank_exact_ps(
        np.asarray(pos)[None, :], np.asarray(neg)[None, :], [n_zero], [v2], [total2],
        pratt=pratt, alternative=alternative)[0])


def _signed_rank_exact_ps(
    pos: Any, neg: Any, n_zero: Any, v2: Any, total2: Any, *, pratt: bool = False,
    alternative: str = "two-sided",
) -> FloatArray:
    """:func:`_signed_rank_exact_p` for many samples (one row of counts each) at once: the
    distributions in one compiled call, then each p-value."""
    return _signed_rank_exact(pos, neg, n_zero, v2, total2, pratt=pratt,
                              alternative=alternative)[0]


def _signed_rank_exact(
    pos: Any, neg: Any, n_zero: Any, v2: Any, total2: Any, *, pratt: bool = False,
    alternative: str = "two-sided", confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Exact p-values and the exact intervals of the matched-pairs rank-biserial r (the
    inversion of the same exact test, :func:`._rank_ci.signed_rank_ci_exact`) of many samples
    (one row of counts each), from one computation of the null distributions (two under
    Pratt's method, whose test ranks the zeros but whose effect size does not)."""
    pos = np.atleast_2d(np.asarray(pos, dtype=np.int64))
    mult = pos + np.atleast_2d(np.asarray(neg, dtype=np.int64))
    offset = np.asarray(n_zero, dtype=np.int64) if pratt else 0
    r2 = _doubled_midranks_rows(mult, offset)  # zero counts leave the other groups' ranks
    pmf, _ = signed_rank_pmfs(r2, mult)
    p = exact_p_values(pmf, np.asarray(v2), np.asarray(total2), alternative)
    if pratt:
        r2 = _doubled_midranks_rows(mult)
        pmf, _ = signed_rank_pmfs(r2, mult)
    low, high = signed_rank_ci_exact(pmf, r2, mult, (pos * r2).sum(axis=1),
                                     confidence=confidence, alternative=alternative)
    return p, low, high


def _signed_rank_from_counts(
    pos: Any,
    neg: Any,
    n_zero: int,
    *,
    zero_method: str = "wilcox",
    correction: bool = True,
    method: str = "auto",
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    """Wilcoxon signed-rank test from counts of paired differences.

    Parameters
    ----------
    pos, neg
        Integer arrays of equal length: how many differences ``y - x`` (wave 2 minus wave 1)
        are positive / negative with each distinct absolute value, ordered by increasing
        absolute value (entries may be zero). For survey items coded ``0..K-1`` entry ``j`` is
        the count of differences ``+(j+1)`` / ``-(j+1)``.
    n_zero
        Number of zero differences.
    zero_method, correction, method, alternative, confidence
        As in :func:`wilcoxon_signed_rank`; not re-validated here.

    Returns
    -------
    TestResult
        The same result :func:`wilcoxon_signed_rank` returns for data with these counts.
    """
    pos = np.asarray(pos, dtype=np.int64)
    neg = np.asarray(neg, dtype=np.int64)
    keep = (pos + neg) > 0
    pos, neg = pos[keep], neg[keep]
    pratt = zero_method == "pratt"
    b = {key: v[0] for key, v in _signed_rank_batch(
        pos[None, :], neg[None, :], [int(n_zero)], zero_method=zero_method,
        correction=correction, alternative=alternative, confidence=confidence).items()}
    n_nonzero = int(b["n_nonzero"])
    exact = _choose_exact(method, n_nonzero < AUTO_EXACT_BELOW)
    exact_p = None
    if exact and n_nonzero > 0:
        p, low, high = _signed_rank_exact(
            pos[None, :], neg[None, :], [int(n_zero)], [int(b["v2"])], [int(b["total2"])],
            pratt=pratt, alternative=alternative, confidence=confidence)
        exact_p, b["ci_low"], b["ci_high"] = float(p[0]), low[0], high[0]
    elif exact:
        exact_p = 1.0  # nothing to rank: the conditional distribution is a point
    zeros = "Pratt: zeros ranked, then dropped" if pratt else "zero differences dropped"
    return _rank_result(
        b, exact_p=exact_p, ties="ties and zeros", correction=correction,
        method="Wilcoxon signed-rank test ({how}; " + zeros + ")", n=int(b["n_pairs"]),
        statistic_name="V", effect_measure="matched-pairs rank-biserial r",
        alternative=alternative, confidence=confidence,
        details={"n_nonzero": float(n_nonzero), "n_zero": float(n_zero),
                 "n_positive": float(pos.sum()), "n_negative": float(neg.sum())},
    )


def wilcoxon_signed_rank(
    x: Any,
    y: Any,
    *,
    zero_method: Literal["wilcox", "pratt"] = "wilcox",
    correction: bool = True,
    method: Literal["auto", "exact", "asymptotic"] = "auto",
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    r"""Wilcoxon signed-rank test of paired (wave 1, wave 2) answers.

    Parameters
    ----------
    x, y
        Wave-1 and wave-2 answers of the same respondents, aligned (array-likes of numbers,
        ordered categoricals, ``None``/NaN for missing). Pairs with a missing value in either
        wave are dropped.
    zero_method
        ``"wilcox"`` (default): zero differences are dropped before ranking, as R's
        ``wilcox.test`` and coin's ``zero.method = "Wilcoxon"`` do. ``"pratt"``: zeros are
        ranked with the other absolute differences and then dropped, as
        ``coin::wilcoxsign_test(zero.method = "Pratt")`` does.
    correction
        Apply R's continuity correction (0.5) in the normal approximation.
    method
        ``"exact"``: exact conditional distribution given the observed ties and zeros;
        ``"asymptotic"``: normal approximation with tie correction; ``"auto"`` (default):
        exact when fewer than 50 differences are non-zero, otherwise asymptotic.
    alternative
        ``"greater"``: wave-2 values tend to be larger than wave-1 values (``y - x``
        shifted above 0); ``"less"``: the opposite; ``"two-sided"``.
    confidence
        Confidence level of the rank-biserial interval.

    Returns
    -------
    TestResult
        ``statistic`` is ``V``, the sum of the ranks of the positive differences ``y - x``
        (the pairs higher in wave 2; R's ``wilcox.test(y, x, paired = TRUE)``),
        ``effect_size`` the matched-pairs rank-biserial correlation (positive: higher in
        wave 2) with its confidence interval, ``n`` the number of complete pairs (zeros included);
        ``details`` holds
        ``z`` (standardized statistic, continuity-corrected on the asymptotic path),
        ``n_zero``, ``n_nonzero``, ``n_positive``, ``n_negative``, the null ``expectation``
        and ``variance`` of ``V``, and ``exact`` (1 if the exact distribution was used).

    Raises
    ------
    CrisisSurveyError
        If no complete pair remains, the samples differ in length, values are not numbers,
        an option is invalid, or ``method="exact"`` is asked for more than about 2,000
        non-zero differences (see :mod:`crisis_survey.stats._exact`).

    Notes
    -----
    With ``d_i = y_i - x_i`` (wave 2 minus wave 1), ``R_i`` the midrank of ``|d_i|`` among the
    differences taking
    part (the non-zero ones; under Pratt's method all, zeros included) and ``n`` the number of
    non-zero differences,

    .. math::

        V = \sum_{d_i > 0} R_i, \qquad E V = \tfrac12 \sum_{d_i \ne 0} R_i, \qquad
        \operatorname{Var} V = \tfrac14 \sum_{d_i \ne 0} R_i^2 .

    Without zeros and with ``"wilcox"`` these are ``n(n+1)/4`` and
    ``n(n+1)(2n+1)/24 - \sum (t^3 - t)/48`` over tie groups of size ``t``, R's formulas. The
    asymptotic p-value uses ``z = (V - E V - c) / \sqrt{\operatorname{Var} V}`` with R's
    continuity correction ``c`` (``0.5 sign(V - E V)`` two-sided, ``+0.5`` for ``"greater"``,
    ``-0.5`` for ``"less"``). The exact p-value is computed from the permutation
    distribution of ``V`` over the ``2^n`` sign assignments, conditional on the tie pattern;
    two-sided it is ``P(|V - E V| >= |v - E V|)`` (coin's definition; equal to R's
    ``2 min(P(V <= v), P(V >= v))`` since the distribution is symmetric).

    The effect size is ``r = (R^+ - R^-) / (n(n+1)/2)`` with ranks of the non-zero
    differences (zeros dropped whatever ``zero_method``), as effectsize computes it; ``n``
    here is the number of non-zero differences, as in ``effectsize::rank_biserial(y - x)``
    (``rank_biserial(x, y, paired = TRUE)`` reads wave 1 relative to wave 2: the same ``r``
    with the opposite sign). Its
    interval inverts the signed-rank test itself (effectsize's Fisher-z interval does not
    keep its coverage under ties and zeros: under no change it excluded 0 in 25% of samples
    of 10 pairs). Along the exponentially tilted family ``P_lambda ∝ exp(lambda V) P_0``, in
    which the signs are independent with ``P(d_i > 0) = expit(lambda R_i)``, the bounds are
    the family's expected ``r``,
    ``theta(lambda) = sum_i R_i tanh(lambda R_i / 2) / sum_i R_i``, at the ``lambda`` where
    ``P_lambda(V >= v)`` (lower bound) or ``P_lambda(V <= v)`` (upper bound) equals
    ``(1 - confidence) / 2`` (``1 - confidence`` and the far bound -1 or 1 for a one-sided
    ``alternative``). With the exact method the tails are those of the exact conditional
    distribution, so the interval excludes 0 exactly when the exact p-value is below
    ``1 - confidence``; with the normal approximation they are the family's normal tails
    with the test's continuity correction. The interval never has zero width (one positive
    difference gives [-0.95, 1]); with one tie group (binary items) it is Clopper-Pearson's
    interval for ``(b - c) / (b + c)``. See :mod:`crisis_survey.stats._rank_ci` and
    ``docs/methods/rank-tests.md`` (measured coverage).

    When every difference is zero there is nothing to rank: ``V = 0``, the p-value is 1 and
    the effect size NaN. When the variance is zero the asymptotic p-value is 1 (R returns
    NaN).

    Equivalent R calls (``y`` first, so that R reads wave 2 relative to wave 1; with
    ``wilcox.test(x, y, ...)`` R's ``V`` is the sum of the other ranks and its ``z`` and
    ``r`` change sign)::

        wilcox.test(y, x, paired = TRUE, exact = FALSE, correct = TRUE)    # asymptotic
        coin::wilcoxsign_test(y ~ x, distribution = "exact",
                              zero.method = "Wilcoxon")                     # exact
        effectsize::rank_biserial(y - x)     # same r (not its interval)
        # the interval: no R package; tests/fixtures/r/rank_ci.R enumerates it

    References
    ----------
    Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1(6).
    Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures.
    JASA 54, 655-667.
    Hollander, M. & Wolfe, D. A. (1973). Nonparametric Statistical Methods. Wiley.
    Kerby, D. S. (2014). The simple difference formula: an approach to teaching
    nonparametric correlation. Comprehensive Psychology 3.

    Examples
    --------
    Depression scores before (x, the first wave) and after (y) the first therapy visit
    (Hollander & Wolfe 1973, p. 29; the example of R's ``wilcox.test``, which tests
    ``x > y`` with ``wilcox.test(x, y, paired = TRUE, alternative = "greater")``: V = 40,
    p = 0.01953). Read as after relative to before, the scores fell: V = 45 - 40 = 5, r < 0:

    >>> from crisis_survey.stats import wilcoxon_signed_rank
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> res = wilcoxon_signed_rank(x, y, alternative="less")
    >>> res.statistic, round(res.p_value, 5)
    (5.0, 0.01953)
    >>> round(res.effect_size, 4)
    -0.7778

    Likert answers (1-5) at two waves, with ties, zeros and a missing answer; answers rose.
    With 7 non-zero differences ``"auto"`` uses the exact conditional distribution (R:
    ``wilcox.test(w2, w1, paired = TRUE)`` gives V = 24;
    ``coin::wilcoxsign_test(distribution = "exact")`` p = 0.125;
    ``effectsize::rank_biserial(w2 - w1)`` r = 0.71; the interval contains 0 as p > 0.05):

    >>> w1 = [3, 4, 2, 5, 3, 3, 4, None, 2, 1]
    >>> w2 = [4, 4, 3, 5, 4, 2, 5, 3, 3, 2]
    >>> res = wilcoxon_signed_rank(w1, w2)
    >>> res.n, res.details["n_zero"], res.statistic, round(res.p_value, 6)
    (9, 2.0, 24.0, 0.125)
    >>> round(res.effect_size, 2), round(res.ci_low, 2), round(res.ci_high, 2)
    (0.71, -0.16, 0.99)
    """
    _check_options(method, alternative, confidence)
    if zero_method not in _ZERO_METHODS:
        raise CrisisSurveyError(
            f"zero_method must be one of {', '.join(_ZERO_METHODS)}; got {zero_method!r}"
        )
    a, b = paired(x, y)
    if a.size == 0:
        raise CrisisSurveyError(
            "no complete pairs: every pair has a missing value in wave 1 or wave 2"
        )
    _check_finite(a, "x")
    _check_finite(b, "y")
    pos, neg, n_zero = _difference_counts(b - a)  # wave 2 minus wave 1
    return _signed_rank_from_counts(
        pos,
        neg,
        n_zero,
        zero_method=zero_method,
        correction=correction,
        method=method,
        alternative=alternative,
        confidence=confidence,
    )


# -- Mann-Whitney ------------------------------------------------------------------------


def _mann_whitney_batch(
    count_x: Any,
    count_y: Any,
    *,
    correction: bool = True,
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> dict[str, npt.NDArray[Any]]:
    """Mann-Whitney statistic, its normal approximation and the rank-biserial r, for many
    pairs of samples at once (one row of counts each); the one implementation of these
    formulas.

    Parameters
    ----------
    count_x, count_y
        Integer arrays of shape ``(m, L)``: per comparison, how many members of ``x`` (wave 1)
        / ``y`` (wave 2) take each distinct value, by increasing value (zeros allowed). Rows
        where a sample is empty give NaN.
    correction, alternative, confidence
        As in :func:`mann_whitney`; not re-validated here.

    Returns
    -------
    dict of numpy.ndarray
        Per comparison: ``statistic`` (W, the U of wave 2), ``t2`` (doubled rank sum of y,
        integer), ``n_x``,
        ``n_y``, ``expectation``, ``variance``, ``deviation``, ``z`` and ``p_value`` of the
        normal approximation (``p_value`` 1 where the variance is 0), ``r`` (rank-biserial),
        ``ci_low``, ``ci_high``.
    """
    cx = np.atleast_2d(np.asarray(count_x, dtype=np.int64))
    cy = np.atleast_2d(np.asarray(count_y, dtype=np.int64))
    counts = cx + cy
    n_x, n_y = cx.sum(axis=1), cy.sum(axis=1)
    n_total = n_x + n_y
    r2 = _doubled_midranks_rows(counts)
    t2 = (cy * r2).sum(axis=1)  # doubled rank sum of y (wave 2)
    statistic = (t2 - n_y * (n_y + 1)) / 2.0  # W: the U of wave 2
    fx, fy, ft = (v.astype(np.float64) for v in (n_x, n_y, n_total))
    expectation = fx * fy / 2.0
    ties = (counts.astype(np.float64) ** 3 - counts).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.maximum(fx * fy / 12.0 * ((ft + 1) - ties / (ft * (ft - 1.0))), 0.0)
        degenerate = variance <= 0.0
        deviation = statistic - expectation
        cc = _continuity(deviation, alternative, correction)
        z = np.where(degenerate, np.nan, (deviation - cc) / np.sqrt(variance))
        p_value = np.where(degenerate, 1.0, _normal_p(z, alternative))
        # rank-biserial correlation (effectsize): (U_y - U_x) / (n_x n_y) = 2 W / (n_x n_y) - 1
        r = 2.0 * statistic / (fx * fy) - 1.0
    empty = (n_x == 0) | (n_y == 0)
    r, p_value = np.where(empty, np.nan, r), np.where(empty, np.nan, p_value)
    ci_low, ci_high = newcombe_ci(r, fx, fy, confidence=confidence, alternative=alternative)
    return {
        "statistic": statistic, "t2": t2, "n_x": n_x, "n_y": n_y, "expectation": expectation,
        "variance": variance, "deviation": deviation, "z": z, "p_value": p_value, "r": r,
        "ci_low": ci_low, "ci_high": ci_high,
    }


def _mann_whitney_from_counts(
    count_x: Any,
    count_y: Any,
    *,
    correction: bool = True,
    method: str = "auto",
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    """Mann-Whitney (Wilcoxon rank-sum) test from counts per ordered level.

    Parameters
    ----------
    count_x, count_y
        Integer arrays of equal length: how many members of ``x`` (wave 1) / ``y`` (wave 2)
        take each distinct value, ordered by increasing value (levels with no observations are
        allowed). Both
        samples must be non-empty.
    correction, method, alternative, confidence
        As in :func:`mann_whitney`; not re-validated here.

    Returns
    -------
    TestResult
        The same result :func:`mann_whitney` returns for data with these counts.
    """
    cx = np.asarray(count_x, dtype=np.int64)
    cy = np.asarray(count_y, dtype=np.int64)
    keep = (cx + cy) > 0
    cx, cy = cx[keep], cy[keep]
    counts = cx + cy
    n_x, n_y = int(cx.sum()), int(cy.sum())
    n_total = n_x + n_y
    if n_x == 0 or n_y == 0:
        raise CrisisSurveyError(
            f"both samples need at least one observation; got {n_x} in x and {n_y} in y"
        )
    b = {key: v[0] for key, v in _mann_whitney_batch(
        cx[None, :], cy[None, :], correction=correction, alternative=alternative,
        confidence=confidence).items()}
    t2 = int(b["t2"])
    exact = _choose_exact(method, n_x < AUTO_EXACT_BELOW and n_y < AUTO_EXACT_BELOW)
    exact_p = None
    if exact:
        # distribution of the doubled rank sum of the smaller sample; reflect for y (wave 2,
        # whose rank sum is observed) if needed
        if n_y <= n_x:
            pmf = rank_sum_pmf(counts, n_y)
        else:
            pmf_x = rank_sum_pmf(counts, n_x)
            full = n_total * (n_total + 1)  # doubled sum of all ranks
            pmf = np.zeros(full + 1, dtype=np.float64)
            pmf[full - np.arange(pmf_x.size)] = pmf_x
        if pmf.size <= t2:  # numerical guard; the observed sum is always in the support
            pmf = np.concatenate([pmf, np.zeros(t2 + 1 - pmf.size)])
        exact_p = exact_p_value(pmf, t2, 2 * n_y * (n_total + 1), alternative)
    return _rank_result(
        b, exact_p=exact_p, ties="ties", correction=correction,
        method="Mann-Whitney / Wilcoxon rank-sum test ({how})", n=n_total,
        statistic_name="W", effect_measure="rank-biserial r",
        alternative=alternative, confidence=confidence,
        details={"n_x": float(n_x), "n_y": float(n_y)},
    )


def mann_whitney(
    x: Any,
    y: Any,
    *,
    correction: bool = True,
    method: Literal["auto", "exact", "asymptotic"] = "auto",
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    r"""Mann-Whitney U (Wilcoxon rank-sum) test of two independent samples.

    Parameters
    ----------
    x, y
        The two samples (e.g. wave-1 and wave-2 answers of different respondents):
        array-likes of numbers or ordered categoricals; missing values are dropped.
    correction
        Apply R's continuity correction (0.5) in the normal approximation.
    method
        ``"exact"``: exact conditional distribution given the observed ties;
        ``"asymptotic"``: normal approximation with tie correction; ``"auto"`` (default):
        exact when both samples have fewer than 50 observations, otherwise asymptotic.
    alternative
        ``"greater"``: ``y`` (wave 2) tends to be larger than ``x`` (wave 1); ``"less"``:
        smaller; ``"two-sided"``.
    confidence
        Confidence level of the rank-biserial interval.

    Returns
    -------
    TestResult
        ``statistic`` is ``W``, the Mann-Whitney U of ``y`` (pairs with the wave-2 answer
        higher, ties counting 1/2; R's ``wilcox.test(y, x)``), ``effect_size`` the
        rank-biserial correlation (positive when wave 2 tends to be higher) with its interval,
        ``n`` the total number of observations; ``details`` holds ``z``, ``n_x``, ``n_y``, the
        null ``expectation`` and ``variance`` of ``W`` and ``exact``.

    Raises
    ------
    CrisisSurveyError
        If either sample has no non-missing value, values are not numbers, an option is
        invalid, or ``method="exact"`` is asked for samples too large for the exact
        distribution (about 190 in each of two equal samples; see
        :mod:`crisis_survey.stats._exact`).

    Notes
    -----
    With ``R_i`` the midranks in the pooled sample of ``N = n_x + n_y`` observations,

    .. math::

        W = \sum_{i \in y} R_i - \frac{n_y (n_y + 1)}{2}, \qquad E W = \frac{n_x n_y}{2},
        \qquad \operatorname{Var} W = \frac{n_x n_y}{12}
        \Bigl(N + 1 - \frac{\sum_j (t_j^3 - t_j)}{N (N - 1)}\Bigr),

    where ``t_j`` are the sizes of the tie groups. The asymptotic p-value uses
    ``z = (W - E W - c) / \sqrt{\operatorname{Var} W}`` with R's continuity correction ``c``.
    The exact p-value uses the distribution of the rank sum of ``y`` over all
    ``C(N, n_y)`` ways of splitting the pooled observations, conditional on the ties; the
    two-sided p-value is ``P(|W - E W| >= |w - E W|)`` (coin's definition; with ties the
    distribution need not be symmetric, so this can differ from doubling the smaller tail).

    The effect size is ``r = (U_y - U_x) / (n_x n_y) = 2 W / (n_x n_y) - 1`` as
    ``effectsize::rank_biserial(y, x)`` (``rank_biserial(x, y)`` has the opposite sign). Its
    interval (whatever ``method``) is Newcombe's
    (2006) method-5 score interval for
    ``A = (r + 1) / 2``, solving ``(A_hat - A)^2 = z^2 V(A)`` with
    ``V(A) = A(1 - A) / (n_x n_y) (2N* - 1 - (3N* - 3) / ((2 - A)(1 + A)))``,
    ``N* = N / 2``. It never has zero width at ``r = -1`` or ``1``.

    When all observations are tied the variance is zero and the p-value is 1 (R returns NaN
    for the asymptotic test).

    Equivalent R calls (``y`` first, so that R reads wave 2 relative to wave 1;
    ``wilcox.test(x, y)`` gives ``W' = n_x n_y - W``, and its ``r`` has the opposite sign)::

        wilcox.test(y, x, exact = FALSE, correct = TRUE)                    # asymptotic
        coin::wilcox_test(v ~ g, distribution = "exact")                    # exact
        effectsize::rank_biserial(y, x)      # same r (not its interval)

    References
    ----------
    Mann, H. B. & Whitney, D. R. (1947). On a test of whether one of two random variables is
    stochastically larger than the other. Ann. Math. Statist. 18, 50-60.
    Streitberg, B. & Roehmel, J. (1986). Exact distributions for permutation and rank tests.
    Statistical Software Newsletter 12, 10-17.
    Kerby, D. S. (2014). The simple difference formula. Comprehensive Psychology 3.
    Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
    Mann-Whitney statistic. Part 2. Statistics in Medicine 25, 559-573.

    Examples
    --------
    Satisfaction (1-5) of service users answering only in 2014 (x) or only in 2015 (y); the
    later answers are higher. Both samples are small, so ``"auto"`` uses the exact
    conditional distribution (R: ``wilcox.test(y, x)`` W = 51, ``wilcox.test(x, y)`` W = 12 =
    7 x 9 - 51; ``coin::wilcox_test(distribution = "exact")`` p = 0.03575;
    ``effectsize::rank_biserial(y, x)`` r = 0.62):

    >>> from crisis_survey.stats import mann_whitney
    >>> x = [2, 3, 3, 4, 2, 1, 3, None]
    >>> y = [4, 5, 3, 4, 4, 5, 2, 4, 3]
    >>> res = mann_whitney(x, y)
    >>> res.statistic, res.n, round(res.p_value, 5)
    (51.0, 16, 0.03575)
    >>> round(res.effect_size, 2), round(res.ci_low, 2), round(res.ci_high, 2)
    (0.62, 0.03, 0.88)
    """
    _check_options(method, alternative, confidence)
    a, b = unpaired(x, y)
    if a.size == 0 or b.size == 0:
        raise CrisisSurveyError(
            f"both samples need at least one non-missing value; got {a.size} in x and {b.size} in y"
        )
    _check_finite(a, "x")
    _check_finite(b, "y")
    cx, cy = _level_counts(a, b)
    return _mann_whitney_from_counts(
        cx,
        cy,
        correction=correction,
        method=method,
        alternative=alternative,
        confidence=confidence,
    )


def _alt(alternative: str) -> Alternative:
    if alternative == "less":
        return "less"
    if alternative == "greater":
        return "greater"
    return "two-sided"
