"""mkdocs hook: show the Sphinx roles of numpydoc docstrings (and :math:) as code, not raw markup.

Docstrings follow numpydoc and cross-reference with roles (:func:`~crisis_survey.compare.
compare_waves`), which Sphinx understands and mkdocstrings prints verbatim. This turns each
rendered ``:role:<code>target</code>`` into ``<code>name</code>``, dropping a leading ``~``
and, as Sphinx does with it, the module path.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|math):<code>(~?)([^<]+)</code>"
)


def _replace(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_replace, html)
