"""The rank-biserial intervals and equivalence tests (stats/_rank_ci.py).

Reference values: tests/fixtures/rank_ci.json, produced by tests/fixtures/r/rank_ci.R with
R 4.2.2 (an independent implementation: brute-force enumeration of the sign vectors,
``uniroot``, ``binom.test``; no R package computes these intervals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey.stats import _rank as rk
from crisis_survey.stats import _rank_ci as ci
from crisis_survey.stats import mann_whitney, wilcoxon_signed_rank

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "rank_ci.json").read_text())


def _from_differences(d: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Wave-1 and wave-2 answers whose changes (wave 2 - wave 1) are ``d``."""
    d_arr = np.asarray(d, dtype=float)
    return np.full(d_arr.size, 10.0), d_arr + 10.0


@pytest.mark.parametrize("case", FIXTURE["paired"], ids=lambda c: str(c["d"])[:30])
def test_signed_rank_interval_matches_brute_force_r(case: dict[str, Any]) -> None:
    # R: enumeration of the 2^n sign vectors, uniroot on the tilted tails (rank_ci.R)
    x, y = _from_differences(case["d"] if isinstance(case["d"], list) else [case["d"]])
    res = wilcoxon_signed_rank(x, y, method="exact", confidence=case["confidence"])
    assert res.effect_size == pytest.approx(case["r"], abs=1e-12)
    assert res.ci_low == pytest.approx(case["ci_low"], abs=1e-8)
    assert res.ci_high == pytest.approx(case["ci_high"], abs=1e-8)
    assert res.p_value == pytest.approx(case["exact_p"], abs=1e-12)


@pytest.mark.parametrize("case", FIXTURE["paired"], ids=lambda c: str(c["d"])[:30])
def test_signed_rank_tost_matches_brute_force_r(case: dict[str, Any]) -> None:
    d = np.atleast_1d(np.asarray(case["d"], dtype=float))
    pos, neg, _ = rk._difference_counts(d)
    mult = (pos + neg)[None, :]
    r2 = rk._doubled_midranks_rows(mult)
    pmf, _ = rk.signed_rank_pmfs(r2, mult)
    p = ci.signed_rank_tost(pmf, r2, mult, (pos[None, :] * r2).sum(axis=1), case["margin"])
    assert p[0] == pytest.approx(case["p_tost"], abs=1e-8)


@pytest.mark.parametrize("case", FIXTURE["binary"], ids=lambda c: f"{c['b']}-{c['c']}")
def test_one_tie_group_is_clopper_pearson(case: dict[str, Any]) -> None:
    # R: binom.test(b, b + c)$conf.int mapped to 2 p - 1
    d = [1.0] * case["b"] + [-1.0] * case["c"]
    res = wilcoxon_signed_rank(*_from_differences(d), method="exact")
    assert res.ci_low == pytest.approx(case["ci_low"], abs=1e-8)
    assert res.ci_high == pytest.approx(case["ci_high"], abs=1e-8)


@pytest.mark.parametrize("case", FIXTURE["unpaired"], ids=lambda c: str(len(c["x"])))
def test_mann_whitney_interval_matches_newcombe_in_r(case: dict[str, Any]) -> None:
    # R's r is x relative to y (rank_biserial(x, y)); ours y relative to x: the sign flipped
    res = mann_whitney(case["x"], case["y"], method="asymptotic", confidence=case["confidence"])
    assert res.effect_size == pytest.approx(-case["r"], abs=1e-12)
    assert res.ci_low == pytest.approx(-case["ci_high"], abs=1e-8)
    assert res.ci_high == pytest.approx(-case["ci_low"], abs=1e-8)


def test_no_zero_width_when_every_change_has_one_sign() -> None:
    one = wilcoxon_signed_rank([1], [2])
    assert (one.effect_size, one.ci_low, one.ci_high) == (1.0, pytest.approx(-0.95), 1.0)
    down = wilcoxon_signed_rank([2, 3, 4, 2], [1, 2, 3, 1])  # four tied -1 changes
    assert down.effect_size == -1.0 and down.ci_low == -1.0
    assert down.ci_high == pytest.approx(2 * (1 - 0.025**0.25) - 1, abs=1e-9)
    mw = mann_whitney([2, 2, 2], [1, 1, 1])
    assert mw.effect_size == -1.0 and mw.ci_low == -1.0 and mw.ci_high > -1.0


likert = st.integers(min_value=1, max_value=5)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(likert, likert), min_size=1, max_size=30),
       st.sampled_from([0.9, 0.95]), st.sampled_from(["exact", "asymptotic"]))
