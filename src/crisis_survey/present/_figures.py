"""Publication figures (private module; matplotlib is imported inside the functions).

Every function returns the matplotlib ``Figure`` and draws only published numbers: counts
below the disclosure threshold are never printed, and bars built from fewer respondents than
the threshold are not drawn (the figure says so in a note). Labels come from the codebook's
question titles and level labels.
"""

from __future__ import annotations

import functools
import html
import io
import os
import re
import textwrap
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import CrisisSurveyError
from .._memo import cached
from ..stats._registry import NET_CHANGE, effect_spec
from ._disclosure import DEFAULT_THRESHOLD, SUPPRESSED_MARKER
from ._figdata import PERCENT_DIGITS, change_counts, likert_counts, transition_counts
from ._style import (
    DOUBLE_COLUMN,
    GROUP_COLOURS,
    GROUP_MARKERS,
    NEUTRAL,
    RC,
    SINGLE_COLUMN,
    diverging_colours,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DOUBLE_COLUMN",
    "FIGURE_FORMATS",
    "SINGLE_COLUMN",
    "change_chart",
    "flow_diagram",
    "forest_plot",
    "likert_chart",
    "save_figure",
    "transition_chart",
]

FIGURE_FORMATS: tuple[str, ...] = ("svg", "pdf", "png")
#: Hatching of a withheld cell in the transition chart (grey, never a shade of the scale).
WITHHELD_HATCH = "#b0b0b0"
#: Background of the "not shown" note of a withheld bar (it sits on the zero line).
_BLANK: dict[str, Any] = {"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": "none"}


#: Drawing settings on top of the house style: no hinting, so a text is as wide in a PNG at
#: any resolution as in the SVG and PDF (hinted 7-point text at 110 dpi is 5% wider, and
#: would overflow the flow diagram's boxes, which are sized from the text).
_DRAW_RC: dict[str, Any] = {"text.hinting": "no_hinting"}


def _rc() -> Any:
    import matplotlib as mpl

    settings: dict[Any, Any] = {**RC, **_DRAW_RC}
    return mpl.rc_context(settings)


#: Resolution of the PNG a notebook shows (the saved PNG is 300 dpi).
REPR_DPI = 150


@functools.cache
def _figure_class() -> type[Figure]:
    """:class:`matplotlib.figure.Figure` that displays itself in Jupyter and carries its alt
    text (built on first use, so importing this module does not import matplotlib)."""
    from matplotlib.figure import Figure

    class FigureResult(Figure):
        """A matplotlib Figure drawn by crisis_survey: shown inline in Jupyter (PNG, and
        HTML with the figure as SVG text and its alt text), with ``alt_text``, a
        description written from the published values it draws."""

        alt_text: str = ""

        def _repr_png_(self) -> bytes:
            return render_figure(self, ("png",), dpi=REPR_DPI)["png"]

        def _repr_svg_(self) -> str:
            return render_figure(self, ("svg",))["svg"].decode("utf-8")

        def _repr_html_(self) -> str:
            svg = self._repr_svg_()
            start = svg.find("<svg")
            inner = responsive_svg(svg[max(start, 0):])
            return (f'<figure style="max-width:{self.get_figwidth() * 96:.0f}px;margin:0">'
                    f"{inner}</figure>")

    FigureResult.__module__ = "crisis_survey.present"
    return FigureResult


def _new_figure(width: float, height: float) -> Figure:
    return _figure_class()(figsize=(width, height))


def _set_alt(fig: Figure, text: str) -> None:
    """Attach the figure's alt text (read by :func:`save_figure`, Word and HTML)."""
    fig.alt_text = text  # type: ignore[attr-defined]


def _new_axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = _new_figure(width, height)
    return fig, fig.add_subplot()


def _wave_label(codebook: Any, wave: int) -> str:
    try:
        label = str(codebook.wave_info(wave).label)
    except KeyError:
        label = ""
    return label or f"Wave {wave}"


def _note(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.0, text, fontsize=6.5, ha="left", va="top", wrap=True)


