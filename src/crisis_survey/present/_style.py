"""Figure style: colour-blind-safe palettes, journal widths, rcParams (private module).

Nothing here imports matplotlib at module import time.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "DIVERGING",
    "DOUBLE_COLUMN",
    "GROUP_COLOURS",
    "GROUP_MARKERS",
    "NEUTRAL",
    "RC",
    "SINGLE_COLUMN",
    "diverging_colours",
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
