"""Renderers: a :class:`PublicationTable` to HTML, LaTeX, Markdown, Word and Excel (private).

Renderers lay out display strings; they never compute or reformat a number. Every output is
deterministic: the same table gives byte-identical files (no random ids, no timestamps: Word
and Excel files are zip archives whose entries get a fixed date, and their document
properties a fixed creation date).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import CrisisSurveyError
from .._memo import cached
from ._safe import assert_offline, latex_escape, markdown_escape, neutral_cell

if TYPE_CHECKING:
    from ._tables import PublicationTable

__all__ = [
    "FIXED_DATE",
    "TABLE_FORMATS",
    "html_document",
    "latex_escape",
    "save_table",
    "to_csv",
    "to_docx",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_xlsx",
]

#: Date written into Word/Excel document properties and zip entries (for reproducibility).
FIXED_DATE = dt.datetime(2000, 1, 1, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TABLE_FORMATS: tuple[str, ...] = ("html", "tex", "md", "docx", "xlsx", "csv")


def _header_rows(table: PublicationTable) -> list[list[tuple[str, int]]]:
    """Header rows as (text, colspan) over the stub + body columns.

    One row of spanners (when any), then the column labels.
    """
    body = table.body_columns
    rows: list[list[tuple[str, int]]] = []
    if table.spanners:
        rows.append([("", 1), *((label, len(run)) for label, run in table.spanner_runs())])
    rows.append([(table.label(table.stub) if table.stub in table.column_labels else "", 1)]
                + [(table.label(c), 1) for c in body])
    return rows


def _body(table: PublicationTable) -> Iterable[tuple[str | None, list[str]]]:
    """Yield (row-group label when a new group starts, else None; [stub, cells...])."""
    current: object = object()
    for rec in table.data.to_dict("records"):
        group = str(rec[table.row_group]) if table.row_group else None
        start = group if (group is not None and group != current and group != "") else None
        if table.row_group:
            current = group
        yield start, [str(rec[table.stub]), *(str(rec[c]) for c in table.body_columns)]


# -- Markdown ---------------------------------------------------------------------------------
def to_markdown(table: PublicationTable) -> str:
    """GitHub-flavoured Markdown: bold number, italic title, a pipe table, notes.

    Spanners are folded into the column labels (``Wave 1 (2014): Carer``), since Markdown
    tables have one header row; row groups become bold rows.

    Parameters
    ----------
    table
        The table to render.

    Returns
    -------
    str
        The Markdown text (also what ``str(table)`` gives).

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> print("\\n".join(to_markdown(table).splitlines()[:8]))
    **Table 2**
    <BLANKLINE>
    *Linkage of respondents across the two survey waves*
    <BLANKLINE>
    |  | All | Service user | Carer |
    |:---|---:|---:|---:|
    | **Wave 1 (2014)** |  |  |  |
    | Respondents (rows kept) | 658 | 456 | 202 |
    """
    lines: list[str] = []
    if table.heading:
        lines.append(f"**{table.heading}**")
        lines.append("")
    lines.append(f"*{markdown_escape(table.title)}*")
    lines.append("")
    head = [markdown_escape(table.label(table.stub)) if table.stub in table.column_labels else ""]
    for c in table.body_columns:
        sp = table.spanner_of(c)
        label = table.label(c)
        head.append(markdown_escape(f"{sp}: {label}" if sp else label))
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * len(table.body_columns)) + "|")
    width = len(head)
    for group, cells in _body(table):
        if group is not None:
            lines.append("| " + " | ".join([f"**{markdown_escape(group)}**"] + [""] * (width - 1))
                         + " |")
        lines.append("| " + " | ".join(markdown_escape(c) for c in cells) + " |")
    if table.notes:
        lines.append("")
        lines.append("*Note.* " + " ".join(markdown_escape(n) for n in table.notes))
    return "\n".join(lines) + "\n"


# -- HTML (great_tables) ----------------------------------------------------------------------
def to_html(table: PublicationTable) -> str:
    """A self-contained HTML fragment made with great_tables (inline CSS, system fonts only).

    The table id is the table's name, so the output is the same on every run.

    Parameters
    ----------
    table
        The table to render.

    Returns
    -------
    str
        A ``<div>`` holding the table and its scoped CSS.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> fragment = to_html(table)
    >>> fragment.startswith('<div id="cs_linkage"'), "Table 2" in fragment
    (True, True)
    """
    # inside a report run (crisis_survey._memo.memo_run) each table object is rendered
    # once: the report writes it as tables/NAME.html and again inside report.html, and
    # great_tables takes 0.04-0.2 s a table (tables are frozen: same object, same HTML)
    return cached(_to_html, table)


def _to_html(table: PublicationTable) -> str:
    """great_tables' HTML with the body rows written here, in one pass over the rows.

    great_tables lays out the header, the notes and the CSS (the look of every table); its
    body takes time growing with the square of the rows (4.3 / 15.6 / 79 s at 1,000 / 2,000
    / 4,000 rows of a by-area comparison table), so it renders the table without rows and
    :func:`_html_rows` writes them as great_tables does: the same elements, classes, ids and
    ``headers``, escaped the same way. :func:`_to_html_reference` is the plain great_tables
    rendering, and tests compare the two.
    """
    if table.data.empty:
        return _to_html_reference(table)
    skeleton = _to_html_reference(table, table.data.iloc[:0])
    head, empty, tail = skeleton.partition(_EMPTY_BODY)
    if not empty:  # pragma: no cover - a great_tables whose empty body looks otherwise
        return _to_html_reference(table)
    out: str = assert_offline(head + _html_rows(table) + tail, f"the HTML table {table.name}")
    return out


#: The body great_tables writes for a table without rows.
_EMPTY_BODY = '<tbody class="gt_table_body">\n\n</tbody>'


class _HtmlIds:
    """Element ids as great_tables makes them (``_IdRegistry``): the table id and a dash,
    then the text with every run of characters other than letters, digits, ``_.:-``
    replaced by ``-`` (or ``fallback`` when nothing is left), ``-2``, ``-3``... when taken."""

    def __init__(self, table_id: str) -> None:
        self.prefix = self.clean(table_id) + "-"
        self.used = {table_id}

    @staticmethod
    def clean(text: str) -> str:
        return re.sub(r"[^\w.:-]+", "-", text).strip("-")

    def make(self, text: str, fallback: str) -> str:
        name = self.clean(text) or fallback
        candidate, n = f"{self.prefix}{name}", 2
        while candidate in self.used:
            candidate, n = f"{self.prefix}{name}-{n}", n + 1
        self.used.add(candidate)
        return candidate


def _html_rows(table: PublicationTable) -> str:
    """The ``<tbody>`` of :func:`_to_html_reference` for ``table``, written in one pass:
    rows gathered by row group in the order the groups first appear, a heading row per
    group, each row's label a ``<th>`` with its id and each cell a right-aligned ``<td>``
    listing the ids of its group, its row and its column (and spanner) in ``headers``."""
    esc = html.escape
    ids = _HtmlIds(f"cs_{table.name}")
    body = table.body_columns
    column_ids = {c: ids.make(c, "column") for c in body}
    spanner_ids: dict[str, str] = {}
    above: dict[str, list[str]] = {c: [] for c in body}
    for c in body:  # in column order, as great_tables' matrix of spanners
        label = table.spanner_of(c)
        if label:
            if label not in spanner_ids:
                spanner_ids[label] = ids.make(label, "spanner")
            above[c].append(spanner_ids[label])
    ids.make("title", "title")
    if table.heading:
        ids.make("subtitle", "subtitle")
    data = table.data
    labels = [str(v) for v in data[table.stub]]
    columns = [[esc(str(v)) for v in data[c]] for c in body]
    order: dict[str, list[int]] = {}
    if table.row_group:
        for i, g in enumerate(str(v) for v in data[table.row_group]):
            order.setdefault(g, []).append(i)
    else:
        order[""] = list(range(len(data)))
    width = 1 + len(body)
    scope = "colgroup" if width > 1 else "col"
    tails = [" ".join(x for x in [*above[c], column_ids[c]] if x) for c in body]
    out: list[str] = []
    for group, rows in order.items():
        group_id = None
        if table.row_group:
            group_id = ids.make(group, "group")
            kind = "gt_empty_group_heading" if group == "" else "gt_group_heading_row"
            out.append(f'  <tr class="{kind}">\n    <th class="gt_group_heading" '
                       f'colspan="{width}" scope="{scope}" id="{esc(group_id)}">{esc(group)}'
                       "</th>\n  </tr>")
        for i in rows:
            stub_id = ids.make(f"stub-{i + 1}", "stub")
            lead = f"{group_id} {stub_id}" if group_id else stub_id
            cells = [f'  <tr>\n    <th scope="row" id="{esc(stub_id)}" class="gt_row gt_left '
                     f'gt_stub">{esc(labels[i])}</th>']
            cells += [f'    <td headers="{esc(lead + " " + tail)}" class="gt_row gt_right">'
                      f"{col[i]}</td>" for tail, col in zip(tails, columns, strict=True)]
            out.append("\n".join(cells) + "\n  </tr>")
    return '<tbody class="gt_table_body">\n' + "\n".join(out) + "\n</tbody>"


def _to_html_reference(table: PublicationTable, data: Any = None) -> str:
    """The table (or the table with ``data`` as its rows) rendered by great_tables alone."""
    from great_tables import GT

    # object columns: great_tables writes every formatted cell back into the frame, which
    # costs about a millisecond a cell in a pyarrow-backed string column
    df = (table.data if data is None else data).astype(object)
    labels: dict[str, Any] = {c: table.label(c) for c in table.body_columns}
    gt = GT(df, rowname_col=table.stub, groupname_col=table.row_group,
            id=f"cs_{table.name}")
    # text is escaped here and passed as HTML: never read as Markdown (no link, no image)
    from great_tables import html as gt_html

    title = f"<em>{html.escape(table.title)}</em>"
    if table.heading:
        gt = gt.tab_header(title=gt_html(f"<strong>{html.escape(table.heading)}</strong>"),
                           subtitle=gt_html(title))
    else:
        gt = gt.tab_header(title=gt_html(title))
    for sp in table.spanners:
        gt = gt.tab_spanner(label=sp.label, columns=list(sp.columns), id=_css_id(sp.label))
    gt = gt.cols_label(**labels) if labels else gt
    gt = gt.cols_align(align="right", columns=table.body_columns)
    for i, note in enumerate(table.notes):
        gt = gt.tab_source_note(gt_html(("<em>Note.</em> " if i == 0 else "")
                                        + html.escape(note)))
    gt = gt.tab_options(
        table_font_names=["Arial", "Helvetica", "sans-serif"],
        table_font_size="13px",
        heading_align="left",
        heading_title_font_size="14px",
        heading_subtitle_font_size="14px",
        column_labels_font_weight="bold",
        row_group_font_weight="bold",
        table_border_top_color="#000000",
        table_border_bottom_color="#000000",
        column_labels_border_bottom_color="#000000",
        column_labels_border_top_color="#000000",
        source_notes_font_size="12px",
        data_row_padding="3px",
    )
    # one CSS rule, not a style per body cell: great_tables looks up every cell's styles in
    # the list of all styles, so per-cell styles made the HTML quadratic in the rows
    # (pre: no cell wraps, and a line break in a cell's text, as in the by-area summary's
    # list of areas, shows as one)
    gt = gt.opt_css(f"#cs_{table.name} td.gt_row {{ white-space: pre; }}")
    out: str = assert_offline(gt.as_raw_html(), f"the HTML table {table.name}")
    return out


def _css_id(label: str) -> str:
    return "sp_" + re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_")


def html_document(tables: Sequence[PublicationTable], title: str = "Tables") -> str:
    """A complete, self-contained HTML page holding ``tables``.

    Parameters
    ----------
    tables
        The tables, in order.
    title
        The page title.

    Returns
    -------
    str
        The page (no external resources: it opens offline).

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> page = html_document([table], title="Linkage")
    >>> page.startswith("<!DOCTYPE html>"), "<title>Linkage</title>" in page
    (True, True)
    """
    body = "\n<br/>\n".join(to_html(t) for t in tables)
    return assert_offline(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        f"<title>{html.escape(title)}</title>\n</head>\n<body style=\"background:#fff\">\n"
        f"{body}\n</body>\n</html>\n", f"the HTML page {title!r}"
    )


# -- LaTeX ------------------------------------------------------------------------------------
def to_latex(table: PublicationTable) -> str:
    """A LaTeX ``table`` environment with booktabs rules (needs ``\\usepackage{booktabs}``).

    Spanners become ``\\multicolumn`` headers with ``\\cmidrule``; row groups become
    italic rows; notes follow the tabular in a ``\\parbox``-free ``minipage``-less block.

    Parameters
    ----------
    table
        The table to render.

    Returns
    -------
    str
        The LaTeX source, labelled ``tab:<name>``.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> print(to_latex(table).splitlines()[4])
    \\label{tab:linkage}
    """
    body = table.body_columns
    ncol = 1 + len(body)
    lines = ["\\begin{table}[htbp]", "\\centering", "\\small"]
    caption = latex_escape(table.title)
    if table.heading:
        lines.append(f"\\caption*{{\\textbf{{{latex_escape(table.heading)}}}\\\\"
                     f"\\textit{{{caption}}}}}")
    else:
        lines.append(f"\\caption*{{\\textit{{{caption}}}}}")
    lines.append(f"\\label{{tab:{table.name}}}")
    lines.append("\\begin{tabular}{l" + "r" * len(body) + "}")
    lines.append("\\toprule")
    for k, hrow in enumerate(_header_rows(table)):
        cells = []
        rules = []
        pos = 1
        for text, span in hrow:
            t = latex_escape(text)
            if span > 1 or (k == 0 and table.spanners and text):
                cells.append(f"\\multicolumn{{{span}}}{{c}}{{{t}}}")
                if text:
                    rules.append(f"\\cmidrule(lr){{{pos}-{pos + span - 1}}}")
            else:
                cells.append(t)
            pos += span
        lines.append(" & ".join(cells) + " \\\\")
        if rules:
            lines.append(" ".join(rules))
    lines.append("\\midrule")
    for group, cells in _body(table):
        if group is not None:
            lines.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\textit{{{latex_escape(group)}}}}} \\\\")
        lines.append(" & ".join(latex_escape(c) for c in cells) + " \\\\")
    lines.append("\\bottomrule")
    lines.append("\\end{tabular}")
    if table.notes:
        notes = " ".join(latex_escape(n) for n in table.notes)
        lines.append("\\par\\smallskip")
        lines.append(f"{{\\footnotesize\\raggedright\\textit{{Note.}} {notes}\\par}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


# -- deterministic zip (docx, xlsx) -----------------------------------------------------------
_FIXED_W3CDTF = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ").encode()


def _fix_core(xml: bytes) -> bytes:
    """Set the created/modified dates of ``docProps/core.xml`` to :data:`FIXED_DATE`
    (openpyxl stamps the time of saving into ``modified``)."""
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                  rb"\g<1>" + _FIXED_W3CDTF + rb"\g<2>", xml)


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with every entry dated 1980-01-01, in a fixed order, and the
    document's creation and modification dates fixed."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        first = [n for n in names if n == "[Content_Types].xml"]
        for name in first + sorted(n for n in names if n not in first):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            content = src.read(name)
            if name == "docProps/core.xml":
                content = _fix_core(content)
            dst.writestr(info, content)
    return out.getvalue()


# -- Word -------------------------------------------------------------------------------------
def _docx_border(cell: Any, edge: str, size: int = 8) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:color"), "000000")
    borders.append(el)


def _docx_cells(tr: Any, table: Any) -> list[Any]:
    """The cells of one Word table row, one per grid column (as python-docx's ``_Row.cells``
    gives them for rows without vertical merges), found from the row's own ``<w:tc>``
    elements: ``table.rows[i]`` and ``_Row.cells`` walk the whole table on every access, which
    made writing a table quadratic in its rows."""
    from docx.table import _Cell

    cells: list[Any] = []
    for tc in tr.tc_lst:
        cell = _Cell(tc, table)
        cells += [cell] * tc.grid_span
    return cells


def _docx_merge(tr: Any, table: Any, first: int, last: int) -> Any:
    """Merge grid columns ``first..last`` of one row of fresh one-column cells, as
    ``cell.merge(other)`` does for a horizontal span (widths added, later cells removed,
    content kept in the first), without locating the row in the table (which is linear in
    the rows for every merge)."""
    from docx.table import _Cell

    tcs = tr.tc_lst
    keep = tcs[first]
    for other in tcs[first + 1:last + 1]:
        other._move_content_to(keep)
        keep._add_width_of(other)
        keep.grid_span += other.grid_span
        other._remove()
    keep.vMerge = None
    return _Cell(keep, table)


def _spanned(tr: Any, grid_col: int) -> int:
    """How many ``<w:tc>`` elements before grid column ``grid_col`` were merged away (the
    position of the tc covering it is ``grid_col`` minus this)."""
    extra, col = 0, 0
    for tc in tr.tc_lst:
        if col >= grid_col:
            break
        extra += tc.grid_span - 1
        col += tc.grid_span
    return extra


#: The normal text size of the Word documents (points).
_NORMAL_SIZE = 10.0
#: Characters after which a Word table cell must not break its line: a statistic's symbol
#: stays with its value (``V = 1,493.50``, not ``V =`` over ``1,493.50``).
_NO_BREAK = re.compile(r"(?<=\S) (?=[=<>≤≥] )|(?<=[=<>≤≥]) (?=\S)"
                       r"|(?<=,) (?=[^\[\]\s]*\])")  # and an interval's bounds: [0.4, 20.4]


def _keep_together(text: str) -> str:
    """``text`` with the spaces around ``=``/``<``/``>`` and between an interval's bounds made
    non-breaking (layout only: the characters shown are the same)."""
    return _NO_BREAK.sub("\u00a0", text)


def _fit_columns(table: PublicationTable, header: list[list[tuple[str, int]]],
                 body_rows: list[tuple[str | None, list[str]]], text_width: int,
                 size: float) -> tuple[float, list[int]]:
    """The type size (``size`` or smaller) and the column widths (EMU) at which every cell's
    words fit their column (present/_word.py ``fit_font_size``)."""
    from ._word import fit_font_size

    ncol = 1 + len(table.body_columns)
    heads: list[list[str]] = [[] for _ in range(ncol)]
    for hrow in header:
        c = 0
        for text, span in hrow:
            if span == 1 and text:
                heads[c].append(_keep_together(text))
            c += span
    bodies = [[_keep_together(cells[k]) for _, cells in body_rows] for k in range(ncol)]
    fitted, points = fit_font_size(list(zip(heads, bodies, strict=True)), text_width / 12700,
                                   size, smallest=min(size, 7.0))
    return fitted, [int(p * 12700) for p in points]


def _docx_body_cell(cell: Any, text: str, right: bool) -> None:
    """A body cell's text and alignment, as python-docx sets them (the reference)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    cell.text = text
    if right:
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _docx_finish_cell(cell: Any, width: int, size: float) -> None:
    """A cell's width, then :func:`_docx_spacing`, as python-docx sets them."""
    cell.width = width
    _docx_spacing(cell, size)


