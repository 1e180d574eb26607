"""Tests for ``datapakke.ministry``: the ministry's Uddannelsesstatistik pivot downloads.

Two kinds of input:

* the real downloads in ``../shared/data/real/dk_anders-wiggers_visualization-of-school-data``
  (skipped when that folder is absent).  Every concrete number asserted below was read off
  the raw sheet by hand (row numbers are Excel's).  Each file is read from disk once per
  session: the reader's ``_read_raw`` is memoised for this module, because openpyxl needs
  several seconds for the larger files;
* the tiny hand-made edge cases in ``tests/fixtures/ministry`` (``make_fixtures.py``).
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from datapakke import config, ministry
from datapakke.ministry import MinistryDataWarning, MinistryFormatError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ministry"
REAL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
        / "dk_anders-wiggers_visualization-of-school-data")
SAMLET = REAL / "commit-09b480f" / "Trivsel - samlet indikator - skole - koen - klassetrin.xlsx"
DIFF = REAL / "Trivsel - differentierede indikatorer - skole - koen - klassetrin.xlsx"
SKOLETAL = REAL / "commit-9e59618" / "Skoletal.xlsx"
SKOLETAL_TRIMMED = REAL / "Skoletal.xlsx"


# --------------------------------------------------------------------------------------
# shared fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def _read_each_file_once():
    """Memoise the sheet reader for this module: the real files take seconds each."""
    original = ministry._read_raw
    cache: dict[tuple, pd.DataFrame] = {}

    def cached(path, sheet):
        stat = Path(path).stat()
        key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, sheet)
        if key not in cache:
            cache[key] = original(path, sheet)
        return cache[key].copy()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ministry, "_read_raw", cached)
        yield


@pytest.fixture(scope="module")
def real():
    if not REAL.is_dir():
        pytest.skip(f"real ministry downloads not found at {REAL} (../shared/data/real is not checked out)")
    return REAL


@pytest.fixture(scope="module")
def samlet_all(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: slicer extension not supported
        return ministry.read_trivsel_pivot(SAMLET, include_subtotals=True)


@pytest.fixture(scope="module")
def samlet(real):
    return ministry.read_trivsel_pivot(SAMLET)


@pytest.fixture(scope="module")
def diff_all(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ministry.read_trivsel_pivot(DIFF, include_subtotals=True)


@pytest.fixture(scope="module")
def skoletal(real):
    return ministry.read_skoletal(SKOLETAL)


@pytest.fixture(scope="module")
def skoletal_trimmed(real):
    return ministry.read_skoletal(SKOLETAL_TRIMMED)


@pytest.fixture(scope="module")
def nationale(skoletal, samlet):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinistryDataWarning)
        out = ministry.to_nationale_tal(df_skoletal=skoletal, df_trivsel=samlet)
    out.attrs["warnings"] = [str(w.message) for w in caught]
    return out


def one(df: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows matching all ``column=value`` conditions."""
    mask = np.ones(len(df), dtype=bool)
    for col, value in where.items():
        mask &= (df[col] == value).fillna(False).to_numpy(dtype=bool)
    return df[mask]


def bands(df: pd.DataFrame, col: str) -> list[float]:
    """A leaf's four band values in band order (NaN kept)."""
    s = df.set_index("band")[col]
    return [s.get(b, np.nan) for b in ministry.BANDS]


def same(a: list[float], b: list[float], tol: float = 1e-6) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or abs(x - y) <= tol for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------------------
# real: Trivsel - samlet indikator (all years pooled, shares and counts)
# --------------------------------------------------------------------------------------
def test_samlet_shape_and_labels(samlet):
    assert list(samlet.columns) == ministry.TRIVSEL_COLUMNS
    assert samlet["skoleaar"].isna().all()                     # "Skoleår: All" = pooled
    assert set(samlet["indikator"]) == {"samlet indikator"}      # from "Andel Samlet Indikatorsvar"
    assert samlet["institutionsnummer"].isna().all()             # not in this export
    assert set(samlet["koen"]) == {"dreng", "pige"}
    assert set(samlet["klassetrin"]) == set(range(4, 10))
    assert set(samlet["band"]) == set(ministry.BANDS)
    assert samlet["skolenavn"].notna().all()
    assert not samlet["skolenavn"].str.contains(r"Total$|^Region |^Uoplyst|^Ukendt$").any()
    assert len(samlet) == 12487 * 4                              # 12,487 school × køn × klassetrin leaves


