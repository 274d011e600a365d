r"""Honest verdicts: the detectable effect, the equivalence test and one verdict per cell
(private; :func:`crisis_survey.compare.compare_waves` adds their columns).

For each tested cell ``compare_waves`` reads the change on one *verdict measure* (wave 2
relative to wave 1, positive = higher in wave 2), tests equivalence against the plan's
smallest important change ``Δ`` with two one-sided tests (TOST, Schuirmann 1987), and finds
the minimal detectable effect (MDE): the smallest ``|θ|`` its test detects with 80% power
at the level a cell must reach in its family. Every formula, its reference and its R
equivalent are in ``docs/methods/verdicts.md``.

=========================  ==========================  ===================================
test (design)              verdict measure             TOST / MDE
=========================  ==========================  ===================================
signed-rank (paired)       matched-pairs rank-biserial tilted signed-rank family (exact
                                                       below 50 changed pairs); MDE from
                                                       the null SE with the cell's ties
McNemar (paired)           risk difference (c - b)/n   Wald z with the paired variance;
                                                       MDE given the discordant pairs
Mann-Whitney (independent) rank-biserial r             Newcombe's score variance; MDE from
                                                       the tie-corrected null SE
chi-square / Fisher        risk difference p2 - p1     Wald z, unpooled (TOSTER's
(independent, binary)                                  ``twoprop_test``); MDE by Cohen's h
                                                       (``pwr.2p2n.test``)
partially overlapping z    risk difference             Wald z with the test's SE
t tests (paired, Welch,    standardised mean           Wald t with the test's SE and df,
partially overlapping t)   difference (pooled SD)      ``Δ`` times the SD (TOSTER's
                                                       ``tsum_TOST``); MDE by the
                                                       noncentral t (``power.t.test``)
Stuart-Maxwell, chi-square none                        no equivalence test: a cell that is
on nominal items, others                               not significant is "inconclusive"
=========================  ==========================  ===================================

Verdicts (``verdict`` column), from the adjusted p-values at the plan's ``alpha``:
``improved`` / ``got worse`` (significant change; the item's codebook ``x-polarity`` says
which way is better), ``increased`` / ``decreased`` (significant, item without polarity),
``changed`` (significant, no direction: nominal items), ``no change`` (equivalence shown:
adjusted TOST p < alpha), ``inconclusive`` (neither; ``mde`` says what could have been
detected).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy import stats as sps
from scipy.special import nctdtr, ndtr, ndtri, stdtrit

from .._errors import CrisisSurveyError
from ..stats import _rank_ci as rci
from ..stats._exact import signed_rank_pmfs
from ..stats._multiplicity import _adjust_grouped
from ..stats._parametric import _NCT_DIRECT_NCP, _NCT_DIRECT_T, nct_cdf
from ..stats._rank import AUTO_EXACT_BELOW, _doubled_midranks_rows

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Verdict measures: key (the plan's name) -> label.
MEASURES: dict[str, str] = {
    "rank_biserial": "rank-biserial r",
    "risk_difference": "risk difference",
    "standardised_mean_difference": "standardised mean difference",
}
#: The smallest important change of each measure unless the plan says otherwise: "small"
#: effects by the usual benchmarks (r = .2; 10 percentage points; 0.3 SD).
DEFAULT_MARGINS: dict[str, float] = {
    "rank_biserial": 0.2, "risk_difference": 0.10, "standardised_mean_difference": 0.3,
}
#: Power at which the minimal detectable effect is computed.
POWER = 0.8
VERDICTS: tuple[str, ...] = ("improved", "got worse", "increased", "decreased", "changed",
                             "no change", "inconclusive")
#: verdicts that say the item changed
CHANGED: tuple[str, ...] = VERDICTS[:5]
NO_METHOD = "no equivalence test for this kind of test"
NOT_TESTED = "not tested"
LEFT_OUT = "cannot reach significance (left out of its family)"
NO_SE = "no variation to test equivalence with"

#: verdict kind of each test (None: no equivalence test)
_KIND: dict[str, str] = {
    "wilcoxon_signed_rank": "signed_rank", "mcnemar": "paired_rd", "mann_whitney": "newcombe",
    "chi_square": "two_prop", "fisher_exact": "two_prop", "chi_square_or_fisher": "two_prop",
    "partially_overlapping_z": "wald_rd", "partially_overlapping_t": "wald_smd",
    "paired_t": "wald_smd", "welch_t": "wald_smd",
}
_MEASURE_OF: dict[str, str] = {
    "signed_rank": "rank_biserial", "newcombe": "rank_biserial", "paired_rd": "risk_difference",
    "two_prop": "risk_difference", "wald_rd": "risk_difference",
    "wald_smd": "standardised_mean_difference",
}


def kind_of(test: str | None, measurement: str | None) -> str | None:
    """The verdict method of a test on an item of this measurement level (None: none)."""
    if test is None:
        return None
    kind = _KIND.get(test)
    if kind in ("two_prop", "paired_rd", "wald_rd") and measurement != "binary":
        return None
    return kind


def check_margins(equivalence: Mapping[str, Any] | None, items: Sequence[str],
                  where: str = "equivalence") -> dict[str, dict[str, float]]:
    """Each item's smallest important change per measure: the defaults, the measure keys
    of ``equivalence`` (``{"rank_biserial": 0.15}``), then its item keys
    (``{"overall_rating": {"rank_biserial": 0.1}}``); every problem at once."""
    problems: list[str] = []
    base = dict(DEFAULT_MARGINS)
    per_item: dict[str, dict[str, float]] = {}

    def value(key: str, v: Any) -> float | None:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1 \
            and math.isfinite(v)
        if not ok:
            problems.append(f"{where}: {key} = {v!r}; expected a number between 0 and 1 "
                            "(exclusive)")
            return None
        return float(v)

    if equivalence is not None and not isinstance(equivalence, Mapping):
        raise CrisisSurveyError(f"{where} must map measures or items to margins; got "
                                f"{equivalence!r}")
    for key, v in (equivalence or {}).items():
        if key in MEASURES:
            got = value(str(key), v)
            if got is not None:
                base[key] = got
        elif key in items:
            if not isinstance(v, Mapping):
                problems.append(f"{where}: {key} = {v!r}; expected a table of measure -> "
                                f"margin ({', '.join(MEASURES)})")
                continue
            for m, mv in v.items():
                if m not in MEASURES:
                    problems.append(f"{where}: {key}.{m} is not a measure; expected one of "
                                    f"{', '.join(MEASURES)}")
                    continue
                got = value(f"{key}.{m}", mv)
                if got is not None:
                    per_item.setdefault(str(key), {})[str(m)] = got
        else:
            problems.append(f"{where}: {key!r} is neither a measure ({', '.join(MEASURES)}) "
                            "nor a compared item")
    if problems:
        raise CrisisSurveyError(
            f"{where} is not valid:\n" + "\n".join(f"  - {p}" for p in problems))
    return {it: {**base, **per_item.get(it, {})} for it in items}


@dataclass(frozen=True)
class CellData:
    """What one item's cells of one design hand to the verdicts (first axis: cells)."""

    kind: str | None
    tables: FloatArray  # (cells, k, k) pairs, or (cells, 6) moments, or (cells, 0)
    w1: FloatArray  # independent/overlapping samples (counts, or n/mean/ssd)
    w2: FloatArray
    s1: FloatArray  # what each wave's summary describes
    s2: FloatArray
    scores: FloatArray
    categorical: bool

    def take(self, rows: slice) -> CellData:
        return CellData(self.kind, self.tables[rows], self.w1[rows], self.w2[rows],
                        self.s1[rows], self.s2[rows], self.scores, self.categorical)


