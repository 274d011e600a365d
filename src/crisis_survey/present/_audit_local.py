"""The release audit's product path: sparse blocks, small counts proven safe by local
programmes, the rest solved by the reference (private module; reached through
:func:`crisis_survey.present._audit.audit_release`).

The reference (:func:`._audit._solve`) writes each block (one item or demographic over every
stratum) as a dense facts x atoms matrix and solves one programme over the whole block per
bound. By group x area (150 areas) a block has about 30,000 facts and 14,000 atoms: dense,
that is gigabytes per block, and every bound is a programme over all areas; the audit ran out
of memory (23.4 GB) even at 2,000 respondents per wave.

Here a block is a sparse matrix, and a small count is first attacked *locally*: only the
atoms of the areas (cells) its respondents are in, and of two more cells of the same group,
may move; every other atom stays at its true count, and every stratum keeps its true size.
Each such point is a point of the reference's programme too (the true counts satisfy every
fact, the true sizes lie within every stratum's bounds), so the local interval lies inside
the reference's: a count whose local interval holds ``protection`` whole numbers is proven
safe. The counts not proven safe locally (few) are solved by the reference, exactly as it
would; when the reference would be too large for them, they are reported as narrowed (the
release then withholds a statistic, or is flagged), which is safe, never weaker.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._memo import remembered, remembered_all, run_state
from ._disclosure import _stacked, _width

if TYPE_CHECKING:
    from ._audit import _Block, _Persons, _Problem

#: Cells of the same group a local programme may also move (beside the cells the count's
#: respondents are in): trades between areas keep every total of the group.
PARTNERS = 2
#: Cells of the same group the programmes bounding the strata sizes may also move (beside
#: each stratum's own cells; the narrow ring of :data:`PARTNERS` where the wide one holds
#: more than :data:`LOCAL_ATOMS` atoms). The strata bounds are the narrowest over every
#: block, so a ring too small to hold any slack pins them: at 10,000 per wave by group x
#: area (150 areas) 2 partners left the median stratum 2 sizes wide (176 of 1,020 fixed)
#: where one block alone allows hundreds.
STRATA_PARTNERS = 6
#: How wide each stratum's bounds are sought, in protection intervals: beyond the few
#: vertices shared by all, a stratum's own smallest and largest size in each programme
#: (up to two solves per stratum) until its bounds are this many times ``need`` sizes wide
#: (a count moved over its ``need`` values moves its stratum's size by as much either way).
#: At 10,000 per wave by group x area, against 2 partners and the shared vertices alone:
#: the counts the two count rounds leave unproven 2,088 -> 1,342 in an ordinal block and
#: 471 -> 83 in a binary one with no limit (``math.inf``; the strata programmes 170 s
#: against 40 s CPU; 6 partners with the shared vertices alone: 1,682 and 352 left; 12: 1,642
#: and 336). With 2 (2026-12-02, 2 workers, load 1): 94.0 -> 57.2 s wall, 1,359 and 101 left
#: (the median stratum 9 sizes wide against 10); at 1,000,000 per wave the strata
#: programmes were 265 of the audit's 340 s.
STRATA_ROOM: float = 2.0
#: The most atoms one local programme moves: a count whose cells hold more (a count of a
#: whole group, say) is tried on the first of its cells only, and a stratum of no cell
#: keeps its true size (both on the safe side).
LOCAL_ATOMS = 2_000
#: The second round, for the counts the first does not prove safe: more cells of the
#: group may trade (:data:`PARTNERS` beside each of the count's cells), in programmes of
#: at most :data:`WIDER_ATOMS` atoms (by group x area at 10,000 per wave, 73% of the
#: counts the first round left were proven safe by it, in one item's block).
WIDER_PARTNERS = 6
WIDER_ATOMS = 4_000
#: Cells of each group (those holding most respondents) that join the rings of the
#: strata programmes left narrower than the protection, and of a third round for the
#: counts the wider round leaves, where the programme stays within its atom limit (else
#: the ring without them). A small study spread over many areas has almost no slack
#: inside a ring of neighbours, where the whole block has plenty: the shipped sample by
#: group x area, small counts left unproven 22,558 -> 6,866 of 30,223; 10,000 per wave by
#: group x area 16,357 -> 446 of 156,318, the solve 305 -> 694 s (docs/disclosure-control.md).
HUBS = 8
#: The last round, for the counts the rings leave: each block's own programme over all its
#: atoms (the reference's programme of the block, the strata within the inner bounds), a
#: few probes pushing every count left up and down together, then each count's own
#: optima, all from one HiGHS model per block re-solved from its last basis by the primal
#: simplex. It runs where a block's atoms x counts left stay within this budget, else the
#: counts stay unproven. On the shipped sample by group x area (with :data:`WHOLE_STRATA`)
#: the counts left unproven 7,195 -> 2,067 of 30,223, the solve 172 -> 103 s
#: (docs/disclosure-control.md).
WHOLE_BUDGET = 50_000_000
#: The strata sizes of a block are bounded by its whole programme (the reference's own
#: bounds, each stratum's smallest and largest size) where its atoms x strata stay within
#: this; else by the rings. On the sample by group x area the rings left the median
#: stratum 5 sizes wide where the whole programmes allow 48 (4 s for an ordinal item's
#: block of 5,007 atoms and 366 strata).
WHOLE_STRATA = 5_000_000
#: Where the strata bounds are not the reference's own (blocks above
#: :data:`WHOLE_STRATA`), a count the whole-block round leaves short is proven narrowed
#: with strata bounds *holding* the reference's: each stratum's range over the whole
#: programme of the block of fewest atoms x strata, where that stays within this.
OUTER_STRATA = 20_000_000
#: The random probes of :data:`WHOLE_BUDGET`'s round (each pushed up and down).
WHOLE_PROBES = 2
#: Then, in that round, the counts still short are pushed up and down together (random
#: weights over them alone) while a pair of solves leaves at least this share fewer of
#: them short and at least :data:`FOCUS_MIN` are; each count left gets its own optima.
#: Most counts the rings leave are not narrowed, and one pair of solves widens many of
#: them at once where each count's own optima take two solves each.
FOCUS_SHARE = 0.1
FOCUS_MIN = 8
#: The reference is run for the counts not proven safe locally when its programmes stay
#: below this many variables (atoms x bounds, summed over the blocks); else they are
#: reported as narrowed.
EXACT_BUDGET = 4_000_000
#: The most bases :func:`class_bounds` enumerates (else the caller's programme is solved).
VERTEX_LIMIT = 20_000


def class_bounds(a_eq: np.ndarray, cells: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact bounds of every cell over ``{x >= 0 : a_eq x = a_eq cells}`` without a solver
    (``None`` when ``a_eq`` is not 0/1, a cell is in no row, or there are more than
    :data:`VERTEX_LIMIT` bases to try).

    Cells with the same column of ``a_eq`` form a *class*: the equations see only the
    class's total, which its cells share in any way, so a cell of a class of two or more
    ranges from 0 to its class total's largest value, and a cell alone in its class over
    its class total's range. The class totals range over a polytope of a few dimensions
    (four classes and three equations for a paired table with both waves' percentages;
    eight and four for the overlapping design), bounded because every class is in a row
    of non-negative coefficients; each total's smallest and largest values are at
    vertices, and the vertices are the basic feasible solutions: every choice of as many
    classes as the equations' rank whose square system is non-singular and solves to
    non-negative totals. The bases depend on ``a_eq`` alone (a few patterns recur over
    every row of a comparison): they are inverted once per pattern, then each call is one
    batched product. The same bounds as the linear programme's
    (``tests/test_audit_local.py`` compares them with HiGHS on random tables)."""
    a = np.ascontiguousarray(a_eq, dtype=float)
    c = np.asarray(cells, dtype=float)
    if a.ndim != 2 or a.shape[1] != c.size:
        return None
    found = _classes(a.tobytes(), a.shape)
    if found is None:
        return None
    cls, members, a_r, combos, inverse = found
    y = np.bincount(cls, weights=c, minlength=a_r.shape[1])
    sol = inverse @ (a_r @ y)  # every basis's class totals
    feasible = (sol >= -1e-9).all(axis=1)
    if not feasible.any():
        return None
    vertices = np.zeros((int(feasible.sum()), a_r.shape[1]))
    np.put_along_axis(vertices, combos[feasible], np.maximum(sol[feasible], 0.0), axis=1)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    return np.where(members[cls] > 1, 0.0, low[cls]), high[cls]


