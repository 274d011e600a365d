"""The synthetic sample study that ships with the library (private)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import CrisisSurveyError
from .._resources import data_dir
from ._write import FORMATS, file_name

if TYPE_CHECKING:
    from ..link import LinkedStudy

__all__ = ["SAMPLE_CALL", "load_sample_study", "sample_study_paths"]

#: The exact arguments of :func:`generate_study` that made ``data/sample/`` (all formats).
SAMPLE_CALL: dict[str, Any] = {"seed": 20141001}


def sample_study_paths(format: str = "csv") -> tuple[Path, Path]:
    """Paths of the two waves of the shipped synthetic sample study.

    Parameters
    ----------
    format
        ``"csv"`` (the main demo input), ``"xlsx"``, ``"sav"`` or ``"parquet"``: the same
        two waves in each format.

    Returns
    -------
    tuple of Path
        ``(wave1_path, wave2_path)``, e.g. ``.../sample/synthetic_wave1.csv``.

    Raises
    ------
    CrisisSurveyError
        If ``format`` is not one of the shipped formats or the files are missing.

    Notes
    -----
    The files are SYNTHETIC: made by ``generate_study(**SAMPLE_CALL)`` and
    ``write_study(...)``; see ``data/sample/README.md``.

    Examples
    --------
    >>> w1, w2 = sample_study_paths()
    >>> w1.name, w2.name
    ('synthetic_wave1.csv', 'synthetic_wave2.csv')
    >>> sample_study_paths("parquet")[0].suffix
    '.parquet'
    """
    if format not in FORMATS:
        raise CrisisSurveyError(
            f"the sample study ships as {', '.join(FORMATS)}; got format={format!r}"
        )
    folder = data_dir() / "sample"
    paths = (folder / file_name(1, format), folder / file_name(2, format))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CrisisSurveyError(
            f"the shipped sample study is missing ({', '.join(missing)}); reinstall the package"
        )
    return paths


def load_sample_study(
    format: str = "csv", *, secret: str | bytes | None = None
) -> LinkedStudy:
    """Load and link the shipped synthetic sample study, exactly as real data are loaded.

    Parameters
    ----------
    format
        Which copy of the files to read: ``"csv"``, ``"xlsx"``, ``"sav"`` or ``"parquet"``.
    secret
        Optional secret for pseudonymising the link keys (see
        :func:`crisis_survey.link.link_waves`).

    Returns
    -------
    LinkedStudy
        The two waves validated by :func:`crisis_survey.load.load_wave` against the library's
        codebook and linked by :func:`crisis_survey.link.link_waves`.

    Notes
    -----
    The data are SYNTHETIC (see ``data/sample/README.md``); use them to learn the library
    and to check a pipeline, never as evidence about crisis care.

    Examples
    --------
    >>> study = load_sample_study()
    >>> int(study.report.counts.loc["linked", "All"]) > 100
    True
    """
    from ..codebook import default_codebook
    from ..link import link_waves
    from ..load import load_wave

    cb = default_codebook()
    p1, p2 = sample_study_paths(format)
    wave1 = load_wave(p1, cb, wave=1)
    wave2 = load_wave(p2, cb, wave=2)
    return link_waves(wave1, wave2, secret=secret)
