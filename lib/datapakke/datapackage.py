"""The school's tables as a Frictionless data package (CSV + datapackage.json) and one Excel file.

Why both: the consultant pastes into Excel; the researcher wants typed, described CSV.
Only the school's slice of the already suppressed aggregates goes in — never a pupil row.
The package is validated with the frictionless library before it replaces the old one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from frictionless import Package, Resource, Schema, validate

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


def _schema(frame: pd.DataFrame) -> Schema:
    """Field types from the pandas dtypes, not inferred: codes like '820' must stay strings."""
    kinds = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "M": "datetime"}
    return Schema.from_descriptor({"fields": [
        {"name": str(c), "type": kinds.get(frame[c].dtype.kind, "string")} for c in frame.columns]})


def school_tables(p: dict, paths: config.Paths) -> dict[str, pd.DataFrame]:
    r = SchoolReport.load(p["school_id"], paths.processed)
    tables = {}
    for name in TABLES:
        t = r.slice(name)
        if len(t.columns):  # an empty table (e.g. no flags) still ships, with its header
            tables[name] = _clean(t)
    nat = r.national_rows()
    if not nat.empty:
        tables["national"] = _clean(nat)
    return tables


def write_school_package(p: dict, paths: config.Paths, folder: Path) -> Path:
    """Write CSVs, datapackage.json and an .xlsx; validate; then swap the folder in atomically."""
    folder = Path(folder)
    tables = school_tables(p, paths)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        resources = []
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
            title, description = TABLES.get(name, ("Nationale tal", "Offentliggjorte tal for skole, kommune og land."))
            res = Resource(path=f"{name}.csv", basepath=str(staging), name=name.replace("_", "-"),
                           title=title, description=description, schema=_schema(frame))
            resources.append(res)
        package = Package(
            name=f"datapakke-{p['school_id']}", title=f"Datapakke: {p['school_name']}",
            description=(f"Aggregerede, diskretionerede tabeller bag datapakken for {p['school_name']} "
                         f"({p['municipality']} Kommune). Ingen elevdata."),
            resources=resources, basepath=str(staging),
        )
        package.to_json(str(staging / "datapackage.json"))
        report = validate(str(staging / "datapackage.json"))
        if not report.valid:
            errors = report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
            raise ValueError(f"Datapakken for {p['school_id']} er ugyldig: {errors}")
        with pd.ExcelWriter(staging / f"datapakke-{p['school_id']}.xlsx", engine="openpyxl") as xl:
            for name, frame in tables.items():
                frame.to_excel(xl, sheet_name=name[:31], index=False)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
