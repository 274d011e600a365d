"""The report manifest (src/crisis_survey/present/_manifest.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crisis_survey.present._manifest import build_manifest, file_sha256, write_manifest


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    payload = b"respondent_id,wave\n" * 100_000  # > one 1 MiB chunk
    p.write_bytes(payload)
    assert file_sha256(p) == hashlib.sha256(payload).hexdigest()


def test_manifest_depends_only_on_contents_and_options(tmp_path: Path) -> None:
    a, b = tmp_path / "one", tmp_path / "two"
    a.mkdir()
    b.mkdir()
    for d in (a, b):
        (d / "w1.csv").write_text("x\n1\n")
        (d / "w2.csv").write_text("x\n2\n")
    opts = {"alpha": 0.05, "adjust": "holm"}
    cb = {"name": "cb", "version": "1"}
    m1 = build_manifest(inputs={"wave1": a / "w1.csv", "wave2": a / "w2.csv"},
                        options=opts, codebook=cb)
    m2 = build_manifest(inputs={"wave2": b / "w2.csv", "wave1": b / "w1.csv"},
                        options=opts, codebook=cb)
    assert m1 == m2  # directories and argument order do not matter
    w1 = write_manifest(tmp_path / "m1.json", m1).read_bytes()
    w2 = write_manifest(tmp_path / "m2.json", m2).read_bytes()
    assert w1 == w2
    doc = json.loads(w1)
    assert doc["inputs"]["wave1"]["sha256"] == hashlib.sha256(b"x\n1\n").hexdigest()
    assert doc["software"]["packages"]["numpy"] != "not installed"
    # numba compiles the counting kernels, so its version is part of what computed the report
    assert doc["software"]["packages"]["numba"] != "not installed"
    # a changed input changes the manifest
    (b / "w1.csv").write_text("x\n3\n")
    m3 = build_manifest(inputs={"wave1": b / "w1.csv", "wave2": b / "w2.csv"},
                        options=opts, codebook=cb)
    assert m3["inputs"]["wave1"]["sha256"] != m1["inputs"]["wave1"]["sha256"]
