"""compare_waves (src/crisis_survey/compare/).

The reference for every tested row is the public function of crisis_survey.stats called on
that cell's raw answers, selected here straight from the study (not through the counting code);
those functions are themselves checked against R in tests/test_<stats module>.py. So a row that
equals the public function to 1e-9 relative equals R to the stats tests' tolerance.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _compare_data import AREAS, FakeStudy, make_study, shuffle_rows, swap_waves
from crisis_survey import CrisisSurveyError
from crisis_survey import stats as S
from crisis_survey.compare import COLUMNS, compare_waves

REL = 1e-9
ITEMS = ["overall_rating", "exp_knew_contact", "first_contact", "wellbeing", "svc_gp"]


@pytest.fixture(scope="module")
def study() -> FakeStudy:
    return make_study(3, n1=260, n2=220, n_linked=110)


# -- raw answers of one cell, selected directly -------------------------------------------------
def _cell_mask(frame: pd.DataFrame, by: tuple[str, ...], label: str, pairs: bool = False) -> Any:
    parts = label.split(" / ")
    mask = np.ones(len(frame), dtype=bool)
    for col, value in zip(by, parts, strict=True):
        key: Any = col
        if pairs:
            key = ("", "group") if col == "group" else (1, col)
        series = frame[key]
        mask &= (series.astype(str) == value).to_numpy()
    return mask


def _scored(study: FakeStudy, item: str, series: pd.Series) -> pd.Series:
    """Answers as the codebook's codes (numbers), NaN when missing."""
    f = study.codebook[item]
    if not f.levels:
        return series.astype(float)
    mapping = dict(zip(f.labels, f.codes, strict=True))
    return series.astype(object).map(mapping).astype(float)


def _reference(study: FakeStudy, row: pd.Series, by: tuple[str, ...]) -> S.TestResult:
    item, design, test, label = row["item"], row["design"], row["test"], row["group"]
    f = study.codebook[item]
    pairs = study.pairs
    pm = _cell_mask(pairs, by, label, pairs=True)
    x_p, y_p = pairs[(1, item)][pm], pairs[(2, item)][pm]
    if design == "paired":
        fn = getattr(S, test)
        if test in ("paired_t",):
            return fn(_scored(study, item, x_p), _scored(study, item, y_p))
        if test == "mcnemar":  # compare_waves runs McNemar without continuity correction
            return fn(x_p, y_p, correction=False)
        return fn(x_p, y_p)
    if design == "independent":
        m1 = _cell_mask(study.wave1.data, by, label)
        m2 = _cell_mask(study.wave2.data, by, label)
        x, y = study.wave1.data[item][m1], study.wave2.data[item][m2]
        if test == "welch_t":
            return S.welch_t(_scored(study, item, x), _scored(study, item, y))
        return getattr(S, test)(x, y)
    u1, u2 = study.unpaired(1), study.unpaired(2)
    x_o = u1[item][_cell_mask(u1, by, label)]
    y_o = u2[item][_cell_mask(u2, by, label)]
    if test == "partially_overlapping_z":
        return S.partially_overlapping_z(x_o, y_o, x_p, y_p)
    assert f.measurement in ("ordinal", "numeric")
    return S.partially_overlapping_t(*(_scored(study, item, s) for s in (x_o, y_o, x_p, y_p)))


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def _check_rows(study: FakeStudy, table: pd.DataFrame, by: tuple[str, ...]) -> int:
    checked = 0
    for _, row in table.iterrows():
        if not isinstance(row["test"], str) or isinstance(row["note"], str):
            continue
        ref = _reference(study, row, by)
        # the stats functions and the table read every effect as wave 2 relative to wave 1
        effect, low, high = ref.effect_size, ref.ci_low, ref.ci_high
        odds = [ref.details.get(k) for k in ("odds_ratio", "odds_ratio_ci_low",
                                             "odds_ratio_ci_high")]
        for col, ref_value in (
            ("statistic", ref.statistic), ("p_value", ref.p_value), ("df", ref.df),
            ("effect_size", effect), ("ci_low", low), ("ci_high", high),
            ("odds_ratio", odds[0]), ("odds_ratio_ci_low", odds[1]),
            ("odds_ratio_ci_high", odds[2]),
        ):
            got = row[col]
            assert _close(None if pd.isna(got) else float(got), ref_value), (
                f"{row['item']} {row['group']} {row['design']} {col}: {got} vs {ref_value}"
            )
        assert (None if pd.isna(row["effect_measure"]) else row["effect_measure"]) == (
            ref.effect_measure
        )
        checked += 1
    return checked


