"""Ingest: raw exports → validated, pseudonymised Parquet in ``data/processed/current``.

Reading is forgiving in format (CSV with ``;`` or ``,``, decimal comma, UTF-8 with or
without BOM or Windows-1252; Excel; Parquet), header spelling (``HEADER_SYNONYMS``,
extendable by ``kolonnenavne.yaml`` in the raw folder) and value spelling (gender as
M/K or D/P, Likert labels, Danish dates), and strict in content: ``validate`` collects
every problem before anything is written.  The processed store is versioned and switched
atomically (``store.new_version``), and identical input gives byte-identical output.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import aggregate, config, privacy, store, survey
from .validate import DataError, Report, check_columns, cross_checks

EXTENSIONS = (".csv", ".txt", ".xlsx", ".parquet")

#: table → (required columns, optional columns)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "skoler": (("institutionsnummer", "skolenavn", "kommunekode", "kommune"), ()),
    "elever": (("elev_id", "institutionsnummer", "skoleaar", "klassetrin", "koen"), ("klasse",)),
    "kortlaegning_svar": (("elev_id", "runde", "dato", "spoergsmaal_id", "svar"), ()),
    "kortlaegning_spoergsmaal": (("spoergsmaal_id", "dimension", "tekst", "omvendt"), ("klassetrin_fra",)),
    "fravaer": (("elev_id", "dato", "fravaerstype", "omfang"), ()),
    "skoledage": (("institutionsnummer", "dato"), ()),
    "nationale_tal": (("skoleaar", "niveau", "kode", "indikator", "vaerdi"), ("antal",)),
}
REQUIRED_TABLES = ("skoler", "elever", "kortlaegning_svar", "kortlaegning_spoergsmaal")

#: normalised header variant → canonical column (normalisation: ``normalise_header``).
HEADER_SYNONYMS: dict[str, str] = {
    "kon": "koen", "kn": "koen", "kok": "koen", "gender": "koen", "sex": "koen",
    "inst_nr": "institutionsnummer", "instnr": "institutionsnummer", "institutionsnr": "institutionsnummer",
    "institution_nr": "institutionsnummer", "institutions_nummer": "institutionsnummer",
    "skole_nr": "institutionsnummer", "skolenr": "institutionsnummer",
    "navn": "skolenavn", "skole": "skolenavn", "skole_navn": "skolenavn", "institutionsnavn": "skolenavn",
    "kommunenr": "kommunekode", "kommune_nr": "kommunekode", "kommune_kode": "kommunekode",
    "kommunenummer": "kommunekode", "kommunenavn": "kommune",
    "elevid": "elev_id", "elev": "elev_id", "elevnr": "elev_id", "elev_nr": "elev_id",
    "cpr": "elev_id", "cpr_nr": "elev_id", "unilogin": "elev_id", "uni_login": "elev_id",
    "skolear": "skoleaar", "skole_aar": "skoleaar", "aar": "skoleaar",
    "klassetrin_nr": "klassetrin", "trin": "klassetrin", "klassetrinn": "klassetrin",
    "klassebetegnelse": "klasse", "klassenavn": "klasse",
    "maaling": "runde", "tidspunkt": "runde", "maalepunkt": "runde",
    "besvarelsesdato": "dato", "svardato": "dato", "dag": "dato", "fravaersdato": "dato",
    "spm_id": "spoergsmaal_id", "spoergsmaal": "spoergsmaal_id", "spoergsmaalsid": "spoergsmaal_id",
    "sporgsmaal_id": "spoergsmaal_id", "item": "spoergsmaal_id", "item_id": "spoergsmaal_id",
    "svarvaerdi": "svar", "besvarelse": "svar",
    "spoergsmaalstekst": "tekst", "ordlyd": "tekst",
    "reverseret": "omvendt", "omvendt_kodet": "omvendt", "vendt": "omvendt",
    "type": "fravaerstype", "fravaersart": "fravaerstype", "fravaers_type": "fravaerstype", "aarsag": "fravaerstype",
    "andel_dag": "omfang", "andel": "omfang", "dage": "omfang",
    "vaerdi_": "vaerdi", "value": "vaerdi", "n": "antal",
}

GENDER = {"dreng": "dreng", "pige": "pige", "m": "dreng", "k": "pige", "d": "dreng", "p": "pige",
          "mand": "dreng", "kvinde": "pige", "drenge": "dreng", "piger": "pige", "boy": "dreng", "girl": "pige"}
LIKERT_LABELS = {
    "helt uenig": 1, "uenig": 2, "hverken enig eller uenig": 3, "hverken/eller": 3, "enig": 4, "helt enig": 5,
    "aldrig": 1, "sjældent": 2, "sjaeldent": 2, "nogle gange": 3, "tit": 4, "ofte": 4, "meget tit": 5, "altid": 5,
    "nej": 1, "nej, aldrig": 1, "ja, altid": 5,
}
ABSENCE_TYPE = {"sygdom": "sygdom", "syg": "sygdom", "sygefravaer": "sygdom", "sygefravær": "sygdom",
                "lovligt": "lovligt", "lovlig": "lovligt", "med tilladelse": "lovligt",
                "fravær med tilladelse": "lovligt", "tilladelse": "lovligt",
                "ulovligt": "ulovligt", "ulovlig": "ulovligt", "uden tilladelse": "ulovligt"}
TRUE_WORDS = {"1", "ja", "j", "x", "true", "sand", "yes", "omvendt"}
FALSE_WORDS = {"0", "nej", "n", "", "false", "falsk", "no", "nan", "<na>", "none"}


def normalise_header(name: str) -> str:
    """Case, spaces, æ/ø/å vs ae/oe/aa and punctuation don't matter: 'Køn ' → 'koen'."""
    s = str(name).strip().lower().replace("\ufeff", "")
    s = s.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s


