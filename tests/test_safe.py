"""Safe files (src/crisis_survey/present/_safe.py) and identifiers that never publish.

A hostile study is attacked through the real command line: its codebook gives the respondent
groups and an item labels that are spreadsheet formulas, Markdown links and images, HTML tags
and LaTeX commands, and its data put such strings in the area column. Every file of the
release is then opened the way a reader's software would open it (openpyxl, a CSV reader, an
HTML parser, two Markdown renderers) and checked to hold text only: no formula, no link, no
image, no tag, nothing loaded from elsewhere. Each check fails on the code before issue 11.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import markdown
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from markdown_it import MarkdownIt

from crisis_survey import AnalysisPlan, load_sample_study
from crisis_survey._cli import main
from crisis_survey._resources import data_dir
from crisis_survey.codebook._frictionless import DEFAULT_CODEBOOK
from crisis_survey.present import write_report
from crisis_survey.present._safe import (
    OutputFolderError,
    check_out_folder,
    latex_escape,
    markdown_escape,
    neutral_cell,
    staged_folder,
)
from crisis_survey.synthetic import generate_study, sample_study_paths, write_study

W1, W2 = sample_study_paths("csv")

# -- the hostile study -------------------------------------------------------------------------
GROUPS = {1: '=HYPERLINK("http://evil.example/x","Service user")',
          2: "@SUM(1+1) [Carer](javascript:alert(1))"}
TITLE = "+1 ![pixel](//host/pixel.png) <script>alert(1)</script> \\input{/etc/passwd}"
LEVEL = "=1+1 Good"
AREAS = {"CC01": "-2+3 <img src=x onerror=alert(1)>", "CC02": '=cmd|"/C calc"!A0',
         "CC03": "[a](javascript:alert(1)) //host/pixel.png"}
HOSTILE = (*GROUPS.values(), TITLE, LEVEL, *AREAS.values())
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _hostile_inputs(folder: Path) -> tuple[Path, Path, Path]:
    spec = json.loads((data_dir() / "schema" / DEFAULT_CODEBOOK).read_text(encoding="utf-8"))
    for f in spec["fields"]:  # found by role, so renaming labels keeps the study loadable
        if f.get("x-role") == "group":
            for c in f["categories"]:
                c["label"] = GROUPS[c["value"]]
        if f["name"] == "overall_rating":
            f["title"] = TITLE
            f["categories"][3]["label"] = LEVEL
    codebook = folder / "hostile.schema.json"
    codebook.write_text(json.dumps(spec), encoding="utf-8")
    study = generate_study(n_service_users=120, n_carers=90, return_rate=0.5, n_new_wave2=40,
                           n_areas=3, seed=11)
    w1, w2 = write_study(study, folder, formats=["csv"], readme=False)
    for p in (w1, w2):
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        frame["area"] = frame["area"].map(lambda a: AREAS.get(a, a))
        frame.to_csv(p, index=False)
    return w1, w2, codebook


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release of ``crisis-survey report`` on the hostile study, by group x area."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "in").mkdir()
    w1, w2, codebook = _hostile_inputs(folder / "in")
    plan = folder / "plan.toml"
    plan.write_text('[analysis]\nitems = ["overall_rating", "exp_followup"]\n'
                    'designs = ["paired"]\nby = ["group", "area"]\n')
    out = folder / "out"
    code = main(["report", "--wave1", str(w1), "--wave2", str(w2), "--codebook", str(codebook),
                 "--plan", str(plan), "--out", str(out)])
    assert code == 0
    return out


def _files(folder: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)


def _is_formula(text: str) -> bool:
    return text.startswith(_FORMULA) and not _NUMBER.fullmatch(text)


# -- spreadsheets --------------------------------------------------------------------------------
def test_no_xlsx_cell_is_a_formula(hostile: Path) -> None:
    from openpyxl import load_workbook

    seen: set[str] = set()
    books = _files(hostile, ".xlsx")
    assert len(books) >= 4
    for book in books:
        for ws in load_workbook(book).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (book.name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not _is_formula(cell.value), (book.name, cell.value)
                        seen.add(cell.value)
    # the hostile labels are there, as text with the quote that keeps them text
    assert any(v.startswith("'" + GROUPS[1]) for v in seen)
    assert any(AREAS["CC02"] in v for v in seen)


def test_no_csv_cell_is_a_formula(hostile: Path) -> None:
    names = {p.name for p in _files(hostile, ".csv")}
    assert {"accounting.csv", "linkage_counts.csv", "attrition.csv"} <= names
    fields: list[str] = []
    for p in _files(hostile, ".csv"):
        with p.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                fields += row
    bad = [f for f in fields if _is_formula(f)]
    assert not bad, bad[:5]
    assert "'" + GROUPS[1] in fields and "'" + GROUPS[2] in fields
    # genuine numbers stay numbers: negative ones are written, none behind a quote
    assert any(f.startswith("-") and _NUMBER.fullmatch(f) for f in fields)
    assert not [f for f in fields if f.startswith("'") and _NUMBER.fullmatch(f[1:])]


@given(st.text(max_size=12))
def test_a_neutral_cell_never_starts_a_formula(text: str) -> None:
    cell = neutral_cell(text)
    assert not _is_formula(cell)
    assert cell in (text, "'" + text)  # a quote in front, nothing else changed


@pytest.mark.parametrize("number", ["-0.25", "+3", "-1e-05", "12", "-7."])
def test_genuine_numbers_are_left_alone(number: str) -> None:
    assert neutral_cell(number) == number
    assert neutral_cell(float(number)) == float(number)


# -- HTML ----------------------------------------------------------------------------------------
_URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background",
              "{http://www.w3.org/1999/xlink}href", "xlink:href"}


def _remote(tree: Any) -> list[str]:
    """Every reference of a parsed page to anything but a #fragment or a data: URI, every
    script or event handler (an independent parser: lxml, not the library's own check)."""
    found = []
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        tag = etree.QName(el).localname.lower()
        if tag in ("script", "iframe", "object", "embed", "link", "base"):
            found.append(f"<{tag}>")
        for name, value in el.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
            # a link (navigation, nothing loaded) may name a file of the report's folder
            sibling = tag == "a" and name == "href" and re.fullmatch(
                r"((tables|figures)/)?[a-z0-9_][a-z0-9_.-]*\.[a-z]+", value) is not None
            if name in _URL_ATTRS and not (value.startswith("#") or sibling
                                           or value.lower().startswith("data:")):
                found.append(f"<{tag} {name}={value!r}>")
            if "url(" in value and not re.fullmatch(r"[^(]*url\(['\"]?#[^)]*\)[^(]*", value):
                found.append(f"<{tag} {name}={value!r}>")
        if tag == "style" and re.search(r"url\((?!['\"]?#)|@import", el.text or ""):
            found.append("<style> loading a URL")
    return found


def test_the_html_report_loads_nothing_and_shows_labels_as_text(hostile: Path) -> None:
    page = (hostile / "report.html").read_text(encoding="utf-8")
    tree = lxml.html.fromstring(page)
    assert _remote(tree) == []
    # links are the report's own fragments, or the release's own files beside it by their
    # fixed names (manifest.json, disclosure.csv): never a scheme, a path out of the folder
    # or a name taken from the data
    for href in tree.xpath("//a[not(starts-with(@href, '#'))]/@href"):
        assert "/" not in href and ":" not in href and "\\" not in href, href
        assert (hostile / href).is_file(), href
        assert href in {"manifest.json", "disclosure.csv", "accounting.csv",
                        "attrition.csv", "linkage_counts.csv"}, href
    text = tree.text_content()
    for label in (GROUPS[1], GROUPS[2], TITLE):
        assert label in text  # shown as written: neither markup nor lost
    for page_path in _files(hostile / "tables", ".html"):
        assert _remote(lxml.html.fromstring(page_path.read_text(encoding="utf-8"))) == []


def test_figures_load_nothing(hostile: Path) -> None:
    svgs = _files(hostile / "figures", ".svg")
    assert svgs
    for svg in svgs:
        assert _remote(etree.fromstring(svg.read_bytes())) == [], svg.name


# -- Markdown and LaTeX --------------------------------------------------------------------------
_RENDERERS = {
    "markdown-it (CommonMark + tables)": lambda s: MarkdownIt("commonmark").enable("table")
    .render(s),
    "Python-Markdown (tables)": lambda s: markdown.markdown(s, extensions=["tables"]),
}


@pytest.mark.parametrize("renderer", list(_RENDERERS))
def test_markdown_renders_as_text_without_links_images_or_tags(hostile: Path,
                                                               renderer: str) -> None:
    files = [*_files(hostile / "tables", ".md"), hostile / "README.md"]
    shown = ""
    for path in files:
        rendered = _RENDERERS[renderer](path.read_text(encoding="utf-8"))
        tree = lxml.html.fromstring(f"<div>{rendered}</div>")
        assert not tree.xpath("//a | //img | //script | //iframe"), path.name
        assert _remote(tree) == [], path.name
        shown += tree.text_content()
    for label in HOSTILE:
        assert label in shown, label


@pytest.mark.parametrize("text", [*HOSTILE, "<https://x.org>", "www.x.org", "&#106;avascript",
                                  "*a* _b_ `c` ~~d~~", "[r]: javascript:alert(1)", "a|b"])
def test_markdown_escape_renders_as_itself(text: str) -> None:
    for render in _RENDERERS.values():
        tree = lxml.html.fromstring(f"<div>{render('| ' + markdown_escape(text) + ' |')}</div>")
        assert not tree.xpath("//a | //img | //script | //em | //code | //strong")
        assert tree.text_content().strip(" |\n") == text.strip()


_LATEX_ALLOWED = {
    "begin", "end", "centering", "small", "caption", "label", "toprule", "midrule",
    "bottomrule", "multicolumn", "cmidrule", "textit", "textbf", "par", "smallskip",
    "footnotesize", "raggedright", "textbackslash", "textless", "textgreater",
    "textasciitilde", "textasciicircum", "textsuperscript", "chi", "Delta", "leq", "geq",
}


def test_latex_runs_no_command_from_the_data(hostile: Path) -> None:
    for path in _files(hostile / "tables", ".tex"):
        tex = path.read_text(encoding="utf-8")
        commands = set(re.findall(r"\\([A-Za-z]+)", tex))
        assert commands <= _LATEX_ALLOWED, (path.name, commands - _LATEX_ALLOWED)
        # a row never ends in ``\\[`` or ``\\*`` (an optional argument taken from a label)
        assert not re.search(r"\\\\\s*[\[*]", tex), path.name
    assert latex_escape("\\input{x}\n\n[c]") == "\\textbackslash{}input\\{x\\} {[}c{]}"


# -- the manifest --------------------------------------------------------------------------------
def test_the_manifest_lists_every_file_written(hostile: Path) -> None:
    manifest = json.loads((hostile / "manifest.json").read_text(encoding="utf-8"))
    written = {p.relative_to(hostile).as_posix(): p for p in hostile.rglob("*") if p.is_file()}
    assert set(manifest["outputs"]) == set(written) - {"manifest.json"}
    for name in ("accounting.csv", "linkage_counts.csv", "attrition.csv", "README.md",
                 "report.html", "report.docx", "tables/linkage.xlsx"):
        assert name in manifest["outputs"]
    for name, digest in manifest["outputs"].items():
        assert hashlib.sha256(written[name].read_bytes()).hexdigest() == digest, name


# -- the output folder ---------------------------------------------------------------------------
def _link(out: Path) -> int:
    return main(["link", "--wave1", str(W1), "--wave2", str(W2), "--out", str(out)])


def test_link_writes_a_manifest_and_a_rerun_replaces_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _link(out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["outputs"]) == {"README.md", "accounting.csv", "attrition.csv",
                                        "linkage_counts.csv"}
    assert _link(out) == 0  # an earlier output: replaced whole
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]  # no temporary folder left


