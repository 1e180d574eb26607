"""Fravær (attendance): pupils' absence percentages and the aggregates reports show.

A pupil's fraværsprocent is absent school days (weighted by ``omfang``) / her school's
school days × 100, overall and per type (DOMAIN.md §3).  A school's or municipality's
figure is the mean of its pupils' percentages.  Two different "10 %" rules are kept apart:
the statistic *share of pupils above 10 % total absence* and the legal trigger *10 %
unlawful absence within a quarter* (15 %: the municipality is notified).

Schools without any absence records in a school year did not report absence: their pupils
get NaN (missing), never 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import config, frames
from .survey import school_year_of

TYPES = list(config.ABSENCE_TYPES)
PCT_COLS = [f"{t}_pct" for t in TYPES] + ["samlet_pct"]
#: Absence bands for "absence against faglig trivsel" (upper bounds, %).
ABSENCE_BANDS = [(0, 2.5, "0–2,5 %"), (2.5, 5, "2,5–5 %"), (5, 10, "5–10 %"), (10, 15, "10–15 %"), (15, 101, "over 15 %")]


def _school_days_per(skoledage: pd.DataFrame, freq: str) -> pd.DataFrame:
    d = skoledage.assign(skoleaar=school_year_of(skoledage["dato"]).to_numpy())
    if freq == "year":
        return d.groupby(["institutionsnummer", "skoleaar"]).size().rename("dage").reset_index()
    period = d["dato"].dt.to_period(freq).astype(str)
    return d.assign(periode=period).groupby(["institutionsnummer", "skoleaar", "periode"]).size().rename("dage").reset_index()


def absent_days(fravaer: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """Absent days (sum of ``omfang``) per pupil × school year (× month 'M' or quarter 'Q'), one column per type.

    Everything absence figures are made of: ``AbsenceDays`` holds these sums, computed here from
    the records or by the ingest in DuckDB from a file too big for memory.
    """
    f = fravaer.assign(skoleaar=school_year_of(fravaer["dato"]).to_numpy())
    index = ["elev_id", "skoleaar"]
    if freq is not None:
        f["periode"] = fravaer["dato"].dt.to_period(freq).astype(str)
        index.append("periode")
    days = f.pivot_table(index=index, columns="fravaerstype", values="omfang", aggfunc="sum", fill_value=0.0)
    return days.reindex(columns=TYPES, fill_value=0.0).reset_index()


@dataclass(frozen=True)
class AbsenceDays:
    """Absent days per type, per pupil and school year, and per pupil and month and quarter."""

    year: pd.DataFrame
    month: pd.DataFrame
    quarter: pd.DataFrame

    @classmethod
    def from_records(cls, fravaer: pd.DataFrame) -> "AbsenceDays":
        return cls(absent_days(fravaer), absent_days(fravaer, "M"), absent_days(fravaer, "Q"))

    def of(self, freq: str | None) -> pd.DataFrame:
        return {None: self.year, "M": self.month, "Q": self.quarter}[freq]


def _days(fravaer: pd.DataFrame | AbsenceDays, freq: str | None) -> pd.DataFrame:
    return fravaer.of(freq) if isinstance(fravaer, AbsenceDays) else absent_days(fravaer, freq)


def _reporting(year_days: pd.DataFrame, elever: pd.DataFrame) -> pd.DataFrame:
    """(institutionsnummer, skoleaar) pairs with any absence record: they report absence."""
    f = year_days[["elev_id", "skoleaar"]].merge(elever[["elev_id", "skoleaar", "institutionsnummer"]],
                                                 on=["elev_id", "skoleaar"])
    return f[["institutionsnummer", "skoleaar"]].drop_duplicates().assign(indberettet=True)


def pupil_absence(fravaer: pd.DataFrame | AbsenceDays, elever: pd.DataFrame, skoledage: pd.DataFrame,
                  skoler: pd.DataFrame) -> pd.DataFrame:
    """One row per pupil and school year with absence % per type and overall (pupil-level).

    ``fravaer``: the absence records, or their ``AbsenceDays``.
    """
    days = _days(fravaer, None)
    base = elever[["elev_id", "skoleaar", "institutionsnummer", "klassetrin", "koen"]]
    base = base.merge(skoler[["institutionsnummer", "kommunekode"]], on="institutionsnummer", how="left")
    base = base.merge(_school_days_per(skoledage, "year"), on=["institutionsnummer", "skoleaar"], how="left")
    base = base.merge(_reporting(days, elever), on=["institutionsnummer", "skoleaar"], how="left")
    out = base.merge(days, on=["elev_id", "skoleaar"], how="left")
    reported = out["indberettet"].fillna(False).astype(bool) & (out["dage"] > 0)
    for t in TYPES:
        out[f"{t}_pct"] = (out[t].fillna(0.0) / out["dage"] * 100).where(reported)
    out["samlet_pct"] = out[[f"{t}_pct" for t in TYPES]].sum(axis=1, min_count=1).where(reported)
    return out.drop(columns=TYPES + ["indberettet"])


def pupil_absence_by_period(fravaer: pd.DataFrame | AbsenceDays, elever: pd.DataFrame, skoledage: pd.DataFrame,
                            freq: str) -> pd.DataFrame:
    """Pupil × month ('M') or × calendar quarter ('Q') absence %, per type (pupil-level)."""
    days = _days(fravaer, freq)
    per = _school_days_per(skoledage, freq)
    pupils = elever[["elev_id", "skoleaar", "institutionsnummer"]]
    # One row per pupil and period of her school (a country: ~18 M): the keys are joined as categories.
    pupils, days = frames.align("elev_id", pupils, days)
    pupils, per, days = frames.align("skoleaar", pupils, per, days)
    pupils, per = frames.align("institutionsnummer", pupils, per)
    per, days = frames.align("periode", per, days)
    reporting = _reporting(days, pupils)
    base = pupils.merge(reporting, on=["institutionsnummer", "skoleaar"])
    base = base.merge(per, on=["institutionsnummer", "skoleaar"])
    out = base.merge(days, on=["elev_id", "skoleaar", "periode"], how="left")
    for t in TYPES:
        out[f"{t}_pct"] = out[t].fillna(0.0) / out["dage"] * 100
    out["samlet_pct"] = out[[f"{t}_pct" for t in TYPES]].sum(axis=1)
    return out.drop(columns=TYPES)


def absence_band(pct: pd.Series) -> pd.Series:
    labels = pd.Series(pd.NA, index=pct.index, dtype="object")
    for lo, hi, label in ABSENCE_BANDS:
        labels[(pct >= lo) & (pct < hi)] = label
    return labels
