"""Word layout a publisher accepts: page size and language, fields, captions, contents lists,
page numbers, section breaks without blank pages, alt text (private module).

python-docx writes paragraphs, runs and tables; this module adds the pieces it has no API
for, as WordprocessingML:

- captions numbered by ``SEQ Table`` / ``SEQ Figure`` fields, each number inside a bookmark
  so that the text can cross-reference it with a ``REF`` field;
- the table of contents and the lists of tables and figures as ``TOC`` fields whose cached
  result already lists every entry with a ``PAGEREF`` page number (Word refreshes all fields
  when the file opens: ``w:updateFields`` in the settings; LibreOffice lays out the cached
  result and computes the page references);
- a footer ``Page N of M`` (``PAGE`` and ``NUMPAGES`` fields);
- section breaks carried by the last paragraph of the section they end, so that switching a
  wide table to landscape adds no empty paragraph that could spill onto a page of its own.

Every field's cached text is what Word would show, so the document reads correctly before
any field is updated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .._errors import CrisisSurveyError

__all__ = [
    "LANGUAGE_PATTERN",
    "PAPER_SIZES",
    "add_bookmark",
    "add_caption",
    "add_contents",
    "add_field",
    "add_page_footer",
    "add_reference",
    "bookmark_name",
    "check_page_setup",
    "end_section",
    "keep_table_rows",
    "set_alt_text",
    "set_page_setup",
    "text_height",
]

#: Paper sizes a plan may choose, as (width, height) in millimetres (portrait).
PAPER_SIZES: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "letter": (215.9, 279.4)}
#: A BCP 47 language tag as Word stores it (``en-GB``, ``de-DE``, ``fr-CA``).
LANGUAGE_PATTERN = r"[a-z]{2,3}-[A-Z]{2}"
#: Page margins in millimetres (2.54 cm, Word's default).
_MARGIN_MM = 25.4


def check_page_setup(paper: object, language: object) -> list[str]:
    """Problems with a paper size and a language tag (empty when both are valid)."""
    problems = []
    if paper not in PAPER_SIZES:
        problems.append(f"[present] paper is {paper!r} (expected one of {sorted(PAPER_SIZES)})")
    if not isinstance(language, str) or not re.fullmatch(LANGUAGE_PATTERN, language):
        problems.append(f"[present] language is {language!r} (expected a language tag such as "
                        "'en-GB' or 'en-US')")
    return problems


def _el(tag: str, **attrs: str) -> Any:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def set_page_setup(doc: Any, *, paper: str = "A4", language: str = "en-GB") -> None:
    """Paper size and margins of the document's (first) section and its language.

    The language goes into the document defaults (``w:lang`` of ``w:rPrDefault``), which
    every style inherits, and into the theme font language of the settings.
    """
    from docx.oxml.ns import qn
    from docx.shared import Mm

    problems = check_page_setup(paper, language)
    if problems:
        raise CrisisSurveyError("; ".join(problems))
    width, height = PAPER_SIZES[paper]
    for section in doc.sections:
        section.page_width, section.page_height = Mm(width), Mm(height)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(_MARGIN_MM))
    r_pr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = _el("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), language)
    lang.set(qn("w:eastAsia"), language)
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), language)
    if settings.find(qn("w:updateFields")) is None:
        # Word refreshes the contents lists, captions and references when the file opens
        settings.append(_el("w:updateFields", val="true"))


# -- fields ------------------------------------------------------------------------------------
def add_field(paragraph: Any, instruction: str, cached: str, *, bold: bool = False,
              italic: bool = False) -> None:
    """Append a complex field (``instruction``, e.g. ``SEQ Table \\* ARABIC``) whose cached
    result is ``cached``."""
    def run(*children: Any) -> Any:
        r = paragraph.add_run()
        if bold:
            r.bold = True
        if italic:
            r.italic = True
        for child in children:
            r._r.append(child)
        return r

    from docx.oxml.ns import qn

    instr = _el("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run(_el("w:fldChar", fldCharType="begin"))
    run(instr)
    run(_el("w:fldChar", fldCharType="separate"))
    r = run()
    r.text = cached
    run(_el("w:fldChar", fldCharType="end"))


def bookmark_name(kind: str, name: str) -> str:
    """A Word bookmark name for a caption or heading (letters, digits, underscores, at most 40
    characters; a leading underscore hides it from Word's bookmark list)."""
    return ("_" + kind + "_" + re.sub(r"[^0-9A-Za-z]+", "_", name))[:40]


def add_bookmark(doc: Any, paragraph: Any, name: str, first_run: int = 0) -> None:
    """Put the runs of ``paragraph`` from ``first_run`` on inside the bookmark ``name``."""
    ident = len(doc.element.body.xpath(".//w:bookmarkStart")) + 1
    runs = paragraph._p.r_lst
    start = _el("w:bookmarkStart", id=str(ident), name=name)
    end = _el("w:bookmarkEnd", id=str(ident))
    if runs[first_run:]:
        runs[first_run].addprevious(start)
        runs[-1].addnext(end)
    else:
        paragraph._p.append(start)
        paragraph._p.append(end)


def add_caption(doc: Any, kind: str, number: int, title: str, name: str) -> Any:
    """A caption paragraph, ``Table 3`` in bold (the number a ``SEQ`` field inside a
    bookmark) and the title in italic on a line of its own; kept with what follows it."""
    from docx.enum.text import WD_BREAK

    para = doc.add_paragraph(style="Caption")
    label = para.add_run(f"{kind} ")
    label.bold = True
    add_field(para, f"SEQ {kind} \\* ARABIC", str(number), bold=True)
    add_bookmark(doc, para, bookmark_name(kind, name))  # "Table 3": what a REF shows
    para.add_run().add_break(WD_BREAK.LINE)
    para.add_run(title).italic = True
    para.paragraph_format.keep_with_next = True
    return para


def add_reference(paragraph: Any, kind: str, number: int, name: str) -> None:
    """Append ``Table 3`` as a cross-reference (a ``REF`` field to the caption's bookmark,
    which holds the label and the number)."""
    add_field(paragraph, f"REF {bookmark_name(kind, name)} \\h", f"{kind} {number}")


def add_contents(doc: Any, heading: str, instruction: str,
                 entries: Sequence[tuple[str, str, int]], *, new_page: bool = False) -> None:
    """A heading and a ``TOC`` field listing ``entries`` as (text, bookmark, level), each
    with its page number as a ``PAGEREF`` field and a dotted leader.

    ``instruction`` is the field's: ``TOC \\o "1-2" \\h \\z \\u`` for the contents,
    ``TOC \\h \\z \\c "Table"`` for the list of tables. ``new_page`` starts the heading on a
    new page.
    """
    from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
    from docx.oxml.ns import qn

    # the heading and the whole list stay on one page (keep with next on all but the last
    # entry): a heading alone at the foot of a page is what a publisher sends back
    # (LibreOffice does not keep a paragraph with a field's first one: ``new_page`` does)
    fmt = doc.add_paragraph(heading, style="TOC Heading").paragraph_format
    fmt.keep_with_next = True
    fmt.page_break_before = new_page
    section = doc.sections[-1]
    right = section.page_width - section.left_margin - section.right_margin
    paragraphs = []
    for text, mark, level in entries or [("(no entries)", "", 1)]:
        para = doc.add_paragraph()
        fmt = para.paragraph_format
        fmt.left_indent = int(right * 0.04) * (level - 1)
        fmt.space_after = 0
        fmt.tab_stops.add_tab_stop(right, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        if mark:
            link = _el("w:hyperlink", anchor=mark)
            link.set(qn("w:history"), "1")
            para._p.append(link)
            r = _el("w:r")
            t = _el("w:t")
            t.text = text
            r.append(t)
            link.append(r)
            para.add_run("\t")
            add_field(para, f"PAGEREF {mark} \\h", "")
        else:
            para.add_run(text)
        paragraphs.append(para)
    for para in paragraphs[:-1]:
        para.paragraph_format.keep_with_next = True
    first, last = paragraphs[0], paragraphs[-1]
    # the field opens before the first entry and closes after the last one
    instr = _el("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    opening = [_el("w:r"), _el("w:r"), _el("w:r")]
    opening[0].append(_el("w:fldChar", fldCharType="begin"))
    opening[1].append(instr)
    opening[2].append(_el("w:fldChar", fldCharType="separate"))
    p_pr = first._p.pPr
    for k, r in enumerate(opening):
        if p_pr is not None and k == 0:
            p_pr.addnext(r)
        elif k == 0:
            first._p.insert(0, r)
        else:
            opening[k - 1].addnext(r)
    closing = _el("w:r")
    closing.append(_el("w:fldChar", fldCharType="end"))
    last._p.append(closing)


def add_page_footer(section: Any, *, font_size: float = 8) -> None:
    """``Page N of M`` centred in the section's footer (later sections inherit it)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.add_run("Page ")
    add_field(para, "PAGE", "1")
    para.add_run(" of ")
    add_field(para, "NUMPAGES", "1")
    for run in para.runs:
        run.font.size = Pt(font_size)


# -- sections ----------------------------------------------------------------------------------
def end_section(doc: Any, *, landscape: bool) -> None:
    """End the current section at the document's last paragraph and start a new page in
    landscape (``True``) or portrait.

    The ending section's properties move into that paragraph's ``w:sectPr`` (Word's layout of
    a section break) instead of a new empty paragraph, which is what python-docx's
    ``add_section`` adds: after a table that fills its page, that empty paragraph makes a
    blank page of its own.
    """
    import copy

    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.oxml.ns import qn

    body = doc.element.body
    last = body[-2] if len(body) > 1 else None  # body[-1] is the document's sectPr
    if last is None or last.tag != qn("w:p"):
        last = doc.add_paragraph()._p
        last.get_or_add_pPr().append(_el("w:spacing", before="0", after="0", line="20",
                                         lineRule="exact"))
    sentinel = body.find(qn("w:sectPr"))
    last.get_or_add_pPr().append(copy.deepcopy(sentinel))
    # the new (last) section has no header or footer of its own: it inherits the previous
    # section's, so the banner and the page numbers run on
    for tag in ("w:headerReference", "w:footerReference"):
        for ref in sentinel.findall(qn(tag)):
            sentinel.remove(ref)
    section = doc.sections[-1]
    section.start_type = WD_SECTION.NEW_PAGE
    width, height = section.page_width, section.page_height
    if landscape != (width > height):
        section.page_width, section.page_height = height, width
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT


def set_alt_text(inline_shape: Any, description: str, title: str = "") -> None:
    """Alt text of a picture (``wp:docPr``'s ``descr`` and ``title``), read by screen
    readers and shown by Word under *Alt Text*."""
    doc_pr = inline_shape._inline.docPr
    doc_pr.set("descr", description)
    if title:
        doc_pr.set("title", title)


# -- table column widths -------------------------------------------------------------------------
# Advance widths (1/1000 em) of the printable ASCII characters (space to ``~``) in Helvetica and
# Helvetica Bold, from the Adobe font metrics that ship with matplotlib (mpl-data/fonts/afm,
# phvr8a.afm and phvb8a.afm). Arial, and LibreOffice's stand-in Liberation Sans, are
# metric-compatible with Helvetica, so these are the widths Word and LibreOffice lay out.
_HELVETICA = (
    "278 278 355 556 556 889 667 222 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 222 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584")
_HELVETICA_BOLD = (
    "278 333 474 556 556 889 722 278 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
    "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 278 556 "
    "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
    "556 556 500 389 280 389 584")
_WIDTHS = {bold: dict(zip((chr(c) for c in range(32, 127)), map(int, table.split()),
                          strict=True))
           for bold, table in ((False, _HELVETICA), (True, _HELVETICA_BOLD))}
#: Width (1/1000 em) of a character outside ASCII (dashes, minus, ≤, ≥, χ, ²: all narrower).
_OTHER_WIDTH = 600
#: Characters a Word line may break at: spaces only (a no-break space, U+00A0, holds).
_BREAKS = re.compile(r"[ \t\n]+")
#: Left and right cell margin of the report's tables (twentieths of a point; Word's default
#: is 108, 0.075 inch).
CELL_MARGIN_TWIPS = 72
_EMU_PER_PT = 12700
#: Extra room per column (points) for rounding and the renderer's kerning differences.
_SLACK_PT = 1.5


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` set in Arial (Helvetica metrics) at ``size`` points, on
    one line.

    >>> round(text_width("0.05", 10), 2)
    19.46
    >>> text_width("disagree", 8, bold=True) > text_width("disagree", 8)
    True
    """
    widths = _WIDTHS[bold]
    return sum(widths.get(ch, _OTHER_WIDTH) for ch in text) * size / 1000


def _tokens(text: str) -> list[str]:
    return [t for t in _BREAKS.split(text) if t]


def _spans(text: str, size: float, bold: bool) -> tuple[float, float]:
    """(longest unbreakable token, whole text on one line) of ``text``, in points."""
    whole = max((text_width(line, size, bold=bold) for line in text.split("\n")), default=0.0)
    word = max((text_width(t, size, bold=bold) for t in _tokens(text)), default=0.0)
    return word, whole


def column_widths(columns: Sequence[tuple[Sequence[str], Sequence[str]]], text_width_pt: float,
                  size: float, *, stub_share: float = 0.22) -> list[float] | None:
    """Column widths (points, summing to ``text_width_pt``) for a table whose columns are
    given as (header texts in bold, body texts); the first column is the stub (row labels).

    No column is narrower than its longest unbreakable token (a word, a number with its
    symbol: ``<\u00a0.001``), so no word breaks inside itself. The body columns then get the
    width that sets each of their cells on one line, the stub what it needs up to
    ``stub_share`` of the width (its labels wrap at spaces; it gives up to a third of that
    for a body on one line); what is still left goes to the
    stub, then to every column in proportion. When the body cannot be set on one line, the
    room above the minima is shared in proportion to what each column lacks. ``None`` when
    even the minima do not fit at this size (set the table in smaller type).

    >>> cols = [(["Item"], ["Overall quality of care", "Listened to"]),
    ...         (["N (pairs)"], ["135", "125"]), (["p"], ["<\u00a0.001", ".254"])]
    >>> [round(w) for w in column_widths(cols, 300, 8)]
    [169, 65, 66]
    >>> column_widths(cols, 40, 8) is None
    True
    """
    pad = 2 * CELL_MARGIN_TWIPS / 20 + _SLACK_PT
    minimum, want = [], []
    for k, (head, body) in enumerate(columns):
        head_word = max((_spans(h, size, True)[0] for h in head), default=0.0)
        body_spans = [_spans(b, size, False) for b in body]
        body_word = max((w for w, _ in body_spans), default=0.0)
        body_whole = max((w for _, w in body_spans), default=0.0)
        minimum.append(max(head_word, body_word, text_width("000", size)) + pad)
        want.append(max(minimum[-1], body_whole + pad) if k else body_whole + pad)
    total = text_width_pt
    if sum(minimum) > total:
        return None
    body_min, body_want = minimum[1:], want[1:]
    stub = min(want[0], max(minimum[0], total * stub_share))
    # the stub gives up room (down to two thirds of its share) for a body set on one line
    floor = min(want[0], max(minimum[0], total * stub_share * 2 / 3))
    if stub + sum(body_want) > total >= floor + sum(body_want):
        stub = total - sum(body_want)
    elif stub + sum(body_want) > total:
        stub = floor
    room = total - stub - sum(body_min)
    lack = sum(body_want) - sum(body_min)
    out = list(body_min)
    if room < lack:
        # the body wraps somewhere: the columns that lack least are set on one line first
        # (most columns on one line), the rest wrap at their spaces; what is left widens
        # the stub, then every column
        for k in sorted(range(len(out)), key=lambda k: (body_want[k] - body_min[k], k)):
            if body_want[k] - body_min[k] <= room:
                room -= body_want[k] - body_min[k]
                out[k] = body_want[k]
    else:
        out = list(body_want)
    spare = total - stub - sum(out)
    grow = min(spare, want[0] - stub)
    stub += grow
    spare -= grow
    weights = [stub, *out]
    return [w + spare * w / sum(weights) for w in weights]


def _lines(text: str, width: float, size: float, *, bold: bool = False) -> int:
    """How many lines ``text`` takes in a column ``width`` points wide (words wrapped at
    spaces, greedily, as Word does)."""
    space = text_width(" ", size, bold=bold)
    lines, used = 1, 0.0
    for token in _tokens(text):
        w = text_width(token, size, bold=bold)
        if used and used + space + w > width:
            lines, used = lines + 1, w
        else:
            used += (space if used else 0.0) + w
    return lines


def _wrapped_lines(text: str, width: float, size: float, *, bold: bool = False) -> int:
    """:func:`_lines` for text that may hold line breaks (each starts a line)."""
    return sum(_lines(line, width, size, bold=bold) for line in text.split("\n"))


def _score(columns: Sequence[tuple[Sequence[str], Sequence[str]]], widths: Sequence[float],
           size: float) -> tuple[int, int]:
    """(body columns with a cell that wraps, row labels beyond two lines) at ``widths``."""
    pad = 2 * CELL_MARGIN_TWIPS / 20 + _SLACK_PT
    wrapped = sum(max((_spans(b, size, False)[1] for b in body), default=0.0) + pad > w + 1e-6
                  for (_, body), w in zip(columns[1:], widths[1:], strict=True))
    long_labels = sum(_lines(label, widths[0] - pad, size) > 2 for label in columns[0][1])
    return wrapped, long_labels


def fit_font_size(columns: Sequence[tuple[Sequence[str], Sequence[str]]], text_width_pt: float,
                  size: float, *, smallest: float = 7.0) -> tuple[float, list[float]]:
    """The type size from ``size`` down to ``smallest`` (in half points) at which no word
    breaks, the fewest body columns wrap and, among those, the fewest row labels take more
    than two lines (the largest such size), with the column widths at that size
    (:func:`column_widths`); ``smallest`` and equal widths when no size fits.

    >>> cols = [(["Item"], ["Overall quality of care"]), (["Difference"], ["12.3 [4.5, 20.1]"])]
    >>> size, widths = fit_font_size(cols, 100, 10)
    >>> size, [round(w) for w in widths]
    (8.0, [38, 62])
    """
    sizes = [size - 0.5 * k for k in range(int((size - smallest) * 2) + 1)] or [size]
    best: tuple[tuple[int, int], float, list[float]] | None = None
    for s in sizes:
        widths = column_widths(columns, text_width_pt, s)
        if widths is None:
            continue
        score = _score(columns, widths, s)
        if best is None or score < best[0]:
            best = (score, s, widths)
        if score == (0, 0):
            break
    if best is not None:
        return best[1], best[2]
    n = len(columns)
    return sizes[-1], [text_width_pt / n] * n


def set_cell_margins(table: Any, twips: int = CELL_MARGIN_TWIPS) -> None:
    """Left and right cell margins of a python-docx table (``w:tblCellMar``, placed where
    the schema wants it: before ``w:tblLook``)."""
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    mar = _el("w:tblCellMar")
    for side in ("left", "right"):
        mar.append(_el(f"w:{side}", w=str(twips), type="dxa"))
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(mar)
    else:
        tbl_pr.append(mar)


# -- page breaks in tables -----------------------------------------------------------------------
#: Height of one line of Arial (Liberation Sans) at single spacing, per point of type size:
#: (ascent + descent + line gap) / em of the font, 1.149.
LINE_HEIGHT = 1.15
#: Body rows a table longer than a page keeps together at its start (with its header rows)
#: and at its end (with its notes): no page holds fewer of them (a typesetter's widow/orphan
#: rule for table rows).
EDGE_ROWS = 3
#: Share of the page's text height a table with its caption and notes may take and still be
#: kept whole on one page; the rest is room for the estimate's error and the heading or
#: sentence kept with the caption. A longer one is set as a table longer than a page.
WHOLE_SHARE = 0.85


def text_height(section: Any) -> float:
    """The height (points) of a python-docx section's text area: the page less the top and
    bottom margins (the header and footer sit inside them)."""
    return int(section.page_height - section.top_margin - section.bottom_margin) / _EMU_PER_PT


def row_height(texts: Sequence[tuple[str, float]], size: float, *, bold: bool = False) -> float:
    """Estimated height (points) of a table row whose cells hold ``texts`` as (text, column
    width in points) at ``size`` points: its tallest cell's lines at single spacing."""
    pad = 2 * CELL_MARGIN_TWIPS / 20
    lines = max((_wrapped_lines(text, max(width - pad, 1.0), size, bold=bold)
                 for text, width in texts), default=1)
    return lines * size * LINE_HEIGHT


def paragraph_height(text: str, width: float, size: float, *, spacing: float = 1.0,
                     after: float = 0.0) -> float:
    """Estimated height (points) of a paragraph of ``text`` set ``width`` points wide at
    ``size`` points, line spacing ``spacing`` (1.15: Word's "multiple 1.15") and ``after``
    points of space after it."""
    return _wrapped_lines(text, width, size) * size * LINE_HEIGHT * spacing + after


def keep_table_rows(rows: Sequence[Any], header: int, *, whole: bool,
                    edge: int = EDGE_ROWS) -> None:
    """Keep-with-next on the paragraphs of a Word table's rows (``<w:tr>`` elements, the
    first ``header`` of them header rows, already kept with the first body row), so that
    the table breaks across pages as a typesetter breaks it.

    ``whole``: every row but the last is kept with the next one, so a table that fits on a
    page moves to the next page whole rather than split (Word keeps a row with the next one
    when its paragraphs keep with next; LibreOffice 7.4 does the same on import, checked by
    rendering). Otherwise the table may break between rows, but not within its first
    ``edge`` body rows (kept with the header: no header with one or two rows at the foot of a
    page) nor within its last ``edge`` (no page holding only the last row or two). The last
    row is left as it is (kept with the notes by the caller where there are notes).
    """
    from docx.oxml.ns import qn

    n = len(rows)
    body = range(header, n - 1)
    if whole:
        kept = list(body)
    else:
        first = range(header, min(header + edge - 1, n - 1))
        last = range(max(header, n - edge), n - 1)
        kept = sorted(set(first) | set(last))
    tag = qn("w:p")
    for i in kept:
        for p in rows[i].iter(tag):
            p.get_or_add_pPr().keepNext_val = True  # what paragraph_format sets


#: Room kept on a figure's page for its caption (label and title: two lines and spacing).
CAPTION_ROOM_EMU = int(2.5 / 2.54 * 914400)


def png_size(path: Any) -> tuple[int, int]:
    """A PNG's width and height in pixels (its IHDR chunk)."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def fitted_size(size: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """The largest (width, height) in EMU of a picture of ``size`` pixels, in proportion,
    within ``width`` x ``height``: a tall figure (the Likert bars of 25 items) fits on one
    page below its caption, instead of leaving the caption alone at the foot of the page
    before."""
    w_px, h_px = size
    if w_px <= 0 or h_px <= 0:
        return width, height
    scale = min(width / w_px, height / h_px)
    return int(w_px * scale), int(h_px * scale)


def add_figure_picture(doc: Any, png: Any) -> Any:
    """The figure's PNG as wide as the text, or less where it would not fit on a page
    under its caption (:data:`CAPTION_ROOM_EMU`)."""
    from docx.shared import Emu

    sec = doc.sections[-1]
    width = min(int(6.3 * 914400), int(sec.page_width - sec.left_margin - sec.right_margin))
    height = int(sec.page_height - sec.top_margin - sec.bottom_margin) - CAPTION_ROOM_EMU
    w, h = fitted_size(png_size(png), width, height)
    return doc.add_picture(str(png), width=Emu(w), height=Emu(h))
