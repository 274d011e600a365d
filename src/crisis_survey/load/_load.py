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
from ._readers import file_problem, read_table
from ._validate import (
    Converted,
    Problems,
    as_text,
    convert_field,
    empty_converted,
    missing_kinds_dtype,
    value_label_conflicts,
)
from ._wave import SurveyWave

__all__ = ["load_wave"]

OnError = Literal["raise", "quarantine"]
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


def _column(values: Any, keep: np.ndarray, index: pd.Index) -> pd.Series:
    if isinstance(values, pd.Series):
        values = values.array
    if keep.all():
        return pd.Series(values, index=index, copy=False)
    return pd.Series(values[keep], index=index, copy=False)


def load_wave(
    path: str | Path,
    codebook: Codebook | None = None,
    *,
    wave: int,
    mapping: MappingLike | None = None,
    on_error: OnError = "raise",
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> SurveyWave:
    """Read one survey wave and validate every cell against the codebook.

    Parameters
    ----------
    path
        The survey file. The extension picks the reader: ``.csv`` (also ``.txt``, ``.tsv``;
        UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252 as Excel writes it,
        detected in that order; comma, semicolon, tab or bar separated), ``.xlsx``/``.xlsm``
        (Excel), ``.sav``/``.zsav`` (SPSS) or ``.parquet``/``.pq``.
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
        matched ignoring case and surrounding spaces.
    on_error
        ``"raise"`` (default): any problem raises one :class:`DataValidationError` listing
        every problem found. ``"quarantine"``: rows with problems are left out of ``data``
        and listed in ``exclusions``; problems with the file itself (unreadable, a required
        column missing, a column not in the codebook) still raise.
    sheet
        Excel only: sheet name or 0-based position (default: the first sheet).
    encoding
        CSV only: the text encoding, overriding detection (e.g. ``"latin-1"``).

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
    counted. Optional fields of this wave that the file lacks are added as entirely missing
    ("not_answered"), with a warning. ``rows_read == rows_kept + rows_excluded``.

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
    >>> w = load_wave(folder / "w1.csv", wave=1, mapping={"Q1": "overall_rating"})
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
    maps = read_mapping(mapping, cb)
    raw_bytes = _read_bytes(p)
    sha256 = hashlib.sha256(raw_bytes).hexdigest()
    plain_fields = {f.name for f in cb.fields
                    if f.role in ("identifier", "link_key") or f.measurement == "text"}

    def plain(column: str) -> bool:
        key = column.strip().casefold()
        target = maps[key] if key in maps else next(
            (n for n in cb.names if n.casefold() == key), None)
        return target in plain_fields

    table = read_table(raw_bytes, source, p.suffix.lower(), sheet=sheet, encoding=encoding,
                       plain=plain)
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    plan = plan_columns(columns, maps, cb, wave, source)
    file_problems: list[dict[str, Any]] = list(plan.problems)
    for name in plan.not_asked:
        j = plan.column_of[name]
        answered = as_text(frame.iloc[:, j]).notna()
        if answered.any():
            file_problems.append(file_problem(
                source, f"answers to a question not asked in wave {wave} "
                f"({int(answered.sum())} row{'s' if int(answered.sum()) != 1 else ''})",
                f"no column for {name!r} in wave {wave} files (the codebook lists it for "
                f"wave {', '.join(str(w) for w in cb[name].waves)}), or check the wave "
                "number given",
                column=columns[j]))
    if table.value_labels:
        for name, j in plan.column_of.items():
            labels = table.value_labels.get(columns[j])
            if labels and cb[name].levels:
                file_problems.extend(value_label_conflicts(cb[name], labels, columns[j], source))

    n = len(frame)
    probs = Problems(source, table.rows)
    info = cb.wave_info(wave)
    converted: dict[str, Converted] = {}
    for f in cb.fields:
        if wave not in f.waves:
            continue
        if f.name in plan.column_of:
            j = plan.column_of[f.name]
            converted[f.name] = convert_field(f, frame.iloc[:, j], columns[j], probs,
                                              wave=wave, info=info)
        else:
            converted[f.name] = empty_converted(f, n, wave)

    # Rows with nothing in any codebook column are not respondents (trailing blank lines,
    # formatted but empty spreadsheet rows): skipped, and their row numbers with them.
    blank_row = np.ones(n, dtype=bool)
    for name in plan.column_of:
        if name in converted:
            blank_row &= converted[name].blank
    cell_problems = probs.table()
    if blank_row.any() and not cell_problems.empty:
        cell_problems = cell_problems[~np.isin(cell_problems["row"].to_numpy(dtype=np.int64),
                                               table.rows[blank_row])]
    bad = probs.bad & ~blank_row
    column_order = {c: j for j, c in enumerate(columns)}
    file_frame = pd.DataFrame(file_problems, columns=list(PROBLEM_COLUMNS))

    if not file_frame.empty or (on_error == "raise" and not cell_problems.empty):
        parts = [x for x in (file_frame, cell_problems) if not x.empty]
        raise _error(_order(pd.concat(parts, ignore_index=True), column_order), source)
    if plan.absent:
        warnings.warn(
            f"{source}: no column for {', '.join(plan.absent)}; "
            "these are treated as not answered in every row",
            UserWarning, stacklevel=2)

    keep = ~blank_row & ~bad
    index = pd.Index(table.rows[keep], name="row", dtype="int64")
    data = pd.DataFrame(
        {name: _column(conv.values, keep, index) for name, conv in converted.items()},
        index=index)
    reasons_dtype = missing_kinds_dtype()
    reasons = pd.DataFrame(
        {name: pd.Series(pd.Categorical.from_codes(conv.kinds[keep], dtype=reasons_dtype,
                                                   validate=False), index=index)
         for name, conv in converted.items()
         if conv.kinds is not None and cb[name].role in ("item", "demographic")},
        index=index)
    ordered = _order(cell_problems, column_order)
    return SurveyWave(
        wave=wave,
        codebook=cb,
        source=source,
        sha256=sha256,
        data=data,
        missing_reasons=reasons,
        exclusions=_exclusions(ordered),
        rows_read=int((~blank_row).sum()),
        problems=ordered,
    )
