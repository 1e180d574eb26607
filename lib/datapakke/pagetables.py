"""The tables a page shows, read back from its executed notebook, with their numbers as numbers.

One road to every number: a page's downloads hold exactly the tables the page shows.  Every
HTML table in the notebook's outputs (``fmt.table`` and the overview's sortable tables) is
read with its caption and the section it stands in, and its Danish display strings are turned
back into values:

* "1.234,5" → 1234.5, "−2" → -2, "+14" → 14; "12,3 %" → 12.3 (the unit goes in the column's
  description and the workbook's number format, so the cell still reads "12,3 %");
* "–" (not shown) and an empty cell → an empty cell;
* an interval "−43 til −9" → two columns (", fra" and ", til"); "513 (511)" → two columns
  named after the caption's "skolen (kommunen)";
* a band ("højst 7 %", "mindst 94 %") and any other text stay text.

Forms that are not data (the handleplan's write-in tables, ``dp-plan``) are left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .fmt import SUPPRESSED
from .params import slug

#: Table classes that are forms to fill in, not data.
NOT_DATA = {"dp-plan"}
#: Excel's limit on a sheet name.
SHEET_NAME_MAX = 31

_NUM = r"[+\-−]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"
_PCT = r"(?:[ \u00a0\u202f]?%)?"
_PART = rf"{_NUM}{_PCT}|{SUPPRESSED}"
NUMBER = re.compile(rf"^([+\-−]?)((?:\d{{1,3}}(?:\.\d{{3}})+|\d+))(?:,(\d+))?({_PCT})$")
INTERVAL = re.compile(rf"^({_PART}) til ({_PART})$")
PAIR = re.compile(rf"^({_PART}) \(({_PART})\)$")
#: A caption's "skolen (kommunen)": what the two numbers of a "513 (511)" cell are.
PAIR_CAPTION = re.compile(r"(\w+) \((\w+)\)\s*$")
UNICODE_MINUS = re.compile(r"−(?=\d)")


@dataclass(frozen=True)
class Cell:
    """One value as the page shows it: a number (with its display), a text, or None (empty or –)."""

    value: float | str | None
    decimals: int = 0
    percent: bool = False
    signed: bool = False

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, float)


def number(text: str) -> Cell | None:
    """A Danish number as ``fmt`` writes it ("1.234,5", "−2", "+0,17", "12,3 %"), else None."""
    m = NUMBER.match(text.strip())
    if not m:
        return None
    sign, whole, decimals, pct = m.groups()
    value = float(whole.replace(".", "") + ("." + decimals if decimals else ""))
    value = -value if sign in ("-", "−") and value else value  # never a -0.0
    return Cell(value, len(decimals or ""), bool(pct.strip()), sign in ("+", "−"))


def cell(text: str) -> Cell:
    """A single cell: a number, empty (None) for '–' or blank, else its text (ASCII minus in numbers)."""
    t = text.strip()
    if t in ("", SUPPRESSED):
        return Cell(None)
    return number(t) or Cell(UNICODE_MINUS.sub("-", t))


def _parts(pattern: re.Pattern, text: str) -> tuple[Cell, Cell] | None:
    m = pattern.match(text.strip())
    return (cell(m.group(1)), cell(m.group(2))) if m else None


@dataclass
class Column:
    name: str
    cells: list[Cell]
    description: str

    @property
    def is_number(self) -> bool:
        """Every cell a number or empty: a typed number column (else text, numbers where they are numbers)."""
        return all(c.value is None or c.is_number for c in self.cells)

    @property
    def values(self) -> list[float | str | None]:
        return [c.value for c in self.cells]


@dataclass
class PageTable:
    """A table as the page shows it: caption, the section it stands in, header and rows of display text."""

    caption: str
    section: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def columns(self) -> list[Column]:
        """The table's columns with values: intervals and "a (b)" pairs split in two, everything else as is."""
        out = []
        pair = PAIR_CAPTION.search(self.caption)
        first, second = (pair.group(1), pair.group(2)) if pair else ("", "i parentes")
        for j, name in enumerate(unique(self.header)):
            texts = [r[j] if j < len(r) else "" for r in self.rows]
            given = [t for t in texts if t.strip() not in ("", SUPPRESSED)]
            for pattern, labels, what in ((INTERVAL, ("fra", "til"), ("nedre", "øvre")),
                                          (PAIR, (first, second), None)):
                split = [_parts(pattern, t) if t.strip() not in ("", SUPPRESSED) else (Cell(None), Cell(None))
                         for t in texts]
                if given and all(s is not None for s in split):
                    for k in (0, 1):
                        col = Column(f"{name}, {labels[k]}" if labels[k] else name, [s[k] for s in split], "")
                        col.description = describe(col, name, what[k] if what else labels[k] or "tallet uden parentes")
                        out.append(col)
                    break
            else:
                col = Column(name, [cell(t) for t in texts], "")
                col.description = describe(col, name)
                out.append(col)
        return out


def unique(header: list[str]) -> list[str]:
    """Column names as on the page; a blank one is 'Række', a repeated one gets ' (2)'."""
    out: list[str] = []
    for h in header:
        name, k = h or "Række", 2
        while name in out:
            name, k = f"{h or 'Række'} ({k})", k + 1
        out.append(name)
    return out


