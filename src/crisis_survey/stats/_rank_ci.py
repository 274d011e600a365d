r"""Intervals, equivalence tests and detectable effects for the rank-biserial correlations
(private; used by :mod:`crisis_survey.stats._rank` and :mod:`crisis_survey.compare`).

Matched pairs: the exponentially tilted signed-rank family
    Given the absolute non-zero differences (doubled midranks ``s_i``, zeros dropped as in
    the effect size), the signed-rank test's null makes every sign a fair coin. The family
    ``P_lambda(signs) ∝ exp(lambda * 2V) P_0(signs)`` makes the signs independent with
    ``P(d_i > 0) = expit(lambda s_i)``: ``lambda = 0`` is the null, ``lambda > 0`` moves
    larger changes up more than smaller ones (for a latent normal difference the log-odds
    of a positive sign are linear in ``|d|``, which this mirrors on the rank scale). The
    rank-biserial ``r = (2V2 - S2) / S2`` (``S2 = sum s_i``) has expectation
    ``theta(lambda) = sum_i s_i tanh(lambda s_i / 2) / S2`` under the family. The interval
    is ``[theta(lambda_L), theta(lambda_U)]`` with ``P_{lambda_L}(2V >= v) = a`` and
    ``P_{lambda_U}(2V <= v) = a`` (``a = (1 - confidence) / 2``; ``1 - confidence`` and an
    infinite far bound for one-sided alternatives): the inversion of the signed-rank test
    itself. The exact version tilts the exact conditional null distribution (ties and zeros
    as observed), so ``0`` lies outside the interval exactly when the exact two-sided
    p-value is below ``1 - confidence``; the asymptotic version uses the family's normal
    approximation ``(v - c - mu(lambda)) / sigma(lambda)`` with the same continuity
    correction ``c`` as the test. When every difference has one sign the near bound stays
    finite (n = 1 positive difference gives ``[-0.95, 1]``). With one tie group (binary
    items) the family is the binomial and the interval is Clopper-Pearson's for
    ``(b - c) / (b + c)``.

Independent samples: Newcombe's score interval
    For ``A = P(X > Y) + P(X = Y) / 2 = (r + 1) / 2`` the interval solves
    ``(A_hat - A)^2 = z^2 V(A)`` with Newcombe's (2006) method 5 variance
    ``V(A) = A (1 - A) / (m n) * (2N* - 1 - (3N* - 3) / ((2 - A)(1 + A)))``,
    ``N* = (m + n) / 2``; it never has zero width and stays inside [-1, 1].

References
----------
Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
Mann-Whitney statistic. Part 2: asymptotic methods and evaluation. Statistics in Medicine
25, 559-573.
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated
in the case of the binomial. Biometrika 26, 404-413.
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. J. Pharmacokinetics and
Biopharmaceutics 15, 657-680.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, ndtr, ndtri

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: bisection steps (the brackets below are resolved far beyond double precision of theta)
_STEPS = 64
#: lambda is bracketed by +/- this on the doubled-statistic scale (support gaps >= 1): beyond
#: it a tilted distribution sits on one support point to far below double precision
_LAMBDA_MAX = 1400.0


def _tail_level(confidence: float, alternative: str) -> float:
    return 1.0 - confidence if alternative != "two-sided" else (1.0 - confidence) / 2.0


def tilt_theta(lam: Any, scores2: Any, mult: Any) -> FloatArray:
    """``theta(lambda)``: the expected rank-biserial r of each row under the tilted family."""
    s = np.asarray(scores2, dtype=np.float64)
    w = np.asarray(mult, dtype=np.float64) * s
    lam = np.asarray(lam, dtype=np.float64).reshape(-1, 1)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((w * np.tanh(lam * s / 2.0)).sum(axis=1) / total, dtype=np.float64)


def _moments(lam: FloatArray, s: FloatArray, m: FloatArray,
             weights: tuple[FloatArray, FloatArray] | None = None
             ) -> tuple[FloatArray, FloatArray]:
    """Mean and SD of the doubled statistic 2V under the tilted family (rows of s, m).
    ``weights``: ``(m * s, m * s * s)`` computed once by a caller that evaluates many tilts
    (the same products in the same order, so the same bits)."""
    ms, mss = (m * s, m * s * s) if weights is None else weights
    p = expit(lam[:, None] * s)
    mu = (ms * p).sum(axis=1)
    sd = np.sqrt((mss * p * (1.0 - p)).sum(axis=1))
    return mu, sd


def _bisect(f: Any, rows: int, increasing: bool) -> FloatArray:
    """Root in lambda of a monotone function of every row, vectorised (f(lam) -> (rows,))."""
    lo = np.full(rows, -_LAMBDA_MAX / 2.0)
    hi = np.full(rows, _LAMBDA_MAX / 2.0)
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        above = f(mid) > 0.0
        if increasing:
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        else:
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.asarray(0.5 * (lo + hi), dtype=np.float64)


def _newton(f: Any, rows: int, increasing: bool, skip: Any = None) -> FloatArray:
    """:func:`_bisect`'s root (the same bracket, the same function) by Newton's method kept
    inside the bracket (a step that would leave it halves the bracket instead), every row
    at once; ``f(lam, at) -> (value, derivative)`` of the rows ``at``, with one root in the
    bracket (:func:`lambda_of_theta`: ``theta(lambda)`` is strictly increasing). A row stops
    after a step below 8 units in the last place of lambda (the next error is of the order
    of its square), when the bracket is that narrow, or when the value is 0. Rows in
    ``skip`` (no data: callers replace them) get 0. About 6-10 evaluations a row instead of
    64; where :func:`_bisect`'s fixed absolute resolution (about 1e-16 in lambda) is coarser
    than the root's own last place (small lambda: large cells), the two differ by that
    resolution."""
    lam = np.zeros(rows)
    lo = np.full(rows, -_LAMBDA_MAX / 2.0)
    hi = np.full(rows, _LAMBDA_MAX / 2.0)
    active = np.arange(rows) if skip is None else np.flatnonzero(~np.asarray(skip))
    x = lam[active]
    a, b = lo[active], hi[active]
    for _ in range(4 * _STEPS):
        if active.size == 0:
            break
        value, slope = f(x, active)
        above = value > 0.0
        if increasing:
            b, a = np.where(above, x, b), np.where(above, a, x)
        else:
            a, b = np.where(above, x, a), np.where(above, b, x)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            step = x - value / slope
        tol = 8.0 * np.finfo(float).eps * np.maximum(np.abs(x), np.finfo(float).tiny)
        # a step within the tolerance ends the row even where rounding puts it on the
        # bracket's edge (the last evaluated point)
        close = np.isfinite(step) & (np.abs(step - x) <= tol)
        inside = np.isfinite(step) & (step > a) & (step < b)
        new = np.where(value == 0.0, x, np.where(close | inside, step, 0.5 * (a + b)))
        done = (value == 0.0) | close | (b - a <= tol)
        lam[active] = new
        keep = ~done
        active, x, a, b = active[keep], new[keep], a[keep], b[keep]
    return lam


def signed_rank_ci_asymptotic(
    scores2: Any, mult: Any, v2: Any, *, confidence: float, alternative: str, correction: bool
) -> tuple[FloatArray, FloatArray]:
    """Interval for the matched-pairs rank-biserial r (of the signed differences given: y - x
    in the stats functions) from the tilted family's normal approximation, every row at once (rows:
    doubled midranks ``scores2`` and multiplicities
    ``mult`` of the non-zero |d|, observed doubled statistic ``v2``). NaN without data."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    v = np.atleast_1d(np.asarray(v2, dtype=np.float64))
    q = float(ndtri(1.0 - _tail_level(confidence, alternative)))
    c = 1.0 if correction else 0.0  # 0.5 on V is 1 on 2V
    total = (m * s).sum(axis=1)
    rows = len(v)

    weights = (m * s, m * s * s)

    def upper(lam: FloatArray) -> FloatArray:  # z of P(2V >= v) minus the quantile: decreasing
        mu, sd = _moments(lam, s, m, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((v - c - mu) / sd - q, dtype=np.float64)

    def lower(lam: FloatArray) -> FloatArray:  # z of P(2V <= v) plus the quantile: decreasing
        mu, sd = _moments(lam, s, m, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((v + c - mu) / sd + q, dtype=np.float64)

    # bisected, not by _newton: at extreme tilts (nearly every change one way) these
    # functions can cross 0 more than once, and the bisection's root is the interval's
    low = tilt_theta(_bisect(upper, rows, increasing=False), s, m)
    high = tilt_theta(_bisect(lower, rows, increasing=False), s, m)
    low = np.where(v - c <= 0.0, -1.0, low)
    high = np.where(v + c >= total, 1.0, high)
    return _finish(low, high, total > 0, alternative, _r_of(v, total))


def _log_tails(logpmf: FloatArray, t: FloatArray, lam: FloatArray, v: FloatArray
               ) -> tuple[FloatArray, FloatArray]:
    """P_lambda(2V >= v) and P_lambda(2V <= v) of every row of a null pmf (log scale input)."""
    a = logpmf + lam[:, None] * t[None, :]
    top = a.max(axis=1, keepdims=True)
    e = np.exp(a - top)
    total = e.sum(axis=1)
    ge = np.where(t[None, :] >= v[:, None], e, 0.0).sum(axis=1) / total
    le = np.where(t[None, :] <= v[:, None], e, 0.0).sum(axis=1) / total
    return ge, le


def _width_blocks(logpmf: FloatArray) -> Iterator[tuple[npt.NDArray[np.intp], int]]:
    """Rows of ``logpmf`` in blocks of similar support width (``_exact.width_blocks``), each
    with its widest support: the work follows the cells' own supports (the padding holds
    only zero probabilities, ``-inf`` on the log scale, so nothing else changes)."""
    from ._exact import width_blocks

    finite = np.isfinite(logpmf)
    width = logpmf.shape[1]
    return width_blocks(np.where(finite.any(axis=1),
                                 width - np.argmax(finite[:, ::-1], axis=1), 1))


def _exact_root(logpmf: FloatArray, t: FloatArray, v: FloatArray, a: float, upper: bool
                ) -> FloatArray:
    """:func:`_exact_root_block` of each block of :func:`_width_blocks`."""
    out = np.empty(len(v))
    for block, w in _width_blocks(logpmf):
        out[block] = _exact_root_block(logpmf[block, :w], t[:w], v[block], a, upper)
    return out


def _exact_root_block(logpmf: FloatArray, t: FloatArray, v: FloatArray, a: float,
                      upper: bool) -> FloatArray:
    """The tilt lambda of every row at which ``P_lambda(T >= v) = a`` (``upper``) or
    ``P_lambda(T <= v) = a``: Newton's method on the log tail (its derivative is the tilted
    mean beyond ``v`` minus the tilted mean), kept inside a shrinking bracket and replaced by
    bisection where a step would leave it (the log tail is monotone in lambda). Rows whose
    ``v`` is at the end of the support have no root (the tail is 1 for every lambda); they
    get the bracket's end, and callers replace their bound."""
    rows = len(v)
    support = np.isfinite(logpmf)
    end = np.where(support, t[None, :], np.inf if upper else -np.inf)
    end = end.min(axis=1) if upper else end.max(axis=1)
    out = np.full(rows, -_LAMBDA_MAX if upper else _LAMBDA_MAX)
    active = np.flatnonzero(v > end if upper else v < end)
    lo, hi = np.full(active.size, -_LAMBDA_MAX), np.full(active.size, _LAMBDA_MAX)
    lam = np.zeros(active.size)
    log_a = np.log(a)
    for _ in range(4 * _STEPS):
        if active.size == 0:
            break
        lp, vv = logpmf[active], v[active]
        mask = (t[None, :] >= vv[:, None]) if upper else (t[None, :] <= vv[:, None])
        w = lp + lam[:, None] * t[None, :]
        e = np.exp(w - w.max(axis=1, keepdims=True))
        sel = np.where(mask, e, 0.0)
        total, part = e.sum(axis=1), sel.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.log(part / total) - log_a
            slope = (sel @ t) / part - (e @ t) / total
            step = lam - f / slope
        rising = f > 0.0
        if upper:
            hi, lo = np.where(rising, lam, hi), np.where(rising, lo, lam)
        else:
            lo, hi = np.where(rising, lam, lo), np.where(rising, hi, lam)
        hit = np.abs(f) < 1e-13
        bad = ~np.isfinite(step) | (step < lo) | (step > hi)
        step = np.where(hit, lam, np.where(bad, 0.5 * (lo + hi), step))
        done = hit | (np.abs(step - lam) <= 1e-12 * (1.0 + np.abs(lam)))
        out[active] = step
        keep = ~done
        active, lam, lo, hi = active[keep], step[keep], lo[keep], hi[keep]
    return out


def signed_rank_ci_exact(
    pmf: FloatArray, scores2: Any, mult: Any, v2: Any, *, confidence: float, alternative: str
) -> tuple[FloatArray, FloatArray]:
    """Interval for the matched-pairs rank-biserial r (of the signed differences given:
    y - x) by inverting the exact conditional signed-rank test along the tilted family; rows of
    ``pmf`` are the exact null
    distributions of 2V (zero beyond the support) for the ranks ``scores2``/``mult``."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    v = np.atleast_1d(np.asarray(v2, dtype=np.float64))
    pmf = np.atleast_2d(pmf)
    a = _tail_level(confidence, alternative)
    t = np.arange(pmf.shape[1], dtype=np.float64)
    with np.errstate(divide="ignore"):
        logpmf = np.log(pmf)
    total = (m * s).sum(axis=1)
    lam_low = _exact_root(logpmf, t, v, a, upper=True)
    lam_high = _exact_root(logpmf, t, v, a, upper=False)
    low = np.where(v <= 0.0, -1.0, tilt_theta(lam_low, s, m))
    high = np.where(v >= total, 1.0, tilt_theta(lam_high, s, m))
    return _finish(low, high, total > 0, alternative, _r_of(v, total))


def _r_of(v: FloatArray, total: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((2.0 * v - total) / total, dtype=np.float64)


def _finish(low: FloatArray, high: FloatArray, defined: Any, alternative: str, r: Any
            ) -> tuple[FloatArray, FloatArray]:
    """One-sided far bounds, NaN where undefined, and the estimate kept inside (at levels
    near 0 a bound of a discrete distribution's inversion can pass it)."""
    low, high = np.minimum(low, r), np.maximum(high, r)
    if alternative == "less":
        low = np.full_like(low, -1.0)
    elif alternative == "greater":
        high = np.full_like(high, 1.0)
    defined = np.asarray(defined, dtype=bool)
    return np.where(defined, low, np.nan), np.where(defined, high, np.nan)


def lambda_of_theta(theta: Any, scores2: Any, mult: Any) -> FloatArray:
    """The tilt ``lambda`` at which each row's expected r is ``theta`` (|theta| < 1)."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    target = np.broadcast_to(np.asarray(theta, dtype=np.float64), (len(s),))
    w = m * s
    total = w.sum(axis=1)

    def f(lam: FloatArray, at: IntArray) -> tuple[FloatArray, FloatArray]:
        sa = s[at]
        th = np.tanh(lam[:, None] * sa / 2.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (w[at] * sa * (1.0 - th * th)).sum(axis=1) / (2.0 * total[at])
        return tilt_theta(lam, sa, m[at]) - target[at], slope

    return _newton(f, len(s), increasing=True, skip=~(total > 0))


def _lambda_of_theta_bisect(theta: Any, scores2: Any, mult: Any) -> FloatArray:
    """:func:`lambda_of_theta` by 64 bisections (the plain reference, for tests)."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    target = np.broadcast_to(np.asarray(theta, dtype=np.float64), (len(s),))
    return _bisect(lambda lam: tilt_theta(lam, s, m) - target, len(s), increasing=True)


def signed_rank_tost(
    pmf: FloatArray | None, scores2: Any, mult: Any, v2: Any, margin: Any, *,
    correction: bool = True,
) -> FloatArray:
    """TOST p-value of ``|theta| >= margin`` against ``|theta| < margin`` for the matched-pairs
    rank-biserial, on the tilted family: ``max(P_{-margin}(2V >= v), P_{+margin}(2V <= v))``,
    exact from the null ``pmf`` rows when given, else from the normal approximation with the
    test's continuity correction. NaN where there is no non-zero difference or no margin."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    v = np.atleast_1d(np.asarray(v2, dtype=np.float64))
    margin = np.broadcast_to(np.asarray(margin, dtype=np.float64), v.shape)
    ok = ((m * s).sum(axis=1) > 0) & (margin > 0) & (margin < 1)
    safe = np.where(ok, margin, 0.5)
    lam_lo = lambda_of_theta(-safe, s, m)
    lam_hi = lambda_of_theta(safe, s, m)
    if pmf is not None:
        t = np.arange(np.atleast_2d(pmf).shape[1], dtype=np.float64)
        with np.errstate(divide="ignore"):
            logpmf = np.log(np.atleast_2d(pmf))
        p1, p2 = np.empty(len(v)), np.empty(len(v))
        for block, w in _width_blocks(logpmf):
            p1[block] = _log_tails(logpmf[block, :w], t[:w], lam_lo[block], v[block])[0]
            p2[block] = _log_tails(logpmf[block, :w], t[:w], lam_hi[block], v[block])[1]
    else:
        c = 1.0 if correction else 0.0
        mu1, sd1 = _moments(lam_lo, s, m)
        mu2, sd2 = _moments(lam_hi, s, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            p1 = ndtr(-(v - c - mu1) / sd1)
            p2 = ndtr((v + c - mu2) / sd2)
    return np.where(ok, np.minimum(1.0, np.maximum(p1, p2)), np.nan)


def signed_rank_null_se(scores2: Any, mult: Any) -> FloatArray:
    """SE of the matched-pairs rank-biserial r under the null, with ties: ``sqrt(sum s^2)/S2``."""
    s = np.atleast_2d(np.asarray(scores2, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mult, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.sqrt((m * s * s).sum(axis=1)) / (m * s).sum(axis=1))


# -- independent samples ---------------------------------------------------------------------
def _newcombe_var(a: FloatArray, nx: FloatArray, ny: FloatArray) -> FloatArray:
    """Newcombe's variance of A at ``a``; infinite where a sample is empty (divided only
    where ``nx * ny`` is not 0: no divide-by-zero warning, the same roots and p-values)."""
    half = (nx + ny) / 2.0
    shape = np.broadcast_shapes(np.shape(a), np.shape(nx), np.shape(ny))
    pairs = np.broadcast_to(nx * ny, shape)
    per_pair = np.divide(np.broadcast_to(a * (1.0 - a), shape), pairs,
                         out=np.full(shape, np.inf), where=pairs != 0)
    return np.asarray(per_pair * (
        2.0 * half - 1.0 - (3.0 * half - 3.0) / ((2.0 - a) * (1.0 + a))), dtype=np.float64)


def newcombe_ci(
    r: Any, n_x: Any, n_y: Any, *, confidence: float, alternative: str
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's (2006) method-5 score interval for the rank-biserial r of two independent
    samples, every row at once (r = 2A - 1); NaN where r is."""
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    nx = np.atleast_1d(np.asarray(n_x, dtype=np.float64))
    ny = np.atleast_1d(np.asarray(n_y, dtype=np.float64))
    z = float(ndtri(1.0 - _tail_level(confidence, alternative)))
    ok = np.isfinite(r)
    a_hat = np.where(ok, (r + 1.0) / 2.0, 0.5)

    def g(a: FloatArray) -> FloatArray:
        return np.asarray((a_hat - a) ** 2 - z * z * _newcombe_var(a, nx, ny))

    def root(lo: FloatArray, hi: FloatArray, below: bool) -> FloatArray:
        for _ in range(_STEPS):
            mid = 0.5 * (lo + hi)
            positive = g(mid) > 0.0  # outside the interval
            if below:  # lower root: g > 0 left of it
                lo, hi = np.where(positive, mid, lo), np.where(positive, hi, mid)
            else:
                lo, hi = np.where(positive, lo, mid), np.where(positive, mid, hi)
        return 0.5 * (lo + hi)

    low_a = root(np.zeros_like(a_hat), a_hat.copy(), below=True)  # 64 halvings of [0, 1]
    high_a = root(a_hat.copy(), np.ones_like(a_hat), below=False)
    low, high = 2.0 * low_a - 1.0, 2.0 * high_a - 1.0
    return _finish(low, high, ok, alternative, r)


def newcombe_tost(r: Any, n_x: Any, n_y: Any, margin: Any) -> FloatArray:
    """Approximate TOST p-value for ``|theta| < margin`` of the rank-biserial r of two
    independent samples: one-sided score tests at ``A = (1 +/- margin) / 2`` with Newcombe's
    variance (so equivalence at alpha exactly when the ``1 - 2 alpha`` Newcombe interval lies
    inside ``(-margin, margin)``)."""
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    nx = np.atleast_1d(np.asarray(n_x, dtype=np.float64))
    ny = np.atleast_1d(np.asarray(n_y, dtype=np.float64))
    margin = np.broadcast_to(np.asarray(margin, dtype=np.float64), r.shape)
    ok = np.isfinite(r) & (margin > 0) & (margin < 1)
    a_hat = (r + 1.0) / 2.0
    a_lo, a_hi = (1.0 - margin) / 2.0, (1.0 + margin) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = ndtr(-(a_hat - a_lo) / np.sqrt(_newcombe_var(a_lo, nx, ny)))
        p2 = ndtr((a_hat - a_hi) / np.sqrt(_newcombe_var(a_hi, nx, ny)))
    return np.where(ok, np.maximum(p1, p2), np.nan)


def mde_rank_biserial(se0: Any, level: Any, power: float = 0.8) -> FloatArray:
    """Smallest |theta| a two-sided test at ``level`` detects with ``power``, for an estimate
    of a correlation-type effect with null SE ``se0`` whose SE shrinks as ``sqrt(1 -
    theta^2)`` away from 0 (the signed-rank tilted family; binomial for binary items):
    the root of ``theta = se0 (z_{1 - level/2} + z_power sqrt(1 - theta^2))`` in [0, 1];
    NaN where even theta -> 1 is not detectable (``se0 * z_{1-level/2} >= 1``)."""
    se0 = np.asarray(se0, dtype=np.float64)
    za = ndtri(1.0 - np.asarray(level, dtype=np.float64) / 2.0)
    zb = float(ndtri(power))
    lo, hi = np.zeros_like(se0), np.ones_like(se0)
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        short = mid < se0 * (za + zb * np.sqrt(1.0 - mid * mid))
        lo, hi = np.where(short, mid, lo), np.where(short, hi, mid)
    out = 0.5 * (lo + hi)
    return np.where(np.isfinite(se0) & (se0 * za < 1.0), out, np.nan)
