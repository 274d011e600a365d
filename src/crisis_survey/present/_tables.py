"""Publication tables as data (private module).

Each builder returns a :class:`PublicationTable`: a frame of display strings with a stable,
documented schema (see ``docs/tables-and-figures.md``), a title, column spanners and notes,
plus ``values``, the published numbers behind the strings in tidy form. Renderers
(``_render.py``) only lay these out; nothing here is computed by a renderer, and no test
statistic is computed here: they come from :func:`crisis_survey.compare.compare_waves`,
the linkage report and :func:`crisis_survey.stats.proportion_ci`.

Every count passes through :func:`~crisis_survey.present._disclosure.suppress` before it is
formatted, so no count from 1 to ``threshold - 1`` reaches a table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._errors import CrisisSurveyError
from .._memo import remembered
from ..stats._registry import EFFECTS, NET_CHANGE, TESTS, effect_spec
from ._disclosure import (
    DEFAULT_THRESHOLD,
    DERIVED_MARKER,
    SUPPRESSED_MARKER,
    Suppression,
    default_protection,
    is_small,
    percent_reveals_small,
    protect_column,
    suppress,
    suppress_together,
    suppression_note,
)
from ._format import (
    MISSING,
    bounded_measure,
    format_count,
    format_estimate_ci,
    format_number,
    format_p,
    format_percent,
    format_statistic,
)
from ._style import TableStyle, table_style

if TYPE_CHECKING:
    from ..codebook import Codebook, Field
    from ..load import SurveyWave

__all__ = [
    "NOT_STATED",
    "LinkageSuppression",
    "PublicationTable",
    "Spanner",
    "change_table",
    "comparison_table",
    "distribution_table",
    "linkage_table",
    "protect_linkage_counts",
    "sample_table",
    "study_waves",
    "wave2_items_table",
]

#: Row label for respondents with no answer (blank, "prefer not to say") to a demographic.
NOT_STATED = "Not stated"


@dataclass(frozen=True, slots=True)
class Spanner:
    """A header spanning several columns (e.g. a wave over its groups).

    Examples
    --------
    >>> Spanner("Wave 1 (2014)", ("w1_su", "w1_carer"))
    Spanner(label='Wave 1 (2014)', columns=('w1_su', 'w1_carer'))
    """

    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class PublicationTable:
    """A table ready to render: display strings, title, header structure and notes.

    Attributes
    ----------
    name
        Short identifier (file stem, Excel sheet name): letters, digits, underscores.
    title
        The table's title (APA: italic title line under the bold table number).
    data
        Display strings only. One column per displayed column; ``stub`` holds the row
        labels and ``row_group`` (if any) the label of the group of rows each row belongs to.
    stub
        Name of the column of row labels.
    row_group
        Name of the column of row-group labels, or ``None``.
    column_labels
        Header text of each column (defaults to the column name).
    spanners
        Headers spanning several columns, left to right.
    notes
        Notes printed under the table (APA: general note first, then specific notes).
    values
        The published numbers behind the display strings in tidy form (``NaN``/``<NA>``
        where a value is withheld); the schema depends on the builder.
    number
        Table number ("Table 1"), or ``None``.

    Notes
    -----
    ``print(table)`` shows it as Markdown; in Jupyter it shows rendered as HTML, as in the
    report.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"item": ["Overall rating"], "w1": ["48.1"], "w2": ["61.5"]})
    >>> t = PublicationTable(name="demo", title="Top-two-box percentages", data=data,
    ...                      stub="item", column_labels={"w1": "2014 (%)", "w2": "2015 (%)"},
    ...                      notes=("Synthetic data.",)).numbered(1)
    >>> t
    <PublicationTable demo: Table 1, 1 rows x 2 columns>
    >>> print(t)
    **Table 1**
    <BLANKLINE>
    *Top-two-box percentages*
    <BLANKLINE>
    |  | 2014 (%) | 2015 (%) |
    |:---|---:|---:|
    | Overall rating | 48.1 | 61.5 |
    <BLANKLINE>
    *Note.* Synthetic data.
    """

    name: str
    title: str
    data: pd.DataFrame
    stub: str
    row_group: str | None = None
    column_labels: Mapping[str, str] = field(default_factory=dict)
    spanners: tuple[Spanner, ...] = ()
    notes: tuple[str, ...] = ()
    values: pd.DataFrame = field(default_factory=pd.DataFrame)
    number: int | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]+", self.name):
            raise CrisisSurveyError(
                f"table name {self.name!r} must use letters, digits and underscores only"
            )
        missing = [c for c in (self.stub, self.row_group) if c and c not in self.data.columns]
        if missing:
            raise CrisisSurveyError(f"columns {missing} are not in the table's data")
        for sp in self.spanners:
            bad = [c for c in sp.columns if c not in self.body_columns]
            if bad:
                raise CrisisSurveyError(f"spanner {sp.label!r} names unknown columns {bad}")

    def sheet(self) -> tuple[list[list[tuple[str, int]]],
                             list[tuple[str | None, list[tuple[str | float, str | None]]]]]:
        """The table as a spreadsheet stores it: header rows as ``(text, span)`` and body
        rows as ``(row-group label when a group starts, cells)``, each cell a number with
        its Excel number format, or a text with ``None``.

        Every number a display cell shows is stored as a number, exactly as shown (the
        published rounding; no more digits than the other formats give) and with a number
        format that shows it the same way (:func:`~crisis_survey.present._format.
        excel_number`). A column whose cells show several numbers (``"65 (48.1)"``,
        ``"r = .29 [.06, .47]"``, ``"434 / 258"``) becomes one spreadsheet column per
        number (headed ``n``, ``%``, ``low``, ``high``...), with a text column before them
        for a symbol (``r``, ``V``, ``χ²(1)``) when the cells name one. A cell with no
        number (withheld ``[c]``/``–``, missing ``—``, a p-value such as ``< .001`` or a
        band ``< .05``) keeps its text in the first of its columns.
        """
        from ._format import split_numbers

        body = self.body_columns
        records = self.data.to_dict("records")
        shapes: dict[str, tuple[str, ...]] = {}
        with_symbol: set[str] = set()
        parsed: dict[str, list[tuple[str, list[tuple[float, str]]] | None]] = {}
        for c in body:
            cells = [split_numbers(str(rec[c])) for rec in records]
            kinds = {cell[2] for cell in cells if cell is not None}
            if len(kinds) == 2 and ("",) in kinds:  # e.g. a count row above "n (%)" rows
                kinds.discard(("",))
            shape: tuple[str, ...] = ()
            if len(kinds) == 1:
                shape = next(iter(kinds))
                if any(cell is not None and cell[0] for cell in cells):
                    shape = ("", *shape)  # a symbol column first
                    with_symbol.add(c)
            elif kinds:
                cells = [None] * len(cells)  # mixed shapes: text as shown
            shapes[c] = shape
            parsed[c] = [None if cell is None else (cell[0], cell[1]) for cell in cells]
        width = {c: max(len(shapes[c]), 1) for c in body}
        top: list[tuple[str, int]] = [("", 1), *(
            (label, sum(width[c] for c in run)) for label, run in self.spanner_runs())]
        stub_label = self.label(self.stub) if self.stub in self.column_labels else ""
        head: list[list[tuple[str, int]]] = [top] if self.spanners else []
        head.append([(stub_label, 1)] + [(self.label(c), width[c]) for c in body])
        if any(len(shapes[c]) > 1 for c in body):
            sub: list[tuple[str, int]] = [("", 1)]
            for c in body:
                sub += [(label, 1) for label in shapes[c]] or [("", 1)]
            head.append(sub)
        rows: list[tuple[str | None, list[tuple[str | float, str | None]]]] = []
        current: object = object()
        for k, rec in enumerate(records):
            group = str(rec[self.row_group]) if self.row_group else None
            start = group if (group is not None and group != current and group != "") \
                else None
            current = group
            out: list[tuple[str | float, str | None]] = [(str(rec[self.stub]), None)]
            for c in body:
                cell = parsed[c][k]
                n = width[c]
                if cell is None:
                    out += [(str(rec[c]), None)] + [("", None)] * (n - 1)
                    continue
                symbol, numbers = cell
                part: list[tuple[str | float, str | None]] = []
                if c in with_symbol:
                    part.append((symbol, None))
                part += [(value, fmt) for value, fmt in numbers]
                out += part + [("", None)] * (n - len(part))
            rows.append((start, out))
        return head, rows

    @property
    def body_columns(self) -> list[str]:
        """The displayed columns after the stub, in order."""
        return [c for c in self.data.columns if c not in (self.stub, self.row_group)]

    def label(self, column: str) -> str:
        """Header text of ``column``."""
        return self.column_labels.get(column, column)

    @property
    def heading(self) -> str:
        """``"Table 1"`` (or empty when unnumbered)."""
        return f"Table {self.number}" if self.number is not None else ""

    def numbered(self, number: int) -> PublicationTable:
        """A copy with the table number set."""
        return dataclasses.replace(self, number=number)

    def spanner_of(self, column: str) -> str | None:
        for sp in self.spanners:
            if column in sp.columns:
                return sp.label
        return None

    def spanner_runs(self) -> list[tuple[str, list[str]]]:
        """The body columns in runs under one spanner: ``(label, columns)``, label ``""``
        for a column under none (each such column a run of its own)."""
        body = self.body_columns
        runs: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(body):
            sp = self.spanner_of(body[i])
            j = i
            while j + 1 < len(body) and sp is not None and self.spanner_of(body[j + 1]) == sp:
                j += 1
            runs.append((sp or "", list(body[i:j + 1])))
            i = j + 1
        return runs

    def to_frame(self) -> pd.DataFrame:
        """The display frame (a copy)."""
        return self.data.copy()

    def __str__(self) -> str:
        from ._render import to_markdown

        return to_markdown(self)

    def __repr__(self) -> str:
        heading = f"{self.heading}, " if self.heading else ""
        return (f"<PublicationTable {self.name}: {heading}{len(self.data)} rows x "
                f"{len(self.body_columns)} columns>")

    def _repr_html_(self) -> str:
        from ._render import to_html

        return to_html(self)


def _is_marker(text: str) -> bool:
    """A display string that stands for a withheld or missing value (no number)."""
    return text in (SUPPRESSED_MARKER, DERIVED_MARKER, MISSING) or text.startswith(
        ("<", "≥", ">"))


# -- inputs ---------------------------------------------------------------------------------
def study_waves(source: Any) -> tuple[SurveyWave, ...]:
    """The waves of a LinkedStudy, of a sequence of SurveyWaves, or of one SurveyWave."""
    from ..load import SurveyWave

    if isinstance(source, SurveyWave):
        return (source,)
    if hasattr(source, "wave1") and hasattr(source, "wave2"):
        return (source.wave1, source.wave2)
    if isinstance(source, Sequence) and source and all(
        isinstance(w, SurveyWave) for w in source
    ):
        return tuple(source)
    raise CrisisSurveyError(
        f"expected a LinkedStudy, a SurveyWave or a list of SurveyWaves; got "
        f"{type(source).__name__}"
    )


def _wave_title(codebook: Codebook, wave: int) -> str:
    try:
        label = codebook.wave_info(wave).label
    except KeyError:
        label = ""
    # "Wave 1 (2014)", but a label that only says the wave again ("wave 1") is not repeated
    plain = not label or label.strip().casefold() in (f"wave {wave}", f"wave{wave}", str(wave))
    return f"Wave {wave}" if plain else f"Wave {wave} ({label})"


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_") or "x"


def _codes(series: pd.Series, labels: Sequence[str]) -> np.ndarray:
    """Position of each value among ``labels``; -1 where missing or not a label.

    A categorical column (what ``load_wave`` makes of every coded field) is recoded through
    its few categories, one lookup per row; anything else goes through
    :func:`_codes_reference`, which hashes every value (a second a million rows)."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return _codes_reference(series, labels)
    position = {label: i for i, label in enumerate(labels)}
    table = np.array([position.get(c, -1) for c in series.cat.categories] + [-1],
                     dtype=np.int64)
    return table[np.asarray(series.cat.codes, dtype=np.int64)]  # code -1 -> the last entry


