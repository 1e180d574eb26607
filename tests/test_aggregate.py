"""Each aggregate statistic against an independent computation on the fixture's pupil-level data."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from datapakke import attendance, store

from .conftest import AARS, TINY


@pytest.fixture(scope="module")
def v(built):
    return store.current(built.processed)


@pytest.fixture(scope="module")
def scores(v):
    return pd.read_parquet(v / "scores.parquet")


def _agg(v, name):
    return pd.read_parquet(v / "aggregates" / f"{name}.parquet")


def _pupils(scores, runde, dim="faglig_trivsel", school=AARS):
    s = scores[(scores.institutionsnummer == school) & (scores.runde == runde) & (scores.dimension == dim)]
    return s["score"].dropna().to_numpy()


def test_school_mean_and_t_interval(v, scores):
    x = _pupils(scores, "T1")
    m = _agg(v, "survey_means")
    row = m[(m.niveau == "skole") & (m.kode == AARS) & (m.runde == "T1") & (m.dimension == "faglig_trivsel")
            & (m.gruppe == "alle")].iloc[0]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert row["n"] == len(x)
    assert row["mean"] == pytest.approx(x.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))


def test_change_between_rounds_is_welch(v, scores):
    a, b = _pupils(scores, "T2"), _pupils(scores, "T3")
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    c = _agg(v, "survey_change")
    row = c[(c.niveau == "skole") & (c.kode == AARS) & (c.til == "T3") & (c.dimension == "faglig_trivsel")
            & (c.gruppe == "alle")].iloc[0]
    assert row["diff"] == pytest.approx(b.mean() - a.mean())
    assert row["p"] == pytest.approx(ref.pvalue)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
    fam = c[(c.niveau == "skole") & (c.kode == AARS) & (c.til == "T3") & (c.gruppe == "alle")]
    assert fam["p_adj"].to_numpy() == pytest.approx(multipletests(fam["p"], method="holm")[1])


@pytest.mark.parametrize("school", [AARS, TINY])
def test_deviation_from_municipality_is_a_one_sample_t_test(v, scores, school):
    """t with n − 1 df against the municipality's mean (scipy's ttest_1samp), not z: at n = 15 z is too narrow."""
    d = _agg(v, "deviation")
    m = _agg(v, "survey_means")
    m = m[(m.runde == "T3") & (m.dimension == "social_trivsel") & (m.gruppe == "alle")].set_index(["niveau", "kode"])
    row = d[(d.kode == school) & (d.runde == "T3") & (d.dimension == "social_trivsel")].iloc[0]
    x = _pupils(scores, "T3", "social_trivsel", school)
    kommune = m.loc[("kommune", "820"), "mean"]
    ref = stats.ttest_1samp(x, popmean=kommune)
    ci = ref.confidence_interval(0.95)  # an interval for the school's mean
    assert row["diff"] == pytest.approx(x.mean() - kommune)
    assert row["df"] == len(x) - 1
    assert row["p"] == pytest.approx(ref.pvalue)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low - kommune, ci.high - kommune))


@pytest.mark.parametrize("table", ["gender_gaps", "gender_gaps_grade", "survey_change", "deviation"])
def test_every_holm_tested_interval_agrees_with_its_test(v, table):
    """An interval excludes 0 exactly when the Holm-corrected p < 0,05 — in every family of the fixture."""
    t = _agg(v, table).dropna(subset=["p_adj", "ci_low_holm", "ci_high_holm"])
    assert len(t) > 50
    excludes = (t["ci_low_holm"] > 0) | (t["ci_high_holm"] < 0)
    assert (excludes == (t["p_adj"] < 0.05)).all()
    assert ((t["ci_level_holm"] >= 0.95 - 1e-12) & (t["ci_level_holm"] <= 1 - 0.05 / 7 + 1e-12)).all()
    assert ((t["ci_low_holm"] <= t["ci_low"] + 1e-9) & (t["ci_high_holm"] >= t["ci_high"] - 1e-9)).all()


def test_absence_change_is_welch_on_pupil_percentages(v, built):
    elever = pd.read_parquet(v / "elever.parquet")
    pa_ = attendance.pupil_absence(pd.read_parquet(v / "fravaer.parquet"), elever,
                                   pd.read_parquet(v / "skoledage.parquet"), pd.read_parquet(v / "skoler.parquet"))
    s = pa_[pa_.institutionsnummer == AARS]
    a = s[s.skoleaar == "2024/2025"]["samlet_pct"].dropna()
    b = s[s.skoleaar == "2025/2026"]["samlet_pct"].dropna()
    ref = stats.ttest_ind(b, a, equal_var=False)
    ch = _agg(v, "absence_change")
    row = ch[(ch.niveau == "skole") & (ch.kode == AARS) & (ch.til == "2025/2026")].iloc[0]
    assert row["diff"] == pytest.approx(b.mean() - a.mean())
    assert row["p"] == pytest.approx(ref.pvalue)
    ab = _agg(v, "absence")
    share = ab[(ab.niveau == "skole") & (ab.kode == AARS) & (ab.skoleaar == "2025/2026") & (ab.gruppe == "alle")]
    assert share["andel_over_10_pct"].iloc[0] == pytest.approx((b > 10).mean() * 100)


def test_pupil_absence_on_a_constructed_case():
    days = pd.DataFrame({"institutionsnummer": "111111", "dato": pd.bdate_range("2024-09-02", periods=10)})
    elever = pd.DataFrame({"elev_id": ["a", "b", "c"], "skoleaar": "2024/2025",
                           "institutionsnummer": ["111111", "111111", "222222"], "klassetrin": 3, "koen": "pige"})
    skoler = pd.DataFrame({"institutionsnummer": ["111111", "222222"], "kommunekode": ["101", "101"]})
    f = pd.DataFrame({"elev_id": ["a", "a", "a"], "dato": pd.to_datetime(["2024-09-02", "2024-09-03", "2024-09-04"]),
                      "fravaerstype": ["sygdom", "sygdom", "ulovligt"], "omfang": [1.0, 1.0, 0.5]})
    days = pd.concat([days, days.assign(institutionsnummer="222222")])
    out = attendance.pupil_absence(f, elever, days, skoler).set_index("elev_id")
    assert out.loc["a", "sygdom_pct"] == pytest.approx(20.0)
    assert out.loc["a", "ulovligt_pct"] == pytest.approx(5.0)
    assert out.loc["a", "samlet_pct"] == pytest.approx(25.0)
    assert out.loc["b", "samlet_pct"] == 0.0  # same school reports: no absence is 0
    assert np.isnan(out.loc["c", "samlet_pct"])  # school without any record: missing, not 0


def test_no_pupil_level_column_in_any_aggregate(v):
    for f in [*(v / "aggregates").glob("*.parquet"), *store.published(v).glob("*.parquet")]:
        assert "elev_id" not in pd.read_parquet(f).columns, f.name


# --- level by level is the stacked groupby --------------------------------------------------------------------
def _stacked_means(scores):
    """survey_means the way it is defined: the frame once per level, then once per breakdown, one groupby."""
    from datapakke import aggregate
    from datapakke.gaps import grade_band

    s = aggregate.with_levels(scores.dropna(subset=["score"]))
    band, koen = grade_band(s["klassetrin"]).to_numpy(), s["koen"].to_numpy()
    s = pd.concat([s.assign(gruppe_type="alle", gruppe="alle"), s.assign(gruppe_type="koen", gruppe=koen),
                   s.assign(gruppe_type="klassetrin", gruppe=band),
                   s.assign(gruppe_type="koen_klassetrin", gruppe=pd.Series(koen).astype(str).to_numpy() + "|" + band)],
                  ignore_index=True)
    return aggregate.mean_table(s, ["niveau", "kode", "runde", "dimension", "gruppe_type", "gruppe"], "score")


def test_level_by_level_tables_equal_the_stacked_ones(scores):
    from datapakke import aggregate, gaps

    pd.testing.assert_frame_equal(aggregate.survey_means(scores), _stacked_means(scores), check_exact=True)
    s = aggregate.with_levels(scores.dropna(subset=["score"]))
    overall, by_band = aggregate.gender_gap_tables(scores)
    ref = gaps.gender_gaps(s, by=["niveau", "kode", "runde", "dimension"])
    pd.testing.assert_frame_equal(overall[ref.columns], ref, check_exact=True)
    ref_band = gaps.gender_gaps(s.assign(klassetrin_band=gaps.grade_band(s["klassetrin"]).to_numpy()),
                                by=["niveau", "kode", "runde", "dimension", "klassetrin_band"])
    pd.testing.assert_frame_equal(by_band[ref_band.columns], ref_band, check_exact=True)


def test_categorical_scores_give_the_tables_text_scores_give(scores):
    """The ingest holds the long scores with categorical text columns (``frames``): same tables, bit for bit."""
    from datapakke import aggregate, frames, survey

    lean = frames.compact(scores.copy(), survey.TEXT_COLUMNS)
    assert all(isinstance(lean[c].dtype, pd.CategoricalDtype) for c in survey.TEXT_COLUMNS)
    pd.testing.assert_frame_equal(aggregate.survey_means(lean), aggregate.survey_means(scores), check_exact=True)
    for lean_table, text_table in zip(aggregate.gender_gap_tables(lean), aggregate.gender_gap_tables(scores)):
        pd.testing.assert_frame_equal(lean_table, text_table, check_exact=True)
    pd.testing.assert_frame_equal(aggregate.score_bounds(lean), aggregate.score_bounds(scores), check_exact=True)


def test_absence_by_period_one_school_year_at_a_time_is_all_years_at_once(v):
    """The ingest builds the month and trigger tables one school year at a time: bit for bit the tables of all years."""
    from datapakke import aggregate

    t = {name: pd.read_parquet(v / f"{name}.parquet") for name in ("elever", "fravaer", "skoledage", "skoler")}
    assert t["elever"]["skoleaar"].nunique() > 1
    days = attendance.AbsenceDays.from_records(t["fravaer"])
    by_year = aggregate.absence_by_period(days, t["elever"], t["skoledage"], t["skoler"])
    month = aggregate.absence_by_month(
        attendance.pupil_absence_by_period(days, t["elever"], t["skoledage"], "M"), t["skoler"])
    triggers = aggregate.absence_triggers(
        attendance.pupil_absence_by_period(days, t["elever"], t["skoledage"], "Q"), t["skoler"])
    pd.testing.assert_frame_equal(by_year["absence_month"], month, check_exact=True)
    pd.testing.assert_frame_equal(by_year["absence_triggers"], triggers, check_exact=True)
