"""The shipped demo (``python -m crisis_survey demo``), step by step, against a baseline commit.

Runs ``python -m crisis_survey demo --out TMP`` in a fresh process for the code in this
checkout and for a baseline commit (its ``src/`` extracted with ``git archive``), alternating
``--reps`` times, and prints for each: wall clock, CPU time (user + system of the child and
its figure workers, from ``os.wait4``; the report process's own, ``time.process_time`` at its
exit, and the workers' as the rest), peak resident memory, and each step's wall time, read
off the command's own progress lines as they arrive (the time before the first line is
start-up: the interpreter and the imports that the CLI needs before it reads the first
wave). The ratios baseline /
current are taken within the same run. The load average (the project machine has 2 cores
shared by several sessions) is printed before and after every run: wall times move with it,
CPU times much less.

It also checks that two runs of the current code wrote the same files, byte for byte
(``manifest.json`` hashes every file), and lists the files of each format.

Usage::

    python benchmarks/bench_demo.py                      # baseline 356d6ff, 2 runs each
    python benchmarks/bench_demo.py --baseline HEAD~3 --reps 3
    python benchmarks/bench_demo.py --baseline none --reps 2 --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The commit this benchmark's work started from (demo 23.7-27 s CPU there).
DEFAULT_BASELINE = "356d6ff"

#: Progress messages that start a step (first match wins); other lines continue one.
STEPS: list[tuple[str, re.Pattern[str]]] = [
    ("read + check", re.compile(r"^reading and checking")),
    ("link", re.compile(r"^linking the waves")),
    ("audit", re.compile(r"auditing what the release publishes")),
    ("linkage outputs", re.compile(r"linkage outputs")),
    ("compare", re.compile(r"\] comparing the waves")),
    ("models", re.compile(r"\] fitting the change-by-group")),
    ("build tables", re.compile(r"\] building tables")),
    ("write tables", re.compile(r"\] writing \d+ tables")),
    ("figures", re.compile(r"\] drawing figures")),
    ("HTML + Word", re.compile(r"\] writing the HTML and Word")),
    ("manifest", re.compile(r"\] writing the manifest")),
]


def _step_of(line: str) -> str | None:
    for name, pattern in STEPS:
        if pattern.search(line):
            return name
    return None


def _source(ref: str, into: Path) -> Path:
    """``src/`` and ``data/`` of ``ref`` extracted into ``into`` (for the baseline)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src", "data"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: Runs the demo as ``python -m crisis_survey demo --out OUT`` does, and prints the report
#: process's own CPU time on the way out (its figure workers' is the rest of ``wait4``'s).
_WRAPPER = ("import atexit, runpy, sys, time; "
            "atexit.register(lambda: print(f'@own-cpu {time.process_time():.3f}', "
            "file=sys.stderr, flush=True)); "
            "sys.argv = ['crisis_survey', 'demo', '--out', sys.argv[1]]; "
            "runpy.run_module('crisis_survey', run_name='__main__')")


def run_demo(src: Path, out: Path) -> dict[str, Any]:
    """One demo run in a fresh interpreter with ``src`` first on its path."""
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    stamps: list[tuple[float, str]] = []
    own = float("nan")
    for line in proc.stderr:
        if line.startswith("@own-cpu "):
            own = float(line.split()[1])
            continue
        stamps.append((time.perf_counter() - start, line.rstrip("\n")))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit("demo failed:\n" + "\n".join(s for _, s in stamps[-20:]))
    steps: dict[str, float] = {}
    current, since = "start-up", 0.0
    for t, line in stamps:
        name = _step_of(line)
        if name is not None and name != current:
            steps[current] = steps.get(current, 0.0) + t - since
            current, since = name, t
    steps[current] = steps.get(current, 0.0) + wall - since
    steps["exit"] = 0.0
    files = _files(out)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        # the report process alone (user + system) and its figure workers (the rest)
        "cpu_report_s": round(own, 2),
        "cpu_workers_s": round(usage.ru_utime + usage.ru_stime - own, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "steps_s": {k: round(v, 2) for k, v in steps.items() if k != "exit"},
        "files": files,
        "formats": sorted({Path(f).suffix for f in files}),
        "n_files": len(files),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help="git ref of the baseline, or 'none' (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        tmpdir = Path(tmp)
        variants = {"current": ROOT / "src"}
        if args.baseline != "none":
            (tmpdir / "baseline").mkdir()
            variants["baseline"] = _source(args.baseline, tmpdir / "baseline")
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in variants}
        for rep in range(args.reps):
            for name, src in variants.items():
                run = run_demo(src, tmpdir / f"out_{name}_{rep}")
                runs[name].append(run)
                if not args.json:
                    print(f"{name:>8} run {rep + 1}: wall {run['wall_s']:6.2f} s  "
                          f"CPU {run['cpu_s']:6.2f} s (report {run['cpu_report_s']:.2f}, "
                          f"workers {run['cpu_workers_s']:.2f})  peak {run['peak_mib']} MiB  "
                          f"load {run['load'][0]} -> {run['load'][1]}", flush=True)
        cur = runs["current"]
        identical = (all(r["files"] == cur[0]["files"] for r in cur[1:])
                     if len(cur) > 1 else None)  # None: one run, not checked
        summary: dict[str, Any] = {"identical_reruns": identical,
                                   "formats": cur[0]["formats"], "n_files": cur[0]["n_files"]}
        for name, rs in runs.items():
            best = min(rs, key=lambda r: r["cpu_s"])
            summary[name] = {k: v for k, v in best.items() if k != "files"}
        if "baseline" in runs:
            b, c = summary["baseline"], summary["current"]
            summary["ratio_cpu"] = round(b["cpu_s"] / c["cpu_s"], 2)
            summary["ratio_wall"] = round(b["wall_s"] / c["wall_s"], 2)
    if args.json:
        print(json.dumps(summary))
        return summary
    names = list(runs)
    print(f"\nbest run by CPU of {args.reps}; step times are wall clock")
    print(f"{'step':>16}" + "".join(f"{n:>12}" for n in names)
          + ("       ratio" if len(names) > 1 else ""))
    keys = list(dict.fromkeys(k for n in names for k in summary[n]["steps_s"]))
    for k in [*keys, "wall_s", "cpu_s", "cpu_report_s", "cpu_workers_s", "peak_mib"]:
        vals = [summary[n]["steps_s"].get(k, 0.0) if k in keys else summary[n][k]
                for n in names]
        ratio = (f"{vals[1] / vals[0]:12.2f}" if len(vals) > 1 and vals[0] else "")
        print(f"{k:>16}" + "".join(f"{v:12.2f}" for v in vals) + ratio)
    for n in names:
        print(f"{n}: {summary[n]['n_files']} files, formats {' '.join(summary[n]['formats'])}")
    print("current reruns byte-identical: "
          + ("not checked (one run)" if identical is None else str(identical)))
    return summary


if __name__ == "__main__":
    main()
