"""Reading a codebook from a Frictionless Table Schema (v2) JSON file (private).

Standard Table Schema properties carry what they can (``name``, ``type``, ``title``,
``description``, ``constraints``, ``categories``, ``categoriesOrdered``, ``missingValues``);
what the standard has no word for is in ``x-`` properties, which Table Schema allows:

- field ``x-role``: identifier, link_key, wave, group, area, date, demographic, item, other
- field ``x-measurement``: ordinal, binary, nominal, numeric, text
- field ``x-question``: the question as asked; ``x-waves``: the waves that asked it
- field ``x-polarity``: ``higher_is_better`` or ``lower_is_better`` (ordinal, binary and
  numeric items; for a binary item, more of the reported level); absent: no direction is
  better, and verdicts say "increased"/"decreased" instead of "improved"/"got worse"
- field ``x-selectGroup``: the multi-select question a 0/1 column belongs to
- field ``x-unticked``: the code a blank cell of an ``x-selectGroup`` column means when the
  respondent ticked another option of the question (the export writes ticked options only)
- field ``x-reports``: the code of the level a binary item reports (default: the level
  coded 1)
- each object in a field's ``missingValues`` has ``value``, ``label`` and ``x-kind``
  (dont_know, not_applicable, prefer_not_to_say)
- schema ``version``, ``x-waves`` (number, label, fieldworkStart, fieldworkEnd),
  ``x-synthetic``.
- schema ``x-scales``: named response scales (``categories``, ``categoriesOrdered``,
  ``missingValues``, ``x-measurement``, ``type``) written once; a field's ``x-scale`` names
  one, and the field's own properties override the scale's.

A field that lists ``missingValues`` replaces the standard's default (``[""]``: a blank cell
is missing), so the shipped codebook lists ``""`` first in each; the library reads a blank as
"not answered" either way, and ignores a ``""`` entry (bare or ``{"value": ""}``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from .._errors import CodebookError
from .._resources import data_dir
from ._model import (
    MEASUREMENTS,
    MISSING_KINDS,
    POLARITIES,
    ROLES,
    Codebook,
    Field,
    Level,
    Measurement,
    MissingCode,
    MissingKind,
    Role,
    WaveInfo,
)

DEFAULT_CODEBOOK = "crisis_care_survey.schema.json"
_TYPES = ("string", "integer", "number", "date", "boolean")


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[dict[str, Any]] = []

    def add(self, column: str | None, value: Any, problem: str, expected: str) -> None:
        self.rows.append(
            {"file": self.source, "row": None, "column": column, "value": value,
             "problem": problem, "expected": expected}
        )


def _code(raw: Any, ftype: str) -> int | str:
    if ftype == "integer":
        if isinstance(raw, bool):
            raise ValueError(raw)
        if isinstance(raw, int):
            return raw
        return int(str(raw).strip())
    return str(raw)


def _date(raw: Any) -> dt.date | None:
    return None if raw in (None, "") else dt.date.fromisoformat(str(raw))


def suggest(value: object, choices: list[str] | tuple[str, ...]) -> str:
    """" (did you mean 'x'?)" for the closest of ``choices`` (case ignored), or "".

    The one "did you mean" of the library: codebook roles and scales, sheet names, plan
    items, ``by`` and families."""
    folded = {str(c).casefold(): str(c) for c in choices}
    close = difflib.get_close_matches(str(value).casefold(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


def _list(spec: Mapping[str, Any], key: str, name: str | None, probs: _Problems) -> list[Any]:
    """``spec[key]`` if it is a JSON list (absent or null: empty); otherwise a problem."""
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        probs.add(name, value, f"{key} is not a list", f"a JSON list for {key!r}")
        return []
    return value


def _text(spec: Mapping[str, Any], key: str, name: str | None, probs: _Problems,
          default: str = "") -> str:
    value = spec.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        probs.add(name, value, f"{key} is not text", f"a JSON string for {key!r}")
        return default
    return str(value)


_SCALE_KEYS = ("type", "categories", "categoriesOrdered", "missingValues", "x-measurement")


def _with_scale(spec: Mapping[str, Any], scales: Mapping[str, Mapping[str, Any]],
                probs: _Problems) -> Mapping[str, Any]:
    """The field's properties on top of those of the scale its ``x-scale`` names."""
    ref = spec.get("x-scale")
    if ref is None:
        return spec
    name = spec.get("name") if isinstance(spec.get("name"), str) else None
    if not isinstance(ref, str) or ref not in scales:
        probs.add(name, ref, "x-scale names no scale of the codebook's x-scales"
                  + suggest(ref, list(scales)),
                  "one of " + (", ".join(sorted(scales)) or "(no x-scales declared)"))
        return spec
    return {**scales[ref], **spec}


