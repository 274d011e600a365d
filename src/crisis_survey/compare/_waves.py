"""Comparing the two waves item by item, design by design (private; see ``compare_waves``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError
from .._plan import MAX_MIN_N
from ..codebook import Field
from ..stats._multiplicity import ADJUST_METHODS, _adjust_grouped
from ..stats._proportions import change_pattern_counts, net_change
from ..stats._registry import DESIGNS, TESTS, check_options
from . import _families as fam
from . import _kernels as kn
from . import _verdicts as vd
from ._study import (
    FloatArray,
    IntArray,
    ItemCounts,
    Layout,
    StudyLike,
    count_items,
    make_layout,
    resolve_by,
)
from ._summaries import summarise_many, summary_measure

if TYPE_CHECKING:
    from ..present._findings import Findings

__all__ = ["COLUMNS", "DEFAULT_DESIGNS", "DEFAULT_TESTS", "FAMILIES", "WaveComparison",
           "compare_waves"]

#: Columns of ``WaveComparison.table``, in order (the contract in docs/design.md).
COLUMNS: tuple[str, ...] = (
    "by", "group", "item", "label", "measurement", "design", "test", "method", "n_wave1",
    "n_wave2", "n_pairs", "summary_wave1", "summary_wave2", "estimate_wave1", "estimate_wave2",
    "summary_measure", "statistic_name", "statistic", "df", "p_value", "p_adjusted",
    "adjust_method", "effect_measure", "effect_size", "ci_low", "ci_high", "odds_ratio",
    "odds_ratio_ci_low", "odds_ratio_ci_high", "net_change", "net_change_ci_low",
    "net_change_ci_high", "n_excluded_codes", "reason", "note", "verdict",
    "verdict_measure", "verdict_estimate", "equivalence_margin", "p_equivalence",
    "p_equivalence_adjusted", "mde", "verdict_reason",
)
#: The verdict columns (:mod:`._verdicts`), added after the p-values are adjusted.
_VERDICT_COLUMNS = COLUMNS[COLUMNS.index("verdict"):]

#: The designs run unless ``designs=`` says otherwise (``"unlinked"`` is asked for by name).
DEFAULT_DESIGNS: tuple[str, ...] = ("paired", "independent", "overlapping")

#: The test run for each measurement level and design unless ``tests=`` says otherwise.
DEFAULT_TESTS: dict[str, dict[str, str | None]] = {
    "ordinal": {"paired": "wilcoxon_signed_rank", "independent": "mann_whitney",
                "overlapping": "partially_overlapping_t", "unlinked": "mann_whitney"},
    "binary": {"paired": "mcnemar", "independent": "chi_square_or_fisher",
               "overlapping": "partially_overlapping_z", "unlinked": "chi_square_or_fisher"},
    "nominal": {"paired": "marginal_homogeneity", "independent": "chi_square_or_fisher",
                "overlapping": None, "unlinked": "chi_square_or_fisher"},
    "numeric": {"paired": "paired_t", "independent": "welch_t",
                "overlapping": "partially_overlapping_t", "unlinked": "welch_t"},
}

#: Named p-value adjustment families: the table columns whose values define one family.
FAMILIES: dict[str, tuple[str, ...]] = {
    "group": ("by", "group", "design"),
    "item": ("by", "item", "design"),
    "design": ("by", "design"),
    "all": ("by",),
}


@dataclass(frozen=True)
class WaveComparison:
    """The comparison of two survey waves: one row per item x by-value x design.

    Attributes
    ----------
    table
        Tidy DataFrame with the columns of :data:`COLUMNS` (see ``docs/design.md``).
    options
        Every option of the run and the inputs' identities (codebook name and version, wave
        files and SHA-256 digests), so the report's manifest can record how to re-run it.

    Notes
    -----
    ``print(comparison)`` shows one readable line per row; in Jupyter it shows as a table.

    Examples
    --------
    >>> from crisis_survey import compare_waves, load_sample_study
    >>> comparison = compare_waves(load_sample_study(), items=["overall_rating"],
    ...                            designs=("paired",))
    >>> comparison
    <WaveComparison: 2 rows>
    >>> comparison.table[["group", "test", "n_pairs"]]
              group                  test  n_pairs
    0  Service user  wilcoxon_signed_rank      135
    1         Carer  wilcoxon_signed_rank       76
    """

    table: pd.DataFrame
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def _display(self) -> pd.DataFrame:
        t = self.table
        alpha = float(self.options.get("alpha", 0.05))

        def fmt(v: float, digits: int = 3) -> str:
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else (
                f"{v:.{digits}g}"
            )

        return pd.DataFrame({
            "item": t["item"], "group": t["group"], "design": t["design"], "test": t["test"],
            "n1": t["n_wave1"], "n2": t["n_wave2"], "pairs": t["n_pairs"],
            "estimate 1": t["estimate_wave1"].map(lambda v: fmt(v, 3)),
            "estimate 2": t["estimate_wave2"].map(lambda v: fmt(v, 3)),
            "p": t["p_value"].map(fmt),
            "p adj.": [
                fmt(p) + ("*" if isinstance(p, float) and p < alpha else "")
                for p in t["p_adjusted"]
            ],
            "effect": t["effect_size"].map(fmt),
            "note": t["note"].fillna(""),
        })

    def summary(self, models: Sequence[Any] = ()) -> Findings:
        """The findings, answer first: per group, each item that changed (direction and
        size in words and numbers), the items with no change shown by equivalence, the
        inconclusive ones with the change they could have detected, whether change
        differed between the groups (``models``: :func:`change_by_group_model` results)
        and where the other designs disagree with the primary one (``options["primary"]``).

        Built from :attr:`table` as it is, for the analyst (no disclosure control: the
        reports build their findings through the publishing layer, which withholds small
        counts). ``print(comparison.summary())`` shows it as text; Jupyter as HTML.

        Examples
        --------
        >>> from crisis_survey import compare_waves, load_sample_study
        >>> c = compare_waves(load_sample_study(), items=["exp_help_speed"])
        >>> print(str(c.summary()).splitlines()[2])
        Service user (paired, 118 linked respondents per item)
        """
        from ..present._findings import build_findings

        return build_findings(self.table, primary=str(self.options.get("primary", "paired")),
                              alpha=float(self.options.get("alpha", 0.05)), models=models,
                              adjust=str(self.options.get("adjust", "")))

    def __str__(self) -> str:
        head = (
            f"Comparison of waves 1 and 2: {len(self.table)} rows; p adjusted by "
            f"{self.options.get('adjust')} within family {self.options.get('family')!r}; "
            f"* p adj. < {self.options.get('alpha')}"
        )
        return head + "\n" + self._display().to_string(index=False)

    def __repr__(self) -> str:
        return f"<WaveComparison: {len(self.table)} rows>"

    def _repr_html_(self) -> str:
        return (
            f"<p>{escape(str(self).splitlines()[0])}</p>"
            + self._display().to_html(index=False, na_rep="")
        )


# -- choosing tests --------------------------------------------------------------------------
def _resolve_tests(
    fields: Sequence[Field], tests: Mapping[str, Any] | None
) -> dict[str, dict[str, str | None]]:
    """Test per item and design: measurement defaults, then measurement, then item overrides."""
    tests = dict(tests or {})
    names = {f.name for f in fields}
    unknown = [k for k in tests if k not in names and k not in DEFAULT_TESTS]
    if unknown:
        raise CrisisSurveyError(
            f"tests= names {unknown}, which are neither compared items nor measurement levels; "
            f"expected item names ({', '.join(sorted(names))}) or one of "
            f"{', '.join(DEFAULT_TESTS)}"
        )

    def as_designs(key: str, value: Any) -> dict[str, str]:
        if isinstance(value, str):
            if value not in TESTS:
                raise CrisisSurveyError(
                    f"tests[{key!r}] = {value!r} is not a known test; expected one of "
                    f"{', '.join(TESTS)}"
                )
            return dict.fromkeys(TESTS[value].designs, value)
        if isinstance(value, Mapping):
            out: dict[str, str] = {}
            for design, name in value.items():
                if design not in DESIGNS or name not in TESTS:
                    raise CrisisSurveyError(
                        f"tests[{key!r}] maps {design!r} to {name!r}; expected a design "
                        f"({', '.join(DESIGNS)}) mapped to a test name"
                    )
                if design not in TESTS[name].designs:
                    raise CrisisSurveyError(
                        f"tests[{key!r}]: {name!r} is a test for the "
                        f"{' and '.join(TESTS[name].designs)} design, not the {design} design"
                    )
                out[str(design)] = str(name)
            return out
        raise CrisisSurveyError(
            f"tests[{key!r}] must be a test name or a mapping design -> test name; got {value!r}"
        )

    chosen: dict[str, dict[str, str | None]] = {}
    for f in fields:
        m = str(f.measurement)
        per = dict(DEFAULT_TESTS[m])
        if m in tests:
            per.update(as_designs(m, tests[m]))
        if f.name in tests:
            per.update(as_designs(f.name, tests[f.name]))
        for design, name in per.items():
            if name is not None and m not in TESTS[name].measurements:
                raise CrisisSurveyError(
                    f"{name!r} cannot analyse {f.name!r}, a {m} item; it takes "
                    f"{', '.join(TESTS[name].measurements)} items"
                )
            if name is not None and m == "binary" and len(f.levels) != 2:
                raise CrisisSurveyError(f"binary item {f.name!r} must have exactly 2 levels")
            per[design] = name
        chosen[f.name] = per
    return chosen


def _select_items(study: StudyLike, items: Sequence[str] | None) -> list[Field]:
    """The items to compare, as the tests read them (:meth:`Field.oriented`: a binary item's
    reported level second)."""
    return [f.oriented() for f in _chosen_items(study, items)]


def _chosen_items(study: StudyLike, items: Sequence[str] | None) -> list[Field]:
    cb = study.codebook
    present = set(study.wave1.data.columns) & set(study.wave2.data.columns)
    if items is None:
        return [
            f for f in cb.items()
            if f.measurement not in (None, "text") and 1 in f.waves and 2 in f.waves
            and f.name in present
        ]
    if isinstance(items, str):
        items = [items]
    problems: list[str] = []
    out: list[Field] = []
    for name in items:
        if name not in cb:
            problems.append(f"{name!r} is not in the codebook")
            continue
        f = cb[name]
        if f.role != "item":
            problems.append(f"{name!r} is a {f.role} field, not a survey item")
        elif f.measurement in (None, "text"):
            problems.append(f"{name!r} is free text and is never compared")
        elif not (1 in f.waves and 2 in f.waves):
            problems.append(
                f"{name!r} was asked only in wave(s) {list(f.waves)}; only items asked in both "
                "waves are compared"
            )
        elif name not in present:
            problems.append(f"{name!r} is missing from the data of a wave")
        else:
            out.append(f)
    if problems:
        raise CrisisSurveyError(
            "items= cannot be compared:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return out


def _scores(f: Field) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Level scores for mean-based tests: 0/1 (the reported level) for binary items, else
    :attr:`Field.scores` (numeric codes rising with the levels, else 1..k)."""
    if f.measurement == "binary":
        return np.array([0.0, 1.0])
    return np.asarray(f.scores, dtype=np.float64)


