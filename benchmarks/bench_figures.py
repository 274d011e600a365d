"""Saving the demo report's figures: the old way (one ``savefig`` per format, each with its
own tight-bounding-box layout pass, SVG text as paths, PDF with Type 42 fonts) against
:func:`crisis_survey.present.save_figure` (one layout pass, SVG with real text), in one run.

For each figure the report draws on the shipped sample study, it times drawing (building
the figure) and saving it as SVG, PDF and PNG (300 dpi) both ways, and a PDF with Type 3
fonts for comparison; CPU time (``time.process_time``), best of ``--reps``. It prints each
figure's times and the ratios old / new.

Usage::

    python benchmarks/bench_figures.py            # best of 3
    python benchmarks/bench_figures.py --reps 1 --json
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from typing import Any


def _best(fn: Callable[[], Any], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import matplotlib as mpl

    mpl.use("Agg")
    from crisis_survey.compare import compare_waves
    from crisis_survey.present import _figures as F
    from crisis_survey.present._style import RC
    from crisis_survey.synthetic import load_sample_study

    study = load_sample_study()
    comparison = compare_waves(study)
    makers: dict[str, Callable[[], Any]] = {
        "flow": lambda: F.flow_diagram(study),
        "paired_change": lambda: F.change_chart(study),
        "likert": lambda: F.likert_chart(study),
        "forest_paired": lambda: F.forest_plot(comparison, design="paired"),
        "forest_independent": lambda: F.forest_plot(comparison, design="independent"),
    }
    old_rc: dict[Any, Any] = {**RC, "svg.fonttype": "path", "pdf.fonttype": 42,
                              "savefig.bbox": "tight"}

    def old_save(fig: Any) -> None:
        with mpl.rc_context(old_rc):
            for fmt in ("svg", "pdf", "png"):
                fig.savefig(io.BytesIO(), format=fmt, dpi=300, facecolor="white")

    def type3_pdf(fig: Any) -> None:
        with mpl.rc_context({**old_rc, "pdf.fonttype": 3, "savefig.bbox": None}):
            fig.savefig(io.BytesIO(), format="pdf", facecolor="white")

    def type42_pdf(fig: Any) -> None:
        F.render_figure(fig, ("pdf",))

    rows = []
    for name, make in makers.items():
        make()  # warm-up (imports, font cache)
        fig = make()
        rows.append({
            "figure": name,
            "draw_s": round(_best(make, args.reps), 3),
            "old_save_s": round(_best(lambda fig=fig: old_save(fig), args.reps), 3),
            "new_save_s": round(_best(lambda fig=fig: F.render_figure(fig), args.reps), 3),
            "pdf_type42_s": round(_best(lambda fig=fig: type42_pdf(fig), args.reps), 3),
            "pdf_type3_s": round(_best(lambda fig=fig: type3_pdf(fig), args.reps), 3),
        })
    total_old = sum(r["old_save_s"] for r in rows)
    total_new = sum(r["new_save_s"] for r in rows)
    summary = {"old_save_total_s": round(total_old, 3), "new_save_total_s": round(total_new, 3),
               "save_ratio_old_over_new": round(total_old / total_new, 2),
               "draw_total_s": round(sum(r["draw_s"] for r in rows), 3)}
    if args.json:
        print(json.dumps({"figures": rows, **summary}))
        return
    head = list(rows[0])
    print("  ".join(f"{h:>18}" for h in head))
    for r in rows:
        print("  ".join(f"{r[h]!s:>18}" for h in head))
    for k, v in summary.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