def _docx_spacing(cell: Any, size: float) -> None:
    """A cell's paragraph spacing and type size, as python-docx sets them."""
    from docx.shared import Pt

    for para in cell.paragraphs:
        fmt = para.paragraph_format
        fmt.space_after = 0
        fmt.space_before = 0
        fmt.line_spacing = 1.0
        if size != _NORMAL_SIZE:
            for run in para.runs:
                run.font.size = Pt(size)


class _DocxBodyCells:
    """Body cells made by copying, per column, one cell python-docx made with the same
    operations (:func:`_docx_body_cell`, then :func:`_docx_finish_cell`) and putting the
    text in: the same XML, without python-docx's lookups per property (most of the Word
    writers' time). Texts python-docx writes otherwise (empty, tabs, line breaks) are left
    to it; ``tests/test_docx_cells.py`` compares the documents with the plain path's."""

    def __init__(self, fresh_tc: Any, table: Any, widths: Sequence[int], size: float) -> None:
        import copy

        from docx.oxml.ns import qn
        from docx.table import _Cell

        self._copy = copy.deepcopy
        self._space = qn("xml:space")
        self._t = qn("w:t")
        self.templates = []
        for c, width in enumerate(widths):
            cell = _Cell(copy.deepcopy(fresh_tc), table)
            _docx_body_cell(cell, "x", c > 0)
            _docx_finish_cell(cell, width, size)
            self.templates.append(cell._tc)

    @staticmethod
    def plain(text: str) -> bool:
        """Whether python-docx writes ``text`` as one ``<w:t>`` (what a copy holds)."""
        return bool(text) and not any(ch in text for ch in "\t\n\r")

    def fill(self, tr: Any, texts: Sequence[str]) -> None:
        """Replace the fresh cells of row ``tr`` by the finished cells holding ``texts``."""
        for old, template, text in zip(list(tr.tc_lst), self.templates, texts, strict=True):
            tc = self._copy(template)
            t = next(tc.iter(self._t))
            t.text = text
            if len(text.strip()) < len(text):
                t.set(self._space, "preserve")
            tr.replace(old, tc)


