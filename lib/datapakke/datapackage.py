"""A page's downloads: its own tables (Excel + CSV for Danish Excel) and the detail tables behind them.

One road to every number: the workbook and the page-table CSVs hold exactly the tables the
page shows, read back from the executed page (``pagetables``), one sheet and one CSV per table,
Danish names as on the page, numbers as numbers.  Beside them, for the researcher, the school's
slice of the *published tables* in full precision with each row's cell id (``celle``) and
status (``detaljer/*.csv`` and ``<navn>-detaljer.xlsx``) — the files the publish gate's audit
reads back.  ``datapackage.json`` (Frictionless) describes every file and every column.

Two CSV dialects, both declared in the descriptor: the page tables for a double-click in
Danish Excel (UTF-8 with BOM, ``;``, decimal comma); the details for R, Python and Stata
(UTF-8, ``,``, decimal point).  Only aggregated, suppressed tables go in — never a pupil row.

The build does not re-validate every package with the frictionless library (≈ 1 s a page):
``validate_package`` does, in the tests and in ``datapakke check-site``, and the writers do
on request (``validate=True``).
"""
from __future__ import annotations

import csv
import html
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from . import config, fmt, pagetables, store
from .pagetables import PageTable

DETAILS = "detaljer"
PROGRAM = "program"

#: detail table → (sheet name ≤ 31, Danish title, description)
TABLES = {
    "survey_means": ("Kortlægning – scorer", "Kortlægning: scorer",
                     "Gennemsnitlig score (500-skala) pr. niveau, runde, dimension og gruppe, med 95 %-interval."),
    "survey_change": ("Kortlægning – ændring", "Kortlægning: ændring",
                      "Ændring fra forrige runde (til − fra) med 95 %-interval (Welch), Holm-korrigeret p og det Holm-justerede interval, der passer med den."),
    "response_rates": ("Svarprocent", "Svarprocent", "Elever, besvarelser og svarprocent pr. runde og klassetrin."),
    "round_dates": ("Svarperioder", "Svarperioder", "Første og sidste svardag pr. runde på skolen."),
    "gender_gaps": ("Kønsforskelle", "Kønsforskelle",
                    "Drenge − piger pr. runde og dimension: forskel, 95 %-interval og Holm-justeret interval, Hedges' g, p (Holm-korrigeret)."),
    "gender_gaps_grade": ("Kønsforskelle pr. kl.-gruppe", "Kønsforskelle pr. klassetrinsgruppe",
                          "Som kønsforskelle, opdelt på 0.–3., 4.–6. og 7.–9. klasse."),
    "gender_gap_change": ("Kønsforskel – ændring", "Kønsforskel: ændring",
                          "Ændring i kønsforskellen (drenge − piger) mellem runderne med 95 %-interval."),
    "deviation": ("Afvigelse fra kommunen", "Afvigelse fra kommunen",
                  "Skolen − kommunen pr. runde og dimension (t-test med n − 1 frihedsgrader), Holm-korrigeret p og Holm-justeret interval."),
    "absence": ("Fravær", "Fravær", "Fravær i procent af skoledage efter type, samlet, pr. køn og pr. klassetrin."),
    "absence_month": ("Fravær pr. måned", "Fravær pr. måned", "Fravær i procent af skoledage pr. måned."),
    "absence_triggers": ("Ulovligt fravær i et kvartal", "Ulovligt fravær i et kvartal",
                         "Antal elever med mindst 10 % og 15 % ulovligt fravær i et kvartal."),
    "absence_change": ("Fravær – ændring", "Fravær: ændring",
                       "Ændring i samlet fravær fra forrige skoleår (til − fra) med 95 %-interval (Welch)."),
    "absence_wellbeing": ("Fravær og faglig trivsel", "Fravær og faglig trivsel",
                          "Faglig trivsel (500-skala) efter elevernes samlede fravær i skoleåret."),
    "absence_wellbeing_corr": ("Fravær og trivsel – korrelation", "Fravær og faglig trivsel: korrelation",
                               "Spearmans rangkorrelation mellem elevernes fravær og faglige trivsel."),
    "flags": ("Opmærksomhedspunkter", "Opmærksomhedspunkter",
              "Punkter fundet af de faste regler, med tallet bag og et spørgsmål til datasparringen."),
    "national": ("Nationale tal", "Nationale tal",
                 "Offentliggjorte tal (Uddannelsesstatistik) for skolen, kommunen og landet."),
}

