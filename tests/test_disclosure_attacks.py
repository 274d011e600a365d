"""Issue 11: the library's own releases attacked as a hostile reader would (tests/_attacks.py).

Each test reads only what a release publishes and asserts that no small count (1 to 9 at
threshold 10) is recovered exactly: from the figures' geometry, by solving McNemar rows,
by differencing attrition.csv (All minus groups, and Table 1's "Not stated"), and by
subtracting published area n's from a group's n (a comparison by group x area). Studies:
the shipped sample, and small generated studies by group and by group x area.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from _attacks import (
    _count,
    _estimate_ci,
    area_attack,
    attrition_attack,
    balance_missing_attack,
    geometry_attack,
    mcnemar_attack,
    not_stated_attack,
    paired_difference_attack,
    small,
)
from crisis_survey.codebook import default_codebook
from crisis_survey.compare import compare_waves
from crisis_survey.link import attrition_table, link_waves
from crisis_survey.load import load_wave
from crisis_survey.present import change_chart, comparison_table, likert_chart, sample_table
from crisis_survey.present._figdata import change_counts, likert_counts
from crisis_survey.present._release import audit_release, comparison_sources, linkage_outputs
from crisis_survey.synthetic import generate_study, load_sample_study, write_study

THRESHOLD = 10


@cache
def _generated(seed: int, n_areas: int = 4) -> Any:
    """A small generated study (120 service users, 60 carers, 20 new at wave 2) over
    ``n_areas`` areas, linked."""
    import tempfile

    cb = default_codebook()
    folder = Path(tempfile.mkdtemp(prefix="attack"))
    made = generate_study(n_service_users=120, n_carers=60, n_new_wave2=20,
                          n_areas=n_areas, seed=seed)
    write_study(made, folder, formats=["csv"], codebook=cb)
    waves = [load_wave(folder / f"synthetic_wave{w}.csv", cb, wave=w) for w in (1, 2)]
    return link_waves(*waves)


def _study(name: str) -> Any:
    return load_sample_study() if name == "sample" else _generated(int(name[-1]))


STUDIES = ["sample", "generated1", "generated2"]


# -- figures ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STUDIES)
def test_likert_geometry_gives_back_no_small_count(name: str) -> None:
    study = _study(name)
    cb = study.codebook
    items = [f.name for f in cb.items(measurement="ordinal")
             if f.waves == (1, 2) and f.labels == cb["exp_listened"].labels]
    data = likert_counts(study, items, threshold=THRESHOLD)
    truth = [(rows.sort_values("level_index")["count"].to_numpy(), int(rows["n"].iloc[0]))
             for _, rows in data.groupby(["item", "group", "wave"], sort=False)]
    if name != "sample":  # the small studies have small counts to find
        assert any(((c >= 1) & (c < THRESHOLD)).any() for c, _ in truth)
    fig = likert_chart(study, items, threshold=THRESHOLD)
    assert geometry_attack(fig, truth, THRESHOLD) == []


@pytest.mark.parametrize("name", STUDIES)
def test_paired_change_geometry_gives_back_no_small_count(name: str) -> None:
    study = _study(name)
    data = change_counts(study, threshold=THRESHOLD)
    truth = [(rows["count"].to_numpy(), int(rows["n"].iloc[0]))
             for _, rows in data.groupby(["item", "group"], sort=False)]
    if name != "sample":
        assert any(((c >= 1) & (c < THRESHOLD)).any() for c, _ in truth)
    fig = change_chart(study, threshold=THRESHOLD)
    assert geometry_attack(fig, truth, THRESHOLD) == []


def test_figures_draw_percentages_at_the_published_precision() -> None:
    study = load_sample_study()
    data = likert_counts(study, ["exp_listened"], threshold=THRESHOLD)
    drawn = data["percent"].dropna()
    assert len(drawn) and (drawn == drawn.round(1)).all()
    # a bar holding a small segment is not drawn at all (no geometry to measure)
    for _, rows in data.groupby(["item", "group", "wave"]):
        small = ((rows["count"] >= 1) & (rows["count"] < THRESHOLD)).any()
        assert bool(rows["drawn"].iloc[0]) == (not small and rows["n"].iloc[0] >= THRESHOLD)


# -- McNemar ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STUDIES)
def test_mcnemar_rows_cannot_be_solved_for_a_small_cell(name: str) -> None:
    study = _study(name)
    comparison = compare_waves(study, designs=("paired",))
    sources = comparison_sources(study, comparison)
    table = comparison_table(comparison, designs=["paired"], threshold=THRESHOLD,
                             sources=sources)
    raw = comparison.table
    recovered: list[int] = []
    rows_with_small = 0
    for rec, shown in zip(table.values.to_dict("records"), table.data.to_dict("records"),
                          strict=True):
        kind = raw[(raw["group"] == rec["group"]) & (raw["item"] == rec["item"])]
        if kind["test"].iloc[0] != "mcnemar":
            continue
        cells = np.asarray(sources[(rec["group"], rec["item"], "paired")].cells).reshape(2, 2)
        rows_with_small += bool(((cells >= 1) & (cells < THRESHOLD)).any())
        recovered += mcnemar_attack({k: str(v) for k, v in shown.items()}, cells, THRESHOLD)
    assert rows_with_small > 0
    assert recovered == []


def test_mcnemar_row_without_small_cells_is_published_whole() -> None:
    study = load_sample_study()
    comparison = compare_waves(study, items=["exp_followup"], designs=("paired",))
    sources = comparison_sources(study, comparison)
    shown = comparison_table(comparison, designs=["paired"], sources=sources).data
    su = shown[shown["group"] == "Service user"].iloc[0]
    cells = np.asarray(sources[("Service user", "exp_followup", "paired")].cells)
    assert ((cells == 0) | (cells >= THRESHOLD)).all()
    assert su["statistic"].startswith("χ²") and su["effect"].startswith("RD")  # risk difference


# -- differencing -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", STUDIES)
def test_attrition_all_minus_groups_gives_back_nothing(name: str) -> None:
    study = _study(name)
    published = linkage_outputs(study, threshold=THRESHOLD)["attrition.csv"]
    truth = attrition_table(study)
    assert attrition_attack(published, truth, THRESHOLD) == []
    pct = pd.to_numeric(published["pct_returned"], errors="coerce").dropna()
    assert len(pct) and (pct == pct.round(1)).all()  # published precision, not 15 digits


@pytest.mark.parametrize("name", STUDIES)
def test_table1_not_stated_is_not_group_n_minus_attrition_n(name: str) -> None:
    study = _study(name)
    cb = study.codebook
    published = linkage_outputs(study, threshold=THRESHOLD)["attrition.csv"]
    sample = sample_table(study, threshold=THRESHOLD)
    vals = sample.values
    ns = vals[(vals["wave"] == 1) & (vals["level"] == "Not stated")]
    withheld = {(str(g), str(v)) for g, v, c in zip(ns["group"], ns["variable"], ns["count"],
                                                    strict=True) if pd.isna(c)}
    data = study.wave1.data
    truth = {}
    group_n = {}
    for g in cb.group.labels:
        rows = data[data[cb.group.name] == g]
        group_n[g] = len(rows)
        for f in cb.demographics():
            truth[(g, f.name)] = int((~rows[f.name].isin(f.labels)).sum())
    truth.update({("All", f.name): int((~data[f.name].isin(f.labels)).sum())
                  for f in cb.demographics()})
    group_n["All"] = len(data)
    assert not_stated_attack(group_n, withheld, published, truth, THRESHOLD) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_group_n_minus_area_ns_gives_back_nothing(seed: int) -> None:
    study = _generated(seed)
    cb = study.codebook
    comparison = compare_waves(study, by=("group", "area"), designs=("independent",))
    sources = comparison_sources(study, comparison)
    table = comparison_table(comparison, designs=["independent"], threshold=THRESHOLD,
                             sources=sources)
    raw = comparison.table
    shown = table.data.copy()
    recovered: list[int] = []
    for wave, part in ((1, 0), (2, 1)):
        data = (study.wave1 if wave == 1 else study.wave2).data
        # the reader's group n: respondents answering the item (the published n of a
        # by-group table of the same item; the strongest reader knows it)
        for item in pd.unique(raw["item"]):
            answered = data[data[item].isin(cb[item].labels)] if cb[item].labels else data
            group_n = answered.groupby(cb.group.name, observed=True).size().to_dict()
            label = cb[item].label
            rows = shown[shown["item"] == label].copy()
            rows["n"] = rows["n"].str.split(" / ").str[part]
            truth = {(g, label): int(n) for g, n in zip(
                raw.loc[raw["item"] == item, "group"],
                raw.loc[raw["item"] == item, f"n_wave{wave}"], strict=True)}
            recovered += area_attack(rows, {str(k): int(v) for k, v in group_n.items()},
                                     truth, THRESHOLD)
    assert recovered == []


# -- the attrition-weighting part (Table 8 estimates, the balance table) --------------------
@cache
def _weighting(name: str) -> Any:
    from crisis_survey import AnalysisPlan
    from crisis_survey.present._report import _comparison_kwargs
    from crisis_survey.present._weighting import weighting_part

    study = _study(name)
    plan = AnalysisPlan()
    comparison = compare_waves(study, **_comparison_kwargs(plan))
    sources = comparison_sources(study, comparison)
    return study, comparison, sources, weighting_part(study, plan, THRESHOLD, sources=sources)


@pytest.mark.parametrize("name", STUDIES)
def test_weighted_estimates_table_cannot_be_solved_for_a_small_cell(name: str) -> None:
    # Table 8's unweighted paired difference in percentage points is 100 (b - c) / n and its
    # interval gives b + c: with the change table's n and wave counts, the whole 2x2 table
    # (before: 16 small counts on the sample, 44 and 37 on the small studies, e.g. the
    # service users' wave-2 police-cell count 4 = 14 + 125 x -8.00 / 100)
    study, comparison, sources, part = _weighting(name)
    cb = study.codebook
    shown = comparison_table(comparison, designs=["paired"], threshold=THRESHOLD,
                             sources=sources).values
    table8 = part.tables[0]
    assert table8.name == "weighted_estimates"
    by_label = {cb[f].label: f for f in cb.names}
    recovered: list[int] = []
    rows_with_small = 0
    for r in table8.data.to_dict("records"):
        if r["design"] != "paired" or r["measure"] != "percentage points":
            continue
        item = by_label[r["item"]]
        cells = np.asarray(sources[(r["group"], item, "paired")].cells).reshape(2, 2)
        rows_with_small += bool(((cells >= 1) & (cells < THRESHOLD)).any())
        est = _estimate_ci(r["unweighted"])
        if est is None:
            continue
        v = shown[(shown["group"] == r["group"]) & (shown["item"] == item)].iloc[0]
        n = int(v["n_pairs"])
        k1, k2 = (None if np.isnan(p) else round(p * n / 100)
                  for p in (v["estimate_wave1"], v["estimate_wave2"]))
        recovered += paired_difference_attack(est, n, k1, k2, cells, THRESHOLD)
    assert rows_with_small > 0
    assert recovered == []
    # what is published passes the derived-value rule, unweighted and weighted alike
    for r, v in zip(table8.data.to_dict("records"), table8.values.to_dict("records"),
                    strict=True):
        if r["weighted"] != "–":
            assert sources[(r["group"], v["item"], r["design"])].passes(THRESHOLD)


def test_balance_table_does_not_give_back_table1_not_stated() -> None:
    # the service users' SMD of "Ethnic group: missing" (0.05, 10 of 25 returned), their
    # 456 respondents, 149 returners and attrition.csv's 292 non-returners answering give
    # the 25 who did not state it, and Table 1's All column (34) the carers' withheld 9
    study, _, _, part = _weighting("sample")
    cb = study.codebook
    balance = part.tables[1]
    assert balance.name == "attrition_weights_balance"
    attrition = linkage_outputs(study, threshold=THRESHOLD)["attrition.csv"]
    note = " ".join(balance.notes)
    returners = {g: int(n) for g, n in re.findall(
        r"([A-Z][a-z]+(?: [a-z]+)*): effective sample size \d+ of (\d+) returners", note)}
    assert returners == {"Service user": 149, "Carer": 82}
    table1 = sample_table(study, threshold=THRESHOLD).values
    table1 = table1[(table1["wave"] == 1) & (table1["level"] == "Not stated")]
    data = study.wave1.data
    group_n = {str(k): int(v) for k, v in data[cb.group.name].value_counts().items()}
    recovered = []
    for r in balance.data.to_dict("records"):
        if not r["covariate"].endswith(": missing") or r["before"] == "–":
            continue
        f = next(x for x in cb.demographics() if r["covariate"] == f"{x.label}: missing")
        row = attrition[(attrition["group"] == r["group"])
                        & (attrition["variable"] == f.name)].iloc[0]
        answered = _count(row["n_not_returned"])
        if answered is None:
            continue
        found = balance_missing_attack(float(r["before"].replace("−", "-")),
                                       group_n[r["group"]], returners[r["group"]], answered)
        true = {g: int((~data.loc[data[cb.group.name] == g, f.name].isin(f.labels)).sum())
                for g in group_n}
        if len(found) != 1 or found[0] != true[r["group"]]:
            continue
        shown = table1[(table1["variable"] == f.name)].set_index("group")["count"]
        if pd.isna(shown[r["group"]]) and small(found[0], THRESHOLD):
            recovered.append(found[0])
        others = [g for g in group_n if g != r["group"]]
        if len(others) == 1 and pd.notna(shown["All"]) and pd.isna(shown[others[0]]):
            guess = int(shown["All"]) - found[0]  # All minus the group = the other group
            if guess == true[others[0]] and small(guess, THRESHOLD):
                recovered.append(guess)
    assert recovered == []
    # a covariate whose level x returned table holds a small count shows no SMD at all
    hidden = {(r["group"], r["covariate"].split(":")[0]) for r in balance.data.to_dict(
        "records") if r["before"] == "–"}
    assert ("Service user", "Ethnic group") in hidden


# -- the release-wide audit ---------------------------------------------------------------------
def test_release_audit_catches_table1_differenced_with_attrition(monkeypatch: Any) -> None:
    # without the cross-table rule (answered n's withheld where Table 1 withholds "Not
    # stated"), the audit must find the carers' gender "Not stated" (4) pinned
    from crisis_survey.present import _release

    plain = _release.publishable_attrition
    monkeypatch.setattr(_release, "publishable_attrition",
                        lambda table, **kw: plain(table, **{**kw, "withheld_answered": ()}))
    study = load_sample_study()
    comparison = compare_waves(study, items=["overall_rating"], designs=("paired",))
    audit = audit_release(study, comparison, threshold=THRESHOLD,
                          parts=("table1", "attrition"))
    pinned = audit[audit["narrowed"]]
    assert "gender: w1 Carer gender=Not stated" in set(pinned["fact"])
    row = audit.set_index("fact").loc["gender: w1 Carer gender=Not stated"]
    assert row["lower"] == row["upper"] == row["value"] == 4
    monkeypatch.undo()
    audit = audit_release(study, comparison, threshold=THRESHOLD,
                          parts=("table1", "attrition"))
    assert not audit.loc[audit["output"] == "Table 1", "narrowed"].any()


@cache
def _protected_sample() -> Any:
    from crisis_survey import AnalysisPlan
    from crisis_survey.present._release import protect_release
    from crisis_survey.present._report import _comparison_kwargs

    study = load_sample_study()
    comparison = compare_waves(study, **_comparison_kwargs(AnalysisPlan()))
    return study, comparison, protect_release(study, comparison, threshold=THRESHOLD,
                                              progress=_SAMPLE_PROGRESS.append)


_SAMPLE_PROGRESS: list[str] = []


def test_the_audit_says_what_each_round_found() -> None:
    """A long audit (minutes by group x area at national size) is not silent: one line per
    round, with the counts attacked and narrowed, the last one with none narrowed."""
    _, _, guard = _protected_sample()
    rounds = [line for line in _SAMPLE_PROGRESS if line.startswith("audit round")]
    assert [line.split(":")[0] for line in rounds] == [
        f"audit round {k}" for k in range(1, guard.rounds + 1)]
    attacked = f"{len(guard.audit):,} small counts attacked"
    assert all(attacked in line for line in rounds)
    assert "32 narrowed" in rounds[0] and " 0 narrowed" in rounds[-1]
    # then the paired differences' intervals, in audits of their own
    assert [line for line in _SAMPLE_PROGRESS if line.startswith("interval audit")] == [
        "interval audit 1: 18 intervals shown, 13 small counts narrowed",
        "interval audit 2: 14 intervals shown, 0 small counts narrowed"]


@pytest.mark.parametrize(("settled", "proven", "local"),
                         [(0.02, 0, False), (0.5, 0, False), (0.02, 1, False),
                          (0.02, 1, True), (0.5, 1, True)])
def test_rounds_stop_when_withholding_settles_few_unproven_counts(
        monkeypatch: Any, settled: float, proven: int, local: bool) -> None:
    """By group x area at national size the audit reports counts it has not proven safe as
    narrowed; a round that settles almost none of them (withholding statistics does not
    make them provable) is the last, where each would take minutes. An audit is faked: the
    sample's real one, with 100 counts reported narrowed and unproven in round 1 and
    ``settled`` of those left settled by each round after it, each with a new statistic
    to withhold (the first round's fixes in turn). Where ``proven`` of them are proven
    narrowed (the whole-block round with the reference's strata), the rounds act as the
    exact audit's: no early stop, up to ``ROUNDS``; but on the local path (``local``: by
    area, where each round takes minutes) only until ``SLOW_ROUNDS`` rounds in a row each
    settle less than ``UNPROVEN_PROGRESS``."""
    from crisis_survey.present import _release

    study, comparison, guard = _protected_sample()
    fixes = sorted({f for f in guard.withhold if f[0] != "domain"})
    assert len(fixes) > _release.UNPROVEN_ROUNDS
    real = _release.audit_release
    left = [100]

    def fake(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw).copy()
        k = left[0]
        out["narrowed"] = np.arange(len(out)) < k
        out["fix"] = [fixes[len(left) % len(fixes)] if i < k else None
                      for i in range(len(out))]
        out.attrs["unproven"] = max(k - proven, 0)
        if local:
            out.attrs["method"] = "local"
        left.append(int(k * (1 - settled)))
        left[0] = left[-1]
        return out

    monkeypatch.setattr(_release, "audit_release", fake)
    lines: list[str] = []
    got = _release.protect_release(study, comparison, threshold=THRESHOLD,
                                   progress=lines.append)
    intervals = {o for o in got.withhold if o[0] == "difference"}
    stop = [line for line in lines if line.startswith("audit: stopping")]
    if proven and local and settled >= _release.UNPROVEN_PROGRESS:
        # each round settles half: the rounds go on until none is left
        assert not stop and got.clean and got.rounds == 8
        return
    assert not got.clean
    if proven and local and settled < _release.UNPROVEN_PROGRESS:
        assert stop == [f"audit: stopping after round {1 + _release.SLOW_ROUNDS}: "
                        f"{_release.SLOW_ROUNDS} rounds in a row settled less than 10% of "
                        "the narrowed counts each; the 96 left are reported narrowed"]
        assert got.rounds == 1 + _release.SLOW_ROUNDS
        return
    if proven:
        # (until no new statistic is left to withhold: the fake names the same ones again)
        assert not stop and _release.ROUNDS >= got.rounds > _release.UNPROVEN_ROUNDS
        return
    if settled < _release.UNPROVEN_PROGRESS:
        assert stop == ["audit: stopping after round 2: the statistics withheld settled 2 "
                        "of the 100 counts not proven safe (less than 10%); the rest are "
                        "reported narrowed"]
        assert got.rounds == 2 and len(got.withhold - intervals) == 1
        # the report says these counts are unproven, not that they can be narrowed
        note = got.notes(THRESHOLD)[0]
        assert "98 of them could not be proven to keep at least 5 possible values" in note
        assert "can be narrowed" not in note and "It withheld 1 further" in note
    else:  # each round settles half: the rounds go on to their limit
        assert not stop and got.rounds == _release.UNPROVEN_ROUNDS
        assert len(got.withhold - intervals) == _release.UNPROVEN_ROUNDS - 1
    # where counts stay unproven no paired difference's interval is added: the 18 the
    # rows' own rule would show are withheld, and the report says so
    assert len(intervals) == 18
    assert got.published.comparison["paired"]["difference_low"].isna().all()
    assert "withheld the interval of 18 paired difference(s)" in got.notes(THRESHOLD)[0]


def test_release_audit_and_secondary_action_leave_nothing_narrowed_on_the_sample() -> None:
    study, comparison, guard = _protected_sample()
    # the first audit finds the carers' attrition cells given away by the All row's and the
    # service users' statistics (All minus service users); the audit withholds statistics
    # until nothing is narrowed
    assert guard.rounds > 1 and guard.withhold
    assert ("attrition", "All", "overall_rating") in guard.withhold
    assert guard.clean and len(guard.audit) > 300
    assert guard.audit["values"].min() >= 5
    # the published files follow the audit: the All row's test is banded
    att = guard.published.attrition
    row = att[(att["group"] == "All") & (att["variable"] == "overall_rating")].iloc[0]
    assert row["statistic"] == "–" and row["p_value"] in ("< .001", "< .01", "< .05", "≥ .05")
    # re-auditing the final release independently finds nothing either
    again = audit_release(study, comparison, threshold=THRESHOLD, published=guard.published)
    assert not again["narrowed"].any()


def test_disclosure_summary_counts_what_was_withheld() -> None:
    _, _, guard = _protected_sample()
    summary = guard.summary().set_index("output")
    assert summary.loc["Table 1", "withheld_primary"] == 24
    assert summary.loc["Table 1", "withheld_secondary"] > 0
    assert (summary["statistics_withheld_by_audit"].sum()
            + summary["domains_withheld_by_audit"].sum()) == len(guard.withhold)
    assert (summary["narrowed"] == 0).all()
    assert "none can be narrowed to fewer than 5" in guard.notes(THRESHOLD)[0]


# -- the change-by-group model (derived values; issue 11) -------------------------------------
def test_model_sources_are_the_counts_the_model_is_fitted_from() -> None:
    from crisis_survey.compare._model import item_patterns
    from crisis_survey.present._release import model_sources

    study = load_sample_study()
    src = model_sources(study, ["overall_rating", "exp_listened"])
    for item, s in src.items():
        pat, _, labels = item_patterns(study, item, scores=False)
        k = len(study.codebook[item].labels)
        # every (group, wave, level) count the estimating equations read, from the patterns
        got = np.zeros((2, 2, k))
        for t in (0, 1):
            has = ~np.isnan(pat.y[:, t])
            np.add.at(got, (pat.group[has], t, pat.y[has, t].astype(int)), pat.weight[has])
        order = [list(study.groups).index(g) for g in labels]
        assert np.array_equal(np.asarray(s.margins)[order], got)
        assert int(np.asarray(s.patterns).sum()) == int(pat.weight.sum())
        assert sorted(np.asarray(s.patterns).ravel()[np.asarray(s.patterns).ravel() > 0]) == \
            sorted(pat.weight)


def test_model_table_publishes_only_what_its_counts_allow() -> None:
    from crisis_survey import change_by_group_model
    from crisis_survey.present._release import ModelSource
    from crisis_survey.present._report import model_table

    study = load_sample_study()
    m = change_by_group_model(study, "overall_rating")
    groups = [m.reference_group, m.other_group]
    big = np.full((2, 2, 5), 20)
    cases = {
        "all": ModelSource(big, np.full((2, 35), 20)),
        "banded": ModelSource(big, np.r_[np.full(69, 20), 3].reshape(2, 35)),
        "none": ModelSource(np.r_[np.full(19, 20), 4].reshape(2, 2, 5), np.full((2, 35), 20)),
        "audit": ModelSource(big, np.full((2, 35), 20), withheld=True),
    }
    p = float(m.effects.iloc[-1]["p_value"])
    for name, src in cases.items():
        t = model_table([m], groups, sources={"overall_rating": src}, threshold=THRESHOLD)
        row, v = t.data.iloc[0], t.values.iloc[0]
        if name == "all":
            assert "[" in row["difference"] and v["p_value"] == p and v["p_band"] == ""
            assert "CI" in t.column_labels["difference"]
            continue
        assert "[" not in row["difference"] and np.isnan(v["ci_low"]) and np.isnan(v["p_value"])
        assert row["p"] in ("< .001", "< .01", "< .05", "≥ .05") and v["p_band"] == row["p"]
        assert "CI" not in t.column_labels["difference"]
        if name == "banded":
            assert row["difference"] == f"{m.effects.iloc[-1]['estimate']:.2f}"
        else:
            assert row["difference"] == "–" and np.isnan(v["estimate"])
            assert all(row[g] == "–" for g in groups)
        assert any("withheld" in n for n in t.notes)


def test_release_audit_reads_the_models_odds_ratios_as_revealing_their_counts() -> None:
    # published odds ratios reveal (at most) every count of the item's group x wave x level
    # table: the audit is given each as an equation (intervals and exact p-values would add
    # the pattern counts; on the sample every model's patterns hold a small count, so none)
    from dataclasses import replace

    study, comparison, guard = _protected_sample()
    models = guard.published.models
    assert len(models) == 8 and all(m.estimates_pass(THRESHOLD) for m in models.values())
    assert not any(m.passes(THRESHOLD) for m in models.values())
    facts = guard.audit.attrs["published_facts"]
    expected = sum(2 * 2 * len(study.codebook[item].labels) for item in models)
    assert facts["change-by-group model"] == expected
    # a model the audit withholds gives the reader nothing
    first = sorted(models)[0]
    fewer = replace(guard.published, models={
        **models, first: replace(models[first], withheld=True)})
    again = audit_release(study, comparison, threshold=THRESHOLD, published=fewer)
    assert again.attrs["published_facts"]["change-by-group model"] == expected - 2 * 2 * len(
        study.codebook[first].labels)


def test_release_audit_gives_back_what_later_rounds_superseded() -> None:
    # round 1 withheld five carers' independent-design rows for counts that round 2's
    # attrition tests protect: they are given back, and the release is still clean
    study, comparison, guard = _protected_sample()
    # (given back by output, then one at a time: no comparison row's statistics stay
    # withheld; two transition panels do, which the audit gives up before any statistic,
    # where before it withheld those two paired rows' statistics, net change included)
    assert not {o for o in guard.withhold if o[0] == "comparison"}
    assert {o for o in guard.withhold if o[0] == "domain"} == {
        ("domain", "Service user", "exp_dignity", "transitions"),
        ("domain", "Service user", "exp_family_involved", "transitions")}
    assert guard.clean
    from crisis_survey.present._release import Published

    # each statistic or panel still withheld is needed: giving any one back narrows a count
    for origin in sorted(guard.withhold):
        pub = Published.build(study, comparison, threshold=THRESHOLD,
                              withhold=guard.withhold - {origin}, previous=guard.published)
        assert audit_release(study, comparison, threshold=THRESHOLD,
                             published=pub)["narrowed"].any(), origin


# -- the wave-2 table by local area ------------------------------------------------------------
@cache
def _many_areas() -> Any:
    import tempfile

    cb = default_codebook()
    folder = Path(tempfile.mkdtemp(prefix="areas"))
    made = generate_study(n_service_users=2000, n_carers=900, n_new_wave2=500, n_areas=30,
                          seed=7)
    write_study(made, folder, formats=["csv"], codebook=cb)
    return link_waves(*[load_wave(folder / f"synthetic_wave{w}.csv", cb, wave=w)
                        for w in (1, 2)])


@pytest.mark.parametrize("name", [*STUDIES, "many_areas"])
def test_wave2_table_by_area_withholds_nothing_it_shows(name: str) -> None:
    # the pooled column is All minus the areas shown, and the table by group publishes
    # All: a withheld cell in it would be given back by differencing, so areas are pooled
    # until the table withholds nothing (or it is not shown: one column only)
    from crisis_survey.present._tables import wave2_items_table

    study = _many_areas() if name == "many_areas" else _study(name)
    t = wave2_items_table(study, by="area", threshold=THRESHOLD)
    v = t.values
    if len(t.body_columns) > 1:
        assert not v["count"].isna().any() and not v["n"].isna().any()
        assert not ((v["count"] > 0) & (v["count"] < THRESHOLD)).any()
        by_group = wave2_items_table(study, by="group", threshold=THRESHOLD).values
        for (item, level), rows in v.groupby(["item", "level"]):
            total = rows.loc[rows["column"] == "All", "count"].iloc[0]
            assert rows.loc[rows["column"] != "All", "count"].sum() == total
            g = by_group[(by_group["item"] == item) & (by_group["level"] == level)
                         & (by_group["column"] == "All")]["count"].iloc[0]
            assert pd.isna(g) or g == total
    if name == "many_areas":
        assert len(t.body_columns) > 3  # areas of their own are shown


@pytest.mark.parametrize("by", [("group",), ("group", "area")])
def test_release_audit_reads_the_wave2_table_by_area(by: tuple[str, ...]) -> None:
    from crisis_survey import AnalysisPlan
    from crisis_survey.present._release import Published
    from crisis_survey.present._report import _comparison_kwargs

    study = _many_areas()
    plan = AnalysisPlan(by=by, items=("overall_rating",))
    comparison = compare_waves(study, **_comparison_kwargs(plan))
    pub = Published.build(study, comparison, threshold=THRESHOLD)
    assert pub.wave2_area is not None
    v = pub.wave2_area
    audit = audit_release(study, comparison, threshold=THRESHOLD, published=pub)
    facts = audit.attrs["published_facts"]["wave-2 table by area"]
    # by group: each level's total (the All column); by group x area every column
    expected = len(v) if "area" in by else int((v["column"] == "All").sum())
    assert facts == expected


def test_release_audit_reads_a_net_change_as_its_three_counts() -> None:
    # a published net change (and its interval) gives the pairs higher, the same and lower in
    # wave 2; with the transition chart's cells those sums pinned two of the service users'
    # dignity cells, so the audit withholds that item's transition panel (before: the row's
    # statistics, its net change included)
    from dataclasses import replace

    from crisis_survey.present._release import Published

    study, comparison, guard = _protected_sample()
    panel = ("domain", "Service user", "exp_dignity", "transitions")
    assert panel in guard.withhold
    shown = guard.published.comparison["paired"]
    ordinal = shown["item"].map(lambda it: study.codebook[it].measurement) == "ordinal"
    assert int(shown.loc[ordinal, "net_change"].notna().sum()) == 16  # of 16 rows
    assert shown.loc[~ordinal, "net_change"].isna().all()
    # give the panel back: the audit must find the cells the net change and it give away
    # (the row's difference interval withheld, as the audit names it before the panel)
    interval = ("difference", "paired", "Service user", "exp_dignity")
    pub = Published.build(study, comparison, threshold=THRESHOLD,
                          withhold=(guard.withhold - {panel}) | {interval},
                          previous=guard.published)
    audit = audit_release(study, comparison, threshold=THRESHOLD, published=pub)
    pinned = audit[audit["narrowed"]]
    assert panel in set(pinned["fix"])
    assert pinned["fact"].str.contains("Service user exp_dignity pairs").any()
    assert (pinned["values"] == 1).any()  # some pinned exactly
    # and without that row's net change and statistic, the panel gives nothing away
    at = (pub.comparison["paired"]["group"] == "Service user") & (
        pub.comparison["paired"]["item"] == "exp_dignity")
    paired = pub.comparison["paired"].copy()
    for col in ("net_change", "net_change_ci_low", "net_change_ci_high", "effect_size",
                "statistic", "difference_low", "difference_high"):
        paired.loc[at, col] = np.nan
    release = replace(pub, comparison={**pub.comparison, "paired": paired})
    assert not audit_release(study, comparison, threshold=THRESHOLD,
                             published=release)["narrowed"].any()


# -- the distribution tables ---------------------------------------------------------------------
@pytest.mark.parametrize("name", STUDIES)
def test_distribution_tables_give_back_no_small_count(name: str) -> None:
    # N minus the published levels (a binary item's one withheld level: before, 125 - 121
    # gave the sample's 4 service users in a police cell), and the pairs' level counts
    # beside everyone's (the independent table, the Likert bars): the difference is the
    # answers of those who answered in one wave only
    from crisis_survey.present._tables import distribution_table

    study = _study(name)
    comparison = compare_waves(study)
    sources = comparison_sources(study, comparison)
    tabs = {d: distribution_table(study, comparison, design=d, sources=sources,
                                  threshold=THRESHOLD) for d in ("paired", "independent")}
    recovered = tried = 0
    for t in tabs.values():
        n_rows = t.data[t.data["level"] == "N"]
        v = t.values
        for (g, item, w), rows in v.groupby(["group", "item", "wave"]):
            gi = list(pd.unique(v["group"])).index(g)
            label = study.codebook[str(item)].label
            n_text = n_rows.loc[n_rows["item"] == label, f"g{gi}_wave{w}"].iloc[0]
            hidden = rows[rows["count"].isna()]
            if n_text != "[c]" and len(hidden) == 1:
                recovered += 1
    every = tabs["independent"].values.set_index(["group", "item", "wave", "level"])["count"]
    likert = likert_counts(study, threshold=THRESHOLD)
    drawn = likert[likert["drawn"]].set_index(["group", "item", "wave", "level"])["count"]
    for r in tabs["paired"].values.dropna(subset=["count"]).to_dict("records"):
        key = (r["group"], r["item"], r["wave"], r["level"])
        for known in (every, drawn):
            if key in known.index and not pd.isna(known.loc[key]):
                tried += 1
                recovered += small(float(known.loc[key]) - r["count"], THRESHOLD)
    assert tried > 0
    assert recovered == 0


# -- secondary action on counts: domains and linkage cells (issue 11) ---------------------------
@cache
def _protected(name: str) -> Any:
    from crisis_survey import AnalysisPlan
    from crisis_survey.present._release import protect_release
    from crisis_survey.present._report import _comparison_kwargs

    study = _study(name.removesuffix("-area"))
    by = ("group", "area") if name.endswith("-area") else ("group",)
    comparison = compare_waves(study, **_comparison_kwargs(AnalysisPlan(by=by)))
    return study, comparison, protect_release(study, comparison, threshold=THRESHOLD)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["generated1", "generated2", "generated1-area"])
def test_small_studies_are_clean_once_the_audit_withholds_counts(name: str) -> None:
    # 120 service users and 60 carers: before, withholding statistics left 111 and 197
    # small counts narrowed (17 and 19 pinned exactly; Table 1's age band, the paired
    # distribution, attrition.csv, the linkage table), with nothing left to withhold; by
    # group x area (4 areas) the audit attacks 3,085 small counts and withholds 53 domain
    # parts in 11 rounds (5 minutes at load 4)
    from crisis_survey.present._release import hidden_domains, hidden_linkage

    study, comparison, guard = _protected(name)
    assert guard.clean, guard.audit[guard.audit["narrowed"]].head()
    assert guard.audit["values"].min() >= 5
    kinds = {o[0] for o in guard.withhold}
    assert "domain" in kinds
    # what the audit withheld is what the release publishes
    pub = guard.published
    for part in ("paired", "independent", "overlapping", "distribution", "transitions",
                 "likert", "table1", "attrition"):
        for group, item in hidden_domains(guard.withhold, part):
            if part in ("paired", "independent", "overlapping"):
                t = pub.comparison[part]
                r = t[(t["group"] == group) & (t["item"] == item)]
                assert r[["estimate_wave1", "estimate_wave2"]].isna().all().all()
            elif part == "distribution":
                for t in pub.distributions.values():
                    sel = t[(t["group"] == group) & (t["item"] == item)]
                    assert sel["count"].isna().all()
            elif part == "likert":
                sel = pub.likert[(pub.likert["group"] == group) & (pub.likert["item"] == item)]
                assert not sel["drawn"].any()
            elif part == "transitions":
                sel = pub.transitions[(pub.transitions["group"] == group)
                                      & (pub.transitions["item"] == item)]
                assert sel["withheld"].all()
            elif part == "table1":
                sel = pub.sample[(pub.sample["group"] == group)
                                 & (pub.sample["variable"] == item)]
                assert sel["count"].isna().all()
            else:
                sel = pub.attrition[(pub.attrition["group"] == group)
                                    & (pub.attrition["variable"] == item)]
                assert (sel[["n_returned", "n_not_returned"]] == "[c]").all().all()
    for row, col in hidden_linkage(guard.withhold):
        assert str(pub.linkage_display.at[row, col]) == "[c]"
    # an independent audit of the final release finds nothing either
    again = audit_release(study, comparison, threshold=THRESHOLD, published=pub)
    assert not again["narrowed"].any()


def test_each_part_of_a_domain_withholds_only_that_part() -> None:
    from crisis_survey.present._disclosure import DOMAIN_PARTS
    from crisis_survey.present._release import Published

    study = load_sample_study()
    comparison = compare_waves(study)
    base = Published.build(study, comparison, threshold=THRESHOLD)

    def hidden(values: pd.DataFrame, column: str = "count") -> int:
        return int(values[column].isna().sum())

    def measures(p: Published) -> dict[str, int]:
        return {
            **{d: hidden(t, "estimate_wave1") for d, t in p.comparison.items()},
            "distribution": sum(hidden(t) for t in p.distributions.values()),
            "transitions": int(p.transitions["withheld"].sum()),
            "likert": int((~p.likert["drawn"]).sum()),
            "table1": hidden(p.sample),
            "attrition": int((p.attrition == "[c]").to_numpy().sum()),
        }

    before = measures(base)
    for part, (group, name) in zip(DOMAIN_PARTS, [("Carer", "exp_listened")] * 4
                                   + [("Carer", "gender")] + [("Carer", "exp_listened")] * 3,
                                   strict=True):
        pub = Published.build(study, comparison, threshold=THRESHOLD,
                              withhold={("domain", group, name, part)})
        after = measures(pub)
        assert after[part] > before[part], part
        assert all(after[p] == before[p] for p in after if p not in (part,)), (part, after)
    # attrition: the carers' row of the item loses its n's (and the complement withheld)
    pub = Published.build(study, comparison, threshold=THRESHOLD,
                          withhold={("domain", "Carer", "exp_listened", "attrition")})
    row = pub.attrition[(pub.attrition["group"] == "Carer")
                        & (pub.attrition["variable"] == "exp_listened")].iloc[0]
    assert row["n_returned"] == "[c]" and row["n_not_returned"] == "[c]"


def test_a_forced_linkage_cell_is_withheld_with_its_complement() -> None:
    from crisis_survey.present._tables import protect_linkage_counts

    study = load_sample_study()
    plain = protect_linkage_counts(study, threshold=THRESHOLD).display()
    assert plain.at["wave-1 only", "Carer"] != "[c]"
    forced = protect_linkage_counts(study, threshold=THRESHOLD,
                                    force={("wave-1 only", "Carer")}).display()
    assert forced.at["wave-1 only", "Carer"] == "[c]"
    # the row's All and the other group would give it back: one more is withheld there
    others = [c for c in forced.columns if c != "Carer"]
    assert (forced.loc["wave-1 only", others] == "[c]").any()


def test_rounds_stop_sooner_where_the_audit_reports_unproven_counts(monkeypatch: Any) -> None:
    # by group x area at national size the local audit reports counts it has not proven
    # narrowed, and withholds statistics only: 6 rounds there (minutes each), 12 elsewhere
    import crisis_survey.present._release as release
    from crisis_survey.present._audit import AUDIT_COLUMNS

    study = load_sample_study()
    comparison = compare_waves(study, items=["overall_rating"], designs=["paired"])
    calls: list[int] = []

    def fake(unproven: int) -> Any:
        def audit(*args: Any, **kwargs: Any) -> pd.DataFrame:
            calls.append(1)
            out = pd.DataFrame([{"output": "x", "fact": "x", "kind": "source", "value": 3,
                                 "lower": 3.0, "upper": 3.0, "values": 1.0, "narrowed": True,
                                 "fix": ("comparison", "paired", "Nobody", f"item{len(calls)}")}],
                               columns=AUDIT_COLUMNS)
            out.attrs["unproven"] = unproven
            out.attrs["method"] = "local"
            return out
        return audit

    # (each round's one count settled: no stop for want of progress, tested on its own)
    monkeypatch.setattr(release, "UNPROVEN_PROGRESS", 0.0)
    for unproven, rounds in ((1, release.UNPROVEN_ROUNDS), (0, release.ROUNDS)):
        calls.clear()
        monkeypatch.setattr(release, "audit_release", fake(unproven))
        guard = release.protect_release(study, comparison, threshold=THRESHOLD,
                                        designs=("paired",))
        assert guard.rounds == rounds == len(calls) and not guard.clean


# -- the paired difference's interval --------------------------------------------------------
def test_paired_differences_carry_an_interval_where_the_statistic_is_banded() -> None:
    # before, the interval was shown only with the row's statistic: no ordinal row of the
    # sample (its signed-rank tables hold a small corner count) had one, nor at 2,596 pairs
    _, _, guard = _protected_sample()
    paired = guard.published.comparison["paired"]
    banded = paired["statistic"].isna() & paired["n_pairs"].notna()
    with_ci = paired["difference_low"].notna()
    assert int((banded & with_ci).sum()) == 7  # 7 of the 14 intervals shown
    # every interval shown holds its difference, which is the percentages' difference
    shown = paired[with_ci]
    diff = shown["estimate_wave2"] - shown["estimate_wave1"]
    np.testing.assert_allclose(shown["difference"], diff)
    assert (shown["difference_low"] <= diff).all() and (diff <= shown["difference_high"]).all()


@cache
def _interval_release(name: str) -> Any:
    """The sample's protected release, or a larger generated study's (600 service users
    and 300 carers: most of its pairs' 2 x 2 tables pass the rule), by group."""
    import tempfile

    from crisis_survey import AnalysisPlan
    from crisis_survey.present._release import protect_release
    from crisis_survey.present._report import _comparison_kwargs

    if name == "sample":
        return _protected_sample()[2]
    cb = default_codebook()
    folder = Path(tempfile.mkdtemp(prefix="attack"))
    made = generate_study(n_service_users=600, n_carers=300, n_new_wave2=60, n_areas=4,
                          seed=3)
    write_study(made, folder, formats=["csv"], codebook=cb)
    study = link_waves(*[load_wave(folder / f"synthetic_wave{w}.csv", cb, wave=w)
                         for w in (1, 2)])
    comparison = compare_waves(study, **_comparison_kwargs(AnalysisPlan()))
    return protect_release(study, comparison, threshold=THRESHOLD)


@pytest.mark.parametrize("name", ["sample", "larger"])
def test_a_paired_interval_gives_back_no_small_count(name: str) -> None:
    # the attacker: with the row's n and two percentages, each possible count of pairs
    # counted in both waves gives one 2 x 2 table and one interval; those whose interval
    # rounds to the published one remain. No small count may be one of a few left.
    from crisis_survey.stats._contingency import _newcombe_paired

    guard = _interval_release(name)
    assert guard.clean
    paired = guard.published.comparison["paired"]
    rows = paired[paired["difference_low"].notna()]
    assert len(rows) == {"sample": 14, "larger": 23}[name]
    tried = 0
    for r in rows.to_dict("records"):
        n = int(r["n_pairs"])
        x1 = round(r["estimate_wave1"] * n / 100)
        x2 = round(r["estimate_wave2"] * n / 100)
        published = (round(r["difference_low"], 1), round(r["difference_high"], 1))
        fits = []
        for n11 in range(max(0, x1 + x2 - n), min(x1, x2) + 1):
            n10, n01 = x1 - n11, x2 - n11
            n00 = n - n11 - n10 - n01
            _, lo, hi = _newcombe_paired(n00, n01, n10, n11, 0.95)
            if (round(100 * lo, 1), round(100 * hi, 1)) == published:
                fits.append((n00, n01, n10, n11))
        assert fits, r  # the true table is among them
        tried += 1
        for cells in fits:
            small = [c for c in cells if 1 <= c < THRESHOLD]
            assert not small or len(fits) >= 5, (r["group"], r["item"], fits)
    assert tried == len(rows)


def test_adding_the_intervals_costs_no_other_published_value(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the release protected without the intervals, and with them: everything else the same
    from crisis_survey.present import _release

    study, comparison, guard = _protected_sample()
    monkeypatch.setattr(_release, "_add_intervals",
                        lambda s, c, i, published, audit, withhold, **k:
                        (published, audit, withhold))
    without = _release.protect_release(study, comparison, threshold=THRESHOLD)
    intervals = {o for o in without.withhold if o[0] == "difference"}
    assert intervals == _release._difference_origins(comparison, ("paired",))
    held = {o for o in guard.withhold if o[0] == "difference"}
    assert guard.withhold - held == without.withhold - intervals
    assert 0 < len(held) < len(intervals)
    keys = ["group", "item", "design"]
    for d, shown in guard.published.comparison.items():
        before = without.published.comparison[d]
        cols = [c for c in shown.columns if not c.startswith("difference")]
        pd.testing.assert_frame_equal(shown[cols].sort_values(keys).reset_index(drop=True),
                                      before[cols].sort_values(keys).reset_index(drop=True))
    assert guard.clean and without.clean
