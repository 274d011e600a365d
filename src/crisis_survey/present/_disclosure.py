"""Statistical disclosure control for published counts (private module).

Published tables and figures must not let a reader identify a respondent. The rules here
follow common UK official-statistics practice (ONS, NHS Digital): small counts are withheld
(*primary suppression*), further cells are withheld where a published total would let a
reader work a withheld count out by subtraction (*secondary suppression*), and values
derived from withheld counts (percentages, intervals) are withheld too. See
``docs/disclosure-control.md`` for the rules, the choices made and their reasons.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._errors import CrisisSurveyError
from .._memo import remembered

if TYPE_CHECKING:
    from ..codebook import Codebook
    from ..load import SurveyWave

__all__ = [
    "DEFAULT_THRESHOLD",
    "DERIVED_MARKER",
    "SUPPRESSED_MARKER",
    "DisclosureError",
    "Suppression",
    "assert_no_identifiers",
    "audit_suppression",
    "default_protection",
    "identifying_values",
    "is_small",
    "lp_intervals",
    "lp_stack",
    "percent_reveals_small",
    "suppress",
    "suppress_together",
]

#: Counts from 1 to ``DEFAULT_THRESHOLD - 1`` are withheld by default.
DEFAULT_THRESHOLD = 10
#: What a withheld count shows (the GSS symbol for "confidential"), primary or secondary alike.
SUPPRESSED_MARKER = "[c]"
#: What a value derived from a withheld count (a percentage, an interval) shows.
DERIVED_MARKER = "–"

Status = Literal["published", "primary", "secondary"]
Margins = bool | Literal["row", "column"]
Prefer = Literal["parts", "totals"]
_PUBLISHED, _PRIMARY, _SECONDARY = 0, 1, 2
_STATUS_NAMES: tuple[Status, Status, Status] = ("published", "primary", "secondary")


class DisclosureError(CrisisSurveyError):
    """An output would disclose something it must not (a small count, an identifier).

    Examples
    --------
    >>> import pandas as pd
    >>> try:
    ...     suppress(pd.DataFrame())
    ... except DisclosureError as error:
    ...     print(error)
    suppress() got an empty table; expected at least one count
    """


# -- the protection engine: cells, and lines "parts sum to a total" ----------------------
@dataclass(frozen=True, slots=True)
class _Line:
    total: int
    parts: tuple[int, ...]


def _table_lines(n_rows: int, n_cols: int, margins: Margins) -> list[_Line]:
    """Lines of a table of ``n_rows x n_cols`` cells followed by its totals.

    ``margins=True``: an (R+1) x (C+1) table whose last row and column hold the totals.
    ``"row"``: only a total row is appended (column sums); ``"column"``: only a total column
    (row sums); ``False``: no totals, no lines.
    """
    if margins is False:
        return []
    has_row = margins is True or margins == "row"
    has_col = margins is True or margins == "column"
    rows = n_rows + (1 if has_row else 0)
    width = n_cols + (1 if has_col else 0)
    lines: list[_Line] = []
    if has_col:
        lines += [
            _Line(total=i * width + n_cols, parts=tuple(i * width + j for j in range(n_cols)))
            for i in range(rows)
        ]
    if has_row:
        lines += [
            _Line(total=n_rows * width + j, parts=tuple(i * width + j for i in range(n_rows)))
            for j in range(width)
        ]
    return lines


def _lower_bound(suppress_zeros: bool) -> float:
    # zeros are published unless suppress_zeros; a reader then knows every withheld cell >= 1
    return 0.0 if suppress_zeros else 1.0


def _system(
    values: np.ndarray, hidden: np.ndarray, lines: Sequence[_Line]
) -> tuple[np.ndarray, np.ndarray]:
    """The equations a reader has about the withheld cells: ``A @ hidden_values = b``."""
    col = {int(c): k for k, c in enumerate(hidden)}
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for line in lines:
        coef = np.zeros(hidden.size)
        known = 0.0
        for c, sign in [(p, 1.0) for p in line.parts] + [(line.total, -1.0)]:
            if c in col:
                coef[col[c]] += sign
            else:
                known -= sign * float(values[c])
        if np.any(coef != 0):
            rows.append(coef)
            rhs.append(known)
    if not rows:
        return np.zeros((0, hidden.size)), np.zeros(0)
    return np.vstack(rows), np.asarray(rhs)


#: Most variables one stacked linear programme of :func:`lp_intervals` holds.
_STACK_LIMIT = 60_000


def lp_intervals(
    objectives: np.ndarray,
    *,
    a_eq: Any = None,
    b_eq: Any = None,
    a_ub: Any = None,
    b_ub: Any = None,
    lower: Any = 0.0,
    upper: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of each row of ``objectives`` (``m x n``) over
    ``{x : a_eq x = b_eq, a_ub x <= b_ub, lower <= x <= upper}``, by linear programming
    (:func:`lp_stack` of one problem).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = lp_intervals(np.eye(2), a_eq=np.array([[1.0, 1.0]]), b_eq=np.array([5.0]),
    ...                       lower=1.0)
    >>> lo.tolist(), hi.tolist()
    ([1.0, 1.0], [4.0, 4.0])
    """
    return lp_stack([{"objectives": objectives, "a_eq": a_eq, "b_eq": b_eq, "a_ub": a_ub,
                      "b_ub": b_ub, "lower": lower, "upper": upper}])[0]


def _parts(spec: dict[str, Any], n: int) -> dict[str, Any]:
    from scipy import sparse

    out: dict[str, Any] = {}
    for key in ("eq", "ub"):
        a, b = spec.get(f"a_{key}"), spec.get(f"b_{key}")
        if a is None or b is None or np.asarray(a).size == 0:
            continue
        out[key] = (sparse.csr_matrix(np.asarray(a, dtype=float).reshape(-1, n)),
                    np.asarray(b, dtype=float).ravel())
    low = np.broadcast_to(np.asarray(spec.get("lower", 0.0), dtype=float), (n,))
    up = spec.get("upper")
    high = np.full(n, np.inf) if up is None else np.broadcast_to(
        np.asarray(up, dtype=float), (n,))
    out["bounds"] = (low, high)
    return out


