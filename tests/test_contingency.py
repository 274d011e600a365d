"""Tests for the contingency-table tests of crisis_survey.stats.

Expected values: tests/fixtures/contingency.json, written by tests/fixtures/r/contingency.R
(R 4.2.2; coin 1.4.2, effectsize 0.8.3). Each test names the R call its numbers come from.
"""

from __future__ import annotations

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
from crisis_survey.stats import (
    chi_square,
    fisher_exact,
    linear_trend,
    marginal_homogeneity,
    mcnemar,
)
from crisis_survey.stats._contingency import (
    _chi_square_from_table,
    _cramers_v,
    _fisher_from_table,
    _marginal_homogeneity_from_table,
    _mcnemar_from_counts,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "contingency.json").read_text())
RTOL = 1e-6


def _num(v: Any) -> float:
    if isinstance(v, list):  # R length-1 vectors written as lists
        (v,) = v
    return float(v)  # the fixture writes infinities as the string "Inf"


def _close(got: float, expected: Any, rtol: float = RTOL, atol: float = 1e-12) -> None:
    exp = _num(expected)
    if math.isinf(exp):
        assert got == exp
    else:
        assert got == pytest.approx(exp, rel=rtol, abs=atol)


def _paired_from_table(
    table: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Respondent-level (x, y) with the given paired table; shuffled."""
    k = table.shape[0]
    rows, cols = np.divmod(np.repeat(np.arange(k * k), table.ravel()), k)
    x, y = rows.astype(float), cols.astype(float)
    if rng is not None:
        perm = rng.permutation(x.size)
        x, y = x[perm], y[perm]
    return x, y


def _samples_from_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wave-1 and wave-2 answers (level codes 0..k-1) with the given 2 x k table."""
    k = table.shape[1]
    return (
        np.repeat(np.arange(k), table[0]).astype(float),
        np.repeat(np.arange(k), table[1]).astype(float),
    )


def test_fixture_names_its_script_and_versions() -> None:
    assert (Path(__file__).parent.parent / FIXTURE["script"]).exists()
    assert FIXTURE["r_version"].startswith("R version 4")
    assert set(FIXTURE["packages"]) >= {"coin", "effectsize"}


# ---------------------------------------------------------------------------------------
# McNemar
# ---------------------------------------------------------------------------------------
MCNEMAR = FIXTURE["mcnemar"]


@pytest.mark.parametrize("case", MCNEMAR, ids=lambda c: "-".join(map(str, c["counts"])))
def test_mcnemar_matches_r(case: dict[str, Any]) -> None:
    n00, n01, n10, n11 = case["counts"]
    x, y = _paired_from_table(np.array([[n00, n01], [n10, n11]]), np.random.default_rng(1))
    # R: mcnemar.test(tab, correct = TRUE / FALSE)
    res = mcnemar(x, y, correction=True)
    _close(res.statistic, case["corrected_statistic"])
    _close(res.p_value, case["corrected_p"])
    assert res.df == 1 and res.n == n00 + n01 + n10 + n11
    res = mcnemar(x, y, correction=False)
    _close(res.statistic, case["uncorrected_statistic"])
    _close(res.p_value, case["uncorrected_p"])
    # R: binom.test(b, b + c)$p.value; mid-p = 2 * (pbinom(m - 1) + dbinom(m) / 2), m = min(b, c)
    exact = mcnemar(x, y, method="exact")
    _close(exact.p_value, case["exact_p"])
    assert exact.statistic == n01
    _close(mcnemar(x, y, method="midp").p_value, case["midp_p"])
    # R: b / c with binom.test(b, b + c)$conf.int transformed by p / (1 - p); b = pairs moving
    # to the positive answer, so the odds ratio reads wave 2 relative to wave 1 as in R
    d = res.details
    _close(d["odds_ratio"], case["odds_ratio"])
    _close(d["odds_ratio_ci_low"], case["or_ci"][0])
    _close(d["odds_ratio_ci_high"], case["or_ci"][1])
    ninety = mcnemar(x, y, confidence=0.90)
    _close(ninety.details["odds_ratio_ci_low"], case["or_ci90"][0])
    _close(ninety.details["odds_ratio_ci_high"], case["or_ci90"][1])
    # R: Newcombe (1998) method 10 written out in contingency.R (newcombe10), p2 - p1: the
    # effect itself
    assert res.effect_measure == "paired risk difference"
    assert (res.effect_size, res.ci_low, res.ci_high) == (
        d["risk_difference"], d["risk_difference_ci_low"], d["risk_difference_ci_high"])
    _close(d["risk_difference"], case["newcombe"][0])
    _close(d["risk_difference_ci_low"], case["newcombe"][1])
    _close(d["risk_difference_ci_high"], case["newcombe"][2])
    _close(ninety.details["risk_difference_ci_low"], case["newcombe90"][1])
    _close(ninety.details["risk_difference_ci_high"], case["newcombe90"][2])


def test_mcnemar_reproduces_agresti_presidential_approval() -> None:
    # Agresti (2007), An Introduction to Categorical Data Analysis, 2nd ed., section 8.1
    # (shared/reference/published-examples.md, example 3): 794 / 150 / 86 / 570.
    x = np.repeat([1, 1, 0, 0], [794, 150, 86, 570])
    y = np.repeat([1, 0, 1, 0], [794, 150, 86, 570])
    res = mcnemar(x, y, correction=False)
    assert res.statistic == pytest.approx(17.36, abs=0.005)
    assert res.details["z"] == pytest.approx(-4.17, abs=0.005)  # Agresti's z = 4.17 (approve fell)
    assert res.p_value == pytest.approx(3.1e-05, abs=0.05e-05)
    assert res.df == 1
    exact = mcnemar(x, y, method="exact")
    assert exact.statistic == 86 and exact.details["n_discordant"] == 236
    assert exact.p_value == pytest.approx(3.7e-05, abs=0.05e-05)


def test_mcnemar_drops_incomplete_pairs_and_accepts_labels() -> None:
    x = pd.Series(["yes", "yes", "no", None, "no", "yes", "no"])
    y = pd.Series(["no", "no", "yes", "yes", None, "no", "no"])
    res = mcnemar(x, y, method="exact")
    # complete pairs: yes->no x3, no->yes x1, no->no x1 ("yes" is the higher level): b = 1, c = 3
    assert res.n == 5
    assert res.details["b"] == 1 and res.details["c"] == 3
    # R: binom.test(1, 4)$p.value = 0.625
    assert res.p_value == pytest.approx(0.625, rel=1e-12)
    cat = pd.Categorical(["no", "no", "yes"], categories=["no", "yes"])
    cat2 = pd.Categorical(["yes", "no", "yes"], categories=["no", "yes"])
    assert mcnemar(cat, cat2).details["b"] == 1


def test_mcnemar_without_discordant_pairs_is_not_defined() -> None:
    # R: mcnemar.test(matrix(c(3, 0, 0, 4), 2)) gives statistic NaN, p NaN
    res = mcnemar([0, 0, 0, 1], [0, 0, 0, 1])
    assert math.isnan(res.statistic) and math.isnan(res.p_value)
    assert "no discordant pairs" in res.method
    assert res.details["risk_difference"] == 0.0


def test_mcnemar_single_level_all_ones() -> None:
    res = mcnemar([1, 1, 1], [1, 1, 1])
    assert res.details["p1"] == 1.0 and res.details["p2"] == 1.0
    assert math.isnan(res.p_value)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([0, 1, 2], [0, 1, 1], "binary item"),
        ([0, 1], [0, 1, 1], "same length"),
        ([None, 1], [0, None], "no complete pairs"),
        ([], [], "no complete pairs"),
    ],
)
def test_mcnemar_bad_input(x: list[Any], y: list[Any], match: str) -> None:
    with pytest.raises(CrisisSurveyError, match=match):
        mcnemar(x, y)


