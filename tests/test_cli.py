"""The crisis-survey command line (src/crisis_survey/_cli.py), run in-process."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_survey._cli import main
from crisis_survey.present import linkage_table
from crisis_survey.present._release import publishable_attrition
from crisis_survey.present._tables import protect_linkage_counts
from crisis_survey.synthetic import generate_study, sample_study_paths, write_study

W1, W2 = sample_study_paths("csv")
DATA = Path(__file__).parent / "data"


def _normalised(key: str) -> str:
    return "".join(ch for ch in key.casefold() if ch not in " -_./")


def _secrets() -> set[str]:
    """Every respondent id, link key (as typed and normalised) and comment of the inputs."""
    values: set[str] = set()
    for p in (W1, W2):
        frame = pd.read_csv(p, dtype=str)
        values |= set(frame["respondent_id"].dropna())
        keys = frame["link_key"].dropna()
        values |= {k.strip() for k in keys} | {_normalised(k) for k in keys}
        values |= set(frame["comments"].dropna())
    return values


def _texts(folder: Path) -> Iterator[tuple[str, str]]:
    """Every text the folder publishes: text files, and the XML inside .docx/.xlsx archives.

    PNG and PDF figures are not scanned: their text is drawn from the same figure objects as
    the SVGs, from codebook labels and counts only.
    """
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.suffix in (".png", ".pdf"):
            continue
        if path.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    yield f"{path.name}:{name}", z.read(name).decode("utf-8", "replace")
        else:
            yield path.name, path.read_text(encoding="utf-8")


def _assert_no_secrets(folder: Path) -> None:
    secrets = _secrets()
    assert len(secrets) > 1000
    scanned = 0
    for name, text in _texts(folder):
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{name} contains {leaked[:3]}"
        scanned += 1
    assert scanned >= 4  # link writes 4 files; the report many more


_COUNT_COLUMNS = {
    "accounting.csv": ["rows_read", "rows_kept", "rows_excluded"],
    "linkage_counts.csv": None,  # every column
    "attrition.csv": ["n_returned", "n_not_returned"],
}


def _assert_counts_published_safely(folder: Path) -> None:
    """No count from 1 to 9 in any CSV, and the accounting identity where it is shown."""
    for name, columns in _COUNT_COLUMNS.items():
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        for col in columns or [c for c in frame.columns if c != "category"]:
            for cell in frame[col]:
                if cell not in ("", "[c]"):
                    assert not 1 <= int(cell.replace(",", "")) <= 9, (name, col, cell)
    accounting = pd.read_csv(folder / "accounting.csv", index_col=0, dtype=str)
    numbers = accounting[["rows_read", "rows_kept", "rows_excluded"]]
    for wave, row in numbers.iterrows():
        if "[c]" not in row.tolist():
            read, kept, excluded = (int(v.replace(",", "")) for v in row)
            assert read == kept + excluded, wave
    # a withheld excluded count must not be recoverable as read - kept
    for wave, row in numbers.iterrows():
        if row["rows_excluded"] == "[c]":
            assert "[c]" in (row["rows_read"], row["rows_kept"]), wave


# -- validate -------------------------------------------------------------------------------
def test_validate_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--wave", "1", str(W1)]) == 0
    out = capsys.readouterr().out
    assert "658 rows read, 658 kept, 0 excluded" in out
    assert "No problems" in out


def _bad_copy(tmp_path: Path) -> Path:
    frame = pd.read_csv(W1, dtype=str, keep_default_na=False)
    frame.loc[4, "overall_rating"] = "6"  # spreadsheet row 6
    frame.loc[9, "completed_date"] = "2013-01-05"  # row 11, outside the fieldwork window
    bad = tmp_path / "wave1_bad.csv"
    frame.to_csv(bad, index=False)
    return bad


def test_validate_reports_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--wave", "1", str(_bad_copy(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "2 rows would be excluded: 2 problems found." in out
    assert "row 6, column 'overall_rating'" in out and "'6'" in out
    assert "row 11, column 'completed_date'" in out
    assert "658 rows read, 656 kept, 2 excluded" in out


def test_validate_quarantine_accepts_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--wave", "1", "--quarantine", str(_bad_copy(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "656 rows can be used" in out


def test_validate_wrong_wave_file_is_a_problem(capsys: pytest.CaptureFixture[str]) -> None:
    # The wave-2 file has answers to wave-2-only questions: not a valid wave-1 file.
    assert main(["validate", "--wave", "1", str(W2)]) == 1
    out = capsys.readouterr().out
    assert "aware_concordat" in out


def test_missing_file_is_an_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--wave", "1", str(tmp_path / "nope.csv")]) == 2
    captured = capsys.readouterr()
    assert "nope.csv" in captured.err and "Traceback" not in captured.err


def test_bad_codebook_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cb = tmp_path / "cb.json"
    cb.write_text("{not json")
    assert main(["validate", "--wave", "1", "--codebook", str(cb), str(W1)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "Traceback" not in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(W1)]) == 2  # --wave is required
    assert "--wave" in capsys.readouterr().err


def test_validate_many_problems_are_counted_by_kind_then_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The wave-2 file read as wave 1: every row has the wrong wave and date (413 each) and two
    # wave-2-only questions are answered, and the file is said to look like wave 2's. A wall
    # of 829 lines would hide that; the counts by kind say it at once.
    assert main(["validate", "--wave", "1", str(W2)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"{W2.name} cannot be loaded as wave 1: 829 problems found."
    assert any("the file looks like wave 2's, not wave 1's" in line for line in lines)
    assert "  413 x wave does not match: wave (413)" in lines
    assert "  413 x date outside the fieldwork window: completed_date (413)" in lines
    assert "  413 rows affected. The first 20 problems:" in lines
    listed = [line for line in lines if line.startswith("  - ")]
    assert len(listed) == 20
    assert not any(line.startswith(f"  - {W2.name}") for line in listed)  # named once, above
    assert lines[-1].startswith("  ... and 809 more") and "--problems" in lines[-1]


def test_validate_problems_file_holds_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new folder" / "problems.csv"
    assert main(["validate", "--wave", "1", "--problems", str(target), str(W2)]) == 1
    assert f"Every problem is listed in {target}." in capsys.readouterr().out
    problems = pd.read_csv(target)
    assert list(problems.columns) == ["file", "row", "column", "value", "problem", "expected"]
    assert len(problems) == 829
    assert (problems.loc[problems["column"] == "wave", "row"].tolist()
            == list(range(2, 415)))  # spreadsheet rows of the 413 respondents


@pytest.mark.parametrize(("name", "expected"), [
    ("ragged.csv", "row 4: value 'A003,"),  # the row, by number and its own text
    ("ragged.csv", "the row has 28 fields where the header has 27"),  # not pandas' C error
    ("not_asked_item.csv", "answers to a question not asked in wave 1 (1 row)"),
    ("wrong_wave.csv", "wave does not match (expected 1 (the wave being loaded))"),
])
def test_validate_messages_read_as_the_analyst_ran_it(
    name: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--wave", "1", str(DATA / name)]) == 1
    out = capsys.readouterr().out
    assert expected in out
    assert "\n)" not in out and "load_wave" not in out and "wave=" not in out


def _error_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Command lines that must fail with exit code 2 and this in the message."""
    (tmp / "bad.json").write_text("{not json")
    (tmp / "bad.toml").write_text("alpha = \n[x")
    (tmp / "a_file").write_text("x")
    out = str(tmp / "out")
    both = ["--wave1", str(W1), "--wave2", str(W2)]
    return {
        "missing file": (["validate", "--wave", "1", str(tmp / "nope.csv")],
                         "nope.csv: no such file (expected the wave-1 survey file)"),
        "folder as file": (["validate", "--wave", "1", str(tmp)],
                           f"{tmp} is a folder (expected the wave-1 survey file)"),
        "empty file name": (["validate", "--wave", "1", ""], "no file name given"),
        "bad codebook JSON": (["validate", "--wave", "1", "--codebook", str(tmp / "bad.json"),
                               str(W1)], "The codebook is not valid"),
        "folder as codebook": (["validate", "--wave", "1", "--codebook", str(tmp), str(W1)],
                               f"{tmp} is a folder (expected a file)"),
        "bad mapping JSON": (["validate", "--wave", "1", "--mapping", str(tmp / "bad.json"),
                              str(W1)], "The column mapping is not valid"),
        "bad plan TOML": (["report", *both, "--plan", str(tmp / "bad.toml"), "--out", out],
                          "bad.toml is not valid TOML"),
        "missing plan": (["report", *both, "--plan", str(tmp / "nope.toml"), "--out", out],
                         "nope.toml was not found"),
        "folder as plan": (["report", *both, "--plan", str(tmp), "--out", out],
                           f"{tmp} is a folder (expected a file)"),
        "unknown extension": (["link", "--wave1", str(tmp / "a_file"), "--wave2", str(W2),
                               "--out", out], "unknown file type"),
        "file as output folder": (["link", *both, "--out", str(tmp / "a_file" / "sub")],
                                  f"{tmp / 'a_file'} is a file (expected a folder"),
    }