def _codes_reference(series: pd.Series, labels: Sequence[str]) -> np.ndarray:
    """:func:`_codes` by matching every value (the plain reference)."""
    cat = pd.Categorical(series.astype(object), categories=list(labels))
    return np.asarray(cat.codes, dtype=np.int64)


def _crosstab(rows: np.ndarray, n_rows: int, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Counts of (row, col) code pairs in one bincount; rows/cols of -1 are dropped."""
    ok = (rows >= 0) & (cols >= 0)
    flat = rows[ok] * n_cols + cols[ok]
    return np.bincount(flat, minlength=n_rows * n_cols).reshape(n_rows, n_cols)


def _row_of(frame: pd.DataFrame, label: Any) -> pd.Series:
    """One row of a frame as a Series (typed)."""
    out = frame.loc[label]
    if not isinstance(out, pd.Series):
        raise CrisisSurveyError(f"row {label!r} is not unique")
    return out


def _at(frame: pd.DataFrame, row: Any, col: Any) -> Any:
    return frame.at[row, col]


def _count_pct(count: str, pct: float, hidden: bool) -> str:
    if hidden:
        return count
    return f"{count} ({DERIVED_MARKER if np.isnan(pct) else format_percent(pct)})"


# -- (a) Table 1: the sample ------------------------------------------------------------------
def sample_table(
    source: Any,
    *,
    demographics: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> PublicationTable:
    """Describe the sample by wave and respondent group ("Table 1").

    Parameters
    ----------
    source
        A :class:`~crisis_survey.link.LinkedStudy`, or one or more
        :class:`~crisis_survey.load.SurveyWave`.
    demographics
        Demographic fields to describe (default: every ``demographic`` field of the codebook
        present in the data: age band, gender, ethnic group).
    threshold
        Disclosure threshold: counts from 1 to ``threshold - 1`` are withheld.
    hidden
        ``(group, variable)`` domains the release audit withholds whole (``"All"``: the
        All column; :func:`~crisis_survey.present._release.hidden_domains`): every level's
        count in both waves, the respondents kept.

    Returns
    -------
    PublicationTable
        ``data`` columns: ``variable`` (row group), ``level`` (stub), then one column per
        wave and group, ``w{wave}_{group}`` and ``w{wave}_all``, holding ``"n (%)"``.
        ``values`` columns: ``wave, group, variable, level, count, percent`` (published
        numbers; ``<NA>``/``NaN`` where withheld).

    Notes
    -----
    Percentages are of the column's respondents and include "Not stated" (no answer or
    "prefer not to say"), so each block sums to the column's n. Each demographic block of a
    wave is protected with its row and column totals; the column totals (the numbers of
    respondents) are shared by the blocks and withheld in all if withheld in one. The number
    of local areas counts areas with at least one respondent (not a count of people).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> t = sample_table(load_sample_study())
    >>> t.data.loc[0, ["level", "w1_all"]].tolist()
    ['Respondents', '658']
    """
    waves = study_waves(source)
    cb = waves[0].codebook
    groups = list(cb.group.labels)
    fields = [cb[name] for name in demographics] if demographics is not None else [
        f for f in cb.demographics()
    ]
    fields = [f for f in fields if all(f.name in w.data.columns for w in waves)]
    cols: list[str] = []
    labels: dict[str, str] = {}
    spanners: list[Spanner] = []
    rows: dict[tuple[str, str], dict[str, str]] = {}
    order: list[tuple[str, str]] = [("Sample", "Respondents")]
    for f in fields:
        order += [(f.label, lv) for lv in (*f.labels, NOT_STATED)]
    order.append(("Local areas", "Areas with at least one respondent"))
    records: list[dict[str, Any]] = []
    any_hidden = False
    for wave in waves:
        data = wave.data
        gcode = _codes(data[cb.group.name], groups)
        blocks = []
        for f in fields:
            lv = _codes(data[f.name], f.labels)
            lv = np.where(lv < 0, len(f.labels), lv)
            block = _crosstab(lv, len(f.labels) + 1, gcode, len(groups))
            blocks.append(pd.DataFrame(block, index=[*f.labels, NOT_STATED], columns=groups))
        if not blocks:
            blocks = [pd.DataFrame(
                np.bincount(gcode[gcode >= 0], minlength=len(groups))[None, :],
                index=["All"], columns=groups)]
        # the blocks of a wave share their totals row (the respondents per group)
        forces: list[pd.DataFrame | None] = []
        for f, frame in zip(fields, blocks, strict=False):
            whole = [("Total" if g == "All" else g) for g, v in hidden if v == f.name]
            whole = [g for g in whole if g in [*frame.columns, "Total"]]
            force = None
            if whole:
                force = pd.DataFrame(False, index=[*frame.index, "Total"],
                                     columns=[*frame.columns, "Total"])
                force.loc[list(frame.index), whole] = True
            forces.append(force)
        results = suppress_together(blocks, shared="Total", threshold=threshold,
                                    forces=forces if any(x is not None for x in forces)
                                    else None)
        ids = {g: f"w{wave.wave}_{_slug(g)}" for g in groups}
        ids["Total"] = f"w{wave.wave}_all"
        totals = _row_of(results[0].display(), "Total")
        for key, col in ids.items():
            cols.append(col)
            name = "All" if key == "Total" else key
            labels[col] = f"{name} (n = {totals[key]})"
        spanners.append(Spanner(_wave_title(cb, wave.wave), tuple(ids.values())))
        for key, col in ids.items():
            rows.setdefault(("Sample", "Respondents"), {})[col] = str(totals[key])
        for f, res in zip(fields, results, strict=False):
            shown = res.display()
            pct = res.percentages("columns")
            published = res.published()
            any_hidden |= res.any_suppressed
            for level in shown.index.drop("Total"):
                for key, col in ids.items():
                    masked = bool(res.mask.loc[level, key])
                    rows.setdefault((f.label, level), {})[col] = _count_pct(
                        str(_at(shown, level, key)), float(pct.loc[level, key]), masked)
                    records.append({
                        "wave": wave.wave, "group": "All" if key == "Total" else key,
                        "variable": f.name, "level": level,
                        "count": published.loc[level, key],
                        "percent": float(pct.loc[level, key]),
                    })
        if cb.area is not None and cb.area.name in data.columns:
            area = data[cb.area.name].astype(object)
            for key, col in ids.items():
                sel = area if key == "Total" else area[gcode == groups.index(key)]
                rows.setdefault(("Local areas", "Areas with at least one respondent"),
                                {})[col] = format_count(
                    int(sel.dropna().nunique()))
    body = pd.DataFrame(
        [{"variable": g, "level": lv, **rows.get((g, lv), {})} for g, lv in order
         if (g, lv) in rows],
        columns=["variable", "level", *cols],
    ).fillna(MISSING)
    notes = [
        "Values are n (%) of the respondents in each column. Not stated: no answer or "
        "'prefer not to say'.",
    ]
    if any_hidden:
        notes.append(suppression_note(threshold))
    values = pd.DataFrame(records, columns=["wave", "group", "variable", "level", "count",
                                            "percent"])
    return PublicationTable(
        name="sample", title="Respondents by survey wave and respondent group",
        data=body, stub="level", row_group="variable", column_labels=labels,
        spanners=tuple(spanners), notes=tuple(notes), values=values,
    )


# -- (b) linkage and attrition ----------------------------------------------------------------
_LINK_ROWS: dict[str, str] = {
    "linked": "Linked (in both waves)",
    "only": "Not linked: key found in this wave only",
    "duplicate": "Not linked: key shared by several rows",
    "conflict": "Not linked: respondent group differs between waves",
    "missing": "Not linked: no link key",
}


def _report_counts(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    report = getattr(source, "report", source)
    counts = getattr(report, "counts", None)
    if not isinstance(counts, pd.DataFrame):
        raise CrisisSurveyError(
            f"expected a LinkedStudy, a LinkageReport or its counts table; got "
            f"{type(source).__name__}"
        )
    return counts


def _link_keys(wave: int) -> dict[str, str]:
    """Row of ``LinkageReport.counts`` behind each category of a wave's linkage block."""
    return {"linked": "linked", "only": f"wave-{wave} only",
            "duplicate": f"duplicate keys wave {wave}",
            "conflict": f"group conflicts wave {wave}", "missing": f"missing key wave {wave}"}