def header_map(raw_folder: Path) -> dict[str, str]:
    """Built-in synonyms plus the user's ``kolonnenavne.yaml`` ({variant: canonical})."""
    mapping = dict(HEADER_SYNONYMS)
    extra = Path(raw_folder) / "kolonnenavne.yaml"
    if extra.is_file():
        loaded = yaml.safe_load(extra.read_text(encoding="utf-8")) or {}
        mapping.update({normalise_header(k): normalise_header(v) for k, v in loaded.items()})
    return mapping


# --- reading ---------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else Windows-1252 — never silently mangled."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_any(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV/Excel/Parquet file; CSV and Excel cells come back as strings."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".xlsx":
        return pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str, keep_default_na=False)
    text = decode(path.read_bytes())
    first = text[:20000]
    try:
        sep = csv.Sniffer().sniff(first.split("\n", 1)[0], delimiters=";,\t").delimiter
    except csv.Error:
        sep = ";" if first.count(";") >= first.count(",") else ","
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quotechar='"')


def find_file(raw: Path, table: str) -> Path | None:
    """``<table>.csv|.txt|.xlsx|.parquet`` in the raw folder (the first found, in that order)."""
    for ext in EXTENSIONS:
        p = Path(raw) / f"{table}{ext}"
        if p.is_file():
            return p
    return None


# --- value parsing ---------------------------------------------------------------------------
def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().isin(["", "nan", "NaN", "<NA>", "None"])