def test_interval_excludes_zero_exactly_when_the_test_rejects(
    pairs: list[tuple[int, int]], confidence: float, method: Any
) -> None:
    x, y = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
    res = wilcoxon_signed_rank(x, y, method=method, confidence=confidence)
    if math.isnan(res.effect_size or math.nan):
        return
    assert res.ci_low is not None and res.ci_high is not None
    assert -1.0 <= res.ci_low <= res.effect_size <= res.ci_high <= 1.0
    assert res.ci_low < res.ci_high
    excluded = res.ci_low > 0.0 or res.ci_high < 0.0
    if abs(res.p_value - (1 - confidence)) > 1e-9:  # away from the boundary
        assert excluded == (res.p_value < 1 - confidence)


def _plain_exact_interval(d: np.ndarray, confidence: float) -> tuple[float, float]:
    """Reference: one sample, the tilted tails by direct bisection on lambda (64 steps)."""
    pos, neg, _ = rk._difference_counts(d)
    mult = (pos + neg)[None, :]
    r2 = rk._doubled_midranks_rows(mult)
    pmf = rk.signed_rank_pmfs(r2, mult)[0][0]
    t = np.arange(pmf.size)
    v = int((pos * r2[0]).sum())
    a = (1 - confidence) / 2

    def tail(lam: float, upper: bool) -> float:
        with np.errstate(divide="ignore"):
            w = np.log(pmf) + lam * t
        e = np.exp(w - w.max())
        return float(e[t >= v].sum() / e.sum()) if upper else float(e[t <= v].sum() / e.sum())

    def solve(upper: bool) -> float:
        lo, hi = -50.0, 50.0
        for _ in range(80):
            mid = (lo + hi) / 2
            if (tail(mid, upper) > a) == upper:
                hi = mid
            else:
                lo = mid
        return float(ci.tilt_theta((lo + hi) / 2, r2, mult)[0])

    total = int(r2[0] @ mult[0])
    return (-1.0 if v == 0 else solve(True)), (1.0 if v == total else solve(False))


def test_batch_exact_intervals_match_the_plain_reference() -> None:
    rng = np.random.default_rng(7)
    rows = [rng.choice([-3, -2, -1, 0, 1, 2, 3], size=int(rng.integers(1, 25))) for _ in range(40)]
    rows = [r for r in rows if np.any(r != 0)]
    counts = [rk._difference_counts(r.astype(float)) for r in rows]
    width = max(len(c[0]) for c in counts)
    pos = np.array([np.pad(c[0], (0, width - len(c[0]))) for c in counts])
    neg = np.array([np.pad(c[1], (0, width - len(c[1]))) for c in counts])
    zeros = np.array([c[2] for c in counts])
    b = rk._signed_rank_batch(pos, neg, zeros)
    _, low, high = rk._signed_rank_exact(pos, neg, zeros, b["v2"], b["total2"])
    for row, lo, hi in zip(rows, low, high, strict=True):
        ref = _plain_exact_interval(row.astype(float), 0.95)
        assert lo == pytest.approx(ref[0], abs=1e-9) and hi == pytest.approx(ref[1], abs=1e-9)


def test_mde_solves_its_power_equation() -> None:
    se0 = np.array([0.05, 0.1, 0.3, 0.6])
    mde = ci.mde_rank_biserial(se0, 0.05)
    za, zb = 1.959963984540054, 0.8416212335729143
    assert np.allclose(mde[:3], se0[:3] * (za + zb * np.sqrt(1 - mde[:3] ** 2)), atol=1e-12)
    assert math.isnan(mde[3])  # 0.6 * 1.96 > 1: nothing is detectable


def test_newcombe_with_an_empty_sample_warns_nothing_and_keeps_the_other_rows() -> None:
    """A row with an empty sample (its r is NaN) divides nothing by zero, and the rows beside
    it get the interval and TOST p-value they get alone."""
    nx, ny = np.array([0.0, 10.0]), np.array([5.0, 12.0])
    r = np.array([np.nan, 0.2])
    with np.errstate(all="raise"):
        low, high = ci.newcombe_ci(r, nx, ny, confidence=0.95, alternative="two-sided")
        p = ci.newcombe_tost(r, nx, ny, 0.3)
    alone_low, alone_high = ci.newcombe_ci(r[1:], nx[1:], ny[1:], confidence=0.95,
                                           alternative="two-sided")
    assert np.isnan(low[0]) and np.isnan(high[0]) and np.isnan(p[0])
    assert (low[1], high[1]) == (alone_low[0], alone_high[0])
    assert -1.0 < low[1] < 0.2 < high[1] < 1.0
    assert p[1] == ci.newcombe_tost(r[1:], nx[1:], ny[1:], 0.3)[0]
