"""The bad-input catalogue: every way an export goes wrong, and the exact message the user gets.

Each case takes a small, clean raw folder (two schools cut from ``tests/fixtures/raw``,
every table as a ``;`` CSV so row numbers are lines), breaks one thing the way real exports
break, and asserts the complete message lines: file, row as the user sees it (header = 1),
column, the value found and what was expected.  Error cases assert the *set* of errors, so
a follow-on error that would only confuse the user fails the test too.

Values the messages quote (a question id, a date) are read from the mini data, so the cases
survive a regenerated fixture.
"""
from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from datapakke import build, config, ingest, params
from datapakke.validate import Report

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "raw"
MINISTRY_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ministry"
MINI_SCHOOLS = ("793002", "861901")  # Gedsted Skole and Vestermarkskolen Aars (Vesthimmerland)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)


def make_mini(dst: Path, schools=MINI_SCHOOLS) -> Path:
    """A small clean raw folder (all tables as ``;`` CSV, svar too) cut from the fixture."""
    dst.mkdir(parents=True, exist_ok=True)
    skoler = read_csv(FIXTURE / "skoler.csv")
    skoler = skoler[skoler["institutionsnummer"].isin(schools)]
    elever = read_csv(FIXTURE / "elever.csv")
    elever = elever[elever["institutionsnummer"].isin(schools)]
    ids = set(elever["elev_id"])
    svar = pd.read_parquet(FIXTURE / "kortlaegning_svar.parquet")
    svar = svar[svar["elev_id"].isin(ids)].copy()
    svar["dato"] = pd.to_datetime(svar["dato"]).dt.strftime("%d-%m-%Y")
    svar["svar"] = svar["svar"].astype("Int64").astype(str).replace("<NA>", "")
    fravaer = read_csv(FIXTURE / "fravaer.csv")
    fravaer = fravaer[fravaer["elev_id"].isin(ids)]
    dage = read_csv(FIXTURE / "skoledage.csv")
    dage = dage[dage["institutionsnummer"].isin(schools)]
    nat = read_csv(FIXTURE / "nationale_tal.csv")
    nat = nat[(nat["niveau"] == "land") | nat["kode"].isin(set(schools) | set(skoler["kommunekode"]))]
    for name, f in [("skoler", skoler), ("elever", elever), ("kortlaegning_svar", svar), ("fravaer", fravaer),
                    ("skoledage", dage), ("nationale_tal", nat)]:
        f.to_csv(dst / f"{name}.csv", sep=";", index=False)
    shutil.copy(FIXTURE / "kortlaegning_spoergsmaal.csv", dst)
    shutil.copy(FIXTURE / "DEMODATA.txt", dst)
    return dst


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_mini(tmp_path_factory.mktemp("mini") / "raw")


