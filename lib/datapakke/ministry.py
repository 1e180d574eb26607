"""Readers for the ministry's Uddannelsesstatistik Excel downloads (pivot tables).

Why this module exists: the ministry publishes the national comparison figures a datapakke
needs (trivselsmålingen in answer bands, absence, the share with the highest wellbeing) as
Excel *pivot tables* made for reading, not for machines: filter rows on top, a
``Column Labels`` / ``Row Labels`` header, nested row labels (region → køn → klassetrin →
kommune/skole) in one indented column, subtotal rows (``Albertslund Total``, ``Grand Total``)
mixed in with the data, and blank cells where a result is suppressed or empty.

Everything here is found by its *label*, never by a fixed row or column number, because the
ministry's viewer moves things around between downloads (one more filter row, a ``… Total``
column, a year block per school year).  A layout we do not recognise raises
:class:`MinistryFormatError` naming the file and the label that was not understood, rather
than returning numbers that might be wrong.

Decisions (each pinned by a test in ``tests/test_ministry.py``):

* **Suppressed stays missing.**  A blank or marker cell (``-``, ``.``, ``x``, ``*``…) is NaN,
  never zero.  Only when pooling (:func:`to_nationale_tal`) is a blank band read as zero,
  and only in a row whose shown shares add up to 100 % -- then the blank provably hides no
  pupils.  A school with any row that fails that test (or has no counts) gets no pooled
  figure.
* **Ukendt / Uoplyst** gender or grade, blank labels and rows without a school name cannot
  be attributed and are dropped from :func:`read_trivsel_pivot`'s default output (they are
  still in the export's own totals).  ``include_subtotals=True`` shows them as
  ``raekketype == "ukendt"``.
* **Only leaves count.**  A row is a leaf when no deeper row follows it under the same parent;
  rows that have children, and ``… Total`` rows/columns, are subtotals and are never summed.
* **Rows without a school year** (the pivot's blank-year item in ``Skoletal.xlsx``) are
  dropped: they cannot be compared with anything.  An export pooled over years
  (``Skoleår: All``) keeps ``skoleaar`` missing, also in ``nationale_tal``.
* The trimmed ``Skoletal.xlsx`` (school names and a ``Kommune`` name column, no institution
  numbers, no absence) is parsed with ``institutionsnummer`` missing; converting it to
  ``nationale_tal`` raises, because a school figure without its institution number cannot be
  joined to anything.
* The trivsel downloads carry school *names* only.  :func:`to_nationale_tal` identifies a
  school by a name that belongs to exactly one institution in ``Skoletal`` and that the
  export shows as one school; others are left out with a :class:`MinistryDataWarning`.
* Band shares in ``nationale_tal`` are named ``<indicator>:<band>`` (``samlet_indikator:
  4,1-5,0``), the spelling ``demo.py`` uses for the synthetic data.
"""
from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

#: The trivselsmåling answer bands, in order (same spelling as ``config.TRIVSEL_BANDS``).
BANDS = ("1,0-2,0", "2,1-3,0", "3,1-4,0", "4,1-5,0")
#: How far down the sheet the ``Row Labels`` header is looked for.
HEADER_SCAN_ROWS = 30

TRIVSEL_COLUMNS = [
    "skoleaar", "indikator", "institutionsnummer", "skolenavn", "kommune", "region",
    "koen", "klassetrin", "band", "andel", "antal",
]
SKOLETAL_COLUMNS = [
    "institutionsnummer", "skolenavn", "kommunekode", "kommune", "skoleaar",
    "fravaer_andel", "trivsel_hoejest_andel", "elevtal",
    "fravaer_andel_kommune", "fravaer_andel_land",
    "trivsel_hoejest_andel_kommune", "trivsel_hoejest_andel_land",
]
NATIONALE_TAL_COLUMNS = ["skoleaar", "niveau", "kode", "indikator", "vaerdi", "antal"]

#: Tolerance for "the shown shares of a row add up to 100 %" (shares are stored as doubles).
SHARE_SUM_TOLERANCE = 1e-6


class MinistryFormatError(ValueError):
    """An export whose layout or content we do not recognise (names the file and the label)."""


class MinistryDataWarning(UserWarning):
    """Something was left out on purpose (e.g. schools that could not be identified).

    ``schools`` names every school that was left out (``"Nordskolen (Haderslev)"``), so a
    report can list them all; the message says why, in Danish.
    """

    def __init__(self, message: str, schools: list[str] | None = None):
        super().__init__(message)
        self.schools = list(schools or [])


# --------------------------------------------------------------------------------------
# text helpers
# --------------------------------------------------------------------------------------
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "\u00a0": " "})
_SPACES = re.compile(r"\s+")


