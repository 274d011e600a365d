"""The synthetic study generator and the shipped sample study (src/crisis_survey/synthetic/)."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from crisis_survey import CrisisSurveyError
from crisis_survey.codebook import Codebook, default_codebook
from crisis_survey.synthetic import (
    FORMATS,
    SAMPLE_CALL,
    SyntheticStudy,
    generate_study,
    load_sample_study,
    sample_study_paths,
    write_study,
)
from crisis_survey.synthetic import _profiles as P
from crisis_survey.synthetic._generate import _thresholds

CB = default_codebook()
ORDINAL = [f.name for f in CB.items(measurement="ordinal") if set(f.waves) == {1, 2}]
SAMPLE_DIR = sample_study_paths()[0].parent


def _norm(keys: pd.Series) -> pd.Series:
    """The normalisation of the link contract: casefold, drop spaces/hyphens/_ . /."""
    return keys.str.casefold().str.replace(r"[\s\-_./]", "", regex=True)


def _check_against_codebook(frame: pd.DataFrame, wave: int, cb: Codebook) -> None:
    """Every value is a level or missing code of its field, required fields are filled."""
    expected_cols = [f.name for f in cb.fields if wave in f.waves]
    assert list(frame.columns) == expected_cols
    info = cb.wave_info(wave)
    for f in cb.fields:
        if wave not in f.waves:
            continue
        col = frame[f.name]
        if f.required:
            assert col.notna().all(), f.name
        if f.unique:
            assert col.is_unique, f.name
        if f.levels or f.missing:
            allowed = set(f.codes) | {m.code for m in f.missing}
            assert set(col.dropna().unique().tolist()) <= allowed, f.name
        if f.role == "date" and len(col):
            assert col.min() >= pd.Timestamp(info.fieldwork_start)
            assert col.max() <= pd.Timestamp(info.fieldwork_end)
    assert (frame["wave"] == wave).all()


@pytest.fixture(scope="module")
def default_study() -> SyntheticStudy:
    return generate_study(seed=7)


@pytest.fixture(scope="module")
def big_study() -> SyntheticStudy:
    return generate_study(n_service_users=30_000, n_carers=30_000, return_rate=0.5,
                          n_new_wave2=20_000, seed=11)


# -- reproducibility and sizes ------------------------------------------------------------------
def test_same_seed_gives_identical_frames() -> None:
    a = generate_study(seed=5)
    b = generate_study(seed=5)
    pd.testing.assert_frame_equal(a.wave1, b.wave1)
    pd.testing.assert_frame_equal(a.wave2, b.wave2)
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_different_seeds_differ() -> None:
    a, b = generate_study(seed=5), generate_study(seed=6)
    assert not a.wave1.equals(b.wave1)
    assert not a.wave2.equals(b.wave2)
    # Not just the identifiers: the answers differ.
    assert not a.wave1["overall_rating"].equals(b.wave1["overall_rating"])


def test_sizes_as_asked(default_study: SyntheticStudy) -> None:
    s = default_study
    t1 = s.truth[s.truth["wave"] == 1]
    t2 = s.truth[s.truth["wave"] == 2]
    first = t1[t1["kind"] == "wave 1"]
    # Defaults: 450 service users (code 1), 200 carers (code 2).
    assert (first["true_group"] == 1).sum() == 450
    assert (first["true_group"] == 2).sum() == 200
    n_repeat1 = round(P.REPEAT_RATE_W1 * 650)
    assert len(s.wave1) == 650 + n_repeat1 == len(t1)
    assert (t2["kind"] == "returner").sum() == round(0.40 * 650)
    assert (t2["kind"] == "new").sum() == 150
    first2 = round(0.40 * 650) + 150
    assert len(s.wave2) == first2 + round(P.REPEAT_RATE_W2 * first2)
    # Returners are wave-1 people; new people are not.
    people1 = set(first["person"])
    assert set(t2.loc[t2["kind"] == "returner", "person"]) <= people1
    assert not set(t2.loc[t2["kind"] == "new", "person"]) & people1
    # Unpacking gives the two waves.
    w1, w2 = s
    assert w1 is s.wave1 and w2 is s.wave2


def test_rows_in_submission_order_with_sequential_ids(default_study: SyntheticStudy) -> None:
    w1 = default_study.wave1
    assert w1["completed_date"].is_monotonic_increasing
    assert w1["respondent_id"].iloc[0] == "R1-00001"
    assert default_study.wave2["respondent_id"].iloc[-1] == f"R2-{len(default_study.wave2):05d}"


@pytest.mark.parametrize("kwargs", [
    {"n_service_users": -1}, {"n_carers": 2.5}, {"return_rate": 1.5}, {"n_areas": 0},
    {"effect_service_users": float("nan")}, {"seed": -3}, {"n_service_users": 0, "n_carers": 0},
])
def test_bad_arguments_raise_a_clear_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(CrisisSurveyError, match="generate_study"):
        generate_study(**kwargs)  # type: ignore[arg-type]


# -- validity ---------------------------------------------------------------------------------
def test_every_value_is_valid_per_codebook(default_study: SyntheticStudy) -> None:
    _check_against_codebook(default_study.wave1, 1, CB)
    _check_against_codebook(default_study.wave2, 2, CB)


@settings(max_examples=15, deadline=None)
@given(n_su=st.integers(1, 60), n_c=st.integers(0, 60), rate=st.floats(0, 1),
       n_new=st.integers(0, 30), n_areas=st.integers(1, 120), seed=st.integers(0, 2**32))
def test_any_small_study_is_valid_per_codebook(
    n_su: int, n_c: int, rate: float, n_new: int, n_areas: int, seed: int
) -> None:
    s = generate_study(n_service_users=n_su, n_carers=n_c, return_rate=rate,
                       n_new_wave2=n_new, n_areas=n_areas, seed=seed)
    _check_against_codebook(s.wave1, 1, CB)
    _check_against_codebook(s.wave2, 2, CB)
    assert s.wave1["area"].dropna().isin([f"CC{k:0{max(2, len(str(n_areas)))}d}"
                                         for k in range(1, n_areas + 1)]).all()


def test_realistic_features_are_present(default_study: SyntheticStudy) -> None:
    w1 = default_study.wave1
    assert (w1["age_band"] == 1).sum() > 0  # under-18s
    assert (w1["gender"] == 9).sum() > 0  # prefer not to say
    assert (w1["overall_rating"] == 8).sum() > 0  # don't know
    assert (w1["exp_family_involved"] == 7).sum() > 0  # not applicable
    assert w1["overall_rating"].isna().sum() > 0  # blanks
    assert w1["comments"].notna().mean() == pytest.approx(0.25, abs=0.06)
    assert w1["link_key"].isna().sum() > 0
    # A skipped multi-select question is blank in every one of its columns.
    svc = [f.name for f in CB.items() if f.select_group == "services_used"]
    partly = w1[svc].isna().any(axis=1) & ~w1[svc].isna().all(axis=1)
    assert not partly.any()


def test_link_keys_give_linkage_something_to_report(default_study: SyntheticStudy) -> None:
    w1, w2 = default_study
    truth = default_study.truth
    k1, k2 = _norm(w1["link_key"].dropna()), _norm(w2["link_key"].dropna())
    # Some wave-2 keys are typed differently but normalise to a wave-1 key.
    raw_differs = ~w2["link_key"].dropna().isin(set(w1["link_key"].dropna()))
    assert (raw_differs & k2.isin(set(k1))).sum() >= 10
    assert k1.duplicated().sum() >= 1 and k2.duplicated().sum() >= 1
    assert truth["group_conflict"].sum() >= 2
    # A typo never matches anybody's key.
    typo = truth[(truth["wave"] == 2) & (truth["key_style"] == "typo")]["respondent_id"]
    typed = _norm(w2.set_index("respondent_id").loc[typo, "link_key"])
    assert not typed.isin(set(k1)).any()


# -- the model: effects, rates ------------------------------------------------------------------
def _paired_code_diff(s: SyntheticStudy, group: int, item: str) -> tuple[float, float]:
    """Mean (wave 2 - wave 1) code of returners with a real level in both waves, and its SE."""
    t = s.truth[s.truth["kind"] != "repeat submission"]
    ans = pd.concat([s.wave1, s.wave2], ignore_index=True)[["respondent_id", "wave", item]]
    merged = t.merge(ans, on=["respondent_id", "wave"])
    merged = merged[(merged["true_group"] == group) & (merged[item] <= 5)]
    wide = merged.pivot(index="person", columns="wave", values=item).dropna()
    d = (wide[2] - wide[1]).astype(float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def _expected_code_shift(item: str, delta: float) -> float:
    """E[code | N(delta, 1)] - E[code | N(0, 1)] = sum_k [Phi(delta - tau_k) - Phi(-tau_k)]."""
    tau = _thresholds(P.LATENT_PROBS[item])
    return float(np.sum(ndtr(delta - tau) - ndtr(-tau)))


@pytest.mark.parametrize("item", ["overall_rating", "exp_dignity", "exp_help_speed"])
def test_effect_is_in_service_users_and_not_in_carers(big_study: SyntheticStudy, item: str) -> None:
    su, su_se = _paired_code_diff(big_study, 1, item)
    ca, ca_se = _paired_code_diff(big_study, 2, item)
    # The latent shift of 0.3 SD moves the mean code by about sum_k dPhi (computed from the
    # item's cut points); a returner's selection on u cancels in the paired difference.
    expected = _expected_code_shift(item, 0.30)
    assert 0.25 < expected < 0.45
    assert abs(su - expected) < 4 * su_se + 0.03
    assert abs(ca) < 4 * ca_se


def test_no_effect_when_effect_is_zero() -> None:
    s = generate_study(n_service_users=30_000, n_carers=1_000, return_rate=0.5,
                       effect_service_users=0.0, seed=12)
    d, se = _paired_code_diff(s, 1, "overall_rating")
    assert abs(d) < 4 * se


def test_carer_effect_is_applied_when_asked() -> None:
    s = generate_study(n_service_users=1_000, n_carers=30_000, return_rate=0.5,
                       effect_carers=-0.5, seed=13)
    d, se = _paired_code_diff(s, 2, "exp_listened")
    assert d == pytest.approx(_expected_code_shift("exp_listened", -0.5), abs=4 * se + 0.03)


def test_wave1_marginals_follow_the_profile(big_study: SyntheticStudy) -> None:
    w1 = big_study.wave1
    t1 = big_study.truth[big_study.truth["wave"] == 1]
    su = w1[t1["true_group"].to_numpy() == 1]
    codes = su["overall_rating"][su["overall_rating"] <= 5]
    observed = codes.value_counts(normalize=True).sort_index().to_numpy()
    # Profile for service users in wave 1 (_profiles.LATENT_PROBS): 16/20/26/26/12 %.
    np.testing.assert_allclose(observed, P.LATENT_PROBS["overall_rating"], atol=0.015)


def test_wave2_only_items_and_police_cells(big_study: SyntheticStudy) -> None:
    w1, w2 = big_study
    aware = w2["aware_concordat"].dropna()
    # Evaluation summary: "Around 20% of respondents were aware of Crisis Care Concordat work".
    assert (aware == 1).mean() == pytest.approx(0.20, abs=0.015)
    change = w2["local_change"].dropna()
    assert change.isin([2, 8]).mean() > 0.5  # majority "stayed the same" or "don't know"
    # "reducing the use of police cells as a place of safety": 9% -> 4% (profile).
    assert w1["svc_police_cell"].dropna().mean() == pytest.approx(0.09, abs=0.01)
    assert w2["svc_police_cell"].dropna().mean() == pytest.approx(0.04, abs=0.01)


def test_returners_are_selected_on_disposition(big_study: SyntheticStudy) -> None:
    t = big_study.truth
    first = t[(t["wave"] == 1) & (t["kind"] == "wave 1")]
    back = set(t.loc[t["kind"] == "returner", "person"])
    returned = first["person"].isin(back)
    assert first.loc[returned, "latent_general"].mean() > first.loc[~returned,
                                                                    "latent_general"].mean()


@pytest.mark.slow
def test_a_million_respondents_per_wave() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    s = generate_study(n_service_users=700_000, n_carers=300_000, return_rate=0.4,
                       n_new_wave2=600_000, seed=1)
    assert len(s.wave1) >= 1_000_000 and len(s.wave2) >= 1_000_000


# -- writing and the shipped sample ---------------------------------------------------------
def test_shipped_files_are_labelled_synthetic() -> None:
    import pyarrow.parquet as pq
    import pyreadstat
    from openpyxl import load_workbook

    for fmt in FORMATS:
        for p in sample_study_paths(fmt):
            assert "synthetic" in p.name
    for p in sample_study_paths("parquet"):
        meta = pq.read_schema(p).metadata
        assert meta[b"synthetic"] == b"true"
        assert b"SYNTHETIC" in meta[b"description"]
    for p in sample_study_paths("sav"):
        _, info = pyreadstat.read_sav(str(p), metadataonly=True)
        assert info.file_label.startswith("SYNTHETIC")
    for p in sample_study_paths("xlsx"):
        book = load_workbook(p, read_only=True)
        assert book.properties.title.startswith("SYNTHETIC")
        assert book.properties.keywords == "synthetic"
        assert book.sheetnames == ["data", "README"]
    readme = (SAMPLE_DIR / "README.md").read_text()
    assert "SYNTHETIC" in readme and "generate_study(" in readme


def test_shipped_sample_is_what_the_documented_call_makes(tmp_path: Path) -> None:
    import pyreadstat

    readme = (SAMPLE_DIR / "README.md").read_text()
    call = re.search(r"study = (generate_study\(.*\))", readme)
    assert call is not None
    study = eval(call.group(1), {"generate_study": generate_study})  # the documented call
    assert study.params["seed"] == SAMPLE_CALL["seed"]
    write_study(study, tmp_path, formats=FORMATS)
    for wave in (1, 2):
        name = f"synthetic_wave{wave}"
        assert (tmp_path / f"{name}.csv").read_bytes() == (SAMPLE_DIR / f"{name}.csv").read_bytes()
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"),
                                      pd.read_parquet(SAMPLE_DIR / f"{name}.parquet"))
        pd.testing.assert_frame_equal(pd.read_excel(tmp_path / f"{name}.xlsx"),
                                      pd.read_excel(SAMPLE_DIR / f"{name}.xlsx"))
        new, new_meta = pyreadstat.read_sav(str(tmp_path / f"{name}.sav"), user_missing=True)
        old, old_meta = pyreadstat.read_sav(str(SAMPLE_DIR / f"{name}.sav"), user_missing=True)
        pd.testing.assert_frame_equal(new, old)
        assert new_meta.variable_value_labels == old_meta.variable_value_labels
        assert new_meta.missing_ranges == old_meta.missing_ranges
    assert (tmp_path / "README.md").read_text() == readme


def test_shipped_sample_is_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir())
    assert total < 1_000_000


@pytest.mark.parametrize("fmt", FORMATS)
def test_shipped_files_load_with_zero_problems_and_agree(fmt: str) -> None:
    from crisis_survey.load import load_wave

    for wave, path in enumerate(sample_study_paths(fmt), start=1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w = load_wave(path, wave=wave, on_error="quarantine")
        # Not even a warning of the library (e.g. "no column for ..."): every field is there.
        assert not [c for c in caught if issubclass(c.category, UserWarning)
                    and "synthetic_wave" in str(c.message)]
        assert w.rows_excluded == 0 and w.problems.empty
        csv = load_wave(sample_study_paths("csv")[wave - 1], wave=wave)
        pd.testing.assert_frame_equal(w.data, csv.data, check_dtype=False,
                                      check_categorical=False)
        pd.testing.assert_frame_equal(w.missing_reasons, csv.missing_reasons)


def test_linkage_of_the_sample_matches_the_truth() -> None:
    """link_waves finds exactly the pairs the simulation set up (keys present, unique in each
    wave after normalisation, same group)."""
    study = load_sample_study()
    s = generate_study(**SAMPLE_CALL)
    w1, w2 = s
    k1, k2 = _norm(w1["link_key"]), _norm(w2["link_key"])
    n1, n2 = k1.value_counts(), k2.value_counts()
    single = set(n1[n1 == 1].index) & set(n2[n2 == 1].index)
    g1 = pd.Series(w1["group"].to_numpy(), index=k1.to_numpy())
    g2 = pd.Series(w2["group"].to_numpy(), index=k2.to_numpy())
    expected = sum(1 for k in single if k and g1[k] == g2[k])
    conflicts = sum(1 for k in single if k and g1[k] != g2[k])
    counts = study.report.counts
    assert int(counts.loc["linked", "All"]) == expected
    assert int(counts.loc["group conflicts wave 1", "All"]) == conflicts
    assert int(counts.loc["missing key wave 1", "All"]) == int(w1["link_key"].isna().sum())
    # A row is a duplicate when its key is shared by more than one row of either wave.
    dup1 = k1.dropna().map(lambda k: n1[k] > 1 or n2.get(k, 0) > 1)
    assert int(counts.loc["duplicate keys wave 1", "All"]) == int(dup1.sum())
    # The truth: every linked pair is one simulated person.
    people = s.truth.set_index(["wave", "respondent_id"])["person"]
    id1 = dict(zip(k1, w1["respondent_id"], strict=True))
    id2 = dict(zip(k2, w2["respondent_id"], strict=True))
    same = [people[(1, id1[k])] == people[(2, id2[k])] for k in study.pairs.index]
    assert all(same) and len(same) == expected


def test_sample_study_paths_rejects_unknown_format() -> None:
    with pytest.raises(CrisisSurveyError, match="ships as csv, xlsx, sav, parquet"):
        sample_study_paths("json")


def test_write_study_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(CrisisSurveyError, match="unknown format"):
        write_study(generate_study(n_service_users=5, n_carers=5, seed=1), tmp_path,
                    formats=["dta"])


def test_fieldwork_dates_fall_in_each_window(default_study: SyntheticStudy) -> None:
    w2 = default_study.wave2["completed_date"]
    assert w2.min().date() >= dt.date(2015, 11, 1)
    assert w2.max().date() <= dt.date(2015, 12, 31)


# -- retyped keys (tolerant linkage's test data) -------------------------------------------------
def _retyped_pairs(study: SyntheticStudy) -> pd.DataFrame:
    """Each retyped wave-2 key beside its person's wave-1 key, both normalised."""
    from crisis_survey.link import normalise_keys

    t = study.truth
    t1 = t[(t["wave"] == 1) & (t["kind"] == "wave 1")].set_index("person")
    t2 = t[(t["wave"] == 2) & (t["key_error"] != "none")]
    k1 = normalise_keys(study.wave1.set_index("respondent_id")["link_key"])
    k2 = normalise_keys(study.wave2.set_index("respondent_id")["link_key"])
    return pd.DataFrame({
        "kind": t2["key_error"].to_numpy(),
        "key1": k1.loc[t1.loc[t2["person"], "respondent_id"]].to_numpy(),
        "key2": k2.loc[t2["respondent_id"]].to_numpy(),
    }).dropna()