def test_mcnemar_bad_method_and_confidence() -> None:
    with pytest.raises(CrisisSurveyError, match="method"):
        mcnemar([0, 1], [1, 0], method="wald")  # type: ignore[arg-type]
    with pytest.raises(CrisisSurveyError, match="confidence"):
        mcnemar([0, 1], [1, 0], confidence=95)


def test_categoricals_with_different_categories_are_refused() -> None:
    a = pd.Categorical(["no", "yes"], categories=["no", "yes"])
    b = pd.Categorical(["no", "yes"], categories=["yes", "no"])
    with pytest.raises(CrisisSurveyError, match="different categories"):
        mcnemar(a, b)


paired_binary = st.lists(
    st.tuples(st.sampled_from([0, 1, None]), st.sampled_from([0, 1, None])), min_size=1, max_size=60
).filter(lambda pairs: any(a is not None and b is not None for a, b in pairs))


@settings(max_examples=150, deadline=None)
@given(
    pairs=paired_binary, method=st.sampled_from(["asymptotic", "exact", "midp"]), corr=st.booleans()
)
def test_mcnemar_swapping_waves(pairs: list[tuple[Any, Any]], method: str, corr: bool) -> None:
    x = [a for a, _ in pairs]
    y = [b for _, b in pairs]
    fwd = mcnemar(x, y, method=method, correction=corr)  # type: ignore[arg-type]
    back = mcnemar(y, x, method=method, correction=corr)  # type: ignore[arg-type]
    if math.isnan(fwd.p_value):
        assert math.isnan(back.p_value)
        return
    assert 0.0 <= fwd.p_value <= 1.0
    assert back.p_value == pytest.approx(fwd.p_value, rel=1e-12)
    # the signed effects flip: risk difference changes sign, the odds ratio inverts
    d, e = fwd.details, back.details
    assert e["risk_difference"] == pytest.approx(-d["risk_difference"], abs=1e-12)
    assert e["risk_difference_ci_low"] == pytest.approx(-d["risk_difference_ci_high"], abs=1e-12)
    assert d["risk_difference_ci_low"] <= d["risk_difference"] <= d["risk_difference_ci_high"]
    assert fwd.effect_size == d["risk_difference"]
    odds, back_odds = d["odds_ratio"], e["odds_ratio"]
    if 0 < odds < math.inf:
        assert back_odds == pytest.approx(1 / odds, rel=1e-12)
        assert e["odds_ratio_ci_low"] == pytest.approx(1 / d["odds_ratio_ci_high"], rel=1e-9)


