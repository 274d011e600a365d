"""One model for "did change between waves differ between the groups?" (private).

See :func:`change_by_group_model`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._errors import CrisisSurveyError
from ._study import StudyLike, item_values, make_layout

__all__ = ["ModelResult", "change_by_group_model", "long_data"]

Method = Literal["ordinal-gee", "linear-gee"]
CovStruct = Literal["independence", "exchangeable"]


@dataclass(frozen=True)
class ModelResult:
    """A marginal model of one item across both waves and both respondent groups.

    Attributes
    ----------
    item, method, working_correlation
        The item, the model (``"ordinal-gee"``: cumulative logit GEE; ``"linear-gee"``:
        identity-link Gaussian GEE on the level codes) and the GEE working correlation.
    effect_scale
        What the coefficients measure (log cumulative odds ratio, or difference in mean code).
    reference_group, other_group
        The groups: ``wave`` is the wave-2 vs wave-1 effect in ``reference_group``;
        ``wave:group`` how much larger it is in ``other_group``.
    terms
        DataFrame, one row per coefficient: ``term, estimate, se, z, p_value, ci_low,
        ci_high`` (robust sandwich SEs; normal-theory intervals).
    wave_effects
        DataFrame, one row per group: the wave-2 vs wave-1 effect within that group, with the
        same columns (``term`` holds the group label).
    n_observations, n_clusters, n_linked
        Answers used, respondents (clusters), and respondents linked across waves.
    confidence
        Level of the intervals.

    Examples
    --------
    >>> from crisis_survey import change_by_group_model, load_sample_study
    >>> model = change_by_group_model(load_sample_study(), "overall_rating")
    >>> model.reference_group, model.other_group
    ('Service user', 'Carer')
    >>> model.wave_effects[["term", "estimate"]].round(2)
               term  estimate
    0  Service user      0.49
    1         Carer      0.01
    >>> round(float(model.interaction["estimate"]), 2)
    -0.48
    """

    item: str
    method: str
    working_correlation: str
    effect_scale: str
    reference_group: str
    other_group: str
    terms: pd.DataFrame
    wave_effects: pd.DataFrame
    n_observations: int
    n_clusters: int
    n_linked: int
    confidence: float = 0.95
    details: dict[str, float] = field(default_factory=dict)

    @property
    def interaction(self) -> pd.Series:
        """The ``wave:group`` row of :attr:`terms`: the difference in change between groups."""
        return self.terms.loc[self.terms["term"] == "wave:group"].iloc[0]

    def to_frame(self) -> pd.DataFrame:
        """Terms then per-group wave effects, one row each, with the model's description."""
        a = self.terms.assign(kind="coefficient")
        b = self.wave_effects.assign(kind="wave effect in group")
        out = pd.concat([a, b], ignore_index=True)
        return out.assign(item=self.item, method=self.method,
                          working_correlation=self.working_correlation,
                          effect_scale=self.effect_scale)

    def __str__(self) -> str:
        i = self.interaction
        return (
            f"{self.method} for {self.item!r} ({self.effect_scale}; working correlation "
            f"{self.working_correlation}; {self.n_observations} answers from "
            f"{self.n_clusters} respondents, {self.n_linked} linked)\n"
            f"change in {self.other_group} minus change in {self.reference_group}: "
            f"{i['estimate']:.4f} (robust SE {i['se']:.4f}, z = {i['z']:.3f}, "
            f"p = {i['p_value']:.4g}, {self.confidence:.0%} CI {i['ci_low']:.4f} to "
            f"{i['ci_high']:.4f})\n" + self.wave_effects.to_string(index=False)
        )

    def __repr__(self) -> str:
        return (f"<ModelResult {self.method} for {self.item!r}: {self.n_observations} answers "
                f"from {self.n_clusters} respondents>")

    def _repr_html_(self) -> str:
        head = "<br>".join(escape(line) for line in str(self).splitlines()[:2])
        cols = ["term", "estimate", "se", "z", "p_value", "ci_low", "ci_high"]
        return (f"<p>{head}</p><p>Wave 2 versus wave 1 within each group:</p>"
                + self.wave_effects[cols].to_html(index=False)
                + "<p>Every coefficient:</p>" + self.terms[cols].to_html(index=False))


