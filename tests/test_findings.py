"""The findings section (present/_findings.py) and WaveComparison.summary(): the answer first,
per group, with verdicts, sizes in numbers and nothing the published tables withhold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crisis_survey import compare_waves, load_sample_study
from crisis_survey.compare._model import models_by_item
from crisis_survey.compare._verdicts import CHANGED
from crisis_survey.present import _tables as T
from crisis_survey.present._findings import Findings
from crisis_survey.present._release import (
    BANDED_NOT_SIGNIFICANT,
    comparison_sources,
    publishable_findings,
)


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
    # where r is withheld, the net change is quoted: its table (pairs higher, the same,
    # lower) has no small count for any of the six improved items
    assert "Effect sizes withheld" not in text
    assert ("How quickly help came (% Within 4 hours or Within 1 hour): 38% in 2014, 57% in "
            "2015, net change +.28 [.13, .41]: 28 percentage points more of the pairs "
            "answered higher in 2015 than lower") in text
    assert text.count("net change +") == 6
    shown = pub.set_index(["group", "item"])["net_change"]
    assert shown.notna().sum() == 16  # every paired ordinal row publishes it
    # withheld effects take their detectable effect with them
    su = f.groups[0]
    assert all("r = ." not in item for item in su.inconclusive_items
               if item.startswith(("Overall quality", "Got help")))
    assert "38% in 2014, 57% in 2015" in text


def test_findings_quote_no_net_change_the_release_withholds(comparison: Any,
                                                            study: Any) -> None:
    # the release audit withholds a row's statistics (secondary action): its net change goes
    # with its r, and the findings say the effect is withheld
    origin = ("comparison", "paired", "Service user", "exp_help_speed")
    sources = comparison_sources(study, comparison, withhold=[origin])
    tabs = [T.comparison_table(comparison, designs=[d], threshold=10, sources=sources)
            for d in ("paired", "independent", "overlapping")]
    pub = tabs[0].values.set_index(["group", "item"])
    assert np.isnan(pub.loc[("Service user", "exp_help_speed"), "net_change"])
    assert not np.isnan(pub.loc[("Service user", "exp_dignity"), "net_change"])
    text = str(publishable_findings(comparison, tabs, groups=["Service user", "Carer"],
                                    waves=["2014", "2015"]))
    assert "net change +.28" not in text
    assert text.count("net change +") == 5
    assert "Effect sizes withheld for 1 of these items" in text


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


def test_sensitivity_names_the_cells_by_group_and_area_and_counts_long_lists() -> None:
    # by group x area the rows' groups are cells ("G / A1"), not the respondent groups:
    # before, the finding said "for 2 of 4 items: ." and listed nothing
    import pandas as pd

    from crisis_survey.present._findings import LISTED, _sensitivity

    def table(n_cells: int) -> pd.DataFrame:
        rows = []
        for c in range(n_cells):
            for design, verdict in (("paired", "improved"), ("independent", "got worse")):
                rows.append({"group": f"G / A{c}", "item": "a", "label": "A",
                             "design": design, "verdict": verdict})
            rows += [{"group": f"G / A{c}", "item": "b", "label": "B", "design": d,
                      "verdict": "no change"} for d in ("paired", "independent")]
        return pd.DataFrame(rows)

    lines = _sensitivity(table(2), "paired", ["paired", "independent"], ["G"])
    assert lines == [
        "Independent design contradicts the paired design for 2 of 4 items and cells: "
        "G / A0: A (got worse; paired: improved) | G / A1: A (got worse; paired: improved)."]
    # a change whose direction is not shown agrees with either direction: no finding
    undirected = table(2).replace({"verdict": {"improved": "changed"}})
    assert _sensitivity(undirected, "paired", ["paired", "independent"], ["G"]) == [
        "Independent design: the same verdict for every item and group."]
    many = _sensitivity(table(LISTED + 1), "paired", ["paired", "independent"], ["G"])
    assert many == [
        f"Independent design contradicts the paired design for {LISTED + 1} of "
        f"{2 * (LISTED + 1)} items and cells (each in the sensitivity analyses' table)."]


@pytest.mark.parametrize("alpha", [0.05, 0.10, 0.01])
def test_verdicts_of_banded_rows_are_what_their_band_says(study: Any, alpha: float) -> None:
    # the derived-value rule publishes some rows' adjusted p-values only as a band: their
    # verdict must follow from the band at the plan's alpha, never from the hidden value
    from crisis_survey.present._release import P_BAND_BOUNDS, published_verdicts

    c = compare_waves(study, alpha=alpha)
    sources = comparison_sources(study, c)
    tabs = [T.comparison_table(c, designs=[d], threshold=10, sources=sources)
            for d in ("paired", "independent", "overlapping")]
    v = published_verdicts(c, tabs)
    pub = pd.concat([t.values for t in tabs]).set_index(["group", "item", "design"])
    v = v.join(pub[["p_adjusted_band"]], on=["group", "item", "design"])
    banded = v[v["p_adjusted_band"].notna()]
    assert len(banded) > 40  # the sample's small counts band many rows
    seen = set()
    for r in banded.itertuples():
        low, high = P_BAND_BOUNDS[r.p_adjusted_band]
        assert low <= r.p_adjusted < high  # the band is the true p-value's
        if high <= alpha:
            seen.add("significant")
            assert r.verdict in CHANGED
            if r.verdict != "changed":  # a direction only where the published waves show it
                assert np.sign(r.estimate_wave2 - r.estimate_wave1) == np.sign(
                    r.verdict_estimate)
        elif low >= alpha:
            seen.add("not significant")
            assert r.verdict == "inconclusive"  # equivalence is not published for them
            assert r.verdict_reason == BANDED_NOT_SIGNIFICANT
        else:
            seen.add("undecided")
            assert r.verdict == "not reported"
            assert r.verdict_reason.startswith(f"its p-value band ({r.p_adjusted_band})")
    assert seen >= ({"significant", "undecided"} if alpha == 0.10
                    else {"significant", "not significant"})
    # rows published exactly keep the analyst's verdict
    exact = v[v["p_adjusted_band"].isna() & (v["verdict"] != "not reported")]
    raw = c.table.set_index(["group", "item", "design"])["verdict"]
    assert (exact["verdict"].to_numpy() == raw.reindex(
        pd.MultiIndex.from_frame(exact[["group", "item", "design"]])).to_numpy()).all()
    # the findings list the undecided rows with their reason
    text = str(publishable_findings(c, tabs))
    if alpha == 0.10:
        assert "does not say whether p < 0.1" in text
    assert "no change" not in banded["verdict"].tolist()


def test_a_banded_row_without_published_waves_gets_no_direction(comparison: Any) -> None:
    from crisis_survey.present._release import BANDED_NO_DIRECTION, p_band, published_verdicts

    paired = comparison.table.query("design == 'paired'")
    sig = paired["verdict"].isin(["improved", "got worse"]).to_numpy()
    assert sig.sum() >= 2
    first, second = np.flatnonzero(sig)[:2]
    values = paired[["group", "item", "design", "n_pairs", "estimate_wave1",
                     "estimate_wave2"]].assign(
        p_adjusted=np.nan, p_adjusted_band=[p_band(p) for p in paired["p_adjusted"]])
    values.iloc[first, values.columns.get_loc("estimate_wave2")] = np.nan  # withheld
    # published waves that move against the effect (possible: % top two vs r)
    values.iloc[second, values.columns.get_loc("estimate_wave2")] = (
        values.iloc[second]["estimate_wave1"] - 1.0)

    class Published:
        pass

    tab = Published()
    tab.values = values  # type: ignore[attr-defined]
    v = published_verdicts(comparison, [tab]).query("design == 'paired'")
    assert v["verdict"].iloc[first] == v["verdict"].iloc[second] == "changed"
    assert v["verdict_reason"].iloc[first] == BANDED_NO_DIRECTION
    others = np.flatnonzero(sig)[2:]
    assert (v["verdict"].iloc[others].to_numpy() == paired["verdict"].iloc[
        others].to_numpy()).all()
    # a row whose adjusted p-value is withheld outright (no band) gets no verdict
    tab.values = values.assign(p_adjusted_band=None)  # type: ignore[attr-defined]
    hidden = published_verdicts(comparison, [tab]).query("design == 'paired'")
    assert (hidden["verdict"] == "not reported").all()


def test_findings_quote_the_paired_difference_with_the_interval_the_release_publishes(
        comparison: Any, study: Any) -> None:
    # the difference in percentage points with its interval, where the paired table shows
    # one; none where the audit withholds it (origin "difference") or its rule does not
    # allow one (a small count in the pairs' 2 x 2 table: "How quickly help came")
    def findings(withhold: list[tuple[str, ...]]) -> str:
        sources = comparison_sources(study, comparison, withhold=withhold)
        tabs = [T.comparison_table(comparison, designs=[d], threshold=10, sources=sources)
                for d in ("paired", "independent", "overlapping")]
        return str(publishable_findings(comparison, tabs, groups=["Service user", "Carer"],
                                        waves=["2014", "2015"]))

    text = findings([])
    assert ("Treated with dignity and respect (% Agree or Strongly agree): 56% in 2014, 72% "
            "in 2015 (+16.0 [5.9, 25.7] percentage points), net change") in text
    assert "38% in 2014, 57% in 2015, net change +.28" in text
    held = findings([("difference", "paired", "Service user", "exp_dignity")])
    assert "56% in 2014, 72% in 2015, net change +.34" in held
    assert "[5.9, 25.7]" not in held
    assert text.count("percentage points), net change") == held.count(
        "percentage points), net change") + 1


def test_a_paired_risk_difference_is_quoted_once() -> None:
    # a binary item's paired RD is the difference of its percentages with the same
    # interval: the findings quote it as the effect, not twice
    from crisis_survey.present._findings import _item_line

    rec = {"label": "Followed up", "summary_measure": "% Yes", "estimate_wave1": 50.4,
           "estimate_wave2": 61.9, "difference": 11.5, "difference_low": 9.1,
           "difference_high": 13.6, "design": "paired", "effect_size": 0.115,
           "ci_low": 0.091, "ci_high": 0.136, "effect_measure": "paired risk difference"}
    assert _item_line(rec, ["2014", "2015"]) == (
        "Followed up (% Yes): 50% in 2014, 62% in 2015, paired RD = .12 [.09, .14]")
    ordinal = {**rec, "effect_measure": "matched-pairs rank-biserial r", "effect_size": 0.3,
               "ci_low": 0.2, "ci_high": 0.4}
    assert "62% in 2015 (+11.5 [9.1, 13.6] percentage points), paired r = .30" in _item_line(
        ordinal, ["2014", "2015"])
