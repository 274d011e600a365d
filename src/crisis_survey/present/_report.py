"""The whole report from one call: every table and figure, an HTML and a Word report, and the
manifest (private module; :func:`write_report` is public).

Statistics come from :func:`~crisis_survey.compare.compare_waves` and
:func:`~crisis_survey.compare.change_by_group_model`; this module only arranges and renders
them. The same study, plan and inputs give byte-identical files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import CrisisSurveyError
from .._memo import cached, memo_run
from .._plan import AnalysisPlan
from ._disclosure import suppression_note
from ._format import format_estimate_ci, format_p
from ._manifest import write_folder_manifest
from ._release import SYNTHETIC_BANNER
from ._safe import assert_offline, staged_folder
from ._style import GROUP_COLOURS
from ._tables import PublicationTable

__all__ = ["ReportFiles", "ReportOptions", "write_report", "write_report_into"]

_DESIGN_TITLES = {
    "paired": "linked respondents (paired tests)",
    "independent": "all respondents of each wave (independent-samples tests)",
    "overlapping": "all respondents at once (partially overlapping samples tests)",
    "unlinked": "respondents in one wave only (independent-samples tests)",
}

Progress = Callable[[int, int, str], None]

#: Tables with at least this many rows get a progress message of their own while written.
_LONG_TABLE = 1000
#: At most this many groups side by side (gtsummary's tbl_strata); more cells (e.g. group
#: x area) are rows instead.
_STRATA_GROUPS = 4


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
        Every table file (HTML, LaTeX, Markdown, Word, Excel) and figure file (SVG, PNG;
        PDF when the plan asks for it).

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


@dataclass(frozen=True)
class ReportOptions:
    """The options of one report, passed along the report pipeline as one value.

    :func:`write_report` and :func:`~crisis_survey.present.publish` take them as keywords
    (their public signatures) and hand them to :func:`write_report_into` together; each is
    documented once, in :func:`write_report`'s Parameters.
    """

    plan: AnalysisPlan = dataclasses.field(default_factory=AnalysisPlan)
    inputs: Mapping[str, str | Path] = dataclasses.field(default_factory=dict)
    synthetic: bool = False
    title: str | None = None
    progress: Progress | None = None

    def say(self, step: int, total: int, message: str) -> None:
        """Report a step to ``progress`` (if given)."""
        if self.progress is not None:
            self.progress(step, total, message)


# -- the model table ---------------------------------------------------------------------------
def model_table(models: Sequence[Any], groups: Sequence[str], *, confidence: float = 0.95,
                labels: Mapping[str, str] | None = None, sources: Mapping[str, Any] | None = None,
                threshold: int = 10, alpha: float = 0.05) -> PublicationTable:
    """Did change between the waves differ between groups? One row per ordinal item.

    Built from :class:`~crisis_survey.compare.ModelResult` objects: their
    :attr:`~crisis_survey.compare.ModelResult.effects`, odds ratios of a higher answer in wave
    2 versus wave 1 per group and the ratio of the groups' odds ratios for the difference in
    change (exp of the log cumulative odds ratios and of their Wald intervals).

    ``sources`` (:func:`~crisis_survey.present._release.model_sources`, as a release gives
    them) apply the derived-value rule: an item's odds ratios are published only if every
    count of its group x wave x level table is 0 or at least ``threshold``, its intervals and
    exact p-value only if every pattern count (pairs and single answers) is too; otherwise
    the p-value is published as its band (``< .05``) and the withheld values show ``–``.
    """
    from ._disclosure import DERIVED_MARKER
    from ._release import model_publication, p_band

    level = f"{round(confidence * 100)}%"
    rows = []
    values = []
    banded = withheld = audited = 0
    for m in models:
        estimates, intervals = model_publication((sources or {}).get(m.item)
                                                 if sources is not None else None, threshold)
        banded += not intervals
        src = (sources or {}).get(m.item)
        audited += bool(getattr(src, "withheld", False))
        withheld += not estimates and not getattr(src, "withheld", False)
        eff = m.effects.set_index("term")

        def shown(r: Any, estimates: bool = estimates, intervals: bool = intervals) -> str:
            if not estimates:
                return DERIVED_MARKER
            if not intervals:
                return format_estimate_ci(r["estimate"], float("nan"), float("nan"))
            return format_estimate_ci(r["estimate"], r["ci_low"], r["ci_high"])

        row = {"item": (labels or {}).get(m.item, m.item)}
        for g in groups:
            row[g] = shown(eff.loc[g]) if g in eff.index else DERIVED_MARKER
        d = eff.loc["difference"]
        row["difference"] = shown(d)
        p = float(d["p_value"])
        row["p"] = format_p(p) if intervals else p_band(p)
        rows.append(row)
        nan = float("nan")
        values.append({"item": m.item, "effect_measure": str(d["effect_measure"]),
                       "estimate": float(d["estimate"]) if estimates else nan,
                       "ci_low": float(d["ci_low"]) if intervals else nan,
                       "ci_high": float(d["ci_high"]) if intervals else nan,
                       "p_value": p if intervals else nan,
                       "p_band": "" if intervals else p_band(p),
                       # the decision at alpha says no more than a band cut at alpha
                       "below_alpha": bool(p < alpha)})
    data = pd.DataFrame(rows, columns=["item", *groups, "difference", "p"])
    ci = f" [{level} CI]" if banded < len(models) or not models else ""
    contrast = (f"{models[0].other_group} vs {models[0].reference_group}"
                if models else "between the groups")
    notes: tuple[str, ...] = (
        "Cumulative-logit generalised estimating equations (the OrdinalGEE estimator) on every "
        "answer of both waves, respondents as clusters (linked respondents contribute two "
        "answers), independence working correlation with robust (sandwich) standard errors. "
        "Per group: odds ratio (OR) of a higher answer in wave 2 versus wave 1 (exp of the "
        f"log cumulative odds ratio), with its {level} confidence interval (exp of the Wald "
        "interval)" + (" where published" if banded else "")
        + "; OR > 1 means higher answers in wave 2.",
        f"Difference in change between groups ({contrast}): the ratio of the two groups' odds "
        "ratios (the exponentiated wave x group interaction); above 1, the answers rose more "
        "(or fell less) in the first-named group. p-values are not adjusted for multiplicity.",
    )
    if banded:
        notes += (
            f"For {banded} of the {len(models)} items a count of answer patterns (pairs of "
            f"wave-1 and wave-2 answers, or single answers) is below {threshold}: the robust "
            "standard errors are functions of those counts, so their intervals are withheld "
            "and their p-values are shown as bands (< .001, < .01, < .05, ≥ .05)"
            + "; the odds ratios depend only on the counts of answers by group, wave and "
            "level" + (f", and are withheld ('–') for {withheld} item(s) where one of those "
                       "is below it too" if withheld else "")
            + ".",)
    if audited:
        notes += (f"The odds ratios of {audited} item(s) are withheld ('–') because, with "
                  "the other published tables, the counts they are computed from would "
                  "narrow a withheld count (the release audit).",)
    return PublicationTable(
        name="change_by_group_model",
        title="Change between the waves by respondent group (model using every respondent)",
        data=data,
        stub="item",
        column_labels={"item": "Item",
                       **{g: f"{g}: OR, wave 2 vs wave 1{ci}" for g in groups},
                       "difference": f"Difference in change, ratio of ORs{ci}",
                       "p": "p"},
        notes=notes,
        values=pd.DataFrame(values),
    )


# -- blocks ------------------------------------------------------------------------------------
# A report is a list of sections (name, blocks); a block is (kind, content):
#   ("p", text), ("note", text): a paragraph, a note in smaller type;
#   ("refs", [text or Ref, ...]): a paragraph with cross-references to tables and figures;
#   ("table", PublicationTable): a numbered table (captioned "Table N");
#   ("figure", Figure): a numbered figure (captioned "Figure N", with alt text);
#   ("link", (text before, file name, text after)): a paragraph linking a file of the report.


@dataclass(frozen=True)
class Figure:
    """A figure of the report: its SVG file (the PNG beside it goes into Word), number,
    caption and alt text."""

    svg: Path
    number: int
    name: str
    caption: str
    alt: str


@dataclass(frozen=True)
class Ref:
    """A cross-reference to a table or figure of the report (``Table 3``, ``Figure 2``)."""

    kind: str
    number: int
    name: str


def _ref(target: PublicationTable | Figure) -> Ref:
    if isinstance(target, Figure):
        return Ref("Figure", target.number, target.name)
    return Ref("Table", int(target.number or 0), target.name)


Section = tuple[str, Sequence[tuple[str, Any]]]


def _blocks_of(sections: Sequence[Section], kind: str) -> list[Any]:
    return [c for _, blocks in sections for k, c in blocks if k == kind]


# -- HTML --------------------------------------------------------------------------------------
_CSS = """
body{font-family:Arial,Helvetica,sans-serif;max-width:1100px;margin:0 auto;padding:0 24px 48px;
color:#111;line-height:1.45}
h1{font-size:1.7em;margin-top:1.2em}h2{border-bottom:1px solid #999;padding-bottom:4px;
margin-top:2em}h3{margin-top:1.5em}
.banner{position:sticky;top:0;z-index:9;background:#fff3cd;border:2px solid #b8860b;
padding:8px 12px;font-weight:bold;margin:0 -12px}
@media print{.banner{position:fixed;top:0;left:0;right:0}body{padding-top:56px}}
figure{margin:1.5em 0}figure svg{display:block;width:100%;max-width:900px;height:auto}
figcaption{font-size:.95em;margin-bottom:6px}
.note{font-size:.9em;color:#333}table{margin:1em 0}
div[id^="cs_"][style*="overflow-x"]{width:calc(100vw - 48px)!important;max-width:1400px;
position:relative;left:50%;transform:translateX(-50%)}
.gt_stub{min-width:11em}
@media print{div[id^="cs_"][style*="overflow-x"]{width:auto!important;left:0;transform:none}}
code{background:#f3f3f3;padding:0 3px}
nav ul{columns:2}nav h3{margin:.8em 0 .2em;font-size:1em}
.findings h3{margin:.7em 0 .2em;font-size:1.05em}.findings ul{margin:.2em 0;padding-left:1.3em}
.findings li{margin:.1em 0}.findings p.note{margin:.2em 0}
"""


_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _inline_svg(path: Path, alt: str = "") -> str:
    """The figure's ``<svg>`` element, without the XML prologue and the RDF metadata, scaled
    to the page's width (:func:`~crisis_survey.present._figures.responsive_svg`) and
    labelled with ``alt`` for screen readers."""
    from ._figures import responsive_svg

    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    svg = responsive_svg(_SVG_METADATA.sub("", text[start:] if start >= 0 else text))
    if alt:
        svg = svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(alt)}"', 1)
    return svg


def _html_refs(parts: Sequence[str | Ref]) -> str:
    out = []
    for part in parts:
        if isinstance(part, Ref):
            anchor = f"cs_{part.name}" if part.kind == "Table" else f"fig_{part.name}"
            out.append(f'<a href="#{anchor}">{part.kind} {part.number}</a>')
        else:
            out.append(html.escape(part))
    return "".join(out)


#: Files beside the report that its text may name, and the HTML links (fixed names, so no
#: link target comes from data).
_FOLDER_FILES = ("manifest.json", "disclosure.csv", "accounting.csv", "attrition.csv",
                 "linkage_counts.csv")
_FOLDER_FILE = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, _FOLDER_FILES))
                          + r")(?![\w/-])")


def _html_text(text: str) -> str:
    """``text`` escaped, with the names of the files beside the report as links to them."""
    from ._safe import sibling_link

    return _FOLDER_FILE.sub(lambda m: sibling_link(m.group(1)), html.escape(text))


def _html_blocks(blocks: Sequence[tuple[str, Any]], to_html: Callable[[Any], str]) -> list[str]:
    from ._safe import sibling_link

    parts = []
    for kind, content in blocks:
        if kind == "p":
            parts.append(f"<p>{_html_text(content)}</p>\n")
        elif kind == "note":
            parts.append(f"<p class=\"note\">{_html_text(content)}</p>\n")
        elif kind == "refs":
            parts.append(f"<p>{_html_refs(content)}</p>\n")
        elif kind == "link":
            # a relative link to a file beside the report, a fixed name (present/_safe.py
            # sibling_link; assert_offline lets such links through and nothing else)
            before, name, after = content
            parts.append(f"<p>{html.escape(before)}{sibling_link(name)}"
                         f"{html.escape(after)}</p>\n")
        elif kind == "table":
            parts.append(to_html(content) + "\n")
        elif kind == "figure":
            fig: Figure = content
            parts.append(
                f"<figure id=\"fig_{fig.name}\"><figcaption><strong>Figure {fig.number}"
                f"</strong><br/><em>{html.escape(fig.caption)}</em></figcaption>"
                f"{_inline_svg(fig.svg, fig.alt)}</figure>\n")
    return parts


def _html_report(
    *, title: str, synthetic: bool, intro: Sequence[str], sections: Sequence[Section],
    to_html: Callable[[Any], str], findings: Any = None,
) -> str:
    parts = ["<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n",
             f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"]
    if synthetic:
        parts.append(f"<div class=\"banner\" role=\"note\">{html.escape(SYNTHETIC_BANNER)}</div>\n")
    parts.append(f"<h1>{html.escape(title)}</h1>\n")
    if findings is not None:  # the answer first (present/_findings.py)
        parts.append(f"<h2 id=\"findings\">Findings</h2>\n{findings.to_html()}\n")
    parts.extend(f"<p>{_html_text(p)}</p>\n" for p in intro)
    parts.append("<nav><h2>Contents</h2><ul>")
    parts.extend(f"<li><a href=\"#s{i}\">{i}. {html.escape(name)}</a></li>"
                 for i, (name, _) in enumerate(sections, 1))
    parts.append("</ul>")
    tables = _blocks_of(sections, "table")
    figures = _blocks_of(sections, "figure")
    if tables:
        parts.append("<h3>Tables</h3><ul>")
        parts.extend(f"<li><a href=\"#cs_{t.name}\">Table {t.number}</a>. "
                     f"{html.escape(t.title)}</li>" for t in tables)
        parts.append("</ul>")
    if figures:
        parts.append("<h3>Figures</h3><ul>")
        parts.extend(f"<li><a href=\"#fig_{f.name}\">Figure {f.number}</a>. "
                     f"{html.escape(f.caption)}</li>" for f in figures)
        parts.append("</ul>")
    parts.append("</nav>\n")
    for i, (name, blocks) in enumerate(sections, 1):
        parts.append(f"<h2 id=\"s{i}\">{i}. {html.escape(name)}</h2>\n")
        parts += _html_blocks(blocks, to_html)
    if synthetic:
        parts.append(f"<p class=\"banner\">{html.escape(SYNTHETIC_BANNER)}</p>\n")
    parts.append("</body>\n</html>\n")
    return assert_offline("".join(parts))


# -- Word --------------------------------------------------------------------------------------
def _docx_link(doc: Any, paragraph: Any, target: str, text: str) -> None:
    """A hyperlink to a file beside the document (a relative, external relationship)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rid = doc.part.relate_to(target, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    r_pr = OxmlElement("w:rPr")
    style = OxmlElement("w:u")
    style.set(qn("w:val"), "single")
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), "0563C1")
    r_pr.append(colour)
    r_pr.append(style)
    run.append(r_pr)
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


#: Tables with more body columns than this get a landscape page, in smaller type.
_WIDE = 6


#: Characters in a row (its cells' texts added up) above which a table gets a landscape page
#: too, however few its columns (the by-area summary's quoted areas).
_WIDE_ROW = 120


def _is_wide(block: tuple[str, Any]) -> bool:
    kind, content = block
    if kind != "table":
        return False
    if len(content.body_columns) > _WIDE:
        return True
    lengths = content.data[content.body_columns].astype(str).apply(lambda c: c.str.len())
    return bool(len(lengths) and lengths.sum(axis=1).max() > _WIDE_ROW)


def _orientations(blocks: Sequence[tuple[str, Any]]) -> list[bool]:
    """Whether each block goes on a landscape page: a wide table does, a figure does not, and
    text goes with the table or figure after it (an introduction stays on the page of what
    it introduces), or with the one before it at the end of a section."""
    out: list[bool | None] = [None if k in ("p", "note", "refs", "link") else _is_wide((k, c))
                              for k, c in blocks]
    following: bool | None = None
    for i in range(len(out) - 1, -1, -1):
        if out[i] is None:
            out[i] = following
        following = out[i]
    previous = False
    for i, o in enumerate(out):
        out[i] = previous if o is None else o
        previous = bool(out[i])
    return [bool(o) for o in out]


def _docx_blocks(doc: Any, blocks: Sequence[tuple[str, Any]], state: dict[str, bool]) -> None:
    from docx.shared import Pt

    from ._render import add_docx_table
    from ._word import (
        add_caption,
        add_figure_picture,
        add_reference,
        end_section,
        set_alt_text,
    )

    def orient(landscape: bool) -> None:
        if state["landscape"] != landscape:
            end_section(doc, landscape=landscape)
            state["landscape"] = landscape

    kinds = [k for k, _ in blocks]
    for k, ((kind, content), landscape) in enumerate(zip(blocks, _orientations(blocks),
                                                         strict=True)):
        orient(landscape)
        # text that introduces a table or figure goes onto its page (and with it the heading
        # before the text): no heading and sentence alone at the foot of a page
        introduces = kinds[k + 1:k + 2] in (["table"], ["figure"])
        if kind in ("p", "note"):
            para = doc.add_paragraph(content)
            if kind == "note":
                for r in para.runs:
                    r.font.size = Pt(9)
            para.paragraph_format.keep_with_next = introduces or None
        elif kind == "refs":
            para = doc.add_paragraph()
            for part in content:
                if isinstance(part, Ref):
                    add_reference(para, part.kind, part.number, part.name)
                else:
                    para.add_run(part)
            para.paragraph_format.keep_with_next = introduces or None
        elif kind == "link":
            before, name, after = content
            para = doc.add_paragraph(before)
            _docx_link(doc, para, name, name)
            para.add_run(after)
        elif kind == "table":
            # wide tables go on landscape pages (consecutive ones together), smaller type
            small = landscape or content.name.startswith("provenance_")
            add_docx_table(doc, content, font_size=8 if small else None)
        elif kind == "figure":
            fig: Figure = content
            add_caption(doc, "Figure", fig.number, fig.caption, fig.name)
            add_figure_picture(doc, fig.svg.with_suffix(".png"))
            set_alt_text(doc.inline_shapes[-1], fig.alt, f"Figure {fig.number}")


def _docx_report(
    *, title: str, synthetic: bool, intro: Sequence[str], sections: Sequence[Section],
    findings: Any = None, paper: str = "A4", language: str = "en-GB",
) -> bytes:
    from docx.shared import Pt

    from ._render import _normalise_zip, new_document
    from ._word import add_bookmark, add_contents, add_page_footer, bookmark_name, end_section

    doc = new_document(title, paper=paper, language=language)
    if synthetic:
        doc.core_properties.subject = "SYNTHETIC DATA"
        header = doc.sections[0].header.paragraphs[0]
        run = header.add_run(SYNTHETIC_BANNER)
        run.bold = True
        run.font.size = Pt(8)
    add_page_footer(doc.sections[0])
    doc.add_heading(title, level=0)
    state = {"landscape": False}
    numbered = [(f"{i}. {name}", blocks) for i, (name, blocks) in enumerate(sections, 1)]
    headings = [("Findings", bookmark_name("Toc", "findings"))] if findings is not None else []
    headings += [(name, bookmark_name("Toc", f"s{k}")) for k, (name, _) in enumerate(numbered)]

    def heading(text: str, mark: str) -> None:
        para = doc.add_heading(text, level=1)
        add_bookmark(doc, para, mark)

    if findings is not None:  # the answer first (present/_findings.py), before the contents
        heading("Findings", headings[0][1])
        findings.add_to_docx(doc)
    for p in intro:
        doc.add_paragraph(p)
    add_contents(doc, "Contents", 'TOC \\o "1-1" \\h \\z \\u',
                 [(text, mark, 1) for text, mark in headings], new_page=True)
    tables = _blocks_of(sections, "table")
    figures = _blocks_of(sections, "figure")
    if tables:
        add_contents(doc, "List of tables", 'TOC \\h \\z \\c "Table"',
                     [(f"Table {t.number}. {t.title}", bookmark_name("Table", t.name), 1)
                      for t in tables])
    if figures:
        add_contents(doc, "List of figures", 'TOC \\h \\z \\c "Figure"',
                     [(f"Figure {f.number}. {f.caption}", bookmark_name("Figure", f.name), 1)
                      for f in figures])
    for (name, blocks), (_, mark) in zip(numbered, headings[len(headings) - len(numbered):],
                                         strict=True):
        # a heading goes on the page of what follows it (portrait, or a wide table's landscape)
        first_landscape = bool(blocks) and _orientations(blocks)[0]
        if state["landscape"] != first_landscape:
            end_section(doc, landscape=first_landscape)
            state["landscape"] = first_landscape
        heading(name, mark)
        _docx_blocks(doc, blocks, state)
    buf = io.BytesIO()
    doc.save(buf)
    return _normalise_zip(buf.getvalue())


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
        Excel) and ``figures/`` (SVG and 300 dpi PNG; PDF when the
        plan asks for it).
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
    options = ReportOptions(plan=plan or AnalysisPlan(), inputs=inputs or {},
                            synthetic=synthetic, title=title, progress=progress)
    with staged_folder(out) as stage:
        files = write_report_into(study, stage, options)
    return files.moved_to(Path(out))


def write_report_into(study: Any, out: str | Path, options: ReportOptions, *,
                      comparison: Any = None, sources: Any = None,
                      model_sources: Mapping[str, Any] | None = None,
                      notes: Sequence[str] = (), figures: Any = None,
                      withhold: Collection[tuple[str, ...]] = frozenset()) -> ReportFiles:
    """Write the report into the existing folder ``out`` (no staging); the manifest lists
    every file in ``out``, including files an earlier step of the release wrote there.

    :func:`write_report` and :func:`~crisis_survey.present.publish` call this inside a
    :func:`~crisis_survey.present._safe.staged_folder` with their :class:`ReportOptions`;
    from :func:`~crisis_survey.present.publish` also the comparison and its sources (and the
    models' :class:`~crisis_survey.present._release.ModelSource`) as the release audit left
    them, with the audit's ``notes``, and ``figures``: the
    :func:`draw_study_figures` drawing it started into ``out / "figures"`` before the
    comparison (the report adds its other figures to it), and ``withhold``: what the audit
    withheld (:attr:`~crisis_survey.present._release.Protection.withhold`: Table 1's,
    the linkage table's and the figures' domains and cells follow it; the study's figures
    are drawn again where it withheld something they show).
    """
    with memo_run():  # each table's HTML made once (its file, report.html); Table 1, the
        # linkage outputs, the transition counts... once for every section
        return _write_report_into(study, out, options, comparison=comparison,
                                  sources=sources, model_sources=model_sources, notes=notes,
                                  figures=figures, withhold=withhold)


def _redrawn(name: str, withhold: Collection[tuple[str, ...]]) -> bool:
    """Whether the release audit withheld something study figure ``name`` shows (a linkage
    cell the flow diagram, a domain's transition panel or Likert bars): drawn before the
    audit ended, it is drawn again."""
    from ._release import hidden_domains, hidden_linkage

    if name == "flow":
        return bool(hidden_linkage(withhold))
    if name == "transitions":
        return bool(hidden_domains(withhold, "transitions"))
    return name.startswith("likert") and bool(hidden_domains(withhold, "likert"))


def _figure_formats(plan: AnalysisPlan) -> list[str]:
    from ._figures import FIGURE_FORMATS

    return [f for f in FIGURE_FORMATS if f in plan.figure_formats]


def study_figures(study: Any, plan: AnalysisPlan,
                  withhold: Collection[tuple[str, ...]] = frozenset()
                  ) -> list[tuple[str, Callable[[], Any], str,
                                                                 str]]:
    """The report's figures drawn from the study alone (the flow diagram, the transition
    chart, the Likert charts): ``(name, make, caption, alt)``, in the report's order. They
    depend on no comparison and no audit, so :func:`draw_study_figures` can start them
    first."""
    from . import _figures as F

    cb = study.codebook
    thr = plan.threshold
    from ._release import hidden_domains, hidden_linkage

    hidden = hidden_domains(withhold, "transitions")  # what the release audit withheld
    bars = hidden_domains(withhold, "likert")
    linkage_cells = hidden_linkage(withhold)
    figure_specs: list[tuple[str, Callable[[], Any], str, str]] = [
        ("flow", functools.partial(F.flow_diagram, study, threshold=thr, force=linkage_cells),
         "Participant flow: respondents read, excluded, linked and analysed in each wave.",
         "Flow diagram from the respondents read in each wave, through those excluded and "
         "those linked across the waves, to the respondents analysed in each design, with "
         "the number in each box."),
        ("transitions", functools.partial(F.transition_chart, study, threshold=thr,
                                          hidden=hidden),
         "Where linked respondents moved from and to: answers in wave 1 (rows) against "
         "wave 2 (columns), per item and group.",
         "Heat maps, one per item and group, of linked respondents' answer in wave 1 (rows) "
         "against their answer in wave 2 (columns), with the number of pairs in each cell; "
         "withheld cells are hatched and marked."),
    ]
    def likert(items: list[str]) -> Callable[[], Any]:
        return functools.partial(F.likert_chart, study, items, threshold=thr, hidden=bars)

    for name, scale, names in _likert_scales(cb, plan):
        figure_specs.append((
            name, likert(names),
            f"Answers by wave and group ({scale[0]} to {scale[-1]}), centred on the "
            "middle of the scale.",
            f"Diverging stacked bars for {len(names)} item(s) answered on the scale from "
            f"{scale[0]} to {scale[-1]}: for each item, group and wave, the percentage giving "
            "each answer, lower answers to the left of the centre and higher ones to the "
            "right.",
        ))

    return figure_specs


def _likert_scales(cb: Any, plan: AnalysisPlan) -> list[tuple[str, tuple[str, ...], list[str]]]:
    """The report's Likert charts: one per response scale shared by ordinal items asked
    in both waves (the plan's items), ``(name, scale, items)``, the largest first."""
    scales: dict[tuple[str, ...], list[str]] = {}
    for f in cb.items(measurement="ordinal"):
        if 1 in f.waves and 2 in f.waves and (not plan.items or f.name in plan.items):
            scales.setdefault(f.labels, []).append(f.name)
    return [("likert" if k == 0 else f"likert_{k + 1}", scale, names)
            for k, (scale, names) in enumerate(sorted(scales.items(),
                                                       key=lambda kv: -len(kv[1])))]


def blank_study_figures(study: Any, plan: AnalysisPlan,
                        withhold: Collection[tuple[str, ...]]) -> dict[str, str]:
    """The study figures (:func:`study_figures`) that show no published value, by name,
    each with a few words saying which it is: every transition panel's cells, or every
    bar of a Likert chart, withheld (small counts, or the domains the release audit
    withholds: by group x area on a small study). The report leaves them out and says
    so, rather than print pages of hatched panels."""
    from ._figdata import likert_counts, transition_counts
    from ._release import hidden_domains

    thr = plan.threshold
    out: dict[str, str] = {}
    cells = transition_counts(study, threshold=thr,
                              hidden=hidden_domains(withhold, "transitions"))
    if len(cells) and bool(cells["count"].isna().all()):
        out["transitions"] = ("the chart of where linked respondents moved from and to "
                              "(wave 1 against wave 2 answers)")
    bars = hidden_domains(withhold, "likert")
    for name, scale, names in _likert_scales(study.codebook, plan):
        drawn = likert_counts(study, names, threshold=thr, hidden=bars)["drawn"]
        if len(drawn) and not bool(drawn.any()):
            out[name] = (f"the chart of answers by wave and group on the scale from "
                         f"{scale[0]} to {scale[-1]}")
    return out


def _blank_note(blank: dict[str, str]) -> str:
    """The report's sentence for the study figures it leaves out (:func:`blank_study_figures`)."""
    what = list(blank.values())
    return ("Not shown: " + "; ".join(what) + ". Every cell or bar of "
            + ("this chart" if len(what) == 1 else "these charts")
            + " is withheld (too few respondents, or the disclosure audit found that, with "
            "the other published values, it would reveal a small count; see "
            "disclosure.csv).")


def _transitions_after_audit(study: Any, awaited: Any, **options: Any) -> Any:
    """The transition chart with the panels the release audit withheld (``awaited``: a
    :class:`~crisis_survey.present._figures.Awaited` of :func:`hidden_domains`' pairs)."""
    from ._figures import transition_chart

    hidden = awaited.get()
    if hidden is None:  # the audit never ended (publish failed): nothing to draw
        raise CrisisSurveyError("the release audit did not end; the chart is not drawn")
    return transition_chart(study, hidden=hidden, **options)


class _StudyFigures:
    """:func:`draw_study_figures`' drawing: a
    :class:`~crisis_survey.present._figures.FigureDrawing` whose transition chart waits for
    the release audit (:meth:`audited`), drawn once with the panels it withholds (it was
    drawn before the audit ended and again after: 2.8 s of the sample's demo)."""

    #: the study figures drawn after the audit, from its withheld set (never drawn again)
    after_audit = frozenset({"transitions"})

    def __init__(self, drawing: Any, awaited: Any) -> None:
        self._drawing, self._awaited = drawing, awaited

    def audited(self, withhold: Collection[tuple[str, ...]]) -> None:
        """The release audit's withheld set (:attr:`Protection.withhold`)."""
        from ._release import hidden_domains

        self._awaited.send(frozenset(hidden_domains(withhold, "transitions")))

    def submit(self, jobs: Sequence[tuple[Callable[[], Any], Path]]) -> list[int]:
        return list(self._drawing.submit(jobs))

    def help(self) -> None:
        self._drawing.help()

    def result(self, index: int) -> list[Path]:
        return list(self._drawing.result(index))

    def __enter__(self) -> _StudyFigures:
        return self

    def __exit__(self, *exc: object) -> None:
        self._awaited.send(None)  # if the audit never ended: the worker stops waiting
        self._drawing.close()


def draw_study_figures(study: Any, plan: AnalysisPlan, out: str | Path) -> Any:
    """Start drawing :func:`study_figures` into ``out / "figures"`` in a worker process
    (a :class:`~crisis_survey.present._figures.FigureDrawing`, one core left to the
    caller), for :func:`write_report_into`'s ``figures``; the transition chart is drawn
    last, once the caller gives the audit's withheld set (``.audited(withhold)``). The
    transition counts are counted first, in this process: the audit needs them too, and
    the worker inherits them (inside a :func:`~crisis_survey._memo.memo_run`)."""
    from ._figdata import transition_counts
    from ._figures import Awaited, FigureDrawing

    cached(transition_counts, study, None, threshold=plan.threshold)
    awaited = Awaited()
    jobs = [(functools.partial(_transitions_after_audit, study, awaited,
                               threshold=plan.threshold) if name == "transitions" else make,
             Path(out) / "figures" / name) for name, make, _, _ in study_figures(study, plan)]
    names = [name for name, _, _, _ in study_figures(study, plan)]
    later = [i for i, name in enumerate(names) if name in _StudyFigures.after_audit]
    return _StudyFigures(FigureDrawing(jobs, _figure_formats(plan), alongside=True,
                                       later=later), awaited)


def _write_report_into(study: Any, out: str | Path, options: ReportOptions, *,
                       comparison: Any = None, sources: Any = None,
                       model_sources: Mapping[str, Any] | None = None,
                       notes: Sequence[str] = (), figures: Any = None,
                       withhold: Collection[tuple[str, ...]] = frozenset()) -> ReportFiles:
    from ..compare import compare_waves
    from ..compare._model import models_by_item
    from . import _figures as F
    from . import _render as R
    from . import _tables as T

    plan, inputs, synthetic = options.plan, options.inputs, options.synthetic
    plan.check(study.codebook)
    out = Path(out)
    tables_dir, figures_dir = out / "tables", out / "figures"
    for d in (tables_dir, figures_dir):
        d.mkdir(parents=True, exist_ok=True)
    cb = study.codebook
    thr = plan.threshold
    from ._release import hidden_domains, hidden_linkage

    table1_hidden = hidden_domains(withhold, "table1")  # the release audit's action
    title = options.title or (cb.title or "Two-wave survey report")
    steps = 7
    say = options.say

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
        cached(T.sample_table, study, threshold=thr, hidden=table1_hidden),
        T.linkage_table(study, threshold=thr, force=hidden_linkage(withhold)),
        *link_tabs,
    ]
    first = 2 + len(link_tabs)
    from ._release import comparison_sources

    if sources is None:
        sources = comparison_sources(study, comparison)
    # the primary design in the main table (groups side by side, n (%), the difference),
    # the full distribution behind it, the other designs in one appendix table
    primary = plan.primary or ("paired" if "paired" in plan.designs else plan.designs[0])
    others = [d for d in plan.designs if d != primary]
    shown: dict[str, Any] = dict(threshold=thr, confidence=plan.confidence, sources=sources,
                                 style=plan.style)
    wide = table["group"].nunique() <= _STRATA_GROUPS
    comparison_tabs = [
        T.change_table(comparison, design=primary, **shown) if wide else
        dataclasses.replace(T.comparison_table(comparison, designs=[primary], **shown),
                            name=f"change_{primary}"),
    ]
    if primary in ("paired", "independent"):
        comparison_tabs.append(T.distribution_table(study, comparison, design=primary,
                                                    sources=sources, threshold=thr))
    if others:
        appendix = T.comparison_table(comparison, designs=others,
                                      layout="strata" if wide else "long", **shown)
        comparison_tabs.append(dataclasses.replace(
            appendix, name="comparison_sensitivity",
            title="Sensitivity analyses: change between the waves in the other designs"))
    tabs += comparison_tabs
    labels = {f.name: f.label for f in cb.items()}
    from ._release import model_sources as _model_sources

    if model_sources is None:  # outside publish(): the rule without the audit's action
        model_sources = cached(_model_sources, study, tuple(ordinal)) if models else {}
    mtab = (model_table(models, groups, confidence=plan.confidence, labels=labels,
                        sources=model_sources, threshold=thr, alpha=plan.alpha)
            if models else None)
    if mtab is not None:
        tabs.append(mtab)
    wave2_only = [f.name for f in cb.items() if f.waves == (2,) and f.measurement != "text"]
    w2tabs = []
    if wave2_only:
        w2tabs.append(T.wave2_items_table(study, items=wave2_only, by="group", threshold=thr,
                                          confidence=plan.confidence))
        if cb.area is not None:  # left out when no area can be shown on its own
            by_area = T.wave2_items_table(study, items=wave2_only, by="area", threshold=thr,
                                          confidence=plan.confidence)
            if len(by_area.body_columns) > 1:
                w2tabs.append(by_area)
            else:
                n_areas = int(study.wave2.data[cb.area.name].nunique())
                w2tabs[0] = dataclasses.replace(w2tabs[0], notes=(
                    *w2tabs[0].notes, f"None of the {n_areas} local areas has enough "
                    "wave-2 respondents to show every answer without withholding one, so "
                    "there is no table by local area (it would be withheld almost "
                    "entirely)."))
    from ._release import linkage_outputs, published_verdicts
    from ._weighting import weighting_part  # who came back: weighted, tipping points

    # the tipping sentences speak of the findings' paired verdicts, as published
    verdicts = published_verdicts(
        comparison, [t for t in comparison_tabs if "design" in t.values.columns])
    paired = verdicts[verdicts["design"] == "paired"]
    # Table 1's values and attrition.csv as weighting_part builds them by default (without
    # the audit's secondary action), shared with the other sections of the run
    weighting = weighting_part(
        study, plan, thr, sources=sources,
        table1=cached(T.sample_table, study, threshold=thr, hidden=table1_hidden).values,
        attrition=cached(linkage_outputs, study, threshold=thr,
                         withhold=withhold)["attrition.csv"],
        verdicts={(str(r.group), str(r.item)): str(r.verdict) for r in paired.itertuples()}
        if primary == "paired" else None)
    # numbered in the order the sections show them: the weighting section comes first
    tabs += [*weighting.tables, *w2tabs]
    tabs = [t.numbered(i) for i, t in enumerate(tabs, 1)]

    figure_specs = study_figures(study, plan, withhold)
    n_study = len(figure_specs)
    # a forest plot tells at most 8 groups apart: with by = (group, area) there are hundreds
    # of cells, whose effects are in the comparison tables instead
    few_cells = table["group"].nunique() <= len(GROUP_COLOURS)

    def forest(design: str) -> Callable[[], Any]:  # pickles: drawn by a worker started early
        # (its table, not the WaveComparison: unpickling that would import
        # crisis_survey.compare, and scipy.stats with it, into the worker)
        return functools.partial(F.forest_plot, comparison.table, design=design,
                                 threshold=thr, sources=sources)

    figure_specs += [
        (f"forest_{d}", forest(d),
         f"Effect sizes with {round(plan.confidence * 100)}% confidence intervals: "
         f"{_DESIGN_TITLES[d]}.",
         f"Forest plot: for each item, one point per group at its effect size (wave 2 "
         f"relative to wave 1) with a horizontal line for its "
         f"{round(plan.confidence * 100)}% confidence interval; {_DESIGN_TITLES[d]}.")
        for d in plan.designs if d in ("paired", "independent") and few_cells
    ]
    figure_specs += weighting.figures
    figure_files: list[Path] = []
    figs: dict[str, Figure] = {}
    jobs = [(make, figures_dir / name) for name, make, _, _ in figure_specs]
    if figures is None:
        # drawn in worker processes while the tables are written (on one core: one by one
        # below)
        own: Any = F.FigureDrawing(jobs, _figure_formats(plan))
        drawing = own
    else:  # the study's figures are being drawn since publish started; the rest join them
        own, drawing = contextlib.nullcontext(), figures
        drawing.submit(jobs[n_study:])
    with own:
        say(4, steps, f"writing {len(tabs)} tables ({sum(len(t.data) for t in tabs):,} rows) "
                      f"as {', '.join(R.TABLE_FORMATS)}")
        table_files: list[Path] = []
        limit = plan.max_table_rows
        for i, t in enumerate(tabs, 1):
            if len(t.data) >= _LONG_TABLE:
                say(4, steps, f"writing table {i} of {len(tabs)}: {t.name} ({len(t.data):,} rows)")
            # a table longer than the plan's limit is written whole only where it is usable as
            # data (Excel, Markdown, LaTeX); the HTML and Word reports show its first rows
            formats = _LONG_FORMATS if _too_big(t, limit) else R.TABLE_FORMATS
            table_files += R.save_table(t, tables_dir / t.name, formats=formats)
        shown = {t.name: _shown(t, limit, comparison, [str(g) for g in groups])
                 for t in tabs}

        say(5, steps, "drawing figures")
        blank = blank_study_figures(study, plan, withhold)
        drawing.help()  # the figures the worker has not started yet, drawn here meanwhile
        for i, (name, _, caption, alt) in enumerate(figure_specs):
            say(5, steps, f"drawing figure {i + 1} of {len(figure_specs)}: {name}")
            files = drawing.result(i)
            if i < n_study and figures is not None and _redrawn(name, withhold) and \
                    name not in getattr(figures, "after_audit", ()):
                # drawn from the study alone before the audit ended; the audit withheld
                # some of what it shows: drawn again over it, from the release's values, in
                # this process (a worker would need the whole study pickled: gigabytes at
                # national size)
                files = F._draw_and_save((figure_specs[i][1], figures_dir / name,
                                          tuple(_figure_formats(plan))))
            if i < n_study and name in blank:
                for f in files:  # drawn (early, by name) but not published
                    Path(f).unlink(missing_ok=True)
                continue
            figure_files += files
            figs[name] = Figure(svg=figures_dir / f"{name}.svg", number=0, name=name,
                                caption=caption, alt=alt)

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

    findings = publishable_findings(  # the tables of comparison rows (not the distribution)
        comparison, [t for t in comparison_tabs if "design" in t.values.columns],
        models=models, groups=[str(g) for g in groups],
        waves=[w.label or f"wave {w.number}" for w in cb.waves],
        model_values=mtab.values if mtab is not None else None)
    # figures in the order they appear, numbered from 1
    order = [n for n in ["flow", *[n for n in figs if n.startswith("forest_")],
                         *[n for n in figs if n.startswith("likert")], "transitions",
                         *[n for n, _, _, _ in weighting.figures]] if n in figs]
    figs = {n: dataclasses.replace(figs[n], number=k) for k, n in enumerate(order, 1)}
    comparison_shown = [shown[t.name] for t in tabs[first:first + len(comparison_tabs)]]
    change_refs: list[str | Ref] = []
    for k, t in enumerate(comparison_shown):
        sep = "" if k == 0 else (" and " if k == len(comparison_shown) - 1 else ", ")
        change_refs += [sep, _ref(t)]
    change_refs.append(" give the tests of each design; " if len(comparison_shown) > 1
                       else " gives the tests; ")
    change_figs = [figs[n] for n in order if n != "flow"]
    if change_figs:
        change_refs += ["the figures show the effect sizes and the answers in each wave ("]
        for k, f in enumerate(change_figs):
            change_refs += ["" if k == 0 else ", ", _ref(f)]
        change_refs.append(").")
    else:  # no figure left to show (by group x area on a small study)
        change_refs[-1] = str(change_refs[-1]).rstrip("; ") + "."
    sections: list[tuple[str, list[tuple[str, Any]]]] = [
        ("Respondents and linkage", [
            ("refs", [_ref(figs["flow"]), " shows how respondents were read, excluded and "
                      "linked; ", _ref(tabs[0]), " describes the sample and ", _ref(tabs[1]),
                      " the linkage of the waves."]),
            ("figure", figs["flow"]), ("table", shown[tabs[0].name]),
            ("table", shown[tabs[1].name]),
            *[("table", shown[t.name]) for t in tabs[2:first]],
        ]),
        ("Change between the waves", [
            ("refs", change_refs),
            *[("table", t) for t in comparison_shown],
            *[("figure", figs[n]) for n in order if n.startswith("forest_")],
            *[("figure", figs[n]) for n in order if n.startswith("likert")],
            *[("figure", figs[n]) for n in order if n == "transitions"],
            *([("p", _blank_note(blank))] if blank else []),
        ]),
    ]
    if mtab is not None:
        model_blocks: list[tuple[str, Any]] = [("table", shown[mtab.name])]
        model_blocks += [("note", f"Not fitted: {m}") for m in model_failures]
        sections.append(("Did change differ between the groups?", model_blocks))
    sections.append(("Who came back: weighted estimates and tipping points", [
        *[("p", text) for text in weighting.sentences],
        *[("table", shown[t.name]) for t in weighting.tables],
        *[("figure", figs[n]) for n, _, _, _ in weighting.figures],
    ]))
    if w2tabs:
        sections.append(("Questions asked in wave 2 only",
                         [("table", shown[t.name]) for t in w2tabs]))
    recorded = {"plan": plan.to_dict(), "comparison": dict(comparison.options)}
    codebook_info = {"name": cb.name, "version": cb.version, "source": Path(cb.source).name}
    from ._provenance import provenance_tables

    provenance = [t.numbered(k) for k, t in enumerate(provenance_tables(
        plan=plan.to_dict(), tests=dict(comparison.options.get("tests", {})),
        designs=list(plan.designs), labels=labels, inputs=dict(inputs or {}),
        codebook=codebook_info), len(tabs) + 1)]
    sections.append(("Methods and provenance", [
        ("p", "Tests are chosen from each item's measurement level in the codebook: ordinal "
              "items by Wilcoxon signed-rank (paired; exact conditional distribution given "
              "ties when fewer than 50 pairs differ), Mann-Whitney (independent) and the "
              "partially overlapping samples t-test on the level codes (Derrick et al. "
              "2017); binary items by McNemar, Pearson chi-square or Fisher, and the "
              "partially overlapping z-test (Derrick et al. 2015); nominal items by the "
              "Stuart-Maxwell test and chi-square. \"Don't know\" and similar answers are "
              "excluded from the tests and counted."),
        ("refs", ["The options of the analysis (", *_join_refs(provenance[:-2]),
                  "), the input files with their SHA-256 digests (", _ref(provenance[-2]),
                  ") and the software versions (", _ref(provenance[-1]),
                  ") are recorded below; the same inputs and options reproduce the same "
                  "files byte for byte."]),
        ("link", ("Every file of this report is listed with its SHA-256 in ",
                  "manifest.json", ", beside this report.")),
        *[("table", t) for t in provenance],
    ]))
    doc_html = _html_report(title=title, synthetic=synthetic, intro=intro, sections=sections,
                            to_html=R.to_html, findings=findings)
    html_path = out / "report.html"
    html_path.write_text(doc_html, encoding="utf-8")
    docx_path = out / "report.docx"
    docx_path.write_bytes(_docx_report(title=title, synthetic=synthetic, intro=intro,
                                       sections=sections, findings=findings,
                                       paper=plan.paper, language=plan.language))

    say(7, steps, "writing the manifest")
    manifest_path = write_folder_manifest(
        out,
        inputs=dict(inputs or {}),
        options=recorded,
        codebook=codebook_info,
        synthetic=synthetic,
    )
    return ReportFiles(out=out, html=html_path, docx=docx_path, manifest=manifest_path,
                       tables=tuple(table_files), figures=tuple(figure_files))