# -- (a) diverging stacked bars ---------------------------------------------------------------
def likert_chart(
    source: Any,
    items: Sequence[str] | None = None,
    *,
    by: str = "group",
    threshold: int = DEFAULT_THRESHOLD,
    width: float = DOUBLE_COLUMN,
    ax: Axes | None = None,
    sort: str | None = None,
    centre: bool = True,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> Figure:
    """Diverging stacked bar chart of ordinal items, by wave and group.

    Bars are centred on the neutral level (half of it either side of zero; for an even
    number of levels, on the boundary between the two middle levels). Lower levels extend
    left, higher levels right; one bar per item, group and wave. Percentages are of the
    respondents who gave a level. The figure's ``alt_text`` gives, per bar, the published
    percentage in the levels above the middle.

    Parameters
    ----------
    source
        A LinkedStudy or SurveyWaves.
    items
        Ordinal items sharing one response scale (default: the items using the most common
        scale among the ordinal items, e.g. the agree/disagree statements).
    by
        Grouping column (default the respondent group).
    threshold
        Bars built from fewer respondents are not drawn.
    width
        Figure width in inches (3.5 single column, 7 double column).
    ax
        Draw into this Axes (the legend goes into its figure).
    sort
        ``"agreement"``: items in descending order of the mean published percentage in
        the levels above the middle (bars withheld for disclosure count for nothing);
        ``None`` (default): codebook order.
    centre
        Centre the bars on the neutral level (default); ``False`` stacks them from 0 to
        100%.
    hidden
        ``(group, item)`` domains the release audit withholds whole: not drawn
        (:func:`~crisis_survey.present._release.hidden_domains`).

    Returns
    -------
    matplotlib.figure.Figure
        It displays itself in Jupyter and carries ``alt_text``.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> fig = likert_chart(load_sample_study(), ["exp_listened", "exp_dignity"])
    >>> len(fig.axes[0].patches) > 0
    True
    """
    waves = study_waves_of(source)
    cb = waves[0].codebook
    if items is None:
        ordinal = [f for f in cb.items(measurement="ordinal")
                   if all(w.wave in f.waves for w in waves)]
        common = pd.Series([f.labels for f in ordinal]).value_counts().index[0]
        items = [f.name for f in ordinal if f.labels == common]
    data = likert_counts(source, items, by=by, threshold=threshold, hidden=hidden)
    if data.empty:
        raise CrisisSurveyError("no answers to draw")
    scales = {tuple(cb[i].labels) for i in items}
    if len(scales) > 1:
        raise CrisisSurveyError(
            "likert_chart() draws items that share one response scale; got "
            f"{len(scales)} different scales (draw them in separate charts)"
        )
    levels = list(next(iter(scales)))
    k = len(levels)
    colours = diverging_colours(k)
    item_order = list(dict.fromkeys(data["item"]))
    upper = data["level_index"] > (k - 1) / 2
    if sort == "agreement":
        agree = data[upper].groupby(["item", "group", "wave"])["percent"].sum(min_count=1)
        mean = agree.groupby("item").mean().reindex(item_order).fillna(-1.0)
        item_order = list(mean.sort_values(ascending=False, kind="stable").index)
    elif sort is not None:
        raise CrisisSurveyError(f"sort must be 'agreement' or None; got {sort!r}")
    upper_label = " or ".join(levels[li] for li in range(k) if li > (k - 1) / 2)
    group_order = list(dict.fromkeys(data["group"]))
    wave_order = sorted(data["wave"].unique())
    n_bars = len(item_order) * len(group_order) * len(wave_order)
    height = 1.0 + 0.16 * n_bars + 0.2 * len(item_order) * len(group_order)
    with _rc():
        fig, ax = _new_axes(ax, width, height)
        y = 0.0
        ticks: list[float] = []
        ticklabels: list[str] = []
        not_drawn: list[str] = []
        alt: list[str] = []
        x0 = -100.0 if centre else 0.0
        chars = _wrap_chars(width, 0.9, 7.5)
        for item in item_order:
            _heading(ax, y, _wrap(cb[item].label, chars), x0)
            alt.append(f"{cb[item].label}:")
            y += 1.0
            for group in group_order:
                for wave in wave_order:
                    rows = data[(data["item"] == item) & (data["group"] == group)
                                & (data["wave"] == wave)].sort_values("level_index")
                    ticks.append(y)
                    bar = f"{group}, {_wave_label(cb, int(wave))}"
                    ticklabels.append(_wrap(bar, _wrap_chars(width, 0.28, 6.5)))
                    if rows.empty or not bool(rows["drawn"].iloc[0]):
                        not_drawn.append(f"{cb[item].label}: {bar}")
                        alt.append(f"{bar}: not shown (small counts);")
                        ax.text(0 if centre else 50, y, "not shown (small counts)", ha="center",
                                va="center", fontsize=6, color="0.35", bbox=_BLANK)
                        y += 1
                        continue
                    pct = rows["percent"].to_numpy(dtype=float)
                    share = float(np.sum(pct[rows["level_index"].to_numpy() > (k - 1) / 2]))
                    alt.append(f"{bar}: {_pct(share)} {upper_label.lower()};")
                    # centre on the middle level (odd k) or the middle boundary (even k)
                    left = (-(pct[: k // 2].sum() + (pct[k // 2] / 2 if k % 2 else 0.0))
                            if centre else 0.0)
                    for li in range(k):
                        ax.barh(y, pct[li], left=left, height=0.78, color=colours[li],
                                edgecolor="white", linewidth=0.3)
                        left += pct[li]
                    y += 1
                y += 0.3
            y += 0.3
        _percent_axes(ax, ticks, ticklabels, y, width, centre=centre)
        ax.set_xlabel("Respondents answering (%)")
        from matplotlib.patches import Patch

        _set_alt(fig, f"Stacked bar chart of {len(item_order)} items ({levels[0]} to "
                 f"{levels[-1]}), one bar per {cb.groups_label if by == 'group' else by} "
                 "and wave" + (", centred on the middle of the scale" if centre else "")
                 + ". " + " ".join(alt))
        handles = [Patch(facecolor=c, edgecolor="0.6" if c == NEUTRAL else c, linewidth=0.3)
                   for c in colours]
        fig.legend(handles, levels, loc="lower center",
                   ncol=min(k, 5) if width >= 5 else min(k, 3),
                   bbox_to_anchor=(0.5, 1.0), handlelength=1.2, columnspacing=1.0)
        if not_drawn:
            _note(fig, f"Bars based on fewer than {threshold} respondents, or with a level "
                  f"answered by fewer than {threshold}, are not shown"
                  + (", nor those the disclosure audit withholds (other published values "
                     "would reveal a small count)." if hidden else "."))
        fig.tight_layout()
    return fig


def _heading(ax: Axes, y: float, text: str, x: float = -100.0) -> None:
    """An item's question title above its block of bars, at the left edge of the plot."""
    ax.text(x, y, text, ha="left", va="center", fontsize=7.5, fontweight="bold")


def _wrap_chars(width: float, share: float, fontsize: float) -> int:
    """How many characters of ``fontsize`` points fit in ``share`` of a figure ``width``
    inches wide (DejaVu Sans averages about 0.55 em per character)."""
    return max(12, int(share * width * 72 / (0.55 * fontsize)))


def _wrap(text: str, chars: int) -> str:
    """``text`` wrapped at ``chars`` characters per line (words kept whole)."""
    return "\n".join(textwrap.wrap(str(text), chars, break_long_words=False)) or str(text)


def _pct(value: float) -> str:
    return f"{value:.{PERCENT_DIGITS}f}%"


def _percent_axes(ax: Axes, ticks: list[float], labels: list[str], bottom: float,
                  width: float, *, centre: bool = True) -> None:
    """Axes of a stacked bar chart: -100..100 % shown as absolute values (centred), or
    0..100 %."""
    ax.set_yticks(ticks, labels)
    ax.tick_params(axis="y", length=0, labelsize=6.5)
    ax.set_ylim(bottom - 0.2, -0.7)
    ax.spines["left"].set_visible(False)
    if not centre:
        ax.set_xlim(0, 100)
        step = 20 if width >= 5 else 50
        ax.set_xticks(np.arange(0, 101, step), [f"{v}%" for v in range(0, 101, step)])
        return
    ax.axvline(0, color="0.2", linewidth=0.6)
    ax.set_xlim(-100, 100)
    step = 25 if width >= 5 else 50
    ax.set_xticks(np.arange(-100, 101, step))
    ax.set_xticklabels([f"{abs(v)}%" for v in range(-100, 101, step)])


def study_waves_of(source: Any) -> tuple[Any, ...]:
    from ._tables import study_waves

    return study_waves(source)


# -- (b) paired change ------------------------------------------------------------------------
_CHANGE_COLOURS = {"down": "#d6604d", "same": NEUTRAL, "up": "#4393c3"}
_CHANGE_LABELS = {"down": "Lower in wave 2", "same": "Same", "up": "Higher in wave 2"}


def change_chart(
    study: Any,
    items: Sequence[str] | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    width: float = DOUBLE_COLUMN,
    ax: Axes | None = None,
) -> Figure:
    """Paired change for linked respondents: moved down / stayed / moved up, per item.

    One 100% stacked horizontal bar per item and group, centred on the middle of "same" so
    that the balance of up against down reads off the zero line. Percentages are printed
    only in segments of at least ``threshold`` pairs (and whose complement is at least
    ``threshold``); bars from fewer than ``threshold`` pairs are not drawn.

    Parameters
    ----------
    study
        A LinkedStudy.
    items
        Ordinal items (default: every ordinal item asked in both waves).
    threshold
        Disclosure threshold: segments and bars built from fewer pairs are not labelled or
        not drawn.
    width
        Figure width in inches (3.5 single column, 7 double column).
    ax
        Draw into this Axes (the legend goes into its figure).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> fig = change_chart(load_sample_study(), ["exp_listened"])
    >>> fig.axes[0].get_xlabel()
    'Linked respondents (%)'
    """
    data = change_counts(study, items, threshold=threshold)
    item_order = list(dict.fromkeys(data["item"]))
    group_order = list(dict.fromkeys(data["group"]))
    cb = study.codebook
    n_bars = len(item_order) * len(group_order)
    height = 1.0 + 0.18 * n_bars + 0.2 * len(item_order)
    with _rc():
        fig, ax = _new_axes(ax, width, height)
        y = 0.0
        ticks: list[float] = []
        labels: list[str] = []
        hidden = False
        alt: list[str] = []
        for item in item_order:
            _heading(ax, y, _wrap(cb[item].label, _wrap_chars(width, 0.9, 7.5)))
            alt.append(f"{cb[item].label}:")
            y += 1.0
            for group in group_order:
                rows = data[(data["item"] == item) & (data["group"] == group)].set_index(
                    "direction")
                ticks.append(y)
                labels.append(_wrap(group, _wrap_chars(width, 0.28, 6.5)))
                if not bool(rows["drawn"].iloc[0]):
                    alt.append(f"{group}: not shown (small counts);")
                    hidden = True
                    ax.text(0, y, "not shown (small counts)", ha="center", va="center",
                            fontsize=6, color="0.35", bbox=_BLANK)
                    y += 1
                    continue
                alt.append(f"{group}: " + ", ".join(
                    f"{_pct(float(rows.loc[d, 'percent']))} {_CHANGE_LABELS[d].lower()}"
                    for d in ("down", "same", "up")) + ";")
                left = -(rows.loc["down", "percent"] + rows.loc["same", "percent"] / 2)
                for d in ("down", "same", "up"):
                    w = float(rows.loc[d, "percent"])
                    ax.barh(y, w, left=left, height=0.75, color=_CHANGE_COLOURS[d],
                            edgecolor="white", linewidth=0.3)
                    if bool(rows.loc[d, "label_ok"]) and w >= 9:
                        ax.text(left + w / 2, y, f"{w:.0f}%", ha="center", va="center",
                                fontsize=6, color="white" if d != "same" else "0.1")
                    left += w
                y += 1
            y += 0.3
        _percent_axes(ax, ticks, labels, y, width)
        ax.set_xlabel("Linked respondents (%)")
        _set_alt(fig, f"Stacked bar chart of {len(item_order)} items: the linked "
                 "respondents whose answer was lower in wave 2, the same, or higher. "
                 + " ".join(alt))
        from matplotlib.patches import Patch

        handles = [Patch(facecolor=_CHANGE_COLOURS[d]) for d in ("down", "same", "up")]
        fig.legend(handles, [_CHANGE_LABELS[d] for d in ("down", "same", "up")],
                   loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0))
        notes = [f"Percentages are printed for segments of at least {threshold} respondents."]
        if hidden:
            notes.append(f"Bars based on fewer than {threshold} pairs, or with a segment of "
                         f"fewer than {threshold}, are not shown.")
        _note(fig, " ".join(notes))
        fig.tight_layout()
    return fig


# -- (b2) level-to-level transitions ------------------------------------------------------------
def transition_chart(
    study: Any,
    items: Sequence[str] | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    width: float = DOUBLE_COLUMN,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> Figure:
    """Where linked respondents moved from and to: a wave-1 x wave-2 heat map per item and
    group.

    One panel per item (rows) and group (columns): cell (i, j) holds the published number
    of pairs who answered level i in wave 1 and level j in wave 2, shaded by its share of
    the panel's pairs; the diagonal (no change) is outlined, cells above it moved up.
    Cells withheld by disclosure control (:func:`transition_counts`: small counts and the
    cells that would reveal them) are not drawn: they show the withheld marker, and a
    note says so.

    Parameters
    ----------
    study
        A LinkedStudy.
    items
        Ordinal or binary items (default: every ordinal item asked in both waves).
    threshold
        Disclosure threshold.
    width
        Figure width in inches (3.5 single column, 7 double column).
    hidden
        ``(group, item)`` domains the release audit withholds whole: every cell withheld
        (:func:`~crisis_survey.present._release.hidden_domains`).

    Returns
    -------
    matplotlib.figure.Figure
        It displays itself in Jupyter and carries ``alt_text`` (every panel's published
        counts).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> fig = transition_chart(load_sample_study(), ["exp_listened"])
    >>> len(fig.axes)   # one panel per group
    2
    """
    data = cached(transition_counts, study, items, threshold=threshold,
                  hidden=frozenset(hidden))  # the audit's
    cb = study.codebook
    item_order = list(dict.fromkeys(data["item"]))
    group_order = list(dict.fromkeys(data["group"]))
    k_max = int(data.groupby("item")["from_index"].max().max()) + 1
    per_row = max(1, min(len(item_order), int(width // (1.7 * len(group_order)))))  # side by side
    n_rows = -(-len(item_order) // per_row)
    panel = (width - 0.6) / (per_row * len(group_order))
    cell = min(panel / (k_max + 1.5), 0.3)
    height = 0.7 + n_rows * (cell * k_max + 1.05)
    chars = _wrap_chars(width / per_row, 0.9, 7.5)
    with _rc():
        from matplotlib.colors import LinearSegmentedColormap
        from matplotlib.patches import Rectangle

        # ColorBrewer Blues (sequential, colour-blind safe, prints in grey); the shade is
        # the cell's share of its panel's pairs, on one scale for every panel (its top is
        # the largest published share, itself a published count over a published n)
        cmap = LinearSegmentedColormap.from_list("pairs", ["#f7fbff", "#c6dbef", "#6baed6",
                                                           "#2171b5", "#08306b"])
        drawn = data[~data["withheld"] & (data["n"] > 0)]
        top = float((drawn["count"] / drawn["n"]).max()) if len(drawn) else 1.0
        top = top if top > 0 else 1.0
        fig = _new_figure(width, height)
        grid = fig.subplots(n_rows, per_row * len(group_order), squeeze=False)
        for ax in grid.flat[len(item_order) * len(group_order):]:
            ax.set_visible(False)
        withheld = False
        alt: list[str] = []
        for position, item in enumerate(item_order):
            labels = list(cb[item].oriented().labels)
            k = len(labels)
            r, first = divmod(position, per_row)
            first *= len(group_order)
            for c, group in enumerate(group_order):
                ax = grid[r, first + c]
                rows = data[(data["item"] == item) & (data["group"] == group)]
                n = float(rows["n"].iloc[0])
                shown = []
                for rec in rows.itertuples():
                    i, j = int(rec.from_index), int(rec.to_index)
                    if rec.withheld:  # not drawn: grey hatching and the marker, not a shade
                        withheld = True
                        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                               hatch="////", edgecolor=WITHHELD_HATCH,
                                               linewidth=0.0))
                        ax.text(j, i, SUPPRESSED_MARKER, ha="center", va="center",
                                fontsize=5.5, color="0.3",
                                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                      "edgecolor": "none"})
                        continue
                    count = int(rec.count)
                    shown.append(f"{labels[i]} to {labels[j]}: {count:,}")
                    share = count / n / top if n == n and n > 0 else 0.0
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=cmap(share),
                                           edgecolor="white", linewidth=0.5))
                    ax.text(j, i, f"{count:,}", ha="center", va="center", fontsize=5.5,
                            color="white" if share > 0.5 else "0.1")
                for d in range(k):
                    ax.add_patch(Rectangle((d - 0.5, d - 0.5), 1, 1, fill=False,
                                           edgecolor="0.25", linewidth=0.6))
                ax.set_xlim(-0.5, k - 0.5)
                ax.set_ylim(k - 0.5, -0.5)
                ax.set_aspect("equal")
                short = [_wrap(lb, 10) for lb in labels]
                ax.set_xticks(range(k), short, fontsize=5.5, rotation=90 if k > 3 else 0)
                ax.set_yticks(range(k), short if c == 0 else [""] * k, fontsize=5.5)
                ax.tick_params(length=0)
                for side in ("top", "right", "left", "bottom"):
                    ax.spines[side].set_visible(False)
                pairs = "pairs withheld" if n != n else f"{int(n):,} pairs"
                ax.set_title(_wrap(f"{group} ({pairs})", _wrap_chars(panel, 0.95, 7)),
                             fontsize=7, pad=3)
                if c == 0:
                    ax.set_ylabel(_wave_label(cb, 1), fontsize=6.5)
                ax.set_xlabel(_wave_label(cb, 2), fontsize=6.5, labelpad=2)
                alt.append(f"{cb[item].label}, {group}: "
                           + ("; ".join(shown) if shown else "all cells withheld") + ".")
            grid[r, first].annotate(_wrap(cb[item].label, chars), xy=(0, 1),
                                xycoords="axes fraction", xytext=(-40, 16),
                                textcoords="offset points", fontsize=7.5, fontweight="bold",
                                ha="left", va="bottom", annotation_clip=False)
        note = ("Linked respondents by their answer in each wave; the outlined diagonal is "
                "no change, cells right of it moved up. Each cell gives its number of pairs, "
                "shaded by its share of the panel's pairs (darkest: "
                f"{100 * top:.0f}% of a panel).")
        if withheld:
            note += (f" Cells with fewer than {threshold} pairs, and cells that would reveal "
                     f"them, are withheld ({SUPPRESSED_MARKER}, hatched): not drawn, and "
                     "not zero.")
        if hidden:
            note += (" Whole panels are withheld where the disclosure audit found that, with "
                     "the other published values, they would reveal a small count.")
        _note(fig, note)
        _set_alt(fig, "Heat maps of linked respondents' answers in wave 1 (rows) against "
                 "wave 2 (columns), per item and group. " + " ".join(alt))
        fig.tight_layout(h_pad=2.2)
    return fig


# -- (c) forest plot ----------------------------------------------------------------------------
def forest_plot(
    comparison: Any,
    *,
    design: str = "paired",
    items: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    width: float = DOUBLE_COLUMN,
    sources: Any = None,
) -> Figure:
    """Effect sizes with confidence intervals across items and groups (forest plot).

    One panel per effect measure (rank-biserial r for ordinal items, odds ratios for binary
    items, ...), items down the side, groups as colour and marker. Odds ratios are drawn on
    a log scale with the null line at 1; other measures with the null line at 0. Rows the
    comparison table withholds for disclosure are not drawn.

    Parameters
    ----------
    comparison
        A :class:`~crisis_survey.compare.WaveComparison`.
    design
        Which design's rows to draw (``"paired"``, ``"independent"`` or ``"overlapping"``).
    items
        Items to draw (default: every item with an effect size).
    threshold
        Disclosure threshold, applied as in the comparison table.
    width
        Figure width in inches (3.5 single column, 7 double column).
    sources
        The cells behind each row, as for
        :func:`~crisis_survey.present.comparison_table` (the derived-value rule): the
        figure draws exactly the effect sizes the table publishes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> from crisis_survey.compare import compare_waves
    >>> fig = forest_plot(compare_waves(load_sample_study()))
    >>> for ax in fig.axes:  # one panel per measure
    ...     print(ax.get_xlabel().split(" (")[0])
    Matched-pairs rank-biserial correlation
    Paired difference in proportions
    Net change of the pairs
    """
    from ._tables import _comparison_frame, comparison_table

    table = _comparison_frame(comparison)
    sel = table[table["design"] == design]
    if items is not None:
        sel = sel[sel["item"].isin(list(items))]
    if sel.empty:
        raise CrisisSurveyError(f"no rows of design {design!r} in the comparison")
    n_groups = sel["group"].nunique()
    if n_groups > len(GROUP_COLOURS):
        raise CrisisSurveyError(
            f"a forest plot can tell at most {len(GROUP_COLOURS)} groups apart, and this "
            f"comparison has {n_groups} (e.g. group x area cells); draw it from a comparison "
            "by group, or filter the comparison's table to the cells you want"
        )
    published = comparison_table(sel, designs=[design], threshold=threshold,
                                 sources=sources).values
    hidden_panels: list[str] = []
    shown = published[["group", "item", "effect_size", "ci_low", "ci_high"]].rename(
        columns={"effect_size": "es", "ci_low": "lo", "ci_high": "hi"})
    merged = sel.merge(shown, on=["group", "item"], how="left", validate="one_to_one")
    merged = pd.concat([merged[merged["effect_measure"].notna()],
                        _net_change_rows(sel, published)], ignore_index=True)
    # a panel of which nothing may be drawn is left out (its rows are named in the alt
    # text), unless no panel has anything to draw
    drawn = merged.groupby("effect_measure", sort=False)["es"].apply(
        lambda v: bool(v.notna().any()))
    if drawn.any():
        for m in drawn.index[~drawn.to_numpy()]:
            n_hidden = int((merged["effect_measure"] == m).sum())
            merged = merged[merged["effect_measure"] != m]
            hidden_panels.append(f"{_measure_axis_label(str(m))}: withheld in all "
                                 f"{n_hidden} rows;")
    measures = list(dict.fromkeys(merged["effect_measure"]))
    groups = list(dict.fromkeys(merged["group"]))
    per = {m: list(dict.fromkeys(merged.loc[merged["effect_measure"] == m, "item"]))
           for m in measures}
    chars = _wrap_chars(width, 0.3, 7)
    lines = {it: _wrap(str(lb), chars) for it, lb in zip(merged["item"], merged["label"],
                                                        strict=True)}
    rows_of = {i: max(1.0, 0.5 * (lines[i].count("\n") + 1)) for i in lines}
    heights = [max(sum(rows_of[i] for i in v), 1.0) for v in per.values()]
    with _rc():
        from matplotlib.lines import Line2D

        fig = _new_figure(width, 0.8 + 0.28 * sum(heights))
        axes = fig.subplots(len(measures), 1, gridspec_kw={"height_ratios": heights},
                            squeeze=False)[:, 0]
        withheld = bool(hidden_panels)
        alt: list[str] = list(hidden_panels)
        for ax, m in zip(axes, measures, strict=True):
            rows = merged[merged["effect_measure"] == m]
            spec = effect_spec(str(m))
            odds = spec.scale == "ratio" if spec else "odds ratio" in str(m).casefold()
            item_list = per[m]
            spans = np.array([rows_of[i] for i in item_list])
            ypos = np.cumsum(spans) - spans / 2 - 0.5  # the first item at 0, as before
            alt.append(f"{_measure_axis_label(str(m))}:")
            drawn_values: list[float] = []
            offset = np.linspace(-0.18, 0.18, len(groups)) if len(groups) > 1 else [0.0]
            for gi, g in enumerate(groups):
                gr = rows[rows["group"] == g].set_index("item")
                for ii, it in enumerate(item_list):
                    if it not in gr.index:
                        continue
                    es, lo, hi = (float(gr.loc[it, c]) for c in ("es", "lo", "hi"))
                    label = f"{gr.loc[it, 'label']}, {g}"
                    if np.isnan(es):
                        withheld |= not np.isnan(float(gr.loc[it, "effect_size"]))
                        alt.append(f"{label}: withheld;")
                        continue
                    yy = ypos[ii] + offset[gi]
                    drawn_values.append(es)
                    if not (np.isnan(lo) or np.isnan(hi)):
                        ax.plot([lo, hi], [yy, yy], color=GROUP_COLOURS[gi], linewidth=1.0)
                        drawn_values += [lo, hi]
                        alt.append(f"{label}: {es:.2f} [{lo:.2f}, {hi:.2f}];")
                    else:
                        alt.append(f"{label}: {es:.2f};")
                    ax.plot(es, yy, marker=GROUP_MARKERS[gi], color=GROUP_COLOURS[gi],
                            markersize=4, linestyle="none")
            ax.axvline(1.0 if odds else 0.0, color="0.4", linewidth=0.6, linestyle="--")
            if odds:
                _log_axis(ax, drawn_values)
            ax.set_yticks(list(ypos), [lines[i] for i in item_list])
            ax.set_ylim(float(spans.sum()) - 0.5, -0.5)
            ax.tick_params(axis="y", length=0)
            ax.spines["left"].set_visible(False)
            ax.set_xlabel(_measure_axis_label(str(m)))
        handles = [Line2D([], [], color=GROUP_COLOURS[i], marker=GROUP_MARKERS[i],
                          markersize=4, linewidth=1.0) for i in range(len(groups))]
        fig.legend(handles, [str(g) for g in groups], loc="lower center",
                   ncol=len(groups), bbox_to_anchor=(0.5, 1.0))
        note = f"Points: effect size; lines: 95% CI. Design: {design}."
        _set_alt(fig, f"Forest plot of effect sizes with 95% confidence intervals, {design} "
                 f"design, by group ({', '.join(str(g) for g in groups)}). " + " ".join(alt))
        if withheld:
            note += f" Estimates withheld for disclosure control (n < {threshold}) are not shown."
        _note(fig, note)
        fig.tight_layout()
    return fig


def _net_change_rows(sel: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The forest plot's rows of the net change (paired ordinal rows), as published
    (``es``, ``lo``, ``hi``; NaN where withheld) beside the computed value
    (``effect_size``)."""
    if "net_change" not in sel.columns:
        return sel.iloc[:0]
    rows = sel[sel["net_change"].notna()]
    cols = ["net_change", "net_change_ci_low", "net_change_ci_high"]
    shown = published.reindex(columns=["group", "item", *cols]).rename(
        columns=dict(zip(cols, ("es", "lo", "hi"), strict=True)))
    out = rows.merge(shown, on=["group", "item"], how="left", validate="one_to_one")
    return out.assign(effect_measure=NET_CHANGE, effect_size=out["net_change"])


def log_ticks(values: Sequence[float]) -> tuple[list[float], tuple[float, float]]:
    """Readable ticks and limits of a log (ratio) axis holding ``values`` and the null 1.

    Powers of 2 (0.25, 0.5, 1, 2, 4, ...) in the range, of 10 when there would be more than
    eight; when fewer than three fall in the range it is widened to 0.5..2, so an axis
    always has at least three labelled ticks.

    Examples
    --------
    >>> log_ticks([0.9, 1.2])
    ([0.5, 1.0, 2.0], (0.455, 2.2))
    >>> log_ticks([0.3, 5.0])[0]
    [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    """
    finite = [v for v in values if np.isfinite(v) and v > 0]
    lo, hi = min([1.0, *finite]), max([1.0, *finite])
    ticks: list[float] = []
    for base in (2.0, 10.0):
        first, last = int(np.floor(np.log(lo) / np.log(base) + 1e-9)), int(
            np.ceil(np.log(hi) / np.log(base) - 1e-9))
        ticks = [float(base ** e) for e in range(first, last + 1)]
        if len(ticks) <= 8:
            break
    if len(ticks) < 3:
        ticks = sorted({*ticks, 0.5, 1.0, 2.0})
    return ticks, (round(min(lo, ticks[0]) / 1.1, 3), round(max(hi, ticks[-1]) * 1.1, 3))


def _log_axis(ax: Axes, values: Sequence[float]) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks, limits = log_ticks(values)
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def _measure_axis_label(measure: str) -> str:
    """Axis label; compare_waves reads every signed effect as wave 2 relative to wave 1
    (the label and direction of a registered measure come from its
    :class:`~crisis_survey.stats.EffectSpec`)."""
    spec = effect_spec(measure)
    if spec is not None:
        label = spec.label[0].upper() + spec.label[1:]
        return label if not spec.signed else f"{label} ({spec.direction})"
    text = measure[0].upper() + measure[1:]
    low = measure.casefold()
    if "odds ratio" in low:
        return text + " (> 1: higher in wave 2)"
    if "cramer" in low or "cramér" in low:
        return text
    return text + " (> 0: higher in wave 2)"


# -- (d) participant flow ---------------------------------------------------------------------
#: Flow-diagram geometry, in points: text padding inside a box, gaps between boxes and rows,
#: the routing lanes outside the wave columns.
_PAD, _GAP, _ROW, _LANE, _ARM, _FLOW_FONT = 5.0, 14.0, 16.0, 12.0, 14.0, 7.0


@dataclass
class _Box:
    """A box of the flow diagram: its text, size (from the text's rendered extent) and
    place (top-left corner, points, y downward)."""

    text: str
    style: str = "main"
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def mid(self) -> float:
        return self.y + self.h / 2


def _measure(boxes: Sequence[_Box]) -> None:
    """Set each box's size from its text as rendered (Agg at 720 dpi, so that hinting at
    small pixel sizes does not shrink the extents; 10 pixels = 1 point)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _rc():
        fig = Figure(dpi=720)
        renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
        for b in boxes:
            t = fig.text(0, 0, b.text, fontsize=_FLOW_FONT, linespacing=1.3)
            t.set_fontfeatures(_FEATURES)
            ext = t.get_window_extent(renderer)
            b.w, b.h = ext.width / 10 + 2 * _PAD, ext.height / 10 + 2 * _PAD


def _flow_layout(columns: dict[str, list[_Box | None]], excl: tuple[_Box, _Box]
                 ) -> tuple[float, float]:
    """Place the boxes: three columns (wave 1, linked, wave 2), one row per stage, each row
    as tall as its tallest box; the wave columns as wide as their widest box, the middle
    one as wide as its widest box and wide enough for the two exclusion boxes, which sit
    beside the arrows from "read" to "respondents", on their inner side. Returns the
    diagram's width and height (points)."""
    left, mid, right = columns["left"], columns["mid"], columns["right"]

    def widest(col: list[_Box | None]) -> float:
        return max(b.w for b in col if b is not None)

    wl, wr = widest(left), widest(right)
    # the exclusion boxes start _ARM from their column's centre line
    wm = max(widest(mid), excl[0].w + excl[1].w + 2 * _ARM + _GAP - (wl + wr) / 2 - 2 * _GAP)
    xl = _LANE
    xm = xl + wl + _GAP
    xr = xm + wm + _GAP
    y = 0.0
    for row in range(len(left)):
        cells = [(left[row], xl, wl), (mid[row], xm, wm), (right[row], xr, wr)]
        height = max(b.h for b, _, _ in cells if b is not None)
        for b, x0, w in cells:
            if b is not None:
                b.x, b.y = x0 + (w - b.w) / 2, y + (height - b.h) / 2
        y += height + (_GAP if row != 1 else _ROW)
        if row == 0:  # the exclusions, attached to the arrows from "read" to "kept"
            h = max(e.h for e in excl)
            excl[0].x, excl[0].y = xl + wl / 2 + _ARM, y
            excl[1].x, excl[1].y = xr + wr / 2 - _ARM - excl[1].w, y
            for e in excl:
                e.y += (h - e.h) / 2
            y += h + _GAP
    return xr + wr + _LANE, y - _GAP


def flow_diagram(
    study: Any,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    width: float = DOUBLE_COLUMN,
    force: Collection[tuple[str, str]] = frozenset(),
) -> Figure:
    """CONSORT-style participant flow: read, excluded, kept, linked, analysed, per wave.

    Each wave's rows read lead to its respondents (rows excluded at loading attached to
    that arrow); the respondents split into those linked across the waves (one box for
    both waves) and those not linked (by reason). The paired design analyses the linked
    respondents; the independent design analyses every respondent of each wave (linked or
    not), so its arrows come from the respondents, not from "not linked". Boxes are sized
    from their text as rendered and placed in rows and columns, so they never overlap;
    long group labels wrap to keep the diagram within ``width`` where they can, and the
    diagram grows wider where they cannot.

    The numbers are those published in :func:`~crisis_survey.present.linkage_table` (same
    disclosure control): rows read are shown only when the exclusions are published, so a
    withheld number of exclusions cannot be recovered by subtraction.

    Parameters
    ----------
    study
        A LinkedStudy.
    threshold
        Disclosure threshold: counts below it are shown as withheld.
    width
        Figure width in inches (3.5 single column, 7 double column): the widest the
        diagram is made where its text fits.
    force
        Linkage cells the release audit withholds (:func:`~crisis_survey.present.
        linkage_table`'s ``force``).

    Returns
    -------
    matplotlib.figure.Figure
        It displays itself in Jupyter and carries ``alt_text`` (every box's text).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> fig = flow_diagram(load_sample_study())
    >>> any("Linked" in t.get_text() for t in fig.axes[0].texts)
    True
    """
    from ._tables import linkage_table

    table = linkage_table(study, threshold=threshold, force=force)
    vals = table.values
    cb = study.codebook
    groups = [str(g) for g in vals["group"].unique() if g != "All"]

    def count(wave: int, category: str, group: str = "All") -> str:
        hit = vals[(vals["wave"] == wave) & (vals["category"] == category)
                   & (vals["group"] == group)]
        if hit.empty:
            return "-"
        v = hit["count"].iloc[0]
        return SUPPRESSED_MARKER if pd.isna(v) else f"{int(v):,}"

    cat_excl = "Excluded at loading (invalid rows)"
    cat_kept = "Respondents (rows kept)"
    cat_linked = "Linked (in both waves)"
    reasons = [
        ("key in this wave only", "Not linked: key found in this wave only"),
        ("key shared by several rows", "Not linked: key shared by several rows"),
        (f"{cb.groups_label} differs", "Not linked: respondent group differs between waves"),
        ("no link key", "Not linked: no link key"),
    ]

    def build(chars: int) -> tuple[dict[str, list[_Box | None]], tuple[_Box, _Box]]:
        def lines(items: Sequence[tuple[str, str]]) -> str:
            return "\n".join(textwrap.fill(f"{a}: {b}", chars, subsequent_indent="   ",
                                           break_long_words=False) for a, b in items)

        def by_group(wave: int, category: str) -> str:
            return lines([(g, count(wave, category, g)) for g in groups])

        cols: dict[str, list[_Box | None]] = {"left": [], "mid": [None, None], "right": []}
        excl: list[_Box] = []
        for w, side in ((1, "left"), (2, "right")):
            label = _wave_label(cb, w)
            excluded = count(w, cat_excl)
            wave = study.wave1 if w == 1 else study.wave2
            read = f"{wave.rows_read:,}" if excluded != SUPPRESSED_MARKER else SUPPRESSED_MARKER
            excl.append(_Box(f"Excluded at loading: {excluded}\n(invalid rows)", "side"))
            cols[side] += [
                _Box(f"{label} survey\nRows read: {read}"),
                _Box(f"{label} respondents: {count(w, cat_kept)}\n{by_group(w, cat_kept)}"),
                _Box("Not linked\n" + lines([(a, count(w, c)) for a, c in reasons]), "side"),
                _Box(textwrap.fill(f"Analysed, independent design: all {label} "
                                   "respondents", max(chars, 24)) + "\n"
                     + by_group(w, cat_kept), "analysed"),
            ]
        cols["mid"] += [
            _Box(f"Linked across waves: {count(1, cat_linked)}\n{by_group(1, cat_linked)}"),
            _Box("Analysed, paired design:\nlinked respondents\n" + by_group(1, cat_linked),
                 "analysed"),
        ]
        boxes = [b for col in cols.values() for b in col if b is not None] + excl
        _measure(boxes)
        return cols, (excl[0], excl[1])

    target = width * 72
    for chars in (44, 36, 30, 26, 22, 18):
        cols, excl = build(chars)
        total_w, total_h = _flow_layout(cols, excl)
        if total_w <= target:
            break
    note = (f"Counts below {threshold}, and counts that would reveal them, are withheld "
            f"({SUPPRESSED_MARKER}).")
    total_h += 14.0
    fig_w = max(target, total_w)
    dx = (fig_w - total_w) / 2
    with _rc():
        from matplotlib.patches import Rectangle

        fig = _new_figure(fig_w / 72, total_h / 72)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-dx, fig_w - dx)
        ax.set_ylim(total_h, 0)
        ax.axis("off")
        faces = {"main": "white", "side": "#f2f2f2", "analysed": "#e8f0f8"}
        ordered = [cols["left"][0], cols["right"][0], excl[0], excl[1], cols["left"][1],
                   cols["right"][1], cols["left"][2], cols["mid"][2], cols["right"][2],
                   cols["left"][3], cols["mid"][3], cols["right"][3]]
        for b in ordered:
            assert b is not None
            ax.add_patch(Rectangle((b.x, b.y), b.w, b.h, facecolor=faces[b.style],
                                   edgecolor="0.2", linewidth=0.7))
            ax.text(b.x + _PAD, b.y + _PAD, b.text, ha="left", va="top",
                    fontsize=_FLOW_FONT, linespacing=1.3)

        def path(*points: tuple[float, float]) -> None:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs[:-1], ys[:-1], color="0.2", linewidth=0.7, solid_capstyle="butt")
            ax.annotate("", xy=points[-1], xytext=points[-2],
                        arrowprops={"arrowstyle": "-|>", "color": "0.2", "linewidth": 0.7,
                                    "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})

        linked, paired = cols["mid"][2], cols["mid"][3]
        assert linked is not None and paired is not None
        for side, e, lane in (("left", excl[0], _LANE / 2),
                              ("right", excl[1], total_w - _LANE / 2)):
            read, kept, notlinked, indep = cols[side]
            assert read and kept and notlinked and indep
            inner = e.x if side == "left" else e.right
            ax.plot([read.cx, read.cx], [read.bottom, kept.y - 6], color="0.2", linewidth=0.7)
            path((read.cx, kept.y - 6), (read.cx, kept.y))
            path((read.cx, e.mid), (inner, e.mid))
            path((kept.cx, kept.bottom), (kept.cx, notlinked.y))
            edge = kept.right if side == "left" else kept.x
            into = linked.x + linked.w * (0.3 if side == "left" else 0.7)
            path((edge, kept.mid), (into, kept.mid), (into, linked.y))
            out = kept.x if side == "left" else kept.right
            to = indep.x if side == "left" else indep.right
            path((out, kept.mid), (lane, kept.mid), (lane, indep.mid), (to, indep.mid))
        path((linked.cx, linked.bottom), (linked.cx, paired.y))
        ax.text(0, total_h - 2, note, fontsize=6.5, ha="left", va="bottom")
    _set_alt(fig, "Participant flow diagram. " + "; ".join(
        b.text.replace("\n   ", " ").replace("\n", ", ") for b in ordered if b is not None)
        + ". " + note)
    return fig


# -- saving ---------------------------------------------------------------------------------
#: Settings of every save: real text in SVG (searchable, read by screen readers), TrueType
#: (Type 42) fonts subset into the PDF (journals refuse Type 3), and no second layout pass
#: per format (the tight bounding box is computed once, :func:`_tight_bbox`).
SAVE_RC: dict[str, Any] = {**_DRAW_RC, "svg.fonttype": "none", "pdf.fonttype": 42,
                           "savefig.bbox": None, "svg.hashsalt": "crisis_survey"}
#: Decimals of SVG coordinates (points): figures are drawn from published values, and the
#: file carries no finer coordinates than a reader's eye (0.01 pt) needs.
SVG_DIGITS = 2
_SVG_NUMBER = re.compile(rb"-?\d+\.\d{%d,}" % (SVG_DIGITS + 1))
_SVG_TAG = re.compile(rb"<[^<>]*>")


def _round_svg_numbers(data: bytes) -> bytes:
    """Round every decimal number inside the SVG's tags (attributes: coordinates, widths)
    to :data:`SVG_DIGITS` decimals; the text between tags (labels) is left as it is."""

    def number(m: re.Match[bytes]) -> bytes:
        text = b"%.*f" % (SVG_DIGITS, float(m.group(0)))
        text = text.rstrip(b"0").rstrip(b".")
        return b"0" if text in (b"-0", b"") else text

    return _SVG_TAG.sub(lambda tag: _SVG_NUMBER.sub(number, tag.group(0)), data)


def _svg_accessible(data: bytes, alt: str) -> bytes:
    """The SVG with ``role="img"`` and the figure's alt text as its ``<title>``."""
    if not alt:
        return data
    start = data.find(b"<svg")
    end = data.find(b">", start)
    if start < 0 or end < 0:
        return data
    title = b"<title>" + html.escape(alt).encode("utf-8") + b"</title>"
    head = data[start:end]
    if b" role=" not in head:
        head += b' role="img"'
    return data[:start] + head + b">\n " + title + data[end + 1:]


def responsive_svg(svg: str) -> str:
    """An ``<svg>`` element that scales to its container: the fixed ``width``/``height``
    (points) are dropped, the ``viewBox`` keeps the aspect ratio (for inlining in HTML).

    Examples
    --------
    >>> responsive_svg('<svg width="504pt" height="100pt" viewBox="0 0 504 100">')
    '<svg viewBox="0 0 504 100" style="width:100%;height:auto">'
    """
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        return svg
    head = re.sub(r'\s(?:width|height)="[^"]*"', "", svg[start:end])
    if "style=" not in head:
        head += ' style="width:100%;height:auto"'
    return svg[:start] + head + svg[end:]


def _tight_bbox(fig: Figure) -> Any:
    """The figure's tight bounding box (inches) with the standard padding, from one layout
    pass shared by every format."""
    import matplotlib as mpl

    _no_ligatures(fig)
    fig.draw_without_rendering()
    _no_ligatures(fig)  # tick labels made by the layout pass
    bbox = fig.get_tightbbox()
    return bbox.padded(float(mpl.rcParams["savefig.pad_inches"]))


#: OpenType features turned off in every text: a ligature ("ff", "fi") is a glyph for two
#: characters, which matplotlib's PDF backend puts in a second font subset (a second
#: TrueType subsetting pass, about a third of the PDF's time); letters stay letters.
_FEATURES = ("-liga", "-clig")


def _no_ligatures(fig: Figure) -> None:
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_fontfeatures() != _FEATURES:
            text.set_fontfeatures(_FEATURES)


def _strip_png(data: bytes) -> bytes:
    """Drop ancillary text/time chunks from a PNG (keeps IHDR, PLTE, pHYs, IDAT, IEND...)."""
    import struct

    sig, pos, out = data[:8], 8, [data[:8]]
    if sig != b"\x89PNG\r\n\x1a\n":
        return data
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if kind not in (b"tEXt", b"iTXt", b"zTXt", b"tIME"):
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    "png": {"Software": None},
}


def render_figure(fig: Figure, formats: Sequence[str] = FIGURE_FORMATS, dpi: int = 300,
                  ) -> dict[str, bytes]:
    """The bytes of ``fig`` in each format (format -> bytes), byte-identical on every run.

    One layout pass for all formats; SVG with real ``<text>`` (its alt text as the
    ``<title>``, coordinates to :data:`SVG_DIGITS` decimals), PDF with subset TrueType
    fonts, PNG without text or time chunks; no creation dates or creator strings.
    """
    import matplotlib as mpl

    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown:
        raise CrisisSurveyError(f"unknown figure formats {unknown}; choose from {FIGURE_FORMATS}")
    alt = str(getattr(fig, "alt_text", "") or "")
    out: dict[str, bytes] = {}
    settings: dict[Any, Any] = {**RC, **SAVE_RC}
    with mpl.rc_context(settings):
        bbox = _tight_bbox(fig)
        for fmt in formats:
            meta = dict(_METADATA[fmt])
            if fmt == "pdf" and alt:
                meta["Subject"] = alt
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, facecolor="white",
                        bbox_inches=bbox)
            data = buf.getvalue()
            if fmt == "png":
                data = _strip_png(data)
            if fmt == "svg":
                data = re.sub(rb"<dc:date>.*?</dc:date>", b"", data)
                data = _svg_accessible(_round_svg_numbers(data), alt)
            out[fmt] = data
    return out


def save_figure(
    fig: Figure,
    path_stem: str | Path,
    formats: Sequence[str] = FIGURE_FORMATS,
    dpi: int = 300,
) -> list[Path]:
    """Save ``fig`` as ``path_stem.<fmt>`` for each format, byte-identical on every run.

    The figure is laid out once and rendered once per format. SVG keeps its text as text
    (searchable, read by screen readers; the figure's alt text is its ``<title>``), PDF
    embeds subset TrueType fonts; PDF and SVG are written without creation dates or
    creator strings, with a fixed SVG hash salt (element ids); PNG without text or time
    chunks.

    Parameters
    ----------
    fig
        The figure.
    path_stem
        Path without extension.
    formats
        Any of ``"svg"``, ``"pdf"``, ``"png"``.
    dpi
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey.synthetic import load_sample_study
    >>> fig = flow_diagram(load_sample_study())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save_figure(fig, f"{folder}/flow")
    ...     first = [p.read_bytes() for p in paths]
    ...     again = [p.read_bytes() for p in save_figure(fig, f"{folder}/flow")]
    >>> [p.name for p in paths], first == again
    (['flow.svg', 'flow.pdf', 'flow.png'], True)
    """
    data = render_figure(fig, formats, dpi)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        path = stem.with_name(stem.name + "." + fmt)
        path.write_bytes(data[fmt])
        written.append(path)
    return written


# -- many figures at once -----------------------------------------------------------------------
#: The figures of the :class:`FigureDrawing` being started: set just before its worker
#: processes are forked, so that each worker has the makers (closures over the study and
#: the comparison) without pickling them.
_JOBS: list[tuple[Callable[[], Figure], Path, tuple[str, ...]]] = []

#: Worker processes at most (each draws whole figures; the report has about ten).
MAX_FIGURE_WORKERS = 4


def _figure_workers(n_jobs: int, *, alongside: bool = False) -> int:
    """Worker processes for ``n_jobs`` figures: one per available core (at most
    :data:`MAX_FIGURE_WORKERS`; with ``alongside``, one core is left to the caller, which
    goes on with its own work for most of the drawing), none (drawn in this process) on
    one core or where processes cannot be forked (only Linux forks them: macOS' frameworks
    and Windows cannot)."""
    from .._memo import fork_cores

    cores = fork_cores()
    if not cores or n_jobs < 2:
        return 0
    return max(1, min(cores - int(alongside), MAX_FIGURE_WORKERS, n_jobs))


def _draw_and_save(job: tuple[Callable[[], Figure], Path, tuple[str, ...]]) -> list[Path]:
    import matplotlib.pyplot as plt

    make, stem, formats = job
    fig = make()
    try:
        return save_figure(fig, stem, formats=formats)
    finally:
        plt.close(fig)


def _draw_job(index: int | tuple[Callable[[], Figure], Path, tuple[str, ...]]
              ) -> tuple[list[Path], list[tuple[str, type[Warning], str, int]]]:
    """In a worker: draw and save figure ``index`` of :data:`_JOBS` (or the job itself,
    sent pickled), with the warnings it raised (the parent raises them again, under its
    own filters)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = _draw_and_save(_JOBS[index] if isinstance(index, int) else index)
    return paths, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def _pickles(job: Any) -> bool:
    import pickle

    try:
        pickle.dumps(job)
    except Exception:  # a lambda, a local function: drawn in the parent instead
        return False
    return True


class Awaited:
    """A value this process sends after the figure workers were forked, for a figure job
    that waits for it (the release audit's withheld panels for the transition chart, drawn
    once the audit ends rather than drawn before and again after). Read once, by the
    process that draws the job: a worker (through a pipe made before the fork) or this
    process (plain path, or a job :meth:`FigureDrawing.help` took back)."""

    def __init__(self) -> None:
        import multiprocessing

        self._reader, self._writer = multiprocessing.Pipe(duplex=False)
        self._pid = os.getpid()
        self._value: Any = None
        self._sent = False

    def send(self, value: Any) -> None:
        """Give the value (once; later calls are ignored). Keep it small: a worker reads it
        only when it reaches the job."""
        if not self._sent:
            self._sent, self._value = True, value
            self._writer.send(value)

    def get(self) -> Any:
        """The value (waits for :meth:`send` in a worker)."""
        if os.getpid() == self._pid:
            if not self._sent:
                raise RuntimeError("the awaited value was not sent")
            return self._value
        if not self._sent:
            self._sent, self._value = True, self._reader.recv()
        return self._value


class FigureDrawing:
    """Figures drawn and saved as :func:`save_figure` saves them, in worker processes
    while the caller does other work (the report writes its tables meanwhile), collected
    in order with :meth:`result`.

    On a machine with one core, or where processes are not forked, each figure is drawn
    in this process when its result is asked for (the plain path; ``workers=0`` asks for
    it). A worker's exception is raised by :meth:`result`, its warnings are warned again
    here. The files are the same either way (``tests/test_figures.py`` compares them).

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey.synthetic import load_sample_study
    >>> study = load_sample_study()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     jobs = [(lambda: flow_diagram(study), Path(folder) / "flow"),
    ...             (lambda: likert_chart(study, ["exp_listened"]), Path(folder) / "likert")]
    ...     with FigureDrawing(jobs, ("svg", "png")) as drawing:
    ...         names = [[p.name for p in drawing.result(i)] for i in range(len(jobs))]
    >>> names
    [['flow.svg', 'flow.png'], ['likert.svg', 'likert.png']]
    """

    def __init__(self, jobs: Sequence[tuple[Callable[[], Figure], Path]],
                 formats: Sequence[str] = FIGURE_FORMATS, *, workers: int | None = None,
                 alongside: bool = False, later: Collection[int] = ()) -> None:
        """``later``: the indices of jobs the workers take after all the others (a job
        that waits for something the caller is still computing)."""
        self._formats = tuple(formats)
        self._jobs = [(make, Path(stem), self._formats) for make, stem in jobs]
        n = (_figure_workers(len(self._jobs), alongside=alongside) if workers is None
             else workers)
        self._futures: list[Any] = []
        self._drawn: dict[int, list[Path]] = {}  # taken back from the workers (help)
        #: jobs submitted after the start that wait for an idle worker (a worker that takes
        #: one commits to it: the executor queues a job beyond each running one, out of
        #: :meth:`help`'s reach, so a job is handed over only when a worker is free)
        self._pending: list[int] = []
        self._workers = n
        self._pool: Any = None
        if n > 0:
            import multiprocessing
            import warnings
            from concurrent.futures import ProcessPoolExecutor

            if n > 1:  # imported here once, not in every worker (one worker imports it
                # itself, on its own core: this process may never need matplotlib)
                import matplotlib.pyplot  # noqa: F401

            _JOBS[:] = self._jobs  # inherited by the workers, forked at the first submit
            self._pool = ProcessPoolExecutor(max_workers=n,
                                             mp_context=multiprocessing.get_context("fork"))
            try:
                with warnings.catch_warnings():
                    # Python 3.12+ warns of any thread (pyarrow's, BLAS' idle pools); the
                    # workers only draw, and no Python thread runs while they are forked
                    warnings.filterwarnings("ignore", r"This process .* is multi-threaded",
                                            DeprecationWarning)
                    order = [i for i in range(len(self._jobs)) if i not in later]
                    order += [i for i in range(len(self._jobs)) if i in later]
                    futures = {i: self._pool.submit(_draw_job, i) for i in order}
                    self._futures = [futures[i] for i in range(len(self._jobs))]
            finally:
                _JOBS.clear()

    def submit(self, jobs: Sequence[tuple[Callable[[], Figure], Path]]) -> list[int]:
        """Add figures after the start; returns their indices for :meth:`result`. The
        workers, forked at the start, get each maker pickled (a ``functools.partial`` of a
        module-level function pickles; one that does not is drawn in this process when its
        result is asked for)."""
        first = len(self._jobs)
        for make, stem in jobs:
            job = (make, Path(stem), self._formats)
            if self._pool is not None and _pickles(job):
                self._pending.append(len(self._jobs))
            self._jobs.append(job)
            self._futures.append(None)
        self._feed()
        return list(range(first, len(self._jobs)))

    def _feed(self) -> None:
        """Hand the first waiting jobs to the idle workers, one each."""
        while self._pending and sum(f is not None and not f.done()
                                    for f in self._futures) < self._workers:
            i = self._pending.pop(0)
            self._futures[i] = self._pool.submit(_draw_job, self._jobs[i])

    def help(self) -> None:
        """Draw in this process the later half of the figures no worker has started yet,
        last first, and again while any are left, then the figures submitted later that
        no worker is free for: for a caller with nothing left to do but wait (its core
        would idle while the workers finish the queue)."""
        if self._pool is None:
            return
        while True:
            waiting = [i for i, f in enumerate(self._futures)
                       if f is not None and i not in self._drawn and not f.running()
                       and not f.done()]
            taken = [i for i in waiting[len(waiting) // 2:] if self._futures[i].cancel()]
            if not taken:
                break
            for i in reversed(taken):
                self._drawn[i] = _draw_and_save(self._jobs[i])
        # the jobs waiting for a worker: handed to any that is free, the rest drawn here,
        # last first (on the sample the worker draws the transition chart, 2.4 s, while
        # this process draws the forest plots and the tipping points)
        while self._pending:
            self._feed()
            if self._pending:
                i = self._pending.pop()
                self._drawn[i] = _draw_and_save(self._jobs[i])

    def result(self, index: int) -> list[Path]:
        """The files of figure ``index`` (waiting for its worker)."""
        if index in self._drawn:
            return list(self._drawn[index])
        if index in self._pending:
            self._pending.remove(index)
        self._feed()
        if self._pool is None or self._futures[index] is None:
            return _draw_and_save(self._jobs[index])
        import warnings

        paths, caught = self._futures[index].result()
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        return list(paths)

    def close(self) -> None:
        """Stop the workers (figures not yet drawn are not drawn)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FigureDrawing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