def test_mcnemar_from_counts_equals_array_version() -> None:
    x, y = _paired_from_table(np.array([[40, 25], [11, 60]]))
    assert _mcnemar_from_counts(40, 25, 11, 60) == mcnemar(x, y)


# ---------------------------------------------------------------------------------------
# marginal homogeneity
# ---------------------------------------------------------------------------------------
MH = FIXTURE["marginal_homogeneity"]


@pytest.mark.parametrize("case", MH, ids=lambda c: f"{len(c['table'])}x{len(c['table'])}")
def test_marginal_homogeneity_matches_coin(case: dict[str, Any]) -> None:
    table = np.array(case["table"])
    x, y = _paired_from_table(table, np.random.default_rng(2))
    # R: coin::mh_test(as.table(tab)); statistic(.), df, pvalue(.)
    res = marginal_homogeneity(x, y)
    _close(res.statistic, case["statistic"], atol=1e-10)
    assert res.df == case["df"]
    _close(res.p_value, case["p"], atol=1e-12)
    # R: Bhapkar from the sample covariance, n * dbar' ginv(S) dbar (contingency.R, bhapkar)
    bh = marginal_homogeneity(x, y, method="bhapkar")
    _close(bh.statistic, case["bhapkar"], atol=1e-10)
    assert bh.statistic >= res.statistic - 1e-12


def test_marginal_homogeneity_two_levels_is_uncorrected_mcnemar() -> None:
    x, y = _paired_from_table(np.array([[3, 9], [1, 2]]))
    mh = marginal_homogeneity(x, y)
    mc = mcnemar(x, y, correction=False)
    assert mh.statistic == pytest.approx(mc.statistic, rel=1e-12)
    assert mh.p_value == pytest.approx(mc.p_value, rel=1e-12)


def test_marginal_homogeneity_all_concordant_is_not_defined() -> None:
    res = marginal_homogeneity([1, 2, 3, 3], [1, 2, 3, 3])
    assert math.isnan(res.p_value) and res.df is None