@dataclass(frozen=True)
class LinkageSuppression:
    """The linkage counts after disclosure control: what every output publishes of them.

    :func:`linkage_table` (the report) and ``linkage_counts.csv`` (``crisis-survey link``)
    are both built from this, so they withhold the same cells and cannot be differenced.

    Attributes
    ----------
    waves
        Per wave, the block of categories (``linked``, ``only``, ``duplicate``,
        ``conflict``, ``missing``) by group, with totals ``"Total"`` (the respondents).
    excluded
        Per wave, the rows excluded at loading (one cell, primary suppression only: the
        rows read are not published beside it).
    area
        Linked pairs whose local area differs, by group with a ``"Total"`` column, or
        ``None`` when the report has no such row.
    groups
        The group columns of the counts, in order.
    """

    waves: Mapping[int, Suppression]
    excluded: Mapping[int, Suppression]
    area: Suppression | None
    groups: tuple[str, ...]

    @property
    def any_suppressed(self) -> bool:
        parts = [*self.waves.values(), *self.excluded.values()]
        if self.area is not None:
            parts.append(self.area)
        return any(s.any_suppressed for s in parts)

    def display(self, marker: str = SUPPRESSED_MARKER) -> pd.DataFrame:
        """Display strings in the layout of ``LinkageReport.counts`` (rows ``category``,
        columns ``All`` and the groups); ``marker`` where withheld, empty where the report
        has no count (excluded rows have no group)."""
        groups = list(self.groups)
        rows: dict[str, list[str]] = {}
        for w in (1, 2):
            shown = self.waves[w].display(marker)
            cells = {"Total": f"wave-{w} respondents", **_link_keys(w)}
            for key, name in cells.items():
                rows[name] = [str(_at(shown, key, g)) for g in ["Total", *groups]]
        for w in (1, 2):
            rows[f"excluded at loading wave {w}"] = [
                str(self.excluded[w].display(marker).iat[0, 0]), *([""] * len(groups))]
        if self.area is not None:
            shown = self.area.display(marker)
            rows["area differs (linked)"] = [str(_at(shown, "area", g))
                                             for g in ["Total", *groups]]
        order = ["wave-1 respondents", "wave-2 respondents", "linked", "wave-1 only",
                 "wave-2 only", "duplicate keys wave 1", "duplicate keys wave 2",
                 "group conflicts wave 1", "group conflicts wave 2", "missing key wave 1",
                 "missing key wave 2", "excluded at loading wave 1",
                 "excluded at loading wave 2", "area differs (linked)"]
        return pd.DataFrame([rows[r] for r in order if r in rows],
                            index=pd.Index([r for r in order if r in rows], name="category"),
                            columns=["All", *groups])


def protect_linkage_counts(
    source: Any, *, threshold: int = DEFAULT_THRESHOLD,
    force: Collection[tuple[str, str]] = frozenset(),
) -> LinkageSuppression:
    """Disclosure control of the linkage counts (see :func:`linkage_table`, Notes).

    Parameters
    ----------
    source, threshold, force
        As for :func:`linkage_table`.

    Returns
    -------
    LinkageSuppression

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> shown = protect_linkage_counts(load_sample_study()).display()
    >>> shown.loc["duplicate keys wave 2"].tolist()
    ['[c]', '[c]', '[c]']
    """
    counts = _report_counts(source)
    groups = [c for c in counts.columns if c != "All"]

    def row(name: str) -> pd.Series:
        if name not in counts.index:
            raise CrisisSurveyError(
                f"the linkage counts have no row {name!r}; expected LinkageReport.counts"
            )
        return _row_of(counts, name)

    blocks = []
    for w in (1, 2):
        keys = _link_keys(w)
        block = pd.DataFrame([row(keys[k])[groups].astype(float) for k in _LINK_ROWS],
                             index=list(_LINK_ROWS)).fillna(0).astype(np.int64)
        total = row(f"wave-{w} respondents")
        if not (block.sum(axis=0).to_numpy() == total[groups].to_numpy(dtype=float)).all() or \
                int(block.to_numpy().sum()) != int(total["All"]):
            raise CrisisSurveyError(
                f"wave {w}: linked + only + duplicate + conflict + missing does not add up to "
                "the wave's respondents in the linkage counts"
            )
        blocks.append(block)
    # cells the release audit withholds (secondary action across the release's outputs)
    forces: list[pd.DataFrame | None] = []
    for w, block in zip((1, 2), blocks, strict=True):
        rows = {v: k for k, v in _link_keys(w).items()}
        mask = pd.DataFrame(False, index=[*block.index, "Total"],
                            columns=[*block.columns, "Total"])
        for name, col in force:
            if name in rows and (col in block.columns or col == "All"):
                mask.at[rows[name], "Total" if col == "All" else col] = True
        forces.append(mask if mask.to_numpy().any() else None)
    # the linked respondents are a part of both waves: withheld in both or in neither
    one, two = suppress_together(blocks, shared="linked", threshold=threshold,
                                 forces=forces if any(f is not None for f in forces)
                                 else None)
    excluded = {}
    for w in (1, 2):
        excl = row(f"excluded at loading wave {w}")["All"]
        excluded[w] = suppress(pd.DataFrame({"All": [0 if pd.isna(excl) else int(excl)]}),
                               threshold=threshold, margins=False)
    area = None
    if "area differs (linked)" in counts.index:
        differs = row("area differs (linked)")[groups].fillna(0).astype(np.int64)
        area = suppress(pd.DataFrame([differs.to_numpy()], columns=groups, index=["area"]),
                        threshold=threshold, margins="column")
    return LinkageSuppression(waves={1: one, 2: two}, excluded=excluded, area=area,
                              groups=tuple(groups))


def linkage_table(
    source: Any,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    wave_labels: Mapping[int, str] | None = None,
    force: Collection[tuple[str, str]] = frozenset(),
) -> PublicationTable:
    """How the respondents of each wave were linked, by respondent group.

    Parameters
    ----------
    source
        A :class:`~crisis_survey.link.LinkedStudy`, its ``report``, or ``report.counts``.
    threshold
        Disclosure threshold.
    force
        ``(row, column)`` cells of the linkage counts (``LinkageReport.counts``' row names,
        e.g. ``"wave-1 only"``; a group or ``"All"``) to withhold whatever their value: the
        release audit's secondary action (:func:`~crisis_survey.present._release.
        hidden_linkage`).
    wave_labels
        Row-group labels per wave (default ``"Wave 1"``, ``"Wave 2"``, or with the fieldwork
        year when a study is given).

    Returns
    -------
    PublicationTable
        ``data`` columns: ``wave`` (row group), ``category`` (stub), ``all`` and one column
        per group (slug of its label), holding counts. ``values`` columns: ``wave,
        category, group, count`` (``<NA>`` where withheld or not applicable).

    Notes
    -----
    For each wave, the categories linked, wave-only, duplicate key, group conflict and
    missing key partition the wave's respondents (``LinkageReport.counts``); each wave's
    block is protected with its totals (respondents per group, and All), and the linked row,
    shared by the two blocks, is withheld in both if withheld in one. Rows excluded at
    loading have no group; they are subject to primary suppression only, and the number of
    rows read (respondents + excluded) is not shown, so they cannot be recovered. The
    linked pairs whose local area differs are protected with their total.
    :func:`protect_linkage_counts` does this; ``crisis-survey link`` publishes the same
    cells.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> t = linkage_table(load_sample_study())
    >>> t.data.loc[1, ["category", "all"]].tolist()
    ['Linked (in both waves)', '231']
    """
    protected = protect_linkage_counts(source, threshold=threshold, force=frozenset(force))
    groups = list(protected.groups)
    names = {1: "Wave 1", 2: "Wave 2"}
    cb = getattr(source, "codebook", None)
    if cb is not None:
        names = {w: _wave_title(cb, w) for w in (1, 2)}
    if wave_labels:
        names.update(wave_labels)
    ids = {g: _slug(g) for g in groups}
    out_rows: list[dict[str, str]] = []
    records: list[dict[str, Any]] = []
    for w in (1, 2):
        res = protected.waves[w]
        shown = res.display()
        published = res.published()
        for key, label in [("Total", "Respondents (rows kept)"), *_LINK_ROWS.items()]:
            r = {"wave": names[w], "category": label,
                 "all": str(_at(shown, key, "Total")),
                 **{ids[g]: str(_at(shown, key, g)) for g in groups}}
            out_rows.append(r)
            for g in ["Total", *groups]:
                records.append({"wave": w, "category": label,
                                "group": "All" if g == "Total" else g,
                                "count": published.loc[key, g]})
        ex = protected.excluded[w]
        out_rows.append({"wave": names[w], "category": "Excluded at loading (invalid rows)",
                         "all": str(ex.display().iat[0, 0]), **{ids[g]: MISSING for g in groups}})
        records.append({"wave": w, "category": "Excluded at loading (invalid rows)",
                        "group": "All", "count": ex.published().iat[0, 0]})
    if protected.area is not None:
        shown = protected.area.display()
        out_rows.append({"wave": "Linked pairs", "category": "Local area differs between waves",
                         "all": str(_at(shown, "area", "Total")),
                         **{ids[g]: str(_at(shown, "area", g)) for g in groups}})
    data = pd.DataFrame(out_rows, columns=["wave", "category", "all", *ids.values()])
    labels = {"all": "All", **{ids[g]: g for g in groups}}
    notes = ["Numbers of respondents (rows kept after validation). Rows sharing a link key "
             "within a wave, and keys whose respondent group differs between waves, are "
             "never linked."]
    if protected.any_suppressed:
        notes.append(suppression_note(threshold))
    values = pd.DataFrame(records, columns=["wave", "category", "group", "count"])
    return PublicationTable(
        name="linkage", title="Linkage of respondents across the two survey waves",
        data=data, stub="category", row_group="wave", column_labels=labels,
        notes=tuple(notes), values=values,
    )


