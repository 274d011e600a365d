"""Fast paths of the release against the plain code they replaced (issue 13).

Each test keeps the plain reference beside the fast path and checks that both give the same
result; none of them times anything.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey.link import LinkedStudy, normalise_keys
from crisis_survey.present._disclosure import (
    _NUMBER,
    _identifying_among,
    _sensitive_fields,
    identifying_values,
)
from crisis_survey.present._release import attrition_sources
from crisis_survey.present._tables import _codes, _codes_reference
from crisis_survey.stats._contingency import (
    _conditional_odds_ratio_batch,
    _conditional_odds_ratio_padded,
)
from crisis_survey.stats._exact import (
    _exact_p_values_padded,
    exact_p_values,
    signed_rank_pmfs,
)
from crisis_survey.stats._rank import _doubled_midranks_rows
from crisis_survey.stats._rank_ci import (
    _exact_root,
    _exact_root_block,
    _log_tails,
    _width_blocks,
    signed_rank_tost,
)
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


@pytest.mark.parametrize("upper", [True, False])
def test_exact_tilt_roots_by_support_width_equal_the_padded_reference(upper: bool) -> None:
    """Cells of very different sizes stacked (padded to the widest support), as
    compare_waves stacks the small cells of every area."""
    rng = np.random.default_rng(3)
    k = 4
    n_pairs = rng.integers(1, 49, 120)
    mult = np.stack([rng.multinomial(int(n), np.full(k, 1 / k)) for n in n_pairs])
    r2 = _doubled_midranks_rows(mult, 0)
    pmf, _ = signed_rank_pmfs(r2, mult)
    pos = rng.binomial(mult, 0.6)
    v = (pos * r2).sum(axis=1).astype(float)
    with np.errstate(divide="ignore"):
        logpmf = np.log(pmf)
    t = np.arange(pmf.shape[1], dtype=float)
    fast = _exact_root(logpmf, t, v, 0.025, upper)
    reference = _exact_root_block(logpmf, t, v, 0.025, upper)
    np.testing.assert_allclose(fast, reference, rtol=1e-10, atol=1e-12)


def test_identifying_among_equals_the_intersection_with_every_identifying_value() -> None:
    study = load_sample_study()
    data = study.wave1.data.copy()
    key = study.codebook.link_key.name
    ident = study.codebook.identifier.name
    data.loc[data.index[:5], key] = ["  AB-12 ", "413", "", "\u00a0Zed\u2003", None]
    data.loc[data.index[:2], ident] = [" R-1 ", "12,000"]
    waves = [dataclasses.replace(study.wave1, data=data), study.wave2]
    everything = identifying_values(waves)
    some = sorted(everything)[::7]
    texts = {*some, "AB-12", "ab12", "Zed", "R-1", "413", "12,000", "", "Carer", "Overall",
             "no such text", str(data[ident].iloc[3])}
    found = _identifying_among(waves, texts)
    assert found == texts & everything
    assert {"AB-12", "ab12", "Zed", "R-1"} <= found and "413" not in found


def test_tost_tails_by_support_width_equal_the_padded_reference() -> None:
    rng = np.random.default_rng(4)
    mult = np.stack([rng.multinomial(int(n), np.full(4, 0.25))
                     for n in rng.integers(1, 49, 90)])
    r2 = _doubled_midranks_rows(mult, 0)
    pmf, _ = signed_rank_pmfs(r2, mult)
    v = (rng.binomial(mult, 0.5) * r2).sum(axis=1).astype(float)
    with np.errstate(divide="ignore"):
        logpmf = np.log(pmf)
    t = np.arange(pmf.shape[1], dtype=float)
    lam = rng.normal(0, 0.05, len(v))
    blocked = np.empty((2, len(v)))
    for block, w in _width_blocks(logpmf):
        blocked[:, block] = _log_tails(logpmf[block, :w], t[:w], lam[block], v[block])
    np.testing.assert_allclose(blocked, _log_tails(logpmf, t, lam, v), rtol=1e-12)
    # and the public TOST p-value through the blocks
    p = signed_rank_tost(pmf, r2, mult, v, 0.2)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_exact_p_values_by_support_width_equal_the_padded_reference(alternative: str) -> None:
    rng = np.random.default_rng(5)
    mult = np.stack([rng.multinomial(int(n), np.full(5, 0.2))
                     for n in rng.integers(0, 49, 150)])
    r2 = _doubled_midranks_rows(mult, 0)
    pmf, _ = signed_rank_pmfs(r2, mult)
    v = (rng.binomial(mult, 0.55) * r2).sum(axis=1)
    total = (mult * r2).sum(axis=1)
    np.testing.assert_allclose(exact_p_values(pmf, v, total, alternative),
                               _exact_p_values_padded(pmf, v, total, alternative),
                               rtol=1e-13, atol=1e-300)


def test_conditional_odds_ratios_by_support_width_equal_the_padded_reference() -> None:
    rng = np.random.default_rng(6)
    small = rng.integers(1, 8, (60, 2, 2))
    large = rng.integers(50, 900, (20, 2, 2))
    tables = np.concatenate([small, large])[rng.permutation(80)]
    blocked = _conditional_odds_ratio_batch(tables, 0.95)
    padded = _conditional_odds_ratio_padded(tables, 0.95)
    for got, want in zip(blocked, padded, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("sds", [16.0, 0.01])
def test_conditional_odds_ratios_on_windows_equal_the_whole_support(sds: float) -> None:
    """Big tables (a group at national scale) are solved on a window of their support;
    with a far too narrow window (0.01 SD) the edge check sends them back to the whole
    support, so both give the reference's numbers."""
    from crisis_survey.stats._contingency import _odds_ratio_on_supports

    rng = np.random.default_rng(7)
    big = rng.integers(2_000, 40_000, (12, 2, 2))
    big[:3, 0, 0] = [1, 0, 3]  # near or at an end of the support
    small = rng.integers(0, 30, (12, 2, 2))
    tables = np.concatenate([big, small])[rng.permutation(24)]
    windowed = _conditional_odds_ratio_batch(tables, 0.95, sds=sds)
    whole = _conditional_odds_ratio_padded(tables, 0.95)
    # 1e-10: a table near an end of its support with 60,000 answers (x = 1 or 3) has log
    # weights near 4e4, so every log density is rounded to about 7e-12 wherever theta is,
    # and the equations are defined only to about 1e-11 in theta; two solvers taking
    # other steps agree to that (tables away from the ends to 1e-13)
    for got, want in zip(windowed, whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    if sds < 1:  # the narrow windows fail the check
        lo = np.maximum(0, big[:, 0].sum(axis=1) - big[:, :, 1].sum(axis=1))
        x = big[:, 0, 0]
        held = _odds_ratio_on_supports(big, 0.95, (np.maximum(lo, x - 2), x + 2))[3]
        assert not held[3:].any()


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40),
                          st.integers(0, 40)), min_size=1, max_size=12),
       st.sampled_from([0.95, 0.9, 0.99]))
