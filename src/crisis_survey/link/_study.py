"""The linked study: both waves, their linked pairs and the accounting of every row."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError
from ..codebook import Codebook
from ..load._wave import SurveyWave
from ._report import LINKED, LinkageReport, build_report

__all__ = ["LinkedStudy"]


def _as_values(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset | pd.Index
                                                  | pd.Series | np.ndarray):
        return [value]
    return list(value)


@dataclass(frozen=True, eq=False, repr=False)
class LinkedStudy:
    """Two waves of a survey with their respondents linked.

    Build one with :func:`link_waves`.

    Attributes
    ----------
    codebook
        The codebook both waves were loaded with.
    wave1, wave2
        The waves (:class:`~crisis_survey.load.SurveyWave`). With ``link_waves(secret=...)``
        their link-key column holds the pseudonyms, not the raw keys.
    report
        The :class:`LinkageReport`: counts of linked, unlinked, duplicate-key, conflicting
        and missing-key rows, and (for the analyst only) the keys concerned.
    pairs
        One row per linked respondent. Index ``link_key`` (the normalised key, or its
        pseudonym). Columns: a MultiIndex ``(wave, field)``: ``("", "group")`` the group
        used for analysis, then every column of wave 1's data under ``1`` and of wave 2's
        under ``2`` (except the link key, which is the index). ``pairs[1]["overall_rating"]``
        and ``pairs[2]["overall_rating"]`` are aligned by respondent.

    Notes
    -----
    ``str()``, ``repr()`` and ``_repr_html_`` show counts only: never a key or a respondent
    identifier. ``pairs``, ``wave_data()`` and ``unpaired()`` hold them (they are data), so
    publish statistics derived from them, not the frames.

    Examples
    --------
    >>> import pandas as pd
    >>> from crisis_survey import load_sample_study
    >>> study = load_sample_study()
    >>> study.groups, len(study.pairs)
    (('Service user', 'Carer'), 231)
    >>> pd.crosstab(study.pairs[1]["overall_rating"], study.pairs[2]["overall_rating"]).shape
    (5, 5)
    >>> len(study.subset(group="Carer").pairs)
    82
    """

    codebook: Codebook
    wave1: SurveyWave
    wave2: SurveyWave
    report: LinkageReport
    pairs: pd.DataFrame
    pseudonymised: bool = False
    _row_tables: tuple[pd.DataFrame, pd.DataFrame] = dataclasses.field(
        default=(pd.DataFrame(), pd.DataFrame()), repr=False)
    _labels: tuple[str, ...] = ()
    #: positions (not row numbers) of every pair's two rows in ``wave1.data`` and
    #: ``wave2.data``, in the order of ``pairs``, as the linker found them (None after subset)
    _pair_positions: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = \
        dataclasses.field(default=None, repr=False, compare=False)
    _filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    #: the same study linked exactly, when the policy linked candidate pairs (else None)
    _exact: LinkedStudy | None = dataclasses.field(default=None, repr=False, compare=False)

    def exact_linkage(self) -> LinkedStudy:
        """The study with exact links only (itself when no candidate pair was linked).

        The report's sensitivity table compares the main results under both.
        """
        return self if self._exact is None else self._exact

    # -- access ----------------------------------------------------------------------------
    def wave(self, wave: int) -> SurveyWave:
        """The :class:`SurveyWave` of wave 1 or 2."""
        if wave == 1:
            return self.wave1
        if wave == 2:
            return self.wave2
        raise CrisisSurveyError(f"wave must be 1 or 2; got {wave!r}")

    def _rows(self, wave: int) -> pd.DataFrame:
        self.wave(wave)
        return self._row_tables[wave - 1]

    def wave_data(self, wave: int) -> pd.DataFrame:
        """All kept rows of ``wave`` (``SurveyWave.data``; index = source row numbers)."""
        return self.wave(wave).data.copy(deep=False)

    def link_status(self, wave: int) -> pd.Series:
        """Each kept row's linkage category (index = row numbers).

        Categories: ``linked``, ``wave-<w> only``, ``duplicate key``, ``group conflict``,
        ``missing key``.
        """
        status = self._rows(wave)["status"].copy()
        status.name = "link_status"
        return status

    def unpaired(self, wave: int) -> pd.DataFrame:
        """The kept rows of ``wave`` that are not linked (same columns as ``wave_data``).

        These are the independent observations of a partially-overlapping comparison: rows
        found in one wave only, rows with duplicate or missing keys, and group conflicts.
        """
        linked = (self._rows(wave)["status"] == LINKED).to_numpy()
        return self.wave(wave).data.loc[~linked]

    def source_rows(self) -> pd.DataFrame:
        """Row numbers of each linked respondent in the two source files.

        **Analyst only**: the index is the link key. Columns ``row_wave1, row_wave2``.
        """
        rows1 = self._row_tables[0]
        linked = rows1.loc[rows1["status"] == LINKED]
        return pd.DataFrame(
            {"row_wave1": linked.index.to_numpy(), "row_wave2": linked["partner"].to_numpy()},
            index=pd.Index(linked["key"], name="link_key", dtype="str"),
        )

    def paired_item(self, item: str) -> tuple[pd.Series, pd.Series]:
        """The wave-1 and wave-2 answers of the linked respondents to ``item``.

        Returns ``(x, y)`` aligned by respondent (index ``link_key``), the order paired
        tests take (``x`` = wave 1). Missing answers stay missing; tests drop those pairs.
        """
        missing = [w for w in (1, 2) if (w, item) not in self.pairs.columns]
        if missing:
            asked = sorted(set(self.pairs[1].columns) & set(self.pairs[2].columns))
            raise CrisisSurveyError(
                f"{item!r} is not in wave {' or '.join(map(str, missing))}'s data, so it has "
                f"no pairs; items in both waves: {', '.join(asked)}"
            )
        return self.pairs[(1, item)].rename(item), self.pairs[(2, item)].rename(item)

    @property
    def groups(self) -> tuple[str, ...]:
        """Respondent groups present in either wave, in codebook order."""
        present = np.zeros(len(self._labels), dtype=bool)
        for rows in self._row_tables:
            codes = np.asarray(rows["group"].cat.codes.to_numpy())
            present |= np.bincount(codes[codes >= 0], minlength=len(self._labels)) > 0
        return tuple(lab for lab, p in zip(self._labels, present, strict=True) if p)

    @property
    def n_pairs(self) -> int:
        """Number of linked respondents."""
        return len(self.pairs)

    # -- subsets ---------------------------------------------------------------------------
    def subset(self, group: str | Sequence[str] | None = None,
               **column_values: Any) -> LinkedStudy:
        """The study restricted to one (or more) groups and/or values of other columns.

        Parameters
        ----------
        group
            A respondent-group label (or several).
        **column_values
            ``field=value`` or ``field=[values]``, e.g. ``area="E38000001"``.

        Returns
        -------
        LinkedStudy
            With the selected rows of each wave, the pairs among them, and a report rebuilt
            from them (the linkage itself is not redone: a key duplicated in the full data
            stays a duplicate in every subset).

        Notes
        -----
        A linked pair is selected on its wave-1 values (its analysis group is the wave-1
        group), or on its wave-2 values for a field that only wave 2 has; both its rows go
        together. An unlinked row is selected on its own values; a wave without the field
        contributes no unlinked rows. Rows excluded at loading have no group or area, so
        every subset carries all of them.
        """
        conditions: dict[str, list[Any]] = {}
        if group is not None:
            conditions[self.codebook.group.name] = _as_values(group)
        for name, value in column_values.items():
            if name in conditions:
                raise CrisisSurveyError(f"{name!r} given twice (as group= and as {name}=)")
            conditions[name] = _as_values(value)
        if not conditions:
            return self
        self._check_conditions(conditions)

        d1, d2 = self.wave1.data, self.wave2.data
        rows1, rows2 = self._row_tables
        linked1 = (rows1["status"] == LINKED).to_numpy()
        linked2 = (rows2["status"] == LINKED).to_numpy()
        # partner of each linked wave-2 row, as a position in wave 1
        partner_pos = d1.index.get_indexer(pd.Index(rows2["partner"].to_numpy(
            dtype="float64", na_value=np.nan)))
        keep1 = np.ones(len(d1), dtype=bool)
        keep2 = np.ones(len(d2), dtype=bool)
        for name, wanted in conditions.items():
            own1 = (d1[name].isin(wanted).to_numpy(dtype=bool) if name in d1.columns
                    else np.zeros(len(d1), dtype=bool))
            own2 = (d2[name].isin(wanted).to_numpy(dtype=bool) if name in d2.columns
                    else np.zeros(len(d2), dtype=bool))
            if name in d1.columns:
                pair2 = np.zeros(len(d2), dtype=bool)
                pair2[linked2] = own1[partner_pos[linked2]]
                sel1 = own1
                sel2 = np.where(linked2, pair2, own2)
            else:
                pair1 = np.zeros(len(d1), dtype=bool)
                partner1_pos = d2.index.get_indexer(pd.Index(
                    rows1["partner"].to_numpy(dtype="float64", na_value=np.nan)))
                pair1[linked1] = own2[partner1_pos[linked1]]
                sel1 = np.where(linked1, pair1, own1)
                sel2 = own2
            keep1 &= sel1
            keep2 &= sel2

        waves = []
        for wave, keep in ((self.wave1, keep1), (self.wave2, keep2)):
            data = wave.data.loc[keep]
            reasons = wave.missing_reasons.loc[wave.missing_reasons.index.isin(data.index)]
            waves.append(dataclasses.replace(
                wave, data=data, missing_reasons=reasons,
                rows_read=len(data) + len(wave.exclusions)))
        new_rows = (rows1.loc[keep1], rows2.loc[keep2])
        pairs = self.pairs.loc[keep1[linked1]]
        report = dataclasses.replace(build_report(
            new_rows[0], new_rows[1],
            excluded=(self.wave1.rows_excluded, self.wave2.rows_excluded),
            labels=list(self._labels), pseudonymised=self.pseudonymised),
            policy=self.report.policy, tolerant=self.report.tolerant,
            candidates=self.report.candidates, min_score=self.report.min_score,
            review_sha256=self.report.review_sha256)
        filters = self._filters + tuple((k, tuple(v)) for k, v in conditions.items())
        exact = (None if self._exact is None
                 else self._exact.subset(group, **column_values))
        return dataclasses.replace(self, wave1=waves[0], wave2=waves[1], report=report,
                                   pairs=pairs, _row_tables=new_rows, _filters=filters,
                                   _pair_positions=None, _exact=exact)

    def _check_conditions(self, conditions: dict[str, list[Any]]) -> None:
        d1, d2 = self.wave1.data, self.wave2.data
        for name, wanted in conditions.items():
            if name not in d1.columns and name not in d2.columns:
                raise CrisisSurveyError(
                    f"cannot subset on {name!r}: it is not a column of either wave "
                    f"(columns: {', '.join(sorted(set(d1.columns) | set(d2.columns)))})"
                )
            if name in self.codebook and self.codebook[name].levels:
                labels = self.codebook[name].labels
                extra = set(self._labels) if name == self.codebook.group.name else set()
                unknown = [v for v in wanted if v not in labels and v not in extra]
                if unknown:
                    raise CrisisSurveyError(
                        f"{name!r} has no level {unknown[0]!r}; its levels are "
                        f"{', '.join(map(repr, labels))}"
                    )

    # -- display ---------------------------------------------------------------------------
    def _filter_text(self) -> str:
        parts = []
        for name, values in self._filters:
            role = self.codebook[name].role if name in self.codebook else "other"
            if role in ("identifier", "link_key"):
                parts.append(f"{name}: {len(values)} value(s)")
            else:
                parts.append(f"{name} in {{{', '.join(map(str, values))}}}"
                             if len(values) > 1 else f"{name} = {values[0]}")
        return "; ".join(parts)

    def _summary(self) -> list[str]:
        cb = self.codebook
        by_group = self.report.counts.loc["linked"].drop("All")
        groups = ", ".join(f"{g} {int(n)}" for g, n in by_group.to_dict().items())
        lines = [
            f"Linked study: {cb.title or cb.name} (codebook {cb.name} {cb.version})",
        ]
        for w in (1, 2):
            wave = self.wave(w)
            label = cb.wave_info(w).label if any(i.number == w for i in cb.waves) else ""
            lines.append(
                f"wave {w}{f' ({label})' if label else ''}: {wave.rows_kept} respondents from "
                f"{wave.source} ({wave.rows_excluded} excluded at loading)"
            )
        lines.append(f"linked pairs: {self.n_pairs} ({groups})")
        if self._filters:
            lines.append(f"subset: {self._filter_text()}")
        lines.append("link keys pseudonymised with HMAC-SHA256" if self.pseudonymised
                     else "link keys normalised, not pseudonymised")
        return lines

    def __str__(self) -> str:
        head = "\n".join(self._summary())
        return f"{head}\n\n{self.report.counts.to_string()}"

    def __repr__(self) -> str:
        return f"<LinkedStudy: {'; '.join(self._summary()[1:4])}>"

    def _repr_html_(self) -> str:
        lines = self._summary()
        items = "".join(f"<li>{escape(x)}</li>" for x in lines[1:])
        return (f"<p><b>{escape(lines[0])}</b></p><ul>{items}</ul>"
                + self.report.counts.to_html())
