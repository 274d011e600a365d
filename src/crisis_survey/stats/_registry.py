"""Every test the library runs, defined once: designs, measurement levels, names and options.

A :class:`TestSpec` is the one record of a test that travels between steps: the comparison
engine checks a requested test and its options against it, the stats functions' defaults are
its defaults (``tests/test_registry.py`` checks every signature against it), and tables take
the test's short and long names from it. No step parses another step's strings.

Options have one default each, the same in :mod:`crisis_survey.stats` and in
:func:`~crisis_survey.compare.compare_waves` (which takes them as ``test_options``). How to
reproduce R's and SPSS's defaults with them is in ``docs/methods/reproducing-r-and-spss.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import CrisisSurveyError

__all__ = ["DESIGNS", "TESTS", "Option", "TestSpec", "check_options"]

#: The designs of a comparison: complete pairs; every answer of each wave as two independent
#: samples; pairs and unpaired answers together; only the respondents in one wave only.
DESIGNS: tuple[str, ...] = ("paired", "independent", "overlapping", "unlinked")


@dataclass(frozen=True)
class Option:
    """One option of a test: its name, default, allowed values and R's word for it."""

    name: str
    default: bool | str
    choices: tuple[bool | str, ...]
    r: str
    help: str


@dataclass(frozen=True)
class TestSpec:
    """A test: where it applies, what it is called, and its options.

    ``designs`` are the comparison designs it serves (an independent-samples test also serves
    the ``unlinked`` design); ``measurements`` the item levels it can analyse from counts or
    moments; ``abbreviation`` and ``label`` are what tables print; ``r_call`` is the R
    equivalent with the default options.

    Examples
    --------
    >>> from crisis_survey.stats import TESTS
    >>> spec = TESTS["wilcoxon_signed_rank"]
    >>> spec.abbreviation, spec.designs, spec.defaults["method"]
    ('Wilcoxon', ('paired',), 'auto')
    >>> [o.name for o in spec.options]
    ['method', 'correction', 'zero_method']
    """

    name: str
    label: str
    abbreviation: str
    designs: tuple[str, ...]
    measurements: tuple[str, ...]
    statistic: str
    options: tuple[Option, ...] = ()
    r_call: str = ""

    @property
    def defaults(self) -> dict[str, bool | str]:
        """Every option's default."""
        return {o.name: o.default for o in self.options}


_METHOD_RANK = Option(
    "method", "auto", ("auto", "exact", "asymptotic"), "exact = TRUE / FALSE",
    "exact conditional p-value, normal approximation, or auto: exact below 50 non-zero "
    "differences (signed-rank) / when both samples are below 50 (rank-sum)")
_CORRECT_RANK = Option(
    "correction", True, (True, False), "correct =",
    "continuity correction of the normal approximation")
_INCOMPLETE = Option(
    "incomplete_pairs", "unpaired", ("unpaired", "drop"), "Partover.test(stacked = TRUE)",
    "a linked respondent who answered in one wave only: that answer joins the wave's "
    "unpaired sample, or the pair is left out")

