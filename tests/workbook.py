"""Check a page's download against the page: every table the page shows, with the same values.

The page is read here on its own (BeautifulSoup over the page's HTML), not with the reader
that wrote the package (``datapakke.pagetables``), and compared cell by cell with the
workbook (openpyxl) and the page-table CSVs.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import openpyxl
from bs4 import BeautifulSoup

DANISH_NUMBER = re.compile(r"^[+\-−]?\d[\d.]*(,\d+)?( %)?$")
SPLIT = re.compile(r"^(.+?)(?: til | \()(.+?)\)?$")


def page_tables(page_html: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, header, rows) of every data table on a page, as a reader sees the text."""
    out = []
    for table in BeautifulSoup(page_html, "html.parser").find_all("table"):
        if "dp-plan" in (table.get("class") or []):
            continue  # the handleplan: a form to fill in
        for br in table.find_all("br"):
            br.replace_with("; ")
        rows = [[" ".join(c.get_text().replace("\u00ad", "").split()) for c in tr.find_all(["th", "td"])]
                for tr in table.find_all("tr")]
        caption = table.find("caption")
        out.append((" ".join(caption.get_text().split()) if caption else "", rows[0], rows[1:]))
    return out


def notebook_html(nb) -> str:
    return "\n".join("".join(o.get("data", {}).get("text/html", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def danish(text: str) -> float:
    return float(text.replace(" %", "").replace(".", "").replace(",", ".").replace("−", "-"))


def _same(text: str, cell) -> None:
    t = text.strip()
    where = f"{cell.parent.title}!{cell.coordinate}"
    if t in ("", "–"):
        assert cell.value is None, (where, t, cell.value)
    elif DANISH_NUMBER.match(t):
        assert cell.data_type == "n" and isinstance(cell.value, (int, float)), (where, t, cell.value)
        assert abs(cell.value - danish(t)) < 1e-9, (where, t, cell.value)
        assert ("%" in cell.number_format) == t.endswith("%"), (where, t, cell.number_format)
    else:
        assert cell.value == re.sub(r"−(?=\d)", "-", t), (where, t, cell.value)


def assert_page_in_workbook(page_html: str, xlsx: Path) -> int:
    """Every table of the page is a sheet (in page order) with the page's caption, header and values."""
    tables = page_tables(page_html)
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames[0] == "Indhold"
    sheets = book.worksheets[1:]
    assert [s["A1"].value for s in sheets] == [c for c, _, _ in tables]
    for (caption, header, rows), sheet in zip(tables, sheets):
        names = [c.value for c in sheet[2]]
        for j, h in enumerate(header):
            h = h or "Række"
            if h in names:
                cols = [names.index(h)]
            else:  # an interval "a til b" or a pair "a (b)" in two columns
                cols = [k for k, n in enumerate(names) if n.startswith(f"{h}, ")]
                assert len(cols) == 2, (sheet.title, h, names)
            for i, row in enumerate(rows):
                cells = [sheet.cell(3 + i, k + 1) for k in cols]
                if len(cols) == 1:
                    _same(row[j], cells[0])
                elif row[j].strip() in ("", "–"):
                    assert [c.value for c in cells] == [None, None], (sheet.title, h, i)
                else:
                    a, b = SPLIT.match(row[j]).groups()
                    _same(a, cells[0])
                    _same(b, cells[1])
        assert sheet.max_row == 2 + len(rows), sheet.title
    return len(tables)


def assert_no_numbers_as_text(xlsx: Path) -> None:
    """No sheet holds a number as text, nor a Unicode minus before a digit."""
    for sheet in openpyxl.load_workbook(xlsx).worksheets[1:]:
        for row in sheet.iter_rows(min_row=3):
            for c in row:
                if isinstance(c.value, str):
                    assert not DANISH_NUMBER.match(c.value.strip()), (sheet.title, c.coordinate, c.value)
                    assert not re.search(r"−\d", c.value), (sheet.title, c.coordinate, c.value)


def assert_csvs_match_workbook(folder: Path, xlsx: Path) -> int:
    """Each page-table CSV (Danish Excel: BOM, ';', decimal comma) holds its sheet's header and values."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(xlsx)
    page = [r for r in package["resources"] if r.get("dialect", {}).get("delimiter") == ";"]
    contents = {row[3]: row[0] for row in book["Indhold"].iter_rows(min_row=6, values_only=True) if row[0]}
    for r in page:
        raw = (folder / r["path"]).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), r["path"]
        rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
        sheet = book[contents[r["path"]]]
        assert rows[0] == [c.value for c in sheet[2]] == [f["name"] for f in r["schema"]["fields"]]
        for i, values in enumerate(rows[1:]):
            for k, text in enumerate(values):
                v = sheet.cell(3 + i, k + 1).value
                if text == "":
                    assert v is None, (r["path"], i, k, v)
                elif r["schema"]["fields"][k]["type"] == "number" or isinstance(v, (int, float)):
                    assert re.fullmatch(r"-?\d+(,\d+)?", text) and abs(float(text.replace(",", ".")) - v) < 1e-9, \
                        (r["path"], i, k, text, v)
                else:
                    assert text == v, (r["path"], i, k, text, v)
    return len(page)
