""""Nobody changed" and cells that cannot reach significance (compare/_families.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from crisis_survey import CrisisSurveyError, load_sample_study
from crisis_survey import stats as st
from crisis_survey.compare import _families as fam
from crisis_survey.compare import compare_waves
from crisis_survey.compare._waves import FAMILIES


@pytest.fixture(scope="module")
def by_area() -> pd.DataFrame:
    return compare_waves(load_sample_study(), by=("group", "area"), designs=("paired",)).table


def _table(changed_up: int, changed_down: int, same: int, k: int = 5) -> np.ndarray:
    t = np.zeros((k, k))
    t[0, 0] = same
    t[0, 1] = changed_up  # wave 1 level 0 -> wave 2 level 1
    t[1, 0] = changed_down
    return t[None]


def test_smallest_p_of_each_paired_test() -> None:
    # 5 changed pairs: exact signed-rank cannot go below 2 / 2^5 = 0.0625
    t5 = _table(5, 0, 10)
    assert fam.smallest_p("wilcoxon_signed_rank", t5, [np.nan])[0] == pytest.approx(0.0625)
    exact = st.wilcoxon_signed_rank([1] * 10 + [2] * 5, [1] * 10 + [1] * 5).p_value
    assert exact == pytest.approx(0.0625)  # attained when all five move one way
    t2 = _table(3, 0, 5, k=2)
    assert fam.smallest_p("mcnemar", t2, [1.0])[0] == pytest.approx(chi2.sf(3, 1))
    assert fam.smallest_p("marginal_homogeneity", t5, [1.0])[0] == pytest.approx(chi2.sf(5, 1))
    nobody = _table(0, 0, 9)
    for test in fam.PAIRED_CATEGORICAL:
        assert fam.smallest_p(test, nobody, [np.nan])[0] == 1.0
    assert fam.smallest_p("paired_t", t5, [4.0])[0] == 0.0


def test_stuart_maxwell_never_exceeds_the_changed_pairs() -> None:
    # the bound behind smallest_p: SM <= number of changed pairs (Cauchy-Schwarz)
    rng = np.random.default_rng(3)
    for _ in range(200):
        t = rng.poisson(rng.uniform(0, 3, size=(4, 4))).astype(np.int64)
        res = st._contingency._marginal_homogeneity_from_table(t)
        if np.isfinite(res.statistic):
            assert res.statistic <= t.sum() - np.trace(t) + 1e-9


def test_unreachable_cells_leave_their_family(by_area: pd.DataFrame) -> None:
    t = by_area
    left = t["note"].fillna("").str.contains("left out of the p-value family")
    assert left.any()
    assert t.loc[left, "p_adjusted"].isna().all() and t.loc[left, "p_value"].notna().all()
    # the others are adjusted as if the left-out cells were not there (Holm, R's p.adjust)
    kept = t[~left & t["p_value"].notna()]
    for _, fam_rows in kept.groupby(list(FAMILIES["group"])):
        expected = st.adjust_pvalues(fam_rows["p_value"].to_numpy())
        assert np.allclose(fam_rows["p_adjusted"].to_numpy(), expected, rtol=1e-12)


def test_nobody_changed_reads_the_same_in_every_paired_test(by_area: pd.DataFrame) -> None:
    t = by_area
    nobody = t["note"].fillna("").str.startswith(fam.NOBODY_CHANGED)
    assert nobody.any()
    rows = t[nobody]
    assert (rows["p_value"] == 1.0).all() and (rows["statistic"] == 0.0).all()
    assert rows["effect_size"].isna().all() and rows["p_adjusted"].isna().all()


def test_keep_puts_every_tested_cell_in_its_family() -> None:
    t = compare_waves(load_sample_study(), by=("group", "area"), designs=("paired",),
                      unreachable="keep").table
    tested = t["p_value"].notna()
    assert t.loc[tested, "p_adjusted"].notna().all()
    nobody = t["note"].fillna("") == fam.NOBODY_CHANGED
    assert nobody.any()
    assert (t.loc[nobody, "p_value"] == 1.0).all() and t.loc[nobody, "p_adjusted"].notna().all()


def test_unreachable_option_is_checked() -> None:
    with pytest.raises(CrisisSurveyError, match="unreachable"):
        compare_waves(load_sample_study(), unreachable="drop")
