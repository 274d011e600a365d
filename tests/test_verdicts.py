"""Honest verdicts (compare/_verdicts.py): hand-computed TOST p-values and detectable effects,
the four verdicts in compare_waves, the plan keys and the codebook's x-polarity."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey import AnalysisPlan, compare_waves, load_sample_study
from crisis_survey._errors import CodebookError, CrisisSurveyError
from crisis_survey._plan import PlanError
from crisis_survey.codebook import codebook_from_dict
from crisis_survey.compare import COLUMNS
from crisis_survey.compare import _verdicts as vd

sys.path.insert(0, str(Path(__file__).parent))
from test_codebook import field, minimal


def phi(z: float) -> float:
    """Standard normal CDF, written out (not scipy)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def cell(kind: str, tables: Any = None, w1: Any = None, w2: Any = None) -> vd.CellData:
    t = np.asarray(tables if tables is not None else np.zeros((1, 0)), dtype=float)
    a = np.asarray(w1 if w1 is not None else np.zeros((1, 2)), dtype=float)
    b = np.asarray(w2 if w2 is not None else np.zeros((1, 2)), dtype=float)
    return vd.CellData(kind, t, a, b, a, b, np.arange(1.0, a.shape[1] + 1), True)


def test_paired_risk_difference_tost_by_hand() -> None:
    # 100 pairs: 40 No->No, 5 No->Yes (c), 15 Yes->No (b), 40 Yes->Yes
    r = vd.paired_rd(cell("paired_rd", [[[40, 5], [15, 40]]]), 0.2, np.array([0.05]))
    assert r.theta[0] == pytest.approx(-0.10)
    se = math.sqrt(20 - 10 ** 2 / 100) / 100  # sqrt(b + c - (c - b)^2 / n) / n
    p = max(1 - phi((-0.10 + 0.2) / se), phi((-0.10 - 0.2) / se))
    assert r.p_tost[0] == pytest.approx(p, rel=1e-9)
    assert r.p_tost[0] == pytest.approx(0.010890, abs=2e-6)
    # MDE given 20 discordant pairs: theta = d/n * t with t = (za + zb sqrt(1 - t^2))/sqrt(d)
    t = r.mde[0] / 0.2
    assert t == pytest.approx((1.959964 + 0.841621 * math.sqrt(1 - t * t)) / math.sqrt(20),
                              abs=1e-5)


def test_two_proportion_tost_and_mde_by_hand() -> None:
    # > TOSTER::twoprop_test(p1 = .40, p2 = .55, n1 = 100, n2 = 100, null = .1,
    # >                      alternative = "equivalence")  -> p = max of the two z tests
    r = vd.two_prop(cell("two_prop", w1=[[60, 40]], w2=[[45, 55]]), 0.1, np.array([0.05]))
    se = math.sqrt(0.4 * 0.6 / 100 + 0.55 * 0.45 / 100)
    assert r.theta[0] == pytest.approx(0.15)
    assert r.p_tost[0] == pytest.approx(phi((0.15 - 0.1) / se), rel=1e-9)
    assert r.p_tost[0] == pytest.approx(0.76302, abs=1e-4)
    # > pwr::pwr.2p2n.test(n1 = 100, n2 = 100, sig.level = .05, power = .8)$h  # 0.3962
    h = 0.396203
    phi_bar = math.asin(math.sqrt(0.475))
    expected = math.sin(phi_bar + h / 4) ** 2 - math.sin(phi_bar - h / 4) ** 2
    assert r.mde[0] == pytest.approx(expected, abs=1e-4)
    assert 0.19 < r.mde[0] < 0.20  # about 20 percentage points at 100 per wave


