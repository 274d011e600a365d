"""The publishing layer: everything a release publishes leaves the library through here
(private module; :func:`publish`, :func:`write_outputs` and :data:`SYNTHETIC_BANNER` are
public through :mod:`crisis_survey.present`).

A *release* is every file one run writes into its output folder: the tables (HTML, LaTeX,
Markdown, Word, Excel), the figures (SVG, PNG; PDF on request), ``report.html`` and
``report.docx``, ``accounting.csv``, ``linkage_counts.csv``, ``attrition.csv``, ``README.md`` and
``manifest.json``. Their numbers are protected together (``docs/disclosure-control.md``):
one banner text, one rule for withholding a row's derived values, and one audit over what
the release publishes as a whole before anything is written. The command line only parses
its arguments and calls :func:`publish` (``report``, ``demo``) or :func:`write_outputs`
(``link``).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._memo import cached, in_memo_run, memo_run, remembered, reporting_to
from ._disclosure import (
    DEFAULT_THRESHOLD,
    DERIVED_MARKER,
    DOMAIN_PARTS,
    DisclosureError,
    _identifying_among,
    _published_texts,
    _refuse_identifiers,
    _width,
    default_protection,
    lp_stack,
    percent_reveals_small,
    suppress,
)
from ._format import CSV_PRECISION, CSV_WITHHELD, plain_csv
from ._manifest import write_folder_manifest
from ._safe import staged_folder, write_csv

if TYPE_CHECKING:
    from .._plan import AnalysisPlan
    from ..link import LinkedStudy
    from ..load import SurveyWave
    from ._report import ReportFiles
    from ._tables import LinkageSuppression

__all__ = ["SYNTHETIC_BANNER", "OutputSet", "Release", "Source", "attrition_sources",
           "audit_release", "comparison_sources", "linkage_outputs", "p_band", "publish",
           "publishable_accounting", "publishable_attrition", "publishable_findings",
           "published_verdicts", "write_outputs"]

#: The one text that marks every page, file and console run made from synthetic data.
SYNTHETIC_BANNER = (
    "SYNTHETIC DATA: every number here comes from the simulated sample study that ships "
    "with crisis_survey, not from real survey responses."
)

Progress = Callable[[int, int, str], None]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the linkage outputs (CSV) -----------------------------------------------------------------
@dataclass
class OutputSet:
    """What :func:`write_outputs` wrote: the files and the lines of the summary.

    Examples
    --------
    >>> from pathlib import Path
    >>> result = OutputSet(folder=Path("out"))
    >>> result.files, result.summary
    ([], [])
    """

    folder: Path
    files: list[Path] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def moved_to(self, folder: Path) -> OutputSet:
        """The same files once their folder has been moved to ``folder``."""
        return OutputSet(folder=folder,
                         files=[folder / p.relative_to(self.folder) for p in self.files],
                         summary=list(self.summary))


def linkage_outputs(study: LinkedStudy, *, threshold: int = DEFAULT_THRESHOLD,
                    withhold: Collection[tuple[str, ...]] = ()) -> dict[str, pd.DataFrame]:
    """The CSV files of a release as published: ``accounting.csv``, ``linkage_counts.csv``
    and ``attrition.csv`` (file name -> frame), protected as :func:`write_outputs` says
    (``withhold``: origins ``("attrition", group, variable)`` the release audit bands)."""
    from ._tables import protect_linkage_counts

    linkage = cached(protect_linkage_counts, study, threshold=threshold,
                     force=hidden_linkage(withhold))
    return {
        "accounting.csv": publishable_accounting([study.wave1, study.wave2],
                                                 threshold=threshold, linkage=linkage),
        "linkage_counts.csv": linkage.display(),
        "attrition.csv": cached(_published_attrition, study, threshold=threshold,
                                withhold=frozenset(withhold)),
    }


def _published_attrition(study: LinkedStudy, *, threshold: int,
                         withhold: frozenset[tuple[str, ...]]) -> pd.DataFrame:
    """``attrition.csv`` as published (:func:`_attrition_csv` of the study's attrition table
    and Table 1's published values; shared within a run, :func:`crisis_survey._memo.cached`)."""
    from ..link import attrition_table
    from ._tables import sample_table

    return _attrition_csv(study, cached(attrition_table, study),
                          cached(sample_table, study, threshold=threshold,
                                 hidden=hidden_domains(withhold, "table1")).values,
                          threshold=threshold, withhold=withhold)


def _attrition_csv(study: LinkedStudy, attrition: pd.DataFrame, sample: pd.DataFrame, *,
                   threshold: int, withhold: Collection[tuple[str, ...]]) -> pd.DataFrame:
    """``attrition.csv`` from the attrition table and Table 1's published values, once per
    distinct input within a :func:`~crisis_survey._memo.memo_run`: of ``withhold`` it reads
    only the attrition rows' statistics and the domains withheld from it (the audit's
    give-back trials build it for 20 withheld sets on the sample, 6 distinct for it: 3.4 s
    CPU). :func:`_attrition_csv_plain` is the plain computation."""
    def compute() -> pd.DataFrame:
        return _attrition_csv_plain(study, attrition, sample, threshold=threshold,
                                    withhold=withhold)

    reads = frozenset(o for o in withhold if o[0] == "attrition" or (
        len(o) == 4 and o[0] == "domain" and o[3] == "attrition"))
    try:
        key = ("attrition.csv", id(study), _frame_key(attrition), _frame_key(sample),
               int(threshold), reads)
    except TypeError:  # pragma: no cover - a value pandas cannot hash: computed afresh
        return compute()
    return remembered(key, compute, keep=study)


def _frame_key(frame: pd.DataFrame) -> tuple[Any, ...]:
    """A frame's content as a key: its columns, dtypes and a digest of every value and
    index label."""
    import hashlib

    values = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return (tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)),
            hashlib.sha256(values.tobytes()).digest())


def _attrition_csv_plain(study: LinkedStudy, attrition: pd.DataFrame, sample: pd.DataFrame,
                         *, threshold: int, withhold: Collection[tuple[str, ...]]
                         ) -> pd.DataFrame:
    from ._tables import NOT_STATED

    first = sample[(sample["wave"] == 1) & (sample["level"] == NOT_STATED)]
    not_stated = [(str(g), str(v)) for g, v, c in zip(first["group"], first["variable"],
                                                       first["count"], strict=True)
                  if pd.isna(c)]
    return _attrition_labels(publishable_attrition(
        attrition, threshold=threshold, withheld_answered=not_stated,
        sources=attrition_sources(study, list(pd.unique(attrition["variable"]))),
        banded=[(o[1], o[2]) for o in withhold if o[0] == "attrition"],
        domains=hidden_domains(withhold, "attrition")), study.codebook)


def _median_label(value: Any, labels: Mapping[float, str]) -> Any:
    """A median level code as its level label (a median halfway between two levels as
    ``"between Fair and Good"``); markers and missing values as they are."""
    number = _number(value)
    if number != number:
        return value
    if number in labels:
        return labels[number]
    low, high = labels.get(math.floor(number)), labels.get(math.ceil(number))
    return f"between {low} and {high}" if low and high else value


def _attrition_labels(table: pd.DataFrame, codebook: Any) -> pd.DataFrame:
    """attrition.csv with labels, not codes: medians as level labels, tests and effect
    measures by their names in the registry (``Mann–Whitney U test (W)``, ``rank-biserial
    correlation``), statistics by their symbols (``χ²``)."""
    from ..stats._registry import EFFECTS, STATISTICS, TESTS

    out = table.copy()
    for side in ("returned", "not_returned"):
        col = f"median_{side}"
        if col not in out.columns:
            continue
        values = []
        for var, v in zip(out["variable"], out[col], strict=True):
            try:
                field = codebook[str(var)]
            except KeyError:
                field = None
            # medians are level scores (1 = the lowest level), whatever the levels' codes
            levels = {float(score): lv.label
                      for score, lv in enumerate(getattr(field, "levels", ()), 1)}
            values.append(_median_label(v, levels) if levels else v)
        out[col] = values
    for col, registry, attr in (("test", TESTS, "label"), ("effect_measure", EFFECTS, "label"),
                                ("statistic_name", STATISTICS, "symbol")):
        if col in out.columns:
            out[col] = [getattr(registry[v], attr) if isinstance(v, str) and v in registry
                        else v for v in out[col]]
    return out


#: The kind of number in each column of the CSV files (:func:`plain_csv`), for the
#: precision they are written with.
_CSV_KINDS: dict[str, dict[str, str]] = {
    "accounting.csv": {c: "count" for c in ("rows_read", "rows_kept", "rows_excluded")},
    "attrition.csv": {"n_returned": "count", "n_not_returned": "count",
                      "pct_returned": "percent", "pct_not_returned": "percent",
                      "p_value": "p", "df": "estimate"},
}


def write_outputs(
    study: LinkedStudy,
    out: str | Path,
    *,
    synthetic: bool,
    inputs: Sequence[Path] = (),
    threshold: int = DEFAULT_THRESHOLD,
) -> OutputSet:
    """Write what an analysis run publishes so far (``demo`` and ``link`` call this).

    Files: ``accounting.csv`` (rows read, kept, excluded per wave), ``linkage_counts.csv``
    (the linkage report's counts), ``attrition.csv`` (returners vs non-returners,
    :func:`~crisis_survey.link.attrition_table`) and ``README.md`` (a
    summary saying what each file holds, the disclosure rule, the input files' SHA-256, and,
    for the sample study, that the data are SYNTHETIC).

    Disclosure control is :mod:`crisis_survey.present`'s: every count from 1 to
    ``threshold - 1`` is withheld (shown ``[c]``), with the counts that would reveal it;
    the linkage counts withhold the same cells as the report's linkage table
    (:func:`~crisis_survey.present._tables.protect_linkage_counts`); no file holds a
    respondent identifier, link key or free-text answer
    (:func:`~crisis_survey.present.assert_no_identifiers`, checked before writing).

    The files are written into a temporary folder beside ``out`` and moved into place with
    a ``manifest.json`` listing each with its SHA-256; ``out`` must be absent, empty or an
    earlier output of crisis_survey, which is replaced whole
    (:func:`~crisis_survey.present._safe.staged_folder`).

    Parameters
    ----------
    study
        The linked study (:func:`~crisis_survey.link.link_waves`).
    out
        Output folder: absent, empty or an earlier output of crisis_survey.
    synthetic
        Say in ``README.md`` that the data are SYNTHETIC (the sample study).
    inputs
        Input files whose SHA-256 the README lists.
    threshold
        Smallest count published; counts from 1 to ``threshold - 1`` are withheld.

    Returns
    -------
    OutputSet
        The files written and the lines of the console summary.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crisis_survey import load_sample_study
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_outputs(load_sample_study(), Path(folder), synthetic=True)
    ...     print(sorted(p.name for p in written.files))
    ['README.md', 'accounting.csv', 'attrition.csv', 'linkage_counts.csv']
    """
    with staged_folder(out) as stage:
        result = write_outputs_into(study, stage, synthetic=synthetic, inputs=inputs,
                                    threshold=threshold)
        cb = study.codebook
        write_folder_manifest(
            stage, inputs={f"wave{i}": p for i, p in enumerate(inputs, 1)},
            options={"threshold": threshold},
            codebook={"name": cb.name, "version": cb.version, "source": Path(cb.source).name},
            synthetic=synthetic)
    return result.moved_to(Path(out))