def test_samlet_known_cells(samlet):
    # Excel row 13: Region Hovedstaden / Dreng / 4. klasse / Amager Fælled Skole
    leaf = one(samlet, skolenavn="Amager Fælled Skole", koen="dreng", klassetrin=4)
    assert same(bands(leaf, "antal"), [np.nan, 6, 86, 98])
    assert same(bands(leaf, "andel"), [np.nan, 0.031579, 0.452632, 0.515789])
    # Excel row 8022: Region Nordjylland / Pige / 9. klasse / Aars Skole
    aars = one(samlet, skolenavn="Aars Skole", koen="pige", klassetrin=9)
    assert same(bands(aars, "antal"), [np.nan, 4, 58, 27])
    # Aars Skole has 12 leaves (2 genders × 6 grades); band totals summed by hand from the sheet
    all_aars = samlet[samlet["skolenavn"] == "Aars Skole"]
    assert all_aars.groupby(["koen", "klassetrin"]).ngroups == 12
    assert all_aars.groupby("band")["antal"].sum().tolist() == [4, 74, 782, 482]


def test_samlet_blank_stays_missing(samlet):
    leaf = one(samlet, skolenavn="Amager Fælled Skole", koen="dreng", klassetrin=4, band="1,0-2,0")
    assert leaf["antal"].isna().all() and leaf["andel"].isna().all()
    assert (samlet["antal"] != 0).all() and (samlet["andel"] != 0).all()   # blanks never became 0
    # in this export the shown shares of every leaf add up to 1: blanks are empty bands,
    # nothing is hidden inside a row
    sums = samlet.groupby(["region", "skolenavn", "koen", "klassetrin"])["andel"].sum()
    assert np.allclose(sums, 1.0)


def test_samlet_leaves_never_exceed_region_subtotals(samlet_all):
    """No double counting: the leaves of a region add up to at most the region's own row.

    The ministry hides some rows entirely, so leaves fall slightly short (< 1.5 %); if a
    subtotal row had been taken for a leaf, the sum would exceed the region row.
    """
    rows = samlet_all.drop_duplicates("raekke")
    assert (rows["raekketype"] == "subtotal").sum() == 6         # 5 regions + the blank region
    body = samlet_all[samlet_all["raekketype"] != "subtotal"]
    sub = samlet_all[samlet_all["raekketype"] == "subtotal"]
    leaf_sum = body.groupby(["region", "band"], dropna=False)["antal"].sum()
    region_row = sub.groupby(["region", "band"], dropna=False)["antal"].sum()
    for region in sub["region"].dropna().unique():
        for band in ministry.BANDS:
            total, shown = region_row[(region, band)], leaf_sum[(region, band)]
            assert 0.985 * total <= shown <= total, (region, band, shown, total)
    # Hovedstaden, band 2,1-3,0: region row (Excel row 10) 28,375; leaves 28,240
    assert region_row[("Region Hovedstaden", "2,1-3,0")] == 28375
    assert leaf_sum[("Region Hovedstaden", "2,1-3,0")] == 28240
    # the pivot's blank region (Excel row 12741) has exactly one blank leaf (row 12744)
    blank = body[body["region"].isna()]
    assert blank.groupby("band")["antal"].sum().fillna(0).tolist() == [0, 12, 120, 76]


def test_samlet_unknown_gender_rows_dropped(samlet, samlet_all):
    # Excel row 3175: Region Hovedstaden / Uoplyst/ukendt / Ukendt / Dagskolen VIKASKU
    unknown = one(samlet_all, raekke=3175)
    assert set(unknown["raekketype"]) == {"ukendt"}
    assert unknown["skolenavn"].iloc[0] == "Dagskolen VIKASKU" and unknown["koen"].isna().all()
    assert same(bands(unknown, "antal"), [1, 8, 25, 11])
    vikasku = samlet[samlet["skolenavn"] == "Dagskolen VIKASKU"]
    assert set(vikasku["koen"]) <= {"dreng", "pige"}
    assert vikasku["antal"].sum() == samlet_all.loc[
        (samlet_all["skolenavn"] == "Dagskolen VIKASKU") & (samlet_all["raekketype"] == "leaf"), "antal"].sum()
    assert (samlet_all.drop_duplicates("raekke")["raekketype"] == "ukendt").sum() == 154


