"""Value parsing: Danish numbers, dates, school years, grades, codes; problems into the report."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..validate import Report
from .categories import parse_dimension, parse_indicator
from .headers import normalise_header
from .tables import TABLES

GENDER = {"dreng": "dreng", "pige": "pige", "m": "dreng", "k": "pige", "d": "dreng", "p": "pige",
          "mand": "dreng", "kvinde": "pige", "drenge": "dreng", "piger": "pige", "boy": "dreng", "girl": "pige",
          "han": "dreng", "hun": "pige"}
LIKERT_LABELS = {
    "helt uenig": 1, "uenig": 2, "hverken enig eller uenig": 3, "hverken/eller": 3, "enig": 4, "helt enig": 5,
    "aldrig": 1, "sjældent": 2, "sjaeldent": 2, "nogle gange": 3, "tit": 4, "ofte": 4, "meget tit": 5, "altid": 5,
    "nej": 1, "nej, aldrig": 1, "ja, altid": 5,
}
#: Answers that mean "no answer": read as blank, never as an error.
NO_ANSWER = {"ved ikke", "ønsker ikke at svare", "vil ikke svare", "ikke besvaret", "-"}
#: Keys are ``normalise_header`` forms, so 'Sygefravær' and 'Fravær med tilladelse' match.
ABSENCE_TYPE = {"sygdom": "sygdom", "syg": "sygdom", "sygefravaer": "sygdom",
                "lovligt": "lovligt", "lovlig": "lovligt", "med_tilladelse": "lovligt", "lovligt_fravaer": "lovligt",
                "fravaer_med_tilladelse": "lovligt", "tilladelse": "lovligt",
                "ulovligt": "ulovligt", "ulovlig": "ulovligt", "uden_tilladelse": "ulovligt",
                "ulovligt_fravaer": "ulovligt", "fravaer_uden_tilladelse": "ulovligt"}
LEVELS = {"land": "land", "hele_landet": "land", "landsplan": "land", "danmark": "land",
          "kommune": "kommune", "skole": "skole"}
TRUE_WORDS = {"1", "ja", "j", "x", "true", "sand", "yes", "omvendt", "sandt"}
FALSE_WORDS = {"0", "nej", "n", "", "false", "falsk", "no", "nan", "<na>", "none", "falsk"}
GRADE_WORDS = {"bh": 0, "bhkl": 0, "bh_kl": 0, "boernehaveklasse": 0, "0_klasse": 0}


BLANKS = ["", "nan", "NaN", "<NA>", "None", "NaT"]


def _blank(s: pd.Series) -> pd.Series:
    if s.dtype.kind in "biufmM":
        return s.isna()
    return _text(s).isna()


def _map_distinct(s: pd.Series, fn) -> pd.Series:
    """``s.map(fn)`` computed once per distinct value (8 M answers have a handful)."""
    values = pd.unique(s.dropna())
    return s.map({v: fn(v) for v in values})


def _numeric_cells(s: pd.Series) -> pd.Series:
    """True where the value came as a number (Excel number cell, Parquet number column)."""
    if s.dtype.kind in "iuf":
        return s.notna()
    if s.dtype == object:
        return s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                     and not (isinstance(v, float) and np.isnan(v))).astype(bool)
    return pd.Series(False, index=s.index)


def _text(s: pd.Series) -> pd.Series:
    """Values as stripped text (numbers without '.0'); blank → missing."""
    if s.dtype.kind == "f":
        t = s.astype(str)
        t = t.where(~t.str.endswith(".0", na=False), t.str.slice(0, -2))
    elif s.dtype.kind in "iub":
        t = s.astype(str)
    elif s.dtype == object:
        t = s.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else v).astype(str)
    else:
        t = s if str(s.dtype) == "str" else s.astype(str)
    t = t.str.strip()
    return t.mask(t.isna() | t.isin(BLANKS))


def parse_number(s: pd.Series, integer: bool = False) -> pd.Series:
    """Danish numbers: '1.234,5', '0,0798' and '450.000' as well as '1234.5'; blank → NaN.

    A point is a thousands separator when the value also has a decimal comma, when it
    groups three digits more than once (``1.234.567``), or -- for a single group
    (``1.234``) -- when the column uses decimal commas elsewhere or holds counts
    (``integer``).  Otherwise it is a decimal point.  Numbers from Excel/Parquet are taken as
    they are.
    """
    if s.dtype.kind in "fiub":
        return s.astype(float)
    numeric = _numeric_cells(s)
    t = _text(s).str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    t = t.str.replace("\u2212", "-", regex=False)
    english = t.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+\.\d+", na=False)
    comma = t.str.contains(",", regex=False, na=False) & ~english
    grouped = t.str.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", na=False)
    multi = t.str.fullmatch(r"[-+]?\d{1,3}(\.\d{3}){2,}", na=False)
    danish_column = bool((comma & ~numeric).any())
    thousands = (comma | multi | (grouped & (danish_column or integer))) & ~numeric
    t = t.where(~thousands, t.str.replace(".", "", regex=False))
    t = t.where(~english, t.str.replace(",", "", regex=False))
    t = t.where(~comma, t.str.replace(",", ".", regex=False))
    out = pd.to_numeric(t, errors="coerce").astype(float)
    if numeric.any():
        out[numeric] = pd.to_numeric(s[numeric], errors="coerce").astype(float)
    return out


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_date(s: pd.Series) -> pd.Series:
    """ISO, dd-mm-yyyy, dd.mm.yyyy, dd/mm/yyyy, Excel dates and Excel day numbers; else NaT."""
    if s.dtype.kind == "M":
        d = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return d.dt.normalize().astype("datetime64[ns]")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    rest = pd.Series(True, index=s.index)
    if s.dtype == object:
        is_date = s.map(lambda v: isinstance(v, (dt.date, pd.Timestamp))).astype(bool)
        if is_date.any():
            out[is_date] = pd.to_datetime(s[is_date].map(pd.Timestamp)).dt.normalize().astype("datetime64[ns]")
            rest &= ~is_date
    numeric = _numeric_cells(s) & rest
    if numeric.any():  # an Excel day number (a date cell whose format was lost): 45200 → 2023-10-02
        n = pd.to_numeric(s[numeric], errors="coerce")
        ok = n.between(20000, 80000)
        out[n[ok].index] = (_EXCEL_EPOCH + pd.to_timedelta(n[ok].astype(int), unit="D")).astype("datetime64[ns]")
        rest &= ~numeric
    t = _text(s.where(rest)).str.slice(0, 19)
    iso = pd.to_datetime(t.where(t.str.match(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$", na=False)),
                         format="ISO8601", errors="coerce")
    dk_text = t.where(t.str.match(r"^\d{1,2}[-./]\d{1,2}[-./]\d{4}$", na=False))
    dk = pd.to_datetime(dk_text.str.replace(r"[./]", "-", regex=True), format="%d-%m-%Y", errors="coerce")
    parsed = iso.fillna(dk).dt.normalize().astype("datetime64[ns]")
    out = out.where(~rest, parsed)
    return out


def parse_school_year(s: pd.Series) -> pd.Series:
    """'2024/2025', '2024/25', '2024-2025', '24/25' → '2024/2025'; anything else → missing."""
    t = _text(s)
    m = t.str.extract(r"^(\d{2}|\d{4})\s*[/\-]\s*(\d{2}|\d{4})$")
    start = pd.to_numeric(m[0], errors="coerce")
    start = start.where(start >= 100, start + 2000)
    end = pd.to_numeric(m[1], errors="coerce")
    end = end.where(end >= 100, (start // 100) * 100 + end)
    ok = start.notna() & (end == start + 1)
    out = start.astype("Int64").astype(str) + "/" + (start + 1).astype("Int64").astype(str)
    return out.where(ok)


def parse_id(s: pd.Series) -> pd.Series:
    """Identifiers stay strings with their leading zeros; '861010.0' from Excel is repaired."""
    t = _text(s)
    float_like = t.str.fullmatch(r"\d+\.0", na=False)
    return t.where(~float_like, t.str.slice(0, -2)) if float_like.any() else t


def pad_ids(ids: pd.Series, width: int, where: pd.Series) -> pd.Series:
    """Left-pad all-digit ids shorter than ``width`` with zeros, only in rows ``where``."""
    short = ids.str.fullmatch(r"\d+", na=False) & (ids.str.len() < width) & where
    return ids.where(~short, ids.str.zfill(width))


def parse_grade(s: pd.Series) -> pd.Series:
    """4, '4', '4.', '4. kl.', '4. klasse', 'bh.kl.' → 4.0 (0 for børnehaveklasse); else NaN."""
    if s.dtype.kind in "iuf":
        return s.astype(float)
    t = _text(s)
    n = t.str.extract(r"^(\d{1,2})\.?\s*(?:kl\.?|klasse|klassetrin)?$", flags=re.IGNORECASE)[0]
    out = pd.to_numeric(n, errors="coerce").astype(float)
    words = _map_distinct(t, lambda v: GRADE_WORDS.get(normalise_header(v)))
    return out.fillna(pd.to_numeric(words, errors="coerce").astype(float))



MISSING = "en værdi (feltet må ikke være tomt)"
EXPECTED_PARSE = {
    "klassetrin": "et klassetrin 0–10 (fx 4, '4. kl.' eller '0. klasse')",
    "klassetrin_fra": "et klassetrin 0–10 (fx 4, '4. kl.' eller '0. klasse')",
    "koen": "dreng/pige (også M/K, D/P)",
    "skoleaar": "et skoleår som 2024/2025 (også 2024/25 eller 2024-2025)",
    "dato": "en dato som 2024-10-02, 02-10-2024 eller 02.10.2024",
    "svar": "1–5, et svar som 'enig', eller tom",
    "omfang": "et tal (decimalkomma og tusindtalspunktum er tilladt, fx 1.234,5)",
    "vaerdi": "et tal (decimalkomma og tusindtalspunktum er tilladt, fx 1.234,5)",
    "antal": "et tal (decimalkomma og tusindtalspunktum er tilladt, fx 1.234,5)",
    "omvendt": "ja/nej (eller 1/0)",
    "fravaerstype": "sygdom, lovligt eller ulovligt (også 'Sygefravær', 'Fravær med tilladelse', 'Ulovligt fravær')",
}
#: Above this many rows a column is parsed once per distinct value (8 M answers, a few hundred dates).
DISTINCT_FROM = 20_000


def parse_column(table: str, col: str, raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """One column → (parsed values, blank mask, unparseable mask).  Vectorised, row-independent
    except for the column-level number convention (see ``parse_number``)."""
    blank = _blank(raw)
    bad = pd.Series(False, index=raw.index)
    if col in ("institutionsnummer", "kommunekode", "elev_id", "spoergsmaal_id", "kode", "klasse"):
        out = parse_id(raw)
        if col == "kommunekode":
            out = pad_ids(out, 3, out.str.len() <= 3)
        elif col == "institutionsnummer":
            out = pad_ids(out, 6, _numeric_cells(raw))
        return out, blank, bad
    if col in ("klassetrin", "klassetrin_fra"):
        out = parse_grade(raw)
    elif col == "koen":
        out = _text(raw).str.lower().map(GENDER).astype("str")
    elif col == "skoleaar":
        out = parse_school_year(raw).astype("str")
    elif col == "runde":
        return _text(raw).str.upper().str.replace(r"\s+", "", regex=True), blank, bad
    elif col == "dato":
        out = parse_date(raw)
    elif col == "svar":
        if raw.dtype.kind in "fiub":
            return raw.astype(float), blank, bad
        t = _text(raw).str.lower()
        no_answer = t.isin(NO_ANSWER)
        label = pd.to_numeric(t.map(LIKERT_LABELS), errors="coerce")
        out = parse_number(raw.where(~no_answer)).fillna(label)
        return out, blank, out.isna() & ~blank & ~no_answer
    elif col in ("omfang", "vaerdi", "antal"):
        out = parse_number(raw, integer=(col == "antal"))
    elif col == "omvendt":
        t = _text(raw).str.lower().fillna("")
        return t.isin(TRUE_WORDS), blank, ~t.isin(TRUE_WORDS | FALSE_WORDS)
    elif col == "fravaerstype":
        out = _map_distinct(_text(raw), lambda v: ABSENCE_TYPE.get(normalise_header(v))).astype("str")
    elif col == "dimension":
        return _map_distinct(_text(raw), parse_dimension).astype("str"), blank, bad
    elif col == "niveau":
        return _map_distinct(_text(raw), lambda v: LEVELS.get(normalise_header(v), v.lower())).astype("str"), blank, bad
    elif col == "indikator":
        return _map_distinct(_text(raw), parse_indicator).astype("str"), blank, bad
    else:
        return _text(raw), blank, bad
    return out, blank, out.isna() & ~blank


def _parse_distinct(table: str, col: str, raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``parse_column`` on the distinct values only, spread back to every row."""
    if len(raw) < DISTINCT_FROM or raw.dtype.kind in "fiubmM":
        return parse_column(table, col, raw)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    if len(uniques) > len(raw) // 2:
        return parse_column(table, col, raw)
    values = pd.Series(uniques, dtype=raw.dtype if raw.dtype != object else object)
    values = pd.concat([values, pd.Series([None], dtype=values.dtype)], ignore_index=True)  # the NA code (-1)
    parsed, blank, bad = parse_column(table, col, values)
    take = np.where(codes < 0, len(values) - 1, codes)

    def spread(s: pd.Series) -> pd.Series:
        return pd.Series(s.array.take(take), index=raw.index)
    return spread(parsed), spread(blank), spread(bad)


