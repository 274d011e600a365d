"""Survey platforms' exports (src/crisis_survey/load/_readers.py ``platform_header``):
Qualtrics writes the question text and a row of JSON import ids under the names, SurveyMonkey
names a question once over its columns with each column's option in a second row. Those rows
are headers, not respondents: they never become answers or categories, rows keep the file's
row numbers, and the draft codebook takes the question text as labels and the platform's
metadata and personal-data columns out of the analysis."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from crisis_survey import DataValidationError, link_waves, load_wave
from crisis_survey.codebook import codebook_from_dict, default_codebook, draft_codebook
from crisis_survey.load._readers import platform_header, read_table

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SKIP = ("respondent_id", "link_key", "wave", "completed_date")


def _qualtrics(wave: int, folder: Path, *, text: bool = True, excel: bool = False) -> Path:
    """The shipped sample's wave as Qualtrics exports it: metadata columns, Q1.. names,
    question text (with a line break) in row 2, import ids in row 3, answers as choice text
    (or as the numeric codes with ``text=False``)."""
    cb = default_codebook()
    d = pd.read_csv(SAMPLE / f"synthetic_wave{wave}.csv", dtype=str)
    qid = {f.name: f"Q{i + 1}" for i, f in enumerate(f for f in cb.fields if f.name not in SKIP)}
    when = pd.to_datetime(d["completed_date"])
    out = pd.DataFrame({
        "StartDate": when.dt.strftime("%Y-%m-%d 09:00:00"),
        "EndDate": when.dt.strftime("%Y-%m-%d 09:07:00"),
        "Status": "IP Address", "IPAddress": "10.0.0.1", "Progress": "100",
        "Duration (in seconds)": "412", "Finished": "True",
        "RecordedDate": when.dt.strftime("%Y-%m-%d 09:07:01"),
        "ResponseId": "R_" + d["respondent_id"].str.replace("-", ""),
        "RecipientEmail": "", "ExternalReference": d["link_key"]})
    questions = {c: c for c in out.columns}
    questions.update({"ResponseId": "Response ID", "ExternalReference": "External Data Reference"})
    for name in d.columns:
        if name in SKIP:
            continue
        f, q = cb[name], qid[name]
        questions[q] = f.label + "\n(select one)"
        labels = {str(lv.code): lv.label for lv in (*f.levels, *f.missing)}
        out[q] = d[name].fillna("").map(lambda v, lab=labels: lab.get(v, v)) if text and \
            labels else d[name].fillna("")
    ids = [json.dumps({"ImportId": f"QID{c[1:]}" if c.startswith("Q") else c.lower()})
           for c in out.columns]
    rows = [list(out.columns), [questions[c] for c in out.columns], ids,
            *out.itertuples(index=False)]
    if excel:
        path = folder / f"wave{wave}.xlsx"
        pd.DataFrame(rows).to_excel(path, header=False, index=False)
        return path
    path = folder / f"wave{wave}.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("excel", [False, True])
def test_qualtrics_header_rows_are_headers_and_rows_keep_their_numbers(
        tmp_path: Path, excel: bool) -> None:
    path = _qualtrics(1, tmp_path, excel=excel)
    table = read_table(path, path.name, path.suffix)
    assert table.platform == "Qualtrics"
    assert len(table.frame) == 658  # the sample's respondents, not 660
    assert table.rows[0] == 4 and table.rows[-1] == 661  # data start in row 4
    assert table.questions["Q1"].startswith("Respondent group")
    assert not table.frame.astype(str).apply(lambda c: c.str.contains("ImportId")).any().any()
    assert "Respondent group" not in set(table.frame["Q1"].astype(str))


def test_a_plain_file_is_not_taken_for_a_platform_export() -> None:
    path = SAMPLE / "synthetic_wave1.csv"
    table = read_table(path, path.name, ".csv")
    assert table.platform is None and table.rows[0] == 2 and len(table.frame) == 658
    # a respondent answering "Response" is a respondent: the id column is not blank
    assert platform_header(["id", "Q1"], [["r1", "Response"]]) is None


def test_surveymonkey_names_each_column_question_and_option(tmp_path: Path) -> None:
    path = tmp_path / "monkey.csv"
    rows = [["Respondent ID", "Start Date", "I am a", "", "Which services did you use?", "",
             ""],
            ["", "", "Response", "Other (please specify)", "GP", "Police", "GP"],
            ["1101", "10/01/2014 09:13:22 AM", "Carer", "", "GP", "", "GP"],
            ["1102", "10/01/2014 10:00:00 AM", "Service user", "", "", "Police", ""]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    table = read_table(path, path.name, ".csv")
    assert table.platform == "SurveyMonkey"
    assert list(table.frame.columns) == [
        "Respondent ID", "Start Date", "I am a", "I am a - Other (please specify)",
        "Which services did you use? - GP", "Which services did you use? - Police",
        "Which services did you use? - GP (2)"]
    assert list(table.rows) == [3, 4]
    assert table.frame["I am a"].tolist() == ["Carer", "Service user"]
    assert table.questions["Which services did you use? - Police"] == \
        "Which services did you use?"


def test_the_shipped_codebook_reads_a_qualtrics_layout_with_numeric_codes(
        tmp_path: Path) -> None:
    # the shipped sample with a question-text row and an import-id row under its names:
    # the same respondents and answers as the plain file, the file's row numbers in errors
    plain = (SAMPLE / "synthetic_wave1.csv").read_text(encoding="utf-8").splitlines()
    names = plain[0].split(",")
    text = ",".join(f'"{n}\nquestion"' for n in names)
    ids = ",".join('"{""ImportId"":""' + n + '""}"' for n in names)
    body = plain[1:]
    body[4] = body[4].replace(",1,", ",77,", 1) if ",1," in body[4] else body[4]
    path = tmp_path / "w1.csv"
    path.write_text("\n".join([plain[0], text, ids, *body]) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        load_wave(path, codebook=default_codebook(), wave=1)
    problems = pd.DataFrame(err.value.problems)
    # the 5th respondent: row 6 of the plain file, row 8 under two more header rows
    assert set(problems["row"]) == {8}
    ok = tmp_path / "ok.csv"
    body = plain[1:]
    ok.write_text("\n".join([plain[0], text, ids, *body]) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = load_wave(ok, codebook=default_codebook(), wave=1)
        want = load_wave(SAMPLE / "synthetic_wave1.csv", codebook=default_codebook(), wave=1)
    pd.testing.assert_frame_equal(got.data.reset_index(drop=True),
                                  want.data.reset_index(drop=True))


def test_a_qualtrics_export_drafts_a_codebook_that_links_the_waves(tmp_path: Path) -> None:
    w1, w2 = _qualtrics(1, tmp_path), _qualtrics(2, tmp_path)
    schema, _ = draft_codebook(w1, w2)
    fields = {f["name"]: f for f in schema["fields"]}
    role = {n: f["x-role"] for n, f in fields.items()}
    assert role["ResponseId"] == "identifier" and role["ExternalReference"] == "link_key"
    assert role["Q1"] == "group" and role["Q2"] == "area"  # from the question text
    assert fields["Q1"]["title"] == "Respondent group"  # the first line of the question
    # the recipient's e-mail and the IP address are personal data: never analysed
    for name in ("RecipientEmail", "IPAddress"):
        assert role[name] == "other" and fields[name]["x-measurement"] == "text"
    for name in ("Status", "Progress", "Finished", "Duration (in seconds)"):
        assert role[name] == "other" and "categories" not in fields[name]
    assert role["EndDate"] == "date" and role["StartDate"] == "other"  # one fieldwork date
    # the waves are labelled by their fieldwork year, their window the dates' span
    assert schema["x-waves"] == [
        {"number": 1, "label": "2014", "fieldworkStart": "2014-10-01",
         "fieldworkEnd": "2014-11-23"},
        {"number": 2, "label": "2015", "fieldworkStart": "2015-11-01",
         "fieldworkEnd": "2015-12-27"}]
    assert [c["label"] for c in fields["Q6"]["categories"]] == [
        "Very poor", "Poor", "Fair", "Good", "Excellent"]
    # a rating scale says which way is better; an agreement scale does not (the statement
    # could be a complaint), so the reviewer says
    assert fields["Q6"]["x-polarity"] == "higher_is_better"
    assert "x-polarity" not in fields["Q7"]
    for f in schema["fields"]:
        f.pop("x-review", None)
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = load_wave(w1, codebook=cb, wave=1), load_wave(w2, codebook=cb, wave=2)
        study = link_waves(a, b)
    assert len(a.data) == 658 and len(b.data) == 413
    assert len(study.pairs) == 231  # as the plain sample links


def _surveymonkey(wave: int, folder: Path) -> Path:
    """The shipped sample's wave as SurveyMonkey exports it: its metadata columns, US dates
    with AM/PM, the agreement items as one matrix question (named once, each column's row
    text under it), the services as one 'tick all that apply' question written as the
    option's text or nothing, and answers as text."""
    cb = default_codebook()
    d = pd.read_csv(SAMPLE / f"synthetic_wave{wave}.csv", dtype=str)
    when = pd.to_datetime(d["completed_date"]).dt.strftime("%m/%d/%Y 09:13:22 AM")
    head1 = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
             "Email Address", "First Name", "Last Name", "Custom Data 1"]
    head2 = [""] * len(head1)
    cols: list[pd.Series] = [d["respondent_id"].str.replace("R", "10").str.replace("-", ""),
                             pd.Series(["4311"] * len(d)), when, when,
                             pd.Series(["10.0.0.1"] * len(d)), pd.Series([""] * len(d)),
                             pd.Series([""] * len(d)), pd.Series([""] * len(d)), d["link_key"]]
    matrix = "How much do you agree with each statement?"
    services = "Which services did you use?"
    last_question = None
    for name in d.columns:
        if name in SKIP:
            continue
        f = cb[name]
        labels = {str(lv.code): lv.label for lv in (*f.levels, *f.missing)}
        if f.select_group is not None:
            option = f.label.split(": ", 1)[1]
            cols.append(d[name].map(lambda v, o=option: o if v == "1" else ""))
            question = services
            sub = option
        else:
            cols.append(d[name].fillna("").map(lambda v, lab=labels: lab.get(v, v)))
            is_matrix = bool(f.levels) and f.levels[0].label == "Strongly disagree"
            question = matrix if is_matrix else f.label
            sub = f.label if is_matrix else ("Open-Ended Response" if not f.levels
                                             else "Response")
        head1.append("" if question == last_question else question)
        head2.append(sub)
        last_question = question
    path = folder / f"monkey{wave}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerows([head1, head2, *zip(*[c.tolist() for c in cols], strict=True)])
    return path