# --------------------------------------------------------------------------------------
# real: Trivsel - differentierede indikatorer (a column block per school year)
# --------------------------------------------------------------------------------------
def test_diff_shape_and_labels(diff_all):
    leaves = diff_all[diff_all["raekketype"] == "leaf"]
    assert set(leaves["indikator"]) == {"social trivsel"}        # the workbook's slicer selection
    assert set(leaves["skoleaar"]) == {f"{y}/{y + 1}" for y in range(2014, 2019)}
    assert set(leaves["band"]) == set(ministry.BANDS)            # "… Total" columns ignored
    assert leaves["antal"].isna().all()                          # shares only
    assert leaves["kommune"].notna().all() and leaves["skolenavn"].notna().all()
    assert (leaves.groupby("raekke").size() == 5 * 4).all()
    assert leaves["raekke"].nunique() == 12638


def test_diff_known_cells(diff_all):
    # Excel row 17: Region Hovedstaden / Dreng / 4. klasse / Albertslund / Egelundskolen
    leaf = one(diff_all, kommune="Albertslund", skolenavn="Egelundskolen", koen="dreng", klassetrin=4)
    assert set(leaf["raekke"]) == {17}
    y1516 = one(leaf, skoleaar="2015/2016")
    assert same(bands(y1516, "andel"), [np.nan, 0.083333, 0.333333, 0.583333])
    y1415 = one(leaf, skoleaar="2014/2015")
    assert same(bands(y1415, "andel"), [np.nan, np.nan, 0.181818, 0.818182])


def test_diff_kommune_subtotals_bracket_their_schools(diff_all):
    """Each ``<kommune> Total`` share lies between its schools' shares (a weighted mean).

    Checked where every school cell is shown; a few totals include pupils whose school row
    the ministry hides, so a small share of exceptions (0.2 %) is expected -- a wrongly
    attached leaf would break it wholesale.
    """
    keys = ["skoleaar", "koen", "klassetrin", "kommune", "band"]
    leaves = diff_all[diff_all["raekketype"] == "leaf"]
    sub = diff_all[(diff_all["raekketype"] == "subtotal") & diff_all["kommune"].notna()
                   & diff_all["koen"].notna() & diff_all["andel"].notna()]
    stats = leaves.groupby(keys)["andel"].agg(["min", "max", "count", "size"]).reset_index()
    merged = sub.merge(stats, on=keys, how="left")
    assert merged["size"].notna().all()                           # every subtotal has schools
    full = merged[merged["count"] == merged["size"]]
    inside = (full["andel"] >= full["min"] - 1e-9) & (full["andel"] <= full["max"] + 1e-9)
    assert len(full) > 5000 and inside.mean() > 0.995
    single = full[full["size"] == 1]
    assert ((single["andel"] - single["min"]).abs() < 1e-9).mean() > 0.98


# --------------------------------------------------------------------------------------
# real: Skoletal (full and trimmed)
# --------------------------------------------------------------------------------------
def test_skoletal_aars_skole(skoletal):
    aars = skoletal[skoletal["institutionsnummer"] == "861010"].set_index("skoleaar")
    assert list(aars.index) == ["2015/2016", "2016/2017", "2017/2018", "2018/2019"]
    assert set(aars["skolenavn"]) == {"Aars Skole"} and set(aars["kommunekode"]) == {"820"}
    row = aars.loc["2015/2016"]
    assert row["fravaer_andel"] == pytest.approx(0.048015)
    assert row["trivsel_hoejest_andel"] == pytest.approx(0.935065, abs=1e-6)
    assert row["elevtal"] == 545
    assert row["fravaer_andel_kommune"] == pytest.approx(0.051852)
    assert row["fravaer_andel_land"] == pytest.approx(0.05564)
    assert aars.loc["2018/2019", "fravaer_andel"] == pytest.approx(0.054684)


