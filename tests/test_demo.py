"""The demo generator: deterministic, in the raw contract, Aars Skole reproduces 492/516."""
import hashlib

import pandas as pd
import pyarrow.parquet as pq

from datapakke import demo, store

SUBSET = ["861010", "793002"]


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files(tmp_path):
    demo.generate(tmp_path / "a", seed=3, school_ids=SUBSET)
    demo.generate(tmp_path / "b", seed=3, school_ids=SUBSET)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_other_seed_gives_other_data(tmp_path):
    demo.generate(tmp_path / "a", seed=3, school_ids=SUBSET)
    demo.generate(tmp_path / "b", seed=4, school_ids=SUBSET)
    assert _digests(tmp_path / "a")["elever.csv"] != _digests(tmp_path / "b")["elever.csv"]


def test_writes_every_contract_table_and_keeps_other_files(tmp_path):
    (tmp_path / "README.md").write_text("mine")
    demo.generate(tmp_path, seed=3, school_ids=SUBSET)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"skoler.csv", "elever.csv", "kortlaegning_svar.parquet", "kortlaegning_spoergsmaal.csv",
            "fravaer.parquet", "skoledage.csv", "nationale_tal.csv", "DEMODATA.txt"} <= names
    assert (tmp_path / "README.md").read_text() == "mine"
    assert not any(n.startswith(".staging") for n in names)


def test_school_list_has_the_programme_and_named_schools():
    s = demo.demo_schools()
    assert s["kommunekode"].nunique() == 13
    per = s.groupby("kommune").size()
    assert per.min() >= 7 and per.max() <= 25
    named = {"861010": "Aars Skole", "785007": "Koldby Skole", "483002": "Havrehedskolen",
             "265006": "Himmelev Skole", "265011": "Vindinge Skole", "615011": "Stensballeskolen",
             "280631": "Fjordlandsskolen", "479011": "Vestre Skole"}
    got = s.set_index("institutionsnummer")["skolenavn"]
    for inst, name in named.items():
        assert got[inst] == name


def test_aars_reproduces_492_516_at_t1(built):
    m = pd.read_parquet(store.current(built.processed) / "aggregates" / "survey_means.parquet")
    sel = m[(m["kode"] == "861010") & (m["dimension"] == "faglig_trivsel") & (m["runde"] == "T1")
            & (m["gruppe_type"] == "koen")].set_index("gruppe")["mean"]
    assert round(sel["dreng"]) == 492
    assert round(sel["pige"]) == 516


def test_school_calendar_is_plausible():
    days = demo.school_days("2024/2025")
    assert 195 <= len(days) <= 205
    assert all(d.weekday() < 5 for d in days)


# --- the whole country -----------------------------------------------------------------------------------------
SMALL_MUNICIPALITIES = ["825", "492"]  # Læsø and Ærø: three schools


def test_national_school_list_is_the_country_and_contains_the_demo():
    n = demo.national_schools()
    assert n["kommunekode"].nunique() == 98
    assert n["institutionsnummer"].is_unique
    assert 1_400 <= len(n) <= 1_800 and 500_000 <= n["elevtal"].sum() <= 650_000
    d = demo.demo_schools()
    both = d.merge(n, on=["institutionsnummer", "skolenavn", "kommunekode", "kommune", "elevtal"])
    assert len(both) == len(d)


def test_national_is_deterministic_and_in_the_demo_contract(tmp_path):
    a = demo.generate_national(tmp_path / "a", seed=3, kommunekoder=SMALL_MUNICIPALITIES)
    demo.generate_national(tmp_path / "b", seed=3, kommunekoder=SMALL_MUNICIPALITIES)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    demo.generate(tmp_path / "demo", seed=3, school_ids=SUBSET)
    assert {p.name for p in (tmp_path / "a").iterdir()} == {p.name for p in (tmp_path / "demo").iterdir()}
    for name in ("kortlaegning_svar.parquet", "fravaer.parquet"):
        assert pq.read_schema(tmp_path / "a" / name) == pq.read_schema(tmp_path / "demo" / name)
        assert pq.ParquetFile(tmp_path / "a" / name).metadata.num_row_groups == len(SMALL_MUNICIPALITIES)
    for name in ("elever.csv", "skoler.csv", "nationale_tal.csv", "skoledage.csv"):
        assert (list(pd.read_csv(tmp_path / "a" / name, sep=";", nrows=0).columns)
                == list(pd.read_csv(tmp_path / "demo" / name, sep=";", nrows=0).columns))
    elever = pd.read_csv(tmp_path / "a" / "elever.csv", sep=";", dtype=str)
    assert elever["elev_id"].nunique() == a.pupils  # numbered on across municipalities
    assert set(elever["institutionsnummer"]) == {"825001", *demo.national_schools().query(
        "kommunekode == '492'")["institutionsnummer"]}
    national = pd.read_csv(tmp_path / "a" / "nationale_tal.csv", sep=";", dtype=str)
    assert not national[national["niveau"] == "land"].duplicated(["skoleaar", "indikator"]).any()
    assert set(national.loc[national["niveau"] == "kommune", "kode"]) == set(SMALL_MUNICIPALITIES)
    assert pq.ParquetFile(tmp_path / "a" / "kortlaegning_svar.parquet").metadata.num_rows == a.answers
