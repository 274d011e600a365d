"""The publishing layer: everything a release publishes leaves the library through here
(private module; :func:`publish`, :func:`write_outputs` and :data:`SYNTHETIC_BANNER` are
public through :mod:`crisis_survey.present`).

A *release* is every file one run writes into its output folder: the tables (HTML, LaTeX,
Markdown, Word, Excel), the figures (SVG, PDF, PNG), ``report.html`` and ``report.docx``,
``accounting.csv``, ``linkage_counts.csv``, ``attrition.csv``, ``README.md`` and
``manifest.json``. Their numbers are protected together (``docs/disclosure-control.md``):
one banner text, one rule for withholding a row's derived values, and one audit over what
the release publishes as a whole before anything is written. The command line only parses
its arguments and calls :func:`publish` (``report``, ``demo``) or :func:`write_outputs`
(``link``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ._disclosure import (
    DEFAULT_THRESHOLD,
    DERIVED_MARKER,
    SUPPRESSED_MARKER,
    DisclosureError,
    assert_no_identifiers,
    identifying_values,
    percent_reveals_small,
    suppress,
)

if TYPE_CHECKING:
    from .._plan import AnalysisPlan
    from ..link import LinkedStudy
    from ..load import SurveyWave
    from ._report import ReportFiles
    from ._tables import LinkageSuppression

__all__ = ["SYNTHETIC_BANNER", "OutputSet", "Release", "publish", "publishable_accounting",
           "publishable_attrition", "write_outputs"]

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
    """What :func:`write_outputs` wrote: the files and the lines of the summary."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def write_outputs(
    study: LinkedStudy,
    out: Path,
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
    """
    from ..link import attrition_table
    from ._tables import protect_linkage_counts

    out.mkdir(parents=True, exist_ok=True)
    result = OutputSet(folder=out)
    secrets = identifying_values((study.wave1, study.wave2))
    linkage = protect_linkage_counts(study, threshold=threshold)
    linkage_counts = linkage.display()
    tables: dict[str, pd.DataFrame] = {
        "accounting.csv": publishable_accounting([study.wave1, study.wave2],
                                                 threshold=threshold, linkage=linkage),
        "linkage_counts.csv": linkage_counts,
        "attrition.csv": publishable_attrition(attrition_table(study), threshold=threshold),
    }
    for name, table in tables.items():
        _check_no_identifiers(name, table, study, secrets)
    for name, table in tables.items():
        path = out / name
        table.to_csv(path, lineterminator="\n", index=name != "attrition.csv")
        result.files.append(path)

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
              f"shown as `{SUPPRESSED_MARKER}`, and so are counts from which a withheld count "
              "could be worked out (secondary suppression); zeros are shown. Percentages "
              "and medians of a withheld count, and percentages that would reveal a count "
              f"below {threshold}, are shown as `{DERIVED_MARKER}`; so are the test "
              "results of such a row. The linkage counts withhold the same cells as the "
              "report's linkage table. The analyst's Python objects keep the exact numbers.",
              "No file holds a respondent identifier, link key or free-text comment.", "",
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
    table: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """The attrition table as published, by the rules of the comparison table.

    Parameters
    ----------
    table
        :func:`~crisis_survey.link.attrition_table` (one row per group, ``"All"`` first,
        and variable).
    threshold
        Disclosure threshold.

    Returns
    -------
    pandas.DataFrame
        The columns of ``_ATTRITION_COLUMNS``; withheld counts show ``[c]``, withheld
        values ``–``.

    Notes
    -----
    For each variable the ``n_returned``/``n_not_returned`` counts of the groups form a
    table whose ``All`` row is the total; it is protected by
    :func:`~crisis_survey.present.suppress` (primary and secondary suppression). A side's
    percentage and median are withheld when its ``n`` is withheld, and the percentage also
    when it reveals a count or complement below the threshold
    (:func:`~crisis_survey.present._disclosure.percent_reveals_small`). When either side
    is withheld, the test statistic, df, p-value, effect size and standardized difference
    of the row are withheld too: with the other side's numbers they can give it away.
    """
    keep = [c for c in _ATTRITION_COLUMNS if c in table.columns]
    out = table.loc[:, keep].astype(object).copy()
    n_hidden = pd.DataFrame(False, index=table.index, columns=["n_returned", "n_not_returned"])
    for _, rows in table.groupby("variable", sort=False):
        parts = rows[rows["group"] != "All"]
        if parts.empty:
            continue
        cells = parts.set_index("group")[["n_returned", "n_not_returned"]]
        result = suppress(cells.astype("int64"), threshold=threshold, margin_label="All")
        shown, mask = result.display(), result.mask
        for i, group in zip(rows.index, rows["group"], strict=True):
            for col in ("n_returned", "n_not_returned"):
                out.at[i, col] = str(shown.at[group, col])
                n_hidden.at[i, col] = bool(mask.at[group, col])
    any_hidden = pd.Series(False, index=table.index)
    for side in ("returned", "not_returned"):
        n = pd.to_numeric(table[f"n_{side}"], errors="coerce")
        hide = n_hidden[f"n_{side}"].copy()
        if f"pct_{side}" in table.columns:
            pct = pd.to_numeric(table[f"pct_{side}"], errors="coerce")
            reveals = [percent_reveals_small(p, k, threshold) for p, k in zip(pct, n, strict=True)]
            hide |= pd.Series(reveals, index=table.index)
        any_hidden |= hide
        for col in (f"pct_{side}", f"median_{side}"):
            if col in out.columns:
                out.loc[hide & table[col].notna(), col] = DERIVED_MARKER
    for col in _ATTRITION_TEST_COLUMNS:
        if col in out.columns:
            out.loc[any_hidden & table[col].notna(), col] = DERIVED_MARKER
    return out


def _check_no_identifiers(name: str, table: pd.DataFrame, study: LinkedStudy,
                          secrets: set[str]) -> None:
    """Refuse to write a table holding a respondent id, link key or comment."""
    try:
        assert_no_identifiers(table, study.codebook, sensitive_values=secrets)
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
    """

    outputs: OutputSet
    report: ReportFiles

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
    study
        The linked study (:func:`~crisis_survey.link.link_waves`).
    out
        Output folder (created).
    plan
        The analysis plan (default :class:`~crisis_survey.AnalysisPlan` defaults); its
        ``threshold`` protects every file.
    inputs
        Role -> path of the input files (``wave1``, ``wave2``, ``codebook``, ``plan``...),
        hashed into the manifest and the README.
    synthetic
        Mark every page and file as synthetic data (:data:`SYNTHETIC_BANNER`).
    progress
        Called as ``progress(step, total, message)`` before each step of the report.

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
    ['README.md', 'accounting.csv', 'attrition.csv', 'linkage_counts.csv']
    """
    from .._plan import AnalysisPlan
    from ._report import write_report

    plan = plan or AnalysisPlan()
    folder = Path(out)
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    waves = [given[k] for k in ("wave1", "wave2") if k in given]
    outputs = write_outputs(study, folder, synthetic=synthetic, inputs=waves,
                            threshold=plan.threshold)
    report = write_report(study, folder, plan=plan, inputs=given, synthetic=synthetic,
                          progress=progress)
    return Release(outputs=outputs, report=report)