def test_skoletal_codes_are_strings_and_suppressed_is_nan(skoletal):
    assert list(skoletal.columns) == ministry.SKOLETAL_COLUMNS
    assert skoletal["institutionsnummer"].str.fullmatch(r"\d{6}").all()
    assert skoletal["kommunekode"].str.fullmatch(r"\d{3}").all()
    assert not pd.api.types.is_numeric_dtype(skoletal["kommunekode"])
    # institution numbers carry the pre-2007 municipality: Vestermarkskolen Aars is 861901 in 820
    vm = skoletal[skoletal["institutionsnummer"] == "861901"].set_index("skoleaar")
    assert set(vm["kommunekode"]) == {"820"}
    assert math.isnan(vm.loc["2017/2018", "fravaer_andel"])       # blank in the sheet, not 0
    assert vm.loc["2017/2018", "elevtal"] == 48
    assert one(skoletal, institutionsnummer="101001")["kommunekode"].eq("101").all()


def test_skoletal_one_row_per_school_year(skoletal):
    assert not skoletal.duplicated(["institutionsnummer", "skoleaar"]).any()
    assert skoletal["institutionsnummer"].nunique() == 2495
    assert len(skoletal) == 2495 * 4
    # each school's pivot has a blank-year item (Excel rows 12-13 for 101001): dropped
    assert skoletal.attrs["rows_without_year"] == 2495
    assert "Karaktergennemsnit_skoletal" in skoletal.attrs["ignored_columns"]


def test_skoletal_trimmed_parses_without_ids(skoletal_trimmed):
    df = skoletal_trimmed
    assert df["institutionsnummer"].isna().all() and df["kommunekode"].isna().all()
    assert df["fravaer_andel"].isna().all()                       # no absence column in this version
    campus = one(df, skolenavn="10 i Campus").set_index("skoleaar")
    assert set(campus["kommune"]) == {"Varde"}
    assert campus.loc["2015/2016", "elevtal"] == 161              # the year row, not the kommune row (149,5)
    assert 149.5 not in set(campus["elevtal"])
    # three different "Østre Skole" are told apart by their municipality
    oestre = one(df, skolenavn="Østre Skole")
    assert {"Thisted", "Middelfart", "Guldborgsund"} <= set(oestre["kommune"])
    assert not df.duplicated(["skolenavn", "kommune", "skoleaar"]).any()
    with pytest.raises(MinistryFormatError, match="institutionsnummer"):
        ministry.to_nationale_tal(df_skoletal=df)


def test_read_ministry_export_refuses_trimmed_skoletal(real):
    with pytest.raises(MinistryFormatError, match="institutionsnummer"):
        ministry.read_ministry_export(SKOLETAL_TRIMMED)


# --------------------------------------------------------------------------------------
# real: nationale_tal
# --------------------------------------------------------------------------------------
def test_nationale_tal_columns_and_uniqueness(nationale):
    assert list(nationale.columns) == ministry.NATIONALE_TAL_COLUMNS
    assert set(nationale["niveau"]) == {"land", "kommune", "skole"}
    assert not nationale.duplicated(["skoleaar", "niveau", "kode", "indikator"]).any()
    assert nationale["vaerdi"].notna().all()
    assert nationale["vaerdi"].between(0, 100).all()
    assert nationale["kode"].map(type).eq(str).all()


def test_nationale_tal_land_and_kommune_deduplicated(nationale):
    land = nationale[nationale["niveau"] == "land"]
    assert len(land) == 4 * 2 and set(land["kode"]) == {"DK"}
    dk = one(land, skoleaar="2015/2016", indikator="fravaer_pct")
    assert dk["vaerdi"].item() == pytest.approx(5.564)
    assert math.isnan(dk["antal"].item())
    ves = one(nationale, niveau="kommune", kode="820", skoleaar="2015/2016", indikator="fravaer_pct")
    assert ves["vaerdi"].item() == pytest.approx(5.1852)


