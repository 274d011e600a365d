"""The release-wide disclosure audit (private module; :func:`audit_release` is reached
through :mod:`crisis_survey.present._release`).

A reader holds every file of a release at once. The audit writes everything the release
publishes *or withholds* as a linear function of counts of respondents, and proves by
linear programming that no small count (1 to ``threshold - 1``) can be narrowed to fewer
than ``protection`` whole numbers. See ``docs/disclosure-control.md`` (The release-wide
audit) for the model, its guarantee and its limits.

The model (*marginal model*): respondents fall into *strata* (their respondent group and
by-cell in each wave, and whether they are linked); within a stratum, every published count
is about one variable at a time (an item or a demographic, in one wave or as a pair of
waves). A reader who does not know which combinations of answers occur can then treat each
variable as an independent *block*: its unknowns are the counts of every (stratum, wave-1
answer, wave-2 answer) combination, *including the combinations nobody gave*. Blocks share
only the strata sizes; they are coupled by propagating each stratum's bounds from every
block to every other (exact when the strata sizes are published, as by group).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._memo import remembered
from ._disclosure import (
    DEFAULT_THRESHOLD,
    DOMAIN_PARTS,
    SUPPRESSED_MARKER,
    _null_basis,
    _width,
    default_protection,
    lp_stack,
)

if TYPE_CHECKING:
    from ..link import LinkedStudy

__all__ = ["AUDIT_COLUMNS", "audit_release"]

#: Columns of :func:`audit_release`'s result.
AUDIT_COLUMNS = ["output", "fact", "kind", "value", "lower", "upper", "values", "narrowed",
                 "fix"]
#: The parts of a release the report publishes (the audit's default). The audit also reads
#: ``"change"``: the down/same/up bars of
#: :func:`~crisis_survey.present.change_chart`, which the report does not draw (beside the
#: transition chart's cells, its "same" and "up" bars pin withheld diagonal cells).
#: The most facts x grid points (summed over the blocks) the audit's ``"auto"`` method
#: still solves by the dense reference (tens of MB; the small studies and the sample).
DENSE_LIMIT = 20_000_000
PARTS = ("table1", "linkage", "comparison", "statistics", "attrition", "figures", "wave2",
         "models")


@dataclass
class _Block:
    """One variable's unknowns and the facts about them.

    ``weight`` holds the true count of each grid point; a fact is a 0/1 vector over the grid
    with its output, label, and whether it is published (an equation for the reader),
    withheld (known to be at least 1, a count to protect when small) or a *source* cell
    (a count a statistic is computed from, printed nowhere: protected when small)."""

    name: str
    weight: np.ndarray
    strata: np.ndarray  # stratum of each grid point
    coefs: list[np.ndarray] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # "published" | "withheld" | "source"
    labels: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    origins: list[tuple[str, ...] | None] = field(default_factory=list)

    def add(self, output: str, label: str, mask: np.ndarray, kind: str,
            origin: tuple[str, ...] | None = None) -> None:
        # the grid points of the fact (a dense mask per fact is facts x grid booleans: by
        # group x area, 150 areas, gigabytes per block)
        self.coefs.append(np.flatnonzero(np.asarray(mask, dtype=bool)).astype(np.int64))
        self.kinds.append(kind)
        self.labels.append(label)
        self.outputs.append(output)
        self.origins.append(origin)


@dataclass
class _Frame:
    """Grid points of one block as pseudo-respondents: their stratum attributes and answers
    (``x1``/``x2``: level code, -1 missing, -2 no row in that wave)."""

    has1: np.ndarray
    has2: np.ndarray
    linked: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    c1: np.ndarray
    c2: np.ndarray
    cp: np.ndarray
    x1: np.ndarray
    x2: np.ndarray

    def has(self, w: int) -> np.ndarray:
        return self.has1 if w == 1 else self.has2

    def g(self, w: int) -> np.ndarray:
        return self.g1 if w == 1 else self.g2

    def c(self, w: int) -> np.ndarray:
        return self.c1 if w == 1 else self.c2

    def x(self, w: int) -> np.ndarray:
        return self.x1 if w == 1 else self.x2


class _Persons:
    """Every respondent once (a linked pair is one person with both rows), with the strata
    attributes the audit's facts read."""

    def __init__(self, study: LinkedStudy, layout: Any) -> None:
        from ._tables import _codes

        cb = study.codebook
        self.waves = (study.wave1.data, study.wave2.data)
        pos1, pos2 = (np.asarray(p, dtype=np.int64) for p in layout.pair_pos)
        m = len(pos1)
        alone = [_rows_not_in(len(w), p) for w, p in zip(self.waves, (pos1, pos2), strict=True)]
        n = m + len(alone[0]) + len(alone[1])
        self.rows = [np.full(n, -1, np.int64), np.full(n, -1, np.int64)]
        self.rows[0][:m], self.rows[1][:m] = pos1, pos2
        self.rows[0][m:m + len(alone[0])] = alone[0]
        self.rows[1][m + len(alone[0]):] = alone[1]
        self.groups = list(cb.group.labels)
        by_wave = layout.by_wave
        attrs = []
        for w in (0, 1):
            r = self.rows[w]
            has = r >= 0
            g = np.full(n, -2, np.int64)
            g[has] = _codes(self.waves[w][cb.group.name], self.groups)[r[has]]
            c = np.full(n, -2, np.int64)
            c[has] = np.asarray(by_wave[w])[r[has]]
            attrs += [has.astype(np.int64), g, c]
        cp = np.full(n, -2, np.int64)
        cp[:m] = np.asarray(layout.by_pair)
        linked = np.zeros(n, np.int64)
        linked[:m] = 1
        table = np.column_stack([*attrs, cp, linked])
        self.strata, self.stratum = _unique_table(table)

    def codes(self, name: str, labels: Sequence[str], w: int) -> np.ndarray:
        """Level code of ``name`` in wave ``w`` per person (-1 missing, -2 no row)."""
        from ._tables import _codes

        r = self.rows[w - 1]
        out = np.full(r.size, -2, np.int64)
        has = r >= 0
        data = self.waves[w - 1]
        out[has] = (_codes(data[name], labels)[r[has]] if name in data.columns else -1)
        return out

    def block(self, name: str, labels: Sequence[str]) -> tuple[_Block, _Frame]:
        """The grid of every (stratum, wave-1 answer, wave-2 answer), answers the reader
        cannot rule out included, with the true count of each point."""
        k = len(labels)
        s = self.strata
        n_s = len(s)
        in_wave = [name in self.waves[w].columns for w in (0, 1)]
        doms = []
        for w in (0, 1):
            has = s[:, 3 * w] == 1
            size = np.where(has, (k + 1) if in_wave[w] else 1, 1)
            doms.append(size)
        sizes = doms[0] * doms[1]
        offset = np.concatenate([[0], np.cumsum(sizes)])
        total = int(offset[-1])
        stratum = np.repeat(np.arange(n_s), sizes)
        local = np.arange(total) - offset[stratum]
        d2 = doms[1][stratum]
        pos = [local // d2, local % d2]
        xs = []
        for w in (0, 1):
            has = s[stratum, 3 * w] == 1
            xs.append(np.where(has, pos[w] - 1, -2))
        frame = _Frame(
            has1=s[stratum, 0] == 1, has2=s[stratum, 3] == 1, linked=s[stratum, 7] == 1,
            g1=s[stratum, 1], g2=s[stratum, 4], c1=s[stratum, 2], c2=s[stratum, 5],
            cp=s[stratum, 6], x1=xs[0], x2=xs[1])
        # true counts: each person's grid point
        p1, p2 = self.codes(name, labels, 1), self.codes(name, labels, 2)
        q1 = np.where(p1 >= -1, p1 + 1, 0)
        q2 = np.where(p2 >= -1, p2 + 1, 0)
        point = offset[self.stratum] + q1 * doms[1][self.stratum] + q2
        weight = np.bincount(point, minlength=total).astype(float)
        return _Block(name=name, weight=weight, strata=stratum), frame


def _rows_not_in(n: int, rows: np.ndarray) -> np.ndarray:
    """``np.setdiff1d(np.arange(n), rows)`` (the rows of a wave in no pair) by a mask:
    numpy's set difference hashed 2 million positions in 1.5 s at 1,000,000 per wave."""
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= n):
        return np.setdiff1d(np.arange(n), rows)
    keep = np.ones(n, dtype=bool)
    keep[rows] = False
    return np.flatnonzero(keep)