def _scales(spec: Mapping[str, Any], probs: _Problems) -> dict[str, Mapping[str, Any]]:
    raw = spec.get("x-scales")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        probs.add(None, raw, "x-scales is not a JSON object",
                  '{"agree5": {"categories": [...], "categoriesOrdered": true}}')
        return {}
    out: dict[str, Mapping[str, Any]] = {}
    for key, scale in raw.items():
        if not isinstance(scale, Mapping):
            probs.add(None, key, "a scale of x-scales is not a JSON object",
                      "an object with categories (and categoriesOrdered, missingValues)")
            continue
        extra = sorted(set(scale) - set(_SCALE_KEYS))
        if extra:
            probs.add(None, f"{key}: {', '.join(map(str, extra))}",
                      "a scale has properties a scale cannot carry",
                      "only " + ", ".join(_SCALE_KEYS))
        out[str(key)] = {k: v for k, v in scale.items() if k in _SCALE_KEYS}
    return out


def _parse_field(spec: Mapping[str, Any], probs: _Problems, wave_numbers: set[int],
                 scales: Mapping[str, Mapping[str, Any]] | None = None) -> Field | None:
    if not isinstance(spec, Mapping):
        probs.add(None, spec, "a field is not a JSON object", "an object with 'name' and 'type'")
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        probs.add(None, name, "a field has no name", "a non-empty 'name' string")
        return None
    spec = _with_scale(spec, scales or {}, probs)
    ftype = _text(spec, "type", name, probs, "string")
    if ftype not in _TYPES:
        probs.add(name, ftype, "unknown type", f"one of {', '.join(_TYPES)}")
    role = spec.get("x-role", "other")
    if not isinstance(role, str) or role not in ROLES:
        probs.add(name, role, "unknown x-role" + suggest(role, ROLES),
                  f"one of {', '.join(ROLES)}")
        role = "other"
    measurement = spec.get("x-measurement")
    if measurement is not None and (not isinstance(measurement, str)
                                    or measurement not in MEASUREMENTS):
        probs.add(name, measurement, "unknown x-measurement" + suggest(measurement, MEASUREMENTS),
                  f"one of {', '.join(MEASUREMENTS)}")
        measurement = None
    if role == "item" and measurement is None:
        probs.add(name, None, "item has no x-measurement", "x-measurement for every item")

    levels: list[Level] = []
    for cat in _list(spec, "categories", name, probs):
        raw = cat.get("value") if isinstance(cat, Mapping) else cat
        label = cat.get("label", str(raw)) if isinstance(cat, Mapping) else str(cat)
        if raw is None or isinstance(raw, (bool, Mapping, list)) or isinstance(
                label, (Mapping, list)) or label is None:
            probs.add(name, raw, "a category has no usable value and label",
                      '{"value": 1, "label": "Very poor"} or a bare code')
            continue
        try:
            levels.append(Level(_code(raw, ftype), str(label)))
        except ValueError:
            probs.add(name, raw, "category value does not fit the field's type", ftype)
    if measurement in ("ordinal", "binary", "nominal") and not levels and role == "item":
        probs.add(name, None, f"{measurement} item has no categories", "a 'categories' list")
    if measurement == "binary" and levels and len(levels) != 2:
        probs.add(name, len(levels), "binary item must have two categories", "2 categories")
    if measurement == "ordinal" and levels and spec.get("categoriesOrdered") is not True:
        probs.add(name, spec.get("categoriesOrdered"), "ordinal item's categories are not "
                  "declared ordered", "categoriesOrdered: true")
    codes = [lv.code for lv in levels]
    if len(set(codes)) != len(codes):
        probs.add(name, codes, "category codes repeat", "distinct codes")

    missing: list[MissingCode] = []
    for mv in _list(spec, "missingValues", name, probs):
        if mv == "" or (isinstance(mv, Mapping) and mv.get("value") == ""):
            continue  # the standard's default: a blank cell is missing ("not answered")
        if not isinstance(mv, Mapping):
            probs.add(name, mv, "missing value without label and kind",
                      "an object with value, label and x-kind")
            continue
        kind = mv.get("x-kind", "dont_know")
        if not isinstance(kind, str) or kind not in MISSING_KINDS:
            probs.add(name, kind, "unknown missing-value x-kind", ", ".join(MISSING_KINDS))
            continue
        raw_mv = mv.get("value")
        if raw_mv is None or isinstance(raw_mv, (bool, Mapping, list)):
            probs.add(name, raw_mv, "missing value has no usable 'value'",
                      "a code such as \"8\" or a text such as \"NA\"")
            continue
        try:
            code = _code(raw_mv, ftype)
        except ValueError:
            # Table Schema missing values are physical strings: "NA" on an integer field is
            # allowed and matched as text.
            code = str(raw_mv).strip()
        if code in codes:
            probs.add(name, code, "a missing-value code is also a response level",
                      "missing codes kept apart from levels")
        label = mv.get("label", code)
        if label is None or isinstance(label, (Mapping, list)):
            probs.add(name, label, "missing value label is not text", "a label string")
            continue
        missing.append(MissingCode(code, str(label), cast(MissingKind, kind)))

    raw_waves = spec.get("x-waves", sorted(wave_numbers))
    if not isinstance(raw_waves, list) or not all(
        isinstance(w, int) and not isinstance(w, bool) for w in raw_waves
    ):
        probs.add(name, raw_waves, "x-waves is not a list of wave numbers", "e.g. [1, 2]")
        raw_waves = sorted(wave_numbers)
    waves = tuple(int(w) for w in raw_waves)
    for w in waves:
        if w not in wave_numbers:
            probs.add(name, w, "x-waves names an undeclared wave", f"one of {sorted(wave_numbers)}")
    reports = spec.get("x-reports")
    if reports is not None:
        with contextlib.suppress(ValueError, TypeError):
            reports = _code(reports, ftype)
        if measurement != "binary" or reports not in codes:
            probs.add(name, spec.get("x-reports"), "x-reports names no level of a binary item",
                      "the code of one of the item's two categories"
                      + (f" ({', '.join(map(str, codes))})" if codes else ""))
            reports = None
    polarity = spec.get("x-polarity")
    if polarity is not None and (polarity not in POLARITIES or measurement not in (
            "ordinal", "binary", "numeric")):
        probs.add(name, polarity, "x-polarity is not a direction of an ordinal, binary or "
                  "numeric item", " or ".join(POLARITIES) + " (or no x-polarity)")
        polarity = None
    constraints = spec.get("constraints") or {}
    if not isinstance(constraints, Mapping):
        probs.add(name, constraints, "constraints is not a JSON object",
                  'e.g. {"required": true, "minimum": 0}')
        constraints = {}
    for bound in ("minimum", "maximum"):
        value = constraints.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            probs.add(name, value, f"constraint {bound} is not a number", "a number")
            constraints = {k: v for k, v in constraints.items() if k != bound}
    select_group = spec.get("x-selectGroup")
    if select_group is not None and not isinstance(select_group, str):
        probs.add(name, select_group, "x-selectGroup is not text",
                  "the multi-select question's name")
        select_group = None
    unticked = spec.get("x-unticked")
    if unticked is not None:
        with contextlib.suppress(ValueError, TypeError):
            unticked = _code(unticked, ftype)
        if select_group is None or measurement != "binary" or unticked not in codes:
            probs.add(name, spec.get("x-unticked"), "x-unticked names no level of a binary "
                      "x-selectGroup column", "the code of one of the two categories of a "
                      "column with x-selectGroup" + (f" ({', '.join(map(str, codes))})"
                                                     if codes else ""))
            unticked = None
    return Field(
        name=name,
        role=cast(Role, role),
        type=ftype,
        title=_text(spec, "title", name, probs),
        description=_text(spec, "description", name, probs),
        question=_text(spec, "x-question", name, probs),
        measurement=cast("Measurement | None", measurement),
        levels=tuple(levels),
        missing=tuple(missing),
        required=bool(constraints.get("required", False)),
        unique=bool(constraints.get("unique", False)),
        waves=waves,
        select_group=select_group,
        minimum=constraints.get("minimum"),
        maximum=constraints.get("maximum"),
        format=_text(spec, "format", name, probs, "default"),
        reports=reports,
        polarity=polarity,
        unticked=unticked,
    )


