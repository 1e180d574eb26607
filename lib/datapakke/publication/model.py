"""The reader's model: variables, linear relations and what is known — the common ground of
suppression (``suppression.py``) and the audit (``audit.py``).

Every additive quantity of a cell is a *variable*: its n, each sum S (mean × n) and each
count C.  Linked cells (``cells.link_groups``) share variables: a school's pupils in 4. kl.
in the response table and in the absence table are one n.  A relation (``cells.build_relations``)
holds for each of its family's measures, so it gives one linear row per measure.

A variable is *known* to a reader when some page shows it (exactly, or within an interval:
a rounded mean, a band).  What a reader can work out about an unknown variable is bounded by
an LP over its *component*: the unknown variables connected to it through rows.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import lp
from .cells import FAMILIES, build_relations, link_groups

TOL = 1e-6
#: Every measure, in a fixed order: the variable of (cell, measure) is ``kind * N + id``.
MEASURES = ["n"] + sorted({f"S.{m}" for f in FAMILIES.values() for m in f.means}) \
    + sorted({f"C.{c}" for f in FAMILIES.values() for c in f.counts})
KIND = {m: i for i, m in enumerate(MEASURES)}
LEVEL_RANK = {"skole": 0, "kommune": 1, "program": 9}


def family_measures(code: str) -> list[str]:
    f = FAMILIES[code]
    return ["n", *[f"S.{m}" for m in f.means], *[f"C.{c}" for c in f.counts]]


@dataclass
class Model:
    """Cells, relations and links in array form, with lookups both ways."""

    cells: pd.DataFrame
    rel: pd.DataFrame
    label: np.ndarray
    #: dimension → (lo, hi) of one pupil's score (``aggregate.score_bounds``).
    bounds: dict

    def __post_init__(self):
        c = self.cells
        self.N = len(c)
        self.family = c["family"].to_numpy()
        self.n = c["n"].to_numpy(dtype=float)
        self.rank = c["niveau"].map(LEVEL_RANK).to_numpy()
        self.ids = c["id"].to_numpy()
        self.key = c["key"].to_numpy()
        self.published = c["published"].to_numpy(dtype=bool) if "published" in c else np.ones(self.N, bool)
        self.values = {m: (c[m].to_numpy(dtype=float) if m in c else np.full(self.N, np.nan)) for m in MEASURES}
        self.threshold = np.array([FAMILIES[f].threshold for f in self.family])
        # relations as CSR both ways
        r = self.rel.sort_values(["rel", "cell"], kind="stable")
        rel_ids = r["rel"].to_numpy()
        self.rel_ptr = np.r_[0, np.flatnonzero(np.diff(rel_ids)) + 1, len(r)] if len(r) else np.array([0])
        self.rel_cell = r["cell"].to_numpy()
        self.rel_coef = r["coef"].to_numpy()
        self.R = len(self.rel_ptr) - 1
        rel_of_row = np.repeat(np.arange(self.R), np.diff(self.rel_ptr))
        order = np.argsort(self.rel_cell, kind="stable")
        self.cell_rel = rel_of_row[order]
        self.cell_ptr = np.r_[0, np.cumsum(np.bincount(self.rel_cell, minlength=self.N))]
        self.rel_family = self.family[self.rel_cell[self.rel_ptr[:-1]]] if self.R else np.array([])
        # variables
        root_family = self.family[self.label]
        self.share_all = (self.family == "W") & (root_family == "S") & (self.label != np.arange(self.N))
        self.var_id = {m: (self.label if (m == "n") else np.where(self.share_all, self.label, np.arange(self.N)))
                       for m in MEASURES}
        self._carriers = {"n": _groups(self.label), "S": _groups(self.var_id[MEASURES[1]])}
        self.measures_of = {code: family_measures(code) for code in FAMILIES}
        self.shows_n = np.array([FAMILIES[f].shows_n for f in self.family])
        #: per relation member row: does the row's measure apply (the family has it)?
        row_family = self.family[self.rel_cell]
        self.applies = {meas: np.isin(row_family, [f for f in FAMILIES if meas in self.measures_of[f]])
                        for meas in MEASURES}
        #: per relation: does the measure apply (its family has it)?
        self.rel_applies = {meas: self.applies[meas][self.rel_ptr[:-1]] if self.R else np.zeros(0, bool)
                            for meas in MEASURES}
        #: variable index within its measure, for every (measure, cell)
        self.var_id_all = np.stack([self.var_id[meas] for meas in MEASURES])

    # --- lookups -------------------------------------------------------------------------------
    def relations_of(self, i: int) -> np.ndarray:
        return self.cell_rel[self.cell_ptr[i]:self.cell_ptr[i + 1]]

    def members(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = self.rel_ptr[r], self.rel_ptr[r + 1]
        return self.rel_cell[s:e], self.rel_coef[s:e]

    def var(self, cell: int, measure: str) -> int:
        return KIND[measure] * self.N + int(self.var_id[measure][cell])

    def measure_of(self, var: int) -> str:
        return MEASURES[var // self.N]

    def carriers(self, var: int) -> np.ndarray:
        """The cells that carry a variable (a linked group for n; one cell, or a linked pair, for S)."""
        kind, i = divmod(var, self.N)
        m = MEASURES[kind]
        if m == "n":
            return self._carriers["n"][self.label[i]] if self.label[i] == i else self._carriers["n"][i]
        if m.startswith("S."):
            return self._carriers["S"].get(i, np.array([i]))
        return np.array([i])

    @functools.cached_property
    def cost_order(self) -> np.ndarray:
        """Each cell's place in the order cells are hidden in: a school before a municipality,
        then the smallest group, then by id (so every choice is deterministic)."""
        order = np.lexsort((self.ids.astype(str), self.n, self.rank))
        place = np.empty(self.N, np.int64)
        place[order] = np.arange(self.N)
        return place

    def cells_of(self, variables) -> np.ndarray:
        """The cells that carry any of these variables (sorted)."""
        v = np.asarray(variables, dtype=np.int64)
        kind, i = np.divmod(v, self.N)
        hit = np.zeros(self.N, bool)
        for k in np.unique(kind):
            hit |= np.isin(self.var_id_all[k], i[kind == k])
        return np.flatnonzero(hit)

    def neighbours(self, cells) -> np.ndarray:
        """Every member of every relation the cells are in (sorted, unique)."""
        cells = np.asarray(cells, dtype=np.int64)
        rels = np.unique(_gather(self.cell_ptr, self.cell_rel, cells))
        return np.unique(_gather(self.rel_ptr, self.rel_cell, rels))

    def score_bounds(self, cell: int, measure: str) -> tuple[float, float]:
        """What a reader knows about one pupil's value: the scale's range (per dimension for scores)."""
        fam = FAMILIES[self.family[cell]]
        if fam.code in ("S", "W"):
            dim = self.key[cell].split("|")[-1] if fam.code == "S" else "faglig_trivsel"
            b = self.bounds.get(dim)
            if b is not None:
                return float(b[0]), float(b[1])
        return fam.bounds.get(measure[2:], (-lp.INF, lp.INF))


def _groups(keys: np.ndarray) -> dict[int, np.ndarray]:
    """key → the positions holding it (in order), for every key."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cut = np.flatnonzero(np.diff(sorted_keys)) + 1
    return dict(zip(sorted_keys[np.r_[0, cut]].tolist(), np.split(order, cut))) if len(keys) else {}