def _docx_table_height(table: PublicationTable, header: list[list[tuple[str, int]]],
                       body_rows: list[tuple[str | None, list[str]]], widths: Sequence[int],
                       size: float, page_width: int) -> float:
    """Estimated height (points) of a Word table as :func:`add_docx_table` sets it: its
    caption, header rows, body rows and notes (present/_word.py ``row_height``)."""
    from ._word import paragraph_height, row_height

    emu = 12700
    width = page_width / emu
    cols = [w / emu for w in widths]
    if table.number is not None:  # "Table 3", then the title, single spaced, 10 pt after
        height = paragraph_height(f"Table {table.number}\n{table.title}", width, _NORMAL_SIZE,
                                  after=10.0)
    else:
        height = paragraph_height(table.title, width, _NORMAL_SIZE, spacing=1.15, after=10.0)
    for hrow in header:
        texts, c = [], 0
        for text, span in hrow:
            texts.append((_keep_together(text), sum(cols[c:c + span])))
            c += span
        height += row_height(texts, size, bold=True)
    for group, cells in body_rows:
        if group is not None:
            height += row_height([(group, width)], size)
        height += row_height([(_keep_together(t), w) for t, w in zip(cells, cols, strict=False)],
                             size)
    for i, note in enumerate(table.notes):
        height += paragraph_height(("Note. " if i == 0 else "") + note, width, 9.0,
                                   spacing=1.15, after=2.0)
    return height


