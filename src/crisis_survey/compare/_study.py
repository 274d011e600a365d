"""Reading a linked study once and counting answers per cell in one pass (private).

Everything :func:`~crisis_survey.compare.compare_waves` computes comes from integer counts:
for a categorical item with ``k`` levels and ``n_by`` by-cells, one ``np.bincount`` over the
key ``by * k + level`` per wave (independent design), one over ``by * k * k + x * k + y`` for
the linked pairs (paired design; the signed-rank test needs only the counts of each difference
``x - y``, which are sums along the diagonals of each ``k x k`` table), and one per wave over
the answers that have no partner (overlapping design). Numeric items use the same keys with
weighted bincounts (sums, then sums of squared deviations from the cell means).

Where the rows come from
    *paired*: linked respondents (``study.pairs``) who answered the item in both waves.
    *independent*: every kept respondent of each wave (``study.wave1.data`` and
    ``study.wave2.data``), linked or not.
    *overlapping*: the complete pairs as pairs; as unpaired observations each wave's
    ``study.unpaired(wave)`` rows plus the answer of a linked respondent whose answer in the
    other wave is missing.

Which by-value a row gets
    A wave's own value for its own rows (independent design, unpaired rows). A linked
    respondent is analysed under one value in the paired and overlapping designs: the
    ``("", "group")`` column of ``pairs`` for ``group`` (the wave-1 group, by the linkage
    contract) and the wave-1 value for any other by-column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError
from ..codebook import Codebook, Field
from ..load._wave import SurveyWave

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Missing-value kinds that are answers excluded from the tests and counted.
EXCLUDED_KINDS: tuple[str, ...] = ("dont_know", "not_applicable", "prefer_not_to_say")

__all__ = [
    "EXCLUDED_KINDS",
    "ItemCounts",
    "Layout",
    "StudyLike",
    "count_item",
    "make_layout",
]


class StudyLike(Protocol):
    """What :func:`compare_waves` reads from a :class:`~crisis_survey.link.LinkedStudy`."""

    @property
    def codebook(self) -> Codebook: ...

    @property
    def wave1(self) -> SurveyWave: ...

    @property
    def wave2(self) -> SurveyWave: ...

    @property
    def pairs(self) -> pd.DataFrame: ...

    def unpaired(self, wave: int) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Layout:
    """Row positions and by-cell codes shared by every item of one comparison."""

    by: tuple[str, ...]
    cells: tuple[str, ...]  # label of each by-cell ("Carer", "Carer / E01", ...)
    waves: tuple[SurveyWave, SurveyWave]
    by_wave: tuple[IntArray, IntArray]  # by-cell of every row of each wave (-1: no value)
    pair_pos: tuple[IntArray, IntArray]  # positions of the linked rows in each wave's data
    by_pair: IntArray  # by-cell of every pair
    unpaired_pos: tuple[IntArray, IntArray]  # positions of the unlinked rows

    @property
    def n_cells(self) -> int:
        return len(self.cells)


def _positions(index: pd.Index, wanted: pd.Index, what: str) -> IntArray:
    pos = np.asarray(index.get_indexer(wanted), dtype=np.int64)
    if (pos < 0).any():
        raise CrisisSurveyError(
            f"{int((pos < 0).sum())} {what} could not be found among the wave's kept rows; "
            "expected the linked study to have been built from these waves"
        )
    return pos


def _by_levels(codebook: Codebook, column: str, values: Sequence[pd.Series]) -> list[str]:
    if column in codebook and codebook[column].levels:
        field = codebook[column]
        return list(field.labels)
    seen: set[str] = set()
    for v in values:
        seen.update(str(x) for x in pd.unique(v.dropna()))
    return sorted(seen)


def _codes(series: pd.Series, levels: list[str]) -> IntArray:
    if isinstance(series.dtype, pd.CategoricalDtype) and list(
        series.cat.categories.astype(str)
    ) == levels:
        return np.asarray(series.cat.codes, dtype=np.int64)
    as_text = series.astype("string")
    cat = pd.Categorical(as_text, categories=levels)
    return np.asarray(cat.codes, dtype=np.int64)


def make_layout(study: StudyLike, by: tuple[str, ...]) -> Layout:
    """Locate linked/unlinked rows in each wave and code every row's by-cell."""
    waves = (study.wave1, study.wave2)
    pairs = study.pairs
    ident = study.codebook.identifier.name
    for column in by:
        for w in waves:
            if column not in w.data.columns:
                raise CrisisSurveyError(
                    f"by column {column!r} is not in wave {w.wave} ({w.source}); expected one "
                    f"of {', '.join(map(str, w.data.columns))}"
                )
    pair_pos = tuple(
        _positions(
            pd.Index(w.data[ident]), pd.Index(pairs[(w.wave, ident)]), "linked respondents"
        )
        for w in waves
    )
    unpaired_pos = tuple(
        _positions(w.data.index, study.unpaired(w.wave).index, "unlinked rows") for w in waves
    )
    n_cells = 1
    by_wave = [np.zeros(len(w.data), dtype=np.int64) for w in waves]
    by_pair = np.zeros(len(pairs), dtype=np.int64)
    labels: list[str] = [""]
    for column in by:
        pair_values = (
            pairs[("", column)] if ("", column) in pairs.columns else pairs[(1, column)]
        )
        levels = _by_levels(study.codebook, column, [w.data[column] for w in waves])
        k = len(levels)
        for i, w in enumerate(waves):
            c = _codes(w.data[column], levels)
            by_wave[i] = np.where((by_wave[i] < 0) | (c < 0), -1, by_wave[i] * k + c)
        c = _codes(pair_values.reset_index(drop=True), levels)
        by_pair = np.where((by_pair < 0) | (c < 0), -1, by_pair * k + c)
        labels = [f"{a} / {b}" if a else b for a in labels for b in levels]
        n_cells *= k
    # keep only by-cells that hold at least one respondent
    present = np.zeros(n_cells, dtype=bool)
    for arr in (*by_wave, by_pair):
        present[arr[arr >= 0]] = True
    new_code = np.cumsum(present) - 1
    new_code = np.where(present, new_code, -1)

    def recode(arr: IntArray) -> IntArray:
        return np.where(arr >= 0, new_code[np.maximum(arr, 0)], -1).astype(np.int64)

    return Layout(
        by=by,
        cells=tuple(lab for lab, p in zip(labels, present, strict=True) if p),
        waves=waves,
        by_wave=(recode(by_wave[0]), recode(by_wave[1])),
        pair_pos=(pair_pos[0], pair_pos[1]),
        by_pair=recode(by_pair),
        unpaired_pos=(unpaired_pos[0], unpaired_pos[1]),
    )


