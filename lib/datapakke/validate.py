"""Validation: every problem in the raw exports, found in one run, told so a consultant can act.

A problem names the file, the row (as the user sees it: the line in the CSV or the row in
Excel, header = 1; the record number in Parquet), the column, the value found and what was
expected.  Errors stop the ingest, warnings are reported and the ingest continues; which is
which is decided per rule in ``RULES`` and documented in the README's validation table.

Column checks are pandera schemas evaluated lazily (all failures at once); cross-table
checks (unknown school, duplicate answers, a round without respondents, …) are plain
vectorised pandas.  Values are shown as the user typed them (``'4,5'``, not ``4.5``), and a
CPR-like value is never echoed in full (``0102xx-xxxx``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import config
from .privacy import CPR_SEARCH, mask_cpr_lenient

ERROR, WARNING = "fejl", "advarsel"

#: rule id → (severity, Danish description).  Documented in the README's validation table.
RULES: dict[str, tuple[str, str]] = {
    "missing_file": (ERROR, "en påkrævet tabel mangler"),
    "ambiguous_file": (ERROR, "to filer til samme tabel"),
    "bad_config": (ERROR, "kilder.yaml eller kolonnenavne.yaml kan ikke bruges"),
    "unreadable": (ERROR, "filen kan ikke læses"),
    "empty_table": (ERROR, "en tabel har kun overskriften, ingen rækker"),
    "missing_column": (ERROR, "en påkrævet kolonne mangler"),
    "bad_value": (ERROR, "en værdi har forkert type eller format"),
    "out_of_range": (ERROR, "en værdi ligger uden for det tilladte"),
    "unknown_category": (ERROR, "en dimension eller indikator, der hverken er kendt eller erklæret i kategorier.yaml"),
    "missing_value": (ERROR, "en påkrævet værdi er tom"),
    "duplicate": (ERROR, "en række findes to gange"),
    "unknown_school": (ERROR, "elev på en skole, der ikke er i skoler-tabellen"),
    "unknown_pupil": (ERROR, "besvarelse eller fravær for en ukendt elev"),
    "unknown_question": (ERROR, "besvarelse af et spørgsmål, der ikke er i kodebogen"),
    "two_schools": (ERROR, "samme elev på to skoler i samme skoleår"),
    "cpr_in_column": (ERROR, "CPR-lignende værdi i en kolonne, der ikke er elev_id"),
    "no_reference_round": (ERROR, "ingen besvarelser i T1 (skalaen 500/100 forankres i T1)"),
    "ministry_unreadable": (ERROR, "en download fra Uddannelsesstatistik kan ikke bruges"),
    "nationale_conflict": (ERROR, "samme nationale tal med to forskellige værdier i to kilder"),
    "absence_not_school_day": (WARNING, "fravær på en dag, der ikke er skoledag (rækken tælles ikke med)"),
    "not_enrolled": (WARNING, "besvarelse eller fravær i et skoleår, hvor eleven ikke står i elever (tælles ikke med)"),
    "params_unknown_school": (WARNING, "params-fil for en skole, der ikke er i data (springes over)"),
    "empty_round": (WARNING, "en runde uden besvarelser på en skole"),
    "no_absence": (WARNING, "ingen fraværsdata for en kommune (vises som 'ikke indberettet', ikke som 0)"),
    "unknown_column": (WARNING, "ukendt kolonne ignoreres"),
    "unknown_file": (WARNING, "en fil i rådata-mappen bruges ikke"),
    "encoding": (WARNING, "teksten ser forkert kodet ud (fx 'Ã¸' for 'ø')"),
    "default_calendar": (WARNING, "ingen skoledage for en skole i et skoleår (standardkalenderen bruges)"),
    "ministry_note": (WARNING, "noget i en Uddannelsesstatistik-download er udeladt"),

}

#: Rows shown per rule and column before "… og N rækker mere".
MAX_PER_RULE_COLUMN = 20


def _no_place(x) -> bool:
    return x is None or (isinstance(x, str) and x.strip() in ("", "-"))


@dataclass(frozen=True)
class Problem:
    rule: str
    file: str
    row: int | str
    column: str
    value: str
    expected: str

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]

    def __str__(self) -> str:
        where = self.file
        if not _no_place(self.row):
            where += f", række {self.row}"
        if not _no_place(self.column):
            where += f", kolonne '{self.column}'"
        return f"[{self.severity}] {where}: fandt {self.value!r}, forventede {self.expected}"


@dataclass
class Report:
    """Problems collected across files; ``raise_if_errors`` turns errors into one exception.

    One cell gets one problem: the first rule that catches it (a blank koen is
    ``missing_value``, not also ``bad_value``).  Every value passes through
    ``privacy.mask_cpr_lenient`` before it is stored.
    """

    problems: list[Problem] = field(default_factory=list)
    max_per_rule_column: int = MAX_PER_RULE_COLUMN
    _cells: set = field(default_factory=set, repr=False)

    def add(self, rule: str, file: str, row, column: str, value, expected: str) -> None:
        if rule not in RULES:
            raise KeyError(f"unknown validation rule {rule!r}")
        if isinstance(row, (int, np.integer)):
            cell = (str(file), int(row), str(column), rule == "cpr_in_column")  # a CPR hit is never hidden
            if cell in self._cells:
                return
            self._cells.add(cell)
            row = int(row)
        shown = mask_cpr_lenient(_shown(value))
        self.problems.append(Problem(rule, str(file), row, str(column),
                                     shown if rule in WHOLE_VALUE else _short(shown), expected))

    def add_rows(self, rule: str, file: str, rows, column: str, values, expected) -> None:
        """Add one problem per offending row, but at most ``max_per_rule_column`` plus a count.

        ``expected`` is one text, or one per row (a list/Series aligned with ``rows``).
        """
        rows, values = list(rows), list(values)
        exp = list(expected) if isinstance(expected, (list, pd.Series, np.ndarray)) else [expected] * len(rows)
        shown = 0
        for r, v, e in zip(rows, values, exp):
            if shown == self.max_per_rule_column:
                break
            before = len(self.problems)
            self.add(rule, file, r, column, v, e)
            shown += len(self.problems) > before
        rest = len(rows) - shown
        if rest > 0 and shown == self.max_per_rule_column:
            self.problems.append(Problem(rule, str(file), f"… og {rest} rækker mere", str(column), "", exp[0]))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def text(self) -> str:
        lines = [f"{len(self.errors)} fejl, {len(self.warnings)} advarsler"]
        lines += [str(p) for p in self.errors + self.warnings]
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        from .store import atomic_write

        with atomic_write(path) as fh:
            fh.write(self.text() + "\n")

    def raise_if_errors(self) -> None:
        if self.errors:
            raise DataError(self)


class DataError(Exception):
    """Raised with the whole report; the CLI prints it and exits non-zero, no traceback."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.text())


