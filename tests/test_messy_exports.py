"""Messy ≡ tidy: the fixture as municipalities really export it gives the very same figures.

``messy`` rewrites ``tests/fixtures/raw`` with one fixed transformation per table -- the
things real exports do: ``,`` instead of ``;``, Windows-1252 and UTF-8 with BOM, header
variants (``Elev ID``, ``Inst_nr``, ``Køn``, ``Skoleår``, ``Fraværstype``), gender as M/K,
grades as ``4. kl.``, school years as ``2023/24``, dates as dd.mm.yyyy, Likert answers as
Danish labels, absence types as the ministry's words, thousands points, quoted text with
commas, one table as an Excel workbook with a title row and numbers as numbers, one as a
named sheet chosen in ``kilder.yaml``.  Ingesting it must give the same processed data,
aggregates and report as the tidy fixture (the session's ``built``).
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from datapakke import config, ingest, report, store

from .conftest import AARS, FIXTURE_RAW

LIKERT = {"1": "Helt uenig", "2": "Uenig", "3": "Hverken enig eller uenig", "4": "Enig", "5": "Helt enig"}
ABSENCE = {"sygdom": "Sygefravær", "lovligt": "Fravær med tilladelse", "ulovligt": "Ulovligt fravær"}


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURE_RAW / name, sep=";", dtype=str, keep_default_na=False)


def _dotted(dates: pd.Series, fmt: str | None = None) -> pd.Series:
    return pd.to_datetime(dates, format=fmt).dt.strftime("%d.%m.%Y")


def make_messy(dst: Path) -> Path:
    """The fixture, exported the messy way (a fixed, deterministic transformation)."""
    dst.mkdir(parents=True)
    shutil.copy(FIXTURE_RAW / "DEMODATA.txt", dst)

    # skoler: Excel, a title row above the header, institution and municipality numbers as numbers
    s = _csv("skoler.csv")
    wb = Workbook()
    ws = wb.active
    ws.title = "Skoler"
    ws.append(["Skoler i udtrækket (eksporteret 01.09.2025)"])
    ws.append(["Inst_nr", "Skolenavn", "Kommune nr", "Kommunenavn"])
    for r in s.itertuples(index=False):
        ws.append([int(r.institutionsnummer), r.skolenavn, int(r.kommunekode), r.kommune])
    wb.save(dst / "skoler.xlsx")

    # elever: Windows-1252, comma separated, Danish header spellings, M/K, '4. kl.', '2023/24'
    e = _csv("elever.csv")
    e = pd.DataFrame({
        "Elev ID": e["elev_id"], "Inst_nr": e["institutionsnummer"],
        "Skoleår": e["skoleaar"].str.replace(r"^(\d{4})/\d{2}(\d{2})$", r"\1/\2", regex=True),
        "Klassetrin": e["klassetrin"] + ". kl.", "Klasse": e["klasse"],
        "Køn": e["koen"].map({"dreng": "M", "pige": "K"}),
    })
    e.to_csv(dst / "elever.csv", sep=",", index=False, encoding="cp1252")

    # kortlaegning_svar: UTF-8 with BOM, dd.mm.yyyy, Likert labels, header synonyms
    a = pd.read_parquet(FIXTURE_RAW / "kortlaegning_svar.parquet")
    a = pd.DataFrame({
        "Elev-ID": a["elev_id"], "Måling": a["runde"], "Besvarelsesdato": _dotted(a["dato"]),
        "Spm_id": a["spoergsmaal_id"], "Svarværdi": a["svar"].astype(str).map(LIKERT),
    })
    a.to_csv(dst / "kortlaegning_svar.csv", sep=";", index=False, encoding="utf-8-sig")

    # kortlaegning_spoergsmaal: Windows-1252, comma separated, texts with commas quoted, ja/nej
    q = _csv("kortlaegning_spoergsmaal.csv")
    q = pd.DataFrame({
        "Spørgsmål ID": q["spoergsmaal_id"], "Dimension": q["dimension"].str.replace("_", " ").str.capitalize(),
        "Spørgsmålstekst": q["tekst"], "Omvendt kodet": q["omvendt"].map({"True": "ja", "False": "nej"}),
        "Klassetrin fra": q["klassetrin_fra"] + ". klasse",
    })
    assert q["Spørgsmålstekst"].str.contains(",").any()  # the quoting is exercised
    q.to_csv(dst / "kortlaegning_spoergsmaal.csv", sep=",", index=False, encoding="cp1252", quoting=csv.QUOTE_MINIMAL)

    # fravaer: Windows-1252, the ministry's words for the types, '1' and '0,5', dd.mm.yyyy
    f = _csv("fravaer.csv")
    f = pd.DataFrame({
        "Elevnr": f["elev_id"], "Fraværsdato": _dotted(f["dato"], "%d-%m-%Y"), "Fraværstype": f["fravaerstype"].map(ABSENCE),
        "Andel af dag": f["omfang"].str.replace(",0", "", regex=False),
    })
    f.to_csv(dst / "fravaer.csv", sep=";", index=False, encoding="cp1252")

    # skoledage: a named sheet in a workbook whose first sheet is something else (kilder.yaml)
    d = _csv("skoledage.csv")
    wb = Workbook()
    wb.active.title = "Forside"
    wb.active.append(["Skolekalender – se arket Skoledage"])
    ws = wb.create_sheet("Skoledage")
    ws.append(["Institutionsnummer", "Dato"])
    for inst, day in zip(d["institutionsnummer"], pd.to_datetime(d["dato"])):
        ws.append([inst, day.to_pydatetime()])
    wb.save(dst / "kalender.xlsx")
    (dst / "kilder.yaml").write_text("# tabel: fil (og ark)\nskoledage: {fil: kalender.xlsx, ark: Skoledage}\n",
                                     encoding="utf-8")

    # nationale_tal: comma separated, so decimal commas are quoted; counts with a thousands point
    n = _csv("nationale_tal.csv")
    n = pd.DataFrame({
        "Skoleår": n["skoleaar"], "Niveau": n["niveau"].str.capitalize(), "Kode": n["kode"],
        "Indikator": n["indikator"], "Værdi": n["vaerdi"],
        "Antal": pd.to_numeric(n["antal"]).map(lambda v: f"{int(v):,}".replace(",", ".")),
    })
    assert n["Antal"].str.contains(".", regex=False).any()
    n.to_csv(dst / "nationale_tal.csv", sep=",", index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL)
    return dst


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> config.Paths:
    paths = config.Paths.under(tmp_path_factory.mktemp("messy"))
    make_messy(paths.raw)
    result = ingest.ingest(paths.raw, paths.processed)
    assert not result.report.problems, result.report.text()
    return paths


def test_messy_files_really_are_messy(messy):
    raw = messy.raw
    assert b"K\xf8n" in (raw / "elever.csv").read_bytes()  # 'Køn' in Windows-1252, not UTF-8
    assert (raw / "kortlaegning_svar.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (raw / "elever.csv").read_text(encoding="cp1252").splitlines()[0].startswith("Elev ID,Inst_nr,Skoleår")


def _tables(version: Path) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(version)): pd.read_parquet(p) for p in sorted(version.rglob("*.parquet"))}


def test_messy_and_tidy_give_the_same_processed_data_and_aggregates(messy, built):
    tidy, dirty = _tables(store.current(built.processed)), _tables(store.current(messy.processed))
    assert sorted(dirty) == sorted(tidy)
    for name in ("aggregates/survey_means.parquet", "aggregates/gender_gaps.parquet", "aggregates/absence.parquet"):
        assert name in tidy and len(tidy[name]) > 0
    for name, frame in tidy.items():
        pd.testing.assert_frame_equal(dirty[name], frame, check_exact=True, obj=name)


def test_messy_and_tidy_give_the_same_school_report(messy, built):
    sections = ("forside", "survey_overview", "gender_gap", "absence", "national", "flags")
    reports = [report.SchoolReport.load(AARS, p.processed) for p in (built, messy)]
    for section in sections:
        # plots include the <script>s of the site's assets (plotly.js, …) with the first figure of a process only
        tidy, dirty = (re.sub(r'<script src="[^"]*assets/[^"]*"[^>]*></script>\n?', "", getattr(r, section)()._repr_html_())
                       for r in reports)
        assert dirty == tidy, section
    means = reports[1].slice("survey_means")
    boys_girls = means[(means.niveau == "skole") & (means.runde == "T1") & (means.dimension == "faglig_trivsel")
                       & means.gruppe.isin(["dreng", "pige"])].set_index("gruppe")["mean"].round()
    assert boys_girls.to_dict() == {"dreng": 492.0, "pige": 516.0}  # Aars Skole's published gap