def _text(value: Any) -> str | None:
    """A cell as stripped text, or None when blank -- integral numbers lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def _key(value: Any) -> str:
    """Label as a comparison key: NFC, case-folded, æøå folded to ae/oe/aa, single spaces.

    Why: the ministry and the municipalities spell the same header ``Skoleår``, ``skoleaar``
    or ``SKOLEÅR``; comparing keys makes all of them one label.
    """
    text = _text(value) or ""
    text = unicodedata.normalize("NFC", text).casefold().translate(_FOLD)
    return _SPACES.sub(" ", text).strip()


def _where(name: str, row: int | None = None, col: int | None = None) -> str:
    """Cell reference as a user sees it in Excel (``X.xlsx, celle D12``)."""
    if row is None and col is None:
        return name
    if row is None:
        return f"{name}, kolonne {get_column_letter(col + 1)}"
    if col is None:
        return f"{name}, række {row + 1}"
    return f"{name}, celle {get_column_letter(col + 1)}{row + 1}"


_ROW_LABELS = {"row labels", "raekkenavne", "raekkeetiketter"}
_COLUMN_LABELS = {"column labels", "kolonnenavne", "kolonneetiketter"}
_GRAND_TOTALS = {"grand total", "hovedtotal", "total", "i alt", "samlet total"}
_TOTAL_RE = re.compile(r"^(?P<stem>.+?)\s+(?:total|i alt)$", re.IGNORECASE)
_YEAR_RE = re.compile(r"^(?P<a>\d{4})\s*[/-]\s*(?P<b>\d{2}|\d{4})$")
_GRADE_RE = re.compile(r"^(?P<n>\d{1,2})\.?\s*(?:klasse|kl\.?|klassetrin)$")
_BAND_RE = re.compile(r"^(?P<lo>\d+(?:[.,]\d+)?)\s*(?:til|-|–)\s*(?P<hi>\d+(?:[.,]\d+)?)$")
_MEASURE_RE = re.compile(
    r"^(?:(?:sum|sum of|sum af|average of|gennemsnit af|middelværdi af)\s+)?(?P<m>andel|antal)\b\s*(?P<rest>.*)$"
)


def _measure(text: str) -> re.Match | None:
    """``Andel Samlet Indikatorsvar`` → match with m='andel', rest='samlet indikatorsvar'.

    Matched on the lower-cased text (æøå kept), so the rest can name the indicator."""
    return _MEASURE_RE.match(_SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold())
_INST_IN_LABEL = (
    re.compile(r"^(?P<id>\d{6})\s*[-–:]?\s+(?P<name>.+)$"),
    re.compile(r"^(?P<name>.+?)\s*\((?P<id>\d{6})\)$"),
)
_GENDERS = {"dreng": "dreng", "drenge": "dreng", "pige": "pige", "piger": "pige"}
#: Labels the ministry uses for an unknown gender or grade.
_UNKNOWN_GENDER = {"uoplyst/ukendt", "ukendt/uoplyst", "ukendt koen", "uoplyst koen", "uoplyst"}
_UNKNOWN_GRADE = {"ukendt", "ukendt klassetrin", "uoplyst klassetrin", "ukendt/uoplyst klassetrin"}
_UNKNOWN = "<ukendt>"
_MISSING = object()
_SUPPRESSION_MARKERS = re.compile(r"^(?:-+|–|\.{1,3}|\*+|x|\(x\)|<\s*\d+|n/?a|na|\(tom\)|\(blank\))$")

#: Header of an extra row-label column (tabular pivot layout) → what its cells hold.
#: ``mixed`` columns hold school years *and* municipalities (compact ``Skoletal`` layout).
_LABEL_HEADERS = {
    "hovedinstitution": "skolenavn", "institution": "skolenavn", "skole": "skolenavn",
    "skolenavn": "skolenavn", "institutionsnavn": "skolenavn", "afdeling": "skolenavn",
    "institutionsnummer": "institutionsnummer", "institutionsnr": "institutionsnummer",
    "institutionsnr.": "institutionsnummer", "instnr": "institutionsnummer",
    "kommune": "mixed", "kommunenavn": "mixed", "kommunekode": "mixed",
    "beliggenhedskommune": "mixed", "skoleaar": "mixed",
    "koen": "koen", "klassetrin": "klassetrin", "region": "region",
}


def _is_total(key: str) -> bool:
    """``Albertslund Total``, ``Grand Total``, ``Hovedtotal``, ``… i alt``: never data."""
    return key in _GRAND_TOTALS or bool(_TOTAL_RE.match(key))


def _year(key: str) -> str | None:
    """``2014/2015``, ``2014/15`` or ``2014-2015`` → ``2014/2015``; None if not a school year."""
    m = _YEAR_RE.match(key)
    if not m:
        return None
    a, b = int(m["a"]), m["b"]
    end = int(b) if len(b) == 4 else (a // 100) * 100 + int(b)
    if end != a + 1:
        return None
    return f"{a}/{end}"


def _band(key: str) -> str | None:
    """``2,1 til 3`` → ``2,1-3,0`` (the spelling used everywhere else in datapakke)."""
    m = _BAND_RE.match(key)
    if not m:
        return None
    lo, hi = (float(m[g].replace(",", ".")) for g in ("lo", "hi"))
    if not (1 <= lo < hi <= 5):
        return None  # "2014-2015" is a school year, not a band

    def fmt(x: float) -> str:
        return f"{x:.1f}".replace(".", ",")

    return f"{fmt(lo)}-{fmt(hi)}"


# --------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------
def _to_float(block: pd.DataFrame, name: str) -> np.ndarray:
    """Cells → float matrix.  Blank and suppression markers → NaN (never 0).

    Why not ``pd.to_numeric``: municipalities re-save the downloads, after which a share can
    arrive as the text ``"0,0798"`` or ``"7,98 %"``.  Text that is neither a number nor a
    known marker raises, naming the cell, instead of silently becoming NaN.
    """
    cells = block.to_numpy(dtype=object)
    out = np.full(cells.shape, np.nan)
    for (i, j), v in np.ndenumerate(cells):
        if v is None:
            continue
        if isinstance(v, (float, np.floating)):
            out[i, j] = v
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out[i, j] = float(v)
        elif isinstance(v, str):
            out[i, j] = _parse_number(v, name, block.index[i], block.columns[j])
        elif v is pd.NA or v is pd.NaT:
            continue
        else:
            raise MinistryFormatError(
                f"{_where(name, block.index[i], block.columns[j])}: forventede et tal, fandt {v!r}"
            )
    return out


def _parse_number(text: str, name: str, row: int, col: int) -> float:
    """One text cell → float (decimal comma, thousands dot, ``%``); markers → NaN."""
    t = text.replace("\u00a0", "").replace(" ", "").strip()
    if not t or _SUPPRESSION_MARKERS.match(t.casefold()):
        return np.nan
    percent = t.endswith("%")
    t = t.rstrip("%")
    if re.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+(?:,\d+)?", t):
        t = t.replace(".", "")
    t = t.replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        raise MinistryFormatError(f"{_where(name, row, col)}: forventede et tal, fandt {text!r}") from None
    return value / 100 if percent else value


# --------------------------------------------------------------------------------------
# layout: header, filters, label and data columns
# --------------------------------------------------------------------------------------
@dataclass
class _Layout:
    """Where the pivot's parts are, found by their labels."""

    name: str
    raw: pd.DataFrame
    header_row: int                 # the ``Row Labels`` row
    column_labels_row: int | None   # the ``Column Labels`` row, if any
    label_cols: list[tuple[int, str]]  # (column, 'compact' | 'mixed' | a fixed kind)
    data_cols: list[int]
    filters: dict[str, str]         # filter / slicer name (key) → selected value (text)


def _read_raw(path: Path, sheet: str | int | None) -> pd.DataFrame:
    """The sheet as an object grid (row/column numbers = Excel's minus one).

    Tries :func:`_read_xlsx_cells` first (about 2.5× faster than openpyxl on the 25,000-row
    ``Skoletal.xlsx``), and falls back to ``pandas.read_excel`` for anything it does not
    handle (``.xls``, unusual sheet XML).
    """
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        grid = _read_xlsx_cells(path, sheet)
    except _FastPathUnsupported:
        grid = None
    if grid is None:
        try:
            raw = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, dtype=object)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a format problem for the user
            raise MinistryFormatError(f"{path.name}: kan ikke læses som Excel-projektmappe (beskadiget, eller ikke en "
                                      ".xlsx-fil)") from exc
        grid = raw.astype(object).where(raw.notna(), None).to_numpy(dtype=object)
    return pd.DataFrame(grid, dtype=object)


class _FastPathUnsupported(Exception):
    """The fast cell reader met something it leaves to openpyxl."""


