"""Lazy re-exports (src/crisis_survey/_lazy.py) of crisis_survey, .stats and .present."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = ["crisis_survey", "crisis_survey.stats", "crisis_survey.present"]
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_is_listed(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name  # a wrong _WHERE entry fails here
    assert set(module.__all__) <= set(dir(module))


@pytest.mark.parametrize("package", PACKAGES)
def test_unknown_name_is_an_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018
    assert not hasattr(module, "nope")


def test_submodules_and_names_are_the_defining_objects() -> None:
    import crisis_survey as cs
    from crisis_survey.stats._rank import mann_whitney

    assert cs.stats is importlib.import_module("crisis_survey.stats")
    assert cs.stats.mann_whitney is mann_whitney


def _loaded_after(statements: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statements``."""
    code = f"import sys; {statements}; print(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC)})
    loaded: list[str] = ast.literal_eval(out.stdout)
    return loaded


def test_import_is_cheap() -> None:
    # importing the package must not pull in scipy, matplotlib or the report libraries
    assert _loaded_after("import crisis_survey, crisis_survey.stats, crisis_survey.present",
                         ("scipy", "matplotlib", "docx", "openpyxl", "great_tables")) == []


def test_a_default_plan_does_not_import_the_comparison() -> None:
    # publish forks its figure worker after the plan is made and before comparing: scipy.stats
    # (half a second of CPU, through crisis_survey.compare) is imported after the fork
    assert _loaded_after("from crisis_survey import AnalysisPlan; AnalysisPlan()",
                         ("crisis_survey.compare", "scipy.stats")) == []


def test_comparing_the_sample_does_not_load_numba() -> None:
    # below _jit.SMALL_ROWS the kernels run as numpy (tests/test_jit.py compares them)
    assert _loaded_after("from crisis_survey import load_sample_study; "
                         "from crisis_survey.compare import compare_waves; "
                         "compare_waves(load_sample_study())", ("numba",)) == []
