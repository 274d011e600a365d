"""The whole report (src/crisis_survey/present/_report.py) and `crisis-survey report`."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from crisis_survey import AnalysisPlan, change_by_group_model, compare_waves
from crisis_survey._cli import main
from crisis_survey.present import write_report
from crisis_survey.present._release import p_band
from crisis_survey.present._report import SYNTHETIC_BANNER
from crisis_survey.synthetic import load_sample_study, sample_study_paths

W1, W2 = sample_study_paths("csv")


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    return load_sample_study()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, study) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("report")
    write_report(study, out, inputs={"wave1": W1, "wave2": W2}, synthetic=True)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_rerun_is_byte_identical(report_dir: Path, study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_report(study, tmp_path, inputs={"wave1": W1, "wave2": W2}, synthetic=True)
    first, second = _files(report_dir), _files(tmp_path)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, different
    assert {"report.html", "report.docx", "manifest.json"} <= first.keys()
    # flow, 3 Likert charts (one per response scale), the transition chart, 2 forest plots
    # and one tipping-point figure per group; no balance figure, since every covariate of
    # the sample has a level below the threshold (the balance table withholds them all)
    # svg (HTML report) and png (Word report) each; pdf only when the plan asks for it
    assert sum(n.startswith("figures/") for n in first) == 9 * 2
    assert not any(n.endswith(".pdf") for n in first)
    # sample, linkage, the main table (primary design), its full distribution, the other
    # designs in one appendix table, the model, wave-2 items by group (no area can be shown
    # on its own in the sample, so there is no table by area), weighted estimates, balance,
    # tipping points: 10 tables x 6 formats
    assert sum(n.startswith("tables/") for n in first) == 10 * 6


def test_html_is_self_contained_and_says_synthetic(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    # no external resource: no script/link/img pointing elsewhere, no remote URL in src/href
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html, re.I)
    assert "<script" not in html.lower()
    assert not re.search(r"<link[^>]+stylesheet", html, re.I)
    assert "@import" not in html
    assert html.count(SYNTHETIC_BANNER) >= 2  # top banner (sticky, repeats when printed) + end
    assert html.count("<svg") == 9  # every figure inline
    assert "withheld" in html  # the disclosure note


def test_word_report_says_synthetic_on_every_page(report_dir: Path) -> None:
    with zipfile.ZipFile(report_dir / "report.docx") as z:
        headers = [n for n in z.namelist() if re.fullmatch(r"word/header\d*\.xml", n)]
        assert headers
        text = "".join(z.read(n).decode() for n in headers)
        body = z.read("word/document.xml").decode()
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert "SYNTHETIC DATA" in text  # the page header repeats on every page
    # 10 tables and the provenance: options, tests, inputs, software
    assert body.count("<w:tbl>") == 10 + 4
    assert len(media) == 9


def test_manifest_hashes_inputs_and_outputs(report_dir: Path) -> None:
    manifest = json.loads((report_dir / "manifest.json").read_text())
    assert manifest["synthetic_data"] is True
    for role, path in (("wave1", W1), ("wave2", W2)):
        assert manifest["inputs"][role]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["codebook"]["version"] == "1.0.0"
    assert manifest["options"]["plan"]["adjust"] == "holm"
    assert manifest["options"]["plan"]["threshold"] == 10
    for name, digest in manifest["outputs"].items():
        path = next(report_dir.rglob(name))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
    assert "report.html" in manifest["outputs"] and "manifest.json" not in manifest["outputs"]
    text = json.dumps(manifest)
    assert "/tmp" not in text and str(Path.home()) not in text  # no machine-specific paths


def _count_cells(md: str) -> list[int]:
    """Whole numbers shown as counts in a Markdown table: 'n', 'n (pct)' and 'a / b' cells."""
    counts = []
    for line in md.splitlines():
        if not line.startswith("|") or set(line) <= set("|:- "):
            continue
        for cell in line.strip("|").split("|")[1:]:  # skip the stub (row labels)
            cell = cell.strip()
            m = re.fullmatch(r"([\d,]+)(?: \([\d.]+\))?", cell) or re.fullmatch(
                r"([\d,]+) / ([\d,]+)", cell)
            if m:
                counts += [int(g.replace(",", "")) for g in m.groups() if g]
    return counts


def test_no_published_count_below_the_threshold(report_dir: Path) -> None:
    seen = 0
    for md in sorted((report_dir / "tables").glob("*.md")):
        counts = _count_cells(md.read_text(encoding="utf-8"))
        small = [c for c in counts if 0 < c < 10]
        assert not small, f"{md.name} publishes counts {small}"
        seen += len(counts)
    assert seen > 100  # the check looked at real count cells


def test_tables_carry_the_statistics(report_dir: Path, study) -> None:  # type: ignore[no-untyped-def]
    # the model table's difference equals change_by_group_model's interaction as an odds
    # ratio (exp of the log cumulative odds ratio, 2 decimals), and so do the groups' effects
    m = change_by_group_model(study, "overall_rating")
    md = (report_dir / "tables" / "change_by_group_model.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if "Overall quality of crisis care" in line)
    est = f"{math.exp(m.interaction['estimate']):.2f}"
    assert est in row
    for g_est in m.effects["estimate"]:
        assert f"{g_est:.2f}" in row
    # the paired comparison table's p for overall_rating in service users is compare_waves'
    t = compare_waves(study).table
    r = t[(t["item"] == "overall_rating") & (t["group"] == "Service user")
          & (t["design"] == "paired")].iloc[0]
    md = (report_dir / "tables" / "change_paired.md").read_text(encoding="utf-8")
    line = next(line for line in md.splitlines() if "Overall quality of crisis care" in line)
    # its signed-rank differences include a small count: p is published as its band
    # (issue 11, the derived-value rule), never as an exact value
    assert f"| {p_band(r['p_value'])} |" in line
    assert f"{r['p_value']:.3f}".lstrip("0") not in line
    # a McNemar row whose 2x2 holds no small count keeps its exact p
    r = t[(t["item"] == "exp_followup") & (t["group"] == "Service user")
          & (t["design"] == "paired")].iloc[0]
    line = next(line for line in md.splitlines() if "Followed up after the crisis" in line)
    assert f"{r['p_value']:.3f}".lstrip("0") in line


def test_plan_selects_items_designs_and_threshold(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = AnalysisPlan(items=("overall_rating", "exp_dignity", "exp_followup"),
                        designs=("paired",), threshold=20, adjust="bonferroni")
    files = write_report(study, tmp_path, plan=plan)
    names = {p.name for p in files.tables}
    assert "change_paired.md" in names
    assert not any("independent" in n or "overlapping" in n for n in names)
    md = (tmp_path / "tables" / "change_paired.md").read_text(encoding="utf-8")
    assert "Treated with dignity" in md and "Listened to" not in md
    assert "Bonferroni's method" in md  # the adjustment named in words, not the plan's code
    for table in (tmp_path / "tables").glob("*.md"):
        assert not [c for c in _count_cells(table.read_text()) if 0 < c < 20], table.name
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["options"]["plan"]["items"] == list(plan.items)
    assert manifest["synthetic_data"] is False


def test_report_command_with_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[analysis]\nitems = ["overall_rating", "exp_listened"]\n'
                    'designs = ["paired", "independent"]\n[disclosure]\nthreshold = 10\n')
    out = tmp_path / "out"
    code = main(["report", "--wave1", str(W1), "--wave2", str(W2), "--plan", str(plan),
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # progress on stderr: every step with the seconds since the start, and counts
    assert re.search(r"^\[0/7 \+[\d.]+ s\] wrote 5 linkage files$", captured.err, re.M)
    assert re.search(r"^\[1/7 \+\d+\.\d s\] comparing the waves$", captured.err, re.M)
    assert re.search(r"^\[1/7 \+[\d.]+ s\] compared 2 items in 2 cells: 8 rows$",
                     captured.err, re.M), captured.err
    assert "reading and checking wave 1" in captured.err
    assert "respondents linked" in captured.err
    assert re.search(r"^\[5/7 \+[\d.]+ s\] drawing figure 1 of \d+: flow$", captured.err, re.M)
    assert "[7/7 +" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["plan"]["sha256"] == hashlib.sha256(plan.read_bytes()).hexdigest()
    assert set(manifest["inputs"]) == {"wave1", "wave2", "codebook", "plan"}
    assert (out / "report.html").exists() and (out / "report.docx").exists()
    shown = pd.read_csv(out / "linkage_counts.csv", dtype=str)
    assert len(shown) > 5


def test_report_command_bad_plan_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[analysis]\nalpha = 5\n')
    code = main(["report", "--wave1", str(W1), "--wave2", str(W2), "--plan", str(plan),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "alpha must be a number between 0 and 1" in err and "Traceback" not in err


def test_report_by_group_and_area(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # hundreds of group x area cells: the comparison tables carry them, forest plots (which
    # tell at most 8 groups apart) are left out instead of failing
    plan = AnalysisPlan(items=("overall_rating", "exp_followup"), by=("group", "area"),
                        designs=("paired", "independent"))
    files = write_report(study, tmp_path, plan=plan)
    assert not any(p.name.startswith("forest") for p in files.figures)
    md = (tmp_path / "tables" / "change_paired.md").read_text(encoding="utf-8")
    assert "Service user / " in md and "Carer / " in md
    assert not [c for c in _count_cells(md) if 0 < c < 10]
    # the whole table in tables/ (every row in Excel and CSV); the reports summarise it
    from crisis_survey.compare import compare_waves
    from crisis_survey.present._report import _comparison_kwargs

    comparison = compare_waves(study, **_comparison_kwargs(plan))
    rows = int((comparison.table["design"] == "paired").sum())
    assert rows > plan.max_table_rows
    csv = pd.read_csv(tmp_path / "tables" / "change_paired.csv")
    assert len(csv) == rows and set(csv["Group"].str.split(" / ").str[0]) == {
        "Service user", "Carer"}
    sheet = pd.read_excel(tmp_path / "tables" / "change_paired.xlsx", header=None)
    assert sheet[0].astype(str).str.contains("Overall quality of crisis care").sum() == rows // 2
    for name in ("change_paired", "comparison_sensitivity", "distribution_paired"):
        assert not (tmp_path / "tables" / f"{name}.html").exists()
        assert not (tmp_path / "tables" / f"{name}.docx").exists()
    page = files.html.read_text(encoding="utf-8")
    table = page[page.index('<div id="cs_change_paired"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 4  # two groups x two items
    assert f"The whole table has {rows:,} rows" in table and "change_paired.csv" in table
    assert "Largest changes" in table and "Not reported (small counts)" in table
    doc = _xml(files.docx, "word/document.xml")
    text = "".join(t.text or "" for t in doc.iter(f"{W}t"))
    assert f"The whole table has {rows:,} rows" in text
    assert "12 of 330 columns are shown" in text  # the distribution: a column per area and wave
    assert max(len(t.findall(f"{W}tr")) for t in doc.iter(f"{W}tbl")) < 60


def test_blank_study_figures_are_those_every_cell_of_which_is_withheld(study) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey.present._figdata import transition_counts
    from crisis_survey.present._report import _likert_scales, blank_study_figures

    plan = AnalysisPlan()
    assert blank_study_figures(study, plan, frozenset()) == {}
    cells = transition_counts(study, threshold=plan.threshold)
    panels = {("domain", g, i, "transitions") for g, i in zip(cells["group"], cells["item"],
                                                              strict=True)}
    # all panels but one withheld: the chart still shows something
    some = set(sorted(panels)[1:])
    assert blank_study_figures(study, plan, some) == {}
    blank = blank_study_figures(study, plan, panels)
    assert list(blank) == ["transitions"] and "moved from and to" in blank["transitions"]
    scales = _likert_scales(study.codebook, plan)
    bars = {("domain", g, i, "likert") for g in ("Service user", "Carer")
            for _, _, items in scales for i in items}
    blank = blank_study_figures(study, plan, panels | bars)
    assert list(blank) == ["transitions", *[n for n, _, _ in scales]]
    assert blank["likert"].startswith("the chart of answers by wave and group on the scale")


def test_a_report_leaves_out_the_figures_that_show_nothing(
        study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # by group x area on a small study every transition panel and Likert bar can be
    # withheld: the report says so in one sentence instead of pages of hatched panels,
    # numbers the figures it shows from 1, and writes no file of the ones it leaves out
    from crisis_survey.present import _report

    def blank(study, plan, withhold):  # type: ignore[no-untyped-def]
        return {"transitions": "the chart of transitions",
                **{n: f"the chart {n}" for n, _, _ in _report._likert_scales(
                    study.codebook, plan)}}

    monkeypatch.setattr(_report, "blank_study_figures", blank)
    plan = AnalysisPlan(items=("overall_rating", "exp_dignity"), designs=("paired",))
    files = write_report(study, tmp_path, plan=plan)
    names = sorted(p.stem for p in files.figures)
    assert names and not [n for n in names if n.startswith(("likert", "transitions"))]
    assert not list((tmp_path / "figures").glob("likert*"))
    assert not list((tmp_path / "figures").glob("transitions*"))
    page = files.html.read_text(encoding="utf-8")
    assert "Not shown: the chart of transitions; the chart likert; the chart likert_2." in page
    assert "Every cell or bar of these charts is withheld" in page
    shown = sorted({int(n) for n in re.findall(r"Figure (\d+)", page)})
    assert shown == list(range(1, len(shown) + 1))
    manifest = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert "transitions.svg" not in manifest and "likert.svg" not in manifest


def test_forest_plot_with_too_many_groups_is_a_clear_error(study) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey import CrisisSurveyError
    from crisis_survey.present import forest_plot

    comparison = compare_waves(study, items=["overall_rating"], by=("group", "area"))
    with pytest.raises(CrisisSurveyError, match="at most 8 groups"):
        forest_plot(comparison)


def test_quiet_report_prints_no_progress(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[analysis]\nitems = ["overall_rating"]\ndesigns = ["paired"]\n')
    code = main(["report", "--wave1", str(W1), "--wave2", str(W2), "--plan", str(plan),
                 "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "[1/7" not in captured.err and "reading and checking" not in captured.err
    assert (tmp_path / "out" / "report.html").exists()


def test_findings_open_both_reports(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    h1 = html.index("<h1>")
    assert html.index('<h2 id="findings">Findings</h2>') < html.index("<nav>")
    assert html.index("<h2") > h1 and html.find("<h2", h1) == html.index('id="findings"') - 4
    for text in ("Service user (paired", "Carer (paired", "Improved: How quickly help came",
                 "Inconclusive (", "Between the groups", "Other designs (sensitivity"):
        assert text in html, text
    # the old one-line summary counting every item once per design is gone
    assert "tests found a change" not in html
    with zipfile.ZipFile(report_dir / "report.docx") as z:
        body = z.read("word/document.xml").decode("utf-8")
    assert body.index("Findings") < body.index("This report compares")
    assert "Improved: How quickly help came" in body


# -- a report a publisher accepts (issue 14 item 4) -------------------------------------------
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"


def _xml(docx: Path, name: str):  # type: ignore[no-untyped-def]
    from lxml import etree

    with zipfile.ZipFile(docx) as z:
        return etree.fromstring(z.read(name))


def _instructions(root) -> list[str]:  # type: ignore[no-untyped-def]
    return [" ".join((t.text or "").split()) for t in root.iter(f"{W}instrText")]


def test_word_report_is_a4_in_british_english(report_dir: Path) -> None:
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    sizes = [(int(s.get(f"{W}w")), int(s.get(f"{W}h"))) for s in doc.iter(f"{W}pgSz")]
    assert sizes
    # A4 is 11906 x 16838 twentieths of a point (210 x 297 mm), either way round
    assert {tuple(sorted(s)) for s in sizes} == {(11906, 16838)}
    styles = _xml(report_dir / "report.docx", "word/styles.xml")
    langs = {el.get(f"{W}val") for el in styles.iter(f"{W}lang")}
    assert langs == {"en-GB"}


def test_word_report_paper_and_language_follow_the_plan(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = AnalysisPlan.from_mapping({"analysis": {"items": ["overall_rating"],
                                                   "designs": ["paired"]},
                                      "present": {"paper": "letter", "language": "en-US"}})
    write_report(study, tmp_path, plan=plan, synthetic=True)
    doc = _xml(tmp_path / "report.docx", "word/document.xml")
    sizes = {tuple(sorted((int(s.get(f"{W}w")), int(s.get(f"{W}h")))))
             for s in doc.iter(f"{W}pgSz")}
    assert sizes == {(12240, 15840)}  # 8.5 x 11 inches
    styles = _xml(tmp_path / "report.docx", "word/styles.xml")
    assert {el.get(f"{W}val") for el in styles.iter(f"{W}lang")} == {"en-US"}


@pytest.mark.parametrize(("present", "message"), [
    ({"paper": "A5"}, "paper is 'A5'"),
    ({"language": "english"}, "language is 'english'"),
    ({"max_table_rows": 0}, "max_table_rows must be a positive whole number"),
    ({"colour": "blue"}, "unknown key 'colour'"),
    ({"figure_formats": ["pdf"]}, "figure_formats is ['pdf']"),
    ({"figure_formats": ["svg", "png", "gif"]}, "figure_formats is ['svg', 'png', 'gif']"),
    ({"figure_formats": "svg"}, "figure_formats is 'svg'"),
])
def test_present_section_of_the_plan_is_validated(present: dict[str, object],
                                                  message: str) -> None:
    from crisis_survey._plan import PlanError

    with pytest.raises(PlanError, match=re.escape(message)):
        AnalysisPlan.from_mapping({"present": present})


def test_word_report_has_captions_contents_and_page_numbers(report_dir: Path) -> None:
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    fields = _instructions(doc)
    seq_tables = [f for f in fields if f.startswith("SEQ Table")]
    seq_figures = [f for f in fields if f.startswith("SEQ Figure")]
    assert len(seq_tables) == doc.findall(f".//{W}tbl").__len__() == 14
    assert len(seq_figures) == 9
    # one TOC field each: the contents (headings), the list of tables, the list of figures
    tocs = [f for f in fields if f.startswith("TOC")]
    assert tocs == ['TOC \\o "1-1" \\h \\z \\u', 'TOC \\h \\z \\c "Table"',
                    'TOC \\h \\z \\c "Figure"']
    # every caption number sits in a bookmark that a REF field in the text can point to
    marks = {b.get(f"{W}name") for b in doc.iter(f"{W}bookmarkStart")}
    refs = [f.split()[1] for f in fields if f.startswith("REF ")]
    assert refs and set(refs) <= marks
    pagerefs = [f.split()[1] for f in fields if f.startswith("PAGEREF ")]
    # findings and 6 sections, 14 tables, 9 figures
    assert len(pagerefs) == 1 + 6 + 14 + 9 and set(pagerefs) <= marks
    # captions come before their table and are kept with it
    for tbl in doc.iter(f"{W}tbl"):
        caption = tbl.getprevious()
        assert caption.tag == f"{W}p"
        assert "SEQ Table" in "".join(_instructions(caption))
        assert caption.find(f"{W}pPr/{W}keepNext") is not None
    # the footer: Page N of M
    footers = [n for n in zipfile.ZipFile(report_dir / "report.docx").namelist()
               if re.fullmatch(r"word/footer\d*\.xml", n)]
    footer_fields = [f for n in footers for f in _instructions(_xml(report_dir / "report.docx", n))]
    assert "PAGE" in footer_fields and "NUMPAGES" in footer_fields
    # every section shows that footer: the first has it, none replaces it
    sect = list(doc.iter(f"{W}sectPr"))
    assert sect[0].find(f"{W}footerReference") is not None
    assert all(s.find(f"{W}footerReference") is None for s in sect[1:])
    settings = _xml(report_dir / "report.docx", "word/settings.xml")
    assert settings.find(f"{W}updateFields").get(f"{W}val") == "true"


def _is_notes_row(tr) -> bool:  # type: ignore[no-untyped-def]
    """A table's last row holding its notes (one cell across the table; a table that may
    break across pages has its notes there)."""
    cells = tr.findall(f"{W}tc")
    return len(cells) == 1 and "".join(t.text or "" for t in tr.iter(f"{W}t")).startswith("Note.")


def _cell_rows(tbl) -> list:  # type: ignore[no-untyped-def]
    """The rows of a Word table that hold its cells (not its notes)."""
    return [tr for tr in tbl.findall(f"{W}tr") if not _is_notes_row(tr)]


def test_word_tables_repeat_headers_and_keep_rows_whole(report_dir: Path) -> None:
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    for tbl in doc.iter(f"{W}tbl"):
        rows = tbl.findall(f"{W}tr")
        assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
        body = [r for r in rows if r.find(f"{W}trPr/{W}tblHeader") is None]
        assert body, "a table with header rows only"
    # a statistic's symbol stays with its value: no breakable space after "V =" or "z ="
    text = "|".join(t.text or "" for tbl in doc.iter(f"{W}tbl") for tr in _cell_rows(tbl)
                    for t in tr.iter(f"{W}t"))
    assert "V\u00a0=\u00a0" in text or "z\u00a0=\u00a0" in text
    assert not re.search(r"\b[A-Za-zχ²]+\(?[\d.]*\)? = \S", text.replace("\u00a0", "~"))


def test_word_tables_break_only_where_a_typesetter_would(report_dir: Path) -> None:
    """Every table of the report either keeps each row with the next (it fits on a page and
    moves whole) or may break only with at least EDGE_ROWS body rows on either side, its
    notes then in its last row; its caption keeps with it (tests/test_docx_pages.py has the
    rule on made-up tables)."""
    from crisis_survey.present._word import EDGE_ROWS

    doc = _xml(report_dir / "report.docx", "word/document.xml")
    whole = broken = 0
    for tbl in doc.iter(f"{W}tbl"):
        rows = tbl.findall(f"{W}tr")
        header = sum(r.find(f"{W}trPr/{W}tblHeader") is not None for r in rows)
        kept = [all(p.find(f"{W}pPr/{W}keepNext") is not None for p in r.iter(f"{W}p"))
                for r in rows]
        assert tbl.getprevious().find(f"{W}pPr/{W}keepNext") is not None, "caption"
        breaks = [i for i in range(len(rows) - 1) if not kept[i]]
        notes_row = _is_notes_row(rows[-1])
        if notes_row:  # only a table that may break has its notes inside, kept with it
            assert breaks and kept[-2]
        for i in breaks:
            assert i + 1 - header >= EDGE_ROWS
            assert len(rows) - notes_row - 1 - i >= EDGE_ROWS
        whole += not breaks
        broken += bool(breaks)
    assert whole >= 5 and broken >= 2  # the sample's report has both kinds


def test_word_figures_are_kept_with_their_captions(report_dir: Path) -> None:
    """Each picture directly follows its caption ("Figure N", a SEQ field), which keeps with
    it: a caption never ends a page without its figure (a figure's notes are drawn in it)."""
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    pictures = [p for p in doc.iter(f"{W}p") if p.find(f".//{WP}inline") is not None]
    assert len(pictures) == 9
    for picture in pictures:
        caption = picture.getprevious()
        assert "SEQ Figure" in "".join(_instructions(caption))
        assert caption.find(f"{W}pPr/{W}keepNext") is not None


def test_word_figures_have_alt_text(report_dir: Path) -> None:
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    pictures = list(doc.iter(f"{WP}docPr"))
    assert len(pictures) == 9
    for pic in pictures:
        assert len(pic.get("descr", "")) > 40, pic.attrib
        assert pic.get("title", "").startswith("Figure ")


def test_word_report_has_no_blank_pages(report_dir: Path) -> None:
    """Every section holds content, and no section break sits in an empty paragraph that
    follows a table (the blank landscape pages of old); consecutive wide tables share one
    landscape section."""
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    body = doc.find(f"{W}body")
    sections: list[list] = [[]]  # type: ignore[type-arg]
    for el in body:
        if el.tag == f"{W}sectPr":
            continue
        sections[-1].append(el)
        if el.find(f"{W}pPr/{W}sectPr") is not None:
            sections.append([])
    assert len(sections) > 1  # the wide tables are in landscape sections
    for sec in sections:
        texts = "".join(t.text or "" for el in sec for t in el.iter(f"{W}t"))
        assert texts.strip() or any(el.tag == f"{W}tbl" for el in sec)
    orientations = [s.find(f"{W}pgSz").get(f"{W}orient") for s in doc.iter(f"{W}sectPr")]
    # no two neighbouring sections with the same orientation (a break for nothing)
    assert all(a != b for a, b in itertools.pairwise(orientations))
    for p in body.iter(f"{W}p"):
        # the one page break: the contents start a page (never a heading alone at its foot)
        if (p.find(f"{W}pPr/{W}pageBreakBefore") is not None
                and p.find(f"{W}pPr/{W}pStyle[@{W}val='TOCHeading']") is None):
            raise AssertionError("page breaks before paragraphs")
        if p.find(f".//{W}br[@{W}type='page']") is not None:
            raise AssertionError("a hard page break")


def test_no_json_in_the_reports(report_dir: Path) -> None:
    import lxml.html

    doc = _xml(report_dir / "report.docx", "word/document.xml")
    word = "".join(t.text or "" for t in doc.iter(f"{W}t"))
    page = lxml.html.fromstring((report_dir / "report.html").read_text(encoding="utf-8"))
    for style in page.xpath("//style | //svg"):
        style.drop_tree()
    html_text = page.text_content()
    for text in (word, html_text):
        assert not re.search(r'"\w+":\s', text)  # a JSON key
        assert "{" not in text and "}" not in text
        assert "manifest.json" in text
    assert not page.xpath("//pre")
    # the provenance: an input's SHA-256 and a package version, in table cells
    digest = hashlib.sha256(W1.read_bytes()).hexdigest()
    assert digest in word and digest in html_text
    assert page.xpath(f"//td[contains(., '{digest}')]")
    # the Word report links manifest.json as a file beside it
    with zipfile.ZipFile(report_dir / "report.docx") as z:
        rels = z.read("word/_rels/document.xml.rels").decode()
    assert 'Target="manifest.json" TargetMode="External"' in rels


def test_html_figures_are_responsive_svg_with_text(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 9
    for tag in svgs:
        assert "viewBox" in tag and " width=" not in tag and " height=" not in tag
        assert re.search(r'aria-label="[^"]{40,}"', tag)
    assert html.count("<text") > 50  # the figures' words are text, not outlines
    assert "Participant flow" in html and "2014 survey" in html


def test_pdf_figures_when_the_plan_asks_for_them(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = AnalysisPlan.from_mapping({"analysis": {"items": ["overall_rating"],
                                                   "designs": ["paired"]},
                                      "present": {"figure_formats": ["pdf", "svg", "png"]}})
    assert plan.to_dict()["figure_formats"] == ["pdf", "svg", "png"]
    write_report(study, tmp_path, plan=plan, synthetic=True)
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    stems = {p.rsplit(".", 1)[0] for p in figures}
    assert "flow" in stems
    assert figures == sorted(f"{s}.{ext}" for s in stems for ext in ("svg", "pdf", "png"))
    pdf = (tmp_path / "figures" / "flow.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"FontFile2" in pdf  # TrueType (Type 42), not Type 3


def test_long_tables_are_cut_in_html_and_word_and_whole_in_excel(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    plan = AnalysisPlan.from_mapping({"analysis": {"items": ["overall_rating"],
                                                   "designs": ["paired"]},
                                      "present": {"max_table_rows": 5}})
    files = write_report(study, tmp_path, plan=plan, synthetic=True)
    sample_rows = len(pd.read_excel(tmp_path / "tables" / "sample.xlsx", header=None))
    assert not (tmp_path / "tables" / "sample.docx").exists()
    assert not (tmp_path / "tables" / "sample.html").exists()
    assert (tmp_path / "tables" / "sample.md").exists()
    ws = load_workbook(tmp_path / "tables" / "sample.xlsx").active
    assert ws.max_row == sample_rows > 20  # every row
    html = files.html.read_text(encoding="utf-8")
    assert "The first 5 of" in html and "tables/sample.xlsx" in html
    doc = _xml(files.docx, "word/document.xml")
    first = next(iter(doc.iter(f"{W}tbl")))
    body = [r for r in first.findall(f"{W}tr") if r.find(f"{W}trPr/{W}tblHeader") is None]
    assert len(body) <= 5 + 5  # five rows and at most one row-group label before each


# -- Word layout: contents kept whole, columns as wide as their words, numbers in order -------
def _cell_text(tc) -> str:  # type: ignore[no-untyped-def]
    return "\n".join("".join(t.text or "" for t in p.iter(f"{W}t")) for p in tc.iter(f"{W}p"))


def test_word_contents_start_a_page_and_stay_together(report_dir: Path) -> None:
    """The contents heading is never left alone at the foot of a page: it starts a page and
    each list (heading and entries) is kept together."""
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    paras = list(doc.find(f"{W}body").iter(f"{W}p"))
    headings = [k for k, p in enumerate(paras)
                if p.find(f"{W}pPr/{W}pStyle[@{W}val='TOCHeading']") is not None]
    assert len(headings) == 3  # contents, tables, figures
    assert paras[headings[0]].find(f"{W}pPr/{W}pageBreakBefore") is not None
    for start, end in zip(headings, [*headings[1:], None], strict=True):
        block = paras[start:end]
        entries = [p for p in block[1:]
                   if any(f.startswith("PAGEREF") for f in _instructions(p))]
        assert entries
        for p in [block[0], *entries[:-1]]:
            assert p.find(f"{W}pPr/{W}keepNext") is not None


def test_word_table_columns_fit_their_longest_word(report_dir: Path) -> None:
    """No cell breaks inside a word or a number: every column is at least as wide as the
    longest unbreakable run of its cells (a word, '< .001', '(pairs)') at the table's type
    size, with Arial's metrics; the wide tables are set smaller than the text."""
    from crisis_survey.present._word import CELL_MARGIN_TWIPS, text_width

    doc = _xml(report_dir / "report.docx", "word/document.xml")
    checked = 0
    sizes = []
    for tbl in doc.iter(f"{W}tbl"):
        grid = [int(g.get(f"{W}w")) / 20 for g in tbl.iter(f"{W}gridCol")]  # points
        sz = [int(s.get(f"{W}val")) / 2 for tr in _cell_rows(tbl) for s in tr.iter(f"{W}sz")]
        size = max(sz) if sz else 10.0
        sizes.append((len(grid), size))
        for tr in _cell_rows(tbl):
            col = 0
            for tc in tr.findall(f"{W}tc"):
                span_el = tc.find(f"{W}tcPr/{W}gridSpan")
                span = int(span_el.get(f"{W}val")) if span_el is not None else 1
                bold = tc.find(f".//{W}rPr/{W}b") is not None
                width = sum(grid[col:col + span]) - 2 * CELL_MARGIN_TWIPS / 20
                for word in re.split(r"[ \n]+", _cell_text(tc)):
                    need = text_width(word, size, bold=bold)
                    assert need <= width, (word, need, width, size)
                    checked += 1
                col += span
    assert checked > 1000
    # the 15-column main table is in smaller type than the text; narrow tables are not
    assert max(s for n, s in sizes if n >= 15) < 10
    assert any(s == 10 for n, s in sizes if n <= 4)


def test_word_table_notes_are_kept_with_the_table(report_dir: Path) -> None:
    """A table's notes never stand alone on a page: its last row is kept with the first
    note, and each note but the last with the next."""
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    for tbl in doc.iter(f"{W}tbl"):
        after = tbl.getnext()
        if after is None or "Note." not in "".join(t.text or "" for t in after.iter(f"{W}t")):
            continue
        last = tbl.findall(f"{W}tr")[-1]
        assert all(p.find(f"{W}pPr/{W}keepNext") is not None for p in last.iter(f"{W}p"))


def test_tables_are_numbered_in_the_order_they_appear(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    body = html[html.index("</nav>"):]
    shown = [int(n) for n in re.findall(r"<strong>Table (\d+)</strong>", body)]
    assert shown == list(range(1, len(shown) + 1)) and len(shown) == 14
    listed = [int(n) for n in re.findall(r'<li><a href="#cs_[^"]+">Table (\d+)</a>', html)]
    assert listed == shown
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    cached = []
    for p in doc.iter(f"{W}p"):
        if "SEQ Table" in "".join(_instructions(p)):
            runs = [t.text for t in p.iter(f"{W}t")]
            cached.append(int(runs[1]))  # "Table ", then the field's cached number
    assert cached == shown


def test_reports_name_no_code_of_a_test_or_adjustment(report_dir: Path) -> None:
    """The text says 'Holm's step-down method' and 'Wilcoxon', never a code name of the
    registry ('holm', 'wilcoxon_signed_rank') or a column name ('r_rb', 'p_adj'); only the
    plan's own options (Table 11, the plan file's keys and values) are printed as written."""
    import lxml.html

    from crisis_survey.stats import TESTS
    from crisis_survey.stats._multiplicity import ADJUST_METHODS

    page = lxml.html.fromstring((report_dir / "report.html").read_text(encoding="utf-8"))
    for el in page.xpath("//style | //svg | //*[@id='cs_provenance_options']"):
        el.drop_tree()
    doc = _xml(report_dir / "report.docx", "word/document.xml")
    options = next(t for t in doc.iter(f"{W}tbl")
                   if "allow_small_threshold" in "".join(x.text or "" for x in t.iter(f"{W}t")))
    options.getparent().remove(options)
    word = " ".join(t.text or "" for t in doc.iter(f"{W}t"))
    codes = [*TESTS, *(m for m in ADJUST_METHODS if m != "by"),  # "by": the English word
             "r_rb", "p_adj", "fdr_bh", "p_value", "effect_size"]
    for text in (page.text_content(), word):
        found = [c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
        assert not found, found
    assert "Holm's step-down method" in page.text_content()


def test_html_links_the_manifest_and_nothing_outside_its_folder(report_dir: Path) -> None:
    """manifest.json (and any other file of the folder the text names) is a relative link;
    the offline check lets only such links through: no other scheme, host, parent folder,
    or a sibling file loaded by an element."""
    from crisis_survey.present._report import _html_text
    from crisis_survey.present._safe import remote_references

    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert '<a href="manifest.json"><code>manifest.json</code></a>' in html
    hrefs = re.findall(r'href="([^"#][^"]*)"', html)
    assert hrefs and all(re.fullmatch(r"[a-z_]+\.(json|csv)", h) for h in hrefs), hrefs
    assert (_html_text("see disclosure.csv).") ==
            'see <a href="disclosure.csv"><code>disclosure.csv</code></a>).')
    assert _html_text("x/disclosure.csv and disclosure.csvx") == \
        "x/disclosure.csv and disclosure.csvx"
    assert not remote_references('<a href="manifest.json">m</a><a href="tables/sample.xlsx">t</a>')
    for bad in ('<a href="../manifest.json">', '<a href="https://h/manifest.json">',
                '<a href="/manifest.json">', '<a href="manifest.json?x=1">',
                '<img src="manifest.json">', '<a href="javascript:x.json">',
                '<a href="Manifest.JSON">', '<a href=" manifest.json">'):
        assert remote_references(bad), bad


def test_every_figure_of_the_word_report_fits_on_a_page_under_its_caption(
        report_dir: Path) -> None:
    import docx

    from crisis_survey.present._word import CAPTION_ROOM_EMU

    doc = docx.Document(str(report_dir / "report.docx"))
    sec = doc.sections[0]
    room = sec.page_height - sec.top_margin - sec.bottom_margin - CAPTION_ROOM_EMU
    shapes = list(doc.inline_shapes)
    assert len(shapes) >= 5
    assert all(s.height <= room and s.width <= sec.page_width for s in shapes)
