"""Turning the array-likes users pass into clean float arrays (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError

FloatArray = npt.NDArray[np.float64]

ALTERNATIVES = ("two-sided", "less", "greater")


def as_float(x: Any, name: str = "x") -> FloatArray:
    """Return ``x`` as a 1-D float array; ``None``/NaN/pd.NA become NaN.

    Ordered categoricals become their category positions (0, 1, ...), which is what rank
    tests need.
    """
    if isinstance(x, pd.Series | pd.Index) and isinstance(x.dtype, pd.CategoricalDtype):
        x = pd.Categorical(x)
    if isinstance(x, pd.Categorical):
        codes = np.asarray(x.codes, dtype=float)
        codes[codes < 0] = np.nan
        return codes
    if isinstance(x, pd.Series | pd.Index):
        x = x.to_numpy(dtype=object)
    arr = np.asarray(x, dtype=object if not isinstance(x, np.ndarray) else None)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 0 else arr
        if arr.ndim != 1:
            raise CrisisSurveyError(f"{name} must be one-dimensional, got shape {arr.shape}")
    try:
        return np.asarray(pd.to_numeric(pd.Series(arr, dtype=object), errors="raise"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise CrisisSurveyError(f"{name} must hold numbers or missing values: {exc}") from exc


def paired(x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
    """Align two paired samples and drop pairs where either value is missing."""
    a, b = as_float(x, "x"), as_float(y, "y")
    if a.shape != b.shape:
        raise CrisisSurveyError(
            f"paired samples must have the same length: x has {a.size}, y has {b.size}"
        )
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def unpaired(x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
    """Drop missing values from each of two independent samples."""
    a, b = as_float(x, "x"), as_float(y, "y")
    return a[~np.isnan(a)], b[~np.isnan(b)]


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise CrisisSurveyError(
            f"alternative must be one of {', '.join(ALTERNATIVES)}; got {alternative!r}"
        )