def _check_net_change(study: FakeStudy, table: pd.DataFrame, by: tuple[str, ...]) -> int:
    """Every row's net change against the plain reference on the cell's raw pairs (a loop
    over the pairs, :func:`crisis_survey.stats._proportions._net_change_reference`)."""
    from crisis_survey.stats._proportions import _net_change_reference

    checked = 0
    for _, row in table.iterrows():
        ordinal = row["design"] == "paired" and row["measurement"] == "ordinal"
        tested = ordinal and row["n_pairs"] >= 2
        if not tested:
            assert pd.isna(row["net_change"]), (row["item"], row["design"])
            continue
        labels = list(study.codebook[row["item"]].oriented().labels)
        pm = _cell_mask(study.pairs, by, row["group"], pairs=True)
        x = study.pairs[(1, row["item"])][pm].map({v: i for i, v in enumerate(labels)})
        y = study.pairs[(2, row["item"])][pm].map({v: i for i, v in enumerate(labels)})
        both = x.notna() & y.notna()
        ref = _net_change_reference(x[both].tolist(), y[both].tolist(), 0.95)
        got = tuple(float(row[c]) for c in ("net_change", "net_change_ci_low",
                                            "net_change_ci_high"))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
        checked += 1
    return checked


def test_net_change_equals_the_plain_reference(study: FakeStudy) -> None:
    # the batch over cells (pattern counts of every cell's pairs table) against a loop
    assert _check_net_change(study, compare_waves(study, items=ITEMS).table, ("group",)) == 2
    by_area = compare_waves(study, items=ITEMS, by=("group", "area"), min_n=2).table
    assert _check_net_change(study, by_area, ("group", "area")) >= 4


# -- equality with the public stats functions, cell by cell ----------------------------------
def test_every_row_equals_the_public_function_by_group(study: FakeStudy) -> None:
    res = compare_waves(study, items=ITEMS)
    # 5 items x 2 groups x 3 designs, less the 2 overlapping rows of the nominal item
    assert _check_rows(study, res.table, ("group",)) == 28


def test_every_row_equals_the_public_function_by_group_and_area(study: FakeStudy) -> None:
    res = compare_waves(study, items=ITEMS, by=("group", "area"), min_n=2)
    assert set(res.table["group"]) == {f"{g} / {a}" for g in ("Service user", "Carer")
                                       for a in AREAS}
    assert _check_rows(study, res.table, ("group", "area")) >= 60


def test_overridden_tests_equal_the_public_function(study: FakeStudy) -> None:
    tests = {"overall_rating": {"paired": "marginal_homogeneity", "independent": "linear_trend"},
             "ordinal": "welch_t", "exp_knew_contact": "wilcoxon_signed_rank",
             "svc_gp": {"independent": "mann_whitney", "paired": "paired_t"}}
    res = compare_waves(study, items=ITEMS, tests=tests)
    t = res.table.set_index(["item", "design"])["test"]
    assert set(t.loc[("overall_rating", "paired")]) == {"marginal_homogeneity"}
    assert set(t.loc[("overall_rating", "independent")]) == {"linear_trend"}
    assert set(t.loc[("exp_knew_contact", "paired")]) == {"wilcoxon_signed_rank"}
    assert set(t.loc[("svc_gp", "paired")]) == {"paired_t"}
    _check_rows(study, res.table, ("group",))


def test_linear_trend_and_mann_whitney_reference(study: FakeStudy) -> None:
    # compare_waves scores the levels by their codebook codes (1..5); the public call on
    # Categoricals scores them 0..4. A shift of the scores leaves the correlation, so M^2,
    # unchanged: the rows must still agree.
    res = compare_waves(study, items=["overall_rating"], designs=["independent"],
                        tests={"overall_rating": "linear_trend"})
    _check_rows(study, res.table, ("group",))


