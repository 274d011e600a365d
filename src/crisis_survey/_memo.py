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
from collections.abc import Callable, Hashable, Iterator
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Inside :func:`memo_run`: key -> (result, the arguments, kept alive so that the ``id`` of
#: an object in a key cannot be reused while the entry lives).
_CACHE: contextvars.ContextVar[dict[Hashable, tuple[Any, Any]] | None] = (
    contextvars.ContextVar("crisis_survey_memo", default=None))

_SCALARS = (type(None), bool, int, float, str, bytes)


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
