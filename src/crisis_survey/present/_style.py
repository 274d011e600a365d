"""Figure and table styles: colour-blind-safe palettes, journal widths, rcParams, and the
journal styles of published numbers (private module).

Nothing here imports matplotlib at module import time.

A :class:`TableStyle` says how a journal prints numbers: leading zeros, how a p-value below
the smallest shown reads, how an interval is written. The plan chooses one
(``[present] style = "apa"`` or ``"medical"``); :mod:`._format` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .._errors import CrisisSurveyError

__all__ = [
    "APA",
    "DIVERGING",
    "DOUBLE_COLUMN",
    "GROUP_COLOURS",
    "GROUP_MARKERS",
    "MEDICAL",
    "NEUTRAL",
    "RC",
    "SINGLE_COLUMN",
    "TABLE_STYLES",
    "TableStyle",
    "diverging_colours",
    "table_style",
]

#: Journal column widths in inches (single ~ 89 mm, double ~ 183 mm).
SINGLE_COLUMN: Final = 3.5
DOUBLE_COLUMN: Final = 7.0

#: ColorBrewer RdBu (colour-blind safe, prints in grey), darkest first; the neutral level is
#: a light grey rather than white so a neutral segment stays visible on white paper.
DIVERGING: Final[tuple[str, ...]] = (
    "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac",
)
NEUTRAL: Final = "#d9d9d9"

#: Okabe-Ito colours for groups (blue, vermillion, bluish green, orange, ...).
GROUP_COLOURS: Final[tuple[str, ...]] = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
)
GROUP_MARKERS: Final[tuple[str, ...]] = ("o", "s", "^", "D", "v", "P", "X", "*")

#: rcParams applied while a figure is drawn and saved.
RC: Final[dict[str, Any]] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.frameon": False,
    "svg.hashsalt": "crisis_survey",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
}


def diverging_colours(n_levels: int) -> list[str]:
    """``n_levels`` colours from negative (red) to positive (blue), grey in the middle.

    Examples
    --------
    >>> diverging_colours(3)
    ['#d6604d', '#d9d9d9', '#4393c3']
    """
    half = n_levels // 2
    neg = {1: ["#d6604d"], 2: ["#b2182b", "#f4a582"], 3: ["#b2182b", "#d6604d", "#f4a582"]}
    pos = {1: ["#4393c3"], 2: ["#92c5de", "#2166ac"], 3: ["#92c5de", "#4393c3", "#2166ac"]}
    if half > 3:
        raise ValueError(f"at most 7 levels are supported; got {n_levels}")
    middle = [NEUTRAL] if n_levels % 2 else []
    return neg.get(half, []) + middle + pos.get(half, [])


@dataclass(frozen=True, slots=True)
class TableStyle:
    """How a journal prints the numbers of a table.

    Attributes
    ----------
    name
        The plan's word for it (``[present] style``).
    description
        The style in words (written into table notes and the docs).
    leading_zero
        Whether numbers that cannot exceed 1 (p-values, correlations, proportions) keep
        their leading zero: APA 7 (6.36) drops it (``.05``), medical journals keep it
        (``0.05``).
    p_digits
        Decimals of a p-value.
    p_prefix
        Written before a p-value below ``10**-p_digits``: ``"< "`` gives ``< .001``.
    ci_open, ci_sep, ci_close
        How an interval is written after its estimate: APA ``0.29 [0.06, 0.49]``, medical
        ``0.29 (0.06 to 0.49)``.
    excel_p
        The Excel number format of a p-value stored as a number (a conditional format, so
        the cell shows what the table shows and keeps the number).

    Examples
    --------
    >>> APA.interval("0.29", "0.06", "0.49"), MEDICAL.interval("0.29", "0.06", "0.49")
    ('0.29 [0.06, 0.49]', '0.29 (0.06 to 0.49)')
    """

    name: str
    description: str
    leading_zero: bool
    p_digits: int
    p_prefix: str
    ci_open: str
    ci_sep: str
    ci_close: str
    excel_p: str

    def interval(self, estimate: str, low: str, high: str) -> str:
        """``estimate`` followed by its interval in this style."""
        return f"{estimate} {self.ci_open}{low}{self.ci_sep}{high}{self.ci_close}"

    def ci_header(self, level: int) -> str:
        """The header of an estimate-with-interval column: ``[95% CI]`` or ``(95% CI)``."""
        return f"{self.ci_open}{level}% CI{self.ci_close}"


#: APA 7th edition (the default).
APA: Final = TableStyle(
    name="apa",
    description="APA 7th edition: no leading zero for values bounded by 1, p to three "
                "decimals (< .001), intervals in square brackets",
    leading_zero=False, p_digits=3, p_prefix="< ", ci_open="[", ci_sep=", ", ci_close="]",
    excel_p='[<0.001]"< .001";.000',
)
#: Medical journals (BMJ, Lancet, NEJM house styles): leading zeros, intervals "a to b".
MEDICAL: Final = TableStyle(
    name="medical",
    description="medical-journal style (BMJ/Lancet): leading zeros, p to three decimals "
                "(<0.001), intervals as (low to high)",
    leading_zero=True, p_digits=3, p_prefix="<", ci_open="(", ci_sep=" to ", ci_close=")",
    excel_p='[<0.001]"<0.001";0.000',
)

#: The styles a plan may choose, by name.
TABLE_STYLES: Final[dict[str, TableStyle]] = {s.name: s for s in (APA, MEDICAL)}


def table_style(style: str | TableStyle | None) -> TableStyle:
    """The :class:`TableStyle` of a name (``None``: APA).

    Examples
    --------
    >>> table_style("medical").leading_zero, table_style(None).name
    (True, 'apa')
    """
    if style is None:
        return APA
    if isinstance(style, TableStyle):
        return style
    if style not in TABLE_STYLES:
        raise CrisisSurveyError(
            f"table style {style!r} is not known (expected one of {sorted(TABLE_STYLES)})")
    return TABLE_STYLES[style]
