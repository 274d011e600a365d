"""The whole report (src/crisis_survey/present/_report.py) and `crisis-survey report`."""

from __future__ import annotations

import hashlib
import json
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
    # flow, 3 Likert charts (one per response scale), paired change, 2 forest plots
    assert sum(n.startswith("figures/") for n in first) == 7 * 3  # svg, pdf, png each
    assert sum(n.startswith("tables/") for n in first) == 8 * 5  # 8 tables x 5 formats


def test_html_is_self_contained_and_says_synthetic(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    # no external resource: no script/link/img pointing elsewhere, no remote URL in src/href
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html, re.I)
    assert "<script" not in html.lower()
    assert not re.search(r"<link[^>]+stylesheet", html, re.I)
    assert "@import" not in html
    assert html.count(SYNTHETIC_BANNER) >= 2  # top banner (sticky, repeats when printed) + end
    assert html.count("<svg") == 7  # every figure inline
    assert "withheld" in html  # the disclosure note


def test_word_report_says_synthetic_on_every_page(report_dir: Path) -> None:
    with zipfile.ZipFile(report_dir / "report.docx") as z:
        headers = [n for n in z.namelist() if re.fullmatch(r"word/header\d*\.xml", n)]
        assert headers
        text = "".join(z.read(n).decode() for n in headers)
        body = z.read("word/document.xml").decode()
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert "SYNTHETIC DATA" in text  # the page header repeats on every page
    assert body.count("<w:tbl>") == 8
    assert len(media) == 7


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
    # the model table's difference equals change_by_group_model's interaction (2 decimals)
    m = change_by_group_model(study, "overall_rating")
    md = (report_dir / "tables" / "change_by_group_model.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if "Overall quality of crisis care" in line)
    est = f"{m.interaction['estimate']:.2f}".replace("-", "−")
    assert est in row
    # the paired comparison table's p for overall_rating in service users is compare_waves'
    t = compare_waves(study).table
    r = t[(t["item"] == "overall_rating") & (t["group"] == "Service user")
          & (t["design"] == "paired")].iloc[0]
    md = (report_dir / "tables" / "comparison_paired.md").read_text(encoding="utf-8")
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
    assert "comparison_paired.md" in names
    assert not any("independent" in n or "overlapping" in n for n in names)
    md = (tmp_path / "tables" / "comparison_paired.md").read_text(encoding="utf-8")
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
    assert re.search(r"^\[0/7 \+[\d.]+ s\] wrote 4 linkage files$", captured.err, re.M)
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
    md = (tmp_path / "tables" / "comparison_paired.md").read_text(encoding="utf-8")
    assert "Service user / " in md and "Carer / " in md
    assert not [c for c in _count_cells(md) if 0 < c < 10]


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
