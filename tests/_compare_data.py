"""LinkedStudy-shaped inputs for the comparison tests (test helper, not a test module).

``make_study`` builds two :class:`~crisis_survey.load._wave.SurveyWave` objects that follow the
loader's contract (ordinal items as ordered Categoricals of the level labels, binary/nominal as
unordered Categoricals, missing codes as NaN with their kind in ``missing_reasons``) and a
``FakeStudy`` with the linkage contract's ``pairs`` (MultiIndex columns ``(wave, field)`` plus
``("", "group")``) and ``unpaired(wave)``. It stands in for ``link_waves`` so these tests do not
depend on the loader and linker being finished.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from crisis_survey.codebook import Codebook, Field, Level, MissingCode, default_codebook
from crisis_survey.load._wave import SurveyWave

AREAS = ("E01", "E02", "E03")


def codebook_with_numeric() -> Codebook:
    """The default codebook plus a numeric item (``wellbeing``, 7-35) and a nominal item with
    four levels (``first_contact``), both asked in both waves."""
    cb = default_codebook()
    extra = Field(
        name="wellbeing", role="item", type="number", title="Wellbeing score",
        measurement="numeric", minimum=7, maximum=35,
        missing=(MissingCode(99, "Prefer not to say", "prefer_not_to_say"),),
    )
    nominal = Field(
        name="first_contact", role="item", type="integer", title="First contact in a crisis",
        measurement="nominal",
        levels=(Level(1, "GP"), Level(2, "A&E"), Level(3, "Police"), Level(4, "Helpline")),
        missing=(MissingCode(8, "Don't know", "dont_know"),),
    )
    return replace(cb, fields=(*cb.fields, extra, nominal), _index={})


@dataclass(frozen=True)
class FakeStudy:
    """Just what ``compare_waves`` reads from a ``LinkedStudy``."""

    codebook: Codebook
    wave1: SurveyWave
    wave2: SurveyWave
    pairs: pd.DataFrame
    unpaired_rows: tuple[pd.DataFrame, pd.DataFrame]

    def unpaired(self, wave: int) -> pd.DataFrame:
        return self.unpaired_rows[wave - 1]

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.codebook.group.labels)


def _answer(rng: np.random.Generator, f: Field, n: int, shift: np.ndarray, p_missing: float,
            p_code: float) -> tuple[pd.Series, pd.Series]:
    """Random answers to ``f`` and their missing reasons."""
    reasons = pd.Series(pd.NA, index=range(n), dtype="string")
    u = rng.random(n)
    codes = [m.kind for m in f.missing]
    is_code = (u < p_code) & bool(codes)
    blank = (u >= p_code) & (u < p_code + p_missing)
    if codes:
        reasons[is_code] = rng.choice(codes, size=int(is_code.sum()))
    reasons[blank] = "not_answered"
    if f.levels:
        k = len(f.levels)
        if f.measurement in ("ordinal", "binary"):
            latent = rng.normal(k / 2 + shift, k / 3, n)
            pos = np.clip(np.floor(latent), 0, k - 1).astype(int)
        else:
            w = np.linspace(1.0, 2.0, k) + float(np.mean(shift)) * np.arange(k)
            w = np.clip(w, 0.1, None)
            pos = rng.choice(k, size=n, p=w / w.sum())
        labels = np.array(f.labels, dtype=object)[pos]
        labels[is_code | blank] = None
        values = pd.Series(pd.Categorical(labels, categories=list(f.labels),
                                          ordered=f.measurement == "ordinal"))
    else:
        num = np.round(rng.normal(21 + 3 * shift, 5, n))
        num[is_code | blank] = np.nan
        values = pd.Series(num, dtype="float64")
    return values, reasons


def _wave(rng: np.random.Generator, cb: Codebook, wave: int, ids: list[str], keys: list[str],
          groups: np.ndarray, areas: np.ndarray, shift: float, p_missing: float, p_code: float,
          first_row: int = 2) -> SurveyWave:
    n = len(ids)
    index = pd.Index(np.arange(first_row, first_row + n), name="row")
    data: dict[str, pd.Series] = {
        "respondent_id": pd.Series(ids, dtype="string"),
        "link_key": pd.Series(keys, dtype="string"),
        "wave": pd.Series(np.full(n, wave), dtype="int64"),
        "group": pd.Series(pd.Categorical(np.array(cb.group.labels)[groups],
                                          categories=list(cb.group.labels))),
        "area": pd.Series(pd.Categorical(areas, categories=list(AREAS))),
    }
    reasons: dict[str, pd.Series] = {}
    for f in cb.items(wave=wave):
        if f.measurement == "text":
            data[f.name] = pd.Series(["comment"] * n, dtype="string")
            reasons[f.name] = pd.Series(pd.NA, index=range(n), dtype="string")
            continue
        # carers (group code 1) change half as much as service users
        s = np.where(groups == 0, shift, shift / 2)
        values, why = _answer(rng, f, n, s, p_missing, p_code)
        data[f.name] = values
        reasons[f.name] = why
    frame = pd.DataFrame(data)
    frame.index = index
    mr = pd.DataFrame(reasons)
    mr.index = index
    return SurveyWave(wave=wave, codebook=cb, source=f"wave{wave}.csv", sha256="0" * 64,
                      data=frame, missing_reasons=mr)


def make_study(seed: int = 0, *, n1: int = 300, n2: int = 240, n_linked: int = 120,
               p_missing: float = 0.05, p_code: float = 0.05, shift: float = 0.4,
               codebook: Codebook | None = None, n_areas: int = 3) -> FakeStudy:
    """A two-wave study: ``n_linked`` respondents in both waves, the rest in one wave only."""
    cb = codebook or codebook_with_numeric()
    rng = np.random.default_rng(seed)
    keys1 = [f"k{i:05d}" for i in range(n1)]
    keys2 = keys1[:n_linked] + [f"m{i:05d}" for i in range(n2 - n_linked)]
    order2 = rng.permutation(n2)  # wave 2 rows in a different order from wave 1
    keys2 = [keys2[i] for i in order2]
    g1 = rng.integers(0, 2, n1)
    a1 = rng.choice(np.array(AREAS[:n_areas]), n1)
    g_of = dict(zip(keys1, g1, strict=True))
    a_of = dict(zip(keys1, a1, strict=True))
    g2 = np.array([g_of.get(k, rng.integers(0, 2)) for k in keys2])
    a2 = np.array([a_of.get(k, rng.choice(np.array(AREAS[:n_areas]))) for k in keys2])
    w1 = _wave(rng, cb, 1, [f"a{i}" for i in range(n1)], keys1, g1, a1, 0.0, p_missing, p_code)
    w2 = _wave(rng, cb, 2, [f"b{i}" for i in range(n2)], keys2, g2, a2, shift, p_missing,
               p_code)
    return link(cb, w1, w2)


def link(cb: Codebook, w1: SurveyWave, w2: SurveyWave) -> FakeStudy:
    """Link two waves on ``link_key`` (exact match) into the LinkedStudy shape."""
    d1 = w1.data.reset_index(drop=True).set_index("link_key", drop=False)
    d2 = w2.data.reset_index(drop=True).set_index("link_key", drop=False)
    common = d1.index.intersection(d2.index)
    left = d1.loc[common]
    right = d2.loc[common]
    left.columns = pd.MultiIndex.from_product([[1], left.columns])
    right.columns = pd.MultiIndex.from_product([[2], right.columns])
    pairs = pd.concat([left, right], axis=1)
    pairs[("", "group")] = left[(1, "group")]
    pairs.index.name = "link_key"
    un1 = w1.data[~w1.data["link_key"].isin(common)]
    un2 = w2.data[~w2.data["link_key"].isin(common)]
    return FakeStudy(cb, w1, w2, pairs, (un1, un2))


def swap_waves(study: FakeStudy) -> FakeStudy:
    """The same study with the waves' roles exchanged (wave 2 becomes wave 1)."""
    w1 = replace(study.wave2, wave=1)
    w2 = replace(study.wave1, wave=2)
    return link(study.codebook, w1, w2)


def shuffle_rows(study: FakeStudy, seed: int) -> FakeStudy:
    """The same study with every wave's rows (and so the pairs) in a random order."""
    rng = np.random.default_rng(seed)

    def perm(w: SurveyWave) -> SurveyWave:
        order = rng.permutation(len(w.data))
        return replace(w, data=w.data.iloc[order], missing_reasons=w.missing_reasons.iloc[order])

    return link(study.codebook, perm(study.wave1), perm(study.wave2))


__all__ = [
    "AREAS",
    "FakeStudy",
    "Level",
    "codebook_with_numeric",
    "link",
    "make_study",
    "shuffle_rows",
    "swap_waves",
]