def write_outputs_into(
    study: LinkedStudy,
    out: Path,
    *,
    synthetic: bool,
    inputs: Sequence[Path] = (),
    threshold: int = DEFAULT_THRESHOLD,
    protection: Protection | None = None,
) -> OutputSet:
    """:func:`write_outputs` into the existing folder ``out``, without staging or manifest
    (:func:`publish` writes the report beside them, then one manifest). With
    ``protection`` (the release audit, :func:`protect_release`), its CSVs are written and
    ``disclosure.csv`` says what the audit found and withheld."""
    result = OutputSet(folder=out)
    tables = (protection.published.csvs() if protection is not None
              else linkage_outputs(study, threshold=threshold))
    if protection is not None:
        tables["disclosure.csv"] = protection.summary().set_index("output")
    secrets = _identifying_among((study.wave1, study.wave2), _published_texts(tables.values()))
    linkage_counts = tables["linkage_counts.csv"]
    for name, table in tables.items():
        _check_no_identifiers(name, table, study, secrets)
    for name, table in tables.items():
        kinds = _CSV_KINDS.get(name, dict.fromkeys(map(str, table.columns), "count"))
        result.files.append(write_csv(plain_csv(table, kinds), out / name,
                                      index=name != "attrition.csv"))

    lines = []
    if synthetic:
        lines += [f"# {SYNTHETIC_BANNER}", "",
                  "**THIS IS SYNTHETIC DATA.** The sample study shipped with crisis_survey "
                  "was simulated (see data/sample/README.md); no real person answered it. "
                  "Use it to learn the library and to check a pipeline, never as evidence.",
                  ""]
    else:
        lines += ["# crisis_survey: linkage outputs", ""]
    lines += ["## Inputs", ""]
    for p in inputs:
        lines.append(f"- `{p.name}` (SHA-256 {_sha256(p)})")
    lines += ["", "## Files", "",
              "- `accounting.csv`: rows read, kept and excluded (quarantined) per wave.",
              "- `linkage_counts.csv`: how the respondents of each wave were linked, by "
              "respondent group (linked, one wave only, duplicate keys, group conflicts, "
              "missing key).",
              "- `attrition.csv`: wave-1 respondents who answered again in wave 2 compared "
              "with those who did not, by group, on wave-1 answers and demographics (n, "
              "median or % in the top levels, test, effect size). Per-level percentages "
              "are left out."]
    lines += ["", "## Disclosure control", "",
              f"Counts from 1 to {threshold - 1} are suppressed (withheld) in every file, "
              f"shown as `{CSV_WITHHELD}`, and so are counts from which a withheld count "
              "could be worked out (secondary suppression); zeros are shown. Percentages "
              "and medians of a withheld count, and percentages that would reveal a count "
              f"below {threshold}, are withheld too (also `{CSV_WITHHELD}`); so are the "
              "test results of such a row, whose p-value may be shown as a band "
              "(`< .05`). The linkage counts withhold the same cells as the "
              "report's linkage table. The analyst's Python objects keep the exact numbers.",
              "No file holds a respondent identifier, link key or free-text comment.", "",
              *([*protection.notes(threshold), "",
                 "- `disclosure.csv`: per output, the counts withheld because they are "
                 "small (primary) and to protect them (secondary), the statistics the "
                 "audit withheld, the small counts it attacked and the fewest possible "
                 "values any of them keeps.", ""] if protection is not None else []),
              "## Numbers", "",
              "Plain numbers, no thousands separators: counts as whole numbers, "
              f"percentages to {CSV_PRECISION['percent']} decimal, statistics and effect "
              f"sizes to {CSV_PRECISION['estimate']} decimals, p-values to "
              f"{CSV_PRECISION['p']} significant digits; an empty cell has no value. Read "
              f"them with `pandas.read_csv(path, na_values=[\"{CSV_WITHHELD}\"])`. "
              "Medians are level labels; tests and effect measures are named in words.",
              "",
              "## Headline", "",
              *[f"- {what}: {linkage_counts.loc[row, 'All']!s}" for what, row in (
                  ("linked respondents", "linked"), ("wave 1 respondents", "wave-1 respondents"),
                  ("wave 2 respondents", "wave-2 respondents"))]]
    readme = out / "README.md"
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result.files.append(readme)
    result.summary = lines
    return result


def publishable_accounting(
    waves: Sequence[SurveyWave],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    linkage: LinkageSuppression | None = None,
) -> pd.DataFrame:
    """Rows read, kept and excluded per wave, as published (small counts shown ``[c]``).

    ``rows_read = rows_kept + rows_excluded`` in every wave and in the ``All`` row, so the
    counts are protected as a table with totals by
    :func:`~crisis_survey.present.suppress`, withholding the rows read before the rows
    kept (``prefer="totals"``): the rows kept are the respondents of the linkage table,
    which publishes them beside the rows excluded but never the rows read. Where
    ``linkage`` withholds a wave's respondents, the rows kept are withheld here too.
    """
    cells = pd.DataFrame(
        {"rows_kept": [w.rows_kept for w in waves],
         "rows_excluded": [w.rows_excluded for w in waves]},
        index=pd.Index([f"wave {w.wave}" for w in waves], name="wave"),
    )
    force = None
    if linkage is not None:
        force = pd.DataFrame(False, index=[*cells.index, "All"], columns=[*cells.columns, "All"])
        for w in waves:
            kept = linkage.waves[w.wave].mask
            force.loc[f"wave {w.wave}", "rows_kept"] = bool(kept.loc["Total", "Total"])
    shown = suppress(cells, threshold=threshold, force=force, prefer="totals",
                     margin_label="All").display()
    return pd.DataFrame({
        "file": [w.source for w in waves] + [""],
        "rows_read": shown["All"].to_numpy(),
        "rows_kept": shown["rows_kept"].to_numpy(),
        "rows_excluded": shown["rows_excluded"].to_numpy(),
    }, index=pd.Index([*cells.index, "All"], name="wave"))


#: Attrition columns written to disk. The per-level summaries (``summary_returned``, ...)
#: are left out: they show the percentage of every level, from which a count below the
#: threshold can be worked out, and the table has no level counts to protect them with.
_ATTRITION_COLUMNS = (
    "group", "variable", "label", "role", "measurement", "n_returned", "n_not_returned",
    "median_returned", "median_not_returned", "pct_returned", "pct_not_returned",
    "test", "statistic_name", "statistic", "df", "p_value", "effect_measure", "effect_size",
    "std_diff", "std_diff_measure", "note",
)
#: Values computed from both sides of a row: withheld when either side is.
_ATTRITION_TEST_COLUMNS = ("statistic", "df", "p_value", "effect_size", "std_diff")


def publishable_attrition(
    table: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    sources: Mapping[tuple[str, str], Any] | None = None,
    withheld_answered: Sequence[tuple[str, str]] = (),
    banded: Collection[tuple[str, str]] = (),
    domains: Collection[tuple[str, str]] = (),
) -> pd.DataFrame:
    """The attrition table as published, by the rules of the comparison table.

    Parameters
    ----------
    table
        :func:`~crisis_survey.link.attrition_table` (one row per group, ``"All"`` first,
        and variable).
    threshold
        Disclosure threshold.
    sources
        ``(group, variable) ->`` the returned-by-level counts each row's test is computed
        from (:func:`attrition_sources`); a row whose counts include a small one publishes
        no statistic, effect size or standardized difference, and its p-value as a band.
    banded
        ``(group, variable)`` rows whose statistics the release audit withholds too (their
        cells could be worked out from other rows' statistics: :func:`protect_release`).
    domains
        ``(group, variable)`` rows the release audit withholds whole (:func:`hidden_domains`):
        their n's, percentages, medians and statistics.

    Returns
    -------
    pandas.DataFrame
        The columns of ``_ATTRITION_COLUMNS``; withheld counts show ``[c]``, withheld
        values ``–``; percentages to one decimal.

    Notes
    -----
    For each variable the ``n_returned``/``n_not_returned`` counts of the groups form a
    table whose ``All`` row is the total; it is protected by
    :func:`~crisis_survey.present.suppress` (primary and secondary suppression). A side's
    percentage is the count in its top levels over its n: those counts and their
    complements form a table with the same ``All`` row, protected the same way (with the
    withheld n's forced), so the ``All`` row's percentage minus the published groups'
    cannot give a withheld group's count. A side's median is withheld with its n. When
    either side is withheld, the test statistic, df, p-value, effect size and
    standardized difference of the row are withheld too.
    """
    def counts() -> tuple[pd.DataFrame, pd.Series]:
        return _attrition_counts(table, threshold=threshold,
                                 withheld_answered=withheld_answered, domains=domains)

    try:  # the give-back trials change the banded rows, rarely the counts' protection
        key = ("attrition counts", _frame_key(table), int(threshold),
               tuple(map(tuple, withheld_answered)), frozenset(map(tuple, domains)))
    except TypeError:  # pragma: no cover - a value pandas cannot hash: computed afresh
        out, any_hidden = counts()
    else:
        out, any_hidden = remembered(key, counts)
    extra = {(str(g), str(v)) for g, v in banded}
    band = pd.Series(False, index=table.index)
    if sources is not None:
        for i, group, var in zip(table.index, table["group"], table["variable"], strict=True):
            found = sources.get((str(group), str(var)))
            if found is not None:
                c = np.asarray(found)
                band.at[i] = not bool(np.all((c == 0) | (c >= threshold)))
            band.at[i] = bool(band.at[i]) or (str(group), str(var)) in extra
    for col in _ATTRITION_TEST_COLUMNS:
        if col in out.columns:
            out.loc[(any_hidden | band) & table[col].notna(), col] = DERIVED_MARKER
    if "p_value" in out.columns:
        in_band = band & ~any_hidden & table["p_value"].notna()
        out.loc[in_band, "p_value"] = [p_band(float(p))
                                       for p in table.loc[in_band, "p_value"]]
    return out


