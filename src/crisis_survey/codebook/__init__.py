"""The survey codebook: every column's meaning, levels and missing-value codes."""

from ._draft import draft_codebook
from ._frictionless import codebook_from_dict, default_codebook, load_codebook
from ._model import Codebook, Field, Level, MissingCode, WaveInfo

__all__ = [
    "Codebook",
    "Field",
    "Level",
    "MissingCode",
    "WaveInfo",
    "codebook_from_dict",
    "default_codebook",
    "draft_codebook",
    "load_codebook",
]
