"""Tests for datapakke.gaps: every statistic against an independent reference."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from statsmodels.stats.multitest import multipletests

from datapakke.gaps import (
    GAP_COLUMNS,
    GRADE_BANDS,
    Z95,
    Z998,
    adjust_pvalues,
    funnel_limits,
    funnel_points,
    gap_change,
    gender_gaps,
    grade_band,
    holm_intervals,
)

KEYS = ["institutionsnummer", "runde", "dimension"]


def _exact(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """Rescale x to have exactly the given sample mean and SD (ddof=1)."""
    z = (x - x.mean()) / x.std(ddof=1)
    return mean + sd * z


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    """Fixed pupil-level data: 4 schools × 2 rounds × 3 dimensions, groups of
    varied (unbalanced) sizes and unequal SDs, some missing scores."""
    rng = np.random.default_rng(20240501)
    rows = []
    for s_i, inst in enumerate(["861010", "785007", "483002", "265006"]):
        for runde in ["T1", "T2"]:
            for d_i, dim in enumerate(["faglig_trivsel", "social_trivsel", "ro_og_orden"]):
                n_d = 8 + 7 * s_i + d_i
                n_p = 12 + 3 * s_i - d_i
                shift = -20 + 10 * s_i + (8 if runde == "T2" else 0)
                for koen, n, mu, sd in (("dreng", n_d, 500 + shift, 90 + 10 * d_i),
                                        ("pige", n_p, 505, 110 - 5 * s_i)):
                    sc = rng.normal(mu, sd, n).round(1)
                    sc[rng.random(n) < 0.1] = np.nan
                    for x in sc:
                        rows.append((inst, runde, dim, koen, int(rng.integers(0, 10)), x))
    df = pd.DataFrame(rows, columns=[*KEYS, "koen", "klassetrin", "score"])
    df.insert(0, "kommunekode", "820")
    return df


# --------------------------------------------------------------------------
# gender_gaps vs scipy.stats.ttest_ind(equal_var=False)
# --------------------------------------------------------------------------
def test_columns_and_one_row_per_group(scores):
    g = gender_gaps(scores, KEYS)
    assert list(g.columns) == [*KEYS, *GAP_COLUMNS]
    assert len(g) == 4 * 2 * 3
    assert not g.duplicated(KEYS).any()


def test_welch_matches_scipy_ttest_ind(scores):
    g = gender_gaps(scores, KEYS).set_index(KEYS)
    checked = 0
    for key, grp in scores.dropna(subset=["score"]).groupby(KEYS):
        boys = grp.loc[grp.koen == "dreng", "score"].to_numpy()
        girls = grp.loc[grp.koen == "pige", "score"].to_numpy()
        ref = stats.ttest_ind(boys, girls, equal_var=False)
        ci = ref.confidence_interval(confidence_level=0.95)
        row = g.loc[key]
        assert row.n_dreng == len(boys) and row.n_pige == len(girls)
        assert row.mean_dreng == pytest.approx(boys.mean(), rel=1e-12)
        assert row.sd_pige == pytest.approx(girls.std(ddof=1), rel=1e-10)
        assert row["diff"] == pytest.approx(boys.mean() - girls.mean(), rel=1e-10)  # dreng − pige
        assert row.t == pytest.approx(ref.statistic, rel=1e-9)
        assert row.p == pytest.approx(ref.pvalue, rel=1e-8)
        assert row.df == pytest.approx(ref.df, rel=1e-10)
        assert row.ci_low == pytest.approx(ci.low, rel=1e-9)
        assert row.ci_high == pytest.approx(ci.high, rel=1e-9)
        assert row.se == pytest.approx(np.sqrt(boys.var(ddof=1) / len(boys)
                                               + girls.var(ddof=1) / len(girls)), rel=1e-10)
        checked += 1
    assert checked == 24


def test_other_confidence_level(scores):
    g = gender_gaps(scores, KEYS, confidence=0.90)
    grp = scores[(scores.institutionsnummer == "483002") & (scores.runde == "T2")
                 & (scores.dimension == "ro_og_orden")].dropna(subset=["score"])
    ref = stats.ttest_ind(grp.score[grp.koen == "dreng"], grp.score[grp.koen == "pige"],
                          equal_var=False).confidence_interval(0.90)
    row = g.set_index(KEYS).loc[("483002", "T2", "ro_og_orden")]
    assert (row.ci_low, row.ci_high) == pytest.approx((ref.low, ref.high), rel=1e-9)


def test_grouping_with_grade_band(scores):
    s = scores.assign(trin=grade_band(scores.klassetrin))
    g = gender_gaps(s, ["institutionsnummer", "runde", "trin", "dimension"])
    assert set(g.trin) <= set(GRADE_BANDS)
    # counts add up to the pupils with a score
    assert g.n_dreng.sum() + g.n_pige.sum() == scores.score.notna().sum()
    row = g.iloc[5]
    sub = s[(s.institutionsnummer == row.institutionsnummer) & (s.runde == row.runde)
            & (s.trin == row.trin) & (s.dimension == row.dimension)].dropna(subset=["score"])
    b, p = sub.score[sub.koen == "dreng"], sub.score[sub.koen == "pige"]
    if len(b) >= 2 and len(p) >= 2:
        assert row.p == pytest.approx(stats.ttest_ind(b, p, equal_var=False).pvalue, rel=1e-8)


# --------------------------------------------------------------------------
# Hedges' g
# --------------------------------------------------------------------------
def _frame(boys, girls, inst="861010", runde="T1", dim="faglig_trivsel"):
    return pd.DataFrame({
        "institutionsnummer": inst, "runde": runde, "dimension": dim,
        "koen": ["dreng"] * len(boys) + ["pige"] * len(girls),
        "score": np.r_[np.asarray(boys, float), np.asarray(girls, float)],
    })


def test_hedges_g_textbook_example():
    # Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to
    # Meta-Analysis, ch. 4 worked example: means 103 / 100, SDs 5.5 / 4.5,
    # n = 50 / 50.  By hand: S_within = sqrt((49·5.5² + 49·4.5²)/98) = sqrt(25.25)
    # = 5.0249, d = 3/5.0249 = 0.5970, J = 1 − 3/(4·98 − 1) = 0.9923,
    # g = 0.5924, V_d = 100/2500 + 0.5970²/200 = 0.0418, V_g = J²·V_d = 0.0411.
    rng = np.random.default_rng(1)
    boys = _exact(rng.normal(size=50), 103, 5.5)
    girls = _exact(rng.normal(size=50), 100, 4.5)
    row = gender_gaps(_frame(boys, girls), KEYS).iloc[0]
    assert row["diff"] == pytest.approx(3.0)
    assert row.sd_pooled == pytest.approx(5.0249, abs=1e-4)
    assert row.hedges_g == pytest.approx(0.5924, abs=1e-4)
    assert row.g_se**2 == pytest.approx(0.0411, abs=1e-4)
    assert row.g_ci_low == pytest.approx(row.hedges_g - 1.959964 * row.g_se, rel=1e-6)
    assert row.g_ci_high == pytest.approx(row.hedges_g + 1.959964 * row.g_se, rel=1e-6)


def test_hedges_g_direct_formula(scores):
    g = gender_gaps(scores, KEYS).set_index(KEYS)
    for key, grp in scores.dropna(subset=["score"]).groupby(KEYS):
        b = grp.score[grp.koen == "dreng"].to_numpy()
        p = grp.score[grp.koen == "pige"].to_numpy()
        n1, n2 = len(b), len(p)
        df = n1 + n2 - 2
        sp = np.sqrt(((n1 - 1) * b.var(ddof=1) + (n2 - 1) * p.var(ddof=1)) / df)
        d = (b.mean() - p.mean()) / sp
        j_exact = special.gamma(df / 2) / (np.sqrt(df / 2) * special.gamma((df - 1) / 2))
        j_approx = 1 - 3 / (4 * df - 1)
        row = g.loc[key]
        assert row.sd_pooled == pytest.approx(sp, rel=1e-10)
        assert row.hedges_g == pytest.approx(j_exact * d, rel=1e-10)
        assert row.hedges_g == pytest.approx(j_approx * d, rel=2e-4)
        var_g = j_exact**2 * ((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))
        assert row.g_se == pytest.approx(np.sqrt(var_g), rel=1e-10)
        assert np.sign(row.hedges_g) == np.sign(row["diff"])


# --------------------------------------------------------------------------
# NaN handling, tiny groups, determinism
# --------------------------------------------------------------------------
def test_missing_scores_are_ignored(scores):
    a = gender_gaps(scores, KEYS)
    b = gender_gaps(scores.dropna(subset=["score"]), KEYS)
    pd.testing.assert_frame_equal(a, b)


def test_tiny_and_one_sided_groups_give_nan_not_crash():
    df = pd.concat([
        _frame([480.0], [510.0, 530.0, 520.0], inst="A"),             # 1 boy
        _frame([], [510.0, 530.0, 520.0], inst="B"),                  # no boys
        _frame([500.0, 500.0], [520.0, 520.0], inst="C"),             # constant: se = 0
        _frame([490.0, 470.0, np.nan], [np.nan, 505.0, 515.0], inst="D"),  # ok after NaN
        _frame([np.nan, np.nan], [505.0, 515.0], inst="E"),           # boys all NaN
    ], ignore_index=True)
    g = gender_gaps(df, KEYS).set_index("institutionsnummer")
    assert list(g.index) == ["A", "B", "C", "D", "E"]
    stat_cols = ["se", "df", "t", "p", "ci_low", "ci_high", "hedges_g", "g_ci_low", "g_ci_high"]
    for inst in ["A", "B", "E"]:
        assert g.loc[inst, stat_cols].isna().all(), inst
        assert np.isnan(g.loc[inst, "diff"])
    # a mean of a single pupil would be that pupil's score: never returned
    assert np.isnan(g.loc["A", "mean_dreng"]) and g.loc["A", "n_dreng"] == 1
    assert g.loc["B", "n_dreng"] == 0 and g.loc["E", "n_dreng"] == 0
    assert g.loc["A", "mean_pige"] == pytest.approx(520.0)
    # constant groups: the difference is defined, the test is not
    assert g.loc["C", "diff"] == pytest.approx(-20.0)
    assert g.loc["C", ["se", "t", "p", "hedges_g"]].isna().all()
    ref = stats.ttest_ind([490.0, 470.0], [505.0, 515.0], equal_var=False)
    assert g.loc["D", "p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert g.loc["D", "n_dreng"] == 2 and g.loc["D", "n_pige"] == 2


def test_missing_gender_entirely_and_bad_input():
    only_girls = _frame([], [500.0, 510.0, 520.0])
    g = gender_gaps(only_girls, KEYS)
    assert g.n_dreng.tolist() == [0] and g.p.isna().all()
    bad = _frame([500.0, 510.0], [500.0, 520.0])
    bad.loc[0, "koen"] = "M"
    with pytest.raises(ValueError, match="koen"):
        gender_gaps(bad, KEYS)
    with pytest.raises(ValueError):
        gender_gaps(_frame([1.0, 2.0], [3.0, 4.0]), ["institutionsnummer", "koen"])
    with pytest.raises(KeyError):
        gender_gaps(_frame([1.0, 2.0], [3.0, 4.0]), ["klasse"])


def test_deterministic_and_order_independent(scores):
    a = gender_gaps(scores, KEYS)
    b = gender_gaps(scores, KEYS)
    pd.testing.assert_frame_equal(a, b)
    shuffled = scores.sample(frac=1.0, random_state=7)
    c = gender_gaps(shuffled, KEYS)
    pd.testing.assert_frame_equal(a, c, rtol=1e-10)


def test_fast_enough_on_realistic_volume():
    # ~ 1/3 of the real volume (450k score rows, 4.2k groups); real ~1 s.
    rng = np.random.default_rng(3)
    n = 450_000
    df = pd.DataFrame({
        "institutionsnummer": pd.Series(rng.integers(0, 200, n)).map("{:06d}".format),
        "runde": rng.choice(["T1", "T2", "T3"], n),
        "dimension": rng.choice([f"d{i}" for i in range(7)], n),
        "koen": rng.choice(["dreng", "pige"], n),
        "klassetrin": rng.integers(0, 10, n),
        "score": rng.normal(500, 100, n),
    })
    t0 = time.perf_counter()
    df["trin"] = grade_band(df.klassetrin)
    g = gender_gaps(df, ["institutionsnummer", "runde", "trin", "dimension"])
    a = adjust_pvalues(g, ["institutionsnummer", "runde", "trin"])
    gap_change(a, "T1", "T2", ["institutionsnummer", "trin", "dimension"])
    funnel_points(a, by=["runde", "trin", "dimension"])
    assert time.perf_counter() - t0 < 5.0
    assert len(g) == 200 * 3 * 3 * 7


# --------------------------------------------------------------------------
# adjust_pvalues
# --------------------------------------------------------------------------
def _pframe(p, fam=None):
    return pd.DataFrame({"fam": fam if fam is not None else ["x"] * len(p), "p": p})


def test_holm_hand_example():
    # sorted 0.01, 0.03, 0.04, 0.2 × (4, 3, 2, 1) = 0.04, 0.09, 0.08, 0.2;
    # running max → 0.04, 0.09, 0.09, 0.2; back in input order:
    out = adjust_pvalues(_pframe([0.01, 0.04, 0.03, 0.2]), ["fam"], "holm")
    assert out.p_adj.tolist() == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert out.family_size.tolist() == [4, 4, 4, 4]


def test_bh_hand_example():
    # sorted 0.01, 0.03, 0.04, 0.2 × 4/(1, 2, 3, 4) = 0.04, 0.06, 0.0533, 0.2;
    # running min from the top → 0.04, 0.0533, 0.0533, 0.2
    out = adjust_pvalues(_pframe([0.01, 0.04, 0.03, 0.2]), ["fam"], "fdr_bh")
    assert out.p_adj.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_adjust_caps_at_one_and_nan_excluded():
    p = [0.3, np.nan, 0.6, 0.01]
    out = adjust_pvalues(_pframe(p), ["fam"], "holm")
    # m = 3: 0.01·3 = 0.03, 0.3·2 = 0.6, 0.6·1 = 0.6
    assert out.p_adj.iloc[[0, 2, 3]].tolist() == pytest.approx([0.6, 0.6, 0.03])
    assert np.isnan(out.p_adj.iloc[1]) and out.family_size.tolist() == [3, 0, 3, 3]
    out = adjust_pvalues(_pframe([0.5, 0.7, 0.9]), ["fam"], "holm")
    assert out.p_adj.tolist() == pytest.approx([1.0, 1.0, 1.0])
    all_nan = adjust_pvalues(_pframe([np.nan, np.nan]), ["fam"])
    assert all_nan.p_adj.isna().all()


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_matches_statsmodels_per_family(method):
    rng = np.random.default_rng(11)
    n_fam = 12
    fam = np.repeat([f"s{i}" for i in range(n_fam)], 7)
    p = rng.uniform(0, 0.2, len(fam)) ** 2
    p[rng.random(len(fam)) < 0.15] = np.nan
    p[3] = p[4]  # a tie
    df = pd.DataFrame({"inst": fam, "runde": "T1", "p": p}).sample(frac=1, random_state=2)
    out = adjust_pvalues(df, ["inst", "runde"], method)
    assert "p_adj" not in df.columns  # input untouched
    for f, grp in out.groupby("inst"):
        ok = grp.p.notna()
        ref = multipletests(grp.p[ok].to_numpy(), method=method)[1]
        np.testing.assert_allclose(grp.p_adj[ok].to_numpy(), ref, rtol=1e-12)
        assert grp.p_adj[~ok].isna().all()
        assert (grp.family_size[ok] == ok.sum()).all()


def test_adjust_on_gaps_families(scores):
    g = gender_gaps(scores, KEYS)
    out = adjust_pvalues(g, ["institutionsnummer", "runde"])
    assert (out.family_size == 3).all()
    assert (out.p_adj >= out.p - 1e-15).all()
    with pytest.raises(ValueError):
        adjust_pvalues(g, ["institutionsnummer"], method="bonferroni-ish")


# --------------------------------------------------------------------------
# gap_change
# --------------------------------------------------------------------------
def _gaps_rows(rows):
    return pd.DataFrame(rows, columns=["institutionsnummer", "dimension", "runde",
                                       "diff", "se", "df", "n_dreng", "n_pige"])


def _holm_reference(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """The level each interval is taken at, by Holm's procedure written out step by step."""
    order = np.argsort(p, kind="stable")
    m, alphas, stopped = len(p), np.empty(len(p)), None
    for step, i in enumerate(order, start=1):
        if stopped is None and p[i] > alpha / (m - step + 1):
            stopped = step
        alphas[i] = alpha / (m - (stopped or step) + 1)
    return alphas