def test_compiled_conditional_odds_ratios_equal_the_one_table_function(
        cells: list[tuple[int, int, int, int]], level: float) -> None:
    """The compiled batch (distinct tables once, windows end to end, Halley's method) gives
    the one-table brentq function's estimate and exact interval, repeated tables and tables
    at an end of their support (estimate 0 or infinite) included."""
    from crisis_survey.stats._contingency import _conditional_odds_ratio

    tables = np.array(cells + cells[:2], dtype=np.int64).reshape(-1, 2, 2)
    tables = tables[(tables.sum(axis=1) > 0).all(axis=1) & (tables.sum(axis=2) > 0).all(axis=1)]
    if len(tables) == 0:
        return
    got = _conditional_odds_ratio_batch(tables, level)
    for i, table in enumerate(tables):
        want = _conditional_odds_ratio(table, level)
        for g, w in zip((got[0][i], got[1][i], got[2][i]), want, strict=True):
            assert g == pytest.approx(w, rel=1e-9, abs=1e-300) or (g == w)


def test_hypergeometric_log_weights_are_the_bits_of_the_padded_reference() -> None:
    """The log weights stored end to end (from a table of log factorials, or from gammaln
    where the arguments are large) are the padded reference's to the bit."""
    from crisis_survey._jit import kernels, numpy_kernels
    from crisis_survey.stats._contingency import _hypergeometric_log_weights, _lchoose

    rng = np.random.default_rng(8)
    for hi_count in (30, 5_000, 3_000_000):
        t = rng.integers(0, hi_count, (25, 2, 2))
        m_, nn, k = t[:, :, 0].sum(axis=1), t[:, :, 1].sum(axis=1), t[:, 0].sum(axis=1)
        lo, hi = np.maximum(0, k - nn), np.minimum(k, m_)
        slo = np.maximum(lo, t[:, 0, 0] - 40)
        widths = np.minimum(hi, t[:, 0, 0] + 40) - slo + 1
        starts = np.cumsum(widths) - widths
        table = np.repeat(np.arange(25), widths)
        s = slo[table] + (np.arange(table.size) - starts[table])
        sf = s.astype(float)
        want = (_lchoose(m_[table].astype(float), sf)
                + _lchoose(nn[table].astype(float), k[table] - sf))
        for kern in (kernels(), numpy_kernels()):
            got = _hypergeometric_log_weights(m_, nn, k, slo, widths, starts,
                                              kern.nchg_log_weights)
            np.testing.assert_array_equal(got, want)


