"""The codebook reader (src/crisis_survey/codebook/): every CodebookError path, the shipped
codebook, a user's own codebook, and docs/codebook.md kept in step with the shipped file.

Run ``python tests/test_codebook.py`` to regenerate the tables in docs/codebook.md.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- reusable response scales (x-scales / x-scale) -------------------------------------------
def _with_scales() -> dict[str, Any]:
    spec = {"$schema": "https://datapackage.org/profiles/2.0/tableschema.json", **minimal()}
    spec["x-scales"] = {"agree": {
        "type": "integer", "x-measurement": "ordinal", "categoriesOrdered": True,
        "categories": [{"value": 1, "label": "Disagree"}, {"value": 2, "label": "Neutral"},
                       {"value": 3, "label": "Agree"}],
        "missingValues": ["", {"value": "8", "label": "Not applicable",
                               "x-kind": "not_applicable"},
                          {"value": "9", "label": "Don't know", "x-kind": "dont_know"}]}}
    spec["fields"] += [
        {"name": "q2", "x-role": "item", "x-scale": "agree", "title": "Kind staff"},
        {"name": "q3", "x-role": "item", "x-scale": "agree",
         "missingValues": [{"value": "9", "label": "Can't say", "x-kind": "dont_know"}]},
    ]
    return spec


def test_a_scale_is_written_once_and_used_by_name() -> None:
    cb = codebook_from_dict(_with_scales())
    q2, q3 = cb["q2"], cb["q3"]
    assert q2.type == "integer" and q2.ordered and q2.labels == ("Disagree", "Neutral", "Agree")
    assert q2.codes == (1, 2, 3) and q2.title == "Kind staff"
    # the standard's blank default ("") is not a code; 8 and 9 come from the scale
    assert q2.missing == (MissingCode(8, "Not applicable", "not_applicable"),
                          MissingCode(9, "Don't know", "dont_know"))
    # a field's own property wins over the scale's
    assert q3.missing == (MissingCode(9, "Can't say", "dont_know"),) and q3.levels == q2.levels


def test_an_unknown_scale_is_named_with_a_suggestion() -> None:
    spec = _with_scales()
    field(spec, "q2")["x-scale"] = "agre"
    assert _problems(spec) == [
        ("q2", "x-scale names no scale of the codebook's x-scales (did you mean 'agree'?)"),
        ("q2", "item has no x-measurement")]
    spec = _with_scales()
    spec["x-scales"]["agree"]["x-role"] = "item"
    assert _problems(spec) == [(None, "a scale has properties a scale cannot carry")]
    spec = _with_scales()
    spec["x-scales"] = ["agree"]
    assert _problems(spec)[0][1] == "x-scales is not a JSON object"


def test_a_misspelt_role_gets_a_suggestion() -> None:
    spec = minimal()
    field(spec, "q1")["x-role"] = "itme"
    assert _problems(spec) == [("q1", "unknown x-role (did you mean 'item'?)")]


def test_shipped_files_are_valid_frictionless(monkeypatch: pytest.MonkeyPatch) -> None:
    """`frictionless validate` accepts the shipped codebook with the sample CSV and XLSX files
    (a field's missingValues replaces the standard's [""], so each lists "" first; a wave's
    file has only the columns that wave asked: fieldsMatch "superset")."""
    frictionless = pytest.importorskip("frictionless")
    monkeypatch.chdir(ROOT / "data")  # frictionless reads relative ("safe") paths only
    for name in ("synthetic_wave1.csv", "synthetic_wave2.csv", "synthetic_wave1.xlsx"):
        report = frictionless.validate(f"sample/{name}",
                                       schema="schema/crisis_care_survey.schema.json")
        errors = [e.message for task in report.tasks for e in task.errors]
        assert report.valid, (name, len(errors), errors[:3])


def test_a_codebook_with_scales_is_valid_frictionless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frictionless = pytest.importorskip("frictionless")
    spec = _with_scales()
    path = tmp_path / "mine.schema.json"
    path.write_text(json.dumps(spec))
    data = tmp_path / "w.csv"
    data.write_text("id,key,wave,grp,q1,q2,q3\nr1,k,1,1,1,3,9\nr2,,1,2,9,,1\nr3,,1,2,2,8,2\n")
    monkeypatch.chdir(tmp_path)
    report = frictionless.validate(data.name, schema=path.name)
    assert report.valid, [e.message for t in report.tasks for e in t.errors]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | st.sampled_from(["", "1", "x", "item"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["value", "label", "x-kind", "number"]), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_mutation_gives_a_codebook_error_or_loads(data: st.DataObject) -> None:
    """Replace any one part of a codebook (with scales) by any JSON value: the reader either
    loads it or raises CodebookError, never a bare TypeError/AttributeError."""
    spec = _with_scales()
    paths = [p for p in _paths(spec) if p]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(_JSON)
    node: Any = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with contextlib.suppress(CodebookError):
        codebook_from_dict(spec)