@pytest.mark.parametrize("case", [
    "missing file", "folder as file", "empty file name", "bad codebook JSON",
    "folder as codebook", "bad mapping JSON", "bad plan TOML", "missing plan", "folder as plan",
    "unknown extension", "file as output folder",
])
def test_every_error_is_one_clear_message(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = _error_cases(tmp_path)[case]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert captured.err.startswith(f"crisis-survey {argv[0]}: ")
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()  # nothing written, nothing half-done


def test_validate_unknown_extension_is_a_problem_of_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "answers.dat").write_text("respondent_id\nA1\n")
    assert main(["validate", "--wave", "1", str(tmp_path / "answers.dat")]) == 1
    out = capsys.readouterr().out
    assert "answers.dat cannot be loaded as wave 1: 1 problem found." in out
    assert "unknown file type (expected a file ending in .csv" in out


def test_an_unexpected_error_is_one_line_naming_it_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import crisis_survey._cli as cli

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("cannot convert float NaN to integer")

    monkeypatch.setattr(cli, "_codebook", broken)
    monkeypatch.delenv("CRISIS_SURVEY_TRACEBACK", raising=False)
    assert main(["validate", "--wave", "1", str(W1)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ValueError: cannot convert float NaN to integer" in err and "bug" in err
    monkeypatch.setenv("CRISIS_SURVEY_TRACEBACK", "1")  # developers can still see it
    with pytest.raises(ValueError, match="NaN"):
        main(["validate", "--wave", "1", str(W1)])


# -- demo -----------------------------------------------------------------------------------
def test_demo_writes_counts_only_and_says_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-report"
    assert main(["demo", "--out", str(out)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"accounting.csv", "linkage_counts.csv", "README.md"} <= names
    readme = (out / "README.md").read_text()
    assert "SYNTHETIC DATA" in readme
    assert "suppressed" in readme and "[c]" in readme
    _assert_no_secrets(out)


def test_demo_counts_are_the_linkage_report_with_small_counts_withheld(tmp_path: Path) -> None:
    from crisis_survey.synthetic import load_sample_study

    assert main(["demo", "--out", str(tmp_path)]) == 0
    written = pd.read_csv(tmp_path / "linkage_counts.csv", index_col=0, dtype=str,
                          keep_default_na=False)
    exact = load_sample_study().report.counts
    assert list(written.index) == list(exact.index)
    for row in exact.index:
        for col in exact.columns:
            value, shown = exact.loc[row, col], written.loc[row, col]
            if pd.isna(value):
                assert shown == ""
            elif 1 <= int(value) <= 9:
                assert shown == "[c]", (row, col)  # primary suppression
            elif shown != "[c]":  # secondary suppression may withhold larger counts
                assert int(shown.replace(",", "")) == int(value)
    accounting = pd.read_csv(tmp_path / "accounting.csv", index_col=0, dtype=str)
    assert accounting.loc["wave 1", "rows_read"] == "658"
    _assert_counts_published_safely(tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert f"- linked respondents: {written.loc['linked', 'All']}" in readme


# -- link -----------------------------------------------------------------------------------
def test_link_with_secret_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRISIS_LINK_SECRET", "correct horse battery staple")
    code = main(["link", "--wave1", str(W1), "--wave2", str(W2),
                 "--secret-env", "CRISIS_LINK_SECRET", "--out", str(tmp_path / "out")])
    assert code == 0
    assert "linkage_counts.csv" in capsys.readouterr().out
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"accounting.csv", "linkage_counts.csv", "README.md"} <= files
    _assert_no_secrets(tmp_path / "out")
    for p in (tmp_path / "out").iterdir():
        assert "correct horse" not in p.read_text()


def test_link_missing_secret_variable_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET_VAR", raising=False)
    code = main(["link", "--wave1", str(W1), "--wave2", str(W2),
                 "--secret-env", "NO_SUCH_SECRET_VAR", "--out", str(tmp_path)])
    assert code == 2
    assert "NO_SUCH_SECRET_VAR" in capsys.readouterr().err


def test_link_bad_data_is_an_error_with_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["link", "--wave1", str(_bad_copy(tmp_path)), "--wave2", str(W2),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "overall_rating" in err and "Traceback" not in err


def test_link_quarantined_rows_cannot_be_worked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 rows of wave 1 are excluded: a small count, withheld in every file, and the rows
    # read are withheld rather than the rows kept (which the linkage counts publish).
    code = main(["link", "--quarantine", "--wave1", str(_bad_copy(tmp_path)), "--wave2", str(W2),
                 "--out", str(tmp_path / "out")])
    assert code == 0
    assert "656 kept, 2 excluded" in capsys.readouterr().out  # the analyst's terminal
    out = tmp_path / "out"
    accounting = pd.read_csv(out / "accounting.csv", index_col=0, dtype=str)
    assert accounting.loc["wave 1"].tolist() == ["wave1_bad.csv", "[c]", "656", "[c]"]
    assert accounting.loc["wave 2"].tolist() == [W2.name, "413", "413", "0"]
    linkage = pd.read_csv(out / "linkage_counts.csv", index_col=0, dtype=str,
                          keep_default_na=False)
    assert linkage.loc["wave-1 respondents", "All"] == "656"
    assert linkage.loc["excluded at loading wave 1", "All"] == "[c]"
    _assert_counts_published_safely(out)
    _assert_no_secrets(out)


def test_link_accepts_numeric_respondent_ids(tmp_path: Path) -> None:
    # Numeric ids equal some published counts by coincidence; that is not a disclosure.
    for i, path in enumerate((W1, W2), 1):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["respondent_id"] = [str(1000 * i + k) for k in range(len(frame))]
        frame.to_csv(tmp_path / f"w{i}.csv", index=False)
    code = main(["link", "--wave1", str(tmp_path / "w1.csv"), "--wave2",
                 str(tmp_path / "w2.csv"), "--out", str(tmp_path / "out")])
    assert code == 0
    assert (tmp_path / "out" / "attrition.csv").is_file()


# -- generate -------------------------------------------------------------------------------
def test_generate_writes_the_study_it_says(tmp_path: Path) -> None:
    code = main(["generate", "--out", str(tmp_path), "--seed", "4", "--n-service-users", "30",
                 "--n-carers", "20", "--n-new-wave2", "5", "--formats", "csv", "parquet"])
    assert code == 0
    expected = generate_study(n_service_users=30, n_carers=20, n_new_wave2=5, seed=4)
    reference = tmp_path / "reference"
    write_study(expected, reference, formats=["csv"])
    assert (tmp_path / "synthetic_wave1.csv").read_bytes() == \
        (reference / "synthetic_wave1.csv").read_bytes()
    assert (tmp_path / "synthetic_wave2.parquet").is_file()
    assert "SYNTHETIC" in (tmp_path / "README.md").read_text()


def test_generate_bad_size_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path), "--n-carers", "-1"]) == 2
    err = capsys.readouterr().err
    assert "n_carers" in err and "Traceback" not in err


# -- disclosure of the counts table ---------------------------------------------------------
def test_linkage_counts_suppression_hides_small_cells_and_what_reveals_them() -> None:
    groups = ["Service user", "Carer"]
    rows = {
        "wave-1 respondents": [120, 60], "wave-2 respondents": [80, 40],
        "linked": [50, 30], "wave-1 only": [62, 25], "wave-2 only": [27, 8],
        "duplicate keys wave 1": [4, 0], "duplicate keys wave 2": [1, 0],
        "group conflicts wave 1": [0, 2], "group conflicts wave 2": [2, 0],
        "missing key wave 1": [4, 3], "missing key wave 2": [0, 2],
    }
    counts = pd.DataFrame(rows, index=groups).T
    counts.insert(0, "All", counts.sum(axis=1))
    counts = counts.astype("Int64")
    counts.loc["excluded at loading wave 1"] = [3, pd.NA, pd.NA]
    counts.loc["excluded at loading wave 2"] = [0, pd.NA, pd.NA]
    counts.loc["area differs (linked)"] = [12, 5, 7]
    shown = protect_linkage_counts(counts).display()
    assert list(shown.index) == list(counts.index)
    assert shown.loc["excluded at loading wave 1"].tolist() == ["[c]", "", ""]
    # 5 and 7 pairs changed area: both withheld (the total 12 is published), where a
    # primary-only rule would show 7 and let 12 - 7 give the 5 away.
    assert shown.loc["area differs (linked)"].tolist() == ["12", "[c]", "[c]"]
    assert shown.loc["duplicate keys wave 1", "Service user"] == "[c]"
    assert shown.loc["wave-2 only", "Carer"] == "[c]"
    assert shown.loc["duplicate keys wave 1", "Carer"] == "0"  # zeros are shown
    # No withheld cell can be recovered from its wave's column: each column of a wave has
    # either no withheld part or at least two.
    for w in (1, 2):
        parts = ["linked", f"wave-{w} only", f"duplicate keys wave {w}",
                 f"group conflicts wave {w}", f"missing key wave {w}"]
        for col in ["All", *groups]:
            hidden = (shown.loc[parts, col] == "[c]").sum()
            total_hidden = shown.loc[f"wave-{w} respondents", col] == "[c]"
            assert hidden != 1 or total_hidden


def test_attrition_table_small_counts_and_revealing_percentages_are_withheld() -> None:
    table = pd.DataFrame({
        "group": ["All", "Service user", "Carer"], "variable": ["exp_followup"] * 3,
        "n_returned": [45, 40, 5], "n_not_returned": [100, 60, 40],
        "pct_returned": [50.0, 50.0, 40.0], "pct_not_returned": [95.0, 95.0, 50.0],
        "median_returned": [2.0, 2.0, 1.0],
        "summary_returned": ["No 50%; Yes 50%"] * 3, "statistic": [1.5, 2.5, 0.1],
        "p_value": [0.5, 0.4, 0.9], "effect_size": [0.1, 0.2, 0.3], "std_diff": [0.1, 0.2, 0.3],
    })
    out = publishable_attrition(table)
    assert "summary_returned" not in out.columns  # per-level percentages never written
    assert out.loc[2, "n_returned"] == "[c]"  # 5 carers returned
    # ... and a second cell of that column, else 45 - 40 gives it away; the carers' row
    # total (45, their wave-1 respondents) would too, so their 40 goes as well, and the
    # service users' 60 closes the rectangle (suppress's line rule).
    assert out.loc[1, "n_returned"] == "[c]"
    assert out.loc[2, "n_not_returned"] == "[c]" and out.loc[1, "n_not_returned"] == "[c]"
    # The percentages and medians of withheld counts are withheld.
    assert out.loc[2, "pct_returned"] == "–" and out.loc[2, "median_returned"] == "–"
    assert out.loc[1, "pct_not_returned"] == "–"
    # 95% of 100 not returned leaves 5 who said "No": the percentage would reveal 5, and
    # so would the test results of that row (with the returners' numbers).
    assert out.loc[0, "pct_not_returned"] == "–"
    assert (out.loc[0, ["statistic", "p_value", "effect_size", "std_diff"]] == "–").all()
    # What reveals nothing is published: the All row's counts and its returners' side.
    assert out.loc[0, "n_returned"] == "45" and out.loc[0, "n_not_returned"] == "100"
    assert out.loc[0, "pct_returned"] == 50.0 and out.loc[0, "median_returned"] == 2.0


def test_attrition_rows_without_small_numbers_are_published_whole() -> None:
    table = pd.DataFrame({
        "group": ["All", "Service user", "Carer"], "variable": ["exp_followup"] * 3,
        "n_returned": [70, 40, 30], "n_not_returned": [100, 60, 40],
        "pct_returned": [50.0, 50.0, 50.0], "pct_not_returned": [50.0, 50.0, 50.0],
        "p_value": [0.5, 0.4, 0.9],
    })
    out = publishable_attrition(table)
    assert out["n_returned"].tolist() == ["70", "40", "30"]
    assert out["p_value"].tolist() == [0.5, 0.4, 0.9]
    assert out["pct_not_returned"].tolist() == [50.0, 50.0, 50.0]


_LINKAGE_LABELS = {
    "Respondents (rows kept)": "wave-{w} respondents", "Linked (in both waves)": "linked",
    "Not linked: key found in this wave only": "wave-{w} only",
    "Not linked: key shared by several rows": "duplicate keys wave {w}",
    "Not linked: respondent group differs between waves": "group conflicts wave {w}",
    "Not linked: no link key": "missing key wave {w}",
    "Excluded at loading (invalid rows)": "excluded at loading wave {w}",
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 80)),
                min_size=22, max_size=22))
