"""A draft codebook written from a survey file (private; ``crisis-survey codebook draft``).

An SPSS (``.sav``) or Stata (``.dta``) file carries most of a codebook already: variable
labels (titles), value labels (categories) and user-missing codes (missing values). A CSV
file carries only values, so each column's type and categories are guessed from them. Every
guess is listed in the field's ``x-review`` property, to be checked and then deleted; the
draft is valid Table Schema either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import CodebookError

__all__ = ["draft_codebook"]

SCHEMA_URL = "https://datapackage.org/profiles/2.0/tableschema.json"

#: label text -> missing kind (first match wins)
_KINDS = (
    (re.compile(r"don.?t know|not sure|unsure|can.?t (say|remember)", re.I), "dont_know"),
    (re.compile(r"not applicable|\bn/?a\b|does not apply|no contact", re.I), "not_applicable"),
    (re.compile(r"prefer not|refus|rather not", re.I), "prefer_not_to_say"),
    (re.compile(r"no answer|not answered|missing|skipped", re.I), "not_answered"),
)

#: column name or label -> role, when the name says it (each a guess, marked for review)
_ROLES = (
    (re.compile(r"^(respondent_?id|response_?id|resp_?id|id|record_?id|case_?id)$", re.I),
     "identifier"),
    (re.compile(r"e-?mail|link_?key|panel_?key|pseudonym", re.I), "link_key"),
    (re.compile(r"^wave$|^survey_?wave$", re.I), "wave"),
    (re.compile(r"^(group|role|respondent_?type|respondent_?group)$", re.I), "group"),
    (re.compile(r"area|region|locality|local_?auth|^la$|^lad\d*|borough|council|county|"
                r"trust|ccg|icb|district", re.I), "area"),
    (re.compile(r"^(age|age_?band|age_?group|gender|sex|ethnic\w*|disabilit\w*|"
                r"sexual_?orientation|religion)$", re.I), "demographic"),
)

#: column name or label of a free-text answer (never categories: it is never published)
_FREE_TEXT = re.compile(r"comment|free_?text|verbatim|open_?text|other.{0,12}specify|"
                        r"please (specify|describe|explain|tell)|anything else", re.I)


def _problem(source: str, problem: str, expected: str) -> CodebookError:
    return CodebookError([{"file": source, "problem": problem, "expected": expected}],
                         headline="No draft codebook could be written")


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "_".join(words)[:40].strip("_") or "field"


def _kind(label: str) -> str | None:
    for pattern, kind in _KINDS:
        if pattern.search(label):
            return kind
    return None


def _role(name: str, label: str, is_date: bool) -> str | None:
    if is_date:
        return "date"
    for pattern, role in _ROLES:
        if pattern.search(name) or (role in ("link_key", "area") and pattern.search(label)):
            return role
    return None


def _code(value: Any) -> int | float | str:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (int, float)) else str(value)


def _field(name: str, label: str, *, numeric: bool, is_date: bool,
           labels: Mapping[Any, str], user_missing: list[Any],
           distinct: list[Any] | None) -> dict[str, Any]:
    """One field's draft from what the file says of the column."""
    review: list[str] = []
    spec: dict[str, Any] = {"name": name}
    if label:
        spec["title"] = label
    role = _role(name, label, is_date)
    if role is None:
        role = "item"
        review.append("x-role: guessed 'item' (a question); set identifier, link_key, wave, "
                      "group, area, date, demographic or other if it is not one")
    else:
        review.append(f"x-role: guessed {role!r} from the column's name")
    missing_codes = {_code(v) for v in user_missing}
    categories = []
    missing = []
    for value, text in sorted(labels.items(), key=lambda kv: (str(type(kv[0])), kv[0])):
        code = _code(value)
        kind = _kind(str(text))
        if code in missing_codes or kind is not None:
            missing.append({"value": str(code), "label": str(text),
                            "x-kind": kind or "dont_know"})
            if kind is None:
                review.append(f"missingValues: code {code} ({text!r}) is user-missing in the "
                              "file; its x-kind 'dont_know' is a guess")
        else:
            categories.append({"value": code, "label": str(text)})
    for code in sorted(missing_codes - {_code(v) for v in labels}, key=str):
        missing.append({"value": str(code), "label": str(code), "x-kind": "dont_know"})
        review.append(f"missingValues: user-missing code {code} has no value label; label and "
                      "x-kind are guesses")
    if is_date:
        spec["type"] = "date"
    elif numeric:
        whole = all(isinstance(c["value"], int) for c in categories) and (
            distinct is None or all(float(v).is_integer() for v in distinct))
        spec["type"] = "integer" if whole else "number"
    else:
        spec["type"] = "string"
    spec["x-role"] = role
    free_text = role == "item" and not labels and not numeric and bool(
        _FREE_TEXT.search(name) or _FREE_TEXT.search(label))
    seen = [v for v in distinct or [] if str(v).strip() != ""]  # a blank is not answered
    if not categories and not free_text and distinct is not None and \
            role in ("item", "group", "demographic") and 0 < len(seen) <= 12:
        categories = [{"value": _code(v), "label": str(_code(v))} for v in seen
                      if _code(v) not in missing_codes]
        review.append(f"categories: the {len(categories)} distinct values seen, labelled by "
                      "themselves; write each level's label")
    if role in ("item", "demographic"):
        # text codes without value labels have no order of their own (their sort order is
        # the alphabet's), so they are guessed nominal; numeric codes are guessed ordinal
        ordered = role == "item" and (bool(labels) or spec["type"] in ("integer", "number"))
        if free_text:
            measurement = "text"
            review.append("x-measurement: guessed 'text' (free text) from the column's name "
                          "or label; free text is never analysed or published")
        elif len(categories) == 2:
            measurement = "binary"
        elif len(categories) > 2:
            measurement = "ordinal" if ordered else "nominal"
        elif spec["type"] in ("integer", "number"):
            measurement = "numeric"
        else:
            measurement = "text"
        spec["x-measurement"] = measurement
        if not free_text:
            review.append(f"x-measurement: guessed {measurement!r}"
                      + (" (levels in code order, lowest first: check the order, or make it "
                             "nominal)" if measurement == "ordinal" else ""))
    elif role == "group":
        spec["x-measurement"] = "nominal"
    if role == "group" and not categories:
        review.append("categories: the group field needs its groups listed")
    if categories:
        spec["categories"] = categories
        if spec.get("x-measurement") == "ordinal":
            spec["categoriesOrdered"] = True
    if missing:
        spec["missingValues"] = [{"value": "", "label": "Not answered",
                                  "x-kind": "not_answered"}, *missing]
    if role == "identifier":
        spec["constraints"] = {"required": True, "unique": True}
    spec["x-review"] = review
    return spec


