"""Ingest: formats real exports come in, pseudonyms and the key, the ministry's downloads,
atomic and idempotent writes (also when the process is killed)."""
import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from datapakke import config, ingest, ministry, privacy, store
from datapakke.validate import DataError, Report

from .test_validation_catalogue import make_mini, read_csv


def _csv(path):
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)


def _write(frame, path):
    frame.to_csv(path, sep=";", index=False)


def _errors(raw, tmp_path):
    with pytest.raises(DataError) as exc:
        ingest.ingest(raw, tmp_path / "processed")
    return exc.value.report


def test_fixture_ingests_cleanly(built):
    v = store.current(built.processed)
    for name in ("skoler", "elever", "kortlaegning_svar", "scores", "fravaer"):
        assert (v / f"{name}.parquet").is_file()
    assert "0 fejl" in (v / "valideringsrapport.txt").read_text()


def test_no_raw_pupil_id_in_processed(built):
    raw_ids = set(_csv(built.raw / "elever.csv")["elev_id"])
    v = store.current(built.processed)
    for f in v.rglob("*.parquet"):
        frame = pd.read_parquet(f)
        for col in frame.columns:
            if frame[col].dtype.kind in "OUST" or str(frame[col].dtype) in ("str", "string"):
                assert not raw_ids & set(frame[col].dropna().astype(str)), f"raw id in {f.name}:{col}"
    pseud = pd.read_parquet(v / "elever.parquet")["elev_id"]
    assert pseud.str.fullmatch(r"[0-9a-f]{20}").all()


def test_pseudonym_is_keyed_hmac():
    ids = pd.Series(["0101001234", "x", "0101001234"])
    a = privacy.pseudonymise(ids, b"k1")
    assert a[0] == a[2] and a[0] != a[1]
    assert privacy.pseudonymise(ids, b"k2")[0] != a[0]
    import hashlib as h, hmac
    assert a[0] == hmac.new(b"k1", b"0101001234", h.sha256).hexdigest()[:20]


def test_real_data_without_key_is_an_error(raw_copy, tmp_path, monkeypatch):
    (raw_copy / "DEMODATA.txt").unlink()
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(privacy.KEY_FILE_ENV, raising=False)
    with pytest.raises(privacy.KeyError_, match="DATAPAKKE_KEY"):
        ingest.ingest(raw_copy, tmp_path / "p")
    assert not (tmp_path / "p" / "current").exists()


def test_bad_values_name_file_row_column_and_expectation(raw_copy, tmp_path):
    e = _csv(raw_copy / "elever.csv")
    e.loc[4, "koen"] = "x"
    e.loc[9, "klassetrin"] = "12"
    _write(e, raw_copy / "elever.csv")
    text = _errors(raw_copy, tmp_path).text()
    assert "elever.csv, række 6, kolonne 'koen': fandt 'x', forventede dreng/pige" in text
    assert "elever.csv, række 11, kolonne 'klassetrin': fandt '12', forventede et klassetrin 0–10" in text
    assert not (tmp_path / "processed" / "current").exists()


def test_missing_column_and_missing_file(raw_copy, tmp_path):
    s = _csv(raw_copy / "skoler.csv").drop(columns=["kommunekode"])
    _write(s, raw_copy / "skoler.csv")
    (raw_copy / "kortlaegning_spoergsmaal.csv").unlink()
    text = _errors(raw_copy, tmp_path).text()
    assert "skoler.csv, række 1, kolonne 'kommunekode'" in text and "en kolonne 'kommunekode'" in text
    assert "[fejl] kortlaegning_spoergsmaal.csv: fandt 'ingen fil', forventede en fil kortlaegning_spoergsmaal.csv" in text


def test_pupil_at_unknown_school(raw_copy, tmp_path):
    e = _csv(raw_copy / "elever.csv")
    e.loc[0, "institutionsnummer"] = "999999"
    _write(e, raw_copy / "elever.csv")
    text = _errors(raw_copy, tmp_path).text()
    assert "elever.csv, række 2, kolonne 'institutionsnummer': fandt '999999', forventede et institutionsnummer fra skoler-tabellen" in text