def test_shared_html_equals_rendering_each_time() -> None:
    from crisis_survey import load_sample_study
    from crisis_survey._memo import memo_run
    from crisis_survey.present._render import _to_html, to_html
    from crisis_survey.present._tables import linkage_table, sample_table

    study = load_sample_study()
    linkage = linkage_table(study).numbered(2)
    other = dataclasses.replace(linkage, title="Another title")  # same data, new object
    plain = [_to_html(t) for t in (linkage, other, sample_table(study))]
    assert plain[0] != plain[1]
    calls: list[object] = []
    import crisis_survey.present._render as render

    def counting(t: object) -> str:
        calls.append(t)
        return _to_html(t)  # type: ignore[arg-type]

    with memo_run(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(render, "_to_html", counting)
        tables = (linkage, other, sample_table(study))
        first = [to_html(t) for t in tables]
        again = [to_html(t) for t in tables]
        assert len(calls) == 3  # each table object made once
    assert first == plain and again == plain
    assert to_html(linkage) == plain[0]  # outside the block: rendered afresh


# -- results shared within one run (crisis_survey._memo) -----------------------------------------
def test_memo_run_gives_the_plain_results_as_copies() -> None:
    """Inside ``memo_run`` the shared values equal the plain calls', each caller gets its own
    copy (changing one leaves the next as computed), and keys tell arguments apart."""
    from crisis_survey._memo import cached, memo_run
    from crisis_survey.link import attrition_table
    from crisis_survey.present._figdata import transition_counts
    from crisis_survey.present._release import _published_attrition, linkage_outputs
    from crisis_survey.present._tables import sample_table

    study = load_sample_study()
    plain_sample = sample_table(study, threshold=10)
    plain_outputs = linkage_outputs(study, threshold=10)
    plain_attrition = attrition_table(study)
    plain_transitions = transition_counts(study, threshold=10)
    with memo_run():
        first = cached(sample_table, study, threshold=10)
        first.values.loc[:, "count"] = -1  # a caller's change must not reach the next
        again = cached(sample_table, study, threshold=10)
        other = cached(sample_table, study, threshold=5)
        outputs = cached(linkage_outputs, study, threshold=10)
        attrition = cached(attrition_table, study)
        transitions = cached(transition_counts, study, None, threshold=10)
        same_key = cached(transition_counts, study, threshold=10)  # defaults filled in
        shared = cached(_published_attrition, study, threshold=10, withhold=frozenset())
    pd.testing.assert_frame_equal(again.values, plain_sample.values)
    pd.testing.assert_frame_equal(again.data, plain_sample.data)
    pd.testing.assert_frame_equal(other.values, sample_table(study, threshold=5).values)
    for name, frame in plain_outputs.items():
        pd.testing.assert_frame_equal(outputs[name], frame)
    pd.testing.assert_frame_equal(shared, plain_outputs["attrition.csv"])
    pd.testing.assert_frame_equal(attrition, plain_attrition)
    pd.testing.assert_frame_equal(transitions, plain_transitions)
    pd.testing.assert_frame_equal(same_key, plain_transitions)


def test_memo_run_computes_once_and_only_inside() -> None:
    from crisis_survey._memo import cached, memo_run

    calls: list[object] = []

    def f(x: object, *, k: int = 1) -> list[object]:
        calls.append(x)
        return [x, k]

    marker = object()
    with memo_run():
        assert cached(f, [1, 2]) == cached(f, [1, 2], k=1) == [[1, 2], 1]
        assert cached(f, (1, 2)) == [(1, 2), 1]  # a tuple is not the list
        cached(f, marker)
        cached(f, marker)  # objects by identity: one call
        with memo_run():  # nested: the outer run's results
            cached(f, [1, 2])
    assert calls == [[1, 2], (1, 2), marker]
    cached(f, [1, 2])
    cached(f, [1, 2])
    assert len(calls) == 5


def test_narrowest_shared_within_a_run_equals_the_plain_lp() -> None:
    """``Source.narrowest`` solves each distinct problem once per run: every row's result
    inside a run (asked twice, as the audit rounds and the report do) equals the plain LP's."""
    from crisis_survey._memo import memo_run
    from crisis_survey.compare import compare_waves
    from crisis_survey.present._release import comparison_sources

    study = load_sample_study()
    sources = list(comparison_sources(study, compare_waves(study)).values())
    asks = [(n_known, (p1, p2), stats) for n_known in (True, False) for p1 in (True, False)
            for p2 in (True, False) for stats in (False, True)]
    plain = [s.narrowest(n, p, 10, stats=st) for s in sources for n, p, st in asks]
    with memo_run():
        first = [s.narrowest(n, p, 10, stats=st) for s in sources for n, p, st in asks]
        again = [s.narrowest(n, p, 10, stats=st) for s in sources for n, p, st in asks]
        other = [s.narrowest(True, (True, True), 5) for s in sources]
    assert first == plain and again == plain
    assert other == [s.narrowest(True, (True, True), 5) for s in sources]
    assert any(np.isfinite(v) for v in plain)


# -- the HTML table's body (present/_render.py _html_rows) ---------------------------------------
def _report_tables() -> list[object]:
    from crisis_survey.compare import compare_waves
    from crisis_survey.present import _tables as T
    from crisis_survey.present._release import comparison_sources

    study = load_sample_study()
    comparison = compare_waves(study)
    sources = comparison_sources(study, comparison)
    return [
        T.sample_table(study).numbered(1), T.linkage_table(study),
        T.change_table(comparison, design="paired", sources=sources).numbered(3),
        T.comparison_table(comparison, sources=sources).numbered(4),
        T.comparison_table(comparison, layout="strata", sources=sources).numbered(5),
        T.comparison_table(comparison, layout="wide", sources=sources).numbered(6),
        T.distribution_table(study, comparison, design="paired", sources=sources).numbered(7),
    ]


def test_html_rows_equal_great_tables_on_the_report_tables() -> None:
    """The body written in one pass gives great_tables' HTML byte for byte: every table of
    the sample study's report (row groups, spanners, stubs, withheld markers, no number)."""
    from crisis_survey.present._render import _to_html, _to_html_reference

    for table in _report_tables():
        assert _to_html(table) == _to_html_reference(table), table  # type: ignore[arg-type]


_TEXT = st.one_of(st.text(alphabet=list("ab -_.:<>&\"'/·é2"), max_size=6),
                  st.sampled_from(["stub 1", "title", "subtitle", "v", "group"]))


@settings(deadline=None, max_examples=150)
@given(rows=st.lists(st.tuples(_TEXT, _TEXT, _TEXT, _TEXT), min_size=1, max_size=12),
       grouped=st.booleans(), spanner=st.booleans(), numbered=st.booleans(),
       names=st.sampled_from([("v", "w"), ("stub-1", "title"), ("a b", "a-b")]))
def test_html_rows_equal_great_tables_on_any_labels(
        rows: list[tuple[str, str, str, str]], grouped: bool, spanner: bool, numbered: bool,
        names: tuple[str, str]) -> None:
    """Ids made from labels that collide (a group called 'title' or 'stub 1', a column
    'stub-1'), empty labels, groups that come back after another, characters to escape."""
    from crisis_survey.present._render import _to_html, _to_html_reference
    from crisis_survey.present._tables import PublicationTable, Spanner

    a, b = names
    data = pd.DataFrame(rows, columns=["g", "item", a, b])
    table = PublicationTable(
        name="t", title="T <&>", data=data if grouped else data.drop(columns="g"),
        stub="item", row_group="g" if grouped else None,
        column_labels={a: "A & <b>", b: ""},
        spanners=(Spanner("Wave 1 (2014)", (a, b)),) if spanner else (),
        notes=("n < 10 & 'x'",))
    if numbered:
        table = table.numbered(2)
    assert _to_html(table) == _to_html_reference(table)


@settings(max_examples=40, deadline=None)
@given(cells=st.lists(st.integers(0, 30), min_size=6, max_size=6),
       zeros=st.booleans(), margins=st.sampled_from([True, "row", "column", False]))
def test_suppression_inside_a_run_is_the_plain_one_computed_once(
        cells: list[int], zeros: bool, margins: Any) -> None:
    # inside memo_run each distinct table is protected once (the key holds _protect's every
    # input); the result equals suppressing outside a run, and a second table differing in
    # one cell is protected afresh
    from unittest import mock

    from crisis_survey._memo import memo_run
    from crisis_survey.present import _disclosure as D

    table = pd.DataFrame(np.asarray(cells).reshape(3, 2), index=["a", "b", "c"],
                         columns=["x", "y"])
    other = table.copy()
    other.iloc[0, 0] += 1
    plain = [D.suppress(t, suppress_zeros=zeros, margins=margins) for t in (table, other)]
    calls = []
    protect = D._protect

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return protect(*args, **kwargs)

    with memo_run(), mock.patch.object(D, "_protect", counted):
        got = [D.suppress(t, suppress_zeros=zeros, margins=margins)
               for t in (table, table, other, table)]
    assert len(calls) == 2
    for g, p in zip(got, [plain[0], plain[0], plain[1], plain[0]], strict=True):
        pd.testing.assert_frame_equal(g.status, p.status)
        pd.testing.assert_frame_equal(g.counts, p.counts)


# -- suppress's total row (crisis_survey.present._disclosure._with_total_row) -----------------
@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 5), seed=st.integers(0, 2**31 - 1),
       names=st.sampled_from(["str", "int", "mixed"]), column_total=st.booleans())
