"""One loaded, validated survey wave."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import pandas as pd

from .._errors import PROBLEM_COLUMNS
from ..codebook import Codebook

__all__ = ["SurveyWave"]


@dataclass(frozen=True)
class SurveyWave:
    """One wave of the survey, loaded and validated against its codebook.

    Attributes
    ----------
    wave
        The wave number (1 or 2).
    codebook
        The codebook the data were validated against.
    source
        The file name the wave was read from.
    sha256
        SHA-256 of the file's bytes (for the report's manifest).
    data
        The rows kept. Index: the row number in the source file as a spreadsheet shows it
        (header row 1, first data row 2). Columns: codebook field names. Ordinal items are
        ordered Categoricals of their level labels; binary and nominal items unordered
        Categoricals; "don't know" and other missing codes are missing values here.
    missing_reasons
        Same index as ``data``; one column per item and demographic: why an answer is missing
        (``"dont_know"``, ``"not_applicable"``, ``"prefer_not_to_say"``, ``"not_answered"``),
        or ``<NA>`` where a real level was given.
    exclusions
        Rows excluded (quarantined), one row each: columns ``row``, ``reason`` (one
        ``column: problem`` per problem, joined by "; ") and the problem details ``file``,
        ``column``, ``value``, ``problem``, ``expected`` (joined by "; " in the same order).
    rows_read
        Data rows in the file (rows with no value in any codebook column are not counted).
    problems
        Every cell-level problem found in the excluded rows, one row per problem (columns
        ``file, row, column, value, problem, expected``), as a
        :class:`~crisis_survey.DataValidationError` would have listed them.

    Notes
    -----
    ``rows_read == rows_kept + rows_excluded`` is checked when the object is built.
    ``print(wave)``, ``repr(wave)`` and the Jupyter display show the row accounting only,
    never the data (which hold identifiers and link keys).

    Examples
    --------
    >>> from crisis_survey import load_wave, sample_study_paths
    >>> wave1 = load_wave(sample_study_paths()[0], wave=1)
    >>> print(wave1)
    SurveyWave 1 from synthetic_wave1.csv: 658 rows read, 658 kept, 0 excluded
    >>> wave1.data["overall_rating"].cat.categories.tolist()
    ['Very poor', 'Poor', 'Fair', 'Good', 'Excellent']
    >>> wave1.rows_read == wave1.rows_kept + wave1.rows_excluded
    True
    """

    wave: int
    codebook: Codebook
    source: str
    sha256: str
    data: pd.DataFrame
    missing_reasons: pd.DataFrame
    exclusions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["row", "reason"])
    )
    rows_read: int = -1
    problems: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    )

    def __post_init__(self) -> None:
        if self.rows_read < 0:
            object.__setattr__(self, "rows_read", len(self.data) + len(self.exclusions))
        if self.rows_read != len(self.data) + len(self.exclusions):
            raise ValueError(
                f"SurveyWave accounting broken: {self.rows_read} rows read but "
                f"{len(self.data)} kept + {len(self.exclusions)} excluded"
            )

    @property
    def rows_kept(self) -> int:
        return len(self.data)

    @property
    def rows_excluded(self) -> int:
        return len(self.exclusions)

    def accounting(self) -> pd.DataFrame:
        """One row: ``wave, file, rows_read, rows_kept, rows_excluded``.

        ``rows_read == rows_kept + rows_excluded`` always holds.
        """
        return pd.DataFrame(
            [{"wave": self.wave, "file": self.source, "rows_read": self.rows_read,
              "rows_kept": self.rows_kept, "rows_excluded": self.rows_excluded}]
        )

    def __str__(self) -> str:
        return (
            f"SurveyWave {self.wave} from {self.source}: {self.rows_read} rows read, "
            f"{self.rows_kept} kept, {self.rows_excluded} excluded"
        )

    def __repr__(self) -> str:
        return f"<{self}>"

    def _repr_html_(self) -> str:
        return f"<p>{escape(str(self))}</p>" + self.accounting().to_html(index=False)
