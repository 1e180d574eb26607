"""The cells a reader can see: every published statistic about a group of pupils, and how they add up.

A *cell* is one group of pupils at one level (a school, a municipality, the programme) —
e.g. the boys of 4.–6. kl. at Aars Skole in T3, on faglig trivsel.  What the site publishes
about a cell are its size ``n``, means (from which a reader gets the sum ``S = mean × n``)
and counts of pupils with an attribute (``C``: pupils above 10 % absence, respondents).
These are additive: a municipality's n, S and C are the sums of its schools'; a total is
the sum of its parts (boys + girls; the grade bands; the grades).  Those linear relations
are what a reader can use to work a hidden cell out, so they are what suppression and the
audit reason about (``suppression.py``, ``audit.py``).

Each table family has its own cube of cells, built here from the (unsuppressed, internal)
aggregates:

====  ======================  ==========================================================
code  family                  cell key (after niveau/kode)
====  ======================  ==========================================================
S     survey scores           runde, dimension, gruppe (alle, dreng, pige, band, køn·band)
A     absence per year        skoleaar, gruppe (alle, dreng, pige, grade 0–10)
M     absence per month       skoleaar, periode
T     unlawful-absence counts skoleaar
W     faglig trivsel by       runde, absence band (and their total)
      absence band
R     response                runde, klassetrin (alle, 0–10)
====  ======================  ==========================================================

Some cells of different families describe the same pupils (a school's absence and its
monthly absence, its pupils per grade in the response table and in the absence table);
they are *linked*: they share their variables, so hiding one hides all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import attendance, config
from ..config import GRADE_BANDS

SEP = "|"
PROGRAM = "program"
BAND_CODES = {"0.–3. kl.": "0-3", "4.–6. kl.": "4-6", "7.–9. kl.": "7-9", "10. kl.": "10"}
BAND_LABELS = {v: k for k, v in BAND_CODES.items()}
ABSENCE_BAND_CODES = {label: f"{lo:g}-{hi:g}" if hi < 100 else f"{lo:g}+" for lo, hi, label in attendance.ABSENCE_BANDS}
GRADES = [str(k) for k in range(11)]
MEAN_TYPES = [f"{t}_pct" for t in attendance.TYPES] + ["samlet_pct"]


@dataclass(frozen=True)
class Family:
    """One kind of cell: its keys, its additive measures and the rule that makes a cell small."""

    code: str
    title: str
    keys: tuple[str, ...]
    survey: bool                    # the survey threshold (≤ 5 respondents) or the other one (≤ 3 pupils)
    means: tuple[str, ...] = ()     # S measures (sums of a pupil-level value)
    counts: tuple[str, ...] = ()    # C measures (pupils with an attribute): the share rule applies
    bounds: dict = field(default_factory=dict)   # mean measure → (lo, hi) of the pupil-level value
    #: How far a hidden small group's mean must be able to move either way: at least
    #: ``protect_abs`` (in the value's unit) and at least ``protect_rel`` of the value itself.
    protect_abs: float = 0.0
    protect_rel: float = 0.0
    #: Does a page show the group's n?  (Monthly absence and the absence bands show means only;
    #: their n is the year's or the survey's.)
    shows_n: bool = True

    def mean_protection(self, value: float) -> float:
        return max(self.protect_abs, self.protect_rel * abs(value))

    @property
    def threshold(self) -> int:
        return config.MIN_SURVEY_N if self.survey else config.MIN_OTHER_N


ABSENCE_BOUNDS = {m: (0.0, 100.0) for m in MEAN_TYPES}
FAMILIES = {
    "S": Family("S", "Kortlægning", ("runde", "dimension"), True, ("score",), protect_abs=50.0),
    "A": Family("A", "Fravær", ("skoleaar",), False, tuple(MEAN_TYPES), ("over10",), ABSENCE_BOUNDS, 1.0, 0.5),
    "M": Family("M", "Fravær pr. måned", ("skoleaar", "periode"), False, tuple(MEAN_TYPES), (), ABSENCE_BOUNDS, 1.0, 0.5,
                shows_n=False),
    "T": Family("T", "Ulovligt fravær i et kvartal", ("skoleaar",), False, (), ("u10", "u15"), shows_n=False),
    "W": Family("W", "Fravær og faglig trivsel", ("runde", "fravaersgruppe"), True, ("score",), protect_abs=50.0,
                shows_n=False),
    "R": Family("R", "Svarprocent", ("runde", "klassetrin"), False, (), ("besvar",)),
}


def cell_id(family: str, niveau, kode, *keys) -> str:
    return SEP.join([family, str(niveau), str(kode), *map(str, keys)])


def ids(family: str, frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Vectorised ``cell_id`` over a frame's niveau, kode and key columns."""
    out = pd.Series(family, index=frame.index, dtype=object)
    for col in ["niveau", "kode", *keys]:
        out = out + SEP + frame[col].astype(str)
    return out


