"""All aggregates the reports need, computed once for every school, municipality and the programme.

Pupil-level tables go in; aggregated tables come out, written to
``<version>/aggregates/<name>.parquet``.  They are *internal* and unsuppressed: what may be
shown, and how, is decided for the whole site at once by ``publication`` (which writes the
suppressed tables the pages read).  No notebook ever sees a pupil.

Every table has ``niveau`` ('skole' | 'kommune' | 'program') and ``kode``
(institutionsnummer, kommunekode or 'program'), so one filter selects a school's view.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import attendance, config, gaps, store
from .gaps import grade_band

LEVELS = {"skole": "institutionsnummer", "kommune": "kommunekode", "program": None}
PROGRAM = "program"


def with_levels(frame: pd.DataFrame, levels=LEVELS) -> pd.DataFrame:
    """Stack the frame once per level with ``niveau``/``kode`` set: one groupby covers all."""
    parts = []
    for niveau, col in levels.items():
        kode = frame[col].astype(str).to_numpy() if col else np.full(len(frame), PROGRAM, dtype=object)
        parts.append(frame.assign(niveau=niveau, kode=kode))
    return pd.concat(parts, ignore_index=True)


def level_codes(frame: pd.DataFrame, levels=LEVELS):
    """(niveau, kode per row) for each level: ``with_levels`` one level at a time.

    A whole country's pupil-level frames are too big to stack three times (and then once per
    breakdown); grouping each level on its own and sorting the concatenated results by the
    keys gives the very table one groupby over the stacked frame gives (the rows of a group
    are the same, in the same order).
    """
    for niveau, col in levels.items():
        yield niveau, (frame[col].astype(str).to_numpy() if col else np.full(len(frame), PROGRAM, dtype=object))


def _sorted(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).sort_values(keys, ignore_index=True)


def mean_table(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """n, mean, sd, se and a t-based 95 % CI of ``value`` per group."""
    g = frame.groupby(keys, observed=True, sort=True)[value]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n"])
    half = stats.t.ppf(0.975, (out["n"] - 1).clip(lower=1)) * out["se"]
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


#: Separates gender and grade band in the group of a crossed survey cell ('dreng|4.–6. kl.').
CROSS = "|"


def survey_means(scores: pd.DataFrame) -> pd.DataFrame:
    """Dimension scores (500/100) per level × round × dimension × group (n, mean, sd, se, 95 % CI).

    Internal and unsuppressed: what may be shown is decided in ``publication``.
    """
    s = scores.dropna(subset=["score"])
    keys = ["niveau", "kode", "runde", "dimension", "gruppe_type", "gruppe"]
    band = grade_band(s["klassetrin"]).to_numpy()
    koen = s["koen"].to_numpy()
    groups = {"alle": "alle", "koen": koen, "klassetrin": band,
              "koen_klassetrin": pd.Series(koen).astype(str).to_numpy() + CROSS + band}
    base = s[["runde", "dimension", "score"]]
    return _sorted([mean_table(base.assign(niveau=niveau, kode=kode, gruppe_type=gruppe_type, gruppe=gruppe), keys,
                               "score")
                    for niveau, kode in level_codes(s) for gruppe_type, gruppe in groups.items()], keys)


def score_bounds(scores: pd.DataFrame) -> pd.DataFrame:
    """The lowest and highest score a pupil can get per dimension (raw 1 and 5 on the 500 scale).

    Scores are a linear map of the raw 1–5 mean, so two pupils with different raw means
    give the map; the bounds are what a reader knows about any single pupil's score.
    """
    rows = []
    for dim, g in scores.dropna(subset=["score", "raw"]).groupby("dimension"):
        a = g.loc[g["raw"].idxmin()]
        b = g.loc[g["raw"].idxmax()]
        if b["raw"] == a["raw"]:
            continue
        slope = (b["score"] - a["score"]) / (b["raw"] - a["raw"])
        rows.append((dim, a["score"] + slope * (1 - a["raw"]), a["score"] + slope * (5 - a["raw"])))
    return pd.DataFrame(rows, columns=["dimension", "lo", "hi"])


def survey_change(means: pd.DataFrame) -> pd.DataFrame:
    """Change since the previous round, with a Welch 95 % CI (rounds as independent samples).

    Holm-corrected across the dimensions of one school-round-group (``p_adj``), with intervals
    that agree with that test (``ci_low_holm``/``ci_high_holm``, ``gaps.holm_intervals``).
    """
    keys = ["niveau", "kode", "dimension", "gruppe_type", "gruppe"]
    rows = []
    for prev, cur in zip(config.ROUNDS, config.ROUNDS[1:]):
        a = means[means["runde"] == prev].set_index(keys).add_suffix("_fra")
        b = means[means["runde"] == cur].set_index(keys).add_suffix("_til")
        j = a.join(b, how="inner")
        j = j[j["n_fra"].notna() & j["n_til"].notna() & (j["n_fra"] > 1) & (j["n_til"] > 1)]
        w = welch_from_stats(j["mean_til"], j["sd_til"], j["n_til"], j["mean_fra"], j["sd_fra"], j["n_fra"])
        w.index = j.index
        rows.append(w.assign(fra=prev, til=cur).reset_index())
    out = pd.concat(rows, ignore_index=True)
    family = ["niveau", "kode", "gruppe_type", "gruppe", "til"]
    return gaps.holm_intervals(gaps.adjust_pvalues(out, family=family, method="holm"), family)


def welch_from_stats(m1, s1, n1, m0, s0, n0) -> pd.DataFrame:
    """Difference m1 − m0 of two independent means with Welch se, df, 95 % CI and p (scipy)."""
    arr = lambda x: np.asarray(x, dtype=float)  # noqa: E731 - scipy wants arrays, not Series
    m1, s1, n1, m0, s0, n0 = map(arr, (m1, s1, n1, m0, s0, n0))
    res = stats.ttest_ind_from_stats(m1, s1, n1, m0, s0, n0, equal_var=False)
    v1, v0 = s1 ** 2 / n1, s0 ** 2 / n0
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(v1 + v0)
    diff = m1 - m0
    return pd.DataFrame({"diff": diff, "se": np.sqrt(v1 + v0), "df": df, "ci_low": diff - half, "ci_high": diff + half,
                         "p": res.pvalue})


def deviation_from_municipality(means: pd.DataFrame, skoler: pd.DataFrame) -> pd.DataFrame:
    """School − municipality per round and dimension (all pupils), Holm-corrected across dimensions.

    The municipality's mean is the fixed reference (it rests on many more pupils and contains
    the school), so the uncertainty is the school's own: t = diff / se_school with n − 1
    degrees of freedom — the one-sample t-test of the school's pupils against the
    municipality's mean (``scipy.stats.ttest_1samp``), not z, which is too narrow for a small
    school.  ``ci_low``/``ci_high`` is its 95 % interval; ``ci_low_holm``/``ci_high_holm`` the
    interval that agrees with the Holm-corrected ``p_adj`` (``gaps.holm_intervals``).
    """
    m = means[(means["gruppe_type"] == "alle")]
    school = m[m["niveau"] == "skole"].merge(
        skoler[["institutionsnummer", "kommunekode"]], left_on="kode", right_on="institutionsnummer")
    kom = m[m["niveau"] == "kommune"][["kode", "runde", "dimension", "mean"]].rename(
        columns={"kode": "kommunekode", "mean": "mean_kommune"})
    j = school.merge(kom, on=["kommunekode", "runde", "dimension"])
    out = j[["niveau", "kode", "kommunekode", "runde", "dimension", "n", "mean", "mean_kommune", "se"]].copy()
    out["diff"] = out["mean"] - out["mean_kommune"]
    out["df"] = (out["n"] - 1).where(out["n"] > 1).astype(float)
    half = stats.t.ppf(0.975, out["df"]) * out["se"]
    out["ci_low"] = out["diff"] - half
    out["ci_high"] = out["diff"] + half
    with np.errstate(invalid="ignore", divide="ignore"):
        out["p"] = 2 * stats.t.sf(np.abs(out["diff"] / out["se"]), out["df"])
    family = ["kode", "runde"]
    return gaps.holm_intervals(gaps.adjust_pvalues(out, family=family, method="holm"), family)


def response_rates(scores: pd.DataFrame, elever: pd.DataFrame, skoler: pd.DataFrame, round_years: dict[str, str]) -> pd.DataFrame:
    """Svarprocent per level × round × grade: respondents / enrolled pupils that school year."""
    e = elever.merge(skoler[["institutionsnummer", "kommunekode"]], on="institutionsnummer")
    resp = scores[["elev_id", "runde"]].drop_duplicates()
    rows = []
    for runde, year in round_years.items():
        pupils = e[e["skoleaar"] == year].assign(runde=runde)
        answered = pupils["elev_id"].isin(resp.loc[resp["runde"] == runde, "elev_id"])
        rows.append(pupils.assign(besvaret=answered.to_numpy()))
    p = with_levels(pd.concat(rows, ignore_index=True))
    p["klassetrin"] = p["klassetrin"].astype(int).astype(str)
    both = pd.concat([p, p.assign(klassetrin="alle")], ignore_index=True)
    out = both.groupby(["niveau", "kode", "runde", "klassetrin"]).agg(
        elever=("elev_id", "size"), besvarelser=("besvaret", "sum")).reset_index()
    out["besvarelser"] = out["besvarelser"].astype(float)
    out["svarprocent"] = out["besvarelser"] / out["elever"] * 100
    return out


def gender_gap_tables(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Boys − girls per level × round × dimension (and by grade band), Holm-corrected across dimensions.

    Besides the 95 % intervals, each gap has the interval that agrees with its Holm test
    (``ci_low_holm``/``ci_high_holm``, and ``g_ci_low_holm``/``g_ci_high_holm`` for Hedges' g at
    the same level; ``gaps.holm_intervals``).
    """
    s = scores.dropna(subset=["score"])
    base = s[["runde", "dimension", "koen", "score"]].assign(klassetrin_band=grade_band(s["klassetrin"]).to_numpy())
    by, by_band = ["niveau", "kode", "runde", "dimension"], ["niveau", "kode", "runde", "dimension", "klassetrin_band"]
    overall_parts, band_parts = [], []
    for niveau, kode in level_codes(s):
        lv = base.assign(niveau=niveau, kode=kode)
        overall_parts.append(gaps.gender_gaps(lv, by=by))
        band_parts.append(gaps.gender_gaps(lv, by=by_band))
        del lv
    overall = _sorted(overall_parts, by)
    family = ["niveau", "kode", "runde"]
    overall = gaps.holm_intervals(gaps.adjust_pvalues(overall, family=family, method="holm"), family, g="hedges_g")
    by_band = _sorted(band_parts, by_band)
    family = ["niveau", "kode", "runde", "klassetrin_band"]
    by_band = gaps.holm_intervals(gaps.adjust_pvalues(by_band, family=family, method="holm"), family, g="hedges_g")
    return overall, by_band


