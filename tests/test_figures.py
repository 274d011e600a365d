"""Figures: they draw the published numbers only, and re-saves are byte-identical."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from _present_data import comparison_frame, make_wave
from crisis_survey import CrisisSurveyError
from crisis_survey.present import (
    change_chart,
    change_counts,
    flow_diagram,
    forest_plot,
    likert_chart,
    likert_counts,
    linkage_table,
    save_figure,
)


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    from crisis_survey.synthetic import load_sample_study

    return load_sample_study()


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, crisis_survey, crisis_survey.present; "
            "from crisis_survey.present import suppress; "
            "print('matplotlib' in sys.modules, 'great_tables' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert out.stdout.split() == ["False", "False"]


def test_likert_counts_and_small_bars_not_drawn() -> None:
    w1, w2 = make_wave(1, 120, 8), make_wave(2, 90, 40)  # 8 carers in wave 1
    data = likert_counts([w1, w2], ["exp_listened"])
    sub = data[(data["wave"] == 1) & (data["group"] == "Service user")]
    answers = w1.data.loc[w1.data["group"] == "Service user", "exp_listened"]
    assert sub["count"].tolist() == [int((answers == lv).sum()) for lv in sub["level"]]
    assert not data[(data["wave"] == 1) & (data["group"] == "Carer")]["drawn"].any()
    fig = likert_chart([w1, w2], ["exp_listened"])
    # bars of 5 segments; the carers' wave-1 bar is not drawn, nor any bar holding a level
    # answered by 1 to 9 respondents (issue 11: its width would give the count away)
    first = data.groupby(["wave", "group"])
    drawn = first["drawn"].first()
    small = first["count"].apply(lambda c: bool(((c >= 1) & (c < 10)).any()))
    assert (drawn == (~small & (first["n"].first() >= 10))).all()
    assert len(fig.axes[0].patches) == 5 * int(drawn.sum())
    assert any("fewer than 10" in t for t in _texts(fig))
    assert any("not shown (small counts)" in t for t in _texts(fig))


def test_likert_refuses_mixed_scales() -> None:
    w1, w2 = make_wave(1, 50, 50), make_wave(2, 50, 50)
    with pytest.raises(CrisisSurveyError, match="response scale"):
        likert_chart([w1, w2], ["exp_listened", "age_band"])


def test_change_counts_match_pairs(study) -> None:  # type: ignore[no-untyped-def]
    d = change_counts(study, ["exp_listened"])
    pairs = study.pairs
    labels = list(study.codebook["exp_listened"].labels)
    x = pd.Categorical(pairs[(1, "exp_listened")], categories=labels).codes
    y = pd.Categorical(pairs[(2, "exp_listened")], categories=labels).codes
    g = pairs[("", "group")].astype(str).to_numpy()
    ok = (x >= 0) & (y >= 0) & (g == "Carer")
    up = int(((y > x) & ok).sum())
    got = d[(d["group"] == "Carer") & (d["direction"] == "up")]["count"].item()
    assert got == up
    # drawn bars add up to 100% up to the published precision (one decimal per segment);
    # bars with a small segment are not drawn (percentages NaN)
    drawn = d[d["drawn"]]
    assert (drawn.groupby("group")["percent"].sum() - 100).abs().le(0.15).all()
    assert d.loc[~d["drawn"], "percent"].isna().all()


def test_change_chart_prints_no_small_count(study) -> None:  # type: ignore[no-untyped-def]
    fig = change_chart(study)
    data = change_counts(study)
    for text in _texts(fig):
        m = re.fullmatch(r"(\d+)%", text)
        if m:
            pct = int(m.group(1))
            # the segment the label belongs to has at least 10 pairs
            cand = data[(data["percent"].round() == pct)]
            assert (cand["count"] >= 10).any()


def test_forest_plot_skips_withheld_rows() -> None:
    fig = forest_plot(comparison_frame(), design="paired")
    # paired rows: Service user r_rb (shown), Carer r_rb on 7 pairs (withheld), Carer OR
    # with a 3% estimate (withheld): one point in one panel, the OR panel empty
    points = [ln for ax in fig.axes for ln in ax.lines if ln.get_marker() not in (None, "None")]
    assert len(points) == 1
    assert any("withheld" in t for t in _texts(fig))


def test_flow_diagram_numbers_equal_linkage_table(study) -> None:  # type: ignore[no-untyped-def]
    fig = flow_diagram(study)
    text = "\n".join(_texts(fig))
    table = linkage_table(study)
    linked = table.values[(table.values["category"] == "Linked (in both waves)")
                          & (table.values["group"] == "All")]["count"].iloc[0]
    assert f"{int(linked):,}" in text
    for m in re.finditer(r": ([\d,]+)", text):
        n = int(m.group(1).replace(",", ""))
        assert n == 0 or n >= 10, m.group(0)


@pytest.mark.parametrize("kind", ["likert", "change", "forest", "flow"])
def test_saves_are_byte_identical(kind: str, study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey.compare import compare_waves

    def make():  # type: ignore[no-untyped-def]
        if kind == "likert":
            return likert_chart(study, ["exp_listened", "exp_dignity"])
        if kind == "change":
            return change_chart(study, ["exp_listened"])
        if kind == "forest":
            return forest_plot(compare_waves(study, items=["exp_listened", "exp_followup"]))
        return flow_diagram(study)

    a = save_figure(make(), tmp_path / "a" / kind, dpi=72)
    b = save_figure(make(), tmp_path / "b" / kind, dpi=72)
    assert [p.suffix for p in a] == [".svg", ".pdf", ".png"]
    for p, q in zip(a, b, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert b"CreationDate" not in a[1].read_bytes()
    assert b"tEXt" not in a[2].read_bytes()
    assert b"<dc:date>" not in a[0].read_bytes()


def test_save_figure_bad_format(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    with pytest.raises(CrisisSurveyError, match="unknown figure formats"):
        save_figure(Figure(), tmp_path / "x", formats=("gif",))


def test_figure_widths() -> None:
    w1, w2 = make_wave(1, 60, 60), make_wave(2, 60, 60)
    fig = likert_chart([w1, w2], ["exp_listened"], width=3.5)
    assert np.isclose(fig.get_figwidth(), 3.5)
