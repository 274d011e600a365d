"""Linkage policies for candidate pairs: exact (none linked), reviewed (a person's decisions
from a clerical-review file) and auto (a stated score threshold). Private; see link_waves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from .._errors import LinkageError
from ..codebook import Codebook
from ..load._wave import SurveyWave
from ._candidates import KEY_CLASSES, Candidates, field_weights, find_candidates, key_weights

__all__ = ["DEFAULT_AGREEMENT", "DEFAULT_MIN_SCORE", "POLICIES", "REVIEW_COLUMNS",
           "Tolerant", "agreement_fields", "tolerant_links"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

POLICIES: tuple[str, ...] = ("exact", "reviewed", "auto")
#: Agreement fields compared on candidates when none are named: codebook roles (every
#: field of the role) or field names.
DEFAULT_AGREEMENT: tuple[str, ...] = ("group", "area", "demographic")
#: The auto policy's default threshold (log2 odds, docs/linkage.md section 8).
DEFAULT_MIN_SCORE = 6.0
#: Columns of a clerical-review file, before the per-field agreement columns.
REVIEW_COLUMNS: tuple[str, ...] = ("row_wave1", "row_wave2", "key_wave1", "key_wave2",
                                   "difference", "distance", "score")
_DECISIONS = ("accept", "reject", "")
#: At most this many exact links serve as decoys for the chance rate of each key class.
DECOYS = 100_000

#: rows of ``LinkageReport.tolerant``
TOLERANT_ROWS: tuple[str, ...] = (
    "linked exactly",
    "candidate pairs",
    "candidates linked",
    "candidates rejected",
    "candidates undecided",
    "not linked: group differs",
    "not linked: another candidate as good",
    "returners still missed (estimate)",
    "blocks too common to search",
)


@dataclass(frozen=True)
class Tolerant:
    """What the policy linked, the analyst's candidate table and the publishable counts."""

    pos1: IntArray
    pos2: IntArray
    candidates: pd.DataFrame
    counts: pd.DataFrame
    policy: str
    min_score: float | None
    review_sha256: str | None


def agreement_fields(cb: Codebook, names: Sequence[str]) -> list[str]:
    """Field names for the plan's agreement entries (a role gives every field of it)."""
    from ..codebook._model import ROLES

    out: list[str] = []
    problems: list[dict[str, Any]] = []
    for entry in names:
        if entry in ROLES and entry not in ("identifier", "link_key", "item", "other"):
            found = [f.name for f in cb.fields if f.role == entry]
        elif entry in cb:
            found = [entry]
            if cb[entry].role in ("identifier", "link_key"):
                problems.append({"column": entry, "value": entry,
                                 "problem": "an identifier or link key cannot be an "
                                 "agreement field", "expected": "a group, area or "
                                 "demographic field"})
        else:
            problems.append({"column": None, "value": entry, "problem": "agreement names "
                             "neither a codebook role nor a field of the codebook",
                             "expected": "a role (group, area, demographic, ...) or a "
                             "field name"})
            found = []
        out += [f for f in found if f not in out]
    if problems:
        raise LinkageError(problems)
    return out


def _codes(wave1: SurveyWave, wave2: SurveyWave, name: str) -> tuple[IntArray, IntArray, int]:
    """Both waves' values of one field as integer codes over shared categories (-1 missing)."""
    cols = []
    for wave in (wave1, wave2):
        if name in wave.data.columns:
            col = wave.data[name]
            cols.append(col.astype(object).where(col.notna(), None).to_numpy(dtype=object))
        else:
            cols.append(np.full(len(wave.data), None, dtype=object))
    both = pd.Categorical(np.concatenate(cols))
    codes = np.asarray(both.codes, dtype=np.int64)
    n1 = len(cols[0])
    return codes[:n1], codes[n1:], len(both.categories)


