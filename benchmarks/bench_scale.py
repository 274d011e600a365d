"""Scale benchmark of compare_waves against a per-cell scipy loop and the counting floor.

Generates (seeded, SYNTHETIC) a two-wave panel with N respondents per wave (about half of them
linked across waves), 30 five-level Likert items, 2 groups and 150 local areas, writes wave 1
to Parquet and times, as the median of ``--reps`` repetitions:

(a) ``compare_waves(study, designs=("paired", "independent"))``: the library's full wave
    comparison (signed-rank and Mann-Whitney tests, effect sizes with intervals, summaries,
    Holm adjustment) for all items x groups;
(b) the same for all items x groups x local areas (``by=("group", "area")``);
(c) the baseline an analyst writes today: a loop calling ``scipy.stats.wilcoxon`` and
    ``scipy.stats.mannwhitneyu`` per cell, on the same data already split into one array per
    cell (items x groups, and items x groups x areas);
(d) the counting floor as issue 5 defines it: one ``numpy.bincount`` per item column (both
    waves) over the ``group x level`` key. (The library packs several items into one compiled
    counting pass and counts on two cores, so (a) can come in under this "floor"; see
    docs/performance.md.)

(e) every design and every kind of item: ``compare_waves`` with its default designs
    (paired, independent, overlapping) on 10 ordinal, 10 binary and 5 nominal items (a second
    study, generated as ``benchmarks/bench_report.py`` does), by group and by group and area,
    against the per-cell scipy/statsmodels loop of ``bench_report.py`` (Wilcoxon,
    Mann-Whitney, McNemar, Stuart-Maxwell, chi-square or Fisher, and the partially
    overlapping t / z tests with scipy's t / normal distribution per cell). Both are timed
    in wall seconds (the goal's ratio) and in CPU seconds (the library's every thread, the
    loop's one: what the shared machine's load moves least).

It also times ``import crisis_survey`` (fresh interpreter), the first ``compare_waves`` call of
the process on its own (it imports numba and loads the compiled counting kernels from numba's
cache, or compiles them once), and reading + validating the N-row wave-1 Parquet file
(``load_wave``), records peak memory (``ru_maxrss``), and checks
that (a) and (c) give the same p-values. The scipy options that equal our asymptotic tests
(and R's ``wilcox.test(..., exact = FALSE, correct = TRUE)``): ``wilcoxon(x, y,
zero_method="wilcox", correction=True, method="approx")`` (zero differences dropped before
ranking, as R does) and ``mannwhitneyu(x, y, use_continuity=True, method="asymptotic")``;
both use the tie-corrected variance.

Usage::

    python benchmarks/bench_scale.py                      # N = 1,000,000, 3 repetitions
    python benchmarks/bench_scale.py --n 20000 --reps 1 --json

With ``--json`` it prints one JSON object (keys ``speedup_vs_loop``, ``speedup_vs_loop_areas``,
``ratio_to_floor``, ``peak_mib``, ``max_rel_p_diff`` and the raw timings). The figures measured
on the project machine are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

N_ITEMS = 30
N_AREAS = 150


def _codebook() -> Any:
    """The crisis-care codebook's administrative fields plus 30 five-level Likert items."""
    from crisis_survey.codebook._frictionless import codebook_from_dict

    spec = json.loads((ROOT / "data" / "schema" / "crisis_care_survey.schema.json").read_text())
    admin = [f for f in spec["fields"] if f.get("x-role") in (
        "identifier", "link_key", "wave", "group", "area", "date")]
    likert = next(f for f in spec["fields"] if f["name"] == "exp_dignity")
    items = [dict(likert, name=f"q{j:02d}", title=f"Likert item {j}")
             for j in range(1, N_ITEMS + 1)]
    spec["fields"] = admin + items
    return codebook_from_dict(spec, source="bench_scale")