def test_signed_rank_tost_with_one_tie_group_is_binomial() -> None:
    # 3-level item: 10 unchanged, 8 up by one level, 2 down by one: theta = (8 - 2)/10
    t = np.array([[[4, 4, 0], [1, 3, 4], [0, 1, 3]]], dtype=float)
    r = vd.signed_rank(cell("signed_rank", t, w1=np.ones((1, 3))), 0.2, np.array([0.05]))
    assert r.theta[0] == pytest.approx(0.6)

    def binom_ge(k: int, n: int, p: float) -> float:
        return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))

    # under theta = -0.2 P(up) = 0.4; under +0.2 P(up) = 0.6
    p = max(binom_ge(8, 10, 0.4), 1 - binom_ge(9, 10, 0.6))
    assert r.p_tost[0] == pytest.approx(p, abs=1e-9)
    assert r.p_tost[0] == pytest.approx(0.953643, abs=1e-6)
    se0 = math.sqrt(10) / 10
    m = r.mde[0]
    assert m == pytest.approx(se0 * (1.959964 + 0.841621 * math.sqrt(1 - m * m)), abs=1e-5)


def test_newcombe_rank_biserial_reads_wave2_against_wave1() -> None:
    # wave 2 all above wave 1: theta = +1
    r = vd.newcombe(cell("newcombe", w1=[[5, 0]], w2=[[0, 5]]), 0.2, np.array([0.05]))
    assert r.theta[0] == pytest.approx(1.0)
    r = vd.newcombe(cell("newcombe", w1=[[3, 2, 5]], w2=[[3, 2, 5]]), 0.2, np.array([0.05]))
    assert r.theta[0] == pytest.approx(0.0)
    # tie-corrected null SE of r = 2 sqrt(Var U) / (n1 n2): 20 answers, ties 6, 4, 10
    var_u = 100 / 12 * (21 - (6 ** 3 - 6 + 4 ** 3 - 4 + 10 ** 3 - 10) / (20 * 19))
    se0 = 2 * math.sqrt(var_u) / 100
    m = r.mde[0]
    assert m == pytest.approx(se0 * (1.959964 + 0.841621 * math.sqrt(1 - m * m)), abs=1e-5)


def test_family_level_is_bonferroni_first_step() -> None:
    p = np.array([0.01, 0.2, np.nan, 0.5, 0.03])
    fam = np.array([0, 0, 0, 1, 1])
    assert vd.family_level(p, fam, 0.05, "holm").tolist() == pytest.approx(
        [0.025, 0.025, 0.025, 0.025, 0.025])
    assert vd.family_level(p, np.array([0, 0, 0, 0, 1]), 0.05, "bonferroni").tolist() == \
        pytest.approx([0.05 / 3] * 4 + [0.05])
    assert vd.family_level(p, fam, 0.05, "none").tolist() == [0.05] * 5


@pytest.fixture(scope="module")
def sample() -> Any:
    return load_sample_study()


def test_compare_waves_gives_every_cell_one_verdict(sample: Any) -> None:
    c = compare_waves(sample)
    t = c.table
    assert list(t.columns) == list(COLUMNS)
    assert set(t["verdict"]) <= set(vd.VERDICTS)
    assert t["verdict"].notna().all()
    # significant cells (after adjustment) carry a direction, the others never do
    sig = t["p_adjusted"] < 0.05
    assert t.loc[sig, "verdict"].isin(vd.CHANGED).all()
    assert not t.loc[~sig, "verdict"].isin(vd.CHANGED).any()
    # "no change" only where the adjusted TOST p-value is below alpha
    same = t["verdict"] == "no change"
    assert (t.loc[same, "p_equivalence_adjusted"] < 0.05).all()
    # service users' speed of help rose in every design: improved (x-polarity), and the
    # verdict estimate is positive (wave 2 relative to wave 1)
    row = t[(t["group"] == "Service user") & (t["item"] == "exp_help_speed")]
    assert set(row["verdict"]) == {"improved"} and (row["verdict_estimate"] > 0).all()
    assert (row["estimate_wave2"] > row["estimate_wave1"]).all()
    # services used have no polarity: never "improved" / "got worse"
    svc = t[t["item"].str.startswith("svc_")]
    assert not svc["verdict"].isin(["improved", "got worse"]).any()
    # inconclusive cells that were tested with a method say what could have been detected
    inc = t[(t["verdict"] == "inconclusive") & t["verdict_measure"].notna()
            & t["p_value"].notna()]
    assert inc["mde"].notna().all() and (inc["mde"] > 0).all()
    assert c.options["primary"] == "paired"
    assert c.options["equivalence"]["overall_rating"] == vd.DEFAULT_MARGINS