def test_cpr_outside_elev_id_is_an_error_and_masked(raw_copy, tmp_path):
    e = _csv(raw_copy / "elever.csv")
    e.loc[2, "klasse"] = "010203-1234"
    _write(e, raw_copy / "elever.csv")
    text = _errors(raw_copy, tmp_path).text()
    assert "kolonne 'klasse'" in text and "0102xx-xxxx" in text
    assert "010203-1234" not in text


def test_header_variants_are_recognised(raw_copy, tmp_path):
    e = _csv(raw_copy / "elever.csv").rename(columns={"koen": " Køn ", "institutionsnummer": "Inst_nr"})
    _write(e, raw_copy / "elever.csv")
    ingest.ingest(raw_copy, tmp_path / "p")
    assert (tmp_path / "p" / "current" / "scores.parquet").is_file()


def test_ingest_twice_is_byte_identical(raw_copy, tmp_path):
    def digest():
        v = store.current(tmp_path / "p")
        return {str(f.relative_to(v)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(v.rglob("*")) if f.is_file()}
    ingest.ingest(raw_copy, tmp_path / "p")
    first = digest()
    ingest.ingest(raw_copy, tmp_path / "p")
    assert digest() == first


def test_failed_ingest_keeps_previous_version(raw_copy, tmp_path, monkeypatch):
    ingest.ingest(raw_copy, tmp_path / "p")
    before = store.current(tmp_path / "p")

    def boom(*a, **k):
        raise RuntimeError("killed mid-write")
    monkeypatch.setattr("datapakke.aggregate.write_all", boom)
    e = _csv(raw_copy / "skoler.csv")
    e.loc[0, "skolenavn"] = "Nyt navn"
    _write(e, raw_copy / "skoler.csv")
    with pytest.raises(RuntimeError):
        ingest.ingest(raw_copy, tmp_path / "p")
    assert store.current(tmp_path / "p") == before
    assert pd.read_parquet(before / "skoler.parquet")["skolenavn"].notna().all()
    assert not [p for p in os.listdir(tmp_path / "p") if p.startswith(".staging")]


# =============================================================================================
# Formats: what municipalities' exports really look like
# =============================================================================================
SKOLER_HEADER = ["institutionsnummer", "skolenavn", "kommunekode", "kommune"]


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return make_mini(tmp_path_factory.mktemp("mini_ingest") / "raw")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_encodings_and_separators_never_mangle_aeoeaa(tmp_path, encoding, sep):
    rows = [SKOLER_HEADER, ["861901", "Østermarkskolen", "820", "Ålestrup"],
            ["793002", "Skole; med \"citat\", og komma", "820", "Vesthimmerland"]]
    path = tmp_path / "skoler.csv"
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=sep, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    if encoding == "cp1252":
        assert "Ø".encode("cp1252") in path.read_bytes()  # really Windows-1252, not UTF-8
    got = ingest.read_file(path)
    assert got.frame.columns.tolist() == SKOLER_HEADER
    assert got.frame["skolenavn"].tolist() == ["Østermarkskolen", 'Skole; med "citat", og komma']
    assert got.frame["kommune"].tolist() == ["Ålestrup", "Vesthimmerland"]
    assert got.rows.tolist() == [2, 3]


def test_cp1252_school_names_reach_the_processed_data(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    s = read_csv(raw / "skoler.csv")
    s["skolenavn"] = ["Østermarkskolen", "Ålestrup Skole"]
    s.to_csv(raw / "skoler.csv", sep=";", index=False, encoding="cp1252")
    loaded, report = ingest.load_all(raw)
    assert not report.errors, report.text()
    assert loaded["skoler"].frame["skolenavn"].tolist() == ["Østermarkskolen", "Ålestrup Skole"]


def test_quoted_line_breaks_blank_lines_and_sep_hint_keep_row_numbers(tmp_path):
    text = ('sep=,\r\ninstitutionsnummer,skolenavn,kommunekode,kommune\r\n'
            '861901,"Skole med\r\nto linjer",820,Vesthimmerland\r\n'
            '\r\n,,,\r\n'
            '793002,Gedsted Skole,82O,Vesthimmerland\r\n')
    (tmp_path / "skoler.csv").write_text(text, encoding="utf-8", newline="")
    got = ingest.read_file(tmp_path / "skoler.csv")
    assert got.frame["skolenavn"].tolist() == ["Skole med\r\nto linjer", "Gedsted Skole"]
    assert got.rows.tolist() == [3, 7]  # line 3 (after the sep= line); blank lines 5–6 skipped
    report = Report()
    loaded = ingest.load_table(ingest.Source("skoler", tmp_path / "skoler.csv"), "skoler", tmp_path, report,
                               ingest.HEADER_SYNONYMS)
    assert [str(p) for p in report.problems] == []
    from datapakke.validate import check_columns
    check_columns("skoler", loaded.frame, loaded.file, loaded.rows, report, loaded.raw)
    assert [str(p) for p in report.problems] == [
        "[fejl] skoler.csv, række 7, kolonne 'kommunekode': fandt '82O', forventede 3 cifre (fx 820)"]


def test_danish_numbers():
    danish = pd.Series(["1.234,5", "0,5", "1.234", "12", "", "1.234.567", "-0,25", "1 234,5"])
    assert ingest.parse_number(danish).tolist()[:4] == [1234.5, 0.5, 1234.0, 12.0]
    assert ingest.parse_number(danish).tolist()[5:] == [1234567.0, -0.25, 1234.5]
    assert np.isnan(ingest.parse_number(danish)[4])
    assert ingest.parse_number(pd.Series(["1.5", "2"])).tolist() == [1.5, 2.0]  # no comma anywhere: a decimal point
    assert ingest.parse_number(pd.Series(["450.000", "12"]), integer=True).tolist() == [450000.0, 12.0]
    assert ingest.parse_number(pd.Series([1.234, "1,5"], dtype=object)).tolist() == [1.234, 1.5]  # Excel number kept


def test_values_gender_likert_dates_grades():
    g = pd.Series(["dreng", "Pige", "M", "k", "D", "p", " Dreng "])
    f = ingest._parse_values("elever", pd.DataFrame({"koen": g}), "x", pd.Series(range(7)), Report())
    assert f["koen"].tolist() == ["dreng", "pige", "dreng", "pige", "dreng", "pige", "dreng"]
    svar = pd.Series(["4", "Helt enig", "uenig", "hverken enig eller uenig", "", "ved ikke", "3,0"])
    f = ingest._parse_values("kortlaegning_svar", pd.DataFrame({"svar": svar}), "x", pd.Series(range(7)), Report())
    assert f["svar"].tolist()[:4] == [4.0, 5.0, 2.0, 3.0] and f["svar"].isna().tolist()[4:6] == [True, True]
    dates = pd.Series(["2024-10-02", "02-10-2024", "02.10.2024", "2.10.2024", "02/10/2024", "2024-10-02 00:00:00"])
    assert (ingest.parse_date(dates) == pd.Timestamp("2024-10-02")).all()
    excel = pd.Series([pd.Timestamp("2024-10-02 13:00"), 45567, "02.10.2024"], dtype=object)
    assert (ingest.parse_date(excel) == pd.Timestamp("2024-10-02")).all()
    assert ingest.parse_grade(pd.Series(["4", "4.", "4. kl.", "4. klasse", "0. kl", "bh.kl.", "12"])).tolist() == \
        [4.0, 4.0, 4.0, 4.0, 0.0, 0.0, 12.0]
    assert ingest.parse_school_year(pd.Series(["2024/2025", "2024/25", "24/25", "2024-2025", "2024/2026"])).tolist()[:4] \
        == ["2024/2025"] * 4


def test_leading_zeros_are_kept_and_restored_only_when_safe(tmp_path):
    """kommunekode 85 → '085' always; institutionsnummer padded only from an Excel *number*."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Skoleliste, udtrukket 01-09-2025"])  # a title row above the header
    ws.append([])
    ws.append(["Inst_nr", "Skolenavn", "Kommune nr", "Kommune"])
    ws.append([61001, "Nulskolen", 85, "Testkommune"])      # numbers: zeros provably lost
    ws.append(["061002", "Tekstskolen", "085", "Testkommune"])  # text: kept as typed
    wb.save(tmp_path / "skoler.xlsx")
    report = Report()
    loaded = ingest.load_table(ingest.Source("skoler", tmp_path / "skoler.xlsx"), "skoler", tmp_path, report,
                               ingest.HEADER_SYNONYMS)
    assert loaded.frame["institutionsnummer"].tolist() == ["061001", "061002"]
    assert loaded.frame["kommunekode"].tolist() == ["085", "085"]
    assert loaded.rows.tolist() == [4, 5]  # Excel's row numbers
    (tmp_path / "skoler.csv").write_text("institutionsnummer;skolenavn;kommunekode;kommune\n"
                                         "61001;Nulskolen;85;Testkommune\n", encoding="utf-8")
    loaded = ingest.load_table(ingest.Source("skoler", tmp_path / "skoler.csv"), "skoler", tmp_path, report,
                               ingest.HEADER_SYNONYMS)
    assert loaded.frame["institutionsnummer"].tolist() == ["61001"]  # text is never padded (reported instead)
    assert loaded.frame["kommunekode"].tolist() == ["085"]
    assert ingest.parse_id(pd.Series(["00123", "D0000150", "861010.0"])).tolist() == ["00123", "D0000150", "861010"]


def test_excel_first_sheet_sheet_named_after_table_or_named_in_kilder_yaml(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    dage = read_csv(raw / "skoledage.csv")
    (raw / "skoledage.csv").unlink()
    wb = Workbook()
    info = wb.active
    info.title = "Info"
    info.append(["Skolekalender 2023–2026"])
    cal = wb.create_sheet("Kalender")
    cal.append(["Institutionsnummer", "Dato"])
    for s, d in zip(dage["institutionsnummer"], pd.to_datetime(dage["dato"])):
        cal.append([int(s), d.to_pydatetime()])
    wb.save(raw / "kalender.xlsx")
    (raw / "kilder.yaml").write_text("skoledage: {fil: kalender.xlsx, ark: Kalender}\n", encoding="utf-8")
    loaded, report = ingest.load_all(raw)
    assert not report.problems, report.text()
    assert loaded["skoledage"].file == "kalender.xlsx [ark Kalender]"
    assert len(loaded["skoledage"].frame) == len(dage)
    assert loaded["skoledage"].frame["dato"].dt.normalize().equals(
        pd.to_datetime(dage["dato"]).astype("datetime64[ns]"))
    # a wrong sheet name lists the sheets there are
    (raw / "kilder.yaml").write_text("skoledage: {fil: kalender.xlsx, ark: Skoledage}\n", encoding="utf-8")
    assert [str(p) for p in ingest.check(raw).errors] == [
        "[fejl] kalender.xlsx: fandt \"intet ark 'Skoledage'\", forventede et af arkene 'Info', 'Kalender'"]
    # without kilder.yaml: a workbook called after the table, sheet called after the table wins over the first
    (raw / "kilder.yaml").unlink()
    wb["Kalender"].title = "Skoledage"
    wb.save(raw / "skoledage.xlsx")
    (raw / "kalender.xlsx").unlink()
    loaded, report = ingest.load_all(raw)
    assert not report.problems, report.text()
    assert loaded["skoledage"].file == "skoledage.xlsx [ark Skoledage]"


def test_parquet_row_numbers_are_records(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    f = read_csv(raw / "fravaer.csv")
    f.loc[3, "fravaerstype"] = "ferie"
    f.to_parquet(raw / "fravaer.parquet", index=False)
    (raw / "fravaer.csv").unlink()
    assert [str(p) for p in ingest.check(raw).errors] == [
        "[fejl] fravaer.parquet, række 4, kolonne 'fravaerstype': fandt 'ferie', forventede sygdom, lovligt eller "
        "ulovligt (også 'Sygefravær', 'Fravær med tilladelse', 'Ulovligt fravær')"]


def test_kolonnenavne_yaml_per_table(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    e = read_csv(raw / "elever.csv").rename(columns={"koen": "Elevens kønsbetegnelse"})
    e.to_csv(raw / "elever.csv", sep=";", index=False)
    (raw / "kolonnenavne.yaml").write_text("elever:\n  Elevens kønsbetegnelse: koen\n", encoding="utf-8")
    loaded, report = ingest.load_all(raw)
    assert not report.problems, report.text()
    assert set(loaded["elever"].frame["koen"]) == {"dreng", "pige"}


def test_school_system_and_ministry_header_spellings_need_no_kolonnenavne_yaml(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    read_csv(raw / "skoler.csv").rename(columns={
        "institutionsnummer": "Institutionsnr.", "skolenavn": "Skolens navn", "kommunekode": "Kommunenr.",
        "kommune": "Kommunens navn"}).to_csv(raw / "skoler.csv", sep=";", index=False)
    read_csv(raw / "elever.csv").rename(columns={
        "elev_id": "UNI-login", "institutionsnummer": "Hovedinstitutionsnummer", "skoleaar": "Skoleåret",
        "klassetrin": "Årgang", "klasse": "Hovedgruppe", "koen": "Elevens køn"}).to_csv(raw / "elever.csv", sep=";",
                                                                                      index=False)
    read_csv(raw / "kortlaegning_spoergsmaal.csv").rename(columns={
        "spoergsmaal_id": "Spørgsmålsnr.", "dimension": "Tema", "tekst": "Formulering", "omvendt": "Omvendt kodning",
    }).to_csv(raw / "kortlaegning_spoergsmaal.csv", sep=";", index=False)
    f = read_csv(raw / "fravaer.csv")
    f.insert(0, "Type", "registrering")  # a synonym of fravaerstype; the exact 'fravaerstype' column wins
    f.rename(columns={"omfang": "Fraværsomfang", "dato": "Fraværsdag"}).to_csv(raw / "fravaer.csv", sep=";",
                                                                            index=False)
    loaded, report = ingest.load_all(raw)
    assert [str(p) for p in report.problems] == [
        "[advarsel] fravaer.csv, række 1, kolonne 'Type': fandt 'Type', forventede kolonnen 'fravaerstype' findes "
        "allerede (som 'fravaerstype'); kolonnen ignoreres"]
    assert loaded["elever"].frame["klasse"].notna().all() and set(loaded["fravaer"].frame["fravaerstype"]) <= {
        "sygdom", "lovligt", "ulovligt"}


def test_a_repeated_csv_header_is_named_as_written(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    text = (raw / "skoler.csv").read_text(encoding="utf-8").splitlines()
    text = [line + (";Kommune" if i == 0 else ";x") for i, line in enumerate(text)]
    (raw / "skoler.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    assert [str(p) for p in ingest.check(raw).problems] == [
        "[advarsel] skoler.csv, række 1, kolonne 'Kommune': fandt 'Kommune', forventede kolonnen 'kommune' findes "
        "allerede (som 'kommune'); kolonnen ignoreres"]


def test_a_declared_dimension_is_ingested_as_its_own(mini, tmp_path):
    raw = shutil.copytree(mini, tmp_path / "raw")
    q = read_csv(raw / "kortlaegning_spoergsmaal.csv")
    q.loc[q.dimension == "fravaer_af_mobning", "dimension"] = "Tryghed i frikvarteret"
    q.to_csv(raw / "kortlaegning_spoergsmaal.csv", sep=";", index=False)
    (raw / "kategorier.yaml").write_text("dimension: [tryghed_i_frikvarteret]\n", encoding="utf-8")
    result = ingest.ingest(raw, tmp_path / "processed")
    assert not result.report.problems, result.report.text()
    dims = set(pd.read_parquet(result.version / "scores.parquet")["dimension"])
    assert "tryghed_i_frikvarteret" in dims and "fravaer_af_mobning" not in dims


# =============================================================================================
# The pseudonymisation key
# =============================================================================================
def test_key_file_inside_the_repository_is_refused(raw_copy, tmp_path, monkeypatch):
    (raw_copy / "DEMODATA.txt").unlink()
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(config.ROOT / "README.md"))  # any file in the repo
    with pytest.raises(privacy.KeyError_, match="skal ligge uden for repositoriet"):
        ingest.ingest(raw_copy, tmp_path / "p")
    assert not (tmp_path / "p" / "current").exists()


def test_key_file_inside_the_data_folders_is_refused_outside_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    raw.mkdir()
    (raw / "noegle.txt").write_text("hemmelig\n")
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(raw / "noegle.txt"))
    with pytest.raises(privacy.KeyError_, match="uden for repositoriet og uden for datamapperne"):
        privacy.load_key(False, forbidden=(raw, processed))
    (tmp_path / "noegle.txt").write_text("hemmelig\n")
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(tmp_path / "noegle.txt"))
    assert privacy.load_key(False, forbidden=(raw, processed)) == b"hemmelig"
    monkeypatch.setenv(privacy.KEY_ENV, config.DEMO_KEY)
    with pytest.raises(privacy.KeyError_, match="Demo-nøglen"):
        privacy.load_key(False)


# =============================================================================================
# The ministry's Uddannelsesstatistik downloads → nationale_tal
# =============================================================================================
REAL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
        / "dk_anders-wiggers_visualization-of-school-data")
SKOLETAL = REAL / "commit-9e59618" / "Skoletal.xlsx"
SAMLET = REAL / "commit-09b480f" / "Trivsel - samlet indikator - skole - koen - klassetrin.xlsx"


@pytest.fixture(scope="module")
def ministry_ingested(mini, tmp_path_factory):
    """Mini data + the real Skoletal (in raw/nationale/, and once more loose) + the real trivsel pivot.

    Each real file is parsed once for the module (``ministry._read_raw`` memoised by real path).
    """
    if not (SKOLETAL.is_file() and SAMLET.is_file()):
        pytest.skip(f"real ministry downloads not found at {REAL} (../shared/data/real is not checked out)")
    base = tmp_path_factory.mktemp("ministry_ingest")
    raw = shutil.copytree(mini, base / "raw")
    (raw / "nationale").mkdir()
    os.symlink(SKOLETAL, raw / "nationale" / "Skoletal.xlsx")
    os.symlink(SAMLET, raw / "nationale" / "trivsel samlet.xlsx")
    os.symlink(SKOLETAL, raw / "Skoletal (1).xlsx")  # the same download again, loose: recognised, deduplicated
    original, cache = ministry._read_raw, {}

    def cached(path, sheet):
        key = (str(Path(path).resolve()), sheet)
        if key not in cache:
            cache[key] = original(path, sheet)
        return cache[key].copy()

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: slicers
        mp.setattr(ministry, "_read_raw", cached)
        result = ingest.ingest(raw, base / "processed")
        skoletal = ministry.read_skoletal(SKOLETAL)
    return result, skoletal


def test_real_skoletal_gives_absence_and_wellbeing_per_school_and_year(ministry_ingested, mini):
    result, skoletal = ministry_ingested
    assert not result.report.errors
    nat = pd.read_parquet(result.version / "nationale_tal.parquet")
    for school in ("861901", "793002"):
        exp = skoletal[skoletal["institutionsnummer"] == school].set_index("skoleaar")
        got = nat[(nat["niveau"] == "skole") & (nat["kode"] == school)]
        absence = got[got["indikator"] == "fravaer_pct"].set_index("skoleaar")["vaerdi"]
        wellbeing = got[got["indikator"] == "trivsel_hoejest_andel"].set_index("skoleaar")["vaerdi"]
        assert len(absence) >= 3, absence
        assert np.allclose(absence.sort_index(), exp.loc[absence.index, "fravaer_andel"].sort_index() * 100)
        assert np.allclose(wellbeing.sort_index(), exp.loc[wellbeing.index, "trivsel_hoejest_andel"].sort_index() * 100)
    # the municipality's own nationale_tal.csv rows are still there, appended to
    own = read_csv(mini / "nationale_tal.csv")
    assert len(nat[nat["skoleaar"].isin(set(own["skoleaar"]))]) == len(own)
    # the same download twice gives each figure once
    key = nat[["skoleaar", "niveau", "kode", "indikator"]].astype(str)
    assert not key.duplicated().any()
    assert pd.read_parquet(result.version / "aggregates" / "national.parquet").shape == nat.shape


def test_real_trivsel_pivot_is_identified_through_skoletal(ministry_ingested):
    result, _ = ministry_ingested
    nat = pd.read_parquet(result.version / "nationale_tal.parquet")
    bands = nat[(nat["kode"] == "861901") & nat["indikator"].str.startswith("samlet_indikator:")]
    assert len(bands) == 4 and abs(bands["vaerdi"].sum() - 100) < 1e-6
    notes = [str(p) for p in result.report.warnings if p.rule == "ministry_note"]
    assert notes and all(n.startswith("[advarsel] nationale/trivsel samlet.xlsx: fandt 'trivsel: ") for n in notes)
    # every school left out is named, in Danish: 140 names in the real download, none counted only
    unnamed = next(n for n in notes if "uden entydigt navn i Skoletal udelades: " in n)
    assert "fandt 'trivsel: 140 skoler uden institutionsnummer i downloaden" in unnamed
    assert "Alrunen (Region Syddanmark), Askovfonden (Region Hovedstaden)," in unnamed
    assert any("de udelades: Nordskolen (Region Sjælland), Nordskolen (Region Syddanmark)" in n for n in notes)


# =============================================================================================
# Nothing half-written: a killed ingest
# =============================================================================================
CHILD = """
import sys, time
from datapakke import ingest, store
write = store.write_parquet
def slow(frame, path):
    write(frame, path)
    time.sleep(0.25)  # widen the window in which the kill lands mid-write
store.write_parquet = slow
ingest.ingest(sys.argv[1], sys.argv[2])
"""


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def test_killed_ingest_leaves_previous_version_and_next_ingest_cleans_up(mini, tmp_path):
    raw, processed = shutil.copytree(mini, tmp_path / "raw"), tmp_path / "processed"
    ingest.ingest(raw, processed)
    before = store.current(processed)
    snapshot = _snapshot(before)
    s = read_csv(raw / "skoler.csv")
    s.loc[0, "skolenavn"] = "Nyt Navn Skole"
    s.to_csv(raw / "skoler.csv", sep=";", index=False)

    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(raw), str(processed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, staging = time.time() + 120, []
    while time.time() < deadline:
        staging = [p for p in processed.glob(".staging-*") if any(p.glob("*.parquet"))]
        if staging or proc.poll() is not None:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"ingest ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()

    assert staging and staging[0].is_dir()  # the half-written version is left behind ...
    assert store.current(processed) == before  # ... but never made current
    assert _snapshot(before) == snapshot
    for f in before.rglob("*.parquet"):
        pd.read_parquet(f)  # complete and readable
    assert pd.read_parquet(before / "skoler.parquet")["skolenavn"].iloc[0] != "Nyt Navn Skole"

    ingest.ingest(raw, processed)
    after = store.current(processed)
    assert after != before
    assert "Nyt Navn Skole" in set(pd.read_parquet(after / "skoler.parquet")["skolenavn"])
    assert not list(processed.glob(".staging-*"))


def test_stale_staging_is_removed_but_a_live_ingest_is_left_alone(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (processed / f".staging-{dead.pid}-abc").mkdir()
    (processed / ".staging-legacy").mkdir()
    live = processed / f".staging-{os.getppid()}-xyz"
    live.mkdir()
    (processed / f".duckdb-{dead.pid}-spill").mkdir()  # DuckDB's spill folder of a killed ingest
    own_spill = processed / f".duckdb-{os.getpid()}-spill"  # this process's open DuckDB session
    own_spill.mkdir()
    removed = store.remove_stale_staging(processed, started=time.time() + 1)
    assert sorted(p.name for p in removed) == sorted([f".staging-{dead.pid}-abc", ".staging-legacy",
                                                      f".duckdb-{dead.pid}-spill"])
    assert live.is_dir() and own_spill.is_dir()