def test_bhapkar_infinite_when_everyone_makes_the_same_change() -> None:
    res = marginal_homogeneity([1, 1, 1], [2, 2, 2], method="bhapkar")
    assert res.statistic == math.inf and res.p_value == 0.0


def test_marginal_homogeneity_bad_input() -> None:
    with pytest.raises(CrisisSurveyError, match="method"):
        marginal_homogeneity([1, 2], [2, 1], method="mcnemar")  # type: ignore[arg-type]
    with pytest.raises(CrisisSurveyError, match="square"):
        _marginal_homogeneity_from_table(np.ones((2, 3)))
    with pytest.raises(CrisisSurveyError, match="non-negative"):
        _marginal_homogeneity_from_table(np.array([[1, -1], [0, 2]]))


@settings(max_examples=100, deadline=None)
@given(
    table=st.lists(st.integers(0, 6), min_size=16, max_size=16).map(
        lambda v: np.array(v).reshape(4, 4)
    ),
    seed=st.integers(0, 1000),
)
def test_marginal_homogeneity_invariances(table: np.ndarray, seed: int) -> None:
    if table.sum() == 0:
        return
    base = _marginal_homogeneity_from_table(table)
    # swapping waves transposes the table; relabelling levels permutes rows and columns alike
    perm = np.random.default_rng(seed).permutation(4)
    for other in (table.T, table[np.ix_(perm, perm)]):
        res = _marginal_homogeneity_from_table(other)
        if math.isnan(base.p_value):
            assert math.isnan(res.p_value)
        else:
            assert res.statistic == pytest.approx(base.statistic, rel=1e-8, abs=1e-10)
            assert res.df == base.df
            assert 0.0 <= res.p_value <= 1.0


# ---------------------------------------------------------------------------------------
# chi-square and Cramer's V
# ---------------------------------------------------------------------------------------
CHISQ = FIXTURE["chi_square"]


@pytest.mark.parametrize("case", CHISQ, ids=lambda c: "x".join(map(str, np.shape(c["table"]))))
def test_chi_square_matches_r(case: dict[str, Any]) -> None:
    table = np.array(case["table"])
    x, y = _samples_from_table(table)
    res = chi_square(x, y)
    # R: chisq.test(tab, correct = FALSE)
    _close(res.statistic, case["statistic"])
    assert res.df == case["df"]
    _close(res.p_value, case["p"])
    # The fixture's V intervals are effectsize's one-sided defaults (alternative = "greater"):
    # a one-sided c lower bound is the lower bound of our two-sided 2c - 1 interval. The
    # two-sided bounds themselves: tests/test_effects.py (tests/fixtures/effects.json).
    # Binary tables (2 x 2) report the risk difference instead (test_effects.py); their V is
    # checked through the one formula, _cramers_v.
    n = int(table.sum())
    used = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 2:
        assert res.effect_measure == "risk difference"

        def v_of(conf: float, adjust: bool = True) -> tuple[float, float, float]:
            return _cramers_v(res.statistic, n, 2, used.shape[1], conf, adjust)
    else:
        assert res.effect_measure == "Cramer's V (bias-corrected)"

        def v_of(conf: float, adjust: bool = True) -> tuple[float, float, float]:
            r = chi_square(x, y, confidence=conf, adjust=adjust)
            assert r.effect_size is not None and r.ci_low is not None and r.ci_high is not None
            return r.effect_size, r.ci_low, r.ci_high
    # R: V and lower limit solved precisely (contingency.R, v_precise), effectsize's formula
    v, low, _ = v_of(0.90)
    _close(v, case["precise_v_adjusted"][0])
    _close(low, case["precise_v_adjusted"][1])
    # R: effectsize::cramers_v(tab) itself; its optim-based CI agrees to about 1e-5
    _close(v, case["effectsize_v_adjusted"][0])
    _close(low, case["effectsize_v_adjusted"][1], rtol=1e-4, atol=1e-6)
    v, low, _ = v_of(0.90, adjust=False)
    _close(v, case["precise_v"][0])
    _close(low, case["precise_v"][1])
    _close(v, case["effectsize_v"][0])
    _close(low, case["effectsize_v"][1], rtol=1e-4, atol=1e-6)
    _, low, _ = v_of(0.80)
    _close(low, case["precise_v_adjusted90"][1])
    _close(low, case["effectsize_v_adjusted90"][1], rtol=1e-4, atol=1e-6)


