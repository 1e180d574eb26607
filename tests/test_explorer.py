"""The cross-municipality explorer: aggregates only, small groups absent, the model tables, filters, notebook."""

import duckdb
import numpy as np
import pandas as pd
import papermill as pm
import plotly.graph_objects as go
import pytest

from datapakke import config, explorer, privacy, store
from datapakke.explorer import ALL, Explorer, between_group_share, distribution_table
from datapakke.multilevel import school_gender_gaps

from .conftest import AARS, assert_figures_are_accessible, assert_heatmap_labels_readable, run_nbval_lax


def _con(scores: pd.DataFrame, skoler: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("scores_df", scores)
    con.register("skoler_df", skoler)
    con.execute("CREATE VIEW scores AS SELECT * FROM scores_df")
    con.execute("CREATE VIEW skoler AS SELECT * FROM skoler_df")
    return con


def _pupils(kommune, koen, n, klassetrin=5, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"elev_id": [f"{kommune}{koen}{i}" for i in range(n)], "kommunekode": kommune,
                         "institutionsnummer": f"{kommune}001", "runde": "T1", "dimension": "faglig_trivsel",
                         "koen": koen, "klassetrin": klassetrin, "score": rng.normal(500, 100, n)})


@pytest.fixture(scope="module")
def small():
    """Municipality 100 is large; municipality 200 has only 4 girls (a group that must never show)."""
    scores = pd.concat([_pupils("100", "dreng", 40, seed=1), _pupils("100", "pige", 30, seed=2),
                        _pupils("200", "dreng", 25, seed=3), _pupils("200", "pige", 4, seed=4)], ignore_index=True)
    skoler = pd.DataFrame({"institutionsnummer": ["100001", "200001"], "skolenavn": ["A", "B"],
                           "kommunekode": ["100", "200"], "kommune": ["Aby", "Bby"]})
    return scores, distribution_table(_con(scores, skoler))


def test_distribution_table_is_aggregates_only_with_correct_statistics(small):
    scores, t = small
    assert not explorer.PUPIL_COLUMNS & set(t.columns)
    assert len(t) < len(scores)
    row = t[(t["kommunekode"] == "100") & (t["koen"] == ALL) & (t["klassetrin"] == ALL)].iloc[0]
    ref = scores[scores["kommunekode"] == "100"]["score"]
    assert row["n"] == 70 and row["mean"] == pytest.approx(ref.mean()) and row["sd"] == pytest.approx(ref.std())
    assert row["median"] == pytest.approx(ref.median())
    assert row["p10"] == pytest.approx(ref.quantile(0.1))
    assert row["kommune"] == "Aby"
    assert set(t.loc[t["kommunekode"] == ALL, "kommune"]) == {explorer.ALL_MUNICIPALITIES}


def test_small_groups_are_absent_and_cannot_be_recovered(small):
    _, t = small
    assert (t["n"] > config.MIN_SURVEY_N).all()
    b = t[t["kommunekode"] == "200"]
    assert "pige" not in set(b["koen"])  # 4 girls: absent
    # secondary suppression: with municipality 200's total shown, its boys would reveal the girls
    assert "dreng" not in set(b["koen"]) and ALL in set(b["koen"])
    # across municipalities: all girls = 100's girls + 200's girls, so 100's girls must go too (and the boys)
    for koen in ("pige", "dreng"):
        everyone = t[(t["kommunekode"] == ALL) & (t["koen"] == koen)]
        assert everyone.empty or t[(t["kommunekode"] == "100") & (t["koen"] == koen)].empty
    # quantiles need QUANTILE_MIN_N pupils
    assert t.loc[t["n"] < explorer.QUANTILE_MIN_N, explorer.Q_COLS].isna().all().all()
    with pytest.raises(ValueError):
        distribution_table(duckdb.connect(), min_group=3)


@pytest.fixture(scope="module")
def x(built):
    """The explorer over the fixture's processed data (tables are cached on it)."""
    return Explorer.load(built.processed)


def test_fixture_distributions_cover_all_municipalities_and_bands(x):
    t = x.distributions_table()
    assert set(t["kommunekode"]) == {"265", "820", ALL}
    assert set(t["klassetrin"]) >= {ALL, "0.–3. kl.", "4.–6. kl.", "7.–9. kl."}
    assert set(t["dimension"]) == set(config.DIMENSIONS)
    assert (t["n"] >= explorer.MIN_GROUP).all()