def _join_refs(targets: Sequence[PublicationTable]) -> list[str | Ref]:
    out: list[str | Ref] = []
    for k, t in enumerate(targets):
        out += ["" if k == 0 else " and ", _ref(t)]
    return out


#: The formats of a table longer than the plan's ``max_table_rows``: data, not pages.
_LONG_FORMATS: tuple[str, ...] = ("md", "tex", "xlsx", "csv")


def _shown(table: PublicationTable, limit: int, comparison: Any,
           groups: Sequence[str]) -> PublicationTable:
    """``table`` as the HTML and Word reports show it: whole up to ``limit`` rows; a longer
    comparison table (by area) summarised per item (present/_summary.py), any other long
    table cut to its first rows (:func:`_first_rows`)."""
    if len(table.body_columns) > _MAX_COLUMNS:
        table = _first_columns(table, _SHOWN_COLUMNS)
    if len(table.data) <= limit:
        return table
    if {"group", "item", "design"} <= set(table.values.columns) \
            and len(table.values) == len(table.data):
        from ._summary import summarise_comparison

        return summarise_comparison(table, comparison, groups=groups)
    return _first_rows(table, limit)


#: The most body columns a table of the HTML and Word reports shows: the widest layout the
#: report makes otherwise (four groups side by side, seven columns each, on a landscape page
#: at 7 pt). A table by area with one column per area and wave has hundreds: the report
#: shows its first columns, its files in tables/ every column.
_MAX_COLUMNS = 28
#: How many body columns the report shows of a table with more (whole spanners): a landscape
#: page sets 12 columns of counts and their labels without breaking a word.
_SHOWN_COLUMNS = 12


