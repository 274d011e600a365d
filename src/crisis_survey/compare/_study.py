"""Reading a linked study once and counting answers per cell in one pass (private).

Everything :func:`~crisis_survey.compare.compare_waves` computes comes from integer counts.
The layout (built once per call) gives every row of each wave its by-cell and a flag saying
whether it is linked, and every linked pair the positions of its two rows. Per categorical
item with ``k`` levels, each answer becomes a *slot*: ``1..k`` for the levels, ``k + 1`` for
an excluded missing code ("don't know", "not applicable", "prefer not to say") and ``0`` for
any other missing answer (``S = k + 2`` slots). Then:

* a histogram per wave of ``(cell * 2 + linked) * S + slot`` (``S`` slots) gives the
  independent design's counts (both flags), the overlapping design's unpaired counts (flag 0)
  and the excluded missing codes;
* a histogram over the pairs of ``cell * S * S + slot_1 * S + slot_2`` gives the
  ``k x k`` table of complete pairs per cell (the signed-rank test reads the counts of each
  difference ``x - y`` off its diagonals), the answers of pairs with one side missing
  (overlapping design) and the excluded codes of the paired design.

Slots and keys are small unsigned integers, and the histograms are counted by the compiled
kernels of :mod:`crisis_survey._jit` (one pass per item and wave builds its slots and folds
them into its wave pack's key and its pair pack's row key; one pass per wave pack counts the
rows, one pass per pair pack the pairs), which release the GIL, so the packs are counted on
two threads at once; ``docs/performance.md`` has the measurements. Numeric items use the
same cells with weighted bincounts (sums, then sums of squared deviations from the cell means).

Where the rows come from
    *paired*: linked respondents (``study.pairs``) who answered the item in both waves.
    *independent*: every kept respondent of each wave (``study.wave1.data`` and
    ``study.wave2.data``), linked or not.
    *overlapping*: the complete pairs as pairs; as unpaired observations each wave's
    unlinked rows (``study.unpaired(wave)``: every kept row that is not in a pair) plus the
    answer of a linked respondent whose answer in the other wave is missing.

Which by-value a row gets
    A wave's own value for its own rows (independent design, unpaired rows). A linked
    respondent is analysed under one value in the paired and overlapping designs: the
    ``("", "group")`` column of ``pairs`` for the field whose role is group (the wave-1 group,
    by the linkage contract) and the wave-1 value for any other by-column.

Where the pairs' rows are
    A :class:`~crisis_survey.link.LinkedStudy` fresh from ``link_waves`` keeps the positions
    the linker found; after ``subset`` (or for a study without them) ``source_rows()`` gives
    the two source row numbers of every pair. Either way respondent identifiers at a spread
    of pairs are checked against ``pairs``. Any other study-like object (or a failed check)
    is matched on the identifier column, which costs a hash join.

Packing
    Several items share one count: their slots are digits of one mixed-radix key
    (``_PACK_BINS`` bounds the joint table), and each item's counts are margins of it. A
    counting pass over a million keys costs about the same for 300 or 200,000 bins, so this
    makes the counting several times cheaper than one pass per item. The pairs' packs are
    runs of items whose ``slots ** 2`` fit; each wave's pass writes every row's key of its
    items' pair pack (their slots, mixed radix), so a pair pass reads one key of each wave
    per pair and pack (the rows of wave 2 are in no order of the pairs', so these reads are
    scattered: one per pack, not one per item). The wave packs are runs of whole pair packs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import _jit
from .._errors import CrisisSurveyError
from ..codebook import Codebook, Field
from ..load._wave import SurveyWave

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Missing-value kinds that are answers excluded from the tests and counted.
EXCLUDED_KINDS: tuple[str, ...] = ("dont_know", "not_applicable", "prefer_not_to_say")

#: Threads that count the two waves and the pairs at once (see :func:`_count_categorical`).
_THREADS = max(1, min(2, os.cpu_count() or 1))

#: How many pairs' respondent identifiers are compared with ``pairs`` when the positions come
#: from the linker or from ``source_rows()``.
_CHECKED_PAIRS = 257

__all__ = [
    "EXCLUDED_KINDS",
    "ItemCounts",
    "Layout",
    "StudyLike",
    "count_items",
    "item_values",
    "make_layout",
    "resolve_by",
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


def _small_uint(top: int) -> type[np.unsignedinteger[Any]] | type[np.int64]:
    """The narrowest unsigned type holding ``0..top`` (int64 beyond uint32)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return dtype
    return np.int64


