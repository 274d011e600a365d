"""Confidence intervals for a single binomial proportion."""

from __future__ import annotations

import math
import numbers

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
