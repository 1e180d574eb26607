"""Kortlægning (survey mapping): pupils' answers → dimension scores on the 500/100 scale.

The rules are DOMAIN.md §3's:
* a pupil's dimension score is the mean of her answered items in that dimension, with
  reverse-coded items flipped (6 − answer on the 1–5 scale);
* she counts on a dimension only if she answered at least half of the items *on her form*
  (0.–3. kl. answer a shorter form; the codebook's optional ``klassetrin_fra`` says from
  which grade an item is asked);
* scores are standardised to mean 500 / SD 100 against one fixed reference — the whole
  programme population at T1 — so T2 and T3 move on the same scale.

The core works on a wide answer matrix (pupil-rounds × items) so that the demo generator
can calibrate its data with exactly the code the reports use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import config, frames

#: Pupil-rounds scored at a time: a country's ~1,8 M × 40 answers would need ~2 GB of temporaries at once
#: (every row on its own: sums of a few 1–5 answers are exact, so chunking changes nothing).
CHUNK = 200_000
#: The long scores' text columns, held as categories (``frames``): a country has ~10 M rows of them.
TEXT_COLUMNS = ("elev_id", "runde", "dimension", "skoleaar", "institutionsnummer", "kommunekode", "koen")


@dataclass(frozen=True)
class Codebook:
    """The questionnaire as arrays aligned with the columns of an answer matrix."""

    item_ids: np.ndarray  # (K,) spoergsmaal_id
    item_dim: np.ndarray  # (K,) index into ``dimensions``
    reverse: np.ndarray  # (K,) bool
    from_grade: np.ndarray  # (K,) lowest klassetrin asked
    dimensions: tuple[str, ...]

    @classmethod
    def from_frame(cls, spoergsmaal: pd.DataFrame) -> "Codebook":
        known = [d for d in config.DIMENSIONS if d in set(spoergsmaal["dimension"])]
        extra = sorted(set(spoergsmaal["dimension"]) - set(known))
        dimensions = tuple(known + extra)
        q = spoergsmaal.reset_index(drop=True)
        from_grade = (
            q["klassetrin_fra"].fillna(0).astype(int).to_numpy()
            if "klassetrin_fra" in q
            else np.zeros(len(q), dtype=int)
        )
        return cls(
            item_ids=q["spoergsmaal_id"].astype(str).to_numpy(),
            item_dim=q["dimension"].map({d: i for i, d in enumerate(dimensions)}).to_numpy(),
            reverse=q["omvendt"].astype(bool).to_numpy(),
            from_grade=from_grade,
            dimensions=dimensions,
        )

    def applicable(self, grades: np.ndarray) -> np.ndarray:
        """(R, K) mask: which items are on the form of a pupil in each grade."""
        return self.from_grade[None, :] <= np.asarray(grades)[:, None]


def pupil_dimension_means(answers: np.ndarray, grades: np.ndarray, codebook: Codebook) -> np.ndarray:
    """(R, D) raw dimension means on 1–5; NaN where fewer than half the form's items were answered."""
    answers = np.asarray(answers, dtype=float)
    flipped = np.where(codebook.reverse[None, :], 6.0 - answers, answers)
    applicable = codebook.applicable(grades)
    answered = applicable & ~np.isnan(flipped)
    onehot = np.zeros((len(codebook.item_ids), len(codebook.dimensions)))
    onehot[np.arange(len(codebook.item_ids)), codebook.item_dim] = 1.0
    sums = np.where(answered, flipped, 0.0) @ onehot
    counts = answered.astype(float) @ onehot
    on_form = applicable.astype(float) @ onehot
    enough = (counts > 0) & (counts >= on_form / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, sums / counts, np.nan)


@dataclass(frozen=True)
class Reference:
    """Mean and SD per dimension of the programme's T1 raw scores: the 500/100 anchor."""

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def from_raw(cls, raw_t1: np.ndarray) -> "Reference":
        return cls(mean=np.nanmean(raw_t1, axis=0), sd=np.nanstd(raw_t1, axis=0, ddof=1))

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        return config.SCALE_MEAN + config.SCALE_SD * (raw - self.mean) / self.sd


