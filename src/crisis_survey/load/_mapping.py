"""Matching a file's column names to codebook fields (private).

A survey platform's export rarely uses the codebook's names (``Q3_1`` rather than
``overall_rating``). A *column mapping* says which file column holds which field; it is a
dict or a JSON/CSV file. Matching is on names with surrounding spaces removed and case
ignored. A column maps to a field by the mapping if the mapping names it, otherwise by having
the field's name. A column mapped to ``None`` (JSON ``null``, an empty cell in a CSV mapping)
is read but ignored; any other column that is not in the codebook is an error, so that a
renamed or misspelt column is never dropped silently.

Two waves exported from two surveys often name one question differently (wave 2 inserted a
question, so its ``Q5`` is wave 1's ``Q4``). One mapping file can then hold each wave's part:
JSON ``{"wave 1": {...}, "wave 2": {...}}`` (or keys ``"1"``, ``"2"``, ``"wave1"``), or a CSV
``column,field,wave`` whose rows with a blank wave apply to both.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import CodebookError
from ..codebook import Codebook
from ._readers import file_problem

__all__ = ["ColumnPlan", "MappingLike", "plan_columns", "read_mapping"]

MappingLike = Mapping[str, str | None] | str | Path


def _key(name: object) -> str:
    return str(name).strip().casefold()


def _mapping_problem(source: str, column: Any, value: Any, problem: str, expected: str
                     ) -> dict[str, Any]:
    return {"file": source, "row": None, "column": column, "value": value,
            "problem": problem, "expected": expected}


def _mapping_error(problems: list[dict[str, Any]]) -> CodebookError:
    """A CodebookError whose message says it is the column mapping that is wrong."""
    return CodebookError(problems, headline="The column mapping is not valid")


def _read_mapping_file(path: Path, wave: int | None = None) -> tuple[dict[Any, Any], str]:
    source = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _mapping_error([_mapping_problem(str(path), None, None,
                                              "column mapping file not found",
                                              "a JSON or CSV mapping file")]) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise _mapping_error([_mapping_problem(source, None, None,
                                              f"column mapping file cannot be read ({exc})",
                                              "a UTF-8 JSON or CSV file")]) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _mapping_error([_mapping_problem(source, None, exc.msg,
                                                  "column mapping is not valid JSON",
                                                  '{"file column": "codebook field"}')]
                                ) from None
        if not isinstance(spec, dict):
            raise _mapping_error([_mapping_problem(source, None, type(spec).__name__,
                                                  "column mapping is not a JSON object",
                                                  '{"file column": "codebook field"}')])
        return spec, source
    if suffix == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        header = [_key(h) for h in rows[0]] if rows else []
        if header[:2] != ["column", "field"]:
            raise _mapping_error([_mapping_problem(
                source, None, ",".join(rows[0]) if rows else "",
                "column mapping CSV lacks its header",
                "a first row 'column,field', then one row per file column")])
        per_wave = len(header) > 2 and header[2] == "wave"
        spec = {}
        for n, row in enumerate(rows[1:], start=2):
            if not row or not any(c.strip() for c in row):
                continue
            if per_wave and len(row) > 2 and row[2].strip():
                named = _wave_key(row[2])
                if named is None:
                    raise _mapping_error([_mapping_problem(
                        source, row[0], row[2], f"row {n}: the wave is not a wave number",
                        "1 or 2 (blank: the row applies to both waves)")])
                if wave is None or named != wave:
                    continue
            target = row[1].strip() if len(row) > 1 else ""
            spec[row[0]] = target or None
        return spec, source
    raise _mapping_error([_mapping_problem(source, None, suffix,
                                          "unknown column mapping file type",
                                          "a .json or .csv mapping file")])


def _wave_key(key: object) -> int | None:
    """The wave a per-wave mapping's key names ('wave 1', 'wave1', '1', 1), or None."""
    text = str(key).strip().casefold().replace("_", " ").replace("-", " ")
    for prefix in ("wave ", "wave", ""):
        rest = text[len(prefix):] if text.startswith(prefix) else None
        if rest is not None and rest.strip().isdigit():
            return int(rest.strip())
    return None


