"""Tolerant linkage in the report: its numbers, and the paired results under exact linkage
beside those under the policy, where they differ (private; write_report calls it).

Every count goes through disclosure control: a count from 1 to ``threshold - 1`` is
withheld, and so is every count it could be worked out from (see the Notes of
:func:`linkage_sensitivity_table`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._disclosure import DEFAULT_THRESHOLD, SUPPRESSED_MARKER, is_small
from ._format import MISSING, format_count, format_estimate_ci, format_p
from ._tables import PublicationTable, Spanner

__all__ = ["linkage_sensitivity_table", "tolerant_linkage_table"]

_POLICY_TITLES = {"reviewed": "reviewed linkage", "auto": "automatic linkage"}
_TOLERANT_LABELS = {
    "linked exactly": "Linked exactly",
    "candidate pairs": "Candidate pairs (keys differing by one retyping error)",
    "candidates linked": "Candidates linked by the policy",
    "candidates rejected": "Candidates rejected",
    "candidates undecided": "Candidates not decided",
    "not linked: group differs": "Candidates not linked: respondent group differs",
    "not linked: another candidate as good": "Candidates not linked: a tie",
    "returners still missed (estimate)": "Returners still missed (estimate)",
}


def tolerant_linkage_table(study: Any, *, threshold: int = DEFAULT_THRESHOLD
                           ) -> PublicationTable | None:
    """The tolerant-linkage counts of ``study.report.tolerant``, or None when there is no
    candidate pair. A small count is withheld, and then so are ``linked exactly`` and
    ``candidate pairs`` (other counts add up to them)."""
    report = study.report
    counts = getattr(report, "tolerant", pd.DataFrame())
    column = counts["All"] if len(counts) else pd.Series(dtype="Int64")
    if not len(column) or int(column["candidate pairs"]) == 0:
        return None
    values = {k: int(column[k]) for k in _TOLERANT_LABELS}
    hidden = {k for k, v in values.items() if is_small(v, threshold)}
    if hidden:
        hidden |= {"linked exactly", "candidate pairs"}
    shown = [SUPPRESSED_MARKER if k in hidden else format_count(v) for k, v in values.items()]
    data = pd.DataFrame({"category": list(_TOLERANT_LABELS.values()), "n": shown})
    policy = report.policy
    if policy == "auto":
        rule = (f"Candidates were linked automatically at a score of at least "
                f"{report.min_score:g} (log2 odds) when they were the only best candidate "
                "of both rows.")
    elif policy == "reviewed":
        rule = ("Candidates were linked only where a reviewer accepted them in the "
                "clerical-review file named in the plan (by its SHA-256).")
    else:
        rule = "No candidate was linked (linkage = \"exact\")."
    notes: tuple[str, ...] = (
        "A candidate pair is a wave-1 and a wave-2 respondent without an exact match whose "
        "link keys differ by one retyping error (one character, a swap, look-alike "
        "characters or one part of a self-generated code). " + rule + " Returners still "
        "missed: candidates beyond those expected by chance that are not linked.",
    )
    if hidden:
        notes += (f"{SUPPRESSED_MARKER} Withheld: fewer than {threshold}, or a total from "
                  "which such a count could be worked out.",)
    return PublicationTable(
        name="tolerant_linkage", title="Linking respondents whose key was retyped",
        data=data, stub="category", column_labels={"category": "", "n": "n"}, notes=notes,
        values=pd.DataFrame({"category": list(values),
                             "n": [np.nan if k in hidden else float(v)
                                   for k, v in values.items()]}))


def linkage_sensitivity_table(
    comparison: Any, exact_comparison: Any, *, policy: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> PublicationTable | None:
    """Paired results under exact linkage and under ``policy``, side by side.

    Parameters
    ----------
    comparison, exact_comparison
        ``compare_waves`` of the study under the policy and of ``study.exact_linkage()``.
    policy
        ``"reviewed"`` or ``"auto"``.
    threshold
        Disclosure threshold.

    Returns
    -------
    PublicationTable or None
        One row per paired result (item and group) whose number of pairs, effect size or
        p-value differs; None when none differs.

    Notes
    -----
    The two numbers of pairs differ by the candidates linked in that cell, so the pairs
    under the policy are withheld when that difference is a small count (the pairs under
    exact linkage are published in the comparison tables already). A row with fewer
    pairs than the threshold under either linkage shows no result.
    """
    cols = ["group", "item", "label", "n_pairs", "effect_measure", "effect_size", "ci_low",
            "ci_high", "p_value"]
    a = comparison.table
    b = exact_comparison.table
    a = a.loc[a["design"] == "paired", cols]
    b = b.loc[b["design"] == "paired", cols]
    both = b.merge(a, on=["group", "item"], suffixes=("_exact", ""), how="inner")
    if both.empty:
        return None
    n_a = pd.to_numeric(both["n_pairs"], errors="coerce").fillna(0).to_numpy()
    n_b = pd.to_numeric(both["n_pairs_exact"], errors="coerce").fillna(0).to_numpy()

    def same(x: str) -> np.ndarray:
        u = pd.to_numeric(both[x], errors="coerce").to_numpy(dtype=float)
        v = pd.to_numeric(both[f"{x}_exact"], errors="coerce").to_numpy(dtype=float)
        return np.asarray((u == v) | (np.isnan(u) & np.isnan(v)))

    differs = (n_a != n_b) | ~same("effect_size") | ~same("p_value")
    both = both.loc[differs].reset_index(drop=True)
    if both.empty:
        return None
    n_a, n_b = n_a[differs], n_b[differs]
    rows: dict[str, list[str]] = {k: [] for k in (
        "label", "group", "measure", "n_exact", "effect_exact", "p_exact", "n", "effect", "p")}
    any_hidden = False
    for i, r in both.iterrows():
        small = n_a[i] < threshold or n_b[i] < threshold
        hide_n = is_small(float(n_a[i] - n_b[i]), threshold)
        any_hidden |= hide_n
        rows["label"].append(str(r["label"]))
        rows["group"].append(str(r["group"]))
        rows["measure"].append(str(r["effect_measure"]) if pd.notna(r["effect_measure"])
                               else MISSING)
        rows["n_exact"].append(format_count(n_b[i]))
        rows["n"].append(SUPPRESSED_MARKER if hide_n else format_count(n_a[i]))
        for suffix, key in (("_exact", "_exact"), ("", "")):
            if small:
                rows[f"effect{key}"].append(MISSING)
                rows[f"p{key}"].append(MISSING)
                continue
            rows[f"effect{key}"].append(format_estimate_ci(
                r[f"effect_size{suffix}"], r[f"ci_low{suffix}"], r[f"ci_high{suffix}"]))
            rows[f"p{key}"].append(format_p(r[f"p_value{suffix}"]))
    data = pd.DataFrame(rows)
    title = _POLICY_TITLES.get(policy, policy)
    notes: tuple[str, ...] = (
        f"Paired results where exact linkage and {title} differ: the candidates linked add "
        "pairs. Effect sizes with confidence intervals; p-values not adjusted for "
        "multiplicity here.",)
    if any_hidden:
        notes += (f"{SUPPRESSED_MARKER} Withheld: it differs from the exact number by fewer "
                  f"than {threshold} pairs.",)
    return PublicationTable(
        name="linkage_sensitivity", title=f"Paired results under exact and {title}",
        data=data, stub="label",
        column_labels={"label": "Item", "group": "Group", "measure": "Effect measure",
                       "n_exact": "Pairs",
                       "effect_exact": "Effect [CI]", "p_exact": "p", "n": "Pairs",
                       "effect": "Effect [CI]", "p": "p"},
        spanners=(Spanner("Exact linkage", ("n_exact", "effect_exact", "p_exact")),
                  Spanner(title[0].upper() + title[1:], ("n", "effect", "p"))),
        notes=notes)
