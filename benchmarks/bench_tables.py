"""The table writers on long tables: time per row of each format at 1,000 to 8,000 rows.

A by-area comparison table has one row per group x area x item (150 areas, 2 groups and 25
items: 7,500 rows). This builds tables of that shape (row groups of 25 items, the eight
display columns of :func:`~crisis_survey.present.comparison_table`: ``n``, both waves' %,
test, statistic, p, adjusted p, effect size with its interval; a few withheld cells) at
``--rows`` rows and times each writer of :mod:`crisis_survey.present._render` on it: the HTML
page, Markdown, LaTeX, Word, Excel and CSV. It prints the seconds, the microseconds per row
and, per format, the ratio of the time per row at the largest size to the smallest (1.0 is
linear; 8.0 at 8k/1k is quadratic).

``--reference`` also times the plain great_tables HTML (``_render._to_html_reference``, what
``to_html`` was before its body was written by the library) up to ``--reference-max`` rows.

Usage::

    python benchmarks/bench_tables.py                      # 1k 2k 4k 8k rows
    python benchmarks/bench_tables.py --rows 1000 2000 --reference
    python benchmarks/bench_tables.py --json

CPU time (``time.process_time``) of one call per size; the load average is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def long_table(rows: int) -> Any:
    """A comparison-shaped :class:`PublicationTable` of ``rows`` rows (25 items per cell)."""
    import pandas as pd

    from crisis_survey.present._tables import PublicationTable

    records = []
    for k in range(rows):
        cell, item = divmod(k, 25)
        hidden = k % 17 == 3
        records.append({
            "group": f"{'Service user' if cell % 2 == 0 else 'Carer'} · Area {cell // 2:03d}",
            "item": f"Ordinal item {item + 1}: how well were you listened to?",
            "n": "[c]" if hidden else f"{40 + k % 90:,}",
            "wave1": "–" if hidden else f"{30 + (k * 7) % 60}.{k % 10}",
            "wave2": "–" if hidden else f"{25 + (k * 11) % 65}.{(k * 3) % 10}",
            "test": "Wilcoxon" if item < 10 else ("McNemar" if item < 20 else "Stuart-Maxwell"),
            "statistic": "–" if hidden else f"V\u00a0=\u00a0{(k * 13) % 900:,}.50",
            "p": "< .05" if hidden else f".{(k * 37) % 1000:03d}",
            "p_adj": "< .05" if hidden else f".{(k * 41) % 1000:03d}",
            "effect": "–" if hidden else f"r\u00a0=\u00a0.{(k * 7) % 60:02d} [.{(k * 3) % 30:02d}, "
                                          f".{30 + (k * 5) % 60:02d}]",
        })
    data = pd.DataFrame(records)
    labels = {"n": "n", "wave1": "Wave 1 (%)", "wave2": "Wave 2 (%)", "test": "Test",
              "statistic": "Statistic", "p": "p", "p_adj": "Adjusted p",
              "effect": "Effect size [95% CI]"}
    return PublicationTable(
        name="comparison_paired", title="Change between the survey waves, by group and area",
        data=data, stub="item", row_group="group", column_labels=labels,
        notes=("Counts below 10 are withheld (shown as '[c]'); values derived from them "
               "are shown as '–'.",)).numbered(7)


def _writers() -> dict[str, Callable[[Any], Any]]:
    from crisis_survey.present import _render as R

    return {
        "html": lambda t: R.html_document([t], t.title),
        "md": R.to_markdown,
        "tex": R.to_latex,
        "docx": R.to_docx,
        "xlsx": R.to_xlsx,
        **({"csv": R.to_csv} if hasattr(R, "to_csv") else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--formats", nargs="+", default=None)
    parser.add_argument("--reference", action="store_true",
                        help="also time the plain great_tables HTML")
    parser.add_argument("--reference-max", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from crisis_survey.present import _render as R

    writers = _writers()
    if args.formats:
        writers = {k: v for k, v in writers.items() if k in args.formats}
    if args.reference and hasattr(R, "_to_html_reference"):
        writers["html_reference"] = lambda t: R._to_html_reference(t)
    writers["html"](long_table(50))  # warm-up: imports
    results: dict[str, dict[int, float]] = {}
    for rows in args.rows:
        table = long_table(rows)
        for name, write in writers.items():
            if name == "html_reference" and rows > args.reference_max:
                continue
            t = time.process_time()
            write(table)
            took = time.process_time() - t
            results.setdefault(name, {})[rows] = took
            line = {"format": name, "rows": rows, "seconds": round(took, 3),
                    "us_per_row": round(took / rows * 1e6, 1), "load": os.getloadavg()[0]}
            print(json.dumps(line) if args.json else
                  f"{name:15s} {rows:6,d} rows {took:8.3f} s {took / rows * 1e6:9.1f} us/row"
                  f"   (load {line['load']:.2f})", flush=True)
    print()
    for name, times in results.items():
        sizes = sorted(times)
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            ratio = (times[hi] / hi) / (times[lo] / lo) if times[lo] > 0 else float("nan")
            print(f"{name:15s} time per row {hi:,} / {lo:,} rows: {ratio:.2f} "
                  f"(total {times[hi] / times[lo]:.1f}x for {hi / lo:.0f}x the rows)")


if __name__ == "__main__":
    main()