# -- one item ---------------------------------------------------------------------------------
def _combine(a: FloatArray, b: FloatArray) -> FloatArray:
    """Per row, ``(n, mean, ssd)`` of the union of two samples (:func:`._kernels.combine`)."""
    na, ma, sa = a[:, 0], a[:, 1], a[:, 2]
    nb, mb, sb = b[:, 0], b[:, 1], b[:, 2]
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = mb - ma
        mean = np.where(na == 0, mb, np.where(nb == 0, ma, ma + delta * nb / n))
        ssd = np.where(na == 0, sb, np.where(nb == 0, sa, sa + sb + delta * delta * na * nb / n))
    return np.column_stack([n, mean, ssd])


@dataclass(frozen=True)
class _DesignData:
    """One design's inputs for every by-cell: kernel tables and samples, summary data, sizes."""

    tables: FloatArray  # (cells, k, k) / (cells, 6); (cells, 0) for the independent design
    w1: FloatArray  # the kernels' two samples (per-level counts or n, mean, ssd)
    w2: FloatArray
    s1: FloatArray  # what each wave's summary describes
    s2: FloatArray
    n1: IntArray
    n2: IntArray
    n_pairs: IntArray | None
    excluded: IntArray
    diff: FloatArray | None

    def cell(self, c: int, categorical: bool, scores: FloatArray) -> kn.Cell:
        diff = self.diff[c] if self.diff is not None else None
        return kn.Cell(categorical, self.tables[c], self.w1[c], self.w2[c], scores, diff)


