"""The whole report from one call: every table and figure, an HTML and a Word report, and the
manifest (private module; :func:`write_report` is public).

Statistics come from :func:`~crisis_survey.compare.compare_waves` and
:func:`~crisis_survey.compare.change_by_group_model`; this module only arranges and renders
them. The same study, plan and inputs give byte-identical files.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import CrisisSurveyError
from .._plan import AnalysisPlan
from ._disclosure import suppression_note
from ._format import format_estimate_ci, format_p
from ._manifest import write_folder_manifest
from ._release import SYNTHETIC_BANNER
from ._safe import assert_offline, staged_folder
from ._style import GROUP_COLOURS
from ._tables import PublicationTable

__all__ = ["ReportFiles", "write_report", "write_report_into"]

_DESIGN_TITLES = {
    "paired": "linked respondents (paired tests)",
    "independent": "all respondents of each wave (independent-samples tests)",
    "overlapping": "all respondents at once (partially overlapping samples tests)",
    "unlinked": "respondents in one wave only (independent-samples tests)",
}

Progress = Callable[[int, int, str], None]

#: Tables with at least this many rows get a progress message of their own while written.
_LONG_TABLE = 1000


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    out
        The output folder.
    html, docx, manifest
        The HTML report, the Word report and ``manifest.json``.
    tables, figures
        Every table file (HTML, LaTeX, Markdown, Word, Excel) and figure file (SVG, PDF, PNG).

    Examples
    --------
    >>> from pathlib import Path
    >>> out = Path("report")
    >>> files = ReportFiles(out=out, html=out / "report.html", docx=out / "report.docx",
    ...                     manifest=out / "manifest.json",
    ...                     tables=(out / "tables" / "sample.html",), figures=())
    >>> print(files)
    Report in report: report.html, report.docx, manifest.json, 1 table files, 0 figure files
    >>> len(files.files)
    4
    """

    out: Path
    html: Path
    docx: Path
    manifest: Path
    tables: tuple[Path, ...]
    figures: tuple[Path, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return (*self.tables, *self.figures, self.html, self.docx, self.manifest)

    def moved_to(self, out: Path) -> ReportFiles:
        """The same files once their folder has been moved to ``out``."""
        def move(p: Path) -> Path:
            return out / p.relative_to(self.out)

        return ReportFiles(out=out, html=move(self.html), docx=move(self.docx),
                           manifest=move(self.manifest),
                           tables=tuple(move(p) for p in self.tables),
                           figures=tuple(move(p) for p in self.figures))

    def __str__(self) -> str:
        return (
            f"Report in {self.out}: {self.html.name}, {self.docx.name}, {self.manifest.name}, "
            f"{len(self.tables)} table files, {len(self.figures)} figure files"
        )

    def __repr__(self) -> str:
        return f"<{self}>"

    def _repr_html_(self) -> str:
        def link(p: Path) -> str:
            return f'<a href="{html.escape(p.as_posix())}">{html.escape(p.name)}</a>'

        return (
            f"<p>Report in <code>{html.escape(str(self.out))}</code>: "
            f"{link(self.html)} (open in a browser), {link(self.docx)}, {link(self.manifest)}; "
            f"{len(self.tables)} table files in <code>tables/</code>, "
            f"{len(self.figures)} figure files in <code>figures/</code>.</p>"
        )


# -- the model table ---------------------------------------------------------------------------
def model_table(models: Sequence[Any], groups: Sequence[str], *, confidence: float = 0.95,
                labels: Mapping[str, str] | None = None) -> PublicationTable:
    """Did change between the waves differ between groups? One row per ordinal item.

    Built from :class:`~crisis_survey.compare.ModelResult` objects (estimates on the log
    cumulative odds scale, wave 2 versus wave 1). Holds no counts, so no cell is suppressed.
    """
    level = f"{round(confidence * 100)}%"
    rows = []
    values = []
    for m in models:
        we = m.wave_effects.set_index("term")
        it = m.interaction
        row = {"item": (labels or {}).get(m.item, m.item)}
        for g in groups:
            if g in we.index:
                r = we.loc[g]
                row[g] = format_estimate_ci(r["estimate"], r["ci_low"], r["ci_high"])
            else:
                row[g] = "–"
        row["difference"] = format_estimate_ci(it["estimate"], it["ci_low"], it["ci_high"])
        row["p"] = format_p(float(it["p_value"]))
        rows.append(row)
        values.append({"item": m.item, "estimate": float(it["estimate"]),
                       "ci_low": float(it["ci_low"]), "ci_high": float(it["ci_high"]),
                       "p_value": float(it["p_value"])})
    data = pd.DataFrame(rows, columns=["item", *groups, "difference", "p"])
    contrast = (f"change in {models[0].other_group} minus change in {models[0].reference_group}"
                if models else "interaction")
    notes = (
        "Cumulative-logit generalised estimating equations (the OrdinalGEE estimator) on every "
        "answer of both waves, respondents as clusters (linked respondents contribute two "
        "answers), independence working correlation with robust (sandwich) standard errors. "
        f"Estimates are log cumulative odds ratios of a higher answer in wave 2 versus wave 1, "
        f"with {level} confidence intervals; positive values mean higher answers in wave 2.",
        f"Difference: the wave x group interaction ({contrast}). p-values are not adjusted "
        "for multiplicity.",
    )
    return PublicationTable(
        name="change_by_group_model",
        title="Change between the waves by respondent group (model using every respondent)",
        data=data,
        stub="item",
        column_labels={"item": "Item", **{g: f"{g}: wave effect [{level} CI]" for g in groups},
                       "difference": f"Difference [{level} CI]", "p": "p"},
        notes=notes,
        values=pd.DataFrame(values),
    )


# -- HTML --------------------------------------------------------------------------------------
_CSS = """
body{font-family:Arial,Helvetica,sans-serif;max-width:1100px;margin:0 auto;padding:0 24px 48px;
color:#111;line-height:1.45}
h1{font-size:1.7em;margin-top:1.2em}h2{border-bottom:1px solid #999;padding-bottom:4px;
margin-top:2em}h3{margin-top:1.5em}
.banner{position:sticky;top:0;z-index:9;background:#fff3cd;border:2px solid #b8860b;
padding:8px 12px;font-weight:bold;margin:0 -12px}
@media print{.banner{position:fixed;top:0;left:0;right:0}body{padding-top:56px}}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#333;margin-top:4px}
.note{font-size:.9em;color:#333}table{margin:1em 0}
code{background:#f3f3f3;padding:0 3px}
nav ul{columns:2}
.findings h3{margin:.7em 0 .2em;font-size:1.05em}.findings ul{margin:.2em 0;padding-left:1.3em}
.findings li{margin:.1em 0}.findings p.note{margin:.2em 0}
"""


_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _inline_svg(path: Path) -> str:
    """The figure's ``<svg>`` element, without the XML prologue and the RDF metadata, scaled
    to the page's width (:func:`~crisis_survey.present._figures.responsive_svg`)."""
    from ._figures import responsive_svg

    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return responsive_svg(_SVG_METADATA.sub("", text[start:] if start >= 0 else text))


def _html_report(
    *, title: str, synthetic: bool, intro: Sequence[str],
    sections: Sequence[tuple[str, Sequence[tuple[str, Any]]]], to_html: Callable[[Any], str],
    findings: Any = None,
) -> str:
    parts = ["<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n",
             f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"]
    if synthetic:
        parts.append(f"<div class=\"banner\" role=\"note\">{html.escape(SYNTHETIC_BANNER)}</div>\n")
    parts.append(f"<h1>{html.escape(title)}</h1>\n")
    if findings is not None:  # the answer first (present/_findings.py)
        parts.append(f"<h2 id=\"findings\">Findings</h2>\n{findings.to_html()}\n")
    parts.extend(f"<p>{html.escape(p)}</p>\n" for p in intro)
    parts.append("<nav><h2>Contents</h2><ul>")
    parts.extend(f"<li><a href=\"#s{i}\">{html.escape(name)}</a></li>"
                 for i, (name, _) in enumerate(sections, 1))
    parts.append("</ul></nav>\n")
    for i, (name, blocks) in enumerate(sections, 1):
        parts.append(f"<h2 id=\"s{i}\">{i}. {html.escape(name)}</h2>\n")
        for kind, content in blocks:
            if kind == "p":
                parts.append(f"<p>{html.escape(content)}</p>\n")
            elif kind == "note":
                parts.append(f"<p class=\"note\">{html.escape(content)}</p>\n")
            elif kind == "pre":
                parts.append(f"<pre>{html.escape(content)}</pre>\n")
            elif kind == "table":
                parts.append(to_html(content) + "\n")
            elif kind == "figure":
                svg, caption = content
                parts.append(f"<figure>{_inline_svg(svg)}<figcaption>{html.escape(caption)}"
                             "</figcaption></figure>\n")
    if synthetic:
        parts.append(f"<p class=\"banner\">{html.escape(SYNTHETIC_BANNER)}</p>\n")
    parts.append("</body>\n</html>\n")
    return assert_offline("".join(parts))


# -- Word --------------------------------------------------------------------------------------
def _docx_report(
    *, title: str, synthetic: bool, intro: Sequence[str],
    sections: Sequence[tuple[str, Sequence[tuple[str, Any]]]], findings: Any = None,
) -> bytes:
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Inches, Pt

    from ._render import _normalise_zip, add_docx_table, new_document

    doc = new_document(title)
    if synthetic:
        doc.core_properties.subject = "SYNTHETIC DATA"
    if synthetic:
        header = doc.sections[0].header.paragraphs[0]
        run = header.add_run(SYNTHETIC_BANNER)
        run.bold = True
        run.font.size = Pt(8)
    doc.add_heading(title, level=0)
    if findings is not None:  # the answer first (present/_findings.py)
        doc.add_heading("Findings", level=1)
        findings.add_to_docx(doc)
    for p in intro:
        doc.add_paragraph(p)
    for i, (name, blocks) in enumerate(sections, 1):
        doc.add_heading(f"{i}. {name}", level=1)
        for kind, content in blocks:
            if kind in ("p", "note"):
                para = doc.add_paragraph(content)
                if kind == "note":
                    for r in para.runs:
                        r.font.size = Pt(9)
            elif kind == "pre":
                para = doc.add_paragraph()
                r = para.add_run(content)
                r.font.name = "Courier New"
                r.font.size = Pt(8)
            elif kind == "table":
                wide = len(content.body_columns) > 6
                if wide:  # wide tables get a landscape page of their own, smaller type
                    _orient(doc, WD_SECTION, WD_ORIENT, landscape=True)
                add_docx_table(doc, content, font_size=8 if wide else None)
                doc.add_paragraph()
                if wide:
                    _orient(doc, WD_SECTION, WD_ORIENT, landscape=False)
            elif kind == "figure":
                svg, caption = content
                png = svg.with_suffix(".png")
                doc.add_picture(str(png), width=Inches(6.3))
                cap = doc.add_paragraph()
                cap.add_run(caption).italic = True
    buf = io.BytesIO()
    doc.save(buf)
    return _normalise_zip(buf.getvalue())


def _orient(doc: Any, wd_section: Any, wd_orient: Any, *, landscape: bool) -> None:
    """Start a new page section in landscape or portrait (headers carry over)."""
    section = doc.add_section(wd_section.NEW_PAGE)
    width, height = section.page_width, section.page_height
    if landscape != (width > height):
        section.page_width, section.page_height = height, width
    section.orientation = wd_orient.LANDSCAPE if landscape else wd_orient.PORTRAIT


# -- the report ------------------------------------------------------------------------------
def _comparison_kwargs(plan: AnalysisPlan) -> dict[str, Any]:
    return {
        "items": list(plan.items) or None,
        "by": plan.by[0] if len(plan.by) == 1 else tuple(plan.by),
        "designs": tuple(plan.designs),
        "tests": dict(plan.tests) or None,
        "test_options": {k: dict(v) for k, v in plan.test_options.items()} or None,
        "family": plan.family,
        "adjust": plan.adjust,
        "alpha": plan.alpha,
        "min_n": plan.min_n,
        "unreachable": plan.unreachable,
        "equivalence": {k: v for k, v in plan.equivalence.items()
                        if not plan.items or k in plan.items or not isinstance(v, Mapping)}
        or None,
        "primary": plan.primary or None,
    }


def write_report(
    study: Any,
    out: str | Path,
    *,
    plan: AnalysisPlan | None = None,
    inputs: Mapping[str, str | Path] | None = None,
    synthetic: bool = False,
    title: str | None = None,
    progress: Progress | None = None,
) -> ReportFiles:
    """Write every table and figure, an HTML and a Word report and ``manifest.json``.

    Parameters
    ----------
    study
        The linked study (:func:`~crisis_survey.link.link_waves`).
    out
        Output folder: absent, empty, or an earlier output of crisis_survey (recognised by
        its ``manifest.json``), which is replaced whole. The report is written into a
        temporary folder beside it and moved into place only when complete. Files:
        ``report.html`` (self-contained: opens offline), ``report.docx``, ``manifest.json``
        (every file's SHA-256), ``tables/`` (each table as HTML, LaTeX, Markdown, Word and
        Excel) and ``figures/`` (SVG, PDF and 300 dpi PNG).
    plan
        The analysis plan (items, grouping, designs, tests, adjustment, alpha, disclosure
        threshold). Default: :class:`~crisis_survey.AnalysisPlan` defaults.
    inputs
        Role -> path of the input files, hashed into the manifest (``wave1``, ``wave2``,
        ``codebook``, ``plan``...).
    synthetic
        Label every page and file as synthetic data (the sample study).
    title
        Report title.
    progress
        Called as ``progress(step, total, message)`` before each step.

    Returns
    -------
    ReportFiles

    Notes
    -----
    Disclosure control: every table and figure withholds counts below ``plan.threshold`` and
    values derived from them, and says so in a note. No respondent identifier, link key or
    free-text answer is written anywhere.

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey import AnalysisPlan, load_sample_study
    >>> plan = AnalysisPlan(items=("overall_rating",), designs=("paired",))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     files = write_report(load_sample_study(), folder, plan=plan, synthetic=True)
    ...     print(files.html.name, files.docx.name, files.manifest.name)
    report.html report.docx manifest.json
    """
    with staged_folder(out) as stage:
        files = write_report_into(study, stage, plan=plan, inputs=inputs, synthetic=synthetic,
                                  title=title, progress=progress)
    return files.moved_to(Path(out))


def write_report_into(
    study: Any,
    out: str | Path,
    *,
    plan: AnalysisPlan | None = None,
    inputs: Mapping[str, str | Path] | None = None,
    synthetic: bool = False,
    title: str | None = None,
    progress: Progress | None = None,
    comparison: Any = None,
    sources: Any = None,
    notes: Sequence[str] = (),
) -> ReportFiles:
    """Write the report into the existing folder ``out`` (no staging); the manifest lists
    every file in ``out``, including files an earlier step of the release wrote there.

    :func:`write_report` and :func:`~crisis_survey.present.publish` call this inside a
    :func:`~crisis_survey.present._safe.staged_folder`; the arguments are
    :func:`write_report`'s, and from :func:`~crisis_survey.present.publish` the comparison
    and its sources as the release audit left them, with the audit's ``notes``.
    """
    from ..compare import compare_waves
    from ..compare._model import models_by_item
    from . import _figures as F
    from . import _render as R
    from . import _tables as T

    plan = plan or AnalysisPlan()
    plan.check(study.codebook)
    out = Path(out)
    tables_dir, figures_dir = out / "tables", out / "figures"
    for d in (tables_dir, figures_dir):
        d.mkdir(parents=True, exist_ok=True)
    cb = study.codebook
    thr = plan.threshold
    title = title or (cb.title or "Two-wave survey report")
    steps = 7
    say: Progress = progress or (lambda i, n, m: None)

    say(1, steps, "comparing the waves")
    if comparison is None:
        comparison = compare_waves(study, **_comparison_kwargs(plan))
    table = comparison.table
    say(1, steps, f"compared {len(comparison.options.get('items', []))} items in "
                  f"{table['group'].nunique():,} cells: {len(table):,} rows")
    exact = study.exact_linkage() if hasattr(study, "exact_linkage") else study
    exact_comparison = (compare_waves(exact, **_comparison_kwargs(plan))
                        if exact is not study else None)

    groups = list(study.groups)
    ordinal = [f.name for f in cb.items(measurement="ordinal")
               if len(f.waves) > 1 and 1 in f.waves and 2 in f.waves
               and (not plan.items or f.name in plan.items)]
    models = []
    model_failures: list[str] = []
    say(2, steps, f"fitting the change-by-group models ({len(ordinal)} ordinal items)")
    if len(groups) == 2:  # one layout and one counting pass for every item's patterns
        for item, fitted in zip(ordinal, models_by_item(study, ordinal,
                                                        confidence=plan.confidence),
                                strict=True):
            if isinstance(fitted, CrisisSurveyError):
                model_failures.append(f"{cb[item].label}: {fitted}")
            else:
                models.append(fitted)

    say(3, steps, "building tables")
    from ._sensitivity import linkage_sensitivity_table, tolerant_linkage_table

    link_tabs = [t for t in (
        tolerant_linkage_table(study, threshold=thr)
        if getattr(study.report, "policy", "exact") != "exact" else None,
        linkage_sensitivity_table(comparison, exact_comparison, policy=study.report.policy,
                                  threshold=thr) if exact_comparison is not None else None,
    ) if t is not None]
    tabs: list[PublicationTable] = [
        T.sample_table(study, threshold=thr),
        T.linkage_table(study, threshold=thr),
        *link_tabs,
    ]
    first = 2 + len(link_tabs)
    from ._release import comparison_sources

    if sources is None:
        sources = comparison_sources(study, comparison)
    comparison_tabs = [
        T.comparison_table(comparison, designs=[d], threshold=thr, confidence=plan.confidence,
                           sources=sources, style=plan.style)
        for d in plan.designs
    ]
    tabs += comparison_tabs
    labels = {f.name: f.label for f in cb.items()}
    mtab = (model_table(models, groups, confidence=plan.confidence, labels=labels)
            if models else None)
    if mtab is not None:
        tabs.append(mtab)
    wave2_only = [f.name for f in cb.items() if f.waves == (2,) and f.measurement != "text"]
    w2tabs = []
    if wave2_only:
        w2tabs.append(T.wave2_items_table(study, items=wave2_only, by="group", threshold=thr,
                                          confidence=plan.confidence))
        if cb.area is not None:
            w2tabs.append(T.wave2_items_table(study, items=wave2_only, by="area", threshold=thr,
                                              confidence=plan.confidence))
    tabs += w2tabs
    tabs = [t.numbered(i) for i, t in enumerate(tabs, 1)]
    by_name = {t.name: t for t in tabs}

    say(4, steps, f"writing {len(tabs)} tables ({sum(len(t.data) for t in tabs):,} rows) "
                  f"as {', '.join(R.TABLE_FORMATS)}")
    table_files: list[Path] = []
    for i, t in enumerate(tabs, 1):
        if len(t.data) >= _LONG_TABLE:
            say(4, steps, f"writing table {i} of {len(tabs)}: {t.name} ({len(t.data):,} rows)")
        table_files += R.save_table(t, tables_dir / t.name)

    say(5, steps, "drawing figures")
    import matplotlib.pyplot as plt

    figure_specs: list[tuple[str, Callable[[], Any], str]] = [
        ("flow", lambda: F.flow_diagram(study, threshold=thr),
         "Participant flow: respondents read, excluded, linked and analysed in each wave."),
        ("paired_change", lambda: F.change_chart(study, threshold=thr),
         "Linked respondents whose answer moved down, stayed the same or moved up."),
    ]
    # one diverging bar chart per response scale shared by items asked in both waves
    scales: dict[tuple[str, ...], list[str]] = {}
    for f in cb.items(measurement="ordinal"):
        if 1 in f.waves and 2 in f.waves and (not plan.items or f.name in plan.items):
            scales.setdefault(f.labels, []).append(f.name)

    def likert(items: list[str]) -> Callable[[], Any]:
        return lambda: F.likert_chart(study, items, threshold=thr)

    for k, (scale, names) in enumerate(sorted(scales.items(), key=lambda kv: -len(kv[1]))):
        figure_specs.append((
            "likert" if k == 0 else f"likert_{k + 1}", likert(names),
            f"Answers by wave and group ({scale[0]} to {scale[-1]}), centred on the "
            "middle of the scale.",
        ))

    # a forest plot tells at most 8 groups apart: with by = (group, area) there are hundreds
    # of cells, whose effects are in the comparison tables instead
    few_cells = table["group"].nunique() <= len(GROUP_COLOURS)

    def forest(design: str) -> Callable[[], Any]:
        return lambda: F.forest_plot(comparison, design=design, threshold=thr, sources=sources)

    figure_specs += [
        (f"forest_{d}", forest(d),
         f"Effect sizes with {round(plan.confidence * 100)}% confidence intervals: "
         f"{_DESIGN_TITLES[d]}.")
        for d in plan.designs if d in ("paired", "independent") and few_cells
    ]
    figure_files: list[Path] = []
    figs: dict[str, tuple[Path, str]] = {}
    for i, (name, make, caption) in enumerate(figure_specs, 1):
        say(5, steps, f"drawing figure {i} of {len(figure_specs)}: {name}")
        fig = make()
        written = F.save_figure(fig, figures_dir / name)
        plt.close(fig)
        figure_files += written
        figs[name] = (figures_dir / f"{name}.svg", caption)

    say(6, steps, "writing the HTML and Word reports")
    intro = [
        f"This report compares the two waves of {cb.title or cb.name} (codebook version "
        f"{cb.version}) separately for each {cb.groups_label}: paired tests on respondents "
        "linked across the waves, independent tests on everyone, and partially-overlapping "
        "tests that use both at once, with effect sizes and confidence intervals.",
        suppression_note(thr) + " No respondent identifier, link key or free-text answer "
        "appears in this report.",
        *notes,
    ]
    from ._release import publishable_findings

    findings = publishable_findings(
        comparison, comparison_tabs, models=models, groups=[str(g) for g in groups],
        waves=[w.label or f"wave {w.number}" for w in cb.waves])
    sections: list[tuple[str, list[tuple[str, Any]]]] = [
        ("Respondents and linkage", [
            ("figure", figs["flow"]), ("table", tabs[0]), ("table", tabs[1]),
            *[("table", t) for t in tabs[2:first]],
        ]),
        ("Change between the waves", [
            *[("table", t) for t in tabs[first:first + len(comparison_tabs)]],
            *[("figure", figs[n]) for n in figs if n.startswith("forest_")],
            *[("figure", figs[n]) for n in figs if n.startswith("likert")],
            ("figure", figs["paired_change"]),
        ]),
    ]
    if mtab is not None:
        model_blocks: list[tuple[str, Any]] = [("table", by_name[mtab.name])]
        model_blocks += [("note", f"Not fitted: {m}") for m in model_failures]
        sections.append(("Did change differ between the groups?", model_blocks))
    if w2tabs:
        sections.append(("Questions asked in wave 2 only",
                         [("table", by_name[t.name]) for t in w2tabs]))
    options = {"plan": plan.to_dict(), "comparison": dict(comparison.options)}
    sections.append(("Methods and provenance", [
        ("p", "Tests are chosen from each item's measurement level in the codebook: ordinal "
              "items by Wilcoxon signed-rank (paired; exact conditional distribution given "
              "ties when fewer than 50 pairs differ), Mann-Whitney (independent) and the "
              "partially overlapping samples t-test on the level codes (Derrick et al. "
              "2017); binary items by McNemar, Pearson chi-square or Fisher, and the "
              "partially overlapping z-test (Derrick et al. 2015); nominal items by the "
              "Stuart-Maxwell test and chi-square. \"Don't know\" and similar answers are "
              "excluded from the tests and counted."),
        ("p", "Every input file's SHA-256, the versions of Python and of every package, and "
              "every option are recorded in manifest.json beside this report; the same "
              "inputs and options reproduce the same files byte for byte."),
        ("pre", json.dumps(options, indent=2, sort_keys=True, default=str)),
    ]))
    doc_html = _html_report(title=title, synthetic=synthetic, intro=intro, sections=sections,
                            to_html=R.to_html, findings=findings)
    html_path = out / "report.html"
    html_path.write_text(doc_html, encoding="utf-8")
    docx_path = out / "report.docx"
    docx_path.write_bytes(_docx_report(title=title, synthetic=synthetic, intro=intro,
                                       sections=sections, findings=findings))

    say(7, steps, "writing the manifest")
    manifest_path = write_folder_manifest(
        out,
        inputs=dict(inputs or {}),
        options=options,
        codebook={"name": cb.name, "version": cb.version, "source": Path(cb.source).name},
        synthetic=synthetic,
    )
    return ReportFiles(out=out, html=html_path, docx=docx_path, manifest=manifest_path,
                       tables=tuple(table_files), figures=tuple(figure_files))

