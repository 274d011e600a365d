"""Which cells can enter a p-value family, and "nobody changed" (private).

Two conventions shared by the paired tests of categorical items (signed-rank, McNemar,
Stuart-Maxwell), so that one fact about the data gets one reading whichever test runs:

Nobody changed
    When every complete pair gave the same answer in both waves there is no evidence of
    change and nothing to test: the row reports ``p = 1`` and statistic ``0`` (the exact
    conditional distribution is a single point), no effect size, and the note
    ``"nobody changed: p = 1 by convention"``. (R: ``wilcox.test`` errors or gives NaN,
    ``mcnemar.test`` NaN, ``coin::mh_test`` NaN.)

Cells that cannot reach significance
    A cell whose smallest attainable p-value is at least ``alpha`` cannot be significant
    whatever its data, yet in a Holm family it would raise every other item's adjusted
    p-value. With ``unreachable="exclude"`` (the default) such cells keep their p-value but
    get no adjusted p-value, are not counted in the family size, and the note says why.
    The smallest attainable p-value, from the cell's counts (``d`` = changed pairs):

    - signed-rank, exact (``d < 50``): ``2^(1 - d)`` (all ``d`` signs alike); ``0`` above;
    - McNemar (uncorrected chi-square, as ``compare_waves`` runs it): ``P(chi2_1 >= d)``,
      since ``(b - c)^2 / (b + c) <= d``;
    - Stuart-Maxwell: ``P(chi2_df >= d)``: the statistic is ``max_a (a'D)^2 / (a'S a)``
      over the ``d`` non-zero difference vectors, at most ``d`` by Cauchy-Schwarz;
    - a cell where nobody changed: 1 for all three;
    - other tests: 0 (not bounded here; they always enter their family).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

FloatArray = npt.NDArray[np.float64]

__all__ = ["NOBODY_CHANGED", "PAIRED_CATEGORICAL", "UNREACHABLE", "changed_pairs", "smallest_p"]

#: Accepted values of ``compare_waves(unreachable=...)`` and the plan key.
UNREACHABLE: tuple[str, ...] = ("exclude", "keep")
#: Tests that share the conventions above.
PAIRED_CATEGORICAL: tuple[str, ...] = ("wilcoxon_signed_rank", "mcnemar", "marginal_homogeneity")
NOBODY_CHANGED = "nobody changed: p = 1 by convention"

_EXACT_BELOW = 50  # crisis_survey.stats._rank.AUTO_EXACT_BELOW


def changed_pairs(tables: Any) -> FloatArray:
    """Pairs off the diagonal of every ``k x k`` paired table."""
    t = np.asarray(tables, dtype=np.float64)
    return np.asarray(t.sum(axis=(1, 2)) - np.trace(t, axis1=1, axis2=2), dtype=np.float64)


def smallest_p(test: str, tables: Any, df: Any) -> FloatArray:
    """The smallest p-value each cell's test could give with its counts (see the module)."""
    d = changed_pairs(tables)
    if test == "wilcoxon_signed_rank":
        out = np.where(d < _EXACT_BELOW, np.minimum(1.0, 2.0 ** (1.0 - d)), 0.0)
    elif test == "mcnemar":
        out = chi2.sf(d, 1)
    elif test == "marginal_homogeneity":
        dof = np.asarray(df, dtype=np.float64)
        out = np.where(np.isfinite(dof) & (dof > 0), chi2.sf(d, np.where(dof > 0, dof, 1.0)), 1.0)
    else:
        return np.zeros(len(d))
    return np.asarray(np.where(d == 0, 1.0, out), dtype=np.float64)


def unreachable_note(p_min: float, changed: float, alpha: float) -> str:
    return (f"left out of the p-value family: cannot reach p < {alpha:g} (smallest "
            f"attainable p = {p_min:.4g} with {int(changed)} changed pairs)")