def test_holm_intervals_agree_with_statsmodels_holm_and_scipy_t():
    """Random families of 1–7 Welch-type tests: the interval excludes 0 iff statsmodels' Holm rejects;
    its half-width is scipy's t quantile at the Holm step's level times se."""
    rng = np.random.default_rng(11)
    rows = []
    for fam in range(40):
        m = int(rng.integers(1, 8))
        se = rng.uniform(2, 12, m)
        df = rng.uniform(4, 400, m)
        est = rng.normal(0, 1, m) * se * rng.choice([0.5, 2.0, 3.5], m)
        rows.append(pd.DataFrame({"fam": fam, "diff": est, "se": se, "df": df,
                                  "p": 2 * stats.t.sf(np.abs(est / se), df)}))
    # the step-down stops at rank 2, although rank 3's p (0,045) is under its own threshold (0,05):
    # an interval at rank 3's level would exclude 0 beside a Holm p ≥ 0,05
    p = np.array([0.001, 0.04, 0.045])
    df = np.array([30.0, 30.0, 30.0])
    rows.append(pd.DataFrame({"fam": -1, "diff": stats.t.isf(p / 2, df), "se": 1.0, "df": df, "p": p}))
    frame = pd.concat(rows, ignore_index=True)
    out = holm_intervals(frame, ["fam"])
    tricky = out[out.fam == -1]
    assert tricky["ci_low_holm"].iloc[0] > 0 and (tricky["ci_low_holm"].iloc[1:] < 0).all()
    for fam, g in out.groupby("fam"):
        reject = multipletests(g["p"], alpha=0.05, method="holm")[0]
        excludes = ((g["ci_low_holm"] > 0) | (g["ci_high_holm"] < 0)).to_numpy()
        assert (excludes == reject).all(), fam
        a = _holm_reference(g["p"].to_numpy())
        half = stats.t.ppf(1 - a / 2, g["df"]) * g["se"]
        assert g["ci_high_holm"].to_numpy() == pytest.approx((g["diff"] + half).to_numpy())
        assert g["ci_level_holm"].to_numpy() == pytest.approx(1 - a)
    assert out["ci_level_holm"].between(0.95, 1 - 0.05 / 7 + 1e-12).all()


