"""Figures: they draw the published numbers only, and re-saves are byte-identical."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_figures_display_in_jupyter_and_carry_alt_text(study) -> None:  # type: ignore[no-untyped-def]
    fig = likert_chart(study, ["exp_listened", "exp_dignity"])
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    html = fig._repr_html_()
    assert "<svg" in html and "<title>" in html and 'width="' not in html.split(">")[1]
    # the alt text reads the published percentages, one per bar
    data = likert_counts(study, ["exp_listened", "exp_dignity"])
    bar = data[(data["item"] == "exp_listened") & (data["wave"] == 1)
               & (data["group"] == "Service user")]
    agree = bar.loc[bar["level_index"] >= 3, "percent"].sum()
    assert f"Service user, 2014: {agree:.1f}% agree or strongly agree" in fig.alt_text


def test_svg_keeps_text_and_alt_text(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fig = likert_chart(study, ["exp_listened"])
    svg = save_figure(fig, tmp_path / "l", formats=("svg",))[0].read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert study.codebook["exp_listened"].label in texts
    assert "Service user, 2014" in texts
    assert 'role="img"' in svg and "<title>Stacked bar chart" in svg
    # no coordinate finer than the SVG's precision
    numbers = re.findall(r"\d+\.(\d+)", " ".join(re.findall(r"<[^>]*>", svg)))
    assert numbers and max(len(n) for n in numbers) <= 2


@pytest.mark.parametrize("values", [[0.9, 1.2], [0.98, 1.01], [0.3, 5.0], [0.01, 300.0],
                                    [1.0], [2.5, 2.6]])
def test_log_axis_has_at_least_three_labelled_ticks(values: list[float]) -> None:
    from crisis_survey.present._figures import log_ticks

    ticks, (lo, hi) = log_ticks(values)
    inside = [t for t in ticks if lo <= t <= hi]
    assert 3 <= len(inside) <= 9
    assert lo <= min(values) and hi >= max(values) and lo < 1 < hi


def test_forest_plot_odds_axis_ticks_and_wrapped_labels() -> None:
    frame = comparison_frame()
    fig = forest_plot(frame, design="paired", width=3.5)
    for ax in fig.axes:
        if ax.get_xscale() == "log":
            fig.draw_without_rendering()
            lo, hi = ax.get_xlim()
            labelled = [t for t in ax.get_xticks() if lo <= t <= hi]
            assert len(labelled) >= 3


def test_likert_sorts_by_agreement_and_can_stack_from_zero(study) -> None:  # type: ignore[no-untyped-def]
    items = ["exp_listened", "exp_dignity", "exp_understood"]
    data = likert_counts(study, items)
    agree = (data[data["level_index"] >= 3].groupby(["item", "group", "wave"])["percent"]
             .sum().groupby("item").mean().sort_values(ascending=False))
    fig = likert_chart(study, items, sort="agreement")
    headings = [t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    assert headings == [study.codebook[i].label for i in agree.index]
    flat = likert_chart(study, items, centre=False)
    assert fig.axes[0].get_xlim() == (-100, 100) and flat.axes[0].get_xlim() == (0, 100)
    assert min(p.get_x() for p in flat.axes[0].patches) >= 0
    with pytest.raises(CrisisSurveyError, match="sort"):
        likert_chart(study, items, sort="alphabet")



def _long_label_study(tmp: Path, label: str):  # type: ignore[no-untyped-def]
    """The sample study with its second group renamed to ``label`` (codebook and data)."""
    import json

    from crisis_survey import link_waves, load_codebook, load_wave
    from crisis_survey._resources import data_dir
    from crisis_survey.codebook._frictionless import DEFAULT_CODEBOOK
    from crisis_survey.synthetic import sample_study_paths

    spec = json.loads((data_dir() / "schema" / DEFAULT_CODEBOOK).read_text(encoding="utf-8"))
    for f in spec["fields"]:
        if f.get("x-role") == "group":
            f["categories"][1]["label"] = label
    path = tmp / "long.schema.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    cb = load_codebook(path)
    a, b = sample_study_paths()
    return link_waves(load_wave(a, cb, wave=1), load_wave(b, cb, wave=2))


LONG = "Family members, friends and unpaid carers"


@pytest.mark.parametrize("width", [7.0, 3.5])
def test_flow_diagram_boxes_never_overlap_with_long_labels(width: float,
                                                           tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = flow_diagram(_long_label_study(tmp_path, LONG), width=width)
    ax = fig.axes[0]
    for dpi in (100, 300):  # the raster sizes the PNGs are drawn at
        fig.set_dpi(dpi)
        renderer = FigureCanvasAgg(fig).get_renderer()
        boxes = [p.get_window_extent(renderer) for p in ax.patches
                 if type(p).__name__ == "Rectangle"]
        texts = [t for t in ax.texts if "\n" in t.get_text() or ":" in t.get_text()]
        assert len(boxes) == 12
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                inter_w = min(a.x1, b.x1) - max(a.x0, b.x0)
                inter_h = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert inter_w <= 0 or inter_h <= 0, (a, b)
        # each box's text lies inside it
        for box, text in zip(boxes, texts, strict=False):
            ext = text.get_window_extent(renderer)
            assert box.x0 <= ext.x0 and ext.x1 <= box.x1 + 0.5, text.get_text()
            assert box.y0 <= ext.y0 and ext.y1 <= box.y1 + 0.5, text.get_text()
    assert any(LONG.split()[0] in t.get_text() for t in ax.texts)
    assert fig.get_figwidth() >= width - 1e-9


def test_flow_diagram_draws_each_analysed_set_from_the_right_box(study) -> None:  # type: ignore[no-untyped-def]
    fig = flow_diagram(study)
    texts = {t.get_text().split("\n")[0]: t.get_text() for t in fig.axes[0].texts}
    table = linkage_table(study).values

    def n(wave: int, category: str, group: str) -> str:
        v = table[(table["wave"] == wave) & (table["category"] == category)
                  & (table["group"] == group)]["count"].iloc[0]
        return f"{int(v):,}"

    for w, year in ((1, "2014"), (2, "2015")):
        independent = texts[next(k for k in texts if k.startswith("Analysed, independent")
                                 and year in texts[k])]
        for g in ("Service user", "Carer"):
            # the independent design analyses every respondent of the wave, linked or not
            assert f"{g}: {n(w, 'Respondents (rows kept)', g)}" in independent
    paired = texts["Analysed, paired design:"]
    for g in ("Service user", "Carer"):
        assert f"{g}: {n(1, 'Linked (in both waves)', g)}" in paired
    assert "Participant flow diagram" in fig.alt_text


def test_transition_counts_are_the_published_pairs(study) -> None:  # type: ignore[no-untyped-def]
    from crisis_survey.present import suppress, transition_counts

    d = transition_counts(study, ["exp_listened"])
    pairs = study.pairs
    labels = list(study.codebook["exp_listened"].labels)
    x = pd.Categorical(pairs[(1, "exp_listened")], categories=labels).codes
    y = pd.Categorical(pairs[(2, "exp_listened")], categories=labels).codes
    g = pairs[("", "group")].astype(str).to_numpy()
    for group in ("Service user", "Carer"):
        ok = (x >= 0) & (y >= 0) & (g == group)
        truth = pd.crosstab(x[ok], y[ok]).reindex(index=range(5), columns=range(5),
                                                     fill_value=0)
        shown = suppress(pd.DataFrame(truth.to_numpy())).published().iloc[:5, :5]
        mine = d[d["group"] == group].pivot(index="from_index", columns="to_index",
                                            values="count")
        assert np.array_equal(mine.isna().to_numpy(), shown.isna().to_numpy())
        published = ~mine.isna().to_numpy()
        assert np.array_equal(mine.to_numpy()[published],
                              truth.to_numpy()[published].astype(float))
        # no published cell is a small count
        cells = mine.to_numpy()[published]
        assert ((cells == 0) | (cells >= 10)).all()


def test_transition_chart_prints_the_published_counts_and_no_withheld_cell(study) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.patches import Rectangle

    from crisis_survey.present import transition_chart, transition_counts

    items = ["exp_listened", "exp_knew_contact"]
    fig = transition_chart(study, items)
    d = transition_counts(study, items)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(items) * 2
    for ax, ((_, _), rows) in zip(panels, d.groupby(["item", "group"], sort=False),
                                  strict=True):
        by_cell = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text()
                   for t in ax.texts}
        for rec in rows.itertuples():
            text = by_cell[(rec.from_index, rec.to_index)]
            assert text == ("[c]" if rec.withheld else f"{int(rec.count):,}")
        filled = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_fill()]
        assert len(filled) == int((~rows["withheld"]).sum())  # withheld cells not drawn
        hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
        assert len(hatched) == int(rows["withheld"].sum())  # ... but marked as withheld
        assert not any(p.get_fill() for p in hatched)
    assert "withheld ([c], hatched): not drawn, and not zero" in " ".join(_texts(fig))
    assert "Listened to, Service user:" in fig.alt_text


def test_release_audit_of_the_drawn_figures_finds_no_withheld_cell_pinned(study) -> None:  # type: ignore[no-untyped-def]
    # the transition chart's cells beside the Likert bars: no withheld count narrowed
    from crisis_survey.compare import compare_waves
    from crisis_survey.present._release import audit_release

    comparison = compare_waves(study, items=["exp_listened"], designs=("paired",))
    audit = audit_release(study, comparison, threshold=10, parts=("figures",))
    assert len(audit) > 0 and not audit["narrowed"].any()
    assert (audit["output"] == "transition figure").any()


def test_release_audit_reads_the_transition_cells_values(study) -> None:  # type: ignore[no-untyped-def]
    # a transition chart that printed one withheld cell next to the rest of its panel:
    # the audit must see that the cell is known (it is no longer protected), so it pins a
    # small count
    import dataclasses

    from crisis_survey.compare import compare_waves
    from crisis_survey.present._release import Published, audit_release

    comparison = compare_waves(study, items=["exp_listened"], designs=("paired",))
    published = Published.build(study, comparison, threshold=10, designs=("paired",))
    clean = audit_release(study, comparison, threshold=10, parts=("figures",),
                          published=published, designs=("paired",))
    assert not clean["narrowed"].any()
    t = published.transitions.copy()
    panel = (t["item"] == "exp_listened") & (t["group"] == "Carer")
    held = t.index[panel & t["withheld"]]
    # publish every withheld cell of the panel but one: the one left is the total less
    # the others (the panel's n is printed in its title)
    leak = t.copy()
    leak.loc[held[1:], "withheld"] = False
    leaky = dataclasses.replace(published, transitions=leak)
    audit = audit_release(study, comparison, threshold=10, parts=("figures",),
                          published=leaky, designs=("paired",))
    assert audit["narrowed"].any()


# -- figures drawn in worker processes (FigureDrawing) -------------------------------------------
def _warns_then_draws(study):  # type: ignore[no-untyped-def]
    import warnings

    warnings.warn("a worker's warning", UserWarning, stacklevel=1)
    return flow_diagram(study)


def _fails() -> None:
    raise CrisisSurveyError("this figure cannot be drawn")


def test_figure_drawing_in_workers_gives_the_files_of_the_plain_path(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The forked workers save the same bytes as drawing each figure here, one by one
    (workers=0, the plain path); results come back in the jobs' order."""
    from crisis_survey.present._figures import FigureDrawing, transition_chart

    def jobs(folder: Path) -> list:  # type: ignore[type-arg]
        return [(lambda: flow_diagram(study), folder / "flow"),
                (lambda: transition_chart(study, ["exp_listened"]), folder / "transitions"),
                (lambda: likert_chart(study, ["exp_listened", "exp_dignity"]),
                 folder / "likert")]

    written = {}
    for workers in (0, 2):
        folder = tmp_path / f"w{workers}"
        with FigureDrawing(jobs(folder), ("svg", "png"), workers=workers) as drawing:
            assert (drawing._pool is None) == (workers == 0)
            names = [[p.name for p in drawing.result(i)] for i in range(3)]
        assert names == [["flow.svg", "flow.png"], ["transitions.svg", "transitions.png"],
                         ["likert.svg", "likert.png"]]
        written[workers] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert len(written[0]) == 6
    assert written[0] == written[2]