#: A value longer than this is shown by its start and its length (a 200,000-character field is one line).
MAX_SHOWN = 120
#: Rules whose value is a list the user needs in full (every school a download leaves out).
WHOLE_VALUE = {"ministry_note"}


def _short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 20]}… ({len(text):,} tegn)".replace(",", ".")


def _shown(value) -> str:
    """A value as the user typed it: 12, not 12.0; a date as 02-10-2024; blank as ''."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%d-%m-%Y")
    return str(value)


# --- column checks (pandera) ---------------------------------------------------------------
def _schema(columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "skoler": _schema({
        "institutionsnummer": pa.Column(str, pa.Check.str_matches(r"^\d{6}$"), unique=True, nullable=True),
        "kommunekode": pa.Column(str, pa.Check.str_matches(r"^\d{3}$"), nullable=True),
    }),
    "elever": _schema({
        "institutionsnummer": pa.Column(str, pa.Check.str_matches(r"^\d{6}$"), nullable=True),
        "klassetrin": pa.Column(float, pa.Check.in_range(0, 10), nullable=True),
        "koen": pa.Column(str, pa.Check.isin(["dreng", "pige"]), nullable=True),  # parse step reports blanks
        "skoleaar": pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{4}$"), nullable=True),
    }),
    "kortlaegning_svar": _schema({
        "runde": pa.Column(str, pa.Check.isin(list(config.ROUNDS)), nullable=True),
        "svar": pa.Column(float, pa.Check.isin([1.0, 2.0, 3.0, 4.0, 5.0]), nullable=True),
    }),
    "kortlaegning_spoergsmaal": _schema({
        "spoergsmaal_id": pa.Column(str, unique=True, nullable=True),
        "klassetrin_fra": pa.Column(float, pa.Check.in_range(0, 10), nullable=True, required=False),
    }),
    "fravaer": _schema({
        "fravaerstype": pa.Column(str, pa.Check.isin(list(config.ABSENCE_TYPES)), nullable=True),
        "omfang": pa.Column(float, [pa.Check.gt(0), pa.Check.le(1)], nullable=True),
    }),
    "skoledage": _schema({
        "institutionsnummer": pa.Column(str, pa.Check.str_matches(r"^\d{6}$"), nullable=True),
    }),
    "nationale_tal": _schema({
        "niveau": pa.Column(str, pa.Check.isin(["land", "kommune", "skole"]), nullable=True),
        "vaerdi": pa.Column(float, nullable=True),
    }),
}

EXPECTED_TEXT = {
    "institutionsnummer": "6 cifre, fx 861010 (et foranstillet 0 tæller med)",
    "kommunekode": "3 cifre (fx 820)",
    "klassetrin": "et klassetrin 0–10",
    "koen": "dreng/pige (også M/K, D/P)",
    "skoleaar": "et skoleår som 2024/2025",
    "runde": "T1, T2 eller T3",
    "svar": "1–5, et svar som 'enig', eller tom",
    "fravaerstype": "sygdom, lovligt eller ulovligt",
    "omfang": "en andel af en dag: 0 < omfang ≤ 1 (fx 1 eller 0,5)",
    "niveau": "land, kommune eller skole",
    "spoergsmaal_id": "et entydigt spørgsmåls-id (hvert id én gang i kodebogen)",
    "klassetrin_fra": "et klassetrin 0–10",
}


UNIQUE_TEXT = {
    "institutionsnummer": "hver skole én gang i skoler",
    "spoergsmaal_id": "hvert spørgsmåls-id én gang i kodebogen",
}


def _rule_of_check(check: str) -> str:
    check = str(check)
    if "unique" in check or "duplicate" in check:
        return "duplicate"
    if "not_nullable" in check:
        return "missing_value"
    if "str_matches" in check or ("isin" in check and "[1.0" not in check):
        return "bad_value"  # a code or format, not a magnitude
    return "out_of_range"


def check_columns(table: str, frame: pd.DataFrame, file: str, row_of: pd.Series, report: Report,
                  raw: pd.DataFrame | None = None) -> None:
    """Run the table's pandera schema lazily and turn its failure cases into Problems.

    ``raw`` (the frame as read) lets a problem show the value as the user typed it.
    """
    schema = SCHEMAS.get(table)
    if schema is None or frame.empty:
        return
    cols = [c for c in schema.columns if c in frame]
    sub = frame[cols].copy()
    for c in cols:
        dtype = schema.columns[c].dtype
        if dtype is not None and str(dtype) in ("str", "string"):
            sub[c] = sub[c].astype(object)
        elif dtype is not None and str(dtype).startswith("float"):
            sub[c] = sub[c].astype(float)
    schema = schema.select_columns(cols) if hasattr(schema, "select_columns") else schema
    try:
        schema.validate(sub, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            idx = group["index"].astype(int).to_numpy()
            column, rule = str(column), _rule_of_check(check)
            expected = EXPECTED_TEXT.get(column, str(check))
            if rule == "duplicate":  # pandera lists every copy; report the later ones
                later = sub[column].duplicated(keep="first")
                idx = np.array([i for i in idx if later.loc[i]], dtype=int)
                firsts = _first_rows(sub, [column], idx, row_of)
                expected = [f"{UNIQUE_TEXT.get(column, 'hver værdi én gang')}; findes også i række {f}" for f in firsts]
            shown = raw[column] if raw is not None and column in raw else frame[column]
            report.add_rows(rule, file, row_of.loc[idx], column, shown.loc[idx], expected)


def _first_rows(frame: pd.DataFrame, keys: list[str], dup_idx, row_of: pd.Series) -> list:
    """For each duplicate row, the user's row number of the first row with the same key."""
    pos = pd.Series(frame.index, index=frame.index)
    first_pos = pos.groupby([frame[k] for k in keys], sort=False).transform("first")
    return [row_of.loc[first_pos.loc[i]] for i in dup_idx]