def _attrition_counts(table: pd.DataFrame, *, threshold: int,
                      withheld_answered: Sequence[tuple[str, str]],
                      domains: Collection[tuple[str, str]]) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`publishable_attrition`'s counts, percentages and medians as published, and
    which rows withhold a side (their statistics withheld with it): the suppression of
    each variable's n's and of its percentages' counts, which the banded rows do not
    change (once per distinct input within a :func:`~crisis_survey._memo.memo_run`)."""
    keep = [c for c in _ATTRITION_COLUMNS if c in table.columns]
    out = table.loc[:, keep].astype(object).copy()
    whole = {(str(g), str(v)) for g, v in domains}
    sides = ("returned", "not_returned")
    hidden = pd.DataFrame(False, index=table.index, columns=[f"{c}_{s}" for s in sides
                                                               for c in ("n", "pct")])
    for _, rows in table.groupby("variable", sort=False):
        parts = rows[rows["group"] != "All"]
        if parts.empty:
            continue
        cells = parts.set_index("group")[["n_returned", "n_not_returned"]]
        variable = str(rows["variable"].iloc[0])
        force = pd.DataFrame(False, index=[*cells.index, "All"],
                             columns=[*cells.columns, "All"])
        for group in [*cells.index, "All"]:
            force.at[group, "All"] = (str(group), variable) in set(withheld_answered)
            if (str(group), variable) in whole:
                force.loc[group, ["n_returned", "n_not_returned"]] = True
        result = suppress(cells.astype("int64"), threshold=threshold, margin_label="All",
                          force=force)
        shown, mask = result.display(), result.mask
        for i, group in zip(rows.index, rows["group"], strict=True):
            for side in sides:
                out.at[i, f"n_{side}"] = str(shown.at[group, f"n_{side}"])
                hidden.at[i, f"n_{side}"] = bool(mask.at[group, f"n_{side}"])
        for side in sides:
            col = f"pct_{side}"
            if col not in table.columns:
                continue
            pct = pd.to_numeric(parts[col], errors="coerce")
            n = parts[f"n_{side}"].astype("int64")
            if pct.isna().all():
                continue
            if pct.isna().any():
                hidden.loc[rows.index, col] = True
                continue
            k = (pct * n / 100.0).round().astype("int64")
            counts = pd.DataFrame({"top": k.to_numpy(), "rest": (n - k).to_numpy()},
                                  index=parts["group"].to_numpy())
            force = pd.DataFrame(False, index=[*counts.index, "All"],
                                 columns=["top", "rest", "All"])
            force.loc[[*counts.index, "All"], "All"] = mask[f"n_{side}"].reindex(
                [*counts.index, "All"]).to_numpy()
            res = suppress(counts, threshold=threshold, margin_label="All", force=force)
            for i, group in zip(rows.index, rows["group"], strict=True):
                own = percent_reveals_small(_number(table.at[i, col]),
                                            _number(table.at[i, f"n_{side}"]), threshold)
                hidden.at[i, col] = own or bool(res.mask.at[group, "top"]
                                                or res.mask.at[group, "rest"])
    any_hidden = hidden.any(axis=1)
    for side in sides:
        hide = hidden[f"n_{side}"] | hidden[f"pct_{side}"]
        for col in (f"pct_{side}", f"median_{side}"):
            if col in out.columns:
                out.loc[hide & table[col].notna(), col] = DERIVED_MARKER
                shown_pct = ~hide & table[col].notna()
                if col.startswith("pct_"):
                    out.loc[shown_pct, col] = [round(float(v), 1)
                                               for v in table.loc[shown_pct, col]]
    return out, any_hidden


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def attrition_sources(study: LinkedStudy, variables: Sequence[str]) -> dict[tuple[str, str],
                                                                              Any]:
    """``(group, variable) ->`` the counts of wave-1 respondents by returned (linked) and
    level, the table each attrition test is computed from (``"All"``: every group)."""
    from ..compare._study import make_layout
    from ._tables import _codes

    cb = study.codebook
    layout = make_layout(study, (cb.group.name,))
    linked = layout.linked[0].astype(np.int64)
    data = study.wave1.data
    groups = list(cb.group.labels)
    g = _codes(data[cb.group.name], groups)
    out: dict[tuple[str, str], Any] = {}
    for name in variables:
        if name not in cb.names or not cb[name].levels or name not in data.columns:
            continue
        labels = cb[name].labels
        lv = _codes(data[name], labels)
        ok = lv >= 0
        k = len(labels)
        # one count over (group + 1, linked, level): row 0 holds the rows without a group
        key = ((g[ok] + 1) * 2 + linked[ok]) * k + lv[ok]
        counts = np.bincount(key, minlength=(len(groups) + 1) * 2 * k).reshape(-1, 2 * k)
        out[("All", name)] = counts[1:].sum(axis=0)
        for gi, group in enumerate(groups):
            out[(group, name)] = counts[gi + 1]
    return out


def _check_no_identifiers(name: str, table: pd.DataFrame, study: LinkedStudy,
                          secrets: set[str]) -> None:
    """Refuse to write a table holding a respondent id, link key or comment."""
    try:
        _refuse_identifiers(table, study.codebook, secrets)
    except DisclosureError as exc:
        raise DisclosureError(
            f"{name} was not written (please report this as a bug): {exc}"
        ) from None


# -- the whole release ------------------------------------------------------------------------
@dataclass(frozen=True)
class Release:
    """What :func:`publish` wrote: the linkage outputs and the report.

    Attributes
    ----------
    outputs
        ``accounting.csv``, ``linkage_counts.csv``, ``attrition.csv`` and ``README.md``.
    report
        The report's files (:class:`~crisis_survey.present.ReportFiles`).
    protection
        What the release audit found and did (:class:`Protection`; ``disclosure.csv``).

    Examples
    --------
    :func:`publish` returns one; its ``files`` are every file written, CSVs and report:

    >>> from dataclasses import fields
    >>> [f.name for f in fields(Release)]
    ['outputs', 'report', 'protection']
    """

    outputs: OutputSet
    report: ReportFiles
    protection: Protection | None = None

    @property
    def files(self) -> tuple[Path, ...]:
        return (*self.outputs.files, *self.report.files)

    def __str__(self) -> str:
        return str(self.report)


def publish(
    study: LinkedStudy,
    out: str | Path,
    *,
    plan: AnalysisPlan | None = None,
    inputs: Mapping[str, str | Path] | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
) -> Release:
    """Write the whole release of an analysis run into ``out``.

    Parameters
    ----------
    study, out, plan, inputs, synthetic, progress
        As for :func:`~crisis_survey.present.write_report`, which writes the report part:
        ``plan.threshold`` protects every file, ``inputs`` are hashed into the README too,
        the banner is :data:`SYNTHETIC_BANNER`, and ``progress`` hears of a step 0 first
        (the linkage outputs, written before the report).

    Returns
    -------
    Release

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey import AnalysisPlan, load_sample_study
    >>> plan = AnalysisPlan(items=("overall_rating",), designs=("paired",))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     release = publish(load_sample_study(), folder, plan=plan, synthetic=True)
    ...     print(sorted(p.name for p in release.outputs.files))
    ['README.md', 'accounting.csv', 'attrition.csv', 'disclosure.csv', 'linkage_counts.csv']
    """
    with memo_run():  # Table 1, the attrition table, ... built once for the audit and report
        return _publish(study, out, plan=plan, inputs=inputs, synthetic=synthetic,
                        progress=progress)


def _publish(study: LinkedStudy, out: str | Path, *, plan: AnalysisPlan | None,
             inputs: Mapping[str, str | Path] | None, synthetic: bool,
             progress: Progress | None) -> Release:
    from .._plan import AnalysisPlan

    plan = plan or AnalysisPlan()
    folder = Path(out)
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    waves = [given[k] for k in ("wave1", "wave2") if k in given]
    from ._report import ReportOptions, _comparison_kwargs, draw_study_figures

    plan.check(study.codebook)
    options = ReportOptions(plan=plan, inputs=given, synthetic=synthetic, progress=progress)
    say = options.say
    # moved into place whole, once complete; the figures drawn from the study alone are
    # drawn there by a worker from now on, beside the comparison and the audit
    with staged_folder(folder) as stage, draw_study_figures(study, plan, stage) as figures:
        from ..compare import compare_waves  # scipy.stats: after the worker is forked

        say(0, 7, "comparing the waves")
        comparison = compare_waves(study, **_comparison_kwargs(plan))
        say(0, 7, "auditing what the release publishes (disclosure control)")
        guard = protect_release(study, comparison, threshold=plan.threshold,
                                designs=plan.designs, confidence=plan.confidence,
                                progress=lambda message: say(0, 7, message))
        figures.audited(guard.withhold)  # the transition chart, drawn once from it
        bad = int(guard.audit["narrowed"].sum())
        kinds = {"domain": "domain part(s)", "linkage": "linkage cell(s)",
                 "difference": "difference interval(s)"}
        held = Counter(kinds.get(o[0], "statistic(s)") for o in guard.withhold)
        said = ", ".join(f"{n:,} {k}" for k, n in sorted(held.items())) or "nothing"
        say(0, 7, f"audited {len(guard.audit):,} small counts in {guard.seconds:.1f} s: "
                  f"{bad or 'none'} narrowed; withheld by the audit: {said}")
        if bad:
            import warnings

            warnings.warn(f"the disclosure audit found {bad} small count(s) that the "
                          "published tables narrow below the protection interval; review "
                          "Release.protection.audit before sharing the release", stacklevel=2)
        # step 0 of the report's 7: the linkage files come first
        say(0, 7, "linkage outputs: accounting, linkage counts, attrition")
        outputs = write_outputs_into(study, stage, synthetic=synthetic, inputs=waves,
                                     threshold=plan.threshold, protection=guard)
        say(0, 7, f"wrote {len(outputs.files)} linkage files")
        from ._report import write_report_into  # imports the writers (a second or more)

        report = write_report_into(study, stage, options, comparison=comparison,
                                   sources=guard.published.sources,
                                   model_sources=guard.published.models,
                                   notes=guard.notes(plan.threshold), figures=figures,
                                   withhold=guard.withhold)
    return Release(outputs=outputs.moved_to(folder), report=report.moved_to(folder),
                   protection=guard)


# -- the derived-value rule ---------------------------------------------------------------------
#: Bands a p-value is published in when its table holds a small count (the band reveals no
#: cell: many tables give a p-value in the same band).
P_BANDS: tuple[tuple[float, str], ...] = ((0.001, "< .001"), (0.01, "< .01"), (0.05, "< .05"))


def p_band(p: float) -> str:
    """A p-value as its band: ``< .001``, ``< .01``, ``< .05`` or ``≥ .05`` (``–`` if NaN).

    Examples
    --------
    >>> [p_band(p) for p in (0.0004, 0.003, 0.04, 0.2, float("nan"))]
    ['< .001', '< .01', '< .05', '≥ .05', '–']
    """
    if p != p:
        return DERIVED_MARKER
    for cut, text in P_BANDS:
        if p < cut:
            return text
    return "≥ .05"


#: The kinds of origin withheld for one comparison row (``(kind, design, group, item)``):
#: its statistics, and its paired difference's interval.
ROW_ORIGINS = ("comparison", "difference")


@dataclass(frozen=True)
class Source:
    """The cells a comparison row's test is computed from.

    ``cells`` are the counts; ``top1``/``top2`` mark the cells counted in each wave's
    published percentage and ``base1``/``base2`` those of its denominator (boolean masks).
    ``reveals`` is a 0/1 matrix: the sums of cells the test's statistic is a function of
    (``None``: the cells themselves; the signed-rank test reads only the counts of each
    difference ``x - y``, the diagonals of the pairs' table). ``change``: the same for the
    net change of a paired ordinal row (three sums: the pairs answering higher in wave 2,
    the same and lower; ``None`` where the row has no net change).
    """

    cells: Any
    top1: Any
    top2: Any
    base1: Any
    base2: Any
    reveals: Any = None
    withheld: bool = False  # the release audit withholds its statistic (secondary)
    change: Any = None
    #: the release audit withholds the row's n and percentages too (a domain's comparison
    #: rows: :func:`hidden_domains`), in every design
    hidden: bool = False
    #: the release audit withholds the row's level counts in the distribution table (a
    #: domain's distribution: :func:`hidden_domains`)
    levels_hidden: bool = False
    #: the release audit withholds the row's difference interval (origin ``("difference",
    #: design, group, item)``), which reads the pairs' 2 x 2 table of the counted level(s)
    difference_withheld: bool = False

    def net_change(self) -> Source | None:
        """The source of the row's net change: its cells with the three sums it reveals
        (``passes`` and ``narrowest`` then judge the net change), or None."""
        return None if self.change is None else replace(self, reveals=self.change)

    def difference(self, *, statistic: bool = False, change: bool = False) -> Source:
        """The source of a paired row's difference interval (wave 2 minus wave 1 in the
        counted level(s), Newcombe's method 10): its cells with the four sums of the pairs'
        2 x 2 table of the counted level(s) it reads (counted in both waves, in wave 1
        only, in wave 2 only, in neither), with the sums the row's statistic (``statistic``)
        and its net change (``change``) publish beside it, so that ``passes`` and
        ``narrowest`` judge everything the row shows together. Withheld (``passes`` is
        false) where the release audit withholds the interval, whatever it withholds of
        the row's statistic."""
        import numpy as np

        rows = [self._two_by_two()]
        if statistic:
            rows.append(self._revealed())
        if change and self.change is not None:
            rows.append(np.asarray(self.change, float))
        return replace(self, reveals=np.vstack(rows), withheld=self.difference_withheld)

    def _two_by_two(self) -> Any:
        """The four sums of the pairs' 2 x 2 table of the counted level(s), as rows over
        the cells: counted in both waves, in wave 1 only, in wave 2 only, in neither."""
        import numpy as np

        t1, t2 = np.asarray(self.top1, bool), np.asarray(self.top2, bool)
        return np.stack([t1 & t2, t1 & ~t2, ~t1 & t2, ~t1 & ~t2]).astype(float)

    def two_by_two(self) -> tuple[int, int, int, int]:
        """The pairs' 2 x 2 table of the counted level(s): ``(n11, n10, n01, n00)``,
        counted in both waves, in wave 1 only, in wave 2 only, in neither."""
        import numpy as np

        n11, n10, n01, n00 = (int(v) for v in np.rint(
            self._two_by_two() @ np.asarray(self.cells, dtype=float)))
        return n11, n10, n01, n00

    def _revealed(self) -> Any:
        import numpy as np

        c = np.asarray(self.cells, dtype=float)
        return np.eye(c.size) if self.reveals is None else np.asarray(self.reveals, float)

    def passes(self, threshold: int) -> bool:
        """The derived-value rule: every count the statistic is computed from is 0 or at
        least ``threshold``."""
        import numpy as np

        if self.withheld:
            return False
        sums = self._revealed() @ np.asarray(self.cells, dtype=float)
        return bool(np.all((sums == 0) | (sums >= threshold)))

    def narrowest(self, n_known: bool, pct_known: tuple[bool, bool], threshold: int,
                  *, stats: bool = False, protection: int | None = None) -> float:
        """The fewest whole numbers a small cell can be narrowed to from what the row
        publishes (its n and percentages taken as exact counts; with ``stats``, every sum
        the statistic reveals too).

        Exact, without a solver, from the vertices of the cells' classes
        (:func:`._audit_local.class_bounds`: a few hundred microseconds a row, where two
        HiGHS programmes took 5-10 ms). Where that declines (a cell in no row; too many
        vertices), by linear programming (:func:`_narrowest_lp`, the reference), whose
        cells shown to keep at least ``protection`` values (default
        :func:`~crisis_survey.present._disclosure.default_protection`) by a feasible
        segment are not solved for: the result is exact below ``protection``."""
        c = np.asarray(self.cells, dtype=float)
        small = np.flatnonzero((c >= 1) & (c < threshold))
        if small.size == 0:
            return math.inf
        rows: list[Any] = []
        if n_known:
            rows += [np.asarray(self.base1, float), np.asarray(self.base2, float)]
        rows += [np.asarray(top, float)
                 for known, top in zip(pct_known, (self.top1, self.top2), strict=True) if known]
        if stats:
            rows += list(self._revealed())
        if not rows:
            return math.inf
        a_eq = np.vstack(rows)
        need = default_protection(threshold) if protection is None else protection

        def solve() -> float:
            from ._audit_local import class_bounds

            exact = class_bounds(a_eq, c)
            if exact is None:  # too many vertices, or a cell in no row: the programme
                return _narrowest_lp(c, small, a_eq, need)
            lo, hi = exact
            return float(np.min(np.floor(hi[small] + 1e-7) - np.ceil(lo[small] - 1e-7) + 1))

        # the same cells and constraints recur (each audit round's and the report's tables
        # of a row): solved once per run (the demo: 238 calls, 107 different problems)
        return remembered(("narrowest", c.tobytes(), small.tobytes(), a_eq.shape, a_eq.tobytes(),
                           need), solve)


def _narrowest_lp(c: npt.NDArray[np.float64], small: npt.NDArray[np.intp],
                  a_eq: npt.NDArray[np.float64], need: int) -> float:
    """:meth:`Source.narrowest` by linear programming (the reference of its exact
    vertex enumeration, :func:`._audit_local.class_bounds`; exact below ``need``)."""
    (lo, hi), = lp_stack([{"objectives": np.eye(c.size)[small], "a_eq": a_eq,
                           "b_eq": a_eq @ c, "lower": 0.0, "upper": float(c.sum()),
                           "x0": c}], enough=need)
    return min(_width(a, b) for a, b in zip(lo, hi, strict=True))


def comparison_sources(study: Any, comparison: Any, *,
                       withhold: Collection[tuple[str, ...]] = ()
                       ) -> dict[tuple[str, str, str], Source]:
    """The cells behind every categorical row of a comparison, keyed ``(group, item,
    design)``: the ``k x k`` table of complete pairs (paired), both waves' level counts
    (independent), or both (overlapping: pairs and unpaired answers).

    Counted once for all items with :func:`crisis_survey.compare` 's counting layout, as
    the tests themselves were. ``withhold``: origins ``("comparison", design, group,
    item)`` whose statistics the release audit withholds (:func:`protect_release`), and
    ``("difference", design, group, item)``, whose difference interval it withholds.
    """
    out = remembered(("comparison sources", id(study), id(comparison)),
                     lambda: _comparison_sources(study, comparison), keep=(study, comparison))
    if withhold:
        for origin in withhold:
            if origin[0] in ROW_ORIGINS:
                key = (origin[2], origin[3], origin[1])
                flag = "withheld" if origin[0] == "comparison" else "difference_withheld"
                if key in out:
                    out[key] = replace(out[key], **{flag: True})
        designs = ("paired", "independent", "overlapping")
        for part, flags, which in (
                *((d, {"withheld": True, "hidden": True}, (d,)) for d in designs),
                ("distribution", {"levels_hidden": True}, designs)):
            for group, item in hidden_domains(withhold, part):
                for design in which:
                    if (group, item, design) in out:
                        out[(group, item, design)] = replace(out[(group, item, design)],
                                                             **flags)
    return out


def _comparison_sources(study: Any, comparison: Any) -> dict[tuple[str, str, str], Source]:
    """:func:`comparison_sources` before the audit's withholding (once per study and
    comparison within a :func:`~crisis_survey._memo.memo_run`: every round and give-back
    trial of :func:`protect_release` asks for it)."""
    import numpy as np

    from ..compare._study import count_items, make_layout, resolve_by

    options = getattr(comparison, "options", {})
    table = getattr(comparison, "table", comparison)
    by = tuple(options.get("by", ("group",)))
    layout = make_layout(study, resolve_by(study, by))
    cb = study.codebook
    assert isinstance(table, pd.DataFrame)
    # as the tests and summaries read them (a binary item's reported level second)
    fields = [cb[name].oriented() for name in pd.unique(table["item"]) if cb[name].levels]
    tests: Mapping[str, Mapping[str, Any]] = options.get("tests", {})
    out: dict[tuple[str, str, str], Source] = {}
    for f, counts in zip(fields, count_items(layout, fields), strict=True):
        k = len(f.labels)
        top = np.zeros(k, dtype=bool)
        if f.measurement == "ordinal":
            top[-2:] = True
        elif f.measurement == "binary":
            top[1] = True
        row_top = np.repeat(top, k)  # wave-1 level of cell (i, j) is i
        col_top = np.tile(top, k)
        ones = np.ones(k * k, bool)
        # the signed-rank test reads the counts of each difference x - y (its diagonals)
        i, j = np.divmod(np.arange(k * k), k)
        diagonals = np.stack([(j - i) == d for d in range(-(k - 1), k)]).astype(np.int8)
        ranks = tests.get(f.name, {}).get("paired") == "wilcoxon_signed_rank"
        # the net change reads three sums of them: pairs higher, the same, lower in wave 2
        change = (np.stack([j > i, j == i, j < i]).astype(np.int8)
                  if f.measurement == "ordinal" else None)
        for c, label in enumerate(layout.cells):
            pairs = np.rint(counts.table[c]).astype(np.int64).ravel()
            w1 = np.rint(counts.indep[0][c]).astype(np.int64)
            w2 = np.rint(counts.indep[1][c]).astype(np.int64)
            a1 = np.rint(counts.alone[0][c]).astype(np.int64)
            a2 = np.rint(counts.alone[1][c]).astype(np.int64)
            z = np.zeros(k, bool)
            o = np.ones(k, bool)
            out[(label, f.name, "paired")] = Source(pairs, row_top, col_top, ones, ones,
                                                    diagonals if ranks else None,
                                                    change=change)
            out[(label, f.name, "independent")] = Source(
                np.concatenate([w1, w2]), np.concatenate([top, z]), np.concatenate([z, top]),
                np.concatenate([o, z]), np.concatenate([z, o]))
            out[(label, f.name, "overlapping")] = Source(
                np.concatenate([pairs, a1, a2]), np.concatenate([row_top, top, z]),
                np.concatenate([col_top, z, top]), np.concatenate([ones, o, z]),
                np.concatenate([ones, z, o]))
    return out


def hidden_linkage(withhold: Collection[tuple[str, ...]]) -> frozenset[tuple[str, str]]:
    """The linkage cells the release audit withholds: ``(row, column)`` of each origin
    ``("linkage", row, column)`` in ``withhold`` (``LinkageReport.counts``' row names, a
    group or ``"All"``), for :func:`~crisis_survey.present.linkage_table`'s ``force``.

    The audit withholds one where a small linkage count is narrowed by the linkage table
    with the rest of the release (the comparison rows' numbers of pairs bound the linked
    respondents from below): the smallest published count of the same wave and group,
    and :func:`~crisis_survey.present.suppress` what that needs withheld with it."""
    return frozenset((str(o[1]), str(o[2])) for o in withhold
                     if len(o) == 3 and o[0] == "linkage")


def hidden_domains(withhold: Collection[tuple[str, ...]], part: str
                   ) -> frozenset[tuple[str, str]]:
    """The domains the release audit withholds from one part of the release: ``(group,
    field)`` of each origin ``("domain", group, field, part)`` in ``withhold``.

    A domain is one respondent group's (or comparison cell's, or ``"All"``) answers to one
    item or demographic variable. The audit withholds one from one part of the release at
    a time (:data:`DOMAIN_PARTS`): ``"transitions"`` (its transition cells and
    paired-change bars) or ``"likert"`` (its Likert bars) before any statistic, since the
    figures draw what the tables publish; ``"distribution"`` (its level counts in the
    distribution tables), ``"attrition"`` (its row of ``attrition.csv``), ``"table1"``
    (its cells in Table 1, both waves) or a design's name (``"overlapping"``,
    ``"independent"``, ``"paired"``: its comparison row's n, percentages and statistics
    in that design; the primary paired design last) only where no statistic is left to
    withhold (the count
    tables alone narrow a count: on small studies, a few dozen linked carers), as
    statistics producers suppress a small domain whole."""
    if part not in DOMAIN_PARTS:
        raise ValueError(f"part must be one of {DOMAIN_PARTS}, not {part!r}")
    return frozenset((str(o[1]), str(o[2])) for o in withhold
                     if len(o) == 4 and o[0] == "domain" and o[3] == part)


@dataclass(frozen=True)
class ModelSource:
    """The counts the change-by-group model of one item is fitted from (the derived-value
    rule for :func:`~crisis_survey.compare.change_by_group_model`).

    ``margins`` ``(groups, 2, k)``: every respondent's answer by group, wave and level
    (a linked respondent's in both waves, under the pair's group): the independence GEE's
    estimating equations read nothing else, so the odds ratios are functions of them.
    ``patterns``: the pattern counts (each group's ``k x k`` complete pairs, then its single
    answers in wave 1 and in wave 2) that the robust (sandwich) variance, hence every
    interval and p-value, also reads.
    """

    margins: Any
    patterns: Any
    withheld: bool = False  # the release audit withholds the model's numbers (secondary)

    @staticmethod
    def _pass(counts: Any, threshold: int) -> bool:
        c = np.asarray(counts, dtype=float)
        return bool(np.all((c == 0) | (c >= threshold)))

    def estimates_pass(self, threshold: int) -> bool:
        """The odds ratios may be published: every margin is 0 or at least ``threshold``
        (and the release audit does not withhold them)."""
        return not self.withheld and self._pass(self.margins, threshold)

    def passes(self, threshold: int) -> bool:
        """Intervals and exact p-values may be published too: every pattern count is 0 or at
        least ``threshold`` (else the p-value is published as its band)."""
        return self.estimates_pass(threshold) and self._pass(self.patterns, threshold)


def model_sources(study: Any, items: Sequence[str]) -> dict[str, ModelSource]:
    """The :class:`ModelSource` of every categorical item of ``items`` asked in both waves,
    counted once with the model's own layout (respondent group only, pairs under the group
    the linkage gives them), whatever the comparison's by-cells."""
    from ..compare._study import count_items, make_layout

    cb = study.codebook
    fields = [cb[name].oriented() for name in items
              if name in cb.names and cb[name].levels and 1 in cb[name].waves
              and 2 in cb[name].waves]
    if not fields:
        return {}
    layout = make_layout(study, (cb.group.name,))
    out: dict[str, ModelSource] = {}
    for f, counts in zip(fields, count_items(layout, fields), strict=True):
        table = np.rint(counts.table).astype(np.int64)  # (cells, k, k)
        alone = [np.rint(a).astype(np.int64) for a in counts.alone]
        margins = np.stack([table.sum(axis=2) + alone[0], table.sum(axis=1) + alone[1]], axis=1)
        patterns = np.concatenate([table.reshape(len(table), -1), alone[0], alone[1]], axis=1)
        out[f.name] = ModelSource(margins=margins, patterns=patterns)
    return out


def _withhold_models(models: Mapping[str, ModelSource], withhold: Collection[tuple[str, ...]]
                     ) -> dict[str, ModelSource]:
    """``models`` with those the release audit withholds (origins ``("model", item)``)
    marked withheld."""
    return {item: replace(m, withheld=("model", item) in withhold)
            for item, m in models.items()}


def model_publication(source: ModelSource | None, threshold: int) -> tuple[bool, bool]:
    """``(estimates, intervals)``: whether a model's odds ratios, and its intervals and exact
    p-values, may be published (no source: both, as outside a release)."""
    if source is None:
        return True, True
    return source.estimates_pass(threshold), source.passes(threshold)


_PUBLISHED = ("n_wave1", "n_wave2", "n_pairs", "estimate_wave1", "estimate_wave2",
              "effect_size", "ci_low", "ci_high", "net_change", "net_change_ci_low",
              "net_change_ci_high")


#: Each published p-value band as the interval ``[low, high)`` it says the p-value lies in.
P_BAND_BOUNDS: dict[str, tuple[float, float]] = {
    "< .001": (0.0, 0.001), "< .01": (0.001, 0.01), "< .05": (0.01, 0.05),
    "≥ .05": (0.05, math.inf)}
#: ``verdict_reason`` of the published verdicts (:func:`published_verdicts`).
BANDED_NOT_SIGNIFICANT = ("p-value published only as a band (small counts): no equivalence "
                          "test or detectable effect shown")
BANDED_NO_DIRECTION = ("p-value published only as a band (small counts): the direction is "
                       "not shown")
P_WITHHELD = "p-value withheld (small counts)"


def band_decides(band: str, alpha: float) -> bool | None:
    """Whether a p-value published as ``band`` is below ``alpha`` (``None``: the band does
    not say).

    Examples
    --------
    >>> [band_decides(b, 0.05) for b in ("< .01", "< .05", "≥ .05")]
    [True, True, False]
    >>> [band_decides(b, 0.10) for b in ("< .05", "≥ .05")]  # .05 <= p < .10 or p >= .10?
    [True, None]
    """
    low, high = P_BAND_BOUNDS[band]
    if high <= alpha:
        return True
    if low >= alpha:
        return False
    return None


def published_verdicts(comparison: Any, tables: Sequence[Any]) -> pd.DataFrame:
    """The comparison table as the release may publish it, its verdicts derivable from
    what the release's comparison tables publish (``tables``: see
    :func:`publishable_findings`); a boolean ``_withheld`` column marks rows whose numbers
    the tables withhold.

    A row whose n is withheld gets no verdict (``not reported``), nor one whose adjusted
    p-value is withheld. A row whose adjusted p-value is published only as a band (the
    derived-value rule) gets the verdict the band gives at the plan's ``alpha``:
    significant when the band lies below ``alpha`` (the direction only where the
    published wave estimates move the same way as the verdict's effect, else
    ``changed``), ``inconclusive`` when it lies at or above ``alpha`` (its equivalence test
    and detectable effect are functions of the same small counts and are not published),
    and ``not reported`` when the band straddles ``alpha`` (``< .05`` at alpha = .10).
    ``verdict_reason`` says why.
    """
    table: pd.DataFrame = comparison.table.copy()
    options = getattr(comparison, "options", {})
    alpha = float(options.get("alpha", 0.05))
    published = pd.concat([t.values for t in tables], ignore_index=True) if tables else None
    withheld = np.zeros(len(table), dtype=bool)
    if published is not None and not published.empty:
        key = ["group", "item", "design"]
        pub = published.drop_duplicates(key).set_index(key)
        idx = pd.MultiIndex.from_frame(table[key].astype({"design": str, "item": str}))
        known = idx.isin(pub.index)
        not_reported = np.zeros(len(table), dtype=bool)
        for col in (*_PUBLISHED, "p_adjusted"):
            if col not in pub.columns:
                continue
            raw = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
            shown = pub[col].reindex(idx).to_numpy(dtype=float)
            hidden = known & np.isnan(shown) & ~np.isnan(raw)
            if col == "p_adjusted":
                bands = (pub["p_adjusted_band"].reindex(idx).to_numpy(dtype=object)
                         if "p_adjusted_band" in pub.columns else np.full(len(table), None))
                _band_verdicts(table, hidden & ~not_reported, bands, alpha)
                continue
            withheld |= hidden
            table[col] = np.where(known, shown, raw)
            if col.startswith("n_"):
                not_reported |= hidden
        # the paired difference's interval (comparison_table's own columns: none in the
        # comparison), quoted by the findings where it is published
        for col in ("difference", "difference_low", "difference_high"):
            if col in pub.columns:
                table[col] = np.where(known, pub[col].reindex(idx).to_numpy(dtype=float),
                                      np.nan)
        table.loc[not_reported, "verdict"] = "not reported"
        table.loc[not_reported, "verdict_reason"] = None  # the heading says why
        table.loc[withheld, "mde"] = np.nan
    table["_withheld"] = withheld
    return table


def _band_verdicts(table: pd.DataFrame, hidden: npt.NDArray[np.bool_],
                   bands: npt.NDArray[Any], alpha: float) -> None:
    """Rewrite the verdicts of the rows whose adjusted p-value is not published exactly."""
    from ..compare._verdicts import CHANGED

    verdict = table["verdict"].to_numpy(dtype=object).copy()
    reason = table["verdict_reason"].to_numpy(dtype=object).copy()
    theta = pd.to_numeric(table["verdict_estimate"], errors="coerce").to_numpy(dtype=float)
    e1 = pd.to_numeric(table["estimate_wave1"], errors="coerce").to_numpy(dtype=float)
    e2 = pd.to_numeric(table["estimate_wave2"], errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(hidden).tolist():
        band = bands[i]
        below = band_decides(band, alpha) if isinstance(band, str) else None
        if not isinstance(band, str):
            verdict[i], reason[i] = "not reported", P_WITHHELD
        elif below is None:
            verdict[i] = "not reported"
            reason[i] = f"its p-value band ({band}) does not say whether p < {alpha:g}"
        elif not below:
            verdict[i], reason[i] = "inconclusive", BANDED_NOT_SIGNIFICANT
        elif verdict[i] in CHANGED and verdict[i] != "changed":
            # the published wave estimates show the direction only if they move its way
            moved = e2[i] - e1[i]
            if not (math.isfinite(moved) and moved != 0 and np.sign(moved) == np.sign(
                    theta[i])):
                verdict[i], reason[i] = "changed", BANDED_NO_DIRECTION
    table["verdict"] = verdict
    table["verdict_reason"] = reason


def publishable_findings(comparison: Any, tables: Sequence[Any], *, models: Sequence[Any] = (),
                         waves: Sequence[str] = ("wave 1", "wave 2"),
                         groups: Sequence[str] | None = None,
                         model_values: pd.DataFrame | None = None) -> Any:
    """The findings section as the release may publish it (:mod:`._findings`).

    ``tables`` are the release's comparison tables (:func:`~crisis_survey.present._tables.
    comparison_table`, one or more designs, built with the release's threshold and sources):
    the findings quote only the numbers those tables publish, and each verdict is derivable
    from them (:func:`published_verdicts`). A row whose n is withheld gets no verdict
    ("not reported: small counts"); a row whose effect is withheld is named with its
    verdict but without numbers, and its detectable effect (a function of its counts) is
    not quoted either; no p-value is quoted (a verdict says no more than the band a banded
    p-value is published in). ``model_values`` are the model table's published values
    (``model_table(...).values``): the sentences on the models quote only those.
    """
    from ._findings import build_findings

    table = published_verdicts(comparison, tables)
    options = getattr(comparison, "options", {})
    return build_findings(table, primary=str(options.get("primary", "paired")),
                          alpha=float(options.get("alpha", 0.05)), waves=waves,
                          models=models, groups=groups, adjust=str(options.get("adjust", "")),
                          model_values=model_values)


# -- the release-wide audit ---------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """What a release publishes, as the audit reads it (the tables' published values).

    Attributes
    ----------
    sample
        Table 1's values (``sample_table(...).values``: ``NaN`` where withheld).
    comparison
        Design -> the comparison table's published values.
    sources
        :func:`comparison_sources`.
    attrition, accounting, linkage_display
        ``attrition.csv``, ``accounting.csv`` and ``linkage_counts.csv`` as written.
    linkage_counts
        The linkage report's true counts (the audit's truth, never written).
    likert, change
        The bars of the Likert and paired-change figures (``drawn`` flags; the report draws
        no paired-change figure, the audit reads it under part ``"change"`` only).
    transitions
        The transition chart's cells (:func:`~crisis_survey.present.transition_counts`).
    wave2
        The wave-2 table by group's values (``None`` without wave-2-only items).
    models
        Item -> :class:`ModelSource` of the change-by-group model the report fits for it
        (ordinal items asked in both waves, two groups).
    distributions
        Design (``"paired"``, ``"independent"``) -> the distribution table's values
        (:func:`~crisis_survey.present._tables.distribution_table`: every level's count per
        group and wave), for each of the two the release compares (the report shows the
        primary design's).
    wave2_area
        The wave-2 table by local area's values where the report shows it (``None``
        otherwise): every count of it is published (``wave2_items_table`` pools areas until
        none is withheld).
    """

    sample: pd.DataFrame
    comparison: dict[str, pd.DataFrame]
    sources: dict[tuple[str, str, str], Source]
    attrition: pd.DataFrame
    accounting: pd.DataFrame
    linkage_display: pd.DataFrame
    linkage_counts: pd.DataFrame
    likert: pd.DataFrame
    change: pd.DataFrame
    transitions: pd.DataFrame
    wave2: pd.DataFrame | None

    withhold: frozenset[tuple[str, ...]] = frozenset()
    attrition_raw: pd.DataFrame | None = None
    #: the counts behind the change-by-group model of each ordinal item the report fits
    models: Mapping[str, ModelSource] = field(default_factory=dict)
    #: the wave-2 table by local area's values, where the report shows it
    wave2_area: pd.DataFrame | None = None
    #: design -> the distribution table's values (every level's count per group and wave)
    distributions: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def build(cls, study: LinkedStudy, comparison: Any, *, threshold: int = DEFAULT_THRESHOLD,
              designs: Sequence[str] = ("paired", "independent", "overlapping"),
              confidence: float = 0.95,
              withhold: Collection[tuple[str, ...]] = (),
              previous: Published | None = None) -> Published:
        """Build the published values; with ``previous`` (the same release with fewer
        statistics withheld), only what the new ``withhold`` changes is rebuilt."""
        from ..link import attrition_table
        from ._figdata import change_counts, likert_counts, transition_counts
        from ._tables import (
            _report_counts,
            comparison_table,
            distribution_table,
            protect_linkage_counts,
            sample_table,
            wave2_items_table,
        )

        withhold = frozenset(withhold)
        def domains(w: Collection[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
            return frozenset(o for o in w if o[0] in ("domain", "linkage"))

        if previous is not None and domains(withhold) != domains(previous.withhold):
            previous = None  # the count tables change: built again whole
        paired_figures = hidden_domains(withhold, "transitions")
        sources = comparison_sources(study, comparison, withhold=withhold)
        present = set(comparison.table["design"])
        changed = (withhold ^ previous.withhold) if previous is not None else None

        def table(d: str) -> pd.DataFrame:
            if previous is not None and changed is not None and d in previous.comparison and \
                    not any(o[0] in ROW_ORIGINS and o[1] == d for o in changed):
                return previous.comparison[d]
            # a design's rows read only its own sources: the same flags, the same values
            # (the rounds and trials that withhold other designs' rows or domains)
            flags = frozenset((key, s.withheld, s.hidden, s.levels_hidden,
                               s.difference_withheld)
                              for key, s in sources.items() if key[2] == d
                              and (s.withheld or s.hidden or s.levels_hidden
                                   or s.difference_withheld))
            return remembered(
                ("comparison values", id(study), id(comparison), d, int(threshold),
                 float(confidence), flags),
                lambda: comparison_table(comparison, designs=[d], threshold=threshold,
                                         sources=sources, confidence=confidence).values,
                keep=(study, comparison))

        shown = {d: table(d) for d in designs if d in present}
        if previous is not None and previous.attrition_raw is not None:
            attrition = previous.attrition
            if changed and any(o[0] == "attrition" for o in changed):
                attrition = _attrition_csv(study, previous.attrition_raw, previous.sample,
                                           threshold=threshold, withhold=withhold)
            return replace(previous, comparison=shown, sources=sources, attrition=attrition,
                           withhold=withhold, models=_withhold_models(previous.models,
                                                                      withhold))
        cb = study.codebook
        wave2_only = [f.name for f in cb.items() if f.waves == (2,) and f.levels]
        wave2 = (wave2_items_table(study, items=wave2_only, by="group",
                                   threshold=threshold).values if wave2_only else None)
        distributions = {d: distribution_table(study, comparison, design=d, sources=sources,
                                               threshold=threshold).values
                         for d in ("paired", "independent") if d in designs and d in present}
        wave2_area = None
        if wave2_only and cb.area is not None:  # as the report shows it (areas of its own)
            by_area = cached(wave2_items_table, study, items=wave2_only, by="area",
                             threshold=threshold)
            wave2_area = by_area.values if len(by_area.body_columns) > 1 else None
        sample = cached(sample_table, study, threshold=threshold,
                        hidden=hidden_domains(withhold, "table1")).values
        linkage = cached(protect_linkage_counts, study, threshold=threshold,
                         force=hidden_linkage(withhold))
        compared = set(getattr(comparison, "options", {}).get("items", ()))
        modelled = tuple(f.name for f in cb.items(measurement="ordinal")
                         if 1 in f.waves and 2 in f.waves and f.name in compared)
        models = _withhold_models(cached(model_sources, study, modelled)
                                  if modelled and len(study.groups) == 2 else {}, withhold)
        raw = cached(attrition_table, study)
        return cls(sample=sample, comparison=shown, sources=sources,
                   attrition=cached(_published_attrition, study, threshold=threshold,
                                    withhold=withhold),
                   accounting=publishable_accounting([study.wave1, study.wave2],
                                                     threshold=threshold, linkage=linkage),
                   linkage_display=linkage.display(),
                   linkage_counts=_report_counts(study),
                   likert=likert_counts(study, threshold=threshold,
                                        hidden=hidden_domains(withhold, "likert")),
                   change=change_counts(study, threshold=threshold, hidden=paired_figures),
                   transitions=cached(transition_counts, study, threshold=threshold,
                                      hidden=paired_figures),
                   wave2=wave2, wave2_area=wave2_area, distributions=distributions,
                   withhold=withhold, attrition_raw=raw, models=models)

    def csvs(self) -> dict[str, pd.DataFrame]:
        """The CSV files as :func:`linkage_outputs` gives them."""
        return {"accounting.csv": self.accounting, "linkage_counts.csv": self.linkage_display,
                "attrition.csv": self.attrition}


def audit_release(study: LinkedStudy, comparison: Any, *, threshold: int = DEFAULT_THRESHOLD,
                  protection: int | None = None,
                  designs: Sequence[str] = ("paired", "independent", "overlapping"),
                  parts: Sequence[str] | None = None,
                  published: Published | None = None) -> pd.DataFrame:
    """Attack a release as a reader holding all of it at once
    (:func:`crisis_survey.present._audit.audit_release`; ``parts`` default: all)."""
    from . import _audit

    return _audit.audit_release(study, comparison, threshold=threshold, protection=protection,
                                designs=designs, parts=_audit.PARTS if parts is None else parts,
                                published=published)


#: The output a domain's part names in ``disclosure.csv`` (:func:`hidden_domains`).
_DOMAIN_OUTPUTS = {"transitions": "transition figure", "likert": "Likert figure",
                   "distribution": "distribution tables", "attrition": "attrition.csv",
                   "table1": "Table 1", "overlapping": "comparison (overlapping)",
                   "independent": "comparison (independent)", "paired": "comparison (paired)"}


@dataclass(frozen=True)
class Protection:
    """What the release audit did before anything was written (:func:`protect_release`).

    Attributes
    ----------
    published
        The release's published values after secondary action.
    audit
        The last audit: one row per small count checked (:func:`audit_release`).
    withhold
        The statistics withheld by the audit (secondary action): ``("comparison", design,
        group, item)`` and ``("attrition", group, variable)``.
    rounds
        How many audits ran (1 when the first found nothing).
    seconds
        Time the audits and the secondary action took.
    """

    published: Published
    audit: pd.DataFrame
    withhold: frozenset[tuple[str, ...]]
    rounds: int
    seconds: float

    @property
    def clean(self) -> bool:
        return not bool(self.audit["narrowed"].any())

    def summary(self) -> pd.DataFrame:
        """``disclosure.csv``: per output, the withheld small counts (primary), the other
        withheld counts (secondary), the statistics the audit withheld, the small counts
        attacked and the fewest whole numbers any of them keeps."""
        withheld = self.audit.attrs.get("withheld", pd.DataFrame(
            columns=["output", "primary", "secondary"]))
        rows: dict[str, dict[str, Any]] = {
            str(r["output"]): {"output": str(r["output"]), "withheld_primary":
                                   int(r["primary"]), "withheld_secondary": int(r["secondary"])}
                for r in withheld.to_dict("records")}
        for out, part in self.audit.groupby("output", sort=False):
            r = rows.setdefault(str(out), {"output": str(out), "withheld_primary": 0,
                                           "withheld_secondary": 0})
            r["small_counts_attacked"] = len(part)
            r["fewest_values_left"] = float(part["values"].min())
            r["narrowed"] = int(part["narrowed"].sum())
        for origin in self.withhold:
            if origin[0] in ("domain", "linkage"):
                out = "linkage table" if origin[0] == "linkage" else _DOMAIN_OUTPUTS[origin[3]]
                column = "domains_withheld_by_audit"
            else:
                out = {"attrition": "attrition.csv", "model": "change-by-group model"}.get(
                    origin[0], f"comparison ({origin[1]})")
                column = "statistics_withheld_by_audit"
            r = rows.setdefault(out, {"output": out, "withheld_primary": 0,
                                      "withheld_secondary": 0})
            r[column] = r.get(column, 0) + 1
        frame = pd.DataFrame(list(rows.values()), columns=[
            "output", "withheld_primary", "withheld_secondary", "statistics_withheld_by_audit",
            "small_counts_attacked", "fewest_values_left", "narrowed",
            "domains_withheld_by_audit"])
        for c in ("statistics_withheld_by_audit", "small_counts_attacked", "narrowed",
                  "domains_withheld_by_audit"):
            frame[c] = frame[c].fillna(0).astype("int64")
        return frame.sort_values("output", kind="stable").reset_index(drop=True)

    def notes(self, threshold: int) -> list[str]:
        """The sentences the report and README carry about the audit."""
        a = self.audit
        fewest = float(a["values"].min()) if len(a) else math.inf
        need = default_protection(threshold)
        bad = int(a["narrowed"].sum())
        text = (f"Before anything was written, an audit of the whole release (every table, "
                f"figure and CSV together, by linear programming) attacked {len(a):,} small "
                f"counts (withheld counts and the cells statistics are computed from): ")
        unproven = int(a.attrs.get("unproven", 0))
        if bad and unproven:
            text += (f"{bad:,} of them could not be proven to keep at least {need} possible "
                     "values (at this size the audit solves local programmes, which can "
                     "fail to prove a count safe that is) and are reported as narrowed (the "
                     "analyst's list: Release.protection.audit); review them before this "
                     "release is shared.")
        elif bad:
            text += (f"{bad:,} of them can be narrowed to fewer than {need} possible values "
                     "by combining the published tables (the analyst's list: "
                     "Release.protection.audit); review them before this release is shared.")
        else:
            text += f"none can be narrowed to fewer than {need} possible values"
            text += f" (the fewest any keeps: {fewest:.0f})." if math.isfinite(fewest) else "."
        cells = [o for o in self.withhold if o[0] in ("domain", "linkage")]
        intervals = sum(o[0] == "difference" for o in self.withhold)
        stats = len(self.withhold) - len(cells) - intervals
        if stats:
            text += (f" {'To get there it' if not bad else 'It'} withheld {stats:,} further "
                     "statistic(s) whose cells other published values would have revealed "
                     "(secondary suppression; see disclosure.csv).")
        if intervals:
            text += (f" It withheld the interval of {intervals:,} paired difference(s) (the "
                     "difference itself is shown): each reads its pairs' 2 x 2 table, which "
                     "the audit could not prove safe to publish with the rest of the "
                     "release.")
        figures = [o for o in cells if o[0] == "domain" and o[3] in ("transitions", "likert")]
        if figures:
            text += (f" It withheld {len(figures)} figure panel(s) or set(s) of bars (one "
                     "group's answers to one question in the transition or Likert chart) "
                     "before any statistic, since the figures draw what the tables publish.")
        counts = sorted({(o[1], o[2]) for o in cells if o[0] == "domain" and o not in figures})
        linkage = sum(o[0] == "linkage" for o in cells)
        if counts or linkage:
            text += (" Where no statistic was left to withhold, it withheld "
                     + (f"{len(counts)} domain(s) (one group's answers to one question) from "
                        "one or more parts of the release (distribution tables, attrition.csv, "
                        "Table 1 or the comparison rows)" if counts else "")
                     + (" and " if counts and linkage else "")
                     + (f"{linkage} cell(s) of the linkage table" if linkage else "")
                     + ": too few respondents to publish them all (see disclosure.csv).")
        return [text]


#: The most give-back trials (audits) :func:`protect_release` runs once the release is
#: clean (the sample takes 7).
GIVE_BACK_TRIALS = 16


def _release_superseded(study: LinkedStudy, comparison: Any,
                        added: Sequence[frozenset[tuple[str, ...]]], published: Published,
                        audit: pd.DataFrame, withhold: set[tuple[str, ...]], *,
                        max_trials: int = GIVE_BACK_TRIALS, **options: Any
                        ) -> tuple[Published, pd.DataFrame, set[tuple[str, ...]]]:
    """Give back what earlier rounds withheld and later rounds made unnecessary.

    A round withholds, for each narrowed count, the statistic sharing most respondents with
    it; a later round may withhold another that protects the same counts, so the earlier
    choice can be superseded (on the sample: five carers' independent-design rows, withheld
    in round 1 for counts that round 2's attrition tests protect). Each earlier round's
    statistics are released together, oldest first, and kept released only if the release
    audited again is still clean; a round's statistics that cannot all be released are
    tried again by output (``("comparison", "independent")``, ``("attrition", ...)``...),
    then one at a time for comparison rows (on the sample round 1 also withholds two
    paired net changes, one of which stays needed; attrition tests are not tried one at a
    time: 18 audits and 16 s CPU on the sample became 11 and 9.7 s, with the same
    statistics withheld). At most one more audit per round, output and statistic, and at
    most ``max_trials`` in all (by group x area on a small study the audit withheld 94
    statistics and domains in 11 rounds, and each trial is an audit of 0.3-15 s); the
    guarantee is the audit's, as before. Only where the audit runs its reference path
    (small and middle-sized releases): by area each audit takes minutes."""
    def output(o: tuple[str, ...]) -> tuple[str, ...]:
        # a domain's output is its part of the release (every group's figures together)
        return (o[0], o[3]) if o[0] == "domain" else o[:2]

    trials = 0
    for batch in added[:-1]:
        outputs = sorted({output(o) for o in batch})
        # the round's statistics together, then by output, then what is left one at a time
        parts = list(dict.fromkeys([
            batch, *(frozenset(o for o in batch if output(o) == key) for key in outputs),
            # one at a time only the comparison rows' and the figures' (an attrition test
            # is worth less to a reader than the audit it costs: 0.4 s each on the sample)
            *(frozenset([o]) for o in sorted(batch) if o[0] in ROW_ORIGINS
              or (o[0] == "domain" and o[3] in ("transitions", "likert")))]))
        for part in parts:
            give = part & withhold  # what is still withheld of it
            if not give:
                continue
            if trials == max_trials:  # a count, not a clock: the outputs stay the same
                return published, audit, withhold
            trials += 1
            trial = withhold - give
            pub = Published.build(study, comparison, threshold=options["threshold"],
                                  designs=options["designs"], confidence=options["confidence"],
                                  withhold=trial, previous=published)
            again = audit_release(study, comparison, threshold=options["threshold"],
                                  protection=options["protection"], designs=options["designs"],
                                  published=pub)
            if not again["narrowed"].any():
                published, audit, withhold = pub, again, set(trial)
    return published, audit, withhold


def _difference_origins(comparison: Any, designs: Sequence[str]) -> frozenset[tuple[str, ...]]:
    """``("difference", "paired", group, item)`` of every paired comparison row: the
    difference intervals :func:`protect_release` adds last (:func:`_add_intervals`)."""
    if "paired" not in designs:
        return frozenset()
    table = getattr(comparison, "table", comparison)
    rows = table[table["design"] == "paired"]
    return frozenset(("difference", "paired", str(g), str(i))
                     for g, i in zip(rows["group"], rows["item"], strict=True))


#: The most audits :func:`_add_intervals` runs to add the paired difference intervals.
INTERVAL_ROUNDS = 4


def _add_intervals(study: LinkedStudy, comparison: Any, intervals: frozenset[tuple[str, ...]],
                   published: Published, audit: pd.DataFrame, withhold: set[tuple[str, ...]],
                   *, say: Callable[[str], None], **options: Any
                   ) -> tuple[Published, pd.DataFrame, set[tuple[str, ...]]]:
    """Add the paired rows' difference intervals to a release protected without them.

    Each interval reads its row's 2 x 2 table of the counted level(s) (:meth:`Source.
    difference`): one sum more than the row's n and percentages publish. The release
    is audited with every interval the row's own rule allows; an interval sharing
    respondents with a count the audit narrows is withheld (none else: ``_audit._fix``
    names an interval first), and the release audited again, at most
    :data:`INTERVAL_ROUNDS` times. Where that does not settle (a narrowed count no interval
    is named for, or the rounds run out), every interval not yet proven is withheld: the
    release is then the one protected without them. A release whose audit leaves counts
    narrowed (not proven safe: by group x area at national size, where each audit takes
    minutes) takes no interval: nothing more is published where the audit could not prove
    what is published already.

    The result's ``withhold`` names only the intervals that the row's rule would show and
    the audit withheld."""
    pending = intervals & withhold
    if not pending:
        return published, audit, withhold
    base = withhold - pending
    clean = not bool(audit["narrowed"].any())
    held: set[tuple[str, ...]] = set()  # the intervals the audit withholds
    shown: set[tuple[str, ...]] = set()  # the intervals the rows' own rule shows
    for round_ in range(1, INTERVAL_ROUNDS + 1 if clean else 2):
        pub = Published.build(study, comparison, threshold=options["threshold"],
                              designs=options["designs"], confidence=options["confidence"],
                              withhold=base | held, previous=published)
        if round_ == 1:
            paired = pub.comparison["paired"]
            on = paired["difference_low"].notna().to_numpy()
            shown = {("difference", "paired", str(g), str(i)) for g, i in zip(
                paired.loc[on, "group"], paired.loc[on, "item"], strict=True)}
            if not shown:
                return published, audit, base
            if not clean:
                break
            say(f"adding {len(shown):,} paired differences' intervals")
        again = audit_release(study, comparison, threshold=options["threshold"],
                              protection=options["protection"], designs=options["designs"],
                              published=pub)
        narrowed = again[again["narrowed"]]
        say(f"interval audit {round_}: {len(shown - held):,} intervals shown, "
            f"{len(narrowed):,} small counts narrowed")
        if narrowed.empty:
            return pub, again, base | held
        fixes = {f for f in narrowed["fix"] if f is not None and f[0] == "difference"} - held
        if not fixes:
            break
        held |= fixes
    say(f"withholding the {len(shown):,} paired differences' intervals: the audit "
        + ("did not prove them safe" if clean else "left counts not proven safe"))
    return published, audit, base | shown


#: The most rounds of audit and secondary action :func:`protect_release` runs (counts and
#: statistics withheld: the small studies take 5-11).
ROUNDS = 12
#: The most once every count an audit reports narrowed is one it has not proven narrowed
#: (statistics only, as before counts could be withheld; each round by area at national
#: size takes minutes). Where some are proven narrowed (the whole-block round with the
#: reference's strata bounds, ``_audit_local``), :data:`ROUNDS`: the sample by group x
#: area took 7 rounds to a clean release.
UNPROVEN_ROUNDS = 6
#: Where every narrowed count is only unproven (the local path beyond its exact budget),
#: a round's withholdings must settle at least this share of the counts the round before
#: left, or the rounds stop there. Withholding statistics does not make a count the local
#: programmes cannot bound provable: by group x area at 10,000 per wave rounds 2 to 6 took
#: 50 minutes and took the narrowed counts from 28,600 to 27,706 (3%), withholding 559
#: statistics, ten change-by-group models among them.
UNPROVEN_PROGRESS = 0.1
#: Where some narrowed counts are proven (the local path by area), the rounds stop once
#: this many in a row each settle less than :data:`UNPROVEN_PROGRESS` of the counts the
#: round before left: on a 12-area study by group x area rounds 3 to 12 took 1,208 to
#: 1,195 in 88 s; on the sample by group x area round 2 settled 4% and round 3 64%.
SLOW_ROUNDS = 2


@in_memo_run  # its rounds share each block's solved programmes (._audit._block_bounds) and
# the tables' solved cells (distribution_table's level protection)
def protect_release(study: LinkedStudy, comparison: Any, *, threshold: int = DEFAULT_THRESHOLD,
                    designs: Sequence[str] = ("paired", "independent", "overlapping"),
                    confidence: float = 0.95, protection: int | None = None,
                    max_rounds: int | None = None, strict: bool = False,
                    progress: Callable[[str], None] | None = None) -> Protection:
    """Audit the whole release and act on what the audit finds, before anything is written.

    Each round builds what the release publishes (:class:`Published`) and attacks it
    (:func:`audit_release`). A small count narrowed below the protection interval is
    protected by withholding the statistic that reveals it (the one of its block sharing
    most respondents with it: its p-value is then banded, its statistic and effect size
    withheld, as for a row with a small cell); the release is rebuilt and audited again,
    until nothing is narrowed.

    A narrowed count with no statistic left to withhold (the count tables alone narrow
    it) is left in the result (``clean`` is false; ``disclosure.csv`` and the report say
    so) or, with ``strict``, raises :class:`DisclosureError` before anything is written.

    ``max_rounds`` (default: :data:`ROUNDS`, or :data:`UNPROVEN_ROUNDS` once every count
    an audit reports narrowed is one it has not proven narrowed, the local path by group
    x area at national
    size, where each round takes minutes and withholds statistics only; there the rounds
    also stop once a round settles less than :data:`UNPROVEN_PROGRESS` of the counts the
    round before left).

    ``progress`` hears a line after each round (what was attacked, narrowed and withheld).
    """
    with reporting_to(progress):  # the blocks' programmes say how far they have got
        return _protect_release(study, comparison, threshold=threshold, designs=designs,
                                confidence=confidence, protection=protection,
                                max_rounds=max_rounds, strict=strict, progress=progress)


def _protect_release(study: LinkedStudy, comparison: Any, *, threshold: int,
                     designs: Sequence[str], confidence: float, protection: int | None,
                     max_rounds: int | None, strict: bool,
                     progress: Callable[[str], None] | None = None) -> Protection:
    import time

    start = time.perf_counter()
    say = progress or (lambda message: None)
    # the paired rows' difference intervals are left out until the rest is protected, then
    # added where the audit proves them safe (_add_intervals): showing one never costs
    # another published value
    intervals = _difference_origins(comparison, designs)
    withhold: set[tuple[str, ...]] = set(intervals)
    added: list[frozenset[tuple[str, ...]]] = []  # what each round withheld
    published: Published | None = None
    before: int | None = None  # counts reported narrowed, last round, if unproven
    last: int | None = None  # counts reported narrowed, last round
    slow = 0  # rounds in a row, on the local path, settling less than UNPROVEN_PROGRESS

    def finish(published: Published, audit: pd.DataFrame, withhold: set[tuple[str, ...]],
               rounds: int) -> Protection:
        published, audit, withhold = _add_intervals(
            study, comparison, intervals, published, audit, withhold, say=say,
            threshold=threshold, designs=designs, confidence=confidence,
            protection=protection)
        return Protection(published=published, audit=audit, withhold=frozenset(withhold),
                          rounds=rounds, seconds=time.perf_counter() - start)

    for rounds in range(1, (max_rounds or ROUNDS) + 1):
        published = Published.build(study, comparison, threshold=threshold, designs=designs,
                                    confidence=confidence, withhold=withhold,
                                    previous=published)
        audit = audit_release(study, comparison, threshold=threshold, protection=protection,
                              designs=designs, published=published)
        narrowed = audit[audit["narrowed"]]
        say(f"audit round {rounds}: {len(audit):,} small counts attacked, "
            f"{len(narrowed):,} narrowed ({time.perf_counter() - start:.1f} s)")
        if narrowed.empty:
            if audit.attrs.get("method") == "reference":  # by size, so deterministic: the
                # local path's audits (by area) take minutes each
                if added:
                    say("trying to publish again what the audit withheld (give-back)")
                published, audit, withhold = _release_superseded(
                    study, comparison, added, published, audit, withhold,
                    threshold=threshold, designs=designs, confidence=confidence,
                    protection=protection)
            return finish(published, audit, withhold, rounds)
        fixes = {f for f in narrowed["fix"] if f is not None} - withhold
        added.append(frozenset(fixes))
        # counts only unproven (not proven narrowed: the local path beyond its exact
        # programmes) are settled by statistics alone, if at all; where some are proven
        # narrowed, the rounds act on them as the exact audit's do
        unproven = int(audit.attrs.get("unproven", 0))
        unproven = unproven if unproven >= len(narrowed) else 0
        limit = max_rounds or (UNPROVEN_ROUNDS if unproven else ROUNDS)
        futile = False
        if max_rounds is None and unproven > 0 and before is not None:
            futile = len(narrowed) > (1.0 - UNPROVEN_PROGRESS) * before
            if futile:
                say(f"audit: stopping after round {rounds}: the statistics withheld settled "
                    f"{max(before - len(narrowed), 0):,} of the {before:,} counts not proven "
                    f"safe (less than {UNPROVEN_PROGRESS:.0%}); the rest are reported "
                    "narrowed")
        before = len(narrowed) if unproven else None
        # proven counts on the local path (by area, each round minutes at national size):
        # the rounds stop once SLOW_ROUNDS in a row settle less than UNPROVEN_PROGRESS
        local = audit.attrs.get("method") == "local"
        slow = slow + 1 if (local and last is not None and
                            len(narrowed) > (1.0 - UNPROVEN_PROGRESS) * last) else 0
        last = len(narrowed)
        if max_rounds is None and not futile and slow >= SLOW_ROUNDS:
            futile = True
            say(f"audit: stopping after round {rounds}: {SLOW_ROUNDS} rounds in a row "
                f"settled less than {UNPROVEN_PROGRESS:.0%} of the narrowed counts each; "
                f"the {len(narrowed):,} left are reported narrowed")
        if not fixes or rounds >= limit or futile:
            if not strict:
                return finish(published, audit, withhold, rounds)
            break
        withhold |= fixes
    facts = "; ".join(f"{r['fact']} (interval {r['lower']:.0f} to {r['upper']:.0f})"
                      for r in narrowed.head(10).to_dict("records"))
    raise DisclosureError(
        f"the release was not written: the disclosure audit found {len(narrowed)} small "
        f"count(s) that the published values narrow to fewer than the protection interval "
        f"and that withholding statistics does not fix: {facts}. Please report this as a "
        "bug; a higher [disclosure] threshold, fewer items or coarser groups avoid it")
