"""The batch forms of compare_waves' tests (compare/_kernels.py ``run_batch``) against the
plain per-cell kernels (``run``), which tests/test_compare.py checks against the public stats
functions: on random counts, every cell a batch computes must equal the per-cell result to
rounding (1e-12 relative; most values are the same bits), and every cell the per-cell kernel
tests with a defined p-value must be computed by a batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crisis_survey import CrisisSurveyError
from crisis_survey.compare import _kernels as kn

COLUMNS = ("statistic", "df", "p_value", "effect_size", "ci_low", "ci_high")


def _cells(seed: int, k: int, m: int, top: int, numeric: bool = False
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random paired k x k tables and two samples' level counts (some cells thin or empty)."""
    rng = np.random.default_rng(seed)
    sparse = rng.random((m, k, k)) < rng.uniform(0.2, 1.0, (m, 1, 1))
    tables = (rng.integers(0, top, (m, k, k)) * sparse).astype(float)
    w1 = (rng.integers(0, top, (m, k)) * (rng.random((m, k)) < 0.8)).astype(float)
    w2 = (rng.integers(0, top, (m, k)) * (rng.random((m, k)) < 0.8)).astype(float)
    tables[:3] = 0.0
    w1[3:5] = 0.0
    tables[5:8] = np.eye(k) * 4  # nobody changed answer
    if numeric:  # moments: n, mean_x, mean_y, ssd_x, ssd_y, cross / n, mean, ssd
        n = rng.integers(0, 30, m).astype(float)
        sx, sy = rng.uniform(0, 50, m), rng.uniform(0, 50, m)
        cross = rng.uniform(-1, 1, m) * np.sqrt(sx * sy)
        tables = np.column_stack([n, rng.normal(3, 1, m), rng.normal(3, 1, m), sx, sy, cross])
        w1 = np.column_stack([rng.integers(0, 30, m), rng.normal(3, 1, m), rng.uniform(0, 40, m)])
        w2 = np.column_stack([rng.integers(0, 30, m), rng.normal(3, 1, m), rng.uniform(0, 40, m)])
    return tables, w1, w2


def _per_cell(test: str, cell: kn.Cell) -> tuple[str, dict[str, float]] | None:
    run_as = test
    if test == "chi_square_or_fisher":
        run_as = "fisher_exact" if kn.min_expected(cell) < 5.0 else "chi_square"
    try:
        r = kn.run(run_as, cell)
    except CrisisSurveyError:
        return None
    values = {"statistic": r.statistic, "df": math.nan if r.df is None else r.df,
              "p_value": r.p_value, "effect_size": r.effect_size, "ci_low": r.ci_low,
              "ci_high": r.ci_high}
    return run_as, {c: math.nan if v is None else float(v) for c, v in values.items()}


CASES = [
    ("wilcoxon_signed_rank", 5, 12), ("mann_whitney", 5, 12), ("mann_whitney", 3, 40),
    ("mcnemar", 2, 20), ("marginal_homogeneity", 3, 8), ("marginal_homogeneity", 5, 6),
    ("chi_square", 2, 30), ("chi_square", 5, 30), ("fisher_exact", 2, 8),
    ("fisher_exact", 3, 8), ("fisher_exact", 4, 4), ("chi_square_or_fisher", 2, 12),
    ("chi_square_or_fisher", 3, 12), ("chi_square_or_fisher", 3, 3),
    ("partially_overlapping_t", 5, 10), ("partially_overlapping_z", 2, 15),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("test", "k", "top"), CASES)
def test_every_batch_equals_the_per_cell_kernel(test: str, k: int, top: int, seed: int) -> None:
    tables, w1, w2 = _cells(seed, k, 80, top)
    scores = np.arange(1.0, k + 1.0)
    batches = kn.run_batch(test, tables, w1, w2, scores, True)
    assert batches, f"{test} has a batch form"
    done_by = np.full(len(w1), -1)
    for b_i, b in enumerate(batches):
        assert not (b.done & (done_by >= 0)).any(), "a cell computed by two batches"
        done_by[b.done] = b_i
    for c in range(len(w1)):
        ref = _per_cell(test, kn.Cell(True, tables[c], w1[c], w2[c], scores))
        if done_by[c] < 0:
            # left to the per-cell kernel although it gives a p-value: only exact
            # computations too large to enumerate, 2 x k Fisher tables with more than three
            # answered levels, and signed-rank
            # cells without a non-zero difference (p = 1 with no effect size)
            if ref is not None and not math.isnan(ref[1]["p_value"]):
                if ref[0] == "fisher_exact":  # batched up to three answered levels
                    answered = int(((w1[c] + w2[c]) > 0).sum())
                    assert answered > 3, (c, answered)
                assert test in ("mann_whitney", "fisher_exact", "chi_square_or_fisher") or (
                    test == "wilcoxon_signed_rank" and math.isnan(ref[1]["effect_size"])
                ), (c, ref)
            continue
        assert ref is not None, f"cell {c}: the batch computed a cell the kernel rejects"
        b = batches[done_by[c]]
        assert b.test == ref[0]
        for col in COLUMNS:
            got = getattr(b, col)
            value = math.nan if got is None else float(got[c])
            want = ref[1][col]
            # noncentral chi-square bounds (Cramer's V, Cohen's w) and the conditional odds
            # ratio: the per-cell root finders stop at brentq's tolerance, the batches go on
            rtol = 1e-9 if (col in ("ci_low", "ci_high") and ref[0] in (
                "chi_square", "marginal_homogeneity", "fisher_exact")) else 1e-12
            assert value == pytest.approx(want, rel=rtol, abs=1e-300, nan_ok=True), (c, col)


def test_numeric_overlapping_t_batch_equals_the_per_cell_kernel() -> None:
    tables, w1, w2 = _cells(7, 1, 300, 5, numeric=True)
    (b,) = kn.run_batch("partially_overlapping_t", tables, w1, w2, np.zeros(0), False)
    for c in range(len(w1)):
        ref = _per_cell("partially_overlapping_t",
                        kn.Cell(False, tables[c], w1[c], w2[c], np.zeros(0)))
        assert bool(b.done[c]) == (ref is not None and not math.isnan(ref[1]["p_value"]))
        if ref is not None and b.done[c]:
            for col in COLUMNS:
                value = float(getattr(b, col)[c])
                assert value == pytest.approx(ref[1][col], rel=1e-12, nan_ok=True), (c, col)


def test_batches_are_mostly_the_same_bits() -> None:
    """The t/z tests, McNemar and the chi-square statistic are element-by-element the same
    arithmetic as the per-cell code, so nearly every value is identical, not just close."""
    for test, k in (("partially_overlapping_z", 2), ("mcnemar", 2), ("chi_square", 2)):
        tables, w1, w2 = _cells(3, k, 200, 20)
        scores = np.arange(1.0, k + 1.0)
        (b,) = kn.run_batch(test, tables, w1, w2, scores, True)
        same = total = 0
        for c in np.flatnonzero(b.done):
            ref = _per_cell(test, kn.Cell(True, tables[c], w1[c], w2[c], scores))
            assert ref is not None
            total += 1
            same += all(float(b.p_value[c]) == ref[1]["p_value"] for _ in (0,))
        assert same == total, (test, same, total)