def long_data(study: StudyLike, item: str) -> pd.DataFrame:
    """Every answer to ``item`` in either wave, one row each (private helper, also for tests).

    Columns: ``cluster`` (``"L:<link key>"`` for linked respondents, ``"W<wave>:<row>"``
    otherwise), ``wave`` (0 = wave 1, 1 = wave 2), ``group`` (0 = first group of the codebook,
    1 = second; linked respondents keep their analysis group in both waves), ``y`` (level
    position 0..k-1, or the number for numeric items), ``score`` (codebook code).
    """
    cb = study.codebook
    if item not in cb or cb[item].role != "item":
        raise CrisisSurveyError(f"{item!r} is not a survey item of the codebook")
    f = cb[item]
    if f.measurement not in ("ordinal", "binary", "numeric"):
        raise CrisisSurveyError(
            f"{item!r} is a {f.measurement} item; the change-by-group model needs an ordinal, "
            "binary or numeric item"
        )
    if not (1 in f.waves and 2 in f.waves):
        raise CrisisSurveyError(f"{item!r} was not asked in both waves")
    layout = make_layout(study, ("group",))
    labels = list(cb.group.labels) if cb.group.levels else list(layout.cells)
    if len(layout.cells) != 2:
        raise CrisisSurveyError(
            f"the change-by-group model needs exactly two respondent groups; found "
            f"{list(layout.cells)}"
        )
    group_index = {lab: labels.index(lab) for lab in layout.cells}
    recode = np.array([group_index[c] for c in layout.cells])
    keys = np.asarray(study.pairs.index.astype(str))
    frames = []
    for i, w in enumerate(layout.waves):
        values, _ = item_values(w, f)
        v = np.asarray(values, dtype=np.float64)
        if f.levels:
            v[v < 0] = np.nan
        cluster = np.array([f"W{w.wave}:{r}" for r in w.data.index], dtype=object)
        cell = layout.by_wave[i].copy()
        pos = layout.pair_pos[i]
        cluster[pos] = np.char.add("L:", keys.astype(str)).astype(object)
        cell[pos] = layout.by_pair
        ok = ~np.isnan(v) & (cell >= 0)
        frames.append(pd.DataFrame({
            "cluster": cluster[ok], "wave": np.full(int(ok.sum()), i, dtype=np.int64),
            "group": recode[cell[ok]].astype(np.int64), "y": v[ok],
        }))
    out = pd.concat(frames, ignore_index=True)
    if f.levels:
        scores = np.asarray(f.codes, dtype=np.float64)
        out["score"] = scores[out["y"].to_numpy(dtype=np.int64)]
    else:
        out["score"] = out["y"]
    return out.sort_values(["cluster", "wave"], kind="stable").reset_index(drop=True)


def _row(term: str, est: float, se: float, q: float) -> dict[str, Any]:
    z = est / se if se > 0 else math.nan
    return {"term": term, "estimate": est, "se": se, "z": z,
            "p_value": float(2.0 * sps.norm.sf(abs(z))) if se > 0 else math.nan,
            "ci_low": est - q * se, "ci_high": est + q * se}


