"""mkdocs hook: publish the notebooks of notebooks/, executed at build time.

The notebooks are stored without outputs (tests/test_notebooks.py), so the site runs them
against the code it documents: this hook copies notebooks/*.ipynb and the files they read
(``*.toml``) into a temporary folder, adds each notebook to the site as
``notebooks/<name>.ipynb``, and points the mkdocs-jupyter plugin (``execute: true``) at a
kernel of the Python that runs mkdocs with ``src/`` importable, as the tests do. The
notebooks write their tables, figures and reports into that temporary folder, never into
the repository; it is removed after the build. A cell that raises fails the build
(``allow_errors: false``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "crisis-survey-docs"
_work: list[Path] = []


def on_config(config: Any) -> Any:
    """A kernelspec of this interpreter (with ``src/`` on its path) for mkdocs-jupyter."""
    jupyter = Path(tempfile.mkdtemp(prefix="crisis-survey-kernel-"))
    _work.append(jupyter)
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "crisis_survey docs", "language": "python",
        "env": {"PYTHONPATH": pythonpath},
    }), encoding="utf-8")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(jupyter), os.environ.get("JUPYTER_PATH")]))
    plugin = config["plugins"].get("mkdocs-jupyter")
    if plugin is not None:
        plugin.config["kernel_name"] = KERNEL
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files turns the notebooks into pages
def on_files(files: Files, config: Any) -> Files:
    root = Path(tempfile.mkdtemp(prefix="crisis-survey-notebooks-"))
    _work.append(root)
    work = root / "notebooks"  # the notebooks' working folder, as notebooks/ on the site
    work.mkdir()
    for path in sorted(NOTEBOOKS.iterdir()):
        if path.suffix in (".ipynb", ".toml"):
            shutil.copy(path, work / path.name)
    for notebook in sorted(work.glob("*.ipynb")):
        # a File of its own source folder (mkdocs-jupyter wraps it; a generated File has
        # no source path through that wrapper)
        files.append(File(f"notebooks/{notebook.name}", src_dir=str(root),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def _clean() -> None:
    while _work:
        shutil.rmtree(_work.pop(), ignore_errors=True)


atexit.register(_clean)  # mkdocs build has no shutdown event for hooks to count on