def test_model_tables_and_sign_of_the_school_gaps(built, x):
    m = x.model_tables()
    for name, frame in m.items():
        assert not explorer.PUPIL_COLUMNS & set(frame.columns), name
    v = m["varians"]
    shares = v.groupby(["dimension", "runde"])["share"].sum()
    assert np.allclose(shares, 1.0)
    icc = m["icc"]
    assert ((icc["icc_skole"] >= 0) & (icc["icc_skole"] <= 1)).all()
    assert set(icc[icc["dimension"] == "faglig_trivsel"]["runde"]) == set(x.rounds)
    assert set(icc[icc["runde"] == x.latest_round]["dimension"]) == set(config.DIMENSIONS)
    assert v[v["dimension"] == "faglig_trivsel"]["var_ci_high"].notna().all()
    assert icc["note"].str.contains("Kun 2 kommuner").all()  # translated from multilevel's English note
    g = m["skolers_koensforskel"]
    assert (g[["n_dreng", "n_pige"]] >= explorer.MIN_GROUP).all().all()
    # boys − girls, the sign of the school reports: equals the published gap at Aars Skole
    gaps = pd.read_parquet(store.published(store.current(built.processed)) / "gender_gaps.parquet")
    pub = gaps[(gaps["kode"] == AARS) & (gaps["runde"] == x.latest_round) & (gaps["dimension"] == "faglig_trivsel")]
    assert g.set_index("institutionsnummer").at[AARS, "gap"] == pytest.approx(pub["diff"].iloc[0])
    pupils = explorer._pupil_scores(x.con, "faglig_trivsel", x.latest_round)
    shown = x.gap_schools()  # only schools whose own page shows both genders' faglig trivsel
    assert AARS in shown and set(g["institutionsnummer"]) <= shown
    raw = school_gender_gaps(pupils[pupils["institutionsnummer"].astype(str).isin(shown)])
    assert g.set_index("institutionsnummer").at[AARS, "eb_gap"] == pytest.approx(
        -raw.set_index("institutionsnummer").at[AARS, "eb_gap"])
    assert (g["eb_low"] <= g["eb_gap"]).all() and (g["eb_gap"] <= g["eb_high"]).all()


def test_between_group_share_matches_the_balanced_anova():
    rng = np.random.default_rng(7)
    k, n = 12, 15
    group = np.repeat(np.arange(k), n).astype(str)
    y = rng.normal(0, 2, k)[np.repeat(np.arange(k), n)] + rng.normal(0, 1, k * n)
    frame = pd.DataFrame({"kommunekode": group, "v": y})
    r = between_group_share(frame, "v")
    means = frame.groupby("kommunekode")["v"].mean()
    msb = n * ((means - y.mean()) ** 2).sum() / (k - 1)
    msw = ((frame["v"] - frame["kommunekode"].map(means)) ** 2).sum() / (k * n - k)
    assert r["var_mellem"] == pytest.approx((msb - msw) / n)
    assert r["ci_low"] <= r["andel_mellem"] <= r["ci_high"] and r["andel_mellem"] > 0.5 and r["p"] < 0.001
    same = between_group_share(frame.assign(v=rng.normal(0, 1, k * n)), "v")
    assert same["andel_mellem"] < 0.3 and same["ci_low"] == 0
    assert np.isnan(between_group_share(frame.assign(kommunekode="1"), "v")["andel_mellem"])


def test_explorer_page_renders_and_writes_only_aggregates(built, x, tmp_path):
    parts = [x.banner(), x.heading(), x.summary(), x.data_basis(), x.distributions(), x.municipality_means(),
             x.variance_shares(), x.multilevel_details(), x.caterpillar(), x.absence_wellbeing(), x.school_spread(), x.method(),
             x.write_tables(tmp_path / "udforsker_data")]
    page = "\n".join(p._repr_html_() for p in parts)
    assert config.DEMO_MARKER in page
    assert_figures_are_accessible(page, 6)
    assert assert_heatmap_labels_readable(x.municipality_means().parts[0].fig) > 100
    assert "Vesthimmerland" in page and "Roskilde" in page
    assert 'href="udforsker_data/fordelinger.csv"' in page
    files = sorted(p.name for p in (tmp_path / "udforsker_data").iterdir())
    assert files == sorted(f"{n}.csv" for n in Explorer.TABLE_INFO)
    for f in (tmp_path / "udforsker_data").iterdir():
        assert not explorer.PUPIL_COLUMNS & set(pd.read_csv(f, nrows=0).columns), f.name
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    elever = pd.read_parquet(store.current(built.processed) / "elever.parquet", columns=["elev_id"])
    assert privacy.scan_output(tmp_path, set(elever["elev_id"])) == []
    assert "datapakke build" in x.write_tables(None)._repr_html_()  # no folder: nothing written


def test_explorer_notebook_runs_under_nbval(built, tmp_path):
    out = tmp_path / "explorer.ipynb"
    pm.execute_notebook(str(config.ROOT / "notebooks" / "explorer.ipynb"), str(out), prepare_only=True,
                        parameters={"processed_dir": str(built.processed), "tables_dir": "udforsker_data"})
    run_nbval_lax([out], tmp_path)
    assert (tmp_path / "udforsker_data" / "fordelinger.csv").is_file()
