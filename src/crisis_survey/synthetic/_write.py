"""Write a synthetic study to disk, every file named and labelled as synthetic (private)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import CrisisSurveyError
from ..codebook import Codebook, default_codebook
from ._generate import SyntheticStudy

__all__ = ["FORMATS", "NOTICE", "file_name", "study_call", "write_study"]

#: File formats :func:`write_study` can write, by file extension.
FORMATS: tuple[str, ...] = ("csv", "xlsx", "sav", "parquet")
#: The label every written file carries (file label, properties, metadata).
NOTICE = "SYNTHETIC DATA - simulated by crisis_survey; no real respondents"
#: Fixed document timestamp of the Excel files, so rewriting gives the same properties.
_FIXED_TIME = dt.datetime(2015, 1, 1, 0, 0, 0)
_EXCEL_MAX_ROWS = 1_048_575


def file_name(wave: int, fmt: str) -> str:
    """Name of a written wave file: ``synthetic_wave<N>.<format>``."""
    return f"synthetic_wave{wave}.{fmt}"


def study_call(params: Mapping[str, Any]) -> str:
    """The Python call that reproduces a study from its ``params``."""
    args = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "codebook")
    return f"generate_study({args})"


def _description(study: SyntheticStudy, wave: int) -> str:
    return (f"{NOTICE}. Wave {wave} of a simulated two-wave crisis-care survey, made by "
            f"crisis_survey.synthetic.{study_call(study.params)}.")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    # Fixed formatting, so the same study always gives the same bytes.
    frame.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d",
                 encoding="utf-8")


def _write_xlsx(frame: pd.DataFrame, path: Path, description: str) -> None:
    if len(frame) > _EXCEL_MAX_ROWS:
        raise CrisisSurveyError(
            f"cannot write {path.name}: {len(frame)} rows do not fit in an Excel sheet "
            f"(at most {_EXCEL_MAX_ROWS}); write CSV or Parquet instead"
        )
    with pd.ExcelWriter(path, engine="openpyxl", date_format="YYYY-MM-DD",
                        datetime_format="YYYY-MM-DD") as writer:
        frame.to_excel(writer, sheet_name="data", index=False)
        notes = pd.DataFrame({"README": [NOTICE, description,
                                         "The first sheet ('data') holds the responses."]})
        notes.to_excel(writer, sheet_name="README", index=False)
        props = writer.book.properties
        props.title = f"SYNTHETIC {path.stem}"
        props.subject = "Synthetic crisis-care survey (not real respondents)"
        props.description = description
        props.keywords = "synthetic"
        props.creator = "crisis_survey"
        props.lastModifiedBy = "crisis_survey"
        props.created = _FIXED_TIME
        props.modified = _FIXED_TIME


def _write_sav(frame: pd.DataFrame, path: Path, description: str, cb: Codebook) -> None:
    import pyreadstat

    out = frame.copy()
    value_labels: dict[str, dict[int | float, str]] = {}
    missing: dict[str, list[Any]] = {}
    formats: dict[str, str] = {}
    for name in out.columns:
        f = cb[str(name)] if str(name) in cb.names else None
        col = out[name]
        if isinstance(col.dtype, pd.Int64Dtype):
            out[name] = col.astype("float64")  # SPSS numeric: system-missing for blanks
            formats[str(name)] = "F8.0"
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = [None if pd.isna(d) else d.date() for d in col]
            formats[str(name)] = "SDATE10"
        if f is not None and f.type == "integer" and (f.levels or f.missing):
            labels: dict[int | float, str] = {}
            for lv in f.levels:
                labels[int(lv.code)] = lv.label
            for mc in f.missing:
                labels[int(mc.code)] = mc.label
            value_labels[f.name] = labels
            if f.missing:
                missing[f.name] = [int(mc.code) for mc in f.missing]
    labels_by_column = {str(c): (cb[str(c)].label if str(c) in cb else None)
                        for c in out.columns}
    pyreadstat.write_sav(
        out, str(path), file_label=f"SYNTHETIC {path.stem}"[:64],
        column_labels=labels_by_column, note=textwrap.wrap(description, 80),
        variable_value_labels=value_labels, missing_ranges=missing,
        variable_format=formats,
    )


def _write_parquet(frame: pd.DataFrame, path: Path, description: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name].dtype):
            out[name] = [None if pd.isna(d) else d.date() for d in out[name]]
    table = pa.Table.from_pandas(out, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"synthetic"] = b"true"
    meta[b"description"] = description.encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path)


def write_study(
    study: SyntheticStudy,
    directory: str | Path,
    *,
    formats: Iterable[str] = ("csv",),
    codebook: Codebook | None = None,
    readme: bool = True,
) -> tuple[Path, ...]:
    """Write both waves of a synthetic study, labelled as synthetic, in the given formats.

    Parameters
    ----------
    study
        The result of :func:`generate_study`.
    directory
        Folder to write into (created if needed). Existing files of the same names are
        replaced.
    formats
        Any of ``"csv"``, ``"xlsx"``, ``"sav"``, ``"parquet"``.
    codebook
        The codebook the study was generated with (for SPSS variable and value labels);
        ``None`` for the library's codebook.
    readme
        Also write ``README.md`` saying the files are synthetic and giving the exact call.

    Returns
    -------
    tuple of Path
        The files written: ``synthetic_wave1.<format>``, ``synthetic_wave2.<format>`` per
        format, then ``README.md``.

    Notes
    -----
    Every file says it is synthetic: its name contains ``synthetic``; Excel files carry
    document properties (title, subject, keywords) and a ``README`` sheet after the data
    sheet; SPSS files a file label and a document note; Parquet files key-value metadata
    ``synthetic=true`` and ``description``. CSV files are written with fixed formatting
    (UTF-8, ``\\n`` line ends, ISO dates, blanks for missing answers), so the same study always
    gives byte-identical CSV files. SPSS files declare the codebook's missing-value codes
    ("don't know", ...) as user-missing values.

    Examples
    --------
    >>> import tempfile
    >>> from crisis_survey.synthetic import generate_study
    >>> study = generate_study(n_service_users=40, n_carers=20, n_new_wave2=10, seed=3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_study(study, tmp, formats=["csv"])]
    ['synthetic_wave1.csv', 'synthetic_wave2.csv', 'README.md']
    """
    wanted = list(formats)
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise CrisisSurveyError(
            f"write_study: unknown format(s) {bad or wanted!r}; expected some of "
            f"{', '.join(FORMATS)}"
        )
    cb = codebook if codebook is not None else default_codebook()
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in FORMATS:
        if fmt not in wanted:
            continue
        for wave in (1, 2):
            frame = study.wave(wave)
            path = folder / file_name(wave, fmt)
            description = _description(study, wave)
            if fmt == "csv":
                _write_csv(frame, path)
            elif fmt == "xlsx":
                _write_xlsx(frame, path, description)
            elif fmt == "sav":
                _write_sav(frame, path, description, cb)
            else:
                _write_parquet(frame, path, description)
            written.append(path)
    if readme:
        path = folder / "README.md"
        text = readme_text(study, [p.name for p in written], [f for f in FORMATS if f in wanted])
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return tuple(written)


def readme_text(study: SyntheticStudy, files: Iterable[str], formats: Iterable[str]) -> str:
    """The README written next to synthetic files: what they are and how they were made."""
    listing = "\n".join(f"- `{name}`" for name in files)
    counts = (f"Wave 1 has {len(study.wave1)} rows and wave 2 has {len(study.wave2)} rows "
              "(one row per submitted questionnaire).")
    return f"""# SYNTHETIC DATA: simulated crisis-care survey

**These files are synthetic.** Every value was simulated by `crisis_survey`; none comes from a
real person. They imitate the export of the two-wave survey of the Mental Health Crisis Care
Concordat evaluation (wave 1 October-November 2014, wave 2 November-December 2015; wave-1
respondents invited back), coded as in the codebook
(`data/schema/crisis_care_survey.schema.json`).

{counts}

## How they were made

```python
from crisis_survey.synthetic import generate_study, write_study

study = {study_call(study.params)}
write_study(study, "data/sample", formats={list(formats)!r})
```

The simulation model (latent scale, effects, missingness, link-key typing, repeat
submissions) is described in `docs/sample-study.md`. The same call gives byte-identical CSV
files and the same content in the other formats (a test checks this).

## Files

{listing}

Each file says it is synthetic: its name; the Excel files' document properties and README
sheet; the SPSS files' file label and document note; the Parquet files' key-value metadata
(`synthetic = true`).
"""