def test_a_rerun_with_another_plan_leaves_no_stale_file(tmp_path: Path) -> None:
    study = load_sample_study()
    out = tmp_path / "out"
    write_report(study, out, plan=AnalysisPlan(items=("overall_rating",),
                                               designs=("paired", "independent")))
    assert any(out.glob("tables/comparison_sensitivity.*"))
    write_report(study, out, plan=AnalysisPlan(items=("overall_rating",), designs=("paired",)))
    assert not any(out.glob("tables/comparison_sensitivity.*"))  # the earlier plan's are gone
    listed = set(json.loads((out / "manifest.json").read_text())["outputs"])
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == listed


@pytest.mark.parametrize("setup", ["user file", "foreign file", "symlink out", "symlink inside",
                                   "a file"])
def test_out_must_be_empty_absent_or_an_earlier_output(tmp_path: Path, setup: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    if setup == "user file":
        out.mkdir()
        (out / "thesis.docx").write_text("my work")
    elif setup == "foreign file":
        assert _link(out) == 0
        (out / "notes.txt").write_text("mine")
    elif setup == "symlink out":
        (tmp_path / "elsewhere").mkdir()
        out.symlink_to(tmp_path / "elsewhere")
    elif setup == "symlink inside":
        out.mkdir()
        (out / "report.html").symlink_to(tmp_path / "target.html")
    else:
        out.write_text("x")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and
              not p.is_symlink()}
    capsys.readouterr()
    assert _link(out) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "Traceback" not in err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and
             not p.is_symlink()}
    assert after == before  # nothing written, nothing overwritten, nothing deleted
    assert not (tmp_path / "target.html").exists()  # the link was not followed
    assert not (tmp_path / "elsewhere").exists() or not list((tmp_path / "elsewhere").iterdir())


