"""Calibration of the default tests under the null hypothesis (slow; CI runs it).

Likert items with heavy ties (5 levels from a skewed cut of a normal, so most answers sit in
two or three levels). Paired answers come from an exchangeable latent bivariate normal
(correlation 0.5), so the marginal distributions are equal and the distribution of the
differences is symmetric: every paired null holds. Independent samples share one distribution.

For each default test of ``compare_waves`` and 10, 30 and 100 pairs, the rejection rate at
alpha = 0.05 over R = 1,000 replicates must lie within the 99.9% Monte-Carlo interval of 0.05
(0.05 +/- 3.29 * sqrt(0.05 * 0.95 / R) = [0.027, 0.073]), with these stated exceptions, all
measured and written down in docs/methods/comparing-waves.md:

- conservative at 10 pairs: exact conditional tests on heavily tied data (signed-rank,
  Stuart-Maxwell) and McNemar cannot reach the nominal size when only a handful of pairs
  differ; there only the upper limit (validity) is asserted;
- liberal at 10 pairs: the partially-overlapping z-test for proportions (normal approximation
  with 10 pairs and 5 unpaired per wave); asserted below 0.10, documented as a limitation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from crisis_survey import stats as st

pytestmark = pytest.mark.slow

REPS = 1000
ALPHA = 0.05
HALF = 3.29 * math.sqrt(ALPHA * (1 - ALPHA) / REPS)
LOW, HIGH = ALPHA - HALF, ALPHA + HALF
CUTS = np.array([-0.8, -0.2, 0.4, 1.1])

# (test, n) pairs that are only checked for validity (rate <= HIGH): too discrete at 10 pairs.
CONSERVATIVE = {("wilcoxon_signed_rank", 10), ("marginal_homogeneity", 10), ("mcnemar", 10)}
LIBERAL = {("partially_overlapping_z", 10): 0.10}


def _likert(z: np.ndarray) -> np.ndarray:
    return np.searchsorted(CUTS, z) + 1


def _rates(n: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    cov = [[1.0, 0.5], [0.5, 1.0]]
    hits: dict[str, list[bool]] = {}

    def add(name: str, p: float) -> None:
        hits.setdefault(name, []).append(bool(p < ALPHA))

    m = n // 2
    for _ in range(REPS):
        z = rng.multivariate_normal([0.0, 0.0], cov, size=n)
        x, y = _likert(z[:, 0]), _likert(z[:, 1])
        xb, yb = (x >= 4).astype(float), (y >= 4).astype(float)
        a, b = _likert(rng.normal(size=n)), _likert(rng.normal(size=n))
        ab, bb = (a >= 4).astype(float), (b >= 4).astype(float)
        add("wilcoxon_signed_rank", st.wilcoxon_signed_rank(x, y).p_value)
        add("marginal_homogeneity", st.marginal_homogeneity(x, y).p_value)
        add("mcnemar", st.mcnemar(xb, yb, correction=False).p_value)  # as compare_waves
        add("mann_whitney", st.mann_whitney(a, b).p_value)
        add("chi_square", st.chi_square(a, b).p_value)
        add("partially_overlapping_t", st.partially_overlapping_t(a[:m], b[:m], x, y).p_value)
        add("partially_overlapping_z", st.partially_overlapping_z(ab[:m], bb[:m], xb, yb).p_value)
    # A replicate whose test is undefined (e.g. no discordant pairs) counts as not rejecting,
    # as compare_waves reports no p-value there.
    return {k: float(np.mean(v)) for k, v in hits.items()}


@pytest.mark.parametrize("n", [10, 30, 100])
def test_null_rejection_rates(n: int) -> None:
    rates = _rates(n, seed=20141001 + n)
    report = ", ".join(f"{k}={v:.3f}" for k, v in sorted(rates.items()))
    for name, rate in rates.items():
        limit = LIBERAL.get((name, n), HIGH)
        assert rate <= limit, f"{name} at n={n} rejects too often under the null: {report}"
        if (name, n) not in CONSERVATIVE and (name, n) not in LIBERAL:
            assert rate >= LOW, f"{name} at n={n} is over-conservative: {report}"
