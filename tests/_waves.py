"""Build :class:`SurveyWave` objects directly from small tables, as the loader's contract says.

Tests of linkage and later steps use these instead of the file loader, so they do not depend
on it: ordinal items become ordered Categoricals of their labels, binary/nominal items and
the group/area unordered Categoricals, identifiers and link keys strings, and the index is
the spreadsheet row number (header row 1, first data row 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crisis_survey.codebook import Codebook, default_codebook
from crisis_survey.load._wave import SurveyWave

__all__ = ["CODEBOOK", "make_wave", "random_waves", "relabel"]

CODEBOOK: Codebook = default_codebook()


def _column(cb: Codebook, name: str, values: Sequence[Any]) -> pd.Series | pd.Categorical:
    if name not in cb:
        return pd.Series(list(values), dtype=object)
    fld = cb[name]
    if fld.role in ("identifier", "link_key"):
        return pd.Series(list(values), dtype="str")
    if fld.role == "wave":
        return pd.Series(list(values), dtype="int64")
    if fld.levels:
        # accept labels or codes
        by_code = {lv.code: lv.label for lv in fld.levels}
        labels = [by_code.get(v, v) if not isinstance(v, str) else v for v in values]
        unknown = {v for v in labels if v is not None and not pd.isna(v)} - set(fld.labels)
        if unknown:
            raise ValueError(f"test data bug: {name} has no level(s) {sorted(map(str, unknown))}")
        return pd.Categorical(labels, categories=list(fld.labels), ordered=fld.ordered)
    if fld.role == "area":
        return pd.Categorical(list(values))
    if fld.type == "date":
        return pd.Series(pd.to_datetime(list(values)))
    if fld.type in ("integer", "number"):
        return pd.Series(list(values), dtype="float64")
    return pd.Series(list(values), dtype="str")


def make_wave(
    wave: int,
    columns: Mapping[str, Sequence[Any]] | pd.DataFrame,
    *,
    codebook: Codebook | None = None,
    rows: Sequence[int] | None = None,
    excluded_rows: Sequence[int] = (),
    source: str | None = None,
) -> SurveyWave:
    """A wave from ``{column: values}`` (labels or codes for categorical fields).

    ``rows`` are the spreadsheet row numbers of the kept rows (default 2, 3, ...);
    ``excluded_rows`` become the wave's ``exclusions`` (as if quarantined at loading).
    """
    cb = codebook or CODEBOOK
    frame = columns if isinstance(columns, pd.DataFrame) else pd.DataFrame(dict(columns))
    n = len(frame)
    index = pd.Index(list(rows) if rows is not None else range(2, n + 2), dtype="int64")
    built: dict[str, Any] = {}
    for name in frame.columns:
        col = _column(cb, name, frame[name].tolist())
        built[name] = (col if isinstance(col, pd.Categorical)
                       else pd.Series(col.to_numpy(), index=index, dtype=col.dtype))
    data = pd.DataFrame(built, index=index)
    answered = [c for c in data.columns
                if c in cb and cb[c].role in ("item", "demographic")]
    reasons = pd.DataFrame(
        {c: pd.Series(np.where(data[c].isna(), "not_answered", None), index=index,
                      dtype="string") for c in answered},
        index=index,
    )
    exclusions = pd.DataFrame(
        {"row": list(excluded_rows), "reason": ["test: excluded"] * len(excluded_rows)}
    )
    return SurveyWave(
        wave=wave, codebook=cb, source=source or f"wave{wave}.csv", sha256="0" * 64,
        data=data, missing_reasons=reasons, exclusions=exclusions,
    )


def relabel(wave: SurveyWave, mapping: Mapping[str, str] | None = None,
            prefix: str = "X") -> SurveyWave:
    """The same wave with its respondent identifiers renamed."""
    ident = wave.codebook.identifier.name
    old = wave.data[ident]
    new = old.map(mapping) if mapping is not None else prefix + old.astype(str) + "-renamed"
    data = wave.data.assign(**{ident: new.astype("str")})
    return SurveyWave(wave.wave, wave.codebook, wave.source, wave.sha256, data,
                      wave.missing_reasons, wave.exclusions, wave.rows_read)


def random_waves(
    seed: int,
    n1: int,
    n2: int,
    *,
    n_people: int | None = None,
    p_missing_key: float = 0.05,
    p_group_switch: float = 0.05,
    p_area_move: float = 0.1,
    p_repeat: float = 0.05,
    messy: bool = True,
) -> tuple[SurveyWave, SurveyWave]:
    """Two random waves over a common pool of people (so keys repeat within and across).

    Keys are typed messily (case, separators, spaces) when ``messy``; some are missing or
    blank; some people answer twice in a wave (``p_repeat``); a few answer under the other
    group in wave 2 or moved area.
    """
    rng = np.random.default_rng(seed)
    n_people = max(n_people or int(1.3 * max(n1, n2)) + 2, n1, n2)
    group = rng.integers(0, 2, n_people)
    area = rng.integers(0, 4, n_people)

    def keys(person: np.ndarray) -> list[str | None]:
        out: list[str | None] = []
        for p in person:
            base = f"ab{p:04d}cd"
            if messy:
                style = rng.integers(0, 5)
                base = (base.upper() if style == 1 else f" {base[:3]}-{base[3:]} "
                        if style == 2 else f"{base[:2]}.{base[2:]}" if style == 3
                        else f"{base[:4]}_{base[4:]}/" if style == 4 else base)
            out.append(base)
        for i in np.flatnonzero(rng.random(len(out)) < p_missing_key):
            out[i] = [None, "", "  ", "-"][int(rng.integers(0, 4))]
        return out

    labels = list(CODEBOOK.group.labels)
    rating = CODEBOOK["overall_rating"].labels
    knew = CODEBOOK["exp_knew_contact"].labels
    gender = CODEBOOK["gender"].labels

    def build(wave: int, n: int) -> SurveyWave:
        person = rng.choice(n_people, size=n, replace=False)
        repeat = rng.random(n) < p_repeat  # the same person answering twice in one wave
        if n:
            person[repeat] = rng.choice(person, int(repeat.sum()))
        g = group[person].copy()
        a = area[person].copy()
        if wave == 2:
            switch = rng.random(n) < p_group_switch
            g[switch] = 1 - g[switch]
            move = rng.random(n) < p_area_move
            a[move] = rng.integers(0, 4, int(move.sum()))
        cols = {
            "respondent_id": [f"W{wave}R{i:05d}" for i in range(n)],
            "link_key": keys(person),
            "wave": [wave] * n,
            "group": [labels[i] for i in g],
            "area": [f"E0{i}" for i in a],
            "gender": [None if r < 0 else gender[r] for r in rng.integers(-1, 3, n)],
            "overall_rating": [None if r < 0 else rating[r] for r in rng.integers(-1, 5, n)],
            "exp_knew_contact": [None if r < 0 else knew[r] for r in rng.integers(-1, 2, n)],
        }
        return make_wave(wave, cols, excluded_rows=[n + 2] if n % 3 == 0 else [])

    return build(1, n1), build(2, n2)
