"""``load_wave``: read one survey wave, validate it against the codebook (private)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import (
    PROBLEM_COLUMNS,
    CrisisSurveyError,
    DataValidationError,
    _counts_by_kind,
)
from ..codebook import Codebook, default_codebook
from ._mapping import MappingLike, plan_columns, read_mapping
from ._readers import READERS, file_problem, read_table
from ._validate import (
    Converted,
    Problems,
    as_text,
    convert_field,
    empty_converted,
    file_aliases,
    missing_kinds_dtype,
    value_label_conflicts,
)
from ._wave import SurveyWave

__all__ = ["load_wave"]

OnError = Literal["raise", "quarantine"]
AbsentColumns = Literal["raise", "not_answered"]
#: What a converted column's ``blank`` becomes once the blank-row rule has taken it in.
_FOLDED = np.zeros(0, dtype=bool)
_EXCLUSION_COLUMNS = ["row", "reason", "file", "column", "value", "problem", "expected"]


def _error(problems: pd.DataFrame, source: str) -> DataValidationError:
    """One DataValidationError whose message first counts the problems by kind and column."""
    err = DataValidationError(problems)
    frame = err.problems
    lines = str(err).split("\n")
    summary = [f"In {source}:", *_counts_by_kind(frame)]
    bad_rows = frame["row"].dropna().nunique()
    if bad_rows:
        summary.append(f"  {bad_rows} row{'s' if bad_rows != 1 else ''} affected. "
                       "Details (first 20):")
    err.args = ("\n".join([lines[0], *summary, *lines[1:]]),)
    return err


def _order(problems: pd.DataFrame, column_order: dict[str, int]) -> pd.DataFrame:
    if problems.empty:
        return problems.reset_index(drop=True)
    key_row = problems["row"].astype(float).fillna(-1.0)
    key_col = problems["column"].map(lambda c: column_order.get(c, -1))
    order = np.lexsort((key_col.to_numpy(dtype=float), key_row.to_numpy(dtype=float)))
    out = problems.iloc[order].reset_index(drop=True)
    out["row"] = out["row"].astype("Int64")
    return out


def _exclusions(problems: pd.DataFrame) -> pd.DataFrame:
    if problems.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _EXCLUSION_COLUMNS}).astype(
            {"row": "int64"})
    p = problems.copy()
    for col in ("file", "column", "value", "problem", "expected"):
        p[col] = p[col].astype(object).where(p[col].notna(), "").astype(str)
    p["reason"] = p["column"].astype(str) + ": " + p["problem"].astype(str)
    joined = p.groupby("row", sort=True).agg({
        "reason": "; ".join, "file": "first", "column": "; ".join, "value": "; ".join,
        "problem": "; ".join, "expected": "; ".join,
    })
    out = joined.reset_index()
    out["row"] = out["row"].astype("int64")
    return out.loc[:, _EXCLUSION_COLUMNS]


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise DataValidationError([file_problem(str(p), "file not found",
                                                "the path of a survey file")]) from None
    except IsADirectoryError:
        raise DataValidationError([file_problem(str(p), "the path is a folder, not a file",
                                                "the path of a survey file")]) from None
    except OSError as exc:
        raise DataValidationError([file_problem(str(p), f"the file cannot be opened ({exc})",
                                                "a readable survey file")]) from None


def _hash_file(p: Path) -> str:
    """SHA-256 of a file read in blocks (the same errors as reading it whole)."""
    _read_bytes_check(p)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        while block := fh.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def _read_bytes_check(p: Path) -> None:
    if not p.exists():
        _read_bytes(p)  # raises "file not found"
    if p.is_dir():
        _read_bytes(p)  # raises "the path is a folder"
    try:
        with p.open("rb"):
            pass
    except OSError:
        _read_bytes(p)


def _column(values: Any, keep: np.ndarray, index: pd.Index) -> pd.Series:
    if isinstance(values, pd.Series):
        values = values.array
    if keep.all():
        return pd.Series(values, index=index, copy=False)
    return pd.Series(values[keep], index=index, copy=False)


def _swapped(cb: Codebook, wave: int, plan: Any, answered: dict[str, int],
             converted: dict[str, Converted], rows: np.ndarray, source: str
             ) -> list[dict[str, Any]]:
    """A file-level problem if the file looks like another wave's: 90% or more of its
    fieldwork dates (at least 10) in that wave's window, or answers to a question only that
    wave asked in at least half of its rows (at least 10). ``answered``: rows answering
    each question this wave did not ask."""
    out: list[dict[str, Any]] = []
    every_row = bool(rows.all())  # no copy of the dates to leave no row out
    for w in cb.waves:
        if w.number == wave:
            continue
        why = []
        if w.fieldwork_start is not None or w.fieldwork_end is not None:
            for f in cb.fields:
                if f.role != "date" or f.type != "date" or f.name not in plan.column_of:
                    continue
                values = np.asarray(converted[f.name].values)
                stamps = pd.to_datetime(values if every_row else values[rows])
                got = np.asarray(stamps.notna())
                if not got.any():
                    continue
                inside = got.copy()
                if w.fieldwork_start is not None:
                    inside &= np.asarray(stamps >= pd.Timestamp(w.fieldwork_start))
                if w.fieldwork_end is not None:
                    inside &= np.asarray(stamps <= pd.Timestamp(w.fieldwork_end))
                # a swap puts (nearly) every date in the other window; a few stray dates
                # are reported row by row as outside the fieldwork window
                if inside.sum() >= 10 and inside.sum() >= 0.9 * got.sum():
                    why.append(f"{int(inside.sum())} of {int(got.sum())} {f.name} dates fall in "
                               f"wave {w.number}'s fieldwork")
        only = [n for n in answered if cb[n].waves == (w.number,)]
        n_rows = int(rows.sum())
        if only and n_rows >= 10 and max(answered[n] for n in only) >= n_rows / 2:
            why.append(f"it answers {', '.join(only)}, asked only in wave {w.number}")
        if why:
            out.append(file_problem(
                source, f"the file looks like wave {w.number}'s, not wave {wave}'s: "
                + "; ".join(why), f"the wave-{wave} file: are the wave-1 and wave-2 files "
                "swapped? (check the wave number given, or which file is which wave)"))
    return out


def _untick(cb: Codebook, converted: dict[str, Converted]) -> None:
    """A tick-all question exported as its ticked options only (SurveyMonkey writes the
    option's text or nothing): where a respondent ticked some option of the question, a blank
    option column means its ``x-unticked`` code; a row with every option blank stays not
    answered (the respondent skipped the question). The blank stays blank for the
    blank-row rule: only the value and its missing reason change."""
    groups: dict[str, list[str]] = {}
    for f in cb.fields:
        if f.select_group is not None and f.name in converted:
            groups.setdefault(f.select_group, []).append(f.name)
    for names in groups.values():
        fill_names = [n for n in names if cb[n].unticked is not None]
        if not fill_names:
            continue
        ticked = np.zeros(len(converted[names[0]].blank), dtype=bool)
        for n in names:
            ticked |= ~converted[n].blank
        for n in fill_names:
            c, f = converted[n], cb[n]
            fill = ticked & c.blank
            if not fill.any() or not isinstance(c.values, pd.Categorical):
                continue
            codes = np.asarray(c.values.codes).copy()
            codes[fill] = f.codes.index(f.unticked)
            kinds = None if c.kinds is None else c.kinds.copy()
            if kinds is not None:
                kinds[fill] = -1
            converted[n] = Converted(pd.Categorical.from_codes(codes, dtype=c.values.dtype),
                                     c.blank, kinds)


def load_wave(
    path: str | Path,
    codebook: Codebook | None = None,
    *,
    wave: int,
    mapping: MappingLike | None = None,
    on_error: OnError = "raise",
    sheet: str | int | None = None,
    encoding: str | None = None,
    absent_columns: AbsentColumns = "raise",
) -> SurveyWave:
    """Read one survey wave and validate every cell against the codebook.

    Parameters
    ----------
    path
        The survey file. The extension picks the reader: ``.csv`` (also ``.txt``, ``.tsv``;
        UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252 as Excel writes it,
        detected in that order; comma, semicolon, tab or bar separated), ``.xlsx``/``.xlsm``
        (Excel), ``.sav``/``.zsav`` (SPSS), ``.dta`` (Stata) or ``.parquet``/``.pq``.
    codebook
        The codebook to validate against; ``None`` uses the crisis-care survey's codebook
        (:func:`crisis_survey.codebook.default_codebook`).
    wave
        The wave this file holds (a wave number declared in the codebook). Fields not asked
        in this wave (their ``x-waves``) must be absent from the file or entirely blank; a
        ``wave`` column, if the file has one, must hold this number in every row.
    mapping
        File column name -> codebook field name, as a dict or the path of a JSON file
        (``{"Q3_1": "overall_rating", "StartDate": null}``) or CSV file (header
        ``column,field``). A column mapped to ``None`` (JSON ``null``, empty CSV cell) is
        ignored. Columns neither in the codebook nor in the mapping are an error. Names are
        matched ignoring case and surrounding spaces. Where the waves name a question
        differently, one mapping holds both: ``{"wave 1": {...}, "wave 2": {...}}``, or a
        CSV ``column,field,wave`` (a blank wave: both); ``wave`` picks this file's part.
    on_error
        ``"raise"`` (default): any problem raises one :class:`DataValidationError` listing
        every problem found. ``"quarantine"``: rows with problems are left out of ``data``
        and listed in ``exclusions``; problems with the file itself (unreadable, a required
        column missing, a column not in the codebook) still raise.
    sheet
        Excel only: sheet name or 0-based position (default: the first sheet).
    encoding
        CSV only: the text encoding, overriding detection (e.g. ``"latin-1"``).
    absent_columns
        ``"raise"`` (default): a question this wave asked (``x-waves``) whose column the file
        lacks is an error. ``"not_answered"``: it is read as not answered in every row.

    Returns
    -------
    SurveyWave
        The rows kept, indexed by their spreadsheet row number (header row 1, first data row
        2; for SPSS and Parquet files, record ``i`` counting from 0 is row ``i + 2``), with
        why answers are missing, the exclusions, the file's SHA-256 and the row accounting.

    Raises
    ------
    DataValidationError
        With ``.problems`` (one row per problem: ``file, row, column, value, problem,
        expected``) for an unreadable file or data that do not match the codebook.
    CodebookError
        If ``mapping`` is malformed or maps a column to a name not in the codebook.

    Notes
    -----
    Answers may be stored as codes (``4``) or labels (``"Good"``; case, surrounding and
    repeated spaces and curly quotes are ignored); a value that is both a code and another
    level's label is read as the code. SPSS files are read with their codes (value labels
    not applied; user-missing codes kept); value labels in the file that give a code the
    meaning of another codebook level are reported. Missing codes ("Don't know", ...) become
    missing values in ``data``; their kind, and ``"not_answered"`` for blanks, is in
    ``missing_reasons``. Rows with no value in any codebook column are skipped and not
    counted. A question (item or demographic) this wave asked whose column the file lacks is
    an error; with ``absent_columns="not_answered"`` it is added as entirely missing
    ("not_answered"), with a warning, as are other optional fields the file lacks.
    ``rows_read == rows_kept + rows_excluded``; a file with a header and no rows is an error.

    Faults of real exports are reported, never repaired silently: a CSV row with more or fewer
    fields than the header (named by its row; in quarantine mode that row is excluded and
    the others keep their numbers), NUL bytes and control characters in a value, Excel
    formula cells without a saved value, Parquet list columns. ``NA``, ``N/A``, ``NULL``,
    ``None``, ``NaN`` and ``#N/A`` are text in every format (declare them in the field's
    ``missingValues`` if they mean missing). With no ``sheet``, a workbook is read from the
    one sheet whose header holds codebook columns (a cover sheet is passed over); two such
    sheets are an error. SPSS and Stata files' own value labels explain codes the codebook
    does not list (a "Don't know" coded 98 in the file where the codebook says 8).
    CSV files are parsed by pyarrow's multi-threaded reader, answers dictionary-encoded.

    Every check is vectorised over a column; categorical columns are matched through their
    distinct values (:func:`pandas.factorize`), so time grows linearly with rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "w1.csv").write_text(
    ...     "respondent_id,group,completed_date,Q1\\n"
    ...     "r1,Service user,2014-10-03,4\\n"
    ...     "r2,2,2014-10-04,Don't know\\n")
    >>> import warnings; warnings.simplefilter("ignore")  # columns this file lacks
    >>> w = load_wave(folder / "w1.csv", wave=1, mapping={"Q1": "overall_rating"},
    ...               absent_columns="not_answered")
    >>> w.data["overall_rating"].tolist()
    ['Good', nan]
    >>> w.missing_reasons.loc[3, "overall_rating"]
    'dont_know'
    >>> w.accounting()
       wave    file  rows_read  rows_kept  rows_excluded
    0     1  w1.csv          2          2              0
    """
    if on_error not in ("raise", "quarantine"):
        raise CrisisSurveyError(
            f"on_error={on_error!r} is not an option; expected 'raise' or 'quarantine'")
    if absent_columns not in ("raise", "not_answered"):
        raise CrisisSurveyError(f"absent_columns={absent_columns!r} is not an option; "
                                "expected 'raise' or 'not_answered'")
    cb = codebook if codebook is not None else default_codebook()
    if not isinstance(path, str | Path):
        raise DataValidationError(
            [{"file": None, "value": type(path).__name__, "problem": "not a file path",
              "expected": "the path of a .csv, .xlsx, .sav or .parquet file (str or Path)"}]
        )
    p = Path(path)
    source = p.name
    if isinstance(wave, bool) or not isinstance(wave, (int, np.integer)) or \
            int(wave) not in {w.number for w in cb.waves}:
        raise DataValidationError([file_problem(
            source, f"wave {wave!r} is not declared in codebook {cb.name!r}",
            "one of the waves " + ", ".join(str(w.number) for w in cb.waves), value=wave)])
    wave = int(wave)
    maps = read_mapping(mapping, cb, wave)
    suffix = p.suffix.lower()
    if READERS.get(suffix) == "csv":
        # CSV is parsed from disk in blocks: hash it as a stream, never hold it whole
        sha256 = _hash_file(p)
        raw_bytes: bytes | Path = p
    else:
        raw_bytes = _read_bytes(p)
        sha256 = hashlib.sha256(raw_bytes).hexdigest()
    plain_fields = {f.name for f in cb.fields
                    if f.role in ("identifier", "link_key") or f.measurement == "text"}

    by_key = {n.casefold(): n for n in cb.names}

    def target_of(column: str) -> str | None:
        key = column.strip().casefold()
        return maps[key] if key in maps else by_key.get(key)

    def plain(column: str) -> bool:
        return target_of(column) in plain_fields

    def known(column: str) -> bool:
        return column.strip().casefold() in maps or target_of(column) is not None

    def small_int(column: str) -> int:
        """8 or 16: the bits the codebook's whole-number codes of the column fit in; 0: the
        column is not such a column."""
        name = target_of(column)
        if name is None or name in plain_fields:
            return 0
        f = cb[name]
        codes = [*f.codes, *(m.code for m in f.missing)]
        ints = [c for c in codes if isinstance(c, int)]
        if f.type != "integer" or len(ints) != len(codes):
            return 0
        for bits in (8, 16):
            if all(-(1 << (bits - 1)) <= c < 1 << (bits - 1) for c in ints):
                return bits
        return 0

    table = read_table(raw_bytes, source, suffix, sheet=sheet, encoding=encoding,
                       plain=plain, known=known, small_int=small_int, lazy=True)
    del raw_bytes
    columns = table.column_names()
    plan = plan_columns(columns, maps, cb, wave, source)
    file_problems: list[dict[str, Any]] = list(plan.problems)
    answered_not_asked: dict[str, int] = {}
    for name in plan.not_asked:
        j = plan.column_of[name]
        answered = as_text(table.take(j)).notna()
        if answered.any():
            answered_not_asked[name] = int(answered.sum())
            file_problems.append(file_problem(
                source, f"answers to a question not asked in wave {wave} "
                f"({int(answered.sum())} row{'s' if int(answered.sum()) != 1 else ''})",
                f"no column for {name!r} in wave {wave} files (the codebook lists it for "
                f"wave {', '.join(str(w) for w in cb[name].waves)}), or check the wave "
                "number given",
                column=columns[j]))
    aliases: dict[str, dict[str, int | str]] = {}
    if table.value_labels or table.user_missing:
        for name, j in plan.column_of.items():
            labels = table.value_labels.get(columns[j], {})
            if labels and cb[name].levels:
                file_problems.extend(value_label_conflicts(cb[name], labels, columns[j], source))
            if cb[name].levels:
                aliases[name] = file_aliases(cb[name], labels,
                                             table.user_missing.get(columns[j], []))

    n = table.row_count()
    probs = Problems(source, table.rows)
    if table.row_problems:
        probs.add_rows(pd.DataFrame(table.row_problems, columns=list(PROBLEM_COLUMNS)))
    info = cb.wave_info(wave)
    # Each file column is taken from the table once, converted and then let go, so that
    # the file's cells and the converted data are never all held side by side (issue 13).
    # Rows with nothing in any codebook column are not respondents (trailing blank lines,
    # formatted but empty spreadsheet rows): skipped, and their row numbers with them. Each
    # column's blanks go into that rule as it is converted; only a tick-all question's
    # columns keep theirs (``_untick`` reads them, and leaves them as they are).
    blank_row = np.ones(n, dtype=bool)
    converted: dict[str, Converted] = {}
    for f in cb.fields:
        if wave not in f.waves:
            continue
        if f.name in plan.column_of:
            j = plan.column_of[f.name]
            raw = table.take(j)
            conv = convert_field(f, raw, columns[j], probs, wave=wave, info=info,
                                 aliases=aliases.get(f.name), clean=table.clean)
            del raw
            blank_row &= conv.blank
            if f.select_group is None:
                conv.blank = _FOLDED
            converted[f.name] = conv
        else:
            converted[f.name] = empty_converted(f, n, wave)

    _untick(cb, converted)
    cell_problems = probs.table()
    if blank_row.any() and not cell_problems.empty:
        cell_problems = cell_problems[~np.isin(cell_problems["row"].to_numpy(dtype=np.int64),
                                               table.rows[blank_row])]
    bad = probs.bad & ~blank_row
    column_order = {c: j for j, c in enumerate(columns)}
    rows_read = int((~blank_row).sum()) + table.skipped_rows
    if rows_read == 0:
        file_problems.append(file_problem(
            source, "the file has a header but no data rows" if len(columns) else
            "the file has no data", "at least one respondent's row under the header"))
    if plan.absent_asked and absent_columns == "raise":
        for name in plan.absent_asked:
            asked = ", ".join(str(w) for w in cb[name].waves)
            file_problems.append(file_problem(
                source, f"no column for a question asked in wave {wave}",
                f"a column {name!r} ({cb[name].label}) or a mapping entry naming it; if wave "
                f"{wave} did not ask it, x-waves in the codebook (now {asked}); to read the "
                "file with every answer to it missing, absent_columns='not_answered' "
                "(--absent-columns not_answered)", column=name))

    file_problems.extend(_swapped(cb, wave, plan, answered_not_asked, converted, ~blank_row,
                                  source))
    file_frame = pd.DataFrame(file_problems, columns=list(PROBLEM_COLUMNS))
    if not file_frame.empty or (on_error == "raise" and not cell_problems.empty):
        parts = [x for x in (file_frame, cell_problems) if not x.empty]
        raise _error(_order(pd.concat(parts, ignore_index=True), column_order), source)
    absent = [n for n in plan.absent if n not in plan.absent_asked] \
        if absent_columns == "raise" else plan.absent
    if absent:
        warnings.warn(
            f"{source}: no column for {', '.join(absent)}; "
            "these are treated as not answered in every row",
            UserWarning, stacklevel=2)

    keep = ~blank_row & ~bad
    every = bool(keep.all())
    index = pd.Index(table.rows if every else table.rows[keep], name="row", dtype="int64")
    data = pd.DataFrame(
        {name: _column(conv.values, keep, index) for name, conv in converted.items()},
        index=index, copy=False)  # the converted columns are not used again: no copy
    if not keep.all():
        # categories seen only in excluded rows (areas, groups without declared levels)
        # are not categories of the data kept
        for name in data.columns:
            if not cb[name].levels and isinstance(data[name].dtype, pd.CategoricalDtype):
                data[name] = data[name].cat.remove_unused_categories()
    reasons_dtype = missing_kinds_dtype()
    reasons = pd.DataFrame(
        {name: pd.Series(pd.Categorical.from_codes(conv.kinds if every else conv.kinds[keep],
                                                   dtype=reasons_dtype, validate=False),
                         index=index, copy=False)
         for name, conv in converted.items()
         if conv.kinds is not None and cb[name].role in ("item", "demographic")},
        index=index, copy=False)  # the kinds are not used again: no copy
    ordered = _order(cell_problems, column_order)
    return SurveyWave(
        wave=wave,
        codebook=cb,
        source=source,
        sha256=sha256,
        data=data,
        missing_reasons=reasons,
        exclusions=_exclusions(ordered),
        rows_read=rows_read,
        problems=ordered,
    )