# --- helpers to break a file --------------------------------------------------------------------
def edit(raw: Path, name: str, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    f = fn(read_csv(raw / name))
    f.to_csv(raw / name, sep=";", index=False)
    return f


def set_value(raw: Path, name: str, index: int, column: str, value: str) -> pd.DataFrame:
    """Set one cell; the user sees it on line ``index + 2``."""
    def fn(f):
        f.loc[index, column] = value
        return f
    return edit(raw, name, fn)


def E(file, row, column, found, expected) -> str:  # noqa: N802 - reads like the message
    where = file + (f", række {row}" if row is not None else "") + (f", kolonne '{column}'" if column else "")
    return f"[fejl] {where}: fandt {found!r}, forventede {expected}"


def W(file, row, column, found, expected) -> str:  # noqa: N802
    return E(file, row, column, found, expected).replace("[fejl]", "[advarsel]", 1)


def COLUMNS(table):  # noqa: N802
    return ", ".join(ingest.TABLES[table][0])


def missing_column(file, table, found, column, how="andre navne kan oversættes i kolonnenavne.yaml"):
    return E(file, 1, column, found,
             f"en kolonne '{column}' (kolonnerne i {table}: {COLUMNS(table)}; {how})")


# --- the cases: each breaks the raw folder and returns (errors, warnings) it must give ------------
def case_missing_column_skoler(raw):
    edit(raw, "skoler.csv", lambda f: f.drop(columns=["kommunekode"]))
    return [missing_column("skoler.csv", "skoler", "institutionsnummer, skolenavn, kommune", "kommunekode")], []


def case_missing_column_elever_with_hint(raw):
    edit(raw, "elever.csv", lambda f: f.rename(columns={"koen": "Kønnet"}))
    found = "elev_id, institutionsnummer, skoleaar, klassetrin, klasse, Kønnet"
    return ([missing_column("elever.csv", "elever", found, "koen",
                            "hedder den 'Kønnet', så skriv 'Kønnet: koen' i kolonnenavne.yaml")],
            [W("elever.csv", 1, "Kønnet", "Kønnet", "en af kolonnerne elev_id, institutionsnummer, skoleaar, "
               "klassetrin, koen, klasse (eller en linje i kolonnenavne.yaml); kolonnen ignoreres")])


def case_missing_column_svar(raw):
    edit(raw, "kortlaegning_svar.csv", lambda f: f.drop(columns=["svar"]))
    return [missing_column("kortlaegning_svar.csv", "kortlaegning_svar", "elev_id, runde, dato, spoergsmaal_id",
                           "svar")], []


def case_missing_column_spoergsmaal(raw):
    edit(raw, "kortlaegning_spoergsmaal.csv", lambda f: f.drop(columns=["omvendt"]))
    return [missing_column("kortlaegning_spoergsmaal.csv", "kortlaegning_spoergsmaal",
                           "spoergsmaal_id, dimension, tekst, klassetrin_fra", "omvendt")], []


def case_missing_column_fravaer(raw):
    edit(raw, "fravaer.csv", lambda f: f.drop(columns=["omfang"]))
    return [missing_column("fravaer.csv", "fravaer", "elev_id, dato, fravaerstype", "omfang")], []


def case_missing_column_skoledage(raw):
    edit(raw, "skoledage.csv", lambda f: f.drop(columns=["dato"]))
    return [missing_column("skoledage.csv", "skoledage", "institutionsnummer", "dato")], []


def case_missing_column_nationale_tal(raw):
    edit(raw, "nationale_tal.csv", lambda f: f.drop(columns=["vaerdi"]))
    return [missing_column("nationale_tal.csv", "nationale_tal", "skoleaar, niveau, kode, indikator, antal",
                           "vaerdi")], []


def case_missing_file(raw):
    (raw / "kortlaegning_spoergsmaal.csv").unlink()
    t = "kortlaegning_spoergsmaal"
    return [E(f"{t}.csv", None, None, "ingen fil",
              f"en fil {t}.csv, {t}.xlsx eller {t}.parquet i {raw} (eller en linje '{t}: <fil>' i kilder.yaml)")], []


def case_bad_gender(raw):
    set_value(raw, "elever.csv", 4, "koen", "x")
    return [E("elever.csv", 6, "koen", "x", "dreng/pige (også M/K, D/P)")], []


def case_grade_out_of_range(raw):
    set_value(raw, "elever.csv", 9, "klassetrin", "12")
    return [E("elever.csv", 11, "klassetrin", "12", "et klassetrin 0–10")], []


def case_bad_date(raw):
    set_value(raw, "kortlaegning_svar.csv", 3, "dato", "31-02-2024")
    return [E("kortlaegning_svar.csv", 5, "dato", "31-02-2024",
              "en dato som 2024-10-02, 02-10-2024 eller 02.10.2024")], []


def case_likert_out_of_range(raw):
    set_value(raw, "kortlaegning_svar.csv", 5, "svar", "7")
    return [E("kortlaegning_svar.csv", 7, "svar", "7", "1–5, et svar som 'enig', eller tom")], []


def case_unknown_likert_label(raw):
    set_value(raw, "kortlaegning_svar.csv", 6, "svar", "meget enig")
    return [E("kortlaegning_svar.csv", 8, "svar", "meget enig", "1–5, et svar som 'enig', eller tom")], []


def case_text_where_number_expected(raw):
    set_value(raw, "fravaer.csv", 2, "omfang", "halv")
    return [E("fravaer.csv", 4, "omfang", "halv",
              "et tal (decimalkomma og tusindtalspunktum er tilladt, fx 1.234,5)")], []


def case_omfang_zero(raw):
    set_value(raw, "fravaer.csv", 3, "omfang", "0")
    return [E("fravaer.csv", 5, "omfang", "0", "en andel af en dag: 0 < omfang ≤ 1 (fx 1 eller 0,5)")], []


def case_omfang_above_one(raw):
    set_value(raw, "fravaer.csv", 4, "omfang", "1,5")
    return [E("fravaer.csv", 6, "omfang", "1,5", "en andel af en dag: 0 < omfang ≤ 1 (fx 1 eller 0,5)")], []


def case_unknown_absence_type(raw):
    set_value(raw, "fravaer.csv", 5, "fravaerstype", "ferie")
    return [E("fravaer.csv", 7, "fravaerstype", "ferie",
              "sygdom, lovligt eller ulovligt (også 'Sygefravær', 'Fravær med tilladelse', 'Ulovligt fravær')")], []


def case_duplicate_answer(raw):
    f = edit(raw, "kortlaegning_svar.csv", lambda f: pd.concat([f, f.iloc[[7]]], ignore_index=True))
    last = len(f) + 1
    return [E("kortlaegning_svar.csv", last, "spoergsmaal_id", f"{f.runde[7]} {f.spoergsmaal_id[7]}",
              "ét svar pr. elev, runde og spørgsmål; samme elev har svaret i række 9")], []


def case_duplicate_pupil_row(raw):
    f = edit(raw, "elever.csv", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    return [E("elever.csv", len(f) + 1, "elev_id", "(elev-id skjult)",
              "én række pr. elev pr. skoleår; samme elev og skoleår står også i række 2")], []


def case_pupil_at_unknown_school(raw):
    set_value(raw, "elever.csv", 0, "institutionsnummer", "999999")
    return [E("elever.csv", 2, "institutionsnummer", "999999", "et institutionsnummer fra skoler-tabellen")], []


def case_answer_for_unknown_pupil(raw):
    set_value(raw, "kortlaegning_svar.csv", 8, "elev_id", "X999")
    return [E("kortlaegning_svar.csv", 10, "elev_id", "(elev-id skjult)", "en elev fra elever-tabellen")], []


def case_absence_for_unknown_pupil(raw):
    set_value(raw, "fravaer.csv", 1, "elev_id", "X999")
    return [E("fravaer.csv", 3, "elev_id", "(elev-id skjult)", "en elev fra elever-tabellen")], []


def case_unknown_question(raw):
    set_value(raw, "kortlaegning_svar.csv", 9, "spoergsmaal_id", "S99")
    return [E("kortlaegning_svar.csv", 11, "spoergsmaal_id", "S99",
              "et spørgsmåls-id fra kodebogen (kortlaegning_spoergsmaal.csv)")], []


def case_pupil_at_two_schools(raw):
    f = edit(raw, "elever.csv",
             lambda f: pd.concat([f, f.iloc[[0]].assign(institutionsnummer="861901")], ignore_index=True))
    year = f.skoleaar[0]
    exp = f"én skole pr. elev pr. skoleår (eleven står på 793002, 861901 i {year})"
    return [E("elever.csv", 2, "institutionsnummer", "793002", exp),
            E("elever.csv", len(f) + 1, "institutionsnummer", "861901", exp)], []


def case_cpr_in_other_column_is_masked(raw):
    set_value(raw, "elever.csv", 2, "klasse", "010203-1234")
    return [E("elever.csv", 4, "klasse", "0102xx-xxxx", "ingen CPR-numre uden for elev_id (de pseudonymiseres "
              "kun dér); slet kolonnen eller værdien i udtrækket")], []


def case_cpr_in_number_column_is_masked(raw):
    set_value(raw, "kortlaegning_svar.csv", 12, "svar", "0102031234")
    return [E("kortlaegning_svar.csv", 14, "svar", "0102xx-xxxx", "1–5, et svar som 'enig', eller tom"),
            E("kortlaegning_svar.csv", 14, "svar", "0102xx-xxxx", "ingen CPR-numre uden for elev_id (de "
              "pseudonymiseres kun dér); slet kolonnen eller værdien i udtrækket")], []


CPR_LOST_ZERO = ("ingen CPR-numre uden for elev_id (et tal med 9 cifre er et CPR-nummer, hvor Excel har fjernet "
                 "det første 0); slet kolonnen eller værdien i udtrækket")


def case_cpr_without_its_leading_zero_in_a_csv(raw):
    set_value(raw, "elever.csv", 2, "klasse", "311091234")  # 031109-1234, opened and saved again in Excel
    return [E("elever.csv", 4, "klasse", "0311xx-xxxx", CPR_LOST_ZERO)], []


def case_cpr_as_an_excel_number_cell(raw):
    from openpyxl import Workbook
    f = read_csv(raw / "elever.csv")
    wb = Workbook()
    wb.active.append(list(f.columns))
    f["klasse"] = f["klasse"].astype(object)
    f.loc[3, "klasse"] = 311091234  # a number cell: the zero is gone
    for r in f.itertuples(index=False):
        wb.active.append(list(r))
    (raw / "elever.csv").unlink()
    wb.save(raw / "elever.xlsx")
    return [E("elever.xlsx", 5, "klasse", "0311xx-xxxx", CPR_LOST_ZERO)], []


def case_cpr_in_a_parquet_integer_column(raw):
    f = read_csv(raw / "nationale_tal.csv")
    f["antal"] = pd.to_numeric(f["antal"]).astype("int64")
    f.loc[2, "antal"] = 1509881234  # 150988-1234 as a 64-bit integer
    f.loc[3, "antal"] = 311091234   # 031109-1234 without its zero
    (raw / "nationale_tal.csv").unlink()
    f.to_parquet(raw / "nationale_tal.parquet", index=False)
    return [E("nationale_tal.parquet", 3, "antal", "1509xx-xxxx", "ingen CPR-numre uden for elev_id (de "
              "pseudonymiseres kun dér); slet kolonnen eller værdien i udtrækket"),
            E("nationale_tal.parquet", 4, "antal", "0311xx-xxxx", CPR_LOST_ZERO)], []


def case_blank_required_value(raw):
    set_value(raw, "elever.csv", 6, "koen", "")
    return [E("elever.csv", 8, "koen", "", "en værdi (feltet må ikke være tomt)")], []


def case_institutionsnummer_five_digits(raw):
    set_value(raw, "elever.csv", 1, "institutionsnummer", "79300")
    return [E("elever.csv", 3, "institutionsnummer", "79300", "6 cifre, fx 861010 (et foranstillet 0 tæller med)")], []


def case_institutionsnummer_letters(raw):
    set_value(raw, "skoledage.csv", 1, "institutionsnummer", "79300A")
    return [E("skoledage.csv", 3, "institutionsnummer", "79300A",
              "6 cifre, fx 861010 (et foranstillet 0 tæller med)")], []


def case_bad_kommunekode(raw):
    set_value(raw, "skoler.csv", 0, "kommunekode", "82O")
    return [E("skoler.csv", 2, "kommunekode", "82O", "3 cifre (fx 820)")], []


def case_bad_school_year(raw):
    set_value(raw, "elever.csv", 3, "skoleaar", "2023/2025")
    return [E("elever.csv", 5, "skoleaar", "2023/2025", "et skoleår som 2024/2025 (også 2024/25 eller 2024-2025)")], []


def case_unknown_round(raw):
    set_value(raw, "kortlaegning_svar.csv", 10, "runde", "T4")
    return [E("kortlaegning_svar.csv", 12, "runde", "T4", "T1, T2 eller T3")], []


def case_no_t1_round(raw):
    edit(raw, "kortlaegning_svar.csv", lambda f: f[f.runde != "T1"])
    return [E("kortlaegning_svar.csv", None, "runde", "runderne T2, T3",
              "besvarelser i T1: skalaen 500/100 forankres i programmets T1-population")], []


def case_unreadable_xlsx_not_a_zip(raw):
    (raw / "elever.csv").unlink()
    (raw / "elever.xlsx").write_bytes(b"PK? no, just bytes\x00\x01\x02")
    return [E("elever.xlsx", None, None, "en binær fil (ikke tekst), ikke en Excel-projektmappe (.xlsx)",
              "en .xlsx-fil gemt fra Excel: åbn filen og gem den som 'Excel-projektmappe (.xlsx)' eller 'CSV UTF-8'")], []


def case_old_xls_format(raw):
    (raw / "fravaer.csv").rename(raw / "fravaer.xls")
    return [E("fravaer.xls", None, None, "det gamle Excel-format (.xls)",
              "en .xlsx-, CSV- eller Parquet-fil: åbn filen og gem den som 'Excel-projektmappe (.xlsx)' eller "
              "'CSV (semikolonsepareret)'")], []


def case_csv_row_with_extra_field(raw):
    lines = (raw / "skoler.csv").read_text(encoding="utf-8").splitlines()
    lines[2] += ";ekstra"
    (raw / "skoler.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [E("skoler.csv", 3, None, "5 felter",
              "4 felter som overskriften (tekst med ';' skal stå i anførselstegn)")], []


def case_csv_quote_never_closed(raw):
    lines = (raw / "skoler.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(";", ';"', 1)  # line 3: a quote opens and never closes
    (raw / "skoler.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [E("skoler.csv", 3, None, 'et anførselstegn (") der ikke lukkes',
              'tekst i anførselstegn, der slutter med et anførselstegn i samme felt (fx "Skole; afd. Nord"): '
              "ret rækken, eller fjern anførselstegnet")], []


