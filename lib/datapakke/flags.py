"""Opmærksomhedspunkter: points of attention raised by explicit, documented rules.

Year-to-year change at one school is mostly noise (only about 1 % of schools' yearly
wellbeing changes are statistically significant), so no rule fires without statistical
support: every survey rule needs a Holm-corrected p < ``ALPHA`` *and* a difference large
enough to matter (``MIN_POINTS`` on the 500/100 scale, i.e. 0,1 SD).  Suppressed cells
never raise a flag.  The rules, in the order a report lists them:

=====================  =======================================================================
rule                   fires when (latest round / school year)
=====================  =======================================================================
svarprocent            response rate below ``config.LOW_RESPONSE_RATE_PCT`` (80 %)
under_kommunen         a dimension is below the municipality: Holm p < 0,05 and ≥ 10 points
fald                   a dimension fell since the previous round: Holm p < 0,05 and ≥ 10 points
koensforskel           boys and girls differ in a dimension: Holm p < 0,05 and |Hedges' g| ≥ 0,2
voksende_koensforskel  the faglig trivsel gender gap widened since the previous round: p < 0,05
fravaer_stigning       total absence rose from last school year: p < 0,05 and ≥ 1 percentage point
bekymrende_fravaer     more pupils above 10 % absence than in the municipality: binomial p < 0,05
                       and ≥ 3 percentage points
=====================  =======================================================================

Each flag carries one plain Danish sentence with its numbers (``budskab``, for the school
leader), the statistics behind it (``tal``: value, interval, p), and a question for the
datasparring.  The interval of a Holm-tested rule is the one that agrees with the Holm test
(``gaps.holm_intervals``: it excludes 0 exactly when the Holm-corrected p < 0,05); a
difference in the text is the difference of the rounded numbers shown beside it.  Flags are computed for every school at once, so the municipality overview
can count which themes recur across schools.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from . import fmt

ALPHA = 0.05
MIN_POINTS = 10.0
MIN_G = 0.2
MIN_ABSENCE_PP = 1.0
MIN_SHARE_PP = 3.0

THEMES = {
    "svarprocent": "Datagrundlag",
    "under_kommunen": "Kortlægning",
    "fald": "Kortlægning",
    "koensforskel": "Kønsforskelle",
    "voksende_koensforskel": "Kønsforskelle",
    "fravaer_stigning": "Elevfravær",
    "bekymrende_fravaer": "Elevfravær",
}
COLUMNS = ["niveau", "kode", "regel", "tema", "dimension", "overskrift", "budskab", "tal", "spoergsmaal",
           "vaerdi", "ci_low", "ci_high", "p"]

#: What a lower score means, in plain Danish, per dimension ("Drengene … end pigerne").
WORSE = {
    "faglig_trivsel": "trives fagligt dårligere",
    "social_trivsel": "trives socialt dårligere",
    "laeringsmotivation": "er mindre motiverede for at lære",
    "relation_til_laererne": "oplever en dårligere relation til lærerne",
    "klasseledelse": "oplever mindre ro og orden i timerne",
    "foraeldreinvolvering": "oplever mindre involvering fra forældrene",
    "fravaer_af_mobning": "oplever mere mobning",
}


def _p(p) -> str:
    return "p < 0,001" if p < 0.001 else f"p = {fmt.num(p, 3)}"


def _row(kode, regel, dimension, overskrift, budskab, tal, spoergsmaal, vaerdi=np.nan, lo=np.nan, hi=np.nan,
         p=np.nan):
    return {"niveau": "skole", "kode": kode, "regel": regel, "tema": THEMES[regel], "dimension": dimension,
            "overskrift": overskrift, "budskab": budskab, "tal": tal, "spoergsmaal": spoergsmaal,
            "vaerdi": vaerdi, "ci_low": lo, "ci_high": hi, "p": p}


def _label(d: str) -> str:
    return config.DIMENSIONS.get(d, d.replace("_", " ").capitalize())


def worse(d: str) -> str:
    """'oplever mindre ro og orden i timerne': what a lower score in the dimension means."""
    return WORSE.get(d, f"scorer lavere på {_label(d).lower()}")


def _holm(x) -> tuple[float, float, str]:
    """The interval that agrees with the Holm test where the table has it, else the plain 95 % interval."""
    lo, hi = getattr(x, "ci_low_holm", np.nan), getattr(x, "ci_high_holm", np.nan)
    if pd.notna(lo) and pd.notna(hi):
        return lo, hi, "Holm-justeret interval"
    return x.ci_low, x.ci_high, "95 %-interval"


def _interval(lo, hi, decimals: int = 0) -> str:
    return f"{fmt.num(lo, decimals, sign=True)} til {fmt.num(hi, decimals, sign=True)}"


def _points(a, b) -> str:
    """|a − b| of the shown (rounded) scores: '28 point'."""
    return f"{fmt.num(abs(fmt.rounded(a) - fmt.rounded(b)))} point"


def response_rate_flags(rr: pd.DataFrame, latest: str) -> list[dict]:
    """Low response in the latest round; a rate shown only as a band ('højst 30 %') counts when it is low."""
    r = rr[(rr["niveau"] == "skole") & (rr["klassetrin"] == "alle") & (rr["runde"] == latest)]
    banded_low = r["svarprocent_status"].eq("lav") if "svarprocent_status" in r else pd.Series(False, index=r.index)
    r = r[(r["svarprocent"] < config.LOW_RESPONSE_RATE_PCT) | banded_low]

    def rate(x) -> str:
        return fmt.banded(x.svarprocent, getattr(x, "svarprocent_tekst", ""), lambda v: fmt.pct(v, 0))

    def answers(x) -> str:
        return fmt.banded(x.besvarelser, getattr(x, "besvarelser_tekst", ""), fmt.count)

    return [_row(x.kode, "svarprocent", "", f"Lav svarprocent i {latest}",
                 f"Kun {rate(x)} af eleverne svarede i {latest} (grænsen er {fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)}). "
                 "De, der ikke svarede, kan trives anderledes, så skolens tal kan give et skævt billede.",
                 f"{rate(x)} af eleverne svarede ({answers(x)} af {fmt.count(x.elever)}); "
                 f"grænsen er {fmt.pct(config.LOW_RESPONSE_RATE_PCT, 0)}.",
                 "Hvem svarede ikke – og kan det ændre billedet? Hvordan sikrer vi svar fra alle næste gang?",
                 x.svarprocent) for x in r.itertuples()]


def deviation_flags(dev: pd.DataFrame, latest: str) -> list[dict]:
    d = dev[(dev["runde"] == latest) & (dev["p_adj"] < ALPHA) & (dev["diff"] <= -MIN_POINTS)]
    rows = []
    for x in d.itertuples():
        lo, hi, what = _holm(x)
        rows.append(_row(
            x.kode, "under_kommunen", x.dimension, f"{_label(x.dimension)} ligger under kommunen",
            f"Skolens elever {worse(x.dimension)} end kommunens elever samlet: {_label(x.dimension).lower()} "
            f"{fmt.num(x.mean)} mod {fmt.num(x.mean_kommune)} point i {latest}, {_points(x.mean, x.mean_kommune)} lavere.",
            f"Skolen {fmt.num(x.mean)} mod kommunens {fmt.num(x.mean_kommune)} i {latest}: forskel "
            f"{fmt.diff(x.mean, x.mean_kommune)} ({what} {_interval(lo, hi)}; Holm-korrigeret {_p(x.p_adj)}).",
            f"Hvad kendetegner elevernes oplevelse af {_label(x.dimension).lower()} hos os, og hvad gør "
            "skoler i kommunen, der ligger højere?", x.diff, lo, hi, x.p_adj))
    return rows


def decline_flags(change: pd.DataFrame, latest: str, means: pd.DataFrame | None = None) -> list[dict]:
    """A dimension fell since the previous round; ``means`` (survey_means) gives the two rounds' scores."""
    c = change[(change["niveau"] == "skole") & (change["gruppe_type"] == "alle") & (change["til"] == latest)
               & (change["p_adj"] < ALPHA) & (change["diff"] <= -MIN_POINTS)]
    score = {}
    if means is not None and len(means):
        m = means[(means["niveau"] == "skole") & (means["gruppe_type"] == "alle")]
        score = dict(zip(zip(m["kode"], m["runde"], m["dimension"]), m["mean"]))
    rows = []
    for x in c.itertuples():
        lo, hi, what = _holm(x)
        a, b = score.get((x.kode, x.fra, x.dimension), np.nan), score.get((x.kode, x.til, x.dimension), np.nan)
        label = _label(x.dimension).lower()
        if pd.notna(a) and pd.notna(b):
            shown = fmt.diff(b, a)
            plain = (f"Eleverne {worse(x.dimension)} end ved sidste kortlægning: {label} faldt fra {fmt.num(a)} i "
                     f"{x.fra} til {fmt.num(b)} i {x.til}, {_points(a, b)}.")
        else:
            shown = fmt.num(x.diff, sign=True)
            plain = (f"Eleverne {worse(x.dimension)} end ved sidste kortlægning: {label} faldt "
                     f"{fmt.num(abs(x.diff))} point fra {x.fra} til {x.til}.")
        rows.append(_row(x.kode, "fald", x.dimension, f"{_label(x.dimension)} er faldet siden {x.fra}", plain,
                         f"Ændring fra {x.fra} til {x.til}: {shown} point ({what} {_interval(lo, hi)}; "
                         f"Holm-korrigeret {_p(x.p_adj)}).",
                         "Hvad er ændret siden sidste kortlægning – i elevgruppen, i undervisningen eller i organiseringen?",
                         x.diff, lo, hi, x.p_adj))
    return rows