def test_a_crash_mid_write_leaves_no_file_under_a_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crisis_survey.present import _report

    out = tmp_path / "out"
    assert _link(out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args: Any, **kwargs: Any) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report, "_docx_report", disk_full)
    code = main(["report", "--wave1", str(W1), "--wave2", str(W2), "--out", str(out)])
    assert code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial folder left


def test_staged_folder_is_moved_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_folder(out) as stage:
        (stage / "report.html").write_text("<p>half")
        raise RuntimeError("crash")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with staged_folder(out) as stage:
        (stage / "manifest.json").write_text('{"manifest_version": 1, "outputs": {}}')
    assert check_out_folder(out) == out  # an earlier output: may be replaced
    with pytest.raises(OutputFolderError, match="not an output of crisis_survey"):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "a.txt").write_text("a")
        check_out_folder(tmp_path / "mine")


# -- identifiers never publish, through the command line -----------------------------------------
def _report(tmp_path: Path, plan_text: str) -> int:
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text)
    return main(["report", "--wave1", str(W1), "--wave2", str(W2), "--plan", str(plan),
                 "--out", str(tmp_path / "out")])


def _ids() -> set[str]:
    values: set[str] = set()
    for p in (W1, W2):
        frame = pd.read_csv(p, dtype=str)
        values |= set(frame["respondent_id"].dropna()) | set(frame["link_key"].dropna())
    return values


