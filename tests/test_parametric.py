"""Tests of crisis_survey.stats.paired_t and welch_t.

Reference values: tests/fixtures/parametric.json, made by tests/fixtures/r/parametric.R
(R 4.2.2, stats::t.test, effectsize 0.8.3 cohens_d / hedges_g).  Published values: R's sleep
data (Student 1908) as printed in shared/reference/published-examples.md, example 5.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from crisis_survey import CrisisSurveyError
from crisis_survey.stats import TestResult, paired_t, welch_t

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "parametric.json").read_text(encoding="utf-8")
)
RTOL = 1e-6  # agreement with R (values are stored with 15 significant digits)
# effectsize finds its noncentral-t limits with optim(); they differ from the exactly solved
# limits by up to 6e-5 relative in this fixture (see the R script), so they get this tolerance.
RTOL_OPTIM = 2e-4

ALTS = {"two.sided": "two-sided", "less": "less", "greater": "greater"}
#: R's t.test(x, y) reads x - y (wave 1 - wave 2), ours y - x: R's alternative about x - y is
#: ours the other way round, and its t, estimate, effect and intervals are ours negated (the
#: bounds swapped). docs/methods/reproducing-r-and-spss.md says so.
FLIP = {"two-sided": "two-sided", "less": "greater", "greater": "less"}


def _as_r(estimate: float | None, low: float | None, high: float | None
          ) -> tuple[float, float, float]:
    """An estimate and its interval as R reports them (wave 1 relative to wave 2)."""
    assert estimate is not None and low is not None and high is not None
    return -estimate, -high, -low


def _num(v: Any) -> float:
    """JSON number or R's "NA" / "Inf" / "-Inf" strings."""
    if isinstance(v, str):
        return math.nan if v == "NA" else float(v)
    return float(v)


def _vec(v: Any) -> np.ndarray:
    return np.array([_num(u) for u in v], dtype=float)


def _close(actual: float | None, expected: Any, rtol: float = RTOL) -> None:
    exp = _num(expected)
    assert actual is not None
    if math.isinf(exp):
        assert actual == exp
    else:
        assert actual == pytest.approx(exp, rel=rtol, abs=1e-12)


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    ds = FIXTURE["datasets"][name]
    return _vec(ds["x"]), _vec(ds["y"])


def test_fixture_records_r_versions() -> None:
    assert FIXTURE["script"] == "tests/fixtures/r/parametric.R"
    assert FIXTURE["r_version"].startswith("R version 4.2.2")
    assert FIXTURE["packages"]["effectsize"] == "0.8.3"
    assert len(FIXTURE["paired_cases"]) >= 20
    assert len(FIXTURE["welch_cases"]) >= 30


# -- paired t against R ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    FIXTURE["paired_cases"],
    ids=[f"{c['dataset']}-{c['alternative']}-{c['confidence']}" for c in FIXTURE["paired_cases"]],
)
def test_paired_t_matches_r(case: dict[str, Any]) -> None:
    # Expected: t.test(x, y, paired = TRUE, alternative, conf.level) and
    # effectsize::cohens_d / hedges_g(x, y, paired = TRUE, ci, alternative) in parametric.R.
    x, y = _data(case["dataset"])
    alt, conf = ALTS[case["alternative"]], case["confidence"]
    res = paired_t(x, y, alternative=FLIP[alt], confidence=conf)
    _close(-res.statistic, case["statistic"])
    _close(res.df, case["df"])
    _close(res.p_value, case["p_value"])
    est, low, high = _as_r(res.estimate, res.details["mean_diff_ci_low"],
                           res.details["mean_diff_ci_high"])
    _close(est, case["estimate"])
    _close(low, case["conf_int"][0])
    _close(high, case["conf_int"][1])
    _close(res.details["se"], case["stderr"])
    assert res.n == case["n"]
    # Cohen's d_z: exact noncentral-t limits (uniroot) to 1e-6, effectsize's optim ones looser.
    for actual, exact, optim in zip(
        _as_r(res.effect_size, res.ci_low, res.ci_high), case["d_exact"], case["cohens_d"],
        strict=True
    ):
        _close(actual, exact)
        _close(actual, optim, RTOL_OPTIM)
    assert res.effect_measure == "Cohen's d_z"
    g = paired_t(x, y, alternative=FLIP[alt], confidence=conf, effect="g_z")
    for actual, exact, optim in zip(
        _as_r(g.effect_size, g.ci_low, g.ci_high), case["g_exact"], case["hedges_g"],
        strict=True
    ):
        _close(actual, exact)
        _close(actual, optim, RTOL_OPTIM)
    assert g.effect_measure == "Hedges' g_z"
    assert g.statistic == res.statistic


