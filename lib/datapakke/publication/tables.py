"""The published tables: the aggregates as the site may show them, each number tied to its cell.

Every table here is an aggregate table (``aggregate.py``) with

* its values blanked where the cell's status (``suppression.py``) says they may not be shown;
* ``celle`` — the id of the row's cell (``cells.py``), or for a derived row (a difference,
  a change, a gap) the id of the derived figure; its base cells are in ``derived``;
* ``status`` — ``vist`` or why not (``primaer``, ``sekundaer``, ``ikke_publiceret``);
* for counts shown under the share rule, ``<kolonne>_status`` and ``<kolonne>_tekst``
  (the band, e.g. "højst 7 %").

A derived figure (difference, interval, p, effect size) is shown only when every cell it is
computed from is shown.  Pages, plots, data packages and the explorer read these tables and
nothing else; the audit reads back what they published and checks it against them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import cells as C
from .suppression import band_text

SEP = C.SEP
#: Columns that are keys, not values: never blanked.
KEY_COLUMNS = {"niveau", "kode", "runde", "dimension", "gruppe_type", "gruppe", "skoleaar", "periode", "klassetrin",
               "klassetrin_band", "fravaersgruppe", "orden", "fra", "til", "from_round", "to_round", "kommunekode",
               "institutionsnummer", "celle", "status", "family_size"}


def _values(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEY_COLUMNS and frame[c].dtype.kind in "fiub"
            and not c.endswith("_status")]


def _blank(frame: pd.DataFrame, shown: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
    out = frame.copy()
    for c in columns or _values(frame):
        out[c] = out[c].astype(float).where(shown)
    return out


def _status(ids: pd.Series, status: pd.Series) -> pd.Series:
    return ids.map(status).fillna("ikke_publiceret")


def survey_ids(frame: pd.DataFrame, gruppe: pd.Series | None = None) -> pd.Series:
    g = C.survey_group(frame["gruppe_type"], frame["gruppe"]) if gruppe is None else gruppe
    return ("S" + SEP + frame["niveau"].astype(str) + SEP + frame["kode"].astype(str) + SEP + frame["runde"].astype(str)
            + SEP + frame["dimension"].astype(str) + SEP + g.astype(str))


def _gap_ids(frame: pd.DataFrame, round_col: str = "runde", band: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    base = ("S" + SEP + frame["niveau"].astype(str) + SEP + frame["kode"].astype(str) + SEP
            + frame[round_col].astype(str) + SEP + frame["dimension"].astype(str) + SEP)
    if band is None:
        return base + "dreng", base + "pige"
    return base + "dreng·" + band, base + "pige·" + band


class Publisher:
    """Applies the statuses to every aggregate table and records each derived figure's base cells."""

    def __init__(self, status: pd.DataFrame):
        self.status = status.set_index("id")["status"]
        self.counts = {c: status.set_index("id")[c] for c in status.columns if c.startswith("status_")}
        self.derived: list[tuple[str, str]] = []   # (derived id, base cell id)

    def shown(self, ids: pd.Series) -> np.ndarray:
        return (_status(ids, self.status) == "vist").to_numpy()

    def derive(self, prefix: str, frame: pd.DataFrame, keys: list[str], bases: list[pd.Series]) -> pd.Series:
        """Derived ids (prefix|keys…) for each row, with their base cells recorded."""
        did = pd.Series(prefix, index=frame.index)
        for k in keys:
            did = did + SEP + frame[k].astype(str)
        for b in bases:
            self.derived += list(zip(did, b))
        return did

    # --- survey ------------------------------------------------------------------------------
    def survey_means(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = survey_ids(t)
        out = _blank(t, self.shown(ids), ["n", "mean", "sd", "se", "ci_low", "ci_high"])
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def gaps(self, t: pd.DataFrame, band_col: str | None = None) -> pd.DataFrame:
        band = t[band_col].map(C.BAND_CODES) if band_col else None
        d, p = _gap_ids(t, band=band)
        shown = self.shown(d) & self.shown(p)
        keys = ["niveau", "kode", "runde", "dimension"] + ([band_col] if band_col else [])
        did = self.derive("G", t, keys, [d, p])
        out = _blank(t, shown)
        return out.assign(celle=did.to_numpy(), celle_dreng=d.to_numpy(), celle_pige=p.to_numpy(),
                          status=np.where(shown, "vist", "skjult"))

    def gap_change(self, t: pd.DataFrame) -> pd.DataFrame:
        d0, p0 = _gap_ids(t, "from_round")
        d1, p1 = _gap_ids(t, "to_round")
        shown = self.shown(d0) & self.shown(p0) & self.shown(d1) & self.shown(p1)
        did = self.derive("GC", t, ["niveau", "kode", "dimension", "from_round", "to_round"], [d0, p0, d1, p1])
        return _blank(t, shown).assign(celle=did.to_numpy(), status=np.where(shown, "vist", "skjult"))

    def survey_change(self, t: pd.DataFrame) -> pd.DataFrame:
        g = C.survey_group(t["gruppe_type"], t["gruppe"])
        a = survey_ids(t.assign(runde=t["fra"]), g)
        b = survey_ids(t.assign(runde=t["til"]), g)
        shown = self.shown(a) & self.shown(b)
        did = self.derive("SC", t, ["niveau", "kode", "dimension", "gruppe_type", "gruppe", "fra", "til"], [a, b])
        return _blank(t, shown).assign(celle=did.to_numpy(), status=np.where(shown, "vist", "skjult"))

    def deviation(self, t: pd.DataFrame) -> pd.DataFrame:
        s = ("S" + SEP + "skole" + SEP + t["kode"].astype(str) + SEP + t["runde"].astype(str) + SEP
             + t["dimension"].astype(str) + SEP + "alle")
        k = ("S" + SEP + "kommune" + SEP + t["kommunekode"].astype(str) + SEP + t["runde"].astype(str) + SEP
             + t["dimension"].astype(str) + SEP + "alle")
        shown = self.shown(s) & self.shown(k)
        did = self.derive("D", t, ["kode", "runde", "dimension"], [s, k])
        return _blank(t, shown).assign(celle=did.to_numpy(), status=np.where(shown, "vist", "skjult"))

    # --- response and absence ------------------------------------------------------------------
    def _counted(self, out: pd.DataFrame, ids: pd.Series, measure: str, columns: dict[str, str],
                 n: pd.Series) -> pd.DataFrame:
        """Blank count/share columns unless the count's status is ``vist``; add status and band text.

        ``columns``: column → how it shows the count ('share' or 'count').  A banded column gets
        ``<column>_tekst`` (e.g. "højst 7 %", "højst 3"); every column gets ``<column>_status``.
        """
        st = ids.map(self.counts.get(f"status_{measure}", pd.Series(dtype=object))).fillna("skjult")
        shown = (st == "vist").to_numpy()
        for c, display in columns.items():
            out[c] = out[c].astype(float).where(shown)
            out[f"{c}_status"] = st.to_numpy()
            out[f"{c}_tekst"] = [band_text(s, float(v), display) if s in ("lav", "hoej") else ""
                                 for s, v in zip(st, n)]
        return out

    def response_rates(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("R" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["runde"].astype(str)
               + SEP + t["klassetrin"].astype(str))
        shown = self.shown(ids)
        out = _blank(t, shown, ["elever"])
        out = self._counted(out, ids, "besvar", {"svarprocent": "share", "besvarelser": "count"}, t["elever"])
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def absence(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("A" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["skoleaar"].astype(str)
               + SEP + t["gruppe"].astype(str))
        out = _blank(t, self.shown(ids), ["n", *C.MEAN_TYPES])
        out = self._counted(out, ids, "over10", {"andel_over_10_pct": "share"}, t["n"])
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def absence_month(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("M" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["skoleaar"].astype(str)
               + SEP + t["periode"].astype(str))
        out = _blank(t, self.shown(ids), C.MEAN_TYPES)
        out["n"] = np.nan  # the month table shows means; its n is the year's
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def absence_triggers(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("T" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["skoleaar"].astype(str)
               + SEP + "alle")
        out = t.copy()
        out["n"] = np.nan
        out = self._counted(out, ids, "u10", {"ulovligt_10": "count"}, t["n"])
        out = self._counted(out, ids, "u15", {"ulovligt_15": "count"}, t["n"])
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def absence_change(self, t: pd.DataFrame) -> pd.DataFrame:
        base = "A" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP
        a = base + t["fra"].astype(str) + SEP + "alle"
        b = base + t["til"].astype(str) + SEP + "alle"
        shown = self.shown(a) & self.shown(b)
        did = self.derive("AC", t, ["niveau", "kode", "fra", "til"], [a, b])
        return _blank(t, shown).assign(celle=did.to_numpy(), status=np.where(shown, "vist", "skjult"))

    def absence_wellbeing(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("W" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["runde"].astype(str)
               + SEP + t["fravaersgruppe"].map(C.ABSENCE_BAND_CODES))
        out = _blank(t, self.shown(ids), ["n", "mean", "sd", "se", "ci_low", "ci_high"])
        out["n"] = np.nan  # the bands show means; their sizes are not published
        return out.assign(celle=ids.to_numpy(), status=_status(ids, self.status).to_numpy())

    def absence_wellbeing_corr(self, t: pd.DataFrame) -> pd.DataFrame:
        ids = ("W" + SEP + t["niveau"].astype(str) + SEP + t["kode"].astype(str) + SEP + t["runde"].astype(str)
               + SEP + "alle")
        shown = self.shown(ids)
        did = self.derive("WR", t, ["niveau", "kode", "runde"], [ids])
        out = _blank(t, shown, ["n", "spearman_r", "p"])
        return out.assign(celle=did.to_numpy(), status=np.where(shown, "vist", "skjult"))


#: aggregate table → Publisher method; tables not listed are published as they are (no pupil figures).
METHODS = {
    "survey_means": "survey_means", "gender_gaps": "gaps", "gender_gaps_grade": "gaps",
    "gender_gap_change": "gap_change", "survey_change": "survey_change", "deviation": "deviation",
    "response_rates": "response_rates", "absence": "absence", "absence_month": "absence_month",
    "absence_triggers": "absence_triggers", "absence_change": "absence_change",
    "absence_wellbeing": "absence_wellbeing", "absence_wellbeing_corr": "absence_wellbeing_corr",
}
PASS_THROUGH = ("national", "schools", "rounds", "round_dates")


def publish_tables(agg: dict[str, pd.DataFrame], status: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every published table from the aggregates and the statuses, plus ``derived`` (id → base cells)."""
    pub = Publisher(status)
    out = {}
    for name, method in METHODS.items():
        if name not in agg:
            continue
        t = agg[name].reset_index(drop=True)
        t = pub.gaps(t, "klassetrin_band") if name == "gender_gaps_grade" else getattr(pub, method)(t)
        out[name] = t[t["status"] != "ikke_publiceret"].reset_index(drop=True)  # no page shows these rows
    for name in PASS_THROUGH:
        if name in agg:
            out[name] = agg[name].copy()
    out["derived"] = pd.DataFrame(pub.derived, columns=["celle", "grundcelle"]).drop_duplicates()
    return out
