"""Lazy re-exports (src/crisis_survey/_lazy.py) of crisis_survey, .stats and .present."""

from __future__ import annotations

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


def test_import_is_cheap() -> None:
    # importing the package must not pull in scipy, matplotlib or the report libraries
    code = ("import sys, crisis_survey, crisis_survey.stats, crisis_survey.present; "
            "print(sorted(m for m in ('scipy', 'matplotlib', 'docx', 'openpyxl', "
            "'great_tables') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "[]"


def test_a_default_plan_does_not_import_the_comparison() -> None:
    # publish forks its figure worker after the plan is made and before comparing: scipy.stats
    # (half a second of CPU, through crisis_survey.compare) is imported after the fork
    code = ("import sys; from crisis_survey import AnalysisPlan; AnalysisPlan(); "
            "print(sorted(m for m in ('crisis_survey.compare', 'scipy.stats') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "[]"
