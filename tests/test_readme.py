"""The README's examples run: every ```python block of README.md, in order, in one namespace
(as a reader pastes them into one session), without a warning, and the statistics example
prints what its comments claim."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_PYTHON = re.compile(r"^```python\n(.*?)^```\s*$", re.S | re.M)


def _blocks() -> list[str]:
    return _PYTHON.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 5


def test_readme_examples_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    namespace: dict[str, object] = {"__name__": "readme"}
    out = io.StringIO()
    for i, code in enumerate(_blocks()):
        # every name an example uses is defined by it or by an example before it
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            warnings.simplefilter("error")
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
    printed = out.getvalue()
    assert "Wilcoxon signed-rank test (exact" in printed
    assert "Mid-p McNemar test" in printed
    assert "rows read" in printed.lower() or "read" in printed
