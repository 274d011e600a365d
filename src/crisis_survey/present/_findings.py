"""The findings: the answer first (private; :meth:`WaveComparison.summary` and the reports).

Per respondent group, from the primary design's verdicts (:mod:`crisis_survey.compare.
_verdicts`): each item that changed, with its direction and size in words and numbers
("Overall quality of crisis care (% Good or Excellent): 48% in 2014, 61% in 2015, paired
r = .29 [.06, .47]"; where the r is withheld, the net change of the pairs: "net change +.21
[.07, .34]: 21 percentage points more of the pairs answered higher in 2015 than lower"), the
items with no change shown by equivalence, the inconclusive items
with the change they could have detected, whether change differed between the groups (the
change-by-group model) and where the other designs (sensitivity analyses) disagree.

The findings print only what the table they are built from holds: the reports build them
from :func:`crisis_survey.present._release.publishable_findings`, whose table has every
withheld number removed (a withheld effect is not quoted, nor the detectable effect of its
cell, and no p-value is quoted at all: a verdict says no more than a banded p-value).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..compare._verdicts import CHANGED
from ..stats._registry import effect_spec
from ._format import format_estimate_ci, format_number, format_p

__all__ = ["Findings", "GroupFindings", "build_findings"]

_DESIGN_WORD = {"paired": "paired", "independent": "independent-samples",
                "overlapping": "overlapping-samples", "unlinked": "unlinked-samples"}
_DESIGN_NAME = {"paired": "paired design (linked respondents)",
                "independent": "independent design (all respondents of each wave)",
                "overlapping": "partially overlapping design (everyone at once)",
                "unlinked": "unlinked design (respondents in one wave only)"}
_MEASURE_WORD = {"rank-biserial r": "r", "risk difference": "percentage points",
                 "standardised mean difference": "SD"}


@dataclass(frozen=True)
class GroupFindings:
    """One respondent group's findings (lines of plain text)."""

    group: str
    basis: str
    changed: tuple[str, ...]
    no_change: tuple[str, ...]
    inconclusive: str
    inconclusive_items: tuple[str, ...]
    not_reported: tuple[str, ...] = ()
    effects_withheld: int = 0


@dataclass(frozen=True)
class Findings:
    """The findings section: per group, then between groups, then the sensitivity analyses.

    ``str(findings)`` is the plain text :meth:`WaveComparison.summary` prints; the reports
    render :meth:`to_html` and :meth:`add_to_docx`.
    """

    primary: str
    alpha: float
    groups: tuple[GroupFindings, ...]
    between: tuple[str, ...]
    sensitivity: tuple[str, ...]
    method: str

    def _repr_html_(self) -> str:
        return self.to_html()

    def blocks(self) -> list[tuple[str, Any]]:
        """``(kind, content)``: ``heading`` (a group), ``item`` (a bullet), ``p``."""
        out: list[tuple[str, Any]] = [("p", self.method)]
        for g in self.groups:
            out.append(("heading", f"{g.group} ({g.basis})"))
            if g.changed:
                out += [("item", line) for line in g.changed]
            else:
                out.append(("item", "No item changed significantly."))
            if g.effects_withheld:
                out.append(("item", f"Effect sizes withheld for {g.effects_withheld} of these "
                            "items (a count below the disclosure threshold in the table "
                            "they are computed from)."))
            if g.no_change:
                out.append(("item", "No change (shown by equivalence): "
                            + "; ".join(g.no_change) + "."))
            if g.inconclusive:
                out.append(("item", g.inconclusive))
            if g.not_reported:
                out.append(("item", "Not reported (small counts): "
                            + "; ".join(g.not_reported) + "."))
        if self.between:
            out.append(("heading", "Between the groups"))
            out += [("item", line) for line in self.between]
        if self.sensitivity:
            out.append(("heading", "Other designs (sensitivity analyses)"))
            out += [("item", line) for line in self.sensitivity]
        return out

    def __str__(self) -> str:
        lines = ["Findings"]
        for kind, text in self.blocks():
            lines.append(f"  - {text}" if kind == "item" else text)
        for g in self.groups:
            if g.inconclusive_items:
                lines.append(f"Inconclusive items, {g.group}:")
                lines += [f"  - {t}" for t in g.inconclusive_items]
        return "\n".join(lines)

    def to_html(self) -> str:
        parts: list[str] = []
        in_list = False
        for kind, text in self.blocks():
            if kind == "item":
                if not in_list:
                    parts.append("<ul>")
                    in_list = True
                parts.append(f"<li>{html.escape(text)}</li>")
                continue
            if in_list:
                parts.append("</ul>")
                in_list = False
            if kind == "heading":
                parts.append(f"<h3>{html.escape(text)}</h3>")
            else:
                parts.append(f"<p class=\"note\">{html.escape(text)}</p>")
        if in_list:
            parts.append("</ul>")
        return "<div class=\"findings\">" + "".join(parts) + "</div>"

    def add_to_docx(self, doc: Any) -> None:
        """Write the findings into a python-docx document (headings and bullets)."""
        from docx.shared import Pt

        for kind, text in self.blocks():
            if kind == "heading":
                doc.add_heading(text, level=2)
            elif kind == "item":
                doc.add_paragraph(text, style="List Bullet")
            else:
                para = doc.add_paragraph(text)
                for r in para.runs:
                    r.font.size = Pt(9)