def codebook_from_dict(spec: Mapping[str, Any], source: str = "<dict>") -> Codebook:
    """Build a :class:`Codebook` from a parsed Table Schema; report every problem at once.

    Parameters
    ----------
    spec
        The Table Schema as parsed JSON: ``name``, ``version``, ``title``, ``fields`` (each
        with ``name``, ``type``, ``x-role`` and, for items, ``x-measurement`` and
        ``categories``), optional ``x-waves`` and ``x-synthetic``. The format is described in
        ``docs/bring-your-own-survey.md``.
    source
        Where the spec came from, named in error messages.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        Listing every problem found.

    Examples
    --------
    >>> spec = {"name": "mini", "version": "1", "fields": [
    ...     {"name": "id", "type": "string", "x-role": "identifier"},
    ...     {"name": "email", "type": "string", "x-role": "link_key"},
    ...     {"name": "wave", "type": "integer", "x-role": "wave"},
    ...     {"name": "role", "type": "integer", "x-role": "group", "x-measurement": "nominal",
    ...      "categories": [{"value": 1, "label": "Caller"}, {"value": 2, "label": "Volunteer"}]},
    ...     {"name": "helpful", "type": "integer", "x-role": "item", "x-measurement": "ordinal",
    ...      "categoriesOrdered": True,
    ...      "categories": [{"value": 1, "label": "No"}, {"value": 2, "label": "Partly"},
    ...                     {"value": 3, "label": "Yes"}]},
    ... ]}
    >>> cb = codebook_from_dict(spec)
    >>> cb.group.labels, cb["helpful"].labels
    (('Caller', 'Volunteer'), ('No', 'Partly', 'Yes'))
    """
    probs = _Problems(source)
    if not isinstance(spec, Mapping):
        raise CodebookError([{"file": source, "value": type(spec).__name__,
                              "problem": "top level is not a JSON object",
                              "expected": "a Table Schema object"}])
    waves: list[WaveInfo] = []
    raw_waves = spec.get("x-waves", [{"number": 1}, {"number": 2}])
    if not isinstance(raw_waves, list):
        probs.add(None, raw_waves, "x-waves is not a list",
                  "a list of {number, label, fieldworkStart, fieldworkEnd}")
        raw_waves = [{"number": 1}, {"number": 2}]
    for w in raw_waves:
        if not isinstance(w, Mapping):
            probs.add(None, w, "malformed x-waves entry (not a JSON object)",
                      "{number, label, fieldworkStart: YYYY-MM-DD, fieldworkEnd: YYYY-MM-DD}")
            continue
        try:
            waves.append(
                WaveInfo(int(w["number"]), str(w.get("label", "")),
                         _date(w.get("fieldworkStart")), _date(w.get("fieldworkEnd")))
            )
        except (KeyError, TypeError, ValueError) as exc:
            probs.add(None, w, f"malformed x-waves entry ({exc})",
                      "{number, label, fieldworkStart: YYYY-MM-DD, fieldworkEnd: YYYY-MM-DD}")
    numbers = {w.number for w in waves}
    raw_fields = spec.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        probs.add(None, None, "the schema has no fields", "a non-empty 'fields' list")
        raw_fields = []
    scales = _scales(spec, probs)
    fields = [f for f in (_parse_field(s, probs, numbers, scales) for s in raw_fields)
              if f is not None]
    name = _text(spec, "name", None, probs, Path(source).stem)
    version = _text(spec, "version", None, probs, "0")
    title = _text(spec, "title", None, probs)
    if probs.rows:
        raise CodebookError(probs.rows)
    return Codebook(
        name=name,
        version=version,
        title=title,
        fields=tuple(fields),
        waves=tuple(waves),
        synthetic=bool(spec.get("x-synthetic", False)),
        source=source,
        unreviewed=_review_notes(spec),
    )


