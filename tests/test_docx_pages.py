"""How the Word tables break across pages (present/_render.py ``add_docx_table``,
present/_word.py ``keep_table_rows``), read from the document's XML.

A page may break after a row only when that row's paragraphs do not keep with the next:
a table that fits on a page has no such row (it moves to the next page whole, with its
caption); a longer one has them only where at least ``EDGE_ROWS`` body rows stand on either
side, so no page holds the header and one or two rows at its foot, nor only a table's
last row or two. Rendered by LibreOffice, the report and the sample's report were looked at
page by page (docs/tables-and-figures.md).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crisis_survey.present._render import add_docx_table, new_document
from crisis_survey.present._tables import PublicationTable
from crisis_survey.present._word import EDGE_ROWS, end_section

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _table(n_rows: int, *, notes: int = 1, long_labels: bool = False,
           groups: bool = False) -> PublicationTable:
    label = " ".join(["A row label long enough to wrap over several lines"] * 4) if long_labels \
        else "Item"
    data = pd.DataFrame({"label": [f"{label} {i}" for i in range(n_rows)],
                         "n": [str(10 + i) for i in range(n_rows)],
                         "p": [".05"] * n_rows})
    if groups:
        data["group"] = [f"Group {i // 7}" for i in range(n_rows)]
    return PublicationTable(name="t", title="A table", data=data, stub="label",
                            row_group="group" if groups else None,
                            column_labels={"n": "N", "p": "p"},
                            notes=tuple(f"Note {k}." for k in range(notes))).numbered(1)


def _body(table: PublicationTable, *, landscape: bool = False) -> Any:
    doc = new_document()
    doc.add_paragraph("Before.")
    if landscape:
        end_section(doc, landscape=True)
    add_docx_table(doc, table)
    buf = io.BytesIO()
    doc.save(buf)
    return etree.fromstring(zipfile.ZipFile(buf).read("word/document.xml")).find(f"{W}body")


def _kept(p: Any) -> bool:
    return p.find(f"{W}pPr/{W}keepNext") is not None


def _text(el: Any) -> str:
    return "".join(t.text or "" for t in el.iter(f"{W}t"))


def _notes_row(tbl: Any) -> bool:
    """Whether the table's last row holds its notes (one cell across the table)."""
    last = tbl.findall(f"{W}tr")[-1]
    return len(last.findall(f"{W}tc")) == 1 and _text(last).startswith("Note.")


def _layout(tbl: Any) -> tuple[int, list[bool]]:
    """(header rows, whether each row keeps with the next: every paragraph keeps), the
    notes row, if any, counted as a row."""
    rows = tbl.findall(f"{W}tr")
    header = sum(r.find(f"{W}trPr/{W}tblHeader") is not None for r in rows)
    return header, [all(_kept(p) for p in r.iter(f"{W}p")) for r in rows]


def _breaks(tbl: Any) -> list[int]:
    """Rows after which a page may break (inside the table)."""
    _, kept = _layout(tbl)
    return [i for i in range(len(kept) - 1) if not kept[i]]


def _check_breaks(tbl: Any) -> None:
    header, kept = _layout(tbl)
    rows = tbl.findall(f"{W}tr")
    body_end = len(rows) - _notes_row(tbl)  # rows after the last body row: the notes
    assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)
    assert all(kept[:header]), "header rows keep with the first body row"
    for i in _breaks(tbl):
        assert i + 1 - header >= EDGE_ROWS, f"a break after body row {i + 1 - header}"
        assert body_end - 1 - i >= EDGE_ROWS, f"a break {body_end - 1 - i} rows from the end"


def test_a_table_that_fits_on_a_page_is_kept_whole_with_its_caption_and_notes() -> None:
    body = _body(_table(12, notes=2))
    tbl = body.find(f"{W}tbl")
    caption = tbl.getprevious()
    assert "Table" in _text(caption) and _kept(caption)
    assert _breaks(tbl) == []
    _, kept = _layout(tbl)
    assert all(kept), "the last row keeps with the notes"
    assert not _notes_row(tbl), "the notes of a whole table are paragraphs after it"
    first_note = tbl.getnext()
    assert _text(first_note) == "Note. Note 0."
    assert _kept(first_note) and not _kept(first_note.getnext())


def test_a_table_without_notes_keeps_all_but_its_last_row() -> None:
    _, kept = _layout(_body(_table(12, notes=0)).find(f"{W}tbl"))
    assert all(kept[:-1]) and not kept[-1]


