"""The analysis plan: every option of a run, from a TOML file, so another evaluator re-runs
exactly the same analysis (private module; ``AnalysisPlan`` and ``load_plan`` are public).

A plan file looks like this (every key optional; the defaults are shown)::

    [analysis]
    items = []                 # empty: every comparable item of the codebook
    by = ["group"]             # grouping columns; results are separate per value
    designs = ["paired", "independent", "overlapping"]
    adjust = "holm"            # holm, hochberg, bh, by, bonferroni, none
    family = "group"           # the p-value adjustment family
    alpha = 0.05
    confidence = 0.95
    min_n = 5
    unreachable = "exclude"    # or "keep": cells that cannot reach p < alpha leave the family
    primary = "paired"         # the design the findings report (default: paired if run, else
                               # the first design); the others are sensitivity analyses

    [analysis.equivalence]     # smallest important change per verdict measure (TOST margin)
    rank_biserial = 0.2
    risk_difference = 0.10
    standardised_mean_difference = 0.3
    overall_rating = { rank_biserial = 0.15 }   # per item, per measure

    [analysis.tests]           # override the test chosen from an item's measurement level
    overall_rating = "wilcoxon_signed_rank"

    [analysis.test_options.mcnemar]   # a test's options (crisis_survey.stats.TESTS)
    correction = true          # e.g. R's mcnemar.test default

    [disclosure]
    threshold = 10             # counts below this are suppressed in published outputs
    allow_small_threshold = false  # true: a threshold below 5 is accepted (with a warning)

    [linkage]
    secret_env = ""            # environment variable holding the HMAC key, if any
    linkage = "exact"          # exact | reviewed | auto: which candidate pairs are linked
    min_score = 6.0            # auto: the score threshold (log2 odds)
    review_file = ""           # reviewed: the clerical-review CSV (relative to the plan)
    review_sha256 = ""         # reviewed: its SHA-256 (the run stops if the file differs)
    agreement = ["group", "area", "demographic"]   # codebook roles or field names
    key_components = []        # widths of a self-generated code's parts, e.g. [2, 2, 2, 2]

    [present]
    style = "apa"              # how tables print numbers: "apa" or "medical" (leading zeros)
    paper = "A4"               # or "letter": the Word report's page size
    language = "en-GB"         # the Word report's language (spelling, hyphenation)
    max_table_rows = 200       # longer tables: summarised in the report, all in XLSX/CSV
    figure_formats = ["svg", "png"]   # add "pdf" for print (TrueType fonts; slower)

    [weights]                  # attrition weights (docs/methods/attrition-weights.md)
    covariates = ["demographic"]   # codebook roles or fields the model of returning uses
    trim = 0.99                # weights above this quantile of the returners' are set to it
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import CrisisSurveyError

if TYPE_CHECKING:
    from .codebook import Codebook

__all__ = ["MAX_MIN_N", "MIN_THRESHOLD", "AnalysisPlan", "PlanError", "check_plan",
           "load_plan"]

_DESIGNS = ("paired", "independent", "overlapping")  # the default designs
#: The report's figure formats unless the plan asks for more: SVG for the HTML report, PNG
#: for the Word report (PDF, for print, is opt-in: its font subsetting costs about as much
#: as the other two formats together; docs/performance.md).
REPORT_FIGURE_FORMATS = ("svg", "png")
_ALL_DESIGNS = ("paired", "independent", "overlapping", "unlinked")
_ADJUST = ("holm", "hochberg", "bh", "by", "bonferroni", "none")
#: The smallest disclosure threshold a plan may set without ``allow_small_threshold``.
MIN_THRESHOLD = 5
#: Thresholds below this are accepted with a warning (10 is the library's default).
ADVISED_THRESHOLD = 10
#: The largest ``min_n`` (more observations than any survey has).
MAX_MIN_N = 1_000_000_000


def _whole(value: Any) -> bool:
    """A whole number, not a boolean (TOML's ``true`` is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_problems(*, designs: Iterable[str], items: Iterable[str], by: Iterable[str],
                    alpha: Any, confidence: Any, min_n: Any, threshold: Any,
                    allow_small_threshold: Any) -> list[str]:
    """The problems of the plan's values, one line each (shared by the TOML reader and the
    constructor, so ``AnalysisPlan(threshold=True)`` is refused as the file is)."""
    problems: list[str] = []
    for key, values in (("designs", list(designs)), ("items", list(items)), ("by", list(by))):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            problems.append(f"[analysis] {key} names {', '.join(map(repr, twice))} more than "
                            "once (expected each at most once)")
    problems += [f"[analysis] designs has {x!r} (expected one of {list(_ALL_DESIGNS)})"
                 for x in dict.fromkeys(designs) if x not in _ALL_DESIGNS]
    if not _number(alpha) or not 0 < alpha < 1:
        problems.append(f"[analysis] alpha must be a number between 0 and 1, got {alpha!r}")
    if not _number(confidence) or not 0 < confidence < 1:
        problems.append(
            f"[analysis] confidence must be a number between 0 and 1, got {confidence!r}")
    if not _whole(min_n) or not 1 <= min_n <= MAX_MIN_N:
        problems.append(f"[analysis] min_n must be a whole number from 1 to {MAX_MIN_N:,}, "
                        f"got {min_n!r}")
    if not isinstance(allow_small_threshold, bool):
        problems.append("[disclosure] allow_small_threshold must be true or false, got "
                        f"{allow_small_threshold!r}")
        allow_small_threshold = False
    if not _whole(threshold) or threshold < 1:
        problems.append(
            f"[disclosure] threshold must be a positive whole number, got {threshold!r}"
        )
    elif threshold < MIN_THRESHOLD and not allow_small_threshold:
        problems.append(
            f"[disclosure] threshold {threshold} would publish counts from {threshold} "
            f"upwards; it must be at least {MIN_THRESHOLD} (set allow_small_threshold = true "
            "to accept a smaller one)"
        )
    return problems


