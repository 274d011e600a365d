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

__all__ = ["TIPPING_COLUMNS", "tipping_points", "tipping_sentence"]

#: Columns of :func:`tipping_points`.
TIPPING_COLUMNS: tuple[str, ...] = (
    "group", "item", "label", "measure", "unit", "n_paired", "share_not_returned",
    "estimate", "se", "ci_low", "ci_high", "conclusion", "tipping_delta",
    "tipping_delta_up", "tipping_delta_down", "sd_change",
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
        ``implied_delta`` is what the new wave-2 respondents suggest (below).

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
            conclusion = ("improved" if lo > 0 else "got worse" if hi < 0
                          else "no significant change")
            tip = up = down = math.nan
            if pi > 0 and math.isfinite(se):
                q = float(sps.t.ppf(0.5 + confidence / 2, n - 1))
                up, down = (q * se - est) / pi, -(q * se + est) / pi
                tip = -lo / pi if conclusion == "improved" else (
                    -hi / pi if conclusion == "got worse" else
                    (up if abs(up) <= abs(down) else down))
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
                "n_paired": n, "share_not_returned": pi, "estimate": est, "se": se,
                "ci_low": lo, "ci_high": hi, "conclusion": conclusion,
                "tipping_delta": tip,
                "tipping_delta_up": up if conclusion == "no significant change" else math.nan,
                "tipping_delta_down": (down if conclusion == "no significant change"
                                       else math.nan),
                "sd_change": float(d.std(ddof=1)) if n > 1 else math.nan,
                "n_new": n_new, "new_minus_returners": diff, "new_minus_returners_se": dse,
                "implied_delta": diff / pi if pi > 0 else math.nan,
                "implied_delta_low": (diff - z * dse) / pi if pi > 0 else math.nan,
                "implied_delta_high": (diff + z * dse) / pi if pi > 0 else math.nan,
            })
    return pd.DataFrame.from_records(records, columns=list(TIPPING_COLUMNS))


def _num(value: float, unit: str) -> str:
    return f"{abs(value):.2f} {unit}" if unit == "points" else f"{abs(value):.1f} {unit}"


def tipping_sentence(row: pd.Series) -> str:
    """One sentence for the findings: how far the group's conclusion on the item holds.

    Examples
    --------
    >>> import pandas as pd
    >>> tipping_sentence(pd.Series({"group": "Carer", "label": "Overall rating",
    ...     "conclusion": "improved", "tipping_delta": -0.4, "unit": "points",
    ...     "share_not_returned": 0.6, "implied_delta": -0.1}))  # doctest: +NORMALIZE_WHITESPACE
    'Carer, Overall rating: the improvement holds unless the change of those who did not
    return (60% of wave 1) was at least 0.40 points worse than that of those who did; the
    new wave-2 respondents suggest a difference of 0.10 points worse.'
    """
    unit = str(row["unit"])
    who = f"those who did not return ({100 * float(row['share_not_returned']):.0f}% of wave 1)"
    tip = float(row["tipping_delta"])
    head = f"{row['group']}, {row['label']}: "
    if not math.isfinite(tip):
        text = head + "no tipping point (everyone returned, or too few pairs)."
        return text
    way = "better" if tip > 0 else "worse"
    if row["conclusion"] in ("improved", "got worse"):
        noun = "improvement" if row["conclusion"] == "improved" else "worsening"
        text = (f"{head}the {noun} holds unless the change of {who} was at least "
                f"{_num(tip, unit)} {way} than that of those who did")
    else:
        text = (f"{head}no significant change; it would take the change of {who} to be "
                f"{_num(tip, unit)} {way} than that of those who did to show one")
    implied = float(row.get("implied_delta", math.nan))
    if math.isfinite(implied):
        text += (f"; the new wave-2 respondents suggest a difference of "
                 f"{_num(implied, unit)} {'better' if implied > 0 else 'worse'}")
    return text + "."
