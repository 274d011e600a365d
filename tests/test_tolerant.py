"""Tolerant linkage (crisis_survey.link: _candidates, _tolerant): candidate pairs of retyped
keys, the exact / reviewed / auto policies, the review file, and the measured accuracy on
generated studies with retyped keys (their truth says who is who)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _waves import make_wave
from crisis_survey import AnalysisPlan, LinkageError
from crisis_survey.codebook import default_codebook
from crisis_survey.link import link_waves, review_sha256, write_review_file
from crisis_survey.link._candidates import KEY_CLASSES, find_candidates
from crisis_survey.link._keys import normalise_array
from crisis_survey.load import load_wave
from crisis_survey.synthetic import SyntheticStudy, generate_study, write_study
from crisis_survey.synthetic._generate import KEY_COMPONENTS

CB = default_codebook()


def _classes(a: list[str], b: list[str], components: tuple[int, ...] = ()) -> list[str]:
    k1, k2 = normalise_array(a), normalise_array(b)
    c = find_candidates(k1, k2, np.arange(len(a)), np.arange(len(b)), components)
    found = {(int(i), int(j)): KEY_CLASSES[k] for i, j, k in zip(c.pos1, c.pos2, c.key_class,
                                                                 strict=True)}
    return [found.get((i, i), "none") for i in range(len(a))]


def test_each_error_kind_is_a_candidate_of_its_class() -> None:
    a = ["ABCD-1234", "ABCD-1234", "ABCD-1234", "ABCD-1234", "ABOD-1134", "ABCD-1234",
         "SBIL-5812", "ABCD-1234", "ABCD-1234"]
    b = ["ABCD-1284", "ABCD-12345", "ABC-1234", "ABDC-1234", "AB0D-II34", "ABXY-1234",
         "SBIL-5877", "WXYZ-1234", "ABCD-1234x7"]
    got = _classes(a, b, (2, 2, 2, 2))
    assert got == ["one edit", "one edit", "one edit", "transposition", "confusable",
                   "component", "component", "none", "none"]
    # without declared components a whole component is no candidate
    assert _classes(a[5:6], b[5:6]) == ["none"]


def test_candidates_are_checked_not_just_blocked() -> None:
    # "abc" and "bcd" share the deletion string "bc" but are two edits apart
    assert _classes(["abcxyz"], ["bcxyzq"]) == ["none"]


_SHORT = st.text(alphabet=st.sampled_from(list("ab01os5")), min_size=1, max_size=6)


@given(st.lists(_SHORT, min_size=1, max_size=40), st.lists(_SHORT, min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_candidate_search_equals_all_pairs_reference(a: list[str], b: list[str]) -> None:
    # The blocked search finds exactly the pairs a plain all-pairs scan finds: keys that
    # differ but are within one edit or swap after folding look-alikes.
    from rapidfuzz.distance import OSA

    k1, k2 = normalise_array(a), normalise_array(b)
    c = find_candidates(k1, k2, np.arange(len(a)), np.arange(len(b)))
    got = set(zip(c.pos1.tolist(), c.pos2.tolist(), strict=True))
    fold = str.maketrans("o0il1s5b8", "001115588")
    want = {(i, j) for i, x in enumerate(a) for j, y in enumerate(b)
            if x != y and OSA.distance(x.translate(fold), y.translate(fold)) <= 1}
    # blocks shared by more than MAX_BLOCK keys are skipped (none at these sizes)
    assert c.skipped_blocks == 0 and got == want


def _waves(keys1: list[str], keys2: list[str], areas2: list[str] | None = None
           ) -> tuple[object, object]:
    n1, n2 = len(keys1), len(keys2)
    w1 = make_wave(1, {"respondent_id": [f"a{i}" for i in range(n1)], "link_key": keys1,
                       "group": ["Service user"] * n1, "area": ["E1"] * n1,
                       "age_band": [3] * n1, "gender": [1] * n1})
    w2 = make_wave(2, {"respondent_id": [f"b{i}" for i in range(n2)], "link_key": keys2,
                       "group": ["Service user"] * n2,
                       "area": areas2 or ["E1"] * n2,
                       "age_band": [3] * n2, "gender": [1] * n2})
    return w1, w2


_K1 = ["KEY-0001", "KEY-0002", "KEY-0003", "ABCD-1234", "WXYZ-9876", "QRST-5555"]
_K2 = ["key0001", "KEY-0002", "KEY-0003", "ABDC-1234", "WXYZ-9B76", "NEW-KEY-1"]


def test_policies_never_silent() -> None:
    w1, w2 = _waves(_K1, _K2)
    exact = link_waves(w1, w2)  # default: candidates counted and listed, never linked
    assert exact.n_pairs == 3
    t = exact.report.tolerant["All"]
    assert t["candidate pairs"] == 2 and t["candidates linked"] == 0
    assert t["candidates undecided"] == 2
    assert "candidate pairs not linked" in str(exact.report)
    auto = link_waves(w1, w2, linkage="auto", min_score=-100)
    assert auto.n_pairs == 5 and auto.report.tolerant.loc["candidates linked", "All"] == 2
    assert auto.exact_linkage().n_pairs == 3
    assert auto.report.counts.loc["wave-1 only", "All"] == 1
    assert auto.report.accounting()["balanced"].all()
    strict = link_waves(w1, w2, linkage="auto", min_score=1000)
    assert strict.n_pairs == 3
    assert strict.report.tolerant.loc["candidates rejected", "All"] == 2
    with pytest.raises(LinkageError, match="linkage"):
        link_waves(w1, w2, linkage="fuzzy")
    with pytest.raises(LinkageError, match="review file"):
        link_waves(w1, w2, linkage="reviewed")


def test_group_conflicts_and_ties_are_never_auto_linked() -> None:
    w1 = make_wave(1, {"respondent_id": ["a", "b", "c"], "link_key": ["ABCD-1234", "ZZZZ-0001",
                                                                      "ZZZZ-0003"],
                       "group": ["Service user", "Carer", "Carer"]})
    w2 = make_wave(2, {"respondent_id": ["x", "y"], "link_key": ["ABCD-1243", "ZZZZ-0002"],
                       "group": ["Carer", "Carer"]})
    study = link_waves(w1, w2, linkage="auto", min_score=-100)
    assert study.n_pairs == 0
    t = study.report.tolerant["All"]
    assert t["not linked: group differs"] == 1
    assert t["not linked: another candidate as good"] == 2


def test_review_file_round_trip_reproduces_and_checks(tmp_path: Path) -> None:
    w1, w2 = _waves(_K1, _K2)
    path = write_review_file(link_waves(w1, w2), tmp_path / "review.csv")
    review = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(review.columns[:7]) == ["row_wave1", "row_wave2", "key_wave1", "key_wave2",
                                        "difference", "distance", "score"]
    assert {"agree_group", "agree_area", "decision"} <= set(review.columns)
    assert (review["decision"] == "").all()
    review.loc[review["key_wave2"] == "abdc1234", "decision"] = "accept"
    review.loc[review["key_wave2"] == "wxyz9b76", "decision"] = "reject"
    review.to_csv(path, index=False)
    digest = review_sha256(path)
    first = link_waves(w1, w2, linkage="reviewed", review=path, review_sha256=digest)
    again = link_waves(w1, w2, linkage="reviewed", review=path, review_sha256=digest)
    assert first.n_pairs == 4
    assert first.source_rows().equals(again.source_rows())
    assert first.report.review_sha256 == digest
    t = first.report.tolerant["All"]
    assert (t["candidates linked"], t["candidates rejected"]) == (1, 1)
    # a changed file is refused when the plan names its hash
    review.loc[0, "decision"] = "reject"
    review.to_csv(path, index=False)
    with pytest.raises(LinkageError, match="SHA-256"):
        link_waves(w1, w2, linkage="reviewed", review=path, review_sha256=digest)
    # every problem of the file at once: a bad decision and a pair that is no candidate
    review.loc[0, "decision"] = "maybe"
    extra = review.iloc[[1]].assign(row_wave1="99", decision="accept")
    pd.concat([review, extra]).to_csv(path, index=False)
    with pytest.raises(LinkageError) as info:
        link_waves(w1, w2, linkage="reviewed", review=path)
    problems = info.value.problems
    assert len(problems) == 2 and set(problems["file"]) == {"review.csv"}
    assert set(problems["row"]) == {2, 4}


def test_pseudonymised_review_shows_pseudonyms_only(tmp_path: Path) -> None:
    w1, w2 = _waves(_K1, _K2)
    study = link_waves(w1, w2, secret="s3cret")
    text = write_review_file(study, tmp_path / "r.csv").read_text()
    for raw in _K1 + _K2:
        assert raw not in text and raw.lower().replace("-", "") not in text
    cand = study.report.candidates
    assert cand["key_wave1"].str.fullmatch("[0-9a-f]{64}").all()


def test_plan_linkage_keys() -> None:
    plan = AnalysisPlan.from_mapping({"linkage": {
        "linkage": "auto", "min_score": 8, "agreement": ["group", "age_band"],
        "key_components": [2, 2, 2, 2]}})
    opts = plan.linkage_options()
    assert opts["linkage"] == "auto" and opts["min_score"] == 8.0
    assert opts["agreement"] == ("group", "age_band") and opts["key_components"] == (2, 2, 2, 2)
    assert plan.to_dict()["key_components"] == [2, 2, 2, 2]
    from crisis_survey import PlanError

    with pytest.raises(PlanError) as info:
        AnalysisPlan.from_mapping({"linkage": {"linkage": "reviewed", "min_score": "x",
                                               "key_components": [0]}})
    text = str(info.value)
    assert "review_file and review_sha256" in text and "min_score" in text
    assert "key_components" in text


def test_agreement_fields_by_role_or_name() -> None:
    from crisis_survey.link._tolerant import agreement_fields

    assert agreement_fields(CB, ["group", "demographic"]) == [
        "group", "age_band", "gender", "ethnicity"]
    assert agreement_fields(CB, ["area", "gender"]) == ["area", "gender"]
    with pytest.raises(LinkageError, match="neither a codebook role"):
        agreement_fields(CB, ["postcode"])


# -- measured on generated studies with retyped keys -------------------------------------------
def _generated(n_su: int, n_c: int, seed: int, rate: float) -> tuple[SyntheticStudy, object,
                                                                      object]:
    study = generate_study(n_service_users=n_su, n_carers=n_c, seed=seed, retyped_keys=rate,
                           n_new_wave2=(n_su + n_c) // 4)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_study(study, folder, formats=["parquet"], readme=False)
        p1, p2 = sorted(paths, key=lambda p: p.stem)[:2]
        return study, load_wave(p1, CB, wave=1), load_wave(p2, CB, wave=2)


def accuracy(study: SyntheticStudy, linked: object) -> dict[str, float]:
    """Recovery of the retyped returners who could be linked, and the false-link rate of
    the links made beyond the exact ones, from the generator's truth."""
    tr = study.truth
    person = dict(zip(zip(tr["wave"], tr["respondent_id"], strict=True), tr["person"],
                      strict=True))
    pairs = linked.pairs  # type: ignore[attr-defined]
    rid = CB.identifier.name
    p1 = np.array([person[(1, r)] for r in pairs[(1, rid)]])
    p2 = np.array([person[(2, r)] for r in pairs[(2, rid)]])
    exact = set(linked.exact_linkage().pairs[(1, rid)])  # type: ignore[attr-defined]
    tolerant = ~pairs[(1, rid)].isin(exact).to_numpy()
    t1, t2 = tr[tr["wave"] == 1], tr[tr["wave"] == 2]
    once = (t1["person"].value_counts() == 1) & True
    single1 = set(once[once].index)
    once2 = t2["person"].value_counts() == 1
    single2 = set(once2[once2].index)
    blank1 = set(t1.loc[t1["key_style"] == "blank", "person"])
    can = t2[(t2["key_error"] != "none") & t2["person"].isin(single1)
             & t2["person"].isin(single2) & ~t2["group_conflict"] & ~t2["person"].isin(blank1)]
    right = set(p1[p1 == p2])
    return {
        "retyped": float(len(can)),
        "recovered": float(can["person"].isin(right).mean()),
        "tolerant_links": float(tolerant.sum()),
        "false_link_rate": float((p1 != p2)[tolerant].sum() / max(tolerant.sum(), 1)),
        "false_links_all": float((p1 != p2).sum()),
    }


