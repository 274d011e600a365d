"""End to end against an independent analysis in R of the same files.

``tests/fixtures/r_endtoend/endtoend.R`` reads the shipped sample's CSV files and codebook
with ``read.csv``/jsonlite, links the waves itself (docs/linkage.md) and recomputes every
item x group x design of the comparison (n, statistic, p, Holm-adjusted p, effect size and
interval, odds ratio, the paired difference and its interval) with R's functions; its output,
``tests/fixtures/r_endtoend/sample.csv``, records the R and package versions. Here the library
runs on the same files and every number is compared: the API's unrounded values to 1e-6, and
the published tables (``change_paired``, ``comparison_sensitivity``) at the precision they
print. R is not needed at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crisis_survey.compare import compare_waves
from crisis_survey.present import change_table
from crisis_survey.present._release import comparison_sources
from crisis_survey.synthetic import load_sample_study

FIXTURE = Path(__file__).parent / "fixtures" / "r_endtoend" / "sample.csv"
TOL = 1e-6
#: quantities of the main (paired) table that come from the table layer, not compare_waves
TABLE_ONLY = ("count_wave1", "count_wave2", "difference", "difference_low", "difference_high")


def _close(ours: float, theirs: float) -> bool:
    return bool(abs(ours - theirs) <= TOL * max(1.0, abs(theirs)))


@pytest.fixture(scope="module")
def r_values() -> pd.DataFrame:
    frame = pd.read_csv(FIXTURE, comment="#", keep_default_na=False, na_values=[])
    frame["value"] = frame["value"].astype(float)
    return frame


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    return load_sample_study()


@pytest.fixture(scope="module")
def comparison(study):  # type: ignore[no-untyped-def]
    return compare_waves(study)


def test_fixture_says_how_it_was_made() -> None:
    head = FIXTURE.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0].startswith("# R version 4.2")
    assert "coin" in head[1] and "effectsize" in head[1]
    assert "endtoend.R" in head[2]


def test_linkage_counts_equal_rs_exact_key_matching(study, r_values: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    counts = study.report.counts
    theirs = r_values[r_values["table"] == "linkage"]
    assert len(theirs) == 33  # 11 rows x (All + 2 groups)
    for row in theirs.itertuples():
        assert float(counts.loc[row.quantity, row.group]) == row.value, (row.quantity, row.group)


def test_every_cell_is_in_the_r_analysis(comparison, r_values: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    ours = set(map(tuple, comparison.table[["group", "item", "design"]].to_numpy()))
    cells = r_values[r_values["table"] == "comparison"]
    theirs = set(map(tuple, cells[["group", "item", "design"]].to_numpy()))
    assert ours == theirs
    assert len(ours) == 102  # 17 items x 2 groups x 3 designs


def _ours(comparison, study) -> dict[tuple[str, str, str, str], float]:  # type: ignore[no-untyped-def]
    table = comparison.table.set_index(["group", "item", "design"])
    # the main table's counts and differences, unprotected (threshold 1) to compare each
    main = change_table(comparison, threshold=1,
                        sources=comparison_sources(study, comparison)).values
    main = main.set_index(["group", "item"])
    out: dict[tuple[str, str, str, str], float] = {}
    for (group, item, design), row in table.iterrows():
        for q, v in row.items():
            if isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
                out[(group, item, design, str(q))] = float(v)
    for (group, item), row in main.iterrows():
        for q in TABLE_ONLY:
            if not pd.isna(row[q]):
                out[(group, item, "paired", q)] = float(row[q])
    return out


def test_every_number_equals_r_to_1e6(comparison, study, r_values: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    ours = _ours(comparison, study)
    cells = r_values[r_values["table"] == "comparison"]
    bad = []
    for row in cells.itertuples():
        key = (row.group, row.item, row.design, row.quantity)
        if key not in ours or not _close(ours[key], row.value):
            bad.append((key, ours.get(key), row.value))
    assert not bad, bad[:10]
    assert len(cells) > 1400
    # and nothing we publish as a number is missing from R's side: every p-value, adjusted
    # p-value, effect and interval of the table has R's value
    theirs = {(r.group, r.item, r.design, r.quantity) for r in cells.itertuples()}
    for q in ("statistic", "p_value", "p_adjusted", "effect_size", "ci_low", "ci_high"):
        missing = [k for k in ours if k[3] == q and k not in theirs]
        assert not missing, missing[:5]