def test_total_row_equals_appending_it_by_loc(rows: int, cols: int, seed: int, names: str,
                                              column_total: bool) -> None:
    from crisis_survey.present._disclosure import _with_total_row, _with_total_row_reference

    rng = np.random.default_rng(seed)
    index: list[Any] = ([f"level {i}" for i in range(rows)] if names == "str" else
                        list(range(rows)) if names == "int" else
                        [i if i % 2 else f"r{i}" for i in range(rows)])
    counts = pd.DataFrame(rng.integers(0, 50, size=(rows, cols)), index=index,
                          columns=[f"c{j}" for j in range(cols)])
    if column_total:  # as suppress() adds it first
        counts["Total"] = counts.sum(axis=1)
    want = _with_total_row_reference(counts, "Total")
    got = _with_total_row(counts, "Total")
    pd.testing.assert_frame_equal(got, want)
    assert list(got.index) == list(want.index) and got.index.dtype == want.index.dtype
    assert (got.dtypes == want.dtypes).all()
    assert counts.shape[0] == rows  # the input is left as it was


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1, 3, 40, 1_000, 60_000]),
       width=st.integers(1, 6))
def test_tost_tilts_by_newton_equal_the_bisected_ones(seed: int, scale: int,
                                                       width: int) -> None:
    """The TOST's tilts (``lambda_of_theta``, Newton's method in the bracket) against the 64
    bisections they replaced (``_lambda_of_theta_bisect``): ``theta(lambda)`` is strictly
    increasing, so both find its one root; they agree to 1e-9 (relative) plus the
    bisection's own resolution (a fixed 7.6e-17 in lambda, coarse where lambda is small:
    large cells), Newton's root never has the larger residual, and the TOST p-values at
    the two agree to 1e-9."""
    from scipy.special import ndtr

    from crisis_survey.stats import _rank_ci as ci

    rng = np.random.default_rng(seed)
    rows = 40
    mult = rng.integers(0, scale + 1, (rows, width)).astype(float)
    mult[rng.random(rows) < 0.1] = 0.0  # rows without a non-zero difference
    s2 = np.cumsum(mult, axis=1) * 2.0 - mult + 1.0
    total = (mult * s2).sum(axis=1)
    theta = rng.uniform(-0.99, 0.99, rows)
    theta[:3] = (0.0, 1e-12, -0.5)
    lam = ci.lambda_of_theta(theta, s2, mult)
    ref = ci._lambda_of_theta_bisect(theta, s2, mult)
    has = total > 0
    th_new, th_ref = ci.tilt_theta(lam, s2, mult), ci.tilt_theta(ref, s2, mult)
    assert np.all(np.abs(th_new[has] - theta[has])
                  <= np.abs(th_ref[has] - theta[has]) + 1e-15)  # no larger a residual
    assert np.all(np.abs(lam[has] - ref[has]) <= 1e-9 * np.abs(ref[has]) + 1e-16)
    # the asymptotic TOST p-value at the bisected tilts (the code before), and now; where
    # the bisection's resolution moves that p-value (large cells), by at most that much
    margin = np.abs(theta[3:])
    v2 = np.floor(rng.uniform(0.0, 1.0, rows - 3) * (total[3:] + 1.0))
    s, m = s2[3:], mult[3:]
    lam1 = ci._lambda_of_theta_bisect(-margin, s, m)
    lam2 = ci._lambda_of_theta_bisect(margin, s, m)

    def p_at(l1: Any, l2: Any) -> Any:
        mu1, sd1 = ci._moments(l1, s, m)
        mu2, sd2 = ci._moments(l2, s, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.maximum(ndtr(-(v2 - 1.0 - mu1) / sd1), ndtr((v2 + 1.0 - mu2) / sd2))

    ok = has[3:] & (margin > 0)
    want = np.where(ok, np.minimum(1.0, p_at(lam1, lam2)), np.nan)
    step = 1e-16  # above half the bisection's resolution, 1400 / 2**64 / 2
    spread = np.max([np.abs(np.minimum(1.0, p_at(lam1 + a * step, lam2 + b * step)) - want)
                     for a in (-1, 1) for b in (-1, 1)], axis=0)
    got = signed_rank_tost(None, s, m, v2, margin)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fine = ~np.isnan(want)
    assert np.all(np.abs(got[fine] - want[fine])
                  <= 1e-9 * np.abs(want[fine]) + 1e-12 + spread[fine])


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 30), width=st.integers(1, 6))
def test_tilted_moments_from_weights_computed_once_are_the_same_bits(
        seed: int, rows: int, width: int) -> None:
    """The asymptotic interval's bisection passes ``(m * s, m * s * s)`` to ``_moments``
    once instead of forming them at every step: the same bits as forming them."""
    from crisis_survey.stats import _rank_ci as ci

    rng = np.random.default_rng(seed)
    m = rng.integers(0, 5_000, (rows, width)).astype(float)
    s = np.cumsum(m, axis=1) * 2.0 - m + 1.0
    lam = rng.normal(0.0, 1e-3, rows) * rng.choice([1e-3, 1.0, 1e3], rows)
    plain = ci._moments(lam, s, m)
    once = ci._moments(lam, s, m, (m * s, m * s * s))
    for a, b in zip(plain, once, strict=True):
        assert a.tobytes() == b.tobytes()


