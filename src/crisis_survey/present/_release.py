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
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._disclosure import (
    DEFAULT_THRESHOLD,
    DERIVED_MARKER,
    SUPPRESSED_MARKER,
    DisclosureError,
    _identifying_among,
    _published_texts,
    _refuse_identifiers,
    percent_reveals_small,
    suppress,
)
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
           "write_outputs"]

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


def linkage_outputs(study: LinkedStudy, *, threshold: int = DEFAULT_THRESHOLD
                    ) -> dict[str, pd.DataFrame]:
    """The CSV files of a release as published: ``accounting.csv``, ``linkage_counts.csv``
    and ``attrition.csv`` (file name -> frame), protected as :func:`write_outputs` says."""
    from ..link import attrition_table
    from ._tables import NOT_STATED, protect_linkage_counts, sample_table

    linkage = protect_linkage_counts(study, threshold=threshold)
    attrition = attrition_table(study)
    sample = sample_table(study, threshold=threshold).values
    first = sample[(sample["wave"] == 1) & (sample["level"] == NOT_STATED)]
    not_stated = [(str(g), str(v)) for g, v, c in zip(first["group"], first["variable"],
                                                       first["count"], strict=True)
                  if pd.isna(c)]
    return {
        "accounting.csv": publishable_accounting([study.wave1, study.wave2],
                                                 threshold=threshold, linkage=linkage),
        "linkage_counts.csv": linkage.display(),
        "attrition.csv": publishable_attrition(
            attrition, threshold=threshold, withheld_answered=not_stated,
            sources=attrition_sources(study, list(pd.unique(attrition["variable"])))),
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
) -> OutputSet:
    """:func:`write_outputs` into the existing folder ``out``, without staging or manifest
    (:func:`publish` writes the report beside them, then one manifest)."""
    result = OutputSet(folder=out)
    tables = linkage_outputs(study, threshold=threshold)
    secrets = _identifying_among((study.wave1, study.wave2), _published_texts(tables.values()))
    linkage_counts = tables["linkage_counts.csv"]
    for name, table in tables.items():
        _check_no_identifiers(name, table, study, secrets)
    for name, table in tables.items():
        result.files.append(write_csv(table, out / name, index=name != "attrition.csv"))

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
    table: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    sources: Mapping[tuple[str, str], Any] | None = None,
    withheld_answered: Sequence[tuple[str, str]] = (),
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
    keep = [c for c in _ATTRITION_COLUMNS if c in table.columns]
    out = table.loc[:, keep].astype(object).copy()
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
    banded = pd.Series(False, index=table.index)
    if sources is not None:
        for i, group, var in zip(table.index, table["group"], table["variable"], strict=True):
            found = sources.get((str(group), str(var)))
            if found is not None:
                c = np.asarray(found)
                banded.at[i] = not bool(np.all((c == 0) | (c >= threshold)))
    for col in _ATTRITION_TEST_COLUMNS:
        if col in out.columns:
            out.loc[(any_hidden | banded) & table[col].notna(), col] = DERIVED_MARKER
    if "p_value" in out.columns:
        band = banded & ~any_hidden & table["p_value"].notna()
        out.loc[band, "p_value"] = [p_band(float(p)) for p in table.loc[band, "p_value"]]
    return out


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

    Examples
    --------
    :func:`publish` returns one; its ``files`` are every file written, CSVs and report:

    >>> from dataclasses import fields
    >>> [f.name for f in fields(Release)]
    ['outputs', 'report']
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
        Called as ``progress(step, total, message)`` before each step of the report
        (step 0: the linkage outputs, written first).

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
    from ._report import write_report_into

    plan = plan or AnalysisPlan()
    folder = Path(out)
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    waves = [given[k] for k in ("wave1", "wave2") if k in given]
    say: Progress = progress or (lambda i, n, m: None)
    with staged_folder(folder) as stage:  # moved into place whole, once complete
        # step 0 of the report's 7: the linkage files come first
        say(0, 7, "linkage outputs: accounting, linkage counts, attrition")
        outputs = write_outputs_into(study, stage, synthetic=synthetic, inputs=waves,
                                     threshold=plan.threshold)
        say(0, 7, f"wrote {len(outputs.files)} linkage files")
        report = write_report_into(study, stage, plan=plan, inputs=given,
                                   synthetic=synthetic, progress=progress)
    return Release(outputs=outputs.moved_to(folder), report=report.moved_to(folder))


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


