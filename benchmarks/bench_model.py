"""Benchmark of change_by_group_model (the GEE fitted from pattern counts) against the
per-item statsmodels fit it replaced, on the same data in the same run.

Generates (seeded, SYNTHETIC) the crisis-care survey with N respondents in wave 1 (70%
service users, 30% carers), half of them answering again and N/2 new respondents in wave 2,
writes both waves as Parquet, loads and links them with the library, and for each size and
working correlation times, for one five-level item (``overall_rating``) and one binary item
(``exp_followup``):

(a) ``change_by_group_model(study, item, cov_struct=...)``: the library's whole call, from the
    linked study to the result (layout, pattern counts, Fisher scoring, sandwich, result
    frames), median of ``--reps`` calls;
(b) the baseline, the library's former product path (``tests/_gee_reference.py``): the long
    data (one row per answer, a cluster label per respondent) and statsmodels' ``OrdinalGEE``
    (``fit(maxiter=200, ctol=1e-10)``), once;

and prints (b)/(a) and the largest absolute differences of the estimates, robust SEs, Wald z
and p-values and of the exchangeable correlation. The first call of the process (numba import,
compiled counting kernels) is timed on its own, not in (a).

Usage::

    python benchmarks/bench_model.py                       # N = 10,000 and 100,000 per wave
    python benchmarks/bench_model.py --n 10000 --cov independence --json

The figures measured on the project machine are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "src", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

ITEMS = ("overall_rating", "exp_followup")


def _study(n: int, seed: int, folder: Path) -> Any:
    from crisis_survey.codebook import default_codebook
    from crisis_survey.link import link_waves
    from crisis_survey.load import load_wave
    from crisis_survey.synthetic import generate_study, write_study

    cb = default_codebook()
    synthetic = generate_study(n_service_users=n * 7 // 10, n_carers=n - n * 7 // 10,
                               return_rate=0.5, n_new_wave2=n // 2, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_study(synthetic, folder, formats=["parquet"], readme=False)
        waves = [load_wave(folder / f"synthetic_wave{w}.parquet", cb, wave=w) for w in (1, 2)]
    return link_waves(waves[0], waves[1])


def _differences(res: Any, ref: dict[str, Any]) -> dict[str, float]:
    est = res.terms["estimate"].to_numpy()
    se = res.terms["se"].to_numpy()
    z_ref = ref["params"] / ref["bse"]
    p_ref = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z_ref])
    return {
        "estimate": float(np.max(np.abs(est - ref["params"]))),
        "se": float(np.max(np.abs(se - ref["bse"]))),
        "z": float(np.max(np.abs(res.terms["z"].to_numpy() - z_ref))),
        "p": float(np.max(np.abs(res.terms["p_value"].to_numpy() - p_ref))),
        "rel_se": float(np.max(np.abs(se - ref["bse"]) / ref["bse"])),
        "alpha": abs(res.details.get("exchangeable_correlation", 0.0) - ref["alpha"]),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10000,100000", help="respondents per wave (list)")
    parser.add_argument("--cov", default="independence,exchangeable",
                        help="working correlations (list)")
    parser.add_argument("--items", default=",".join(ITEMS))
    parser.add_argument("--reps", type=int, default=5, help="repetitions of (a) (median)")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    say = (lambda s: None) if args.json else (lambda s: print(s, flush=True))

    from _gee_reference import statsmodels_fit
    from crisis_survey.compare import change_by_group_model

    rows: list[dict[str, Any]] = []
    first_s = math.nan
    for n in (int(v) for v in args.n.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            study = _study(n, args.seed, Path(tmp))
        say(f"N = {n:,} per wave: wave 1 {len(study.wave1.data):,} rows, wave 2 "
            f"{len(study.wave2.data):,} rows, {len(study.pairs):,} linked pairs")
        if math.isnan(first_s):
            t0 = time.perf_counter()
            change_by_group_model(study, args.items.split(",")[0])
            first_s = time.perf_counter() - t0
            say(f"  first call of the process (numba import, kernels): {first_s:.3f} s")
        for cov in args.cov.split(","):
            for item in args.items.split(","):
                times = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    res = change_by_group_model(study, item, cov_struct=cov)  # type: ignore[arg-type]
                    times.append(time.perf_counter() - t0)
                a_s = statistics.median(times)
                t0 = time.perf_counter()
                ref = statsmodels_fit(study, item, cov_struct=cov)
                b_s = time.perf_counter() - t0
                diff = _differences(res, ref)
                row = {"n": n, "item": item, "cov_struct": cov, "counts_s": a_s,
                       "statsmodels_s": b_s, "ratio": b_s / a_s,
                       "n_observations": res.n_observations, "n_clusters": res.n_clusters,
                       "max_abs_diff": diff}
                rows.append(row)
                say(f"  {item:15s} {cov:12s} (a) counts {a_s:8.4f} s   (b) statsmodels "
                    f"{b_s:8.2f} s   (b)/(a) = {b_s / a_s:8.0f}   max |diff| estimate "
                    f"{diff['estimate']:.1e}, se {diff['se']:.1e} (rel {diff['rel_se']:.1e}), "
                    f"z {diff['z']:.1e}, p {diff['p']:.1e}, alpha {diff['alpha']:.1e}")
    out = {"first_call_s": first_s, "rows": rows,
           "min_ratio": min(r["ratio"] for r in rows),
           "max_abs_diff": max(max(r["max_abs_diff"].values()) for r in rows)}
    say(f"smallest ratio {out['min_ratio']:.0f}; largest absolute difference "
        f"{out['max_abs_diff']:.1e}")
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
