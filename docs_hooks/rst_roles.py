"""mkdocs hook: turn the Sphinx roles of numpydoc docstrings into links and maths.

Docstrings follow numpydoc and cross-reference with roles (:func:`~crisis_survey.compare.
compare_waves`), which Sphinx understands and mkdocstrings prints verbatim as
``:func:<code>~crisis_survey.compare.compare_waves</code>``. This hook turns

- each cross-reference role into an mkdocs-autorefs reference (``<autoref ...>``), which the
  autorefs plugin resolves into a link to the name's entry in the API reference; it is
  ``optional``, so a private name that has no entry stays code without a warning. As with
  Sphinx, a leading ``~`` shows only the last part of the name;
- ``:math:`` into inline maths that MathJax renders on the site (``pymdownx.arithmatex``'s
  ``arithmatex`` span with ``\\( ... \\)`` delimiters).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(func|class|meth|mod|data|attr|exc|obj|const|math):<code>(~?)([^<]+)</code>"
)


def _replace(match: re.Match[str]) -> str:
    role, tilde, target = match.groups()
    if role == "math":
        return f'<span class="arithmatex">\\({target}\\)</span>'
    shown = target.rsplit(".", 1)[-1] if tilde else target
    identifier = target.strip().rstrip("()")
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_replace, html)
