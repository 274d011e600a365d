"""Attrition weights: who came back, modelled per respondent group, and the paired and
overlapping estimates weighted to the whole wave-1 sample (private; the public names are
re-exported by :mod:`crisis_survey.compare`).

Method, formulas, references and the R equivalent: ``docs/methods/attrition-weights.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

from .._errors import CrisisSurveyError
from ..codebook import Codebook, Field
from ..codebook._model import ROLES
from ._study import _codes, _pair_positions

__all__ = ["AttritionWeights", "attrition_weights", "resolve_covariates",
           "return_model_patterns", "weighted_estimates", "weighted_mean_change",
           "weighted_overlap_difference"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_CATEGORICAL = ("ordinal", "binary", "nominal")
#: Columns of :func:`weighted_estimates`.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "group", "item", "design", "measure", "n_wave1", "n_wave2", "n_paired",
    "estimate", "se", "ci_low", "ci_high", "p_value",
    "estimate_weighted", "se_weighted", "ci_low_weighted", "ci_high_weighted",
    "p_value_weighted", "disagree",
)


def resolve_covariates(codebook: Codebook, names: Sequence[str], *,
                       required: bool = True) -> tuple[Field, ...]:
    """The codebook fields the plan's weight covariates name: a role name (e.g.
    ``"demographic"``) stands for every field with that role (none, if the codebook has no
    field with it), any other name for a field; only categorical fields with levels asked in
    wave 1 can be covariates.

    Raises :class:`CrisisSurveyError` listing every name that does not fit, and, when
    ``required``, if the names resolve to no field at all.

    Examples
    --------
    >>> from crisis_survey.codebook import default_codebook
    >>> [f.role for f in resolve_covariates(default_codebook(), ["demographic"])]
    ['demographic', 'demographic', 'demographic']
    """
    out: list[Field] = []
    problems: list[str] = []
    for name in names:
        if name in ROLES and name not in codebook:
            found = [f for f in codebook.fields if f.role == name]
        elif name in codebook:
            found = [codebook[name]]
        else:
            problems.append(f"{name!r} is neither a codebook role nor a field")
            continue
        for f in found:
            if f.private:
                problems.append(f"{f.name!r} is a {f.role} field, which is never used")
            elif f.measurement not in _CATEGORICAL or not f.levels:
                problems.append(f"{f.name!r} is {f.measurement or f.role}; weight "
                                "covariates must be ordinal, binary or nominal with levels")
            elif 1 not in f.waves:
                problems.append(f"{f.name!r} is not asked in wave 1")
            elif f not in out:
                out.append(f)
    if problems:
        raise CrisisSurveyError(
            "The weight covariates do not fit the codebook "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n"
            + "\n".join(f"  - {p}" for p in problems))
    if not out and required:
        raise CrisisSurveyError("The weight covariates name no field (expected at least one "
                                "codebook role or field, e.g. 'demographic')")
    return tuple(out)


# -- the model of returning, from covariate-pattern counts --------------------------------------
def _design(levels: IntArray, sizes: Sequence[int]) -> FloatArray:
    """Intercept plus one indicator per covariate level (0 = missing), first column of each
    covariate's present levels left out, collinear columns dropped."""
    cols = [np.ones(levels.shape[0])]
    for j, k in enumerate(sizes):
        present = np.unique(levels[:, j])
        for lev in present[1:]:
            cols.append((levels[:, j] == lev).astype(np.float64))
        del k
    x = np.column_stack(cols)
    keep: list[int] = []
    for c in range(x.shape[1]):
        trial = [*keep, c]
        if np.linalg.matrix_rank(x[:, trial]) == len(trial):
            keep = trial
    return x[:, keep]


