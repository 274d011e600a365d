"""load_wave and SurveyWave (src/crisis_survey/load/).

Every format is checked the same way: the small wave of tests/data/make_malformed.py
(``VALID``, answers as codes and labels mixed) is loaded from CSV as the reference, written
back out as codes (and as labels) in each format, and each must load to the identical
``data`` and ``missing_reasons``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crisis_survey as cs
from crisis_survey import CodebookError, DataValidationError
from crisis_survey.codebook import default_codebook
from crisis_survey.load import SurveyWave, load_wave

DATA = Path(__file__).resolve().parent / "data"
DOCS = Path(__file__).resolve().parents[1] / "docs"
_spec = importlib.util.spec_from_file_location("make_malformed", DATA / "make_malformed.py")
assert _spec is not None and _spec.loader is not None
mm: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mm)

CB = default_codebook()
WAVE1 = [f.name for f in CB.fields if 1 in f.waves]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> SurveyWave:
    path = tmp_path_factory.mktemp("ref") / "wave1.csv"
    mm.valid_frame().to_csv(path, index=False)
    return load_wave(path, wave=1)


def as_codes(w: SurveyWave) -> pd.DataFrame:
    """A wave's data written back as codes (missing codes restored), the way SPSS, Stata or
    a survey platform's numeric export stores them."""
    out = pd.DataFrame(index=w.data.index)
    for name in w.data.columns:
        f = CB[name]
        col = w.data[name]
        if f.levels:
            codes = col.map(dict(zip(f.labels, f.codes, strict=True))).astype("Float64")
            if name in w.missing_reasons:
                reasons = w.missing_reasons[name].astype(object)
                for m in f.missing:
                    codes[reasons == m.kind] = m.code
            out[name] = codes.astype("Int64")
        else:
            out[name] = col
    return out.reset_index(drop=True)


def as_labels(w: SurveyWave) -> pd.DataFrame:
    """A wave's data written as labels (missing codes as their labels)."""
    out = pd.DataFrame(index=w.data.index)
    for name in w.data.columns:
        f = CB[name]
        if f.levels:
            col = w.data[name].astype(object)
            if name in w.missing_reasons:
                reasons = w.missing_reasons[name].astype(object)
                for m in f.missing:
                    col[reasons == m.kind] = m.label
            out[name] = col
        else:
            out[name] = w.data[name]
    return out.reset_index(drop=True)


def same_wave(a: SurveyWave, b: SurveyWave) -> None:
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.missing_reasons, b.missing_reasons)
    assert a.accounting().iloc[0, 2:].tolist() == b.accounting().iloc[0, 2:].tolist()


# -- the output contract -------------------------------------------------------------------
def test_reference_wave_follows_the_contract(reference: SurveyWave) -> None:
    w = reference
    assert w.wave == 1 and w.source == "wave1.csv" and len(w.sha256) == 64
    assert list(w.data.columns) == WAVE1  # codebook order; wave-2-only items absent
    assert "aware_concordat" not in w.data.columns
    assert w.data.index.name == "row" and w.data.index.tolist() == [2, 3, 4, 5]
    d = w.data
    rating = d["overall_rating"]
    assert isinstance(rating.dtype, pd.CategoricalDtype) and rating.cat.ordered
    assert list(rating.cat.categories) == ["Very poor", "Poor", "Fair", "Good", "Excellent"]
    # "4", "Good", "8" (Don't know), "1"
    assert rating.astype(object).tolist()[:2] == ["Good", "Good"]
    assert pd.isna(rating.iloc[2]) and rating.iloc[3] == "Very poor"
    assert not d["exp_knew_contact"].cat.ordered
    assert d["exp_knew_contact"].astype(object).tolist()[::3] == ["Yes", "Yes"]  # 1, "Yes"
    assert d["group"].astype(object).tolist() == ["Service user", "Carer", "Service user",
                                                  "Carer"]
    assert d["age_band"].cat.ordered  # ordinal demographic
    assert not d["gender"].cat.ordered
    assert d["exp_understood"].astype(object).tolist() == [
        "Agree", "Agree", "Strongly disagree", "Disagree"]  # labels, any case and spacing
    assert d["completed_date"].dtype == "datetime64[ns]"
    assert d["completed_date"].iloc[0] == pd.Timestamp("2014-10-02")
    assert d["wave"].dtype == np.int64 and (d["wave"] == 1).all()
    assert pd.api.types.is_string_dtype(d["respondent_id"].dtype)
    assert d["respondent_id"].tolist() == ["A001", "A002", "A003", "A004"]
    assert pd.isna(d["link_key"].iloc[2])
    assert isinstance(d["area"].dtype, pd.CategoricalDtype)
    assert list(d["area"].cat.categories) == ["E38000001", "E38000002"]
    assert d["comments"].iloc[3] == "Waited\nall night"  # a quoted line break: one row