def answer_matrix(
    svar: pd.DataFrame, codebook: Codebook
) -> tuple[pd.DataFrame, np.ndarray]:
    """Long answers (elev_id, runde, spoergsmaal_id, svar, dato) → (pupil-rounds, R×K matrix).

    Vectorised (factorise + fancy assignment), never a Python loop over rows: a full
    programme is ~8 M answers.
    """
    keys = svar[["elev_id", "runde"]]
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    item_pos = pd.Series(np.arange(len(codebook.item_ids)), index=codebook.item_ids)
    cols = item_pos.reindex(svar["spoergsmaal_id"].astype(str).to_numpy()).to_numpy()
    matrix = np.full((len(uniques), len(codebook.item_ids)), np.nan)
    matrix[codes, cols.astype(int)] = pd.to_numeric(svar["svar"]).to_numpy(dtype=float, na_value=np.nan)
    rounds = pd.DataFrame(list(uniques), columns=["elev_id", "runde"]) if len(uniques) else pd.DataFrame(columns=["elev_id", "runde"])
    first_date = pd.Series(pd.to_datetime(svar["dato"]).to_numpy()).groupby(codes).min()
    rounds["dato"] = first_date.sort_index().to_numpy()
    return rounds, matrix


def school_year_of(dates: pd.Series) -> pd.Series:
    """Danish school years run August–July: 2023-10-02 → '2023/2024'."""
    d = pd.to_datetime(dates)
    start = d.dt.year - (d.dt.month < 8).astype(int)
    return start.astype(str) + "/" + (start + 1).astype(str)


def pupil_scores(svar: pd.DataFrame, spoergsmaal: pd.DataFrame, elever: pd.DataFrame, skoler: pd.DataFrame) -> pd.DataFrame:
    """Long pupil-level scores: elev_id, runde, skoleaar, institution, kommune, koen, klassetrin, dimension, raw, score.

    Pupil-level: this table stays in ``data/processed`` and only feeds aggregates.
    """
    codebook = Codebook.from_frame(spoergsmaal)
    return scores_from_matrix(*answer_matrix(svar, codebook), codebook, elever, skoler)


def scores_from_matrix(rounds: pd.DataFrame, matrix: np.ndarray, codebook: Codebook, elever: pd.DataFrame,
                       skoler: pd.DataFrame) -> pd.DataFrame:
    """``pupil_scores`` from the pupil-rounds (elev_id, runde, dato: the first answer) and their R×K matrix.

    The ingest builds them in DuckDB when the answers are too many for memory: the rounds in the
    order of their first answer in the file, as ``answer_matrix`` gives them.
    """
    rounds = rounds.copy()
    rounds["skoleaar"] = school_year_of(rounds["dato"])
    pupils = elever[["elev_id", "skoleaar", "institutionsnummer", "klassetrin", "koen"]]
    rounds = rounds.merge(pupils, on=["elev_id", "skoleaar"], how="left", validate="many_to_one")
    known = rounds["klassetrin"].notna().to_numpy()
    if not known.all():  # a country's matrix is not copied when every round is known
        rounds, matrix = rounds[known].reset_index(drop=True), matrix[known]
    grades = rounds["klassetrin"].to_numpy(dtype=int)
    raw = np.concatenate([pupil_dimension_means(matrix[i:i + CHUNK], grades[i:i + CHUNK], codebook)
                          for i in range(0, len(rounds), CHUNK)] or [np.empty((0, len(codebook.dimensions)))])
    t1 = (rounds["runde"] == config.ROUNDS[0]).to_numpy()
    if not t1.any():
        raise ValueError("Ingen besvarelser i T1: skalaen 500/100 forankres i programmets T1-population.")
    ref = Reference.from_raw(raw[t1])
    scores = ref.standardise(raw)
    rounds = rounds.merge(skoler[["institutionsnummer", "kommunekode"]], on="institutionsnummer", how="left")
    d = len(codebook.dimensions)
    long = pd.DataFrame({
        "elev_id": frames.repeat(rounds["elev_id"], d),
        "runde": frames.repeat(rounds["runde"], d),
        "dimension": frames.tile(codebook.dimensions, len(rounds)),
        "raw": raw.ravel(),
        "score": scores.ravel(),
    })
    for col in TEXT_COLUMNS[3:]:
        long[col] = frames.repeat(rounds[col], d)
    long["klassetrin"] = np.repeat(rounds["klassetrin"].to_numpy(dtype=int), d)
    long["dato"] = np.repeat(rounds["dato"].to_numpy(), d)
    return long