def return_model_patterns(levels: IntArray, returned: BoolArray,
                          sizes: Sequence[int]) -> tuple[IntArray, FloatArray, FloatArray,
                                                         FloatArray]:
    """Fit the logistic model of returning from covariate-pattern counts.

    Parameters
    ----------
    levels
        One row per wave-1 respondent, one column per covariate: level position + 1
        (0 = missing, its own level).
    returned
        Whether each respondent returned.
    sizes
        Number of levels of each covariate.

    Returns
    -------
    (inverse, probability, n_pattern, n_returned)
        Each respondent's pattern, each pattern's fitted probability of returning, and
        each pattern's counts. The fit is statsmodels' binomial GLM on the distinct
        patterns with ``freq_weights`` (two rows per pattern: returned, not returned);
        it equals the per-respondent fit (tests compare them).
    """
    # the GLM alone: statsmodels.api imports all of statsmodels (0.5 s CPU, 0.17 s this)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    radix = np.cumprod([1, *[k + 1 for k in sizes[:-1]]]).astype(np.int64)
    key = levels @ radix
    uniq, inverse = np.unique(key, return_inverse=True)
    first = np.zeros(uniq.size, dtype=np.int64)
    first[inverse[::-1]] = np.arange(levels.shape[0])[::-1]
    x = _design(levels[first], sizes)
    n_pat = np.bincount(inverse, minlength=uniq.size).astype(np.float64)
    n_ret = np.asarray(np.bincount(inverse, weights=returned.astype(np.float64),
                                   minlength=uniq.size), dtype=np.float64)
    y = np.r_[np.ones(uniq.size), np.zeros(uniq.size)]
    freq = np.r_[n_ret, n_pat - n_ret]
    use = freq > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation: fitted probabilities of 0 or 1
        fit = GLM(y[use], np.vstack([x, x])[use], family=families.Binomial(),
                  freq_weights=freq[use]).fit()
    prob = np.asarray(fit.predict(x), dtype=np.float64)
    return np.asarray(inverse, dtype=np.int64), prob, n_pat, n_ret


@dataclass(frozen=True)
class AttritionWeights:
    """Stabilised, trimmed inverse-probability-of-returning weights of the returners.

    Attributes
    ----------
    weights
        One value per linked pair, aligned with ``study.pairs`` (index: the pairs' index).
    balance
        One row per group, covariate and level: the standardised difference of the
        returners from the whole wave-1 group before and after weighting, and the counts
        behind it (``n_level``: wave-1 respondents in the level, or answering an ordinal
        covariate; ``n_level_returned``: those of them who returned). For the analyst: the
        report withholds rows whose counts are small.
    summary
        One row per group: wave-1 respondents, returners, patterns, the effective sample
        size, the largest weight before and after trimming, how many weights were trimmed.
    covariates, trim
        The covariate fields and the trimming quantile used.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> w = attrition_weights(load_sample_study(), ["demographic"], trim=0.99)
    >>> list(w.summary["group"]), w.covariates
    (['Service user', 'Carer'], ('age_band', 'gender', 'ethnicity'))
    >>> bool((w.balance["smd_after"].abs() <= w.balance["smd_before"].abs() + 0.05).all())
    True
    """

    weights: pd.Series
    balance: pd.DataFrame
    summary: pd.DataFrame
    covariates: tuple[str, ...]
    trim: float
    #: positions in wave-1 data of the returners (aligned with ``weights``)
    _wave1_positions: IntArray = field(repr=False, default_factory=lambda: np.empty(0, np.int64))


def _levels(data: pd.DataFrame, fields: Sequence[Field]) -> IntArray:
    cols = [_codes(data[f.name], list(f.labels)) + 1 if f.name in data.columns
            else np.zeros(len(data), np.int64) for f in fields]
    return np.column_stack(cols).astype(np.int64) if cols else np.zeros((len(data), 0), np.int64)


