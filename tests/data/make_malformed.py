"""Write the small malformed survey files used by tests/test_validate.py.

Each file is a valid four-respondent wave-1 file of the shipped codebook with exactly one
kind of problem, so a test can say which cell is wrong. Run from anywhere:

    python tests/data/make_malformed.py

The files are committed; this script documents how they were made and re-makes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

#: Four valid wave-1 respondents (codes for some items, labels for others).
VALID = {
    "respondent_id": ["A001", "A002", "A003", "A004"],
    "link_key": ["k1@example.org", "k2@example.org", "", "k4@example.org"],
    "wave": ["1", "1", "1", "1"],
    "group": ["1", "Carer", "1", "2"],
    "area": ["E38000001", "E38000002", "E38000001", ""],
    "completed_date": ["2014-10-02", "2014-10-15", "2014-11-01", "2014-11-30"],
    "age_band": ["3", "4", "9", "7"],
    "gender": ["1", "2", "Prefer not to say", "1"],
    "ethnicity": ["1", "1", "4", ""],
    "overall_rating": ["4", "Good", "8", "1"],
    "exp_help_when_needed": ["4", "5", "1", "2"],
    "exp_help_speed": ["3", "3", "1", ""],
    "exp_dignity": ["5", "4", "8", "2"],
    "exp_listened": ["5", "4", "3", "2"],
    "exp_understood": ["Agree", "agree ", "Strongly disagree", "2"],
    "exp_knew_contact": ["1", "0", "8", "Yes"],
    "exp_involved": ["4", "4", "2", "1"],
    "exp_family_involved": ["7", "4", "8", "3"],
    "exp_followup": ["1", "0", "0", "1"],
    "svc_ae": ["1", "0", "0", "1"],
    "svc_police": ["0", "0", "1", "0"],
    "svc_police_cell": ["0", "0", "0", "0"],
    "svc_crisis_team": ["1", "1", "0", "0"],
    "svc_helpline": ["0", "1", "0", "0"],
    "svc_gp": ["1", "1", "1", "0"],
    "svc_voluntary": ["0", "0", "0", "1"],
    "comments": ["Staff were kind, mostly.", "", "", "Waited\nall night"],
}

#: file name -> (column, 0-based data row, new value): one bad cell each. Spreadsheet row of
#: data row i is i + 2.
ONE_BAD_CELL: dict[str, tuple[str, int, str]] = {
    "unknown_code.csv": ("overall_rating", 1, "6"),
    "unknown_label.csv": ("exp_dignity", 2, "Quite good"),
    "unknown_group.csv": ("group", 3, "Professional"),
    "wrong_wave.csv": ("wave", 0, "2"),
    "malformed_date.csv": ("completed_date", 2, "31/10/2014"),
    "date_outside_window.csv": ("completed_date", 1, "2015-01-05"),
    "missing_required_value.csv": ("group", 2, ""),
    "missing_identifier.csv": ("respondent_id", 3, ""),
}


def valid_frame() -> pd.DataFrame:
    return pd.DataFrame(VALID)


def write_csv(frame: pd.DataFrame, name: str) -> None:
    frame.to_csv(HERE / name, index=False, lineterminator="\n")


#: A small user codebook with numeric items, for range and whole-number checks.
NUMERIC_CODEBOOK = {
    "name": "numeric_test",
    "version": "0.1",
    "x-waves": [{"number": 1, "label": "only"}],
    "fields": [
        {"name": "id", "type": "string", "x-role": "identifier",
         "constraints": {"required": True, "unique": True}},
        {"name": "key", "type": "string", "x-role": "link_key"},
        {"name": "wave", "type": "integer", "x-role": "wave"},
        {"name": "group", "type": "string", "x-role": "group", "x-measurement": "nominal",
         "categories": [{"value": "u", "label": "User"}, {"value": "c", "label": "Carer"}],
         "constraints": {"required": True}},
        {"name": "contacts", "type": "integer", "x-role": "item", "x-measurement": "numeric",
         "constraints": {"minimum": 0, "maximum": 50},
         "missingValues": [{"value": "99", "label": "Can't remember", "x-kind": "dont_know"},
                           {"value": "NA", "label": "Not asked", "x-kind": "not_applicable"}]},
        {"name": "wait_hours", "type": "number", "x-role": "item", "x-measurement": "numeric",
         "constraints": {"minimum": 0}},
    ],
}

NUMERIC_VALID = {
    "id": ["n1", "n2", "n3"],
    "group": ["u", "Carer", "c"],
    "contacts": ["3", "99", "NA"],
    "wait_hours": ["1.5", "", "0"],
}

NUMERIC_BAD: dict[str, tuple[str, int, str]] = {
    "out_of_range.csv": ("contacts", 0, "51"),
    "below_minimum.csv": ("wait_hours", 2, "-2"),
    "not_integer.csv": ("contacts", 2, "2.5"),
    "not_a_number.csv": ("wait_hours", 1, "about 3"),
}


#: Input faults of real exports (issue 12): file name -> what is wrong. Each becomes the
#: library's own error naming file, row, column and value, or a documented correct load
#: (tests/test_faults.py).
FAULTS: dict[str, str] = {
    "short_row.csv": "row 4 lost its exp_dignity cell: later answers shift one column left",
    "long_row.csv": "row 3 has a surplus field",
    "header_only.csv": "a header and no data rows",
    "absent_item.csv": "no column for exp_dignity, which wave 1 asked",
    "nul_byte.csv": "a NUL byte inside row 3's comments",
    "control_area.csv": "a BEL control character in row 2's area code",
    "na_tokens.csv": "NA, N/A, NULL, None, NaN, #N/A in comments and in an item",
    "na_tokens.xlsx": "the same cells in a workbook",
    "formula_no_cache.xlsx": "overall_rating as formulas without saved values (rows 2-3)",
    "cover_sheet.xlsx": "a cover sheet before the data sheet",
    "two_data_sheets.xlsx": "two sheets both with the survey's columns",
    "list_column.parquet": "services as a Parquet list column",
    "own_missing.sav": "SPSS: don't know coded 98 (value label, user-missing 98-99), not 8",
    "stata_wave1.dta": "the valid wave as a Stata file (codes, value labels)",
}

#: the NA-like tokens (pandas' read_excel makes them missing by default; read_csv does not
#: here): both readers keep them as text.
NA_TOKENS = ["NA", "N/A", "NULL", "None", "NaN", "#N/A"]


def write_faults() -> None:
    frame = valid_frame()
    write_csv(frame, "_valid.csv")
    text = (HERE / "_valid.csv").read_text().split("\n")
    (HERE / "_valid.csv").unlink()
    header = text[0].split(",")
    j = header.index("exp_dignity")
    # row 4 (data row index 2): delete the exp_dignity cell
    cells = text[3].split(",")
    del cells[j]
    short = list(text)
    short[3] = ",".join(cells)
    (HERE / "short_row.csv").write_text("\n".join(short))
    long = list(text)
    long[2] = long[2] + ",surplus"
    (HERE / "long_row.csv").write_text("\n".join(long))
    (HERE / "header_only.csv").write_text(text[0] + "\n")
    write_csv(frame.drop(columns=["exp_dignity"]), "absent_item.csv")
    nul = valid_frame()
    nul.loc[1, "comments"] = "fine\x00"
    write_csv(nul, "nul_byte.csv")
    ctrl = valid_frame()
    ctrl.loc[0, "area"] = "E38000001\x07"
    write_csv(ctrl, "control_area.csv")
    na = pd.concat([valid_frame()] * 2, ignore_index=True).iloc[:6].copy()
    na["respondent_id"] = [f"N{i}" for i in range(6)]
    na["comments"] = NA_TOKENS
    na["exp_listened"] = NA_TOKENS
    write_csv(na, "na_tokens.csv")
    na.to_excel(HERE / "na_tokens.xlsx", index=False)

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(list(VALID))
    for i in range(4):
        sheet.append([VALID[c][i] for c in VALID])
    col = list(VALID).index("overall_rating") + 1
    sheet.cell(row=2, column=col, value="=2+2")  # openpyxl stores no cached value
    sheet.cell(row=3, column=col, value="=B3")
    book.save(HERE / "formula_no_cache.xlsx")

    with pd.ExcelWriter(HERE / "cover_sheet.xlsx", engine="openpyxl") as xl:
        pd.DataFrame({"Crisis care survey export": ["Exported 2014-12-01", "Wave 1"]}).to_excel(
            xl, sheet_name="Cover", index=False)
        valid_frame().to_excel(xl, sheet_name="Responses", index=False)
    with pd.ExcelWriter(HERE / "two_data_sheets.xlsx", engine="openpyxl") as xl:
        valid_frame().to_excel(xl, sheet_name="Wave 1", index=False)
        valid_frame().iloc[:2].to_excel(xl, sheet_name="Wave 1 (old)", index=False)

    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = valid_frame().drop(columns=[c for c in VALID if c.startswith("svc_")])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("svc_ae", pa.array([["ae"], [], ["ae", "gp"], None],
                                                    type=pa.list_(pa.string())))
    pq.write_table(table, HERE / "list_column.parquet")

    import pyreadstat

    coded = valid_frame().replace("", None)
    coded["overall_rating"] = [4, 4, 98, 1]  # the file's own "Don't know" code
    coded["group"] = [1, 2, 1, 2]
    coded["gender"] = [1, 2, 9, 1]
    coded["exp_understood"] = [4, 4, 1, 2]
    coded["exp_knew_contact"] = [1, 0, 8, 1]
    numeric = ["wave", "age_band", "ethnicity", "exp_help_when_needed", "exp_help_speed",
               "exp_dignity", "exp_listened", "exp_involved", "exp_family_involved",
               "exp_followup", *[c for c in VALID if c.startswith("svc_")]]
    for col in numeric:
        coded[col] = pd.to_numeric(coded[col])
    pyreadstat.write_sav(
        coded, str(HERE / "own_missing.sav"),
        variable_value_labels={"overall_rating": {1: "Very poor", 2: "Poor", 3: "Fair",
                                                  4: "Good", 5: "Excellent",
                                                  98: "Don't know", 99: "Refused"}},
        missing_ranges={"overall_rating": [{"lo": 98, "hi": 99}]},
    )
    stata = coded.copy()
    stata["overall_rating"] = [4, 4, 8, 1]
    stata["completed_date"] = pd.to_datetime(stata["completed_date"])
    pyreadstat.write_dta(stata, str(HERE / "stata_wave1.dta"),
                         variable_value_labels={"group": {1: "Service user", 2: "Carer"}})


def main() -> None:
    for name, (column, i, value) in ONE_BAD_CELL.items():
        frame = valid_frame()
        frame.loc[i, column] = value
        write_csv(frame, name)
    frame = valid_frame()
    frame.loc[2, "respondent_id"] = "A001"
    write_csv(frame, "duplicate_id.csv")
    write_csv(valid_frame().drop(columns=["group"]), "missing_required_column.csv")
    frame = valid_frame()
    frame.insert(3, "Q99_other", ["x", "", "", ""])
    write_csv(frame, "extra_column.csv")
    frame = valid_frame()
    frame["aware_concordat"] = ["", "1", "", ""]
    write_csv(frame, "not_asked_item.csv")
    text = (HERE / "unknown_code.csv").read_text().splitlines()
    text[3] = text[3] + ",surplus"
    (HERE / "ragged.csv").write_text("\n".join(text) + "\n")
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "binary.csv").write_bytes(b"PK\x03\x04\x00\x00garbage\x00\x01\x02")
    (HERE / "corrupt.xlsx").write_bytes(b"respondent_id,group\nA1,1\n")
    (HERE / "corrupt.parquet").write_bytes(b"PAR1 this is not really parquet PAR1")
    (HERE / "corrupt.sav").write_bytes(b"$FL2 not an spss file at all")

    # SPSS file whose value labels run the other way from the codebook (1 = Excellent).
    import pyreadstat

    frame = valid_frame().replace("", None)
    frame["overall_rating"] = [4, 4, 8, 1]
    frame["group"] = [1, 2, 1, 2]
    frame["gender"] = [1, 2, 9, 1]
    frame["exp_understood"] = [4, 4, 1, 2]
    frame["exp_knew_contact"] = [1, 0, 8, 1]
    for col in ("wave", "age_band", "ethnicity", "exp_help_when_needed", "exp_help_speed",
                "exp_dignity", "exp_listened", "exp_involved", "exp_family_involved",
                "exp_followup", "svc_ae", "svc_police", "svc_police_cell", "svc_crisis_team",
                "svc_helpline", "svc_gp", "svc_voluntary"):
        frame[col] = pd.to_numeric(frame[col])
    pyreadstat.write_sav(
        frame, str(HERE / "reversed_labels.sav"),
        variable_value_labels={"overall_rating": {1: "Excellent", 2: "Good", 3: "Fair",
                                                  4: "Poor", 5: "Very poor", 8: "Don't know"}},
    )

    write_faults()
    (HERE / "numeric.schema.json").write_text(json.dumps(NUMERIC_CODEBOOK, indent=2) + "\n")
    write_csv(pd.DataFrame(NUMERIC_VALID), "numeric_valid.csv")
    for name, (column, i, value) in NUMERIC_BAD.items():
        frame = pd.DataFrame(NUMERIC_VALID)
        frame.loc[i, column] = value
        write_csv(frame, name)


if __name__ == "__main__":
    main()
