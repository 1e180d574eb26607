"""The audit in the publish gate: read back what a built site actually publishes and prove it safe.

The suppression (``suppression.py``) decides what may be shown; this module does not trust
that decision.  It reads every table file the site ships — each school's data package CSVs
(its detail tables, which carry the cell ids; a page's own tables have none) and the
explorer's CSVs — and works out which cells (``cells.py``) a reader of the whole site
sees: a row with a value shows its cell; a derived figure (a gap, a change, a deviation)
shows every cell it is computed from; an exact count shows that count.  Then, from the true
internal aggregates:

1. a cell shown in a file that the decision withheld is a leak, named with the files;
2. with everything seen, an LP per connected group of unknown cells (as ``suppression``'s
   test, now from the read-back) must not pin any small group's n or mean, nor any count of
   1–3 pupils.

Any finding makes ``datapakke publish`` refuse (exit 3) and keep the last good site.  What
the HTML pages and their plots show comes from the same published tables as these files
(``tables.py``); the pages, and the page tables in the packages (read back from the pages
themselves, ``pagetables.py``), are not parsed back here.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import store
from . import cells as C, read_aggregates
from .forked import fork_map
from .model import N_MEASURES, build_model
from .tables import KEY_COLUMNS
from .suppression import COUNT_DISPLAY, base_failures, count_status, primary_cells, primary_measure_sets, \
    suppress_counts

#: Count columns of the published tables → their count measure.
COUNT_COLUMNS = {"svarprocent": "besvar", "besvarelser": "besvar", "andel_over_10_pct": "over10",
                 "ulovligt_10": "u10", "ulovligt_15": "u15"}
#: Columns that show a cell itself (its n or a mean).
CELL_VALUES = ["n", "elever", "mean", "sd", "se", "ci_low", "ci_high", *C.MEAN_TYPES]
BASE_FAMILIES = set(C.FAMILIES)


class AuditFailed(RuntimeError):
    """The published files give away a protected cell."""


@dataclass
class Finding:
    cell: str
    how: str
    files: list[str] = field(default_factory=list)

    def text(self) -> str:
        where = ", ".join(self.files[:4]) + (f" … (+{len(self.files) - 4})" if len(self.files) > 4 else "")
        return f"{self.cell}: {self.how}" + (f" — ses i {where}" if where else "")


@dataclass
class Seen:
    """What a reader of all files sees: cell → files, (cell, count measure) → files."""

    cells: dict[str, set] = field(default_factory=dict)
    counts: dict[tuple[str, str], set] = field(default_factory=dict)
    files: int = 0
    page_tables: int = 0

    def cell(self, ids, where) -> None:
        """``where``: one file name, or a file name per id."""
        wheres = [where] * len(ids) if isinstance(where, str) else list(where)
        for i, w in zip(list(ids), wheres):
            self.cells.setdefault(str(i), set()).add(w)

    def count(self, ids, measure: str, where) -> None:
        wheres = [where] * len(ids) if isinstance(where, str) else list(where)
        for i, w in zip(list(ids), wheres):
            self.counts.setdefault((str(i), measure), set()).add(w)


def _shows(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    cols = [c for c in columns if c in frame.columns]
    if not cols:
        return pd.Series(False, index=frame.index)
    return frame[cols].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)


#: Columns read as text (codes such as '0820' and '2025/2026' must not become numbers).
TEXT_COLUMNS = ["kode", "kommunekode", "institutionsnummer", "runde", "gruppe", "skoleaar", "periode", "klassetrin",
                "fra", "til", "from_round", "to_round", "celle", "celle_dreng", "celle_pige", "status", "koen"]


def _read_all(paths: list[Path], site: Path, delimiter: str = ",") -> pd.DataFrame:
    """All files of one name as one frame, each row with its file (``_fil``); pyarrow's fast CSV reader."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.csv as pacsv  # noqa: PLC0415

    if not paths:
        return pd.DataFrame()
    names = [str(p.relative_to(site)) for p in paths]
    if delimiter != ",":  # a page's own table for Danish Excel (text as shown, decimal comma)
        return pd.concat([pd.read_csv(p, sep=delimiter, encoding="utf-8-sig", dtype=str).assign(_fil=n)
                          for p, n in zip(paths, names)], ignore_index=True)
    options = (pacsv.ParseOptions(delimiter=delimiter),
               pacsv.ConvertOptions(column_types={c: pa.string() for c in TEXT_COLUMNS}, strings_can_be_null=True))
    tables = [pacsv.read_csv(p, parse_options=options[0], convert_options=options[1]) for p in paths]
    where = np.repeat(np.array(names, dtype=object), [t.num_rows for t in tables])
    try:
        frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a column typed differently across files: one at a time
        frame = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    frame["_fil"] = where
    return frame