def add_docx_table(doc: Any, table: PublicationTable, *, font_size: float | None = None,
                   copies: bool = True) -> None:
    """Append ``table`` to a python-docx ``Document`` as a real Word table, APA layout.

    The caption (``Table 3``, a ``SEQ Table`` field inside a bookmark, so the list of tables
    and cross-references find it; then the italic title) is kept with the table. The header
    row(s) are bold with rules above and below and repeated on each page; no row breaks
    across pages; notes follow in a smaller font. A table that fits on its page (estimated
    from the fitted column widths) keeps every row with the next, so it moves to the next
    page whole rather than split; a longer one may break between rows, but keeps its first
    three body rows with the header and its last three together, its notes then set in a
    last row of one cell (present/_word.py ``keep_table_rows``). ``font_size`` (points) sets
    the size of
    the table's cells (default: the document's normal size). Column widths follow the
    longest cell of each column. With ``copies`` (the default) the body rows are copies of
    finished cells (:class:`_DocxBodyCells`); ``copies=False`` has python-docx make every
    cell (the reference, the same XML).
    """
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    from ._word import WHOLE_SHARE, add_caption, keep_table_rows, set_cell_margins, text_height

    border = _docx_border
    if table.number is not None:
        add_caption(doc, "Table", table.number, table.title, table.name)
    else:
        p = doc.add_paragraph()
        p.add_run(table.title).italic = True
        p.paragraph_format.keep_with_next = True
    header = _header_rows(table)
    body_rows = list(_body(table))
    n_rows = len(header) + sum(1 + (g is not None) for g, _ in body_rows)
    ncol = 1 + len(table.body_columns)
    sec = doc.sections[-1]
    page_width = sec.page_width - sec.left_margin - sec.right_margin
    size, widths = _fit_columns(table, header, body_rows, page_width, font_size or _NORMAL_SIZE)
    # a table that fits on the page moves to the next page whole; a longer one breaks, but
    # never leaves fewer than EDGE_ROWS body rows at the foot of a page or the top of the next
    whole = (_docx_table_height(table, header, body_rows, widths, size, page_width)
             <= WHOLE_SHARE * text_height(sec))
    # the notes of a table that may break go into a last row of its own: LibreOffice keeps
    # rows with rows, but not a broken table's last rows with the paragraph after it
    in_table = bool(table.notes) and not whole
    wt = doc.add_table(rows=n_rows + in_table, cols=ncol)
    wt.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_cell_margins(wt)
    trs = list(wt._tbl.tr_lst)
    made = (_DocxBodyCells(trs[-1].tc_lst[0], wt, widths[:ncol], size)
            if copies and len(widths) >= ncol else None)
    finished: set[int] = set()  # rows whose cells are finished copies
    for tr in trs:  # a row is never split across two pages
        tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    r = 0
    for k, hrow in enumerate(header):
        tr = trs[r]
        tr_pr = tr.get_or_add_trPr()
        rep = OxmlElement("w:tblHeader")
        rep.set(qn("w:val"), "true")
        tr_pr.append(rep)
        c = 0
        for text, span in hrow:
            cell = (_docx_merge(tr, wt, c - _spanned(tr, c), c - _spanned(tr, c) + span - 1)
                    if span > 1 else _docx_cells(tr, wt)[c])
            cell.text = _keep_together(text)
            for para in cell.paragraphs:
                para.alignment = (WD_ALIGN_PARAGRAPH.CENTER if (k < len(header) - 1 or c)
                                  else WD_ALIGN_PARAGRAPH.LEFT)
                para.paragraph_format.keep_with_next = True
                for run in para.runs:
                    run.bold = True
            if k == 0:
                border(cell, "top", 12)
            if k == len(header) - 1:
                border(cell, "bottom")
            elif text:
                border(cell, "bottom", 4)
            c += span
        r += 1
    for group, cells in body_rows:
        if group is not None:
            merged = _docx_merge(trs[r], wt, 0, ncol - 1)
            merged.text = group
            merged.paragraphs[0].paragraph_format.keep_with_next = True  # with its first row
            for run in merged.paragraphs[0].runs:
                run.italic = True
            r += 1
        texts = [_keep_together(text) for text in cells]
        if made is not None and len(texts) == ncol and all(map(made.plain, texts)):
            made.fill(trs[r], texts)
            finished.add(r)
        else:
            row_cells = _docx_cells(trs[r], wt)
            for c, text in enumerate(texts):
                _docx_body_cell(row_cells[c], text, c > 0)
        r += 1
    for cell in _docx_cells(trs[n_rows - 1], wt):
        border(cell, "bottom", 12)
    notes_row = trs.pop() if in_table else None
    wt.autofit = False
    for wcol, width in zip(wt.columns, widths, strict=False):
        wcol.width = width  # the grid (LibreOffice reads this)
    grid = [_docx_cells(tr, wt) for tr in trs]
    for i, row_cells in enumerate(grid):
        if i not in finished:
            for wcell, width in zip(row_cells, widths, strict=False):
                wcell.width = width
    for i, row_cells in enumerate(grid):
        if i not in finished:
            for wcell in row_cells:
                _docx_spacing(wcell, size)
    keep_table_rows(trs, len(header), whole=whole)
    if table.notes:  # the last row goes with the notes: no page of notes alone
        for wcell in grid[-1]:
            for para in wcell.paragraphs:
                para.paragraph_format.keep_with_next = True
    notes_cell = None
    if notes_row is not None:
        notes_cell = _docx_merge(notes_row, wt, 0, ncol - 1)
        notes_cell.width = sum(widths[:ncol])
    for i, note in enumerate(table.notes):
        if notes_cell is None:
            p = doc.add_paragraph()
        else:
            p = notes_cell.paragraphs[0] if i == 0 else notes_cell.add_paragraph()
        if i < len(table.notes) - 1 and notes_cell is None:
            p.paragraph_format.keep_with_next = True
        if i == 0:
            p.add_run("Note. ").italic = True
        run = p.add_run(note)
        run.font.size = Pt(9)
        p.paragraph_format.space_after = Pt(2)
    if not table.notes or notes_cell is not None:
        doc.add_paragraph().paragraph_format.space_after = Pt(2)