def _adjusted(adjust: str) -> str:
    """``, adjusted for multiple testing (Holm's step-down method),`` for the plan's
    ``adjust`` code, by its human name (present/_tables.py ``ADJUST_NAMES``); empty when the
    p-values are not adjusted."""
    from ._tables import ADJUST_NAMES

    if adjust in ("", "none"):
        return ""
    return f", adjusted for multiple testing ({ADJUST_NAMES.get(adjust, adjust)}),"


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _short_measure(summary_measure: str) -> str:
    """``% in top two levels (Good or Excellent)`` -> ``% Good or Excellent``."""
    text = str(summary_measure)
    if "(" in text and text.startswith("%"):
        return "% " + text[text.index("(") + 1:].rstrip(")")
    return text


#: Effect measures that are the difference of the wave percentages itself (on the
#: proportion scale, with the same interval): the findings quote them once, as the effect.
_SAME_AS_DIFFERENCE = ("paired risk difference", "risk difference")


def _estimates(rec: Mapping[Any, Any], waves: Sequence[str]) -> str:
    e1, e2 = _num(rec.get("estimate_wave1")), _num(rec.get("estimate_wave2"))
    if math.isnan(e1) or math.isnan(e2):
        return ""
    pct = "%" in str(rec.get("summary_measure"))
    f1 = f"{e1:.0f}%" if pct else format_number(e1, 2)
    f2 = f"{e2:.0f}%" if pct else format_number(e2, 2)
    text = f"{f1} in {waves[0]}, {f2} in {waves[1]}"
    d, lo, hi = (_num(rec.get(k)) for k in ("difference", "difference_low",
                                           "difference_high"))
    quoted = (rec.get("effect_measure") in _SAME_AS_DIFFERENCE
              and not math.isnan(_num(rec.get("effect_size"))))
    if pct and not quoted and not (math.isnan(d) or math.isnan(lo) or math.isnan(hi)):
        # the difference with its interval, where the release publishes it (once: a
        # binary item's paired RD is the same number, quoted as its effect)
        shown = format_estimate_ci(d, lo, hi, 1)
        text += f" ({'+' if d > 0 else ''}{shown} percentage points)"
    return text


def _effect(rec: Mapping[Any, Any]) -> str:
    es = _num(rec.get("effect_size"))
    if math.isnan(es):
        return ""
    measure = rec.get("effect_measure")
    spec = effect_spec(measure if isinstance(measure, str) else None)
    symbol = spec.symbol if spec is not None else str(measure or "effect")
    bounded = spec.bounded if spec is not None else False
    text = format_estimate_ci(es, _num(rec.get("ci_low")), _num(rec.get("ci_high")), 2,
                              leading_zero=not bounded)
    return f"{_DESIGN_WORD.get(str(rec.get('design')), '')} {symbol} = {text}".strip()