def test_figure_drawing_raises_a_workers_error_and_warns_its_warnings(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from crisis_survey.present._figures import FigureDrawing

    jobs = [(lambda: _warns_then_draws(study), tmp_path / "flow"), (_fails, tmp_path / "bad")]
    with FigureDrawing(jobs, ("svg",), workers=2) as drawing:  # type: ignore[arg-type]
        with pytest.warns(UserWarning, match="a worker's warning"):
            assert [p.name for p in drawing.result(0)] == ["flow.svg"]
        with pytest.raises(CrisisSurveyError, match="cannot be drawn"):
            drawing.result(1)


def test_figures_added_after_the_start_give_the_files_of_the_plain_path(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """Figures submitted once the worker runs (the report's, after the audit) go to it
    pickled (a functools.partial) or, when they do not pickle (a lambda), are drawn here;
    either way the files are those of the plain path, in the order of the indices."""
    import functools

    from crisis_survey.present._figures import FigureDrawing, transition_chart

    written = {}
    for workers in (0, 1):
        folder = tmp_path / f"w{workers}"
        with FigureDrawing([(lambda: flow_diagram(study), folder / "flow")], ("svg", "png"),
                           workers=workers) as drawing:
            late = drawing.submit([
                (functools.partial(transition_chart, study, ["exp_listened"]),
                 folder / "transitions"),
                (lambda: likert_chart(study, ["exp_listened", "exp_dignity"]),
                 folder / "likert")])
            assert late == [1, 2]
            if workers:  # pickled to the worker, or waiting for it to be free
                assert drawing._futures[1] is not None or drawing._pending == [1]
                assert drawing._futures[2] is None and 2 not in drawing._pending  # a lambda
            names = [[p.name for p in drawing.result(i)] for i in range(3)]
        assert names == [["flow.svg", "flow.png"], ["transitions.svg", "transitions.png"],
                         ["likert.svg", "likert.png"]]
        written[workers] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert len(written[0]) == 6
    assert written[0] == written[1]


def test_figures_taken_back_from_the_worker_give_the_same_files(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """help() draws here, last first, the figures the worker has not started (the caller's
    core would idle while it waits): the same files as the worker's, in the same order."""
    from crisis_survey.present._figures import FigureDrawing

    items = [["exp_listened"], ["exp_dignity"], ["exp_listened", "exp_dignity"],
             ["exp_involved"], ["exp_listened", "exp_involved"], ["exp_dignity", "exp_involved"]]
    written = {}
    for help_ in (False, True):
        folder = tmp_path / f"h{help_}"
        jobs = [(functools.partial(likert_chart, study, names), folder / f"likert{i}")
                for i, names in enumerate(items)]
        with FigureDrawing(jobs, ("svg",), workers=1) as drawing:
            if help_:
                drawing.help()
                # one worker holds at most two jobs (running, queued): the rest came back
                assert set(drawing._drawn) >= {4, 5}
            names = [[p.name for p in drawing.result(i)] for i in range(len(jobs))]
        assert names == [[f"likert{i}.svg"] for i in range(len(jobs))]
        written[help_] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert written[True] == written[False]


def test_a_figure_waiting_for_the_audit_is_drawn_once_from_what_it_sends(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The report's transition chart waits in the worker for the release audit's withheld
    panels (Awaited, sent after the fork) and is taken last (``later``): its files are
    those of the chart drawn here with those panels hidden, in a worker and on the plain
    path; a drawing closed before anything was sent does not hang."""
    from crisis_survey.present._figures import (
        Awaited,
        FigureDrawing,
        save_figure,
        transition_chart,
    )
    from crisis_survey.present._report import _transitions_after_audit

    group = str(study.groups[0])
    hidden = frozenset({(group, "exp_listened")})
    want = tmp_path / "want"
    want.mkdir()
    save_figure(transition_chart(study, ["exp_listened", "exp_dignity"], hidden=hidden),
                want / "transitions", formats=("svg",))
    plain = tmp_path / "plain"
    plain.mkdir()
    save_figure(transition_chart(study, ["exp_listened", "exp_dignity"]), plain / "t",
                formats=("svg",))
    assert (plain / "t.svg").read_bytes() != (want / "transitions.svg").read_bytes()
    for workers in (0, 1):
        folder = tmp_path / f"w{workers}"
        awaited = Awaited()
        jobs = [(functools.partial(_transitions_after_audit, study, awaited,
                                   items=["exp_listened", "exp_dignity"]),
                 folder / "transitions"),
                (functools.partial(likert_chart, study, ["exp_listened"]), folder / "likert")]
        with FigureDrawing(jobs, ("svg",), workers=workers, later=[0]) as drawing:
            assert [p.name for p in drawing.result(1)] == ["likert.svg"]  # not held up
            awaited.send(hidden)
            awaited.send(frozenset())  # once only
            assert [p.name for p in drawing.result(0)] == ["transitions.svg"]
        assert (folder / "transitions.svg").read_bytes() == \
            (want / "transitions.svg").read_bytes()
    awaited = Awaited()
    drawing = FigureDrawing([(functools.partial(_transitions_after_audit, study, awaited),
                              tmp_path / "never"),
                             (functools.partial(likert_chart, study, ["exp_listened"]),
                              tmp_path / "l")], ("svg",), workers=1, later=[0])
    awaited.send(None)  # what _StudyFigures.__exit__ sends when the audit failed
    with pytest.raises(CrisisSurveyError, match="did not end"):
        drawing.result(0)
    drawing.close()
    assert not (tmp_path / "never.svg").exists()


def test_publish_failing_in_the_audit_leaves_no_figure_worker_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The study figures' worker is forked before the audit and its transition chart waits
    for it: an audit that raises must end the wait (the error comes back, nothing hangs,
    nothing is written)."""
    from crisis_survey.present import _release
    from crisis_survey.present._release import publish
    from crisis_survey.synthetic import load_sample_study

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit failed")

    monkeypatch.setattr(_release, "protect_release", fails)
    with pytest.raises(RuntimeError, match="the audit failed"):
        publish(load_sample_study(), tmp_path / "out", synthetic=True)
    assert not (tmp_path / "out").exists()


def test_figures_submitted_while_the_worker_is_busy_are_drawn_here_or_when_it_is_free(
    study, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """A job submitted while every worker is busy waits for a free one (the executor would
    queue it behind the running job, out of help()'s reach: the sample's forest plots waited
    1.2 s behind the transition chart while this process idled); help() draws it here.
    The files are those of the plain path."""
    from crisis_survey.present._figures import Awaited, FigureDrawing

    awaited = Awaited()
    written = {}
    for workers in (0, 1):
        folder = tmp_path / f"w{workers}"
        slow = functools.partial(_after, awaited, study, folder / "never")
        with FigureDrawing([(slow, folder / "first")], ("svg",), workers=workers) as drawing:
            late = drawing.submit([
                (functools.partial(likert_chart, study, ["exp_listened"]), folder / "a"),
                (functools.partial(likert_chart, study, ["exp_dignity"]), folder / "b")])
            if workers:  # the worker waits for the awaited value: both jobs wait here
                assert drawing._pending == late
                drawing.help()
                assert drawing._pending == [] and set(drawing._drawn) == set(late)
            awaited.send(None)
            names = [[p.name for p in drawing.result(i)] for i in range(3)]
        assert names == [["first.svg"], ["a.svg"], ["b.svg"]]
        written[workers] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
        awaited = Awaited()
    assert written[0] == written[1]


def _after(awaited: Any, study: Any, _: Path) -> Any:
    """A figure drawn once ``awaited`` is sent (as the transition chart waits for the
    audit)."""
    awaited.get()
    return flow_diagram(study)