def to_docx(tables: PublicationTable | Sequence[PublicationTable]) -> bytes:
    """A Word document (bytes) with each table as a real Word table, APA layout.

    Document properties carry a fixed date, so the same tables give the same bytes.

    Parameters
    ----------
    tables
        One table or several (one after the other, each with its number, title and notes).

    Returns
    -------
    bytes
        The ``.docx`` file's content.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> data = to_docx(table)
    >>> data[:2], data == to_docx(table)
    (b'PK', True)
    """
    items = [tables] if not isinstance(tables, Sequence) else list(tables)
    doc = new_document()
    for n, table in enumerate(items):
        if n:
            doc.add_paragraph()
        add_docx_table(doc, table)
    buf = io.BytesIO()
    doc.save(buf)
    return _normalise_zip(buf.getvalue())


def new_document(title: str = "", *, paper: str = "A4", language: str = "en-GB") -> Any:
    """A python-docx Document with fixed dates and author (so saves are reproducible),
    Arial 10 pt as the normal style, ``paper`` (``"A4"`` or ``"letter"``) with 2.54 cm
    margins and ``language`` (a tag such as ``"en-GB"``) as the language of every style."""
    from docx import Document
    from docx.shared import Pt, RGBColor

    from ._word import set_page_setup

    doc = Document()
    set_page_setup(doc, paper=paper, language=language)
    props = doc.core_properties
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_printed = FIXED_DATE
    props.author = "crisis_survey"
    props.last_modified_by = "crisis_survey"
    props.revision = 1
    props.title = title
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(_NORMAL_SIZE)
    caption = doc.styles["Caption"]  # APA: black, the size of the text, not bold
    caption.font.size = Pt(_NORMAL_SIZE)
    caption.font.bold = False
    caption.font.color.rgb = RGBColor(0, 0, 0)
    return doc