def _numeric_values(frame: pd.DataFrame) -> list[str]:
    """The value columns of a read-back table (not its keys, statuses or band texts)."""
    return [c for c in frame.columns if c not in KEY_COLUMNS and c not in ("celle_dreng", "celle_pige")
            and not c.endswith(("_status", "_tekst")) and pd.api.types.is_numeric_dtype(frame[c])]


def _delimiters(site: Path) -> dict[Path, str]:
    """The delimiter each data package declares for its CSVs (a page's own tables are for Danish Excel: ';')."""
    out = {}
    for descriptor in Path(site).glob("*/*_data/datapackage.json"):
        for r in json.loads(descriptor.read_text(encoding="utf-8")).get("resources", []):
            if isinstance(r.get("dialect"), dict) and isinstance(r.get("path"), str):
                out[descriptor.parent / r["path"]] = r["dialect"].get("delimiter", ",")
    return out


def read_site(site: Path, derived: pd.DataFrame, latest_round: str, latest_year: str) -> Seen:
    """Every cell the site's table files show (each CSV read in the dialect its package declares)."""
    seen = Seen()
    bases: dict[str, list] = {}
    for d, b in zip(derived["celle"].tolist(), derived["grundcelle"].tolist()):
        bases.setdefault(d, []).append(b)
    delimiters = _delimiters(site)
    by_name: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(Path(site).glob("*/*_data/**/*.csv")):
        seen.files += 1
        if delimiters.get(path, ",") != ",":  # a page's own table for Danish Excel: the page's text, no cell ids
            seen.page_tables += 1
            continue
        by_name.setdefault((path.name, ","), []).append(path)
    for (name, delimiter), paths in by_name.items():
        frame = _read_all(paths, site, delimiter)
        where = frame["_fil"]
        if "celle" in frame.columns:
            family = frame["celle"].astype(str).str.split(C.SEP).str[0]
            base = family.isin(BASE_FAMILIES)
            texts = [c for c in frame.columns if c.endswith("_tekst")]
            banded = (frame[texts].notna() & frame[texts].astype(str).ne("")).any(axis=1) if texts else False
            counted = _shows(frame, list(COUNT_COLUMNS))
            shows_cell = base & (_shows(frame, CELL_VALUES) | counted | banded)
            seen.cell(frame.loc[shows_cell, "celle"], where[shows_cell])
            for col, measure in COUNT_COLUMNS.items():
                if col in frame.columns:
                    exact = base & pd.to_numeric(frame[col], errors="coerce").notna()
                    seen.count(frame.loc[exact, "celle"], measure, where[exact])
            shown = ~base & _shows(frame, _numeric_values(frame.drop(columns="_fil")))
            for d, w in zip(frame.loc[shown, "celle"], where[shown]):
                b = bases.get(d, [])
                seen.cell(b, [w] * len(b))
        elif name == "fordelinger.csv":
            from ..explorer import distribution_cells  # noqa: PLC0415

            shown = _shows(frame, ["n", "mean", "sd"])
            seen.cell(distribution_cells(frame)[shown], where[shown])
        elif name == "skoler.csv":
            s = ("S|skole|" + frame["institutionsnummer"] + f"|{latest_round}|faglig_trivsel|alle")
            ok = _shows(frame, ["faglig_trivsel", "n_svar"])
            seen.cell(s[ok], where[ok])
            a = "A|skole|" + frame["institutionsnummer"] + f"|{latest_year}|alle"
            ok = _shows(frame, ["fravaer_pct", "n_elever"])
            seen.cell(a[ok], where[ok])
            ok = _shows(frame, ["over_10_pct"])
            seen.count(a[ok], "over10", where[ok])
        elif name == "skolers_koensforskel.csv":
            base = "S|skole|" + frame["institutionsnummer"] + f"|{latest_round}|faglig_trivsel|"
            seen.cell(base + "dreng", where)
            seen.cell(base + "pige", where)
    return seen


