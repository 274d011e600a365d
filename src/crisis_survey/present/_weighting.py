"""The report's part on who came back: the attrition weights' balance, weighted beside
unweighted estimates, and the tipping-point figures (private; used by the report).

Every table here is a release part: counts below the plan's threshold are never shown and a
row whose estimate rests on fewer than ``threshold`` respondents shows no numbers
(``docs/disclosure-control.md``); the figures show no count.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._disclosure import DERIVED_MARKER
from ._format import format_estimate_ci
from ._style import GROUP_COLOURS
from ._tables import PublicationTable

__all__ = ["WeightingPart", "balance_figure", "tipping_figure", "weighting_part"]


@dataclass
class WeightingPart:
    """What the report adds: tables, figures (name -> (make, caption)) and sentences."""

    tables: list[PublicationTable]
    figures: list[tuple[str, Any, str, str]] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def balance_figure(balance: pd.DataFrame, labels: dict[str, str] | None = None) -> Any:
    """Absolute standardised differences before and after weighting, one panel per group
    (``labels``: covariate name -> the label shown)."""
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(balance["group"]))
    rows = balance[balance["group"] == groups[0]] if groups else balance
    height = 1.2 + 0.22 * max(len(rows), 1)
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(4.2 * max(len(groups), 1),
                                                              height), squeeze=False)
    for ax, g in zip(axes[0], groups, strict=False):
        b = balance[balance["group"] == g].reset_index(drop=True)
        ypos = np.arange(len(b))[::-1]
        ax.scatter(b["smd_before"].abs(), ypos, facecolors="none", edgecolors="#555555",
                   label="returners, unweighted", zorder=3)
        ax.scatter(b["smd_after"].abs(), ypos, color=GROUP_COLOURS[0],
                   label="returners, weighted", zorder=3)
        ax.axvline(0.1, color="#999999", linestyle="--", linewidth=1)
        ax.set_yticks(ypos, [f"{(labels or {}).get(c, c)}: {lv}" for c, lv in
                             zip(b["covariate"], b["level"], strict=True)], fontsize=7)
        ax.set_title(str(g), fontsize=10)
        ax.set_xlabel("|standardised difference| from all wave-1 respondents", fontsize=8)
        ax.grid(axis="x", color="#eeeeee")
    if groups:  # no group, no points: a legend would only warn that it has nothing to show
        axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def tipping_figure(tipping: pd.DataFrame, group: str) -> Any:
    """How far each item's paired conclusion holds for one group: the shift of the
    non-returners' change (relative to the returners') at which it flips, and what the new
    wave-2 respondents suggest; one panel per unit (points, percentage points)."""
    import matplotlib.pyplot as plt

    t = tipping[tipping["group"] == group]
    units = list(dict.fromkeys(t["unit"]))
    fig, axes = plt.subplots(1, max(len(units), 1), squeeze=False,
                             figsize=(5.6 * max(len(units), 1), 1.4 + 0.32 * max(
                                 (t["unit"] == u).sum() for u in units) if units else 2))
    colours = {"improved": "#1b7837", "got worse": "#b2182b", "increased": "#2166ac",
               "decreased": "#8c510a",
               "no significant change": "#555555"}
    for ax, unit in zip(axes[0], units, strict=False):
        u = t[t["unit"] == unit].reset_index(drop=True)
        ypos = np.arange(len(u))[::-1]
        for y, (_, r) in zip(ypos, u.iterrows(), strict=True):
            c = colours[str(r["conclusion"])]
            if r["conclusion"] == "no significant change":
                lo, hi = r["tipping_delta_down"], r["tipping_delta_up"]
            else:
                lo, hi = sorted((0.0, float(r["tipping_delta"])))
                lo, hi = (lo, math.inf) if r["tipping_delta"] < 0 else (-math.inf, hi)
            span = [v for v in (lo, hi) if math.isfinite(v)]
            if span:
                left = lo if math.isfinite(lo) else min(span) - 3 * abs(min(span)) - 1
                right = hi if math.isfinite(hi) else max(span) + 3 * abs(max(span)) + 1
                ax.plot([left, right], [y, y], color=c, linewidth=5, alpha=0.25,
                        solid_capstyle="butt")
                for v in span:
                    ax.plot([v], [y], marker="|", markersize=12, color=c)
            if math.isfinite(r["implied_delta"]):
                ax.errorbar([r["implied_delta"]], [y], xerr=[[r["implied_delta"]
                            - r["implied_delta_low"]], [r["implied_delta_high"]
                                                         - r["implied_delta"]]],
                            fmt="D", color="#2166ac", markersize=4, capsize=2, linewidth=1)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ypos, [str(x) for x in u["label"]], fontsize=7)
        ax.set_xlabel(f"shift of non-returners' change ({unit})", fontsize=8)
        ax.grid(axis="x", color="#eeeeee")
        finite = np.r_[u["tipping_delta"].to_numpy(float), u["tipping_delta_up"].to_numpy(float),
                       u["tipping_delta_down"].to_numpy(float),
                       u["implied_delta_low"].to_numpy(float),
                       u["implied_delta_high"].to_numpy(float), 0.0]
        finite = finite[np.isfinite(finite)]
        pad = 0.1 * (finite.max() - finite.min() + 1e-9)
        ax.set_xlim(finite.min() - pad, finite.max() + pad)
    fig.suptitle(f"{group}: how far the paired conclusion holds (band: conclusion unchanged; "
                 "|: tipping point; diamond: new wave-2 respondents)", fontsize=8)
    fig.tight_layout()
    return fig


#: Columns of the tipping table computed from a row's answers (withheld with its n).
_TIPPING_DERIVED = ("estimate", "se", "ci_low", "ci_high", "tipping_delta", "tipping_delta_up",
                    "tipping_delta_down", "delta_min", "delta_max", "sd_change",
                    "new_minus_returners", "new_minus_returners_se", "implied_delta",
                    "implied_delta_low", "implied_delta_high")


def _public_levels(table1: pd.DataFrame, group: str, variable: str) -> bool:
    """Table 1 publishes every wave-1 count of ``variable`` in ``group``."""
    rows = table1[(table1["wave"] == 1) & (table1["group"] == group)
                  & (table1["variable"] == variable)]
    return bool(len(rows)) and bool(rows["count"].notna().all())


def _tested(attrition: pd.DataFrame, group: str, variable: str) -> bool:
    """attrition.csv publishes the row's n's and its test statistic."""
    rows = attrition[(attrition["group"] == group) & (attrition["variable"] == variable)]
    if rows.empty:
        return False
    r = rows.iloc[0]

    def shown(v: Any) -> bool:  # a number, not "[c]", "–" or a band
        value = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        return bool(pd.notna(value))
    return all(shown(r.get(c)) for c in ("n_returned", "n_not_returned", "statistic"))


def _signed(v: float) -> str:
    return DERIVED_MARKER if not math.isfinite(v) else f"{v:.2f}".replace("-", "\u2212")


def _est(v: float, lo: float, hi: float, scale: float) -> str:
    return format_estimate_ci(v * scale, lo * scale, hi * scale)


def weighting_part(study: Any, plan: Any, threshold: int, *,
                   sources: Mapping[tuple[str, str, str], Any] | None = None,
                   table1: pd.DataFrame | None = None,
                   attrition: pd.DataFrame | None = None,
                   verdicts: Mapping[tuple[str, str], str] | None = None) -> WeightingPart:
    """The attrition-weights tables, the balance and tipping figures and the findings'
    sentences for the report, built with the plan's ``[weights]`` and analysis options.

    Disclosure (``docs/disclosure-control.md``, derived values): an estimate of Table 8
    (unweighted or weighted, with its interval) is published only if the row's cells pass
    the derived-value rule (``sources``: the release's
    :func:`~crisis_survey.present._release.comparison_sources`, with the statistics the
    release audit withholds; default: every cell of the pairs' table); a tipping point only
    if its paired and overlapping cells pass; a covariate's standardised differences only if
    every count of its level x returned table is 0 or at least ``threshold``, Table 1
    (``table1``: its published values) publishes the group's wave-1 count of every level
    and attrition.csv (``attrition``: as published) the row's test (defaults: built here,
    without the release audit's secondary action).

    ``verdicts``: the findings' published verdict of each ``(group, item)`` in the paired
    design (:func:`~crisis_survey.present._release.published_verdicts`); a tipping sentence
    then says where the weighted paired change and the verdict differ
    (:func:`~crisis_survey.compare._tipping.tipping_sentence`)."""
    from ..compare._tipping import tipping_points, tipping_sentence
    from ..compare._weights import attrition_weights, resolve_covariates, weighted_estimates
    from ._release import attrition_sources, comparison_sources, linkage_outputs
    from ._tables import sample_table

    items = list(plan.items) or None
    cb = study.codebook
    if items is not None:
        items = [i for i in items if cb[i].measurement in ("ordinal", "binary")]
    if not resolve_covariates(cb, plan.weight_covariates, required=False):
        return WeightingPart(tables=[], sentences=[
            "Attrition weights were not computed: the plan's [weights] covariates ("
            + ", ".join(plan.weight_covariates) + ") name no field of the codebook, so "
            "there is nothing to model returning on. Name wave-1 answers or demographics "
            "in [weights] covariates to weight the returners."])
    weights = attrition_weights(study, plan.weight_covariates, trim=plan.weight_trim)
    est = weighted_estimates(study, weights, items=items, confidence=plan.confidence,
                             alpha=plan.alpha)
    est = est[est["design"].isin([d for d in plan.designs if d in ("paired", "overlapping")])]
    level = f"{round(plan.confidence * 100)}%"
    if sources is None:
        sources = comparison_sources(study, pd.DataFrame({"item": pd.unique(est["item"])}))

    def passes(group: Any, item: Any, design: str) -> bool:
        # the derived-value rule: the cells the estimate is a function of are 0 or >= threshold
        found = sources.get((str(group), str(item), design))
        return found is None or bool(found.passes(threshold))

    rows, values = [], []
    for _, r in est.iterrows():
        small = (min(int(r["n_paired"]), int(r["n_wave1"]), int(r["n_wave2"])) < threshold
                 or not passes(r["group"], r["item"], str(r["design"])))
        scale = 100.0 if str(r["measure"]).startswith("proportion") else 1.0
        unw = DERIVED_MARKER if small else _est(r["estimate"], r["ci_low"], r["ci_high"], scale)
        wtd = DERIVED_MARKER if small else _est(r["estimate_weighted"], r["ci_low_weighted"],
                                               r["ci_high_weighted"], scale)
        rows.append({"group": r["group"], "item": cb[r["item"]].label,
                     "design": r["design"],
                     "measure": "mean score" if scale == 1 else "percentage points",
                     "unweighted": unw, "weighted": wtd,
                     "agree": DERIVED_MARKER if small else
                     ("disagree" if r["disagree"] else "agree")})
        values.append({"group": r["group"], "item": r["item"], "design": r["design"],
                       **{k: (math.nan if small else float(r[k]) * (
                           1 if k.startswith("p_") else scale))
                          for k in ("estimate", "ci_low", "ci_high", "p_value",
                                    "estimate_weighted", "ci_low_weighted",
                                    "ci_high_weighted", "p_value_weighted")},
                       "disagree": None if small else bool(r["disagree"])})
    est_table = PublicationTable(
        name="weighted_estimates",
        title="Change between the waves, unweighted and weighted for who came back",
        data=pd.DataFrame(rows, columns=["group", "item", "design", "measure", "unweighted",
                                         "weighted", "agree"]),
        stub="item", row_group="group",
        column_labels={"item": "Item", "design": "Design", "measure": "Measure",
                       "unweighted": f"Unweighted [{level} CI]",
                       "weighted": f"Weighted [{level} CI]", "agree": "Conclusions"},
        notes=(
            "Wave 2 minus wave 1: mean level score (ordinal items) or percentage points "
            "(binary items). Weighted: each group's returners weighted by the inverse of "
            "their modelled probability of returning (stabilised, trimmed at the "
            f"{plan.weight_trim:g} quantile) on "
            f"{', '.join(cb[c].label for c in weights.covariates)}, with "
            "design-based (linearisation) confidence intervals. 'disagree': one is "
            f"significant at alpha = {plan.alpha} and the other is not, or they point in "
            "opposite directions. Rank tests stay unweighted "
            "(docs/methods/attrition-weights.md).",
            f"{DERIVED_MARKER}: withheld, fewer than {threshold} respondents."),
        values=pd.DataFrame(values))
    b = weights.balance
    s = weights.summary
    # the SMDs of a covariate's levels with the published group sizes give its level x
    # returned table (and, with attrition.csv, Table 1's withheld cells): a covariate is
    # shown only if every count of that table is 0 or at least the threshold
    small_count = ((b["n_level_returned"] >= 1) & (b["n_level_returned"] < threshold)) | (
        (b["n_level"] - b["n_level_returned"] >= 1)
        & (b["n_level"] - b["n_level_returned"] < threshold))
    level_counts = attrition_sources(study, list(pd.unique(b["covariate"])))
    if table1 is None:
        table1 = sample_table(study, threshold=threshold).values
    if attrition is None:
        attrition = linkage_outputs(study, threshold=threshold)["attrition.csv"]
    unsafe: set[tuple[str, str]] = set()
    marked = b.assign(_small=small_count)
    for (g, c), level_rows in marked.groupby(["group", "covariate"], sort=False):
        cells = level_counts.get((str(g), str(c)))
        ordinal = cb[str(c)].measurement == "ordinal" if str(c) in cb.names else False
        bad = bool(level_rows["_small"].any())
        if ordinal and cells is not None:  # the mean level score reads every level's counts
            arr = np.asarray(cells)
            bad = bool(((arr >= 1) & (arr < threshold)).any())
        # the SMDs give the group's level counts and its returners by level: published
        # only where Table 1 publishes those level counts and attrition.csv the row's
        # test (the audit then treats the returned x level table as revealed)
        bad = bad or not _public_levels(table1, str(g), str(c)) or not _tested(
            attrition, str(g), str(c))
        if bad:
            unsafe.add((str(g), str(c)))
    small_level = np.array([(str(g), str(c)) in unsafe
                            for g, c in zip(b["group"], b["covariate"], strict=True)], bool)
    bal_rows = [{"group": r["group"], "covariate": f"{cb[r['covariate']].label}: {r['level']}",
                 "before": DERIVED_MARKER if hide else _signed(r["smd_before"]),
                 "after": DERIVED_MARKER if hide else _signed(r["smd_after"])}
                for hide, (_, r) in zip(small_level, b.iterrows(), strict=True)]
    shown = b[~small_level].reset_index(drop=True)
    b = b.drop(columns=["n_level", "n_level_returned"]).assign(
        smd_before=np.where(small_level, np.nan, b["smd_before"]),
        smd_after=np.where(small_level, np.nan, b["smd_after"]))
    ess = "; ".join(
        f"{r['group']}: effective sample size {r['effective_n']:.0f} of {r['n_returned']} "
        f"returners, largest weight {r['max_weight']:.2f}" if r["n_returned"] >= threshold
        else f"{r['group']}: fewer than {threshold} returners"
        for _, r in s.iterrows())
    bal_table = PublicationTable(
        name="attrition_weights_balance",
        title="Balance of the returners before and after weighting",
        data=pd.DataFrame(bal_rows, columns=["group", "covariate", "before", "after"]),
        stub="covariate", row_group="group",
        column_labels={"covariate": "Covariate", "before": "SMD unweighted",
                       "after": "SMD weighted"},
        notes=("Standardised difference of the returners from all wave-1 respondents of the "
               "group (mean level score, or the proportion in each level), over the group's "
               "SD; |SMD| < 0.1 is the usual aim.", ess + ".",
               f"{DERIVED_MARKER}: withheld, fewer than {threshold} respondents returned or "
               "did not return in the level."),
        values=b.copy())
    tip = tipping_points(study, weights, items=items, confidence=plan.confidence)
    tip_rows = []
    # the tipping point is a function of the weighted paired estimate (the pairs' cells);
    # what the new wave-2 respondents suggest, of the unpaired answers too (overlapping)
    tip_small = np.array([int(r["n_paired"]) < threshold
                          or not passes(r["group"], r["item"], "paired")
                          for _, r in tip.iterrows()], bool)
    no_implied = tip_small | np.array([not passes(r["group"], r["item"], "overlapping")
                                       for _, r in tip.iterrows()], bool)
    tip = tip.assign(**{c: np.where(no_implied, np.nan, tip[c]) for c in (
        "implied_delta", "implied_delta_low", "implied_delta_high", "new_minus_returners",
        "new_minus_returners_se") if c in tip.columns})
    for hide, (_, r) in zip(tip_small, tip.iterrows(), strict=True):
        small = bool(hide)
        unit_scale = "%.1f" if r["unit"] != "points" else "%.2f"

        def fmt(v: float, small: bool = small, unit_scale: str = unit_scale) -> str:
            return (DERIVED_MARKER if small or not math.isfinite(v)
                    else (unit_scale % v).replace("-", "\u2212"))
        tip_rows.append({"group": r["group"], "item": r["label"], "unit": r["unit"],
                         "conclusion": DERIVED_MARKER if small else r["conclusion"],
                         "tipping": fmt(r["tipping_delta"]),
                         "implied": DERIVED_MARKER if small or not math.isfinite(
                             r["implied_delta"]) else format_estimate_ci(
                             r["implied_delta"], r["implied_delta_low"],
                             r["implied_delta_high"])})
    tip_table = PublicationTable(
        name="tipping_points",
        title="How different would those who did not return have to be?",
        data=pd.DataFrame(tip_rows, columns=["group", "item", "unit", "conclusion", "tipping",
                                             "implied"]),
        stub="item", row_group="group",
        column_labels={"item": "Item", "unit": "Unit", "conclusion": "Paired conclusion "
                       "(weighted)", "tipping": "Tipping point",
                       "implied": f"Suggested by new wave-2 respondents [{level} CI]"},
        notes=("Tipping point: the shift of the non-returners' mean change, relative to the "
               "returners' (weighted), at which the paired conclusion flips (negative: "
               "their change would have to be that much worse). The new wave-2 respondents, "
               "weighted to the wave-1 sample on the covariates asked in wave 2, suggest "
               "the shift shown.", f"{DERIVED_MARKER}: withheld, fewer than {threshold} "
               "respondents."),
        values=tip.drop(columns=["n_paired", "n_new"]).assign(
            **{c: np.where(tip_small, np.nan, tip[c])
               for c in _TIPPING_DERIVED if c in tip.columns}))
    part = WeightingPart(tables=[est_table, bal_table, tip_table])
    names = {f.name: f.label for f in cb.fields}
    if len(shown):  # every level withheld: the balance table says so, no empty figure
        part.figures.append((
            "attrition_balance", functools.partial(balance_figure, shown, names),
            "Standardised differences of the returners from all wave-1 respondents, before "
            "and after attrition weighting.",
            "Dot plot: for each covariate level of the model of returning, the standardised "
            "difference between the returners and all wave-1 respondents, before and after "
            "weighting, with the 0.1 guide line."))
    for k, g in enumerate(dict.fromkeys(tip["group"]), 1):
        if ((tip["group"] == g) & ~tip_small).any():
            part.figures.append((f"tipping_{k}", functools.partial(  # pickles (workers)
                tipping_figure, tip[(tip["group"] == g) & ~tip_small], g),
                f"{g}: tipping points of the paired conclusions.",
                f"{g}: for each item, the paired estimate as the non-returners' change is "
                "shifted from the returners' (the delta on the horizontal axis), and the "
                "shift at which the conclusion would flip."))
    # one sentence per group for the findings: its first item with a conclusion
    for g in dict.fromkeys(tip["group"]):
        sub = tip[(tip["group"] == g) & ~tip_small]
        if len(sub):
            first = sub.iloc[0]
            part.sentences.append(tipping_sentence(
                first, (verdicts or {}).get((str(g), str(first["item"])))))
    n_dis = int(sum(bool(v) for v in est_table.values["disagree"] if v is not None))
    part.sentences.insert(0, (
        f"Weighted for who came back, {n_dis} of {len(est_table.values)} paired and "
        "overlapping estimates reach a different conclusion from the unweighted ones."))
    return part
