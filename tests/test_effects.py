"""Signed effects with two-sided intervals, and one direction for every test.

Reference values: tests/fixtures/effects.json, made by tests/fixtures/r/effects.R (R 4.2.2,
effectsize 0.8.3, coin 1.4.2; Newcombe's interval for independent proportions written out in
base R from prop.test, as PropCIs is not installed). The direction tests are hand-computed:
tiny tables in which wave 2 is clearly higher must give a positive statistic (where the
statistic has a sign) and a positive effect (above 1 for odds ratios) for every test of the
registry, and the mirror table the opposite.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crisis_survey import stats as S
from crisis_survey.stats import EFFECTS, STATISTICS, TESTS
from crisis_survey.stats._contingency import (
    _chi_square_batch,
    _chi_square_from_table,
    _marginal_homogeneity_batch,
    _marginal_homogeneity_from_table,
)
from crisis_survey.stats._proportions import newcombe_difference

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "effects.json").read_text())


def _num(v: Any) -> float:
    return float(v) if not isinstance(v, str) else {"Inf": math.inf, "-Inf": -math.inf,
                                                     "NA": math.nan}[v]


def _close(actual: float | None, expected: Any, rel: float = 1e-9, abs_: float = 1e-12) -> None:
    assert actual is not None
    want = _num(expected)
    if math.isinf(want):
        assert actual == want
    else:
        assert actual == pytest.approx(want, rel=rel, abs=abs_)


def test_fixture_provenance() -> None:
    assert FIXTURE["script"] == "tests/fixtures/r/effects.R"
    assert (Path(__file__).parent / "fixtures" / "r" / "effects.R").exists()
    assert FIXTURE["r_version"].startswith("R version 4.2")
    assert FIXTURE["packages"]["effectsize"] == "0.8.3"


# -- against R ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", FIXTURE["risk_difference"], ids=lambda c: str(c["counts"]))
def test_risk_difference_is_newcombes_hybrid_score_interval(case: dict[str, Any]) -> None:
    # R: newcombe_independent() in effects.R (prop.test's Wilson intervals, method 10)
    x1, n1, x2, n2 = case["counts"]
    for conf, key in ((0.95, "newcombe"), (0.90, "newcombe90")):
        got = [float(v) for v in newcombe_difference(x1, n1, x2, n2, conf)]
        for g, want in zip(got, case[key], strict=True):
            _close(g, want)
    # the chi-square and Fisher tests of the same table report it, with the odds ratio of
    # R's fisher.test(rbind(c(n1 - x1, x1), c(n2 - x2, x2))) beside it
    table = np.array([[n1 - x1, x1], [n2 - x2, x2]])
    chi = _chi_square_from_table(table)
    wave1 = np.repeat([0, 1], [n1 - x1, x1])
    wave2 = np.repeat([0, 1], [n2 - x2, x2])
    fisher = S.fisher_exact(wave1, wave2)
    for res in (chi, fisher):
        if math.isnan(res.p_value):
            continue
        assert res.effect_measure == "risk difference"
        _close(res.effect_size, case["newcombe"][0])
        _close(res.ci_low, case["newcombe"][1])
        _close(res.ci_high, case["newcombe"][2])
        est, low, high = (res.details[k] for k in ("odds_ratio", "odds_ratio_ci_low",
                                                   "odds_ratio_ci_high"))
        # R stops at uniroot's default tolerance (~1e-3 relative); the precise conditional
        # MLE and bounds are checked in test_contingency.py
        _close(est, case["fisher_or"][0], rel=2e-3, abs_=1e-6)
        _close(low, case["fisher_or"][1], rel=2e-3, abs_=1e-6)
        _close(high, case["fisher_or"][2], rel=2e-3, abs_=1e-6)
    batch = _chi_square_batch(table[None])
    if batch["ok"][0]:
        assert batch["effect_size"][0] == chi.effect_size
        assert batch["ci_low"][0] == chi.ci_low and batch["ci_high"][0] == chi.ci_high


@pytest.mark.parametrize("case", FIXTURE["cramers_v"], ids=lambda c: str(len(c["table"][0])))
def test_cramers_v_has_a_two_sided_interval(case: dict[str, Any]) -> None:
    table = np.array(case["table"])
    # R: v_two_sided() in effects.R (uniroot on pchisq(x, df, ncp) = 0.975 and 0.025)
    res = _chi_square_from_table(table)
    assert res.effect_measure == "Cramer's V (bias-corrected)"
    for got, want in zip((res.effect_size, res.ci_low, res.ci_high),
                         case["precise_v_adjusted"], strict=True):
        _close(got, want, rel=1e-9, abs_=1e-10)
    # R: effectsize::cramers_v(tab, alternative = "two.sided"); its optim agrees to ~1e-5
    for got, want in zip((res.effect_size, res.ci_low, res.ci_high),
                         case["effectsize_v_adjusted"], strict=True):
        _close(got, want, rel=1e-4, abs_=1e-6)
    raw = _chi_square_from_table(table, adjust=False)
    for got, want in zip((raw.effect_size, raw.ci_low, raw.ci_high), case["precise_v"],
                         strict=True):
        _close(got, want, rel=1e-9, abs_=1e-10)
    ninety = _chi_square_from_table(table, confidence=0.90)
    _close(ninety.ci_high, case["precise_v_adjusted90"][2], rel=1e-9, abs_=1e-10)
    # the batch (compare_waves) gives the same bounds
    b = _chi_square_batch(table[None])
    _close(float(b["ci_low"][0]), case["precise_v_adjusted"][1], rel=1e-9, abs_=1e-10)
    _close(float(b["ci_high"][0]), case["precise_v_adjusted"][2], rel=1e-9, abs_=1e-10)
    assert res.ci_high is not None and res.ci_high < 1.0  # no "[.00, 1.00]" by construction


@pytest.mark.parametrize("case", FIXTURE["cohens_w"], ids=lambda c: str(len(c["table"])))
def test_stuart_maxwell_cohens_w(case: dict[str, Any]) -> None:
    # R: coin::mh_test(as.table(tab)); w = sqrt(X2 / n), bounds sqrt(ncp / n) (uniroot)
    table = np.array(case["table"])
    res = _marginal_homogeneity_from_table(table)
    _close(res.statistic, case["statistic"], rel=1e-9)
    assert res.effect_measure == "Cohen's w"
    for got, want in zip((res.effect_size, res.ci_low, res.ci_high), case["w"], strict=True):
        _close(got, want, rel=1e-8, abs_=1e-10)
    b = _marginal_homogeneity_batch(table[None])
    for key, want in zip(("effect_size", "ci_low", "ci_high"), case["w"], strict=True):
        _close(float(b[key][0]), want, rel=1e-8, abs_=1e-10)


@pytest.mark.parametrize("case", FIXTURE["linear_trend"], ids=lambda c: str(len(c["x"])))
def test_linear_trend_r_has_cor_tests_interval(case: dict[str, Any]) -> None:
    # R: cor.test(wave, score)$conf.int, wave = 1 for x and 2 for y
    res = S.linear_trend(case["x"], case["y"])
    _close(res.effect_size, case["r"])
    _close(res.ci_low, case["ci"][0])
    _close(res.ci_high, case["ci"][1])


# -- one direction, hand-computed ----------------------------------------------------------
# Binary answers (0/1): wave 1 mostly 0, wave 2 mostly 1; the same 10 respondents for the
# paired tests (6 moved up, 1 moved down, 3 stayed).
B1 = [0, 0, 0, 0, 0, 0, 1, 0, 1, 1]
B2 = [1, 1, 1, 1, 1, 1, 0, 0, 1, 1]
# Ordinal answers 1-5: everyone but two rates higher in wave 2.
O1 = [1, 2, 2, 3, 1, 2, 3, 2, 4, 3, 2, 1]
O2 = [3, 4, 3, 5, 2, 4, 3, 4, 5, 4, 1, 3]
# Nominal answers (unordered codes): the distribution moves from "a" to "c".
N1 = ["a"] * 12 + ["b"] * 6 + ["c"] * 2
N2 = ["a"] * 2 + ["b"] * 6 + ["c"] * 12


def _call(name: str, w1: list[Any], w2: list[Any]) -> Any:
    """Run test ``name`` with wave 1 = ``w1`` and wave 2 = ``w2``, as compare_waves does."""
    if name in ("partially_overlapping_t", "partially_overlapping_z"):
        # the first four respondents answered in one wave only, the rest are pairs
        return getattr(S, name)(w1[:2], w2[:2], w1[2:], w2[2:])
    if name == "chi_square_or_fisher":
        return S.chi_square(w1, w2)
    if name == "linear_trend" and isinstance(w1[0], str):
        return S.linear_trend(w1, w2, scores=[1, 2, 3])
    return getattr(S, name)(w1, w2)


#: the data of each measurement level, wave 2 higher
HIGHER = {"binary": (B1, B2), "ordinal": (O1, O2), "numeric": (O1, O2), "nominal": (N1, N2)}


def _cases() -> list[Any]:
    out = []
    for name, spec in TESTS.items():
        for level in spec.measurements:
            out.append(pytest.param(name, level, id=f"{name}-{level}"))
    return out


@pytest.mark.parametrize(("name", "level"), _cases())
def test_wave_2_higher_gives_a_positive_statistic_and_effect(name: str, level: str) -> None:
    spec = TESTS[name]
    w1, w2 = HIGHER[level]
    up = _call(name, w1, w2)
    down = _call(name, w2, w1)  # the mirror: wave 2 lower
    effect = spec.effect_for(level)
    assert effect is not None
    # every result names a registered statistic and effect, the registry's for this level
    # (a nominal item's two-level table would be binary; these have three levels)
    assert up.statistic_name in STATISTICS and up.effect_measure in EFFECTS
    assert up.effect_measure == effect.name, (name, level, up.effect_measure)
    stat = STATISTICS[up.statistic_name]
    if stat.signed:
        assert up.statistic > 0 > down.statistic, (name, level)
    elif stat.kind == "rank_sum":  # above its null expectation when wave 2 is higher
        assert up.statistic > up.details["expectation"] > down.statistic
    if effect.scale == "magnitude":  # nominal answers have no direction: same size both ways
        assert up.effect_size > 0 and up.effect_size == pytest.approx(down.effect_size)
        assert 0 <= up.ci_low <= up.effect_size <= up.ci_high
        return
    assert up.effect_size > effect.null > down.effect_size, (name, level)
    assert up.ci_low <= up.effect_size <= up.ci_high
    assert down.ci_low <= down.effect_size <= down.ci_high
    if spec.odds_ratio is not None and level == "binary":
        assert up.details["odds_ratio"] > 1 > down.details["odds_ratio"]
        assert up.details["odds_ratio_ci_low"] <= up.details["odds_ratio"]


def test_hand_computed_binary_values() -> None:
    # McNemar: b = 6 moved up, c = 1 down; p1 = 3/10, p2 = 8/10, RD = 0.5; OR = 6
    res = S.mcnemar(B1, B2)
    assert res.statistic == pytest.approx(25 / 7)  # (b - c)^2 / (b + c)
    assert res.effect_size == pytest.approx(0.5) and res.details["odds_ratio"] == 6.0
    assert res.details["z"] > 0
    # independent: 3/10 vs 8/10
    chi = S.chi_square(B1, B2)
    assert chi.effect_size == pytest.approx(0.5)
    # signed-rank on the binary item: V = sum of the ranks of the 6 up-moves among 7 = 24
    wil = S.wilcoxon_signed_rank(B1, B2)
    assert wil.statistic == 24.0 and wil.effect_size == pytest.approx((24 - 4) / 28)
    # Mann-Whitney: W = pairs (wave 1, wave 2) with wave 2 higher, ties 1/2:
    # 7 zeros in wave 1 x 8 ones in wave 2 = 56, plus ties 0.5 * (7*2 + 3*8) = 19 -> 75
    mw = S.mann_whitney(B1, B2)
    assert mw.statistic == 75.0 and mw.effect_size == pytest.approx(2 * 75 / 100 - 1)


def test_hand_computed_means() -> None:
    # paired t on O1 -> O2: mean change = (sum(O2) - sum(O1)) / 12 = (41 - 26) / 12
    res = S.paired_t(O1, O2)
    assert res.estimate == pytest.approx(15 / 12) and res.statistic > 0
    welch = S.welch_t(O1, O2)
    assert welch.estimate == pytest.approx(15 / 12)
    assert welch.details["mean_y"] - welch.details["mean_x"] == pytest.approx(15 / 12)
