"""The site: the nbconvert fallback always, the Quarto path when quarto is installed."""
import re
import shutil

import pytest
import yaml

from datapakke import build, config, publish, site_offline


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


def test_publish_refuses_a_site_that_would_load_from_the_network(site_paths, monkeypatch):
    site, _ = publish.publish(site_paths, renderer="fallback")
    before = (site / "index.html").read_text(encoding="utf-8")
    render = publish.render_fallback

    def with_a_cdn_script(project, out, *args, **kwargs):
        out = render(project, out, *args, **kwargs)
        page = out / "vesthimmerland" / "861010-aars-skole.html"
        page.write_text(page.read_text(encoding="utf-8").replace("</head>", '<script src="https://cdn.example.org/x.js"></script></head>'),
                        encoding="utf-8")
        return out

    monkeypatch.setattr(publish, "render_fallback", with_a_cdn_script)
    with pytest.raises(publish.SiteNotOffline, match=r"vesthimmerland/861010-aars-skole.html, linje \d+: henter https://cdn.example.org/x.js"):
        publish.publish(site_paths, renderer="fallback", force=True)  # unchanged inputs would keep the live site
    assert (site / "index.html").read_text(encoding="utf-8") == before  # the live site is untouched
    assert not list(site_paths.reports.glob(".site-*"))


def test_menus_list_municipalities_and_schools_by_name(site_paths):
    site, _ = publish.publish(site_paths, renderer="fallback")
    page = (site / "vesthimmerland" / "793002-gedsted-skole.html").read_text(encoding="utf-8")
    menu = page[page.index('<nav aria-label="Sider">'):page.index("</nav>")]
    labels = re.findall(r">([^<>]+)</a>", menu)
    assert labels[:5] == ["Forside", "Vesthimmerland Kommune", "Aars Skole", "Gedsted Skole", "Vestermarkskolen Aars"]
    assert all(label.startswith("Udforsker") for label in labels[5:])  # the explorer, when built, comes last
    assert 'aria-current="page" class="active" href="../vesthimmerland/793002-gedsted-skole.html"' in menu
    # Quarto's sidebar: the same order, spelled out (its 'auto' would sort by file name = institution number)
    quarto = yaml.safe_load((site_paths.reports / "_quarto.yml").read_text(encoding="utf-8"))
    contents = quarto["website"]["sidebar"]["contents"]
    [kommune] = [c for c in contents if c.get("section") == "Vesthimmerland Kommune"]
    assert [c["text"] for c in kommune["contents"]] == ["Aars Skole", "Gedsted Skole", "Vestermarkskolen Aars"]
    assert kommune["contents"][0]["href"] == "vesthimmerland/861010-aars-skole.ipynb"
    assert quarto["format"]["html"]["lang"] == "da"


def test_danish_name_order():
    names = ["Åbyskolen", "Østerby Skole", "Ærø Skole", "aalborg", "Bakkeskolen", "Zahle"]
    assert sorted(names, key=publish.name_key) == ["aalborg", "Bakkeskolen", "Zahle", "Ærø Skole", "Østerby Skole",
                                                   "Åbyskolen"]


@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto CLI er ikke installeret på denne maskine "
                    "(den kommer fra conda-forge via environment.yml); Quarto-stien testes kun, hvor den findes.")
def test_quarto_site_loads_nothing_from_the_network(site_paths):
    site, used = publish.publish(site_paths, renderer="quarto")
    assert used == "quarto"
    assert site_offline.external_resources(site) == []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "cdnjs.cloudflare.com" not in text and "define('jquery'" not in text, page


@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto CLI er ikke installeret på denne maskine "
                    "(den kommer fra conda-forge via environment.yml); Quarto-stien testes kun, hvor den findes.")
def test_quarto_renders_the_same_site(site_paths):
    site, used = publish.publish(site_paths, renderer="quarto")
    assert used == "quarto"
    assert (site / "index.html").is_file()
    assert (site / "vesthimmerland" / "861010-aars-skole.html").is_file()
    assert config.DEMO_MARKER in (site / "vesthimmerland" / "861010-aars-skole.html").read_text(encoding="utf-8")


def test_quarto_heading_anchors_become_ids_in_the_fallback():
    md = "## Fravær {#fravaer}\n\nTekst med {#ikke} en overskrift.\n### Kønsforskel & ro {#koen-1}\n# Uden anker"
    out = publish.heading_ids(md)
    assert '<h2 id="fravaer">Fravær</h2>' in out and '<h3 id="koen-1">Kønsforskel &amp; ro</h3>' in out
    assert "Tekst med {#ikke} en overskrift." in out and out.endswith("# Uden anker")


def test_the_site_and_the_reports_have_the_modes_of_ordinary_files(site_paths):
    """A web server or a colleague's account must be able to read what a build and a publish wrote."""
    import os
    import stat

    from datapakke import store

    site, _ = publish.publish(site_paths, renderer="fallback")
    want_dir, want_file = 0o777 & ~store.UMASK, 0o666 & ~store.UMASK
    page = site_paths.reports / "vesthimmerland" / "861010-aars-skole.ipynb"
    for path in (site, site / "vesthimmerland", site / "vesthimmerland" / "861010-aars-skole.html", page,
                 build.package_path(page), build.package_path(page) / "datapackage.json"):
        want = want_dir if path.is_dir() else want_file
        assert stat.S_IMODE(os.stat(path).st_mode) == want, path