# -- which rows each design uses -------------------------------------------------------------
def test_row_selection_per_design(study: FakeStudy) -> None:
    item = "overall_rating"
    res = compare_waves(study, items=[item]).table.set_index(["group", "design"])
    for g in ("Service user", "Carer"):
        pm = (study.pairs[("", "group")] == g).to_numpy()
        x, y = study.pairs[(1, item)][pm], study.pairs[(2, item)][pm]
        complete = int((x.notna() & y.notna()).sum())
        assert res.loc[(g, "paired"), "n_pairs"] == complete
        assert res.loc[(g, "paired"), "n_wave1"] == complete
        n1 = int(study.wave1.data.loc[study.wave1.data["group"] == g, item].notna().sum())
        n2 = int(study.wave2.data.loc[study.wave2.data["group"] == g, item].notna().sum())
        assert (res.loc[(g, "independent"), "n_wave1"], res.loc[(g, "independent"),
                "n_wave2"]) == (n1, n2)
        assert pd.isna(res.loc[(g, "independent"), "n_pairs"])
        # overlapping: every answer once (all wave-1 answers of the group's respondents)
        u1 = study.unpaired(1)
        lone_x = int((x.notna() & y.isna()).sum())
        n_o1 = int(u1.loc[u1["group"] == g, item].notna().sum()) + complete + lone_x
        assert res.loc[(g, "overlapping"), "n_wave1"] == n_o1
        assert res.loc[(g, "overlapping"), "n_pairs"] == complete


def test_dont_know_answers_are_excluded_and_counted(study: FakeStudy) -> None:
    item = "overall_rating"
    res = compare_waves(study, items=[item]).table.set_index(["group", "design"])
    codes = ("dont_know", "not_applicable", "prefer_not_to_say")
    for g in ("Service user", "Carer"):
        n = 0
        for w in (study.wave1, study.wave2):
            in_group = (w.data["group"] == g).to_numpy()
            n += int(w.missing_reasons[item][in_group].isin(codes).sum())
        assert n > 0
        assert res.loc[(g, "independent"), "n_excluded_codes"] == n
        # paired: codes given by this group's linked respondents, in either wave
        pm = study.pairs[("", "group")] == g
        n_p = 0
        for w in (study.wave1, study.wave2):
            ids = study.pairs.loc[pm, (w.wave, "respondent_id")]
            mr = w.missing_reasons[item][w.data["respondent_id"].isin(ids).to_numpy()]
            n_p += int(mr.isin(codes).sum())
        assert res.loc[(g, "paired"), "n_excluded_codes"] == n_p


# -- adjustment within families ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "keys"),
    [("group", ["group", "design"]), ("item", ["item", "design"]), ("design", ["design"]),
     ("all", [])],
)
def test_adjustment_within_families(study: FakeStudy, family: str, keys: list[str]) -> None:
    t = compare_waves(study, items=ITEMS, family=family, adjust="holm").table
    assert (t["adjust_method"] == "holm").all()
    groups = t.groupby(keys if len(keys) != 1 else keys[0]).groups.values() if keys else [
        t.index
    ]
    for idx in groups:
        expected = S.adjust_pvalues(t.loc[idx, "p_value"].to_numpy(), method="holm")
        np.testing.assert_allclose(t.loc[idx, "p_adjusted"].to_numpy(), expected, rtol=1e-12)
    tested = t["p_value"].notna()
    assert (t.loc[tested, "p_adjusted"] >= t.loc[tested, "p_value"] - 1e-15).all()


def test_family_size_matters(study: FakeStudy) -> None:
    by_group = compare_waves(study, items=ITEMS, family="group", adjust="bonferroni").table
    everything = compare_waves(study, items=ITEMS, family="all", adjust="bonferroni").table
    m_all = int(everything["p_value"].notna().sum())
    row = everything["p_value"].notna() & (everything["p_value"] * m_all < 1)
    i = row[row].index[0]
    assert everything.loc[i, "p_adjusted"] == pytest.approx(everything.loc[i, "p_value"] * m_all)
    assert by_group.loc[i, "p_adjusted"] < everything.loc[i, "p_adjusted"]
    none = compare_waves(study, items=ITEMS, adjust="none").table
    np.testing.assert_array_equal(none["p_adjusted"], none["p_value"])


# -- thin cells, notes, schema ----------------------------------------------------------------
def test_thin_cells_get_a_note_not_an_exception() -> None:
    tiny = make_study(5, n1=14, n2=12, n_linked=6)
    t = compare_waves(tiny, by=("group", "area"), min_n=5).table
    thin = t[t["note"].notna()]
    assert len(thin) > 0
    assert thin["p_value"].isna().all()
    assert thin["note"].str.contains("too few|no overlapping|not tested|not defined").all()
    paired_thin = t[(t["design"] == "paired") & (t["n_pairs"] < 5)]
    assert paired_thin["note"].str.startswith("too few complete pairs").all()


