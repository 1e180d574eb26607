"""One table: read its file, map its headers, parse its values."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..validate import Report
from .headers import canonical, normalise_header

if TYPE_CHECKING:
    from .duck import BigFile
from .readers import ReadError, read_file
from .sources import Source
from .tables import HEADERS_FILE, REQUIRED_TABLES, SOURCES_FILE, TABLES
from .values import _parse_values

@dataclass
class Loaded:
    table: str
    file: str
    frame: pd.DataFrame
    rows: pd.Series  # the row number a user sees for each frame row
    raw: pd.DataFrame | None = None  # the values as read, for messages
    big: "BigFile | None" = None  # a big table left on disk (``duck``): then frame and rows are None


#: What one row of each table is, for the message on a table without rows.
ROWS_OF = {
    "skoler": "én række pr. skole",
    "elever": "én række pr. elev og skoleår",
    "kortlaegning_svar": "én række pr. svar",
    "kortlaegning_spoergsmaal": "én række pr. spørgsmål",
    "fravaer": "én række pr. elev, dag og fraværstype",
    "skoledage": "én række pr. skole og skoledag",
    "nationale_tal": "én række pr. tal (skoleår, niveau, kode, indikator)",
}


def load_table(source: Source | None, table: str, raw_folder: Path, report: Report,
               mapping: dict[str, str]) -> Loaded | None:
    """Read one table, map its headers, parse its values; problems go into ``report``."""
    required, optional = TABLES[table]
    if source is None:
        if table in REQUIRED_TABLES:
            report.add("missing_file", f"{table}.csv", "-", "-", "ingen fil",
                       f"en fil {table}.csv, {table}.xlsx eller {table}.parquet i {raw_folder} "
                       f"(eller en linje '{table}: <fil>' i {SOURCES_FILE})")
        return None
    name = source.name
    try:
        got = read_file(source.path, source.sheet, table, mapping)
    except ReadError as exc:
        report.add("unreadable", name, exc.row, "-", exc.value, exc.expected)
        return None
    if got.sheet is not None and (source.sheet is not None or got.n_sheets > 1):
        name = f"{name} [ark {got.sheet}]"
    for rule, value, expected in got.notes:
        if not rule.startswith("_"):
            report.add(rule, name, "-", "-", value, expected)
    frame = got.frame
    renamed: dict[str, str] = {}
    unknown = []
    exact = {col for col in frame.columns if normalise_header(col) in required + optional}
    for col in sorted(frame.columns, key=lambda c: c not in exact):  # 'Fraværstype' wins over 'Type'
        c = canonical(col, table, mapping)
        if c is not None and c not in renamed.values():
            renamed[col] = c
        elif not str(col).startswith("(uden navn"):
            unknown.append((col, c))
    unknown.sort(key=lambda u: list(frame.columns).index(u[0]))
    header_row = got.header_row
    for col, c in unknown:
        why = (f"kolonnen '{c}' findes allerede (som '{next(k for k, v in renamed.items() if v == c)}')" if c
               else f"en af kolonnerne {', '.join(required + optional)} (eller en linje i {HEADERS_FILE})")
        report.add("unknown_column", name, header_row, str(col), str(col), f"{why}; kolonnen ignoreres")
    frame = frame.rename(columns=renamed)
    missing = [c for c in required if c not in frame.columns]
    spare = [str(col) for col, c in unknown if c is None]
    for c in missing:
        found = ", ".join(map(str, got.frame.columns))
        close = difflib.get_close_matches(c, [normalise_header(h) for h in spare], n=1, cutoff=0.5)
        hint = next((h for h in spare if close and normalise_header(h) == close[0]), None)
        how = (f"hedder den '{hint}', så skriv '{hint}: {c}' i {HEADERS_FILE}" if hint
               else f"andre navne kan oversættes i {HEADERS_FILE}")
        report.add("missing_column", name, header_row, c, found[:200] or "(ingen kolonner)",
                   f"en kolonne '{c}' (kolonnerne i {table}: {', '.join(required)}; {how})")
    if frame.empty:
        how = ("er udtrækket tomt, eller filtreret forkert?" if table in REQUIRED_TABLES
               else "eller slet filen, hvis I ikke har data til tabellen")
        report.add("empty_table", name, "-", "-", "kun overskriften, ingen rækker",
                   f"{ROWS_OF[table]} ({how})")
        return None
    if missing:
        return None
    cols = [c for c in required + optional if c in frame.columns]
    rawf = frame[cols].reset_index(drop=True)
    parsed = _parse_values(table, rawf, name, got.rows, report)
    return Loaded(table, name, parsed, got.rows, rawf)