def _statistical(path: Path, kind: str) -> list[dict[str, Any]]:
    import pyreadstat

    from ..load._readers import _user_missing

    reader = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
    try:
        frame, meta = reader(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _problem(path.name, f"the file cannot be read ({type(exc).__name__}: {exc})",
                       "an SPSS .sav or Stata .dta file") from None
    user = _user_missing(meta)
    labels = meta.variable_value_labels or {}
    titles = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    out = []
    for name in meta.column_names:
        col = frame[name]
        is_date = str(col.dtype).startswith("datetime") or (
            col.dtype == object and col.dropna().map(lambda v: hasattr(v, "year")).all()
            and col.notna().any())
        numeric = col.dtype.kind in "if"
        distinct = sorted(col.dropna().unique().tolist(), key=str) if \
            col.nunique() <= 12 else None
        out.append(_field(str(name).strip(), str(titles.get(name) or ""), numeric=numeric,
                          is_date=bool(is_date), labels=labels.get(name, {}),
                          user_missing=user.get(str(name).strip(), []), distinct=distinct))
    return out


def _csv(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                            sep=None, engine="python", encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise _problem(path.name, f"the file cannot be read as CSV ({exc})",
                       "a UTF-8 CSV file with a header row") from None
    out = []
    for name in frame.columns:
        col = frame[name].dropna().str.strip()
        col = col[col != ""]
        num = pd.to_numeric(col, errors="coerce")
        numeric = bool(len(col)) and bool(num.notna().all())
        dates = pd.to_datetime(col, format="ISO8601", errors="coerce") if not numeric \
            else None
        is_date = dates is not None and bool(len(col)) and bool(dates.notna().all())
        values = num if numeric else col
        distinct = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v)) \
            if values.nunique() <= 12 else None
        spec = _field(str(name).strip(), "", numeric=numeric, is_date=is_date, labels={},
                      user_missing=[], distinct=distinct)
        spec["x-review"].insert(0, f"type: guessed {spec['type']!r} from the values")
        out.append(spec)
    return out