def describe(col: Column, shown_as: str, part: str = "") -> str:
    """The column in a Danish sentence or three: what it is on the page, its unit and rounding, its gaps."""
    numbers = [c for c in col.cells if c.is_number]
    texts = [c for c in col.cells if isinstance(c.value, str)]
    if part in ("nedre", "øvre"):
        head = f"{part.capitalize()} grænse af «{shown_as}» på siden."
    elif part:
        head = f"«{shown_as}» på siden: {part}."
    else:
        head = f"«{shown_as}» som på siden."
    out = [head]
    if numbers:
        pct = {c.percent for c in numbers}
        if pct == {True}:
            out.append("Procent (%).")
        elif len(pct) == 2:
            out.append("Procent (%) i de rækker, hvor siden viser %, ellers antal.")
        decimals = {c.decimals for c in numbers}
        if len(decimals) == 1:
            d = decimals.pop()
            out.append("Afrundet til hele tal." if d == 0 else f"Afrundet til {d} decimal{'er' if d > 1 else ''}.")
        else:
            out.append("Afrundet som på siden.")
        if texts:
            out.append("Tekst som «højst 7 %» er et bånd i stedet for et præcist tal, der ville vise 1–3 elever.")
    elif texts:
        out.append("Tekst.")
    if any(c.value is None for c in col.cells):
        out.append(f"Tom: ikke vist på siden ({SUPPRESSED}) eller findes ikke.")
    return " ".join(out)


class _Tables(HTMLParser):
    """The ``<table>``s of an HTML fragment (and the headings before them), as display text."""

    def __init__(self, section: str = ""):
        super().__init__(convert_charrefs=True)
        self.section = section
        self.tables: list[PageTable] = []
        self._table: PageTable | None = None
        self._skip = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._heading: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = PageTable("", self.section, [])
            self._skip = bool(NOT_DATA & set((a.get("class") or "").split()))
        elif self._table is None:
            if tag in ("h1", "h2", "h3", "h4"):
                self._heading = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._span = int(a.get("colspan") or 1)
        elif tag == "br" and self._cell is not None:
            self._cell.append("; ")

    def handle_endtag(self, tag):
        if tag == "table" and self._table is not None:
            if not self._skip and self._table.header:
                self.tables.append(self._table)
            self._table = None
        elif tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.section = _text(self._heading)
            self._heading = None
        elif tag == "caption" and self._caption is not None:
            self._table.caption = _text(self._caption)
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row += [_text(self._cell)] + [""] * (self._span - 1)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table.header:
                self._table.rows.append(self._row)
            else:  # the first row names the columns (a table without <th> cells still has one)
                self._table.header = self._row
            self._row = None

    def handle_data(self, data):
        for part in (self._cell, self._caption, self._heading):
            if part is not None:
                part.append(data)
                return


def _text(parts: list[str]) -> str:
    return " ".join("".join(parts).replace("\u00ad", "").replace("\u00a0", " ").split())


def read_html(fragment: str, section: str = "") -> tuple[list[PageTable], str]:
    """The data tables of an HTML fragment, and the section (last heading) it ends in."""
    parser = _Tables(section)
    parser.feed(fragment)
    parser.close()
    return parser.tables, parser.section


def read_notebook(nb) -> list[PageTable]:
    """Every data table an executed page notebook shows, in page order, each with its section heading."""
    tables, section = [], ""
    for c in nb["cells"]:
        source = "".join(c.get("source", ""))
        if c["cell_type"] == "markdown":
            headings = re.findall(r"^#{1,4}\s+(.+?)\s*#*\s*$", source, flags=re.M)
            section = headings[-1] if headings else section
            continue
        if c["cell_type"] != "code":
            continue
        for output in c.get("outputs", []):
            fragment = output.get("data", {}).get("text/html")
            if fragment is None:
                continue
            fragment = "".join(fragment)
            if "<table" not in fragment and "<h" not in fragment:
                continue
            found, section = read_html(fragment, section)
            tables += found
    return tables


def sheet_names(tables: list[PageTable]) -> list[str]:
    """'1 Runder, elever og svarprocent', …: numbered in page order (unique), ≤ 31 characters, no [ ] : * ? / \\."""
    return [_short(f"{i} ", _core(t), SHEET_NAME_MAX) for i, t in enumerate(tables, 1)]


def file_stems(tables: list[PageTable]) -> list[str]:
    """'runder-elever-og-svarprocent', …: the CSV names, from the captions (the same table, the same name)."""
    out: list[str] = []
    for t in tables:
        stem = slug(_short("", _core(t), 60)) or "tabel"
        name, k = stem, 2
        while name in out:
            name, k = f"{stem}-{k}", k + 1
        out.append(name)
    return out


#: A caption's trailing clause that only dates it: ", T3", ", 2025/2026", " (T3 / skoleåret 2025/2026)".
_DATING = re.compile(r"(,\s*(T\d+|\d{4}/\d{4})|\s*\([^()]*\))\s*$")
#: Words a cut name must not end on.
_DANGLING = re.compile(r"(\s+(pr\.|og|i|af|på|til|for|med|fra|alle|de|den|det|en|et))+$")


def _core(table: PageTable) -> str:
    """The caption without the clauses that only date it (the full caption stays in the workbook)."""
    name = table.caption or table.section or "Tabel"
    while (shorter := _DATING.sub("", name)) != name and shorter:
        name = shorter
    return name


def _short(prefix: str, name: str, limit: int) -> str:
    """``prefix`` + ``name`` in at most ``limit`` characters, cut at a word; no characters Excel forbids."""
    name = " ".join(re.sub(r"[\[\]:*?/\\]", " ", name).split())
    room = limit - len(prefix)
    if len(name) > room:
        cut = ""
        for w in name.split():
            if len(f"{cut} {w}".strip()) > room:
                break
            cut = f"{cut} {w}".strip()
        name = _DANGLING.sub("", cut) if cut else name[:room]
    return (prefix + name.rstrip(" ,;.-–")).strip()