def test_holm_interval_of_a_single_test_is_scipys_95_interval(scores):
    g = gender_gaps(scores, by=KEYS)
    one = holm_intervals(g, family=KEYS, g="hedges_g")  # each row its own family of one test
    assert one["ci_low_holm"].to_numpy() == pytest.approx(g["ci_low"].to_numpy(), nan_ok=True)
    assert one["g_ci_high_holm"].to_numpy() == pytest.approx(g["g_ci_high"].to_numpy(), nan_ok=True)
    s = scores[(scores.institutionsnummer == scores.institutionsnummer.iloc[0]) & (scores.runde == "T1")
               & (scores.dimension == scores.dimension.iloc[0])].dropna(subset=["score"])
    ref = stats.ttest_ind(s[s.koen == "dreng"].score, s[s.koen == "pige"].score, equal_var=False)
    row = one[(one.institutionsnummer == s.institutionsnummer.iloc[0]) & (one.runde == "T1")
              & (one.dimension == s.dimension.iloc[0])].iloc[0]
    ci = ref.confidence_interval(0.95)
    assert (row["ci_low_holm"], row["ci_high_holm"]) == pytest.approx((ci.low, ci.high))


def test_holm_intervals_leave_untested_rows_empty():
    frame = pd.DataFrame({"fam": [1, 1, 2], "diff": [5.0, 1.0, 3.0], "se": [1.0, 1.0, 1.0], "df": [30.0, 30.0, np.inf],
                          "p": [0.0001, np.nan, 0.01]})
    out = holm_intervals(frame, ["fam"])
    assert np.isnan(out.loc[1, "ci_low_holm"]) and out.loc[0, "ci_level_holm"] == pytest.approx(0.95)  # m = 1
    assert out.loc[2, "ci_high_holm"] == pytest.approx(3.0 + stats.norm.ppf(0.975))  # df = inf: z


