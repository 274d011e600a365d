"""Tests of crisis_survey.link: key normalisation, linkage rules, the report's accounting,
pseudonymisation, the LinkedStudy API and linkage properties.

Linkage is deterministic bookkeeping, so the reference here is (a) hand-worked small cases,
(b) a deliberately naive pure-Python implementation of the rules in docs/linkage.md
(`_reference_statuses`), compared on random data, and (c) RFC 4231's HMAC-SHA256 test
vectors for pseudonymisation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _waves import CODEBOOK, make_wave, random_waves, relabel
from crisis_survey import CrisisSurveyError, LinkageError
from crisis_survey.link import (
    LinkageReport,
    LinkedStudy,
    link_waves,
    normalise_keys,
    pseudonymise,
)
from crisis_survey.link._keys import _normalise_one
from crisis_survey.load._wave import SurveyWave

SU, CARER = CODEBOOK.group.labels


def _wave(n: int, keys: list[Any], groups: list[str] | None = None,
          **extra: list[Any]) -> SurveyWave:
    cols: dict[str, list[Any]] = {
        "respondent_id": [f"id{n}-{i}" for i in range(len(keys))],
        "link_key": keys,
        "group": groups if groups is not None else [CARER] * len(keys),
    }
    cols.update(extra)
    return make_wave(n, cols)


def _counts(study: LinkedStudy, column: str = "All") -> dict[str, int]:
    return {k: int(v) for k, v in study.report.counts[column].dropna().items()}


# ---------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("AB12", "ab12"),                      # case
    ("  ab12\t", "ab12"),                  # surrounding white space
    ("ab 12", "ab12"),                     # inner space
    ("a-b_1.2/3\\4", "ab1234"),            # hyphen, underscore, full stop, both slashes
    ("Jane.Doe@Example.ORG", "janedoe@exampleorg"),
    ("ab\u00a012", "ab12"),                # no-break space (NFKC -> space, removed)
    ("ab\u201312", "ab12"),                # en dash
    ("ab\u221212", "ab12"),                # minus sign
    ("ab\u200b12", "ab12"),                # zero-width space from copy-and-paste
    ("\uff21\uff22\uff11\uff12", "ab12"),  # full-width letters and digits (NFKC)
    ("STRASSE", "strasse"),
    ("Stra\u00dfe", "strasse"),            # casefold, not lower: sharp s -> ss
    ("ÉCOLE-7", "école7"),
    ("ab+12", "ab+12"),                    # other punctuation is kept
    # invisible characters: a key that looks the same is the same
    ("ab\u202e12", "ab12"),                # RIGHT-TO-LEFT OVERRIDE (format, Cf)
    ("ab\u180e12", "ab12"),                # MONGOLIAN VOWEL SEPARATOR (Cf)
    ("ab\u034f12", "ab12"),                # COMBINING GRAPHEME JOINER (Mn, ignorable)
    ("ab\x0012", "ab12"),                  # NUL
    ("ab12\x7f", "ab12"),                  # DEL
    ("\x01ab\x1b12", "ab12"),              # other ASCII controls (fast path)
    ("ab\u200e\u200f\u2066\u206912", "ab12"),  # direction marks and isolates
    ("ab\ufe0f12\u3164", "ab12"),          # variation selector, Hangul filler
    ("a\u034f\u0301b", "\u00e1b"),         # removing the joiner lets the accent compose
])
def test_normalise_examples(raw: str, expected: str) -> None:
    assert normalise_keys([raw]).tolist() == [expected]


@pytest.mark.parametrize("raw", [None, np.nan, pd.NA, "", "   ", "-", " ._/ ", "\u200b",
                                 "\u202e\u034f", "\x00"])
def test_missing_or_empty_keys_normalise_to_missing(raw: Any) -> None:
    assert normalise_keys(pd.Series([raw], dtype=object)).isna().all()


def test_normalise_keeps_index_and_name_and_accepts_str_dtype() -> None:
    s = pd.Series(["A-1", None, "b 2"], index=[10, 11, 12], name="link_key", dtype="str")
    out = normalise_keys(s)
    assert out.index.tolist() == [10, 11, 12] and out.name == "link_key"
    assert out.iloc[0] == "a1" and pd.isna(out.iloc[1]) and out.iloc[2] == "b2"
    # a sliced arrow-backed column (non-zero offset) gives the same result
    assert normalise_keys(s.iloc[1:]).tolist() == out.iloc[1:].tolist()


def test_normalise_rejects_non_text() -> None:
    with pytest.raises(LinkageError, match="not text"):
        normalise_keys(pd.Series(["a", 12], dtype=object))
    with pytest.raises(LinkageError, match="sequence"):
        normalise_keys("abc")  # type: ignore[arg-type]
    with pytest.raises(LinkageError, match="UTF-8"):
        normalise_keys(["ok", "a\udc80"])  # a lone surrogate


_ASCII = st.text(
    alphabet=st.sampled_from(list("aAbBzZ09 -_./\\\t\n\x0b\x0c\x1c\x1f+@\x00\x7f\x1b")),
    max_size=12)


@given(st.lists(st.one_of(_ASCII, st.text(max_size=8), st.none()), max_size=30))
@settings(max_examples=300, deadline=None)
def test_fast_path_equals_python_reference(keys: list[str | None]) -> None:
    # The Arrow/bytes fast path must agree with the plain-Python definition on any text.
    got = normalise_keys(keys).tolist()
    want = [None if k is None or _normalise_one(k) == "" else _normalise_one(k) for k in keys]
    assert [None if pd.isna(g) else g for g in got] == want


@given(st.lists(st.one_of(_ASCII, st.text(max_size=8)), max_size=20))
@settings(max_examples=100, deadline=None)
def test_normalisation_is_idempotent(keys: list[str]) -> None:
    once = normalise_keys(keys)
    twice = normalise_keys(once)
    pd.testing.assert_series_equal(once, twice)


# ---------------------------------------------------------------------------------------
# linkage rules on hand-worked cases
# ---------------------------------------------------------------------------------------
def test_differently_typed_keys_link() -> None:
    w1 = _wave(1, ["AB-12", " cd_34 ", "Ef.56/", "gh78"])
    w2 = _wave(2, ["ab12", "CD 34", "ef56", "ij90"])
    study = link_waves(w1, w2)
    assert sorted(study.pairs.index) == ["ab12", "cd34", "ef56"]
    c = _counts(study)
    assert (c["linked"], c["wave-1 only"], c["wave-2 only"]) == (3, 1, 1)
    assert study.report.wave1_only_keys.tolist() == ["gh78"]
    assert study.report.wave1_only_keys.index.tolist() == [5]  # spreadsheet row
    assert study.report.wave2_only_keys.tolist() == ["ij90"]


def test_duplicates_within_wave1_are_never_linked() -> None:
    w1 = _wave(1, ["a1", "A-1", "b2"])
    w2 = _wave(2, ["a1", "b2"])
    study = link_waves(w1, w2)
    assert study.pairs.index.tolist() == ["b2"]
    c = _counts(study)
    assert c["duplicate keys wave 1"] == 2  # both rows sharing "a1"
    assert c["duplicate keys wave 2"] == 1  # its one wave-2 match cannot be resolved
    dup = study.report.duplicate_keys
    assert dup[["wave", "row"]].values.tolist() == [[1, 2], [1, 3], [2, 2]]
    assert set(dup["link_key"]) == {"a1"}
    assert dup["n_wave1"].tolist() == [2, 2, 2] and dup["n_wave2"].tolist() == [1, 1, 1]
    assert dup["reason"].tolist() == ["key shared by more than one row of wave 1"] * 3
    assert study.link_status(1).astype(str).tolist() == ["duplicate key"] * 2 + ["linked"]


def test_duplicates_within_wave2_are_never_linked() -> None:
    w1 = _wave(1, ["a1", "b2", "c3"])
    w2 = _wave(2, ["a1", "B2", "b-2", "b2", "c3"])
    study = link_waves(w1, w2)
    assert sorted(study.pairs.index) == ["a1", "c3"]
    c = _counts(study)
    assert (c["duplicate keys wave 1"], c["duplicate keys wave 2"]) == (1, 3)
    dup = study.report.duplicate_keys
    assert dup.loc[dup["wave"] == 2, "n_wave2"].tolist() == [3, 3, 3]
    assert dup.loc[dup["wave"] == 1, "reason"].item() == (
        "key shared by more than one row of wave 2")


def test_duplicates_in_both_waves_and_alone() -> None:
    w1 = _wave(1, ["x", "x", "y", "y", "z"])
    w2 = _wave(2, ["x", "x", "z"])
    study = link_waves(w1, w2)
    c = _counts(study)
    assert (c["duplicate keys wave 1"], c["duplicate keys wave 2"], c["linked"]) == (4, 2, 1)
    assert c["wave-1 only"] == 0  # "y" is duplicated: not counted as wave-1 only


def test_missing_keys_never_link_even_to_each_other() -> None:
    w1 = _wave(1, [None, "", "  ", "-", "k"])
    w2 = _wave(2, [None, "", "K"])
    study = link_waves(w1, w2)
    c = _counts(study)
    assert (c["missing key wave 1"], c["missing key wave 2"], c["linked"]) == (4, 2, 1)
    assert study.pairs.index.tolist() == ["k"]
    assert study.report.duplicate_keys.empty


def test_group_conflict_is_not_linked_but_listed_and_counted() -> None:
    w1 = _wave(1, ["p1", "p2", "p3"], [SU, SU, CARER])
    w2 = _wave(2, ["p1", "p2", "p3"], [SU, CARER, CARER])
    study = link_waves(w1, w2)
    assert sorted(study.pairs.index) == ["p1", "p3"]
    counts = study.report.counts
    assert counts.loc["group conflicts wave 1"].tolist() == [1, 1, 0]  # All, SU, Carer
    assert counts.loc["group conflicts wave 2"].tolist() == [1, 0, 1]
    conflicts = study.report.conflicts
    assert conflicts.to_dict("records") == [{
        "link_key": "p2", "kind": "group", "row_wave1": 3, "row_wave2": 3,
        "value_wave1": SU, "value_wave2": CARER, "linked": False}]
    # both rows stay available as unpaired observations
    assert study.unpaired(1).index.tolist() == [3]
    assert study.unpaired(2).index.tolist() == [3]
    assert study.link_status(2).astype(str).tolist() == ["linked", "group conflict", "linked"]


def test_area_difference_is_linked_and_listed() -> None:
    w1 = _wave(1, ["p1", "p2", "p3"], area=["E01", "E01", None])
    w2 = _wave(2, ["p1", "p2", "p3"], area=["E01", "E02", "E02"])
    study = link_waves(w1, w2)
    assert study.n_pairs == 3
    conflicts = study.report.conflicts
    assert conflicts[["link_key", "kind", "value_wave1", "value_wave2", "linked"]].values.tolist(
    ) == [["p2", "area", "E01", "E02", True]]  # a missing area is not a conflict
    assert _counts(study)["area differs (linked)"] == 1
    # the pair keeps both areas
    assert study.pairs.loc["p2", (1, "area")] == "E01"
    assert study.pairs.loc["p2", (2, "area")] == "E02"


def test_pairs_layout_and_alignment() -> None:
    w1 = _wave(1, ["k1", "k2", "k3"], [SU, CARER, SU],
               overall_rating=["Good", "Poor", None])
    w2 = _wave(2, ["K3", "k1", "k9"], [SU, SU, CARER],
               overall_rating=["Excellent", "Fair", "Good"])
    study = link_waves(w1, w2)
    pairs = study.pairs
    assert pairs.index.name == "link_key" and pairs.index.is_unique
    assert list(pairs.columns.names) == ["wave", "field"]
    assert pairs.columns[0] == ("", "group")
    assert ("", "group") in pairs.columns and (1, "link_key") not in pairs.columns
    assert set(pairs[1].columns) == set(w1.data.columns) - {"link_key"}
    # aligned by respondent: wave-1 row of k1 with wave-2 row of k1
    assert pairs.loc["k1", (1, "respondent_id")] == "id1-0"
    assert pairs.loc["k1", (2, "respondent_id")] == "id2-1"
    assert pairs.loc["k1", (1, "overall_rating")] == "Good"
    assert pairs.loc["k1", (2, "overall_rating")] == "Fair"
    assert pairs[(1, "overall_rating")].dtype == w1.data["overall_rating"].dtype  # ordered
    assert pairs[(1, "overall_rating")].cat.ordered
    assert pairs[("", "group")].tolist() == [SU, SU]
    x, y = study.paired_item("overall_rating")
    assert x.index.equals(y.index) and x.name == "overall_rating"
    assert x.loc["k3"] is np.nan or pd.isna(x.loc["k3"])
    assert y.loc["k3"] == "Excellent"
    rows = study.source_rows()
    assert rows.loc["k1"].tolist() == [2, 3] and rows.loc["k3"].tolist() == [4, 2]


def test_paired_item_needs_both_waves() -> None:
    w1 = _wave(1, ["k1"])
    w2 = _wave(2, ["k1"], aware_concordat=["Yes"])
    with pytest.raises(CrisisSurveyError, match="not in wave 1"):
        link_waves(w1, w2).paired_item("aware_concordat")


def test_unpaired_status_and_groups() -> None:
    w1, w2 = random_waves(3, 60, 50)
    study = link_waves(w1, w2)
    for w, wave in ((1, w1), (2, w2)):
        status = study.link_status(w)
        assert status.index.equals(wave.data.index)
        unpaired = study.unpaired(w)
        assert unpaired.index.tolist() == status.index[status != "linked"].tolist()
        assert list(unpaired.columns) == list(wave.data.columns)
        assert len(unpaired) + study.n_pairs == len(wave.data)
    assert study.groups == (SU, CARER)
    assert study.wave_data(1).equals(w1.data)


# ---------------------------------------------------------------------------------------
# accounting, and a naive reference implementation of the rules
# ---------------------------------------------------------------------------------------
def _reference_statuses(w1: SurveyWave, w2: SurveyWave) -> tuple[list[str], list[str]]:
    """The rules of docs/linkage.md, written as plainly as possible (slow, per row)."""
    def norm(v: Any) -> str | None:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        return _normalise_one(v) or None

    keys = [[norm(v) for v in w.data["link_key"]] for w in (w1, w2)]
    groups = [[str(g) for g in w.data["group"]] for w in (w1, w2)]
    counts = [Counter(k for k in ks if k is not None) for ks in keys]
    out: list[list[str]] = [[], []]
    for i in (0, 1):
        j = 1 - i
        for key, group in zip(keys[i], groups[i], strict=True):
            if key is None:
                out[i].append("missing key")
            elif counts[i][key] > 1 or counts[j][key] > 1:
                out[i].append("duplicate key")
            elif counts[j][key] == 0:
                out[i].append(f"wave-{i + 1} only")
            else:
                other_group = groups[j][keys[j].index(key)]
                out[i].append("linked" if other_group == group else "group conflict")
    return out[0], out[1]


_SIZES = st.tuples(st.integers(0, 80), st.integers(0, 80), st.integers(0, 10_000))


@given(_SIZES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_statuses_match_reference_and_accounting_holds(sizes: tuple[int, int, int]) -> None:
    n1, n2, seed = sizes
    w1, w2 = random_waves(seed, n1, n2, p_repeat=0.1, p_group_switch=0.1)
    study = link_waves(w1, w2)
    ref1, ref2 = _reference_statuses(w1, w2)
    assert study.link_status(1).astype(str).tolist() == ref1
    assert study.link_status(2).astype(str).tolist() == ref2
    counts = study.report.counts
    # every kept row is in exactly one category, per wave and per group column
    for w, ref in ((1, ref1), (2, ref2)):
        parts = ["linked", f"wave-{w} only", f"duplicate keys wave {w}",
                 f"group conflicts wave {w}", f"missing key wave {w}"]
        assert (counts.loc[parts].sum() == counts.loc[f"wave-{w} respondents"]).all()
        assert counts.loc[f"wave-{w} respondents", "All"] == len(ref)
        tally = Counter(ref)
        assert counts.loc[f"duplicate keys wave {w}", "All"] == tally["duplicate key"]
        assert counts.loc[f"missing key wave {w}", "All"] == tally["missing key"]
        wave = study.wave(w)
        assert counts.loc[f"excluded at loading wave {w}", "All"] == len(wave.exclusions)
        assert pd.isna(counts.loc[f"excluded at loading wave {w}", SU])
    acc = study.report.accounting()
    assert acc["balanced"].all()
    assert acc["rows_read"].tolist() == [w1.rows_read, w2.rows_read]
    assert counts.loc["linked", "All"] == ref1.count("linked") == ref2.count("linked")
    # the listed keys match the counts
    dup = study.report.duplicate_keys
    assert (dup["wave"] == 1).sum() == ref1.count("duplicate key")
    assert len(study.report.wave1_only_keys) == ref1.count("wave-1 only")
    assert (study.report.conflicts["kind"] == "group").sum() == ref1.count("group conflict")


def test_exclusions_at_loading_are_carried_into_the_report() -> None:
    w1 = make_wave(1, {"respondent_id": ["a", "b"], "link_key": ["k1", "k2"],
                       "group": [SU, SU]}, rows=[2, 5], excluded_rows=[3, 4])
    w2 = make_wave(2, {"respondent_id": ["c"], "link_key": ["k1"], "group": [SU]},
                   excluded_rows=[3])
    report = link_waves(w1, w2).report
    assert report.counts.loc["excluded at loading wave 1", "All"] == 2
    assert report.counts.loc["excluded at loading wave 2", "All"] == 1
    acc = report.accounting()
    assert acc.loc[1, ["rows_read", "excluded_at_loading", "respondents"]].tolist() == [4, 2, 2]


# ---------------------------------------------------------------------------------------
# properties: row order, identifiers, swapping the waves
# ---------------------------------------------------------------------------------------
def _shuffled(wave: SurveyWave, seed: int) -> SurveyWave:
    order = np.random.default_rng(seed).permutation(len(wave.data))
    return SurveyWave(wave.wave, wave.codebook, wave.source, wave.sha256,
                      wave.data.iloc[order], wave.missing_reasons.iloc[order], wave.exclusions)


def _sorted_pairs(study: LinkedStudy) -> pd.DataFrame:
    return study.pairs.sort_index()


@given(_SIZES, st.integers(0, 2**16), st.booleans())
@settings(max_examples=40, deadline=None)
def test_row_order_does_not_matter(sizes: tuple[int, int, int], perm_seed: int,
                                   both: bool) -> None:
    n1, n2, seed = sizes
    w1, w2 = random_waves(seed, n1, n2)
    base = link_waves(w1, w2)
    other = link_waves(_shuffled(w1, perm_seed), _shuffled(w2, perm_seed + 1) if both else w2)
    pd.testing.assert_frame_equal(_sorted_pairs(base), _sorted_pairs(other))
    pd.testing.assert_frame_equal(base.report.counts, other.report.counts)
    pd.testing.assert_frame_equal(base.report.duplicate_keys, other.report.duplicate_keys)
    pd.testing.assert_series_equal(base.link_status(1).sort_index(),
                                   other.link_status(1).sort_index())


@given(_SIZES)
@settings(max_examples=30, deadline=None)
def test_renaming_respondent_ids_changes_nothing(sizes: tuple[int, int, int]) -> None:
    n1, n2, seed = sizes
    w1, w2 = random_waves(seed, n1, n2)
    base = link_waves(w1, w2)
    other = link_waves(relabel(w1), relabel(w2, prefix="Y"))
    drop = [(1, "respondent_id"), (2, "respondent_id")]
    pd.testing.assert_frame_equal(base.pairs.drop(columns=drop), other.pairs.drop(columns=drop))
    pd.testing.assert_frame_equal(base.report.counts, other.report.counts)
    assert other.pairs[(1, "respondent_id")].str.endswith("-renamed").all()


@given(_SIZES)
@settings(max_examples=30, deadline=None)
def test_swapping_the_waves_swaps_the_one_wave_counts(sizes: tuple[int, int, int]) -> None:
    n1, n2, seed = sizes
    w1, w2 = random_waves(seed, n1, n2)
    base = link_waves(w1, w2)
    swapped = link_waves(
        SurveyWave(1, w2.codebook, w2.source, w2.sha256, w2.data, w2.missing_reasons,
                   w2.exclusions),
        SurveyWave(2, w1.codebook, w1.source, w1.sha256, w1.data, w1.missing_reasons,
                   w1.exclusions),
    )
    a, b = base.report.counts, swapped.report.counts
    for left, right in [("wave-1 only", "wave-2 only"),
                        ("wave-1 respondents", "wave-2 respondents"),
                        ("duplicate keys wave 1", "duplicate keys wave 2"),
                        ("group conflicts wave 1", "group conflicts wave 2"),
                        ("missing key wave 1", "missing key wave 2"),
                        ("excluded at loading wave 1", "excluded at loading wave 2")]:
        pd.testing.assert_series_equal(a.loc[left], b.loc[right], check_names=False)
        pd.testing.assert_series_equal(a.loc[right], b.loc[left], check_names=False)
    pd.testing.assert_series_equal(a.loc["linked"], b.loc["linked"])
    assert sorted(base.pairs.index) == sorted(swapped.pairs.index)
    pd.testing.assert_frame_equal(base.pairs[1].sort_index(), swapped.pairs[2].sort_index())


# ---------------------------------------------------------------------------------------
# subsets
# ---------------------------------------------------------------------------------------
def test_subset_by_group_matches_the_group_column_of_the_full_report() -> None:
    w1, w2 = random_waves(11, 300, 260, p_group_switch=0.1)
    study = link_waves(w1, w2)
    for label in (SU, CARER):
        sub = study.subset(group=label)
        full = study.report.counts
        rows = [r for r in full.index if not r.startswith("excluded")]
        assert sub.report.counts.loc[rows, "All"].tolist() == full.loc[rows, label].tolist()
        assert (sub.pairs[("", "group")] == label).all()
        assert len(sub.pairs) == full.loc["linked", label]
        assert (sub.wave1.data["group"] == label).all()
        assert sub.report.accounting()["balanced"].all()
        assert f"group = {label}" in str(sub)
        # linkage is not redone: statuses are those of the full study
        pd.testing.assert_series_equal(
            sub.link_status(1), study.link_status(1).loc[sub.wave1.data.index])
    both = study.subset(group=[SU, CARER])
    assert both.n_pairs == study.n_pairs


def test_subset_by_area_selects_pairs_on_their_wave1_area() -> None:
    w1 = _wave(1, ["k1", "k2", "k3", "k4"], area=["E01", "E02", "E01", "E01"])
    w2 = _wave(2, ["k1", "k2", "k5"], area=["E02", "E01", "E01"])
    sub = link_waves(w1, w2).subset(area="E01")
    assert sub.pairs.index.tolist() == ["k1"]          # wave-1 area E01, moved to E02
    assert sub.wave2.data.index.tolist() == [2, 4]     # k1's wave-2 row, and k5 (own area)
    assert sub.wave1.data.index.tolist() == [2, 4, 5]
    assert sub.wave2.rows_read == 2


def test_subset_on_a_wave2_only_field_uses_wave2_values() -> None:
    w1 = _wave(1, ["k1", "k2", "k3"])
    w2 = _wave(2, ["k1", "k2", "k4"], aware_concordat=["Yes", "No", "Yes"])
    sub = link_waves(w1, w2).subset(aware_concordat="Yes")
    assert sub.pairs.index.tolist() == ["k1"]
    assert sub.wave1.data.index.tolist() == [2]  # unlinked wave-1 rows cannot be judged
    assert sub.wave2.data.index.tolist() == [2, 4]


def test_subset_errors() -> None:
    study = link_waves(_wave(1, ["k1"]), _wave(2, ["k1"]))
    with pytest.raises(CrisisSurveyError, match="no level 'Carers'"):
        study.subset(group="Carers")
    with pytest.raises(CrisisSurveyError, match="not a column"):
        study.subset(region="North")
    assert study.subset() is study


# ---------------------------------------------------------------------------------------
# pseudonymisation
# ---------------------------------------------------------------------------------------
# RFC 4231 section 4, HMAC-SHA-256 outputs of test cases 1, 2, 6 and 7 (the cases whose
# data are text; 3-5 use non-UTF-8 bytes, and link keys are text).
RFC4231 = [
    (b"\x0b" * 20, "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 131, "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, "This is a test using a larger than block-size key and a larger than "
     "block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


@pytest.mark.parametrize(("key", "data", "digest"), RFC4231)
def test_rfc4231_vectors(key: bytes, data: str, digest: str) -> None:
    assert pseudonymise([data], key, normalise=False).tolist() == [digest]


def test_pseudonyms_are_hmac_of_the_normalised_key() -> None:
    keys = pd.Series(["AB-1", "ab 1", "Cd2", None], index=[7, 8, 9, 10])
    out = pseudonymise(keys, "s3cret")
    assert out.index.tolist() == [7, 8, 9, 10]
    assert out.iloc[0] == out.iloc[1] == hmac.new(b"s3cret", b"ab1", hashlib.sha256).hexdigest()
    assert pd.isna(out.iloc[3])
    assert out.tolist() == pseudonymise(keys, b"s3cret").tolist()  # str secret = UTF-8 bytes
    assert out.iloc[0] != pseudonymise(keys, "other").iloc[0]
    assert all(re.fullmatch("[0-9a-f]{64}", d) for d in out.dropna())


@pytest.mark.parametrize("secret", ["", b"", 12, None])
def test_bad_secret(secret: Any) -> None:
    with pytest.raises(LinkageError, match="secret"):
        pseudonymise(["a"], secret)


RAW_KEYS = ["Alice.Smith@Example.org", "bob-jones-1970", " CAROL_W ", "dave@x.org",
            "Dave@X.org", "erin.k", "frank 99", "grace-h"]


def _secret_study() -> tuple[LinkedStudy, list[str]]:
    w1 = _wave(1, [*RAW_KEYS[:6], None], [SU, SU, CARER, SU, SU, CARER, SU])
    w2 = _wave(2, ["alice smith@example.org", "BOB JONES 1970", "carol-w", "erin.k",
                   "Frank99", "grace-h"], [SU, SU, SU, CARER, SU, SU])
    problems = pd.DataFrame({"file": ["wave1.csv"] * 2, "row": [9, 10],
                             "column": ["link_key", "group"], "value": ["hank.q@z.org", "7"],
                             "problem": ["x", "y"], "expected": ["", ""]})
    exclusions = pd.DataFrame({"row": [9, 10], "reason": ["link_key: x", "group: y"],
                               "file": ["wave1.csv"] * 2, "column": ["link_key", "group"],
                               "value": ["hank.q@z.org", "7"], "problem": ["x", "y"],
                               "expected": ["", ""]})
    fields = {f.name for f in dataclasses.fields(SurveyWave)}
    extra = {"problems": problems} if "problems" in fields else {}
    w1 = dataclasses.replace(w1, exclusions=exclusions, rows_read=len(w1.data) + 2, **extra)
    secrets = ["hank.q@z.org", *RAW_KEYS, "alice smith@example.org", "BOB JONES 1970"]
    forms = set(secrets) | {k for k in normalise_keys(secrets).dropna()}
    return link_waves(w1, w2, secret=b"study secret"), sorted(forms)


def _all_text(obj: Any) -> list[str]:
    """Every string reachable in a DataFrame/Series (values, index, columns)."""
    out: list[str] = []
    if isinstance(obj, pd.DataFrame):
        out += [str(c) for c in obj.columns.to_flat_index()]
        out += [str(v) for v in obj.index]
        for col in obj.columns:
            out += [str(v) for v in obj[col].astype(object)]
    elif isinstance(obj, pd.Series):
        out += [str(v) for v in obj.index] + [str(v) for v in obj.astype(object)]
    else:
        out.append(str(obj))
    return out


def test_raw_keys_appear_nowhere_when_pseudonymised() -> None:
    study, forms = _secret_study()
    report = study.report
    places: dict[str, Any] = {
        "pairs": study.pairs, "wave1.data": study.wave1.data, "wave2.data": study.wave2.data,
        "wave1.exclusions": study.wave1.exclusions, "wave2.exclusions": study.wave2.exclusions,
        "counts": report.counts, "duplicate_keys": report.duplicate_keys,
        "conflicts": report.conflicts, "wave1_only_keys": report.wave1_only_keys,
        "wave2_only_keys": report.wave2_only_keys, "to_frame": report.to_frame(),
        "source_rows": study.source_rows(), "unpaired1": study.unpaired(1),
        "unpaired2": study.unpaired(2), "status": study.link_status(1),
        "str": str(study), "repr": repr(study), "html": study._repr_html_(),
        "report str": str(report), "report repr": repr(report),
        "report html": report._repr_html_(), "row tables": study._row_tables[0],
        "row tables 2": study._row_tables[1],
    }
    if hasattr(study.wave1, "problems"):
        places["wave1.problems"] = study.wave1.problems
    for name, obj in places.items():
        text = "\n".join(_all_text(obj)).casefold()
        for form in forms:
            assert form.casefold() not in text, f"{form!r} found in {name}"
    # the digests are there instead, and link the same respondents as raw keys do
    expected = pseudonymise(["alice.smith@example.org", "bobjones1970", "erin.k"],
                            b"study secret")
    assert set(expected).issubset(set(study.pairs.index))
    assert study.report.pseudonymised and study.pseudonymised
    assert "pseudonymised with HMAC-SHA256" in str(study)
    # exclusions' link-key value was replaced by its pseudonym, others kept
    excl = study.wave1.exclusions.set_index("column")["value"]
    assert excl["link_key"] == pseudonymise(["hank.q@z.org"], b"study secret").iloc[0]
    assert excl["group"] == "7"


def test_same_secret_same_links_and_pseudonyms() -> None:
    w1, w2 = random_waves(5, 80, 70)
    plain = link_waves(w1, w2)
    a = link_waves(w1, w2, secret="k")
    b = link_waves(w1, w2, secret=b"k")
    c = link_waves(w1, w2, secret="other")
    assert a.pairs.index.equals(b.pairs.index)
    assert not set(a.pairs.index) & set(c.pairs.index)
    pd.testing.assert_frame_equal(a.report.counts, plain.report.counts)
    assert sorted(a.pairs.index) == sorted(pseudonymise(pd.Series(plain.pairs.index), "k"))


def test_display_never_shows_keys_or_identifiers() -> None:
    w1 = _wave(1, ["secret-key-1", "secret-key-2", "secret-key-2"])
    w2 = _wave(2, ["SECRET KEY 1", "secret-key-3"], [CARER, SU])
    study = link_waves(w1, w2)  # no secret: keys are in the data, never in the display
    shown = "\n".join([str(study), repr(study), study._repr_html_(), str(study.report),
                       repr(study.report), study.report._repr_html_(),
                       study.report.to_frame().to_string(),
                       str(study.subset(group=CARER))]).casefold()
    for word in ("secret", "secretkey", "id1-", "id2-"):
        assert word not in shown
    assert "linked pairs: 1" in shown


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
def test_bad_input_errors() -> None:
    w1, w2 = _wave(1, ["a"]), _wave(2, ["a"])
    with pytest.raises(LinkageError, match="wave1 holds wave 2"):
        link_waves(w2, w1)
    with pytest.raises(LinkageError, match="SurveyWave"):
        link_waves(w1.data, w2)  # type: ignore[arg-type]
    other_cb = dataclasses.replace(CODEBOOK, version="9.9")
    with pytest.raises(LinkageError, match="different codebooks"):
        link_waves(w1, dataclasses.replace(w2, codebook=other_cb))
    no_key = dataclasses.replace(w2, data=w2.data.drop(columns=["link_key"]))
    with pytest.raises(LinkageError, match="link key column") as info:
        link_waves(w1, no_key)
    assert info.value.problems.loc[0, "column"] == "link_key"
    no_group = _wave(2, ["a", "b"], [SU, None])  # type: ignore[list-item]
    with pytest.raises(LinkageError, match="group is missing") as info:
        link_waves(w1, no_group)
    assert info.value.problems.loc[0, "row"] == 3
    dup_rows = make_wave(2, {"respondent_id": ["x", "y"], "link_key": ["a", "b"],
                             "group": [SU, SU]}, rows=[2, 2])
    with pytest.raises(LinkageError, match="row numbers"):
        link_waves(w1, dup_rows)
    with pytest.raises(LinkageError, match="secret"):
        link_waves(w1, w2, secret="")
    study = link_waves(w1, w2)
    with pytest.raises(CrisisSurveyError, match="wave must be 1 or 2"):
        study.unpaired(3)


def test_empty_waves_link() -> None:
    w1 = _wave(1, [])
    w2 = _wave(2, [None])
    study = link_waves(w1, w2)
    assert study.n_pairs == 0
    assert _counts(study)["missing key wave 2"] == 1
    assert study.report.accounting()["balanced"].all()
    assert isinstance(study.report, LinkageReport)


# ---------------------------------------------------------------------------------------
# speed (vectorised: no per-row Python work except one HMAC per distinct key)
# ---------------------------------------------------------------------------------------
def _big_waves(n: int) -> tuple[SurveyWave, SurveyWave]:
    rng = np.random.default_rng(7)
    group = rng.integers(0, 2, 2 * n)

    def wave(w: int, person: np.ndarray) -> SurveyWave:
        m = len(person)
        data = pd.DataFrame({
            "respondent_id": pd.array([f"R{w}-{i}" for i in range(m)], dtype="str"),
            "link_key": pd.array([f" Key-{p:07d}@Example.org " for p in person], dtype="str"),
            "group": pd.Categorical.from_codes(group[person], categories=[SU, CARER]),
            "overall_rating": pd.Categorical.from_codes(
                rng.integers(-1, 5, m), categories=CODEBOOK["overall_rating"].labels,
                ordered=True),
        }, index=pd.RangeIndex(2, m + 2))
        return SurveyWave(w, CODEBOOK, f"w{w}.csv", "", data, data.iloc[:, :0])

    return wave(1, rng.permutation(n)), wave(2, rng.permutation(n) + n // 2)


def test_links_100k_by_100k() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    w1, w2 = _big_waves(100_000)
    study = link_waves(w1, w2)
    assert study.n_pairs == 50_000


@pytest.mark.slow
def test_links_a_million_by_a_million() -> None:
    # No timing assertion: speed is measured by benchmarks/bench_scale.py, not unit tests.
    w1, w2 = _big_waves(1_000_000)
    study = link_waves(w1, w2)
    assert study.n_pairs == 500_000
    assert study.report.accounting()["balanced"].all()
