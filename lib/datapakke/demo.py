"""Seeded, deterministic synthetic demo data in the raw contract (DOMAIN.md §3 and §6).

Real school names and institution numbers (from the ministry's public statistics, see
``scripts/make_demo_school_list.py``); everything else is invented.  The model behind it
is simple but gives every report section something real to show:

* pupils have a general wellbeing factor plus dimension-specific parts; schools have their
  own level, gender gap and trend per dimension, so some schools improve and some decline;
* answers are 1–5 Likert items, some reverse-coded, 0.–3. kl. on a short form, with item
  non-response and school-specific response rates (a few below the warning threshold);
* absence is skewed (log-normal propensities), seasonal, partly unlawful for a few pupils,
  and higher for pupils with low wellbeing; one municipality (Billund) reports none;
* Aars Skole is calibrated so boys' faglig trivsel is 492 and girls' 516 at T1, with
  the report's own scoring code.

Everything is vectorised: ~72,000 pupils × 40 items × 3 rounds ≈ 8 M answers.  ``generate_national``
runs the same functions one municipality at a time for the whole country (``datapakke demo --skala land``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import config, survey
from .store import staged_files

SEED = 20240901
SCHOOL_YEARS = ("2023/2024", "2024/2025", "2025/2026")
ROUND_START = {"T1": date(2023, 10, 2), "T2": date(2024, 10, 7), "T3": date(2025, 10, 6)}
AARS = "861010"
AARS_T1_TARGET = {"dreng": 492.0, "pige": 516.0}
NO_ABSENCE_MUNICIPALITY = "530"  # Billund: "some municipalities do not report absence"
#: A very small special school, so the demo shows what heavy suppression looks like.
TINY_SCHOOLS = {"861901": 18}  # Vestermarkskolen Aars

# (dimension, item text, reverse-coded, asked from grade) — about 40 items, 7 dimensions.
QUESTIONS: list[tuple[str, str, bool, int]] = [
    ("faglig_trivsel", "Jeg klarer mig godt fagligt i skolen", False, 0),
    ("faglig_trivsel", "Jeg kan finde en løsning på problemer, hvis jeg prøver hårdt", False, 0),
    ("faglig_trivsel", "Jeg kan koncentrere mig i timerne", False, 0),
    ("faglig_trivsel", "Jeg føler mig ofte dum i skolen", True, 4),
    ("faglig_trivsel", "Jeg kan få hjælp, når jeg går i stå med en opgave", False, 4),
    ("faglig_trivsel", "Jeg lærer meget i skolen", False, 4),
    ("social_trivsel", "Jeg er glad for min klasse", False, 0),
    ("social_trivsel", "Jeg føler, at jeg hører til på skolen", False, 0),
    ("social_trivsel", "Jeg føler mig ofte ensom", True, 4),
    ("social_trivsel", "Andre elever accepterer mig, som jeg er", False, 4),
    ("social_trivsel", "Jeg har nogen at være sammen med i frikvartererne", False, 4),
    ("social_trivsel", "Jeg er bange for at blive til grin i skolen", True, 4),
    ("laeringsmotivation", "Jeg glæder mig til at komme i skole", False, 0),
    ("laeringsmotivation", "Undervisningen er spændende", False, 0),
    ("laeringsmotivation", "Jeg keder mig ofte i timerne", True, 4),
    ("laeringsmotivation", "Jeg vil gerne lære mere, end vi skal", False, 4),
    ("laeringsmotivation", "Jeg gør mig umage med mine lektier", False, 4),
    ("laeringsmotivation", "Det jeg lærer, kan jeg bruge til noget", False, 4),
    ("relation_til_laererne", "Mine lærere kan lide mig", False, 0),
    ("relation_til_laererne", "Mine lærere hjælper mig, når jeg har brug for det", False, 0),
    ("relation_til_laererne", "Mine lærere tror på, at jeg kan lære meget", False, 4),
    ("relation_til_laererne", "Mine lærere lytter ikke til, hvad jeg siger", True, 4),
    ("relation_til_laererne", "Mine lærere roser mig, når jeg gør noget godt", False, 4),
    ("relation_til_laererne", "Jeg kan tale med en lærer, hvis jeg er ked af det", False, 4),
    ("klasseledelse", "Der er ro i klassen, når vi skal arbejde", False, 0),
    ("klasseledelse", "Det tager lang tid, før undervisningen kommer i gang", True, 0),
    ("klasseledelse", "Vi ved, hvad vi skal lave i timerne", False, 4),
    ("klasseledelse", "Der er larm og uro i timerne", True, 4),
    ("klasseledelse", "Lærerne sørger for, at vi overholder reglerne", False, 4),
    ("foraeldreinvolvering", "Mine forældre spørger til, hvordan det går i skolen", False, 0),
    ("foraeldreinvolvering", "Mine forældre hjælper mig med lektier, hvis jeg har brug for det", False, 0),
    ("foraeldreinvolvering", "Mine forældre kommer til skole-hjem-samtaler", False, 4),
    ("foraeldreinvolvering", "Mine forældre synes, skolen er vigtig", False, 4),
    ("foraeldreinvolvering", "Mine forældre ved ikke, hvad jeg laver i skolen", True, 4),
    ("fravaer_af_mobning", "Jeg bliver ikke drillet i skolen", False, 0),
    ("fravaer_af_mobning", "Jeg er bange for nogle af de andre elever", True, 0),
    ("fravaer_af_mobning", "Andre elever siger grimme ting til mig", True, 4),
    ("fravaer_af_mobning", "Jeg bliver holdt udenfor af de andre", True, 4),
    ("fravaer_af_mobning", "Jeg føler mig tryg på skolen", False, 4),
    ("fravaer_af_mobning", "Der bliver ikke mobbet i min klasse", False, 4),
]
DIMS = list(config.DIMENSIONS)
#: Girls' mean advantage per dimension on the latent scale (positive: girls higher).
GIRL_ADVANTAGE = {"faglig_trivsel": 0.15, "social_trivsel": -0.02, "laeringsmotivation": 0.12,
                  "relation_til_laererne": 0.08, "klasseledelse": 0.05,
                  "foraeldreinvolvering": 0.0, "fravaer_af_mobning": 0.04}


@dataclass(frozen=True)
class DemoSummary:
    schools: int
    pupils: int
    answers: int
    absence_records: int
    folder: Path


def demo_schools() -> pd.DataFrame:
    """The committed list of real schools the demo is built around."""
    s = pd.read_csv(config.RESOURCES / "demo_schools.csv", dtype=str)
    s["institutionsnummer"] = s["institutionsnummer"].str.zfill(6)
    s["elevtal"] = s["elevtal"].astype(int)
    return s


def school_days(school_year: str) -> list[date]:
    """A default Danish school calendar: weekdays 11 Aug–26 Jun minus the usual holidays."""
    y = int(school_year[:4])
    start, end = date(y, 8, 11), date(y + 1, 6, 26)
    holidays: set[date] = set()

    def week(year: int, iso_week: int) -> None:
        monday = date.fromisocalendar(year, iso_week, 1)
        holidays.update(monday + timedelta(d) for d in range(5))

    week(y, 42)  # efterårsferie
    week(y + 1, 7)  # vinterferie
    holidays.update(date(y, 12, 20) + timedelta(d) for d in range(14))  # juleferie
    holidays.update(date(y + 1, 4, 1) + timedelta(d) for d in range(7))  # påske (approx.)
    holidays.update({date(y + 1, 5, 1), date(y + 1, 5, 29), date(y + 1, 6, 5)})
    out, d = [], start
    while d <= end:
        if d.weekday() < 5 and d not in holidays:
            out.append(d)
        d += timedelta(1)
    return out


def _pupils(schools: pd.DataFrame, rng: np.random.Generator, first_id: int = 1) -> pd.DataFrame:
    """One row per pupil: school, gender, grade in the first school year (may be < 0: starts later).

    Pupils are numbered ``D0000001``… from ``first_id`` (a national run numbers on across municipalities).
    """
    rows = []
    for s in schools.itertuples():
        per_grade = max(2, round(TINY_SCHOOLS.get(s.institutionsnummer, s.elevtal) / 10))
        for g0 in range(-2, 10):  # g0 < 0: starts 0. kl. in a later year
            n = max(1, int(rng.normal(per_grade, per_grade * 0.08)))
            rows.append((s.institutionsnummer, g0, n))
    frame = pd.DataFrame(rows, columns=["institutionsnummer", "g0", "n"])
    pupils = frame.loc[frame.index.repeat(frame["n"])].drop(columns="n").reset_index(drop=True)
    pupils["koen"] = np.where(rng.random(len(pupils)) < 0.5, "dreng", "pige")
    pupils["elev_id"] = [f"D{i:07d}" for i in range(first_id, first_id + len(pupils))]
    return pupils


def _enrolment(pupils: pd.DataFrame) -> pd.DataFrame:
    """elever table: one row per pupil per school year she is in 0.–9. kl., classes of ~20–28."""
    parts = []
    for t, year in enumerate(SCHOOL_YEARS):
        p = pupils.assign(skoleaar=year, klassetrin=pupils["g0"] + t)
        parts.append(p[(p["klassetrin"] >= 0) & (p["klassetrin"] <= 9)])
    e = pd.concat(parts, ignore_index=True)
    e["rank"] = e.groupby(["institutionsnummer", "skoleaar", "klassetrin"]).cumcount()
    size = e.groupby(["institutionsnummer", "skoleaar", "klassetrin"])["elev_id"].transform("size")
    n_classes = np.ceil(size / 26).astype(int).clip(lower=1)
    letters = np.array(list("abcdefgh"))
    e["klasse"] = e["klassetrin"].astype(str) + "." + letters[(e["rank"] % n_classes).to_numpy()]
    return e[["elev_id", "institutionsnummer", "skoleaar", "klassetrin", "klasse", "koen"]]


def _municipality_effects(schools: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per school: its municipality's level per dimension and absence multiplier.

    Drawn from a separate stream (seed, 1) so the rest of the data stays as it was; small on
    purpose — most variation lies between pupils, then schools, least between municipalities.
    """
    rng = np.random.default_rng([seed, 1])
    codes = sorted(schools["kommunekode"].unique())
    level = pd.DataFrame(rng.normal(0, 0.07, (len(codes), len(DIMS))), index=codes)
    absence = pd.Series(np.exp(rng.normal(0, 0.12, len(codes))), index=codes)
    return level.loc[schools["kommunekode"]].to_numpy(), absence.loc[schools["kommunekode"]].to_numpy()


