"""Confidence intervals for a binomial proportion and for differences of two proportions.

Differences read wave 2 relative to wave 1 (``p2 - p1``; positive = more of the reported
level in wave 2). :func:`newcombe_difference` (independent samples) and
:func:`newcombe_paired` (the same respondents twice) are vectorised: they take counts as
scalars or arrays and return arrays, so the comparison engine computes every cell at once and
the stats functions call the same arithmetic for one table.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from .._errors import CrisisSurveyError

__all__ = ["PROPORTION_CI_METHODS", "proportion_ci"]

#: Method names accepted by :func:`proportion_ci`.
PROPORTION_CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson")


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CrisisSurveyError(f"{name} must be a whole number; got {value!r}")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float != round(as_float):
        raise CrisisSurveyError(f"{name} must be a whole number; got {value!r}")
    return round(as_float)


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float after checking it lies strictly between 0 and 1."""
    try:
        level = float(confidence)
    except (TypeError, ValueError) as exc:
        raise CrisisSurveyError(
            f"confidence must be a number in (0, 1); got {confidence!r}"
        ) from exc
    if not 0.0 < level < 1.0:
        raise CrisisSurveyError(f"confidence must lie strictly between 0 and 1; got {confidence!r}")
    return level


def _wilson(x: int, n: int, level: float) -> tuple[float, float]:
    # R stats::prop.test(x, n, correct = FALSE)$conf.int, transcribed (YATES = 0)
    z = float(special.ndtri((1.0 + level) / 2.0))
    p = x / n
    z22n = z * z / (2.0 * n)
    half = z * math.sqrt(p * (1.0 - p) / n + z22n / (2.0 * n))
    upper = 1.0 if p >= 1.0 else (p + z22n + half) / (1.0 + 2.0 * z22n)
    lower = 0.0 if p <= 0.0 else (p + z22n - half) / (1.0 + 2.0 * z22n)
    return max(lower, 0.0), min(upper, 1.0)