_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)$")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _read_xlsx_cells(path: Path, sheet: str | int | None) -> np.ndarray:
    """Cell values of one .xlsx sheet via expat: text, numbers (int when integral), bools.

    Why not openpyxl: it builds a cell object with styles for every one of the 600,000
    cells in ``Skoletal.xlsx``; we only need the values.  Numbers are not converted to
    dates (the ministry's pivots have none).  Anything unexpected raises
    :class:`_FastPathUnsupported` and the caller uses openpyxl instead.
    """
    from xml.parsers import expat

    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _FastPathUnsupported(str(exc)) from exc
    with z:
        try:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError) as exc:
            raise _FastPathUnsupported(str(exc)) from exc
        sheets = [el for el in book.iter() if el.tag.endswith("}sheet")]
        if isinstance(sheet, str):
            chosen = [el for el in sheets if el.get("name") == sheet]
        else:
            chosen = sheets[(sheet or 0):(sheet or 0) + 1]
        if not chosen:
            raise _FastPathUnsupported(f"sheet {sheet!r} not found")
        target = {el.get("Id"): el.get("Target") for el in rels.iter() if el.tag.endswith("}Relationship")}.get(
            chosen[0].get(_NS_REL))
        if not target:
            raise _FastPathUnsupported("sheet relationship not found")
        member = target.lstrip("/") if target.startswith("/") else "xl/" + target
        strings = _shared_strings(z) if "xl/sharedStrings.xml" in z.namelist() else []

        cells: list[tuple[int, int, Any]] = []
        state = {"ref": None, "type": "n", "text": [], "in_v": False, "in_rph": False}

        def start(name: str, attrs: dict) -> None:
            if name == "c":
                state["ref"] = attrs.get("r")
                state["type"] = attrs.get("t", "n")
                state["text"] = []
            elif name in ("v", "t"):
                state["in_v"] = not state["in_rph"]
            elif name == "rPh":
                state["in_rph"] = True

        def end(name: str) -> None:
            if name in ("v", "t"):
                state["in_v"] = False
            elif name == "rPh":
                state["in_rph"] = False
            elif name == "c" and state["text"]:
                ref = state["ref"]
                m = _CELL_REF.match(ref or "")
                if m is None:
                    raise _FastPathUnsupported(f"cell without a reference ({ref!r})")
                text = "".join(state["text"])
                kind = state["type"]
                if kind == "s":
                    value: Any = strings[int(text)]
                elif kind in ("str", "inlineStr", "d"):
                    value = text
                elif kind == "b":
                    value = text == "1"
                elif kind == "e":
                    value = None
                else:
                    number = float(text)
                    value = int(number) if number.is_integer() else number
                if value == "":
                    value = None  # as pandas reads an empty string
                col = 0
                for ch in m.group(1):
                    col = col * 26 + ord(ch) - 64
                cells.append((int(m.group(2)) - 1, col - 1, value))

        def chars(data: str) -> None:
            if state["in_v"]:
                state["text"].append(data)

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
        try:
            with z.open(member) as fh:
                parser.ParseFile(fh)
        except (KeyError, expat.ExpatError, ValueError, IndexError) as exc:
            raise _FastPathUnsupported(str(exc)) from exc
    if not cells:
        return np.empty((0, 0), dtype=object)
    n_rows = max(r for r, _, _ in cells) + 1
    n_cols = max(c for _, c, _ in cells) + 1
    grid = np.full((n_rows, n_cols), None, dtype=object)
    for r, c, v in cells:
        grid[r, c] = v
    return grid


def _shared_strings(z: zipfile.ZipFile) -> list[str]:
    """The workbook's shared strings (rich-text runs joined, phonetic runs left out)."""
    out = []
    for si in ElementTree.fromstring(z.read("xl/sharedStrings.xml")):
        parts = []
        for child in si:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "t":
                parts.append(child.text or "")
            elif tag == "r":
                parts.extend(t.text or "" for t in child if t.tag.endswith("}t"))
        out.append("".join(parts))
    return out


def _slicer_selections(path: Path) -> dict[str, str]:
    """Single selections of the workbook's (OLAP) slicers, as extra filters.

    Why: the ``differentierede indikatorer`` download says which indicator it shows only in a
    slicer (``Indikator: Social trivsel``), not in any cell.
    """
    found: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.startswith("xl/slicerCaches/") and n.endswith(".xml")]
            for n in names:
                root = ElementTree.fromstring(z.read(n))
                source = root.get("sourceName") or root.get("name") or ""
                field = source.strip("[]").split("].[")[0] if source.startswith("[") else source
                field = re.sub(r"^Slicer_", "", field)
                chosen = [el.get("n", "") for el in root.iter() if el.tag.endswith("}selection")]
                if len(chosen) == 1:
                    m = re.search(r"&\[(.*)\]$", chosen[0])
                    if m:
                        found[_key(field)] = m.group(1)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError):
        return {}
    return found


def _layout(raw: pd.DataFrame, name: str, slicers: dict[str, str] | None = None) -> _Layout:
    """Locate the header rows, filters, label columns and data columns by their labels."""
    scan = raw.iloc[:HEADER_SCAN_ROWS]
    keys = scan.map(_key)
    hits = np.argwhere(keys.isin(_ROW_LABELS).to_numpy())
    if len(hits) == 0:
        raise MinistryFormatError(
            f"{name}: ingen 'Row Labels'-række i de første {HEADER_SCAN_ROWS} rækker "
            "(er det en pivottabel-download fra Uddannelsesstatistik?)"
        )
    header_row, first_label_col = (int(x) for x in hits[0])
    col_hits = np.argwhere(keys.iloc[:header_row].isin(_COLUMN_LABELS).to_numpy())
    column_labels_row = int(col_hits[0][0]) if len(col_hits) else None
    header_keys = keys.iloc[header_row]

    label_cols: list[tuple[int, str]] = [(first_label_col, "compact")]
    if column_labels_row is not None:
        first_data = int(col_hits[0][1])
        for c in range(first_label_col + 1, first_data):
            k = header_keys.iloc[c]
            if k not in _LABEL_HEADERS:
                raise MinistryFormatError(
                    f"{_where(name, header_row, c)}: ukendt overskrift på en rækkeetiket-kolonne {_text(raw.iat[header_row, c])!r}"
                )
            label_cols.append((c, _LABEL_HEADERS[k]))
    else:
        c = first_label_col + 1
        while c < raw.shape[1] and header_keys.iloc[c] in _LABEL_HEADERS:
            label_cols.append((c, _LABEL_HEADERS[header_keys.iloc[c]]))
            c += 1
        first_data = c
    top = column_labels_row + 1 if column_labels_row is not None else header_row
    header_block = raw.iloc[top:header_row + 1, first_data:]
    has_header = header_block.notna().any(axis=0)
    data_cols = [int(c) for c in has_header.index[has_header.to_numpy()]]
    if not data_cols:
        raise MinistryFormatError(f"{_where(name, header_row)}: ingen datakolonner til højre for rækkeetiketterne")

    filters: dict[str, str] = {}
    for r in range(0, column_labels_row if column_labels_row is not None else header_row):
        cells = [(c, _text(v)) for c, v in raw.iloc[r].items() if _text(v) is not None]
        if len(cells) == 2 and cells[0][0] < first_data:
            filters[_key(cells[0][1])] = cells[1][1]
    for k, v in (slicers or {}).items():
        filters.setdefault(k, v)
    return _Layout(name, raw, header_row, column_labels_row, label_cols, data_cols, filters)


