"""Make a rendered site work offline: nothing on any page may load from the network.

Quarto adds widget support to every notebook page with HTML output: require.js and jQuery from
a CDN plus a small ``define('jquery', …)`` shim.  No page of ours uses either (plotly.js is
loaded from ``assets/``), so ``make_offline`` removes them.  Quarto's cosmo theme also imports
its web font from a font CDN in the theme's CSS; that ``@import`` is removed too (the pages
name fallback fonts).

Anything else that would load from the network — a script, stylesheet, image, frame or CSS
``url()`` with an ``http(s)://`` or ``//`` address — is not guessed at: ``external_resources``
lists it (file and address) and publishing stops.  Links (``<a href>``) are navigation, not
loads, and are left alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

#: Scripts Quarto injects for Jupyter widgets: what the address ends with.
WIDGET_SCRIPTS = (
    re.compile(r"/require(\.min)?\.js$"),
    re.compile(r"/jquery(-[\d.]+)?(\.slim)?(\.min)?\.js$"),
    re.compile(r"@jupyter-widgets/html-manager@[^/]*/dist/embed(-amd)?\.js$"),
)
#: Quarto's shim that hands jQuery to require.js; without require.js it would throw.
JQUERY_SHIM = re.compile(r"^\s*define\(\s*['\"]jquery['\"]")

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>\s*", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"<link\b([^>]*)>\s*", re.IGNORECASE)
#: ``<link rel>`` values that only open a connection ahead of time (no resource): removed with the rest.
_CONNECT_RELS = {"preconnect", "dns-prefetch"}
_CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?((?:https?:)?//[^'\")\s]+)['\"]?\s*\)?[^;]*;", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?((?:https?:)?//[^'\")\s]+)", re.IGNORECASE)
#: Elements and attributes that make the browser fetch something when the page loads.
_LOADING = {"script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "frame": ("src",),
            "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",), "track": ("src",),
            "embed": ("src",), "object": ("data",), "input": ("src",), "image": ("href", "xlink:href")}
_LOADING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut icon",
                      "apple-touch-icon", "manifest", "preconnect", "dns-prefetch"}


def is_external(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://", "//"))


def _attrs(tag_attrs: str) -> dict[str, str]:
    parser = _StartTag()
    parser.feed(f"<x {tag_attrs}>")
    return parser.attrs


class _StartTag(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        self.attrs = {k.lower(): v or "" for k, v in attrs}


def strip_widget_scripts(text: str) -> tuple[str, list[str]]:
    """The page without Quarto's widget scripts (by address), its jQuery shim and remote
    preconnect hints; what was removed."""
    removed: list[str] = []

    def replace(m: re.Match) -> str:
        attrs, body = _attrs(m.group(1)), m.group(2)
        src = attrs.get("src", "")
        if is_external(src) and any(p.search(src.split("?")[0]) for p in WIDGET_SCRIPTS):
            removed.append(src)
            return ""
        if not src and JQUERY_SHIM.match(body):
            removed.append("define('jquery', …)")
            return ""
        return m.group(0)

    def replace_link(m: re.Match) -> str:
        attrs = _attrs(m.group(1))
        if attrs.get("rel", "").lower() in _CONNECT_RELS and is_external(attrs.get("href")):
            removed.append(attrs["href"])
            return ""
        return m.group(0)

    return _LINK.sub(replace_link, _SCRIPT.sub(replace, text)), removed


def strip_css_imports(css: str) -> tuple[str, list[str]]:
    """CSS without ``@import`` of remote stylesheets (web fonts); what was removed."""
    removed = [m.group(1) for m in _CSS_IMPORT.finditer(css)]
    return _CSS_IMPORT.sub("", css), removed


class _Loads(HTMLParser):
    """Remote addresses the page would load: (line, address)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): v or "" for k, v in attrs}
        line = self.getpos()[0]
        urls = [a.get(name, "") for name in _LOADING.get(tag, ())]
        if tag == "link" and (a.get("rel", "").lower() in _LOADING_LINK_RELS or a.get("rel", "").lower().endswith("icon")):
            urls.append(a.get("href", ""))
        for url in urls:
            for part in url.split(","):  # srcset: "a.png 1x, b.png 2x"
                address = part.strip().split(" ")[0]
                if is_external(address):
                    self.found.append((line, address))
        if "style" in a:
            self.found += [(line, u) for u in _CSS_URL.findall(a["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += [(self.getpos()[0], u) for u in _CSS_URL.findall(data)]


@dataclass(frozen=True)
class External:
    file: str  # relative to the site
    line: int
    url: str

    def __str__(self) -> str:
        return f"{self.file}, linje {self.line}: henter {self.url} fra nettet"


def external_resources(site: Path) -> list[External]:
    """Everything a page or stylesheet of the site would still fetch from the network."""
    site = Path(site)
    found: list[External] = []
    for page in sorted(site.rglob("*.html")):
        parser = _Loads()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        parser.close()
        found += [External(page.relative_to(site).as_posix(), line, url) for line, url in parser.found]
    for sheet in sorted(site.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for m in _CSS_URL.finditer(text):
            found.append(External(sheet.relative_to(site).as_posix(), text.count("\n", 0, m.start()) + 1, m.group(1)))
    return found


def make_offline(site: Path) -> list[str]:
    """Remove Quarto's widget scripts from every page and remote ``@import``s from every stylesheet,
    in place; returns what was removed (``file: address``)."""
    site = Path(site)
    removed: list[str] = []
    for pattern, strip in (("*.html", strip_widget_scripts), ("*.css", strip_css_imports)):
        for path in sorted(site.rglob(pattern)):
            new, gone = strip(path.read_text(encoding="utf-8"))
            if gone:
                path.write_text(new, encoding="utf-8")
                removed += [f"{path.relative_to(site).as_posix()}: {g}" for g in gone]
    return removed
