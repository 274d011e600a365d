"""Deterministic linkage of two survey waves on a normalised (optionally pseudonymised) key.

All the matching is integer arithmetic on one dictionary encoding of both waves' keys:
counting each key's rows per wave (``np.bincount``) decides duplicates, and an array from
key code to row position finds each partner. There is no per-respondent Python loop except
the HMAC of each distinct key when a secret is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._errors import LinkageError
from ..load._validate import withheld
from ..load._wave import SurveyWave
from ._keys import digest_all, normalise_array, pseudonymise, secret_bytes
from ._report import ROW_TABLE_COLUMNS, build_report, statuses
from ._study import LinkedStudy
from ._tolerant import DEFAULT_AGREEMENT, POLICIES, Tolerant, tolerant_links

__all__ = ["link_waves"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# status codes, in the order of ``_report.statuses(wave)``
_LINKED, _ONLY, _DUPLICATE, _CONFLICT, _MISSING = range(5)


def _problem(wave: SurveyWave | None, problem: str, expected: str, *, column: str | None = None,
             value: Any = None, row: Any = None) -> dict[str, Any]:
    return {"file": wave.source if wave is not None else None, "row": row, "column": column,
            "value": value, "problem": problem, "expected": expected}


def _check_inputs(wave1: Any, wave2: Any) -> None:
    problems: list[dict[str, Any]] = []
    for number, wave in ((1, wave1), (2, wave2)):
        if not isinstance(wave, SurveyWave):
            raise LinkageError([_problem(None, f"wave{number} is a {type(wave).__name__}",
                                         "a SurveyWave (from load_wave)",
                                         value=type(wave).__name__)])
        if wave.wave != number:
            problems.append(_problem(
                wave, f"wave{number} holds wave {wave.wave}",
                "link_waves(wave1, wave2) with the wave-1 data first", value=wave.wave))
    if wave1.codebook != wave2.codebook:
        problems.append(_problem(
            wave2, "the waves were loaded with different codebooks "
            f"({wave1.codebook.name} {wave1.codebook.version} and "
            f"{wave2.codebook.name} {wave2.codebook.version})",
            "both waves loaded with the same codebook"))
    cb = wave1.codebook
    for wave in (wave1, wave2):
        for fld in (cb.link_key, cb.group):
            if fld.name not in wave.data.columns:
                problems.append(_problem(
                    wave, f"the {fld.role.replace('_', ' ')} column is not in the data",
                    f"a column {fld.name!r}", column=fld.name))
        if not pd.api.types.is_integer_dtype(wave.data.index.dtype) and len(wave.data):
            problems.append(_problem(
                wave, "the data's index is not row numbers",
                "integer row numbers as a spreadsheet shows them",
                value=str(wave.data.index.dtype)))
        elif not wave.data.index.is_unique:
            dup = wave.data.index[wave.data.index.duplicated()]
            problems.append(_problem(
                wave, "row numbers (the data's index) repeat", "one row number per row",
                value=str(dup[0]), row=dup[0]))
    if problems:
        raise LinkageError(problems)


def _group_labels(wave1: SurveyWave, wave2: SurveyWave) -> list[str]:
    cb = wave1.codebook
    labels = list(cb.group.labels)
    extra: set[str] = set()
    for wave in (wave1, wave2):
        present = pd.unique(wave.data[cb.group.name].dropna().astype(object))
        extra.update(str(v) for v in present if str(v) not in labels)
    return labels + sorted(extra)


def _group_codes(wave: SurveyWave, labels: list[str]) -> pd.Categorical:
    name = wave.codebook.group.name
    col = wave.data[name]
    if not isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object).where(col.isna(), col.astype(str))
    groups = pd.Categorical(col, labels)
    missing = np.flatnonzero(np.asarray(groups.codes) < 0)
    if missing.size:
        raise LinkageError([
            _problem(wave, "the respondent group is missing",
                     f"one of {', '.join(labels)} (needed to analyse pairs by group)",
                     column=name, row=wave.data.index[int(i)])
            for i in missing
        ])
    return groups


def _areas(wave1: SurveyWave, wave2: SurveyWave) -> tuple[pd.Categorical, pd.Categorical]:
    """Both waves' areas as Categoricals over the same categories (all missing if none)."""
    area = wave1.codebook.area
    columns = []
    for wave in (wave1, wave2):
        if area is None or area.name not in wave.data.columns:
            columns.append(pd.Categorical(np.full(len(wave.data), np.nan, dtype=object)))
        else:
            col = wave.data[area.name]
            columns.append(col.array if isinstance(col.dtype, pd.CategoricalDtype)
                           else pd.Categorical(col.astype(object)))
    categories = pd.Index(columns[0].categories).append(
        pd.Index(columns[1].categories).difference(columns[0].categories))
    return (pd.Categorical(columns[0], categories=categories),
            pd.Categorical(columns[1], categories=categories))