# -- Welch t against R -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    FIXTURE["welch_cases"],
    ids=[f"{c['dataset']}-{c['alternative']}-{c['confidence']}" for c in FIXTURE["welch_cases"]],
)
def test_welch_t_matches_r(case: dict[str, Any]) -> None:
    # Expected: t.test(x, y, var.equal = FALSE, alternative, conf.level) and
    # effectsize::hedges_g / cohens_d(x, y, pooled_sd = FALSE / TRUE, ci, alternative).
    x, y = _data(case["dataset"])
    alt, conf = ALTS[case["alternative"]], case["confidence"]
    res = welch_t(x, y, alternative=FLIP[alt], confidence=conf)
    _close(-res.statistic, case["statistic"])
    _close(res.df, case["df"])
    _close(res.p_value, case["p_value"])
    est, low, high = _as_r(res.estimate, res.details["mean_diff_ci_low"],
                           res.details["mean_diff_ci_high"])
    _close(est, case["estimate"])
    _close(low, case["conf_int"][0])
    _close(high, case["conf_int"][1])
    _close(res.details["se"], case["stderr"])
    assert res.n == case["n_x"] + case["n_y"]
    assert res.details["n_x"] == case["n_x"]
    for effect, pooled, key in (
        ("g", False, "g_unpooled"),
        ("g", True, "g_pooled"),
        ("d", False, "d_unpooled"),
        ("d", True, "d_pooled"),
    ):
        r = welch_t(x, y, alternative=FLIP[alt], confidence=conf, effect=effect,
                    pooled_sd=pooled)
        optim_key = {
            "g_unpooled": "hedges_g_unpooled",
            "g_pooled": "hedges_g_pooled",
            "d_unpooled": "cohens_d_unpooled",
            "d_pooled": "cohens_d_pooled",
        }[key]
        for actual, exact, optim in zip(
            _as_r(r.effect_size, r.ci_low, r.ci_high), case[f"{key}_exact"], case[optim_key],
            strict=True
        ):
            _close(actual, exact)
            _close(actual, optim, RTOL_OPTIM)
        # the test itself does not depend on the effect-size convention
        assert r.statistic == res.statistic
        assert r.p_value == res.p_value


# -- published example 5 -----------------------------------------------------------------------
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_sleep_paired_published() -> None:
    # Published example 5 (R's sleep data): t = -4.0621, df = 9, p = 0.002833,
    # mean difference -1.58, 95% CI (-2.4599, -0.7001), as t.test(drug1, drug2) reads it;
    # drug 2 relative to drug 1 (the second sample relative to the first) they change sign.
    res = paired_t(SLEEP_1, SLEEP_2)
    assert res.statistic == pytest.approx(4.0621, abs=5e-5)
    assert res.df == 9
    assert res.p_value == pytest.approx(0.002833, abs=5e-7)
    assert res.estimate == pytest.approx(1.58, abs=1e-12)
    assert res.details["mean_diff_ci_low"] == pytest.approx(0.7001, abs=5e-5)
    assert res.details["mean_diff_ci_high"] == pytest.approx(2.4599, abs=5e-5)


def test_sleep_welch_published() -> None:
    # Published example 5: Welch t = -1.8608 (drug 1 - drug 2), df = 17.776, p = 0.07939.
    res = welch_t(SLEEP_1, SLEEP_2)
    assert res.statistic == pytest.approx(1.8608, abs=5e-5)
    assert res.df == pytest.approx(17.776, abs=5e-4)
    assert res.p_value == pytest.approx(0.07939, abs=5e-6)


