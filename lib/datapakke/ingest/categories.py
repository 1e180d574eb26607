"""Closed lists whose values the rest of the pipeline keys on: the codebook's ``dimension`` and
``nationale_tal``'s ``indikator``.

A misspelt dimension would otherwise become a dimension of its own in every table and quietly
take its items away from the real one; a misspelt indicator would be stored and never shown.
So each value must be a known one (``config.DIMENSIONS``; the indicators the pages and the
ministry reader use) or one the municipality declares on purpose in ``kategorier.yaml``::

    dimension: [trivsel_i_frikvarteret]
    indikator: [egen_maaling]

The message names the closest known value.  Values are compared in the parsed form
(``normalise_header``: 'Faglig trivsel' is ``faglig_trivsel``); a dimension may also be written
as its Danish label ('Klasseledelse (ro og orden)').
"""
from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..validate import Report
from .errors import ConfigError, read_yaml
from .headers import config_line, config_problem, normalise_header
from .tables import CATEGORIES_FILE

#: The indicators of ``nationale_tal`` that pages read, and those the ministry reader writes.
INDICATORS = (*config.TRIVSEL_INDICATORS, "samlet_indikator", "fravaer_pct", "andel_over_10pct_fravaer",
              "trivsel_hoejest_andel")
#: Indicators that also come in the trivselsmåling's answer bands (``faglig_trivsel:4,1-5,0``).
BANDED = (*config.TRIVSEL_INDICATORS, "samlet_indikator")
#: A dimension written as its Danish label: normalised label → key.
DIMENSION_LABELS = {normalise_header(label): key for key, label in config.DIMENSIONS.items()}

#: column → (table, what the values are called in a message)
COLUMNS = {
    "dimension": ("kortlaegning_spoergsmaal", "dimension"),
    "indikator": ("nationale_tal", "indikator"),
}


def known(column: str) -> list[str]:
    """The built-in values of a closed list, in a stable order."""
    if column == "dimension":
        return list(config.DIMENSIONS)
    return list(INDICATORS) + [f"{i}:{b}" for i in BANDED for b in config.TRIVSEL_BANDS]


def parse_dimension(value: str) -> str:
    key = normalise_header(value)
    return DIMENSION_LABELS.get(key, key)


def parse_indicator(value: str) -> str:
    """'Faglig trivsel: 4,1 - 5,0' → 'faglig_trivsel:4,1-5,0'."""
    name, sep, band = str(value).partition(":")
    return normalise_header(name) + (":" + "".join(band.split()) if sep else "")


def declared(raw: Path, report: Report) -> dict[str, set[str]]:
    """The municipality's own values from ``kategorier.yaml`` (column → values), parsed like data."""
    out: dict[str, set[str]] = {c: set() for c in COLUMNS}
    path = Path(raw) / CATEGORIES_FILE
    if not path.is_file():
        return out
    expected = "linjer som 'dimension: [trivsel_i_frikvarteret]' eller 'indikator: [egen_maaling]' (YAML, UTF-8)"
    try:
        spec = read_yaml(path) or {}
        if not isinstance(spec, dict):
            raise ValueError("filen skal have afsnittene 'dimension:' og/eller 'indikator:'")
    except (ConfigError, ValueError) as exc:
        report.add("bad_config", CATEGORIES_FILE, config_line(exc), "-", config_problem(exc), expected)
        return out
    for key, values in spec.items():
        column = normalise_header(key)
        if column not in COLUMNS:
            report.add("bad_config", CATEGORIES_FILE, "-", "-", f"afsnittet '{key}'",
                       f"et af afsnittene {', '.join(COLUMNS)}")
            continue
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
            report.add("bad_config", CATEGORIES_FILE, "-", "-", f"{key}: {values!r}", expected)
            continue
        parse = parse_dimension if column == "dimension" else parse_indicator
        out[column] |= {parse(str(v)) for v in values if str(v).strip()}
    return out


def category_checks(tables: dict[str, tuple[str, pd.DataFrame, pd.DataFrame | None, pd.Series]],
                    own: dict[str, set[str]], report: Report) -> None:
    """Every value of a closed list is known or declared; else ``unknown_category``, closest name given.

    ``tables``: table → (file, parsed frame, frame as read, row numbers).
    """
    for column, (table, what) in COLUMNS.items():
        if table not in tables:
            continue
        file, frame, raw, rows = tables[table]
        if column not in frame or frame.empty:
            continue
        builtin = known(column)
        allowed = set(builtin) | own[column]
        values = frame[column]
        bad = values.notna() & ~values.isin(allowed)
        if not bad.any():
            continue
        shown = raw[column] if raw is not None and column in raw else values
        listing = ", ".join(builtin if column == "dimension" else list(INDICATORS))
        band_note = "" if column == "dimension" else f" (og svarbånd som 'faglig_trivsel:{config.TRIVSEL_BANDS[-1]}')"
        hints = {}
        for v in pd.unique(values[bad]):
            close = difflib.get_close_matches(v, sorted(allowed), n=1, cutoff=0.6)
            hints[v] = f"mente du '{close[0]}'? " if close else ""
        expected = [f"en kendt {what} – {hints[v]}de kendte er {listing}{band_note}; en ny {what} erklæres i "
                    f"{CATEGORIES_FILE}" for v in values[bad]]
        idx = np.flatnonzero(bad.to_numpy())
        report.add_rows("unknown_category", file, rows.iloc[idx], column, shown.iloc[idx], expected)