def gender_flags(g: pd.DataFrame, change: pd.DataFrame, latest: str) -> list[dict]:
    rows = []
    s = g[(g["niveau"] == "skole") & (g["runde"] == latest) & (g["p_adj"] < ALPHA) & (g["hedges_g"].abs() >= MIN_G)]
    for x in s.itertuples():
        lower, other = ("drengene", "pigerne") if x.diff < 0 else ("pigerne", "drengene")
        lo, hi, what = _holm(x)
        low_mean, high_mean = (x.mean_dreng, x.mean_pige) if x.diff < 0 else (x.mean_pige, x.mean_dreng)
        glo, ghi = getattr(x, "g_ci_low_holm", np.nan), getattr(x, "g_ci_high_holm", np.nan)
        g = f"Hedges' g {fmt.num(x.hedges_g, 2, sign=True)}" + (
            f", interval {_interval(glo, ghi, 2)}" if pd.notna(glo) and pd.notna(ghi) else "")
        rows.append(_row(
            x.kode, "koensforskel", x.dimension, f"Kønsforskel i {_label(x.dimension).lower()}",
            f"{lower.capitalize()} {worse(x.dimension)} end {other}: {_label(x.dimension).lower()} "
            f"{fmt.num(low_mean)} mod {fmt.num(high_mean)} point i {latest}, {_points(low_mean, high_mean)} lavere.",
            f"Drenge {fmt.num(x.mean_dreng)}, piger {fmt.num(x.mean_pige)} i {latest}: forskel "
            f"{fmt.diff(x.mean_dreng, x.mean_pige)} ({what} {_interval(lo, hi)}; {g}; Holm-korrigeret {_p(x.p_adj)}).",
            f"Hvorfor oplever {lower} {_label(x.dimension).lower()} ringere – i hvilke fag, klasser og situationer?",
            x.diff, lo, hi, x.p_adj))
    c = change[(change["niveau"] == "skole") & (change["dimension"] == "faglig_trivsel")
               & (change["to_round"] == latest) & (change["p"] < ALPHA) & (change["abs_change"] > 0)]
    for x in c.itertuples():
        lower = "drengene" if x.diff_to < 0 else "pigerne"
        rows.append(_row(x.kode, "voksende_koensforskel", x.dimension, "Kønsforskellen i faglig trivsel er vokset",
                         f"Forskellen mellem drenge og piger i faglig trivsel er vokset fra {fmt.num(abs(x.diff_from))} "
                         f"point i {x.from_round} til {fmt.num(abs(x.diff_to))} point i {x.to_round}; {lower} ligger lavest.",
                         f"Forskel (drenge − piger) {fmt.num(x.diff_from, sign=True)} i {x.from_round} og "
                         f"{fmt.num(x.diff_to, sign=True)} i {x.to_round}: ændring {fmt.diff(x.diff_to, x.diff_from)} "
                         f"(95 %-interval {_interval(x.ci_low, x.ci_high)}; {_p(x.p)}).",
                         "Hvad kan forklare, at forskellen mellem drenge og piger vokser – og hvem mærker det mest?",
                         x.change, x.ci_low, x.ci_high, x.p))
    return rows


