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

import math

import numpy as np
import numpy.typing as npt

from ..codebook import Field

FloatArray = npt.NDArray[np.float64]

__all__ = ["summarise", "summary_measure"]


def _pct(x: float) -> str:
    return f"{x:.1f}%"


def _quantile_index(counts: FloatArray, num: int, den: int) -> int:
    """Type-1 quantile ``num/den`` of a distribution over levels (exact integer comparison)."""
    n = round(float(counts.sum()))
    cum = np.cumsum(np.rint(counts).astype(np.int64))
    return int(np.flatnonzero(cum * den >= n * num)[0])


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
    if field.measurement == "numeric":
        n, mean, ssd = (float(v) for v in data)
        if n == 0:
            return "no answers", math.nan
        sd = math.sqrt(ssd / (n - 1)) if n > 1 else math.nan
        return f"mean {mean:.2f} (SD {sd:.2f}), n = {n:.0f}", mean
    n = float(data.sum())
    if n == 0:
        return "no answers", math.nan
    share = 100.0 * data / n
    labels = field.labels
    if field.measurement == "ordinal":
        q1, q2, q3 = (_quantile_index(data, i, 4) for i in (1, 2, 3))
        codes = field.codes
        top = float(share[-2:].sum())
        text = (
            f"median {labels[q2]} ({codes[q2]}); IQR {labels[q1]} to {labels[q3]} "
            f"({codes[q1]}-{codes[q3]}); {_pct(top)} top two; n = {n:.0f}"
        )
        return text, top
    if field.measurement == "binary":
        yes = float(share[1])
        return f"{_pct(yes)} {labels[1]} ({data[1]:.0f} of {n:.0f})", yes
    parts = ", ".join(f"{lab} {_pct(float(s))}" for lab, s in zip(labels, share, strict=True))
    return f"{parts}; n = {n:.0f}", math.nan
