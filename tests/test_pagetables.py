"""Reading a page's tables back: Danish display strings → values, intervals split, names that Excel takes."""
import nbformat
import pandas as pd
import pytest

from datapakke import fmt, pagetables as P
from datapakke.pagetables import Cell, PageTable


@pytest.mark.parametrize("x, decimals, sign, pct", [
    (1234.5, 1, False, False), (-2, 0, True, False), (-2, 0, False, False), (0.17, 2, True, False),
    (12.3, 1, False, True), (0, 0, True, False), (1_234_567.891, 3, False, False), (0.0004, 3, False, False),
])
def test_every_number_fmt_writes_reads_back_as_that_number(x, decimals, sign, pct):
    text = fmt.num(x, decimals, " %" if pct else "", sign=sign)
    c = P.cell(text)
    assert c.is_number and c.value == pytest.approx(round(x, decimals)), text
    # a sign is shown for every negative number and, with sign=True, for positive ones (never "+0")
    assert (c.decimals, c.percent, c.signed) == (decimals, pct, text[0] in "+−"), text
    assert str(c.value)[0] != "−"


def test_what_is_not_a_number_stays_text_or_empty():
    assert P.cell("–") == Cell(None) and P.cell("  ") == Cell(None)
    for text in ("højst 7 %", "mindst 94 %", "2025/2026", "0.–3. kl.", "T1 → T2", "1 af 3", "2/10–13/10 2023", "1.5"):
        assert P.cell(text).value == text
    assert P.number("1.234") == Cell(1234.0)
    assert P.cell("forskel −26 point").value == "forskel -26 point"  # no Unicode minus before a digit
    assert P.number("−0") == Cell(0.0, signed=True) and str(P.number("−0").value) == "0.0"


def test_intervals_and_pairs_become_two_columns_and_mixed_columns_keep_their_bands():
    t = PageTable("Score pr. klassetrinsgruppe i T3: skolen (kommunen)", "Klassetrin",
                  ["Dimension", "95 %-interval", "0.–3. kl.", "Svarprocent", ""],
                  [["Faglig trivsel", "−43 til −9", "513 (511)", "91 %", "x"],
                   ["Social trivsel", "–", "– (498)", "højst 7 %", "y"]])
    cols = {c.name: c for c in t.columns()}
    assert list(cols) == ["Dimension", "95 %-interval, fra", "95 %-interval, til", "0.–3. kl., skolen",
                          "0.–3. kl., kommunen", "Svarprocent", "Række"]
    assert cols["95 %-interval, fra"].values == [-43.0, None] and cols["95 %-interval, til"].values == [-9.0, None]
    assert cols["0.–3. kl., skolen"].values == [513.0, None] and cols["0.–3. kl., kommunen"].values == [511.0, 498.0]
    assert cols["95 %-interval, fra"].is_number and "Nedre grænse" in cols["95 %-interval, fra"].description
    svar = cols["Svarprocent"]
    assert svar.values == [91.0, "højst 7 %"] and not svar.is_number
    assert "Procent (%)" in svar.description and "bånd" in svar.description
    assert "Tom: ikke vist" in cols["95 %-interval, til"].description


def test_tables_are_read_from_a_notebook_with_captions_sections_and_no_forms():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Fravær\n\nTekst."), nbformat.v4.new_code_cell("x")]
    fragment = (fmt.table(pd.DataFrame({"Gruppe": ["Drenge"], "Svar\u00adprocent": ["91 %"]}), "Fravær, 2025/2026")
                + '<table class="dp-table dp-plan"><caption>Indsats</caption><tbody><tr><th>Mål</th><td></td></tr></tbody></table>'
                + '<h3>Et punkt</h3><table><thead><tr><th>Skole</th><th>Punkter</th></tr></thead>'
                  '<tbody><tr><td><a href="x.html">Aars Skole</a></td><td>Et<br>To</td></tr></tbody></table>')
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": fragment})]
    tables = P.read_notebook(nb)
    assert [(t.caption, t.section, t.header) for t in tables] == [
        ("Fravær, 2025/2026", "Fravær", ["Gruppe", "Svarprocent"]), ("", "Et punkt", ["Skole", "Punkter"])]
    assert tables[1].rows == [["Aars Skole", "Et; To"]]


def test_sheet_names_fit_excel_and_file_names_are_stable():
    captions = ["Runder, elever og svarprocent", "Elever og svarprocent pr. klassetrin",
                "Kønsforskel i faglig trivsel", "Kønsforskel i faglig trivsel pr. klassetrinsgruppe, T3",
                "Opmærksomhedspunkter pr. skole og tema (T3 / 2025/2026)", "De to 10 %-regler, 2025/2026",
                "Kønsforskel i faglig trivsel", "a: [b]*?/\\c", ""]
    tables = [PageTable(c, "Afsnit", ["x"]) for c in captions]
    names = P.sheet_names(tables)
    assert len(set(names)) == len(names) and all(0 < len(n) <= 31 for n in names)
    assert not any(ch in n for n in names for ch in "[]:*?/\\")
    assert names[0] == "1 Runder, elever og svarprocent" and names[5] == "6 De to 10 %-regler"
    assert names[8] == "9 Afsnit"
    stems = P.file_stems(tables)
    assert len(set(stems)) == len(stems) and stems[2] == "koensforskel-i-faglig-trivsel"
    assert stems[6] == "koensforskel-i-faglig-trivsel-2" and stems[4] == "opmaerksomhedspunkter-pr-skole-og-tema"
    assert P.file_stems(tables[3:4]) == ["koensforskel-i-faglig-trivsel-pr-klassetrinsgruppe"]  # no numbering


def test_the_first_row_names_the_columns_also_without_header_cells():
    tables, section = P.read_html("<h2>Afsnit</h2><table><tr><td>Navn</td><td colspan='2'>Tal</td></tr>"
                                  "<tr><th scope='row'>A</th><td>1,5</td><td>–</td></tr></table>")
    [t] = tables
    assert (t.section, t.header, t.rows) == ("Afsnit", ["Navn", "Tal", ""], [["A", "1,5", "–"]])
    assert [c.name for c in t.columns()] == ["Navn", "Tal", "Række"] and section == "Afsnit"
