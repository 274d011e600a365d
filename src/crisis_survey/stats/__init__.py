"""Statistical tests for two-wave survey data.

Every test takes array-likes (lists, numpy arrays, pandas Series; ``None``/NaN is a missing
answer) and returns a frozen :class:`TestResult`. ``x`` is always wave 1 and ``y`` wave 2.
Paired tests take them aligned by respondent and drop incomplete pairs; unpaired tests drop
missing values from each sample. One direction: every signed statistic and effect reads wave 2
relative to wave 1 (positive, or a ratio above 1, = higher in wave 2); :data:`STATISTICS` and
:data:`EFFECTS` say how each statistic and effect is named, signed and formatted. Rank and
contingency tests are computed from counts, in one pass per item.

Submodules are imported lazily, so ``import crisis_survey.stats`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from ._contingency import (
        chi_square,
        fisher_exact,
        linear_trend,
        marginal_homogeneity,
        mcnemar,
    )
    from ._multiplicity import adjust_pvalues
    from ._overlap import partially_overlapping_t, partially_overlapping_z
    from ._parametric import paired_t, welch_t
    from ._proportions import proportion_ci
    from ._rank import mann_whitney, wilcoxon_signed_rank
    from ._registry import EFFECTS, STATISTICS, TESTS, EffectSpec, StatisticSpec, TestSpec
    from ._results import TestResult

_WHERE: dict[str, str] = {
    "EFFECTS": "._registry",
    "EffectSpec": "._registry",
    "STATISTICS": "._registry",
    "StatisticSpec": "._registry",
    "TESTS": "._registry",
    "TestSpec": "._registry",
    "TestResult": "._results",
    "wilcoxon_signed_rank": "._rank",
    "mann_whitney": "._rank",
    "mcnemar": "._contingency",
    "marginal_homogeneity": "._contingency",
    "chi_square": "._contingency",
    "fisher_exact": "._contingency",
    "linear_trend": "._contingency",
    "paired_t": "._parametric",
    "welch_t": "._parametric",
    "partially_overlapping_t": "._overlap",
    "partially_overlapping_z": "._overlap",
    "proportion_ci": "._proportions",
    "adjust_pvalues": "._multiplicity",
}

__all__ = [
    "EFFECTS",
    "STATISTICS",
    "TESTS",
    "EffectSpec",
    "StatisticSpec",
    "TestResult",
    "TestSpec",
    "adjust_pvalues",
    "chi_square",
    "fisher_exact",
    "linear_trend",
    "mann_whitney",
    "marginal_homogeneity",
    "mcnemar",
    "paired_t",
    "partially_overlapping_t",
    "partially_overlapping_z",
    "proportion_ci",
    "welch_t",
    "wilcoxon_signed_rank",
]


def __getattr__(name: str) -> Any:
    return _lazy.lazy_attribute(__name__, name, _WHERE, globals())


def __dir__() -> list[str]:
    return _lazy.lazy_dir(globals(), __all__)
