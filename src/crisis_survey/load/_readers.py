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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataValidationError

__all__ = ["READERS", "RawTable", "file_problem", "read_table"]

#: File extensions read, and the reader of each.
READERS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class RawTable:
    """A file's cells as read: ``frame`` (columns as named in the file), ``rows`` (the
    spreadsheet row number of each frame row) and, for SPSS, the stored value labels."""

    frame: pd.DataFrame
    rows: np.ndarray
    format: str
    encoding: str | None = None
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)


def file_problem(
    source: str, problem: str, expected: str, *, column: str | None = None, value: Any = None
) -> dict[str, Any]:
    """One file-level problem row (no row number)."""
    return {"file": source, "row": None, "column": column, "value": value,
            "problem": problem, "expected": expected}


def _fail(source: str, problem: str, expected: str, **kw: Any) -> DataValidationError:
    return DataValidationError([file_problem(source, problem, expected, **kw)])


# -- text files ----------------------------------------------------------------------------
def _decode(raw: bytes, source: str, encoding: str | None) -> tuple[str, str]:
    """Decode CSV bytes: the given encoding, else UTF-8 (with or without BOM), UTF-16 with a
    BOM, or Windows-1252 (what Excel's "CSV" writes on an English Windows machine)."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _fail(source, "unknown text encoding", "an encoding Python knows, e.g. "
                        "'utf-8', 'cp1252', 'latin-1'", value=encoding) from None
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise _fail(source, f"the file is not valid {encoding} text (byte {exc.start})",
                        "text in the encoding given, or leave encoding=None to detect it",
                        value=encoding) from None
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:4096]:
        raise _fail(source, "the file is not text (it holds binary data)",
                    "a CSV text file; for Excel, SPSS or Parquet use the matching extension")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise _fail(source, "the text encoding could not be recognised",
                    "UTF-8 or Windows-1252 (Excel) text, or pass encoding=") from None


def _delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _parser_message(exc: Exception) -> str:
    """pandas' tokenizer error in the analyst's words (line numbers count the header)."""
    text = " ".join(str(exc).split())
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found:
        want, line, got = found.groups()
        return f"line {line} has {got} fields where the header has {want}"
    return text


def _read_csv(raw: bytes, source: str, suffix: str, encoding: str | None) -> RawTable:
    text, used = _decode(raw, source, encoding)
    if not text.strip():
        raise _fail(source, "the file is empty", "a header row naming the columns, then data")
    sep = _delimiter(text, suffix)
    try:
        grid = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
            na_values=[""], skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as exc:
        raise _fail(source, f"the file is not well-formed CSV ({_parser_message(exc)})",
                    "every row with the same number of columns as the header") from None
    except (ValueError, csv.Error) as exc:
        raise _fail(source, f"the file cannot be read as CSV ({exc})", "a CSV file") from None
    return _split_header(grid, source, "csv", used)


# -- Excel ---------------------------------------------------------------------------------
def _read_excel(raw: bytes, source: str, sheet: str | int | None) -> RawTable:
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise _fail(source, "the file is not a readable .xlsx workbook (corrupt, or another "
                    "format renamed)", "an Excel .xlsx workbook (Excel 2007 or later)")
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many unrelated types for a corrupt workbook
        raise _fail(source, f"the workbook cannot be opened ({type(exc).__name__}: {exc})",
                    "an Excel .xlsx workbook") from None
    names = [str(n) for n in book.sheet_names]
    if sheet is None:
        chosen: str | int = 0
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise _fail(source, "sheet not found", f"a sheet number 0-{len(names) - 1} or a "
                        f"sheet name: {', '.join(names)}", value=sheet)
        chosen = sheet
    else:
        if str(sheet) not in names:
            raise _fail(source, "sheet not found", f"one of the sheets: {', '.join(names)}",
                        value=sheet)
        chosen = str(sheet)
    try:
        grid = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    except Exception as exc:  # a damaged sheet part
        raise _fail(source, f"the sheet cannot be read ({type(exc).__name__}: {exc})",
                    "an Excel .xlsx workbook") from None
    if grid.empty:
        raise _fail(source, "the sheet is empty", "a header row naming the columns, then data",
                    value=names[chosen] if isinstance(chosen, int) else chosen)
    return _split_header(grid, source, "excel", None)


def _split_header(grid: pd.DataFrame, source: str, fmt: str, encoding: str | None) -> RawTable:
    """First non-blank row of a grid is the header; grid row ``i`` is spreadsheet row ``i+1``."""
    nonblank = grid.notna().any(axis=1).to_numpy()
    if not nonblank.any():
        raise _fail(source, "the file is empty", "a header row naming the columns, then data")
    head = int(np.argmax(nonblank))
    header = grid.iloc[head]
    keep = header.notna().to_numpy()
    # Columns without a header are kept only if they hold data (then they are reported).
    body = grid.iloc[head + 1:]
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
    return RawTable(frame=frame, rows=rows, format=fmt, encoding=encoding)


# -- SPSS ----------------------------------------------------------------------------------
def _read_spss(raw: bytes, source: str, suffix: str) -> RawTable:
    import os
    import tempfile

    import pyreadstat

    # pyreadstat reads from a path; write the bytes we hashed so both see the same file.
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        frame, meta = pyreadstat.read_sav(tmp, apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _fail(source, f"the SPSS file cannot be read ({type(exc).__name__}: {exc})",
                    "an SPSS .sav file") from None
    finally:
        os.unlink(tmp)
    labels = {str(k): dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    frame.columns = pd.Index([str(c).strip() for c in frame.columns], dtype=object)
    rows = np.arange(len(frame), dtype=np.int64) + 2
    frame.index = pd.RangeIndex(len(frame))
    return RawTable(frame=frame, rows=rows, format="spss", value_labels=labels)


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
    raw: bytes,
    source: str,
    suffix: str,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    plain: Callable[[str], bool] = lambda name: False,
) -> RawTable:
    """Read a file's bytes by its (lower-case) extension ``suffix``.

    ``plain(column)`` says which Parquet text columns hold identifiers or free text (read as
    strings); other text columns are read as Categoricals.
    """
    kind = READERS.get(suffix)
    if kind is None:
        raise _fail(source, "unknown file type", "a file ending in "
                    + ", ".join(sorted(READERS)), value=suffix or "(no extension)")
    if not raw:
        raise _fail(source, "the file is empty", "a survey file with a header row and data")
    if sheet is not None and kind != "excel":
        raise _fail(source, "sheet= was given but the file is not an Excel workbook",
                    "sheet=None for CSV, SPSS and Parquet files", value=sheet)
    if encoding is not None and kind != "csv":
        raise _fail(source, "encoding= was given but the file is not a text (CSV) file",
                    "encoding=None for Excel, SPSS and Parquet files", value=encoding)
    readers: dict[str, Callable[[], RawTable]] = {
        "csv": lambda: _read_csv(raw, source, suffix, encoding),
        "excel": lambda: _read_excel(raw, source, sheet),
        "spss": lambda: _read_spss(raw, source, suffix),
        "parquet": lambda: _read_parquet(raw, source, plain),
    }
    return readers[kind]()
