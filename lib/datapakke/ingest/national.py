"""The ministry's downloads (Uddannelsesstatistik) in the raw folder → ``nationale_tal`` rows."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate import Report
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
                report.add("ministry_unreadable", _label(raw, path), "-", "-", str(exc)[:200],
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
                report.add("ministry_unreadable", label, "-", "-", str(exc)[:200],
                           "en Skoletal-download med institutionsnummer (den fulde udgave), eller en "
                           "trivsel-download pr. skole, køn og klassetrin")
                continue
        for w in caught:
            if issubclass(w.category, ministry.MinistryDataWarning):
                report.add("ministry_note", label, "-", "-", str(w.message)[:200],
                           "skoler, der kan genkendes (institutionsnummer, eller et entydigt navn i en "
                           "Skoletal-download); de nævnte får ingen tal fra denne fil")
        parts.append(rows)
        used_files.append(path)
    if not parts:
        return None, used_files
    return pd.concat(parts, ignore_index=True), used_files


def _combine_national(csv_part: Loaded | None, ministry_rows: pd.DataFrame | None, files: list[Path],
                      raw: Path, report: Report) -> Loaded | None:
    """``nationale_tal.csv`` first, then the downloads; the same figure twice is kept once.

    Two different values for the same (skoleaar, niveau, kode, indikator): the first is
    kept (the user's own table wins over a download) and the conflict is a warning.
    """
    if ministry_rows is None or ministry_rows.empty:
        return csv_part
    cols = list(TABLES["nationale_tal"][0]) + ["antal"]
    m = ministry_rows.reindex(columns=cols)
    for c in ("skoleaar", "niveau", "kode", "indikator"):
        m[c] = m[c].astype("str")
    m["vaerdi"], m["antal"] = m["vaerdi"].astype(float), m["antal"].astype(float)
    if csv_part is not None:
        base = csv_part.frame.reindex(columns=cols)
        base["antal"] = base["antal"].astype(float)
        base_rows = csv_part.rows
        file = csv_part.file + " + " + ", ".join(_label(raw, p) for p in files)
    else:
        base, base_rows = m.iloc[:0], pd.Series([], dtype=int)
        file = ", ".join(_label(raw, p) for p in files)
    both = pd.concat([base, m], ignore_index=True)
    rows = pd.concat([base_rows.astype(object), pd.Series(["-"] * len(m), dtype=object)], ignore_index=True)
    key = ["skoleaar", "niveau", "kode", "indikator"]
    k = both[key].fillna("")
    dup = k.duplicated(keep="first")
    if dup.any():
        first_val = both.groupby([k[c] for c in key], sort=False)["vaerdi"].transform("first")
        differs = dup & ~np.isclose(both["vaerdi"], first_val, rtol=0, atol=1e-9, equal_nan=True)
        if differs.any():
            d = both[differs]
            report.add_rows("nationale_conflict", file, ["-"] * len(d), "vaerdi",
                            [f"{r.indikator} for {r.niveau} {r.kode} {r.skoleaar}: {r.vaerdi:g}" for r in d.itertuples()],
                            [f"samme værdi som først fundet ({v:g}); den første bruges" for v in first_val[differs]])
        both, rows = both[~dup], rows[~dup]
    return Loaded("nationale_tal", file, both.reset_index(drop=True), rows.reset_index(drop=True), None)