def _null_basis(a: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """A basis of ``{x : a x = 0}`` (rows), by Gauss-Jordan elimination: each vector is
    one free variable's move and the pivots it forces (sparse, "local" moves)."""
    m, n = a.shape
    r = a.astype(float).copy()
    pivots: list[int] = []
    row = 0
    for col in range(n):
        if row >= m:
            break
        k = row + int(np.argmax(np.abs(r[row:, col])))
        if abs(r[k, col]) <= tol:
            continue
        r[[row, k]] = r[[k, row]]
        r[row] /= r[row, col]
        others = np.abs(r[:, col]) > tol
        others[row] = False
        r[others] -= np.outer(r[others, col], r[row])
        pivots.append(col)
        row += 1
    free = [c for c in range(n) if c not in set(pivots)]
    basis = np.zeros((len(free), n))
    for i, f in enumerate(free):
        basis[i, f] = 1.0
        for j, p in enumerate(pivots):
            basis[i, p] = -r[j, f]
    return basis


def _inner(parts: dict[str, Any], objectives: np.ndarray, x0: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Inner bounds of each objective: values on feasible segments through a central
    point, along each move of the equations' null space and along the objective's own
    projected direction. Every point of a segment is feasible, so the true interval holds
    them all: a wide inner interval proves a wide interval without a programme."""
    n = x0.size
    null = _null_basis(parts["eq"][0].toarray()) if "eq" in parts else np.eye(n)
    lo = objectives @ x0
    if null.shape[0] == 0:
        return lo, lo.copy()
    low, high = parts["bounds"]
    g_ub, b_ub = (parts["ub"][0].toarray(), parts["ub"][1]) if "ub" in parts else (
        np.zeros((0, n)), np.zeros(0))

    def reach(x: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # x + t d within low <= . <= high and g_ub (.) <= b_ub
        gd = np.hstack([dirs, -dirs, dirs @ g_ub.T])
        slack = np.maximum(np.concatenate([high - x, x - low, b_ub - g_ub @ x]), 0.0)
        pos, neg = gd > 1e-12, gd < -1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.min(np.where(pos, slack / np.where(pos, gd, 1.0), np.inf), axis=1,
                        initial=np.inf)
            down = np.max(np.where(neg, slack / np.where(neg, gd, -1.0), -np.inf), axis=1,
                          initial=-np.inf)
        return (np.where(np.isfinite(down), down, 0.0), np.where(np.isfinite(up), up, 0.0))

    down, up = reach(x0, null)  # first pass: move off the boundary the true point sits on
    centre = (x0 + (np.sum(x0 + down[:, None] * null, axis=0)
                    + np.sum(x0 + up[:, None] * null, axis=0)) / 2) / (1 + null.shape[0])
    down, up = reach(centre, null)
    base = objectives @ centre
    rate = objectives @ null.T  # m x d
    ends = np.stack([rate * down[None, :], rate * up[None, :]])
    lo = base + np.minimum(ends.min(axis=(0, 2)), 0.0)
    hi = base + np.maximum(ends.max(axis=(0, 2)), 0.0)
    dirs = rate @ null  # each objective's direction in the null space
    d_lo, d_hi = reach(centre, dirs)
    step = np.einsum("ij,ij->i", objectives, dirs)
    return np.minimum(lo, base + d_lo * step), np.maximum(hi, base + d_hi * step)


def lp_stack(specs: Sequence[dict[str, Any]], *,
             enough: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounds of many objectives over many polytopes, solved as few linear programmes.

    Each spec holds ``objectives`` (``m x n``), optional ``a_eq, b_eq, a_ub, b_ub`` and
    ``lower``/``upper`` variable bounds; the result holds, per spec, the smallest and
    largest value of each objective. The variables of a spec are copied ``2 m`` times
    (copy ``i`` minimises objective ``i``, copy ``m + i`` maximises it), and the copies of
    every spec are stacked into one block-diagonal programme (HiGHS through
    :func:`scipy.optimize.linprog`): the copies share no constraint, so the optimum of the
    sum is the optimum of each. One by one, each small programme costs scipy's set-up time
    (~2 ms); stacked, the solver's own time is what remains. When a stack fails (an
    objective unbounded, say), its objectives are solved one by one (lower bound
    ``lower``, upper ``inf`` when unbounded).

    With ``enough`` (a number of whole numbers) and a feasible point ``x0`` in a spec, an
    objective whose feasible segments through a central point already reach ``enough``
    whole numbers is not solved: its bounds are the segments' (inner bounds, so the true
    interval is at least as wide; :func:`_inner`). Only the others go to the solver.
    """
    if enough is not None and any("x0" in s for s in specs):
        return _screened(specs, enough)
    solved: list[tuple[np.ndarray, np.ndarray]] = _stacked(specs)
    return solved


def _screened(specs: Sequence[dict[str, Any]], enough: float
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    # a few vertices per spec: the sum of its objectives pushed up and down, plainly and
    # with random positive weights (one stack for all specs)
    rng = np.random.default_rng(0)
    probes = []
    for spec in specs:
        obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
        if obj.size == 0:
            probes.append({**spec, "objectives": np.zeros((0, 0))})
            continue
        w = rng.uniform(0.2, 1.0, size=(2, obj.shape[0]))
        probes.append({**spec, "objectives": np.vstack([obj.sum(axis=0), w @ obj])})
    vertices = _stacked(probes, keep=True)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    rest: list[dict[str, Any]] = []
    where: list[tuple[int, np.ndarray]] = []
    for si, spec in enumerate(specs):
        obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
        if obj.size == 0 or "x0" not in spec:
            out.append((np.full(obj.shape[0], -math.inf), np.full(obj.shape[0], math.inf)))
            rest.append(spec)
            where.append((si, np.arange(obj.shape[0])))
            continue
        points = np.vstack([np.asarray(spec["x0"], dtype=float), *vertices[si]])
        centre = points.mean(axis=0)
        lo, hi = _inner(_parts(spec, obj.shape[1]), obj, centre)
        seen = obj @ points.T
        lo, hi = np.minimum(lo, seen.min(axis=1)), np.maximum(hi, seen.max(axis=1))
        wide = np.array([_width(a, b) >= enough for a, b in zip(lo, hi, strict=True)],
                        dtype=bool)
        out.append((lo, hi))
        todo = np.flatnonzero(~wide)
        rest.append({**spec, "objectives": obj[todo]})
        where.append((si, todo))
    solved = _stacked(rest)
    for (si, idx), (lo, hi) in zip(where, solved, strict=True):
        out[si][0][idx], out[si][1][idx] = lo, hi
    return out


def _stacked(specs: Sequence[dict[str, Any]], *, keep: bool = False) -> Any:
    from scipy import optimize
    from scipy import sparse as _sparse

    sparse: Any = _sparse
    linprog: Any = optimize.linprog

    out: list[tuple[np.ndarray, np.ndarray]] = []
    points: list[list[np.ndarray]] = []  # the optimal vertices, with ``keep``
    units: list[tuple[int, int, int]] = []  # (spec, first objective, end)
    prepared = []
    for si, spec in enumerate(specs):
        obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
        m = obj.shape[0]
        n = obj.shape[1] if obj.size else 0
        out.append((np.full(m, -math.inf), np.full(m, math.inf)))
        points.append([])
        prepared.append((obj, _parts(spec, n) if n else {}))
        per = max(1, _STACK_LIMIT // max(1, 2 * n))
        units += [(si, s, min(m, s + per)) for s in range(0, m, per) if n]
    chunk: list[tuple[int, int, int]] = []
    size = 0

    def run(chunk: list[tuple[int, int, int]]) -> None:
        costs: list[Any] = []
        eqs: list[Any] = []
        ubs: list[Any] = []
        beq: list[Any] = []
        bub: list[Any] = []
        lows: list[Any] = []
        highs: list[Any] = []
        for si, s, e in chunk:
            obj, parts = prepared[si]
            sel = obj[s:e]
            c = sel.shape[0]
            costs.append(np.concatenate([sel, -sel]).ravel())
            eye = sparse.identity(2 * c, format="csr")
            n = obj.shape[1]
            for key, mats, rhs in (("eq", eqs, beq), ("ub", ubs, bub)):
                if key in parts:
                    a, b = parts[key]
                    mats.append(sparse.kron(eye, a, format="csr"))
                    rhs.append(np.tile(b, 2 * c))
                else:
                    mats.append(sparse.csr_matrix((0, 2 * c * n)))
            low, high = parts["bounds"]
            lows.append(np.tile(low, 2 * c))
            highs.append(np.tile(high, 2 * c))
        kw: dict[str, Any] = {}
        if beq:
            kw["A_eq"], kw["b_eq"] = sparse.block_diag(eqs, format="csr"), np.concatenate(beq)
        if bub:
            kw["A_ub"], kw["b_ub"] = sparse.block_diag(ubs, format="csr"), np.concatenate(bub)
        res = linprog(np.concatenate(costs), method="highs",
                      bounds=np.column_stack([np.concatenate(lows), np.concatenate(highs)]),
                      **kw)
        if res.status == 0 and res.x is not None:
            at = 0
            for si, s, e in chunk:
                obj = prepared[si][0]
                sel, n = obj[s:e], obj.shape[1]
                c = sel.shape[0]
                x = res.x[at:at + 2 * c * n].reshape(2 * c, n)
                at += 2 * c * n
                out[si][0][s:e] = np.einsum("ij,ij->i", sel, x[:c])
                out[si][1][s:e] = np.einsum("ij,ij->i", sel, x[c:])
                if keep:
                    points[si] += list(x)
            return
        for si, s, e in chunk:  # unbounded or numerically hard: one by one
            obj, parts = prepared[si]
            one = {f"{x}_{key}": v for key in ("eq", "ub") if key in parts
                   for x, v in zip(("A", "b"), parts[key], strict=True)}
            low, high = parts["bounds"]
            for i in range(s, e):
                for sign, arr in ((1.0, out[si][0]), (-1.0, out[si][1])):
                    r = linprog(sign * obj[i], bounds=np.column_stack([low, high]),
                                method="highs", **one)
                    if r.status == 0 and r.fun is not None:
                        arr[i] = sign * float(r.fun)
                    elif sign > 0 and np.all(obj[i] >= 0):
                        arr[i] = float(obj[i] @ low)

    for unit in units:
        si, s, e = unit
        n = prepared[si][0].shape[1]
        if chunk and size + 2 * (e - s) * n > _STACK_LIMIT:
            run(chunk)
            chunk, size = [], 0
        chunk.append(unit)
        size += 2 * (e - s) * n
    if chunk:
        run(chunk)
    return points if keep else out


def _pinned(lo: float, hi: float) -> bool:
    """Whether the bounds leave a single whole number."""
    return math.isfinite(hi) and math.ceil(lo - 1e-7) >= math.floor(hi + 1e-7)


def default_protection(threshold: int) -> int:
    """The fewest whole numbers a withheld small count's interval must hold by default:
    half the possible small values ``1 .. threshold - 1``, rounded up (5 for 10).

    Examples
    --------
    >>> default_protection(10), default_protection(5)
    (5, 2)
    """
    return max(1, math.ceil((int(threshold) - 1) / 2))


def _width(lo: float, hi: float) -> float:
    """How many whole numbers ``[lo, hi]`` holds (``inf`` when unbounded)."""
    if not math.isfinite(hi):
        return math.inf
    return max(0.0, math.floor(hi + 1e-7) - math.ceil(lo - 1e-7) + 1.0)


def _exact_cells(
    values: np.ndarray, status: np.ndarray, lines: Sequence[_Line], suppress_zeros: bool,
    protection: int = 1,
) -> list[int]:
    """Primary cells a reader can narrow to fewer than ``protection`` whole numbers.

    A cell is fixed by the equations alone when the null space of the reader's system has
    no component along it. Otherwise its bounds (linear programming, withheld cells at
    least 1 when zeros are shown) must hold ``protection`` whole numbers; with
    ``protection=1`` only exact recovery counts, and the LP is needed only when some
    withheld cell sits on its lower bound.
    """
    hidden = np.flatnonzero(status != _PUBLISHED)
    if hidden.size == 0:
        return []
    lower = _lower_bound(suppress_zeros)
    a_eq, b_eq = _system(values.astype(float), hidden, lines)
    if a_eq.shape[0] == 0:
        free = np.ones(hidden.size, dtype=bool)
    else:
        _, sing, vt = np.linalg.svd(a_eq)
        rank = int(np.sum(sing > 1e-9 * max(1.0, float(sing.max(initial=0.0)))))
        null = vt[rank:].T
        free = np.linalg.norm(null, axis=1) > 1e-9 if null.size else np.zeros(hidden.size,
                                                                               dtype=bool)
    at_bound = bool(np.any(values[hidden] <= lower))
    primary = np.flatnonzero(status[hidden] == _PRIMARY)
    narrow = np.zeros(hidden.size, dtype=bool)
    if (protection > 1 or at_bound) and primary.size and a_eq.shape[0]:
        (lo, hi), = lp_stack([{"objectives": np.eye(hidden.size)[primary], "a_eq": a_eq,
                               "b_eq": b_eq, "lower": lower, "x0": values[hidden]}],
                             enough=protection)
        narrow[primary] = [_width(a, b) < protection for a, b in zip(lo, hi, strict=True)]
    return [int(hidden[k]) for k in primary if not free[k] or narrow[k]]


def _disjoint(lines: Sequence[_Line], size: int) -> bool:
    """Whether no cell is in two lines."""
    seen = np.zeros(size, dtype=np.int64)
    for line in lines:
        seen[list(line.parts)] += 1
        seen[line.total] += 1
    return bool(seen.max(initial=0) <= 1)


def protect_column(counts: np.ndarray, force: np.ndarray, *, threshold: int,
                   protection: int | None = None) -> np.ndarray:
    """The cells of one column of counts with a published total that are withheld:
    what ``suppress(pd.DataFrame({"n": counts}), threshold=threshold, margins="row",
    force=...)`` withholds of the column (the total never forced), without the frames.

    Examples
    --------
    >>> protect_column(np.array([3, 40, 12]), np.zeros(3, bool), threshold=10).tolist()
    [True, False, True]
    """
    values = np.append(np.asarray(counts, dtype=np.int64), int(np.sum(counts)))
    forced = np.append(np.asarray(force, dtype=bool), False)
    need = default_protection(int(threshold)) if protection is None else int(protection)
    codes = _protect(values, _table_lines(len(counts), 1, "row"), threshold=int(threshold),
                     suppress_zeros=False, force=forced, prefer="parts", protection=need)
    return np.asarray(codes[:-1] != _PUBLISHED, dtype=bool)


def _pick(values: np.ndarray, status: np.ndarray, line: _Line, prefer: Prefer) -> int | None:
    """The next cell to withhold in a line: the smallest published non-zero part, or the
    total (``prefer="totals"`` tries the total first); ties go to the first cell."""
    parts = [p for p in line.parts if status[p] == _PUBLISHED and values[p] > 0]
    total_ok = status[line.total] == _PUBLISHED and values[line.total] > 0
    if prefer == "totals" and total_ok:
        return line.total
    if parts:
        return min(parts, key=lambda p: (values[p], p))
    return line.total if total_ok else None


def _protect(
    values: np.ndarray,
    lines: Sequence[_Line],
    *,
    threshold: int,
    suppress_zeros: bool,
    force: np.ndarray,
    prefer: Prefer,
    protection: int = 1,
    shortcut: bool = True,
) -> np.ndarray:
    """Status codes of every cell: primary, then secondary cells until no line leaves a
    withheld cell recoverable and no primary cell is narrowed below ``protection``.

    ``shortcut``: where no two lines share a cell (a single column with its total, say:
    the distribution table's levels, protected one group and wave at a time), the line
    rule below is already exact: a withheld small part of a line with a published total
    ranges over ``lower .. S - lower (h - 1)``, ``S`` the withheld parts' sum and ``h``
    their number, which is the rule's ``room`` (the rule stops only once it holds
    ``protection`` whole numbers), and one with a withheld total is unbounded. The linear
    programmes of :func:`_exact_cells` are then skipped (``shortcut=False`` runs them:
    the reference, compared in ``tests/test_disclosure.py``). By group x area at 10,000
    per wave the distribution tables took 361 of the release's 371 s of building
    (cProfile), 223 s of it in 20,649 such programmes; with the shortcut, 6 s."""
    status = np.zeros(values.size, dtype=np.int8)
    lower = _lower_bound(suppress_zeros)
    primary = (values >= 1) & (values < threshold)
    if suppress_zeros:
        primary |= values == 0
    status[primary] = _PRIMARY
    status[(~primary) & force] = _SECONDARY
    while True:
        changed = False
        for line in lines:
            cells = [*line.parts, line.total]
            hidden = [c for c in cells if status[c] != _PUBLISHED]
            if not hidden:
                continue
            hidden_parts = [p for p in line.parts if status[p] != _PUBLISHED]
            sum_hidden = float(values[hidden_parts].sum()) if hidden_parts else 0.0
            # one withheld cell in a line is recovered by subtraction; withheld parts whose
            # known sum leaves a small count fewer than ``protection`` possible values
            # (each other withheld part is at least ``lower``) narrow it too far
            small_part = any(status[p] == _PRIMARY for p in hidden_parts)
            room = sum_hidden - lower * len(hidden_parts) + 1
            need = len(hidden) == 1 or (
                status[line.total] == _PUBLISHED and small_part and room < protection
            )
            if need:
                pick = _pick(values, status, line, prefer)
                if pick is not None:
                    status[pick] = _SECONDARY
                    changed = True
        if changed:
            continue
        if shortcut and _disjoint(lines, values.size):
            return status
        exact = _exact_cells(values, status, lines, suppress_zeros, protection)
        if not exact:
            return status
        target = exact[0]
        candidates = [
            c
            for line in lines
            if target in line.parts or target == line.total
            for c in [_pick(values, status, line, prefer)]
            if c is not None
        ]
        if not candidates:  # every line through it is withheld: widen anywhere
            candidates = [int(c) for c in np.flatnonzero((status == _PUBLISHED) & (values > 0))]
        if not candidates:
            return status
        status[min(candidates, key=lambda c: (values[c], c))] = _SECONDARY


# -- the public result --------------------------------------------------------------------
@dataclass(frozen=True)
class Suppression:
    """A count table after disclosure control.

    Attributes
    ----------
    counts
        The true counts (integers), with a total row and column when ``margins`` is true.
        For the analyst only: publish :meth:`published` or :meth:`display`, never this.
    status
        Same shape as ``counts``: ``"published"``, ``"primary"`` (a count from 1 to
        ``threshold - 1``, or a zero when ``suppress_zeros``) or ``"secondary"`` (withheld
        so that a primary cell cannot be worked out from the totals).
    threshold, suppress_zeros, margins
        The options used.
    margin_label
        The label of the total row and column.
    protection
        The fewest whole numbers a reader's interval for a withheld small count holds.

    Examples
    --------
    >>> import pandas as pd
    >>> s = suppress(pd.DataFrame({"a": [3, 40], "b": [12, 30]}, index=["x", "y"]))
    >>> s.n_primary, s.n_secondary
    (1, 3)
    >>> s.display()
             a    b Total
    x      [c]  [c]    15
    y      [c]  [c]    70
    Total   43   42    85
    """

    counts: pd.DataFrame
    status: pd.DataFrame
    threshold: int
    suppress_zeros: bool
    margins: Margins
    margin_label: str = "Total"
    protection: int = 1

    @functools.cached_property
    def mask(self) -> pd.DataFrame:
        """Boolean frame: ``True`` where the count is withheld."""
        return self.status != "published"

    @property
    def n_primary(self) -> int:
        return int((self.status == "primary").to_numpy().sum())

    @property
    def n_secondary(self) -> int:
        return int((self.status == "secondary").to_numpy().sum())

    @property
    def any_suppressed(self) -> bool:
        return bool(self.mask.to_numpy().any())

    def published(self) -> pd.DataFrame:
        """The counts a reader may see: nullable integers, ``<NA>`` where withheld."""
        return self.counts.astype("Int64").mask(self.mask)

    def display(self, marker: str = SUPPRESSED_MARKER) -> pd.DataFrame:
        """The counts as display strings, ``marker`` where withheld (thousands separated)."""
        shown = self.counts.map(lambda v: f"{int(v):,}")
        return shown.mask(self.mask, marker)

    def percentages(self, axis: Literal["columns", "rows"] = "columns") -> pd.DataFrame:
        """Percentages of the column (or row) totals, ``NaN`` where withheld.

        A percentage is withheld when its count is withheld, when its denominator is
        withheld, or when its denominator is below the threshold.
        """
        label = self.margin_label
        needed = "row" if axis == "columns" else "column"
        if not (self.margins is True or self.margins == needed):
            raise DisclosureError(
                f"percentages along {axis} need the total {needed}: call "
                f"suppress(..., margins=True) or margins={needed!r}"
            )
        if axis == "columns":
            denom = self.counts.loc[label, :]
            denom_hidden = self.mask.loc[label, :]
            pct = self.counts.div(denom.where(denom.to_numpy() > 0), axis=1) * 100.0
            bad = self.mask | pd.DataFrame(
                np.broadcast_to((denom_hidden | (denom < self.threshold)).to_numpy(),
                                self.counts.shape),
                index=self.counts.index, columns=self.counts.columns,
            )
        elif axis == "rows":
            denom = self.counts.loc[:, label]
            denom_hidden = self.mask.loc[:, label]
            pct = self.counts.div(denom.where(denom.to_numpy() > 0), axis=0) * 100.0
            bad = self.mask | pd.DataFrame(
                np.broadcast_to(
                    (denom_hidden | (denom < self.threshold)).to_numpy()[:, None],
                    self.counts.shape,
                ),
                index=self.counts.index, columns=self.counts.columns,
            )
        else:
            raise DisclosureError(f"axis must be 'columns' or 'rows'; got {axis!r}")
        return pct.astype(float).mask(bad)

    def footnote(self, marker: str = SUPPRESSED_MARKER, derived: str = DERIVED_MARKER) -> str:
        """The note a published table carries (empty when nothing was withheld)."""
        return suppression_note(self.threshold, marker=marker, derived=derived,
                                zeros=self.suppress_zeros) if self.any_suppressed else ""

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``row, column, count, status`` (the analyst's record of what was
        withheld and why)."""
        rows, cols = self.counts.shape
        return pd.DataFrame({
            "row": np.repeat(self.counts.index.to_numpy(dtype=object), cols),
            "column": np.tile(self.counts.columns.to_numpy(dtype=object), rows),
            "count": self.counts.to_numpy().ravel(),
            "status": self.status.to_numpy().ravel(),
        })

    def __str__(self) -> str:
        return (
            f"Suppression(threshold={self.threshold}): {self.n_primary} primary, "
            f"{self.n_secondary} secondary cell(s) withheld of {self.counts.size}\n"
            + self.display().to_string()
        )


def suppression_note(
    threshold: int = DEFAULT_THRESHOLD,
    *,
    marker: str = SUPPRESSED_MARKER,
    derived: str = DERIVED_MARKER,
    zeros: bool = False,
) -> str:
    """The footnote of a table with withheld values.

    Parameters
    ----------
    threshold
        The disclosure threshold.
    marker, derived
        How withheld counts and values derived from them are shown.
    zeros
        Whether zeros were withheld too.

    Returns
    -------
    str

    Examples
    --------
    >>> suppression_note(10)
    "Counts below 10, and counts from which they could be worked out, are withheld \
(shown as '[c]'); values derived from them are shown as '–'."
    """
    what = f"Counts below {threshold}" if not zeros else f"Counts below {threshold} (and zeros)"
    return (
        f"{what}, and counts from which they could be worked out, are withheld "
        f"(shown as '{marker}'); values derived from them are shown as '{derived}'."
    )


def _as_counts(table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(
            f"suppress() needs a pandas DataFrame of counts; got {type(table).__name__}"
        )
    if table.empty:
        raise DisclosureError("suppress() got an empty table; expected at least one count")
    try:
        values = table.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DisclosureError(
            "suppress() needs whole-number counts in every cell; found non-numeric values"
        ) from exc
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.round(values)):
        raise DisclosureError(
            "suppress() needs non-negative whole-number counts in every cell; found "
            "missing, negative or fractional values"
        )
    return pd.DataFrame(values.astype(np.int64), index=table.index, columns=table.columns)


def _with_total_row(counts: pd.DataFrame, label: str) -> pd.DataFrame:
    """``counts`` (whole numbers, one dtype) with a row ``label`` of the column sums, built
    in one piece: :func:`_with_total_row_reference`'s enlargement by ``.loc`` went through
    pandas' row-appending path (about 1 ms a table; ~1,000 tables in the demo's audit
    rounds). ``tests/test_fast_paths.py`` compares the two."""
    values = counts.to_numpy()
    return pd.DataFrame(np.vstack([values, values.sum(axis=0, keepdims=True)]),
                        index=counts.index.insert(len(counts.index), label),
                        columns=counts.columns)


def _with_total_row_reference(counts: pd.DataFrame, label: str) -> pd.DataFrame:
    """The plain form of :func:`_with_total_row`."""
    out = counts.copy()
    out.loc[label] = out.sum(axis=0)
    return out


def suppress(
    table: pd.DataFrame | Suppression,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    margins: Margins = True,
    suppress_zeros: bool = False,
    force: pd.DataFrame | None = None,
    prefer: Prefer = "parts",
    margin_label: str = "Total",
    protection: int | None = None,
) -> Suppression:
    """Withhold small counts, and the counts that would reveal them, from a count table.

    Parameters
    ----------
    table
        Cell counts (rows x columns, non-negative whole numbers, without totals), or a
        :class:`Suppression` to re-check (its cells stay withheld: suppression is
        idempotent).
    threshold
        Counts from 1 to ``threshold - 1`` are withheld (primary suppression).
    margins
        Append a total row and column and protect them: published totals are the usual way a
        withheld cell is recovered, and a total shown anywhere (an ``n`` in a header) counts.
        ``"row"`` appends only a total row (the column sums), ``"column"`` only a total
        column (the row sums). With ``margins=False`` only primary suppression is applied.
    suppress_zeros
        Treat zeros as small counts too. By default zeros are shown (see Notes).
    force
        Boolean frame shaped like the output (with totals when ``margins``): cells to
        withhold whatever their value, e.g. to keep suppression consistent across tables.
    prefer
        Which cell secondary suppression withholds first in a line: ``"parts"`` (the
        smallest published non-zero part; the total only when no part is left) or
        ``"totals"`` (the line's total first, e.g. to keep group sizes and withhold a
        less useful grand total).
    margin_label
        Label of the total row and column.
    protection
        The fewest whole numbers a reader's interval for a withheld small count must hold
        (default :func:`default_protection`: half the possible small values, 5 for a
        threshold of 10).

    Returns
    -------
    Suppression
        The counts, each cell's status and the options; ``display()`` gives what to print.

    Notes
    -----
    Primary suppression withholds every count ``c`` with ``1 <= c < threshold``. Secondary
    suppression then repeats, until nothing changes:

    1. In every line (a row or column with its total), if exactly one cell is withheld, or
       the withheld parts of a line with a published total add up to a sum that leaves a
       small count fewer than ``protection`` possible values, withhold the smallest
       published non-zero part of that line (the total if no part is left).
    2. Audit: for every withheld small count, find by linear programming the smallest and
       largest value consistent with all published cells, all row and column equations
       and non-negativity (cells >= 1 when zeros are published, as a reader then knows a
       withheld cell is not zero). If these bounds hold fewer than ``protection`` whole
       numbers, withhold the smallest published non-zero cell in a line through it.

    Zeros are shown by default: a zero reveals no individual, and hiding them while showing
    that a cell was withheld tells a reader the cell is at least 1 anyway. Choose
    ``suppress_zeros=True`` when a zero would disclose an attribute of a whole group (e.g.
    "no carer in area X was satisfied").

    References
    ----------
    Office for National Statistics (2021). *Policy on protecting confidentiality in tables
    of birth and death statistics*. NHS Digital (2014). *Disclosure control method for the
    Hospital Episode Statistics*. Hundepool, A. et al. (2012). *Statistical Disclosure
    Control*, ch. 4 (Wiley).

    The R equivalent is ``sdcTable::protectTable(..., method = "SIMPLEHEURISTIC")`` with a
    frequency rule ``maxN = threshold - 1``.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"Service user": [3, 40, 25], "Carer": [12, 30, 18]},
    ...                       index=["Poor", "Fair", "Good"])
    >>> s = suppress(counts)
    >>> s.display()
          Service user Carer Total
    Poor           [c]   [c]    15
    Fair            40    30    70
    Good           [c]   [c]    43
    Total           68    60   128
    >>> s.n_primary, s.n_secondary
    (1, 3)

    The 3 is withheld (primary). The Poor row total would reveal it, so the Carer 12 goes
    too; the Service user and Carer column totals would then reveal both, so the smallest
    further cells of those columns (25 and 18) go as well.
    """
    if isinstance(table, Suppression):
        base = table.counts
        label = table.margin_label
        if table.margins is True or table.margins == "row":
            base = base.drop(index=label)
        if table.margins is True or table.margins == "column":
            base = base.drop(columns=label)
        prior = table.mask if force is None else (table.mask | force)
        return suppress(base, threshold=threshold, margins=table.margins,
                        suppress_zeros=suppress_zeros, force=prior, prefer=prefer,
                        margin_label=label, protection=protection)
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise DisclosureError(f"threshold must be a whole number >= 1; got {threshold!r}")
    if margins not in (True, False, "row", "column"):
        raise DisclosureError(f"margins must be True, False, 'row' or 'column'; got {margins!r}")
    if prefer not in ("parts", "totals"):
        raise DisclosureError(f"prefer must be 'parts' or 'totals'; got {prefer!r}")
    counts = _as_counts(table)
    if margins is not False and (margin_label in counts.index or margin_label in counts.columns):
        raise DisclosureError(
            f"the table already has a row or column {margin_label!r}; pass the cells "
            "without totals (they are added and protected here)"
        )
    counts = counts.copy()
    if margins is True or margins == "column":
        counts[margin_label] = counts.sum(axis=1)
    if margins is True or margins == "row":
        counts = _with_total_row(counts, margin_label)
    lines = _table_lines(len(table.index), len(table.columns), margins)
    forced = np.zeros(counts.size, dtype=bool)
    if force is not None:
        aligned = force.reindex(index=counts.index, columns=counts.columns, fill_value=False)
        forced = aligned.fillna(False).to_numpy(dtype=bool).ravel()
    values = counts.to_numpy(dtype=np.int64).ravel()
    need = default_protection(int(threshold)) if protection is None else int(protection)
    # inside a report run each distinct table is protected once (the audit's rounds rebuild
    # attrition.csv, the distribution and transition tables share cells); the key holds
    # every input of _protect (its lines follow from the shape and the margins)
    key = ("suppress", values.tobytes(), counts.shape, len(table.index), len(table.columns),
           str(margins), int(threshold), bool(suppress_zeros), forced.tobytes(), prefer, need)
    codes = remembered(key, lambda: _protect(
        values, lines, threshold=int(threshold), suppress_zeros=suppress_zeros, force=forced,
        prefer=prefer, protection=need))
    names = np.asarray(_STATUS_NAMES, dtype=object)[codes].reshape(counts.shape)
    status = pd.DataFrame(names, index=counts.index, columns=counts.columns)
    return Suppression(counts=counts, status=status, threshold=int(threshold),
                       suppress_zeros=suppress_zeros, margins=margins, margin_label=margin_label,
                       protection=need)


def suppress_together(
    blocks: Sequence[pd.DataFrame],
    *,
    shared: str,
    threshold: int = DEFAULT_THRESHOLD,
    suppress_zeros: bool = False,
    prefer: Prefer = "parts",
    margin_label: str = "Total",
    protection: int | None = None,
    forces: Sequence[pd.DataFrame | None] | None = None,
) -> list[Suppression]:
    """Suppress several count tables that publish one row in common, consistently.

    Parameters
    ----------
    blocks
        Cell counts of each table (without totals, as for :func:`suppress`).
    shared
        Label of the row every block publishes with the same numbers: ``margin_label``
        when the blocks share their totals row (the demographic blocks of one wave share
        the respondents per group), or a row of cells (the linked respondents, a part of
        both waves' linkage tables).
    threshold, suppress_zeros, prefer, margin_label, protection
        As for :func:`suppress` (totals are always added: ``margins=True``).
    forces
        Per block, cells to withhold whatever their value (as :func:`suppress`'s
        ``force``, with totals), or ``None``.

    Returns
    -------
    list of Suppression
        One per block, in order; the ``shared`` row withholds the same cells in every one.

    Notes
    -----
    Each block is protected with :func:`suppress`. A cell of the shared row withheld in
    one block would be read off another block that shows it, so the union of the shared
    row's withheld cells is forced into every block and all are protected again, until
    they agree. The forced set only grows and is bounded by the row, so this ends.

    Examples
    --------
    >>> import pandas as pd
    >>> wave1 = pd.DataFrame({"a": [40, 3], "b": [30, 25]}, index=["linked", "only"])
    >>> wave2 = pd.DataFrame({"a": [40, 20], "b": [30, 22]}, index=["linked", "only"])
    >>> one, two = suppress_together([wave1, wave2], shared="linked")
    >>> two.display().loc["linked"].tolist()
    ['[c]', '[c]', '70']
    """
    if not blocks:
        raise DisclosureError("suppress_together() needs at least one table")
    shared_mask: pd.Series | None = None
    while True:
        results = []
        for b, block in enumerate(blocks):
            given = None if forces is None else forces[b]
            force = None if given is None else given.astype(bool).copy()
            if shared_mask is not None:
                if force is None:
                    force = pd.DataFrame(False, index=[*block.index, margin_label],
                                         columns=[*block.columns, margin_label])
                force.loc[shared] = force.loc[shared].to_numpy() | \
                    shared_mask.reindex(force.columns).to_numpy()
            results.append(suppress(block, threshold=threshold, margins=True,
                                    suppress_zeros=suppress_zeros, force=force, prefer=prefer,
                                    margin_label=margin_label, protection=protection))
        rows = [_shared_row(r.mask, shared) for r in results]
        union = rows[0].copy()
        for row in rows[1:]:
            union |= row
        if all(row.equals(union) for row in rows):
            return results
        shared_mask = union


def _shared_row(mask: pd.DataFrame, label: str) -> pd.Series:
    if label not in mask.index:
        raise DisclosureError(f"every table must have the shared row {label!r}")
    row = mask.loc[label]
    if not isinstance(row, pd.Series):
        raise DisclosureError(f"the shared row {label!r} appears more than once")
    return row


#: The parts of a release the audit may withhold a domain from
#: (:func:`~crisis_survey.present._release.hidden_domains`), in the order it gives them up:
#: the figures first, the comparison rows last.
DOMAIN_PARTS: tuple[str, ...] = ("transitions", "likert", "distribution", "attrition", "table1",
                                  "overlapping", "independent", "paired")


def is_small(count: float, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether ``count`` is a small count (from 1 to ``threshold - 1``); NaN is not.

    Examples
    --------
    >>> is_small(3), is_small(0), is_small(10), is_small(float("nan"))
    (True, False, False, False)
    """
    return not math.isnan(count) and 1 <= count < threshold


def percent_reveals_small(pct: float, n: float, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether a percentage of ``n`` lets a reader work out a small count or complement.

    The count behind ``pct`` is ``k = round(pct * n / 100)``; the percentage is disclosive
    when ``k`` or ``n - k`` is from 1 to ``threshold - 1``. NaN (no percentage, or no
    ``n``) discloses nothing.

    Examples
    --------
    >>> percent_reveals_small(95.0, 100), percent_reveals_small(50.0, 100)
    (True, False)
    """
    if math.isnan(pct) or math.isnan(n) or n <= 0:
        return False
    count = round(pct * n / 100.0)
    return is_small(count, threshold) or is_small(n - count, threshold)


def audit_suppression(result: Suppression) -> pd.DataFrame:
    """Check a :class:`Suppression` as a reader would attack it.

    Returns one row per withheld cell: ``row, column, status, lower, upper, pinned,
    disclosed, values, narrowed``, where ``lower``/``upper`` are the smallest and largest
    values consistent with the published cells and the row and column equations (cells >= 1
    when zeros are shown), ``pinned`` says whether they leave one whole number,
    ``disclosed`` whether a small count is thereby revealed (a pinned primary cell),
    ``values`` how many whole numbers the interval holds and ``narrowed`` whether a small
    count keeps fewer than the table's ``protection``. Secondary cells are counts of
    at least ``threshold``: their being pinned discloses nothing small. Published counts in
    ``1 .. threshold - 1`` (never produced by :func:`suppress`) are reported with
    ``status="published"`` and ``disclosed=True``.

    Parameters
    ----------
    result
        The output of :func:`suppress`.

    Returns
    -------
    pandas.DataFrame
        One row per withheld cell, as above.

    Examples
    --------
    >>> import pandas as pd
    >>> s = suppress(pd.DataFrame({"a": [3, 40], "b": [12, 30]}))
    >>> bool(audit_suppression(s)["disclosed"].any())
    False
    """
    counts = result.counts
    values = counts.to_numpy(dtype=float).ravel()
    hidden_mask = result.mask.to_numpy().ravel()
    n_rows, n_cols = counts.shape
    has_row = result.margins is True or result.margins == "row"
    has_col = result.margins is True or result.margins == "column"
    lines = _table_lines(n_rows - int(has_row), n_cols - int(has_col), result.margins)
    hidden = np.flatnonzero(hidden_mask)
    a_eq, b_eq = _system(values, hidden, lines)
    lower = _lower_bound(result.suppress_zeros)
    records: list[dict[str, Any]] = []
    if a_eq.shape[0]:
        los, his = lp_intervals(np.eye(hidden.size), a_eq=a_eq, b_eq=b_eq, lower=lower)
    else:
        los, his = np.full(hidden.size, lower), np.full(hidden.size, math.inf)
    for k, c in enumerate(hidden):
        lo, hi = float(los[k]), float(his[k])
        i, j = divmod(int(c), n_cols)
        primary = result.status.iat[i, j] == "primary"
        records.append({
            "row": counts.index[i], "column": counts.columns[j],
            "status": result.status.iat[i, j], "lower": lo, "upper": hi,
            "pinned": _pinned(lo, hi), "disclosed": _pinned(lo, hi) and primary,
            "values": _width(lo, hi), "narrowed": primary and _width(lo, hi) < result.protection,
        })
    small = (values >= 1) & (values < result.threshold) & ~hidden_mask
    for c in np.flatnonzero(small):
        i, j = divmod(int(c), n_cols)
        records.append({"row": counts.index[i], "column": counts.columns[j],
                        "status": "published", "lower": values[c], "upper": values[c],
                        "pinned": True, "disclosed": True, "values": 1.0, "narrowed": True})
    return pd.DataFrame(records, columns=["row", "column", "status", "lower", "upper",
                                          "pinned", "disclosed", "values", "narrowed"])


# -- identifiers must never reach an output ------------------------------------------------
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?")
_SENSITIVE_ROLES = ("identifier", "link_key")


def _sensitive_fields(codebook: Codebook) -> set[str]:
    return {
        f.name for f in codebook.fields
        if f.role in _SENSITIVE_ROLES or f.measurement == "text"
    }


def _labels(index: pd.Index) -> Iterable[str]:
    if isinstance(index, pd.MultiIndex):
        for level in index.levels:
            yield from (str(v) for v in level)
        yield from (str(n) for n in index.names if n is not None)
    else:
        yield from (str(v) for v in index)
        if index.name is not None:
            yield str(index.name)


def identifying_values(waves: Iterable[SurveyWave]) -> set[str]:
    """Every value that must never be published: identifiers, link keys, free text.

    Parameters
    ----------
    waves
        The study's waves (``(study.wave1, study.wave2)``).

    Returns
    -------
    set of str
        The stripped values of each wave's identifier, link-key and free-text fields, and
        each link key as normalised for matching (what a linked study's index holds when
        no secret is used). Pass them to :func:`assert_no_identifiers`.

    Notes
    -----
    Two kinds of value are left out, because published tables are made of them and a
    match would stop every output for nothing: plain numbers (a numeric respondent id
    ``"413"`` cannot be told from a count of 413; identifier columns are still caught by
    name) and the codebook's own words (field names and titles, level and group labels:
    a comment that reads ``"No"`` is not disclosed by a table header ``"No"``).

    Examples
    --------
    >>> from crisis_survey.synthetic import load_sample_study
    >>> study = load_sample_study()
    >>> secrets = identifying_values([study.wave1, study.wave2])
    >>> str(study.wave1.data["respondent_id"].iloc[0]) in secrets
    True
    """
    from ..link import normalise_keys

    values: set[str] = set()
    vocabulary: set[str] = set()
    for wave in waves:
        cb = wave.codebook
        for name in sorted(_sensitive_fields(cb) & set(wave.data.columns)):
            # one string per distinct value, converted by pandas in one call (iterating an
            # Arrow-backed column in Python costs about a microsecond a value)
            texts = pd.Series(wave.data[name].dropna().unique()).astype(str).tolist()
            values.update(_not_numbers([t.strip() for t in texts]))
            if name == cb.link_key.name:
                keys = normalise_keys(pd.Series(texts, dtype=object)).dropna()
                values.update(_not_numbers(keys.drop_duplicates().tolist()))
        for f in cb.fields:
            vocabulary |= {f.name, f.label, *f.labels}
    values -= vocabulary
    return values


_NUMBER_START = frozenset("+-0123456789")


def _not_numbers(texts: list[str]) -> list[str]:
    """The non-empty texts that are not plain numbers (the regular expression only runs on
    texts that start like a number)."""
    return [t for t in texts if t and not (t[0] in _NUMBER_START and _NUMBER.fullmatch(t))]


def assert_no_identifiers(
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    sensitive_values: Iterable[object] = (),
) -> None:
    """Raise :class:`DisclosureError` if an identifier could reach a published output.

    Parameters
    ----------
    frame
        A table about to be published (display strings or values).
    codebook
        The study's codebook; its ``identifier`` and ``link_key`` fields and its free-text
        items (``measurement="text"``) must never be published.
    sensitive_values
        Values that must not appear in any cell, index or column label (respondent
        identifiers, link keys, free-text answers of the study; pass
        ``wave.data[["respondent_id", "link_key", "comments"]].stack()``).

    Notes
    -----
    The check fails when (1) a column, index level or index name is an identifier, link-key
    or free-text field, (2) a cell or label equals one of ``sensitive_values``, or (3) a
    cell or label looks like a pseudonymised link key (a 64-character hexadecimal
    HMAC-SHA256 digest).

    Examples
    --------
    >>> import pandas as pd
    >>> from crisis_survey.codebook import default_codebook
    >>> assert_no_identifiers(pd.DataFrame({"n": [12]}), default_codebook())
    >>> assert_no_identifiers(pd.DataFrame({"link_key": ["ab12"]}), default_codebook())
    Traceback (most recent call last):
    ...
    crisis_survey.present._disclosure.DisclosureError: ...'link_key' is an identifier...
    """
    if not isinstance(frame, pd.DataFrame):
        raise DisclosureError(
            f"assert_no_identifiers() needs a DataFrame; got {type(frame).__name__}"
        )
    secrets = {str(v).strip() for v in sensitive_values if v is not None}
    _refuse_identifiers(frame, codebook, secrets)


def _places(frame: pd.DataFrame) -> dict[str, str]:
    """Every text of a table (labels and string cells) -> where it first is (never the text
    itself: a message must not repeat it)."""
    places: dict[str, str] = {}
    for label in _labels(frame.columns):
        places.setdefault(label, "a column label")
    for label in _labels(frame.index):
        places.setdefault(label, "a row label")
    for j, column in enumerate(frame.columns):
        for value in frame.iloc[:, j].astype(object).tolist():
            if isinstance(value, str):
                places.setdefault(value, f"a cell of column {str(column)!r}")
    return places


def _published_texts(frames: Iterable[pd.DataFrame]) -> set[str]:
    """The stripped texts of tables about to be published (labels and string cells)."""
    return {text.strip() for frame in frames for text in _places(frame)}


#: Texts whose ends may be white space to strip (a superset: anything but an ASCII letter or
#: digit at either end); only these are stripped one by one.
_UNTRIMMED = r"^[^0-9A-Za-z]|[^0-9A-Za-z]$"


def _identifying_among(waves: Iterable[SurveyWave], texts: Set[str]) -> set[str]:
    """``texts & identifying_values(waves)``, found by looking the few published ``texts``
    up in each sensitive column (vectorised hash look-ups) instead of building the set of
    every identifier, link key and comment of the study (a Python set of millions of
    strings at national scale). :func:`identifying_values` is the plain reference."""
    from ..link import normalise_keys

    wanted = {t for t in texts if t}
    found: set[str] = set()
    vocabulary: set[str] = set()
    for wave in waves:
        cb = wave.codebook
        for f in cb.fields:
            vocabulary |= {f.name, f.label, *f.labels}
        if not wanted:
            continue
        for name in sorted(_sensitive_fields(cb) & set(wave.data.columns)):
            column = wave.data[name].dropna().astype(str)
            found.update(column[column.isin(wanted)].tolist())
            padded = column[column.str.contains(_UNTRIMMED, regex=True)].tolist()
            found.update(t.strip() for t in padded if t.strip() in wanted)
            if name == cb.link_key.name:
                keys = normalise_keys(column).dropna()
                found.update(keys[keys.isin(wanted)].tolist())
    return set(_not_numbers(sorted(found - vocabulary)))


def _refuse_identifiers(frame: pd.DataFrame, codebook: Codebook, secrets: Set[str]) -> None:
    """:func:`assert_no_identifiers` with ``secrets`` already stripped strings (what
    :func:`identifying_values` returns): a release checks each of its tables against the
    same set without normalising every identifier of the study again for each table."""
    banned = _sensitive_fields(codebook)
    problems: list[str] = []
    for label in set(_labels(frame.columns)) | set(_labels(frame.index)):
        if label in banned:
            problems.append(
                f"{label!r} is an identifier, link-key or free-text field and must not be "
                "published"
            )
    for value, where in _places(frame).items():
        text = value.strip()
        if text in secrets and text not in ("", "nan"):
            problems.append(f"{where} holds a respondent identifier, link key or "
                            "free-text answer")
        elif _DIGEST.match(text.casefold()):
            problems.append(f"{where} holds what looks like a pseudonymised link key")
    if problems:
        raise DisclosureError(
            "The output would disclose identifying information:\n  - "
            + "\n  - ".join(sorted(set(problems)))
        )