# --------------------------------------------------------------------------------------
# walking the nested row labels
# --------------------------------------------------------------------------------------
def _classify(value: Any, colkind: str, other_kind: str) -> tuple[str, Any]:
    """One row-label cell → (kind, normalised value).

    Kinds: ``blank``, ``total``, ``region``, ``koen``, ``klassetrin``, ``skoleaar``,
    ``kommune``, ``kommunekode``, ``institutionsnummer``, ``skolenavn``.  A label that is none
    of the recognisable kinds is a school (or a municipality, when the export has a separate
    school column): ``other_kind`` says which.
    """
    text = _text(value)
    if text is None or _key(text) in {"(blank)", "(tom)"}:
        return "blank", None
    key = _key(text)
    if _is_total(key):
        return "total", text
    year = _year(key)
    if colkind == "mixed":
        if year:
            return "skoleaar", year
        if re.fullmatch(r"\d{1,4}", text):
            return "kommunekode", text.zfill(3) if isinstance(value, (int, float)) else text
        return "kommune", text
    if colkind == "skolenavn":
        return "skolenavn", text
    if colkind == "institutionsnummer":
        return "institutionsnummer", text.zfill(6) if isinstance(value, (int, float)) else text
    if colkind == "koen":
        return "koen", _GENDERS.get(key, _UNKNOWN)
    if colkind == "klassetrin":
        m = _GRADE_RE.match(key)
        return "klassetrin", int(m["n"]) if m else (0 if key == "boernehaveklasse" else _UNKNOWN)
    if colkind == "region":
        return "region", text
    # compact column: recognise the kind from the label itself
    if year:
        return "skoleaar", year
    if key.startswith("region "):
        return "region", text
    if key in _GENDERS:
        return "koen", _GENDERS[key]
    if key in _UNKNOWN_GENDER:
        return "koen", _UNKNOWN
    m = _GRADE_RE.match(key)
    if m:
        return "klassetrin", int(m["n"])
    if key == "boernehaveklasse":
        return "klassetrin", 0
    if key in _UNKNOWN_GRADE:
        return "klassetrin", _UNKNOWN
    if re.fullmatch(r"\d{6}", text):
        return "institutionsnummer", text.zfill(6) if isinstance(value, (int, float)) else text
    return other_kind, text


@dataclass
class _Row:
    """One sheet row after classification."""

    index: int                    # row in ``raw``
    explicit: dict[str, Any]      # labels written on this row (kind → value)
    blank_cols: list[int]         # label columns left blank on this row
    total: str | None             # the ``… Total`` label, if this is a total row
    has_values: bool
    level: int = -1
    state: dict[str, Any] | None = None
    rowtype: str = ""             # 'leaf' | 'subtotal' | 'header' | 'empty'


def _walk(lay: _Layout, has_values: np.ndarray, other_kind: str) -> list[_Row]:
    """Give every row below the header its full label path and say what it is.

    How the nesting is recovered from labels alone: the *kinds* of label (region, køn,
    klassetrin, skole …) get a depth in the order they first appear; a label at depth d keeps
    the labels above it and clears the ones below.  A row is a *leaf* when the next row is not
    deeper under the same parent; otherwise it is a subtotal (if it carries numbers) or a
    plain heading.  ``… Total`` rows are subtotals and never change the path.
    """
    start = lay.header_row + 1
    grid = lay.raw.iloc[start:, [c for c, _ in lay.label_cols]].to_numpy(dtype=object)
    rows: list[_Row] = []
    order: list[str] = []
    col_kinds: dict[int, set[str]] = {c: set() for c, _ in lay.label_cols}
    seen: dict[tuple, tuple[str, Any]] = {}  # labels repeat thousands of times: classify once
    for r in range(grid.shape[0]):
        explicit: dict[str, Any] = {}
        blanks: list[int] = []
        total = None
        for (c, colkind), cell in zip(lay.label_cols, grid[r]):
            memo = (type(cell), cell, colkind)
            if memo not in seen:
                seen[memo] = _classify(cell, colkind, other_kind)
            kind, value = seen[memo]
            if kind == "blank":
                blanks.append(c)
            elif kind == "total":
                total = value
            else:
                explicit[kind] = value
                col_kinds[c].add(kind)
                if kind not in order:
                    order.append(kind)
        rows.append(_Row(start + r, explicit, blanks, total, bool(has_values[r])))
    level = {k: i for i, k in enumerate(order)}
    deepest = len(order) - 1

    for row in rows:
        row.level = max((level[k] for k in row.explicit), default=-1)
        if not row.explicit and row.total is None and not row.has_values:
            row.rowtype = "empty"

    live = [i for i, row in enumerate(rows) if row.rowtype != "empty" and row.total is None]
    nxt = {a: b for a, b in zip(live, live[1:])}
    prv = {b: a for a, b in zip(live, live[1:])}

    state: dict[str, Any] = {}
    for i, row in enumerate(rows):
        if row.rowtype == "empty":
            continue
        if row.total is not None:
            row.state = _total_state(row.total, state, level, other_kind)
            row.rowtype = "subtotal"
            continue
        new = dict(state)
        cleared_from = None
        # a blank label cell: the pivot's "(blank)" item at some depth of that column
        for c in row.blank_cols:
            deeper = [level[k] for k in col_kinds[c] if level[k] > row.level]
            if not deeper:
                continue
            p, n = rows[prv[i]] if i in prv else None, rows[nxt[i]] if i in nxt else None
            if p is not None and n is not None and p.level == deepest and n.level == deepest and not row.explicit:
                lo = deepest  # a blank leaf between two leaves: its sibling, not a new branch
            else:
                lo = min(deeper)
            cleared_from = lo if cleared_from is None else min(cleared_from, lo)
        if cleared_from is not None and row.level < 0:
            row.level = cleared_from  # a blank item sits at the depth it cleared
        changed = [level[k] for k, v in row.explicit.items() if state.get(k, _MISSING) != v]
        first_change = min(changed, default=len(order))
        for k in list(new):
            lv = level[k]
            if k in row.explicit:
                continue
            if lv > row.level or lv > first_change or (cleared_from is not None and lv >= cleared_from):
                del new[k]
        new.update(row.explicit)
        state = new
        row.state = dict(state)
    # leaves: no deeper row follows under the same parent
    for i, row in enumerate(rows):
        if row.rowtype == "empty" or row.total is not None:
            continue
        j = nxt.get(i)
        is_parent = False
        if j is not None:
            child = rows[j]
            if child.level > row.level:
                is_parent = all(
                    row.state.get(k) == v for k, v in child.explicit.items() if level[k] <= row.level
                )
        if is_parent:
            row.rowtype = "subtotal" if row.has_values else "header"
        else:
            row.rowtype = "leaf"
    return rows


def _total_state(label: str, state: dict[str, Any], level: dict[str, int], other_kind: str) -> dict[str, Any]:
    """The label path a ``… Total`` row sums over (``Albertslund Total`` → kommune Albertslund)."""
    key = _key(label)
    if key in _GRAND_TOTALS:
        return {}
    m = _TOTAL_RE.match(label.strip())
    if m is None:
        return {}
    stem = m["stem"]
    kind, value = _classify(stem, "compact", other_kind)
    if kind not in level:
        return {}
    return {**{k: v for k, v in state.items() if level[k] < level[kind]}, kind: value}


def _split_school(label: str | None) -> tuple[str | None, str | None]:
    """``Den Classenske Legatskole (101001)`` / ``101001 Den …`` → (id, name)."""
    if label is None:
        return None, None
    for pattern in _INST_IN_LABEL:
        m = pattern.match(label)
        if m:
            return m["id"], m["name"].strip()
    return None, label


# --------------------------------------------------------------------------------------
# trivsel pivot
# --------------------------------------------------------------------------------------
@dataclass
class _DataCol:
    """What one data column holds, read off its header cells."""

    col: int
    band: str | None
    year: str | None
    measure: str | None   # 'andel' | 'antal'
    measure_text: str     # what followed Andel/Antal (``samlet indikatorsvar``)
    total: bool


