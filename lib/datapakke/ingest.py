"""Ingest: raw exports → validated, pseudonymised Parquet in ``data/processed/current``.

Reading is forgiving in format and strict in content:

* **Files.** ``<table>.csv|.txt|.tsv|.xlsx|.xlsm|.parquet`` in the raw folder (the file name
  compared like a header: ``Elever.CSV`` and ``kortlægning_svar.xlsx`` are found), or any
  file and Excel sheet named in ``kilder.yaml`` (``SOURCES_FILE``).  Two files for one table
  is an error, not a silent choice.  Downloads from the ministry's Uddannelsesstatistik
  (``raw/nationale/*.xlsx``, or any other ``*.xlsx`` whose layout ``ministry`` recognises)
  become ``nationale_tal`` rows, appended to a ``nationale_tal.csv`` if there is one.
* **CSV.** Separator sniffed (``;``, ``,``, tab, ``|``; a leading ``sep=;`` line is honoured),
  quoted fields may hold separators and line breaks; UTF-8 with or without BOM, UTF-16 with
  BOM, else Windows-1252 -- decoded, never guessed into mojibake.  Blank lines and lines of
  bare separators are skipped, but row numbers stay the lines the user sees.
* **Excel.** The first sheet, or the sheet named after the table, or the one ``kilder.yaml``
  names; title rows above the header are skipped (the header is the first row with known
  column names).  Cells keep their type: a number is a number, a date a date.
* **Headers.** Case, spaces, punctuation and ``æøå`` vs ``ae/oe/aa`` don't matter, common
  synonyms are known (``HEADER_SYNONYMS``), more go in ``kolonnenavne.yaml``.
* **Values.** Gender dreng/pige, M/K, D/P; Likert 1–5 or Danish labels; dates ISO,
  dd-mm-yyyy, dd.mm.yyyy (and Excel dates); numbers with decimal comma and thousands point.
* **Identifiers** stay strings.  Leading zeros are restored only where that is provably
  right (``pad_ids``): a kommunekode is always three digits (``85`` → ``085``); an
  institutionsnummer is padded to six digits only when it came as a *number* from Excel or
  Parquet (the format cannot hold the zero).  Text is never padded: ``12345`` in a CSV is
  reported, because a missing digit could be anywhere.  ``elev_id`` is never padded.

``load_all`` collects every problem (``validate``) before anything is written; ``ingest``
then pseudonymises, scores and aggregates into a new processed version that is switched
atomically (``store.new_version``); identical input gives byte-identical output.
"""
from __future__ import annotations

import codecs
import difflib
import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import aggregate, config, privacy, store, survey
from .validate import DataError, Report, check_columns, cpr_checks, cross_checks, enrolment_checks  # noqa: F401
from .validate import _school_year_of as validate_school_year

EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
EXCEL = (".xlsx", ".xlsm")
#: Formats we recognise but cannot read: named so the user is told what to do.
UNSUPPORTED = {".xls": "det gamle Excel-format (.xls)", ".ods": "OpenDocument-regneark (.ods)",
               ".numbers": "Numbers-regneark", ".xlsb": "binært Excel-format (.xlsb)"}