def _smd_rows(group: str, f: Field, lev: IntArray, ret: BoolArray, w: FloatArray
              ) -> list[dict[str, Any]]:
    """Standardised differences of the returners (unweighted, weighted) from the whole
    wave-1 group, scaled by the whole group's SD: one row (ordinal: mean level score) or one
    row per level (binary, nominal; proportion, missing counted as a level)."""
    rows: list[dict[str, Any]] = []
    wr = w[ret]
    if f.measurement == "ordinal":
        ans = lev > 0
        score = lev.astype(np.float64)
        pop = score[ans]
        sd = float(pop.std(ddof=1)) if pop.size > 1 else math.nan
        r_ans = ans[ret]
        s_r = score[ret][r_ans]
        before = (s_r.mean() - pop.mean()) / sd if sd > 0 and s_r.size else math.nan
        after = (np.average(s_r, weights=wr[r_ans]) - pop.mean()) / sd \
            if sd > 0 and s_r.size else math.nan
        rows.append({"group": group, "covariate": f.name, "level": "mean level score",
                     "smd_before": float(before), "smd_after": float(after),
                     "n_level": int(ans.sum()), "n_level_returned": int(r_ans.sum())})
        return rows
    labels = ["missing", *f.labels]
    for k in np.unique(lev):
        ind = (lev == k).astype(np.float64)
        p = ind.mean()
        sd = math.sqrt(p * (1 - p))
        pr = ind[ret].mean()
        pw = np.average(ind[ret], weights=wr)
        rows.append({"group": group, "covariate": f.name, "level": labels[int(k)],
                     "smd_before": (pr - p) / sd if sd > 0 else math.nan,
                     "smd_after": (pw - p) / sd if sd > 0 else math.nan,
                     "n_level": int(ind.sum()), "n_level_returned": int(ind[ret].sum())})
    return rows


def attrition_weights(study: Any, covariates: Sequence[str] = ("demographic",), *,
                      trim: float = 0.99) -> AttritionWeights:
    r"""Weights that make each group's returners look like its whole wave-1 sample.

    Parameters
    ----------
    study
        The linked study (:func:`~crisis_survey.link.link_waves`).
    covariates
        Codebook roles or field names (:func:`resolve_covariates`) of the wave-1 answers and
        demographics the model of returning uses (the plan's ``[weights] covariates``).
    trim
        Weights above this quantile of a group's returners' weights are set to it (the
        plan's ``[weights] trim``); ``1`` leaves them untrimmed.

    Returns
    -------
    AttritionWeights

    Notes
    -----
    Per group :math:`g`, a logistic model of returning, :math:`\operatorname{logit}\pi(x) =
    x^\top\beta`, with one indicator per covariate level (missing its own level), fitted to
    the wave-1 respondents from the counts of their covariate patterns. A returner's
    stabilised weight is :math:`w_i = \bar\pi_g / \hat\pi(x_i)`, with :math:`\bar\pi_g` the
    group's return rate; weights above the ``trim`` quantile are set to it, then all are
    rescaled to sum to the number of returners. Effective sample size
    :math:`(\sum w)^2/\sum w^2`. R: ``glm(returned ~ ., binomial, weights = n)`` on the
    pattern table, or ``WeightIt::weightit(returned ~ ., method = "glm",
    estimand = "ATE")`` restricted to the returners.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> w = attrition_weights(load_sample_study(), ["demographic"])
    >>> len(w.weights) == len(load_sample_study().pairs)
    True
    """
    if not (isinstance(trim, int | float) and not isinstance(trim, bool) and 0.5 <= trim <= 1):
        raise CrisisSurveyError(f"trim must be a quantile from 0.5 to 1, got {trim!r}")
    cb = study.codebook
    fields = resolve_covariates(cb, covariates)
    data = study.wave1.data
    p1, _ = _pair_positions(study, cb.identifier.name)
    ret = np.zeros(len(data), dtype=bool)
    ret[p1] = True
    groups = list(study.groups)
    gcode = _codes(data[cb.group.name], groups)
    lev = _levels(data, fields)
    sizes = [len(f.levels) for f in fields]
    weight = np.full(len(data), math.nan)
    balance: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for g, label in enumerate(groups):
        in_g = gcode == g
        n, r = int(in_g.sum()), int(ret[in_g].sum())
        if n == 0:
            continue
        rows = np.flatnonzero(in_g)
        w = np.ones(n)
        n_patterns, top_raw, n_trimmed = 0, math.nan, 0
        if 0 < r < n:
            inverse, prob, n_pat, _ = return_model_patterns(lev[rows], ret[rows], sizes)
            n_patterns = int(n_pat.size)
            raw = (r / n) / np.maximum(prob[inverse], 1e-12)
            rr = ret[rows]
            cap = float(np.quantile(raw[rr], trim)) if trim < 1 else math.inf
            top_raw = float(raw[rr].max())
            n_trimmed = int((raw[rr] > cap).sum())
            w = np.minimum(raw, cap)
            w = w * (r / w[rr].sum())
        weight[rows] = w
        wr = w[ret[rows]]
        summary.append({
            "group": label, "n_wave1": n, "n_returned": r, "n_patterns": n_patterns,
            "effective_n": float(wr.sum() ** 2 / (wr**2).sum()) if r else math.nan,
            "max_weight_untrimmed": top_raw, "max_weight": float(wr.max()) if r else math.nan,
            "n_trimmed": n_trimmed})
        for j, f in enumerate(fields):
            if r:
                balance += _smd_rows(label, f, lev[rows, j], ret[rows], w)
    weights = pd.Series(weight[p1], index=study.pairs.index, name="weight")
    return AttritionWeights(
        weights=weights,
        balance=pd.DataFrame.from_records(
            balance, columns=["group", "covariate", "level", "smd_before", "smd_after",
                              "n_level", "n_level_returned"]),
        summary=pd.DataFrame.from_records(summary, columns=[
            "group", "n_wave1", "n_returned", "n_patterns", "effective_n",
            "max_weight_untrimmed", "max_weight", "n_trimmed"]),
        covariates=tuple(f.name for f in fields), trim=float(trim), _wave1_positions=p1)


