"""The documentation site (mkdocs.yml, docs/): it builds in strict mode, its guides' code runs
and prints what the page says it prints, and every public name has an API reference entry."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Pages whose ```python blocks are run in order, in one namespace per page. A ```text block
#: right after a python block is what that block prints (compared line by line, trailing
#: spaces ignored); a block with ``title="name"`` is a file the example reads.
RUNNABLE_PAGES = ("index.md", "reproducibility.md")

_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)
_TITLE = re.compile(r'title="([^"]+)"')


def _blocks(page: str) -> list[tuple[str, str, str | None]]:
    """(language, code, file name from ``title="..."`` or None) of every fenced block."""
    text = (DOCS / page).read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        title = _TITLE.search(m.group(2))
        out.append((m.group(1), m.group(3), title.group(1) if title else None))
    return out


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_guide_code_runs_and_prints_what_the_page_shows(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the examples write files relative to the working directory
    blocks = _blocks(page)
    assert any(lang == "python" for lang, _, _ in blocks), f"{page} has no python example"
    for lang, body, title in blocks:
        if title is not None and lang != "python":
            (tmp_path / title).write_text(body, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    checked = 0
    for i, (lang, code, _) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            warnings.simplefilter("error")  # a guide's example must not need to hide warnings
            exec(compile(code, f"{page} block {i}", "exec"), namespace)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if following is not None and following[0] == "text":
            assert _lines(out.getvalue()) == _lines(following[1]), (
                f"{page}: block {i} printed\n{out.getvalue()}\nbut the page shows\n{following[1]}"
            )
            checked += 1
    assert checked > 0, f"{page}: no printed output is checked against the page"


def _mkdocs() -> list[str] | None:
    exe = shutil.which("mkdocs", path=str(Path(sys.executable).parent) + os.pathsep
                       + os.environ.get("PATH", ""))
    if exe is not None:
        return [exe]
    if importlib.util.find_spec("mkdocs") is not None:
        return [sys.executable, "-m", "mkdocs"]
    return None


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    cmd = _mkdocs()
    # The test extra installs mkdocs-material and mkdocstrings, so their absence is a broken
    # environment, not a reason to skip: a skipped docs build would hide a broken reference.
    assert cmd is not None and importlib.util.find_spec("mkdocstrings_handlers") is not None, (
        "mkdocs-material/mkdocstrings not installed: pip install -e '.[test]'"
    )
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      os.environ.get("PYTHONPATH")]))}
    site = tmp_path / "site"
    proc = subprocess.run(
        [*cmd, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    # the API reference was generated from the docstrings, not left empty
    stats_page = (site / "api" / "stats" / "index.html").read_text(encoding="utf-8")
    assert 'id="crisis_survey.stats.wilcoxon_signed_rank"' in stats_page
    assert "matched-pairs rank-biserial" in stats_page
    # numpydoc's Sphinx roles are links and maths (docs_hooks/rst_roles.py), not raw markup
    assert not re.search(r":(func|class|meth|math):<code>", stats_page)
    assert "<autoref" not in stats_page  # every reference was resolved or left as code
    present_page = (site / "api" / "present" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="autorefs autorefs-(?:internal|external)"[^>]*'
                     r'href="[^"]*#crisis_survey\.compare\.compare_waves"', present_page)
    # maths is marked for MathJax, in the API reference (:math:) and the methods pages ($...$)
    assert re.search(r'<span class="arithmatex">\\\(.+?\\\)</span>', stats_page)
    methods = (site / "methods" / "parametric-and-overlap" / "index.html").read_text(
        encoding="utf-8")
    assert methods.count('class="arithmatex"') > 20
    assert not re.search(r"\$\$|(?<![\\\w])\$[^$\s]", methods.split("<body", 1)[1])
    assert "mathjax" in methods.lower() and "javascripts/mathjax.js" in methods
    # the gallery's pictures are part of the site
    assert (site / "img" / "fig_likert.png").is_file()
    # the notebooks are pages, executed at build (docs_hooks/notebooks.py, mkdocs-jupyter)
    walk = (site / "notebooks" / "01_walkthrough" / "index.html").read_text(encoding="utf-8")
    assert "Codebook crisis_care_survey" in walk and "Comparison of waves 1 and 2" in walk
    again = (site / "notebooks" / "02_reanalysis" / "index.html").read_text(encoding="utf-8")
    assert "same plan: True" in again and "manifest identical: True" in again
    assert re.search(r"(\d+) of \1 outputs byte-identical", again)
    guide = (site / "notebooks" / "index.html").read_text(encoding="utf-8")
    assert 'href="01_walkthrough/"' in guide
    # they ran in a temporary folder, not in the repository
    assert not (ROOT / "notebooks" / "walkthrough-report").exists()
    assert not (ROOT / "notebooks" / "rerun").exists()


SUBPACKAGES = ("codebook", "load", "link", "stats", "compare", "present", "synthetic")


def test_every_public_name_has_an_api_reference_entry() -> None:
    """A name added to a subpackage's ``__all__`` must also be added to its API page."""
    missing = []
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"crisis_survey.{sub}")
        page = (DOCS / "api" / f"{sub}.md").read_text(encoding="utf-8")
        documented = set(re.findall(rf"^::: crisis_survey\.{sub}\.(\w+)\s*$", page, re.M))
        missing += [f"crisis_survey.{sub}.{name}" for name in module.__all__
                    if name not in documented]
    assert not missing, f"not in docs/api/*.md: {missing}"


def test_every_page_is_in_the_nav() -> None:
    """A page left out of the nav is unreachable (mkdocs only warns for some of them)."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert pages, "no pages"
    assert [p for p in pages if p not in nav] == []
