"""Comparing the two waves: item-by-item tests per group and design, and a change-by-group model.

:func:`compare_waves` runs the test suited to each item's measurement level for the paired,
independent and partially overlapping designs, per respondent group (or any ``by`` columns),
with per-wave summaries and p-values adjusted within declared families; it returns a
:class:`WaveComparison`. :func:`change_by_group_model` fits one marginal (GEE) model to every
answer to an item and asks whether the change between waves differed between the groups.
:func:`attrition_weights` models who came back and :func:`weighted_estimates` gives the paired
and overlapping estimates weighted to the whole wave-1 sample beside the unweighted ones;
:func:`tipping_points` says how different those who did not return would have to be for a
conclusion to flip.
"""

from ._model import ModelResult, change_by_group_model
from ._tipping import tipping_points
from ._waves import COLUMNS, DEFAULT_TESTS, FAMILIES, WaveComparison, compare_waves
from ._weights import AttritionWeights, attrition_weights, weighted_estimates

__all__ = [
    "COLUMNS",
    "DEFAULT_TESTS",
    "FAMILIES",
    "AttritionWeights",
    "ModelResult",
    "WaveComparison",
    "attrition_weights",
    "change_by_group_model",
    "compare_waves",
    "tipping_points",
    "weighted_estimates",
]