def test_attrition_inside_a_run_is_the_plain_one_its_counts_protected_once() -> None:
    # the give-back trials build attrition.csv for many banded sets: inside memo_run the
    # protection of its counts (_attrition_counts) is computed once per table, withheld
    # answered rows and domains, whatever is banded; each result equals the plain call
    from unittest import mock

    from crisis_survey._memo import memo_run
    from crisis_survey.link import attrition_table
    from crisis_survey.present import _release as RL

    study = load_sample_study()
    table = attrition_table(study)
    variables = list(pd.unique(table["variable"]))
    sources = attrition_sources(study, variables)
    first = RL.publishable_attrition(table, threshold=10, sources=sources)
    rows = [(str(g), str(v)) for g, v, p in zip(first["group"], first["variable"],
                                                 first["p_value"], strict=True)
            if g != "All" and isinstance(p, float) and p == p]  # a statistic to band
    calls = [([], []), (rows[:2], []), (rows[1:4], []), ([], [rows[0]]), (rows[:2], [])]
    plain = [RL.publishable_attrition(table, threshold=10, sources=sources, banded=b,
                                      domains=d) for b, d in calls]
    assert not plain[0].equals(plain[1]) and not plain[0].equals(plain[3])
    counted = []
    counts = RL._attrition_counts

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return counts(*args, **kwargs)

    with memo_run(), mock.patch.object(RL, "_attrition_counts", counting):
        got = [RL.publishable_attrition(table.copy(), threshold=10, sources=sources,
                                        banded=b, domains=d) for b, d in calls]
    assert len(counted) == 2  # no domains, one domain
    for g, p in zip(got, plain, strict=True):
        pd.testing.assert_frame_equal(g, p)