def test_chi_square_drops_levels_nobody_chose() -> None:
    cats = ["poor", "fair", "good", "excellent"]
    a = pd.Categorical(["poor", "good", "good", "fair", None], categories=cats)
    b = pd.Categorical(["good", "good", "fair", "fair", "poor"], categories=cats)
    res = chi_square(a, b)
    # R: chisq.test(rbind(c(1, 1, 2), c(1, 2, 2)), correct = FALSE) -> X-squared = 0.225, df 2
    assert res.df == 2 and res.n == 9
    assert res.statistic == pytest.approx(0.225, rel=1e-12)


def test_chi_square_single_level_is_not_defined() -> None:
    res = chi_square([1, 1], [1, 1, 1])
    assert math.isnan(res.p_value)


def test_chi_square_bad_input() -> None:
    with pytest.raises(CrisisSurveyError, match="wave 2"):
        chi_square([1, 2], [None, None])
    with pytest.raises(CrisisSurveyError, match="mix kinds"):
        chi_square(["a", 1], ["b"])


tables_2xk = st.integers(2, 5).flatmap(
    lambda k: st.lists(st.integers(0, 30), min_size=2 * k, max_size=2 * k).map(
        lambda v: np.array(v).reshape(2, -1)
    )
)


def test_cramers_v_of_a_perfect_association_is_at_most_one() -> None:
    # hypothesis found 1.0000000000000002 for this table (rounding in the bias correction)
    res = _chi_square_from_table(np.array([[0, 1], [6, 0]]))
    v, _, high = _cramers_v(res.statistic, 7, 2, 2, 0.95, True)
    assert v <= 1.0 and high <= 1.0
    assert v == pytest.approx(1.0)


@settings(max_examples=150, deadline=None)
@given(table=tables_2xk, seed=st.integers(0, 1000))
def test_chi_square_invariances(table: np.ndarray, seed: int) -> None:
    if np.any(table.sum(axis=1) == 0):
        return
    base = _chi_square_from_table(table)
    if math.isnan(base.p_value):
        return
    assert 0.0 <= base.p_value <= 1.0
    assert base.effect_size is not None and base.ci_low is not None and base.ci_high is not None
    binary = base.effect_measure == "risk difference"
    if math.isnan(base.effect_size):
        # bias-corrected V undefined at tiny n; R: cramers_v(matrix(c(0,1,1,0),2)) is NaN
        assert table.sum() <= 3 and math.isnan(base.ci_low)
        return
    low = -1.0 if binary else 0.0
    assert low <= base.ci_low <= base.effect_size <= base.ci_high <= 1.0
    perm = np.random.default_rng(seed).permutation(table.shape[1])
    for other in (table[::-1], table[:, perm]):  # swap waves; relabel categories
        res = _chi_square_from_table(other)
        assert res.statistic == pytest.approx(base.statistic, rel=1e-9, abs=1e-12)
        assert res.p_value == pytest.approx(base.p_value, rel=1e-9, abs=1e-15)
        # V has no direction; the risk difference changes sign with either swap (or stays)
        size = abs(res.effect_size or 0.0) if binary else res.effect_size
        assert size == pytest.approx(abs(base.effect_size) if binary else base.effect_size,
                                     rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------------------
# Fisher's exact test
# ---------------------------------------------------------------------------------------
FISHER = FIXTURE["fisher"]


@pytest.mark.parametrize("case", FISHER, ids=lambda c: "x".join(map(str, np.shape(c["table"]))))
def test_fisher_matches_r(case: dict[str, Any]) -> None:
    table = np.array(case["table"])
    x, y = _samples_from_table(table)
    res = fisher_exact(x, y)
    # R: fisher.test(tab)$p.value
    _close(res.p_value, case["p"], atol=1e-14)
    if table.shape[1] == 2:
        # R: fisher.test's conditional MLE and CI equations solved with uniroot(tol = 1e-14)
        # (contingency.R, fisher_precise); fisher.test itself stops at uniroot's default tol
        # (the odds of the second answer in wave 2 over wave 1: R's and ours alike); the
        # effect is the risk difference (tests/test_effects.py), the odds ratio beside it
        est, lo, hi = case["precise"]
        d = res.details
        assert res.effect_measure == "risk difference" and res.statistic == d["odds_ratio"]
        _close(d["odds_ratio"], est, atol=1e-9)
        _close(d["odds_ratio_ci_low"], lo, atol=1e-9)
        _close(d["odds_ratio_ci_high"], hi, atol=1e-9)
        _close(d["odds_ratio"], case["r_estimate"], rtol=1e-3, atol=1e-4)
        ninety = fisher_exact(x, y, confidence=0.90).details
        _close(ninety["odds_ratio_ci_low"], case["precise90"][1], atol=1e-9)
        _close(ninety["odds_ratio_ci_high"], case["precise90"][2], atol=1e-9)


def test_fisher_large_2x2_and_2x3_are_feasible() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, 200_000).astype(float)
    y = rng.integers(0, 2, 150_000).astype(float)
    p2 = fisher_exact(x, y).p_value
    x3 = rng.integers(0, 3, 3000).astype(float)
    y3 = rng.integers(0, 3, 2500).astype(float)
    p3 = fisher_exact(x3, y3).p_value
    # under independence the exact and chi-squared p-values are close at this size
    assert p2 == pytest.approx(chi_square(x, y).p_value, abs=0.02)
    assert p3 == pytest.approx(chi_square(x3, y3).p_value, abs=0.05)