def test_nationale_tal_school_values(nationale):
    aars = one(nationale, niveau="skole", kode="861010")
    fr = one(aars, skoleaar="2015/2016", indikator="fravaer_pct")
    assert fr["vaerdi"].item() == pytest.approx(4.8015) and fr["antal"].item() == 545
    tri = one(aars, skoleaar="2015/2016", indikator="trivsel_hoejest_andel")
    assert tri["vaerdi"].item() == pytest.approx(93.5065, abs=1e-3)
    # trivsel pooled over gender × grade (all years): matched to 861010 by its unique name
    pooled = aars[aars["indikator"].str.startswith("samlet_indikator:")].set_index("indikator")
    assert pooled["skoleaar"].isna().all()
    assert pooled["antal"].tolist() == [4, 74, 782, 482]
    assert pooled["vaerdi"].sum() == pytest.approx(100)
    assert pooled.loc["samlet_indikator:3,1-4,0", "vaerdi"] == pytest.approx(782 / 1342 * 100)
    # suppressed absence (Vestermarkskolen Aars 2017/2018) is absent, not 0
    vm = one(nationale, niveau="skole", kode="861901", indikator="fravaer_pct")
    assert "2017/2018" not in set(vm["skoleaar"])


def test_nationale_tal_ambiguous_names_left_out(nationale):
    # "Nordskolen" is one institution in Skoletal but two schools (two regions) in the export
    nord = one(nationale, niveau="skole", kode="487002")
    assert not nord["indikator"].str.startswith("samlet_indikator").any()
    clash = [w for w in nationale.attrs["warnings"] if "står som forskellige skoler i downloaden" in w]
    assert len(clash) == 1 and "Nordskolen (" in clash[0]
    unmatched = [w for w in nationale.attrs["warnings"] if "uden entydigt navn i Skoletal udelades: " in w]
    assert len(unmatched) == 1
    n = int(unmatched[0].split("trivsel: ")[1].split(" skoler")[0])
    assert len(unmatched[0].split("udelades: ")[1].split(", ")) >= n  # every school named (a name may hold ', ')


def test_read_ministry_export_skoletal_equals_two_steps(real, skoletal):
    assert ministry.read_ministry_export(SKOLETAL).equals(ministry.to_nationale_tal(df_skoletal=skoletal))


def test_read_ministry_export_trivsel_with_name_lookup(real, skoletal):
    with pytest.warns(MinistryDataWarning):
        out = ministry.read_ministry_export(SAMLET, skoletal=skoletal)
    assert set(out["niveau"]) == {"skole"}
    assert out["indikator"].str.startswith("samlet_indikator:").all()
    assert one(out, kode="861010")["antal"].tolist() == [4, 74, 782, 482]


# --------------------------------------------------------------------------------------
# fixtures: edge cases
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compact():
    return ministry.read_trivsel_pivot(FIXTURES / "trivsel_compact.xlsx", include_subtotals=True)


def test_fixture_compact_leaves_only(compact):
    leaves = ministry.read_trivsel_pivot(FIXTURES / "trivsel_compact.xlsx")
    assert list(leaves.columns) == ministry.TRIVSEL_COLUMNS
    got = leaves.drop_duplicates(["skolenavn", "koen", "klassetrin"])[["skolenavn", "koen", "klassetrin"]]
    assert got.values.tolist() == [["Skole A", "dreng", 4], ["Skole B", "dreng", 4],
                                   ["Skole A", "dreng", 5], ["Skole A", "pige", 4], ["Skole B", "pige", 4]]
    assert leaves.equals(compact[compact["raekketype"] == "leaf"][ministry.TRIVSEL_COLUMNS].reset_index(drop=True))


def test_fixture_compact_filters_ids_and_totals(compact):
    leaves = compact[compact["raekketype"] == "leaf"]
    assert set(leaves["skoleaar"]) == {"2018/2019"}              # from the "Skoleår" filter row
    assert set(leaves["band"]) == set(ministry.BANDS)             # "Grand Total" column ignored
    a = leaves[leaves["skolenavn"] == "Skole A"]
    assert set(a["institutionsnummer"]) == {"012345"}             # "Skole A (012345)": zero kept
    subtotal_labels = set(compact.loc[compact["raekketype"] == "subtotal", "subtotal"])
    assert subtotal_labels == {"Region Nordjylland", "Region Nordjylland Total", "Grand Total"}


