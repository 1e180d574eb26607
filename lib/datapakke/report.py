"""What a school's datapakke shows: one method per report section, called from the notebook.

The notebook stays thin — a parameters cell, then one call per section and a few lines of
Danish markdown.  Everything here reads only the school's slice of the precomputed,
suppressed aggregates (``aggregate.py``); no pupil-level table is ever opened.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from . import config, fmt, plots, store
from .plots import COLOURS, DASHES, GENDER_LABELS, LEVEL_LABELS, SYMBOLS

PROGRAM = "program"


class Block:
    """A report cell's output: HTML snippets and figures in order, rendered as one HTML output."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def _repr_html_(self) -> str:
        out = []
        for p in self.parts:
            out.append(p.html() if isinstance(p, plots.FigureHTML) else str(p))
        return "\n".join(out)


def para(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<p{cls}>{text}</p>"


def how_to_read(text: str) -> str:
    return para(f"<strong>Sådan læses figuren:</strong> {text}", "dp-howto")


def warning(text: str) -> str:
    return f'<div class="dp-warning" role="note">⚠ {text}</div>'


@dataclass
class SchoolReport:
    """The school's view of the aggregates: its own rows, its municipality's and the programme's."""

    school_id: str
    school_name: str
    municipality_code: str
    municipality: str
    school_year: str
    rounds: list[str]
    goals: list[dict]
    folder: Path
    demo: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, school_id: str, processed_dir: str | Path | None = None, school_year: str | None = None,
             rounds: list[str] | None = None, goals: list[dict] | None = None, site_root: str = "../") -> "SchoolReport":
        processed = Path(processed_dir) if processed_dir else config.Paths.default().processed
        version = store.current(processed)
        agg = version / "aggregates"
        schools = pd.read_parquet(agg / "schools.parquet")
        row = schools[schools["institutionsnummer"] == str(school_id)]
        if row.empty:
            raise ValueError(f"Skolen {school_id} findes ikke i de behandlede data ({version}).")
        s = row.iloc[0]
        rounds_table = pd.read_parquet(agg / "rounds.parquet")
        plots.configure(site_root)
        report = cls(
            school_id=str(school_id), school_name=s["skolenavn"], municipality_code=s["kommunekode"],
            municipality=s["kommune"],
            school_year=school_year or rounds_table["skoleaar"].max(),
            rounds=list(rounds or rounds_table["runde"].tolist()), goals=list(goals or []),
            folder=agg, demo=(version / "DEMODATA.txt").is_file(),
        )
        report.tables["rounds"] = rounds_table
        return report

    # --- data access -------------------------------------------------------------------------
    def slice(self, name: str, municipality_schools: bool = False) -> pd.DataFrame:
        """The school's, its municipality's and the programme's rows of one aggregate table."""
        key = (name, municipality_schools)
        if key not in self.tables:
            path = self.folder / f"{name}.parquet"
            if not path.is_file():
                self.tables[key] = pd.DataFrame()
            else:
                codes = [("skole", self.school_id), ("kommune", self.municipality_code), ("program", PROGRAM)]
                filters = [[("niveau", "=", n), ("kode", "=", k)] for n, k in codes]
                if municipality_schools:
                    ids = self.municipality_school_ids()
                    filters = [[("niveau", "=", "skole"), ("kode", "in", ids)]]
                self.tables[key] = pq.read_table(path, filters=filters).to_pandas()
        return self.tables[key]

    def municipality_school_ids(self) -> list[str]:
        schools = pd.read_parquet(self.folder / "schools.parquet")
        return schools.loc[schools["kommunekode"] == self.municipality_code, "institutionsnummer"].tolist()

    def national(self) -> pd.DataFrame:
        path = self.folder / "national.parquet"
        codes = [("skole", self.school_id), ("kommune", self.municipality_code), ("land", "DK")]
        return pq.read_table(path, filters=[[("niveau", "=", n), ("kode", "=", k)] for n, k in codes]).to_pandas()

    @property
    def latest_round(self) -> str:
        return self.rounds[-1]

    # --- sections ----------------------------------------------------------------------------
    def banner(self) -> Block:
        """The synthetic-data marker every demo page must show (DOMAIN.md §5)."""
        if not self.demo:
            return Block()
        return Block(f'<div class="dp-demo-banner" role="alert"><strong>{config.DEMO_MARKER}</strong></div>')

    def heading(self) -> Block:
        """The line under the page title (the title itself is the front matter's, set by the build)."""
        return Block(para(f"<strong>{html.escape(self.school_name)}</strong> · {html.escape(self.municipality)} "
                          f"Kommune · institutionsnummer {self.school_id} · skoleåret {self.school_year}",
                          "dp-meta"))

    def forside(self) -> Block:
        """Data basis: rounds with dates, pupils per grade, response rate per round and grade."""
        rounds = self.tables["rounds"]
        rr = self.slice("response_rates")
        school = rr[rr["niveau"] == "skole"]
        total = school[school["klassetrin"] == "alle"].set_index("runde")
        round_rows = pd.DataFrame({
            "Runde": rounds["runde"],
            "Skoleår": rounds["skoleaar"],
            "Elever": [fmt.count(total["elever"].get(r)) for r in rounds["runde"]],
            "Besvarelser": [fmt.count(total["besvarelser"].get(r)) for r in rounds["runde"]],
            "Svarprocent": [fmt.pct(total["svarprocent"].get(r), 0) for r in rounds["runde"]],
        })
        grades = school[school["klassetrin"] != "alle"].copy()
        grades["k"] = grades["klassetrin"].astype(int)
        wide = grades.pivot_table(index="k", columns="runde", values="svarprocent", aggfunc="first", dropna=False)
        pupils = grades[grades["runde"] == self.latest_round].set_index("k")["elever"]
        grade_rows = pd.DataFrame({
            "Klassetrin": [f"{k}. kl." for k in wide.index],
            f"Elever ({self.latest_round})": [fmt.count(pupils.get(k)) for k in wide.index],
            **{f"Svarprocent {r}": [fmt.pct(wide.at[k, r], 0) if r in wide else fmt.SUPPRESSED for k in wide.index]
               for r in self.rounds},
        })
        low = total[total["svarprocent"] < config.LOW_RESPONSE_RATE_PCT]
        parts = [para(
            f"Datapakken bygger på kortlægningens elevspørgeskema i runderne {', '.join(self.rounds)}, "
            f"skolens fravær og de offentliggjorte nationale tal (Uddannelsesstatistik). "
            f"Tal på {config.MIN_SURVEY_N} eller færre besvarelser (spørgeskema) og {config.MIN_OTHER_N} "
            "eller færre elever (øvrige tal) vises ikke."
        )]
        for r, v in low["svarprocent"].items():
            parts.append(warning(
                f"Svarprocenten i {r} er {fmt.pct(v, 0)} — under grænsen på "
                f"{fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)}. Tolk runden med forsigtighed: de elever, "
                "der ikke svarede, kan trives anderledes end dem, der gjorde."))
        parts += [fmt.table(round_rows, "Runder, elever og svarprocent"),
                  fmt.table(grade_rows, "Elever og svarprocent pr. klassetrin")]
        return Block(*parts)

    def survey_overview(self) -> Block:
        """Every dimension at the latest round: school vs municipality vs programme, with the school's CI."""
        m = self.slice("survey_means")
        m = m[(m["runde"] == self.latest_round) & (m["gruppe_type"] == "alle")]
        dims = [d for d in config.DIMENSIONS if d in set(m["dimension"])]
        labels = [config.DIMENSIONS[d] for d in dims]
        fig = go.Figure()
        for niveau in ("program", "kommune", "skole"):
            sub = m[m["niveau"] == niveau].set_index("dimension").reindex(dims)
            err = None
            if niveau == "skole":
                err = {"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).tolist(),
                       "arrayminus": (sub["mean"] - sub["ci_low"]).tolist(), "color": COLOURS[niveau]}
            fig.add_trace(go.Scatter(
                x=sub["mean"].round(1).tolist(), y=labels, mode="markers", name=LEVEL_LABELS[niveau],
                marker={"color": COLOURS[niveau], "symbol": SYMBOLS[niveau], "size": 12 if niveau == "skole" else 10},
                error_x=err, hovertemplate="%{y}: %{x:.0f}<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        fig.add_vline(x=500, line={"color": "#bbb", "dash": "dot"})
        plots.layout(fig, f"Kortlægningen {self.latest_round}: skolen, kommunen og programmet", height=420)
        fig.update_xaxes(title="Score (programmets gennemsnit i T1 = 500, spredning 100)")
        fig.update_yaxes(autorange="reversed")
        missing = sub["mean"].isna().sum() if len(m) else len(dims)
        note = para("Nogle dimensioner mangler for skolen, fordi der er for få besvarelser.") if missing else None
        return Block(plots.show(fig, "survey-overview"), note, how_to_read(
            "Hver prik er en gennemsnitlig score. Skalaen er sat, så hele programmets elever i T1 har "
            "gennemsnit 500 og spredning 100. Den vandrette streg om skolens prik viser usikkerheden "
            "(95 %-konfidensinterval): ligger kommunens prik inden for stregen, er forskellen ikke sikker."))

    def survey_rounds(self) -> Block:
        """Development T1 → T2 → T3 per dimension: school and municipality."""
        m = self.slice("survey_means")
        m = m[m["gruppe_type"] == "alle"]
        rows = []
        for d, label in config.DIMENSIONS.items():
            s = m[(m["dimension"] == d)]
            if s.empty:
                continue
            get = lambda n, r: s[(s["niveau"] == n) & (s["runde"] == r)]["mean"]  # noqa: E731
            rows.append([label] + [fmt.num(get("skole", r).iloc[0] if len(get("skole", r)) else None)
                                   for r in self.rounds]
                        + [fmt.num(get("kommune", self.latest_round).iloc[0]
                                   if len(get("kommune", self.latest_round)) else None)])
        frame = pd.DataFrame(rows, columns=["Dimension", *[f"Skolen {r}" for r in self.rounds],
                                            f"Kommunen {self.latest_round}"])
        return Block(fmt.table(frame, "Skolens score pr. runde (500-skala)"))

    def gender_gap(self) -> Block:
        """Boys vs girls in faglig trivsel per round, with 95 % CIs, at the school."""
        m = self.slice("survey_means")
        m = m[(m["dimension"] == "faglig_trivsel") & (m["gruppe_type"] == "koen") & (m["niveau"] == "skole")]
        fig = go.Figure()
        for koen in ("dreng", "pige"):
            sub = m[m["gruppe"] == koen].set_index("runde").reindex(self.rounds)
            fig.add_trace(go.Scatter(
                x=self.rounds, y=sub["mean"].round(1).tolist(), name=GENDER_LABELS[koen], mode="lines+markers",
                line={"color": COLOURS[koen]}, marker={"symbol": SYMBOLS[koen], "size": 11},
                error_y={"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).tolist(),
                         "arrayminus": (sub["mean"] - sub["ci_low"]).tolist()},
                hovertemplate="%{x}: %{y:.0f}<extra>" + GENDER_LABELS[koen] + "</extra>",
            ))
        plots.layout(fig, "Faglig trivsel: drenge og piger pr. runde")
        fig.update_yaxes(title="Score (500-skala)")
        g = self.slice("gender_gaps")
        g = g[(g["niveau"] == "skole") & (g["dimension"] == "faglig_trivsel")].set_index("runde").reindex(self.rounds)
        rows = pd.DataFrame({
            "Runde": self.rounds,
            "Drenge": [fmt.num(v) for v in g["mean_dreng"]],
            "Piger": [fmt.num(v) for v in g["mean_pige"]],
            "Forskel (drenge − piger)": [fmt.num(v, sign=True) for v in g["diff"]],
            "95 %-interval": [f"{fmt.num(lo, sign=True)} til {fmt.num(hi, sign=True)}"
                              if pd.notna(lo) else fmt.SUPPRESSED for lo, hi in zip(g["ci_low"], g["ci_high"])],
        })
        empty = m["mean"].notna().sum() == 0
        parts = [para("Der er for få besvarelser fra drenge eller piger til at vise kønsforskellen.")] if empty else [
            plots.show(fig, "gender-gap")]
        return Block(*parts, fmt.table(rows, "Kønsforskel i faglig trivsel"), how_to_read(
            "Linjerne viser drenges og pigers gennemsnitlige faglige trivsel i hver runde; de lodrette "
            "streger er 95 %-konfidensintervaller. En negativ forskel betyder, at drengene ligger lavere."))

    def absence(self) -> Block:
        """Absence % by type: school vs municipality vs programme (and the country's published figure)."""
        a = self.slice("absence")
        if a.empty or a[(a["niveau"] == "skole")]["samlet_pct"].notna().sum() == 0:
            return Block(para(f"{self.municipality} Kommune har ikke indberettet fravær for skolen. "
                              "Manglende fravær vises ikke som 0."))
        a = a[(a["gruppe_type"] == "alle") & (a["skoleaar"] == self.school_year)]
        fig = go.Figure()
        types = list(config.ABSENCE_TYPES)
        for niveau in ("skole", "kommune", "program"):
            sub = a[a["niveau"] == niveau]
            if sub.empty:
                continue
            r = sub.iloc[0]
            fig.add_trace(go.Bar(
                x=[config.ABSENCE_TYPES[t] for t in types], y=[round(r[f"{t}_pct"], 2) for t in types],
                name=LEVEL_LABELS[niveau], marker={"color": COLOURS[niveau],
                                                   "pattern": {"shape": {"skole": "", "kommune": "/", "program": "."}[niveau]}},
                hovertemplate="%{x}: %{y:.1f} %<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        plots.layout(fig, f"Fravær efter type, skoleåret {self.school_year}", barmode="group")
        fig.update_yaxes(title="Fravær (% af skoledage)", ticksuffix=" %")
        nat = self.national()
        land = nat[(nat["niveau"] == "land") & (nat["indikator"] == "fravaer_pct") & (nat["skoleaar"] == self.school_year)]
        school = a[a["niveau"] == "skole"].iloc[0]
        text = (f"Skolens samlede fravær var {fmt.pct(school['samlet_pct'])} i skoleåret {self.school_year}"
                + (f" (landet: {fmt.pct(land['vaerdi'].iloc[0])})." if len(land) else "."))
        return Block(plots.show(fig, "absence-type"), para(text), how_to_read(
            "Søjlerne viser den gennemsnitlige andel af skoledagene, eleverne var fraværende, fordelt på "
            "sygefravær, lovligt fravær (med tilladelse) og ulovligt fravær."))
