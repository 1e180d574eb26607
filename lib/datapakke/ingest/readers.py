"""Reading a file as found: CSV (sniffed dialect and encoding), Excel, Parquet."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .headers import HEADER_SYNONYMS, canonical, normalise_header
from .tables import EXCEL, UNSUPPORTED

#: UTF-8 read as Windows-1252 somewhere upstream: 'Ã¸' for 'ø', 'Ã˜' for 'Ø', 'Ã…' for 'Å'.
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                       "\u2013-\u203a\u20ac\u2122]")


def detect_encoding(data: bytes) -> str:
    """'utf-16' (with BOM), 'utf-8' (with or without BOM), else 'cp1252' (or 'latin-1')."""
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
    text = data.decode(detect_encoding(data))
    return text[1:] if text.startswith("\ufeff") else text


def sniff_separator(text: str) -> str:
    """The separator that splits the header and the first rows into the same number of fields.

    Quoted fields are honoured (``"1,5"`` in a comma file); ties go to ``;`` (the Danish
    Excel default).
    """
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    best, best_score = ";", (-1.0, 0)
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


class ReadError(Exception):
    """A file that cannot be read: where (row), what was found and what was expected."""

    def __init__(self, row, value: str, expected: str):
        super().__init__(value)
        self.row, self.value, self.expected = row, value, expected


@dataclass
class RawFile:
    """A file as read: values as found (strings from CSV; typed cells from Excel/Parquet)."""

    frame: pd.DataFrame
    rows: pd.Series  # the row number the user sees for each frame row
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, value, expected) warnings
    sheet: str | None = None  # the Excel sheet read
    n_sheets: int = 0
    header_row: int | str = 1  # where the header is, as the user sees it ('-' for Parquet)


def _read_csv(path: Path) -> RawFile:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError("-", "en tom fil", "en overskriftslinje og data")
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
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quotechar='"',
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        saw = re.search(r"Expected (\d+) fields.*saw (\d+)", str(exc))
        row = int(line.group(1)) + skipped if line else "-"
        found = f"{saw.group(2)} felter" if saw else str(exc).strip()[:120]
        expected = (f"{saw.group(1)} felter som overskriften (tekst med '{sep}' skal stå i anførselstegn)"
                    if saw else f"en CSV-fil med '{sep}' som skilletegn")
        raise ReadError(row, found, expected) from None
    except pd.errors.EmptyDataError:
        raise ReadError("-", "ingen overskrift", "en overskriftslinje og data") from None
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


def _read_xlsx(path: Path, sheet: str | int | None, table: str | None, mapping: dict[str, str]) -> RawFile:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ReadError("-", f"ikke en gyldig Excel-fil ({type(exc).__name__}: {str(exc)[:80]})",
                        "en .xlsx-fil gemt fra Excel; åbn den og gem den igen som 'Excel-projektmappe (.xlsx)' "
                        "eller som CSV") from None
    try:
        names = list(wb.sheetnames)
        name = _pick_sheet(names, sheet, table)
        if name is None:
            raise ReadError("-", f"intet ark '{sheet}'", f"et af arkene {', '.join(repr(n) for n in names)}")
        ws = wb[name]
        ws.reset_dimensions()  # some exporters write a wrong sheet size; read every row
        grid = [tuple(_cell(v) for v in r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
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

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem for the user
        raise ReadError("-", f"ikke en gyldig Parquet-fil ({type(exc).__name__})", "en Parquet-fil") from None
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):  # dates as datetime64, not 8 M Python date objects
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("ms")))
    frame = table.to_pandas()
    return RawFile(frame, pd.Series(np.arange(len(frame)) + 1), header_row="-")


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