@pytest.mark.parametrize("notes", [0, 2])
def test_a_table_longer_than_a_page_breaks_but_keeps_its_edges(notes: int) -> None:
    tbl = _body(_table(150, notes=notes)).find(f"{W}tbl")
    header, kept = _layout(tbl)
    breaks = _breaks(tbl)
    assert breaks, "a table of 150 rows has to break"
    _check_breaks(tbl)
    # the first EDGE_ROWS body rows stay with the header, the last EDGE_ROWS together and
    # with the notes; rows in between may break anywhere
    assert breaks[0] == header + EDGE_ROWS - 1
    assert breaks[-1] == len(kept) - 1 - bool(notes) - EDGE_ROWS
    assert breaks == list(range(breaks[0], breaks[-1] + 1))
    # its notes are the table's last row (one cell across it, kept with the last body row),
    # with nothing after the table but an empty paragraph of space
    assert _notes_row(tbl) == bool(notes)
    if notes:
        paragraphs = tbl.findall(f"{W}tr")[-1].findall(f"{W}tc/{W}p")
        assert [_text(p) for p in paragraphs] == ["Note. Note 0.", "Note 1."]
        assert kept[-2]
    assert _text(tbl.getnext()) == ""


def test_landscape_page_holds_fewer_rows() -> None:
    # 40 rows fit an A4 page upright (text height 698 pt) but not on its side (451 pt)
    table = _table(40)
    assert _breaks(_body(table).find(f"{W}tbl")) == []
    assert _breaks(_body(table, landscape=True).find(f"{W}tbl")) != []


def test_tall_rows_count_for_the_height() -> None:
    # the same number of rows, each several lines high, no longer fits
    assert _breaks(_body(_table(40)).find(f"{W}tbl")) == []
    assert _breaks(_body(_table(40, long_labels=True)).find(f"{W}tbl")) != []


@settings(max_examples=25, deadline=None)
@given(n_rows=st.integers(1, 160), notes=st.integers(0, 3), groups=st.booleans(),
       landscape=st.booleans())
def test_page_breaks_never_leave_fewer_than_the_edge_rows(n_rows: int, notes: int,
                                                          groups: bool, landscape: bool) -> None:
    _check_breaks(_body(_table(n_rows, notes=notes, groups=groups),
                        landscape=landscape).find(f"{W}tbl"))


@pytest.mark.parametrize("landscape", [False, True])
def test_whole_or_broken_is_monotone_in_the_rows(landscape: bool) -> None:
    whole = [not _breaks(_body(_table(n), landscape=landscape).find(f"{W}tbl"))
             for n in range(5, 80, 5)]
    assert whole[0] and not whole[-1]
    assert whole == sorted(whole, reverse=True), "once too long, longer tables are too"


# -- figures fit on a page under their caption -----------------------------------------------
def _png(path: Any, width: int, height: int) -> None:
    """A plain grey PNG of ``width`` x ``height`` pixels (written with zlib alone)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@settings(max_examples=200, deadline=None)
@given(w=st.integers(1, 5000), h=st.integers(1, 5000), bw=st.integers(10**5, 10**7),
       bh=st.integers(10**5, 10**7))
def test_fitted_size_keeps_the_proportions_within_the_box(w: int, h: int, bw: int,
                                                          bh: int) -> None:
    from crisis_survey.present._word import fitted_size

    fw, fh = fitted_size((w, h), bw, bh)
    assert fw <= bw and fh <= bh
    assert fw >= bw - 1 or fh >= bh - 1  # as large as the box allows
    assert abs(fw * h - fh * w) <= max(w, h)  # in proportion, to a unit


@pytest.mark.parametrize(("w", "h"), [(1200, 3600), (1800, 900)])
def test_a_tall_figure_fits_under_its_caption(tmp_path: Any, w: int, h: int) -> None:
    # before, every figure was as wide as the text: a figure three times as tall as wide
    # (the Likert bars of 25 items by area) filled more than a page, and its caption stood
    # alone at the foot of the page before it
    from crisis_survey.present._word import (
        CAPTION_ROOM_EMU,
        add_caption,
        add_figure_picture,
        png_size,
    )

    png = tmp_path / "f.png"
    _png(png, w, h)
    assert png_size(png) == (w, h)
    doc = new_document("t")
    add_caption(doc, "Figure", 1, "A figure", "f")
    shape = add_figure_picture(doc, png)
    sec = doc.sections[-1]
    text_w = min(int(6.3 * 914400), sec.page_width - sec.left_margin - sec.right_margin)
    room = sec.page_height - sec.top_margin - sec.bottom_margin - CAPTION_ROOM_EMU
    assert shape.width <= text_w and shape.height <= room
    assert abs(shape.width / shape.height - w / h) < 0.01
    if h > w:
        assert shape.height >= room - 1  # as tall as the page allows
    else:
        assert shape.width >= text_w - 1  # as wide as the text
