"""The numpy twins of the compiled kernels (src/crisis_survey/_jit.py ``numpy_kernels``): the
same integers, the same bits (tests/test_lazy.py: the sample is compared without numba)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey import _jit


def _both() -> tuple[_jit.Kernels, _jit.Kernels]:
    return _jit.kernels(), _jit.numpy_kernels()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), levels=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       first=st.booleans(), excluded=st.booleans())
def test_numpy_kernels_give_the_compiled_kernels_integers(n: int, levels: int, seed: int,
                                                          first: bool, excluded: bool) -> None:
    compiled, plain = _both()
    rng = np.random.default_rng(seed)
    radix = levels + 2
    codes = rng.integers(-1, levels, n).astype(np.int8)
    reasons = np.where(codes < 0, rng.integers(-1, 4, n), -1).astype(np.int8)
    start = rng.integers(0, 3, n).astype(np.uint16)  # a pack's digit so far
    pos1, pos2 = rng.permutation(n), rng.permutation(n)
    base = rng.integers(0, 5, n).astype(np.uint16)
    more = rng.integers(-1, 3, n).astype(np.int8)
    out = []
    for k in (compiled, plain):
        pdigit = start.astype(np.uint8)  # a pair pack's row key so far
        digit = start.copy()
        k.wave_digit(pdigit, digit, codes, reasons, np.int8(1), np.int8(2),
                     np.uint8(radix - 1 if excluded else 0), radix, first, not first)
        pairs = np.zeros(5 * radix * radix * 3 - 7, np.int32)  # some keys fall outside
        outside_pairs = k.pair_count(base, radix * radix, pdigit, pdigit, pos1, pos2, radix,
                                     pairs)
        counts = np.zeros(5 * radix - 3, np.int32)  # some keys fall outside
        outside = k.count(base, radix, digit.astype(np.uint16), counts)
        acc = np.empty(n, np.int32)
        k.by_cells(acc, codes, levels, True)
        k.by_cells(acc, more, 3, first)
        cell_counts = np.zeros(levels * 3 + 1, np.int64)
        k.spare_cells(acc, levels * 3, cell_counts)
        keys = np.empty(n, np.uint16)
        k.row_keys(keys, acc, np.arange(n) % 2 == 0)
        out.append((pdigit, digit, pairs, outside_pairs, counts, outside, acc,
                    cell_counts, keys))
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 5), factors=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_numpy_signed_rank_kernel_gives_the_compiled_kernels_bits(rows: int, factors: int,
                                                                  seed: int) -> None:
    from crisis_survey.stats import _exact

    rng = np.random.default_rng(seed)
    scores2 = rng.integers(1, 12, (rows, factors)).astype(np.int64)
    mult = rng.integers(0, 9, (rows, factors)).astype(np.int64)
    got = {}
    for name in ("kernels", "numpy_kernels"):
        chosen = getattr(_jit, name)()
        with mock.patch.object(_exact, "kernels", lambda c=chosen: c), \
                mock.patch.object(_exact, "numpy_kernels", lambda c=chosen: c):
            pmf, sizes = _exact.signed_rank_pmfs(scores2, mult)
        got[name] = (pmf.copy(), sizes)
    assert got["kernels"][0].tobytes() == got["numpy_kernels"][0].tobytes()  # same bits
    np.testing.assert_array_equal(got["kernels"][1], got["numpy_kernels"][1])


def test_small_inputs_take_numpy_and_large_ones_the_compiled_kernels() -> None:
    assert _jit.kernels_for(_jit.SMALL_ROWS - 1) is _jit.numpy_kernels()
    assert _jit.kernels_for(_jit.SMALL_ROWS) is _jit.kernels()


def test_the_samples_comparison_is_the_same_with_either_kernels() -> None:
    from crisis_survey import load_sample_study
    from crisis_survey.compare import compare_waves
    from crisis_survey.stats import _exact

    study = load_sample_study()
    plain = compare_waves(study).table
    compiled = _jit.kernels()
    with mock.patch.object(_jit, "kernels_for", lambda rows: compiled), \
            mock.patch.object(_exact, "numpy_kernels", lambda: compiled):
        reference = compare_waves(study).table
    pd.testing.assert_frame_equal(plain, reference)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from([0, 1, 2]))
def test_numpy_hypergeometric_moments_equal_the_compiled_kernel(seed: int, mode: int) -> None:
    # floating-point sums (exp may differ in the last place between numpy and LLVM, and the
    # compiled kernel stops NCHG_CUT below the peak where numpy adds every count): close,
    # not the same bits
    from crisis_survey.stats._contingency import _hypergeometric_log_weights

    rng = np.random.default_rng(seed)
    t = rng.integers(0, 60, (6, 2, 2)).astype(np.int64)
    m_, nn, k = t[:, :, 0].sum(axis=1), t[:, :, 1].sum(axis=1), t[:, 0].sum(axis=1)
    slo = np.maximum(0, k - nn)
    widths = np.minimum(k, m_) - slo + 1
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    logdc = _hypergeometric_log_weights(m_, nn, k, slo, widths, starts,
                                        _jit.numpy_kernels().nchg_log_weights)
    rows = rng.permutation(6)[: rng.integers(1, 7)].astype(np.int64)
    theta = rng.normal(0.0, 1.5, rows.size)
    x = np.ascontiguousarray(t[:, 0, 0])
    got = []
    for kern in _both():
        out = np.empty((rows.size, 7))
        kern.nchg_moments(logdc, starts, widths, slo, x, theta, rows, mode, out)
        got.append(out)
    cols = [0, 1, 3, 4, 5, 6]  # the value, its derivative, the log densities, Var X
    np.testing.assert_allclose(got[1][:, cols], got[0][:, cols], rtol=1e-11, atol=1e-12)
    # the second derivative (from raw moments, with cancellation) only steers Halley's step
    np.testing.assert_allclose(got[1][:, 2], got[0][:, 2], rtol=1e-7, atol=1e-9)
