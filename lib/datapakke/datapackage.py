"""The school's tables as a Frictionless data package (CSV + datapackage.json) and one Excel file.

Why both: the consultant pastes into Excel; the researcher wants typed, described CSV.
Only the school's slice of the already suppressed aggregates goes in — never a pupil row.
The descriptor is written as the Frictionless standard describes it (typed fields from the
pandas dtypes); the build does not re-validate every package with the frictionless library
(≈ 1 s a school): ``validate_package`` does, in the tests and in ``datapakke check-site``, and
``write_school_package(validate=True)`` on request.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from . import config
from .report import SchoolReport

#: table name → (Danish title, description)
TABLES = {
    "survey_means": ("Kortlægning: scorer", "Gennemsnitlig score (500-skala) pr. niveau, runde, dimension og gruppe, med 95 %-interval."),
    "survey_change": ("Kortlægning: ændring", "Ændring fra forrige runde med 95 %-interval (Welch)."),
    "response_rates": ("Svarprocent", "Elever, besvarelser og svarprocent pr. runde og klassetrin."),
    "gender_gaps": ("Kønsforskelle", "Drenge − piger pr. runde og dimension: forskel, 95 %-interval, Hedges' g, p (Holm-korrigeret)."),
    "gender_gaps_grade": ("Kønsforskelle pr. klassetrinsgruppe", "Som kønsforskelle, opdelt på 0.–3., 4.–6. og 7.–9. klasse."),
    "absence": ("Fravær", "Fravær i procent af skoledage efter type, samlet, pr. køn og pr. klassetrin."),
    "absence_month": ("Fravær pr. måned", "Fravær i procent pr. måned."),
    "absence_triggers": ("Ulovligt fravær i et kvartal", "Antal elever med mindst 10 % og 15 % ulovligt fravær i et kvartal."),
    "absence_wellbeing": ("Fravær og faglig trivsel", "Faglig trivsel (500-skala) efter elevernes samlede fravær."),
    "absence_change": ("Fravær: ændring", "Ændring i samlet fravær fra forrige skoleår med 95 %-interval (Welch)."),
    "gender_gap_change": ("Kønsforskel: ændring", "Ændring i kønsforskellen mellem runderne med 95 %-interval."),
    "deviation": ("Afvigelse fra kommunen", "Skolen − kommunen pr. runde og dimension, Holm-korrigeret."),
    "flags": ("Opmærksomhedspunkter", "Punkter fundet af de faste regler, med tallet bag og et spørgsmål."),
}


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(4)
        elif out[c].dtype.kind == "b":
            out[c] = out[c].astype(bool)
    return out.reset_index(drop=True)


def _schema(frame: pd.DataFrame) -> dict:
    """Field types from the pandas dtypes, not inferred: codes like '820' must stay strings."""
    kinds = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "M": "datetime"}
    return {"fields": [{"name": str(c), "type": kinds.get(frame[c].dtype.kind, "string")} for c in frame.columns]}


def validate_package(folder: Path) -> list[str]:
    """Validate a written package with the frictionless library; the problems, or [] when valid."""
    from frictionless import validate  # noqa: PLC0415 - slow to import; only tests and check-site need it

    report = validate(str(Path(folder) / "datapackage.json"))
    if report.valid:
        return []
    return [str(e) for e in report.flatten(["rowNumber", "fieldName", "type", "note"])]


def _write_xlsx(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """One sheet per table, header in bold; blank cells for missing values (xlsxwriter, row by row)."""
    import xlsxwriter  # noqa: PLC0415

    with xlsxwriter.Workbook(str(path)) as book:
        bold = book.add_format({"bold": True})
        for name, frame in tables.items():
            sheet = book.add_worksheet(name[:31])
            sheet.write_row(0, 0, [str(c) for c in frame.columns], bold)
            columns = []
            for c in frame.columns:
                values, missing = frame[c].tolist(), frame[c].isna().tolist()
                columns.append([None if m else v for v, m in zip(values, missing)])
            for i, row in enumerate(zip(*columns), start=1):
                sheet.write_row(i, 0, row)


def school_tables(p: dict, paths: config.Paths) -> dict[str, pd.DataFrame]:
    r = SchoolReport.load(p["school_id"], paths.processed)
    tables = {}
    for name in TABLES:
        t = _slice(r.folder / f"{name}.parquet", [("skole", r.school_id), ("kommune", r.municipality_code),
                                                   ("program", "program")])
        if len(t.columns):  # an empty table (e.g. no flags) still ships, with its header
            tables[name] = _clean(t)
    nat = _slice(r.folder / "national.parquet", [("skole", r.school_id), ("kommune", r.municipality_code),
                                                 ("land", "DK")])
    if not nat.empty:
        tables["national"] = _clean(nat)
    return tables


_tables: dict[Path, pd.DataFrame] = {}


def _slice(path: Path, codes: list[tuple[str, str]]) -> pd.DataFrame:
    """The rows of (niveau, kode) in ``codes``, in file order — ``SchoolReport.slice``'s rows.

    A build writes one package after another in the same worker: each aggregate table is read
    once per processed version (the version folder's name is a digest of its content) and kept.
    """
    if not path.is_file():
        return pd.DataFrame()
    if path not in _tables:
        if len(_tables) > 64:
            _tables.clear()
        _tables[path] = pd.read_parquet(path)
    frame = _tables[path]
    keep = pd.Series(False, index=frame.index)
    for niveau, kode in codes:
        keep |= (frame["niveau"] == niveau) & (frame["kode"] == kode)
    return frame[keep]


def write_school_package(p: dict, paths: config.Paths, folder: Path, validate: bool = False) -> Path:
    """Write CSVs, datapackage.json and an .xlsx (validated if asked); then swap the folder in atomically."""
    folder = Path(folder)
    tables = school_tables(p, paths)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        resources = []
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
            title, description = TABLES.get(name, ("Nationale tal", "Offentliggjorte tal for skole, kommune og land."))
            resources.append({"name": name.replace("_", "-"), "type": "table", "title": title,
                              "description": description, "path": f"{name}.csv", "scheme": "file",
                              "format": "csv", "mediatype": "text/csv", "schema": _schema(frame)})
        package = {
            "name": f"datapakke-{p['school_id']}", "title": f"Datapakke: {p['school_name']}",
            "description": (f"Aggregerede, diskretionerede tabeller bag datapakken for {p['school_name']} "
                            f"({p['municipality']} Kommune). Ingen elevdata."),
            "resources": resources,
        }
        (staging / "datapackage.json").write_text(json.dumps(package, indent=2, ensure_ascii=False), encoding="utf-8")
        if validate and (errors := validate_package(staging)):
            raise ValueError(f"Datapakken for {p['school_id']} er ugyldig: {errors[:5]}")
        _write_xlsx(staging / f"datapakke-{p['school_id']}.xlsx", tables)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
