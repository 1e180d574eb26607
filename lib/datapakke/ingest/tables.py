"""The data contract: the tables of ``data/raw``, their columns, and the files that are not tables."""
from __future__ import annotations

from .. import config

EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
EXCEL = (".xlsx", ".xlsm")
#: Formats we recognise but cannot read: named so the user is told what to do.
UNSUPPORTED = {".xls": "det gamle Excel-format (.xls)", ".ods": "OpenDocument-regneark (.ods)",
               ".numbers": "Numbers-regneark", ".xlsb": "binært Excel-format (.xlsb)"}
SOURCES_FILE = "kilder.yaml"
HEADERS_FILE = "kolonnenavne.yaml"
CATEGORIES_FILE = "kategorier.yaml"
MINISTRY_DIR = "nationale"
NOT_DATA = {SOURCES_FILE, HEADERS_FILE, CATEGORIES_FILE, config.DEMO_FILE}

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
