"""Write the "other export" test study: the shipped synthetic sample as another platform exports it.

Run from the repository root: ``python tests/data/make_other_study.py``. It writes
``tests/data/other_study/`` (``other.schema.json``, ``wave1.csv``, ``wave2.csv``) from the
shipped codebook and sample files, so the study has the same respondents but nothing of the
shipped codebook's naming or coding:

* every field has another name (``Q1``, ``Q2_3``, ``Role``, ``LA``, ``ResponseId``, ...) and the
  group, area and date fields are found only by their ``x-role``;
* binary items use SPSS's common coding ``1 = Yes``, ``2 = No`` (listed Yes first) and
  ``1 = Selected``, ``2 = Not selected``;
* response scales that several items share are written once (``x-scales``);
* items' missing codes are ``8 = Not applicable`` and ``9 = Don't know`` (the old code 8,
  "don't know", becomes 9, the old 7, "not applicable", becomes 8; about 3% of other answers
  become 8, seeded).

The output is deterministic (fixed seed, sorted JSON keys), so re-running it changes nothing.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "data" / "schema" / "crisis_care_survey.schema.json"
SAMPLE = ROOT / "data" / "sample"
OUT = Path(__file__).resolve().parent / "other_study"

#: shipped name -> export name
RENAME: dict[str, str] = {
    "respondent_id": "ResponseId", "link_key": "Email", "wave": "Wave", "group": "Role",
    "area": "LA", "completed_date": "EndDate", "age_band": "D1", "gender": "D2",
    "ethnicity": "D3", "overall_rating": "Q1",
    "exp_help_when_needed": "Q2_1", "exp_help_speed": "Q2_2", "exp_dignity": "Q2_3",
    "exp_listened": "Q2_4", "exp_understood": "Q2_5", "exp_knew_contact": "Q2_6",
    "exp_involved": "Q2_7", "exp_family_involved": "Q2_8", "exp_followup": "Q3",
    "svc_ae": "Q4_1", "svc_police": "Q4_2", "svc_police_cell": "Q4_3",
    "svc_crisis_team": "Q4_4", "svc_helpline": "Q4_5", "svc_gp": "Q4_6",
    "svc_voluntary": "Q4_7", "aware_concordat": "Q6", "local_change": "Q7",
    "comments": "Q5",
}

NOT_APPLICABLE, DONT_KNOW = 8, 9


def _binary_recode(field: dict[str, object]) -> dict[int, int]:
    """Old code -> new code for a binary item: the "positive" level (old code 1) becomes 1,
    the other (old 0) becomes 2, and the categories list the new 1 first."""
    cats = {int(c["value"]): str(c["label"]) for c in field["categories"]}  # type: ignore[index, union-attr, attr-defined]
    field["categories"] = [{"value": 1, "label": cats[1]}, {"value": 2, "label": cats[0]}]
    return {1: 1, 0: 2}


#: the properties a response scale carries (docs/bring-your-own-survey.md, "Response scales")
SCALE_KEYS = ("type", "x-measurement", "categories", "categoriesOrdered", "missingValues")


def _share_scales(schema: dict[str, object]) -> None:
    """Write every response scale that two or more items share once, in ``x-scales``, and
    name it in each item's ``x-scale`` (as a hand-written codebook would)."""
    fields = schema["fields"]
    assert isinstance(fields, list)
    users: dict[str, list[dict[str, object]]] = {}
    for f in fields:
        if f.get("x-role") == "item" and f.get("categories"):
            key = json.dumps({k: f[k] for k in SCALE_KEYS if k in f}, sort_keys=True)
            users.setdefault(key, []).append(f)
    scales: dict[str, object] = {}
    for key, same in users.items():
        if len(same) < 2:
            continue
        first = str(same[0]["categories"][0]["label"]).lower()  # type: ignore[index]
        name = re.sub(r"[^a-z]+", "_", first).strip("_") + f"_{len(same[0]['categories'])}"  # type: ignore[arg-type]
        scales[name] = json.loads(key)
        for f in same:
            for k in SCALE_KEYS:
                f.pop(k, None)
            f["x-scale"] = name
    schema["x-scales"] = scales


def build() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    schema["name"] = "other_platform_export"
    schema["title"] = "Crisis care survey as exported by another survey platform (test study)"
    schema["version"] = "0.1.0"
    schema["primaryKey"] = [RENAME[k] for k in schema["primaryKey"]]
    recode: dict[str, dict[int, int]] = {}
    missing_items: list[str] = []
    for f in schema["fields"]:
        old = f["name"]
        f["name"] = RENAME[old]
        if f.get("x-selectGroup"):
            f["x-selectGroup"] = "Q4"
        if f.get("x-role") == "item" and f.get("x-measurement") == "binary":
            recode[old] = _binary_recode(f)
        if f.get("x-role") == "item" and f.get("categories"):
            had_dont_know = any(m.get("x-kind") == "dont_know" for m in f.get("missingValues", []))
            f["missingValues"] = [
                *(m for m in f.get("missingValues", []) if m.get("x-kind") == "not_answered"),
                {"value": str(NOT_APPLICABLE), "label": "Not applicable",
                 "x-kind": "not_applicable"},
                {"value": str(DONT_KNOW), "label": "Don't know", "x-kind": "dont_know"},
            ]
            if had_dont_know or not f.get("x-selectGroup"):
                missing_items.append(old)
    _share_scales(schema)
    OUT.mkdir(exist_ok=True)
    (OUT / "other.schema.json").write_text(
        json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    rng = np.random.default_rng(20261201)
    for wave in (1, 2):
        with (SAMPLE / f"synthetic_wave{wave}.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        header = list(rows[0])
        out_rows = []
        for row in rows:
            new: dict[str, str] = {}
            for col in header:
                value = row[col]
                if col in missing_items and value == "8":
                    value = str(DONT_KNOW)
                elif col in missing_items and value == "7":
                    value = str(NOT_APPLICABLE)
                elif col in recode and value not in ("", "8"):
                    value = str(recode[col][int(value)])
                if (col in missing_items and value not in ("", str(DONT_KNOW))
                        and rng.random() < 0.03):
                    value = str(NOT_APPLICABLE)
                new[RENAME[col]] = value
            out_rows.append(new)
        with (OUT / f"wave{wave}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=[RENAME[c] for c in header],
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(out_rows)


if __name__ == "__main__":
    build()
