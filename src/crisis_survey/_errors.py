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
    """Base class of every error raised by :mod:`crisis_survey`.

    Catch it to handle any foreseeable problem with the input (a malformed codebook, a file
    that does not match it, waves that cannot be linked, a bad analysis plan) in one place.

    Examples
    --------
    >>> from crisis_survey import CrisisSurveyError, stats
    >>> try:
    ...     stats.mcnemar([0, 1, 2], [1, 0, 1])
    ... except CrisisSurveyError as error:
    ...     print(type(error).__name__)
    CrisisSurveyError
    """


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


def _problem_line(rec: Mapping[Any, Any], *, with_file: bool = True) -> str:
    """One problem in words: where (file, row, column), the value, what is wrong, what was
    expected."""
    where = [str(rec["file"])] if with_file and _given(rec["file"]) else []
    if _given(rec["row"]):
        where.append(f"row {int(rec['row'])}")
    if _given(rec["column"]):
        where.append(f"column {rec['column']!r}")
    value = f" value {rec['value']!r}:" if _given(rec["value"]) else ""
    expected = f" (expected {rec['expected']})" if _given(rec["expected"]) else ""
    return f"{', '.join(where) or 'the file'}:{value} {rec['problem']}{expected}"


def _counts_by_kind(frame: pd.DataFrame) -> list[str]:
    """One line per kind of problem, most frequent first, with the columns it is in:
    ``"  2 x unknown code or label: gender (1), overall_rating (1)"``."""
    from collections import Counter

    counts = Counter(zip(frame["problem"], frame["column"].fillna(""), strict=True))
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for (problem, column), n in counts.items():
        by_kind.setdefault(str(problem), []).append((str(column), n))
    lines = []
    for problem, cols in sorted(by_kind.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        total = sum(n for _, n in cols)
        where = ", ".join(f"{c} ({n})" if c else f"({n})" for c, n in
                          sorted(cols, key=lambda cn: -cn[1])[:6])
        more = f" and {len(cols) - 6} more columns" if len(cols) > 6 else ""
        lines.append(f"  {total} x {problem}: {where}{more}")
    return lines


def _summarise(frame: pd.DataFrame, headline: str, limit: int = 20) -> str:
    lines = [f"{headline}: {len(frame)} problem{'s' if len(frame) != 1 else ''} found."]
    for rec in frame.head(limit).to_dict("records"):
        lines.append(f"  - {_problem_line(rec)}")
    if len(frame) > limit:
        lines.append(f"  ... and {len(frame) - limit} more; see the error's .problems table.")
    return "\n".join(lines)


class _ProblemsError(CrisisSurveyError):
    headline = "Problems found"

    def __init__(
        self,
        problems: pd.DataFrame | Iterable[Mapping[str, Any]],
        headline: str | None = None,
    ) -> None:
        self.problems: pd.DataFrame = _problems_frame(problems)
        super().__init__(_summarise(self.problems, headline or self.headline))


class CodebookError(_ProblemsError):
    """The codebook or the column mapping is malformed.

    ``problems`` is a DataFrame with columns ``file, row, column, value, problem, expected``
    (``row`` is empty; ``column`` names the codebook field concerned).

    Examples
    --------
    >>> from crisis_survey import CodebookError
    >>> from crisis_survey.codebook import codebook_from_dict
    >>> try:
    ...     codebook_from_dict({"name": "empty", "fields": []})
    ... except CodebookError as error:
    ...     print(error)
    The codebook is not valid: 1 problem found.
      - <dict>: the schema has no fields (expected a non-empty 'fields' list)
    """

    headline = "The codebook is not valid"


class DataValidationError(_ProblemsError):
    """A survey file does not match its codebook.

    ``problems`` holds every problem found in one pass, one row each, with the file, the row
    number as a spreadsheet shows it (header is row 1, first data row is row 2), the column,
    the offending value, what is wrong and what was expected.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crisis_survey import DataValidationError, load_wave
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "wave1.csv"
    ...     _ = path.write_text("respondent_id,link_key,wave,group,completed_date,"
    ...                         "overall_rating\\nR1,k1,1,1,2014-10-02,9\\n")
    ...     try:
    ...         load_wave(path, wave=1, absent_columns="not_answered")
    ...     except DataValidationError as error:
    ...         problems = error.problems
    >>> problems[["row", "column", "value", "problem"]]
       row          column value                problem
    0    2  overall_rating     9  unknown code or label
    """

    headline = "The survey data do not match the codebook"


class LinkageError(_ProblemsError):
    """Respondents cannot be linked across waves as asked (e.g. the link key is missing).

    Like the other data errors it carries ``problems``, a DataFrame with columns ``file, row,
    column, value, problem, expected``, and its message summarises them.

    Examples
    --------
    >>> from crisis_survey import LinkageError
    >>> error = LinkageError([{"column": "link_key", "problem": "no link key column",
    ...                        "expected": "a link-key column"}])
    >>> print(error)
    The waves cannot be linked: 1 problem found.
      - column 'link_key': no link key column (expected a link-key column)
    >>> list(error.problems.columns)
    ['file', 'row', 'column', 'value', 'problem', 'expected']
    """

    headline = "The waves cannot be linked"