def _data_columns(lay: _Layout) -> list[_DataCol]:
    """Read band / school year / measure off each data column's header cells."""
    raw, name = lay.raw, lay.name
    top = lay.column_labels_row + 1 if lay.column_labels_row is not None else lay.header_row
    header_rows = list(range(top, lay.header_row + 1))
    block = raw.loc[header_rows, lay.data_cols].copy()
    # outer header rows show a label once per group in some downloads: carry it right
    if len(header_rows) > 1:
        block.loc[header_rows[:-1]] = block.loc[header_rows[:-1]].ffill(axis=1)
    cols = []
    for c in lay.data_cols:
        band = year = measure = None
        measure_text = ""
        total = False
        for r in header_rows:
            text = _text(block.at[r, c])
            if text is None:
                continue
            k = _key(text)
            if k in {"values", "vaerdier", "σ values", "σ vaerdier"}:
                continue
            if _is_total(k):
                total = True
                continue
            if (b := _band(k)) is not None:
                if b not in BANDS:
                    raise MinistryFormatError(f"{_where(name, r, c)}: ukendt svarbånd {text!r}")
                band = b
            elif (y := _year(k)) is not None:
                year = y
            elif (m := _measure(text)) is not None:
                measure, measure_text = m["m"], m["rest"].strip()
            else:
                raise MinistryFormatError(f"{_where(name, r, c)}: ukendt kolonneoverskrift {text!r}")
        cols.append(_DataCol(c, band, year, measure, measure_text, total))
    return cols


def _caption_measure(lay: _Layout) -> tuple[str | None, str]:
    """The data-field caption (``Andel Indikatorsvar``) shown left of ``Column Labels``."""
    rows = [lay.column_labels_row, lay.header_row] if lay.column_labels_row is not None else [lay.header_row]
    for r in rows:
        for c, _ in lay.label_cols:
            m = _measure(_text(lay.raw.iat[r, c]) or "")
            if m:
                return m["m"], m["rest"].strip()
    return None, ""


def _indicator(lay: _Layout, measure_texts: set[str]) -> str:
    """Which trivsel indicator the export shows: a filter/slicer ``Indikator``, else the
    measure's own name (``Andel Samlet Indikatorsvar`` → ``samlet indikator``)."""
    chosen = lay.filters.get("indikator")
    if chosen and _key(chosen) not in {"all", "(all)", "alle", "(multiple items)", "(flere elementer)"}:
        return unicodedata.normalize("NFC", chosen).strip().lower()
    specific = {re.sub(r"svar$", "", t).strip() for t in measure_texts} - {"", "indikator"}
    if len(specific) == 1:
        return specific.pop()
    raise MinistryFormatError(
        f"{lay.name}: det fremgår ikke, hvilken trivselsindikator downloaden viser "
        "(intet 'Indikator'-filter eller udsnitsværktøj, og målets navn siger det ikke)"
    )


def _parse_trivsel(lay: _Layout) -> pd.DataFrame:
    """Trivsel pivot → tidy rows (all row types; the caller filters)."""
    cols = _data_columns(lay)
    cap_measure, cap_text = _caption_measure(lay)
    for dc in cols:
        if dc.measure is None:
            dc.measure, dc.measure_text = cap_measure, cap_text
    used = [dc for dc in cols if not dc.total]
    for dc in used:
        if dc.band is None:
            raise MinistryFormatError(
                f"{_where(lay.name, lay.header_row, dc.col)}: kolonnen har intet svarbånd ('1 til 2' …)"
            )
        if dc.measure is None:
            raise MinistryFormatError(
                f"{_where(lay.name, lay.header_row, dc.col)}: kolonnen har intet mål (Andel/Antal)"
            )
    if not used:
        raise MinistryFormatError(f"{lay.name}: ingen kolonner med svarbånd ('1 til 2', '2,1 til 3' …)")
    seen: set[tuple] = set()
    for dc in used:
        k = (dc.year, dc.band, dc.measure)
        if k in seen:
            raise MinistryFormatError(f"{_where(lay.name, lay.header_row, dc.col)}: kolonnen findes to gange {k}")
        seen.add(k)
    indikator = _indicator(lay, {dc.measure_text for dc in used})

    year_filter = lay.filters.get("skoleaar")
    pooled_year = _year(_key(year_filter)) if year_filter else None

    start = lay.header_row + 1
    block = lay.raw.iloc[start:, [dc.col for dc in used]]
    values = _to_float(block, lay.name)
    for j, dc in enumerate(used):
        bad = np.flatnonzero((values[:, j] < 0) | (values[:, j] > 1 + 1e-9)) if dc.measure == "andel" else []
        if len(bad):
            i = int(bad[0])
            raise MinistryFormatError(
                f"{_where(lay.name, start + i, dc.col)}: en andel skal ligge mellem 0 og 1, fandt {values[i, j]!r}"
            )
    has_values = lay.raw.iloc[start:, lay.data_cols].notna().any(axis=1).to_numpy()
    other = "kommune" if any(k == "skolenavn" for _, k in lay.label_cols) else "skolenavn"
    rows = _walk(lay, has_values, other)
    kinds_present = {k for row in rows for k in row.explicit}

    records = []
    keep_idx = []
    for row in rows:
        if row.rowtype in ("empty", "header"):
            continue
        st = row.state
        inst = st.get("institutionsnummer")
        sid, sname = _split_school(st.get("skolenavn"))
        inst = inst or sid
        koen = st.get("koen")
        grade = st.get("klassetrin")
        if row.rowtype == "subtotal":
            rowtype = "subtotal"
        elif (
            (inst is None and sname is None)
            or ("koen" in kinds_present and koen not in ("dreng", "pige"))
            or ("klassetrin" in kinds_present and not isinstance(grade, int))
        ):
            rowtype = "ukendt"
        else:
            rowtype = "leaf"
        records.append({
            "raekke": row.index + 1,
            "raekketype": rowtype,
            "subtotal": row.total if row.total is not None else (
                _text(lay.raw.iat[row.index, lay.label_cols[0][0]]) if rowtype == "subtotal" else None),
            "region": st.get("region"),
            "row_year": st.get("skoleaar"),
            "institutionsnummer": inst,
            "skolenavn": sname,
            "kommune": st.get("kommune"),
            "koen": koen if koen in ("dreng", "pige") else None,
            "klassetrin": grade if isinstance(grade, int) else None,
        })
        keep_idx.append(row.index - start)
    meta = pd.DataFrame.from_records(records, columns=[
        "raekke", "raekketype", "subtotal", "region", "row_year", "institutionsnummer",
        "skolenavn", "kommune", "koen", "klassetrin"])
    vals = values[np.asarray(keep_idx, dtype=int)] if keep_idx else np.empty((0, len(used)))

    # one output row per leaf × (year, band): andel and antal side by side, in sheet order
    pairs: dict[tuple, dict[str, int]] = {}
    for j, dc in enumerate(used):
        pairs.setdefault((dc.year, dc.band), {})[dc.measure] = j
    pairs = dict(sorted(pairs.items(), key=lambda kv: (kv[0][0] or "", BANDS.index(kv[0][1]))))
    n, p = len(meta), len(pairs)
    nan = np.full(n, np.nan)

    def measure_matrix(measure: str) -> np.ndarray:
        return np.column_stack([vals[:, ix[measure]] if measure in ix else nan for ix in pairs.values()])

    andel, antal = measure_matrix("andel"), measure_matrix("antal")
    out = meta.loc[np.repeat(np.arange(n), p)].reset_index(drop=True)
    col_year = np.tile(np.array([y for y, _ in pairs], dtype=object), n)
    row_year = out["row_year"].astype(object).where(out["row_year"].notna(), pooled_year).to_numpy()
    out["skoleaar"] = np.where(pd.isna(col_year), row_year, col_year)
    out["band"] = np.tile(np.array([b for _, b in pairs], dtype=object), n)
    out["andel"] = andel.ravel()
    out["antal"] = antal.ravel()
    out["indikator"] = indikator
    out["klassetrin"] = out["klassetrin"].astype("Int64")
    return out