def test_nominal_item_has_no_overlapping_test(study: FakeStudy) -> None:
    t = compare_waves(study, items=["first_contact"]).table
    over = t[t["design"] == "overlapping"]
    assert over["test"].isna().all()
    assert over["note"].str.contains("no overlapping test for nominal").all()


def test_fisher_when_expected_counts_are_small() -> None:
    s = make_study(11, n1=40, n2=30, n_linked=10)
    t = compare_waves(s, items=["exp_followup", "svc_gp"], by=("group", "area"), min_n=2,
                      designs=["independent"]).table
    tested = t[t["note"].isna()]
    assert {"fisher_exact", "chi_square"} >= set(tested["test"])
    for _, row in tested.iterrows():
        g, a = row["group"].split(" / ")
        exp = []
        for w in (s.wave1, s.wave2):
            d = w.data[(w.data["group"] == g) & (w.data["area"] == a)]
            exp.append(d[row["item"]].value_counts().reindex(["No", "Yes", "Not selected",
                                                               "Selected"]).dropna())
        tab = np.vstack([e.to_numpy() for e in exp])
        tab = tab[:, tab.sum(axis=0) > 0]
        expected = np.outer(tab.sum(1), tab.sum(0)) / tab.sum()
        assert (row["test"] == "fisher_exact") == bool(expected.min() < 5)
    assert (tested["test"] == "fisher_exact").any()
    _check_rows(s, tested, ("group", "area"))


def test_schema_and_options(study: FakeStudy) -> None:
    res = compare_waves(study, items=ITEMS, by="area", family="item", alpha=0.01, min_n=3)
    assert tuple(res.table.columns) == COLUMNS
    assert set(res.table["by"]) == {"area"}
    assert len(res.table) == len(ITEMS) * len(AREAS) * 3
    assert res.options["by"] == ["area"] and res.options["family"] == "item"
    assert res.options["alpha"] == 0.01 and res.options["min_n"] == 3
    assert res.options["tests"]["overall_rating"]["paired"] == "wilcoxon_signed_rank"
    assert res.options["waves"][0]["file"] == "wave1.csv"
    again = compare_waves(study, **{k: res.options[k] for k in
                                    ("items", "by", "designs", "family", "adjust", "alpha",
                                     "min_n")}, tests=res.options["tests_requested"])
    pd.testing.assert_frame_equal(again.table, res.table)
    assert "WaveComparison" in repr(res)
    assert "overall_rating" in str(res) and "<table" in res._repr_html_()
    frame = res.to_frame()
    frame.loc[0, "item"] = "changed"
    assert res.table.loc[0, "item"] == "overall_rating"


def test_default_items_skip_text_and_one_wave_items(study: FakeStudy) -> None:
    items = set(compare_waves(study).table["item"])
    assert "comments" not in items and "aware_concordat" not in items
    assert "local_change" not in items
    assert {"overall_rating", "wellbeing", "first_contact", "svc_voluntary"} <= items


