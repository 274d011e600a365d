"""CSV load benchmark: ``load_wave`` against ``pandas.read_csv(engine="pyarrow")``.

Writes (seeded, SYNTHETIC) a wave-1 CSV of the shipped codebook of about ``--mb`` megabytes
by repeating the rows of ``data/sample/synthetic_wave1.csv`` with fresh identifiers, then, each
in a fresh interpreter so that peak memory (``ru_maxrss``) is that step's alone:

(a) ``load_wave(path, wave=1)``: read, validate every cell against the codebook, convert;
(b) ``pandas.read_csv(path, engine="pyarrow")``: the parse alone, types guessed by pyarrow.

(c) the interpreter and the imports alone (the floor under both peaks).

Each child's peak resident memory is its own ``ru_maxrss`` as ``os.wait4`` reports it. It
prints the file size, each time, the time ratio (a)/(b), each peak divided by the file size
and the peak ratio (a)/(b), also above (c). ``--src`` measures another checkout's
``load_wave`` (an earlier commit). Every child imports pandas, pyarrow and crisis_survey
before its clock starts, so both times leave the imports out and all three peaks share the
same floor. The figures measured on the project machine are in ``docs/performance.md``.

Usage::

    python benchmarks/bench_load.py --mb 100
    python benchmarks/bench_load.py --mb 1000 --reps 1
    python benchmarks/bench_load.py --mb 100 1000 --reps 1 --src /path/to/old/checkout/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "synthetic_wave1.csv"

_RUN = r"""
import json, sys, time, warnings
sys.path.insert(0, {src!r})
warnings.simplefilter("ignore")
path = {path!r}
import pandas as pd
import pyarrow.csv
from crisis_survey import load_wave
t0 = time.perf_counter()
if {which!r} == "load_wave":
    w = load_wave(path, wave=1)
    rows = len(w.data)
elif {which!r} == "pandas":
    rows = len(pd.read_csv(path, engine="pyarrow"))
else:  # the interpreter and the imports alone
    rows = 0
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "rows": rows}}))
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


def run(which: str, path: Path, src: Path) -> dict[str, float]:
    """Time one step in a child interpreter; its peak resident memory is the child's own
    ``ru_maxrss`` as ``os.wait4`` reports it (Linux: kilobytes)."""
    code = _RUN.format(src=str(src), path=str(path), which=which)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{which} failed:\n{err}")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["peak_bytes"] = usage.ru_maxrss * 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[100.0],
                        help="file sizes in megabytes (each measured in turn)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the src/ folder whose load_wave is measured (e.g. a checkout "
                             "of an earlier commit, for a before/after in one run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    summaries = [measure(mb, args.reps, args.src) for mb in args.mb]
    if args.json:
        print(json.dumps(summaries))
        return
    for summary in summaries:
        report(summary)


def measure(megabytes: float, reps: int, src: Path) -> dict[str, float]:
    """Write a file of about ``megabytes`` and measure each step ``reps`` times."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wave1.csv"
        rows = write_csv(path, megabytes)
        size = path.stat().st_size
        results: dict[str, list[dict[str, float]]] = {"load_wave": [], "pandas": [],
                                                      "imports": []}
        for _ in range(reps):
            for which in results:
                results[which].append(run(which, path, src))
    ours = statistics.median(r["seconds"] for r in results["load_wave"])
    theirs = statistics.median(r["seconds"] for r in results["pandas"])
    peak_ours = max(r["peak_bytes"] for r in results["load_wave"])
    peak_theirs = max(r["peak_bytes"] for r in results["pandas"])
    base = max(r["peak_bytes"] for r in results["imports"])
    return {
        "file_mb": size / 1e6, "rows": rows, "reps": reps,
        "load_wave_s": ours, "pandas_pyarrow_s": theirs, "time_ratio": ours / theirs,
        "load_wave_peak_mb": peak_ours / 1e6, "load_wave_peak_over_size": peak_ours / size,
        "pandas_peak_mb": peak_theirs / 1e6, "pandas_peak_over_size": peak_theirs / size,
        "imports_peak_mb": base / 1e6, "peak_ratio": peak_ours / peak_theirs,
        "peak_ratio_above_imports": (peak_ours - base) / (peak_theirs - base),
        "load_wave_above_imports_over_size": (peak_ours - base) / size,
        "rows_kept": results["load_wave"][0]["rows"],
    }


def report(s: dict[str, float]) -> None:
    size = s["file_mb"]
    print(f"CSV {size:,.0f} MB, {s['rows']:,} rows (time: median of {s['reps']}; "
          "peak: largest)")
    print(f"  load_wave               {s['load_wave_s']:7.2f} s   peak "
          f"{s['load_wave_peak_mb']:8,.0f} MB = {s['load_wave_peak_over_size']:4.2f} x file")
    print(f"  pandas read_csv pyarrow {s['pandas_pyarrow_s']:7.2f} s   peak "
          f"{s['pandas_peak_mb']:8,.0f} MB = {s['pandas_peak_over_size']:4.2f} x file")
    print(f"  imports alone                       peak {s['imports_peak_mb']:8,.0f} MB")
    print(f"  time ratio load_wave / pandas pyarrow: {s['time_ratio']:.2f}")
    print(f"  peak ratio load_wave / pandas pyarrow: {s['peak_ratio']:.2f} "
          f"({s['peak_ratio_above_imports']:.2f} above the imports; load_wave above the "
          f"imports = {s['load_wave_above_imports_over_size']:.2f} x file)")


if __name__ == "__main__":
    main()
