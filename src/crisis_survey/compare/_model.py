"""One model for "did change between waves differ between the groups?" (private).

See :func:`change_by_group_model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from .._errors import CrisisSurveyError
from ..codebook import Field
from ..stats._registry import EFFECTS
from ._study import ItemCounts, Layout, StudyLike, count_items, item_values, make_layout

__all__ = ["ModelResult", "Patterns", "change_by_group_model", "fit_patterns", "models_by_item"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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

    @property
    def effects(self) -> pd.DataFrame:
        """The effects as published, one row per group and one for the difference, labelled
        by what they mean: ``term`` (a group, or ``"difference"``), ``meaning``,
        ``effect_measure`` (a key of :data:`crisis_survey.stats.EFFECTS`), ``estimate``,
        ``ci_low``, ``ci_high``, ``p_value``.

        The ordinal model's are odds ratios: ``exp`` of the log cumulative odds ratio and
        of its Wald interval (robust SE), the odds of a higher answer in wave 2 vs wave 1
        within a group (above 1: higher in wave 2), and for the difference the ratio of the
        two groups' odds ratios (other group / reference group; above 1: the answers rose
        more, or fell less, in the other group). The linear model's are differences in mean
        code on the same rows.

        Examples
        --------
        >>> from crisis_survey import change_by_group_model, load_sample_study
        >>> model = change_by_group_model(load_sample_study(), "overall_rating")
        >>> model.effects[["term", "effect_measure", "estimate"]].round(2)
                   term                   effect_measure  estimate
        0  Service user            cumulative odds ratio      1.63
        1         Carer            cumulative odds ratio      1.01
        2    difference  ratio of cumulative odds ratios      0.62
        """
        ratio = self.method == "ordinal-gee"
        within = "cumulative odds ratio" if ratio else "mean code difference"
        between = "ratio of cumulative odds ratios" if ratio else "difference in mean code change"
        rows = []
        for _, r in self.wave_effects.iterrows():
            rows.append((str(r["term"]), f"{EFFECTS[within].label} ({r['term']})", within, r))
        rows.append(("difference", f"difference in change between groups ({self.other_group} "
                     f"vs {self.reference_group})", between, self.interaction))
        out = []
        for term, meaning, measure, r in rows:
            est, low, high = (float(r[k]) for k in ("estimate", "ci_low", "ci_high"))
            if ratio:
                est, low, high = math.exp(est), math.exp(low), math.exp(high)
            out.append({"term": term, "meaning": meaning, "effect_measure": measure,
                        "estimate": est, "ci_low": low, "ci_high": high,
                        "p_value": float(r["p_value"])})
        return pd.DataFrame(out)

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
        e = self.effects
        d = e.iloc[-1]
        return (
            f"{self.method} for {self.item!r} ({self.effect_scale}; working correlation "
            f"{self.working_correlation}; {self.n_observations} answers from "
            f"{self.n_clusters} respondents, {self.n_linked} linked)\n"
            f"{d['meaning']}: {d['effect_measure']} {d['estimate']:.4f} "
            f"({self.confidence:.0%} CI {d['ci_low']:.4f} to {d['ci_high']:.4f}; "
            f"z = {i['z']:.3f}, p = {i['p_value']:.4g})\n"
            + e[["term", "effect_measure", "estimate", "ci_low", "ci_high", "p_value"]]
            .to_string(index=False)
        )

    def __repr__(self) -> str:
        return (f"<ModelResult {self.method} for {self.item!r}: {self.n_observations} answers "
                f"from {self.n_clusters} respondents>")

    def _repr_html_(self) -> str:
        head = "<br>".join(escape(line) for line in str(self).splitlines()[:2])
        cols = ["term", "estimate", "se", "z", "p_value", "ci_low", "ci_high"]
        return (f"<p>{head}</p><p>Wave 2 versus wave 1 within each group, and the difference "
                "in change between the groups:</p>"
                + self.effects.to_html(index=False)
                + "<p>Every coefficient (log scale):</p>"
                + self.terms[cols].to_html(index=False))


@dataclass(frozen=True)
class Patterns:
    """Respondents (clusters) by answer pattern: everything the model reads (private).

    Row ``p`` stands for ``weight[p]`` respondents of group ``group[p]`` (0 or 1) whose answer
    in wave ``t`` is ``y[p, t]`` (NaN: no answer in that wave). For an ordinal item ``y`` is
    the level position ``0..k-1``; for the linear model the code (or the numeric value).
    """

    group: IntArray
    y: FloatArray
    weight: FloatArray
    #: sampling weight of each pattern's answer in each wave ``(P, 2)`` (None: 1), e.g. the
    #: attrition weight of a returner's wave-2 answer; ``weight`` stays the count
    wave_weight: FloatArray | None = None

    def answers(self) -> FloatArray:
        """Answers per ``(wave, group)``: a 2 x 2 array."""
        out = np.zeros((2, 2))
        for t in (0, 1):
            has = ~np.isnan(self.y[:, t])
            np.add.at(out[t], self.group[has], self.weight[has])
        return out


@dataclass(frozen=True)
class _Fit:
    params: FloatArray
    cov: FloatArray  # robust (sandwich)
    alpha: float  # exchangeable working correlation (0 for independence)
    iterations: int


def _from_counts(counts: ItemCounts, order: list[int], values: FloatArray) -> Patterns:
    """Patterns of a categorical item from its counts: ``table`` (complete pairs by wave-1 and
    wave-2 level) and ``alone`` (one answer: unlinked, or linked with the other missing);
    ``values[j]`` is what level ``j`` stands for."""
    k = len(values)
    g = np.array(order, dtype=np.int64)  # layout cell -> model group
    n_cells = len(order)
    both = counts.table.reshape(n_cells, k * k)
    i1, i2 = np.divmod(np.arange(k * k), k)
    groups = [np.repeat(g, k * k), np.repeat(g, k), np.repeat(g, k)]
    y = [np.column_stack([np.tile(values[i1], n_cells), np.tile(values[i2], n_cells)])]
    nan = np.full(n_cells * k, np.nan)
    lev = np.tile(values, n_cells)
    y.append(np.column_stack([lev, nan]))
    y.append(np.column_stack([nan, lev]))
    w = [both.ravel(), counts.alone[0].ravel(), counts.alone[1].ravel()]
    weight = np.concatenate(w).astype(np.float64)
    keep = weight > 0
    return Patterns(np.concatenate(groups)[keep], np.concatenate(y)[keep], weight[keep])


def _from_moments(counts: ItemCounts, order: list[int]) -> Patterns:
    """Pseudo-patterns of a numeric item with the same first and second moments per group and
    wave as the answers (all the Gaussian GEE reads): a single answer's ``n, mean, ssd`` as
    ``mean +- sd`` with weight ``n/2`` each; a complete pair's means and covariance matrix
    ``S = sum_j l_j l_j'`` (eigen-decomposition) as ``mean +- sqrt(2) l_j`` with weight
    ``n/4`` each."""
    groups: list[int] = []
    ys: list[tuple[float, float]] = []
    weights: list[float] = []
    for cell, g in enumerate(order):  # a few rows per group: plain loops over cells
        n, mx, my, sx, sy, sxy = (float(v) for v in counts.table[cell])
        if n > 0:
            vals, vecs = np.linalg.eigh(np.array([[sx, sxy], [sxy, sy]]) / n)
            for lam, vec in zip(vals, vecs.T, strict=True):
                step = math.sqrt(2.0 * max(float(lam), 0.0)) * vec
                for sign in (1.0, -1.0):
                    groups.append(g)
                    ys.append((mx + sign * float(step[0]), my + sign * float(step[1])))
                    weights.append(n / 4)
        for t in (0, 1):
            n, mean, ssd = (float(v) for v in counts.alone[t][cell])
            if n > 0:
                sd = math.sqrt(max(ssd, 0.0) / n)
                for sign in (1.0, -1.0):
                    groups.append(g)
                    pair = [math.nan, math.nan]
                    pair[t] = mean + sign * sd
                    ys.append((pair[0], pair[1]))
                    weights.append(n / 2)
    return Patterns(np.array(groups, dtype=np.int64), np.array(ys, dtype=np.float64).reshape(-1, 2),
                    np.array(weights, dtype=np.float64))


def _design(pat: Patterns, cuts: FloatArray | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each pattern's observations as statsmodels lays them out: ``X`` ``(P, m, q)``, the
    responses ``(P, m)`` and a presence mask ``(P, m)``.

    Ordinal (``cuts`` given): every answer becomes one indicator ``I(y > c_j)`` per cut ``c_j``
    with its own intercept (OrdinalGEE's coding), so ``m = 2 (K - 1)`` and the columns are
    ``K - 1`` threshold dummies then wave, group, wave x group. Linear: one observation per
    answer, columns intercept, wave, group, wave x group.
    """
    n_pat = len(pat.group)
    g = pat.group.astype(np.float64)
    n_cut = 1 if cuts is None else len(cuts)
    lead = n_cut
    q = lead + 3
    x = np.zeros((n_pat, 2, n_cut, q))
    resp = np.zeros((n_pat, 2, n_cut))
    mask = np.zeros((n_pat, 2, n_cut))
    for t in (0, 1):
        has = ~np.isnan(pat.y[:, t])
        if cuts is None:
            x[:, t, 0, 0] = 1.0
            resp[:, t, 0] = np.where(has, pat.y[:, t], 0.0)
        else:
            x[:, t, np.arange(n_cut), np.arange(n_cut)] = 1.0
            resp[:, t, :] = np.where(has[:, None], pat.y[:, t, None] > cuts[None, :], 0.0)
        x[:, t, :, lead] = t
        x[:, t, :, lead + 1] = g[:, None]
        x[:, t, :, lead + 2] = t * g[:, None]
        x[:, t] *= has[:, None, None]
        mask[:, t, :] = has[:, None]
    m = 2 * n_cut
    return x.reshape(n_pat, m, q), resp.reshape(n_pat, m), mask.reshape(n_pat, m)


