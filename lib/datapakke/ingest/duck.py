"""The big tables (``kortlaegning_svar``, ``fravaer``) out of core: checked and reduced in DuckDB.

A whole country has ~43 M answers and ~23 M absence records: as pandas frames (with the
copies every step makes) that needs far more memory than a laptop has.  When such a table is
a Parquet file with exactly the contract's columns, under their own names and of plain types
(``eligible``), the ingest leaves its rows on disk and asks DuckDB:

* ``problems``: every rule the pandas road applies to the table's rows, as counts over the
  file -- values the parse step would change or reject, unknown pupils and questions,
  duplicates, more than a day of absence, records outside the pupil's school years or on a
  day that is not a school day, no reference round.  The DuckDB road only ever decides
  "clean": on *any* finding the ingest reads the raw folder the pandas way instead, so the
  user gets exactly the messages (file, row, column, value) that road gives;
* ``answered_rounds``: what the empty-round warning needs;
* ``rounds_matrix``: the pupil-rounds and their answer matrix, one row per pupil and round in
  the order of their first answer in the file (as ``survey.answer_matrix`` gives them);
* ``absence_days``: absent days per pupil × school year / month / quarter and type
  (``attendance.AbsenceDays``);
* ``write_pseudonymised``: the table as the processed Parquet.

Pupil ids are pseudonymised once per distinct pupil (``pupil_ids``) and joined in; the rows
that leave DuckDB carry pseudonyms only.  DuckDB runs with a ``memory_limit`` and a
``temp_directory`` inside the processed folder (removed afterwards), so it spills to disk
rather than growing.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import attendance, config, frames, store
from .headers import canonical
from .sources import Source

BIG_TABLES = ("kortlaegning_svar", "fravaer")
#: DuckDB's own memory (the ingest's pandas frames come on top of it); it spills beyond this.
MEMORY_LIMIT = os.environ.get("DATAPAKKE_DUCKDB_MEMORY", "1500MB")
TEXT, DATE, NUMBER = "text", "date", "number"
#: The columns (and the kind of Parquet type) a file must have exactly to stay on disk.
COLUMNS = {
    "kortlaegning_svar": {"elev_id": TEXT, "runde": TEXT, "dato": DATE, "spoergsmaal_id": TEXT, "svar": NUMBER},
    "fravaer": {"elev_id": TEXT, "dato": DATE, "fravaerstype": TEXT, "omfang": NUMBER},
}
#: An id the parse step leaves as it is: no spaces, no '861010.0', not a word for blank.
CLEAN_ID = "[0-9A-Za-z_-]+"
BLANK_WORDS = ("nan", "NaN", "None", "NaT")


@dataclass(frozen=True)
class BigFile:
    table: str
    file: str  # as messages name it
    path: Path


def _kind(t) -> str | None:
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return TEXT
    if pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None):
        return DATE
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return NUMBER
    return None


def eligible(sources: dict[str, Source | None], mapping: dict[str, str]) -> dict[str, BigFile]:
    """The big tables whose file DuckDB can check and reduce without pandas."""
    import pyarrow.parquet as pq

    out = {}
    for table in BIG_TABLES:
        s = sources.get(table)
        if s is None or s.via_sources_file or s.sheet is not None or s.path.suffix.lower() != ".parquet":
            continue
        try:
            with pq.ParquetFile(s.path) as f:
                kinds = {field.name: _kind(field.type) for field in f.schema_arrow}
                rows = f.metadata.num_rows
        except Exception:  # noqa: BLE001 - not readable as Parquet: the pandas road says why
            continue
        if kinds == COLUMNS[table] and rows > 0 and all(canonical(c, table, mapping) == c for c in kinds):
            out[table] = BigFile(table, s.name, s.path)
    return out


@contextlib.contextmanager
def session(spill_parent: Path | None = None) -> Iterator:
    """A DuckDB connection that spills to a temporary folder in ``spill_parent`` (removed on exit)."""
    import duckdb

    if spill_parent is not None:
        Path(spill_parent).mkdir(parents=True, exist_ok=True)
    # the process id in the name lets the next ingest remove it if this one is killed (store.remove_stale_staging)
    with tempfile.TemporaryDirectory(prefix=f"{store.SPILL}{os.getpid()}-", dir=spill_parent) as spill:
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = {_literal(MEMORY_LIMIT)}")
            con.execute(f"SET temp_directory = {_literal(spill)}")
            con.execute("""CREATE MACRO dp_school_year(d) AS
                           CAST(year(d) - CAST(month(d) < 8 AS INTEGER) AS VARCHAR) || '/'
                           || CAST(year(d) - CAST(month(d) < 8 AS INTEGER) + 1 AS VARCHAR)""")
            yield con
        finally:
            con.close()


def _frame(con, sql: str, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """A query's result as pandas through Arrow: text as pandas' string columns, or as categoricals.

    ``categories``: columns that come as categoricals in text order (``frames``), dictionary-encoded
    in Arrow first, so the many-times-repeated texts of a big result are never pandas text.
    """
    import pyarrow.compute as pc

    table = con.sql(sql).to_arrow_table()
    for name in categories:
        table = table.set_column(table.schema.get_field_index(name), name, pc.dictionary_encode(table.column(name)))
    return frames.compact(table.to_pandas(), categories)


def release(con) -> None:
    """Make DuckDB hand back the memory it keeps cached after a big query (it stays within its limit).

    A country's reductions fill DuckDB's buffers to ``MEMORY_LIMIT``; DuckDB keeps them for the next
    query, but the pandas steps that follow need that memory.  Lowering the limit for a moment
    evicts the cache.
    """
    con.execute("SET memory_limit = '32MB'")
    con.execute(f"SET memory_limit = {_literal(MEMORY_LIMIT)}")


def _literal(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def attach(con, big: dict[str, BigFile]) -> None:
    """The files as views ``kortlaegning_svar`` / ``fravaer`` (dates as DATE, with the file's row number)."""
    for table, b in big.items():
        con.execute(f"""CREATE OR REPLACE VIEW {table} AS
                        SELECT * REPLACE (CAST(dato AS DATE) AS dato)
                        FROM read_parquet({_literal(b.path)}, file_row_number = true)""")


def register_small(con, tables: dict[str, pd.DataFrame]) -> None:
    """The parsed small tables the rules look things up in."""
    elever = tables["elever"].dropna(subset=["elev_id", "skoleaar", "institutionsnummer"])
    con.register("dp_enrolled", elever[["elev_id", "skoleaar", "institutionsnummer"]]
                 .drop_duplicates(["elev_id", "skoleaar"]).reset_index(drop=True))
    con.register("dp_pupils", pd.DataFrame({"elev_id": elever["elev_id"].unique()}))
    spm = tables["kortlaegning_spoergsmaal"]
    con.register("dp_items", pd.DataFrame({"spoergsmaal_id": spm["spoergsmaal_id"].dropna().unique()}))
    if "skoledage" in tables:
        days = tables["skoledage"][["institutionsnummer", "dato"]].dropna().drop_duplicates()
        con.register("dp_school_days", days.assign(dato=days["dato"].dt.date).reset_index(drop=True))


def _bad_id(col: str = "elev_id") -> str:
    blank = ", ".join(_literal(w) for w in BLANK_WORDS)
    return f"({col} IS NULL OR NOT regexp_full_match({col}, {_literal(CLEAN_ID)}) OR {col} IN ({blank}))"


def problems(con, big: dict[str, BigFile]) -> dict[str, int]:
    """Rule → rows that break it, over the big files (after ``attach`` and ``register_small``); only non-zero."""
    found: dict[str, int] = {}
    if "kortlaegning_svar" in big:
        rounds = ", ".join(_literal(r) for r in config.ROUNDS)
        row = con.execute(f"""
            SELECT count(*) FILTER (WHERE {_bad_id()}),
                   count(*) FILTER (WHERE runde IS NULL OR runde NOT IN ({rounds})),
                   count(*) FILTER (WHERE dato IS NULL),
                   count(*) FILTER (WHERE spoergsmaal_id IS NULL
                                    OR spoergsmaal_id NOT IN (SELECT spoergsmaal_id FROM dp_items)),
                   count(*) FILTER (WHERE svar IS NOT NULL AND svar NOT IN (1, 2, 3, 4, 5)),
                   count(*) FILTER (WHERE elev_id NOT IN (SELECT elev_id FROM dp_pupils)),
                   CAST(count(*) FILTER (WHERE runde = {_literal(config.ROUNDS[0])}) = 0 AS INTEGER)
            FROM kortlaegning_svar""").fetchall()[0]
        found.update(zip(("svar:elev_id", "svar:runde", "svar:dato", "svar:spoergsmaal_id", "svar:svar",
                          "svar:unknown_pupil", "svar:no_reference_round"), row))
        found["svar:duplicate"] = con.execute("""
            SELECT count(*) FROM (SELECT elev_id, runde, spoergsmaal_id FROM kortlaegning_svar
                                  GROUP BY ALL HAVING count(*) > 1)""").fetchall()[0][0]
        found["svar:not_enrolled"] = con.execute("""
            SELECT count(*) FROM kortlaegning_svar s ANTI JOIN dp_enrolled e
            ON s.elev_id = e.elev_id AND dp_school_year(s.dato) = e.skoleaar""").fetchall()[0][0]
    if "fravaer" in big:
        types = ", ".join(_literal(t) for t in config.ABSENCE_TYPES)
        row = con.execute(f"""
            SELECT count(*) FILTER (WHERE {_bad_id()}),
                   count(*) FILTER (WHERE dato IS NULL),
                   count(*) FILTER (WHERE fravaerstype IS NULL OR fravaerstype NOT IN ({types})),
                   count(*) FILTER (WHERE omfang IS NULL OR NOT (omfang > 0 AND omfang <= 1)),
                   count(*) FILTER (WHERE elev_id NOT IN (SELECT elev_id FROM dp_pupils))
            FROM fravaer""").fetchall()[0]
        found.update(zip(("fravaer:elev_id", "fravaer:dato", "fravaer:fravaerstype", "fravaer:omfang",
                          "fravaer:unknown_pupil"), row))
        found["fravaer:day"] = con.execute("""
            SELECT count(*) FROM (SELECT elev_id, dato FROM fravaer GROUP BY ALL
                                  HAVING count(*) > count(DISTINCT fravaerstype) OR sum(omfang) > 1 + 1e-9)
            """).fetchall()[0][0]
        found["fravaer:not_enrolled"] = con.execute("""
            SELECT count(*) FROM fravaer f ANTI JOIN dp_enrolled e
            ON f.elev_id = e.elev_id AND dp_school_year(f.dato) = e.skoleaar""").fetchall()[0][0]
        found["fravaer:not_school_day"] = con.execute("""
            SELECT count(*) FROM fravaer f
            JOIN dp_enrolled e ON f.elev_id = e.elev_id AND dp_school_year(f.dato) = e.skoleaar
            ANTI JOIN dp_school_days d ON d.institutionsnummer = e.institutionsnummer AND d.dato = f.dato
            """).fetchall()[0][0]
    release(con)
    return {k: int(v) for k, v in found.items() if v}


def answered_rounds(con):
    """``validate.AnsweredRounds`` of the answers file (answers given, keys known, rounds T1–T3)."""
    from ..validate import AnsweredRounds

    rounds = ", ".join(_literal(r) for r in config.ROUNDS)
    where = f"svar IS NOT NULL AND elev_id IS NOT NULL AND dato IS NOT NULL AND runde IN ({rounds})"
    days = _frame(con, f"""SELECT runde, CAST(dato AS TIMESTAMP) AS dato, count(*) AS n FROM kortlaegning_svar
                           WHERE {where} GROUP BY ALL ORDER BY ALL""")
    pupils = _frame(con, f"SELECT DISTINCT elev_id, runde FROM kortlaegning_svar WHERE {where} ORDER BY ALL")
    days["dato"] = days["dato"].astype("datetime64[ns]")
    days["n"] = days["n"].astype(np.int64)
    return AnsweredRounds(days, pupils)


def pupil_ids(con, elever: pd.DataFrame, pseudonymise) -> None:
    """Every pupil's pseudonym, once per distinct id, as the table ``dp_ids`` (elev_id → pseudonym)."""
    raw = pd.Series(elever["elev_id"].dropna().unique())
    con.register("dp_ids", pd.DataFrame({"elev_id": raw, "pseudonym": pseudonymise(raw).to_numpy()}))


def rounds_matrix(con, item_ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """(pupil-rounds: elev_id as pseudonym, runde, dato; R×K answers) in the order of each round's first answer.

    Fetched in batches straight into the matrix: never a second copy of a country's answers.
    """
    cols = ",\n".join(f"CAST(max(s.svar) FILTER (WHERE s.spoergsmaal_id = {_literal(k)}) AS DOUBLE) AS q{i}"
                       for i, k in enumerate(item_ids))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE dp_rounds AS
        SELECT i.pseudonym AS elev_id, s.runde, CAST(min(s.dato) AS TIMESTAMP) AS dato,
               min(s.file_row_number) AS first_row, {cols}
        FROM kortlaegning_svar s JOIN dp_ids i ON s.elev_id = i.elev_id
        GROUP BY i.pseudonym, s.runde""")
    n = con.execute("SELECT count(*) FROM dp_rounds").fetchall()[0][0]
    matrix = np.empty((n, len(item_ids)), dtype=np.float32)  # answers 1–5 and NaN: exact in 32 bits, half the memory
    keys: list[pd.DataFrame] = []
    reader = con.sql("SELECT * EXCLUDE (first_row) FROM dp_rounds ORDER BY first_row").to_arrow_reader(200_000)
    at = 0
    for batch in reader:
        rows = batch.num_rows
        for j in range(len(item_ids)):
            matrix[at:at + rows, j] = batch.column(3 + j).to_numpy(zero_copy_only=False)
        keys.append(batch.select([0, 1, 2]).to_pandas())
        at += rows
    con.execute("DROP TABLE dp_rounds")
    release(con)
    rounds = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame(columns=["elev_id", "runde", "dato"])
    rounds["dato"] = rounds["dato"].astype("datetime64[ns]")
    return rounds, matrix


def absence_days(con) -> attendance.AbsenceDays:
    """Absent days per type for every pupil (pseudonym) × school year, × month and × quarter."""
    sums = ", ".join(f"coalesce(fsum(f.omfang) FILTER (WHERE f.fravaerstype = {_literal(t)}), 0.0) AS {t}"
                     for t in attendance.TYPES)
    periods = {None: None, "M": "strftime(f.dato, '%Y-%m')",
               "Q": "CAST(year(f.dato) AS VARCHAR) || 'Q' || CAST(quarter(f.dato) AS VARCHAR)"}
    out = {}
    for freq, period in periods.items():
        extra = f", {period} AS periode" if period else ""
        out[freq] = _frame(con, f"""
            SELECT i.pseudonym AS elev_id, dp_school_year(f.dato) AS skoleaar{extra}, {sums}
            FROM fravaer f JOIN dp_ids i ON f.elev_id = i.elev_id
            GROUP BY ALL ORDER BY ALL""", categories=("elev_id", "skoleaar", "periode") if period else
            ("elev_id", "skoleaar"))
    release(con)
    return attendance.AbsenceDays(out[None], out["M"], out["Q"])


def write_pseudonymised(con, table: str, path: Path) -> None:
    """The table as the processed Parquet: pseudonyms, the parsed types, rows in key order."""
    if table == "kortlaegning_svar":
        select = ("i.pseudonym AS elev_id, s.runde, CAST(s.dato AS TIMESTAMP_NS) AS dato, s.spoergsmaal_id, "
                  "CAST(s.svar AS DOUBLE) AS svar")
        order = "1, 2, 4"
    else:
        select = ("i.pseudonym AS elev_id, CAST(s.dato AS TIMESTAMP_NS) AS dato, s.fravaerstype, "
                  "CAST(s.omfang AS DOUBLE) AS omfang")
        order = "1, 2, 3"
    con.execute(f"""COPY (SELECT {select} FROM {table} s JOIN dp_ids i ON s.elev_id = i.elev_id ORDER BY {order})
                    TO {_literal(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {store.ROW_GROUP})""")
    release(con)
