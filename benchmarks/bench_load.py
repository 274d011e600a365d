"""CSV load benchmark: ``load_wave`` against ``pandas.read_csv(engine="pyarrow")``.

Writes (seeded, SYNTHETIC) a wave-1 CSV of the shipped codebook of about ``--mb`` megabytes
by repeating the rows of ``data/sample/synthetic_wave1.csv`` with fresh identifiers, then, each
in a fresh interpreter so that peak memory (``ru_maxrss``) is that step's alone:

(a) ``load_wave(path, wave=1)``: read, validate every cell against the codebook, convert;
(b) ``pandas.read_csv(path, engine="pyarrow")``: the parse alone, types guessed by pyarrow.

It prints the file size, each time, the ratio (a)/(b) and each peak memory divided by the
file size. The figures measured on the project machine are in ``docs/performance.md``.

Usage::

    python benchmarks/bench_load.py --mb 100
    python benchmarks/bench_load.py --mb 1000 --reps 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "synthetic_wave1.csv"

_RUN = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, {src!r})
warnings.simplefilter("ignore")
path = {path!r}
t0 = time.perf_counter()
if {which!r} == "load_wave":
    from crisis_survey import load_wave
    w = load_wave(path, wave=1)
    rows = len(w.data)
else:
    import pandas as pd
    rows = len(pd.read_csv(path, engine="pyarrow"))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": seconds, "peak_bytes": peak, "rows": rows}}))
"""


def write_csv(path: Path, megabytes: float) -> int:
    """Repeat the sample's data rows, each copy with its own identifiers; return the rows."""
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    header, body = lines[0], [ln for ln in lines[1:] if ln]
    # a multi-line quoted comment spans lines: keep whole records only (pandas splits them)
    import csv
    import io

    records = list(csv.reader(io.StringIO("\n".join(body) + "\n")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for rec in records:
        writer.writerow(rec)
    block = out.getvalue().split("\n")[:-1]
    target = int(megabytes * 1_000_000)
    written = 0
    rows = 0
    copy = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        while written < target:
            prefix = f"C{copy:05d}-"
            chunk = "\n".join(prefix + rec for rec in _records(block)) + "\n"
            fh.write(chunk)
            written += len(chunk)
            rows += len(records)
            copy += 1
    return rows


def _records(block: list[str]) -> list[str]:
    """Physical lines joined back into records (a quoted field may hold a newline)."""
    out: list[str] = []
    pending = ""
    for line in block:
        pending = f"{pending}\n{line}" if pending else line
        if pending.count('"') % 2 == 0:
            out.append(pending)
            pending = ""
    return out


def run(which: str, path: Path) -> dict[str, float]:
    code = _RUN.format(src=str(ROOT / "src"), path=str(path), which=which)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=100.0, help="file size in megabytes")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wave1.csv"
        rows = write_csv(path, args.mb)
        size = path.stat().st_size
        results: dict[str, list[dict[str, float]]] = {"load_wave": [], "pandas": []}
        for _ in range(args.reps):
            for which in results:
                results[which].append(run(which, path))
    ours = statistics.median(r["seconds"] for r in results["load_wave"])
    theirs = statistics.median(r["seconds"] for r in results["pandas"])
    peak_ours = max(r["peak_bytes"] for r in results["load_wave"])
    peak_theirs = max(r["peak_bytes"] for r in results["pandas"])
    summary = {
        "file_mb": size / 1e6, "rows": rows, "reps": args.reps,
        "load_wave_s": ours, "pandas_pyarrow_s": theirs, "time_ratio": ours / theirs,
        "load_wave_peak_mb": peak_ours / 1e6, "load_wave_peak_over_size": peak_ours / size,
        "pandas_peak_mb": peak_theirs / 1e6, "pandas_peak_over_size": peak_theirs / size,
        "rows_kept": results["load_wave"][0]["rows"],
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"CSV {size / 1e6:,.0f} MB, {rows:,} rows (median of {args.reps})")
    print(f"  load_wave               {ours:7.2f} s   peak {peak_ours / 1e6:8,.0f} MB "
          f"= {peak_ours / size:4.2f} x file")
    print(f"  pandas read_csv pyarrow {theirs:7.2f} s   peak {peak_theirs / 1e6:8,.0f} MB "
          f"= {peak_theirs / size:4.2f} x file")
    print(f"  time ratio load_wave / pandas pyarrow: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
