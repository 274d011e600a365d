"""Error classes shared by every step of the library.

Every error the library raises on purpose derives from :class:`CrisisSurveyError`, so an
analyst can catch one base class. Errors about data carry a table of problems (one row per
problem: file, row, column, value, expected) and a message that summarises it in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a problems table is built, so that
    import pandas as pd  # ``import crisis_survey`` does not pay for it (see docs/performance.md)

__all__ = [
    "PROBLEM_COLUMNS",
    "CodebookError",
    "CrisisSurveyError",
    "DataValidationError",
    "LinkageError",
]

#: Columns of every problems table, in this order.
PROBLEM_COLUMNS: tuple[str, ...] = ("file", "row", "column", "value", "problem", "expected")


class CrisisSurveyError(Exception):
    """Base class of every error raised by :mod:`crisis_survey`."""


def _problems_frame(problems: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = problems.copy() if isinstance(problems, pd.DataFrame) else pd.DataFrame(list(problems))
    for col in PROBLEM_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    return frame.loc[:, list(PROBLEM_COLUMNS)].reset_index(drop=True)


def _given(value: Any) -> bool:
    import pandas as pd

    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _summarise(frame: pd.DataFrame, headline: str, limit: int = 20) -> str:
    lines = [f"{headline}: {len(frame)} problem{'s' if len(frame) != 1 else ''} found."]
    for rec in frame.head(limit).to_dict("records"):
        where = [str(rec["file"])] if _given(rec["file"]) else []
        if _given(rec["row"]):
            where.append(f"row {int(rec['row'])}")
        if _given(rec["column"]):
            where.append(f"column {rec['column']!r}")
        value = f" value {rec['value']!r}:" if _given(rec["value"]) else ""
        expected = f" (expected {rec['expected']})" if _given(rec["expected"]) else ""
        lines.append(f"  - {', '.join(where)}:{value} {rec['problem']}{expected}")
    if len(frame) > limit:
        lines.append(f"  ... and {len(frame) - limit} more; see the error's .problems table.")
    return "\n".join(lines)


class _ProblemsError(CrisisSurveyError):
    headline = "Problems found"

    def __init__(self, problems: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        self.problems: pd.DataFrame = _problems_frame(problems)
        super().__init__(_summarise(self.problems, self.headline))


class CodebookError(_ProblemsError):
    """The codebook or the column mapping is malformed.

    ``problems`` is a DataFrame with columns ``file, row, column, value, problem, expected``
    (``row`` is empty; ``column`` names the codebook field concerned).
    """

    headline = "The codebook is not valid"


class DataValidationError(_ProblemsError):
    """A survey file does not match its codebook.

    ``problems`` holds every problem found in one pass, one row each, with the file, the row
    number as a spreadsheet shows it (header is row 1, first data row is row 2), the column,
    the offending value, what is wrong and what was expected.
    """

    headline = "The survey data do not match the codebook"


class LinkageError(_ProblemsError):
    """Respondents cannot be linked across waves as asked (e.g. the link key is missing)."""

    headline = "The waves cannot be linked"
