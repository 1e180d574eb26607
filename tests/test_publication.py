"""The published tables of a built fixture: small groups hidden, every shown figure safe."""
import numpy as np
import pandas as pd
import pytest

from datapakke import config, store


@pytest.fixture(scope="module")
def pub(built):
    return store.published(store.current(built.processed))


def _pub(folder, name):
    return pd.read_parquet(folder / f"{name}.parquet")


def test_small_survey_groups_are_never_shown(pub):
    m = _pub(pub, "survey_means")
    shown = m[m["status"] == "vist"]
    assert len(shown) and shown["n"].min() > config.MIN_SURVEY_N
    hidden = m[m["status"] != "vist"]
    assert hidden[["n", "mean", "sd", "se", "ci_low", "ci_high"]].isna().all().all()
    assert set(m.loc[m["n"].isna() & m["status"].eq("vist"), "celle"]) == set()


def test_a_gap_is_shown_only_where_both_genders_are(pub):
    m = _pub(pub, "survey_means").set_index("celle")["status"]
    for name in ("gender_gaps", "gender_gaps_grade"):
        g = _pub(pub, name)
        shown = g[g["diff"].notna()]
        assert len(shown), name
        assert (shown["n_dreng"] > config.MIN_SURVEY_N).all() and (shown["n_pige"] > config.MIN_SURVEY_N).all()
        assert shown["celle_dreng"].map(m).eq("vist").all() and shown["celle_pige"].map(m).eq("vist").all()


def test_counts_of_one_to_three_pupils_are_bands_or_hidden(pub):
    k = config.MIN_OTHER_N
    for name, col, n in (("absence_triggers", "ulovligt_10", None), ("absence_triggers", "ulovligt_15", None),
                         ("absence", "andel_over_10_pct", "n"), ("response_rates", "svarprocent", "elever")):
        t = _pub(pub, name)
        count = t[col] if n is None else t[col] / 100 * t[n]
        small = count.round().between(1, k) | ((t[n] - count).round().between(1, k) if n else False)
        assert not (small & t[col].notna()).any(), (name, col)
        banded = t[f"{col}_status"].isin(["lav", "hoej"])
        assert (t.loc[banded, f"{col}_tekst"].str.match(r"^(højst|mindst) \d+( %)?$")).all()
        assert t.loc[banded, col].isna().all()


def test_every_published_cell_has_a_status(pub):
    c = _pub(pub, "celler")
    assert set(c["status"]) <= {"vist", "primaer", "sekundaer", "ikke_publiceret"}
    assert not c["id"].duplicated().any()
    assert (c.loc[c["status"] == "primaer", "family"].notna()).all()


def test_the_programme_is_not_withheld_where_municipalities_can_be(pub):
    c = _pub(pub, "celler")
    program = c[(c["niveau"] == "program") & (c["status"] != "ikke_publiceret")]
    assert len(program) and (program["status"] != "sekundaer").all()
