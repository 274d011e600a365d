"""Adjusting a family of p-values for multiple testing (the five methods of R's ``p.adjust``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import CrisisSurveyError
from ._arrays import FloatArray, as_float

__all__ = ["ADJUST_METHODS", "adjust_pvalues"]

#: Method names accepted by :func:`adjust_pvalues` (case-insensitive).
ADJUST_METHODS: tuple[str, ...] = ("holm", "hochberg", "bh", "by", "bonferroni")


def adjust_pvalues(p: Any, *, method: str = "holm") -> FloatArray:
    """Adjust p-values for multiple comparisons, exactly as R's ``p.adjust``.

    Parameters
    ----------
    p : array-like of float
        The raw p-values of one family of tests, each in [0, 1]. ``None``/NaN entries are
        allowed: they stay NaN and are not counted in the family size.
    method : {"holm", "hochberg", "bh", "by", "bonferroni"}
        ``"holm"`` (step-down, controls the family-wise error rate; the default, as in R),
        ``"hochberg"`` (step-up FWER, valid under positive dependence), ``"bh"``
        (Benjamini-Hochberg false discovery rate), ``"by"`` (Benjamini-Yekutieli FDR under
        arbitrary dependence) or ``"bonferroni"``. Case is ignored.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same length and order as ``p``; each is >= its raw p-value and
        <= 1. NaN where the input was missing.

    Notes
    -----
    With ``m`` non-missing p-values sorted increasingly, :math:`p_{(1)} \\le \\dots \\le
    p_{(m)}`:

    - Bonferroni: :math:`\\min(1, m p_{(i)})`.
    - Holm: :math:`\\min(1, \\max_{j \\le i} (m - j + 1) p_{(j)})`.
    - Hochberg: :math:`\\min(1, \\min_{j \\ge i} (m - j + 1) p_{(j)})`.
    - BH: :math:`\\min(1, \\min_{j \\ge i} \\frac{m}{j} p_{(j)})`.
    - BY: as BH with the factor :math:`q = \\sum_{l=1}^{m} 1/l`:
      :math:`\\min(1, \\min_{j \\ge i} \\frac{q m}{j} p_{(j)})`.

    Missing values are dropped before the family size ``m`` is counted, as R does (its
    default ``n = length(p)`` is evaluated after the NAs are removed).

    Equivalent R call: ``p.adjust(p, method = "holm")`` (method names ``"holm"``,
    ``"hochberg"``, ``"BH"``, ``"BY"``, ``"bonferroni"``).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6, 65-70.
    Hochberg, Y. (1988). A sharper Bonferroni procedure for multiple tests of significance.
    Biometrika 75, 800-803.
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57,
    289-300.
    Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in
    multiple testing under dependency. Annals of Statistics 29, 1165-1188.

    Examples
    --------
    Three items tested in one group; Holm's adjustment keeps the order of the p-values:

    >>> from crisis_survey.stats import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, None, 0.04], method="bh").round(4).tolist()
    [0.02, nan, 0.04]
    """
    key = method.lower() if isinstance(method, str) else method
    if key not in ADJUST_METHODS:
        raise CrisisSurveyError(
            f"method must be one of {', '.join(ADJUST_METHODS)}; got {method!r}"
        )
    values = as_float(p, "p")
    return _adjust_grouped(values, np.zeros(values.shape, dtype=np.int64), key)


def _adjust_grouped(values: FloatArray, groups: Any, method: str) -> FloatArray:
    """:func:`adjust_pvalues` within each family at once (the one implementation).

    Parameters
    ----------
    values
        Raw p-values (NaN allowed: they stay NaN and are not counted).
    groups
        Integer family code of every p-value (same length).
    method
        A lower-case name from :data:`ADJUST_METHODS`.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, family by family, exactly as R's ``p.adjust`` on each family.
    """
    import pandas as pd

    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    raw = values[present]
    if np.any((raw < 0) | (raw > 1)):
        bad = raw[(raw < 0) | (raw > 1)][0]
        raise CrisisSurveyError(f"p-values must lie between 0 and 1; got {bad!r}")
    out = np.full(values.shape, np.nan)
    if raw.size == 0:
        return out
    # families renumbered 0..g-1 among the present p-values, and each family's size m
    _, fam = np.unique(np.asarray(groups, dtype=np.int64)[present], return_inverse=True)
    fam = fam.reshape(-1)
    m = np.bincount(fam).astype(np.float64)
    adjusted: FloatArray
    if method == "bonferroni":
        adjusted = np.minimum(1.0, m[fam] * raw)
    else:
        step_down = method == "holm"
        # ascending p within each family for Holm, descending (R: order(p, decreasing=TRUE))
        # for the step-up methods, ties in input order as R's order keeps them: a stable sort
        # by p, then a stable sort of that by family (what lexsort does, in two cheaper sorts)
        by_p = np.argsort(raw if step_down else -raw, kind="stable")
        order = by_p[np.argsort(fam[by_p], kind="stable")]
        f_sorted = fam[order]
        start = np.searchsorted(f_sorted, f_sorted, side="left")
        rank = np.arange(raw.size) - start + 1  # 1-based position within the family
        mf = m[f_sorted]
        if step_down:
            factor = mf - rank + 1
        else:
            i = mf - rank + 1  # R's i = m:1 along the decreasing order
            if method == "hochberg":
                factor = mf - i + 1
            elif method == "bh":
                factor = mf / i
            else:  # "by"
                harmonic = np.cumsum(1.0 / np.arange(1, int(m.max()) + 1))
                factor = harmonic[mf.astype(np.int64) - 1] * mf / i
        scaled = pd.Series(factor * raw[order])
        by_family = scaled.groupby(f_sorted, sort=False)
        stepped = (by_family.cummax() if step_down else by_family.cummin()).to_numpy()
        adjusted = np.empty(raw.size)
        adjusted[order] = np.minimum(1.0, stepped)
    out[present] = adjusted
    return out