def fit_patterns(
    pat: Patterns, *, ordinal: bool, exchangeable: bool, alpha: float | None = None,
    alpha_ddof: int | None = None, max_iter: int = 100,
) -> _Fit:
    r"""The GEE of ``change_by_group_model`` from pattern counts (private; see the docs'
    methods page). Fisher scoring with the exchangeable correlation re-estimated after every
    step, as statsmodels' ``GEE.fit`` does; ``alpha`` fixes it instead (for tests).

    The correlation's moment estimator subtracts ``alpha_ddof`` from the number of
    observations (scale) and of within-cluster pairs: ``None`` is statsmodels' convention
    (the number of coefficients), ``0`` geepack's."""
    cuts: FloatArray | None = None
    if ordinal:
        seen = np.unique(pat.y[~np.isnan(pat.y)])
        cuts = seen[:-1]
    x, resp, mask = _design(pat, cuts)
    w = pat.weight
    q = x.shape[2]
    # observation weights (P, m): a pattern's answer in wave t has its wave's sampling weight
    omega = (np.ones(mask.shape) if pat.wave_weight is None
             else np.repeat(pat.wave_weight, mask.shape[1] // 2, axis=1))
    if pat.wave_weight is not None and (exchangeable or alpha not in (None, 0.0)):
        raise CrisisSurveyError("with sampling weights the model uses the independence "
                                "working correlation only")
    size = mask.sum(axis=1)
    n_obs = float(w @ size)
    n_pairs = float(w @ (size * (size - 1) / 2))
    beta = np.zeros(q)
    if cuts is not None:  # thresholds: logits of the marginal P(y > c_j)
        ind = (resp * mask * omega * w[:, None]).reshape(len(w), 2, -1).sum(axis=(0, 1))
        tot = (mask * omega * w[:, None]).reshape(len(w), 2, -1).sum(axis=(0, 1))
        beta[: len(cuts)] = special.logit(np.clip(ind / tot, 1e-6, 1 - 1e-6))
    else:
        beta[0] = float((resp * mask * omega * w[:, None]).sum()
                        / (mask * omega * w[:, None]).sum())

    def pieces(b: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``A = V^{-1/2} D`` (rows ``(P, m, q)``) and the Pearson residuals ``(P, m)``."""
        eta = x @ b
        if ordinal:
            mu = special.expit(eta)
            sd = np.sqrt(mu * (1.0 - mu))
            a_mat = x * sd[..., None]  # D = mu (1 - mu) X; A = D / sd
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(mask > 0, (resp - mu) / sd, 0.0)
        else:
            a_mat, r = x, (resp - eta) * mask
        return a_mat, r

    ddof = q if alpha_ddof is None else alpha_ddof

    def update_alpha(r: FloatArray) -> float:
        ssr = (r * r).sum(axis=1)
        scale = float(w @ ssr) / (n_obs - ddof)
        cross = float(w @ ((r.sum(axis=1) ** 2 - ssr) / 2)) / scale
        return float(cross / (n_pairs - ddof))

    def sums(got: tuple[FloatArray, FloatArray],
             a: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Bread ``sum D' V^{-1} D``, score ``sum D' V^{-1} (y - mu)`` and meat
        ``sum s_i s_i'`` with ``R^{-1} = (I - c 1 1') / (1 - a)``, from :func:`pieces`."""
        a_mat, r = got
        c = a / (1.0 - a) / (1.0 + a * (size - 1.0))
        s_a = a_mat.sum(axis=1)
        flat = a_mat.reshape(-1, q)
        # (with sampling weights a = c = 0: each answer's term times its weight)
        bread = ((flat * (np.repeat(w, a_mat.shape[1]) * omega.ravel())[:, None]).T @ flat
                 / (1.0 - a) - (s_a * (w * c)[:, None]).T @ s_a)
        each = ((a_mat * (omega * r)[..., None]).sum(axis=1) / (1.0 - a)
                - (c * r.sum(axis=1))[:, None] * s_a)
        return bread, w @ each, (each * w[:, None]).T @ each

    a = 0.0 if alpha is None else float(alpha)
    got = pieces(beta)
    for it in range(1, max_iter + 1):
        bread, score, _ = sums(got, a)
        try:
            step = np.linalg.solve(bread, score)
        except np.linalg.LinAlgError:
            step = np.linalg.pinv(bread) @ score
        beta = beta + step
        got = pieces(beta)
        new_a = update_alpha(got[1]) if exchangeable and alpha is None else a
        moved = abs(new_a - a)
        a = new_a
        if not (np.all(np.isfinite(beta)) and math.isfinite(a)):
            break
        if float(np.max(np.abs(step))) < 1e-11 * (1.0 + float(np.max(np.abs(beta)))) \
                and moved < 1e-13:
            bread, _, meat = sums(got, a)
            try:
                inv = np.linalg.inv(bread)
            except np.linalg.LinAlgError:
                inv = np.linalg.pinv(bread)
            return _Fit(beta, inv @ meat @ inv, a, it)
    raise CrisisSurveyError("did not converge to finite estimates")


def _row(term: str, est: float, se: float, q: float, ratio: bool) -> dict[str, Any]:
    z = est / se if se > 0 else math.nan
    lo, hi = est - q * se, est + q * se
    return {"term": term, "estimate": est, "se": se, "z": z,
            "p_value": float(2.0 * special.ndtr(-abs(z))) if se > 0 else math.nan,
            "ci_low": lo, "ci_high": hi,
            "odds_ratio": math.exp(est) if ratio else math.nan,
            "or_ci_low": math.exp(lo) if ratio else math.nan,
            "or_ci_high": math.exp(hi) if ratio else math.nan}


def _item_field(study: StudyLike, item: str) -> Field:
    cb = study.codebook
    if item not in cb or cb[item].role != "item":
        raise CrisisSurveyError(f"{item!r} is not a survey item of the codebook")
    f = cb[item].oriented()  # a binary item's reported level second
    if f.measurement not in ("ordinal", "binary", "numeric"):
        raise CrisisSurveyError(
            f"{item!r} is a {f.measurement} item; the change-by-group model needs an ordinal, "
            "binary or numeric item"
        )
    if not (1 in f.waves and 2 in f.waves):
        raise CrisisSurveyError(f"{item!r} was not asked in both waves")
    return f


def _group_order(study: StudyLike, layout: Layout) -> tuple[list[int], list[str]]:
    """Model group (0, 1) of each layout cell, in codebook order, and the two labels."""
    cb = study.codebook
    if len(layout.cells) != 2:
        raise CrisisSurveyError(
            f"the change-by-group model needs exactly two respondent groups; found "
            f"{list(layout.cells)}"
        )
    known = list(cb.group.labels) if cb.group.levels else list(layout.cells)
    labels = sorted(layout.cells, key=known.index)
    return [labels.index(c) for c in layout.cells], labels


def _n_linked(layout: Layout, f: Field) -> int:
    """Linked respondents with a group who answered in at least one wave."""
    answered = []
    for i, w in enumerate(layout.waves):
        v, _ = item_values(w, f)
        v = v[layout.pair_pos[i]]
        answered.append(v >= 0 if f.levels else ~np.isnan(v))
    return int(((layout.by_pair >= 0) & (answered[0] | answered[1])).sum())


def _patterns_of(layout: Layout, order: list[int], f: Field, counts: ItemCounts,
                 scores: bool) -> tuple[Patterns, int]:
    if f.levels:
        values = (np.asarray(f.scores, dtype=np.float64) if scores
                  else np.arange(len(f.levels), dtype=np.float64))
        pat = _from_counts(counts, order, values)
    else:
        pat = _from_moments(counts, order)
    return pat, _n_linked(layout, f)


def item_patterns(study: StudyLike, item: str, *,
                  scores: bool) -> tuple[Patterns, int, list[str]]:
    """The pattern counts of ``item`` (``scores``: answers as codebook codes, for the linear
    model; else level positions), the number of linked respondents among them and the two
    group labels (model groups 0 and 1) (private)."""
    f = _item_field(study, item)
    layout = make_layout(study, (study.codebook.group.name,))
    order, labels = _group_order(study, layout)
    pat, n_linked = _patterns_of(layout, order, f, count_items(layout, [f])[0], scores)
    return pat, n_linked, labels


def weighted_item_patterns(study: Any, weights: Any, item: str
                           ) -> tuple[Patterns, int, list[str]]:
    """Patterns of an ordinal or binary item with attrition weights (private): one pattern
    per respondent of the two groups, its answers as level scores; a returner's wave-2
    answer weighted by the returner's attrition weight, every other answer by 1 (the
    weighted overlapping design of :func:`~crisis_survey.compare.weighted_estimates`)."""
    from ._weights import _scores

    f = _item_field(study, item)
    cb = study.codebook
    layout = make_layout(study, (cb.group.name,))
    order, labels = _group_order(study, layout)
    model_group = {str(c): order[i] for i, c in enumerate(layout.cells)}
    pairs = study.pairs
    gp = pairs[("", "group")].astype("string")
    w_pairs = weights.weights.reindex(pairs.index).to_numpy(dtype=np.float64)
    parts: list[tuple[FloatArray, ...]] = []
    for label, g in model_group.items():
        sel = (gp == label).to_numpy(dtype=bool, na_value=False)
        x, y = _scores(pairs[(1, f.name)], f)[sel], _scores(pairs[(2, f.name)], f)[sel]
        parts.append((np.full(x.size, float(g)), x, y, np.ones(x.size), w_pairs[sel],
                      np.ones(x.size)))
        for wave in (1, 2):
            un = study.unpaired(wave)
            if f.name not in un.columns:
                continue
            mine = (un[cb.group.name].astype("string") == label).to_numpy(
                dtype=bool, na_value=False)
            v = _scores(un[f.name], f)[mine]
            nan = np.full(v.size, np.nan)
            parts.append((np.full(v.size, float(g)), v if wave == 1 else nan,
                          nan if wave == 1 else v, np.ones(v.size), np.ones(v.size),
                          np.zeros(v.size)))
    group, y1, y2, w1, w2, linked = (np.concatenate(c) for c in zip(*parts, strict=True))
    keep = ~(np.isnan(y1) & np.isnan(y2))
    if np.any(~np.isfinite(w2[keep & ~np.isnan(y2)])):
        raise CrisisSurveyError(f"a returner answering {item!r} has no attrition weight")
    w2 = np.where(np.isnan(y2), 1.0, w2)
    n_linked = int((keep & (linked > 0)).sum())
    pat = Patterns(group[keep].astype(np.int64), np.column_stack([y1, y2])[keep],
                   np.ones(int(keep.sum())), np.column_stack([w1, w2])[keep])
    return pat, n_linked, labels


def _check_options(method: str, cov_struct: str, confidence: float) -> None:
    if method not in ("ordinal-gee", "linear-gee"):
        raise CrisisSurveyError(f"method must be 'ordinal-gee' or 'linear-gee'; got {method!r}")
    if cov_struct not in ("independence", "exchangeable"):
        raise CrisisSurveyError(
            f"cov_struct must be 'independence' or 'exchangeable'; got {cov_struct!r}"
        )
    if not 0 < confidence < 1:
        raise CrisisSurveyError(f"confidence must be between 0 and 1; got {confidence!r}")


def _modelled_field(study: StudyLike, item: str, method: str) -> Field:
    f = _item_field(study, item)
    if method == "ordinal-gee" and not f.levels:
        raise CrisisSurveyError(f"{item!r} is numeric; use method='linear-gee'")
    return f


def models_by_item(
    study: StudyLike, items: list[str], *, method: Method = "ordinal-gee",
    cov_struct: CovStruct = "independence", confidence: float = 0.95,
) -> list[ModelResult | CrisisSurveyError]:
    """:func:`change_by_group_model` for several items, the study's layout built and the items
    counted once (private; the report fits every ordinal item). Each entry is the item's result
    or the error that call would have raised."""
    _check_options(method, cov_struct, confidence)
    out: dict[str, ModelResult | CrisisSurveyError] = {}
    fields: list[Field] = []
    for item in items:
        try:
            fields.append(_modelled_field(study, item, method))
        except CrisisSurveyError as exc:
            out[item] = exc
    if fields:
        try:
            layout = make_layout(study, (study.codebook.group.name,))
            order, labels = _group_order(study, layout)
        except CrisisSurveyError as exc:
            return [out.get(item, exc) for item in items]
        for f, counts in zip(fields, count_items(layout, fields), strict=True):
            pat, n_linked = _patterns_of(layout, order, f, counts, method != "ordinal-gee")
            try:
                out[f.name] = _model(f.name, pat, n_linked, labels, method, cov_struct,
                                     confidence)
            except CrisisSurveyError as exc:
                out[f.name] = exc
    return [out[item] for item in items]


def change_by_group_model(
    study: StudyLike,
    item: str,
    *,
    method: Method = "ordinal-gee",
    cov_struct: CovStruct = "independence",
    confidence: float = 0.95,
    weights: Any = None,
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
        ``"ordinal-gee"`` (default): cumulative-logit GEE (the estimator of statsmodels'
        ``OrdinalGEE``); coefficients are log cumulative odds ratios of a *higher* answer. A
        binary item is the special case with one threshold (logistic GEE). ``"linear-gee"``:
        Gaussian GEE on the codebook codes, a sensitivity analysis that treats codes as
        interval scores; coefficients are differences in mean code.
    cov_struct : {"independence", "exchangeable"}
        GEE working correlation. Independence (default) gives the estimates of the
        corresponding independence model with cluster-robust (sandwich) SEs; they remain valid
        whatever the true within-respondent correlation.
    confidence : float
        Level of the normal-theory intervals.
    weights : AttritionWeights, optional
        Attrition weights (:func:`~crisis_survey.compare.attrition_weights`): a returner's
        wave-2 answer counts with the returner's weight, every other answer with 1 (the
        weighted overlapping design), so the returners stand for their group's whole wave-1
        sample. Ordinal and binary items, independence working correlation only; the
        sandwich then sums each respondent's weighted score (design-based variance with
        respondents as primary sampling units, no finite-population or ``n/(n-1)``
        factor), as ``geepack::geeglm(..., weights = w, corstr = "independence")``.

    Returns
    -------
    ModelResult
        The coefficients (``wave``, ``group``, ``wave:group``; thresholds or intercept too),
        the per-group wave effects and the counts; for ``"ordinal-gee"`` also the odds ratios
        ``exp(estimate)`` with their intervals (columns ``odds_ratio``, ``or_ci_low``,
        ``or_ci_high``; NaN for ``"linear-gee"``). :attr:`ModelResult.effects` gives the
        effects as published, labelled by what they mean: per group the odds of a higher
        answer in wave 2 vs wave 1, and the difference in change between the groups as the
        ratio of their odds ratios, each with its interval.

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

    each answer expanded into :math:`K-1` binary indicators (one per threshold between the
    observed levels) and the binomial GEE solved for them with clusters = respondents, as
    statsmodels' ``OrdinalGEE`` does. Every term of the estimating equations, of the sandwich
    and of the exchangeable correlation's moment estimator depends on a respondent only
    through their pattern (group, wave-1 answer, wave-2 answer; either may be missing), so
    the model is fitted from the pattern counts by Fisher scoring (at most
    :math:`2 (K+1)^2` patterns whatever the number of respondents); the formulas are on the
    methods page "The change-by-group model", and ``tests/test_model.py`` checks the fit
    against statsmodels and R's geepack. :math:`\beta_3` (``wave:group``) is the difference
    between the groups' log cumulative odds ratios of a higher answer in wave 2 than in wave
    1; the wave effect in the second group is :math:`\beta_1 + \beta_3` with SE
    :math:`\sqrt{c^\top V c}`, :math:`c = (0,..,1,0,1)`. SEs are the robust sandwich
    :math:`V = B^{-1} M B^{-1}` (no small-sample correction, as geepack). Effects are wave 2
    versus wave 1. The global odds ratio working structure was tried and fails on sparse data
    (infinite log odds ratios from empty pooled cells), so it is not offered.

    Equivalent R (validated in ``tests/fixtures/r/model.R``): the same GEE on the expanded
    indicators, ``geepack::geeglm(ind ~ 0 + factor(threshold) + wave * group, family =
    binomial, id = cluster, corstr = "independence")``; for ``"linear-gee"``
    ``geepack::geeglm(score ~ wave * group, id = cluster, corstr = "independence")``. With
    ``corstr = "exchangeable"`` geepack estimates the correlation with a different moment
    formula; the library follows statsmodels' (see the methods page).

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
    _check_options(method, cov_struct, confidence)
    _modelled_field(study, item, method)
    if weights is not None:
        if method != "ordinal-gee" or cov_struct != "independence":
            raise CrisisSurveyError("the weighted change-by-group model is the ordinal GEE "
                                    "with the independence working correlation; got "
                                    f"method={method!r}, cov_struct={cov_struct!r}")
        pat, n_linked, labels = weighted_item_patterns(study, weights, item)
        return _model(item, pat, n_linked, labels, method, cov_struct, confidence)
    pat, n_linked, labels = item_patterns(study, item, scores=method != "ordinal-gee")
    return _model(item, pat, n_linked, labels, method, cov_struct, confidence)


def _model(item: str, pat: Patterns, n_linked: int, labels: list[str], method: str,
           cov_struct: str, confidence: float) -> ModelResult:
    """Fit the patterns and assemble the result (see :func:`change_by_group_model`)."""
    ordinal = method == "ordinal-gee"
    per_cell = pat.answers()
    if int(per_cell.min()) < 2:
        found = {(t, g): int(per_cell[t, g]) for t in (0, 1) for g in (0, 1)}
        raise CrisisSurveyError(
            f"the model needs answers from both groups in both waves; got counts {found} by "
            "(wave, group)"
        )
    if ordinal and np.unique(pat.y[~np.isnan(pat.y)]).size < 2:
        raise CrisisSurveyError(f"every answer to {item!r} is the same level")
    try:
        fit = fit_patterns(pat, ordinal=ordinal, exchangeable=cov_struct == "exchangeable")
    except CrisisSurveyError as exc:
        raise CrisisSurveyError(f"the model for {item!r} {exc}") from exc
    params, cov = fit.params, fit.cov
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        raise CrisisSurveyError(f"the model for {item!r} did not converge to finite estimates")
    n_extra = params.size - 3
    names = (
        [f"threshold {j + 1}" for j in range(n_extra)] if ordinal else ["intercept"]
    ) + ["wave", "group", "wave:group"]
    q = float(special.ndtri(1 - (1 - confidence) / 2))
    se = np.sqrt(np.diag(cov))
    terms = pd.DataFrame([_row(n, float(b), float(s), q, ordinal)
                          for n, b, s in zip(names, params, se, strict=True)])
    i_w, i_x = n_extra, n_extra + 2
    c = np.zeros(params.size)
    c[[i_w, i_x]] = 1.0
    est2 = float(c @ params)
    se2 = float(math.sqrt(c @ cov @ c))
    wave_effects = pd.DataFrame([
        _row(labels[0], float(params[i_w]), float(se[i_w]), q, ordinal),
        _row(labels[1], est2, se2, q, ordinal),
    ])
    details: dict[str, float] = {"iterations": float(fit.iterations)}
    if cov_struct == "exchangeable":
        details["exchangeable_correlation"] = fit.alpha
    return ModelResult(
        item=item, method=method, working_correlation=cov_struct,
        effect_scale=("log cumulative odds ratio (higher answer)" if ordinal
                      else "difference in mean code"),
        reference_group=labels[0], other_group=labels[1], terms=terms,
        wave_effects=wave_effects, n_observations=round(float(per_cell.sum())),
        n_clusters=round(float(pat.weight.sum())), n_linked=n_linked,
        confidence=float(confidence), details=details,
    )
