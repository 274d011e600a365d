"""Contingency-table tests for categorical survey items.

Every public function builds its table with a single :func:`numpy.bincount` over the joint
codes and then works on the counts only; the private ``_*_from_table`` / ``_*_from_counts``
helpers take the counts directly so that a vectorised comparison engine can call them with
precomputed tables.

Tables are oriented as R's ``table(x, y)`` (paired: rows = wave-1 answer, columns = wave-2
answer) or ``table(wave, answer)`` (unpaired: row 1 = wave 1, row 2 = wave 2); levels are
sorted (numbers increasing; categorical inputs in category order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special, stats

from .._errors import CrisisSurveyError
from ._arrays import FloatArray, as_float
from ._proportions import (
    _clopper_pearson,
    check_confidence,
    newcombe_difference,
    newcombe_paired,
)
from ._results import TestResult

__all__ = ["chi_square", "fisher_exact", "linear_trend", "marginal_homogeneity", "mcnemar"]

IntArray = npt.NDArray[np.int64]

#: R's ``fisher.test`` / ``binom.test`` relative tolerance for "as or less probable".
_REL_ERR = 1e-7
#: Largest number of partial tables the 2 x k Fisher enumeration may hold at once.
_FISHER_MAX_STATES = 20_000_000
#: Rank tolerance of the generalised inverse, as coin/libcoin (sqrt of machine epsilon).
_RANK_TOL = math.sqrt(np.finfo(float).eps)


# ---------------------------------------------------------------------------------------
# coding the answers
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Coded:
    """Answers of two samples as integer codes over one shared, sorted list of levels."""

    x: IntArray  # codes of x, -1 where missing
    y: IntArray  # codes of y, -1 where missing
    labels: list[Any]  # the level labels, in order
    values: FloatArray | None  # numeric value of each level (None for text labels)

    @property
    def k(self) -> int:
        return len(self.labels)


def _is_categorical(v: Any) -> bool:
    return isinstance(v, pd.Categorical) or (
        isinstance(v, pd.Series | pd.Index) and isinstance(v.dtype, pd.CategoricalDtype)
    )


def _categories(v: Any) -> pd.Index:
    if isinstance(v, pd.Categorical):
        return v.categories
    if isinstance(v, pd.Series):
        return v.cat.categories
    return pd.CategoricalIndex(v).categories


def _to_plain(v: Any, name: str) -> npt.NDArray[Any]:
    if _is_categorical(v):
        v = np.asarray(pd.Series(v).astype(object))
    elif isinstance(v, pd.Series | pd.Index):
        numeric = pd.api.types.is_numeric_dtype(v.dtype)
        v = v.to_numpy(dtype=float, na_value=np.nan) if numeric else v.to_numpy(dtype=object)
    arr = np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise CrisisSurveyError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _code(x: Any, y: Any) -> _Coded:
    """Code ``x`` and ``y`` over their joint levels (missing -> -1)."""
    if _is_categorical(x) and _is_categorical(y):
        cx, cy = _categories(x), _categories(y)
        if not cx.equals(cy):
            raise CrisisSurveyError(
                "x and y are categoricals with different categories "
                f"({list(cx)} vs {list(cy)}); give both the same categories (the codebook's "
                "levels) so that the answers can be compared"
            )
        fx, fy = as_float(x, "x"), as_float(y, "y")
        labels = list(cx)
        values = np.arange(len(labels), dtype=float)
        return _Coded(_nan_to_code(fx), _nan_to_code(fy), labels, values)
    ax, ay = _to_plain(x, "x"), _to_plain(y, "y")
    try:
        fx, fy = _fast_float(ax, "x"), _fast_float(ay, "y")
    except CrisisSurveyError:
        return _code_labels(ax, ay)
    both = np.concatenate([fx, fy])
    present = both[~np.isnan(both)]
    if np.any(np.isinf(present)):
        raise CrisisSurveyError("answers must be finite numbers or missing; got an infinite value")
    uniq = np.unique(present)
    inverse = np.searchsorted(uniq, present)
    codes = np.full(both.shape, -1, dtype=np.int64)
    codes[~np.isnan(both)] = inverse
    return _Coded(codes[: fx.size], codes[fx.size :], list(uniq.tolist()), uniq.astype(float))


def _fast_float(arr: npt.NDArray[Any], name: str) -> FloatArray:
    """``as_float`` with a shortcut for arrays that are already numeric (no object detour)."""
    if arr.dtype.kind in "biuf":
        return np.asarray(arr, dtype=np.float64)
    return as_float(arr, name)


def _nan_to_code(f: FloatArray) -> IntArray:
    codes = np.full(f.shape, -1, dtype=np.int64)
    ok = ~np.isnan(f)
    codes[ok] = f[ok].astype(np.int64)
    return codes


def _code_labels(ax: npt.NDArray[Any], ay: npt.NDArray[Any]) -> _Coded:
    both = pd.Series(np.concatenate([ax, ay]), dtype=object)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    labels = list(uniques)
    try:
        order = sorted(range(len(labels)), key=lambda i: labels[i])
    except TypeError as exc:
        raise CrisisSurveyError(
            "x and y mix kinds of values (e.g. numbers and text) that cannot be put in one "
            f"order: {labels[:5]}"
        ) from exc
    remap = np.empty(len(labels), dtype=np.int64)
    remap[order] = np.arange(len(labels))
    codes = np.asarray(codes, dtype=np.int64)
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return _Coded(codes[: ax.size], codes[ax.size :], [labels[i] for i in order], None)


def _paired_table(x: Any, y: Any) -> tuple[IntArray, _Coded]:
    """k x k table of (wave-1 answer, wave-2 answer) over complete pairs; one bincount."""
    coded = _code(x, y)
    if coded.x.size != coded.y.size:
        raise CrisisSurveyError(
            f"paired samples must have the same length: x has {coded.x.size}, y has {coded.y.size}"
        )
    keep = (coded.x >= 0) & (coded.y >= 0)
    if not np.any(keep):
        raise CrisisSurveyError(
            "no complete pairs: every respondent is missing an answer in wave 1 or wave 2"
        )
    k = max(coded.k, 1)
    flat = np.bincount(coded.x[keep] * k + coded.y[keep], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64), coded


def _unpaired_table(x: Any, y: Any) -> tuple[IntArray, _Coded]:
    """2 x k table of (wave, answer) after dropping missing answers; one bincount."""
    coded = _code(x, y)
    cx, cy = coded.x[coded.x >= 0], coded.y[coded.y >= 0]
    if cx.size == 0 or cy.size == 0:
        which = "x (wave 1)" if cx.size == 0 else "y (wave 2)"
        raise CrisisSurveyError(f"{which} has no non-missing answers; both samples are needed")
    k = coded.k
    wave = np.concatenate([np.zeros(cx.size, dtype=np.int64), np.ones(cy.size, dtype=np.int64)])
    flat = np.bincount(wave * k + np.concatenate([cx, cy]), minlength=2 * k)
    return flat.reshape(2, k).astype(np.int64), coded


def _as_count_table(table: Any) -> IntArray:
    arr = np.asarray(table)
    if arr.ndim != 2:
        raise CrisisSurveyError(f"a contingency table must be two-dimensional; got {arr.shape}")
    if arr.size and (np.any(arr < 0) or np.any(arr != np.round(arr))):
        raise CrisisSurveyError("a contingency table must hold non-negative whole counts")
    return np.asarray(np.round(arr), dtype=np.int64)


def _undefined(method: str, why: str, n: int, statistic_name: str, **details: float) -> TestResult:
    return TestResult(
        method=f"{method} (not defined: {why})",
        statistic=math.nan,
        p_value=math.nan,
        n=n,
        df=None,
        statistic_name=statistic_name,
        details=dict(details),
    )


# ---------------------------------------------------------------------------------------
# McNemar
# ---------------------------------------------------------------------------------------
def _binom_two_sided_half(x: int, n: int) -> float:
    """R ``binom.test(x, n, p = 0.5)$p.value`` (symmetric null: twice the smaller tail)."""
    lo = min(x, n - x)
    return min(1.0, 2.0 * float(stats.binom.cdf(lo, n, 0.5)))


def _binom_midp_half(x: int, n: int) -> float:
    lo = min(x, n - x)
    tail = float(stats.binom.cdf(lo - 1, n, 0.5)) + 0.5 * float(stats.binom.pmf(lo, n, 0.5))
    return min(1.0, 2.0 * tail)


def _newcombe_paired(
    n00: int, n01: int, n10: int, n11: int, level: float
) -> tuple[float, float, float]:
    """Paired difference p2 - p1 with Newcombe's (1998) method-10 interval
    (:func:`._proportions.newcombe_paired` of one table).

    p1 = P(wave 1 = high level) = (n10 + n11)/n, p2 = (n01 + n11)/n.
    """
    diff, low, high = newcombe_paired(n00, n01, n10, n11, level)
    return float(diff), float(low), float(high)


_MCNEMAR_METHODS = ("asymptotic", "exact", "midp")


def _mcnemar_from_counts(
    n00: int,
    n01: int,
    n10: int,
    n11: int,
    *,
    method: str = "asymptotic",
    correction: bool = False,
    confidence: float = 0.95,
) -> TestResult:
    """McNemar test from the paired 2 x 2 table ``[[n00, n01], [n10, n11]]``.

    Rows are the wave-1 answer (low, high level), columns the wave-2 answer, so the
    discordant counts are ``b = n01`` (low -> high) and ``c = n10`` (high -> low).
    """
    if method not in _MCNEMAR_METHODS:
        raise CrisisSurveyError(
            f"method must be one of {', '.join(_MCNEMAR_METHODS)}; got {method!r}"
        )
    level = check_confidence(confidence)
    counts = [int(v) for v in (n00, n01, n10, n11)]
    if min(counts) < 0:
        raise CrisisSurveyError(f"counts must be non-negative; got {counts}")
    n00, n01, n10, n11 = counts
    n = n00 + n01 + n10 + n11
    if n == 0:
        raise CrisisSurveyError("the paired table is empty: no complete pairs")
    b, c = n01, n10
    m = b + c
    diff, rd_low, rd_high = _newcombe_paired(n00, n01, n10, n11, level)
    details: dict[str, float] = {
        "b": float(b),
        "c": float(c),
        "n_discordant": float(m),
        "p1": (n10 + n11) / n,
        "p2": (n01 + n11) / n,
        "risk_difference": diff,
        "risk_difference_ci_low": rd_low,
        "risk_difference_ci_high": rd_high,
    }
    name = {
        "asymptotic": "McNemar's chi-squared test"
        + (" with continuity correction" if correction and b != c else ""),
        "exact": "Exact McNemar test (binomial test on discordant pairs)",
        "midp": "Mid-p McNemar test",
    }[method]
    stat_name = "X-squared" if method == "asymptotic" else "b"
    if m == 0:
        return _undefined(name, "no discordant pairs", n, stat_name, **details)
    if method == "asymptotic":
        # R mcnemar.test: the correction is applied only when b != c
        num = (abs(b - c) - 1.0) ** 2 if (correction and b != c) else float(b - c) ** 2
        statistic = num / m
        p = float(stats.chi2.sf(statistic, 1))
        df: float | None = 1.0
        details["z"] = math.copysign(math.sqrt(statistic), b - c) if b != c else 0.0
        details["continuity_correction"] = 1.0 if (correction and b != c) else 0.0
    else:
        statistic = float(b)
        p = _binom_two_sided_half(b, m) if method == "exact" else _binom_midp_half(b, m)
        df = None
    # odds ratio b/c with the exact conditional interval: Clopper-Pearson on b/(b+c)
    lo_p, hi_p = _clopper_pearson(b, m, level)
    details["odds_ratio"] = math.inf if c == 0 else b / c
    details["odds_ratio_ci_low"] = lo_p / (1.0 - lo_p)
    details["odds_ratio_ci_high"] = math.inf if hi_p >= 1.0 else hi_p / (1.0 - hi_p)
    return TestResult(
        method=name,
        statistic=statistic,
        p_value=p,
        n=n,
        df=df,
        statistic_name=stat_name,
        effect_size=diff,
        effect_measure="paired risk difference",
        ci_low=rd_low,
        ci_high=rd_high,
        confidence=level,
        details=details,
    )


def mcnemar(
    x: Any,
    y: Any,
    *,
    method: Literal["asymptotic", "exact", "midp"] = "asymptotic",
    correction: bool = False,
    confidence: float = 0.95,
) -> TestResult:
    """McNemar test of change in a binary item between two waves (paired respondents).

    Parameters
    ----------
    x, y : array-like
        Wave-1 and wave-2 answers of the same respondents, aligned. Two distinct values at
        most (0/1, two labels, or a two-category categorical); the higher value (1, the
        second category, or the later label in sort order) is the "positive" answer.
        Pairs with a missing answer are dropped.
    method : {"asymptotic", "exact", "midp"}
        ``"asymptotic"``: chi-squared on 1 df (R's ``mcnemar.test``); ``"exact"``: two-sided
        binomial test of ``b`` out of ``b + c`` discordant pairs at 1/2 (R's
        ``binom.test``); ``"midp"``: its mid-p version (Fagerland et al. 2013).
    correction : bool
        Continuity correction for ``method="asymptotic"`` (R's ``correct=``). As in R it is
        not applied when ``b == c``. Default ``False`` (R's default is ``TRUE``: pass
        ``correction=True`` to reproduce ``mcnemar.test``): the uncorrected test keeps its size
        nearer the nominal level (Fagerland et al. 2013; ``tests/test_calibration.py``), and
        ``compare_waves`` uses the same default (:data:`crisis_survey.stats.TESTS`).
    confidence : float
        Level of the intervals for the odds ratio and the risk difference.

    Returns
    -------
    TestResult
        ``statistic`` is X-squared (asymptotic) or ``b`` (exact, mid-p); ``effect_size`` is
        the paired risk difference ``p2 - p1`` (wave 2 minus wave 1: positive = more of the
        positive answer in wave 2) with Newcombe's method-10 interval (``effect_measure=
        "paired risk difference"``). ``details`` holds ``b``, ``c``, ``n_discordant``,
        ``p1``, ``p2`` (proportions with the positive answer in waves 1 and 2),
        ``risk_difference`` with ``risk_difference_ci_low``/``_high`` (the same as the
        effect), ``odds_ratio`` (the discordant-pair odds ratio ``b / c``, above 1 when more
        pairs moved to the positive answer) with ``odds_ratio_ci_low``/``_high`` (its exact
        conditional interval), and ``z`` (asymptotic: square root of X-squared, positive
        when ``b > c``). With no discordant pairs the test is not defined:
        statistic and p-value are NaN (R's ``mcnemar.test`` gives NaN too).

    Notes
    -----
    With ``b`` = pairs low -> high and ``c`` = pairs high -> low,

    .. math:: X^2 = \\frac{(|b - c| - 1)^2}{b + c}\\ \\text{(corrected)}, \\qquad
              X^2 = \\frac{(b - c)^2}{b + c}\\ \\text{(uncorrected)},

    referred to chi-squared with 1 df. Exact: :math:`p = \\min(1, 2 P(B \\le \\min(b, c)))`,
    :math:`B \\sim \\text{Bin}(b + c, 1/2)`; mid-p subtracts :math:`P(B = \\min(b, c))` from the
    doubled tail. The odds ratio :math:`b/c` is the conditional MLE given :math:`b + c`; its
    interval transforms the Clopper-Pearson interval :math:`(\\pi_L, \\pi_U)` for
    :math:`b/(b+c)` by :math:`\\pi/(1-\\pi)`. The risk difference interval is Newcombe's (1998)
    method 10: Wilson intervals for :math:`p_1, p_2` combined with the correlation
    :math:`\\hat\\phi` (numerator corrected by :math:`n/2`).

    Equivalent R calls: ``mcnemar.test(table(x, y), correct = FALSE)`` (``correct = TRUE``
    with ``correction=True``);
    ``binom.test(b, b + c)`` (exact; its ``conf.int`` gives the odds-ratio interval).

    References
    ----------
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika 12, 153-157.
    Agresti, A. (2007). An Introduction to Categorical Data Analysis, 2nd ed., section 8.1.
    Fagerland, M. W., Lydersen, S. & Laake, P. (2013). The McNemar test for binary
    matched-pairs data: mid-p and asymptotic are better than exact conditional. BMC Medical
    Research Methodology 13, 91.
    Newcombe, R. G. (1998). Improved confidence intervals for the difference between
    binomial proportions based on paired data. Statistics in Medicine 17, 2635-2650.

    Examples
    --------
    Agresti's presidential-approval panel (1 = approve): 794 approve twice, 150 approve then
    disapprove, 86 disapprove then approve, 570 disapprove twice.

    >>> import numpy as np
    >>> from crisis_survey.stats import mcnemar
    >>> x = np.repeat([1, 1, 0, 0], [794, 150, 86, 570])
    >>> y = np.repeat([1, 0, 1, 0], [794, 150, 86, 570])
    >>> res = mcnemar(x, y, correction=False)
    >>> round(res.statistic, 2), f"{res.p_value:.1e}"
    (17.36, '3.1e-05')
    >>> round(res.effect_size, 2), res.effect_measure  # approval fell
    (-0.04, 'paired risk difference')
    >>> round(res.details["odds_ratio"], 3)
    0.573
    >>> f"{mcnemar(x, y, method='exact').p_value:.1e}"
    '3.7e-05'
    """
    table, coded = _paired_table(x, y)
    observed = np.flatnonzero(table.sum(axis=0) + table.sum(axis=1))
    if observed.size > 2:
        shown = [coded.labels[i] for i in observed[:6]]
        raise CrisisSurveyError(
            f"McNemar's test needs a binary item (two distinct answers); found {observed.size} "
            f"distinct answers among complete pairs: {shown}. Use marginal_homogeneity for "
            "items with more than two levels."
        )
    if observed.size == 2:
        sub = table[np.ix_(observed, observed)]
    else:
        # one answer only: it is the positive one if it is 1 or the last category
        idx = int(observed[0])
        positive = (coded.values is not None and coded.values[idx] == 1.0) or (
            coded.k == 2 and idx == 1
        )
        sub = np.zeros((2, 2), dtype=np.int64)
        sub[(1, 1) if positive else (0, 0)] = int(table[idx, idx])
    return _mcnemar_from_counts(
        int(sub[0, 0]),
        int(sub[0, 1]),
        int(sub[1, 0]),
        int(sub[1, 1]),
        method=method,
        correction=correction,
        confidence=confidence,
    )


# ---------------------------------------------------------------------------------------
# marginal homogeneity (Stuart-Maxwell, Bhapkar)
# ---------------------------------------------------------------------------------------
_MH_METHODS = ("stuart-maxwell", "bhapkar")


def _marginal_homogeneity_from_table(table: Any, *, method: str = "stuart-maxwell") -> TestResult:
    """Stuart-Maxwell or Bhapkar test from a square paired table (rows = wave 1)."""
    if method not in _MH_METHODS:
        raise CrisisSurveyError(f"method must be one of {', '.join(_MH_METHODS)}; got {method!r}")
    tab = _as_count_table(table)
    if tab.shape[0] != tab.shape[1]:
        raise CrisisSurveyError(f"a paired table must be square; got shape {tab.shape}")
    n = int(tab.sum())
    if n == 0:
        raise CrisisSurveyError("the paired table is empty: no complete pairs")
    used = np.flatnonzero(tab.sum(axis=0) + tab.sum(axis=1))
    t = tab[np.ix_(used, used)].astype(float)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    d = rows - cols
    cov = -(t + t.T)
    np.fill_diagonal(cov, rows + cols - 2.0 * np.diag(t))
    # Moore-Penrose inverse via the eigen-decomposition, rank as coin/libcoin's MPinv
    w, vecs = np.linalg.eigh(cov)
    keep = w > _RANK_TOL * max(float(w.max()), 0.0) if w.size else np.zeros(0, dtype=bool)
    rank = int(keep.sum())
    name = (
        "Stuart-Maxwell marginal homogeneity test"
        if method == "stuart-maxwell"
        else ("Bhapkar marginal homogeneity test")
    )
    details: dict[str, float] = {"n_levels": float(used.size), "n_changed": float(n - np.trace(t))}
    if rank == 0:
        return _undefined(name, "no respondent changed answer", n, "X-squared", **details)
    proj = vecs[:, keep].T @ d
    sm = float(np.sum(proj**2 / w[keep]))
    details["stuart_maxwell"] = sm
    if method == "stuart-maxwell":
        statistic = sm
    else:
        # SM <= n always; SM = n (up to rounding) when every pair made the same change
        statistic = math.inf if sm >= n * (1.0 - 1e-10) else sm / (1.0 - sm / n)
    p = float(stats.chi2.sf(statistic, rank))
    cohen_w, w_low, w_high = _cohens_w(sm, n, rank, 0.95)
    return TestResult(
        method=name,
        statistic=statistic,
        p_value=p,
        n=n,
        df=float(rank),
        statistic_name="X-squared",
        effect_size=cohen_w,
        effect_measure="Cohen's w",
        ci_low=w_low,
        ci_high=w_high,
        details=details,
    )


def _cohens_w(chisq: float, n: int, df: int, level: float) -> tuple[float, float, float]:
    """Cohen's w = sqrt(X^2 / n) of the Stuart-Maxwell statistic with the two-sided
    noncentral chi-square interval sqrt(lambda / n) (:func:`_ncp_bounds`)."""
    low, high = _ncp_bounds(chisq, float(df), level)
    return math.sqrt(chisq / n), math.sqrt(low / n), math.sqrt(high / n)


def marginal_homogeneity(
    x: Any, y: Any, *, method: Literal["stuart-maxwell", "bhapkar"] = "stuart-maxwell"
) -> TestResult:
    """Test whether the distribution of answers changed between waves (paired, k levels).

    Parameters
    ----------
    x, y : array-like
        Wave-1 and wave-2 answers of the same respondents, aligned (numbers, labels or
        categoricals with the same categories). Pairs with a missing answer are dropped.
    method : {"stuart-maxwell", "bhapkar"}
        Stuart-Maxwell (the generalised McNemar test; coin's ``mh_test``) or Bhapkar's
        Wald version, which uses the unrestricted covariance and is larger.

    Returns
    -------
    TestResult
        ``statistic`` (X-squared), ``df`` (the rank of the covariance, normally k - 1), and
        ``details`` with ``n_levels`` (levels used), ``n_changed`` (off-diagonal pairs) and
        ``stuart_maxwell``. If no respondent changed answer the test is not defined (NaN).

    Notes
    -----
    From the k x k table :math:`n_{ij}` (rows wave 1), :math:`d_i = n_{i+} - n_{+i}` and

    .. math:: V_{ii} = n_{i+} + n_{+i} - 2 n_{ii}, \\qquad V_{ij} = -(n_{ij} + n_{ji}),

    :math:`SM = d^\\top V^- d` with :math:`V^-` the Moore-Penrose inverse, referred to
    chi-squared on :math:`\\operatorname{rank}(V)` df (rank tolerance
    :math:`\\sqrt{\\epsilon}` times the largest eigenvalue, as coin). When :math:`V` has rank
    :math:`k-1` this equals the textbook form that drops one category and inverts the rest.
    Levels given by nobody in either wave are dropped first (they carry no information;
    dropping them does not change the statistic). A level only ever chosen in both waves
    (all on the diagonal) makes :math:`V` singular; the generalised inverse then tests the
    remaining levels with one df fewer, exactly as coin does.

    Bhapkar: :math:`W = SM / (1 - SM/n)` (Agresti 2002, section 10.3), infinite when
    :math:`SM = n` (every respondent made the same change).

    Equivalent R call: ``coin::mh_test(table(x, y))`` (asymptotic; ``statistic(.)`` is
    :math:`SM`).

    References
    ----------
    Stuart, A. (1955). A test for homogeneity of the marginal distributions in a two-way
    classification. Biometrika 42, 412-416.
    Maxwell, A. E. (1970). Comparing the classification of subjects by two independent
    judges. British Journal of Psychiatry 116, 651-655.
    Bhapkar, V. P. (1966). A note on the equivalence of two test criteria for hypotheses in
    categorical data. JASA 61, 228-235.
    Agresti, A. (2002). Categorical Data Analysis, 2nd ed., section 10.3.

    Examples
    --------
    Satisfaction (1 = poor, 2 = fair, 3 = good) of six service users at both waves:

    >>> from crisis_survey.stats import marginal_homogeneity
    >>> res = marginal_homogeneity([1, 1, 2, 2, 3, 1], [2, 3, 2, 3, 3, 2])  # coin: 3.6, df 2
    >>> res.df, round(res.statistic, 4)
    (2.0, 3.6)
    """
    table, _ = _paired_table(x, y)
    return _marginal_homogeneity_from_table(table, method=method)


# ---------------------------------------------------------------------------------------
# Pearson chi-square with Cramer's V
# ---------------------------------------------------------------------------------------
def _ncp_lower(chisq: float, df: float, level: float) -> float:
    """Noncentrality ``lambda`` with ``P(X^2_df(lambda) <= chisq) = level`` (0 if none)."""
    if chisq <= float(stats.chi2.ppf(level, df)):
        return 0.0

    def f(ncp: float) -> float:
        return float(stats.ncx2.cdf(chisq, df, ncp)) - level

    hi = max(chisq, 1.0)
    while f(hi) > 0:
        hi *= 2.0
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-12 * max(1.0, chisq), rtol=1e-14, maxiter=500))


def _ncp_bounds(chisq: float, df: float, level: float) -> tuple[float, float]:
    """Two-sided interval of the noncentrality: ``lambda_L`` with ``P(X^2_df(lambda_L) <=
    chisq) = (1 + level) / 2`` and ``lambda_U`` with ``... = (1 - level) / 2`` (each 0 when
    ``chisq`` is at most the central quantile), as ``effectsize``'s
    ``alternative = "two.sided"``."""
    return (_ncp_lower(chisq, df, (1.0 + level) / 2.0),
            _ncp_lower(chisq, df, (1.0 - level) / 2.0))


def _cramers_v(
    chisq: float, n: int, nrow: int, ncol: int, level: float, adjust: bool
) -> tuple[float, float, float]:
    """Cramer's V and its two-sided interval, as ``effectsize::cramers_v(...,
    alternative = "two.sided")``."""
    df = (nrow - 1) * (ncol - 1)
    phi = math.sqrt(chisq / n)
    lam_low, lam_high = _ncp_bounds(chisq, df, level)
    phi_low = math.sqrt(lam_low / n)
    phi_high = math.sqrt(lam_high / n)
    if adjust:
        e = df / (n - 1)
        phi = math.sqrt(max(0.0, phi * phi - e))
        phi_low = math.sqrt(max(0.0, phi_low * phi_low - e))
        phi_high = math.sqrt(max(0.0, phi_high * phi_high - e))
        k = nrow - (nrow - 1) ** 2 / (n - 1)
        l_ = ncol - (ncol - 1) ** 2 / (n - 1)
    else:
        k, l_ = float(nrow), float(ncol)
    if min(k, l_) <= 1.0:
        # The bias-corrected V is undefined for tiny n (e.g. 2 x 2 with n = 2);
        # effectsize::cramers_v returns NaN with CI (NaN, 1) there too.
        return math.nan, math.nan, math.nan
    div = math.sqrt(min(k, l_) - 1.0)
    # V is at most 1; rounding can push a perfect association to 1 + 2e-16
    return min(phi / div, 1.0), min(phi_low / div, 1.0), min(phi_high / div, 1.0)


def _table_v(t: IntArray, level: float) -> tuple[float, float, float]:
    """Bias-corrected Cramer's V of a table with no empty row or column (the effect of the
    chi-square test of the same table), with its two-sided interval."""
    n = int(t.sum())
    if n < 2:
        return math.nan, math.nan, math.nan
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    chisq = float(np.sum((t - expected) ** 2 / expected))
    return _cramers_v(chisq, n, int(t.shape[0]), int(t.shape[1]), level, True)


def _binary_effects(t: IntArray, level: float) -> tuple[str, float, float, float,
                                                         dict[str, float]]:
    """The effect of a 2 x 2 wave x answer table (rows wave 1, wave 2; columns the other
    answer, then the reported one): the risk difference ``p2 - p1`` with Newcombe's hybrid
    score interval, and in ``details`` the conditional odds ratio (wave 2 vs wave 1) with its
    exact interval, whichever test gives the p-value."""
    x1, n1, x2, n2 = int(t[0, 1]), int(t[0].sum()), int(t[1, 1]), int(t[1].sum())
    rd, low, high = (float(v) for v in newcombe_difference(x1, n1, x2, n2, level))
    details = {"p1": x1 / n1, "p2": x2 / n2}
    if (t.sum(axis=0) > 0).all() and (t.sum(axis=1) > 0).all():
        est, or_low, or_high = _conditional_odds_ratio(t, level)
        details.update(odds_ratio=est, odds_ratio_ci_low=or_low, odds_ratio_ci_high=or_high)
    return "risk difference", rd, low, high, details


def _chi_square_from_table(
    table: Any, *, adjust: bool = True, confidence: float = 0.95, correction: bool = False
) -> TestResult:
    """Pearson chi-square test of an r x c table (Yates's correction of a 2 x 2 table with
    ``correction=True``, as R's ``chisq.test(correct = TRUE)``; Cramér's V always comes from
    the uncorrected statistic)."""
    level = check_confidence(confidence)
    tab = _as_count_table(table)
    n = int(tab.sum())
    name = "Pearson's chi-squared test"
    if n == 0:
        raise CrisisSurveyError("the contingency table is empty")
    t = tab[np.ix_(tab.sum(axis=1) > 0, tab.sum(axis=0) > 0)].astype(float)
    r, c = t.shape
    if r < 2 or c < 2:
        return _undefined(name, "fewer than two rows or columns with answers", n, "X-squared")
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    chisq = float(np.sum((t - expected) ** 2 / expected))
    df = (r - 1) * (c - 1)
    yates = correction and r == 2 and c == 2
    if yates:  # R: YATES <- min(0.5, abs(x - E)); sum((abs(x - E) - YATES)^2 / E)
        dev = np.abs(t - expected)
        statistic = float(np.sum((dev - min(0.5, float(dev.min()))) ** 2 / expected))
        name += " with Yates' continuity correction"
    else:
        statistic = chisq
    p = float(stats.chi2.sf(statistic, df))
    details = {"min_expected": float(expected.min()), "n_rows": float(r), "n_cols": float(c),
               "continuity_correction": 1.0 if yates else 0.0}
    if tab.shape == (2, 2):  # a binary item (two levels, both answered): its risk difference
        measure, v, v_low, v_high, more = _binary_effects(t.astype(np.int64), level)
        details.update(more)
    else:
        measure = "Cramer's V (bias-corrected)" if adjust else "Cramer's V"
        v, v_low, v_high = (
            _cramers_v(chisq, n, r, c, level, adjust) if n > 1
            else (math.nan, math.nan, math.nan))
    return TestResult(
        method=name,
        statistic=statistic,
        p_value=p,
        n=n,
        df=float(df),
        statistic_name="X-squared",
        effect_size=v,
        effect_measure=measure,
        ci_low=v_low,
        ci_high=v_high,
        confidence=level,
        details=details,
    )


def chi_square(
    x: Any, y: Any, *, adjust: bool = True, confidence: float = 0.95, correction: bool = False
) -> TestResult:
    """Pearson chi-square test that the answer distribution is the same in both waves.

    Parameters
    ----------
    x, y : array-like
        Wave-1 answers and wave-2 answers (independent samples, any lengths). Missing
        answers are dropped.
    adjust : bool
        Report the bias-corrected Cramér's V (Bergsma 2013), effectsize's default. With
        ``False`` the classical V. (Tables with two answer levels report the risk
        difference instead.)
    confidence : float
        Level of the two-sided interval of the effect.
    correction : bool
        Yates's continuity correction when the table is 2 x 2 (R's ``correct =``; R's
        default is ``TRUE``, ours ``False``: one default for ``stats`` and ``compare_waves``,
        see :data:`crisis_survey.stats.TESTS`). Larger tables are never corrected, as in R.

    Returns
    -------
    TestResult
        X-squared, ``df = k - 1``, p-value. With two answer levels (a binary item)
        ``effect_size`` is the risk difference ``p2 - p1`` (wave 2 minus wave 1; the
        reported level is the second) with Newcombe's hybrid score interval, and
        ``details`` adds ``p1``, ``p2`` and the conditional odds ratio (``odds_ratio``,
        wave 2 vs wave 1) with its exact interval; with more levels, Cramér's V with its
        two-sided interval (V has no direction: nominal levels have no order). ``details``
        holds ``min_expected`` (the smallest expected count, to judge the chi-squared
        approximation).

    Notes
    -----
    :math:`X^2 = \\sum_{ij} (O_{ij} - E_{ij})^2 / E_{ij}` over the 2 x k table of wave by
    answer, :math:`E_{ij} = O_{i+} O_{+j} / N`, on :math:`(r-1)(c-1)` df, without continuity
    correction. Answers given in neither wave are dropped (they would give zero expected
    counts; R's ``chisq.test`` returns NaN for them).

    Cramér's V, as ``effectsize::cramers_v(adjust = TRUE, alternative = "two.sided")``:
    :math:`\\tilde\\phi^2 = \\max(0, X^2/N - df/(N-1))`,
    :math:`\\tilde k = r - (r-1)^2/(N-1)`, :math:`\\tilde l = c - (c-1)^2/(N-1)`,
    :math:`V = \\tilde\\phi / \\sqrt{\\min(\\tilde k, \\tilde l) - 1}`. The two-sided interval
    inverts the noncentral chi-squared (no bootstrap): :math:`\\lambda_L` solves
    :math:`P(\\chi^2_{df}(\\lambda_L) \\le X^2) = (1 + c)/2` and :math:`\\lambda_U` solves
    :math:`P(\\chi^2_{df}(\\lambda_U) \\le X^2) = (1 - c)/2` (each 0 if :math:`X^2` is at most
    the central quantile), and each is converted like :math:`X^2`. We solve to full
    precision; effectsize uses ``optim`` and agrees to about 1e-5.

    The risk difference's interval is Newcombe's (1998) hybrid score interval (method 10;
    :func:`~crisis_survey.stats._proportions.newcombe_difference`).

    With ``correction=True`` a 2 x 2 table's statistic is
    :math:`\\sum (|O - E| - \\min(0.5, \\min|O - E|))^2 / E` (R's Yates correction).

    Equivalent R calls: ``chisq.test(table(wave, answer), correct = FALSE)`` and
    ``effectsize::cramers_v(table(wave, answer), alternative = "two.sided")``; the risk
    difference in base R in ``tests/fixtures/r/newcombe.R``.

    References
    ----------
    Agresti, A. (2002). Categorical Data Analysis, 2nd ed., section 3.2.
    Bergsma, W. (2013). A bias-correction for Cramér's V and Tschuprow's T. Journal of the
    Korean Statistical Society 42, 323-328.
    Steiger, J. H. (2004). Beyond the F test: effect size confidence intervals and tests of
    close fit. Psychological Methods 9, 164-182.

    Examples
    --------
    >>> from crisis_survey.stats import chi_square
    >>> wave1 = [1] * 20 + [2] * 30 + [3] * 50
    >>> wave2 = [1] * 35 + [2] * 30 + [3] * 35
    >>> res = chi_square(wave1, wave2)
    >>> round(res.statistic, 4), res.df, round(res.p_value, 4)
    (6.738, 2.0, 0.0344)
    >>> res.effect_measure, round(res.effect_size, 3), round(res.ci_low, 3), round(res.ci_high, 3)
    ("Cramer's V (bias-corrected)", 0.154, 0.0, 0.296)
    """
    table, _ = _unpaired_table(x, y)
    return _chi_square_from_table(table, adjust=adjust, confidence=confidence,
                                  correction=correction)


# ---------------------------------------------------------------------------------------
# Fisher's exact test for 2 x k tables
# ---------------------------------------------------------------------------------------
def _lchoose(n: Any, k: Any) -> Any:
    return special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0)


def _max_rest(cols: Sequence[int], upto: int) -> FloatArray:
    """``out[t]`` = max over allocations of ``t`` among ``cols`` of sum log C(c_j, a_j).

    Each term is concave in ``a_j``, so the best allocation takes the ``t`` largest marginal
    gains ``log((c_j - a)/(a + 1))`` over all columns (a merge of decreasing sequences).
    """
    gains = np.concatenate(
        [np.log((c - np.arange(c)) / (np.arange(c) + 1.0)) for c in cols] or [np.zeros(0)]
    )
    gains = np.sort(gains)[::-1][:upto]
    out = np.zeros(upto + 1)
    out[1 : gains.size + 1] = np.cumsum(gains)
    return out


def _two_column_tails(c1: IntArray, c2: IntArray, t: IntArray, limit: FloatArray) -> FloatArray:
    """Hypergeometric probability of the first-column counts ``a`` of the last two columns
    (sizes ``c1``, ``c2``; ``t`` to share) with ``h(a) = lC(c1, a) + lC(c2, t - a) <= limit``,
    element by element: ``h`` is concave in ``a``, so those ``a`` are two tails, found by
    bisection on each side of the mode and summed in closed form."""
    lo = np.maximum(0, t - c2)
    hi = np.minimum(c1, t)
    mode = np.clip(((t + 1) * (c1 + 1)) // (c1 + c2 + 2), lo, hi)
    f1, f2 = np.asarray(c1, dtype=float), np.asarray(c2, dtype=float)

    def h(a: IntArray) -> FloatArray:
        return np.asarray(_lchoose(f1, a.astype(float)) + _lchoose(f2, (t - a).astype(float)))

    # left: largest a in [lo, mode] with h(a) <= limit (h is non-decreasing there);
    # invariant: a_left is lo - 1 or satisfies, bad_left is mode + 1 or fails
    a_left, bad_left = lo - 1, mode + 1
    while np.any(bad_left - a_left > 1):
        active = bad_left - a_left > 1
        mid = np.where(active, (a_left + bad_left) // 2, lo)
        ok = h(mid) <= limit
        a_left = np.where(active & ok, mid, a_left)
        bad_left = np.where(active & ~ok, mid, bad_left)
    # right: smallest a in [mode + 1, hi] with h(a) <= limit (h is non-increasing there);
    # invariant: a_right is hi + 1 or satisfies, bad_right is mode or fails
    a_right, bad_right = hi + 1, mode.copy()
    while np.any(a_right - bad_right > 1):
        active = a_right - bad_right > 1
        mid = np.where(active, (a_right + bad_right) // 2, hi)
        ok = h(mid) <= limit
        a_right = np.where(active & ok, mid, a_right)
        bad_right = np.where(active & ~ok, mid, bad_right)
    m_tot = c1 + c2
    left_mass = np.where(a_left >= lo, stats.hypergeom.cdf(a_left, m_tot, c1, t), 0.0)
    right_mass = np.where(a_right <= hi, stats.hypergeom.sf(a_right - 1, m_tot, c1, t), 0.0)
    return np.asarray(left_mass + right_mass, dtype=np.float64)


def _fisher_2xk_pvalue(table: IntArray, rel_err: float) -> float:
    """Two-sided Fisher p-value of a 2 x k table (all columns non-empty).

    Sums the probabilities of all tables with the observed margins that are at most
    ``(1 + rel_err)`` times as probable as the observed one. The first-row counts of the
    first k - 2 columns are enumerated with pruning (a partial table whose most probable
    completion is already below the threshold contributes all its completions, by
    Vandermonde's identity); the last two columns are summed in closed form as two tails of
    a hypergeometric distribution, because the log-probability is concave in the split.
    """
    k = table.shape[1]
    col = table.sum(axis=0)
    order = np.argsort(col, kind="stable")  # small columns are enumerated, big ones summed
    col = col[order]
    first = table[0, order]
    r1 = int(table[0].sum())
    n = int(col.sum())
    lc_cols = [_lchoose(float(c), np.arange(c + 1, dtype=float)) for c in col]
    log_total = float(_lchoose(float(n), float(r1)))
    obs = 0.0
    for j in range(k - 2):
        obs += float(lc_cols[j][first[j]])
    obs = obs + (float(lc_cols[k - 2][first[k - 2]]) + float(lc_cols[k - 1][first[k - 1]]))
    threshold = obs + math.log1p(rel_err)
    guard = 1e-9 * (1.0 + abs(threshold))
    suffix = np.concatenate([np.cumsum(col[::-1])[::-1], [0]])

    s = np.zeros(1, dtype=np.int64)  # first-row total so far
    w = np.zeros(1)  # log weight so far
    p = 0.0
    for j in range(k - 2):
        rest = int(suffix[j + 1])
        lo = np.maximum(0, r1 - s - rest)
        hi = np.minimum(int(col[j]), r1 - s)
        sizes = hi - lo + 1
        total = int(sizes.sum())
        if total > _FISHER_MAX_STATES:
            raise CrisisSurveyError(
                f"the 2 x {k} table (n = {n}) is too large for exact enumeration; use "
                "chi_square (the chi-squared approximation is accurate at this size)"
            )
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
        a = np.repeat(lo, sizes) + (np.arange(total) - starts)
        s = np.repeat(s, sizes) + a
        w = np.repeat(w, sizes) + lc_cols[j][a]
        remaining = r1 - s
        best = _max_rest([int(c) for c in col[j + 1 :]], min(r1, rest))[remaining]
        full = w + best <= threshold - guard
        if np.any(full):
            p += float(np.sum(np.exp(w[full] + _lchoose(float(rest), remaining[full]) - log_total)))
        live = ~full & (w <= threshold + guard)  # every completion has log weight >= 0
        s, w = s[live], w[live]
        if s.size == 0:
            return min(1.0, p)
    # last two columns: h(a) = lC(c1, a) + lC(c2, t - a) is concave in a
    c1, c2 = int(col[k - 2]), int(col[k - 1])
    t = r1 - s
    m_tot = c1 + c2
    scale = np.exp(w + _lchoose(float(m_tot), t.astype(float)) - log_total)
    p += float(np.sum(scale * _two_column_tails(np.asarray(c1), np.asarray(c2), t,
                                                threshold - w)))
    return min(1.0, p)


def _solve_log_ncp(f: Any, target: float) -> float:
    """Root in ``theta`` (log odds ratio) of the increasing function ``f(theta) = target``."""
    lo, hi = -1.0, 1.0
    while f(lo) > target:
        lo *= 2.0
    while f(hi) < target:
        hi *= 2.0
    return float(
        optimize.brentq(lambda th: f(th) - target, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500)
    )


def _conditional_odds_ratio(table: IntArray, level: float) -> tuple[float, float, float]:
    """Conditional MLE of the odds ratio of a 2 x 2 table and its exact two-sided interval.

    Solves R ``fisher.test``'s equations (noncentral hypergeometric mean = observed count;
    tail probabilities = alpha/2) on the log-odds-ratio scale, to full precision.
    """
    m, nn = int(table[:, 0].sum()), int(table[:, 1].sum())
    k = int(table[0].sum())
    x = int(table[0, 0])
    lo, hi = max(0, k - nn), min(k, m)
    support = np.arange(lo, hi + 1, dtype=float)
    logdc = _lchoose(float(m), support) + _lchoose(float(nn), k - support)

    def dens(theta: float) -> FloatArray:
        d = logdc + theta * support
        e = np.exp(d - d.max())
        return np.asarray(e / e.sum())

    def mean(theta: float) -> float:
        return float(support @ dens(theta))

    def upper_tail(theta: float) -> float:  # P(X >= x), increasing in theta
        return float(dens(theta)[x - lo :].sum())

    def lower_tail_neg(theta: float) -> float:  # -P(X <= x), increasing in theta
        return -float(dens(theta)[: x - lo + 1].sum())

    alpha = (1.0 - level) / 2.0
    if x == lo:
        est = 0.0
    elif x == hi:
        est = math.inf
    else:
        est = math.exp(_solve_log_ncp(mean, float(x)))
    ci_low = 0.0 if x == lo else math.exp(_solve_log_ncp(upper_tail, alpha))
    ci_high = math.inf if x == hi else math.exp(_solve_log_ncp(lower_tail_neg, -alpha))
    return est, ci_low, ci_high


def _fisher_from_table(table: Any, *, confidence: float = 0.95) -> TestResult:
    """Fisher's exact test (two-sided) of a 2 x k table; odds ratio for 2 x 2."""
    level = check_confidence(confidence)
    tab = _as_count_table(table)
    if tab.shape[0] != 2:
        raise CrisisSurveyError(f"fisher_exact needs a 2 x k table; got shape {tab.shape}")
    n = int(tab.sum())
    if n == 0:
        raise CrisisSurveyError("the contingency table is empty")
    t = tab[:, tab.sum(axis=0) > 0]
    name = "Fisher's exact test"
    if t.shape[1] < 2 or np.any(t.sum(axis=1) == 0):
        return _undefined(name, "fewer than two rows or columns with answers", n, "statistic")
    if t.shape[1] == 2:
        p = _fisher_2xk_pvalue(t, _REL_ERR)
        if tab.shape[1] == 2:  # a binary item: its risk difference
            measure, rd, rd_low, rd_high, details = _binary_effects(t, level)
        else:  # two answered levels of more: Cramer's V, the odds ratio as the statistic
            measure = "Cramer's V (bias-corrected)"
            rd, rd_low, rd_high = _table_v(t, level)
            est, or_low, or_high = _conditional_odds_ratio(t, level)
            details = {"odds_ratio": est, "odds_ratio_ci_low": or_low,
                       "odds_ratio_ci_high": or_high}
        return TestResult(
            method=name,
            statistic=details["odds_ratio"],
            p_value=p,
            n=n,
            df=None,
            statistic_name="odds ratio",
            effect_size=rd,
            effect_measure=measure,
            ci_low=rd_low,
            ci_high=rd_high,
            confidence=level,
            details=details,
        )
    # same 1e-7 relative tie tolerance as R's 2 x 2 code; R's FEXACT (used for 2 x k) agrees
    # with it on every fixture table (tests/fixtures/contingency.json)
    p = _fisher_2xk_pvalue(t, _REL_ERR)
    v, v_low, v_high = _table_v(t, level)
    return TestResult(
        method=name,
        statistic=float(
            np.exp(
                np.sum(_lchoose(t.sum(axis=0).astype(float), t[0].astype(float)))
                - _lchoose(float(n), float(t[0].sum()))
            )
        ),
        p_value=p,
        n=n,
        df=None,
        statistic_name="P(table)",
        effect_size=v,
        effect_measure="Cramer's V (bias-corrected)",
        ci_low=v_low,
        ci_high=v_high,
        confidence=level,
        details={"n_cols": float(t.shape[1])},
    )


def fisher_exact(x: Any, y: Any, *, confidence: float = 0.95) -> TestResult:
    """Fisher's exact test that the answer distribution is the same in both waves.

    Parameters
    ----------
    x, y : array-like
        Wave-1 answers and wave-2 answers (independent samples). Missing answers dropped.
    confidence : float
        Level of the effect's interval.

    Returns
    -------
    TestResult
        Two-sided exact p-value; the effect is the one :func:`chi_square` reports, whichever
        test gives the p-value. For two answer levels, ``effect_size`` is the risk
        difference ``p2 - p1`` (wave 2 minus wave 1) with Newcombe's hybrid score
        interval, and ``statistic`` and ``details["odds_ratio"]`` the conditional
        maximum-likelihood odds ratio (odds of the higher level in wave 2 relative to wave
        1; its exact conditional interval in ``odds_ratio_ci_low``/``_high``), as R reports.
        For more levels ``statistic`` is the probability of the observed table
        (``P(table)``), as scipy reports, and the effect the bias-corrected Cramér's V of the
        table with its two-sided interval.

    Notes
    -----
    Conditional on the margins of the 2 x k table of wave by answer, the first row
    :math:`(a_1, \\dots, a_k)` has probability
    :math:`P(a) = \\prod_j \\binom{c_j}{a_j} / \\binom{N}{r_1}`. The p-value sums
    :math:`P` over all tables with :math:`P \\le P(\\text{observed})(1 + 10^{-7})`, R's
    relative tolerance for ties. It is exact (no Monte Carlo; scipy's ``fisher_exact`` is
    not exact beyond 2 x 2). Tables beyond about 2e7 partial tables raise an error
    suggesting :func:`chi_square` (R's network algorithm also runs out of workspace there).

    R's ``fisher.test`` finds the odds ratio and its interval with ``uniroot`` at its default
    tolerance (about 1e-4), so R prints them to only about four digits; we solve the same
    equations to full precision (on the log scale, with Brent's method).

    Equivalent R call: ``fisher.test(table(wave, answer))``.

    References
    ----------
    Fisher, R. A. (1935). The logic of inductive inference. JRSS 98, 39-82.
    Mehta, C. R. & Patel, N. R. (1983). A network algorithm for performing Fisher's exact
    test in r x c contingency tables. JASA 78, 427-434.
    Agresti, A. (2002). Categorical Data Analysis, 2nd ed., section 3.5.

    Examples
    --------
    >>> from crisis_survey.stats import fisher_exact
    >>> res = fisher_exact([1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 0])
    >>> round(res.p_value, 4), round(res.details["odds_ratio"], 4)
    (0.2424, 0.1648)
    >>> res.effect_measure, round(res.effect_size, 4)  # 1 of 6 in wave 2, 3 of 5 in wave 1
    ('risk difference', -0.4333)
    """
    table, _ = _unpaired_table(x, y)
    return _fisher_from_table(table, confidence=confidence)


# ---------------------------------------------------------------------------------------
# linear-by-linear association
# ---------------------------------------------------------------------------------------
def _linear_trend_from_table(
    table: Any, col_scores: Any, row_scores: Any = (1.0, 2.0)
) -> TestResult:
    """Linear-by-linear association test, ``M^2 = (N - 1) r^2``, from an r x c table."""
    tab = _as_count_table(table).astype(float)
    u = np.asarray(row_scores, dtype=float)
    v = np.asarray(col_scores, dtype=float)
    if u.shape != (tab.shape[0],) or v.shape != (tab.shape[1],):
        raise CrisisSurveyError(
            f"scores must give one number per row and per column: table {tab.shape}, "
            f"{u.size} row scores, {v.size} column scores"
        )
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise CrisisSurveyError("scores must be finite numbers")
    n = float(tab.sum())
    name = "Linear-by-linear association test"
    if n < 2:
        return _undefined(name, "fewer than two observations", int(n), "M-squared")
    pr, pc = tab.sum(axis=1) / n, tab.sum(axis=0) / n
    mu, mv = float(pr @ u), float(pc @ v)
    du, dv = u - mu, v - mv
    cov = float(du @ (tab / n) @ dv)
    var_u, var_v = float(pr @ du**2), float(pc @ dv**2)
    if var_u <= 0 or var_v <= 0:
        return _undefined(
            name, "all answers (or all waves) have the same score", int(n), "M-squared"
        )
    r = cov / math.sqrt(var_u * var_v)
    r = max(-1.0, min(1.0, r))
    m2 = (n - 1.0) * r * r
    low, high = _fisher_z_interval(r, n, 0.95)
    return TestResult(
        method=name,
        statistic=m2,
        p_value=float(stats.chi2.sf(m2, 1)),
        n=int(n),
        df=1.0,
        statistic_name="M-squared",
        effect_size=r,
        effect_measure="Pearson r (wave vs answer score)",
        ci_low=low,
        ci_high=high,
        details={"z": math.copysign(math.sqrt(m2), r), "r": r},
    )


def _fisher_z_interval(r: float, n: float, level: float) -> tuple[float, float]:
    """``tanh(atanh(r) -/+ z / sqrt(n - 3))`` (NaN below 4 answers; the bound is +-1 at
    ``|r| = 1``), as R's ``cor.test``."""
    if n < 4:
        return math.nan, math.nan
    z = float(special.ndtri((1.0 + level) / 2.0)) / math.sqrt(n - 3.0)
    centre = math.atanh(r) if abs(r) < 1.0 else math.copysign(math.inf, r)
    return math.tanh(centre - z), math.tanh(centre + z)


def linear_trend(x: Any, y: Any, *, scores: Sequence[float] | None = None) -> TestResult:
    """Linear-by-linear association test of a shift in an ordinal answer between waves.

    Parameters
    ----------
    x, y : array-like
        Wave-1 answers and wave-2 answers (independent samples). Numbers, or ordered
        categoricals with the same categories. Missing answers dropped.
    scores : sequence of float, optional
        One score per level. Levels are the categories (categorical input, including
        categories nobody chose) or the sorted distinct values found in either sample
        (numeric input). Default: the numeric answer values, or the category positions
        1, 2, ... for categoricals (coin's default for ordered factors; any equally spaced
        scores give the same test). Text answers need
        ``scores``.

    Returns
    -------
    TestResult
        ``statistic`` :math:`M^2`, ``df = 1``, p-value; ``effect_size`` the Pearson
        correlation between wave (scores 1, 2) and answer score (positive: higher answers
        in wave 2) with its Fisher-z interval (R's ``cor.test``); ``details["z"]`` is coin's
        signed standardised statistic :math:`Z` (:math:`Z^2 = M^2`; positive when wave-2
        answers score higher).

    Notes
    -----
    :math:`M^2 = (N - 1) r^2`, with :math:`r` the correlation of the row scores (wave 1, 2)
    and the column scores over the :math:`N` answers, referred to chi-squared on 1 df.
    coin's ``lbl_test`` standardises the linear statistic by its permutation variance,
    which carries the factor :math:`N/(N-1)`; its :math:`Z^2` equals :math:`(N-1) r^2`
    exactly (checked against coin to 1e-13), so there is no difference of convention.

    Equivalent R call: ``coin::lbl_test(ordered(answer) ~ ordered(wave),
    scores = list(answer = s))`` (``Z`` = ``statistic(.)``).

    References
    ----------
    Agresti, A. (2002). Categorical Data Analysis, 2nd ed., section 3.4.1.
    Agresti, A. (2007). An Introduction to Categorical Data Analysis, 2nd ed., section 2.5.

    Examples
    --------
    >>> from crisis_survey.stats import linear_trend
    >>> res = linear_trend([1, 2, 2, 3, 1, 2], [2, 3, 3, 3, 2, 4])
    >>> round(res.statistic, 4), round(res.details["z"], 4)
    (3.8077, 1.9513)
    """
    table, coded = _unpaired_table(x, y)
    if scores is None:
        if coded.values is None:
            raise CrisisSurveyError(
                "linear_trend needs numeric answers or ordered categories; for text answers "
                f"give scores= (one number per level, levels {coded.labels[:10]})"
            )
        col_scores = coded.values
    else:
        col_scores = np.asarray(list(scores), dtype=float)
        if col_scores.shape != (coded.k,):
            raise CrisisSurveyError(
                f"scores must give one number per level: {coded.k} levels "
                f"({coded.labels[:10]}), {col_scores.size} scores"
            )
    return _linear_trend_from_table(table, col_scores)


# ---------------------------------------------------------------------------------------
# Many tables at once (compare_waves): the same formulas, array by array
# ---------------------------------------------------------------------------------------
# Each ``_*_batch`` below computes, for a stack of tables, what the ``_*_from_table`` /
# ``_*_from_counts`` function above returns for each table, with vectorised distribution
# functions (``special.chdtrc`` for ``stats.chi2.sf``, one ``stats.beta.ppf`` /
# ``stats.hypergeom`` call for all tables). ``ok`` marks the tables it computed; the others
# (an undefined or failing test) are left to the one-table function, which says why.
# ``tests/test_contingency.py`` checks every batch against the one-table function.
def _mcnemar_batch(
    tables: Any, *, correction: bool = True, confidence: float = 0.95
) -> dict[str, npt.NDArray[Any]]:
    """:func:`_mcnemar_from_counts` (asymptotic) of a stack of paired 2 x 2 tables
    ``(m, 2, 2)``: ``statistic``, ``df``, ``p_value``, ``effect_size`` (the paired risk
    difference) with ``ci_low``, ``ci_high``, ``odds_ratio`` (b/c) with ``odds_ratio_ci_low``,
    ``odds_ratio_ci_high``, and ``ok`` (False: no pair, or no discordant pair)."""
    t = np.asarray(tables, dtype=np.int64).reshape(-1, 4)
    b, c = t[:, 1], t[:, 2]
    level = check_confidence(confidence)
    m = b + c
    ok = (t.sum(axis=1) > 0) & (m > 0) & (t.min(axis=1) >= 0)
    mm = np.where(ok, m, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = correction & (b != c)
        num = np.where(corrected, (np.abs(b - c) - 1.0) ** 2, (b - c).astype(np.float64) ** 2)
        statistic = num / mm
        p = special.chdtrc(1.0, statistic)
        alpha = (1.0 - level) / 2.0
        lower = np.where(b == 0, 0.0,
                         stats.beta.ppf(alpha, np.maximum(b, 1), mm - b + 1))
        upper = np.where(b == mm, 1.0,
                         stats.beta.ppf(1.0 - alpha, b + 1, np.maximum(mm - b, 1)))
        est = np.where(c == 0, math.inf, b / np.where(c == 0, 1, c))
        or_low = lower / (1.0 - lower)
        or_high = np.where(upper >= 1.0, math.inf, upper / (1.0 - upper))
        rd, rd_low, rd_high = newcombe_paired(t[:, 0], t[:, 1], t[:, 2], t[:, 3], level)
    nan = np.nan
    return {"statistic": np.where(ok, statistic, nan), "df": np.where(ok, 1.0, nan),
            "p_value": np.where(ok, p, nan), "effect_size": np.where(ok, rd, nan),
            "ci_low": np.where(ok, rd_low, nan), "ci_high": np.where(ok, rd_high, nan),
            "odds_ratio": np.where(ok, est, nan), "odds_ratio_ci_low": np.where(ok, or_low, nan),
            "odds_ratio_ci_high": np.where(ok, or_high, nan), "ok": ok}


def _marginal_homogeneity_batch(tables: Any) -> dict[str, npt.NDArray[Any]]:
    """:func:`_marginal_homogeneity_from_table` (Stuart-Maxwell) of a stack of square paired
    tables ``(m, k, k)``: ``statistic``, ``df`` (the rank), ``p_value`` and ``ok`` (False: no
    pair, or nobody changed answer). Tables with the same answered levels share one stacked
    eigen-decomposition (``numpy.linalg.eigh`` runs LAPACK on each matrix of the stack)."""
    tab = np.asarray(tables, dtype=np.int64)
    m = tab.shape[0]
    statistic = np.full(m, np.nan)
    rank = np.zeros(m, dtype=np.int64)
    used = (tab.sum(axis=1) + tab.sum(axis=2)) > 0
    nonempty = tab.sum(axis=(1, 2)) > 0
    patterns, which = np.unique(used, axis=0, return_inverse=True)
    which = np.asarray(which).reshape(-1)
    for p_i, pattern in enumerate(patterns):
        idx = np.flatnonzero((which == p_i) & nonempty)
        if idx.size == 0 or not pattern.any():
            continue
        lv = np.flatnonzero(pattern)
        t = tab[idx][:, lv][:, :, lv].astype(float)
        rows, cols = t.sum(axis=2), t.sum(axis=1)
        d = rows - cols
        cov = -(t + t.transpose(0, 2, 1))
        diag = np.arange(lv.size)
        cov[:, diag, diag] = rows + cols - 2.0 * t[:, diag, diag]
        w, vecs = np.linalg.eigh(cov)
        keep = w > _RANK_TOL * np.maximum(w.max(axis=1), 0.0)[:, None]
        proj = np.einsum("cji,cj->ci", vecs, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(keep, proj**2 / np.where(keep, w, 1.0), 0.0)
        statistic[idx] = terms.sum(axis=1)
        rank[idx] = keep.sum(axis=1)
    ok = nonempty & (rank > 0)
    df = rank.astype(np.float64)
    with np.errstate(invalid="ignore"):
        p = special.chdtrc(np.where(ok, df, 1.0), np.where(ok, statistic, 0.0))
    # Cohen's w with its two-sided noncentral chi-square interval (as _cohens_w)
    n = np.where(nonempty, tab.sum(axis=(1, 2)), 1).astype(np.float64)
    x, dff = np.where(ok, statistic, 0.0), np.where(ok, df, 1.0)
    lam_low = _ncp_lower_batch(x, dff, 0.975)
    lam_high = _ncp_lower_batch(x, dff, 0.025)
    nan = np.nan
    return {"statistic": np.where(ok, statistic, nan), "df": np.where(ok, df, nan),
            "p_value": np.where(ok, p, nan), "effect_size": np.where(ok, np.sqrt(x / n), nan),
            "ci_low": np.where(ok, np.sqrt(lam_low / n), nan),
            "ci_high": np.where(ok, np.sqrt(lam_high / n), nan), "ok": ok}


def _ncp_lower_batch(chisq: FloatArray, df: FloatArray, level: float) -> FloatArray:
    """:func:`_ncp_lower` of many statistics: the noncentrality ``lambda`` with
    ``P(X^2_df(lambda) <= chisq) = level`` (0 when ``chisq`` is at most the central quantile).

    Solved for all statistics at once by Newton's method on ``special.chndtr`` (scipy's
    ``ncx2.cdf``), using ``d/d lambda F(x; df, lambda) = (F(x; df + 2, lambda) - F(x; df,
    lambda)) / 2``, kept inside a bracket (bisection whenever a step leaves it), to a few
    units in the last place; the one-at-a-time :func:`_ncp_lower` stops at brentq's
    tolerance ``1e-12 * max(1, chisq)``, so the two agree to that.
    """
    x = np.asarray(chisq, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    out = np.zeros(x.shape)
    crit = 2 * special.gammaincinv(df / 2, level)  # stats.chi2.ppf(level, df)
    todo = np.flatnonzero(x > crit)
    if todo.size == 0:
        return out
    xs, ds = x[todo], df[todo]

    def g(lam: FloatArray, sel: Any = slice(None)) -> FloatArray:
        return np.asarray(special.chndtr(xs[sel], ds[sel], lam) - level)

    lo = np.zeros(todo.size)
    hi = np.maximum(xs, 1.0)
    for _ in range(2000):  # bracket: g(hi) <= 0 (g is decreasing)
        up = g(hi) > 0
        if not up.any():
            break
        lo = np.where(up, hi, lo)
        hi = np.where(up, hi * 2.0, hi)
    lam = np.clip(xs - ds, lo, hi)
    lam = np.where((lam <= lo) | (lam >= hi), 0.5 * (lo + hi), lam)
    active = np.ones(todo.size, dtype=bool)
    for _ in range(200):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        la = lam[a]
        fa = g(la, a)
        lo[a] = np.where(fa > 0, la, lo[a])
        hi[a] = np.where(fa > 0, hi[a], la)
        slope = 0.5 * (special.chndtr(xs[a], ds[a] + 2.0, la) - (fa + level))
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(slope < 0, fa / slope, np.nan)
        new = la - step
        inside = np.isfinite(new) & (new > lo[a]) & (new < hi[a])
        new = np.where(inside, new, 0.5 * (lo[a] + hi[a]))
        done = (np.abs(new - la) <= 4.0 * _EPS_F * np.maximum(la, 1e-300)) | (fa == 0.0) | (
            hi[a] - lo[a] <= 4.0 * _EPS_F * hi[a])
        lam[a] = np.where(fa == 0.0, la, new)
        active[a[done]] = False
    out[todo] = lam
    return out


_EPS_F = float(np.finfo(np.float64).eps)


def _chi_square_batch(
    tables: Any, *, adjust: bool = True, confidence: float = 0.95,
    binary: bool | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`_chi_square_from_table` of a stack of ``(m, r, c)`` count tables: ``statistic``,
    ``df``, ``p_value``, the ``effect_size`` with ``ci_low``/``ci_high`` (Cramer's V and its
    two-sided interval; for ``(m, 2, 2)`` tables the risk difference with Newcombe's interval
    and ``odds_ratio``, ``odds_ratio_ci_low``, ``odds_ratio_ci_high``), ``min_expected``
    (over the answered rows and columns) and ``ok`` (False: empty, or fewer than two answered
    rows or columns). ``binary=False`` asks for V of 2 x 2 tables too (two answered levels of
    an item with more)."""
    level = check_confidence(confidence)
    tab = np.asarray(tables, dtype=np.int64)
    n = tab.sum(axis=(1, 2))
    rowsum, colsum = tab.sum(axis=2), tab.sum(axis=1)
    used_r, used_c = rowsum > 0, colsum > 0
    nr, nc = used_r.sum(axis=1), used_c.sum(axis=1)
    ok = (n > 0) & (nr >= 2) & (nc >= 2)
    nn = np.where(n > 0, n, 1)
    cell_used = used_r[:, :, None] & used_c[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rowsum.astype(float)[:, :, None] * colsum.astype(float)[:, None, :] / \
            nn[:, None, None]
        terms = np.where(cell_used, (tab - expected) ** 2 / expected, 0.0)
        chisq = terms.sum(axis=(1, 2))
        min_expected = np.where(cell_used, expected, np.inf).min(axis=(1, 2))
    df = (nr - 1) * (nc - 1)
    dff = np.where(ok, df, 1).astype(np.float64)
    p = special.chdtrc(dff, np.where(ok, chisq, 0.0))
    nan = np.nan
    out = {"statistic": np.where(ok, chisq, nan), "df": np.where(ok, dff, nan),
           "p_value": np.where(ok, p, nan), "min_expected": np.where(n > 0, min_expected, nan),
           "ok": ok}
    if tab.shape[1:] == (2, 2) and binary is not False:
        out.update(_binary_effects_batch(tab, ok, level))
        return out
    v = np.full(n.shape, np.nan)
    v_low = np.full(n.shape, np.nan)
    v_high = np.full(n.shape, np.nan)
    big = ok & (n > 1)
    if big.any():
        cs, nb, rb, cb = chisq[big], n[big].astype(np.float64), nr[big], nc[big]
        dfb = dff[big]
        phi = np.sqrt(cs / nb)
        phi_low = np.sqrt(_ncp_lower_batch(cs, dfb, (1.0 + level) / 2.0) / nb)
        phi_high = np.sqrt(_ncp_lower_batch(cs, dfb, (1.0 - level) / 2.0) / nb)
        if adjust:
            e = dfb / (nb - 1)
            phi = np.sqrt(np.maximum(0.0, phi * phi - e))
            phi_low = np.sqrt(np.maximum(0.0, phi_low * phi_low - e))
            phi_high = np.sqrt(np.maximum(0.0, phi_high * phi_high - e))
            kk = rb - (rb - 1) ** 2 / (nb - 1)
            ll = cb - (cb - 1) ** 2 / (nb - 1)
        else:
            kk, ll = rb.astype(np.float64), cb.astype(np.float64)
        small = np.minimum(kk, ll)
        with np.errstate(invalid="ignore"):
            div = np.sqrt(small - 1.0)
            v[big] = np.where(small <= 1.0, np.nan, np.minimum(phi / div, 1.0))
            v_low[big] = np.where(small <= 1.0, np.nan, np.minimum(phi_low / div, 1.0))
            v_high[big] = np.where(small <= 1.0, np.nan, np.minimum(phi_high / div, 1.0))
    out.update(effect_size=v, ci_low=v_low, ci_high=v_high)
    return out


def _binary_effects_batch(tab: IntArray, ok: npt.NDArray[np.bool_], level: float
                          ) -> dict[str, FloatArray]:
    """:func:`_binary_effects` of a stack of ``(m, 2, 2)`` wave x answer tables (the tables
    in ``ok``; NaN elsewhere): the risk difference with Newcombe's interval and the
    conditional odds ratio with its exact interval."""
    m = tab.shape[0]
    nan = np.full(m, np.nan)
    out = {key: nan.copy() for key in ("effect_size", "ci_low", "ci_high", "odds_ratio",
                                       "odds_ratio_ci_low", "odds_ratio_ci_high")}
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    t = tab[idx]
    rd, low, high = newcombe_difference(t[:, 0, 1], t[:, 0].sum(axis=1), t[:, 1, 1],
                                        t[:, 1].sum(axis=1), level)
    out["effect_size"][idx], out["ci_low"][idx], out["ci_high"][idx] = rd, low, high
    est, or_low, or_high = _conditional_odds_ratio_batch(t, level)
    out["odds_ratio"][idx] = est
    out["odds_ratio_ci_low"][idx], out["odds_ratio_ci_high"][idx] = or_low, or_high
    return out


def _fisher_2x2_batch(tables: Any, *, confidence: float = 0.95) -> dict[str, npt.NDArray[Any]]:
    """:func:`_fisher_from_table` of a stack of ``(m, 2, 2)`` tables with no empty row or
    column (``ok`` False for the others): the two-sided p-value (the closed form
    :func:`_fisher_2xk_pvalue` uses for two columns, run for all tables at once), the risk
    difference with Newcombe's interval and the conditional maximum-likelihood odds ratio
    with its exact interval (:func:`_binary_effects_batch`)."""
    level = check_confidence(confidence)
    tab = np.asarray(tables, dtype=np.int64)
    ok = (tab.sum(axis=1) > 0).all(axis=1) & (tab.sum(axis=2) > 0).all(axis=1)
    m = tab.shape[0]
    out = {key: np.full(m, np.nan) for key in ("statistic", "p_value", "effect_size",
                                                "ci_low", "ci_high")}
    out["ok"] = ok
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    t = tab[idx]
    # -- p-value: the two-column step of _fisher_2xk_pvalue -----------------------------
    col = t.sum(axis=1)
    swap = col[:, 1] < col[:, 0]  # argsort(kind="stable") of two columns
    c1 = np.where(swap, col[:, 1], col[:, 0])
    c2 = np.where(swap, col[:, 0], col[:, 1])
    f1 = np.where(swap, t[:, 0, 1], t[:, 0, 0])
    f2 = np.where(swap, t[:, 0, 0], t[:, 0, 1])
    r1 = t[:, 0].sum(axis=1)
    n = c1 + c2
    fc1, fc2 = c1.astype(float), c2.astype(float)
    log_total = _lchoose(n.astype(float), r1.astype(float))
    obs = 0.0 + (_lchoose(fc1, f1.astype(float)) + _lchoose(fc2, f2.astype(float)))
    threshold = obs + math.log1p(_REL_ERR)
    scale = np.exp(0.0 + _lchoose(n.astype(float), r1.astype(float)) - log_total)
    tails = _two_column_tails(c1, c2, r1, threshold - 0.0)
    out["p_value"][idx] = np.minimum(1.0, 0.0 + scale * tails)
    # -- the risk difference and the conditional odds ratio with their intervals -------
    effects = _binary_effects_batch(tab, ok, level)
    out.update(effects)
    out["statistic"] = effects["odds_ratio"]
    return out


#: States (tables x first-column counts) enumerated at once by :func:`_fisher_2x3_batch`.
_FISHER_BATCH_STATES = 1_000_000


def _fisher_2x3_batch(tables: Any) -> dict[str, npt.NDArray[Any]]:
    """:func:`_fisher_from_table` of a stack of ``(m, 2, 3)`` tables with no empty row or
    column (``ok`` False for the others, and for tables too large to enumerate, which the
    one-table function refuses): the probability of the table (``statistic``) and the
    two-sided p-value, for all tables at once.

    The steps of :func:`_fisher_2xk_pvalue` for three columns, on every table together:
    the columns sorted by size, the first-row count of the smallest enumerated for all
    tables in one array (each state knows its table), the states whose most probable
    completion is already below the threshold summed in closed form (the most probable
    split of a count between two columns is the hypergeometric mode), and the last two
    columns summed as two hypergeometric tails (:func:`_two_column_tails`); the sums are
    added up per table with one ``bincount``.
    """
    tab = np.asarray(tables, dtype=np.int64).reshape(-1, 2, 3)
    m = tab.shape[0]
    col_all = tab.sum(axis=1)
    row_all = tab.sum(axis=2)
    ok = (col_all > 0).all(axis=1) & (row_all > 0).all(axis=1)
    # the one-table function's bound on the enumeration (it raises beyond it)
    r1_all = row_all[:, 0]
    small = np.sort(col_all, axis=1, kind="stable")[:, 0]
    ok &= np.minimum(small, r1_all) + 1 <= _FISHER_MAX_STATES
    out = {"statistic": np.full(m, np.nan), "p_value": np.full(m, np.nan), "ok": ok}
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    order = np.argsort(col_all[idx], axis=1, kind="stable")
    col = np.take_along_axis(col_all[idx], order, axis=1)
    first = np.take_along_axis(tab[idx, 0], order, axis=1)
    r1 = first.sum(axis=1)
    n = col.sum(axis=1)
    fcol, ffirst = col.astype(float), first.astype(float)
    log_total = _lchoose(n.astype(float), r1.astype(float))
    lc = _lchoose(fcol, ffirst)
    out["statistic"][idx] = np.exp(np.sum(_lchoose(col_all[idx].astype(float),
                                                   tab[idx, 0].astype(float)), axis=1)
                                   - log_total)
    obs = (0.0 + lc[:, 0]) + (lc[:, 1] + lc[:, 2])
    threshold = obs + math.log1p(_REL_ERR)
    guard = 1e-9 * (1.0 + np.abs(threshold))
    c0, c1, c2 = col[:, 0], col[:, 1], col[:, 2]
    rest = c1 + c2
    lo = np.maximum(0, r1 - rest)
    hi = np.minimum(c0, r1)
    sizes = hi - lo + 1
    p = np.zeros(idx.size)
    # tables in chunks of at most _FISHER_BATCH_STATES states (one table may exceed it)
    ends = np.cumsum(sizes)
    start = 0
    while start < idx.size:
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + _FISHER_BATCH_STATES, "right")))
        part = np.arange(start, stop)
        tid = np.repeat(part, sizes[part])
        offsets = np.arange(tid.size) - np.repeat(np.cumsum(sizes[part]) - sizes[part],
                                                  sizes[part])
        a = lo[tid] + offsets
        w = _lchoose(fcol[tid, 0], a.astype(float))
        t = r1[tid] - a
        # the most probable split of t between the last two columns (hypergeometric mode)
        b_lo, b_hi = np.maximum(0, t - c2[tid]), np.minimum(c1[tid], t)
        mode = np.clip(((t + 1) * (c1[tid] + 1)) // (rest[tid] + 2), b_lo, b_hi)
        best = (_lchoose(fcol[tid, 1], mode.astype(float))
                + _lchoose(fcol[tid, 2], (t - mode).astype(float)))
        full = w + best <= threshold[tid] - guard[tid]
        contrib = np.zeros(tid.size)
        contrib[full] = np.exp(w[full] + _lchoose(rest[tid][full].astype(float),
                                                  t[full].astype(float)) - log_total[tid][full])
        live = ~full & (w <= threshold[tid] + guard[tid])
        if np.any(live):
            lt = tid[live]
            scale = np.exp(w[live] + _lchoose(rest[lt].astype(float), t[live].astype(float))
                           - log_total[lt])
            contrib[live] = scale * _two_column_tails(c1[lt], c2[lt], t[live],
                                                      threshold[lt] - w[live])
        p += np.bincount(tid, weights=contrib, minlength=idx.size)
        start = stop
    out["p_value"][idx] = np.minimum(1.0, p)
    return out


#: Half-width of the window of a big table's support, in standard deviations of the central
#: hypergeometric (:func:`_conditional_odds_ratio_batch`), and how far (natural log) below
#: its peak the density must be at a window's cut edges at every solution, else the table
#: is solved again on its whole support.
_WINDOW_SDS = 16.0
_WINDOW_LOG_MARGIN = 60.0


def _conditional_odds_ratio_batch(tables: IntArray, level: float, sds: float = _WINDOW_SDS
                                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`_conditional_odds_ratio_padded` (the plain batch; the one-table reference is
    :func:`_conditional_odds_ratio`) of every distinct table once, each table's support cut
    to a window of ``sds`` standard deviations around its observed count, the three
    equations solved by :func:`_odds_ratio_compiled` (one compiled pass over each table's
    window per step, no padding).

    A stack mixes thin local-area cells with tables of thousands of answers; a 2 x 2 table
    of a group at 1,000,000 respondents per wave has a support of 300,000 points of which a
    few thousand around the observed count carry any probability at the solutions. The
    density is log-concave, so when it is at least :data:`_WINDOW_LOG_MARGIN` below its
    peak at the cut edges at all three solutions the mass cut off (under 1e-20 of the
    whole) changes no digit; a table where it is not is solved again on its whole support.
    Tables that occur more than once (small local cells) are solved once.
    """
    t = np.asarray(tables, dtype=np.int64).reshape(-1, 2, 2)
    if len(t) == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    distinct, inv = np.unique(t.reshape(-1, 4), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    u = distinct.reshape(-1, 2, 2)
    m_ = u[:, :, 0].sum(axis=1)
    nn = u[:, :, 1].sum(axis=1)
    k = u[:, 0].sum(axis=1)
    lo = np.maximum(0, k - nn)
    hi = np.minimum(k, m_)
    x = u[:, 0, 0]
    n = (m_ + nn).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, k * (n - k) * m_ * nn / (n * n * (n - 1)), 0.0)
    half = np.ceil(sds * np.sqrt(var)).astype(np.int64) + 64
    slo, shi = np.maximum(lo, x - half), np.minimum(hi, x + half)
    *out, held = _odds_ratio_compiled(u, level, (slo, shi))
    again = np.flatnonzero(~held)
    if again.size:
        for target, value in zip(out, _odds_ratio_compiled(u[again], level)[:3],
                                 strict=True):
            target[again] = value
    return out[0][inv], out[1][inv], out[2][inv]


#: log(i!) = gammaln(i + 1) for i = 0, 1, ... (grown on demand; :func:`_log_factorials`)
_LOG_FACTORIALS: list[FloatArray] = [np.zeros(0)]
#: the largest table of log factorials kept (beyond it they are computed where needed)
_LOG_FACTORIALS_MAX = 1 << 23


def _log_factorials(top: int) -> FloatArray | None:
    """``gammaln(i + 1.0)`` for ``i = 0..top`` at least (the same bits as calling gammaln on
    each), kept for the process; None where ``top`` is beyond :data:`_LOG_FACTORIALS_MAX`."""
    have = _LOG_FACTORIALS[0]
    if top < have.size:
        return have
    if top >= _LOG_FACTORIALS_MAX:
        return None
    size = min(_LOG_FACTORIALS_MAX, max(1 << 12, 1 << int(top).bit_length()))
    table = np.asarray(special.gammaln(np.arange(size, dtype=np.float64) + 1.0),
                       dtype=np.float64)
    _LOG_FACTORIALS[0] = table
    return table


def _hypergeometric_log_weights(m_: IntArray, nn: IntArray, k: IntArray, slo: IntArray,
                                widths: IntArray, starts: IntArray, kernel: Any
                                ) -> FloatArray:
    """``log C(m, s) + log C(nn, k - s)`` of the counts ``s = slo, slo + 1, ...`` of each
    table's window, the windows end to end (table ``r`` from ``starts[r]``), to the bit
    what :func:`_odds_ratio_on_supports` computes with :func:`_lchoose` (the same gammaln of
    the same arguments, subtracted in the same order): looked up in a table of log
    factorials by ``kernel`` (``_jit`` ``nchg_log_weights``) where that is cheaper than
    calling gammaln on every argument."""
    total = int(widths.sum())
    top = int(max(m_.max(initial=0), nn.max(initial=0)))
    lf = _log_factorials(top) if top < 4 * total else None
    out = np.empty(total)
    if lf is not None:
        kernel(lf, m_, nn, k, slo, starts, widths, out)
        return out
    table = np.repeat(np.arange(m_.size), widths)
    s = slo[table] + (np.arange(total) - starts[table])
    mt, nt, kt = m_[table], nn[table], k[table]

    def g(v: IntArray) -> FloatArray:
        return np.asarray(special.gammaln(v.astype(np.float64) + 1.0), dtype=np.float64)

    gm, gn = g(m_)[table], g(nn)[table]
    out[:] = (gm - g(s) - g(mt - s)) + (gn - g(kt - s) - g(nt - kt + s))
    return out


def _odds_ratio_compiled(
    t: IntArray, level: float, window: tuple[IntArray, IntArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """:func:`_odds_ratio_on_supports` with each table's window stored end to end (no
    padding) and the moments of every step computed in one compiled pass per table
    (``_jit.kernels_for(...).nchg_moments``: compiled, or numpy for small inputs, where
    loading numba would cost more); each equation by Halley's method on the log odds
    ratio (the first two derivatives come from the same pass), from the same starting
    points, inside a bracket found from the steps themselves (an unknown side is approached
    by steps of at most 1, 2, 4, ...), to a few units in the last place."""
    from .._jit import kernels_for

    n_t = t.shape[0]
    m_ = t[:, :, 0].sum(axis=1)
    nn = t[:, :, 1].sum(axis=1)
    k = t[:, 0].sum(axis=1)
    x = np.ascontiguousarray(t[:, 0, 0])
    lo = np.maximum(0, k - nn)
    hi = np.minimum(k, m_)
    slo, shi = (lo, hi) if window is None else window
    slo = np.ascontiguousarray(slo, dtype=np.int64)
    widths = np.ascontiguousarray(shi - slo + 1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    chosen = kernels_for(int(widths.sum()))
    logdc = _hypergeometric_log_weights(m_, nn, k, slo, widths, starts,
                                        chosen.nchg_log_weights)
    kern = chosen.nchg_moments
    alpha = (1.0 - level) / 2.0
    cells = t.reshape(-1, 4).astype(float) + 0.5
    woolf = np.log(cells[:, 0] * cells[:, 3] / (cells[:, 1] * cells[:, 2]))
    woolf_se = np.sqrt((1.0 / cells).sum(axis=1))
    z = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    held = np.ones(n_t, dtype=bool)
    cut_low, cut_high = slo > lo, slo + widths - 1 < hi

    def solve(rows: IntArray, mode: int, target: float, sign: float, start: FloatArray
              ) -> tuple[FloatArray, FloatArray]:
        """theta solving each row's equation, and the derivative at the last step."""
        theta = np.asarray(start, dtype=np.float64).copy()
        slope = np.full(rows.size, np.nan)
        a = np.full(rows.size, -math.inf)
        b = np.full(rows.size, math.inf)
        ga, gb = np.full(rows.size, -1.0), np.ones(rows.size)  # the values at a and b
        reach = np.ones(rows.size)
        edges = np.empty((rows.size, 3))  # peak and ends of the last step's log density
        active = np.arange(rows.size)
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        for _ in range(400):
            if active.size == 0:
                break
            th = theta[active]
            out = np.empty((active.size, 7))
            kern(logdc, starts, widths, slo, x, th, rows[active], mode, out)
            edges[active] = out[:, 3:6]
            slope[active] = out[:, 1]
            g = sign * (out[:, 0] - target)
            d1, d2 = sign * out[:, 1], sign * out[:, 2]
            below, above = g < 0, g > 0
            aa = np.where(below, th, a[active])
            bb = np.where(above, th, b[active])
            fa = np.where(below, g, ga[active])
            fb = np.where(above, g, gb[active])
            a[active], b[active], ga[active], gb[active] = aa, bb, fa, fb
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                newton = g / d1
                bend = 0.5 * newton * d2 / d1
                # Halley's step near the root; Newton's where the curvature dominates
                step = np.where(np.abs(bend) <= 0.5, newton / (1.0 - bend), newton)
                new = th - step
                secant = bb - fb * (bb - aa) / (fb - fa)
            r_ = reach[active]
            closed = np.isfinite(aa) & np.isfinite(bb)
            ok = np.isfinite(new) & (new > aa) & (new < bb) & (closed | (np.abs(step) <= r_))
            # outside a closed bracket: regula falsi (else halving); towards an unknown
            # side: a move of ``reach``, doubled each time
            inner = np.isfinite(secant) & (secant > aa) & (secant < bb)
            with np.errstate(invalid="ignore"):
                fallback = np.where(closed, np.where(inner, secant, 0.5 * (aa + bb)),
                                    th + np.where(below, r_, -r_))
            reach[active] = np.where(ok | closed, r_, 2.0 * r_)
            new = np.where(ok, new, fallback)
            # converged: a step of a few units in the last place, or a Halley step below
            # 1e-7 on the scale the equation bends on (1 / SD for a wide distribution, 1
            # near an end of the support), after which the error, of the order of the
            # step's cube, is far below the last place
            halley_ok = ok & (np.abs(bend) <= 0.5)
            scale = np.maximum(np.sqrt(np.abs(out[:, 6])), 1.0)
            done = ((np.abs(new - th) <= 4.0 * _EPS_F * np.maximum(np.abs(th), 1.0))
                    | (halley_ok & (np.abs(step) * scale <= 1e-7))
                    | (g == 0)
                    | (closed & (bb - aa <= 4.0 * _EPS_F * np.maximum(
                        np.maximum(np.abs(aa), np.abs(bb)), 1.0))))
            theta[active] = np.where(g == 0, th, new)
            active = active[~done]
        if window is not None and rows.size:
            # at the last step (within a few units in the last place of the solution)
            floor = edges[:, 0] - _WINDOW_LOG_MARGIN
            bad = ((cut_low[rows] & (edges[:, 1] > floor))
                   | (cut_high[rows] & (edges[:, 2] > floor)))
            held[rows[bad]] = False
        return theta, slope

    est = np.where(x == lo, 0.0, math.inf)
    # the limits start from the conditional MLE and the variance there, with the tails'
    # continuity half (theta_hat -/+ (z + 0.5 / sd) / sd), else from Woolf's interval
    low_start = woolf - z * woolf_se
    high_start = woolf + z * woolf_se
    inner = np.flatnonzero((x > lo) & (x < hi))
    if inner.size:
        theta_hat, var_hat = solve(inner, 0, 0.0, 1.0, woolf[inner])
        est[inner] = np.exp(theta_hat)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(var_hat)
            reach = (z + 0.5 / sd) / sd
        fine = np.isfinite(reach) & (var_hat > 0)
        low_start[inner] = np.where(fine, theta_hat - reach, low_start[inner])
        high_start[inner] = np.where(fine, theta_hat + reach, high_start[inner])
    ci_low = np.zeros(n_t)
    up = np.flatnonzero(x != lo)
    if up.size:
        ci_low[up] = np.exp(solve(up, 1, alpha, 1.0, low_start[up])[0])
    ci_high = np.full(n_t, math.inf)
    dn = np.flatnonzero(x != hi)
    if dn.size:
        ci_high[dn] = np.exp(solve(dn, 2, alpha, -1.0, high_start[dn])[0])
    return est, ci_low, ci_high, held


def _conditional_odds_ratio_padded(tables: IntArray, level: float
                                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`_conditional_odds_ratio` of a stack of 2 x 2 tables: the supports padded to
    one width, the three equations solved for every table at once by Newton's method on the
    log odds ratio (derivatives: the variance of the noncentral hypergeometric, and the
    covariance of a tail's indicator with it), kept inside a bracket, to a few units in the
    last place (the one-table function stops at brentq's ``xtol = 1e-13``)."""
    est, low, high, _ = _odds_ratio_on_supports(np.asarray(tables, dtype=np.int64), level)
    return est, low, high


def _odds_ratio_on_supports(
    t: IntArray, level: float, window: tuple[IntArray, IntArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """:func:`_conditional_odds_ratio_padded` with each table's support cut to ``window``
    (first and last value; default: the whole support), and whether the density at the
    solutions is :data:`_WINDOW_LOG_MARGIN` below its peak at every cut edge."""
    m_ = t[:, :, 0].sum(axis=1)
    nn = t[:, :, 1].sum(axis=1)
    k = t[:, 0].sum(axis=1)
    x = t[:, 0, 0]
    lo = np.maximum(0, k - nn)
    hi = np.minimum(k, m_)
    slo, shi = (lo, hi) if window is None else window
    width = int((shi - slo).max()) + 1
    support = (slo[:, None] + np.arange(width)[None, :]).astype(float)
    valid = support <= shi[:, None]
    with np.errstate(invalid="ignore"):
        logdc = np.where(valid, _lchoose(m_[:, None].astype(float), support)
                         + _lchoose(nn[:, None].astype(float), k[:, None] - support), -np.inf)
    alpha = (1.0 - level) / 2.0
    xf = x.astype(float)
    upper_mask = valid & (support >= xf[:, None])  # X >= x
    lower_mask = valid & (support <= xf[:, None])  # X <= x

    def moments(theta: FloatArray, rows: IntArray, mask: npt.NDArray[np.bool_] | None
                ) -> tuple[FloatArray, FloatArray]:
        """(value, derivative in theta) of E[X] (mask None) or of P(X in mask)."""
        d = logdc[rows] + theta[:, None] * support[rows]
        e = np.exp(d - d.max(axis=1, keepdims=True))
        dens = e / e.sum(axis=1, keepdims=True)
        s = support[rows]
        mean = (dens * s).sum(axis=1)
        if mask is None:
            return mean, (dens * (s - mean[:, None]) ** 2).sum(axis=1)
        mk = mask[rows]
        prob = np.where(mk, dens, 0.0).sum(axis=1)
        return prob, np.where(mk, dens * (s - mean[:, None]), 0.0).sum(axis=1)

    # starting points: the empirical log odds ratio (0.5 added to every cell) and Woolf's
    # interval, so that Newton's method starts a few steps from each root
    cells = t.reshape(-1, 4).astype(float) + 0.5
    woolf = np.log(cells[:, 0] * cells[:, 3] / (cells[:, 1] * cells[:, 2]))
    woolf_se = np.sqrt((1.0 / cells).sum(axis=1))
    z = float(special.ndtri(1.0 - (1.0 - level) / 2.0))

    def solve(rows: IntArray, mask: npt.NDArray[np.bool_] | None, target: FloatArray,
              sign: float, start: FloatArray) -> FloatArray:
        """theta with sign * f(theta) = sign * target, sign * f increasing; the bracket
        grows from ``start`` - 1 and ``start`` + 1 by doubling its distance from it."""
        def f(theta: FloatArray, r: IntArray) -> tuple[FloatArray, FloatArray]:
            v, dv = moments(theta, r, mask)
            return sign * v, sign * dv

        tg = sign * target
        a = start - 1.0
        b = start + 1.0
        for _ in range(1100):
            low = f(a, rows)[0] > tg
            if not low.any():
                break
            a = np.where(low, start - 2.0 * (start - a), a)
        for _ in range(1100):
            high = f(b, rows)[0] < tg
            if not high.any():
                break
            b = np.where(high, start + 2.0 * (b - start), b)
        theta = np.asarray(start, dtype=np.float64).copy()
        active = np.ones(rows.size, dtype=bool)
        for _ in range(300):
            i = np.flatnonzero(active)
            if i.size == 0:
                break
            th = theta[i]
            v, dv = f(th, rows[i])
            g = v - tg[i]
            a[i] = np.where(g < 0, th, a[i])
            b[i] = np.where(g < 0, b[i], th)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = th - g / dv
            inside = np.isfinite(new) & (new > a[i]) & (new < b[i])
            new = np.where(inside, new, 0.5 * (a[i] + b[i]))
            done = (np.abs(new - th) <= 4.0 * _EPS_F * np.maximum(np.abs(th), 1.0)) | (g == 0)
            theta[i] = np.where(g == 0, th, new)
            active[i[done]] = False
        return np.asarray(theta, dtype=np.float64)

    n_t = t.shape[0]
    held = np.ones(n_t, dtype=bool)
    cut_low, cut_high = slo > lo, shi < hi
    last = (shi - slo)[:, None]

    def check(rows: IntArray, theta: FloatArray) -> None:
        """Mark the rows whose density at ``theta`` is not far enough below its peak at
        a cut edge of the window."""
        if window is None or rows.size == 0:
            return
        d = np.where(valid[rows], logdc[rows] + theta[:, None] * support[rows], -np.inf)
        floor = d.max(axis=1) - _WINDOW_LOG_MARGIN
        bad = ((cut_low[rows] & (d[:, 0] > floor))
               | (cut_high[rows] & (np.take_along_axis(d, last[rows], axis=1)[:, 0] > floor)))
        held[rows[bad]] = False

    est = np.where(x == lo, 0.0, math.inf)
    inner = np.flatnonzero((x > lo) & (x < hi))
    if inner.size:
        theta = solve(inner, None, xf[inner], 1.0, woolf[inner])
        check(inner, theta)
        est[inner] = np.exp(theta)
    ci_low = np.zeros(n_t)
    up = np.flatnonzero(x != lo)
    if up.size:
        theta = solve(up, upper_mask, np.full(up.size, alpha), 1.0,
                      woolf[up] - z * woolf_se[up])
        check(up, theta)
        ci_low[up] = np.exp(theta)
    ci_high = np.full(n_t, math.inf)
    dn = np.flatnonzero(x != hi)
    if dn.size:
        theta = solve(dn, lower_mask, np.full(dn.size, alpha), -1.0,
                      woolf[dn] + z * woolf_se[dn])
        check(dn, theta)
        ci_high[dn] = np.exp(theta)
    return est, ci_low, ci_high, held
