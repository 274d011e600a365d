"""The linkage report: how every respondent of each wave was accounted for (private).

The report is built from two *row tables*, one per wave, indexed by the wave's row numbers
(the index of ``SurveyWave.data``) with columns:

``key``            the stored key (normalised, or its HMAC digest), missing if none
``status``         the row's linkage category (see :data:`STATUSES`)
``group``          the row's own respondent group (Categorical, categories = the labels)
``area``           the row's own area (Categorical over both waves' areas), missing if none
``partner``        row number of the matched row in the other wave (linked rows and group
                   conflicts), else missing
``partner_group``  / ``partner_area``: that row's group and area
``n_wave1``        / ``n_wave2``: how many kept rows of wave 1 / wave 2 share the key

Everything the report shows is derived from these tables, so a subset of a study (rows
filtered) gets a consistent report by rebuilding it from the filtered tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any, cast

import numpy as np
import pandas as pd

from .._errors import CrisisSurveyError

__all__ = ["COUNT_ROWS", "STATUSES", "LinkageReport", "build_report", "statuses"]

LINKED = "linked"
DUPLICATE = "duplicate key"
CONFLICT = "group conflict"
MISSING = "missing key"


def only(wave: int) -> str:
    """The status of a row whose key was not found in the other wave."""
    return f"wave-{wave} only"


def statuses(wave: int) -> list[str]:
    """The linkage categories of one wave's rows, in report order."""
    return [LINKED, only(wave), DUPLICATE, CONFLICT, MISSING]


#: Status categories of each wave's rows.
STATUSES: dict[int, list[str]] = {1: statuses(1), 2: statuses(2)}

#: The rows of ``LinkageReport.counts``, in order.
COUNT_ROWS: tuple[str, ...] = (
    "wave-1 respondents",
    "wave-2 respondents",
    "linked",
    "wave-1 only",
    "wave-2 only",
    "duplicate keys wave 1",
    "duplicate keys wave 2",
    "group conflicts wave 1",
    "group conflicts wave 2",
    "missing key wave 1",
    "missing key wave 2",
    "excluded at loading wave 1",
    "excluded at loading wave 2",
    "area differs (linked)",
)

_STATUS_ROW: dict[int, dict[str, str]] = {
    w: {
        LINKED: "linked",
        only(w): f"wave-{w} only",
        DUPLICATE: f"duplicate keys wave {w}",
        CONFLICT: f"group conflicts wave {w}",
        MISSING: f"missing key wave {w}",
    }
    for w in (1, 2)
}

ROW_TABLE_COLUMNS: tuple[str, ...] = (
    "key", "status", "group", "area", "partner", "partner_group", "partner_area",
    "n_wave1", "n_wave2",
)