# -- inputs ------------------------------------------------------------------------------------
def test_missing_values_drop_incomplete_pairs() -> None:
    # the pairs (nan, 1.9) and (0.0, None) are dropped; the remaining 8 pairs are the sleep data
    x = [math.nan, *SLEEP_1[1:9], 0.0]
    y = [1.9, *SLEEP_2[1:9], None]
    res = paired_t(x, y)
    ref = sps.ttest_rel(SLEEP_2[1:9], SLEEP_1[1:9])  # scipy reads first minus second
    assert res.n == 8
    assert res.details["n_dropped"] == 2
    assert res.statistic == pytest.approx(float(ref.statistic), rel=1e-12)


def test_series_and_ordered_categorical_inputs() -> None:
    levels = ["poor", "fair", "good", "very good"]
    w1 = pd.Series(
        pd.Categorical(["poor", "good", "fair", None, "good", "very good"], levels, True)
    )
    w2 = pd.Series(
        pd.Categorical(["fair", "good", "good", "good", "very good", "good"], levels, True)
    )
    res = paired_t(w1, w2)
    # scored 0..3: changes y - x over complete pairs = 1, 0, 1, 1, -1
    ref = paired_t([0, 0, 0, 0, 0], [1, 0, 1, 1, -1])
    assert res.n == 5
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: paired_t([1, 2, 3], [1, 2]), "same length"),
        (lambda: paired_t([1, None], [2, 3]), "at least 2 complete pairs"),
        (lambda: paired_t([1, 2, 3], [0, 1, 2]), "essentially constant"),
        (lambda: paired_t([1, 2, 3], [3, 1, 2], alternative="two.sided"), "alternative"),
        (lambda: paired_t([1, 2, 3], [3, 1, 2], confidence=95), "confidence"),
        (lambda: paired_t([1, 2, 3], [3, 1, 2], effect="g"), "effect"),
        (lambda: paired_t(["a", "b"], ["c", "d"]), "numbers"),
        (lambda: welch_t([1], [1, 2, 3]), "at least 2 non-missing values in x"),
        (lambda: welch_t([1, 2], [None, 3]), "at least 2 non-missing values in y"),
        (lambda: welch_t([2, 2, 2], [2, 2]), "essentially constant"),
        (lambda: welch_t([1, 2], [3, 4], effect="g_z"), "effect"),
        (lambda: welch_t([1, 2], [3, 4], pooled_sd="yes"), "pooled_sd"),
    ],
)
def test_bad_input_gives_clear_error(call: Any, message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        call()


def test_result_is_the_shared_type_and_tabulates() -> None:
    res = welch_t(SLEEP_1, SLEEP_2)
    assert isinstance(res, TestResult)
    row = res.to_frame()
    assert row.loc[0, "statistic_name"] == "t"
    assert row.loc[0, "detail_mean_diff_ci_low"] == res.details["mean_diff_ci_low"]
    assert "Hedges' g" in str(res)


def test_one_sided_intervals_are_half_open() -> None:
    less = paired_t(SLEEP_1, SLEEP_2, alternative="less")
    greater = paired_t(SLEEP_1, SLEEP_2, alternative="greater")
    assert less.ci_low == -math.inf and less.details["mean_diff_ci_low"] == -math.inf
    assert greater.ci_high == math.inf and greater.details["mean_diff_ci_high"] == math.inf
    assert less.p_value + greater.p_value == pytest.approx(1.0, abs=1e-12)


# -- properties --------------------------------------------------------------------------------
likert = st.integers(min_value=1, max_value=5)
reals = st.floats(min_value=-100, max_value=100, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def paired_samples(draw: st.DrawFn, elements: st.SearchStrategy[float] = likert) -> Any:
    n = draw(st.integers(min_value=2, max_value=40))
    x = np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=float)
    y = np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=float)
    d = x - y
    assume(np.ptp(d) > 1e-6 * max(1.0, float(np.abs(d).max())))
    return x, y


