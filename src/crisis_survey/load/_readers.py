"""Reading survey files of every supported format into a raw table (private).

Each reader returns a :class:`RawTable`: the file's cells as read (no type conversion beyond
what the format itself stores), the column names as written in the file and, for every data
row, its row number as a spreadsheet shows it (header row 1, first data row 2). Nothing here
knows about the codebook; a file that cannot be read raises :class:`DataValidationError`
naming the file, never a bare parser traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataValidationError
from ..codebook._frictionless import suggest

__all__ = ["READERS", "PlatformHeader", "RawTable", "file_problem", "platform_header", "read_table"]

#: File extensions read, and the reader of each.
READERS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".sav": "spss",
    ".zsav": "spss",
    ".dta": "stata",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class RawTable:
    """A file's cells as read: ``frame`` (columns as named in the file), ``rows`` (the
    spreadsheet row number of each frame row) and, for SPSS and Stata, the stored value labels
    and user-missing codes.

    ``row_problems`` are problems of rows the reader could not give a frame row (a CSV row
    with too few or too many fields) or of cells it could not read (an Excel formula without
    a saved value), each with its row number: they exclude the row like any cell problem.
    ``skipped_rows`` is how many of them have no frame row (they still count as read).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    format: str
    encoding: str | None = None
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, list[Any]] = field(default_factory=dict)
    row_problems: list[dict[str, Any]] = field(default_factory=list)
    skipped_rows: int = 0
    sheet: str | None = None
    #: grid column position -> frame column position (Excel)
    column_positions: dict[int, int] = field(default_factory=dict)
    #: CSV: (the file has no control bytes but tab and line breaks, it has no quotes)
    clean: tuple[bool, bool] | None = None
    #: the survey platform whose extra header rows were read as headers ("Qualtrics",
    #: "SurveyMonkey"), or None
    platform: str | None = None
    #: column name -> the question text the platform's extra header row gives it
    questions: dict[str, str] = field(default_factory=dict)
    #: CSV read with ``lazy=True``: the parsed columns (a pyarrow Table named as the file
    #: names them), handed to pandas one at a time by :meth:`take`; ``frame`` is then empty
    arrow: Any = None
    _taken: list[pd.Series | None] | None = None

    def column_names(self) -> list[str]:
        """The columns' names as the file writes them."""
        names = self.arrow.column_names if self.arrow is not None else self.frame.columns
        return [str(c) for c in names]

    def row_count(self) -> int:
        """How many data rows were read."""
        return int(self.arrow.num_rows) if self.arrow is not None else len(self.frame)

    def take(self, j: int) -> pd.Series:
        """Column ``j`` as a pandas Series, handed over once: the table lets go of it, so
        that the file's columns and what they are converted into are never all held side by
        side (peak memory, issue 13). After the first ``take``, ``frame`` is empty."""
        if self.arrow is not None:
            import pyarrow as pa

            name = self.arrow.field(j).name
            # a table of the one column converts as the whole table did (a ChunkedArray's
            # own to_pandas makes Python strings of a text column first)
            one = pa.table([self.arrow.column(j)], names=[name])
            self.arrow = self.arrow.set_column(j, name, pa.nulls(self.arrow.num_rows))
            frame = one.to_pandas(split_blocks=True, self_destruct=True, ignore_metadata=True,
                                  types_mapper=_types_mapper)
            del one
            out: pd.Series = frame.iloc[:, 0]
            out.index = pd.RangeIndex(len(out))
            return out
        if self._taken is None:
            self._taken = [self.frame.iloc[:, k] for k in range(self.frame.shape[1])]
            self.frame = self.frame.iloc[:0, :0]
        taken = self._taken[j]
        self._taken[j] = None
        if taken is None:
            raise ValueError(f"column {j} was already taken")
        return taken


def file_problem(
    source: str, problem: str, expected: str, *, column: str | None = None, value: Any = None
) -> dict[str, Any]:
    """One file-level problem row (no row number)."""
    return {"file": source, "row": None, "column": column, "value": value,
            "problem": problem, "expected": expected}


def _fail(source: str, problem: str, expected: str, **kw: Any) -> DataValidationError:
    return DataValidationError([file_problem(source, problem, expected, **kw)])


