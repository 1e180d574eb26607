"""Tests for datapakke.multilevel (three-level model and EB school gender gaps).

Tolerances were derived from simulation studies run while developing (recorded below per
test): 1,000 replications of the fit dataset and 400 of the gap dataset, with the same
generators as here.  Each single-seed tolerance is about 4 sampling SDs, so a correct
estimator fails it with probability well under 1e-3 for an arbitrary seed; the seeds here
are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from datapakke import multilevel as ml
from datapakke.multilevel import MultilevelResult, fit_multilevel, school_gender_gaps

# ------------------------------------------------------------------------------------------
# Generators
# ------------------------------------------------------------------------------------------
SD_M, SD_S, SD_E, GIRL, SLOPE = 20.0, 35.0, 90.0, 15.0, -3.0


def make_pupils(seed: int, n_muni: int = 12, n_school: int = 15, n_pupil: int = 80,
                sd_m: float = SD_M, sd_s: float = SD_S, sd_e: float = SD_E, girl: float = GIRL,
                grade_effect=lambda trin: SLOPE * trin, base: float = 510.0) -> pd.DataFrame:
    """Balanced three-level data with known variance components and fixed effects."""
    rng = np.random.default_rng(seed)
    J = n_muni * n_school
    muni_of_school = np.repeat(np.arange(n_muni), n_school)
    u = rng.normal(0, sd_m, n_muni)
    v = rng.normal(0, sd_s, J)
    school = np.repeat(np.arange(J), n_pupil)
    N = school.size
    pige = rng.integers(0, 2, N)
    trin = rng.integers(0, 10, N)
    y = (base + u[muni_of_school[school]] + v[school] + girl * pige + grade_effect(trin)
         + rng.normal(0, sd_e, N))
    return pd.DataFrame({
        "kommunekode": pd.array([f"{100 + k}" for k in muni_of_school[school]], dtype="string"),
        "institutionsnummer": pd.array([f"{j:06d}" for j in school], dtype="string"),
        "koen": np.where(pige == 1, "pige", "dreng"),
        "klassetrin": trin,
        "score": y,
    })


def make_gap_pupils(seed: int, n_muni: int = 12, n_school: int = 15, mu: float = 10.0,
                    tau_m: float = 5.0, tau_s: float = 15.0, sd_s: float = 35.0,
                    sd_e: float = 90.0) -> tuple[pd.DataFrame, pd.Series]:
    """Schools of very different sizes (6-150 boys) with known true girl-boy gaps."""
    rng = np.random.default_rng(seed)
    J = n_muni * n_school
    muni = np.repeat(np.arange(n_muni), n_school)
    gap = mu + rng.normal(0, tau_m, n_muni)[muni] + rng.normal(0, tau_s, J)
    level = 500 + rng.normal(0, sd_s, J)
    n_d = np.round(np.exp(rng.uniform(np.log(6), np.log(150), J))).astype(int)
    n_p = np.round(n_d * rng.uniform(0.8, 1.25, J)).astype(int).clip(6)
    school = np.repeat(np.arange(J), n_d + n_p)
    pige = np.concatenate([np.r_[np.zeros(a, int), np.ones(b, int)] for a, b in zip(n_d, n_p)])
    y = level[school] + gap[school] * pige + rng.normal(0, sd_e, school.size)
    ids = np.array([f"{j:06d}" for j in range(J)])
    pupils = pd.DataFrame({
        "kommunekode": [f"{200 + k}" for k in muni[school]],
        "institutionsnummer": ids[school],
        "koen": np.where(pige == 1, "pige", "dreng"),
        "klassetrin": rng.integers(0, 10, school.size),
        "score": y,
    })
    return pupils, pd.Series(gap, index=ids, name="true_gap")


@pytest.fixture(scope="module")
def pupils() -> pd.DataFrame:
    return make_pupils(seed=20240601)


@pytest.fixture(scope="module")
def fit_linear(pupils) -> MultilevelResult:
    return fit_multilevel(pupils, grade="linear")


# ------------------------------------------------------------------------------------------
# The REML likelihood itself
# ------------------------------------------------------------------------------------------
def test_closed_form_reml_matches_dense_computation():
    """The sufficient-statistics likelihood equals the textbook dense REML likelihood."""
    rng = np.random.default_rng(7)
    sizes = [3, 7, 1, 5, 9, 4, 2, 6]  # unbalanced, incl. a one-pupil school
    muni_of = [0, 0, 0, 1, 1, 2, 2, 2]
    school = np.repeat(np.arange(len(sizes)), sizes)
    N = school.size
    df = pd.DataFrame({
        "kommunekode": [str(m) for m in np.array(muni_of)[school]],
        "institutionsnummer": [f"s{j}" for j in school],
        "koen": rng.choice(["dreng", "pige"], N),
        "klassetrin": rng.integers(0, 10, N),
        "score": rng.normal(500, 100, N),
    })
    d, _ = ml._prepare(df)
    X, _, _ = ml._design(d, "band")
    y = d["score"].to_numpy()
    sc, su = pd.factorize(d["kommunekode"] + "|" + d["institutionsnummer"], sort=True)
    mc, _ = pd.factorize(pd.Series(su).str.split("|").str[0], sort=True)
    st = ml._suff_stats(X, y, np.asarray(sc), np.asarray(mc), int(mc.max()) + 1)
    Zs = (sc[:, None] == np.arange(len(su))).astype(float)
    Zm = (mc[sc][:, None] == np.arange(mc.max() + 1)).astype(float)
    for s2m, s2s, s2e in [(100.0, 300.0, 8000.0), (0.0, 50.0, 1000.0), (400.0, 0.0, 5000.0)]:
        V = s2e * np.eye(N) + s2s * Zs @ Zs.T + s2m * Zm @ Zm.T
        Vi = np.linalg.inv(V)
        XVX = X.T @ Vi @ X
        r = y - X @ np.linalg.solve(XVX, X.T @ Vi @ y)
        dense = (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r
                 + (N - X.shape[1]) * np.log(2 * np.pi))
        assert ml._reml_deviance(s2m, s2s, s2e, st) == pytest.approx(dense, rel=1e-10)


def test_agrees_with_statsmodels_mixedlm_where_it_converges():
    """On a dataset small enough for MixedLM to converge cleanly we get its answer.

    (At 65k pupils MixedLM takes 10-19 s and on some datasets fails to converge; see bench/.)
    """
    smf = pytest.importorskip("statsmodels.formula.api")
    df = make_pupils(seed=7, n_muni=8, n_school=10, n_pupil=40)
    ours = fit_multilevel(df, grade="linear", variance_ci=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would make the comparison moot
        sm = smf.mixedlm("score ~ C(koen) + klassetrin", df, groups="kommunekode",
                         re_formula="1",
                         vc_formula={"skole": "0 + C(institutionsnummer)"}).fit(reml=True)
    assert sm.converged
    # Our REML optimum is at least as good as statsmodels' (same criterion).
    assert -0.5 * ours.reml_deviance >= sm.llf - 1e-4
    np.testing.assert_allclose(ours.fixed_effects["estimate"], sm.fe_params.to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(ours.fixed_effects["se"], sm.bse_fe.to_numpy(), rtol=1e-3)
    assert ours.var_municipality == pytest.approx(float(sm.cov_re.iloc[0, 0]), rel=0.01)
    assert ours.var_school == pytest.approx(float(sm.vcomp[0]), rel=0.01)
    assert ours.var_residual == pytest.approx(float(sm.scale), rel=1e-3)


# ------------------------------------------------------------------------------------------
# Recovery of known parameters
# ------------------------------------------------------------------------------------------
def test_recovers_known_parameters_single_seed(fit_linear):
    # Sampling SDs from 1,000 simulated datasets (12 x 15 x 80, these true values):
    #   sd_m 5.39, sd_s 2.11, sd_e 0.55, pige 1.52, slope 0.262, icc_school 0.021.
    # Tolerances are ~4 sampling SDs.  sd_m from 12 municipalities is so imprecise that
    # 4 SDs exceed the true value: only the upper side is informative (it was exactly 0
    # in 0.5 % of the simulated datasets).
    r = fit_linear
    assert r.converged
    assert 0.0 <= np.sqrt(r.var_municipality) < SD_M + 21.5
    assert np.sqrt(r.var_school) == pytest.approx(SD_S, abs=8.5)
    assert np.sqrt(r.var_residual) == pytest.approx(SD_E, abs=2.2)
    assert r.effect("pige") == pytest.approx(GIRL, abs=6.1)
    assert r.effect("klassetrin") == pytest.approx(SLOPE, abs=1.05)
    total = SD_M**2 + SD_S**2 + SD_E**2
    assert r.icc_school == pytest.approx((SD_M**2 + SD_S**2) / total, abs=0.086)
    assert (r.n_pupils, r.n_schools, r.n_municipalities) == (14_400, 180, 12)


def test_recovers_known_parameters_on_average():
    # Averaged over 20 datasets the Monte-Carlo SE is sampling SD / sqrt(20); we allow 4 of
    # them (+ the known small downward REML bias of SD estimates, -0.9 for sd_m in the
    # 1,000-replicate study).
    est = []
    for seed in range(20):
        r = fit_multilevel(make_pupils(seed=1000 + seed), grade="linear", variance_ci=False)
        est.append([np.sqrt(r.var_municipality), np.sqrt(r.var_school),
                    np.sqrt(r.var_residual), r.effect("pige"), r.effect("klassetrin")])
    m = np.mean(est, axis=0)
    se = np.array([5.39, 2.11, 0.55, 1.52, 0.262]) / np.sqrt(20)
    truth = np.array([SD_M, SD_S, SD_E, GIRL, SLOPE])
    assert np.all(np.abs(m - truth) < 4 * se + np.array([0.9, 0.2, 0.0, 0.0, 0.0])), (m, truth)


def test_variance_component_intervals_and_icc_definitions(fit_linear):
    # Profile-likelihood intervals: coverage in 300 simulated datasets was 94 % / 95 % / 93 %
    # for the municipality / school / residual variance.  Here only structural checks.
    r = fit_linear
    vc = r.variance_components.set_index("component")
    for comp in vc.index:
        lo, est, hi = vc.loc[comp, ["var_ci_low", "variance", "var_ci_high"]]
        assert 0 <= lo <= est <= hi < np.inf
    assert vc.loc["elev (residual)", "var_ci_low"] > 0
    total = r.var_municipality + r.var_school + r.var_residual
    assert r.icc_municipality == pytest.approx(r.var_municipality / total)
    assert r.icc_school == pytest.approx((r.var_municipality + r.var_school) / total)
    assert r.share_school == pytest.approx(r.var_school / total)
    assert vc["share"].sum() == pytest.approx(1.0)
    assert "REML" in r.method
    fe = r.fixed_effects
    assert list(fe.columns) == ["term", "label", "estimate", "se", "ci_low", "ci_high"]
    assert np.all(fe["ci_low"] < fe["estimate"]) and np.all(fe["estimate"] < fe["ci_high"])


def test_grade_bands_default():
    bands = {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: -8.0, 5: -8.0, 6: -8.0, 7: -20.0, 8: -20.0, 9: -20.0}
    df = make_pupils(seed=5, grade_effect=lambda t: np.vectorize(bands.get)(t))
    r = fit_multilevel(df, variance_ci=False)
    assert list(r.fixed_effects["term"]) == ["intercept", "pige", "trin_4_6", "trin_7_9"]
    # sampling SD of a band contrast here is about 1.8 points; tolerance 4 SD
    assert r.effect("trin_4_6") == pytest.approx(-8.0, abs=7.2)
    assert r.effect("trin_7_9") == pytest.approx(-20.0, abs=7.2)
    assert r.effect("pige") == pytest.approx(GIRL, abs=6.1)


def test_single_municipality_drops_that_level():
    df = make_pupils(seed=3, n_muni=1, n_school=20, n_pupil=60)
    r = fit_multilevel(df)
    assert np.isnan(r.var_municipality) and np.isnan(r.icc_municipality)
    assert r.icc_school == pytest.approx(r.var_school / (r.var_school + r.var_residual))
    assert r.notes and "one municipality" in r.notes[0]


def test_fit_on_65k_pupils_is_fast():
    import time

    df = make_pupils(seed=11, n_muni=13, n_school=16, n_pupil=312)  # 64,896 pupils
    t0 = time.perf_counter()
    r = fit_multilevel(df)
    elapsed = time.perf_counter() - t0
    assert r.converged and r.n_pupils == 64_896
    assert elapsed < 10.0  # measured ~0.5 s on 2 cores; the brief's budget is 20 s


# ------------------------------------------------------------------------------------------
# Empirical Bayes gender gaps
# ------------------------------------------------------------------------------------------
def test_gap_closed_forms_match_henderson_mixed_model_equations():
    """Posterior mean/variance given (tau_m, tau_s) equal BLUP/PEV from Henderson's MME."""
    rng = np.random.default_rng(3)
    J, K = 14, 4
    muni = np.sort(rng.integers(0, K, J))
    muni[:K] = np.arange(K)
    muni = np.sort(muni)
    y = rng.normal(10, 20, J)
    v = rng.uniform(50, 900, J)
    G = np.zeros((K, J))
    G[muni, np.arange(J)] = 1.0
    for tm2, ts2 in [(25.0, 100.0), (0.0, 64.0), (36.0, 0.0), (0.0, 0.0)]:
        _, mean, var, _, _ = ml._gap_terms(np.array([tm2]), np.array([ts2]), y, v, G, muni)
        cols, ginv = [np.ones((J, 1))], [0.0]
        if tm2 > 0:
            cols.append(G.T)
            ginv += [1 / tm2] * K
        if ts2 > 0:
            cols.append(np.eye(J))
            ginv += [1 / ts2] * J
        W = np.hstack(cols)
        C = (W / v[:, None]).T @ W + np.diag(ginv)
        Ci = np.linalg.inv(C)
        blup = W @ (Ci @ (W.T @ (y / v)))
        pev = np.einsum("ij,jk,ik->i", W, Ci, W)
        np.testing.assert_allclose(mean[0], blup, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(var[0], pev, rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def gap_case():
    pupils, truth = make_gap_pupils(seed=31)
    return pupils, truth, school_gender_gaps(pupils)


def test_eb_gaps_output_shape_and_order(gap_case):
    pupils, truth, g = gap_case
    assert list(g.columns) == ["institutionsnummer", "kommunekode", "n_dreng", "n_pige", "raw_gap",
                               "raw_se", "eb_gap", "eb_low", "eb_high"]
    assert g["eb_gap"].is_monotonic_increasing
    assert len(g) == 180 and g["institutionsnummer"].is_unique
    assert np.all(g["eb_low"] < g["eb_gap"]) and np.all(g["eb_gap"] < g["eb_high"])
    assert g.attrs["converged"]


def test_eb_gaps_beat_raw_gaps_and_cover(gap_case):
    # 400-replicate study (tau_m 5, tau_s 15, 6-150 boys per school):
    #   MSE(eb)/MSE(raw): mean 0.21, max 0.33       -> assert < 0.5
    #   coverage of 95 % eb intervals: mean 0.944, 1 % quantile 0.855, min 0.79 -> >= 0.78
    #   mean |eb-raw| smallest quartile / largest quartile: mean 4.9, min 3.1    -> > 2
    _, truth, g = gap_case
    tg = truth.loc[g["institutionsnummer"].to_numpy()].to_numpy()
    mse_raw = np.mean((g["raw_gap"] - tg) ** 2)
    mse_eb = np.mean((g["eb_gap"] - tg) ** 2)
    assert mse_eb < 0.5 * mse_raw
    coverage = np.mean((g["eb_low"] <= tg) & (tg <= g["eb_high"]))
    assert 0.78 <= coverage <= 1.0
    n_eff = 1 / (1 / g["n_dreng"] + 1 / g["n_pige"])
    pull = (g["eb_gap"] - g["raw_gap"]).abs()
    q1, q3 = np.quantile(n_eff, [0.25, 0.75])
    assert pull[n_eff <= q1].mean() > 2 * pull[n_eff >= q3].mean()
    # intervals: small schools gain most relative to their raw SE
    ratio = (g["eb_high"] - g["eb_low"]) / (2 * 1.96 * g["raw_se"])
    assert ratio[n_eff <= q1].mean() < ratio[n_eff >= q3].mean()


def test_eb_interval_coverage_is_roughly_nominal_over_seeds():
    # Mean over 4 datasets: SD of per-dataset coverage 0.030 -> SE 0.015; bound ~3.5 SE.
    cov = []
    for seed in (101, 102, 103, 104):
        pupils, truth = make_gap_pupils(seed=seed)
        g = school_gender_gaps(pupils)
        tg = truth.loc[g["institutionsnummer"].to_numpy()].to_numpy()
        cov.append(np.mean((g["eb_low"] <= tg) & (tg <= g["eb_high"])))
    assert 0.89 <= np.mean(cov) <= 0.995, cov


def _exact_group(level: float, n: int) -> list[float]:
    """n scores with mean exactly `level` (alternating +-90, plus 0 if n is odd)."""
    dev = [90.0 if i % 2 == 0 else -90.0 for i in range(n - n % 2)] + [0.0] * (n % 2)
    return [level + d for d in dev]


def test_small_school_is_shrunk_more_than_large_school_with_same_raw_gap():
    background, _ = make_gap_pupils(seed=8, n_muni=4, n_school=10, tau_m=2.0, tau_s=8.0)
    rows = []
    for inst, n in (("900001", 6), ("900002", 100)):
        for koen, level in (("dreng", 490.0), ("pige", 530.0)):  # raw gap exactly +40
            rows += [("200", inst, koen, 5, s) for s in _exact_group(level, n)]
    extra = pd.DataFrame(rows, columns=background.columns)
    g = school_gender_gaps(pd.concat([background, extra], ignore_index=True)).set_index(
        "institutionsnummer")
    small, large = g.loc["900001"], g.loc["900002"]
    assert small["raw_gap"] == pytest.approx(40.0) and large["raw_gap"] == pytest.approx(40.0)
    mu = g.attrs["mu"]
    assert mu < large["eb_gap"] <= 40.0 and mu < small["eb_gap"] <= 40.0
    assert abs(small["eb_gap"] - 40.0) > abs(large["eb_gap"] - 40.0)
    assert (small["eb_high"] - small["eb_low"]) > (large["eb_high"] - large["eb_low"])


# ------------------------------------------------------------------------------------------
# Privacy: small groups and aggregates only
# ------------------------------------------------------------------------------------------
def test_small_groups_are_excluded(gap_case):
    pupils, _, _ = gap_case
    rows = []
    for inst, n_girls in (("990005", 5), ("990006", 6)):
        rows += [("201", inst, "dreng", 4, 500.0 + i) for i in range(30)]
        rows += [("201", inst, "pige", 4, 520.0 + i) for i in range(n_girls)]
    df = pd.concat([pupils, pd.DataFrame(rows, columns=pupils.columns)], ignore_index=True)
    g = school_gender_gaps(df)
    assert "990005" not in set(g["institutionsnummer"])  # 5 girls: never shown
    assert "990006" in set(g["institutionsnummer"])  # 6 girls: shown
    assert g.attrs["n_schools_excluded"] == 1
    assert (g[["n_dreng", "n_pige"]] >= 6).all().all()
    g10 = school_gender_gaps(df, min_group=10)
    assert "990006" not in set(g10["institutionsnummer"])
    assert (g10[["n_dreng", "n_pige"]] >= 10).all().all()
    with pytest.raises(ValueError, match="privacy floor"):
        school_gender_gaps(df, min_group=5)


def test_no_pupil_level_values_in_outputs(pupils, fit_linear, gap_case):
    pupil_cols = {"score", "elev_id", "koen", "klassetrin", "residual"}
    _, _, g = gap_case
    assert not pupil_cols & set(g.columns)
    assert len(g) <= g.attrs["n_schools"] + g.attrs["n_schools_excluded"]
    for f in dataclasses.fields(fit_linear):
        value = getattr(fit_linear, f.name)
        if isinstance(value, pd.DataFrame):
            assert len(value) < 10 and not pupil_cols & set(value.columns), f.name
        else:
            assert isinstance(value, (int, float, str, bool, tuple)), f.name
    # no individual score shows up among the returned numbers
    scores = set(np.round(pupils["score"].to_numpy(), 6))
    numbers = np.concatenate([fit_linear.fixed_effects.select_dtypes("number").to_numpy().ravel(),
                              fit_linear.variance_components.select_dtypes("number").to_numpy().ravel(),
                              g.select_dtypes("number").to_numpy().ravel()])
    assert not scores & set(np.round(numbers, 6))


# ------------------------------------------------------------------------------------------
# Input validation and cleaning
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("func", [fit_multilevel, school_gender_gaps])
@pytest.mark.parametrize("col", ["kommunekode", "institutionsnummer", "koen", "klassetrin", "score"])
def test_missing_column_is_named(func, col, pupils):
    with pytest.raises(ValueError, match=f"'{col}'"):
        func(pupils.drop(columns=col))


def test_invalid_values_raise(pupils):
    bad = pupils.head(2000).copy()
    bad.loc[0, "koen"] = "x"
    with pytest.raises(ValueError, match="koen"):
        fit_multilevel(bad)
    bad = pupils.head(2000).copy()
    bad.loc[0, "klassetrin"] = 12
    with pytest.raises(ValueError, match="klassetrin"):
        fit_multilevel(bad)
    with pytest.raises(ValueError, match="grade"):
        fit_multilevel(pupils, grade="quadratic")
    with pytest.raises(TypeError):
        fit_multilevel(pupils.to_dict())


def test_missing_scores_dropped_and_aliases_accepted(pupils):
    df = pupils.copy()
    df.loc[df.index[:100], "score"] = np.nan
    df.loc[df.index[100:105], "koen"] = None
    df["koen"] = df["koen"].map({"dreng": "D", "pige": "P"}).where(df["koen"].notna(), None)
    r = fit_multilevel(df, variance_ci=False)
    assert r.n_dropped == 105 and r.n_pupils == len(df) - 105
    ref = fit_multilevel(pupils.iloc[105:], variance_ci=False)
    assert r.effect("pige") == pytest.approx(ref.effect("pige"), rel=1e-9)