def test_fisher_too_large_table_raises_clear_error() -> None:
    rng = np.random.default_rng(6)
    x = rng.integers(0, 6, 400_000).astype(float)
    y = rng.integers(0, 6, 400_000).astype(float)
    with pytest.raises(CrisisSurveyError, match="too large"):
        fisher_exact(x, y)


@settings(max_examples=150, deadline=None)
@given(table=tables_2xk, seed=st.integers(0, 1000))
def test_fisher_invariances_and_brute_force(table: np.ndarray, seed: int) -> None:
    if np.any(table.sum(axis=1) == 0):
        return
    base = _fisher_from_table(table)
    if math.isnan(base.p_value):
        return
    assert 0.0 <= base.p_value <= 1.0
    perm = np.random.default_rng(seed).permutation(table.shape[1])
    for other in (table[::-1], table[:, perm]):
        assert _fisher_from_table(other).p_value == pytest.approx(base.p_value, rel=1e-9, abs=1e-14)
    # brute force over all first rows with these margins (small tables only)
    t = table[:, table.sum(axis=0) > 0]
    cols, r1 = t.sum(axis=0), int(t[0].sum())
    if np.prod(cols + 1) <= 20_000:
        from scipy.special import comb

        grids = np.array(np.meshgrid(*[np.arange(c + 1) for c in cols], indexing="ij")).reshape(
            len(cols), -1
        )
        grids = grids[:, grids.sum(axis=0) == r1]
        probs = np.prod([comb(c, g) for c, g in zip(cols, grids, strict=True)], axis=0) / comb(
            cols.sum(), r1
        )
        obs = np.prod([comb(c, a) for c, a in zip(cols, t[0], strict=True)]) / comb(cols.sum(), r1)
        assert base.p_value == pytest.approx(
            min(1.0, probs[probs <= obs * (1 + 1e-7)].sum()), rel=1e-9
        )


# ---------------------------------------------------------------------------------------
# linear-by-linear association
# ---------------------------------------------------------------------------------------
LBL = FIXTURE["linear_trend"]


@pytest.mark.parametrize("case", LBL, ids=lambda c: "x".join(map(str, np.shape(c["table"]))))
def test_linear_trend_matches_coin(case: dict[str, Any]) -> None:
    table = np.array(case["table"])
    scores = np.array(case["scores"], dtype=float)
    x, y = _samples_from_table(table)
    # R: coin::lbl_test(ans ~ wave, scores = list(ans = s)); Z = statistic(.), pvalue(.)
    res = linear_trend(x, y, scores=scores)
    _close(res.details["z"], case["z"], atol=1e-12)
    _close(res.statistic, case["z"] ** 2, atol=1e-12)
    _close(res.p_value, case["p"], atol=1e-14)
    assert res.df == 1
    # scores given as the answer values themselves give the same test
    if not np.array_equal(scores, np.arange(len(scores))):
        xs, ys = scores[x.astype(int)], scores[y.astype(int)]
        assert linear_trend(xs, ys).statistic == pytest.approx(res.statistic, rel=1e-12)


