"""Which cells may be shown: primary suppression, the share rule, and secondary suppression across tables.

*Primary*: a cell on ``1 … k`` pupils (k = 5 respondents for survey figures, 3 pupils for
the others; ``config``) is hidden — its n and its means.

*The share rule*: a count of pupils with an attribute (above 10 % absence, with unlawful
absence in a quarter, who answered the survey) — or a share of them — is shown exactly only
when both the count and its complement are more than k.  Otherwise it is shown as a band
that also covers 0 (``højst 15 %`` / ``mindst 93 %``), so a reader cannot tell 0 from 1–k;
in groups of 2k + 1 or fewer pupils it is hidden.

*Secondary*: a reader sees the whole site, and the cells add up (``cells.build_relations``):
a municipality is the sum of its schools, a total the sum of its parts.  A hidden cell must
not be recoverable from the others.  Two steps, both deterministic:

1. *complements* (local rules): any relation with exactly one hidden member gets a second
   one — the cheapest shown member (a school before a municipality; the smallest group
   first; the programme is never hidden); and a shown total that leaves a small hidden part
   no room to exceed k gets a hidden member too; repeated to a fixpoint;
2. *the audit's own test*: for each hidden small cell, an LP over everything shown
   (``model.questions``) asks whether a reader could pin it — its n known to be ≤ k, a mean
   to within ``Family.mean_protection``, a count to 1–k.  Where one could, the cheapest
   shown cell next to it is hidden too, and step 1 runs again.

The outcome is a status per cell (``vist``, ``primaer``, ``sekundaer``, ``ikke_publiceret``)
and per count measure (also ``lav`` / ``hoej`` for a band, and ``skjult``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import config
from .forked import fork_map
from .model import KIND, LEVEL_RANK, MEASURES, TOL, Certifier, Knowledge, Model, build_model, \
    components_all, count_questions, measure_sets, questions, system

#: Count measures and how they are shown: as a share of the group's pupils, or as a count.
COUNT_DISPLAY = {"C.besvar": "share", "C.over10": "share", "C.u10": "count", "C.u15": "count"}  # costliest first


class SuppressionError(RuntimeError):
    """No complement could be found to protect a cell (cannot happen while the programme row is shown)."""


def k_other() -> int:
    return config.MIN_OTHER_N


# --- bands for counts -----------------------------------------------------------------------
def count_band(count: float, n: float, display: str) -> tuple[str, float, float]:
    """(status, lo, hi) for a count of pupils with an attribute in a shown group of n pupils.

    status ``vist`` (exact), ``lav`` (0 … k possible: "højst"), ``hoej`` (n − k … n:
    "mindst") or ``skjult``; lo/hi the interval (in pupils) a reader learns from the band.
    """
    k = k_other()
    if not (n > 2 * k + 1):
        return "skjult", 0.0, n
    if count > k and n - count > k:
        return "vist", count, count
    if display == "share":
        if count <= k:
            top = math.ceil(100.0 * k / n)
            return "lav", 0.0, top * n / 100.0
        bottom = math.floor(100.0 * (n - k) / n)
        return "hoej", bottom * n / 100.0, n
    if count <= k:
        return "lav", 0.0, float(k)
    return "hoej", float(n - k), n


def band_text(status: str, n: float, display: str) -> str:
    """The Danish text of a band, e.g. 'højst 7 %', 'mindst 93 %', 'højst 3'."""
    k = k_other()
    if display == "share":
        if status == "lav":
            return f"højst {math.ceil(100.0 * k / n)} %"
        return f"mindst {math.floor(100.0 * (n - k) / n)} %"
    return f"højst {k}" if status == "lav" else f"mindst {int(n - k)}"


# --- what the reader knows while we decide ---------------------------------------------------
class Truth(Knowledge):
    """The reader's knowledge for a given decision: the true value of every shown variable.

    A shown cell shows its means, its n where its family shows n (``Family.shows_n``) and its
    counts as their status says.  A mean shown without its n is the row S − mean·n = 0.
    """

    def __init__(self, m: Model, hidden: np.ndarray, counts: dict[str, pd.DataFrame] | None = None,
                 primary: np.ndarray | None = None):
        self.m = m
        N = m.N
        shown = m.published & ~hidden
        size = len(MEASURES) * N
        self.known = np.zeros(size, bool)
        self.lo = np.full(size, np.nan)
        self.hi = np.full(size, np.nan)
        n_known = np.zeros(N, bool)
        n_known[m.var_id["n"][shown & m.shows_n]] = True
        self.known[:N] = n_known
        self.lo[:N] = self.hi[:N] = _by_var(m, "n")
        self.rows: dict[int, list] = {}
        for meas in MEASURES:
            if not meas.startswith("S."):
                continue
            base = KIND[meas] * N
            vid = m.var_id[meas]
            have = ~np.isnan(m.values[meas]) & shown
            carrier_n_known = n_known[m.var_id["n"]]
            k = np.zeros(N, bool)
            k[vid[have & carrier_n_known]] = True
            self.known[base:base + N] = k
            vals = _by_var(m, meas)
            self.lo[base:base + N] = self.hi[base:base + N] = vals
            for c in np.flatnonzero(have & ~carrier_n_known):
                v, vn = base + vid[c], m.var(c, "n")
                if k[vid[c]]:
                    continue
                row = ({v: 1.0, vn: -m.values[meas][c] / m.n[c]}, 0.0, 0.0)
                self.rows.setdefault(v, []).append(row)
                self.rows.setdefault(vn, []).append(row)
        self.shown = shown
        for meas, st in (counts or {}).items():
            self._set_count(meas, st["status"].to_numpy(dtype=object), st["lo"].to_numpy(), st["hi"].to_numpy())

    def _set_count(self, measure: str, status: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        N = self.m.N
        base = KIND[measure] * N
        ok = np.isin(status, ["vist", "lav", "hoej"]) & self.shown
        self.known[base:base + N] = ok
        self.lo[base:base + N] = np.where(ok, lo, np.nan)
        self.hi[base:base + N] = np.where(ok, hi, np.nan)

    def with_count(self, measure: str, status: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> "Truth":
        """The same knowledge with one count measure's statuses (the cells' own part is not redone)."""
        out = object.__new__(Truth)
        out.m, out.shown, out.rows = self.m, self.shown, self.rows
        out.known, out.lo, out.hi = self.known.copy(), self.lo.copy(), self.hi.copy()
        out._set_count(measure, status, lo, hi)
        return out

    def interval(self, var: int):
        if not self.known[var]:
            return None
        return (self.lo[var], self.hi[var])

    def is_free(self, var: int) -> bool:
        return not self.known[var] or self.hi[var] - self.lo[var] > 0.5

    def free_mask(self) -> np.ndarray:
        return ~self.known | (self.hi - self.lo > 0.5)

    def extra_rows(self, var: int):
        return self.rows.get(var, [])



def _by_var(m: Model, meas: str) -> np.ndarray:
    """The true value of each variable of a measure, indexed by variable id."""
    vals = np.full(m.N, np.nan)
    have = ~np.isnan(m.values[meas])
    vals[m.var_id[meas][have]] = m.values[meas][have]
    return vals


# --- step 1: complements ---------------------------------------------------------------------
def _unknown_rows(m: Model, know: Truth, measure: str) -> np.ndarray:
    """Per relation member row: is this member's variable for ``measure`` unknown?"""
    v = KIND[measure] * m.N + m.var_id[measure][m.rel_cell]
    return ~know.known[v] & m.applies[measure]