def case_csv_extra_field_after_a_quoted_line_break(raw):
    lines = (raw / "skoler.csv").read_text(encoding="utf-8").splitlines()
    first = lines[1].split(";")
    lines[1] = ";".join([first[0], f'"{first[1]}\nafd. Nord"', *first[2:]])  # the record spans lines 2–3
    lines[2] += ";ekstra"  # the next record starts on line 4
    (raw / "skoler.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [E("skoler.csv", 4, None, "5 felter",
              "4 felter som overskriften (tekst med ';' skal stå i anførselstegn)")], []


def case_csv_with_one_huge_field_is_read(raw):
    set_value(raw, "kortlaegning_spoergsmaal.csv", 0, "tekst", "lang tekst " * 20_000)  # 220 kB in one field
    return [], []


def case_a_huge_bad_value_is_shown_by_its_start_and_length(raw):
    set_value(raw, "elever.csv", 4, "koen", "x" * 150_000)
    return [E("elever.csv", 6, "koen", "x" * 100 + "… (150.000 tegn)", "dreng/pige (også M/K, D/P)")], []


def case_csv_saved_as_utf16_without_bom(raw):
    text = (raw / "skoler.csv").read_text(encoding="utf-8")
    (raw / "skoler.csv").write_bytes(text.encode("utf-16-le"))
    return [E("skoler.csv", None, None, "tekst i UTF-16 uden BOM (byte-rækkefølgemærke)",
              "tekst i UTF-8 (eller UTF-16 med BOM): gem filen igen som 'CSV UTF-8 (kommasepareret)'")], []


