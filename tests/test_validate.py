"""Validation in load_wave (src/crisis_survey/load/_validate.py, _load.py, _readers.py).

The malformed files under tests/data/ are made by tests/data/make_malformed.py: a valid
four-respondent wave-1 file with one kind of problem each. Data row i (0-based) of a CSV is
spreadsheet row i + 2; the fourth respondent's comment spans two lines but is one row.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crisis_survey import CrisisSurveyError, DataValidationError
from crisis_survey.codebook import load_codebook
from crisis_survey.load import load_wave
from crisis_survey.load._validate import PROBLEM_KINDS

DATA = Path(__file__).resolve().parent / "data"
_spec = importlib.util.spec_from_file_location("make_malformed", DATA / "make_malformed.py")
assert _spec is not None and _spec.loader is not None
mm: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mm)

NUMERIC = load_codebook(DATA / "numeric.schema.json")

# file -> (spreadsheet row, column, problem) of its one bad cell
CELL_CASES = {
    "unknown_code.csv": (3, "overall_rating", PROBLEM_KINDS["unknown"]),
    "unknown_label.csv": (4, "exp_dignity", PROBLEM_KINDS["unknown"]),
    "unknown_group.csv": (5, "group", PROBLEM_KINDS["group"]),
    "wrong_wave.csv": (2, "wave", PROBLEM_KINDS["wave"]),
    "malformed_date.csv": (4, "completed_date", PROBLEM_KINDS["bad_date"]),
    "date_outside_window.csv": (3, "completed_date", PROBLEM_KINDS["outside"]),
    "missing_required_value.csv": (4, "group", PROBLEM_KINDS["required"]),
    "missing_identifier.csv": (5, "respondent_id", PROBLEM_KINDS["required"]),
}
NUMERIC_CASES = {
    "out_of_range.csv": (2, "contacts", PROBLEM_KINDS["above"]),
    "below_minimum.csv": (4, "wait_hours", PROBLEM_KINDS["below"]),
    "not_integer.csv": (4, "contacts", PROBLEM_KINDS["not_whole"]),
    "not_a_number.csv": (3, "wait_hours", PROBLEM_KINDS["not_number"]),
}


def test_cases_cover_the_generator() -> None:
    # Every one-bad-cell file the generator writes has an expectation here, and the row
    # numbers above are the generator's 0-based rows + 2.
    assert set(CELL_CASES) == set(mm.ONE_BAD_CELL)
    assert set(NUMERIC_CASES) == set(mm.NUMERIC_BAD)
    for name, (col, i, _) in {**mm.ONE_BAD_CELL, **mm.NUMERIC_BAD}.items():
        row, column, _ = {**CELL_CASES, **NUMERIC_CASES}[name]
        assert (row, column) == (i + 2, col)


def test_the_valid_file_loads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "valid.csv"
    mm.valid_frame().to_csv(path, index=False)
    w = load_wave(path, wave=1)
    assert w.accounting().iloc[0].tolist() == [1, "valid.csv", 4, 4, 0]
    assert w.problems.empty and w.exclusions.empty


@pytest.mark.parametrize("name", sorted(CELL_CASES))
def test_one_bad_cell_raises_with_exactly_that_cell(name: str) -> None:
    row, column, problem = CELL_CASES[name]
    with pytest.raises(DataValidationError) as info:
        load_wave(DATA / name, wave=1)
    p = info.value.problems
    assert list(p.columns) == ["file", "row", "column", "value", "problem", "expected"]
    assert p[["file", "row", "column", "problem"]].values.tolist() == [
        [name, row, column, problem]]
    assert mm.ONE_BAD_CELL[name][2] in (str(p.loc[0, "value"]), "")
    assert p.loc[0, "expected"]  # always says what was expected
    message = str(info.value)
    assert f"row {row}" in message and column in message and problem in message


@pytest.mark.parametrize("name", sorted(CELL_CASES))
def test_one_bad_cell_quarantines_that_row_only(name: str) -> None:
    row, column, problem = CELL_CASES[name]
    w = load_wave(DATA / name, wave=1, on_error="quarantine")
    assert (w.rows_read, w.rows_kept, w.rows_excluded) == (4, 3, 1)
    assert row not in w.data.index
    assert sorted(w.data.index) == sorted({2, 3, 4, 5} - {row})
    ex = w.exclusions.iloc[0]
    assert ex["row"] == row
    assert ex["reason"] == f"{column}: {problem}"
    assert ex["column"] == column and ex["problem"] == problem
    assert w.problems[["row", "column", "problem"]].values.tolist() == [[row, column, problem]]


@pytest.mark.parametrize("name", sorted(NUMERIC_CASES))
def test_numeric_checks(name: str) -> None:
    row, column, problem = NUMERIC_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no link key / wave column
        with pytest.raises(DataValidationError) as info:
            load_wave(DATA / name, NUMERIC, wave=1)
        w = load_wave(DATA / name, NUMERIC, wave=1, on_error="quarantine")
    p = info.value.problems
    assert p[["row", "column", "problem"]].values.tolist() == [[row, column, problem]]
    assert w.rows_excluded == 1 and w.exclusions["row"].tolist() == [row]


def test_numeric_values_and_missing_codes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        w = load_wave(DATA / "numeric_valid.csv", NUMERIC, wave=1)
    assert w.data["contacts"].dtype == np.float64
    # contacts: "3", "99" (Can't remember = dont_know), "NA" (Not asked = not_applicable)
    assert w.data["contacts"].tolist()[0] == 3.0
    assert w.data["contacts"].isna().tolist() == [False, True, True]
    assert w.missing_reasons["contacts"].astype(object).tolist()[1:] == [
        "dont_know", "not_applicable"]
    assert pd.isna(w.missing_reasons["contacts"].iloc[0])
    assert w.data["wait_hours"].tolist()[0] == 1.5
    assert w.missing_reasons["wait_hours"].astype(object).tolist()[1] == "not_answered"
    assert w.data["group"].astype(object).tolist() == ["User", "Carer", "Carer"]


def test_duplicate_identifiers_flag_every_copy() -> None:
    with pytest.raises(DataValidationError) as info:
        load_wave(DATA / "duplicate_id.csv", wave=1)
    p = info.value.problems
    assert p[["row", "column", "problem"]].values.tolist() == [
        [2, "respondent_id", "duplicate identifier"],
        [4, "respondent_id", "duplicate identifier"],
    ]
    assert p.loc[0, "expected"].endswith("is on row 4")
    assert p.loc[1, "expected"].endswith("is on row 2")
    w = load_wave(DATA / "duplicate_id.csv", wave=1, on_error="quarantine")
    assert w.exclusions["row"].tolist() == [2, 4] and w.data.index.tolist() == [3, 5]


@pytest.mark.parametrize(
    ("name", "column", "pattern"),
    [
        ("missing_required_column.csv", "group", "required column missing"),
        ("extra_column.csv", "Q99_other", "column not in the codebook"),
        ("not_asked_item.csv", "aware_concordat", "not asked in wave 1"),
        ("reversed_labels.sav", "overall_rating", "value label contradicts the codebook"),
    ],
)
def test_file_level_problems_raise_even_in_quarantine(name: str, column: str,
                                                      pattern: str) -> None:
    for mode in ("raise", "quarantine"):
        with pytest.raises(DataValidationError) as info:
            load_wave(DATA / name, wave=1, on_error=mode)  # type: ignore[arg-type]
        p = info.value.problems
        hits = p[p["problem"].str.contains(pattern, regex=False)]
        assert len(hits) >= 1 and set(hits["column"]) == {column}
        assert hits["row"].isna().all()  # a file-level problem has no row
        assert name in str(info.value)


def test_reversed_spss_labels_name_each_contradiction() -> None:
    with pytest.raises(DataValidationError) as info:
        load_wave(DATA / "reversed_labels.sav", wave=1)
    p = info.value.problems
    # 1 = Excellent in the file but Very poor in the codebook, 2 = Good vs Poor, 4 = Poor vs
    # Good, 5 = Very poor vs Excellent; 3 = Fair and 8 = Don't know agree.
    assert sorted(p["value"]) == ["1 = Excellent", "2 = Good", "4 = Poor", "5 = Very poor"]


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("empty.csv", "empty"),
        ("binary.csv", "not text"),
        ("corrupt.xlsx", "not a readable .xlsx"),
        ("corrupt.parquet", "Parquet file cannot be read"),
        ("corrupt.sav", "SPSS file cannot be read"),
    ],
)
def test_unreadable_files_raise_a_clear_error_naming_the_file(name: str, pattern: str) -> None:
    for mode in ("raise", "quarantine"):
        with pytest.raises(DataValidationError) as info:
            load_wave(DATA / name, wave=1, on_error=mode)  # type: ignore[arg-type]
        p = info.value.problems
        assert len(p) == 1 and p.loc[0, "file"] == name
        assert pattern in p.loc[0, "problem"]
        # no parser traceback chained to it
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    odd = tmp_path / "wave1.sas7bdat"
    shutil.copy(DATA / "unknown_code.csv", odd)
    with pytest.raises(DataValidationError, match="unknown file type") as info:
        load_wave(odd, wave=1)
    assert ".parquet" in info.value.problems.loc[0, "expected"]
    with pytest.raises(DataValidationError, match="file not found"):
        load_wave(tmp_path / "nope.csv", wave=1)
    with pytest.raises(DataValidationError, match="folder"):
        load_wave(tmp_path, wave=1)


def test_bad_arguments() -> None:
    with pytest.raises(CrisisSurveyError, match="on_error"):
        load_wave(DATA / "unknown_code.csv", wave=1, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="wave 3 is not declared"):
        load_wave(DATA / "unknown_code.csv", wave=3)
    with pytest.raises(DataValidationError, match="not an Excel workbook"):
        load_wave(DATA / "unknown_code.csv", wave=1, sheet="Sheet1")
    with pytest.raises(DataValidationError, match="not a text"):
        load_wave(DATA / "corrupt.parquet", wave=1, encoding="utf-8")
    with pytest.raises(DataValidationError, match="unknown text encoding"):
        load_wave(DATA / "unknown_code.csv", wave=1, encoding="klingon")


def test_all_problems_in_one_pass(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame.loc[0, "overall_rating"] = "11"
    frame.loc[0, "gender"] = "robot"
    frame.loc[1, "completed_date"] = "2014-13-01"
    frame.loc[2, "wave"] = "one"
    frame.loc[3, "group"] = ""
    frame["mystery"] = "x"
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    p = info.value.problems
    # file-level first, then by row, then by column position in the file
    assert p[["row", "column", "problem"]].astype(object).where(p.notna(), None)\
        .values.tolist() == [
        [None, "mystery", "column not in the codebook"],
        [2, "gender", "unknown code or label"],
        [2, "overall_rating", "unknown code or label"],
        [3, "completed_date", "malformed date"],
        [4, "wave", "wave does not match"],
        [5, "group", "missing required value"],
    ]
    message = str(info.value)
    assert message.startswith("The survey data do not match the codebook: 6 problems found.")
    assert re.search(r"2 x unknown code or label: (gender|overall_rating) \(1\)", message)
    assert "4 rows affected" in message


def test_message_summarises_many_problems(tmp_path: Path) -> None:
    n = 300
    frame = pd.concat([mm.valid_frame()] * (n // 4), ignore_index=True)
    frame["respondent_id"] = [f"id{i}" for i in range(n)]
    frame["overall_rating"] = "0"
    path = tmp_path / "lots.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    assert len(info.value.problems) == n
    message = str(info.value)
    assert f"{n} x unknown code or label: overall_rating ({n})" in message
    assert "... and 280 more" in message


def test_blank_rows_are_skipped_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    lines = (DATA / "unknown_code.csv").read_text().split("\n")
    lines[2] = lines[2].replace(",6,", ",5,")
    # a blank line after row 2 and a row of empty cells at the end
    lines.insert(2, "")
    text = "\n".join(lines).rstrip("\n") + "\n" + "," * 26 + "\n\n"
    path.write_text(text)
    w = load_wave(path, wave=1)
    assert w.rows_read == 4
    assert w.data.index.tolist() == [2, 4, 5, 6]  # row 3 is the blank line


def test_not_asked_item_entirely_blank_is_dropped(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame["local_change"] = ""
    path = tmp_path / "w1.csv"
    frame.to_csv(path, index=False)
    w = load_wave(path, wave=1)
    assert "local_change" not in w.data.columns


def test_optional_column_absent_warns_and_is_not_answered(tmp_path: Path) -> None:
    path = tmp_path / "w1.csv"
    mm.valid_frame().drop(columns=["exp_dignity", "link_key"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="no column for a question asked in wave 1"):
        load_wave(path, wave=1)  # exp_dignity was asked in wave 1 (tests/test_faults.py)
    with pytest.warns(UserWarning, match="exp_dignity"):
        w = load_wave(path, wave=1, absent_columns="not_answered")
    assert w.data["exp_dignity"].isna().all()
    assert (w.missing_reasons["exp_dignity"] == "not_answered").all()
    assert w.data["link_key"].isna().all()


def test_wave_column_may_be_absent(tmp_path: Path) -> None:
    path = tmp_path / "w1.csv"
    mm.valid_frame().drop(columns=["wave"]).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = load_wave(path, wave=1)
    assert (w.data["wave"] == 1).all()


def test_wave_2_file_loaded_as_wave_1_is_caught(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame["wave"] = "2"
    frame["completed_date"] = "2015-11-20"
    frame["aware_concordat"] = ["1", "2", "3", "1"]
    frame["local_change"] = ["3", "2", "8", "1"]
    path = tmp_path / "w2.csv"
    frame.to_csv(path, index=False)
    assert load_wave(path, wave=2).rows_kept == 4
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    p = info.value.problems
    assert set(p["problem"]) >= {"wave does not match", "date outside the fieldwork window"}
    # two wave-2-only questions answered (four rows are too few to call the files swapped:
    # tests/test_faults.py has the swapped sample files)
    assert p["row"].isna().sum() == 2


def test_exclusions_join_several_problems_of_a_row(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame.loc[1, "overall_rating"] = "9"
    frame.loc[1, "group"] = "3"
    path = tmp_path / "two.csv"
    frame.to_csv(path, index=False)
    w = load_wave(path, wave=1, on_error="quarantine")
    ex = w.exclusions
    assert ex["row"].tolist() == [3]
    assert ex.loc[0, "reason"] == "group: group not in the codebook; " \
        "overall_rating: unknown code or label"
    assert ex.loc[0, "value"] == "3; 9"
    assert len(w.problems) == 2
    assert list(ex.columns) == ["row", "reason", "file", "column", "value", "problem",
                                "expected"]


# -- problems never repeat an identifier or contact details ---------------------------------------
def _wave_file(tmp_path: Path, **changes: tuple[int, str]) -> Path:
    frame = mm.valid_frame()
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    path = tmp_path / "wave1.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


@pytest.mark.parametrize(("column", "value", "why"), [
    ("area", "jo.bloggs@example.org", "an e-mail address"),
    ("area", "+44 7700 900123", "a phone number"),
    ("area", "07700 900123", "a phone number"),
    ("group", "jo.bloggs@example.org", "an e-mail address"),
])
def test_contact_details_in_a_grouping_column_are_refused_without_echoing_them(
    tmp_path: Path, column: str, value: str, why: str
) -> None:
    path = _wave_file(tmp_path, **{column: (1, value)})
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    problems = info.value.problems
    row = problems[problems["column"] == column].iloc[0]
    assert (row["file"], row["row"]) == ("wave1.csv", 3)
    assert row["value"] == f"[not shown: {why}]"
    assert value not in str(info.value) and value not in problems.to_csv()
    # quarantined, the row is left out and the value never becomes a category (a label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wave = load_wave(path, wave=1, on_error="quarantine")
    assert 3 not in wave.data.index
    assert value not in [str(c) for c in wave.data[column].cat.categories]


def test_area_codes_and_short_numbers_are_not_taken_for_contact_details(tmp_path: Path) -> None:
    wave = load_wave(_wave_file(tmp_path, area=(1, "12345")), wave=1)
    assert "12345" in list(wave.data["area"].cat.categories)


def test_problems_name_the_rows_of_a_repeated_identifier_not_the_identifier(
    tmp_path: Path
) -> None:
    path = _wave_file(tmp_path, respondent_id=(2, "A001"), link_key=(2, "k1@example.org"))
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    problems = info.value.problems
    dup = problems[problems["problem"] == PROBLEM_KINDS["duplicate"]]
    assert sorted(dup["row"]) == [2, 4]
    assert set(dup["value"]) == {"[not shown: a respondent identifier]"}
    assert "the same value is on row 4" in dup["expected"].iloc[0]
    assert "A001" not in str(info.value) and "A001" not in problems.to_csv()
    assert "k1@example.org" not in str(info.value)