def _unique_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(table, axis=0, return_inverse=True)`` of an integer table (one row a
    person): its distinct rows in ascending (lexicographic) order and each row's index among
    them. Each column's values are replaced by their rank among the column's distinct
    values (:func:`_column_ranks`) and the ranks read as the digits of one integer (the
    first column the most significant), so ordering the integers orders the rows as
    numpy's sort of whole rows does; the integers are ranked by a hash table
    (``pandas.factorize``), not a sort. At 2 million persons by group numpy's took 5.2 s of
    the audit's 5.9 s CPU. Where the digits would not fit in 62 bits,
    :func:`_unique_table_reference` (numpy's; ``tests/test_audit_memo.py`` compares the
    two)."""
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] == 0:
        return _unique_table_reference(table)
    columns = []
    room = 1
    for j in range(table.shape[1]):
        values, rank = _column_ranks(table[:, j])
        room *= max(1, values.size)
        if room >= 2**62:
            return _unique_table_reference(table)
        columns.append((values, rank))
    key = np.zeros(table.shape[0], dtype=np.int64)
    for values, rank in columns:
        key = key * values.size + rank
    codes, keys = pd.factorize(key, sort=True)
    keys = np.asarray(keys, dtype=np.int64)
    rows = np.empty((keys.size, table.shape[1]), dtype=table.dtype)
    for j in range(table.shape[1] - 1, -1, -1):  # the digits back, least significant first
        values = columns[j][0]
        rows[:, j] = values[keys % values.size]
        keys = keys // values.size
    return rows, np.asarray(codes, dtype=np.int64)


def _column_ranks(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(column, return_inverse=True)`` of integers, by counting where their
    range is at most a few times their number (a sort otherwise)."""
    lo, hi = int(column.min()), int(column.max())
    if hi - lo + 1 > max(4 * column.size, 1 << 16):
        values, rank = np.unique(column, return_inverse=True)
        return values, rank.ravel().astype(np.int64)
    shifted = np.subtract(column, lo, dtype=np.int64)
    present = np.bincount(shifted, minlength=hi - lo + 1) > 0
    lookup = np.cumsum(present, dtype=np.int64) - 1
    return (np.flatnonzero(present) + lo).astype(column.dtype), np.take(lookup, shifted)