def test_missing_reasons(reference: SurveyWave) -> None:
    r = reference.missing_reasons
    assert list(r.columns) == [f.name for f in CB.fields
                               if 1 in f.waves and f.role in ("item", "demographic")]
    assert r.index.equals(reference.data.index)
    assert list(r["overall_rating"].cat.categories) == [
        "dont_know", "not_applicable", "prefer_not_to_say", "not_answered"]
    assert r["overall_rating"].astype(object).tolist()[2] == "dont_know"
    assert r["overall_rating"].isna().tolist() == [True, True, False, True]
    assert r["exp_family_involved"].astype(object).tolist()[:3:2] == [
        "not_applicable", "dont_know"]  # codes 7 and 8
    assert r["gender"].iloc[2] == "prefer_not_to_say"  # the label "Prefer not to say"
    assert r["age_band"].iloc[2] == "prefer_not_to_say"  # the code 9
    assert r["exp_help_speed"].iloc[3] == "not_answered"  # blank
    assert r["comments"].astype(object).tolist()[1:3] == ["not_answered"] * 2
    # every NaN answer in data has a reason, every reason is a NaN answer
    for name in r.columns:
        assert (reference.data[name].isna() == r[name].notna()).all(), name


def test_accounting_and_sha256(reference: SurveyWave, tmp_path: Path) -> None:
    acc = reference.accounting()
    assert acc.to_dict("records") == [{"wave": 1, "file": "wave1.csv", "rows_read": 4,
                                       "rows_kept": 4, "rows_excluded": 0}]
    path = DATA / "unknown_code.csv"
    w = load_wave(path, wave=1, on_error="quarantine")
    assert w.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "4 rows read, 3 kept, 1 excluded" in str(w)
    assert "<table" in w._repr_html_()


def test_surveywave_refuses_broken_accounting(reference: SurveyWave) -> None:
    with pytest.raises(ValueError, match="accounting"):
        SurveyWave(wave=1, codebook=CB, source="x", sha256="", data=reference.data,
                   missing_reasons=reference.missing_reasons, rows_read=99)


def test_top_level_names() -> None:
    assert cs.load_wave is load_wave and cs.SurveyWave is SurveyWave


# -- every format ---------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_are_detected(encoding: str, tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame.loc[0, "comments"] = "Café staff – £5 for parking"
    frame.loc[2, "overall_rating"] = "Don’t know"  # Excel's curly apostrophe (cp1252 0x92)
    path = tmp_path / f"w_{encoding}.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    w = load_wave(path, wave=1)
    assert w.data["comments"].iloc[0] == "Café staff – £5 for parking"
    assert w.missing_reasons["overall_rating"].iloc[2] == "dont_know"
    assert w.data.columns[0] == "respondent_id"  # no BOM glued to the first name


def test_csv_encoding_override_and_separators(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame.loc[0, "comments"] = "naïve"
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False, encoding="latin-1", sep=";")
    assert load_wave(path, wave=1, encoding="latin-1").data["comments"].iloc[0] == "naïve"
    with pytest.raises(DataValidationError, match="not valid utf-8"):
        load_wave(path, wave=1, encoding="utf-8")
    tsv = tmp_path / "w.tsv"
    mm.valid_frame().to_csv(tsv, index=False, sep="\t")
    assert load_wave(tsv, wave=1).rows_kept == 4