# -- survey platforms' extra header rows ------------------------------------------------
#: Qualtrics writes a third header row of JSON import ids: {"ImportId":"QID3"}
_IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:', re.I)
#: SurveyMonkey's second header row: "Response" under a single-answer question
_SM_RESPONSE = frozenset({"response", "open-ended response", "open ended response"})


@dataclass(frozen=True)
class PlatformHeader:
    """What a survey platform's extra header rows say: ``rows`` of them sit below the names
    row (they are headers, not respondents), the column ``names`` to use, and the question
    text of each column where a row gives one."""

    platform: str
    rows: int
    names: list[str]
    questions: dict[str, str]


def _texts(row: Sequence[Any]) -> list[str]:
    out = []
    for v in row:
        text = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
        out.append(text)
    return out


def platform_header(header: Sequence[Any], below: Sequence[Sequence[Any]]
                    ) -> PlatformHeader | None:
    """The extra header rows of a Qualtrics or SurveyMonkey export, or None.

    ``header`` is the names row, ``below`` the (up to two) rows under it. Qualtrics writes
    the question text in row 2 and ``{"ImportId": ...}`` in row 3 (older exports: the import
    ids in row 2); SurveyMonkey names a question once over all its columns in row 1 and the
    answer option (or "Response") of each column in row 2, so each column is named
    "question - option" (or the question alone). Both are found by what those rows hold,
    never by column names, and only when nearly every cell says so.

    Examples
    --------
    >>> h = platform_header(["ResponseId", "Q1"], [["Response ID", "How was it?"],
    ...                     ['{"ImportId":"_recordId"}', '{"ImportId":"QID1"}']])
    >>> h.platform, h.rows, h.questions
    ('Qualtrics', 2, {'ResponseId': 'Response ID', 'Q1': 'How was it?'})
    >>> h = platform_header(["Respondent ID", "Which services?", ""],
    ...                     [["", "GP", "Police"]])
    >>> h is None   # no "Response" cell: not recognisably SurveyMonkey's
    True
    >>> h = platform_header(["Respondent ID", "I am a", "Which services?", ""],
    ...                     [["", "Response", "GP", "Police"]])
    >>> h.platform, h.names[2:]
    ('SurveyMonkey', ['Which services? - GP', 'Which services? - Police'])
    """
    names = _texts(header)
    rows = [_texts(r)[:len(names)] for r in below[:2]]
    for k in (2, 1):
        if len(rows) < k:
            continue
        cells = [v for v in rows[k - 1] if v]
        ids = sum(bool(_IMPORT_ID.match(v)) for v in cells)
        if cells and ids >= max(1.0, 0.8 * len(cells)):
            texts = {n: q for n, q in zip(names, rows[0], strict=False)
                     if k == 2 and n and q and q != n}
            return PlatformHeader("Qualtrics", k, names, texts)
    if not rows:
        return None
    sub = rows[0] + [""] * (len(names) - len(rows[0]))
    # the respondent id column is blank in that row (a respondent's row never is)
    if sub[0] or not any(v.lower() in _SM_RESPONSE for v in sub):
        return None
    # a question's columns: its named column and the unnamed ones after it
    out: list[str] = []
    questions: dict[str, str] = {}
    start = 0
    for j in range(len(names) + 1):
        if j < len(names) and (not names[j] and j > 0):
            continue
        span = range(start, j)
        if len(span):
            q = names[start]
            for i in span:
                option = sub[i]
                if not option or option.lower() in _SM_RESPONSE:
                    name = q if len(span) == 1 or i == start else f"{q} ({i - start + 1})"
                else:  # a matrix row or an option, even a question's only one
                    name = f"{q} - {option}"
                out.append(name)
                if name != q:
                    questions[name] = q
        start = j
    seen: dict[str, int] = {}
    unique = []
    for n in out:  # a question asked twice gets its second columns numbered
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return PlatformHeader("SurveyMonkey", 1, unique, questions)


def _types_mapper(arrow_type: Any) -> Any:
    """How parsed CSV columns become pandas ones: small whole-number codes as nullable Int8
    or Int16, the others as pyarrow converts them."""
    import pyarrow as pa

    if arrow_type == pa.int8():
        return pd.Int8Dtype()
    return pd.Int16Dtype() if arrow_type == pa.int16() else None