@pytest.mark.parametrize(("plan", "needle"), [
    ('[analysis]\nby = ["respondent_id"]\n', "'respondent_id' is a respondent identifier"),
    ('[analysis]\nby = ["comments"]\n', "'comments' is a free-text answer"),
    ('[analysis]\nby = ["link_key"]\n', "'link_key' is the link key"),
    ("[disclosure]\nthreshold = true\n", "threshold must be a positive whole number"),
    ("[disclosure]\nthreshold = 1\n", "must be at least 5"),
    ('[analysis]\ndesigns = ["paired", "paired"]\n', "designs names 'paired' more than once"),
    ("[analysis]\nmin_n = 9223372036854775807\n", "min_n must be a whole number from 1"),
])
def test_plans_that_would_publish_identifiers_or_crash_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plan: str, needle: str
) -> None:
    code = _report(tmp_path, plan)
    err = capsys.readouterr().err
    assert code == 2, err  # a clear error, not a crash (3) and not a report
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not any(i in err for i in _ids())


def test_validate_never_prints_an_identifier_or_contact_details(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(W1, dtype=str, keep_default_na=False)
    frame.loc[5, "respondent_id"] = frame.loc[4, "respondent_id"]  # a repeated id
    frame.loc[7, "area"] = "jo.bloggs@example.org"  # a respondent's e-mail in the area column
    path = tmp_path / "wave1.csv"
    frame.to_csv(path, index=False)
    code = main(["validate", str(path), "--wave", "1"])
    printed = "".join(capsys.readouterr())
    assert code == 1
    assert "row 6" in printed and "row 7" in printed and "row 9" in printed
    assert "looks like an e-mail address or phone number" in printed
    assert "jo.bloggs@example.org" not in printed
    assert frame.loc[4, "respondent_id"] not in printed


def _walk(folder: Path) -> Iterator[str]:
    for p in folder.rglob("*"):
        if p.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(p) as z:
                yield from (z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif p.is_file() and p.suffix not in (".png", ".pdf"):
            yield p.read_text(encoding="utf-8")


def test_contact_details_in_the_area_column_reach_no_file(tmp_path: Path) -> None:
    frame = pd.read_csv(W1, dtype=str, keep_default_na=False)
    frame.loc[7, "area"] = "jo.bloggs@example.org"
    path = tmp_path / "wave1.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["link", "--wave1", str(path), "--wave2", str(W2), "--quarantine",
                 "--out", str(out)]) == 0
    assert os.listdir(out)
    assert not any("jo.bloggs" in text for text in _walk(out))