def read_trivsel_pivot(path: str | Path, sheet: str | int | None = None, *, include_subtotals: bool = False) -> pd.DataFrame:
    """Trivselsmåling by school × køn × klassetrin (answer bands) → tidy rows.

    Reads both downloads: ``Trivsel - samlet indikator - skole - koen - klassetrin.xlsx``
    (all years pooled, ``Skoleår: All`` → ``skoleaar`` missing; shares and counts) and
    ``Trivsel - differentierede indikatorer - …`` (one column block per school year, shares
    only, kommune + ``Hovedinstitution`` columns, the indicator chosen in a slicer).

    Returns one row per school × køn × klassetrin × skoleår × band with columns
    :data:`TRIVSEL_COLUMNS`: ``andel`` is a share 0–1 and ``antal`` a count, both NaN where
    the export shows nothing (suppressed or empty -- never 0).  ``institutionsnummer`` and
    ``kommune`` are missing when the export does not show them; ``region`` is kept because
    the samlet download tells same-named schools apart only by their region.  ``indikator``
    is the lower-cased indicator name as found (``samlet indikator``, ``social trivsel``).

    Only leaves are returned: subtotal rows and rows that cannot be attributed to a school,
    a gender and a grade (``Uoplyst/ukendt``, ``Ukendt``, blank labels) are dropped.  With
    ``include_subtotals=True`` every data row is returned with three extra columns --
    ``raekke`` (Excel row), ``raekketype`` (``leaf`` / ``subtotal`` / ``ukendt``) and
    ``subtotal`` (the subtotal row's label) -- so the export's own totals can be checked
    against the leaves.
    """
    path = Path(path)
    raw = _read_raw(path, sheet)
    lay = _layout(raw, path.name, _slicer_selections(path))
    return _trivsel_frame(lay, include_subtotals)