def test_linear_trend_with_ordered_categoricals_and_text() -> None:
    cats = ["poor", "fair", "good"]
    a = pd.Series(pd.Categorical(["poor", "fair", "fair", "good"], categories=cats, ordered=True))
    b = pd.Series(pd.Categorical(["good", "good", "fair", "good"], categories=cats, ordered=True))
    res = linear_trend(a, b)
    num = linear_trend([1, 2, 2, 3], [3, 3, 2, 3])
    assert res.statistic == pytest.approx(num.statistic, rel=1e-12)
    assert res.details["z"] > 0  # wave 2 answers are better
    with pytest.raises(CrisisSurveyError, match="scores"):
        linear_trend(["a", "b"], ["b", "b"])
    txt = linear_trend(["a", "b"], ["b", "b"], scores=[1, 2])
    assert txt.p_value == pytest.approx(linear_trend([1, 2], [2, 2]).p_value)
    with pytest.raises(CrisisSurveyError, match="one number per level"):
        linear_trend([1, 2], [2, 2], scores=[1, 2, 3])


@settings(max_examples=100, deadline=None)
@given(table=tables_2xk)
def test_linear_trend_swapping_waves_flips_z(table: np.ndarray) -> None:
    if np.any(table.sum(axis=1) == 0):
        return
    x, y = _samples_from_table(table)
    fwd = linear_trend(x, y)
    if math.isnan(fwd.p_value):
        return
    back = linear_trend(y, x)
    assert 0.0 <= fwd.p_value <= 1.0
    assert back.p_value == pytest.approx(fwd.p_value, rel=1e-9, abs=1e-15)
    assert back.details["z"] == pytest.approx(-fwd.details["z"], rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------------------
# speed: one bincount over a million answers
# ---------------------------------------------------------------------------------------
def test_million_observations_work_from_counts() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    rng = np.random.default_rng(7)
    n = 1_000_000
    x = rng.integers(1, 6, n).astype(float)
    y = np.clip(x + rng.integers(-1, 2, n), 1, 5)
    x[rng.random(n) < 0.05] = np.nan
    assert marginal_homogeneity(x, y).n == int((~np.isnan(x)).sum())
    plain = chi_square(x, y)
    assert plain.n == int((~np.isnan(x)).sum()) + n
    assert 0.0 <= linear_trend(x, y).p_value <= 1.0
    assert mcnemar((x > 3).astype(float), (y > 3).astype(float)).n == n
    nullable = chi_square(pd.Series(x).astype("Int64"), pd.Series(y))  # nullable pandas input
    assert nullable.statistic == pytest.approx(plain.statistic, rel=1e-12)


# -- the batch forms (compare_waves) against the one-table functions --------------------------
def _random_tables(seed: int, m: int, shape: tuple[int, int], top: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tabs = rng.integers(0, top, (m, *shape)) * (rng.random((m, *shape)) < 0.75)
    tabs[:3] = 0
    return np.asarray(tabs, dtype=np.int64)


def _agree(batch: dict[str, np.ndarray], one: list[Any], keys: dict[str, str],
           rtol: float = 1e-12) -> None:
    for i, r in enumerate(one):
        if not batch["ok"][i]:
            assert r is None or math.isnan(r.p_value), i
            continue
        assert r is not None, i
        for key, attr in keys.items():
            want = getattr(r, attr)
            assert batch[key][i] == pytest.approx(want, rel=rtol, nan_ok=True), (i, key)


def _each(fn: Any, tabs: np.ndarray) -> list[Any]:
    out = []
    for t in tabs:
        try:
            out.append(fn(t))
        except CrisisSurveyError:
            out.append(None)
    return out


RESULT_KEYS = {"statistic": "statistic", "p_value": "p_value", "effect_size": "effect_size",
               "ci_low": "ci_low", "ci_high": "ci_high"}


def test_mcnemar_batch_is_the_same_bits() -> None:
    from crisis_survey.stats._contingency import _mcnemar_batch, _mcnemar_from_counts

    tabs = _random_tables(1, 300, (2, 2), 25)
    for correction in (True, False):
        one = _each(lambda t, c=correction: _mcnemar_from_counts(*t.ravel(), correction=c),
                    tabs)
        _agree(_mcnemar_batch(tabs, correction=correction), one, RESULT_KEYS, rtol=0.0)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_stuart_maxwell_batch(k: int) -> None:
    from crisis_survey.stats._contingency import (
        _marginal_homogeneity_batch,
        _marginal_homogeneity_from_table,
    )

    tabs = _random_tables(k, 200, (k, k), 8)
    one = _each(_marginal_homogeneity_from_table, tabs)
    _agree(_marginal_homogeneity_batch(tabs), one,
           {"statistic": "statistic", "p_value": "p_value", "df": "df"})


@pytest.mark.parametrize("k", [2, 3, 5])
def test_chi_square_batch(k: int) -> None:
    from crisis_survey.stats._contingency import (
        _chi_square_batch,
        _chi_square_from_table,
        _ncp_lower,
        _ncp_lower_batch,
    )

    tabs = _random_tables(10 + k, 200, (2, k), 30)
    one = _each(_chi_square_from_table, tabs)
    # Cramer's V's lower bound: the one-table root finder stops at 1e-12 * chi-square
    batch = _chi_square_batch(tabs)
    _agree(batch, one, {key: v for key, v in RESULT_KEYS.items() if key != "ci_low"})
    _agree(batch, one, {"ci_low": "ci_low"}, rtol=1e-9)
    chisq, df = batch["statistic"][batch["ok"]], batch["df"][batch["ok"]]
    lam = _ncp_lower_batch(chisq, df, 0.95)
    for c, d, got in zip(chisq, df, lam, strict=True):
        assert abs(got - _ncp_lower(float(c), float(d), 0.95)) <= 2e-12 * max(1.0, c)


def test_fisher_2x2_batch() -> None:
    from crisis_survey.stats._contingency import _fisher_2x2_batch, _fisher_from_table

    tabs = _random_tables(4, 300, (2, 2), 20)
    tabs[3] = [[0, 7], [4, 0]]
    tabs[4] = [[9, 0], [0, 2]]
    one = _each(_fisher_from_table, tabs)
    batch = _fisher_2x2_batch(tabs)
    one = [r if ok else None for r, ok in zip(one, batch["ok"], strict=True)]
    _agree(batch, one, RESULT_KEYS, rtol=1e-12)
    assert batch["ok"][3] and batch["ok"][4]


def test_fisher_2x3_batch_equals_the_one_table_enumeration_and_r() -> None:
    from crisis_survey.stats._contingency import _fisher_2x3_batch, _fisher_from_table

    # small tables (thin local-area cells), large ones (many states, pruning) and ties
    tabs = np.concatenate([_random_tables(5, 300, (2, 3), 8), _random_tables(6, 60, (2, 3), 90)])
    tabs[3] = [[6, 6, 6], [6, 6, 6]]
    tabs[4] = [[0, 0, 5], [3, 4, 0]]
    tabs = tabs[(tabs.sum(axis=1) > 0).all(axis=1)]  # 2 x 3 tables (empty rows: not ok)
    one = _each(_fisher_from_table, tabs)
    batch = _fisher_2x3_batch(tabs)
    assert batch["ok"].sum() > 150
    assert not batch["ok"][tabs[:, 0].sum(axis=1) == 0].any()
    _agree(batch, one, {"statistic": "statistic", "p_value": "p_value"}, rtol=1e-12)
    # R 4.2.2: fisher.test(matrix(c(...), 2, byrow = TRUE))$p.value (tests/fixtures)
    r_cases = [c for c in FISHER if np.shape(c["table"]) == (2, 3)]
    assert r_cases
    got = _fisher_2x3_batch(np.array([c["table"] for c in r_cases]))["p_value"]
    for value, case in zip(got, r_cases, strict=True):
        assert value == pytest.approx(case["p"], rel=1e-9)