def _gather(ptr: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The CSR rows ``keys`` of (ptr, values), concatenated."""
    starts, sizes = ptr[keys], ptr[keys + 1] - ptr[keys]
    if not len(keys) or not sizes.sum():
        return np.zeros(0, values.dtype)
    pos = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(starts, sizes)
    return values[pos]


def build_model(cells: pd.DataFrame, bounds: dict | None = None, round_years: dict | None = None) -> Model:
    cells = cells.reset_index(drop=True)
    return Model(cells, build_relations(cells), link_groups(cells, round_years or {}), bounds or {})


class Knowledge:
    """What a reader knows: an interval for each known variable, plus extra rows (e.g. a mean shown without its n).

    A narrow interval (a rounded figure) is used as a constant; a wide one (a band such as
    "højst 3") makes the variable an LP column with those bounds (``is_free``).
    """

    def interval(self, var: int) -> tuple[float, float] | None:  # pragma: no cover - interface
        raise NotImplementedError

    def is_free(self, var: int) -> bool:
        """Unknown, or known only as a wide interval: a column of the LP."""
        iv = self.interval(var)
        return iv is None or (iv[1] - iv[0]) > max(1.0, 1e-3 * abs(iv[0] + iv[1]) / 2)

    def extra_rows(self, var: int) -> list[tuple[dict[int, float], float, float]]:
        return []

    def at_least_one(self, var: int) -> bool:
        """May the reader assume the group has a pupil (n ≥ 1)?  No: an empty group and a hidden
        one look the same on every page ("–"), so n ≥ 0 — except while asking about the group's mean."""
        return False


#: The measures whose sums bound a group's n from above (a score is at least the scale's low end > 0);
#: an absence sum (≥ 0) or a count (≥ 0) only bounds n from below, which never helps pin a small n.
N_MEASURES = ("n", "S.score")


def measure_sets(code: str) -> list[tuple[str, ...]]:
    """The LPs that protect a cell of this family: its n (with the score sums that bound it),
    and each mean with its n.  Measures enter an LP together only where they constrain each other."""
    f = FAMILIES[code]
    sets = [N_MEASURES]
    sets += [("n", f"S.{mm}") for mm in f.means if f"S.{mm}" not in N_MEASURES]
    return sets


def components_all(m: Model, know: Knowledge, measures: tuple[str, ...]) -> "Components":
    """Every component of free variables of ``measures`` at once, from one sparse graph: variables
    joined through the relations they share, through a group's n and its sums or counts, and
    through extra rows.
    """
    from scipy.sparse import coo_matrix  # noqa: PLC0415
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

    N = m.N
    size = len(MEASURES) * N
    free = known_arrays(know, size)[0]
    allowed = [x for x in measures if x in KIND]
    rows, cols = [], []
    node = size
    for meas in allowed:
        v = KIND[meas] * N + m.var_id[meas][m.rel_cell]
        use = m.applies[meas] & free[v]
        rel_node = np.repeat(np.arange(m.R), np.diff(m.rel_ptr)) + node
        rows.append(v[use])
        cols.append(rel_node[use])
        node += m.R
        if meas != "n" and "n" in allowed:
            c = np.arange(N)
            vs = KIND[meas] * N + m.var_id[meas]
            vn = m.var_id["n"]
            ok = free[vs] & free[vn] & ~np.isnan(m.values[meas])
            rows.append(vs[ok])
            cols.append(vn[ok])
    for v, extra in getattr(know, "rows", {}).items():
        for row, _, _ in extra:
            ws = [w for w in row if free[w] and MEASURES[w // N] in allowed]
            for w in ws[1:]:
                rows.append(np.array([ws[0]]))
                cols.append(np.array([w]))
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    c = np.concatenate(cols) if cols else np.zeros(0, int)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(node, node))
    _, label = connected_components(graph, directed=False)
    in_scope = free.copy()
    scope_kinds = np.zeros(size, bool)
    for meas in allowed:
        scope_kinds[KIND[meas] * N:(KIND[meas] + 1) * N] = True
    in_scope &= scope_kinds
    return Components(label, in_scope)


class Components:
    """Connected components by label; ``get(var)`` gives a variable's component (sorted), or default."""

    def __init__(self, label: np.ndarray, in_scope: np.ndarray):
        idx = np.flatnonzero(in_scope)
        order = np.argsort(label[idx], kind="stable")
        self.members = idx[order]
        self.sorted_labels = label[self.members]
        self.label = label
        self.in_scope = in_scope

    def get(self, var: int, default=None):
        if var >= len(self.in_scope) or not self.in_scope[var]:
            return default
        lab = self.label[var]
        lo, hi = np.searchsorted(self.sorted_labels, [lab, lab + 1])
        return sorted(int(x) for x in self.members[lo:hi])


def known_arrays(know: Knowledge, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(free, lo, hi) per variable: a column of the LP, else the known interval (kept on ``know``)."""
    cached = getattr(know, "_arrays", None)
    if cached is None:
        if hasattr(know, "free_mask"):
            cached = (know.free_mask(), know.lo, know.hi)
        else:
            free = np.array([know.is_free(v) for v in range(size)])
            ivs = [know.interval(v) or (math.nan, math.nan) for v in range(size)]
            cached = (free, np.array([iv[0] for iv in ivs]), np.array([iv[1] for iv in ivs]))
        know._arrays = cached
    return cached


def system(m: Model, comp: list[int], know: Knowledge) -> lp.System:
    """The LP of a component: its unknown variables, the rows they are in, and the coupling bounds.

    Rows come in the order the component's variables first reach them, so the same component
    always gives the same LP.  The relation rows' known parts are summed as arrays.
    """
    s = lp.System()
    N = m.N
    free, lo_k, hi_k = known_arrays(know, len(MEASURES) * N)
    for v in comp:
        meas = m.measure_of(v)
        if meas == "n":
            s.var(v, 1.0 if know.at_least_one(v) else 0.0, lp.INF)
        elif meas.startswith("S."):
            s.var(v, -lp.INF, lp.INF)
        else:
            s.var(v, 0.0, lp.INF)
        iv = know.interval(v)
        if iv is not None:  # known only as a band
            s.var(v, iv[0], iv[1])
    index = s.index
    pending: list[tuple] = []  # (terms, lo, hi, tag) in order; relation rows as (None, r, kind)
    rows_done: set = set()
    for v in comp:
        kind = v // N
        meas = MEASURES[kind]
        applies = m.rel_applies[meas]
        for c in m.carriers(v):
            for r in m.relations_of(c):
                if (r, kind) in rows_done or not applies[r]:
                    continue
                rows_done.add((r, kind))
                pending.append((None, int(r), kind))
        for row, lo, hi in know.extra_rows(v):
            if (id(row), -1) in rows_done:
                continue
            rows_done.add((id(row), -1))
            terms, const_lo, const_hi = {}, 0.0, 0.0
            for w, a in row.items():
                if free[w]:
                    if w not in index:
                        terms = None
                        break
                    terms[index[w]] = a
                else:
                    const_lo += a * (lo_k[w] if a > 0 else hi_k[w])
                    const_hi += a * (hi_k[w] if a > 0 else lo_k[w])
            if terms is not None:
                pending.append((terms, lo - const_hi, hi - const_lo, None))
        # coupling of sums and counts to n
        if meas != "n":
            for c in m.carriers(v):
                wn = m.var(c, "n")
                if free[wn] and wn not in index:
                    continue  # n left out of this LP (a relaxation only: the bounds tie S to n)
                j = index[v]
                if meas.startswith("S."):
                    b_lo, b_hi = m.score_bounds(c, meas)
                    if free[wn]:
                        jn = index[wn]
                        if math.isfinite(b_lo):
                            pending.append(({j: 1.0, jn: -b_lo}, 0.0, lp.INF, None))
                        if math.isfinite(b_hi):
                            pending.append(({j: 1.0, jn: -b_hi}, -lp.INF, 0.0, None))
                    else:
                        n_lo, n_hi = lo_k[wn], hi_k[wn]
                        s.var(v, b_lo * n_lo if b_lo >= 0 else b_lo * n_hi, b_hi * n_hi if b_hi >= 0 else b_hi * n_lo)
                else:  # a count of pupils with an attribute: 0 ≤ C ≤ n
                    if free[wn]:
                        pending.append(({j: 1.0, index[wn]: -1.0}, -lp.INF, 0.0, None))
                    else:
                        s.var(v, 0.0, hi_k[wn])
    relation = [(i, p[1], p[2]) for i, p in enumerate(pending) if p[0] is None]
    if relation:
        at, rs, kinds = (np.array(x, dtype=np.int64) for x in zip(*relation))
        sizes = m.rel_ptr[rs + 1] - m.rel_ptr[rs]
        row_of = np.repeat(np.arange(len(rs)), sizes)
        cells, coef = _gather(m.rel_ptr, m.rel_cell, rs), _gather(m.rel_ptr, m.rel_coef, rs)
        w = kinds[row_of] * N + m.var_id_all[kinds[row_of], cells]
        fr = free[w]
        up = coef > 0
        c_lo = np.where(fr, 0.0, coef * np.where(up, lo_k[w], hi_k[w]))
        c_hi = np.where(fr, 0.0, coef * np.where(up, hi_k[w], lo_k[w]))
        lo = np.bincount(row_of, c_lo, minlength=len(rs))
        hi = np.bincount(row_of, c_hi, minlength=len(rs))
        terms_of: list[dict] = [{} for _ in rs]
        for q, x, a in zip(row_of[fr].tolist(), w[fr].tolist(), coef[fr].tolist()):
            j = index.get(x)
            if j is None:  # not connected: cannot happen for an unknown in a row of the component
                raise AssertionError(f"variable {x} outside its component")
            terms_of[q][j] = terms_of[q].get(j, 0.0) + a
        for q, i in enumerate(at.tolist()):
            pending[i] = (terms_of[q], -hi[q] - TOL, -lo[q] + TOL, int(rs[q]))
    for terms, lo, hi, tag in pending:
        s.row(terms, lo, hi, tag=tag)
    return s


class Certifier:
    """Decides "can x reach this side of t?" questions on one system, reusing every point it finds.

    Each question is one LP (max or min of a linear expression).  Every optimal point is a
    feasible assignment of the hidden values, so it also answers other questions for free:
    most cells of a component are cleared by a handful of solves.  Expressions are over
    model variables; known ones are replaced by their (exact) values.
    """

    def __init__(self, system: lp.System, know: Knowledge | None = None):
        self.system = system
        self.know = know
        self.solver = lp.Solver(system)
        self.points: list[np.ndarray] = []

    def _columns(self, expr: dict[int, float]) -> tuple[dict[int, float], float]:
        cols, const = {}, 0.0
        for v, a in expr.items():
            j = self.system.index.get(v)
            if j is not None:
                cols[j] = cols.get(j, 0.0) + a
            else:
                iv = self.know.interval(v) if self.know else None
                if iv is None:
                    raise KeyError(f"variable {v} is neither in the system nor known")
                const += a * (iv[0] + iv[1]) / 2
        return cols, const

    def ask(self, q: "Question") -> bool:
        expr, const = self._columns(q.expr)
        if not expr:
            return (const >= q.target - TOL) if q.maximize else (const <= q.target + TOL)
        pupil = self.system.index.get(q.needs_pupil) if q.needs_pupil is not None else None
        return self.reaches(expr, q.maximize, q.target - const, pupil)

    def reaches(self, expr: dict[int, float], maximize: bool, target: float, pupil: int | None = None) -> bool:
        """Can Σ a·x reach ``target`` (from below when maximizing)?  ``pupil``: a column that must be ≥ 1."""
        cols = np.fromiter(expr.keys(), dtype=np.int64, count=len(expr))
        coef = np.fromiter(expr.values(), dtype=float, count=len(expr))
        if self.points:
            pts = np.stack(self.points)
            if pupil is not None:
                pts = pts[pts[:, pupil] >= 1.0 - TOL]
            if len(pts):
                vals = pts[:, cols] @ coef
                if (vals.max() >= target - TOL) if maximize else (vals.min() <= target + TOL):
                    return True
        if pupil is not None:
            self.solver.set_lower(pupil, max(1.0, self.system.lb[pupil]))
        value, x = self.solver.optimum(expr, maximize)
        if pupil is not None:
            self.solver.set_lower(pupil, self.system.lb[pupil])
        if x is not None:
            self.points.append(x)
        if math.isnan(value):
            return False
        return value >= target - TOL if maximize else value <= target + TOL

    def binding_tags(self) -> list:
        """The tags of the rows that held the last optimum back (largest dual first)."""
        d = self.solver.row_dual
        if d is None:
            return []
        order = np.argsort(-np.abs(d))
        return [self.system.r_tag[i] for i in order if abs(d[i]) > 1e-9 and self.system.r_tag[i] is not None]

    def bound(self, expr: dict[int, float], maximize: bool) -> float:
        return self.solver.optimum(expr, maximize)[0]


# --- the protection questions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One thing a hidden small group must allow: "its X can reach Y"."""

    cell: int
    what: str                    # Danish: what the reader must not be able to rule out
    expr: dict                   # variable → coefficient
    maximize: bool
    target: float
    needs_pupil: int | None = None   # a mean question: this n must be ≥ 1 (a mean of no pupils is no mean)


def questions(m: Model, cell: int, know: Knowledge, true_count: dict[str, float] | None = None) -> list[Question]:
    """What protecting one primary cell means (the rule is documented in the README).

    * its n can exceed the threshold k (a reader cannot tell it is a small group);
    * each mean can move ``Family.mean_protection`` below and above its true value (or to
      the scale's end) — "mean ≥ a" is feasible exactly when max (S − a·n) ≥ 0 with n ≥ 1.
    """
    fam = FAMILIES[m.family[cell]]
    vn = m.var(cell, "n")
    out = []
    if know.is_free(vn):
        out.append(Question(cell, f"n over {m.threshold[cell]}", {vn: 1.0}, True, m.threshold[cell] + 1.0))
    n = m.n[cell]
    for mm in fam.means:
        meas = f"S.{mm}"
        true = m.values[meas][cell] / n if n else math.nan
        vs = m.var(cell, meas)
        if not math.isfinite(true) or not know.is_free(vs):
            continue
        b_lo, b_hi = m.score_bounds(cell, meas)
        d = fam.mean_protection(true)
        hi_t, lo_t = min(b_hi, true + d), max(b_lo, true - d)
        out.append(Question(cell, f"{mm} op til {hi_t:.1f}", {vs: 1.0, vn: -hi_t}, True, 0.0, vn))
        out.append(Question(cell, f"{mm} ned til {lo_t:.1f}", {vs: 1.0, vn: -lo_t}, False, 0.0, vn))
    return out


def count_questions(m: Model, cell: int, measure: str, know: Knowledge, k: int) -> list[Question]:
    """A count (or its complement) of 1 … k pupils must be able to reach 0 or k + 1 (either will do)."""
    c = m.values[measure][cell]
    n = m.n[cell]
    vc, vn = m.var(cell, measure), m.var(cell, "n")
    if not know.is_free(vc):
        return []
    if 1 <= c <= k:
        q = {vc: 1.0}
    elif 1 <= n - c <= k:
        q = {vc: -1.0, vn: 1.0}
    else:
        return []
    name = measure[2:]
    return [Question(cell, f"{name} kan være 0", q, False, 0.0),
            Question(cell, f"{name} kan være over {k}", q, True, k + 1.0)]
