"""The findings section (present/_findings.py) and WaveComparison.summary(): the answer first,
per group, with verdicts, sizes in numbers and nothing the published tables withhold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crisis_survey import compare_waves, load_sample_study
from crisis_survey.compare._model import models_by_item
from crisis_survey.present import _tables as T
from crisis_survey.present._findings import Findings
from crisis_survey.present._release import comparison_sources, publishable_findings


@pytest.fixture(scope="module")
def study() -> Any:
    return load_sample_study()


@pytest.fixture(scope="module")
def comparison(study: Any) -> Any:
    return compare_waves(study)


def test_summary_states_each_group_answer_first(comparison: Any, study: Any) -> None:
    ordinal = ["overall_rating", "exp_help_speed"]
    models = [m for m in models_by_item(study, ordinal) if not isinstance(m, Exception)]
    f = comparison.summary(models)
    assert isinstance(f, Findings)
    text = str(f)
    lines = text.splitlines()
    assert lines[0] == "Findings" and lines[1].startswith("Primary analysis: the paired")
    assert [g.group for g in f.groups] == ["Service user", "Carer"]
    su, carer = f.groups
    # direction and size in words and numbers (estimates from the table, raw in summary())
    line = next(c for c in su.changed if "How quickly help came" in c)
    assert line.startswith("Improved: How quickly help came (% Within 4 hours or Within 1 hour)")
    assert "38% in wave 1, 57% in wave 2, paired r = .54 [.32, .69]" in line
    assert not carer.changed and "17 items" in carer.inconclusive
    assert "could have detected" in carer.inconclusive
    # the change-by-group model: both items differed (p < .05 in the sample study)
    assert "for 2 of 2 items" in f.between[0]
    # the other designs are sensitivity analyses and say where they disagree: a conclusion
    # where the primary design is inconclusive is a difference of certainty, not a
    # contradiction
    assert any(s.startswith("Independent design reaches another degree of certainty than "
                            "the paired design") for s in f.sensitivity)
    assert "Overall quality of crisis care (improved; paired: inconclusive)" in " ".join(
        f.sensitivity)
    assert "<h3>Service user" in f._repr_html_()


def test_primary_design_is_the_options(study: Any) -> None:
    c = compare_waves(study, items=["overall_rating"], primary="independent")
    f = c.summary()
    assert f.primary == "independent"
    assert f.groups[0].changed[0].startswith("Improved: Overall quality of crisis care")
    assert "independent-samples r = .16" in f.groups[0].changed[0]
    assert f.sensitivity and "paired" in f.sensitivity[0].lower()


def test_published_findings_quote_nothing_the_tables_withhold(comparison: Any,
                                                              study: Any) -> None:
    sources = comparison_sources(study, comparison)
    tabs = [T.comparison_table(comparison, designs=[d], threshold=10, sources=sources)
            for d in ("paired", "independent", "overlapping")]
    f = publishable_findings(comparison, tabs, groups=["Service user", "Carer"],
                             waves=["2014", "2015"])
    text = str(f)
    pub = tabs[0].values
    hidden = pub[pub["effect_size"].isna()]
    raw = comparison.table.set_index(["group", "item", "design"])
    assert len(hidden) > 0  # the paired signed-rank effects are withheld in the sample
    for r in hidden.itertuples():
        es = raw.loc[(r.group, r.item, "paired"), "effect_size"]
        if np.isfinite(es):
            assert f"r = {es:.2f}".replace("0.", ".") not in text
    assert "paired r =" not in text
    assert "Effect sizes withheld for 6 of these items" in text
    # withheld effects take their detectable effect with them
    su = f.groups[0]
    assert all("r = ." not in item for item in su.inconclusive_items
               if item.startswith(("Overall quality", "Got help")))
    assert "38% in 2014, 57% in 2015" in text


def test_rows_with_withheld_n_get_no_verdict(comparison: Any) -> None:
    class Published:
        values = comparison.table.assign(n_pairs=np.nan)[
            ["group", "item", "design", "n_pairs"]].query("design == 'paired'")

    f = publishable_findings(comparison, [Published()])
    su = f.groups[0]
    assert not su.changed and len(su.not_reported) == 17
    assert "Not reported (small counts)" in str(f)


def test_sensitivity_tells_contradictions_from_differences_of_certainty() -> None:
    import pandas as pd

    from crisis_survey.present._findings import _sensitivity

    rows = []
    for item, paired, indep in [("a", "improved", "got worse"), ("b", "improved", "no change"),
                                ("c", "inconclusive", "no change"),
                                ("d", "inconclusive", "improved"), ("e", "no change",
                                                                    "no change")]:
        rows += [{"group": "G", "item": item, "label": item.upper(), "design": "paired",
                  "verdict": paired},
                 {"group": "G", "item": item, "label": item.upper(), "design": "independent",
                  "verdict": indep}]
    lines = _sensitivity(pd.DataFrame(rows), "paired", ["paired", "independent"], ["G"])
    assert lines == [
        "Independent design contradicts the paired design for 2 of 5 items: G: A (got worse; "
        "paired: improved); B (no change; paired: improved).",
        "Independent design reaches another degree of certainty than the paired design for 2 "
        "of 5 items: G: C (no change; paired: inconclusive); D (improved; paired: "
        "inconclusive)."]
    same = pd.DataFrame([r for r in rows if r["item"] == "e"])
    assert _sensitivity(same, "paired", ["paired", "independent"], ["G"]) == [
        "Independent design: the same verdict for every item and group."]
