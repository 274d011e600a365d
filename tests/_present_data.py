"""Small hand-built inputs for the present step, following the contracts in docs/design.md.

Every number here is chosen by hand so that tests can state what a table must show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crisis_survey.codebook import default_codebook
from crisis_survey.load import SurveyWave

CODEBOOK = default_codebook()

#: Columns of ``compare_waves(...).table`` (docs/design.md).
COMPARE_COLUMNS = [
    "by", "group", "item", "label", "measurement", "design", "test", "n_wave1", "n_wave2",
    "n_pairs", "summary_wave1", "summary_wave2", "estimate_wave1", "estimate_wave2",
    "summary_measure", "statistic_name", "statistic", "df", "p_value", "p_adjusted",
    "adjust_method", "effect_measure", "effect_size", "ci_low", "ci_high",
    "n_excluded_codes", "note",
]


def _row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(COMPARE_COLUMNS, np.nan)
    base.update({"by": "group", "adjust_method": "holm", "note": None, "n_excluded_codes": 0,
                 "summary_wave1": "", "summary_wave2": ""})
    base.update(kw)
    return base


def comparison_frame() -> pd.DataFrame:
    """Four rows of a compare_waves table: two ordinal (paired, overlapping), one binary
    with a small count hidden in a percentage, one paired row on 7 pairs."""
    ordinal = {"item": "exp_listened", "label": "Listened to", "measurement": "ordinal",
               "summary_measure": "% in top two levels (Agree or Strongly agree)"}
    rows = [
        _row(group="Service user", design="paired", test="wilcoxon_signed_rank",
             n_wave1=135, n_wave2=135, n_pairs=135, estimate_wave1=48.148148,
             estimate_wave2=61.481481, statistic_name="V", statistic=1493.5, df=np.nan,
             p_value=0.0123, p_adjusted=0.0004, effect_measure="matched-pairs rank-biserial r",
             effect_size=-0.286431, ci_low=-0.486354, ci_high=-0.058009, **ordinal),
        _row(group="Service user", design="overlapping", test="partially_overlapping_t",
             n_wave1=434, n_wave2=258, n_pairs=135, estimate_wave1=42.396313,
             estimate_wave2=56.589147, statistic_name="t", statistic=2.4207, df=18.5,
             p_value=0.02597, p_adjusted=0.9996, effect_measure="mean difference",
             effect_size=0.4567, ci_low=0.0512, ci_high=0.8621, **ordinal),
        # 3 of 100 answered "Yes" in wave 1: 3.0% reveals a count below 10
        _row(group="Carer", design="paired", test="mcnemar", item="exp_knew_contact",
             label="Knew whom to contact", measurement="binary", n_wave1=100, n_wave2=100,
             n_pairs=100, estimate_wave1=3.0, estimate_wave2=40.0, summary_measure="% Yes",
             statistic_name="X-squared", statistic=30.1, df=1.0, p_value=1e-7,
             p_adjusted=1e-6, effect_measure="odds ratio b/c (discordant pairs)",
             effect_size=0.05, ci_low=0.01, ci_high=0.2),
        # 7 pairs only: n and everything derived withheld
        _row(group="Carer", design="paired", test="wilcoxon_signed_rank", n_wave1=7,
             n_wave2=7, n_pairs=7, estimate_wave1=42.857143, estimate_wave2=57.142857,
             statistic_name="V", statistic=4.0, p_value=0.5, p_adjusted=1.0,
             effect_measure="matched-pairs rank-biserial r", effect_size=-0.3,
             ci_low=-0.8, ci_high=0.5, **ordinal),
    ]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def linkage_counts() -> pd.DataFrame:
    """LinkageReport.counts for two groups; wave 1 has 3 duplicate-key rows (small)."""
    rows = {
        "wave-1 respondents": (300, 200, 100),
        "wave-2 respondents": (220, 150, 70),
        "linked": (150, 100, 50),
        "wave-1 only": (127, 85, 42),
        "wave-2 only": (50, 40, 10),
        "duplicate keys wave 1": (3, 3, 0),
        "duplicate keys wave 2": (0, 0, 0),
        "group conflicts wave 1": (0, 0, 0),
        "group conflicts wave 2": (0, 0, 0),
        "missing key wave 1": (20, 12, 8),
        "missing key wave 2": (20, 10, 10),
        "excluded at loading wave 1": (4, np.nan, np.nan),
        "excluded at loading wave 2": (12, np.nan, np.nan),
        "area differs (linked)": (0, 0, 0),
    }
    frame = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["All", "Service user", "Carer"])
    frame.index.name = "category"
    return frame.astype("Int64")


def _categorical(name: str, values: list[Any]) -> pd.Categorical:
    f = CODEBOOK[name]
    return pd.Categorical(values, categories=list(f.labels), ordered=f.ordered)


def make_wave(wave: int, n_su: int, n_carer: int, *, seed: int = 1) -> SurveyWave:
    """A wave with ``n_su`` service users and ``n_carer`` carers, answers drawn at random
    (fixed seed) from each item's levels; a few demographic answers are blank."""
    rng = np.random.default_rng(seed + 100 * wave)
    n = n_su + n_carer
    group = ["Service user"] * n_su + ["Carer"] * n_carer
    columns: dict[str, Any] = {
        "respondent_id": [f"R{wave}-{i:04d}" for i in range(n)],
        "link_key": [f"K{i:04d}" for i in range(n)],
        "wave": np.full(n, wave),
        "group": _categorical("group", group),
        "area": pd.Categorical([f"A{k}" for k in rng.integers(0, 4, n)]),
    }
    for name in ("age_band", "gender", "ethnicity", "exp_listened", "exp_dignity",
                 *(("aware_concordat", "local_change") if wave == 2 else ())):
        labels = list(CODEBOOK[name].labels)
        values: list[Any] = [labels[k] for k in rng.integers(0, len(labels), n)]
        for k in rng.choice(n, size=max(1, n // 20), replace=False):
            values[k] = None
        columns[name] = _categorical(name, values)
    index = pd.Index(range(2, n + 2), dtype="int64")
    data = pd.DataFrame(columns, index=index)
    reasons = pd.DataFrame(
        {c: pd.Series(np.where(data[c].isna(), "not_answered", None), index=index,
                      dtype="string")
         for c in data.columns if CODEBOOK[c].role in ("item", "demographic")},
        index=index,
    )
    return SurveyWave(wave=wave, codebook=CODEBOOK, source=f"wave{wave}.csv",
                      sha256="0" * 64, data=data, missing_reasons=reasons)
