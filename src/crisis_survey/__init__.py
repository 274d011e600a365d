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

from typing import TYPE_CHECKING, Any

from . import _lazy
from ._errors import CodebookError, CrisisSurveyError, DataValidationError, LinkageError

if TYPE_CHECKING:
    from . import compare, present, stats
    from ._plan import AnalysisPlan, PlanError, load_plan
    from .codebook import Codebook, default_codebook, load_codebook
    from .compare import ModelResult, WaveComparison, change_by_group_model, compare_waves
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
    "compare_waves": ".compare",
    "WaveComparison": ".compare",
    "change_by_group_model": ".compare",
    "ModelResult": ".compare",
    "AnalysisPlan": "._plan",
    "PlanError": "._plan",
    "load_plan": "._plan",
}
_SUBMODULES = ("stats", "compare", "present")

__all__ = [
    "AnalysisPlan",
    "Codebook",
    "CodebookError",
    "CrisisSurveyError",
    "DataValidationError",
    "LinkageError",
    "LinkageReport",
    "LinkedStudy",
    "ModelResult",
    "PlanError",
    "SurveyWave",
    "WaveComparison",
    "__version__",
    "attrition_table",
    "change_by_group_model",
    "compare",
    "compare_waves",
    "default_codebook",
    "generate_study",
    "link_waves",
    "load_codebook",
    "load_plan",
    "load_sample_study",
    "load_wave",
    "present",
    "pseudonymise",
    "sample_study_paths",
    "stats",
]


def __getattr__(name: str) -> Any:
    return _lazy.lazy_attribute(__name__, name, _WHERE, globals(), submodules=_SUBMODULES)


def __dir__() -> list[str]:
    return _lazy.lazy_dir(globals(), __all__)