def test_gap_change_constructed_case():
    gaps = _gaps_rows([
        ("861010", "faglig_trivsel", "T1", -24.0, 6.0, 40.0, 25, 25),
        ("861010", "faglig_trivsel", "T2", -6.0, 8.0, 30.0, 20, 22),
        ("785007", "faglig_trivsel", "T1", 5.0, 10.0, 20.0, 12, 11),  # no T2
    ])
    out = gap_change(gaps, "T1", "T2", ["institutionsnummer", "dimension"]).set_index("institutionsnummer")
    r = out.loc["861010"]
    assert r.change == pytest.approx(18.0)            # −6 − (−24): gap narrowed
    assert r.abs_change == pytest.approx(-18.0)
    assert r.se == pytest.approx(10.0)                 # sqrt(36 + 64)
    df = 10.0**4 / (6.0**4 / 40 + 8.0**4 / 30)         # Satterthwaite
    assert r.df == pytest.approx(df)
    q = stats.t.ppf(0.975, df)
    assert (r.ci_low, r.ci_high) == pytest.approx((18 - 10 * q, 18 + 10 * q))
    assert r.t == pytest.approx(1.8)
    assert r.p == pytest.approx(2 * stats.t.sf(1.8, df))
    assert (r.n_from, r.n_to) == (50, 42)
    assert np.isnan(out.loc["785007", "change"])       # kept, undefined
    # normal approximation: 18 ± 1.96·10
    z = gap_change(gaps, "T1", "T2", ["institutionsnummer", "dimension"], method="normal")
    z = z.set_index("institutionsnummer").loc["861010"]
    assert (z.ci_low, z.ci_high) == pytest.approx((18 - 19.59964, 18 + 19.59964), rel=1e-6)
    assert z.p == pytest.approx(2 * stats.norm.sf(1.8))


