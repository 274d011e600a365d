"""change_by_group_model (src/crisis_survey/compare/_model.py) against R's geepack.

Expected values: tests/fixtures/model.json, written by tests/fixtures/r/model.R (R 4.2.2,
geepack 1.3.9) from tests/fixtures/model_data.csv, the long data of make_study(7, ...).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE

from _compare_data import make_study, swap_waves
from crisis_survey import CrisisSurveyError
from crisis_survey.compare import change_by_group_model
from crisis_survey.compare._model import long_data

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = json.loads((FIXTURES / "model.json").read_text())
CASES = FIXTURE["cases"]


@pytest.fixture(scope="module")
def study() -> Any:
    return make_study(7, n1=300, n2=260, n_linked=120)


def test_fixture_records_r_and_data(study: Any) -> None:
    assert FIXTURE["r_version"].startswith("R version")
    assert FIXTURE["packages"]["geepack"]
    assert (FIXTURES / "r" / "model.R").exists()
    # the data R fitted are the data the library builds from the study
    data = pd.read_csv(FIXTURES / "model_data.csv")
    for item in ("overall_rating", "exp_followup"):
        mine = long_data(study, item)
        theirs = data[data["item"] == item].drop(columns="item").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "independence"],
    ids=lambda c: f"{c['item']}-{c['method']}",
)
def test_independence_gee_equals_geepack(study: Any, case: dict[str, Any]) -> None:
    # R: geeglm(..., corstr = "independence") as in case["call"]
    res = change_by_group_model(study, case["item"], method=case["method"])
    assert list(res.terms["term"]) == case["names"]
    np.testing.assert_allclose(res.terms["estimate"], case["estimate"], rtol=1e-9)
    np.testing.assert_allclose(res.terms["se"], case["se"], rtol=1e-9)
    i = res.interaction
    assert i["z"] == pytest.approx(case["estimate"][-1] / case["se"][-1], rel=1e-9)
    assert i["p_value"] == pytest.approx(
        math.erfc(abs(i["z"]) / math.sqrt(2)), rel=1e-9
    )
    assert i["ci_low"] == pytest.approx(case["estimate"][-1] - 1.959963984540054 *
                                        case["se"][-1], rel=1e-9)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "exchangeable"],
    ids=lambda c: f"{c['item']}-{c['method']}",
)
def test_exchangeable_gee_equals_geepack_given_its_alpha(study: Any, case: dict[str, Any]) -> None:
    # statsmodels and geepack estimate the exchangeable correlation with different moment
    # formulas (geepack's alpha is in the fixture); given geepack's alpha, the estimating
    # equations and the sandwich agree to 1e-9 ...
    data = long_data(study, case["item"])
    x = np.column_stack([data["wave"], data["group"], data["wave"] * data["group"]]).astype(float)
    groups = pd.factorize(data["cluster"])[0]
    cs = sm.cov_struct.Exchangeable()
    if case["method"] == "ordinal-gee":
        model = OrdinalGEE(data["y"].to_numpy(float), x, groups=groups, cov_struct=cs)
    else:
        model = sm.GEE(data["score"].to_numpy(float), sm.add_constant(x), groups=groups,
                       cov_struct=cs)
    cs.dep_params = case["alpha"]
    fit = model.fit(maxiter=50, ctol=1e-10, first_dep_update=10**6)
    np.testing.assert_allclose(fit.params, case["estimate"], rtol=1e-9)
    np.testing.assert_allclose(fit.bse, case["se"], rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "exchangeable"],
    ids=lambda c: f"{c['item']}-{c['method']}",
)
def test_exchangeable_fit_is_close_to_geepack(study: Any, case: dict[str, Any]) -> None:
    # The library's own fit (its own alpha estimate) is within 1% of geepack's.
    res = change_by_group_model(study, case["item"], method=case["method"],
                                cov_struct="exchangeable")
    assert res.details["exchangeable_correlation"] == pytest.approx(case["alpha"], abs=0.01)
    np.testing.assert_allclose(res.terms["estimate"], case["estimate"], rtol=1e-2)
    np.testing.assert_allclose(res.terms["se"], case["se"], rtol=1e-2)


def test_per_group_wave_effects_are_contrasts(study: Any) -> None:
    res = change_by_group_model(study, "overall_rating")
    t = res.terms.set_index("term")
    we = res.wave_effects.set_index("term")
    assert we.loc["Service user", "estimate"] == t.loc["wave", "estimate"]
    assert we.loc["Carer", "estimate"] == pytest.approx(
        t.loc["wave", "estimate"] + t.loc["wave:group", "estimate"], rel=1e-12
    )
    # the carer effect's SE is the one of a model with the groups' roles swapped
    assert we.loc["Carer", "se"] > 0
    assert res.n_clusters == long_data(study, "overall_rating")["cluster"].nunique()
    assert res.n_linked > 0 and res.n_observations > res.n_clusters
    frame = res.to_frame()
    assert {"coefficient", "wave effect in group"} == set(frame["kind"])
    assert "wave:group" in str(res) or "minus change" in str(res)
    assert "<table" in res._repr_html_()


def test_swapping_waves_flips_the_interaction(study: Any) -> None:
    a = change_by_group_model(study, "overall_rating").interaction
    b = change_by_group_model(swap_waves(study), "overall_rating").interaction
    assert b["estimate"] == pytest.approx(-a["estimate"], rel=1e-6)
    assert b["se"] == pytest.approx(a["se"], rel=1e-6)


@pytest.mark.parametrize(
    ("item", "kwargs", "message"),
    [
        ("comments", {}, "text item"),
        ("first_contact", {}, "nominal item"),
        ("local_change", {}, "both waves"),
        ("wellbeing", {}, "linear-gee"),
        ("overall_rating", {"method": "probit"}, "method"),
        ("overall_rating", {"cov_struct": "ar1"}, "cov_struct"),
    ],
)
def test_bad_requests(study: Any, item: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        change_by_group_model(study, item, **kwargs)
