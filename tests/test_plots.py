"""The site's one plotly configuration and the accessible figure wrapper."""
import json
import re
import warnings

import plotly.graph_objects as go

from datapakke import plots


def _figure(**layout):
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="Skolen"))
    return plots.layout(fig, "Faglig trivsel & ro", **layout)


def _config(page: str) -> dict:
    return json.loads(re.search(r"\},\s*(\{\"locale\".*?\})\s*\)", page, re.DOTALL).group(1))


def _drawn_layout(page: str, name: str) -> dict:
    return json.loads(re.search(rf'Plotly\.newPlot\(\s*"fig-{name}",\s*(\[.*?\]),\s*(\{{.*?\}}),\s*\{{"locale"', page, re.DOTALL).group(2))


def test_every_figure_is_danish_png_only_without_cloud_and_sized_by_its_box():
    plots.configure("../")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # plotly warns about unknown config keys, and the warning lands on the page
        page = plots.show(_figure(), "x").html()
    config = _config(page)
    assert config["locale"] == "da" and config["locales"]["da"]["dictionary"]["Download plot as a PNG"] == "Hent figuren som PNG"
    assert config["modeBarButtons"] == [["toImage"]] and config["showSendToCloud"] is False
    assert config["responsive"] is True and config["displaylogo"] is False
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "x", "scale": 2}
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["../assets/plotly.min.js", "../assets/plotly-locale-da.js", "../assets/figures.js", "../assets/site.js"]
    assert "width" not in _drawn_layout(page, "x") and 'style="min-width:' in page
    assert not re.findall(r'<script src="', plots.show(_figure(), "y").html())  # loaded once per page


def test_figure_is_named_by_its_title_and_described_by_its_text_alternative():
    plots.configure("../")
    page = plots.show(_figure(), "kort", alt="Drengene trives fagligt 26 point lavere end pigerne.",
                      table="#tabel-koen").html()
    assert '<figure class="dp-figure" aria-labelledby="fig-kort-title" aria-describedby="fig-kort-alt">' in page
    assert '<span class="dp-figure-title" id="fig-kort-title">Faglig trivsel &amp; ro</span>' in page
    assert '<span class="dp-figure-alt" id="fig-kort-alt">Drengene trives fagligt 26 point lavere end pigerne.</span>' in page
    assert '<a class="dp-figure-data" href="#tabel-koen">Se tallene bag figuren</a>' in page
    # the title is drawn once, in HTML: not also by plotly, whose space above the plot goes with it
    drawn = _drawn_layout(page, "kort")
    assert not drawn.get("title", {}).get("text") and drawn["margin"]["t"] == 20
    plain = plots.show(_figure(), "plain").html()
    assert 'aria-describedby' not in plain and "dp-figure-data" not in plain  # defaults: the title is the text


def test_a_figure_never_gets_narrower_than_its_margins_allow():
    fig, width = plots.screen_figure(_figure(margin={"l": 330, "r": 20}))
    assert width == 330 + 20 + plots.MIN_PLOT_WIDTH and fig.layout.width is None
    assert plots.screen_figure(_figure())[1] == 60 + 20 + plots.MIN_PLOT_WIDTH <= 350  # fits a 390 px phone
