"""The notebooks in notebooks/: each runs from top to bottom against the current code (nbclient,
an IPython kernel of this very Python), shows the library's results as HTML, never shows an
identifier or link key, and is stored without outputs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "crisis-survey-tests"
NAMES = ("01_walkthrough.ipynb", "02_reanalysis.ipynb")


def test_the_notebooks_are_there() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    """Outputs would go stale with the code; the test suite executes the notebooks instead."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs; clear them with "
                       "`jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`")


def _kernel_dir(tmp: Path) -> Path:
    """A kernelspec that runs this interpreter, with the source tree importable, so the
    notebooks test the code under test whatever kernels the machine has installed."""
    spec = tmp / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "crisis_survey tests",
        "language": "python",
        "env": {"PYTHONPATH": pythonpath, "MPLBACKEND": "Agg"},
    }))
    return tmp / "jupyter"


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' installs nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_dir(tmp_path)))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    work = tmp_path / "work"
    work.mkdir()
    for extra in NOTEBOOKS.glob("*.toml"):  # files the notebooks read beside themselves
        shutil.copy(extra, work / extra.name)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    return nb, work


def _outputs(nb: Any, mime: str) -> list[str]:
    return [str(out["data"][mime]) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if "data" in out and mime in out["data"]]


def _sensitive() -> set[str]:
    from crisis_survey.synthetic import sample_study_paths

    values: set[str] = set()
    for path in sample_study_paths():
        raw = pd.read_csv(path, dtype=str)
        values |= set(raw["respondent_id"].dropna()) | set(raw["link_key"].dropna())
    return values


def _shown_sensitive(nb: Any) -> set[str]:
    text = "\n".join(_outputs(nb, "text/html") + _outputs(nb, "text/plain")
                     + [str(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                        for o in c.outputs])
    return {v for v in _sensitive() if v in text}


def test_walkthrough_runs_and_shows_readable_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb, work = _execute("01_walkthrough.ipynb", tmp_path, monkeypatch)
    html = "\n".join(_outputs(nb, "text/html"))
    # rich display of the library's objects (their _repr_html_), not only DataFrames
    for shown in ("Codebook crisis_care_survey", "SurveyWave 1 from synthetic_wave1.csv",
                  "Linked study", "Comparison of waves 1 and 2", "Wilcoxon signed-rank",
                  "Change between the survey waves", "Report in"):
        assert shown in html, f"the walkthrough does not show {shown!r} as HTML"
    # the deliberately spoilt file was refused with its problems listed
    assert "duplicate" in html.lower()
    assert (work / "walkthrough-report" / "report.html").is_file()
    assert (work / "walkthrough-report" / "manifest.json").is_file()
    assert sorted(p.suffix for p in (work / "tables").iterdir()) == [
        ".csv", ".docx", ".html", ".md", ".tex", ".xlsx"]
    # the spoilt copy holds identifiers, but no output shows one (rows are shown by number)
    assert _shown_sensitive(nb) == set()


def test_reanalysis_reproduces_every_output_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb, work = _execute("02_reanalysis.ipynb", tmp_path, monkeypatch)
    text = "\n".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs)
    assert "same plan: True" in text
    assert "manifest identical: True" in text
    n = len(json.loads((work / "original" / "manifest.json").read_text())["outputs"])
    assert f"{n} of {n} outputs byte-identical" in text
    assert _shown_sensitive(nb) == set()