# -- per-item answers -----------------------------------------------------------------------
def item_values(wave: SurveyWave, field: Field) -> tuple[IntArray | FloatArray, BoolArray]:
    """Level positions (categorical; -1 missing) or floats (numeric; NaN missing), and a mask
    of the answers that were an excluded missing code ("don't know", ...)."""
    column = wave.data[field.name]
    values: IntArray | FloatArray
    if field.levels:
        values = _codes(column, list(field.labels))
    else:
        values = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    reasons = wave.missing_reasons
    if field.name in reasons.columns:
        coded = np.asarray(reasons[field.name].isin(EXCLUDED_KINDS), dtype=bool)
    else:
        coded = np.zeros(len(column), dtype=bool)
    return values, coded


@dataclass(frozen=True)
class ItemCounts:
    """Counts (categorical items) or moments (numeric items) of one item for every by-cell.

    Categorical: ``indep[w]`` is ``(n_cells, k)``; ``table`` is ``(n_cells, k, k)`` (wave-1
    level by wave-2 level of the complete pairs); ``alone[w]`` is ``(n_cells, k)``, the
    overlapping design's unpaired answers. Numeric: ``indep[w]``/``alone[w]`` are
    ``(n_cells, 3)`` columns ``n, mean, sum of squared deviations``; ``table`` is
    ``(n_cells, 6)``: ``n, mean_x, mean_y, ssd_x, ssd_y, sum of cross-deviations``, plus
    ``diff`` ``(n_cells, 3)``, the moments of ``x - y``.
    """

    indep: tuple[FloatArray, FloatArray]
    table: FloatArray
    alone: tuple[FloatArray, FloatArray]
    diff: FloatArray | None
    excluded_indep: IntArray
    excluded_paired: IntArray
    excluded_overlap: IntArray


