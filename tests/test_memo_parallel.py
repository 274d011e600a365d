""":func:`crisis_survey._memo.remembered_all` (the blocks of the release audit solved in
forked workers, one per core) against its reference, the plain loop of ``remembered``.
Nothing here is timed."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_survey import _memo

forks = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")


def _compute(seed: int) -> Any:
    """A result that depends on ``seed`` alone, remembering a part of it on the way (as a
    block remembers each of its programmes), and the process it ran in."""
    part = _memo.remembered(("part", seed % 3), lambda: np.arange(seed % 3 + 1) * 2.0)
    rng = np.random.default_rng(seed)
    return {"seed": seed, "values": rng.normal(size=4) + part.sum(), "pid": os.getpid()}


def _run(seeds: list[int], workers: int, known: list[int]) -> tuple[list[Any], dict[Any, Any]]:
    import functools

    with _memo.memo_run():
        for k in known:  # remembered before: never recomputed
            _memo.remembered(("whole", k), functools.partial(_compute, k))
        got = _memo.remembered_all(
            [(("whole", s), functools.partial(_compute, s)) for s in seeds],
            workers=workers, weights=[float(s) for s in seeds])
        cache = _memo._CACHE.get()
        assert cache is not None
        entries = {k: v[0] for k, v in cache.items()}
    return got, entries


@forks
@settings(max_examples=15, deadline=None)
@given(seeds=st.lists(st.integers(0, 50), min_size=0, max_size=7),
       known=st.lists(st.integers(0, 50), max_size=3))
def test_workers_give_the_plain_loops_results_and_entries(seeds: list[int],
                                                          known: list[int]) -> None:
    plain, plain_entries = _run(seeds, 0, known)
    forked, forked_entries = _run(seeds, 2, known)
    assert [r["seed"] for r in forked] == seeds
    for a, b in zip(plain, forked, strict=True):
        assert np.array_equal(a["values"], b["values"])
    # the parts the workers remembered came back to the run, and nothing else differs
    assert plain_entries.keys() == forked_entries.keys()
    for k, v in plain_entries.items():
        if k[1][0] == "part":
            assert np.array_equal(v, forked_entries[k])
    # what was remembered before the call is handed out, not recomputed in a worker
    for r in forked:
        if r["seed"] in known:
            assert r["pid"] == os.getpid()


@forks
def test_results_really_come_from_workers() -> None:
    got, _ = _run([1, 2, 3, 4], 2, [])
    pids = {r["pid"] for r in got}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_no_workers_where_one_task_or_one_core(monkeypatch: Any) -> None:
    assert _memo.workers_for(1) == 0
    from crisis_survey.present._figures import _figure_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert _memo.workers_for(8) == 0 and _figure_workers(8) == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    linux = sys.platform == "linux"
    assert _memo.workers_for(8) == (3 if linux else 0)
    assert _memo.workers_for(2) == (2 if linux else 0)
    # the figure workers count the same cores (one left to the caller alongside)
    assert _figure_workers(8, alongside=True) == (2 if linux else 0)
    assert _figure_workers(1) == 0


def test_outside_a_run_it_is_the_plain_call() -> None:
    import functools

    got = _memo.remembered_all([(("whole", s), functools.partial(_compute, s))
                                for s in (5, 6)], workers=2)
    assert [r["seed"] for r in got] == [5, 6]
    assert _memo._CACHE.get() is None


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=forks)])
def test_long_work_says_how_far_it_has_got(workers: int, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    # a clock that moves 6 s a reading: a line every other computation (10 s apart at
    # least), none after the last, none for what was remembered before, none outside
    # reporting_to or without a label
    import functools
    import itertools

    ticks = itertools.count(0, 6)
    monkeypatch.setattr("time.perf_counter", lambda: float(next(ticks)))
    lines: list[str] = []
    items = [(("p", s), functools.partial(_compute, s)) for s in range(7)]
    with _memo.memo_run():
        _memo.remembered(("p", 0), functools.partial(_compute, 0))
        with _memo.reporting_to(lines.append):
            _memo.remembered_all(items, workers=workers, label="blocks")
            _memo.remembered_all([(("q", 1), functools.partial(_compute, 1))],
                                 workers=workers)  # no label: silent
        _memo.remembered_all([(("q", 2), functools.partial(_compute, 2))],
                             workers=workers, label="blocks")  # outside: silent
    assert lines == ["blocks: 2 of 6 done (12 s)", "blocks: 4 of 6 done (24 s)"]
