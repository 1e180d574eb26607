"""Quarto's CDN scripts are removed and anything else remote is found — on HTML as Quarto writes it."""
import pytest

from datapakke import site_offline

QUARTO_PAGE = """<!DOCTYPE html>
<html lang="da"><head>
<link href="../site_libs/bootstrap/bootstrap.min.css" rel="stylesheet" id="quarto-bootstrap" data-mode="light">
<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js" integrity="sha512-c3Nl8+7g4LMSTdrm621y7kf9v3SDPnhxLNhcjFJbKECVnmZHTdo+IRO05sNLTH/D3vA6u1X32ehoLC7WFVdheg==" crossorigin="anonymous"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.5.1/jquery.min.js" integrity="sha512-bLT0Qm9VnAYZDflyKcBaQ2gg0hSYNQrJ8RilYldYQ1FxQYoCLtUjuuRuZo+fjqhx/qtq/1itJ0C2ejDxltZVFg==" crossorigin="anonymous" data-relocate-top="true"></script>
<script type="application/javascript">define('jquery', [],function() {return window.jQuery;})</script>
<link rel="preconnect" href="https://fonts.gstatic.com">
<script src="../site_libs/quarto-nav/quarto-nav.js"></script>
</head><body>
<p>Se <a href="https://www.uvm.dk/">Børne- og Undervisningsministeriet</a>.</p>
<script src="../assets/plotly.min.js" charset="utf-8"></script>
<script>Plotly.newPlot("fig-x", [], {});</script>
</body></html>
"""
THEME_CSS = ('@import url("https://fonts.googleapis.com/css2?family=Source+Sans+Pro:wght@300;400;700&display=swap");'
             ':root{--bs-blue:#2780e3}.x{background:url("data:image/svg+xml,%3csvg xmlns=\'http://www.w3.org/2000/svg\'/%3e")}')


@pytest.fixture()
def quarto_site(tmp_path):
    site = tmp_path / "_site"
    (site / "vesthimmerland").mkdir(parents=True)
    (site / "site_libs" / "bootstrap").mkdir(parents=True)
    (site / "vesthimmerland" / "861010-aars-skole.html").write_text(QUARTO_PAGE, encoding="utf-8")
    (site / "site_libs" / "bootstrap" / "bootstrap.min.css").write_text(THEME_CSS, encoding="utf-8")
    return site


def test_quartos_widget_scripts_and_font_import_are_removed_and_nothing_else(quarto_site):
    assert len(site_offline.external_resources(quarto_site)) == 4  # require, jquery, preconnect, font import
    removed = site_offline.make_offline(quarto_site)
    assert any("require.min.js" in r for r in removed) and any("jquery.min.js" in r for r in removed)
    assert any("define('jquery'" in r for r in removed) and any("fonts.googleapis.com" in r for r in removed)
    page = (quarto_site / "vesthimmerland" / "861010-aars-skole.html").read_text(encoding="utf-8")
    assert "cdnjs" not in page and "define('jquery'" not in page and "fonts.gstatic" not in page
    # the rest of the page is untouched: local scripts, the figure, outbound links
    assert '<script src="../site_libs/quarto-nav/quarto-nav.js"></script>' in page
    assert 'Plotly.newPlot("fig-x"' in page and 'href="https://www.uvm.dk/"' in page
    css = (quarto_site / "site_libs" / "bootstrap" / "bootstrap.min.css").read_text(encoding="utf-8")
    assert css.startswith(":root{--bs-blue") and "data:image/svg+xml" in css
    assert site_offline.external_resources(quarto_site) == []
    assert site_offline.make_offline(quarto_site) == []  # idempotent


@pytest.mark.parametrize("snippet", [
    '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml-full.js"></script>',
    '<link rel="stylesheet" href="//example.org/x.css">',
    '<img src="https://example.org/logo.png" alt="">',
    '<img srcset="logo.png 1x, https://example.org/logo@2x.png 2x" alt="">',
    '<iframe src="http://example.org/"></iframe>',
    '<div style="background: url(https://example.org/bg.png)"></div>',
    '<style>body { background: url("https://example.org/bg.png") }</style>',
])
def test_any_other_remote_load_is_reported_not_guessed_at(tmp_path, snippet):
    (tmp_path / "p.html").write_text(f"<html><body>\n{snippet}\n</body></html>", encoding="utf-8")
    site_offline.make_offline(tmp_path)
    [found] = site_offline.external_resources(tmp_path)
    assert found.file == "p.html" and found.line == 2 and "example.org" in found.url or "mathjax" in found.url
    assert str(found).startswith("p.html, linje 2: henter ")


def test_links_and_local_files_are_not_loads(tmp_path):
    (tmp_path / "p.html").write_text('<a href="https://example.org/">x</a><script src="assets/site.js"></script>'
                                     '<link rel="stylesheet" href="assets/styles.css"><svg xmlns="http://www.w3.org/2000/svg"></svg>',
                                     encoding="utf-8")
    assert site_offline.external_resources(tmp_path) == []
