"""Linear programs over what a reader knows: how far can a hidden value move?

A reader who sees every published number knows a set of linear constraints on the hidden
ones — ``lo ≤ Σ a·x ≤ hi`` rows (a municipality's n is the sum of its schools'; a mean
rounded to 505 means 504,5·n ≤ S ≤ 505,5·n) and bounds (n ≥ 0; a pupil's score lies on the
scale).  The smallest and largest value a hidden quantity can take under those constraints
is what the reader can work out about it (tau-Argus's audit).  For a mean S/n the bounds
come from a linear-fractional program, solved as an LP by the Charnes–Cooper transform.

The solver is HiGHS (``highspy``): one model per connected component of hidden variables,
re-solved with a new objective for each question, which keeps thousands of small LPs fast.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

INF = math.inf
_quiet = {"done": False}


def _highs():
    """A silent HiGHS instance (the library prints a banner on stdout the first time)."""
    import highspy  # noqa: PLC0415 - only the audit and suppression need it

    if _quiet["done"]:
        h = highspy.Highs()
    else:
        with _stdout_to_devnull():
            h = highspy.Highs()
        _quiet["done"] = True
    h.setOptionValue("output_flag", False)
    return h


@contextlib.contextmanager
def _stdout_to_devnull():
    try:
        fd = os.dup(1)
    except OSError:  # no stdout at all
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


@dataclass
class System:
    """Linear knowledge about a set of variables (one connected component)."""

    index: dict[Hashable, int] = field(default_factory=dict)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    r_lo: list[float] = field(default_factory=list)
    r_hi: list[float] = field(default_factory=list)
    r_i: list[int] = field(default_factory=list)
    r_j: list[int] = field(default_factory=list)
    r_a: list[float] = field(default_factory=list)
    #: where each row comes from (e.g. a relation id), for explaining what pins a value
    r_tag: list = field(default_factory=list)

    def var(self, key: Hashable, lb: float = 0.0, ub: float = INF) -> int:
        """The variable's column, created with these bounds if new (else the bounds are intersected)."""
        j = self.index.get(key)
        if j is None:
            j = self.index[key] = len(self.lb)
            self.lb.append(lb)
            self.ub.append(ub)
        else:
            self.lb[j], self.ub[j] = max(self.lb[j], lb), min(self.ub[j], ub)
        return j

    def row(self, terms: dict[int, float], lo: float, hi: float, tag=None) -> None:
        terms = {j: a for j, a in terms.items() if a != 0.0}
        if not terms:
            return
        i = len(self.r_lo)
        self.r_lo.append(lo)
        self.r_hi.append(hi)
        self.r_tag.append(tag)
        for j, a in terms.items():
            self.r_i.append(i)
            self.r_j.append(j)
            self.r_a.append(a)

    def matrix(self) -> sparse.csc_matrix:
        return sparse.csc_matrix((self.r_a, (self.r_i, self.r_j)), shape=(len(self.r_lo), len(self.lb)))


def _model(a: sparse.csc_matrix, col_lo, col_hi, row_lo, row_hi):
    import highspy  # noqa: PLC0415

    h = _highs()
    lp_ = highspy.HighsLp()
    lp_.num_col_, lp_.num_row_ = a.shape[1], a.shape[0]
    lp_.col_cost_ = np.zeros(a.shape[1])
    lp_.col_lower_ = _clip(np.asarray(col_lo, dtype=float))
    lp_.col_upper_ = _clip(np.asarray(col_hi, dtype=float))
    lp_.row_lower_ = _clip(np.asarray(row_lo, dtype=float))
    lp_.row_upper_ = _clip(np.asarray(row_hi, dtype=float))
    a = a.tocsc()
    a.sort_indices()
    lp_.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp_.a_matrix_.num_col_, lp_.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp_.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp_.a_matrix_.index_ = a.indices.astype(np.int32)
    lp_.a_matrix_.value_ = a.data.astype(float)
    h.passModel(lp_)
    return h