def _sizes(data: FloatArray, categorical: bool) -> IntArray:
    return np.rint(data.sum(axis=1) if categorical else data[:, 0]).astype(np.int64)


def _design_data(design: str, counts: ItemCounts, categorical: bool,
                 incomplete_pairs: str = "unpaired") -> _DesignData:
    """The inputs of ``design``'s test; ``incomplete_pairs="drop"`` leaves a linked
    respondent who answered in one wave only out of the overlapping design."""
    if design in ("independent", "unlinked"):
        if design == "independent":
            w1, w2 = counts.indep
            excluded = counts.excluded_indep
        else:
            assert counts.unlinked is not None and counts.excluded_unlinked is not None
            w1, w2 = counts.unlinked
            excluded = counts.excluded_unlinked
        empty = np.zeros((w1.shape[0], 0))
        return _DesignData(empty, w1, w2, w1, w2, _sizes(w1, categorical),
                           _sizes(w2, categorical), None, excluded, None)
    table = counts.table
    if categorical:
        s1, s2 = table.sum(axis=2), table.sum(axis=1)
        n_pairs = np.rint(table.sum(axis=(1, 2))).astype(np.int64)
    else:
        n_pairs = np.rint(table[:, 0]).astype(np.int64)
        s1, s2 = table[:, [0, 1, 3]], table[:, [0, 2, 4]]
    if design == "paired":
        return _DesignData(table, s1, s2, s1, s2, n_pairs, n_pairs, n_pairs,
                           counts.excluded_paired, counts.diff)
    if incomplete_pairs == "drop":
        assert counts.unlinked is not None
        a1, a2 = counts.unlinked
    else:
        a1, a2 = counts.alone
    u1, u2 = (a1 + s1, a2 + s2) if categorical else (_combine(a1, s1), _combine(a2, s2))
    return _DesignData(table, a1, a2, u1, u2, _sizes(u1, categorical), _sizes(u2, categorical),
                       n_pairs, counts.excluded_overlap, counts.diff)


#: Why a row has no test, in words without numbers (the ``reason`` column; tables print it).
FEW_PAIRS, FEW_ANSWERS = "too few complete pairs", "too few answers"
NO_CHANGE, NO_VARIATION = "nobody changed answer", "everyone gave the same answer"
NOT_DEFINED, NOT_RUN = "test not defined", "test could not be run"
#: what the stats functions say when a test is not defined -> the reason
_WHY: dict[str, str] = {
    "no discordant pairs": NO_CHANGE,
    "no respondent changed answer": NO_CHANGE,
    "fewer than two rows or columns with answers": NO_VARIATION,
}


def _too_few(design: str, dd: _DesignData, min_n: int
             ) -> tuple[list[str | None], npt.NDArray[np.bool_]]:
    """The note of every cell too thin to test (None for the others), and which cells are."""
    notes: list[str | None] = [None] * len(dd.n1)
    if design == "paired":
        assert dd.n_pairs is not None
        thin = dd.n_pairs < min_n
        for c in np.flatnonzero(thin).tolist():
            notes[c] = f"too few complete pairs to test ({dd.n_pairs[c]} < min_n = {min_n})"
        return notes, thin
    thin = np.minimum(dd.n1, dd.n2) < min_n
    for c in np.flatnonzero(thin).tolist():
        notes[c] = (f"too few answers to test (wave 1: {dd.n1[c]}, wave 2: {dd.n2[c]}; "
                    f"min_n = {min_n})")
    return notes, thin


def _stacked(counts: Sequence[ItemCounts]) -> ItemCounts:
    """Several items' counts as one: every array stacked along the cells (item-major)."""
    if len(counts) == 1:
        return counts[0]

    def cat(arrays: Sequence[Any]) -> Any:
        return np.concatenate(arrays, axis=0)

    diffs = [c.diff for c in counts]
    return ItemCounts(
        indep=(cat([c.indep[0] for c in counts]), cat([c.indep[1] for c in counts])),
        table=cat([c.table for c in counts]),
        alone=(cat([c.alone[0] for c in counts]), cat([c.alone[1] for c in counts])),
        diff=None if any(d is None for d in diffs) else cat(diffs),
        excluded_indep=cat([c.excluded_indep for c in counts]),
        excluded_paired=cat([c.excluded_paired for c in counts]),
        excluded_overlap=cat([c.excluded_overlap for c in counts]),
        unlinked=(cat([c.unlinked[0] for c in counts if c.unlinked]),
                  cat([c.unlinked[1] for c in counts if c.unlinked])),
        excluded_unlinked=cat([c.excluded_unlinked for c in counts
                               if c.excluded_unlinked is not None]),
    )


