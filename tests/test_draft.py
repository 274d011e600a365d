"""``crisis-survey codebook draft`` (src/crisis_survey/codebook/_draft.py): a draft codebook
from an SPSS/Stata file's labels and user-missing codes, or from a CSV file's values, with
every guess marked ``x-review``; the draft loads, and the file loads with it."""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from crisis_survey import CodebookError, CrisisSurveyError, load_wave
from crisis_survey._cli import main
from crisis_survey.codebook import codebook_from_dict, draft_codebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
DATA = ROOT / "tests" / "data"


def test_a_sav_file_gives_titles_categories_and_missing_codes() -> None:
    schema, mapping = draft_codebook(SAMPLE / "synthetic_wave1.sav")
    fields = {f["name"]: f for f in schema["fields"]}
    rating = fields["overall_rating"]
    assert rating["title"] == "Overall quality of crisis care"  # the variable label
    assert [c["label"] for c in rating["categories"]] == [
        "Very poor", "Poor", "Fair", "Good", "Excellent"]  # the value labels
    assert rating["missingValues"][0]["value"] == ""  # the standard's blank, kept
    assert {"value": "8", "label": "Don't know", "x-kind": "dont_know"} in \
        rating["missingValues"]  # from the file's value label (and user-missing code)
    assert rating["x-measurement"] == "ordinal" and rating["categoriesOrdered"] is True
    assert all(f["x-review"] for f in schema["fields"])  # every guess is marked
    assert fields["respondent_id"]["x-role"] == "identifier"
    assert mapping["overall_rating"] == "overall_rating"
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = load_wave(SAMPLE / "synthetic_wave1.sav", cb, wave=1)
    assert (w.rows_read, w.rows_excluded) == (658, 0)


def test_user_missing_codes_of_the_file_become_missing_values() -> None:
    schema, _ = draft_codebook(DATA / "own_missing.sav")
    rating = next(f for f in schema["fields"] if f["name"] == "overall_rating")
    assert {"value": "98", "label": "Don't know", "x-kind": "dont_know"} in \
        rating["missingValues"]
    assert {"value": "99", "label": "Refused", "x-kind": "prefer_not_to_say"} in \
        rating["missingValues"]
    assert [c["value"] for c in rating["categories"]] == [1, 2, 3, 4, 5]


def test_a_stata_file_drafts_too() -> None:
    schema, _ = draft_codebook(DATA / "stata_wave1.dta")
    group = next(f for f in schema["fields"] if f["name"] == "group")
    assert group["x-role"] == "group" and group["x-measurement"] == "nominal"
    assert [c["label"] for c in group["categories"]] == ["Service user", "Carer"]


def test_a_csv_file_gives_guessed_types_marked_for_review() -> None:
    schema, _ = draft_codebook(SAMPLE / "synthetic_wave1.csv")
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["completed_date"]["type"] == "date"
    assert fields["overall_rating"]["type"] == "integer"
    assert fields["comments"]["x-measurement"] == "text"
    assert fields["respondent_id"]["type"] == "string"
    for f in schema["fields"]:
        assert f["x-review"][0].startswith("type: guessed")
    codebook_from_dict(schema)  # loads as it is


def test_the_cli_writes_the_draft_and_the_mapping(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "map.json"
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["codebook", "draft", str(SAMPLE / "synthetic_wave1.sav"),
                     "--mapping", str(target)])
    assert code == 0, err.getvalue()
    schema = json.loads(out.getvalue())
    mapping = json.loads(target.read_text())
    assert mapping["overall_rating"] == "overall_quality_of_crisis_care"
    assert "guesses are marked x-review" in err.getvalue()
    (tmp_path / "my.schema.json").write_text(out.getvalue())
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = load_wave(SAMPLE / "synthetic_wave1.sav", cb, wave=1, mapping=target)
    assert "overall_quality_of_crisis_care" in w.data.columns and w.rows_kept == 658


