"""Fast paths of the release against the plain code they replaced (issue 13).

Each test keeps the plain reference beside the fast path and checks that both give the same
result; none of them times anything.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisis_survey.link import LinkedStudy, normalise_keys
from crisis_survey.present._disclosure import (
    _NUMBER,
    _sensitive_fields,
    identifying_values,
)
from crisis_survey.present._release import attrition_sources
from crisis_survey.present._tables import _codes, _codes_reference
from crisis_survey.synthetic import load_sample_study


def _identifying_values_reference(waves: list) -> set[str]:  # type: ignore[type-arg]
    """The per-value loop ``identifying_values`` used before (one ``str`` per value)."""
    values: set[str] = set()
    vocabulary: set[str] = set()
    for wave in waves:
        cb = wave.codebook
        for name in _sensitive_fields(cb) & set(wave.data.columns):
            column = wave.data[name].dropna()
            values |= {str(v).strip() for v in column.unique()}
            if name == cb.link_key.name:
                values |= set(normalise_keys(column.astype(str)).dropna().unique())
        for f in cb.fields:
            vocabulary |= {f.name, f.label, *f.labels}
    return {v for v in values - vocabulary if v and not _NUMBER.fullmatch(v)}


def test_identifying_values_equal_the_per_value_reference() -> None:
    study = load_sample_study()
    w1 = study.wave1
    data = w1.data.copy()
    key = study.codebook.link_key.name
    ident = study.codebook.identifier.name
    # awkward values: padding, numbers, an empty string, "nan", a key that normalises
    data.loc[data.index[:6], key] = ["  AB-12 ", "413", "", "nan", "x\u00a0", None]
    data.loc[data.index[:2], ident] = [" R-1 ", "12,000"]
    wave = dataclasses.replace(w1, data=data)
    waves = [wave, study.wave2]
    assert identifying_values(waves) == _identifying_values_reference(waves)
    assert {"AB-12", "ab12", "R-1"} <= identifying_values(waves)


@pytest.mark.filterwarnings("ignore:Constructing a Categorical")
@given(values=st.lists(st.sampled_from(["a", "b", "c", "zz", None]), max_size=40),
       labels=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
       categories=st.permutations(["zz", "c", "a", "b", "q"]))
def test_table_codes_of_a_categorical_equal_the_reference(values: list[str | None],
                                                          labels: list[str],
                                                          categories: list[str]) -> None:
    series = pd.Series(pd.Categorical(values, categories=categories))
    fast = _codes(series, labels)
    np.testing.assert_array_equal(fast, _codes_reference(series, labels))
    np.testing.assert_array_equal(_codes(series.astype(object), labels), fast)


def _attrition_sources_reference(study: LinkedStudy, variables: list[str]
                                 ) -> dict[tuple[str, str], np.ndarray]:
    """``attrition_sources`` as one masked bincount per group and variable (the plain
    reference of its single count per variable)."""
    from crisis_survey.compare._study import make_layout

    cb = study.codebook
    linked = make_layout(study, (cb.group.name,)).linked[0].astype(np.int64)
    data = study.wave1.data
    groups = list(cb.group.labels)
    g = _codes_reference(data[cb.group.name], groups)
    out = {}
    for name in variables:
        if name not in cb.names or not cb[name].levels or name not in data.columns:
            continue
        labels = cb[name].labels
        lv = _codes_reference(data[name], labels)
        k = len(labels)
        for gi, group in [(-1, "All"), *enumerate(groups)]:
            sel = (lv >= 0) & ((g == gi) if gi >= 0 else (g >= 0))
            out[(group, name)] = np.bincount(linked[sel] * k + lv[sel], minlength=2 * k)
    return out


def test_attrition_sources_equal_the_per_group_reference() -> None:
    study = load_sample_study()
    names = [f.name for f in study.codebook.fields if f.levels][:12]
    fast = attrition_sources(study, names)
    ref = _attrition_sources_reference(study, names)
    assert fast.keys() == ref.keys() and len(ref) > 10
    for key, counts in ref.items():
        np.testing.assert_array_equal(fast[key], counts)
