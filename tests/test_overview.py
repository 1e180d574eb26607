"""The municipality overview: themes counted across schools, the side-by-side table, the notebook, the site."""
import re

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from datapakke import build, config, datapackage, flags as flags_mod, overview, privacy, publish, store
from datapakke.overview import MunicipalityOverview, theme_counts

from .conftest import AARS, TINY, assert_figures_are_accessible, assert_heatmap_labels_readable, run_nbval_lax
from .workbook import assert_csvs_match_workbook, assert_no_numbers_as_text, assert_page_in_workbook

PUPIL_COLUMNS = {"elev_id", "score", "raw", "klasse", "dato"}


def _flag(kode, regel, dimension="", vaerdi=np.nan):
    return {"niveau": "skole", "kode": kode, "regel": regel, "tema": flags_mod.THEMES[regel], "dimension": dimension,
            "overskrift": "x", "tal": "x", "spoergsmaal": "x", "vaerdi": vaerdi, "ci_low": np.nan, "ci_high": np.nan,
            "p": 0.01}


def test_themes_are_counted_per_school_not_per_point():
    schools = pd.DataFrame({"institutionsnummer": ["100001", "100002", "100003", "100004"],
                            "skolenavn": ["A Skole", "B Skole", "C Skole", "D Skole"]})
    flags = pd.DataFrame([
        _flag("100001", "under_kommunen", "faglig_trivsel", -20),
        _flag("100001", "under_kommunen", "laeringsmotivation", -15),
        _flag("100001", "fravaer_stigning"),
        _flag("100002", "bekymrende_fravaer"),
        _flag("100002", "fravaer_stigning"),
        _flag("100003", "koensforskel", "faglig_trivsel", -25),
        _flag("999999", "fravaer_stigning"),  # a school in another municipality: not counted
    ])
    t = theme_counts(flags, schools)
    theme = t[t["niveau"] == "tema"].set_index("tema")
    assert list(theme.index) == ["Datagrundlag", "Kortlægning", "Kønsforskelle", "Elevfravær"]  # all, also empty
    assert theme.loc["Elevfravær", "tekst"] == "Elevfravær: 2 af 4 skoler"
    assert theme.loc["Elevfravær", "punkter"] == 3
    assert theme.loc["Elevfravær", "skolenavne"] == "A Skole; B Skole"
    assert theme.loc["Kortlægning", "skoler"] == 1 and theme.loc["Kortlægning", "punkter"] == 2
    assert theme.loc["Datagrundlag", "skoler"] == 0 and theme.loc["Datagrundlag", "tekst"].endswith("0 af 4 skoler")
    rule = t[t["niveau"] == "regel"].set_index("regel")
    assert rule.loc["fravaer_stigning", "skoler"] == 2 and rule.loc["bekymrende_fravaer", "skoler"] == 1
    assert rule.loc["fravaer_stigning", "andel_pct"] == 50
    dims = t[t["niveau"] == "dimension"]
    assert set(zip(dims["regel"], dims["dimension"])) == {("under_kommunen", "faglig_trivsel"),
                                                         ("under_kommunen", "laeringsmotivation"),
                                                         ("koensforskel", "faglig_trivsel")}


def test_flag_phrases_say_who_is_lower():
    assert overview.flag_phrase("koensforskel", "faglig_trivsel", -12) == "Faglig trivsel: drenge lavere"
    assert overview.flag_phrase("koensforskel", "faglig_trivsel", 12) == "Faglig trivsel: piger lavere"
    assert overview.flag_phrase("svarprocent", "", 71.6) == "Svarprocent 72 %"


