"""Synthetic sample data: a simulated two-wave crisis-care survey and the shipped sample study.

Nothing here comes from real respondents. :func:`generate_study` simulates both waves as a
survey platform would export them (the model is documented in ``docs/sample-study.md``);
:func:`write_study` saves them as CSV, Excel, SPSS and Parquet files labelled synthetic;
:func:`sample_study_paths` and :func:`load_sample_study` give the small study that ships with
the library (``data/sample/``).
"""

from ._generate import SyntheticStudy, generate_study
from ._sample import SAMPLE_CALL, load_sample_study, sample_study_paths
from ._write import FORMATS, write_study

__all__ = [
    "FORMATS",
    "SAMPLE_CALL",
    "SyntheticStudy",
    "generate_study",
    "load_sample_study",
    "sample_study_paths",
    "write_study",
]