# -- (c) the wave comparison ----------------------------------------------------------------
#: Short names of the tests in ``compare_waves``'s ``test`` column, and their definitions.
TEST_NAMES: dict[str, tuple[str, str]] = {
    name: (spec.abbreviation, spec.label) for name, spec in TESTS.items()
}

#: Human names of the p-value adjustments (``adjust_method``), for headers and notes.
ADJUST_NAMES: dict[str, str] = {
    "holm": "Holm's step-down method", "hochberg": "Hochberg's step-up method",
    "bh": "Benjamini–Hochberg false discovery rate", "by": "Benjamini–Yekutieli false "
    "discovery rate", "bonferroni": "Bonferroni's method",
}


def effect_symbol(measure: str) -> tuple[str, str]:
    """The symbol printed beside an effect size and its definition for the notes, from the
    registry (:data:`~crisis_survey.stats.EFFECTS`); an unknown measure prints as given."""
    spec = effect_spec(measure)
    if spec is None:
        return measure, measure
    return spec.symbol, spec.label

_DESIGN_LABELS: dict[str, str] = {
    "paired": "Paired (linked respondents)",
    "independent": "Independent (all respondents)",
    "overlapping": "Partially overlapping",
    "unlinked": "Unlinked (respondents in one wave only)",
}

#: What each design compares, for titles.
_DESIGN_TITLES: dict[str, str] = {
    "paired": "linked respondents (paired tests)",
    "independent": "all respondents of each wave (independent samples)",
    "overlapping": "all respondents at once (partially overlapping samples)",
    "unlinked": "respondents in one wave only (independent samples)",
}

COMPARISON_COLUMNS: tuple[str, ...] = (
    "n", "wave1", "wave2", "test", "statistic", "p", "p_adj", "effect",
)


#: The comparison table's net-change columns (paired ordinal rows; NaN elsewhere).
_NET_CHANGE_COLUMNS = ("net_change", "net_change_ci_low", "net_change_ci_high")


def _comparison_frame(comparison: Any) -> pd.DataFrame:
    table = getattr(comparison, "table", comparison)
    if not isinstance(table, pd.DataFrame):
        raise CrisisSurveyError(
            f"expected a WaveComparison or its table; got {type(comparison).__name__}"
        )
    needed = {"group", "item", "label", "design", "test", "n_wave1", "n_wave2", "n_pairs",
              "estimate_wave1", "estimate_wave2", "summary_measure", "statistic_name",
              "statistic", "df", "p_value", "p_adjusted", "adjust_method", "effect_measure",
              "effect_size", "ci_low", "ci_high"}
    missing = sorted(needed - set(table.columns))
    if missing:
        raise CrisisSurveyError(
            f"the comparison table lacks columns {missing}; expected compare_waves(...).table"
        )
    return table


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def _withheld_across_cells(sel: pd.DataFrame, threshold: int) -> set[tuple[Any, str]]:
    """The n's withheld so that a comparison by several columns (group x area) cannot be
    differenced: the cells sharing all but the last by-value (one group's areas) add up
    to that group's n, published elsewhere, so each line of n's is protected with its
    total (:func:`~crisis_survey.present._disclosure.suppress`, secondary suppression).
    Returns ``((group, item, design), n column)`` of the n's withheld beyond the small ones.
    """
    out: set[tuple[Any, str]] = set()
    labels = sel["group"].astype(str)
    if not labels.str.contains(" / ", regex=False).any():
        return out
    parent = labels.str.rsplit(" / ", n=1).str[0]
    for (_, item, design), rows in sel.assign(_parent=parent).groupby(
            ["_parent", "item", "design"], sort=False):
        if len(rows) < 2:
            continue
        for col in ("n_pairs",) if design == "paired" else ("n_wave1", "n_wave2"):
            n = pd.to_numeric(rows[col], errors="coerce").fillna(0).astype("int64")
            line = pd.DataFrame([n.to_numpy()], columns=range(len(rows)), index=["n"])
            mask = suppress(line, threshold=threshold, margins="column").mask
            for j, group in enumerate(rows["group"]):
                if bool(mask.iat[0, j]) and not is_small(int(n.to_numpy()[j]), threshold):
                    out.add(((group, item, design), col))
    return out


def _p_text(p: float, hidden: bool, banded: bool, style: TableStyle | None = None) -> str:
    """A row's p-value as published: exact, as a band, or withheld."""
    from ._release import p_band

    if banded and not np.isnan(p):
        return p_band(p)
    if hidden:
        return DERIVED_MARKER
    return format_p(None if np.isnan(p) else p, style=style)