SOURCES_FILE = "kilder.yaml"
HEADERS_FILE = "kolonnenavne.yaml"
MINISTRY_DIR = "nationale"
NOT_DATA = {SOURCES_FILE, HEADERS_FILE, config.DEMO_FILE}

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
    "kon": "koen", "kn": "koen", "kok": "koen", "gender": "koen", "sex": "koen", "elevkoen": "koen",
    "inst_nr": "institutionsnummer", "instnr": "institutionsnummer", "institutionsnr": "institutionsnummer",
    "institution_nr": "institutionsnummer", "institutions_nummer": "institutionsnummer",
    "institution": "institutionsnummer", "inst_nummer": "institutionsnummer",
    "skole_nr": "institutionsnummer", "skolenr": "institutionsnummer", "skolenummer": "institutionsnummer",
    "navn": "skolenavn", "skole": "skolenavn", "skole_navn": "skolenavn", "institutionsnavn": "skolenavn",
    "kommunenr": "kommunekode", "kommune_nr": "kommunekode", "kommune_kode": "kommunekode",
    "kommunenummer": "kommunekode", "kommunenavn": "kommune", "kommune_navn": "kommune",
    "elevid": "elev_id", "elev": "elev_id", "elevnr": "elev_id", "elev_nr": "elev_id", "elevnummer": "elev_id",
    "cpr": "elev_id", "cpr_nr": "elev_id", "cprnr": "elev_id", "unilogin": "elev_id", "uni_login": "elev_id",
    "skolear": "skoleaar", "skole_aar": "skoleaar", "aar": "skoleaar",
    "klassetrin_nr": "klassetrin", "trin": "klassetrin", "klassetrinn": "klassetrin", "klassetrinnet": "klassetrin",
    "klassebetegnelse": "klasse", "klassenavn": "klasse",
    "maaling": "runde", "tidspunkt": "runde", "maalepunkt": "runde", "maalingsrunde": "runde",
    "besvarelsesdato": "dato", "svardato": "dato", "dag": "dato", "fravaersdato": "dato", "skoledag": "dato",
    "spm_id": "spoergsmaal_id", "spoergsmaal": "spoergsmaal_id", "spoergsmaalsid": "spoergsmaal_id",
    "spoergsmaals_id": "spoergsmaal_id", "spoergsmaal_nr": "spoergsmaal_id", "spoergsmaalsnummer": "spoergsmaal_id",
    "sporgsmaal_id": "spoergsmaal_id", "item": "spoergsmaal_id", "item_id": "spoergsmaal_id", "spm": "spoergsmaal_id",
    "svarvaerdi": "svar", "besvarelse": "svar", "svar_vaerdi": "svar",
    "spoergsmaalstekst": "tekst", "ordlyd": "tekst",
    "reverseret": "omvendt", "omvendt_kodet": "omvendt", "vendt": "omvendt", "omvendt_skala": "omvendt",
    "type": "fravaerstype", "fravaersart": "fravaerstype", "fravaers_type": "fravaerstype", "aarsag": "fravaerstype",
    "andel_dag": "omfang", "andel": "omfang", "dage": "omfang", "andel_af_dag": "omfang",
    "vaerdi_": "vaerdi", "value": "vaerdi", "n": "antal",
}

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


def normalise_header(name) -> str:
    """Case, spaces, æ/ø/å vs ae/oe/aa and punctuation don't matter: 'Køn ' → 'koen'."""
    s = str(name).strip().lower().replace("\ufeff", "")
    s = s.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s