def test_summaries_ordinal_binary() -> None:
    s = make_study(2)
    t = compare_waves(s, items=["overall_rating", "exp_followup"]).table
    row = t[(t["item"] == "overall_rating") & (t["design"] == "independent")].iloc[0]
    answers = s.wave1.data.loc[s.wave1.data["group"] == row["group"], "overall_rating"].dropna()
    codes = answers.cat.codes.to_numpy() + 1
    # R: quantile(codes, c(.25, .5, .75), type = 1)
    q1, q2, q3 = (int(np.sort(codes)[math.ceil(p * codes.size) - 1]) for p in (0.25, 0.5, 0.75))
    labels = list(s.codebook["overall_rating"].labels)
    assert row["summary_wave1"].startswith(
        f"median {labels[q2 - 1]} ({q2}); IQR {labels[q1 - 1]} to {labels[q3 - 1]} ({q1}-{q3})"
    )
    assert row["estimate_wave1"] == pytest.approx(100 * np.mean(codes >= 4))
    b = t[(t["item"] == "exp_followup") & (t["design"] == "independent")].iloc[0]
    yes = s.wave2.data.loc[s.wave2.data["group"] == b["group"], "exp_followup"].dropna()
    assert b["estimate_wave2"] == pytest.approx(100 * np.mean(yes == "Yes"))
    assert b["summary_measure"] == "% Yes"


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"items": ["comments"]}, "free text"),
        ({"items": ["aware_concordat"]}, "only in wave"),
        ({"items": ["nonsense"]}, "not in the codebook"),
        ({"items": ["group"]}, "not a survey item"),
        ({"by": "postcode"}, "by column 'postcode'"),
        ({"designs": ["crossover"]}, "designs="),
        ({"tests": {"overall_rating": "t_test"}}, "not a known test"),
        ({"tests": {"overall_rating": {"paired": "welch_t"}}}, "a test for the independent"),
        ({"tests": {"first_contact": "mcnemar"}}, "cannot analyse"),
        ({"tests": {"unknown_item": "mcnemar"}}, "neither compared items"),
        ({"family": "everything"}, "family="),
        ({"family": ["nope"]}, "not in the table"),
        ({"adjust": "tukey"}, "adjust="),
        ({"alpha": 2}, "alpha"),
        ({"min_n": 0}, "min_n"),
    ],
)
def test_bad_options_raise_clear_errors(study: FakeStudy, kwargs: dict[str, Any],
                                        message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        compare_waves(study, **kwargs)


# -- properties ------------------------------------------------------------------------------
SIGNED = {"matched-pairs rank-biserial r", "rank-biserial r", "mean difference",
          "difference in proportions", "Cohen's d_z", "Hedges' g (average-variance SD)"}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_swapping_waves_flips_effects_and_keeps_p(seed: int) -> None:
    s = make_study(seed, n1=80, n2=70, n_linked=40)
    a = compare_waves(s, items=ITEMS, adjust="none").table
    b = compare_waves(swap_waves(s), items=ITEMS, adjust="none").table
    pd.testing.assert_series_equal(a["test"], b["test"])
    np.testing.assert_allclose(a["p_value"], b["p_value"], rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(a["n_wave1"], b["n_wave2"])
    np.testing.assert_array_equal(a["n_excluded_codes"], b["n_excluded_codes"])
    signed = a["effect_measure"].isin(SIGNED)
    assert signed.sum() > 10
    np.testing.assert_allclose(a.loc[signed, "effect_size"], -b.loc[signed, "effect_size"],
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.loc[signed, "ci_low"], -b.loc[signed, "ci_high"], rtol=1e-9,
                               atol=1e-12)
    # the net change (paired ordinal rows) is antisymmetric too
    nc = a["net_change"].notna()
    assert nc.sum() >= 2
    np.testing.assert_allclose(a.loc[nc, "net_change"], -b.loc[nc, "net_change"], atol=1e-12)
    np.testing.assert_allclose(a.loc[nc, "net_change_ci_low"],
                               -b.loc[nc, "net_change_ci_high"], atol=1e-12)
    odds = a["effect_measure"] == "odds ratio b/c (discordant pairs)"
    finite = odds & np.isfinite(a["effect_size"]) & (a["effect_size"] > 0)
    np.testing.assert_allclose(a.loc[finite, "effect_size"], 1 / b.loc[finite, "effect_size"],
                               rtol=1e-9)
    assert (a["summary_wave1"] == b["summary_wave2"]).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 10_000))
def test_shuffling_rows_changes_nothing(seed: int, shuffle: int) -> None:
    s = make_study(seed, n1=80, n2=70, n_linked=40)
    a = compare_waves(s, items=ITEMS, by=("group", "area"), min_n=2).table
    b = compare_waves(shuffle_rows(s, shuffle), items=ITEMS, by=("group", "area"),
                      min_n=2).table
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-13)