def _trivsel_frame(lay: _Layout, include_subtotals: bool) -> pd.DataFrame:
    """Shared by the public readers so a sheet already loaded for sniffing is not re-read."""
    out = _parse_trivsel(lay)
    if include_subtotals:
        return out[TRIVSEL_COLUMNS + ["raekke", "raekketype", "subtotal"]]
    out = out[out["raekketype"] == "leaf"]
    return out[TRIVSEL_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Skoletal
# --------------------------------------------------------------------------------------
#: ``Skoletal`` value headers (as keys) → our column, and whether it must be a share 0–1.
_SKOLETAL_MEASURES = {
    "samlet elevfravaer": ("fravaer_andel", True),
    "samlet elevfravaer kommune": ("fravaer_andel_kommune", True),
    "samlet elevfravaer land": ("fravaer_andel_land", True),
    "andel med hoejest trivsel": ("trivsel_hoejest_andel", True),
    "andel med hoejest trivsel kommune": ("trivsel_hoejest_andel_kommune", True),
    "andel med hoejest trivsel land": ("trivsel_hoejest_andel_land", True),
    "elevtal": ("elevtal", False),
}


def read_skoletal(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """``Skoletal.xlsx`` (one pivot row per school × school year) → one row per school × year.

    Columns :data:`SKOLETAL_COLUMNS`.  Shares stay fractions (``0,0798`` → 0.0798); blank →
    NaN.  In the full download the ``Skoleår`` column holds the school year on one row and
    the municipality *code* on the next (the code row is the leaf, the year row its
    identical subtotal); in the trimmed download the ``Kommune`` column holds the
    municipality *name* first and the years below it (there the kommune row is a pooled
    subtotal).  Both are recognised by what the cells look like, not by position.

    The trimmed download has no institution numbers and no absence: those columns are
    missing (None / NaN).  Rows without a school year are dropped (count in
    ``df.attrs['rows_without_year']``); value columns we do not use are listed in
    ``df.attrs['ignored_columns']``.
    """
    path = Path(path)
    raw = _read_raw(path, sheet)
    return _parse_skoletal(_layout(raw, path.name))


def _parse_skoletal(lay: _Layout) -> pd.DataFrame:
    """Skoletal sheet → one row per school × year (the layout is already located)."""
    raw, name = lay.raw, lay.name
    header = {c: _key(raw.iat[lay.header_row, c]) for c in lay.data_cols}
    wanted: dict[str, int] = {}
    ignored = []
    for c, k in header.items():
        if k in _SKOLETAL_MEASURES:
            wanted[_SKOLETAL_MEASURES[k][0]] = c
        else:
            ignored.append(_text(raw.iat[lay.header_row, c]))
    if not wanted:
        raise MinistryFormatError(
            f"{_where(name, lay.header_row)}: ingen kendt Skoletal-kolonne "
            "('Samlet elevfravær', 'Andel med højest trivsel', 'Elevtal')"
        )
    if not any(kind == "mixed" for _, kind in lay.label_cols):
        raise MinistryFormatError(
            f"{_where(name, lay.header_row)}: ingen rækkeetiket-kolonne 'Skoleår' eller 'Kommune' ved 'Row Labels'"
        )
    start = lay.header_row + 1
    order = list(wanted)
    values = _to_float(raw.iloc[start:, [wanted[k] for k in order]], name)
    for j, k in enumerate(order):
        if _SKOLETAL_MEASURES_BY_OUT[k]:
            bad = np.flatnonzero((values[:, j] < 0) | (values[:, j] > 1))
            if len(bad):
                i = int(bad[0])
                raise MinistryFormatError(
                    f"{_where(name, start + i, wanted[k])}: {k} skal være en andel mellem 0 og 1, fandt {values[i, j]!r}"
                )
    has_values = raw.iloc[start:, lay.data_cols].notna().any(axis=1).to_numpy()
    rows = _walk(lay, has_values, "skolenavn")
    if not any("skoleaar" in r.explicit for r in rows):
        raise MinistryFormatError(f"{name}: ingen skoleår ('2018/2019') i rækkeetiketterne")
    recs, idx, no_year = [], [], 0
    for row in rows:
        if row.rowtype != "leaf":
            continue
        st = row.state
        sid, sname = _split_school(st.get("skolenavn"))
        inst = st.get("institutionsnummer") or sid
        if inst is None and sname is None:
            continue
        if st.get("skoleaar") is None:
            no_year += 1
            continue
        recs.append((inst, sname, st.get("kommunekode"), st.get("kommune"), st.get("skoleaar")))
        idx.append(row.index - start)
    out = pd.DataFrame.from_records(recs, columns=["institutionsnummer", "skolenavn", "kommunekode", "kommune", "skoleaar"])
    vals = values[np.asarray(idx, dtype=int)] if idx else np.empty((0, len(order)))
    for j, k in enumerate(order):
        out[k] = vals[:, j]
    for k in SKOLETAL_COLUMNS:
        if k not in out:
            out[k] = np.nan if k not in ("institutionsnummer", "kommunekode", "kommune") else None
    out = out[SKOLETAL_COLUMNS]
    key = ["institutionsnummer" if out["institutionsnummer"].notna().all() else "skolenavn", "kommune", "skoleaar"]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        first = out[dup].iloc[0]
        raise MinistryFormatError(
            f"{name}: skolen {first['institutionsnummer'] or first['skolenavn']!s} står to gange i {first['skoleaar']}"
        )
    out.attrs["rows_without_year"] = no_year
    out.attrs["ignored_columns"] = ignored
    return out


_SKOLETAL_MEASURES_BY_OUT = {out: share for out, share in _SKOLETAL_MEASURES.values()}


# --------------------------------------------------------------------------------------
# nationale_tal
# --------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    """``Støtte og inspiration`` → ``stoette_og_inspiration`` (config.TRIVSEL_INDICATORS keys)."""
    return re.sub(r"[^a-z0-9]+", "_", _key(text)).strip("_")


def band_indicator(indikator: str, band: str) -> str:
    """Name of a band share in ``nationale_tal``: ``<indicator slug>:<band>``.

    Why this spelling: it is what ``demo.py`` writes for the synthetic ``nationale_tal``
    (``faglig_trivsel:1,0-2,0``), so reports read real and demo figures the same way.
    """
    return f"{_slug(indikator)}:{band}"


def to_nationale_tal(df_skoletal: pd.DataFrame | None = None, df_trivsel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Convert parsed ministry tables to the contract table ``nationale_tal``.

    From ``Skoletal`` (one row per school × year):

    * ``fravaer_pct`` -- absence in percent (fraction × 100); ``antal`` = the school's
      ``Elevtal`` at school level, missing for kommune/land (the export has no counts there);
    * ``trivsel_hoejest_andel`` -- share with the highest wellbeing, in percent, ``antal``
      missing (the number of respondents is not in the export);
    * at ``skole`` (kode = institutionsnummer), ``kommune`` (kode = kommunekode, from the
      ``… Kommune`` columns) and ``land`` (kode ``DK``, from ``… Land``).  The municipality
      and country figures repeat on every school's row; they are deduplicated, and if two
      schools disagree about their municipality's figure the table is refused.

    From the trivsel pivot, per school, school year and indicator: the share in each band
    in percent (``<indicator>:<band>``, see :func:`band_indicator`) with ``antal`` = the
    number of answers in that band, pooled over gender and grade as
    sum(band counts) / sum(all counts) over leaf rows only.  A blank band in a leaf row
    counts as zero only if that row's shown shares add up to 100 % (then nothing is hidden);
    if any leaf of the school fails that test, or has no counts, the school gets no pooled
    figure.  Schools are identified by ``institutionsnummer``; if the export lacks it, the
    school name is looked up in ``df_skoletal`` (only names that belong to exactly one
    institution number there and to one school in the export); schools that cannot be
    identified are left out with a :class:`MinistryDataWarning`.

    Rows whose value is missing are not written: an absent row means "not published".
    """
    parts = []
    if df_skoletal is not None:
        parts.append(_nationale_from_skoletal(df_skoletal))
    if df_trivsel is not None:
        parts.append(_nationale_from_trivsel(df_trivsel, df_skoletal))
    return _finish(parts)


def _nationale_from_skoletal(df: pd.DataFrame) -> pd.DataFrame:
    """School rows as they are; kommune/land rows deduplicated (they repeat per school)."""
    missing_id = df["institutionsnummer"].isna()
    if missing_id.any():
        raise MinistryFormatError(
            f"Skoletal: {int(missing_id.sum())} rækker uden institutionsnummer (den forkortede Skoletal-"
            "download har kun skolenavne); nationale_tal kræver den fulde download med institutionsnumre"
        )
    frames = []
    for indikator, col in (("fravaer_pct", "fravaer_andel"), ("trivsel_hoejest_andel", "trivsel_hoejest_andel")):
        school = pd.DataFrame({
            "skoleaar": df["skoleaar"], "niveau": "skole", "kode": df["institutionsnummer"].astype(str),
            "indikator": indikator, "vaerdi": df[col] * 100,
            "antal": df["elevtal"] if indikator == "fravaer_pct" else np.nan,
        })
        frames.append(school)
        for niveau, suffix, kode in (("kommune", "_kommune", df["kommunekode"]), ("land", "_land", "DK")):
            comp = pd.DataFrame({
                "skoleaar": df["skoleaar"], "niveau": niveau, "kode": kode,
                "indikator": indikator, "vaerdi": df[col + suffix] * 100, "antal": np.nan,
            })
            comp = comp[comp["vaerdi"].notna() & comp["kode"].notna()]
            spread = comp.groupby(["skoleaar", "kode"])["vaerdi"].agg(lambda s: s.max() - s.min())
            if (spread > 1e-9).any():
                (year, kode_bad) = spread[spread > 1e-9].index[0]
                raise MinistryFormatError(
                    f"Skoletal: skolerne har forskellige {niveau}stal for {indikator} "
                    f"({kode_bad}, {year}); det rigtige kan ikke vælges"
                )
            frames.append(comp.drop_duplicates(["skoleaar", "kode"]))
    return pd.concat(frames, ignore_index=True)


def _school_ids_from_skoletal(df_skoletal: pd.DataFrame | None) -> dict[str, str]:
    """School name (key) → institutionsnummer, for names that belong to one institution only."""
    if df_skoletal is None or df_skoletal.empty or df_skoletal["institutionsnummer"].isna().all():
        return {}
    pairs = df_skoletal[["skolenavn", "institutionsnummer"]].dropna().drop_duplicates()
    pairs = pairs.assign(k=pairs["skolenavn"].map(_key))
    ids = pairs.groupby("k")["institutionsnummer"].agg(lambda s: sorted(set(s)))
    return {k: v[0] for k, v in ids.items() if len(v) == 1}


def _nationale_from_trivsel(df: pd.DataFrame, df_skoletal: pd.DataFrame | None) -> pd.DataFrame:
    """Pool each school's leaf rows (gender × grade) into band shares; see to_nationale_tal."""
    if df.empty:
        return _empty_nationale()
    lookup = _school_ids_from_skoletal(df_skoletal)
    by_name = df["skolenavn"].map(lambda s: lookup.get(_key(s)) if isinstance(s, str) else None)
    kode = df["institutionsnummer"].astype(object).where(df["institutionsnummer"].notna(), by_name)
    unidentified = _school_names(df[kode.isna()])
    if unidentified:
        warnings.warn(MinistryDataWarning(
            f"trivsel: {len(unidentified)} skoler uden institutionsnummer i downloaden og uden entydigt navn i "
            f"Skoletal udelades: {', '.join(unidentified)}", unidentified), stacklevel=3)
    df = df.assign(kode=kode)[kode.notna()]
    # a name match must not merge two schools: the samlet export has only region + name, and
    # a name that is unique in Skoletal can still be shown in two regions (Nordskolen)
    ident = df[["region", "kommune", "skolenavn"]].astype(object).fillna("").agg("|".join, axis=1)
    by_name_rows = df["institutionsnummer"].isna()
    clash = ident[by_name_rows].groupby(df.loc[by_name_rows, "kode"]).nunique()
    clash = set(clash[clash > 1].index)
    if clash:
        names = _school_names(df[by_name_rows & df["kode"].isin(clash)])
        warnings.warn(MinistryDataWarning(
            f"trivsel: {len(clash)} skolenavne svarer til én institution i Skoletal, men står som forskellige "
            f"skoler i downloaden; de udelades: {', '.join(names)}", names), stacklevel=3)
        df = df[~(by_name_rows & df["kode"].isin(clash))]
    if df.empty:
        return _empty_nationale()
    leaf_keys = ["skoleaar", "indikator", "kode", "skolenavn", "kommune", "region", "koen", "klassetrin"]
    g = df.groupby(leaf_keys, dropna=False, sort=False)
    shown_shares = g["andel"].transform("count")
    share_sum = g["andel"].transform("sum")
    by_share = (shown_shares > 0) & ((share_sum - 1).abs() <= SHARE_SUM_TOLERANCE)
    by_count = g["antal"].transform("count") == len(BANDS)
    share_without_count = (df["andel"].notna() & df["antal"].isna()).groupby(
        [df[k] for k in leaf_keys], dropna=False, sort=False).transform("any")
    df = df.assign(_ok=(by_share | by_count) & ~share_without_count, _n=df["antal"].fillna(0.0))
    school_keys = ["skoleaar", "indikator", "kode"]
    per_band = df.groupby(school_keys + ["band"], dropna=False, sort=False).agg(n=("_n", "sum")).reset_index()
    per_school = df.groupby(school_keys, dropna=False, sort=False).agg(
        total=("_n", "sum"), ok=("_ok", "all")).reset_index()
    res = per_band.merge(per_school, on=school_keys, how="left")
    good = res["ok"].astype(bool) & (res["total"] > 0)
    bad_codes = set(per_school.loc[~per_school["ok"].astype(bool), "kode"])
    if bad_codes:
        names = _school_names(df[df["kode"].isin(bad_codes)])
        warnings.warn(MinistryDataWarning(
            f"trivsel: {len(bad_codes)} skoler har diskretionerede, tomme eller antal-løse rækker og får ingen "
            f"samlede svarbånd: {', '.join(names)}", names), stacklevel=3)
    return pd.DataFrame({
        "skoleaar": res["skoleaar"].astype(object).where(res["skoleaar"].notna(), None),
        "niveau": "skole",
        "kode": res["kode"].astype(str),
        "indikator": [band_indicator(i, b) for i, b in zip(res["indikator"], res["band"])],
        "vaerdi": np.where(good, res["n"] / res["total"].where(res["total"] > 0) * 100, np.nan),
        "antal": np.where(good, res["n"], np.nan),
    })


def _school_names(rows: pd.DataFrame) -> list[str]:
    """Each school in ``rows`` once, as a reader finds it: 'Nordskolen (Haderslev)' or 'Nordskolen (Region
    Syddanmark)', with its institution number when it has one; sorted."""
    out = set()
    for r in rows.drop_duplicates(["skolenavn", "kommune", "region", "institutionsnummer"]).itertuples():
        where = next((str(w) for w in (r.kommune, r.region) if isinstance(w, str) and w.strip()), None)
        inst = r.institutionsnummer if isinstance(r.institutionsnummer, str) else None
        extra = ", ".join(x for x in (inst, where) if x)
        out.add(f"{r.skolenavn or '(uden navn)'}" + (f" ({extra})" if extra else ""))
    return sorted(out)


def _empty_nationale() -> pd.DataFrame:
    """An empty ``nationale_tal`` with the contract's columns and dtypes (for concat/tests)."""
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("vaerdi", "antal") else object)
                         for c in NATIONALE_TAL_COLUMNS})


