"""What a school's datapakke shows: one method per report section, called from the notebook.

The notebook stays thin — a parameters cell, then one call per section and a few lines of
Danish markdown.  Everything here reads only the school's slice of the precomputed,
suppressed aggregates (``aggregate.py``); no pupil-level table is ever opened.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from . import config, fmt, gaps, plots, store
from .datapackage import download_note, school_info
from .params import slug
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


def _text(frame: pd.DataFrame, col: str, key) -> str:
    """The published band text of one count (``<col>_tekst``), '' where the exact figure is shown."""
    t = frame.get(f"{col}_tekst")
    return "" if t is None or key not in t.index else str(t.get(key) or "")


def _texts(frame: pd.DataFrame, col: str) -> list[str]:
    t = frame.get(f"{col}_tekst")
    return [""] * len(frame) if t is None else t.fillna("").astype(str).tolist()


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
        agg = store.published(version)
        schools = pd.read_parquet(agg / "schools.parquet")
        row = schools[schools["institutionsnummer"] == str(school_id)]
        if row.empty:
            raise ValueError(f"Skolen {school_id} findes ikke i de behandlede data ({version}).")
        s = row.iloc[0]
        rounds_table = pd.read_parquet(agg / "rounds.parquet")
        plots.configure(site_root)
        check_goals(goals or [], school_id)
        report = cls(
            school_id=str(school_id), school_name=s["skolenavn"], municipality_code=s["kommunekode"],
            municipality=s["kommune"],
            school_year=school_year or rounds_table["skoleaar"].max(),
            rounds=list(rounds or rounds_table["runde"].tolist()), goals=list(goals or []),
            folder=agg, demo=store.is_demo(version),
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

    def national_rows(self) -> pd.DataFrame:
        path = self.folder / "national.parquet"
        codes = [("skole", self.school_id), ("kommune", self.municipality_code), ("land", "DK")]
        return pq.read_table(path, filters=[[("niveau", "=", n), ("kode", "=", k)] for n, k in codes]).to_pandas()

    @property
    def latest_round(self) -> str:
        return self.rounds[-1]

    # --- sections ----------------------------------------------------------------------------
    def banner(self) -> Block:
        """The synthetic-data marker every demo page must show (DOMAIN.md §5)."""
        return Block(fmt.demo_banner(self.demo))

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
        dates = self.slice("round_dates")
        dates = dates[dates["niveau"] == "skole"].set_index("runde") if len(dates) else pd.DataFrame(columns=["fra", "til"])
        round_rows = pd.DataFrame({
            "Runde": rounds["runde"],
            "Skoleår": rounds["skoleaar"],
            "Besvaret": [_dates(dates["fra"].get(r), dates["til"].get(r)) for r in rounds["runde"]],
            "Elever": [fmt.count(total["elever"].get(r)) for r in rounds["runde"]],
            "Besvarelser": [fmt.banded(total["besvarelser"].get(r), _text(total, "besvarelser", r), fmt.count)
                            for r in rounds["runde"]],
            "Svarprocent": [fmt.banded(total["svarprocent"].get(r), _text(total, "svarprocent", r), lambda v: fmt.pct(v, 0))
                            for r in rounds["runde"]],
        })
        grades = school[school["klassetrin"] != "alle"].copy()
        grades["k"] = grades["klassetrin"].astype(int)
        grades["vist"] = [fmt.banded(v, t, lambda x: fmt.pct(x, 0)) for v, t in zip(grades["svarprocent"], _texts(grades, "svarprocent"))]
        wide = grades.pivot_table(index="k", columns="runde", values="vist", aggfunc="first", dropna=False)
        pupils = grades[grades["runde"] == self.latest_round].set_index("k")["elever"]
        grade_rows = pd.DataFrame({
            "Klassetrin": [f"{k}. kl." for k in wide.index],
            f"Elever ({self.latest_round})": [fmt.count(pupils.get(k)) for k in wide.index],
            **{f"Svarprocent {r}": [wide.at[k, r] if r in wide and isinstance(wide.at[k, r], str) else fmt.SUPPRESSED
                                       for k in wide.index]
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
        for niveau in ("skole", "kommune", "program"):  # the school first, so the others stay visible on top
            sub = m[m["niveau"] == niveau].set_index("dimension").reindex(dims)
            err = None
            if niveau == "skole":
                err = {"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).tolist(),
                       "arrayminus": (sub["mean"] - sub["ci_low"]).tolist(), "color": COLOURS[niveau]}
            fig.add_trace(go.Scatter(
                x=sub["mean"].round(1).tolist(), y=labels, mode="markers", name=LEVEL_LABELS[niveau],
                marker={"color": COLOURS[niveau], "symbol": SYMBOLS[niveau], "size": 14 if niveau == "skole" else 9},
                error_x=err, hovertemplate="%{y}: %{x:.0f}<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        fig.add_vline(x=500, line={"color": "#bbb", "dash": "dot"})
        plots.layout(fig, f"Kortlægningen {self.latest_round}: skolen, kommunen og programmet", height=420)
        fig.update_xaxes(title="Score (programmets gennemsnit i T1 = 500, spredning 100)")
        fig.update_yaxes(autorange="reversed")
        school = m[m["niveau"] == "skole"].set_index("dimension").reindex(dims)
        missing = school["mean"].isna().sum() if len(m) else len(dims)
        note = para("Nogle dimensioner mangler for skolen, fordi der er for få besvarelser.") if missing else None
        return Block(plots.show(fig, "survey-overview"), note, how_to_read(
            "Hver prik er en gennemsnitlig score. Skalaen er sat, så hele programmets elever i T1 har "
            "gennemsnit 500 og spredning 100. Den vandrette streg om skolens prik viser usikkerheden "
            "(95 %-konfidensinterval): ligger kommunens prik inden for stregen, er forskellen ikke sikker."))

    def survey_rounds(self) -> Block:
        """Development T1 → T2 → T3 per dimension at the school, with the municipality's latest."""
        m = self.slice("survey_means")
        m = m[m["gruppe_type"] == "alle"].set_index(["niveau", "runde", "dimension"])["mean"]
        get = lambda n, r, d: m.get((n, r, d))  # noqa: E731
        rows = [[label, *[fmt.num(get("skole", r, d)) for r in self.rounds], fmt.num(get("kommune", self.latest_round, d)),
                 fmt.num(get("program", self.latest_round, d))]
                for d, label in config.DIMENSIONS.items()]
        frame = pd.DataFrame(rows, columns=["Dimension", *[f"Skolen {r}" for r in self.rounds],
                                            f"Kommunen {self.latest_round}", f"Programmet {self.latest_round}"])
        return Block(fmt.table(frame, "Skolens score pr. runde (500-skala)"))

    def survey_change(self) -> Block:
        """Change since the previous round per dimension, with 95 % CI, significance after Holm."""
        c = self.slice("survey_change")
        c = c[(c["niveau"] == "skole") & (c["gruppe_type"] == "alle") & (c["til"] == self.latest_round)]
        if c.empty or c["diff"].notna().sum() == 0:
            return Block(para("Ændringen siden forrige runde kan ikke vises: der er for få besvarelser i en af runderne."))
        c = c.set_index("dimension").reindex([d for d in config.DIMENSIONS if d in set(c["dimension"])])
        labels = [config.DIMENSIONS[d] for d in c.index]
        sig = (c["p_adj"] < 0.05).tolist()
        fig = go.Figure(go.Scatter(
            x=c["diff"].round(1).tolist(), y=labels, mode="markers", name="Ændring",
            marker={"size": 11, "color": [COLOURS["skole"] if s_ else "#9e9e9e" for s_ in sig],
                    "symbol": ["circle" if s_ else "circle-open" for s_ in sig]},
            error_x={"type": "data", "symmetric": False, "array": (c["ci_high"] - c["diff"]).tolist(),
                     "arrayminus": (c["diff"] - c["ci_low"]).tolist(), "color": "#555"},
            hovertemplate="%{y}: %{x:+.0f} point<extra></extra>", showlegend=False))
        fig.add_vline(x=0, line={"color": "#888"})
        fra = c["fra"].dropna().iloc[0] if c["fra"].notna().any() else ""
        plots.layout(fig, f"Ændring fra {fra} til {self.latest_round} (point på 500-skalaen)", height=380)
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title="Ændring i point (95 %-konfidensinterval)")
        rows = pd.DataFrame({
            "Dimension": labels,
            "Ændring": [fmt.num(v, sign=True) for v in c["diff"]],
            "95 %-interval": [_interval(lo, hi) for lo, hi in zip(c["ci_low"], c["ci_high"])],
            "p (Holm)": [fmt.num(v, 3) for v in c["p_adj"]],
            "Sikker ændring?": ["ja" if v else "nej" for v in sig],
        })
        return Block(plots.show(fig, "survey-change"), fmt.table(rows, f"Ændring siden {fra}"), how_to_read(
            "Prikken er ændringen i skolens gennemsnit siden forrige runde; stregen er 95 %-konfidensintervallet. "
            "Udfyldte prikker er ændringer, der holder efter korrektion for, at syv dimensioner testes på én gang "
            "(Holm). Krydser stregen nul, kan ændringen være tilfældig – det gælder de fleste ændringer på én skole."))

    def survey_by_grade(self) -> Block:
        """Each dimension by grade band at the latest round: school next to the municipality."""
        m = self.slice("survey_means")
        m = m[(m["gruppe_type"] == "klassetrin") & (m["runde"] == self.latest_round)]
        bands = [b for b in gaps.GRADE_BANDS if b in set(m.loc[m["niveau"] == "skole", "gruppe"])]
        if not bands:
            return Block(para("Skolen har ingen klassetrinsgrupper med nok besvarelser til at blive vist."))
        idx = m.set_index(["niveau", "gruppe", "dimension"])["mean"]
        rows = [[label, *[f"{fmt.num(idx.get(('skole', b, d)))} ({fmt.num(idx.get(('kommune', b, d)))})" for b in bands]]
                for d, label in config.DIMENSIONS.items()]
        frame = pd.DataFrame(rows, columns=["Dimension", *bands])
        return Block(fmt.table(frame, f"Score pr. klassetrinsgruppe i {self.latest_round}: skolen (kommunen)"),
                     para("0.–3. klasse svarer på et kortere skema; deres scorer bygger på færre spørgsmål.", "dp-note"))

    def goals_progress(self) -> Block:
        """Each goal from the params file: reached or not, with the uncertainty."""
        if not self.goals:
            return Block(para("Skolen har ikke skrevet mål i sin params-fil. Mål skrives i "
                              f"<code>params/{self.school_id}.yaml</code> under <code>goals</code>."))
        m = self.slice("survey_means")
        m = m[m["niveau"] == "skole"]
        rows, parts = [], []
        for i, g in enumerate(self.goals):
            dim, grp, runde, target = g.get("dimension"), g.get("gruppe", "alle"), g.get("runde"), float(g.get("maal"))
            gtype = "alle" if grp == "alle" else ("koen" if grp in ("dreng", "pige") else "klassetrin")
            sel = m[(m["dimension"] == dim) & (m["gruppe"] == grp) & (m["gruppe_type"] == gtype)]
            now = sel[sel["runde"] == runde]
            mean, lo, hi = (now["mean"].iloc[0], now["ci_low"].iloc[0], now["ci_high"].iloc[0]) if len(now) else (np.nan,) * 3
            verdict = goal_verdict(mean, lo, hi, target)
            who = {"alle": "alle elever", "dreng": "drengene", "pige": "pigerne"}.get(grp, grp)
            label = g.get("tekst") or f"{config.DIMENSIONS.get(dim, dim)} for {who}: {fmt.num(target)} ved {runde}"
            rows.append([label, fmt.num(target), fmt.num(mean), _interval(lo, hi, sign=False), verdict])
            series = sel.set_index("runde").reindex(self.rounds)
            fig = go.Figure(go.Scatter(
                x=self.rounds, y=series["mean"].round(1).tolist(), mode="lines+markers", name=label,
                line={"color": COLOURS.get(grp, COLOURS["skole"])},
                error_y={"type": "data", "symmetric": False, "array": (series["ci_high"] - series["mean"]).tolist(),
                         "arrayminus": (series["mean"] - series["ci_low"]).tolist()},
                hovertemplate="%{x}: %{y:.0f}<extra></extra>"))
            fig.add_hline(y=target, line={"color": "#8a1c1c", "dash": "dash"},
                          annotation_text=f"Mål {fmt.num(target)} ({runde})", annotation_position="top left")
            plots.layout(fig, label, height=320, showlegend=False)
            fig.update_yaxes(title="Score (500-skala)")
            parts.append(plots.show(fig, f"goal-{i}"))
        frame = pd.DataFrame(rows, columns=["Mål", "Målværdi", "Resultat", "95 %-interval", "Vurdering"])
        return Block(fmt.table(frame, "Skolens mål"), *parts, how_to_read(
            "Den stiplede linje er målet. «Nået» kræver, at gennemsnittet ligger over målet; «sikkert» betyder, at "
            "hele 95 %-intervallet ligger på samme side af målet. Ligger målet inde i intervallet, kan resultatet "
            "lige så godt være tilfældigt."))

    def national(self) -> Block:
        """The national wellbeing survey (trivselsmålingen, 1–5): school vs municipality vs country."""
        nat = self.national_rows()
        if nat.empty:
            return Block(para("Der er ingen offentliggjorte tal fra trivselsmålingen i data."))
        year = nat["skoleaar"].max() if self.school_year not in set(nat["skoleaar"]) else self.school_year
        nat = nat[nat["skoleaar"] == year]
        inds = [i for i in config.TRIVSEL_INDICATORS if i in set(nat["indikator"])]
        levels = [("skole", self.school_id), ("kommune", self.municipality_code), ("land", "DK")]
        fig = go.Figure()
        for niveau, kode in levels:
            sub = nat[(nat["niveau"] == niveau) & (nat["kode"] == kode)].set_index("indikator")["vaerdi"].reindex(inds)
            fig.add_trace(go.Scatter(x=sub.round(2).tolist(), y=[config.TRIVSEL_INDICATORS[i] for i in inds], mode="markers",
                                     name=LEVEL_LABELS[niveau], marker={"color": COLOURS[niveau], "symbol": SYMBOLS[niveau],
                                                                        "size": 14 if niveau == "skole" else 9},
                                     hovertemplate="%{y}: %{x:.2f}<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
        plots.layout(fig, f"Trivselsmålingen {year}: gennemsnit på skalaen 1–5", height=340)
        values = nat[nat["indikator"].isin(inds)]["vaerdi"].dropna()
        lo_x, hi_x = (max(1.0, values.min() - 0.3), min(5.0, values.max() + 0.3)) if len(values) else (1, 5)
        fig.update_xaxes(title="Gennemsnit (1–5; 5 er bedst)", range=[lo_x, hi_x])
        fig.update_yaxes(autorange="reversed")
        # the four answer bands, for each level, per indicator
        band_fig = go.Figure()
        band_colours = ["#b2182b", "#ef8a62", "#67a9cf", "#2166ac"]
        ylabels = []
        for ind in inds:
            for niveau, kode in levels:
                ylabels.append(f"{config.TRIVSEL_INDICATORS[ind]} · {LEVEL_LABELS[niveau]}")
        for band, colour in zip(config.TRIVSEL_BANDS, band_colours):
            xs = []
            for ind in inds:
                for niveau, kode in levels:
                    v = nat[(nat["niveau"] == niveau) & (nat["kode"] == kode) & (nat["indikator"] == f"{ind}:{band}")]["vaerdi"]
                    xs.append(round(float(v.iloc[0]), 1) if len(v) and pd.notna(v.iloc[0]) else None)
            band_fig.add_trace(go.Bar(x=xs, y=ylabels, orientation="h", name=band.replace("-", "–"),
                                      marker={"color": colour}, hovertemplate="%{y}: %{x:.0f} %<extra>" + band + "</extra>"))
        plots.layout(band_fig, "Svarfordeling i fire bånd (andel af eleverne)", height=110 + 26 * len(ylabels),
                     barmode="stack", legend={"orientation": "h", "y": -0.12, "x": 0, "traceorder": "normal"})
        band_fig.update_xaxes(title="Andel af eleverne (%)", range=[0, 100], ticksuffix=" %")
        band_fig.update_yaxes(autorange="reversed")
        return Block(plots.show(fig, "national-means"), plots.show(band_fig, "national-bands"), how_to_read(
            "Tallene er de offentliggjorte resultater fra den nationale trivselsmåling (4.–9. klasse). Båndene viser, "
            "hvor mange elever der i gennemsnit svarer 1–2, 2,1–3, 3,1–4 og 4,1–5; mørkeblå er de mest positive."))

    def gender_gap(self) -> Block:
        """Boys vs girls in faglig trivsel per round, with 95 % CIs, at the school."""
        m = self.slice("survey_means")
        m = m[(m["dimension"] == "faglig_trivsel") & (m["gruppe_type"] == "koen") & (m["niveau"] == "skole")]
        g = self.slice("gender_gaps")
        gs = g[(g["niveau"] == "skole") & (g["dimension"] == "faglig_trivsel")].set_index("runde").reindex(self.rounds)
        gk = g[(g["niveau"] == "kommune") & (g["dimension"] == "faglig_trivsel")].set_index("runde").reindex(self.rounds)
        rows = pd.DataFrame({
            "Runde": self.rounds,
            "Drenge": [fmt.num(v) for v in gs["mean_dreng"]],
            "Piger": [fmt.num(v) for v in gs["mean_pige"]],
            "Forskel (drenge − piger)": [fmt.num(v, sign=True) for v in gs["diff"]],
            "95 %-interval": [_interval(lo, hi) for lo, hi in zip(gs["ci_low"], gs["ci_high"])],
            "Hedges' g": [fmt.num(v, 2, sign=True) for v in gs["hedges_g"]],
            "p (Holm)": [fmt.num(v, 3) for v in gs["p_adj"]],
            "Kommunens forskel": [fmt.num(v, sign=True) for v in gk["diff"]],
        })
        table = fmt.table(rows, "Kønsforskel i faglig trivsel")
        if m["mean"].notna().sum() == 0:
            return Block(para("Der er for få besvarelser fra drenge eller piger til at vise kønsforskellen "
                              f"(mindst {config.MIN_SURVEY_N + 1} af hvert køn pr. runde)."), table)
        fig = go.Figure()
        for koen in ("dreng", "pige"):
            sub = m[m["gruppe"] == koen].set_index("runde").reindex(self.rounds)
            fig.add_trace(go.Scatter(
                x=self.rounds, y=sub["mean"].round(1).tolist(), name=GENDER_LABELS[koen], mode="lines+markers",
                line={"color": COLOURS[koen], "dash": "solid" if koen == "dreng" else "dash"},
                marker={"symbol": SYMBOLS[koen], "size": 11},
                error_y={"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).tolist(),
                         "arrayminus": (sub["mean"] - sub["ci_low"]).tolist()},
                hovertemplate="%{x}: %{y:.0f}<extra>" + GENDER_LABELS[koen] + "</extra>",
            ))
        plots.layout(fig, "Faglig trivsel: drenge og piger pr. runde")
        fig.update_yaxes(title="Score (500-skala)")
        return Block(plots.show(fig, "gender-gap"), table, how_to_read(
            "Linjerne viser drenges og pigers gennemsnitlige faglige trivsel i hver runde; de lodrette streger er "
            "95 %-konfidensintervaller. En negativ forskel betyder, at drengene ligger lavere. Hedges' g er "
            "forskellen målt i standardafvigelser (0,2 regnes for en lille, 0,5 for en mellemstor forskel). "
            "p-værdien er korrigeret for, at syv dimensioner testes (Holm)."))

    def gender_gap_details(self) -> Block:
        """Gap by grade band, its change between rounds, and the funnel plot of the municipality's schools."""
        parts = []
        gb = self.slice("gender_gaps_grade")
        gb = gb[(gb["niveau"] == "skole") & (gb["dimension"] == "faglig_trivsel") & (gb["runde"] == self.latest_round)]
        gb = gb.set_index("klassetrin_band").reindex([b for b in gaps.GRADE_BANDS if b in set(gb["klassetrin_band"])])
        if len(gb):
            parts.append(fmt.table(pd.DataFrame({
                "Klassetrin": gb.index,
                "Drenge": [fmt.num(v) for v in gb["mean_dreng"]], "Piger": [fmt.num(v) for v in gb["mean_pige"]],
                "Forskel": [fmt.num(v, sign=True) for v in gb["diff"]],
                "95 %-interval": [_interval(lo, hi) for lo, hi in zip(gb["ci_low"], gb["ci_high"])],
            }), f"Kønsforskel i faglig trivsel pr. klassetrinsgruppe, {self.latest_round}"))
        ch = self.slice("gender_gap_change")
        ch = ch[(ch["niveau"] == "skole") & (ch["dimension"] == "faglig_trivsel")]
        if len(ch):
            parts.append(fmt.table(pd.DataFrame({
                "Fra → til": [f"{a} → {b}" for a, b in zip(ch["from_round"], ch["to_round"])],
                "Forskel før": [fmt.num(v, sign=True) for v in ch["diff_from"]],
                "Forskel efter": [fmt.num(v, sign=True) for v in ch["diff_to"]],
                "Ændring": [fmt.num(v, sign=True) for v in ch["change"]],
                "95 %-interval": [_interval(lo, hi) for lo, hi in zip(ch["ci_low"], ch["ci_high"])],
                "p": [fmt.num(v, 3) for v in ch["p"]],
            }), "Kønsforskellens udvikling mellem runderne"))
        parts.append(self._funnel())
        return Block(*parts)

    def _funnel(self):
        g = self.slice("gender_gaps", municipality_schools=True)
        g = g[(g["dimension"] == "faglig_trivsel") & (g["runde"] == self.latest_round) & g["diff"].notna()]
        if len(g) < 3:
            return para("Tragtplottet over kommunens skoler kræver mindst tre skoler med nok drenge og piger; "
                        f"{self.municipality} Kommune har {len(g)} i {self.latest_round}.")
        pts = gaps.funnel_points(g)
        centre, sd = float(pts["overall_gap"].iloc[0]), float(pts["sd_ref"].iloc[0])
        lim = gaps.funnel_limits(centre, sd, np.geomspace(max(4, pts["n_eff"].min() * 0.8), pts["n_eff"].max() * 1.2, 80))
        fig = go.Figure()
        for col, dash, name in (("95", "dash", "95 %-grænse"), ("998", "dot", "99,8 %-grænse")):
            for side in ("lower", "upper"):
                fig.add_trace(go.Scatter(x=lim["n_eff"].round(1).tolist(), y=lim[f"{side}_{col}"].round(1).tolist(),
                                         mode="lines", line={"color": "#777", "dash": dash}, name=name,
                                         showlegend=side == "lower", hoverinfo="skip"))
        fig.add_hline(y=centre, line={"color": COLOURS["kommune"]}, annotation_text="Kommunens skoler samlet",
                      annotation_position="bottom left")
        names = self.school_names()
        others = pts[pts["kode"] != self.school_id]
        me = pts[pts["kode"] == self.school_id]
        fig.add_trace(go.Scatter(x=others["n_eff"].round(1).tolist(), y=others["y"].round(1).tolist(), mode="markers",
                                 name="Andre skoler i kommunen", marker={"color": "#9e9e9e", "size": 9},
                                 text=[names.get(k, k) for k in others["kode"]],
                                 hovertemplate="%{text}: %{y:+.0f}<extra></extra>"))
        if len(me):
            fig.add_trace(go.Scatter(x=me["n_eff"].round(1).tolist(), y=me["y"].round(1).tolist(), mode="markers+text",
                                     name=self.school_name, text=[self.school_name], textposition="top right",
                                     marker={"color": COLOURS["skole"], "size": 15, "symbol": "star"},
                                     hovertemplate="%{text}: %{y:+.0f}<extra></extra>"))
        plots.layout(fig, f"Kønsforskel i faglig trivsel på kommunens skoler, {self.latest_round}", height=420)
        fig.update_xaxes(title="Antal elever (effektiv størrelse)", rangemode="tozero")
        fig.update_yaxes(title="Drenge − piger (point)")
        return Block(plots.show(fig, "funnel"), how_to_read(
            "Hver prik er en skole i kommunen. Jo flere elever, jo længere mod højre – og jo smallere «tragt». "
            "Skoler uden for de stiplede linjer har en kønsforskel, der afviger mere fra kommunens skoler samlet, end "
            "tilfældigheder kan forklare. Skoler med for få drenge eller piger er ikke med."))._repr_html_()

    def other_gaps(self) -> Block:
        """Every dimension's gender gap at the latest round in one compact table."""
        g = self.slice("gender_gaps")
        g = g[(g["niveau"] == "skole") & (g["runde"] == self.latest_round)].set_index("dimension")
        g = g.reindex([d for d in config.DIMENSIONS if d in g.index])
        return Block(fmt.table(pd.DataFrame({
            "Dimension": [config.DIMENSIONS[d] for d in g.index],
            "Drenge": [fmt.num(v) for v in g["mean_dreng"]], "Piger": [fmt.num(v) for v in g["mean_pige"]],
            "Forskel": [fmt.num(v, sign=True) for v in g["diff"]],
            "95 %-interval": [_interval(lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"])],
            "Hedges' g": [fmt.num(v, 2, sign=True) for v in g["hedges_g"]],
            "p (Holm)": [fmt.num(v, 3) for v in g["p_adj"]],
        }), f"Kønsforskelle i alle dimensioner, {self.latest_round} (drenge − piger)"))

    def school_names(self) -> dict[str, str]:
        schools = pd.read_parquet(self.folder / "schools.parquet")
        return dict(zip(schools["institutionsnummer"], schools["skolenavn"]))

    def absence(self) -> Block:
        """Absence % by type: school vs municipality vs programme, and the country's published figure."""
        a = self.slice("absence")
        if a.empty or a[(a["niveau"] == "skole")]["samlet_pct"].notna().sum() == 0:
            return Block(para(f"{html.escape(self.municipality)} Kommune har ikke indberettet fravær for skolen. "
                              "Manglende fravær vises ikke som 0, og fraværsafsnittet er derfor tomt."))
        year = self.school_year if self.school_year in set(a["skoleaar"]) else a["skoleaar"].max()
        a = a[(a["gruppe_type"] == "alle") & (a["skoleaar"] == year)]
        fig = go.Figure()
        types = list(config.ABSENCE_TYPES)
        nat = self.national_rows()
        land = nat[(nat["niveau"] == "land") & (nat["indikator"] == "fravaer_pct") & (nat["skoleaar"] == year)]
        for niveau in ("skole", "kommune", "program"):
            sub = a[a["niveau"] == niveau]
            if sub.empty:
                continue
            r = sub.iloc[0]
            fig.add_trace(go.Bar(
                x=[config.ABSENCE_TYPES[t] for t in types] + ["Samlet"],
                y=[_round(r[f"{t}_pct"], 2) for t in types] + [_round(r["samlet_pct"], 2)],
                name=LEVEL_LABELS[niveau], marker={"color": COLOURS[niveau],
                                                   "pattern": {"shape": {"skole": "", "kommune": "/", "program": "."}[niveau]}},
                hovertemplate="%{x}: %{y:.1f} %<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        if len(land):
            fig.add_trace(go.Scatter(x=["Samlet"], y=[float(land["vaerdi"].iloc[0])], mode="markers", name="Landet",
                                     marker={"color": COLOURS["land"], "symbol": "x", "size": 14},
                                     hovertemplate="Landet: %{y:.1f} %<extra></extra>"))
        plots.layout(fig, f"Fravær efter type, skoleåret {year}", barmode="group")
        fig.update_yaxes(title="Fravær (% af skoledage)", ticksuffix=" %")
        school = a[a["niveau"] == "skole"].iloc[0]
        text = (f"Skolens samlede fravær var {fmt.pct(school['samlet_pct'])} i skoleåret {year}"
                + (f" (landet: {fmt.pct(land['vaerdi'].iloc[0])})." if len(land) else "."))
        return Block(plots.show(fig, "absence-type"), para(text), how_to_read(
            "Søjlerne viser den gennemsnitlige andel af skoledagene, eleverne var fraværende, fordelt på "
            "sygefravær, lovligt fravær (med tilladelse) og ulovligt fravær. Krydset er landets offentliggjorte tal."))

    def absence_details(self) -> Block:
        """By grade, by gender, by month; the two 10 % rules; absence against faglig trivsel."""
        a = self.slice("absence")
        if a.empty or a[(a["niveau"] == "skole")]["samlet_pct"].notna().sum() == 0:
            return Block()
        year = self.school_year if self.school_year in set(a["skoleaar"]) else a["skoleaar"].max()
        a = a[a["skoleaar"] == year]
        s = a[a["niveau"] == "skole"]
        k = a[a["niveau"] == "kommune"].set_index(["gruppe_type", "gruppe"])
        parts = []
        rows = []
        for gtype, label in (("koen", None), ("klassetrin", None)):
            sub = s[s["gruppe_type"] == gtype].copy()
            if gtype == "klassetrin":
                sub = sub.assign(o=sub["gruppe"].astype(int)).sort_values("o")
            for r in sub.itertuples():
                name = GENDER_LABELS.get(r.gruppe, f"{r.gruppe}. kl.")
                kk = k["samlet_pct"].get((gtype, r.gruppe))
                rows.append([name, fmt.count(r.n), fmt.pct(r.samlet_pct), fmt.pct(r.sygdom_pct), fmt.pct(r.lovligt_pct),
                             fmt.pct(r.ulovligt_pct), fmt.banded(r.andel_over_10_pct, getattr(r, "andel_over_10_pct_tekst", "")),
                             fmt.pct(kk)])
        parts.append(fmt.table(pd.DataFrame(rows, columns=["Gruppe", "Elever", "Samlet", "Syg", "Lovligt", "Ulovligt",
                                                           "Andel over 10 %", "Kommunen samlet"]),
                               f"Fravær pr. køn og klassetrin, {year}"))
        month = self.slice("absence_month")
        month = month[month["skoleaar"] == year]
        if len(month):
            fig = go.Figure()
            for niveau in ("skole", "kommune"):
                sub = month[month["niveau"] == niveau].sort_values("periode")
                fig.add_trace(go.Scatter(x=[_month(p_) for p_ in sub["periode"]], y=sub["samlet_pct"].round(2).tolist(),
                                         mode="lines+markers", name=LEVEL_LABELS[niveau],
                                         line={"color": COLOURS[niveau], "dash": DASHES[niveau]},
                                         marker={"symbol": SYMBOLS[niveau]},
                                         hovertemplate="%{x}: %{y:.1f} %<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
            plots.layout(fig, f"Samlet fravær pr. måned, {year}", height=340)
            fig.update_yaxes(title="Fravær (%)", ticksuffix=" %", rangemode="tozero")
            parts += [plots.show(fig, "absence-month"), how_to_read(
                "Fraværet følger årstiden: sygefraværet topper typisk om vinteren. Se efter måneder, hvor skolen "
                "bevæger sig væk fra kommunen.")]
        trig = self.slice("absence_triggers")
        trig = trig[trig["skoleaar"] == year].set_index("niveau")
        all_ = a[a["gruppe_type"] == "alle"].set_index("niveau")
        nat = self.national_rows()
        land = nat[(nat["niveau"] == "land") & (nat["indikator"] == "andel_over_10pct_fravaer") & (nat["skoleaar"] == year)]

        def cell(frame, niveau, col, f):
            return fmt.banded(frame[col].get(niveau), _text(frame, col, niveau), f) if niveau in frame.index else fmt.SUPPRESSED

        parts.append(fmt.table(pd.DataFrame({
            "": ["Andel elever med over 10 % samlet fravær (statistik)",
                 "Elever med mindst 10 % ulovligt fravær i et kvartal (forældre orienteres)",
                 "Elever med mindst 15 % ulovligt fravær i et kvartal (kommunen underrettes)"],
            "Skolen": [cell(all_, "skole", "andel_over_10_pct", fmt.pct), cell(trig, "skole", "ulovligt_10", fmt.count),
                       cell(trig, "skole", "ulovligt_15", fmt.count)],
            "Kommunen": [cell(all_, "kommune", "andel_over_10_pct", fmt.pct), cell(trig, "kommune", "ulovligt_10", fmt.count),
                         cell(trig, "kommune", "ulovligt_15", fmt.count)],
            "Landet": [fmt.pct(land["vaerdi"].iloc[0]) if len(land) else fmt.SUPPRESSED, "", ""],
        }), f"De to 10 %-regler, {year}"))
        parts.append(para("To forskellige regler: statistikken over elever med mere end 10 % fravær i alt (alle "
                          "fraværstyper, hele året), og lovens regel om 10 % <em>ulovligt</em> fravær inden for et "
                          "kvartal. Antal på 1–3 elever vises ikke.", "dp-note"))
        parts.append(self._absence_wellbeing())
        return Block(*parts)

    def _absence_wellbeing(self) -> str:
        w = self.slice("absence_wellbeing")
        rounds = self.tables["rounds"].set_index("runde")["skoleaar"]
        runde = next((r for r in reversed(self.rounds) if rounds.get(r) in set(w.get("runde", pd.Series()).map(rounds))), None)
        w = w[w["runde"] == runde] if runde else w.iloc[0:0]
        if w.empty or w[w["niveau"] == "skole"]["mean"].notna().sum() == 0:
            return para("Sammenhængen mellem fravær og faglig trivsel kan ikke vises for skolen (for få elever i grupperne).")
        fig = go.Figure()
        for niveau in ("skole", "kommune"):
            sub = w[w["niveau"] == niveau].sort_values("orden")
            fig.add_trace(go.Bar(x=sub["fravaersgruppe"].tolist(), y=sub["mean"].round(1).tolist(), name=LEVEL_LABELS[niveau],
                                 marker={"color": COLOURS[niveau], "pattern": {"shape": "" if niveau == "skole" else "/"}},
                                 error_y={"type": "data", "symmetric": False,
                                          "array": (sub["ci_high"] - sub["mean"]).round(1).tolist(),
                                          "arrayminus": (sub["mean"] - sub["ci_low"]).round(1).tolist()},
                                 hovertemplate="%{x}: %{y:.0f}<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
        plots.layout(fig, f"Faglig trivsel ({runde}) efter elevernes samlede fravær", barmode="group", height=360)
        fig.update_yaxes(title="Faglig trivsel (500-skala)", range=[380, 600])
        fig.update_xaxes(title="Elevens samlede fravær i skoleåret")
        corr = self.slice("absence_wellbeing_corr")
        c = corr[(corr["niveau"] == "skole") & (corr["runde"] == runde)]
        rtext = (f" Rangkorrelationen på skolen er {fmt.num(c['spearman_r'].iloc[0], 2, sign=True)}."
                 if len(c) and pd.notna(c["spearman_r"].iloc[0]) else "")
        return Block(plots.show(fig, "absence-wellbeing"), how_to_read(
            "Søjlerne viser den gennemsnitlige faglige trivsel for elever med lidt og meget fravær. Elever med højt "
            "fravær trives ofte dårligere fagligt – men figuren viser en sammenhæng, ikke hvad der er årsag." + rtext
        ))._repr_html_()

    def flags(self) -> Block:
        """The school's opmærksomhedspunkter with the figure behind each and a question for datasparring."""
        f = self.school_flags()
        if f.empty:
            return Block(para("Ingen af reglerne for opmærksomhedspunkter slår ud for skolen i år. Det betyder ikke, at "
                              "alt er godt – kun at ingen forskel eller ændring er stor nok og sikker nok til at blive "
                              "fremhævet. Brug tallene ovenfor i datasparringen."))
        cards = [f'<div class="dp-flag"><h3>{i}. {html.escape(r.overskrift)}</h3>'
                 f"<p>{html.escape(r.tal)}</p><p><em>Spørgsmål til datasparringen:</em> {html.escape(r.spoergsmaal)}</p></div>"
                 for i, r in enumerate(f.itertuples(), 1)]
        return Block(para(f"{len(f)} punkter er fundet af de faste regler, som er beskrevet i metodeafsnittet."), *cards)

    def school_flags(self) -> pd.DataFrame:
        f = self.slice("flags")
        return f[f["niveau"] == "skole"].reset_index(drop=True) if len(f) else f

    def action_plan(self) -> Block:
        """Handleplan template (Ståsted, Mål, Tiltag og tegn, Evaluering) pre-filled with the flagged points."""
        f = self.school_flags()
        points = f.itertuples() if len(f) else []
        blocks = []
        for i, r in enumerate(points, 1):
            blocks.append(
                f'<table class="dp-table dp-plan"><caption>Indsats {i}: {html.escape(r.overskrift)}</caption><tbody>'
                f"<tr><th>Ståsted</th><td>{html.escape(r.tal)}</td></tr>"
                f"<tr><th>Mål</th><td class=\"dp-fill\"></td></tr>"
                f"<tr><th>Tiltag og tegn</th><td class=\"dp-fill\"></td></tr>"
                f"<tr><th>Evaluering</th><td class=\"dp-fill\"></td></tr></tbody></table>")
        if not blocks:
            blocks.append('<table class="dp-table dp-plan"><caption>Indsats</caption><tbody>'
                          + "".join(f'<tr><th>{h}</th><td class="dp-fill"></td></tr>'
                                    for h in ("Ståsted", "Mål", "Tiltag og tegn", "Evaluering")) + "</tbody></table>")
        return Block('<div class="dp-handleplan">', para(
            f"Handleplan for {html.escape(self.school_name)}, skoleåret {self.school_year}. Skabelonen er udfyldt med "
            "skolens opmærksomhedspunkter; vælg dem, I vil arbejde med, og skriv mål, tiltag og tegn på fremskridt."),
            *blocks, "</div>")

    def data_links(self) -> Block:
        """The page's tables to download (Excel, CSV for Danish Excel) and the detail tables behind them."""
        p = {"school_id": self.school_id, "school_name": self.school_name, "municipality": self.municipality}
        return Block(download_note(f"{self.school_id}-{slug(self.school_name)}_data", school_info(p)))

    def method(self) -> Block:
        """The method note: scores, statistics, suppression and the flag rules."""
        from . import flags as flags_mod

        rules = "".join(f"<li><strong>{r}</strong>: {html.escape(t)}</li>" for r, t in RULE_TEXT.items())
        return Block(
            para("<strong>Scorer.</strong> En dimensionsscore er gennemsnittet af elevens besvarede spørgsmål i "
                 "dimensionen (omvendte spørgsmål vendes). Eleven tæller kun med, hvis hun har svaret på mindst "
                 "halvdelen af spørgsmålene på sit skema. Scorerne standardiseres, så programmets elever i T1 har "
                 "gennemsnit 500 og spredning 100; T2 og T3 ligger på samme skala."),
            para("<strong>Statistik.</strong> Konfidensintervaller for gennemsnit bygger på t-fordelingen. "
                 "Kønsforskelle og ændringer testes med Welchs t-test (ulige varianser); effektstørrelsen er "
                 "Hedges' g. Når syv dimensioner testes på én gang, korrigeres p-værdierne med Holms metode. "
                 "Runderne behandles som uafhængige stikprøver (konservativt, da mange elever svarer i flere runder)."),
            para(f"<strong>Diskretionering.</strong> Spørgeskematal på {config.MIN_SURVEY_N} eller færre besvarelser og "
                 f"andre tal på {config.MIN_OTHER_N} eller færre elever vises ikke (–), og heller ikke et tal, som et skjult "
                 "tal kunne regnes ud fra (fx det andet køn, når totalen vises)."),
            para(f"<strong>Opmærksomhedspunkter.</strong> Et punkt kræver statistisk belæg (p &lt; "
                 f"{fmt.num(flags_mod.ALPHA, 2)} efter korrektion) og en forskel, der er stor nok til at betyde noget:"),
            f"<ul>{rules}</ul>",
        )


RULE_TEXT = {
    "Lav svarprocent": f"under {fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)} i seneste runde.",
    "Under kommunen": "en dimension ligger mindst 10 point under kommunens gennemsnit (Holm-korrigeret p < 0,05).",
    "Fald": "en dimension er faldet mindst 10 point siden forrige runde (Holm-korrigeret p < 0,05).",
    "Kønsforskel": "drenge og piger adskiller sig (Holm-korrigeret p < 0,05 og |Hedges' g| ≥ 0,2).",
    "Voksende kønsforskel": "forskellen i faglig trivsel er vokset signifikant siden forrige runde (p < 0,05).",
    "Stigende fravær": "det samlede fravær er steget mindst 1 procentpoint fra sidste skoleår (p < 0,05).",
    "Bekymrende fravær": "andelen med over 10 % fravær ligger mindst 3 procentpoint over kommunens (binomialtest, p < 0,05).",
}


def check_goals(goals: list[dict], school_id: str) -> None:
    """Hand-written goals must name a known dimension, group and round, and a number: say which is wrong."""
    where = f"params/{school_id}.yaml, goals"
    for i, g in enumerate(goals, 1):
        if not isinstance(g, dict):
            raise ValueError(f"{where} nr. {i}: forventede felterne dimension, gruppe, runde og maal; fandt {g!r}")
        if g.get("dimension") not in config.DIMENSIONS:
            raise ValueError(f"{where} nr. {i}: ukendt dimension {g.get('dimension')!r}; "
                             f"forventede en af {', '.join(config.DIMENSIONS)}")
        if g.get("gruppe", "alle") not in ("alle", "dreng", "pige"):
            raise ValueError(f"{where} nr. {i}: gruppe skal være alle, dreng eller pige; fandt {g.get('gruppe')!r}")
        if g.get("runde") not in config.ROUNDS:
            raise ValueError(f"{where} nr. {i}: runde skal være en af {', '.join(config.ROUNDS)}; fandt {g.get('runde')!r}")
        try:
            float(g.get("maal"))
        except (TypeError, ValueError):
            raise ValueError(f"{where} nr. {i}: maal skal være et tal på 500-skalaen; fandt {g.get('maal')!r}") from None


def goal_verdict(mean: float, lo: float, hi: float, target: float) -> str:
    """Reached / not reached, and whether the 95 % interval makes that sure."""
    if pd.isna(mean):
        return "kan ikke vurderes (for få besvarelser)"
    if mean >= target:
        return "nået" if pd.notna(lo) and lo >= target else "nået, men usikkert (målet ligger i intervallet)"
    return "ikke nået" if pd.notna(hi) and hi < target else "ikke nået, men usikkert (målet ligger i intervallet)"


def _interval(lo, hi, sign: bool = True) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return fmt.SUPPRESSED
    return f"{fmt.num(lo, sign=sign)} til {fmt.num(hi, sign=sign)}"


def _dates(a, b) -> str:
    if a is None or pd.isna(a):
        return fmt.SUPPRESSED
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    return f"{a.day}/{a.month}–{b.day}/{b.month} {b.year}" if a != b else f"{a.day}/{a.month} {a.year}"


def _round(x, d):
    return None if pd.isna(x) else round(float(x), d)


MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


def _month(period: str) -> str:
    y, m = period.split("-")
    return f"{MONTHS[int(m) - 1]} {y}"