def test_fixture_compact_text_numbers_and_markers(compact):
    row = one(compact, skolenavn="Skole A", koen="dreng", klassetrin=5)
    assert same(bands(row, "andel"), [0.25, 0.25, 0.25, np.nan])  # "0,25" text; "-" → NaN
    assert same(bands(row, "antal"), [2, 2, 2, np.nan])


def test_fixture_compact_ukendt(compact):
    unknown = compact[compact["raekketype"] == "ukendt"]
    # blank-named school (row 18); Uoplyst/ukendt 4. kl. (row 21); Uoplyst/ukendt / Ukendt / Skole C
    assert set(unknown["raekke"]) == {18, 21, 23}
    assert one(unknown, raekke=23)["skolenavn"].eq("Skole C").all()
    assert unknown.loc[unknown["raekke"] > 18, "koen"].isna().all()
    # the blank item between two schools did not cut Skole B (row 19) off its gender and grade
    assert one(compact, raekke=19)[["skolenavn", "koen", "klassetrin", "raekketype"]].iloc[0].tolist() == [
        "Skole B", "pige", 4, "leaf"]


def test_fixture_pooling_never_turns_suppressed_into_zero(compact):
    leaves = compact[compact["raekketype"] == "leaf"][ministry.TRIVSEL_COLUMNS]
    skoletal = pd.DataFrame({"institutionsnummer": ["054321"], "skolenavn": ["Skole B"],
                             "skoleaar": ["2018/2019"]}).reindex(columns=ministry.SKOLETAL_COLUMNS)
    with pytest.warns(MinistryDataWarning, match="diskretionerede, tomme eller antal-løse rækker og får ingen samlede svarbånd: Skole"):
        out = ministry.to_nationale_tal(df_trivsel=leaves, df_skoletal=skoletal)
    b = out[out["kode"] == "054321"]
    trivsel = b[b["indikator"].str.startswith("samlet_indikator:")].set_index("indikator")
    # Skole B's blank bands sit in rows whose shares add up to 100 %: true zeros
    assert trivsel["antal"].tolist() == [0, 5, 14, 9]
    assert trivsel["vaerdi"].tolist() == pytest.approx([0, 500 / 28, 1400 / 28, 900 / 28])
    assert set(trivsel["skoleaar"]) == {"2018/2019"}
    # Skole A has a leaf with a "-" and only 75 % shown: no pooled figure at all
    assert "012345" not in set(out["kode"])


def test_fixture_yearblocks():
    with pytest.warns(MinistryDataWarning):
        nt = ministry.read_ministry_export(FIXTURES / "trivsel_yearblocks.xlsx")
    assert nt.empty and list(nt.columns) == ministry.NATIONALE_TAL_COLUMNS   # shares only: no pooling
    df = ministry.read_trivsel_pivot(FIXTURES / "trivsel_yearblocks.xlsx", include_subtotals=True)
    leaves = df[df["raekketype"] == "leaf"]
    assert set(leaves["indikator"]) == {"faglig trivsel"}        # from the "Indikator" filter row
    assert set(leaves["skoleaar"]) == {"2017/2018", "2018/2019"}
    assert set(leaves["band"]) == set(ministry.BANDS)             # "1 til 2 Total" … ignored
    assert set(leaves["kommune"]) == {"Vesthimmerlands"}
    aars = one(leaves, skolenavn="Aars Skole", skoleaar="2018/2019")
    assert same(bands(aars, "andel"), [0.0798, 0.2, 0.5, 0.2202])  # "0,0798" as text
    assert same(bands(one(leaves, skolenavn="Aars Skole", skoleaar="2017/2018"), "andel"),
                [np.nan, 0.1, 0.5, 0.4])
    hornum = one(leaves, skolenavn="Hornum Skole")
    assert len(hornum) == 8 and hornum["andel"].isna().all()      # an all-blank leaf stays NaN
    subs = df[df["raekketype"] == "subtotal"].drop_duplicates("raekke")
    assert subs["subtotal"].tolist() == ["Vesthimmerlands Total", "7. klasse Total", "Grand Total"]