@settings(max_examples=25, deadline=None)
@given(picks=st.sets(st.tuples(st.integers(0, 1), st.integers(0, 7)), max_size=6),
       shared=st.booleans(), threshold=st.sampled_from([5, 10]))
def test_transition_counts_with_hidden_panels_equal_the_plain_computation(
        picks: set[tuple[int, int]], shared: bool, threshold: int) -> None:
    # the hidden panels blanked on the shared unhidden counts (inside a run or not) equal
    # the plain panel-by-panel computation that blanks them as it protects them
    import contextlib

    from crisis_survey._memo import memo_run
    from crisis_survey.present._figdata import _transition_counts_plain, transition_counts

    study = _sample()
    items = [f.name for f in study.codebook.items(measurement="ordinal")
             if f.waves == (1, 2)]
    groups = list(study.codebook.group.labels)
    hidden = frozenset((groups[g], items[i % len(items)]) for g, i in picks)
    want = _transition_counts_plain(study, threshold=threshold, hidden=hidden)
    with memo_run() if shared else contextlib.nullcontext():
        transition_counts(study, threshold=threshold)  # the shared counts, first
        got = transition_counts(study, threshold=threshold, hidden=hidden)
    pd.testing.assert_frame_equal(got, want)
    assert int(got["withheld"].sum()) >= 25 * len(hidden)