_SPECS: tuple[TestSpec, ...] = (
    TestSpec(
        "wilcoxon_signed_rank", "Wilcoxon signed-rank test (V)", "Wilcoxon", ("paired",),
        ("ordinal", "binary"), "V",
        (_METHOD_RANK, _CORRECT_RANK,
         Option("zero_method", "wilcox", ("wilcox", "pratt"), "coin: zero.method =",
                "zero differences dropped before ranking (wilcox, R's wilcox.test) or ranked "
                "and then dropped (pratt, coin's default)")),
        "wilcox.test(x, y, paired = TRUE)"),
    TestSpec(
        "mann_whitney", "Mann–Whitney U test (W)", "Mann–Whitney",
        ("independent", "unlinked"), ("ordinal", "binary"), "W",
        (_METHOD_RANK, _CORRECT_RANK), "wilcox.test(x, y)"),
    TestSpec(
        "mcnemar", "McNemar test", "McNemar", ("paired",), ("binary",), "X-squared",
        (Option("method", "asymptotic", ("asymptotic", "exact", "midp"), "binom.test for exact",
                "chi-squared on 1 df, the exact binomial test on the discordant pairs, or "
                "its mid-p version"),
         Option("correction", False, (True, False), "correct =",
                "continuity correction of the chi-squared statistic (R's default is TRUE; "
                "uncorrected keeps the test's size nearer the nominal level)")),
        "mcnemar.test(table(x, y), correct = FALSE)"),
    TestSpec(
        "marginal_homogeneity", "Stuart–Maxwell test of marginal homogeneity",
        "Stuart–Maxwell", ("paired",), ("ordinal", "binary", "nominal"), "X-squared",
        (Option("method", "stuart-maxwell", ("stuart-maxwell", "bhapkar"), "coin::mh_test",
                "Stuart-Maxwell (coin's mh_test) or Bhapkar's Wald statistic"),),
        "coin::mh_test(table(x, y))"),
    TestSpec(
        "paired_t", "paired t-test", "Paired t", ("paired",), ("numeric", "ordinal", "binary"),
        "t", (), "t.test(x, y, paired = TRUE)"),
    TestSpec(
        "chi_square", "Pearson chi-square test", "χ² test", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "X-squared",
        (Option("correction", False, (True, False), "correct =",
                "Yates's continuity correction of a 2 x 2 table (R's chisq.test default is "
                "TRUE; tables larger than 2 x 2 are never corrected)"),),
        "chisq.test(table(wave, answer), correct = FALSE)"),
    TestSpec(
        "fisher_exact", "Fisher's exact test", "Fisher", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "p", (), "fisher.test(table(wave, answer))"),
    TestSpec(
        "chi_square_or_fisher", "Pearson chi-square test, or Fisher's exact test when an "
        "expected count is below 5", "χ² / Fisher", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "X-squared",
        (Option("correction", False, (True, False), "correct =",
                "Yates's correction of the chi-square test of a 2 x 2 table"),),
        "chisq.test(table(wave, answer), correct = FALSE)"),
    TestSpec(
        "linear_trend", "linear-by-linear association test", "Trend",
        ("independent", "unlinked"), ("ordinal", "binary"), "M-squared", (),
        "coin::lbl_test(table(wave, answer))"),
    TestSpec(
        "welch_t", "Welch t-test", "Welch t", ("independent", "unlinked"),
        ("numeric", "ordinal", "binary"), "t", (), "t.test(x, y)"),
    TestSpec(
        "partially_overlapping_t", "partially overlapping samples t-test (Derrick et al., "
        "2017)", "PO t", ("overlapping",), ("numeric", "ordinal", "binary"), "t",
        (_INCOMPLETE,), "Partiallyoverlapping::Partover.test(x_only, y_only, x_paired, "
        "y_paired, stacked = TRUE)"),
    TestSpec(
        "partially_overlapping_z", "partially overlapping samples z-test for two proportions "
        "(Derrick et al., 2015)", "PO z", ("overlapping",), ("binary",), "z",
        (_INCOMPLETE,), "Partiallyoverlapping::Prop.test(...)"),
)

TESTS: dict[str, TestSpec] = {s.name: s for s in _SPECS}
"""Every test the library runs, by name: its designs, measurement levels, names and options
(with the one default that the stats functions and ``compare_waves`` share).

Examples
--------
>>> from crisis_survey.stats import TESTS
>>> TESTS["mcnemar"].defaults
{'method': 'asymptotic', 'correction': False}
>>> TESTS["mann_whitney"].designs
('independent', 'unlinked')
"""


def check_options(test: str, options: Mapping[str, Any] | None) -> dict[str, bool | str]:
    """Every option of ``test``: the defaults overridden by ``options``, each checked.

    Raises
    ------
    CrisisSurveyError
        An unknown test, an option the test does not have, or a value it does not allow
        (all problems in one message).

    Examples
    --------
    >>> check_options("mcnemar", {"correction": True})
    {'method': 'asymptotic', 'correction': True}
    """
    if test not in TESTS:
        raise CrisisSurveyError(f"{test!r} is not a known test; expected one of "
                                f"{', '.join(TESTS)}")
    spec = TESTS[test]
    out = spec.defaults
    problems: list[str] = []
    known = {o.name: o for o in spec.options}
    for key, value in (options or {}).items():
        if key not in known:
            problems.append(
                f"{test} has no option {key!r}; its options are "
                + (", ".join(known) if known else "none"))
        elif not any(value is c or (isinstance(c, str) and value == c)
                     for c in known[key].choices):
            problems.append(
                f"{test} option {key}={value!r}; expected one of "
                + ", ".join(repr(c) for c in known[key].choices))
        else:
            out[key] = value
    if problems:
        raise CrisisSurveyError("test options cannot be used:\n"
                                + "\n".join(f"  - {p}" for p in problems))
    return out
