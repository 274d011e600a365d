"""The release audit's product path (sparse blocks, local programmes first:
``present/_audit_local.py``) against the reference (one dense programme per block)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from crisis_survey.compare import compare_waves
from crisis_survey.present._audit import audit_release
from crisis_survey.present._disclosure import default_protection
from crisis_survey.present._release import Published
from test_disclosure_attacks import THRESHOLD, _study

DESIGNS = ("paired", "independent", "overlapping")
CASES = [("sample", ("group",), None),
         ("generated1", ("group",), None),
         ("generated2", ("group", "area"), ("overall_rating", "exp_dignity", "svc_ae"))]


@cache
def _audits(name: str, by: tuple[str, ...], items: tuple[str, ...] | None) -> Any:
    study = _study(name)
    kw: dict[str, Any] = {"by": by, "designs": DESIGNS}
    if items is not None:
        kw["items"] = list(items)
    comparison = compare_waves(study, **kw)
    published = Published.build(study, comparison, threshold=THRESHOLD, designs=DESIGNS)
    run = {m: audit_release(study, comparison, threshold=THRESHOLD, designs=DESIGNS,
                            published=published, method=m) for m in ("local", "reference")}
    return study, comparison, published, run


@pytest.mark.parametrize(("name", "by", "items"), CASES)
def test_local_audit_finds_what_the_reference_finds(
        name: str, by: tuple[str, ...], items: tuple[str, ...] | None) -> None:
    _, _, _, run = _audits(name, by, items)
    local, ref = run["local"], run["reference"]
    need = default_protection(THRESHOLD)
    assert list(local["fact"]) == list(ref["fact"]) and len(ref) > 50
    assert (local["value"] == ref["value"]).all()
    # the same counts narrowed, with the same bounds
    assert (local["narrowed"] == ref["narrowed"]).all()
    cut = ref["narrowed"].to_numpy()
    assert np.allclose(local.loc[cut, ["lower", "upper"]], ref.loc[cut, ["lower", "upper"]])
    assert list(local.loc[cut, "fix"]) == list(ref.loc[cut, "fix"])
    # the same fewest values left, where it is below the protection
    assert min(local["values"].min(), need) == min(ref["values"].min(), need)
    assert local.attrs["unproven"] == 0
    assert local.attrs["withheld"].equals(ref.attrs["withheld"])


def test_local_audit_without_the_reference_errs_on_the_safe_side() -> None:
    # when the reference would be too large, counts not proven safe locally are
    # reported narrowed: every count the reference narrows is among them
    from crisis_survey.present import _audit_local

    study, comparison, published, run = _audits(*CASES[2])
    ref = run["reference"]
    orig = _audit_local.EXACT_BUDGET
    try:
        _audit_local.EXACT_BUDGET = 0
        alone = audit_release(study, comparison, threshold=THRESHOLD, designs=DESIGNS,
                              published=published, method="local")
    finally:
        _audit_local.EXACT_BUDGET = orig
    assert alone.attrs["unproven"] > 0
    assert (alone["narrowed"] | ~ref["narrowed"]).all()
    # the bounds it reports are values at points it found: never wider than the truth's
    cut = ref["narrowed"].to_numpy()
    assert (alone.loc[cut, "lower"] >= ref.loc[cut, "lower"] - 1e-6).all()
    assert (alone.loc[cut, "upper"] <= ref.loc[cut, "upper"] + 1e-6).all()


def test_audit_method_is_checked() -> None:
    study, comparison, published, _ = _audits(*CASES[0])
    with pytest.raises(ValueError, match="method"):
        audit_release(study, comparison, threshold=THRESHOLD, published=published,
                      method="dense")