def test_auto_policy_recovers_retyped_returners() -> None:
    # The documented default threshold on a study of 4,000 in wave 1 with 30% of the
    # returners' keys retyped (each error kind, the truth says which).
    study, w1, w2 = _generated(2800, 1200, 16, 0.3)
    linked = link_waves(w1, w2, linkage="auto", key_components=KEY_COMPONENTS)
    acc = accuracy(study, linked)
    assert acc["retyped"] > 300
    assert acc["recovered"] >= 0.95, acc
    assert acc["false_link_rate"] < 0.005
    exact = link_waves(w1, w2, key_components=KEY_COMPONENTS)
    assert accuracy(study, exact)["recovered"] < 0.3  # only the invisible ones link exactly
    # the report counts what it linked and what is left
    t = linked.report.tolerant["All"]
    assert t["candidates linked"] == acc["tolerant_links"]
    assert exact.report.tolerant.loc["returners still missed (estimate)", "All"] >= 0.9 * (
        acc["tolerant_links"])


@pytest.mark.slow
def test_auto_policy_recovers_retyped_returners_at_20000() -> None:
    study, w1, w2 = _generated(14000, 6000, 7, 0.3)
    acc = accuracy(study, link_waves(w1, w2, linkage="auto", key_components=KEY_COMPONENTS))
    assert acc["recovered"] >= 0.95 and acc["false_link_rate"] < 0.005