def wilson_bounds(x: Any, n: Any, level: float) -> tuple[npt.NDArray[np.float64], ...]:
    """:func:`_wilson` of many counts at once (arrays of ``x`` and ``n``; NaN where n = 0)."""
    xf = np.asarray(x, dtype=np.float64)
    nf = np.asarray(n, dtype=np.float64)
    z = float(special.ndtri((1.0 + level) / 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = xf / nf
        z22n = z * z / (2.0 * nf)
        half = z * np.sqrt(p * (1.0 - p) / nf + z22n / (2.0 * nf))
        upper = np.where(p >= 1.0, 1.0, (p + z22n + half) / (1.0 + 2.0 * z22n))
        lower = np.where(p <= 0.0, 0.0, (p + z22n - half) / (1.0 + 2.0 * z22n))
    return p, np.maximum(lower, 0.0), np.minimum(upper, 1.0)


def newcombe_difference(x1: Any, n1: Any, x2: Any, n2: Any, level: float
                        ) -> tuple[npt.NDArray[np.float64], ...]:
    """Difference ``p2 - p1`` of two independent proportions with Newcombe's (1998) hybrid
    score interval (his method 10), for scalars or arrays of counts.

    With Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` for ``p1 = x1/n1`` and ``p2 =
    x2/n2``, the bounds are ``p2 - p1 - sqrt((p2 - l2)^2 + (u1 - p1)^2)`` and
    ``p2 - p1 + sqrt((u2 - p2)^2 + (p1 - l1)^2)``. NaN where a sample is empty.

    Equivalent R (base R only; ``tests/fixtures/r/newcombe.R`` computes it this way)::

        w1 <- prop.test(x1, n1, correct = FALSE)$conf.int
        w2 <- prop.test(x2, n2, correct = FALSE)$conf.int
        d <- x2 / n2 - x1 / n1
        c(d - sqrt((x2/n2 - w2[1])^2 + (w1[2] - x1/n1)^2),
          d + sqrt((w2[2] - x2/n2)^2 + (x1/n1 - w1[1])^2))

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890.

    Examples
    --------
    >>> d, low, high = newcombe_difference(10, 40, 20, 40, 0.95)
    >>> round(float(d), 2), round(float(low), 4), round(float(high), 4)
    (0.25, 0.0379, 0.4333)
    """
    p1, l1, u1 = wilson_bounds(x1, n1, level)
    p2, l2, u2 = wilson_bounds(x2, n2, level)
    diff = p2 - p1
    low = diff - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return diff, np.maximum(low, -1.0), np.minimum(high, 1.0)


def newcombe_paired(n00: Any, n01: Any, n10: Any, n11: Any, level: float
                    ) -> tuple[npt.NDArray[np.float64], ...]:
    """Paired difference ``p2 - p1`` with Newcombe's (1998) hybrid score interval for paired
    data (his method 10), for scalars or arrays of the 2 x 2 counts (rows wave 1, columns wave
    2, level 0 then the reported level 1): ``p1 = (n10 + n11)/n``, ``p2 = (n01 + n11)/n``.

    The Wilson intervals of ``p1`` and ``p2`` are combined with the correlation ``phi`` of the
    pairs (its numerator ``n11 n00 - n10 n01`` lowered by ``n/2`` when it exceeds that, set to
    0 between 0 and ``n/2``; 0 when a margin is empty).

    References
    ----------
    Newcombe, R. G. (1998). Improved confidence intervals for the difference between
    binomial proportions based on paired data. Statistics in Medicine 17, 2635-2650.
    """
    a, b, c, d = (np.asarray(v, dtype=np.float64) for v in (n00, n01, n10, n11))
    n = a + b + c + d
    x1, x2 = c + d, b + d
    p1, l1, u1 = wilson_bounds(x1, n, level)
    p2, l2, u2 = wilson_bounds(x2, n, level)
    margins = x1 * (n - x1) * x2 * (n - x2)
    cross = d * a - c * b
    adjusted = np.where(cross > n / 2.0, cross - n / 2.0, np.where(cross < 0, cross, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(margins > 0, adjusted / np.sqrt(np.where(margins > 0, margins, 1.0)),
                       0.0)
    diff = p2 - p1
    low = diff - np.sqrt(np.maximum(
        0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    high = diff + np.sqrt(np.maximum(
        0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2))
    return diff, np.maximum(low, -1.0), np.minimum(high, 1.0)


def change_pattern_counts(tables: Any) -> npt.NDArray[np.float64]:
    """The counts ``(n_up, n_same, n_down)`` of paired ``k x k`` tables (rows wave 1, columns
    wave 2, levels in order): the pairs whose wave-2 level is above, equal to and below their
    wave-1 level, i.e. the sums above, on and below the diagonal. ``tables`` is one table or a
    stack ``(m, k, k)``; the result has shape ``(m, 3)`` (``(3,)`` for one table).

    Examples
    --------
    >>> change_pattern_counts([[5, 3, 1], [2, 6, 4], [0, 1, 8]]).tolist()
    [8.0, 19.0, 3.0]
    """
    t = np.asarray(tables, dtype=np.float64)
    k = t.shape[-1]
    up = np.triu(np.ones((k, k), dtype=bool), 1)
    down = up.T
    same = np.eye(k, dtype=bool)
    return np.stack([t[..., up].sum(axis=-1), t[..., same].sum(axis=-1),
                     t[..., down].sum(axis=-1)], axis=-1)


def net_change(n_up: Any, n_same: Any, n_down: Any, level: float
               ) -> tuple[npt.NDArray[np.float64], ...]:
    """The net change of paired ordered answers, ``delta = (n_up - n_down) / n`` = P(higher in
    wave 2) - P(lower), with Newcombe's (1998) paired hybrid score interval (method 10), for
    scalars or arrays of the three change counts (:func:`change_pattern_counts`).

    The net change is the paired dominance statistic (Cliff's delta for dependent samples in
    its within-pair form): ``mean(sign(y - x))`` over the ``n = n_up + n_same + n_down``
    complete pairs. It is the difference ``p2 - p1`` of two proportions from the same pairs,
    ``p2 = n_up / n`` and ``p1 = n_down / n``, so the paired difference's interval applies as
    it is to the 2 x 2 table of the indicators (moved down, moved up): ``n00 = n_same``,
    ``n01 = n_up``, ``n10 = n_down`` and the structural zero ``n11 = 0``
    (:func:`newcombe_paired`). Its value and interval depend only on the three counts, not on
    how the moves spread over the levels. NaN where ``n = 0``.

    Equivalent R (base R; ``tests/fixtures/r/net_change.R`` computes it from raw pairs)::

        up <- sum(y > x); down <- sum(y < x); n <- length(x)
        w2 <- prop.test(up, n, correct = FALSE)$conf.int    # p2 = up / n
        w1 <- prop.test(down, n, correct = FALSE)$conf.int  # p1 = down / n
        phi <- -up * down / sqrt(down * (n - down) * up * (n - up))  # 0 if a margin is 0
        # then Newcombe's method 10 for p2 - p1 with this phi

    References
    ----------
    Newcombe, R. G. (1998). Improved confidence intervals for the difference between
    binomial proportions based on paired data. Statistics in Medicine 17, 2635-2650.
    Cliff, N. (1993). Dominance statistics: ordinal analyses to answer ordinal questions.
    Psychological Bulletin 114, 494-509.

    Examples
    --------
    Of 120 pairs, 40 answered higher in wave 2, 70 the same and 10 lower:

    >>> d, low, high = net_change(40, 70, 10, 0.95)
    >>> round(float(d), 3), round(float(low), 4), round(float(high), 4)
    (0.25, 0.1396, 0.353)
    """
    return newcombe_paired(n_same, n_up, n_down, np.zeros_like(np.asarray(n_up, float)),
                           level)


def _net_change_reference(x: Any, y: Any, level: float) -> tuple[float, float, float]:
    """:func:`net_change` of raw paired answers, plainly: a loop over the pairs for the
    counts and Newcombe's method 10 in scalar arithmetic (the reference the batch over
    cells is tested against)."""
    up = same = down = 0
    for a, b in zip(x, y, strict=True):
        if b > a:
            up += 1
        elif b < a:
            down += 1
        else:
            same += 1
    n = up + same + down
    if n == 0:
        return math.nan, math.nan, math.nan
    p2, p1 = up / n, down / n
    l2, u2 = _wilson(up, n, level)
    l1, u1 = _wilson(down, n, level)
    margins = down * (n - down) * up * (n - up)
    phi = -up * down / math.sqrt(margins) if margins > 0 else 0.0
    d = p2 - p1
    low = d - math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)
                            + (u1 - p1) ** 2))
    high = d + math.sqrt(max(0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1)
                             + (p1 - l1) ** 2))
    return d, max(low, -1.0), min(high, 1.0)


def _clopper_pearson(x: int, n: int, level: float) -> tuple[float, float]:
    # R stats::binom.test(x, n)$conf.int (two-sided), transcribed
    alpha = (1.0 - level) / 2.0
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1.0 - alpha, x + 1, n - x))
    return lower, upper


