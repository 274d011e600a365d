"""The reference fit for change_by_group_model: statsmodels' GEE on one row per answer (test
helper, not a test module).

This is the per-respondent fit the library used before it fitted the model from pattern
counts (the long data, one row per answer with a cluster label per respondent, built with
per-row Python as the library did, and statsmodels' OrdinalGEE / GEE); the tests compare the
two (``tests/test_model.py``) and ``benchmarks/bench_model.py``
times them side by side.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE

from crisis_survey._errors import CrisisSurveyError
from crisis_survey.compare._model import _item_field
from crisis_survey.compare._study import item_values, make_layout


def long_data(study: Any, item: str) -> pd.DataFrame:
    """Every answer to ``item`` in either wave, one row each (what statsmodels fits).

    Columns: ``cluster`` (``"L:<link key>"`` for linked respondents, ``"W<wave>:<row>"``
    otherwise), ``wave`` (0 = wave 1, 1 = wave 2), ``group`` (0 = first group of the codebook,
    1 = second; linked respondents keep their analysis group in both waves), ``y`` (level
    position 0..k-1, or the number for numeric items), ``score`` (codebook code).
    """
    cb = study.codebook
    f = _item_field(study, item)
    layout = make_layout(study, (study.codebook.group.name,))
    labels = list(cb.group.labels) if cb.group.levels else list(layout.cells)
    if len(layout.cells) != 2:
        raise CrisisSurveyError(
            f"the change-by-group model needs exactly two respondent groups; found "
            f"{list(layout.cells)}"
        )
    group_index = {lab: labels.index(lab) for lab in layout.cells}
    recode = np.array([group_index[c] for c in layout.cells])
    keys = np.asarray(study.pairs.index.astype(str))
    frames = []
    for i, w in enumerate(layout.waves):
        values, _ = item_values(w, f)
        v = np.asarray(values, dtype=np.float64)
        if f.levels:
            v[v < 0] = np.nan
        cluster = np.array([f"W{w.wave}:{r}" for r in w.data.index], dtype=object)
        cell = layout.by_wave[i].copy()
        pos = layout.pair_pos[i]
        cluster[pos] = np.char.add("L:", keys.astype(str)).astype(object)
        cell[pos] = layout.by_pair
        ok = ~np.isnan(v) & (cell >= 0)
        frames.append(pd.DataFrame({
            "cluster": cluster[ok], "wave": np.full(int(ok.sum()), i, dtype=np.int64),
            "group": recode[cell[ok]].astype(np.int64), "y": v[ok],
        }))
    out = pd.concat(frames, ignore_index=True)
    if f.levels:
        scores = np.asarray(f.codes, dtype=np.float64)
        out["score"] = scores[out["y"].to_numpy(dtype=np.int64)]
    else:
        out["score"] = out["y"]
    return out.sort_values(["cluster", "wave"], kind="stable").reset_index(drop=True)


def statsmodels_fit(study: Any, item: str, *, method: str = "ordinal-gee",
                    cov_struct: str = "independence",
                    data: pd.DataFrame | None = None) -> dict[str, Any]:
    """statsmodels' fit of the model: ``params``, robust ``cov``, ``bse`` and ``alpha``."""
    data = long_data(study, item) if data is None else data
    wave = data["wave"].to_numpy(dtype=np.float64)
    group = data["group"].to_numpy(dtype=np.float64)
    exog = np.column_stack([wave, group, wave * group])
    clusters = pd.factorize(data["cluster"])[0]
    cs = sm.cov_struct.Independence() if cov_struct == "independence" else (
        sm.cov_struct.Exchangeable()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ordinal-gee":
            model = OrdinalGEE(data["y"].to_numpy(dtype=np.float64), exog, groups=clusters,
                               cov_struct=cs)
        else:
            model = sm.GEE(data["score"].to_numpy(dtype=np.float64), sm.add_constant(exog),
                           groups=clusters, family=sm.families.Gaussian(), cov_struct=cs)
        fit = model.fit(maxiter=200, ctol=1e-10)
    cov = np.asarray(fit.cov_robust, dtype=np.float64)
    return {"params": np.asarray(fit.params, dtype=np.float64), "cov": cov,
            "bse": np.sqrt(np.diag(cov)),
            "alpha": float(np.asarray(model.cov_struct.dep_params))
            if cov_struct == "exchangeable" else 0.0}