@pytest.fixture(scope="module")
def retyped_study() -> SyntheticStudy:
    return generate_study(n_service_users=900, n_carers=400, seed=16, retyped_keys=1.0)


def test_retyped_keys_make_each_error_kind(retyped_study: SyntheticStudy) -> None:
    from rapidfuzz.distance import OSA, Levenshtein

    from crisis_survey.synthetic._generate import KEY_ERRORS

    pairs = _retyped_pairs(retyped_study)
    assert set(pairs["kind"]) == set(KEY_ERRORS)
    confuse = str.maketrans("o0i1l5s8b", "001115588")
    for row in pairs.itertuples():
        a, b = row.key1, row.key2
        if row.kind == "invisible":  # normalisation removes it: the keys agree
            assert a == b
            continue
        assert a != b, row
        if row.kind == "substitution":
            assert len(a) == len(b) and Levenshtein.distance(a, b) == 1
        elif row.kind == "insertion":
            assert len(b) == len(a) + 1 and Levenshtein.distance(a, b) == 1
        elif row.kind == "deletion":
            assert len(b) == len(a) - 1 and Levenshtein.distance(a, b) == 1
        elif row.kind == "transposition":
            assert OSA.distance(a, b) == 1 and Levenshtein.distance(a, b) == 2
        elif row.kind == "confusable":
            assert a.translate(confuse) == b.translate(confuse)
        elif row.kind == "component":
            differ = [a[i:i + 2] != b[i:i + 2] for i in range(0, 8, 2)]
            assert len(a) == len(b) == 8 and sum(differ) == 1
    # only returners' wave-2 keys are retyped; nothing else about the study changes
    t = retyped_study.truth
    assert (t.loc[t["key_error"] != "none", "kind"] == "returner").all()
    plain = generate_study(n_service_users=900, n_carers=400, seed=16)
    pd.testing.assert_frame_equal(plain.wave1, retyped_study.wave1)
    pd.testing.assert_frame_equal(plain.wave2.drop(columns="link_key"),
                                  retyped_study.wave2.drop(columns="link_key"))
    assert (plain.truth["key_error"] == "none").all()


def test_retyped_keys_choice_of_kinds_and_bad_arguments() -> None:
    only = generate_study(seed=2, retyped_keys=0.5, key_errors=["transposition"])
    assert set(only.truth["key_error"]) == {"none", "transposition"}
    assert only.params["key_errors"] == ("transposition",)
    with pytest.raises(CrisisSurveyError, match="retyped_keys"):
        generate_study(retyped_keys=1.5)
    with pytest.raises(CrisisSurveyError, match="key_errors"):
        generate_study(retyped_keys=0.1, key_errors=["typo"])