def comparison_table(
    comparison: Any,
    *,
    designs: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
    layout: Literal["long", "wide", "strata"] = "long",
    threshold: int = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
    sources: Mapping[tuple[str, str, str], Any] | None = None,
    protection: int | None = None,
    style: str | TableStyle | None = None,
) -> PublicationTable:
    """The wave comparison per group, from :func:`~crisis_survey.compare.compare_waves`.

    Parameters
    ----------
    comparison
        A :class:`~crisis_survey.compare.WaveComparison` or its ``table``.
    designs
        Designs to show (default: all in the table, in the order paired, independent,
        overlapping).
    groups, items
        Restrict to these by-values / items (default: all).
    layout
        ``"long"``: one row per item and design (a ``design`` column); ``"wide"``: one row
        per item, the designs side by side under spanners; ``"strata"``: the groups side
        by side under spanners (gtsummary's ``tbl_strata``), one block of rows per design.
    threshold
        Disclosure threshold (see Notes).
    confidence
        Level of the effect-size intervals (for the header only; the intervals come from
        the comparison).
    sources
        The cells each row's test is computed from
        (:func:`~crisis_survey.present._release.comparison_sources`, keyed ``(group, item,
        design)``), for the derived-value rule; the report always passes them.
    protection
        The fewest values a small cell must keep (default
        :func:`~crisis_survey.present._disclosure.default_protection`).
    style
        The journal style of the numbers (``"apa"``, the default, or ``"medical"``).

    Returns
    -------
    PublicationTable
        ``data`` columns: ``group`` (row group), ``item`` (stub), [``design``], then per
        design ``n, wave1, wave2, test, statistic, p, p_adj, effect`` (prefixed
        ``{design}_`` in the wide layout). ``values`` is the comparison's rows shown, with
        the numbers as published (``NaN`` where withheld), in the order of the rows of
        ``data`` (long layout), with the net change of paired ordinal rows
        (``net_change``, ``net_change_ci_low``, ``net_change_ci_high``) and the difference
        of the wave percentages in points with its interval (``difference``,
        ``difference_low``, ``difference_high``: :data:`DIFFERENCE_COLUMNS`, the interval
        as :func:`change_table` shows it); ``p_adjusted_band`` is the band of a row whose
        adjusted p-value is published only as a band (``"< .05"``; else ``None``).

    Notes
    -----
    Wave columns show ``estimate_wave1/2`` (``summary_measure``: percentage in the top two
    levels of ordinal items, percentage answering the level a binary item reports, by default
    the level coded 1) to one
    decimal; statistics and effect sizes to two decimals (no leading zero for measures
    bounded by 1), p-values in APA style. Disclosure: an ``n`` from 1 to ``threshold - 1``
    is withheld, as is a percentage from which a count (or its complement) in that range
    could be worked out; in such a row the statistic, p-values and effect size are withheld
    as well, since with the n they can reveal the counts. With ``sources``, the
    derived-value rule applies too: a row whose cells include a count from 1 to
    ``threshold - 1`` publishes no statistic, effect size or interval, and its p-values
    only as a band (``< .05``...); its percentages are withheld when, with its n, they
    would narrow a small cell to fewer than ``protection`` values (linear programming).
    A paired ordinal row's net change is judged by the same rule on its own table (the
    pairs higher, the same and lower in wave 2): where the row's effect is withheld but the
    net change passes, the effect column shows it (``NC = .21 [.07, .34]``).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> from crisis_survey.compare import compare_waves
    >>> cmp = compare_waves(load_sample_study())
    >>> t = comparison_table(cmp, designs=["paired"])
    >>> t.data.loc[0, ["item", "n", "test", "p"]].tolist()
    ['Overall quality of crisis care', '135', 'Wilcoxon', '.013']
    """
    table = _comparison_frame(comparison)
    st = table_style(style)
    if layout not in ("long", "wide", "strata"):
        raise CrisisSurveyError(f"layout must be 'long', 'wide' or 'strata'; got {layout!r}")
    present = [d for d in ("paired", "independent", "overlapping", "unlinked")
               if d in set(table["design"])]
    present += [d for d in pd.unique(table["design"]) if d not in present]
    chosen = list(designs) if designs is not None else present
    unknown = [d for d in chosen if d not in present]
    if unknown:
        raise CrisisSurveyError(f"designs {unknown} are not in the comparison; found {present}")
    sel = table[table["design"].isin(chosen)]
    if groups is not None:
        sel = sel[sel["group"].isin(list(groups))]
    if items is not None:
        sel = sel[sel["item"].isin(list(items))]
    if sel.empty:
        raise CrisisSurveyError("no rows of the comparison match the designs, groups and items")
    item_order = list(pd.unique(sel["item"]))
    group_order = list(pd.unique(sel["group"]))
    cells: dict[tuple[Any, str, str], dict[str, str]] = {}
    published: list[dict[str, Any]] = []
    withheld = False
    any_banded = False
    any_net_change = False
    across = _withheld_across_cells(sel, threshold)
    tests: dict[str, str] = {}
    how: dict[str, set[str]] = {}  # test -> ways its p-values were found
    untested: set[str] = set()  # why rows shown without a test have none
    measures: dict[str, set[str]] = {}
    adjust = sorted({str(m) for m in sel["adjust_method"].dropna()})
    for rec in sel.to_dict("records"):
        design = str(rec["design"])
        n1, n2, npairs = (_num(rec[k]) for k in ("n_wave1", "n_wave2", "n_pairs"))
        e1, e2 = _num(rec["estimate_wave1"]), _num(rec["estimate_wave2"])
        pct = "%" in str(rec["summary_measure"])
        key = (rec["group"], rec["item"], design)
        source = None if sources is None else sources.get(
            (str(rec["group"]), str(rec["item"]), design))
        # a domain the release audit withholds whole: nothing of the row is shown
        domain = source is not None and bool(getattr(source, "hidden", False))
        small_n = {f: domain or is_small(v, threshold) or (key, f) in across
                   for f, v in (("n_wave1", n1), ("n_wave2", n2), ("n_pairs", npairs))}
        hide_n = any(small_n.values())
        hide_1 = hide_n or (pct and percent_reveals_small(e1, n1, threshold))
        hide_2 = hide_n or (pct and percent_reveals_small(e2, n2, threshold))
        need = default_protection(threshold) if protection is None else protection
        banded = source is not None and not hide_n and (
            not source.passes(threshold)
            or source.narrowest(True, (not hide_1, not hide_2), threshold, stats=True) < need)
        if banded and source is not None and source.narrowest(
                True, (not hide_1, not hide_2), threshold) < need:
            hide_1 = hide_2 = True
        hide_all = hide_n or hide_1 or hide_2 or banded
        withheld |= hide_all
        nc = tuple(_num(rec.get(k)) for k in _NET_CHANGE_COLUMNS)
        nc_source = None if source is None else source.net_change()
        # the net change reads the sums (up, same, down) of what the row's own test reads:
        # published with it, and where that is withheld if its three counts pass the rule
        nc_shown = not (np.isnan(nc[0]) or hide_n) and (not hide_all or (
            nc_source is not None and nc_source.passes(threshold) and nc_source.narrowest(
                True, (not hide_1, not hide_2), threshold, stats=True) >= need))
        if not nc_shown:
            nc = (float("nan"),) * 3
        diff = _shown_difference(design, pct, (npairs, npairs) if design == "paired" else
                                 (n1, n2), (e1, e2), hide_n or hide_1 or hide_2, source,
                                 statistic=not hide_all, change=nc_shown,
                                 threshold=threshold, need=need, confidence=confidence)
        any_banded |= banded and not hide_n
        if design == "paired" and not np.isnan(npairs):
            n_text = SUPPRESSED_MARKER if hide_n else format_count(npairs)
        else:
            n_text = " / ".join(SUPPRESSED_MARKER if small_n[f] else format_count(v)
                                for f, v in (("n_wave1", n1), ("n_wave2", n2)))
        test = str(rec["test"]) if rec["test"] is not None and not pd.isna(rec["test"]) else ""
        short, long_name = TEST_NAMES.get(test, (test, test.replace("_", " ")))
        measure = str(rec["effect_measure"]) if isinstance(rec["effect_measure"], str) else ""
        abbr, definition = effect_symbol(measure)
        es, lo, hi = (_num(rec[k]) for k in ("effect_size", "ci_low", "ci_high"))
        p, padj = _num(rec["p_value"]), _num(rec["p_adjusted"])
        stat, df = _num(rec["statistic"]), _num(rec["df"])
        p_raw, padj_raw = p, padj
        if hide_all:
            es = lo = hi = p = padj = stat = float("nan")
        if test and not (np.isnan(stat) and np.isnan(p_raw)):
            tests[short] = long_name
            if isinstance(rec.get("method"), str):
                how.setdefault(short, set()).add(str(rec["method"]))
        if not hide_all and np.isnan(p):
            reason = rec.get("reason")
            untested.add(str(reason) if isinstance(reason, str) else "too few answers")
        if measure and not np.isnan(es):
            measures.setdefault(abbr, set()).add(definition)
        digits_pct = 1
        w1 = DERIVED_MARKER if hide_1 else (
            format_number(e1, digits_pct) if pct else format_number(e1, 2))
        w2 = DERIVED_MARKER if hide_2 else (
            format_number(e2, digits_pct) if pct else format_number(e2, 2))
        effect = format_estimate_ci(es, lo, hi, 2, leading_zero=not bounded_measure(measure),
                                    style=st)
        if effect != MISSING and abbr:
            effect = f"{abbr}\u00a0=\u00a0{effect}"
        if hide_all and nc_shown:  # the net change stands in for the withheld effect
            nc_spec = EFFECTS[NET_CHANGE]
            effect = (f"{nc_spec.symbol}\u00a0=\u00a0" + format_estimate_ci(
                nc[0], nc[1], nc[2], 2, leading_zero=False, style=st))
            measures.setdefault(nc_spec.symbol, set()).add(nc_spec.label)
            any_net_change = True
        row = {
            "n": n_text, "wave1": w1, "wave2": w2,
            "test": short if test else MISSING,
            "statistic": DERIVED_MARKER if hide_all else format_statistic(
                str(rec["statistic_name"]), stat, df),
            "p": _p_text(p_raw, hide_all, banded and not hide_n, st),
            "p_adj": _p_text(padj_raw, hide_all, banded and not hide_n, st),
            "effect": DERIVED_MARKER if hide_all and not nc_shown else effect,
        }
        cells[(rec["group"], str(rec["item"]), design)] = row
        published.append({
            "group": rec["group"], "item": rec["item"], "design": design,
            "n_wave1": np.nan if small_n["n_wave1"] else n1,
            "n_wave2": np.nan if small_n["n_wave2"] else n2,
            "n_pairs": np.nan if hide_n else npairs,
            "estimate_wave1": np.nan if hide_1 else e1,
            "estimate_wave2": np.nan if hide_2 else e2,
            "statistic": stat, "p_value": p, "p_adjusted": padj,
            "effect_size": es, "ci_low": lo, "ci_high": hi,
            **dict(zip(_NET_CHANGE_COLUMNS, nc, strict=True)),
            **dict(zip(DIFFERENCE_COLUMNS, diff, strict=True)),
            # the adjusted p-value's band where only the band is published (the findings'
            # verdict of the row is read from it)
            "p_adjusted_band": row["p_adj"] if banded and not hide_n
            and not np.isnan(padj_raw) else None,
        })
    item_label = dict(zip(sel["item"], sel["label"], strict=False))
    rows: list[dict[str, str]] = []
    spanners: list[Spanner] = []
    labels = {"n": "n", "wave1": "Wave 1 (%)", "wave2": "Wave 2 (%)", "test": "Test",
              "statistic": "Statistic", "p": "p", "p_adj": "Adjusted p",
              "effect": f"Effect size {st.ci_header(round(confidence * 100))}"}
    if layout == "strata":
        # the groups side by side (gtsummary's tbl_strata), one block of rows per design
        columns = ["design", "item"]
        col_labels = {}
        strata_cols = [c for c in COMPARISON_COLUMNS if c != "test"]
        for gi, g in enumerate(group_order):
            ids = tuple(f"g{gi}_{c}" for c in strata_cols)
            spanners.append(Spanner(str(g), ids))
            col_labels.update({f"g{gi}_{c}": labels[c] for c in strata_cols})
            columns += list(ids)
        for d in chosen:
            for it in item_order:
                r3: dict[str, str] = {"design": _DESIGN_LABELS.get(d, d),
                                      "item": str(item_label[it])}
                for gi, g in enumerate(group_order):
                    r4 = cells.get((g, it, d), dict.fromkeys(COMPARISON_COLUMNS, MISSING))
                    r3.update({f"g{gi}_{c}": r4[c] for c in strata_cols})
                rows.append(r3)
    elif layout == "long":
        labels["design"] = "Design"
        for g in group_order:
            for it in item_order:
                for d in chosen:
                    r = cells.get((g, it, d))
                    if r is not None:
                        rows.append({"group": str(g), "item": str(item_label[it]),
                                     "design": _DESIGN_LABELS.get(d, d), **r})
        columns = ["group", "item", "design", *COMPARISON_COLUMNS]
        if len(chosen) == 1:
            columns.remove("design")
        col_labels = labels
    else:
        col_labels = {}
        for d in chosen:
            ids = tuple(f"{d}_{c}" for c in COMPARISON_COLUMNS)
            spanners.append(Spanner(_DESIGN_LABELS.get(d, d), ids))
            col_labels.update({f"{d}_{c}": labels[c] for c in COMPARISON_COLUMNS})
        for g in group_order:
            for it in item_order:
                r2: dict[str, str] = {"group": str(g), "item": str(item_label[it])}
                for d in chosen:
                    r = cells.get((g, it, d), dict.fromkeys(COMPARISON_COLUMNS, MISSING))
                    r2.update({f"{d}_{c}": v for c, v in r.items()})
                rows.append(r2)
        columns = ["group", "item", *[f"{d}_{c}" for d in chosen for c in COMPARISON_COLUMNS]]
    data = pd.DataFrame(rows, columns=columns)
    measures_txt = "; ".join(sorted({str(m) for m in sel["summary_measure"].dropna()}))
    notes = [
        f"Wave columns: {measures_txt}. n: linked respondents answering in both waves "
        "(paired design) or respondents answering in wave 1 / wave 2.",
    ]
    if tests:
        notes.append("Tests: " + "; ".join(f"{k}: {v}" for k, v in sorted(tests.items())) + ".")
    if how:
        notes.append("p-values: " + "; ".join(
            f"{k}: {' or '.join(sorted(v))}" for k, v in sorted(how.items())) + ".")
    if measures:
        notes.append("Effect sizes: " + "; ".join(
            f"{k} = {' or '.join(sorted(v))}" for k, v in sorted(measures.items())) + ".")
    if adjust:
        notes.append(
            "Adjusted p: p-values adjusted for multiple testing ("
            + ", ".join(ADJUST_NAMES.get(a, a) for a in adjust)
            + ") within each family of tests."
        )
    if (data == MISSING).to_numpy().any():
        why = "; ".join(sorted(untested)) or "too few answers"
        notes.append(f"{MISSING}: no test ({why}).")
    if withheld:
        notes.append(suppression_note(threshold) + " In such rows the test results are "
                     f"withheld too ({DERIVED_MARKER}).")
    if any_banded:
        notes.append(f"Where the table a test is computed from holds a count below "
                     f"{threshold}, its statistic and effect size are withheld and its "
                     "p-values are shown as a band (< .001, < .01, < .05 or ≥ .05)."
                     + (" Where that table holds such a count but the numbers of pairs "
                        "answering higher, the same and lower in wave 2 are each 0 or at "
                        f"least {threshold}, the effect column gives the net change (NC) "
                        "instead." if any_net_change else ""))
    title = "Change between the survey waves, by respondent group"
    if len(chosen) == 1:
        title += ": " + _DESIGN_TITLES.get(chosen[0], chosen[0])
    return PublicationTable(
        name="comparison_" + "_".join(chosen), title=title, data=data, stub="item",
        row_group="design" if layout == "strata" else "group",
        column_labels=col_labels, spanners=tuple(spanners), notes=tuple(notes),
        values=_display_order(pd.DataFrame(published), group_order, item_order, chosen),
    )


