"""The one registry of tests, statistics and effect measures (stats/_registry.py)."""

from __future__ import annotations

from crisis_survey.stats import EFFECTS, STATISTICS, TESTS
from crisis_survey.stats._registry import DESIGNS


def test_every_test_names_registered_statistic_and_effects() -> None:
    for spec in TESTS.values():
        assert spec.statistic in STATISTICS, spec.name
        assert set(spec.designs) <= set(DESIGNS)
        levels = dict(spec.effects)
        assert set(levels) == set(spec.measurements), spec.name
        for level in spec.measurements:
            effect = spec.effect_for(level)
            assert effect is not None and effect.name in EFFECTS
        if spec.odds_ratio is not None:
            assert EFFECTS[spec.odds_ratio].scale == "ratio"
            assert spec.effect_for("binary") is not None


def test_binary_items_get_a_risk_difference_whichever_test_gives_p() -> None:
    for name in ("chi_square", "fisher_exact", "chi_square_or_fisher"):
        effect = TESTS[name].effect_for("binary")
        assert effect is not None and effect.name == "risk difference"
        assert TESTS[name].odds_ratio == "odds ratio (conditional MLE)"
    paired = TESTS["mcnemar"].effect_for("binary")
    assert paired is not None and paired.name == "paired risk difference"


def test_effect_specs_are_consistent() -> None:
    for effect in EFFECTS.values():
        assert effect.scale in ("difference", "ratio", "magnitude")
        assert effect.null == (1.0 if effect.scale == "ratio" else 0.0)
        assert effect.signed == (effect.scale != "magnitude")
        assert effect.symbol and effect.label and effect.interval
        if effect.scale == "ratio":
            assert not effect.bounded
    for stat in STATISTICS.values():
        assert stat.kind in ("rank_sum", "decimal", "count", "none")
        if stat.signed:
            assert "wave 2" in stat.direction
