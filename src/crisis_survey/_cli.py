"""The ``crisis-survey`` command line: validate, link, report, demo, generate.

Every subcommand is a thin layer over the library. Errors the library raises on purpose
(:class:`~crisis_survey.CrisisSurveyError`) and file-system errors are printed as one message
on stderr with exit code 2, never as a traceback; anything else is a bug, reported in one
line with exit code 3 (``CRISIS_SURVEY_TRACEBACK=1`` shows the traceback). ``validate``
exits 0 when the file is valid and 1 when it has problems. Files written by ``link``,
``report`` and ``demo`` hold counts only, with small counts withheld (disclosure control by
:mod:`crisis_survey.present`); never an identifier, link key or comment.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from ._errors import (
    CrisisSurveyError,
    DataValidationError,
    _counts_by_kind,
    _problem_line,
)
from .present import SYNTHETIC_BANNER, Release, publish, write_outputs

if TYPE_CHECKING:
    from .codebook import Codebook
    from .load import SurveyWave

__all__ = ["build_parser", "main"]

PROG = "crisis-survey"
#: Exit codes: valid / the file has problems / a clear error / a bug in crisis_survey.
OK, PROBLEMS, ERROR, BUG = 0, 1, 2, 3
#: Set this environment variable to see the traceback of an unexpected error.
TRACEBACK_ENV = "CRISIS_SURVEY_TRACEBACK"


# -- shared helpers -------------------------------------------------------------------------
@contextmanager
def _warnings_to(stream: TextIO) -> Iterator[None]:
    """Show the library's warnings as one plain line each (no source line, no traceback)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        print(f"warning: {w.message}", file=stream)


def _codebook(path: str | None) -> Codebook:
    from .codebook import default_codebook, load_codebook

    return load_codebook(path) if path else default_codebook()


def _secret(var: str | None) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise CrisisSurveyError(
            f"--secret-env {var}: the environment variable {var} is not set or empty; "
            "set it to the linkage secret (the secret is never read from the command line)"
        )
    return value


def _out_folder(args: argparse.Namespace, *, release: bool = True) -> Path:
    """The ``--out`` folder, checked before any work is done (it is made when written).

    A release's folder must be absent, empty or an earlier output of crisis_survey
    (:func:`~crisis_survey.present._safe.check_out_folder`)."""
    name = str(args.out)
    if not name.strip():
        raise CrisisSurveyError("--out: no folder name given")
    folder = Path(name)
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            raise CrisisSurveyError(f"--out {name}: {part} is a file (expected a folder, "
                                    "or a path where one can be made)")
    if release:
        from .present._safe import check_out_folder

        check_out_folder(folder)
    return folder


# -- subcommands ----------------------------------------------------------------------------
def _file_options(args: argparse.Namespace, wave: int) -> dict[str, Any]:
    """load_wave's per-file options from ``--sheet`` (validate) or ``--sheet1``/``--sheet2``
    (link, report) and ``--absent-columns``."""
    sheet = getattr(args, "sheet", None) or getattr(args, f"sheet{wave}", None)
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    return {"sheet": sheet, "absent_columns": getattr(args, "absent_columns", "raise")}


def _load(path: str, cb: Codebook, wave: int, mapping: str | None, quarantine: bool,
          err: TextIO, **options: Any) -> SurveyWave:
    from .load import load_wave

    if not path.strip():
        raise CrisisSurveyError(f"no file name given (expected the wave-{wave} survey file)")
    if Path(path).is_dir():
        raise CrisisSurveyError(f"{path} is a folder (expected the wave-{wave} survey file)")
    if not Path(path).is_file():
        raise CrisisSurveyError(f"{path}: no such file (expected the wave-{wave} survey file)")

    with _warnings_to(err):
        return load_wave(Path(path), cb, wave=wave, mapping=mapping,
                         on_error="quarantine" if quarantine else "raise", **options)


def _accounting_line(w: SurveyWave) -> str:
    return (f"Wave {w.wave}, {w.source}: {w.rows_read} rows read, {w.rows_kept} kept, "
            f"{w.rows_excluded} excluded.")