def complements(m: Model, hidden: np.ndarray, hideable: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Hide more cells until no relation gives a hidden cell away on its own, to a fixpoint.

    Two local rules, each hiding the cheapest shown member of the relation:
    * a relation in which exactly one member's n (or sum) is unknown: it is the total minus
      the rest;
    * a relation whose shown total leaves its hidden parts no more than k pupils together:
      each is then known to be small.
    What the rules miss, the LP test finds (``suppress_base``).
    """
    hidden = hidden.copy()
    sizes = np.diff(m.rel_ptr)
    starts = m.rel_ptr[:-1]
    s_measures = [x for x in MEASURES if x.startswith("S.")]
    while True:
        know = Truth(m, hidden)
        unk_n = _unknown_rows(m, know, "n")
        lone = (np.add.reduceat(unk_n.astype(np.int64), starts) == 1) & (sizes > 1)
        for meas in s_measures:
            unk = _unknown_rows(m, know, meas)
            lone |= (np.add.reduceat(unk.astype(np.int64), starts) == 1) & (sizes > 1)
        total_row = m.rel_coef < 0
        total_known = np.add.reduceat((total_row & ~unk_n).astype(np.int64), starts) > 0
        n_row = m.n[m.rel_cell]
        known_sum = np.add.reduceat(np.where(unk_n, 0.0, m.rel_coef * n_row), starts)
        room = -known_sum
        small = primary[m.rel_cell]
        lb_row = np.zeros(len(unk_n))  # an empty group looks like a hidden one: parts may be 0
        lb_sum = np.add.reduceat(lb_row, starts)
        max_row = np.repeat(room - lb_sum, sizes) + lb_row
        thr_row = m.threshold[m.rel_cell] + 1.0
        tight_row = unk_n & ~total_row & small & (max_row < thr_row - TOL) & np.repeat(total_known, sizes)
        tight = np.add.reduceat(tight_row.astype(np.int64), starts) > 0
        todo = np.flatnonzero(lone | tight)
        if not len(todo):
            return hidden
        changed = False
        before = hidden.copy()
        for r in todo:
            members, _ = m.members(r)
            if lone[r] and not tight[r] and (hidden[members] & ~before[members]).any():
                continue  # a member hidden earlier in this pass already gave it a second unknown
            pick = _cheapest(m, [x for x in members if hideable[x] and not hidden[x]])
            if pick is None:
                continue  # left for the LP step to report
            _hide(m, hidden, pick)
            changed = True
        if not changed:
            return hidden


def _hide(m: Model, hidden: np.ndarray, cell: int) -> None:
    """Hide a cell, and every cell that shows the same n (else its n would stay known)."""
    hidden[cell] = True
    if m.shows_n[cell]:
        group = m.carriers(m.var(cell, "n"))
        hidden[group[m.shows_n[group]]] = True


def _cheapest(m: Model, candidates) -> int | None:
    """The candidate cell to hide first (``Model.cost_order``), or None."""
    cand = np.fromiter(candidates, dtype=np.int64)
    return int(cand[np.argmin(m.cost_order[cand])]) if len(cand) else None


# --- step 2: the LP test ---------------------------------------------------------------------
def check_component(m: Model, comp: list[int], know: Knowledge, primary: np.ndarray,
                    measures: tuple[str, ...]) -> list[tuple[int, str, list]]:
    """The primary cells of a component a reader could pin: (cell, how, the relations that pin it)."""
    cells = sorted({int(c) for v in comp for c in m.carriers(v) if primary[c]}, key=lambda c: m.ids[c])
    if not cells:
        return []
    comp_set = set(comp)
    cert = Certifier(system(m, comp, know), know)
    qs = [q for c in cells for q in questions(m, c, know)
          if all(m.measure_of(v) in measures for v in q.expr) and any(v in comp_set for v in q.expr)]
    # two broad questions first, with every small group given a pupil: their points clear most cells at once
    pupils = [cert.system.index[q.needs_pupil] for q in qs if q.needs_pupil in cert.system.index]
    for j in set(pupils):
        cert.solver.set_lower(j, 1.0)
    for maximize in (True, False):
        expr: dict[int, float] = {}
        for q in qs:
            if q.maximize == maximize:
                for v, a in q.expr.items():
                    expr[v] = expr.get(v, 0.0) + a
        cols, _ = cert._columns(expr)
        if cols:
            cert.reaches(cols, maximize, math.inf if maximize else -math.inf)
    for j in set(pupils):
        cert.solver.set_lower(j, cert.system.lb[j])
    fails, done = [], set()
    for q in qs:
        if q.cell in done:
            continue
        if not cert.ask(q):
            fails.append((q.cell, q.what, cert.binding_tags()))
            done.add(q.cell)
    return fails


def _repair_candidate(m: Model, cell: int, comp: list[int], hidden: np.ndarray, hideable: np.ndarray,
                      binding: list) -> int | None:
    """The cheapest shown cell of a relation that pins ``cell`` (from the LP's duals), else next to it."""
    for r in binding:
        pick = _cheapest(m, sorted(int(x) for x in m.members(r)[0] if not hidden[x] and hideable[x]))
        if pick is not None:
            return pick
    for around in ([cell], sorted({int(c) for v in comp for c in m.carriers(v)})):
        cand = {int(x) for c in around for r in m.relations_of(c) for x in m.members(r)[0]
                if not hidden[x] and hideable[x]}
        pick = _cheapest(m, sorted(cand))
        if pick is not None:
            return pick
    return None


def primary_cells(m: Model) -> np.ndarray:
    """Small groups (≤ 5 respondents or ≤ 3 pupils) that some page publishes, with their linked cells."""
    primary = (m.n >= 1) & (m.n <= m.threshold)
    # linked cells show the same pupils: small in one family is small in all
    primary = primary | pd.Series(primary).groupby(m.label).transform("any").to_numpy()
    return primary & m.published


def primary_measure_sets(m: Model, primary: np.ndarray) -> list[tuple[str, ...]]:
    """The measure sets (``model.measure_sets``) the small cells need checked, in a fixed order."""
    return sorted({ms for c in np.flatnonzero(primary) for ms in measure_sets(m.family[c])})


def base_failures(m: Model, hidden: np.ndarray, primary: np.ndarray, passed: set | None = None,
                  only: tuple[str, ...] | None = None) -> list:
    """One pass of the LP test: [((cell, how, binding relations), component)] for every small
    cell a reader who sees everything not ``hidden`` could pin (n or a mean).  ``only``: check
    this one measure set (``measure_sets``), e.g. to run the sets side by side."""
    passed = set() if passed is None else passed
    cells = sorted(np.flatnonzero(primary), key=lambda i: m.ids[i])
    know = Truth(m, hidden)
    fails = []
    sets = primary_measure_sets(m, primary) if only is None else [only]
    comps = {ms: components_all(m, know, ms) for ms in sets}
    seen: dict[tuple, set] = {ms: set() for ms in sets}  # per measure set: a group's n is in every set's LP
    for c in cells:
        for measures in measure_sets(m.family[c]):
            if measures not in comps:
                continue
            start = [m.var(c, x) for x in measures if x in m.measures_of[m.family[c]]]
            if any(v in seen[measures] for v in start):
                continue
            comp = sorted({w for v in start for w in comps[measures].get(v, [])})
            if not comp:
                continue
            seen[measures].update(comp)
            key = (measures, tuple(comp))
            if key in passed:
                continue
            found = check_component(m, comp, know, primary, measures)
            if found:
                fails += [(f, comp) for f in found]
            else:
                passed.add(key)
    return fails


def suppress_base(m: Model, max_rounds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(primary, hidden) per cell for n and means; cells no page publishes count as hidden.

    Rounds: check every component that holds a small cell (LPs); hide one more cell for each
    cell a reader could pin; run the local rules; repeat until every component passes.  A
    component that passed is not checked again unless it changed.
    """
    primary = primary_cells(m)
    hideable = (m.rank < LEVEL_RANK["program"]) & m.published
    hidden = complements(m, primary | ~m.published, hideable, primary)
    passed: set = set()
    for _ in range(max_rounds or m.N + 1):  # each round hides at least one more cell, or stops
        fails = base_failures(m, hidden, primary, passed)
        if not fails:
            return primary, hidden
        for (bad, why, binding), comp in fails:
            pick = _repair_candidate(m, bad, comp, hidden, hideable, binding)
            if pick is None:  # only the programme is left (e.g. a programme of one municipality)
                pick = _repair_candidate(m, bad, comp, hidden, m.published, binding)
            if pick is None:  # nothing next to it is shown: withhold its whole table (this round, this dimension)
                same = (m.cells["family"].to_numpy() == m.family[bad]) & (m.cells["key"].to_numpy() == m.cells["key"].iat[bad])
                if (same & m.published & ~hidden).any():
                    hidden |= same & m.published
                    continue
                raise SuppressionError(f"Ingen celle kan skjules for at beskytte {m.ids[bad]}: {why}")
            _hide(m, hidden, pick)
        hidden = complements(m, hidden, hideable, primary)
    raise SuppressionError("Sekundær diskretionering fandt ingen løsning (for mange runder).")


# --- counts ----------------------------------------------------------------------------------
def count_status(m: Model, measure: str, hidden: np.ndarray) -> pd.DataFrame:
    """Status and the reader's interval per cell for one count measure ('' rows: not this family)."""
    display = COUNT_DISPLAY[measure]
    values = m.values[measure]
    status = np.full(m.N, "", dtype=object)
    lo = np.full(m.N, np.nan)
    hi = np.full(m.N, np.nan)
    shown = m.published & ~hidden
    for i in np.flatnonzero(~np.isnan(values)):
        if not shown[i]:
            status[i] = "skjult"
            continue
        status[i], lo[i], hi[i] = count_band(values[i], m.n[i], display)
    return pd.DataFrame({"status": status, "lo": lo, "hi": hi})


def suppress_counts(m: Model, measure: str, hidden: np.ndarray, primary: np.ndarray,
                    max_rounds: int | None = None, given: pd.DataFrame | None = None, repair: bool = True):
    """Bands and secondary suppression for one count measure (after the cells themselves).

    Sensitive are counts (or complements) of 1 … k pupils; each must be able to be 0 or more
    than k for a reader who sees everything else.  With ``given`` (statuses as published) and
    ``repair=False`` nothing is changed: the sensitive cells a reader could pin are returned.
    """
    st = count_status(m, measure, hidden) if given is None else given.copy()
    status = st["status"].to_numpy(dtype=object).copy()
    lo, hi = st["lo"].to_numpy().copy(), st["hi"].to_numpy().copy()
    have = status != ""
    k = k_other()
    values = m.values[measure]
    shown = m.published & ~hidden
    sensitive = have & m.published & (((values >= 1) & (values <= k)) | ((m.n - values >= 1) & (m.n - values <= k)))
    hideable = have & shown & (m.rank < LEVEL_RANK["program"])
    sizes = np.diff(m.rel_ptr)
    starts = m.rel_ptr[:-1]
    passed: set = set()
    # a sensitive cell a reader could not pin stays safe: hiding more only widens what a reader
    # must allow, so it is not asked again in later rounds
    cleared: set = set()
    cells_known = Truth(m, hidden)

    def hide(i: int) -> None:
        status[i], lo[i], hi[i] = "skjult", np.nan, np.nan

    for _ in range(max_rounds or m.N + 1):  # each round hides at least one more count, or stops
        # a relation with exactly one member not shown exactly gets a second one
        while repair:
            exact = status == "vist"
            nonexact_row = m.applies[measure] & have[m.rel_cell] & ~exact[m.rel_cell]
            lone = np.flatnonzero((np.add.reduceat(nonexact_row.astype(np.int64), starts) == 1) & (sizes > 1))
            picked = False
            for r in lone:
                members, _ = m.members(r)
                if sum(not (status[x] == "vist") for x in members if have[x]) != 1:
                    continue
                pick = _cheapest(m, [x for x in members if hideable[x] and status[x] == "vist"])
                if pick is not None:
                    hide(pick)
                    picked = True
            if not picked:
                break
        know = cells_known.with_count(measure, status, lo, hi)
        fails, seen = [], set()
        comps = components_all(m, know, ("n", measure))
        for c in np.flatnonzero(sensitive):
            v = m.var(c, measure)
            if v in seen:
                continue
            comp = comps.get(v, [])
            if not comp:
                continue
            seen.update(comp)
            key = tuple(comp)
            if key in passed:
                continue
            todo = sorted({int(x) for w in comp for x in m.carriers(w) if sensitive[x] and x not in cleared},
                          key=lambda i: m.ids[i])
            cert = Certifier(system(m, comp, know), know) if todo else None
            bad = None
            for x in todo:
                qs = count_questions(m, x, measure, know, k)
                if qs and not (cert.ask(qs[0]) or cert.ask(qs[1])):
                    bad = x
                    break
                cleared.add(x)
            if bad is None:
                passed.add(key)
            else:
                fails.append((bad, comp))
        if not repair:
            return [c for c, _ in fails]
        if not fails:
            return pd.DataFrame({"status": status, "lo": lo, "hi": hi})
        for c, comp in fails:
            near = m.neighbours(np.union1d(m.cells_of(comp), [c]))
            exact = near[status[near] == "vist"]
            pick = _cheapest(m, exact[hideable[exact]])
            if pick is None:  # only the programme is left: its count too, rather than a child's
                pick = _cheapest(m, exact[have[exact] & shown[exact]])
            if pick is None:
                raise SuppressionError(f"Ingen celle kan skjules for at beskytte antallet i {m.ids[c]}.")
            hide(pick)
    raise SuppressionError("Diskretionering af antal fandt ingen løsning (for mange runder).")


def _count_job(state: tuple, measure: str) -> np.ndarray:
    m, hidden, primary = state
    return suppress_counts(m, measure, hidden, primary)["status"].replace("", np.nan).to_numpy()


def _count_statuses(m: Model, hidden: np.ndarray, primary: np.ndarray, workers: int | None) -> dict[str, np.ndarray]:
    """Each count measure's statuses; the measures are independent given the cells' own decision,
    so they are protected side by side (``forked``)."""
    measures = [x for x in COUNT_DISPLAY if not np.isnan(m.values[x]).all()]
    return dict(zip(measures, fork_map(_count_job, measures, (m, hidden, primary), workers)))


def suppress(cells: pd.DataFrame, bounds: dict | None = None, round_years: dict | None = None,
             workers: int | None = None) -> pd.DataFrame:
    """The status of every cell: ``status`` for n/means, ``status_<count>`` for each count measure.

    ``workers``: processes for the count measures (default: the cores; the result is the same).
    """
    m = build_model(cells, bounds, round_years)
    primary, hidden = suppress_base(m)
    out = m.cells[["id"]].copy()
    out["status"] = np.where(~m.published, "ikke_publiceret",
                             np.where(primary, "primaer", np.where(hidden, "sekundaer", "vist")))
    for measure, st in _count_statuses(m, hidden, primary, workers).items():
        out[f"status_{measure[2:]}"] = st
    return out