def test_gap_change_df_equals_four_component_satterthwaite(scores):
    g = gender_gaps(scores, KEYS)
    ch = gap_change(g, "T1", "T2", ["institutionsnummer", "dimension"])
    key = ("265006", "social_trivsel")
    row = ch.set_index(["institutionsnummer", "dimension"]).loc[key]
    sub = scores[(scores.institutionsnummer == key[0]) & (scores.dimension == key[1])].dropna(subset=["score"])
    comps = [sub.score[(sub.runde == r) & (sub.koen == k)].to_numpy()
             for r in ("T1", "T2") for k in ("dreng", "pige")]
    a = np.array([c.var(ddof=1) / len(c) for c in comps])
    nu = np.array([len(c) - 1 for c in comps])
    assert row.se == pytest.approx(np.sqrt(a.sum()), rel=1e-10)
    assert row.df == pytest.approx(a.sum() ** 2 / np.sum(a**2 / nu), rel=1e-10)
    means = [c.mean() for c in comps]
    assert row.change == pytest.approx((means[2] - means[3]) - (means[0] - means[1]), rel=1e-10)
    assert len(ch) == 4 * 3


def test_gap_change_rejects_ambiguous_keys(scores):
    g = gender_gaps(scores, KEYS)
    with pytest.raises(ValueError, match="unique"):
        gap_change(g, "T1", "T2", ["institutionsnummer"])


