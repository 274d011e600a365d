"""Paired and Welch t-tests with standardised mean differences (private module).

The public names are :func:`paired_t` and :func:`welch_t`, re-exported by
:mod:`crisis_survey.stats`.  Both work from sample moments (count, mean, variance), which numpy
computes in vectorised passes; no per-respondent Python loop is involved.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from scipy import integrate, optimize, special
from scipy import stats as sps

from .._errors import CrisisSurveyError
from ._arrays import FloatArray, as_float, check_alternative
from ._results import Alternative, TestResult

__all__ = ["paired_t", "welch_t"]

PairedEffect = Literal["d_z", "g_z"]
IndependentEffect = Literal["g", "d"]

_EPS = float(np.finfo(np.float64).eps)


# -- small shared helpers (also used by ._overlap) ----------------------------------------------
def check_confidence(confidence: float) -> None:
    """Raise unless ``0 < confidence < 1``."""
    if not (isinstance(confidence, int | float) and 0.0 < float(confidence) < 1.0):
        raise CrisisSurveyError(
            f"confidence must be a number strictly between 0 and 1 (e.g. 0.95); got {confidence!r}"
        )


def p_value(statistic: float, alternative: Alternative, df: float | None = None) -> float:
    """p-value of a t (``df`` given) or standard normal (``df=None``) statistic."""
    dist: Any = sps.norm() if df is None else sps.t(df)
    if alternative == "less":
        p = float(dist.cdf(statistic))
    elif alternative == "greater":
        p = float(dist.sf(statistic))
    else:
        p = float(2.0 * dist.sf(abs(statistic)))
    return min(1.0, p)


def interval(
    estimate: float,
    se: float,
    alternative: Alternative,
    confidence: float,
    df: float | None = None,
) -> tuple[float, float]:
    """Wald-type interval ``estimate -/+ q * se`` as R's ``t.test`` reports it.

    Two-sided: quantile ``1 - (1 - confidence) / 2``; one-sided: quantile ``confidence`` with
    the other bound infinite.  ``df=None`` uses the standard normal.
    """
    dist: Any = sps.norm() if df is None else sps.t(df)
    if alternative == "two-sided":
        q = float(dist.ppf(1.0 - (1.0 - confidence) / 2.0))
        return estimate - q * se, estimate + q * se
    q = float(dist.ppf(confidence))
    if alternative == "less":
        return -math.inf, estimate + q * se
    return estimate - q * se, math.inf


def p_values(statistic: FloatArray, alternative: Alternative,
             df: FloatArray | None = None) -> FloatArray:
    """:func:`p_value` of many statistics at once (``df`` one per statistic, or None for the
    standard normal), from the distribution functions themselves (``special.stdtr`` and
    ``special.ndtr``, which scipy's ``t`` and ``norm`` call), so the values are the same bits."""
    x = np.asarray(statistic, dtype=np.float64)

    def sf(v: FloatArray) -> FloatArray:
        return np.asarray(special.ndtr(-v) if df is None else special.stdtr(df, -v))

    if alternative == "less":
        p = special.ndtr(x) if df is None else special.stdtr(df, x)
    elif alternative == "greater":
        p = sf(x)
    else:
        p = 2.0 * sf(np.abs(x))
    return np.asarray(np.minimum(1.0, p), dtype=np.float64)


def intervals(estimate: FloatArray, se: FloatArray, alternative: Alternative,
              confidence: float, df: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray]:
    """:func:`interval` of many estimates at once (quantiles from ``special.stdtrit`` /
    ``special.ndtri``, which scipy's ``t.ppf`` / ``norm.ppf`` call)."""
    est = np.asarray(estimate, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    level = 1.0 - (1.0 - confidence) / 2.0 if alternative == "two-sided" else confidence
    q = np.asarray(special.ndtri(level) if df is None else special.stdtrit(df, level)) + 0.0
    q = np.broadcast_to(q, est.shape)
    if alternative == "two-sided":
        return est - q * se, est + q * se
    if alternative == "less":
        return np.full(est.shape, -math.inf), est + q * se
    return est - q * se, np.full(est.shape, math.inf)


def moments(a: FloatArray) -> tuple[int, float, float]:
    """Count, mean and sample variance (``ddof=1``; NaN when fewer than 2 values)."""
    n = int(a.size)
    if n == 0:
        return 0, math.nan, math.nan
    mean = float(np.mean(a))
    var = float(np.sum((a - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return n, mean, var


def _solve_decreasing(f: Callable[[float], float], start: float) -> float:
    """Root of a decreasing function ``f``, bracketing outward from ``start``."""
    lo = hi = start
    f_lo = f_hi = f(start)
    step = 1.0
    for _ in range(200):
        if f_lo >= 0.0:
            break
        lo -= step
        step *= 2.0
        f_lo = f(lo)
    step = 1.0
    for _ in range(200):
        if f_hi <= 0.0:
            break
        hi += step
        step *= 2.0
        f_hi = f(hi)
    if not (f_lo >= 0.0 >= f_hi):
        raise CrisisSurveyError(
            "could not bracket the noncentrality parameter for the effect-size interval"
        )
    if f_lo == 0.0:
        return lo
    if f_hi == 0.0:
        return hi
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * _EPS, maxiter=500))


# scipy's noncentral t (Boost) is accurate for moderate arguments but returns NaN or fails to
# converge for large |t| or |ncp| (e.g. cdf(-7, df=1, ncp=8) is NaN, and so is most of the
# range around t = -1e5).  Beyond these bounds the cdf is integrated numerically instead.
_NCT_DIRECT_T = 30.0
_NCT_DIRECT_NCP = 40.0


def _nct_cdf_quad(t: float, df: float, ncp: float) -> float:
    """``P(T <= t)`` for T noncentral t(df, ncp), by one-dimensional quadrature.

    For ``t > 0``: ``T <= t`` iff ``Z + ncp <= t sqrt(V/df)``, Z standard normal, V chi-square
    on df, so with ``u = Z + ncp``:
    ``P = Phi(-ncp) + int_0^inf phi(u - ncp) P(V >= df (u/t)^2) du``.  The integrand is smooth
    on the scale of the normal density whatever t is.  ``t < 0`` uses
    ``P(T(ncp) <= t) = 1 - P(T(-ncp) <= -t)``.
    """
    if t < 0.0:
        return 1.0 - _nct_cdf_quad(-t, df, -ncp)
    base = float(special.ndtr(-ncp))
    if t == 0.0:
        return base
    lo, hi = max(0.0, ncp - 40.0), ncp + 40.0
    if hi <= 0.0:
        return base

    def integrand(u: float) -> float:
        return float(
            math.exp(-0.5 * (u - ncp) ** 2)
            / math.sqrt(2.0 * math.pi)
            * special.chdtrc(df, df * (u / t) ** 2)
        )

    # Break points where the integrand changes fast: the normal peak at ncp and the step of the
    # chi-square tail at u = t, whose width is about t / sqrt(2 df).
    width = t / math.sqrt(2.0 * df)
    marks = [ncp - 5.0, ncp, ncp + 5.0, t]
    marks += [t + k * width for k in (-12.0, -6.0, -3.0, -1.5, 1.5, 3.0, 6.0, 12.0)]
    points = sorted({p for p in marks if lo < p < hi})
    with warnings.catch_warnings():
        # quad may report that round-off limits it near 1e-15; that is far below what the
        # root finder needs (probabilities near alpha/2 and 1 - alpha/2).
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            integrand, lo, hi, points=points or None, limit=200, epsabs=1e-15, epsrel=1e-13
        )
    return min(1.0, max(0.0, base + value))


def nct_cdf(t: float, df: float, ncp: float) -> float:
    """Noncentral t cdf: scipy where it is reliable, numerical integration elsewhere."""
    if abs(t) <= _NCT_DIRECT_T and abs(ncp) <= _NCT_DIRECT_NCP:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cdf = float(special.nctdtr(df, ncp, t))
        if math.isfinite(cdf):
            return cdf
    return _nct_cdf_quad(t, df, ncp)


def ncp_limits(t: float, df: float, level: float) -> tuple[float, float]:
    """Confidence limits for the noncentrality parameter of a t statistic.

    Solves ``P(T_df(ncp) <= t) = 1 - alpha/2`` (lower limit) and ``= alpha/2`` (upper limit)
    with ``alpha = 1 - level``, as ``effectsize`` does (it uses ``optim``; here a bracketing
    root finder is used, so the limits are exact to ~1e-12).
    """
    alpha = 1.0 - level

    def cdf_minus(p: float) -> Callable[[float], float]:
        return lambda ncp: nct_cdf(t, df, ncp) - p

    return (
        _solve_decreasing(cdf_minus(1.0 - alpha / 2.0), t),
        _solve_decreasing(cdf_minus(alpha / 2.0), t),
    )


def hedges_j(df: float) -> float:
    """Exact small-sample correction ``J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))``."""
    half = df / 2.0
    return math.exp(special.gammaln(half) - 0.5 * math.log(half) - special.gammaln(half - 0.5))


def _scale_bound(bound: float, j: float) -> float:
    """Multiply a CI bound by Hedges' J; an infinite (one-sided) bound stays infinite."""
    return bound if math.isinf(bound) else bound * j


def _smd_ci(
    t: float, df: float, hn: float, alternative: Alternative, confidence: float
) -> tuple[float, float]:
    """effectsize's CI for a standardised difference: ncp limits times ``sqrt(hn)``."""
    level = confidence if alternative == "two-sided" else 2.0 * confidence - 1.0
    lo, hi = ncp_limits(t, df, level)
    scale = math.sqrt(hn)
    low, high = lo * scale, hi * scale
    if alternative == "less":
        low = -math.inf
    elif alternative == "greater":
        high = math.inf
    return low, high


def _check_constant(se: float, centre: float, what: str) -> None:
    # R's t.test: stop("data are essentially constant") when stderr < 10 * eps * |mean|.
    if not se > 10.0 * _EPS * abs(centre):
        raise CrisisSurveyError(
            f"{what} are essentially constant, so the t statistic is undefined "
            "(expected some variation in the data)"
        )


# -- paired t ---------------------------------------------------------------------------------
def paired_t(
    x: Any,
    y: Any,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    effect: PairedEffect = "d_z",
) -> TestResult:
    r"""Paired t-test of the change from wave 1 to wave 2, with Cohen's :math:`d_z` (or Hedges'
    :math:`g_z`).

    Parameters
    ----------
    x, y : array-like
        Wave-1 and wave-2 answers of the same respondents, aligned (same length). Numbers,
        ``None``/NaN for missing; an ordered Categorical is scored 0, 1, 2, ... by level.
        Pairs with a missing value on either side are dropped.
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis about the mean change ``y - x`` (``"greater"``: wave 2 higher).
    confidence : float
        Confidence level of the intervals (of the mean difference and of the effect size).
    effect : {"d_z", "g_z"}
        ``"d_z"`` (default): mean difference over the SD of the differences.  ``"g_z"``: the same
        times Hedges' small-sample correction :math:`J(n-1)`.

    Returns
    -------
    TestResult
        ``statistic`` (t, positive when wave 2 is higher), ``df`` (n - 1), ``p_value``, ``n``
        (complete pairs), ``estimate`` (mean change ``y - x``), ``effect_size`` with
        ``ci_low``/``ci_high``, and ``details``:
        ``mean_diff_ci_low``, ``mean_diff_ci_high`` (R's ``conf.int``), ``se``, ``sd_diff``,
        ``mean_x``, ``mean_y``, ``n_pairs``, ``n_dropped`` (incomplete pairs), and
        ``hedges_j`` when ``effect="g_z"``.  One-sided intervals have an infinite bound.

    Raises
    ------
    CrisisSurveyError
        Lengths differ, fewer than 2 complete pairs, constant differences, bad keyword.

    Notes
    -----
    With :math:`d_i = y_i - x_i` (wave 2 minus wave 1), :math:`\bar d`, :math:`s_d` and :math:`n`
    pairs:
    :math:`t = \bar d / (s_d/\sqrt n)` on :math:`n-1` df, and the interval for the mean
    difference is :math:`\bar d \pm t_{n-1} s_d/\sqrt n`.

    :math:`d_z = \bar d / s_d`.  Its interval inverts the noncentral t distribution: find
    :math:`\lambda_L, \lambda_U` with :math:`P(T_{n-1}(\lambda_L) \le t) = 1-\alpha/2` and
    :math:`P(T_{n-1}(\lambda_U) \le t) = \alpha/2`, then divide by :math:`\sqrt n`.  One-sided
    alternatives use level :math:`2c - 1` and an infinite other bound.  :math:`g_z = J d_z` with
    :math:`J(m) = \Gamma(m/2) / (\sqrt{m/2}\,\Gamma((m-1)/2))`, :math:`m = n - 1`, the bounds
    multiplied by the same :math:`J`.  This is exactly ``effectsize`` 0.8.3; that package finds
    the limits with ``optim`` (accurate to ~1e-4 relative), here they are solved to machine
    precision.

    Equivalent R (``y`` first, so that R reads wave 2 relative to wave 1;
    ``t.test(x, y, paired = TRUE)`` gives the same numbers with the opposite sign)::

        t.test(y, x, paired = TRUE, alternative = "two.sided", conf.level = 0.95)
        effectsize::cohens_d(y, x, paired = TRUE, ci = 0.95)   # effect = "d_z"
        effectsize::hedges_g(y, x, paired = TRUE, ci = 0.95)   # effect = "g_z"

    References
    ----------
    Student (1908). The probable error of a mean. *Biometrika* 6(1), 1-25.
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 2.
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size.
    *J. Educational Statistics* 6(2), 107-128.
    Ben-Shachar, Lüdecke & Makowski (2020). effectsize. *J. Open Source Software* 5(56), 2815.

    Examples
    --------
    Hours of extra sleep under two drugs (R's ``sleep`` data, Student 1908; R's
    ``t.test(drug1, drug2, paired = TRUE)`` gives t = -4.0621, drug 1 relative to drug 2):

    >>> from crisis_survey.stats import paired_t
    >>> drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> res = paired_t(drug1, drug2)
    >>> print(f"t = {res.statistic:.4f}, df = {res.df:.0f}, p = {res.p_value:.6f}")
    t = 4.0621, df = 9, p = 0.002833
    >>> print(f"{res.details['mean_diff_ci_low']:.4f} {res.details['mean_diff_ci_high']:.4f}")
    0.7001 2.4599
    >>> print(f"d_z = {res.effect_size:.3f} [{res.ci_low:.3f}, {res.ci_high:.3f}]")
    d_z = 1.285 [0.415, 2.118]
    """
    check_alternative(alternative)
    check_confidence(confidence)
    if effect not in ("d_z", "g_z"):
        raise CrisisSurveyError(f"effect must be 'd_z' or 'g_z'; got {effect!r}")
    a, b = as_float(x, "x"), as_float(y, "y")
    if a.shape != b.shape:
        raise CrisisSurveyError(
            f"paired samples must have the same length: x has {a.size}, y has {b.size}"
        )
    keep = ~(np.isnan(a) | np.isnan(b))
    diff = b[keep] - a[keep]  # wave 2 minus wave 1
    n, mean_d, var_d = moments(diff)
    if n < 2:
        raise CrisisSurveyError(
            f"the paired t-test needs at least 2 complete pairs; got {n} "
            f"(of {a.size} pairs, {a.size - n} had a missing value)"
        )
    return _paired_t_from_moments(
        n, mean_d, var_d, float(np.mean(a[keep])), float(np.mean(b[keep])),
        alternative=alternative, confidence=confidence, effect=effect,
        details={"n_dropped": float(a.size - n)},
    )


def _paired_t_from_moments(
    n: int,
    mean_d: float,
    var_d: float,
    mean_x: float,
    mean_y: float,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    effect: PairedEffect = "d_z",
    details: Mapping[str, float] | None = None,
) -> TestResult:
    """Paired t-test from the moments of the complete pairs (the one implementation).

    Parameters
    ----------
    n
        Number of complete pairs.
    mean_d, var_d
        Mean and sample variance (``ddof=1``) of the changes ``y - x`` (wave 2 minus wave 1).
    mean_x, mean_y
        Means of the two sides (reported in ``details``).
    alternative, confidence, effect
        As in :func:`paired_t`; not re-validated here.
    details
        Extra entries for the result's ``details``.

    Returns
    -------
    TestResult
        What :func:`paired_t` returns for data with these moments.
    """
    if n < 2:
        raise CrisisSurveyError(f"the paired t-test needs at least 2 complete pairs; got {n}")
    sd_d = math.sqrt(var_d)
    se = sd_d / math.sqrt(n)
    _check_constant(se, mean_d, "the paired changes y - x")
    df = float(n - 1)
    t = mean_d / se
    ci_mean = interval(mean_d, se, alternative, confidence, df)
    es = mean_d / sd_d
    lo, hi = _smd_ci(t, df, 1.0 / n, alternative, confidence)
    out: dict[str, float] = {
        "mean_diff_ci_low": ci_mean[0],
        "mean_diff_ci_high": ci_mean[1],
        "se": se,
        "sd_diff": sd_d,
        "mean_x": mean_x,
        "mean_y": mean_y,
        "n_pairs": float(n),
        **(details or {}),
    }
    measure = "Cohen's d_z"
    if effect == "g_z":
        j = hedges_j(df)
        es, lo, hi = es * j, _scale_bound(lo, j), _scale_bound(hi, j)
        out["hedges_j"] = j
        measure = "Hedges' g_z"
    return TestResult(
        method="Paired t-test",
        statistic=t,
        p_value=p_value(t, alternative, df),
        n=int(n),
        df=df,
        statistic_name="t",
        alternative=alternative,
        effect_size=es,
        effect_measure=measure,
        ci_low=lo,
        ci_high=hi,
        confidence=float(confidence),
        estimate=mean_d,
        details=out,
    )


# -- Welch t ----------------------------------------------------------------------------------
def welch_t(
    x: Any,
    y: Any,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    effect: IndependentEffect = "g",
    pooled_sd: bool = False,
) -> TestResult:
    r"""Welch's two-sample t-test of wave 2 against wave 1, with Hedges' g.

    Parameters
    ----------
    x, y : array-like
        Wave-1 and wave-2 answers of two independent samples (any lengths). ``None``/NaN
        values are dropped from each sample; an ordered Categorical is scored 0, 1, 2, ...
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis about ``mean(y) - mean(x)`` (``"greater"``: wave 2 higher).
    confidence : float
        Confidence level of the intervals.
    effect : {"g", "d"}
        ``"g"`` (default): Hedges' g, the standardised difference times the small-sample
        correction :math:`J(\nu)`.  ``"d"``: Cohen's d, without it.
    pooled_sd : bool
        Standardiser of the effect size only (the test is always Welch's).  ``False``
        (default): :math:`\sqrt{(s_x^2+s_y^2)/2}`, with the interval built on Welch's t and df,
        consistent with the test.  ``True``: the classical pooled SD with :math:`n_x+n_y-2` df.

    Returns
    -------
    TestResult
        ``statistic`` (t), ``df`` (Welch-Satterthwaite), ``p_value``, ``n`` (``n_x + n_y``),
        ``estimate`` (``mean(y) - mean(x)``, positive when wave 2 is higher), ``effect_size`` with
        its interval, and
        ``details``: ``mean_diff_ci_low``, ``mean_diff_ci_high``, ``se``, ``mean_x``,
        ``mean_y``, ``sd_x``, ``sd_y``, ``n_x``, ``n_y``, ``n_dropped_x``, ``n_dropped_y``
        and ``hedges_j`` when ``effect="g"``.

    Raises
    ------
    CrisisSurveyError
        A sample with fewer than 2 values, constant data, or a bad keyword.

    Notes
    -----
    :math:`t = (\bar y - \bar x)/\sqrt{s_x^2/n_x + s_y^2/n_y}` with
    :math:`\nu = (v_x + v_y)^2 / (v_x^2/(n_x-1) + v_y^2/(n_y-1))`, :math:`v = s^2/n`.

    Effect size (``effectsize`` 0.8.3 conventions):

    * ``pooled_sd=False``: :math:`d = (\bar y - \bar x)/\sqrt{(s_x^2+s_y^2)/2}`; the interval
      inverts the noncentral t at the Welch t and :math:`\nu`, scaled by
      :math:`\sqrt{h}`, :math:`h = 2(n_y s_x^2 + n_x s_y^2)/(n_x n_y (s_x^2+s_y^2))`;
      :math:`g = J(\nu)\,d`.
    * ``pooled_sd=True``: :math:`d = (\bar y - \bar x)/s_p`, interval from the Student t on
      :math:`n_x+n_y-2` df scaled by :math:`\sqrt{1/n_x+1/n_y}`; :math:`g = J(n_x+n_y-2)\,d`.

    :math:`J(m) = \Gamma(m/2)/(\sqrt{m/2}\,\Gamma((m-1)/2))`; bounds are multiplied by the same
    :math:`J`.  One-sided alternatives use level :math:`2c-1` and an infinite other bound.

    Equivalent R (``y`` first, so that R reads wave 2 relative to wave 1;
    ``t.test(x, y)`` gives the same numbers with the opposite sign)::

        t.test(y, x, var.equal = FALSE, alternative = "two.sided", conf.level = 0.95)
        effectsize::hedges_g(y, x, pooled_sd = FALSE, ci = 0.95)   # effect="g" (default)
        effectsize::cohens_d(y, x, pooled_sd = TRUE, ci = 0.95)    # effect="d", pooled_sd=True

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. *Biometrika* 34(1/2), 28-35.
    Hedges, L. V. (1981). *J. Educational Statistics* 6(2), 107-128.
    Bonett, D. G. (2008). Confidence intervals for standardized linear contrasts of means.
    *Psychological Methods* 13(2), 99-109 (the unpooled standardiser).
    Ben-Shachar, Lüdecke & Makowski (2020). effectsize. *J. Open Source Software* 5(56), 2815.

    Examples
    --------
    The ``sleep`` data treated as two independent groups:

    >>> from crisis_survey.stats import welch_t
    >>> drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> res = welch_t(drug1, drug2)
    >>> print(f"t = {res.statistic:.4f}, df = {res.df:.3f}, p = {res.p_value:.5f}")
    t = 1.8608, df = 17.776, p = 0.07939
    >>> print(f"g = {res.effect_size:.3f} [{res.ci_low:.3f}, {res.ci_high:.3f}]")
    g = 0.796 [-0.092, 1.665]
    """
    check_alternative(alternative)
    check_confidence(confidence)
    if effect not in ("g", "d"):
        raise CrisisSurveyError(f"effect must be 'g' or 'd'; got {effect!r}")
    if not isinstance(pooled_sd, bool):
        raise CrisisSurveyError(f"pooled_sd must be True or False; got {pooled_sd!r}")
    a_all, b_all = as_float(x, "x"), as_float(y, "y")
    a, b = a_all[~np.isnan(a_all)], b_all[~np.isnan(b_all)]
    nx, mx, vx = moments(a)
    ny, my, vy = moments(b)
    for name, n_, total in (("x", nx, a_all.size), ("y", ny, b_all.size)):
        if n_ < 2:
            raise CrisisSurveyError(
                f"Welch's t-test needs at least 2 non-missing values in {name}; got {n_} "
                f"(of {total})"
            )
    return _welch_t_from_moments(
        nx, mx, vx, ny, my, vy, alternative=alternative, confidence=confidence,
        effect=effect, pooled_sd=pooled_sd,
        details={"n_dropped_x": float(a_all.size - nx), "n_dropped_y": float(b_all.size - ny)},
    )


def _welch_t_from_moments(
    nx: int | float,
    mx: float,
    vx: float,
    ny: int | float,
    my: float,
    vy: float,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    effect: IndependentEffect = "g",
    pooled_sd: bool = False,
    details: Mapping[str, float] | None = None,
) -> TestResult:
    """Welch's t-test from each sample's count, mean and sample variance (the one
    implementation).

    Parameters
    ----------
    nx, mx, vx, ny, my, vy
        Count, mean and sample variance (``ddof=1``) of ``x`` and of ``y``.
    alternative, confidence, effect, pooled_sd
        As in :func:`welch_t`; not re-validated here.
    details
        Extra entries for the result's ``details``.

    Returns
    -------
    TestResult
        What :func:`welch_t` returns for data with these moments.
    """
    for name, n_ in (("x", nx), ("y", ny)):
        if n_ < 2:
            raise CrisisSurveyError(
                f"Welch's t-test needs at least 2 non-missing values in {name}; got {n_:.0f}"
            )
    ex, ey = vx / nx, vy / ny
    se = math.sqrt(ex + ey)
    diff = my - mx  # wave 2 minus wave 1
    _check_constant(se, max(abs(mx), abs(my)), "the data")
    df = (ex + ey) ** 2 / (ex**2 / (nx - 1) + ey**2 / (ny - 1))
    t = diff / se
    ci_mean = interval(diff, se, alternative, confidence, df)

    if pooled_sd:
        sd = math.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))
        hn = 1.0 / nx + 1.0 / ny
        es_df = float(nx + ny - 2)
        es_t = diff / (sd * math.sqrt(hn))
    else:
        sd = math.sqrt((vx + vy) / 2.0)
        hn = 2.0 * (ny * vx + nx * vy) / (nx * ny * (vx + vy))
        es_df = df
        es_t = t
    es = diff / sd
    lo, hi = _smd_ci(es_t, es_df, hn, alternative, confidence)
    out: dict[str, float] = {
        "mean_diff_ci_low": ci_mean[0],
        "mean_diff_ci_high": ci_mean[1],
        "se": se,
        "mean_x": mx,
        "mean_y": my,
        "sd_x": math.sqrt(vx),
        "sd_y": math.sqrt(vy),
        "n_x": float(nx),
        "n_y": float(ny),
        **(details or {}),
    }
    label = "pooled SD" if pooled_sd else "average-variance SD"
    measure = f"Cohen's d ({label})"
    if effect == "g":
        j = hedges_j(es_df)
        es, lo, hi = es * j, _scale_bound(lo, j), _scale_bound(hi, j)
        out["hedges_j"] = j
        measure = f"Hedges' g ({label})"
    return TestResult(
        method="Welch two-sample t-test",
        statistic=t,
        p_value=p_value(t, alternative, df),
        n=int(nx + ny),
        df=df,
        statistic_name="t",
        alternative=alternative,
        effect_size=es,
        effect_measure=measure,
        ci_low=lo,
        ci_high=hi,
        confidence=float(confidence),
        estimate=diff,
        details=out,
    )
