"""Reading a file as found: CSV (sniffed dialect and encoding), Excel, Parquet."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ReadError, io_problem
from .headers import HEADER_SYNONYMS, canonical, normalise_header
from .tables import EXCEL, UNSUPPORTED

#: UTF-8 read as Windows-1252 somewhere upstream: 'Ã¸' for 'ø', 'Ã˜' for 'Ø', 'Ã…' for 'Å'.
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                       "\u2013-\u203a\u20ac\u2122]")


def detect_encoding(data: bytes) -> str:
    """'utf-32'/'utf-16' (with BOM), 'utf-8' (with or without BOM), else 'cp1252' (or 'latin-1')."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else Windows-1252 — never silently mangled."""
    try:
        text = data.decode(detect_encoding(data))
    except UnicodeDecodeError:  # a BOM followed by bytes that are not that encoding
        raise ReadError("-", "en fil, der begynder som Unicode-tekst (BOM), men ikke kan afkodes",
                        SAVE_AS_CSV) from None
    return text[1:] if text.startswith("\ufeff") else text


# --- what a file really is -----------------------------------------------------------------
SAVE_AS_CSV = ("en CSV-fil (tekst): åbn tabellen i Excel og gem den som 'CSV UTF-8 (kommasepareret)' "
               "eller 'CSV (semikolonsepareret)'")
#: Leading bytes of files that are no text export.
_SIGNATURES = (
    (b"%PDF", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"PAR1", "parquet"),
    (b"{\\rtf", "rtf"),
)
KIND_TEXT = {
    "pdf": "en PDF-fil",
    "zip": "en zip-fil (fx en Excel-projektmappe, .xlsx)",
    "ole": "det gamle Excel-format (.xls) eller et Word-dokument",
    "parquet": "en Parquet-fil",
    "rtf": "et RTF-dokument (Word/WordPad)",
    "html": "en HTML- eller XML-side (fx 'Gem som webside', eller en login- eller fejlside fra en download)",
    "utf16_nobom": "tekst i UTF-16 uden BOM (byte-rækkefølgemærke)",
    "binary": "en binær fil (ikke tekst)",
    "text": "en tekstfil (CSV)",
}


def sniff_kind(data: bytes) -> str:
    """What a file's bytes are: a key of ``KIND_TEXT`` ('text' for anything readable as text)."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        nul_even, nul_odd = even.count(0) / max(len(even), 1), odd.count(0) / max(len(odd), 1)
        if (nul_odd > 0.3 and nul_even < 0.05) or (nul_even > 0.3 and nul_odd < 0.05):
            return "utf16_nobom"  # ASCII letters with a zero byte beside each one
        return "binary"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table", b"<head")):
        return "html"
    control = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13, 26))
    if control > max(len(head) // 20, 2):
        return "binary"
    return "text"


def _not_a(kind: str, expected_format: str) -> ReadError:
    """The error for a file that is ``kind`` where ``expected_format`` ('csv', 'xlsx', 'parquet') was due."""
    rename = {"zip": ".xlsx", "parquet": ".parquet", "text": ".csv"}.get(kind)
    if expected_format == "csv":
        if kind == "utf16_nobom":
            return ReadError("-", KIND_TEXT[kind], "tekst i UTF-8 (eller UTF-16 med BOM): gem filen igen som "
                             "'CSV UTF-8 (kommasepareret)'")
        how = SAVE_AS_CSV + (f", eller omdøb filen til {rename}, hvis den er det" if rename else "")
        return ReadError("-", KIND_TEXT[kind], how)
    target = {"xlsx": "en Excel-projektmappe (.xlsx)", "parquet": "en Parquet-fil"}[expected_format]
    how = ("en .xlsx-fil gemt fra Excel: åbn filen og gem den som 'Excel-projektmappe (.xlsx)' eller 'CSV UTF-8'"
           if expected_format == "xlsx" else "en Parquet-fil: eksportér tabellen igen (eller som CSV UTF-8 eller .xlsx)")
    if rename and rename != f".{expected_format}":
        how += f", eller omdøb filen til {rename}, hvis den er det"
    return ReadError("-", f"{KIND_TEXT[kind]}, ikke {target}", how)


# --- reading the bytes -----------------------------------------------------------------------
def read_bytes(path: Path) -> bytes:
    """The file's bytes; ``ReadError`` (in Danish) if the system will not give them."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ReadError("-", *io_problem(exc)) from None