@dataclass(frozen=True)
class _Result:
    theta: FloatArray
    p_tost: FloatArray
    mde: FloatArray


# -- the methods ------------------------------------------------------------------------------
def _z_tost(est: FloatArray, se: FloatArray, margin: float | FloatArray, df: Any = None
            ) -> FloatArray:
    """Two one-sided Wald tests of ``|θ| >= margin``: the larger one-sided p-value (t with
    ``df`` where finite, else normal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = (est + margin) / se, (est - margin) / se
        if df is None:
            p1, p2 = ndtr(-lo), ndtr(hi)
        else:
            d = np.asarray(df, dtype=np.float64)
            t1, t2 = sps.t.sf(lo, np.where(np.isfinite(d), d, 1.0)), sps.t.cdf(
                hi, np.where(np.isfinite(d), d, 1.0))
            p1 = np.where(np.isfinite(d), t1, ndtr(-lo))
            p2 = np.where(np.isfinite(d), t2, ndtr(hi))
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    return np.where(ok, np.maximum(p1, p2), np.nan)


def _nct_sf(t: FloatArray, df: FloatArray, ncp: FloatArray) -> FloatArray:
    """``P(T' > t)``, T' noncentral t: scipy where it is reliable, else the quadrature of
    :func:`crisis_survey.stats._parametric.nct_cdf` (large t or non-centrality)."""
    with np.errstate(all="ignore"):
        out = np.asarray(1.0 - nctdtr(df, ncp, t), dtype=np.float64)
    bad = ~np.isfinite(out) | (np.abs(t) > _NCT_DIRECT_T) | (np.abs(ncp) > _NCT_DIRECT_NCP)
    for i in np.flatnonzero(bad).tolist():
        out[i] = 1.0 - nct_cdf(float(t[i]), float(df[i]), float(ncp[i]))
    return out


def _t_ncp(level: float, df: float) -> float:
    """The root of ``P(T'(df, ncp) > t_{1-L/2, df}) = POWER`` (Brent's method)."""
    crit = float(sps.t.ppf(1.0 - level / 2.0, df))
    one = np.ones(1)

    def gap(ncp: float) -> float:
        return float(_nct_sf(crit * one, df * one, ncp * one)[0]) - POWER

    # the central-t sum t_{1-L/2} + t_{0.8} falls short of the root (by 0.3% at 80 pairs,
    # 4% at 8 at L = .05/17): a bracket from it to a little above
    lo = crit + float(sps.t.ppf(POWER, df))
    if gap(lo) >= 0:
        lo = 0.0
    hi = 1.05 * lo + 0.5
    while gap(hi) < 0:  # heavy tails at small df: widen
        hi *= 2.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-13, rtol=1e-15))


def _detectable_ncp(level: FloatArray, df: Any = None) -> FloatArray:
    """The non-centrality at which a two-sided test at ``level`` has :data:`POWER`, ignoring
    the far tail (R's ``power.t.test``, ``strict = FALSE``): ``z_{1-L/2} + z_{0.8}`` for a
    z test; for a t test on ``df`` degrees of freedom the root of
    ``P(T'(df, ncp) > t_{1-L/2, df}) = 0.8`` (noncentral t)."""
    z = ndtri(1.0 - level / 2.0) + ndtri(POWER)
    if df is None:
        return np.asarray(z, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df, dtype=np.float64), level.shape)
    fin = np.isfinite(d) & (d > 0) & np.isfinite(level) & (level > 0) & (level < 1)
    out = np.where(np.isfinite(d), np.nan, z)
    if fin.any():
        # cells of one family share the level, and paired cells of one size the df
        pairs, inv = np.unique(np.stack([level[fin], d[fin]], axis=1), axis=0,
                               return_inverse=True)
        out[fin] = _t_ncp_batch(pairs[:, 0], pairs[:, 1])[inv.reshape(-1)]
    return np.asarray(out, dtype=np.float64)


def _t_ncp_batch(level: FloatArray, df: FloatArray) -> FloatArray:
    """:func:`_t_ncp` (the plain reference, one cell at a time) for arrays of levels and
    degrees of freedom (finite, positive; levels in (0, 1)), all at once: the same bracket
    (widened by doubling where it falls short), then the Illinois variant of regula falsi
    (Dowell & Jarratt 1971) on every cell together until the bracket is narrower than
    brentq's tolerance; ``tests/test_verdicts.py`` compares the two (1e-9)."""
    level = np.asarray(level, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    crit = stdtrit(df, 1.0 - level / 2.0)

    def gap(ncp: FloatArray, rows: IntArray) -> FloatArray:
        return _nct_sf(crit[rows], df[rows], ncp) - POWER

    every = np.arange(level.size)
    a = crit + stdtrit(df, POWER)
    fa = gap(a, every)
    over = fa >= 0
    if over.any():
        a[over] = 0.0
        fa[over] = gap(a[over], every[over])
    b = 1.05 * a + 0.5
    fb = gap(b, every)
    for _ in range(1100):  # heavy tails at small df: widen
        short = np.flatnonzero(fb < 0)
        if short.size == 0:
            break
        b[short] *= 2.0
        fb[short] = gap(b[short], short)
    x = np.where(fb == 0, b, a)
    side = np.zeros(level.size, dtype=np.int8)  # which end moved last: -1 a, +1 b
    active = np.flatnonzero((fa != 0) & (fb != 0))
    for _ in range(300):
        if active.size == 0:
            break
        aa, bb, ga, gb = a[active], b[active], fa[active], fb[active]
        with np.errstate(invalid="ignore", divide="ignore"):
            c = bb - gb * (bb - aa) / (gb - ga)
        c = np.where(np.isfinite(c) & (c > aa) & (c < bb), c, 0.5 * (aa + bb))
        gc = gap(c, active)
        x[active] = c
        right = gc > 0  # the root lies left of c: c becomes b
        left = gc < 0
        last = side[active]
        # Illinois: an end kept twice in a row has its value halved
        fa[active] = np.where(right & (last == 1), 0.5 * ga, np.where(left, gc, ga))
        fb[active] = np.where(left & (last == -1), 0.5 * gb, np.where(right, gc, gb))
        a[active] = np.where(left, c, aa)
        b[active] = np.where(right, c, bb)
        side[active] = np.where(right, 1, np.where(left, -1, 0)).astype(np.int8)
        width = b[active] - a[active]
        done = (gc == 0) | (width <= 1e-13 + 1e-15 * np.abs(c))
        active = active[~done]
    return np.asarray(x, dtype=np.float64)


def signed_rank(c: CellData, margin: float | FloatArray, level: FloatArray) -> _Result:
    """Matched-pairs rank-biserial of ``y - x`` (wave 2 minus wave 1) on the tilted family."""
    t = np.rint(c.tables).astype(np.int64)
    k = t.shape[1]
    # y - x = +d: column (wave 2) d levels above the row (wave 1)
    up = np.stack([np.trace(t, offset=d, axis1=1, axis2=2) for d in range(1, k)], axis=1)
    down = np.stack([np.trace(t, offset=-d, axis1=1, axis2=2) for d in range(1, k)], axis=1)
    mult = up + down
    r2 = _doubled_midranks_rows(mult)
    v2 = (up * r2).sum(axis=1)
    total = (mult * r2).sum(axis=1)
    n_changed = mult.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(total > 0, (2.0 * v2 - total) / total, np.nan)
    p = np.full(len(t), np.nan)
    delta = np.broadcast_to(np.asarray(margin, dtype=np.float64), (len(t),))
    exact = (n_changed > 0) & (n_changed < AUTO_EXACT_BELOW)
    big = n_changed >= AUTO_EXACT_BELOW
    if exact.any():
        pmf, _ = signed_rank_pmfs(r2[exact], mult[exact])
        p[exact] = rci.signed_rank_tost(pmf, r2[exact], mult[exact], v2[exact], delta[exact])
    if big.any():
        p[big] = rci.signed_rank_tost(None, r2[big], mult[big], v2[big], delta[big])
    se0 = rci.signed_rank_null_se(r2, mult)
    return _Result(theta, p, rci.mde_rank_biserial(se0, level, POWER))


def paired_rd(c: CellData, margin: float | FloatArray, level: FloatArray) -> _Result:
    """Paired risk difference ``(c - b) / n`` of a binary item (McNemar's discordant pairs:
    ``b`` moved from the reported level, ``c`` to it)."""
    t = np.rint(c.tables).astype(np.float64).reshape(-1, 4)
    b, cc, n = t[:, 2], t[:, 1], t.sum(axis=1)
    d = b + cc
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(n > 0, (cc - b) / n, np.nan)
        se = np.sqrt(np.maximum(d - (cc - b) ** 2 / n, 0.0)) / n
        mde = (d / n) * rci.mde_rank_biserial(1.0 / np.sqrt(d), level, POWER)
    return _Result(est, _z_tost(est, se, margin), np.where(d > 0, mde, np.nan))


def newcombe(c: CellData, margin: float | FloatArray, level: FloatArray) -> _Result:
    """Rank-biserial r of wave 2 against wave 1, two independent samples."""
    x, y = np.rint(c.w1).astype(np.float64), np.rint(c.w2).astype(np.float64)
    n1, n2 = x.sum(axis=1), y.sum(axis=1)
    below = np.cumsum(x, axis=1) - x  # wave-1 answers below each level
    above = n1[:, None] - below - x
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = ((y * below).sum(axis=1) - (y * above).sum(axis=1)) / (n1 * n2)
        big_n = n1 + n2
        ties = ((x + y) ** 3 - (x + y)).sum(axis=1)
        var_u = n1 * n2 / 12.0 * ((big_n + 1.0) - ties / (big_n * (big_n - 1.0)))
        se0 = 2.0 * np.sqrt(var_u) / (n1 * n2)
    theta = np.where((n1 > 0) & (n2 > 0), theta, np.nan)
    return _Result(theta, rci.newcombe_tost(theta, n1, n2, margin),
                   rci.mde_rank_biserial(se0, level, POWER))


def two_prop(c: CellData, margin: float | FloatArray, level: FloatArray) -> _Result:
    """Risk difference ``p2 - p1`` of a binary item, two independent samples."""
    x, y = np.asarray(c.w1, dtype=np.float64), np.asarray(c.w2, dtype=np.float64)
    n1, n2 = x.sum(axis=1), y.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = x[:, 1] / n1, y[:, 1] / n2
        est = p2 - p1
        se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        h = (ndtri(1.0 - level / 2.0) + ndtri(POWER)) * np.sqrt(1.0 / n1 + 1.0 / n2)
        pbar = (x[:, 1] + y[:, 1]) / (n1 + n2)
        phi = np.arcsin(np.sqrt(pbar))
        # h is a difference of 2 asin(sqrt(p)): +/- h/4 around the pooled proportion's angle
        lo = np.clip(phi - h / 4.0, 0.0, np.pi / 2.0)
        hi = np.clip(phi + h / 4.0, 0.0, np.pi / 2.0)
        mde = np.where(h < np.pi, np.sin(hi) ** 2 - np.sin(lo) ** 2, np.nan)
    return _Result(est, _z_tost(est, se, margin), mde)


def _sd(c: CellData) -> FloatArray:
    """Square root of the average of the two waves' variances (the SMD's denominator)."""
    def var(s: FloatArray) -> FloatArray:
        if c.categorical:
            n = s.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (s @ c.scores) / n
                ssd = (s * (c.scores[None, :] - mean[:, None]) ** 2).sum(axis=1)
        else:
            n, ssd = s[:, 0], s[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(n > 1, ssd / (n - 1), np.nan), dtype=np.float64)
    return np.asarray(np.sqrt((var(c.s1) + var(c.s2)) / 2.0), dtype=np.float64)


def wald(c: CellData, margin: float | FloatArray, level: FloatArray, est: FloatArray,
         stat: FloatArray, df: FloatArray) -> _Result:
    """A test whose statistic is its estimate over its SE: ``SE = |estimate / statistic|``;
    standardised by the pooled SD for the t tests (``wald_smd``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.abs(est / stat)
    use_t = c.kind == "wald_smd"
    scale = _sd(c) if use_t else np.ones(len(est))
    dfs = df if use_t else None
    with np.errstate(invalid="ignore", divide="ignore"):
        p = _z_tost(est / scale, se / scale, margin, dfs)
        mde = _detectable_ncp(level, dfs) * se / scale
        theta = est / scale
    return _Result(theta, p, mde)


def evaluate(c: CellData, margin: float | FloatArray, level: FloatArray, effect: FloatArray,
             statistic: FloatArray, df: FloatArray, est1: FloatArray, est2: FloatArray
             ) -> _Result:
    """The verdict measure, TOST p-value and MDE of every cell of one kind and shape (the
    items of one measurement level in one design; ``margin`` per cell or one for all)."""
    if c.kind == "signed_rank":
        return signed_rank(c, margin, level)
    if c.kind == "paired_rd":
        return paired_rd(c, margin, level)
    if c.kind == "newcombe":
        return newcombe(c, margin, level)
    if c.kind == "two_prop":
        return two_prop(c, margin, level)
    if c.kind in ("wald_rd", "wald_smd"):
        # the t tests of numeric items report a standardised effect: take the difference
        # of the wave means instead (the partially overlapping tests report it as effect)
        numeric = not c.categorical
        est = (est2 - est1) if numeric and c.kind == "wald_smd" else effect
        return wald(c, margin, level, est, statistic, df)
    nan = np.full(len(level), np.nan)
    return _Result(nan, nan.copy(), nan.copy())


# -- the columns ------------------------------------------------------------------------------
def _stacked(cells: Sequence[CellData]) -> CellData:
    """The cells of several blocks of one kind and shape as one (first axis: cells)."""
    if len(cells) == 1:
        return cells[0]
    first = cells[0]

    def cat(name: str) -> FloatArray:
        return np.concatenate([getattr(cd, name) for cd in cells])

    return CellData(first.kind, cat("tables"), cat("w1"), cat("w2"), cat("s1"), cat("s2"),
                    first.scores, first.categorical)


def family_level(p: FloatArray, families: npt.NDArray[np.int64], alpha: float, adjust: str
                 ) -> FloatArray:
    """The level a cell must reach to be significant when nothing else in its family is:
    ``alpha / m`` (Bonferroni, and the first step of Holm, Hochberg and BH), ``alpha /
    (m H_m)`` (BY), ``alpha`` (none); ``m`` = the family's tested cells."""
    present = np.isfinite(p)
    _, inv = np.unique(families, return_inverse=True)
    inv = inv.reshape(-1)
    m = np.bincount(inv, weights=present.astype(float))[inv]
    m = np.maximum(m, 1.0)
    if adjust == "none":
        return np.full(len(p), float(alpha))
    if adjust == "by":
        harmonic = np.array([np.sum(1.0 / np.arange(1, int(k) + 1)) for k in m])
        return np.asarray(alpha / (m * harmonic), dtype=np.float64)
    return np.asarray(alpha / m, dtype=np.float64)


def verdict_columns(
    blocks: Sequence[Mapping[str, Any]], table: Any, families: npt.NDArray[np.int64],
    leave_out: npt.NDArray[np.bool_] | None, margins: Mapping[str, Mapping[str, float]],
    polarity: Mapping[str, str | None], alpha: float, adjust: str,
) -> dict[str, Any]:
    """The verdict columns of the whole table (rows in block order)."""
    p = table["p_value"].to_numpy(dtype=float)
    out_ = np.zeros(len(p), dtype=bool) if leave_out is None else leave_out
    in_family = np.where(out_, np.nan, p)
    level = family_level(in_family, families, alpha, adjust)
    n = len(p)
    theta, p_tost, mde, margin = (np.full(n, np.nan) for _ in range(4))
    measure = np.full(n, None, dtype=object)
    effect = table["effect_size"].to_numpy(dtype=float)
    stat = table["statistic"].to_numpy(dtype=float)
    df = table["df"].to_numpy(dtype=float)
    e1 = table["estimate_wave1"].to_numpy(dtype=float)
    e2 = table["estimate_wave2"].to_numpy(dtype=float)
    # the blocks of one kind and shape (items of one measurement and design) in one call
    stacks: dict[tuple[Any, ...], list[tuple[slice, CellData, float]]] = {}
    start = 0
    for b in blocks:
        rows = slice(start, start + len(b["group"]))
        start = rows.stop
        c: CellData = b["_verdict"]
        if c.kind is None:
            continue
        key = _MEASURE_OF[c.kind]
        stack = (c.kind, c.categorical, c.tables.shape[1:], c.w1.shape[1:], c.w2.shape[1:],
                 c.s1.shape[1:], c.s2.shape[1:], c.scores.tobytes())
        stacks.setdefault(stack, []).append((rows, c, margins[str(b["item"])][key]))
    for parts in stacks.values():
        at = np.concatenate([np.arange(r.start, r.stop) for r, _, _ in parts])
        c = _stacked([cd for _, cd, _ in parts])
        delta = np.concatenate([np.full(r.stop - r.start, d) for r, _, d in parts])
        res = evaluate(c, delta, level[at], effect[at], stat[at], df[at], e1[at], e2[at])
        tested = np.isfinite(p[at])
        theta[at] = np.where(tested, res.theta, np.nan)
        p_tost[at] = np.where(tested, res.p_tost, np.nan)
        mde[at] = res.mde
        margin[at] = delta
        measure[at] = MEASURES[_MEASURE_OF[str(c.kind)]]
    p_tost = np.where(np.isfinite(p_tost), np.clip(p_tost, 0.0, 1.0), np.nan)
    tost_family = np.where(out_, np.nan, p_tost)
    p_tost_adj = (tost_family if adjust == "none"
                  else _adjust_grouped(tost_family, families, adjust))
    p_adj = table["p_adjusted"].to_numpy(dtype=float)
    items = table["item"].to_numpy(dtype=object)
    verdict = np.full(n, "inconclusive", dtype=object)
    reason = np.full(n, None, dtype=object)
    sig = np.isfinite(p_adj) & (p_adj < alpha)
    for i in np.flatnonzero(sig).tolist():
        verdict[i] = _direction(theta[i], polarity.get(str(items[i])))
    equivalent = ~sig & np.isfinite(p_tost_adj) & (p_tost_adj < alpha)
    verdict[equivalent] = "no change"
    rest = ~sig & ~equivalent
    reason[rest & ~np.isfinite(p)] = NOT_TESTED
    reason[rest & np.isfinite(p) & out_] = LEFT_OUT
    no_method = np.array([m is None for m in measure])
    reason[rest & np.isfinite(p) & ~out_ & no_method] = NO_METHOD
    reason[rest & np.isfinite(p) & ~out_ & ~no_method & ~np.isfinite(p_tost)] = NO_SE
    return {"verdict": verdict, "verdict_measure": measure, "verdict_estimate": theta,
            "equivalence_margin": margin, "p_equivalence": p_tost,
            "p_equivalence_adjusted": p_tost_adj, "mde": mde, "verdict_reason": reason}


def _direction(theta: float, polarity: str | None) -> str:
    if not math.isfinite(theta) or theta == 0:
        return "changed"
    up = theta > 0
    if polarity == "higher_is_better":
        return "improved" if up else "got worse"
    if polarity == "lower_is_better":
        return "got worse" if up else "improved"
    return "increased" if up else "decreased"
