"""change_by_group_model (src/crisis_survey/compare/_model.py) against R's geepack and against
the per-respondent statsmodels fit it replaced.

Expected values: tests/fixtures/model.json and model_2.json, written by
tests/fixtures/r/model.R (R 4.2.2, geepack 1.3.9) from tests/fixtures/model_data.csv and
model_data_2.csv, the long data of make_study(7, ...) and make_study(3, ...). The
reference fit (statsmodels' OrdinalGEE / GEE on one row per answer) is tests/_gee_reference.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _compare_data import make_study, swap_waves
from _gee_reference import long_data, statsmodels_fit
from crisis_survey import CrisisSurveyError
from crisis_survey.compare import change_by_group_model
from crisis_survey.compare._model import (
    Patterns,
    fit_patterns,
    item_patterns,
    models_by_item,
)

FIXTURES = Path(__file__).parent / "fixtures"
# (fixture, the make_study call whose long data R fitted); both written by r/model.R
SOURCES = {"model.json": (7, 300, 260, 120), "model_2.json": (3, 150, 400, 90)}
LOADED = {name: json.loads((FIXTURES / name).read_text()) for name in SOURCES}
FIXTURE = LOADED["model.json"]
CASES = [dict(case, fixture=name) for name, f in LOADED.items() for case in f["cases"]]


def _ids(case: dict[str, Any]) -> str:
    return f"{case['fixture']}-{case['item']}-{case['method']}"


@pytest.fixture(scope="module")
def studies() -> dict[str, Any]:
    return {name: make_study(s, n1=a, n2=b, n_linked=c) for name, (s, a, b, c) in SOURCES.items()}


@pytest.fixture(scope="module")
def study(studies: dict[str, Any]) -> Any:
    return studies["model.json"]


@pytest.mark.parametrize("name", list(SOURCES))
def test_fixture_records_r_and_data(studies: dict[str, Any], name: str) -> None:
    fixture = LOADED[name]
    assert fixture["r_version"].startswith("R version")
    assert fixture["packages"]["geepack"]
    assert (FIXTURES / "r" / "model.R").exists()
    # the data R fitted are the data the library builds from the study
    data = pd.read_csv(Path(__file__).parents[1] / fixture["data"])
    for item in data["item"].unique():
        mine = long_data(studies[name], item)
        theirs = data[data["item"] == item].drop(columns="item").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "independence"], ids=_ids)
def test_independence_gee_equals_geepack(studies: dict[str, Any], case: dict[str, Any]) -> None:
    # R: geeglm(..., corstr = "independence") as in case["call"]
    res = change_by_group_model(studies[case["fixture"]], case["item"], method=case["method"])
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
    # the published difference in change: exp of geepack's interaction and its Wald bounds
    # for the ordinal model (a ratio of odds ratios), the interaction itself for the linear
    d = res.effects.iloc[-1]
    est, se = case["estimate"][-1], case["se"][-1]
    bounds = (est, est - 1.959963984540054 * se, est + 1.959963984540054 * se)
    want = [math.exp(v) for v in bounds] if case["method"] == "ordinal-gee" else list(bounds)
    assert [d["estimate"], d["ci_low"], d["ci_high"]] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "exchangeable"], ids=_ids)
def test_exchangeable_gee_equals_geepack_given_its_alpha(studies: dict[str, Any],
                                                         case: dict[str, Any]) -> None:
    # statsmodels and geepack estimate the exchangeable correlation with different moment
    # formulas (geepack's alpha is in the fixture; docs/methods/change-by-group-model.md);
    # given geepack's alpha, the estimating equations and the sandwich agree to 1e-9 ...
    ordinal = case["method"] == "ordinal-gee"
    pat, _, _ = item_patterns(studies[case["fixture"]], case["item"], scores=not ordinal)
    fit = fit_patterns(pat, ordinal=ordinal, exchangeable=True, alpha=case["alpha"])
    np.testing.assert_allclose(fit.params, case["estimate"], rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), case["se"], rtol=1e-9)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["cov_struct"] == "exchangeable"], ids=_ids)
def test_exchangeable_fit_is_close_to_geepack(studies: dict[str, Any],
                                              case: dict[str, Any]) -> None:
    # ... the same fit with geepack's moment estimator (no degrees-of-freedom correction)
    # equals geepack's, correlation included ...
    study = studies[case["fixture"]]
    ordinal = case["method"] == "ordinal-gee"
    pat, _, _ = item_patterns(study, case["item"], scores=not ordinal)
    fit = fit_patterns(pat, ordinal=ordinal, exchangeable=True, alpha_ddof=0)
    assert fit.alpha == pytest.approx(case["alpha"], rel=1e-9)
    np.testing.assert_allclose(fit.params, case["estimate"], rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), case["se"], rtol=1e-9)
    # ... and the library's own fit (statsmodels' estimator) is close to geepack's: estimates
    # within 2% of a standard error, SEs within 2%
    res = change_by_group_model(study, case["item"], method=case["method"],
                                cov_struct="exchangeable")
    assert res.details["exchangeable_correlation"] == pytest.approx(case["alpha"], abs=0.02)
    se = np.asarray(case["se"])
    assert np.all(np.abs(res.terms["estimate"] - np.asarray(case["estimate"])) < 0.02 * se)
    np.testing.assert_allclose(res.terms["se"], se, rtol=2e-2)


def _agree(res: Any, ref: dict[str, Any]) -> None:
    """Estimates, robust SEs, Wald z and p of the counts fit equal statsmodels' to 1e-6."""
    np.testing.assert_allclose(res.terms["estimate"], ref["params"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.terms["se"], ref["bse"], rtol=1e-6, atol=1e-12)
    z = ref["params"] / ref["bse"]
    np.testing.assert_allclose(res.terms["z"], z, rtol=1e-6, atol=1e-9)
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])
    np.testing.assert_allclose(res.terms["p_value"], p, rtol=1e-6, atol=1e-12)
    assert res.details.get("exchangeable_correlation", 0.0) == pytest.approx(
        ref["alpha"], rel=1e-6, abs=1e-12)