def header_map(raw_folder: Path, report: Report | None = None) -> dict[str, str]:
    """Built-in synonyms plus the user's ``kolonnenavne.yaml``.

    The file maps a variant to a column, for all tables (``Køn2: koen``) or for one table
    (``elever: {Køn2: koen}``); table-specific entries are stored as ``"<table>:<variant>"``.
    """
    mapping = dict(HEADER_SYNONYMS)
    extra = Path(raw_folder) / HEADERS_FILE
    if not extra.is_file():
        return mapping
    try:
        loaded = yaml.safe_load(extra.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError("filen skal være en liste af 'variant: kolonne'")
        for k, v in loaded.items():
            if isinstance(v, dict) and normalise_header(k) in TABLES:
                mapping.update({f"{normalise_header(k)}:{normalise_header(a)}": normalise_header(b) for a, b in v.items()})
            else:
                mapping[normalise_header(k)] = normalise_header(v)
    except (yaml.YAMLError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        if report is None:
            raise
        report.add("bad_config", HEADERS_FILE, _yaml_line(exc), "-", _yaml_problem(exc),
                   "linjer som 'Køn2: koen' eller 'elever: {Køn2: koen}' (YAML, UTF-8)")
    return mapping


def _yaml_line(exc: Exception):
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else "-"


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    return f"YAML-fejl: {problem}" if problem else str(exc).splitlines()[0][:150]


def canonical(header, table: str, mapping: dict[str, str]) -> str | None:
    """The contract column a header means in ``table``, or None."""
    required, optional = TABLES[table]
    n = normalise_header(header)
    for c in (n, mapping.get(f"{table}:{n}"), mapping.get(n)):
        if c in required + optional:
            return c
    return None


# --- decoding and reading -------------------------------------------------------------------
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


# --- finding the files ----------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    table: str
    path: Path
    sheet: str | int | None = None
    via_sources_file: bool = False

    @property
    def name(self) -> str:
        """How the file is named in messages: the name, plus the sheet if one was chosen."""
        return self.path.name


def _data_files(raw: Path) -> list[Path]:
    return sorted(p for p in Path(raw).iterdir()
                  if p.is_file() and not p.name.startswith((".", "~$")) and p.name not in NOT_DATA)


def find_sources(raw: Path, report: Report) -> dict[str, Source]:
    """Table → file: ``kilder.yaml`` first, then ``<table>.<ext>`` (compared like a header)."""
    raw = Path(raw)
    sources: dict[str, Source] = {}
    listed = raw / SOURCES_FILE
    if listed.is_file():
        try:
            spec = yaml.safe_load(listed.read_text(encoding="utf-8")) or {}
            if not isinstance(spec, dict):
                raise ValueError("filen skal være en liste af 'tabel: fil'")
        except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
            report.add("bad_config", SOURCES_FILE, _yaml_line(exc), "-", _yaml_problem(exc),
                       "linjer som 'elever: elevliste.xlsx' eller 'elever: {fil: data.xlsx, ark: Elever}'")
            spec = {}
        for key, value in spec.items():
            table = normalise_header(key)
            if table not in TABLES:
                report.add("bad_config", SOURCES_FILE, "-", "-", f"tabellen '{key}'",
                           f"en af tabellerne {', '.join(TABLES)}")
                continue
            if isinstance(value, dict):
                fil = value.get("fil", value.get("file"))
                sheet = value.get("ark", value.get("sheet"))
            else:
                fil, sheet = value, None
            if not fil:
                report.add("bad_config", SOURCES_FILE, "-", "-", f"{key}: {value!r}",
                           f"et filnavn: '{table}: fil.xlsx' eller '{table}: {{fil: fil.xlsx, ark: Ark1}}'")
                continue
            path = (raw / str(fil)) if not Path(str(fil)).is_absolute() else Path(str(fil))
            if not path.is_file():
                report.add("missing_file", SOURCES_FILE, "-", "-", f"{table}: {fil}",
                           f"en fil {fil} i {raw} (sådan som {SOURCES_FILE} angiver)")
                sources[table] = None  # type: ignore[assignment] - reported; don't fall back
                continue
            sources[table] = Source(table, path, sheet, True)
    by_table: dict[str, list[Path]] = {}
    for p in _data_files(raw):
        t = normalise_header(p.stem)
        if t in TABLES and (p.suffix.lower() in EXTENSIONS or p.suffix.lower() in UNSUPPORTED):
            by_table.setdefault(t, []).append(p)
    for table, paths in by_table.items():
        if table in sources:
            continue
        if len(paths) > 1:
            names = " og ".join(p.name for p in paths)
            report.add("ambiguous_file", paths[0].name, "-", "-", names,
                       f"én fil til tabellen {table}: fjern den forkerte, eller angiv den rigtige i {SOURCES_FILE}")
            sources[table] = None  # type: ignore[assignment]
            continue
        sources[table] = Source(table, paths[0])
    return sources  # a None value: the table's file was named but is missing or ambiguous (reported)


# --- value parsing ---------------------------------------------------------------------------
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


@dataclass
class Loaded:
    table: str
    file: str
    frame: pd.DataFrame
    rows: pd.Series  # the row number a user sees for each frame row
    raw: pd.DataFrame | None = None  # the values as read, for messages


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
    for col in frame.columns:
        c = canonical(col, table, mapping)
        if c is not None and c not in renamed.values():
            renamed[col] = c
        elif not str(col).startswith("(uden navn"):
            unknown.append((col, c))
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
    if missing:
        return None
    cols = [c for c in required + optional if c in frame.columns]
    rawf = frame[cols].reset_index(drop=True)
    parsed = _parse_values(table, rawf, name, got.rows, report)
    return Loaded(table, name, parsed, got.rows, rawf)


def _flag(report: Report, rule: str, file: str, rows: pd.Series, col: str, raw: pd.Series, bad: pd.Series, expected: str) -> None:
    bad = bad.fillna(False).astype(bool).to_numpy()
    if bad.any():
        report.add_rows(rule, file, rows[bad], col, raw[bad], expected)


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
        return _map_distinct(_text(raw), normalise_header).astype("str"), blank, bad
    elif col == "niveau":
        return _map_distinct(_text(raw), lambda v: LEVELS.get(normalise_header(v), v.lower())).astype("str"), blank, bad
    elif col == "indikator":
        return _text(raw).str.lower(), blank, bad
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


# --- the ministry's downloads --------------------------------------------------------------
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
    from . import ministry

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


# --- the stage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    version: Path
    report: Report
    demo: bool


def _default_school_days(skoler: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    from .demo import school_days

    ids = skoler["institutionsnummer"].dropna().unique()
    return pd.DataFrame(
        [(s, pd.Timestamp(d)) for s in ids for y in years for d in school_days(y)],
        columns=["institutionsnummer", "dato"],
    ).astype({"institutionsnummer": "str", "dato": "datetime64[ns]"})


def _complete_calendar(loaded: dict[str, Loaded], report: Report) -> None:
    """School days for every school and school year in ``elever``.

    Without ``skoledage`` the default Danish calendar (``demo.school_days``) is used for all;
    with it, a school-year it does not cover gets the default calendar and a warning.
    """
    elever = loaded["elever"].frame.dropna(subset=["institutionsnummer", "skoleaar"])
    skoler = loaded["skoler"].frame
    need = elever[elever["institutionsnummer"].isin(skoler["institutionsnummer"].dropna())][
        ["institutionsnummer", "skoleaar"]].drop_duplicates()
    if "skoledage" not in loaded:
        years = sorted(elever["skoleaar"].unique())
        days = _default_school_days(skoler, years)
        loaded["skoledage"] = Loaded("skoledage", "(standardkalender)", days, pd.Series(np.arange(len(days)) + 1))
        return
    given = loaded["skoledage"]
    have = given.frame.dropna(subset=["institutionsnummer", "dato"])
    have = set(zip(have["institutionsnummer"], validate_school_year(have["dato"])))
    missing = [(s, y) for s, y in zip(need["institutionsnummer"], need["skoleaar"]) if (s, y) not in have]
    if not missing:
        return
    names = skoler.dropna(subset=["institutionsnummer"]).drop_duplicates("institutionsnummer").set_index(
        "institutionsnummer")["skolenavn"]
    extra = []
    for s, y in sorted(missing):
        report.add("default_calendar", given.file, "-", "institutionsnummer",
                   f"ingen skoledage for {names.get(s, '')} ({s}) i {y}",
                   "skoledage for hver skole og hvert skoleår i elever; standardkalenderen bruges her")
        extra.append(_default_school_days(pd.DataFrame({"institutionsnummer": [s]}), [y]))
    frame = pd.concat([given.frame, *extra], ignore_index=True)
    rows = pd.concat([given.rows.astype(object), pd.Series(["-"] * (len(frame) - len(given.frame)), dtype=object)],
                     ignore_index=True)
    loaded["skoledage"] = Loaded("skoledage", given.file, frame, rows, None)


def load_all(raw: Path) -> tuple[dict[str, Loaded], Report]:
    """Read and check every table; nothing is written.

    Every check runs on whatever could be read, so one run lists all problems.  Rows that
    are only warned about (absence on a non-school day, records outside the pupil's school
    years) are already left out of the returned frames.  Without ``skoledage`` the default
    Danish calendar is returned in its place.
    """
    raw = Path(raw)
    report = Report()
    if not raw.is_dir():
        report.add("missing_file", str(raw), "-", "-", "ingen mappe", "en mappe med rådata (se README: Data contract)")
        return {}, report
    mapping = header_map(raw, report)
    sources = find_sources(raw, report)
    loaded = {t: load_table(sources.get(t), t, raw, report, mapping)
              for t in TABLES if not (t in sources and sources[t] is None)}
    loaded = {t: v for t, v in loaded.items() if v is not None}
    for t, v in loaded.items():
        check_columns(t, v.frame, v.file, v.rows, report, v.raw)
    cpr_checks({t: (v.file, v.raw, v.rows) for t, v in loaded.items()}, report)
    for v in loaded.values():
        v.raw = None  # the as-read values were for these messages only; free the memory

    used = {s.path.resolve() for s in sources.values() if s is not None}
    used |= {p.resolve() for p in _data_files(raw) if normalise_header(p.stem) in TABLES}
    ministry_rows, ministry_files = read_ministry_files(raw, used, report)
    national = _combine_national(loaded.get("nationale_tal"), ministry_rows, ministry_files, raw, report)
    if national is not None:
        loaded["nationale_tal"] = national
    used |= {p.resolve() for p in ministry_files}
    for p in _data_files(raw):
        if p.resolve() not in used and p.suffix.lower() in (".csv", ".tsv", ".parquet") + tuple(UNSUPPORTED):
            report.add("unknown_file", p.name, "-", "-", "hverken en tabel eller en download",
                       f"et tabelnavn ({', '.join(TABLES)}) eller en linje i {SOURCES_FILE}; filen bruges ikke")

    if all(t in loaded for t in REQUIRED_TABLES):
        tables = {t: v.frame for t, v in loaded.items()}
        files = {t: v.file for t, v in loaded.items()}
        rows = {t: v.rows for t, v in loaded.items()}
        cross_checks(tables, files, rows, report)
        _complete_calendar(loaded, report)
        tables["skoledage"] = loaded["skoledage"].frame
        files["skoledage"] = loaded["skoledage"].file
        keep = enrolment_checks(tables, files, rows, report) if not report.errors else {}
        for t, k in keep.items():
            if not k.all():
                v = loaded[t]
                loaded[t] = Loaded(t, v.file, v.frame[k].reset_index(drop=True), v.rows[k].reset_index(drop=True),
                                   v.raw[k].reset_index(drop=True) if v.raw is not None else None)
    return loaded, report


def check(raw: Path) -> Report:
    """Validate the raw folder only: the report ``ingest`` would give, nothing written."""
    return load_all(raw)[1]


def ingest(raw: Path, processed: Path) -> IngestResult:
    """raw → validated, pseudonymised, scored and aggregated → a new processed version.

    Raises ``DataError`` (with every problem) before anything is written.
    """
    raw, processed = Path(raw), Path(processed)
    demo = store.is_demo(raw)
    loaded, report = load_all(raw)
    report.raise_if_errors()
    key = privacy.load_key(demo, forbidden=(raw, processed))  # before any work on pupil data
    t = {name: v.frame for name, v in loaded.items()}

    for name in ("elever", "kortlaegning_svar", "fravaer"):
        if name in t:
            t[name] = t[name].assign(elev_id=privacy.pseudonymise(t[name]["elev_id"], key))
    t["elever"]["klassetrin"] = t["elever"]["klassetrin"].astype(int)
    if "klassetrin_fra" in t["kortlaegning_spoergsmaal"]:
        q = t["kortlaegning_spoergsmaal"]
        q["klassetrin_fra"] = q["klassetrin_fra"].fillna(0).astype(int)
    if "antal" in t.get("nationale_tal", pd.DataFrame()):
        t["nationale_tal"]["antal"] = t["nationale_tal"]["antal"].astype(float)
    scores = survey.pupil_scores(t["kortlaegning_svar"], t["kortlaegning_spoergsmaal"], t["elever"], t["skoler"])

    with store.new_version(processed) as out:
        for name, frame in t.items():
            store.write_parquet(frame.sort_values(list(frame.columns[:2])).reset_index(drop=True), out / f"{name}.parquet")
        store.write_parquet(scores, out / "scores.parquet")
        aggregate.write_all(t, scores, out / "aggregates")
        if demo:
            (out / config.DEMO_FILE).write_text(config.DEMO_MARKER + "\n", encoding="utf-8")
        (out / "valideringsrapport.txt").write_text(report.text() + "\n", encoding="utf-8")
    return IngestResult(store.current(processed), report, demo)