def test_polarity_is_read_from_the_codebook_not_the_name(sample: Any) -> None:
    from dataclasses import replace

    cb = sample.codebook
    flipped = replace(cb, fields=tuple(
        replace(f, polarity="lower_is_better") if f.name == "exp_help_speed" else f
        for f in cb.fields), _index={})
    study = replace(sample, codebook=flipped)  # LinkedStudy is a frozen dataclass
    t = compare_waves(study, items=["exp_help_speed"]).table
    assert set(t.loc[t["group"] == "Service user", "verdict"]) == {"got worse"}


def test_margins_change_the_equivalence_test(sample: Any) -> None:
    narrow = compare_waves(sample, items=["overall_rating"], designs=("independent",),
                           equivalence={"rank_biserial": 0.01}).table
    wide = compare_waves(sample, items=["overall_rating"], designs=("independent",),
                         equivalence={"overall_rating": {"rank_biserial": 0.4}}).table
    assert (narrow["equivalence_margin"] == 0.01).all()
    assert (wide["equivalence_margin"] == 0.4).all()
    assert (wide["p_equivalence"] < narrow["p_equivalence"]).all()


def test_nominal_items_have_no_equivalence_test() -> None:
    from _compare_data import make_study

    t = compare_waves(make_study(3), items=["first_contact"]).table
    assert t["verdict_measure"].isna().all() and t["p_equivalence"].isna().all()
    assert set(t["verdict"]) <= {"changed", "inconclusive"}
    tested = t[(t["verdict"] == "inconclusive") & t["p_value"].notna()
               & t["p_adjusted"].notna()]
    assert (tested["verdict_reason"] == vd.NO_METHOD).all()


@pytest.mark.parametrize("bad, message", [
    ({"rank_biserial": 1.5}, "between 0 and 1"),
    ({"rank_biserial": True}, "between 0 and 1"),
    ({"overall_rating": {"cohens_d": 0.2}}, "not a measure"),
    ({"no_such_item": 0.2}, "neither a measure"),
])
def test_bad_margins_are_named(sample: Any, bad: dict[str, Any], message: str) -> None:
    with pytest.raises(CrisisSurveyError, match=message):
        compare_waves(sample, items=["overall_rating"], equivalence=bad)


def test_plan_keys_primary_and_equivalence() -> None:
    plan = AnalysisPlan.from_mapping({"analysis": {
        "primary": "overlapping", "equivalence": {"risk_difference": 0.05,
                                                  "exp_followup": {"risk_difference": 0.08}}}})
    assert plan.primary == "overlapping"
    assert plan.to_dict()["equivalence"]["exp_followup"] == {"risk_difference": 0.08}
    assert AnalysisPlan().primary == ""  # paired when run, else the first design
    with pytest.raises(PlanError) as err:
        AnalysisPlan.from_mapping({"analysis": {
            "designs": ["independent"], "primary": "paired",
            "equivalence": {"risk_difference": 2, "q": {"bogus": 0.1}}}})
    text = str(err.value)
    assert "primary is 'paired'" in text and "risk_difference = 2" in text
    assert "q.bogus is not a measure" in text


def test_x_polarity_is_validated() -> None:
    spec = minimal()
    field(spec, "q1")["x-polarity"] = "lower_is_better"
    assert codebook_from_dict(spec)["q1"].polarity == "lower_is_better"
    assert codebook_from_dict(minimal())["q1"].polarity is None
    field(spec, "q1")["x-polarity"] = "up"
    field(spec, "grp")["x-polarity"] = "higher_is_better"  # a nominal field: no direction
    with pytest.raises(CodebookError) as err:
        codebook_from_dict(spec)
    assert str(err.value).count("x-polarity") >= 2