_CI = "95 %-konfidensinterval"
#: Every column of the detail tables, in Danish.
COLUMNS = {
    "niveau": "Niveau: skole, kommune, program (alle skoler i programmet) eller land.",
    "kode": "Institutionsnummer (skole), kommunekode (kommune), 'program' eller 'DK' (land).",
    "kommunekode": "Kommunens kode.",
    "runde": "Kortlægningens runde (T1, T2, T3).",
    "skoleaar": "Skoleåret, fx 2025/2026.",
    "periode": "Måned (ÅÅÅÅ-MM).",
    "dimension": "Kortlægningens dimension (kode), fx faglig_trivsel.",
    "gruppe_type": "Hvilken opdeling rækken tilhører: alle, koen eller klassetrin.",
    "gruppe": "Gruppen: alle, dreng, pige, et klassetrin eller en klassetrinsgruppe.",
    "klassetrin": "Klassetrin (0–9) eller 'alle'.",
    "klassetrin_band": "Klassetrinsgruppe: 0.–3., 4.–6. eller 7.–9. klasse.",
    "fravaersgruppe": "Elevens samlede fravær i skoleåret, i grupper.",
    "orden": "Fraværsgruppernes rækkefølge (1 = mindst fravær).",
    "fra": "Fra (runde, skoleår eller første svardag).",
    "til": "Til (runde, skoleår eller sidste svardag).",
    "from_round": "Fra runde.",
    "to_round": "Til runde.",
    "n": "Antal elever (besvarelser) bag tallet.",
    "n_fra": "Antal elever i det første skoleår.",
    "n_til": "Antal elever i det sidste skoleår.",
    "n_from": "Antal elever (drenge + piger) i den første runde.",
    "n_to": "Antal elever (drenge + piger) i den sidste runde.",
    "n_dreng": "Antal drenge bag tallet.",
    "n_pige": "Antal piger bag tallet.",
    "elever": "Antal elever på klassetrinnet (skolens elevtal).",
    "besvarelser": "Antal besvarelser.",
    "svarprocent": "Besvarelser i procent af eleverne.",
    "mean": "Gennemsnit (500-skala: programmets elever i T1 har gennemsnit 500, spredning 100).",
    "mean_fra": "Gennemsnitligt samlet fravær (%) i det første skoleår.",
    "mean_til": "Gennemsnitligt samlet fravær (%) i det sidste skoleår.",
    "mean_kommune": "Kommunens gennemsnit.",
    "mean_dreng": "Drengenes gennemsnit (500-skala).",
    "mean_pige": "Pigernes gennemsnit (500-skala).",
    "sd": "Standardafvigelse.",
    "sd_dreng": "Drengenes standardafvigelse.",
    "sd_pige": "Pigernes standardafvigelse.",
    "sd_pooled": "Fælles (poolet) standardafvigelse for drenge og piger.",
    "se": "Standardfejl.",
    "se_from": "Standardfejl på kønsforskellen i den første runde.",
    "se_to": "Standardfejl på kønsforskellen i den sidste runde.",
    "ci_low": f"Nedre grænse af {_CI}.",
    "ci_high": f"Øvre grænse af {_CI}.",
    "ci_low_holm": "Nedre grænse af det Holm-justerede interval (udelukker 0 netop når den Holm-korrigerede p < 0,05).",
    "ci_high_holm": "Øvre grænse af det Holm-justerede interval.",
    "ci_level_holm": "Det Holm-justerede intervals niveau (mellem 0,95 og 0,993).",
    "g_ci_low_holm": "Nedre grænse af Hedges' g's interval på samme Holm-niveau.",
    "g_ci_high_holm": "Øvre grænse af Hedges' g's interval på samme Holm-niveau.",
    "budskab": "Punktet sagt i én almindelig dansk sætning, som på siden.",
    "diff": "Forskellen (se tabellens beskrivelse for, hvad der trækkes fra hvad).",
    "diff_from": "Kønsforskellen (drenge − piger) i den første runde.",
    "diff_to": "Kønsforskellen (drenge − piger) i den sidste runde.",
    "change": "Ændringen i kønsforskellen (sidste − første runde).",
    "abs_change": "Ændringen i kønsforskellens størrelse (|sidste| − |første|).",
    "df": "Frihedsgrader (Welch; for afvigelsen fra kommunen n − 1).",
    "t": "t-værdi (Welch).",
    "p": "p-værdi (ukorrigeret).",
    "p_adj": "p-værdi, Holm-korrigeret over dimensionerne.",
    "family_size": "Antal test i Holm-korrektionen.",
    "hedges_g": "Effektstørrelse: Hedges' g (forskellen i standardafvigelser).",
    "g_se": "Standardfejl på Hedges' g.",
    "g_ci_low": f"Nedre grænse af {_CI} for Hedges' g.",
    "g_ci_high": f"Øvre grænse af {_CI} for Hedges' g.",
    "spearman_r": "Spearmans rangkorrelation mellem fravær og faglig trivsel.",
    "sygdom_pct": "Sygefravær i procent af skoledagene.",
    "lovligt_pct": "Lovligt fravær (med tilladelse) i procent af skoledagene.",
    "ulovligt_pct": "Ulovligt fravær i procent af skoledagene.",
    "samlet_pct": "Samlet fravær i procent af skoledagene.",
    "andel_over_10_pct": "Andel elever (%) med mere end 10 % samlet fravær i skoleåret.",
    "ulovligt_10": "Antal elever med mindst 10 % ulovligt fravær i et kvartal.",
    "ulovligt_15": "Antal elever med mindst 15 % ulovligt fravær i et kvartal.",
    "indikator": "Indikatoren fra Uddannelsesstatistik (trivselsmålingens spørgsmål eller bånd, fravær).",
    "vaerdi": "Værdien (gennemsnit på skalaen 1–5, eller procent).",
    "antal": "Antal elever bag værdien, som offentliggjort.",
    "regel": "Reglen, der fandt punktet.",
    "tema": "Temaet, reglen hører til.",
    "overskrift": "Punktets overskrift, som på siden.",
    "tal": "Tallet bag punktet, som på siden.",
    "spoergsmaal": "Spørgsmål til datasparringen.",
    "celle": "Cellens id i publiceringsmodellen (for en afledt række: den afledte figurs id).",
    "celle_dreng": "Id for drengenes celle.",
    "celle_pige": "Id for pigernes celle.",
    "status": "vist, eller hvorfor tallet ikke vises: primaer (for få elever), sekundaer (kunne regnes ud), skjult.",
}
#: Suffixes of the columns that carry a count's publication (``<col>_status``, ``<col>_tekst``).
SUFFIXES = {"_status": "Om «{col}» vises præcist (vist), som bånd (lav/hoej) eller er skjult.",
            "_tekst": "Båndet, hvor det præcise tal for «{col}» ville vise 1–3 elever (fx «højst 7 %»)."}