@dataclass(frozen=True)
class Layout:
    """Row positions and by-cell codes shared by every item of one comparison.

    Cell codes run ``0..n_cells - 1``; ``n_cells`` marks a row without a by-value (counted in
    a spare cell that no result reads).
    """

    by: tuple[str, ...]
    cells: tuple[str, ...]  # label of each by-cell ("Carer", "Carer / E01", ...)
    waves: tuple[SurveyWave, SurveyWave]
    cell_wave: tuple[IntArray, IntArray]  # by-cell of every row of each wave
    linked: tuple[BoolArray, BoolArray]  # row is one side of a pair
    pair_pos: tuple[IntArray, IntArray]  # positions of the pairs' rows in each wave's data
    cell_pair: IntArray  # by-cell of every pair
    pairs: pd.DataFrame  # study.pairs
    reasons_aligned: tuple[bool, bool]  # missing_reasons has the data's index (positional)

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def by_wave(self) -> tuple[IntArray, IntArray]:
        """By-cell of every row of each wave, -1 where the row has no by-value."""
        n = self.n_cells
        a, b = (np.where(c < n, c, -1) for c in self.cell_wave)
        return a, b

    @property
    def by_pair(self) -> IntArray:
        """By-cell of every pair, -1 where the pair has no by-value."""
        return np.where(self.cell_pair < self.n_cells, self.cell_pair, -1)

    def row_keys(self, wave: int) -> npt.NDArray[Any]:
        """``cell * 2 + linked`` of every row of wave ``wave`` (1 or 2), the first digit of the
        counting keys, in the narrowest unsigned type."""
        cells = self.cell_wave[wave - 1]
        out = np.empty(len(cells), dtype=_small_uint(2 * (self.n_cells + 1) - 1))
        _jit.kernels_for(len(cells)).row_keys(out, cells, self.linked[wave - 1])
        return out


def _row_positions(index: pd.Index, rows: npt.NDArray[Any]) -> IntArray | None:
    """Positions of source row numbers in a wave's (increasing) row index, or None."""
    if not (pd.api.types.is_integer_dtype(index.dtype) and index.is_monotonic_increasing):
        return None
    idx = np.asarray(index, dtype=np.int64)
    if idx.size == 0:
        return None if rows.size else np.zeros(0, dtype=np.int64)
    if idx[-1] - idx[0] == idx.size - 1:  # consecutive row numbers: a subtraction
        pos = rows - idx[0]
        ok = (pos >= 0) & (pos < idx.size)
    else:
        pos = np.searchsorted(idx, rows)
        ok = pos < idx.size
        ok[ok] = idx[pos[ok]] == rows[ok]
    return np.asarray(pos, dtype=np.int64) if bool(ok.all()) else None


def _sample_agrees(ids: pd.Series, pos: IntArray, paired_ids: pd.Series) -> bool:
    """Do the identifiers at a spread of pairs match ``pairs``?"""
    n = len(pos)
    if n == 0:
        return True
    at = np.unique(np.linspace(0, n - 1, min(n, _CHECKED_PAIRS)).astype(np.int64))
    left = np.asarray(ids.array.take(pos[at]), dtype=object).astype(str)
    right = np.asarray(paired_ids.array.take(at), dtype=object).astype(str)
    return bool(np.array_equal(left, right))


def _positions_by_identifier(index: pd.Index, wanted: pd.Index, what: str) -> IntArray:
    pos = np.asarray(index.get_indexer(wanted), dtype=np.int64)
    if (pos < 0).any():
        raise CrisisSurveyError(
            f"{int((pos < 0).sum())} {what} could not be found among the wave's kept rows; "
            "expected the linked study to have been built from these waves"
        )
    return pos


def _source_positions(study: StudyLike, n_pairs: int) -> tuple[IntArray, IntArray] | None:
    """The pairs' row positions from the study's ``source_rows()`` (row numbers), if it has
    them and they are all rows of the waves."""
    source_rows = getattr(study, "source_rows", None)
    if not callable(source_rows):
        return None
    rows = source_rows()
    if not (isinstance(rows, pd.DataFrame) and len(rows) == n_pairs
            and {"row_wave1", "row_wave2"} <= set(rows.columns)):
        return None
    p1, p2 = (
        _row_positions(w.data.index, rows[f"row_wave{w.wave}"].to_numpy(dtype=np.int64))
        for w in (study.wave1, study.wave2)
    )
    return None if p1 is None or p2 is None else (p1, p2)


