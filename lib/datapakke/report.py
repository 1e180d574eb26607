"""What a school's datapakke shows: one method per report section, called from the notebook.

The notebook stays thin — a parameters cell, then one call per section and a few lines of
Danish markdown.  Everything here reads only the school's slice of the precomputed,
published tables (``publication``: the aggregates as the site may show them); no pupil-level table
is ever opened.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import config, fmt, gaps, plots, store
from .datapackage import download_note, school_info
from .params import slug
from .plots import COLOURS, DASHES, GENDER_LABELS, LEVEL_LABELS, SYMBOLS

PROGRAM = "program"


class Block:
    """A report cell's output: HTML snippets and figures in order, rendered as one HTML output."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def __repr__(self) -> str:
        # The notebook keeps a plain-text form beside the HTML; without this it holds a memory
        # address, and every build's notebook would differ from the last one's.
        return f"<Block: {len(self.parts)} parts>"

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


def ref(label: str, href: str, what: str = "") -> str:
    """A short link from a sentence to the figure or table behind it ('figur', 'tal'), named in full for
    assistive technology (the visible word stays first in its name)."""
    name = f' aria-label="{html.escape(f"{label}: {what}", quote=True)}"' if what else ""
    return f'<a href="{html.escape(href, quote=True)}"{name}>{html.escape(label)}</a>'


def said(sentence: str, *refs: str) -> str:
    """One item of a 'Kort fortalt' list: a plain sentence with its number, then its links."""
    links = f' <span class="dp-refs">({" · ".join(refs)})</span>' if refs else ""
    return f"<li>{sentence}{links}</li>"


def brief(items: list[str]) -> str:
    """The 'Kort fortalt' list: the few things that matter, each linked to what is behind it."""
    return f'<ul class="dp-brief">{"".join(items)}</ul>'


def contents(sections: list[tuple[str, str]]) -> str:
    """The page's table of contents: (anchor, title) of each section, in page order."""
    items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in sections)
    return f'<nav class="dp-toc" aria-label="Indhold på siden"><span class="dp-toc-title">Indhold:</span><ol>{items}</ol></nav>'


def anchored(anchor: str, content: str) -> str:
    """Content with an id a sentence or a figure can link to (``#anchor``)."""
    return f'<div class="dp-anchor dp-scroll" id="{anchor}">{content}</div>'