@dataclass(frozen=True)
class Source:
    """The cells a comparison row's test is computed from.

    ``cells`` are the counts; ``top1``/``top2`` mark the cells counted in each wave's
    published percentage and ``base1``/``base2`` those of its denominator (boolean masks).
    ``reveals`` is a 0/1 matrix: the sums of cells the test's statistic is a function of
    (``None``: the cells themselves; the signed-rank test reads only the counts of each
    difference ``x - y``, the diagonals of the pairs' table).
    """

    cells: Any
    top1: Any
    top2: Any
    base1: Any
    base2: Any
    reveals: Any = None

    def _revealed(self) -> Any:
        import numpy as np

        c = np.asarray(self.cells, dtype=float)
        return np.eye(c.size) if self.reveals is None else np.asarray(self.reveals, float)

    def passes(self, threshold: int) -> bool:
        """The derived-value rule: every count the statistic is computed from is 0 or at
        least ``threshold``."""
        import numpy as np

        sums = self._revealed() @ np.asarray(self.cells, dtype=float)
        return bool(np.all((sums == 0) | (sums >= threshold)))

    def narrowest(self, n_known: bool, pct_known: tuple[bool, bool], threshold: int,
                  *, stats: bool = False) -> float:
        """The fewest whole numbers a small cell can be narrowed to from what the row
        publishes (its n and percentages taken as exact counts; with ``stats``, every sum
        the statistic reveals too), by linear programming."""
        import numpy as np
        from scipy.optimize import linprog

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
        b_eq = a_eq @ c
        best = math.inf
        for k in small:
            obj = np.zeros(c.size)
            obj[k] = 1.0
            lo = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            hi = linprog(-obj, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if lo.status != 0 or hi.status != 0:
                continue
            low, high = float(lo.fun or 0.0), -float(hi.fun or 0.0)
            best = min(best, math.floor(high + 1e-7) - math.ceil(low - 1e-7) + 1)
        return best


def comparison_sources(study: Any, comparison: Any) -> dict[tuple[str, str, str], Source]:
    """The cells behind every categorical row of a comparison, keyed ``(group, item,
    design)``: the ``k x k`` table of complete pairs (paired), both waves' level counts
    (independent), or both (overlapping: pairs and unpaired answers).

    Counted once for all items with :func:`crisis_survey.compare` 's counting layout, as
    the tests themselves were.
    """
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
        for c, label in enumerate(layout.cells):
            pairs = np.rint(counts.table[c]).astype(np.int64).ravel()
            w1 = np.rint(counts.indep[0][c]).astype(np.int64)
            w2 = np.rint(counts.indep[1][c]).astype(np.int64)
            a1 = np.rint(counts.alone[0][c]).astype(np.int64)
            a2 = np.rint(counts.alone[1][c]).astype(np.int64)
            z = np.zeros(k, bool)
            o = np.ones(k, bool)
            out[(label, f.name, "paired")] = Source(pairs, row_top, col_top, ones, ones,
                                                    diagonals if ranks else None)
            out[(label, f.name, "independent")] = Source(
                np.concatenate([w1, w2]), np.concatenate([top, z]), np.concatenate([z, top]),
                np.concatenate([o, z]), np.concatenate([z, o]))
            out[(label, f.name, "overlapping")] = Source(
                np.concatenate([pairs, a1, a2]), np.concatenate([row_top, top, z]),
                np.concatenate([col_top, z, top]), np.concatenate([ones, o, z]),
                np.concatenate([ones, z, o]))
    return out


_PUBLISHED = ("n_wave1", "n_wave2", "n_pairs", "estimate_wave1", "estimate_wave2",
              "effect_size", "ci_low", "ci_high")


def publishable_findings(comparison: Any, tables: Sequence[Any], *, models: Sequence[Any] = (),
                         waves: Sequence[str] = ("wave 1", "wave 2"),
                         groups: Sequence[str] | None = None) -> Any:
    """The findings section as the release may publish it (:mod:`._findings`).

    ``tables`` are the release's comparison tables (:func:`~crisis_survey.present._tables.
    comparison_table`, one or more designs, built with the release's threshold and sources):
    the findings quote only the numbers those tables publish. A row whose n is withheld
    gets no verdict ("not reported: small counts"); a row whose effect is withheld is named
    with its verdict but without numbers, and its detectable effect (a function of its
    counts) is not quoted either; no p-value is quoted (a verdict says no more than the
    band a banded p-value is published in).
    """
    from ._findings import build_findings

    table = comparison.table.copy()
    published = pd.concat([t.values for t in tables], ignore_index=True) if tables else None
    withheld = np.zeros(len(table), dtype=bool)
    if published is not None and not published.empty:
        key = ["group", "item", "design"]
        pub = published.drop_duplicates(key).set_index(key)
        idx = pd.MultiIndex.from_frame(table[key].astype({"design": str, "item": str}))
        known = idx.isin(pub.index)
        for col in _PUBLISHED:
            if col not in pub.columns:
                continue
            raw = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
            shown = pub[col].reindex(idx).to_numpy(dtype=float)
            hidden = known & np.isnan(shown) & ~np.isnan(raw)
            withheld |= hidden
            table[col] = np.where(known, shown, raw)
            if col.startswith("n_"):
                small = hidden
                table.loc[small, "verdict"] = "not reported"
        table.loc[withheld, "mde"] = np.nan
    table["_withheld"] = withheld
    options = getattr(comparison, "options", {})
    return build_findings(table, primary=str(options.get("primary", "paired")),
                          alpha=float(options.get("alpha", 0.05)), waves=waves,
                          models=models, groups=groups, adjust=str(options.get("adjust", "")))


# -- the release-wide audit ---------------------------------------------------------------------
@dataclass
class _Facts:
    """What a release publishes, as counts of *persons* (a linked pair is one person with
    both rows; unlinked rows are persons of one wave): a boolean mask per published or
    withheld count, its true value and whether it is published."""

    n_persons: int
    masks: list[Any] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def add(self, label: str, mask: Any, published: bool) -> None:
        self.masks.append(mask)
        self.values.append(int(mask.sum()))
        self.published.append(bool(published))
        self.labels.append(label)


def audit_release(study: LinkedStudy, comparison: Any, *, threshold: int = DEFAULT_THRESHOLD,
                  protection: int | None = None, designs: Sequence[str] = ("paired",
                                                                           "independent"),
                  parts: Sequence[str] = ("table1", "comparison", "statistics", "attrition",
                                          "figures", "wave2"),
                  ) -> pd.DataFrame:
    """Attack a release as a reader holding all of it at once, by linear programming.

    Every count the release publishes or withholds is written as a sum over *atoms*
    (classes of respondents that every published count treats alike): Table 1's cells and
    group totals, each comparison row's n's, the counts behind its percentages and, where
    its statistic is published, every count the statistic is computed from (paired and
    independent designs), attrition.csv's n's, the Likert and paired-change bars drawn,
    and the wave-2 table by group. The reader knows the published counts exactly, that
    withheld counts are at least 1 (zeros are shown) and that atoms are not negative;
    for each withheld small count the smallest and largest value consistent with all of
    it are found (scipy HiGHS).

    Returns
    -------
    pandas.DataFrame
        One row per withheld count from 1 to ``threshold - 1``: ``fact, value, lower,
        upper, values, narrowed`` (``narrowed``: fewer than ``protection`` whole numbers
        left, default :func:`~crisis_survey.present._disclosure.default_protection`).
    """
    from scipy.optimize import linprog

    from ..compare._study import make_layout, resolve_by
    from ._disclosure import _width, default_protection
    from ._figdata import change_counts, likert_counts
    from ._tables import _codes, comparison_table, sample_table, wave2_items_table

    need = default_protection(threshold) if protection is None else protection
    cb = study.codebook
    options = getattr(comparison, "options", {})
    layout = make_layout(study, resolve_by(study, tuple(options.get("by", ("group",)))))
    waves = (study.wave1.data, study.wave2.data)
    pos1, pos2 = (np.asarray(p, dtype=np.int64) for p in layout.pair_pos)
    m = len(pos1)
    alone = [np.setdiff1d(np.arange(len(w)), p) for w, p in zip(waves, (pos1, pos2),
                                                               strict=True)]
    n_persons = m + len(alone[0]) + len(alone[1])
    rows = [np.full(n_persons, -1, np.int64), np.full(n_persons, -1, np.int64)]
    rows[0][:m], rows[1][:m] = pos1, pos2
    rows[0][m:m + len(alone[0])] = alone[0]
    rows[1][m + len(alone[0]):] = alone[1]
    facts = _Facts(n_persons)

    def of_wave(w: int, row_mask: Any) -> Any:
        out = np.zeros(n_persons, dtype=bool)
        r = rows[w - 1]
        has = r >= 0
        out[has] = np.asarray(row_mask, dtype=bool)[r[has]]
        return out

    def of_pairs(pair_mask: Any) -> Any:
        out = np.zeros(n_persons, dtype=bool)
        out[:m] = pair_mask
        return out

    groups = list(cb.group.labels)
    gcode = [_codes(w[cb.group.name], groups) for w in waves]
    pair_group = gcode[0][pos1]

    def in_group(codes: Any, group: str) -> Any:
        return codes >= 0 if group == "All" else codes == groups.index(group)

    # Table 1
    sample = sample_table(study, threshold=threshold)
    for rec in sample.values.to_dict("records") if "table1" in parts else []:
        w, f = int(rec["wave"]), cb[rec["variable"]]
        lv = _codes(waves[w - 1][f.name], f.labels)
        level = -1 if rec["level"] == "Not stated" else f.labels.index(rec["level"])
        hit = (lv == level) if level >= 0 else (lv < 0)
        facts.add(f"Table 1 w{w} {rec['group']} {f.name}={rec['level']}",
                  of_wave(w, hit & in_group(gcode[w - 1], str(rec["group"]))),
                  not pd.isna(rec["count"]))
    for w in (1, 2):
        for g in [*groups, "All"]:
            facts.add(f"Table 1 w{w} {g} respondents", of_wave(w, in_group(gcode[w - 1], g)),
                      True)
    # comparison rows
    sources = comparison_sources(study, comparison)
    cells = list(layout.cells)
    for design in designs if "comparison" in parts else []:
        if design not in set(comparison.table["design"]):
            continue
        shown = comparison_table(comparison, designs=[design], threshold=threshold,
                                 sources=sources).values
        for rec in shown.to_dict("records"):
            f = cb[rec["item"]].oriented()
            if not f.levels or rec["group"] not in cells:
                continue
            c = cells.index(rec["group"])
            k = len(f.labels)
            top = np.zeros(k + 1, dtype=bool)  # index -1 (missing) reads the spare False
            if f.measurement == "ordinal":
                top[k - 2:k] = True
            elif f.measurement == "binary":
                top[1] = True
            stats = "statistics" in parts and (not pd.isna(rec["effect_size"])
                                               or not pd.isna(rec["statistic"]))
            name = f"{design} {rec['group']} {f.name}"
            if design == "paired":
                x = _codes(waves[0][f.name], f.labels)[pos1]
                y = _codes(waves[1][f.name], f.labels)[pos2]
                ok = (layout.cell_pair == c) & (x >= 0) & (y >= 0)
                facts.add(f"{name} n", of_pairs(ok), not pd.isna(rec["n_pairs"]))
                facts.add(f"{name} top w1", of_pairs(ok & top[x]),
                          not pd.isna(rec["estimate_wave1"]))
                facts.add(f"{name} top w2", of_pairs(ok & top[y]),
                          not pd.isna(rec["estimate_wave2"]))
                if stats:
                    for i in range(k):
                        for j in range(k):
                            facts.add(f"{name} cell {i},{j}", of_pairs(ok & (x == i) & (y == j)),
                                      True)
            else:
                for w in (1, 2):
                    lv = _codes(waves[w - 1][f.name], f.labels)
                    ok = (layout.cell_wave[w - 1] == c) & (lv >= 0)
                    facts.add(f"{name} n w{w}", of_wave(w, ok), not pd.isna(rec[f"n_wave{w}"]))
                    facts.add(f"{name} top w{w}", of_wave(w, ok & top[lv]),
                              not pd.isna(rec[f"estimate_wave{w}"]))
                    if stats:
                        for i in range(k):
                            facts.add(f"{name} w{w} level {i}", of_wave(w, ok & (lv == i)), True)
    # attrition.csv n's
    attrition = linkage_outputs(study, threshold=threshold)["attrition.csv"]
    linked1 = np.zeros(len(waves[0]), dtype=bool)
    linked1[pos1] = True
    for rec in attrition.to_dict("records") if "attrition" in parts else []:
        var = str(rec["variable"])
        if var not in cb.names or not cb[var].levels or var not in waves[0].columns:
            continue
        ok = (_codes(waves[0][var], cb[var].labels) >= 0) & in_group(gcode[0], str(rec["group"]))
        for side, flag in (("returned", linked1), ("not_returned", ~linked1)):
            facts.add(f"attrition {rec['group']} {var} n_{side}", of_wave(1, ok & flag),
                      str(rec[f"n_{side}"]) != SUPPRESSED_MARKER)
    # figures: the bars drawn
    drawn = "figures" in parts
    for rec in likert_counts(study, threshold=threshold).to_dict("records") if drawn else []:
        if rec["drawn"]:
            w, f = int(rec["wave"]), cb[rec["item"]]
            lv = _codes(waves[w - 1][f.name], f.labels)
            facts.add(f"Likert w{w} {rec['group']} {f.name}={rec['level']}",
                      of_wave(w, (lv == int(rec["level_index"]))
                              & in_group(gcode[w - 1], str(rec["group"]))), True)
    for rec in change_counts(study, threshold=threshold).to_dict("records") if drawn else []:
        if rec["drawn"]:
            f = cb[rec["item"]].oriented()
            x = _codes(waves[0][f.name], f.labels)[pos1]
            y = _codes(waves[1][f.name], f.labels)[pos2]
            step = {"down": -1, "same": 0, "up": 1}[str(rec["direction"])]
            facts.add(f"change {rec['group']} {f.name} {rec['direction']}",
                      of_pairs((x >= 0) & (y >= 0) & (np.sign(y - x) == step)
                               & in_group(pair_group, str(rec["group"]))), True)
    # the wave-2 table by group
    wave2_only = [f.name for f in cb.items() if f.waves == (2,) and f.levels]
    if wave2_only and "wave2" in parts:
        w2 = wave2_items_table(study, items=wave2_only, by="group", threshold=threshold).values
        for rec in w2.to_dict("records"):
            f = cb[rec["item"]]
            lv = _codes(waves[1][f.name], f.labels)
            hit = (lv == f.labels.index(rec["level"])) & in_group(gcode[1], str(rec["column"]))
            facts.add(f"wave-2 {rec['column']} {f.name}={rec['level']}", of_wave(2, hit),
                      not pd.isna(rec["count"]))

    # atoms: persons every fact treats alike
    matrix = np.vstack(facts.masks)
    packed = np.packbits(matrix, axis=0).T
    _, first = np.unique(packed, axis=0, return_index=True)
    atoms = matrix[:, first].astype(float)
    published = np.asarray(facts.published)
    values = np.asarray(facts.values, dtype=float)
    a_eq, b_eq = atoms[published], values[published]
    a_eq, keep = np.unique(a_eq, axis=0, return_index=True)
    b_eq = b_eq[keep]
    hidden = np.flatnonzero(~published & (values > 0))
    a_ub = -atoms[hidden]
    b_ub = -np.ones(hidden.size)
    records: list[dict[str, Any]] = []
    for q in np.flatnonzero(~published & (values >= 1) & (values < threshold)):
        lo = linprog(atoms[q], A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub, bounds=(0, None),
                     method="highs")
        hi = linprog(-atoms[q], A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub,
                     bounds=(0, None), method="highs")
        low = float(lo.fun) if lo.status == 0 and lo.fun is not None else 1.0
        high = -float(hi.fun) if hi.status == 0 and hi.fun is not None else math.inf
        records.append({"fact": facts.labels[q], "value": int(values[q]), "lower": low,
                        "upper": high, "values": _width(low, high),
                        "narrowed": _width(low, high) < need})
    return pd.DataFrame(records, columns=["fact", "value", "lower", "upper", "values",
                                          "narrowed"])
