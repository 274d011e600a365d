"""Every public function and class (the names in ``__all__`` of crisis_survey and of each
subpackage) has a numpydoc docstring with an Examples section that runs: pytest collects
``src/crisis_survey`` with ``--doctest-modules`` (pyproject.toml), so each example is a test."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

MODULES = ("crisis_survey", "crisis_survey.codebook", "crisis_survey.load",
           "crisis_survey.link", "crisis_survey.stats", "crisis_survey.compare",
           "crisis_survey.present", "crisis_survey.synthetic")


def _public() -> list[tuple[str, object]]:
    out, seen = [], set()
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # submodules and constants (documented where they are defined)
            if id(obj) not in seen:
                seen.add(id(obj))
                out.append((f"{name}.{attr}", obj))
    return out


PUBLIC = _public()


def test_the_public_surface_is_found() -> None:
    names = {n for n, _ in PUBLIC}
    assert "crisis_survey.stats.wilcoxon_signed_rank" in names
    assert "crisis_survey.present.write_report" in names
    assert len(PUBLIC) > 60


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_public_name_has_a_runnable_example(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert "\nExamples\n--------\n" in doc, f"{name}: no numpydoc Examples section"
    examples = doctest.DocTestParser().get_examples(doc)
    assert examples, f"{name}: the Examples section has no >>> example"
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if params:
            assert "\nParameters\n----------\n" in doc, f"{name}: no Parameters section"
    if inspect.isfunction(obj) and inspect.signature(obj).return_annotation not in (
        None, "None", inspect.Signature.empty
    ):
        assert "\nReturns\n-------\n" in doc or "\nYields\n------\n" in doc, (
            f"{name}: no Returns section")