def _unique_table_reference(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, inverse = np.unique(table, axis=0, return_inverse=True)
    return rows, inverse.ravel().astype(np.int64)


def _real_areas(study: LinkedStudy, columns: set[str]) -> set[str]:
    """The columns of the wave-2 table by area that are areas (not the pooled column)."""
    cb = study.codebook
    assert cb.area is not None
    known = {str(a) for a in study.wave2.data[cb.area.name].dropna().unique()}
    return columns & known


def _stratum_areas(study: LinkedStudy, persons: _Persons, layout: Any) -> np.ndarray | None:
    """Each stratum's wave-2 area (``""``: none), where the by-cells hold the area (so a
    stratum has one); ``None`` otherwise."""
    cb = study.codebook
    if cb.area is None or cb.area.name not in tuple(layout.by):
        return None
    first = np.unique(persons.stratum, return_index=True)[1]
    rows = persons.rows[1][first]
    values = study.wave2.data[cb.area.name].astype(object).to_numpy()
    out = np.full(len(first), "", dtype=object)
    has = rows >= 0
    out[has] = [("" if v is None or v != v else str(v)) for v in values[rows[has]]]
    return out


def _top(measurement: str, k: int) -> np.ndarray:
    """Levels counted in a published percentage (index ``-1``/``-2`` read a spare False)."""
    top = np.zeros(k + 2, dtype=bool)
    if measurement == "ordinal":
        top[k - 2:k] = True
    elif measurement == "binary":
        top[1] = True
    return top


def audit_release(
    study: LinkedStudy,
    comparison: Any,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int | None = None,
    designs: Sequence[str] = ("paired", "independent", "overlapping"),
    parts: Sequence[str] = PARTS,
    published: Any = None,
    method: str = "auto",
) -> pd.DataFrame:
    """Attack a release as a reader holding all of it at once, by linear programming.

    Parameters
    ----------
    study, comparison
        The linked study and its :func:`~crisis_survey.compare.compare_waves` result.
    threshold, protection
        Counts from 1 to ``threshold - 1`` are small; a small count is *narrowed* when
        the reader's interval holds fewer than ``protection`` whole numbers (default
        :func:`~crisis_survey.present._disclosure.default_protection`).
    designs, parts
        What the release publishes (the comparison designs; :data:`PARTS`).
    published
        The release's published values (:class:`~crisis_survey.present._release.Published`);
        built here when not given.
    method
        ``"reference"``: one dense programme over each whole block (memory and time grow
        with the square of the cells: by group x area it ran out of memory);
        ``"local"``: sparse blocks, counts proven safe by local programmes first, the
        reference for the rest (:mod:`._audit_local`); ``"auto"`` (default): the
        reference while its dense blocks stay below :data:`DENSE_LIMIT` entries, else
        local. On small studies both find the same narrowed counts with the same bounds
        (``tests/test_audit_local.py``).

    Returns
    -------
    pandas.DataFrame
        One row per small count checked (withheld counts and the cells statistics are
        computed from): ``output, fact, kind, value, lower, upper, values, narrowed``.
        ``attrs["published_facts"]``: per output, how many published sums of the item and
        demographic blocks the reader was given (the linkage table's own programme aside);
        ``attrs["method"]``: the path that solved it (``"reference"`` or ``"local"``).
    """
    from ..compare._study import make_layout, resolve_by
    from ._release import Published

    need = default_protection(threshold) if protection is None else int(protection)
    cb = study.codebook
    options = getattr(comparison, "options", {})
    layout = make_layout(study, resolve_by(study, tuple(options.get("by", ("group",)))))
    if published is None:
        published = Published.build(study, comparison, threshold=threshold, designs=designs)
    persons = _Persons(study, layout)
    groups = persons.groups
    cells = list(layout.cells)
    parts = tuple(parts)

    def in_group(codes: np.ndarray, group: str) -> np.ndarray:
        return codes >= 0 if group == "All" else codes == groups.index(group)

    blocks: dict[str, tuple[_Block, _Frame]] = {}

    def block(name: str) -> tuple[_Block, _Frame] | None:
        if name not in cb.names or not cb[name].levels:
            return None
        if name not in blocks:
            f = cb[name].oriented()
            blocks[name] = persons.block(name, f.labels)
        return blocks[name]

    def status(shown: bool) -> str:
        return "published" if shown else "withheld"

    def domain(shown: bool, group: Any, name: Any, part: str) -> tuple[str, ...] | None:
        # a published count of a domain (one group's answers to one field) in one part of
        # the release: the secondary action may withhold the domain from that part where
        # no statistic is left to withhold (_release.hidden_domains)
        return ("domain", str(group), str(name), part) if shown else None

    # Table 1
    if "table1" in parts:
        for rec in published.sample.to_dict("records"):
            got = block(str(rec["variable"]))
            if got is None:
                continue
            b, fr = got
            f = cb[str(rec["variable"])].oriented()
            w = int(rec["wave"])
            hit = (fr.x(w) == -1) if rec["level"] == "Not stated" else (
                fr.x(w) == f.labels.index(str(rec["level"])))
            shown = not pd.isna(rec["count"])
            b.add("Table 1", f"w{w} {rec['group']} {f.name}={rec['level']}",
                  hit & in_group(fr.g(w), str(rec["group"])), status(shown),
                  domain(shown, rec["group"], f.name, "table1"))
    def by_cell(tables: Any) -> Any:
        """(design, record, block, frame, field, cell) of every row of ``tables`` (design
        -> values) whose item has a block and whose by-cell is compared."""
        for design, shown in tables.items() if "comparison" in parts else []:
            for rec in shown.to_dict("records"):
                got = block(str(rec["item"]))
                if got is not None and rec["group"] in cells:
                    yield (design, rec, *got, cb[str(rec["item"])].oriented(),
                           cells.index(rec["group"]))

    # comparison rows and the cells behind their statistics
    for design, rec, b, fr, f, c in by_cell(published.comparison):
        k = len(f.labels)
        top = _top(str(f.measurement), k)
        out = f"comparison ({design})"
        name = f"{rec['group']} {f.name}"
        stats = "statistics" in parts and not (pd.isna(rec["effect_size"])
                                               and pd.isna(rec["statistic"]))
        x1, x2 = fr.x1, fr.x2
        pair = fr.linked & (fr.cp == c) & (x1 >= 0) & (x2 >= 0)
        answered = [fr.has1 & (fr.c1 == c) & (x1 >= 0), fr.has2 & (fr.c2 == c) & (x2 >= 0)]
        src = published.sources.get((str(rec["group"]), f.name, design))
        wilcoxon = src is not None and src.reveals is not None
        origin = ("comparison", design, str(rec["group"]), f.name)
        if design == "paired":
            shown = not pd.isna(rec["n_pairs"])
            b.add(out, f"{name} n pairs", pair, status(shown),
                  domain(shown, rec["group"], f.name, design))
            for w, xw in ((1, x1), (2, x2)):
                shown = not pd.isna(rec[f"estimate_wave{w}"])
                b.add(out, f"{name} top w{w}", pair & top[xw], status(shown),
                      domain(shown, rec["group"], f.name, design))
            for i in range(k):
                for j in range(k):
                    b.add(out, f"{name} pairs {i},{j}", pair & (x1 == i) & (x2 == j),
                          "source")
            if stats:
                if wilcoxon:
                    for d in range(-(k - 1), k):
                        b.add(out, f"{name} difference {d}", pair & (x2 - x1 == d),
                              "published", origin)
                else:
                    for i in range(k):
                        for j in range(k):
                            b.add(out, f"{name} pairs {i},{j} (statistic)",
                                  pair & (x1 == i) & (x2 == j), "published", origin)
            if "statistics" in parts and not pd.isna(rec.get("net_change", np.nan)):
                # the net change and its interval give the pairs higher and lower in
                # wave 2 (with n, the same): three sums of the pairs' cells
                for what, moved in (("higher", x2 > x1), ("same", x2 == x1),
                                    ("lower", x2 < x1)):
                    b.add(out, f"{name} net change: pairs {what} in wave 2",
                          pair & moved, "published", origin)
            if "statistics" in parts and not pd.isna(rec.get("difference_low", np.nan)):
                # the difference's interval reads the pairs' 2 x 2 table of the counted
                # level(s) (Source.difference): its four cells, withheld on their own
                t1, t2 = top[x1], top[x2]
                interval = ("difference", *origin[1:])
                for what, cell in (("both waves", t1 & t2), ("wave 1 only", t1 & ~t2),
                                   ("wave 2 only", ~t1 & t2), ("neither wave", ~t1 & ~t2)):
                    b.add(out, f"{name} difference interval: pairs counted in {what}",
                          pair & cell, "published", interval)
            continue
        for w, xw in ((1, x1), (2, x2)):
            shown = not pd.isna(rec[f"n_wave{w}"])
            b.add(out, f"{name} n w{w}", answered[w - 1], status(shown),
                  domain(shown, rec["group"], f.name, design))
            shown = not pd.isna(rec[f"estimate_wave{w}"])
            b.add(out, f"{name} top w{w}", answered[w - 1] & top[xw], status(shown),
                  domain(shown, rec["group"], f.name, design))
        if design == "overlapping":
            alone = [answered[0] & ~pair, answered[1] & ~pair]
            for i in range(k):
                for j in range(k):
                    b.add(out, f"{name} pairs {i},{j}", pair & (x1 == i) & (x2 == j),
                          "published" if stats else "source", origin if stats else None)
            for w, xw in ((1, x1), (2, x2)):
                for i in range(k):
                    b.add(out, f"{name} unpaired w{w} level {i}",
                          alone[w - 1] & (xw == i), "published" if stats else "source",
                          origin if stats else None)
        else:
            for w, xw in ((1, x1), (2, x2)):
                for i in range(k):
                    b.add(out, f"{name} w{w} level {i}", answered[w - 1] & (xw == i),
                          "published" if stats else "source", origin if stats else None)
    # the distribution tables: every level's count per group and wave (pairs, or everyone)
    for design, rec, b, fr, f, c in by_cell(published.distributions):
        if str(rec["level"]) not in f.labels:
            continue
        i = f.labels.index(str(rec["level"]))
        w = int(rec["wave"])
        xw = fr.x1 if w == 1 else fr.x2
        if design == "paired":
            who = fr.linked & (fr.cp == c) & (fr.x1 >= 0) & (fr.x2 >= 0)
        else:
            who = fr.has(w) & (fr.c(w) == c)
        shown = not pd.isna(rec["count"])
        b.add(f"distribution ({design})", f"{rec['group']} {f.name} w{w} level {i}",
              who & (xw == i), status(shown),
              domain(shown, rec["group"], f.name, "distribution"))
    # attrition.csv: n's, the counts behind its percentages, the cells behind its tests
    if "attrition" in parts:
        att = published.attrition
        for rec in att.to_dict("records"):
            got = block(str(rec["variable"]))
            if got is None:
                continue
            b, fr = got
            f = cb[str(rec["variable"])].oriented()
            k = len(f.labels)
            top = _top(str(f.measurement), k)
            base = fr.has1 & (fr.x1 >= 0) & in_group(fr.g1, str(rec["group"]))
            name = f"{rec['group']} {f.name}"
            stats = str(rec.get("statistic", "")) not in ("–", "", "nan") or str(
                rec.get("effect_size", "")) not in ("–", "", "nan")
            for side, flag in (("returned", fr.linked), ("not_returned", ~fr.linked)):
                sel = base & flag
                shown = str(rec[f"n_{side}"]) != SUPPRESSED_MARKER
                b.add("attrition.csv", f"{name} n_{side}", sel, status(shown),
                      domain(shown, rec["group"], f.name, "attrition"))
                pct = str(rec.get(f"pct_{side}", "–"))
                if f.measurement in ("ordinal", "binary") and pct not in ("–", "", "nan"):
                    b.add("attrition.csv", f"{name} top {side}", sel & top[fr.x1],
                          "published", domain(True, rec["group"], f.name, "attrition"))
                for i in range(k):
                    b.add("attrition.csv", f"{name} {side} level {i}", sel & (fr.x1 == i),
                          "published" if stats else "source",
                          ("attrition", str(rec["group"]), f.name) if stats else None)
    # figures: the bars drawn
    if "figures" in parts:
        for rec in published.likert.to_dict("records"):
            if not rec["drawn"]:
                continue
            got = block(str(rec["item"]))
            if got is None:
                continue
            b, fr = got
            w = int(rec["wave"])
            b.add("Likert figure", f"w{w} {rec['group']} {rec['item']}={rec['level']}",
                  fr.has(w) & (fr.x(w) == int(rec["level_index"]))
                  & in_group(fr.g(w), str(rec["group"])), "published",
                  domain(True, rec["group"], rec["item"], "likert"))
        for rec in published.transitions.to_dict("records"):
            got = block(str(rec["item"]))
            if got is None:
                continue
            b, fr = got
            pair = fr.linked & (fr.x1 >= 0) & (fr.x2 >= 0) & in_group(fr.g1, str(rec["group"]))
            i, j = int(rec["from_index"]), int(rec["to_index"])
            if i == 0 and j == 0:  # the panel's number of pairs, in its title
                shown = not pd.isna(rec["n"])
                b.add("transition figure", f"{rec['group']} {rec['item']} pairs", pair,
                      status(shown), domain(shown, rec["group"], rec["item"], "transitions"))
            shown = not rec["withheld"]
            b.add("transition figure", f"{rec['group']} {rec['item']} {i}->{j}",
                  pair & (fr.x1 == i) & (fr.x2 == j), status(shown),
                  domain(shown, rec["group"], rec["item"], "transitions"))
    if "change" in parts:
        steps = {"down": -1, "same": 0, "up": 1}
        for rec in published.change.to_dict("records"):
            if not rec["drawn"]:
                continue
            got = block(str(rec["item"]))
            if got is None:
                continue
            b, fr = got
            b.add("paired-change figure", f"{rec['group']} {rec['item']} {rec['direction']}",
                  fr.linked & (fr.x1 >= 0) & (fr.x2 >= 0)
                  & (np.sign(fr.x2 - fr.x1) == steps[str(rec["direction"])])
                  & in_group(fr.g1, str(rec["group"])), "published",
                  domain(True, rec["group"], rec["item"], "transitions"))
    # the wave-2 table by group
    if "wave2" in parts and published.wave2 is not None:
        for rec in published.wave2.to_dict("records"):
            got = block(str(rec["item"]))
            if got is None:
                continue
            b, fr = got
            f = cb[str(rec["item"])].oriented()
            if str(rec["level"]) not in f.labels:
                continue
            b.add("wave-2 table", f"{rec['column']} {f.name}={rec['level']}",
                  fr.has2 & (fr.x2 == f.labels.index(str(rec["level"])))
                  & in_group(fr.g2, str(rec["column"])), status(not pd.isna(rec["count"])))

    # the wave-2 table by local area: every count published (areas are pooled until none is
    # withheld). Its All column gives each level's total over everyone; where the
    # comparison's by-cells hold the area, each stratum has one area and every column is an
    # equation too. Otherwise no published count is by area and group at once, so the area
    # columns say nothing more about the table by group than their sums (for any split of
    # each level's total by group there is a split by group and area with both margins)
    if "wave2" in parts and published.wave2_area is not None:
        area_of = _stratum_areas(study, persons, layout)
        real = sorted(_real_areas(study, {str(c) for c in published.wave2_area["column"]}
                                  - {"All"}))
        for rec in published.wave2_area.to_dict("records"):
            got = block(str(rec["item"]))
            if got is None or pd.isna(rec["count"]):
                continue
            b, fr = got
            f = cb[str(rec["item"])].oriented()
            if str(rec["level"]) not in f.labels:
                continue
            hit = fr.has2 & (fr.x2 == f.labels.index(str(rec["level"])))
            column = str(rec["column"])
            if column != "All":
                if area_of is None:
                    continue
                mine = area_of[b.strata]
                hit = hit & ((mine == column) if column in real else ~np.isin(mine, real))
            b.add("wave-2 table by area", f"{column} {f.name}={rec['level']}", hit,
                  "published")

    # the change-by-group models: odds ratios published reveal (at most) every count of the
    # item's group x wave x level table, under the group the model counts a respondent in
    # (a linked respondent's pair group, the wave-1 group); intervals and exact p-values
    # every pattern count (the pairs and the single answers)
    if "models" in parts:
        for item, msrc in published.models.items():
            got = block(item)
            if got is None or not msrc.estimates_pass(threshold):
                continue
            b, fr = got
            k = len(cb[item].labels)
            model_origin: tuple[str, ...] = ("model", item)
            for gi, g in enumerate(groups):
                mine = [(fr.linked & (fr.g1 == gi)) | (~fr.linked & fr.has1 & (fr.g1 == gi)),
                        (fr.linked & (fr.g1 == gi)) | (~fr.linked & fr.has2 & (fr.g2 == gi))]
                for w, xw in ((1, fr.x1), (2, fr.x2)):
                    for i in range(k):
                        b.add("change-by-group model", f"{g} {item} w{w} level {i}",
                              mine[w - 1] & (xw == i), "published", model_origin)
                if msrc.passes(threshold):
                    pair = fr.linked & (fr.g1 == gi) & (fr.x1 >= 0) & (fr.x2 >= 0)
                    for i in range(k):
                        for j in range(k):
                            b.add("change-by-group model", f"{g} {item} pairs {i},{j}",
                                  pair & (fr.x1 == i) & (fr.x2 == j), "published",
                                  model_origin)

    # the structure every block shares: respondents and linked per group (linkage table)
    link = published.linkage_counts
    shown_link = published.linkage_display
    for b, fr in blocks.values():
        for g in [*groups, "All"]:
            col = g if g in shown_link.columns else None
            for w in (1, 2):
                shown = col is None or str(shown_link.at[f"wave-{w} respondents", col]) \
                    != SUPPRESSED_MARKER
                b.add("linkage table", f"wave-{w} respondents {g}",
                      fr.has(w) & in_group(fr.g(w), g), status(shown))
            shown = col is None or str(shown_link.at["linked", col]) != SUPPRESSED_MARKER
            b.add("linkage table", f"linked {g}", fr.linked & in_group(fr.g1, g),
                  status(shown))

    linkage = _linkage_problem(link, shown_link, published.accounting, groups)
    if method not in ("auto", "local", "reference"):
        raise ValueError(f"method must be 'auto', 'local' or 'reference', not {method!r}")
    if method == "auto":
        dense = sum(len(b.coefs) * b.weight.size for b, _ in blocks.values())
        method = "reference" if dense <= DENSE_LIMIT else "local"
    # what the reader is given, per output (equations of the programmes), for the record
    given: dict[str, int] = {}
    for b, _ in blocks.values():
        for out_name, kind in zip(b.outputs, b.kinds, strict=True):
            if kind == "published":
                given[out_name] = given.get(out_name, 0) + 1
    if method == "reference":
        problems = [_problem(b) for b, _ in blocks.values()]
        result = _solve([*problems, linkage], need, threshold, persons)
    else:
        from . import _audit_local

        sparse = [_audit_local.sparse_problem(b) for b, _ in blocks.values()]
        result = _audit_local.solve([*sparse, _audit_local.from_dense(linkage)], need,
                                    threshold, persons)
    result.attrs["published_facts"] = given
    result.attrs["method"] = method
    return result


@dataclass
class _Problem:
    """One block as a linear programme over its *atoms* (grid points every fact treats
    alike, merged)."""

    name: str
    atoms: np.ndarray  # facts x atoms, 0/1
    value: np.ndarray  # true value of each fact
    kinds: list[str]
    labels: list[str]
    outputs: list[str]
    strata: np.ndarray  # strata x atoms, 0/1 (rows: the strata of _Persons.strata)
    upper: float
    truth: np.ndarray  # the true count of each atom (a feasible point)
    origins: list[tuple[str, ...] | None] = field(default_factory=list)


def _problem(b: _Block) -> _Problem:
    """The reference construction (dense; :func:`._audit_local.sparse_problem` is the
    product path's)."""
    matrix = np.zeros((len(b.coefs), b.weight.size), bool)
    for i, cols in enumerate(b.coefs):
        matrix[i, cols] = True
    n_strata = int(b.strata.max()) + 1 if b.strata.size else 0
    strata = np.zeros((n_strata, b.weight.size), dtype=bool)
    strata[b.strata, np.arange(b.weight.size)] = True
    full = np.vstack([matrix, strata])
    packed = np.packbits(full, axis=0).T
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    weight = np.bincount(inverse, weights=b.weight, minlength=first.size)
    atoms = full[:, first].astype(float)
    # atoms inside a published zero are zero: drop them (the reader knows it too)
    kinds = np.asarray(b.kinds)
    zero = np.asarray([k == "published" for k in kinds]) & (atoms[: len(b.coefs)] @ weight == 0)
    alive = ~atoms[: len(b.coefs)][zero].any(axis=0) if zero.any() else np.ones(
        atoms.shape[1], dtype=bool)
    atoms, weight = atoms[:, alive], weight[alive]
    value = atoms[: len(b.coefs)] @ weight
    return _Problem(name=b.name, atoms=atoms[: len(b.coefs)], value=value, kinds=b.kinds,
                    labels=b.labels, outputs=b.outputs, strata=atoms[len(b.coefs):],
                    upper=float(b.weight.sum()), truth=weight, origins=b.origins)


def _linkage_problem(counts: pd.DataFrame, shown: pd.DataFrame, accounting: pd.DataFrame,
                     groups: Sequence[str]) -> _Problem:
    """The linkage table, accounting.csv and the flow diagram: per wave and group the
    linked, one-wave-only, duplicate-key, group-conflict and missing-key respondents
    (linked shared by both waves), and per wave the rows excluded at loading."""
    from ._tables import _link_keys

    names: list[str] = [f"linked {g}" for g in groups]
    cats = ("only", "duplicate", "conflict", "missing")
    names += [f"{c} w{w} {g}" for w in (1, 2) for c in cats for g in groups]
    names += ["excluded w1", "excluded w2"]
    index = {n: i for i, n in enumerate(names)}
    value = np.zeros(len(names))
    for g in groups:
        value[index[f"linked {g}"]] = _int(counts.at["linked", g])
        for w in (1, 2):
            keys = _link_keys(w)
            for c in cats:
                if keys[c] in counts.index:
                    value[index[f"{c} w{w} {g}"]] = _int(counts.at[keys[c], g])
    for w in (1, 2):
        row = f"excluded at loading wave {w}"
        value[index[f"excluded w{w}"]] = _int(counts.at[row, "All"]) if row in counts.index \
            else 0
    rows: list[np.ndarray] = []
    kinds: list[str] = []
    labels: list[str] = []
    outputs: list[str] = []
    origins: list[tuple[str, ...] | None] = []

    def add(output: str, label: str, members: Sequence[str], shown_value: Any,
            cell: tuple[str, str] | None = None) -> None:
        coef = np.zeros(len(names))
        coef[[index[m] for m in members]] = 1.0
        rows.append(coef)
        shown = str(shown_value) != SUPPRESSED_MARKER
        kinds.append("published" if shown else "withheld")
        labels.append(label)
        outputs.append(output)
        # a published cell of the table the secondary action may withhold (_fix)
        origins.append(("linkage", *cell) if shown and cell is not None else None)

    columns = [*groups, "All"]
    for col in columns:
        gs = groups if col == "All" else [col]
        if col not in shown.columns:
            continue
        add("linkage table", f"linked {col}", [f"linked {g}" for g in gs],
            shown.at["linked", col], ("linked", col))
        for w in (1, 2):
            keys = _link_keys(w)
            members = [f"linked {g}" for g in gs] + [f"{c} w{w} {g}" for c in cats for g in gs]
            add("linkage table", f"wave-{w} respondents {col}", members,
                shown.at[f"wave-{w} respondents", col])
            for c in cats:
                if keys[c] in shown.index:
                    add("linkage table", f"{keys[c]} {col}", [f"{c} w{w} {g}" for g in gs],
                        shown.at[keys[c], col], (keys[c], col))
    for w in (1, 2):
        label = f"wave {w}"
        if label not in accounting.index:
            continue
        members = [f"linked {g}" for g in groups] + [f"{c} w{w} {g}" for c in cats
                                                     for g in groups]
        add("accounting.csv", f"rows kept w{w}", members, accounting.at[label, "rows_kept"])
        add("accounting.csv", f"rows excluded w{w}", [f"excluded w{w}"],
            accounting.at[label, "rows_excluded"])
        add("accounting.csv", f"rows read w{w}", [*members, f"excluded w{w}"],
            accounting.at[label, "rows_read"])
    atoms = np.vstack(rows)
    strata = np.zeros((0, len(names)))
    return _Problem(name="linkage", atoms=atoms, value=atoms @ value, kinds=kinds,
                    labels=labels, outputs=outputs, strata=strata, upper=float(value.sum()),
                    truth=value, origins=origins)


def _int(v: Any) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0


def _solve(problems: Sequence[_Problem], need: int, threshold: int,
           persons: _Persons) -> pd.DataFrame:
    """Bounds of every small withheld or source count, blocks coupled through the strata
    sizes (each stratum's tightest bounds over all blocks, fed back once): the reference
    (dense, one programme over each whole block; :mod:`._audit_local` is the product
    path)."""
    targets = [_targets(p, threshold) for p in problems]
    results = _exact_bounds(problems, persons, targets, need)
    return _records(problems, targets, results, need, threshold)


def _targets(p: _Problem, threshold: int) -> list[int]:
    """The small withheld or source counts of a block, one per distinct count (a cell
    printed twice is attacked once), in order of first appearance."""
    kinds = np.asarray(p.kinds)
    small = (p.value >= 1) & (p.value < threshold) & (kinds != "published")
    idx = np.flatnonzero(small)
    _, first = _unique_rows(p.atoms[idx]) if idx.size else (
        None, np.zeros(0, np.int64))
    return [int(i) for i in idx[np.sort(first)]]


def _unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_index=True)`` for a 0/1 matrix (the audit's facts):
    the distinct rows in ascending (lexicographic) order and the first index of each, from
    the rows' packed bits (a row of 0/1 bits packed most significant first compares as its
    bytes do), 25 times faster on the sample's blocks; any other matrix goes to
    ``np.unique`` (:func:`_unique_rows_reference`; ``tests/test_audit_memo.py`` compares
    the two)."""
    if a.ndim != 2 or a.size == 0 or not np.all((a == 0) | (a == 1)):
        return _unique_rows_reference(a)
    packed = np.packbits(a != 0, axis=1)
    first: dict[bytes, int] = {}
    for i, row in enumerate(packed):
        first.setdefault(row.tobytes(), i)
    keep = np.fromiter((first[k] for k in sorted(first)), dtype=np.int64, count=len(first))
    return a[keep], keep


def _unique_rows_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, keep = np.unique(a, axis=0, return_index=True)
    return rows, keep


def _exact_bounds(problems: Sequence[_Problem], persons: _Persons,
                  targets: Sequence[Sequence[int]], need: int
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The reference's bounds of the facts ``targets`` of each (dense) block, the blocks
    coupled through the strata sizes.

    Each block's programmes are solved on their own (:func:`_block_strata`,
    :func:`_block_bounds`), so that a block's bounds depend only on its own programme:
    inside a run of :func:`crisis_survey._memo.memo_run` (a release's rounds of secondary
    suppression and give-back trials audit the release again and again, most blocks
    unchanged) a programme solved before is not solved again."""
    specs = [_base_spec(p) for p in problems]
    n_strata = len(persons.strata)
    todo = [i for i, p in enumerate(problems) if n_strata and p.strata.shape[0] == n_strata]
    if todo:
        # each stratum's size as tightly as any block bounds it, given to every block
        sizes = np.bincount(persons.stratum, minlength=n_strata).astype(float)
        lo = np.full((len(todo), n_strata), -np.inf)
        hi = np.full((len(todo), n_strata), np.inf)
        for r, i in enumerate(todo):
            k, f_lo, f_hi = _block_strata(problems[i].strata, specs[i])
            lo[r, k] = hi[r, k] = sizes[k]
            lo[r, ~k], hi[r, ~k] = f_lo, f_hi
        lo, hi = lo.max(axis=0), hi.min(axis=0)
        lo = np.minimum(np.ceil(lo - 1e-7), sizes)
        hi = np.maximum(np.floor(hi + 1e-7), sizes)
        pinned = lo == hi
        for i in todo:
            st, spec = problems[i].strata, specs[i]
            spec["a_eq"] = np.vstack([spec["a_eq"], st[pinned]])
            spec["b_eq"] = np.concatenate([spec["b_eq"], sizes[pinned]])
            spec["a_ub"] = np.vstack([spec["a_ub"], st[~pinned], -st[~pinned]])
            spec["b_ub"] = np.concatenate([spec["b_ub"], hi[~pinned], -lo[~pinned]])
        # the linkage block's linked and respondents per group, as the strata bound them
        link = next((i for i, p in enumerate(problems) if p.name == "linkage"), None)
        if link is not None:
            _bound_linkage(problems[link], specs[link], persons, lo, hi)
    return [_block_bounds({**spec, "objectives": p.atoms[np.asarray(chosen, dtype=np.int64)]},
                          need)
            for p, spec, chosen in zip(problems, specs, targets, strict=True)]