@pytest.mark.slow
def test_wald_tosts_hold_their_nominal_level_at_the_margin() -> None:
    """At the margin (true change = Δ) each TOST rejects in at most alpha of samples, within
    Monte-Carlo error (4,000 replicates: 99.9% upper limit 0.061)."""
    rng = np.random.default_rng(20261202)
    reps, alpha, delta = 4000, 0.05, 0.10
    level = np.full(reps, alpha)
    # independent proportions: p1 = .40, p2 = .50 (RD = Δ), 300 per wave
    x = rng.binomial(300, 0.40, reps)
    y = rng.binomial(300, 0.50, reps)
    r = vd.two_prop(cell("two_prop", w1=np.c_[300 - x, x], w2=np.c_[300 - y, y]), delta, level)
    rate_indep = float(np.mean(r.p_tost < alpha))
    # paired: 400 pairs, P(No->Yes) = .2, P(Yes->No) = .1 (RD = Δ)
    cells = rng.multinomial(400, [0.35, 0.20, 0.10, 0.35], reps).reshape(reps, 2, 2)
    r2 = vd.paired_rd(cell("paired_rd", cells), delta, level)
    rate_paired = float(np.mean(r2.p_tost < alpha))
    assert rate_indep < 0.061 and rate_paired < 0.061
    # and they have power well inside the margin (true RD = 0)
    x0 = rng.binomial(300, 0.45, reps)
    y0 = rng.binomial(300, 0.45, reps)
    r0 = vd.two_prop(cell("two_prop", w1=np.c_[300 - x0, x0], w2=np.c_[300 - y0, y0]), delta,
                     level)
    assert float(np.mean(r0.p_tost < alpha)) > 0.5


def test_numeric_items_read_a_standardised_mean_difference() -> None:
    from _compare_data import make_study

    t = compare_waves(make_study(5), items=["wellbeing"]).table
    assert set(t["verdict_measure"]) == {"standardised mean difference"}
    ok = t["p_value"].notna()
    assert t.loc[ok, "mde"].gt(0).all() and t.loc[ok, "p_equivalence"].between(0, 1).all()
    paired = t[(t["design"] == "paired") & ok]
    # the sign follows the wave means (wave 2 relative to wave 1)
    assert (np.sign(paired["verdict_estimate"])
            == np.sign(paired["estimate_wave2"] - paired["estimate_wave1"])).all()


@given(st.lists(st.integers(0, 12), min_size=9, max_size=9))
@settings(max_examples=60, deadline=None)
def test_swapping_the_waves_flips_the_estimate_not_the_equivalence(counts: list[int]) -> None:
    t = np.array(counts, dtype=float).reshape(1, 3, 3)
    level = np.array([0.01])
    a = vd.signed_rank(cell("signed_rank", t, w1=np.ones((1, 3))), 0.3, level)
    b = vd.signed_rank(cell("signed_rank", t.transpose(0, 2, 1), w1=np.ones((1, 3))), 0.3,
                       level)
    if np.isnan(a.theta[0]):
        assert np.isnan(b.theta[0])
        return
    assert b.theta[0] == pytest.approx(-a.theta[0], abs=1e-12)
    assert b.p_tost[0] == pytest.approx(a.p_tost[0], abs=1e-9)
    assert b.mde[0] == pytest.approx(a.mde[0], abs=1e-12, nan_ok=True)  # NaN: none detectable
    w1, w2 = t.sum(axis=2), t.sum(axis=1)
    c = vd.newcombe(cell("newcombe", w1=w1, w2=w2), 0.3, level)
    d = vd.newcombe(cell("newcombe", w1=w2, w2=w1), 0.3, level)
    if np.isfinite(c.theta[0]):
        assert d.theta[0] == pytest.approx(-c.theta[0], abs=1e-12)
        assert d.p_tost[0] == pytest.approx(c.p_tost[0], abs=1e-9, nan_ok=True)