def test_a_draft_is_valid_frictionless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frictionless = pytest.importorskip("frictionless")
    schema, _ = draft_codebook(SAMPLE / "synthetic_wave1.sav")
    (tmp_path / "d.schema.json").write_text(json.dumps(schema))
    (tmp_path / "w.csv").write_bytes((SAMPLE / "synthetic_wave1.csv").read_bytes())
    monkeypatch.chdir(tmp_path)
    report = frictionless.validate("w.csv", schema="d.schema.json")
    assert report.valid, [e.message for t in report.tasks for e in t.errors][:3]


def test_unreadable_files_are_a_codebook_error(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="file not found"):
        draft_codebook(tmp_path / "none.sav")
    with pytest.raises(CodebookError, match="cannot be read"):
        draft_codebook(DATA / "corrupt.sav")
    with pytest.raises(CodebookError, match=r"cannot draft a codebook from a \.json"):
        draft_codebook(DATA / "numeric.schema.json")
    with pytest.raises(CrisisSurveyError, match=r"not a readable \.xlsx"):
        draft_codebook(DATA / "corrupt.xlsx")  # the loader's own clear error


def test_an_unlabelled_export_drafts_roles_free_text_and_a_wave(tmp_path: Path) -> None:
    """Another platform's export: the area and demographics named its own way, a comments
    column, text codes without value labels and no wave column. The draft guesses each role
    from the name, never makes free text or text codes ordinal categories, declares the wave
    the files lack, and (its review notes deleted) loads the file as it is."""
    pyreadstat = pytest.importorskip("pyreadstat")
    import pandas as pd

    frame = pd.DataFrame({
        "RespID": [1, 2, 3, 4, 5, 6],
        "Respondent_type": [1, 2, 1, 2, 1, 1],
        "LocalAuth": ["Leeds", "Bradford", "Leeds", "Kirklees", "Leeds", "Bradford"],
        "Ethnicity": ["White", "Asian", "Black", "White", "Mixed", "White"],
        "Q5": [1, 2, 3, 4, 5, 3],
        "Comments": ["", "good", "bad service", "", "good", ""],
        "Email": [f"p{i}@example.org" for i in range(6)],
    })
    path = tmp_path / "export.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "Respondent_type": {1: "Service user", 2: "Carer"},
        "Q5": {1: "Very poor", 2: "Poor", 3: "Fair", 4: "Good", 5: "Very good"}})
    schema, _ = draft_codebook(path)
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["LocalAuth"]["x-role"] == "area"
    assert fields["Ethnicity"]["x-role"] == "demographic"
    assert fields["Ethnicity"]["x-measurement"] == "nominal"  # text codes have no order
    assert "categoriesOrdered" not in fields["Ethnicity"]
    assert fields["Comments"]["x-measurement"] == "text"
    assert "categories" not in fields["Comments"]  # free text never becomes levels
    assert fields["Q5"]["x-measurement"] == "ordinal"  # labelled numeric codes keep order
    waves = [f for f in schema["fields"] if f["x-role"] == "wave"]
    assert [w["name"] for w in waves] == ["wave"] and "wave" not in frame.columns
    assert not any("wave" in note for note in schema["x-review"])
    for f in schema["fields"]:
        f.pop("x-review", None)
    schema.pop("x-review")
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = load_wave(path, cb, wave=2)
    assert (w.rows_read, w.rows_excluded) == (6, 0)


