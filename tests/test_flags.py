"""The opmærksomhedspunkter rules on constructed cases: each fires exactly when it should."""
import numpy as np
import pandas as pd

from datapakke import flags


def _tables(**over):
    t = {
        "rounds": pd.DataFrame({"runde": ["T1", "T2", "T3"], "skoleaar": ["2023/2024", "2024/2025", "2025/2026"]}),
        "response_rates": pd.DataFrame({"niveau": "skole", "kode": ["A", "B"], "runde": "T3", "klassetrin": "alle",
                                        "elever": [100.0, 100.0], "besvarelser": [75.0, 85.0], "svarprocent": [75.0, 85.0]}),
        "deviation": pd.DataFrame({"niveau": "skole", "kode": ["A", "B", "C", "D"], "runde": "T3",
                                   "dimension": "faglig_trivsel", "mean": [488.0, 492, 470, np.nan],
                                   "mean_kommune": 500.0, "diff": [-12.0, -8, -30, np.nan],
                                   "ci_low": -20.0, "ci_high": -2.0, "p_adj": [0.01, 0.01, 0.2, np.nan]}),
        "survey_change": pd.DataFrame({"niveau": "skole", "kode": ["A", "B"], "gruppe_type": "alle", "fra": "T2", "til": "T3",
                                       "dimension": "social_trivsel", "diff": [-15.0, -15.0], "ci_low": -25.0,
                                       "ci_high": -5.0, "p_adj": [0.01, 0.3]}),
        "gender_gaps": pd.DataFrame({"niveau": "skole", "kode": ["A", "B"], "runde": "T3", "dimension": "faglig_trivsel",
                                     "mean_dreng": [480.0, 495], "mean_pige": [510.0, 505], "diff": [-30.0, -10],
                                     "ci_low": -40.0, "ci_high": -5.0, "hedges_g": [-0.3, -0.1], "p_adj": [0.01, 0.01]}),
        "gender_gap_change": pd.DataFrame({"niveau": "skole", "kode": ["A", "B"], "dimension": "faglig_trivsel",
                                           "from_round": "T2", "to_round": "T3", "diff_from": [-5.0, -25],
                                           "diff_to": [-30.0, -10], "change": [-25.0, 15], "abs_change": [25.0, -15],
                                           "ci_low": -40.0, "ci_high": -10.0, "p": [0.01, 0.01]}),
        "absence_change": pd.DataFrame({"niveau": "skole", "kode": ["A", "B", "C"], "fra": "2024/2025", "til": "2025/2026",
                                        "mean_fra": 5.0, "mean_til": [6.5, 5.5, 7.0], "diff": [1.5, 0.5, 2.0],
                                        "ci_low": 0.5, "ci_high": 2.5, "p": [0.01, 0.01, 0.2]}),
        "absence": pd.DataFrame({"niveau": ["skole", "skole", "kommune"], "kode": ["A", "B", "101"],
                                 "skoleaar": "2025/2026", "gruppe_type": "alle", "gruppe": "alle",
                                 "andel_over_10_pct": [25.0, 16.0, 15.0], "n": [200.0, 200.0, 5000.0]}),
        "schools": pd.DataFrame({"institutionsnummer": ["A", "B", "C", "D"], "kommunekode": "101"}),
    }
    t.update(over)
    return t


def _fired(t):
    f = flags.school_flags(t)
    return set(zip(f["kode"], f["regel"]))


def test_each_rule_fires_only_with_statistical_support_and_size():
    fired = _fired(_tables())
    assert fired == {
        ("A", "svarprocent"), ("A", "under_kommunen"), ("A", "fald"), ("A", "koensforskel"),
        ("A", "voksende_koensforskel"), ("A", "fravaer_stigning"), ("A", "bekymrende_fravaer"),
    }


def test_flag_text_carries_the_figure_and_a_question():
    f = flags.school_flags(_tables())
    row = f[(f.kode == "A") & (f.regel == "under_kommunen")].iloc[0]
    assert "Skolen 488 mod kommunens 500 i T3" in row["tal"] and "Holm-korrigeret p = 0,010" in row["tal"]
    assert row["spoergsmaal"].endswith("?")
    assert row["tema"] == "Kortlægning"


def test_suppressed_cells_never_flag():
    t = _tables()
    t["gender_gaps"]["p_adj"] = np.nan
    t["gender_gaps"]["hedges_g"] = np.nan
    assert not any(r == "koensforskel" for _, r in _fired(t))


def test_no_flags_on_an_empty_absence_table():
    t = _tables(absence_change=pd.DataFrame(columns=_tables()["absence_change"].columns))
    assert not any(r.startswith("fravaer") for _, r in _fired(t))


def test_each_flag_has_one_plain_sentence_with_the_numbers_shown():
    f = flags.school_flags(_tables()).set_index(["kode", "regel"])
    assert f.loc[("A", "koensforskel"), "budskab"] == (
        "Drengene trives fagligt dårligere end pigerne: faglig trivsel 480 mod 510 point i T3, 30 point lavere.")
    assert f.loc[("A", "under_kommunen"), "budskab"].startswith("Skolens elever trives fagligt dårligere end kommunens")
    assert "488 mod 500 point i T3, 12 point lavere" in f.loc[("A", "under_kommunen"), "budskab"]
    assert f.loc[("A", "fravaer_stigning"), "budskab"] == ("Eleverne er mere fraværende end sidste skoleår: samlet "
                                                            "fravær 6,5 % i 2025/2026 mod 5,0 % i 2024/2025, 1,5 procentpoint mere.")
    assert all(f["budskab"].str.len() > 20) and not f["budskab"].str.contains("p =|Holm|interval").any()


def test_klasseledelse_gap_in_plain_danish_with_the_interval_that_agrees_with_holm():
    """Aars Skole's point in the demo data: boys 458, girls 486 in klasseledelse at T3."""
    gaps = pd.DataFrame({"niveau": "skole", "kode": ["A"], "runde": "T3", "dimension": "klasseledelse",
                         "mean_dreng": [457.76], "mean_pige": [486.17], "diff": [-28.40], "ci_low": [-47.04],
                         "ci_high": [-9.77], "ci_low_holm": [-51.2], "ci_high_holm": [-5.6], "hedges_g": [-0.277],
                         "g_ci_low_holm": [-0.52], "g_ci_high_holm": [-0.04], "p_adj": [0.0202]})
    f = flags.school_flags(_tables(gender_gaps=gaps))
    row = f[f.regel == "koensforskel"].iloc[0]
    assert row["budskab"] == ("Drengene oplever mindre ro og orden i timerne end pigerne: klasseledelse (ro og orden) "
                              "458 mod 486 point i T3, 28 point lavere.")
    assert "forskel −28 (Holm-justeret interval −51 til −6; Hedges' g −0,28, interval −0,52 til −0,04; " \
           "Holm-korrigeret p = 0,020)" in row["tal"]
    assert (row["ci_low"], row["ci_high"]) == (-51.2, -5.6)  # the interval stored is the one shown


def test_a_difference_in_the_text_is_that_of_the_rounded_numbers():
    dev = _tables()["deviation"].assign(mean=[505.4, 492, 470, np.nan], mean_kommune=530.6, diff=[-25.2, -8, -30, np.nan])
    row = flags.school_flags(_tables(deviation=dev)).set_index(["kode", "regel"]).loc[("A", "under_kommunen")]
    assert "Skolen 505 mod kommunens 531 i T3: forskel −26" in row["tal"] and "26 point lavere" in row["budskab"]