def test_parquet_codes_labels_and_categoricals(reference: SurveyWave, tmp_path: Path) -> None:
    codes = as_codes(reference)
    codes["completed_date"] = codes["completed_date"].dt.date  # stored as date32
    codes.to_parquet(tmp_path / "codes.parquet")
    same_wave(reference, load_wave(tmp_path / "codes.parquet", wave=1))
    labels = as_labels(reference)
    labels.to_parquet(tmp_path / "labels.parquet")
    same_wave(reference, load_wave(tmp_path / "labels.parquet", wave=1))
    cats = labels.astype({n: "category" for n in ("group", "overall_rating", "gender")})
    cats.to_parquet(tmp_path / "cats.parquet")
    same_wave(reference, load_wave(tmp_path / "cats.parquet", wave=1))


def test_excel(reference: SurveyWave, tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame({"note": ["not the data"]}).to_excel(xl, sheet_name="README", index=False)
        as_codes(reference).to_excel(xl, sheet_name="Wave 1", index=False)
        as_labels(reference).to_excel(xl, sheet_name="Labels", index=False, startrow=2)
    same_wave(reference, load_wave(path, wave=1, sheet="Wave 1"))
    same_wave(reference, load_wave(path, wave=1, sheet=1))
    # the header on spreadsheet row 3: data rows are 4..7, as Excel shows them
    w = load_wave(path, wave=1, sheet="Labels")
    assert w.data.index.tolist() == [4, 5, 6, 7]
    pd.testing.assert_frame_equal(w.data.reset_index(drop=True),
                                  reference.data.reset_index(drop=True))
    # no sheet=: two sheets hold survey columns, so the analyst must say which
    with pytest.raises(DataValidationError, match="more than one sheet holds survey columns"
                       ) as many:
        load_wave(path, wave=1)
    assert "--sheet" in many.value.problems.loc[0, "expected"]
    with pytest.raises(DataValidationError, match="sheet not found") as info:
        load_wave(path, wave=1, sheet="Wave 2")
    assert "README, Wave 1, Labels" in info.value.problems.loc[0, "expected"]
    with pytest.raises(DataValidationError, match="sheet not found"):
        load_wave(path, wave=1, sheet=7)


def test_excel_numbers_and_dates_as_excel_stores_them(tmp_path: Path) -> None:
    frame = as_codes(load_wave(DATA / "unknown_code.csv", wave=1, on_error="quarantine"))
    frame["respondent_id"] = [1001.0, 1003.0, 1004.0]  # Excel keeps numbers as floats
    path = tmp_path / "num.xlsx"
    frame.to_excel(path, index=False)
    w = load_wave(path, wave=1)
    assert w.data["respondent_id"].tolist() == ["1001", "1003", "1004"]
    assert w.data["completed_date"].tolist()[0] == pd.Timestamp("2014-10-02")


def _sav_frame(w: SurveyWave) -> pd.DataFrame:
    codes = as_codes(w)
    for name in codes.columns:
        if isinstance(codes[name].dtype, pd.Int64Dtype):
            codes[name] = codes[name].astype("float64")
    codes["wave"] = codes["wave"].astype("float64")
    for name in ("respondent_id", "link_key", "area", "comments"):
        codes[name] = codes[name].astype(object).where(codes[name].notna(), "")
    return codes


def test_spss_codes_with_value_labels(reference: SurveyWave, tmp_path: Path) -> None:
    import pyreadstat

    labels = {f.name: {**{float(c): lab for c, lab in zip(f.codes, f.labels, strict=True)},
                       **{float(m.code): m.label for m in f.missing}}
              for f in CB.fields if f.levels and 1 in f.waves}
    path = tmp_path / "w.sav"
    pyreadstat.write_sav(_sav_frame(reference), str(path), variable_value_labels=labels,
                         missing_ranges={"overall_rating": [8]})
    # "8" is declared user-missing in SPSS: it must still come through as "don't know",
    # not as a blank
    same_wave(reference, load_wave(path, wave=1))


def test_spss_storing_labels(reference: SurveyWave, tmp_path: Path) -> None:
    import pyreadstat

    frame = as_labels(reference)
    for name in frame.columns:
        if frame[name].dtype != "datetime64[ns]" and name != "wave":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), "")
    frame["wave"] = frame["wave"].astype(float)
    path = tmp_path / "labels.sav"
    pyreadstat.write_sav(frame, str(path))
    same_wave(reference, load_wave(path, wave=1))


