"""Publication tables and figures, with disclosure control.

Every table is built as data first (:class:`PublicationTable`: a frame of display strings
with a documented schema, a title, column spanners and notes) and rendered second by
separate renderers (HTML, LaTeX, Markdown, Word, Excel). Figures are matplotlib figures
drawn from the same data. Statistics are never computed here: they come from the compare,
link and stats steps. Counts below the disclosure threshold never reach an output.

Submodules are imported lazily, so ``import crisis_survey.present`` is cheap (matplotlib,
great_tables, python-docx and openpyxl are imported only when used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from ._disclosure import (
        DisclosureError,
        Suppression,
        assert_no_identifiers,
        audit_suppression,
        suppress,
        suppression_note,
    )
    from ._figdata import change_counts, likert_counts, transition_counts
    from ._figures import (
        change_chart,
        flow_diagram,
        forest_plot,
        likert_chart,
        save_figure,
        transition_chart,
    )
    from ._format import format_estimate_ci, format_number, format_p
    from ._release import SYNTHETIC_BANNER, OutputSet, Release, publish, write_outputs
    from ._render import (
        html_document,
        save_table,
        to_docx,
        to_html,
        to_latex,
        to_markdown,
        to_xlsx,
    )
    from ._report import ReportFiles, write_report
    from ._tables import (
        PublicationTable,
        Spanner,
        change_table,
        comparison_table,
        distribution_table,
        linkage_table,
        sample_table,
        wave2_items_table,
    )

_WHERE: dict[str, str] = {
    "DisclosureError": "._disclosure",
    "Suppression": "._disclosure",
    "assert_no_identifiers": "._disclosure",
    "audit_suppression": "._disclosure",
    "suppress": "._disclosure",
    "suppression_note": "._disclosure",
    "format_p": "._format",
    "format_number": "._format",
    "format_estimate_ci": "._format",
    "PublicationTable": "._tables",
    "Spanner": "._tables",
    "sample_table": "._tables",
    "linkage_table": "._tables",
    "comparison_table": "._tables",
    "change_table": "._tables",
    "distribution_table": "._tables",
    "wave2_items_table": "._tables",
    "likert_counts": "._figdata",
    "change_counts": "._figdata",
    "transition_counts": "._figdata",
    "to_html": "._render",
    "to_latex": "._render",
    "to_markdown": "._render",
    "to_docx": "._render",
    "to_xlsx": "._render",
    "save_table": "._render",
    "html_document": "._render",
    "likert_chart": "._figures",
    "change_chart": "._figures",
    "forest_plot": "._figures",
    "flow_diagram": "._figures",
    "save_figure": "._figures",
    "transition_chart": "._figures",
    "SYNTHETIC_BANNER": "._release",
    "OutputSet": "._release",
    "Release": "._release",
    "publish": "._release",
    "write_outputs": "._release",
    "ReportFiles": "._report",
    "write_report": "._report",
}

__all__ = [
    "SYNTHETIC_BANNER",
    "DisclosureError",
    "OutputSet",
    "PublicationTable",
    "Release",
    "ReportFiles",
    "Spanner",
    "Suppression",
    "assert_no_identifiers",
    "audit_suppression",
    "change_chart",
    "change_counts",
    "change_table",
    "comparison_table",
    "distribution_table",
    "flow_diagram",
    "forest_plot",
    "format_estimate_ci",
    "format_number",
    "format_p",
    "html_document",
    "likert_chart",
    "likert_counts",
    "linkage_table",
    "publish",
    "sample_table",
    "save_figure",
    "save_table",
    "suppress",
    "suppression_note",
    "to_docx",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_xlsx",
    "transition_chart",
    "transition_counts",
    "wave2_items_table",
    "write_outputs",
    "write_report",
]


def __getattr__(name: str) -> Any:
    return _lazy.lazy_attribute(__name__, name, _WHERE, globals())


def __dir__() -> list[str]:
    return _lazy.lazy_dir(globals(), __all__)