#: The page tables' CSV dialect: a double-click in Danish Excel.
PAGE_DIALECT = {"delimiter": ";", "header": True}
PAGE_ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class Info:
    """A package's name, title and description, and the stem of its two workbooks."""

    name: str
    title: str
    description: str
    workbook: str

    @property
    def xlsx(self) -> str:
        return f"{self.workbook}.xlsx"

    @property
    def details_xlsx(self) -> str:
        return f"{self.workbook}-{DETAILS}.xlsx"


def school_info(p: dict) -> Info:
    return Info(f"datapakke-{p['school_id']}", f"Datapakke: {p['school_name']}",
                f"Tabellerne på datapakken for {p['school_name']} ({p['municipality']} Kommune) og de "
                "offentliggjorte, diskretionerede tabeller bag dem. Ingen elevdata.",
                f"datapakke-{p['school_id']}")


def overview_info(municipality_code: str, municipality: str) -> Info:
    return Info(f"kommuneoversigt-{municipality_code}", f"Kommuneoversigt: {municipality} Kommune",
                f"Tabellerne på kommuneoversigten for {municipality} Kommune: alle skoler side om side. "
                "Aggregerede, diskretionerede tal; ingen elevdata.", f"kommuneoversigt-{municipality_code}")


# --- the detail tables ------------------------------------------------------------------------
def school_details(p: dict, paths: config.Paths) -> dict[str, pd.DataFrame]:
    """The school's, its municipality's and the programme's rows of every published table its page reads."""
    folder = store.published(store.current(paths.processed))
    levels = [("skole", str(p["school_id"])), ("kommune", str(p["municipality_code"])), ("program", PROGRAM)]
    out = {}
    for name in TABLES:
        codes = [*levels[:2], ("land", "DK")] if name == "national" else levels
        t = _slice(folder / f"{name}.parquet", codes)
        if t is not None:
            out[name] = _clean(t)
    return out