def _verdict_problems(primary: Any, designs: Iterable[str], equivalence: Any) -> list[str]:
    """Problems of ``primary`` and ``[analysis.equivalence]`` (item names are checked
    against the codebook by :func:`check_plan`)."""
    problems: list[str] = []
    designs = list(designs)
    if not isinstance(primary, str) or (primary and primary not in designs):
        problems.append(f"[analysis] primary is {primary!r} (expected one of the designs "
                        f"run: {designs})")
    if not isinstance(equivalence, Mapping):
        return [*problems, "[analysis.equivalence] must map measures or items to margins"]

    def margin(key: str, v: Any) -> None:
        if not _number(v) or not 0 < v < 1:
            problems.append(f"[analysis.equivalence] {key} = {v!r} (expected a number "
                            "between 0 and 1)")

    if equivalence:  # crisis_survey.compare imports scipy.stats (a default plan needs none)
        from .compare._verdicts import MEASURES
    for key, v in equivalence.items():
        if key in MEASURES:
            margin(str(key), v)
        elif isinstance(v, Mapping):
            for m, mv in v.items():
                if m not in MEASURES:
                    problems.append(f"[analysis.equivalence] {key}.{m} is not a measure "
                                    f"(expected one of {list(MEASURES)})")
                else:
                    margin(f"{key}.{m}", mv)
        else:
            problems.append(f"[analysis.equivalence] {key} = {v!r} (expected a margin for a "
                            f"measure {list(MEASURES)} or a table of them for an item)")
    return problems


def _present_problems(style: Any) -> list[str]:
    """Problems of ``[present] style``."""
    from .present._style import TABLE_STYLES

    problems: list[str] = []
    if not isinstance(style, str) or style not in TABLE_STYLES:
        problems.append(f"[present] style is {style!r} (expected one of "
                        f"{sorted(TABLE_STYLES)})")
    return problems


def _report_problems(paper: Any, language: Any, max_table_rows: Any,
                     figure_formats: Any = REPORT_FIGURE_FORMATS) -> list[str]:
    """Problems with the ``[present]`` section's values."""
    from .present._word import check_page_setup

    problems = check_page_setup(paper, language)
    if not _whole(max_table_rows) or max_table_rows < 1:
        problems.append(f"[present] max_table_rows must be a positive whole number, got "
                        f"{max_table_rows!r}")
    known = ("svg", "pdf", "png")  # crisis_survey.present.FIGURE_FORMATS
    if (isinstance(figure_formats, str) or not isinstance(figure_formats, (list, tuple))
            or any(f not in known for f in figure_formats)
            or not {"svg", "png"} <= set(figure_formats)):
        problems.append(f"[present] figure_formats is {figure_formats!r} (expected a list of "
                        f"{list(known)} holding \"svg\" (the HTML report) and \"png\" (the "
                        "Word report))")
    return problems