# -- Excel ------------------------------------------------------------------------------------
def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "table"
    out, k = base, 1
    while out in used:
        k += 1
        out = f"{base[:28]}_{k}"
    used.add(out)
    return out


def to_xlsx(tables: PublicationTable | Sequence[PublicationTable]) -> bytes:
    """An Excel workbook (bytes): one sheet per table with its title, header and notes.

    Numbers are stored as numbers with a number format in the table's journal style
    (:meth:`PublicationTable.sheet`): a cell showing several numbers (``n (%)``, an
    estimate with its interval) becomes one column per number. Withheld cells hold the
    text marker the other formats show (``[c]``, ``–``, or a p-value band such as
    ``< .05``), missing values ``—``; labels are text, neutralised against formula
    injection. Workbook properties carry a fixed date, so the same tables give the same
    bytes.

    Parameters
    ----------
    tables
        One table or several (one sheet each, named after the table).

    Returns
    -------
    bytes
        The ``.xlsx`` file's content.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> data = to_xlsx(table)
    >>> data[:2], data == to_xlsx(table)
    (b'PK', True)
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    items = [tables] if not isinstance(tables, Sequence) else list(tables)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.created = FIXED_DATE
    wb.properties.modified = FIXED_DATE
    wb.properties.creator = "crisis_survey"
    thin = Side(style="thin", color="000000")
    used: set[str] = set()
    for table in items:
        ws = wb.create_sheet(_sheet_name(table.name, used))
        r = 1
        if table.heading:
            ws.cell(r, 1, neutral_cell(table.heading)).font = Font(bold=True)
            r += 1
        ws.cell(r, 1, neutral_cell(table.title)).font = Font(italic=True)
        r += 2
        header, body = table.sheet()
        for hrow in header:
            c = 1
            for text, span in hrow:
                cell = ws.cell(r, c, neutral_cell(text) or None)
                cell.font = Font(bold=True)
                cell.alignment = Alignment(horizontal="center" if c > 1 else "left",
                                           wrap_text=True)
                cell.border = Border(bottom=thin)
                if span > 1:
                    ws.merge_cells(start_row=r, start_column=c, end_row=r,
                                   end_column=c + span - 1)
                c += span
            r += 1
        for group, cells in body:
            if group is not None:
                ws.cell(r, 1, neutral_cell(group)).font = Font(italic=True)
                r += 1
            for c, (value, number_format) in enumerate(cells, start=1):
                # numbers as numbers with their format; text (labels, withheld markers)
                # neutralised against formula injection
                cell = ws.cell(r, c, value if number_format else neutral_cell(str(value)))
                if number_format:
                    cell.number_format = number_format
                if c > 1:
                    cell.alignment = Alignment(horizontal="right")
            r += 1
        r += 1
        for i, note in enumerate(table.notes):
            ws.cell(r, 1, neutral_cell(("Note. " if i == 0 else "") + note))
            r += 1
        ws.column_dimensions["A"].width = max(
            [len(str(v)) for v in table.data[table.stub]] + [12]) + 2
        for k in range(max((len(cells) for _, cells in body), default=1) - 1):
            letter = ws.cell(1, k + 2).column_letter
            ws.column_dimensions[letter].width = 12
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue())


# -- CSV --------------------------------------------------------------------------------------
def to_csv(table: PublicationTable) -> str:
    """The table as one CSV sheet of data: a header line, then one line per row.

    The columns are those of :func:`to_xlsx` (:meth:`PublicationTable.sheet`: a cell
    showing several numbers, ``n (%)`` or an estimate with its interval, is one column per
    number), each headed by its spanner, label and part joined by ``": "``
    (``Wave 1 (2014): Carer: %``); a table with row groups gets the group of each row as
    its first column. Numbers are written as shown (the published rounding) without
    thousands separators (``1,493.5`` -> ``1493.5``, ``.29`` -> ``0.29``, ``−0.46`` ->
    ``-0.46``); withheld values (``[c]``, ``–``) are ``[c]``
    (:data:`~crisis_survey.present._format.CSV_WITHHELD`), missing ones (``—``) empty, p-value
    bands (``< .05``) and labels text, neutralised against formula injection. No title and
    no notes: the table's other formats carry them. ``\\n`` line ends, UTF-8.

    Parameters
    ----------
    table
        The table to write.

    Returns
    -------
    str
        The CSV text.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> print("\\n".join(to_csv(linkage_table(load_sample_study())).splitlines()[:3]))
    Wave,Category,All,Service user,Carer
    Wave 1 (2014),Respondents (rows kept),658,456,202
    Wave 1 (2014),Linked (in both waves),231,149,82
    """
    import csv

    from ._disclosure import DERIVED_MARKER, SUPPRESSED_MARKER
    from ._format import CSV_WITHHELD, MISSING

    header, body = table.sheet()
    width = sum(span for _, span in header[-1])
    names: list[list[str]] = [[] for _ in range(width)]
    for hrow in header:
        c = 0
        for text, span in hrow:
            for k in range(c, c + span):
                if text and (not names[k] or names[k][-1] != text):
                    names[k].append(text)
            c += span
    if len(header) > 1 and any(span > 1 for _, span in header[-2]):
        # the parts of a cell split into several columns: a blank part is the cell's symbol
        # (text in every row) or its number
        c = 0
        for _, span in header[-2]:
            for k in range(c, c + span):
                if span > 1 and header[-1][k][0] == "":
                    textual = all(isinstance(cells[k][0], str) for _, cells in body)
                    names[k].append("symbol" if textual else "value")
            c += span
    line = [": ".join(parts) for parts in names]
    line[0] = line[0] or _column_name(table, table.stub)
    lead = [_column_name(table, table.row_group)] if table.row_group else []
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow([neutral_cell(x) for x in lead + line])
    withheld = {SUPPRESSED_MARKER, DERIVED_MARKER}
    group = ""
    for start, cells in body:
        if start is not None:
            group = start
        row: list[str] = [neutral_cell(group)] if table.row_group else []
        for value, fmt in cells:
            if fmt is not None and not isinstance(value, str):
                decimals = len(fmt.partition(".")[2])
                text = f"{value:.{decimals}f}"
                row.append(text.lstrip("-") if float(text) == 0 else text)  # no "-0.0"
            elif value in withheld:
                row.append(CSV_WITHHELD)
            elif value == MISSING:
                row.append("")
            else:
                row.append(neutral_cell(str(value)))
        out.writerow(row)
    return buf.getvalue()


def _column_name(table: PublicationTable, column: str) -> str:
    """``column``'s label, or its name in words when it has none (``row_group`` -> ``Row
    group``)."""
    label = table.column_labels.get(column, "")
    return label or column.replace("_", " ").capitalize()


# -- saving ---------------------------------------------------------------------------------
def save_table(
    table: PublicationTable,
    path_stem: str | Path,
    formats: Sequence[str] = TABLE_FORMATS,
) -> list[Path]:
    """Write ``table`` as ``path_stem.<ext>`` for each format; return the paths written.

    Formats: ``html`` (self-contained page), ``tex``, ``md``, ``docx``, ``xlsx``, ``csv``.

    Parameters
    ----------
    table
        The table to write.
    path_stem
        Path without extension; missing folders are created.
    formats
        Any of ``"html"``, ``"tex"``, ``"md"``, ``"docx"``, ``"xlsx"``, ``"csv"`` (default:
        all).

    Returns
    -------
    list of pathlib.Path
        The files written, byte-identical on every run.

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey import load_sample_study
    >>> from crisis_survey.present import linkage_table
    >>> table = linkage_table(load_sample_study()).numbered(2)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save_table(table, f"{folder}/table2")
    ...     print([p.name for p in paths])
    ['table2.html', 'table2.tex', 'table2.md', 'table2.docx', 'table2.xlsx', 'table2.csv']
    """
    stem = Path(path_stem)
    unknown = [f for f in formats if f not in TABLE_FORMATS]
    if unknown:
        raise CrisisSurveyError(f"unknown table formats {unknown}; choose from {TABLE_FORMATS}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        path = stem.with_name(stem.name + "." + fmt)
        if fmt == "html":
            path.write_text(html_document([table], table.title), encoding="utf-8")
        elif fmt == "tex":
            path.write_text(to_latex(table), encoding="utf-8")
        elif fmt == "md":
            path.write_text(to_markdown(table), encoding="utf-8")
        elif fmt == "docx":
            path.write_bytes(to_docx(table))
        elif fmt == "csv":
            path.write_text(to_csv(table), encoding="utf-8")
        else:
            path.write_bytes(to_xlsx(table))
        written.append(path)
    return written
