"""Word tables' body cells made as copies of finished cells (present/_render.py
``_DocxBodyCells``) are the XML python-docx makes cell by cell (``copies=False``)."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from crisis_survey import load_sample_study
from crisis_survey.present._render import add_docx_table, new_document
from crisis_survey.present._tables import PublicationTable


def _xml(table: PublicationTable, copies: bool, font_size: float | None = None) -> bytes:
    doc = new_document()
    add_docx_table(doc, table, font_size=font_size, copies=copies)
    buf = io.BytesIO()
    doc.save(buf)
    return zipfile.ZipFile(buf).read("word/document.xml")


@pytest.fixture(scope="module")
def tables() -> list[PublicationTable]:
    from crisis_survey.compare import compare_waves
    from crisis_survey.present import comparison_table, linkage_table, sample_table

    study = load_sample_study()
    return [sample_table(study).numbered(1), linkage_table(study),
            comparison_table(compare_waves(study, items=["exp_listened", "overall_rating"]))]


@pytest.mark.parametrize("font_size", [None, 8.0])
def test_copied_cells_are_the_cells_python_docx_makes(tables: list[PublicationTable],
                                                      font_size: float | None) -> None:
    for table in tables:
        assert _xml(table, True, font_size) == _xml(table, False, font_size), table.name


def test_texts_python_docx_writes_otherwise_keep_its_path() -> None:
    # empty cells, tabs and line breaks (its own elements), spaces at either end (kept with
    # xml:space), a non-breaking space around '=': every row the same XML either way
    data = pd.DataFrame({"label": ["a", "b", " c", "d", "e\u00a0"],
                         "x": ["1", "", "2 ", "3\t4", "V = 5"],
                         "y": ["line\nbreak", "6", "7", "8", "[0.4, 20.4]"]})
    table = PublicationTable(name="odd", title="Odd cells", data=data, stub="label",
                             column_labels={"x": "X", "y": "Y"}, notes=("A note.",))
    assert _xml(table, True) == _xml(table, False)
    assert b'xml:space="preserve"' in _xml(table, True)