def absence_tables(pupil_abs: pd.DataFrame, monthly: pd.DataFrame, quarterly: pd.DataFrame,
                   skoler: pd.DataFrame, elever: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Absence overall / by gender / by grade, by month, and the legal trigger counts."""
    a = pupil_abs.dropna(subset=["samlet_pct"])
    a = a.assign(over_10=(a["samlet_pct"] > config.CONCERNING_ABSENCE_PCT).astype(float) * 100)
    # Stacked, not level by level: on the programme's large groups pandas' groupby mean can differ
    # in the last bit between frames of different shape, and these tables are published as before.
    # One row per pupil and school year: at national size ~1,7 M rows, stacked 9 times.
    a = with_levels(a)[["niveau", "kode", "skoleaar", "koen", "klassetrin", *attendance.PCT_COLS, "over_10"]]
    a["klassetrin"] = a["klassetrin"].astype(int)
    parts = pd.concat([
        a.assign(gruppe_type="alle", gruppe="alle"),
        a.assign(gruppe_type="koen", gruppe=a["koen"].to_numpy()),
        a.assign(gruppe_type="klassetrin", gruppe=a["klassetrin"].astype(str).to_numpy()),
    ], ignore_index=True)
    keys = ["niveau", "kode", "skoleaar", "gruppe_type", "gruppe"]
    value_cols = attendance.PCT_COLS + ["over_10"]
    overall = parts.groupby(keys)[value_cols].mean().join(parts.groupby(keys).size().rename("n")).reset_index()
    overall = overall.rename(columns={"over_10": "andel_over_10_pct"})
    del parts

    schools = skoler[["institutionsnummer", "kommunekode"]]
    m = monthly.merge(schools, on="institutionsnummer")
    month_keys = ["niveau", "kode", "skoleaar", "periode"]
    parts = []
    for niveau, kode in level_codes(m):
        g = m[["skoleaar", "periode", *attendance.PCT_COLS]].assign(niveau=niveau, kode=kode).groupby(month_keys)
        parts.append(g[attendance.PCT_COLS].mean().join(g.size().rename("n")).reset_index())
    month = _sorted(parts, month_keys)
    del m

    q = quarterly.merge(schools, on="institutionsnummer")
    worst = q.groupby(["elev_id", "skoleaar", "institutionsnummer", "kommunekode"])["ulovligt_pct"].max().reset_index()
    worst = with_levels(worst)
    trig = worst.groupby(["niveau", "kode", "skoleaar"]).agg(
        n=("elev_id", "size"),
        ulovligt_10=("ulovligt_pct", lambda x: float((x >= config.UNLAWFUL_QUARTER_PCTS[0]).sum())),
        ulovligt_15=("ulovligt_pct", lambda x: float((x >= config.UNLAWFUL_QUARTER_PCTS[1]).sum())),
    ).reset_index()
    change = absence_change(a)
    return {"absence": overall, "absence_month": month, "absence_triggers": trig, "absence_change": change}


def absence_change(a: pd.DataFrame) -> pd.DataFrame:
    """Change in mean total absence from one school year to the next (Welch CI on pupils' %)."""
    st = a.groupby(["niveau", "kode", "skoleaar"])["samlet_pct"].agg(n="count", mean="mean", sd="std").reset_index()
    years = sorted(st["skoleaar"].unique())
    rows = []
    for prev, cur in zip(years, years[1:]):
        j = st[st["skoleaar"] == prev].merge(st[st["skoleaar"] == cur], on=["niveau", "kode"], suffixes=("_fra", "_til"))
        j = j[(j["n_fra"] > config.MIN_OTHER_N) & (j["n_til"] > config.MIN_OTHER_N)]
        w = welch_from_stats(j["mean_til"], j["sd_til"], j["n_til"], j["mean_fra"], j["sd_fra"], j["n_fra"])
        rows.append(pd.concat([j[["niveau", "kode", "n_fra", "n_til", "mean_fra", "mean_til"]].reset_index(drop=True),
                               w.reset_index(drop=True)], axis=1).assign(fra=prev, til=cur))
    cols = ["niveau", "kode", "fra", "til", "n_fra", "n_til", "mean_fra", "mean_til", "diff", "ci_low", "ci_high", "p"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def absence_vs_wellbeing(pupil_abs: pd.DataFrame, scores: pd.DataFrame, round_years: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Faglig trivsel by absence band, and the rank correlation — pupils inside, aggregates out."""
    f = scores[(scores["dimension"] == "faglig_trivsel") & scores["score"].notna()]
    f = f[f["runde"].map(round_years) == f["skoleaar"]][["elev_id", "skoleaar", "runde", "score"]]
    j = pupil_abs.dropna(subset=["samlet_pct"]).merge(f, on=["elev_id", "skoleaar"])
    j["fravaersgruppe"] = attendance.absence_band(j["samlet_pct"]).to_numpy()
    j = with_levels(j)
    bands = mean_table(j, ["niveau", "kode", "runde", "fravaersgruppe"], "score")
    order = {label: i for i, (_, _, label) in enumerate(attendance.ABSENCE_BANDS)}
    bands["orden"] = bands["fravaersgruppe"].map(order)
    rows = []
    for key, g in j.groupby(["niveau", "kode", "runde"]):
        if len(g) > config.MIN_SURVEY_N and g["samlet_pct"].nunique() > 1:
            r = stats.spearmanr(g["samlet_pct"], g["score"])
            rows.append((*key, len(g), float(r.statistic), float(r.pvalue)))
        else:
            rows.append((*key, len(g), np.nan, np.nan))
    corr = pd.DataFrame(rows, columns=["niveau", "kode", "runde", "n", "spearman_r", "p"])
    return {"absence_wellbeing": bands, "absence_wellbeing_corr": corr}


def round_dates(scores: pd.DataFrame) -> pd.DataFrame:
    """When each school answered each round (first and last answer date)."""
    d = scores.groupby(["institutionsnummer", "runde"])["dato"].agg(fra="min", til="max").reset_index()
    return d.rename(columns={"institutionsnummer": "kode"}).assign(niveau="skole")


def round_school_years(scores: pd.DataFrame) -> dict[str, str]:
    """Each round's school year (the most common among its answers)."""
    return scores.groupby("runde")["skoleaar"].agg(lambda s: s.mode().iloc[0]).to_dict()


def compute_all(t: dict[str, pd.DataFrame], scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every aggregate table, keyed by name."""
    years = round_school_years(scores)
    means = survey_means(scores)
    out = {"survey_means": means, "survey_change": survey_change(means)}
    out["response_rates"] = response_rates(scores, t["elever"], t["skoler"], years)
    out["gender_gaps"], out["gender_gaps_grade"] = gender_gap_tables(scores)
    out["gender_gap_change"] = pd.concat([
        gaps.gap_change(out["gender_gaps"], a, b, keys=["niveau", "kode", "dimension"])
        for a, b in zip(config.ROUNDS, config.ROUNDS[1:])], ignore_index=True)
    out["deviation"] = deviation_from_municipality(means, t["skoler"])
    out["round_dates"] = round_dates(scores)
    if "fravaer" in t:  # the records, or their attendance.AbsenceDays
        days = t["fravaer"]
        if isinstance(days, pd.DataFrame):
            days = attendance.AbsenceDays.from_records(days)
        pa_ = attendance.pupil_absence(days, t["elever"], t["skoledage"], t["skoler"])
        monthly = attendance.pupil_absence_by_period(days, t["elever"], t["skoledage"], "M")
        quarterly = attendance.pupil_absence_by_period(days, t["elever"], t["skoledage"], "Q")
        out.update(absence_tables(pa_, monthly, quarterly, t["skoler"], t["elever"]))
        out.update(absence_vs_wellbeing(pa_, scores, years))
    nat = t.get("nationale_tal")
    out["national"] = nat if nat is not None else pd.DataFrame(
        columns=["skoleaar", "niveau", "kode", "indikator", "vaerdi", "antal"])
    out["schools"] = t["skoler"].copy()
    out["rounds"] = pd.DataFrame({"runde": list(years), "skoleaar": list(years.values())})
    out["score_bounds"] = score_bounds(scores)
    return out


def write_all(t: dict[str, pd.DataFrame], scores: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in compute_all(t, scores).items():
        store.write_parquet(frame.reset_index(drop=True), folder / f"{name}.parquet")
