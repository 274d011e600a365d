"""Every test the library runs, defined once: designs, measurement levels, names and options,
its statistic and its effect measure.

A :class:`TestSpec` is the one record of a test that travels between steps: the comparison
engine checks a requested test and its options against it, the stats functions' defaults are
its defaults (``tests/test_registry.py`` checks every signature against it), and tables take
the test's short and long names from it. A :class:`StatisticSpec` (:data:`STATISTICS`) says
how a test statistic is printed (its symbol and format kind: integer rank sums, 2-decimal t,
z and chi-square) and whether its sign carries the direction; an :class:`EffectSpec`
(:data:`EFFECTS`) says what an effect measure is, how it is labelled and formatted, whether it
is signed or a ratio, and how its two-sided interval is found. ``statistic_name`` and
``effect_measure`` in every :class:`~crisis_survey.stats.TestResult` and comparison table are
keys of these two registries. No step parses another step's strings.

One direction: every signed statistic and effect reads wave 2 relative to wave 1 (``x`` or
``before`` is wave 1, ``y`` or ``after`` wave 2): positive differences, ``t``, ``z`` and
correlations, and ratios above 1, mean higher answers (more of the reported level) in wave 2.

Options have one default each, the same in :mod:`crisis_survey.stats` and in
:func:`~crisis_survey.compare.compare_waves` (which takes them as ``test_options``). How to
reproduce R's and SPSS's defaults with them is in ``docs/methods/reproducing-r-and-spss.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import CrisisSurveyError

__all__ = ["DESIGNS", "EFFECTS", "NET_CHANGE", "STATISTICS", "TESTS", "EffectSpec", "Option",
           "StatisticSpec", "TestSpec", "check_options", "effect_spec", "statistic_spec"]

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
class StatisticSpec:
    """A test statistic: the name a :class:`~crisis_survey.stats.TestResult` gives it, how it is
    printed, and whether its sign says the direction.

    ``kind`` is the format kind: ``"rank_sum"`` (a sum of ranks, printed as an integer, or
    with one decimal when midranks make it a half), ``"decimal"`` (``decimals`` places: t, z,
    chi-square), ``"count"`` (a number of pairs), ``"none"`` (no statistic is reported, e.g.
    Fisher's exact test, whose table shows only the p-value). ``signed`` is True when the sign
    reads the direction (positive = higher in wave 2); unsigned statistics (chi-square) do not
    say it, and their rows read the direction off the effect.

    Examples
    --------
    >>> from crisis_survey.stats import STATISTICS
    >>> STATISTICS["t"].symbol, STATISTICS["t"].signed, STATISTICS["V"].kind
    ('t', True, 'rank_sum')
    """

    name: str
    symbol: str
    label: str
    kind: str
    decimals: int = 2
    signed: bool = False
    direction: str = ""


@dataclass(frozen=True)
class EffectSpec:
    """An effect measure: what it measures, how it is labelled and formatted, and its interval.

    ``scale`` is ``"difference"`` (signed, no effect = 0), ``"ratio"`` (odds ratios: no effect
    = 1, shown on a log axis) or ``"magnitude"`` (unsigned, 0 to 1: Cramer's V, Cohen's w;
    nominal answers have no order, so these say how much, not which way). ``bounded`` means
    the value cannot exceed 1 in absolute value (APA style prints no leading zero).
    ``symbol`` is the short name printed beside the value (``r``, ``d``, ``RD``, ``OR``,
    ``V``); ``label`` the human name for notes and axes; ``interval`` how the two-sided
    confidence interval is found; ``direction`` what a value above the null means (from
    ``scale``, unless ``reading`` says it in the measure's own words).

    Examples
    --------
    >>> from crisis_survey.stats import EFFECTS
    >>> spec = EFFECTS["risk difference"]
    >>> spec.symbol, spec.scale, spec.null, spec.signed
    ('RD', 'difference', 0.0, True)
    """

    name: str
    label: str
    symbol: str
    scale: str
    bounded: bool
    interval: str
    decimals: int = 2
    reading: str = ""

    @property
    def signed(self) -> bool:
        """Whether the value (or, for ratios, its logarithm) has a direction."""
        return self.scale != "magnitude"

    @property
    def null(self) -> float:
        """The value meaning no change: 1 for ratios, else 0."""
        return 1.0 if self.scale == "ratio" else 0.0

    @property
    def direction(self) -> str:
        """What the value says about the waves, in words."""
        if self.reading:
            return self.reading
        if self.scale == "ratio":
            return "> 1: higher in wave 2"
        if self.scale == "difference":
            return "> 0: higher in wave 2"
        return "size of the difference between the waves (no direction)"


_HIGHER = "positive: higher in wave 2"

_STATISTICS: tuple[StatisticSpec, ...] = (
    StatisticSpec("V", "V", "signed-rank sum of the pairs whose answer is higher in wave 2",
                  "rank_sum", 0, False, "above n(n+1)/4: higher in wave 2"),
    StatisticSpec("W", "W", "Mann-Whitney U of wave 2 (pairs wave 2 > wave 1, ties 1/2)",
                  "rank_sum", 0, False, "above n1 n2 / 2: higher in wave 2"),
    StatisticSpec("X-squared", "χ²", "chi-square", "decimal", 2),
    StatisticSpec("M-squared", "M²", "linear-by-linear association chi-square", "decimal", 2),
    StatisticSpec("t", "t", "t", "decimal", 2, True, _HIGHER),
    StatisticSpec("z", "z", "z", "decimal", 2, True, _HIGHER),
    StatisticSpec("b", "b", "pairs moving to the reported level in wave 2", "count", 0, False,
                  "above (b + c) / 2: higher in wave 2"),
    StatisticSpec("odds ratio", "OR", "conditional odds ratio (Fisher)", "none", 2),
    StatisticSpec("P(table)", "P", "probability of the observed table (Fisher)", "none", 2),
    StatisticSpec("statistic", "", "statistic", "none", 2),
)

STATISTICS: dict[str, StatisticSpec] = {s.name: s for s in _STATISTICS}
"""Every test statistic by the name results give it (``TestResult.statistic_name``): its
printed symbol, format kind and whether its sign reads the direction.

Examples
--------
>>> from crisis_survey.stats import STATISTICS
>>> STATISTICS["X-squared"].symbol, STATISTICS["W"].kind, STATISTICS["z"].signed
('χ²', 'rank_sum', True)
"""

_NCT = "noncentral t inversion"
#: The paired effect that depends only on counts that are normally large: the net change
#: ``(n_up - n_down) / n`` of paired ordered answers (the paired dominance statistic;
#: :func:`crisis_survey.stats._proportions.net_change`).
NET_CHANGE = "net change"
_EFFECTS: tuple[EffectSpec, ...] = (
    EffectSpec("matched-pairs rank-biserial r", "matched-pairs rank-biserial correlation",
               "r", "difference", True,
               "inversion of the signed-rank test along its tilted family (exact or normal)"),
    EffectSpec("rank-biserial r", "rank-biserial correlation", "r", "difference", True,
               "Newcombe's (2006) score interval"),
    EffectSpec("Cohen's d_z", "Cohen's d_z (mean change / SD of the changes)", "d_z",
               "difference", False, _NCT),
    EffectSpec("Hedges' g_z", "Hedges' g_z", "g_z", "difference", False, _NCT),
    EffectSpec("Cohen's d (average-variance SD)", "Cohen's d (average-variance SD)", "d",
               "difference", False, _NCT),
    EffectSpec("Hedges' g (average-variance SD)", "Hedges' g (average-variance SD)", "g",
               "difference", False, _NCT),
    EffectSpec("Cohen's d (pooled SD)", "Cohen's d (pooled SD)", "d", "difference", False,
               _NCT),
    EffectSpec("Hedges' g (pooled SD)", "Hedges' g (pooled SD)", "g", "difference", False,
               _NCT),
    EffectSpec("mean difference", "mean difference (wave 2 - wave 1)", "MD", "difference",
               False, "t interval"),
    EffectSpec("difference in proportions", "difference in proportions (wave 2 - wave 1)",
               "Δp", "difference", True, "the test's pooled-SE interval (Derrick et al.)"),
    EffectSpec("risk difference", "difference in proportions (wave 2 - wave 1)", "RD",
               "difference", True, "Newcombe's (1998) hybrid score interval (method 10)"),
    EffectSpec("paired risk difference", "paired difference in proportions (wave 2 - wave 1)",
               "RD", "difference", True,
               "Newcombe's (1998) paired hybrid score interval (method 10)"),
    # beside the matched-pairs r of every paired ordinal row (the comparison table's
    # net_change columns): its table is three counts (up, same, down), not the 2k - 1
    # differences, so the derived-value rule publishes it where r is withheld
    EffectSpec(NET_CHANGE, "net change of the pairs (higher minus lower)", "NC", "difference", True,
               "Newcombe's (1998) paired hybrid score interval (method 10) of "
               "P(higher) - P(lower)", reading="> 0: more pairs higher in wave 2"),
    EffectSpec("odds ratio b/c (discordant pairs)", "conditional odds ratio of the discordant "
               "pairs (moved up / moved down)", "OR", "ratio", False,
               "exact conditional (Clopper-Pearson on b / (b + c))"),
    EffectSpec("odds ratio (conditional MLE)", "odds ratio of the reported level, wave 2 vs "
               "wave 1 (conditional MLE)", "OR", "ratio", False,
               "exact conditional (Fisher)"),
    EffectSpec("Cramer's V", "Cramér's V", "V", "magnitude", True,
               "two-sided noncentral chi-square inversion"),
    EffectSpec("Cramer's V (bias-corrected)", "Cramér's V (bias-corrected)", "V",
               "magnitude", True, "two-sided noncentral chi-square inversion"),
    EffectSpec("Cohen's w", "Cohen's w (Stuart-Maxwell)", "w", "magnitude", False,
               "two-sided noncentral chi-square inversion"),
    EffectSpec("Pearson r (wave vs answer score)", "correlation of wave and answer score",
               "r", "difference", True, "Fisher z interval"),
    # the change-by-group model (compare.change_by_group_model)
    EffectSpec("cumulative odds ratio", "odds of a higher answer in wave 2 vs wave 1", "OR",
               "ratio", False, "Wald interval of the log odds ratio (robust SE), exponentiated"),
    EffectSpec("ratio of cumulative odds ratios", "difference in change between groups "
               "(ratio of the groups' odds ratios)", "ROR", "ratio", False,
               "Wald interval of the interaction (robust SE), exponentiated"),
    EffectSpec("mean code difference", "difference in mean code, wave 2 - wave 1", "MD",
               "difference", False, "Wald interval (robust SE)"),
    EffectSpec("difference in mean code change", "difference in change between groups (mean "
               "code)", "ΔMD", "difference", False, "Wald interval (robust SE)"),
)

EFFECTS: dict[str, EffectSpec] = {e.name: e for e in _EFFECTS}
"""Every effect measure by the name results give it (``TestResult.effect_measure``, the
comparison table's ``effect_measure`` column, the model's ``effects``): label, symbol, scale
(difference, ratio or magnitude), whether it is bounded, its interval and its direction.

Examples
--------
>>> from crisis_survey.stats import EFFECTS
>>> EFFECTS["paired risk difference"].direction
'> 0: higher in wave 2'
>>> EFFECTS["Cramer's V (bias-corrected)"].signed
False
>>> EFFECTS["net change"].symbol, EFFECTS["net change"].direction
('NC', '> 0: more pairs higher in wave 2')
"""


def effect_spec(name: str | None) -> EffectSpec | None:
    """The :class:`EffectSpec` of an effect measure's name (None for None or an unknown
    name, e.g. a hand-made table's)."""
    return EFFECTS.get(name) if isinstance(name, str) else None


def statistic_spec(name: str | None) -> StatisticSpec | None:
    """The :class:`StatisticSpec` of a statistic's name (None when unknown)."""
    return STATISTICS.get(name) if isinstance(name, str) else None


@dataclass(frozen=True)
class TestSpec:
    """A test: where it applies, what it is called, and its options.

    ``designs`` are the comparison designs it serves (an independent-samples test also serves
    the ``unlinked`` design); ``measurements`` the item levels it can analyse from counts or
    moments; ``abbreviation`` and ``label`` are what tables print; ``r_call`` is the R
    equivalent with the default options. ``statistic`` is a key of :data:`STATISTICS`;
    ``effects`` maps each measurement level to its effect measure (a key of :data:`EFFECTS`),
    and ``odds_ratio`` names the odds ratio reported beside a binary item's risk difference
    (the comparison table's ``odds_ratio`` columns).

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
    effects: tuple[tuple[str, str], ...] = ()
    odds_ratio: str | None = None

    def effect_for(self, measurement: str) -> EffectSpec | None:
        """The effect measure this test reports for items of ``measurement``."""
        name = dict(self.effects).get(measurement)
        return EFFECTS[name] if name is not None else None

    @property
    def statistic_spec(self) -> StatisticSpec:
        """How this test's statistic is printed."""
        return STATISTICS[self.statistic]

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

def _each(levels: tuple[str, ...], effect: str) -> tuple[tuple[str, str], ...]:
    return tuple((level, effect) for level in levels)


#: Wave x answer tables: a binary item's risk difference (with the conditional odds ratio
#: beside it), whichever test gives the p-value; Cramer's V for more levels.
_CATEGORICAL = (("binary", "risk difference"), ("ordinal", "Cramer's V (bias-corrected)"),
                ("nominal", "Cramer's V (bias-corrected)"))
_COND_OR = "odds ratio (conditional MLE)"

_SPECS: tuple[TestSpec, ...] = (
    TestSpec(
        "wilcoxon_signed_rank", "Wilcoxon signed-rank test (V)", "Wilcoxon", ("paired",),
        ("ordinal", "binary"), "V",
        (_METHOD_RANK, _CORRECT_RANK,
         Option("zero_method", "wilcox", ("wilcox", "pratt"), "coin: zero.method =",
                "zero differences dropped before ranking (wilcox, R's wilcox.test) or ranked "
                "and then dropped (pratt, coin's default)")),
        "wilcox.test(y, x, paired = TRUE)",
        _each(("ordinal", "binary"), "matched-pairs rank-biserial r")),
    TestSpec(
        "mann_whitney", "Mann–Whitney U test (W)", "Mann–Whitney",
        ("independent", "unlinked"), ("ordinal", "binary"), "W",
        (_METHOD_RANK, _CORRECT_RANK), "wilcox.test(y, x)",
        _each(("ordinal", "binary"), "rank-biserial r")),
    TestSpec(
        "mcnemar", "McNemar test", "McNemar", ("paired",), ("binary",), "X-squared",
        (Option("method", "asymptotic", ("asymptotic", "exact", "midp"), "binom.test for exact",
                "chi-squared on 1 df, the exact binomial test on the discordant pairs, or "
                "its mid-p version"),
         Option("correction", False, (True, False), "correct =",
                "continuity correction of the chi-squared statistic (R's default is TRUE; "
                "uncorrected keeps the test's size nearer the nominal level)")),
        "mcnemar.test(table(x, y), correct = FALSE)",
        (("binary", "paired risk difference"),), "odds ratio b/c (discordant pairs)"),
    TestSpec(
        "marginal_homogeneity", "Stuart–Maxwell test of marginal homogeneity",
        "Stuart–Maxwell", ("paired",), ("ordinal", "binary", "nominal"), "X-squared",
        (Option("method", "stuart-maxwell", ("stuart-maxwell", "bhapkar"), "coin::mh_test",
                "Stuart-Maxwell (coin's mh_test) or Bhapkar's Wald statistic"),),
        "coin::mh_test(table(x, y))",
        _each(("ordinal", "binary", "nominal"), "Cohen's w")),
    TestSpec(
        "paired_t", "paired t-test", "Paired t", ("paired",), ("numeric", "ordinal", "binary"),
        "t", (), "t.test(y, x, paired = TRUE)",
        _each(("numeric", "ordinal", "binary"), "Cohen's d_z")),
    TestSpec(
        "chi_square", "Pearson chi-square test", "χ² test", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "X-squared",
        (Option("correction", False, (True, False), "correct =",
                "Yates's continuity correction of a 2 x 2 table (R's chisq.test default is "
                "TRUE; tables larger than 2 x 2 are never corrected)"),),
        "chisq.test(table(wave, answer), correct = FALSE)", _CATEGORICAL, _COND_OR),
    TestSpec(
        "fisher_exact", "Fisher's exact test", "Fisher", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "odds ratio", (), "fisher.test(table(wave, answer))",
        _CATEGORICAL, _COND_OR),
    TestSpec(
        "chi_square_or_fisher", "Pearson chi-square test, or Fisher's exact test when an "
        "expected count is below 5", "χ² / Fisher", ("independent", "unlinked"),
        ("ordinal", "binary", "nominal"), "X-squared",
        (Option("correction", False, (True, False), "correct =",
                "Yates's correction of the chi-square test of a 2 x 2 table"),),
        "chisq.test(table(wave, answer), correct = FALSE)", _CATEGORICAL, _COND_OR),
    TestSpec(
        "linear_trend", "linear-by-linear association test", "Trend",
        ("independent", "unlinked"), ("ordinal", "binary"), "M-squared", (),
        "coin::lbl_test(table(wave, answer))",
        _each(("ordinal", "binary"), "Pearson r (wave vs answer score)")),
    TestSpec(
        "welch_t", "Welch t-test", "Welch t", ("independent", "unlinked"),
        ("numeric", "ordinal", "binary"), "t", (), "t.test(y, x)",
        _each(("numeric", "ordinal", "binary"), "Hedges' g (average-variance SD)")),
    TestSpec(
        "partially_overlapping_t", "partially overlapping samples t-test (Derrick et al., "
        "2017)", "PO t", ("overlapping",), ("numeric", "ordinal", "binary"), "t",
        (_INCOMPLETE,), "Partiallyoverlapping::Partover.test(x_only, y_only, x_paired, "
        "y_paired, stacked = TRUE)",
        _each(("numeric", "ordinal", "binary"), "mean difference")),
    TestSpec(
        "partially_overlapping_z", "partially overlapping samples z-test for two proportions "
        "(Derrick et al., 2015)", "PO z", ("overlapping",), ("binary",), "z",
        (_INCOMPLETE,), "Partiallyoverlapping::Prop.test(...)",
        (("binary", "difference in proportions"),)),
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
