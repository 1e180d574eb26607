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
  bare separators are skipped, but row numbers stay the lines the user sees.  A file that is
  something else (PDF, a workbook, HTML, UTF-16 without BOM, binary) is named as such.
* **Excel.** The first sheet, or the sheet named after the table, or the one ``kilder.yaml``
  names; title rows above the header are skipped (the header is the first row with known
  column names).  Cells keep their type: a number is a number, a date a date.
* **Headers.** Case, spaces, punctuation and ``æøå`` vs ``ae/oe/aa`` don't matter, common
  synonyms are known (``HEADER_SYNONYMS``), more go in ``kolonnenavne.yaml``.
* **Values.** Gender dreng/pige, M/K, D/P; Likert 1–5 or Danish labels; dates ISO,
  dd-mm-yyyy, dd.mm.yyyy (and Excel dates); numbers with decimal comma and thousands point.
  The codebook's dimensions and the national indicators are closed lists (``categories``),
  extended on purpose in ``kategorier.yaml``.
* **Identifiers** stay strings.  Leading zeros are restored only where that is provably
  right (``pad_ids``): a kommunekode is always three digits (``85`` → ``085``); an
  institutionsnummer is padded to six digits only when it came as a *number* from Excel or
  Parquet (the format cannot hold the zero).  Text is never padded: ``12345`` in a CSV is
  reported, because a missing digit could be anywhere.  ``elev_id`` is never padded.

The modules: ``tables`` (the contract), ``readers`` (bytes → a frame as found, ``errors`` for
what goes wrong), ``sources`` (which file is which table), ``headers``, ``values`` (parsing),
``load`` (one table), ``categories`` (closed lists), ``national`` (the ministry's downloads and
one value per national figure), ``duck`` (the big tables out of core) and this module (the stage).

``load_all`` collects every problem (``validate``) before anything is written; ``ingest``
then pseudonymises, scores and aggregates into a new processed version that is switched
atomically (``store.new_version``); identical input gives byte-identical output.

The answers and the absence records are the big tables (a whole country: ~43 M and ~23 M
rows).  Given a DuckDB connection (``ingest`` and ``check`` do), ``load_all`` leaves them on
disk when they are plain Parquet files (``duck.eligible``), checks them in DuckDB, and only
when they are clean returns them as files (``Loaded.frame`` None, ``Loaded.big`` set); on any
finding it reads the raw folder again the pandas way, so every message is the one that road
gives.  ``ingest`` then reduces them in DuckDB to the pupil-level frames ``survey`` and
``aggregate`` need.  ``engine="pandas"`` reads everything into pandas.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import aggregate, config, frames, privacy, publication, store, survey
from . import duck
from ..validate import DataError, Report, check_columns, cpr_checks, cross_checks, enrolment_checks  # noqa: F401
from ..validate import _school_year_of as validate_school_year
from . import categories
from .categories import category_checks
from .headers import HEADER_SYNONYMS, canonical, header_map, normalise_header  # noqa: F401
from .load import Loaded, load_table
from .national import _combine_national, read_ministry_files
from .readers import ReadError, RawFile, decode, detect_encoding, read_any, read_file, sniff_separator  # noqa: F401
from .sources import Source, _data_files, find_sources  # noqa: F401
from .tables import (  # noqa: F401
    EXCEL, EXTENSIONS, HEADERS_FILE, MINISTRY_DIR, NOT_DATA, REQUIRED_TABLES, SOURCES_FILE, TABLES, UNSUPPORTED,
)
from .values import (  # noqa: F401
    _parse_values, pad_ids, parse_column, parse_date, parse_grade, parse_id, parse_number, parse_school_year,
)

@dataclass(frozen=True)
class IngestResult:
    version: Path
    report: Report
    demo: bool
    #: Seconds per stage: reading and checking, scores and absence days, writing and aggregates, publication.
    seconds: dict[str, float] = field(default_factory=dict)


