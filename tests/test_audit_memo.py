"""The release audit's memo of solved blocks against the plain path (issue 13: the demo).

``protect_release`` audits a release again and again (rounds of secondary suppression,
give-back trials) with most blocks unchanged; inside its run each block's programmes
(:func:`crisis_survey.present._audit._block_strata` / ``_block_bounds``) are solved once per
distinct content. The plain path solves every block of every audit. Both must give the same
audit (bounds, ``narrowed``, ``fix``), the same statistics withheld and the same release.
Nothing here is timed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey.compare import compare_waves
from crisis_survey.present import _audit

THRESHOLD = 10


def _protect(study: Any, comparison: Any, *, memo: bool) -> tuple[Any, list[Any], int]:
    """``protect_release`` with the memo on or off (plain: every programme solved), every
    audit it ran, and how many programmes the audit solved."""
    from crisis_survey.present import _release

    calls = 0
    audits: list[Any] = []
    solver, audit = _audit._warm_bounds, _release.audit_release

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return solver(*args, **kwargs)

    def recording(*args: Any, **kwargs: Any) -> Any:
        audits.append(audit(*args, **kwargs))
        return audits[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_audit, "_warm_bounds", counting)
        mp.setattr(_release, "audit_release", recording)
        if not memo:
            mp.setattr(_audit, "remembered", lambda key, compute: compute())
            mp.setattr(_release, "remembered", lambda key, compute, keep=None: compute())
        guard = _release.protect_release(study, comparison, threshold=THRESHOLD)
    return guard, audits, calls


@pytest.mark.parametrize("name", ["sample", "generated1"])
def test_remembered_blocks_give_the_plain_release(name: str) -> None:
    from test_disclosure_attacks import _study

    study = _study(name)
    comparison = compare_waves(study)
    plain, plain_audits, plain_calls = _protect(study, comparison, memo=False)
    fast, fast_audits, fast_calls = _protect(study, comparison, memo=True)
    # several audits, and the memo spared most of their programmes
    assert len(plain_audits) > 2 and plain.rounds > 1
    assert fast_calls < plain_calls / 2
    # every audit the same, row for row: bounds, narrowed, the fix of each narrowed count
    # (the fixes decide what the next round withholds)
    assert len(fast_audits) == len(plain_audits)
    fixes = 0
    for got, want in zip(fast_audits, plain_audits, strict=True):
        pd.testing.assert_frame_equal(got, want)
        assert got.attrs["withheld"].equals(want.attrs["withheld"])
        fixes += int(want["fix"].notna().sum())
    assert fixes > 0
    # the same statistics withheld, the same release
    assert fast.withhold == plain.withhold and fast.rounds == plain.rounds
    assert fast.clean == plain.clean
    pd.testing.assert_frame_equal(fast.audit, plain.audit)
    pd.testing.assert_frame_equal(fast.summary(), plain.summary())
    for csv, frame in plain.published.csvs().items():
        pd.testing.assert_frame_equal(fast.published.csvs()[csv], frame, obj=csv)
    # the rounds found narrowed counts and acted on them (statistics, or domains withheld)
    assert sum(int(a["narrowed"].sum()) for a in plain_audits) > 0


def _spec(rng: np.random.Generator, n: int) -> dict[str, Any]:
    a = (rng.random((3, n)) < 0.5).astype(float)
    x = rng.integers(0, 6, size=n).astype(float)
    x[0] = max(x[0], 1.0)  # the true counts are a feasible point (x[0] >= 1 below)
    return {"a_eq": a, "b_eq": a @ x, "a_ub": -np.eye(n)[:1], "b_ub": -np.ones(1),
            "lower": 0.0, "upper": float(x.sum()), "x0": x,
            "objectives": np.eye(n)[: max(1, n // 2)]}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 7),
       field=st.sampled_from(["a_eq", "b_eq", "a_ub", "b_ub", "upper", "x0", "objectives"]))
def test_spec_key_tells_every_entry_apart(seed: int, n: int, field: str) -> None:
    rng = np.random.default_rng(seed)
    spec = _spec(rng, n)
    key = _audit._spec_key(spec)
    # the same content as booleans or a copy: the same programme
    assert _audit._spec_key({**spec, "a_eq": spec["a_eq"].astype(bool)}) == key
    assert _audit._spec_key({k: np.copy(v) for k, v in spec.items()}) == key
    changed = dict(spec)
    value = np.array(spec[field], dtype=float, copy=True)
    value.flat[0] += 1.0
    changed[field] = value if np.ndim(spec[field]) else float(value)
    assert _audit._spec_key(changed) != key
    # one row more (its shape) is another programme too, even with the same bytes prefix
    if np.ndim(spec[field]) == 2:
        assert _audit._spec_key({**spec, field: spec[field][:-1]}) != key


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 6))
def test_block_bounds_inside_a_run_are_the_plain_ones(seed: int, n: int) -> None:
    from crisis_survey._memo import memo_run

    rng = np.random.default_rng(seed)
    specs = [_spec(rng, n) for _ in range(3)]
    plain = [_audit._block_bounds(s, 5) for s in specs]
    with memo_run():
        first = [_audit._block_bounds(s, 5) for s in specs]
        first[0][0][:] = -99.0  # a caller's change must not reach the next
        again = [_audit._block_bounds({k: np.copy(v) for k, v in s.items()}, 5)
                 for s in specs]
        other = _audit._block_bounds(specs[0], 2)  # another need: solved for it
    for (lo, hi), (p_lo, p_hi) in zip(again, plain, strict=True):
        np.testing.assert_array_equal(lo, p_lo)
        np.testing.assert_array_equal(hi, p_hi)
    np.testing.assert_array_equal(other[0], _audit._block_bounds(specs[0], 2)[0])


# -- each block's programme re-solved from its last basis (_warm_bounds) -----------------------
def _check_warm(spec: dict[str, Any], enough: float | None) -> int:
    """_warm_bounds against lp_stack's exact bounds of every objective (no screening):
    the same counts short of ``enough`` whole numbers, their bounds the exact ones, every
    other interval inside the exact one. Returns how many were short."""
    from crisis_survey.present._disclosure import _width

    lo, hi = _audit._warm_bounds(spec, enough)
    e_lo, e_hi = _audit._stacked_bounds(spec, None)
    assert lo.shape == e_lo.shape and hi.shape == e_hi.shape
    assert (lo >= e_lo - 1e-7).all() and (hi <= e_hi + 1e-7).all()
    if enough is None:
        np.testing.assert_allclose(lo, e_lo, atol=1e-7)
        np.testing.assert_allclose(hi, e_hi, atol=1e-7)
        return 0
    short = np.array([_width(a, b) < enough for a, b in zip(lo, hi, strict=True)], bool)
    e_short = np.array([_width(a, b) < enough for a, b in zip(e_lo, e_hi, strict=True)], bool)
    np.testing.assert_array_equal(short, e_short)
    np.testing.assert_allclose(lo[short], e_lo[short], atol=1e-7)
    np.testing.assert_allclose(hi[short], e_hi[short], atol=1e-7)
    return int(short.sum())


def test_warm_bounds_of_the_samples_blocks_are_the_exact_ones() -> None:
    from crisis_survey import load_sample_study
    from crisis_survey.present._release import Published

    study = load_sample_study()
    comparison = compare_waves(study)
    seen: list[tuple[dict[str, Any], float | None]] = []
    solver = _audit._warm_bounds

    def recording(spec: dict[str, Any], enough: float | None) -> Any:
        seen.append((spec, enough))
        return solver(spec, enough)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_audit, "_warm_bounds", recording)
        published = Published.build(study, comparison, threshold=THRESHOLD)
        _audit.audit_release(study, comparison, threshold=THRESHOLD, published=published)
    assert any(e is None for _, e in seen) and any(e is not None for _, e in seen)
    # the first round's release narrows counts: some are short, solved exactly
    assert sum(_check_warm(spec, enough) for spec, enough in seen) > 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 9),
       enough=st.sampled_from([None, 2.0, 5.0]))
def test_warm_bounds_of_random_programmes_are_the_exact_ones(seed: int, n: int,
                                                             enough: float | None) -> None:
    _check_warm(_spec(np.random.default_rng(seed), n), enough)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(0, 40), cols=st.integers(1, 30),
       density=st.sampled_from([0.05, 0.3, 0.7]), repeat=st.integers(0, 10),
       kind=st.sampled_from(["float", "bool", "other"]))
def test_unique_rows_is_numpys(seed: int, rows: int, cols: int, density: float, repeat: int,
                               kind: str) -> None:
    rng = np.random.default_rng(seed)
    a = (rng.random((rows, cols)) < density).astype(float)
    if rows and repeat:  # duplicated rows, some far from their first
        a = np.vstack([a, a[rng.integers(0, rows, size=repeat)]])
    if kind == "bool":
        a = a.astype(bool)
    elif kind == "other" and a.size:
        a.flat[0] = 2.0  # not 0/1: numpy's own
    got_rows, got_first = _audit._unique_rows(a)
    want_rows, want_first = _audit._unique_rows_reference(a)
    np.testing.assert_array_equal(got_first, want_first)
    np.testing.assert_array_equal(got_rows, want_rows)
    assert got_rows.dtype == want_rows.dtype and got_rows.shape == want_rows.shape


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(0, 300), cols=st.integers(1, 9),
       spread=st.sampled_from([2, 5, 400, 2**40]))
def test_unique_table_is_numpys(seed: int, rows: int, cols: int, spread: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.integers(-2, spread, size=(rows, cols), dtype=np.int64)
    got_rows, got_inverse = _audit._unique_table(table)
    want_rows, want_inverse = _audit._unique_table_reference(table)
    np.testing.assert_array_equal(got_rows, want_rows)
    np.testing.assert_array_equal(got_inverse, want_inverse)
    assert got_inverse.dtype == want_inverse.dtype and got_rows.dtype == want_rows.dtype
    if rows:  # every row is its stratum
        np.testing.assert_array_equal(got_rows[got_inverse], table)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 200), seed=st.integers(0, 2**31 - 1), k=st.integers(0, 50),
       outside=st.booleans())
def test_rows_not_in_is_setdiff1d(n: int, seed: int, k: int, outside: bool) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, max(n, 1), size=min(k, n)) if n else np.zeros(0, np.int64)
    if outside:
        rows = np.concatenate([rows, [n + 3]])
    want = np.setdiff1d(np.arange(n), rows)
    got = _audit._rows_not_in(n, rows)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_attrition_csv_inside_a_run_is_the_plain_one_per_withheld_set() -> None:
    """attrition.csv is remembered by what it reads of the withheld set (the attrition rows'
    statistics, the domains withheld from it): the same frame as the plain computation for
    every set, computed once per distinct part."""
    from crisis_survey import load_sample_study
    from crisis_survey._memo import memo_run
    from crisis_survey.link import attrition_table
    from crisis_survey.present import _release
    from crisis_survey.present._tables import sample_table

    study = load_sample_study()
    raw = attrition_table(study)
    sample = sample_table(study, threshold=THRESHOLD).values
    att = ("attrition", "All", "overall_rating")
    sets = [frozenset(), frozenset({("comparison", "paired", "Carer", "exp_listened")}),
            frozenset({att}), frozenset({att, ("comparison", "paired", "All", "x")}),
            frozenset({("domain", "Carer", "gender", "attrition")}),
            frozenset({("domain", "Carer", "gender", "table1")})]
    plain = [_release._attrition_csv_plain(study, raw, sample, threshold=THRESHOLD,
                                           withhold=w) for w in sets]
    assert not plain[0].equals(plain[2]) and not plain[0].equals(plain[4])
    calls = 0
    compute = _release._attrition_csv_plain

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return compute(*args, **kwargs)

    with memo_run(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(_release, "_attrition_csv_plain", counting)
        got = [_release._attrition_csv(study, raw, sample, threshold=THRESHOLD, withhold=w)
               for w in sets]
        got[0].iloc[0, 0] = "changed"  # a caller's change must not reach the next
        again = _release._attrition_csv(study, raw, sample, threshold=THRESHOLD,
                                        withhold=sets[0])
        # another Table 1 (its content, not its object) is another attrition.csv
        other = sample.copy()
        other.loc[other.index[other["count"].notna()][0], "count"] = np.nan
        _release._attrition_csv(study, raw, other, threshold=THRESHOLD, withhold=sets[0])
    assert calls == 4  # {}, {att}, {Carer gender domain}, and the other Table 1
    for g, p in zip(got[1:], plain[1:], strict=True):
        pd.testing.assert_frame_equal(g, p)
    pd.testing.assert_frame_equal(again, plain[0])
