"""The site's one plotly configuration and the accessible figure wrapper."""
import html
import json
import re
import warnings

import pytest

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
    assert ('<figure class="dp-figure" id="figur-kort" aria-labelledby="fig-kort-title" '
            'aria-describedby="fig-kort-alt">') in page
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
    assert width == 330 + 20 + plots.MIN_PLOT_WIDTH and "width" not in fig["layout"]
    assert plots.screen_figure(_figure())[1] == 60 + 20 + plots.MIN_PLOT_WIDTH <= 350  # fits a 390 px phone


def test_filters_are_labelled_native_selects_that_start_at_their_defaults():
    fig = go.Figure([go.Scatter(x=[1], y=[1]) for _ in range(5)])
    keys = [{"kommune": "a", "runde": "T1"}, {"kommune": "a", "runde": "T2"},
            {"kommune": "b", "runde": "T1"}, {"kommune": "b", "runde": "T2"}, {"kommune": plots.OTHERS}]
    filters = [plots.Filter("kommune", "Kommune", [("a", "A"), ("b", "B & C")], "a"),
               plots.Filter("runde", "Runde", [("T1", "T1"), ("T2", "T2")], "T2",
                            layout={"T1": {"xaxis.title.text": "første"}})]
    page = plots.show(fig, "f", alt="Tre ting, 2 tal.", table="#t", filters=filters, keys=keys).html()
    assert [t.visible for t in fig.data] == [False, True, False, False, False]
    assert '<label for="fig-f-kommune">Kommune</label>' in page and '<select id="fig-f-kommune" data-dp-key="kommune"' in page
    assert '<option value="b">B &amp; C</option>' in page and '<option value="T2" selected>T2</option>' in page
    assert '"updatemenus"' not in page and '"sliders"' not in page
    spec = json.loads(html.unescape(re.search(r'data-dp-filters="([^"]+)"', page).group(1)))
    assert spec["figure"] == "fig-f" and spec["keys"] == keys and spec["layouts"]["runde"]["T1"] == {"xaxis.title.text": "første"}
    # the rule figures.js applies: every select must match; OTHERS shows while its filter is off the default
    state = {"kommune": "b", "runde": "T1"}
    assert plots.visible_traces(keys, state, spec["defaults"]) == [False, False, True, False, True]


def test_wcag_contrast_and_heatmap_labels_in_black_or_white():
    assert plots.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert plots.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the WebAIM reference grey
    scale = [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]]
    assert plots.colour_at(scale, 0.5) == "#f7f7f7" and plots.colour_at(scale, 0.25) == "#d48891"  # halfway b2→f7, 18→f7, 2b→f7
    heat = go.Heatmap(z=[[-40, -20, 0], [20, 40, None]], x=["a", "b", "c"], y=["r", "s"], colorscale=scale,
                      zmin=-40, zmax=40)
    text = [["1", "2", "3"], ["4", "5", "–"]]
    labels = plots.heatmap_labels(heat, text)
    assert list(labels.text) == ["1", "2", "3", "4", "5", "–"]
    assert list(labels.textfont.color) == ["#ffffff", "#000000", "#000000", "#000000", "#ffffff", "#000000"]
    fills = ["#b2182b", plots.colour_at(scale, 0.25), "#f7f7f7", plots.colour_at(scale, 0.75), "#2166ac", "#ffffff"]
    assert all(plots.contrast(f, c) >= 4.5 for f, c in zip(fills, labels.textfont.color))
    # the worst fill for both black and white text still gets 4,5:1 from one of them
    assert min(max(plots.contrast(f"#{v:02x}{v:02x}{v:02x}", "#000000"), plots.contrast(f"#{v:02x}{v:02x}{v:02x}", "#ffffff"))
               for v in range(256)) >= 4.5
