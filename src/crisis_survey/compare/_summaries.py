"""Per-wave summaries suited to an item's measurement level, from counts (private).

Ordinal: median and interquartile range as level labels and codes, and the percentage in the
top two levels (the row's ``estimate_wave*``). Quantiles are R's type 1 (the inverse of the
empirical distribution function), so they are always a level: the ``p`` quantile is the lowest
level whose cumulative count reaches ``p * n``.
Binary: the percentage answering the level coded 1 ("Yes", "Selected").
Nominal: the percentage choosing each level, in codebook order, in one compact string.
Numeric: mean and standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..codebook import Field

FloatArray = npt.NDArray[np.float64]

__all__ = ["summarise", "summarise_many", "summary_measure"]


def _quantile_indices(counts: FloatArray, *fractions: tuple[int, int]
                      ) -> list[npt.NDArray[np.int64]]:
    """Type-1 quantiles ``num/den`` of each row's distribution over levels (exact integer
    comparison): the first level whose cumulative count reaches ``num/den`` of the row total."""
    cum = np.cumsum(np.rint(counts).astype(np.int64), axis=1)
    n = cum[:, -1:]
    return [np.asarray(np.argmax(cum * den >= n * num, axis=1), dtype=np.int64)
            for num, den in fractions]


#: ``"0.0"``, ``"0.1"``, ..., ``"100.0"``: every percentage with one decimal, written once.
_TENTHS: list[str] = [f"{t // 10}.{t % 10}" for t in range(1001)]


def _fixed1(values: FloatArray) -> tuple[list[int], list[str]]:
    """``f"{v:.1f}"`` of every value as positions in a list of strings (NaN rows get some
    string: the table reads "no answers" there): the tenths of values from 0 to 100 point
    into :data:`_TENTHS`.

    A value more than 1e-7 from a rounding tie rounds to the same tenth as Python's correctly
    rounded formatting; values near a tie, negative or above 100 are formatted by Python and
    appended to the list.
    """
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        scaled = np.where(finite, values * 10.0, 0.0)
        plain = ~finite | ((values >= 0) & (scaled <= 1000.0)
                           & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-7))
    tenths = np.where(plain, np.floor(scaled + 0.5), 0.0).astype(np.int64)
    if plain.all():
        return tenths.tolist(), _TENTHS
    odd = np.flatnonzero(~plain)
    tenths[odd] = len(_TENTHS) + np.arange(odd.size)
    return tenths.tolist(), _TENTHS + [f"{float(values[i]):.1f}" for i in odd.tolist()]


def summary_measure(field: Field) -> str:
    """What ``estimate_wave1``/``estimate_wave2`` measure for this item."""
    if field.measurement == "ordinal":
        top = " or ".join(field.labels[-2:])
        return f"% in top two levels ({top})"
    if field.measurement == "binary":
        return f"% {field.labels[1]}"
    if field.measurement == "numeric":
        return "mean"
    return "% per level"


def summarise(field: Field, data: FloatArray) -> tuple[str, float]:
    """Summary string and estimate of one wave's answers.

    ``data`` are the per-level counts (categorical items) or ``n, mean, ssd`` (numeric items).
    """
    texts, estimates = summarise_many(field, np.asarray(data, dtype=np.float64)[None, :])
    return texts[0], float(estimates[0])


def summarise_many(field: Field, data: FloatArray) -> tuple[list[str], FloatArray]:
    """:func:`summarise` for every row of ``data`` (one row per by-cell), vectorised."""
    data = np.asarray(data, dtype=np.float64)
    m = data.shape[0]
    if field.measurement == "numeric":
        n, mean, ssd = data[:, 0], data[:, 1], data[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(n > 1, np.sqrt(ssd / (n - 1)), np.nan)
        texts = [
            f"mean {mu:.2f} (SD {s_:.2f}), n = {k:.0f}" if k > 0 else "no answers"
            for mu, s_, k in zip(mean.tolist(), sd.tolist(), n.tolist(), strict=True)
        ]
        return texts, np.where(n > 0, mean, np.nan)
    n = data.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * data / n[:, None]
    labels = field.labels
    empty = n == 0
    if field.measurement == "ordinal":
        k_levels = len(labels)
        q1, q2, q3 = _quantile_indices(data, (1, 4), (2, 4), (3, 4))
        quartiles, head = np.unique((q1 * k_levels + q2) * k_levels + q3, return_inverse=True)
        heads = []  # "median ...; IQR ...; " once per distinct (q1, q2, q3)
        for key in quartiles.tolist():
            # levels by their score (position from 1, lowest first), not the file's codes:
            # an export coding 1 = "Strongly agree" or from 0 reads as the scale does
            a, b, c = key // k_levels**2, key // k_levels % k_levels, key % k_levels
            heads.append(f"median {labels[b]} ({b + 1}); IQR {labels[a]} to {labels[c]} "
                         f"({a + 1}-{c + 1}); ")
        top = share[:, -2:].sum(axis=1)
        tenths, written = _fixed1(top)
        texts = [
            "no answers" if e else f"{heads[h]}{written[t]}% top two; n = {k}"
            for e, h, t, k in zip(empty.tolist(), head.reshape(-1).tolist(), tenths,
                                  np.rint(n).astype(np.int64).tolist(), strict=True)
        ]
        return texts, np.where(empty, np.nan, top)
    if field.measurement == "binary":
        yes = share[:, 1]
        tenths, written = _fixed1(yes)
        texts = [
            "no answers" if e else f"{written[y]}% {labels[1]} ({d} of {k})"
            for e, y, d, k in zip(empty.tolist(), tenths,
                                  np.rint(data[:, 1]).astype(np.int64).tolist(),
                                  np.rint(n).astype(np.int64).tolist(), strict=True)
        ]
        return texts, np.where(empty, np.nan, yes)
    return _nominal_texts(labels, share, n, empty), np.full(m, np.nan)


def _nominal_texts(labels: Sequence[str], share: FloatArray, n: FloatArray,
                   empty: npt.NDArray[np.bool_]) -> list[str]:
    """``"<label> <share>%, ...; n = <n>"`` of every row (:func:`_nominal_texts_plain`'s
    strings): each level's shares written by :func:`_fixed1`, one ``str.format`` a row."""
    template = ", ".join(
        f"{lab.replace('{', '{{').replace('}', '}}')} {{}}%" for lab in labels) + "; n = {}"
    columns = []
    for j in range(len(labels)):
        tenths, written = _fixed1(share[:, j])
        columns.append([written[t] for t in tenths])
    counts = [f"{k:.0f}" for k in n.tolist()]
    return ["no answers" if e else template.format(*row, k)
            for e, k, *row in zip(empty.tolist(), counts, *columns, strict=True)]


def _nominal_texts_plain(labels: Sequence[str], share: FloatArray, n: FloatArray,
                         empty: npt.NDArray[np.bool_]) -> list[str]:
    """The nominal summaries one float format a share (the reference of
    :func:`_nominal_texts`, for tests)."""
    return [
        "no answers" if e else
        ", ".join(f"{lab} {v:.1f}%" for lab, v in zip(labels, row, strict=True)) + f"; n = {k:.0f}"
        for e, row, k in zip(empty.tolist(), share.tolist(), n.tolist(), strict=True)
    ]