def test_a_surveymonkey_export_drafts_matrix_rows_and_tick_all_options(
        tmp_path: Path) -> None:
    w1, w2 = _surveymonkey(1, tmp_path), _surveymonkey(2, tmp_path)
    schema, _ = draft_codebook(w1, w2)
    fields = {f["name"]: f for f in schema["fields"]}
    gp = fields["Which services did you use? - GP"]
    assert gp["x-selectGroup"] == "Which services did you use?" and gp["title"] == "GP"
    assert gp["x-measurement"] == "binary" and gp["x-reports"] == "GP"
    assert [c["label"] for c in gp["categories"]] == ["Not ticked", "Ticked"]
    listened = fields["How much do you agree with each statement? - Listened to"]
    assert listened["x-measurement"] == "ordinal" and listened["categories"][0]["label"] == \
        "Strongly disagree"
    # each matrix row is labelled by its own text, the matrix's question kept beside it (a
    # question spanning one column too: its row is still a row)
    assert listened["title"] == "Listened to"
    assert listened["x-question"] == "How much do you agree with each statement?"
    assert fields["How much do you agree with each statement? - Got help when needed"][
        "title"] == "Got help when needed"
    assert gp["x-question"] == "Which services did you use?"
    role = {n: f["x-role"] for n, f in fields.items()}
    assert role["Respondent ID"] == "identifier" and role["Custom Data 1"] == "other"
    assert role["Email Address"] == "link_key"  # the only link-key-like column: review it
    for name in ("IP Address", "First Name", "Last Name"):
        assert fields[name]["x-measurement"] == "text"  # personal data, never published
    assert fields["End Date"]["x-role"] == "date" and fields["End Date"]["format"] == \
        "%m/%d/%Y %I:%M:%S %p"
    # the sample's link key sits in Custom Data 1: the reviewer makes it the link key
    fields["Custom Data 1"]["x-role"] = "link_key"
    fields["Email Address"]["x-role"] = "other"
    fields["Email Address"]["x-measurement"] = "text"
    for f in schema["fields"]:
        f.pop("x-review", None)
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = load_wave(w1, codebook=cb, wave=1)
        study = link_waves(a, load_wave(w2, codebook=cb, wave=2))
    assert len(a.data) == 658 and len(study.pairs) == 231
    # a blank option is 'Not ticked' where the respondent ticked another service, else
    # not answered: the sample's 0/1 answers, less the rows that ticked nothing
    raw = pd.read_csv(SAMPLE / "synthetic_wave1.csv", dtype=str)
    svc = [c for c in raw.columns if c.startswith("svc_")]
    any_ticked = (raw[svc] == "1").any(axis=1).to_numpy()
    got = a.data["Which services did you use? - GP"].reset_index(drop=True)
    want = raw["svc_gp"].where(any_ticked).map({"1": "Ticked", "0": "Not ticked"})
    assert got.astype(object).where(got.notna(), None).tolist() == \
        want.astype(object).where(want.notna(), None).tolist()
    assert got.notna().sum() == int(any_ticked.sum()) > 0