REFERENCE_CASES = [
    (seed, sizes, item, method, cs)
    for seed, sizes in ((7, (300, 260, 120)), (3, (150, 400, 90)), (11, (500, 200, 180)))
    for item, method in (("overall_rating", "ordinal-gee"), ("exp_followup", "ordinal-gee"),
                         ("overall_rating", "linear-gee"), ("wellbeing", "linear-gee"))
    for cs in ("independence", "exchangeable")
]


@pytest.mark.parametrize(("seed", "sizes", "item", "method", "cs"), REFERENCE_CASES)
def test_counts_fit_equals_statsmodels(seed: int, sizes: tuple[int, int, int], item: str,
                                       method: str, cs: str) -> None:
    # the reference: statsmodels' OrdinalGEE / GEE on one row per answer (the former product
    # path), on make_study datasets with missing answers, unlinked and linked respondents
    s = make_study(seed, n1=sizes[0], n2=sizes[1], n_linked=sizes[2])
    res = change_by_group_model(s, item, method=method, cov_struct=cs)  # type: ignore[arg-type]
    _agree(res, statsmodels_fit(s, item, method=method, cov_struct=cs))
    data = long_data(s, item)
    assert res.n_observations == len(data)
    assert res.n_clusters == data["cluster"].nunique()
    linked = data.loc[data["cluster"].str.startswith("L:"), "cluster"].nunique()
    assert res.n_linked == linked


def test_patterns_are_the_long_data(study: Any) -> None:
    # every respondent's (group, wave-1 answer, wave-2 answer), counted, is the pattern table
    def key(g: Any, y1: float, y2: float) -> tuple[int, int, int]:
        return int(g), -1 if pd.isna(y1) else int(y1), -1 if pd.isna(y2) else int(y2)

    for item in ("overall_rating", "exp_followup"):
        pat = item_patterns(study, item, scores=False)[0]
        mine = {key(g, *y): int(w) for g, y, w in zip(pat.group, pat.y, pat.weight, strict=True)}
        data = long_data(study, item)
        wide = data.pivot_table(index="cluster", columns="wave", values="y", aggfunc="first")
        wide = wide.reindex(columns=[0, 1]).join(data.groupby("cluster")["group"].first())
        theirs: dict[tuple[int, int, int], int] = {}
        for g, y1, y2 in zip(wide["group"], wide[0], wide[1], strict=True):
            theirs[key(g, y1, y2)] = theirs.get(key(g, y1, y2), 0) + 1
        assert mine == theirs


def _long_from_patterns(pat: Patterns) -> pd.DataFrame:
    """One row per answer of the respondents the patterns stand for (for statsmodels)."""
    rows: list[tuple[str, int, int, float]] = []
    person = 0
    for g, y, w in zip(pat.group, pat.y, pat.weight, strict=True):
        for _ in range(int(w)):
            person += 1
            rows.extend((f"c{person}", t, int(g), float(y[t])) for t in (0, 1)
                        if not math.isnan(y[t]))
    data = pd.DataFrame(rows, columns=["cluster", "wave", "group", "y"])
    return data.assign(score=data["y"])