def _linker_positions(study: StudyLike, n_pairs: int) -> tuple[IntArray, IntArray] | None:
    """The pairs' row positions as ``link_waves`` found them (a LinkedStudy keeps them until
    it is subset), if they fit the waves."""
    found = getattr(study, "_pair_positions", None)
    if not (isinstance(found, tuple) and len(found) == 2):
        return None
    sizes = (len(study.wave1.data), len(study.wave2.data))
    for pos, size in zip(found, sizes, strict=True):
        if not (isinstance(pos, np.ndarray) and len(pos) == n_pairs and pos.dtype == np.int64
                and (n_pairs == 0 or (int(pos.min()) >= 0 and int(pos.max()) < size))):
            return None
    return found[0], found[1]


def _pair_positions(study: StudyLike, ident: str) -> tuple[IntArray, IntArray]:
    """Positions of every pair's rows in the two waves' data (see the module docstring)."""
    waves = (study.wave1, study.wave2)
    pairs = study.pairs
    for find in (_linker_positions, _source_positions):
        pos = find(study, len(pairs))
        if pos is not None and all(
            _sample_agrees(w.data[ident], p, pairs[(w.wave, ident)])
            for w, p in zip(waves, pos, strict=True)
        ):
            return pos
    p1, p2 = (
        _positions_by_identifier(
            pd.Index(w.data[ident]), pd.Index(pairs[(w.wave, ident)]), "linked respondents"
        )
        for w in waves
    )
    return p1, p2


def _level_codes(series: pd.Series, levels: Sequence[str]) -> npt.NDArray[np.signedinteger[Any]]:
    """Position of every value in ``levels`` (-1: missing or not a level), in the column's own
    integer type when it is a Categorical of exactly these levels (no copy)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in series.cat.categories]
        codes = np.asarray(series.array.codes)
        if cats == list(levels):
            return cast("npt.NDArray[np.signedinteger[Any]]", codes)
        lut = np.append(pd.Index(list(levels)).get_indexer(pd.Index(cats)), -1)
        return np.asarray(lut[codes], dtype=np.int64)  # code -1 reads the appended -1
    as_text = series.astype("string")
    return np.asarray(pd.Categorical(as_text, categories=list(levels)).codes, dtype=np.int64)


def _codes(series: pd.Series, levels: Sequence[str]) -> IntArray:
    return np.asarray(_level_codes(series, levels), dtype=np.int64)


def _by_levels(codebook: Codebook, column: str, values: Sequence[pd.Series]) -> list[str]:
    if column in codebook and codebook[column].levels:
        return list(codebook[column].labels)
    seen: set[str] = set()
    for v in values:
        if isinstance(v.dtype, pd.CategoricalDtype):
            seen.update(str(c) for c in v.cat.categories)
        else:
            seen.update(str(x) for x in pd.unique(v.dropna()))
    return sorted(seen)


def resolve_by(study: StudyLike, by: str | Sequence[str]) -> tuple[str, ...]:
    """The data columns ``by`` names: a role name (``"group"``, ``"area"``, ...) means the
    codebook's field with that role, any other name a field (:meth:`Codebook.resolve`); a
    column of both waves' data that the codebook does not describe is taken as it is."""
    names = (by,) if isinstance(by, str) else tuple(by)
    if not names:
        raise CrisisSurveyError("by= needs at least one role or column name (e.g. 'group')")
    cb = study.codebook
    out: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise CrisisSurveyError(f"by= takes role or field names; got {name!r}")
        try:
            out.append(cb.resolve(name).name)
        except KeyError as exc:
            if all(name in w.data.columns for w in (study.wave1, study.wave2)):
                out.append(name)
            else:
                raise CrisisSurveyError(f"by column {name!r}: {exc.args[0]}") from None
    return tuple(out)


