"""The codebook reader (src/crisis_survey/codebook/): every CodebookError path, the shipped
codebook, a user's own codebook, and docs/codebook.md kept in step with the shipped file.

Run ``python tests/test_codebook.py`` to regenerate the tables in docs/codebook.md.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from crisis_survey import CodebookError
from crisis_survey.codebook import (
    Codebook,
    Field,
    Level,
    MissingCode,
    codebook_from_dict,
    default_codebook,
    load_codebook,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "codebook.md"
BEGIN, END = "<!-- BEGIN GENERATED TABLES -->", "<!-- END GENERATED TABLES -->"


def minimal() -> dict[str, Any]:
    """The smallest valid codebook: one field of each required role and one item."""
    return {
        "name": "mini",
        "version": "2.1",
        "x-waves": [
            {"number": 1, "label": "spring", "fieldworkStart": "2020-03-01",
             "fieldworkEnd": "2020-04-30"},
            {"number": 2, "label": "autumn"},
        ],
        "fields": [
            {"name": "id", "type": "string", "x-role": "identifier",
             "constraints": {"required": True, "unique": True}},
            {"name": "key", "type": "string", "x-role": "link_key"},
            {"name": "wave", "type": "integer", "x-role": "wave"},
            {"name": "grp", "type": "integer", "x-role": "group", "x-measurement": "nominal",
             "categories": [{"value": 1, "label": "A"}, {"value": 2, "label": "B"}]},
            {"name": "q1", "type": "integer", "x-role": "item", "x-measurement": "ordinal",
             "categoriesOrdered": True, "x-waves": [2],
             "categories": [{"value": 1, "label": "Low"}, {"value": 2, "label": "High"}],
             "missingValues": [{"value": "9", "label": "Don't know", "x-kind": "dont_know"},
                               {"value": "NA", "label": "Skipped",
                                "x-kind": "not_applicable"}]},
        ],
    }


def field(spec: dict[str, Any], name: str) -> dict[str, Any]:
    field_spec: dict[str, Any] = next(f for f in spec["fields"] if f["name"] == name)
    return field_spec


def test_the_minimal_codebook_reads() -> None:
    cb = codebook_from_dict(minimal())
    assert (cb.name, cb.version, cb.source) == ("mini", "2.1", "<dict>")
    assert cb.identifier.name == "id" and cb.link_key.name == "key"
    assert cb.group.labels == ("A", "B") and cb.group.codes == (1, 2)
    q1 = cb["q1"]
    assert q1.ordered and q1.waves == (2,) and q1.levels == (Level(1, "Low"), Level(2, "High"))
    # "9" is read as the integer 9 (the field is integer); "NA" stays text (Table Schema
    # missing values are strings before typing)
    assert q1.missing == (MissingCode(9, "Don't know", "dont_know"),
                          MissingCode("NA", "Skipped", "not_applicable"))
    assert cb.wave_info(1).fieldwork_start == dt.date(2020, 3, 1)
    assert cb.wave_info(2).fieldwork_end is None
    assert cb.items(wave=1) == () and cb.items(wave=2) == (q1,)
    assert cb["id"].required and cb["id"].unique and cb["id"].waves == (1, 2)
    assert "q1" in cb and "q9" not in cb
    with pytest.raises(KeyError, match="not a field"):
        cb["q9"]
    with pytest.raises(KeyError, match="wave 3"):
        cb.wave_info(3)


def test_a_users_codebook_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.schema.json"
    path.write_text(json.dumps(minimal()))
    cb = load_codebook(path)
    assert cb == codebook_from_dict(minimal(), source="mine.schema.json")
    assert cb.source == "mine.schema.json"


def test_the_shipped_codebook() -> None:
    cb = default_codebook()
    assert cb == load_codebook()
    assert cb.name == "crisis_care_survey" and not cb.synthetic
    assert [w.number for w in cb.waves] == [1, 2]
    assert cb.wave_info(1).fieldwork_start == dt.date(2014, 10, 1)
    assert cb.wave_info(2).fieldwork_end == dt.date(2015, 12, 31)
    assert cb.identifier.name == "respondent_id" and cb.group.name == "group"
    assert cb["completed_date"].format == "%Y-%m-%d"
    assert {f.name for f in cb.items(wave=2)} - {f.name for f in cb.items(wave=1)} == {
        "aware_concordat", "local_change"}
    for f in cb.items():
        assert f.measurement in ("ordinal", "binary", "nominal", "text")
        if f.measurement != "text":
            assert f.levels, f.name
        for m in f.missing:
            assert m.code not in f.codes
    services = [f.name for f in cb.items() if f.select_group == "services_used"]
    assert len(services) == 7


def _problems(spec: Any) -> list[tuple[Any, str]]:
    with pytest.raises(CodebookError) as info:
        codebook_from_dict(spec)
    p = info.value.problems
    assert list(p.columns) == ["file", "row", "column", "value", "problem", "expected"]
    assert p["expected"].notna().all()
    return list(zip(p["column"], p["problem"], strict=True))


def _mutated(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(minimal())
    change(spec)
    return spec


# (description, mutation, expected (column, problem) pairs) -- one per CodebookError path
CASES: list[tuple[str, Any, list[tuple[Any, str]]]] = [
    ("no fields", lambda s: s.update(fields=[]),
     [(None, "the schema has no fields")]),
    ("fields not a list", lambda s: s.update(fields={"id": {}}),
     [(None, "the schema has no fields")]),
    ("field not an object", lambda s: s["fields"].append("q2"),
     [(None, "a field is not a JSON object")]),
    ("field without a name", lambda s: s["fields"].append({"type": "string"}),
     [(None, "a field has no name")]),
    ("unknown type", lambda s: field(s, "key").update(type="text"),
     [("key", "unknown type")]),
    ("unknown role", lambda s: field(s, "q1").update({"x-role": "question"}),
     [("q1", "unknown x-role")]),
    ("unknown measurement", lambda s: field(s, "q1").update({"x-measurement": "likert"}),
     [("q1", "unknown x-measurement"), ("q1", "item has no x-measurement")]),
    ("item without measurement", lambda s: field(s, "q1").pop("x-measurement"),
     [("q1", "item has no x-measurement")]),
    ("category not of the type",
     lambda s: field(s, "q1")["categories"].append({"value": "three", "label": "3"}),
     [("q1", "category value does not fit the field's type")]),
    ("categorical item without categories", lambda s: field(s, "q1").pop("categories"),
     [("q1", "ordinal item has no categories")]),
    ("binary with three levels", lambda s: field(s, "q1").update(
        {"x-measurement": "binary",
         "categories": [{"value": i, "label": str(i)} for i in (0, 1, 2)]}),
     [("q1", "binary item must have two categories")]),
    ("ordinal not declared ordered", lambda s: field(s, "q1").pop("categoriesOrdered"),
     [("q1", "ordinal item's categories are not declared ordered")]),
    ("repeated codes",
     lambda s: field(s, "q1")["categories"].append({"value": 1, "label": "Lowest"}),
     [("q1", "category codes repeat")]),
    ("missing value as a bare string", lambda s: field(s, "q1")["missingValues"].append("99"),
     [("q1", "missing value without label and kind")]),
    ("unknown missing kind",
     lambda s: field(s, "q1")["missingValues"][0].update({"x-kind": "refused"}),
     [("q1", "unknown missing-value x-kind")]),
    ("missing value without a value",
     lambda s: field(s, "q1")["missingValues"][0].pop("value"),
     [("q1", "missing value has no usable 'value'")]),
    ("missing code clashes with a level",
     lambda s: field(s, "q1")["missingValues"][0].update(value="2"),
     [("q1", "a missing-value code is also a response level")]),
    ("x-waves names an undeclared wave", lambda s: field(s, "q1").update({"x-waves": [3]}),
     [("q1", "x-waves names an undeclared wave")]),
    ("x-waves not numbers", lambda s: field(s, "q1").update({"x-waves": ["two"]}),
     [("q1", "x-waves is not a list of wave numbers")]),
    ("constraints not an object", lambda s: field(s, "key").update(constraints=["required"]),
     [("key", "constraints is not a JSON object")]),
    ("minimum not a number",
     lambda s: field(s, "wave").update(constraints={"minimum": "one"}),
     [("wave", "constraint minimum is not a number")]),
    ("malformed wave entry",
     lambda s: s["x-waves"].append({"number": 3, "fieldworkStart": "31/12/2020"}),
     [(None, "malformed x-waves entry (Invalid isoformat string: '31/12/2020')")]),
    ("wave entry without number", lambda s: s["x-waves"].append({"label": "x"}),
     [(None, "malformed x-waves entry ('number')")]),
    ("duplicate field name", lambda s: s["fields"].append({"name": "q1", "x-role": "other"}),
     [("q1", "field name appears twice")]),
    ("no group", lambda s: field(s, "grp").update({"x-role": "demographic"}),
     [(None, "0 fields have role 'group'")]),
    ("two identifiers", lambda s: field(s, "key").update({"x-role": "identifier"}),
     [(None, "2 fields have role 'identifier'"), (None, "0 fields have role 'link_key'")]),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_codebook_error(change: Any, expected: list[tuple[Any, str]]) -> None:
    assert _problems(_mutated(change)) == expected


def test_all_problems_are_reported_together() -> None:
    def many(s: dict[str, Any]) -> None:
        field(s, "key").update(type="text")
        field(s, "q1").pop("categoriesOrdered")
        field(s, "q1")["missingValues"][0].update({"x-kind": "refused"})

    assert len(_problems(_mutated(many))) == 3


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="codebook file not found"):
        load_codebook(tmp_path / "absent.schema.json")
    bad = tmp_path / "bad.schema.json"
    bad.write_text('{"name": "x",\n "fields": [}')
    with pytest.raises(CodebookError, match="not valid JSON") as info:
        load_codebook(bad)
    assert info.value.problems.loc[0, "row"] == 2  # the JSON line of the error
    bad.write_text("[1, 2]")
    with pytest.raises(CodebookError, match="top level is not a JSON object"):
        load_codebook(bad)


def test_codebook_error_names_the_file(tmp_path: Path) -> None:
    spec = _mutated(lambda s: field(s, "q1").update({"x-role": "question"}))
    path = tmp_path / "mine.schema.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert info.value.problems.loc[0, "file"] == "mine.schema.json"
    assert "mine.schema.json, column 'q1'" in str(info.value)


def test_field_helpers() -> None:
    f = Field(name="q", role="item", measurement="ordinal",
              levels=(Level(1, "No"), Level(2, "Yes")))
    assert f.label == "q" and f.is_categorical and f.ordered
    assert f.score("Yes") == 2
    with pytest.raises(KeyError):
        f.score("Maybe")
    assert isinstance(default_codebook(), Codebook)


# -- docs/codebook.md ----------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codebook_tables(cb: Codebook) -> str:
    """The generated part of docs/codebook.md."""
    out = ["## Waves", "", "| wave | label | fieldwork |", "|---|---|---|"]
    for w in cb.waves:
        out.append(f"| {w.number} | {w.label} | {w.fieldwork_start} to {w.fieldwork_end} |")
    out += ["", "## Fields other than questions", "",
            "| field | role | type | required | levels (code = label) | missing codes |",
            "|---|---|---|---|---|---|"]
    for f in cb.fields:
        if f.role == "item":
            continue
        levels = "; ".join(f"{lv.code} = {lv.label}" for lv in f.levels)
        missing = "; ".join(f"{m.code} = {m.label} ({m.kind})" for m in f.missing)
        out.append(f"| `{f.name}` | {f.role} | {f.type} | {'yes' if f.required else 'no'} | "
                   f"{_cell(levels)} | {_cell(missing)} |")
    out += ["", "## Items (survey questions)", "",
            "| item | title | measurement | waves | levels (code = label, lowest first for "
            "ordinal) | missing codes | multi-select group |",
            "|---|---|---|---|---|---|---|"]
    for f in cb.items():
        levels = "; ".join(f"{lv.code} = {lv.label}" for lv in f.levels)
        missing = "; ".join(f"{m.code} = {m.label} ({m.kind})" for m in f.missing)
        waves = ", ".join(str(w) for w in f.waves)
        out.append(f"| `{f.name}` | {_cell(f.label)} | {f.measurement} | {waves} | "
                   f"{_cell(levels)} | {_cell(missing)} | {f.select_group or ''} |")
    return "\n".join(out) + "\n"


def test_docs_codebook_md_matches_the_shipped_codebook() -> None:
    text = DOC.read_text(encoding="utf-8")
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert generated.strip() == codebook_tables(default_codebook()).strip(), (
        "docs/codebook.md is out of date: run python tests/test_codebook.py")


if __name__ == "__main__":  # regenerate docs/codebook.md's tables
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{codebook_tables(default_codebook())}{END}{tail}",
                   encoding="utf-8")
    sys.exit(0)