def _net_change(rec: Mapping[Any, Any], waves: Sequence[str]) -> str:
    """The net change where the row's effect is not quoted: ``net change +.12 [.05, .19]:
    12 percentage points more of the pairs answered higher in 2015 than lower``."""
    nc = _num(rec.get("net_change"))
    if math.isnan(nc) or not math.isnan(_num(rec.get("effect_size"))):
        return ""
    text = format_estimate_ci(nc, _num(rec.get("net_change_ci_low")),
                              _num(rec.get("net_change_ci_high")), 2, leading_zero=False)
    if nc > 0:
        text = "+" + text
    points = round(abs(nc) * 100)
    if points == 0:
        about = "as many" if nc == 0 else "about as many"
        return f"net change {text}: {about} of the pairs answered higher in {waves[1]} as lower"
    more, fewer = ("higher", "lower") if nc > 0 else ("lower", "higher")
    return (f"net change {text}: {points} percentage point{'s' if points != 1 else ''} more "
            f"of the pairs answered {more} in {waves[1]} than {fewer}")


def _item_line(rec: Mapping[Any, Any], waves: Sequence[str]) -> str:
    label = str(rec.get("label") or rec.get("item"))
    measure = _short_measure(str(rec.get("summary_measure", "")))
    numbers = ", ".join(p for p in (_estimates(rec, waves), _effect(rec),
                                    _net_change(rec, waves)) if p)
    head = f"{label} ({measure})" if measure else label
    if not numbers:
        numbers = "numbers withheld (small counts)" if rec.get("_withheld") else ""
    return f"{head}: {numbers}" if numbers else head


def _mde_text(measure: str, mde: float) -> str:
    if measure == "risk difference":
        return f"{mde * 100:.0f} percentage points"
    if measure == "rank-biserial r":
        return f"r = {format_number(mde, 2, leading_zero=False)}"
    return f"{format_number(mde, 2)} SD"


def _mde_range(sel: pd.DataFrame) -> str:
    """The detectable effects of the cells, as a range per measure."""
    parts = []
    for measure, rows in sel.groupby("verdict_measure", sort=True):
        m = rows["mde"].dropna()
        if m.empty:
            continue
        lo, hi = float(m.min()), float(m.max())
        if measure == "risk difference":
            a, b, unit = f"{lo * 100:.0f}", f"{hi * 100:.0f}", " percentage points"
        elif measure == "rank-biserial r":
            a, b = (format_number(v, 2, leading_zero=False) for v in (lo, hi))
            unit = ""
        else:
            a, b, unit = format_number(lo, 2), format_number(hi, 2), " SD"
        prefix = "r = " if measure == "rank-biserial r" else ""
        parts.append(f"{prefix}{a}{unit}" if a == b else f"{prefix}{a} to {b}{unit}")
    return " or ".join(parts)


def _verdict_class(v: Any) -> str:
    v = str(v)
    return "changed" if v in CHANGED else v