class Solver:
    """Min/max of linear expressions and of ratios over one ``System``."""

    def __init__(self, system: System):
        self.s = system
        self.n = len(system.lb)
        self.a = system.matrix()
        self._lin = None
        self._cc = None
        self.row_dual = None

    def set_lower(self, col: int, lb: float) -> None:
        """Change one column's lower bound in the model (e.g. n ≥ 1 while asking about a mean)."""
        if self._lin is None:
            s = self.s
            self._lin = _model(self.a, s.lb, s.ub, s.r_lo, s.r_hi)
        self._lin.changeColBounds(col, lb, min(self.s.ub[col], 1e30))

    def bounds(self, expr: dict[int, float]) -> tuple[float, float]:
        """(min, max) of Σ a·x; ±inf when unbounded, nan when the system is infeasible."""
        if self._lin is None:
            s = self.s
            self._lin = _model(self.a, s.lb, s.ub, s.r_lo, s.r_hi)
        return _solve(self._lin, expr, self.n)

    def optimum(self, expr: dict[int, float], maximize: bool) -> tuple[float, np.ndarray | None]:
        """The optimal value of Σ a·x and a point attaining it (None when infeasible or unbounded)."""
        import highspy  # noqa: PLC0415

        if self._lin is None:
            s = self.s
            self._lin = _model(self.a, s.lb, s.ub, s.r_lo, s.r_hi)
        h = self._lin
        cost = np.zeros(self.n)
        for j, a in expr.items():
            cost[j] = a
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            sol = h.getSolution()
            self.row_dual = np.asarray(sol.row_dual)
            return h.getInfo().objective_function_value, np.asarray(sol.col_value)
        if status == highspy.HighsModelStatus.kInfeasible:
            return math.nan, None
        return (INF if maximize else -INF), None

    def _ratio(self, den: int, den_min: float):
        """The homogenised system for x/d (Charnes–Cooper): y = t·x, t ≥ 0, y_den = 1, y_den ≥ den_min·t."""
        s, n = self.s, self.n
        lo, hi = np.asarray(s.r_lo, dtype=float), np.asarray(s.r_hi, dtype=float)
        blocks, b_lo, b_hi = [], [], []
        fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
        if fin_lo.any():
            blocks.append(sparse.hstack([self.a[fin_lo], sparse.csc_matrix(-lo[fin_lo][:, None])]))
            b_lo.append(np.zeros(fin_lo.sum()))
            b_hi.append(np.full(fin_lo.sum(), INF))
        if fin_hi.any():
            blocks.append(sparse.hstack([self.a[fin_hi], sparse.csc_matrix(-hi[fin_hi][:, None])]))
            b_lo.append(np.full(fin_hi.sum(), -INF))
            b_hi.append(np.zeros(fin_hi.sum()))
        clo, chi = np.asarray(s.lb, dtype=float), np.asarray(s.ub, dtype=float)
        for bound, is_lo in ((clo, True), (chi, False)):
            fin = np.flatnonzero(np.isfinite(bound))
            if len(fin):
                m = sparse.csc_matrix((np.r_[np.ones(len(fin)), -bound[fin]],
                                       (np.r_[np.arange(len(fin)), np.arange(len(fin))], np.r_[fin, np.full(len(fin), n)])),
                                      shape=(len(fin), n + 1))
                blocks.append(m)
                b_lo.append(np.zeros(len(fin)) if is_lo else np.full(len(fin), -INF))
                b_hi.append(np.full(len(fin), INF) if is_lo else np.zeros(len(fin)))
        norm = sparse.csc_matrix(([1.0, 1.0, -den_min], ([0, 1, 1], [den, den, n])), shape=(2, n + 1))
        blocks.append(norm)
        b_lo.append(np.array([1.0, 0.0]))
        b_hi.append(np.array([1.0, INF]))
        a = sparse.vstack(blocks).tocsc()
        col_lo = np.r_[np.full(n, -INF), 0.0]
        col_hi = np.full(n + 1, INF)
        return _model(a, col_lo, col_hi, np.concatenate(b_lo), np.concatenate(b_hi))

    def ratio_bounds(self, num: int, den: int, den_min: float = 1.0) -> tuple[float, float]:
        """(min, max) of x_num / x_den over the system with x_den ≥ den_min (> 0)."""
        key = (den, den_min)
        if self._cc is None or self._cc[0] != key:
            self._cc = (key, self._ratio(den, den_min))
        return _solve(self._cc[1], {num: 1.0}, self.n + 1)


def _solve(h, expr: dict[int, float], ncols: int) -> tuple[float, float]:
    import highspy  # noqa: PLC0415

    cost = np.zeros(ncols)
    for j, a in expr.items():
        cost[j] = a
    h.changeColsCost(ncols, np.arange(ncols, dtype=np.int32), cost)
    out = []
    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            out.append(h.getInfo().objective_function_value)
        elif status == highspy.HighsModelStatus.kInfeasible:
            return (math.nan, math.nan)
        else:  # unbounded (or unbounded-or-infeasible): the reader learns nothing on this side
            out.append(-INF if sense == highspy.ObjSense.kMinimize else INF)
    return out[0], out[1]


def _clip(x):
    return np.clip(x, -1e30, 1e30)


def components(n_vars: int, rows: Iterable[Iterable[int]], couples: Iterable[tuple[int, int]] = ()) -> np.ndarray:
    """Connected components of variables linked by rows (and extra pairs): a label per variable."""
    parent = np.arange(n_vars)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for members in rows:
        members = list(members)
        for m in members[1:]:
            union(members[0], m)
    for a, b in couples:
        union(a, b)
    return np.array([find(i) for i in range(n_vars)])
