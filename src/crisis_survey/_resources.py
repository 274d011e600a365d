"""Where the shipped data (codebook, sample study) live, installed or in a checkout (private)."""

from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    """Directory holding ``schema/`` and ``sample/``.

    A wheel install carries them inside the package (``crisis_survey/_data``); an editable
    install or a source checkout reads them from the repository's ``data/`` folder.
    """
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "schema").is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "data"
    if (checkout / "schema").is_dir():
        return checkout
    raise FileNotFoundError(
        "crisis_survey's shipped data were not found (looked in "
        f"{packaged} and {checkout}); reinstall the package"
    )