def _finish(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, drop unpublished (missing) values, sort land → kommune → skole."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_nationale()
    out = pd.concat(parts, ignore_index=True)
    out = out[out["vaerdi"].notna()]
    order = out["niveau"].map({"land": 0, "kommune": 1, "skole": 2})
    out = (out.assign(_o=order)
              .sort_values(["_o", "kode", "skoleaar", "indikator"], kind="stable", na_position="first")
              .drop(columns="_o").reset_index(drop=True))
    out["vaerdi"] = out["vaerdi"].astype(float)
    out["antal"] = out["antal"].astype(float)
    return out[NATIONALE_TAL_COLUMNS]


# --------------------------------------------------------------------------------------
# sniffing
# --------------------------------------------------------------------------------------
def sniff_layout(path: str | Path, sheet: str | int | None = None) -> str:
    """Which ministry layout a download is, by its labels: ``"trivsel"`` or ``"skoletal"``.

    Why by labels: file names are changed by users; the header cells are not.  Raises
    :class:`MinistryFormatError` for anything else.
    """
    path = Path(path)
    return _sniff(_read_raw(path, sheet), path.name)[0]


def _sniff(raw: pd.DataFrame, name: str, slicers: dict[str, str] | None = None) -> tuple[str, _Layout]:
    """:func:`sniff_layout` on a loaded sheet, also returning the located layout."""
    lay = _layout(raw, name, slicers)
    top = lay.column_labels_row + 1 if lay.column_labels_row is not None else lay.header_row
    texts = {t for v in raw.iloc[top:lay.header_row + 1, lay.data_cols].to_numpy().ravel() if (t := _text(v))}
    header_keys = {_key(t) for t in texts}
    if any(_band(k) for k in header_keys):
        return "trivsel", lay
    if header_keys & set(_SKOLETAL_MEASURES):
        return "skoletal", lay
    shown = sorted(texts)[:5]
    raise MinistryFormatError(
        f"{name}: ukendt download-layout: kolonneoverskrifterne {shown} er hverken svarbånd "
        "('1 til 2' …) eller Skoletal-mål ('Samlet elevfravær', 'Andel med højest trivsel')"
    )


def read_ministry_export(path: str | Path, sheet: str | int | None = None,
                         *, skoletal: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read any supported ministry download and return it as ``nationale_tal`` rows.

    The layout is recognised by its labels (:func:`sniff_layout`), then the file goes through
    :func:`read_skoletal` or :func:`read_trivsel_pivot` and :func:`to_nationale_tal`.

    A trivsel download yields ``skole`` rows only.  Without institution numbers in it, pass
    ``skoletal`` (a :func:`read_skoletal` frame) to identify its schools by name -- it is
    used as a lookup only, its own figures are not added.  A download with shares but no
    counts (``differentierede indikatorer``) cannot be pooled over gender and grade and
    gives no rows (with a :class:`MinistryDataWarning`).
    """
    path = Path(path)
    raw = _read_raw(path, sheet)
    kind, lay = _sniff(raw, path.name, _slicer_selections(path))
    if kind == "skoletal":
        return to_nationale_tal(df_skoletal=_parse_skoletal(lay))
    trivsel = _trivsel_frame(lay, include_subtotals=False)
    return _finish([_nationale_from_trivsel(trivsel, skoletal)])