def make_layout(study: StudyLike, by: tuple[str, ...]) -> Layout:
    """Code every row's and every pair's by-cell and locate the pairs' rows in each wave.

    ``by`` holds data column names (:func:`resolve_by`)."""
    waves = (study.wave1, study.wave2)
    pairs = study.pairs
    group = study.codebook.group.name
    for column in by:
        for w in waves:
            if column not in w.data.columns:
                raise CrisisSurveyError(
                    f"by column {column!r} is not in wave {w.wave} ({w.source}); expected one "
                    f"of {', '.join(map(str, w.data.columns))}"
                )
    pair_pos = _pair_positions(study, study.codebook.identifier.name)
    linked = []
    for w, pos in zip(waves, pair_pos, strict=True):
        flag = np.zeros(len(w.data), dtype=bool)
        flag[pos] = True
        linked.append(flag)

    levels_by = [_by_levels(study.codebook, column, [w.data[column] for w in waves])
                 for column in by]
    n_cells = math.prod(len(levels) for levels in levels_by)
    dtype = np.int32 if n_cells < 2**31 - 1 else np.int64
    k = _jit.kernels_for(max(len(waves[0].data), len(waves[1].data), len(pairs)))
    labels: list[str] = [""]
    # by-cell codes of wave 1's rows, wave 2's rows and the pairs, one by-column at a time
    # (``cell * k + code``, -1 where a value is missing), then "no value" -> the spare n_cells
    cells = [np.empty(len(waves[0].data), dtype=dtype), np.empty(len(waves[1].data), dtype=dtype),
             np.empty(len(pairs), dtype=dtype)]
    for i, (column, levels) in enumerate(zip(by, levels_by, strict=True)):
        shared = ("", "group") if column == group else ("", column)
        pair_values = pairs[shared] if shared in pairs.columns else pairs[(1, column)]
        sources = [w.data[column] for w in waves] + [pair_values]
        for acc, v in zip(cells, sources, strict=True):
            k.by_cells(acc, _level_codes(v, levels), len(levels), i == 0)
        labels = [f"{a} / {b}" if a else b for a in labels for b in levels]
    # keep only by-cells that hold at least one respondent; "no value" becomes the spare cell
    counts = np.zeros(n_cells + 1, dtype=np.int64)
    for acc in cells:
        k.spare_cells(acc, n_cells, counts)
    present = counts[:n_cells] > 0
    kept = int(present.sum())
    new_code = np.append(np.where(present, np.cumsum(present) - 1, kept), kept).astype(dtype)

    def recode(arr: npt.NDArray[Any]) -> IntArray:
        if kept == n_cells:  # every cell present: the codes are final
            return arr
        return np.asarray(new_code[arr])  # the spare n_cells reads the spare code ``kept``

    by_wave, by_pair = cells[:2], cells[2]
    cell_wave = (recode(by_wave[0]), recode(by_wave[1]))
    cell_pair = recode(by_pair)
    aligned = [
        w.missing_reasons.index is w.data.index or w.missing_reasons.index.equals(w.data.index)
        for w in waves
    ]
    return Layout(
        by=by,
        cells=tuple(lab for lab, p in zip(labels, present, strict=True) if p),
        waves=waves,
        cell_wave=cell_wave,
        linked=(linked[0], linked[1]),
        pair_pos=(pair_pos[0], pair_pos[1]),
        cell_pair=cell_pair,
        pairs=pairs,
        reasons_aligned=(aligned[0], aligned[1]),
    )


