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

from . import attendance, config, frames, gaps, store
from .gaps import grade_band

LEVELS = {"skole": "institutionsnummer", "kommune": "kommunekode", "program": None}
PROGRAM = "program"


def with_levels(frame: pd.DataFrame, levels=LEVELS) -> pd.DataFrame:
    """Stack the frame once per level with ``niveau``/``kode`` set: one groupby covers all."""
    parts = []
    for niveau, col in levels.items():
        kode = frame[col].astype(str).to_numpy() if col else np.full(len(frame), PROGRAM, dtype=object)
        parts.append(frame.assign(niveau=niveau, kode=kode))
    return frames.plain(pd.concat(parts, ignore_index=True))


def level_codes(frame: pd.DataFrame, levels=LEVELS):
    """(niveau, kode per row) for each level: ``with_levels`` one level at a time, as categoricals.

    A whole country's pupil-level frames are too big to stack three times (and then once per
    breakdown); grouping each level on its own and sorting the concatenated results by the
    keys gives the very table one groupby over the stacked frame gives (the rows of a group
    are the same, in the same order).  Both come as categoricals (``frames``): a text column
    per level would be a country's worth of strings each time.
    """
    for niveau, col in levels.items():
        if col is None:
            kode = frames.constant(PROGRAM, len(frame))
        elif isinstance(frame[col].dtype, pd.CategoricalDtype):
            kode = frames.category(frame[col])
        else:
            kode = frames.category(frame[col].astype(str))
        yield frames.constant(niveau, len(frame)), kode