# -- mapping -------------------------------------------------------------------------------
RENAMES = {"respondent_id": "ResponseID", "overall_rating": "Q3_1", "group": "Q1",
           "completed_date": "EndDate"}


def _renamed(tmp_path: Path, extra: bool = True) -> Path:
    frame = mm.valid_frame().rename(columns=RENAMES)
    if extra:
        frame["IPAddress"] = "10.0.0.1"
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    return path


def test_mapping_dict_json_and_csv(reference: SurveyWave, tmp_path: Path) -> None:
    path = _renamed(tmp_path)
    mapping: dict[str, str | None] = {v: k for k, v in RENAMES.items()}
    mapping["IPAddress"] = None
    same_wave(reference, load_wave(path, wave=1, mapping=mapping))
    js = tmp_path / "map.json"
    js.write_text(json.dumps(mapping))
    same_wave(reference, load_wave(path, wave=1, mapping=js))
    cs_ = tmp_path / "map.csv"
    cs_.write_text("column,field\n" + "".join(f"{k},{v or ''}\n" for k, v in mapping.items()))
    same_wave(reference, load_wave(path, wave=1, mapping=cs_))


def test_mapping_keys_absent_from_the_file_are_ignored(reference: SurveyWave,
                                                       tmp_path: Path) -> None:
    path = _renamed(tmp_path, extra=False)
    mapping = {v: k for k, v in RENAMES.items()} | {"Q10": "aware_concordat"}
    same_wave(reference, load_wave(path, wave=1, mapping=mapping))


