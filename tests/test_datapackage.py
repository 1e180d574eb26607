"""A school's downloads: the page's own tables (workbook + CSV for Danish Excel) and the detail tables."""
import json

import nbformat
import openpyxl
import pandas as pd
import pytest

from datapakke import build, datapackage, store

from .conftest import AARS, TINY
from .workbook import assert_csvs_match_workbook, assert_no_numbers_as_text, assert_page_in_workbook, notebook_html


@pytest.fixture(scope="module")
def pages(built):
    """Aars Skole and Vestermarkskolen Aars built as the build builds them: page and package together."""
    out = {}
    for school in (AARS, TINY):
        [p] = build.select(built.params, school=school)
        outcome = build.execute_school(p, built)
        assert outcome.ok, outcome.error
        out[school] = (p, outcome.path, build.package_path(outcome.path))
    return out


def test_every_table_on_the_aars_page_is_in_the_workbook_with_the_same_values(pages):
    _, page, folder = pages[AARS]
    html = notebook_html(nbformat.read(page, as_version=4))
    xlsx = folder / f"datapakke-{AARS}.xlsx"
    assert assert_page_in_workbook(html, xlsx) >= 10
    assert_no_numbers_as_text(xlsx)
    assert assert_csvs_match_workbook(folder, xlsx) >= 10
    book = openpyxl.load_workbook(xlsx)
    names = book.sheetnames
    assert len(set(names)) == len(names) and all(len(n) <= 31 for n in names)
    score = _sheet(book, "Skolens score pr. runde")
    assert [c.value for c in score[2]][:2] == ["Dimension", "Skolen T1"]
    assert score["B3"].data_type == "n" and score["B3"].value == 503  # faglig trivsel at T1, as on the page
    gap = _sheet(book, "Kønsforskel i faglig trivsel", first_header="Runde")
    assert [c.value for c in gap[2]][3:6] == ["Forskel (drenge − piger)", "Interval (Holm-justeret), fra",
                                              "Interval (Holm-justeret), til"]
    assert gap["D3"].value == -24 and gap["E3"].value == -48 and gap["F3"].value == 0  # "−24", "−48 til 0"


def _sheet(book, caption: str, first_header: str | None = None):
    """The first sheet whose caption (A1) starts with ``caption`` (sheets are numbered in page order)."""
    for sheet in book.worksheets[1:]:
        if str(sheet["A1"].value).startswith(caption) and (first_header is None or sheet["A2"].value == first_header):
            return sheet
    raise AssertionError(f"no sheet {caption!r} in {book.sheetnames}")


def test_a_small_school_keeps_its_bands_as_text_and_its_hidden_cells_empty(pages):
    _, page, folder = pages[TINY]
    html = notebook_html(nbformat.read(page, as_version=4))
    xlsx = folder / f"datapakke-{TINY}.xlsx"
    assert_page_in_workbook(html, xlsx)
    assert_no_numbers_as_text(xlsx)
    rounds = _sheet(openpyxl.load_workbook(xlsx), "Runder, elever og svarprocent")
    answered = [rounds.cell(r, 5).value for r in range(3, 6)]
    assert any(isinstance(v, str) and v.startswith(("højst", "mindst")) for v in answered), answered
    assert None in answered or any(isinstance(v, (int, float)) for v in answered)


def test_packages_validate_with_described_fields_and_two_declared_dialects(pages):
    for school, (_, _, folder) in pages.items():
        assert datapackage.validate_package(folder) == []
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        assert package["name"] == f"datapakke-{school}"
        page = [r for r in package["resources"] if not r["path"].startswith("detaljer/")]
        details = [r for r in package["resources"] if r["path"].startswith("detaljer/")]
        assert page and details
        for r in page:
            assert r["dialect"]["delimiter"] == ";" and r["title"]
            for f in r["schema"]["fields"]:
                assert f["description"], (r["name"], f["name"])
                if f["type"] == "number":
                    assert f["decimalChar"] == ","
        for r in details:
            assert "dialect" not in r  # the standard CSV: ',' and '.'
            for f in r["schema"]["fields"]:
                assert f.get("description"), (r["name"], f["name"])


def test_details_are_the_published_rows_with_cells_and_statuses(pages, built):
    p, _, folder = pages[AARS]
    names = {f.stem for f in (folder / "detaljer").glob("*.csv")}
    assert {"survey_means", "gender_gaps", "absence", "flags", "response_rates", "round_dates"} <= names
    for f in (folder / "detaljer").glob("*.csv"):
        assert "elev_id" not in pd.read_csv(f, nrows=0).columns, f.name
    means = pd.read_csv(folder / "detaljer" / "survey_means.csv", dtype={"kode": str})
    assert set(means["kode"]) <= {AARS, p["municipality_code"], "program"}
    assert {"celle", "status"} <= set(means.columns)
    published = pd.read_parquet(store.published(store.current(built.processed)) / "survey_means.parquet")
    mine = published[(published["niveau"] == "skole") & (published["kode"] == AARS)]
    assert len(means[means["niveau"] == "skole"]) == len(mine)
    shown = means.set_index("celle")["mean"].dropna()
    assert (shown - mine.set_index("celle")["mean"].reindex(shown.index)).abs().max() < 1e-4  # full precision
    book = openpyxl.load_workbook(folder / f"datapakke-{AARS}-detaljer.xlsx", read_only=True)
    assert book.sheetnames[:2] == ["Indhold", "Kolonner"] and all(len(n) <= 31 for n in book.sheetnames)


def test_every_detail_column_is_described(built):
    folder = store.published(store.current(built.processed))
    for name in datapackage.TABLES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            for column in pd.read_parquet(path).columns:
                assert datapackage.column_description(column), (name, column)
    assert all(len(sheet) <= 31 for sheet, _, _ in datapackage.TABLES.values())


def test_write_school_package_from_an_executed_page(pages, built, tmp_path):
    p, page, _ = pages[AARS]
    folder = datapackage.write_school_package(p, built, tmp_path / "pakke", page, validate=True)
    assert (folder / f"datapakke-{AARS}.xlsx").is_file() and (folder / "detaljer" / "absence.csv").is_file()
    assert not list(tmp_path.glob(".pakke.*"))  # no staging left behind


def test_detail_workbook_cells_keep_their_types_and_text_is_never_a_formula(tmp_path):
    frame = pd.DataFrame({
        "kode": pd.Series(["=1+1", "http://eksempel.dk", None], dtype="str"),
        "vaerdi": [1.5, None, 3.0],
        "antal": [1, 2, 3],
        "dato": pd.to_datetime(["2026-01-05", None, "2026-03-01"]),
        "vist": [True, False, True],
        "blandet": pd.Series(["tekst", 4, None], dtype=object),
    })
    info = datapackage.Info("x", "Test", "Test", "x")
    datapackage.write_details({"absence": frame}, tmp_path, info)
    book = openpyxl.load_workbook(tmp_path / info.details_xlsx)
    sheet = book[datapackage.TABLES["absence"][0]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0][0] == "=1+1" and sheet.cell(2, 1).data_type == "s"  # text, not a formula
    assert rows[1][0] == "http://eksempel.dk" and not sheet.cell(3, 1).hyperlink
    assert rows[2][0] is None and rows[1][1] is None  # blanks stay empty
    assert [r[1] for r in rows] == [1.5, None, 3.0] and [r[2] for r in rows] == [1, 2, 3]
    assert rows[0][3].date().isoformat() == "2026-01-05" and rows[1][3] is None
    assert [r[4] for r in rows] == [True, False, True]
    assert [r[5] for r in rows] == ["tekst", 4, None]
