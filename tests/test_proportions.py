"""Tests for crisis_survey.stats.proportion_ci against R.

Expected values: tests/fixtures/proportions.json, written by tests/fixtures/r/proportions.R
(``prop.test(x, n, correct = FALSE, conf.level)$conf.int`` for Wilson and
``binom.test(x, n, conf.level)$conf.int`` for Clopper-Pearson; R 4.2.2), and
tests/fixtures/net_change.json, written by tests/fixtures/r/net_change.R (the net change of
paired ordered answers, ``mean(sign(y - x))``, with Newcombe's paired method 10 written out in
base R on the raw pairs; R 4.2.2).
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
from crisis_survey.stats import proportion_ci
from crisis_survey.stats._proportions import (
    _net_change_reference,
    change_pattern_counts,
    net_change,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "proportions.json").read_text())
CASES: list[dict[str, Any]] = FIXTURE["cases"]


def test_fixture_names_its_script() -> None:
    assert (Path(__file__).parent.parent / FIXTURE["script"]).exists()


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['successes']}/{c['n']}@{c['confidence']}"
)
@pytest.mark.parametrize(
    ("method", "key"), [("wilson", "wilson"), ("clopper-pearson", "clopper_pearson")]
)
def test_matches_r(case: dict[str, Any], method: str, key: str) -> None:
    # expected: R prop.test(correct=FALSE)$conf.int / binom.test()$conf.int (proportions.R)
    got = proportion_ci(
        int(case["successes"]), int(case["n"]), method=method, confidence=case["confidence"]
    )
    np.testing.assert_allclose(got, case[key], rtol=1e-9, atol=1e-14)


def test_edges_are_exact() -> None:
    # R: both prop.test and binom.test give exactly 0 at x = 0 and exactly 1 at x = n
    for method in ("wilson", "clopper-pearson"):
        assert proportion_ci(0, 7, method=method)[0] == 0.0
        assert proportion_ci(7, 7, method=method)[1] == 1.0


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((5, 0), {}),
        ((6, 5), {}),
        ((-1, 5), {}),
        ((2.5, 5), {}),
        ((2, 5), {"confidence": 1.0}),
        ((2, 5), {"confidence": 0}),
        ((2, 5), {"method": "wald"}),
        (("2", 5), {}),
    ],
)
def test_bad_input_raises_clear_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(CrisisSurveyError):
        proportion_ci(*args, **kwargs)


def test_whole_floats_are_accepted() -> None:
    assert proportion_ci(3.0, 10.0) == proportion_ci(3, 10)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 5000),
    frac=st.floats(0, 1),
    conf=st.floats(0.5, 0.999),
    method=st.sampled_from(["wilson", "clopper-pearson"]),
)
def test_interval_contains_estimate_and_is_symmetric_under_relabelling(
    n: int, frac: float, conf: float, method: str
) -> None:
    x = round(frac * n)
    lo, hi = proportion_ci(x, n, method=method, confidence=conf)
    assert 0.0 <= lo <= x / n <= hi <= 1.0
    # counting failures instead of successes mirrors the interval
    lo2, hi2 = proportion_ci(n - x, n, method=method, confidence=conf)
    assert lo2 == pytest.approx(1 - hi, abs=1e-9)
    assert hi2 == pytest.approx(1 - lo, abs=1e-9)
    # a higher confidence level never gives a narrower interval
    lo3, hi3 = proportion_ci(x, n, method=method, confidence=min(0.9995, conf + 0.0005))
    assert lo3 <= lo + 1e-12 and hi3 >= hi - 1e-12


# -- the net change of paired ordered answers ----------------------------------------------
NET = json.loads((Path(__file__).parent / "fixtures" / "net_change.json").read_text())


def test_net_change_fixture_names_its_script() -> None:
    assert (Path(__file__).parent.parent / NET["script"]).exists()
    assert NET["r_version"].startswith("R version")


@pytest.mark.parametrize("case", NET["cases"], ids=lambda c: f"{len(c['table'])}x"
                         f"{c['n_up']}/{c['n_same']}/{c['n_down']}")
def test_net_change_matches_r(case: dict[str, Any]) -> None:
    # R: net_change.R expands each table into raw pairs, mean(sign(y - x)) and Newcombe's
    # method 10 written out on table(y < x, y > x) (newcombe10_raw)
    counts = change_pattern_counts(np.array(case["table"], dtype=float))
    assert counts.tolist() == [case["n_up"], case["n_same"], case["n_down"]]
    for level, key in ((0.95, "ci95"), (0.90, "ci90")):
        d, lo, hi = net_change(*counts, level)
        np.testing.assert_allclose([d, lo, hi], [case["net_change"], *case[key]],
                                   rtol=1e-9, atol=1e-12)


def test_net_change_batch_matches_the_plain_reference() -> None:
    # the batch over cells (pattern counts of stacked k x k tables, no loop over pairs) equals
    # the plain loop over raw pairs with scalar arithmetic (_net_change_reference)
    rng = np.random.default_rng(7)
    for k in (2, 4, 5):
        tables = rng.poisson(rng.uniform(0, 6, size=(40, k, k)))
        tables[:3] = 0
        tables[3] = np.diag(np.arange(1, k + 1))  # nobody changed
        tables[4] = np.triu(tables[4], 1)  # everybody moved up
        d, lo, hi = net_change(*change_pattern_counts(tables).T, 0.95)
        for c, t in enumerate(tables):
            i, j = np.indices(t.shape)
            x, y = np.repeat(i.ravel(), t.ravel()), np.repeat(j.ravel(), t.ravel())
            ref = _net_change_reference(x.tolist(), y.tolist(), 0.95)
            np.testing.assert_allclose([d[c], lo[c], hi[c]], ref, rtol=1e-12, atol=1e-15)


_COUNTS = st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)).filter(
    lambda c: sum(c) > 0)


@settings(max_examples=300, deadline=None)
@given(counts=_COUNTS, conf=st.floats(0.5, 0.999))
def test_net_change_properties(counts: tuple[int, int, int], conf: float) -> None:
    up, same, down = counts
    d, lo, hi = (float(v) for v in net_change(up, same, down, conf))
    # bounded, the interval holds the estimate
    assert -1.0 <= lo <= d <= hi <= 1.0
    assert d == pytest.approx((up - down) / (up + same + down), abs=1e-15)
    # swapping the waves swaps up and down: the estimate and interval change sign
    d2, lo2, hi2 = (float(v) for v in net_change(down, same, up, conf))
    assert d2 == pytest.approx(-d, abs=1e-15)
    assert lo2 == pytest.approx(-hi, abs=1e-12) and hi2 == pytest.approx(-lo, abs=1e-12)
    # a higher confidence level never gives a narrower interval
    _, lo3, hi3 = (float(v) for v in net_change(up, same, down, min(0.9995, conf + 0.0005)))
    assert lo3 <= lo + 1e-12 and hi3 >= hi - 1e-12


@settings(max_examples=100, deadline=None)
@given(t=st.lists(st.integers(0, 20), min_size=9, max_size=9))
def test_net_change_antisymmetric_under_swapping_waves_in_a_table(t: list[int]) -> None:
    table = np.array(t, dtype=float).reshape(3, 3)
    a, b = change_pattern_counts(table), change_pattern_counts(table.T)
    assert a.tolist() == b[::-1].tolist()
