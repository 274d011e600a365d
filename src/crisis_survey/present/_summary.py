"""A long comparison table summarised for the HTML and Word reports (private module).

With ``by = group, area`` the comparison tables have one row per respondent group, local
area and item (7,500 rows for 150 areas and 25 items): data for a spreadsheet, not pages.
The reports show, per respondent group and item (and design), how many areas the whole table
has, how many of them changed significantly and which way, how many did not or could not be
told, and the areas with the largest changes quoted as the whole table shows them. The whole
table is in ``tables/`` (Excel, CSV, Markdown, LaTeX).

Nothing here is a new statistic: the verdicts are those the whole table's published values
give (:func:`~crisis_survey.present._release.published_verdicts`, as the findings use), the
areas quoted are rows of the whole table with their display strings unchanged, and a row
whose effect size is withheld is never quoted. The counts are numbers of rows of the whole
table (areas), not of respondents.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ._disclosure import DERIVED_MARKER, SUPPRESSED_MARKER
from ._format import MISSING
from ._tables import PublicationTable

__all__ = ["SUMMARY_VERDICTS", "summarise_comparison"]

#: The summary's count columns: (column, header, verdicts counted there).
SUMMARY_VERDICTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("up", "Improved or increased", ("improved", "increased")),
    ("down", "Got worse or decreased", ("got worse", "decreased")),
    ("changed", "Changed (direction not shown)", ("changed",)),
    ("same", "No change (equivalent)", ("no change",)),
    ("unclear", "Inconclusive", ("inconclusive",)),
    ("withheld", "Not reported (small counts)", ("not reported",)),
    ("untested", "Not tested", ("",)),
)
#: How many areas the summary quotes per item (the largest changes).
TOP = 3


def _cell_parts(cell: str, groups: Sequence[str]) -> tuple[str, str]:
    """(respondent group, the rest) of a by-cell label ``"Carer / CC012"``; ``("", label)``
    when the cells are not split by respondent group."""
    for g in groups:
        if cell.startswith(f"{g} / "):
            return g, cell[len(g) + 3:]
    if cell in groups:
        return cell, cell
    return "", cell


def summarise_comparison(table: PublicationTable, comparison: Any, *,
                         groups: Sequence[str], top: int = TOP) -> PublicationTable:
    """``table`` (a long comparison table: :func:`~crisis_survey.present.comparison_table`
    with one row per by-cell, item and design) summarised per respondent group, item and
    design, under the same name and number.

    Columns: the number of areas (rows of ``table``), how many of them have each published
    verdict (:data:`SUMMARY_VERDICTS`; a column no row needs is left out), and the ``top``
    areas with the largest published effect sizes (those with a significant change first),
    each on a line of its own as the whole table shows it: ``CC012 (improved): 44.4 → 58.3,
    r = .58 [.11, .83]``.
    """
    from ._release import published_verdicts

    data, values = table.data, table.values
    if len(data) != len(values) or not {"group", "item", "design"} <= set(values.columns):
        raise ValueError(f"{table.name} is not a long comparison table")
    verdicts = published_verdicts(comparison, [table])
    key = ["group", "item", "design"]
    verdict_of = dict(zip(
        map(tuple, verdicts[key].astype(str).to_numpy().tolist()),
        verdicts["verdict"].to_numpy(dtype=object).tolist(), strict=True))
    has_design = "design" in data.columns
    blocks: dict[tuple[str, str, str], dict[str, Any]] = {}
    for shown, rec in zip(data.to_dict("records"), values.to_dict("records"), strict=True):
        if str(shown["group"]) != str(rec["group"]):  # the two frames are in the same order
            raise ValueError(f"{table.name}: display and values rows differ")
        outer, area = _cell_parts(str(rec["group"]), groups)
        design_label = str(shown["design"]) if has_design else ""
        block = blocks.setdefault((outer, str(shown["item"]), design_label),
                                  {"rows": 0, "verdicts": [], "quoted": []})
        block["rows"] += 1
        verdict = verdict_of.get((str(rec["group"]), str(rec["item"]), str(rec["design"])))
        verdict = verdict if isinstance(verdict, str) else ""
        block["verdicts"].append(verdict)
        effect = rec.get("effect_size")
        shown_effect = str(shown.get("effect", MISSING))
        if isinstance(effect, float | int) and not math.isnan(float(effect)) \
                and shown_effect not in (MISSING, DERIVED_MARKER, SUPPRESSED_MARKER):
            block["quoted"].append((area, verdict, float(effect), shown))
    used = [(col, head, kinds) for col, head, kinds in SUMMARY_VERDICTS
            if any(v in kinds for b in blocks.values() for v in b["verdicts"])]
    rows, counts = [], []
    for (outer, item, design_label), block in blocks.items():
        row: dict[str, str] = {"block": " · ".join(x for x in (outer, design_label) if x),
                               "item": item, "areas": f"{block['rows']:,}"}
        count: dict[str, Any] = {"group": outer, "item": item, "design": design_label,
                                 "areas": block["rows"]}
        for col, _, kinds in used:
            k = sum(v in kinds for v in block["verdicts"])
            row[col], count[col] = f"{k:,}", k
        # significant changes first, then by the size of the published effect
        from ..compare._verdicts import CHANGED

        best = sorted(block["quoted"], key=lambda q: (q[1] not in CHANGED, -abs(q[2])))[:top]
        row["largest"] = "\n".join(_quote(area, verdict, shown)  # one area a line
                                   for area, verdict, _, shown in best) or MISSING
        rows.append(row)
        counts.append(count)
    frame = pd.DataFrame(rows, columns=["block", "item", "areas", *(c for c, _, _ in used),
                                        "largest"])
    labels = {"item": "Item", "areas": "Areas", **{c: h for c, h, _ in used},
              "largest": f"Largest changes (at most {top}: area, wave 1 → wave 2, effect size)"}
    cells = "areas" if any(_cell_parts(str(g), groups)[0] for g in values["group"]) \
        else "cells"
    alpha = float(getattr(comparison, "options", {}).get("alpha", 0.05))
    notes = (
        f"The whole table has {len(data):,} rows, one per {cells[:-1]} and item: it is in "
        f"tables/{table.name}.xlsx and tables/{table.name}.csv (also .md and .tex). Here, "
        f"per item, the number of {cells} and how many have each verdict as the whole table "
        f"publishes it (a significant change at adjusted p < {alpha:g}, the direction from "
        "the published estimates; equivalence for no change), and the areas with the "
        "largest published effect sizes, those with a significant change first, quoted as "
        "the whole table shows them. Counts here are numbers of areas, not of respondents; "
        "an area whose numbers are withheld is counted as not reported and never quoted.",
        *table.notes,
    )
    grouped = bool(frame["block"].ne("").any())
    return dataclasses.replace(table, data=frame if grouped else frame.drop(columns="block"),
                               stub="item", row_group="block" if grouped else None,
                               column_labels=labels, spanners=(), notes=notes,
                               values=pd.DataFrame(counts))


def _quote(area: str, verdict: str, shown: dict[str, Any]) -> str:
    """One area as the whole table shows it (its display strings, unchanged)."""
    from ..compare._verdicts import CHANGED

    head = f"{area} ({verdict})" if verdict in CHANGED else area
    w1, w2 = shown.get("wave1", MISSING), shown.get("wave2", MISSING)
    if w1 == w2 == MISSING:  # no one estimate per wave (a nominal item's levels)
        return f"{head}: {shown.get('effect', MISSING)}"
    return f"{head}: {w1} \u2192 {w2}, {shown.get('effect', MISSING)}"
