"""Log-log plot of each ``crisis-survey report`` step's time against N per wave.

Reads the JSON lines that ``bench_report.py --json`` prints (one object per size and
grouping) and draws, for each grouping (by group; by group and area), the wall time of the
whole command and of each step against the respondents per wave, on log-log axes, with a
dotted line of slope 1 (time proportional to N) through the smallest size's total for
comparison: a step whose line is steeper than it grows faster than the data.

Usage::

    python benchmarks/bench_report.py --n 10000 100000 1000000 --json > results.jsonl
    python benchmarks/plot_report.py results.jsonl --out docs/img/report_scaling.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _runs(paths: list[Path]) -> list[dict[str, Any]]:
    runs = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip().startswith("{"):
                runs.append(json.loads(line))
    return runs


def plot(runs: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groupings = sorted({" x ".join(r["by"]) for r in runs}, key=len)
    fig, axes = plt.subplots(1, len(groupings), figsize=(6.2 * len(groupings), 4.6),
                             squeeze=False, sharey=True)
    for ax, grouping in zip(axes[0], groupings, strict=True):
        sel = sorted((r for r in runs if " x ".join(r["by"]) == grouping),
                     key=lambda r: r["n_per_wave"])
        ns = [r["n_per_wave"] for r in sel]
        series: dict[str, list[float]] = {"whole report (wall)": [r["wall_s"] for r in sel],
                                          "read + check + link": [r["read_check_link_s"]
                                                                  for r in sel]}
        for step in sel[0]["steps_s"]:
            series[step] = [r["steps_s"].get(step, float("nan")) for r in sel]
        for name, values in series.items():
            style = {"linewidth": 2.6, "color": "black"} if name.startswith("whole") else {}
            ax.plot(ns, [max(v, 1e-2) for v in values], marker="o", label=name, **style)
        if ns:
            base = sel[0]["wall_s"]
            ax.plot(ns, [base * n / ns[0] for n in ns], ":", color="grey",
                    label="slope 1 (time proportional to N)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("respondents per wave (N)")
        ax.set_title(f"crisis-survey report, by {grouping}")
        ax.grid(True, which="both", alpha=0.3)
        loads = ", ".join(f"{r['load_before'][0]:.1f}" for r in sel if "load_before" in r)
        if loads:
            ax.text(0.01, 0.01, f"load average at start: {loads}", transform=ax.transAxes,
                    fontsize=8, color="dimgrey")
    axes[0][0].set_ylabel("seconds (log scale; under 0.01 s drawn at 0.01)")
    axes[0][-1].legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("SYNTHETIC benchmark data (benchmarks/bench_report.py); 2-core shared machine",
                 fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench_report.py --json output")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report_scaling.png")
    args = parser.parse_args(argv)
    plot(_runs(args.results), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
