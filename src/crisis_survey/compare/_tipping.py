"""Tipping points: how different the non-returners' change would have to be for a
conclusion to flip (delta adjustment), checked against the new wave-2 respondents (private;
:func:`tipping_points` is re-exported by :mod:`crisis_survey.compare`).

Method and formulas: ``docs/methods/attrition-weights.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._errors import CrisisSurveyError
from ._study import _codes
from ._weights import (
    AttritionWeights,
    FloatArray,
    _levels,
    _scores,
    return_model_patterns,
    weighted_mean_change,
)

__all__ = ["TIPPING_COLUMNS", "tipping_bounds", "tipping_points", "tipping_sentence"]

#: Columns of :func:`tipping_points`.
TIPPING_COLUMNS: tuple[str, ...] = (
    "group", "item", "label", "measure", "unit", "polarity", "n_paired", "share_not_returned",
    "estimate", "se", "ci_low", "ci_high", "conclusion", "tipping_delta",
    "tipping_delta_up", "tipping_delta_down", "delta_min", "delta_max", "sd_change",
    "n_new", "new_minus_returners", "new_minus_returners_se", "implied_delta",
    "implied_delta_low", "implied_delta_high",
)


def _wmean(y: FloatArray, w: FloatArray) -> tuple[float, float, int]:
    """Weighted mean and its linearisation SE (survey package), answered values only."""
    ok = ~np.isnan(y)
    y, w = y[ok], w[ok]
    n = int(y.size)
    if n < 2 or w.sum() <= 0:
        return (float(y.mean()) if n else math.nan), math.nan, n
    m = float(np.sum(w * y) / w.sum())
    z = w * (y - m) / w.sum()
    return m, math.sqrt(n / (n - 1) * float((z**2).sum())), n


#: (codebook x-polarity, direction) -> the conclusion's word.
_BY_POLARITY = {("higher_is_better", "increased"): "improved",
                ("higher_is_better", "decreased"): "got worse",
                ("lower_is_better", "increased"): "got worse",
                ("lower_is_better", "decreased"): "improved"}
_NOUN = {"improved": "improvement", "got worse": "worsening", "increased": "increase",
         "decreased": "decrease"}


def tipping_bounds(estimate: float, se: float, n: int, share_not_returned: float, *,
                   confidence: float = 0.95) -> tuple[str, float, float, float]:
    r"""The paired conclusion and its tipping points from the (weighted) mean change.

    Returns ``(conclusion, tipping_delta, tipping_delta_up, tipping_delta_down)``:
    the conclusion of the interval :math:`\hat\theta \pm t_{n-1}\,\mathrm{se}`
    (``increased``, ``decreased`` or ``no significant change``), the shift
    :math:`\delta^*` at which it flips and, for no significant change, the two shifts
    that would make it significant upwards and downwards (NaN otherwise, and all NaN when
    nobody failed to return or the SE is unknown).

    Examples
    --------
    >>> c, tip, up, down = tipping_bounds(0.3, 0.1, 100, 0.5)
    >>> c, round(tip, 3)  # -(0.3 - t_99 * 0.1) / 0.5: a change that much lower
    ('increased', -0.203)
    """
    if n < 2 or not (math.isfinite(estimate) and math.isfinite(se)):
        return "no significant change", math.nan, math.nan, math.nan
    q = float(sps.t.ppf(0.5 + confidence / 2, n - 1))
    lo, hi = estimate - q * se, estimate + q * se
    conclusion = ("increased" if lo > 0 else "decreased" if hi < 0
                  else "no significant change")
    if not share_not_returned > 0:
        return conclusion, math.nan, math.nan, math.nan
    up, down = (q * se - estimate) / share_not_returned, -(q * se + estimate) / share_not_returned
    if conclusion == "increased":
        return conclusion, -lo / share_not_returned, math.nan, math.nan
    if conclusion == "decreased":
        return conclusion, -hi / share_not_returned, math.nan, math.nan
    return conclusion, (up if abs(up) <= abs(down) else down), up, down


def _new_weights(study: Any, weights: AttritionWeights, label: str, new_rows: Any
                 ) -> FloatArray:
    """Weights that make the group's new wave-2 respondents look like its wave-1 sample on
    the weight covariates asked in wave 2 (odds of being in wave 1, from pattern counts)."""
    cb = study.codebook
    fields = [cb[n] for n in weights.covariates if 2 in cb[n].waves]
    n_new = len(new_rows)
    if not fields or n_new == 0:
        return np.ones(n_new)
    w1 = study.wave1.data
    in_g = _codes(w1[cb.group.name], list(study.groups)) == list(study.groups).index(label)
    lev = np.vstack([_levels(w1[in_g], fields), _levels(new_rows, fields)])
    is_w1 = np.r_[np.ones(int(in_g.sum()), bool), np.zeros(n_new, bool)]
    inverse, prob, _, _ = return_model_patterns(lev, is_w1, [len(f.levels) for f in fields])
    p = np.clip(prob[inverse][~is_w1], 1e-12, 1 - 1e-12)
    odds = p / (1 - p)
    return np.asarray(odds * (n_new / odds.sum()), dtype=np.float64)


def tipping_points(study: Any, weights: AttritionWeights | None = None, *,
                   items: Sequence[str] | None = None, confidence: float = 0.95
                   ) -> pd.DataFrame:
    r"""How far the paired conclusion of each group and item holds if those who did not return
    changed differently from those who did (delta adjustment).

    Parameters
    ----------
    study
        The linked study.
    weights
        Attrition weights (:func:`attrition_weights`); the analysis starts from the weighted
        mean change (missing at random given the weights' covariates). ``None``: unweighted.
    items
        Items (ordinal or binary, asked in both waves); default every such item.
    confidence
        Confidence level of the interval whose crossing of 0 flips the conclusion.

    Returns
    -------
    pandas.DataFrame
        One row per group and item, columns :data:`TIPPING_COLUMNS`. ``tipping_delta`` is
        the smallest shift (in the item's units: level-score points, or percentage points for
        a binary item) of the non-returners' mean change relative to the returners' at which
        the conclusion flips (negative: their change would have to be that much worse);
        for an item with no significant change, ``tipping_delta_up`` and
        ``tipping_delta_down`` are the shifts that would make it significant either way.
        ``delta_min``/``delta_max`` are the shifts the scale allows (the non-returners'
        mean change can be no lower than ``-(k - 1)`` points, or -100 percentage points,
        and no higher than ``k - 1``, or 100). ``implied_delta`` is what the new wave-2
        respondents suggest (below).

    Notes
    -----
    With :math:`\pi` the group's share of wave-1 respondents who did not return,
    :math:`\hat\theta` the (weighted) mean change of the returners and :math:`\delta` the
    non-returners' mean change minus the returners', the group's mean change is
    :math:`\theta(\delta) = \hat\theta + \pi\delta` with the standard error of
    :math:`\hat\theta` (the non-returners' changes are imputed as the returners' plus
    :math:`\delta`). The conclusion flips where the interval
    :math:`\theta(\delta) \pm t_{n-1}\,\mathrm{se}` reaches 0:
    :math:`\delta^* = -(\hat\theta \mp t\,\mathrm{se})/\pi`.

    Check: the new wave-2 respondents, weighted to the group's wave-1 sample on the weight
    covariates asked in wave 2, stand for the whole group at wave 2; the weighted returners'
    wave-2 answers stand for it under missing at random. Their difference is
    :math:`\pi\delta` when the non-returners' change differs by :math:`\delta`, so
    ``implied_delta`` = difference / :math:`\pi` (interval from the two independent
    samples' linearisation variances).

    References
    ----------
    Carpenter, J. R. & Kenward, M. G. (2013). *Multiple Imputation and its Application*,
    ch. 10 (delta-adjustment sensitivity analysis). Wiley.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> t = tipping_points(load_sample_study(), items=["overall_rating"])
    >>> list(t["group"]), list(t["conclusion"])
    (['Service user', 'Carer'], ['improved', 'no significant change'])
    """
    if not (isinstance(confidence, float) and 0 < confidence < 1):
        raise CrisisSurveyError(f"confidence must be between 0 and 1, got {confidence!r}")
    cb = study.codebook
    chosen = ([cb[i].oriented() for i in items] if items is not None else
              [f.oriented() for f in cb.items() if set(f.waves) >= {1, 2}
               and f.measurement in ("ordinal", "binary") and f.levels])
    bad = [f.name for f in chosen if f.measurement not in ("ordinal", "binary")
           or not set(f.waves) >= {1, 2}]
    if bad:
        raise CrisisSurveyError(f"tipping_points needs ordinal or binary items asked in both "
                                f"waves; got {', '.join(map(repr, bad))}")
    pairs = study.pairs
    gpairs = pairs[("", "group")].astype("string").to_numpy()
    w_all = (weights.weights.reindex(pairs.index).to_numpy(dtype=np.float64)
             if weights is not None else np.ones(len(pairs)))
    w1 = study.wave1.data
    g1 = w1[cb.group.name].astype("string").to_numpy()
    status2 = study.link_status(2)
    w2 = study.wave2.data
    new_mask = (status2 == "wave-2 only").to_numpy()
    records: list[dict[str, Any]] = []
    for label in study.groups:
        gp = gpairs == label
        n1 = int((g1 == label).sum())
        if n1 == 0 or not gp.any():
            continue
        pi = 1.0 - int(gp.sum()) / n1
        new_rows = w2[new_mask & (w2[cb.group.name].astype("string") == label)
                      .to_numpy(dtype=bool, na_value=False)]
        w_new = (_new_weights(study, weights, label, new_rows) if weights is not None
                 else np.ones(len(new_rows)))
        for f in chosen:
            scale = 100.0 if f.measurement == "binary" else 1.0
            x = _scores(pairs[(1, f.name)], f)[gp] * scale
            y = _scores(pairs[(2, f.name)], f)[gp] * scale
            wg = w_all[gp]
            est, se, lo, hi, _ = weighted_mean_change(x, y, wg, confidence=confidence)
            d = (y - x)[~np.isnan(x) & ~np.isnan(y)]
            n = int(d.size)
            conclusion, tip, up, down = tipping_bounds(est, se, n, pi, confidence=confidence)
            conclusion = _BY_POLARITY.get((f.polarity, conclusion), conclusion)
            # the non-returners' mean change lies within the scale: -top..top
            top = scale * (1.0 if f.measurement == "binary" else len(f.levels) - 1)
            m_ret, se_ret, _ = _wmean(y, wg)
            y_new = (_scores(new_rows[f.name], f) * scale if f.name in new_rows.columns
                     else np.empty(0))
            m_new, se_new, n_new = _wmean(y_new, w_new)
            diff = m_new - m_ret
            dse = math.hypot(se_ret, se_new)
            z = float(sps.norm.ppf(0.5 + confidence / 2))
            records.append({
                "group": label, "item": f.name, "label": f.label,
                "measure": "mean level score" if scale == 1 else f"% {f.labels[-1]}",
                "unit": "points" if scale == 1 else "percentage points",
                "polarity": f.polarity,
                "n_paired": n, "share_not_returned": pi, "estimate": est, "se": se,
                "ci_low": lo, "ci_high": hi, "conclusion": conclusion,
                "tipping_delta": tip, "tipping_delta_up": up, "tipping_delta_down": down,
                "delta_min": -top - est, "delta_max": top - est,
                "sd_change": float(d.std(ddof=1)) if n > 1 else math.nan,
                "n_new": n_new, "new_minus_returners": diff, "new_minus_returners_se": dse,
                "implied_delta": diff / pi if pi > 0 else math.nan,
                "implied_delta_low": (diff - z * dse) / pi if pi > 0 else math.nan,
                "implied_delta_high": (diff + z * dse) / pi if pi > 0 else math.nan,
            })
    return pd.DataFrame.from_records(records, columns=list(TIPPING_COLUMNS))


def _precision(unit: str) -> int:
    """Decimals the sentences and the table publish: 2 for points, 1 for percentage points."""
    return 2 if unit == "points" else 1


def _num(value: float, unit: str) -> str:
    return f"{abs(value):.{_precision(unit)}f} {unit}"


def _way(value: float, polarity: Any = "higher_is_better") -> str:
    """The word for a shift of ``value`` (in the item's units) of the non-returners' change."""
    if polarity == "higher_is_better":
        return "better" if value > 0 else "worse"
    if polarity == "lower_is_better":
        return "worse" if value > 0 else "better"
    return "higher" if value > 0 else "lower"


def _reached(value: float, unit: str) -> bool:
    """Whether ``value`` shows as a non-zero number at the published precision."""
    return round(abs(value), _precision(unit)) > 0


def _within(value: float, row: pd.Series) -> bool:
    lo, hi = float(row.get("delta_min", -math.inf)), float(row.get("delta_max", math.inf))
    return math.isfinite(value) and (lo if math.isfinite(lo) else -math.inf) <= value <= (
        hi if math.isfinite(hi) else math.inf)


#: the findings' verdicts that state a change (:mod:`._verdicts`), and their direction
_VERDICT_CHANGES = ("improved", "got worse", "increased", "decreased", "changed")


def _agrees(verdict: str | None, conclusion: str) -> bool:
    """Whether the findings' verdict and the weighted paired conclusion say the same."""
    if verdict is None or verdict == "not reported":
        return True  # nothing published to disagree with
    if verdict == "changed":
        return conclusion != "no significant change"
    if verdict in _VERDICT_CHANGES:
        return conclusion == verdict
    return conclusion == "no significant change"  # no change, inconclusive


def _raw_direction(verdict: str, polarity: str | None) -> str | None:
    """``increased``/``decreased`` of a verdict's word (None: no direction)."""
    for (pol, direction), word in _BY_POLARITY.items():
        if pol == polarity and word == verdict:
            return direction
    return verdict if verdict in ("increased", "decreased") else None


def tipping_sentence(row: pd.Series, verdict: str | None = None) -> str:
    """One sentence for the findings: how far the group's conclusion on the item holds.

    ``row`` is a row of :func:`tipping_points`; ``verdict`` the findings' verdict of the same
    group and item in the paired design (``improved``, ``inconclusive``...; see
    :mod:`crisis_survey.compare._verdicts`), as published. The sentence is true in every
    case: the conclusion flips at a shift the published precision shows (``at least 0.40
    points worse``), at a shift too small to show (``on the edge``), or at no shift the scale
    allows (``whatever``); and the new wave-2 respondents' suggestion is said to lie beyond
    the tipping point when it does (the conclusion would not hold on that evidence).

    The findings' verdict reads the paired test adjusted for multiple testing, the tipping
    point the weighted paired change at the unadjusted confidence level, so the two can
    differ (the weighted change of an item the findings call improved can have an
    interval that reaches 0). The sentence then says so first and speaks of the verdict:
    an improvement the weighted change does not show is said to need the non-returners'
    change to be that much better to show it (not the other way, which would contradict
    the findings); an inconclusive item whose weighted change alone is significant is
    called inconclusive in the findings before the tipping point of that change.

    Examples
    --------
    >>> import pandas as pd
    >>> tipping_sentence(pd.Series({"group": "Carer", "label": "Overall rating",
    ...     "conclusion": "improved", "tipping_delta": -0.4, "unit": "points",
    ...     "share_not_returned": 0.6, "implied_delta": -0.1}))  # doctest: +NORMALIZE_WHITESPACE
    'Carer, Overall rating: the improvement holds unless the change of those who did not
    return (60% of wave 1) was at least 0.40 points worse than that of those who did; the
    new wave-2 respondents suggest 0.10 points worse, within that.'
    >>> tipping_sentence(pd.Series({"group": "Carer", "label": "Overall rating",
    ...     "conclusion": "no significant change", "tipping_delta": 0.004,
    ...     "tipping_delta_up": 0.004, "tipping_delta_down": -0.9, "unit": "points",
    ...     "share_not_returned": 0.6}), verdict="improved")  # doctest: +NORMALIZE_WHITESPACE
    'Carer, Overall rating: improved in the findings, but weighted for who came back the
    paired change is not significant on its own: it would show the improvement if the
    change of those who did not return (60% of wave 1) was even slightly better (by less
    than 0.01 points) than that of those who did.'
    """
    unit = str(row["unit"])
    pi = float(row["share_not_returned"])
    who = f"those who did not return ({100 * pi:.0f}% of wave 1)"
    head = f"{row['group']}, {row['label']}: "
    tip = float(row["tipping_delta"])
    conclusion = str(row["conclusion"])
    polarity = row.get("polarity", "higher_is_better")
    polarity = polarity if isinstance(polarity, str) else None
    verdict = verdict if isinstance(verdict, str) else None

    def way(value: float) -> str:
        return _way(value, polarity)
    if not math.isfinite(tip):
        if math.isfinite(pi) and pi <= 0:
            return head + "everyone returned, so there is no tipping point."
        return head + "no tipping point (too few pairs to estimate the change)."
    agree = _agrees(verdict, conclusion)
    up, down = float(row.get("tipping_delta_up", tip)), float(row.get("tipping_delta_down",
                                                                      tip))
    if conclusion in _NOUN:
        noun = _NOUN[conclusion]
        if agree:
            lead = f"{head}the {noun}"
        else:  # inconclusive (or the other way) in the findings: say so before the change
            article = "an" if noun[0] in "aeiou" else "a"
            lead = (f"{head}{verdict} in the findings (the paired test, adjusted for multiple "
                    f"testing), but weighted for who came back the paired change alone "
                    f"shows {article} {noun}, unadjusted; that {noun}")
        if not _within(tip, row):
            text = (f"{lead} holds whatever the change of {who}: it would take "
                    f"a change {_num(tip, unit)} {way(tip)} than that of those who did, "
                    "beyond what the scale allows")
        elif not _reached(tip, unit):
            text = (f"{lead} is on the edge: it would not hold if the change of "
                    f"{who} was even slightly {way(tip)} (by less than "
                    f"{10 ** -_precision(unit):g} {unit}) than that of those who did")
        else:
            text = (f"{lead} holds unless the change of {who} was at least "
                    f"{_num(tip, unit)} {way(tip)} than that of those who did")
        shown_shifts = [tip]
    elif not agree and verdict is not None:
        # a change in the findings that the weighted paired change does not show on its
        # own: the shift (in the verdict's direction) at which it would
        direction = _raw_direction(verdict, polarity)
        wanted = [up] if direction == "increased" else [down] if direction == "decreased" \
            else sorted((up, down), key=abs)[:1]
        shown_shifts = [v for v in wanted if _within(v, row)]
        noun = _NOUN.get(verdict, "change")
        lead = (f"{head}{verdict} in the findings, but weighted for who came back the paired "
                "change is not significant on its own")
        if not shown_shifts:
            text = f"{lead}, and no shift of the change of {who} that the scale allows " \
                   f"would show the {noun}"
        else:
            v = shown_shifts[0]
            size = (f"at least {_num(v, unit)} {way(v)}" if _reached(v, unit) else
                    f"even slightly {way(v)} (by less than {10 ** -_precision(unit):g} "
                    f"{unit})")
            text = (f"{lead}: it would show the {noun} if the change of {who} was {size} "
                    "than that of those who did")
    else:
        shifts = [v for v in (up, down) if _within(v, row)]
        if not shifts:
            text = (f"{head}no significant change, whatever the change of {who}: no shift "
                    "the scale allows would show one")
        else:
            shifts.sort(key=abs)
            parts = [(f"{_num(v, unit)} {way(v)}" if _reached(v, unit)
                      else f"even slightly {way(v)}") for v in shifts]
            text = (f"{head}no significant change; it would take the change of {who} to be "
                    f"{' or '.join(parts)} than that of those who did to show one"
                    + ("" if verdict is None else
                       " (on its own, without the findings' adjustment for multiple testing)"))
        shown_shifts = shifts
    implied = float(row.get("implied_delta", math.nan))
    if math.isfinite(implied):
        said = (f"{_num(implied, unit)} {way(implied)}" if _reached(implied, unit)
                else "no difference")
        if conclusion in _NOUN:
            beyond = implied <= tip if tip < 0 else implied >= tip
            where = (f"beyond the tipping point, so on that evidence the {_NOUN[conclusion]} "
                     "would not hold" if beyond and _within(tip, row) else "within that")
        else:
            beyond = any(implied >= v if v > 0 else implied <= v for v in shown_shifts)
            what = "a change" if agree or verdict is None else f"the {noun}"
            where = (f"enough to show {what}" if beyond else f"not enough to show {what}")
        text += f"; the new wave-2 respondents suggest {said}, {where}"
    return text + "."