# -- per-item answers -----------------------------------------------------------------------
def _reason_codes(
    wave: SurveyWave, name: str, aligned: bool | None = None
) -> tuple[npt.NDArray[np.signedinteger[Any]], list[str]]:
    """Missing-reason category of every row (-1: none) and the category names."""
    reasons = wave.missing_reasons
    n = len(wave.data)
    if name not in reasons.columns:
        return np.full(n, -1, dtype=np.int8), []
    column = reasons[name]
    if aligned is None:
        aligned = bool(reasons.index.equals(wave.data.index))
    if not aligned:
        column = column.reindex(wave.data.index)
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in column.cat.categories]
        return np.asarray(column.array.codes), cats
    codes, uniques = pd.factorize(column.astype("string"), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


def _both_reasons(
    layout: Layout, name: str
) -> tuple[list[npt.NDArray[np.signedinteger[Any]]], list[str]]:
    """Each wave's missing-reason codes over one shared list of category names."""
    (r1, n1), (r2, n2) = (
        _reason_codes(w, name, a)
        for w, a in zip(layout.waves, layout.reasons_aligned, strict=True)
    )
    if n1 == n2:
        return [r1, r2], n1
    names = n1 + [nm for nm in n2 if nm not in n1]
    lut = np.append(np.array([names.index(nm) for nm in n2], dtype=np.int64), -1)
    return [r1, lut[r2]], names


def item_values(wave: SurveyWave, field: Field) -> tuple[IntArray | FloatArray, BoolArray]:
    """Level positions (categorical; -1 missing) or floats (numeric; NaN missing), and a mask
    of the answers that were an excluded missing code ("don't know", ...)."""
    column = wave.data[field.name]
    values: IntArray | FloatArray
    if field.levels:
        values = _codes(column, list(field.labels))
    else:
        values = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    reasons, names = _reason_codes(wave, field.name)
    excluded = np.array([nm in EXCLUDED_KINDS for nm in names] + [False], dtype=bool)
    return values, np.asarray(excluded[reasons], dtype=bool)


@dataclass(frozen=True)
class ItemCounts:
    """Counts (categorical items) or moments (numeric items) of one item for every by-cell.

    Categorical: ``indep[w]`` is ``(n_cells, k)``; ``table`` is ``(n_cells, k, k)`` (wave-1
    level by wave-2 level of the complete pairs); ``alone[w]`` is ``(n_cells, k)``, the
    overlapping design's unpaired answers; ``unlinked[w]`` the answers of the rows in no
    pair. Numeric: ``indep[w]``/``alone[w]``/``unlinked[w]`` are
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
    #: the answers of the rows that are in no pair (the ``unlinked`` design, and the
    #: overlapping design's unpaired sample when incomplete pairs are dropped)
    unlinked: tuple[FloatArray, FloatArray] | None = None
    excluded_unlinked: IntArray | None = None


#: Most bins one packed count may fill (the keys of several items combined): 2 MiB of counts,
#: small enough that scattered increments stay in cache.
_PACK_BINS = 1 << 18


def _packs(sizes: Sequence[int], per_key: int) -> list[list[int]]:
    """Consecutive runs of item positions whose keys share one count: the product of their
    sizes times ``per_key`` stays within :data:`_PACK_BINS` (an item alone always fits)."""
    packs: list[list[int]] = []
    current: list[int] = []
    product = 1
    for i, size in enumerate(sizes):
        if current and per_key * product * size > _PACK_BINS:
            packs.append(current)
            current, product = [], 1
        current.append(i)
        product *= size
    if current:
        packs.append(current)
    return packs


def _margins(joint: npt.NDArray[Any], dims: tuple[int, ...]) -> list[IntArray]:
    """Each digit's margin of ``joint`` (``(n_base, prod(dims))``, mixed-radix columns).

    Peels one digit at a time: the leading digit's margin sums the contiguous trailing axis,
    and summing the leading axis away leaves the joint of the remaining digits. Each step
    reduces along memory order, several times faster than numpy's multi-axis sums.
    """
    n_base = joint.shape[0]
    out: list[IntArray] = []
    rest = joint
    for dim in dims[:-1]:
        lead = rest.reshape(n_base, dim, -1)
        out.append(lead.sum(axis=2, dtype=np.int64))
        rest = lead.sum(axis=1, dtype=np.int64)
    out.append(rest.reshape(n_base, dims[-1]).astype(np.int64, copy=False))
    return out


@dataclass(frozen=True)
class _Answers:
    """One categorical item's inputs to the kernels (:mod:`._jit`): per wave the level codes
    (-1 missing) and missing-reason codes (-1 none), the reason codes ``lo..hi`` that are
    excluded answers, and the item's number of slots (``k`` levels, "other missing",
    "excluded code")."""

    codes: tuple[npt.NDArray[Any], npt.NDArray[Any]]
    reasons: tuple[npt.NDArray[Any], npt.NDArray[Any]]
    lo: Any
    hi: Any
    top: Any  # the excluded-code slot (0 when the item has no excluded codes)
    slots: int


def _answers(layout: Layout, f: Field) -> _Answers:
    reasons, names = _both_reasons(layout, f.name)
    codes = tuple(_level_codes(w.data[f.name], list(f.labels)) for w in layout.waves)
    excluded = [j for j, nm in enumerate(names) if nm in EXCLUDED_KINDS]
    n_slots = len(f.levels) + 2
    top = _small_uint(n_slots - 1)(n_slots - 1 if excluded else 0)
    lo, hi = (min(excluded), max(excluded)) if excluded else (0, 0)
    if excluded != list(range(lo, hi + 1)):  # not one run of categories: flag them (rare)
        reasons = [np.isin(r, excluded).astype(np.int8) for r in reasons]
        lo = hi = 1
    r1, r2 = (np.ascontiguousarray(r) for r in reasons)
    return _Answers((codes[0], codes[1]), (r1, r2), r1.dtype.type(lo), r1.dtype.type(hi),
                    top, n_slots)


def _counted(base: npt.NDArray[Any], n_base: int, digit: npt.NDArray[Any],
             sizes: Sequence[int]) -> list[IntArray]:
    """Each part's counts from one pass over the pack's keys ``base * prod(sizes) + digit``."""
    inner = math.prod(sizes)
    # 32-bit counts halve the table's cache footprint (a third faster at 200,000 bins)
    joint = np.zeros(n_base * inner, dtype=np.int32 if len(digit) < 2**31 else np.int64)
    if _jit.kernels_for(len(digit)).count(base, inner, digit, joint):
        raise CrisisSurveyError("internal error: a counting key fell outside its table")
    return _margins(joint.reshape(n_base, inner), tuple(sizes))


def _count_wave(layout: Layout, answers: Sequence[_Answers], w: int, keys: npt.NDArray[Any],
                pair_packs: Sequence[Sequence[int]], pdigits: Sequence[npt.NDArray[Any]]
                ) -> list[IntArray]:
    """Slot counts ``((n_cells + 1) * 2, slots)`` of every item over wave ``w``'s rows,
    keyed by ``keys`` (``cell * 2 + linked``, :meth:`Layout.row_keys`), the items packed
    several to a count (:func:`_packs`). Each pair pack's key of every row (its items'
    slots, mixed radix) goes into ``pdigits`` (same order as ``pair_packs``), for
    :func:`_count_pairs`; one task does the whole wave, so every row key is folded in the
    items' order."""
    k = _jit.kernels_for(len(layout.waves[w - 1].data))
    sizes = [a.slots for a in answers]
    pack_of = {i: (q, j) for q, pack in enumerate(pair_packs) for j, i in enumerate(pack)}
    counts: list[IntArray] = []
    for pack in _packs(sizes, 2 * (layout.n_cells + 1)):
        inner = [sizes[i] for i in pack]
        digit = np.empty(len(layout.waves[w - 1].data), dtype=_small_uint(math.prod(inner) - 1))
        for i in pack:
            a = answers[i]
            q, j = pack_of[i]
            k.wave_digit(pdigits[q], digit, a.codes[w - 1], a.reasons[w - 1], a.lo, a.hi, a.top,
                         a.slots, i == pack[0], j == 0)
        counts += _counted(keys, 2 * (layout.n_cells + 1), digit, inner)
    return counts