def _display_order(frame: pd.DataFrame, groups: list[Any], items: list[Any],
                   designs: list[str]) -> pd.DataFrame:
    """Rows in the order the table shows them (group, item, design)."""
    key = (frame["group"].map({g: i for i, g in enumerate(groups)}) * len(items)
           + frame["item"].map({t: i for i, t in enumerate(items)})) * len(designs) \
        + frame["design"].map({d: i for i, d in enumerate(designs)})
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


# -- (c2) the main table: the primary design, the groups side by side --------------------------
#: The difference columns of :func:`comparison_table`'s ``values``: wave 2 minus wave 1 in
#: percentage points, with its interval.
DIFFERENCE_COLUMNS = ("difference", "difference_low", "difference_high")


def _shown_difference(design: str, pct: bool, n: tuple[float, float],
                      estimates: tuple[float, float], hidden: bool, source: Any, *,
                      statistic: bool, change: bool, threshold: int, need: int,
                      confidence: float) -> tuple[float, float, float]:
    """A row's published difference in percentage points (wave 2 - wave 1) and its
    interval, or NaNs where it is not published.

    The difference follows from the two published percentages. Its interval: independent
    samples, from the published counts and ns alone (always shown with them); paired,
    from the pairs' 2 x 2 table of the counted level(s), whose four cells the interval
    reveals with the published n and percentages: shown only when each is 0 or at least
    ``threshold`` and, with what the row's statistic and net change publish beside it,
    no small cell of the pairs' table is narrowed below ``need`` values
    (:meth:`~crisis_survey.present._release.Source.difference`). The release audit sees
    those four sums (``present/_audit.py``) and withholds the interval with the row's
    statistics where the whole release narrows a count."""
    nan = float("nan")
    e1, e2 = estimates
    if not pct or hidden or np.isnan(e1) or np.isnan(e2):
        return nan, nan, nan
    diff = e2 - e1
    n1, n2 = n
    x1, x2 = float(np.rint(e1 * n1 / 100.0)), float(np.rint(e2 * n2 / 100.0))
    if design == "paired" and source is not None:
        dsource = source.difference(statistic=statistic, change=change)
        if not dsource.passes(threshold) or dsource.narrowest(
                True, (True, True), threshold, stats=True, protection=need) < need:
            return diff, nan, nan
    elif design != "independent":
        return diff, nan, nan
    lo, hi = _difference_ci(design, x1, n1, x2, n2, source, threshold, confidence)
    return diff, lo, hi


def _difference_ci(design: str, x1: float, n1: float, x2: float, n2: float, source: Any,
                   threshold: int, level: float) -> tuple[float, float]:
    """The interval of the difference in percentage points (wave 2 - wave 1), or NaNs.

    Independent samples: Newcombe's (1998) hybrid score interval (method 10) from the two
    Wilson intervals, R ``PropCIs::diffscoreci``'s companion ``wald2ci``-free formula
    (Newcombe 1998, Table II). Paired: Newcombe's method 10 for paired proportions from
    the pairs' 2 x 2 table of the counted level(s), published only when every cell of that
    table is 0 or at least ``threshold`` (the interval reads the table's cells)."""
    from ..stats._contingency import _newcombe_paired
    from ..stats._proportions import _wilson

    nan = (float("nan"), float("nan"))
    if design == "independent":
        if not (n1 > 0 and n2 > 0):
            return nan
        l1, u1 = _wilson(round(x1), round(n1), level)
        l2, u2 = _wilson(round(x2), round(n2), level)
        p1, p2 = x1 / n1, x2 / n2
        d = p2 - p1
        low = d - float(np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2))
        high = d + float(np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))
        return 100.0 * low, 100.0 * high
    if design == "paired" and source is not None:
        n11, n10, n01, n00 = source.two_by_two()
        if any(1 <= c < threshold for c in (n00, n01, n10, n11)) or n00 + n01 + n10 + n11 == 0:
            return nan
        _, low, high = _newcombe_paired(n00, n01, n10, n11, level)
        return 100.0 * low, 100.0 * high
    return nan


def _counted_level(measure: str) -> str:
    """What a percentage counts, from a comparison's ``summary_measure``: ``"% in top two
    levels (Good or Excellent)"`` -> ``"Good or Excellent"``, ``"% Yes"`` -> ``"Yes"``."""
    if "(" in measure and measure.endswith(")"):
        return measure[measure.index("(") + 1:-1]
    return measure[2:] if measure.startswith("% ") else ""


#: The columns of each group in :func:`change_table`.
CHANGE_COLUMNS: tuple[str, ...] = ("n", "wave1", "wave2", "difference", "effect", "p", "p_adj")


def change_table(
    comparison: Any,
    *,
    design: str = "paired",
    groups: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
    sources: Mapping[tuple[str, str, str], Any] | None = None,
    protection: int | None = None,
    style: str | TableStyle | None = None,
) -> PublicationTable:
    """The main comparison table: one design, n (%) per wave, the difference with its
    interval, the effect size and p-values, the respondent groups side by side.

    gtsummary's ``tbl_summary(by = wave) |> add_difference()`` inside ``tbl_strata(strata =
    group)``, with the disclosure control of :func:`comparison_table` (whose published
    numbers it shows: nothing withheld there is shown here).

    Parameters
    ----------
    comparison
        A :class:`~crisis_survey.compare.WaveComparison` or its ``table``.
    design
        The design shown (the plan's ``primary_design``); the others go to an appendix
        table (:func:`comparison_table` with ``layout="strata"``).
    groups, items
        Restrict to these by-values / items (default: all).
    threshold, confidence, sources, protection, style
        As for :func:`comparison_table`.

    Returns
    -------
    PublicationTable
        ``data`` columns: ``item`` (stub, with the level counted) and per group ``g{i}_n,
        g{i}_wave1, g{i}_wave2, g{i}_difference, g{i}_effect, g{i}_p, g{i}_p_adj``.
        ``values``: the columns of :func:`comparison_table`'s ``values`` (``group, item,
        design, n_wave1, n_wave2, n_pairs, estimate_wave1, estimate_wave2, statistic,
        p_value, p_adjusted, effect_size, ci_low, ci_high``) and ``count_wave1,
        count_wave2, difference, difference_low, difference_high`` (``NaN`` where
        withheld).

    Notes
    -----
    ``n (%)``: respondents giving the counted level(s) and their percentage of the
    column's n (complete pairs in the paired design). Difference: wave 2 minus wave 1 in
    percentage points, with Newcombe's method-10 interval (paired: for paired proportions,
    shown only when every cell of the pairs' 2 x 2 table of the counted level(s) is 0 or
    at least ``threshold`` and the interval narrows no small cell with the rest of the row
    and the release; independent: hybrid score interval, from the published counts); no
    interval for the overlapping design. The interval does not depend on whether the
    row's test statistic is published (an ordinal row whose pairs' table holds a small
    count shows its p-value as a band, and its difference interval all the same).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> from crisis_survey.compare import compare_waves
    >>> t = change_table(compare_waves(load_sample_study()), design="independent")
    >>> t.data.loc[0, ["item", "g0_wave1", "g0_wave2", "g0_difference"]].tolist()[1:]
    ['184 (42.4)', '146 (56.6)', '14.2 [6.5, 21.7]']
    >>> t.data.loc[0, "item"]
    'Overall quality of crisis care: Good or Excellent'
    """
    st = table_style(style)
    base = comparison_table(comparison, designs=[design], groups=groups, items=items,
                            threshold=threshold, confidence=confidence, sources=sources,
                            protection=protection, style=st)
    frame = _comparison_frame(comparison)
    sel = frame[frame["design"] == design].set_index(["group", "item"])
    level = round(confidence * 100)
    group_order = list(pd.unique(base.values["group"]))
    item_order = list(pd.unique(base.values["item"]))
    shown = {(str(r["group"]), str(r["item"])): d for r, d in zip(
        base.values.to_dict("records"), base.data.to_dict("records"), strict=True)}
    records: list[dict[str, Any]] = []
    cells: dict[tuple[str, str], dict[str, str]] = {}
    no_ci = False
    for rec in base.values.to_dict("records"):
        g, it = str(rec["group"]), str(rec["item"])
        raw = sel.loc[(rec["group"], rec["item"])]
        measure = str(raw["summary_measure"])
        pct = "%" in measure
        n1 = _num(rec["n_pairs"]) if design == "paired" else _num(rec["n_wave1"])
        n2 = _num(rec["n_pairs"]) if design == "paired" else _num(rec["n_wave2"])
        e1, e2 = _num(rec["estimate_wave1"]), _num(rec["estimate_wave2"])
        x1 = float(np.rint(e1 * n1 / 100.0)) if pct else float("nan")
        x2 = float(np.rint(e2 * n2 / 100.0)) if pct else float("nan")
        diff, lo, hi = (_num(rec[k]) for k in DIFFERENCE_COLUMNS)
        if not pct:
            diff = e2 - e1
        no_ci |= pct and not np.isnan(diff) and np.isnan(lo)
        d = shown[(g, it)]

        def wave(x: float, e: float, pct: bool = pct) -> str:
            if np.isnan(e):
                return DERIVED_MARKER
            if not pct:
                return format_number(e, 2)
            return f"{format_count(x)} ({format_percent(e)})"

        cells[(g, it)] = {
            "n": d["n"], "wave1": wave(x1, e1), "wave2": wave(x2, e2),
            "difference": DERIVED_MARKER if np.isnan(diff) else format_estimate_ci(
                diff, lo, hi, 1 if pct else 2, style=st),
            "effect": d["effect"], "p": d["p"], "p_adj": d["p_adj"],
        }
        records.append({
            **{str(k): v for k, v in rec.items()}, "count_wave1": x1, "count_wave2": x2,
            "difference": diff,
        })
    labels_of = dict(zip(frame["item"], frame["label"], strict=False))
    measure_of = dict(zip(sel.reset_index()["item"], sel["summary_measure"], strict=False))
    rows: list[dict[str, str]] = []
    for it in item_order:
        counted = _counted_level(str(measure_of.get(it, "")))
        stub = str(labels_of[it]) + (f": {counted}" if counted and counted != "Selected"
                                     else "")
        row = {"item": stub}
        for gi, g in enumerate(group_order):
            c = cells.get((str(g), str(it)), dict.fromkeys(CHANGE_COLUMNS, MISSING))
            row.update({f"g{gi}_{k}": v for k, v in c.items()})
        rows.append(row)
    header = {"n": "N" if design != "paired" else "N (pairs)",
              "wave1": "Wave 1, n (%)", "wave2": "Wave 2, n (%)",
              "difference": f"Difference {st.ci_header(level)}",
              "effect": f"Effect size {st.ci_header(level)}", "p": "p", "p_adj": "Adjusted p"}
    col_labels: dict[str, str] = {}
    spanners = []
    for gi, g in enumerate(group_order):
        ids = tuple(f"g{gi}_{k}" for k in CHANGE_COLUMNS)
        spanners.append(Spanner(str(g), ids))
        col_labels.update({f"g{gi}_{k}": header[k] for k in CHANGE_COLUMNS})
    data = pd.DataFrame(rows, columns=["item", *col_labels])
    notes = [
        "n (%): respondents giving the answer named after the item (a binary item: the "
        "level it reports; an ordinal item: its top two levels) and their percentage of N"
        + (", the linked respondents answering in both waves." if design == "paired" else
           " (respondents answering in wave 1 / wave 2)."),
        f"Difference: wave 2 minus wave 1 in percentage points, with Newcombe's "
        f"{'interval for paired proportions' if design == 'paired' else 'hybrid score interval'}"
        " (method 10); positive values mean more respondents gave the answer in wave 2.",
        *[n for n in base.notes if not n.startswith("Wave columns") and not n.startswith("n:")],
    ]
    if no_ci:
        notes.append(
            "A difference without an interval: "
            + ("the interval reads the pairs' 2 x 2 table of the answer counted, and that "
               f"table holds a count below {threshold}, or the interval would help narrow "
               "one with what else the release publishes." if design == "paired" else
               "the design has no interval for it."))
    values = pd.DataFrame(records)
    return PublicationTable(
        name=f"change_{design}",
        title="Change between the survey waves by respondent group: "
              + _DESIGN_TITLES.get(design, design),
        data=data, stub="item", column_labels=col_labels, spanners=tuple(spanners),
        notes=tuple(notes), values=values,
    )