def test_x_unticked_must_name_a_level_of_a_tick_all_column() -> None:
    from crisis_survey import CodebookError

    def schema(**extra: object) -> dict[str, object]:
        return {"name": "s", "version": "1", "fields": [
            {"name": "id", "type": "string", "x-role": "identifier"},
            {"name": "key", "type": "string", "x-role": "link_key"},
            {"name": "wave", "type": "integer", "x-role": "wave"},
            {"name": "group", "type": "string", "x-role": "group", "categories": ["a", "b"]},
            {"name": "gp", "type": "string", "x-role": "item", "x-measurement": "binary",
             "categories": ["(not ticked)", "GP"], **extra}]}

    ok = codebook_from_dict(schema(**{"x-selectGroup": "services",
                                       "x-unticked": "(not ticked)"}))
    assert ok["gp"].unticked == "(not ticked)"
    for bad in ({"x-unticked": "(not ticked)"},  # not a tick-all column
                {"x-selectGroup": "services", "x-unticked": "no such level"}):
        with pytest.raises(CodebookError, match="x-unticked names no level"):
            codebook_from_dict(schema(**bad))


def test_a_scale_coded_backwards_is_ordered_by_its_words_not_its_codes(
        tmp_path: Path) -> None:
    # an SPSS export coding 'Listened to' 1 = Strongly agree ... 5 = Strongly disagree: the
    # draft orders the levels by the scale's words, so the comparison is the one of the
    # sample coded forwards (a draft in code order would reverse every direction)
    import pyreadstat

    from crisis_survey import compare_waves

    paths = []
    for w in (1, 2):
        frame, meta = pyreadstat.read_sav(str(SAMPLE / f"synthetic_wave{w}.sav"),
                                          user_missing=True)
        labels = dict(meta.variable_value_labels)
        old = labels["exp_listened"]
        frame["exp_listened"] = frame["exp_listened"].map(
            lambda v: 6 - v if v in (1, 2, 3, 4, 5) else v)
        labels["exp_listened"] = {(6 - k if k in (1, 2, 3, 4, 5) else k): v
                                  for k, v in old.items()}
        path = tmp_path / f"w{w}.sav"
        pyreadstat.write_sav(frame, str(path), column_labels=meta.column_labels,
                             variable_value_labels=labels,
                             missing_ranges=meta.missing_ranges or None)
        paths.append(path)
    schema, _ = draft_codebook(*paths)
    listened = next(f for f in schema["fields"] if f["name"] == "exp_listened")
    assert [c["value"] for c in listened["categories"]] == [5, 4, 3, 2, 1]
    assert listened["categories"][0]["label"] == "Strongly disagree"
    assert any("codes run in another order" in r for r in listened["x-review"])
    for f in schema["fields"]:
        f.pop("x-review", None)
    cb = codebook_from_dict(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compare_waves(link_waves(load_wave(paths[0], codebook=cb, wave=1),
                                       load_wave(paths[1], codebook=cb, wave=2)),
                            items=["exp_listened"])
        from crisis_survey import load_sample_study
        # every default design: the rank tests, and the overlapping t on level scores
        # (1..k where the codes run against the levels, not the codes themselves)
        want = compare_waves(load_sample_study(), items=["exp_listened"])
    cols = ["n_pairs", "statistic", "p_value", "effect_size", "ci_low", "ci_high"]
    assert got.table[cols].to_numpy(dtype=float).ravel().tolist() == pytest.approx(
        want.table[cols].to_numpy(dtype=float).ravel().tolist(), rel=1e-12, nan_ok=True)
    assert got.table["summary_wave1"].tolist() == want.table["summary_wave1"].tolist()


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_one_mapping_file_names_each_waves_columns(tmp_path: Path, kind: str) -> None:
    # wave 2's survey inserted a question: its Q7 is wave 1's Q6 (the overall rating);
    # one mapping file says so per wave, with a part for both
    import shutil

    cb = default_codebook()
    frames = {}
    for w in (1, 2):
        d = pd.read_csv(SAMPLE / f"synthetic_wave{w}.csv", dtype=str)
        d = d.rename(columns={"overall_rating": "Q6" if w == 1 else "Q7"})
        if w == 2:
            d.insert(3, "Q6", "x")  # the new question, not in the codebook: ignored
        frames[w] = tmp_path / f"w{w}.csv"
        d.to_csv(frames[w], index=False)
    if kind == "json":
        mapping = tmp_path / "map.json"
        mapping.write_text(json.dumps({"wave 1": {"Q6": "overall_rating"},
                                       "wave 2": {"Q7": "overall_rating", "Q6": None}}))
    else:
        mapping = tmp_path / "map.csv"
        mapping.write_text("column,field,wave\nQ6,overall_rating,1\nQ7,overall_rating,2\n"
                           "Q6,,2\ncomments,comments,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [load_wave(frames[w], codebook=cb, wave=w, mapping=mapping) for w in (1, 2)]
        want = [load_wave(SAMPLE / f"synthetic_wave{w}.csv", codebook=cb, wave=w)
                for w in (1, 2)]
    for g, x in zip(got, want, strict=True):
        pd.testing.assert_series_equal(g.data["overall_rating"], x.data["overall_rating"])
    # the per-wave mapping used without a wave cannot pick its part
    from crisis_survey import CodebookError
    from crisis_survey.load._mapping import read_mapping
    with pytest.raises(CodebookError, match="without saying which wave"):
        read_mapping({"wave 1": {"Q6": "overall_rating"}}, cb)
    shutil.rmtree(tmp_path)


def test_the_cli_says_when_a_codebook_still_holds_the_drafts_guesses(tmp_path: Path) -> None:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from crisis_survey._cli import main

    w1 = _qualtrics(1, tmp_path)
    schema, _ = draft_codebook(w1)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(schema))
    notes = len(schema["x-review"]) + sum(len(f.get("x-review", [])) for f in schema["fields"])
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        main(["validate", str(w1), "--wave", "1", "--codebook", str(draft)])
    assert f"still holds {notes} x-review note(s)" in err.getvalue()
    assert "provisional" in err.getvalue()
    for f in schema["fields"]:
        f.pop("x-review", None)
    schema.pop("x-review")
    draft.write_text(json.dumps(schema))
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        main(["validate", str(w1), "--wave", "1", "--codebook", str(draft)])
    assert "x-review" not in err.getvalue()
