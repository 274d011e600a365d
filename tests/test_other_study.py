"""A study exported by another platform: roles, not names, through the whole pipeline.

The study in ``tests/data/other_study/`` (written by ``tests/data/make_other_study.py``) has the
shipped sample's respondents under another codebook: every field renamed (``Q1``, ``Q2_3``,
``Role``, ``LA``, ``EndDate``, ...), binary items coded SPSS-style ``1 = Yes`` / ``2 = No``,
missing codes 8 = not applicable and 9 = don't know. Nothing may depend on the shipped names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from crisis_survey import (
    change_by_group_model,
    compare_waves,
    link_waves,
    load_codebook,
    load_wave,
)
from crisis_survey._cli import main
from crisis_survey._errors import CodebookError
from crisis_survey.codebook import Level, codebook_from_dict
from crisis_survey.link import LinkedStudy

HERE = Path(__file__).resolve().parent / "data" / "other_study"
SCHEMA, W1, W2 = HERE / "other.schema.json", HERE / "wave1.csv", HERE / "wave2.csv"

#: every field name of the other codebook that is not also an ordinary English word
NAMES = re.compile(r"\b(Q\d(?:_\d)?|Role|LA|EndDate|ResponseId|Email|D[123])\b")


@pytest.fixture(scope="module")
def study() -> LinkedStudy:
    cb = load_codebook(SCHEMA)
    return link_waves(load_wave(W1, wave=1, codebook=cb), load_wave(W2, wave=2, codebook=cb))


def test_the_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_other_study",
                                                  HERE.parent / "make_other_study.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.OUT = tmp_path
    mod.build()
    for name in ("other.schema.json", "wave1.csv", "wave2.csv"):
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), name


def test_roles_are_found_whatever_the_fields_are_called(study: LinkedStudy) -> None:
    cb = study.codebook
    assert "group" not in cb and "area" not in cb
    assert cb.resolve("group").name == "Role"
    assert cb.resolve("area").name == "LA"
    assert cb.resolve("date").name == "EndDate"
    assert cb.resolve("Q2_3").title == "Treated with dignity and respect"
    spec = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert len(spec["x-scales"]) == 3  # agree/disagree, yes/no and selected, written once
    assert cb["Q2_3"].labels == cb["Q2_1"].labels and cb["Q2_3"].codes == (1, 2, 3, 4, 5)
    assert [m.code for m in cb["Q3"].missing if m.kind != "not_answered"] == [8, 9]
    with pytest.raises(KeyError, match="neither a role"):
        cb.resolve("respondent_group")


def test_compare_waves_with_defaults_groups_by_the_group_role(study: LinkedStudy) -> None:
    res = compare_waves(study)
    t = res.table
    assert set(t["by"]) == {"Role"} and res.options["by"] == ["Role"]
    assert set(t["group"]) == {"Service user", "Carer"}
    assert len(t) == 17 * 2 * 3  # 17 items asked in both waves x 2 groups x 3 designs
    assert t["label"].str.fullmatch(r"Q\d.*").sum() == 0  # labels are the titles
    tested = t[t["note"].isna()]
    assert tested["p_value"].notna().all() and len(tested) > 80
    # answers coded 8 (not applicable) and 9 (don't know) are excluded and counted
    assert (t["n_excluded_codes"] > 0).sum() > 50


def test_by_takes_role_and_field_names(study: LinkedStudy) -> None:
    by_role = compare_waves(study, items=["Q1"], by=("group", "area"), designs=("paired",))
    by_name = compare_waves(study, items=["Q1"], by=("Role", "LA"), designs=("paired",))
    pd.testing.assert_frame_equal(by_role.table, by_name.table)
    assert set(by_role.table["by"]) == {"Role / LA"}
    with pytest.raises(Exception, match="neither a role"):
        compare_waves(study, items=["Q1"], by="region")


def test_change_by_group_model_finds_the_group_by_role(study: LinkedStudy) -> None:
    fit = change_by_group_model(study, "Q1")
    assert {fit.reference_group, fit.other_group} == {"Service user", "Carer"}


def test_report_without_a_plan_names_fields_by_their_titles(tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = main(["report", "--wave1", str(W1), "--wave2", str(W2), "--codebook", str(SCHEMA),
                 "--out", str(out)])
    assert code == 0
    assert (out / "report.html").is_file() and (out / "report.docx").is_file()
    shown = [p for p in (out / "tables").glob("*.md")] + list((out / "figures").glob("*.svg"))
    assert len(shown) >= 10
    for p in shown:
        found = NAMES.findall(p.read_text(encoding="utf-8"))
        assert not found, (p.name, sorted(set(found)))
    md = (out / "tables" / "change_paired.md").read_text(encoding="utf-8")
    assert "Treated with dignity and respect" in md and "Followed up after the crisis" in md
    # the report's text, outside the options block recorded for re-running, uses titles only
    html = (out / "report.html").read_text(encoding="utf-8")
    html = re.sub(r"<pre>.*?</pre>", "", re.sub(r"data:[^\"']+", "", html), flags=re.S)
    assert not NAMES.findall(re.sub(r"<[^>]+>", " ", html))


# -- binary items report the level coded 1, or the one the codebook names ---------------------
def _with_reports(code: object) -> LinkedStudy:
    spec = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for f in spec["fields"]:
        if f["name"] == "Q3":
            f["x-reports"] = code
    cb = codebook_from_dict(spec, source="other.schema.json")
    return link_waves(load_wave(W1, wave=1, codebook=cb), load_wave(W2, wave=2, codebook=cb))


def test_binary_items_report_the_level_coded_1(study: LinkedStudy) -> None:
    cb = study.codebook
    assert cb["Q3"].labels == ("Yes", "No")  # SPSS coding, Yes listed first
    assert cb["Q3"].reported == Level(1, "Yes") and cb["Q4_1"].reported == Level(1, "Selected")
    t = compare_waves(study, items=["Q3", "Q4_1"]).table
    assert set(t["summary_measure"]) == {"% Yes", "% Selected"}
    paired = t[(t["item"] == "Q3") & (t["design"] == "paired")].iloc[0]
    # the % Yes among the pairs, counted from the data: 1 = Yes in both waves' files
    raw = study.pairs[[(1, "Q3"), (2, "Q3")]].dropna()
    yes1 = (raw[(1, "Q3")] == "Yes")[study.pairs.loc[raw.index, ("", "group")] == paired["group"]]
    assert paired["estimate_wave1"] == pytest.approx(100 * yes1.mean())
    assert paired["summary_wave1"].endswith(f"% Yes ({int(yes1.sum())} of {len(yes1)})")


def test_x_reports_turns_percentages_and_odds_round(study: LinkedStudy) -> None:
    yes = compare_waves(study, items=["Q3"]).table
    no = compare_waves(_with_reports(2), items=["Q3"]).table
    assert set(no["summary_measure"]) == {"% No"}
    assert (yes["estimate_wave1"] + no["estimate_wave1"]).round(9).eq(100).all()
    pd.testing.assert_series_equal(yes["p_value"], no["p_value"])
    mc_yes = yes[yes["test"] == "mcnemar"]
    mc_no = no[no["test"] == "mcnemar"]
    # the risk difference changes sign, the odds ratio beside it inverts
    assert mc_yes["effect_size"].to_numpy() == pytest.approx(-mc_no["effect_size"].to_numpy())
    assert (mc_yes["odds_ratio"].to_numpy() * mc_no["odds_ratio"].to_numpy()) == \
        pytest.approx(1.0)
    diff = yes["design"] == "overlapping"
    assert yes.loc[diff, "effect_size"].to_numpy() == \
        pytest.approx(-no.loc[diff, "effect_size"].to_numpy())


def test_x_reports_must_name_a_level() -> None:
    spec = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for f in spec["fields"]:
        if f["name"] in ("Q3", "Q1"):
            f["x-reports"] = 7 if f["name"] == "Q3" else 1
    with pytest.raises(CodebookError) as err:
        codebook_from_dict(spec, source="other.schema.json")
    problems = err.value.problems
    assert set(problems["column"]) >= {"Q3", "Q1"}
    assert problems["problem"].str.contains("x-reports").all()