# -- (c3) the full distribution of every item, per wave and group -------------------------------
def distribution_table(
    study: Any,
    comparison: Any,
    *,
    design: str = "paired",
    sources: Mapping[tuple[str, str, str], Any] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> PublicationTable:
    """Every level of every compared item: n (%) per wave, the respondent groups side by side.

    gtsummary's ``tbl_summary(by = wave)`` with every level shown, inside ``tbl_strata``:
    the full distribution behind the main table's percentages (:func:`change_table`).

    Parameters
    ----------
    study
        The :class:`~crisis_survey.link.LinkedStudy` compared.
    comparison
        Its :class:`~crisis_survey.compare.WaveComparison` (the items, groups and tests).
    design
        Whose answers are counted: ``"paired"`` (the complete pairs, as the main table) or
        ``"independent"`` (every respondent of each wave).
    sources
        :func:`~crisis_survey.present._release.comparison_sources` (counted again when
        not given).
    threshold
        Disclosure threshold.

    Returns
    -------
    PublicationTable
        ``data`` columns: ``item`` (row group), ``level`` (stub; the first row of each item
        is ``N``), and per group ``g{i}_wave1, g{i}_wave2`` holding ``"n (%)"``.
        ``values`` columns: ``group, item, level, wave, count, percent`` (``NaN`` where
        withheld).

    Notes
    -----
    Percentages are of N, the respondents (pairs) answering the item with one of its
    levels. Disclosure: in each group and wave, the levels the main table counts (an
    ordinal item's top two, a binary item's reported level) and the other levels are two
    blocks whose totals it publishes; each block is protected with its total by
    :func:`~crisis_survey.present._disclosure.suppress` (primary and secondary
    suppression), so no withheld count follows from this table and the main table
    together.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> from crisis_survey.compare import compare_waves
    >>> study = load_sample_study()
    >>> t = distribution_table(study, compare_waves(study), design="independent")
    >>> t.data.loc[0:1, ["level", "g0_wave1", "g0_wave2"]].values.tolist()
    [['N', '434', '258'], ['Very poor', '56 (12.9)', '27 (10.5)']]
    """
    if design not in ("paired", "independent"):
        raise CrisisSurveyError(f"design must be 'paired' or 'independent'; got {design!r}")
    from ._release import comparison_sources

    frame = _comparison_frame(comparison)
    if sources is None:
        sources = comparison_sources(study, comparison)
    cb = study.codebook
    items = [it for it in pd.unique(frame["item"]) if cb[str(it)].levels]
    groups = [str(g) for g in pd.unique(frame["group"])]
    rows: list[dict[str, str]] = []
    records: list[dict[str, Any]] = []
    any_hidden = False
    for it in items:
        f = cb[str(it)].oriented()
        k = len(f.labels)
        block: dict[str, dict[str, str]] = {lv: {} for lv in ["N", *f.labels]}
        for gi, g in enumerate(groups):
            src = sources.get((g, str(it), design))
            if src is None:
                for lv in block:
                    block[lv].update({f"g{gi}_wave1": MISSING, f"g{gi}_wave2": MISSING})
                continue
            cells = np.asarray(src.cells, dtype=np.int64)
            alone: tuple[Any, ...] = (None, None)
            if design == "paired":
                table = cells.reshape(k, k)
                counts = (table.sum(axis=1), table.sum(axis=0))
                top = np.asarray(src.top1, bool).reshape(k, k)[:, 0]
                # everyone's answers are published too (the independent design, the Likert
                # bars): a pairs' level count beside them gives the answers of those who
                # answered only in that wave, so it is withheld where those are small
                every = sources.get((g, str(it), "independent"))
                if every is not None:
                    e = np.asarray(every.cells, dtype=np.int64)
                    alone = (e[:k] - counts[0], e[k:] - counts[1])
            else:
                counts = (cells[:k], cells[k:])
                top = np.asarray(src.top1, bool)[:k]
            domain = bool(getattr(src, "levels_hidden", False))  # withheld by the audit
            for w, wave_counts in enumerate(counts, start=1):
                n = int(wave_counts.sum())
                col = f"g{gi}_wave{w}"
                rest = alone[w - 1]
                withheld = _protect_levels(
                    wave_counts, top, threshold,
                    None if rest is None else (rest >= 1) & (rest < threshold))
                withheld |= domain  # every level (its N is the comparison row's)
                n_small = is_small(n, threshold)
                any_hidden |= bool(withheld.any()) or n_small
                block["N"][col] = SUPPRESSED_MARKER if n_small else format_count(n)
                for j, lv in enumerate(f.labels):
                    hide = bool(withheld[j]) or n_small
                    c = int(wave_counts[j])
                    pct = 100.0 * c / n if n else float("nan")
                    block[lv][col] = SUPPRESSED_MARKER if hide else _count_pct(
                        format_count(c), pct, False)
                    records.append({"group": g, "item": it, "level": lv, "wave": w,
                                    "count": np.nan if hide else c,
                                    "percent": np.nan if hide else pct})
        for lv, cols in block.items():
            rows.append({"item": str(f.label), "level": lv, **cols})
    columns = ["item", "level", *[f"g{gi}_wave{w}" for gi in range(len(groups))
                                  for w in (1, 2)]]
    data = pd.DataFrame(rows, columns=columns).fillna(MISSING)
    wave_names = {1: _wave_title(cb, 1), 2: _wave_title(cb, 2)}
    labels = {f"g{gi}_wave{w}": wave_names[w] for gi in range(len(groups)) for w in (1, 2)}
    spanners = tuple(Spanner(g, (f"g{gi}_wave1", f"g{gi}_wave2"))
                     for gi, g in enumerate(groups))
    who = ("the linked respondents answering in both waves (pairs)" if design == "paired"
           else "the respondents of each wave answering the question")
    notes = [f"Values are n (%) of N, {who}; \"don't know\" and blanks are excluded."]
    if any_hidden:
        notes.append(suppression_note(threshold))
    return PublicationTable(
        name=f"distribution_{design}",
        title="Answers to every compared question by survey wave and respondent group",
        data=data, stub="level", row_group="item", column_labels=labels, spanners=spanners,
        notes=tuple(notes),
        values=pd.DataFrame(records, columns=["group", "item", "level", "wave", "count",
                                              "percent"]),
    )


def _protect_levels(counts: np.ndarray, top: np.ndarray, threshold: int,
                    force: np.ndarray | None = None) -> np.ndarray:
    """The levels of one group and wave that the distribution table withholds.

    The table publishes N, so all the levels are one line with a published total; the main
    table may publish the levels it counts (``top``) as a percentage, so those and the
    other levels are lines with their own totals too. Each line is protected with its
    total (:func:`~crisis_survey.present._disclosure.suppress`), a cell withheld in one
    withheld in all, until they agree. (Before, only the two blocks were protected: for a
    binary item each block is one cell, and N minus the published level gave the withheld
    one, e.g. 125 - 121 = 4 service users in the sample.) ``force``: levels withheld
    whatever their count."""
    k = len(counts)
    withheld = np.zeros(k, dtype=bool) if force is None else np.asarray(force, bool).copy()
    # the same counts recur in every round of the release audit: solved once per run
    key = ("protect_levels", np.asarray(counts, np.int64).tobytes(),
           np.asarray(top, bool).tobytes(), withheld.tobytes(), int(threshold))
    return remembered(key, lambda: _protect_lines(counts, top, threshold, withheld))


def _protect_lines(counts: np.ndarray, top: np.ndarray, threshold: int,
                   withheld: np.ndarray) -> np.ndarray:
    """:func:`_protect_levels`' lines protected with their totals until they agree."""
    k = len(counts)
    withheld = withheld.copy()
    lines = [np.arange(k), *(np.flatnonzero(part) for part in (top, ~top))]
    lines = [idx for idx in lines if idx.size]
    while True:
        before = withheld.copy()
        for idx in lines:  # suppress() of the column with its total, without the frames
            withheld[idx] |= protect_column(counts[idx], withheld[idx], threshold=threshold)
        if np.array_equal(before, withheld):
            return withheld


def _pool_areas(area: pd.Series, shown: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """Areas not in ``shown`` and respondents without an area pooled into one column, so
    the columns add up to the same total as the table by group (no differencing between
    tables)."""
    pooled = int((~area.dropna().astype(str).isin(list(shown))).sum())
    if not pooled and not area.isna().any():
        return area.astype(str), list(shown)
    label = "Other areas" if pooled else "Area not stated"
    if pooled and area.isna().any():
        label = "Other areas or not stated"
    return area.where(area.astype(str).isin(list(shown)), label), [*shown, label]


# -- (d) wave-2-only items ------------------------------------------------------------------
def _wave2(source: Any) -> SurveyWave:
    for w in study_waves(source):
        if w.wave == 2:
            return w
    raise CrisisSurveyError("wave2_items_table() needs the wave-2 data; none was given")


def wave2_items_table(
    source: Any,
    *,
    items: Sequence[str] | None = None,
    by: Literal["group", "area"] = "group",
    threshold: int = DEFAULT_THRESHOLD,
    min_area_n: int | None = None,
    confidence: float = 0.95,
) -> PublicationTable:
    """Percentages with Wilson confidence intervals for the items asked in wave 2 only.

    Parameters
    ----------
    source
        A :class:`~crisis_survey.link.LinkedStudy` or the wave-2
        :class:`~crisis_survey.load.SurveyWave`.
    items
        Items to show (default: every item asked only in wave 2 with levels, e.g.
        ``aware_concordat`` and ``local_change``).
    by
        ``"group"`` (columns per respondent group) or ``"area"`` (columns per local area).
    threshold
        Disclosure threshold.
    min_area_n
        With ``by="area"``, areas with fewer respondents than this are pooled into one
        column "Other areas" (default: ``threshold``).
    confidence
        Confidence level of the Wilson intervals.

    Returns
    -------
    PublicationTable
        ``data`` columns: ``item`` (row group), ``level`` (stub), ``all`` and one column per
        by-value, holding ``"% [CI]"`` (the first row of each item: n answering).
        ``values`` columns: ``item, level, column, count, n, percent, ci_low, ci_high``.

    Notes
    -----
    The denominator is the respondents who gave one of the item's levels ("don't know" and
    blanks excluded). The interval is Wilson's score interval from
    :func:`crisis_survey.stats.proportion_ci`, R ``prop.test(x, n, correct = FALSE)``. Counts
    are protected with their totals before any percentage is formed; a percentage is withheld
    when its count is withheld or its denominator is below the threshold.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> t = wave2_items_table(load_sample_study())
    >>> t.data.loc[0, ["level", "all"]].tolist()
    ['Respondents answering, n', '384']
    """
    from ..stats import proportion_ci

    wave = _wave2(source)
    cb = wave.codebook
    fields: list[Field]
    if items is None:
        fields = [f for f in cb.items(wave=2) if f.waves == (2,) and f.levels]
    else:
        fields = [cb[name] for name in items]
    fields = [f for f in fields if f.name in wave.data.columns]
    if not fields:
        raise CrisisSurveyError("none of the wave-2-only items is in the wave-2 data")
    n_shown = n_areas = 0
    if by == "group":
        by_field = cb.group
        values_by = list(by_field.labels)
        by_data = wave.data[by_field.name].astype(object)
    elif by == "area":
        if cb.area is None or cb.area.name not in wave.data.columns:
            raise CrisisSurveyError("by='area' needs an area column in the wave-2 data")
        area = wave.data[cb.area.name].astype(object)
        sizes = area.value_counts()
        n_areas = int(sizes.size)
        cut = threshold if min_area_n is None else min_area_n
        big = sorted(str(a) for a in sizes[sizes >= cut].index)
        # an area gets a column of its own only when every cell of it can be published:
        # a column of withheld cells says nothing, so such areas are pooled, and the
        # pooling repeats until every area shown is complete (the pooled column grows).
        # The pooled column is All minus the areas shown, and the table by group publishes
        # All: so it must be complete too, else the smallest area shown joins it (the
        # table then withholds nothing, and adds to the table by group only sums of
        # published counts)
        while True:
            by_data, values_by = _pool_areas(area, big)
            codes = _codes(by_data, values_by)
            incomplete: set[str] = set()
            pooled_incomplete = False
            for f in fields:
                lv = _codes(wave.data[f.name], f.labels)
                block = pd.DataFrame(_crosstab(lv, len(f.labels), codes, len(values_by)),
                                     index=list(f.labels), columns=values_by)
                mask = suppress(block, threshold=threshold).mask
                incomplete |= {a for a in big if bool(mask[a].any())}
                pooled_incomplete |= any(bool(mask[a].any()) for a in values_by
                                         if a not in big)
            if not incomplete and pooled_incomplete and big:
                size_of = {str(k): int(v) for k, v in sizes.items()}
                incomplete = {min(big, key=lambda a: (size_of[a], a))}
            if not incomplete:
                break
            big = [a for a in big if a not in incomplete]
        n_shown = len(big)
    else:
        raise CrisisSurveyError(f"by must be 'group' or 'area'; got {by!r}")
    bcode = _codes(by_data, values_by)
    ids = {v: _slug(v) for v in values_by}
    rows: list[dict[str, str]] = []
    records: list[dict[str, Any]] = []
    any_hidden = False
    for f in fields:
        lv = _codes(wave.data[f.name], f.labels)
        block = pd.DataFrame(_crosstab(lv, len(f.labels), bcode, len(values_by)),
                             index=list(f.labels), columns=values_by)
        res = suppress(block, threshold=threshold)
        any_hidden |= res.any_suppressed
        shown = res.display()
        n_row = {"item": f.label, "level": "Respondents answering, n",
                 "all": str(_at(shown, "Total", "Total")),
                 **{ids[v]: str(_at(shown, "Total", v)) for v in values_by}}
        rows.append(n_row)
        for level in f.labels:
            r = {"item": f.label, "level": level}
            for v in ["Total", *values_by]:
                col = "all" if v == "Total" else ids[v]
                count = int(_at(res.counts, level, v))
                n = int(_at(res.counts, "Total", v))
                n_hidden = bool(_at(res.mask, "Total", v))
                hidden = bool(_at(res.mask, level, v)) or n_hidden or n < threshold
                if hidden or n == 0:
                    r[col] = DERIVED_MARKER
                    pct = lo = hi = float("nan")
                else:
                    lo, hi = proportion_ci(count, n, method="wilson", confidence=confidence)
                    pct = 100.0 * count / n
                    lo, hi = 100.0 * lo, 100.0 * hi
                    r[col] = format_estimate_ci(pct, lo, hi, 1)
                records.append({"item": f.name, "level": level,
                                "column": "All" if v == "Total" else v,
                                "count": pd.NA if hidden else count,
                                "n": pd.NA if n_hidden else n,
                                "percent": pct, "ci_low": lo, "ci_high": hi})
            rows.append(r)
    data = pd.DataFrame(rows, columns=["item", "level", "all", *ids.values()])
    labels = {"all": "All", **{ids[v]: v for v in values_by}}
    if by == "area" and n_shown == 0:  # the pooled column would repeat "All"
        data = data[["item", "level", "all"]]
    level_pct = round(confidence * 100)
    notes = [
        f"Values are % [{level_pct}% CI] of the wave-2 respondents answering the question "
        "(\"don't know\" and blanks excluded); intervals are Wilson score intervals.",
    ]
    if by == "area":
        notes.append(
            f"{n_shown} of {n_areas} local areas have enough wave-2 respondents to show "
            f"every answer without withholding one (at least "
            f"{threshold if min_area_n is None else min_area_n} respondents and every "
            f"count 0 or at least {threshold}); the other {n_areas - n_shown} are pooled "
            "as 'Other areas', with respondents whose area is not stated.")
    if any_hidden:
        notes.append(suppression_note(threshold))
    values = pd.DataFrame(records, columns=["item", "level", "column", "count", "n",
                                            "percent", "ci_low", "ci_high"])
    title = "Questions asked in wave 2 only, by " + (
        "respondent group" if by == "group" else "local area")
    return PublicationTable(
        name=f"wave2_items_by_{by}", title=title, data=data, stub="level", row_group="item",
        column_labels=labels, notes=tuple(notes), values=values,
    )