def _default_school_days(skoler: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    from ..demo import school_days

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


def load_all(raw: Path, con=None) -> tuple[dict[str, Loaded], Report]:
    """Read and check every table; nothing is written.

    Every check runs on whatever could be read, so one run lists all problems.  Rows that
    are only warned about (absence on a non-school day, records outside the pupil's school
    years) are already left out of the returned frames.  Without ``skoledage`` the default
    Danish calendar is returned in its place.

    With a DuckDB connection (``duck.session``) clean big Parquet tables stay on disk: their
    ``Loaded`` has ``frame`` None and ``big`` set, and they are attached to ``con``.
    """
    if con is not None:
        got = _load_all(Path(raw), con)
        if got is not None:
            return got
    return _load_all(Path(raw), None)


def _load_all(raw: Path, con) -> tuple[dict[str, Loaded], Report] | None:
    """``load_all``; with ``con``, None when a big table left on disk breaks a rule (read it all in pandas)."""
    report = Report()
    if not raw.is_dir():
        report.add("missing_file", str(raw), "-", "-", "ingen mappe", "en mappe med rådata (se README: Data contract)")
        return {}, report
    mapping = header_map(raw, report)
    sources = find_sources(raw, report)
    big = duck.eligible(sources, mapping) if con is not None else {}
    if con is not None and not big:
        return None
    loaded = {t: load_table(sources.get(t), t, raw, report, mapping)
              for t in TABLES if not (t in sources and sources[t] is None) and t not in big}
    loaded = {t: v for t, v in loaded.items() if v is not None}
    for t, v in loaded.items():
        check_columns(t, v.frame, v.file, v.rows, report, v.raw)
    cpr_checks({t: (v.file, v.raw, v.rows) for t, v in loaded.items()}, report)
    category_checks({t: (v.file, v.frame, v.raw, v.rows) for t, v in loaded.items()}, categories.declared(raw, report),
                    report)
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

    if big and (report.errors or not all(t in loaded or t in big for t in REQUIRED_TABLES)):
        return None  # the pandas road reports the big tables' rows among the other problems
    if all(t in loaded or t in big for t in REQUIRED_TABLES):
        tables = {t: v.frame for t, v in loaded.items()}
        files = {t: v.file for t, v in loaded.items()} | {t: b.file for t, b in big.items()}
        rows = {t: v.rows for t, v in loaded.items()}
        answered = None
        if big:
            duck.attach(con, big)
            if "kortlaegning_svar" in big:
                answered = duck.answered_rounds(con)
        cross_checks(tables, files, rows, report, answered)
        _complete_calendar(loaded, report)
        tables["skoledage"] = loaded["skoledage"].frame
        files["skoledage"] = loaded["skoledage"].file
        if big:
            if report.errors:
                return None
            duck.register_small(con, tables)
            if duck.problems(con, big):
                return None
            loaded.update({t: Loaded(t, b.file, None, None, None, b) for t, b in big.items()})
        keep = enrolment_checks(tables, files, rows, report) if not report.errors else {}
        for t, k in keep.items():
            if not k.all():
                v = loaded[t]
                loaded[t] = Loaded(t, v.file, v.frame[k].reset_index(drop=True), v.rows[k].reset_index(drop=True),
                                   v.raw[k].reset_index(drop=True) if v.raw is not None else None)
    return loaded, report


ENGINES = ("auto", "pandas")


def check(raw: Path, engine: str = "auto") -> Report:
    """Validate the raw folder only: the report ``ingest`` would give, nothing written."""
    if engine == "pandas":
        return load_all(raw)[1]
    with duck.session() as con:
        return load_all(raw, con)[1]


def ingest(raw: Path, processed: Path, engine: str = "auto") -> IngestResult:
    """raw → validated, pseudonymised, scored and aggregated → a new processed version.

    Raises ``DataError`` (with every problem) before anything is written.  ``engine``:
    "auto" leaves clean big Parquet tables to DuckDB (module docstring), "pandas" reads all.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: one of {ENGINES}, not {engine!r}")
    raw, processed = Path(raw), Path(processed)
    if engine == "pandas":
        return _ingest(raw, processed, None)
    with duck.session(processed) as con:
        return _ingest(raw, processed, con)


def _ingest(raw: Path, processed: Path, con) -> IngestResult:
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[stage] = now - started
        started = now

    demo = store.is_demo(raw)
    loaded, report = load_all(raw, con)
    report.raise_if_errors()
    lap("læsning og kontrol")
    key = privacy.load_key(demo, forbidden=(raw, processed))  # before any work on pupil data
    t = {name: v.frame for name, v in loaded.items() if v.big is None}
    big = {name: v.big for name, v in loaded.items() if v.big is not None}
    if big:
        duck.pupil_ids(con, t["elever"], lambda ids: privacy.pseudonymise(ids, key))

    for name in ("elever", "kortlaegning_svar", "fravaer"):
        if name in t:
            t[name] = t[name].assign(elev_id=privacy.pseudonymise(t[name]["elev_id"], key))
    t["elever"]["klassetrin"] = t["elever"]["klassetrin"].astype(int)
    if "klassetrin_fra" in t["kortlaegning_spoergsmaal"]:
        q = t["kortlaegning_spoergsmaal"]
        q["klassetrin_fra"] = q["klassetrin_fra"].fillna(0).astype(int)
    if "antal" in t.get("nationale_tal", pd.DataFrame()):
        t["nationale_tal"]["antal"] = t["nationale_tal"]["antal"].astype(float)
    if "kortlaegning_svar" in big:
        codebook = survey.Codebook.from_frame(t["kortlaegning_spoergsmaal"])
        rounds, matrix = duck.rounds_matrix(con, codebook.item_ids)
        scores = survey.scores_from_matrix(rounds, matrix, codebook, t["elever"], t["skoler"])
        del rounds, matrix
        frames.give_back_memory()
    else:
        scores = survey.pupil_scores(t["kortlaegning_svar"], t["kortlaegning_spoergsmaal"], t["elever"], t["skoler"])
    tables = dict(t)
    if "fravaer" in big:
        tables["fravaer"] = duck.absence_days(con)
    lap("scorer og fravær")

    with store.new_version(processed) as out:
        for name, frame in t.items():
            store.write_parquet(frame.sort_values(list(frame.columns[:2])).reset_index(drop=True), out / f"{name}.parquet")
        for name in big:
            duck.write_pseudonymised(con, name, out / f"{name}.parquet")
        store.write_parquet(scores, out / "scores.parquet")
        aggregate.write_all(tables, scores, out / "aggregates")
        # The publication reads the aggregates back: no pupil-level frame is needed from here on.
        del t, tables, scores, loaded
        frames.give_back_memory()
        lap("skrivning og aggregater")
        publication.write_all(out / "aggregates", out / publication.FOLDER)
        lap("publikation")
        if demo:
            (out / config.DEMO_FILE).write_text(config.DEMO_MARKER + "\n", encoding="utf-8")
        (out / "valideringsrapport.txt").write_text(report.text() + "\n", encoding="utf-8")
    return IngestResult(store.current(processed), report, demo, seconds)