def _sorted(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    return pd.concat([frames.plain(p) for p in parts], ignore_index=True).sort_values(keys, ignore_index=True)


def band_category(klassetrin: pd.Series) -> pd.Categorical:
    """``grade_band`` of every row as a categorical: the bands of the distinct grades, looked up per row."""
    grades = np.asarray(klassetrin, dtype=int)
    distinct = np.unique(grades)
    labels = grade_band(pd.Series(distinct)).tolist()
    categories = sorted(set(labels))
    code_of = np.full(distinct.max() + 1 if len(distinct) else 1, -1, dtype=np.int8)
    code_of[distinct] = [categories.index(b) for b in labels]
    return pd.Categorical.from_codes(code_of[grades], categories=categories)


def crossed(first: pd.Categorical, second: pd.Categorical) -> pd.Categorical:
    """'first|second' per row (``CROSS``) as a categorical; missing where either is missing."""
    first, second = frames.category(first), frames.category(second)
    pairs = [(a, b) for a in first.categories for b in second.categories]
    categories = sorted(f"{a}{CROSS}{b}" for a, b in pairs)
    index = {c: i for i, c in enumerate(categories)}
    table = np.array([index[f"{a}{CROSS}{b}"] for a, b in pairs], dtype=np.int32).reshape(
        len(first.categories), len(second.categories)) if pairs else np.zeros((0, 0), dtype=np.int32)
    fc, sc = np.asarray(first.codes), np.asarray(second.codes)
    ok = (fc >= 0) & (sc >= 0)
    codes = np.full(len(fc), -1, dtype=np.int32)
    codes[ok] = table[fc[ok], sc[ok]]
    return pd.Categorical.from_codes(codes, categories=categories)


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
    s = scores.loc[scores["score"].notna(), ["runde", "dimension", "score", "klassetrin", "koen",
                                              "institutionsnummer", "kommunekode"]]
    keys = ["niveau", "kode", "runde", "dimension", "gruppe_type", "gruppe"]
    band = band_category(s["klassetrin"])
    koen = frames.category(s["koen"])
    groups = {"alle": frames.constant("alle", len(s)), "koen": koen, "klassetrin": band,
              "koen_klassetrin": crossed(koen, band)}
    base = s[["runde", "dimension", "score"]]
    return _sorted([mean_table(base.assign(niveau=niveau, kode=kode, gruppe_type=frames.constant(gruppe_type, len(s)),
                                           gruppe=gruppe), keys, "score")
                    for niveau, kode in level_codes(s) for gruppe_type, gruppe in groups.items()], keys)


def score_bounds(scores: pd.DataFrame) -> pd.DataFrame:
    """The lowest and highest score a pupil can get per dimension (raw 1 and 5 on the 500 scale).

    Scores are a linear map of the raw 1–5 mean, so two pupils with different raw means
    give the map; the bounds are what a reader knows about any single pupil's score.
    """
    rows = []
    s = scores.loc[scores["score"].notna() & scores["raw"].notna(), ["dimension", "raw", "score"]]
    for dim, g in s.groupby("dimension", observed=True):
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
    p = pd.concat(rows, ignore_index=True)
    keys = ["niveau", "kode", "runde", "klassetrin"]
    grades = (frames.category(p["klassetrin"].astype(int).astype(str)), frames.constant("alle", len(p)))
    base = p[["runde", "besvaret"]]
    out = _sorted([base.assign(niveau=niveau, kode=kode, klassetrin=grade).groupby(keys, observed=True).agg(
        elever=("besvaret", "size"), besvarelser=("besvaret", "sum")).reset_index()
        for niveau, kode in level_codes(p) for grade in grades], keys)
    out["besvarelser"] = out["besvarelser"].astype(float)
    out["svarprocent"] = out["besvarelser"] / out["elever"] * 100
    return out


def gender_gap_tables(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Boys − girls per level × round × dimension (and by grade band), Holm-corrected across dimensions.

    Besides the 95 % intervals, each gap has the interval that agrees with its Holm test
    (``ci_low_holm``/``ci_high_holm``, and ``g_ci_low_holm``/``g_ci_high_holm`` for Hedges' g at
    the same level; ``gaps.holm_intervals``).
    """
    s = scores.loc[scores["score"].notna(), ["runde", "dimension", "koen", "score", "klassetrin",
                                              "institutionsnummer", "kommunekode"]]
    base = s[["runde", "dimension", "koen", "score"]].assign(klassetrin_band=band_category(s["klassetrin"]))
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
    return {**absence_overall(pupil_abs), "absence_month": absence_by_month(monthly, skoler),
            "absence_triggers": absence_triggers(quarterly, skoler)}


def _kommune_of(skoler: pd.DataFrame) -> pd.Series:
    """kommunekode by institutionsnummer."""
    return skoler.dropna(subset=["institutionsnummer"]).drop_duplicates("institutionsnummer").set_index(
        "institutionsnummer")["kommunekode"]


def _with_kommune(pupil_periods: pd.DataFrame, skoler: pd.DataFrame) -> pd.DataFrame:
    """The rows of known schools, with their kommunekode (as a categorical, like the school's number)."""
    kommune_of = _kommune_of(skoler)
    p = pupil_periods[pupil_periods["institutionsnummer"].isin(kommune_of.index)]
    return p.assign(kommunekode=frames.mapped(p["institutionsnummer"], kommune_of))


def absence_overall(pupil_abs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Absence per school year overall / by gender / by grade (``absence``), and its change (``absence_change``)."""
    a = pupil_abs.dropna(subset=["samlet_pct"])
    a = a.assign(over_10=(a["samlet_pct"] > config.CONCERNING_ABSENCE_PCT).astype(float) * 100)
    a = a[["skoleaar", "koen", "klassetrin", "institutionsnummer", "kommunekode", *attendance.PCT_COLS, "over_10"]]
    keys = ["niveau", "kode", "skoleaar", "gruppe_type", "gruppe"]
    value_cols = attendance.PCT_COLS + ["over_10"]
    groups = {"alle": frames.constant("alle", len(a)), "koen": frames.category(a["koen"]),
              "klassetrin": frames.category(a["klassetrin"].astype(int).astype(str))}
    values = a[["skoleaar", *value_cols]]
    parts = []
    for niveau, kode in level_codes(a):  # one level at a time, its three breakdowns stacked
        lv = pd.concat([values.assign(niveau=niveau, kode=kode, gruppe_type=frames.constant(t, len(a)), gruppe=g)
                        for t, g in groups.items()], ignore_index=True)
        g = lv.groupby(keys, observed=True)
        parts.append(g[value_cols].mean().join(g.size().rename("n")).reset_index())
        del lv, g
    overall = _sorted(parts, keys).rename(columns={"over_10": "andel_over_10_pct"})
    return {"absence": overall, "absence_change": absence_change(a)}


def absence_by_period(days: attendance.AbsenceDays, elever: pd.DataFrame, skoledage: pd.DataFrame,
                      skoler: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``absence_month`` and ``absence_triggers``, one school year and one pupil-period table at a time.

    A country's pupils × months alone are ~18 M rows.  Both tables are per school year, so each
    year's pupils give that year's rows (the rows of a group, in the same order, as from all
    years at once).
    """
    kinds = {"absence_month": ("M", absence_by_month, ["niveau", "kode", "skoleaar", "periode"]),
             "absence_triggers": ("Q", absence_triggers, ["niveau", "kode", "skoleaar"])}
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in kinds}
    for year in sorted(elever["skoleaar"].dropna().unique()):
        pupils = elever[elever["skoleaar"] == year]
        for name, (freq, table, _) in kinds.items():
            periods = attendance.pupil_absence_by_period(days, pupils, skoledage, freq)
            if len(periods):
                parts[name].append(table(periods, skoler))
            del periods
    out = {}
    for name, (freq, table, keys) in kinds.items():
        out[name] = _sorted(parts[name], keys) if parts[name] else \
            table(attendance.pupil_absence_by_period(days, elever, skoledage, freq), skoler)  # no absence at all
    return out


def absence_by_month(monthly: pd.DataFrame, skoler: pd.DataFrame) -> pd.DataFrame:
    """Mean absence % per type, per level, school year and month, over the pupils of each (``absence_month``)."""
    m = _with_kommune(monthly, skoler)
    month_keys = ["niveau", "kode", "skoleaar", "periode"]
    parts = []
    for niveau, kode in level_codes(m):
        g = m[["skoleaar", "periode", *attendance.PCT_COLS]].assign(niveau=niveau, kode=kode).groupby(
            month_keys, observed=True)
        parts.append(g[attendance.PCT_COLS].mean().join(g.size().rename("n")).reset_index())
    return _sorted(parts, month_keys)


def absence_triggers(quarterly: pd.DataFrame, skoler: pd.DataFrame) -> pd.DataFrame:
    """Pupils whose unlawful absence reached 10 % / 15 % in some quarter, per level and school year."""
    q = _with_kommune(quarterly, skoler)
    worst = q.groupby(["elev_id", "skoleaar", "institutionsnummer", "kommunekode"], observed=True)[
        "ulovligt_pct"].max().reset_index()
    del q
    parts = []
    for niveau, kode in level_codes(worst):
        lv = worst[["skoleaar", "ulovligt_pct"]].assign(niveau=niveau, kode=kode)
        parts.append(lv.groupby(["niveau", "kode", "skoleaar"], observed=True).agg(
            n=("ulovligt_pct", "size"),
            ulovligt_10=("ulovligt_pct", lambda x: float((x >= config.UNLAWFUL_QUARTER_PCTS[0]).sum())),
            ulovligt_15=("ulovligt_pct", lambda x: float((x >= config.UNLAWFUL_QUARTER_PCTS[1]).sum())),
        ).reset_index())
    return _sorted(parts, ["niveau", "kode", "skoleaar"])


def absence_change(a: pd.DataFrame) -> pd.DataFrame:
    """Change in mean total absence from one school year to the next (Welch CI on pupils' %)."""
    # Stacked (one row per pupil, school year and level: small): grouped level by level, pandas'
    # mean of the programme's large groups differs from this one in the last bit.
    a = with_levels(a[["institutionsnummer", "kommunekode", "skoleaar", "samlet_pct"]])
    st = a.groupby(["niveau", "kode", "skoleaar"], observed=True)["samlet_pct"].agg(
        n="count", mean="mean", sd="std").reset_index()
    del a
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
    f = frames.plain(f[["elev_id", "skoleaar", "runde", "score"]])
    f = f[f["runde"].map(round_years) == f["skoleaar"]]
    pupils = pupil_abs.loc[pupil_abs["samlet_pct"].notna(),
                           ["elev_id", "skoleaar", "institutionsnummer", "kommunekode", "samlet_pct"]]
    j = pupils.merge(f, on=["elev_id", "skoleaar"]).drop(columns=["elev_id", "skoleaar"])
    del pupils, f
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
        out.update(absence_overall(pa_))
        out.update(absence_vs_wellbeing(pa_, scores, years))
        del pa_
        out.update(absence_by_period(days, t["elever"], t["skoledage"], t["skoler"]))
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
        store.write_parquet(frames.plain(frame).reset_index(drop=True), folder / f"{name}.parquet")