@st.composite
def two_samples(draw: st.DrawFn, elements: st.SearchStrategy[float] = likert) -> Any:
    x = np.array(draw(st.lists(elements, min_size=2, max_size=40)), dtype=float)
    y = np.array(draw(st.lists(elements, min_size=2, max_size=40)), dtype=float)
    assume(np.ptp(x) > 0 or np.ptp(y) > 0)
    return x, y


@settings(max_examples=60, deadline=None)
@given(paired_samples(st.one_of(likert, reals)), st.sampled_from(["d_z", "g_z"]))
def test_paired_swap_flips_sign(data: Any, effect: Any) -> None:
    x, y = data
    a = paired_t(x, y, effect=effect)
    b = paired_t(y, x, effect=effect)
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-9)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)
    assert b.effect_size == pytest.approx(-a.effect_size, rel=1e-9)
    assert b.ci_low == pytest.approx(-a.ci_high, rel=1e-7, abs=1e-9)
    assert 0.0 <= a.p_value <= 1.0
    assert a.ci_low <= a.effect_size <= a.ci_high  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(paired_samples(), st.randoms(use_true_random=False))
def test_paired_permuting_pairs_changes_nothing(data: Any, rnd: Any) -> None:
    x, y = data
    order = list(range(x.size))
    rnd.shuffle(order)
    a, b = paired_t(x, y), paired_t(x[order], y[order])
    assert b.statistic == pytest.approx(a.statistic, rel=1e-9)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)
    assert b.effect_size == pytest.approx(a.effect_size, rel=1e-9)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy, constant x
@settings(max_examples=60, deadline=None)
@given(two_samples(st.one_of(likert, reals)), st.sampled_from(["two-sided", "less", "greater"]))
def test_welch_swap_and_p_range(data: Any, alternative: Any) -> None:
    x, y = data
    a = welch_t(x, y, alternative=alternative)
    b = welch_t(y, x)
    two = welch_t(x, y)
    assert 0.0 <= a.p_value <= 1.0
    assert b.statistic == pytest.approx(-two.statistic, rel=1e-9)
    assert b.df == pytest.approx(two.df, rel=1e-9)
    assert b.p_value == pytest.approx(two.p_value, rel=1e-9, abs=1e-15)
    assert b.effect_size == pytest.approx(-two.effect_size, rel=1e-9)
    # scipy's Welch test as an independent check of statistic and p-value
    ref = sps.ttest_ind(y, x, equal_var=False, alternative=alternative)  # scipy: first - second
    assert a.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    assert a.p_value == pytest.approx(float(ref.pvalue), rel=1e-7, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(two_samples(), st.randoms(use_true_random=False))
def test_welch_permuting_order_changes_nothing(data: Any, rnd: Any) -> None:
    x, y = data
    xs, ys = list(x), list(y)
    rnd.shuffle(xs)
    rnd.shuffle(ys)
    a, b = welch_t(x, y), welch_t(xs, ys)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-9)
    assert b.ci_low == pytest.approx(a.ci_low, rel=1e-7)


def test_noncentral_t_limits_survive_scipy_nan_tail() -> None:
    # x = (1, 2), y = (5, 5): Welch t = -7 on 1 df.  Bracketing the upper limit passes
    # ncp = 8, where scipy's nct.cdf returns NaN.  Expected (R 4.2.2):
    #   effectsize::cohens_d(c(1,2), c(5,5), pooled_sd = FALSE) -> -7 [-15.8491147, 0.4293921]
    #   (optim); uniroot on pt(-7, 1, ncp) = 0.975 / 0.025 -> -15.84911068050433,
    #   0.429393025235547 (h = 1 here, so these are the limits of d). Wave 1 = (5, 5),
    #   wave 2 = (1, 2) reads the same way.
    res = welch_t([5, 5], [1, 2], effect="d")
    assert res.effect_size == pytest.approx(-7.0, rel=1e-12)
    assert res.ci_low == pytest.approx(-15.84911068050433, rel=1e-9)
    assert res.ci_high == pytest.approx(0.429393025235547, rel=1e-9)
    assert res.ci_low == pytest.approx(-15.849114714225600, rel=RTOL_OPTIM)
    # Hedges' J(1) = 0, so g and its limits are 0 (effectsize::hedges_g gives 0 [0, 0]).
    assert welch_t([1, 2], [5, 5]).effect_size == 0.0


