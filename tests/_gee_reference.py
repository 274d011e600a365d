"""The reference fit for change_by_group_model: statsmodels' GEE on one row per answer (test
helper, not a test module).

This is the per-respondent fit the library used before it fitted the model from pattern
counts; the tests compare the two (``tests/test_model.py``) and ``benchmarks/bench_model.py``
times them side by side.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE

from crisis_survey.compare._model import long_data


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
