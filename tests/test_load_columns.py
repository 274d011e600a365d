"""CSV columns handed over one at a time, and the sorted duplicate check (issue 13: peak
memory of ``load_wave``), each against its plain reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey.load._readers import read_table
from crisis_survey.load._validate import repeated, repeated_reference

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PLAIN = {"respondent_id", "link_key", "comments"}


def _read(path: Path, lazy: bool) -> object:
    return read_table(path, path.name, ".csv", plain=lambda c: c.strip() in PLAIN,
                      small_int=lambda c: 8 if c.strip().startswith(("exp_", "svc_")) else
                      16 if c.strip() == "wave" else 0,
                      lazy=lazy)


def _same_columns(path: Path) -> None:
    eager = _read(path, lazy=False)
    lazy = _read(path, lazy=True)
    frame = eager.frame  # type: ignore[attr-defined]
    assert lazy.column_names() == [str(c) for c in frame.columns]  # type: ignore[attr-defined]
    assert lazy.row_count() == len(frame)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(lazy.rows, eager.rows)  # type: ignore[attr-defined]
    assert lazy.row_problems == eager.row_problems  # type: ignore[attr-defined]
    for j in range(frame.shape[1]):
        got = lazy.take(j)  # type: ignore[attr-defined]
        pd.testing.assert_series_equal(got, frame.iloc[:, j], check_exact=True)
        assert type(got.array) is type(frame.iloc[:, j].array)
    with pytest.raises(ValueError, match="already taken"):
        eager.take(0)  # type: ignore[attr-defined]
        eager.take(0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["synthetic_wave1.csv", "synthetic_wave2.csv"])
def test_lazy_columns_equal_the_whole_frame(name: str) -> None:
    _same_columns(SAMPLE / name)


def test_lazy_columns_equal_the_whole_frame_of_a_faulty_file(tmp_path: Path) -> None:
    # an unnamed column with data, an unnamed empty one, a row with too many fields, labels
    # in a column read as numbers, blanks, a quoted line break
    text = ("respondent_id,exp_dignity,,wave,area,\n"
            "R1,4,x,1,CC01,\n"
            "R2,Good,,1,CC02,\n"
            "R3,,,1,,,extra\n"
            '"R4\nR4b",8,,1,CC01,\n'
            "R5,2,y,,CC03,\n")
    path = tmp_path / "faulty.csv"
    path.write_text(text, encoding="utf-8")
    table = _read(path, lazy=True)
    assert table.skipped_rows == 1  # type: ignore[attr-defined]
    # the unnamed column with data is kept and named, the empty one left out
    assert table.column_names() == ["respondent_id", "exp_dignity", "(unnamed column 3)",  # type: ignore[attr-defined]
                                    "wave", "area"]
    _same_columns(path)


texts = st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "é", "A", "a "])),
                 max_size=40)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_repeated_matches_reference(values: list[str | None]) -> None:
    arrow = pd.Series(values, dtype="str")
    assert isinstance(arrow.dtype, pd.StringDtype) and arrow.dtype.storage == "pyarrow"
    want = repeated_reference(arrow)
    np.testing.assert_array_equal(repeated(arrow), want)
    chunked = pd.concat([arrow.iloc[: len(values) // 2], arrow.iloc[len(values) // 2:]],
                        ignore_index=True)  # more than one pyarrow chunk
    np.testing.assert_array_equal(repeated(chunked), want)
    objects = pd.Series(values, dtype=object)
    np.testing.assert_array_equal(repeated(objects), repeated_reference(objects))


def test_repeated_finds_each_copy() -> None:
    s = pd.Series(["x", None, "y", "x", None, "z", "y", "x"], dtype="str")
    assert repeated(s).tolist() == [True, False, True, True, False, False, True, True]


def _codes_file(path: Path, big: str, rows_before: int) -> Path:
    head = "respondent_id,wave,exp_dignity\n"
    body = "".join(f"R{i},1,{1 + i % 5}\n" for i in range(rows_before))
    path.write_text(head + body + f"RX,1,{big}\nRY,1,3\nRZ,1,\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("rows_before", [3, 80_000])  # in the first megabyte, and beyond it
@pytest.mark.parametrize("big", ["300", "0300", "-129", "4"])
def test_int8_codes_read_as_int16_reads_them(tmp_path: Path, rows_before: int,
                                             big: str) -> None:
    """Codes asked for as int8 read as the int16 reading (the plain reference) reads them:
    a value outside int8 makes the column int16, never text, so problems show the same."""
    path = _codes_file(tmp_path / "codes.csv", big, rows_before)

    def read(bits: int) -> pd.Series:
        table = read_table(path, path.name, ".csv", plain=lambda c: c == "respondent_id",
                           small_int=lambda c: bits if c == "exp_dignity" else 0, lazy=True)
        return table.take(2)

    narrow, reference = read(8), read(16)
    assert str(reference.dtype) == "Int16"
    assert str(narrow.dtype) == ("Int8" if big == "4" else "Int16")
    assert narrow.astype("Int64").tolist() == reference.astype("Int64").tolist()
    assert narrow.iloc[-3:].astype("Int64").tolist() == [int(big), 3, pd.NA]


def test_code_outside_int8_reported_with_its_number(tmp_path: Path) -> None:
    import warnings

    from crisis_survey import DataValidationError, load_wave

    path = _codes_file(tmp_path / "codes.csv", "0300", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataValidationError) as info:
            load_wave(path, wave=1, absent_columns="not_answered")
    bad = info.value.problems
    bad = bad[bad["column"] == "exp_dignity"]
    assert bad["value"].tolist() == ["300"]
    assert bad["problem"].tolist() == ["unknown code or label"]


def _faulty_wave(path: Path) -> Path:
    """The sample's wave 1 with duplicate identifiers, unknown codes, a blank row, a code
    outside int8, padded values and a ragged row."""
    lines = (SAMPLE / "synthetic_wave1.csv").read_text(encoding="utf-8").split("\n")
    head, body = lines[0], [ln for ln in lines[1:] if ln]
    out = [head]
    for i, line in enumerate(body[:300]):
        if i % 37 == 5:
            line = line.replace(",1,", ",x,", 1)
        if i % 41 == 7:
            line = line.replace(",2,", ",0300,", 1)  # int16, not text: shown as 300
        if i % 43 == 9:
            line = " " + line
        out.append(line)
    out += [body[3], body[8].replace("R1-", " R1-"), "," * head.count(","), body[9] + ",9"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("which", ["wave1", "wave2", "faulty"])
def test_load_wave_equals_the_whole_frame_int16_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """load_wave (columns one at a time, int8 codes) against the plain reference: the
    whole frame at once with int16 codes, as before issue 13's work."""
    import warnings

    from crisis_survey import DataValidationError, load_wave
    from crisis_survey.load import _load

    path = _faulty_wave(tmp_path / "w.csv") if which == "faulty" else \
        SAMPLE / f"synthetic_{which}.csv"
    wave = 2 if which == "wave2" else 1

    def load() -> tuple[object, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                load_wave(path, wave=wave)
                error = ""
            except DataValidationError as exc:
                error = str(exc) + exc.problems.to_csv()
            return load_wave(path, wave=wave, on_error="quarantine"), error

    fast, fast_error = load()
    plain_read = _load.read_table

    def reference(*args: object, **kw: object) -> object:
        kw["lazy"] = False
        bits = kw["small_int"]
        kw["small_int"] = lambda c: 16 if bits(c) else 0  # type: ignore[operator]
        return plain_read(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_load, "read_table", reference)
    slow, slow_error = load()
    assert fast_error == slow_error
    assert (which == "faulty") == bool(fast_error)
    for part in ("data", "missing_reasons", "problems", "exclusions"):
        pd.testing.assert_frame_equal(getattr(fast, part), getattr(slow, part),
                                      check_exact=True)
    assert fast.rows_read == slow.rows_read  # type: ignore[attr-defined]