def test_fixture_no_indicator_refused():
    with pytest.raises(MinistryFormatError, match="trivsel_no_indicator.xlsx.*hvilken trivselsindikator"):
        ministry.read_trivsel_pivot(FIXTURES / "trivsel_no_indicator.xlsx")


def test_fixture_skoletal_full():
    df = ministry.read_skoletal(FIXTURES / "skoletal_full.xlsx")
    assert df[["institutionsnummer", "kommunekode", "skoleaar"]].values.tolist() == [
        ["012345", "085", "2017/2018"], ["012345", "085", "2018/2019"], ["861010", "820", "2018/2019"]]
    assert df.loc[0, "fravaer_andel"] == pytest.approx(0.0798)    # "0,0798" as text
    assert math.isnan(df.loc[1, "fravaer_andel"])                 # blank stays NaN
    assert df.attrs["rows_without_year"] == 1
    nt = ministry.to_nationale_tal(df_skoletal=df)
    fr = one(nt, indikator="fravaer_pct", niveau="skole")
    assert fr[["kode", "skoleaar", "vaerdi"]].values.tolist() == [
        ["012345", "2017/2018", pytest.approx(7.98)], ["861010", "2018/2019", pytest.approx(5.4684)]]
    assert set(one(nt, niveau="kommune")["kode"]) == {"085", "820"}
    land = one(nt, niveau="land", indikator="fravaer_pct")
    assert land["skoleaar"].tolist() == ["2017/2018", "2018/2019"]   # deduplicated across schools
    assert ministry.read_ministry_export(FIXTURES / "skoletal_full.xlsx").equals(nt)


def test_fixture_skoletal_trimmed():
    df = ministry.read_skoletal(FIXTURES / "skoletal_trimmed.xlsx")
    assert df[["skolenavn", "kommune", "skoleaar", "elevtal"]].values.tolist() == [
        ["Østre Skole", "Thisted", "2017/2018", 573], ["Østre Skole", "Thisted", "2018/2019", 576],
        ["Østre Skole", "Middelfart", "2017/2018", 495], ["Østre Skole", "Middelfart", "2018/2019", 475]]
    assert df["institutionsnummer"].isna().all()
    with pytest.raises(MinistryFormatError, match="institutionsnummer"):
        ministry.read_ministry_export(FIXTURES / "skoletal_trimmed.xlsx")


@pytest.mark.parametrize("reader", [ministry.read_trivsel_pivot, ministry.read_skoletal, ministry.read_ministry_export])
def test_fixture_no_row_labels(reader):
    with pytest.raises(MinistryFormatError, match=r"unknown_no_row_labels\.xlsx: ingen 'Row Labels'-række i de første 30 rækker"):
        reader(FIXTURES / "unknown_no_row_labels.xlsx")


def test_fixture_unknown_measure_header():
    with pytest.raises(MinistryFormatError, match=r"unknown_measure_header\.xlsx, celle D3: ukendt kolonneoverskrift 'Foo'"):
        ministry.read_ministry_export(FIXTURES / "unknown_measure_header.xlsx")


def test_fixture_unknown_layout():
    with pytest.raises(MinistryFormatError, match=r"unknown_layout\.xlsx: ukendt download-layout.*Karaktergennemsnit"):
        ministry.read_ministry_export(FIXTURES / "unknown_layout.xlsx")
    with pytest.raises(MinistryFormatError, match="ingen kendt Skoletal-kolonne"):
        ministry.read_skoletal(FIXTURES / "unknown_layout.xlsx")
    with pytest.raises(MinistryFormatError, match="ingen kendt Skoletal-kolonne"):
        ministry.read_skoletal(FIXTURES / "trivsel_compact.xlsx")
    assert issubclass(MinistryFormatError, ValueError)


def test_not_a_workbook(tmp_path):
    bad = tmp_path / "Skoletal.xlsx"
    bad.write_text("institutionsnummer;skolenavn\n", encoding="utf-8")
    with pytest.raises(MinistryFormatError, match="Skoletal.xlsx: kan ikke læses som Excel-projektmappe"):
        ministry.read_skoletal(bad)