def _bincount(key: IntArray, size: int, weights: FloatArray | None = None) -> FloatArray:
    return np.bincount(key, weights=weights, minlength=size)[:size].astype(np.float64)


def _moments(cell: IntArray, v: FloatArray, n_cells: int) -> FloatArray:
    """Per cell: count, mean, and sum of squared deviations (two passes)."""
    n = _bincount(cell, n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _bincount(cell, n_cells, v) / n
    ssd = _bincount(cell, n_cells, (v - mean[cell]) ** 2)
    return np.column_stack([n, mean, ssd])


def count_item(layout: Layout, field: Field) -> ItemCounts:
    """All counts of one item for every by-cell and design, in one pass per source."""
    n_cells = layout.n_cells
    (v1, e1), (v2, e2) = (item_values(w, field) for w in layout.waves)
    vals = (v1, v2)
    coded = (e1, e2)
    categorical = bool(field.levels)
    k = len(field.levels)

    def present(v: IntArray | FloatArray) -> BoolArray:
        return np.asarray(v >= 0 if categorical else ~np.isnan(v), dtype=bool)

    def tally(cell: IntArray, v: IntArray | FloatArray) -> FloatArray:
        ok = (cell >= 0) & present(v)
        if categorical:
            key = cell[ok] * k + v[ok].astype(np.int64)
            return _bincount(key, n_cells * k).reshape(n_cells, k)
        return _moments(cell[ok], np.asarray(v[ok], dtype=np.float64), n_cells)

    indep = (tally(layout.by_wave[0], v1), tally(layout.by_wave[1], v2))
    excluded_indep = sum(
        (np.bincount(b[(b >= 0) & c], minlength=n_cells)[:n_cells] for b, c in
         zip(layout.by_wave, coded, strict=True)),
        start=np.zeros(n_cells, dtype=np.int64),
    )

    x = vals[0][layout.pair_pos[0]]
    y = vals[1][layout.pair_pos[1]]
    bp = layout.by_pair
    okp = bp >= 0
    px, py = present(x), present(y)
    both = okp & px & py
    diff: FloatArray | None = None
    if categorical:
        key = bp[both] * (k * k) + x[both].astype(np.int64) * k + y[both].astype(np.int64)
        table = _bincount(key, n_cells * k * k).reshape(n_cells, k, k)
    else:
        cb = bp[both]
        xf, yf = np.asarray(x[both], dtype=np.float64), np.asarray(y[both], dtype=np.float64)
        mx, my = _moments(cb, xf, n_cells), _moments(cb, yf, n_cells)
        cross = _bincount(cb, n_cells, (xf - mx[cb, 1]) * (yf - my[cb, 1]))
        table = np.column_stack([mx[:, 0], mx[:, 1], my[:, 1], mx[:, 2], my[:, 2], cross])
        diff = _moments(cb, xf - yf, n_cells)
    excl_pairs = (
        np.bincount(bp[okp & coded[0][layout.pair_pos[0]]], minlength=n_cells)[:n_cells]
        + np.bincount(bp[okp & coded[1][layout.pair_pos[1]]], minlength=n_cells)[:n_cells]
    )

    alone_list = []
    excl_overlap = excl_pairs.copy()
    for w, (mine, other) in enumerate(((x, py), (y, px))):
        pos = layout.unpaired_pos[w]
        cell_u = layout.by_wave[w][pos]
        val_u = vals[w][pos]
        lone = okp & present(mine) & ~other
        cell = np.concatenate([cell_u, bp[lone]])
        val = np.concatenate([val_u, mine[lone]])
        alone_list.append(tally(cell, val))
        c_u = coded[w][pos]
        excl_overlap = excl_overlap + np.bincount(
            cell_u[(cell_u >= 0) & c_u], minlength=n_cells
        )[:n_cells]
    return ItemCounts(
        indep=indep,
        table=table,
        alone=(alone_list[0], alone_list[1]),
        diff=diff,
        excluded_indep=np.asarray(excluded_indep, dtype=np.int64),
        excluded_paired=np.asarray(excl_pairs, dtype=np.int64),
        excluded_overlap=np.asarray(excl_overlap, dtype=np.int64),
    )