def _count_pairs(layout: Layout, sizes: Sequence[int],
                 pdigits: tuple[npt.NDArray[Any], npt.NDArray[Any]],
                 positions: tuple[npt.NDArray[Any], npt.NDArray[Any]]) -> list[IntArray]:
    """Slot-by-slot counts ``(n_cells + 1, slots ** 2)`` of each item of one pair pack (its
    items' slot counts ``sizes``) over the linked pairs (rows at ``positions`` in the two
    waves), keyed by the pair's cell: one pass reading the pack's row keys ``pdigits`` of
    both waves (:func:`_count_wave`), then each item's margin."""
    radix = math.prod(sizes)
    n_base = layout.n_cells + 1
    pos1, pos2 = positions
    joint = np.zeros(n_base * radix * radix,
                     dtype=np.int32 if len(pos1) < 2**31 else np.int64)
    if _jit.kernels_for(len(pos1)).pair_count(layout.cell_pair, radix * radix, pdigits[0],
                                               pdigits[1], pos1, pos2, radix, joint):
        raise CrisisSurveyError("internal error: a counting key fell outside its table")
    t = len(sizes)
    table = joint.reshape(n_base, radix * radix)
    if t > 1:  # (cell, wave-1 slots..., wave-2 slots...) -> (cell, item 1's two slots, ...)
        axes = [0] + [a for i in range(t) for a in (1 + i, 1 + t + i)]
        table = np.ascontiguousarray(
            joint.reshape(n_base, *sizes, *sizes).transpose(axes)).reshape(n_base, -1)
    return _margins(table, tuple(s * s for s in sizes))


