"""R's conventions through compare_waves: test options, the unlinked design, the method column.

Every expected number comes from ``tests/fixtures/conventions.json``, written by
``tests/fixtures/r/conventions.R`` (its R call and R version are in the file) from the answers
``tests/fixtures/r/conventions_input.py`` exported from the other-export test study.
``CONFIGS`` names the ``compare_waves`` options that reproduce each R call
(``docs/methods/reproducing-r-and-spss.md``).
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crisis_survey import (
    CrisisSurveyError,
    compare_waves,
    link_waves,
    load_codebook,
    load_sample_study,
    load_wave,
)
from crisis_survey import stats as st
from crisis_survey.link import LinkedStudy
from crisis_survey.stats import TESTS

HERE = Path(__file__).resolve().parent
STUDY = HERE / "data" / "other_study"
FIXTURE = json.loads((HERE / "fixtures" / "conventions.json").read_text(encoding="utf-8"))
TOL = 1e-6

RANK = {"ordinal": {"independent": "mann_whitney", "unlinked": "mann_whitney"}}
CHISQ = {"binary": {"independent": "chi_square", "unlinked": "chi_square"}}

#: fixture config -> compare_waves keywords that reproduce the R call
CONFIGS: dict[str, dict[str, Any]] = {
    # wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = TRUE) and wilcox.test(x, y)
    "rank_asymptotic_corrected": {"tests": RANK, "test_options": {
        "wilcoxon_signed_rank": {"method": "asymptotic"},
        "mann_whitney": {"method": "asymptotic"}}},
    # ... correct = FALSE (also SPSS's asymptotic signed-rank and Mann-Whitney)
    "rank_asymptotic": {"tests": RANK, "test_options": {
        "wilcoxon_signed_rank": {"method": "asymptotic", "correction": False},
        "mann_whitney": {"method": "asymptotic", "correction": False}}},
    # coin::wilcoxsign_test(x ~ y, zero.method = ..., distribution = ...)
    "coin_pratt_asymptotic": {"test_options": {"wilcoxon_signed_rank": {
        "method": "asymptotic", "correction": False, "zero_method": "pratt"}}},
    "coin_wilcoxon_asymptotic": {"test_options": {"wilcoxon_signed_rank": {
        "method": "asymptotic", "correction": False}}},
    "coin_pratt_exact": {"test_options": {"wilcoxon_signed_rank": {
        "method": "exact", "zero_method": "pratt"}}},
    "coin_wilcoxon_exact": {"test_options": {"wilcoxon_signed_rank": {"method": "exact"}}},
    # coin::mh_test(table(x, y))
    "marginal_homogeneity": {"tests": {"ordinal": {"paired": "marginal_homogeneity"}}},
    # mcnemar.test(table(x, y), correct = TRUE / FALSE); binom.test(b, b + c)
    "mcnemar_corrected": {"test_options": {"mcnemar": {"correction": True}}},
    "mcnemar": {},
    "mcnemar_exact": {"test_options": {"mcnemar": {"method": "exact"}}},
    # chisq.test(table(wave, answer), correct = TRUE / FALSE)
    "chisq_corrected": {"tests": CHISQ, "test_options": {"chi_square": {"correction": True}}},
    "chisq": {"tests": CHISQ},
}


@pytest.fixture(scope="module")
def study() -> LinkedStudy:
    cb = load_codebook(STUDY / "other.schema.json")
    return link_waves(load_wave(STUDY / "wave1.csv", wave=1, codebook=cb),
                      load_wave(STUDY / "wave2.csv", wave=2, codebook=cb))


@pytest.fixture(scope="module")
def runs(study: LinkedStudy) -> dict[str, pd.DataFrame]:
    items = sorted({c["item"] for c in FIXTURE["cases"]})
    return {
        name: compare_waves(study, items=items, designs=("paired", "independent", "unlinked"),
                            **kwargs).table.set_index(["item", "group", "design"])
        for name, kwargs in CONFIGS.items()
    }


def _agree(ours: float, r: float) -> float:
    """Absolute difference, relative for values above 1."""
    return abs(ours - r) / max(1.0, abs(r))


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_each_r_convention_is_reachable_from_compare_waves(
    config: str, runs: dict[str, pd.DataFrame]
) -> None:
    cases = [c for c in FIXTURE["cases"] if c["config"] == config]
    assert cases, config
    table = runs[config]
    worst = 0.0
    for c in cases:
        row = table.loc[(c["item"], c["group"], c["design"])]
        assert math.isfinite(row["p_value"]), (c, row["note"])
        worst = max(worst, _agree(row["p_value"], c["p_value"]))
        if c["statistic"] is not None and config != "mcnemar_exact":
            # rank sums: R's wilcox.test(x, y) reads wave 1 relative to wave 2; ours is the
            # statistic of wilcox.test(y, x) (recorded beside it); the p-values agree as they are
            worst = max(worst, _agree(row["statistic"], c.get("wave2_first", c["statistic"])))
    assert worst < TOL, (config, worst, cases[0]["r_call"])


def test_the_method_column_says_exact_or_asymptotic_and_corrected(
    runs: dict[str, pd.DataFrame]
) -> None:
    def methods(config: str, test: str) -> set[str]:
        t = runs[config]
        return set(t.loc[t["test"] == test, "method"])

    assert methods("rank_asymptotic_corrected", "wilcoxon_signed_rank") == \
        {"asymptotic, corrected"}
    assert methods("rank_asymptotic", "mann_whitney") == {"asymptotic"}
    assert methods("coin_pratt_exact", "wilcoxon_signed_rank") == {"exact"}
    assert methods("mcnemar", "mcnemar") == {"asymptotic"}
    assert methods("mcnemar_corrected", "mcnemar") == {"asymptotic, corrected"}
    assert methods("mcnemar_exact", "mcnemar") == {"exact"}
    assert methods("chisq_corrected", "chi_square") == {"asymptotic, corrected"}


def test_unlinked_design_uses_only_respondents_in_one_wave(study: LinkedStudy) -> None:
    t = compare_waves(study, items=["Q1"], designs=("unlinked", "independent")).table
    unl = t[t["design"] == "unlinked"].set_index("group")
    ind = t[t["design"] == "independent"].set_index("group")
    for g in ("Service user", "Carer"):
        rows1 = study.unpaired(1)
        answered = rows1[rows1["Role"] == g]["Q1"].notna().sum()
        assert unl.at[g, "n_wave1"] == answered
        assert unl.at[g, "n_wave1"] < ind.at[g, "n_wave1"]
        assert unl.at[g, "test"] == "mann_whitney" and pd.isna(unl.at[g, "n_pairs"])


def test_incomplete_pairs_drop_matches_the_stats_function(study: LinkedStudy) -> None:
    res = compare_waves(study, items=["Q1"], designs=("overlapping",),
                        test_options={"partially_overlapping_t": {"incomplete_pairs": "drop"}})
    row = res.table.set_index("group").loc["Carer"]
    pairs = study.pairs[study.pairs[("", "group")] == "Carer"]
    levels = list(study.codebook["Q1"].labels)

    def score(v: pd.Series) -> np.ndarray:
        return np.array([levels.index(a) + 1 if isinstance(a, str) else np.nan
                         for a in v.astype(object)])

    alone = [score(study.unpaired(w).query("Role == 'Carer'")["Q1"]) for w in (1, 2)]
    ref = st.partially_overlapping_t(alone[0], alone[1], score(pairs[(1, "Q1")]),
                                     score(pairs[(2, "Q1")]), incomplete_pairs="drop")
    assert row["p_value"] == pytest.approx(ref.p_value, rel=1e-12)
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    kept = compare_waves(study, items=["Q1"], designs=("overlapping",)).table
    assert kept.set_index("group").at["Carer", "n_wave1"] > row["n_wave1"]


def test_one_default_per_test_shared_by_stats_and_compare_waves() -> None:
    functions = {"wilcoxon_signed_rank": st.wilcoxon_signed_rank,
                 "mann_whitney": st.mann_whitney, "mcnemar": st.mcnemar,
                 "marginal_homogeneity": st.marginal_homogeneity,
                 "chi_square": st.chi_square,
                 "partially_overlapping_t": st.partially_overlapping_t,
                 "partially_overlapping_z": st.partially_overlapping_z}
    for name, spec in TESTS.items():
        fn = functions.get(name)
        if fn is None:
            continue
        params = inspect.signature(fn).parameters
        for option in spec.options:
            assert params[option.name].default == option.default, (name, option.name)


def test_bad_test_options_name_the_test_and_the_choices(study: LinkedStudy) -> None:
    with pytest.raises(CrisisSurveyError, match=r"mcnemar option correction='yes'.*True"):
        compare_waves(study, items=["Q3"], test_options={"mcnemar": {"correction": "yes"}})
    with pytest.raises(CrisisSurveyError, match="has no option 'exact'"):
        compare_waves(study, items=["Q3"], test_options={"mann_whitney": {"exact": True}})
    with pytest.raises(CrisisSurveyError, match="not a known test"):
        compare_waves(study, items=["Q3"], test_options={"wilcox": {}})


def test_no_change_is_said_as_such() -> None:
    # cells (group x area) where every linked respondent gave the same answer twice: the
    # reason says so (not "too few answers"), and McNemar follows the one "nobody changed"
    # convention of the signed-rank test (docs/methods/comparing-waves.md): statistic 0,
    # p = 1, no effect size, and the cell cannot reach significance, so it leaves its family
    sample = load_sample_study()
    t = compare_waves(sample, items=["svc_ae", "svc_police_cell"], by=("group", "area"),
                      designs=("paired",)).table
    no_change = t[t["reason"] == "nobody changed answer"]
    assert len(no_change) >= 1
    assert no_change["test"].eq("mcnemar").all()
    assert no_change["statistic"].eq(0).all() and no_change["p_value"].eq(1).all()
    assert no_change["effect_size"].isna().all() and no_change["p_adjusted"].isna().all()
    assert no_change["note"].str.contains("nobody changed").all()
    assert not t.loc[t["reason"].isna(), "p_value"].isna().any()
    thin = t[t["reason"] == "too few complete pairs"]
    assert (thin["n_pairs"] < 5).all() and thin["p_value"].isna().all()


def test_the_plan_carries_test_options_and_the_unlinked_design() -> None:
    from crisis_survey import AnalysisPlan, PlanError

    plan = AnalysisPlan.from_mapping({"analysis": {
        "designs": ["paired", "unlinked"],
        "test_options": {"mcnemar": {"correction": True}}}})
    assert plan.designs == ("paired", "unlinked")
    assert plan.to_dict()["test_options"] == {"mcnemar": {"correction": True}}
    with pytest.raises(PlanError, match=r"mcnemar option correction=1"):
        AnalysisPlan.from_mapping({"analysis": {"test_options": {"mcnemar": {"correction": 1}}}})