def test_school_table_reads_the_published_tables_only(built):
    k = MunicipalityOverview.load("820", built.processed)
    tab = k.overview_table()
    assert not PUPIL_COLUMNS & set(tab.columns)
    assert list(tab["niveau"]) == ["skole"] * 3 + ["kommune", "program", "land"]
    agg = store.published(store.current(built.processed))
    means = pd.read_parquet(agg / "survey_means.parquet")
    row = means[(means["niveau"] == "skole") & (means["kode"] == AARS) & (means["runde"] == k.latest_round)
                & (means["dimension"] == "faglig_trivsel") & (means["gruppe_type"] == "alle")]
    assert tab.set_index("kode").at[AARS, "faglig_trivsel"] == pytest.approx(row["mean"].iloc[0])
    gaps = pd.read_parquet(agg / "gender_gaps.parquet")
    g = gaps[(gaps["kode"] == TINY) & (gaps["runde"] == k.latest_round) & (gaps["dimension"] == "faglig_trivsel")]
    tiny = tab.set_index("kode").loc[TINY]
    assert np.isnan(tiny["koensforskel"]) == np.isnan(g["diff"].iloc[0])  # suppressed stays suppressed
    land = tab[tab["niveau"] == "land"].iloc[0]
    assert np.isnan(land["faglig_trivsel"]) and land["fravaer_pct"] > 0  # the country has no 500-scale figures


def test_response_rates_name_the_low_schools(built):
    k = MunicipalityOverview.load("820", built.processed)
    rt = overview.response_table(k.read("response_rates"), k.schools, k.rounds, "820")
    low = rt[(rt["niveau"] == "skole") & (rt["svarprocent"] < config.LOW_RESPONSE_RATE_PCT)]
    page = k.response_rates()._repr_html_()
    for name, r in zip(low["navn"], low["runde"]):
        assert f">{name}</a>" in page and f"{r}: " in page
    if low.empty:
        assert "Alle skoler havde en svarprocent" in page


def test_overview_page_sections_render_with_links_and_banner(built, tmp_path):
    (tmp_path / f"{AARS}-aars-skole.ipynb").write_text("{}")
    k = MunicipalityOverview.load("820", built.processed, reports_dir=tmp_path)
    parts = [k.banner(), k.heading(), k.summary(), k.attention(), k.themes(), k.comparison(), k.table(),
             k.gender_gaps(), k.absence(), k.response_rates(), k.development(), k.downloads(), k.method()]
    page = "\n".join(p._repr_html_() for p in parts)
    assert config.DEMO_MARKER in page
    assert 'href="861010-aars-skole.html"' in page
    assert 'href="793002-gedsted-skole.html"' not in page  # its report was not built: no dead link
    assert 'href="index_data/kommuneoversigt-820.xlsx"' in page and "dansk Excel" in page
    assert "dpSortTable" in page and ">nan<" not in page and not re.search(r"(?<!is)NaN", page)
    pseudonyms = set(pd.read_parquet(store.current(built.processed) / "elever.parquet")["elev_id"])
    assert not any(p in page for p in list(pseudonyms)[:2000])
    assert_figures_are_accessible(page, 6)
    assert assert_heatmap_labels_readable(k.comparison().parts[0].fig) >= 3 * 9
    roskilde = MunicipalityOverview.load("265", built.processed).heading()._repr_html_()
    assert "Kommunekode 265" in roskilde and "Roskilde" not in roskilde  # the title names it, once
    assert 'aria-label="Indhold på siden"' in roskilde
    with pytest.raises(ValueError, match="findes ikke"):
        MunicipalityOverview.load("999", built.processed)


def test_overview_notebook_runs_under_nbval_for_both_municipalities(built, tmp_path):
    files = []
    for code, name in (("820", "Vesthimmerland"), ("265", "Roskilde")):
        out = tmp_path / f"kommune-{code}.ipynb"
        pm.execute_notebook(str(config.ROOT / "notebooks" / "kommune.ipynb"), str(out), prepare_only=True,
                            parameters={"municipality_code": code, "municipality": name,
                                        "processed_dir": str(built.processed)})
        files.append(str(out))
    run_nbval_lax(files, tmp_path)


