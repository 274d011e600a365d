"""Attrition: were the wave-1 respondents who came back like those who did not? (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import CrisisSurveyError
from ..codebook import Field
from ._report import LINKED, only
from ._study import LinkedStudy

__all__ = ["ATTRITION_COLUMNS", "attrition_table", "standardized_difference"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Columns of :func:`attrition_table`'s result, in order.
ATTRITION_COLUMNS: tuple[str, ...] = (
    "group", "variable", "label", "role", "measurement",
    "n_returned", "n_not_returned",
    "summary_measure", "summary_returned", "summary_not_returned",
    "median_returned", "median_not_returned", "pct_returned", "pct_not_returned",
    "test", "statistic_name", "statistic", "df", "p_value",
    "effect_measure", "effect_size", "std_diff", "std_diff_measure", "note",
)

_TESTED = ("ordinal", "binary", "nominal")
_SMD_NAMES = {
    "ordinal": "standardized difference of mean level scores",
    "binary": "standardized difference of proportions",
    "nominal": "multivariate standardized difference (Yang-Dalton)",
}


def standardized_difference(
    x: Sequence[int] | npt.NDArray[Any], y: Sequence[int] | npt.NDArray[Any], k: int,
    measurement: Literal["ordinal", "binary", "nominal"],
) -> float:
    r"""Standardized difference between two samples of level positions ``0..k-1``.

    Parameters
    ----------
    x, y
        Level positions (0 = first level) of the two groups; negative values are missing.
    k
        Number of levels.
    measurement
        ``"ordinal"``: difference of mean level scores over the pooled standard deviation;
        ``"binary"``: difference of the proportions in the last level; ``"nominal"``: the
        multivariate (Mahalanobis) standardized difference of the level proportions.

    Returns
    -------
    float
        ``x`` minus ``y`` (ordinal, binary; signed) or the distance (nominal; >= 0). NaN
        when a group has no answer or the pooled variance is zero.

    Notes
    -----
    Ordinal (scores 1..k): :math:`d = (\bar x - \bar y) / \sqrt{(s_x^2 + s_y^2)/2}` with
    sample variances (denominator :math:`n - 1`). Binary, with :math:`p` the proportion in
    the last level: :math:`d = (p_x - p_y) / \sqrt{(p_x(1-p_x) + p_y(1-p_y))/2}`. Nominal
    (Yang & Dalton 2012): with :math:`T = \hat p_x - \hat p_y` the differences of the
    proportions of every level but the first (of the levels answered in either group) and
    :math:`S = (S_x + S_y)/2`, :math:`S_g = \mathrm{diag}(\hat p_g) - \hat p_g \hat p_g^\top`,
    :math:`d = \sqrt{T^\top S^{-1} T}`; 0 when only one level was answered. Values above
    0.1 in absolute value are commonly read as a meaningful imbalance (Austin 2009).

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Statistics in
    Medicine 28, 3083-3107.
    Yang, D. & Dalton, J. E. (2012). A unified approach to measuring the effect size between
    two groups using SAS. SAS Global Forum, paper 335-2012.

    Equivalent R (see ``tests/fixtures/r/attrition.R``)::

        (mean(x) - mean(y)) / sqrt((var(x) + var(y)) / 2)                     # ordinal
        T <- px[-1] - py[-1]; S <- (cov_x + cov_y) / 2; sqrt(t(T) %*% solve(S) %*% T)

    Examples
    --------
    >>> round(standardized_difference([0, 1, 2, 2], [0, 0, 1, 2], 3, "ordinal"), 4)
    0.5222
    >>> round(standardized_difference([1, 1, 0, 1], [0, 0, 1, 0], 2, "binary"), 4)
    1.1547
    """
    a = np.asarray(x, dtype=np.int64)
    b = np.asarray(y, dtype=np.int64)
    a, b = a[a >= 0], b[b >= 0]
    if a.size == 0 or b.size == 0:
        return math.nan
    if measurement == "ordinal":
        if a.size < 2 or b.size < 2:
            return math.nan
        pooled = (np.var(a, ddof=1) + np.var(b, ddof=1)) / 2.0
        return float((a.mean() - b.mean()) / math.sqrt(pooled)) if pooled > 0 else math.nan
    pa_ = np.bincount(a, minlength=k)[:k] / a.size
    pb = np.bincount(b, minlength=k)[:k] / b.size
    if measurement == "binary":
        p1, p2 = pa_[k - 1], pb[k - 1]
        pooled = (p1 * (1 - p1) + p2 * (1 - p2)) / 2.0
        return float((p1 - p2) / math.sqrt(pooled)) if pooled > 0 else math.nan
    answered = (pa_ + pb) > 0
    pa_, pb = pa_[answered][1:], pb[answered][1:]
    if pa_.size == 0:
        return 0.0
    t = pa_ - pb
    s = (np.diag(pa_) - np.outer(pa_, pa_) + np.diag(pb) - np.outer(pb, pb)) / 2.0
    if np.linalg.matrix_rank(s) < s.shape[0]:
        return math.nan
    return float(math.sqrt(max(float(t @ np.linalg.solve(s, t)), 0.0)))


def _median_text(median: float, labels: tuple[str, ...]) -> str:
    if math.isnan(median):
        return "NA"
    lower, upper = math.floor(median), math.ceil(median)
    if lower == upper:
        return labels[lower - 1]
    return f"{labels[lower - 1]}/{labels[upper - 1]}"


def _summaries(codes: IntArray, fld: Field) -> tuple[str, float, float, str]:
    """(summary text, median score 1..k or NaN, headline %, measure name) of answered codes."""
    k = len(fld.levels)
    n = codes.size
    counts = np.bincount(codes, minlength=k)[:k]
    pct = 100.0 * counts / n if n else np.full(k, math.nan)
    if fld.measurement == "ordinal":
        median = float(np.median(codes + 1)) if n else math.nan
        top = k - 2 if k >= 3 else k - 1
        headline = float(pct[top:].sum()) if n else math.nan
        name = "top two levels" if k >= 3 else f"'{fld.labels[-1]}'"
        text = (f"median {_median_text(median, fld.labels)}; {headline:.1f}% {name}"
                if n else "no answers")
        return text, median, headline, f"median; % {name}"
    if fld.measurement == "binary":
        headline = float(pct[k - 1]) if n else math.nan
        text = f"{headline:.1f}% {fld.labels[-1]}" if n else "no answers"
        return text, math.nan, headline, f"% {fld.labels[-1]}"
    text = "; ".join(f"{lab} {p:.1f}%" for lab, p in zip(fld.labels, pct, strict=True)) \
        if n else "no answers"
    return text, math.nan, math.nan, "% per level"


def _test(measurement: str, ret: pd.Series, nret: pd.Series) -> tuple[Any, str | None]:
    from .. import stats  # lazily: only attrition needs the tests

    # the stats functions read their second sample relative to the first; not returned
    # first, so that W, the rank-biserial r and a binary item's risk difference read the
    # returners relative to the others, as std_diff does
    try:
        if measurement == "ordinal":
            return stats.mann_whitney(nret, ret), None
        return stats.chi_square(nret, ret), None
    except CrisisSurveyError as exc:
        return None, f"no test: {exc}"


def attrition_table(
    study: LinkedStudy,
    *,
    items: Sequence[str] | None = None,
    not_returned: Literal["unlinked", "wave1_only"] = "unlinked",
) -> pd.DataFrame:
    """Compare wave-1 respondents who returned (were linked) with those who did not.

    Parameters
    ----------
    study
        The linked study (:func:`link_waves`).
    items
        Wave-1 variables to compare. Default: every demographic, then every wave-1 item that
        is ordinal, binary or nominal (numeric, text and date fields are not compared).
    not_returned
        Who counts as not returned. ``"unlinked"`` (default): every kept wave-1 respondent
        who is not in a linked pair (the comparison that tells whether the paired sample
        differs from the wave-1 sample). ``"wave1_only"``: only respondents with a usable,
        unique key that was not found in wave 2 (leaves out duplicate-key, group-conflict
        and missing-key rows, whose return is unknown).

    Returns
    -------
    pandas.DataFrame
        One row per group (``"All"``, then each respondent group in wave 1, by its wave-1
        group) and variable, columns :data:`ATTRITION_COLUMNS`: ``n_returned`` and
        ``n_not_returned`` (non-missing answers; "don't know" and other missing codes are
        left out), ``summary_returned`` / ``summary_not_returned`` in words (ordinal: the
        median level and the % in the top two levels; binary: % in the last level, e.g.
        "Yes"; nominal: % per level), the same as numbers in ``median_*`` (level score
        1..k, ordinal only) and ``pct_*`` (the headline %, ordinal and binary), the test
        (``mann_whitney`` for ordinal, ``chi_square`` for binary/nominal, both from
        :mod:`crisis_survey.stats`, read as returned relative to not returned: ``W`` is
        the U of the returners, the rank-biserial r and a binary item's risk difference are
        positive when the returners answered higher) with its effect size, and
        ``std_diff``, the standardized difference returned minus not returned
        (:func:`standardized_difference`). ``note`` says why a row has no test.

    Notes
    -----
    Respondents are assigned to groups by their wave-1 group. The tests are descriptive
    checks of balance, one per row, not adjusted for multiplicity; with hundreds of
    respondents the standardized difference (|d| > 0.1 is a common flag) is the better guide
    to whether attrition matters. Equivalent R for one row::

        wilcox.test(x[returned], x[!returned], exact = FALSE, correct = TRUE)   # ordinal
        chisq.test(table(returned, x), correct = FALSE)                        # nominal

    References
    ----------
    Austin, P. C. (2009), Statistics in Medicine 28, 3083-3107 (standardized differences).

    Examples
    --------
    >>> import pandas as pd
    >>> from crisis_survey.codebook import default_codebook
    >>> from crisis_survey.load._wave import SurveyWave
    >>> from crisis_survey.link import link_waves
    >>> cb = default_codebook()
    >>> def wave(n, keys, ratings):
    ...     data = pd.DataFrame({
    ...         "respondent_id": [f"r{i}" for i in range(len(keys))], "link_key": keys,
    ...         "group": pd.Categorical(["Carer"] * len(keys), categories=cb.group.labels),
    ...         "overall_rating": pd.Categorical(
    ...             ratings, categories=cb["overall_rating"].labels, ordered=True)},
    ...         index=range(2, len(keys) + 2))
    ...     return SurveyWave(n, cb, f"w{n}.csv", "", data, data.iloc[:, :0])
    >>> w1 = wave(1, list("abcdef"), ["Good", "Excellent", "Good", "Poor", "Fair", "Poor"])
    >>> w2 = wave(2, list("abc"), ["Good"] * 3)
    >>> t = attrition_table(link_waves(w1, w2), items=["overall_rating"])
    >>> row = t.iloc[0]
    >>> row["group"], int(row["n_returned"]), int(row["n_not_returned"])
    ('All', 3, 3)
    >>> row["summary_returned"], row["summary_not_returned"]
    ('median Good; 100.0% top two levels', 'median Poor; 0.0% top two levels')
    >>> round(float(row["std_diff"]), 4)  # R: (mean(a) - mean(b)) / sqrt((var(a) + var(b)) / 2)
    3.4641
    """
    if not isinstance(study, LinkedStudy):
        raise CrisisSurveyError(
            f"attrition_table needs a LinkedStudy (from link_waves); got {type(study).__name__}"
        )
    if not_returned not in ("unlinked", "wave1_only"):
        raise CrisisSurveyError(
            f"not_returned must be 'unlinked' or 'wave1_only'; got {not_returned!r}"
        )
    cb = study.codebook
    data = study.wave1.data
    if items is None:
        chosen = [f for f in (*cb.demographics(), *cb.items(wave=1))
                  if f.measurement in _TESTED and f.levels and f.name in data.columns]
    else:
        chosen = []
        for name in items:
            if name not in cb or name not in data.columns:
                raise CrisisSurveyError(
                    f"{name!r} is not a column of wave 1 ({study.wave1.source}); expected one "
                    f"of {', '.join(c for c in data.columns if c in cb)}"
                )
            fld = cb[name]
            if fld.measurement not in _TESTED or not fld.levels:
                raise CrisisSurveyError(
                    f"{name!r} is {fld.measurement or fld.role}; attrition is compared on "
                    "ordinal, binary and nominal variables with codebook levels"
                )
            chosen.append(fld)
    chosen = [f.oriented() for f in chosen]  # a binary item's reported level last

    status = study.link_status(1)
    returned = (status == LINKED).to_numpy()
    not_ret = ~returned if not_returned == "unlinked" else (status == only(1)).to_numpy()
    group_codes = np.asarray(
        pd.Categorical(data[cb.group.name], categories=list(study._labels)).codes
    )
    present = [lab for i, lab in enumerate(study._labels) if np.any(group_codes == i)]
    cells: list[tuple[str, npt.NDArray[np.bool_]]] = [("All", np.ones(len(data), bool))]
    cells += [(lab, group_codes == study._labels.index(lab)) for lab in present]

    records: list[dict[str, Any]] = []
    for fld in chosen:
        cat = pd.Categorical(data[fld.name], categories=list(fld.labels),
                             ordered=fld.measurement == "ordinal")
        codes = np.asarray(cat.codes, dtype=np.int64)
        for label, in_cell in cells:
            ret_codes = codes[in_cell & returned]
            not_codes = codes[in_cell & not_ret]
            ret_codes, not_codes = ret_codes[ret_codes >= 0], not_codes[not_codes >= 0]
            s_ret, med_ret, pct_ret, measure = _summaries(ret_codes, fld)
            s_not, med_not, pct_not, _ = _summaries(not_codes, fld)
            rec: dict[str, Any] = {
                "group": label, "variable": fld.name, "label": fld.label, "role": fld.role,
                "measurement": fld.measurement,
                "n_returned": int(ret_codes.size), "n_not_returned": int(not_codes.size),
                "summary_measure": measure, "summary_returned": s_ret,
                "summary_not_returned": s_not, "median_returned": med_ret,
                "median_not_returned": med_not, "pct_returned": pct_ret,
                "pct_not_returned": pct_not,
                "test": None, "statistic_name": None, "statistic": math.nan, "df": math.nan,
                "p_value": math.nan, "effect_measure": None, "effect_size": math.nan,
                "std_diff": standardized_difference(
                    ret_codes, not_codes, len(fld.levels),
                    fld.measurement),  # type: ignore[arg-type]
                "std_diff_measure": _SMD_NAMES[fld.measurement or ""],
                "note": None,
            }
            if ret_codes.size == 0 or not_codes.size == 0:
                who = "returned" if ret_codes.size == 0 else "did not return"
                rec["note"] = f"no answers among those who {who}"
            else:
                sample = pd.Categorical.from_codes
                result, note = _test(
                    fld.measurement or "",
                    pd.Series(sample(ret_codes, dtype=cat.dtype)),
                    pd.Series(sample(not_codes, dtype=cat.dtype)),
                )
                rec["note"] = note
                if result is not None:
                    rec.update({
                        "test": "mann_whitney" if fld.measurement == "ordinal" else "chi_square",
                        "statistic_name": result.statistic_name,
                        "statistic": result.statistic, "df": result.df,
                        "p_value": result.p_value, "effect_measure": result.effect_measure,
                        "effect_size": result.effect_size,
                    })
                    if math.isnan(result.p_value):
                        rec["note"] = f"test not defined: {result.method}"
            records.append(rec)
    table = pd.DataFrame.from_records(records, columns=list(ATTRITION_COLUMNS))
    for col in ("statistic", "df", "p_value", "effect_size", "std_diff", "median_returned",
                "median_not_returned", "pct_returned", "pct_not_returned"):
        table[col] = table[col].astype("float64")
    for col in ("n_returned", "n_not_returned"):
        table[col] = table[col].astype("int64")
    return table
