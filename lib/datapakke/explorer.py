"""Udforsker: all schools across all municipalities, for the researcher.

One page over everything in the processed data (not only the municipalities whose school
reports were built), executed by papermill from ``notebooks/explorer.ipynb`` into
``reports/udforsker/index.ipynb``.  It answers "how much do schools and municipalities
differ?": distributions of every dimension by municipality, gender and grade band; a
three-level model of faglig trivsel (pupils in schools in municipalities,
``datapakke.multilevel``) with variance shares, ICCs and empirically shrunken school gender
gaps; absence against wellbeing across schools; and how much of the schools' variation lies
between municipalities.

**Privacy.**  The pupil-level Parquet files are read here (with DuckDB), inside the
process, and only aggregates come out of any public function: counts, means, SDs and
quantiles per group, model estimates, per-school summaries.  Rules:

* a group is reported only with at least ``MIN_GROUP`` (6) pupils with a score — survey
  figures on 5 or fewer respondents are never shown (DOMAIN.md §5) — and a group is also
  dropped when it could be recovered from a shown total and its shown siblings (secondary
  suppression over gender, grade band and municipality, as ``privacy.suppress_complement``);
* quantiles additionally need ``QUANTILE_MIN_N`` (20) pupils: a median of 7 pupils *is* one
  pupil's score, a mean of 7 is not;
* the school-level analyses use the published, already suppressed aggregates
  (``aggregates/*.parquet``), so a school's figure here is the one in its own report;
* the EB gender gaps include a school only with at least 6 boys and 6 girls
  (``multilevel.school_gender_gaps``).

The page's figures carry only these aggregates; ``write_tables`` writes the same tables
beside the page as CSV.  Pupil-level data never leaves ``data/processed``.

**Filters in a static page.**  The figures' filters (municipality, grade band, round,
gender, measure) are native ``<select>`` elements above the plot (``plots.Filter``): every
trace carries the filter values it belongs to, and the site's ``figures.js`` shows the traces
that match all selects — keyboard- and screen-reader-reachable, no server.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from . import config, fmt, plots, privacy, store
from .gaps import GRADE_BANDS
from .multilevel import fit_multilevel, school_gender_gaps
from .plots import COLOURS, GENDER_LABELS, OTHERS, Filter
from .overview import wrap
from .report import Block, data_table, how_to_read, para

#: Smallest group reported (survey figures on ≤ MIN_SURVEY_N respondents are suppressed).
MIN_GROUP = config.MIN_SURVEY_N + 1
#: Smallest group whose quantiles are reported (a quantile of a small group is a pupil's score).
QUANTILE_MIN_N = 20
QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
Q_COLS = ["p10", "p25", "median", "p75", "p90"]
ALL = "alle"
ALL_MUNICIPALITIES = "Alle kommuner"
KEYS = ["kommunekode", "runde", "dimension", "koen", "klassetrin"]
HIGHLIGHT, MUTED = COLOURS["kommune"], "#b9c3cc"
#: Columns that must never appear in an output table.
PUPIL_COLUMNS = {"elev_id", "score", "raw", "klasse", "dato"}


# --- DuckDB over the processed store -----------------------------------------------------------
def connect(processed_dir: str | Path | None = None) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """An in-memory DuckDB with views over the current version's Parquet files (pupil rows stay here)."""
    processed = Path(processed_dir) if processed_dir else config.Paths.default().processed
    version = store.current(processed)
    con = duckdb.connect()
    for name in ("scores", "skoler"):
        path = str(version / f"{name}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con, version


def _band_sql(col: str = "klassetrin") -> str:
    """The grade bands of ``gaps.grade_band`` as SQL (0–3, 4–6, 7–9, 10)."""
    b = GRADE_BANDS
    return (f"CASE WHEN {col} <= 3 THEN '{b[0]}' WHEN {col} <= 6 THEN '{b[1]}' "
            f"WHEN {col} <= 9 THEN '{b[2]}' ELSE '{b[3]}' END")


def distribution_cells(frame: pd.DataFrame) -> pd.Series:
    """The publication cell (``publication.cells``) of each distribution row: the same group of
    pupils as the municipality's or the programme's survey cell, so it is shown only as that is."""
    from .publication import cells as C  # noqa: PLC0415

    niveau = np.where(frame["kommunekode"] == ALL, C.PROGRAM, "kommune")
    kode = frame["kommunekode"].where(frame["kommunekode"] != ALL, C.PROGRAM).astype(str)
    koen, band = frame["koen"].astype(str), frame["klassetrin"].map(C.BAND_CODES).fillna(ALL)
    gruppe = np.where(koen == ALL, band, np.where(band == ALL, koen, koen + "·" + band))
    return ("S" + C.SEP + pd.Series(niveau, index=frame.index) + C.SEP + kode + C.SEP + frame["runde"].astype(str)
            + C.SEP + frame["dimension"].astype(str) + C.SEP + pd.Series(gruppe, index=frame.index))


def distribution_table(con: duckdb.DuckDBPyConnection, min_group: int = MIN_GROUP,
                       status: pd.Series | None = None) -> pd.DataFrame:
    """n, mean, SD and quantiles of every dimension per municipality × round × gender × grade band.

    All margins are included ('alle' for gender or grade band, kommunekode 'alle' for all
    municipalities).  Groups under ``min_group`` pupils are absent, and so is any group that
    could be recovered from a shown total and its shown siblings; with ``status`` (the
    publication's cell statuses) a row is shown only where its cell is ``vist``, so the
    explorer publishes nothing the site's suppression has not decided; quantiles are NaN under
    ``QUANTILE_MIN_N``.  Columns: kommunekode, kommune, runde, dimension, koen, klassetrin,
    n, mean, sd, p10, p25, median, p75, p90.
    """
    if min_group < MIN_GROUP:
        raise ValueError(f"min_group={min_group} er under grænsen {MIN_GROUP} (diskretionering).")
    q = ", ".join(str(x) for x in QUANTILES)
    frame = con.execute(f"""
        WITH s AS (
            SELECT kommunekode, runde, dimension, koen, {_band_sql()} AS klassetrin, score
            FROM scores WHERE score IS NOT NULL)
        SELECT CASE WHEN grouping(kommunekode) = 1 THEN '{ALL}' ELSE kommunekode END AS kommunekode,
               runde, dimension,
               CASE WHEN grouping(koen) = 1 THEN '{ALL}' ELSE koen END AS koen,
               CASE WHEN grouping(klassetrin) = 1 THEN '{ALL}' ELSE klassetrin END AS klassetrin,
               count(*) AS n, avg(score) AS mean, stddev_samp(score) AS sd,
               quantile_cont(score, [{q}]) AS q
        FROM s
        GROUP BY runde, dimension, CUBE (kommunekode, koen, klassetrin)
    """).df()
    quant = np.array([list(v) for v in frame.pop("q")], dtype=float).reshape(len(frame), len(QUANTILES))
    for i, c in enumerate(Q_COLS):
        frame[c] = quant[:, i]
    frame["n"] = frame["n"].astype(int)
    hidden = _suppress_hierarchy(frame, min_group)
    if status is not None:  # the site's own decision: a row is shown only where its cell is
        hidden |= distribution_cells(frame).map(status).ne("vist").to_numpy()
    out = frame[~hidden].copy()
    out.loc[out["n"] < QUANTILE_MIN_N, Q_COLS] = np.nan
    names = con.execute("SELECT DISTINCT kommunekode, kommune FROM skoler").df()
    kommune = dict(zip(names["kommunekode"], names["kommune"]))
    out.insert(1, "kommune", [ALL_MUNICIPALITIES if k == ALL else kommune.get(k, k) for k in out["kommunekode"]])
    order = {d: i for i, d in enumerate(config.DIMENSIONS)}
    out = out.sort_values(["kommunekode", "runde", "dimension", "koen", "klassetrin"],
                          key=lambda s: s.map(order) if s.name == "dimension" else s).reset_index(drop=True)
    return out


def _suppress_hierarchy(frame: pd.DataFrame, min_group: int) -> pd.Series:
    """Primary (n < min_group) plus secondary suppression over gender, grade band and municipality."""
    hidden = pd.Series(frame["n"].to_numpy() < min_group, index=frame.index)
    while True:
        before = hidden.copy()
        for col in ("koen", "klassetrin", "kommunekode"):
            parts = frame[col] != ALL
            groups = frame.loc[parts, [k for k in KEYS if k != col]]
            hidden[parts] = privacy.suppress_complement(hidden[parts], frame.loc[parts, "n"], groups)
        if hidden.equals(before):
            return hidden


def _pupil_scores(con: duckdb.DuckDBPyConnection, dimension: str | None = None, runde: str | None = None) -> pd.DataFrame:
    """Pupil-level scores for the models — used inside this module only, never returned or written."""
    where, args = ["score IS NOT NULL"], []
    if dimension:
        where.append("dimension = ?")
        args.append(dimension)
    if runde:
        where.append("runde = ?")
        args.append(runde)
    return con.execute(
        "SELECT kommunekode, institutionsnummer, koen, klassetrin, runde, dimension, score FROM scores WHERE "
        + " AND ".join(where), args).df()


def _note_da(note: str) -> str:
    """The model's notes (English in ``multilevel``) in Danish for the page."""
    m = re.match(r"Only (\d+) municipalities", note)
    if m:
        return f"Kun {m.group(1)} kommuner: variansen mellem kommuner er meget usikker (se intervallet)."
    if note.startswith("Only one municipality"):
        return "Kun én kommune: kommuneniveauet kan ikke estimeres og er udeladt."
    if "did not report convergence" in note:
        return "Optimeringen rapporterede ikke konvergens; tolk estimaterne varsomt."
    return note


def multilevel_tables(pupils: pd.DataFrame, ci_dimensions: tuple[str, ...] = ("faglig_trivsel",)
                      ) -> dict[str, pd.DataFrame]:
    """Fit the three-level model per dimension × round; tidy tables of the aggregates only.

    Profile-likelihood intervals of the variance components (the slow part) are computed for
    ``ci_dimensions`` only — the page shows them for faglig trivsel; the other dimensions'
    intervals are NaN in the table.

    ``pupils``: pupil-level scores with kommunekode, institutionsnummer, koen, klassetrin,
    runde, dimension, score.  Returns ``varians`` (dimension, runde, niveau, variance, sd, CI,
    share), ``icc`` (dimension, runde, icc_kommune, icc_skole, andel_skole, counts,
    converged, note) and ``faste_effekter`` (dimension, runde, term, label, estimate, se, CI).
    A fit that cannot be made (e.g. one school) is skipped with its reason in ``icc.note``.
    """
    var_rows, icc_rows, fe_rows = [], [], []
    for (dim, runde), g in pupils.groupby(["dimension", "runde"], sort=True):
        try:
            res = fit_multilevel(g, variance_ci=dim in ci_dimensions)
        except ValueError as exc:
            icc_rows.append({"dimension": dim, "runde": runde, "note": f"Modellen kunne ikke estimeres: {exc}"})
            continue
        vc = res.variance_components.rename(columns={"component": "niveau"})
        var_rows.append(vc.assign(dimension=dim, runde=runde))
        fe_rows.append(res.fixed_effects.assign(dimension=dim, runde=runde))
        icc_rows.append({"dimension": dim, "runde": runde, "icc_kommune": res.icc_municipality,
                         "icc_skole": res.icc_school, "andel_skole": res.share_school,
                         "n_elever": res.n_pupils, "n_skoler": res.n_schools, "n_kommuner": res.n_municipalities,
                         "converged": res.converged, "note": " ".join(_note_da(n) for n in res.notes)})
    first = ["dimension", "runde"]

    def tidy(parts, cols):
        if not parts:
            return pd.DataFrame(columns=first + cols)
        t = pd.concat(parts, ignore_index=True)
        return t[first + [c for c in t.columns if c not in first]]

    icc = pd.DataFrame(icc_rows)
    for c in ("icc_kommune", "icc_skole", "andel_skole", "n_elever", "n_skoler", "n_kommuner", "converged", "note"):
        if c not in icc.columns:
            icc[c] = np.nan
    return {"varians": tidy(var_rows, ["niveau", "variance", "sd", "var_ci_low", "var_ci_high", "share"]),
            "icc": icc[first + ["icc_kommune", "icc_skole", "andel_skole", "n_elever", "n_skoler", "n_kommuner",
                               "converged", "note"]] if len(icc) else pd.DataFrame(columns=first),
            "faste_effekter": tidy(fe_rows, ["term", "label", "estimate", "se", "ci_low", "ci_high"])}


def school_gaps(pupils: pd.DataFrame, schools: pd.DataFrame, min_group: int = MIN_GROUP) -> pd.DataFrame:
    """EB-shrunken faglig trivsel gaps per school as **boys − girls** (the reports' sign), for a caterpillar plot.

    ``multilevel.school_gender_gaps`` reports girls − boys; here every gap and interval is
    negated so that a negative gap means the boys score lower, as in the school reports.
    Columns: institutionsnummer, skolenavn, kommunekode, kommune, n_dreng, n_pige, gap
    (raw), gap_se, eb_gap, eb_low, eb_high, rang.  Model quantities are in ``attrs``.
    """
    g = school_gender_gaps(pupils, min_group=min_group)
    out = pd.DataFrame({
        "institutionsnummer": g["institutionsnummer"].astype(str), "kommunekode": g["kommunekode"].astype(str),
        "n_dreng": g["n_dreng"], "n_pige": g["n_pige"], "gap": -g["raw_gap"], "gap_se": g["raw_se"],
        "eb_gap": -g["eb_gap"], "eb_low": -g["eb_high"], "eb_high": -g["eb_low"]})
    names = schools[["institutionsnummer", "skolenavn", "kommune"]].astype(str)
    out = out.merge(names, on="institutionsnummer", how="left")
    out = out.sort_values(["eb_gap", "institutionsnummer"], kind="mergesort").reset_index(drop=True)
    out["rang"] = np.arange(1, len(out) + 1)
    out.attrs = dict(g.attrs)
    out.attrs["mu"] = -g.attrs["mu"]
    cols = ["institutionsnummer", "skolenavn", "kommunekode", "kommune", "n_dreng", "n_pige", "gap", "gap_se",
            "eb_gap", "eb_low", "eb_high", "rang"]
    res = out[cols]
    res.attrs = out.attrs
    return res


def school_level(aggregates: Path, runde: str, school_year: str) -> pd.DataFrame:
    """Per school (from the suppressed aggregates): faglig trivsel mean (round) and absence (school year).

    Columns: institutionsnummer, skolenavn, kommunekode, kommune, faglig_trivsel, n_svar,
    fravaer_pct, n_elever, over_10_pct.
    """
    schools = pd.read_parquet(aggregates / "schools.parquet")
    m = pd.read_parquet(aggregates / "survey_means.parquet",
                        filters=[("niveau", "=", "skole"), ("runde", "=", runde), ("dimension", "=", "faglig_trivsel"),
                                 ("gruppe_type", "=", "alle")])
    out = schools.merge(m[["kode", "mean", "n"]].rename(columns={"kode": "institutionsnummer", "mean": "faglig_trivsel",
                                                                 "n": "n_svar"}), on="institutionsnummer", how="left")
    path = aggregates / "absence.parquet"
    if path.is_file():
        a = pd.read_parquet(path, filters=[("niveau", "=", "skole"), ("skoleaar", "=", school_year),
                                           ("gruppe_type", "=", "alle")])
        a = a[["kode", "samlet_pct", "n", "andel_over_10_pct"]].rename(columns={
            "kode": "institutionsnummer", "samlet_pct": "fravaer_pct", "n": "n_elever", "andel_over_10_pct": "over_10_pct"})
        out = out.merge(a, on="institutionsnummer", how="left")
    else:
        out[["fravaer_pct", "n_elever", "over_10_pct"]] = np.nan
    return out[["institutionsnummer", "skolenavn", "kommunekode", "kommune", "faglig_trivsel", "n_svar",
                "fravaer_pct", "n_elever", "over_10_pct"]].reset_index(drop=True)


def between_group_share(frame: pd.DataFrame, value: str, group: str = "kommunekode") -> dict:
    """How much of the variation in school means lies between municipalities (one-way random effects).

    Model ``y_ij = mu + a_i + e_ij`` over schools j in municipality i, a ~ N(0, var_between),
    e ~ N(0, var_within), estimated by the ANOVA (method-of-moments) estimator for unbalanced
    groups: var_between = (MSB − MSW) / n0 with n0 = (N − Σn_i²/N) / (k − 1), truncated at 0.
    ``share`` = var_between / (var_between + var_within) — the intraclass correlation of
    school means.  The 95 % interval is the F-based one (Searle 1971), exact for balanced
    groups and approximate otherwise; the F test asks whether municipalities differ at all.
    Schools with a missing value are left out.  Note that var_within includes each school
    mean's own sampling error.
    """
    d = frame[[group, value]].dropna()
    counts = d.groupby(group)[value].size()
    k, n = len(counts), len(d)
    if k < 2 or n - k < 1:
        return {"maal": value, "n_skoler": n, "n_kommuner": k, "var_mellem": np.nan, "var_inden": np.nan,
                "andel_mellem": np.nan, "ci_low": np.nan, "ci_high": np.nan, "F": np.nan, "p": np.nan}
    grand = d[value].mean()
    means = d.groupby(group)[value].mean()
    ssb = float((counts * (means - grand) ** 2).sum())
    ssw = float(((d[value] - d[group].map(means)) ** 2).sum())
    msb, msw = ssb / (k - 1), ssw / (n - k)
    n0 = (n - float((counts ** 2).sum()) / n) / (k - 1)
    var_b = max((msb - msw) / n0, 0.0)
    f = msb / msw if msw > 0 else np.inf
    p = float(stats.f.sf(f, k - 1, n - k))
    fl = f / stats.f.ppf(0.975, k - 1, n - k)
    fu = f / stats.f.ppf(0.025, k - 1, n - k)
    lo = max((fl - 1) / (fl + n0 - 1), 0.0)
    hi = min(max((fu - 1) / (fu + n0 - 1), 0.0), 1.0)
    return {"maal": value, "n_skoler": n, "n_kommuner": k, "var_mellem": var_b, "var_inden": msw,
            "andel_mellem": var_b / (var_b + msw) if var_b + msw > 0 else np.nan,
            "ci_low": lo, "ci_high": hi, "F": f, "p": p}


def _r(values, d: int = 1) -> list:
    return [None if pd.isna(v) else round(float(v), d) for v in values]


# --- the page ----------------------------------------------------------------------------------
@dataclass
class Explorer:
    """All municipalities in the processed data; one method per page section, tables cached."""

    con: duckdb.DuckDBPyConnection
    version: Path
    demo: bool
    rounds: list[str]
    school_year: str
    schools: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    gap_attrs: dict = field(default_factory=dict)

    @classmethod
    def load(cls, processed_dir: str | Path | None = None, site_root: str = "../") -> "Explorer":
        con, version = connect(processed_dir)
        agg = store.published(version)
        rounds = pd.read_parquet(agg / "rounds.parquet")
        plots.configure(site_root)
        return cls(con=con, version=version, demo=store.is_demo(version),
                   rounds=rounds["runde"].tolist(), school_year=str(rounds["skoleaar"].max()),
                   schools=pd.read_parquet(agg / "schools.parquet"))

    @property
    def latest_round(self) -> str:
        return self.rounds[-1]

    @property
    def municipalities(self) -> list[tuple[str, str]]:
        k = self.schools[["kommunekode", "kommune"]].drop_duplicates().sort_values("kommune")
        return list(zip(k["kommunekode"], k["kommune"]))

    # --- cached aggregates -------------------------------------------------------------------
    def distributions_table(self) -> pd.DataFrame:
        if "fordelinger" not in self.tables:
            self.tables["fordelinger"] = distribution_table(self.con, status=self.cell_status())
        return self.tables["fordelinger"]

    def cell_status(self) -> pd.Series | None:
        """Cell id → status of the published survey cells (None for a version without them)."""
        path = store.published(self.version) / "celler.parquet"
        if not path.is_file():
            return None
        c = pd.read_parquet(path, columns=["id", "family", "status"], filters=[("family", "=", "S")])
        return c.set_index("id")["status"]

    def gap_schools(self) -> set[str] | None:
        """Schools whose boys' and girls' faglig trivsel is shown in the latest round (their own page's cells)."""
        status = self.cell_status()
        if status is None:
            return None
        shown = status[status.eq("vist") & status.index.str.startswith("S|skole|")
                       & status.index.str.contains(f"|{self.latest_round}|faglig_trivsel|", regex=False)]
        parts = shown.index.str.split("|")
        by_school: dict[str, set] = {}
        for p in parts:
            by_school.setdefault(p[2], set()).add(p[-1])
        return {k for k, g in by_school.items() if {"dreng", "pige"} <= g}

    def model_tables(self) -> dict[str, pd.DataFrame]:
        if "icc" not in self.tables:
            pupils = _pupil_scores(self.con)
            latest = pupils[pupils["runde"] == self.latest_round]
            faglig = pupils[(pupils["dimension"] == "faglig_trivsel") & (pupils["runde"] != self.latest_round)]
            self.tables.update(multilevel_tables(pd.concat([latest, faglig], ignore_index=True)))
            try:
                faglig_latest = latest[latest["dimension"] == "faglig_trivsel"]
                keep = self.gap_schools()
                if keep is not None:  # a school's gap only where its page shows both genders
                    faglig_latest = faglig_latest[faglig_latest["institutionsnummer"].astype(str).isin(keep)]
                gaps = school_gaps(faglig_latest, self.schools)
                self.gap_attrs = dict(gaps.attrs)
            except ValueError as exc:
                gaps = pd.DataFrame(columns=["institutionsnummer", "skolenavn", "kommunekode", "kommune", "n_dreng",
                                             "n_pige", "gap", "gap_se", "eb_gap", "eb_low", "eb_high", "rang"])
                self.gap_attrs = {"error": str(exc)}
            self.tables["skolers_koensforskel"] = gaps
            del pupils, latest, faglig
        return {k: self.tables[k] for k in ("varians", "icc", "faste_effekter", "skolers_koensforskel")}

    def school_table(self) -> pd.DataFrame:
        if "skoler" not in self.tables:
            self.tables["skoler"] = school_level(store.published(self.version), self.latest_round, self.school_year)
        return self.tables["skoler"]

    def spread_table(self) -> pd.DataFrame:
        if "varians_skolegennemsnit" not in self.tables:
            s = self.school_table()
            self.tables["varians_skolegennemsnit"] = pd.DataFrame(
                [between_group_share(s, "fravaer_pct"), between_group_share(s, "faglig_trivsel")])
        return self.tables["varians_skolegennemsnit"]

    # --- sections ------------------------------------------------------------------------------
    def banner(self) -> Block:
        return Block(fmt.demo_banner(self.demo))

    def heading(self) -> Block:
        return Block(para(
            f"<strong>Alle {len(self.municipalities)} kommuner og {len(self.schools)} skoler</strong> i de behandlede "
            f"data · kortlægningens runder {', '.join(self.rounds)} · skoleåret {self.school_year}. Siden viser kun "
            "aggregerede tal; elevdata forlader aldrig de behandlede data.", "dp-meta"))

    def data_basis(self) -> Block:
        """What is in the data: municipalities, schools and respondents per round."""
        counts = self.con.execute("""
            SELECT kommunekode, runde, count(DISTINCT institutionsnummer) AS skoler, count(DISTINCT elev_id) AS elever
            FROM scores WHERE score IS NOT NULL GROUP BY ALL""").df()
        wide = counts.pivot_table(index="kommunekode", columns="runde", values="elever", aggfunc="first")
        schools = self.schools.groupby("kommunekode").size()
        rows = []
        for code, name in self.municipalities:
            rows.append([f"{name} ({code})", fmt.count(schools.get(code, 0)),
                         *[fmt.count(wide.at[code, r]) if code in wide.index and r in wide.columns
                           and wide.at[code, r] > config.MIN_SURVEY_N else fmt.SUPPRESSED for r in self.rounds]])
        total = counts.groupby("runde")["elever"].sum()
        rows.append(["I alt", fmt.count(len(self.schools)), *[fmt.count(total.get(r)) for r in self.rounds]])
        frame = pd.DataFrame(rows, columns=["Kommune", "Skoler", *[f"Elever med svar {r}" for r in self.rounds]])
        return Block(fmt.table(frame, "Datagrundlag: skoler og elever med svar pr. kommune og runde"))

    def summary(self) -> Block:
        """The page's answer in three sentences: how much lies between municipalities, schools and pupils."""
        icc = self.model_tables()["icc"]
        spread = self.spread_table().set_index("maal")
        parts = []
        f = icc[(icc["dimension"] == "faglig_trivsel") & (icc["runde"] == self.latest_round)]
        if len(f) and pd.notna(f["icc_skole"].iloc[0]):
            r = f.iloc[0]
            mun = fmt.pct(r.icc_kommune * 100) if pd.notna(r.icc_kommune) else fmt.SUPPRESSED
            parts.append(f"Af forskellene i elevernes faglige trivsel ({self.latest_round}) ligger {mun} mellem kommuner, "
                         f"{fmt.pct(r.andel_skole * 100)} mellem skoler i samme kommune og "
                         f"{fmt.pct((1 - r.icc_skole) * 100)} mellem elever på samme skole.")
            other = icc[(icc["runde"] == self.latest_round) & icc["andel_skole"].notna()]
            if len(other) > 1:
                parts.append(f"For de syv dimensioner ligger skolernes andel mellem "
                             f"{fmt.pct(other['andel_skole'].min() * 100)} og {fmt.pct(other['andel_skole'].max() * 100)}.")
        if "fravaer_pct" in spread.index and pd.notna(spread.at["fravaer_pct", "andel_mellem"]):
            a = spread.loc["fravaer_pct"]
            parts.append(f"Af forskellene i skolernes fravær ligger {fmt.pct(a['andel_mellem'] * 100, 0)} mellem kommuner "
                         f"(95 %-interval {fmt.pct(a['ci_low'] * 100, 0)} til {fmt.pct(a['ci_high'] * 100, 0)}).")
        return Block(para("<strong>Kort fortalt:</strong> " + " ".join(parts), "dp-lead")) if parts else Block()

    def distributions(self) -> Block:
        """Box plots (quartiles, 10th–90th percentile) of every dimension, filtered by municipality, band, round."""
        t = self.distributions_table()
        dims = [d for d in config.DIMENSIONS if d in set(t["dimension"])]
        fig, keys = go.Figure(), []
        genders = [("dreng", GENDER_LABELS["dreng"], COLOURS["dreng"]), ("pige", GENDER_LABELS["pige"], COLOURS["pige"])]
        t = t[t["koen"].isin([g for g, _, _ in genders]) & t["median"].notna()]
        kommuner = [(ALL, ALL_MUNICIPALITIES)] + self.municipalities
        bands = [(ALL, "Alle klassetrin")] + [(b, b) for b in GRADE_BANDS if b in set(t["klassetrin"])]
        for (kode, _), (band, _), runde in [(k, b, r) for k in kommuner for b in bands for r in self.rounds]:
            sub = t[(t["kommunekode"] == kode) & (t["klassetrin"] == band) & (t["runde"] == runde)]
            for g, label, colour in genders:
                s = sub[sub["koen"] == g].set_index("dimension").reindex([d for d in dims if d in set(sub["dimension"])])
                s = s[s["median"].notna()]
                fig.add_trace(go.Box(
                    x=[wrap(config.DIMENSIONS[d]) for d in s.index], q1=_r(s["p25"]), median=_r(s["median"]), q3=_r(s["p75"]),
                    lowerfence=_r(s["p10"]), upperfence=_r(s["p90"]), mean=_r(s["mean"]), name=label,
                    legendgroup=g, showlegend=True, marker={"color": colour}, line={"width": 1.5},
                    hoverinfo="y+name"))
                keys.append({"kommune": kode, "klassetrin": band, "runde": runde})
        filters = [Filter("kommune", "Kommune", [(k, n) for k, n in kommuner], ALL),
                   Filter("klassetrin", "Klassetrin", bands, ALL),
                   Filter("runde", "Runde", [(r, r) for r in self.rounds], self.latest_round)]
        plots.layout(fig, "Fordelingen af elevernes scorer pr. dimension", height=480, boxmode="group")
        fig.update_yaxes(title="Score (500-skala)")
        fig.update_layout(legend={"y": -0.2})
        fig.add_hline(y=500, line={"color": "#bbb", "dash": "dot"})
        shown = t[(t["kommunekode"] == ALL) & (t["klassetrin"] == ALL) & (t["runde"] == self.latest_round)]
        wide = shown.pivot_table(index="dimension", columns="koen", values="median", aggfunc="first")
        wide = wide.reindex([d for d in dims if d in wide.index])
        alt = ""
        if len(wide) and {"dreng", "pige"} <= set(wide.columns):
            girls = int((wide["pige"] > wide["dreng"]).sum())
            iqr = (shown["p75"] - shown["p25"]).median()
            alt = (f"Alle kommuner, {self.latest_round}: de midterste 50 % af eleverne spænder over omkring "
                   f"{fmt.num(iqr)} point i hver dimension – forskellene mellem elever er store. Pigernes median er "
                   f"højere end drengenes i {girls} af {len(wide)} dimensioner.")
        rows = [[config.DIMENSIONS[r.dimension], GENDER_LABELS[r.koen], fmt.count(r.n), fmt.num(r.p10), fmt.num(r.p25),
                 fmt.num(r.median), fmt.num(r.p75), fmt.num(r.p90), fmt.num(r.mean)]
                for r in shown.sort_values(["dimension", "koen"], key=lambda c: c.map({d: i for i, d in enumerate(dims)})
                                           if c.name == "dimension" else c).itertuples()]
        table = data_table("tal-udforsker-fordelinger", pd.DataFrame(rows, columns=[
            "Dimension", "Køn", "Elever", "10. percentil", "25. percentil", "Median", "75. percentil", "90. percentil",
            "Gennemsnit"]), f"Fordelingerne for alle kommuner og klassetrin, {self.latest_round}",
            "De andre valg i figuren står i tabellen fordelinger (se Data nederst på siden).")
        return Block(plots.show(fig, "udforsker-fordelinger", alt=alt, table="#tal-udforsker-fordelinger",
                                filters=filters, keys=keys), table, how_to_read(
            "Hver kasse viser de midterste 50 % af elevernes scorer (25.–75. percentil) med medianen som streg og "
            "gennemsnittet stiplet; knurhårene går fra 10. til 90. percentil (ikke min./maks., som ville være enkelte "
            f"elevers svar). Grupper med færre end {QUANTILE_MIN_N} elever vises ikke her. Vælg kommune, klassetrin "
            "og runde i felterne over figuren."))

    def municipality_means(self) -> Block:
        """Heat map: each municipality's mean per dimension, against all municipalities (filters: round, band, gender)."""
        t = self.distributions_table()
        dims = [d for d in config.DIMENSIONS if d in set(t["dimension"])]
        kommuner = self.municipalities
        bands = [(ALL, "Alle klassetrin")] + [(b, b) for b in GRADE_BANDS if b in set(t["klassetrin"])]
        genders = [(ALL, "Alle elever"), ("dreng", "Drenge"), ("pige", "Piger")]
        fig, keys = go.Figure(), []
        ylab = [n for _, n in kommuner] + [ALL_MUNICIPALITIES]
        span = 40.0
        scale = [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]]
        for (band, _), (g, _), runde in [(b, g, r) for b in bands for g in genders for r in self.rounds]:
            sub = t[(t["klassetrin"] == band) & (t["koen"] == g) & (t["runde"] == runde)]
            ref = sub[sub["kommunekode"] == ALL].set_index("dimension")["mean"]
            z, text, custom = [], [], []
            for code in [c for c, _ in kommuner] + [ALL]:
                row = sub[sub["kommunekode"] == code].set_index("dimension")
                z.append([None if d not in row.index or d not in ref.index else round(float(row.at[d, "mean"] - ref[d]), 1)
                          for d in dims])
                text.append([fmt.num(row.at[d, "mean"]) if d in row.index else fmt.SUPPRESSED for d in dims])
                custom.append([fmt.count(row.at[d, "n"]) if d in row.index else fmt.SUPPRESSED for d in dims])
            heat = go.Heatmap(
                z=z, x=[wrap(config.DIMENSIONS[d]) for d in dims], y=ylab, text=text, customdata=custom,
                colorscale=scale, zmid=0, zmin=-span, zmax=span, xgap=2, ygap=2, showscale=False,
                hovertemplate="%{y} · %{x}: %{text} (n = %{customdata})<br>forskel fra alle kommuner %{z:+.0f}<extra></extra>")
            fig.add_trace(heat)
            fig.add_trace(plots.heatmap_labels(heat, text))
            keys += [{"klassetrin": band, "koen": g, "runde": runde}] * 2
        filters = [Filter("koen", "Køn", genders, ALL), Filter("klassetrin", "Klassetrin", bands, ALL),
                   Filter("runde", "Runde", [(r, r) for r in self.rounds], self.latest_round)]
        plots.layout(fig, "Kommunernes gennemsnit pr. dimension", height=130 + 34 * len(ylab), showlegend=False)
        fig.update_yaxes(autorange="reversed", showline=False, showgrid=False)
        fig.update_xaxes(side="bottom", showline=False, showgrid=False, tickangle=0)
        fig.update_layout(margin={"l": 140})
        shown = t[(t["klassetrin"] == ALL) & (t["koen"] == ALL) & (t["runde"] == self.latest_round)]
        means = shown.pivot_table(index="kommunekode", columns="dimension", values="mean", aggfunc="first")
        alt, rows = "", []
        if ALL in means.index:
            dev = means.drop(index=ALL).sub(means.loc[ALL], axis=1)
            if dev.notna().any().any():
                code, dim = dev.abs().stack().idxmax()
                name = dict(kommuner).get(code, code)
                alt = (f"Alle elever, {self.latest_round}: kommunernes gennemsnit ligger tæt på hinanden; den største "
                       f"afvigelse fra alle kommuner under ét er {name} i {config.DIMENSIONS[dim].lower()} "
                       f"({fmt.diff(means.at[code, dim], means.at[ALL, dim])} point).")
            for code, name in [*kommuner, (ALL, ALL_MUNICIPALITIES)]:
                rows.append([name, *[fmt.num(means.at[code, d]) if code in means.index and d in means.columns else
                                     fmt.SUPPRESSED for d in dims]])
        table = data_table("tal-udforsker-kommuner", pd.DataFrame(rows, columns=["Kommune", *[config.DIMENSIONS[d] for d in dims]]),
                           f"Kommunernes gennemsnit, alle elever og klassetrin, {self.latest_round} (500-skala)",
                           "De andre valg i figuren står i tabellen fordelinger (se Data nederst på siden).")
        return Block(plots.show(fig, "udforsker-kommuner", alt=alt, table="#tal-udforsker-kommuner", filters=filters,
                                keys=keys), table, how_to_read(
            "Tallene er gennemsnit på 500-skalaen; farven viser forskellen fra alle kommuner under ét i samme runde og "
            "gruppe (blå: højere, rød: lavere; fuld farve ved ±40 point). Forskelle mellem kommuner på nogle få point "
            "er små i forhold til spredningen mellem elever (100 point), og en kommune med få skoler kan ligge langt fra "
            "de andre af ren tilfældighed – flerniveaumodellen nedenfor viser, hvor meget kommunerne reelt adskiller sig."))

    def variance_shares(self) -> Block:
        """Stacked shares of variance (municipality / school / pupil) per dimension, latest round."""
        m = self.model_tables()
        v = m["varians"]
        v = v[v["runde"] == self.latest_round]
        if v.empty:
            return Block(para("Flerniveaumodellen kunne ikke estimeres på disse data: " +
                              html.escape("; ".join(m["icc"]["note"].dropna().astype(str)))))
        dims = [d for d in config.DIMENSIONS if d in set(v["dimension"])]
        labels = {"kommune": ("Mellem kommuner", COLOURS["kommune"]),
                  "skole": ("Mellem skoler i samme kommune", COLOURS["skole"]),
                  "elev (residual)": ("Mellem elever på samme skole", "#cfd8dc")}
        fig = go.Figure()
        for comp, (label, colour) in labels.items():
            sub = v[v["niveau"] == comp].set_index("dimension").reindex(dims)
            share = (sub["share"] * 100).fillna(0)
            fig.add_trace(go.Bar(
                y=[config.DIMENSIONS[d] for d in dims], x=_r(share, 2), orientation="h", name=label,
                marker={"color": colour, "line": {"color": "white", "width": 1}},
                text=[fmt.pct(x, 1) if x >= 3 else "" for x in share], textposition="inside", insidetextanchor="middle",
                hovertemplate="%{y}: %{x:.1f} %<extra>" + label + "</extra>"))
        plots.layout(fig, f"Hvor ligger forskellene? Andel af variansen, {self.latest_round}", height=420, barmode="stack")
        fig.update_xaxes(title="Andel af den samlede varians (%)", range=[0, 100], ticksuffix=" %")
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(margin={"l": 190})
        icc = m["icc"]
        f = icc[(icc["dimension"] == "faglig_trivsel") & (icc["runde"] == self.latest_round)]
        text = ""
        if len(f) and pd.notna(f["icc_skole"].iloc[0]):
            r = f.iloc[0]
            mun = (f"{fmt.pct(r.icc_kommune * 100)} mellem kommuner og " if pd.notna(r.icc_kommune) else "")
            text = (f"I faglig trivsel ligger {mun}{fmt.pct(r.andel_skole * 100)} mellem skoler i samme kommune; resten – "
                    f"{fmt.pct((1 - r.icc_skole) * 100)} – er forskelle mellem elever på samme skole. To elever på samme "
                    f"skole ligner altså kun hinanden lidt mere end to tilfældige elever (ICC for skolen "
                    f"{fmt.num(r.icc_skole, 3)}). Modellen bygger på {fmt.count(r.n_elever)} elever på "
                    f"{fmt.count(r.n_skoler)} skoler i {fmt.count(r.n_kommuner)} kommuner og tager højde for køn og "
                    "klassetrin.")
        shares = v.pivot_table(index="dimension", columns="niveau", values="share", aggfunc="first").reindex(dims)
        table = data_table("tal-udforsker-varians", pd.DataFrame({
            "Dimension": [config.DIMENSIONS[d] for d in dims],
            **{label: [fmt.pct(x * 100) for x in shares.get(comp, pd.Series(np.nan, index=dims))]
               for comp, (label, _) in labels.items()}}), f"Andel af variansen, {self.latest_round}")
        pupil = shares.get("elev (residual)")
        alt = (f"Langt de fleste forskelle ligger mellem elever på samme skole: {fmt.pct(pupil.min() * 100, 0)} til "
               f"{fmt.pct(pupil.max() * 100, 0)} af variansen i de {len(dims)} dimensioner; resten ligger mellem skoler "
               "og kommuner.") if pupil is not None and pupil.notna().any() else None
        return Block(plots.show(fig, "udforsker-varians", alt=alt, table="#tal-udforsker-varians"), table,
                     para(text) if text else None, how_to_read(
            "Søjlen deler forskellene i elevernes scorer (variansen) op i tre lag: hvor meget der skyldes, hvilken "
            "kommune eleven går i, hvilken skole i kommunen, og resten, som er forskelle mellem elever på samme skole. "
            "Små andele på kommune- og skoleniveau er det normale i skoleforskning: langt de fleste forskelle ligger "
            "mellem elever."))

    def multilevel_details(self) -> Block:
        """Variance components with profile-likelihood intervals, ICCs and fixed effects for faglig trivsel."""
        m = self.model_tables()
        v = m["varians"]
        v = v[v["dimension"] == "faglig_trivsel"]
        if v.empty:
            return Block()
        names = {"kommune": "Kommune", "skole": "Skole", "elev (residual)": "Elev (rest)"}
        rows = []
        for r in v.itertuples():
            rows.append([r.runde, names.get(r.niveau, r.niveau), fmt.num(r.variance), fmt.num(r.sd, 1),
                         f"{fmt.num(r.var_ci_low)} til {fmt.num(r.var_ci_high)}" if pd.notna(r.var_ci_low) else fmt.SUPPRESSED,
                         fmt.pct(r.share * 100 if pd.notna(r.share) else np.nan)])
        vc = pd.DataFrame(rows, columns=["Runde", "Niveau", "Varians", "SD (point)", "95 %-interval (varians)", "Andel"])
        icc = m["icc"]
        icc = icc[icc["dimension"] == "faglig_trivsel"]
        irows = [[r.runde, fmt.num(r.icc_kommune, 3), fmt.num(r.andel_skole, 3), fmt.num(r.icc_skole, 3),
                  fmt.count(r.n_elever), fmt.count(r.n_skoler), fmt.count(r.n_kommuner),
                  "ja" if r.converged is True else ("nej" if r.converged is False else fmt.SUPPRESSED)] for r in icc.itertuples()]
        it = pd.DataFrame(irows, columns=["Runde", "ICC kommune", "Andel skole", "ICC skole", "Elever", "Skoler",
                                          "Kommuner", "Konvergeret"])
        fe = m["faste_effekter"]
        fe = fe[(fe["dimension"] == "faglig_trivsel") & (fe["runde"] == self.latest_round)]
        frows = [[r.label, fmt.num(r.estimate, 1, sign=r.term != "intercept"), fmt.num(r.se, 1),
                  f"{fmt.num(r.ci_low, 1, sign=r.term != 'intercept')} til "
                  f"{fmt.num(r.ci_high, 1, sign=r.term != 'intercept')}"] for r in fe.itertuples()]
        ft = pd.DataFrame(frows, columns=["Led", "Estimat (point)", "SE", "95 %-interval"])
        notes = [html.escape(str(n)) for n in dict.fromkeys(icc["note"].dropna()) if str(n).strip()]
        return Block(
            fmt.table(it, "Faglig trivsel: intraklassekorrelationer pr. runde"),
            para("<em>ICC kommune</em>: andelen af variansen mellem kommuner (korrelationen mellem to elever i samme "
                 "kommune på forskellige skoler). <em>Andel skole</em>: andelen mellem skoler i samme kommune. "
                 "<em>ICC skole</em> = summen af de to: korrelationen mellem to elever på samme skole.", "dp-note"),
            fmt.table(vc, "Faglig trivsel: varianskomponenter med 95 %-profillikelihood-intervaller"),
            fmt.table(ft, f"Faglig trivsel: faste effekter, {self.latest_round}"),
            para(" ".join(notes), "dp-note") if notes else None)

    def caterpillar(self) -> Block:
        """EB-shrunken gender gaps per school, sorted, with 95 % intervals; highlight a municipality."""
        g = self.model_tables()["skolers_koensforskel"]
        if g.empty:
            return Block(para("For få skoler har mindst 6 drenge og 6 piger med svar til at vise skolernes "
                              f"kønsforskelle ({html.escape(str(self.gap_attrs.get('error', '')))})."))
        fig, keys = go.Figure(), []

        def trace(sub, colour, name, show):
            hover = [f"{html.escape(s)} ({html.escape(k)})<br>drenge − piger: {fmt.num(e, sign=True)} "
                     f"[{fmt.num(lo, sign=True)}; {fmt.num(hi, sign=True)}]<br>rå forskel {fmt.num(r, sign=True)} · "
                     f"{int(nd)} drenge, {int(np_)} piger"
                     for s, k, e, lo, hi, r, nd, np_ in zip(sub["skolenavn"], sub["kommune"], sub["eb_gap"], sub["eb_low"],
                                                            sub["eb_high"], sub["gap"], sub["n_dreng"], sub["n_pige"])]
            return go.Scatter(
                x=sub["rang"].tolist(), y=_r(sub["eb_gap"]), mode="markers", name=name, showlegend=show,
                marker={"color": colour, "size": 7},
                error_y={"type": "data", "symmetric": False, "array": _r(sub["eb_high"] - sub["eb_gap"]),
                         "arrayminus": _r(sub["eb_gap"] - sub["eb_low"]), "color": colour, "thickness": 1.2, "width": 0},
                text=hover, hovertemplate="%{text}<extra></extra>")

        fig.add_trace(trace(g, COLOURS["dreng"], "Alle skoler", True))
        keys.append({"kommune": ALL})
        fig.add_trace(trace(g, MUTED, "Øvrige skoler", True))
        keys.append({"kommune": OTHERS})
        for code, name in self.municipalities:
            sub = g[g["kommunekode"] == code]
            fig.add_trace(trace(sub, HIGHLIGHT, name, True))
            keys.append({"kommune": code})
        options = [(ALL, ALL_MUNICIPALITIES)] + [(c, n) for c, n in self.municipalities]
        mu = self.gap_attrs.get("mu")
        if mu is not None and not pd.isna(mu):
            fig.add_hline(y=float(mu), line={"color": COLOURS["program"], "dash": "dash"},
                          annotation_text=f"Alle skoler: {fmt.num(mu, sign=True)}", annotation_position="top left")
        fig.add_hline(y=0, line={"color": "#888"})
        plots.layout(fig, f"Kønsforskel i faglig trivsel pr. skole, {self.latest_round} (drenge − piger, "
                          "empirisk Bayes)", height=520, showlegend=False)
        fig.update_xaxes(title="Skolerne sorteret efter kønsforskel", showticklabels=False)
        fig.update_yaxes(title="Drenge − piger (point)")
        a = self.gap_attrs
        excluded = a.get("n_schools_excluded", 0)
        text = (f"{fmt.count(len(g))} skoler har mindst {MIN_GROUP} drenge og {MIN_GROUP} piger med svar"
                + (f"; {fmt.count(excluded)} mindre skoler er udeladt" if excluded else "") + ". "
                f"Skolernes sande kønsforskelle varierer med en spredning på omkring {fmt.num(a.get('tau_school'), 1)} "
                f"point mellem skoler i samme kommune og {fmt.num(a.get('tau_municipality'), 1)} point mellem kommuner "
                f"(den rå spredning inden for skolerne er {fmt.num(a.get('sd_within'), 0)} point).")
        below, above = int((g["eb_high"] < 0).sum()), int((g["eb_low"] > 0).sum())
        alt = (f"Skolernes kønsforskel i faglig trivsel ligger mellem {fmt.num(g['eb_gap'].min(), sign=True)} og "
               f"{fmt.num(g['eb_gap'].max(), sign=True)} point (drenge − piger). "
               f"{fmt.plural(below, 'skole', 'skoler')} af {fmt.count(len(g))} har et interval helt under 0 (drengene "
               f"lavere), {fmt.count(above)} helt over 0.")
        rows = [[r.skolenavn, r.kommune, fmt.count(r.rang), fmt.num(r.eb_gap, sign=True),
                 f"{fmt.num(r.eb_low, sign=True)} til {fmt.num(r.eb_high, sign=True)}", fmt.num(r.gap, sign=True)]
                for r in g.itertuples()]
        table = data_table("tal-udforsker-koensforskel", pd.DataFrame(rows, columns=[
            "Skole", "Kommune", "Rang", "Kønsforskel (empirisk Bayes)", "95 %-interval", "Rå forskel"]),
            f"Skolernes kønsforskel i faglig trivsel, {self.latest_round} (drenge − piger, point)")
        return Block(plots.show(fig, "udforsker-koensforskel", alt=alt, table="#tal-udforsker-koensforskel",
                                filters=[Filter("kommune", "Fremhæv", options, ALL)], keys=keys), table, para(text), how_to_read(
            "Hver prik er en skole; stregen er et 95 %-interval for skolens sande kønsforskel. Skolens egen forskel "
            "er trukket mod kommunens og alle skolers (empirisk Bayes): jo færre elever, jo mere. Derfor er "
            "ekstreme forskelle på små skoler dæmpet. Intervaller, der krydser 0, viser ingen sikker forskel. "
            "Vælg en kommune i feltet over figuren for at fremhæve dens skoler."))

    def absence_wellbeing(self) -> Block:
        """School-level scatter of absence against faglig trivsel (aggregates), highlight a municipality."""
        s = self.school_table()
        d = s.dropna(subset=["fravaer_pct", "faglig_trivsel"])
        if len(d) < 3:
            return Block(para("For få skoler har både fravær og faglig trivsel til at vise sammenhængen."))
        fig, keys = go.Figure(), []

        def trace(sub, colour, name):
            hover = [f"{html.escape(n)} ({html.escape(k)})<br>fravær {fmt.pct(a)} · faglig trivsel {fmt.num(t)}"
                     for n, k, a, t in zip(sub["skolenavn"], sub["kommune"], sub["fravaer_pct"], sub["faglig_trivsel"])]
            return go.Scatter(x=_r(sub["fravaer_pct"], 2), y=_r(sub["faglig_trivsel"]), mode="markers", name=name,
                              marker={"color": colour, "size": 9, "line": {"color": "white", "width": 0.5}},
                              text=hover, hovertemplate="%{text}<extra></extra>")

        fig.add_trace(trace(d, COLOURS["skole"], "Alle skoler"))
        keys.append({"kommune": ALL})
        fig.add_trace(trace(d, MUTED, "Øvrige skoler"))
        keys.append({"kommune": OTHERS})
        for code, name in self.municipalities:
            fig.add_trace(trace(d[d["kommunekode"] == code], HIGHLIGHT, name))
            keys.append({"kommune": code})
        slope, intercept, r, p, _ = stats.linregress(d["fravaer_pct"], d["faglig_trivsel"])
        rho = stats.spearmanr(d["fravaer_pct"], d["faglig_trivsel"])
        xs = np.array([d["fravaer_pct"].min(), d["fravaer_pct"].max()])
        fig.add_trace(go.Scatter(x=_r(xs, 2), y=_r(intercept + slope * xs), mode="lines", name="Lineær tendens",
                                 line={"color": "#444", "dash": "dash"}, hoverinfo="skip"))
        keys.append({})
        options = [(ALL, ALL_MUNICIPALITIES)] + [(c, n) for c, n in self.municipalities]
        plots.layout(fig, f"Fravær og faglig trivsel pr. skole ({self.school_year} / {self.latest_round})", height=500,
                     showlegend=False)
        fig.update_xaxes(title="Skolens samlede fravær (% af skoledage)", ticksuffix=" %")
        fig.update_yaxes(title="Skolens faglige trivsel (500-skala)")
        missing = s["fravaer_pct"].isna() & s["faglig_trivsel"].notna()
        no_abs = sorted(set(s.loc[missing, "kommune"]))
        text = (f"{len(d)} skoler. Pr. procentpoint mere fravær ligger skolens faglige trivsel {fmt.num(abs(slope), 1)} "
                f"point {'lavere' if slope < 0 else 'højere'} (Pearson r = {fmt.num(r, 2, sign=True)}, Spearman ρ = "
                f"{fmt.num(rho.statistic, 2, sign=True)}).")
        if no_abs:
            text += (" Uden fravær (ikke indberettet eller for få elever): skoler i " + ", ".join(html.escape(k) for k in no_abs)
                     + ". Manglende fravær er ikke 0.")
        weak = abs(rho.statistic) < 0.1
        alt = (f"Der er næsten ingen sammenhæng mellem skolernes fravær og faglige trivsel (Spearman ρ = "
               f"{fmt.num(rho.statistic, 2, sign=True)}, {len(d)} skoler)." if weak else
               f"Skoler med mere fravær har i gennemsnit {'lavere' if slope < 0 else 'højere'} faglig trivsel: "
               f"{fmt.num(abs(slope), 1)} point pr. procentpoint fravær (Spearman ρ = "
               f"{fmt.num(rho.statistic, 2, sign=True)}, {len(d)} skoler) – en sammenhæng mellem skoler, ikke en årsag.")
        rows = [[r.skolenavn, r.kommune, fmt.pct(r.fravaer_pct), fmt.num(r.faglig_trivsel)]
                for r in d.sort_values(["kommune", "skolenavn"]).itertuples()]
        table = data_table("tal-udforsker-fravaer", pd.DataFrame(rows, columns=[
            "Skole", "Kommune", "Samlet fravær", "Faglig trivsel"]),
            f"Skolernes fravær ({self.school_year}) og faglige trivsel ({self.latest_round})")
        return Block(plots.show(fig, "udforsker-fravaer", alt=alt, table="#tal-udforsker-fravaer",
                                filters=[Filter("kommune", "Fremhæv", options, ALL)], keys=keys), table, para(text), how_to_read(
            "Hver prik er en skole: dens gennemsnitlige fravær og elevernes gennemsnitlige faglige trivsel. Det er en "
            "sammenhæng mellem skoler, ikke mellem elever – og ikke et bevis for årsag: skoler med mere fravær kan "
            "have en anden elevsammensætning. Vælg en kommune i feltet over figuren for at fremhæve dens skoler."))

    def school_spread(self) -> Block:
        """School means per municipality (strip plot) and how much of their variation is between municipalities."""
        s = self.school_table()
        spread = self.spread_table()
        measures = [("fravaer_pct", "Samlet fravær (%)", 2), ("faglig_trivsel", f"Faglig trivsel {self.latest_round} (500-skala)", 1)]
        measures = [m for m in measures if s[m[0]].notna().sum() >= 3]
        if not measures:
            return Block(para("For få skoler med tal til at vise spredningen mellem skoler og kommuner."))
        fig, keys, layouts = go.Figure(), [], {}
        for col, label, d in measures:
            sub = s.dropna(subset=[col])
            order = sub.groupby("kommune")[col].mean().sort_values()
            hover = [f"{html.escape(n)}: {fmt.num(v, d - 1 if col == 'faglig_trivsel' else 1)}" for n, v in
                     zip(sub["skolenavn"], sub[col])]
            fig.add_trace(go.Box(
                y=sub["kommune"].tolist(), x=_r(sub[col], d), orientation="h", boxpoints="all", jitter=0.4, pointpos=0,
                fillcolor="rgba(0,0,0,0)", line={"color": "rgba(0,0,0,0)"}, marker={"color": COLOURS["skole"], "size": 7,
                                                                                   "opacity": 0.8},
                name="Skoler", text=hover, hoverinfo="text"))
            fig.add_trace(go.Scatter(
                y=order.index.tolist(), x=_r(order.values, d), mode="markers", name="Kommunens gennemsnit af skolerne",
                marker={"symbol": "line-ns-open", "size": 22, "color": COLOURS["kommune"], "line": {"width": 3}},
                hovertemplate="%{y}: %{x}<extra>gennemsnit</extra>"))
            keys += [{"maal": col}] * 2
            layouts[col] = {"yaxis.categoryarray": order.index.tolist(), "xaxis.title.text": label}
        first_order = s.dropna(subset=[measures[0][0]]).groupby("kommune")[measures[0][0]].mean().sort_values()
        plots.layout(fig, "Skolerne i hver kommune", height=180 + 40 * s["kommune"].nunique(), showlegend=False)
        fig.update_yaxes(categoryorder="array", categoryarray=first_order.index.tolist())
        fig.update_xaxes(title=measures[0][1])
        fig.update_layout(margin={"l": 140})
        measure = Filter("maal", "Mål", [(c, lab) for c, lab, _ in measures], measures[0][0], layout=layouts)
        by_kommune = s.groupby("kommune").agg(skoler=("institutionsnummer", "size"), fravaer=("fravaer_pct", "mean"),
                                              trivsel=("faglig_trivsel", "mean")).reset_index()
        numbers = data_table("tal-udforsker-spredning", pd.DataFrame({
            "Kommune": by_kommune["kommune"], "Skoler": [fmt.count(v) for v in by_kommune["skoler"]],
            "Gennemsnit af skolernes fravær": [fmt.pct(v) for v in by_kommune["fravaer"]],
            "Gennemsnit af skolernes faglige trivsel": [fmt.num(v) for v in by_kommune["trivsel"]]}),
            "Kommunernes gennemsnit af skolerne (de orange streger)",
            "Hver skoles tal står i tabellen skoler (se Data nederst på siden).")
        rows = []
        labels = {"fravaer_pct": "Samlet fravær (skolegennemsnit)", "faglig_trivsel": "Faglig trivsel (skolegennemsnit)"}
        for r in spread.itertuples():
            rows.append([labels.get(r.maal, r.maal), fmt.count(r.n_skoler), fmt.count(r.n_kommuner),
                         fmt.pct(r.andel_mellem * 100 if pd.notna(r.andel_mellem) else np.nan, 0),
                         f"{fmt.pct(r.ci_low * 100, 0)} til {fmt.pct(r.ci_high * 100, 0)}" if pd.notna(r.ci_low) else fmt.SUPPRESSED,
                         "p < 0,001" if pd.notna(r.p) and r.p < 0.001 else fmt.num(r.p, 3)])
        table = pd.DataFrame(rows, columns=["Mål", "Skoler", "Kommuner", "Andel mellem kommuner", "95 %-interval",
                                            "F-test p"])
        text = ""
        a = spread[spread["maal"] == "fravaer_pct"]
        if len(a) and pd.notna(a["andel_mellem"].iloc[0]):
            share = a["andel_mellem"].iloc[0] * 100
            text = (f"Af forskellene i skolernes fravær ligger {fmt.pct(share, 0)} mellem kommuner; resten er forskelle "
                    "mellem skoler i samme kommune (inkl. tilfældig variation i små skolers gennemsnit).")
        return Block(plots.show(fig, "udforsker-spredning", alt=text or None, table="#tal-udforsker-spredning",
                                filters=[measure], keys=keys), numbers,
                     fmt.table(table, "Variansdekomponering af skolegennemsnit: mellem og inden for kommuner"),
                     how_to_read(
                         "Hver prik er en skole, den orange streg kommunens gennemsnit af skolerne. Ligger kommunernes "
                         "streger tæt og skolerne spredt, er forskellene mellem skoler større end mellem kommuner. "
                         "Skift mål i feltet over figuren. Tabellen viser andelen af variationen mellem skolernes gennemsnit, der "
                         "ligger mellem kommuner (envejs variansanalyse med tilfældige effekter, se metoden)."))

    def method(self) -> Block:
        a = self.gap_attrs
        return Block(
            para("<strong>Data.</strong> Udforskeren læser alle kommuners behandlede data (elevernes dimensionsscorer, "
                 "500-skala) med DuckDB og viser kun aggregerede tal. En gruppe vises kun med mindst "
                 f"{MIN_GROUP} elever med svar, og ikke hvis den kan regnes ud fra en vist total og de øvrige grupper "
                 f"(sekundær diskretionering over køn, klassetrin og kommune). Percentiler kræver mindst {QUANTILE_MIN_N} "
                 "elever, fordi en percentil i en lille gruppe er én elevs svar. Skolernes fravær og gennemsnit kommer fra "
                 "de samme diskretionerede tabeller som skolernes datapakker."),
            para("<strong>Flerniveaumodellen.</strong> For hver dimension og runde estimeres en model med tilfældige "
                 "niveauer for kommune og skole: score = konstant + pige + klassetrinsgruppe (0.–3., 4.–6., 7.–9. kl.) + "
                 "kommune-effekt + skole-effekt + elevrest. Variansen deles i kommune, skole og elev; ICC for kommunen er "
                 "kommunens andel, ICC for skolen er kommunens plus skolens andel (korrelationen mellem to elever på "
                 "samme skole). Estimationen er eksakt REML beregnet ud fra skolernes summer; variansernes intervaller "
                 "er profillikelihood-intervaller, de faste effekters Wald-intervaller. Runderne estimeres hver for sig."),
            para(f"<strong>Forbehold.</strong> Med {len(self.municipalities)} kommuner bygger variansen mellem kommuner "
                 f"på kun {len(self.municipalities)} tal og er meget usikker – se intervallet; en nedre grænse på 0 betyder, at data er forenelige med ingen forskel. "
                 "Modellen justerer kun for køn og klassetrin, ikke for elevernes baggrund, så skole- og kommuneandelen "
                 "er ikke et mål for skolernes kvalitet. Runderne behandles som uafhængige, selv om mange elever svarer i "
                 "flere runder."),
            para("<strong>Skolernes kønsforskelle</strong> (drenge − piger, som i skolernes datapakker) er empirisk "
                 "Bayes-estimater: skolens rå forskel trækkes mod kommunens og alle skolers, så meget som dens usikkerhed "
                 "og forskellene mellem skoler tilsiger; usikkerheden om hvor meget skolerne varierer er integreret ud, "
                 f"så intervallerne ikke bliver for smalle. Kun skoler med mindst {a.get('min_group', MIN_GROUP)} drenge "
                 "og piger med svar indgår. Den rå forskel er ikke justeret for klassetrin."),
            para("<strong>Fravær mellem kommuner.</strong> Skolernes gennemsnitlige fravær deles i variation mellem "
                 "kommuner og mellem skoler i samme kommune med en envejs variansanalyse med tilfældige effekter "
                 "(momentestimator for ubalancerede grupper; F-baseret 95 %-interval, som er tilnærmet ved ulige "
                 "gruppestørrelser). Variationen inden for kommuner rummer også tilfældig variation i små skolers "
                 "gennemsnit. Kommuner uden indberettet fravær indgår ikke. Sammenhængen mellem fravær og trivsel er "
                 "vist mellem skoler; den kan ikke overføres til enkelte elever (økologisk fejlslutning)."),
        )

    # --- export ------------------------------------------------------------------------------
    TABLE_INFO = {
        "fordelinger": "Fordelinger pr. kommune, runde, dimension, køn og klassetrinsgruppe (n, gennemsnit, SD, percentiler)",
        "varians": "Flerniveaumodel: varianskomponenter med 95 %-profillikelihood-intervaller",
        "icc": "Flerniveaumodel: intraklassekorrelationer pr. dimension og runde",
        "faste_effekter": "Flerniveaumodel: faste effekter (køn, klassetrin)",
        "skolers_koensforskel": "Skolernes kønsforskel i faglig trivsel (drenge − piger), rå og empirisk Bayes",
        "skoler": "Skolernes faglige trivsel og fravær (fra de diskretionerede tabeller)",
        "varians_skolegennemsnit": "Variansdekomponering af skolegennemsnit mellem og inden for kommuner",
    }

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """Every table the page shows, computed if needed (aggregates only)."""
        self.distributions_table()
        self.model_tables()
        self.school_table()
        self.spread_table()
        return {k: self.tables[k] for k in self.TABLE_INFO}

    def write_tables(self, folder: str | Path | None) -> Block:
        """Write the page's tables as CSV beside the page and list them; nothing is written without a folder."""
        tables = self.all_tables()
        for name, t in tables.items():
            bad = PUPIL_COLUMNS & set(t.columns)
            if bad:
                raise RuntimeError(f"Tabellen {name} har elevkolonner {sorted(bad)} og skrives ikke.")
        if not folder:
            return Block(para("Tabellerne bag figurerne skrives som CSV, når siden bygges med <code>datapakke build</code>.",
                              "dp-note"))
        folder = Path(folder)
        with store.staged_files(folder) as staging:
            for name, t in tables.items():
                out = t.copy()
                for c in out.columns:
                    if out[c].dtype.kind == "f":
                        out[c] = out[c].round(4)
                out.to_csv(staging / f"{name}.csv", index=False, encoding="utf-8")
        items = "".join(f'<li><a href="{html.escape(folder.name)}/{n}.csv">{n}.csv</a> – {html.escape(d)}</li>'
                        for n, d in self.TABLE_INFO.items())
        return Block(para("De aggregerede tabeller bag siden (CSV, UTF-8, punktum som decimaltegn). Ingen af dem "
                          "indeholder elevdata:"), f"<ul>{items}</ul>",
                     para("Elevdata ligger kun i de behandlede data (<code>data/processed</code>). Åbn "
                          "<code>notebooks/explorer.ipynb</code> i JupyterLab for at regne videre.", "dp-note"))
