"""Display of the public result objects: ``print`` gives readable text, Jupyter shows HTML
(``_repr_html_``), ``repr`` is one short line, and none of them shows a respondent identifier
or link key (design.md: results have readable ``__str__`` / ``_repr_html_``)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import crisis_survey as cs
from crisis_survey import present, stats
from crisis_survey.synthetic import sample_study_paths


@pytest.fixture(scope="module")
def study() -> cs.LinkedStudy:
    return cs.load_sample_study()


@pytest.fixture(scope="module")
def sensitive() -> set[str]:
    """Every respondent identifier and link key of the sample files (raw and normalised)."""
    values: set[str] = set()
    for path in sample_study_paths():
        raw = pd.read_csv(path, dtype=str)
        ids = set(raw["respondent_id"].dropna())
        keys = set(raw["link_key"].dropna())
        values |= ids | keys | {k.strip().casefold().replace("-", "").replace(" ", "")
                                for k in keys}
    return {v for v in values if len(v) >= 6}  # short strings occur by chance in numbers


@pytest.fixture(scope="module")
def objects(study: cs.LinkedStudy, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    comparison = cs.compare_waves(study, items=["overall_rating", "svc_ae"])
    out = tmp_path_factory.mktemp("report")
    return {
        "Codebook": study.codebook,
        "SurveyWave": study.wave1,
        "LinkedStudy": study,
        "LinkageReport": study.report,
        "TestResult": stats.mcnemar([0, 1, 1, 0, 1, 1, 0, 1], [1, 1, 0, 1, 1, 1, 1, 1]),
        "WaveComparison": comparison,
        "ModelResult": cs.change_by_group_model(study, "overall_rating"),
        "PublicationTable": present.linkage_table(study).numbered(2),
        "ReportFiles": present.ReportFiles(
            out=out, html=out / "report.html", docx=out / "report.docx",
            manifest=out / "manifest.json", tables=(out / "tables" / "a.html",), figures=()),
    }


# What each display must say (a fact from the object, so an empty or generic display fails).
EXPECTED = {
    "Codebook": "crisis_care_survey 1.0.0",
    "SurveyWave": "658 rows read",
    "LinkedStudy": "linked pairs: 231",
    "LinkageReport": "231 linked",
    "TestResult": "McNemar",
    "WaveComparison": "overall_rating",
    "ModelResult": "overall_rating",
    "PublicationTable": "Linkage of respondents across the two survey waves",
    "ReportFiles": "report.html",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_print_is_readable_text(name: str, objects: dict[str, Any]) -> None:
    text = str(objects[name])
    assert EXPECTED[name] in text
    assert not text.lstrip().startswith("<")  # text, not markup
    assert "object at 0x" not in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_jupyter_shows_html(name: str, objects: dict[str, Any]) -> None:
    obj = objects[name]
    assert hasattr(obj, "_repr_html_"), f"{name} has no _repr_html_"
    markup = obj._repr_html_()
    assert markup.lstrip().startswith("<") and ("<table" in markup or "<p>" in markup)
    assert html.escape(EXPECTED[name], quote=True) in markup or EXPECTED[name] in markup


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_repr_is_one_short_line(name: str, objects: dict[str, Any]) -> None:
    if name == "TestResult":  # a small frozen dataclass: its field repr is short and exact
        return
    text = repr(objects[name])
    assert "\n" not in text and len(text) < 400, text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_display_shows_an_identifier_or_key(
    name: str, objects: dict[str, Any], sensitive: set[str]
) -> None:
    obj = objects[name]
    shown = "\n".join([str(obj), repr(obj), getattr(obj, "_repr_html_", lambda: "")()])
    leaked = sorted(v for v in sensitive if v in shown)
    assert not leaked, f"{name} shows {leaked[:5]}"


def test_the_sensitive_values_are_real(sensitive: set[str], study: cs.LinkedStudy) -> None:
    # the leak check above would pass vacuously if it looked for nothing
    assert len(sensitive) > 1000
    assert set(study.wave1.data["respondent_id"].head()) <= sensitive


def test_reportfiles_html_links_the_files(objects: dict[str, Any]) -> None:
    markup = objects["ReportFiles"]._repr_html_()
    out = Path(objects["ReportFiles"].out).as_posix()
    assert f'href="{html.escape(out)}/report.html"' in markup
    assert "1 table files" in str(objects["ReportFiles"])


def test_codebook_table_has_one_row_per_field(objects: dict[str, Any]) -> None:
    cb = objects["Codebook"]
    markup = cb._repr_html_()
    assert markup.count("<tr><td>") == len(cb.fields)
    assert "Very poor / Poor / Fair / Good / Excellent" in markup
    assert f"{len(cb.fields)} fields" in str(cb)
