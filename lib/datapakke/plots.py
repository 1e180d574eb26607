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

Filters are native ``<select>`` elements above the plot (``Filter``), not plotly's menus and
sliders, which are drawn in SVG and cannot be reached by keyboard or screen reader; the
site's ``assets/figures.js`` shows the traces that match every select (no server).
Heat-map labels are drawn as a text trace (``heatmap_labels``), each in black or white,
whichever contrasts more with its cell: never below 4,5:1 (WCAG AA).
"""
from __future__ import annotations

import copy
import html
import json
from dataclasses import dataclass, field

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


def screen_figure(fig: go.Figure) -> tuple[dict, int]:
    """The figure as the page draws it (a plotly figure dict), and the narrowest width (px) it can be drawn at.

    The title moves out of the plot into the HTML caption (its space above the plot goes too);
    the figure keeps no fixed width, so it fills its container.  ``fig`` itself is not changed.
    """
    out = _validated_copy(fig)
    lay = out["layout"]
    margin = lay.get("margin") or {}
    top = margin["t"] if margin.get("t") is not None else 100
    if _title_of(fig):
        lay["title"].pop("text", None)
        if not lay.get("updatemenus") and not lay.get("sliders"):
            lay.setdefault("margin", {})["t"] = max(top - TITLE_SPACE, 20)
    lay.pop("width", None)
    lay["autosize"] = True
    left = margin["l"] if margin.get("l") is not None else 80
    right = margin["r"] if margin.get("r") is not None else 80
    return out, int(left + right + MIN_PLOT_WIDTH)


def _validated_copy(fig: go.Figure) -> dict:
    """``copy.deepcopy(fig).to_dict()``, fast: the same dict, keys in the same (plotly's) order.

    A deep copy of a figure builds it again from its dict, validating every property, and the
    template (≈ 3.000 properties, the same in every figure) is most of that work.  Here the
    figure is built again around a one-trace stand-in template, which keeps the template's place
    among the layout's keys, and the template's own validated dict is computed once per template.
    """
    plain = fig.to_dict()
    template = plain["layout"].get("template")
    if template is None:
        return go.Figure(plain).to_dict()
    plain["layout"]["template"] = {}  # plotly's empty template: one scatter trace, quick to validate
    out = go.Figure(plain).to_dict()
    out["layout"]["template"] = _validated_template(template)
    return out


_templates: dict[str, dict] = {}


def _validated_template(template: dict) -> dict:
    """``go.layout.Template(template).to_plotly_json()``, remembered per template (a fresh copy each time)."""
    try:
        key = json.dumps(template)
    except TypeError:  # not plain JSON (e.g. NumPy values): not remembered
        return go.layout.Template(template).to_plotly_json()
    if key not in _templates:
        _templates[key] = go.layout.Template(template).to_plotly_json()
    return copy.deepcopy(_templates[key])


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


#: A trace key meaning "shown whenever this filter is not at its default" (e.g. the muted other schools).
OTHERS = "__others"


@dataclass
class Filter:
    """One ``<select>`` of a filtered figure: the key it sets in the traces' keys, its label, options, default.

    ``layout``: option value → a plotly layout update (``{"xaxis.title.text": …}``) applied when
    that option is chosen (e.g. another axis title and category order); the figure itself is
    drawn as the default option wants it.
    """

    key: str
    label: str
    options: list[tuple[str, str]]  # (value, label)
    default: str
    layout: dict[str, dict] = field(default_factory=dict)


def visible_traces(keys: list[dict], state: dict[str, str], defaults: dict[str, str]) -> list[bool]:
    """Which traces a choice of every filter shows (the same rule as ``figures.js``).

    A trace key names the filter values it belongs to; a filter it does not name never hides
    it; ``OTHERS`` shows it only while that filter is off its default.
    """
    def shown(k: dict) -> bool:
        for f, v in state.items():
            if k.get(f) == OTHERS:
                if v == defaults[f]:
                    return False
            elif k.get(f) is not None and k[f] != v:
                return False
        return True

    return [shown(k) for k in keys]


def _luminance(colour: str) -> float:
    r, g, b = (c / 255 for c in _rgb(colour))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.strip()
    if c.startswith("#"):
        c = c[1:]
        if len(c) == 3:
            c = "".join(ch * 2 for ch in c)
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    if c.startswith("rgb"):
        parts = c[c.index("(") + 1:c.index(")")].split(",")
        return tuple(int(round(float(x))) for x in parts[:3])  # type: ignore[return-value]
    raise ValueError(f"unknown colour {colour!r}")


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def colour_at(colorscale, t: float) -> str:
    """The colour of a plotly colour scale ([[0, c0], …, [1, c1]]) at t in [0, 1], interpolated in RGB."""
    stops = [(float(p), _rgb(c)) for p, c in colorscale]
    t = min(max(float(t), 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if t <= p1:
            w = 0.0 if p1 == p0 else (t - p0) / (p1 - p0)
            return "#%02x%02x%02x" % tuple(int(round(a + (b - a) * w)) for a, b in zip(c0, c1))
    return "#%02x%02x%02x" % stops[-1][1]


def label_colour(fill: str) -> str:
    """Black or white text, whichever contrasts more with ``fill`` (always at least 4,58:1)."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"


def heatmap_labels(heat: go.Heatmap, text: list[list[str]], size: int = 12, background: str = "#ffffff") -> go.Scatter:
    """The labels of a heat map's cells as a text trace, each coloured for contrast with its own cell.

    ``heat`` needs ``x``, ``y``, ``z``, ``colorscale``, ``zmin`` and ``zmax``; an empty cell (z None)
    shows ``background``.  Add the trace to the same axes after the heat map.
    """
    lo, hi = float(heat.zmin), float(heat.zmax)
    xs, ys, labels, colours = [], [], [], []
    for i, (row, trow) in enumerate(zip(heat.z, text)):
        for j, (v, t) in enumerate(zip(row, trow)):
            if t is None or t == "":
                continue
            fill = background if v is None else colour_at(heat.colorscale, (float(v) - lo) / (hi - lo))
            xs.append(heat.x[j])
            ys.append(heat.y[i])
            labels.append(t)
            colours.append(label_colour(fill))
    return go.Scatter(x=xs, y=ys, text=labels, mode="text", textfont={"color": colours, "size": size},
                      hoverinfo="skip", showlegend=False, cliponaxis=False)


class FigureHTML:
    """A figure as HTML (for Quarto, nbconvert and the browser) plus plotly JSON (for JupyterLab).

    The HTML is an accessible ``<figure>``: named by its title, the visible caption (it wraps on
    a phone, which a title drawn by plotly cannot); described by its text alternative, shown under
    the title; and optionally a link to the table behind it.  The plot itself is not hidden from
    assistive technology: its toolbar is a real button.
    """

    def __init__(self, fig: go.Figure, name: str, alt: str | None = None, table: str | None = None,
                 table_text: str = "Se tallene bag figuren", filters: list[Filter] | None = None,
                 keys: list[dict] | None = None):
        self.fig, self.name = fig, name
        self.title = _title_of(fig)
        self.alt = (alt or "").strip()
        self.table, self.table_text = table, table_text
        self.filters, self.keys = list(filters or []), list(keys or [])
        if self.filters:
            if len(self.keys) != len(fig.data):
                raise ValueError(f"figure {name}: {len(fig.data)} traces but {len(self.keys)} filter keys")
            defaults = {f.key: f.default for f in self.filters}
            for trace, shown in zip(fig.data, visible_traces(self.keys, defaults, defaults)):
                trace.visible = shown

    def controls(self, div_id: str) -> str:
        """The figure's filters as labelled native selects (keyboard, screen reader, print)."""
        if not self.filters:
            return ""
        selects = []
        for f in self.filters:
            sid = f"{div_id}-{f.key}"
            options = "".join(f'<option value="{html.escape(v, quote=True)}"{" selected" if v == f.default else ""}>'
                              f"{html.escape(lab)}</option>" for v, lab in f.options)
            selects.append(f'<span class="dp-filter"><label for="{sid}">{html.escape(f.label)}</label> '
                           f'<select id="{sid}" data-dp-key="{html.escape(f.key, quote=True)}" autocomplete="off">'
                           f"{options}</select></span>")
        data = {"figure": div_id, "defaults": {f.key: f.default for f in self.filters},
                "layouts": {f.key: f.layout for f in self.filters if f.layout}, "keys": self.keys, "others": OTHERS}
        payload = html.escape(json.dumps(data, ensure_ascii=False, separators=(",", ":")), quote=True)
        return (f'<div class="dp-filters" role="group" aria-label="Filtre for figuren" data-dp-filters="{payload}">'
                + "".join(selects) + f'<span class="dp-filter-status" role="status" id="{div_id}-status"></span></div>')

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
                           config=site_config(self.name), validate=False)  # validated when it was built
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
        return (f'{script}<figure class="dp-figure" id="figur-{self.name}"{named}{described}>'
                f'<figcaption>{"".join(caption)}</figcaption>{self.controls(div_id)}'
                f'<div class="dp-figure-scroll"><div class="dp-plot" style="min-width:{min_width}px">{body}</div></div>'
                "</figure>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "application/vnd.plotly.v1+json": json.loads(self.fig.to_json())}


def show(fig: go.Figure, name: str, *, alt: str | None = None, table: str | None = None,
         table_text: str = "Se tallene bag figuren", filters: list[Filter] | None = None,
         keys: list[dict] | None = None) -> FigureHTML:
    """A figure for a page.

    ``alt`` is its text alternative: one sentence with the figure's message (default: its title);
    ``table`` links the table behind it (an ``#anchor`` on the page or a CSV in the data package).
    ``filters`` are selects above the plot; ``keys`` gives, per trace, the filter values it
    belongs to (see ``visible_traces``).  The figure is ``#figur-<name>`` on the page.
    """
    return FigureHTML(fig, name, alt=alt, table=table, table_text=table_text, filters=filters, keys=keys)