@functools.lru_cache(maxsize=512)
def _classes(data: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, ...] | None:
    """:func:`class_bounds`'s structure of one ``a_eq``: each cell's class, the classes'
    sizes, independent equations over the classes, and every non-singular basis with its
    inverse."""
    a = np.frombuffer(data, dtype=float).reshape(shape)
    if not np.all((a == 0) | (a == 1)):
        return None
    cols, cls, members = np.unique(a.T, axis=0, return_inverse=True, return_counts=True)
    if not cols.any(axis=1).all():
        return None  # unbounded but for the caller's upper bound
    m = np.unique(cols.T, axis=0)  # the distinct equations over the classes
    pick: list[int] = []
    for i in range(m.shape[0]):
        if np.linalg.matrix_rank(m[[*pick, i]]) > len(pick):
            pick.append(i)
    r, n_c = len(pick), m.shape[1]
    if r == 0 or math.comb(n_c, r) > VERTEX_LIMIT:
        return None
    a_r = m[pick]
    combos = np.asarray(list(itertools.combinations(range(n_c), r)), dtype=np.intp)
    bases = a_r[:, combos].transpose(1, 0, 2)  # one r x r matrix per choice of classes
    keep = np.abs(np.linalg.det(bases)) > 0.5  # 0/1 matrices: whole determinants
    return (cls.ravel(), members, a_r, combos[keep], np.linalg.inv(bases[keep]))


@dataclass
class SparseProblem:
    """One block over its atoms, as :class:`._audit._Problem`, with the facts sparse and
    the strata as one stratum number per atom (-1: none, the linkage block)."""

    name: str
    atoms: Any  # scipy.sparse csr_matrix, facts x atoms, 0/1
    value: np.ndarray
    kinds: list[str]
    labels: list[str]
    outputs: list[str]
    stratum: np.ndarray
    upper: float
    truth: np.ndarray
    origins: list[tuple[str, ...] | None] = field(default_factory=list)
    #: A digest of the grid (its true counts and strata) and one of each fact's grid
    #: points (empty: the block is never compared with an earlier audit's, :func:`solve`)
    universe: bytes = b""
    fact_keys: list[bytes] = field(default_factory=list)
    _columns: Any = None
    _digest: bytes | None = None

    @property
    def columns(self) -> Any:
        """The facts by atom (csc; selecting a few atoms' columns of the csr matrix would
        read every fact)."""
        if self._columns is None:
            self._columns = self.atoms.tocsc()
        return self._columns

    def dense(self, n_strata: int) -> _Problem:
        """The reference's form of this block."""
        from ._audit import _Problem

        n = self.truth.size
        if np.all(self.stratum < 0):
            strata = np.zeros((0, n))
        else:
            strata = np.zeros((n_strata, n))
            strata[self.stratum, np.arange(n)] = 1.0
        return _Problem(name=self.name, atoms=np.asarray(self.atoms.todense(), dtype=float),
                        value=self.value, kinds=self.kinds, labels=self.labels,
                        outputs=self.outputs, strata=strata, upper=self.upper,
                        truth=self.truth, origins=self.origins)


def sparse_problem(b: _Block) -> SparseProblem:
    """The block over its atoms (grid points every fact and the stratum treat alike,
    merged; atoms inside a published zero dropped), as :func:`._audit._problem` builds
    it, without any dense facts x grid matrix."""
    from scipy import sparse

    g = b.weight.size
    f = len(b.coefs)
    lens = np.fromiter((c.size for c in b.coefs), dtype=np.int64, count=f)
    rows = np.repeat(np.arange(f, dtype=np.int64), lens)
    cols = np.concatenate(b.coefs) if f else np.zeros(0, np.int64)
    grid = sparse.csc_matrix((np.ones(rows.size), (rows, cols)), shape=(f, g))
    grid.sum_duplicates()
    grid.sort_indices()
    ptr, idx = grid.indptr, grid.indices
    seen: dict[tuple[int, bytes], int] = {}
    inverse = np.empty(g, dtype=np.int64)
    first: list[int] = []
    for j in range(g):
        key = (int(b.strata[j]), idx[ptr[j]:ptr[j + 1]].tobytes())
        at = seen.get(key)
        if at is None:
            at = seen[key] = len(first)
            first.append(j)
        inverse[j] = at
    weight = np.bincount(inverse, weights=b.weight, minlength=len(first))
    atoms = grid[:, np.asarray(first, dtype=np.int64)].tocsr()
    stratum = np.asarray(b.strata, dtype=np.int64)[np.asarray(first, dtype=np.int64)]
    kinds = np.asarray(b.kinds)
    zero = (kinds == "published") & (atoms @ weight == 0) if f else np.zeros(0, bool)
    if zero.any():
        dead = np.asarray(atoms[np.flatnonzero(zero)].sum(axis=0)).ravel() > 0
        alive = np.flatnonzero(~dead)
        atoms, weight, stratum = atoms[:, alive], weight[alive], stratum[alive]
    atoms = sparse.csr_matrix(atoms)
    universe = hashlib.sha256()
    for arr in (np.asarray(b.weight, dtype=float), np.asarray(b.strata, dtype=np.int64)):
        universe.update(np.ascontiguousarray(arr).tobytes())
        universe.update(b"|")
    keys = [hashlib.blake2b(np.ascontiguousarray(c).tobytes(), digest_size=16).digest()
            for c in b.coefs]
    return SparseProblem(name=b.name, atoms=atoms, value=atoms @ weight, kinds=b.kinds,
                         labels=b.labels, outputs=b.outputs, stratum=stratum,
                         upper=float(b.weight.sum()), truth=weight, origins=b.origins,
                         universe=universe.digest(), fact_keys=keys)


def from_dense(p: _Problem) -> SparseProblem:
    """A block without strata (the linkage block) in sparse form."""
    from scipy import sparse

    n = p.atoms.shape[1]
    stratum = np.full(n, -1, dtype=np.int64)
    if p.strata.shape[0]:
        stratum = np.argmax(p.strata, axis=0).astype(np.int64)
    return SparseProblem(name=p.name, atoms=sparse.csr_matrix(p.atoms), value=p.value,
                         kinds=p.kinds, labels=p.labels, outputs=p.outputs, stratum=stratum,
                         upper=p.upper, truth=p.truth, origins=p.origins)


def targets(p: SparseProblem, threshold: int) -> list[int]:
    """As :func:`._audit._targets`: small withheld or source counts, one per distinct
    count, in order of first appearance."""
    kinds = np.asarray(p.kinds)
    small = np.flatnonzero((p.value >= 1) & (p.value < threshold) & (kinds != "published"))
    out: list[int] = []
    seen: set[bytes] = set()
    a = p.atoms
    for q in small:
        key = a.indices[a.indptr[q]:a.indptr[q + 1]].tobytes()
        if key not in seen:
            seen.add(key)
            out.append(int(q))
    return out