def _write(folder: Path, n: int, seed: int) -> None:
    """Generate the study and write both waves as Parquet (run in a child process)."""
    from crisis_survey.synthetic import generate_study, write_study

    cb = _codebook()
    # wave 1: N people; half of them answer again; N/2 new people in wave 2 (so wave 2 has
    # about N rows); repeat submissions, typed keys and blanks follow docs/sample-study.md
    synthetic = generate_study(n_service_users=n * 7 // 10, n_carers=n - n * 7 // 10,
                               return_rate=0.5, n_new_wave2=n // 2, n_areas=N_AREAS,
                               seed=seed, codebook=cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_study(synthetic, folder, formats=["parquet"], codebook=cb, readme=False)


def _median_time(fn: Callable[[], Any], reps: int, cpu: list[float] | None = None
                 ) -> tuple[float, Any]:
    """Median wall seconds of ``reps`` calls and the last result; with ``cpu``, the median
    CPU seconds of the process (every thread's: the counting runs on two) is appended."""
    times, cpus, out = [], [], None
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return statistics.median(times), out


def _loop_cpu(br: Any, study: Any, by: tuple[str, ...]) -> float:
    """CPU seconds of ``bench_report._loop``'s timed parts (its clock read as the process's
    CPU time: the loop is one thread, so that is the loop's own CPU, whatever the load)."""
    from unittest import mock

    with mock.patch.object(br.time, "perf_counter", time.process_time):
        return float(br._loop(study, by)[0])


def _import_time() -> float:
    """Seconds for ``import crisis_survey`` in a fresh interpreter (``-X importtime``)."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); import crisis_survey"
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                         capture_output=True, text=True, check=True)
    lines = [ln for ln in res.stderr.splitlines() if ln.rstrip().endswith("| crisis_survey")]
    return int(lines[-1].split("|")[1]) / 1e6


def _split(study: Any, items: list[str], by: tuple[str, ...]) -> Iterator[list[tuple[Any, ...]]]:
    """Per item, per cell (by-value): the complete pairs' two arrays and the two waves'
    arrays, as level positions (float), exactly the rows compare_waves uses. Untimed; one item
    at a time, so memory holds one item's arrays."""
    import pandas as pd

    def cell_codes(frame: pd.DataFrame, cols: list[Any]) -> tuple[np.ndarray, list[str]]:
        parts = [frame[c].astype("category") for c in cols]
        key = parts[0].cat.codes.to_numpy().astype(np.int64)
        labels = [str(x) for x in parts[0].cat.categories]
        for p in parts[1:]:
            k = len(p.cat.categories)
            key = np.where((key < 0) | (p.cat.codes.to_numpy() < 0), -1,
                           key * k + p.cat.codes.to_numpy())
            labels = [f"{a} / {b}" for a in labels for b in map(str, p.cat.categories)]
        return key, labels

    def splitter(key: np.ndarray, labels: list[str]) -> Callable[..., dict[str, Any]]:
        order = np.argsort(key, kind="stable")  # once per layout; per item only gathers
        ks = key[order]

        def split(*values: np.ndarray) -> dict[str, Any]:
            vs = [v[order] for v in values]
            ok = ks >= 0
            for v in vs:
                ok &= v >= 0
            counts = np.bincount(ks[ok], minlength=len(labels))
            cuts = np.cumsum(counts)[:-1]
            parts = [np.split(v[ok], cuts) for v in vs]
            return {lab: tuple(p[i] for p in parts) for i, lab in enumerate(labels)}

        return split

    pair_cols: list[Any] = [("", "group") if c == "group" else (1, c) for c in by]
    split_p = splitter(*cell_codes(study.pairs, pair_cols))
    split_1 = splitter(*cell_codes(study.wave1.data, list(by)))
    split_2 = splitter(*cell_codes(study.wave2.data, list(by)))
    for item in items:
        x = study.pairs[(1, item)].cat.codes.to_numpy().astype(float)
        y = study.pairs[(2, item)].cat.codes.to_numpy().astype(float)
        a = study.wave1.data[item].cat.codes.to_numpy().astype(float)
        b = study.wave2.data[item].cat.codes.to_numpy().astype(float)
        sp, s1, s2 = split_p(x, y), split_1(a), split_2(b)
        yield [(item, label, *sp[label], *s1[label], *s2[label])
               for label in sorted(set(sp) & set(s1) & set(s2))]


def _scipy_loop(study: Any, items: list[str], by: tuple[str, ...]
                ) -> tuple[float, int, dict[tuple[str, str, str], float]]:
    """Seconds spent in scipy's tests over every cell (splitting not timed), cells, p-values."""
    from scipy import stats as ss

    p: dict[tuple[str, str, str], float] = {}
    spent, n_cells = 0.0, 0
    for cells in _split(study, items, by):
        n_cells += len(cells)
        t0 = time.perf_counter()
        for item, label, x, y, a, b in cells:
            if len(x) and np.any(x != y):
                p[(item, label, "paired")] = float(ss.wilcoxon(
                    x, y, zero_method="wilcox", correction=True, method="approx").pvalue)
            if len(a) and len(b):
                p[(item, label, "independent")] = float(ss.mannwhitneyu(
                    a, b, use_continuity=True, alternative="two-sided",
                    method="asymptotic").pvalue)
        spent += time.perf_counter() - t0
    return spent, n_cells, p


def _median_loop(study: Any, items: list[str], by: tuple[str, ...], reps: int
                 ) -> tuple[float, int, dict[tuple[str, str, str], float]]:
    runs = [_scipy_loop(study, items, by) for _ in range(reps)]
    return statistics.median(r[0] for r in runs), runs[0][1], runs[0][2]


def _floor(study: Any, items: list[str]) -> Callable[[], int]:
    """One bincount per item column of each wave over ``group * (k + 1) + level + 1``."""
    prepared = []
    for w in (study.wave1, study.wave2):
        g = w.data["group"].array.codes.astype(np.int64)
        offset = np.where(g >= 0, g * 6 + 1, 12)  # 5 levels + missing; rows without a group
        cols = [w.data[i].array.codes.view(np.uint8) for i in items]  # -1 -> 255
        prepared.append((offset, cols))

    def run() -> int:
        total = 0
        for offset, cols in prepared:
            for c in cols:
                total += int(np.bincount(offset + (c + np.uint8(1)), minlength=13)[0])
        return total

    return run


def _all_kinds(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """(e): every design and every kind of item, on a second study (10 ordinal, 10 binary and
    5 nominal items; bench_report.py's generator and per-cell scipy/statsmodels loop)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_report as br

    from crisis_survey.codebook import load_codebook
    from crisis_survey.compare import compare_waves
    from crisis_survey.link import link_waves
    from crisis_survey.load import load_wave

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_report.py"),
                        "--write", tmp, "--n", str(n), "--seed", str(args.seed),
                        "--formats", "parquet"], check=True)
        cb_e = load_codebook(Path(tmp) / "codebook.json")
        study_e = link_waves(*(load_wave(Path(tmp) / f"synthetic_wave{w}.parquet", cb_e,
                                         wave=w) for w in (1, 2)))
    # the first call of each item kind and layout (numba loading its cached kernels, lazy
    # imports) is timed on its own elsewhere ("first call"), not here: warm up one item of
    # each kind, by group and by group and area
    for by in (("group",), ("group", "area")):
        compare_waves(study_e, items=["o01", "b01", "n01"], by=by)
    cpu: list[float] = []
    e_s, res_e = _median_time(lambda: compare_waves(study_e), args.reps, cpu)
    ea_s, res_ea = _median_time(lambda: compare_waves(study_e, by=("group", "area")),
                                args.reps, cpu)
    le_s, cells_e = br._loop(study_e, ("group",))
    lea_s, cells_ea = br._loop(study_e, ("group", "area"))
    # the same loops again, timed in CPU seconds: on the shared machine the wall clock of
    # the one-thread loop and of the library's two counting threads move with the load
    lc = [_loop_cpu(br, study_e, by) for by in (("group",), ("group", "area"))]

    return {
        "all_kinds_groups_s": e_s, "all_kinds_areas_s": ea_s,
        "all_kinds_rows_groups": len(res_e.table), "all_kinds_rows_areas": len(res_ea.table),
        "all_kinds_loop_groups_s": le_s, "all_kinds_loop_areas_s": lea_s,
        "all_kinds_cells_groups": cells_e, "all_kinds_cells_areas": cells_ea,
        "all_kinds_speedup_vs_loop": le_s / e_s,
        "all_kinds_speedup_vs_loop_areas": lea_s / ea_s,
        "all_kinds_cpu_groups_s": cpu[0], "all_kinds_cpu_areas_s": cpu[1],
        "all_kinds_loop_cpu_groups_s": lc[0], "all_kinds_loop_cpu_areas_s": lc[1],
        "all_kinds_cpu_ratio": lc[0] / cpu[0], "all_kinds_cpu_ratio_areas": lc[1] / cpu[1],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents per wave")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--kinds", choices=("all", "ordinal", "e"), default="all",
                        help="ordinal: skip (e), every design and item kind; e: only (e)")
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    say: Callable[[str], None] = (lambda s: None) if args.json else print

    if args.write:
        _write(Path(args.write), int(args.n), args.seed)
        return {}
    if args.kinds == "e":
        load = os.getloadavg()
        k = _all_kinds(args, int(args.n))
        k.update(n_per_wave=int(args.n), reps=args.reps, load_before=load,
                 load_after=os.getloadavg(),
                 peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        print(json.dumps(k) if args.json else _kinds_line(k))
        return k
    import_s = _import_time()
    from crisis_survey.compare import compare_waves
    from crisis_survey.link import link_waves
    from crisis_survey.load import load_wave

    cb = _codebook()
    n = int(args.n)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the data are generated and written by a child process, so that the peak memory
        # reported is the analysis': loading, linking, comparing and the scipy baseline
        subprocess.run([sys.executable, __file__, "--write", tmp, "--n", str(n),
                        "--seed", str(args.seed)], check=True)
        paths = [Path(tmp) / f"synthetic_wave{w}.parquet" for w in (1, 2)]
        load_s, w1 = _median_time(lambda: load_wave(paths[0], cb, wave=1), args.reps)
        w2 = load_wave(paths[1], cb, wave=2)
    study = link_waves(w1, w2)
    items = [f"q{j:02d}" for j in range(1, N_ITEMS + 1)]
    say(f"data: wave 1 {len(w1.data):,} rows, wave 2 {len(w2.data):,} rows, "
        f"{len(study.pairs):,} linked pairs, {N_ITEMS} items, {N_AREAS} areas "
        f"(generated, written, loaded and linked in {time.perf_counter() - t0:.1f} s)")

    designs = ("paired", "independent")
    # the first call of a process imports numba and loads the compiled kernels from its cache
    # (or compiles them, 2-3 s, when there is no cache yet): timed on its own, not in (a)
    t_first = time.perf_counter()
    compare_waves(study, items=items[:1], designs=designs)
    first_s = time.perf_counter() - t_first
    a_s, res_a = _median_time(lambda: compare_waves(study, items=items, designs=designs),
                              args.reps)
    b_s, res_b = _median_time(lambda: compare_waves(study, items=items, designs=designs,
                                                    by=("group", "area")), args.reps)
    c_s, cells_g, p_loop = _median_loop(study, items, ("group",), args.reps)
    ca_s, cells_a, _ = _median_loop(study, items, ("group", "area"), args.reps)
    d_s, _ = _median_time(_floor(study, items), max(args.reps, 5))

    # (e) every design and every kind of item, on a second study (10 ordinal, 10 binary and
    # 5 nominal items; bench_report.py's generator and per-cell loop)
    kinds = _all_kinds(args, n) if args.kinds == "all" else {}

    table = res_a.table
    diffs = []

    for row in table.itertuples(index=False):
        ref = p_loop.get((row.item, row.group, row.design))
        if ref is not None and not np.isnan(row.p_value):
            diffs.append(abs(row.p_value - ref) / max(abs(ref), 1e-300))
    max_rel = float(max(diffs)) if diffs else float("nan")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    result = {
        "n_per_wave": n, "rows_wave1": len(w1.data), "rows_wave2": len(w2.data),
        "pairs": len(study.pairs), "items": N_ITEMS, "areas": N_AREAS, "reps": args.reps,
        "cells_groups": cells_g, "cells_areas": cells_a,
        "rows_a": len(res_a.table), "rows_b": len(res_b.table),
        "compare_groups_s": a_s, "compare_areas_s": b_s, "scipy_loop_groups_s": c_s,
        "scipy_loop_areas_s": ca_s, "floor_s": d_s,
        "speedup_vs_loop": c_s / a_s, "speedup_vs_loop_areas": ca_s / b_s,
        "ratio_to_floor": a_s / d_s, "peak_mib": peak_mib, "max_rel_p_diff": max_rel,
        "p_values_compared": len(diffs), "import_s": import_s, "load_parquet_s": load_s,
        "first_call_s": first_s,
        **kinds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        say(f"(a) compare_waves, items x groups ({len(res_a.table)} rows): {a_s:8.3f} s")
        say(f"(b) compare_waves, items x groups x areas ({len(res_b.table)} rows): "
            f"{b_s:8.3f} s")
        say(f"(c) scipy loop, items x groups ({cells_g} cells): {c_s:8.3f} s; "
            f"x areas ({cells_a} cells): {ca_s:8.3f} s")
        say(f"(d) counting floor (one bincount per item column): {d_s:8.3f} s")
        say(f"(c)/(a) = {c_s / a_s:.1f}   (c areas)/(b) = {ca_s / b_s:.1f}   "
            f"(a)/(d) = {a_s / d_s:.2f}")
        say(f"peak memory {peak_mib:.0f} MiB; import crisis_survey {import_s:.3f} s; "
            f"load_wave (Parquet, {len(w1.data):,} rows) {load_s:.2f} s; first "
            f"compare_waves call of the process (numba import, kernels) {first_s:.2f} s")
        say(f"max relative p-value difference (a) vs (c): {max_rel:.2e} "
            f"over {len(diffs)} p-values")
        if kinds:
            say(_kinds_line(kinds))
    return result


def _kinds_line(k: dict[str, Any]) -> str:
    return (f"(e) every design and item kind (10 ordinal, 10 binary, 5 nominal items): "
            f"by group ({k['all_kinds_rows_groups']} rows) {k['all_kinds_groups_s']:.3f} "
            f"s, loop {k['all_kinds_loop_groups_s']:.3f} s "
            f"({k['all_kinds_cells_groups']} item cells) = "
            f"{k['all_kinds_speedup_vs_loop']:.1f}x; by group and area "
            f"({k['all_kinds_rows_areas']} rows) {k['all_kinds_areas_s']:.3f} s, loop "
            f"{k['all_kinds_loop_areas_s']:.3f} s ({k['all_kinds_cells_areas']} item "
            f"cells) = {k['all_kinds_speedup_vs_loop_areas']:.1f}x; CPU seconds (library: "
            f"every thread): by group {k['all_kinds_cpu_groups_s']:.3f} s vs loop "
            f"{k['all_kinds_loop_cpu_groups_s']:.3f} s = {k['all_kinds_cpu_ratio']:.1f}x, "
            f"by group and area {k['all_kinds_cpu_areas_s']:.3f} s vs "
            f"{k['all_kinds_loop_cpu_areas_s']:.3f} s = {k['all_kinds_cpu_ratio_areas']:.1f}x")


if __name__ == "__main__":
    main()
