"""Attrition weights, weighted estimates, tipping points and the generator's selective return."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from crisis_survey import CrisisSurveyError
from crisis_survey.synthetic import generate_study


def _digest(study: object) -> str:
    h = hashlib.sha256()
    for frame in (study.wave1, study.wave2, study.truth):  # type: ignore[attr-defined]
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def test_new_generator_arguments_at_zero_leave_the_study_unchanged() -> None:
    plain = generate_study(n_service_users=120, n_carers=60, seed=5)
    zero = generate_study(n_service_users=120, n_carers=60, seed=5, selective_return=0.0,
                          item_effects={}, area_effect_sd=0.0)
    assert _digest(plain) == _digest(zero)
    assert "selective_return" not in zero.params


def test_selective_return_selects_on_the_wave1_headline_answer() -> None:
    def returned_mean(strength: float) -> float:
        s = generate_study(n_service_users=3000, n_carers=1000, seed=11,
                           selective_return=strength)
        first = s.truth[(s.truth.wave == 1) & (s.truth.kind == "wave 1")]
        back = set(s.truth.loc[s.truth.kind == "returner", "person"])
        w1 = s.wave1.loc[first.index, "overall_rating"].astype("float")
        w1 = w1.where(w1 <= 5)
        ret = first["person"].isin(back).to_numpy()
        return float(w1[ret].mean() - w1[~ret].mean())

    assert returned_mean(1.5) > returned_mean(0.0) + 0.4


def test_item_and_area_effects_move_wave2_only() -> None:
    base = generate_study(n_service_users=2000, n_carers=0, seed=3, return_rate=1.0,
                          n_new_wave2=0)
    moved = generate_study(n_service_users=2000, n_carers=0, seed=3, return_rate=1.0,
                           n_new_wave2=0, item_effects={"exp_dignity": 1.0})
    assert moved.wave1.equals(base.wave1)

    def top(s: object, item: str) -> float:
        v = s.wave2[item].astype("float")  # type: ignore[attr-defined]
        return float(v.where(v <= 5).mean())

    assert top(moved, "exp_dignity") > top(base, "exp_dignity") + 0.5
    assert top(moved, "exp_listened") == top(base, "exp_listened")
    area = generate_study(n_service_users=2000, n_carers=0, seed=3, return_rate=1.0,
                          n_new_wave2=0, area_effect_sd=0.5)
    assert area.wave1.equals(base.wave1) and area.params["area_effect_sd"] == 0.5
    assert not area.wave2["overall_rating"].equals(base.wave2["overall_rating"])


@pytest.mark.parametrize("kwargs", [{"selective_return": -1.0}, {"area_effect_sd": np.nan},
                                    {"item_effects": {"not_an_item": 0.2}},
                                    {"selective_return": True}])
def test_generator_refuses_bad_strengths(kwargs: dict[str, object]) -> None:
    with pytest.raises(CrisisSurveyError, match="generate_study"):
        generate_study(n_service_users=20, n_carers=10, **kwargs)  # type: ignore[arg-type]
