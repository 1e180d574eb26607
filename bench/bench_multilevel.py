"""Benchmark: datapakke.multilevel on a 65,000-pupil synthetic dataset.  Not a test.

    .venv/bin/python bench/bench_multilevel.py            # ours vs OLS baseline
    .venv/bin/python bench/bench_multilevel.py --mixedlm  # also statsmodels MixedLM (slow)

The dataset mimics the programme: 13 municipalities with 8-25 schools each (~200 schools),
school sizes 100-700 pupils (unbalanced), gender and grade-band effects, variance
components sd 20 (municipality) / 35 (school) / 90 (pupil), school-specific gender gaps.
The baseline is a plain OLS with the same fixed effects (statsmodels), timed in the same run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from datapakke.multilevel import fit_multilevel, school_gender_gaps

BANDS = np.array([0, 0, 0, 0, -8, -8, -8, -20, -20, -20], dtype=float)


def synthetic(seed: int = 2024, target: int = 65_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_schools = rng.integers(8, 26, 13)
    muni = np.repeat(np.arange(13), n_schools)
    J = muni.size
    size = rng.uniform(100, 700, J)
    size = np.round(size * target / size.sum()).astype(int)
    school = np.repeat(np.arange(J), size)
    N = school.size
    u = rng.normal(0, 20, 13)
    v = rng.normal(0, 35, J)
    gap = 12 + rng.normal(0, 10, J)
    pige = rng.integers(0, 2, N)
    trin = rng.integers(0, 10, N)
    y = 500 + u[muni][school] + v[school] + gap[school] * pige + BANDS[trin] + rng.normal(0, 90, N)
    codes = np.array([str(c) for c in (787, 621, 480, 766, 530, 820, 607, 265, 316, 510, 615, 250, 479)])
    return pd.DataFrame({
        "kommunekode": codes[muni][school],
        "institutionsnummer": np.array([f"{100000 + j * 7:06d}" for j in range(J)])[school],
        "koen": np.where(pige == 1, "pige", "dreng"),
        "klassetrin": trin,
        "score": y,
    })


def timed(fn, repeat: int = 3):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixedlm", action="store_true", help="also time statsmodels MixedLM (~15-20 s)")
    args = ap.parse_args()

    df = synthetic()
    print(f"{len(df):,} pupils, {df['institutionsnummer'].nunique()} schools, "
          f"{df['kommunekode'].nunique()} municipalities")

    df_ols = df.assign(band=pd.cut(df["klassetrin"], [-1, 3, 6, 10], labels=["0-3", "4-6", "7-9"]))
    t_ols, _ = timed(lambda: smf.ols("score ~ C(koen) + C(band)", df_ols).fit())
    t_fit, res = timed(lambda: fit_multilevel(df))
    t_fit_noci, _ = timed(lambda: fit_multilevel(df, variance_ci=False))
    t_gap, gaps = timed(lambda: school_gender_gaps(df))

    print(f"OLS baseline (statsmodels)           {t_ols:8.3f} s")
    print(f"fit_multilevel (with profile CIs)    {t_fit:8.3f} s   ratio {t_fit / t_ols:6.1f}x OLS")
    print(f"fit_multilevel (variance_ci=False)   {t_fit_noci:8.3f} s   ratio {t_fit_noci / t_ols:6.1f}x OLS")
    print(f"school_gender_gaps                   {t_gap:8.3f} s   ratio {t_gap / t_ols:6.1f}x OLS")
    print()
    print(res.fixed_effects.round(2).to_string(index=False))
    print(res.variance_components.round(1).to_string(index=False))
    print(f"icc_municipality {res.icc_municipality:.3f}  icc_school {res.icc_school:.3f}  "
          f"converged {res.converged}")
    print(f"gaps: {len(gaps)} schools, tau_school {gaps.attrs['tau_school']:.1f} (true 10), "
          f"mu {gaps.attrs['mu']:.1f} (true 12)")

    if args.mixedlm:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            sm = smf.mixedlm("score ~ C(koen) + C(band)", df_ols, groups="kommunekode",
                             re_formula="1",
                             vc_formula={"skole": "0 + C(institutionsnummer)"}).fit(reml=True)
            t_sm = time.perf_counter() - t0
        print(f"\nstatsmodels MixedLM                  {t_sm:8.3f} s   ratio {t_sm / t_ols:6.1f}x OLS; "
              f"converged={sm.converged}, {len(w)} warnings")
        print(f"  REML loglik: MixedLM {sm.llf:.3f}  ours {-0.5 * res.reml_deviance:.3f}")
        print(f"  var_m {float(sm.cov_re.iloc[0, 0]):.1f}  var_s {float(sm.vcomp[0]):.1f}  "
              f"var_e {sm.scale:.1f}")


if __name__ == "__main__":
    main()
