"""Per-wave summary strings (src/crisis_survey/compare/_summaries.py).

Percentages are written by looking up their tenths in a table of "0.0" ... "100.0" (Python
formats values near a rounding tie); the reference here is Python's own formatting of the
same numbers, row by row, which is what an analyst would write.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey.codebook import default_codebook
from crisis_survey.compare._summaries import _fixed1, summarise, summarise_many

CB = default_codebook()


def _written(values: np.ndarray) -> list[str]:
    positions, strings = _fixed1(values)
    return [strings[i] for i in positions]


def test_one_decimal_matches_python_at_rounding_ties() -> None:
    # k / 20 hits every tie x.x5 (most not exact in binary, some exact: 0.25, 0.75, 12.125
    # is not a one-decimal tie); Python rounds the binary value, half to even when exact.
    values = np.concatenate([np.arange(0, 4001) / 20.0, [0.25, 0.35, 2.675, 1e-9, 99.95]])
    assert _written(values) == [f"{v:.1f}" for v in values.tolist()]


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 10_000)),
                       min_size=1, max_size=50))
def test_one_decimal_matches_python_on_percentages(counts: list[tuple[int, int]]) -> None:
    shares = np.array([100.0 * min(c, n) / n for c, n in counts])
    odd = np.array([-0.05, -1.25, np.nan, 1e300, 100.04])  # formatted by Python itself
    values = np.concatenate([shares, odd])
    got = _written(values)
    assert got[: len(shares)] == [f"{v:.1f}" for v in shares.tolist()]
    assert got[len(shares):len(shares) + 2] == ["-0.1", "-1.2"]
    assert got[-1] == "100.0"


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 400), min_size=5, max_size=5), min_size=1,
                     max_size=30))
def test_ordinal_summaries_equal_row_by_row_formatting(rows: list[list[int]]) -> None:
    f = CB["overall_rating"]
    data = np.array(rows, dtype=np.float64)
    texts, estimates = summarise_many(f, data)
    labels, codes = f.labels, f.codes
    for row, text, estimate in zip(data, texts, estimates.tolist(), strict=True):
        n = int(row.sum())
        if n == 0:
            assert text == "no answers" and np.isnan(estimate)
            continue
        cum = np.cumsum(row)
        a, b, c = (int(np.argmax(cum * 4 >= n * q)) for q in (1, 2, 3))  # R type-1 quartiles
        share = 100.0 * row / n
        top = share[-2:].sum()
        assert text == (f"median {labels[b]} ({codes[b]}); IQR {labels[a]} to {labels[c]} "
                        f"({codes[a]}-{codes[c]}); {top:.1f}% top two; n = {n}")
        assert estimate == top


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), min_size=1,
                     max_size=30))
def test_binary_summaries_equal_row_by_row_formatting(rows: list[tuple[int, int]]) -> None:
    f = CB["exp_knew_contact"]
    data = np.array(rows, dtype=np.float64)
    texts, _ = summarise_many(f, data)
    for (no, yes), text in zip(rows, texts, strict=True):
        n = no + yes
        expected = "no answers" if n == 0 else (
            f"{100.0 * yes / n:.1f}% {f.labels[1]} ({yes} of {n})")
        assert text == expected


def test_single_summary_is_the_first_row_of_many() -> None:
    f = CB["overall_rating"]
    # cumulative counts 1, 3, 6, 10, 20: quartiles at 5, 10, 15 answers -> Fair, Good, Excellent
    text, estimate = summarise(f, np.array([1.0, 2.0, 3.0, 4.0, 10.0]))
    assert text == "median Good (4); IQR Fair to Excellent (3-5); 70.0% top two; n = 20"
    assert estimate == 70.0


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 3000), min_size=3, max_size=3), min_size=1,
                     max_size=30),
       labels=st.sampled_from([None, ["a {b}", "}{", "c"]]))
def test_nominal_summaries_equal_row_by_row_formatting(rows: list[list[int]],
                                                       labels: list[str] | None) -> None:
    # the table of tenths and one str.format a row against one float format a share (the
    # plain reference beside it); labels with braces must come out as written
    from crisis_survey.compare._summaries import _nominal_texts, _nominal_texts_plain

    f = CB["aware_concordat"]
    names = list(f.labels) if labels is None else labels
    data = np.array(rows, dtype=np.float64)[:, : len(names)]
    n = data.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * data / n[:, None]
    empty = n == 0
    assert _nominal_texts(names, share, n, empty) == _nominal_texts_plain(names, share, n, empty)
    if labels is None:
        texts, _ = summarise_many(f, data)
        assert texts == _nominal_texts_plain(names, share, n, empty)
