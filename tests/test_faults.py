"""Input faults of real exports (issue 12): each is the library's own error naming file, row,
column and value, or a documented correct load, in strict and quarantine mode alike, with
``rows_read == rows_kept + rows_excluded``.

The files are made by tests/data/make_malformed.py (``FAULTS`` lists them).
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crisis_survey import DataValidationError
from crisis_survey._cli import main
from crisis_survey.load import SurveyWave, load_wave

DATA = Path(__file__).resolve().parent / "data"
MODES = ("raise", "quarantine")


def _problems(name: str, mode: str, **kw: Any) -> pd.DataFrame:
    with pytest.raises(DataValidationError) as info:
        load_wave(DATA / name, wave=1, on_error=mode, **kw)  # type: ignore[arg-type]
    assert info.value.__cause__ is None  # the library's error, not a parser's
    problems: pd.DataFrame = info.value.problems
    assert (problems["file"] == name).all()
    return problems


def _accounts(w: SurveyWave) -> None:
    assert w.rows_read == w.rows_kept + w.rows_excluded


@pytest.mark.parametrize(("name", "row", "fields"), [("short_row.csv", 4, 26),
                                                      ("long_row.csv", 3, 28)])
def test_a_row_with_too_few_or_too_many_fields_is_named(name: str, row: int, fields: int
                                                        ) -> None:
    # today: padded silently (short) and the later answers shift into the wrong columns
    p = _problems(name, "raise")
    assert p["row"].tolist() == [row]
    assert p.loc[0, "problem"].startswith(f"the row has {fields} fields where the header has 27")
    assert p.loc[0, "value"].startswith("A00")  # the row's own text, to find it
    w = load_wave(DATA / name, wave=1, on_error="quarantine")
    _accounts(w)
    assert (w.rows_read, w.rows_kept, w.rows_excluded) == (4, 3, 1)
    assert w.exclusions["row"].tolist() == [row]
    # the rows after it keep their own numbers and their own answers
    assert row not in w.data.index and w.data.index.tolist() == sorted({2, 3, 4, 5} - {row})
    ref = load_wave(DATA / "unknown_code.csv", wave=1, on_error="quarantine")
    later = [r for r in w.data.index if r > row and r in ref.data.index]
    pd.testing.assert_frame_equal(w.data.loc[later].astype(object),
                                  ref.data.loc[later].astype(object))


def test_a_header_without_rows_is_an_error() -> None:
    for mode in MODES:  # today: 0 respondents, exit 0
        p = _problems("header_only.csv", mode)
        assert p["problem"].tolist() == ["the file has a header but no data rows"]


def test_a_question_the_wave_asked_must_have_its_column() -> None:
    for mode in MODES:  # today: a warning only
        p = _problems("absent_item.csv", mode)
        assert p[["column", "problem"]].values.tolist() == [
            ["exp_dignity", "no column for a question asked in wave 1"]]
        assert "absent_columns='not_answered'" in p.loc[0, "expected"]
    with pytest.warns(UserWarning, match="exp_dignity"):
        w = load_wave(DATA / "absent_item.csv", wave=1, absent_columns="not_answered")
    assert (w.missing_reasons["exp_dignity"] == "not_answered").all()


def test_a_nul_byte_is_named_with_its_row_and_column() -> None:
    # today: "the file is not text" with no row
    p = _problems("nul_byte.csv", "raise")
    # the column is free text, whose values a problem never repeats (docs/disclosure-control.md)
    assert p[["row", "column", "value"]].values.tolist() == [
        [3, "comments", "[not shown: a free-text answer]"]]
    assert "NUL byte" in p.loc[0, "problem"]
    w = load_wave(DATA / "nul_byte.csv", wave=1, on_error="quarantine")
    _accounts(w)
    assert w.exclusions["row"].tolist() == [3]


def test_a_control_character_in_an_area_code_is_named() -> None:
    # today: passes validate, then crashes report
    p = _problems("control_area.csv", "raise")
    assert p[["row", "column", "value", "problem"]].values.tolist() == [
        [2, "area", "E38000001\x07", "control character in the value"]]
    w = load_wave(DATA / "control_area.csv", wave=1, on_error="quarantine")
    _accounts(w)
    assert w.exclusions["row"].tolist() == [2]
    assert all(c.isprintable() for c in w.data["area"].cat.categories)


def test_free_text_may_hold_line_breaks_but_not_other_controls(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "unknown_code.csv", dtype=str, keep_default_na=False)
    frame.loc[1, "overall_rating"] = "4"
    frame.loc[0, "comments"] = "line one\nline two\ttabbed"
    frame.loc[2, "comments"] = "bell\x07"
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    assert info.value.problems[["row", "column"]].values.tolist() == [[4, "comments"]]


def test_na_like_tokens_read_the_same_from_csv_and_excel() -> None:
    """NA, N/A, NULL, None, NaN and #N/A are text in both formats (today XLSX made them
    missing and CSV did not): kept in free text, an unknown code in an item (a codebook that
    means them as missing declares them in missingValues)."""
    found = {}
    for name in ("na_tokens.csv", "na_tokens.xlsx"):
        p = _problems(name, "raise")
        found[name] = p.drop(columns="file")
        w = load_wave(DATA / name, wave=1, on_error="quarantine")
        _accounts(w)
    pd.testing.assert_frame_equal(found["na_tokens.csv"], found["na_tokens.xlsx"])
    assert found["na_tokens.csv"]["value"].tolist() == ["NA", "N/A", "NULL", "None", "NaN",
                                                          "#N/A"]
    assert set(found["na_tokens.csv"]["column"]) == {"exp_listened"}


def test_na_tokens_declared_missing_load_as_missing(tmp_path: Path) -> None:
    import json

    from crisis_survey.codebook import codebook_from_dict

    spec = json.loads((DATA.parents[1] / "data" / "schema" /
                       "crisis_care_survey.schema.json").read_text())
    for f in spec["fields"]:
        if f["name"] == "exp_listened":
            f["missingValues"] += [{"value": t, "label": t, "x-kind": "not_applicable"}
                                   for t in ("NA", "N/A", "NULL", "None", "NaN", "#N/A")]
    cb = codebook_from_dict(spec)
    for name in ("na_tokens.csv", "na_tokens.xlsx"):
        w = load_wave(DATA / name, cb, wave=1)
        assert (w.missing_reasons["exp_listened"] == "not_applicable").all()
        assert w.data["comments"].tolist() == ["NA", "N/A", "NULL", "None", "NaN", "#N/A"]


def test_formula_cells_without_a_saved_value_are_named() -> None:
    # today: read as blank (every answer lost, no warning)
    p = _problems("formula_no_cache.xlsx", "raise")
    assert p[["row", "column", "value"]].values.tolist() == [
        [2, "overall_rating", "=2+2"], [3, "overall_rating", "=B3"]]
    assert "formula cell without a saved value" in p.loc[0, "problem"]
    w = load_wave(DATA / "formula_no_cache.xlsx", wave=1, on_error="quarantine")
    _accounts(w)
    assert w.exclusions["row"].tolist() == [2, 3]


def test_a_cover_sheet_first_is_passed_over() -> None:
    # today: "required column missing" (the cover sheet was read)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = load_wave(DATA / "cover_sheet.xlsx", wave=1)
    assert w.rows_kept == 4
    ref = load_wave(DATA / "cover_sheet.xlsx", wave=1, sheet="Responses")
    pd.testing.assert_frame_equal(w.data, ref.data)


def test_two_sheets_with_survey_columns_need_sheet() -> None:
    # today: the second sheet was ignored silently
    for mode in MODES:
        p = _problems("two_data_sheets.xlsx", mode)
        assert p.loc[0, "problem"].startswith("more than one sheet holds survey columns")
        assert "'Wave 1 (old)'" in p.loc[0, "problem"]
    assert load_wave(DATA / "two_data_sheets.xlsx", wave=1, sheet="Wave 1 (old)").rows_kept == 2
    with pytest.raises(DataValidationError, match="did you mean 'Wave 1'"):
        load_wave(DATA / "two_data_sheets.xlsx", wave=1, sheet="wave 1")


def test_the_cli_takes_sheet() -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(DATA / "two_data_sheets.xlsx"), "--wave", "1"])
    assert code != 0 and "--sheet" in out.getvalue() + err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(DATA / "two_data_sheets.xlsx"), "--wave", "1",
                     "--sheet", "Wave 1 (old)"])
    assert code == 0, out.getvalue() + err.getvalue()
    assert "2 rows read" in out.getvalue()


def test_a_parquet_list_column_is_named() -> None:
    # today: a bare TypeError (unhashable numpy array)
    for mode in MODES:
        p = _problems("list_column.parquet", mode)
        assert p["column"].tolist() == ["svc_ae"]
        assert "several values per cell" in p.loc[0, "problem"]


def test_spss_own_value_labels_explain_its_missing_codes() -> None:
    """The file codes "Don't know" as 98 (value label, user-missing range 98-99) where the
    codebook says 8: read as don't know through the file's label, not "unknown code"."""
    w = load_wave(DATA / "own_missing.sav", wave=1)
    assert w.missing_reasons["overall_rating"].tolist()[2] == "dont_know"
    assert w.data["overall_rating"].tolist()[:2] == ["Good", "Good"]


def test_stata_files_read_like_the_csv() -> None:
    w = load_wave(DATA / "stata_wave1.dta", wave=1)
    ref = load_wave(DATA / "own_missing.sav", wave=1)
    pd.testing.assert_frame_equal(w.data, ref.data, check_dtype=False)
    pd.testing.assert_frame_equal(w.missing_reasons, ref.missing_reasons)


def test_swapped_waves_are_said_to_be_swapped() -> None:
    """The wave-2 file given as wave 1: its dates are in wave 2's fieldwork and it answers
    wave-2-only questions, so the error says the files look swapped (in both modes)."""
    sample = DATA.parents[1] / "data" / "sample"
    for mode in MODES:
        with pytest.raises(DataValidationError) as info:
            load_wave(sample / "synthetic_wave2.csv", wave=1, on_error=mode)  # type: ignore[arg-type]
        p = info.value.problems
        hint = p.loc[p["problem"].str.startswith("the file looks like wave 2's"), "problem"]
        assert len(hint) == 1
        assert "413 of 413 completed_date dates fall in wave 2's fieldwork" in hint.iloc[0]
        assert "aware_concordat" in hint.iloc[0]


def test_the_plan_is_checked_against_the_codebook_before_any_data_are_read(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[analysis]\nitems = ["overall_ratng"]\nby = ["grup"]\nfamily = "itme"\n'
                    '[analysis.tests]\nexp_dignty = "mann_whitney"\n')
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        # the wave files do not exist: the plan's problems come first
        code = main(["report", "--wave1", str(tmp_path / "none1.csv"), "--wave2",
                     str(tmp_path / "none2.csv"), "--plan", str(plan), "--out",
                     str(tmp_path / "out")])
    text = err.getvalue()
    assert code == 2, text
    assert "does not fit codebook 'crisis_care_survey' (4 problems)" in text
    for hint in ("did you mean 'overall_rating'?", "did you mean 'group'?",
                 "did you mean 'item'?", "did you mean 'exp_dignity'?"):
        assert hint in text
    assert "no such file" not in text
