"""The demo generator: deterministic, in the raw contract, Aars Skole reproduces 492/516."""
import hashlib

import pandas as pd

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