# -- weighted estimates with design-based (linearisation) variance -------------------------------
def _finish(est: float, z: FloatArray, n_psu: int, confidence: float
            ) -> tuple[float, float, float, float]:
    """(se, ci_low, ci_high, p) from the influence values ``z`` of the PSUs (persons), as
    R's survey package: var = n/(n-1) * sum (z - mean z)^2, t on n - 1 df."""
    if n_psu < 2 or not math.isfinite(est):
        return math.nan, math.nan, math.nan, math.nan
    var = n_psu / (n_psu - 1) * float(((z - z.mean()) ** 2).sum())
    se = math.sqrt(var)
    q = float(sps.t.ppf(0.5 + confidence / 2, n_psu - 1))
    p = float(2 * sps.t.sf(abs(est / se), n_psu - 1)) if se > 0 else math.nan
    return se, est - q * se, est + q * se, p


def weighted_mean_change(x: FloatArray, y: FloatArray, w: FloatArray, *,
                         confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    r"""Weighted mean change ``y - x`` of complete pairs and its robust (sandwich) variance.

    :math:`\hat\theta = \sum w_i d_i / \sum w_i`, influence :math:`z_i = w_i (d_i -
    \hat\theta)/\sum w`, :math:`\widehat{V} = \frac{n}{n-1}\sum z_i^2`, t on :math:`n-1` df.
    R: ``svymean(~d, svydesign(ids = ~1, weights = ~w, data = df))`` and
    ``svyttest(d ~ 0, design)``. Weights are taken as known (the uncertainty of their
    estimation is ignored, which is usually conservative for inverse-probability weights).

    Returns
    -------
    (estimate, se, ci_low, ci_high, p_value)

    Examples
    --------
    >>> import numpy as np
    >>> est, se, lo, hi, p = weighted_mean_change(np.array([1., 2, 3, 2]),
    ...                                           np.array([2., 2, 4, 4]), np.array([1., 2, 1, 1]))
    >>> round(est, 4), round(se, 4)  # R: svymean(~d, svydesign(ids = ~1, weights = ~w, ...))
    (0.8, 0.4665)
    """
    ok = ~(np.isnan(x) | np.isnan(y) | np.isnan(w))
    d, ww = (y - x)[ok], w[ok]
    if d.size == 0 or ww.sum() <= 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan
    est = float(np.sum(ww * d) / ww.sum())
    z = ww * (d - est) / ww.sum()
    return (est, *_finish(est, z, int(d.size), confidence))


def weighted_overlap_difference(y1: FloatArray, y2: FloatArray, w1: FloatArray,
                                w2: FloatArray, *, confidence: float = 0.95
                                ) -> tuple[float, float, float, float, float]:
    r"""Weighted wave-2 mean minus wave-1 mean over everyone who answered either wave.

    One entry per person (``NaN`` where they did not answer that wave); ``w1``, ``w2`` the
    person's weight in each wave (1 for every wave-1 respondent and every new wave-2
    respondent, the attrition weight for a returner's wave-2 answer).
    :math:`\hat\mu_t = \sum_i w_{ti} y_{ti} / \sum_i w_{ti}`; with person :math:`i` as the
    primary sampling unit its influence is :math:`z_i = w_{2i}(y_{2i}-\hat\mu_2)/\sum w_2 -
    w_{1i}(y_{1i}-\hat\mu_1)/\sum w_1`, :math:`\widehat V = \frac{n}{n-1}\sum z_i^2`, t on
    :math:`n - 1` df (so the covariance of a returner's two answers is counted). R, with one
    row per person and wave: ``d <- svydesign(ids = ~person, weights = ~w, data = long)``,
    ``m <- svyby(~y, ~wave, d, svymean, covmat = TRUE)``, ``svycontrast(m, c(-1, 1))``.

    Returns
    -------
    (estimate, se, ci_low, ci_high, p_value)
    """
    a = np.where(np.isnan(y2), 0.0, w2)
    b = np.where(np.isnan(y1), 0.0, w1)
    if a.sum() <= 0 or b.sum() <= 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan
    v2, v1 = np.nan_to_num(y2), np.nan_to_num(y1)
    m2, m1 = float(np.sum(a * v2) / a.sum()), float(np.sum(b * v1) / b.sum())
    z = a * (v2 - m2) / a.sum() - b * (v1 - m1) / b.sum()
    n_psu = int(((a > 0) | (b > 0)).sum())
    est = m2 - m1
    return (est, *_finish(est, z[(a > 0) | (b > 0)], n_psu, confidence))


def _scores(series: pd.Series, f: Field) -> FloatArray:
    """Level scores 1..k (ordinal), 0/1 for the reported level (binary); NaN when missing."""
    c = _codes(series, list(f.labels)).astype(np.float64)
    c[c < 0] = np.nan
    return c if f.measurement == "binary" else c + 1


def weighted_estimates(study: Any, weights: AttritionWeights, *,
                       items: Sequence[str] | None = None, confidence: float = 0.95,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Unweighted and attrition-weighted paired and overlapping estimates, per group and item.

    Ordinal items: the mean change of the level scores 1..k (paired) and the difference of
    the wave means (overlapping); binary items: the same for the proportion in the reported
    level (percentage points / 100). Rank tests stay unweighted (``docs/methods/
    attrition-weights.md`` says why); these are the estimates that weights can correct.
    ``disagree`` is true when the weighted and unweighted conclusions at ``alpha`` differ
    (one significant and the other not, or significant in opposite directions).

    Parameters
    ----------
    study
        The linked study.
    weights
        The returners' weights (:func:`attrition_weights`).
    items
        Ordinal or binary items asked in both waves; default every such item.
    confidence, alpha
        Confidence level of the intervals; significance level of ``disagree``.

    Returns
    -------
    pandas.DataFrame
        Columns ``ESTIMATE_COLUMNS``; one row per group, item and design.

    Examples
    --------
    >>> from crisis_survey import load_sample_study
    >>> study = load_sample_study()
    >>> w = attrition_weights(study, ["demographic", "overall_rating"])
    >>> e = weighted_estimates(study, w, items=["overall_rating"])
    >>> list(e["design"])
    ['paired', 'overlapping', 'paired', 'overlapping']
    >>> [round(v, 2) for v in e["estimate_weighted"]]  # R: svymean(~d, svydesign(weights = ~w))
    [0.37, 0.29, -0.07, -0.02]
    """
    cb = study.codebook
    chosen = ([cb[i].oriented() for i in items] if items is not None else
              [f.oriented() for f in cb.items() if set(f.waves) >= {1, 2}
               and f.measurement in ("ordinal", "binary") and f.levels])
    pairs = study.pairs
    group_pairs = pairs[("", "group")].astype("string").to_numpy()
    w_pairs = weights.weights.reindex(pairs.index).to_numpy(dtype=np.float64)
    un1, un2 = study.unpaired(1), study.unpaired(2)
    records: list[dict[str, Any]] = []
    for label in study.groups:
        gp = group_pairs == label
        u1 = (un1[cb.group.name].astype("string") == label).to_numpy(dtype=bool, na_value=False)
        u2 = (un2[cb.group.name].astype("string") == label).to_numpy(dtype=bool, na_value=False)
        for f in chosen:
            x = _scores(pairs[(1, f.name)], f)[gp]
            y = _scores(pairs[(2, f.name)], f)[gp]
            wg = w_pairs[gp]
            measure = ("mean level score" if f.measurement == "ordinal"
                       else f"proportion {f.labels[-1]!r}")
            o1 = _scores(un1[f.name], f)[u1] if f.name in un1.columns else np.empty(0)
            o2 = _scores(un2[f.name], f)[u2] if f.name in un2.columns else np.empty(0)
            n_pair = int((~np.isnan(x) & ~np.isnan(y)).sum())
            paired_u = weighted_mean_change(x, y, np.ones_like(x), confidence=confidence)
            paired_w = weighted_mean_change(x, y, wg, confidence=confidence)
            # overlapping: one entry per person (pairs, wave-1 only, wave-2 only)
            nan1, nan2 = np.full(o2.size, np.nan), np.full(o1.size, np.nan)
            y1 = np.r_[x, o1, nan1]
            y2 = np.r_[y, nan2, o2]
            ones = np.ones(y1.size)
            w2 = np.r_[wg, np.ones(o1.size), np.ones(o2.size)]
            over_u = weighted_overlap_difference(y1, y2, ones, ones, confidence=confidence)
            over_w = weighted_overlap_difference(y1, y2, ones, w2, confidence=confidence)
            n1 = int((~np.isnan(y1)).sum())
            n2 = int((~np.isnan(y2)).sum())
            for design, un, we in (("paired", paired_u, paired_w),
                                   ("overlapping", over_u, over_w)):
                records.append({
                    "group": label, "item": f.name, "design": design, "measure": measure,
                    "n_wave1": n1 if design == "overlapping" else n_pair,
                    "n_wave2": n2 if design == "overlapping" else n_pair, "n_paired": n_pair,
                    "estimate": un[0], "se": un[1], "ci_low": un[2], "ci_high": un[3],
                    "p_value": un[4], "estimate_weighted": we[0], "se_weighted": we[1],
                    "ci_low_weighted": we[2], "ci_high_weighted": we[3],
                    "p_value_weighted": we[4],
                    "disagree": _verdict(un, alpha) != _verdict(we, alpha)})
    return pd.DataFrame.from_records(records, columns=list(ESTIMATE_COLUMNS))


def _verdict(result: tuple[float, ...], alpha: float) -> int:
    est, p = result[0], result[4]
    if not (math.isfinite(p) and p < alpha):
        return 0
    return 1 if est > 0 else -1