def parse_number(s: pd.Series) -> pd.Series:
    """Danish numbers: '1.234,5' and '0,0798' as well as '1234.5'; blank → NaN."""
    if s.dtype.kind in "fiu":
        return s.astype(float)
    t = s.astype(str).str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    danish = t.str.contains(",", regex=False)
    t = t.where(~danish, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    t = t.mask(_blank(s))
    return pd.to_numeric(t, errors="coerce")


def parse_date(s: pd.Series) -> pd.Series:
    """ISO, dd-mm-yyyy and dd.mm.yyyy (also dd/mm/yyyy); anything else → NaT."""
    if s.dtype.kind == "M":
        return s.astype("datetime64[ns]")
    t = s.astype(str).str.strip().str.slice(0, 19)
    iso = pd.to_datetime(t.where(t.str.match(r"^\d{4}-\d{2}-\d{2}")), format="ISO8601", errors="coerce")
    dk = pd.to_datetime(t.str.replace(r"[./]", "-", regex=True).where(t.str.match(r"^\d{1,2}[-./]\d{1,2}[-./]\d{4}")),
                        format="%d-%m-%Y", errors="coerce")
    return iso.fillna(dk).dt.normalize().astype("datetime64[ns]")


def parse_school_year(s: pd.Series) -> pd.Series:
    """'2024/2025', '2024/25', '2024-2025', '24/25' → '2024/2025'."""
    t = s.astype(str).str.strip()
    m = t.str.extract(r"^(\d{2}|\d{4})\s*[/\-]\s*(\d{2}|\d{4})$")
    start = pd.to_numeric(m[0], errors="coerce")
    start = start.where(start >= 100, start + 2000)
    end = pd.to_numeric(m[1], errors="coerce")
    ok = start.notna() & ((end % 100) == ((start + 1) % 100))
    out = start.astype("Int64").astype(str) + "/" + (start + 1).astype("Int64").astype(str)
    return out.where(ok, t)


def parse_id(s: pd.Series) -> pd.Series:
    """Identifiers stay strings with their leading zeros; '861010.0' from Excel is repaired."""
    t = s.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return t.mask(_blank(s))


@dataclass
class Loaded:
    table: str
    file: str
    frame: pd.DataFrame
    rows: pd.Series  # the row number a user sees for each frame row


def _row_numbers(path: Path, n: int) -> pd.Series:
    offset = 1 if path.suffix.lower() == ".parquet" else 2  # header is line/row 1
    return pd.Series(np.arange(n) + offset)


def load_table(raw: Path, table: str, report: Report, mapping: dict[str, str]) -> Loaded | None:
    """Read one table, map its headers, parse its values; problems go into ``report``."""
    path = find_file(raw, table)
    required, optional = TABLES[table]
    if path is None:
        if table in REQUIRED_TABLES:
            report.add("missing_file", f"{raw}/{table}.csv", "-", "-", "(ingen fil)",
                       f"en fil {table}.csv, .xlsx eller .parquet")
        return None
    name = path.name
    try:
        frame = read_any(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a user-facing data problem
        report.add("unreadable", name, "-", "-", type(exc).__name__, f"en læsbar CSV-, Excel- eller Parquet-fil ({exc})")
        return None
    renamed: dict[str, str] = {}
    for col in frame.columns:
        n = normalise_header(col)
        canonical = n if n in required + optional else mapping.get(n)
        if canonical in required + optional and canonical not in renamed.values():
            renamed[col] = canonical
    frame = frame.rename(columns=renamed)
    missing = [c for c in required if c not in frame.columns]
    for c in missing:
        report.add("missing_column", name, 1, c, ", ".join(map(str, frame.columns))[:200],
                   f"en kolonne '{c}' (kolonnerne i {table}: {', '.join(required)})")
    if missing:
        return None
    frame = frame[[c for c in required + optional if c in frame.columns]].reset_index(drop=True)
    rows = _row_numbers(path, len(frame))
    frame = _parse_values(table, frame, name, rows, report)
    return Loaded(table, name, frame, rows)


def _flag(report: Report, rule: str, file: str, rows: pd.Series, col: str, raw: pd.Series, bad: pd.Series, expected: str) -> None:
    if bad.any():
        report.add_rows(rule, file, rows[bad], col, raw[bad], expected)


def _parse_values(table: str, f: pd.DataFrame, file: str, rows: pd.Series, report: Report) -> pd.DataFrame:
    """Convert each known column to its type; unparseable and blank-required values are problems."""
    out = f.copy()
    for col in out.columns:
        raw = f[col]
        blank = _blank(raw)
        if col in ("institutionsnummer", "kommunekode", "elev_id", "spoergsmaal_id", "kode", "klasse"):
            out[col] = parse_id(raw)
            if col == "kommunekode":
                out[col] = out[col].str.zfill(3)
        elif col in ("klassetrin", "klassetrin_fra"):
            t = raw.astype(str).str.strip().str.extract(r"^(\d{1,2})\.?\s*(?:kl\.?|klasse)?$")[0]
            out[col] = pd.to_numeric(t, errors="coerce") if raw.dtype.kind not in "fiu" else raw.astype(float)
            _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank, "et klassetrin 0–10 (fx 4 eller '4. kl.')")
        elif col == "koen":
            out[col] = raw.astype(str).str.strip().str.lower().map(GENDER)
            _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank, "dreng/pige (også M/K, D/P)")
        elif col == "skoleaar":
            out[col] = parse_school_year(raw)
        elif col == "runde":
            out[col] = raw.astype(str).str.strip().str.upper()
        elif col == "dato":
            out[col] = parse_date(raw)
            _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank,
                  "en dato som 2024-10-02, 02-10-2024 eller 02.10.2024")
        elif col == "svar":
            if raw.dtype.kind in "fiu":
                out[col] = raw.astype(float)
            else:
                label = raw.astype(str).str.strip().str.lower().map(LIKERT_LABELS)
                out[col] = parse_number(raw).fillna(label)
                _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank, "1–5, et svar som 'enig', eller tom")
        elif col in ("omfang", "vaerdi", "antal"):
            out[col] = parse_number(raw)
            _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank, "et tal (decimalkomma er tilladt)")
        elif col == "omvendt":
            t = raw.astype(str).str.strip().str.lower()
            out[col] = t.isin(TRUE_WORDS)
            _flag(report, "bad_value", file, rows, col, raw, ~t.isin(TRUE_WORDS | FALSE_WORDS), "ja/nej (eller 1/0)")
        elif col == "fravaerstype":
            out[col] = raw.astype(str).str.strip().str.lower().map(ABSENCE_TYPE)
            _flag(report, "bad_value", file, rows, col, raw, out[col].isna() & ~blank, "sygdom, lovligt eller ulovligt")
        elif col == "dimension":
            out[col] = raw.astype(str).map(normalise_header)
        elif col in ("niveau", "indikator"):
            out[col] = raw.astype(str).str.strip().str.lower()
        else:
            out[col] = raw.astype(str).str.strip() if raw.dtype.kind == "O" or str(raw.dtype) in ("str", "string") else raw
        required = TABLES[table][0]
        if col in required and col not in ("svar", "vaerdi"):
            _flag(report, "missing_value", file, rows, col, raw.astype(str), blank, "en værdi (feltet må ikke være tomt)")
    return out