#: Problems listed one by one by ``validate``; beyond this, a summary by column and kind.
SHOWN_PROBLEMS = 20


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _problem_report(problems: pd.DataFrame, headline: str, *, saved: Path | None) -> str:
    """What ``validate`` prints about one file's problems.

    Up to :data:`SHOWN_PROBLEMS` problems are listed one by one. Beyond that, the counts
    by kind of problem and column come first (as in the message of a
    :class:`~crisis_survey.DataValidationError`), then the first problems, then where to
    find the rest.
    """
    lines = [f"{headline}: {_plural(len(problems), 'problem')} found."]
    if len(problems) > SHOWN_PROBLEMS:
        lines += _counts_by_kind(problems)
        bad_rows = int(problems["row"].dropna().nunique())
        lines.append(f"  {_plural(bad_rows, 'row')} affected. The first {SHOWN_PROBLEMS} "
                     "problems:")
    for rec in problems.head(SHOWN_PROBLEMS).to_dict("records"):
        lines.append(f"  - {_problem_line(rec, with_file=False)}")
    if saved is not None:
        lines.append(f"Every problem is listed in {saved}.")
    elif len(problems) > SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(problems) - SHOWN_PROBLEMS:,} more: add --problems "
                     "FILE.csv to write every problem to a CSV file.")
    return "\n".join(lines)


def _save_problems(problems: pd.DataFrame, path: str | None) -> Path | None:
    if path is None:
        return None
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    problems.to_csv(target, index=False, lineterminator="\n")
    return target


def _cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    cb = _codebook(args.codebook)
    _say_unreviewed(cb, err)
    name = Path(args.file).name
    try:
        # Quarantine mode always, so the accounting can be shown; without --quarantine any
        # problem makes the file invalid.
        wave = _load(args.file, cb, args.wave, args.mapping, True, err,
                     **_file_options(args, args.wave))
    except DataValidationError as exc:
        saved = _save_problems(exc.problems, args.problems)
        print(_problem_report(exc.problems, f"{name} cannot be loaded as wave {args.wave}",
                              saved=saved), file=out)
        return PROBLEMS
    print(_accounting_line(wave), file=out)
    problems = wave.problems
    saved = _save_problems(problems, args.problems)
    if problems.empty:
        print("No problems: every row matches the codebook.", file=out)
        return OK
    headline = f"{_plural(wave.rows_excluded, 'row')} would be excluded"
    print(_problem_report(problems, headline, saved=saved), file=out)
    if args.quarantine:
        print(f"With --quarantine these rows are left out; {wave.rows_kept:,} rows can be "
              "used.", file=out)
        return OK
    return PROBLEMS


