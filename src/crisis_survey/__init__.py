"""crisis_survey: statistics for two-wave (panel) surveys, done properly and reproducibly.

The analysis runs codebook -> load (validate) -> link -> compare -> present. The public names
are re-exported here and imported lazily, so ``import crisis_survey`` is fast.

Examples
--------
>>> import crisis_survey as cs
>>> cs.default_codebook().name
'crisis_care_survey'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import CodebookError, CrisisSurveyError, DataValidationError, LinkageError

if TYPE_CHECKING:
    from .codebook import Codebook, default_codebook, load_codebook
    from .link import LinkageReport, LinkedStudy, attrition_table, link_waves, pseudonymise
    from .load import SurveyWave, load_wave
    from .synthetic import generate_study, load_sample_study, sample_study_paths

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "Codebook": ".codebook",
    "default_codebook": ".codebook",
    "load_codebook": ".codebook",
    "generate_study": ".synthetic",
    "sample_study_paths": ".synthetic",
    "load_sample_study": ".synthetic",
    "SurveyWave": ".load",
    "load_wave": ".load",
    "LinkedStudy": ".link",
    "LinkageReport": ".link",
    "link_waves": ".link",
    "attrition_table": ".link",
    "pseudonymise": ".link",
}

__all__ = [
    "Codebook",
    "CodebookError",
    "CrisisSurveyError",
    "DataValidationError",
    "LinkageError",
    "LinkageReport",
    "LinkedStudy",
    "SurveyWave",
    "__version__",
    "attrition_table",
    "default_codebook",
    "generate_study",
    "link_waves",
    "load_codebook",
    "load_sample_study",
    "load_wave",
    "pseudonymise",
    "sample_study_paths",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crisis_survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