# --- the stage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    version: Path
    report: Report
    demo: bool


def load_all(raw: Path) -> tuple[dict[str, Loaded], Report]:
    """Read and check every table; nothing is written."""
    report = Report()
    mapping = header_map(raw)
    loaded = {t: load_table(raw, t, report, mapping) for t in TABLES}
    loaded = {t: v for t, v in loaded.items() if v is not None}
    for t, v in loaded.items():
        check_columns(t, v.frame, v.file, v.rows, report)
    if all(t in loaded for t in REQUIRED_TABLES) and not report.errors:
        tables = {t: v.frame for t, v in loaded.items()}
        cross_checks(tables, {t: v.file for t, v in loaded.items()}, {t: v.rows for t, v in loaded.items()}, report)
    return loaded, report


def _default_school_days(skoler: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    from .demo import school_days

    return pd.DataFrame(
        [(s, pd.Timestamp(d)) for s in skoler["institutionsnummer"] for y in years for d in school_days(y)],
        columns=["institutionsnummer", "dato"],
    )


def ingest(raw: Path, processed: Path) -> IngestResult:
    """raw → validated, pseudonymised, scored and aggregated → a new processed version.

    Raises ``DataError`` (with every problem) before anything is written.
    """
    raw, processed = Path(raw), Path(processed)
    demo = (raw / "DEMODATA.txt").is_file()
    loaded, report = load_all(raw)
    report.raise_if_errors()
    key = privacy.load_key(demo)  # before any work: a missing key on real data is an error
    t = {name: v.frame for name, v in loaded.items()}

    for name in ("elever", "kortlaegning_svar", "fravaer"):
        if name in t:
            t[name] = t[name].assign(elev_id=privacy.pseudonymise(t[name]["elev_id"], key))
    if "skoledage" not in t:
        t["skoledage"] = _default_school_days(t["skoler"], sorted(t["elever"]["skoleaar"].unique()))
    if "fravaer" in t:
        t["fravaer"] = _drop_non_school_days(t, loaded["fravaer"], report)
    t["elever"]["klassetrin"] = t["elever"]["klassetrin"].astype(int)
    scores = survey.pupil_scores(t["kortlaegning_svar"], t["kortlaegning_spoergsmaal"], t["elever"], t["skoler"])

    with store.new_version(processed) as out:
        for name, frame in t.items():
            store.write_parquet(frame.sort_values(list(frame.columns[:2])).reset_index(drop=True), out / f"{name}.parquet")
        store.write_parquet(scores, out / "scores.parquet")
        aggregate.write_all(t, scores, out / "aggregates", report)
        if demo:
            (out / "DEMODATA.txt").write_text(config.DEMO_MARKER + "\n", encoding="utf-8")
        (out / "valideringsrapport.txt").write_text(report.text() + "\n", encoding="utf-8")
    return IngestResult(store.current(processed), report, demo)


def _drop_non_school_days(t: dict[str, pd.DataFrame], loaded: Loaded, report: Report) -> pd.DataFrame:
    """Absence on a day the pupil's school had no school day: warn and leave it out."""
    f = t["fravaer"]
    schools = t["elever"][["elev_id", "skoleaar", "institutionsnummer"]]
    f = f.assign(skoleaar=survey.school_year_of(f["dato"]).to_numpy())
    f = f.merge(schools, on=["elev_id", "skoleaar"], how="left")
    days = t["skoledage"].assign(skoledag=True)
    f = f.merge(days, on=["institutionsnummer", "dato"], how="left")
    bad = f["skoledag"].isna().to_numpy()
    if bad.any():
        report.add_rows("absence_not_school_day", loaded.file, loaded.rows[bad], "dato",
                        f.loc[bad, "dato"].dt.strftime("%d-%m-%Y"), "en skoledag for elevens skole")
    return f.loc[~bad, ["elev_id", "dato", "fravaerstype", "omfang"]].reset_index(drop=True)