def case_pdf_saved_as_csv(raw):
    (raw / "elever.csv").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    return [E("elever.csv", None, None, "en PDF-fil", "en CSV-fil (tekst): åbn tabellen i Excel og gem den som "
              "'CSV UTF-8 (kommasepareret)' eller 'CSV (semikolonsepareret)'")], []


def case_binary_file_saved_as_csv(raw):
    (raw / "fravaer.csv").write_bytes(bytes(range(256)) * 8)
    return [E("fravaer.csv", None, None, "en binær fil (ikke tekst)", "en CSV-fil (tekst): åbn tabellen i Excel "
              "og gem den som 'CSV UTF-8 (kommasepareret)' eller 'CSV (semikolonsepareret)'")], []


def case_workbook_saved_with_csv_extension(raw):
    import io
    from openpyxl import Workbook
    buf = io.BytesIO()
    Workbook().save(buf)
    (raw / "skoledage.csv").write_bytes(buf.getvalue())
    return [E("skoledage.csv", None, None, "en zip-fil (fx en Excel-projektmappe, .xlsx)",
              "en CSV-fil (tekst): åbn tabellen i Excel og gem den som 'CSV UTF-8 (kommasepareret)' eller "
              "'CSV (semikolonsepareret)', eller omdøb filen til .xlsx, hvis den er det")], []