def test_names_match_ignoring_case_and_spaces(reference: SurveyWave, tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame.columns = [f" {c.upper()} " for c in frame.columns]
    path = tmp_path / "upper.csv"
    frame.to_csv(path, index=False)
    same_wave(reference, load_wave(path, wave=1))


def test_unmapped_extra_columns_are_listed(tmp_path: Path) -> None:
    path = _renamed(tmp_path)
    with pytest.raises(DataValidationError) as info:
        load_wave(path, wave=1)
    p = info.value.problems
    extra = set(p.loc[p["problem"] == "column not in the codebook", "column"])
    assert extra == {"ResponseID", "Q3_1", "Q1", "EndDate", "IPAddress"}
    missing = set(p.loc[p["problem"] == "required column missing", "column"])
    assert missing == {"respondent_id", "group", "completed_date"}


def test_two_columns_for_one_field(tmp_path: Path) -> None:
    frame = mm.valid_frame()
    frame["Q3_1"] = frame["overall_rating"]
    path = tmp_path / "twice.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="two columns hold the same field"):
        load_wave(path, wave=1, mapping={"Q3_1": "overall_rating"})


def test_bad_mappings(tmp_path: Path) -> None:
    path = _renamed(tmp_path)
    with pytest.raises(CodebookError) as info:
        load_wave(path, wave=1, mapping={"Q3_1": "overal_rating", "Q1": 3})  # type: ignore
    assert info.value.problems["column"].tolist() == ["Q3_1", "Q1"]
    bad_json = tmp_path / "m.json"
    bad_json.write_text("{'Q1': 'group'}")
    with pytest.raises(CodebookError, match="not valid JSON"):
        load_wave(path, wave=1, mapping=bad_json)
    bad_json.write_text('["Q1", "group"]')
    with pytest.raises(CodebookError, match="not a JSON object"):
        load_wave(path, wave=1, mapping=bad_json)
    no_header = tmp_path / "m.csv"
    no_header.write_text("Q1,group\n")
    with pytest.raises(CodebookError, match="lacks its header"):
        load_wave(path, wave=1, mapping=no_header)
    with pytest.raises(CodebookError, match="not found"):
        load_wave(path, wave=1, mapping=tmp_path / "none.json")
    (tmp_path / "m.yaml").write_text("Q1: group\n")
    with pytest.raises(CodebookError, match="unknown column mapping file type"):
        load_wave(path, wave=1, mapping=tmp_path / "m.yaml")


# -- properties ----------------------------------------------------------------------------
INJECTIONS = ("item", "group", "wave", "bad_date", "outside", "blank_group", "blank_id",
              "duplicate")
ITEMS = [f for f in CB.items(wave=1) if f.levels]


def _random_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    cols: dict[str, list[str]] = {}
    for name in WAVE1:
        f = CB[name]
        if f.role == "identifier":
            cols[name] = [f"R{i:03d}" for i in range(n)]
        elif f.role == "link_key":
            cols[name] = [f"key-{i}" if rng.random() < 0.8 else "" for i in range(n)]
        elif f.role == "wave":
            cols[name] = ["1"] * n
        elif f.role == "area":
            cols[name] = [str(a) for a in rng.choice(["E1", "E2", ""], n)]
        elif f.type == "date":
            cols[name] = [str(pd.Timestamp("2014-10-01") + pd.Timedelta(days=int(d)))[:10]
                          for d in rng.integers(0, 61, n)]
        elif f.levels:
            options = ([str(c) for c in f.codes] + list(f.labels)
                       + [str(m.code) for m in f.missing] + [m.label.upper() for m in f.missing]
                       + ([] if f.required else [""]))
            cols[name] = [str(v) for v in rng.choice(options, n)]
        else:
            cols[name] = [str(v) for v in rng.choice(["", "a comment", "another"], n)]
    return pd.DataFrame(cols)


def _inject(frame: pd.DataFrame, plan: list[tuple[int, str, int]]) -> set[tuple[int, str]]:
    """Apply injections (row, kind, choice); return the expected (spreadsheet row, column)."""
    expected: set[tuple[int, str]] = set()
    used: set[int] = set()
    n = len(frame)
    for i, kind, choice in plan:
        if i in used:
            continue
        if kind == "duplicate":
            j = next((k for k in range(n) if k not in used and k != i), None)
            if j is None:
                continue
            frame.loc[i, "respondent_id"] = frame.loc[j, "respondent_id"]
            expected |= {(i + 2, "respondent_id"), (j + 2, "respondent_id")}
            used |= {i, j}
            continue
        column, value = {
            "item": (ITEMS[choice % len(ITEMS)].name, ["-1", "6", "Maybe", "4.5"][choice % 4]),
            "group": ("group", ["3", "Staff", "0"][choice % 3]),
            "wave": ("wave", ["2", "0", "one"][choice % 3]),
            "bad_date": ("completed_date", ["2014-02-30", "next week", "10/10/14"][choice % 3]),
            "outside": ("completed_date", ["2014-09-30", "2014-12-01", "2015-11-02"][choice % 3]),
            "blank_group": ("group", ""),
            "blank_id": ("respondent_id", " "),
        }[kind]
        frame.loc[i, column] = value
        expected.add((i + 2, column))
        used.add(i)
    return expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 25),
    seed=st.integers(0, 2**32 - 1),
    plan=st.lists(st.tuples(st.integers(0, 24), st.sampled_from(INJECTIONS),
                            st.integers(0, 1000)), max_size=10),
)
def test_injected_problems_are_found_exactly(n: int, seed: int,
                                             plan: list[tuple[int, str, int]],
                                             tmp_path: Path) -> None:
    frame = _random_frame(n, np.random.default_rng(seed))
    expected = _inject(frame, [(i % n, k, c) for i, k, c in plan])
    path = tmp_path / "wave.csv"
    frame.to_csv(path, index=False)
    w = load_wave(path, wave=1, on_error="quarantine")
    assert w.rows_read == n == w.rows_kept + w.rows_excluded
    found = list(zip(w.problems["row"].astype(int), w.problems["column"], strict=True))
    assert len(found) == len(set(found))  # one problem per bad cell
    assert set(found) == expected
    bad_rows = {r for r, _ in expected}
    assert set(w.exclusions["row"]) == bad_rows
    assert set(w.data.index) == set(range(2, n + 2)) - bad_rows
    if expected:
        with pytest.raises(DataValidationError) as info:
            load_wave(path, wave=1)
        p = info.value.problems
        assert set(zip(p["row"].astype(int), p["column"], strict=True)) == expected
    else:
        same_wave(w, load_wave(path, wave=1))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 25), seed=st.integers(0, 2**32 - 1),
       plan=st.lists(st.tuples(st.integers(0, 24), st.sampled_from(INJECTIONS[:5]),
                               st.integers(0, 1000)), max_size=5))
