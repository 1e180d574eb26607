"""Plotly figures for the reports, and how they are put into a page.

One palette everywhere (Okabe–Ito, safe for colour-blind readers) plus line dashes and
markers, so boys/girls and school/municipality/country stay apart in print too.

Why ``show``: in a papermill run no front-end chooses a renderer, and a figure left to
plotly's default is stored only as its JSON mime type, which neither Quarto nor nbconvert
draws.  ``show`` writes the figure's HTML itself, with a deterministic div id and without
plotly.js: the page loads the site's single local copy (``assets/plotly.min.js``), plotly's
Danish locale and ``assets/figures.js`` once, before its first figure.
Only aggregated, suppressed numbers ever go into a figure.

One plotly configuration for the whole site (``site_config``): Danish, no link to Plotly's
cloud, a toolbar with one button (download as PNG, with the title), sized by its container.
"""
from __future__ import annotations

import copy
import html
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


#: Plotly's user-interface strings that a reader of the site can meet, in Danish (plotly's own
#: ``locale-da`` has month and day names only).
DANISH_UI = {
    "Download plot as a PNG": "Hent figuren som PNG",
    "Download plot": "Hent figuren",
    "Preparing image - this may take a few seconds": "Figuren gemmes – det kan tage et par sekunder",
    "Image download succeeded": "Figuren er hentet",
    "Sorry, there was a problem downloading your image!": "Figuren kunne ikke hentes.",
    "Double-click to zoom back out": "Dobbeltklik for at zoome ud igen",
    "Double-click on legend to isolate one trace": "Dobbeltklik på en signaturforklaring for kun at vise den",
    "Autoscale": "Tilpas akserne", "Reset axes": "Nulstil akserne", "Zoom in": "Zoom ind", "Zoom out": "Zoom ud",
}
#: Space plotly keeps above the plot for a title; on a page the title is HTML above the figure instead.
TITLE_SPACE = 40
#: A plot area narrower than this is unreadable (and plotly draws negative sizes below ~0 px): the
#: figure keeps at least its margins plus this width and scrolls sideways in its own box instead.
MIN_PLOT_WIDTH = 220


def site_config(name: str) -> dict:
    """The plotly ``config`` of every figure on the site."""
    return {
        "locale": "da", "locales": {"da": {"dictionary": DANISH_UI}},
        "responsive": True, "displaylogo": False,
        "showSendToCloud": False,
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
    }


def _title_of(fig: go.Figure) -> str:
    title = fig.layout.title
    return str(title.text) if title is not None and title.text else ""


def screen_figure(fig: go.Figure) -> tuple[go.Figure, int]:
    """The figure as the page draws it, and the narrowest width (px) it can be drawn at.

    The title moves out of the plot into the HTML caption (its space above the plot goes too);
    the figure keeps no fixed width, so it fills its container.
    """
    out = copy.deepcopy(fig)
    margin = out.layout.margin
    top = margin.t if margin.t is not None else 100
    if _title_of(out):
        out.layout.title.text = None
        if not out.layout.updatemenus and not out.layout.sliders:
            out.layout.margin.t = max(top - TITLE_SPACE, 20)
    out.layout.width = None
    out.layout.autosize = True
    left = margin.l if margin.l is not None else 80
    right = margin.r if margin.r is not None else 80
    return out, int(left + right + MIN_PLOT_WIDTH)


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
    """A figure as HTML (for Quarto, nbconvert and the browser) plus plotly JSON (for JupyterLab).

    The HTML is an accessible ``<figure>``: named by its title, the visible caption (it wraps on
    a phone, which a title drawn by plotly cannot); described by its text alternative, shown under
    the title; and optionally a link to the table behind it.  The plot itself is not hidden from
    assistive technology: its toolbar is a real button.
    """

    def __init__(self, fig: go.Figure, name: str, alt: str | None = None, table: str | None = None,
                 table_text: str = "Se tallene bag figuren"):
        self.fig, self.name = fig, name
        self.title = _title_of(fig)
        self.alt = (alt or "").strip()
        self.table, self.table_text = table, table_text

    def html(self) -> str:
        script = ""
        if not _state["loaded"]:
            root = _state["site_root"]
            script = "".join(f'<script src="{root}assets/{js}" charset="utf-8"></script>\n'
                             for js in ("plotly.min.js", "plotly-locale-da.js", "figures.js", "site.js"))
            _state["loaded"] = True
        fig, min_width = screen_figure(self.fig)
        div_id = f"fig-{self.name}"
        body = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                           config=site_config(self.name))
        label = html.escape(self.alt or self.title or self.name, quote=True)
        caption = [f'<span class="dp-figure-title" id="{div_id}-title">{html.escape(self.title)}</span>'
                   if self.title else ""]
        if self.alt and self.alt != self.title:
            caption.append(f'<span class="dp-figure-alt" id="{div_id}-alt">{html.escape(self.alt)}</span>')
        if self.table:
            caption.append(f'<a class="dp-figure-data" href="{html.escape(self.table, quote=True)}">'
                           f"{html.escape(self.table_text)}</a>")
        named = f' aria-labelledby="{div_id}-title"' if self.title else f' aria-label="{label}"'
        described = f' aria-describedby="{div_id}-alt"' if self.alt and self.alt != self.title else ""
        return (f'{script}<figure class="dp-figure"{named}{described}>'
                f'<figcaption>{"".join(caption)}</figcaption>'
                f'<div class="dp-figure-scroll"><div class="dp-plot" style="min-width:{min_width}px">{body}</div></div>'
                "</figure>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "application/vnd.plotly.v1+json": json.loads(self.fig.to_json())}


def show(fig: go.Figure, name: str, *, alt: str | None = None, table: str | None = None,
         table_text: str = "Se tallene bag figuren") -> FigureHTML:
    """A figure for a page.

    ``alt`` is its text alternative: one sentence with the figure's message (default: its title);
    ``table`` links the table behind it (an ``#anchor`` on the page or a CSV in the data package).
    """
    return FigureHTML(fig, name, alt=alt, table=table, table_text=table_text)