def test_signed_effects_point_to_wave2_in_every_design() -> None:
    # The synthetic generator shifts service users' answers up in wave 2 (effect 0.8 SD
    # here) and leaves carers alone: every signed effect of an ordinal item must then be
    # positive for service users, whatever the design, because the table reads effects as
    # wave 2 relative to wave 1 (a sign error in any design would make one negative).
    import tempfile
    from pathlib import Path

    from crisis_survey.link import link_waves
    from crisis_survey.load import load_wave
    from crisis_survey.synthetic import generate_study, write_study

    study = generate_study(n_service_users=600, n_carers=300, effect_service_users=0.8, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        p1, p2 = write_study(study, Path(tmp), readme=False)[:2]
        linked = link_waves(load_wave(p1, wave=1), load_wave(p2, wave=2))
    t = compare_waves(linked).table
    su = t[(t["group"] == "Service user") & (t["measurement"] == "ordinal")]
    assert set(su["design"]) == {"paired", "independent", "overlapping"}
    assert (su["effect_size"] > 0).all(), su[["item", "design", "effect_size"]]


@pytest.mark.parametrize("bins", [1, 60, 400])
def test_packing_items_into_shared_bincounts_changes_nothing(
    study: FakeStudy, monkeypatch: pytest.MonkeyPatch, bins: int
) -> None:
    # Items share a count while the joint key space stays under _PACK_BINS; 1 counts every
    # item alone, 60 / 400 split the items into packs of different sizes by group and area.
    from crisis_survey.compare import _study

    by = ("group", "area")
    items = [*ITEMS, "exp_dignity", "exp_listened"]
    packed = compare_waves(study, items=items, by=by, min_n=2).table
    monkeypatch.setattr(_study, "_PACK_BINS", bins)
    assert _study._packs([7, 7, 4, 9], 2) == {
        1: [[0], [1], [2], [3]], 60: [[0], [1, 2], [3]], 400: [[0, 1, 2], [3]]}[bins]
    alone = compare_waves(study, items=items, by=by, min_n=2).table
    pd.testing.assert_frame_equal(packed, alone)


def test_pairs_are_found_whichever_way_the_study_locates_them() -> None:
    # A LinkedStudy hands the engine the linker's row positions; a subset has none (rows
    # moved), and positions that disagree with `pairs` (checked on a spread of identifiers)
    # must be ignored for source_rows() or, failing that, an identifier join. Every route
    # must give the same table.
    import dataclasses

    from crisis_survey import load_sample_study

    study = load_sample_study()
    pos = study._pair_positions
    assert pos is not None and len(pos[0]) == len(study.pairs) == 231
    reference = compare_waves(study, by=("group", "area"), min_n=2).table
    wrong = (pos[0][::-1].copy(), pos[1][::-1].copy())
    variants = [
        dataclasses.replace(study, _pair_positions=None),
        dataclasses.replace(study, _pair_positions=wrong),
    ]
    for variant in variants:
        pd.testing.assert_frame_equal(
            compare_waves(variant, by=("group", "area"), min_n=2).table, reference)
    carers = study.subset(group="Carer")
    assert carers._pair_positions is None
    table = compare_waves(carers).table  # the carers' rows of a by-group run, bar adjustment
    by_group = compare_waves(study).table
    carer_rows = by_group[by_group["group"] == "Carer"].drop(
        columns=["p_adjusted"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(table.drop(columns=["p_adjusted"]).reset_index(drop=True),
                                  carer_rows)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_compiled_counts_equal_one_bincount_per_item(data: st.DataObject) -> None:
    # The compiled kernels (slots, mixed-radix keys of several items, one counting pass per
    # pack, margins peeled digit by digit) must give every item exactly the counts of its own
    # np.bincount over slots computed here with plain numpy, for the rows and for the pairs.
    # (compiled at any size here: below _jit.SMALL_ROWS compare_waves runs their numpy
    # twins, compared with these in tests/test_jit.py)
    from unittest import mock

    from crisis_survey import _jit

    k = _jit.kernels()
    with mock.patch.object(_jit, "kernels_for", lambda rows: k):
        _check_counts(data, k)


def _check_counts(data: st.DataObject, k: Any) -> None:
    from crisis_survey.compare import _study

    n = data.draw(st.integers(0, 300), label="rows")
    n_base = data.draw(st.integers(1, 40), label="base cells")
    levels = data.draw(st.lists(st.integers(1, 20), min_size=1, max_size=6), label="levels")
    n_reasons = data.draw(st.integers(0, 6), label="missing-reason categories")
    lo = data.draw(st.integers(0, max(n_reasons - 1, 0)))
    hi = data.draw(st.integers(lo, max(n_reasons - 1, lo)))
    excluded = n_reasons > 0 and data.draw(st.booleans(), label="has excluded codes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    base = rng.integers(0, n_base, n).astype(np.uint16)
    sizes = [lv + 2 for lv in levels]
    codes = [rng.integers(-1, lv, n).astype(np.int8) for lv in levels]
    reasons = [np.where(c < 0, rng.integers(-1, max(n_reasons, 1), n), -1).astype(np.int8)
               for c in codes]
    want_slots = [
        np.where(c >= 0, c + 1, np.where(excluded & (r >= lo) & (r <= hi), s - 1, 0))
        for c, r, s in zip(codes, reasons, sizes, strict=True)
    ]

    n_pairs = data.draw(st.integers(0, n), label="pairs")
    pos1 = rng.permutation(n)[:n_pairs].astype(np.int64)
    pos2 = rng.permutation(n)[:n_pairs].astype(np.int64)
    cell = rng.integers(0, n_base, n_pairs).astype(np.int32)
    pair_packs = _study._packs([s * s for s in sizes], n_base)  # as compare_waves packs them
    radices = [int(np.prod([sizes[i] for i in pack])) for pack in pair_packs]
    pdigits = [np.empty(n, dtype=_study._small_uint(r - 1)) for r in radices]
    answers = [SimpleNamespace(slots=s, codes=(c, c), reasons=(r, r), lo=np.int8(lo),
                               hi=np.int8(hi), top=np.uint8(s - 1 if excluded else 0))
               for s, c, r in zip(sizes, codes, reasons, strict=True)]
    layout = SimpleNamespace(waves=[SimpleNamespace(data=range(n))] * 2, n_cells=n_base - 1,
                             cell_pair=cell)
    # the wave's keys: cell * 2 + linked, here any base key below 2 * n_base
    keys = (base % n_base * 2 + base % 2).astype(np.uint16)
    got = _study._count_wave(cast(Any, layout), cast(Any, answers), 1, keys, pair_packs,
                             pdigits)
    for want, size, counts in zip(want_slots, sizes, got, strict=True):
        ref = np.bincount(keys.astype(np.int64) * size + want, minlength=2 * n_base * size)
        np.testing.assert_array_equal(counts, ref.reshape(2 * n_base, size))
    for pack, pdigit in zip(pair_packs, pdigits, strict=True):  # each pair pack's row keys
        want_key = np.zeros(n, dtype=np.int64)
        for i in pack:
            want_key = want_key * sizes[i] + want_slots[i]
        np.testing.assert_array_equal(pdigit, want_key)

    got = []
    for pack, pdigit in zip(pair_packs, pdigits, strict=True):
        got += _study._count_pairs(cast(Any, layout), [sizes[i] for i in pack],
                                   (pdigit, pdigit), (pos1, pos2))
    for want, size, counts in zip(want_slots, sizes, got, strict=True):
        key = (cell.astype(np.int64) * size + want[pos1]) * size + want[pos2]
        ref = np.bincount(key, minlength=n_base * size * size)
        np.testing.assert_array_equal(counts, ref.reshape(n_base, size * size))


def test_a_key_outside_its_table_is_an_error_not_a_stray_write() -> None:
    from crisis_survey.compare import _study

    with pytest.raises(CrisisSurveyError, match="outside its table"):
        _study._counted(np.array([0, 3], dtype=np.uint16), 2, np.array([1, 2], np.uint16),
                        [3])


# -- arguments that would publish an identifier, or make no sense ------------------------------
@pytest.mark.parametrize(("by", "why"), [
    ("respondent_id", "a respondent identifier"),  # used to publish every id as a row
    ("link_key", "the link key"),  # used to crash (KeyError)
    ("comments", "a free-text answer"),  # used to publish comments as row headings
    ("completed_date", "a date"),
    (("group", "respondent_id"), "a respondent identifier"),
])
def test_by_never_names_an_identifier_free_text_or_date(
    study: FakeStudy, by: str | tuple[str, ...], why: str
) -> None:
    with pytest.raises(CrisisSurveyError) as info:
        compare_waves(study, items=["overall_rating"], by=by)
    msg = str(info.value)
    assert "by= cannot group the results by these columns" in msg and why in msg
    ids = set(study.wave1.data["respondent_id"].astype(str))
    assert not any(i in msg for i in ids)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"designs": ("paired", "paired")}, "designs= names a design twice"),
    ({"by": ("group", "group")}, "by= names a column twice"),
    ({"min_n": 2**63 - 1}, "min_n must be a whole number from 1 to 1,000,000,000"),
    ({"min_n": True}, "min_n must be a whole number"),
])
def test_repeated_or_out_of_range_arguments_are_clear_errors(
    study: FakeStudy, kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(CrisisSurveyError, match=needle):
        compare_waves(study, items=["overall_rating"], **kwargs)