@st.composite
def patterns(draw: st.DrawFn) -> Patterns:
    """Random pattern counts: k levels, every level answered in every (group, wave) (no
    separation), linked respondents with and without a missing side."""
    k = draw(st.integers(2, 4))
    cells = [(g, a, b) for g in (0, 1) for a in [*range(k), -1] for b in [*range(k), -1]
             if not (a < 0 and b < 0)]
    counts = draw(st.lists(st.integers(0, 4), min_size=len(cells), max_size=len(cells)))
    table = dict(zip(cells, counts, strict=True))
    for g in (0, 1):
        for j in range(k):
            table[(g, j, -1)] += 1
            table[(g, -1, j)] += 1
    keep = [c for c in cells if table[c] > 0]
    return Patterns(np.array([c[0] for c in keep], dtype=np.int64),
                    np.array([[np.nan if v < 0 else v for v in c[1:]] for c in keep], dtype=float),
                    np.array([table[c] for c in keep], dtype=float))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pat=patterns(), ordinal=st.booleans(), exchangeable=st.booleans())
def test_property_counts_fit_equals_statsmodels(pat: Patterns, ordinal: bool,
                                                exchangeable: bool) -> None:
    data = _long_from_patterns(pat)
    ref = statsmodels_fit(None, "", method="ordinal-gee" if ordinal else "linear-gee",
                          cov_struct="exchangeable" if exchangeable else "independence",
                          data=data)
    fit = fit_patterns(pat, ordinal=ordinal, exchangeable=exchangeable)
    np.testing.assert_allclose(fit.params, ref["params"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), ref["bse"], rtol=1e-6, atol=1e-10)
    assert fit.alpha == pytest.approx(ref["alpha"], rel=1e-6, abs=1e-10)


def test_models_by_item_are_the_single_item_fits(study: Any) -> None:
    # the report's batch (one layout, one counting pass) gives each item's own result or error
    items = ["overall_rating", "comments", "exp_followup", "local_change"]
    out = models_by_item(study, items, cov_struct="exchangeable", confidence=0.9)
    for item, got in zip(items, out, strict=True):
        try:
            want = change_by_group_model(study, item, cov_struct="exchangeable", confidence=0.9)
        except CrisisSurveyError as exc:
            assert isinstance(got, CrisisSurveyError) and str(got) == str(exc)
            continue
        assert not isinstance(got, CrisisSurveyError)
        pd.testing.assert_frame_equal(got.terms, want.terms)
        pd.testing.assert_frame_equal(got.wave_effects, want.wave_effects)
        assert (got.n_observations, got.n_clusters, got.n_linked) == (
            want.n_observations, want.n_clusters, want.n_linked)
    assert sum(isinstance(m, CrisisSurveyError) for m in out) == 2


def test_odds_ratios_are_the_exponentiated_estimates(study: Any) -> None:
    res = change_by_group_model(study, "overall_rating")
    for frame in (res.terms, res.wave_effects):
        np.testing.assert_allclose(frame["odds_ratio"], np.exp(frame["estimate"]), rtol=1e-12)
        np.testing.assert_allclose(frame["or_ci_low"], np.exp(frame["ci_low"]), rtol=1e-12)
        np.testing.assert_allclose(frame["or_ci_high"], np.exp(frame["ci_high"]), rtol=1e-12)
        assert (frame["or_ci_low"] < frame["odds_ratio"]).all()
    lin = change_by_group_model(study, "overall_rating", method="linear-gee")
    assert lin.terms["odds_ratio"].isna().all()


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
    assert "difference in change between groups" in str(res)
    assert "ratio of cumulative odds ratios" in str(res)
    assert "<table" in res._repr_html_()


def test_swapping_waves_flips_the_interaction(study: Any) -> None:
    a = change_by_group_model(study, "overall_rating").interaction
    b = change_by_group_model(swap_waves(study), "overall_rating").interaction
    assert b["estimate"] == pytest.approx(-a["estimate"], rel=1e-6)
    assert b["se"] == pytest.approx(a["se"], rel=1e-6)