def test_bad_text_number_names_the_cell(tmp_path):
    wb = Workbook()
    for row in [["Row Labels", "Institution", "Skoleår", "Samlet elevfravær"],
                ["101001", "Skole", "2018/2019", "7,98 %"],
                ["101001", "Skole", "101", "7,98 %"],
                ["101002", "Anden skole", "2018/2019", "mangler"],
                ["101002", "Anden skole", "101", "mangler"]]:
        wb.active.append(row)
    wb.save(tmp_path / "t.xlsx")
    with pytest.raises(MinistryFormatError, match=r"t\.xlsx, celle D4: forventede et tal, fandt 'mangler'"):
        ministry.read_skoletal(tmp_path / "t.xlsx")
    wb.active["D4"] = wb.active["D5"] = "x"                       # a suppression marker
    wb.save(tmp_path / "t.xlsx")
    df = ministry.read_skoletal(tmp_path / "t.xlsx")
    assert df["fravaer_andel"].iloc[0] == pytest.approx(0.0798)   # "7,98 %" → 0.0798
    assert math.isnan(df["fravaer_andel"].iloc[1])


def test_bands_match_config():
    assert ministry.BANDS == config.TRIVSEL_BANDS


def test_fixtures_match_their_script(tmp_path, monkeypatch):
    """The committed .xlsx files are what ``make_fixtures.py`` writes (cell by cell)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    for make in module.ALL:
        fresh = make()
        committed = FIXTURES / fresh.name
        a = [list(r) for r in load_workbook(fresh).active.iter_rows(values_only=True)]
        b = [list(r) for r in load_workbook(committed).active.iter_rows(values_only=True)]
        assert a == b, f"{fresh.name} is stale: run tests/fixtures/ministry/make_fixtures.py"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xlsx")))
def test_fast_cell_reader_matches_openpyxl(name):
    """The expat fast path reads exactly what pandas/openpyxl read (also checked on all real files)."""
    fast = ministry._read_xlsx_cells(FIXTURES / name, None)
    ref = pd.read_excel(FIXTURES / name, header=None, dtype=object)
    ref = ref.astype(object).where(ref.notna(), None).to_numpy(dtype=object)
    assert fast.shape == ref.shape
    assert [[(type(v), v) for v in row] for row in fast.tolist()] == [[(type(v), v) for v in row] for row in ref.tolist()]


def test_danish_labels_row_years_and_counts_only(tmp_path):
    """Indicator named by the measure (æøå kept), a school year as a row label ("2014-15"),
    "Piger", "4. kl.", institution number inside the school label, counts without shares."""
    wb = Workbook()
    measure = "Antal Støtte og inspiration"
    for row in [["Skoleår", "All"], [None, "Column Labels"],
                [None, "1 til 2", "2,1 til 3", "3,1 til 4", "4,1 til 5"],
                ["Row Labels", measure, measure, measure, measure],
                ["2014-15"], ["Piger"], ["4. kl."], ["Skole Æblehaven (045001)", 1, 2, 3, 4]]:
        wb.active.append(row)
    wb.save(tmp_path / "støtte.xlsx")
    df = ministry.read_trivsel_pivot(tmp_path / "støtte.xlsx")
    first = df.iloc[0]
    assert (first["skoleaar"], first["indikator"], first["koen"], first["klassetrin"]) == (
        "2014/2015", "støtte og inspiration", "pige", 4)
    assert (first["institutionsnummer"], first["skolenavn"]) == ("045001", "Skole Æblehaven")
    assert df["antal"].tolist() == [1, 2, 3, 4] and df["andel"].isna().all()
    nt = ministry.read_ministry_export(tmp_path / "støtte.xlsx")
    assert nt["indikator"].tolist() == [f"stoette_og_inspiration:{b}" for b in ministry.BANDS]
    assert nt["vaerdi"].tolist() == pytest.approx([10, 20, 30, 40])
    assert set(nt["kode"]) == {"045001"} and set(nt["skoleaar"]) == {"2014/2015"}


@pytest.mark.parametrize("name, kind", [("trivsel_compact.xlsx", "trivsel"), ("trivsel_yearblocks.xlsx", "trivsel"),
                                        ("skoletal_full.xlsx", "skoletal"), ("skoletal_trimmed.xlsx", "skoletal")])
def test_sniff_layout(name, kind):
    assert ministry.sniff_layout(FIXTURES / name) == kind