# --------------------------------------------------------------------------
# funnel
# --------------------------------------------------------------------------
def test_funnel_limits_shape():
    lim = funnel_limits(-10.0, 100.0, [400, 10, 50, 100, 100])
    assert lim.n_eff.tolist() == [10, 50, 100, 400]
    width95 = lim.upper_95 - lim.lower_95
    width998 = lim.upper_998 - lim.lower_998
    assert (np.diff(width95) < 0).all() and (np.diff(width998) < 0).all()  # narrower at larger n
    assert (width998 > width95).all()
    assert np.allclose((lim.upper_95 + lim.lower_95) / 2, -10.0)
    # n_eff = 100 ⇔ 50 boys + 50 girls: se = 100·sqrt(1/50 + 1/50) = 20
    r = lim.set_index("n_eff").loc[100]
    assert r.se == pytest.approx(20.0)
    assert r.upper_95 == pytest.approx(-10 + 1.959964 * 20, rel=1e-6)
    assert r.lower_998 == pytest.approx(-10 - 3.090232 * 20, rel=1e-6)
    with pytest.raises(ValueError):
        funnel_limits(0.0, 100.0, [0, 10])


def _school_gaps():
    # 20 ordinary schools (gap −5, SD 100) and one big school with a huge gap,
    # one tiny school with a big but unremarkable gap, one with too few boys.
    rows = [(f"s{i:02d}", 20 + 3 * i, 22 + 2 * i, -5.0 + (-1) ** i * 3, 100.0) for i in range(20)]
    rows += [("BIG", 300, 310, -60.0, 100.0), ("TINY", 4, 5, 60.0, 100.0), ("ONE", 1, 10, np.nan, np.nan)]
    return pd.DataFrame(rows, columns=["institutionsnummer", "n_dreng", "n_pige", "diff", "sd_pooled"])


