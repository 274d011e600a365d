"""The report's manifest: what went in, with which software and options (private).

The manifest's content depends only on the inputs and options: file names (not their
directories), SHA-256 digests, package versions and the analysis plan. It holds no
timestamps, host names or user names, so two runs of the same command on the same inputs
write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "PACKAGES", "build_manifest", "file_sha256", "folder_files",
           "write_folder_manifest", "write_manifest"]

#: The manifest's file name: it marks a folder as an output of crisis_survey.
MANIFEST_NAME = "manifest.json"

#: Distributions whose versions every manifest records.
PACKAGES: tuple[str, ...] = (
    "crisis_survey", "numpy", "numba", "pandas", "scipy", "statsmodels", "pingouin",
    "matplotlib", "great_tables", "python-docx", "openpyxl", "pyarrow", "pyreadstat",
)


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def build_manifest(
    *,
    inputs: Mapping[str, str | Path],
    options: Mapping[str, Any],
    codebook: Mapping[str, Any],
    outputs: Iterable[str | Path] = (),
    synthetic: bool = False,
    root: str | Path | None = None,
) -> dict[str, Any]:
    """Assemble the manifest as plain data.

    Parameters
    ----------
    inputs
        Role -> path of every input file (``{"wave1": ..., "wave2": ..., "codebook": ...}``).
    options
        Every option of the run (the analysis plan's ``to_dict()`` and command-line flags).
    codebook
        The codebook's name, version and source.
    outputs
        Files the run wrote (their SHA-256 is recorded; the manifest itself is excluded).
    synthetic
        Whether the inputs are the library's synthetic sample study.
    root
        The output folder: each output is keyed by its path relative to it
        (``tables/linkage.md``); without it, by its file name.
    """
    def key(p: str | Path) -> str:
        return Path(p).relative_to(root).as_posix() if root is not None else Path(p).name

    return {
        "manifest_version": 1,
        "synthetic_data": synthetic,
        "inputs": {
            role: {"file": Path(p).name, "sha256": file_sha256(p), "bytes": Path(p).stat().st_size}
            for role, p in sorted(inputs.items())
        },
        "codebook": dict(codebook),
        "options": dict(options),
        "software": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "packages": {name: _version(name) for name in PACKAGES},
        },
        "outputs": {key(p): file_sha256(p) for p in sorted(outputs, key=key)},
    }


def write_manifest(path: str | Path, manifest: Mapping[str, Any]) -> Path:
    """Write the manifest as sorted, indented JSON with a final newline."""
    p = Path(path)
    p.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n",
                 encoding="utf-8")
    return p


def folder_files(folder: str | Path) -> list[Path]:
    """Every file under ``folder`` but the manifest, in a fixed order (links not followed)."""
    root = Path(folder)
    found = []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        found += [Path(here) / f for f in sorted(files)]
    return [p for p in found if p != root / MANIFEST_NAME]


def write_folder_manifest(
    folder: str | Path,
    *,
    inputs: Mapping[str, str | Path],
    options: Mapping[str, Any],
    codebook: Mapping[str, Any],
    synthetic: bool = False,
) -> Path:
    """Write ``folder/manifest.json`` listing every file in ``folder`` with its SHA-256.

    The outputs are found by walking the folder just before the manifest is written, so a
    file written by any step of the run is listed, by its path relative to the folder.
    """
    root = Path(folder)
    manifest = build_manifest(inputs=inputs, options=options, codebook=codebook,
                              outputs=folder_files(root), synthetic=synthetic, root=root)
    return write_manifest(root / MANIFEST_NAME, manifest)