def _raise(problems: list[str], source: str) -> None:
    if problems:
        where = f" in {source}" if source else ""
        raise PlanError(
            f"The analysis plan{where} is not valid ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n" + "\n".join(f"  - {p}" for p in problems)
        )


class PlanError(CrisisSurveyError):
    """The analysis plan file is malformed; the message lists every problem.

    Examples
    --------
    >>> try:
    ...     AnalysisPlan.from_mapping({"analysis": {"alpha": 5}})
    ... except PlanError as error:
    ...     print(error)
    The analysis plan is not valid (1 problem):
      - [analysis] alpha must be a number between 0 and 1, got 5
    """


@dataclass(frozen=True)
class AnalysisPlan:
    """Every option of an analysis run. Written into the report's manifest.

    Usually read from a TOML file with :func:`load_plan`; the file format, with every key
    and its default, is in ``docs/reproducibility.md``.

    Parameters
    ----------
    items
        Codebook item names to compare; empty for every item asked in both waves.
    by
        Grouping columns; results are separate for each value.
    designs
        Any of ``"paired"``, ``"independent"``, ``"overlapping"``, ``"unlinked"``.
    tests
        Item name -> test name, overriding the test chosen from the measurement level.
    test_options
        Test name -> its options (``compare_waves(test_options=)``; the options and their
        defaults are in :data:`crisis_survey.stats.TESTS`).
    adjust
        p-value adjustment: ``"holm"``, ``"hochberg"``, ``"bh"``, ``"by"``, ``"bonferroni"``
        or ``"none"``.
    family
        The family within which p-values are adjusted.
    alpha, confidence
        Significance level of the report's summary; confidence level of every interval.
    min_n
        Fewest observations for which a test is run.
    unreachable
        ``"exclude"`` (default): paired cells whose smallest attainable p-value is at least
        ``alpha`` are left out of their p-value family (with the reason in the note);
        ``"keep"``: every tested cell enters its family (``compare_waves(unreachable=)``).
    primary
        The design whose verdicts the findings report (empty, the default: ``"paired"`` if
        it is run, else the first of ``designs``); the other designs are reported as
        sensitivity analyses.
    equivalence
        The smallest important change (equivalence margin of the TOST) per verdict measure
        (``rank_biserial``, ``risk_difference``, ``standardised_mean_difference``) and per
        item (``{"overall_rating": {"rank_biserial": 0.15}}``); defaults 0.2, 0.10 and 0.3
        (``docs/methods/verdicts.md``).
    threshold
        Disclosure control: counts below this are withheld from every output. A whole
        number, at least 5 (:data:`MIN_THRESHOLD`) unless ``allow_small_threshold``; below
        10 the plan is accepted with a warning.
    allow_small_threshold
        Accept a threshold below 5 (it publishes counts that small; a warning says so).
    secret_env
        Name of the environment variable holding the pseudonymisation key (never the key).
    linkage, min_score, review_file, review_sha256, agreement, key_components
        Tolerant linkage (``docs/linkage.md``): the policy for candidate pairs
        (``"exact"``, ``"reviewed"``, ``"auto"``), the auto policy's score threshold, the
        clerical-review file and its SHA-256 (both required by ``"reviewed"``), the fields
        compared on candidates (codebook roles or field names) and the component widths of
        a structured self-generated code. See :func:`~crisis_survey.link.link_waves`.
    style
        How tables print numbers: ``"apa"`` (APA 7: ``.05``, ``[low, high]``) or
        ``"medical"`` (leading zeros, ``(low to high)``);
        :data:`~crisis_survey.present._style.TABLE_STYLES`.
    paper, language
        The Word report's page size (``"A4"`` or ``"letter"``) and language tag
        (``"en-GB"``, ``"en-US"``...).
    max_table_rows
        Tables with more rows are shown in the HTML and Word reports summarised (a
        comparison table by area: per item, the areas' published verdicts and the largest
        changes) or by their first ``max_table_rows`` rows, with a note pointing to the
        full table in ``tables/`` (Excel, CSV, Markdown, LaTeX); a positive whole number.
    figure_formats
        The formats each figure of the report is saved in: ``"svg"`` (inlined in the HTML
        report) and ``"png"`` (300 dpi, in the Word report) always, ``"pdf"`` (subset
        TrueType fonts, for print) when asked for: it takes about as long as the other two
        together.
    weight_covariates, weight_trim
        Attrition weights (``[weights] covariates``, ``trim``): the codebook roles or field
        names of the wave-1 answers and demographics the model of returning uses, and the
        quantile at which the returners' weights are trimmed (from 0.5 to 1; 1: none). See
        ``docs/methods/attrition-weights.md``.
    source
        The plan file's name (set by :func:`load_plan`).

    Examples
    --------
    >>> plan = AnalysisPlan()
    >>> plan.adjust, plan.threshold
    ('holm', 10)
    >>> AnalysisPlan.from_mapping({"analysis": {"alpha": 0.01}}).alpha
    0.01
    """

    items: tuple[str, ...] = ()
    by: tuple[str, ...] = ("group",)
    designs: tuple[str, ...] = _DESIGNS
    tests: Mapping[str, str] = field(default_factory=dict)
    test_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    adjust: str = "holm"
    family: str = "group"
    alpha: float = 0.05
    confidence: float = 0.95
    min_n: int = 5
    unreachable: str = "exclude"
    primary: str = ""
    equivalence: Mapping[str, Any] = field(default_factory=dict)
    threshold: int = 10
    allow_small_threshold: bool = False
    secret_env: str = ""
    linkage: str = "exact"
    min_score: float = 6.0
    review_file: str = ""
    review_sha256: str = ""
    agreement: tuple[str, ...] = ("group", "area", "demographic")
    key_components: tuple[int, ...] = ()
    style: str = "apa"
    paper: str = "A4"
    language: str = "en-GB"
    max_table_rows: int = 200
    figure_formats: tuple[str, ...] = REPORT_FIGURE_FORMATS
    weight_covariates: tuple[str, ...] = ("demographic",)
    weight_trim: float = 0.99
    source: str = ""

    def linkage_options(self, folder: str | Path = ".") -> dict[str, Any]:
        """Keyword arguments of :func:`~crisis_survey.link.link_waves` for this plan
        (``review_file`` is read relative to ``folder``, the plan file's folder)."""
        review = Path(folder) / self.review_file if self.review_file else None
        return {"linkage": self.linkage, "min_score": self.min_score, "review": review,
                "review_sha256": self.review_sha256 or None,
                "agreement": self.agreement, "key_components": self.key_components}

    def __post_init__(self) -> None:
        _raise(_value_problems(
            designs=self.designs, items=self.items, by=self.by, alpha=self.alpha,
            confidence=self.confidence, min_n=self.min_n, threshold=self.threshold,
            allow_small_threshold=self.allow_small_threshold)
            + _verdict_problems(self.primary, self.designs, self.equivalence)
            + _present_problems(self.style)
            + _report_problems(self.paper, self.language, self.max_table_rows,
                               self.figure_formats), self.source)
        if self.threshold < ADVISED_THRESHOLD:
            where = f" in {self.source}" if self.source else ""
            warnings.warn(
                f"the analysis plan{where} sets the disclosure threshold to "
                f"{self.threshold}: counts from {self.threshold} upwards are published "
                f"(the default is {ADVISED_THRESHOLD})", UserWarning, stacklevel=3)

    def check(self, codebook: Codebook) -> None:
        """Refuse a plan that would publish an identifier, link key, free text or a date.

        Raises :class:`PlanError` when ``by``, ``items`` or ``tests`` names such a field
        (:attr:`~crisis_survey.codebook.Field.private`); called before any data are read.

        Examples
        --------
        >>> from crisis_survey import default_codebook
        >>> AnalysisPlan(by=("respondent_id",)).check(default_codebook())
        Traceback (most recent call last):
        ...
        crisis_survey._plan.PlanError: The analysis plan is not valid (1 problem):
          - [analysis] by: 'respondent_id' is a respondent identifier, which is never published
        """
        problems = [f"[analysis] {key}: {p}" for key, names in (
            ("by", self.by), ("items", self.items), ("tests", tuple(self.tests)))
            for p in codebook.private_fields(names)]
        _raise(problems, self.source)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (lists, dicts), as written to the manifest."""
        out = asdict(self)
        out["tests"] = dict(sorted(self.tests.items()))
        out["equivalence"] = {k: dict(v) if isinstance(v, Mapping) else v
                              for k, v in sorted(self.equivalence.items())}
        out["test_options"] = {k: dict(sorted(v.items()))
                               for k, v in sorted(self.test_options.items())}
        for key in ("items", "by", "designs", "agreement", "key_components",
                    "weight_covariates", "figure_formats"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any], source: str = "") -> AnalysisPlan:
        """Build a plan from parsed TOML; raise :class:`PlanError` listing every problem."""
        problems: list[str] = []
        known = {"analysis", "disclosure", "linkage", "present", "weights"}
        problems += [f"unknown section [{k}] (expected one of {sorted(known)})"
                     for k in spec if k not in known]
        a = dict(spec.get("analysis", {}))
        d = dict(spec.get("disclosure", {}))
        k = dict(spec.get("linkage", {}))
        pr = dict(spec.get("present", {}))
        problems += [f"[present] has unknown key {x!r}" for x in pr
                     if x not in ("style", "paper", "language", "max_table_rows",
                                  "figure_formats")]
        paper = pr.get("paper", "A4")
        language = pr.get("language", "en-GB")
        max_rows = pr.get("max_table_rows", 200)
        figure_formats = pr.get("figure_formats", list(REPORT_FIGURE_FORMATS))
        problems += _report_problems(paper, language, max_rows, figure_formats)
        wt = dict(spec.get("weights", {}))
        problems += [f"[weights] has unknown key {x!r}" for x in wt
                     if x not in ("covariates", "trim")]
        covariates = wt.get("covariates", ["demographic"])
        if isinstance(covariates, str):
            covariates = [covariates]
        if not isinstance(covariates, list) or not covariates or not all(
                isinstance(v, str) for v in covariates):
            problems.append("[weights] covariates must be a non-empty list of codebook roles "
                            f"or field names, got {covariates!r}")
            covariates = ["demographic"]
        trim = wt.get("trim", 0.99)
        if not _number(trim) or not 0.5 <= trim <= 1:
            problems.append(f"[weights] trim must be a quantile from 0.5 to 1, got {trim!r}")
            trim = 0.99
        allowed = {"items", "by", "designs", "tests", "test_options", "adjust", "family",
                   "alpha", "confidence", "min_n", "unreachable", "primary", "equivalence"}
        problems += [f"[analysis] has unknown key {x!r}" for x in a if x not in allowed]
        problems += [f"[disclosure] has unknown key {x!r}" for x in d
                     if x not in ("threshold", "allow_small_threshold")]
        link_keys = {"secret_env", "linkage", "min_score", "review_file", "review_sha256",
                     "agreement", "key_components"}
        problems += [f"[linkage] has unknown key {x!r}" for x in k if x not in link_keys]
        policy = k.get("linkage", "exact")
        if policy not in ("exact", "reviewed", "auto"):
            problems.append(f"[linkage] linkage is {policy!r} (expected one of "
                            "['exact', 'reviewed', 'auto'])")
            policy = "exact"
        min_score = k.get("min_score", 6.0)
        if isinstance(min_score, bool) or not isinstance(min_score, int | float):
            problems.append(f"[linkage] min_score must be a number, got {min_score!r}")
            min_score = 6.0
        review_file = k.get("review_file", "")
        review_sha = k.get("review_sha256", "")
        if not isinstance(review_file, str):
            problems.append(f"[linkage] review_file must be a file name, got {review_file!r}")
            review_file = ""
        if not isinstance(review_sha, str) or (
                review_sha and (len(review_sha) != 64
                                or any(c not in "0123456789abcdef" for c in review_sha.lower()))):
            problems.append("[linkage] review_sha256 must be the file's SHA-256 (64 "
                            f"hexadecimal digits), got {review_sha!r}")
            review_sha = ""
        if policy == "reviewed" and not (review_file and review_sha):
            problems.append("[linkage] linkage = 'reviewed' needs review_file and "
                            "review_sha256 (so a re-analysis links exactly the same people)")
        agreement = k.get("agreement", ["group", "area", "demographic"])
        if isinstance(agreement, str):
            agreement = [agreement]
        if not isinstance(agreement, list) or not all(isinstance(v, str) for v in agreement):
            problems.append(f"[linkage] agreement must be a list of roles or field names, "
                            f"got {agreement!r}")
            agreement = ["group", "area", "demographic"]
        components = k.get("key_components", [])
        if not isinstance(components, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in components):
            problems.append("[linkage] key_components must be a list of positive whole "
                            f"numbers, got {components!r}")
            components = []

        def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = a.get(key, list(default))
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"[analysis] {key} must be a list of strings, got {value!r}")
                return default
            return tuple(value)

        def text(section: dict[str, Any], name: str, key: str, default: str) -> str:
            value = section.get(key, default)
            if not isinstance(value, str):
                problems.append(f"[{name}] {key} must be a string, got {value!r}")
                return default
            return value

        items, by, designs = strings("items", ()), strings("by", ("group",)), \
            strings("designs", _DESIGNS)
        adjust = text(a, "analysis", "adjust", "holm")
        if adjust not in _ADJUST:
            problems.append(f"[analysis] adjust is {adjust!r} (expected one of {list(_ADJUST)})")
        family = text(a, "analysis", "family", "group")
        secret_env = text(k, "linkage", "secret_env", "")
        alpha, confidence = a.get("alpha", 0.05), a.get("confidence", 0.95)
        min_n, threshold = a.get("min_n", 5), d.get("threshold", 10)
        allow_small = d.get("allow_small_threshold", False)
        problems += _value_problems(designs=designs, items=items, by=by, alpha=alpha,
                                    confidence=confidence, min_n=min_n, threshold=threshold,
                                    allow_small_threshold=allow_small)
        style = pr.get("style", "apa")
        problems += _present_problems(style)
        unreachable = a.get("unreachable", "exclude")
        if unreachable not in ("exclude", "keep"):
            problems.append(
                f"[analysis] unreachable is {unreachable!r} (expected 'exclude' or 'keep')")
            unreachable = "exclude"
        primary = a.get("primary", "")
        equivalence = a.get("equivalence", {})
        problems += _verdict_problems(primary, designs, equivalence)
        if problems:
            primary, equivalence = "", {}
        tests = a.get("tests", {})
        if not isinstance(tests, Mapping) or not all(
            isinstance(v, str) for v in tests.values()
        ):
            problems.append("[analysis.tests] must map item names to test names")
            tests = {}
        test_options = a.get("test_options", {})
        if not isinstance(test_options, Mapping) or not all(
            isinstance(v, Mapping) for v in test_options.values()
        ):
            problems.append("[analysis.test_options] must map test names to tables of options")
            test_options = {}
        else:
            from .stats._registry import check_options

            for name, given in test_options.items():
                try:
                    check_options(str(name), given)
                except CrisisSurveyError as exc:
                    problems += [f"[analysis.test_options] {line.strip(' -')}"
                                 for line in str(exc).splitlines()[1:] or [str(exc)]]
        _raise(problems, source)
        return cls(
            items=items,
            by=by,
            designs=designs,
            tests=dict(tests),
            test_options={str(k): dict(v) for k, v in test_options.items()},
            adjust=adjust,
            family=family,
            alpha=float(alpha),
            confidence=float(confidence),
            min_n=int(min_n),
            unreachable=str(unreachable),
            primary=str(primary),
            equivalence={str(k): dict(v) if isinstance(v, Mapping) else v
                         for k, v in equivalence.items()},
            threshold=int(threshold),
            allow_small_threshold=bool(allow_small),
            secret_env=secret_env,
            linkage=str(policy),
            min_score=float(min_score),
            review_file=review_file,
            review_sha256=review_sha.lower(),
            agreement=tuple(agreement),
            key_components=tuple(int(v) for v in components),
            style=str(style),
            paper=str(paper),
            language=str(language),
            max_table_rows=int(max_rows),
            figure_formats=tuple(figure_formats),
            weight_covariates=tuple(covariates),
            weight_trim=float(trim),
            source=source,
        )


def load_plan(path: str | Path) -> AnalysisPlan:
    """Read an analysis plan from a TOML file.

    Parameters
    ----------
    path
        The plan file (format: ``docs/reproducibility.md``).

    Returns
    -------
    AnalysisPlan

    Raises
    ------
    PlanError
        If the file cannot be read or parsed, or names unknown sections, keys or values.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "plan.toml"
    ...     _ = path.write_text('[analysis]\\nitems = ["overall_rating"]\\nadjust = "bh"\\n')
    ...     plan = load_plan(path)
    >>> plan.items, plan.adjust, plan.designs
    (('overall_rating',), 'bh', ('paired', 'independent', 'overlapping'))
    """
    p = Path(path)
    try:
        spec = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"The analysis plan {p} was not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"The analysis plan {p} is not valid TOML: {exc}") from None
    return AnalysisPlan.from_mapping(spec, source=p.name)


def check_plan(plan: AnalysisPlan, codebook: Codebook) -> None:
    """Check a plan's items, ``by``, family and tests against the codebook, before any data
    are read; raise :class:`PlanError` listing every problem, with "did you mean" names.

    Examples
    --------
    >>> from crisis_survey.codebook import default_codebook
    >>> plan = AnalysisPlan(items=("overall_ratng",), by=("grup",))
    >>> try:
    ...     check_plan(plan, default_codebook())
    ... except PlanError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    The analysis plan does not fit codebook 'crisis_care_survey' (2 problems):
      - [analysis] items: 'overall_ratng' is not a field ... (did you mean 'overall_rating'?)
      - [analysis] by: 'grup' is neither a role nor a field (did you mean 'group'?)
    """
    from .codebook._frictionless import suggest as _suggest
    from .codebook._model import MEASUREMENTS, ROLES
    from .compare import FAMILIES

    problems: list[str] = []
    names = list(codebook.names)
    items = [f.name for f in codebook.items()]
    for name in plan.items:
        if name not in codebook:
            problems.append(f"[analysis] items: {name!r} is not a field of the codebook"
                            + _suggest(name, names))
            continue
        f = codebook[name]
        if f.role != "item":
            problems.append(f"[analysis] items: {name!r} is a {f.role} field, not a survey "
                            "item" + _suggest(name, items))
        elif f.measurement in (None, "text"):
            problems.append(f"[analysis] items: {name!r} is free text and is never compared")
        elif not (1 in f.waves and 2 in f.waves):
            problems.append(f"[analysis] items: {name!r} was asked only in wave(s) "
                            f"{list(f.waves)}; only items asked in both waves are compared")
    roles = [r for r in ROLES if any(f.role == r for f in codebook.fields)]
    for b in plan.by:
        if b not in roles and b not in codebook:
            problems.append(f"[analysis] by: {b!r} is neither a role nor a field"
                            + _suggest(b, [*roles, *names]))
    if plan.family not in FAMILIES:
        problems.append(f"[analysis] family is {plan.family!r} (expected one of "
                        f"{list(FAMILIES)})" + _suggest(plan.family, list(FAMILIES)))
    from .compare._verdicts import MEASURES

    for key in plan.equivalence:
        if key not in MEASURES and key not in items:
            problems.append(f"[analysis.equivalence] {key!r} is neither a measure nor an item"
                            + _suggest(key, [*MEASURES, *items]))
    for key in plan.tests:
        if key not in codebook and key not in MEASUREMENTS:
            problems.append(f"[analysis.tests] {key!r} is neither an item nor a measurement "
                            "level" + _suggest(key, [*items, *MEASUREMENTS]))
    from .compare._weights import resolve_covariates

    try:
        resolve_covariates(codebook, plan.weight_covariates, required=False)
    except CrisisSurveyError as exc:
        problems += [f"[weights] covariates: {line.strip(' -')}"
                     for line in str(exc).splitlines()[1:] or [str(exc)]]
    if problems:
        where = f" {plan.source}" if plan.source else ""
        raise PlanError(
            f"The analysis plan{where} does not fit codebook {codebook.name!r} "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n"
            + "\n".join(f"  - {p}" for p in problems))