_tables: dict[Path, tuple[pd.DataFrame, dict]] = {}


def _slice(path: Path, codes: list[tuple[str, str]]) -> pd.DataFrame | None:
    """The rows of (niveau, kode) in ``codes``, in file order; None when the table is not published.

    A build writes one package after another in the same worker: each published table is read
    once per processed version (the version folder's name is a digest of its content) and kept.
    """
    if not path.is_file():
        return None
    if path not in _tables:
        if len(_tables) > 64:
            _tables.clear()
        frame = pd.read_parquet(path)
        _tables[path] = (frame, frame.groupby(["niveau", "kode"], sort=False).indices)
    frame, rows = _tables[path]
    empty = np.zeros(0, np.int64)
    return frame.iloc[np.unique(np.concatenate([rows.get(c, empty) for c in codes]))]


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(4)
        elif out[c].dtype.kind == "b":
            out[c] = out[c].astype(bool)
    return out.reset_index(drop=True)


def column_description(name: str) -> str:
    if name in COLUMNS:
        return COLUMNS[name]
    for suffix, text in SUFFIXES.items():
        if name.endswith(suffix):
            return text.format(col=name[: -len(suffix)])
    return ""


def _detail_schema(frame: pd.DataFrame) -> dict:
    """Field types from the pandas dtypes, not inferred: codes like '820' must stay strings."""
    kinds = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "M": "date"}
    fields = []
    for c in frame.columns:
        field = {"name": str(c), "type": kinds.get(frame[c].dtype.kind, "string")}
        if text := column_description(str(c)):
            field["description"] = text
        fields.append(field)
    return {"fields": fields}