def audit(site: Path, version: Path) -> tuple[list[Finding], dict]:
    """(findings, facts) for the site built from ``version``: [] when nothing can be pinned."""
    started = time.perf_counter()
    pub = store.published(version)
    agg = read_aggregates(Path(version) / "aggregates")
    decided = pd.read_parquet(pub / "celler.parquet").set_index("id")
    derived = pd.read_parquet(pub / "derived.parquet")
    rounds = agg["rounds"]["runde"].tolist()
    years = dict(zip(agg["rounds"]["runde"], agg["rounds"]["skoleaar"]))
    latest_year = max(years.values())
    seen = read_site(site, derived, rounds[-1], latest_year)

    findings = []
    status = decided["status"]
    for cell, files in sorted(seen.cells.items()):
        st = status.get(cell, "ikke_publiceret")
        if st != "vist":
            findings.append(Finding(cell, f"vises, men er {st.replace('ae', 'æ')} diskretioneret"
                                    if st != "ikke_publiceret" else "vises, men indgår ikke i publiceringen", sorted(files)))
    for (cell, measure), files in sorted(seen.counts.items()):
        col = f"status_{measure}"
        st = decided[col].get(cell) if col in decided.columns else None
        if st != "vist":
            findings.append(Finding(cell, f"antallet ({measure}) vises præcist, men må kun vises som interval eller skjult",
                                    sorted(files)))
    if findings:
        return findings, {"files": seen.files, "seconds": time.perf_counter() - started}

    m = build_model(*C.from_aggregates(agg))
    observed = m.cells["id"].isin(list(seen.cells)).to_numpy()
    hidden = ~observed
    primary = primary_cells(m)
    sets = sorted(primary_measure_sets(m, primary), key=lambda ms: ms != N_MEASURES)
    jobs = sets[:1] + [x for x in COUNT_DISPLAY if not np.isnan(m.values[x]).all()] + sets[1:]  # the longest first
    results = fork_map(_lp_job, jobs, (m, hidden, primary, seen, decided))
    findings += [Finding(cell, how) for found in results for cell, how in found]
    return findings, {"files": seen.files, "page_tables": seen.page_tables, "cells_seen": len(seen.cells),
                      "seconds": time.perf_counter() - started}


def _lp_job(state: tuple, job: str | tuple) -> list[tuple[str, str]]:
    """One LP pass over what the site shows: a measure set of the cells (their n and a mean,
    ``model.measure_sets``), or one count measure."""
    m, hidden, primary, seen, decided = state
    if isinstance(job, tuple):
        return [(m.ids[cell], f"kan regnes ud af de viste tal ({why})")
                for (cell, why, _), _comp in base_failures(m, hidden, primary, only=job)]
    short = job[2:]
    given = count_status(m, job, hidden)
    exact = m.cells["id"].map(lambda i: (i, short) in seen.counts).to_numpy()
    decision = m.cells["id"].map(decided[f"status_{short}"]).fillna("").to_numpy() if f"status_{short}" in decided else None
    st = given["status"].to_numpy(dtype=object)
    if decision is not None:
        st[(st != "") & ~exact & (decision == "skjult")] = "skjult"
    st[exact & (st != "")] = "vist"
    given["status"] = st
    return [(m.ids[cell], f"antallet ({short}) kan indsnævres til 1–3 elever")
            for cell in suppress_counts(m, job, hidden, primary, given=given, repair=False)]


def check(site: Path, version: Path) -> dict:
    """Raise ``AuditFailed`` naming the cells and files when the site gives a protected cell away."""
    findings, facts = audit(site, version)
    if findings:
        raise AuditFailed("Webstedet er IKKE udgivet: revisionen af de publicerede tabeller fandt "
                          f"{len(findings)} beskyttede celler, som kan ses eller regnes ud:\n"
                          + "\n".join(f.text() for f in findings[:20])
                          + (f"\n… og {len(findings) - 20} mere" if len(findings) > 20 else ""))
    return facts
