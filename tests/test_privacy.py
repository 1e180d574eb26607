"""Suppression (primary and secondary) and the output scan."""
import pandas as pd

from datapakke import config, privacy


def test_primary_suppression_thresholds():
    f = pd.DataFrame({"n": [5, 6, 3, 4], "v": [1.0, 2.0, 3.0, 4.0]})
    s = privacy.suppress(f, "n", ["v"], survey=True)
    assert s["v"].isna().tolist() == [True, False, True, True]
    o = privacy.suppress(f, "n", ["v"], survey=False)
    assert o["v"].isna().tolist() == [False, False, True, False]
    assert o["n"].isna().tolist() == [False, False, True, False]


def test_secondary_suppression_blanks_the_complement():
    # girls shown (20) with boys suppressed (4): with the total shown, boys = total − girls.
    f = pd.DataFrame({"k": ["a", "a", "b", "b", "c", "c", "c"], "g": ["d", "p", "d", "p", "x", "y", "z"],
                      "n": [4, 20, 30, 40, 2, 9, 50], "v": [1.0, 2, 3, 4, 5, 6, 7]})
    s = privacy.suppress(f, "n", ["v"], survey=True, complement_by=["k"])
    assert s["undertrykt"].tolist() == [True, True, False, False, True, True, False]


def test_thresholds_cannot_go_below_the_ministrys():
    assert config.MIN_SURVEY_N >= 5 and config.MIN_OTHER_N >= 3


def test_scan_finds_pseudonyms_and_cpr(tmp_path):
    (tmp_path / "ok.html").write_text("<p>Gennemsnit 503,2</p>")
    (tmp_path / "bad.html").write_text("<td>0123456789abcdef0123</td>")
    (tmp_path / "cpr.csv").write_text("klasse\n010203-1234\n")
    problems = privacy.scan_output(tmp_path, {"0123456789abcdef0123"})
    assert any("bad.html" in p for p in problems)
    assert any("cpr.csv" in p and "0102xx-xxxx" in p for p in problems)
    assert not any("ok.html" in p for p in problems)


def test_mask_cpr():
    assert privacy.mask_cpr("id 0102031234 og 311299-9999") == "id 0102xx-xxxx og 3112xx-xxxx"
