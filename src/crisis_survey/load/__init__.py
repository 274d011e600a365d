"""Loading a survey wave: read the file, match its columns to the codebook, validate."""

from ._load import load_wave
from ._wave import SurveyWave

__all__ = ["SurveyWave", "load_wave"]
