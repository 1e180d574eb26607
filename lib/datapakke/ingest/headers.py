"""Header normalisation: case, spaces, punctuation, æøå and synonyms don't matter."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..validate import Report
from .errors import ConfigError, read_yaml
from .tables import HEADERS_FILE, TABLES

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
    # spellings seen in the ministry's downloads and in school-system exports (elevadministration, UNI-login)
    "skolens_navn": "skolenavn", "institutionens_navn": "skolenavn", "hovedinstitution": "skolenavn",
    "hovedinstitutionsnavn": "skolenavn", "afdelingsnavn": "skolenavn", "skolenavn_afdeling": "skolenavn",
    "institutionskode": "institutionsnummer", "skolekode": "institutionsnummer", "skole_id": "institutionsnummer",
    "institutions_id": "institutionsnummer", "institution_id": "institutionsnummer",
    "hovedinstitutionsnummer": "institutionsnummer", "hovedinstitutionsnr": "institutionsnummer",
    "skolens_institutionsnummer": "institutionsnummer", "skolens_nr": "institutionsnummer",
    "kommunekode_3_cifre": "kommunekode", "kom_nr": "kommunekode", "komnr": "kommunekode",
    "kommune_id": "kommunekode", "kommunens_navn": "kommune", "skolekommune": "kommune",
    "uni_c_login": "elev_id", "uni_id": "elev_id", "elevens_uni_login": "elev_id", "elevens_unilogin": "elev_id",
    "elev_uni_login": "elev_id", "cpr_nummer": "elev_id", "cprnummer": "elev_id", "personnummer": "elev_id",
    "elevens_cpr": "elev_id", "elevens_id": "elev_id",
    "skoleaaret": "skoleaar", "skoleaar_fx_2024_2025": "skoleaar",
    "aargang": "klassetrin", "klassetrin_0_10": "klassetrin", "klasse_trin": "klassetrin",
    "hovedgruppe": "klasse", "stamklasse": "klasse", "klassens_navn": "klasse", "klasse_navn": "klasse",
    "elevens_koen": "koen", "koen_m_k": "koen", "koen_d_p": "koen",
    "kortlaegningsrunde": "runde", "runde_nr": "runde",
    "dato_for_besvarelse": "dato", "besvaret_dato": "dato", "besvarelsestidspunkt": "dato",
    "spoergsmaalsnr": "spoergsmaal_id", "spm_nr": "spoergsmaal_id", "item_nr": "spoergsmaal_id",
    "sporgsmal_id": "spoergsmaal_id", "sporgsmal": "spoergsmaal_id",
    "svarkategori": "svar", "svarkode": "svar", "svar_1_5": "svar",
    "spoergsmaal_tekst": "tekst", "formulering": "tekst", "spoergsmaalsformulering": "tekst",
    "tema": "dimension", "dimensionsnavn": "dimension", "kategori": "dimension",
    "omvendt_kodning": "omvendt", "reverseret_item": "omvendt", "spejlvendt": "omvendt", "reversed": "omvendt",
    "fravaersaarsag": "fravaerstype", "fravaerskategori": "fravaerstype", "fravaer_type": "fravaerstype",
    "fravaersdag": "dato", "dato_for_fravaer": "dato",
    "fravaersomfang": "omfang", "omfang_andel_af_dag": "omfang", "dagsandel": "omfang", "fravaer_dage": "omfang",
    "indicator": "indikator", "indikatornavn": "indikator", "level": "niveau",
    "antal_elever": "antal", "elevtal": "antal", "antal_besvarelser": "antal",
}


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
        loaded = read_yaml(extra) or {}
        if not isinstance(loaded, dict):
            raise ValueError("filen skal være en liste af 'variant: kolonne'")
        for k, v in loaded.items():
            if isinstance(v, dict) and normalise_header(k) in TABLES:
                mapping.update({f"{normalise_header(k)}:{normalise_header(a)}": normalise_header(b) for a, b in v.items()})
            else:
                mapping[normalise_header(k)] = normalise_header(v)
    except (ConfigError, ValueError, AttributeError) as exc:
        if report is None:
            raise
        report.add("bad_config", HEADERS_FILE, config_line(exc), "-", config_problem(exc),
                   "linjer som 'Køn2: koen' eller 'elever: {Køn2: koen}' (YAML, UTF-8)")
    return mapping


def config_line(exc: Exception):
    return exc.line if isinstance(exc, ConfigError) else "-"


def config_problem(exc: Exception) -> str:
    return exc.problem if isinstance(exc, ConfigError) else str(exc).splitlines()[0][:150]


def canonical(header, table: str, mapping: dict[str, str]) -> str | None:
    """The contract column a header means in ``table``, or None."""
    required, optional = TABLES[table]
    n = normalise_header(header)
    for c in (n, mapping.get(f"{table}:{n}"), mapping.get(n)):
        if c in required + optional:
            return c
    return None