def change_by_group_model(
    study: StudyLike,
    item: str,
    *,
    method: Method = "ordinal-gee",
    cov_struct: CovStruct = "independence",
    confidence: float = 0.95,
) -> ModelResult:
    r"""Did the change between waves differ between service users and carers?

    Fits one marginal model to every answer to ``item`` in both waves, linked and unlinked
    respondents alike, with terms wave, group and wave x group, and respondents as clusters
    (the link key for linked people, the wave's row otherwise), so linked people's two
    answers are not treated as independent.

    Parameters
    ----------
    study : LinkedStudy
        The linked study.
    item : str
        An ordinal, binary or numeric item asked in both waves.
    method : {"ordinal-gee", "linear-gee"}
        ``"ordinal-gee"`` (default): cumulative-logit GEE (statsmodels ``OrdinalGEE``);
        coefficients are log cumulative odds ratios of a *higher* answer. A binary item is the
        special case with one threshold (logistic GEE). ``"linear-gee"``: Gaussian GEE on the
        codebook codes, a sensitivity analysis that treats codes as interval scores;
        coefficients are differences in mean code.
    cov_struct : {"independence", "exchangeable"}
        GEE working correlation. Independence (default) gives the estimates of the
        corresponding independence model with cluster-robust (sandwich) SEs; they remain valid
        whatever the true within-respondent correlation.
    confidence : float
        Level of the normal-theory intervals.

    Returns
    -------
    ModelResult
        The coefficients (``wave``, ``group``, ``wave:group``; thresholds or intercept too),
        the per-group wave effects and the counts.

    Raises
    ------
    CrisisSurveyError
        Unsuitable item, not exactly two groups, too few answers, or a model that does not
        converge.

    Notes
    -----
    Ordinal GEE (Lipsitz, Kim & Zhao 1994): for level thresholds :math:`j = 1..K-1`,

    .. math:: \operatorname{logit} P(Y_{it} > j) = \alpha_j + \beta_1 \text{wave}_{it}
              + \beta_2 \text{group}_i + \beta_3 \text{wave}_{it}\text{group}_i,

    fitted with statsmodels' ``OrdinalGEE``, which expands each answer into :math:`K-1`
    binary indicators and solves the GEE for them with clusters = respondents. :math:`\beta_3`
    (``wave:group``) is the difference between the groups' log cumulative odds ratios of a
    higher answer in wave 2 than in wave 1; the wave effect in the second group is
    :math:`\beta_1 + \beta_3` with SE :math:`\sqrt{c^\top V c}`, :math:`c = (0,..,1,0,1)`.
    SEs are the robust sandwich :math:`V = B^{-1} M B^{-1}` (no small-sample correction, as
    geepack). Effects are wave 2 versus wave 1 (unlike :func:`compare_waves`, whose
    differences are wave 1 minus wave 2, as in the stats functions). The global odds ratio
    working structure was tried and fails on sparse data (infinite log odds ratios from
    empty pooled cells), so it is not offered.

    Equivalent R (validated in ``tests/fixtures/r/model.R``): the same GEE on the expanded
    indicators, ``geepack::geeglm(ind ~ 0 + factor(threshold) + wave * group, family =
    binomial, id = cluster, corstr = "independence")``; for ``"linear-gee"``
    ``geepack::geeglm(score ~ wave * group, id = cluster, corstr = "independence")``.

    References
    ----------
    Lipsitz, S. R., Kim, K. & Zhao, L. (1994). Analysis of repeated categorical data using
    generalized estimating equations. *Statistics in Medicine* 13, 1149-1163.
    Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using generalized linear
    models. *Biometrika* 73, 13-22.

    Examples
    --------
    >>> import sys; sys.path.insert(0, "tests")
    >>> from _compare_data import make_study
    >>> from crisis_survey.compare import change_by_group_model
    >>> res = change_by_group_model(make_study(1), "overall_rating")
    >>> res.working_correlation, list(res.wave_effects["term"])
    ('independence', ['Service user', 'Carer'])
    >>> bool(res.interaction["se"] > 0)
    True
    """
    import statsmodels.api as sm
    from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE

    if method not in ("ordinal-gee", "linear-gee"):
        raise CrisisSurveyError(f"method must be 'ordinal-gee' or 'linear-gee'; got {method!r}")
    if cov_struct not in ("independence", "exchangeable"):
        raise CrisisSurveyError(
            f"cov_struct must be 'independence' or 'exchangeable'; got {cov_struct!r}"
        )
    if not 0 < confidence < 1:
        raise CrisisSurveyError(f"confidence must be between 0 and 1; got {confidence!r}")
    data = long_data(study, item)
    if method == "ordinal-gee" and not study.codebook[item].levels:
        raise CrisisSurveyError(f"{item!r} is numeric; use method='linear-gee'")
    cells = data.groupby(["wave", "group"]).size()
    if len(cells) < 4 or int(cells.min()) < 2:
        raise CrisisSurveyError(
            f"the model needs answers from both groups in both waves; got counts "
            f"{cells.to_dict()} by (wave, group)"
        )
    wave = data["wave"].to_numpy(dtype=np.float64)
    group = data["group"].to_numpy(dtype=np.float64)
    exog = np.column_stack([wave, group, wave * group])
    clusters = pd.factorize(data["cluster"])[0]
    cs = sm.cov_struct.Independence() if cov_struct == "independence" else (
        sm.cov_struct.Exchangeable()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ordinal-gee":
            y = data["y"].to_numpy(dtype=np.float64)
            if np.unique(y).size < 2:
                raise CrisisSurveyError(f"every answer to {item!r} is the same level")
            model = OrdinalGEE(y, exog, groups=clusters, cov_struct=cs)
            scale = "log cumulative odds ratio (higher answer)"
        else:
            model = sm.GEE(data["score"].to_numpy(dtype=np.float64), sm.add_constant(exog),
                           groups=clusters, family=sm.families.Gaussian(), cov_struct=cs)
            scale = "difference in mean code"
        try:
            fit = model.fit(maxiter=200, ctol=1e-10)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise CrisisSurveyError(f"the model for {item!r} could not be fitted: {exc}") from exc
    params = np.asarray(fit.params, dtype=np.float64)
    cov = np.asarray(fit.cov_robust, dtype=np.float64)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        raise CrisisSurveyError(f"the model for {item!r} did not converge to finite estimates")
    n_extra = params.size - 3
    names = (
        [f"threshold {j + 1}" for j in range(n_extra)] if method == "ordinal-gee"
        else ["intercept"]
    ) + ["wave", "group", "wave:group"]
    q = float(sps.norm.ppf(1 - (1 - confidence) / 2))
    se = np.sqrt(np.diag(cov))
    terms = pd.DataFrame([_row(n, float(b), float(s), q)
                          for n, b, s in zip(names, params, se, strict=True)])
    labels = list(study.codebook.group.labels)
    i_w, i_x = n_extra, n_extra + 2
    c = np.zeros(params.size)
    c[[i_w, i_x]] = 1.0
    est2 = float(c @ params)
    se2 = float(math.sqrt(c @ cov @ c))
    wave_effects = pd.DataFrame([
        _row(labels[0], float(params[i_w]), float(se[i_w]), q),
        _row(labels[1], est2, se2, q),
    ])
    details: dict[str, float] = {}
    if cov_struct == "exchangeable":
        details["exchangeable_correlation"] = float(model.cov_struct.dep_params)
    n_linked = int(data["cluster"].str.startswith("L:").groupby(data["cluster"]).first().sum())
    return ModelResult(
        item=item, method=method, working_correlation=cov_struct, effect_scale=scale,
        reference_group=labels[0], other_group=labels[1], terms=terms,
        wave_effects=wave_effects, n_observations=len(data),
        n_clusters=int(data["cluster"].nunique()), n_linked=n_linked,
        confidence=float(confidence), details=details,
    )
