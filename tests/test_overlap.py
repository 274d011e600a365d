"""Tests of crisis_survey.stats.partially_overlapping_t and partially_overlapping_z.

Reference values: tests/fixtures/overlap.json, made by tests/fixtures/r/overlap.R (R 4.2.2),
which implements Partiallyoverlapping 2.0's Partover.test and Prop.test from the published
formulas (the package is not installable here) and checks itself against the published
examples.  Published values: shared/reference/published-examples.md, examples 1 and 2.
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
from crisis_survey.stats import (
    paired_t,
    partially_overlapping_t,
    partially_overlapping_z,
    welch_t,
)

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "overlap.json").read_text(encoding="utf-8")
)
RTOL = 1e-6  # agreement with R (stored with 15 significant digits)
ALTS = {"two.sided": "two-sided", "less": "less", "greater": "greater"}
#: Partover.test / Prop.test read wave 1 - wave 2, ours wave 2 - wave 1: R's alternative is
#: ours the other way round, its t, z, estimate and interval ours negated (bounds swapped).
FLIP = {"two-sided": "two-sided", "less": "greater", "greater": "less"}


def _num(v: Any) -> float:
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


def _data(name: str) -> list[np.ndarray]:
    ds = FIXTURE["datasets"][name]
    return [_vec(ds[k]) for k in ("x_only", "y_only", "x_paired", "y_paired")]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [
        "-".join(
            str(c[k])
            for k in ("dataset", "incomplete_pairs", "var_equal", "alternative", "confidence")
            if k in c
        )
        for c in cases
    ]


def test_fixture_records_r_version() -> None:
    assert FIXTURE["script"] == "tests/fixtures/r/overlap.R"
    assert FIXTURE["r_version"].startswith("R version 4.2.2")
    assert len(FIXTURE["t_cases"]) >= 60
    assert len(FIXTURE["z_cases"]) >= 20


@pytest.mark.parametrize("case", FIXTURE["t_cases"], ids=_ids(FIXTURE["t_cases"]))
def test_t_matches_r(case: dict[str, Any]) -> None:
    # Expected: partover_t() in overlap.R = Partover.test(x1, x2, x3, x4, var.equal,
    # alternative, conf.level) (stacked = TRUE handling of incomplete pairs for "unpaired").
    res = partially_overlapping_t(
        *_data(case["dataset"]),
        var_equal=case["var_equal"],
        alternative=FLIP[ALTS[case["alternative"]]],
        confidence=case["confidence"],
        incomplete_pairs=case["incomplete_pairs"],
    )
    assert res.ci_low is not None and res.ci_high is not None and res.estimate is not None
    _close(-res.statistic, case["statistic"])
    _close(res.df, case["df"])
    _close(res.p_value, case["p_value"])
    _close(-res.estimate, case["estimate"])
    _close(res.details["se"], case["se"])
    _close(res.details["r"], case["r"])
    _close(-res.ci_high, case["conf_int"][0])
    _close(-res.ci_low, case["conf_int"][1])
    assert res.details["mean_diff_ci_low"] == res.ci_low
    for key in ("n1", "n2", "n_pairs", "n_x_only", "n_y_only"):
        name = {"n1": "n_x", "n2": "n_y"}.get(key, key)
        assert res.details[name] == case[key], key
    assert res.n == case["n1"] + case["n2"]


@pytest.mark.parametrize("case", FIXTURE["z_cases"], ids=_ids(FIXTURE["z_cases"]))
def test_z_matches_r(case: dict[str, Any]) -> None:
    # Expected: prop_z() in overlap.R = Prop.test(x1, x2, x3, x4, alternative, conf.level).
    res = partially_overlapping_z(
        *_data(case["dataset"]),
        alternative=FLIP[ALTS[case["alternative"]]],
        confidence=case["confidence"],
        incomplete_pairs=case["incomplete_pairs"],
    )
    assert res.ci_low is not None and res.ci_high is not None and res.estimate is not None
    _close(-res.statistic, case["statistic"])
    _close(res.p_value, case["p_value"])
    _close(-res.estimate, case["estimate"])
    _close(res.details["se"], case["se"])
    _close(res.details["r"], case["r"])
    _close(res.details["p_x"], case["p1"])
    _close(res.details["p_y"], case["p2"])
    _close(res.details["p_pooled"], case["pbar"])
    _close(-res.ci_high, case["conf_int"][0])
    _close(-res.ci_low, case["conf_int"][1])
    assert res.df is None
    assert res.details["n_pairs"] == case["n_pairs"]
    assert res.n == case["n1"] + case["n2"]


# -- published examples ------------------------------------------------------------------------
EX1 = (
    [20, 21, 16, 18, 14, 12, 14, 17],
    [10, 16, 18, 16, 15, 14, 13, 10],
    [14, 15, 18, 20, 11, 19, 14, 15],
    [15, 10, 15, 17, 13, 19, 12, 13],
)


def test_published_example_1() -> None:
    # Derrick, Toher & White (2017), Partover.test example: t = 2.4207, df = 18.5,
    # p = 0.02597 (equal variances), sample a relative to sample b; b relative to a here.
    res = partially_overlapping_t(*EX1, var_equal=True)
    assert res.statistic == pytest.approx(-2.4207, abs=5e-5)
    assert res.df == 18.5
    assert res.p_value == pytest.approx(0.02597, abs=5e-6)
    assert res.estimate == -2.0  # means 14.25 (b) - 16.25 (a)
    assert "T_new1" in res.method


def test_published_example_1_stacked_layout() -> None:
    # The package's "Approach 2": the same data as two stacked columns with NA for the other
    # wave gives the same result; here the wave-only answers arrive as incomplete pairs.
    na = [None] * 8
    a = [*EX1[0], *na, *EX1[2]]
    b = [*na, *EX1[1], *EX1[3]]
    res = partially_overlapping_t(None, None, a, b, var_equal=True)
    assert res.statistic == pytest.approx(-2.4207, abs=5e-5)
    assert res.df == 18.5
    assert res.details["n_moved_to_x_only"] == 8
    assert res.details["n_moved_to_y_only"] == 8


def test_published_example_2() -> None:
    # Derrick, Dobson-Mckittrick, Toher & White (2015), Prop.test example: z = -1.937 (wave 1
    # relative to wave 2; ours +1.937), p = 0.05278.  15 pairs: (1,1) x8, (1,0) x1, (0,1) x3,
    # (0,0) x3.
    px = [1] * 8 + [1] + [0] * 3 + [0] * 3
    py = [1] * 8 + [0] + [1] * 3 + [0] * 3
    res = partially_overlapping_z([1, 1, 1, 1, 1, 0, 0, 0, 0], [1] * 6, px, py)
    assert res.statistic == pytest.approx(1.937, abs=5e-4)
    assert res.p_value == pytest.approx(0.05278, abs=5e-6)
    assert (res.details["n_11"], res.details["n_10"], res.details["n_01"]) == (8, 1, 3)
    assert res.details["n_00"] == 3
    assert res.details["p_x"] == pytest.approx(14 / 24)
    assert res.details["p_y"] == pytest.approx(17 / 21)


# -- the package's one-sided p-value -----------------------------------------------------------
def test_greater_is_the_upper_tail() -> None:
    # Partover.test gives pt(-abs(t)) for "greater"; for t < 0 the right answer is
    # pt(t, lower.tail = FALSE) > 0.5.  Example 1 (b relative to a) has t = -2.4207.
    res = partially_overlapping_t(*EX1, alternative="greater")
    less = partially_overlapping_t(*EX1, alternative="less")
    assert res.statistic < 0
    assert res.p_value > 0.5
    assert res.p_value + less.p_value == pytest.approx(1.0, abs=1e-12)


# -- inputs ------------------------------------------------------------------------------------
def test_binary_inputs_as_booleans_and_categoricals() -> None:
    x3 = [True, True, False, True, False]
    y3 = [True, False, False, True, True]
    ref = partially_overlapping_z([1, 0, 0], [1, 1], [1, 1, 0, 1, 0], [1, 0, 0, 1, 1])
    got = partially_overlapping_z([True, False, False], [True, True], x3, y3)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)
    cat = pd.Series(pd.Categorical(["yes", "no", "no"], categories=["no", "yes"]))
    cat2 = pd.Series(pd.Categorical(["yes", "yes"], categories=["no", "yes"]))
    got = partially_overlapping_z(cat, cat2, [1, 1, 0, 1, 0], [1, 0, 0, 1, 1])
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: partially_overlapping_t([1, 2], [3, 4], [1, 2, 3], [1, 2]), "same length"),
        (lambda: partially_overlapping_t([1], [], [], []), "at least 2 values in wave 1"),
        (lambda: partially_overlapping_t([1, 2], [4], [], []), "at least 2 values in wave 2"),
        (lambda: partially_overlapping_t([3, 3], [3], [3], [3]), "essentially constant"),
        (lambda: partially_overlapping_t([1, 2], [3, 4], [1], [2], var_equal="no"), "var_equal"),
        (
            lambda: partially_overlapping_t([1, 2], [3, 4], [1], [2], incomplete_pairs="x"),
            "incomplete_pairs",
        ),
        (lambda: partially_overlapping_t([1, 2], [3, 4], [1], [2], confidence=0), "confidence"),
        (lambda: partially_overlapping_z([0, 2], [1], [1, 0], [0, 1]), "only 0, 1"),
        (lambda: partially_overlapping_z([], [], [None], [1]), "at least one value in wave 1"),
        (lambda: partially_overlapping_z([1, 1], [1], [1, 1], [1, 1]), "same value"),
        (lambda: partially_overlapping_z([0, 1], [1], [1], [0], alternative="up"), "alternative"),
        (
            lambda: partially_overlapping_z(
                pd.Categorical(["a", "b"], ["a", "b", "c"]), [1], [1], [0]
            ),
            "exactly 2",
        ),
    ],
)
def test_bad_input_gives_clear_error(call: Any, message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        call()


def test_incomplete_pairs_join_unpaired_samples() -> None:
    # A linked respondent who answered only in wave 1 counts as a wave-1-only answer.
    x1, x2, x3, x4 = [5.0, 3, 4], [2.0, 3], [1.0, 2, 4, 5, 3], [2.0, 2, math.nan, 4, 1]
    moved = partially_overlapping_t(x1, x2, x3, x4)
    by_hand = partially_overlapping_t([*x1, 4.0], x2, [1, 2, 5, 3], [2, 2, 4, 1])
    dropped = partially_overlapping_t(x1, x2, x3, x4, incomplete_pairs="drop")
    by_hand_drop = partially_overlapping_t(x1, x2, [1, 2, 5, 3], [2, 2, 4, 1])
    assert moved.statistic == by_hand.statistic
    assert moved.details["n_moved_to_x_only"] == 1
    assert dropped.statistic == by_hand_drop.statistic
    assert dropped.n == moved.n - 1


# -- properties --------------------------------------------------------------------------------
likert = st.integers(min_value=1, max_value=5).map(float)
reals = st.floats(min_value=-50, max_value=50, allow_nan=False).map(lambda v: round(v, 3))
binary = st.integers(min_value=0, max_value=1).map(float)


@st.composite
def overlap_data(
    draw: st.DrawFn,
    elements: st.SearchStrategy[float] = likert,
    min_pairs: int = 0,
    max_unpaired: int = 25,
) -> tuple[list[float], list[float], list[float], list[float]]:
    na = draw(st.integers(0, max_unpaired))
    nb = draw(st.integers(0, max_unpaired))
    nc = draw(st.integers(min_pairs, 25))
    x1 = draw(st.lists(elements, min_size=na, max_size=na))
    x2 = draw(st.lists(elements, min_size=nb, max_size=nb))
    x3 = draw(st.lists(elements, min_size=nc, max_size=nc))
    x4 = draw(st.lists(elements, min_size=nc, max_size=nc))
    s1, s2 = np.array(x1 + x3), np.array(x2 + x4)
    assume(s1.size >= 2 and s2.size >= 2)
    assume(np.ptp(s1) > 0 and np.ptp(s2) > 0)
    if nc >= 1:
        assume(np.ptp(np.array(x3) - np.array(x4)) > 0 or na + nb > 0)
    return x1, x2, x3, x4


def _swap(data: Any) -> Any:
    x1, x2, x3, x4 = data
    return x2, x1, x4, x3


@settings(max_examples=80, deadline=None)
@given(overlap_data(st.one_of(likert, reals)), st.booleans())
def test_t_swapping_waves_flips_sign(data: Any, var_equal: bool) -> None:
    a = partially_overlapping_t(*data, var_equal=var_equal)
    b = partially_overlapping_t(*_swap(data), var_equal=var_equal)
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-9, abs=1e-12)
    assert b.df == pytest.approx(a.df, rel=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)
    assert b.effect_size == pytest.approx(-a.effect_size, rel=1e-9, abs=1e-12)
    assert 0.0 <= a.p_value <= 1.0
    for alt in ("less", "greater"):
        one = partially_overlapping_t(*data, var_equal=var_equal, alternative=alt)
        assert 0.0 <= one.p_value <= 1.0


@settings(max_examples=60, deadline=None)
@given(overlap_data(), st.booleans(), st.randoms(use_true_random=False))
def test_t_permuting_order_changes_nothing(data: Any, var_equal: bool, rnd: Any) -> None:
    x1, x2, x3, x4 = (list(v) for v in data)
    a = partially_overlapping_t(x1, x2, x3, x4, var_equal=var_equal)
    rnd.shuffle(x1)
    rnd.shuffle(x2)
    order = list(range(len(x3)))
    rnd.shuffle(order)
    b = partially_overlapping_t(
        x1, x2, [x3[i] for i in order], [x4[i] for i in order], var_equal=var_equal
    )
    assert b.statistic == pytest.approx(a.statistic, rel=1e-9, abs=1e-12)
    assert b.df == pytest.approx(a.df, rel=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(overlap_data(st.one_of(likert, reals), min_pairs=2, max_unpaired=0))
def test_t_new2_without_unpaired_is_the_paired_t(data: Any) -> None:
    # Derrick et al. (2017): with n_a = n_b = 0, T_new2 reduces to the paired t-test (its
    # denominator is var(x - y)/n and its df n_c - 1).
    _, _, x3, x4 = data
    assume(np.ptp(np.array(x3) - np.array(x4)) > 1e-9)
    a = partially_overlapping_t([], [], x3, x4)
    b = paired_t(x3, x4)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-7)
    assert a.df == b.df
    assert a.p_value == pytest.approx(b.p_value, rel=1e-6, abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(likert, min_size=2, max_size=30),
    st.floats(-3, 3).map(lambda v: round(v, 2)),
    st.randoms(use_true_random=False),
)
def test_t_new1_without_unpaired_is_paired_t_when_variances_equal(
    x3: list[float], shift: float, rnd: Any
) -> None:
    # T_new1 uses the pooled variance, so it equals the paired t only when the two sample
    # variances are equal: y = a permutation of x plus a constant.
    x4 = [v + shift for v in x3]
    rnd.shuffle(x4)
    assume(np.ptp(x3) > 0 and np.ptp(np.array(x3) - np.array(x4)) > 1e-9)
    a = partially_overlapping_t([], [], x3, x4, var_equal=True)
    b = paired_t(x3, x4)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-7)
    assert a.df == b.df


@settings(max_examples=60, deadline=None)
@given(overlap_data(st.one_of(likert, reals), min_pairs=0))
def test_without_pairs_is_student_or_welch(data: Any) -> None:
    x1, x2, _, _ = data
    assume(len(x1) >= 2 and len(x2) >= 2 and np.ptp(x1 + x2) > 0)
    new2 = partially_overlapping_t(x1, x2, [], [])
    welch = welch_t(x1, x2)
    assert new2.statistic == pytest.approx(welch.statistic, rel=1e-9)
    assert new2.df == pytest.approx(welch.df, rel=1e-9)
    assert new2.p_value == pytest.approx(welch.p_value, rel=1e-7, abs=1e-15)
    new1 = partially_overlapping_t(x1, x2, [], [], var_equal=True)
    student = sps.ttest_ind(x2, x1, equal_var=True)  # scipy: first minus second
    assert new1.statistic == pytest.approx(float(student.statistic), rel=1e-9)
    assert new1.df == len(x1) + len(x2) - 2
    assert new1.p_value == pytest.approx(float(student.pvalue), rel=1e-7, abs=1e-15)


@st.composite
def binary_data(draw: st.DrawFn) -> Any:
    data = draw(overlap_data(binary, min_pairs=0))
    return data


@settings(max_examples=80, deadline=None)
@given(binary_data(), st.randoms(use_true_random=False))
def test_z_swap_permute_and_range(data: Any, rnd: Any) -> None:
    x1, x2, x3, x4 = (list(v) for v in data)
    a = partially_overlapping_z(x1, x2, x3, x4)
    b = partially_overlapping_z(*_swap((x1, x2, x3, x4)))
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-9, abs=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-15)
    assert b.effect_size == pytest.approx(-a.effect_size, rel=1e-9, abs=1e-12)
    assert 0.0 <= a.p_value <= 1.0
    rnd.shuffle(x1)
    order = list(range(len(x3)))
    rnd.shuffle(order)
    c = partially_overlapping_z(x1, x2, [x3[i] for i in order], [x4[i] for i in order])
    assert c.statistic == pytest.approx(a.statistic, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(binary_data())
def test_z_counts_agree_with_direct_formula(data: Any) -> None:
    # phi from the 2x2 counts equals the Pearson correlation of the pairs (np.corrcoef)
    x1, x2, x3, x4 = data
    res = partially_overlapping_z(x1, x2, x3, x4)
    if len(x3) >= 2 and np.ptp(x3) > 0 and np.ptp(x4) > 0:
        assert res.details["r"] == pytest.approx(float(np.corrcoef(x3, x4)[0, 1]), abs=1e-12)
    else:
        assert res.details["r"] == 0.0
    assert res.details["p_x"] == pytest.approx(np.mean(x1 + x3), rel=1e-12)


def test_overlap_batches_equal_the_one_comparison_functions() -> None:
    """_partially_overlapping_t_batch / _z_batch (compare_waves) against the
    moment- and count-based one-comparison functions, value by value."""
    from crisis_survey.stats._overlap import (
        _partially_overlapping_t_batch,
        _partially_overlapping_t_from_moments,
        _partially_overlapping_z_batch,
        _partially_overlapping_z_from_counts,
    )

    rng = np.random.default_rng(2)
    m = 200
    na, nb, nc = (rng.integers(0, 20, m).astype(float) for _ in range(3))
    n1, n2 = na + nc, nb + nc
    m1, m2 = rng.normal(3, 1, m), rng.normal(3, 1, m)
    v1, v2 = rng.uniform(0, 2, m), rng.uniform(0, 2, m)
    v1[:5] = 0.0
    v2[:5] = 0.0
    r = rng.uniform(-1, 1, m)
    t = _partially_overlapping_t_batch((n1, m1, v1), (n2, m2, v2), na, nb, nc, r)
    counts = rng.integers(0, 12, (m, 6)) * (rng.random((m, 6)) < 0.8)
    n00, n01, n10, n11, e, g = counts.T
    oa, ob = rng.integers(0, 15, m), rng.integers(0, 15, m)
    oa[:4] = 0
    z = _partially_overlapping_z_batch((n00, n01, n10, n11), (oa, np.minimum(e, oa)),
                                       (ob, np.minimum(g, ob)))
    for i in range(m):
        try:
            one = _partially_overlapping_t_from_moments(
                (n1[i], m1[i], v1[i]), (n2[i], m2[i], v2[i]), na[i], nb[i], nc[i], r[i])
        except CrisisSurveyError:
            assert not t["ok"][i]
        else:
            assert t["ok"][i]
            assert (t["statistic"][i], t["df"][i], t["p_value"][i], t["ci_low"][i],
                    t["ci_high"][i]) == (one.statistic, one.df, one.p_value, one.ci_low,
                                         one.ci_high)
        try:
            onez = _partially_overlapping_z_from_counts(
                (int(n00[i]), int(n01[i]), int(n10[i]), int(n11[i])),
                (int(oa[i]), int(min(e[i], oa[i]))), (int(ob[i]), int(min(g[i], ob[i]))))
        except CrisisSurveyError:
            assert not z["ok"][i]
        else:
            assert z["ok"][i]
            assert (z["statistic"][i], z["p_value"][i], z["ci_low"][i], z["ci_high"][i]) == (
                onez.statistic, onez.p_value, onez.ci_low, onez.ci_high)