def _same_analysis(f: Field, chosen: Mapping[str, str | None]) -> tuple[Any, ...]:
    """Items with equal keys are analysed identically (same levels, codes and tests), so
    their cells can run through the tests and summaries together."""
    return (f.measurement, f.labels, tuple(f.codes), tuple(sorted(chosen.items(), key=str)))


def _item_blocks(
    layout: Layout, group: Sequence[Field], counts: Sequence[ItemCounts],
    chosen: Mapping[str, str | None], designs: Sequence[str], min_n: int, by_name: str,
    options: Mapping[str, Mapping[str, Any]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """The table's columns for items analysed alike (:func:`_same_analysis`): one block per
    item and design, one entry per by-cell. The items' cells go through every test and
    summary together (item-major), then are cut into per-item blocks."""
    f = group[0]
    categorical = bool(f.levels)
    scores = _scores(f)
    measure = summary_measure(f)
    m = layout.n_cells
    rows = m * len(group)
    cells = np.array(layout.cells, dtype=object)
    stacked = _stacked(counts)
    blocks: dict[tuple[str, str], dict[str, Any]] = {}
    for design in designs:
        test = chosen.get(design)
        opts = options[test] if test is not None else {}
        dd = _design_data(design, stacked, categorical,
                          str(opts.get("incomplete_pairs", "unpaired")))
        sum1, est1 = summarise_many(f, dd.s1)
        sum2, est2 = summarise_many(f, dd.s2)
        out: dict[str, Any] = {
            "test": _same(test, rows), "n_wave1": dd.n1, "n_wave2": dd.n2,
            "n_pairs": dd.n_pairs if dd.n_pairs is not None else np.full(rows, np.nan),
            "summary_wave1": np.asarray(sum1, dtype=object),
            "summary_wave2": np.asarray(sum2, dtype=object), "estimate_wave1": est1,
            "estimate_wave2": est2, "n_excluded_codes": dd.excluded,
            "statistic_name": _same(None, rows), "statistic": np.full(rows, np.nan),
            "df": np.full(rows, np.nan), "p_value": np.full(rows, np.nan),
            "effect_measure": _same(None, rows), "effect_size": np.full(rows, np.nan),
            "ci_low": np.full(rows, np.nan), "ci_high": np.full(rows, np.nan),
            "odds_ratio": np.full(rows, np.nan), "odds_ratio_ci_low": np.full(rows, np.nan),
            "odds_ratio_ci_high": np.full(rows, np.nan),
            "net_change": np.full(rows, np.nan), "net_change_ci_low": np.full(rows, np.nan),
            "net_change_ci_high": np.full(rows, np.nan),
            "method": _same(None, rows), "reason": _same(None, rows),
            "_p_min": np.zeros(rows),  # smallest attainable p (_families), not a column
            "_changed": np.zeros(rows),  # pairs whose answer changed (paired categorical)
        }
        if test is None:
            why = f"no {design} test for {f.measurement} items with more than two levels"
            out["note"] = _same(why, rows)
            out["reason"] = _same(why, rows)
        else:
            out["note"] = _run_tests(out, test, design, dd, categorical, scores, min_n, opts)
            if design == "paired" and f.measurement == "ordinal":
                _net_change(out, dd, min_n)
        vin = vd.CellData(vd.kind_of(test, f.measurement), dd.tables, dd.w1, dd.w2, dd.s1,
                          dd.s2, scores, categorical)
        for q, item in enumerate(group):
            part = {col: values[q * m:(q + 1) * m] for col, values in out.items()}
            part["_verdict"] = vin.take(slice(q * m, (q + 1) * m))
            # a str (or None) stands for a column of equal values
            part.update(by=by_name, group=cells, item=item.name, label=item.label,
                        measurement=item.measurement, design=design, summary_measure=measure)
            blocks[(item.name, design)] = part
    return blocks


def _run_tests(out: dict[str, Any], test: str, design: str, dd: _DesignData,
               categorical: bool, scores: FloatArray, min_n: int,
               opts: Mapping[str, Any]) -> npt.NDArray[np.object_]:
    """Run ``test`` with its options on every cell of ``dd`` thick enough to test (in batches
    where the test has them, cell by cell for the rest), write the results, the way each
    p-value was found (``method``) and why a cell has none (``reason``) into ``out``, and
    return the notes."""
    notes, thin = _too_few(design, dd, min_n)
    out["reason"][thin] = FEW_PAIRS if design == "paired" else FEW_ANSWERS
    todo = np.flatnonzero(~thin)
    per_cell = ~thin
    if todo.size:
        for batch in kn.run_batch(test, dd.tables[todo], dd.w1[todo], dd.w2[todo], scores,
                                  categorical, opts):
            done = np.flatnonzero(batch.done)
            at = todo[done]
            per_cell[at] = False
            out["test"][at] = batch.test
            out["method"][at] = batch.method[done]
            _put(out, at, batch.statistic_name, batch.statistic[done],
                 None if batch.df is None else batch.df[done], batch.p_value[done],
                 batch.effect_measure, batch.effect_size[done], batch.ci_low[done],
                 batch.ci_high[done])
            if batch.odds_ratio is not None:
                for col in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"):
                    values = getattr(batch, col)
                    assert values is not None
                    out[col][at] = values[done]
    for c in np.flatnonzero(per_cell).tolist():
        cell = dd.cell(c, categorical, scores)
        run_as = test
        if test == "chi_square_or_fisher":
            run_as = "fisher_exact" if kn.min_expected(cell) < 5.0 else "chi_square"
        out["test"][c] = run_as
        try:
            result = kn.run(run_as, cell, opts)
        except CrisisSurveyError as exc:
            notes[c] = f"not tested: {exc}"
            out["reason"][c] = NOT_RUN
            continue
        out["method"][c] = kn.p_method(run_as, result, opts)
        if math.isnan(result.p_value):
            why = result.method.partition("(not defined: ")[2].rstrip(")")
            reason = _WHY.get(why, NOT_DEFINED)
            out["reason"][c] = reason
            out["method"][c] = None
            notes[c] = (f"test not defined: {reason} ({why})" if reason != NOT_DEFINED
                        else f"test not defined: {why or 'no variation'}")
        _put(out, np.array([c]), result.statistic_name, result.statistic, result.df,
             result.p_value, result.effect_measure, result.effect_size, result.ci_low,
             result.ci_high)
        for col in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"):
            out[col][c] = result.details.get(col, np.nan)
    if design == "paired" and categorical and test in fam.PAIRED_CATEGORICAL:
        # one convention for "nobody changed" and the smallest attainable p (_families)
        tested = ~thin
        nobody = np.flatnonzero(tested & (fam.changed_pairs(dd.tables) == 0))
        out["p_value"][nobody], out["statistic"][nobody] = 1.0, 0.0
        for col in ("effect_size", "ci_low", "ci_high", "odds_ratio", "odds_ratio_ci_low",
                    "odds_ratio_ci_high"):
            out[col][nobody] = np.nan
        for c in nobody.tolist():
            notes[c] = fam.NOBODY_CHANGED
        out["_p_min"] = np.where(tested, fam.smallest_p(test, dd.tables, out["df"]), 0.0)
        out["_changed"] = fam.changed_pairs(dd.tables)
    return np.asarray(notes, dtype=object)


def _net_change(out: dict[str, Any], dd: _DesignData, min_n: int) -> None:
    """The net change of every paired ordinal cell with enough pairs to test, at once from
    the pattern counts (up, same, down) of the pairs' tables (95% interval, as every
    effect's)."""
    assert dd.n_pairs is not None
    at = np.flatnonzero(dd.n_pairs >= min_n)
    if at.size == 0:
        return
    up, same, down = change_pattern_counts(dd.tables[at]).T
    d, low, high = net_change(up, same, down, 0.95)
    out["net_change"][at], out["net_change_ci_low"][at], out["net_change_ci_high"][at] = (
        d, low, high)


def _same(value: Any, m: int) -> npt.NDArray[np.object_]:
    """A text column of ``m`` cells holding ``value`` (object array, filled in C)."""
    return np.full(m, value, dtype=object)


def _put(out: dict[str, Any], at: npt.NDArray[np.int64], name: str, statistic: Any, df: Any,
         p: Any, measure: str | None, effect: Any, low: Any, high: Any) -> None:
    """Write test results into the cells at positions ``at`` (the stats functions read every
    statistic and effect as wave 2 relative to wave 1 already).

    Values are scalars (one cell's result) or arrays with one entry per position of ``at``
    (a batch).
    """
    if at.size == 0:
        return
    out["statistic_name"][at] = name
    out["effect_measure"][at] = measure
    for col, value in (("statistic", statistic), ("df", df), ("p_value", p),
                       ("effect_size", effect), ("ci_low", low), ("ci_high", high)):
        out[col][at] = np.asarray(np.nan if value is None else value, dtype=float)


def _adjust(table: pd.DataFrame, family: str | Sequence[str], adjust: str,
            codes: Mapping[str, IntArray], leave_out: npt.NDArray[np.bool_] | None = None
            ) -> IntArray:
    """Fill ``p_adjusted`` and ``adjust_method``; ``codes`` holds integer codes of some
    columns (equal codes for equal values), the others are factorized. Rows in
    ``leave_out`` get no adjusted p-value and do not count in their family. Returns every
    row's family code."""
    cols = FAMILIES[family] if isinstance(family, str) else tuple(family)
    if table.empty:
        table["adjust_method"] = adjust
        return np.zeros(0, dtype=np.int64)
    p = table["p_value"].to_numpy(dtype=float)
    if leave_out is not None:
        p = np.where(leave_out, np.nan, p)
    # one integer per distinct combination of the family columns (missing values form a
    # family of their own, as groupby(dropna=False) would)
    families = np.zeros(len(table), dtype=np.int64)
    for col in cols:
        if col in codes:
            code, size = codes[col], int(codes[col].max()) + 1
        else:
            code, uniques = pd.factorize(table[col], use_na_sentinel=False)
            size = len(uniques)
        families = pd.factorize(families * size + code)[0]
    table["p_adjusted"] = p if adjust == "none" else _adjust_grouped(p, families, adjust)
    return np.asarray(families, dtype=np.int64)


def _text(values: npt.NDArray[np.object_]) -> pd.Series:
    """A text column as Python objects (str or None), never inferred as pandas' str dtype."""
    return pd.Series(values, dtype=object, copy=False)


def _assemble(blocks: Sequence[Mapping[str, Any]], adjust: str
              ) -> tuple[pd.DataFrame, dict[str, IntArray]]:
    """The comparison table from column blocks, columns in the order of :data:`COLUMNS`
    (``p_adjusted`` left empty, ``adjust_method`` filled with ``adjust``), and integer codes
    of the columns that are constant within blocks or are the by-cells (for the p-value
    families)."""
    sizes = np.array([len(b["group"]) for b in blocks], dtype=np.int64)
    n = int(sizes.sum())
    data: dict[str, Any] = {}
    codes: dict[str, IntArray] = {}
    for col in COLUMNS[:COLUMNS.index("verdict")]:  # the verdicts come after the p-values
        if col == "p_adjusted":
            data[col] = np.full(n, np.nan)
            continue
        if col == "adjust_method":  # a text column of one value (pandas' str dtype)
            data[col] = np.full(n, adjust, dtype=object) if n else _text(np.full(0, None))
            continue
        parts = [b[col] for b in blocks]
        if col in ("n_wave1", "n_wave2", "n_pairs", "n_excluded_codes"):
            values = np.concatenate([np.asarray(v, dtype=float) for v in parts]) if parts \
                else np.zeros(0)
            missing = np.isnan(values)
            data[col] = pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64),
                                               missing)
        elif col in ("estimate_wave1", "estimate_wave2", "statistic", "df", "p_value",
                     "effect_size", "ci_low", "ci_high", "odds_ratio", "odds_ratio_ci_low",
                     "odds_ratio_ci_high", "net_change", "net_change_ci_low",
                     "net_change_ci_high"):
            data[col] = (np.concatenate([np.asarray(v, dtype=float) for v in parts]) if parts
                         else np.zeros(0))
        elif all(v is None or isinstance(v, str) for v in parts):  # one value per block
            code, uniques = pd.factorize(np.array(parts, dtype=object), use_na_sentinel=False)
            codes[col] = np.repeat(code, sizes)
            data[col] = _text(np.asarray(uniques, dtype=object)[codes[col]])
        else:
            data[col] = _text(np.concatenate([np.asarray(v, dtype=object) for v in parts])
                              if parts else np.zeros(0, dtype=object))
    first = blocks[0]["group"] if blocks else None
    if all(b["group"] is first for b in blocks):  # every block lists the same by-cells
        codes["group"] = np.tile(np.arange(len(first) if first is not None else 0), len(blocks))
    return pd.DataFrame(data), codes