@functools.lru_cache(maxsize=1)
def _sample() -> LinkedStudy:
    return load_sample_study()


def test_published_inside_a_run_equals_each_build_outside_one() -> None:
    # protect_release builds the release for a sequence of withheld sets inside one run,
    # sharing the comparison sources' counting and each design's comparison values by the
    # flags of its sources: every build equals the plain one for its withheld set alone
    from crisis_survey._memo import memo_run
    from crisis_survey.compare import compare_waves
    from crisis_survey.present._release import Published

    study = _sample()
    comparison = compare_waves(study)
    sets = [frozenset(),
            frozenset({("comparison", "independent", "Carer", "exp_listened"),
                       ("attrition", "All", "exp_dignity")}),
            frozenset({("comparison", "paired", "Service user", "exp_dignity"),
                       ("domain", "Carer", "exp_understood", "independent")}),
            frozenset({("comparison", "independent", "Carer", "exp_listened"),
                       ("domain", "Service user", "exp_dignity", "transitions"),
                       ("domain", "Carer", "exp_listened", "distribution")}),
            frozenset()]
    plain = [Published.build(study, comparison, withhold=w) for w in sets]
    assert not plain[0].comparison["paired"].equals(plain[2].comparison["paired"])
    assert not plain[0].comparison["independent"].equals(
        plain[1].comparison["independent"])
    with memo_run():
        shared, previous = [], None
        for w in sets:
            previous = Published.build(study, comparison, withhold=w, previous=previous)
            shared.append(previous)
    for got, want in zip(shared, plain, strict=True):
        assert got.comparison.keys() == want.comparison.keys()
        for d in want.comparison:
            pd.testing.assert_frame_equal(got.comparison[d], want.comparison[d])
        assert got.sources.keys() == want.sources.keys()
        for key, src in want.sources.items():
            mine = got.sources[key]
            assert (mine.withheld, mine.hidden, mine.levels_hidden) == \
                (src.withheld, src.hidden, src.levels_hidden)
            np.testing.assert_array_equal(mine.cells, src.cells)
        pd.testing.assert_frame_equal(got.attrition, want.attrition)
        pd.testing.assert_frame_equal(got.transitions, want.transitions)