def build_findings(
    table: pd.DataFrame, *, primary: str, alpha: float,
    waves: Sequence[str] = ("wave 1", "wave 2"), models: Sequence[Any] = (),
    groups: Sequence[str] | None = None, adjust: str = "",
    model_values: pd.DataFrame | None = None,
) -> Findings:
    """The findings of a comparison table with verdict columns (see the module).

    ``table`` may carry a boolean ``_withheld`` column (rows whose numbers the publishing
    layer removed); ``models`` are :class:`~crisis_survey.compare.ModelResult` objects and
    ``model_values`` what the model table publishes of them (withheld values NaN, banded
    p-values in ``p_band``, the decision at alpha in ``below_alpha``); without it every
    number of the models is quoted.
    """
    designs = list(pd.unique(table["design"]))
    if primary not in designs:
        primary = designs[0] if designs else primary
    prim = table[table["design"] == primary]
    group_order = list(groups) if groups is not None else list(pd.unique(table["group"]))
    out: list[GroupFindings] = []
    for g in group_order:
        sel = prim[prim["group"] == g]
        if sel.empty:
            continue
        recs = sel.to_dict("records")
        n_col = "n_pairs" if primary == "paired" else "n_wave1"
        ns = pd.to_numeric(sel[n_col], errors="coerce").dropna()
        who = "linked respondents" if primary == "paired" else "respondents in wave 1"
        basis = (f"{primary}, {int(ns.min())}"
                 f"{'' if ns.min() == ns.max() else '–' + str(int(ns.max()))} {who} per item"
                 if not ns.empty else primary)
        changed = []
        for word in ("improved", "got worse", "increased", "decreased", "changed"):
            these = [r for r in recs if r["verdict"] == word]
            changed += [f"{word.capitalize()}: {_item_line(r, waves)}" for r in these]
        same = [str(r.get("label") or r["item"]) for r in recs if r["verdict"] == "no change"]
        inc = sel[sel["verdict"] == "inconclusive"]
        inc_text = ""
        items: list[str] = []
        if not inc.empty:
            shown = inc[~inc.get("_withheld", pd.Series(False, index=inc.index)).astype(bool)]
            rng = _mde_range(shown)
            inc_text = (f"Inconclusive ({len(inc)} item{'s' if len(inc) != 1 else ''}: neither "
                        "a change nor equivalence shown)"
                        + (f"; the tests could have detected changes of {rng}" if rng else "")
                        + ".")
            for r in inc.to_dict("records"):
                m = _num(r.get("mde"))
                why = r.get("verdict_reason")
                detail = (f"could have detected {_mde_text(str(r['verdict_measure']), m)}"
                          if not math.isnan(m) and not r.get("_withheld")
                          else str(why) if isinstance(why, str) else "")
                items.append(f"{r.get('label') or r['item']}"
                             + (f": {detail}" if detail else ""))
        hidden = [str(r.get("label") or r["item"]) + (
                      f" ({r['verdict_reason']})" if isinstance(r.get("verdict_reason"), str)
                      else "") for r in recs if r["verdict"] == "not reported"]
        quiet = sum(1 for r in recs if r["verdict"] in CHANGED and r.get("_withheld")
                    and math.isnan(_num(r.get("net_change"))))
        out.append(GroupFindings(str(g), basis, tuple(changed), tuple(same), inc_text,
                                 tuple(items), tuple(hidden), quiet))
    between = _between(models, alpha, table, model_values)
    sensitivity = _sensitivity(table, primary, designs, group_order)
    margins = sorted({(str(m), float(d)) for m, d in zip(
        prim["verdict_measure"], prim["equivalence_margin"], strict=False)
        if isinstance(m, str) and not math.isnan(_num(d))})
    margin_text = ", ".join(
        f"{m} = {format_number(d, 2, leading_zero=False)}" if m == "rank-biserial r"
        else f"{m} {_mde_text(m, d)}" for m, d in margins)
    method = (
        f"Primary analysis: the {_DESIGN_NAME.get(primary, primary)}. A change is reported "
        f"where its p-value{_adjusted(adjust)} is below {alpha:g}; \"no change\" where an "
        f"equivalence test (TOST) shows the change "
        f"is smaller than the smallest important change"
        + (f" ({margin_text})" if margin_text else "")
        + "; otherwise inconclusive, with the change the test could have detected (80% power)."
    )
    return Findings(primary, float(alpha), tuple(out), tuple(between), tuple(sensitivity),
                    method)


