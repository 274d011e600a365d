"""Journal styles of published numbers (present/_style.py, present/_format.py) and the plan's
``[present] style`` and ``primary_design`` keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisis_survey import AnalysisPlan, PlanError, load_plan
from crisis_survey.present._format import (
    format_estimate_ci,
    format_p,
    format_statistic,
)
from crisis_survey.present._style import APA, MEDICAL, TABLE_STYLES, table_style

NB = "\u00a0"


@pytest.mark.parametrize(("p", "apa", "medical"), [
    (0.0004, "< .001", "<0.001"),
    (0.001, ".001", "0.001"),
    (0.0123, ".012", "0.012"),
    (0.05, ".050", "0.050"),
    (0.9996, "> .999", ">0.999"),
])
def test_p_values_in_each_style(p: float, apa: str, medical: str) -> None:
    assert format_p(p) == apa
    assert format_p(p, style="apa") == apa
    assert format_p(p, style=MEDICAL) == medical


def test_intervals_in_each_style() -> None:
    # a bounded measure (r): APA drops the leading zero, medical keeps it
    assert format_estimate_ci(0.286, 0.06, 0.474, leading_zero=False) == ".29 [.06, .47]"
    assert format_estimate_ci(0.286, 0.06, 0.474, leading_zero=False,
                              style="medical") == "0.29 (0.06 to 0.47)"
    # an unbounded one keeps it in both
    assert format_estimate_ci(-1.5, -2.25, -0.75) == "\u22121.50 [\u22122.25, \u22120.75]"
    assert APA.ci_header(95) == "[95% CI]" and MEDICAL.ci_header(90) == "(90% CI)"


@pytest.mark.parametrize(("name", "value", "df", "text"), [
    ("V", 1493.5, None, f"V{NB}={NB}1,493.5"),       # rank sum with a midrank half
    ("V", 1494.0, None, f"V{NB}={NB}1,494"),         # a whole rank sum: no decimals
    ("W", 47108.0, None, f"W{NB}={NB}47,108"),
    ("b", 12.0, None, f"b{NB}={NB}12"),              # a count
    ("X-squared", 3.8415, 1.0, f"χ²(1){NB}={NB}3.84"),
    ("t", -3.751, 377.43, f"t(377.4){NB}={NB}\u22123.75"),
    ("z", 0.0, None, f"z{NB}={NB}0.00"),
    ("odds ratio", 2.0, None, "—"),                  # Fisher's test prints no statistic
])
def test_statistics_are_formatted_by_their_kind(name: str, value: float, df: float | None,
                                                text: str) -> None:
    assert format_statistic(name, value, df) == text


def test_unknown_style_is_refused() -> None:
    assert set(TABLE_STYLES) == {"apa", "medical"}
    assert table_style(None) is APA
    with pytest.raises(Exception, match="'bmj' is not known"):
        table_style("bmj")


def test_plan_reads_and_checks_the_style(tmp_path: Path) -> None:
    assert AnalysisPlan().style == "apa"
    path = tmp_path / "plan.toml"
    path.write_text('[present]\nstyle = "medical"\n')
    plan = load_plan(path)
    assert plan.style == "medical"
    assert plan.to_dict()["style"] == "medical"
    path.write_text('[analysis]\nalpha = 2\n[present]\nstyle = "vancouver"\ncolour = 1\n')
    with pytest.raises(PlanError) as info:
        load_plan(path)
    text = str(info.value)
    assert "3 problems" in text
    assert "alpha must be" in text
    assert "style is 'vancouver'" in text and "['apa', 'medical']" in text
    assert "[present] has unknown key 'colour'" in text
    with pytest.raises(PlanError, match="style is 'x'"):
        AnalysisPlan(style="x")