def _cell_groups(persons: _Persons) -> dict[int, int]:
    """Each by-cell's respondent group (columns of ``persons.strata``: has1, g1, c1, has2,
    g2, c2, cp, linked)."""
    st = persons.strata
    out: dict[int, int] = {}
    for has, g, c in ((0, 1, 2), (3, 4, 5)):
        for gg, cc in zip(st[st[:, has] == 1, g], st[st[:, has] == 1, c], strict=True):
            if cc >= 0:
                out.setdefault(int(cc), int(gg))
    return out


def _keys(p: SparseProblem, chosen: Sequence[int], persons: _Persons,
          groups_of: dict[int, int], partners: int = PARTNERS,
          hubs: dict[int, tuple[int, ...]] | None = None
          ) -> list[tuple[int, ...] | None]:
    """The cells each attacked count's local programme moves (``None``: the whole block;
    with ``hubs``, its group's hub cells too)."""
    if np.any(p.stratum < 0) or not chosen:
        return [None] * len(chosen)
    cells_of = persons.strata[:, [2, 5, 6]]
    a = p.atoms
    out: list[tuple[int, ...] | None] = []
    for q in chosen:
        sup = a.indices[a.indptr[q]:a.indptr[q + 1]]
        held = sup[p.truth[sup] > 0]
        cells = np.unique(cells_of[p.stratum[held if held.size else sup]])
        cells = cells[cells >= 0]
        out.append(_ring([int(c) for c in cells], groups_of, partners, hubs) if cells.size
                   else None)
    return out


def _local_spec(p: SparseProblem, cols: np.ndarray, obj: np.ndarray,
                strata: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """The block's programme with only the atoms ``cols`` free (every other atom at its
    true count; the strata within ``strata``'s bounds, or free with ``None``), for the
    objectives ``obj`` (over ``cols``)."""
    a_s = p.columns[:, cols]
    rows = np.unique(a_s.indices)
    sub = np.asarray(a_s[rows].todense(), dtype=float)
    t_s = p.truth[cols]
    inside = sub @ t_s
    outside = p.value[rows] - inside
    kinds = np.asarray(p.kinds)[rows]
    pub = kinds == "published"
    held = (kinds == "withheld") & (p.value[rows] > 0)
    eq = [sub[pub]]
    rhs = [inside[pub]]
    ub = [-sub[held]]
    ub_rhs = [outside[held] - 1.0]
    st = p.stratum[cols]
    if strata is not None and st.size and st.min() >= 0:
        lo, hi = strata
        levels, where = np.unique(st, return_inverse=True)
        ind = np.zeros((levels.size, cols.size))
        ind[where.ravel(), np.arange(cols.size)] = 1.0
        fixed = lo[levels] == hi[levels]
        eq.append(ind[fixed])
        rhs.append(lo[levels][fixed])
        ub += [ind[~fixed], -ind[~fixed]]
        ub_rhs += [hi[levels][~fixed], -lo[levels][~fixed]]
    a_eq = np.vstack(eq)
    b_eq = np.concatenate(rhs)
    if a_eq.shape[0]:
        a_eq, keep = np.unique(a_eq, axis=0, return_index=True)
        b_eq = b_eq[keep]
    return {"objectives": obj, "a_eq": a_eq, "b_eq": b_eq, "a_ub": np.vstack(ub),
            "b_ub": np.concatenate(ub_rhs), "lower": 0.0, "upper": p.upper, "x0": t_s}


def _ranges(specs: Sequence[dict[str, Any]], need: float | None
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner bounds of each spec's objectives (:func:`_ranges_stacked`'s), from one HiGHS
    model per spec re-solved from its last basis for each objective (a local programme's
    objectives share its polytope: after the first solve, each takes a few simplex
    steps, where a stacked programme solved every copy from scratch and HiGHS' time grew
    faster than the stack). The largest value of each objective is sought first, and its
    smallest only when the interval is still short of ``need``. No bound is a solver's
    claim: each is the value at a point the solver returned. Without scipy's HiGHS
    bindings, :func:`_ranges_stacked` (the reference; ``tests/test_audit_local.py``
    compares the two)."""
    if _highs() is None:  # pragma: no cover - scipy without its HiGHS bindings
        return _ranges_stacked(specs, need)
    from ._audit import _spec_key

    # a block changed by a round (a statistic withheld in one area) keeps most of its
    # local programmes: each is solved once per run
    return [remembered(("local ranges", None if need is None else float(need),
                        _spec_key(spec)), functools.partial(_spec_ranges, spec, need))
            for spec in specs]


def _spec_ranges(spec: dict[str, Any], need: float | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_ranges` of one spec."""
    obj = np.atleast_2d(np.asarray(spec["objectives"], dtype=float))
    # each spec's own random direction (a spec's bounds do not depend on the specs
    # solved before it, so they can be remembered between rounds)
    w = np.random.default_rng(0).uniform(0.2, 1.0, size=(1, obj.shape[0]))
    start = obj @ np.asarray(spec["x0"], dtype=float)
    lo, hi = start.copy(), start.copy()
    _widen(_Model(spec, obj.shape[1]), obj, lo, hi,
           np.vstack([np.ones(obj.shape[0]), w[0]]), need)
    return lo, hi


def _widen(model: _Model, obj: Any, lo: np.ndarray, hi: np.ndarray, probes: np.ndarray,
           need: float | None, *, focus: bool = False) -> np.ndarray:
    """Widen ``lo`` and ``hi`` (in place) to the values the objectives ``obj`` (rows, dense
    or sparse) take at points of ``model``: each probe (weights over the objectives)
    pushed up, then down; with ``focus``, then the objectives still short of ``need``
    whole numbers pushed together (random weights, :data:`FOCUS_SHARE`); then each
    objective still short (none with ``None``) to its own largest, then smallest value.
    Returns, per objective, how many of its own optima the solver found (2: its interval
    is the programme's)."""
    optima = np.zeros(obj.shape[0], dtype=np.int64)

    def push(cost: np.ndarray) -> bool:
        x = model.solve(cost)
        if x is not None:
            v = np.asarray(obj @ x, dtype=float).ravel()
            np.minimum(lo, v, out=lo)
            np.maximum(hi, v, out=hi)
        return x is not None

    for weights in probes:
        d = np.asarray(obj.T @ weights, dtype=float).ravel()
        push(-d)  # up together
        push(d)
    enough = math.inf if need is None else float(need)
    rng = np.random.default_rng(1)
    short = _shorter(lo, hi, enough)
    while focus and need is not None and short.size >= FOCUS_MIN:
        weights = np.zeros(obj.shape[0])
        weights[short] = rng.uniform(0.2, 1.0, size=short.size)
        d = np.asarray(obj.T @ weights, dtype=float).ravel()
        push(-d)
        push(d)
        now = _shorter(lo, hi, enough)
        if now.size > (1.0 - FOCUS_SHARE) * short.size:
            break
        short = now
    for i in range(obj.shape[0]) if need is not None else ():
        row = obj[i]
        row = np.asarray(row.todense() if hasattr(row, "todense") else row,
                         dtype=float).ravel()
        for sign in (-1.0, 1.0):  # the largest value first
            if _width(float(lo[i]), float(hi[i])) >= enough:
                break
            optima[i] += push(sign * row)
    return optima


def _shorter(lo: np.ndarray, hi: np.ndarray, need: float) -> np.ndarray:
    """Positions whose ``[lo, hi]`` holds fewer than ``need`` whole numbers."""
    return np.flatnonzero(np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) + 1.0 < need)