def test_funnel_points_flags_large_school_with_huge_gap():
    pts = funnel_points(_school_gaps()).set_index("institutionsnummer")
    assert bool(pts.loc["BIG", "outside_998"]) and bool(pts.loc["BIG", "outside_95"])
    assert not bool(pts.loc["TINY", "outside_95"])           # wide limits at small n
    assert not pts.loc[[f"s{i:02d}" for i in range(20)], "outside_998"].any()
    assert pd.isna(pts.loc["ONE", "outside_95"]) and np.isnan(pts.loc["ONE", "z"])
    assert pts.outside_95.dtype == "boolean"
    # x axis: n_eff = 4/(1/n_d + 1/n_p); z against the same limits as funnel_limits
    big = pts.loc["BIG"]
    assert big.n_eff == pytest.approx(4 / (1 / 300 + 1 / 310))
    assert big.sd_ref == pytest.approx(100.0)
    lim = funnel_limits(big.overall_gap, big.sd_ref, [big.n_eff]).iloc[0]
    assert big.y < lim.lower_998
    assert big.z == pytest.approx((big.y - big.overall_gap) / (2 * 100 / np.sqrt(big.n_eff)))
    # overall gap = n_eff-weighted mean over schools with a defined gap
    ok = pts.y.notna()
    assert big.overall_gap == pytest.approx(np.average(pts.y[ok], weights=pts.n_eff[ok]))


def test_funnel_points_explicit_centre_and_by_groups():
    a = _school_gaps().assign(dimension="faglig_trivsel")
    b = _school_gaps().assign(dimension="social_trivsel", diff=lambda d: d["diff"] + 40)
    both = pd.concat([a, b], ignore_index=True)
    pts = funnel_points(both, by=["dimension"])
    sep_a = funnel_points(a)
    np.testing.assert_allclose(pts.z.iloc[: len(a)].to_numpy(), sep_a.z.to_numpy())
    # shifting all gaps by 40 shifts the centre by 40 and leaves z unchanged
    np.testing.assert_allclose(pts.z.iloc[len(a):].to_numpy(), sep_a.z.to_numpy())
    fixed = funnel_points(a, overall_gap=0.0, sd_pooled=100.0).set_index("institutionsnummer")
    assert fixed.loc["BIG", "z"] == pytest.approx(-60 / (2 * 100 / np.sqrt(fixed.loc["BIG", "n_eff"])))


def test_funnel_on_real_pipeline(scores):
    g = gender_gaps(scores, KEYS)
    pts = funnel_points(g, by=["runde", "dimension"])
    assert len(pts) == len(g)
    assert pts.z.notna().all()
    assert Z95 == pytest.approx(1.959964, rel=1e-6) and Z998 == pytest.approx(3.090232, rel=1e-6)


# --------------------------------------------------------------------------
# grade_band
# --------------------------------------------------------------------------
def test_grade_band_scalar():
    assert [grade_band(k) for k in range(11)] == (
        ["0.–3. kl."] * 4 + ["4.–6. kl."] * 3 + ["7.–9. kl."] * 3 + ["10. kl."])
    assert grade_band(np.int64(5)) == "4.–6. kl."
    assert grade_band(None) is None and grade_band(np.nan) is None
    for bad in (-1, 11, 3.5):
        with pytest.raises(ValueError):
            grade_band(bad)


def test_grade_band_series():
    s = pd.Series([0, 3, 4, 6, 7, 9, 10, None], index=list("abcdefgh"), dtype="Int64")
    out = grade_band(s)
    assert list(out.index) == list("abcdefgh")
    assert out.iloc[:7].tolist() == ["0.–3. kl.", "0.–3. kl.", "4.–6. kl.", "4.–6. kl.",
                                     "7.–9. kl.", "7.–9. kl.", "10. kl."]
    assert pd.isna(out.iloc[7])
    assert grade_band(np.array([1, 8])).tolist() == ["0.–3. kl.", "7.–9. kl."]
    with pytest.raises(ValueError):
        grade_band(pd.Series([2, 12]))