# -- text files ----------------------------------------------------------------------------
#: Magic numbers of binary formats that are sometimes renamed .csv.
_BINARY_MAGIC = (b"PK\x03\x04", b"PAR1", b"$FL2", b"$FL3", b"\xd0\xcf\x11\xe0", b"\x1f\x8b",
                 b"\x89PNG", b"%PDF")


#: Every byte but the control characters other than tab and line breaks (bytes.translate
#: deletes these, leaving only the control bytes: a fast test over the whole file).
_NOT_CONTROL = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\t\n\r"


def _known_encoding(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def _check_encoding(source: str, encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _fail(source, "unknown text encoding", "an encoding Python knows, e.g. "
                    "'utf-8', 'cp1252', 'latin-1'", value=encoding) from None


def _looks_binary(raw: bytes) -> bool:
    head = raw[:4096]
    return head.startswith(_BINARY_MAGIC) or head.count(b"\x00") > len(head) // 10


def _delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _utf8(raw: bytes, source: str, encoding: str | None) -> tuple[bytes, str]:
    """The bytes as UTF-8 for the parser, and the encoding the file was read in.

    UTF-8 (with or without BOM) is passed through untouched (the parser checks it); UTF-16
    with a BOM, an explicit non-UTF-8 ``encoding``, or (when the parser finds the bytes are
    not UTF-8) Windows-1252 as Excel writes it, are decoded here."""
    if encoding is not None:
        _check_encoding(source, encoding)
        if codecs.lookup(encoding).name == "utf-8":
            return raw, encoding
        try:
            return raw.decode(encoding).encode("utf-8"), encoding
        except UnicodeDecodeError as exc:
            raise _fail(source, f"the file is not valid {encoding} text (byte {exc.start})",
                        "text in the encoding given, or leave encoding=None to detect it",
                        value=encoding) from None
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):], "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            pass
    if _looks_binary(raw):
        raise _fail(source, "the file is not text (it holds binary data)",
                    "a CSV text file; for Excel, SPSS, Stata or Parquet use the matching "
                    "extension")
    return raw, "utf-8"


def _cp1252(raw: bytes, source: str) -> bytes:
    try:
        return raw.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        raise _fail(source, "the text encoding could not be recognised",
                    "UTF-8 or Windows-1252 (Excel) text, or pass encoding=") from None


def _header(data: bytes, sep: str) -> tuple[list[str], int]:
    """The header's cells and how many physical lines precede the first data line."""
    start = 0
    skipped = 0
    while True:
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start:end]
        if line.strip(b"\r\n\t ,;|") or end < 0:
            break
        start = end + 1
        skipped += 1
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    cells = next(csv.reader([text], delimiter=sep), [])
    return cells, skipped + 1


def _records_after(data: bytes, sep: str, lines: int, count: int) -> list[list[str]]:
    """The first ``count`` CSV records after ``lines`` physical lines (a quoted value may
    hold a line break, as a platform's question text often does)."""
    start = 0
    for _ in range(lines):
        end = data.find(b"\n", start)
        if end < 0:
            return []
        start = end + 1
    text = data[start:].decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out: list[list[str]] = []
    try:
        for record in reader:
            out.append(record)
            if len(out) == count:
                break
    except csv.Error:
        pass
    return out


