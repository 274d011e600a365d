"""Checking and converting each column of a survey wave against its codebook field (private).

Every check is vectorised over a column. Categorical answers are matched through their few
distinct values: :func:`pandas.factorize` gives each cell the index of its distinct value,
each distinct value is looked up once in the field's table of codes and labels, and the
result is taken back to the cells with one array index. A million answers thus cost one
factorize and a handful of dictionary look-ups.

Problems are collected, never raised here: each check adds the offending cells (row number,
value, what is wrong, what was expected) to a :class:`Problems` collector and marks their rows
as bad.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._errors import PROBLEM_COLUMNS
from ..codebook import Field, WaveInfo
from ..codebook._model import MISSING_KINDS

__all__ = ["PROBLEM_KINDS", "Converted", "Problems", "convert_field", "file_aliases",
           "missing_kinds_dtype"]

#: The ``problem`` wording of every cell-level check (stable: filter the problems table on it).
PROBLEM_KINDS: dict[str, str] = {
    "unknown": "unknown code or label",
    "group": "group not in the codebook",
    "not_number": "not a number",
    "not_whole": "not a whole number",
    "below": "below the minimum",
    "above": "above the maximum",
    "required": "missing required value",
    "duplicate": "duplicate identifier",
    "duplicate_value": "duplicate value in a unique column",
    "bad_date": "malformed date",
    "outside": "date outside the fieldwork window",
    "wave": "wave does not match",
    "not_boolean": "not true or false",
    "control": "control character in the value",
    "nul": "NUL byte in the value (the file may be damaged)",
    "personal": "looks like an e-mail address or phone number",
}

#: Characters no value may hold: C0 controls and DEL (free text may hold tab and newlines).
_CONTROL_ANY = r"[\x00-\x1f\x7f]"
_CONTROL_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


_KIND = {kind: np.int8(i) for i, kind in enumerate(MISSING_KINDS)}
NOT_ANSWERED = _KIND["not_answered"]


def missing_kinds_dtype() -> pd.CategoricalDtype:
    """The dtype of ``SurveyWave.missing_reasons`` columns."""
    return pd.CategoricalDtype(list(MISSING_KINDS), ordered=False)


def _given(value: Any) -> bool:
    return not (value is None or value is pd.NA or value is pd.NaT
                or (isinstance(value, float) and math.isnan(value)))


def _no_kinds(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int8)


#: What a problem shows instead of a value it must not repeat (an identifier, a link key,
#: a free-text answer, or anything that looks like an e-mail address or phone number): the
#: file, row and column say where it is.
WITHHELD_VALUE = "[not shown: {}]"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+")


def withheld(value: Any) -> bool:
    """Whether ``value`` is the placeholder of a value a problem does not show."""
    return isinstance(value, str) and value.startswith(WITHHELD_VALUE.split("{")[0])


def looks_personal(value: Any) -> str | None:
    """``"an e-mail address"`` or ``"a phone number"`` if ``value`` looks like one, else None.

    A phone number is text of digits, spaces and ``+ ( ) . - /`` holding 10 to 15 digits (or
    7 to 15 after a leading ``+``); shorter numbers, such as area codes, pass.

    Examples
    --------
    >>> looks_personal("jo.bloggs@example.org"), looks_personal("+44 7700 900123")
    ('an e-mail address', 'a phone number')
    >>> looks_personal("E06000001"), looks_personal("12345"), looks_personal(2014)
    (None, None, None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _EMAIL.fullmatch(text):
        return "an e-mail address"
    if _PHONE_CHARS.fullmatch(text):
        digits = sum(ch.isdigit() for ch in text)
        if 10 <= digits <= 15 or (text.startswith("+") and 7 <= digits <= 15):
            return "a phone number"
    return None


class Problems:
    """Collects cell-level problems of one file and the rows they make bad.

    ``withheld`` maps a column to why its values are never repeated in a problem (an
    identifier, the link key, free text): its problems show :data:`WITHHELD_VALUE` instead.
    """

    def __init__(self, source: str, rows: np.ndarray) -> None:
        self.source = source
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        self.frames: list[pd.DataFrame] = []
        self.withheld: dict[str, str] = {}

    def shown(self, column: str, values: np.ndarray) -> np.ndarray:
        """The values as a problem may show them: private ones replaced by a placeholder."""
        why = self.withheld.get(column)
        out = values.copy()
        for i, v in enumerate(values.tolist()):
            reason = why if why is not None and _given(v) else looks_personal(v)
            if reason is not None:
                out[i] = WITHHELD_VALUE.format(reason)
        return out

    def flag(
        self,
        column: str,
        mask: np.ndarray,
        raw: pd.Series,
        problem: str,
        expected: str | Sequence[str] | np.ndarray,
    ) -> None:
        """Record a problem for every cell of ``column`` where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        values = raw[mask].to_numpy(dtype=object)  # the flagged cells only, not every one
        if isinstance(raw.dtype, pd.Int8Dtype | pd.Int16Dtype):  # CSV codes as numbers: text
            values = np.array([str(v) for v in values], dtype=object)
        values = self.shown(column, values)
        exp: Any = expected if isinstance(expected, str) else np.asarray(expected, dtype=object)
        self.frames.append(pd.DataFrame({
            "file": self.source, "row": self.rows[mask], "column": column,
            "value": values, "problem": problem, "expected": exp,
        }))
        self.bad |= mask

    def add_rows(self, problems: pd.DataFrame) -> None:
        """Problems the reader found, with their row numbers: rows of the frame among them
        are marked bad; rows the reader could not read (not in the frame) are only listed."""
        if problems.empty:
            return
        self.frames.append(problems.loc[:, list(PROBLEM_COLUMNS)])
        self.bad |= np.isin(self.rows, problems["row"].to_numpy(dtype=np.int64))

    def table(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
        return pd.concat(self.frames, ignore_index=True)


@dataclass
class Converted:
    """One field converted: its values, why answers are missing, which cells are blank."""

    values: pd.Series | pd.Categorical | np.ndarray | pd.api.extensions.ExtensionArray
    blank: np.ndarray
    #: Missing kind per row as a code into ``MISSING_KINDS`` (``-1``: answered), or None for
    #: fields without missing reasons (identifiers, dates, ...).
    kinds: np.ndarray | None = None


# -- tokens: how one cell value is compared with codebook codes and labels ------------------
def _token(value: Any) -> str | None:
    """Normal form of one value: ``None`` if blank; integral numbers as ``"3"``; text
    stripped, case-folded, inner spaces collapsed, curly quotes straightened."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = _SPACES.sub(" ", str(value).translate(_QUOTES)).strip().casefold()
    if not text:
        return None
    if _NUMBER.match(text):
        number = float(text)
        if number.is_integer() and math.isfinite(number):
            return str(int(number))
    return text


def _factor(raw: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes (``-1`` for NA) and the distinct values of a column."""
    if isinstance(raw.dtype, pd.CategoricalDtype):  # already factorised (Parquet dictionary)
        return raw.cat.codes.to_numpy(), list(raw.cat.categories)
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iu" and len(raw):
        # Small integer codes index themselves: no hashing needed.
        vals = raw.to_numpy()
        lo, hi = int(vals.min()), int(vals.max())
        if hi - lo < 4096:
            return vals.astype(np.int64) - lo, list(range(lo, hi + 1))
    if isinstance(raw.dtype, pd.Int8Dtype | pd.Int16Dtype) and len(raw):
        # small whole-number codes as the CSV parser read them (NA where blank)
        data = np.asarray(raw.array._data)
        mask = np.asarray(raw.array._mask)
        if mask.all():
            return np.full(len(raw), -1, dtype=np.int64), []
        valid = data[~mask]
        lo, hi = int(valid.min()), int(valid.max())
        if hi - lo < 4096:
            small = data.astype(np.int32) - lo
            small[mask] = -1
            return small, list(range(lo, hi + 1))
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _take(per_unique: np.ndarray, codes: np.ndarray, na_value: Any) -> np.ndarray:
    """Spread per-distinct-value results to cells; code ``-1`` (NA) gets ``na_value``."""
    table: np.ndarray = np.append(per_unique, np.array([na_value], dtype=per_unique.dtype))
    out: np.ndarray = table[codes]
    return out


def _level_text(f: Field) -> str:
    parts = [f"{lv.code} = {lv.label}" for lv in f.levels]
    text = ", ".join(parts) + " (code or label)"
    if f.missing:
        text += "; or " + ", ".join(f"{m.code} = {m.label}" for m in f.missing)
    return text


def lookup_table(f: Field) -> dict[str, int | str]:
    """Token -> level index (int) or missing kind (str). Codes win over labels."""
    table: dict[str, int | str] = {}
    for i, lv in enumerate(f.levels):
        tok = _token(lv.label)
        if tok is not None:
            table[tok] = i
    for m in f.missing:
        tok = _token(m.label)
        if tok is not None:
            table[tok] = m.kind
    for i, lv in enumerate(f.levels):
        tok = _token(lv.code)
        if tok is not None:
            table[tok] = i
    for m in f.missing:
        tok = _token(m.code)
        if tok is not None:
            table[tok] = m.kind
    return table


# -- converters ----------------------------------------------------------------------------
def file_aliases(f: Field, labels: dict[Any, str], user_missing: list[Any]
                 ) -> dict[str, int | str]:
    """What an SPSS/Stata file's own value labels say its codes mean, for codes the codebook
    does not know: a code labelled like a codebook level or missing code (by label) is read
    as it. A user-missing code of the file labelled like no codebook entry stays unknown."""
    table = lookup_table(f)
    out: dict[str, int | str] = {}
    for code, label in labels.items():
        tok = _token(code)
        if tok is None or tok in table:
            continue
        hit = table.get(_token(label) or "")
        if hit is not None:
            out[tok] = hit
    del user_missing  # reported through their labels (see value_label_conflicts)
    return out


def _control(f: Field, raw: pd.Series, column: str, probs: Problems,
             clean: tuple[bool, bool] | None) -> None:
    """Flag values holding NUL bytes or other control characters (never silently kept: an
    area code with a stray control character would be a different area).

    ``clean`` is what the reader knows of the whole file: (no control bytes but tab and
    line breaks, no quoted values); a plain text column of such a file is not scanned.

    The link key is the one exception: a retyped or pasted key often carries an invisible
    character (NUL, U+202E, ...), and linkage removes every such character when it
    normalises keys (docs/linkage.md), so the row is kept and still links."""
    if f.role == "link_key":
        return
    if not (isinstance(raw.dtype, pd.CategoricalDtype) or ptypes.is_string_dtype(raw.dtype)
            or raw.dtype == object):
        return
    if clean is not None and clean[0] and not isinstance(raw.dtype, pd.CategoricalDtype) \
            and (clean[1] or f.measurement == "text"):
        return
    pattern = _CONTROL_TEXT if f.measurement == "text" else _CONTROL_ANY
    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = pd.Series(np.asarray(raw.cat.categories, dtype=object))
        per = cats.map(lambda v: isinstance(v, str) and re.search(pattern, v) is not None)
        nul = cats.map(lambda v: isinstance(v, str) and "\x00" in v)
        codes = raw.cat.codes.to_numpy()
        hit = _take(per.to_numpy(dtype=bool), codes, False)
        has_nul = _take(nul.to_numpy(dtype=bool), codes, False)
    elif raw.dtype == object:
        hit = raw.map(lambda v: isinstance(v, str) and re.search(pattern, v) is not None
                      ).to_numpy(dtype=bool)
        has_nul = raw.map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy(dtype=bool)
    else:
        hit = raw.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)
        if not hit.any():
            return
        has_nul = raw.str.contains("\x00", regex=False).to_numpy(dtype=bool, na_value=False)
    if not hit.any():
        return
    probs.flag(column, has_nul, raw, PROBLEM_KINDS["nul"],
               "text without NUL bytes: re-export the file")
    probs.flag(column, hit & ~has_nul, raw, PROBLEM_KINDS["control"],
               "printable text" + (" (tabs and line breaks are allowed in free text)"
                                   if f.measurement == "text" else
                                   " without tabs, line breaks or other control characters"))


def _categorical(f: Field, raw: pd.Series, column: str, probs: Problems,
                 aliases: dict[str, int | str] | None = None) -> Converted:
    codes, uniques = _factor(raw)
    table = lookup_table(f)
    if aliases:
        table = {**aliases, **table}
    k = len(uniques)
    level = np.full(k, -1, dtype=np.int64)
    kind = _no_kinds(k)
    bad = np.zeros(k, dtype=bool)
    blank = np.zeros(k, dtype=bool)
    for i, value in enumerate(uniques):
        tok = _token(value)
        if tok is None:
            blank[i] = True
            continue
        hit = table.get(tok)
        if hit is None:
            bad[i] = True
        elif isinstance(hit, str):
            kind[i] = _KIND[hit]
        else:
            level[i] = hit
    row_level = _take(level, codes, -1)
    row_blank = _take(blank, codes, True)
    row_kind = _take(kind, codes, NOT_ANSWERED)
    row_kind[row_blank] = NOT_ANSWERED
    problem = PROBLEM_KINDS["group"] if f.role == "group" else PROBLEM_KINDS["unknown"]
    probs.flag(column, _take(bad, codes, False), raw, problem, _level_text(f))
    values = pd.Categorical.from_codes(
        row_level, dtype=pd.CategoricalDtype(list(f.labels), ordered=f.ordered), validate=False)
    return Converted(values=values, blank=row_blank, kinds=row_kind)


def _missing_of_text(f: Field, tokens: pd.Series) -> np.ndarray:
    """Missing kind per row for a field whose missing codes are matched as text."""
    kinds = _no_kinds(len(tokens))
    for m in f.missing:
        for tok in {_token(m.code), _token(m.label)} - {None}:
            kinds[(tokens == tok).to_numpy(dtype=bool, na_value=False)] = _KIND[m.kind]
    return kinds


def as_text(raw: pd.Series) -> pd.Series:
    """A column as stripped text (NaN for blank); integral numbers without ``.0``."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = as_text(pd.Series(np.asarray(raw.cat.categories, dtype=object)))
        codes = raw.cat.codes.to_numpy()
        out = _take(cats.to_numpy(dtype=object), codes, np.nan)
        return pd.Series(out, index=raw.index, dtype="str")
    if ptypes.is_bool_dtype(raw.dtype):
        return raw.map({True: "1", False: "0"}).astype("str")
    if ptypes.is_integer_dtype(raw.dtype):
        return raw.astype("str")
    if ptypes.is_float_dtype(raw.dtype):
        v = raw.to_numpy(dtype=float)
        whole = np.isfinite(v) & (np.mod(v, 1.0) == 0)
        out = np.full(len(v), np.nan, dtype=object)
        out[whole] = v[whole].astype(np.int64).astype(str)
        frac = ~whole & ~np.isnan(v)
        out[frac] = v[frac].astype(str)
        return pd.Series(out, index=raw.index, dtype="str")
    if ptypes.is_string_dtype(raw.dtype) and (
        raw.dtype != object or pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty")
    ):
        text = raw.astype("str").str.strip()
        return text.mask(text == "")

    def one(v: Any) -> Any:
        if v is None or v is pd.NA or v is pd.NaT:
            return np.nan
        if isinstance(v, float):
            if math.isnan(v):
                return np.nan
            return str(int(v)) if v.is_integer() else str(v)
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            return v.date().isoformat() if v == pd.Timestamp(v).normalize() else v.isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        text = str(v).strip()
        return text if text else np.nan

    codes, uniques = _factor(raw)
    mapped = np.array([one(u) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(mapped[codes], index=raw.index, dtype="str")


def _text(f: Field, raw: pd.Series, column: str, probs: Problems) -> Converted:
    text = as_text(raw)
    kinds = _missing_of_text(f, text.str.casefold()) if f.missing else None
    blank = text.isna().to_numpy()
    if kinds is not None:
        text = text.mask(kinds >= 0)
    if f.role in ("item", "demographic"):
        kinds = kinds if kinds is not None else _no_kinds(len(text))
        kinds[blank] = NOT_ANSWERED
    if f.unique:
        _duplicates(f, text, column, raw, probs)
    return Converted(values=text, blank=blank, kinds=kinds)


def repeated(text: pd.Series) -> np.ndarray:
    """Which cells hold a value some other cell holds too (a blank never does).

    Text held by pyarrow is sorted once and each value compared with the next: pandas'
    ``duplicated`` (a hash table of every value) held about 1.4 GB for ten million
    identifiers, this about 0.5 GB, in half the time (issue 13). Other columns, and
    :func:`repeated_reference` that tests compare this with, use ``duplicated``."""
    dtype = text.dtype
    n = len(text)
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or n < 2:
        return repeated_reference(text)
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(text.array)
    order = pc.sort_indices(values)  # blanks last
    ranked = pc.take(values, order)
    same = pc.equal(ranked.slice(1), ranked.slice(0, n - 1)).fill_null(False)
    del ranked
    pairs = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
    out = np.zeros(n, dtype=bool)
    if not pairs.any():
        return out
    sorted_dup = np.zeros(n, dtype=bool)
    sorted_dup[:-1] |= pairs
    sorted_dup[1:] |= pairs
    out[np.asarray(order.to_numpy(zero_copy_only=False), dtype=np.int64)] = sorted_dup
    return out


def repeated_reference(text: pd.Series) -> np.ndarray:
    """The plain form of :func:`repeated` (tests compare the two)."""
    out: np.ndarray = (text.duplicated(keep=False) & text.notna()).to_numpy(dtype=bool)
    return out


def _duplicates(f: Field, text: pd.Series, column: str, raw: pd.Series, probs: Problems) -> None:
    dup = repeated(text)
    if not dup.any():
        return
    rows = probs.rows[dup]
    values = text[dup].to_numpy(dtype=object)  # the repeated values only, not every one
    where: dict[Hashable, list[int]] = {}
    for value, row in zip(values.tolist(), rows.tolist(), strict=True):
        where.setdefault(value, []).append(row)
    expected = [
        f"each {f.name} once in the wave; the same value is on row"
        f"{'s' if len(where[v]) > 2 else ''} {', '.join(str(r) for r in where[v] if r != row)}"
        for v, row in zip(values.tolist(), rows.tolist(), strict=True)
    ]
    problem = PROBLEM_KINDS["duplicate"] if f.role == "identifier" else \
        PROBLEM_KINDS["duplicate_value"]
    probs.flag(column, dup, raw, problem, expected)


def _drop_personal(f: Field, column: str, raw: pd.Series, probs: Problems, codes: np.ndarray,
                   uniques: Any) -> tuple[np.ndarray, Any]:
    """Flag the rows whose value looks like contact details and drop those values from the
    categories (codes ``-1``): they never become a label of any table."""
    personal = np.array([looks_personal(u) is not None for u in uniques], dtype=bool)
    if not personal.any():
        return codes, uniques
    bad = _take(personal, codes, False)
    probs.flag(column, bad, raw, PROBLEM_KINDS["personal"],
               f"a {f.role} code or name (never a person's contact details)")
    new_index = np.append(np.cumsum(~personal) - 1, -1)  # the last entry: code -1 stays -1
    out = np.where(bad, -1, new_index[codes]).astype(np.int64)
    return out, [u for u, p in zip(uniques, personal, strict=True) if not p]


def _observed_categories(f: Field, raw: pd.Series, column: str, probs: Problems) -> Converted:
    """A nominal field without declared levels (e.g. local area codes): the values seen."""
    if isinstance(raw.dtype, pd.CategoricalDtype) and not f.unique:
        # dictionary-encoded: normalise each distinct value once, then merge equal ones
        cats = as_text(pd.Series(np.asarray(raw.cat.categories, dtype=object)))
        kinds_per = _missing_of_text(f, cats.str.casefold()) if f.missing else None
        if kinds_per is not None:
            cats = cats.mask(kinds_per >= 0)
        uniq_codes, uniques = pd.factorize(cats, sort=True, use_na_sentinel=True)
        codes = raw.cat.codes.to_numpy()
        row_code = _take(np.asarray(uniq_codes, dtype=np.int64), codes, -1)
        row_code, uniques = _drop_personal(f, column, raw, probs, row_code, uniques)
        blank = _take(cats.isna().to_numpy() if kinds_per is None else
                      (cats.isna().to_numpy() & (kinds_per < 0)), codes, True)
        kinds = None
        if kinds_per is not None:
            kinds = _take(kinds_per, codes, np.int8(-1))
        if f.role in ("item", "demographic"):
            kinds = kinds if kinds is not None else _no_kinds(len(codes))
            kinds[blank] = NOT_ANSWERED
        values = pd.Categorical.from_codes(
            row_code, dtype=pd.CategoricalDtype([str(u) for u in uniques], ordered=False),
            validate=False)
        return Converted(values=values, blank=blank, kinds=kinds)
    conv = _text(f, raw, column, probs)
    codes, uniques = pd.factorize(pd.Series(conv.values), sort=True, use_na_sentinel=True)
    codes, uniques = _drop_personal(f, column, raw, probs, np.asarray(codes), uniques)
    conv.values = pd.Categorical.from_codes(
        codes, dtype=pd.CategoricalDtype([str(u) for u in uniques], ordered=False),
        validate=False)
    return conv


def _numbers(raw: pd.Series, need_text: bool = True
             ) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Float values, the blank mask, and the stripped text (None if stored as numbers, or
    if not ``need_text`` for a dictionary-encoded column)."""
    if ptypes.is_bool_dtype(raw.dtype) or (
        ptypes.is_numeric_dtype(raw.dtype) and not isinstance(raw.dtype, pd.CategoricalDtype)
    ):
        num = raw.to_numpy(dtype=float, na_value=np.nan)
        return num, np.isnan(num), None
    if isinstance(raw.dtype, pd.CategoricalDtype):
        # dictionary-encoded (CSV, Parquet): convert each distinct value once
        cats = as_text(pd.Series(np.asarray(raw.cat.categories, dtype=object)))
        per = pd.to_numeric(cats, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        codes = raw.cat.codes.to_numpy()
        num = _take(per, codes, np.nan)
        blank = _take(cats.isna().to_numpy(), codes, True)
        return num, blank, (as_text(raw) if need_text else None)
    text = as_text(raw)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return num, text.isna().to_numpy(), text


def _numeric(f: Field, raw: pd.Series, column: str, probs: Problems) -> Converted:
    num, blank, text = _numbers(raw, any(isinstance(m.code, str) for m in f.missing))
    kinds = _no_kinds(len(num))
    for m in f.missing:
        if isinstance(m.code, int):
            kinds[num == m.code] = _KIND[m.kind]
        elif text is not None:
            kinds[(text.str.casefold() == m.code.casefold()).to_numpy(bool, na_value=False)] = \
                _KIND[m.kind]
    coded = kinds >= 0
    bad_number = ~blank & ~coded & np.isnan(num)
    probs.flag(column, bad_number, raw, PROBLEM_KINDS["not_number"],
               "a number" + (" or " + ", ".join(f"{m.code} = {m.label}" for m in f.missing)
                             if f.missing else ""))
    ok = ~blank & ~coded & ~np.isnan(num)
    if f.type == "integer":
        frac = ok & (np.mod(num, 1.0, where=ok, out=np.zeros_like(num)) != 0)
        probs.flag(column, frac, raw, PROBLEM_KINDS["not_whole"], "a whole number")
        ok &= ~frac
    if f.minimum is not None:
        probs.flag(column, ok & (num < f.minimum), raw, PROBLEM_KINDS["below"],
                   f"at least {f.minimum:g}")
    if f.maximum is not None:
        probs.flag(column, ok & (num > f.maximum), raw, PROBLEM_KINDS["above"],
                   f"at most {f.maximum:g}")
    values = np.where(coded, np.nan, num)
    kinds[blank] = NOT_ANSWERED
    return Converted(values=values, blank=blank,
                     kinds=kinds if f.role in ("item", "demographic") else None)


def _date_format(fmt: str) -> tuple[str, bool]:
    if fmt in ("default", "%Y-%m-%d", ""):
        return "ISO8601", False
    if fmt == "any":
        return "mixed", True
    return fmt, False


def _date(f: Field, raw: pd.Series, column: str, probs: Problems, info: WaveInfo) -> Converted:
    fmt, dayfirst = _date_format(f.format)
    if ptypes.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.Series(raw.to_numpy(), index=raw.index)
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            parsed = raw.dt.tz_localize(None)
        blank = parsed.isna().to_numpy()
        bad = np.zeros(len(raw), dtype=bool)
    else:
        if raw.dtype == object:
            is_stamp = raw.map(lambda v: isinstance(v, dt.date)).to_numpy(dtype=bool)
        else:
            is_stamp = np.zeros(len(raw), dtype=bool)
        if isinstance(raw.dtype, pd.CategoricalDtype):
            # a few hundred fieldwork days: parse each distinct date once
            cats = as_text(pd.Series(np.asarray(raw.cat.categories, dtype=object)))
            per = pd.to_datetime(cats, format=fmt, dayfirst=dayfirst, errors="coerce")
            codes = raw.cat.codes.to_numpy()
            stamp = _take(per.to_numpy(dtype="datetime64[ns]"), codes, np.datetime64("NaT"))
            parsed = pd.Series(stamp, index=raw.index)
            blank = _take(cats.isna().to_numpy(), codes, True)
        else:
            text = as_text(raw.where(~is_stamp)) if is_stamp.any() else as_text(raw)
            blank = text.isna().to_numpy() & ~is_stamp
            parsed = pd.to_datetime(text, format=fmt, dayfirst=dayfirst, errors="coerce")
        if is_stamp.any():
            stamps = pd.to_datetime(raw[is_stamp].astype(object).map(pd.Timestamp))
            parsed = parsed.astype(stamps.dtype)
            parsed[is_stamp] = stamps
        bad = ~blank & parsed.isna().to_numpy()
    if fmt == "ISO8601":
        shown = "a date written YYYY-MM-DD, e.g. 2014-10-31"
    elif fmt == "mixed":
        shown = "a date, day before month, e.g. 31/10/2014 or 2014-10-31"
    else:
        shown = f"a date written {f.format}, e.g. {dt.date(2014, 10, 31).strftime(f.format)}"
    probs.flag(column, bad, raw, PROBLEM_KINDS["bad_date"], shown)
    values = pd.Series(parsed, index=raw.index).dt.normalize().astype("datetime64[ns]")
    got = values.notna().to_numpy()
    if info.fieldwork_start is not None or info.fieldwork_end is not None:
        outside = np.zeros(len(values), dtype=bool)
        if info.fieldwork_start is not None:
            outside |= got & (values < pd.Timestamp(info.fieldwork_start)).to_numpy()
        if info.fieldwork_end is not None:
            outside |= got & (values > pd.Timestamp(info.fieldwork_end)).to_numpy()
        window = (f"{info.fieldwork_start or 'any date'} to {info.fieldwork_end or 'any date'}"
                  f" (wave {info.number} fieldwork)")
        probs.flag(column, outside, raw, PROBLEM_KINDS["outside"], window)
    return Converted(values=values.to_numpy(), blank=blank)


def _wave(f: Field, raw: pd.Series, column: str, probs: Problems, wave: int) -> Converted:
    num, blank, _ = _numbers(raw, need_text=False)
    wrong = ~blank & ~(num == wave)
    probs.flag(column, wrong, raw, PROBLEM_KINDS["wave"],
               f"{wave} (the wave being loaded)")
    return Converted(values=np.full(len(num), wave, dtype=np.int64), blank=blank)


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _boolean(f: Field, raw: pd.Series, column: str, probs: Problems) -> Converted:
    codes, uniques = _factor(raw)
    k = len(uniques)
    val = np.full(k, -1, dtype=np.int8)
    blank = np.zeros(k, dtype=bool)
    for i, u in enumerate(uniques):
        tok = _token(u)
        if tok is None:
            blank[i] = True
        elif tok in _TRUE:
            val[i] = 1
        elif tok in _FALSE:
            val[i] = 0
    row_val = _take(val, codes, -1)
    row_blank = _take(blank, codes, True)
    probs.flag(column, (row_val < 0) & ~row_blank, raw, PROBLEM_KINDS["not_boolean"],
               "true/false, yes/no or 1/0")
    out = pd.array(row_val == 1, dtype="boolean")
    out[row_val < 0] = pd.NA
    kinds = None
    if f.role in ("item", "demographic"):
        kinds = np.where(row_blank, NOT_ANSWERED, np.int8(-1)).astype(np.int8)
    return Converted(values=out, blank=row_blank, kinds=kinds)


def convert_field(
    f: Field, raw: pd.Series, column: str, probs: Problems, *, wave: int, info: WaveInfo,
    aliases: dict[str, int | str] | None = None, clean: tuple[bool, bool] | None = None,
) -> Converted:
    """Check and convert the column ``column`` (values ``raw``) holding field ``f``.

    ``aliases`` (token -> level index or missing kind) are codes an SPSS/Stata file's own
    value labels explain (see :func:`file_aliases`)."""
    if f.private is not None and f.role != "date" and f.type not in ("date", "datetime"):
        probs.withheld[column] = f.private
    _control(f, raw, column, probs, clean)
    if f.levels:
        conv = _categorical(f, raw, column, probs, aliases)
    elif f.role == "wave":
        conv = _wave(f, raw, column, probs, wave)
    elif f.type == "date":
        conv = _date(f, raw, column, probs, info)
    elif f.role in ("identifier", "link_key") or f.measurement == "text":
        conv = _text(f, raw, column, probs)
    elif f.type == "boolean":
        conv = _boolean(f, raw, column, probs)
    elif f.type in ("integer", "number"):
        conv = _numeric(f, raw, column, probs)
    elif f.measurement in ("nominal", "ordinal", "binary") or f.role in ("group", "area"):
        conv = _observed_categories(f, raw, column, probs)
    else:
        conv = _text(f, raw, column, probs)
    if f.required:
        probs.flag(column, conv.blank, raw, PROBLEM_KINDS["required"],
                   f"a value for {f.name} ({f.label}) in every row")
    return conv


def empty_converted(f: Field, n: int, wave: int) -> Converted:
    """An optional field the file does not have: every answer missing (not answered)."""
    blank = np.ones(n, dtype=bool)
    kinds = np.full(n, NOT_ANSWERED, dtype=np.int8) if f.role in ("item", "demographic") \
        else None
    values: Any
    if f.levels:
        values = pd.Categorical.from_codes(
            np.full(n, -1, dtype=np.int64),
            dtype=pd.CategoricalDtype(list(f.labels), ordered=f.ordered))
    elif f.role == "wave":
        values = np.full(n, wave, dtype=np.int64)
    elif f.type == "date":
        values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    elif f.role in ("identifier", "link_key") or f.measurement == "text":
        values = pd.Series(np.full(n, np.nan, dtype=object), dtype="str")
    elif f.type == "boolean":
        values = pd.array([pd.NA] * n, dtype="boolean")
    elif f.type in ("integer", "number"):
        values = np.full(n, np.nan)
    elif f.measurement in ("nominal", "ordinal", "binary") or f.role in ("group", "area"):
        values = pd.Categorical([None] * n, categories=[])
    else:
        values = pd.Series(np.full(n, np.nan, dtype=object), dtype="str")
    return Converted(values=values, blank=blank, kinds=kinds)


def value_label_conflicts(
    f: Field, labels: dict[Any, str], column: str, source: str
) -> list[dict[str, Any]]:
    """SPSS value labels that give a code the meaning of another codebook level (a reversed
    or shifted scale): file-level problems."""
    table = lookup_table(f)
    out = []
    for code, label in labels.items():
        by_code = table.get(_token(code) or "")
        by_label = table.get(_token(label) or "")
        if by_code is not None and by_label is not None and by_code != by_label:
            meant = (f.levels[by_code].label if isinstance(by_code, int) else
                     next(m.label for m in f.missing if m.kind == by_code))
            out.append({
                "file": source, "row": None, "column": column,
                "value": f"{_token(code) or code} = {label}",
                "problem": "the file's value label contradicts the codebook",
                "expected": f"code {_token(code)} labelled {meant!r} as in the codebook",
            })
    return out
