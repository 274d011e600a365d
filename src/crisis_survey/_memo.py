"""Results shared within one release or report run (:func:`memo_run`, :func:`cached`).

A report builds the same intermediate values in several places: Table 1's published values
(for Table 1 itself, for the release audit, for attrition.csv and for the weighting
section's check), the attrition table, the linkage outputs, the transition counts (for the
audit and for their chart). Inside :func:`memo_run`, :func:`cached` computes each once per
function and arguments and hands out copies; outside it, :func:`cached` simply calls the
function, which stays the reference (``tests/test_fast_paths.py`` compares the two).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import inspect
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Inside :func:`memo_run`: key -> (result, the arguments, kept alive so that the ``id`` of
#: an object in a key cannot be reused while the entry lives).
_CACHE: contextvars.ContextVar[dict[Hashable, tuple[Any, Any]] | None] = (
    contextvars.ContextVar("crisis_survey_memo", default=None))

_SCALARS = (type(None), bool, int, float, str, bytes)

#: Where long work inside a run reports how far it has got (:func:`reporting_to`).
_PROGRESS: contextvars.ContextVar[Callable[[str], None] | None] = (
    contextvars.ContextVar("crisis_survey_progress", default=None))
#: The fewest seconds between two lines of :func:`remembered_all`'s progress.
PROGRESS_EVERY = 10.0


@contextlib.contextmanager
def reporting_to(say: Callable[[str], None] | None) -> Iterator[None]:
    """Within this block :func:`remembered_all` given a ``label`` tells ``say`` how many of
    its computations are done, every :data:`PROGRESS_EVERY` seconds at most (the release
    audit's programmes by group x area at national size take minutes a round)."""
    token = _PROGRESS.set(say)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


class _Progress:
    """:func:`remembered_all`'s progress lines: ``label: k of n done (t s)``."""

    def __init__(self, label: str | None, total: int) -> None:
        import time

        self.say = _PROGRESS.get() if label else None
        self.label, self.total, self.done = label, total, 0
        self.clock = time.perf_counter
        self.start = self.last = self.clock()

    def step(self) -> None:
        self.done += 1
        if self.say is None:
            return
        now = self.clock()
        if now - self.last >= PROGRESS_EVERY and self.done < self.total:
            self.last = now
            self.say(f"{self.label}: {self.done:,} of {self.total:,} done "
                     f"({now - self.start:.0f} s)")


@contextlib.contextmanager
def memo_run() -> Iterator[None]:
    """Within this block :func:`cached` computes each result once (a block inside another
    shares the outer one's results)."""
    if _CACHE.get() is not None:
        yield
        return
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def in_memo_run(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` with every call inside :func:`memo_run` (a call already inside one shares
    it): for a function whose own repeated work :func:`cached` / :func:`remembered` share,
    such as :func:`crisis_survey.present._release.protect_release`'s audits.

    Examples
    --------
    >>> import itertools
    >>> counter = itertools.count()
    >>> @in_memo_run
    ... def twice() -> tuple[int, int]:
    ...     return (remembered("n", lambda: next(counter)),
    ...             remembered("n", lambda: next(counter)))
    >>> twice(), twice()   # each call its own run: computed once in each
    ((0, 0), (1, 1))
    """
    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with memo_run():
            return fn(*args, **kwargs)

    return run


def _key(value: Any) -> Hashable:
    """A hashable stand-in for an argument: scalars as themselves (with their type), tuples,
    lists and sets by their elements, any other object by identity."""
    if isinstance(value, _SCALARS):
        return (type(value).__name__, value)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(_key(v) for v in value))
    return ("id", id(value))


def cached(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """``fn(*args, **kwargs)``, computed once per run of :func:`memo_run` (a deep copy of
    the first result each time after, so that no caller can change another's value);
    outside a run, the plain call.

    Examples
    --------
    >>> calls = []
    >>> def square(x: int) -> list[int]:
    ...     calls.append(x)
    ...     return [x * x]
    >>> with memo_run():
    ...     a, b = cached(square, 3), cached(square, x=3)
    >>> a, b, a is b, calls
    ([9], [9], False, [3])
    >>> cached(square, 3), calls   # outside a run: called again
    ([9], [3, 3])
    """
    cache = _CACHE.get()
    if cache is None:
        return fn(*args, **kwargs)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    key = (fn.__module__, fn.__qualname__,
           tuple((name, _key(value)) for name, value in bound.arguments.items()))
    if key in cache:
        result: _R = copy.deepcopy(cache[key][0])
        return result
    result = fn(*args, **kwargs)
    cache[key] = (copy.deepcopy(result), (args, kwargs))
    return result


def remembered(key: Hashable, compute: Callable[[], _R], keep: Any = None) -> _R:
    """``compute()``, computed once per run of :func:`memo_run` for each ``key`` (which
    must say everything the result depends on; a deep copy after the first time); outside
    a run, the plain call. ``keep`` is held as long as the entry (an object whose ``id``
    is in the key, so that the id cannot be reused within the run).

    Examples
    --------
    >>> with memo_run():
    ...     print(remembered(("sum", (1, 2)), lambda: [sum((1, 2))]),
    ...           remembered(("sum", (1, 2)), lambda: ["not called"]))
    [3] [3]
    """
    cache = _CACHE.get()
    if cache is None:
        return compute()
    full = ("remembered", key)
    if full in cache:
        result: _R = copy.deepcopy(cache[full][0])
        return result
    result = compute()
    cache[full] = (copy.deepcopy(result), keep)
    return result


def run_state(key: Hashable) -> dict[Any, Any] | None:
    """A dictionary kept for ``key`` for the whole run of :func:`memo_run` (the same
    object each time, for the caller to read and change: what one audit of a run proved,
    for the next), ``None`` outside a run."""
    cache = _CACHE.get()
    if cache is None:
        return None
    full = ("state", key)
    if full not in cache:
        cache[full] = ({}, None)
    state: dict[Any, Any] = cache[full][0]
    return state


#: The computations :func:`remembered_all`'s forked workers run (inherited at the fork).
_TASKS: list[Callable[[], Any]] = []
#: The parent's results of this run, set in each worker before it computes.
_PARENT: list[dict[Hashable, tuple[Any, Any]] | None] = [None]


def fork_cores() -> int:
    """The cores forked workers may use: those this process may run on, or 0 where there is
    one or processes cannot be forked (only Linux forks them safely: macOS' frameworks and
    Windows cannot). Shared by the figure workers and :func:`remembered_all`."""
    import os
    import sys

    if sys.platform != "linux":
        return 0
    cores = len(os.sched_getaffinity(0))
    return cores if cores > 1 else 0


def workers_for(n_tasks: int) -> int:
    """How many forked processes :func:`remembered_all` uses for ``n_tasks`` (0: none, the
    plain loop): one per core (:func:`fork_cores`), at most one per task."""
    cores = fork_cores()
    return min(cores, n_tasks) if cores and n_tasks > 1 else 0


def _run_task(i: int) -> tuple[Any, list[tuple[Hashable, Any]]]:
    """One of :data:`_TASKS` in a worker: its result, and the entries it added to the run's
    results (a block's programmes remembered for the parent's later rounds)."""
    cache = _PARENT[0]
    if cache is None:
        return _TASKS[i](), []
    token = _CACHE.set(cache)
    try:
        before = set(cache)
        result = _TASKS[i]()
        added = [(k, cache[k][0]) for k in cache.keys() - before if cache[k][1] is None]
        return result, added
    finally:
        _CACHE.reset(token)


def remembered_all(items: Sequence[tuple[Hashable, Callable[[], _R]]], *,
                   workers: int | None = None, weights: Sequence[float] | None = None,
                   label: str | None = None) -> list[_R]:
    """``[remembered(key, compute) for key, compute in items]``, the computations not yet
    remembered run in ``workers`` forked processes (default :func:`workers_for`; 0 or 1:
    that plain loop, the reference, ``tests/test_memo.py`` compares the two). The entries a
    worker's computation adds to the run (``remembered`` inside it) come back with its
    result. ``weights`` (the expected cost of each item) orders the work largest first.
    With ``label``, inside :func:`reporting_to`, how many are done is reported as they end.

    Each computation must depend on its arguments alone (not on the order of the items or
    on the others' results): the results are then those of the plain loop."""
    cache = _CACHE.get()
    todo = [i for i, (key, _) in enumerate(items)
            if cache is None or ("remembered", key) not in cache]
    n = workers_for(len(todo)) if workers is None else min(workers, len(todo))
    progress = _Progress(label, len(todo))
    if n < 2:
        out_plain: list[_R] = []
        fresh = set(todo)
        for i, (key, compute) in enumerate(items):
            out_plain.append(remembered(key, compute))
            if i in fresh:
                progress.step()
        return out_plain
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor

    if weights is not None:
        todo.sort(key=lambda i: -float(weights[i]))
    _TASKS[:] = [compute for _, compute in items]
    _PARENT[0] = cache
    done: dict[int, Any] = {}
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns of any thread (pyarrow's, BLAS' idle pools): no Python
            # thread runs while the workers are forked, and they only compute
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded",
                                    DeprecationWarning)
            with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(
                    "fork")) as pool:
                futures = {i: pool.submit(_run_task, i) for i in todo}
                for i, future in futures.items():
                    result, added = future.result()
                    progress.step()
                    done[i] = result
                    if cache is not None:
                        for k, v in added:
                            cache.setdefault(k, (v, None))
    finally:
        _TASKS.clear()
        _PARENT[0] = None
    out: list[_R] = []
    for i, (key, compute) in enumerate(items):
        if i in done:
            if cache is not None:
                cache[("remembered", key)] = (copy.deepcopy(done[i]), None)
            out.append(done[i])
        else:
            out.append(remembered(key, compute))
    return out