def absence_flags(change: pd.DataFrame, absence: pd.DataFrame, schools: pd.DataFrame) -> list[dict]:
    rows = []
    if change.empty or absence.empty:
        return rows
    latest = change["til"].max()
    c = change[(change["niveau"] == "skole") & (change["til"] == latest) & (change["p"] < ALPHA)
               & (change["diff"] >= MIN_ABSENCE_PP)]
    for x in c.itertuples():
        rows.append(_row(x.kode, "fravaer_stigning", "", "Fraværet er steget",
                         f"Eleverne er mere fraværende end sidste skoleår: samlet fravær {fmt.pct(x.mean_til)} i {x.til} "
                         f"mod {fmt.pct(x.mean_fra)} i {x.fra}, {fmt.diff(x.mean_til, x.mean_fra, 1, sign=False)} "
                         "procentpoint mere.",
                         f"Samlet fravær {fmt.pct(x.mean_fra)} i {x.fra} og {fmt.pct(x.mean_til)} i {x.til}: "
                         f"{fmt.diff(x.mean_til, x.mean_fra, 1, ' procentpoint')} (95 %-interval "
                         f"{_interval(x.ci_low, x.ci_high, 1)}; {_p(x.p)}).",
                         "Hvilke elever og klassetrin står for stigningen, og hvilken type fravær er det?",
                         x.diff, x.ci_low, x.ci_high, x.p))
    a = absence[(absence["gruppe_type"] == "alle") & (absence["skoleaar"] == latest)]
    kom = a[a["niveau"] == "kommune"].set_index("kode")["andel_over_10_pct"]
    sch = a[a["niveau"] == "skole"].merge(schools[["institutionsnummer", "kommunekode"]],
                                            left_on="kode", right_on="institutionsnummer")
    for x in sch.dropna(subset=["andel_over_10_pct", "n"]).itertuples():
        ref = kom.get(x.kommunekode)
        if ref is None or pd.isna(ref) or x.andel_over_10_pct - ref < MIN_SHARE_PP:
            continue
        k = int(round(x.andel_over_10_pct / 100 * x.n))
        test = stats.binomtest(k, int(x.n), ref / 100, alternative="greater")
        if test.pvalue < ALPHA:
            ci = test.proportion_ci(0.95)
            rows.append(_row(x.kode, "bekymrende_fravaer", "", "Mange elever med bekymrende fravær",
                             f"Flere elever end i kommunen har bekymrende fravær: {fmt.pct(x.andel_over_10_pct)} af "
                             f"eleverne havde over 10 % fravær i {latest} mod {fmt.pct(ref)} i kommunen.",
                             f"{fmt.pct(x.andel_over_10_pct)} af eleverne havde over 10 % fravær i {latest} mod "
                             f"kommunens {fmt.pct(ref)} ({_p(test.pvalue)}).",
                             "Hvem er eleverne med højt fravær, og hvordan følger vi op tidligt?",
                             x.andel_over_10_pct, ci.low * 100, ci.high * 100, test.pvalue))
    return rows


def school_flags(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All rules over all schools: one row per flag (see the module docstring)."""
    rounds = tables["rounds"]["runde"].tolist() if "rounds" in tables else list(config.ROUNDS)
    latest = rounds[-1]
    rows = response_rate_flags(tables["response_rates"], latest)
    rows += deviation_flags(tables["deviation"], latest)
    rows += decline_flags(tables["survey_change"], latest, tables.get("survey_means"))
    rows += gender_flags(tables["gender_gaps"], tables["gender_gap_change"], latest)
    if "absence_change" in tables:
        rows += absence_flags(tables["absence_change"], tables["absence"], tables["schools"])
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {r: i for i, r in enumerate(THEMES)}
    return out.sort_values(["kode", "regel"], key=lambda s: s.map(order) if s.name == "regel" else s,
                           kind="stable").reset_index(drop=True)