def case_csv_text_saved_with_xlsx_extension(raw):
    (raw / "skoler.csv").rename(raw / "skoler.xlsx")
    return [E("skoler.xlsx", None, None, "en tekstfil (CSV), ikke en Excel-projektmappe (.xlsx)",
              "en .xlsx-fil gemt fra Excel: åbn filen og gem den som 'Excel-projektmappe (.xlsx)' eller 'CSV UTF-8', "
              "eller omdøb filen til .csv, hvis den er det")], []


def case_html_page_saved_as_csv(raw):
    (raw / "elever.csv").write_text("<!DOCTYPE html>\n<html><body>Log ind for at fortsætte</body></html>\n",
                                    encoding="utf-8")
    return [E("elever.csv", None, None, "en HTML- eller XML-side (fx 'Gem som webside', eller en login- eller "
              "fejlside fra en download)", "en CSV-fil (tekst): åbn tabellen i Excel og gem den som "
              "'CSV UTF-8 (kommasepareret)' eller 'CSV (semikolonsepareret)'")], []


def case_header_only_pupil_list_is_named_not_its_consequences(raw):
    edit(raw, "elever.csv", lambda f: f.iloc[:0])
    return [E("elever.csv", None, None, "kun overskriften, ingen rækker",
              "én række pr. elev og skoleår (er udtrækket tomt, eller filtreret forkert?)")], []


def case_header_only_optional_table(raw):
    edit(raw, "fravaer.csv", lambda f: f.iloc[:0])
    return [E("fravaer.csv", None, None, "kun overskriften, ingen rækker",
              "én række pr. elev, dag og fraværstype (eller slet filen, hvis I ikke har data til tabellen)")], []


KNOWN_DIMENSIONS = ("faglig_trivsel, social_trivsel, laeringsmotivation, relation_til_laererne, klasseledelse, "
                    "foraeldreinvolvering, fravaer_af_mobning")
KNOWN_INDICATORS = ("faglig_trivsel, social_trivsel, stoette_og_inspiration, ro_og_orden, generel_skoletrivsel, "
                    "samlet_indikator, fravaer_pct, andel_over_10pct_fravaer, trivsel_hoejest_andel")


def case_misspelt_dimension_in_the_codebook(raw):
    set_value(raw, "kortlaegning_spoergsmaal.csv", 3, "dimension", "Faglig trivsl")
    return [E("kortlaegning_spoergsmaal.csv", 5, "dimension", "Faglig trivsl",
              f"en kendt dimension – mente du 'faglig_trivsel'? de kendte er {KNOWN_DIMENSIONS}; en ny dimension "
              "erklæres i kategorier.yaml")], []


def case_dimension_written_as_its_danish_label_is_known(raw):
    edit(raw, "kortlaegning_spoergsmaal.csv",
         lambda f: f.assign(dimension=f.dimension.map(config.DIMENSIONS)))  # 'Klasseledelse (ro og orden)', …
    return [], []


def case_dimension_declared_in_kategorier_yaml_is_accepted(raw):
    set_value(raw, "kortlaegning_spoergsmaal.csv", 3, "dimension", "Trivsel i frikvarteret")
    (raw / "kategorier.yaml").write_text("# egne kategorier\ndimension:\n  - trivsel i frikvarteret\n",
                                         encoding="utf-8")
    return [], []


def case_unknown_indicator_in_nationale_tal(raw):
    set_value(raw, "nationale_tal.csv", 1, "indikator", "faglig_trivesl:1,0-2,0")
    return [E("nationale_tal.csv", 3, "indikator", "faglig_trivesl:1,0-2,0",
              f"en kendt indikator – mente du 'faglig_trivsel:1,0-2,0'? de kendte er {KNOWN_INDICATORS} (og svarbånd "
              "som 'faglig_trivsel:4,1-5,0'); en ny indikator erklæres i kategorier.yaml")], []