def test_two_csv_exports_in_excel_text_draft_a_codebook_that_loads_both(
        tmp_path: Path) -> None:
    """A survey platform's CSV exports as Excel saves them (Windows-1252, semicolons), answers
    as words, dates day first, a question only wave 2 asked: the draft from both files orders
    the agreement scale, makes "Don't know" and "Prefer not to say" missing codes, reads the
    dates' format, marks the wave-2 question and, its notes deleted, loads both files."""
    scale = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree",
             "Strongly agree", "Don't know", ""]
    rows = {1: [], 2: []}
    for w in (1, 2):
        for i in range(14):
            rows[w].append(";".join([
                f"R_{i:03d}", ["Person who uses services", "Carer"][i % 2],
                f"{(i % 27) + 1:02d}/{10 + w}/{2013 + w}", scale[(i + w) % 7],
                ["Female", "Male", "Prefer not to say"][i % 3],
                ["Yes", "No", ""][i % 3] if w == 2 else "",
                "" if i % 4 else "Waited in A&E — caf\u00e9 closed"]))
    header = ("Response ID;I am a...;Date submitted;I was treated with dignity;Gender;"
              "Have you heard of the Concordat?;Any other comments")
    for w in (1, 2):
        (tmp_path / f"w{w}.csv").write_bytes(
            ("\r\n".join([header, *rows[w]]) + "\r\n").encode("cp1252"))
    schema, _ = draft_codebook(tmp_path / "w1.csv", tmp_path / "w2.csv")
    f = {x["name"]: x for x in schema["fields"]}
    assert f["Response ID"]["x-role"] == "identifier"
    assert f["I am a..."]["x-role"] == "group"
    assert (f["Date submitted"]["type"], f["Date submitted"]["format"]) == ("date", "%d/%m/%Y")
    dignity = f["I was treated with dignity"]
    assert [c["value"] for c in dignity["categories"]] == scale[:5]  # the scale's order
    assert dignity["x-measurement"] == "ordinal" and dignity["categoriesOrdered"] is True
    assert {"value": "Don't know", "label": "Don't know", "x-kind": "dont_know"} in \
        dignity["missingValues"]
    assert [c["value"] for c in f["Gender"]["categories"]] == ["Female", "Male"]
    assert f["Have you heard of the Concordat?"]["x-waves"] == [2]
    assert f["Any other comments"]["x-measurement"] == "text"
    assert [x["name"] for x in schema["fields"] if x["x-role"] == "wave"] == ["wave"]
    for x in schema["fields"]:
        x.pop("x-review", None)
    schema.pop("x-review")
    schema["fields"].append({"name": "key", "type": "string", "x-role": "link_key"})
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for w in (1, 2):
            loaded = load_wave(tmp_path / f"w{w}.csv", cb, wave=w)
            assert (loaded.rows_read, loaded.rows_excluded) == (14, 0)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet_exports_draft_as_load_wave_reads_them(
        tmp_path: Path, suffix: str) -> None:
    """An Excel export with a cover sheet and title rows above the header, and a Parquet
    file, draft like a CSV (date cells are dates, whole numbers integers) and load with the
    draft."""
    import pandas as pd

    frame = pd.DataFrame({
        "Response ID": [f"R{i}" for i in range(8)],
        "Area": ["North", "South"] * 4,
        "Submitted": pd.to_datetime(["2014-10-0" + str(i + 1) for i in range(8)]),
        "Rating": [1, 2, 3, 4, 5, 4, 3, 2],
        "Helpful": ["Never", "Rarely", "Sometimes", "Often", "Always", "Often", "Never", ""],
    })
    path = tmp_path / f"export{suffix}"
    if suffix == ".xlsx":
        with pd.ExcelWriter(path) as xw:
            pd.DataFrame({"About": ["Survey export", "Downloaded 2014-12-01"]}).to_excel(
                xw, sheet_name="Cover", index=False)
            frame.to_excel(xw, sheet_name="Responses", index=False, startrow=2)
    else:
        frame.to_parquet(path)
    schema, _ = draft_codebook(path)
    f = {x["name"]: x for x in schema["fields"]}
    assert f["Response ID"]["x-role"] == "identifier" and f["Area"]["x-role"] == "area"
    assert (f["Submitted"]["type"], f["Submitted"]["x-role"]) == ("date", "date")
    assert f["Rating"]["type"] == "integer"
    assert [c["value"] for c in f["Helpful"]["categories"]] == [
        "Never", "Rarely", "Sometimes", "Often", "Always"]
    for x in schema["fields"]:
        x.pop("x-review", None)
    schema.pop("x-review")
    schema["fields"] += [{"name": "key", "type": "string", "x-role": "link_key"},
                         {"name": "grp", "type": "string", "x-role": "group",
                          "x-measurement": "nominal", "categories": ["A"]}]
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_wave(path, cb, wave=1)
    assert (loaded.rows_read, loaded.rows_excluded) == (8, 0)