def _for_wave(spec: dict[Any, Any], wave: int | None, source: str) -> dict[Any, Any]:
    """A per-wave mapping's part for ``wave`` (every key a wave holding an object); any other
    mapping as it is."""
    waves = {k: _wave_key(k) for k in spec}
    if not spec or any(w is None for w in waves.values()) or \
            not all(isinstance(v, Mapping) for v in spec.values()):
        return spec
    if wave is None:
        raise _mapping_error([_mapping_problem(
            source, None, ", ".join(map(str, spec)), "a per-wave column mapping was given "
            "without saying which wave the file is", "wave= (load_wave reads one wave)")])
    part = [v for k, v in spec.items() if waves[k] == wave]
    return dict(part[0]) if part else {}


def read_mapping(mapping: MappingLike | None, codebook: Codebook, wave: int | None = None
                 ) -> dict[str, str | None]:
    """Normalised mapping ``file column key -> field name or None``; CodebookError if bad.
    A per-wave mapping (see the module's docs) gives ``wave``'s part."""
    if mapping is None:
        return {}
    if isinstance(mapping, (str, Path)):
        spec, source = _read_mapping_file(Path(mapping), wave)
    elif isinstance(mapping, Mapping):
        spec, source = dict(mapping), "<mapping>"
    else:
        raise _mapping_error([_mapping_problem("<mapping>", None, type(mapping).__name__,
                                              "column mapping of an unknown kind",
                                              "a dict, or the path of a JSON or CSV file")])
    spec = _for_wave(spec, wave, source)
    names = {_key(n): n for n in codebook.names}
    out: dict[str, str | None] = {}
    problems = []
    for column, target in spec.items():
        if not isinstance(column, str) or not column.strip():
            problems.append(_mapping_problem(source, column, target,
                                             "mapping key is not a column name",
                                             "file column names as text"))
            continue
        if target is None:
            out[_key(column)] = None
        elif isinstance(target, str) and _key(target) in names:
            out[_key(column)] = names[_key(target)]
        else:
            problems.append(_mapping_problem(
                source, column, target, "column is mapped to a name that is not in the codebook",
                f"a field of codebook {codebook.name!r}, or null to ignore the column"))
    if problems:
        raise _mapping_error(problems)
    return out


@dataclass
class ColumnPlan:
    """Which file column holds each field, and what is wrong with the columns."""

    column_of: dict[str, int] = field(default_factory=dict)  # field name -> column position
    ignored: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # optional fields of this wave not in file
    absent_asked: list[str] = field(default_factory=list)  # of which questions (items, ...)
    not_asked: list[str] = field(default_factory=list)  # fields not asked in this wave, present
    problems: list[dict[str, Any]] = field(default_factory=list)


def plan_columns(
    columns: list[str], mapping: dict[str, str | None], codebook: Codebook, wave: int,
    source: str,
) -> ColumnPlan:
    """Match file columns to fields; file-level problems go to ``plan.problems``."""
    plan = ColumnPlan()
    names = {_key(n): n for n in codebook.names}
    extra: list[str] = []
    for position, column in enumerate(columns):
        key = _key(column)
        if key in mapping:
            target = mapping[key]
            if target is None:
                plan.ignored.append(column)
                continue
        elif key in names:
            target = names[key]
        else:
            extra.append(column)
            continue
        if target in plan.column_of:
            plan.problems.append(file_problem(
                source, f"two columns hold the same field {target!r} (also column "
                f"{columns[plan.column_of[target]]!r})",
                "one column per codebook field; map the other to null in the column mapping to "
                "ignore it", column=column))
            continue
        plan.column_of[target] = position
    for column in extra:
        plan.problems.append(file_problem(
            source, "column not in the codebook",
            f"a field of codebook {codebook.name!r}, or a column mapping entry for it (map it "
            "to null to ignore it)", column=column))
    for f in codebook.fields:
        present = f.name in plan.column_of
        if wave not in f.waves:
            if present:
                plan.not_asked.append(f.name)
            continue
        if present:
            continue
        if f.required and f.role != "wave":
            plan.problems.append(file_problem(
                source, "required column missing",
                f"a column {f.name!r} ({f.label}), or a column mapping entry naming the file's "
                "column for it", column=f.name))
        elif f.role != "wave":  # the wave column may be left out: wave= says it
            plan.absent.append(f.name)
            if f.role in ("item", "demographic"):
                plan.absent_asked.append(f.name)
    return plan