@dataclass(frozen=True, eq=False, repr=False)
class LinkageReport:
    """How every kept respondent of each wave was linked, or why not.

    Attributes
    ----------
    counts
        Numbers of respondents. Rows (index ``category``): ``wave-1 respondents``,
        ``wave-2 respondents`` (rows kept at loading), ``linked`` (pairs), ``wave-1 only``,
        ``wave-2 only`` (key not found in the other wave), ``duplicate keys wave 1/2`` (rows
        not linked because their key is shared by more than one row of wave 1 or of wave 2),
        ``group conflicts wave 1/2`` (rows whose key matched but whose respondent group
        differs between the waves: not linked), ``missing key wave 1/2``, ``excluded at
        loading wave 1/2`` (rows the loader quarantined), and, for information only,
        ``area differs (linked)`` (pairs linked although their area differs). Columns:
        ``All`` and one per respondent group; each row of a wave is counted under that
        wave's own group (``linked`` under the shared group). Rows excluded at loading
        have no group, so their group columns are missing. For each wave and column,
        respondents = linked + only + duplicate keys + group conflicts + missing key.
    duplicate_keys
        **Analyst only; never for publication.** One row per row not linked because of a
        duplicate key: ``link_key, wave, row, group, n_wave1, n_wave2, reason``.
    conflicts
        **Analyst only; never for publication.** One row per conflict: ``link_key, kind``
        (``"group"``: not linked; ``"area"``: linked), ``row_wave1, row_wave2,
        value_wave1, value_wave2, linked``.
    wave1_only_keys, wave2_only_keys
        **Analyst only; never for publication.** Keys of the rows found in one wave only,
        indexed by row number.
    pseudonymised
        Whether the keys above are HMAC-SHA256 pseudonyms (``link_waves(secret=...)``).
    policy
        How candidate pairs were linked: ``"exact"`` (none), ``"reviewed"`` or ``"auto"``.
    tolerant
        Numbers (column ``All``; publishable like ``counts``): ``linked exactly``,
        ``candidate pairs`` (pairs of unmatched keys differing by one retyping error),
        ``candidates linked`` by the policy, ``candidates rejected`` (in review, or below
        the auto threshold), ``candidates undecided`` (blank or absent in the review file;
        every candidate under ``"exact"``), ``not linked: group differs``, ``not linked:
        another candidate as good``, ``returners still missed (estimate)`` (candidates
        beyond those expected by chance that are not linked) and ``blocks too common to
        search``. ``counts`` counts the linked candidates as ``linked``.
    candidates
        **Analyst only; never for publication.** One row per candidate pair:
        ``row_wave1, row_wave2, key_wave1, key_wave2`` (stored keys: normalised, or
        pseudonyms), ``difference`` (confusable, one edit, transposition, component),
        ``distance``, ``score``, ``agree_<field>`` (yes/no/missing), ``decision`` and
        ``linked``.
    min_score, review_sha256
        The auto threshold used, or the SHA-256 of the review file applied (else None).

    ``str()``, ``_repr_html_`` and :meth:`to_frame` show the counts only, never a key.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> report = load_sample_study().report
    >>> report
    <LinkageReport: Linkage of wave 1 (658 respondents) and wave 2 (413): 231 linked (7
    candidate pairs not linked: linkage = 'exact')>
    >>> report.counts.loc[["linked", "wave-1 only", "duplicate keys wave 1"]]
                           All  Service user  Carer
    category
    linked                 231           149     82
    wave-1 only            389           281    108
    duplicate keys wave 1   16            12      4
    """

    counts: pd.DataFrame
    duplicate_keys: pd.DataFrame
    conflicts: pd.DataFrame
    wave1_only_keys: pd.Series
    wave2_only_keys: pd.Series
    pseudonymised: bool = False
    policy: str = "exact"
    tolerant: pd.DataFrame = field(default_factory=pd.DataFrame)
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    min_score: float | None = None
    review_sha256: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """The counts table (a copy): safe to publish, holds no key or identifier."""
        return self.counts.copy()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The counts as ``{category: {column: count}}`` (missing counts are ``None``)."""
        out: dict[str, dict[str, Any]] = {}
        for category, row in self.counts.iterrows():
            out[str(category)] = {
                str(col): (None if pd.isna(val) else int(val)) for col, val in row.items()
            }
        return out

    def accounting(self) -> pd.DataFrame:
        """Per wave: rows read = excluded at loading + kept, and kept = sum of categories.

        Returns
        -------
        pandas.DataFrame
            Index ``wave`` (1, 2); columns ``rows_read, excluded_at_loading, respondents,
            linked, only, duplicate_key, group_conflict, missing_key, balanced``.
        """
        c = self.counts["All"]
        recs = []
        for w in (1, 2):
            parts = {
                "linked": int(c["linked"]),
                "only": int(c[f"wave-{w} only"]),
                "duplicate_key": int(c[f"duplicate keys wave {w}"]),
                "group_conflict": int(c[f"group conflicts wave {w}"]),
                "missing_key": int(c[f"missing key wave {w}"]),
            }
            kept = int(c[f"wave-{w} respondents"])
            excluded = int(c[f"excluded at loading wave {w}"])
            recs.append({"wave": w, "rows_read": kept + excluded,
                         "excluded_at_loading": excluded, "respondents": kept, **parts,
                         "balanced": kept == sum(parts.values())})
        return pd.DataFrame(recs).set_index("wave")

    def _headline(self) -> str:
        c = self.counts["All"]
        extra = ""
        if len(self.tolerant) and self.policy != "exact":
            linked = self.tolerant.loc["candidates linked", "All"]
            extra = (f", {int(cast(Any, linked))} of them candidates linked by the "
                     f"{self.policy} policy")
        elif len(self.tolerant) and int(cast(Any, self.tolerant.loc["candidate pairs", "All"])):
            found = self.tolerant.loc["candidate pairs", "All"]
            extra = f" ({int(cast(Any, found))} candidate pairs not linked: linkage = 'exact')"
        return (
            f"Linkage of wave 1 ({int(c['wave-1 respondents'])} respondents) and wave 2 "
            f"({int(c['wave-2 respondents'])}): {int(c['linked'])} linked{extra}"
            + (" (keys pseudonymised with HMAC-SHA256)" if self.pseudonymised else "")
        )

    def __str__(self) -> str:
        return f"{self._headline()}\n{self.counts.to_string()}"

    def __repr__(self) -> str:
        return f"<LinkageReport: {self._headline()}>"

    def _repr_html_(self) -> str:
        return f"<p>{escape(self._headline())}</p>" + self.counts.to_html()


def _count(rows: pd.DataFrame, mask: pd.Series | np.ndarray, labels: list[str]) -> list[int]:
    """[total, count in group 1, count in group 2, ...] of the rows selected by ``mask``."""
    codes = np.asarray(rows["group"].cat.codes.to_numpy())[np.asarray(mask, dtype=bool)]
    per_group = np.bincount(codes[codes >= 0], minlength=len(labels))
    return [int(codes.size), *(int(v) for v in per_group[: len(labels)])]


def _keys_series(rows: pd.DataFrame, status: str) -> pd.Series:
    keys = rows.loc[rows["status"] == status, "key"]
    return keys.rename("link_key").rename_axis("row")


def _duplicates(rows: pd.DataFrame, wave: int) -> pd.DataFrame:
    dup = rows.loc[rows["status"] == DUPLICATE]
    own = dup[f"n_wave{wave}"].to_numpy()
    reason = np.where(
        own > 1,
        f"key shared by more than one row of wave {wave}",
        f"key shared by more than one row of wave {3 - wave}",
    )
    out = pd.DataFrame({
        "link_key": dup["key"],
        "wave": wave,
        "row": dup.index.to_numpy(),
        "group": dup["group"].astype(object),
        "n_wave1": dup["n_wave1"],
        "n_wave2": dup["n_wave2"],
        "reason": reason,
    }, index=dup.index)
    return out.reset_index(drop=True)


_CONFLICT_COLUMNS = ["link_key", "kind", "row_wave1", "row_wave2", "value_wave1",
                     "value_wave2", "linked"]


def _conflict_frame(keys: pd.Series, kind: str, row1: Any, row2: Any, value1: Any,
                    value2: Any, linked: bool) -> pd.DataFrame:
    return pd.DataFrame({
        "link_key": keys.to_numpy(), "kind": kind,
        "row_wave1": pd.array(np.asarray(row1, dtype="float64"), dtype="Int64"),
        "row_wave2": pd.array(np.asarray(row2, dtype="float64"), dtype="Int64"),
        "value_wave1": pd.Series(np.asarray(value1, dtype=object), dtype=object),
        "value_wave2": pd.Series(np.asarray(value2, dtype=object), dtype=object),
        "linked": linked,
    }, columns=_CONFLICT_COLUMNS)


def _conflicts(rows1: pd.DataFrame, rows2: pd.DataFrame) -> pd.DataFrame:
    g1 = rows1.loc[rows1["status"] == CONFLICT]
    g2 = rows2.loc[rows2["status"] == CONFLICT]
    # a conflict whose two rows are both present is listed once (from wave 1)
    g2 = g2.loc[~np.isin(g2["partner"].to_numpy(dtype="float64", na_value=np.nan),
                         g1.index.to_numpy(dtype="float64"))]
    group1 = _conflict_frame(g1["key"], "group", g1.index, g1["partner"].to_numpy(
        dtype="float64", na_value=np.nan), g1["group"].astype(object),
        g1["partner_group"].astype(object), False)
    group2 = _conflict_frame(g2["key"], "group", g2["partner"].to_numpy(
        dtype="float64", na_value=np.nan), g2.index, g2["partner_group"].astype(object),
        g2["group"].astype(object), False)
    linked = rows1.loc[rows1["status"] == LINKED]
    a1 = np.asarray(linked["area"].cat.codes.to_numpy())
    a2 = np.asarray(linked["partner_area"].cat.codes.to_numpy())
    differs = (a1 >= 0) & (a2 >= 0) & (a1 != a2)
    moved = linked.loc[differs]
    area = _conflict_frame(moved["key"], "area", moved.index, moved["partner"].to_numpy(
        dtype="float64", na_value=np.nan), moved["area"].astype(object),
        moved["partner_area"].astype(object), True)
    frames = [f for f in (group1, group2, area) if len(f)]
    if not frames:
        return _conflict_frame(pd.Series([], dtype="str"), "group", [], [], [], [], False)
    out = pd.concat(frames, ignore_index=True)
    out["link_key"] = out["link_key"].astype("str")
    out["linked"] = out["linked"].astype(bool)
    return out.sort_values(["kind", "row_wave1"], kind="stable", ignore_index=True)


def build_report(
    rows1: pd.DataFrame,
    rows2: pd.DataFrame,
    *,
    excluded: tuple[int, int],
    labels: list[str],
    pseudonymised: bool,
    tolerant: Any = None,
) -> LinkageReport:
    """Derive the report from the two row tables; check the accounting identity."""
    columns = ["All", *labels]
    table: dict[str, list[int] | list[Any]] = {}
    table["wave-1 respondents"] = _count(rows1, np.ones(len(rows1), bool), labels)
    table["wave-2 respondents"] = _count(rows2, np.ones(len(rows2), bool), labels)
    for wave, rows in ((1, rows1), (2, rows2)):
        status = rows["status"]
        for st, row_name in _STATUS_ROW[wave].items():
            counted = _count(rows, (status == st).to_numpy(), labels)
            if row_name == "linked" and wave == 2:
                if counted != table["linked"]:
                    raise CrisisSurveyError(
                        "internal error in linkage: linked rows differ between the waves "
                        f"({table['linked']} vs {counted}); please report this"
                    )
                continue
            table[row_name] = counted
    for wave in (1, 2):
        table[f"excluded at loading wave {wave}"] = [excluded[wave - 1]] + [pd.NA] * len(labels)
    conflicts = _conflicts(rows1, rows2)
    linked1 = rows1.loc[rows1["status"] == LINKED]
    area_rows = conflicts.loc[conflicts["kind"] == "area", "row_wave1"].to_numpy()
    table["area differs (linked)"] = _count(
        linked1, linked1.index.isin(area_rows), labels
    )
    counts = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    counts = counts.loc[list(COUNT_ROWS)].astype("Int64")
    counts.index.name = "category"
    counts.columns.name = None

    for wave in (1, 2):
        parts = [_STATUS_ROW[wave][st] for st in STATUSES[wave]]
        total = counts.loc[parts].sum(axis=0)
        kept = counts.loc[f"wave-{wave} respondents"]
        if not bool((total == kept).all()):
            raise CrisisSurveyError(
                f"internal error in linkage: wave {wave}'s categories sum to "
                f"{total.to_dict()} but {kept.to_dict()} rows were kept; please report this"
            )

    duplicate_keys = pd.concat([_duplicates(rows1, 1), _duplicates(rows2, 2)],
                               ignore_index=True)
    duplicate_keys["link_key"] = duplicate_keys["link_key"].astype("str")
    duplicate_keys["group"] = duplicate_keys["group"].astype(object)
    duplicate_keys = duplicate_keys.sort_values(["link_key", "wave", "row"], ignore_index=True)
    return LinkageReport(
        counts=counts,
        duplicate_keys=duplicate_keys,
        conflicts=conflicts,
        wave1_only_keys=_keys_series(rows1, only(1)),
        wave2_only_keys=_keys_series(rows2, only(2)),
        pseudonymised=pseudonymised,
        **({} if tolerant is None else {
            "policy": tolerant.policy, "tolerant": tolerant.counts,
            "candidates": tolerant.candidates, "min_score": tolerant.min_score,
            "review_sha256": tolerant.review_sha256}),
    )