def _flag(report: Report, rule: str, file: str, rows: pd.Series, col: str, raw: pd.Series, bad: pd.Series, expected: str) -> None:
    bad = bad.fillna(False).astype(bool).to_numpy()
    if bad.any():
        report.add_rows(rule, file, rows[bad], col, raw[bad], expected)


def _parse_values(table: str, f: pd.DataFrame, file: str, rows: pd.Series, report: Report) -> pd.DataFrame:
    """Convert each known column to its type; unparseable and blank-required values are problems.

    Blank required values are reported first (``missing_value``), so one cell gets one message.
    """
    out = pd.DataFrame(index=f.index)
    required = TABLES[table][0]
    for col in f.columns:
        raw = f[col]
        parsed, blank, bad = _parse_distinct(table, col, raw)
        if col in required and col not in ("svar", "vaerdi"):
            _flag(report, "missing_value", file, rows, col, raw, blank, MISSING)
        _flag(report, "bad_value", file, rows, col, raw, bad & ~blank if col != "omvendt" else bad,
              EXPECTED_PARSE.get(col, "en gyldig værdi"))
        out[col] = parsed
    if table == "nationale_tal" and "kode" in out and "niveau" in out:
        out["kode"] = pad_ids(out["kode"], 3, (out["niveau"] == "kommune") & (out["kode"].str.len() <= 3))
        out["kode"] = pad_ids(out["kode"], 6, (out["niveau"] == "skole") & _numeric_cells(f["kode"]))
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("str")
    return out