def compare_waves(
    study: StudyLike,
    *,
    items: Sequence[str] | None = None,
    by: str | Sequence[str] = "group",
    designs: Sequence[str] = DEFAULT_DESIGNS,
    tests: Mapping[str, Any] | None = None,
    test_options: Mapping[str, Mapping[str, Any]] | None = None,
    family: str | Sequence[str] = "group",
    adjust: str = "holm",
    alpha: float = 0.05,
    min_n: int = 5,
    unreachable: str = "exclude",
    equivalence: Mapping[str, Any] | None = None,
    primary: str | None = None,
) -> WaveComparison:
    r"""Compare every survey item between waves 1 and 2, per by-value and design.

    Parameters
    ----------
    study : LinkedStudy
        The linked study (``link_waves(wave1, wave2)``).
    items : list of str, optional
        Items to compare. Default: every item asked in both waves that is not free text.
        Naming a free-text item, a one-wave item or a non-item field is an error.
    by : str or tuple of str
        Grouping role(s) or field(s); results are separate per value. A role name means the
        codebook's field with that ``x-role``, whatever it is called: ``"group"`` (default)
        separates the respondent groups (service users and carers); ``("group", "area")``
        gives one row per group and area; ``"area"`` alone pools the groups within each area.
        Any other name is a field name (e.g. a demographic such as ``"age_band"``); see
        :meth:`~crisis_survey.codebook.Codebook.resolve`. The table's ``by`` column and
        ``options["by"]`` hold the field names.
    designs : sequence of {"paired", "independent", "overlapping", "unlinked"}
        Which analyses to run (the first three by default): *paired* uses the linked
        respondents who answered the item in both waves; *independent* uses every respondent
        of each wave as two independent samples (ignoring that linked people appear in both);
        *overlapping* uses the complete pairs as pairs and every other answer as unpaired;
        *unlinked* runs the independent-samples test on the respondents who are in one wave
        only (every row in no pair), the textbook alternative when samples overlap.
    tests : mapping, optional
        Overrides of the test chosen from the measurement level: keys are item names or
        measurement levels (``"ordinal"``...), values a test name (it replaces the test of the
        design it belongs to, e.g. ``{"overall_rating": "paired_t"}``) or a mapping
        ``{design: test name}``. Item keys win over measurement keys. Test names are those of
        :mod:`crisis_survey.stats` plus ``"chi_square_or_fisher"`` (the default for binary
        and nominal items: Pearson's chi-square unless an expected count is below 5, then
        Fisher's exact test). A test name given alone replaces the test of every design it
        serves (an independent-samples test serves ``independent`` and ``unlinked``).
    test_options : mapping, optional
        Options of the tests, by test name, e.g. ``{"wilcoxon_signed_rank": {"method":
        "asymptotic", "correction": False}, "mcnemar": {"correction": True}}``. Each test's
        options and their defaults are defined once, in :data:`crisis_survey.stats.TESTS`,
        and are the defaults of the stats functions too: ``method`` (``"auto"``, ``"exact"``,
        ``"asymptotic"``; McNemar also ``"midp"``), ``correction`` (continuity correction),
        ``zero_method`` (signed-rank: ``"wilcox"`` or ``"pratt"``), ``incomplete_pairs``
        (overlapping tests: a linked respondent who answered in one wave only joins that
        wave's unpaired sample, ``"unpaired"``, or is left out, ``"drop"``). The table's
        ``method`` column says how each p-value was found. See
        ``docs/methods/reproducing-r-and-spss.md`` for R's and SPSS's conventions.
    family : {"group", "item", "design", "all"} or sequence of column names
        Which rows form one family for the p-value adjustment. ``"group"`` (default): all
        items tested within one by-value and design; ``"item"``: one item across the
        by-values within a design (e.g. the 150 areas); ``"design"``: all items and by-values
        of a design; ``"all"``: the whole table. A sequence names table columns whose values
        define the families.
    adjust : {"holm", "hochberg", "bh", "by", "bonferroni", "none"}
        p-value adjustment within each family (:func:`~crisis_survey.stats.adjust_pvalues`).
    alpha : float
        Significance level used to flag adjusted p-values in the printed table (recorded in
        ``options``; it does not change any number).
    min_n : int
        Fewest complete pairs (paired design) or answers per wave (other designs) for a test
        to be run; thinner cells get a row with a ``note`` and no test.
    unreachable : {"exclude", "keep"}
        ``"exclude"`` (default): a paired cell whose smallest attainable p-value is at least
        ``alpha`` (an exact signed-rank test on 5 changed pairs cannot go below 0.0625;
        nobody changed) keeps its p-value but gets no adjusted p-value and is not counted
        in its family, with the reason in ``note``; ``"keep"``: every tested cell enters
        its family. Cells where nobody changed report p = 1 in the signed-rank, McNemar and
        Stuart-Maxwell tests alike (see ``docs/methods/comparing-waves.md``).

    Returns
    -------
    WaveComparison
        ``.table`` (one row per item x by-value x design; columns in :data:`COLUMNS`) and
        ``.options``.

    Raises
    ------
    CrisisSurveyError
        Unknown or uncomparable items, unknown by-columns, designs, tests, families or
        adjustment methods, or a test that cannot analyse an item's measurement level.

    Notes
    -----
    Default tests (from the item's ``measurement`` in the codebook):

    ========  =====================  ======================  ===========================
    level     paired                 independent             overlapping
    ========  =====================  ======================  ===========================
    ordinal   Wilcoxon signed-rank   Mann-Whitney            partially overlapping t
                                                             on the level codes
    binary    McNemar                chi-square (Fisher if   partially overlapping z
                                     an expected count < 5)
    nominal   Stuart-Maxwell         chi-square (Fisher if   none (row with a note)
                                     an expected count < 5)
    numeric   paired t               Welch t                 partially overlapping t
    ========  =====================  ======================  ===========================

    Every test is computed from counts gathered for all by-values at once: a histogram of
    ``by * k + level`` per wave and of ``by * k * k + x * k + y`` for the pairs (the
    signed-rank test reads the counts of each change ``y - x`` off the diagonals of each
    ``k x k`` table), several items sharing one compiled counting pass.

    One direction: every statistic, difference and effect reads wave 2 relative to wave 1,
    as in :mod:`crisis_survey.stats` (positive ``t``, ``z``, differences and correlations,
    and odds ratios above 1, mean higher answers, or more of a binary item's reported level,
    in wave 2; ``V`` and ``W`` sum the ranks of wave 2's side). Unsigned statistics (chi-square)
    and magnitudes (Cramér's V for nominal items, Cohen's w) have no direction. Binary items
    report the risk difference (wave 2 - wave 1, Newcombe's interval) in ``effect_size``
    whichever test gives the p-value, and the odds ratio with its interval in
    ``odds_ratio``, ``odds_ratio_ci_low`` and ``odds_ratio_ci_high`` (NaN for other items).
    Paired ordinal rows report the net change beside the matched-pairs r, whichever test
    gives the p-value: ``net_change`` = P(higher in wave 2) - P(lower) over the complete
    pairs, with Newcombe's paired interval in ``net_change_ci_low``/``_high`` (NaN for other
    rows; ``EFFECTS["net change"]``). It reads only the counts of pairs answering higher, the
    same and lower, so the release publishes it where the r's table holds a small count.
    How each statistic and effect is named, signed and formatted is in
    :data:`crisis_survey.stats.STATISTICS` and :data:`crisis_survey.stats.EFFECTS`. Every
    test uses the stats functions' defaults (two-sided, 95% intervals). "Don't know", "not
    applicable" and "prefer not to say" answers are excluded
    and counted in ``n_excluded_codes`` (answers in the rows the design draws on).
    See ``docs/methods/comparing-waves.md``.

    Equivalent R, for one cell (e.g. service users, an ordinal item)::

        wilcox.test(y, x, paired = TRUE)          # paired (y = wave 2 first)
        wilcox.test(y2, x1)                       # independent
        Partiallyoverlapping::Partover.test(x_only, y_only, x_paired, y_paired)
        p.adjust(p, method = "holm")              # within each family

    References
    ----------
    Derrick, B., Russ, B., Toher, D. & White, P. (2017). Test statistics for the comparison
    of means for two samples that include both paired and independent observations.
    *J. Modern Applied Statistical Methods* 16(1), 137-157.
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6, 65-70.

    Examples
    --------
    >>> import sys; sys.path.insert(0, "tests")
    >>> from _compare_data import make_study
    >>> from crisis_survey.compare import compare_waves
    >>> res = compare_waves(make_study(1), items=["overall_rating", "exp_followup"])
    >>> res.table.groupby("design")["test"].unique().to_dict()["paired"].tolist()
    ['wilcoxon_signed_rank', 'mcnemar']
    >>> len(res.table)  # 2 items x 2 groups x 3 designs
    12
    """
    by_cols = resolve_by(study, by)
    private = study.codebook.private_fields(by_cols)
    if private:
        raise CrisisSurveyError(
            "by= cannot group the results by these columns (their values would be "
            "published as row headings):\n" + "\n".join(f"  - {p}" for p in private)
        )
    if len(set(by_cols)) != len(by_cols):
        raise CrisisSurveyError(f"by= names a column twice: {list(by_cols)}")
    designs = (designs,) if isinstance(designs, str) else tuple(designs)
    bad = [d for d in designs if d not in DESIGNS]
    if bad or not designs:
        raise CrisisSurveyError(
            f"designs= has {bad or 'nothing'}; expected some of {', '.join(DESIGNS)}"
        )
    if len(set(designs)) != len(designs):
        raise CrisisSurveyError(f"designs= names a design twice: {list(designs)}")
    if adjust != "none" and adjust not in ADJUST_METHODS:
        raise CrisisSurveyError(
            f"adjust={adjust!r}; expected one of {', '.join((*ADJUST_METHODS, 'none'))}"
        )
    if isinstance(family, str):
        if family not in FAMILIES:
            raise CrisisSurveyError(
                f"family={family!r}; expected one of {', '.join(FAMILIES)} or a list of "
                "table columns"
            )
    elif not all(c in COLUMNS for c in family):
        raise CrisisSurveyError(
            f"family={list(family)} names columns that are not in the table; expected some of "
            f"{', '.join(COLUMNS)}"
        )
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise CrisisSurveyError(f"alpha must be between 0 and 1; got {alpha!r}")
    if isinstance(min_n, bool) or not isinstance(min_n, int) or not 1 <= min_n <= MAX_MIN_N:
        raise CrisisSurveyError(
            f"min_n must be a whole number from 1 to {MAX_MIN_N:,}; got {min_n!r}")
    if unreachable not in fam.UNREACHABLE:
        raise CrisisSurveyError(
            f"unreachable={unreachable!r}; expected one of {', '.join(fam.UNREACHABLE)}")

    if test_options is not None and not isinstance(test_options, Mapping):
        raise CrisisSurveyError(
            f"test_options must map test names to options; got {test_options!r}")
    for name, given in (test_options or {}).items():
        if not isinstance(given, Mapping):
            raise CrisisSurveyError(
                f"test_options[{name!r}] must map option names to values; got {given!r}")
    options_of = {name: check_options(name, (test_options or {}).get(name)) for name in TESTS}
    unused = [k for k in (test_options or {}) if k not in TESTS]
    if unused:  # check_options names them
        check_options(unused[0], None)
    fields = _select_items(study, items)
    margins = vd.check_margins(equivalence, [f.name for f in fields])
    primary_design = primary if primary is not None else (
        "paired" if "paired" in designs else designs[0])
    if primary_design not in designs:
        raise CrisisSurveyError(
            f"primary={primary!r} is not one of the designs run ({', '.join(designs)})")
    chosen = _resolve_tests(fields, tests)
    layout = make_layout(study, by_cols)
    by_name = " / ".join(by_cols)
    counted = dict(zip((f.name for f in fields), count_items(layout, fields), strict=True))
    alike: dict[tuple[Any, ...], list[Field]] = {}
    for f in fields:
        alike.setdefault(_same_analysis(f, chosen[f.name]), []).append(f)
    made: dict[tuple[str, str], dict[str, Any]] = {}
    for group in alike.values():
        made.update(_item_blocks(layout, group, [counted[f.name] for f in group],
                                 chosen[group[0].name], designs, min_n, by_name,
                                 options_of))
    blocks = [made[(f.name, design)] for f in fields for design in designs]
    table, codes = _assemble(blocks, adjust)
    leave_out = None
    if unreachable == "exclude" and blocks:
        p_min = np.concatenate([np.asarray(b["_p_min"], dtype=float) for b in blocks])
        leave_out = (p_min >= alpha) & table["p_value"].notna().to_numpy()
        if leave_out.any():
            notes = table["note"].to_numpy(dtype=object).copy()
            changed = np.concatenate([np.asarray(b["_changed"], dtype=float) for b in blocks])
            for i in np.flatnonzero(leave_out).tolist():
                why = fam.unreachable_note(float(p_min[i]), float(changed[i]), alpha)
                notes[i] = why if notes[i] is None else f"{notes[i]}; {why}"
            table["note"] = _text(notes)
    families = _adjust(table, family, adjust, codes, leave_out)
    polarity = {f.name: f.polarity for f in fields}
    if blocks:
        made_cols = vd.verdict_columns(blocks, table, families, leave_out, margins, polarity,
                                       float(alpha), adjust)
        for col in _VERDICT_COLUMNS:
            values = made_cols[col]
            table[col] = _text(values) if values.dtype == object else values
    else:
        for col in _VERDICT_COLUMNS:
            table[col] = pd.Series([], dtype=object)
    options: dict[str, Any] = {
        "items": [f.name for f in fields],
        "by": list(by_cols),
        "designs": list(designs),
        "tests": {k: dict(v) for k, v in chosen.items()},
        "tests_requested": dict(tests or {}),
        "test_options": {name: options_of[name] for name in sorted(
            {t for per in chosen.values() for d, t in per.items() if t and d in designs})},
        "family": family if isinstance(family, str) else list(family),
        "adjust": adjust,
        "alpha": float(alpha),
        "min_n": int(min_n),
        "unreachable": unreachable,
        "equivalence": {k: dict(v) for k, v in margins.items()},
        "primary": primary_design,
        "power": vd.POWER,
        "confidence": 0.95,
        "codebook": {"name": study.codebook.name, "version": study.codebook.version},
        "waves": [
            {"wave": w.wave, "file": w.source, "sha256": w.sha256}
            for w in (study.wave1, study.wave2)
        ],
    }
    return WaveComparison(table=table, options=options)