# -- no key reaches a published output -------------------------------------------------------
def _published_texts(folder: Path) -> list[tuple[str, str]]:
    """Every file the report wrote, as text: text files, the XML inside .docx/.xlsx, and
    the raw bytes of PNG/PDF figures (decoded leniently)."""
    import zipfile

    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        if path.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as z:
                out += [(f"{path.name}:{n}", z.read(n).decode("utf-8", "replace"))
                        for n in z.namelist()]
        else:
            out.append((path.name, path.read_bytes().decode("utf-8", "replace")))
    return out


def test_reviewed_report_publishes_no_key_and_shows_both_linkages(tmp_path: Path) -> None:
    from crisis_survey._cli import main
    from crisis_survey.link import normalise_keys

    study = generate_study(seed=3, retyped_keys=0.5)
    data = tmp_path / "data"
    paths = write_study(study, data, formats=["csv"], readme=False)
    p1, p2 = sorted(paths, key=lambda p: p.stem)[:2]
    w1, w2 = load_wave(p1, CB, wave=1), load_wave(p2, CB, wave=2)
    review = write_review_file(link_waves(w1, w2), data / "review.csv")
    table = pd.read_csv(review, dtype=str, keep_default_na=False)
    assert len(table) >= 20
    table["decision"] = np.where(table["agree_group"] == "yes", "accept", "reject")
    table.to_csv(review, index=False)
    plan = tmp_path / "plan.toml"
    plan.write_text(f'[linkage]\nlinkage = "reviewed"\nreview_file = "data/review.csv"\n'
                    f'review_sha256 = "{review_sha256(review)}"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["report", "--wave1", str(p1), "--wave2", str(p2), "--plan", str(plan),
                 "--out", str(out)]) == 0
    names = {p.name for p in out.rglob("*")}
    assert "review.csv" not in names
    assert any(n.startswith("linkage_sensitivity") for n in names)
    assert any(n.startswith("tolerant_linkage") for n in names)
    secrets: set[str] = set()
    for wave in (study.wave1, study.wave2):
        keys = wave["link_key"].dropna().astype(str)
        secrets |= {k.strip() for k in keys if k.strip()}
        secrets |= set(normalise_keys(keys).dropna())
        secrets |= set(wave["respondent_id"].dropna())
    secrets |= set(table["key_wave1"]) | set(table["key_wave2"])
    assert len(secrets) > 1000
    texts = _published_texts(out)
    assert len(texts) > 20
    for name, text in texts:
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{name} contains {leaked[:3]}"
