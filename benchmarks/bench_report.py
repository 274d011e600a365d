"""What users run: the whole ``crisis-survey report`` at national sizes, step by step.

Generates (seeded, SYNTHETIC, in a child process) a two-wave panel with N respondents per
wave (about half of them linked), 10 five-level ordinal, 10 binary and 5 three-level nominal
items asked in both waves, 2 groups and 150 local areas, and writes both waves as CSV with
their codebook. Then, for each N of ``--n`` and each grouping (``by = group``;
``by = group, area``), it runs ``crisis-survey report`` from the CSV files in a fresh process
with the default designs (paired, independent, overlapping) and times:

* the whole command (wall clock) and its peak memory (``ru_maxrss`` of the child);
* each step's share, read off the command's own progress lines (``[step/total +seconds]``;
  reading, checking and linking the waves come before step 1);
* the peer for the tests on the same data: a per-cell loop of scipy/statsmodels calls (what
  an analyst writes without the library), on the cells already split into arrays (the split
  is not timed): ordinal items ``scipy.stats.wilcoxon`` and ``mannwhitneyu``; binary items
  statsmodels' ``mcnemar`` and ``scipy.stats.chi2_contingency`` (``fisher_exact`` where an
  expected count is below 5); nominal items statsmodels'
  ``SquareTable.homogeneity("stuart_maxwell")`` and ``chi2_contingency`` / no overlapping
  test; the overlapping design's partially overlapping t / z tests have no scipy function, so
  the loop computes them per cell with ``scipy.stats.t`` / ``norm`` as an analyst would.
  It prints the loop's time over the report's "comparing the waves" step.

Usage::

    python benchmarks/bench_report.py --n 10000 100000        # two sizes, both groupings
    python benchmarks/bench_report.py --n 1000000 --by group  # one size, one grouping
    python benchmarks/bench_report.py --n 20000 --json        # one JSON object per run

The figures measured on the project machine are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

N_AREAS = 150
ORDINAL, BINARY, NOMINAL = 10, 10, 5


def _spec() -> dict[str, Any]:
    """The crisis-care codebook's administrative fields plus the benchmark's items."""
    spec: dict[str, Any] = json.loads(
        (ROOT / "data" / "schema" / "crisis_care_survey.schema.json").read_text())
    fields = spec["fields"]
    admin = [f for f in fields if f.get("x-role") in (
        "identifier", "link_key", "wave", "group", "area", "date")]

    def like(name: str) -> dict[str, Any]:
        return dict(next(f for f in fields if f["name"] == name))

    items = [dict(like("exp_dignity"), name=f"o{j:02d}", title=f"Ordinal item {j}")
             for j in range(1, ORDINAL + 1)]
    items += [dict(like("svc_ae"), name=f"b{j:02d}", title=f"Binary item {j}")
              for j in range(1, BINARY + 1)]
    items += [dict(like("aware_concordat"), name=f"n{j:02d}", title=f"Nominal item {j}",
                   **{"x-waves": [1, 2]}) for j in range(1, NOMINAL + 1)]
    spec["fields"] = admin + items
    return spec


def _write(folder: Path, n: int, seed: int, formats: tuple[str, ...] = ("csv",)) -> None:
    """Generate the study; write both waves (CSV) and the codebook (child process)."""
    from crisis_survey.codebook._frictionless import codebook_from_dict
    from crisis_survey.synthetic import generate_study, write_study

    spec = _spec()
    (folder / "codebook.json").write_text(json.dumps(spec))
    cb = codebook_from_dict(spec, source=str(folder / "codebook.json"))
    study = generate_study(n_service_users=n * 7 // 10, n_carers=n - n * 7 // 10,
                           return_rate=0.5, n_new_wave2=n // 2, n_areas=N_AREAS, seed=seed,
                           codebook=cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_study(study, folder, formats=list(formats), codebook=cb, readme=False)


_LINE = re.compile(r"^\[(\d+)/(\d+) \+([\d.]+) s\] (.*)$")
_STEPS = {0: "linkage outputs", 1: "compare", 2: "models", 3: "build tables",
          4: "write tables", 5: "figures", 6: "HTML + Word", 7: "manifest + start-up"}


def _phase(step: int, message: str) -> str:
    """The benchmark's name of a progress line's phase."""
    if step == 0:
        for start, name in (("comparing", "compare"), ("audit", "audit")):
            if message.startswith(start):
                return name
        return _STEPS[0]
    return _STEPS.get(step, str(step))


def _report(folder: Path, by: tuple[str, ...]) -> dict[str, Any]:
    """Run ``crisis-survey report`` in a fresh process; wall time, peak memory, steps."""
    plan = folder / f"plan_{'_'.join(by)}.toml"
    plan.write_text("[analysis]\nby = [" + ", ".join(f'"{b}"' for b in by) + "]\n")
    out = folder / f"out_{'_'.join(by)}"
    cmd = [sys.executable, "-m", "crisis_survey", "report",
           "--wave1", str(folder / "synthetic_wave1.csv"),
           "--wave2", str(folder / "synthetic_wave2.csv"),
           "--codebook", str(folder / "codebook.json"), "--plan", str(plan), "--out", str(out)]
    # a wrapper process so that ru_maxrss of its children is this run's alone
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stdout.write(r.stderr); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print('WALL', time.perf_counter() - t, 'RSS', u.ru_maxrss, 'RC', r.returncode, "
               "'CPU', u.ru_utime + u.ru_stime)")
    env = {"PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    load_before = os.getloadavg()
    res = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True,
                         env=env, check=True)
    lines = res.stdout.splitlines()
    wall_line = [ln for ln in lines if ln.startswith("WALL ")][-1].split()
    wall, rss, rc = float(wall_line[1]), int(wall_line[3]), int(wall_line[5])
    cpu = float(wall_line[7])  # user + system of the command and its figure workers
    if rc != 0:
        raise RuntimeError("crisis-survey report failed:\n" + res.stdout[-3000:])
    report_end = wall  # approximately: loading + linking + the steps
    # the report's steps: the seconds of each step's first line, since the start of publish()
    # (step 0 holds publish's own comparison, the release audit and the linkage outputs;
    # the report's step 1 reuses that comparison)
    marks: list[tuple[float, str]] = []
    for ln in lines:
        m = _LINE.match(ln)
        if m:
            phase = _phase(int(m.group(1)), m.group(4))
            if not marks or marks[-1][1] != phase:
                marks.append((float(m.group(3)), phase))
    steps: dict[str, float] = {}
    for (start, phase), nxt in zip(marks, [*marks[1:], None], strict=True):
        took = (nxt[0] - start) if nxt is not None else math_nan()
        steps[phase] = steps.get(phase, 0.0) + took
    linked = [ln for ln in lines if "respondents linked" in ln]
    load_link = float(re.findall(r"\+([\d.]+) s", linked[-1])[0]) if linked else math_nan()
    total_steps = sum(v for v in steps.values() if v == v)
    # what is left of the wall clock: interpreter start, imports, the manifest step
    steps["manifest + start-up"] = max(0.0, wall - load_link - total_steps)
    return {"by": list(by), "wall_s": wall, "cpu_s": cpu, "peak_mib": rss / 1024.0,
            "load_before": load_before, "load_after": os.getloadavg(),
            "read_check_link_s": load_link, "steps_s": steps, "report_end_s": report_end}


def math_nan() -> float:
    return float("nan")


def _cells(study: Any, by: tuple[str, ...]) -> Iterator[tuple[str, str, list[Any]]]:
    """Per item: its measurement and, per by-cell, the pairs' two arrays, the unpaired
    answers of each wave and each wave's answers (level positions; untimed). Each frame is
    sorted by its cell once; per item the columns are only gathered and cut."""
    import pandas as pd

    def key_of(frame: pd.DataFrame, cols: list[Any]) -> np.ndarray:
        key = np.zeros(len(frame), dtype=np.int64)
        for c in cols:
            codes = frame[c].astype("category").cat.codes.to_numpy().astype(np.int64)
            k = max(int(codes.max()) + 1, 1)
            key = np.where((key < 0) | (codes < 0), -1, key * k + codes)
        return key

    pair_cols: list[Any] = [("", "group") if c == "group" else (1, c) for c in by]
    ids = study.codebook.identifier.name
    kp = key_of(study.pairs, pair_cols)
    keys = [key_of(w.data, list(by)) for w in (study.wave1, study.wave2)]
    linked = []
    for w, wave in ((study.wave1, 1), (study.wave2, 2)):
        flag = np.zeros(len(w.data), dtype=bool)
        flag[pd.Index(w.data[ids]).get_indexer(study.pairs[(wave, ids)])] = True
        linked.append(flag)
    top = int(max(kp.max(initial=0), *(k.max(initial=0) for k in keys))) + 1

    def splitter(key: np.ndarray) -> Any:
        order = np.argsort(key, kind="stable")
        cuts = np.cumsum(np.bincount(key[order][key[order] >= 0], minlength=top))[:-1]
        skip = int((key < 0).sum())

        def split(values: np.ndarray) -> list[np.ndarray]:
            return np.split(values[order][skip:], cuts)

        return split

    sp, s1, s2 = splitter(kp), splitter(keys[0]), splitter(keys[1])
    u1, u2 = splitter(np.where(linked[0], -1, keys[0])), splitter(np.where(linked[1], -1,
                                                                            keys[1]))
    for f in study.codebook.items():
        if f.measurement in (None, "text") or f.waves != (1, 2):
            continue
        x = study.pairs[(1, f.name)].cat.codes.to_numpy().astype(float)
        y = study.pairs[(2, f.name)].cat.codes.to_numpy().astype(float)
        a = study.wave1.data[f.name].cat.codes.to_numpy().astype(float)
        b = study.wave2.data[f.name].cat.codes.to_numpy().astype(float)
        parts = [sp(x), sp(y), u1(a), u2(b), s1(a), s2(b)]
        per = []
        for c in range(top):
            xs, ys, ua, ub, aa, bb = (p[c] for p in parts)
            both = (xs >= 0) & (ys >= 0)
            per.append((xs[both], ys[both], ua[ua >= 0], ub[ub >= 0], aa[aa >= 0],
                        bb[bb >= 0]))
        yield f.name, str(f.measurement), per


def _po_t(x: np.ndarray, y: np.ndarray, u1: np.ndarray, u2: np.ndarray) -> float:
    """Partially overlapping t (T_new2) of one cell with scipy's t distribution."""
    from scipy import stats as ss

    a, b = np.concatenate([x, u1]), np.concatenate([y, u2])
    n1, n2, nc = len(a), len(b), len(x)
    if n1 < 2 or n2 < 2:
        return float("nan")
    v1, v2 = a.var(ddof=1), b.var(ddof=1)
    r = float(np.corrcoef(x, y)[0, 1]) if nc >= 2 and x.std() > 0 and y.std() > 0 else 0.0
    se = np.sqrt(max(0.0, v1 / n1 + v2 / n2 - 2 * r * nc * np.sqrt(v1 * v2) / (n1 * n2)))
    e1, e2 = v1 / n1, v2 / n2
    gamma = (e1 + e2) ** 2 / (e1**2 / (n1 - 1) + e2**2 / (n2 - 1)) if e1 + e2 > 0 else 0.0
    na, nb = len(u1), len(u2)
    df = (nc - 1) + (gamma - nc + 1) / (na + nb + 2 * nc) * (na + nb)
    if not se > 0 or not df > 0:
        return float("nan")
    return float(2 * ss.t(df).sf(abs((a.mean() - b.mean()) / se)))