def _ragged_rows(data: bytes, sep: str, width: int, lines_before: int
                 ) -> list[tuple[int, int, str]]:
    """(spreadsheet row, fields, text) of every row whose field count differs from the
    header's; the parser skips them without saying where they are.

    Rows are counted as records (a quoted value may hold a newline), as pandas and Excel
    count them. The file is scanned once with the csv module; this runs only when some row
    has the wrong number of fields."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    found: list[tuple[int, int, str]] = []
    for i, record in enumerate(reader):
        if i >= lines_before and record and len(record) != width:
            found.append((i + 1, len(record), sep.join(record)))
    return found


def _scan(path: Path) -> tuple[bool, bool]:
    """(no control bytes but tab and line breaks, no quotes) of a file, read in blocks."""
    clean, unquoted = True, True
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            clean = clean and not block.translate(None, _NOT_CONTROL)
            unquoted = unquoted and b'"' not in block
            if not clean and not unquoted:
                break
    return clean, unquoted


def _read_csv(raw: bytes | Path, source: str, suffix: str, encoding: str | None,
              plain: Callable[[str], bool], small_int: Callable[[str], int],
              lazy: bool = False) -> RawTable:
    """Parse a CSV file with pyarrow's multi-threaded reader.

    Given a path (the usual case), a UTF-8 file is parsed from disk in blocks, never held
    whole in memory; other encodings are transcoded to UTF-8 in memory first."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = raw if isinstance(raw, Path) else None
    if path is not None:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
        whole: bytes | None = None
        transcode = encoding is not None and (
            not _known_encoding(encoding) or codecs.lookup(encoding).name != "utf-8")
        if transcode or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            whole = path.read_bytes()
            data, used = _utf8(whole, source, encoding)
        else:
            data, used = _utf8(head, source, encoding)  # checks only; parsed from disk
    else:
        assert isinstance(raw, bytes)
        whole = raw
        data, used = _utf8(raw, source, encoding)
    on_disk = path is not None and whole is None
    if not data.strip():
        raise _fail(source, "the file is empty", "a header row naming the columns, then data")
    head_text = data[:65536]
    if head_text.startswith(codecs.BOM_UTF8):
        head_text = head_text[len(codecs.BOM_UTF8):]
    sep = _delimiter(head_text.decode("utf-8", errors="replace"), suffix)
    header, lines_before = _header(head_text if on_disk else data, sep)
    extra = platform_header(header, _records_after(head_text, sep, lines_before, 2))
    skip_after = 0
    if extra is not None:  # a platform's extra header rows are headers, not respondents
        header, skip_after = extra.names, extra.rows
    width = len(header)
    names = [f"c{j}" for j in range(width)]
    ragged: list[int] = []

    def on_invalid(row: Any) -> str:
        ragged.append(int(row.actual_columns))
        return "skip"

    # Answers coded as small whole numbers (the codebook says so) are parsed as int8 (codes
    # -128 to 127) or int16 by the multi-threaded parser (a column holding a larger number is
    # parsed as int16, as it was before int8 was tried: issue 13, a byte a cell less) and
    # become Categoricals of their codes without hashing; other
    # answers (labels, dates, text codes) are read dictionary-encoded, so their few distinct
    # values are matched once; identifiers and free text as plain strings. A column the
    # codebook calls integer that holds labels is found in a sample of the file first, or
    # by the parser's conversion error, and read dictionary-encoded instead.
    coded = pa.dictionary(pa.int32(), pa.string())
    narrow = {8: pa.int8(), 16: pa.int16()}
    types = {n: (pa.string() if plain(h.strip()) else narrow.get(int(small_int(h.strip())),
                                                                   coded))
             for n, h in zip(names, header, strict=True)}
    ints = [n for n, t in types.items() if t in (pa.int8(), pa.int16())]

    def wider(n: str) -> None:
        """A column the parser could not read as its integer type: int8 -> int16 -> text."""
        types[n] = pa.int16() if types[n] == pa.int8() else coded

    def parse(buffer: bytes | None, sample: bool = False) -> Any:
        ragged.clear()
        return pacsv.read_csv(
            pa.BufferReader(buffer) if buffer is not None else str(path),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=lines_before,
                                           skip_rows_after_names=skip_after,
                                           use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names} if sample else types,
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True),
        )

    if ints:
        sample_bytes = data if not on_disk else head
        cut = sample_bytes.rfind(b"\n", 0, 1 << 20) if len(sample_bytes) >= 1 << 20 else \
            len(sample_bytes)
        try:
            sampled = parse(sample_bytes[:cut], sample=True)
            for n in ints:
                while types[n] != coded:
                    try:
                        sampled.column(n).cast(types[n])
                        break
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        wider(n)
        except pa.ArrowInvalid:
            pass  # the full parse below reports it

    def parse_all(buffer: bytes | None) -> Any:
        for _ in range(2 * width + 1):
            try:
                return parse(buffer)
            except pa.ArrowInvalid as exc:
                found = re.search(r"CSV column #(\d+): CSV conversion error to int(8|16)",
                                  str(exc))
                if not found:
                    raise
                wider(names[int(found.group(1))])
        return parse(buffer)

    try:
        try:
            table = parse_all(None if on_disk else data)
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc) or encoding is not None or used != "utf-8":
                raise
            whole = whole if whole is not None else path.read_bytes()  # type: ignore[union-attr]
            data, used, on_disk = _cp1252(whole, source), "cp1252", False
            table = parse_all(data)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise _fail(source, f"the file is not valid {encoding or used} text ({exc})",
                        "text in the encoding given, or leave encoding=None to detect it",
                        value=encoding) from None
        raise _fail(source, f"the file cannot be read as CSV ({exc})", "a CSV file") from None
    del raw, whole
    if not width or (width == 1 and not header[0].strip() and table.num_rows == 0):
        raise _fail(source, "the file is empty", "a header row naming the columns, then data")

    n = table.num_rows
    problems: list[dict[str, Any]] = []
    skipped = np.zeros(0, dtype=np.int64)
    if ragged:
        found = _ragged_rows(path.read_bytes() if on_disk and path is not None else data,
                             sep, width, lines_before + skip_after)
        skipped = np.asarray([row for row, *_ in found], dtype=np.int64)
        for row, got, text in found:
            want = width
            shown = text if len(text) <= 80 else text[:77] + "..."
            problems.append({
                "file": source, "row": row, "column": None, "value": shown,
                "problem": f"the row has {got} fields where the header has {want} (a cell "
                           "deleted or a separator added shifts every later answer into the "
                           "wrong column)",
                "expected": f"{want} fields, one per header column"})
    clean = _scan(path) if on_disk and path is not None else \
        (not data.translate(None, _NOT_CONTROL), b'"' not in data)
    del data
    # Data rows are numbered as a spreadsheet shows them; rows the parser skipped keep their
    # numbers (they are reported), so later rows are not renumbered.
    total = n + len(skipped)
    all_rows = np.arange(total, dtype=np.int64) + lines_before + skip_after + 1
    rows = all_rows[~np.isin(all_rows, skipped)] if len(skipped) else all_rows
    keep_cols: list[int] = []
    col_names: list[str] = []
    for j, name in enumerate(header):
        text = name.strip()
        if text:
            col_names.append(text)
            keep_cols.append(j)
        elif table.column(j).null_count < n:  # a column without a name that holds data
            col_names.append(f"(unnamed column {j + 1})")
            keep_cols.append(j)
    table = table.select(keep_cols) if len(keep_cols) != width else table
    table = table.rename_columns(col_names)
    out = RawTable(frame=pd.DataFrame(), rows=rows[:n], format="csv", encoding=used,
                   row_problems=problems, skipped_rows=len(skipped), clean=clean,
                   platform=extra.platform if extra else None,
                   questions=extra.questions if extra else {})
    if lazy:
        out.arrow = table
        return out
    frame = table.to_pandas(split_blocks=True, self_destruct=True, ignore_metadata=True,
                            types_mapper=_types_mapper)
    del table
    frame.columns = pd.Index(col_names, dtype=object)
    frame.index = pd.RangeIndex(len(frame))
    out.frame = frame
    return out