def sniff_separator(text: str) -> str:
    """The separator that splits the header and the first rows into the same number of fields.

    Quoted fields are honoured (``"1,5"`` in a comma file); ties go to ``;`` (the Danish
    Excel default).
    """
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    best, best_score = ";", (-1.0, 0)
    with _no_field_limit():
        for sep in (";", ",", "\t", "|"):
            rows = list(csv.reader(lines, delimiter=sep, quotechar='"'))
            if not rows or len(rows[0]) < 2:
                continue
            width = len(rows[0])
            rest = rows[1:] or rows
            score = (sum(len(r) == width for r in rest) / len(rest), width)
            if score > best_score:
                best, best_score = sep, score
    return best


@contextmanager
def _no_field_limit():
    """Python's csv module refuses fields over 128 KiB; a real export can hold one (a long text)."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


@dataclass
class RawFile:
    """A file as read: values as found (strings from CSV; typed cells from Excel/Parquet)."""

    frame: pd.DataFrame
    rows: pd.Series  # the row number the user sees for each frame row
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, value, expected) warnings
    sheet: str | None = None  # the Excel sheet read
    n_sheets: int = 0
    header_row: int | str = 1  # where the header is, as the user sees it ('-' for Parquet)


def csv_problem(text: str, sep: str, first_line: int) -> ReadError:
    """Why pandas could not split ``text`` into rows, found again with Python's csv reader.

    In the user's line numbers (``first_line`` is the header's line) and in Danish: a row with
    more fields than the header, or a quote that is never closed.  pandas' own message (English,
    its own row count) is never shown.
    """
    with _no_field_limit():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"')
        width, start = None, first_line
        try:
            for record in reader:
                if width is None:
                    width = len(record)
                elif len(record) > width:
                    return ReadError(start, f"{len(record)} felter",
                                     f"{width} felter som overskriften (tekst med '{sep}' skal stå i anførselstegn)")
                start = first_line + reader.line_num
        except csv.Error:
            pass
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', strict=True)
        start = first_line
        try:
            for _ in reader:
                start = first_line + reader.line_num
        except csv.Error as exc:
            if "end of data" in str(exc):
                return ReadError(start, 'et anførselstegn (") der ikke lukkes',
                                 'tekst i anførselstegn, der slutter med et anførselstegn i samme felt (fx "Skole; '
                                 'afd. Nord"): ret rækken, eller fjern anførselstegnet')
    return ReadError("-", "en CSV-fil, der ikke kan deles op i rækker og felter",
                     f"en CSV-fil med '{sep}' som skilletegn og tekst med skilletegn i anførselstegn")


def _csv_header(text: str, sep: str, parsed: list) -> list[str]:
    """The header as the user wrote it: pandas renames a repeated 'Køn' to 'Køn.1' and a blank one to
    'Unnamed: 3'; we keep 'Køn' (made unique as in Excel) and call a blank one '(uden navn, kolonne 4)'."""
    with _no_field_limit():
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"'), None)
        except csv.Error:
            first = None
    if first is None or len(first) != len(parsed):
        return [str(c) for c in parsed]
    return _unique_names([h.strip() or f"(uden navn, kolonne {i + 1})" for i, h in enumerate(first)])


def _read_csv(path: Path) -> RawFile:
    data = read_bytes(path)
    if not data.strip():
        raise ReadError("-", "en tom fil", "en overskriftslinje og data")
    kind = sniff_kind(data)
    if kind != "text":
        raise _not_a(kind, "csv")
    encoding = detect_encoding(data)
    text = decode(data)
    notes = []
    if _MOJIBAKE.search(text[:200_000]):
        sample = _MOJIBAKE.search(text).group(0)
        notes.append(("encoding", f"'{sample}' i teksten",
                      "æ, ø og å; filen er sikkert gemt som UTF-8 og åbnet som Windows-1252 undervejs – "
                      "eksportér den igen"))
    skipped = 0
    m = re.match(r"sep=(.)\r?\n", text)
    if m:
        sep, text, skipped = m.group(1), text[m.end():], 1
    else:
        sep = sniff_separator(text)
    if not text.strip():
        raise ReadError("-", "ingen overskrift", "en overskriftslinje og data")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quotechar='"',
                            skip_blank_lines=False)
    except pd.errors.ParserError:
        raise csv_problem(text, sep, 1 + skipped) from None
    except pd.errors.EmptyDataError:
        raise ReadError("-", "ingen overskrift", "en overskriftslinje og data") from None
    frame.columns = _csv_header(text, sep, list(frame.columns))
    header_lines = 1 + skipped + sum(str(c).count("\n") for c in frame.columns)
    extra = np.zeros(len(frame), dtype=int)
    if '"' in text and len(frame):
        for col in frame.columns:
            extra += frame[col].str.count("\n").fillna(0).to_numpy(dtype=int)
    starts = header_lines + 1 + np.arange(len(frame)) + np.concatenate([[0], np.cumsum(extra)[:-1]]) if len(frame) \
        else np.array([], dtype=int)
    blank = _all_blank(frame)
    frame = frame[~blank].reset_index(drop=True)
    notes += [("_encoding", encoding, sep)]
    return RawFile(frame, pd.Series(starts[~blank]), notes, header_row=1 + skipped)


def _all_blank(frame: pd.DataFrame) -> np.ndarray:
    if frame.empty:
        return np.zeros(len(frame), dtype=bool)
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        s = frame[col]
        blank &= (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
    return blank


def _cell(v):
    """An Excel cell as a Python value: integral floats → int, dates → Timestamp, bools → ja/nej."""
    if isinstance(v, bool):
        return "ja" if v else "nej"
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    if isinstance(v, (dt.datetime, dt.date)):
        return pd.Timestamp(v)
    if isinstance(v, dt.time):
        return str(v)
    if isinstance(v, str):
        return v if v.strip() else None
    return v


BROKEN_XLSX = ("en .xlsx-fil gemt fra Excel; åbn den og gem den igen som 'Excel-projektmappe (.xlsx)' "
               "eller som CSV")


def _read_xlsx(path: Path, sheet: str | int | None, table: str | None, mapping: dict[str, str]) -> RawFile:
    from openpyxl import load_workbook

    data = read_bytes(path)
    if not data.strip():
        raise ReadError("-", "en tom fil", "en Excel-projektmappe med en overskriftsrække og data")
    if not data.startswith(b"PK\x03\x04"):
        raise _not_a(sniff_kind(data), "xlsx")
    # openpyxl fails in many ways on a damaged or foreign zip file (BadZipFile, KeyError, XML
    # errors, ...): every one of them is a problem with the user's file, not with this program.
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001
        raise ReadError("-", "en zip-fil, der ikke kan åbnes som Excel-projektmappe (beskadiget, eller et "
                        "andet dokument med endelsen .xlsx)", BROKEN_XLSX) from None
    try:
        names = list(wb.sheetnames)
        name = _pick_sheet(names, sheet, table)
        if name is None:
            raise ReadError("-", f"intet ark '{sheet}'", f"et af arkene {', '.join(repr(n) for n in names)}")
        ws = wb[name]
        try:
            ws.reset_dimensions()  # some exporters write a wrong sheet size; read every row
            grid = [tuple(_cell(v) for v in r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
        except Exception:  # noqa: BLE001 - see above: a damaged sheet
            raise ReadError("-", f"arket '{name}' kan ikke læses (filen er beskadiget)", BROKEN_XLSX) from None
    finally:
        wb.close()
    width = max((len(r) for r in grid), default=0)
    grid = [tuple(r) + (None,) * (width - len(r)) for r in grid]
    nonblank = [i for i, r in enumerate(grid) if any(v is not None for v in r)]
    if not nonblank:
        raise ReadError("-", f"arket '{name}' er tomt", "en overskriftsrække og data")
    header_i = nonblank[0]
    if table is not None:  # title rows above the header: take the first row with the most known names
        scores = [(sum(canonical(v, table, mapping) is not None for v in grid[i] if v is not None), i)
                  for i in nonblank[:20]]
        top = max(s for s, _ in scores)
        if top > 0:
            header_i = next(i for s, i in scores if s == top)
    header = list(grid[header_i])
    body = grid[header_i + 1:]
    keep_cols = [j for j, h in enumerate(header) if h is not None or any(r[j] is not None for r in body)]
    columns, seen = [], set()
    for j in keep_cols:
        h = str(header[j]).strip() if header[j] is not None else f"(uden navn, kolonne {_col_letter(j)})"
        while h in seen:
            h += " "
        seen.add(h)
        columns.append(h)
    frame = pd.DataFrame([[r[j] for j in keep_cols] for r in body], columns=columns, dtype=object)
    rows = pd.Series(np.arange(len(body)) + header_i + 2)
    blank = _all_blank(frame)
    return RawFile(frame[~blank].reset_index(drop=True), rows[~blank].reset_index(drop=True), sheet=name,
                   n_sheets=len(names), header_row=header_i + 1)


def _col_letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _pick_sheet(names: list[str], sheet: str | int | None, table: str | None) -> str | None:
    """The named sheet (exact, then compared like a header), else one named after the table, else the first."""
    if sheet is not None:
        if isinstance(sheet, int):
            return names[sheet] if 0 <= sheet < len(names) else None
        if sheet in names:
            return sheet
        match = [n for n in names if normalise_header(n) == normalise_header(sheet)]
        return match[0] if len(match) == 1 else None
    if table is not None:
        match = [n for n in names if normalise_header(n) == table]
        if len(match) == 1:
            return match[0]
    return names[0] if names else None


def _read_parquet(path: Path) -> RawFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = read_bytes(path)
    if not data.strip():
        raise ReadError("-", "en tom fil", "en Parquet-fil med data")
    if not data.startswith(b"PAR1"):
        raise _not_a(sniff_kind(data), "parquet")
    try:  # any reader failure here is a damaged file, not a bug
        table = pq.read_table(pa.BufferReader(data))
        for i, f in enumerate(table.schema):
            if pa.types.is_date(f.type):  # dates as datetime64, not 8 M Python date objects
                table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("ms")))
        nested = [i for i, f in enumerate(table.schema) if pa.types.is_nested(f.type) or pa.types.is_binary(f.type)
                  or pa.types.is_large_binary(f.type) or pa.types.is_dictionary(f.type)]
        frame = table.to_pandas()
    except Exception:  # noqa: BLE001
        raise ReadError("-", "en beskadiget eller ufuldstændig Parquet-fil",
                        "en Parquet-fil, der er skrevet helt færdig: eksportér tabellen igen") from None
    frame.columns = _unique_names([str(c) for c in frame.columns])
    for i in nested:  # lists, structs and bytes cannot be compared or hashed: read them as text
        col = frame.iloc[:, i]
        frame[frame.columns[i]] = col.map(lambda v: None if v is None or v is pd.NA else str(v)).astype(object)
    return RawFile(frame, pd.Series(np.arange(len(frame)) + 1), header_row="-")


def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique as in the Excel reader (a trailing space per repeat)."""
    out, seen = [], set()
    for h in names:
        while h in seen:
            h += " "
        seen.add(h)
        out.append(h)
    return out


def read_file(path: Path, sheet: str | int | None = None, table: str | None = None,
              mapping: dict[str, str] | None = None) -> RawFile:
    """Read a CSV/Excel/Parquet file as found (``ReadError`` if it cannot be read)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in UNSUPPORTED:
        raise ReadError("-", UNSUPPORTED[suffix], "en .xlsx-, CSV- eller Parquet-fil: åbn filen og gem den som "
                        "'Excel-projektmappe (.xlsx)' eller 'CSV (semikolonsepareret)'")
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix in EXCEL:
        return _read_xlsx(path, sheet, table, mapping or HEADER_SYNONYMS)
    return _read_csv(path)


def read_any(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    """The values of a CSV/Excel/Parquet file (CSV cells as strings, Excel cells typed)."""
    return read_file(Path(path), sheet).frame
