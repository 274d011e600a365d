"""Tests for crisis_survey.stats.adjust_pvalues against R's p.adjust.

Expected values: tests/fixtures/multiplicity.json, written by tests/fixtures/r/multiplicity.R
(``p.adjust(p, method = m)`` for m in holm, hochberg, BH, BY, bonferroni; R 4.2.2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey import CrisisSurveyError
from crisis_survey.stats import adjust_pvalues
from crisis_survey.stats._multiplicity import ADJUST_METHODS

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "multiplicity.json").read_text())
CASES: list[dict[str, Any]] = FIXTURE["cases"]


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def test_fixture_names_its_script_and_r_version() -> None:
    assert FIXTURE["script"] == "tests/fixtures/r/multiplicity.R"
    assert (Path(__file__).parent.parent / FIXTURE["script"]).exists()
    assert FIXTURE["r_version"].startswith("R version")


@pytest.mark.parametrize("method", ADJUST_METHODS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_r_p_adjust(case: int, method: str) -> None:
    # expected: R p.adjust(p, method) from tests/fixtures/r/multiplicity.R, NA kept as NA
    raw = CASES[case]["p"]
    raw = raw if isinstance(raw, list) else [raw]
    expected = CASES[case]["adjusted"][method]
    expected = _arr(expected if isinstance(expected, list) else [expected])
    got = adjust_pvalues(_arr(raw), method=method)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, equal_nan=True)


def test_missing_values_are_not_counted_in_the_family() -> None:
    # R: p.adjust(c(0.01, NA, 0.04), "bonferroni") = 0.02 NA 0.08 (family of 2, not 3)
    got = adjust_pvalues([0.01, None, 0.04], method="bonferroni")
    np.testing.assert_allclose(got[[0, 2]], [0.02, 0.08])
    assert np.isnan(got[1])


def test_method_names_are_case_insensitive() -> None:
    np.testing.assert_array_equal(
        adjust_pvalues([0.01, 0.02], method="BH"), adjust_pvalues([0.01, 0.02], method="bh")
    )


def test_empty_and_all_missing_inputs() -> None:
    assert adjust_pvalues([]).shape == (0,)
    assert np.all(np.isnan(adjust_pvalues([None, np.nan])))


@pytest.mark.parametrize("bad", [[0.1, 1.2], [-0.01], ["a"]])
def test_bad_p_values_raise_clear_error(bad: list[Any]) -> None:
    with pytest.raises(CrisisSurveyError):
        adjust_pvalues(bad)


def test_unknown_method_raises() -> None:
    with pytest.raises(CrisisSurveyError, match="method must be one of"):
        adjust_pvalues([0.1], method="fdr-magic")


pvals = st.lists(st.one_of(st.floats(0, 1), st.none()), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(p=pvals, method=st.sampled_from(ADJUST_METHODS))
def test_adjusted_at_least_raw_at_most_one_and_order_preserving(
    p: list[float | None], method: str
) -> None:
    raw = _arr(p)
    adj = adjust_pvalues(raw, method=method)
    ok = ~np.isnan(raw)
    np.testing.assert_array_equal(np.isnan(adj), ~ok)
    r, a = raw[ok], adj[ok]
    assert np.all(a >= r - 1e-15)
    assert np.all(a <= 1.0)
    # monotone: a smaller raw p never gets a larger adjusted p
    order = np.argsort(r, kind="stable")
    assert np.all(np.diff(a[order]) >= -1e-15)


@settings(max_examples=100, deadline=None)
@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_permuting_the_family_permutes_the_result(p: list[float], seed: int) -> None:
    raw = np.array(p)
    perm = np.random.default_rng(seed).permutation(raw.size)
    for method in ADJUST_METHODS:
        np.testing.assert_allclose(
            adjust_pvalues(raw[perm], method=method), adjust_pvalues(raw, method=method)[perm]
        )