def _base_spec(p: _Problem) -> dict[str, Any]:
    """A block's programme: its published facts as equations, its withheld non-zero
    counts at least 1, every atom from 0 to the block's total, the true counts a feasible
    point."""
    kinds = np.asarray(p.kinds)
    pub = kinds == "published"
    held = (kinds == "withheld") & (p.value > 0)
    eq_a, keep = _unique_rows(p.atoms[pub])
    return {"a_eq": eq_a.reshape(-1, p.atoms.shape[1]), "b_eq": p.value[pub][keep],
            "a_ub": -p.atoms[held].reshape(-1, p.atoms.shape[1]),
            "b_ub": -np.ones(int(held.sum())),
            "lower": 0.0, "upper": p.upper, "x0": p.truth}


def _block_strata(strata: np.ndarray, spec: dict[str, Any]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which strata sizes the block's equations fix (those need no programme), and the
    smallest and largest size of each other stratum over the block's programme; once per
    distinct programme within a :func:`~crisis_survey._memo.memo_run`."""
    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = spec["a_eq"]
        null = _null_basis(a) if a.size else np.eye(strata.shape[1])
        known = np.all(np.abs(strata @ null.T) < 1e-9, axis=1)
        f_lo, f_hi = _warm_bounds({**spec, "objectives": strata[~known]}, None)
        return known, f_lo, f_hi

    return remembered(("audit strata", _spec_key({**spec, "strata": strata})), compute)


def _block_bounds(spec: dict[str, Any], need: int) -> tuple[np.ndarray, np.ndarray]:
    """The bounds of a block's attacked counts (``spec["objectives"]``) over its programme
    (:func:`_warm_bounds` with ``enough=need``, this block alone); once per distinct
    programme within a :func:`~crisis_survey._memo.memo_run`."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        return _warm_bounds(spec, need)

    if np.shape(spec["objectives"])[0] == 0:  # nothing attacked here: no key to hash
        return np.full(0, -math.inf), np.full(0, math.inf)
    return remembered(("audit bounds", int(need), _spec_key(spec)), compute)


def _warm_bounds(spec: dict[str, Any], enough: float | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each objective of one programme, as :func:`._disclosure.lp_stack` gives
    them for ``[spec]`` (:func:`_stacked_bounds`, the reference), from one HiGHS model
    re-solved from its last basis for each objective (:class:`._audit_local._Model`):
    lp_stack copies the variables twice per objective into one block-diagonal programme
    solved from scratch (0.89 s for the sample's 40 distinct blocks, against 0.28 s here).

    With ``enough`` (and ``x0``), the same screening as lp_stack's: vertices with the
    objectives' sum and two random positive combinations pushed down and up, then the
    feasible segments through their centre (:func:`._disclosure._inner`); an objective
    they show to keep ``enough`` whole numbers keeps those inner bounds, every other is
    minimised and maximised. Every bound is a value at a point the solver returned; an
    objective the model does not solve to optimality goes to the reference."""
    from ._audit_local import _highs, _Model
    from ._disclosure import _inner, _parts

    obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
    m = obj.shape[0]
    if obj.size == 0 or _highs() is None:
        return _stacked_bounds(spec, enough)
    n = obj.shape[1]
    model = _Model(spec, n)
    lo, hi = np.full(m, -math.inf), np.full(m, math.inf)
    if enough is not None and "x0" in spec:
        w = np.random.default_rng(0).uniform(0.2, 1.0, size=(2, m))
        points = [np.asarray(spec["x0"], dtype=float)]
        for d in np.vstack([obj.sum(axis=0), w @ obj]):
            points += model.extremes(d)
        found = np.vstack(points)
        lo, hi = _inner(_parts(spec, n), obj, found.mean(axis=0))
        seen = obj @ found.T
        lo, hi = np.minimum(lo, seen.min(axis=1)), np.maximum(hi, seen.max(axis=1))
    for i in range(m):
        if enough is not None and _width(float(lo[i]), float(hi[i])) >= enough:
            continue
        x_lo, x_hi = model.solve(obj[i]), model.solve(-obj[i])
        if x_lo is None or x_hi is None:  # pragma: no cover - HiGHS found no optimum
            (r_lo, r_hi), = lp_stack([{**spec, "objectives": obj[i:i + 1]}])
            lo[i], hi[i] = float(r_lo[0]), float(r_hi[0])
            continue
        lo[i], hi[i] = float(obj[i] @ x_lo), float(obj[i] @ x_hi)
    return lo, hi


def _stacked_bounds(spec: dict[str, Any], enough: float | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The reference of :func:`_warm_bounds`: :func:`._disclosure.lp_stack` for this
    programme alone."""
    (lo, hi), = lp_stack([spec]) if enough is None else lp_stack([spec], enough=enough)
    return lo, hi


def _spec_key(spec: dict[str, Any]) -> tuple[tuple[str, str, tuple[int, ...], bytes], ...]:
    """Everything a programme's bounds depend on: each entry's name, type, shape and a
    SHA-256 digest of its bytes (arrays as float64, so that a 0/1 boolean matrix and its
    float copy are the same programme)."""
    import hashlib

    out: list[tuple[str, str, tuple[int, ...], bytes]] = []
    for name in sorted(spec):
        value = spec[name]
        if value is None or np.ndim(value) == 0:
            out.append((name, "scalar", (), repr(None if value is None else float(value))
                        .encode()))
            continue
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
        out.append((name, "array", tuple(int(d) for d in arr.shape),
                    hashlib.sha256(arr.tobytes()).digest()))
    return tuple(out)


def _records(problems: Sequence[Any], targets: Sequence[Sequence[int]],
             results: Sequence[tuple[np.ndarray, np.ndarray]], need: int,
             threshold: int, *, counts: bool | Sequence[np.ndarray] = True) -> pd.DataFrame:
    """The audit's result from each block's attacked facts and their bounds (``counts``:
    whether a fix may withhold counts, :func:`_fix`; for every count, or per block and
    attacked fact)."""
    records: list[dict[str, Any]] = []
    for b, (p, chosen, (lo_q, hi_q)) in enumerate(zip(problems, targets, results,
                                                       strict=True)):
        for j, (q, low, high) in enumerate(zip(chosen, lo_q, hi_q, strict=True)):
            width = _width(float(low), float(high))
            may = counts if isinstance(counts, bool) else bool(counts[b][j])
            records.append({"output": p.outputs[q], "fact": f"{p.name}: {p.labels[q]}",
                            "kind": p.kinds[q], "value": int(p.value[q]),
                            "lower": float(low), "upper": float(high), "values": width,
                            "narrowed": width < need,
                            "fix": _fix(p, q, counts=may) if width < need else None})
    out = pd.DataFrame(records, columns=AUDIT_COLUMNS)
    out.attrs["withheld"] = _withheld(problems, threshold)
    return out


def _fix(p: _Problem, q: int, *, counts: bool = True) -> tuple[str, ...] | None:
    """The published statistic (or, with ``counts``, domain or linkage cell) to withhold
    for narrowed count ``q``: of those whose cells the block publishes, the one sharing
    most respondents with ``q`` (the first when none shares any: the differencing went
    through them all); the order below.

    ``counts`` is false where the audit reports counts narrowed that it has not proven
    narrowed (the local path by group x area beyond its exact budget): withholding whole
    domains for counts that are only unproven would hide much of a national release, and
    each of its rounds takes minutes. Statistics only, as before, there."""
    if p.name == "linkage":
        return _linkage_fix(p, q) if counts else None
    overlap: dict[tuple[str, ...], float] = {}
    if hasattr(p.atoms, "tocsr"):  # the product path's sparse blocks
        rows = p.atoms.tocsr()
        shared = np.asarray((rows @ rows[q].T).todense(), dtype=float).ravel()
    else:
        shared = p.atoms @ p.atoms[q]
    for value, origin in zip(shared, p.origins, strict=True):
        if origin is not None and (counts or origin[0] != "domain"):
            overlap[origin] = max(overlap.get(origin, 0.0), float(value))
    if not overlap:
        return None
    # a paired row's difference interval first (the difference itself stays, read from
    # the percentages; the interval is the one published value the rest of the release
    # does not lean on, so showing it never costs another), then the figures' elements
    # (they draw what the tables publish: a transition panel or a Likert bar is worth less
    # to a reader than a statistic), then a comparison row or
    # an attrition test, then a model's odds ratios (one row summing up the whole item,
    # whose facts share respondents with every count of it), each the one sharing most
    # respondents with the count; then a statistic sharing none (the differencing went
    # through them all); a whole domain's counts from a table, CSV or the comparison rows
    # only where no statistic is left (from the part of the release least worth to a
    # reader, the comparison rows last; a group's before the All column's)
    def rank(o: tuple[str, ...]) -> tuple[int, float, float, float, bool]:
        shares = overlap[o] > 0
        if o[0] == "domain":
            part = -float(DOMAIN_PARTS.index(o[3]))
            if o[3] in ("transitions", "likert") and shares:
                return (4, overlap[o], part, 0.0, o[1] != "All")
            return (0, float(shares), part, overlap[o], o[1] != "All")
        if o[0] == "difference" and shares:
            return (5, overlap[o], 0.0, 0.0, o[2] == "All")
        tier = (3 if o[0] != "model" else 2) if shares else 1
        return (tier, overlap[o], 0.0, 0.0, o[2] == "All" if len(o) > 2 else False)

    return max(overlap, key=rank)


def _linkage_fix(p: Any, q: int) -> tuple[str, ...] | None:
    """The linkage cell to withhold for narrowed linkage count ``q``: a published cell
    outside ``q`` inside a published total that holds ``q`` (its wave's respondents of its
    group, or its row's All), the smallest (least worth to a reader; ties: the first).
    Withheld, it leaves that total's other cells a wider range (``suppress`` withholds
    what it needs with it)."""
    atoms = p.atoms.toarray() if hasattr(p.atoms, "toarray") else np.asarray(p.atoms)
    mine = atoms[q] > 0
    kinds = np.asarray(p.kinds)
    holds = [r for r in range(len(atoms)) if kinds[r] == "published"
             and np.all(atoms[r][mine] > 0)]
    best: tuple[float, int] | None = None
    for c, origin in enumerate(p.origins):
        if origin is None or np.any(atoms[c][mine] > 0):
            continue
        inside = any(np.all(atoms[r][atoms[c] > 0] > 0) for r in holds)
        if inside and (best is None or float(p.value[c]) < best[0]):
            best = (float(p.value[c]), c)
    return None if best is None else p.origins[best[1]]


def _withheld(problems: Sequence[_Problem], threshold: int) -> pd.DataFrame:
    """Withheld counts per output: small (primary) and at least the threshold
    (secondary), each printed count once."""
    seen: dict[tuple[str, str], int] = {}
    for p in problems:
        for label, out, kind, v in zip(p.labels, p.outputs, p.kinds, p.value, strict=True):
            shared = label.startswith(("wave-1 respondents", "wave-2 respondents", "linked"))
            if kind == "withheld" and (p.name == "linkage" or not shared):
                seen[(out, label)] = int(v)
    rows: dict[str, dict[str, Any]] = {}
    for (out, _), v in seen.items():
        r = rows.setdefault(out, {"output": out, "primary": 0, "secondary": 0})
        if v == 0 or v >= threshold:
            r["secondary"] += 1
        else:
            r["primary"] += 1
    return pd.DataFrame(list(rows.values()), columns=["output", "primary", "secondary"])


def _bound_linkage(p: _Problem, spec: dict[str, Any], persons: _Persons, lo: np.ndarray,
                   hi: np.ndarray) -> None:
    """Add to the linkage block the bounds the strata give its per-group counts."""
    st = persons.strata  # columns: has1, g1, c1, has2, g2, c2, cp, linked
    rows, rhs = [], []
    for q, label in enumerate(p.labels):
        if p.kinds[q] != "withheld":
            continue
        for g, name in enumerate(persons.groups):
            if label == f"linked {name}":
                sel = (st[:, 7] == 1) & (st[:, 1] == g)
            elif label in (f"wave-1 respondents {name}", f"wave-2 respondents {name}"):
                w = int(label[5])
                sel = (st[:, 3 * (w - 1)] == 1) & (st[:, 3 * (w - 1) + 1] == g)
            else:
                continue
            rows += [p.atoms[q], -p.atoms[q]]
            rhs += [float(hi[sel].sum()), -float(lo[sel].sum())]
    if rows:
        spec["a_ub"] = np.vstack([spec["a_ub"].reshape(-1, p.atoms.shape[1]), *rows])
        spec["b_ub"] = np.concatenate([spec["b_ub"], rhs])


def narrowest(audit: pd.DataFrame) -> float:
    """The fewest whole numbers any small count of ``audit`` keeps (``inf`` if none)."""
    return float(audit["values"].min()) if len(audit) else math.inf