def _highs() -> Any:
    """scipy's HiGHS bindings (``None`` where this scipy has none)."""
    import importlib

    try:
        return importlib.import_module("scipy.optimize._highspy._core")
    except ImportError:  # pragma: no cover
        return None


class _Model:
    """One programme in HiGHS (scipy's bindings), re-solved for each objective from the
    basis of the last solve by the primal simplex: a new objective leaves the last
    vertex feasible, so the primal simplex starts there (on the sample by group x area,
    a whole block's re-solve 189 -> 16 ms against HiGHS' default dual simplex; the first
    round of local programmes 26.2 -> 19.5 s)."""

    def __init__(self, spec: dict[str, Any], n: int) -> None:
        from scipy import sparse

        rows, low, high = [], [], []
        for key in ("eq", "ub"):
            a, b = spec.get(f"a_{key}"), spec.get(f"b_{key}")
            if a is None or b is None or np.asarray(a).size == 0:
                continue
            rows.append(np.asarray(a, dtype=float).reshape(-1, n))
            b = np.asarray(b, dtype=float).ravel()
            low.append(b if key == "eq" else np.full(b.size, -np.inf))
            high.append(b)
        a_all = sparse.csc_matrix(np.vstack(rows) if rows else np.zeros((0, n)))
        lower = np.broadcast_to(np.asarray(spec.get("lower", 0.0), float), (n,)).copy()
        up = spec.get("upper")
        upper = (np.full(n, np.inf) if up is None else
                 np.broadcast_to(np.asarray(up, float), (n,)).copy())
        self._pass(a_all, np.concatenate(low) if low else np.zeros(0),
                   np.concatenate(high) if high else np.zeros(0), lower, upper)

    @classmethod
    def sparse(cls, a: Any, row_lower: np.ndarray, row_upper: np.ndarray,
               lower: np.ndarray, upper: np.ndarray) -> _Model:
        """The programme ``row_lower <= a x <= row_upper``, ``lower <= x <= upper`` (``a``
        any scipy sparse matrix)."""
        from scipy import sparse

        model = cls.__new__(cls)
        model._pass(sparse.csc_matrix(a, dtype=float), row_lower, row_upper, lower, upper)
        return model

    def _pass(self, a_all: Any, row_lower: np.ndarray, row_upper: np.ndarray,
              lower: np.ndarray, upper: np.ndarray) -> None:
        core = _highs()
        n = a_all.shape[1]
        lp = core.HighsLp()
        lp.num_col_, lp.num_row_ = n, a_all.shape[0]
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = lower, upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.a_matrix_.format_ = core.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a_all.indptr
        lp.a_matrix_.index_ = a_all.indices
        lp.a_matrix_.value_ = a_all.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, a_all.shape[0]
        self.h = core._Highs()
        self.optimal = core.HighsModelStatus.kOptimal
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("simplex_strategy", 4)  # primal
        self.h.passModel(lp)
        self.n = n
        self.idx = np.arange(n, dtype=np.int32)

    #: rows of the programme's strata bounds (:func:`_whole_model`; none elsewhere)
    strata_rows: np.ndarray = np.zeros(0, dtype=np.int64)

    def free_rows(self, rows: np.ndarray) -> None:
        """Drop the bounds of ``rows`` (the last basis stays feasible: the primal simplex
        goes on from it)."""
        self.bound_rows(rows, np.full(len(rows), -np.inf), np.full(len(rows), np.inf))

    def bound_rows(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set the bounds of ``rows`` (wider ones keep the last basis feasible)."""
        for r, a, b in zip(rows, lower, upper, strict=True):
            self.h.changeRowBounds(int(r), float(a), float(b))

    def solve(self, cost: np.ndarray) -> np.ndarray | None:
        """A point minimising ``cost`` (``None`` when the solver finds no optimum)."""
        self.h.changeColsCost(self.n, self.idx, np.asarray(cost, dtype=float))
        self.h.run()
        if self.h.getModelStatus() != self.optimal:
            return None
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    def extremes(self, d: np.ndarray) -> list[np.ndarray]:
        return [x for x in (self.solve(d), self.solve(-d)) if x is not None]


def _ranges_stacked(specs: Sequence[dict[str, Any]], need: float | None
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner bounds of each spec's objectives: their range over feasible points only (the
    true counts, a few vertices with the objectives pushed down and up together, plainly
    and with random weights; then, for the objectives those do not already show to reach
    ``need`` whole numbers (none with ``None``), each objective's own optima), the
    programmes of all specs stacked (:func:`._disclosure._stacked`; the reference of
    :func:`_ranges`). No bound is a solver's claim: each is the value at a point found."""
    rng = np.random.default_rng(0)
    points = [np.atleast_2d(spec["x0"]) for spec in specs]
    probes = []
    for spec in specs:
        obj = spec["objectives"]
        w = rng.uniform(0.2, 1.0, size=(1, obj.shape[0]))
        probes.append({**spec, "objectives": np.vstack([obj.sum(axis=0), w @ obj])})
    for si, found in enumerate(_stacked(probes, keep=True)):
        if found:
            points[si] = np.vstack([points[si], *found])
    rest: list[dict[str, Any]] = []
    rest_at: list[int] = []
    for si, spec in enumerate(specs):
        if need is None:
            break
        obj = spec["objectives"]
        seen = obj @ points[si].T
        todo = np.flatnonzero([_width(a, b) < need for a, b in
                               zip(seen.min(axis=1), seen.max(axis=1), strict=True)])
        if todo.size:
            rest.append({**spec, "objectives": obj[todo]})
            rest_at.append(si)
    for si, found in zip(rest_at, _stacked(rest, keep=True), strict=True):
        if found:
            points[si] = np.vstack([points[si], *found])
    out = []
    for spec, pts in zip(specs, points, strict=True):
        seen = spec["objectives"] @ pts.T
        out.append((seen.min(axis=1), seen.max(axis=1)))
    return out


def _near(p: SparseProblem, key: tuple[int, ...] | None, persons: _Persons) -> np.ndarray:
    """The atoms of the strata that touch the cells ``key`` (all with ``None``)."""
    if key is None:
        return np.arange(p.truth.size)
    near = np.asarray(np.isin(persons.strata[:, [2, 5, 6]], np.asarray(key)), dtype=bool)
    touched: np.ndarray = np.asarray(near.any(axis=1), dtype=bool)
    return np.flatnonzero(touched[p.stratum])


def _hubs(persons: _Persons, groups_of: dict[int, int], count: int
          ) -> dict[int, tuple[int, ...]]:
    """Each group's ``count`` cells holding most respondents (ties: the lower cell
    number), the cells :data:`HUBS` lets every ring trade with."""
    sizes = np.bincount(persons.stratum, minlength=len(persons.strata))
    held: dict[int, int] = {}
    for row, size in zip(persons.strata[:, [2, 5, 6]], sizes, strict=True):
        for c in {int(c) for c in row if c >= 0}:
            held[c] = held.get(c, 0) + int(size)
    by_group: dict[int, list[int]] = {}
    for c, g in groups_of.items():
        by_group.setdefault(g, []).append(c)
    return {g: tuple(sorted(sorted(cells, key=lambda c: (-held.get(c, 0), c))[:count]))
            for g, cells in by_group.items()}


def _ring(cells: Sequence[int], groups_of: dict[int, int], partners: int = PARTNERS,
          hubs: dict[int, tuple[int, ...]] | None = None) -> tuple[int, ...]:
    """``cells`` and the next ``partners`` cells of each one's group (and, with
    ``hubs``, that group's hub cells)."""
    by_group: dict[int, list[int]] = {}
    for c, g in sorted(groups_of.items()):
        by_group.setdefault(g, []).append(c)
    pick = set(int(c) for c in cells)
    for c in cells:
        if int(c) not in groups_of:
            continue
        ring = by_group[groups_of[int(c)]]
        at = ring.index(int(c))
        pick |= {ring[(at + i) % len(ring)] for i in range(1, partners + 1)}
        if hubs is not None:
            pick |= set(hubs.get(groups_of[int(c)], ()))
    return tuple(sorted(pick))


def _strata_bounds(problems: Sequence[SparseProblem], persons: _Persons, need: int
                   ) -> tuple[tuple[np.ndarray, np.ndarray], bool]:
    """Bounds of each stratum's size *inside* the reference's: per block, the smallest and
    largest size at points found by local programmes of the block's facts alone (values
    at feasible points, so the block's true minimum is at most the one found), combined
    over the blocks and rounded as the reference combines and rounds its exact ones; and
    whether they *are* the reference's (every block's from its whole programme, each
    extreme an optimum the solver returned: :func:`_whole_strata`)."""
    n_strata = len(persons.strata)
    sizes = np.bincount(persons.stratum, minlength=n_strata).astype(float)
    lo = np.full(n_strata, -np.inf)
    hi = np.full(n_strata, np.inf)
    groups_of = _cell_groups(persons)
    hubs = _hubs(persons, groups_of, HUBS) if HUBS else None
    whom = _persons_digest(persons)
    blocks = [p for p in problems if p.stratum.size and not np.any(p.stratum < 0)]
    exact = True
    for whole, found in remembered_all(
            [(("local strata", digest(p), whom, STRATA_PARTNERS, HUBS, STRATA_ROOM * need,
               WHOLE_STRATA),
              functools.partial(_block_strata, p, persons, groups_of, STRATA_ROOM * need,
                                hubs))
             for p in blocks],
            weights=[p.atoms.nnz for p in blocks], label="audit: strata bounds, blocks"):
        exact = exact and whole
        for where, f_lo, f_hi in found:
            lo[where] = np.maximum(lo[where], f_lo)
            hi[where] = np.minimum(hi[where], f_hi)
    lo = np.where(np.isfinite(lo), lo, sizes)
    hi = np.where(np.isfinite(hi), hi, sizes)
    lo = np.minimum(np.ceil(lo - 1e-7), sizes)
    hi = np.maximum(np.floor(hi + 1e-7), sizes)
    return (lo, hi), exact


_Ranges = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _outer_strata(problems: Sequence[SparseProblem], persons: _Persons
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds of each stratum's size *holding* the reference's: its range over the whole
    programme of one block (the reference bounds each stratum by the narrowest range over
    every block), the stratified block of fewest atoms x strata, where that stays within
    :data:`OUTER_STRATA` (``None`` beyond it); a stratum whose optimum the solver does not
    return is bounded by 0 and the block's total. Rounded as the reference rounds."""
    blocks = [p for p in problems if p.stratum.size and not np.any(p.stratum < 0)]
    if not blocks:
        return None
    p = min(blocks, key=lambda b: b.truth.size * np.unique(b.stratum).size)
    if p.truth.size * np.unique(p.stratum).size > OUTER_STRATA:
        return None
    n_strata = len(persons.strata)
    sizes = np.bincount(persons.stratum, minlength=n_strata).astype(float)
    lo, hi = np.zeros(n_strata), np.full(n_strata, float(p.upper))
    where, f_lo, f_hi = _whole_ranges(p)
    lo[where] = np.nan_to_num(f_lo, nan=0.0)
    hi[where] = np.nan_to_num(f_hi, nan=float(p.upper))
    return (np.minimum(np.ceil(lo - 1e-7), sizes), np.maximum(np.floor(hi + 1e-7), sizes))


def _whole_ranges(p: SparseProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stratum of the block, with its smallest and largest size over the block's
    whole programme (:func:`_whole_model` without strata bounds: the reference's own
    bounds of the block), as the solver's optima (``nan`` where it returns none); once per
    block within a run."""
    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model = _whole_model(p, None)
        levels = np.unique(p.stratum)
        lo, hi = np.full(levels.size, np.nan), np.full(levels.size, np.nan)
        for k, s in enumerate(levels):
            ind = (p.stratum == s).astype(float)
            low, high = model.solve(ind), model.solve(-ind)
            if low is not None:
                lo[k] = float(ind @ low)
            if high is not None:
                hi[k] = float(ind @ high)
        return levels.astype(np.int64), lo, hi

    return remembered(("whole ranges", digest(p)), compute)


def _block_strata(p: SparseProblem, persons: _Persons, groups_of: dict[int, int],
                  room: float, hubs: dict[int, tuple[int, ...]] | None = None
                  ) -> tuple[bool, _Ranges]:
    """One block's bounds of the strata sizes (:func:`_strata_bounds`): (strata, lowest,
    highest) per local programme, each sought until it is ``room`` sizes wide; from the
    block's whole programme where its atoms x strata stay within :data:`WHOLE_STRATA`
    (then, with every extreme found, the reference's own: ``True`` first)."""
    if p.truth.size * np.unique(p.stratum).size <= WHOLE_STRATA:
        return _whole_strata(p)
    cells_of = persons.strata[:, [2, 5, 6]]
    own: dict[tuple[int, ...], list[int]] = {}
    own_of: dict[int, tuple[int, ...]] = {}
    for s in np.unique(p.stratum):
        own_of[int(s)] = tuple(sorted({int(c) for c in cells_of[s] if c >= 0}))
        own.setdefault(own_of[int(s)], []).append(int(s))
    keys: dict[tuple[int, ...], list[int]] = {}
    for cells, members in own.items():
        if not cells:
            continue  # these strata keep their true sizes
        # the wide ring, or the narrow one where the wide one holds too many atoms
        for partners in (STRATA_PARTNERS, PARTNERS):
            key = _ring(cells, groups_of, partners)
            if _near(p, key, persons).size <= LOCAL_ATOMS:
                keys.setdefault(key, []).extend(members)
                break
    found = _strata_ranges(p, persons, keys, room)
    if not hubs:
        return False, found
    # strata their ring left narrower than the protection interval (no slack among its
    # neighbours; room is STRATA_ROOM of them): again with the group's hub cells, where
    # that ring stays within LOCAL_ATOMS; the lowest and highest sizes found by either
    # programme are both sizes at feasible points. Only those: at 10,000 per wave by area
    # the retry of every stratum short of ``room`` cost 57 -> 126-142 s and proved 1.9%
    # more counts safe, where the hub round of the counts proved 97% of those left
    again: dict[tuple[int, ...], list[int]] = {}
    for where, f_lo, f_hi in found:
        for s, lo, hi in zip(where, f_lo, f_hi, strict=True):
            if hi - lo < room / STRATA_ROOM:
                key = _ring(own_of[int(s)], groups_of, STRATA_PARTNERS, hubs)
                if _near(p, key, persons).size <= LOCAL_ATOMS:
                    again.setdefault(key, []).append(int(s))
    if not again:
        return False, found
    lo_of: dict[int, float] = {}
    hi_of: dict[int, float] = {}
    for where, f_lo, f_hi in found + _strata_ranges(p, persons, again, room):
        for s, lo, hi in zip(where, f_lo, f_hi, strict=True):
            lo_of[int(s)] = min(lo_of.get(int(s), np.inf), float(lo))
            hi_of[int(s)] = max(hi_of.get(int(s), -np.inf), float(hi))
    return False, [(where, np.array([lo_of[int(s)] for s in where]),
                    np.array([hi_of[int(s)] for s in where])) for where, _, _ in found]


def _strata_ranges(p: SparseProblem, persons: _Persons,
                   keys: dict[tuple[int, ...], list[int]], room: float
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The lowest and highest sizes of each ring's strata in its local programme."""
    specs: list[dict[str, Any]] = []
    at: list[np.ndarray] = []
    for key, members in keys.items():
        cols = _near(p, key, persons)
        obj = (p.stratum[cols][None, :] == np.asarray(members)[:, None]).astype(float)
        specs.append(_local_spec(p, cols, obj, None))
        at.append(np.asarray(members, dtype=np.int64))
    return [(where, f_lo, f_hi)
            for where, (f_lo, f_hi) in zip(at, _ranges(specs, room), strict=True)]


def digest(p: SparseProblem) -> bytes:
    """A SHA-256 digest of everything a block's programmes depend on (its facts, their
    values and kinds, the atoms' strata, true counts and upper bound): the key under
    which its bounds are remembered between the release audit's rounds, where most blocks
    do not change (the secondary action withholds a few statistics each round)."""
    if p._digest is None:
        h = hashlib.sha256()
        a = p.atoms
        for arr in (a.indptr, a.indices, a.data, p.value, p.stratum, p.truth):
            h.update(np.ascontiguousarray(arr).tobytes())
            h.update(b"|")
        h.update(repr((a.shape, float(p.upper), p.name, list(p.kinds))).encode())
        p._digest = h.digest()
    return p._digest


def _persons_digest(persons: _Persons) -> bytes:
    """A digest of the respondents' strata (the same study in every round)."""
    h = hashlib.sha256()
    for arr in (persons.strata, persons.stratum):
        h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(np.shape(arr)).encode())
    return h.digest()


def _local_bounds(problems: Sequence[SparseProblem], chosen: Sequence[Sequence[int]],
                  persons: _Persons, need: int,
                  strata: tuple[np.ndarray, np.ndarray] | None = None, *,
                  partners: int = PARTNERS, atoms: int = LOCAL_ATOMS, hubs: int = 0
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner bounds of every attacked count from its local programme (:func:`_ranges`),
    the strata within :func:`_strata_bounds`; with ``hubs``, that many of the group's
    cells holding most respondents trade too (:func:`_hubs`), where the programme stays
    within ``atoms``."""

    groups_of = _cell_groups(persons)
    hub_cells = _hubs(persons, groups_of, hubs) if hubs else None
    if strata is None:
        strata, _ = _strata_bounds(problems, persons, need)
    whom = _persons_digest(persons)
    where = hashlib.sha256(np.ascontiguousarray(np.asarray(strata, float)).tobytes()).digest()
    # the blocks in forked workers, one per core (each block's bounds depend on it alone)
    return remembered_all(
        [(("local bounds", digest(p), whom, where, np.asarray(qs, np.int64).tobytes(),
           int(need), int(partners), int(atoms), int(hubs)),
          functools.partial(_block_bounds, p, qs, persons, need, strata, groups_of,
                            partners, atoms, hub_cells))
         for p, qs in zip(problems, chosen, strict=True)],
        weights=[p.atoms.nnz * (1 + len(qs)) for p, qs in zip(problems, chosen, strict=True)],
        label="audit: local programmes, blocks" if partners == PARTNERS and atoms == LOCAL_ATOMS
        else "audit: wider programmes of the counts left, blocks" if not hubs
        else "audit: programmes with the largest cells, of the counts left, blocks")


def _block_bounds(p: SparseProblem, qs: Sequence[int], persons: _Persons, need: int,
                  strata: tuple[np.ndarray, np.ndarray], groups_of: dict[int, int],
                  partners: int, atoms: int, hubs: dict[int, tuple[int, ...]] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_local_bounds` of one block."""
    from ._audit import _bound_linkage

    keys = _keys(p, qs, persons, groups_of, partners)
    wide = keys if hubs is None else _keys(p, qs, persons, groups_of, partners, hubs)
    order: dict[tuple[tuple[int, ...] | None, tuple[int, ...] | None], list[int]] = {}
    for pos, both in enumerate(zip(wide, keys, strict=True)):
        order.setdefault(both, []).append(pos)
    specs: list[dict[str, Any]] = []
    where: list[tuple[np.ndarray, np.ndarray]] = []  # (positions, offsets)
    for (hubbed, key), positions in order.items():
        cols = _near(p, hubbed, persons)
        if cols.size > atoms and hubbed != key:
            cols = _near(p, key, persons)  # the ring without the hubs
        if cols.size > atoms and key is not None:
            cols = _near(p, _ring(key[:1], groups_of, partners), persons)
        if cols.size > atoms:
            continue  # not proven safe here
        rows = np.asarray([qs[i] for i in positions], dtype=np.int64)
        obj = np.asarray(p.atoms[rows][:, cols].todense(), dtype=float)
        spec = _local_spec(p, cols, obj, strata)
        if p.name == "linkage":  # its per-group counts, as the strata bound them
            _bound_linkage(p.dense(len(persons.strata)), spec, persons, *strata)
        specs.append(spec)
        where.append((np.asarray(positions, dtype=np.int64),
                      p.value[rows] - obj @ p.truth[cols]))
    # a count no programme tried keeps its true value only (not proven safe)
    value = p.value[np.asarray(qs, dtype=np.int64)].astype(float)
    out = (value.copy(), value.copy())
    for (at, offset), (lo, hi) in zip(where, _ranges(specs, need), strict=True):
        out[0][at] = lo + offset
        out[1][at] = hi + offset
    return out


def _short(bounds: Sequence[tuple[np.ndarray, np.ndarray]], need: int) -> list[list[int]]:
    """Per block, the positions whose bounds hold fewer than ``need`` whole numbers."""
    return [[i for i in range(lo.size) if _width(float(lo[i]), float(hi[i])) < need]
            for lo, hi in bounds]


def _distinct(atoms: Any, rows: np.ndarray) -> np.ndarray:
    """Of the facts ``rows`` (0/1 rows of a csr matrix), the first of each distinct set of
    atoms (a fact published in several files is one equation)."""
    first: dict[bytes, int] = {}
    for r in rows:
        a, b = atoms.indptr[r], atoms.indptr[r + 1]
        first.setdefault(atoms.indices[a:b].tobytes(), int(r))
    return np.fromiter(first.values(), dtype=np.int64, count=len(first))


def _whole_bounds(problems: Sequence[SparseProblem], chosen: Sequence[Sequence[int]],
                  start: Sequence[tuple[np.ndarray, np.ndarray]], persons: _Persons,
                  need: int, strata: tuple[np.ndarray, np.ndarray],
                  outer: tuple[np.ndarray, np.ndarray] | None = None, exact: bool = False
                  ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The bounds ``start`` of the counts ``chosen`` of each block widened by the block's
    own programme over all its atoms (:func:`_block_whole`), where the block's atoms x
    counts stay within :data:`WHOLE_BUDGET` (else ``start`` as it is); with, per count,
    whether it is proven narrowed (:func:`_block_whole`: ``exact``, the strata are the
    reference's own bounds, or else ``outer``, bounds holding the reference's; none where
    the block was not solved). The linkage block keeps its local bounds (the reference
    bounds its per-group counts by the strata too, which its own programme leaves out)."""
    whom = _persons_digest(persons)
    where = hashlib.sha256(np.ascontiguousarray(np.asarray(strata, float)).tobytes()
                           + (b"" if outer is None else np.ascontiguousarray(
                               np.asarray(outer, float)).tobytes())).digest()
    todo = [i for i, (p, qs) in enumerate(zip(problems, chosen, strict=True))
            if qs and p.name != "linkage" and p.truth.size * len(qs) <= WHOLE_BUDGET]
    out = [(np.asarray(lo, float).copy(), np.asarray(hi, float).copy(),
            np.zeros(np.asarray(lo).size, dtype=bool)) for lo, hi in start]
    found = remembered_all(
        [(("whole bounds", digest(problems[i]), whom, where,
           np.asarray(chosen[i], np.int64).tobytes(), np.asarray(start[i], float).tobytes(),
           int(need), WHOLE_PROBES, FOCUS_SHARE, FOCUS_MIN, exact),
          functools.partial(_block_whole, problems[i], chosen[i], start[i], need, strata,
                            outer, exact))
         for i in todo],
        weights=[problems[i].atoms.nnz * len(chosen[i]) for i in todo],
        label="audit: whole-block programmes of the counts left, blocks")
    for i, bounds in zip(todo, found, strict=True):
        out[i] = bounds
    return out


def _whole_model(p: SparseProblem, strata: tuple[np.ndarray, np.ndarray] | None
                 ) -> _Model:
    """The block's programme over all its atoms: its published facts as equations, its
    withheld non-zero counts at least 1, every atom from 0 to the block's total, and each
    stratum within ``strata`` (none with ``None``: the reference's programme of the
    block as its strata bounds start)."""
    from scipy import sparse

    kinds = np.asarray(p.kinds)
    pub = _distinct(p.atoms, np.flatnonzero(kinds == "published"))
    held = _distinct(p.atoms, np.flatnonzero((kinds == "withheld") & (p.value > 0)))
    n = p.truth.size
    parts = [p.atoms[pub], p.atoms[held]]
    row_lo = [p.value[pub], np.ones(held.size)]
    row_hi = [p.value[pub], np.full(held.size, np.inf)]
    rows = pub.size + held.size
    if strata is not None and n and p.stratum.min() >= 0:
        levels, where = np.unique(p.stratum, return_inverse=True)
        parts.append(sparse.csr_matrix((np.ones(n), (where.ravel(), np.arange(n))),
                                       shape=(levels.size, n)))
        row_lo.append(strata[0][levels])
        row_hi.append(strata[1][levels])
    model = _Model.sparse(sparse.vstack(parts), np.concatenate(row_lo),
                          np.concatenate(row_hi), np.zeros(n), np.full(n, float(p.upper)))
    model.strata_rows = np.arange(rows, sum(part.shape[0] for part in parts), dtype=np.int64)
    return model


def _whole_strata(p: SparseProblem) -> tuple[bool, _Ranges]:
    """Each stratum's smallest and largest size over the block's whole programme
    (:func:`_whole_ranges`; its true size where the solver returns no optimum: values at
    points found), and whether every one is an optimum the solver returned (then they are
    the reference's bounds, not only inside them)."""
    levels, lo, hi = _whole_ranges(p)
    _, at = np.unique(p.stratum, return_inverse=True)
    size = np.bincount(at.ravel(), weights=p.truth, minlength=levels.size)
    exact = not (np.isnan(lo).any() or np.isnan(hi).any())
    return exact, [(levels, np.fmin(lo, size), np.fmax(hi, size))]


def _block_whole(p: SparseProblem, qs: Sequence[int], start: tuple[np.ndarray, np.ndarray],
                 need: int, strata: tuple[np.ndarray, np.ndarray],
                 outer: tuple[np.ndarray, np.ndarray] | None = None, exact: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_whole_bounds` of one block: its published facts as equations, its withheld
    non-zero counts at least 1, each stratum within ``strata`` (inner bounds of the
    reference's), every atom from 0 to the block's total: the reference's programme of the
    block with narrower strata, so every point is one of the reference's. Probes push the
    counts up and down together (plainly, then with :data:`WHOLE_PROBES` random weights);
    each count still short of ``need`` values then gets its own largest and smallest value.
    Every bound is the value at a point found.

    The third array says, per count, whether a count left short is *proven* narrowed:
    with ``exact`` (``strata`` are the reference's own bounds) where both its optima were
    found (its interval is the reference's); else where its two optima over the same
    programme with the strata within ``outer`` (bounds holding the reference's; without
    strata bounds where ``None``), which holds every point of the reference's, so that
    its intervals hold the reference's, still leave it short."""
    lo, hi = (np.asarray(b, dtype=float).copy() for b in start)
    probes = np.random.default_rng(0).uniform(0.2, 1.0, size=(WHOLE_PROBES, len(qs)))
    obj = p.atoms[np.asarray(qs, dtype=np.int64)]
    model = _whole_model(p, strata)
    optima = _widen(model, obj, lo, hi, np.vstack([np.ones(len(qs)), probes]), need,
                    focus=True)
    short = np.asarray([_width(float(a), float(b)) < need for a, b in zip(lo, hi, strict=True)],
                       dtype=bool)
    if exact:
        return lo, hi, short & (optima == 2)
    proven = np.zeros(len(qs), dtype=bool)
    at = np.flatnonzero(short)
    if at.size:
        o_lo, o_hi = lo[at].copy(), hi[at].copy()
        if outer is None:  # the same programme without strata bounds
            model.free_rows(model.strata_rows)
        else:  # with the strata's outer bounds
            levels = np.unique(p.stratum)
            model.bound_rows(model.strata_rows, outer[0][levels], outer[1][levels])
        found = _widen(model, obj[at], o_lo, o_hi, np.zeros((0, at.size)), need, focus=True)
        proven[at] = (found == 2) & np.asarray(
            [_width(float(a), float(b)) < need for a, b in zip(o_lo, o_hi, strict=True)])
    return lo, hi, proven


def solve(problems: Sequence[SparseProblem], need: int, threshold: int, persons: _Persons,
          *, exact_budget: int | None = None, wider: bool = True) -> pd.DataFrame:
    """The audit's result (as :func:`._audit._solve`) from sparse blocks: local
    programmes first, a second round of wider ones (with ``wider``) for the counts they do
    not prove safe, then the reference for the rest."""
    from ._audit import _exact_bounds, _records

    targeted = [targets(p, threshold) for p in problems]
    # within a run, counts an earlier audit proved safe stay safe where every fact this
    # audit's block holds was held by that audit's, as strongly (protect_release's rounds
    # only withhold): that audit's feasible points are feasible here too
    state = run_state(("local audit", _persons_digest(persons), int(need), int(threshold)))
    known = [_earlier(p, qs, state, need) for p, qs in zip(problems, targeted, strict=True)]
    groups_of = _cell_groups(persons)
    known = [_whole_programmes(p, qs, k, persons, groups_of)
             for p, qs, k in zip(problems, targeted, known, strict=True)]
    chosen = [[q for i, q in enumerate(qs) if k is None or i not in k]
              for qs, k in zip(targeted, known, strict=True)]
    stratified = {p.name for p in problems if p.stratum.size and not np.any(p.stratum < 0)}
    if (state is not None and "strata" in state and state.get("stratified") == stratified
            and not state.get("exact strata")
            and all(k is not None for p, k in zip(problems, known, strict=True)
                    if p.name in stratified)):
        # inner bounds of the earlier release's, so of this one's too (where those were
        # the reference's own, they are found again: each unchanged block's are
        # remembered, and this release's may be wider)
        strata, exact_strata = state["strata"], False
    else:
        strata, exact_strata = _strata_bounds(problems, persons, need)
    bounds = _local_bounds(problems, chosen, persons, need, strata)
    left = _short(bounds, need)  # per block: positions in chosen not proven safe
    # the counts left: a round of wider rings, then (with HUBS) one whose rings also take
    # in the hub cells (larger programmes, for fewer counts); every round's values are
    # at points of the reference's programme, so their hull is too
    for hubs in ((0, HUBS) if HUBS else (0,)) if wider else ():
        if not any(left):
            break
        again = _local_bounds(problems, [[qs[i] for i in rest] for qs, rest in
                                         zip(chosen, left, strict=True)], persons, need,
                              strata, partners=WIDER_PARTNERS, atoms=WIDER_ATOMS,
                              hubs=hubs)
        for (lo, hi), rest, (w_lo, w_hi) in zip(bounds, left, again, strict=True):
            lo[rest] = np.minimum(lo[rest], w_lo)
            hi[rest] = np.maximum(hi[rest], w_hi)
        left = _short(bounds, need)
    # per block, the positions in chosen whose bounds are the reference's (proven
    # narrowed where short, not only unproven)
    settled = [np.zeros(len(qs), dtype=bool) for qs in chosen]
    if wider and any(left):  # the last round: each block's own whole programme
        outer = None if exact_strata else _outer_strata(problems, persons)
        whole = _whole_bounds(problems, [[qs[i] for i in rest] for qs, rest in
                                         zip(chosen, left, strict=True)],
                              [(lo[rest], hi[rest]) for (lo, hi), rest in
                               zip(bounds, left, strict=True)], persons, need, strata,
                              outer, exact_strata)
        for (lo, hi), done, rest, (w_lo, w_hi, sure) in zip(bounds, settled, left, whole,
                                                               strict=True):
            lo[rest], hi[rest] = w_lo, w_hi
            # a short count proven narrowed (the linkage block is not solved here)
            done[rest] = sure
        left = _short(bounds, need)
    unproven = 0
    if any(left):
        n_strata = len(persons.strata)
        cost = sum(p.truth.size * (n_strata + len(rest))
                   for p, rest in zip(problems, left, strict=True))
        if cost <= (EXACT_BUDGET if exact_budget is None else exact_budget):
            dense = [p.dense(n_strata) for p in problems]
            exact = _exact_bounds(dense, persons, [[qs[i] for i in rest] for qs, rest in
                                                   zip(chosen, left, strict=True)], need)
            for (lo, hi), done, rest, (e_lo, e_hi) in zip(bounds, settled, left, exact,
                                                          strict=True):
                lo[rest], hi[rest] = e_lo, e_hi
                done[rest] = True
        else:  # reported narrowed: the safe side
            unproven = sum(int((~done[rest]).sum())
                           for done, rest in zip(settled, left, strict=True))
    # the counts proven safe before, back in their places
    full = []
    for qs, k, part, (lo, hi) in zip(targeted, known, chosen, bounds, strict=True):
        f_lo = np.zeros(len(qs))
        f_hi = np.zeros(len(qs))
        at = {q: i for i, q in enumerate(part)}
        for i, q in enumerate(qs):
            if k is not None and i in k:
                f_lo[i], f_hi[i] = k[i]
            else:
                f_lo[i], f_hi[i] = lo[at[q]], hi[at[q]]
        full.append((f_lo, f_hi))
    if state is not None:
        _remember(state, problems, targeted, full, strata, stratified)
        state["exact strata"] = exact_strata
    # counts (domains, linkage cells) are withheld only for counts proven narrowed
    proven = []
    for qs, part, done in zip(targeted, chosen, settled, strict=True):
        at = {q: i for i, q in enumerate(part)}
        proven.append(np.asarray([unproven == 0 or (q in at and bool(done[at[q]]))
                                  for q in qs], dtype=bool))
    out = _records(problems, targeted, full, need, threshold, counts=proven)
    out.attrs["unproven"] = unproven
    # per row: narrowed and proven so (the reference's interval, or one holding it)
    out.attrs["proven"] = (np.concatenate(proven) if proven else np.zeros(0, dtype=bool)
                           ) & out["narrowed"].to_numpy(dtype=bool)
    return out


#: How much a fact tells the reader, by kind: an equation (published), at least 1
#: (withheld, when its true count is positive), nothing (a source cell).
_STRENGTH = {"published": 2, "withheld": 1, "source": 0}


def _strength(kind: str, value: float) -> int:
    s = _STRENGTH.get(kind, 3)  # an unknown kind: never weaker than anything
    return 0 if s == 1 and value <= 0 else s


def _earlier(p: SparseProblem, qs: Sequence[int], state: dict[Any, Any] | None,
             need: float) -> dict[int, tuple[float, float]] | None:
    """The bounds an earlier audit of this run proved safe, by position in ``qs``, where
    this block tells the reader nothing that block did not (the same grid; every fact held
    by one of the earlier block's facts over the same grid points, at least as strongly);
    ``None`` where it does; none (``{}``) for the earlier block itself, whose bounds the
    block memo holds."""
    old = None if state is None else state.get(("block", p.name))
    if old is None or not p.fact_keys or old["universe"] != p.universe:
        return None
    if old["digest"] == digest(p):
        return {}  # the same block: its bounds are remembered whole (:func:`_local_bounds`)
    held = old["strength"]
    for key, kind, value in zip(p.fact_keys, p.kinds, p.value, strict=True):
        s = _strength(kind, float(value))
        if s and held.get(key, -1) < s:
            return None
    out: dict[int, tuple[float, float]] = {}
    for i, q in enumerate(qs):
        b = old["bounds"].get(p.fact_keys[q])
        if b is not None and _width(b[0], b[1]) >= need:
            out[i] = b
    return out


def _remember(state: dict[Any, Any], problems: Sequence[SparseProblem],
              targeted: Sequence[Sequence[int]],
              bounds: Sequence[tuple[np.ndarray, np.ndarray]],
              strata: tuple[np.ndarray, np.ndarray], stratified: set[str]) -> None:
    """Keep this audit's blocks, bounds and strata bounds for the next audit of the run."""
    for p, qs, (lo, hi) in zip(problems, targeted, bounds, strict=True):
        if not p.fact_keys:
            state.pop(("block", p.name), None)
            continue
        strength: dict[bytes, int] = {}
        for key, kind, value in zip(p.fact_keys, p.kinds, p.value, strict=True):
            strength[key] = max(strength.get(key, 0), _strength(kind, float(value)))
        state[("block", p.name)] = {
            "universe": p.universe, "strength": strength, "digest": digest(p),
            "bounds": {p.fact_keys[q]: (float(a), float(b))
                       for q, a, b in zip(qs, lo, hi, strict=True)}}
    state["strata"] = strata
    state["stratified"] = stratified


def _whole_programmes(p: SparseProblem, qs: Sequence[int],
                      known: dict[int, tuple[float, float]] | None, persons: _Persons,
                      groups_of: dict[int, int]) -> dict[int, tuple[float, float]] | None:
    """``known`` kept only for the counts whose first-round programme (:func:`_keys`) holds
    no count left to solve: a programme solved again is solved with all its counts, as the
    plain audit solves it, so that one whose facts have not changed is remembered."""
    if not known:
        return known
    keys = _keys(p, qs, persons, groups_of)
    todo = {key for i, key in enumerate(keys) if i not in known}
    return {i: b for i, b in known.items() if keys[i] not in todo}