def _review_notes(spec: Mapping[str, Any]) -> int:
    """How many ``x-review`` notes a (drafted) schema and its fields still hold."""
    def count(part: Any) -> int:
        notes = part.get("x-review") if isinstance(part, Mapping) else None
        return len(notes) if isinstance(notes, list) else int(bool(notes))
    fields = spec.get("fields")
    return count(spec) + sum(count(f) for f in (fields if isinstance(fields, list) else []))


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read a codebook from a Frictionless Table Schema JSON file.

    Parameters
    ----------
    path
        The ``.schema.json`` file. ``None`` reads the codebook of the crisis-care survey that
        ships with the library (the same as :func:`default_codebook`).

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        Listing every problem found in the file (unknown roles or measurement levels, items
        without categories, missing-value codes that clash with levels, ...).

    Examples
    --------
    >>> cb = load_codebook()
    >>> cb.name, cb.version
    ('crisis_care_survey', '1.0.0')
    >>> [lv.label for lv in cb["overall_rating"].levels]
    ['Very poor', 'Poor', 'Fair', 'Good', 'Excellent']
    """
    p = Path(path) if path is not None else data_dir() / "schema" / DEFAULT_CODEBOOK
    try:
        spec = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodebookError(
            [{"file": str(p), "problem": "codebook file not found",
              "expected": "a Table Schema JSON file"}]
        ) from None
    except json.JSONDecodeError as exc:
        raise CodebookError(
            [{"file": str(p), "row": exc.lineno, "value": exc.msg,
              "problem": "not valid JSON", "expected": "a Table Schema JSON file"}]
        ) from None
    if not isinstance(spec, Mapping):
        raise CodebookError(
            [{"file": str(p), "problem": "top level is not a JSON object",
              "expected": "a Table Schema object"}]
        )
    return codebook_from_dict(spec, source=p.name)


def default_codebook() -> Codebook:
    """The codebook of the Crisis Care Concordat survey that ships with the library.

    Returns
    -------
    Codebook
        The same as ``load_codebook(None)``; described in ``docs/codebook.md``.

    Examples
    --------
    >>> cb = default_codebook()
    >>> cb.group.labels
    ('Service user', 'Carer')
    >>> len(cb.items(wave=2)) > len(cb.items(wave=1))
    True
    """
    return load_codebook(None)
