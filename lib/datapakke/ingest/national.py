"""The ministry's downloads (Uddannelsesstatistik) in the raw folder → ``nationale_tal`` rows."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate import Report
from .errors import io_problem
from .load import Loaded
from .sources import _data_files
from .tables import EXCEL, MINISTRY_DIR, SOURCES_FILE, TABLES

def _ministry_candidates(raw: Path, used: set[Path]) -> list[tuple[Path, bool]]:
    """(path, explicit): every ``raw/nationale/*.xlsx`` (explicit) and unused top-level ``*.xlsx``."""
    raw = Path(raw)
    out: list[tuple[Path, bool]] = []
    folder = raw / MINISTRY_DIR
    if folder.is_dir():
        out += [(p, True) for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in EXCEL and not p.name.startswith((".", "~$"))]
    out += [(p, False) for p in _data_files(raw) if p.suffix.lower() in EXCEL and p.resolve() not in used]
    return out


def _label(raw: Path, path: Path) -> str:
    try:
        return str(path.relative_to(raw))
    except ValueError:
        return path.name


def _problem(exc: Exception) -> str:
    """The ministry reader's own (Danish) message, or what the system said about the file."""
    return io_problem(exc)[0] if isinstance(exc, OSError) else str(exc)[:300]


def read_ministry_files(raw: Path, used: set[Path], report: Report) -> tuple[pd.DataFrame | None, list[Path]]:
    """Uddannelsesstatistik downloads in the raw folder → ``nationale_tal`` rows.

    Files under ``raw/nationale/`` must be readable ministry downloads (else an error); a
    loose ``*.xlsx`` that is neither a table nor a recognised download is only a warning.
    Skoletal files are read first: their institution numbers identify the schools of a
    trivsel download that only has school names.  Returns the rows (or None) and the files
    that were used.
    """
    from .. import ministry

    folder = Path(raw) / MINISTRY_DIR
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() not in EXCEL and not p.name.startswith((".", "~$")):
                report.add("unknown_file", _label(raw, p), "-", "-", f"en {p.suffix or 'fil'}-fil",
                           "Uddannelsesstatistiks Excel-downloads (.xlsx); filen bruges ikke")
    candidates = _ministry_candidates(raw, used)
    if not candidates:
        return None, []
    kinds: dict[Path, str] = {}
    for path, explicit in candidates:
        try:
            kinds[path] = ministry.sniff_layout(path)
        except Exception as exc:  # noqa: BLE001 - MinistryFormatError, or a file that is no workbook
            if explicit:
                report.add("ministry_unreadable", _label(raw, path), "-", "-", _problem(exc),
                           "en Excel-download fra Uddannelsesstatistik (Skoletal med institutionsnummer, "
                           "eller trivsel pr. skole, køn og klassetrin)")
            else:
                report.add("unknown_file", _label(raw, path), "-", "-", "hverken en tabel eller en download",
                           f"et tabelnavn ({', '.join(TABLES)}), en linje i {SOURCES_FILE}, "
                           f"eller en Uddannelsesstatistik-download (læg den i {MINISTRY_DIR}/)")
    parts: list[pd.DataFrame] = []
    lookups: list[pd.DataFrame] = []
    used_files: list[Path] = []
    order = [p for p, _ in candidates if kinds.get(p) == "skoletal"] + \
            [p for p, _ in candidates if kinds.get(p) == "trivsel"]
    for path in order:
        label = _label(raw, path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if kinds[path] == "skoletal":
                    df = ministry.read_skoletal(path)
                    rows = ministry.to_nationale_tal(df_skoletal=df)  # = read_ministry_export, keeping df
                    lookups.append(df)
                else:
                    lookup = pd.concat(lookups, ignore_index=True) if lookups else None
                    rows = ministry.read_ministry_export(path, skoletal=lookup)
            except Exception as exc:  # noqa: BLE001 - the ministry reader names file and label
                report.add("ministry_unreadable", label, "-", "-", _problem(exc),
                           "en Skoletal-download med institutionsnummer (den fulde udgave), eller en "
                           "trivsel-download pr. skole, køn og klassetrin")
                continue
        for w in caught:
            if issubclass(w.category, ministry.MinistryDataWarning):
                report.add("ministry_note", label, "-", "-", str(w.message),
                           "skoler, der kan genkendes (institutionsnummer, eller et entydigt navn i en "
                           "Skoletal-download); de nævnte får ingen tal fra denne fil")
        parts.append(rows.assign(_fil=label))
        used_files.append(path)
    if not parts:
        return None, used_files
    return pd.concat(parts, ignore_index=True), used_files


KEY = ["skoleaar", "niveau", "kode", "indikator"]


def _num(v: float) -> str:
    """A figure as a Dane writes it: 3,75 (no trailing zeros, decimal comma)."""
    return "tom" if pd.isna(v) else f"{v:.10g}".replace(".", ",")


def _decimals(v: float) -> int:
    """How many decimals a typed figure has (3,7 → 1; 12 → 0), at most 6."""
    for d in range(7):
        if abs(round(v, d) - v) < 1e-9:
            return d
    return 6


def _combine_national(csv_part: Loaded | None, ministry_rows: pd.DataFrame | None, files: list[Path],
                      raw: Path, report: Report) -> Loaded | None:
    """One value per figure (skoleaar, niveau, kode, indikator): ``nationale_tal`` first, then the downloads.

    * the same figure twice with the same value is kept once (a download in two places, a
      copied row); a blank value gives way to a filled one;
    * two values for one figure in your own table is a ``duplicate`` error naming both rows;
    * your table and a download (or two downloads) disagreeing is a ``nationale_conflict``
      error: which one is right cannot be decided here, and a silently chosen figure would
      be printed on a school's page.  Your figure counts as the download's when it is the
      download's rounded to the decimals you wrote (3,7 for 3,7234).
    """
    if csv_part is None and (ministry_rows is None or ministry_rows.empty):
        return None
    cols = list(TABLES["nationale_tal"][0]) + ["antal"]
    parts, rows = [], []
    if csv_part is not None:
        own = csv_part.frame.reindex(columns=cols).assign(_fil=csv_part.file)
        own["antal"] = own["antal"].astype(float)
        parts.append(own)
        rows.append(csv_part.rows.astype(object))
    if ministry_rows is not None and not ministry_rows.empty:
        m = ministry_rows.reindex(columns=cols + ["_fil"])
        for c in KEY:
            m[c] = m[c].astype("str")
        m["vaerdi"], m["antal"] = m["vaerdi"].astype(float), m["antal"].astype(float)
        parts.append(m)
        rows.append(pd.Series(["-"] * len(m), dtype=object))
    both = pd.concat(parts, ignore_index=True)
    row_of = pd.concat(rows, ignore_index=True)
    own_file = csv_part.file if csv_part is not None else None
    k = both[KEY].astype(object).fillna("")
    group = k.groupby(KEY, sort=False).ngroup()
    filled = both["vaerdi"].notna()
    has_value = filled.groupby(group).transform("any")
    keep = filled | ~has_value  # a blank figure gives way to a filled one
    both, row_of, group = both[keep], row_of[keep], group[keep]
    first = both.groupby(group, sort=False).cumcount() == 0
    pos = pd.Series(np.arange(len(both)), index=both.index)
    first_pos = pos.groupby(group).transform("first").to_numpy()
    ref = both.iloc[first_pos].reset_index(drop=True)
    ref_rows = row_of.iloc[first_pos].reset_index(drop=True)
    cur = both.reset_index(drop=True)
    cur_rows = row_of.reset_index(drop=True)
    later = ~first.to_numpy()
    same = np.isclose(cur["vaerdi"], ref["vaerdi"], rtol=0, atol=1e-9, equal_nan=True)
    rounded = np.array([(r == own_file and c != own_file and pd.notna(a) and pd.notna(b)
                         and abs(round(b, _decimals(a)) - a) < 1e-9)
                        for r, c, a, b in zip(ref["_fil"], cur["_fil"], ref["vaerdi"], cur["vaerdi"])], dtype=bool)
    clash = later & ~same & ~rounded
    for i in np.flatnonzero(clash):
        r, c = ref.iloc[i], cur.iloc[i]
        what = f"{r.indikator} for {r.niveau} {r.kode} {r.skoleaar}"
        if r._fil == c._fil == own_file:
            report.add("duplicate", own_file, cur_rows[i], "vaerdi", _num(c.vaerdi),
                       f"ét tal pr. skoleår, niveau, kode og indikator; {what} står også i række {ref_rows[i]} "
                       f"med {_num(r.vaerdi)}")
        elif r._fil == own_file:
            report.add("nationale_conflict", own_file, ref_rows[i], "vaerdi", _num(r.vaerdi),
                       f"samme tal som {c._fil} ({_num(c.vaerdi)}) for {what}: ret eller slet rækken her, eller "
                       "fjern downloaden")
        else:
            report.add("nationale_conflict", r._fil, "-", "vaerdi", f"{what}: {_num(r.vaerdi)}",
                       f"samme tal som i {c._fil} ({_num(c.vaerdi)}): fjern den forældede download")
    kept = first.to_numpy()
    out = cur[kept].drop(columns="_fil").reset_index(drop=True)
    downloads = ", ".join(_label(raw, p) for p in files)
    name = " + ".join(n for n in (own_file, downloads) if n)
    return Loaded("nationale_tal", name, out, cur_rows[kept].reset_index(drop=True), None)