def test_linkage_counts_csv_withholds_what_the_linkage_table_withholds(cells: list[int]) -> None:
    # linkage_counts.csv (crisis-survey link) and Table 2 of the report publish the same
    # counts: if they withheld different cells, one could be differenced against the other.
    groups = ["Service user", "Carer"]
    parts = {name: cells[2 * i:2 * i + 2] for i, name in enumerate([
        "linked", "wave-1 only", "duplicate keys wave 1", "group conflicts wave 1",
        "missing key wave 1", "wave-2 only", "duplicate keys wave 2",
        "group conflicts wave 2", "missing key wave 2", "area differs (linked)"])}
    of_wave = {w: ["linked", f"wave-{w} only", f"duplicate keys wave {w}",
                   f"group conflicts wave {w}", f"missing key wave {w}"] for w in (1, 2)}
    rows = {f"wave-{w} respondents": [sum(parts[r][j] for r in of_wave[w]) for j in range(2)]
            for w in (1, 2)}
    rows.update(parts)
    counts = pd.DataFrame(rows, index=groups).T
    counts.insert(0, "All", counts.sum(axis=1))
    counts = counts.astype("Int64")
    counts.loc["excluded at loading wave 1"] = [cells[20], pd.NA, pd.NA]
    counts.loc["excluded at loading wave 2"] = [cells[21], pd.NA, pd.NA]
    shown = protect_linkage_counts(counts).display()
    assert not shown.isin([str(v) for v in range(1, 10)]).to_numpy().any()
    table = linkage_table(counts).values
    for rec in table.to_dict("records"):
        row = _LINKAGE_LABELS[rec["category"]].format(w=rec["wave"])
        withheld = shown.loc[row, rec["group"]] == "[c]"
        assert withheld == pd.isna(rec["count"]), (row, rec["group"])
