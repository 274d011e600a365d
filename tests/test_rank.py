"""Tests of the rank tests in crisis_survey.stats (_rank.py and _exact.py).

Reference values come from R (tests/fixtures/rank.json, produced by
tests/fixtures/r/rank.R with R 4.2.2, coin 1.4.2, effectsize 0.8.3): stats::wilcox.test,
coin::wilcoxsign_test / coin::wilcox_test (exact and asymptotic), effectsize::rank_biserial.

The fixtures call R with (x, y) = (wave 1, wave 2), so R reads wave 1 relative to wave 2; ours
read wave 2 relative to wave 1 (docs/methods/reproducing-r-and-spss.md). The comparisons use
the documented flip: R's V is the other rank sum (2 E V - V), its W is n_x n_y - W, its z and
r change sign, and its alternative "greater" is our "less".
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey import CrisisSurveyError
from crisis_survey.stats import mann_whitney, wilcoxon_signed_rank
from crisis_survey.stats._exact import (
    MAX_EXACT_OPERATIONS,
    doubled_midranks,
    rank_sum_pmf,
    rank_sum_work,
    signed_rank_pmf,
)
from crisis_survey.stats._rank import _mann_whitney_from_counts, _signed_rank_from_counts

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "rank.json").read_text())
ALT = {"two.sided": "two-sided", "less": "less", "greater": "greater"}
ZERO = {"Wilcoxon": "wilcox", "Pratt": "pratt"}
#: R's alternative about x - y is ours about y - x the other way round
FLIP = {"two-sided": "two-sided", "less": "greater", "greater": "less"}
REL = 1e-6


def _vec(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _close(actual: float, expected: float, rel: float = REL, abs_: float = 1e-12) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


def _same(a: Any, b: Any) -> bool:
    """Two TestResults are equal field by field (NaN equal to NaN)."""
    da, db = a.to_dict(), b.to_dict()
    if da.keys() != db.keys():
        return False
    for key, va in da.items():
        vb = db[key]
        if isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb):
            continue
        if va != vb:
            return False
    return True


def _cases(kind: str) -> list[Any]:
    params = []
    for case in FIXTURE[kind]:
        for i, res in enumerate(case["results"]):
            label = (
                res["source"]
                + "-"
                + res.get("distribution", "exact" if res.get("exact") else "asy")
            )
            params.append(pytest.param(case, res, id=f"{case['id']}-{i}-{label}"))
    return params


def test_fixture_provenance() -> None:
    # the JSON names its script, R version and package versions
    assert FIXTURE["script"] == "tests/fixtures/r/rank.R"
    assert (Path(__file__).parent / "fixtures" / "r" / "rank.R").exists()
    assert FIXTURE["r_version"].startswith("R version")
    assert {"coin", "effectsize"} <= set(FIXTURE["packages"])
    assert len(FIXTURE["signed_rank"]) >= 20 and len(FIXTURE["rank_sum"]) >= 15


# -- against R: signed-rank --------------------------------------------------------------


@pytest.mark.parametrize(("case", "ref"), _cases("signed_rank"))
def test_signed_rank_matches_r(case: dict[str, Any], ref: dict[str, Any]) -> None:
    x, y = _vec(case["x"]), _vec(case["y"])
    alt = FLIP[ALT[ref["alternative"]]]
    if ref["source"] == "wilcox.test":
        # stats::wilcox.test(x, y, paired = TRUE, exact = ..., correct = ...): R's V sums the
        # ranks of x - y > 0, ours those of y - x > 0, the rest of the ranks
        res = wilcoxon_signed_rank(
            x,
            y,
            method="exact" if ref["exact"] else "asymptotic",
            correction=ref["correct"],
            alternative=alt,
        )
        assert res.statistic == 2 * res.details["expectation"] - ref["statistic"]
        assert _close(res.p_value, ref["p_value"])
    elif ref["distribution"] == "exact":
        # coin::wilcoxsign_test(x ~ y, distribution = "exact", zero.method = ...)
        res = wilcoxon_signed_rank(
            x, y, method="exact", zero_method=ZERO[ref["zero_method"]], alternative=alt
        )
        assert _close(res.p_value, ref["p_value"])
        assert _close(res.details["z"], -ref["z"], rel=1e-9)
    else:
        # coin::wilcoxsign_test(x ~ y, distribution = "asymptotic", zero.method = "Pratt"):
        # no continuity correction. coin forms upper tails as 1 - pnorm(|z|), so its tiny
        # p-values carry an absolute error of about 1e-16; hence the absolute floor.
        res = wilcoxon_signed_rank(
            x, y, method="asymptotic", correction=False, zero_method="pratt", alternative=alt
        )
        assert _close(res.details["z"], -ref["z"], rel=1e-9)
        assert _close(res.p_value, ref["p_value"], abs_=1e-15)
    assert res.n == case["n_pairs"]
    assert res.statistic_name == "V"
    assert res.alternative == alt


@pytest.mark.parametrize("case", FIXTURE["signed_rank"], ids=lambda c: c["id"])
def test_matched_pairs_rank_biserial_matches_effectsize(case: dict[str, Any]) -> None:
    x, y = _vec(case["x"]), _vec(case["y"])
    for ref in case["effectsize"]:
        # effectsize::rank_biserial(x - y, ci = ..., alternative = ...): r of wave 1 - wave 2
        res = wilcoxon_signed_rank(
            x, y, alternative=FLIP[ALT[ref["alternative"]]], confidence=ref["ci"],
            method="asymptotic"
        )
        assert _close(res.effect_size, -ref["r"])
        # the interval is no longer effectsize's Fisher-z one (its coverage fails under ties
        # and zeros); it is checked in tests/test_rank_ci.py
    for ref in case["effectsize_xy"]:
        # effectsize::rank_biserial(x, y, paired = TRUE): same r (its CI counts non-zero
        # wave-1 values instead of non-zero differences; documented, not followed)
        res = wilcoxon_signed_rank(x, y, alternative=FLIP[ALT[ref["alternative"]]])
        assert _close(res.effect_size, -ref["r"])


def test_effect_size_ignores_zero_method() -> None:
    case = next(c for c in FIXTURE["signed_rank"] if c["id"] == "many_zeros_n40")
    x, y = _vec(case["x"]), _vec(case["y"])
    ref = case["effectsize"][0]  # rank_biserial(x - y), two-sided 95%: wave 1 - wave 2
    res = wilcoxon_signed_rank(x, y, zero_method="pratt")
    wil = wilcoxon_signed_rank(x, y)
    assert _close(res.effect_size, -ref["r"])
    assert _close(res.ci_low, wil.ci_low) and _close(res.ci_high, wil.ci_high)


def test_published_example_hollander_wolfe() -> None:
    # Published example 4 (shared/reference/published-examples.md): Hollander & Wolfe (1973)
    # p. 29, the example of R's wilcox.test: one-sided V = 40, exact p = 0.01953 (= 10/512).
    # R tests x > y; read as y relative to x the scores fell: V = 45 - 40, "less".
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    res = wilcoxon_signed_rank(x, y, alternative="less")
    assert res.statistic == 5
    assert res.effect_size is not None and res.effect_size < 0
    assert round(res.p_value, 5) == 0.01953
    assert math.isclose(res.p_value, 10 / 512, rel_tol=1e-12)
    assert res.details["exact"] == 1.0
    assert "exact" in res.method


# -- against R: rank-sum -----------------------------------------------------------------


@pytest.mark.parametrize(("case", "ref"), _cases("rank_sum"))
def test_mann_whitney_matches_r(case: dict[str, Any], ref: dict[str, Any]) -> None:
    x, y = _vec(case["x"]), _vec(case["y"])
    alt = FLIP[ALT[ref["alternative"]]]
    if ref["source"] == "wilcox.test":
        # stats::wilcox.test(x, y, exact = ..., correct = ...): R's W is the U of x, ours the
        # U of y (wave 2), n_x n_y - W
        res = mann_whitney(
            x,
            y,
            method="exact" if ref["exact"] else "asymptotic",
            correction=ref["correct"],
            alternative=alt,
        )
        assert res.statistic == case["n_x"] * case["n_y"] - ref["statistic"]
    else:
        # coin::wilcox_test(v ~ g, distribution = "exact"), g = factor(x first, then y)
        res = mann_whitney(x, y, method="exact", alternative=alt)
        assert _close(res.details["z"], -ref["z"], rel=1e-9)
    assert _close(res.p_value, ref["p_value"])
    assert res.n == case["n_x"] + case["n_y"]
    assert (res.details["n_x"], res.details["n_y"]) == (case["n_x"], case["n_y"])
    assert res.statistic_name == "W"


@pytest.mark.parametrize("case", FIXTURE["rank_sum"], ids=lambda c: c["id"])
def test_rank_biserial_matches_effectsize(case: dict[str, Any]) -> None:
    x, y = _vec(case["x"]), _vec(case["y"])
    for ref in case["effectsize"]:
        # effectsize::rank_biserial(x, y, ci = ..., alternative = ...): x relative to y
        res = mann_whitney(
            x, y, alternative=FLIP[ALT[ref["alternative"]]], confidence=ref["ci"],
            method="asymptotic"
        )
        assert _close(res.effect_size, -ref["r"])  # interval: tests/test_rank_ci.py


# -- the exact distributions against brute-force enumeration ---------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=10),
    st.sampled_from(["wilcox", "pratt"]),
    st.sampled_from(["two-sided", "less", "greater"]),
)
def test_exact_signed_rank_equals_enumeration(
    d: list[int], zero_method: Any, alternative: Any
) -> None:
    diffs = np.array(d, dtype=float)
    zeros = int(np.sum(diffs == 0))
    nz = diffs[diffs != 0]
    # ranks of |d| by direct (scipy-free) midrank computation on the observations
    pool = np.abs(diffs) if zero_method == "pratt" else np.abs(nz)
    order = np.sort(pool)
    ranks = np.array([np.mean(np.flatnonzero(order == v) + 1) for v in np.abs(nz)])
    observed = float(np.sum(ranks[nz > 0]))
    centre = ranks.sum() / 2
    stats = [
        float(np.sum(ranks[np.array(s, dtype=bool)]))
        for s in itertools.product([0, 1], repeat=nz.size)
    ]
    stats_arr = np.array(stats)
    if alternative == "less":
        expected = np.mean(stats_arr <= observed + 1e-9)
    elif alternative == "greater":
        expected = np.mean(stats_arr >= observed - 1e-9)
    elif abs(observed - centre) < 1e-9:
        expected = 1.0
    else:
        expected = np.mean(np.abs(stats_arr - centre) >= abs(observed - centre) - 1e-9)
    res = wilcoxon_signed_rank(  # y - x = diffs
        np.zeros_like(diffs),
        diffs,
        method="exact",
        zero_method=zero_method,
        alternative=alternative,
    )
    assert res.statistic == observed
    assert res.details["n_zero"] == zeros
    assert math.isclose(res.p_value, expected, rel_tol=1e-10, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=6),
    st.lists(st.integers(0, 3), min_size=1, max_size=6),
    st.sampled_from(["two-sided", "less", "greater"]),
)
def test_exact_rank_sum_equals_enumeration(x: list[int], y: list[int], alternative: Any) -> None:
    pooled = np.array(x + y, dtype=float)
    order = np.sort(pooled)
    ranks = np.array([np.mean(np.flatnonzero(order == v) + 1) for v in pooled])
    n_x = len(x)
    observed = ranks[:n_x].sum()
    centre = n_x * (len(pooled) + 1) / 2
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(len(pooled)), n_x)])
    if alternative == "less":
        expected = np.mean(sums <= observed + 1e-9)
    elif alternative == "greater":
        expected = np.mean(sums >= observed - 1e-9)
    elif abs(observed - centre) < 1e-9:
        expected = 1.0
    else:
        expected = np.mean(np.abs(sums - centre) >= abs(observed - centre) - 1e-9)
    res = mann_whitney(y, x, method="exact", alternative=alternative)  # W: the U of x here
    assert res.statistic == observed - n_x * (n_x + 1) / 2
    assert math.isclose(res.p_value, expected, rel_tol=1e-10, abs_tol=1e-12)


def test_exact_pmfs_are_distributions() -> None:
    counts = np.array([7, 30, 12, 1, 25], dtype=np.int64)
    pmf = rank_sum_pmf(counts, 20)
    assert math.isclose(pmf.sum(), 1.0, rel_tol=1e-12)
    support = np.arange(pmf.size)
    # mean of the doubled rank sum: 2 * n (N + 1) / 2
    assert math.isclose(float(np.dot(support, pmf)), 20 * (counts.sum() + 1), rel_tol=1e-10)
    m = np.array([4, 9, 3], dtype=np.int64)
    s2 = doubled_midranks(m)
    pmf_v = signed_rank_pmf(s2, m)
    assert math.isclose(pmf_v.sum(), 1.0, rel_tol=1e-12)
    assert np.allclose(pmf_v, pmf_v[::-1])  # symmetric about half the total


# -- properties --------------------------------------------------------------------------

likert = st.integers(1, 5)
alternatives = st.sampled_from(["two-sided", "less", "greater"])
methods = st.sampled_from(["exact", "asymptotic"])


@st.composite
def paired_likert(draw: st.DrawFn, min_size: int = 2, max_size: int = 60) -> tuple[Any, Any]:
    n = draw(st.integers(min_size, max_size))
    x = draw(st.lists(likert, min_size=n, max_size=n))
    y = draw(st.lists(likert, min_size=n, max_size=n))
    return np.array(x, dtype=float), np.array(y, dtype=float)


@settings(max_examples=80, deadline=None)
@given(paired_likert(), alternatives, methods, st.sampled_from(["wilcox", "pratt"]))
def test_signed_rank_swap_mirrors(
    xy: tuple[Any, Any], alternative: Any, method: Any, zero_method: Any
) -> None:
    x, y = xy
    kw: dict[str, Any] = {"method": method, "zero_method": zero_method}
    a = wilcoxon_signed_rank(x, y, alternative="two-sided", **kw)
    b = wilcoxon_signed_rank(y, x, alternative="two-sided", **kw)
    # V(y, x) = (sum of the ranks taking part) - V(x, y); E V is half that sum
    assert math.isclose(a.statistic + b.statistic, 2 * a.details["expectation"], abs_tol=1e-9)
    if zero_method == "wilcox":
        n = a.details["n_nonzero"]
        assert math.isclose(a.statistic + b.statistic, n * (n + 1) / 2, abs_tol=1e-9)
    assert math.isclose(a.p_value, b.p_value, rel_tol=1e-9, abs_tol=1e-12)
    if a.details["n_nonzero"] > 0:
        assert a.effect_size == pytest.approx(-b.effect_size, abs=1e-12)
        assert a.ci_low == pytest.approx(-b.ci_high, abs=1e-12)
    # one-sided: "less" for (x, y) is "greater" for (y, x)
    flip = {"less": "greater", "greater": "less", "two-sided": "two-sided"}
    c = wilcoxon_signed_rank(x, y, alternative=alternative, **kw)
    d = wilcoxon_signed_rank(y, x, alternative=flip[alternative], **kw)
    assert math.isclose(c.p_value, d.p_value, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(paired_likert(), alternatives, methods, st.randoms(use_true_random=False))
def test_signed_rank_pair_order_irrelevant(
    xy: tuple[Any, Any], alternative: Any, method: Any, rnd: Any
) -> None:
    x, y = xy
    perm = list(range(x.size))
    rnd.shuffle(perm)
    a = wilcoxon_signed_rank(x, y, alternative=alternative, method=method)
    b = wilcoxon_signed_rank(x[perm], y[perm], alternative=alternative, method=method)
    assert _same(a, b)


@settings(max_examples=80, deadline=None)
@given(paired_likert(min_size=1), alternatives, methods, st.floats(0.5, 0.999))
def test_signed_rank_ranges(
    xy: tuple[Any, Any], alternative: Any, method: Any, confidence: float
) -> None:
    x, y = xy
    res = wilcoxon_signed_rank(x, y, alternative=alternative, method=method, confidence=confidence)
    assert 0.0 <= res.p_value <= 1.0
    if res.details["n_nonzero"] > 0:
        assert res.effect_size is not None and res.ci_low is not None and res.ci_high is not None
        assert -1.0 <= res.ci_low <= res.effect_size <= res.ci_high <= 1.0
    else:
        assert res.p_value == 1.0 and math.isnan(res.effect_size or 0.0)


@st.composite
def two_samples(draw: st.DrawFn, max_size: int = 45) -> tuple[Any, Any]:
    x = draw(st.lists(likert, min_size=1, max_size=max_size))
    y = draw(st.lists(likert, min_size=1, max_size=max_size))
    return np.array(x, dtype=float), np.array(y, dtype=float)


@settings(max_examples=80, deadline=None)
@given(two_samples(), alternatives, methods)
def test_mann_whitney_swap_mirrors(xy: tuple[Any, Any], alternative: Any, method: Any) -> None:
    x, y = xy
    a = mann_whitney(x, y, method=method)
    b = mann_whitney(y, x, method=method)
    assert a.statistic + b.statistic == x.size * y.size  # W -> n_x n_y - W
    assert math.isclose(a.p_value, b.p_value, rel_tol=1e-9, abs_tol=1e-12)
    assert a.effect_size == pytest.approx(-(b.effect_size or 0.0), abs=1e-12)
    flip = {"less": "greater", "greater": "less", "two-sided": "two-sided"}
    c = mann_whitney(x, y, alternative=alternative, method=method)
    d = mann_whitney(y, x, alternative=flip[alternative], method=method)
    assert math.isclose(c.p_value, d.p_value, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=80, deadline=None)
@given(two_samples(), alternatives, methods, st.floats(0.5, 0.999))
def test_mann_whitney_ranges(
    xy: tuple[Any, Any], alternative: Any, method: Any, confidence: float
) -> None:
    x, y = xy
    res = mann_whitney(x, y, alternative=alternative, method=method, confidence=confidence)
    assert 0.0 <= res.p_value <= 1.0
    assert res.effect_size is not None and res.ci_low is not None and res.ci_high is not None
    assert -1.0 <= res.ci_low <= res.effect_size <= res.ci_high <= 1.0
    assert 0.0 <= res.statistic <= x.size * y.size


@settings(max_examples=12, deadline=None)
@given(st.integers(80, 150), st.integers(0, 2**32 - 1), alternatives)
def test_exact_and_asymptotic_agree_at_moderate_n(n: int, seed: int, alternative: Any) -> None:
    # 11-point items (0-10). Paired differences of at most 3 points leave only three distinct
    # |d| values, so the exact distribution is a coarse lattice and the continuity-corrected
    # normal approximation differs from it by up to about one atom (at most 0.022 in 1,500
    # simulated data sets at n = 80-150); two independent samples have 11 levels and agree
    # within 0.0015. The bounds below leave a margin over those worst cases.
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 11, n).astype(float)
    y = np.clip(x + rng.integers(-3, 4, n), 0, 10)
    e = wilcoxon_signed_rank(x, y, method="exact", alternative=alternative)
    a = wilcoxon_signed_rank(x, y, method="asymptotic", alternative=alternative)
    assert abs(e.p_value - a.p_value) < 0.03
    u = rng.integers(0, 11, n).astype(float)
    v = rng.integers(0, 11, n // 2 + 10).astype(float)
    e = mann_whitney(u, v, method="exact", alternative=alternative)
    a = mann_whitney(u, v, method="asymptotic", alternative=alternative)
    assert abs(e.p_value - a.p_value) < 0.005


@settings(max_examples=40, deadline=None)
@given(paired_likert(), alternatives, methods)
def test_rank_tests_invariant_to_increasing_recoding(
    xy: tuple[Any, Any], alternative: Any, method: Any
) -> None:
    # ranks do not change under x -> 0.1 x + 1000 (this also takes the np.unique path for
    # non-integer values instead of np.bincount; results must be identical)
    x, y = xy
    a = wilcoxon_signed_rank(x, y, alternative=alternative, method=method)
    b = wilcoxon_signed_rank(x / 8 + 1000, y / 8 + 1000, alternative=alternative, method=method)
    assert (a.statistic, a.p_value, a.effect_size) == pytest.approx(
        (b.statistic, b.p_value, b.effect_size), rel=1e-12, nan_ok=True
    )
    c = mann_whitney(x, y, alternative=alternative, method=method)
    d = mann_whitney(np.exp(x / 3), np.exp(y / 3), alternative=alternative, method=method)
    assert (c.statistic, c.p_value, c.effect_size) == pytest.approx(
        (d.statistic, d.p_value, d.effect_size), rel=1e-12
    )


# -- the counts helpers ------------------------------------------------------------------


def test_signed_rank_from_counts_equals_data() -> None:
    # differences -2..+3 with zeros: pos/neg counts by |d| = 1, 2, 3
    pos, neg, n_zero = [5, 3, 2], [4, 6, 0], 7
    d = np.repeat([1, 2, 3, -1, -2, 0], [5, 3, 2, 4, 6, 7]).astype(float)
    for zm in ("wilcox", "pratt"):
        for method in ("exact", "asymptotic"):
            from_data = wilcoxon_signed_rank(np.zeros_like(d), d, zero_method=zm, method=method)
            from_counts = _signed_rank_from_counts(pos, neg, n_zero, zero_method=zm, method=method)
            assert from_data == from_counts


def test_mann_whitney_from_counts_equals_data() -> None:
    cx, cy = [3, 0, 8, 5, 2], [1, 4, 6, 9, 0]
    x = np.repeat(np.arange(5), cx).astype(float)
    y = np.repeat(np.arange(5), cy).astype(float)
    for method in ("exact", "asymptotic"):
        assert mann_whitney(x, y, method=method) == _mann_whitney_from_counts(cx, cy, method=method)


# -- inputs, options, edge cases ---------------------------------------------------------


def test_missing_values_drop_pairs_and_observations() -> None:
    x = [1, 2, None, 4, np.nan, 3, pd.NA]
    y = [2, 2, 3, None, 1, 5, 4]
    res = wilcoxon_signed_rank(x, y)
    ref = wilcoxon_signed_rank([1, 2, 3], [2, 2, 5])
    assert res == ref and res.n == 3
    mw = mann_whitney(x, y)
    assert mw == mann_whitney([1, 2, 4, 3], [2, 2, 3, 1, 5, 4])
    assert mw.details["n_x"] == 4 and mw.details["n_y"] == 6


def test_ordered_categoricals_rank_by_level_order() -> None:
    levels = ["very poor", "poor", "fair", "good", "very good"]
    w1 = pd.Series(
        pd.Categorical(["poor", "good", "fair", None, "very good"], levels, ordered=True)
    )
    w2 = pd.Series(
        pd.Categorical(["fair", "fair", "good", "poor", "very good"], levels, ordered=True)
    )
    assert wilcoxon_signed_rank(w1, w2) == wilcoxon_signed_rank([1, 3, 2, None, 4], [2, 2, 3, 1, 4])
    assert mann_whitney(w1, w2) == mann_whitney([1, 3, 2, 4], [2, 2, 3, 1, 4])


def test_large_whole_numbers_take_the_unique_path() -> None:
    # differences of 1e12 with a small spread must not allocate a 1e12-long bincount
    x = np.array([1e12, 1e12 + 3, 1e12 + 1, 5.0, 7.0])
    y = np.array([0.0, 0.0, 0.0, 5.0, 9.0])
    res = wilcoxon_signed_rank(y, x)
    # ranks of |d| = (1e12, 1e12+3, 1e12+1, 2) -> (2, 4, 3, 1); positive x - y: 2 + 4 + 3
    assert res.statistic == 9 and res.details["n_zero"] == 1
    assert mann_whitney(x, y) == mann_whitney([4, 6, 5, 1, 2], [0, 0, 0, 1, 3])


def test_auto_rule() -> None:
    rng = np.random.default_rng(7)
    d49 = rng.choice([-2.0, -1.0, 1.0, 2.0], 49)
    d50 = rng.choice([-2.0, -1.0, 1.0, 2.0], 50)
    zeros = np.zeros(30)  # zero differences do not count towards the rule
    assert wilcoxon_signed_rank(np.r_[d49, zeros], np.zeros(79)).details["exact"] == 1.0
    assert wilcoxon_signed_rank(d50, np.zeros(50)).details["exact"] == 0.0
    small, large = rng.integers(1, 6, 49), rng.integers(1, 6, 50)
    assert mann_whitney(small, small[:30]).details["exact"] == 1.0
    res = mann_whitney(small, large)
    assert res.details["exact"] == 0.0 and "normal approximation" in res.method


def test_asymptotic_without_correction_one_sided_sum_to_one() -> None:
    x, y = [1, 2, 3, 3, 4, 5, 2, 2], [2, 2, 4, 5, 4, 5, 1, 3]
    less = wilcoxon_signed_rank(x, y, method="asymptotic", correction=False, alternative="less")
    greater = wilcoxon_signed_rank(
        x, y, method="asymptotic", correction=False, alternative="greater"
    )
    assert math.isclose(less.p_value + greater.p_value, 1.0, rel_tol=1e-12)


def test_all_zero_differences_and_all_ties() -> None:
    x = [3, 3, 2, 4]
    for method in ("exact", "asymptotic"):
        res = wilcoxon_signed_rank(x, x, method=method)
        assert res.statistic == 0 and res.p_value == 1.0 and res.n == 4
        assert res.effect_size is not None and math.isnan(res.effect_size)
        mw = mann_whitney([2, 2, 2], [2, 2], method=method)
        assert mw.statistic == 3 and mw.p_value == 1.0 and mw.effect_size == 0.0


def test_all_differences_negative_gives_minus_one() -> None:
    # effectsize 0.8.3 returns r = +1 here (its rank transform of a constant vector loses the
    # sign); the matched-pairs rank-biserial is -1 by definition (R+ = 0).
    res = wilcoxon_signed_rank([2, 3, 4, 2], [1, 2, 3, 1])  # every answer lower in wave 2
    assert res.effect_size == -1.0 and res.ci_low == -1.0 and res.ci_high > -1.0
    assert res.statistic == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wilcoxon_signed_rank([], []), "no complete pairs"),
        (lambda: wilcoxon_signed_rank([None, 1], [2, None]), "no complete pairs"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 2, 3]), "same length"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 3], zero_method="zero"), "zero_method"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 3], method="fast"), "method"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 3], alternative="bigger"), "alternative"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 3], confidence=95), "confidence"),
        (lambda: wilcoxon_signed_rank(["a", "b"], [1, 3]), "numbers"),
        (lambda: wilcoxon_signed_rank([1, np.inf], [1, 3]), "infinite"),
        (lambda: mann_whitney([], [1, 2]), "at least one"),
        (lambda: mann_whitney([1, 2], [None]), "at least one"),
        (lambda: mann_whitney([1, 2], [1, 3], confidence=1.0), "confidence"),
        (lambda: mann_whitney([1, 2], [1, 3], method="permutation"), "method"),
    ],
)
def test_bad_input_raises_clear_error(call: Any, message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        call()


def test_exact_beyond_limits_raises() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.integers(1, 6, 400), rng.integers(1, 6, 400)
    with pytest.raises(CrisisSurveyError, match=r"too large.*method=.asymptotic."):
        mann_whitney(x, y, method="exact")
    d = rng.normal(size=2500)
    with pytest.raises(CrisisSurveyError, match="too large"):
        wilcoxon_signed_rank(d, np.zeros_like(d), method="exact")
    # the same data are fine asymptotically, and "auto" never attempts the exact path
    assert mann_whitney(x, y).details["exact"] == 0.0
    # an unbalanced design stays feasible: 40 against 1,000
    assert rank_sum_work(np.array([200, 300, 240, 200, 100]), 40)[1] < MAX_EXACT_OPERATIONS


def test_million_answers_per_wave_asymptotic_from_counts() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    rng = np.random.default_rng(2)
    n = 1_000_000
    x = rng.integers(1, 6, n).astype(float)
    y = np.clip(x + rng.integers(-1, 2, n), 1, 5)
    x[::101] = np.nan
    res = wilcoxon_signed_rank(x, y)
    mw = mann_whitney(x, y)
    assert res.n == n - len(range(0, n, 101))
    assert mw.details["n_y"] == n
    assert res.details["exact"] == 0.0 and mw.details["exact"] == 0.0


@pytest.mark.parametrize("levels", [2, 3, 5])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_exact_rank_sum_p_values_in_one_call_equal_the_distribution(levels: int,
                                                                   alternative: str) -> None:
    """rank_sum_exact_ps (compiled, all comparisons at once, by enumerating allocations)
    against rank_sum_pmf + exact_p_value through the one-comparison function."""
    from crisis_survey.stats._exact import rank_sum_exact_ps
    from crisis_survey.stats._rank import _mann_whitney_from_counts

    rng = np.random.default_rng(levels)
    cx = rng.integers(0, 10, (60, levels)) * (rng.random((60, levels)) < 0.8)
    cy = rng.integers(0, 10, (60, levels)) * (rng.random((60, levels)) < 0.8)
    keep = (cx.sum(axis=1) > 0) & (cy.sum(axis=1) > 0)
    cx, cy = cx[keep], cy[keep]
    got = rank_sum_exact_ps(cx, cy, alternative)  # the rank sum of the first sample
    want = [_mann_whitney_from_counts(b, a, method="exact", alternative=alternative).p_value
            for a, b in zip(cx, cy, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