# -- Excel ---------------------------------------------------------------------------------
def _sheet_header(book: Any, name: str) -> list[str]:
    """The first non-blank row of a sheet (its header), as text."""
    sheet = book[name]
    for row in sheet.iter_rows(values_only=True, max_row=50):
        cells = [str(c).strip() for c in row if c is not None and str(c).strip()]
        if cells:
            return cells
    return []


def _choose_sheet(raw: bytes, source: str, names: list[str],
                  known: Callable[[str], bool]) -> tuple[str, list[str]]:
    """With no ``sheet=``: the one sheet whose header names codebook columns.

    A workbook with a cover or notes sheet first, or with the data on a later sheet, is read
    from the sheet holding the survey columns; the other sheets are named in a warning. Two
    sheets with survey columns are an error (pass ``sheet=``)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        headers = {n: _sheet_header(book, n) for n in names}
    finally:
        book.close()
    scores = {n: sum(1 for c in h if known(c)) for n, h in headers.items()}
    best = [n for n in names if scores[n] > 0]
    # sheets of notes (a cover page, a README: text in one column) are not data
    tabular = [n for n in names if len(headers[n]) > 1]
    if not best:
        best = tabular[:1] or [n for n in names if headers[n]][:1] or names[:1]
        return best[0], [n for n in tabular if n != best[0]]
    if len(best) > 1:
        raise _fail(source, "more than one sheet holds survey columns: "
                    + ", ".join(f"{n!r} ({scores[n]} codebook columns)" for n in best),
                    "sheet= naming the one to read (on the command line: --sheet)",
                    value=", ".join(best))
    return best[0], [n for n in tabular if n != best[0]]


def _special_cells(raw: bytes, sheet_name: str
                   ) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """(sheet row, column position, text) of formula cells without a saved value, and of
    error cells (``#N/A``, ``#DIV/0!``, ...).

    Files written by programs that do not calculate (pandas, openpyxl, many survey platforms'
    "Excel" export) store a formula only; reading saved values gives a blank for each such
    cell, so they are found and reported instead. pandas reads an error cell as blank; it is
    read as its text, as a CSV export of the sheet writes it. The workbook is scanned only
    if its sheets hold formulas or error cells at all."""
    import openpyxl

    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        parts = [z.read(n) for n in z.namelist()
                 if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    has_formula = any(b"<f" in x for x in parts)
    has_error = any(b't="e"' in x for x in parts)
    if not (has_formula or has_error):
        return [], []
    values = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    formulas = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False) \
        if has_formula else None
    missing: list[tuple[int, int, str]] = []
    errors: list[tuple[int, int, str]] = []
    try:
        cached: dict[tuple[int, int], Any] = {}
        for row in values[sheet_name].iter_rows():
            for c in row:
                if getattr(c, "row", None) is None:
                    continue
                cached[(c.row, c.column)] = c.value
                if c.data_type == "e" and c.value is not None:
                    errors.append((int(c.row), int(c.column) - 1, str(c.value)))
        if formulas is not None:
            for row in formulas[sheet_name].iter_rows():
                for c in row:
                    f = getattr(c, "value", None)
                    if isinstance(f, str) and f.startswith("=") and \
                            cached.get((c.row, c.column)) is None:
                        missing.append((int(c.row), int(c.column) - 1, f))
    finally:
        values.close()
        if formulas is not None:
            formulas.close()
    return missing, errors


def _read_excel(raw: bytes, source: str, sheet: str | int | None,
                known: Callable[[str], bool]) -> RawTable:
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise _fail(source, "the file is not a readable .xlsx workbook (corrupt, or another "
                    "format renamed)", "an Excel .xlsx workbook (Excel 2007 or later)")
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many unrelated types for a corrupt workbook
        raise _fail(source, f"the workbook cannot be opened ({type(exc).__name__}: {exc})",
                    "an Excel .xlsx workbook") from None
    names = [str(n) for n in book.sheet_names]
    others: list[str] = []
    if sheet is None:
        chosen: str = names[0]
        if len(names) > 1:
            chosen, others = _choose_sheet(raw, source, names, known)
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise _fail(source, "sheet not found", f"a sheet number 0-{len(names) - 1} or a "
                        f"sheet name: {', '.join(names)}", value=sheet)
        chosen = names[sheet]
    else:
        if str(sheet) not in names:
            raise _fail(source, "sheet not found", f"one of the sheets: {', '.join(names)}"
                        + suggest(str(sheet), names), value=sheet)
        chosen = str(sheet)
    try:
        # Cells are read as written: "NA", "N/A", "NULL", "None", "NaN", "#N/A" stay text,
        # as they do in CSV files (a codebook declares them in missingValues if they mean
        # missing), so a value never changes with the file format.
        grid = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object,
                             keep_default_na=False, na_values=[""])
    except Exception as exc:  # a damaged sheet part
        raise _fail(source, f"the sheet cannot be read ({type(exc).__name__}: {exc})",
                    "an Excel .xlsx workbook") from None
    if grid.empty:
        raise _fail(source, "the sheet is empty", "a header row naming the columns, then data",
                    value=chosen)
    no_value, errors = _special_cells(raw, chosen)
    for row, j, text in errors:
        if row - 1 < grid.shape[0] and j < grid.shape[1]:
            grid.iat[row - 1, j] = text
    table = _split_header(grid, source, "excel", None)
    table.sheet = chosen
    if others:
        import warnings

        warnings.warn(f"{source}: read sheet {chosen!r} (it holds the survey columns); "
                      f"sheet{'s' if len(others) > 1 else ''} "
                      f"{', '.join(repr(o) for o in others)} not read", UserWarning,
                      stacklevel=4)
    header_names = list(table.frame.columns)
    positions = table.column_positions
    data_rows = set(table.rows.tolist())
    for row, j, formula in no_value:
        if row not in data_rows or j not in positions:
            continue
        table.row_problems.append({
            "file": source, "row": row, "column": header_names[positions[j]], "value": formula,
            "problem": "formula cell without a saved value (the workbook was written by a "
                       "program that does not calculate formulas)",
            "expected": "the answer itself: open and save the workbook in Excel or "
                        "LibreOffice, or export values rather than formulas"})
    return table


def _split_header(grid: pd.DataFrame, source: str, fmt: str, encoding: str | None) -> RawTable:
    """First non-blank row of a grid is the header; grid row ``i`` is spreadsheet row ``i+1``."""
    nonblank = grid.notna().any(axis=1).to_numpy()
    if not nonblank.any():
        raise _fail(source, "the file is empty", "a header row naming the columns, then data")
    head = int(np.argmax(nonblank))
    header = grid.iloc[head]
    extra = platform_header(header.tolist(), [grid.iloc[i].tolist()
                                              for i in range(head + 1, min(head + 3, len(grid)))])
    if extra is not None:  # a platform's extra header rows are headers, not respondents
        header = pd.Series([n or None for n in extra.names], index=header.index, dtype=object)
    keep = header.notna().to_numpy()
    # Columns without a header are kept only if they hold data (then they are reported).
    body = grid.iloc[head + 1 + (extra.rows if extra else 0):]
    has_data = body.notna().any(axis=0).to_numpy() if len(body) else np.zeros(len(keep), bool)
    names: list[str] = []
    cols: list[int] = []
    for j, (name, named, filled) in enumerate(zip(header.tolist(), keep, has_data, strict=True)):
        if named:
            text = str(name).strip()
            if isinstance(name, float) and name.is_integer():
                text = str(int(name))
            names.append(text)
            cols.append(j)
        elif filled:
            names.append(f"(unnamed column {j + 1})")
            cols.append(j)
    frame = body.iloc[:, cols].copy()
    frame.columns = pd.Index(names, dtype=object)
    rows = np.asarray(body.index, dtype=np.int64) + 1
    frame.index = pd.RangeIndex(len(frame))
    return RawTable(frame=frame, rows=rows, format=fmt, encoding=encoding,
                    column_positions={j: k for k, j in enumerate(cols)},
                    platform=extra.platform if extra else None,
                    questions=extra.questions if extra else {})


# -- SPSS and Stata -----------------------------------------------------------------------
def _user_missing(meta: Any) -> dict[str, list[Any]]:
    """Each column's user-missing codes as the file declares them (discrete values, and
    whole-number ranges ``lo``-``hi`` spelt out when short)."""
    out: dict[str, list[Any]] = {}
    for name, values in (getattr(meta, "missing_user_values", None) or {}).items():
        out.setdefault(str(name).strip(), []).extend(values)
    for name, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        codes = out.setdefault(str(name).strip(), [])
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and \
                    float(lo).is_integer() and float(hi).is_integer() and 0 <= hi - lo <= 100:
                codes.extend(range(int(lo), int(hi) + 1))
            elif lo is not None:
                codes.extend({lo, hi} - {None})
    return {k: sorted(set(v), key=str) for k, v in out.items() if v}


def _read_statistical(raw: bytes, source: str, suffix: str, kind: str) -> RawTable:
    import os
    import tempfile

    import pyreadstat

    # pyreadstat reads from a path; write the bytes we hashed so both see the same file.
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    what = "an SPSS .sav file" if kind == "spss" else "a Stata .dta file"
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        if kind == "spss":
            frame, meta = pyreadstat.read_sav(tmp, apply_value_formats=False, user_missing=True)
        else:
            frame, meta = pyreadstat.read_dta(tmp, apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        name = "SPSS" if kind == "spss" else "Stata"
        raise _fail(source, f"the {name} file cannot be read ({type(exc).__name__}: {exc})",
                    what) from None
    finally:
        os.unlink(tmp)
    labels = {str(k).strip(): dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    frame.columns = pd.Index([str(c).strip() for c in frame.columns], dtype=object)
    rows = np.arange(len(frame), dtype=np.int64) + 2
    frame.index = pd.RangeIndex(len(frame))
    return RawTable(frame=frame, rows=rows, format=kind, value_labels=labels,
                    user_missing=_user_missing(meta))


# -- Parquet -------------------------------------------------------------------------------
def _read_parquet(raw: bytes, source: str, plain: Callable[[str], bool]) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Text columns of answers are read dictionary-encoded (pandas Categoricals), so a million
    # answers are matched to the codebook through their few distinct values; identifiers and
    # free text (``plain``) are read as plain strings.
    try:
        schema = pq.read_schema(pa.BufferReader(raw))
        coded = [
            name for name, typ in zip(schema.names, schema.types, strict=True)
            if (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and not plain(name)
        ]
        table = pq.read_table(pa.BufferReader(raw), read_dictionary=coded)
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise _fail(source, f"the Parquet file cannot be read ({type(exc).__name__}: {exc})",
                    "an Apache Parquet file") from None
    nested = [f for f in table.schema
              if pa.types.is_nested(f.type) or (pa.types.is_dictionary(f.type)
              and pa.types.is_nested(f.type.value_type))]
    if nested:
        raise DataValidationError([file_problem(
            source, f"the column holds {f.type} values (several values per cell)",
            "one value per cell; spread a list into one column per option (like the "
            "codebook's 0/1 select columns), or export it as text", column=f.name)
            for f in nested])
    # Dates as datetime64, not Python date objects.
    for i, col in enumerate(table.columns):
        if pa.types.is_date(col.type):
            table = table.set_column(i, table.field(i).name, col.cast(pa.timestamp("ms")))
    # Plain text columns (identifiers) in one chunk each (Parquet row groups arrive as chunks):
    # taking a few values of a chunked string column, as the comparison's identifier check
    # does, costs a copy of the whole column every time.
    for i, col in enumerate(table.columns):
        if col.num_chunks > 1 and (pa.types.is_string(col.type)
                                   or pa.types.is_large_string(col.type)):
            table = table.set_column(i, table.field(i), col.combine_chunks())
    frame = table.to_pandas(ignore_metadata=True)
    frame.columns = pd.Index([str(c).strip() for c in frame.columns], dtype=object)
    rows = np.arange(len(frame), dtype=np.int64) + 2
    frame.index = pd.RangeIndex(len(frame))
    return RawTable(frame=frame, rows=rows, format="parquet")


def read_table(
    raw: bytes | Path,
    source: str,
    suffix: str,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    plain: Callable[[str], bool] = lambda name: False,
    known: Callable[[str], bool] = lambda name: False,
    small_int: Callable[[str], int] = lambda name: 0,
    lazy: bool = False,
) -> RawTable:
    """Read a file's bytes by its (lower-case) extension ``suffix``.

    ``plain(column)`` says which CSV and Parquet text columns hold identifiers or free text
    (read as strings); other text columns are read as Categoricals. ``known(column)`` says
    which columns the codebook (or the mapping) knows: with no ``sheet``, a workbook is read
    from the one sheet whose header has such columns. ``small_int(column)`` says which CSV
    columns the codebook expects to hold small whole-number codes (parsed as numbers) and
    in how many bits they fit (8 or 16; 0: not such a column).
    ``lazy``: a CSV file's columns are kept as parsed and handed to pandas one at a time
    (:meth:`RawTable.take`) instead of all at once in ``frame``.
    """
    kind = READERS.get(suffix)
    if kind is None:
        raise _fail(source, "unknown file type", "a file ending in "
                    + ", ".join(sorted(READERS)), value=suffix or "(no extension)")
    if isinstance(raw, Path) and kind != "csv":
        raw = raw.read_bytes()
    if (raw.stat().st_size == 0) if isinstance(raw, Path) else not raw:
        raise _fail(source, "the file is empty", "a survey file with a header row and data")
    if sheet is not None and kind != "excel":
        raise _fail(source, "sheet= was given but the file is not an Excel workbook",
                    "sheet=None for CSV, SPSS, Stata and Parquet files", value=sheet)
    if encoding is not None and kind != "csv":
        raise _fail(source, "encoding= was given but the file is not a text (CSV) file",
                    "encoding=None for Excel, SPSS, Stata and Parquet files", value=encoding)
    if kind == "csv":
        return _read_csv(raw, source, suffix, encoding, plain, small_int, lazy)
    blob = raw if isinstance(raw, bytes) else raw.read_bytes()
    readers: dict[str, Callable[[], RawTable]] = {
        "excel": lambda: _read_excel(blob, source, sheet, known),
        "spss": lambda: _read_statistical(blob, source, suffix, "spss"),
        "stata": lambda: _read_statistical(blob, source, suffix, "stata"),
        "parquet": lambda: _read_parquet(blob, source, plain),
    }
    return readers[kind]()