def _cmd_link(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .link import link_waves

    folder = _out_folder(args)
    cb = _codebook(args.codebook)
    _say_unreviewed(cb, err)
    secret = _secret(args.secret_env)
    w1 = _load(args.wave1, cb, 1, args.mapping, args.quarantine, err, **_file_options(args, 1))
    w2 = _load(args.wave2, cb, 2, args.mapping, args.quarantine, err, **_file_options(args, 2))
    study = link_waves(w1, w2, secret=secret)
    written = write_outputs(study, folder, synthetic=cb.synthetic,
                            inputs=[Path(args.wave1), Path(args.wave2)])
    for w in (w1, w2):
        print(_accounting_line(w), file=out)
    print(f"Wrote {', '.join(p.name for p in written.files)} to {written.folder}", file=out)
    return OK


def run_sample_study(out: Path, *, stream: TextIO, err: TextIO, quiet: bool = False
                     ) -> Release:
    """Load, validate and link the shipped synthetic study and publish its release (``demo``)."""
    from ._resources import data_dir
    from .codebook import default_codebook
    from .codebook._frictionless import DEFAULT_CODEBOOK
    from .synthetic import sample_study_paths

    cb = default_codebook()
    p1, p2 = sample_study_paths("csv")
    print(SYNTHETIC_BANNER, file=stream)
    w1, w2, study = _load_and_link(str(p1), str(p2), cb, None, False, None, err, quiet)
    for w in (w1, w2):
        print(_accounting_line(w), file=stream)
    inputs = {"wave1": p1, "wave2": p2, "codebook": data_dir() / "schema" / DEFAULT_CODEBOOK}
    return publish(study, out, inputs=inputs, synthetic=True,
                   progress=_progress(err, quiet=quiet))


def _progress(err: TextIO, *, quiet: bool = False) -> Callable[[int, int, str], None]:
    """Print ``[step/total +elapsed s] message`` on ``err`` (nothing when ``quiet``)."""
    start = time.perf_counter()

    def progress(step: int, total: int, message: str) -> None:
        if not quiet:
            elapsed = time.perf_counter() - start
            print(f"[{step}/{total} +{elapsed:.1f} s] {message}", file=err, flush=True)

    return progress


def _say(err: TextIO, quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=err, flush=True)


def _load_and_link(wave1: str, wave2: str, cb: Codebook, mapping: str | None,
                   quarantine: bool, secret: str | None, err: TextIO, quiet: bool,
                   linkage: dict[str, Any] | None = None,
                   options: dict[int, dict[str, Any]] | None = None,
                   ) -> tuple[SurveyWave, SurveyWave, Any]:
    """Read and validate both waves and link them, saying so on ``err`` unless ``quiet``
    (``linkage``: the plan's tolerant-linkage options, ``AnalysisPlan.linkage_options``;
    ``options``: each wave's load_wave options, from ``_file_options``)."""
    from .link import link_waves

    start = time.perf_counter()
    waves = []
    for number, path in ((1, wave1), (2, wave2)):
        _say(err, quiet, f"reading and checking wave {number} ({Path(path).name})")
        waves.append(_load(path, cb, number, mapping, quarantine, err,
                           **(options or {}).get(number, {})))
    _say(err, quiet, f"linking the waves ({waves[0].rows_kept:,} and {waves[1].rows_kept:,} "
                     f"rows; +{time.perf_counter() - start:.1f} s)")
    study = link_waves(waves[0], waves[1], secret=secret, **(linkage or {}))
    _say(err, quiet, f"{len(study.pairs):,} respondents linked "
                     f"(+{time.perf_counter() - start:.1f} s)")
    return waves[0], waves[1], study


def _cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._plan import AnalysisPlan, check_plan, load_plan
    from ._resources import data_dir
    from .codebook._frictionless import DEFAULT_CODEBOOK

    folder = _out_folder(args)
    with _warnings_to(err):
        plan = load_plan(args.plan) if args.plan else AnalysisPlan()
    cb = _codebook(args.codebook)
    _say_unreviewed(cb, err)
    check_plan(plan, cb)  # before any data are read
    plan.check(cb)  # no identifier, free text or date as a by, item or test
    secret = _secret(args.secret_env or plan.secret_env or None)
    options = plan.linkage_options(Path(args.plan).parent if args.plan else Path.cwd())
    w1, w2, study = _load_and_link(args.wave1, args.wave2, cb, args.mapping, args.quarantine,
                                   secret, err, args.quiet, options,
                                   {w: _file_options(args, w) for w in (1, 2)})
    inputs: dict[str, Path] = {"wave1": Path(args.wave1), "wave2": Path(args.wave2),
                               "codebook": Path(args.codebook) if args.codebook
                               else data_dir() / "schema" / DEFAULT_CODEBOOK}
    if args.plan:
        inputs["plan"] = Path(args.plan)
    if options["review"] is not None:
        inputs["review"] = Path(options["review"])
    if args.mapping:
        inputs["mapping"] = Path(args.mapping)
    if cb.synthetic:
        print(SYNTHETIC_BANNER, file=out)
    for w in (w1, w2):
        print(_accounting_line(w), file=out)
    release = publish(study, folder, plan=plan, inputs=inputs, synthetic=cb.synthetic,
                      progress=_progress(err, quiet=args.quiet))
    print(str(release), file=out)
    return OK


def _say_unreviewed(cb: Codebook, err: TextIO) -> None:
    """A drafted codebook's unchecked guesses are named before anything is read."""
    if cb.unreviewed:
        print(f"Note: the codebook {cb.source or cb.name} still holds {cb.unreviewed} x-review "
              "note(s) from 'codebook draft': its guesses (roles, the order of scales, missing "
              "codes, which way is better) are not yet checked, so treat this output as "
              "provisional; check each note, then delete it.", file=err)


def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    folder = _out_folder(args)
    written = run_sample_study(folder, stream=out, err=err, quiet=args.quiet)
    print(f"Wrote {len(written.files)} files to {folder}", file=out)
    print("Open report.html there for the report (SYNTHETIC DATA).", file=out)
    return OK


_SIZE_ARGS = ("n_service_users", "n_carers", "return_rate", "n_new_wave2", "n_areas",
              "effect_service_users", "effect_carers", "seed")


def _cmd_generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .synthetic import generate_study, write_study

    folder = _out_folder(args, release=False)
    cb = _codebook(args.codebook)
    kwargs = {name: getattr(args, name) for name in _SIZE_ARGS}
    study = generate_study(codebook=cb, **kwargs)
    paths = write_study(study, folder, formats=args.formats, codebook=cb)
    print(str(study), file=out)
    print(f"Wrote {', '.join(p.name for p in paths)} to {args.out}", file=out)
    return OK


def _cmd_codebook_draft(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import json

    from .codebook import draft_codebook

    schema, mapping = draft_codebook(args.file, args.wave2, rename=bool(args.mapping))
    if args.mapping:
        Path(args.mapping).write_text(json.dumps(mapping, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    print(json.dumps(schema, indent=2, ensure_ascii=False), file=out)
    notes = sum(len(f.get("x-review", [])) for f in schema["fields"])
    names = " and ".join(Path(f).name for f in (args.file, args.wave2) if f)
    print(f"{len(schema['fields'])} fields drafted from {names}; {notes} "
          "guesses are marked x-review for you to check", file=err)
    return OK


# -- parser ---------------------------------------------------------------------------------
_CODEBOOK_HELP = "codebook JSON (default: built-in)"
_MAPPING_HELP = "column mapping, JSON or CSV (file column -> codebook field)"


def _add_study_arguments(p: argparse.ArgumentParser, *, quarantine: str) -> None:
    """The arguments of the commands that load and link both waves (link, report)."""
    p.add_argument("--wave1", required=True, metavar="FILE", help="wave-1 survey file")
    p.add_argument("--wave2", required=True, metavar="FILE", help="wave-2 survey file")
    p.add_argument("--codebook", metavar="FILE", help=_CODEBOOK_HELP)
    p.add_argument("--mapping", metavar="FILE", help=_MAPPING_HELP)
    p.add_argument("--secret-env", metavar="VAR",
                   help="name of the environment variable holding the secret used to "
                        "pseudonymise link keys (never pass the secret itself)")
    p.add_argument("--quarantine", action="store_true", help=quarantine)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    for w in (1, 2):
        p.add_argument(f"--sheet{w}", metavar="SHEET",
                       help=f"Excel only: the wave-{w} workbook's sheet (name or 0-based "
                            "number; default: the one sheet holding the survey columns)")
    _add_absent_argument(p)


_ABSENT_HELP = ("what a file lacking the column of a question its wave asked means: 'raise' "
                "(default: an error) or 'not_answered' (every answer to it missing)")


def _add_absent_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--absent-columns", choices=("raise", "not_answered"), default="raise",
                   help=_ABSENT_HELP)


_QUIET_HELP = ("no progress messages on stderr (by default every step prints what it is "
               "doing, with counts and the seconds since the start)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``crisis-survey`` (subcommands validate, link, demo, generate)."""
    from .synthetic import FORMATS, generate_study

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Two-wave survey statistics for the Crisis Care Concordat survey: "
                    "validate survey files, link the waves, run the synthetic demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a survey file against the codebook",
                       description="Check one survey file against the codebook; print the "
                                   "row accounting and every problem. Exit 0 if valid, 1 if "
                                   "not.")
    p.add_argument("file", metavar="FILE", help="survey file (.csv, .xlsx, .sav, .parquet)")
    p.add_argument("--wave", type=int, required=True, help="wave number (1 or 2)")
    p.add_argument("--codebook", metavar="FILE", help=_CODEBOOK_HELP)
    p.add_argument("--mapping", metavar="FILE", help=_MAPPING_HELP)
    p.add_argument("--quarantine", action="store_true",
                   help="rows with problems would be excluded rather than rejecting the "
                        "file: exit 0 unless the file itself is unusable")
    p.add_argument("--sheet", metavar="SHEET",
                   help="Excel only: the sheet to read (name or 0-based number; default: the "
                        "one sheet holding the survey columns)")
    _add_absent_argument(p)
    p.add_argument("--problems", metavar="FILE.csv",
                   help="write every problem to this CSV file (file, row, column, value, "
                        "problem, expected); it holds values from the survey file, for the "
                        "analyst only")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("link", help="link two waves; write linkage counts and attrition",
                       description="Link wave 1 and wave 2 on the link key and write the "
                                   "row accounting, linkage counts and attrition table as "
                                   "CSV (counts only; small counts withheld; no identifiers "
                                   "or keys).")
    _add_study_arguments(p, quarantine="leave out rows with problems instead of stopping")
    p.set_defaults(handler=_cmd_link)

    p = sub.add_parser("report", help="the whole analysis: tables, figures, HTML and Word "
                                      "reports, manifest",
                       description="Load and validate both waves, link them, compare the "
                                   "waves per respondent group and write every table and "
                                   "figure, report.html (self-contained), report.docx and "
                                   "manifest.json. Small counts are withheld; no identifier, "
                                   "link key or free text is written.")
    _add_study_arguments(p, quarantine="leave out rows with problems (listed in the outputs) "
                                       "instead of stopping")
    p.add_argument("--plan", metavar="FILE",
                   help="analysis plan (TOML): items, grouping, designs, tests, families, "
                        "alpha, disclosure threshold")
    p.add_argument("--quiet", action="store_true", help=_QUIET_HELP)
    p.set_defaults(handler=_cmd_report)

    p = sub.add_parser("demo", help="run the shipped SYNTHETIC sample study end to end",
                       description="Load, validate and link the synthetic sample study "
                                   "shipped with the library and write the full report.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quiet", action="store_true", help=_QUIET_HELP)
    p.set_defaults(handler=_cmd_demo)

    defaults = {k: v.default for k, v in inspect.signature(generate_study).parameters.items()}
    p = sub.add_parser("generate", help="simulate a SYNTHETIC two-wave study",
                       description="Simulate a synthetic two-wave study "
                                   "(crisis_survey.synthetic.generate_study) and write it.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--codebook", metavar="FILE", help=_CODEBOOK_HELP)
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["csv"],
                   help="file formats to write (default: csv)")
    for name in _SIZE_ARGS:
        kind = type(defaults[name])
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind,
                       default=defaults[name], help=f"default {defaults[name]}")
    p.set_defaults(handler=_cmd_generate)

    p = sub.add_parser("codebook", help="write a draft codebook from a survey file",
                       description="Codebook tools.")
    codebook_sub = p.add_subparsers(dest="codebook_command", required=True, metavar="ACTION")
    d = codebook_sub.add_parser(
        "draft", help="draft a codebook from an SPSS, Stata, CSV, Excel or Parquet file",
        description="Write a draft codebook (Table Schema JSON) to standard output from an "
                    "SPSS or Stata file's variable labels, value labels and user-missing "
                    "codes, or from a CSV, Excel or Parquet file's values (types and "
                    "categories guessed). Every guess is listed in the field's x-review "
                    "property: check it, then delete it. Example: crisis-survey codebook "
                    "draft wave1.sav wave2.sav > my.schema.json")
    d.add_argument("file", metavar="FILE",
                   help="survey file (.sav, .zsav, .dta, .csv, .xlsx or .parquet)")
    d.add_argument("wave2", metavar="WAVE2_FILE", nargs="?", default=None,
                   help="optionally the other wave's file: levels seen in either become "
                        "categories, and a question only one file answers is marked as "
                        "asked in that wave only")
    d.add_argument("--mapping", metavar="OUT.json",
                   help="name the fields from their variable labels and write the column "
                        "mapping (file column -> field) to this file")
    d.set_defaults(handler=_cmd_codebook_draft)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crisis-survey`` with ``argv`` (default: the process arguments); return the exit code.

    Examples
    --------
    >>> main(["validate", "--help"])  # doctest: +ELLIPSIS
    usage: crisis-survey validate ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else ERROR
    out, err = sys.stdout, sys.stderr
    try:
        handler: Callable[[argparse.Namespace, TextIO, TextIO], int] = args.handler
        return handler(args, out, err)
    except CrisisSurveyError as exc:
        print(f"{PROG} {args.command}: {exc}", file=err)
        return ERROR
    except OSError as exc:
        print(f"{PROG} {args.command}: {_os_message(exc)}", file=err)
        return ERROR
    except Exception as exc:  # a bug: say so in one line unless asked for the traceback
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"{PROG} {args.command}: unexpected error ({type(exc).__name__}: {exc}). "
              f"This is a bug in crisis_survey; please report it with the command you ran "
              f"(set {TRACEBACK_ENV}=1 to see the traceback).", file=err)
        return BUG


def _os_message(exc: OSError) -> str:
    """A file-system error in words: what went wrong with which path."""
    path = exc.filename
    if path is None:
        return str(exc.strerror or exc)
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder (expected a file)"
    if isinstance(exc, FileExistsError):
        return f"{path} is a file (expected a folder, or a path where one can be made)"
    if isinstance(exc, NotADirectoryError):
        return f"{path}: part of this path is a file, not a folder"
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file or folder"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: {exc.strerror or exc}"
