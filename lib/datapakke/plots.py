"""Plotly figures for the reports, and how they are put into a page.

One palette everywhere (Okabe–Ito, safe for colour-blind readers) plus line dashes and
markers, so boys/girls and school/municipality/country stay apart in print too.

Why ``show``: in a papermill run no front-end chooses a renderer, and a figure left to
plotly's default is stored only as its JSON mime type, which neither Quarto nor nbconvert
draws.  ``show`` writes the figure's HTML itself, with a deterministic div id and without
plotly.js: the page loads the site's single local copy (``assets/plotly.min.js``) once.
Only aggregated, suppressed numbers ever go into a figure.
"""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio

COLOURS = {
    "dreng": "#0072B2",
    "pige": "#D55E00",
    "skole": "#009E73",
    "kommune": "#E69F00",
    "program": "#7F7F7F",
    "land": "#000000",
    "sygdom": "#56B4E9",
    "lovligt": "#009E73",
    "ulovligt": "#CC79A7",
}
DASHES = {"skole": "solid", "kommune": "dash", "program": "dot", "land": "dashdot"}
SYMBOLS = {"skole": "circle", "kommune": "square", "program": "diamond", "land": "x",
           "dreng": "circle", "pige": "triangle-up"}
LEVEL_LABELS = {"skole": "Skolen", "kommune": "Kommunen", "program": "Programmet", "land": "Landet"}
GENDER_LABELS = {"dreng": "Drenge", "pige": "Piger"}
FONT = "Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif"

_state = {"site_root": "../", "loaded": False}


def configure(site_root: str) -> None:
    """Where the page is relative to the site root (e.g. '../'), for the plotly.js link."""
    _state["site_root"] = site_root if site_root.endswith("/") or not site_root else site_root + "/"
    _state["loaded"] = False


def layout(fig: go.Figure, title: str, height: int = 380, **kwargs) -> go.Figure:
    """The house style: Danish number format, readable in print, legend below."""
    settings = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 17}},
        "height": height, "margin": {"l": 60, "r": 20, "t": 60, "b": 95},
        "font": {"family": FONT, "size": 13, "color": "#222"},
        "separators": ",.",  # decimal comma, thousands point
        "plot_bgcolor": "white", "paper_bgcolor": "white",
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    }
    fig.update_layout(**{**settings, **kwargs})
    fig.update_xaxes(showline=True, linecolor="#999", gridcolor="#eee")
    fig.update_yaxes(showline=True, linecolor="#999", gridcolor="#eee", zerolinecolor="#bbb")
    return fig


class FigureHTML:
    """A figure as HTML (for Quarto, nbconvert and the browser) plus plotly JSON (for JupyterLab)."""

    def __init__(self, fig: go.Figure, name: str):
        self.fig, self.name = fig, name

    def html(self) -> str:
        script = ""
        if not _state["loaded"]:
            src = f"{_state['site_root']}assets/plotly.min.js"
            script = f'<script src="{src}" charset="utf-8"></script>\n'
            _state["loaded"] = True
        body = pio.to_html(self.fig, include_plotlyjs=False, full_html=False, div_id=f"fig-{self.name}",
                           config={"displaylogo": False, "responsive": True,
                                   "toImageButtonOptions": {"filename": self.name}})
        return f'{script}<div class="dp-figure">{body}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "application/vnd.plotly.v1+json": json.loads(self.fig.to_json())}


def show(fig: go.Figure, name: str) -> FigureHTML:
    return FigureHTML(fig, name)