def proportion_ci(
    successes: int,
    n: int,
    *,
    method: str = "wilson",
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Two-sided confidence interval for a binomial proportion ``successes / n``.

    Parameters
    ----------
    successes : int
        Number of respondents giving the answer of interest, ``0 <= successes <= n``.
    n : int
        Number of respondents who answered (missing answers excluded), ``n >= 1``.
    method : {"wilson", "clopper-pearson"}
        ``"wilson"``: the score interval without continuity correction (good coverage, the
        default). ``"clopper-pearson"``: the exact interval from beta quantiles (at least
        nominal coverage, conservative).
    confidence : float
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)``, both within [0, 1]. At ``successes == 0`` the lower bound is exactly
        0 and at ``successes == n`` the upper bound is exactly 1 (both methods).

    Notes
    -----
    Wilson (score) interval, with :math:`\\hat p = x/n` and :math:`z = \\Phi^{-1}((1+c)/2)`:

    .. math:: \\frac{\\hat p + \\frac{z^2}{2n} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} +
              \\frac{z^2}{4n^2}}}{1 + z^2/n}

    Clopper-Pearson interval: :math:`[B(\\alpha/2; x, n-x+1),\\ B(1-\\alpha/2; x+1, n-x)]`
    with :math:`B(q; a, b)` the beta quantile and :math:`\\alpha = 1 - c`; the lower bound is
    0 when :math:`x = 0` and the upper bound 1 when :math:`x = n`.

    Equivalent R calls: ``prop.test(x, n, correct = FALSE, conf.level = c)$conf.int``
    (Wilson) and ``binom.test(x, n, conf.level = c)$conf.int`` (Clopper-Pearson).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22, 209-212.
    Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. Biometrika 26, 404-413.
    Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. Statistics in Medicine 17, 857-872.

    Examples
    --------
    Eighteen of 40 carers said the crisis team helped:

    >>> from crisis_survey.stats import proportion_ci
    >>> [round(b, 4) for b in proportion_ci(18, 40)]
    [0.3071, 0.6017]
    >>> [round(b, 4) for b in proportion_ci(18, 40, method="clopper-pearson")]
    [0.2926, 0.6151]
    >>> proportion_ci(0, 12)[0]
    0.0
    """
    if method not in PROPORTION_CI_METHODS:
        raise CrisisSurveyError(
            f"method must be one of {', '.join(PROPORTION_CI_METHODS)}; got {method!r}"
        )
    x = _count(successes, "successes")
    total = _count(n, "n")
    if total < 1:
        raise CrisisSurveyError(f"n must be at least 1; got {n!r}")
    if not 0 <= x <= total:
        raise CrisisSurveyError(f"successes must lie between 0 and n = {total}; got {successes!r}")
    level = check_confidence(confidence)
    if method == "wilson":
        return _wilson(x, total, level)
    return _clopper_pearson(x, total, level)