def case_kategorier_yaml_with_an_unknown_section(raw):
    (raw / "kategorier.yaml").write_text("dimensioner: [trivsel_i_frikvarteret]\n", encoding="utf-8")
    return [E("kategorier.yaml", None, None, "afsnittet 'dimensioner'", "et af afsnittene dimension, indikator")], []


def case_two_values_for_one_figure_in_nationale_tal(raw):
    f = edit(raw, "nationale_tal.csv", lambda f: pd.concat([f, f.iloc[[0]].assign(vaerdi="3,9")], ignore_index=True))
    r = f.iloc[0]
    return [E("nationale_tal.csv", len(f) + 1, "vaerdi", "3,9",
              f"ét tal pr. skoleår, niveau, kode og indikator; {r.indikator} for {r.niveau} {r.kode} {r.skoleaar} "
              f"står også i række 2 med {r.vaerdi}")], []


def case_the_same_figure_twice_in_nationale_tal_is_kept_once(raw):
    edit(raw, "nationale_tal.csv", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    return [], []


def case_nationale_tal_disagrees_with_a_ministry_download(raw):
    (raw / "nationale").mkdir()
    shutil.copy(MINISTRY_FIXTURES / "skoletal_full.xlsx", raw / "nationale" / "Skoletal.xlsx")
    own = [("2018/2019", "kommune", "820", "fravaer_pct", "5,9"),               # the download says 5,3634
           ("2018/2019", "kommune", "820", "trivsel_hoejest_andel", "93,0"),  # 92,9569 rounded: the same figure
           ("2018/2019", "land", "DK", "fravaer_pct", "5,9")]                 # the same figure
    f = edit(raw, "nationale_tal.csv", lambda f: pd.concat(
        [f, pd.DataFrame(own, columns=["skoleaar", "niveau", "kode", "indikator", "vaerdi"])], ignore_index=True))
    return [E("nationale_tal.csv", len(f) - 1, "vaerdi", "5,9",
              "samme tal som nationale/Skoletal.xlsx (5,3634) for fravaer_pct for kommune 820 2018/2019: ret eller "
              "slet rækken her, eller fjern downloaden")], []


def case_absence_twice_for_one_pupil_day_and_type(raw):
    f = edit(raw, "fravaer.csv", lambda f: pd.concat([f, f.iloc[[4]].assign(omfang="0,5")], ignore_index=True))
    return [E("fravaer.csv", len(f) + 1, "fravaerstype", f"{f.dato[4]} {f.fravaerstype[4]}",
              "én række pr. elev, dag og fraværstype (læg delregistreringer sammen til én andel af dagen); samme "
              "elev, dag og type står også i række 6")], []


def case_absence_adding_up_to_more_than_a_day(raw):
    f = read_csv(raw / "fravaer.csv")
    other = "ulovligt" if f.fravaerstype[4] != "ulovligt" else "sygdom"
    f = edit(raw, "fravaer.csv", lambda f: pd.concat([f, f.iloc[[4]].assign(fravaerstype=other, omfang="0,5")],
                                                     ignore_index=True))
    total = pd.to_numeric(f.omfang[4].replace(",", ".")) + 0.5
    return [E("fravaer.csv", len(f) + 1, "omfang", f"{total:g} dage den {f.dato[4]}".replace(".", ","),
              "højst 1 dag pr. elev og dag (sygdom, lovligt og ulovligt fravær tilsammen)")], []


def case_two_files_for_one_table(raw):
    shutil.copy(raw / "skoler.csv", raw / "Skoler.xlsx")
    return [E("Skoler.xlsx", None, None, "Skoler.xlsx og skoler.csv",
              "én fil til tabellen skoler: fjern den forkerte, eller angiv den rigtige i kilder.yaml")], []


def case_sources_file_names_a_missing_file(raw):
    (raw / "kilder.yaml").write_text("elever: {fil: elevliste.xlsx, ark: Elever}\n", encoding="utf-8")
    return [E("kilder.yaml", None, None, "elever: elevliste.xlsx",
              f"en fil elevliste.xlsx i {raw} (sådan som kilder.yaml angiver)")], []


def case_ministry_download_not_understood(raw):
    (raw / "nationale").mkdir()
    shutil.copy(MINISTRY_FIXTURES / "unknown_no_row_labels.xlsx", raw / "nationale" / "download.xlsx")
    return [E("nationale/download.xlsx", None, None,
              "download.xlsx: ingen 'Row Labels'-række i de første 30 rækker (er det en pivottabel-download fra "
              "Uddannelsesstatistik?)",
              "en Excel-download fra Uddannelsesstatistik (Skoletal med institutionsnummer, eller trivsel pr. "
              "skole, køn og klassetrin)")], []


def case_loose_unknown_workbook_is_a_warning(raw):
    shutil.copy(MINISTRY_FIXTURES / "unknown_no_row_labels.xlsx", raw / "noter.xlsx")
    return [], [W("noter.xlsx", None, None, "hverken en tabel eller en download",
                  "et tabelnavn (skoler, elever, kortlaegning_svar, kortlaegning_spoergsmaal, fravaer, skoledage, "
                  "nationale_tal), en linje i kilder.yaml, eller en Uddannelsesstatistik-download (læg den i "
                  "nationale/)")]


def case_non_excel_file_in_nationale_is_a_warning(raw):
    (raw / "nationale").mkdir()
    (raw / "nationale" / "tal.csv").write_text("skoleaar;vaerdi\n", encoding="utf-8")
    return [], [W("nationale/tal.csv", None, None, "en .csv-fil",
                  "Uddannelsesstatistiks Excel-downloads (.xlsx); filen bruges ikke")]


def case_unknown_column_is_a_warning(raw):
    edit(raw, "skoler.csv", lambda f: f.assign(Bemærkning="x"))
    return [], [W("skoler.csv", 1, "Bemærkning", "Bemærkning", "en af kolonnerne institutionsnummer, skolenavn, "
                  "kommunekode, kommune (eller en linje i kolonnenavne.yaml); kolonnen ignoreres")]


def case_absence_on_non_school_day(raw):
    f = set_value(raw, "fravaer.csv", 0, "dato", "04-11-2023")  # a Saturday
    e = read_csv(raw / "elever.csv")
    school = e.loc[e.elev_id == f.elev_id[0], "institutionsnummer"].iloc[0]
    return [], [W("fravaer.csv", 2, "dato", "04-11-2023",
                  f"en skoledag for elevens skole {school} (rækken tælles ikke med)")]


def case_answer_outside_the_pupils_school_years(raw):
    set_value(raw, "kortlaegning_svar.csv", 11, "dato", "03-10-2022")
    return [], [W("kortlaegning_svar.csv", 13, "dato", "03-10-2022", "en dato i et skoleår, hvor eleven står i "
                  "elever (besvarelsen i 2022/2023 tælles ikke med)")]


def case_round_without_respondents_at_a_school(raw):
    e = read_csv(raw / "elever.csv")
    svar = read_csv(raw / "kortlaegning_svar.csv")
    year = pd.to_datetime(svar.loc[svar.runde == "T2", "dato"], format="%d-%m-%Y").iloc[0]
    year = f"{year.year - (year.month < 8)}/{year.year - (year.month < 8) + 1}"
    pupils = e[(e.institutionsnummer == "861901") & (e.skoleaar == year)]
    edit(raw, "kortlaegning_svar.csv", lambda f: f[~((f.runde == "T2") & f.elev_id.isin(set(pupils.elev_id)))])
    return [], [W("kortlaegning_svar.csv", None, "runde", "T2: 0 besvarelser fra Vestermarkskolen Aars (861901)",
                  f"besvarelser fra skolens {len(pupils)} elever i {year}; skolens tal for T2 bliver tomme "
                  "(er runden glemt i udtrækket?)")]


def case_school_year_missing_from_skoledage(raw):
    f = read_csv(raw / "skoledage.csv")
    d = pd.to_datetime(f.dato)
    f = f[~((f.institutionsnummer == "861901") & (d >= "2024-08-01") & (d < "2025-08-01"))]
    f.to_csv(raw / "skoledage.csv", sep=";", index=False)
    return [], [W("skoledage.csv", None, "institutionsnummer",
                  "ingen skoledage for Vestermarkskolen Aars (861901) i 2024/2025",
                  "skoledage for hver skole og hvert skoleår i elever; standardkalenderen bruges her")]


def case_school_twice_in_skoler(raw):
    f = edit(raw, "skoler.csv", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    return [E("skoler.csv", len(f) + 1, "institutionsnummer", f.institutionsnummer[0],
              "hver skole én gang i skoler; findes også i række 2")], []


def case_text_mangled_upstream_is_a_warning(raw):
    set_value(raw, "skoler.csv", 0, "skolenavn", "Østermarkskolen".encode("utf-8").decode("cp1252"))
    return [], [W("skoler.csv", None, None, "'Ã˜' i teksten", "æ, ø og å; filen er sikkert gemt som UTF-8 og "
                  "åbnet som Windows-1252 undervejs – eksportér den igen")]


def case_broken_kolonnenavne_yaml(raw):
    (raw / "kolonnenavne.yaml").write_text("Kønnet: koen\nelever: [a, b\n", encoding="utf-8")
    return [E("kolonnenavne.yaml", 3, None, "YAML-fejl: expected ',' or ']', but got '<stream end>'",
              "linjer som 'Køn2: koen' eller 'elever: {Køn2: koen}' (YAML, UTF-8)")], []


def case_unknown_table_in_kilder_yaml(raw):
    (raw / "kilder.yaml").write_text("elevr: elever.csv\n", encoding="utf-8")
    return [E("kilder.yaml", None, None, "tabellen 'elevr'", "en af tabellerne skoler, elever, kortlaegning_svar, "
              "kortlaegning_spoergsmaal, fravaer, skoledage, nationale_tal")], []


def case_many_errors_in_one_run(raw):
    errors = []
    for case in (case_bad_gender, case_bad_date, case_unknown_question, case_missing_column_fravaer,
                 case_cpr_in_other_column_is_masked, case_omfang_zero):
        if case is case_omfang_zero:  # fravaer has lost its omfang column: nothing more to say there
            continue
        errors += case(raw)[0]
    return errors, []


CASES = {name[len("case_"):]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_catalogue(name, mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    errors, warns = CASES[name](raw)
    report = ingest.check(raw)
    got_errors = [str(p) for p in report.errors]
    got_warnings = [str(p) for p in report.warnings]
    assert sorted(got_errors) == sorted(errors), report.text()
    for w in warns:
        assert w in got_warnings, report.text()
    if not errors:
        assert len(got_warnings) == len(warns), report.text()
    assert report.text().splitlines()[0] == f"{len(got_errors)} fejl, {len(got_warnings)} advarsler"


def test_catalogue_is_large_enough():
    assert len(CASES) >= 25


def test_report_caps_each_rule_and_column(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    edit(raw, "elever.csv", lambda f: f.assign(koen="?"))
    n = len(read_csv(raw / "elever.csv"))
    lines = ingest.check(raw).text().splitlines()
    koen = [ln for ln in lines if "kolonne 'koen'" in ln]
    assert len(koen) == 21
    assert koen[-1] == (f"[fejl] elever.csv, række … og {n - 20} rækker mere, kolonne 'koen': fandt '', "
                        "forventede dreng/pige (også M/K, D/P)")


def test_errors_stop_ingest_and_nothing_is_written(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    case_many_errors_in_one_run(raw)
    with pytest.raises(ingest.DataError) as exc:
        ingest.ingest(raw, tmp_path / "processed")
    assert exc.value.report.text().startswith("5 fejl, 0 advarsler")
    assert not (tmp_path / "processed" / "current").exists()


# --- warnings that change what is built ------------------------------------------------------
@pytest.fixture(scope="module")
def mini_built(mini, tmp_path_factory) -> config.Paths:
    paths = config.Paths.under(tmp_path_factory.mktemp("mini_built"))
    shutil.copytree(mini, paths.raw)
    ingest.ingest(paths.raw, paths.processed)
    params.write_params(paths.processed, paths.params, demo=True)
    return paths


def test_params_for_a_school_not_in_the_data_is_skipped_with_a_warning(mini_built, tmp_path):
    folder = shutil.copytree(mini_built.params, mini_built.raw.parent / "params_extra")
    ghost = dict(params.read_params(folder / "861901.yaml"), school_id="999999", school_name="Spøgelsesskolen")
    import yaml
    (folder / "999999.yaml").write_text(yaml.safe_dump(ghost, allow_unicode=True), encoding="utf-8")
    report = Report()
    with pytest.warns(UserWarning, match="999999.yaml, kolonne 'school_id': fandt '999999'"):
        chosen = build.select(folder, processed=mini_built.processed, report=report)
    assert [p["school_id"] for p in chosen] == list(MINI_SCHOOLS)
    assert [str(p) for p in report.warnings] == [
        "[advarsel] 999999.yaml, kolonne 'school_id': fandt '999999', forventede en skole i de indlæste data; "
        "Spøgelsesskolen bygges ikke (slet filen, eller indlæs data med skolen og kør 'datapakke params')"]
    shutil.rmtree(folder)


def test_params_skip_finds_the_data_next_to_the_params_folder(mini_built):
    import yaml
    ghost = dict(params.read_params(mini_built.params / "861901.yaml"), school_id="999999", school_name="Spøgelse")
    path = mini_built.params / "999999.yaml"
    path.write_text(yaml.safe_dump(ghost, allow_unicode=True), encoding="utf-8")
    try:
        with pytest.warns(UserWarning, match="params_unknown_school|Spøgelse bygges ikke"):
            chosen = build.select(mini_built.params, municipality="820")
    finally:
        path.unlink()
    assert [p["school_id"] for p in chosen] == list(MINI_SCHOOLS)


def test_absence_on_non_school_day_is_left_out(mini_built, tmp_path):
    raw = shutil.copytree(mini_built.raw, tmp_path / "raw")
    f = set_value(raw, "fravaer.csv", 0, "dato", "04-11-2023")
    loaded, report = ingest.load_all(raw)
    assert not report.errors and len(report.warnings) == 1
    assert len(loaded["fravaer"].frame) == len(f) - 1
    assert pd.Timestamp("2023-11-04") not in set(loaded["fravaer"].frame["dato"])


def test_round_without_respondents_still_builds(mini_built, tmp_path):
    raw = shutil.copytree(mini_built.raw, tmp_path / "raw")
    case_round_without_respondents_at_a_school(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ingest.ingest(raw, tmp_path / "processed")
    assert [p.rule for p in result.report.warnings] == ["empty_round"]
    text = (result.version / "valideringsrapport.txt").read_text(encoding="utf-8")
    assert "T2: 0 besvarelser fra Vestermarkskolen Aars (861901)" in text