@pytest.mark.slow
def test_newcombe_tost_holds_its_level_at_the_margin() -> None:
    """Binary answers, p1 = .4, p2 = .6: the rank-biserial r is p2 - p1 = 0.2 = Δ."""
    rng = np.random.default_rng(7)
    reps = 4000
    x = rng.binomial(300, 0.4, reps)
    y = rng.binomial(300, 0.6, reps)
    r = vd.newcombe(cell("newcombe", w1=np.c_[300 - x, x], w2=np.c_[300 - y, y]), 0.2,
                    np.full(reps, 0.05))
    assert float(np.mean(r.p_tost < 0.05)) < 0.061


# -- against R (tests/fixtures/r/verdicts.R: base R's one-sided tests and power.t.test) -----
R_FIXTURE = __import__("json").loads(
    (Path(__file__).parent / "fixtures" / "verdicts.json").read_text())


def test_r_fixture_names_its_script_and_version() -> None:
    assert R_FIXTURE["script"] == "tests/fixtures/r/verdicts.R"
    assert (Path(__file__).parent / "fixtures" / "r" / "verdicts.R").exists()
    assert R_FIXTURE["r_version"].startswith("R version")
    assert R_FIXTURE["power"] == vd.POWER


def _moments(a: Any) -> list[float]:
    a = np.asarray(a, dtype=float)
    return [a.size, a.mean(), float(((a - a.mean()) ** 2).sum())]


def _t_cell(x: Any, y: Any) -> vd.CellData:
    s1, s2 = np.array([_moments(x)]), np.array([_moments(y)])
    return vd.CellData("wald_smd", np.zeros((1, 0)), s1, s2, s1, s2, np.zeros(0), False)


@pytest.mark.parametrize(("test", "case"), [
    *[("paired_t", c) for c in R_FIXTURE["paired_t"]],
    *[("welch_t", c) for c in R_FIXTURE["welch_t"]]],
    ids=lambda v: v if isinstance(v, str) else f"n{len(v['x'])}-{len(v['y'])}")
def test_t_test_tost_and_mde_against_r(test: str, case: dict[str, Any]) -> None:
    from crisis_survey import stats

    x, y = np.asarray(case["x"], float), np.asarray(case["y"], float)
    t = getattr(stats, test)(x, y)
    if test == "welch_t":
        assert t.df == pytest.approx(case["df"], rel=1e-12)
    est = np.array([y.mean() - x.mean()])
    r = vd.wald(_t_cell(x, y), case["margin"], np.array([case["level"]]), est,
                np.array([t.statistic]), np.array([t.df]))
    assert r.theta[0] == pytest.approx(case["theta"], abs=1e-12)
    # TOST = the larger of R's two one-sided t.test p-values (mu = -/+ margin * SD)
    assert r.p_tost[0] == pytest.approx(case["p_tost"], abs=1e-10)
    # MDE: power.t.test(type = "paired")$delta / SD, or for Welch the noncentral-t root
    # with Welch's df and SE (R's pt and uniroot); power 0.8
    assert r.mde[0] == pytest.approx(case["mde"], abs=1e-6)
    if "mde_power_t_test" in case:  # equal n and SD: R's power.t.test(type = "two.sample")
        assert r.mde[0] == pytest.approx(case["mde_power_t_test"], abs=1e-6)


@pytest.mark.parametrize("case", R_FIXTURE["two_prop"],
                         ids=lambda c: f"{c['yes1']}of{c['n1']}-{c['yes2']}of{c['n2']}")
