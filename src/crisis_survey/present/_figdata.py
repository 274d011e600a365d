"""Tidy data behind the figures (private module).

Figures draw these frames and nothing else. The counting here is description (answers per
level, pairs moving up or down), done with one ``np.bincount`` per item; no test statistic
is computed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import CrisisSurveyError
from .._memo import cached
from ._disclosure import DEFAULT_THRESHOLD
from ._tables import _codes, study_waves

__all__ = ["change_counts", "likert_counts", "transition_counts"]


#: Decimals of a published percentage: figures are drawn at this precision, never finer.
PERCENT_DIGITS = 1


def _publishable(counts: np.ndarray, threshold: int) -> bool:
    """Whether a bar may be drawn: at least ``threshold`` answers and every segment's count
    0 or at least ``threshold`` (a bar's segments with the group's n would reveal a small
    count, at whatever precision it is drawn)."""
    c = np.asarray(counts)
    return bool(c.sum() >= threshold and np.all((c == 0) | (c >= threshold)))


def _published_percent(count: int, n: int) -> float:
    """``100 * count / n`` at the published precision (:data:`PERCENT_DIGITS`)."""
    return round(100.0 * count / n, PERCENT_DIGITS) if n else float("nan")


def _ordinal_items(codebook: Any, items: Sequence[str] | None, waves: Sequence[int]) -> list[Any]:
    if items is None:
        return [f for f in codebook.items(measurement="ordinal")
                if all(w in f.waves for w in waves)]
    fields = [codebook[name] for name in items]
    bad = [f.name for f in fields if f.measurement != "ordinal"]
    if bad:
        raise CrisisSurveyError(f"items {bad} are not ordinal; a Likert chart needs ordered levels")
    return fields


def likert_counts(
    source: Any,
    items: Sequence[str] | None = None,
    *,
    by: str = "group",
    threshold: int = DEFAULT_THRESHOLD,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """Answers per level of ordinal items, by wave and group (the data of a Likert chart).

    Parameters
    ----------
    source
        A LinkedStudy or SurveyWaves.
    items
        Ordinal items (default: every ordinal item asked in all the waves given).
    by
        Grouping role or field (default ``"group"``: the field whose role is group; see
        :meth:`~crisis_survey.codebook.Codebook.resolve`).
    threshold
        Bars built from fewer respondents, or holding a level answered by 1 to
        ``threshold - 1`` of them, are flagged ``drawn=False`` (their percentages NaN).
    hidden
        ``(group, item)`` domains the release audit withholds whole
        (:func:`~crisis_survey.present._release.hidden_domains`): not drawn.

    Returns
    -------
    pandas.DataFrame
        One row per item, wave, group and level: ``item, label, wave, group, level,
        level_index, n_levels, count, n, percent, drawn``. ``percent`` is of the respondents
        who gave a level (missing codes excluded), rounded to one decimal (the published
        precision; figures draw it and nothing finer); ``count`` and ``n`` are for the
        analyst only and never reach a figure.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> d = likert_counts(load_sample_study(), ["exp_listened"])
    >>> totals = d.groupby(["wave", "group"])["percent"].sum()   # 100 up to the rounding
    >>> bool(totals.between(99.5, 100.5).all())
    True
    """
    waves = study_waves(source)
    cb = waves[0].codebook
    fields = _ordinal_items(cb, items, [w.wave for w in waves])
    try:  # a role name ("group", "area") or a field name
        by_field: Any = cb.resolve(by)
        by = by_field.name
    except KeyError:
        by_field = None
    records: list[dict[str, Any]] = []
    for wave in waves:
        data = wave.data
        if by not in data.columns:
            raise CrisisSurveyError(f"the wave-{wave.wave} data have no column {by!r}")
        groups = list(by_field.labels) if by_field is not None and by_field.labels else sorted(
            str(v) for v in data[by].dropna().unique())
        g = _codes(data[by], groups)
        for f in fields:
            if f.name not in data.columns:
                continue
            k = len(f.labels)
            lv = _codes(data[f.name], f.labels)
            ok = (lv >= 0) & (g >= 0)
            table = np.bincount(g[ok] * k + lv[ok], minlength=len(groups) * k).reshape(
                len(groups), k)
            for gi, group in enumerate(groups):
                n = int(table[gi].sum())
                drawn = _publishable(table[gi], threshold) and (group, f.name) not in hidden
                for li, level in enumerate(f.labels):
                    c = int(table[gi, li])
                    records.append({
                        "item": f.name, "label": f.label, "wave": wave.wave, "group": group,
                        "level": level, "level_index": li, "n_levels": k, "count": c, "n": n,
                        "percent": _published_percent(c, n) if drawn else np.nan,
                        "drawn": drawn,
                    })
    return pd.DataFrame(records, columns=["item", "label", "wave", "group", "level",
                                          "level_index", "n_levels", "count", "n", "percent",
                                          "drawn"])


def change_counts(
    study: Any,
    items: Sequence[str] | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """For linked respondents: how many moved up, stayed or moved down on each item.

    Parameters
    ----------
    study
        A :class:`~crisis_survey.link.LinkedStudy`.
    items
        Ordinal or binary items (default: every ordinal item asked in both waves).
    threshold
        Bars built from fewer pairs, or with a segment of 1 to ``threshold - 1`` pairs, are
        flagged ``drawn=False`` (percentages NaN); a segment whose count or complement is
        below the threshold is flagged ``label_ok=False`` (its percentage is not printed).
    hidden
        ``(group, item)`` domains the release audit withholds whole
        (:func:`~crisis_survey.present._release.hidden_domains`): not drawn.

    Returns
    -------
    pandas.DataFrame
        One row per item, group and direction (``"down"``, ``"same"``, ``"up"``):
        ``item, label, group, direction, count, n, percent, drawn, label_ok``. ``n`` counts
        pairs who gave a level in both waves; up means a higher level in wave 2.

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> d = change_counts(load_sample_study(), ["exp_listened"])
    >>> d[["group", "direction"]].head(3).values.tolist()
    [['Service user', 'down'], ['Service user', 'same'], ['Service user', 'up']]
    """
    pairs = getattr(study, "pairs", None)
    if not isinstance(pairs, pd.DataFrame):
        raise CrisisSurveyError("change_counts() needs a LinkedStudy (with .pairs)")
    cb = study.codebook
    if items is None:
        fields = [f for f in cb.items(measurement="ordinal") if f.waves == (1, 2)]
    else:
        fields = [cb[name] for name in items]
    fields = [f.oriented() for f in fields]  # binary: "up" is towards the reported level
    groups = list(cb.group.labels)
    g = _codes(pairs[("", "group")], groups)
    records: list[dict[str, Any]] = []
    for f in fields:
        if not f.levels or f.measurement not in ("ordinal", "binary"):
            raise CrisisSurveyError(f"item {f.name!r} has no ordered levels to move along")
        x = _codes(pairs[(1, f.name)], f.labels)
        y = _codes(pairs[(2, f.name)], f.labels)
        ok = (x >= 0) & (y >= 0) & (g >= 0)
        direction = np.sign(y[ok] - x[ok]) + 1  # 0 down, 1 same, 2 up
        table = np.bincount(g[ok] * 3 + direction, minlength=3 * len(groups)).reshape(-1, 3)
        for gi, group in enumerate(groups):
            n = int(table[gi].sum())
            drawn = _publishable(table[gi], threshold) and (group, f.name) not in hidden
            for di, name in enumerate(("down", "same", "up")):
                c = int(table[gi, di])
                records.append({
                    "item": f.name, "label": f.label, "group": group, "direction": name,
                    "count": c, "n": n,
                    "percent": _published_percent(c, n) if drawn else np.nan,
                    "drawn": drawn,
                    "label_ok": drawn and c >= threshold and (n - c) >= threshold,
                })
    return pd.DataFrame(records, columns=["item", "label", "group", "direction", "count", "n",
                                          "percent", "drawn", "label_ok"])


def transition_counts(
    study: Any,
    items: Sequence[str] | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    hidden: Collection[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """For linked respondents: how many moved from each wave-1 level to each wave-2 level.

    Each item's and group's table of pairs (wave-1 level x wave-2 level) is protected as a
    count table with totals by :func:`~crisis_survey.present.suppress` (counts from 1 to
    ``threshold - 1`` withheld, and the cells that would reveal them from the row and
    column totals): withheld cells have ``count`` NaN and ``withheld`` True.

    Parameters
    ----------
    study
        A :class:`~crisis_survey.link.LinkedStudy`.
    items
        Ordinal or binary items asked in both waves (default: every ordinal item asked in
        both waves).
    threshold
        Disclosure threshold.
    hidden
        ``(group, item)`` domains the release audit withholds whole
        (:func:`~crisis_survey.present._release.hidden_domains`): every cell withheld.

    Returns
    -------
    pandas.DataFrame
        One row per item, group, wave-1 level and wave-2 level: ``item, label, group,
        from_level, from_index, to_level, to_index, count, n, withheld``; ``count`` is the
        published count (NaN where withheld), ``n`` the published number of pairs who gave
        a level in both waves (NaN where withheld).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> d = transition_counts(load_sample_study(), ["exp_listened"])
    >>> d.groupby("group", sort=False).size().tolist()   # 5 x 5 cells per group
    [25, 25]
    """
    if not hidden:
        return _transition_counts_plain(study, items, threshold=threshold)
    # the audit's rounds and give-back trials ask for many hidden sets: the panels are
    # protected once (shared within a run) and the hidden ones blanked, as the plain
    # computation blanks them (_transition_counts_plain, compared in test_fast_paths)
    out = cached(transition_counts, study, items, threshold=threshold)
    hide = np.fromiter(((g, i) in hidden for g, i in zip(out["group"], out["item"],
                                                          strict=True)),
                       dtype=bool, count=len(out))
    out.loc[hide, ["count", "n"]] = np.nan
    out.loc[hide, "withheld"] = True
    return out


def _transition_counts_plain(study: Any, items: Sequence[str] | None = None, *,
                             threshold: int = DEFAULT_THRESHOLD,
                             hidden: Collection[tuple[str, str]] = frozenset()
                             ) -> pd.DataFrame:
    """:func:`transition_counts` computed panel by panel, the hidden ones blanked as they
    are protected (the reference of its shared path)."""
    from ._disclosure import suppress

    pairs = getattr(study, "pairs", None)
    if not isinstance(pairs, pd.DataFrame):
        raise CrisisSurveyError("transition_counts() needs a LinkedStudy (with .pairs)")
    cb = study.codebook
    if items is None:
        fields = [f for f in cb.items(measurement="ordinal") if f.waves == (1, 2)]
    else:
        fields = [cb[name] for name in items]
    fields = [f.oriented() for f in fields]
    groups = list(cb.group.labels)
    g = _codes(pairs[("", "group")], groups)
    records: list[dict[str, Any]] = []
    for f in fields:
        if not f.levels or f.measurement not in ("ordinal", "binary"):
            raise CrisisSurveyError(f"item {f.name!r} has no ordered levels to move along")
        k = len(f.labels)
        x = _codes(pairs[(1, f.name)], f.labels)
        y = _codes(pairs[(2, f.name)], f.labels)
        ok = (x >= 0) & (y >= 0) & (g >= 0)
        cube = np.bincount((g[ok] * k + x[ok]) * k + y[ok],
                           minlength=len(groups) * k * k).reshape(len(groups), k, k)
        for gi, group in enumerate(groups):
            cells = pd.DataFrame(cube[gi], index=list(f.labels), columns=list(f.labels))
            shown = suppress(cells, threshold=threshold).published().to_numpy(
                dtype=float, na_value=np.nan)
            if (group, f.name) in hidden:
                shown[:] = np.nan
            n = float(shown[k, k])
            for i, a in enumerate(f.labels):
                for j, b in enumerate(f.labels):
                    c = float(shown[i, j])
                    records.append({
                        "item": f.name, "label": f.label, "group": group,
                        "from_level": a, "from_index": i, "to_level": b, "to_index": j,
                        "count": c, "n": n, "withheld": bool(np.isnan(c)),
                    })
    return pd.DataFrame(records, columns=["item", "label", "group", "from_level", "from_index",
                                          "to_level", "to_index", "count", "n", "withheld"])