def _po_z(x: np.ndarray, y: np.ndarray, u1: np.ndarray, u2: np.ndarray) -> float:
    from scipy import stats as ss

    a, b = np.concatenate([x, u1]), np.concatenate([y, u2])
    n1, n2, nc = len(a), len(b), len(x)
    if n1 == 0 or n2 == 0:
        return float("nan")
    p1, p2 = a.mean(), b.mean()
    r = float(np.corrcoef(x, y)[0, 1]) if nc >= 2 and x.std() > 0 and y.std() > 0 else 0.0
    pb = (n1 * p1 + n2 * p2) / (n1 + n2)
    w = pb * (1 - pb)
    se = np.sqrt(max(0.0, w / n1 + w / n2 - 2 * r * w * nc / (n1 * n2)))
    return float(2 * ss.norm().sf(abs((p1 - p2) / se))) if se > 0 else float("nan")


def _loop(study: Any, by: tuple[str, ...]) -> tuple[float, int]:
    """Seconds of the per-cell scipy/statsmodels loop (splitting not timed), and cells."""
    from scipy import stats as ss
    from statsmodels.stats.contingency_tables import SquareTable, mcnemar

    spent, n = 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, measurement, per in _cells(study, by):
            n += len(per)
            t0 = time.perf_counter()
            for x, y, u1, u2, a, b in per:
                k = 5 if measurement == "ordinal" else (2 if measurement == "binary" else 3)
                if measurement == "ordinal":
                    if len(x) >= 5 and np.any(x != y):
                        ss.wilcoxon(x, y, correction=True, method="approx")
                    if min(len(a), len(b)) >= 5:
                        ss.mannwhitneyu(a, b, use_continuity=True, method="asymptotic")
                    _po_t(x, y, u1, u2)
                    continue
                if len(x) >= 5:
                    tab = np.zeros((k, k))
                    np.add.at(tab, (x.astype(int), y.astype(int)), 1)
                    if measurement == "binary":
                        mcnemar(tab, exact=False, correction=False)
                    elif tab.sum() - np.trace(tab) > 0:
                        SquareTable(tab, shift_zeros=False).homogeneity("stuart_maxwell")
                if min(len(a), len(b)) >= 5:
                    tab2 = np.array([np.bincount(a.astype(int), minlength=k),
                                     np.bincount(b.astype(int), minlength=k)])
                    tab2 = tab2[:, tab2.sum(axis=0) > 0]
                    if tab2.shape[1] >= 2:
                        _, _, _, expected = ss.chi2_contingency(tab2, correction=False)
                        if expected.min() < 5 and tab2.shape[1] == 2:
                            ss.fisher_exact(tab2)
                if measurement == "binary":
                    _po_z(x, y, u1, u2)
            spent += time.perf_counter() - t0
    return spent, n


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000],
                        help="respondents per wave (several sizes allowed)")
    parser.add_argument("--by", choices=("group", "area", "both"), default="both",
                        help="group: by group only; area: by group and area; both (default)")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--no-loop", action="store_true", help="skip the scipy loop")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)  # child process
    parser.add_argument("--formats", nargs="+", default=["csv"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        _write(Path(args.write), int(args.n[0]), args.seed, tuple(args.formats))
        return []
    groupings = {"group": [("group",)], "area": [("group", "area")],
                 "both": [("group",), ("group", "area")]}[args.by]
    results: list[dict[str, Any]] = []
    for n in args.n:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            subprocess.run([sys.executable, __file__, "--write", tmp, "--n", str(n),
                            "--seed", str(args.seed)], check=True)
            size = sum((folder / f"synthetic_wave{w}.csv").stat().st_size for w in (1, 2))
            study = None
            if not args.no_loop:
                from crisis_survey.codebook import load_codebook
                from crisis_survey.link import link_waves
                from crisis_survey.load import load_wave

                cb = load_codebook(folder / "codebook.json")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    study = link_waves(*(load_wave(folder / f"synthetic_wave{w}.csv", cb,
                                                   wave=w) for w in (1, 2)))
            for by in groupings:
                run = _report(folder, by)
                run.update(n_per_wave=n, csv_mib=size / 2**20)
                if study is not None:
                    loop_s, cells = _loop(study, by)
                    run.update(loop_s=loop_s, loop_cells=cells,
                               loop_over_compare=loop_s / run["steps_s"]["compare"])
                results.append(run)
                if args.json:
                    print(json.dumps(run))
                else:
                    _print(run)
    return results


def _print(run: dict[str, Any]) -> None:
    steps = run["steps_s"]
    wall = run["wall_s"]
    parts = [f"read+check+link {run['read_check_link_s']:.1f} s "
             f"({100 * run['read_check_link_s'] / wall:.0f}%)"]
    parts += [f"{k} {v:.1f} s ({100 * v / wall:.0f}%)" for k, v in steps.items()]
    print(f"N = {run['n_per_wave']:,} per wave, by {' x '.join(run['by'])}: "
          f"report {wall:.1f} s (CPU {run['cpu_s']:.1f} s), peak {run['peak_mib']:.0f} MiB "
          f"(CSV {run['csv_mib']:.0f} MiB; load average {run['load_before'][0]:.1f} before, "
          f"{run['load_after'][0]:.1f} after)")
    print("   " + "; ".join(parts))
    if "loop_s" in run:
        print(f"   per-cell scipy/statsmodels loop over {run['loop_cells']:,} item cells: "
              f"{run['loop_s']:.1f} s = {run['loop_over_compare']:.1f} x the report's "
              "compare step")


if __name__ == "__main__":
    main()