def _status(valid: BoolArray, own: IntArray, other: IntArray, conflict: BoolArray) -> IntArray:
    """Status code per row from its key's row counts in its own and the other wave."""
    status = np.full(valid.size, _MISSING, dtype=np.int64)
    status[valid & ((own > 1) | (other > 1))] = _DUPLICATE
    status[valid & (own == 1) & (other == 0)] = _ONLY
    matched = valid & (own == 1) & (other == 1)
    status[matched & conflict] = _CONFLICT
    status[matched & ~conflict] = _LINKED
    return status


_WITHHELD = "[withheld: holds a link key]"


def _pseudonym(value: Any, secret: bytes) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)) or withheld(value):
        return value
    return pseudonymise([str(value)], secret).iloc[0]


def _scrub(frame: pd.DataFrame, link_key: str, secret: bytes) -> pd.DataFrame:
    """Replace raw link keys in a loader's problems/exclusions table by their pseudonyms.

    Handles a column named like the link key, and ``column``/``value`` pairs where
    ``column`` names the link key, alone or in a "; "-joined list (exclusions join the
    problems of one row); a joined value that cannot be split back is withheld entirely.
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return frame
    out = frame.copy()
    if link_key in out.columns:
        raw = out[link_key].astype(object)
        text = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                for v in raw]
        out[link_key] = pseudonymise(text, secret).to_numpy(dtype=object)
    if {"column", "value"} <= set(out.columns):
        columns = out["column"].astype(object)
        mentions = columns.map(
            lambda c: isinstance(c, str) and link_key in c.split("; ")).to_numpy(dtype=bool)
        if mentions.any():
            values = out["value"].astype(object).to_numpy(copy=True)
            for i in np.flatnonzero(mentions):
                names = str(columns.iloc[i]).split("; ")
                raw_value = values[i]
                if len(names) == 1:
                    parts = [raw_value]
                elif isinstance(raw_value, str) and len(raw_value.split("; ")) == len(names):
                    parts = raw_value.split("; ")
                else:
                    values[i] = _WITHHELD
                    continue
                new = [_pseudonym(v, secret) if name == link_key else v
                       for name, v in zip(names, parts, strict=True)]
                values[i] = new[0] if len(new) == 1 else "; ".join(map(str, new))
            out["value"] = pd.Series(values, index=out.index, dtype=object)
    return out


def link_waves(
    wave1: SurveyWave,
    wave2: SurveyWave,
    *,
    secret: bytes | str | None = None,
    linkage: str = "exact",
    min_score: float | None = None,
    review: str | Path | pd.DataFrame | None = None,
    review_sha256: str | None = None,
    agreement: Sequence[str] = DEFAULT_AGREEMENT,
    key_components: Sequence[int] = (),
) -> LinkedStudy:
    """Link the respondents of two survey waves on the codebook's link key.

    Parameters
    ----------
    wave1, wave2
        The loaded waves (:class:`~crisis_survey.load.SurveyWave` with ``wave`` 1 and 2),
        loaded with the same codebook.
    secret
        If given (bytes or str), every key is replaced by its HMAC-SHA256 pseudonym
        (:func:`pseudonymise`) before anything is stored in the result: the raw keys then
        appear nowhere in the returned study (not in its waves' data, its pairs or its
        report). Keep the secret out of the outputs.
    linkage
        Which *candidate pairs* (keys without an exact partner that differ by one retyping
        error, see Notes) are linked: ``"exact"`` (default) none, they are only counted
        and listed; ``"reviewed"`` the pairs a person accepted in the clerical-review file
        ``review``; ``"auto"`` the pairs scoring at least ``min_score`` that are the only
        best candidate of both their rows.
    min_score
        The auto policy's threshold on the score (log2 odds; default
        ``DEFAULT_MIN_SCORE`` = 6, docs/linkage.md section 8).
    review
        The clerical-review file (CSV from :func:`write_review_file` with its ``decision``
        column filled in: ``accept``, ``reject`` or blank) or the same table as a
        DataFrame. An input only: nothing writes it into an output.
    review_sha256
        If given, the review file's SHA-256 must be this (the plan records it, so a
        re-analysis links exactly the same people).
    agreement
        Fields compared on each candidate pair, as codebook roles (``"group"``,
        ``"area"``, ``"demographic"``: every field of that role) or field names.
    key_components
        For a structured self-generated code: the widths (in characters of the normalised
        key) of its components, e.g. ``(2, 2, 2, 2)``; keys of that length that differ in
        exactly one component are candidates too.

    Returns
    -------
    LinkedStudy
        The waves, the linked pairs (``pairs``), the unlinked rows (``unpaired(wave)``) and
        the :class:`LinkageReport` accounting for every row.

    Raises
    ------
    LinkageError
        If the waves are not waves 1 and 2 of the same codebook, a wave lacks the link-key
        or group column, row numbers repeat, a respondent's group is missing, or the secret
        is empty or not bytes/str.

    Notes
    -----
    The rules (docs/linkage.md gives the reasons):

    1. Keys are normalised (:func:`normalise_keys`: NFKC, case folding, separators and
       white space removed). A key missing or empty after normalisation never links
       (``missing key``).
    2. Let :math:`n_1(k), n_2(k)` be the numbers of kept rows of wave 1 and wave 2 with
       normalised key :math:`k`. A row with key :math:`k` is

       - a *duplicate* if :math:`n_1(k) > 1` or :math:`n_2(k) > 1` (never linked, listed in
         ``report.duplicate_keys``; duplicates are never resolved by picking a row);
       - *wave-w only* if it is alone in its wave and :math:`n_{other}(k) = 0`;
       - *matched* if :math:`n_1(k) = n_2(k) = 1`.
    3. A matched pair whose respondent group differs between the waves is a *group
       conflict*: both rows are left unlinked (analysed as unpaired rows) and listed in
       ``report.conflicts``. A matched pair whose area differs is linked and listed.
    4. Every other matched pair is *linked*; its analysis group is the (shared) group.

    5. Candidate pairs (a wave-1 and a wave-2 row, each *wave-w only*, whose keys differ by
       one edit, a swap of neighbouring characters, look-alike characters or one
       component) are scored and linked only as ``linkage`` says; a candidate whose group
       differs is never linked. ``report.tolerant`` counts them, ``report.candidates``
       lists them (analyst only), and ``study.exact_linkage()`` is the study without them.

    For each wave, respondents = linked + only + duplicate + group conflict + missing key;
    the report checks this identity. Rows quarantined at loading are carried into the
    report as ``excluded at loading``. Time and memory are linear in the number of rows;
    there is no R equivalent (``merge(w1, w2, by = "key")`` after the same normalisation
    and after removing duplicated keys gives the same pairs).

    References
    ----------
    Christen, P. (2012), *Data Matching*, Springer, ch. 3 (data pre-processing) and 6
    (deterministic linkage); Krawczyk, Bellare & Canetti (1997), RFC 2104 (HMAC).

    Examples
    --------
    >>> import pandas as pd
    >>> from crisis_survey.codebook import default_codebook
    >>> from crisis_survey.load._wave import SurveyWave
    >>> cb = default_codebook()
    >>> def wave(n, keys, groups):
    ...     data = pd.DataFrame(
    ...         {"respondent_id": [f"r{n}{i}" for i in range(len(keys))], "link_key": keys,
    ...          "group": pd.Categorical(groups, categories=cb.group.labels)},
    ...         index=range(2, len(keys) + 2))
    ...     return SurveyWave(n, cb, f"wave{n}.csv", "", data, data.iloc[:, :0])
    >>> w1 = wave(1, ["AB-1", "cd 2", "EF3", "ef3", None], ["Carer"] * 5)
    >>> w2 = wave(2, ["ab1", "CD2", "gh4"], ["Carer", "Service user", "Carer"])
    >>> study = link_waves(w1, w2)
    >>> study.pairs.index.tolist()
    ['ab1']
    >>> study.report.counts.loc[["linked", "duplicate keys wave 1", "group conflicts wave 1",
    ...                          "missing key wave 1", "wave-2 only"], "All"].tolist()
    [1, 2, 1, 1, 1]
    """
    _check_inputs(wave1, wave2)
    if linkage not in POLICIES:
        raise LinkageError([_problem(None, f"linkage is {linkage!r}",
                                     f"one of {', '.join(POLICIES)}", value=linkage)])
    cb = wave1.codebook
    link_key = cb.link_key.name
    key_secret = secret_bytes(secret) if secret is not None else None

    norm1 = normalise_array(wave1.data[link_key], "wave 1 link keys")
    norm2 = normalise_array(wave2.data[link_key], "wave 2 link keys")
    encoded = pc.dictionary_encode(pa.concat_arrays([norm1, norm2]))
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(), dtype=np.int64)
    dictionary = encoded.dictionary
    if key_secret is not None:
        dictionary = pa.array(digest_all(dictionary.to_pylist(), key_secret),
                              type=pa.large_string())
    n1 = len(wave1.data)
    code1, code2 = codes[:n1], codes[n1:]
    n_keys = len(dictionary)

    valid1, valid2 = code1 >= 0, code2 >= 0
    safe1, safe2 = np.where(valid1, code1, 0), np.where(valid2, code2, 0)
    count1 = np.bincount(code1[valid1], minlength=n_keys)
    count2 = np.bincount(code2[valid2], minlength=n_keys)
    if n_keys == 0:  # no key at all: index arrays below must still work
        count1 = count2 = np.zeros(1, dtype=np.int64)
    own1 = np.where(valid1, count1[safe1], 0)
    other1 = np.where(valid1, count2[safe1], 0)
    own2 = np.where(valid2, count2[safe2], 0)
    other2 = np.where(valid2, count1[safe2], 0)

    # partner positions of matched rows (key once in each wave)
    matched1 = valid1 & (own1 == 1) & (other1 == 1)
    matched2 = valid2 & (own2 == 1) & (other2 == 1)
    position_of_code1 = np.full(max(n_keys, 1), -1, dtype=np.int64)
    position_of_code2 = np.full(max(n_keys, 1), -1, dtype=np.int64)
    position_of_code1[code1[matched1]] = np.flatnonzero(matched1)
    position_of_code2[code2[matched2]] = np.flatnonzero(matched2)
    partner1 = np.where(matched1, position_of_code2[safe1], -1)
    partner2 = np.where(matched2, position_of_code1[safe2], -1)

    labels = _group_labels(wave1, wave2)
    group1, group2 = _group_codes(wave1, labels), _group_codes(wave2, labels)
    gcode1, gcode2 = np.asarray(group1.codes), np.asarray(group2.codes)
    conflict1 = matched1 & (gcode1 != _take(gcode2.astype(np.int64), partner1, -1))
    conflict2 = matched2 & (gcode2 != _take(gcode1.astype(np.int64), partner2, -1))
    status1 = _status(valid1, own1, other1, conflict1)
    status2 = _status(valid2, own2, other2, conflict2)

    stored = dictionary.take(encoded.indices)  # null where the key is missing
    key1 = pd.Series(stored.slice(0, n1), index=wave1.data.index, dtype="str")
    key2 = pd.Series(stored.slice(n1), index=wave2.data.index, dtype="str")

    linked_pos1 = np.flatnonzero(status1 == _LINKED)
    tolerant = tolerant_links(
        wave1, wave2, norm1=norm1, norm2=norm2, shown1=key1, shown2=key2,
        only1=np.flatnonzero(status1 == _ONLY), only2=np.flatnonzero(status2 == _ONLY),
        linked1=linked_pos1, linked2=partner1[linked_pos1],
        group1=gcode1.astype(np.int64), group2=gcode2.astype(np.int64),
        policy=linkage, min_score=min_score, review=review, review_sha256=review_sha256,
        agreement=agreement, key_components=tuple(int(w) for w in key_components))

    area1, area2 = _areas(wave1, wave2)
    if key_secret is not None:
        wave1 = _pseudonymised_wave(wave1, key1, key_secret)
        wave2 = _pseudonymised_wave(wave2, key2, key_secret)
    parts: dict[str, Any] = dict(wave1=wave1, wave2=wave2, key1=key1, key2=key2, group1=group1,
                 group2=group2, area1=area1, area2=area2, own=(own1, own2),
                 other=(other1, other2), labels=labels, pseudonymised=key_secret is not None,
                 tolerant=tolerant)
    exact = _assemble(status1, status2, partner1, partner2, **parts)
    if tolerant.pos1.size == 0:
        return exact
    status1, status2 = status1.copy(), status2.copy()
    partner1, partner2 = partner1.copy(), partner2.copy()
    status1[tolerant.pos1] = _LINKED
    status2[tolerant.pos2] = _LINKED
    partner1[tolerant.pos1] = tolerant.pos2
    partner2[tolerant.pos2] = tolerant.pos1
    return _assemble(status1, status2, partner1, partner2, exact=exact, **parts)


def _assemble(status1: IntArray, status2: IntArray, partner1: IntArray, partner2: IntArray,
              *, wave1: SurveyWave, wave2: SurveyWave, key1: pd.Series, key2: pd.Series,
              group1: pd.Categorical, group2: pd.Categorical, area1: pd.Categorical,
              area2: pd.Categorical, own: tuple[IntArray, IntArray],
              other: tuple[IntArray, IntArray], labels: list[str], pseudonymised: bool,
              tolerant: Tolerant, exact: LinkedStudy | None = None) -> LinkedStudy:
    """The LinkedStudy of one set of statuses and partners (exact, or with candidates)."""
    cb = wave1.codebook
    rows1 = _row_table(1, key1, status1, group1, group2, area1, area2, partner1,
                       wave2.data.index, own[0], other[0], labels)
    rows2 = _row_table(2, key2, status2, group2, group1, area2, area1, partner2,
                       wave1.data.index, own[1], other[1], labels)
    report = build_report(rows1, rows2, excluded=(wave1.rows_excluded, wave2.rows_excluded),
                          labels=labels, pseudonymised=pseudonymised, tolerant=tolerant)
    linked_pos1 = np.flatnonzero(status1 == _LINKED)
    pairs = _pairs(wave1, wave2, linked_pos1, partner1[linked_pos1],
                   key1.iloc[linked_pos1], group1[linked_pos1], labels)
    return LinkedStudy(codebook=cb, wave1=wave1, wave2=wave2, report=report, pairs=pairs,
                       pseudonymised=pseudonymised, _row_tables=(rows1, rows2),
                       _labels=tuple(labels),
                       _pair_positions=(np.asarray(linked_pos1, dtype=np.int64),
                                        np.asarray(partner1[linked_pos1], dtype=np.int64)),
                       _exact=exact)


def _pseudonymised_wave(wave: SurveyWave, keys: pd.Series, secret: bytes) -> SurveyWave:
    """The wave with its link keys (in data, exclusions and problems) replaced by pseudonyms."""
    link_key = wave.codebook.link_key.name
    changes: dict[str, Any] = {
        "data": wave.data.assign(**{link_key: keys}),
        "exclusions": _scrub(wave.exclusions, link_key, secret),
    }
    problems = getattr(wave, "problems", None)  # the loader's per-problem table, if any
    if isinstance(problems, pd.DataFrame):
        changes["problems"] = _scrub(problems, link_key, secret)
    return dataclasses.replace(wave, **changes)


def _categorical(codes: Any, categories: Sequence[Any]) -> pd.Categorical:
    """A Categorical from integer codes (-1 = missing) over ``categories``."""
    return cast(pd.Categorical, pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), dtype=pd.CategoricalDtype(list(categories))))


def _take(values: npt.NDArray[Any], positions: IntArray, fill: Any) -> npt.NDArray[Any]:
    """``values[positions]`` with ``fill`` where the position is -1."""
    out = np.full(positions.size, fill, dtype=values.dtype)
    ok = positions >= 0
    out[ok] = values[positions[ok]]
    return out


def _row_table(number: int, key: pd.Series, status: IntArray, group: pd.Categorical,
               other_group: pd.Categorical, area: pd.Categorical,
               other_area: pd.Categorical, partner: IntArray, other_index: pd.Index,
               own: IntArray, other: IntArray, labels: list[str]) -> pd.DataFrame:
    """The per-row linkage table of one wave (see ``_report``'s module docstring)."""
    partner_row = pd.array(_take(np.asarray(other_index, dtype=np.int64), partner, 0),
                           dtype="Int64")
    partner_row[partner < 0] = pd.NA
    table = pd.DataFrame({
        "key": key,
        "status": _categorical(status, statuses(number)),
        "group": _categorical(np.asarray(group.codes), labels),
        "area": area,
        "partner": partner_row,
        "partner_group": _categorical(
            _take(np.asarray(other_group.codes, dtype=np.int64), partner, -1),
            labels),
        "partner_area": _categorical(
            _take(np.asarray(other_area.codes, dtype=np.int64), partner, -1),
            list(other_area.categories)),
        "n_wave1": own if number == 1 else other,
        "n_wave2": other if number == 1 else own,
    }, index=key.index)
    return table.loc[:, list(ROW_TABLE_COLUMNS)]


def _pairs(wave1: SurveyWave, wave2: SurveyWave, pos1: IntArray, pos2: IntArray,
           keys: pd.Series, group: pd.Categorical, labels: list[str]) -> pd.DataFrame:
    """One row per linked respondent: (wave, field) columns plus ("", "group")."""
    link_key = wave1.codebook.link_key.name
    index = pd.Index(keys, name="link_key", dtype="str")
    part1 = wave1.data.drop(columns=[link_key]).iloc[pos1].set_axis(index, axis=0)
    part2 = wave2.data.drop(columns=[link_key]).iloc[pos2].set_axis(index, axis=0)
    analysis = pd.DataFrame(
        {"group": _categorical(np.asarray(group.codes), labels)},
        index=index,
    )
    pairs = pd.concat({"": analysis, 1: part1, 2: part2}, axis=1)
    pairs.columns = pairs.columns.set_names(["wave", "field"])
    return pairs