def test_row_order_does_not_matter(n: int, seed: int, plan: list[tuple[int, str, int]],
                                   tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    frame = _random_frame(n, rng)
    _inject(frame, [(i % n, k, c) for i, k, c in plan])
    shuffled = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    frame.to_csv(tmp_path / "a.csv", index=False)
    shuffled.to_csv(tmp_path / "b.csv", index=False)
    a = load_wave(tmp_path / "a.csv", wave=1, on_error="quarantine")
    b = load_wave(tmp_path / "b.csv", wave=1, on_error="quarantine")

    def by_id(w: SurveyWave) -> tuple[pd.DataFrame, pd.DataFrame]:
        d = w.data.set_index("respondent_id").sort_index()
        r = w.missing_reasons.set_axis(w.data["respondent_id"]).sort_index()
        return d, r

    (da, ra), (db, rb) = by_id(a), by_id(b)
    pd.testing.assert_frame_equal(da, db)
    pd.testing.assert_frame_equal(ra, rb)
    assert Counter(zip(a.problems["column"], a.problems["problem"], a.problems["value"],
                       strict=True)) == Counter(zip(b.problems["column"], b.problems["problem"],
                                                    b.problems["value"], strict=True))


# -- documentation -------------------------------------------------------------------------
def test_bring_your_own_survey_example_runs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DOCS / "bring-your-own-survey.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    files = re.findall(r"```(?:json|csv) title=\"([^\"]+)\"\n(.*?)```", text, flags=re.S)
    assert blocks and len(files) >= 3
    monkeypatch.chdir(tmp_path)
    for name, body in files:
        (tmp_path / name).write_text(body, encoding="utf-8")
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the worked example must not need to hide warnings
        for block in blocks:
            exec(compile(block, "bring-your-own-survey.md", "exec"), namespace)


# -- speed ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_million_row_parquet_wave_loads(tmp_path: Path) -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    n = 1_000_000
    rng = np.random.default_rng(1)
    small = _random_frame(1000, rng)
    frame = small.iloc[rng.integers(0, 1000, n)].reset_index(drop=True)
    frame["respondent_id"] = [f"R{i:07d}" for i in range(n)]
    for f in CB.fields:  # about half the items as codes, as a numeric export has them
        if f.levels and f.name in frame and f.type == "integer" and rng.random() < 0.5:
            frame[f.name] = pd.to_numeric(frame[f.name].map(
                {lab: str(c) for c, lab in zip(f.codes, f.labels, strict=True)}
            ).fillna(frame[f.name]), errors="coerce").astype("Int64")
    frame["completed_date"] = pd.to_datetime(frame["completed_date"]).dt.date
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    w = load_wave(path, wave=1, on_error="quarantine")
    assert w.rows_read == n
    assert w.rows_kept + w.rows_excluded == n


@pytest.mark.parametrize("wave", [1, 2])
def test_the_shipped_sample_reads_the_same_from_every_format(wave: int) -> None:
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    paths = sorted(sample.glob(f"synthetic_wave{wave}.*"))
    paths = [p for p in paths if p.suffix != ".md"]
    assert {p.suffix for p in paths} == {".csv", ".parquet", ".sav", ".xlsx"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        waves = [load_wave(p, wave=wave) for p in paths]
    for w in waves[1:]:
        same_wave(waves[0], w)
    assert waves[0].rows_excluded == 0


def test_a_file_object_instead_of_a_path_is_a_clear_error() -> None:
    import io

    with pytest.raises(DataValidationError, match="not a file path") as info:
        load_wave(io.StringIO("respondent_id\nR1\n"), wave=1)  # type: ignore[arg-type]
    assert info.value.problems.loc[0, "value"] == "StringIO"