@pytest.fixture(scope="module")
def site(built, tmp_path_factory):
    """One school, the Vesthimmerland overview and the explorer, published with the fallback renderer."""
    paths = config.Paths(raw=built.raw, processed=built.processed, params=built.params,
                         reports=tmp_path_factory.mktemp("site") / "reports", notebooks=built.notebooks)
    summary = build.build(build.select(paths.params, school=AARS), paths, workers=1)
    assert not summary.failures, summary.text()
    pages = build.build_pages(build.municipalities_of(build.select(paths.params, school=AARS)), paths, workers=2)
    assert all(o.ok for o in pages), [o.error for o in pages]
    site, used = publish.publish(paths, renderer="fallback")
    assert used == "nbconvert"
    return paths, site, pages


def test_index_links_the_overviews_and_the_explorer(site):
    paths, out, pages = site
    assert {o.school_id for o in pages} == {"udforsker", "kommune-820"}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="vesthimmerland/index.html"' in index and "kommuneoversigt" in index
    assert 'href="udforsker/index.html"' in index
    kom = (out / "vesthimmerland" / "index.html").read_text(encoding="utf-8")
    exp = (out / "udforsker" / "index.html").read_text(encoding="utf-8")
    # the executed overview, not the generated list, is the municipality's page; assemble left it alone
    assert "Hvilke skoler skal vi se på" in kom and 'href="861010-aars-skole.html"' in kom
    assert not nbformat.read(paths.reports / "vesthimmerland" / "index.ipynb", as_version=4).metadata.get("datapakke")
    for page in (index, kom, exp):
        assert config.DEMO_MARKER in page
    for page in (kom, exp):
        assert page.count('src="../assets/plotly.min.js"') == 1 and "cdn.plot.ly" not in page
        assert "MunicipalityOverview.load" not in page and "Explorer.load" not in page
    assert "<title>Vesthimmerland Kommune</title>" in kom
    assert (out / "udforsker" / "udforsker_data" / "fordelinger.csv").is_file()
    for page in (kom, exp):  # every link inside the page (contents, Kort fortalt, figure → table) has its target
        targets = set(re.findall(r'href="#([^"]+)"', page))
        assert targets and all(f'id="{t}"' in page for t in targets), [t for t in targets if f'id="{t}"' not in page]
    assert '<h2 id="kort-fortalt">Kort fortalt</h2>' in kom and "{#" not in kom
    elever = pd.read_parquet(store.current(paths.processed) / "elever.parquet", columns=["elev_id"])
    assert privacy.scan_output(out, set(elever["elev_id"])) == []


def test_the_overview_offers_its_tables_as_excel_and_csv(site):
    """The published overview links its package; the workbook holds every table of the page as shown."""
    _, out, _ = site
    kom = (out / "vesthimmerland" / "index.html").read_text(encoding="utf-8")
    assert 'href="index_data/kommuneoversigt-820.xlsx"' in kom and 'href="index_data/datapackage.json"' in kom
    folder = out / "vesthimmerland" / "index_data"
    xlsx = folder / "kommuneoversigt-820.xlsx"
    assert assert_page_in_workbook(kom, xlsx) >= 4  # attention, themes, all schools' figures, response rates
    assert_no_numbers_as_text(xlsx)
    assert assert_csvs_match_workbook(folder, xlsx) >= 4
    assert datapackage.validate_package(folder) == []


def test_a_failing_overview_is_reported_and_the_others_build(site, tmp_path):
    paths, _, _ = site
    broken = tmp_path / "kommune.ipynb"
    nb = nbformat.read(config.ROOT / "notebooks" / "kommune.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('med vilje')"))
    nbformat.write(nb, broken)
    before = (paths.reports / "vesthimmerland" / "index.ipynb").read_bytes()
    o = build.execute_overview("820", "Vesthimmerland", paths, template=broken)
    assert not o.ok and "med vilje" in o.error
    assert (paths.reports / "vesthimmerland" / "index.ipynb").read_bytes() == before  # the old page stays
    summary = build.BuildSummary(outcomes=[], pages=[o])
    assert "0 af 1 oversigtssider bygget" in summary.text() and "med vilje" in summary.text()
