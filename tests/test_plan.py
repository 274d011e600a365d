"""Analysis plan files (src/crisis_survey/_plan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisis_survey._plan import AnalysisPlan, PlanError, load_plan


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