def test_two_proportion_tost_and_mde_against_r(case: dict[str, Any]) -> None:
    w1 = [[case["n1"] - case["yes1"], case["yes1"]]]
    w2 = [[case["n2"] - case["yes2"], case["yes2"]]]
    r = vd.two_prop(cell("two_prop", w1=w1, w2=w2), case["margin"], np.array([case["level"]]))
    assert r.theta[0] == pytest.approx(case["theta"], abs=1e-12)
    assert r.p_tost[0] == pytest.approx(case["p_tost"], abs=1e-10)
    assert r.mde[0] == pytest.approx(case["mde"], abs=1e-10)  # Cohen's h (closed form)
    if "mde_power_prop_test" in case:
        # power.prop.test's convention (binomial variances, not the arcsine) gives a larger
        # MDE: by at most 0.13 percentage points at 100 per wave or more, 2.1 at 15 per
        # wave and the family's level; by its formula ours has power 0.75-0.80
        diff = case["mde_power_prop_test"] - r.mde[0]
        assert 0 <= diff < (0.0015 if case["n1"] >= 100 else 0.035 * r.mde[0])
        assert 0.74 < case["power_prop_test_at_mde"] < 0.8


@pytest.mark.parametrize("case", R_FIXTURE["paired_rd"], ids=lambda c: str(c["table"]))
def test_paired_risk_difference_tost_and_mde_against_r(case: dict[str, Any]) -> None:
    r = vd.paired_rd(cell("paired_rd", [case["table"]]), case["margin"],
                     np.array([case["level"]]))
    assert r.theta[0] == pytest.approx(case["theta"], abs=1e-12)
    assert r.p_tost[0] == pytest.approx(case["p_tost"], abs=1e-10)
    if case["mde"] is None:
        assert math.isnan(r.mde[0])
    else:
        assert r.mde[0] == pytest.approx(case["mde"], abs=1e-6)


@given(st.lists(st.tuples(st.floats(1.0, 50_000.0), st.floats(1e-5, 0.3)), min_size=1,
                max_size=8))
@settings(max_examples=40, deadline=None)
def test_batch_detectable_ncp_equals_the_one_cell_root(cells: list[tuple[float, float]]
                                                       ) -> None:
    # the MDE's noncentral-t root for all cells at once (vectorised Illinois) against the
    # one-cell brentq reference, over degrees of freedom and family levels; the cells'
    # powers at the root are 0.8 (so neither can be a wrong root both agree on)
    df = np.array([c[0] for c in cells])
    level = np.array([c[1] for c in cells])
    batch = vd._t_ncp_batch(level, df)
    one = np.array([vd._t_ncp(float(lv), float(d)) for lv, d in zip(level, df, strict=True)])
    assert np.allclose(batch, one, rtol=1e-9, atol=1e-9)
    crit = vd.sps.t.ppf(1.0 - level / 2.0, df)
    power = vd._nct_sf(crit, df, batch)
    assert np.allclose(power, vd.POWER, atol=1e-9)
    # through the column function, with repeated (level, df) pairs and a z test's NaN df
    lv2 = np.concatenate([level, level, [0.05]])
    df2 = np.concatenate([df, df, [np.inf]])
    got = vd._detectable_ncp(lv2, df2)
    assert np.allclose(got[: 2 * len(df)], np.tile(one, 2), rtol=1e-9, atol=1e-9)
    assert got[-1] == pytest.approx(vd.ndtri(0.975) + vd.ndtri(0.8))


def test_batch_detectable_ncp_tiny_df_and_bracket_widening() -> None:
    # df below 1 (heavy tails: the bracket widens by doubling; quadrature beyond scipy's
    # reliable range) and a level near 1
    df = np.array([0.6, 1.0, 2.0, 3.5])
    level = np.array([0.01, 0.05, 1e-4, 0.9])
    batch = vd._t_ncp_batch(level, df)
    one = np.array([vd._t_ncp(float(lv), float(d)) for lv, d in zip(level, df, strict=True)])
    assert np.allclose(batch, one, rtol=1e-9, atol=1e-9)
