"""Analysis plan files (src/crisis_survey/_plan.py)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from crisis_survey._plan import AnalysisPlan, PlanError, load_plan
from crisis_survey._resources import data_dir
from crisis_survey.codebook import codebook_from_dict, default_codebook
from crisis_survey.codebook._frictionless import DEFAULT_CODEBOOK


def test_defaults_when_file_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "plan.toml"
    p.write_text("")
    plan = load_plan(p)
    assert plan == AnalysisPlan(source="plan.toml")
    assert plan.designs == ("paired", "independent", "overlapping")


def test_every_option_is_read(tmp_path: Path) -> None:
    p = tmp_path / "plan.toml"
    p.write_text(
        """
[analysis]
items = ["overall_rating", "exp_dignity"]
by = ["group", "area"]
designs = ["paired"]
adjust = "bh"
alpha = 0.01
confidence = 0.9
min_n = 8
[analysis.tests]
overall_rating = "paired_t"
[disclosure]
threshold = 5
[linkage]
secret_env = "LINK_SECRET"
"""
    )
    with pytest.warns(UserWarning, match="threshold to 5"):
        plan = load_plan(p)
    assert plan.items == ("overall_rating", "exp_dignity")
    assert plan.by == ("group", "area")
    assert plan.designs == ("paired",)
    assert (plan.adjust, plan.alpha, plan.confidence, plan.min_n) == ("bh", 0.01, 0.9, 8)
    assert plan.tests == {"overall_rating": "paired_t"}
    assert plan.threshold == 5
    assert plan.secret_env == "LINK_SECRET"
    d = plan.to_dict()
    assert d["items"] == ["overall_rating", "exp_dignity"] and d["threshold"] == 5


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "plan.toml"
    p.write_text(
        '[analysis]\nalpha = 2\nadjust = "tukey"\ndesigns = ["paired", "crossover"]\n'
        "colour = 1\n[disclosure]\nthreshold = -3\n[extras]\n"
    )
    with pytest.raises(PlanError) as info:
        load_plan(p)
    msg = str(info.value)
    for needle in ("alpha", "tukey", "crossover", "colour", "threshold", "[extras]"):
        assert needle in msg
    assert "6 problems" in msg


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "plan.toml"
    p.write_text("[analysis\n")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(p)
    with pytest.raises(PlanError, match="not found"):
        load_plan(tmp_path / "nope.toml")


def _plan(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plan.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("text", "needle"), [
    # TOML's true is not the number 1 (it used to publish every count from 1 up)
    ("[disclosure]\nthreshold = true\n", "threshold must be a positive whole number, got True"),
    ("[disclosure]\nthreshold = 4\n", "must be at least 5 (set allow_small_threshold"),
    ("[disclosure]\nthreshold = 1\n", "must be at least 5"),
    ("[disclosure]\nthreshold = 10.0\n", "threshold must be a positive whole number"),
    ("[disclosure]\nallow_small_threshold = 1\nthreshold = 3\n",
     "allow_small_threshold must be true or false"),
    ('[analysis]\ndesigns = ["paired", "paired"]\n', "designs names 'paired' more than once"),
    ('[analysis]\nby = ["group", "group"]\n', "by names 'group' more than once"),
    ("[analysis]\nmin_n = 9223372036854775807\n", "min_n must be a whole number from 1 to"),
    ("[analysis]\nmin_n = true\n", "min_n must be a whole number"),
    ("[analysis]\nalpha = true\n", "alpha must be a number between 0 and 1"),
    ("[analysis]\nadjust = 3\n", "adjust must be a string"),
    ("[linkage]\nsecret_env = 7\n", "secret_env must be a string"),
])
def test_plan_values_are_type_checked(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(_plan(tmp_path, text))
    assert needle in str(info.value)


def test_small_thresholds_warn_and_need_explicit_permission(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="threshold to 3: counts from 3 upwards are published"):
        plan = load_plan(_plan(tmp_path, "[disclosure]\nthreshold = 3\n"
                                         "allow_small_threshold = true\n"))
    assert (plan.threshold, plan.allow_small_threshold) == (3, True)
    with pytest.warns(UserWarning, match="threshold to 9"):
        assert load_plan(_plan(tmp_path, "[disclosure]\nthreshold = 9\n")).threshold == 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_plan(_plan(tmp_path, "[disclosure]\nthreshold = 10\n")).threshold == 10


def test_the_constructor_checks_as_the_file_does() -> None:
    with pytest.raises(PlanError, match="threshold must be a positive whole number, got True"):
        AnalysisPlan(threshold=True)
    with pytest.raises(PlanError, match="at least 5"):
        AnalysisPlan(threshold=2)
    with pytest.raises(PlanError, match="designs names 'paired' more than once"):
        AnalysisPlan(designs=("paired", "paired"))


@pytest.mark.parametrize(("key", "name", "why"), [
    ("by", "respondent_id", "a respondent identifier"),
    ("by", "link_key", "the link key"),
    ("by", "comments", "a free-text answer"),
    ("by", "completed_date", "a date"),
    ("by", "identifier", "a respondent identifier"),  # a role name means its field
    ("items", "respondent_id", "a respondent identifier"),
    ("tests", "comments", "a free-text answer"),
])
def test_plans_that_would_publish_identifiers_are_refused(key: str, name: str, why: str) -> None:
    # found by role (identifier, link key, free text, date), not by the shipped names
    spec = {"tests": {name: "mann_whitney"}} if key == "tests" else {key: [name]}
    plan = AnalysisPlan.from_mapping({"analysis": spec})
    with pytest.raises(PlanError) as info:
        plan.check(default_codebook())
    assert f"[analysis] {key}: {name!r} is {why}, which is never published" in str(info.value)


def test_private_fields_are_found_by_role_not_by_name() -> None:
    spec = json.loads((data_dir() / "schema" / DEFAULT_CODEBOOK).read_text(encoding="utf-8"))
    spec["fields"] = [{**fd, "name": "pid"} if fd["name"] == "respondent_id" else fd
                      for fd in spec["fields"]]
    renamed = codebook_from_dict(spec)
    assert renamed.private_fields(["pid", "group", "respondent_id"]) == [
        "'pid' is a respondent identifier, which is never published"]
