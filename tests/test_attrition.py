"""Tests of crisis_survey.link.attrition_table and standardized_difference.

Expected values come from tests/fixtures/attrition.json, written by
tests/fixtures/r/attrition.R (base R wilcox.test / chisq.test, effectsize::rank_biserial /
cramers_v, and the standardized differences written out from Austin 2009 and Yang & Dalton
2012). The same script simulates the wave-1 data and each row's linkage status.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from _waves import CODEBOOK, make_wave
from crisis_survey import CrisisSurveyError
from crisis_survey.link import attrition_table, link_waves, standardized_difference
from crisis_survey.link._attrition import ATTRITION_COLUMNS

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "attrition.json").read_text())
VARIABLES = ["age_band", "gender", "ethnicity", "overall_rating", "exp_family_involved",
             "exp_knew_contact", "exp_followup"]
REL = 1e-6


def _fixture_study() -> Any:
    w1 = FIXTURE["wave1"]
    cols: dict[str, list[Any]] = {
        "respondent_id": [f"R{i:04d}" for i in range(len(w1["key"]))],
        "link_key": w1["key"],
        "group": w1["group"],
    }
    for name in VARIABLES:
        cols[name] = w1[name]
    wave1 = make_wave(1, cols)
    w2 = FIXTURE["wave2"]
    wave2 = make_wave(2, {
        "respondent_id": [f"S{i:04d}" for i in range(len(w2["link_key"]))],
        "link_key": w2["link_key"],
        "group": w2["group"],
    })
    return link_waves(wave1, wave2)


STUDY = _fixture_study()
TABLES = {opt: attrition_table(STUDY, items=VARIABLES, not_returned=opt)
          for opt in ("unlinked", "wave1_only")}


def test_fixture_statuses_are_what_r_simulated() -> None:
    # The R script decided each wave-1 row's status and built wave 2 to produce it.
    status = STUDY.link_status(1).astype(str).tolist()
    assert status == FIXTURE["wave1"]["status"]


def _close(actual: float, expected: float | None) -> bool:
    if expected is None:
        return math.isnan(actual)
    return math.isclose(actual, expected, rel_tol=REL, abs_tol=1e-12)


@pytest.mark.parametrize("case", FIXTURE["expected"],
                         ids=lambda c: f"{c['option']}-{c['group']}-{c['variable']}")
def test_attrition_rows_match_r(case: dict[str, Any]) -> None:
    table = TABLES[case["option"]]
    row = table.loc[(table["group"] == case["group"]) & (table["variable"] == case["variable"])]
    assert len(row) == 1
    r = row.iloc[0]
    assert r["measurement"] == case["measurement"]
    assert int(r["n_returned"]) == case["n_returned"]
    assert int(r["n_not_returned"]) == case["n_not_returned"]
    # wilcox.test(x, y, exact = FALSE, correct = TRUE)$statistic / chisq.test(tab, correct =
    # FALSE)$statistic and $p.value, from the fixture
    assert _close(r["statistic"], case["statistic"])
    assert _close(r["p_value"], case["p_value"])
    assert _close(r["df"], case["df"])
    # effectsize::rank_biserial(x, y)$r_rank_biserial / cramers_v(tab)$Cramers_v_adjusted
    # (x = returned); a binary item's effect is the risk difference returned - not returned,
    # from R's percentages (its interval: tests/test_effects.py)
    if case["measurement"] == "binary":
        assert r["effect_measure"] == "risk difference"
        assert _close(r["effect_size"],
                      (case["pct_returned"] - case["pct_not_returned"]) / 100)
    else:
        assert _close(r["effect_size"], case["effect_size"])
    # standardized differences written out in attrition.R
    assert _close(r["std_diff"], case["std_diff"])
    if case["measurement"] == "ordinal":
        assert r["test"] == "mann_whitney"
        assert _close(r["median_returned"], case["median_returned"])  # R: median(x)
        assert _close(r["median_not_returned"], case["median_not_returned"])
        assert _close(r["pct_returned"], case["pct_returned"])  # R: 100 * mean(x >= k - 1)
        assert _close(r["pct_not_returned"], case["pct_not_returned"])
    else:
        assert r["test"] == "chi_square"
    if case["measurement"] == "binary":
        assert _close(r["pct_returned"], case["pct_returned"])  # R: 100 * mean(x == 1)
        assert _close(r["pct_not_returned"], case["pct_not_returned"])
        assert r["summary_returned"] == f"{case['pct_returned']:.1f}% Yes"
    if case["measurement"] == "nominal":
        labels = CODEBOOK[case["variable"]].labels
        # R: sprintf("%.1f", 100 * table(factor(x, levels)) / length(x))
        for side in ("returned", "not_returned"):
            expected = "; ".join(f"{lab} {p}%" for lab, p in
                                 zip(labels, case[f"pct_levels_{side}"], strict=True))
            assert r[f"summary_{side}"] == expected
        assert math.isnan(r["pct_returned"])


def test_every_fixture_row_is_present_and_no_more() -> None:
    for opt, table in TABLES.items():
        expected = {(c["group"], c["variable"]) for c in FIXTURE["expected"]
                    if c["option"] == opt}
        assert set(zip(table["group"], table["variable"], strict=True)) == expected
        assert len(table) == len(expected)


@pytest.mark.parametrize("case", FIXTURE["standardized_difference"], ids=lambda c: c["m"])
def test_standardized_difference_matches_r(case: dict[str, Any]) -> None:
    value = standardized_difference(case["x"], case["y"], case["k"], case["m"])
    assert math.isclose(value, case["value"], rel_tol=REL)


def test_schema_and_types() -> None:
    table = TABLES["unlinked"]
    assert tuple(table.columns) == ATTRITION_COLUMNS
    assert table["n_returned"].dtype == np.int64
    assert table["p_value"].dtype == np.float64
    # first the "All" rows, then each group, every variable in codebook order
    assert table["group"].drop_duplicates().tolist() == ["All", "Service user", "Carer"]
    assert table["variable"].drop_duplicates().tolist() == VARIABLES


def test_default_variables_are_demographics_then_wave1_categorical_items() -> None:
    table = attrition_table(STUDY)
    expected = [f.name for f in (*CODEBOOK.demographics(), *CODEBOOK.items(wave=1))
                if f.measurement in ("ordinal", "binary", "nominal")
                and f.name in STUDY.wave1.data.columns]
    assert table["variable"].drop_duplicates().tolist() == expected


def test_not_returned_definitions_count_the_right_rows() -> None:
    status = STUDY.link_status(1).astype(str)
    answered = STUDY.wave1.data["gender"].notna()
    all_rows = TABLES["unlinked"].query("group == 'All' and variable == 'gender'").iloc[0]
    only_rows = TABLES["wave1_only"].query("group == 'All' and variable == 'gender'").iloc[0]
    assert all_rows["n_returned"] == ((status == "linked") & answered).sum()
    assert all_rows["n_not_returned"] == ((status != "linked") & answered).sum()
    assert only_rows["n_not_returned"] == ((status == "wave-1 only") & answered).sum()


def test_row_order_of_wave1_does_not_matter() -> None:
    rng = np.random.default_rng(4)
    w1 = STUDY.wave1
    order = rng.permutation(len(w1.data))
    shuffled = make_wave(1, w1.data.iloc[order].reset_index(drop=True),
                         rows=w1.data.index[order])
    study = link_waves(shuffled, STUDY.wave2)
    pd.testing.assert_frame_equal(attrition_table(study, items=VARIABLES), TABLES["unlinked"])


def test_no_returned_respondents_gives_a_note_not_an_error() -> None:
    w1 = make_wave(1, {"respondent_id": ["a", "b", "c"], "link_key": ["k1", "k2", "k3"],
                       "group": ["Carer"] * 3, "overall_rating": ["Good", "Poor", None]})
    w2 = make_wave(2, {"respondent_id": ["x"], "link_key": ["zz"], "group": ["Carer"]})
    table = attrition_table(link_waves(w1, w2), items=["overall_rating"])
    row = table.iloc[0]
    assert row["n_returned"] == 0 and row["n_not_returned"] == 2
    assert row["note"] == "no answers among those who returned"
    assert math.isnan(row["p_value"]) and row["test"] is None
    assert row["summary_returned"] == "no answers"


def test_one_level_only_is_reported_as_not_testable() -> None:
    w1 = make_wave(1, {"respondent_id": list("abcd"), "link_key": ["k1", "k2", "k3", "k4"],
                       "group": ["Carer"] * 4, "exp_followup": ["Yes"] * 4})
    w2 = make_wave(2, {"respondent_id": ["x", "y"], "link_key": ["k1", "k2"],
                       "group": ["Carer"] * 2})
    row = attrition_table(link_waves(w1, w2), items=["exp_followup"]).iloc[0]
    assert math.isnan(row["p_value"])
    assert "not defined" in row["note"]
    assert math.isnan(row["std_diff"])  # both proportions 1: zero pooled variance


def test_median_between_two_levels_is_named_as_such() -> None:
    w1 = make_wave(1, {"respondent_id": list("abcd"), "link_key": ["k1", "k2", "k3", "k4"],
                       "group": ["Carer"] * 4,
                       "overall_rating": ["Fair", "Good", "Poor", "Poor"]})
    w2 = make_wave(2, {"respondent_id": ["x", "y"], "link_key": ["k1", "k2"],
                       "group": ["Carer"] * 2})
    row = attrition_table(link_waves(w1, w2), items=["overall_rating"]).iloc[0]
    assert row["median_returned"] == 3.5  # R: median(c(3, 4))
    assert row["summary_returned"].startswith("median Fair/Good;")


def test_standardized_difference_edge_cases() -> None:
    assert math.isnan(standardized_difference([], [1, 2], 3, "ordinal"))
    assert math.isnan(standardized_difference([1, 1], [1, 1], 3, "ordinal"))  # zero variance
    assert standardized_difference([2, 2], [2, 2, 2], 3, "nominal") == 0.0  # one level
    assert math.isnan(standardized_difference([0, 0], [1, 1], 2, "nominal"))  # separation
    # missing values (negative positions) are dropped
    assert standardized_difference([0, 1, -1], [1, 0, -1], 2, "binary") == 0.0


def test_bad_input() -> None:
    with pytest.raises(CrisisSurveyError, match="needs a LinkedStudy"):
        attrition_table("study")  # type: ignore[arg-type]
    with pytest.raises(CrisisSurveyError, match="not_returned"):
        attrition_table(STUDY, not_returned="all")  # type: ignore[arg-type]
    with pytest.raises(CrisisSurveyError, match="not a column of wave 1"):
        attrition_table(STUDY, items=["local_change"])
    w1 = make_wave(1, {"respondent_id": ["a"], "link_key": ["k"], "group": ["Carer"],
                       "comments": ["fine"]})
    w2 = make_wave(2, {"respondent_id": ["b"], "link_key": ["k"], "group": ["Carer"]})
    with pytest.raises(CrisisSurveyError, match="text"):
        attrition_table(link_waves(w1, w2), items=["comments"])


def test_std_diff_measure_names_the_formula_used() -> None:
    table = TABLES["unlinked"].drop_duplicates("variable").set_index("variable")
    assert table.loc["age_band", "std_diff_measure"] == (
        "standardized difference of mean level scores")
    assert table.loc["exp_followup", "std_diff_measure"] == (
        "standardized difference of proportions")
    assert table.loc["gender", "std_diff_measure"].startswith("multivariate")


def test_attrition_medians_are_labelled_by_level_score_whatever_the_codes() -> None:
    # medians are level scores (1 = lowest level): a scale coded 0-4 or in text must not be
    # labelled by code (0-4 would shift every label by one; text codes crashed)
    import pandas as pd

    from crisis_survey.codebook import codebook_from_dict
    from crisis_survey.present._release import _attrition_labels

    cb = codebook_from_dict({"name": "t", "fields": [
        {"name": "id", "type": "string", "x-role": "identifier"},
        {"name": "key", "type": "string", "x-role": "link_key"},
        {"name": "wave", "type": "integer", "x-role": "wave"},
        {"name": "grp", "type": "integer", "x-role": "group", "x-measurement": "nominal",
         "categories": [{"value": 1, "label": "A"}, {"value": 2, "label": "B"}]},
        {"name": "zero", "type": "integer", "x-role": "item", "x-measurement": "ordinal",
         "categoriesOrdered": True, "categories": [
             {"value": v, "label": t} for v, t in enumerate(["Low", "Mid", "High"])]},
        {"name": "words", "type": "string", "x-role": "item", "x-measurement": "ordinal",
         "categoriesOrdered": True, "categories": [
             {"value": t, "label": t} for t in ["Disagree", "Neither", "Agree"]]},
    ]})
    table = pd.DataFrame({"variable": ["zero", "words"], "median_returned": [1.0, 2.5],
                          "median_not_returned": [3.0, 1.0]})
    out = _attrition_labels(table, cb)
    assert list(out["median_returned"]) == ["Low", "between Neither and Agree"]
    assert list(out["median_not_returned"]) == ["High", "Disagree"]