def survey_group(gruppe_type: pd.Series, gruppe: pd.Series) -> pd.Series:
    """The survey cell's group code: alle, dreng, pige, 0-3 (a band) or dreng·0-3 (gender × band)."""
    g = gruppe.astype(str)
    band = g.map(BAND_CODES)
    out = g.where(gruppe_type.isin(["alle", "koen"]), band)
    crossed = gruppe_type == "koen_klassetrin"
    if crossed.any():
        parts = g[crossed].str.split(SEP, n=1, expand=True)
        out[crossed] = parts[0] + "·" + parts[1].map(BAND_CODES)
    return out


# --- the cell table ---------------------------------------------------------------------------
#: Columns of the cell table: one row per cell.
CELL_COLUMNS = ["id", "family", "niveau", "kode", "kommunekode", "key", "gruppe", "n"]


def _frame(family: str, src: pd.DataFrame, keys: list[str], gruppe: pd.Series, n: pd.Series,
           means: dict[str, pd.Series], counts: dict[str, pd.Series], parent: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame({
        "family": family, "niveau": src["niveau"].astype(str).to_numpy(), "kode": src["kode"].astype(str).to_numpy(),
    }, index=src.index)
    out["kommunekode"] = np.where(out["niveau"] == "skole", out["kode"].map(parent),
                                  np.where(out["niveau"] == "kommune", out["kode"], PROGRAM))
    out["key"] = src[keys[0]].astype(str)
    for k in keys[1:]:
        out["key"] = out["key"] + SEP + src[k].astype(str)
    out["gruppe"] = gruppe.astype(str).to_numpy()
    out["id"] = family + SEP + out["niveau"] + SEP + out["kode"] + SEP + out["key"] + SEP + out["gruppe"]
    out["n"] = pd.to_numeric(n, errors="coerce").fillna(0).to_numpy(dtype=float)
    for m, v in means.items():
        out[f"S.{m}"] = (pd.to_numeric(v, errors="coerce") * out["n"]).to_numpy(dtype=float)
    for c, v in counts.items():
        out[f"C.{c}"] = pd.to_numeric(v, errors="coerce").round().to_numpy(dtype=float)
    return out.reset_index(drop=True)


def build_cells(agg: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every cell of every family from the internal aggregates, with n, sums (S.*) and counts (C.*).

    ``agg``: the aggregate tables by name (``aggregate.compute_all``).  Values here are the
    true, unsuppressed ones: this table never leaves ``data/processed``.
    """
    schools = agg["schools"]
    parent = dict(zip(schools["institutionsnummer"].astype(str), schools["kommunekode"].astype(str)))
    parts = []
    m = agg["survey_means"]
    parts.append(_frame("S", m, ["runde", "dimension"], survey_group(m["gruppe_type"], m["gruppe"]), m["n"],
                        {"score": m["mean"]}, {}, parent))
    if "absence" in agg and len(agg["absence"]):
        a = agg["absence"]
        parts.append(_frame("A", a, ["skoleaar"], a["gruppe"].astype(str), a["n"],
                            {c: a[c] for c in MEAN_TYPES}, {"over10": a["andel_over_10_pct"] / 100 * a["n"]}, parent))
        mo = agg["absence_month"]
        parts.append(_frame("M", mo, ["skoleaar"], mo["periode"].astype(str), mo["n"],
                            {c: mo[c] for c in MEAN_TYPES}, {}, parent))
        t = agg["absence_triggers"]
        parts.append(_frame("T", t, ["skoleaar"], pd.Series("alle", index=t.index), t["n"], {},
                            {"u10": t["ulovligt_10"], "u15": t["ulovligt_15"]}, parent))
        w = agg["absence_wellbeing"]
        parts.append(_frame("W", w, ["runde"], w["fravaersgruppe"].map(ABSENCE_BAND_CODES), w["n"],
                            {"score": w["mean"]}, {}, parent))
        wc = agg["absence_wellbeing_corr"]
        parts.append(_frame("W", wc, ["runde"], pd.Series("alle", index=wc.index), wc["n"], {"score": pd.Series(np.nan, index=wc.index)},
                            {}, parent))
    r = agg["response_rates"]
    parts.append(_frame("R", r, ["runde"], r["klassetrin"].astype(str), r["elever"], {},
                        {"besvar": r["besvarelser"]}, parent))
    cells = pd.concat(parts, ignore_index=True)
    w = cells["family"] == "W"
    if w.any():  # the total's sum is the sum of its bands' (the correlation table has only its n)
        sums = cells[w & (cells["gruppe"] != "alle")].groupby(["niveau", "kode", "key"])["S.score"].sum()
        tot = cells[w & (cells["gruppe"] == "alle")]
        cells.loc[tot.index, "S.score"] = sums.reindex(pd.MultiIndex.from_frame(tot[["niveau", "kode", "key"]])).to_numpy()
    if cells["id"].duplicated().any():
        dup = cells.loc[cells["id"].duplicated(), "id"].iloc[0]
        raise ValueError(f"cell id {dup!r} occurs twice")
    return cells


# --- relations --------------------------------------------------------------------------------
def _partitions(family: str, groups: set[str]) -> list[tuple[str, list[str]]]:
    """(total, parts) within one niveau/kode/key: the groups that add up to another group."""
    if family == "S":
        bands = [BAND_CODES[b] for b in GRADE_BANDS]
        rel = [("alle", ["dreng", "pige"]), ("alle", bands)]
        rel += [(g, [f"{g}·{b}" for b in bands]) for g in ("dreng", "pige")]
        rel += [(b, [f"dreng·{b}", f"pige·{b}"]) for b in bands]
    elif family == "A":
        rel = [("alle", ["dreng", "pige"]), ("alle", GRADES)]
    elif family == "W":
        rel = [("alle", list(ABSENCE_BAND_CODES.values()))]
    elif family == "R":
        rel = [("alle", GRADES)]
    else:
        rel = []
    return [(t, [p for p in ps if p in groups]) for t, ps in rel if t in groups]


def _templates() -> pd.DataFrame:
    """Every partition of every family as rows (family, partition, place, gruppe); place 0 is the total."""
    everything = set(BAND_CODES.values()) | {"alle", "dreng", "pige", *GRADES, *ABSENCE_BAND_CODES.values()}
    everything |= {f"{g}·{b}" for g in ("dreng", "pige") for b in BAND_CODES.values()}
    rows = []
    for family in FAMILIES:
        for t, (total, parts) in enumerate(_partitions(family, everything)):
            rows += [(family, t, place, g) for place, g in enumerate([total, *parts])]
    return pd.DataFrame(rows, columns=["family", "partition", "place", "gruppe"])


def build_relations(cells: pd.DataFrame) -> pd.DataFrame:
    """The linear relations between cells: one row per (relation, member), coefficient +1 part / −1 total.

    A relation holds for every additive measure of its family (n, each S, each C).  Members
    that do not exist (an empty group) are zero and simply absent.  Columns: ``rel`` (int),
    ``cell`` (row index into ``cells``), ``coef``.  Relations are numbered in a fixed order:
    the partitions (by family, niveau, kode, key, then ``_partitions``' order), then the
    hierarchy (by family, key, gruppe: each municipality by code, then the programme).
    """
    c = cells[["family", "niveau", "kode", "kommunekode", "key", "gruppe"]].assign(cell=np.arange(len(cells)))
    # partitions inside one niveau/kode/key
    c["group"] = c.groupby(["family", "niveau", "kode", "key"], sort=True).ngroup()
    m = c.merge(_templates(), on=["family", "gruppe"])
    has_total = m["place"].eq(0).groupby([m["group"], m["partition"]]).transform("any")
    has_part = m["place"].gt(0).groupby([m["group"], m["partition"]]).transform("any")
    m = m[has_total & has_part].sort_values(["group", "partition", "place"], kind="stable")
    first = m.groupby(["group", "partition"], sort=False).ngroup().to_numpy()
    part_rows = (first, m["cell"].to_numpy(), np.where(m["place"].to_numpy() == 0, -1.0, 1.0))
    # the hierarchy: municipality = Σ its schools, programme = Σ municipalities
    c["slice"] = c.groupby(["family", "key", "gruppe"], sort=True).ngroup()
    school = c[c["niveau"] == "skole"]
    kom = c[c["niveau"] == "kommune"]
    top = kom.drop_duplicates(["slice", "kode"])[["slice", "kode", "cell"]].rename(columns={"kode": "kommunekode"})
    with_top = school.merge(top[["slice", "kommunekode"]], on=["slice", "kommunekode"])
    tops = top.merge(with_top[["slice", "kommunekode"]].drop_duplicates(), on=["slice", "kommunekode"])
    h = pd.concat([
        tops.assign(stage=0, code=tops["kommunekode"], place=0),
        with_top[["slice", "kommunekode", "cell"]].assign(stage=0, code=with_top["kommunekode"], place=1),
    ])
    prog = c[c["niveau"] == "program"].drop_duplicates("slice")
    prog = prog[prog["slice"].isin(kom["slice"])]
    h = pd.concat([h,
                   prog[["slice", "cell"]].assign(stage=1, code="", place=0),
                   kom[kom["slice"].isin(prog["slice"])][["slice", "cell"]].assign(stage=1, code="", place=1)])
    h = h.sort_values(["slice", "stage", "code", "place", "cell"], kind="stable")
    second = h.groupby(["slice", "stage", "code"], sort=False).ngroup().to_numpy() + (first.max() + 1 if len(first) else 0)
    return pd.DataFrame({"rel": np.concatenate([part_rows[0], second]).astype(np.int64),
                         "cell": np.concatenate([part_rows[1], h["cell"].to_numpy()]).astype(np.int64),
                         "coef": np.concatenate([part_rows[2], np.where(h["place"].to_numpy() == 0, -1.0, 1.0)])})


def link_groups(cells: pd.DataFrame, round_years: dict[str, str]) -> np.ndarray:
    """A label per cell: cells with the same label describe the same pupils and share their variables.

    * monthly absence (M) and the unlawful-absence counts (T) of a school year have the
      pupils of the year's absence (A, all pupils);
    * the response table's pupils per grade (R) are the absence table's (A) for the round's
      school year;
    * the faglig trivsel total of the absence bands (W, alle) is the survey cell (S) of
      faglig trivsel, all pupils, in that round.
    A link is made only where the two cells have the same number of pupils (a school that
    reports no absence has no A cells to link to).
    """
    label = np.arange(len(cells))
    key = cells["niveau"] + SEP + cells["kode"]
    a = cells[cells["family"] == "A"]
    a_index = dict(zip(key[a.index] + SEP + a["key"] + SEP + a["gruppe"], a.index))

    n = cells["n"].to_numpy()

    def link(rows: pd.Index, target) -> None:
        for i, t in zip(rows, target):
            j = a_index.get(t) if isinstance(t, str) else t
            if j is not None and n[j] == n[i]:
                label[i] = label[j]

    mt = cells[cells["family"].isin(["M", "T"])]
    link(mt.index, key[mt.index] + SEP + mt["key"].str.split(SEP).str[0] + SEP + "alle")
    r = cells[cells["family"] == "R"]
    if len(r):
        link(r.index, key[r.index] + SEP + r["key"].map(round_years).astype(object).fillna("") + SEP + r["gruppe"])
    w = cells[(cells["family"] == "W") & (cells["gruppe"] == "alle")]
    s = cells[(cells["family"] == "S") & (cells["gruppe"] == "alle")]
    s_index = dict(zip(key[s.index] + SEP + s["key"], s.index))
    link(w.index, [s_index.get(k) for k in key[w.index] + SEP + w["key"] + SEP + "faglig_trivsel"])
    return _compress(label)


def _compress(label: np.ndarray) -> np.ndarray:
    """Follow each label to its root (a link target may itself be linked)."""
    out = label.copy()
    for _ in range(4):
        nxt = out[out]
        if np.array_equal(nxt, out):
            break
        out = nxt
    return out


# --- what the site publishes ------------------------------------------------------------------
def published(cells: pd.DataFrame, rounds: list[str]) -> np.ndarray:
    """Which cells some page shows (the rest are never published and stay unknown to a reader).

    The pages' tables (``publication.tables``) show, per school and for its municipality and
    the programme:

    * survey (S): all pupils and each gender in every round and dimension; the grade bands
      in the latest round; gender × grade band for faglig trivsel in the latest round; for
      municipalities and the programme the whole gender × band cube (the explorer);
    * absence (A): all pupils in every school year; by gender and grade in the latest year;
      monthly absence (M) and the unlawful-absence counts (T) in the latest year;
    * faglig trivsel by absence band (W): the latest round whose school year has absence;
    * response (R): every round, all pupils and each grade.
    """
    fam, niveau, key, gruppe = cells["family"], cells["niveau"], cells["key"], cells["gruppe"]
    latest = rounds[-1]
    runde = key.str.split(SEP).str[0]
    out = np.zeros(len(cells), bool)
    s = fam == "S"
    crossed = gruppe.str.contains("·", regex=False)
    band = gruppe.isin(list(BAND_CODES.values()))
    dimension = key.str.split(SEP).str[-1]
    out |= s & ~crossed & ~band
    out |= s & band & ((runde == latest) | (niveau != "skole"))
    out |= s & crossed & (((runde == latest) & (dimension == "faglig_trivsel")) | (niveau != "skole"))
    a = fam.isin(["A", "M", "T"])
    years = key.where(a).astype(object).str.split(SEP).str[0] if a.any() else pd.Series(None, index=key.index, dtype=object)
    latest_year = years.dropna().max() if a.any() else None
    out |= (fam == "A") & ((gruppe == "alle") | (years == latest_year))
    out |= fam.isin(["M", "T"]) & (years == latest_year)
    w = fam == "W"
    if w.any():
        w_rounds = sorted(set(runde[w]), key=lambda r: rounds.index(r) if r in rounds else -1)
        out |= w & (runde == w_rounds[-1])
    out |= fam == "R"
    return out


def from_aggregates(agg: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict | None, dict]:
    """What the suppression and the audit both start from: the cell table (with ``published``),
    each dimension's score bounds, and round → school year."""
    rounds = agg["rounds"]["runde"].tolist()
    years = dict(zip(agg["rounds"]["runde"], agg["rounds"]["skoleaar"]))
    bounds = {r.dimension: (r.lo, r.hi) for r in agg["score_bounds"].itertuples()} if "score_bounds" in agg else None
    cells = build_cells(agg)
    cells["published"] = published(cells, rounds)
    return cells, bounds, years