def _between(models: Sequence[Any], alpha: float, table: pd.DataFrame,
             values: pd.DataFrame | None = None) -> list[str]:
    if not models:
        return []
    labels = dict(zip(table["item"], table["label"], strict=False))
    shown = values.set_index("item") if values is not None else None
    differed, not_differed = [], []
    for m in models:
        it = m.effects.iloc[-1]  # the difference in change (ratio of odds ratios)
        name = str(labels.get(m.item, m.item))
        band = ""
        if shown is not None and m.item in shown.index:
            pub = shown.loc[m.item]
            est, low, high = (_num(pub[c]) for c in ("estimate", "ci_low", "ci_high"))
            p, band, below = _num(pub["p_value"]), str(pub["p_band"] or ""), bool(
                pub["below_alpha"])
        else:
            est, low, high = (_num(it[c]) for c in ("estimate", "ci_low", "ci_high"))
            p = _num(it["p_value"])
            below = p < alpha
        if below:
            text = ("" if math.isnan(est)
                    else format_estimate_ci(est, low, high, 2))
            p_text = band or format_p(p)
            p_text = f"p {p_text}" if p_text[:1] in "<>≥≤" else f"p = {p_text}"
            differed.append(f"{name} ({text + ', ' if text else ''}{p_text})")
        else:
            not_differed.append(name)
    m0 = models[0]
    how = (f"change-by-group model: {m0.effects.iloc[-1]['effect_measure']}, "
           f"{m0.other_group} vs {m0.reference_group}; p not adjusted")
    lines = []
    if differed:
        lines.append(f"Change differed between the groups ({how}) for {len(differed)} of "
                     f"{len(models)} items: " + "; ".join(differed) + ".")
    else:
        items = "the item" if len(models) == 1 else f"any of the {len(models)} items"
        lines.append(f"No evidence that change differed between the groups for {items} "
                     f"(p ≥ {alpha:g}; {how}).")
    if not_differed and differed:
        lines.append("No evidence that change differed for: " + "; ".join(not_differed) + ".")
    return lines


#: Verdicts of opposite directions (a contradiction between designs).
_OPPOSITE = ({"improved", "got worse"}, {"increased", "decreased"})
#: The most rows a sensitivity finding lists (beyond: their number, and the table).
LISTED = 12


def _sensitivity(table: pd.DataFrame, primary: str, designs: Sequence[str],
                 groups: Sequence[str]) -> list[str]:
    lines = []
    key = ["group", "item"]
    base = table[table["design"] == primary].set_index(key)
    for d in designs:
        if d == primary:
            continue
        other = table[table["design"] == d].set_index(key)
        both = base[["verdict", "label"]].join(
            other[["verdict"]].rename(columns={"verdict": "verdict_other"}), how="inner")
        # a contradiction: opposite directions, or a change against "no change" (shown by
        # equivalence); a conclusion against "inconclusive" differs only in certainty
        # ("changed", direction not shown, agrees with either direction)
        kind = [("contradicts" if {_verdict_class(a), _verdict_class(b)} ==
                 {"changed", "no change"} or {a, b} in _OPPOSITE
                 else "certainty" if _verdict_class(a) != _verdict_class(b) else "")
                for a, b in zip(both["verdict"], both["verdict_other"], strict=True)]
        name = _DESIGN_NAME.get(d, d).split(" (")[0].capitalize()
        if not any(kind):
            lines.append(f"{name}: the same verdict for every item and group.")
            continue
        for k, text in (("contradicts", f"contradicts the {primary} design"),
                        ("certainty", f"reaches another degree of certainty than the "
                                      f"{primary} design")):
            differ = both[[x == k for x in kind]]
            if differ.empty:
                continue
            # the rows' groups are the comparison's cells (a respondent group, or a group
            # and area by group x area): listed in the caller's order, then as they come
            cells = list(dict.fromkeys(str(c) for c in differ.index.get_level_values("group")))
            order = [g for g in groups if g in cells] + [c for c in cells if c not in groups]
            what = ("items" if set(both.index.get_level_values("group")) <= set(groups)
                    else "items and cells")
            head = f"{name} {text} for {len(differ):,} of {len(both):,} {what}"
            if len(differ) > LISTED:
                lines.append(head + " (each in the sensitivity analyses' table).")
                continue
            parts = []
            for g in order:
                rows = differ[differ.index.get_level_values("group") == g]
                parts.append(f"{g}: " + "; ".join(
                    f"{r.label} ({r.verdict_other}; {primary}: {r.verdict})"
                    for r in rows.itertuples()))
            lines.append(head + ": " + " | ".join(parts) + ".")
    return lines