def _read_review(review: Any, expected_sha256: str | None) -> tuple[pd.DataFrame, str, str]:
    """The review table, its name for messages and the SHA-256 of its bytes."""
    if isinstance(review, pd.DataFrame):
        frame = review.astype(object).where(review.notna(), "").astype(str)
        digest = hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()
        name = "the review table"
    else:
        path = Path(review)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise LinkageError([{"file": str(path), "problem": f"the review file cannot be "
                                 f"read ({exc.strerror})", "expected": "a CSV file written "
                                 "by write_review_file and filled in by a reviewer"}]) from None
        digest = hashlib.sha256(raw).hexdigest()
        name = path.name
        import io

        try:
            frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as exc:
            raise LinkageError([{"file": name, "problem": f"the review file is not a CSV "
                                 f"table ({exc})", "expected": "a CSV file written by "
                                 "write_review_file"}]) from None
    if expected_sha256 and digest != expected_sha256.lower():
        raise LinkageError([{"file": name, "value": digest, "problem": "the review file's "
                             "SHA-256 is not the one the plan names (it was changed after "
                             "the plan was written, or it is another file)",
                             "expected": f"SHA-256 {expected_sha256}"}])
    return frame, name, digest


def tolerant_links(
    wave1: SurveyWave, wave2: SurveyWave, *,
    norm1: pa.LargeStringArray, norm2: pa.LargeStringArray,
    shown1: pd.Series, shown2: pd.Series,
    only1: IntArray, only2: IntArray, linked1: IntArray, linked2: IntArray,
    group1: IntArray, group2: IntArray,
    policy: str, min_score: float | None, review: Any, review_sha256: str | None,
    agreement: Sequence[str], key_components: Sequence[int],
) -> Tolerant:
    """Find and score the candidates of the unmatched rows and apply the policy.

    ``only1``/``only2``: positions of the rows with a unique key and no exact partner;
    ``linked1``/``linked2``: positions of the exact links (aligned); ``shown1``/``shown2``:
    the keys as stored (normalised, or pseudonyms), which the candidate table shows.
    """
    cb = wave1.codebook
    fields = agreement_fields(cb, agreement)
    group_name = cb.group.name
    cand = find_candidates(norm1, norm2, only1, only2, key_components)
    # decoys: other people's keys (exact links) estimate the chance rate; an evenly spaced
    # sample of at most DECOYS of them is enough and keeps the cost down
    step = max(1, -(-linked2.size // DECOYS))
    decoys = linked2[::step]
    decoy: Candidates = find_candidates(norm1, norm2, only1, decoys, key_components)
    n_class = np.bincount(cand.key_class, minlength=len(KEY_CLASSES))
    n_decoy = np.bincount(decoy.key_class, minlength=len(KEY_CLASSES))
    kw = key_weights(n_class, n_decoy, only1.size, only2.size, decoys.size)

    score = kw[cand.key_class].astype(np.float64)
    agree_cols: dict[str, npt.NDArray[np.object_]] = {}
    group_differs = np.zeros(len(cand), dtype=bool)
    weights = []
    for name in fields:
        if name == group_name:
            c1, c2, k = group1, group2, int(max(group1.max(initial=0), group2.max(initial=0))) + 1
        else:
            c1, c2, k = _codes(wave1, wave2, name)
        fw = field_weights(name, c1, c2, linked1, linked2, only1, only2, k)
        weights.append(fw)
        a, b = c1[cand.pos1], c2[cand.pos2]
        known = (a >= 0) & (b >= 0)
        same = known & (a == b)
        score += np.where(same, fw.agree, np.where(known, fw.disagree, 0.0))
        agree_cols[name] = np.where(same, "yes", np.where(known, "no", "missing")).astype(object)
        if name == group_name:
            group_differs = known & ~same
    if group_name not in fields:  # a group conflict is never linked, compared or not
        group_differs = group1[cand.pos1] != group2[cand.pos2]

    # the only best: strictly the highest score of its wave-1 row and of its wave-2 row
    only_best = _only_best(cand.pos1, cand.pos2, score)
    table = pd.DataFrame({
        "row_wave1": np.asarray(wave1.data.index, dtype=np.int64)[cand.pos1],
        "row_wave2": np.asarray(wave2.data.index, dtype=np.int64)[cand.pos2],
        "key_wave1": shown1.to_numpy(dtype=object)[cand.pos1],
        "key_wave2": shown2.to_numpy(dtype=object)[cand.pos2],
        "difference": np.asarray(KEY_CLASSES, dtype=object)[cand.key_class],
        "distance": cand.distance,
        "score": np.round(score, 2),
        **{f"agree_{name}": v for name, v in agree_cols.items()},
    })
    decided = np.full(len(cand), "", dtype=object)
    link = np.zeros(len(cand), dtype=bool)
    digest: str | None = None
    if policy == "auto":
        threshold = DEFAULT_MIN_SCORE if min_score is None else float(min_score)
        link = (score >= threshold) & only_best & ~group_differs
        decided = np.where(score >= threshold, "accept", "reject").astype(object)
    elif policy == "reviewed":
        if review is None:
            raise LinkageError([{"problem": "linkage = 'reviewed' needs a review file",
                                 "expected": "review=<the clerical-review CSV> (write one "
                                 "with write_review_file and record each decision)"}])
        decided, digest = _apply_review(review, review_sha256, table, group_differs)
        link = decided == "accept"
    table = table.sort_values(["row_wave1", "row_wave2"], kind="stable")
    order = table.index.to_numpy()
    table = table.reset_index(drop=True)
    table["decision"] = decided[order] if policy != "exact" else ""
    table["linked"] = link[order]
    pos1, pos2 = cand.pos1[link], cand.pos2[link]

    # candidates expected by chance: lambda_c per unmatched wave-1 key (see key_weights)
    lam = (n_decoy + 0.5) / (max(only1.size, 1) * max(decoys.size, 1)) * max(only2.size, 1)
    expected_chance = float(np.sum(lam) * only1.size)
    n_linked = int(link.sum())
    missed = max(0.0, len(cand) - expected_chance - n_linked)
    counts = pd.DataFrame({"All": [
        int(linked1.size), len(cand), n_linked,
        int(np.sum(decided == "reject")) if policy != "exact" else 0,
        int(np.sum(decided == "")) if policy != "exact" else len(cand),
        int(group_differs.sum()),
        int(np.sum(~only_best & ~group_differs)),
        round(missed), cand.skipped_blocks,
    ]}, index=pd.Index(TOLERANT_ROWS, name="category")).astype("Int64")
    return Tolerant(pos1=pos1, pos2=pos2, candidates=table, counts=counts, policy=policy,
                    min_score=(DEFAULT_MIN_SCORE if min_score is None else float(min_score))
                    if policy == "auto" else None, review_sha256=digest)


def _only_best(pos1: IntArray, pos2: IntArray, score: npt.NDArray[np.float64]) -> BoolArray:
    """Whether each candidate's score is strictly the best of its wave-1 row and wave-2 row."""
    out = np.ones(pos1.size, dtype=bool)
    for pos in (pos1, pos2):
        if pos.size == 0:
            continue
        frame = pd.DataFrame({"pos": pos, "score": score})
        best = frame.groupby("pos")["score"].transform("max").to_numpy()
        n_best = frame.assign(top=score == best).groupby("pos")["top"].transform("sum")
        out &= (score == best) & (n_best.to_numpy() == 1)
    return out


def _apply_review(review: Any, expected: str | None, table: pd.DataFrame,
                  group_differs: BoolArray) -> tuple[npt.NDArray[np.object_], str]:
    """Each candidate's decision from the review file ("" if not decided); every problem
    of the file is reported at once."""
    frame, name, digest = _read_review(review, expected)
    problems: list[dict[str, Any]] = []
    needed = ["row_wave1", "row_wave2", "key_wave1", "key_wave2", "decision"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise LinkageError([{"file": name, "column": c, "problem": "the review file has no "
                             f"column {c!r}", "expected": "the columns of write_review_file "
                             "with a filled-in decision column"} for c in missing])
    index = {(int(r1), int(r2), str(k1), str(k2)): i for i, (r1, r2, k1, k2) in enumerate(
        table[["row_wave1", "row_wave2", "key_wave1", "key_wave2"]].itertuples(index=False))}
    decided = np.full(len(table), "", dtype=object)
    seen: dict[int, int] = {}
    for line, rec in enumerate(frame[needed].itertuples(index=False), start=2):
        r1, r2, k1, k2, decision = (str(v).strip() for v in rec)
        d = decision.lower()
        if d not in _DECISIONS:
            problems.append({"file": name, "row": line, "column": "decision",
                             "value": decision, "problem": "the decision is not one of "
                             "accept, reject or blank", "expected": "accept, reject, or "
                             "blank for not decided"})
            continue
        try:
            key = (int(r1), int(r2), k1, k2)
        except ValueError:
            problems.append({"file": name, "row": line, "column": "row_wave1",
                             "value": f"{r1}, {r2}", "problem": "row numbers are not "
                             "whole numbers", "expected": "the row numbers of the file "
                             "written by write_review_file"})
            continue
        i = index.get(key)
        if i is None:
            problems.append({"file": name, "row": line, "column": "row_wave1",
                             "value": f"rows {r1} and {r2}", "problem": "this pair is not a "
                             "candidate of these data (the review file belongs to other "
                             "files, or the keys or rows changed)", "expected": "a pair "
                             "listed by write_review_file for the same files and plan"})
            continue
        if i in seen:
            problems.append({"file": name, "row": line, "column": "row_wave1",
                             "value": f"rows {r1} and {r2}", "problem": "the pair is listed "
                             f"twice (also on line {seen[i]})", "expected": "each pair once"})
            continue
        seen[i] = line
        if d == "accept" and group_differs[i]:
            problems.append({"file": name, "row": line, "column": "decision",
                             "value": decision, "problem": "the pair's respondent group "
                             "differs, and a group conflict is never linked",
                             "expected": "reject (or blank) for this pair"})
            continue
        decided[i] = d
    accepted = np.flatnonzero(decided == "accept")
    for col, label in (("row_wave1", "wave-1"), ("row_wave2", "wave-2")):
        rows = table[col].to_numpy()[accepted]
        uniq, n = np.unique(rows, return_counts=True)
        for r in uniq[n > 1]:
            problems.append({"file": name, "row": None, "column": "decision",
                             "value": f"{label} row {int(r)}", "problem": f"the {label} row "
                             "is accepted in more than one pair", "expected": "at most one "
                             "accepted pair per row"})
    if problems:
        raise LinkageError(problems)
    return decided, digest


def review_sha256(review: str | Path) -> str:
    """The SHA-256 of a review file, as the plan's ``review_sha256`` records it.

    Parameters
    ----------
    review
        The clerical-review file (:func:`write_review_file`, decisions filled in).

    Returns
    -------
    str
        64 lower-case hexadecimal digits: SHA-256 of the file's bytes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "review.csv"
    ...     _ = path.write_bytes(b"abc")
    ...     review_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(Path(review).read_bytes()).hexdigest()


def write_review_file(study: Any, path: str | Path) -> Path:
    """Write the clerical-review file of a linked study's candidate pairs (analyst only).

    Parameters
    ----------
    study
        A :class:`~crisis_survey.link.LinkedStudy` (any policy).
    path
        The CSV file to write. It holds link keys (normalised, or their pseudonyms when
        the study was linked with a secret): keep it with the data, never with the
        outputs.

    Returns
    -------
    pathlib.Path
        The file written: one row per candidate pair, sorted by row numbers, with the
        columns ``row_wave1, row_wave2, key_wave1, key_wave2, difference, distance, score``,
        ``agree_<field>`` (yes / no / missing for each agreement field) and ``decision``
        (blank, or the decisions already applied when the study was linked with
        ``linkage="reviewed"``). A reviewer writes ``accept`` or ``reject`` in
        ``decision``; ``link_waves(..., linkage="reviewed", review=path)`` then links the
        accepted pairs, and the plan records the file's SHA-256 (:func:`review_sha256`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crisis_survey import load_sample_study
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_review_file(load_sample_study(), Path(folder) / "review.csv")
    ...     print(written.read_text().splitlines()[0][:48])
    row_wave1,row_wave2,key_wave1,key_wave2,differen
    """
    table = study.report.candidates
    columns = [*REVIEW_COLUMNS, *[c for c in table.columns if c.startswith("agree_")]]
    out = table.loc[:, columns].copy() if len(table.columns) else pd.DataFrame(
        columns=[*columns, "decision"])
    out["decision"] = (table["decision"].to_numpy() if study.report.policy == "reviewed"
                       and len(table) else "")
    target = Path(path)
    target.write_text(out.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    return target