# --- cross-table checks --------------------------------------------------------------------
def _school_year_of(dates: pd.Series) -> pd.Series:
    """Danish school years run August–July: 2023-10-02 → '2023/2024'; NaT stays missing.

    Computed once per distinct date (millions of answers fall on a few hundred days).
    """
    d = pd.to_datetime(dates)
    codes, uniq = pd.factorize(d, use_na_sentinel=True)
    u = pd.Series(uniq)
    start = u.dt.year - (u.dt.month < 8).astype(int)
    names = np.append((start.astype(str) + "/" + (start + 1).astype(str)).to_numpy(dtype=object), None)
    return pd.Series(names[np.where(codes < 0, len(names) - 1, codes)], index=dates.index, dtype=object)


def _distinct_pairs(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's code for its (a, b) pair, and the distinct pairs as a frame with columns a, b.

    Lets a lookup on millions of rows be a merge on the few distinct pairs.
    """
    ca, ua = pd.factorize(pd.Series(a), use_na_sentinel=True)
    cb, ub = pd.factorize(pd.Series(b), use_na_sentinel=True)
    nb = len(ub) + 1
    codes, keys = pd.factorize((ca.astype(np.int64) + 1) * nb + (cb + 1))
    ia, ib = keys // nb - 1, keys % nb - 1

    def values(uniq, idx):
        v = pd.Series(uniq).take(np.clip(idx, 0, None)).reset_index(drop=True) if len(uniq) else \
            pd.Series([None] * len(idx), dtype=object)
        return v.where(pd.Series(idx >= 0))
    return codes, pd.DataFrame({"a": values(ua, ia), "b": values(ub, ib)})


def cross_checks(tables: dict[str, pd.DataFrame], files: dict[str, str], rows: dict[str, pd.Series], report: Report,
                 answered: "AnsweredRounds | None" = None) -> None:
    """Referential and consistency rules across tables (all vectorised; blank keys are skipped,
    they are already reported as missing values).

    Without ``kortlaegning_svar`` (or ``fravaer``) in ``tables`` their rules are left to the caller
    (the ingest checks a file too big for memory in DuckDB); ``answered`` then summarises the
    answers for the empty-round warnings.
    """
    skoler, elever = tables["skoler"], tables["elever"]
    known_pupils = pd.Index(elever["elev_id"].dropna().unique())

    bad = elever["institutionsnummer"].notna() & ~elever["institutionsnummer"].isin(skoler["institutionsnummer"].dropna())
    report.add_rows("unknown_school", files["elever"], rows["elever"][bad], "institutionsnummer",
                    elever.loc[bad, "institutionsnummer"], "et institutionsnummer fra skoler-tabellen")

    keyed = elever.dropna(subset=["elev_id", "skoleaar", "institutionsnummer"])
    dup = keyed.duplicated(["elev_id", "skoleaar"], keep=False)
    if dup.any():
        d = keyed[dup]
        schools_of = d.groupby(["elev_id", "skoleaar"])["institutionsnummer"].transform(lambda s: ", ".join(sorted(set(s))))
        n_schools = d.groupby(["elev_id", "skoleaar"])["institutionsnummer"].transform("nunique")
        two = n_schools > 1
        report.add_rows("two_schools", files["elever"], rows["elever"][d.index[two]], "institutionsnummer",
                        d.loc[two, "institutionsnummer"],
                        [f"én skole pr. elev pr. skoleår (eleven står på {s} i {y})"
                         for s, y in zip(schools_of[two], d.loc[two, "skoleaar"])])
    same = keyed.duplicated(["elev_id", "skoleaar", "institutionsnummer"], keep="first")
    if same.any():
        keys = ["elev_id", "skoleaar", "institutionsnummer"]
        firsts = _first_rows(keyed[keyed.duplicated(keys, keep=False)], keys, keyed.index[same], rows["elever"])
        report.add_rows("duplicate", files["elever"], rows["elever"][keyed.index[same]], "elev_id",
                        ["(elev-id skjult)"] * int(same.sum()),
                        [f"én række pr. elev pr. skoleår; samme elev og skoleår står også i række {f}" for f in firsts])

    if "kortlaegning_svar" in tables:
        _answer_checks(tables, files, rows, report, known_pupils)
    elif answered is not None and not report.errors:
        _empty_rounds_of(skoler, elever, answered, files["kortlaegning_svar"], report)
    fravaer = tables.get("fravaer")
    if fravaer is not None and not fravaer.empty:
        bad = fravaer["elev_id"].notna() & ~fravaer["elev_id"].isin(known_pupils)
        report.add_rows("unknown_pupil", files["fravaer"], rows["fravaer"][bad], "elev_id",
                        ["(elev-id skjult)"] * int(bad.sum()), "en elev fra elever-tabellen")
        _absence_days(fravaer, files["fravaer"], rows["fravaer"], report)


def _answer_checks(tables: dict[str, pd.DataFrame], files: dict[str, str], rows: dict[str, pd.Series],
                   report: Report, known_pupils: pd.Index) -> None:
    skoler, elever = tables["skoler"], tables["elever"]
    svar, spm = tables["kortlaegning_svar"], tables["kortlaegning_spoergsmaal"]
    bad = svar["elev_id"].notna() & ~svar["elev_id"].isin(known_pupils)
    report.add_rows("unknown_pupil", files["kortlaegning_svar"], rows["kortlaegning_svar"][bad], "elev_id",
                    ["(elev-id skjult)"] * int(bad.sum()), "en elev fra elever-tabellen")
    bad = svar["spoergsmaal_id"].notna() & ~svar["spoergsmaal_id"].isin(spm["spoergsmaal_id"].dropna())
    report.add_rows("unknown_question", files["kortlaegning_svar"], rows["kortlaegning_svar"][bad],
                    "spoergsmaal_id", svar.loc[bad, "spoergsmaal_id"],
                    f"et spørgsmåls-id fra kodebogen ({files['kortlaegning_spoergsmaal']})")
    keys = ["elev_id", "runde", "spoergsmaal_id"]
    keyed_svar = svar.dropna(subset=keys)
    dup = keyed_svar.duplicated(keys, keep="first")
    if dup.any():
        idx = keyed_svar.index[dup]
        involved = keyed_svar[keyed_svar.duplicated(keys, keep=False)]
        firsts = _first_rows(involved, keys, idx, rows["kortlaegning_svar"])
        report.add_rows("duplicate", files["kortlaegning_svar"], rows["kortlaegning_svar"][idx], "spoergsmaal_id",
                        svar.loc[idx, "runde"] + " " + svar.loc[idx, "spoergsmaal_id"],
                        [f"ét svar pr. elev, runde og spørgsmål; samme elev har svaret i række {f}" for f in firsts])

    answered = svar[svar["svar"].notna()] if "svar" in svar else svar
    if len(svar) and not (svar["runde"] == config.ROUNDS[0]).any():
        found = ", ".join(sorted(svar["runde"].dropna().unique())) or "ingen"
        report.add("no_reference_round", files["kortlaegning_svar"], "-", "runde", f"runderne {found}",
                   "besvarelser i T1: skalaen 500/100 forankres i programmets T1-population")
    if not report.errors:  # on broken keys a missing round would only echo the errors above
        _empty_rounds(skoler, elever, answered, files["kortlaegning_svar"], report)


def _absence_days(fravaer: pd.DataFrame, file: str, row_of: pd.Series, report: Report) -> None:
    """One row per pupil, day and type, and at most one whole day per pupil and day.

    A pupil's absence is the sum of ``omfang`` over her rows: a row given twice, or types
    that add up to more than a day, would count days that were never missed.
    """
    keys = ["elev_id", "dato", "fravaerstype"]
    keyed = fravaer.dropna(subset=keys)
    dup = keyed.duplicated(keys, keep="first")
    if dup.any():
        idx = keyed.index[dup]
        firsts = _first_rows(keyed[keyed.duplicated(keys, keep=False)], keys, idx, row_of)
        shown = [f"{d:%d-%m-%Y} {t}" for d, t in zip(keyed.loc[idx, "dato"], keyed.loc[idx, "fravaerstype"])]
        report.add_rows("duplicate", file, row_of[idx], "fravaerstype", shown,
                        [f"én række pr. elev, dag og fraværstype (læg delregistreringer sammen til én andel af "
                         f"dagen); samme elev, dag og type står også i række {f}" for f in firsts])
    day = keyed[~dup].dropna(subset=["omfang"])
    if day.empty:
        return
    total = day.groupby(["elev_id", "dato"], sort=False)["omfang"].transform("sum")
    last = ~day.duplicated(["elev_id", "dato"], keep="last")
    over = (total > 1 + 1e-9) & last
    if over.any():
        idx = day.index[over]
        report.add_rows("out_of_range", file, row_of[idx], "omfang",
                        [f"{round(v, 3):g} dage den {d:%d-%m-%Y}".replace(".", ",", 1)
                         for v, d in zip(total[over], day.loc[idx, "dato"])],
                        "højst 1 dag pr. elev og dag (sygdom, lovligt og ulovligt fravær tilsammen)")


@dataclass(frozen=True)
class AnsweredRounds:
    """What the empty-round warning needs of the given answers (runde, dato, elev_id all known, runde T1–T3).

    ``days``: runde, dato and the number of answers on that day; ``pupils``: the distinct elev_id, runde.
    """

    days: pd.DataFrame
    pupils: pd.DataFrame


def _empty_rounds(skoler: pd.DataFrame, elever: pd.DataFrame, answered: pd.DataFrame, file: str, report: Report) -> None:
    """A school with pupils in a round's school year but not one answer in that round: warning.

    A round's school year is the most common among its answers (as ``aggregate`` does it).
    """
    a = answered.dropna(subset=["runde", "dato", "elev_id"])
    a = a[a["runde"].isin(config.ROUNDS)]
    if a.empty:
        return
    codes, rd = _distinct_pairs(a["runde"], a["dato"])  # few distinct (round, day) pairs
    rd["n"] = np.bincount(codes, minlength=len(rd))
    _, pairs = _distinct_pairs(a["elev_id"], a["runde"])
    _empty_rounds_of(skoler, elever, AnsweredRounds(rd.rename(columns={"a": "runde", "b": "dato"}),
                                                    pairs.rename(columns={"a": "elev_id", "b": "runde"})), file, report)


def _empty_rounds_of(skoler: pd.DataFrame, elever: pd.DataFrame, answered: AnsweredRounds, file: str,
                     report: Report) -> None:
    rd = answered.days.rename(columns={"runde": "a", "dato": "b"})
    if rd.empty:
        return
    rd["skoleaar"] = _school_year_of(rd["b"]).to_numpy()
    per_year = rd.groupby(["a", "skoleaar"])["n"].sum()
    years = per_year.groupby(level=0).idxmax().map(lambda ix: ix[1])
    pupils = elever.dropna(subset=["elev_id", "skoleaar", "institutionsnummer"])
    per_school_year = pupils.groupby(["institutionsnummer", "skoleaar"]).size().rename("elever").reset_index()
    pairs = answered.pupils.copy()
    pairs["skoleaar"] = pairs["runde"].map(years)
    answered_at = (pairs.astype({"elev_id": "str", "skoleaar": "str"})
                   .merge(pupils[["elev_id", "skoleaar", "institutionsnummer"]], on=["elev_id", "skoleaar"])
                   [["institutionsnummer", "runde"]].drop_duplicates())
    names = skoler.dropna(subset=["institutionsnummer"]).set_index("institutionsnummer")["skolenavn"]
    names = names[~names.index.duplicated()]
    for runde in [r for r in config.ROUNDS if r in years.index]:
        year = years[runde]
        expected = per_school_year[per_school_year["skoleaar"] == year]
        have = set(answered_at.loc[answered_at["runde"] == runde, "institutionsnummer"])
        for s in expected.itertuples():
            if s.institutionsnummer in have:
                continue
            name = names.get(s.institutionsnummer, "")
            report.add("empty_round", file, "-", "runde",
                       f"{runde}: 0 besvarelser fra {name} ({s.institutionsnummer})".replace(" ()", ""),
                       f"besvarelser fra skolens {s.elever} elever i {year}; skolens tal for {runde} bliver tomme "
                       "(er runden glemt i udtrækket?)")


def enrolment_checks(tables: dict[str, pd.DataFrame], files: dict[str, str], rows: dict[str, pd.Series],
                     report: Report) -> dict[str, np.ndarray]:
    """Rows that cannot be counted, as warnings; returns per table a mask of the rows to keep.

    * an answer or absence record dated in a school year in which the pupil is not in
      ``elever`` (``not_enrolled``) -- it has no school or grade to be counted under;
    * absence on a day that is not a school day of the pupil's school
      (``absence_not_school_day``): it would raise the absence percentage above what
      the school days allow.

    Run it on clean keys only (``load_all`` does so when there are no errors): on a broken
    elever or skoledage table every consequence would be reported once more.  Lookups are
    merges on the distinct (pupil, school year) and (school, day) pairs, not on every row.
    """
    elever = tables["elever"].dropna(subset=["elev_id", "skoleaar", "institutionsnummer"])
    enrolled = elever[["elev_id", "skoleaar", "institutionsnummer"]].drop_duplicates(["elev_id", "skoleaar"])
    known = pd.Index(elever["elev_id"].unique())
    keep: dict[str, np.ndarray] = {}
    for name in ("kortlaegning_svar", "fravaer"):
        f = tables.get(name)
        if f is None or f.empty:
            continue
        day_codes, days_seen = pd.factorize(f["dato"], use_na_sentinel=True)
        years_seen = _school_year_of(pd.Series(days_seen)).to_numpy(dtype=object)
        year_of_row = pd.Series(np.append(years_seen, None)[np.where(day_codes < 0, len(years_seen), day_codes)],
                                index=f.index)
        codes, pairs = _distinct_pairs(f["elev_id"], year_of_row)
        pairs = pairs.rename(columns={"a": "elev_id", "b": "skoleaar"}).astype({"elev_id": "str", "skoleaar": "str"})
        pairs = pairs.merge(enrolled, on=["elev_id", "skoleaar"], how="left")  # distinct keys: order and length kept
        pair_out = (pairs["institutionsnummer"].isna() & pairs["elev_id"].isin(known) & pairs["skoleaar"].notna())
        outside = pair_out.to_numpy()[codes]
        what = "besvarelsen" if name == "kortlaegning_svar" else "fraværet"
        report.add_rows("not_enrolled", files[name], rows[name][outside], "dato",
                        f.loc[outside, "dato"],
                        [f"en dato i et skoleår, hvor eleven står i elever ({what} i {y} tælles ikke med)"
                         for y in year_of_row[outside]])
        k = ~outside
        if name == "fravaer" and tables.get("skoledage") is not None:
            inst_codes, insts = pd.factorize(pairs["institutionsnummer"], use_na_sentinel=True)
            inst_of_row = inst_codes[codes]  # -1: not enrolled (reported above)
            days = tables["skoledage"][["institutionsnummer", "dato"]].dropna().drop_duplicates()
            days = days.astype({"institutionsnummer": "str", "dato": "datetime64[ns]"}).assign(_dag=True)
            nd = len(days_seen) + 1
            key_codes, keys = pd.factorize((inst_of_row.astype(np.int64) + 1) * nd + (day_codes + 1))
            key_inst, key_day = keys // nd - 1, keys % nd - 1
            lookup = pd.DataFrame({
                "institutionsnummer": pd.Series(np.asarray(insts, dtype=object)[np.clip(key_inst, 0, None)]
                                                if len(insts) else [None] * len(keys), dtype="str"),
                "dato": pd.Series(pd.Series(days_seen).to_numpy()[np.clip(key_day, 0, len(days_seen) - 1)]
                                  if len(days_seen) else [], dtype="datetime64[ns]")})
            is_day = lookup.merge(days, on=["institutionsnummer", "dato"], how="left")["_dag"].notna().to_numpy()
            valid_key = (key_inst >= 0) & (key_day >= 0)
            not_day = (~is_day & valid_key)[key_codes] & (inst_of_row >= 0) & (day_codes >= 0)
            inst_shown = np.asarray(insts, dtype=object)[inst_of_row[not_day]] if not_day.any() else []
            report.add_rows("absence_not_school_day", files[name], rows[name][not_day], "dato",
                            f.loc[not_day, "dato"],
                            [f"en skoledag for elevens skole {s} (rækken tælles ikke med)" for s in inst_shown])
            k &= ~not_day
        keep[name] = k
    return keep


#: A whole value that is a CPR number without its leading zero (Excel stored 0311091234 as a number).
CPR_LOST_ZERO_FULL = r"^[1-9](?:0[1-9]|1[0-2])\d{2}-?\d{4}$"
#: A whole value that is a CPR number (for numbers: the 10 digits of an integer).
CPR_FULL = r"^(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-?\d{4}$"
CPR_EXPECTED = ("ingen CPR-numre uden for elev_id (de pseudonymiseres kun dér); slet kolonnen eller værdien i "
                "udtrækket")
CPR_LOST_ZERO_EXPECTED = ("ingen CPR-numre uden for elev_id (et tal med 9 cifre er et CPR-nummer, hvor Excel har "
                          "fjernet det første 0); slet kolonnen eller værdien i udtrækket")


def _as_digits(v) -> str | None:
    """A number as the digits it was typed with (311091234.0 → '311091234'); text unchanged; else None."""
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if np.isfinite(v) and float(v).is_integer() and v >= 0 else None
    return v if isinstance(v, str) else None


def cpr_checks(frames: dict[str, tuple[str, pd.DataFrame, pd.Series]], report: Report) -> None:
    """A CPR-like value in any column but ``elev_id`` is an error, shown masked.

    ``frames``: table → (file, the frame as read, row numbers).  The values are scanned as the
    user typed them (so ``0102031234`` in a number column is caught before it becomes
    102031234), and so are numbers: an Excel number cell or a Parquet integer column holding
    a CPR number, with its 10 digits or with the leading zero Excel dropped (9 digits, e.g.
    311091234 for 031109-1234).  Text is searched for a CPR number anywhere in it, and is one
    when the whole value is such 9 digits.  Large columns are scanned by their distinct values.
    """
    parts = []
    for table, (file, frame, rows) in frames.items():
        if frame is None or frame.empty:
            continue
        for col in frame.columns:
            s = frame[col]
            if col == "elev_id" or s.dtype.kind in "bmMc":
                continue
            uniq = pd.Series(pd.unique(s.dropna()), dtype=object)
            digits = uniq.map(_as_digits)
            ok = digits.notna()
            parts.append(pd.DataFrame({"table": table, "col": col, "value": uniq[ok].to_numpy(),
                                       "text": digits[ok].astype(str).str.strip().to_numpy(),
                                       "number": ~uniq[ok].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)}))
    if not parts:
        return
    values = pd.concat(parts, ignore_index=True)  # one regex pass over every distinct value
    text = values["text"]
    full = text.str.fullmatch(CPR_FULL, na=False)
    lost_zero = text.str.fullmatch(CPR_LOST_ZERO_FULL, na=False)
    anywhere = ~values["number"] & text.str.contains(CPR_SEARCH, regex=True, na=False)
    values["lost_zero"] = lost_zero & ~full & ~anywhere
    hits = values[full | lost_zero | anywhere]
    for (table, col), group in hits.groupby(["table", "col"], sort=False):
        file, frame, rows = frames[table]
        s = frame[col]
        lost = set(group.loc[group["lost_zero"], "value"])
        bad = s.isin(list(group["value"])).to_numpy()
        expected = [CPR_LOST_ZERO_EXPECTED if v in lost else CPR_EXPECTED for v in s[bad]]
        report.add_rows("cpr_in_column", file, rows[bad], str(col), s[bad], expected)
