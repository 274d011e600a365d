"""Disclosure control: primary and secondary suppression, and the identifier guard.

Expected values are worked by hand from the rules in docs/disclosure-control.md (there is no
R reference: disclosure control is a rule, not a statistic). The properties are checked by
attacking the published table the way a reader would: subtraction from totals, and linear
programming over every row and column equation (`audit_suppression`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crisis_survey import CrisisSurveyError
from crisis_survey.codebook import default_codebook
from crisis_survey.present import (
    DisclosureError,
    assert_no_identifiers,
    audit_suppression,
    suppress,
)
from crisis_survey.present._disclosure import default_protection


def _frame(a: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(a, index=[f"r{i}" for i in range(a.shape[0])],
                        columns=[f"c{j}" for j in range(a.shape[1])])


# small counts are common in real survey tables: mix zeros, small and large values
_count = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 60))
_tables = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=_count)
)


# -- hand-worked cases ---------------------------------------------------------------------
def test_single_small_cell_needs_a_rectangle() -> None:
    # 3 is primary; the Poor row and the Service-user column would each reveal it by
    # subtraction, so 12 (row) and 25 (column) go, then 18 closes the rectangle.
    counts = pd.DataFrame({"Service user": [3, 40, 25], "Carer": [12, 30, 18]},
                          index=["Poor", "Fair", "Good"])
    s = suppress(counts)
    expected = pd.DataFrame(
        [["primary", "secondary", "published"],
         ["published", "published", "published"],
         ["secondary", "secondary", "published"],
         ["published", "published", "published"]],
        index=["Poor", "Fair", "Good", "Total"], columns=["Service user", "Carer", "Total"])
    pd.testing.assert_frame_equal(s.status, expected)
    assert s.counts.loc["Total", "Total"] == 128
    assert s.display().loc["Poor", "Service user"] == "[c]"
    assert s.display().loc["Total", "Carer"] == "60"


def test_no_suppression_when_all_counts_are_large_or_zero() -> None:
    s = suppress(pd.DataFrame({"a": [0, 40], "b": [12, 0]}))
    assert not s.any_suppressed
    assert s.footnote() == ""


def test_zero_policy() -> None:
    counts = pd.DataFrame({"a": [0, 40], "b": [12, 30]})
    assert suppress(counts).status.loc[0, "a"] == "published"  # zeros shown by default
    s = suppress(counts, suppress_zeros=True)
    assert s.status.loc[0, "a"] == "primary"
    assert "zeros" in s.footnote()


def test_small_sum_of_withheld_parts_is_protected() -> None:
    # 2 and 3 in one row hide each other, but the row total 55 minus 50 = 5 would leave
    # each in 1..4 (4 values, fewer than the 5 asked): a third cell (50) must go.
    counts = pd.DataFrame({"a": [2, 30], "b": [3, 40], "c": [50, 60]})
    s = suppress(counts)
    row0 = s.status.iloc[0, :3]
    assert (row0 != "published").all()
    assert not audit_suppression(s)["disclosed"].any()


def test_all_ones_withholds_the_grand_total() -> None:
    # ten cells of 1: a reader who knows withheld cells are >= 1 and that they sum to a
    # published 10 would know every cell; the grand total must go too
    s = suppress(pd.DataFrame(np.ones((2, 5), dtype=int)))
    assert s.mask.to_numpy().all()
    assert not audit_suppression(s)["disclosed"].any()


def test_small_total_is_suppressed() -> None:
    s = suppress(pd.DataFrame({"a": [2, 0], "b": [3, 0]}))
    # every non-zero cell including all totals is below 10
    assert (s.status.loc[0] == "primary").all()
    assert s.status.loc["Total", "Total"] == "primary"


def test_prefer_totals_withholds_the_total() -> None:
    counts = pd.DataFrame({"n": [3, 500]}, index=["excluded", "kept"])
    by_parts = suppress(counts, margins="row")
    assert by_parts.status.loc["kept", "n"] == "secondary"
    by_total = suppress(counts, margins="row", prefer="totals")
    assert by_total.status.loc["kept", "n"] == "published"
    assert by_total.status.loc["Total", "n"] == "secondary"


def test_percentages_withheld_with_their_counts_and_small_denominators() -> None:
    counts = pd.DataFrame({"a": [3, 40, 25, 50], "b": [4, 30, 1, 6], "c": [2, 1, 0, 3]},
                          index=["x", "y", "z", "w"])
    s = suppress(counts)
    pct = s.percentages("columns")
    denom = s.counts.loc["Total"]
    for row in s.counts.index:
        for col in s.counts.columns:
            withheld = (s.mask.loc[row, col] or s.mask.loc["Total", col]
                        or denom[col] < 10)
            if withheld:
                assert np.isnan(pct.loc[row, col]), (row, col)
            else:
                assert pct.loc[row, col] == pytest.approx(
                    100 * s.counts.loc[row, col] / denom[col])
    assert pct["c"].isna().all()  # denominator 6 < 10
    assert pct.notna().to_numpy().sum() >= 3  # the loop above checked real numbers


def test_force_keeps_cells_withheld() -> None:
    counts = pd.DataFrame({"a": [30, 40], "b": [50, 60]})
    force = pd.DataFrame(False, index=[0, 1, "Total"], columns=["a", "b", "Total"])
    force.loc[0, "a"] = True
    s = suppress(counts, force=force)
    assert s.status.loc[0, "a"] == "secondary"
    assert not audit_suppression(s)["disclosed"].any()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"a": [1.5]}), "whole-number"),
        (pd.DataFrame({"a": [-1]}), "non-negative"),
        (pd.DataFrame({"a": ["x"]}), "non-numeric"),
        (pd.DataFrame(), "empty"),
        (pd.DataFrame({"Total": [3]}), "already has"),
    ],
)
def test_bad_input(table: pd.DataFrame, message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        suppress(table)


def test_bad_threshold() -> None:
    with pytest.raises(DisclosureError, match="threshold"):
        suppress(pd.DataFrame({"a": [3]}), threshold=0)


def test_to_frame_records_every_cell() -> None:
    s = suppress(pd.DataFrame({"a": [3, 40], "b": [12, 30]}))
    long = s.to_frame()
    assert list(long.columns) == ["row", "column", "count", "status"]
    assert len(long) == 9
    assert long.query("row == 0 and column == 'a'")["status"].item() == "primary"


# -- properties ----------------------------------------------------------------------------
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables, st.sampled_from([5, 10]))
def test_no_published_count_below_threshold(a: np.ndarray, threshold: int) -> None:
    s = suppress(_frame(a), threshold=threshold)
    published = s.published().to_numpy(dtype=float, na_value=np.nan)
    shown = published[~np.isnan(published)]
    assert not np.any((shown >= 1) & (shown < threshold))
    # the display strings agree: a withheld cell never shows its number
    assert (s.display().to_numpy()[s.mask.to_numpy()] == "[c]").all()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables)
def test_no_cell_recovered_by_subtraction(a: np.ndarray) -> None:
    s = suppress(_frame(a))
    mask = s.mask.to_numpy()
    # each row and column (with its total) has zero or at least two withheld cells
    assert set(mask.sum(axis=1)) <= {0} | set(range(2, mask.shape[1] + 1))
    assert set(mask.sum(axis=0)) <= {0} | set(range(2, mask.shape[0] + 1))
    # and no combination of the equations pins a withheld small count to one whole number
    audit = audit_suppression(s)
    assert not audit["disclosed"].any(), audit[audit["disclosed"]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables)
def test_suppression_is_idempotent(a: np.ndarray) -> None:
    once = suppress(_frame(a))
    twice = suppress(once)
    pd.testing.assert_frame_equal(once.status, twice.status)
    pd.testing.assert_frame_equal(once.counts, twice.counts)


@settings(max_examples=40, deadline=None)
@given(_tables)
def test_every_small_count_keeps_its_protection_interval(a: np.ndarray) -> None:
    # issue 11: instead of "withheld parts never sum to less than 10" (which withheld
    # counts such as 142 beside a 4 and a 5), a reader's interval for every withheld small
    # count must hold at least default_protection(10) = 5 whole numbers
    s = suppress(_frame(a))
    audit = audit_suppression(s)
    primary = audit[audit["status"] == "primary"]
    assert (primary["values"] >= default_protection(10)).all()
    assert not primary["narrowed"].any()


def test_union_of_small_counts_is_published_when_each_keeps_its_interval() -> None:
    # 4 and 5 withheld in one line with a published total: the reader learns 4 + 5 = 9, so
    # each lies in 1..8 (8 values >= 5): no third cell is needed (the old small-sum rule
    # withheld the 60 as well)
    counts = pd.DataFrame({"a": [4, 30], "b": [5, 40], "c": [60, 60]})
    s = suppress(counts)
    assert s.status.iat[0, 2] == "published"
    assert not audit_suppression(s)["narrowed"].any()


# -- the identifier guard ------------------------------------------------------------------
def test_identifier_columns_are_refused() -> None:
    cb = default_codebook()
    for column in ("respondent_id", "link_key", "comments"):
        with pytest.raises(DisclosureError, match=column):
            assert_no_identifiers(pd.DataFrame({column: ["x"]}), cb)


def test_identifier_index_and_multiindex_are_refused() -> None:
    cb = default_codebook()
    frame = pd.DataFrame({"n": [1]}, index=pd.Index(["k1"], name="link_key"))
    with pytest.raises(DisclosureError, match="link_key"):
        assert_no_identifiers(frame, cb)
    wide = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([(1, "rating"),
                                                                      (1, "respondent_id")]))
    with pytest.raises(DisclosureError, match="respondent_id"):
        assert_no_identifiers(wide, cb)


def test_identifier_values_and_digests_are_refused() -> None:
    cb = default_codebook()
    frame = pd.DataFrame({"label": ["Overall", "R-0042"]})
    with pytest.raises(DisclosureError) as info:
        assert_no_identifiers(frame, cb, sensitive_values=["R-0042", None])
    # the message says where the identifier is, never the identifier itself
    assert "a cell of column 'label' holds a respondent identifier" in str(info.value)
    assert "R-0042" not in str(info.value)
    digest = "a" * 64
    with pytest.raises(DisclosureError, match="pseudonymised"):
        assert_no_identifiers(pd.DataFrame({"x": [digest]}), cb)
    # an ordinary published table passes
    assert_no_identifiers(pd.DataFrame({"Item": ["Listened to"], "n": ["120"]}), cb,
                          sensitive_values=["R-0042"])


# -- the stacked linear programmes (fast path) against one linprog per bound -----------------
def _reference_bounds(obj: np.ndarray, a_eq: np.ndarray, b_eq: np.ndarray,
                      upper: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import linprog

    lo, hi = [], []
    for c in obj:
        lo.append(linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, upper), method="highs").fun)
        hi.append(-linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, upper), method="highs").fun)
    return np.asarray(lo), np.asarray(hi)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_stacked_and_screened_bounds_match_one_programme_per_bound(seed: int) -> None:
    from crisis_survey.present._disclosure import _width, lp_stack

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    x = rng.integers(0, 12, n).astype(float)
    a_eq = (rng.random((int(rng.integers(1, n)), n)) < 0.4).astype(float)
    obj = (rng.random((int(rng.integers(1, 6)), n)) < 0.3).astype(float)
    spec = {"objectives": obj, "a_eq": a_eq, "b_eq": a_eq @ x, "lower": 0.0,
            "upper": float(x.sum())}
    ref_lo, ref_hi = _reference_bounds(obj, a_eq, a_eq @ x, float(x.sum()))
    (lo, hi), = lp_stack([spec, spec])[:1]
    assert np.allclose(lo, ref_lo, atol=1e-6) and np.allclose(hi, ref_hi, atol=1e-6)
    # screened: a bound it does not solve for is an inner bound that is wide enough
    (s_lo, s_hi), = lp_stack([{**spec, "x0": x}], enough=5)
    for a, b, r_lo, r_hi in zip(s_lo, s_hi, ref_lo, ref_hi, strict=True):
        assert r_lo - 1e-6 <= a and b <= r_hi + 1e-6
        if _width(r_lo, r_hi) < 5:
            assert np.isclose(a, r_lo, atol=1e-6) and np.isclose(b, r_hi, atol=1e-6)


# -- the shortcut for tables whose lines share no cell ---------------------------------------
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from([(1, 1), (2, 1), (3, 1), (5, 1), (1, 4), (1, 2), (2, 2), (3, 3),
                           (2, 4)]),
    margins=st.sampled_from([True, "row", "column"]),
    data=st.data(),
    threshold=st.sampled_from([3, 5, 10]),
    zeros=st.booleans(),
)
def test_the_shortcut_agrees_with_the_linear_programmes(shape, margins, data, threshold,
                                                        zeros) -> None:
    """``_protect`` with ``shortcut`` (the line rule alone where no two lines share a cell)
    withholds exactly what the reference (the rule, then :func:`_exact_cells`' programmes
    until no primary cell is narrowed) withholds, on random tables with random forced
    cells: one column or one row with its total (disjoint lines: the shortcut's case) and
    tables with both margins (lines cross: the shortcut must not apply)."""
    from crisis_survey.present._disclosure import _protect, _table_lines, default_protection

    rows, cols = shape
    lines = _table_lines(rows, cols, margins)
    body = data.draw(arrays(np.int64, shape, elements=st.integers(0, 25)))
    table = pd.DataFrame(body)
    if margins in (True, "column"):
        table["T"] = table.sum(axis=1)
    if margins in (True, "row"):
        table.loc["T"] = table.sum(axis=0)
    values = table.to_numpy(dtype=np.int64).ravel()
    force = data.draw(arrays(np.bool_, values.size, elements=st.booleans()))
    need = default_protection(threshold)
    kw = dict(threshold=threshold, suppress_zeros=zeros, force=force, prefer="parts",
              protection=need)
    fast = _protect(values, lines, **kw)
    plain = _protect(values, lines, shortcut=False, **kw)
    assert fast.tolist() == plain.tolist()


@settings(max_examples=200, deadline=None)
@given(counts=arrays(np.int64, st.integers(1, 6), elements=st.integers(0, 40)),
       data=st.data(), threshold=st.sampled_from([5, 10]))
def test_protect_column_is_suppress_of_the_column(counts, data, threshold) -> None:
    """The distribution table's level protection calls :func:`protect_column` (no frames):
    it withholds what :func:`suppress` of the column with its total row withholds."""
    from crisis_survey.present._disclosure import protect_column

    force = data.draw(arrays(np.bool_, counts.size, elements=st.booleans()))
    already = pd.DataFrame({"n": [*force, False]}, index=[*range(counts.size), "Total"])
    res = suppress(pd.DataFrame({"n": counts}), threshold=threshold, margins="row",
                   force=already)
    got = protect_column(counts, force, threshold=threshold)
    assert got.tolist() == res.mask["n"].to_numpy()[:-1].tolist()


def test_the_shortcut_does_not_apply_where_lines_cross() -> None:
    """A table with both margins: the line rule alone leaves the small 2 of the first row
    narrowed (found by the programmes), so the shortcut, which skips them, must not apply;
    ``_disjoint`` is what keeps it out (forced true, the result differs)."""
    from unittest import mock

    from crisis_survey.present import _disclosure as d

    t = pd.DataFrame([[3, 2, 1], [14, 0, 11]])
    t["T"] = t.sum(axis=1)
    t.loc["T"] = t.sum(axis=0)
    values = t.to_numpy(dtype=np.int64).ravel()
    lines = d._table_lines(2, 3, True)
    kw = dict(threshold=10, suppress_zeros=False, force=np.zeros(values.size, bool),
              prefer="parts", protection=5)
    plain = d._protect(values, lines, shortcut=False, **kw)
    assert d._protect(values, lines, **kw).tolist() == plain.tolist()
    with mock.patch.object(d, "_disjoint", lambda *a: True):
        assert d._protect(values, lines, **kw).tolist() != plain.tolist()