def write_details(frames: dict[str, pd.DataFrame], folder: Path, info: Info) -> list[dict]:
    """``detaljer/<table>.csv`` and the details workbook; the resources for ``datapackage.json``."""
    (folder / DETAILS).mkdir(parents=True, exist_ok=True)
    resources = []
    for name, frame in frames.items():
        frame.to_csv(folder / DETAILS / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        _, title, description = TABLES[name]
        resources.append({"name": f"{DETAILS}-{name.replace('_', '-')}", "type": "table", "title": f"Detaljer: {title}",
                          "description": description, "path": f"{DETAILS}/{name}.csv", "scheme": "file",
                          "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                          "schema": _detail_schema(frame)})
    _write_details_xlsx(folder / info.details_xlsx, frames, info)
    return resources


def _write_details_xlsx(path: Path, frames: dict[str, pd.DataFrame], info: Info) -> None:
    """A contents sheet, then one sheet per detail table (header in row 1, blank cells where not shown)."""
    import xlsxwriter  # noqa: PLC0415

    with xlsxwriter.Workbook(str(path), {"in_memory": True}) as book:
        bold = book.add_format({"bold": True})
        title = book.add_format({"bold": True, "font_size": 14})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        link = book.add_format({"font_color": "blue", "underline": 1, "valign": "top"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        contents = book.add_worksheet("Indhold")
        contents.write(0, 0, f"{info.title} – detaljetabeller", title)
        contents.write(1, 0, "De offentliggjorte tabeller bag siden med fuld præcision, cellernes id (celle) og status "
                             "(vist, eller hvorfor et tal ikke vises). Tomme celler vises ikke på siden.")
        contents.write_row(3, 0, ["Ark", "Tabel", "Beskrivelse", "CSV-fil"], bold)
        columns = book.add_worksheet("Kolonner")
        columns.write_row(0, 0, ["Ark", "Kolonne", "Beskrivelse"], bold)
        row = 1
        for i, (name, frame) in enumerate(frames.items()):
            sheet_name, table_title, description = TABLES[name]
            contents.write_url(4 + i, 0, f"internal:'{sheet_name}'!A1", link, sheet_name)
            contents.write_row(4 + i, 1, [table_title, description, f"{DETAILS}/{name}.csv"], wrap)
            sheet = book.add_worksheet(sheet_name)
            sheet.write_row(0, 0, [str(c) for c in frame.columns], bold)
            sheet.freeze_panes(1, 0)
            for j, c in enumerate(frame.columns):
                _write_column(sheet, j, frame[c], day)
                columns.write_row(row, 0, [sheet_name, str(c), column_description(str(c))])
                row += 1
            sheet.set_column(0, max(len(frame.columns) - 1, 0), 12)
        contents.set_column(0, 0, 30)
        contents.set_column(1, 1, 34)
        contents.set_column(2, 2, 80)
        contents.set_column(3, 3, 30)
        columns.set_column(0, 1, 28)
        columns.set_column(2, 2, 90)


def _write_column(sheet, j: int, values: pd.Series, day) -> None:
    """One column below its header, each value as what it is (number, date, text, yes/no); blanks stay empty.

    Each value goes to the writer of its type (``write_number``, ``write_string``, …), never to
    xlsxwriter's guessing ``write``: a text that looks like a formula or an address stays text,
    and the writer skips its guessing (≈ 10 % of a detail workbook's ≈ 30.000 cells' time).
    """
    rows = np.flatnonzero(values.notna().to_numpy()) + 1
    kind = values.dtype.kind
    if kind in "fiu":
        write, data = sheet.write_number, values.to_numpy(dtype=float)[rows - 1].tolist()
    elif kind == "M":
        write, data = (lambda r, c, v: sheet.write_datetime(r, c, v, day)), \
            [v.to_pydatetime() for v in values.iloc[rows - 1]]
    elif kind == "b":
        write, data = sheet.write_boolean, values.to_numpy()[rows - 1].tolist()
    elif isinstance(values.dtype, pd.StringDtype):
        write, data = sheet.write_string, values.to_numpy(dtype=object)[rows - 1].tolist()
    else:
        def write(r, c, v):
            if isinstance(v, pd.Timestamp):
                sheet.write_datetime(r, c, v.to_pydatetime(), day)
            elif isinstance(v, (bool, np.bool_)):
                sheet.write_boolean(r, c, bool(v))
            elif isinstance(v, (int, float, np.integer, np.floating)):
                sheet.write_number(r, c, float(v))
            else:
                sheet.write_string(r, c, str(v))
        data = values.to_numpy(dtype=object)[rows - 1].tolist()
    for r, v in zip(rows.tolist(), data):
        write(r, j, v)


# --- the page's own tables --------------------------------------------------------------------
def _csv_value(c: pagetables.Cell) -> str:
    if c.value is None:
        return ""
    if c.is_number:
        return f"{c.value:.{c.decimals}f}".replace(".", ",")
    return str(c.value)


def _page_schema(columns: list[pagetables.Column]) -> dict:
    fields = []
    for col in columns:
        field = {"name": col.name, "type": "number" if col.is_number else "string", "description": col.description}
        if col.is_number:
            field |= {"decimalChar": ",", "groupChar": ""}
        fields.append(field)
    return {"fields": fields}


def write_page_tables(tables: list[PageTable], folder: Path, info: Info) -> list[dict]:
    """One CSV per page table (Danish Excel dialect) and the workbook; the resources for ``datapackage.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    typed = [t.columns() for t in tables]
    sheets, stems = pagetables.sheet_names(tables), pagetables.file_stems(tables)
    resources = []
    for table, columns, stem, sheet in zip(tables, typed, stems, sheets):
        with open(folder / f"{stem}.csv", "w", encoding=PAGE_ENCODING, newline="") as f:
            w = csv.writer(f, delimiter=PAGE_DIALECT["delimiter"], lineterminator="\r\n")
            w.writerow([c.name for c in columns])
            for i in range(len(table.rows)):
                w.writerow([_csv_value(c.cells[i]) for c in columns])
        where = f"Afsnittet «{table.section}» på siden. " if table.section else ""
        resources.append({"name": stem, "type": "table", "title": table.caption or sheet,
                          "description": f"{where}Arket «{sheet}» i {info.xlsx}.", "path": f"{stem}.csv",
                          "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                          "dialect": dict(PAGE_DIALECT), "schema": _page_schema(columns)})
    _write_page_xlsx(folder / info.xlsx, tables, typed, sheets, stems, info)
    return resources


def _write_page_xlsx(path: Path, tables: list[PageTable], typed: list[list[pagetables.Column]], sheets: list[str],
                     stems: list[str], info: Info) -> None:
    """'Indhold' (every table, linked), then one sheet per page table: caption in A1, header in row 2.

    Numbers are numeric cells whose number format shows them as the page does (decimals, " %",
    "+"); a band ("højst 7 %") is text; "–" on the page is an empty cell.
    """
    import xlsxwriter  # noqa: PLC0415

    with xlsxwriter.Workbook(str(path)) as book:
        bold = book.add_format({"bold": True})
        title = book.add_format({"bold": True, "font_size": 14})
        head = book.add_format({"bold": True, "text_wrap": True, "valign": "bottom", "bottom": 1})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        link = book.add_format({"font_color": "blue", "underline": 1, "valign": "top"})
        formats: dict[tuple, object] = {}

        def number_format(c: pagetables.Cell):
            key = (c.decimals, c.percent, c.signed)
            if key not in formats:
                body = "#,##0" + ("." + "0" * c.decimals if c.decimals else "") + ('" %"' if c.percent else "")
                zero = "0" + ("." + "0" * c.decimals if c.decimals else "") + ('" %"' if c.percent else "")
                formats[key] = book.add_format({"num_format": f"+{body};-{body};{zero}" if c.signed else body})
            return formats[key]

        contents = book.add_worksheet("Indhold")
        contents.write(0, 0, info.title, title)
        contents.write(1, 0, "Tabellerne på siden i samme rækkefølge, én fane pr. tabel. Tal er gemt som tal; "
                             f"«{fmt.SUPPRESSED}» på siden er en tom celle.")
        contents.write(2, 0, fmt.FOOTNOTE)
        contents.write_row(4, 0, ["Ark", "Tabel på siden", "Afsnit", "CSV-fil"], bold)
        for i, (table, columns, sheet_name, stem) in enumerate(zip(tables, typed, sheets, stems)):
            contents.write_url(5 + i, 0, f"internal:'{sheet_name}'!A1", link, sheet_name)
            contents.write_row(5 + i, 1, [table.caption, table.section, f"{stem}.csv"], wrap)
            sheet = book.add_worksheet(sheet_name)
            sheet.write(0, 0, table.caption or sheet_name, bold)
            sheet.write_row(1, 0, [c.name for c in columns], head)
            sheet.freeze_panes(2, 1)
            for j, col in enumerate(columns):
                for k, c in enumerate(col.cells, start=2):
                    if c.is_number:
                        sheet.write_number(k, j, c.value, number_format(c))
                    elif c.value is not None:
                        sheet.write_string(k, j, c.value)
                longest = max([len(str(c.value)) for c in col.cells if isinstance(c.value, str)] + [0])
                sheet.set_column(j, j, min(max(11, longest + 2, min(len(col.name), 18) + 2), 60))
            sheet.autofilter(1, 0, 1 + len(table.rows), max(len(columns) - 1, 0))
        contents.set_column(0, 0, 32)
        contents.set_column(1, 1, 60)
        contents.set_column(2, 2, 36)
        contents.set_column(3, 3, 44)


# --- the package --------------------------------------------------------------------------------
def write_descriptor(folder: Path, info: Info, resources: list[dict]) -> None:
    package = {"name": info.name, "title": info.title, "description": info.description, "resources": resources}
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2, ensure_ascii=False), encoding="utf-8")


def validate_package(folder: Path) -> list[str]:
    """Validate a written package with the frictionless library; the problems, or [] when valid."""
    from frictionless import validate  # noqa: PLC0415 - slow to import; only tests and check-site need it

    report = validate(str(Path(folder) / "datapackage.json"))
    if report.valid:
        return []
    return [str(e) for e in report.flatten(["rowNumber", "fieldName", "type", "note"])]


def finish(folder: Path, tables: list[PageTable], info: Info, details: list[dict] = (), validate: bool = False) -> Path:
    """The page tables beside already written details, and the descriptor of both (validated if asked)."""
    resources = write_page_tables(tables, folder, info) + list(details)
    write_descriptor(folder, info, resources)
    if validate and (errors := validate_package(folder)):
        raise ValueError(f"Datapakken {info.name} er ugyldig: {errors[:5]}")
    return folder


def replace_folder(new: Path, final: Path) -> None:
    """Swap a written package in for the old one (the old one is removed only after the swap)."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _atomic(folder: Path, write) -> Path:
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write(staging / "package")
        replace_folder(staging / "package", folder)
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _page(page) -> list[PageTable]:
    """The tables of an executed page notebook (a path or a notebook node)."""
    if isinstance(page, (str, Path)):
        import nbformat  # noqa: PLC0415

        page = nbformat.read(page, as_version=4)
    return pagetables.read_notebook(page)


def write_school_package(p: dict, paths: config.Paths, folder: Path, page, validate: bool = False) -> Path:
    """The school's package from its executed page (``page``: notebook or path) and its detail tables."""
    info = school_info(p)
    tables = _page(page)
    return _atomic(folder, lambda f: finish(f, tables, info, write_details(school_details(p, paths), f, info), validate))


def write_overview_package(municipality_code: str, municipality: str, folder: Path, page,
                           validate: bool = False) -> Path:
    """The overview's package: its page tables (its figures are the schools' and the municipality's)."""
    info = overview_info(municipality_code, municipality)
    tables = _page(page)
    return _atomic(folder, lambda f: finish(f, tables, info, validate=validate))


# --- on the page ----------------------------------------------------------------------------------
def download_note(folder: str, info: Info, details: bool = True) -> str:
    """Links to the downloads and a short Danish note on which file to open how."""
    base = html.escape(folder, quote=True)
    links = [f'<a href="{base}/{info.xlsx}">Excel-fil med sidens tabeller</a>',
             f'<a href="{base}/datapackage.json">datapakke (CSV-filer med beskrivelse)</a>']
    if details:
        links.append(f'<a href="{base}/{info.details_xlsx}">Excel-fil med detaljetabellerne</a>')
    items = [
        "<strong>Excel-filen</strong> er den nemme vej: én fane pr. tabel på siden, med tallene som tal, så de "
        "kan sorteres og regnes videre på. Fanen «Indhold» viser, hvilken fane der hører til hvilken tabel.",
        "<strong>CSV-filerne med sidens tabeller</strong> (én pr. tabel, i pakkens øverste mappe) er gemt til "
        "dansk Excel (semikolon mellem kolonnerne, komma som decimaltegn, UTF-8) og kan åbnes med et dobbeltklik.",
    ]
    if details:
        items.append(
            f"<strong>Detaljetabellerne</strong> (mappen «{DETAILS}» og detalje-Excel-filen) har alle "
            "offentliggjorte tal bag siden med fuld præcision og hver rækkes celle-id og status (vist, eller hvorfor "
            "tallet ikke vises) – til analyse i R, Python eller Stata. De CSV-filer bruger komma mellem kolonnerne og "
            "punktum som decimaltegn; i Excel åbnes de via <em>Data › Fra tekst/CSV</em>.")
    items.append("Filen «datapackage.json» beskriver hver fil og hver kolonne (Frictionless-standarden).")
    return (f'<p>Hent tabellerne: {" · ".join(links)}. Tallene er aggregerede og diskretionerede som på siden; '
            "filerne indeholder ingen elevdata.</p>"
            f'<ul class="dp-note">{"".join(f"<li>{i}</li>" for i in items)}</ul>')
