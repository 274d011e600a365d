"""The report's provenance as readable tables: options, inputs with their hashes, software
versions (private module).

The same facts are in ``manifest.json`` (which the report links as a file); these tables
show them to a reader in words, never as raw JSON.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._manifest import PACKAGES, _version, file_sha256
from ._tables import PublicationTable

__all__ = [
    "design_tests_table",
    "inputs_table",
    "options_table",
    "provenance_tables",
    "software_table",
]

_ROLES = {"wave1": "Wave 1 data", "wave2": "Wave 2 data", "codebook": "Codebook",
          "plan": "Analysis plan", "review": "Clerical review"}


def _value(value: Any) -> str:
    """A plan value as text: lists joined by commas, tables as ``key = value`` pairs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) if value else "(none)"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_value(v)}" for k, v in sorted(value.items())) or "(none)"
    if value is None or value == "":
        return "(none)"
    return str(value)


def _flatten(options: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in sorted(options.items()):
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and all(
                isinstance(v, Mapping) for v in value.values()):
            rows += _flatten(value, prefix=f"{name}.")
        else:
            rows.append((name, _value(value)))
    return rows


def options_table(plan: Mapping[str, Any]) -> PublicationTable:
    """Every option of the analysis plan, one row each (nested tables as dotted names)."""
    rows = [(k, v) for k, v in _flatten(plan) if k != "source"]
    data = pd.DataFrame(rows, columns=["option", "value"])
    return PublicationTable(
        name="provenance_options", title="Options of the analysis plan", data=data,
        stub="option", column_labels={"option": "Option", "value": "Value"},
        notes=("Every option of the run, as the analysis plan file sets it or as its default; "
               "the same options and inputs reproduce this report byte for byte.",))


def design_tests_table(tests: Mapping[str, Mapping[str, str]], designs: Sequence[str],
                labels: Mapping[str, str]) -> PublicationTable:
    """The test run for each item in each design, by the registry's short name (a note
    spells each out: :data:`~crisis_survey.stats.TESTS`), never the code name."""
    from ..stats._registry import TESTS

    def short(name: object) -> str:
        spec = TESTS.get(str(name))
        return spec.abbreviation if spec is not None else str(name)

    rows = [{"item": labels.get(item, item),
             **{d: short(by_design[d]) if d in by_design else "–" for d in designs}}
            for item, by_design in tests.items()]
    used = sorted({str(n) for by_design in tests.values() for n in by_design.values()
                   if str(n) in TESTS}, key=lambda n: TESTS[n].abbreviation)
    data = pd.DataFrame(rows, columns=["item", *designs])
    return PublicationTable(
        name="provenance_tests", title="Test used for each item and design", data=data,
        stub="item", column_labels={"item": "Item", **{d: d.capitalize() for d in designs}},
        notes=("Chosen from each item's measurement level in the codebook unless the plan "
               "names a test for the item.",
               *(["; ".join(f"{TESTS[n].abbreviation}: {TESTS[n].label}" for n in used)
                  + "."] if used else [])))


def inputs_table(inputs: Mapping[str, str | Path],
                 codebook: Mapping[str, Any] | None = None) -> PublicationTable:
    """Each input file: its role, name, size and SHA-256."""
    rows = []
    for role, path in sorted(inputs.items()):
        p = Path(path)
        rows.append({"role": _ROLES.get(role, role), "file": p.name,
                     "bytes": f"{p.stat().st_size:,}", "sha256": file_sha256(p)})
    data = pd.DataFrame(rows, columns=["role", "file", "bytes", "sha256"])
    notes = ["SHA-256 digests of the files read; a file with another digest is not the file "
             "this report was made from."]
    if codebook:
        notes.append(f"Codebook {codebook.get('name', '')}, version "
                     f"{codebook.get('version', '')}.")
    if not rows:
        notes.append("No input files were named (the report was written from data in memory).")
    return PublicationTable(
        name="provenance_inputs", title="Input files", data=data, stub="role",
        column_labels={"role": "Input", "file": "File", "bytes": "Bytes",
                       "sha256": "SHA-256"},
        notes=tuple(notes))


def software_table() -> PublicationTable:
    """Python and the version of every package the results depend on."""
    rows = [("Python", f"{platform.python_version()} ({platform.python_implementation()})")]
    rows += [(name, _version(name)) for name in PACKAGES]
    data = pd.DataFrame(rows, columns=["package", "version"])
    return PublicationTable(
        name="provenance_software", title="Software versions", data=data, stub="package",
        column_labels={"package": "Software", "version": "Version"})


def provenance_tables(*, plan: Mapping[str, Any], tests: Mapping[str, Mapping[str, str]],
                      designs: Sequence[str], labels: Mapping[str, str],
                      inputs: Mapping[str, str | Path],
                      codebook: Mapping[str, Any]) -> list[PublicationTable]:
    """The options, tests, inputs and software tables, in that order."""
    out = [options_table(plan)]
    if tests:
        out.append(design_tests_table(tests, designs, labels))
    out += [inputs_table(inputs, codebook), software_table()]
    return out
