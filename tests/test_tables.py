"""Publication tables: contents equal their inputs, APA formats, disclosure in every output,
byte-identical renders.

Inputs are hand-built (tests/_present_data.py) so each expected display string is worked out
here from the stated rounding rule; the integration tests use the shipped synthetic study.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _present_data import comparison_frame, linkage_counts, make_wave
from crisis_survey import CrisisSurveyError
from crisis_survey.present import (
    PublicationTable,
    assert_no_identifiers,
    comparison_table,
    format_estimate_ci,
    format_number,
    format_p,
    linkage_table,
    sample_table,
    to_docx,
    to_html,
    to_latex,
    to_markdown,
    to_xlsx,
    wave2_items_table,
)
from crisis_survey.present._format import bounded_measure, split_numbers
from crisis_survey.present._render import latex_escape, save_table


# -- APA formats ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "< .001"), (0.00049, "< .001"), (0.000999, "< .001"), (0.001, ".001"),
        (0.0123, ".012"), (0.0125, ".013"), (0.05, ".050"), (0.5, ".500"),
        (0.9994, ".999"), (0.9996, "> .999"), (1.0, "> .999"), (float("nan"), "—"),
        (None, "—"),
    ],
)
def test_format_p_apa(p: float | None, expected: str) -> None:
    # APA 7 section 6.36: exact p to three decimals, no leading zero, "< .001" below
    assert format_p(p) == expected


def test_format_p_two_digits_and_bad_values() -> None:
    assert format_p(0.0049, digits=2) == "< .01"
    assert format_p(0.046, digits=2) == ".05"
    with pytest.raises(ValueError, match="between 0 and 1"):
        format_p(1.2)


def test_format_numbers() -> None:
    assert format_number(-0.286431, leading_zero=False) == "\u2212.29"
    assert format_number(0.004, 2) == "0.00"
    assert format_number(-0.004, 2) == "0.00"  # no negative zero
    assert format_number(1493.5) == "1,493.50"
    assert format_estimate_ci(0.4567, 0.0512, 0.8621) == "0.46 [0.05, 0.86]"
    assert bounded_measure("Cramer's V (bias-corrected)")
    assert bounded_measure("difference in proportions")
    assert not bounded_measure("odds ratio b/c (discordant pairs)")
    assert not bounded_measure("mean difference")


# -- the comparison table -----------------------------------------------------------------------
def _row(table: PublicationTable, group: str, item: str, design: str | None = None) -> pd.Series:
    d = table.data
    sel = (d["group"] == group) & (d["item"] == item)
    if design is not None:
        sel &= d["design"] == design
    assert sel.sum() == 1
    return d[sel].iloc[0]


def test_comparison_values_follow_the_input_with_stated_rounding() -> None:
    t = comparison_table(comparison_frame())
    r = _row(t, "Service user", "Listened to", "Paired (linked respondents)")
    # input: n_pairs 135, estimates 48.148148 / 61.481481 (1 decimal), V 1493.5 (a rank sum:
    # a whole number, or one decimal for a midrank half), p .0123 -> .012, p_adj .0004 ->
    # < .001, r -.286431 [-.486354, -.058009] (2 decimals, no leading zero: bounded by 1);
    # non-breaking spaces around "=" so a cell never wraps inside a statistic
    assert r[["n", "wave1", "wave2", "test", "statistic", "p", "p_adj"]].tolist() == [
        "135", "48.1", "61.5", "Wilcoxon", "V\xa0=\xa01,493.5", ".012", "< .001"]
    assert r["effect"] == "r\xa0=\xa0\u2212.29 [\u2212.49, \u2212.06]"
    r = _row(t, "Service user", "Listened to", "Partially overlapping")
    # df 18.5 shown to one decimal; a mean difference keeps its leading zero
    assert r[["n", "statistic", "p", "p_adj", "effect"]].tolist() == [
        "434 / 258", "t(18.5)\xa0=\xa02.42", ".026", "> .999", "MD\xa0=\xa00.46 [0.05, 0.86]"]


def test_comparison_disclosure() -> None:
    t = comparison_table(comparison_frame())
    small = _row(t, "Carer", "Listened to")
    assert small["n"] == "[c]"  # 7 pairs
    assert (small[["wave1", "wave2", "statistic", "p", "p_adj", "effect"]] == "–").all()
    # 3.0% of 100 is 3 people: the percentage and the test results are withheld
    binary = _row(t, "Carer", "Knew whom to contact")
    assert binary["wave1"] == "–"
    assert binary["wave2"] == "40.0"
    assert binary["effect"] == "–"
    assert any("withheld" in n for n in t.notes)
    v = t.values.set_index(["group", "item", "design"])
    assert np.isnan(v.loc[("Carer", "exp_knew_contact", "paired"), "estimate_wave1"])
    assert np.isnan(v.loc[("Carer", "exp_listened", "paired"), "p_value"])


def test_comparison_notes_name_tests_measures_and_adjustment() -> None:
    t = comparison_table(comparison_frame())
    notes = " ".join(t.notes)
    assert "Wilcoxon signed-rank test" in notes
    assert "partially overlapping samples t-test" in notes
    assert "Holm's step-down method" in notes
    assert "r = matched-pairs rank-biserial correlation" in notes
    # human labels, never the library's column names or option values
    for raw in ("r_rb", "p_adj", "holm", "p_adjusted", "effect_size"):
        assert raw not in notes and raw not in " ".join(t.column_labels.values())


def test_comparison_wide_layout_and_selection() -> None:
    t = comparison_table(comparison_frame(), layout="wide", groups=["Service user"])
    assert [s.label for s in t.spanners] == ["Paired (linked respondents)",
                                             "Partially overlapping"]
    assert t.data.loc[0, "paired_p"] == ".012"
    assert t.data.loc[0, "overlapping_p"] == ".026"
    one = comparison_table(comparison_frame(), designs=["paired"])
    assert "design" not in one.data.columns
    with pytest.raises(CrisisSurveyError, match="not in the comparison"):
        comparison_table(comparison_frame(), designs=["independent"])
    with pytest.raises(CrisisSurveyError, match="lacks columns"):
        comparison_table(pd.DataFrame({"item": ["x"]}))


def test_spanner_runs_cover_the_body_columns_in_order() -> None:
    """The header's spanner row (HTML, LaTeX, Markdown and Word alike): consecutive body
    columns under one spanner are one run, a column under none a run of its own."""
    t = comparison_table(comparison_frame(), layout="strata")
    runs = t.spanner_runs()
    assert [c for _, run in runs for c in run] == t.body_columns
    assert [label for label, _ in runs if label] == ["Service user", "Carer"]
    for label, run in runs:
        assert all(t.spanner_of(c) == (label or None) for c in run)
        assert label or len(run) == 1


def test_comparison_strata_layout_puts_groups_side_by_side() -> None:
    t = comparison_table(comparison_frame(), layout="strata", style="medical")
    # one spanner per group (gtsummary's tbl_strata), one block of rows per design
    assert [s.label for s in t.spanners] == ["Service user", "Carer"]
    assert t.row_group == "design"
    row = t.data[(t.data["item"] == "Listened to")
                 & (t.data["design"] == "Paired (linked respondents)")].iloc[0]
    assert row["g0_n"] == "135" and row["g1_n"] == "[c]"   # the carers' 7 pairs are withheld
    # medical style: leading zeros, "<0.001", intervals "(low to high)"
    assert row["g0_p"] == "0.012" and row["g0_p_adj"] == "<0.001"
    assert row["g0_effect"] == "r\xa0=\xa0\u22120.29 (\u22120.49 to \u22120.06)"
    assert t.label("g0_p_adj") == "Adjusted p"
    assert t.label("g0_effect") == "Effect size (95% CI)"


# -- sample, linkage, wave-2 items -----------------------------------------------------------
def _counts_in(cell: str) -> list[int]:
    """Counts shown in a display cell: "n (pct)" or "n" (percentages and CIs excluded)."""
    head = cell.split(" (")[0].split(" [")[0].replace(",", "")
    return [int(head)] if re.fullmatch(r"\d+", head) else []


def test_sample_table_counts_and_disclosure() -> None:
    w1, w2 = make_wave(1, 120, 60), make_wave(2, 90, 40)
    t = sample_table([w1, w2])
    assert t.label("w1_service_user") == "Service user (n = 120)"
    v = t.values
    # every published count equals a crosstab of the data
    for wave in (w1, w2):
        for f in ("age_band", "gender", "ethnicity"):
            for group in ("Service user", "Carer"):
                sub = wave.data[wave.data["group"] == group][f]
                got = v[(v["wave"] == wave.wave) & (v["variable"] == f) & (v["group"] == group)]
                for rec in got.itertuples():
                    if pd.isna(rec.count):
                        continue
                    expected = int(sub.isna().sum()) if rec.level == "Not stated" else int(
                        (sub == rec.level).sum())
                    assert rec.count == expected
                    assert rec.percent == pytest.approx(100 * expected / len(sub))
    people = t.data[t.data["variable"] != "Local areas"]  # that row counts areas, not people
    for col in t.body_columns:
        for cell in people[col]:
            assert not any(1 <= c < 10 for c in _counts_in(str(cell))), (col, cell)
    assert (people[t.body_columns] == "[c]").to_numpy().any()  # the check above bites


def test_linkage_table_hand_counts() -> None:
    t = linkage_table(linkage_counts())
    d = t.data.set_index(["wave", "category"])
    assert d.loc[("Wave 1", "Linked (in both waves)"), "all"] == "150"
    # 3 duplicate keys (all service users) are withheld, and so is what would reveal them
    assert d.loc[("Wave 1", "Not linked: key shared by several rows"), "all"] == "[c]"
    row = d.loc[("Wave 1", "Not linked: key found in this wave only")]
    assert row["service_user"] == "[c]"
    assert d.loc[("Wave 1", "Excluded at loading (invalid rows)"), "all"] == "[c]"  # 4
    assert d.loc[("Wave 2", "Excluded at loading (invalid rows)"), "all"] == "12"
    # the linked row is shared by both waves and identical in both
    assert (d.loc[("Wave 1", "Linked (in both waves)")] ==
            d.loc[("Wave 2", "Linked (in both waves)")]).all()


def test_linkage_table_refuses_inconsistent_counts() -> None:
    counts = linkage_counts()
    counts.loc["linked", "Carer"] = 51
    with pytest.raises(CrisisSurveyError, match="does not add up"):
        linkage_table(counts)


def test_wave2_items_wilson_intervals() -> None:
    w2 = make_wave(2, 90, 40)
    t = wave2_items_table(w2)
    v = t.values
    for rec in v.dropna(subset=["count", "n"]).itertuples():
        from crisis_survey.stats import proportion_ci

        lo, hi = proportion_ci(int(rec.count), int(rec.n))
        assert rec.ci_low == pytest.approx(100 * lo)
        assert rec.ci_high == pytest.approx(100 * hi)
        assert rec.percent == pytest.approx(100 * rec.count / rec.n)


def test_wave2_items_display_matches_r_prop_test() -> None:
    # 30 of 100: R prop.test(30, 100, correct = FALSE)$conf.int = 0.2189488529 0.3958485463
    levels = ["Yes"] * 30 + ["No"] * 50 + ["Not sure"] * 20
    w2 = make_wave(2, 100, 0)
    w2.data["aware_concordat"] = pd.Categorical(levels, categories=["Yes", "No", "Not sure"])
    t = wave2_items_table(w2, items=["aware_concordat"])
    row = t.data.set_index("level").loc["Yes"]
    assert row["all"] == "30.0 [21.9, 39.6]"


def test_wave2_by_area_pools_small_areas() -> None:
    w2 = make_wave(2, 90, 40)
    t = wave2_items_table(w2, by="area", min_area_n=40)
    # an area has a column only when none of its cells is withheld; the note counts them
    shown = [c for c in t.body_columns if c != "all" and not c.startswith("other_areas")]
    assert any(f"{len(shown)} of " in n and "local areas" in n for n in t.notes)
    for c in shown:
        assert not t.data[c].isin(["[c]", "–"]).any(), c
    # the All column equals the All column of the table by group: no differencing
    by_group = wave2_items_table(w2)
    assert (t.data["all"] == by_group.data["all"]).all()


# -- renderers ----------------------------------------------------------------------------------
def _tables() -> list[PublicationTable]:
    w1, w2 = make_wave(1, 120, 60), make_wave(2, 90, 40)
    return [
        sample_table([w1, w2]).numbered(1),
        linkage_table(linkage_counts()).numbered(2),
        comparison_table(comparison_frame()).numbered(3),
        comparison_table(comparison_frame(), layout="wide").numbered(4),
        wave2_items_table(w2).numbered(5),
    ]


def _docx_text(data: bytes) -> list[list[str]]:
    from docx import Document

    doc = Document(io.BytesIO(data))
    return [[c.text for c in row.cells] for t in doc.tables for row in t.rows]


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.name)
def test_every_renderer_shows_the_display_strings(table: PublicationTable) -> None:
    cells = [str(v) for v in table.data[table.body_columns].to_numpy().ravel()]
    md = to_markdown(table)
    html = to_html(table)
    tex = to_latex(table)
    # Word keeps "V = 1,493" and "< .001" on one line with a no-break space
    docx_cells = {c.replace("\u00a0", " ") for row in _docx_text(to_docx(table)) for c in row}
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(to_xlsx(table))).active
    xlsx_text = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    xlsx_numbers = {float(c.value) for row in ws.iter_rows() for c in row
                    if isinstance(c.value, int | float)}
    for cell in cells:
        assert cell in md
        assert cell.replace("\u00a0", " ") in docx_cells
        # the workbook holds each number a cell shows as a number (and its symbol as text)
        parts = split_numbers(cell)
        if parts is not None:
            symbol, numbers, _ = parts
            assert {v for v, _ in numbers} <= xlsx_numbers, cell
            assert not symbol or symbol in xlsx_text, cell
        else:
            assert cell in xlsx_text, cell
        assert latex_escape(cell) in tex
        assert cell.replace("<", "&lt;").replace(">", "&gt;") in html or cell in html
    assert "http://" not in html and "https://" not in html
    assert table.title in md and table.heading in md


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.name)
def test_csv_holds_every_row_and_shown_number(table: PublicationTable) -> None:
    """One CSV line per row, each with its row group; every number a cell shows is there
    as a plain number; withheld values are [c], missing ones empty, nothing else."""
    import csv

    from crisis_survey.present._render import to_csv

    lines = list(csv.reader(io.StringIO(to_csv(table))))
    header, body = lines[0], lines[1:]
    assert len(body) == len(table.data)
    assert len(set(header)) == len(header)  # every column has a name of its own
    assert all(len(line) == len(header) for line in body)
    for line, rec in zip(body, table.data.to_dict("records"), strict=True):
        if table.row_group:
            assert line[0] == rec[table.row_group]
        for c in table.body_columns:
            cell = str(rec[c])
            parts = split_numbers(cell)
            if parts is not None:
                for value, _ in parts[1]:
                    assert any(re.fullmatch(r"-?\d*\.?\d*", x) and x and
                               float(x) == value for x in line), (cell, line)
            elif cell in ("[c]", "–"):
                assert "[c]" in line
        assert "–" not in line and "—" not in line


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.name)
def test_renders_are_byte_identical(table: PublicationTable, tmp_path: object) -> None:
    assert to_html(table) == to_html(table)
    assert to_latex(table) == to_latex(table)
    assert to_markdown(table) == to_markdown(table)
    assert to_docx(table) == to_docx(table)
    assert to_xlsx(table) == to_xlsx(table)
    for data in (to_docx(table), to_xlsx(table)):
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        # openpyxl stamps the saving time into "modified": it must be the fixed date
        core = archive.read("docProps/core.xml").decode()
        stamps = re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core)
        assert stamps == ["2000-01-01T00:00:00Z"] * 2


def test_save_table_writes_identical_files(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    table = _tables()[2]
    root = Path(str(tmp_path))
    first = save_table(table, root / "a" / "t")
    second = save_table(table, root / "b" / "t")
    assert [p.suffix for p in first] == [".html", ".tex", ".md", ".docx", ".xlsx", ".csv"]
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes()
    with pytest.raises(CrisisSurveyError, match="unknown table formats"):
        save_table(table, root / "t", formats=["pdf"])


def test_latex_escaping_and_booktabs() -> None:
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    tex = to_latex(_tables()[2])
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "$\\chi$" not in tex or "\\textsuperscript{2}" in tex


def test_bad_table_name() -> None:
    with pytest.raises(CrisisSurveyError, match="letters, digits"):
        PublicationTable(name="bad name", title="t", data=pd.DataFrame({"s": ["a"]}), stub="s")


# -- integration with the real pipeline -------------------------------------------------------
@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    from crisis_survey.synthetic import load_sample_study

    return load_sample_study()


def test_sample_study_tables_publish_no_small_count(study) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey.compare import compare_waves

    tables = [sample_table(study), linkage_table(study), wave2_items_table(study),
              wave2_items_table(study, by="area"),
              comparison_table(compare_waves(study), layout="wide")]
    secrets = pd.concat([
        w.data[c].astype(str) for w in (study.wave1, study.wave2)
        for c in ("respondent_id", "link_key", "comments") if c in w.data.columns
    ]).dropna().unique()
    for t in tables:
        assert_no_identifiers(t.data, study.codebook, sensitive_values=secrets)
        people = t.data[t.data[t.row_group] != "Local areas"] if t.row_group else t.data
        for col in t.body_columns:
            for cell in people[col]:
                for part in str(cell).split(" / "):
                    assert not any(1 <= c < 10 for c in _counts_in(part)), (t.name, col, cell)


def test_linkage_table_matches_report(study) -> None:  # type: ignore[no-untyped-def]
    t = linkage_table(study)
    counts = study.report.counts
    v = t.values.dropna(subset=["count"])
    linked = v[(v["category"] == "Linked (in both waves)") & (v["group"] == "All")]
    assert (linked["count"] == counts.loc["linked", "All"]).all()
    kept = v[(v["category"] == "Respondents (rows kept)") & (v["wave"] == 1)]
    assert kept.set_index("group")["count"]["All"] == counts.loc["wave-1 respondents", "All"]


def test_comparison_table_matches_compare_waves(study) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey.compare import compare_waves

    cmp = compare_waves(study)
    t = comparison_table(cmp, designs=["paired"])
    src = cmp.table[cmp.table["design"] == "paired"].set_index(["group", "item"])
    shown = t.values
    src = src.loc[list(zip(shown["group"], shown["item"], strict=True))].reset_index()
    ok = shown["p_value"].notna()
    assert ok.sum() > 10
    for i in np.flatnonzero(ok.to_numpy()):
        row = t.data.iloc[i]
        assert row["p"] == format_p(float(src.loc[i, "p_value"]))
        assert row["p_adj"] == format_p(float(src.loc[i, "p_adjusted"]))
        assert row["n"] == f"{int(src.loc[i, 'n_pairs']):,}"
        assert row["wave1"] == format_number(float(src.loc[i, "estimate_wave1"]), 1)


# -- the main table (change_table) and numbers stored as numbers --------------------------------
def test_difference_interval_matches_newcombe_1998() -> None:
    from crisis_survey.present._tables import _difference_ci

    # Newcombe (1998), Stat Med 17:873, Table II example (a): 56/70 vs 48/80, method 10
    # (hybrid score, no continuity correction): 0.2000 [0.0524, 0.3339]; wave 2 - wave 1
    lo, hi = _difference_ci("independent", 48, 80, 56, 70, None, 10, 0.95)
    assert (round(lo, 2), round(hi, 2)) == (5.24, 33.39)


def test_change_table_is_n_percent_difference_and_groups_side_by_side() -> None:
    from crisis_survey.compare import compare_waves
    from crisis_survey.present import change_table
    from crisis_survey.present._release import comparison_sources
    from crisis_survey.synthetic import load_sample_study

    study = load_sample_study()
    cmp = compare_waves(study)
    t = change_table(cmp, design="independent", sources=comparison_sources(study, cmp))
    assert [s.label for s in t.spanners] == ["Service user", "Carer"]
    row = t.data.iloc[0]
    raw = cmp.table[(cmp.table["design"] == "independent") & (cmp.table["group"] == "Service user")
                    & (cmp.table["item"] == "overall_rating")].iloc[0]
    n1, n2 = int(raw["n_wave1"]), int(raw["n_wave2"])
    x1 = round(raw["estimate_wave1"] * n1 / 100)
    x2 = round(raw["estimate_wave2"] * n2 / 100)
    assert row["item"] == "Overall quality of crisis care: Good or Excellent"
    assert row["g0_n"] == f"{n1} / {n2}"
    assert row["g0_wave1"] == f"{x1} ({100 * x1 / n1:.1f})"
    assert row["g0_wave2"] == f"{x2} ({100 * x2 / n2:.1f})"
    assert row["g0_difference"].startswith(f"{100 * (x2 / n2 - x1 / n1):.1f} [")
    assert t.label("g0_difference") == "Difference [95% CI]"
    v = t.values.set_index(["group", "item"]).loc[("Service user", "overall_rating")]
    assert v["difference_low"] < v["difference"] < v["difference_high"]
    assert not any(raw_name in " ".join([*t.notes, *t.column_labels.values()])
                   for raw_name in ("r_rb", "p_adj", "holm"))


def test_xlsx_stores_every_shown_number_as_a_number() -> None:
    import io

    from openpyxl import load_workbook

    from crisis_survey.compare import compare_waves
    from crisis_survey.present import change_table, to_xlsx
    from crisis_survey.present._release import comparison_sources
    from crisis_survey.synthetic import load_sample_study

    study = load_sample_study()
    cmp = compare_waves(study)
    tables = [change_table(cmp, design=d, sources=comparison_sources(study, cmp))
              for d in ("paired", "independent")]
    tables.append(comparison_table(cmp, designs=["overlapping"], layout="strata"))
    book = load_workbook(io.BytesIO(to_xlsx(tables)))
    numeric = text_numbers = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "n" and cell.value is not None:
                    numeric += 1
                    assert cell.number_format != "General", cell.coordinate
                elif isinstance(cell.value, str) and re.fullmatch(
                        r"[−-]?[\d,]*\.?\d+", cell.value):
                    text_numbers += 1
    assert numeric > 300
    assert text_numbers == 0  # no number is stored as text
    ws = book.worksheets[1]
    found = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    # the independent Service-user overall rating: "184 (42.4)" is two numeric cells
    cells = [c for row in ws.iter_rows() for c in row]
    k = next(i for i, c in enumerate(cells) if c.value == 184)
    assert cells[k + 1].value == 42.4 and cells[k + 1].number_format == "0.0"
    assert "< .001" in found  # a p-value below .001 stays the published text


def test_release_csvs_hold_plain_numbers_and_labels(tmp_path: Path) -> None:
    from crisis_survey.present import write_outputs
    from crisis_survey.synthetic import load_sample_study

    study = load_sample_study()
    write_outputs(study, tmp_path, synthetic=True)
    accounting = (tmp_path / "accounting.csv").read_text(encoding="utf-8")
    assert "All,,1071,1071,0" in accounting  # was "1,071": no thousands separators
    for name in ("accounting.csv", "linkage_counts.csv", "attrition.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert not re.search(r"\d\.\d{6,}", text), name  # no 17-digit floats
        cells = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
        assert not (cells == "–").to_numpy().any(), name  # one withheld marker, "[c]"
        frame = pd.read_csv(tmp_path / name, na_values=["[c]"])
        for col in ("rows_read", "rows_kept", "n_returned", "n_not_returned",
                    "pct_returned", "statistic", "effect_size", "Service user"):
            if col in frame.columns:
                assert pd.api.types.is_numeric_dtype(frame[col]), (name, col)
    attrition = pd.read_csv(tmp_path / "attrition.csv", na_values=["[c]"])
    age = attrition[(attrition["variable"] == "age_band") & (attrition["group"] == "All")]
    labels = set(study.codebook["age_band"].labels)
    # medians as level labels, not codes ("between A and B" for a half)
    assert all(m in labels or m.startswith("between ") for m in age["median_returned"])
    assert "Mann–Whitney U test (W)" in set(attrition["test"])
    assert "mann_whitney" not in set(attrition["test"])
    pct = attrition["pct_returned"].dropna()
    assert (pct.round(1) == pct).all()  # the stated precision: 1 decimal, 3 for estimates
    for col in ("statistic", "effect_size", "std_diff"):
        values = attrition[col].dropna()
        assert len(values) and (values.round(3) == values).all(), col
    assert "## Numbers" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_a_wave_label_that_repeats_the_wave_is_not_printed_twice() -> None:
    import dataclasses

    from crisis_survey.codebook import default_codebook
    from crisis_survey.present._tables import _wave_title

    cb = default_codebook()
    assert _wave_title(cb, 1) == f"Wave 1 ({cb.wave_info(1).label})"  # "Wave 1 (2014)"
    waves = tuple(dataclasses.replace(w, label=f"wave {w.number}") for w in cb.waves)
    assert _wave_title(dataclasses.replace(cb, waves=waves), 1) == "Wave 1"


# -- the net change: published where its own three counts pass the derived-value rule --------
def test_net_change_is_published_where_its_three_counts_pass(study) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from crisis_survey.compare import compare_waves
    from crisis_survey.present._release import comparison_sources
    from crisis_survey.stats._proportions import change_pattern_counts

    cmp = compare_waves(study, items=["exp_listened"], designs=("paired",))
    sources = comparison_sources(study, cmp)
    row = cmp.table[cmp.table["group"] == "Service user"]
    key = ("Service user", "exp_listened", "paired")

    def shown(cells: np.ndarray) -> tuple[float, str]:
        t = comparison_table(row, designs=["paired"], threshold=10,
                             sources={**sources, key: replace(sources[key],
                                                              cells=cells.ravel())})
        return float(t.values["net_change"].iloc[0]), str(t.data["effect"].iloc[0])

    # the sample: a difference of 3 or 4 levels is rare (a small diagonal), so r is withheld;
    # the pairs higher, the same and lower are each at least 10, so the net change stands in
    cells = np.asarray(sources[key].cells).reshape(5, 5)
    assert min(change_pattern_counts(cells)) >= 10
    assert not sources[key].passes(10)
    value, text = shown(cells)
    assert value == pytest.approx(float(row["net_change"].iloc[0]))
    assert text.startswith("NC\u00a0=\u00a0.32 [")
    # 4 pairs lower in wave 2: a small count of the net change's own table
    few_down = np.diag([20, 20, 20, 20, 20]).astype(np.int64)
    few_down[0, 1] = few_down[1, 2] = 15  # 30 pairs higher
    few_down[2, 1] = 4  # 4 pairs lower: a small count of the net change's table
    assert np.isnan(shown(few_down)[0]) and shown(few_down)[1] == "–"
    enough = few_down.copy()
    enough[2, 1] = 10  # 10 lower, all on one diagonal: r's table passes too, both shown
    value, text = shown(enough)
    assert not np.isnan(value) and text.startswith("r\u00a0=")
    # withheld by the release audit: the net change goes with the row's statistics
    audited = comparison_sources(study, cmp, withhold=[("comparison", "paired", *key[:2])])
    t = comparison_table(row, designs=["paired"], threshold=10, sources=audited)
    assert np.isnan(t.values["net_change"].iloc[0])