def test_effects_are_odds_ratios_labelled_by_what_they_mean(study: Any) -> None:
    res = change_by_group_model(study, "overall_rating")
    e = res.effects.set_index("term")
    we = res.wave_effects.set_index("term")
    assert list(e.index) == [*we.index, "difference"]
    for g in we.index:  # per group: the odds of a higher answer in wave 2 vs wave 1
        assert e.loc[g, "effect_measure"] == "cumulative odds ratio"
        assert "higher answer in wave 2 vs wave 1" in e.loc[g, "meaning"]
        assert e.loc[g, "estimate"] == pytest.approx(math.exp(we.loc[g, "estimate"]))
        assert e.loc[g, "ci_low"] == pytest.approx(math.exp(we.loc[g, "ci_low"]))
    assert e.loc["difference", "effect_measure"] == "ratio of cumulative odds ratios"
    assert "difference in change between groups" in e.loc["difference", "meaning"]
    # the ratio of the groups' odds ratios
    ratio = e.loc[we.index[1], "estimate"] / e.loc[we.index[0], "estimate"]
    assert e.loc["difference", "estimate"] == pytest.approx(ratio, rel=1e-9)
    # one direction: swapping the waves inverts every odds ratio
    back = change_by_group_model(swap_waves(study), "overall_rating").effects
    np.testing.assert_allclose(back["estimate"], 1 / res.effects["estimate"], rtol=1e-6)
    lin = change_by_group_model(study, "overall_rating", method="linear-gee").effects
    assert set(lin["effect_measure"]) == {"mean code difference", "difference in mean code change"}


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


# -- the weighted model (attrition weights) against geepack::geeglm(weights = w) -------------
def test_weighted_model_matches_geeglm_with_weights() -> None:
    import json
    from pathlib import Path

    import pandas as pd

    from crisis_survey import load_sample_study
    from crisis_survey.compare import attrition_weights, change_by_group_model
    from crisis_survey.compare._model import weighted_item_patterns

    here = Path(__file__).parent / "fixtures"
    ref = json.loads((here / "model_weighted.json").read_text())
    assert ref["script"] == "tests/fixtures/r/model_weighted.R"
    data = pd.read_csv(here / "model_weighted_data.csv")
    study = load_sample_study()
    w = attrition_weights(study, ["demographic", "overall_rating"])
    for case in ref["cases"]:
        # the fixture's data are the library's weighted patterns, answer by answer
        pat, _, _ = weighted_item_patterns(study, w, case["item"])
        rows = data[data["item"] == case["item"]]
        has = ~np.isnan(pat.y)
        assert len(rows) == int(has.sum()) == case["n_answers"]
        # (the weights come from an iterative fit: across numpy/scipy releases they move
        # in the 14th digit, 1.2e-14 with numpy 2.4.6 and scipy 1.17.1, far below what
        # the estimates compared with R to 1e-6 below can feel)
        assert np.allclose(np.sort(rows["w"].to_numpy()), np.sort(pat.wave_weight[has]),
                           rtol=1e-12, atol=0)
        res = change_by_group_model(study, case["item"], weights=w)
        assert list(res.terms["term"]) == case["names"]
        assert res.n_clusters == case["n_clusters"]
        np.testing.assert_allclose(res.terms["estimate"], case["estimate"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(res.terms["se"], case["se"], rtol=0, atol=1e-6)
        # weighting changes the answer: the weighted wave effect is not the unweighted one
        plain = change_by_group_model(study, case["item"])
        assert abs(plain.terms["estimate"].iloc[-3] - res.terms["estimate"].iloc[-3]) > 0.03


def test_weighted_model_with_unit_weights_is_the_unweighted_model() -> None:
    import dataclasses

    from crisis_survey import load_sample_study
    from crisis_survey.compare import attrition_weights, change_by_group_model

    study = load_sample_study()
    w = attrition_weights(study, ["demographic"])
    ones = dataclasses.replace(w, weights=w.weights * 0 + 1)
    for item in ("overall_rating", "exp_knew_contact"):
        a, b = change_by_group_model(study, item), change_by_group_model(study, item,
                                                                         weights=ones)
        np.testing.assert_allclose(b.terms["estimate"], a.terms["estimate"], atol=1e-12)
        np.testing.assert_allclose(b.terms["se"], a.terms["se"], atol=1e-12)
        assert (b.n_clusters, b.n_linked, b.n_observations) == (
            a.n_clusters, a.n_linked, a.n_observations)
    with pytest.raises(CrisisSurveyError, match="independence working correlation"):
        change_by_group_model(study, "overall_rating", weights=w, cov_struct="exchangeable")
