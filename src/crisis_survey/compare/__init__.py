"""Comparing the two waves: item-by-item tests per group and design, and a change-by-group model.

:func:`compare_waves` runs the test suited to each item's measurement level for the paired,
independent and partially overlapping designs, per respondent group (or any ``by`` columns),
with per-wave summaries and p-values adjusted within declared families; it returns a
:class:`WaveComparison`. :func:`change_by_group_model` fits one marginal (GEE) model to every
answer to an item and asks whether the change between waves differed between the groups.
"""

from ._model import ModelResult, change_by_group_model
from ._waves import COLUMNS, DEFAULT_TESTS, FAMILIES, WaveComparison, compare_waves

__all__ = [
    "COLUMNS",
    "DEFAULT_TESTS",
    "FAMILIES",
    "ModelResult",
    "WaveComparison",
    "change_by_group_model",
    "compare_waves",
]