def draft_codebook(path: str | Path, *, rename: bool = False
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """A draft codebook (Table Schema as a dict) and a column mapping, from a survey file.

    Parameters
    ----------
    path
        An SPSS ``.sav``/``.zsav``, Stata ``.dta`` or ``.csv`` file.
    rename
        ``False`` (default): each field is named as the file's column, so the file loads
        without a mapping. ``True``: each field is named from its variable label
        (``overall_quality_of_care`` for ``Q3_1``), and the mapping says which column holds it.

    Returns
    -------
    (schema, mapping)
        ``schema`` lists every guess in the field's ``x-review`` (delete it once checked).
        ``mapping`` maps each file column to the field holding it (with ``rename``, a name
        made from its variable label: ``"Q3_1": "overall_quality_of_care"``); pass it to
        :func:`crisis_survey.load_wave` as ``mapping=``.

    Raises
    ------
    CodebookError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "w1.csv").write_text("id,wave,Q1\\nr1,1,4\\nr2,1,5\\n")
    >>> schema, mapping = draft_codebook(folder / "w1.csv")
    >>> [(f["name"], f["type"], f["x-role"]) for f in schema["fields"]]
    [('id', 'string', 'identifier'), ('wave', 'integer', 'wave'), ('Q1', 'integer', 'item')]
    """
    p = Path(path)
    if not p.is_file():
        raise _problem(str(p), "file not found", "the path of a .sav, .dta or .csv file")
    suffix = p.suffix.lower()
    if suffix in (".sav", ".zsav"):
        fields = _statistical(p, "spss")
    elif suffix == ".dta":
        fields = _statistical(p, "stata")
    elif suffix in (".csv", ".txt", ".tsv"):
        fields = _csv(p)
    else:
        raise _problem(p.name, f"cannot draft a codebook from a {suffix or 'file'} file",
                       "a .sav, .dta or .csv file")
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for f in fields:
        base = _slug(f.get("title") or f["name"])
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        mapping[f["name"]] = name if rename else f["name"]
        if rename:
            f["name"] = name
    roles = {f["x-role"] for f in fields}
    review = [f"no column looks like the {role.replace('_', ' ')}: set one field's x-role to "
              f"{role!r} (the codebook needs exactly one)"
              for role in ("identifier", "link_key", "group") if role not in roles]
    if "wave" not in roles:
        # each wave's file is read as the wave it is given as (load_wave(..., wave=)), so a
        # file without a wave column needs only the field declared
        name = "wave" if "wave" not in {f["name"] for f in fields} else "survey_wave"
        fields.insert(0, {"name": name, "type": "integer", "x-role": "wave", "x-review": [
            "added: no column holds the wave, so each file is read as the wave it is loaded "
            "as (wave=1 or wave=2); if a column does hold it, give that field this role and "
            "delete this one"]})
    schema: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "name": _slug(p.stem),
        "title": f"Draft codebook of {p.name}",
        "version": "0.1.0",
        "x-waves": [{"number": 1, "label": "wave 1"}, {"number": 2, "label": "wave 2"}],
        "fieldsMatch": "superset",
        "x-review": [f"written by crisis-survey codebook draft from {p.name}: check every "
                     "x-review note, then delete it", *review],
        "fields": fields,
    }
    return schema, mapping