def _count_categorical(layout: Layout, fields: Sequence[Field]) -> list[ItemCounts]:
    """Counts of categorical items (see the module docstring), the items packed several to a
    count.

    Each wave, then every pair pack, is one task for a small thread pool: the compiled
    kernels release the GIL, so two cores count at once. The counts are exact integers, so
    the result does not depend on the scheduling.
    """
    if not fields:
        return []
    n = layout.n_cells
    answers = [_answers(layout, f) for f in fields]
    sizes = [a.slots for a in answers]
    pair_packs = _packs([s * s for s in sizes], n + 1)
    radices = [math.prod(sizes[i] for i in pack) for pack in pair_packs]
    # each pair pack's key of every row of each wave (built by the wave counts)
    pdigits = [[np.empty(len(w.data), dtype=_small_uint(r - 1)) for r in radices]
               for w in layout.waves]
    keys = [layout.row_keys(w) for w in (1, 2)]
    # every pack of the pairs reads both position arrays: half the bytes in 32 bits
    small = max(len(w.data) for w in layout.waves) < 2**31
    p1, p2 = (p.astype(np.int32) if small else p for p in layout.pair_pos)
    positions = (p1, p2)
    # compile (or load from the cache) before the threads start; small inputs: numpy
    _jit.kernels_for(max(len(w.data) for w in layout.waves))
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        wave_jobs = [pool.submit(_count_wave, layout, answers, w, keys[w - 1], pair_packs,
                                 pdigits[w - 1]) for w in (1, 2)]
        counts1, counts2 = (job.result() for job in wave_jobs)
        pair_jobs = [
            pool.submit(_count_pairs, layout, [sizes[i] for i in pack],
                        (pdigits[0][q], pdigits[1][q]), positions)
            for q, pack in enumerate(pair_packs)
        ]
        pair_counts = [c for job in pair_jobs for c in job.result()]
    by_levels: dict[int, list[int]] = {}  # items with the same number of levels together
    for i, f in enumerate(fields):
        by_levels.setdefault(len(f.levels), []).append(i)
    found: dict[int, ItemCounts] = {}
    for k, same in by_levels.items():
        made = _categorical_counts(k, n, [[counts1[i] for i in same], [counts2[i] for i in same]],
                                   [pair_counts[i] for i in same])
        found.update(zip(same, made, strict=True))
    return [found[i] for i in range(len(fields))]


def _categorical_counts(
    k: int, n: int, wave_counts: Sequence[Sequence[IntArray]],
    pair_counts: Sequence[IntArray],
) -> list[ItemCounts]:
    """The :class:`ItemCounts` of categorical items with ``k`` levels from their slot counts
    per wave (``wave_counts[w][i]``: ``((n + 1) * 2, k + 2)``) and per pair
    (``pair_counts[i]``: ``(n + 1, (k + 2) ** 2)``), all items in one set of array operations
    (the counts are whole numbers, so sums in any order are exact)."""
    n_slots = k + 2
    spare = n + 1
    excl = [k + 1]
    levels = slice(1, k + 1)
    waves = [np.stack(list(c)).reshape(-1, spare, 2, n_slots)[:, :n].astype(np.float64)
             for c in wave_counts]
    pt = np.stack(list(pair_counts)).reshape(-1, spare, n_slots, n_slots)[:, :n].astype(
        np.float64)
    answered = np.zeros(n_slots, dtype=bool)
    answered[levels] = True
    excluded_pairs = pt[..., excl, :].sum(axis=(-2, -1)) + pt[..., :, excl].sum(axis=(-2, -1))
    alone = (
        waves[0][..., 0, levels] + pt[..., levels, :][..., ~answered].sum(axis=-1),
        waves[1][..., 0, levels] + pt[..., ~answered, :][..., levels].sum(axis=-2),
    )
    indep = [wv[..., levels].sum(axis=-2) for wv in waves]
    table = pt[..., levels, levels]
    excluded_indep = np.rint(sum(wv[..., excl].sum(axis=(-2, -1)) for wv in waves)).astype(
        np.int64)
    excluded_paired = np.rint(excluded_pairs).astype(np.int64)
    excluded_unlinked = np.rint(sum(wv[..., 0, excl].sum(axis=-1) for wv in waves)
                                ).astype(np.int64)
    excluded_overlap = np.rint(
        excluded_pairs + sum(wv[..., 0, excl].sum(axis=-1) for wv in waves)).astype(np.int64)
    unlinked = (waves[0][..., 0, levels], waves[1][..., 0, levels])
    return [
        ItemCounts(
            indep=(indep[0][i], indep[1][i]), table=table[i], alone=(alone[0][i], alone[1][i]),
            diff=None, excluded_indep=excluded_indep[i], excluded_paired=excluded_paired[i],
            excluded_overlap=excluded_overlap[i],
            unlinked=(unlinked[0][i], unlinked[1][i]), excluded_unlinked=excluded_unlinked[i],
        )
        for i in range(len(pair_counts))
    ]


