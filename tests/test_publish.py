"""The site: the nbconvert fallback always, the Quarto path when quarto is installed."""
import re
import shutil

import pytest

from datapakke import build, config, publish



@pytest.fixture(scope="module")
def site_paths(built):
    schools = build.select(built.params, municipality="820")
    summary = build.build(schools, built, workers=1)
    assert not summary.failures, summary.text()
    return built


def test_fallback_renders_index_municipality_and_school_pages(site_paths):
    site, used = publish.publish(site_paths, renderer="fallback")
    assert used == "nbconvert"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="vesthimmerland/index.html"' in index
    kom = (site / "vesthimmerland" / "index.html").read_text(encoding="utf-8")
    assert 'href="861010-aars-skole.html"' in kom
    page = (site / "vesthimmerland" / "861010-aars-skole.html").read_text(encoding="utf-8")
    assert config.DEMO_MARKER in index and config.DEMO_MARKER in kom and config.DEMO_MARKER in page
    # code hidden, plotly.js loaded once from the site, never inlined or from a CDN
    assert "SchoolReport.load" not in page
    assert page.count('src="../assets/plotly.min.js"') == 1
    assert "cdn.plot.ly" not in page and len(page) < 1_500_000
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert re.search(r"Plotly\.newPlot", page)
    assert (site / "vesthimmerland" / "861010-aars-skole_data" / "datapackage.json").is_file()


def test_publish_refuses_a_privacy_violation(site_paths):
    import pandas as pd
    from datapakke import store
    pid = pd.read_parquet(store.current(site_paths.processed) / "elever.parquet")["elev_id"].iloc[0]
    leak = site_paths.reports / "vesthimmerland" / "861010-aars-skole_data" / "leak.csv"
    leak.write_text(f"elev\n{pid}\n")
    try:
        with pytest.raises(publish.PrivacyViolation):
            publish.publish(site_paths, renderer="fallback")
    finally:
        leak.unlink()


@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto CLI er ikke installeret på denne maskine "
                    "(den kommer fra conda-forge via environment.yml); Quarto-stien testes kun, hvor den findes.")
def test_quarto_renders_the_same_site(site_paths):
    site, used = publish.publish(site_paths, renderer="quarto")
    assert used == "quarto"
    assert (site / "index.html").is_file()
    assert (site / "vesthimmerland" / "861010-aars-skole.html").is_file()
    assert config.DEMO_MARKER in (site / "vesthimmerland" / "861010-aars-skole.html").read_text(encoding="utf-8")