def _school_effects(schools: pd.DataFrame, rng: np.random.Generator, seed: int = SEED,
                    municipality: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Per school: level, gender gap and trend per dimension, absence multiplier, response rate.

    ``municipality``: the schools' municipality effects when drawn for a larger set of schools
    (a national run draws them once for the country, then the schools one municipality at a time).
    """
    n, d = len(schools), len(DIMS)
    girl = np.array([GIRL_ADVANTAGE[x] for x in DIMS])
    municipality_level, municipality_absence = municipality or _municipality_effects(schools, seed)
    effects = {
        "level": rng.normal(0, 0.18, (n, d)) + municipality_level,
        "absence": municipality_absence,
        "gap": girl[None, :] + rng.normal(0, 0.10, (n, d)),
        # per-round trend: some schools improve, some decline
        "trend": rng.normal(0, 0.09, (n, d)) + rng.normal(0, 0.05, (n, 1)),
        "response": np.clip(rng.beta(12, 1.8, n), 0.6, 0.99),
    }
    i = schools.index[schools["institutionsnummer"] == AARS]
    if len(i):
        f = DIMS.index("faglig_trivsel")
        effects["level"][i, f] = 0.05
        effects["gap"][i, f] = 0.24
        effects["trend"][i, f] = 0.02
        effects["response"][i] = 0.93
    return effects


def _aars_boys_t2_boost(rounds: pd.DataFrame) -> np.ndarray:
    """Aars Skole's initiatives aimed at boys: a lift in boys' faglig trivsel from T2."""
    return ((rounds["institutionsnummer"] == AARS) & (rounds["koen"] == "dreng")
            & (rounds["runde"] != "T1")).to_numpy() * 0.06


def _answers(
    enrol: pd.DataFrame, schools: pd.DataFrame, effects: dict, rng: np.random.Generator,
    codebook: survey.Codebook,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Respondent rounds and their R×K answer matrix (stored orientation, NaN = blank)."""
    pupil_ids = enrol["elev_id"].unique()
    general = pd.Series(rng.normal(0, 0.6, len(pupil_ids)), index=pupil_ids)
    specific = pd.DataFrame(rng.normal(0, 0.55, (len(pupil_ids), len(DIMS))), index=pupil_ids)
    school_pos = pd.Series(np.arange(len(schools)), index=schools["institutionsnummer"].to_numpy())
    parts = []
    for t, (runde, start) in enumerate(ROUND_START.items()):
        e = enrol[enrol["skoleaar"] == SCHOOL_YEARS[t]].copy()
        s = school_pos[e["institutionsnummer"]].to_numpy()
        rate = np.clip(effects["response"][s] + rng.normal(0, 0.03, len(e)), 0.3, 0.995)
        e = e[rng.random(len(e)) < rate].copy()
        e["runde"] = runde
        e["dato"] = [start + timedelta(int(x)) for x in rng.integers(0, 12, len(e))]
        parts.append(e)
    rounds = pd.concat(parts, ignore_index=True)
    s = school_pos[rounds["institutionsnummer"]].to_numpy()
    t = rounds["runde"].map({r: i for i, r in enumerate(ROUND_START)}).to_numpy()
    girl = (rounds["koen"] == "pige").to_numpy()
    grade = rounds["klassetrin"].to_numpy()
    latent = (
        general[rounds["elev_id"]].to_numpy()[:, None]
        + specific.loc[rounds["elev_id"]].to_numpy()
        + effects["level"][s]
        + np.where(girl[:, None], effects["gap"][s] / 2, -effects["gap"][s] / 2)
        + effects["trend"][s] * t[:, None]
        - 0.035 * (grade[:, None] - 4.5)
        + rng.normal(0, 0.35, (len(rounds), len(DIMS)))
    )
    latent[:, DIMS.index("faglig_trivsel")] += _aars_boys_t2_boost(rounds)
    item_latent = latent[:, codebook.item_dim] + rng.normal(0, 0.75, (len(rounds), len(codebook.item_ids)))
    offset = np.linspace(-0.35, 0.35, len(codebook.item_ids))[rng.permutation(len(codebook.item_ids))]
    good = np.clip(np.rint(3.75 + offset + 0.95 * item_latent), 1, 5)
    stored = np.where(codebook.reverse[None, :], 6 - good, good)
    blank = rng.random(stored.shape) < 0.025
    stored[blank | ~codebook.applicable(grade)] = np.nan
    return rounds, stored, latent


def _calibrate_aars(rounds: pd.DataFrame, answers: np.ndarray, codebook: survey.Codebook) -> None:
    """Nudge single answers of Aars Skole's T1 pupils until the report shows 492 / 516.

    Uses ``survey.pupil_dimension_means`` and ``survey.Reference`` — the reports' own code —
    and recomputes the programme reference each pass, since Aars is part of it.
    """
    f = codebook.dimensions.index("faglig_trivsel")
    items = np.flatnonzero(codebook.item_dim == f)
    t1 = (rounds["runde"] == "T1").to_numpy()
    grades = rounds["klassetrin"].to_numpy()
    for _ in range(50):
        raw = survey.pupil_dimension_means(answers, grades, codebook)
        ref = survey.Reference.from_raw(raw[t1])
        score = ref.standardise(raw)[:, f]
        done = True
        for koen, target in AARS_T1_TARGET.items():
            who = np.flatnonzero(t1 & (rounds["institutionsnummer"] == AARS).to_numpy()
                                 & (rounds["koen"] == koen).to_numpy() & ~np.isnan(score))
            miss = target - score[who].mean()
            if abs(miss) < 0.2:
                continue
            done = False
            step = 1.0 if miss > 0 else -1.0  # on the "good" orientation
            for i in who:
                if abs(miss) < 0.2:
                    break
                for k in items:
                    a = answers[i, k]
                    if np.isnan(a):
                        continue
                    good = 6 - a if codebook.reverse[k] else a
                    if 1 <= good + step <= 5:
                        answers[i, k] = 6 - (good + step) if codebook.reverse[k] else good + step
                        n_ans = np.sum(~np.isnan(answers[i, items]))
                        miss -= step * config.SCALE_SD / ref.sd[f] / n_ans / len(who)
                        break
        if done:
            return
    raise RuntimeError("Aars Skole calibration did not converge")


def _absence(enrol: pd.DataFrame, latent_by_pupil: pd.Series, rng: np.random.Generator,
             multiplier: pd.Series | None = None) -> pd.DataFrame:
    """Daily absence records (elev_id, dato, fravaerstype, omfang) for all school years."""
    parts = []
    types = np.array(list(config.ABSENCE_TYPES))
    for year in SCHOOL_YEARS:
        days = np.array(school_days(year), dtype="datetime64[D]")
        month = (days.astype("datetime64[M]").astype(int) % 12) + 1
        season = np.where(np.isin(month, [12, 1, 2, 3]), 1.35, np.where(np.isin(month, [8, 6]), 0.7, 1.0))
        e = enrol[(enrol["skoleaar"] == year) & (enrol["kommunekode"] != NO_ABSENCE_MUNICIPALITY)]
        wb = latent_by_pupil.reindex(e["elev_id"]).fillna(0).to_numpy()
        rate = np.exp(rng.normal(np.log(0.045), 0.75, len(e)) - 0.35 * wb)
        rate *= 1 + 0.06 * (e["klassetrin"].to_numpy() - 4.5) / 4.5
        if multiplier is not None:
            rate *= multiplier.reindex(e["institutionsnummer"]).fillna(1.0).to_numpy()
        rate = np.clip(rate, 0.002, 0.6)
        p_unlawful = np.clip(rng.beta(0.6, 8, len(e)) + 0.25 * (rate > 0.12), 0, 0.9)
        p_lawful = 0.2 * (1 - p_unlawful)
        for chunk in np.array_split(np.arange(len(e)), max(1, len(e) // 20000)):
            hit = rng.random((len(chunk), len(days))) < rate[chunk, None] * season[None, :]
            pi, di = np.nonzero(hit)
            u = rng.random(len(pi))
            kind = np.where(u < p_unlawful[chunk][pi], 2, np.where(u < p_unlawful[chunk][pi] + p_lawful[chunk][pi], 1, 0))
            omfang = np.where(rng.random(len(pi)) < 0.15, 0.5, 1.0)
            parts.append(pd.DataFrame({
                "elev_id": e["elev_id"].to_numpy()[chunk][pi],
                "dato": days[di],
                "fravaerstype": types[kind],
                "omfang": omfang,
            }))
    return pd.concat(parts, ignore_index=True)


def _national(schools: pd.DataFrame, effects: dict, enrol: pd.DataFrame, rng: np.random.Generator,
              with_land: bool = True) -> pd.DataFrame:
    """Published aggregates (trivselsmåling 1–5, bands, absence) for land (if ``with_land``), kommune and skole."""
    land_means = {"faglig_trivsel": 3.75, "social_trivsel": 3.95, "stoette_og_inspiration": 3.2,
            "ro_og_orden": 3.7, "generel_skoletrivsel": 3.9}
    link = {"faglig_trivsel": "faglig_trivsel", "social_trivsel": "social_trivsel",
            "stoette_og_inspiration": "relation_til_laererne", "ro_og_orden": "klasseledelse",
            "generel_skoletrivsel": "social_trivsel"}
    counts = enrol[enrol["klassetrin"] >= 4].groupby(["skoleaar", "institutionsnummer"]).size()
    rows = []

    def add(year, niveau, kode, ind, mean, n):
        rows.append((year, niveau, kode, ind, round(mean, 2), n))
        # band shares from a discretised normal around the mean (sd 0.65 on the 1–5 scale)
        cuts = np.array([2.05, 3.05, 4.05])
        from scipy.stats import norm
        cdf = norm.cdf((cuts - mean) / 0.65)
        shares = np.diff(np.concatenate([[0], cdf, [1]])) * 100
        for band, share in zip(config.TRIVSEL_BANDS, shares):
            rows.append((year, niveau, kode, f"{ind}:{band}", round(share, 1), n))

    for t, year in enumerate(SCHOOL_YEARS):
        if with_land:
            for ind, base in land_means.items():
                add(year, "land", "DK", ind, base + 0.02 * t, 450000)
            rows.append((year, "land", "DK", "fravaer_pct", round(6.9 - 0.2 * t, 1), 520000))
            rows.append((year, "land", "DK", "andel_over_10pct_fravaer", round(20.5 - 0.8 * t, 1), 520000))
        for kode, group in schools.groupby("kommunekode"):
            kdev = rng.normal(0, 0.05)
            n_kom = int(sum(counts.get((year, s), 0) for s in group["institutionsnummer"]))
            for ind, base in land_means.items():
                add(year, "kommune", kode, ind, base + kdev + 0.02 * t, n_kom)
            if kode != NO_ABSENCE_MUNICIPALITY:
                rows.append((year, "kommune", kode, "fravaer_pct", round(6.9 + rng.normal(0, 0.5), 1), n_kom))
            for s in group.itertuples():
                n = int(counts.get((year, s.institutionsnummer), 0))
                for ind, base in land_means.items():
                    d = DIMS.index(link[ind])
                    mean = base + kdev + 0.45 * (effects["level"][s.Index, d] + effects["trend"][s.Index, d] * t)
                    add(year, "skole", s.institutionsnummer, ind, float(np.clip(mean, 1, 5)), n)
    return pd.DataFrame(rows, columns=["skoleaar", "niveau", "kode", "indikator", "vaerdi", "antal"])


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write like a Danish export: semicolons, decimal comma, UTF-8."""
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8")


def _codebook_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [(f"S{i + 1:02d}", d, text, rev, fra) for i, (d, text, rev, fra) in enumerate(QUESTIONS)],
        columns=["spoergsmaal_id", "dimension", "tekst", "omvendt", "klassetrin_fra"],
    )


def _answers_table(rounds: pd.DataFrame, answers: np.ndarray, codebook: survey.Codebook) -> pa.Table:
    """The long answers table (one row per given answer) from the respondent rounds and their matrix."""
    r_idx, k_idx = np.nonzero(~np.isnan(answers))
    ids = pa.array(rounds["elev_id"].to_numpy().astype(str))
    return pa.table({
        "elev_id": pa.DictionaryArray.from_arrays(pa.array(r_idx, pa.int32()), ids).cast(pa.string()),
        "runde": pa.array(rounds["runde"].to_numpy()[r_idx].astype(str)),
        "dato": pa.array(rounds["dato"].to_numpy()[r_idx].astype("datetime64[D]")),
        "spoergsmaal_id": pa.array(codebook.item_ids[k_idx].astype(str)),
        "svar": pa.array(answers[r_idx, k_idx].astype(np.int8)),
    })


def _school_days_frame(schools: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [(s, d) for s in schools["institutionsnummer"] for y in SCHOOL_YEARS for d in school_days(y)],
        columns=["institutionsnummer", "dato"],
    )


def _pupil_wellbeing(rounds: pd.DataFrame, latent: np.ndarray) -> pd.Series:
    """Each pupil's mean latent faglig/social trivsel over her rounds (absence is higher when it is low)."""
    wellbeing = pd.Series(latent[:, :2].mean(axis=1), index=rounds["elev_id"].to_numpy())
    return wellbeing.groupby(level=0).mean()


def generate(out: Path, seed: int = SEED, school_ids: list[str] | None = None) -> DemoSummary:
    """Write the whole programme's demo data (all 13 municipalities) into ``out``.

    ``school_ids`` restricts it to some schools: the small committed test fixture is made so.
    Files appear under their final names only when complete (``store.staged_files``).
    """
    rng = np.random.default_rng(seed)
    schools = demo_schools()
    if school_ids is not None:
        schools = schools[schools["institutionsnummer"].isin(school_ids)].reset_index(drop=True)
    pupils = _pupils(schools, rng)
    enrol = _enrolment(pupils)
    codebook_frame = _codebook_frame()
    codebook = survey.Codebook.from_frame(codebook_frame)
    effects = _school_effects(schools, rng, seed)
    rounds, answers, latent = _answers(enrol, schools, effects, rng, codebook)
    _calibrate_aars(rounds, answers, codebook)

    wellbeing = _pupil_wellbeing(rounds, latent)
    enrol_k = enrol.merge(schools[["institutionsnummer", "kommunekode"]], on="institutionsnummer")
    absence = _absence(enrol_k, wellbeing, rng,
                       pd.Series(effects["absence"], index=schools["institutionsnummer"].to_numpy()))
    national = _national(schools, effects, enrol, rng)
    answers_table = _answers_table(rounds, answers, codebook)
    days = _school_days_frame(schools)

    with staged_files(Path(out)) as tmp:
        _write_csv(schools[["institutionsnummer", "skolenavn", "kommunekode", "kommune"]], tmp / "skoler.csv")
        _write_csv(enrol, tmp / "elever.csv")
        _write_csv(codebook_frame, tmp / "kortlaegning_spoergsmaal.csv")
        pq.write_table(answers_table, tmp / "kortlaegning_svar.parquet")
        absence.to_parquet(tmp / "fravaer.parquet", index=False)
        _write_csv(days, tmp / "skoledage.csv")
        _write_csv(national, tmp / "nationale_tal.csv")
        (tmp / config.DEMO_FILE).write_text(
            f"{config.DEMO_MARKER}\nGenereret af datapakke.demo med seed {seed}.\n", encoding="utf-8"
        )
    return DemoSummary(len(schools), pupils["elev_id"].nunique(), answers_table.num_rows, len(absence), Path(out))


# --- the whole country ----------------------------------------------------------------------------------------
#: The columns of the national run's Parquet files: the types the demo's own files have.
ANSWERS_SCHEMA = pa.schema([("elev_id", pa.string()), ("runde", pa.string()), ("dato", pa.date32()),
                            ("spoergsmaal_id", pa.string()), ("svar", pa.int8())])
ABSENCE_SCHEMA = pa.schema([("elev_id", pa.large_string()), ("dato", pa.timestamp("ms")),
                            ("fravaerstype", pa.large_string()), ("omfang", pa.float64())])


def national_schools() -> pd.DataFrame:
    """Every folkeskole of the 98 municipalities (``scripts/make_demo_school_list.py``); the demo's are among them."""
    s = pd.read_csv(config.RESOURCES / "national_schools.csv", dtype=str)
    s["institutionsnummer"] = s["institutionsnummer"].str.zfill(6)
    s["kommunekode"] = s["kommunekode"].str.zfill(3)
    s["elevtal"] = s["elevtal"].astype(int)
    return s


def generate_national(out: Path, seed: int = SEED, kommunekoder: list[str] | None = None) -> DemoSummary:
    """The whole country (98 municipalities) in the raw contract, one municipality at a time.

    The demo's generator functions run on each municipality's schools with its own random
    stream (seed, 2, kommunekode), and each municipality's rows are appended to the files
    (Parquet row groups through ``pyarrow.parquet.ParquetWriter``, CSV rows) before the next
    is drawn, so memory is that of the largest municipality, not of the country.  The
    municipality effects are drawn once for the country.  Unlike the demo, Aars Skole is not
    calibrated to 492/516 (the scale's reference is the whole country, known only at ingest).
    ``kommunekoder`` restricts the run to some municipalities (for tests).
    """
    schools = national_schools()
    if kommunekoder is not None:
        schools = schools[schools["kommunekode"].isin(kommunekoder)].reset_index(drop=True)
    codebook_frame = _codebook_frame()
    codebook = survey.Codebook.from_frame(codebook_frame)
    level, absence_level = _municipality_effects(schools, seed)
    n_pupils = n_answers = n_absence = 0
    with staged_files(Path(out)) as tmp:
        _write_csv(schools[["institutionsnummer", "skolenavn", "kommunekode", "kommune"]], tmp / "skoler.csv")
        _write_csv(codebook_frame, tmp / "kortlaegning_spoergsmaal.csv")
        csv = {name: open(tmp / f"{name}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
               for name in ("elever", "skoledage", "nationale_tal")}
        answers_out = pq.ParquetWriter(tmp / "kortlaegning_svar.parquet", ANSWERS_SCHEMA)
        absence_out = pq.ParquetWriter(tmp / "fravaer.parquet", ABSENCE_SCHEMA)
        try:
            for i, (kode, idx) in enumerate(sorted(schools.groupby("kommunekode").indices.items())):
                chunk = schools.iloc[idx].reset_index(drop=True)
                rng = np.random.default_rng([seed, 2, int(kode)])
                pupils = _pupils(chunk, rng, first_id=n_pupils + 1)
                enrol = _enrolment(pupils)
                effects = _school_effects(chunk, rng, seed, (level[idx], absence_level[idx]))
                rounds, answers, latent = _answers(enrol, chunk, effects, rng, codebook)
                enrol_k = enrol.merge(chunk[["institutionsnummer", "kommunekode"]], on="institutionsnummer")
                absence = _absence(enrol_k, _pupil_wellbeing(rounds, latent), rng,
                                   pd.Series(effects["absence"], index=chunk["institutionsnummer"].to_numpy()))
                national = _national(chunk, effects, enrol, rng, with_land=i == 0)
                answers_table = _answers_table(rounds, answers, codebook)
                answers_out.write_table(answers_table)
                absence_out.write_table(pa.Table.from_pandas(absence, schema=ABSENCE_SCHEMA, preserve_index=False))
                for name, frame in (("elever", enrol), ("skoledage", _school_days_frame(chunk)),
                                    ("nationale_tal", national)):
                    frame.to_csv(csv[name], sep=";", decimal=",", index=False, header=i == 0)
                n_pupils += len(pupils)
                n_answers += answers_table.num_rows
                n_absence += len(absence)
        finally:
            answers_out.close()
            absence_out.close()
            for f in csv.values():
                f.close()
        (tmp / config.DEMO_FILE).write_text(
            f"{config.DEMO_MARKER}\nGenereret af datapakke.demo (hele landet) med seed {seed}.\n", encoding="utf-8"
        )
    return DemoSummary(len(schools), n_pupils, n_answers, n_absence, Path(out))