# -- the noncentral t cdf behind the effect-size intervals -------------------------------------
@pytest.mark.parametrize("method", ["dispatch", "quadrature"])
def test_noncentral_t_cdf_matches_r(method: str) -> None:
    # Expected: pt(t, df, ncp) on the grid in parametric.R (rows where R reports full precision
    # and 1e-8 < cdf < 1 - 1e-8).  "quadrature" forces the numerical integration used for
    # large |t| or |ncp|, so both code paths are checked against R.
    from crisis_survey.stats._parametric import _nct_cdf_quad, nct_cdf

    f = nct_cdf if method == "dispatch" else _nct_cdf_quad
    grid = FIXTURE["nct_cdf"]
    assert len(grid) > 250
    for row in grid:
        got = f(row["t"], row["df"], row["ncp"])
        tail = min(row["cdf"], 1.0 - row["cdf"])
        # relative to the nearer tail, plus 1e-11 for R's 15 printed digits near 0 and 1
        assert abs(got - row["cdf"]) <= 1e-6 * tail + 1e-11, row


def test_effect_interval_for_huge_t_scales_and_matches_normal_theory() -> None:
    # Far beyond scipy's (and R's) reliable noncentral-t range.  Two checks with known answers:
    # (1) shrinking the spread of the differences by 1e3 multiplies t and d_z by 1e3, and the
    # ncp limits are t * sqrt(chi2 quantile / df) + O(1) when |t| is huge, so the limits
    # scale by 1e3 too, up to O(1/t) (t = 22360 and 2.2e7 here);
    x = [1.0, 2, 3, 4, 5, 6]
    base = paired_t([v - 10 + 1e-3 * (-1) ** i for i, v in enumerate(x)], x)
    small = paired_t([v - 10 + 1e-6 * (-1) ** i for i, v in enumerate(x)], x)
    ratio = small.effect_size / base.effect_size
    assert ratio == pytest.approx(1e3, rel=1e-6)
    assert small.ci_low / base.ci_low == pytest.approx(ratio, rel=1e-3)
    assert small.ci_high / base.ci_high == pytest.approx(ratio, rel=1e-3)
    # and the ratio limit / estimate is sqrt(chi2_{df}(q) / df) to O(1/t):
    assert small.ci_low / small.effect_size == pytest.approx(
        math.sqrt(sps.chi2.ppf(0.025, 5) / 5), rel=1e-5
    )
    assert base.ci_low < base.effect_size < base.ci_high
    # (2) with n = 300 pairs the interval is close to the large-sample normal interval
    # d +- 1.96 sqrt(1/n + d^2 / (2 (n - 1))) (Hedges & Olkin 1985, ch. 5).
    xs = np.arange(300.0)
    res = paired_t(xs + 50 + 0.01 * (np.arange(300) % 3), xs)
    d = res.effect_size
    half = 1.959964 * math.sqrt(1 / 300 + d * d / (2 * 299))
    assert res.ci_low == pytest.approx(d - half, rel=2e-3)
    assert res.ci_high == pytest.approx(d + half, rel=2e-3)


def test_vectorised_p_values_and_intervals_are_the_same_bits() -> None:
    """p_values / intervals (special.stdtr, ndtr, stdtrit, ndtri) against the scalar
    p_value / interval (scipy's t and norm distributions)."""
    from crisis_survey.stats._parametric import interval, intervals, p_value, p_values

    rng = np.random.default_rng(0)
    x, df, se = rng.normal(0, 3, 200), rng.uniform(0.5, 400, 200), rng.uniform(0.01, 3, 200)
    for alt in ("two-sided", "less", "greater"):
        for d in (None, df):
            got = p_values(x, alt, d)
            lo, hi = intervals(x, se, alt, 0.9, d)
            for i in range(len(x)):
                dd = None if d is None else float(d[i])
                assert got[i] == p_value(float(x[i]), alt, dd)
                assert (lo[i], hi[i]) == interval(float(x[i]), float(se[i]), alt, 0.9, dd)
