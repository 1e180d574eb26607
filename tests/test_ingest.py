"""Ingest: validation errors a user can act on, pseudonyms, atomic and idempotent writes."""
import hashlib
import os

import pandas as pd
import pytest

from datapakke import config, ingest, privacy, store
from datapakke.validate import DataError


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
    assert "kortlaegning_spoergsmaal.csv, række -, kolonne '-': fandt '(ingen fil)'" in text


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
