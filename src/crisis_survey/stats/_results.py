"""The one result type every test in :mod:`crisis_survey.stats` returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any, Literal

import pandas as pd

Alternative = Literal["two-sided", "less", "greater"]

__all__ = ["Alternative", "TestResult"]


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


@dataclass(frozen=True, slots=True)
class TestResult:
    """Result of one statistical test.

    Attributes
    ----------
    method
        Readable name of the test as run (e.g. ``"Wilcoxon signed-rank test (exact, conditional
        on ties)"``).
    statistic
        The test statistic, on the scale named by ``statistic_name`` (``V`` for the
        signed-rank test, ``W`` for Mann-Whitney, ``X-squared``, ``t``, ``z``; see
        :data:`~crisis_survey.stats.STATISTICS`). Signed statistics read wave 2 relative to
        wave 1 (``y`` relative to ``x``): positive = higher in wave 2.
    p_value
        The p-value for ``alternative``.
    n
        Number of pairs (paired tests) or of observations used (other tests), after missing
        values were dropped.
    df
        Degrees of freedom, or ``None`` where the statistic has none.
    effect_size, effect_measure, ci_low, ci_high
        Effect size, its name (a key of :data:`~crisis_survey.stats.EFFECTS`), and the bounds
        of its two-sided confidence interval at ``confidence``; signed effects read wave 2
        relative to wave 1.
    estimate
        A location estimate where the test has one (mean difference wave 2 - wave 1 for
        t-tests), else ``None``.
    details
        Further named numbers (``z``, ``n_zero``, ``n_discordant``, ...).

    Notes
    -----
    ``print(result)`` gives a readable summary; in Jupyter the result shows as a small
    table. ``to_frame()`` gives one tidy row, so many results concatenate into one table.

    Examples
    --------
    >>> from crisis_survey.stats import paired_t
    >>> result = paired_t([3, 4, 2, 5, 4, 3], [4, 5, 4, 5, 5, 3])
    >>> print(result)
    Paired t-test
      t                    2.7116
      df                   5.0000
      p-value              0.0422
      n                    6
      alternative          two-sided
      estimate             0.8333
      Cohen's d_z          1.1070 [0.0357, 2.1185]
    >>> result.to_frame()[["statistic_name", "statistic", "p_value", "effect_measure"]].round(4)
      statistic_name  statistic  p_value effect_measure
    0              t     2.7116   0.0422    Cohen's d_z
    """

    __test__ = False  # not a pytest test class

    method: str
    statistic: float
    p_value: float
    n: int
    df: float | None = None
    statistic_name: str = "statistic"
    alternative: Alternative = "two-sided"
    effect_size: float | None = None
    effect_measure: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    estimate: float | None = None
    details: Mapping[str, float] = field(default_factory=dict)

    # -- conversions ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the result as a flat ``dict`` (``details`` entries are prefixed ``detail_``)."""
        out = asdict(self)
        details = out.pop("details")
        out.update({f"detail_{k}": v for k, v in details.items()})
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the result as a one-row DataFrame, ready to ``pd.concat`` with others."""
        return pd.DataFrame([self.to_dict()])

    # -- display -------------------------------------------------------------------------
    def _lines(self) -> list[tuple[str, str]]:
        rows = [
            (self.statistic_name, _fmt(self.statistic)),
            ("df", _fmt(self.df)),
            ("p-value", _fmt(self.p_value)),
            ("n", str(self.n)),
            ("alternative", self.alternative),
        ]
        if self.estimate is not None:
            rows.append(("estimate", _fmt(self.estimate)))
        if self.effect_size is not None:
            ci = ""
            if self.ci_low is not None and self.ci_high is not None:
                ci = f" [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"
            rows.append(
                (self.effect_measure or "effect size", f"{_fmt(self.effect_size)}{ci}")
            )
        return rows

    def __str__(self) -> str:
        body = "\n".join(f"  {k:<20} {v}" for k, v in self._lines())
        return f"{self.method}\n{body}"

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        return f"<table><caption>{escape(self.method)}</caption>{cells}</table>"
