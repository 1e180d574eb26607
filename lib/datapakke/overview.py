"""Kommuneoversigt: all of a municipality's schools side by side, and the themes that recur.

For the skolechef and the consultant who prepare the skoleudviklingssamtaler and choose the
year's learning workshops (DOMAIN.md §1, step 4).  One page per municipality, executed by
papermill from ``notebooks/kommune.ipynb`` into ``reports/<kommune>/index.ipynb``.

It answers, in this order: which schools need attention and on what (the
opmærksomhedspunkter of the published ``flags`` table per school, and counted per theme across
schools: "Elevfravær: 7 af 18 skoler"); how the schools compare (survey dimensions, the faglig
trivsel gender gap and absence against the municipality, the programme and the country);
how far the response rates carry; and how each school developed T1 → T2 → T3.

Like the school report, this module reads only the published tables
(``<version>/publication/*.parquet``) — never a pupil row.  A suppressed cell is NaN there and is shown
as "–" (``fmt``).  The pure functions (``theme_counts``, ``school_table``, ``response_table``,
``development_table``) return plain aggregated frames, so they can be tested and exported.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq
from plotly.subplots import make_subplots

from . import config, flags as flags_mod, fmt, plots, store
from .datapackage import download_note, overview_info
from .params import slug
from .plots import COLOURS, LEVEL_LABELS
from .report import Block, brief, contents, data_table, how_to_read, para, ref, said, warning

PROGRAM = "program"

#: Short Danish labels for table headers and heat-map columns (soft hyphens let them wrap).
SHORT = {
    "faglig_trivsel": "Faglig trivsel",
    "social_trivsel": "Social trivsel",
    "laeringsmotivation": "Lærings\u00admotivation",
    "relation_til_laererne": "Relation til lærerne",
    "klasseledelse": "Klasse\u00adledelse",
    "foraeldreinvolvering": "Forældre\u00adinvolvering",
    "fravaer_af_mobning": "Fravær af mobning",
}
#: The rules of flags.py in plain Danish, as counted across schools.
RULE_LABELS = {
    "svarprocent": "Lav svarprocent",
    "under_kommunen": "Dimension under kommunens niveau",
    "fald": "Fald siden forrige runde",
    "koensforskel": "Kønsforskel",
    "voksende_koensforskel": "Voksende kønsforskel i faglig trivsel",
    "fravaer_stigning": "Stigende fravær",
    "bekymrende_fravaer": "Mange elever med bekymrende fravær",
}
THEME_ORDER = list(dict.fromkeys(flags_mod.THEMES.values()))
#: The page's sections (anchor, title) in order: the notebook's headings carry these anchors.
SECTIONS = [("kort-fortalt", "Kort fortalt"), ("skoler-og-punkter", "Hvilke skoler skal vi se på?"),
            ("temaer", "Temaer på tværs af skolerne"), ("side-om-side", "Skolerne side om side"),
            ("koensforskelle", "Kønsforskelle i faglig trivsel"), ("fravaer", "Fravær"),
            ("svarprocent", "Svarprocent"), ("udvikling", "Udvikling T1 → T2 → T3"), ("metode", "Metode")]
#: Diverging colours (colour-blind safe): red = worse than the municipality, blue = better.
WORSE, BETTER = "#b2182b", "#2166ac"
DIVERGING = [[0.0, WORSE], [0.5, "#f7f7f7"], [1.0, BETTER]]

SORT_SCRIPT = """<script>
if (!window.dpSortTable) {
  window.dpSortTable = function (button) {
    var th = button.closest('th'), table = th.closest('table'), body = table.tBodies[0];
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[idx].getAttribute('data-v'), y = b.cells[idx].getAttribute('data-v');
      var ex = (x === null || x === ''), ey = (y === null || y === '');
      if (ex || ey) { return ex === ey ? 0 : (ex ? 1 : -1); }  /* suppressed always last */
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, 'da');
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
  };
}
</script>"""


def sortable_head(labels: list[str]) -> str:
    """Header cells that sort their table: a real button in each (keyboard and screen reader), aria-sort on the cell."""
    return "".join(f'<th scope="col"><button type="button" onclick="dpSortTable(this)" '
                   f'title="Sortér efter denne kolonne">{h}</button></th>' for h in labels)


# --- pure functions over aggregates ---------------------------------------------------------
def theme_counts(flags: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """How many of the schools have opmærksomhedspunkter, per theme, per rule and per rule × dimension.

    ``flags``: rows of the published ``flags`` table; ``schools``: the schools counted (the
    denominator), with ``institutionsnummer`` and ``skolenavn``.  One row per group:
    ``niveau`` ('tema' | 'regel' | 'dimension'), ``tema``, ``regel``, ``dimension``, ``skoler``
    (schools with at least one such point), ``skoler_i_alt``, ``andel_pct``, ``punkter`` (number
    of points), ``skolenavne`` (sorted, '; '-joined) and ``tekst`` ("Elevfravær: 7 af 18 skoler").
    Every theme appears, also with 0 schools, so a theme nobody has is visible as such.
    """
    ids = schools["institutionsnummer"].astype(str)
    names = dict(zip(ids, schools["skolenavn"]))
    total = len(ids)
    f = flags[(flags["niveau"] == "skole") & flags["kode"].astype(str).isin(set(ids))].copy()
    f["kode"] = f["kode"].astype(str)
    f["dimension"] = f["dimension"].fillna("").astype(str)
    cols = ["niveau", "tema", "regel", "dimension", "skoler", "skoler_i_alt", "andel_pct", "punkter",
            "skolenavne", "tekst"]

    def row(niveau, tema, regel, dimension, sub, label):
        codes = sorted(set(sub["kode"]))
        n = len(codes)
        return {"niveau": niveau, "tema": tema, "regel": regel, "dimension": dimension, "skoler": n,
                "skoler_i_alt": total, "andel_pct": n / total * 100 if total else np.nan, "punkter": len(sub),
                "skolenavne": "; ".join(sorted(names[c] for c in codes)),
                "tekst": f"{label}: {n} af {total} skoler"}

    rows = []
    for tema in THEME_ORDER:
        rows.append(row("tema", tema, "", "", f[f["tema"] == tema], tema))
        for regel in [r for r, t in flags_mod.THEMES.items() if t == tema]:
            sub = f[f["regel"] == regel]
            rows.append(row("regel", tema, regel, "", sub, RULE_LABELS.get(regel, regel)))
            for dim in [d for d in config.DIMENSIONS if d in set(sub["dimension"])]:
                rows.append(row("dimension", tema, regel, dim, sub[sub["dimension"] == dim],
                                f"{RULE_LABELS.get(regel, regel)}: {config.DIMENSIONS[dim].lower()}"))
    return pd.DataFrame(rows, columns=cols)


def flag_phrase(regel: str, dimension: str, vaerdi: float) -> str:
    """A flag in a few words for the school × theme table ('Relation til lærerne under kommunen')."""
    dim = config.DIMENSIONS.get(dimension, "") if dimension else ""
    if regel == "svarprocent":
        return f"Svarprocent {fmt.pct(vaerdi, 0)}"
    if regel == "under_kommunen":
        return f"{dim} under kommunen"
    if regel == "fald":
        return f"{dim} faldet"
    if regel == "koensforskel":
        who = "drenge" if pd.notna(vaerdi) and vaerdi < 0 else "piger"
        return f"{dim}: {who} lavere"
    if regel == "voksende_koensforskel":
        return "Kønsforskel i faglig trivsel vokset"
    if regel == "fravaer_stigning":
        return "Fraværet steget"
    if regel == "bekymrende_fravaer":
        return "Mange med over 10 % fravær"
    return RULE_LABELS.get(regel, regel)


def school_table(schools: pd.DataFrame, means: pd.DataFrame, gaps: pd.DataFrame, absence: pd.DataFrame,
                 rates: pd.DataFrame, flags: pd.DataFrame, national: pd.DataFrame, municipality_code: str,
                 latest_round: str, school_year: str) -> pd.DataFrame:
    """One row per school plus the rows 'kommune', 'program' and 'land': the figures side by side.

    Columns: niveau, kode, navn, svarprocent (latest round), one column per survey dimension
    (mean, latest round, all pupils), koensforskel (faglig trivsel, boys − girls) with
    koensforskel_lav/_hoej (the interval that agrees with the Holm test, ``gaps.holm_intervals``)
    and koensforskel_p (Holm), fravaer_pct and
    over_10_pct (school year), trivsel_faglig (the national survey's faglig trivsel, 1–5) and
    punkter (number of opmærksomhedspunkter).  Values are the aggregates' own (suppressed → NaN).
    """
    levels = [("skole", str(k)) for k in schools["institutionsnummer"]] + [
        ("kommune", str(municipality_code)), ("program", PROGRAM), ("land", "DK")]
    out = pd.DataFrame(levels, columns=["niveau", "kode"])
    names = dict(zip(schools["institutionsnummer"].astype(str), schools["skolenavn"]))
    out["navn"] = [names.get(k) if n == "skole" else
                   {"kommune": "Kommunen", "program": "Programmet", "land": "Landet"}[n] for n, k in levels]
    key = ["niveau", "kode"]

    rr = rates[(rates["klassetrin"] == "alle") & (rates["runde"] == latest_round)]
    out = out.merge(rr[key + ["svarprocent", *[c for c in ["svarprocent_tekst"] if c in rr]]], on=key, how="left")
    m = means[(means["runde"] == latest_round) & (means["gruppe_type"] == "alle")]
    wide = m.pivot_table(index=key, columns="dimension", values="mean", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=[d for d in config.DIMENSIONS if d in wide.columns]).reset_index()
    out = out.merge(wide, on=key, how="left")
    g = gaps[(gaps["runde"] == latest_round) & (gaps["dimension"] == "faglig_trivsel")]
    lo, hi = ("ci_low_holm", "ci_high_holm") if "ci_low_holm" in g.columns else ("ci_low", "ci_high")
    g = g[key + ["diff", lo, hi, "p_adj"]].rename(columns={
        "diff": "koensforskel", lo: "koensforskel_lav", hi: "koensforskel_hoej", "p_adj": "koensforskel_p"})
    out = out.merge(g, on=key, how="left")
    if len(absence):
        a = absence[(absence["gruppe_type"] == "alle") & (absence["skoleaar"] == school_year)]
        a = a[key + ["samlet_pct", "andel_over_10_pct", *[c for c in ["andel_over_10_pct_tekst"] if c in a]]].rename(
            columns={"samlet_pct": "fravaer_pct", "andel_over_10_pct": "over_10_pct",
                     "andel_over_10_pct_tekst": "over_10_pct_tekst"})
        out = out.merge(a, on=key, how="left")
    else:
        out["fravaer_pct"] = np.nan
        out["over_10_pct"] = np.nan
    nat = national[national["skoleaar"] == school_year]
    land = nat[nat["niveau"] == "land"].set_index("indikator")["vaerdi"]
    for col, ind in (("fravaer_pct", "fravaer_pct"), ("over_10_pct", "andel_over_10pct_fravaer")):
        if ind in land.index:
            out.loc[out["niveau"] == "land", col] = float(land[ind])
    tf = nat[nat["indikator"] == "faglig_trivsel"][key + ["vaerdi"]].rename(columns={"vaerdi": "trivsel_faglig"})
    out = out.merge(tf.drop_duplicates(key), on=key, how="left")
    counts = flags[flags["niveau"] == "skole"].groupby("kode").size()
    out["punkter"] = [float(counts.get(k, 0)) if n == "skole" else np.nan for n, k in zip(out["niveau"], out["kode"])]
    return out


def response_table(rates: pd.DataFrame, schools: pd.DataFrame, rounds: list[str], municipality_code: str) -> pd.DataFrame:
    """Svarprocent (and pupils, respondents) per school and round, plus the municipality row."""
    ids = schools["institutionsnummer"].astype(str).tolist()
    r = rates[(rates["klassetrin"] == "alle")
              & (((rates["niveau"] == "skole") & rates["kode"].isin(ids))
                 | ((rates["niveau"] == "kommune") & (rates["kode"] == str(municipality_code))))]
    names = dict(zip(ids, schools["skolenavn"]))
    out = r[["niveau", "kode", "runde", "elever", "besvarelser", "svarprocent",
             *[c for c in ("besvarelser_tekst", "svarprocent_tekst") if c in r]]].copy()
    out["navn"] = [names.get(k, "Kommunen") if n == "skole" else "Kommunen" for n, k in zip(out["niveau"], out["kode"])]
    out = out[out["runde"].isin(rounds)]
    return out.sort_values(["niveau", "navn", "runde"], key=lambda s: s.map({"skole": 0, "kommune": 1})
                           if s.name == "niveau" else s).reset_index(drop=True)


def development_table(means: pd.DataFrame, rounds: list[str]) -> pd.DataFrame:
    """Mean per level × code × dimension × round (all pupils), with the 95 % CI: T1 → T2 → T3."""
    m = means[(means["gruppe_type"] == "alle") & means["runde"].isin(rounds)]
    return m[["niveau", "kode", "dimension", "runde", "n", "mean", "ci_low", "ci_high"]].reset_index(drop=True)


# --- the page ---------------------------------------------------------------------------------
def wrap(label: str, width: int = 14) -> str:
    """Break a long axis label into lines (plotly's <br>) so labels never overlap."""
    words, lines = label.split(), [""]
    for w in words:
        if lines[-1] and len(lines[-1]) + 1 + len(w) > width:
            lines.append(w)
        else:
            lines[-1] = f"{lines[-1]} {w}".strip()
    return "<br>".join(lines)


def _column_label(dimension: str) -> str:
    """A heat-map column label in lines: words wrapped, long words split at their soft hyphen."""
    return wrap(SHORT[dimension].replace("\u00ad", "-\u00a0"), 12).replace("-\u00a0", "-<br>")


def _value(x) -> str:
    """A sort key for the table's data-v attribute: empty for a suppressed or missing cell."""
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x) else f"{float(x):.4f}"


def _round_list(values, d: int = 1) -> list:
    return [None if pd.isna(v) else round(float(v), d) for v in values]


@dataclass
class MunicipalityOverview:
    """One municipality's schools, read from the aggregates; one method per page section."""

    municipality_code: str
    municipality: str
    school_year: str
    rounds: list[str]
    folder: Path
    demo: bool
    schools: pd.DataFrame
    linked: set[str] | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, municipality_code: str, processed_dir: str | Path | None = None, site_root: str = "../",
             reports_dir: str | Path | None = None) -> "MunicipalityOverview":
        """The municipality's view of the aggregates.

        ``reports_dir``: the folder of the built school reports; if given, only schools whose
        report is there get a link (a partial build never links to a missing page).
        """
        processed = Path(processed_dir) if processed_dir else config.Paths.default().processed
        version = store.current(processed)
        agg = store.published(version)
        schools = pd.read_parquet(agg / "schools.parquet")
        mine = schools[schools["kommunekode"] == str(municipality_code)].sort_values("skolenavn").reset_index(drop=True)
        if mine.empty:
            raise ValueError(f"Kommunen {municipality_code} findes ikke i de behandlede data ({version}).")
        rounds = pd.read_parquet(agg / "rounds.parquet")
        linked = None
        if reports_dir:
            linked = {p.name.split("-", 1)[0] for p in Path(reports_dir).glob("*-*.ipynb") if not p.name.startswith(".")}
        plots.configure(site_root)
        ov = cls(municipality_code=str(municipality_code), municipality=str(mine["kommune"].iloc[0]),
                 school_year=str(rounds["skoleaar"].max()), rounds=rounds["runde"].tolist(), folder=agg,
                 demo=store.is_demo(version), schools=mine, linked=linked)
        return ov

    # --- data access ---------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return self.schools["institutionsnummer"].astype(str).tolist()

    @property
    def latest_round(self) -> str:
        return self.rounds[-1]

    def read(self, name: str) -> pd.DataFrame:
        """The municipality's schools, the municipality and the programme rows of one aggregate."""
        if name not in self.tables:
            path = self.folder / f"{name}.parquet"
            if not path.is_file():
                self.tables[name] = pd.DataFrame()
            else:
                filters = [[("niveau", "=", "skole"), ("kode", "in", self.ids)],
                           [("niveau", "=", "kommune"), ("kode", "=", self.municipality_code)],
                           [("niveau", "=", "program"), ("kode", "=", PROGRAM)]]
                if name == "national":
                    filters.append([("niveau", "=", "land")])
                if "niveau" not in pq.read_schema(path).names:  # school-only tables (deviation)
                    filters = [("kode", "in", self.ids)]
                self.tables[name] = pq.read_table(path, filters=filters).to_pandas()
        return self.tables[name]

    def flags(self) -> pd.DataFrame:
        f = self.read("flags")
        return f[f["niveau"] == "skole"].reset_index(drop=True) if len(f) else pd.DataFrame(columns=flags_mod.COLUMNS)

    def overview_table(self) -> pd.DataFrame:
        return school_table(self.schools, self.read("survey_means"), self.read("gender_gaps"), self.read("absence"),
                            self.read("response_rates"), self.flags(), self.read("national"),
                            self.municipality_code, self.latest_round, self.school_year)

    def has_absence(self) -> bool:
        a = self.read("absence")
        return bool(len(a)) and a[(a["niveau"] == "skole")]["samlet_pct"].notna().any()

    def name(self, school_id: str) -> str:
        return dict(zip(self.ids, self.schools["skolenavn"]))[school_id]

    def link(self, school_id: str) -> str:
        """The school's name, linked to its report (same folder) when it was built."""
        name = html.escape(self.name(school_id))
        if self.linked is not None and school_id not in self.linked:
            return name
        return f'<a href="{school_id}-{slug(self.name(school_id))}.html">{name}</a>'

    # --- sections ------------------------------------------------------------------------------
    def banner(self) -> Block:
        return Block(fmt.demo_banner(self.demo))

    def heading(self) -> Block:
        """The line under the title (which names the municipality), and the page's table of contents."""
        return Block(para(f"Kommunekode {self.municipality_code} · {fmt.plural(len(self.schools), 'skole', 'skoler')} · "
                          f"kortlægningens runder {', '.join(self.rounds)} · fravær og trivselsmåling fra skoleåret "
                          f"{self.school_year}", "dp-meta"), contents(SECTIONS))

    def summary(self) -> Block:
        """Kort fortalt: the points, the commonest theme, the gender gap, absence and response — each linked."""
        f = self.flags()
        total = len(self.schools)
        with_points = f["kode"].nunique() if len(f) else 0
        themes = theme_counts(f, self.schools)
        items = [said(f"{with_points} af kommunens {total} skoler har mindst ét opmærksomhedspunkt i år "
                      f"({fmt.plural(len(f), 'punkt', 'punkter')} i alt).",
                      ref("tabel", "#tabel-punkter", "opmærksomhedspunkter pr. skole"))]
        top = themes[(themes["niveau"] == "regel") & (themes["skoler"] > 0)].sort_values("skoler", ascending=False,
                                                                                         kind="stable")
        if len(top):
            r = top.iloc[0]
            items.append(said(f"Det hyppigste punkt er {RULE_LABELS[r.regel].lower()}: {r.skoler} af {total} skoler.",
                              ref("figur", "#figur-kommune-temaer", "antal skoler pr. regel"),
                              ref("tabel", "#tabel-temaer", "temaer på tværs af skolerne")))
        tab = self.overview_table()
        s = tab[(tab["niveau"] == "skole") & tab["koensforskel"].notna()]
        k = tab[tab["niveau"] == "kommune"].iloc[0]
        if len(s):
            sure = s["koensforskel_p"] < flags_mod.ALPHA
            lower = int((sure & (s["koensforskel"] < 0)).sum())
            kom = (f"; i kommunen samlet ligger drengene {fmt.num(abs(k['koensforskel']))} point "
                   f"{'under' if k['koensforskel'] < 0 else 'over'} pigerne" if pd.notna(k["koensforskel"]) else "")
            items.append(said(f"På {lower} af {fmt.plural(len(s), 'skole', 'skoler')} trives drengene statistisk sikkert "
                              f"dårligere fagligt end pigerne i {self.latest_round}{kom}.",
                              ref("figur", "#figur-kommune-koensforskel", "kønsforskel pr. skole"),
                              ref("tal", "#tal-kommune-koensforskel", "kønsforskel pr. skole")))
        a = tab[(tab["niveau"] == "skole") & tab["fravaer_pct"].notna()]
        if len(a):
            land = tab.loc[tab["niveau"] == "land", "fravaer_pct"]
            ref_text = (f"kommunen samlet {fmt.pct(k['fravaer_pct'])}" if pd.notna(k["fravaer_pct"]) else "") + (
                f", landet {fmt.pct(land.iloc[0])}" if len(land) and pd.notna(land.iloc[0]) else "")
            items.append(said(f"Skolernes samlede fravær lå mellem {fmt.pct(a['fravaer_pct'].min())} og "
                              f"{fmt.pct(a['fravaer_pct'].max())} af skoledagene i {self.school_year}"
                              + (f" ({ref_text})" if ref_text else "") + ".",
                              ref("figur", "#figur-kommune-fravaer", "fravær pr. skole"),
                              ref("tal", "#tal-kommune-fravaer", "fravær pr. skole")))
        low = tab[(tab["niveau"] == "skole") & (tab["svarprocent"] < config.LOW_RESPONSE_RATE_PCT)]
        limit = fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)
        items.append(said(
            (f"{fmt.plural(len(low), 'skole', 'skoler')} havde under {limit} svar i {self.latest_round}; læs "
             f"{'dens' if len(low) == 1 else 'deres'} tal med forsigtighed." if len(low) else
             f"Alle skoler med vist svarprocent havde mindst {limit} svar i {self.latest_round}."),
            ref("tabel", "#tabel-svarprocent", "svarprocent pr. skole og runde")))
        return Block(brief(items[:5]))

    def attention(self) -> Block:
        """Opmærksomhedspunkter per school and theme: which schools need attention, and on what."""
        f = self.flags()
        rows = []
        counts = f.groupby("kode").size() if len(f) else pd.Series(dtype=float)
        order = sorted(self.ids, key=lambda k: (-counts.get(k, 0), self.name(k)))
        for k in order:
            sub = f[f["kode"] == k]
            cells = [f'<td class="dp-left">{self.link(k)}</td>', f'<td data-v="{int(counts.get(k, 0))}">'
                     f'{int(counts.get(k, 0))}</td>']
            for tema in THEME_ORDER:
                t = sub[sub["tema"] == tema]
                items = [html.escape(flag_phrase(r.regel, r.dimension, r.vaerdi)) for r in t.itertuples()]
                cls = ' class="dp-left dp-hit"' if items else ' class="dp-left"'
                cells.append(f'<td{cls} data-v="{len(items) or ""}">{"<br>".join(items)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        head = sortable_head(["Skole", "Punkter", *[html.escape(t) for t in THEME_ORDER]])
        table = (f'{SORT_SCRIPT}<div class="dp-scroll" id="tabel-punkter"><table class="dp-table dp-sortable dp-attention">'
                 f"<caption>Opmærksomhedspunkter pr. skole og tema ({self.latest_round} / {self.school_year})</caption>"
                 f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
        return Block(table, how_to_read(
            "Hver linje er en skole, sorteret efter antal opmærksomhedspunkter. Punkterne findes af de samme faste "
            "regler som i skolernes datapakker og kræver statistisk belæg; en tom celle betyder, at ingen regel slår "
            "ud – ikke at alt er godt. Klik på en kolonneoverskrift for at sortere; klik på skolens navn for at "
            "åbne dens datapakke."))

    def themes(self) -> Block:
        """Themes across schools: how many schools have points on each theme and rule (workshop basis)."""
        f = self.flags()
        t = theme_counts(f, self.schools)
        total = len(self.schools)
        rules = t[t["niveau"] == "regel"].copy()
        rules["label"] = [RULE_LABELS[r] for r in rules["regel"]]
        theme_colour = dict(zip(THEME_ORDER, ["#7F7F7F", "#009E73", "#CC79A7", "#E69F00"]))
        fig = go.Figure()
        for tema in THEME_ORDER:
            sub = rules[rules["tema"] == tema]
            fig.add_trace(go.Bar(
                y=[f"{tema}: {lab}" for lab in sub["label"]], x=sub["skoler"].tolist(), orientation="h", name=tema,
                marker={"color": theme_colour.get(tema, "#999")},
                text=[f"{n} af {total}" for n in sub["skoler"]], textposition="outside", cliponaxis=False,
                customdata=sub["skolenavne"].str.replace("; ", "<br>").tolist(),
                hovertemplate="%{y}: %{x} skoler<br>%{customdata}<extra></extra>"))
        plots.layout(fig, "Antal skoler med opmærksomhedspunkter pr. regel", height=120 + 34 * len(rules),
                     showlegend=False)
        fig.update_xaxes(title="Antal skoler", range=[0, max(total, 1) * 1.12], dtick=max(1, math.ceil(total / 10)))
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(margin={"l": 330})
        thm = t[t["niveau"].isin(["tema", "dimension"])]
        lines = []
        for r in thm.itertuples():
            if r.niveau == "tema":
                lines.append([f"<strong>{html.escape(r.tema)}</strong>", f"<strong>{r.skoler} af {total}</strong>",
                              fmt.count(r.punkter), self._names(r.skolenavne)])
            elif r.skoler:
                lines.append([f"&nbsp;&nbsp;{html.escape(RULE_LABELS[r.regel])}: {html.escape(config.DIMENSIONS[r.dimension].lower())}",
                              f"{r.skoler} af {total}", fmt.count(r.punkter), self._names(r.skolenavne)])
        body = "".join("<tr>" + "".join(f'<td class="{"dp-left" if i in (0, 3) else ""}">{c}</td>'
                                        for i, c in enumerate(row)) + "</tr>" for row in lines)
        table = ('<table class="dp-table dp-themes" id="tabel-temaer"><caption>Temaer på tværs af skolerne</caption><thead><tr>'
                 "<th>Tema</th><th>Skoler</th><th>Punkter</th><th>Hvilke skoler</th></tr></thead>"
                 f"<tbody>{body}</tbody></table>")
        top = rules.sort_values("skoler", ascending=False, kind="stable").iloc[0] if len(rules) else None
        alt = (f"Flest skoler har punkter om {top['label'].lower()}: {top['skoler']} af {total}."
               if top is not None and top["skoler"] > 0 else
               f"Ingen af kommunens {fmt.plural(total, 'skole', 'skoler')} har opmærksomhedspunkter i år.")
        parts = [plots.show(fig, "kommune-temaer", alt=alt, table="#tabel-temaer"), table]
        if not self.has_absence():
            parts.append(para(f"{html.escape(self.municipality)} Kommune har ikke indberettet fravær, så temaet "
                              "elevfravær kan ikke slå ud (manglende fravær er ikke 0)."))
        parts.append(how_to_read(
            "Søjlerne tæller skoler, ikke punkter: en skole med to dimensioner under kommunen tæller én gang i "
            "den søjle. Tabellen deler kortlægningens og kønsforskellenes punkter op på dimensioner – det er "
            "grundlaget for at vælge årets fælles læringsværksteder."))
        return Block(*parts)

    def _names(self, joined: str) -> str:
        if not joined:
            return ""
        by_name = dict(zip(self.schools["skolenavn"], self.ids))
        return ", ".join(self.link(by_name[n]) for n in joined.split("; "))

    def comparison(self) -> Block:
        """Heat map: every school's survey dimensions, gender gap and absence against the municipality."""
        tab = self.overview_table()
        dims = [d for d in config.DIMENSIONS if d in tab.columns]
        dev = self.read("deviation")
        dev = dev[dev["runde"] == self.latest_round] if len(dev) else dev
        sig = {(r.kode, r.dimension): (r.p_adj < flags_mod.ALPHA and abs(r.diff) >= flags_mod.MIN_POINTS)
               for r in dev.itertuples()} if len(dev) else {}
        school = tab[tab["niveau"] == "skole"].copy()
        kom = tab[tab["niveau"] == "kommune"].iloc[0]
        prog = tab[tab["niveau"] == "program"].iloc[0]
        school["avg_dev"] = school[dims].sub(kom[dims].astype(float)).mean(axis=1)
        school = school.sort_values(["avg_dev", "navn"], na_position="last")
        refs = tab[tab["niveau"].isin(["kommune", "program"])]
        rows = pd.concat([school, refs], ignore_index=True)
        ylab = [html.escape(str(n)) if lvl == "skole" else f"<i>{n}</i>" for n, lvl in zip(rows["navn"], rows["niveau"])]

        def cell(v, mark=""):
            return fmt.SUPPRESSED if pd.isna(v) else fmt.num(v) + mark

        z, text = [], []
        for r in rows.itertuples():
            zr, tr = [], []
            for d in dims:
                v = getattr(r, d)
                zr.append(None if pd.isna(v) else round(float(v) - float(kom[d]), 1))
                mark = ""
                if r.niveau == "skole" and sig.get((r.kode, d)):
                    mark = " ▼" if v < kom[d] else " ▲"
                tr.append(cell(v, mark))
            z.append(zr)
            text.append(tr)
        span = max(20.0, np.nanmax(np.abs(np.array(z, dtype=float))) if np.isfinite(np.array(z, dtype=float)).any() else 20.0)
        has_abs = self.has_absence()  # a municipality that reports no absence gets no absence column
        cols = 3 if has_abs else 2
        widths = [0.72, 0.14, 0.14] if has_abs else [0.82, 0.18]
        fig = make_subplots(rows=1, cols=cols, shared_yaxes=True, column_widths=widths, horizontal_spacing=0.015,
                            subplot_titles=[f"Kortlægningen {self.latest_round} (500-skala)",
                                            "Kønsforskel<br>faglig trivsel", "Fravær %<br>" + self.school_year][:cols])
        heat = go.Heatmap(
            z=z, x=[_column_label(d) for d in dims], y=ylab, text=text,
            colorscale=DIVERGING, zmid=0, zmin=-span, zmax=span, showscale=False, xgap=2, ygap=2,
            hovertemplate="%{y} · %{x}: %{text}<br>forskel fra kommunen %{z:+.0f}<extra></extra>")
        fig.add_trace(heat, 1, 1)
        fig.add_trace(plots.heatmap_labels(heat, text), 1, 1)
        gap = rows["koensforskel"]
        gspan = max(20.0, float(np.nanmax(np.abs(gap))) if gap.notna().any() else 20.0)
        gap_sig = [(pd.notna(p) and p < flags_mod.ALPHA) for p in rows["koensforskel_p"]]
        gap_text = [[cell(v) if pd.isna(v) else fmt.num(v, sign=True) + (" *" if s else "")] for v, s in zip(gap, gap_sig)]
        heat = go.Heatmap(
            z=[[None if pd.isna(v) else -abs(round(float(v), 1))] for v in gap], x=["Drenge − piger"], y=ylab,
            text=gap_text, colorscale=[[0, WORSE], [1, "#f7f7f7"]], zmin=-gspan, zmax=0, showscale=False,
            xgap=2, ygap=2, hovertemplate="%{y}: drenge − piger %{text}<extra></extra>")
        fig.add_trace(heat, 1, 2)
        fig.add_trace(plots.heatmap_labels(heat, gap_text), 1, 2)
        if has_abs:
            a = rows["fravaer_pct"].astype(float)
            ref = float(kom["fravaer_pct"]) if pd.notna(kom["fravaer_pct"]) else float(np.nanmean(a))
            aspan = max(2.0, float(np.nanmax(np.abs(a - ref))))
            abs_text = [[fmt.pct(v)] for v in a]
            heat = go.Heatmap(
                z=[[None if pd.isna(v) else round(ref - v, 2)] for v in a], x=["Samlet fravær"], y=ylab,
                text=abs_text, colorscale=DIVERGING, zmid=0,
                zmin=-aspan, zmax=aspan, showscale=False, xgap=2, ygap=2,
                hovertemplate="%{y}: fravær %{text}<extra></extra>")
            fig.add_trace(heat, 1, 3)
            fig.add_trace(plots.heatmap_labels(heat, abs_text), 1, 3)
        plots.layout(fig, f"Skolerne side om side: {self.municipality} Kommune",
                     height=160 + 30 * len(rows), showlegend=False)
        fig.update_yaxes(autorange="reversed", showline=False, showgrid=False, tickfont={"size": 12})
        fig.update_xaxes(side="top", showline=False, showgrid=False, tickangle=0, tickfont={"size": 11})
        fig.update_layout(margin={"l": 190, "t": 120, "r": 10, "b": 20})
        fig.update_annotations(yshift=38, font={"size": 13})
        note = para(f"Programmets gennemsnit i {self.latest_round}: " + ", ".join(
            f"{config.DIMENSIONS[d].lower()} {fmt.num(prog[d])}" for d in dims) + ".", "dp-note")
        by_code = school.set_index("kode")
        marked = [(k, d) for (k, d), hit in sig.items() if hit and k in by_code.index and d in dims]
        below = sum(1 for k, d in marked if by_code.at[k, d] < kom[d])
        alt = (f"{fmt.plural(len(school), 'skole', 'skoler')} side om side: {fmt.count(below)} "
               f"{'skoleresultat' if below == 1 else 'skoleresultater'} ligger statistisk sikkert mindst 10 point under "
               f"kommunen (▼), {fmt.count(len(marked) - below)} over (▲). Øverst står "
               f"{html.escape(str(school['navn'].iloc[0]))} med den laveste gennemsnitlige kortlægning.") if len(school) else None
        return Block(plots.show(fig, "kommune-heatmap", alt=alt, table="#tabel-alle-skoler"), note, how_to_read(
            "Tallene er skolernes gennemsnit; farven viser forskellen fra kommunens gennemsnit (rød: lavere/dårligere, "
            "blå: højere/bedre). ▼ og ▲ markerer en forskel på mindst 10 point, der er statistisk sikker (Holm-korrigeret "
            "p < 0,05) – kun de er opmærksomhedspunkter. Kønsforskellen er drenge minus piger; jo større forskel "
            "(uanset retning), jo rødere; * = statistisk sikker. For fravær er rød mere fravær end kommunen. Skolerne "
            "står med den laveste gennemsnitlige kortlægning øverst. – = for få besvarelser."))

    def table(self) -> Block:
        """The sortable table of every school's figures, with the municipality, the programme and the country."""
        tab = self.overview_table()
        dims = [d for d in config.DIMENSIONS if d in tab.columns]
        kom = tab[tab["niveau"] == "kommune"].iloc[0]
        dev = self.read("deviation")
        low_dim = set()
        if len(dev):
            d = dev[(dev["runde"] == self.latest_round) & (dev["p_adj"] < flags_mod.ALPHA)
                    & (dev["diff"] <= -flags_mod.MIN_POINTS)]
            low_dim = set(zip(d["kode"], d["dimension"]))
        spec = [("svarprocent", f"Svar\u00adprocent {self.latest_round}", lambda v: fmt.pct(v, 0)),
                *[(d, SHORT[d], fmt.num) for d in dims],
                ("koensforskel", "Køns\u00adforskel faglig trivsel", lambda v: fmt.num(v, sign=True)),
                ("fravaer_pct", f"Fravær % {self.school_year}", fmt.pct),
                ("over_10_pct", "Elever over 10 % fravær", fmt.pct),
                ("trivsel_faglig", "Trivsels\u00admålingen: faglig trivsel (1–5)", lambda v: fmt.num(v, 2)),
                ("punkter", "Opmærk\u00adsomheds\u00adpunkter", fmt.count)]
        if not tab["trivsel_faglig"].notna().any():
            spec = [s for s in spec if s[0] != "trivsel_faglig"]
        if not self.has_absence():
            spec = [s for s in spec if s[0] not in ("fravaer_pct", "over_10_pct")]

        def low(r, col) -> bool:
            if r["niveau"] != "skole" or pd.isna(r[col]):
                return False
            if col == "svarprocent":
                return r[col] < config.LOW_RESPONSE_RATE_PCT
            if col in config.DIMENSIONS:
                return (r["kode"], col) in low_dim
            if col == "koensforskel":
                return pd.notna(r["koensforskel_p"]) and r["koensforskel_p"] < flags_mod.ALPHA
            if col in ("fravaer_pct", "over_10_pct"):
                return pd.notna(kom[col]) and r[col] > kom[col] + (1.0 if col == "fravaer_pct" else flags_mod.MIN_SHARE_PP)
            return False

        def row(r, name_html: str, tag: str = "td") -> str:
            cells = [f'<{tag} class="dp-left" data-v="{html.escape(str(r["navn"]))}">{name_html}</{tag}>']
            for col, _, f in spec:
                cls = ' class="dp-low"' if low(r, col) else ""
                cells.append(f'<td{cls} data-v="{_value(r[col])}">{html.escape(fmt.banded(r[col], r.get(f"{col}_tekst", ""), f))}</td>')
            return "<tr>" + "".join(cells) + "</tr>"

        body = "".join(row(r, self.link(r["kode"])) for _, r in tab[tab["niveau"] == "skole"].iterrows())
        foot = "".join(row(r, f"<em>{r['navn']}</em>") for _, r in tab[tab["niveau"] != "skole"].iterrows())
        head = sortable_head(["Skole", *[s[1] for s in spec]])
        table = (f'{SORT_SCRIPT}<div class="dp-scroll" id="tabel-alle-skoler"><table class="dp-table dp-sortable dp-overview">'
                 f"<caption>Alle skolers tal ({self.latest_round} / skoleåret {self.school_year})</caption>"
                 f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody><tfoot>{foot}</tfoot></table></div>")
        return Block(table, f'<p class="dp-note">{fmt.FOOTNOTE} Røde celler: svarprocent under '
                            f'{fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)}, en dimension sikkert mindst 10 point under '
                            "kommunen, en statistisk sikker kønsforskel eller fravær tydeligt over kommunens. Landet: de "
                            "offentliggjorte tal (Uddannelsesstatistik); kortlægningen findes kun i programmet, så landet "
                            "har ingen 500-skala-tal. Trivselsmålingen er den nationale måling på skalaen 1–5.</p>")

    def gender_gaps(self) -> Block:
        """The faglig trivsel gap (boys − girls) per school with 95 % CI; the municipality and programme below."""
        tab = self.overview_table()
        s = tab[tab["niveau"] == "skole"].sort_values("koensforskel", ascending=False, na_position="first")
        shown = s[s["koensforskel"].notna()]
        if shown.empty:
            return Block(para("Der er for få besvarelser fra drenge eller piger til at vise kønsforskellen på skolerne."))
        refs = tab[tab["niveau"].isin(["kommune", "program"]) & tab["koensforskel"].notna()]
        order = [f"<i>{n}</i>" for n in refs["navn"][::-1]] + shown["navn"].tolist()  # bottom → top
        fig = go.Figure()
        sig = shown["koensforskel_p"] < flags_mod.ALPHA
        groups = [(shown[sig], "Statistisk sikker forskel", COLOURS["dreng"], "circle", shown[sig]["navn"].tolist()),
                  (shown[~sig], "Ikke sikker forskel", "#8fa6b8", "circle-open", shown[~sig]["navn"].tolist())]
        for niveau in ("kommune", "program"):
            r = refs[refs["niveau"] == niveau]
            groups.append((r, LEVEL_LABELS[niveau], COLOURS[niveau], plots.SYMBOLS[niveau], [f"<i>{n}</i>" for n in r["navn"]]))
        for sub, label, colour, symbol, ys in groups:
            if sub.empty:
                continue
            fig.add_trace(go.Scatter(
                x=_round_list(sub["koensforskel"]), y=ys, mode="markers", name=label,
                marker={"color": colour, "size": 10, "symbol": symbol, "line": {"width": 2, "color": colour}},
                error_x={"type": "data", "symmetric": False,
                         "array": _round_list(sub["koensforskel_hoej"] - sub["koensforskel"]),
                         "arrayminus": _round_list(sub["koensforskel"] - sub["koensforskel_lav"]), "color": colour},
                hovertemplate="%{y}: %{x:+.0f}<extra></extra>"))
        fig.add_vline(x=0, line={"color": "#888"})
        height = 190 + 30 * len(order)
        plots.layout(fig, f"Kønsforskel i faglig trivsel, {self.latest_round} (drenge − piger)", height=height)
        fig.update_xaxes(title="Point på 500-skalaen (negativ: drengene lavere)")
        fig.update_yaxes(categoryorder="array", categoryarray=order)
        fig.update_layout(margin={"l": 190, "t": 90}, legend={"y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"})
        missing = s["koensforskel"].isna().sum()
        note = para(f"{fmt.plural(missing, 'skole', 'skoler')} er udeladt: for få drenge eller piger har svaret.",
                    "dp-note") if missing else None
        lower = int(((shown["koensforskel"] < 0) & sig).sum())
        kom = refs[refs["niveau"] == "kommune"]["koensforskel"]
        higher = int(((shown["koensforskel"] > 0) & sig).sum())
        alt = (f"På {fmt.count(lower)} af {fmt.plural(len(shown), 'skole', 'skoler')} er drengenes faglige trivsel "
               "statistisk sikkert lavere end pigernes" + (f", på {fmt.count(higher)} højere" if higher else "")
               + (f"; i kommunen samlet er forskellen {fmt.num(kom.iloc[0], sign=True)} point." if len(kom) else "."))
        rows = [[self.name(r.kode), fmt.num(r.koensforskel, sign=True),
                 f"{fmt.num(r.koensforskel_lav, sign=True)} til {fmt.num(r.koensforskel_hoej, sign=True)}",
                 fmt.num(r.koensforskel_p, 3), "ja" if r.koensforskel_p < flags_mod.ALPHA else "nej"]
                for r in shown.iloc[::-1].itertuples()]
        rows += [[r.navn, fmt.num(r.koensforskel, sign=True),
                  f"{fmt.num(r.koensforskel_lav, sign=True)} til {fmt.num(r.koensforskel_hoej, sign=True)}",
                  fmt.num(r.koensforskel_p, 3), "ja" if r.koensforskel_p < flags_mod.ALPHA else "nej"]
                 for r in refs.itertuples()]
        table = data_table("tal-kommune-koensforskel", pd.DataFrame(rows, columns=[
            "Skole", "Drenge − piger", "Interval (Holm-justeret)", "p (Holm)", "Sikker forskel?"]),
            f"Kønsforskel i faglig trivsel, {self.latest_round} (point)")
        return Block(plots.show(fig, "kommune-koensforskel", alt=alt, table="#tal-kommune-koensforskel"), table,
                     note, how_to_read(
            "Hver prik er en skoles forskel mellem drenges og pigers faglige trivsel; stregen er intervallet, justeret "
            "som p-værdien for, at syv dimensioner testes (Holm): fyldte prikker er statistisk sikre forskelle "
            "(Holm-korrigeret p < 0,05), og kun deres interval ligger helt på den ene side af 0. Nederst kommunen og "
            "programmet. "
            "Små skoler har brede intervaller – en stor forskel på en lille skole kan være tilfældig."))

    def absence(self) -> Block:
        """Absence per school by type, sorted; the municipality, programme and country as rows below."""
        if not self.has_absence():
            return Block(para(f"{html.escape(self.municipality)} Kommune har ikke indberettet fravær. "
                              "Manglende fravær vises ikke som 0."))
        a = self.read("absence")
        a = a[(a["gruppe_type"] == "alle") & (a["skoleaar"] == self.school_year)]
        s = a[a["niveau"] == "skole"].copy()
        s["navn"] = [self.name(k) for k in s["kode"]]
        s = s.sort_values("samlet_pct", na_position="first")
        refs = []
        for niveau in ("kommune", "program"):
            r = a[a["niveau"] == niveau].copy()
            if len(r):
                refs.append(r.assign(navn=f"<i>{LEVEL_LABELS[niveau]}</i>"))
        rows = pd.concat(refs[::-1] + [s], ignore_index=True)  # bottom → top: programme, municipality, schools
        fig = go.Figure()
        for t, label in config.ABSENCE_TYPES.items():
            fig.add_trace(go.Bar(y=rows["navn"].tolist(), x=_round_list(rows[f"{t}_pct"], 2), name=label, orientation="h",
                                 marker={"color": COLOURS[t]}, hovertemplate="%{y}: %{x:.1f} %<extra>" + label + "</extra>"))
        land = self.read("national")
        land = land[(land["niveau"] == "land") & (land["indikator"] == "fravaer_pct") & (land["skoleaar"] == self.school_year)]
        order = rows["navn"].tolist()
        if len(land):
            name = f"<i>{LEVEL_LABELS['land']}</i>"
            fig.add_trace(go.Bar(y=[name], x=[round(float(land["vaerdi"].iloc[0]), 2)], orientation="h",
                                 name="Landet (samlet, Uddannelsesstatistik)", marker={"color": "#bdbdbd"},
                                 hovertemplate="Landet: %{x:.1f} %<extra></extra>"))
            order = [name] + order
        kom = a.loc[a["niveau"] == "kommune", "samlet_pct"]
        if len(kom) and pd.notna(kom.iloc[0]):
            fig.add_vline(x=float(kom.iloc[0]), line={"color": COLOURS["kommune"], "dash": "dash", "width": 2})
        plots.layout(fig, f"Fravær pr. skole efter type, skoleåret {self.school_year}", barmode="stack",
                     height=190 + 28 * len(order))
        fig.update_xaxes(title="Fravær (% af skoledage)", ticksuffix=" %")
        fig.update_yaxes(categoryorder="array", categoryarray=order)
        fig.update_layout(margin={"l": 190, "t": 90}, legend={"y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left",
                                                             "traceorder": "normal"})
        missing = s["samlet_pct"].isna().sum()
        note = para(f"{fmt.plural(missing, 'skole', 'skoler')} har for få elever eller intet indberettet fravær (–).",
                    "dp-note") if missing else None
        known = s.dropna(subset=["samlet_pct"])
        alt = None
        if len(known):
            alt = (f"Skolernes samlede fravær ligger mellem {fmt.pct(known['samlet_pct'].min())} og "
                   f"{fmt.pct(known['samlet_pct'].max())} af skoledagene"
                   + (f"; kommunen samlet {fmt.pct(kom.iloc[0])}" if len(kom) and pd.notna(kom.iloc[0]) else "")
                   + (f", landet {fmt.pct(land['vaerdi'].iloc[0])}" if len(land) else "") + ". Det meste er sygefravær.")
        listed = rows.iloc[::-1]  # top → bottom, as in the figure
        numbers = [[str(r.navn).replace("<i>", "").replace("</i>", ""), fmt.pct(r.sygdom_pct), fmt.pct(r.lovligt_pct),
                    fmt.pct(r.ulovligt_pct), fmt.pct(r.samlet_pct)] for r in listed.itertuples()]
        if len(land):
            numbers.append(["Landet", fmt.SUPPRESSED, fmt.SUPPRESSED, fmt.SUPPRESSED, fmt.pct(land["vaerdi"].iloc[0])])
        table = data_table("tal-kommune-fravaer", pd.DataFrame(numbers, columns=["Skole", "Syg", "Lovligt", "Ulovligt", "Samlet"]),
                           f"Fravær pr. skole, skoleåret {self.school_year} (% af skoledagene)")
        return Block(plots.show(fig, "kommune-fravaer", alt=alt, table="#tal-kommune-fravaer"), table, note, how_to_read(
            "Hver søjle er en skoles gennemsnitlige fravær i procent af skoledagene, delt i sygefravær, lovligt og "
            "ulovligt fravær; skolen med mest fravær står øverst. Nederst kommunen, programmet og landet (landets tal "
            "findes kun samlet). Den stiplede linje er kommunens samlede fravær."))

    def response_rates(self) -> Block:
        """Svarprocent per school and round; the schools below the threshold are named."""
        rt = response_table(self.read("response_rates"), self.schools, self.rounds, self.municipality_code)
        wide = rt.pivot_table(index=["niveau", "kode"], columns="runde", values="svarprocent", aggfunc="first", dropna=False)
        texts = rt.assign(t=rt.get("svarprocent_tekst", pd.Series("", index=rt.index)).fillna("")).pivot_table(
            index=["niveau", "kode"], columns="runde", values="t", aggfunc="first")
        pupils = rt[rt["runde"] == self.latest_round].set_index(["niveau", "kode"])["elever"]
        limit = config.LOW_RESPONSE_RATE_PCT
        rows = []
        for niveau, kode in [("skole", k) for k in self.ids] + [("kommune", self.municipality_code)]:
            name = self.link(kode) if niveau == "skole" else "<em>Kommunen</em>"
            cells = [f'<td class="dp-left" data-v="{html.escape(self.name(kode) if niveau == "skole" else "")}">{name}</td>',
                     f'<td data-v="{_value(pupils.get((niveau, kode)))}">{fmt.count(pupils.get((niveau, kode)))}</td>']
            for r in self.rounds:
                v = wide.at[(niveau, kode), r] if (niveau, kode) in wide.index and r in wide.columns else np.nan
                cls = ' class="dp-low"' if niveau == "skole" and pd.notna(v) and v < limit else ""
                t = texts.at[(niveau, kode), r] if (niveau, kode) in texts.index and r in texts.columns else ""
                cells.append(f'<td{cls} data-v="{_value(v)}">{html.escape(fmt.banded(v, t, lambda x: fmt.pct(x, 0)))}</td>')
            rows.append(("tfoot" if niveau == "kommune" else "tbody", "<tr>" + "".join(cells) + "</tr>"))
        head = sortable_head(["Skole", f"Elever {self.latest_round}", *[f"Svarprocent {r}" for r in self.rounds]])
        body = "".join(r for part, r in rows if part == "tbody")
        foot = "".join(r for part, r in rows if part == "tfoot")
        table = (f'{SORT_SCRIPT}<table class="dp-table dp-sortable" id="tabel-svarprocent"><caption>Svarprocent pr. skole og runde</caption>'
                 f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody><tfoot>{foot}</tfoot></table>")
        parts = []
        for r in self.rounds:
            sub = rt[(rt["niveau"] == "skole") & (rt["runde"] == r) & (rt["svarprocent"] < limit)]
            if len(sub):
                names = ", ".join(f"{self.link(k)} ({fmt.pct(v, 0)})" for k, v in zip(sub["kode"], sub["svarprocent"]))
                parts.append(warning(f"{r}: {fmt.plural(len(sub), 'skole', 'skoler')} under {fmt.pct(limit, 0)}: {names}."))
        if not parts:
            parts.append(para(f"Alle skoler havde en svarprocent på mindst {fmt.pct(limit, 0)} i alle runder.", "dp-ok"))
        dash = f">{fmt.SUPPRESSED}<" in body + foot
        return Block(*parts, table, para(
            (f"{fmt.FOOTNOTE} " if dash else "") + "Svarprocenten er besvarelser i forhold til skolens elever det "
            f"skoleår. Under {fmt.pct(limit, 0)} kan de elever, der ikke svarede, trives anderledes end dem, der gjorde.",
            "dp-note"))

    def development(self) -> Block:
        """T1 → T2 → T3: the municipality per dimension, and each school in small multiples (dimension menu)."""
        dev = development_table(self.read("survey_means"), self.rounds)
        dims = [d for d in config.DIMENSIONS if d in set(dev["dimension"])]
        kom = dev[dev["niveau"] == "kommune"]
        palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
        fig = go.Figure()
        symbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "triangle-down"]
        dashes = ["solid", "dash", "dot", "dashdot", "longdash", "solid", "dash"]
        for d, colour, symbol, dash in zip(dims, palette, symbols, dashes):  # colour, marker and dash apart
            sub = kom[kom["dimension"] == d].set_index("runde").reindex(self.rounds)
            fig.add_trace(go.Scatter(
                x=self.rounds, y=_round_list(sub["mean"]), name=config.DIMENSIONS[d], mode="lines+markers",
                line={"color": colour, "dash": dash}, marker={"size": 9, "symbol": symbol},
                error_y={"type": "data", "symmetric": False, "array": _round_list(sub["ci_high"] - sub["mean"]),
                         "arrayminus": _round_list(sub["mean"] - sub["ci_low"]), "thickness": 1},
                hovertemplate="%{x}: %{y:.0f}<extra>" + config.DIMENSIONS[d] + "</extra>"))
        fig.add_hline(y=500, line={"color": "#bbb", "dash": "dot"})
        plots.layout(fig, f"{self.municipality} Kommune: kortlægningen pr. runde", height=440)
        fig.update_yaxes(title="Score (500-skala)")
        fig.update_layout(legend={"y": -0.15})

        ids = self.ids
        ncol = 4
        nrow = math.ceil(len(ids) / ncol)
        small = make_subplots(rows=nrow, cols=ncol, shared_yaxes="all", shared_xaxes="all",
                              subplot_titles=[self.name(k) for k in ids], vertical_spacing=min(0.3 / max(nrow, 1), 0.08),
                              horizontal_spacing=0.03)
        school = dev[dev["niveau"] == "skole"]
        keys = []
        for di, d in enumerate(dims):
            k_sub = kom[kom["dimension"] == d].set_index("runde").reindex(self.rounds)
            for i, k in enumerate(ids):
                sub = school[(school["kode"] == k) & (school["dimension"] == d)].set_index("runde").reindex(self.rounds)
                row, col = i // ncol + 1, i % ncol + 1
                # a hidden trace has no legend entry: the first school's pair of each dimension carries it
                small.add_trace(go.Scatter(
                    x=self.rounds, y=_round_list(k_sub["mean"]), mode="lines", line={"color": COLOURS["kommune"], "dash": "dash"},
                    name="Kommunen", legendgroup="kommune", showlegend=i == 0,
                    hovertemplate="Kommunen %{x}: %{y:.0f}<extra></extra>"), row, col)
                small.add_trace(go.Scatter(
                    x=self.rounds, y=_round_list(sub["mean"]), mode="lines+markers", line={"color": COLOURS["skole"]},
                    marker={"size": 7}, name="Skolen", legendgroup="skole", showlegend=i == 0,
                    error_y={"type": "data", "symmetric": False, "thickness": 1,
                             "array": _round_list(sub["ci_high"] - sub["mean"]),
                             "arrayminus": _round_list(sub["mean"] - sub["ci_low"])},
                    hovertemplate=html.escape(self.name(k)) + " %{x}: %{y:.0f}<extra></extra>"), row, col)
                keys += [{"dimension": d}] * 2
        height = 110 + 165 * nrow
        plots.layout(small, "Hver skole pr. runde", height=height)
        small.update_layout(legend={"y": -40 / height, "yanchor": "top"})
        small.update_annotations(font={"size": 12})
        small.update_xaxes(showline=True, tickfont={"size": 10})
        choose = plots.Filter("dimension", "Dimension", [(d, config.DIMENSIONS[d]) for d in dims], dims[0])
        lines = kom.pivot_table(index="dimension", columns="runde", values="mean", aggfunc="first").reindex(dims)
        first, last = self.rounds[0], self.latest_round
        moved = lines[last] - lines[first] if first in lines and last in lines else pd.Series(dtype=float)
        alt = None
        if moved.notna().any():
            big = moved.abs().idxmax()
            alt = (f"Kommunens gennemsnit fra {first} til {last}: den største ændring er i "
                   f"{config.DIMENSIONS[big].lower()}, fra {fmt.num(lines.at[big, first])} til "
                   f"{fmt.num(lines.at[big, last])} ({fmt.diff(lines.at[big, last], lines.at[big, first])} point).")
        k_rows = pd.DataFrame({"Dimension": [config.DIMENSIONS[d] for d in dims],
                               **{r: [fmt.num(lines.at[d, r]) if r in lines else fmt.SUPPRESSED for d in dims]
                                  for r in self.rounds}})
        s_rows = []
        for d in dims:
            for k in ids:
                sub = school[(school["kode"] == k) & (school["dimension"] == d)].set_index("runde")["mean"]
                s_rows.append([config.DIMENSIONS[d], self.name(k), *[fmt.num(sub.get(r)) for r in self.rounds]])
        s_table = pd.DataFrame(s_rows, columns=["Dimension", "Skole", *self.rounds])
        school_alt = (f"Et panel pr. skole med skolens gennemsnit i hver af de {len(self.rounds)} runder og kommunens "
                      f"(stiplet); vælg dimension over figuren. Viser først {config.DIMENSIONS[dims[0]].lower()} for "
                      f"{fmt.plural(len(ids), 'skole', 'skoler')}.")
        return Block(
            plots.show(fig, "kommune-udvikling", alt=alt, table="#tal-kommune-udvikling"),
            data_table("tal-kommune-udvikling", k_rows, f"{self.municipality} Kommune: gennemsnit pr. runde (500-skala)"),
            how_to_read(
                "Linjerne viser kommunens gennemsnit i hver runde for de syv dimensioner, med 95 %-interval. Ændringer "
                "fra runde til runde er for det meste små; se skolernes datapakker for, hvilke ændringer der er "
                "statistisk sikre."),
            plots.show(small, "kommune-udvikling-skoler", alt=school_alt, table="#tal-kommune-udvikling-skoler",
                       filters=[choose], keys=keys),
            data_table("tal-kommune-udvikling-skoler", s_table, "Skolernes gennemsnit pr. dimension og runde (500-skala)"),
            how_to_read(
                "Et lille panel pr. skole: skolens gennemsnit (grøn, med 95 %-interval) og kommunens (stiplet). Vælg "
                "dimension i feltet over figuren. – Mangler et punkt, var der for få besvarelser."))

    def downloads(self) -> Block:
        """The page's tables to download: one Excel workbook, and CSV for Danish Excel."""
        return Block(download_note("index_data", overview_info(self.municipality_code, self.municipality),
                                   details=False))

    def method(self) -> Block:
        return Block(
            para("<strong>Datagrundlag.</strong> Siden bygger kun på de aggregerede, diskretionerede tabeller, som "
                 "også skolernes datapakker bygger på – aldrig på enkeltelever. Tal på "
                 f"{config.MIN_SURVEY_N} eller færre besvarelser (spørgeskema) eller {config.MIN_OTHER_N} eller færre "
                 "elever (øvrige tal) vises ikke (–)."),
            para("<strong>Opmærksomhedspunkter.</strong> Reglerne er de samme som i skolernes datapakker (se "
                 "metodeafsnittet dér): et punkt kræver en statistisk sikker forskel eller ændring (p &lt; 0,05 efter "
                 "korrektion), der også er stor nok til at betyde noget. En skole uden punkter er ikke nødvendigvis "
                 "uden udfordringer – små skoler har brede intervaller og får sjældnere punkter."),
            para("<strong>Sammenligning.</strong> Kortlægningen er på 500-skalaen (programmets elever i T1: gennemsnit "
                 "500, spredning 100) og findes for kommunen og programmet, ikke for landet. Landets tal er de "
                 "offentliggjorte fra Uddannelsesstatistik (fravær og trivselsmålingen)."),
        )

