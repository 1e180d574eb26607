"""Gender gaps (boys vs girls) in survey dimension scores.

Section 3 of a school's datapakke ("Kønsforskelle i faglig trivsel") and the
researcher's explorer both need, per school × round × dimension (optionally ×
grade band): the difference between boys and girls with its uncertainty, an
effect size, a p-value corrected across dimensions, the change of the gap
between rounds and the school's gap against all schools (funnel plot).

Input everywhere is a *pupil-level* score frame with columns

``kommunekode`` (str), ``institutionsnummer`` (str), ``runde`` ('T1'|'T2'|'T3'),
``dimension`` (str), ``koen`` ('dreng'|'pige'), ``klassetrin`` (int 0–10),
``score`` (float on the 500/100 scale; NaN = the pupil did not count).

Only aggregates come out.  Note that these functions do **not** apply the
privacy rule of DOMAIN.md §5 (survey figures on ≤ 5 respondents are suppressed):
that is the publishing layer's job; the ``n_dreng`` / ``n_pige`` columns are
there so it can.  The only protection here is that a "mean" of a single pupil
(which *is* that pupil's score) is never returned (see :func:`gender_gaps`).

Sign convention
---------------
``diff = mean_dreng − mean_pige`` throughout: a negative gap means the boys
score lower than the girls (as at Aars Skole T1: 492 − 516 = −24).

Statistics and sources
----------------------
* Difference, CI, t, p: Welch's unequal-variance t-test with the
  Welch–Satterthwaite degrees of freedom (Welch 1947), computed from group
  sufficient statistics (n, mean, variance with ddof=1) and evaluated with the
  vectorised :data:`scipy.stats.t` distribution.  This is exactly what
  ``scipy.stats.ttest_ind(dreng, pige, equal_var=False)`` and its
  ``.confidence_interval()`` compute; the tests check it group by group.
* Effect size: Hedges' g = J(df) · (diff / s_pooled),
  s_pooled = sqrt(((n_d−1)s_d² + (n_p−1)s_p²) / (n_d+n_p−2)), df = n_d+n_p−2,
  with the *exact* small-sample correction
  J(df) = Γ(df/2) / (sqrt(df/2) · Γ((df−1)/2))  (Hedges 1981, eq. 6e; Hedges &
  Olkin 1985, ch. 5).  The usual approximation J ≈ 1 − 3/(4·df − 1)
  (Borenstein et al. 2009, eq. 4.22) agrees to < 1e-4 for df ≥ 10.
* CI for g: normal approximation g ± z·SE(g) with
  Var(g) = J² · [ (n_d+n_p)/(n_d·n_p) + d²/(2(n_d+n_p)) ]
  (Borenstein, Hedges, Higgins & Rothstein 2009, *Introduction to
  Meta-Analysis*, eqs. 4.20 and 4.24; Hedges & Olkin 1985).
* Multiple testing: Holm (1979) or Benjamini–Hochberg (1995), identical to
  :func:`statsmodels.stats.multitest.multipletests` per family (vectorised
  over families; see :func:`adjust_pvalues`).
* Intervals that agree with Holm's test (:func:`holm_intervals`): each
  estimate's interval is taken at the level of the Holm step that decided it,
  so an interval excludes 0 exactly when the Holm-adjusted p < alpha.
* Funnel plots: Spiegelhalter (2005), "Funnel plots for comparing
  institutional performance", *Statistics in Medicine* 24:1185–1202; limits
  at 95 % (z = 1.96) and 99.8 % (z = 3.09) around the overall gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .config import GRADE_BANDS

__all__ = [
    "GRADE_BANDS",
    "GAP_COLUMNS",
    "grade_band",
    "gender_gaps",
    "adjust_pvalues",
    "holm_intervals",
    "gap_change",
    "funnel_limits",
    "funnel_points",
]

DRENG, PIGE = "dreng", "pige"

#: Grade bands in display order.  10. klasse is its own band (see grade_band).

#: Statistic columns returned by gender_gaps (after the `by` columns).
GAP_COLUMNS: tuple[str, ...] = (
    "n_dreng", "n_pige", "mean_dreng", "mean_pige", "sd_dreng", "sd_pige",
    "diff", "se", "df", "t", "p", "ci_low", "ci_high",
    "sd_pooled", "hedges_g", "g_se", "g_ci_low", "g_ci_high",
)

# Two-sided normal quantiles for the funnel limits.
Z95 = float(stats.norm.ppf(0.975))   # 1.959964
Z998 = float(stats.norm.ppf(0.999))  # 3.090232


# --------------------------------------------------------------------------
# grade bands
# --------------------------------------------------------------------------
def _band_of_int(k: int) -> str:
    if 0 <= k <= 3:
        return GRADE_BANDS[0]
    if 4 <= k <= 6:
        return GRADE_BANDS[1]
    if 7 <= k <= 9:
        return GRADE_BANDS[2]
    if k == 10:
        return GRADE_BANDS[3]
    raise ValueError(f"klassetrin must be 0–10, got {k!r}")


def grade_band(klassetrin):
    """Map a grade (klassetrin 0–10) to its band label.

    0–3 → '0.–3. kl.' (indskoling; these pupils answer the short form),
    4–6 → '4.–6. kl.' (mellemtrin), 7–9 → '7.–9. kl.' (udskoling).
    10 → '10. kl.' — its own band, not lumped into 7.–9.: 10. klasse is an
    optional extra year, mostly taught at other institutions, and a label
    '7.–9. kl.' that silently contained 10th-graders would misstate the group.

    Accepts a scalar (returns ``str``, or ``None`` for a missing grade) or a
    Series / array-like (returns a Series of ``str`` with missing grades as
    NA; a Series keeps its index).  Order the labels with :data:`GRADE_BANDS`.
    Grades outside 0–10 (or non-integers) raise ``ValueError``.
    """
    if np.ndim(klassetrin) == 0:
        if klassetrin is None or pd.isna(klassetrin):
            return None
        k = float(klassetrin)
        if not k.is_integer():
            raise ValueError(f"klassetrin must be an integer, got {klassetrin!r}")
        return _band_of_int(int(k))

    s = klassetrin if isinstance(klassetrin, pd.Series) else pd.Series(klassetrin)
    k = pd.to_numeric(s, errors="raise").astype("float64")
    kv = k.to_numpy()
    ok = ~np.isnan(kv)
    bad = ok & ((kv < 0) | (kv > 10) | (kv != np.round(kv)))
    if bad.any():
        raise ValueError(f"klassetrin must be integers 0–10, got e.g. {kv[bad][0]!r}")
    idx = np.searchsorted(np.array([3.5, 6.5, 9.5]), np.where(ok, kv, 0.0))
    labels = np.array(GRADE_BANDS, dtype=object)[idx]
    labels[~ok] = None
    return pd.Series(labels, index=s.index, dtype="str", name=s.name)


# --------------------------------------------------------------------------
# core vectorised statistics (from sufficient statistics)
# --------------------------------------------------------------------------
def _hedges_j(df: np.ndarray) -> np.ndarray:
    """Exact small-sample correction J(df) = Γ(df/2) / (sqrt(df/2) Γ((df−1)/2))."""
    df = np.asarray(df, dtype=float)
    out = np.full(df.shape, np.nan)
    ok = df > 1
    h = df[ok] / 2.0
    out[ok] = np.exp(special.gammaln(h) - special.gammaln(h - 0.5)) / np.sqrt(h)
    return out


def _welch_from_stats(n1, m1, v1, n2, m2, v2, confidence: float) -> dict[str, np.ndarray]:
    """Welch t-test + Hedges' g from per-group (n, mean, var ddof=1), vectorised.

    Groups with n < 2 on either side, or with zero standard error (both genders
    constant), get NaN inference: the test is undefined there.
    """
    n1, m1, v1, n2, m2, v2 = (np.asarray(a, dtype=float) for a in (n1, m1, v1, n2, m2, v2))
    valid = (n1 >= 2) & (n2 >= 2) & np.isfinite(v1) & np.isfinite(v2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = v1 / n1
        a2 = v2 / n2
        se2 = a1 + a2
        valid &= se2 > 0
        se = np.where(valid, np.sqrt(se2), np.nan)
        diff = np.where((n1 >= 1) & (n2 >= 1), m1 - m2, np.nan)
        df = np.where(valid, se2**2 / (a1**2 / (n1 - 1) + a2**2 / (n2 - 1)), np.nan)
        t = np.where(valid, diff / se, np.nan)
        p = 2.0 * stats.t.sf(np.abs(t), df)
        q = stats.t.ppf(0.5 + confidence / 2.0, df)
        ci_low = diff - q * se
        ci_high = diff + q * se

        # Hedges' g with pooled SD (Borenstein et al. 2009, ch. 4)
        dfp = n1 + n2 - 2
        gvalid = (n1 >= 2) & (n2 >= 2) & np.isfinite(v1) & np.isfinite(v2)
        sp = np.where(gvalid, np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / dfp), np.nan)
        d = np.where(sp > 0, diff / sp, np.nan)
        j = _hedges_j(np.where(gvalid, dfp, np.nan))
        g = j * d
        var_d = (n1 + n2) / (n1 * n2) + d**2 / (2.0 * (n1 + n2))
        g_se = np.sqrt(j**2 * var_d)
        z = stats.norm.ppf(0.5 + confidence / 2.0)
    diff = np.where(valid | gvalid, diff, np.nan)
    return {
        "diff": diff, "se": se, "df": df, "t": t, "p": p,
        "ci_low": ci_low, "ci_high": ci_high,
        "sd_pooled": sp, "hedges_g": g, "g_se": g_se,
        "g_ci_low": g - z * g_se, "g_ci_high": g + z * g_se,
    }


# --------------------------------------------------------------------------
# 1. gender gaps per group
# --------------------------------------------------------------------------
def gender_gaps(scores: pd.DataFrame, by: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
    """Boys-vs-girls gap in mean score per group of ``by``.

    Parameters
    ----------
    scores : pupil-level frame with at least ``by`` + ``koen`` + ``score``.
        Rows with missing ``score`` (pupil did not count on the dimension) or
        missing ``koen`` are ignored.  ``koen`` must be 'dreng' or 'pige'
        (ingest normalises M/K, D/P); other values raise ``ValueError``.
    by : grouping columns, e.g. ``['institutionsnummer', 'runde', 'dimension']``
        or with a grade band (``scores.assign(trin=grade_band(scores.klassetrin))``).
        Rows whose group key is missing are dropped (pandas ``groupby`` default),
        and a group with no scored pupil at all gets no row.  Rows are sorted
        by ``by`` as strings, so a grade-band column sorts '10. kl.' before
        '4.–6. kl.'; order for display with :data:`GRADE_BANDS`.
    confidence : level of both confidence intervals (default 0.95).

    Returns
    -------
    One row per group (sorted by ``by``), columns ``by`` + :data:`GAP_COLUMNS`:

    - ``n_dreng, n_pige``: pupils with a score (0 if a gender is absent);
    - ``mean_dreng, mean_pige, sd_dreng, sd_pige`` (SD with ddof=1); a mean is
      NaN when it would rest on a single pupil (it would *be* that pupil's score);
    - ``diff`` = mean_dreng − mean_pige (negative: boys lower);
    - ``se`` Welch standard error sqrt(s_d²/n_d + s_p²/n_p), ``df``
      Welch–Satterthwaite degrees of freedom, ``t`` = diff/se, ``p`` two-sided,
      ``ci_low, ci_high`` = diff ∓ t_{df, (1+confidence)/2} · se — identical to
      ``scipy.stats.ttest_ind(dreng, pige, equal_var=False)`` and its
      ``confidence_interval(confidence)``;
    - ``sd_pooled``, ``hedges_g`` (bias-corrected SMD with pooled SD, exact J),
      ``g_se``, ``g_ci_low, g_ci_high`` (normal approximation, Borenstein et
      al. 2009 eqs. 4.20/4.24 — see module docstring).

    Groups where either gender has fewer than 2 pupils, or where both genders'
    scores are constant (se = 0), get NaN statistics.

    Runs on sufficient statistics from one ``groupby``: ~1.4 M rows into
    ~15 k groups takes well under a few seconds.
    """
    by = list(by)
    if not by:
        raise ValueError("by must name at least one grouping column")
    if "koen" in by:
        raise ValueError("'koen' is the comparison, it cannot be a grouping column")
    missing = [c for c in (*by, "koen", "score") if c not in scores.columns]
    if missing:
        raise KeyError(f"scores lacks columns {missing}")

    koen = scores["koen"]
    unknown = koen.notna() & ~koen.isin([DRENG, PIGE])
    if unknown.any():
        raise ValueError(
            f"koen must be 'dreng' or 'pige'; found {sorted(map(str, koen[unknown].unique()))[:5]}"
        )

    use = scores.loc[koen.notna() & scores["score"].notna(), [*by, "koen", "score"]]
    # float64 keeps the sums in double precision whatever the input dtype.
    use = use.assign(score=use["score"].astype("float64"))
    agg = (
        use.groupby([*by, "koen"], observed=True, sort=True)["score"]
        .agg(["count", "mean", "var"])
        .unstack("koen")
    )
    idx = agg.index
    def col(stat: str, k: str) -> np.ndarray:
        if (stat, k) in agg.columns:
            return agg[(stat, k)].to_numpy(dtype=float)
        return np.full(len(agg), np.nan)

    n_d = np.nan_to_num(col("count", DRENG), nan=0.0)
    n_p = np.nan_to_num(col("count", PIGE), nan=0.0)
    m_d, m_p = col("mean", DRENG), col("mean", PIGE)
    v_d, v_p = col("var", DRENG), col("var", PIGE)
    # a mean of one pupil is an individual score: never return it
    m_d = np.where(n_d >= 2, m_d, np.nan)
    m_p = np.where(n_p >= 2, m_p, np.nan)
    res = _welch_from_stats(n_d, m_d, v_d, n_p, m_p, v_p, confidence)

    out = idx.to_frame(index=False)
    out["n_dreng"] = n_d.astype("int64")
    out["n_pige"] = n_p.astype("int64")
    out["mean_dreng"] = m_d
    out["mean_pige"] = m_p
    out["sd_dreng"] = np.sqrt(v_d)
    out["sd_pige"] = np.sqrt(v_p)
    for c in GAP_COLUMNS[6:]:
        out[c] = res[c]
    return out


# --------------------------------------------------------------------------
# 2. multiple-testing correction across dimensions
# --------------------------------------------------------------------------
def adjust_pvalues(gaps: pd.DataFrame, family: Sequence[str], method: str = "holm") -> pd.DataFrame:
    """Add ``p_adj`` (and ``family_size``) corrected within each family.

    ``family`` are the columns that *define* one family of tests, e.g.
    ``['institutionsnummer', 'runde']`` (+ a grade band column) so that the 7
    dimensions of one school-round are corrected together.  ``method`` is
    'holm' (Holm 1979, family-wise error rate; the default — a school leader
    reads every flagged dimension as real) or 'fdr_bh' (Benjamini–Hochberg
    1995, false discovery rate; for the researcher screening many schools).

    The adjusted values are exactly those of
    :func:`statsmodels.stats.multitest.multipletests` applied family by family
    (Holm: p_(i)·(m−i+1), running maximum, capped at 1; BH: p_(i)·m/i, running
    minimum from the top, capped at 1) — the tests check this.  They are
    computed here for all families at once because ``multipletests(...,
    'holm')`` calls ``gc.collect()`` on every call (~40 ms each): a per-family
    loop over ~2,000 school-rounds took minutes.

    NaN p-values stay NaN and do not count in the family size ``m``;
    ``family_size`` is the number of non-NaN p-values in the row's family
    (0 for a NaN row).  Missing family keys form their own family.
    Returns a copy; the input is not modified.
    """
    if method not in ("holm", "fdr_bh"):
        raise ValueError("method must be 'holm' or 'fdr_bh'")
    family = list(family)
    out = gaps.copy()
    p = out["p"].to_numpy(dtype=float)
    if family:
        codes = out.groupby(family, observed=True, sort=False, dropna=False).ngroup().to_numpy()
    else:
        codes = np.zeros(len(out), dtype="int64")
    idx = np.flatnonzero(~np.isnan(p))
    order = np.lexsort((p[idx], codes[idx]))   # by family, then p ascending
    rows = idx[order]
    c_s, p_s = codes[rows], p[rows]
    first = np.r_[True, c_s[1:] != c_s[:-1]] if len(rows) else np.zeros(0, bool)
    grp = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    m = np.diff(np.r_[starts, len(rows)])[grp]
    rank = np.arange(len(rows)) - starts[grp] + 1          # 1-based rank in family
    if method == "holm":
        raw = pd.Series(p_s * (m - rank + 1))
        adj = raw.groupby(grp).cummax().to_numpy()
    else:
        raw = pd.Series((p_s * m / rank)[::-1])
        adj = raw.groupby(grp[::-1]).cummin().to_numpy()[::-1]
    p_adj = np.full(len(out), np.nan)
    size = np.zeros(len(out), dtype="int64")
    p_adj[rows] = np.minimum(adj, 1.0)
    size[rows] = m
    out["p_adj"] = p_adj
    out["family_size"] = size
    return out


def holm_intervals(frame: pd.DataFrame, family: Sequence[str], alpha: float = 0.05, estimate: str = "diff",
                   se: str = "se", df: str = "df", p: str = "p", g: str | None = None) -> pd.DataFrame:
    """Add intervals that agree with Holm's step-down test of the same family.

    Holm (1979) orders a family's m p-values, p_(1) ≤ … ≤ p_(m), and rejects H_(1), …,
    H_(s−1) where s is the first step with p_(s) > alpha / (m − s + 1).  The interval of the
    estimate at rank i is taken at the level of the step that decided it,

        alpha_i = alpha / (m − min(i, s) + 1),   interval = estimate ∓ t_{df, 1 − alpha_i/2} · se

    (df = inf: the normal quantile).  Then an interval excludes 0 exactly when Holm rejects
    — p_adj < alpha — because a rejected H_(i) has p_(i) ≤ alpha / (m − i + 1), and every
    H_(i) from step s on has p_(i) ≥ p_(s) > alpha / (m − s + 1).  Its level lies between
    1 − alpha and 1 − alpha/m (95 % to 99,3 % for seven dimensions).  These intervals show
    the test's decision and the plausible size of the difference on the same footing; they
    are not simultaneous intervals for the whole family (those cannot match Holm's test
    except by being uninformative for the rejected hypotheses; Strassburger & Bretz 2008).

    ``p`` must be the test of ``estimate / se`` against the same t(df) (or normal)
    reference, as in :func:`gender_gaps` and ``aggregate.welch_from_stats``.  Adds
    ``ci_low_holm``, ``ci_high_holm`` and ``ci_level_holm`` (the confidence level, e.g.
    0.9929); with ``g`` (a Hedges' g column with ``g_se``) also ``g_ci_low_holm`` and
    ``g_ci_high_holm`` at the same level (normal approximation, as ``g_ci_low``).  Rows with
    a NaN p get NaN.  Returns a copy.
    """
    family = list(family)
    out = frame.copy()
    pv = out[p].to_numpy(dtype=float)
    codes = (out.groupby(family, observed=True, sort=False, dropna=False).ngroup().to_numpy()
             if family else np.zeros(len(out), dtype="int64"))
    idx = np.flatnonzero(~np.isnan(pv))
    rows = idx[np.lexsort((pv[idx], codes[idx]))]
    c_s, p_s = codes[rows], pv[rows]
    first = np.r_[True, c_s[1:] != c_s[:-1]] if len(rows) else np.zeros(0, bool)
    grp = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    m = np.diff(np.r_[starts, len(rows)])[grp]
    rank = np.arange(len(rows)) - starts[grp] + 1
    # the first rank whose p exceeds its Holm threshold stops the procedure for the whole family
    fails = p_s > alpha / (m - rank + 1)
    stop = pd.Series(np.where(fails, rank, m + 1)).groupby(grp).transform("min").to_numpy()
    level_alpha = alpha / (m - np.minimum(rank, stop) + 1)
    a = np.full(len(out), np.nan)
    a[rows] = level_alpha
    est = out[estimate].to_numpy(dtype=float)
    s_e = out[se].to_numpy(dtype=float)
    d_f = out[df].to_numpy(dtype=float) if df in out.columns else np.full(len(out), np.inf)
    with np.errstate(invalid="ignore"):
        q = np.where(np.isinf(d_f), stats.norm.ppf(1 - a / 2), stats.t.ppf(1 - a / 2, d_f))
        out["ci_low_holm"] = est - q * s_e
        out["ci_high_holm"] = est + q * s_e
        out["ci_level_holm"] = 1 - a
        if g is not None:
            z = stats.norm.ppf(1 - a / 2)
            gv, gse = out[g].to_numpy(dtype=float), out["g_se"].to_numpy(dtype=float)
            out["g_ci_low_holm"] = gv - z * gse
            out["g_ci_high_holm"] = gv + z * gse
    return out


# --------------------------------------------------------------------------
# 3. change of the gap between rounds
# --------------------------------------------------------------------------
def gap_change(
    gaps: pd.DataFrame,
    from_round: str,
    to_round: str,
    keys: Sequence[str],
    confidence: float = 0.95,
    method: str = "welch",
) -> pd.DataFrame:
    """Change of the gap ``diff`` between two rounds, per ``keys``.

    ``gaps`` is a :func:`gender_gaps` result that has a ``runde`` column and is
    unique on ``keys`` + ``runde`` (e.g. keys = ['institutionsnummer',
    'dimension']).  For each key:

    ``change = diff_to − diff_from`` (positive: the dreng − pige difference
    grew, i.e. moved in the boys' favour), ``se = sqrt(se_from² + se_to²)``.

    The two rounds are treated as **independent samples**.  They are largely
    the same pupils, whose scores correlate positively across rounds, so this
    SE is, if anything, too large: the test is conservative — appropriate for
    a figure that is "mostly noise" at one school (DOMAIN §3).

    ``method='welch'`` (default): t reference with Satterthwaite df for the sum
    of the four variance components, ``df = se⁴ / (se_from⁴/df_from +
    se_to⁴/df_to)`` — algebraically the same as Σ (s²/n)² / (n−1) over the
    four gender×round groups.  ``method='normal'``: z reference (df = inf).

    ``abs_change = |diff_to| − |diff_from|`` is added as a descriptive
    "widening" measure (> 0: the gap widened, whichever gender leads); it has
    no CI (|·| is not smooth at 0).

    Keys present in only one round are kept with NaN change (outer join).
    Columns: keys, ``from_round, to_round, diff_from, diff_to, se_from,
    se_to, n_from, n_to`` (pupils, both genders), ``change, abs_change, se,
    df, t, p, ci_low, ci_high``.
    """
    if method not in ("welch", "normal"):
        raise ValueError("method must be 'welch' or 'normal'")
    keys = list(keys)
    if "runde" in keys:
        raise ValueError("'runde' is what changes; do not put it in keys")
    need = ["diff", "se", "df", "n_dreng", "n_pige"]
    cols = [*keys, "runde", *need]
    sub = gaps.loc[gaps["runde"].isin([from_round, to_round]), cols]
    if sub.duplicated([*keys, "runde"]).any():
        raise ValueError("gaps is not unique on keys + runde; add the missing key columns")
    sub = sub.assign(n=sub["n_dreng"] + sub["n_pige"]).drop(columns=["n_dreng", "n_pige"])
    a = sub[sub["runde"] == from_round].drop(columns="runde")
    b = sub[sub["runde"] == to_round].drop(columns="runde")
    m = a.merge(b, on=keys, how="outer", suffixes=("_from", "_to"), sort=True)

    d1, d2 = m["diff_from"].to_numpy(float), m["diff_to"].to_numpy(float)
    s1, s2 = m["se_from"].to_numpy(float), m["se_to"].to_numpy(float)
    f1, f2 = m["df_from"].to_numpy(float), m["df_to"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = d2 - d1
        se = np.sqrt(s1**2 + s2**2)
        if method == "welch":
            df = se**4 / (s1**4 / f1 + s2**4 / f2)
            dist = stats.t(df)
        else:
            df = np.where(np.isfinite(se), np.inf, np.nan)
            dist = stats.norm()
        t = change / se
        p = 2.0 * dist.sf(np.abs(t))
        q = dist.ppf(0.5 + confidence / 2.0)
        q = np.where(np.isfinite(se), q, np.nan)

    out = m[keys].copy()
    out.insert(len(keys), "from_round", from_round)
    out.insert(len(keys) + 1, "to_round", to_round)
    out["diff_from"], out["diff_to"] = d1, d2
    out["se_from"], out["se_to"] = s1, s2
    out["n_from"] = m["n_from"].astype("Int64")
    out["n_to"] = m["n_to"].astype("Int64")
    out["change"] = change
    out["abs_change"] = np.abs(d2) - np.abs(d1)
    out["se"], out["df"], out["t"], out["p"] = se, df, t, p
    out["ci_low"], out["ci_high"] = change - q * se, change + q * se
    return out


# --------------------------------------------------------------------------
# 4. funnel plot
# --------------------------------------------------------------------------
def _n_eff(n_d, n_p) -> np.ndarray:
    """Effective size n_eff = 4 / (1/n_d + 1/n_p) = 2 × harmonic mean(n_d, n_p).

    Chosen so that n_eff equals the number of pupils when boys and girls are
    equally many, and sqrt(1/n_d + 1/n_p) = 2 / sqrt(n_eff).
    """
    n_d = np.asarray(n_d, dtype=float)
    n_p = np.asarray(n_p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 4.0 / (1.0 / n_d + 1.0 / n_p)
    return np.where((n_d > 0) & (n_p > 0), out, np.nan)


def funnel_limits(overall_gap: float, sd_pooled: float, n_range) -> pd.DataFrame:
    """Control limits of the gap for a funnel plot (Spiegelhalter 2005).

    Under the null that every school has the overall gap and a common
    within-gender SD ``sd_pooled``, a school's gap has standard error
    ``sd · sqrt(1/n_d + 1/n_p)``.  The x axis is the **effective size**
    ``n_eff = 4 / (1/n_d + 1/n_p)`` (twice the harmonic mean of the two
    gender counts; equal to the pupil count when the genders are balanced,
    smaller when they are not), so ``se = 2 · sd / sqrt(n_eff)`` and

        limits = overall_gap ± z · 2 · sd / sqrt(n_eff),

    z = 1.96 (95 %) and 3.09 (99.8 %), normal approximation.

    ``n_range``: the effective sizes to evaluate (array-like, > 0), e.g.
    ``np.geomspace(8, 400, 200)``; returned sorted and de-duplicated.
    Columns: ``n_eff, se, lower_95, upper_95, lower_998, upper_998``.
    """
    n = np.unique(np.asarray(n_range, dtype=float).ravel())
    if n.size == 0 or not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("n_range must be finite positive sizes")
    if not (np.isfinite(sd_pooled) and sd_pooled > 0):
        raise ValueError("sd_pooled must be a positive number")
    se = 2.0 * sd_pooled / np.sqrt(n)
    return pd.DataFrame({
        "n_eff": n,
        "se": se,
        "lower_95": overall_gap - Z95 * se,
        "upper_95": overall_gap + Z95 * se,
        "lower_998": overall_gap - Z998 * se,
        "upper_998": overall_gap + Z998 * se,
    })


def funnel_points(
    gaps: pd.DataFrame,
    by: Sequence[str] | None = None,
    overall_gap: float | None = None,
    sd_pooled: float | None = None,
) -> pd.DataFrame:
    """Per-school point of a funnel plot and whether it lies outside the limits.

    ``gaps``: a :func:`gender_gaps` result with one row per school for one
    comparison (e.g. one municipality × round × dimension), or several such
    comparisons told apart by the ``by`` columns (e.g. ``['kommunekode',
    'runde', 'dimension']``), each getting its own centre and SD.

    Centre and spread of the null model (per ``by`` group) unless given:

    - ``overall_gap`` = Σ n_eff·diff / Σ n_eff — the inverse-variance-weighted
      mean gap under a common SD (the municipality's gap with schools weighted
      by precision);
    - ``sd_pooled`` = sqrt(Σ (n−2)·sd_pooled_i² / Σ (n−2)), the within-school,
      within-gender SD pooled over schools (n = n_dreng + n_pige).

    Only rows with a defined ``diff`` and ``sd_pooled`` (both genders ≥ 2
    pupils) contribute and get a point; others get NA flags.

    Adds columns: ``n_eff`` (x, as in :func:`funnel_limits`), ``y`` (= diff),
    ``overall_gap``, ``sd_ref`` (the null-model SD), ``se_ref`` (= 2·sd_ref /
    sqrt(n_eff)), ``z`` (= (y − overall_gap)/se_ref), ``outside_95``,
    ``outside_998`` (nullable boolean: |z| > 1.96 / 3.09).  Plot the curves
    with ``funnel_limits(overall_gap, sd_ref, ...)`` of the same group.
    """
    by = list(by) if by else []
    out = gaps.copy()
    n_eff = _n_eff(out["n_dreng"], out["n_pige"])
    y = out["diff"].to_numpy(dtype=float)
    sp = out["sd_pooled"].to_numpy(dtype=float)
    ok = np.isfinite(y) & np.isfinite(sp) & np.isfinite(n_eff)
    w = np.where(ok, n_eff, 0.0)
    dfw = np.where(ok, out["n_dreng"].to_numpy(float) + out["n_pige"].to_numpy(float) - 2.0, 0.0)
    tmp = pd.DataFrame({
        "wy": w * np.where(ok, y, 0.0), "w": w,
        "wv": dfw * np.where(ok, sp, 0.0) ** 2, "dfw": dfw,
    }, index=out.index)
    if by:
        g = tmp.groupby([out[c] for c in by], observed=True, sort=False, dropna=False)
        s = g.transform("sum")
    else:
        s = pd.DataFrame({c: np.full(len(tmp), tmp[c].sum()) for c in tmp.columns}, index=tmp.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (s["wy"] / s["w"]).to_numpy() if overall_gap is None else np.full(len(out), float(overall_gap))
        sd_ref = np.sqrt(s["wv"] / s["dfw"]).to_numpy() if sd_pooled is None else np.full(len(out), float(sd_pooled))
        se_ref = 2.0 * sd_ref / np.sqrt(n_eff)
        z = (y - centre) / se_ref
    z = np.where(ok, z, np.nan)
    out["n_eff"] = n_eff
    out["y"] = np.where(ok, y, np.nan)
    out["overall_gap"] = centre
    out["sd_ref"] = sd_ref
    out["se_ref"] = np.where(ok, se_ref, np.nan)
    out["z"] = z
    undefined = ~np.isfinite(z)
    with np.errstate(invalid="ignore"):
        out["outside_95"] = pd.arrays.BooleanArray(np.abs(z) > Z95, undefined)
        out["outside_998"] = pd.arrays.BooleanArray(np.abs(z) > Z998, undefined)
    return out