def _bincount(key: IntArray, size: int, weights: FloatArray | None = None) -> FloatArray:
    return np.bincount(key, weights=weights, minlength=size)[:size].astype(np.float64)


def _moments(cell: IntArray, v: FloatArray, n_cells: int) -> FloatArray:
    """Per cell: count, mean, and sum of squared deviations (two passes)."""
    n = _bincount(cell, n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _bincount(cell, n_cells, v) / n
    ssd = _bincount(cell, n_cells, (v - mean[cell]) ** 2)
    return np.column_stack([n, mean, ssd])


def _count_numeric(layout: Layout, f: Field) -> ItemCounts:
    n_cells = layout.n_cells
    vals, coded = [], []
    reasons, names = _both_reasons(layout, f.name)
    excluded = np.array([nm in EXCLUDED_KINDS for nm in names] + [False], dtype=bool)
    for w, r in zip(layout.waves, reasons, strict=True):
        vals.append(np.asarray(pd.to_numeric(w.data[f.name], errors="coerce"), dtype=np.float64))
        coded.append(excluded[r])  # reason -1 reads the appended False
    cells = layout.cell_wave
    real = [c < n_cells for c in cells]

    def moments(cell: IntArray, v: FloatArray) -> FloatArray:
        ok = (cell < n_cells) & ~np.isnan(v)
        return _moments(cell[ok], v[ok], n_cells)

    def count(cell: IntArray, mask: BoolArray) -> IntArray:
        return np.bincount(cell[mask & (cell < n_cells)], minlength=n_cells + 1)[:n_cells]

    indep = (moments(cells[0], vals[0]), moments(cells[1], vals[1]))
    x, y = vals[0][layout.pair_pos[0]], vals[1][layout.pair_pos[1]]
    cp = layout.cell_pair
    okp = cp < n_cells
    px, py = ~np.isnan(x), ~np.isnan(y)
    both = okp & px & py
    cb = cp[both]
    xf, yf = x[both], y[both]
    mx, my = _moments(cb, xf, n_cells), _moments(cb, yf, n_cells)
    cross = _bincount(cb, n_cells, (xf - mx[cb, 1]) * (yf - my[cb, 1]))
    table = np.column_stack([mx[:, 0], mx[:, 1], my[:, 1], mx[:, 2], my[:, 2], cross])
    diff = _moments(cb, xf - yf, n_cells)
    excl_pairs = (count(cp, coded[0][layout.pair_pos[0]])
                  + count(cp, coded[1][layout.pair_pos[1]]))
    alone, excl_overlap = [], excl_pairs.copy()
    only: list[FloatArray] = []
    excl_unlinked = np.zeros(n_cells, dtype=np.int64)
    for side, mine, other in ((0, x, py), (1, y, px)):
        lone = okp & ~np.isnan(mine) & ~other
        unlinked = ~layout.linked[side]
        cell = np.concatenate([cells[side][unlinked], cp[lone]])
        val = np.concatenate([vals[side][unlinked], mine[lone]])
        alone.append(moments(cell, val))
        only.append(moments(cells[side][unlinked], vals[side][unlinked]))
        excl_overlap = excl_overlap + count(cells[side], unlinked & coded[side])
        excl_unlinked = excl_unlinked + count(cells[side], unlinked & coded[side])
    excl_indep = count(cells[0], coded[0] & real[0]) + count(cells[1], coded[1] & real[1])
    return ItemCounts(
        indep=indep, table=table, alone=(alone[0], alone[1]), diff=diff,
        excluded_indep=np.asarray(excl_indep, dtype=np.int64),
        excluded_paired=np.asarray(excl_pairs, dtype=np.int64),
        excluded_overlap=np.asarray(excl_overlap, dtype=np.int64),
        unlinked=(only[0], only[1]), excluded_unlinked=excl_unlinked,
    )


def count_items(layout: Layout, fields: Sequence[Field]) -> list[ItemCounts]:
    """All counts of every item for every by-cell and design; categorical items share
    bincounts (see the module docstring)."""
    categorical = [f for f in fields if f.levels]
    found = dict(zip((f.name for f in categorical), _count_categorical(layout, categorical),
                     strict=True))
    return [found[f.name] if f.levels else _count_numeric(layout, f) for f in fields]
