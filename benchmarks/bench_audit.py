"""Benchmark: the release-wide disclosure audit on the shipped sample demo.

Run: ``PYTHONPATH=src python benchmarks/bench_audit.py [--study sample|big] [--json]``.

Times (CPU seconds, ``time.process_time``, so a busy machine does not inflate them):

- ``protect``: :func:`~crisis_survey.present._release.protect_release` as ``publish()`` runs
  it (build the published values, audit, withhold statistics, rebuild, audit again);
- ``audit``: one audit of the final release (:func:`audit_release`), stacked and screened
  linear programmes (``_disclosure.lp_stack``);
- ``baseline``: the same audit with one ``scipy.optimize.linprog`` call per bound (the old
  audit's way of solving, ~2 ms of set-up per call), in the same run.

It prints the ratio ``baseline / audit`` and checks that both give the same narrowed
counts. ``--study big`` generates a study of ~10,000 respondents per wave compared by
group x area (slow: minutes for the baseline, which ``--no-baseline`` skips).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np


def _plain(specs: Any, *, enough: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """One linprog per bound: the reference the stacked solver replaces."""
    from scipy.optimize import linprog

    out = []
    for spec in specs:
        obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
        lo = np.full(obj.shape[0], -math.inf)
        hi = np.full(obj.shape[0], math.inf)
        kw: dict[str, Any] = {}
        for key in ("eq", "ub"):
            a, b = spec.get(f"a_{key}"), spec.get(f"b_{key}")
            if a is not None and np.asarray(a).size:
                kw[f"A_{key}"], kw[f"b_{key}"] = a, b
        bounds = (spec.get("lower", 0.0), spec.get("upper"))
        for i, c in enumerate(obj):
            r = linprog(c, bounds=bounds, method="highs", **kw)
            lo[i] = r.fun if r.status == 0 else spec.get("lower", 0.0)
            r = linprog(-c, bounds=bounds, method="highs", **kw)
            hi[i] = -r.fun if r.status == 0 else math.inf
        out.append((lo, hi))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--study", choices=["sample", "big"], default="sample")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    from crisis_survey import AnalysisPlan, load_sample_study
    from crisis_survey.compare import compare_waves
    from crisis_survey.present import _audit
    from crisis_survey.present._release import audit_release, protect_release
    from crisis_survey.present._report import _comparison_kwargs

    plan = AnalysisPlan()
    if args.study == "sample":
        study = load_sample_study()
        kwargs = _comparison_kwargs(plan)
    else:
        import tempfile
        from pathlib import Path

        from crisis_survey.codebook import default_codebook
        from crisis_survey.link import link_waves
        from crisis_survey.load import load_wave
        from crisis_survey.synthetic import generate_study, write_study

        cb = default_codebook()
        folder = Path(tempfile.mkdtemp(prefix="bench_audit"))
        made = generate_study(n_service_users=7000, n_carers=3000, n_new_wave2=1000,
                              n_areas=12, seed=3)
        write_study(made, folder, formats=["csv"], codebook=cb)
        study = link_waves(*[load_wave(folder / f"synthetic_wave{w}.csv", cb, wave=w)
                             for w in (1, 2)])
        kwargs = {**_comparison_kwargs(plan), "by": ("group", "area")}
    comparison = compare_waves(study, **kwargs)
    t = time.process_time()
    guard = protect_release(study, comparison, threshold=plan.threshold,
                            designs=plan.designs, confidence=plan.confidence)
    protect = time.process_time() - t
    t = time.process_time()
    fast = audit_release(study, comparison, threshold=plan.threshold,
                         published=guard.published)
    audit = time.process_time() - t
    result: dict[str, Any] = {
        "study": args.study, "protect_s": round(protect, 2), "audit_s": round(audit, 2),
        "rounds": guard.rounds, "withheld_by_audit": len(guard.withhold),
        "small_counts_attacked": len(fast), "narrowed": int(fast["narrowed"].sum()),
        "fewest_values_left": float(fast["values"].min()) if len(fast) else None,
    }
    if not args.no_baseline:
        stack = _audit.lp_stack
        _audit.lp_stack = _plain  # type: ignore[assignment]
        try:
            t = time.process_time()
            slow = audit_release(study, comparison, threshold=plan.threshold,
                                 published=guard.published)
            baseline = time.process_time() - t
        finally:
            _audit.lp_stack = stack
        result["baseline_s"] = round(baseline, 2)
        result["ratio_baseline_to_audit"] = round(baseline / max(audit, 1e-9), 1)
        result["same_narrowed"] = bool((slow["narrowed"].to_numpy()
                                        == fast["narrowed"].to_numpy()).all())
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
