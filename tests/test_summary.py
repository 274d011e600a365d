"""The by-area summary of a long comparison table (present/_summary.py): it quotes only rows
the whole table publishes, as the whole table shows them, and its counts are the whole
table's published verdicts."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from crisis_survey.compare import compare_waves
from crisis_survey.compare._verdicts import CHANGED
from crisis_survey.present import _tables as T
from crisis_survey.present._release import published_verdicts
from crisis_survey.present._summary import SUMMARY_VERDICTS, summarise_comparison
from crisis_survey.synthetic import load_sample_study


@pytest.fixture(scope="module")
def by_area():  # type: ignore[no-untyped-def]
    study = load_sample_study()
    comparison = compare_waves(study, by=("group", "area"), designs=("paired", "independent"))
    return study, comparison


def _quotes(cell: str) -> list[str]:
    return [] if cell == "—" else cell.split("\n")


@pytest.mark.parametrize("threshold", [10, 3])
@pytest.mark.parametrize("designs", [["paired"], ["paired", "independent"]])
def test_summary_quotes_only_published_rows_as_shown(by_area, threshold: int,  # type: ignore[no-untyped-def]
                                                     designs: list[str]) -> None:
    study, comparison = by_area
    full = T.comparison_table(comparison, designs=designs, threshold=threshold)
    groups = [str(g) for g in study.groups]
    summary = summarise_comparison(full, comparison, groups=groups)
    assert summary.name == full.name and len(summary.data) < len(full.data) / 20
    verdicts = published_verdicts(comparison, [full]).set_index(["group", "item", "design"])
    of_row = [verdicts.loc[(g, it, d), "verdict"] for g, it, d in
              full.values[["group", "item", "design"]].itertuples(index=False)]
    shown = full.data.assign(_effect=full.values["effect_size"].to_numpy(), _verdict=of_row)
    quoted = 0
    for rec in summary.data.to_dict("records"):
        outer = str(rec.get("block", "")).split(" · ")[0]
        rows = shown[(shown["item"] == rec["item"])
                     & shown["group"].str.startswith(f"{outer} / ")]
        if "design" in shown.columns:
            rows = rows[rows["design"] == str(rec["block"]).split(" · ")[1]]
        assert rec["areas"] == f"{len(rows):,}"
        for q in _quotes(rec["largest"]):
            m = re.fullmatch(r"(.+?)(?: \((.+)\))?: (?:(.+?) \u2192 (.+?), )?(.+)", q)
            assert m is not None, q
            area, verdict, w1, w2, effect = m.groups()
            w1, w2 = w1 or "—", w2 or "—"  # a nominal item: no estimate per wave
            row = rows[rows["group"] == f"{outer} / {area}"]
            assert len(row) == 1, q
            r = row.iloc[0]
            # the whole table's display strings, unchanged, of a row whose effect it publishes
            assert (r["wave1"], r["wave2"], r["effect"]) == (w1, w2, effect)
            assert not pd.isna(r["_effect"]) and effect not in ("–", "[c]", "—")
            assert "[c]" not in q and "–" not in q.replace("\u2212", "")
            # a verdict is named exactly where the whole table's verdict is a change
            assert verdict == (r["_verdict"] if r["_verdict"] in CHANGED else None), q
            quoted += 1
        # the counts are the published verdicts of the item's rows
        keys = [(g, it, d) for g, it, d in verdicts.index if str(g).startswith(f"{outer} / ")]
        labels = dict(zip(comparison.table["item"], comparison.table["label"], strict=False))
        got = {c: int(rec[c].replace(",", "")) for c, _, _ in SUMMARY_VERDICTS if c in rec}
        assert sum(got.values()) == len(rows)
        for col, _, kinds in SUMMARY_VERDICTS:
            if col in got:
                expected = sum(1 for g, it, d in keys if labels[it] == rec["item"]
                               and d in designs and (len(designs) == 1 or d.capitalize()
                                                     in str(rec["block"]))
                               and (verdicts.loc[(g, it, d), "verdict"]
                                    if isinstance(verdicts.loc[(g, it, d), "verdict"], str)
                                    else "") in kinds)
                assert got[col] == expected, (rec, col)
    if threshold == 3:
        assert quoted > 0  # the test reads quotes (at threshold 10 every effect is withheld)


def test_summary_puts_significant_changes_first() -> None:
    """A row with a significant change is quoted before a larger effect without one."""
    from types import SimpleNamespace

    data = pd.DataFrame({"group": ["A / x", "A / y", "A / z"], "item": ["Item"] * 3,
                         "n": ["40", "41", "42"], "wave1": ["10.0", "20.0", "30.0"],
                         "wave2": ["50.0", "25.0", "10.0"], "effect": ["r = .60", "r = .10",
                                                                       "r = −.70"]})
    values = pd.DataFrame({"group": ["A / x", "A / y", "A / z"], "item": ["i"] * 3,
                           "design": ["paired"] * 3, "effect_size": [0.6, 0.1, -0.7],
                           "n_pairs": [40, 41, 42], "p_adjusted": [0.2, 0.01, 0.3]})
    table = T.PublicationTable(name="change_paired", title="t", data=data, stub="item",
                               row_group="group", values=values)
    frame = values.assign(verdict=["inconclusive", "improved", "inconclusive"],
                          verdict_reason=None, verdict_estimate=[0.6, 0.1, -0.7],
                          estimate_wave1=[10.0, 20.0, 30.0], estimate_wave2=[50, 25, 10.0],
                          n_wave1=40, n_wave2=40)
    comparison = SimpleNamespace(table=frame, options={"alpha": 0.05})
    summary = summarise_comparison(table, comparison, groups=["A"])
    row = summary.data.iloc[0]
    assert row["largest"] == ("y (improved): 20.0 → 25.0, r = .10\nz: 30.0 → 10.0, r = −.70\n"
                              "x: 10.0 → 50.0, r = .60")
    assert (row["areas"], row["up"], row["unclear"]) == ("3", "1", "2")
    assert "down" not in summary.data.columns  # no row needs it