def data_table(anchor: str, frame: pd.DataFrame, caption: str, note: str = "") -> str:
    """The numbers behind a figure that has no table of its own: a folded table under it (``#anchor``).

    A link to it opens it (``site.js``); it is left out of print, where the figure itself is shown.
    """
    extra = para(note, "dp-note") if note else ""
    return (f'<details class="dp-data" id="{anchor}"><summary>Tallene bag figuren</summary>'
            f"{fmt.table(frame, caption)}{extra}</details>")


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
                if municipality_schools:
                    codes = [("skole", i) for i in self.municipality_school_ids()]
                self.tables[key] = store.tables.rows(path, ("niveau", "kode"), codes)
        return self.tables[key]

    def municipality_school_ids(self) -> list[str]:
        schools = pd.read_parquet(self.folder / "schools.parquet")
        return schools.loc[schools["kommunekode"] == self.municipality_code, "institutionsnummer"].tolist()

    def national_rows(self) -> pd.DataFrame:
        path = self.folder / "national.parquet"
        codes = [("skole", self.school_id), ("kommune", self.municipality_code), ("land", "DK")]
        return store.tables.rows(path, ("niveau", "kode"), codes)

    @property
    def latest_round(self) -> str:
        return self.rounds[-1]

    # --- sections ----------------------------------------------------------------------------
    def banner(self) -> Block:
        """The synthetic-data marker every demo page must show (DOMAIN.md §5)."""
        return Block(fmt.demo_banner(self.demo))

    def heading(self) -> Block:
        """The line under the page title (the title names the school, the subtitle the municipality and year),
        and the page's table of contents."""
        years = self.tables["rounds"].set_index("runde")["skoleaar"]
        rounds = [f"{r} ({years.get(r)})" if r in years.index else r for r in self.rounds]
        listed = ", ".join(rounds[:-1]) + (" og " if len(rounds) > 1 else "") + rounds[-1]
        return Block(para(f"Institutionsnummer {self.school_id} · kortlægningens runder {listed}", "dp-meta"),
                     contents(SECTIONS))

    # --- what the page reads most ------------------------------------------------------------
    def _gaps(self, dimension: str, niveau: str = "skole") -> pd.DataFrame:
        g = self.slice("gender_gaps")
        return g[(g["niveau"] == niveau) & (g["dimension"] == dimension)].set_index("runde").reindex(self.rounds)

    def _deviation(self) -> pd.DataFrame:
        d = self.slice_school("deviation")
        return d[d["runde"] == self.latest_round].set_index("dimension") if len(d) else d

    def slice_school(self, name: str) -> pd.DataFrame:
        """A school-only table (no ``niveau``/``kode`` pair for the municipality), the school's rows."""
        key = (name, "school")
        if key not in self.tables:
            path = self.folder / f"{name}.parquet"
            self.tables[key] = (store.tables.rows(path, "kode", [self.school_id])
                                if path.is_file() else pd.DataFrame())
        return self.tables[key]

    def _means(self, niveau: str, gruppe_type: str = "alle", gruppe: str = "alle") -> pd.DataFrame:
        m = self.slice("survey_means")
        return m[(m["niveau"] == niveau) & (m["gruppe_type"] == gruppe_type) & (m["gruppe"] == gruppe)]

    def brief(self) -> Block:
        """Kort fortalt: the few things that matter, each one plain sentence with its number and its links."""
        items = []
        r = self.latest_round
        g = self._gaps("faglig_trivsel").loc[r] if len(self.slice("gender_gaps")) else None
        links = (ref("figur", "#figur-gender-gap", "faglig trivsel for drenge og piger"),
                 ref("tal", "#tabel-koensforskel", "kønsforskel i faglig trivsel"))
        if g is not None and pd.notna(g["mean_dreng"]) and pd.notna(g["mean_pige"]):
            items.append(said(_gender_sentence(g, r, "faglig_trivsel"), *links))
        else:
            items.append(said(f"Der er for få besvarelser fra drenge eller piger i {r} til at vise deres faglige trivsel "
                              "hver for sig.", links[1]))
        f = self.school_flags()
        for i, row in enumerate(f.itertuples(), 1):
            if row.regel == "koensforskel" and row.dimension == "faglig_trivsel":
                continue  # said above
            if len([x for x in items if "#punkt-" in x]) == 2:
                break
            items.append(said(f"Opmærksomhedspunkt: {html.escape(row.budskab)}",
                              ref("punktet", f"#punkt-{i}", row.overskrift),
                              ref("figur" if _has_figure(row.regel) else "tal", f"#figur-punkt-{i}"
                                  if _has_figure(row.regel) else f"#tal-punkt-{i}", row.overskrift)))
        if f.empty:
            items.append(said("Ingen af de faste regler for opmærksomhedspunkter slår ud for skolen i år – ingen forskel "
                              "eller ændring er både stor nok og statistisk sikker nok.",
                              ref("reglerne", "#metode-regler", "reglerne for opmærksomhedspunkter")))
        dev = self._deviation()
        own = self._means("skole").pipe(lambda m: m[m["runde"] == r]).set_index("dimension")["mean"]
        kom = self._means("kommune").pipe(lambda m: m[m["runde"] == r]).set_index("dimension")["mean"]
        if pd.notna(own.get("faglig_trivsel")):
            below = [config.DIMENSIONS[d].lower() for d in config.DIMENSIONS
                     if d in dev.index and dev.at[d, "p_adj"] < 0.05 and dev.at[d, "diff"] < 0]
            above = [config.DIMENSIONS[d].lower() for d in config.DIMENSIONS
                     if d in dev.index and dev.at[d, "p_adj"] < 0.05 and dev.at[d, "diff"] > 0]
            tested = int(dev["p_adj"].notna().sum()) if len(dev) else 0
            where = (f"statistisk sikkert under kommunen i {_and(below)}" + (f" og over i {_and(above)}" if above else "")
                     if below else f"statistisk sikkert over kommunen i {_and(above)}" if above else "")
            rest = (f"; i {_and_count(tested - len(below) - len(above))} er forskellen til kommunen ikke sikker"
                    if below or above else f"; i alle {tested} dimensioner er forskellen til kommunen ikke sikker")
            items.append(said(
                f"Elevernes faglige trivsel er {fmt.num(own['faglig_trivsel'])} i {r} mod kommunens "
                f"{fmt.num(kom.get('faglig_trivsel'))}. Skolen ligger {where}{rest}." if where else
                f"Elevernes faglige trivsel er {fmt.num(own['faglig_trivsel'])} i {r} mod kommunens "
                f"{fmt.num(kom.get('faglig_trivsel'))}{rest}.",
                ref("figur", "#figur-survey-overview", "skolen, kommunen og programmet"),
                ref("tal", "#tal-survey-overview", "skolen mod kommunen")))
        a = self.slice("absence")
        if len(a) and a[a["niveau"] == "skole"]["samlet_pct"].notna().any():
            year = self.school_year if self.school_year in set(a["skoleaar"]) else a["skoleaar"].max()
            al = a[(a["gruppe_type"] == "alle") & (a["skoleaar"] == year)].set_index("niveau")["samlet_pct"]
            land = self._land("fravaer_pct", year)
            others = ", ".join(x for x in (f"kommunen {fmt.pct(al.get('kommune'))}" if pd.notna(al.get("kommune")) else "",
                                           f"landet {fmt.pct(land)}" if pd.notna(land) else "") if x)
            items.append(said(f"Det samlede fravær var {fmt.pct(al.get('skole'))} af skoledagene i {year}"
                              + (f" ({others})." if others else "."),
                              ref("figur", "#figur-absence-type", "fravær efter type"),
                              ref("tal", "#tal-absence-type", "fravær efter type")))
        c = self.slice("survey_change")
        c = c[(c["niveau"] == "skole") & (c["gruppe_type"] == "alle") & (c["til"] == r)] if len(c) else c
        if len(items) < 5 and len(c) and c["p_adj"].notna().any():
            sure = c[c["p_adj"] < 0.05]
            fra = c["fra"].iloc[0]
            text = (f"Siden {fra} har ingen af de {fmt.count(c['p_adj'].notna().sum())} dimensioner ændret sig statistisk "
                    "sikkert – det er det normale på én skole." if sure.empty else
                    f"Siden {fra} har {_and(config.DIMENSIONS[d].lower() for d in sure['dimension'])} ændret sig "
                    f"statistisk sikkert ({fmt.plural(len(sure), 'dimension', 'dimensioner')}).")
            items.append(said(text, ref("figur", "#figur-survey-change", "ændring siden forrige runde"),
                              ref("tal", "#tabel-aendring", "ændring siden forrige runde")))
        return Block(brief(items[:5]))

    def _land(self, indikator: str, year: str) -> float:
        nat = self.national_rows()
        v = nat[(nat["niveau"] == "land") & (nat["indikator"] == indikator) & (nat["skoleaar"] == year)]["vaerdi"]
        return float(v.iloc[0]) if len(v) else np.nan

    # --- the opmærksomhedspunkter, first after Kort fortalt -------------------------------------
    def flags(self) -> Block:
        """Each opmærksomhedspunkt: a plain sentence, its statistics, its own small figure or table row,
        a link to the data and a question for the datasparring."""
        f = self.school_flags()
        if f.empty:
            return Block(para("Ingen af reglerne for opmærksomhedspunkter slår ud for skolen i år. Det betyder ikke, at "
                              "alt er godt – kun at ingen forskel eller ændring er stor nok og sikker nok til at blive "
                              "fremhævet. Brug tallene nedenfor i datasparringen."))
        cards = []
        for i, r in enumerate(f.itertuples(), 1):
            shown, data = self._flag_evidence(r, i)
            cards.append(
                f'<div class="dp-flag" id="punkt-{i}"><h3>{i}. {html.escape(r.overskrift)}</h3>'
                f'<p class="dp-flag-message">{html.escape(r.budskab)}</p>'
                f'<p class="dp-flag-stats">{html.escape(r.tal)}</p>{shown}'
                f"<p><em>Spørgsmål til datasparringen:</em> {html.escape(r.spoergsmaal)}</p>"
                f'<p class="dp-flag-data">Tallene bag: {data}</p></div>')
        return Block(para(f"De faste regler (se <a href=\"#metode-regler\">metoden</a>) finder "
                          f"{fmt.plural(len(f), 'punkt', 'punkter')} for skolen."), *cards)

    def _flag_evidence(self, r, i: int) -> tuple[str, str]:
        """The point's own small figure (or table row) and its links to the data."""
        name = f"punkt-{i}"
        if r.regel in ("koensforskel", "voksende_koensforskel"):
            frame = self._gender_round_rows(r.dimension)
            fig = self._gender_figure(r.dimension, f"{config.DIMENSIONS[r.dimension]}: drenge og piger pr. runde", 300)
            table = "#tabel-koensforskel" if r.dimension == "faglig_trivsel" else "#tabel-koensforskelle-alle"
            return (plots.show(fig, name, alt=self._trend_text(r.dimension, "gender"), table=f"#tal-{name}").html()
                    + data_table(f"tal-{name}", frame, f"{config.DIMENSIONS[r.dimension]}: drenge og piger pr. runde"),
                    ref("kønsforskelle i alle dimensioner", table) + " · " + ref("data og metode", "#data-og-metode"))
        if r.regel in ("under_kommunen", "fald"):
            frame, fig = self._school_and_municipality(r.dimension, 300)
            return (plots.show(fig, name, alt=self._trend_text(r.dimension, "municipality"), table=f"#tal-{name}").html()
                    + data_table(f"tal-{name}", frame, f"{config.DIMENSIONS[r.dimension]}: skolen og kommunen pr. runde"),
                    ref("skolens score pr. runde", "#tabel-kortlaegning") + " · "
                    + ref("ændring siden forrige runde", "#tabel-aendring"))
        if r.regel == "svarprocent":
            rows = self._round_rows()
            row = rows.loc[rows["Runde"] == self.latest_round, ["Runde", "Elever", "Besvarelser", "Svarprocent"]]
            return (anchored(f"tal-{name}", fmt.table(row, f"Svarprocent i {self.latest_round}")),
                    ref("runder, elever og svarprocent", "#tabel-runder"))
        a = self.slice("absence")
        a = a[(a["gruppe_type"] == "alle") & a["niveau"].isin(["skole", "kommune"])]
        col = "samlet_pct" if r.regel == "fravaer_stigning" else "andel_over_10_pct"
        label = "Samlet fravær" if r.regel == "fravaer_stigning" else "Andel elever med over 10 % fravær"
        years = sorted(set(a["skoleaar"]))[-2:] if r.regel == "fravaer_stigning" else [self.school_year]
        rows = pd.DataFrame({"Skoleår": years, **{LEVEL_LABELS[n]: [
            fmt.banded(_at(a, n, y, col), _at(a, n, y, f"{col}_tekst", ""), fmt.pct) for y in years]
            for n in ("skole", "kommune")}})
        return (anchored(f"tal-{name}", fmt.table(rows, label)),
                ref("fravær pr. køn og klassetrin", "#tabel-fravaer-grupper") + " · "
                + ref("de to 10 %-regler", "#tabel-10-procent"))

    def _trend_text(self, dimension: str, against: str) -> str:
        """A small figure's text alternative: the two lines round by round ('T1: 492 mod 516, …')."""
        if against == "gender":
            gs = self._gaps(dimension)
            a, b, who = gs["mean_dreng"], gs["mean_pige"], ("Drengene", "pigerne")
        else:
            own, kom = (self._means(n).pipe(lambda m: m[m["dimension"] == dimension]).set_index("runde")["mean"]
                        .reindex(self.rounds) for n in ("skole", "kommune"))
            a, b, who = own, kom, ("Skolen", "kommunen")
        pairs = [f"{r}: {fmt.num(x)} mod {fmt.num(y)}" for r, x, y in zip(self.rounds, a, b) if pd.notna(x) and pd.notna(y)]
        both = [(fmt.rounded(x), fmt.rounded(y)) for x, y in zip(a, b) if pd.notna(x) and pd.notna(y)]
        lower, higher = sum(x < y for x, y in both), sum(x > y for x, y in both)
        if not pairs:
            return f"{config.DIMENSIONS[dimension]} pr. runde."
        how = ("ligger under {0} i alle runder" if lower == len(both) else "ligger over {0} i alle runder"
               if higher == len(both) else f"ligger under {{0}} i {lower} af {len(both)} runder")
        return f"{who[0]} {how.format(who[1])} ({'; '.join(pairs)})."

    def school_flags(self) -> pd.DataFrame:
        f = self.slice("flags")
        return f[f["niveau"] == "skole"].reset_index(drop=True) if len(f) else f

    # --- data basis --------------------------------------------------------------------------
    def _round_rows(self) -> pd.DataFrame:
        rounds = self.tables["rounds"]
        rr = self.slice("response_rates")
        total = rr[(rr["niveau"] == "skole") & (rr["klassetrin"] == "alle")].set_index("runde")
        dates = self.slice("round_dates")
        dates = dates[dates["niveau"] == "skole"].set_index("runde") if len(dates) else pd.DataFrame(columns=["fra", "til"])
        return pd.DataFrame({
            "Runde": rounds["runde"],
            "Skoleår": rounds["skoleaar"],
            "Besvaret": [_dates(dates["fra"].get(r), dates["til"].get(r)) for r in rounds["runde"]],
            "Elever": [fmt.count(total["elever"].get(r)) for r in rounds["runde"]],
            "Besvarelser": [fmt.banded(total["besvarelser"].get(r), _text(total, "besvarelser", r), fmt.count)
                            for r in rounds["runde"]],
            "Svarprocent": [fmt.banded(total["svarprocent"].get(r), _text(total, "svarprocent", r),
                                       lambda v: fmt.pct(v, 0)) for r in rounds["runde"]],
        })

    def forside(self) -> Block:
        """Data basis: rounds with dates, pupils per grade, response rate per round and grade."""
        rr = self.slice("response_rates")
        school = rr[rr["niveau"] == "skole"]
        total = school[school["klassetrin"] == "alle"].set_index("runde")
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
        parts += [anchored("tabel-runder", fmt.table(self._round_rows(), "Runder, elever og svarprocent")),
                  anchored("tabel-klassetrin-svar", fmt.table(grade_rows, "Elever og svarprocent pr. klassetrin"))]
        return Block(*parts)

    # --- kortlægning ----------------------------------------------------------------------------
    def survey_overview(self) -> Block:
        """Every dimension at the latest round: school vs municipality vs programme.

        The school's bar is the interval of its deviation from the municipality that agrees with the
        Holm-corrected test: the municipality's mark lies outside it exactly when the difference is sure.
        """
        m = self.slice("survey_means")
        m = m[(m["runde"] == self.latest_round) & (m["gruppe_type"] == "alle")]
        dims = [d for d in config.DIMENSIONS if d in set(m["dimension"])]
        labels = [config.DIMENSIONS[d] for d in dims]
        dev = self._deviation().reindex(dims) if len(self._deviation()) else pd.DataFrame(index=dims, columns=[
            "diff", "ci_low_holm", "ci_high_holm", "p_adj"], dtype=float)
        fig = go.Figure()
        by = {n: m[m["niveau"] == n].set_index("dimension").reindex(dims) for n in ("skole", "kommune", "program")}
        for niveau in ("skole", "kommune", "program"):  # the school first, so the others stay visible on top
            sub = by[niveau]
            err = None
            if niveau == "skole":
                err = {"type": "data", "symmetric": False, "array": (dev["ci_high_holm"] - dev["diff"]).round(1).tolist(),
                       "arrayminus": (dev["diff"] - dev["ci_low_holm"]).round(1).tolist(), "color": COLOURS[niveau]}
            fig.add_trace(go.Scatter(
                x=sub["mean"].round(1).tolist(), y=labels, mode="markers", name=LEVEL_LABELS[niveau],
                marker={"color": COLOURS[niveau], "symbol": SYMBOLS[niveau], "size": 14 if niveau == "skole" else 9},
                error_x=err, hovertemplate="%{y}: %{x:.0f}<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        fig.add_vline(x=500, line={"color": "#bbb", "dash": "dot"})
        plots.layout(fig, f"Kortlægningen {self.latest_round}: skolen, kommunen og programmet", height=420)
        fig.update_xaxes(title="Score (programmets gennemsnit i T1 = 500, spredning 100)")
        fig.update_yaxes(autorange="reversed")
        school, kom, prog = by["skole"], by["kommune"], by["program"]
        sure = dev["p_adj"] < 0.05
        rows = pd.DataFrame({
            "Dimension": labels,
            "Skolen": [fmt.num(v) for v in school["mean"]],
            "Kommunen": [fmt.num(v) for v in kom["mean"]],
            "Programmet": [fmt.num(v) for v in prog["mean"]],
            "Skolen − kommunen": [fmt.diff(a, b) for a, b in zip(school["mean"], kom["mean"])],
            "Interval (Holm-justeret)": [_interval(lo, hi) for lo, hi in zip(dev["ci_low_holm"], dev["ci_high_holm"])],
            "p (Holm)": [fmt.num(v, 3) for v in dev["p_adj"]],
            "Sikker forskel?": ["ja" if s_ else ("nej" if pd.notna(p) else fmt.SUPPRESSED)
                                for s_, p in zip(sure, dev["p_adj"])],
        })
        below = [config.DIMENSIONS[d].lower() for d in dims if sure.get(d) and dev.at[d, "diff"] < 0]
        above = [config.DIMENSIONS[d].lower() for d in dims if sure.get(d) and dev.at[d, "diff"] > 0]
        alt = (f"Skolen ligger statistisk sikkert under kommunen i {_and(below)}" if below else
               "Skolen ligger ikke statistisk sikkert under kommunen i nogen dimension") + (
            f" og over i {_and(above)}" if above else "") + (
            f"; faglig trivsel er {fmt.num(school.at['faglig_trivsel', 'mean'])} mod kommunens "
            f"{fmt.num(kom.at['faglig_trivsel', 'mean'])}." if "faglig_trivsel" in dims else ".")
        missing = school["mean"].isna().sum() if len(m) else len(dims)
        note = para("Nogle dimensioner mangler for skolen, fordi der er for få besvarelser.") if missing else None
        return Block(plots.show(fig, "survey-overview", alt=alt, table="#tal-survey-overview"),
                     data_table("tal-survey-overview", rows, f"Skolen, kommunen og programmet i {self.latest_round}"),
                     note, how_to_read(
            "Hver prik er en gennemsnitlig score. Skalaen er sat, så hele programmets elever i T1 har "
            "gennemsnit 500 og spredning 100. Den vandrette streg om skolens prik viser usikkerheden, justeret for at "
            "syv dimensioner sammenlignes med kommunen på én gang (Holm): ligger kommunens firkant uden for stregen, "
            "er forskellen statistisk sikker; ligger den inden for, kan forskellen være tilfældig."))

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
        return Block(anchored("tabel-kortlaegning", fmt.table(frame, "Skolens score pr. runde (500-skala)")))

    def survey_change(self) -> Block:
        """Change since the previous round per dimension, with the interval that agrees with the Holm test."""
        c = self.slice("survey_change")
        c = c[(c["niveau"] == "skole") & (c["gruppe_type"] == "alle") & (c["til"] == self.latest_round)]
        if c.empty or c["diff"].notna().sum() == 0:
            return Block(para("Ændringen siden forrige runde kan ikke vises: der er for få besvarelser i en af runderne."))
        c = c.set_index("dimension").reindex([d for d in config.DIMENSIONS if d in set(c["dimension"])])
        labels = [config.DIMENSIONS[d] for d in c.index]
        sig = (c["p_adj"] < 0.05).tolist()
        lo, hi = _holm_or_plain(c)
        fig = go.Figure(go.Scatter(
            x=c["diff"].round(1).tolist(), y=labels, mode="markers", name="Ændring",
            marker={"size": 11, "color": [COLOURS["skole"] if s_ else "#767676" for s_ in sig],
                    "symbol": ["circle" if s_ else "circle-open" for s_ in sig], "line": {"width": 2}},
            error_x={"type": "data", "symmetric": False, "array": (hi - c["diff"]).round(1).tolist(),
                     "arrayminus": (c["diff"] - lo).round(1).tolist(), "color": "#555"},
            hovertemplate="%{y}: %{x:+.0f} point<extra></extra>", showlegend=False))
        fig.add_vline(x=0, line={"color": "#888"})
        fra = c["fra"].dropna().iloc[0] if c["fra"].notna().any() else ""
        plots.layout(fig, f"Ændring fra {fra} til {self.latest_round} (point på 500-skalaen)", height=380)
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title="Ændring i point (interval justeret for syv dimensioner, Holm)")
        means = self._means("skole").set_index(["runde", "dimension"])["mean"]
        before = [means.get((fra, d)) for d in c.index]
        after = [means.get((self.latest_round, d)) for d in c.index]
        rows = pd.DataFrame({
            "Dimension": labels,
            fra: [fmt.num(v) for v in before],
            self.latest_round: [fmt.num(v) for v in after],
            "Ændring": [fmt.diff(b, a) if pd.notna(a) and pd.notna(b) else fmt.num(v, sign=True)
                        for a, b, v in zip(before, after, c["diff"])],
            "Interval (Holm-justeret)": [_interval(x, y) for x, y in zip(lo, hi)],
            "p (Holm)": [fmt.num(v, 3) for v in c["p_adj"]],
            "Sikker ændring?": ["ja" if v else "nej" for v in sig],
        })
        sure = [f"{config.DIMENSIONS[d].lower()} {fmt.diff(means.get((self.latest_round, d)), means.get((fra, d)))} point"
                for d, s_ in zip(c.index, sig) if s_]
        alt = (f"Ingen af de {len(c)} dimensioner har ændret sig statistisk sikkert fra {fra} til {self.latest_round}."
               if not sure else f"Statistisk sikker ændring fra {fra} til {self.latest_round}: {_and(sure)}; "
               f"de øvrige {fmt.plural(len(c) - len(sure), 'ændring', 'ændringer')} kan være tilfældige.")
        return Block(plots.show(fig, "survey-change", alt=alt, table="#tabel-aendring"),
                     anchored("tabel-aendring", fmt.table(rows, f"Ændring siden {fra}")), how_to_read(
            "Prikken er ændringen i skolens gennemsnit siden forrige runde; stregen er intervallet, justeret som "
            "p-værdien for, at syv dimensioner testes på én gang (Holm). Udfyldte prikker er ændringer, der holder "
            "statistisk – præcis dem, hvis streg ikke krydser nul. Krydser stregen nul, kan ændringen være "
            "tilfældig – det gælder de fleste ændringer på én skole."))

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
        return Block(anchored("tabel-klassetrin", fmt.table(
            frame, f"Score pr. klassetrinsgruppe i {self.latest_round}: skolen (kommunen)")),
            para("0.–3. klasse svarer på et kortere skema; deres scorer bygger på færre spørgsmål.", "dp-note"))

    def goals_progress(self) -> Block:
        """Each goal the school has set: reached or not, with the uncertainty."""
        if not self.goals:
            return Block(para("Skolen har ikke sat mål, som datapakken følger. Mål – fx at drengenes faglige trivsel "
                              "skal op på 510 ved næste kortlægning – aftales i skoleudviklingssamtalen; når "
                              "forvaltningen har skrevet dem ind, viser næste datapakke, om de er nået."))
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
                line={"color": COLOURS.get(grp, COLOURS["skole"])}, marker={"size": 9},
                error_y={"type": "data", "symmetric": False, "array": (series["ci_high"] - series["mean"]).tolist(),
                         "arrayminus": (series["mean"] - series["ci_low"]).tolist()},
                hovertemplate="%{x}: %{y:.0f}<extra></extra>"))
            fig.add_hline(y=target, line={"color": "#8a1c1c", "dash": "dash"},
                          annotation_text=f"Mål {fmt.num(target)} ({runde})", annotation_position="top left")
            plots.layout(fig, label, height=320, showlegend=False)
            fig.update_yaxes(title="Score (500-skala)")
            alt = (f"Målet er {fmt.num(target)} ved {runde}; resultatet blev {fmt.num(mean)}: {verdict}."
                   if pd.notna(mean) else f"Målet er {fmt.num(target)} ved {runde}; resultatet kan ikke vurderes.")
            parts.append(plots.show(fig, f"goal-{i}", alt=alt, table="#tabel-maal"))
        frame = pd.DataFrame(rows, columns=["Mål", "Målværdi", "Resultat", "95 %-interval", "Vurdering"])
        return Block(anchored("tabel-maal", fmt.table(frame, "Skolens mål")), *parts, how_to_read(
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
        values = {n: nat[(nat["niveau"] == n) & (nat["kode"] == k)].set_index("indikator")["vaerdi"] for n, k in levels}
        fig = go.Figure()
        for niveau, _ in levels:
            sub = values[niveau].reindex(inds)
            fig.add_trace(go.Scatter(x=sub.round(2).tolist(), y=[config.TRIVSEL_INDICATORS[i] for i in inds], mode="markers",
                                     name=LEVEL_LABELS[niveau], marker={"color": COLOURS[niveau], "symbol": SYMBOLS[niveau],
                                                                        "size": 14 if niveau == "skole" else 9},
                                     hovertemplate="%{y}: %{x:.2f}<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
        plots.layout(fig, f"Trivselsmålingen {year}: gennemsnit på skalaen 1–5", height=340)
        shown = nat[nat["indikator"].isin(inds)]["vaerdi"].dropna()
        lo_x, hi_x = (max(1.0, shown.min() - 0.3), min(5.0, shown.max() + 0.3)) if len(shown) else (1, 5)
        fig.update_xaxes(title="Gennemsnit (1–5; 5 er bedst)", range=[lo_x, hi_x])
        fig.update_yaxes(autorange="reversed")
        mean_rows = pd.DataFrame({"Indikator": [config.TRIVSEL_INDICATORS[i] for i in inds],
                                  **{LEVEL_LABELS[n]: [fmt.num(values[n].get(i), 2) for i in inds] for n, _ in levels}})
        ft = [values[n].get("faglig_trivsel") for n, _ in levels]
        alt = (f"I trivselsmålingen {year} er skolens faglige trivsel {fmt.num(ft[0], 2)} mod kommunens "
               f"{fmt.num(ft[1], 2)} og landets {fmt.num(ft[2], 2)} på skalaen 1–5." if "faglig_trivsel" in inds else
               f"Trivselsmålingen {year}: skolen, kommunen og landet på skalaen 1–5.")
        # the four answer bands, for each level, per indicator
        band_fig = go.Figure()
        band_colours = ["#b2182b", "#ef8a62", "#67a9cf", "#2166ac"]
        ylabels = [f"{config.TRIVSEL_INDICATORS[ind]} · {LEVEL_LABELS[niveau]}" for ind in inds for niveau, _ in levels]
        band_rows = {}
        for band, colour in zip(config.TRIVSEL_BANDS, band_colours):
            xs = [values[niveau].get(f"{ind}:{band}") for ind in inds for niveau, _ in levels]
            xs = [round(float(v), 1) if v is not None and pd.notna(v) else None for v in xs]
            band_rows[band.replace("-", "–")] = [fmt.pct(v, 0) if v is not None else fmt.SUPPRESSED for v in xs]
            band_fig.add_trace(go.Bar(x=xs, y=ylabels, orientation="h", name=band.replace("-", "–"),
                                      marker={"color": colour}, hovertemplate="%{y}: %{x:.0f} %<extra>" + band + "</extra>"))
        plots.layout(band_fig, "Svarfordeling i fire bånd (andel af eleverne)", height=110 + 26 * len(ylabels),
                     barmode="stack", legend={"orientation": "h", "y": -0.12, "x": 0, "traceorder": "normal"})
        band_fig.update_xaxes(title="Andel af eleverne (%)", range=[0, 100], ticksuffix=" %")
        band_fig.update_yaxes(autorange="reversed")
        top = config.TRIVSEL_BANDS[-1]
        tops = [values[n].get(f"faglig_trivsel:{top}") for n, _ in levels]
        band_alt = (f"Andelen af elever med de mest positive svar (4,1–5) i faglig trivsel: skolen {fmt.pct(tops[0], 0)}, "
                    f"kommunen {fmt.pct(tops[1], 0)}, landet {fmt.pct(tops[2], 0)}." if "faglig_trivsel" in inds
                    else "Svarfordelingen i fire bånd for skolen, kommunen og landet.")
        band_table = pd.DataFrame({"Indikator og niveau": ylabels, **band_rows})
        return Block(
            plots.show(fig, "national-means", alt=alt, table="#tal-national-means"),
            data_table("tal-national-means", mean_rows, f"Trivselsmålingen {year}: gennemsnit (1–5)"),
            plots.show(band_fig, "national-bands", alt=band_alt, table="#tal-national-bands"),
            data_table("tal-national-bands", band_table, f"Trivselsmålingen {year}: andel af eleverne i hvert bånd"),
            how_to_read(
                "Tallene er de offentliggjorte resultater fra den nationale trivselsmåling (4.–9. klasse). Båndene "
                "viser, hvor mange elever der i gennemsnit svarer 1–2, 2,1–3, 3,1–4 og 4,1–5; mørkeblå er de mest "
                "positive."))

    # --- gender gaps ---------------------------------------------------------------------------
    def _gender_figure(self, dimension: str, title: str, height: int = 380) -> go.Figure:
        m = self.slice("survey_means")
        m = m[(m["dimension"] == dimension) & (m["gruppe_type"] == "koen") & (m["niveau"] == "skole")]
        fig = go.Figure()
        for koen in ("dreng", "pige"):
            sub = m[m["gruppe"] == koen].set_index("runde").reindex(self.rounds)
            fig.add_trace(go.Scatter(
                x=self.rounds, y=sub["mean"].round(1).tolist(), name=GENDER_LABELS[koen], mode="lines+markers",
                line={"color": COLOURS[koen], "dash": "solid" if koen == "dreng" else "dash"},
                marker={"symbol": SYMBOLS[koen], "size": 11},
                error_y={"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).round(1).tolist(),
                         "arrayminus": (sub["mean"] - sub["ci_low"]).round(1).tolist()},
                hovertemplate="%{x}: %{y:.0f}<extra>" + GENDER_LABELS[koen] + "</extra>",
            ))
        plots.layout(fig, title, height=height)
        fig.update_yaxes(title="Score (500-skala)")
        return fig

    def _gender_round_rows(self, dimension: str) -> pd.DataFrame:
        gs = self._gaps(dimension)
        lo, hi = _holm_or_plain(gs)
        return pd.DataFrame({
            "Runde": self.rounds,
            "Drenge": [fmt.num(v) for v in gs["mean_dreng"]],
            "Piger": [fmt.num(v) for v in gs["mean_pige"]],
            "Forskel (drenge − piger)": [fmt.diff(a, b) for a, b in zip(gs["mean_dreng"], gs["mean_pige"])],
            "Interval (Holm-justeret)": [_interval(x, y) for x, y in zip(lo, hi)],
            "p (Holm)": [fmt.num(v, 3) for v in gs["p_adj"]],
        })

    def gender_gap(self) -> Block:
        """Boys vs girls in faglig trivsel per round, with the difference, its Holm interval and effect size."""
        m = self.slice("survey_means")
        m = m[(m["dimension"] == "faglig_trivsel") & (m["gruppe_type"] == "koen") & (m["niveau"] == "skole")]
        gs = self._gaps("faglig_trivsel")
        gk = self._gaps("faglig_trivsel", "kommune")
        lo, hi = _holm_or_plain(gs)
        rows = pd.DataFrame({
            "Runde": self.rounds,
            "Drenge": [fmt.num(v) for v in gs["mean_dreng"]],
            "Piger": [fmt.num(v) for v in gs["mean_pige"]],
            "Forskel (drenge − piger)": [fmt.diff(a, b) for a, b in zip(gs["mean_dreng"], gs["mean_pige"])],
            "Interval (Holm-justeret)": [_interval(x, y) for x, y in zip(lo, hi)],
            "Hedges' g (interval)": _g_texts(gs),
            "p (Holm)": [fmt.num(v, 3) for v in gs["p_adj"]],
            "Kommunens forskel": [fmt.diff(a, b) for a, b in zip(gk["mean_dreng"], gk["mean_pige"])],
        })
        table = anchored("tabel-koensforskel", fmt.table(rows, "Kønsforskel i faglig trivsel"))
        if m["mean"].notna().sum() == 0:
            return Block(para("Der er for få besvarelser fra drenge eller piger til at vise kønsforskellen "
                              f"(mindst {config.MIN_SURVEY_N + 1} af hvert køn pr. runde)."), table)
        fig = self._gender_figure("faglig_trivsel", "Faglig trivsel: drenge og piger pr. runde")
        last = gs.loc[self.latest_round]
        alt = (_gender_sentence(last, self.latest_round, "faglig_trivsel") if pd.notna(last["mean_dreng"])
               and pd.notna(last["mean_pige"]) else "Drenges og pigers faglige trivsel pr. runde.")
        return Block(plots.show(fig, "gender-gap", alt=alt, table="#tabel-koensforskel"), table, how_to_read(
            "Linjerne viser drenges og pigers gennemsnitlige faglige trivsel i hver runde; de lodrette streger er "
            "95 %-intervaller for hvert køns gennemsnit. Om forskellen mellem dem er sikker, står i tabellen: "
            "intervallet for forskellen er justeret som p-værdien for, at syv dimensioner testes (Holm), og rummer "
            "ikke 0 præcis når p < 0,05. To streger, der overlapper, kan godt dække over en sikker forskel. En negativ "
            "forskel betyder, at drengene ligger lavere. Hedges' g er forskellen målt i standardafvigelser (0,2 regnes "
            "for en lille, 0,5 for en mellemstor forskel), med sit interval: på en lille skole er det bredt."))

    def gender_gap_details(self) -> Block:
        """Gap by grade band, its change between rounds, and the funnel plot of the municipality's schools."""
        parts = []
        gb = self.slice("gender_gaps_grade")
        gb = gb[(gb["niveau"] == "skole") & (gb["dimension"] == "faglig_trivsel") & (gb["runde"] == self.latest_round)]
        gb = gb.set_index("klassetrin_band").reindex([b for b in gaps.GRADE_BANDS if b in set(gb["klassetrin_band"])])
        if len(gb):
            lo, hi = _holm_or_plain(gb)
            parts.append(anchored("tabel-koensforskel-klassetrin", fmt.table(pd.DataFrame({
                "Klassetrin": gb.index,
                "Drenge": [fmt.num(v) for v in gb["mean_dreng"]], "Piger": [fmt.num(v) for v in gb["mean_pige"]],
                "Forskel": [fmt.diff(a, b) for a, b in zip(gb["mean_dreng"], gb["mean_pige"])],
                "Interval (Holm-justeret)": [_interval(x, y) for x, y in zip(lo, hi)],
                "p (Holm)": [fmt.num(v, 3) for v in gb["p_adj"]],
            }), f"Kønsforskel i faglig trivsel pr. klassetrinsgruppe, {self.latest_round}")))
        ch = self.slice("gender_gap_change")
        ch = ch[(ch["niveau"] == "skole") & (ch["dimension"] == "faglig_trivsel")]
        if len(ch):
            gs = self._gaps("faglig_trivsel")
            shown = {r: fmt.rounded(gs.at[r, "mean_dreng"]) - fmt.rounded(gs.at[r, "mean_pige"]) for r in self.rounds}
            parts.append(anchored("tabel-koensforskel-udvikling", fmt.table(pd.DataFrame({
                "Fra → til": [f"{a} → {b}" for a, b in zip(ch["from_round"], ch["to_round"])],
                "Forskel før": [fmt.num(shown.get(a), sign=True) for a in ch["from_round"]],
                "Forskel efter": [fmt.num(shown.get(b), sign=True) for b in ch["to_round"]],
                "Ændring": [fmt.num(shown.get(b) - shown.get(a), sign=True) if pd.notna(c) else fmt.SUPPRESSED
                            for a, b, c in zip(ch["from_round"], ch["to_round"], ch["change"])],
                "95 %-interval": [_interval(lo, hi) for lo, hi in zip(ch["ci_low"], ch["ci_high"])],
                "p": [fmt.num(v, 3) for v in ch["p"]],
            }), "Kønsforskellens udvikling mellem runderne")))
            parts.append(para("Udviklingen testes for faglig trivsel alene (én test pr. periode), så dens interval og "
                              "p-værdi er ikke korrigeret for flere dimensioner.", "dp-note"))
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
                                 name="Andre skoler i kommunen", marker={"color": "#767676", "size": 9},
                                 text=[names.get(k, k) for k in others["kode"]],
                                 hovertemplate="%{text}: %{y:+.0f}<extra></extra>"))
        if len(me):
            fig.add_trace(go.Scatter(x=me["n_eff"].round(1).tolist(), y=me["y"].round(1).tolist(), mode="markers+text",
                                     name=self.school_name, text=[self.school_name], textposition="top right",
                                     marker={"color": COLOURS["skole"], "size": 15, "symbol": "star"},
                                     hovertemplate="%{text}: %{y:+.0f}<extra></extra>"))
        plots.layout(fig, f"Kønsforskel i faglig trivsel på kommunens skoler, {self.latest_round}", height=420)
        fig.update_xaxes(title="Effektiv størrelse (antal elever, hvis drenge og piger var lige mange)", rangemode="tozero")
        spread = max(abs(pts["y"] - centre).max(), float(lim["upper_95"].iloc[-1] - centre)) * 1.25
        fig.update_yaxes(title="Drenge − piger (point)", range=[centre - spread, centre + spread])
        k = len(pts)
        out95, out998 = int(pts["outside_95"].sum()), int(pts["outside_998"].sum())
        inside = bool(len(me)) and not bool(me["outside_95"].iloc[0])
        expected = (f"Med {k} skoler ventes omkring {fmt.num(0.05 * k, 1)} uden for 95 %-grænserne og "
                    f"{fmt.num(0.002 * k, 2)} uden for 99,8 %-grænserne alene af tilfældighed, også hvis ingen skole "
                    f"reelt afviger; her ligger {out95} uden for 95 % og {out998} uden for 99,8 %.")
        alt = (f"{self.school_name} ligger {'inden for' if inside else 'uden for'} 95 %-grænserne. " if len(me) else "") + expected
        rows = pd.DataFrame({"Skole": [names.get(c, c) for c in pts["kode"]],
                             "Drenge − piger": [fmt.num(v, sign=True) for v in pts["y"]],
                             "Effektiv størrelse": [fmt.num(v) for v in pts["n_eff"]],
                             "Uden for 95 %-grænsen?": ["ja" if v else "nej" for v in pts["outside_95"]]})
        return Block(plots.show(fig, "funnel", alt=alt, table="#tal-funnel"),
                     data_table("tal-funnel", rows, f"Kommunens skoler i tragtplottet, {self.latest_round}"),
                     how_to_read(
            "Hver prik er en skole i kommunen. Jo flere elever, jo længere mod højre – og jo smallere «tragt». "
            "Grænserne viser, hvor langt en skoles kønsforskel kan ligge fra kommunens skoler samlet af ren "
            "tilfældighed. Hver 20. skole ventes uden for 95 %-grænserne (stiplet) selv uden reel forskel, så én skole "
            "derude er ikke i sig selv et fund; uden for 99,8 %-grænserne (prikket) ventes 1 af 500. Den effektive "
            "størrelse er antallet af elever, justeret for at drenge og piger ikke er lige mange. Skoler med for få "
            "drenge eller piger er ikke med."))._repr_html_()

    def other_gaps(self) -> Block:
        """Every dimension's gender gap at the latest round in one compact table."""
        g = self.slice("gender_gaps")
        g = g[(g["niveau"] == "skole") & (g["runde"] == self.latest_round)].set_index("dimension")
        g = g.reindex([d for d in config.DIMENSIONS if d in g.index])
        lo, hi = _holm_or_plain(g)
        return Block(anchored("tabel-koensforskelle-alle", fmt.table(pd.DataFrame({
            "Dimension": [config.DIMENSIONS[d] for d in g.index],
            "Drenge": [fmt.num(v) for v in g["mean_dreng"]], "Piger": [fmt.num(v) for v in g["mean_pige"]],
            "Forskel": [fmt.diff(a, b) for a, b in zip(g["mean_dreng"], g["mean_pige"])],
            "Interval (Holm-justeret)": [_interval(x, y) for x, y in zip(lo, hi)],
            "Hedges' g (interval)": _g_texts(g),
            "p (Holm)": [fmt.num(v, 3) for v in g["p_adj"]],
        }), f"Kønsforskelle i alle dimensioner, {self.latest_round} (drenge − piger)")), para(
            "Intervallerne er justeret som p-værdierne for, at syv dimensioner testes på én gang (Holm): et interval "
            "uden 0 svarer præcis til p < 0,05.", "dp-note"))

    def school_names(self) -> dict[str, str]:
        schools = pd.read_parquet(self.folder / "schools.parquet")
        return dict(zip(schools["institutionsnummer"], schools["skolenavn"]))

    # --- absence -------------------------------------------------------------------------------
    def _school_and_municipality(self, dimension: str, height: int) -> tuple[pd.DataFrame, go.Figure]:
        """One dimension per round: the school (with its 95 % interval) and the municipality."""
        fig = go.Figure()
        values = {}
        for niveau in ("skole", "kommune"):
            sub = self._means(niveau)
            sub = sub[sub["dimension"] == dimension].set_index("runde").reindex(self.rounds)
            values[niveau] = sub["mean"]
            err = ({"type": "data", "symmetric": False, "array": (sub["ci_high"] - sub["mean"]).round(1).tolist(),
                    "arrayminus": (sub["mean"] - sub["ci_low"]).round(1).tolist()} if niveau == "skole" else None)
            fig.add_trace(go.Scatter(x=self.rounds, y=sub["mean"].round(1).tolist(), name=LEVEL_LABELS[niveau],
                                     mode="lines+markers", error_y=err,
                                     line={"color": COLOURS[niveau], "dash": DASHES[niveau]},
                                     marker={"symbol": SYMBOLS[niveau], "size": 10},
                                     hovertemplate="%{x}: %{y:.0f}<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
        plots.layout(fig, f"{config.DIMENSIONS[dimension]}: skolen og kommunen pr. runde", height=height)
        fig.update_yaxes(title="Score (500-skala)")
        frame = pd.DataFrame({"Runde": self.rounds, "Skolen": [fmt.num(v) for v in values["skole"]],
                              "Kommunen": [fmt.num(v) for v in values["kommune"]],
                              "Skolen − kommunen": [fmt.diff(a, b) for a, b in zip(values["skole"], values["kommune"])]})
        return frame, fig

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
        land = self._land("fravaer_pct", year)
        table = {}
        for niveau in ("skole", "kommune", "program"):
            sub = a[a["niveau"] == niveau]
            if sub.empty:
                continue
            r = sub.iloc[0]
            ys = [_round(r[f"{t}_pct"], 2) for t in types] + [_round(r["samlet_pct"], 2)]
            table[LEVEL_LABELS[niveau]] = [fmt.pct(v) for v in ys]
            fig.add_trace(go.Bar(
                x=list(range(len(types) + 1)), y=ys, customdata=[config.ABSENCE_TYPES[t] for t in types] + ["Samlet"],
                name=LEVEL_LABELS[niveau], marker={"color": COLOURS[niveau],
                                                   "pattern": {"shape": {"skole": "", "kommune": "/", "program": "."}[niveau]}},
                hovertemplate="%{customdata}: %{y:.1f} %<extra>" + LEVEL_LABELS[niveau] + "</extra>",
            ))
        if pd.notna(land):  # a line across the whole "Samlet" group, not a mark on one of its bars
            fig.add_trace(go.Scatter(x=[len(types) - 0.45, len(types) + 0.45], y=[land, land], mode="lines",
                                     name="Landet (kun samlet)", line={"color": COLOURS["land"], "dash": "dash", "width": 3},
                                     hovertemplate="Landet: %{y:.1f} %<extra></extra>"))
            table["Landet"] = [fmt.SUPPRESSED] * len(types) + [fmt.pct(land)]
        plots.layout(fig, f"Fravær efter type, skoleåret {year}", barmode="group")
        fig.update_xaxes(tickvals=list(range(len(types) + 1)), ticktext=[config.ABSENCE_TYPES[t] for t in types] + ["Samlet"],
                         range=[-0.5, len(types) + 0.5])
        fig.update_yaxes(title="Fravær (% af skoledage)", ticksuffix=" %", rangemode="tozero")
        school = a[a["niveau"] == "skole"].iloc[0]
        kom = a[a["niveau"] == "kommune"]["samlet_pct"]
        text = (f"Skolens samlede fravær var {fmt.pct(school['samlet_pct'])} af skoledagene i skoleåret {year}"
                + (f" mod kommunens {fmt.pct(kom.iloc[0])}" if len(kom) and pd.notna(kom.iloc[0]) else "")
                + (f" og landets {fmt.pct(land)}." if pd.notna(land) else "."))
        frame = pd.DataFrame({"Type": [config.ABSENCE_TYPES[t] for t in types] + ["Samlet"], **table})
        note = "Landets tal offentliggøres kun samlet, ikke pr. type." if pd.notna(land) else ""
        return Block(plots.show(fig, "absence-type", alt=text, table="#tal-absence-type"),
                     data_table("tal-absence-type", frame, f"Fravær efter type, {year} (% af skoledagene)", note),
                     how_to_read(
            "Søjlerne viser den gennemsnitlige andel af skoledagene, eleverne var fraværende, fordelt på "
            "sygefravær, lovligt fravær (med tilladelse) og ulovligt fravær. Den stiplede streg over «Samlet» er "
            "landets offentliggjorte tal, som kun findes samlet."))

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
        for gtype in ("koen", "klassetrin"):
            sub = s[s["gruppe_type"] == gtype].copy()
            if gtype == "klassetrin":
                sub = sub.assign(o=sub["gruppe"].astype(int)).sort_values("o")
            for r in sub.itertuples():
                name = GENDER_LABELS.get(r.gruppe, f"{r.gruppe}. kl.")
                kk = k["samlet_pct"].get((gtype, r.gruppe))
                rows.append([name, fmt.count(r.n), fmt.pct(r.samlet_pct), fmt.pct(r.sygdom_pct), fmt.pct(r.lovligt_pct),
                             fmt.pct(r.ulovligt_pct), fmt.banded(r.andel_over_10_pct, getattr(r, "andel_over_10_pct_tekst", "")),
                             fmt.pct(kk)])
        parts.append(anchored("tabel-fravaer-grupper", fmt.table(pd.DataFrame(rows, columns=[
            "Gruppe", "Elever", "Samlet", "Syg", "Lovligt", "Ulovligt", "Andel over 10 %", "Kommunen samlet"]),
            f"Fravær pr. køn og klassetrin, {year}")))
        month = self.slice("absence_month")
        month = month[month["skoleaar"] == year]
        if len(month):
            fig = go.Figure()
            by = {}
            for niveau in ("skole", "kommune"):
                sub = month[month["niveau"] == niveau].sort_values("periode")
                by[niveau] = sub.set_index("periode")["samlet_pct"]
                fig.add_trace(go.Scatter(x=[_month(p_) for p_ in sub["periode"]], y=sub["samlet_pct"].round(2).tolist(),
                                         mode="lines+markers", name=LEVEL_LABELS[niveau],
                                         line={"color": COLOURS[niveau], "dash": DASHES[niveau]},
                                         marker={"symbol": SYMBOLS[niveau]},
                                         hovertemplate="%{x}: %{y:.1f} %<extra>" + LEVEL_LABELS[niveau] + "</extra>"))
            plots.layout(fig, f"Samlet fravær pr. måned, {year}", height=340)
            fig.update_yaxes(title="Fravær (%)", ticksuffix=" %", rangemode="tozero")
            periods = sorted(set(month["periode"]))
            own = by["skole"].dropna()
            alt = (f"Skolens fravær var højest i {_month(own.idxmax())} ({fmt.pct(own.max())}) og lavest i "
                   f"{_month(own.idxmin())} ({fmt.pct(own.min())})." if len(own) else f"Fravær pr. måned, {year}.")
            frame = pd.DataFrame({"Måned": [_month(p_) for p_ in periods],
                                  **{LEVEL_LABELS[n]: [fmt.pct(by[n].get(p_)) for p_ in periods] for n in by}})
            parts += [plots.show(fig, "absence-month", alt=alt, table="#tal-absence-month"),
                      data_table("tal-absence-month", frame, f"Samlet fravær pr. måned, {year}"), how_to_read(
                "Fraværet følger årstiden: sygefraværet topper typisk om vinteren. Se efter måneder, hvor skolen "
                "bevæger sig væk fra kommunen.")]
        trig = self.slice("absence_triggers")
        trig = trig[trig["skoleaar"] == year].set_index("niveau")
        all_ = a[a["gruppe_type"] == "alle"].set_index("niveau")
        land = self._land("andel_over_10pct_fravaer", year)

        def cell(frame, niveau, col, f):
            return fmt.banded(frame[col].get(niveau), _text(frame, col, niveau), f) if niveau in frame.index else fmt.SUPPRESSED

        parts.append(anchored("tabel-10-procent", fmt.table(pd.DataFrame({
            "Regel": ["Andel elever med over 10 % samlet fravær (statistik)",
                      "Elever med mindst 10 % ulovligt fravær i et kvartal (forældre orienteres)",
                      "Elever med mindst 15 % ulovligt fravær i et kvartal (kommunen underrettes)"],
            "Skolen": [cell(all_, "skole", "andel_over_10_pct", fmt.pct), cell(trig, "skole", "ulovligt_10", fmt.count),
                       cell(trig, "skole", "ulovligt_15", fmt.count)],
            "Kommunen": [cell(all_, "kommune", "andel_over_10_pct", fmt.pct), cell(trig, "kommune", "ulovligt_10", fmt.count),
                         cell(trig, "kommune", "ulovligt_15", fmt.count)],
            "Landet": [fmt.pct(land), fmt.SUPPRESSED, fmt.SUPPRESSED],
        }), f"De to 10 %-regler, {year}")))
        parts.append(para("To forskellige regler: statistikken over elever med mere end 10 % fravær i alt (alle "
                          "fraværstyper, hele året), og lovens regel om 10 % <em>ulovligt</em> fravær inden for et "
                          "kvartal. Antal på 1–3 elever vises som «højst 3». Landets tal findes kun for statistikken.",
                          "dp-note"))
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
        by = {}
        for niveau in ("skole", "kommune"):
            sub = w[w["niveau"] == niveau].sort_values("orden")
            by[niveau] = sub.set_index("fravaersgruppe")["mean"]
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
        bands = [b for b in w.sort_values("orden")["fravaersgruppe"].unique()]
        own = by["skole"].reindex(bands).dropna()
        alt = (f"På skolen har elever med {own.index[0]} fravær en faglig trivsel på {fmt.num(own.iloc[0])}, elever "
               f"med {own.index[-1]} fravær {fmt.num(own.iloc[-1])}." if len(own) > 1 else
               "Faglig trivsel efter elevernes fravær.") + rtext
        frame = pd.DataFrame({"Fravær": bands, **{LEVEL_LABELS[n]: [fmt.num(by[n].get(b)) for b in bands] for n in by}})
        return Block(plots.show(fig, "absence-wellbeing", alt=alt, table="#tal-absence-wellbeing"),
                     data_table("tal-absence-wellbeing", frame, f"Faglig trivsel ({runde}) efter samlet fravær"),
                     how_to_read(
            "Søjlerne viser den gennemsnitlige faglige trivsel for elever med lidt og meget fravær, med 95 %-interval. "
            "Elever med højt fravær trives ofte dårligere fagligt – men figuren viser en sammenhæng, ikke hvad der er "
            "årsag." + rtext))._repr_html_()

    # --- the plan and the method -----------------------------------------------------------------
    def action_plan(self) -> Block:
        """Handleplan template (Ståsted, Mål, Tiltag og tegn, Evaluering) pre-filled with the flagged points."""
        f = self.school_flags()
        points = f.itertuples() if len(f) else []
        blocks = []
        for i, r in enumerate(points, 1):
            blocks.append(
                f'<table class="dp-table dp-plan"><caption>Indsats {i}: {html.escape(r.overskrift)}</caption><tbody>'
                f'<tr><th scope="row">Ståsted</th><td>{html.escape(r.budskab)} <span class="dp-note">'
                f"{html.escape(r.tal)}</span></td></tr>"
                f'<tr><th scope="row">Mål</th><td class="dp-fill"></td></tr>'
                f'<tr><th scope="row">Tiltag og tegn</th><td class="dp-fill"></td></tr>'
                f'<tr><th scope="row">Evaluering</th><td class="dp-fill"></td></tr></tbody></table>')
        if not blocks:
            blocks.append('<table class="dp-table dp-plan"><caption>Indsats</caption><tbody>'
                          + "".join(f'<tr><th scope="row">{h}</th><td class="dp-fill"></td></tr>'
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
        """The method note: scores, statistics, intervals, suppression and the flag rules."""
        from . import flags as flags_mod

        rules = "".join(f"<li><strong>{r}</strong>: {html.escape(t)}</li>" for r, t in RULE_TEXT.items())
        return Block(
            para("<strong>Scorer.</strong> En dimensionsscore er gennemsnittet af elevens besvarede spørgsmål i "
                 "dimensionen (omvendte spørgsmål vendes). Eleven tæller kun med, hvis hun har svaret på mindst "
                 "halvdelen af spørgsmålene på sit skema. Scorerne standardiseres, så programmets elever i T1 har "
                 "gennemsnit 500 og spredning 100; T2 og T3 ligger på samme skala."),
            para("<strong>Statistik.</strong> Konfidensintervaller for gennemsnit bygger på t-fordelingen. "
                 "Kønsforskelle og ændringer testes med Welchs t-test (ulige varianser). Skolens afvigelse fra kommunen "
                 "testes med en t-test med skolens egne elever (n − 1 frihedsgrader), ikke en normalfordeling, som "
                 "ville gøre små skolers usikkerhed for lille; kommunens gennemsnit regnes som fast, fordi det bygger "
                 "på langt flere elever. Runderne behandles som uafhængige stikprøver (konservativt, da mange elever "
                 "svarer i flere runder)."),
            para("<strong>Flere test på én gang.</strong> Når syv dimensioner testes på én gang, korrigeres "
                 "p-værdierne med Holms metode, så der højst er 5 % risiko for at fremhæve blot én tilfældig forskel. "
                 "Intervallerne ved de korrigerede p-værdier («Holm-justeret») er justeret på samme måde: hvert "
                 "interval er taget på det niveau, Holms trinvise test brugte for netop den dimension (mellem 95 % og "
                 "99,3 % = 1 − 0,05/7). Derfor rummer et Holm-justeret interval ikke 0, præcis når den korrigerede "
                 "p-værdi er under 0,05 – intervallet og testen siger det samme. Intervaller, der kun står med "
                 "«95 %», er ukorrigerede; de hører til en enkelt test (målene, kønsforskellens udvikling, fraværet) "
                 "eller beskriver et gennemsnit og skal ikke læses som en test af forskelle."),
            para("<strong>Effektstørrelse.</strong> Hedges' g er forskellen divideret med den fælles spredning "
                 "(korrigeret for små grupper) og vises med sit interval på samme niveau som forskellens. På en lille "
                 "skole er intervallet bredt: en stor g på få elever kan sagtens være tilfældig."),
            para("<strong>Tragtplottet.</strong> Grænserne er kommunens skoler samlet ± 1,96 og ± 3,09 standardfejl "
                 "(normalfordelingen; Spiegelhalter 2005). Af tilfældighed ventes 5 % af skolerne uden for "
                 "95 %-grænserne og 0,2 % uden for 99,8 %-grænserne; billedteksten siger, hvor mange det er i kommunen."),
            para("<strong>Afrunding.</strong> En forskel ved siden af to afrundede tal er forskellen mellem de viste "
                 "tal (505 − 531 = −26), så tabellen kan regnes efter; intervallet og p-værdien bygger på de "
                 "uafrundede tal."),
            para(f"<strong>Diskretionering.</strong> Spørgeskematal på {config.MIN_SURVEY_N} eller færre besvarelser og "
                 f"andre tal på {config.MIN_OTHER_N} eller færre elever vises ikke (–), og heller ikke et tal, som et skjult "
                 "tal kunne regnes ud fra (fx det andet køn, når totalen vises). En forskel eller ændring vises kun, når "
                 "begge tal, den bygger på, vises."),
            f'<p id="metode-regler"><strong>Opmærksomhedspunkter.</strong> Et punkt kræver statistisk belæg (p &lt; '
            f"{fmt.num(flags_mod.ALPHA, 2)} efter korrektion) og en forskel, der er stor nok til at betyde noget:</p>",
            f"<ul>{rules}</ul>",
        )


#: The page's sections (anchor, title) in order: the notebook's headings carry these anchors.
SECTIONS = [("kort-fortalt", "Kort fortalt"), ("opmaerksomhedspunkter", "Opmærksomhedspunkter"),
            ("datagrundlag", "Datagrundlag"), ("kortlaegning", "Kortlægning"),
            ("koensforskelle", "Kønsforskelle i faglig trivsel"), ("fravaer", "Fravær"), ("handleplan", "Handleplan"),
            ("data-og-metode", "Data og metode")]


def _gender_sentence(g, runde: str, dimension: str) -> str:
    """'Drengenes faglige trivsel er 482 mod pigernes 508 i T3: 26 point lavere, og forskellen er statistisk sikker.'"""
    d, p = fmt.rounded(g["mean_dreng"]), fmt.rounded(g["mean_pige"])
    label = {"faglig_trivsel": "faglige trivsel"}.get(dimension, config.DIMENSIONS[dimension].lower())
    if d == p:
        size = "lige høj"
    else:
        size = f"{fmt.num(abs(d - p))} point {'lavere' if d < p else 'højere'}"
    sure = pd.notna(g.get("p_adj")) and g["p_adj"] < 0.05
    verdict = ("forskellen er statistisk sikker" if sure else
               "forskellen kan være tilfældig" if pd.notna(g.get("p_adj")) else "forskellen kan ikke testes")
    return f"Drengenes {label} er {fmt.num(d)} mod pigernes {fmt.num(p)} i {runde}: {size}, og {verdict}."


def _has_figure(regel: str) -> bool:
    return regel in ("koensforskel", "voksende_koensforskel", "under_kommunen", "fald")


def _holm_or_plain(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The interval that agrees with the Holm test (every Holm-corrected table has it)."""
    return frame["ci_low_holm"], frame["ci_high_holm"]


def _g_texts(frame: pd.DataFrame) -> list[str]:
    """Hedges' g with its interval at the same level as the difference's: '−0,27 (−0,48 til −0,06)'."""
    return [f"{fmt.num(g, 2, sign=True)} ({_interval(lo, hi, decimals=2)})" if pd.notna(g) else fmt.SUPPRESSED
            for g, lo, hi in zip(frame["hedges_g"], frame["g_ci_low_holm"], frame["g_ci_high_holm"])]


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1] if items else ""


def _and_count(n: int) -> str:
    return f"de øvrige {fmt.plural(n, 'dimension', 'dimensioner')}" if n != 1 else "den sidste dimension"


def _at(frame: pd.DataFrame, niveau: str, year: str, col: str, default=np.nan):
    sub = frame[(frame["niveau"] == niveau) & (frame["skoleaar"] == year)]
    return sub[col].iloc[0] if len(sub) and col in sub else default


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


def _interval(lo, hi, sign: bool = True, decimals: int = 0) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return fmt.SUPPRESSED
    return f"{fmt.num(lo, decimals, sign=sign)} til {fmt.num(hi, decimals, sign=sign)}"


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
