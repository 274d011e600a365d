"""Tests for crisis_survey.stats.proportion_ci against R.

Expected values: tests/fixtures/proportions.json, written by tests/fixtures/r/proportions.R
(``prop.test(x, n, correct = FALSE, conf.level)$conf.int`` for Wilson and
``binom.test(x, n, conf.level)$conf.int`` for Clopper-Pearson; R 4.2.2).
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