def _too_big(table: PublicationTable, limit: int) -> bool:
    """Whether ``table`` is data rather than a page: more than ``limit`` rows or more than
    :data:`_MAX_COLUMNS` body columns (its own HTML and Word files are not written)."""
    return len(table.data) > limit or len(table.body_columns) > _MAX_COLUMNS


def _first_columns(table: PublicationTable, most: int) -> PublicationTable:
    """``table`` with at most ``most`` body columns, whole spanners only (at least one): the
    spanners (a by-cell each, in a table by area) that publish the most numbers, in the
    table's order, and a note saying how many columns there are and where the rest is."""
    from ._tables import Spanner, _is_marker

    def published(run: Sequence[str]) -> int:  # cells showing a number other than zero
        cells = table.data[list(run)].astype(str).to_numpy().ravel().tolist()
        return sum(not _is_marker(c) and not c.startswith("0") for c in cells)

    runs = table.spanner_runs()
    chosen: set[int] = set()
    width = 0
    for k in sorted(range(len(runs)), key=lambda k: (-published(runs[k][1]), k)):
        if chosen and width + len(runs[k][1]) > most:
            continue
        chosen.add(k)
        width += len(runs[k][1])
    keep = [c for k, (_, run) in enumerate(runs) if k in chosen for c in run]
    body = table.body_columns
    note = (f"{len(keep):,} of {len(body):,} columns are shown: those of the "
            f"{len(chosen):,} {'headings' if table.spanners else 'columns'} publishing the most "
            f"numbers; the whole table is in tables/{table.name}.xlsx and .csv (also .md and "
            ".tex).")
    columns = [c for c in table.data.columns if c not in body or c in keep]
    spanners = tuple(Spanner(sp.label, tuple(c for c in sp.columns if c in keep))
                     for sp in table.spanners if any(c in keep for c in sp.columns))
    return dataclasses.replace(table, data=table.data[columns], spanners=spanners,
                               notes=(note, *table.notes))


def _first_rows(table: PublicationTable, limit: int) -> PublicationTable:
    """``table`` as the HTML and Word reports show it: whole up to ``limit`` rows, else its
    first ``limit`` rows with a note saying how many there are and where the rest is."""
    n = len(table.data)
    if n <= limit:
        return table
    note = (f"The first {limit:,} of {n:,} rows are shown; the whole table is in "
            f"tables/{table.name}.xlsx and .csv (also .md and .tex).")
    return dataclasses.replace(table, data=table.data.iloc[:limit].reset_index(drop=True),
                               notes=(note, *table.notes))
