"""Validation: every problem in the raw exports, found in one run, told so a consultant can act.

A problem names the file, the row (as the user sees it: line in the CSV or row in Excel,
header = 1), the column, the value found and what was expected.  Errors stop the build,
warnings are reported and the build continues; which is which is decided per rule in
``RULES`` and documented in the README.

Column checks are pandera schemas evaluated lazily (all failures at once); cross-table
checks (unknown school, duplicate answers, …) are plain vectorised pandas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from . import config
from .privacy import mask_cpr

ERROR, WARNING = "fejl", "advarsel"

#: rule id → (severity, Danish description).  Documented in the README's validation table.
RULES: dict[str, tuple[str, str]] = {
    "missing_file": (ERROR, "en påkrævet tabel mangler"),
    "unreadable": (ERROR, "filen kan ikke læses"),
    "missing_column": (ERROR, "en påkrævet kolonne mangler"),
    "bad_value": (ERROR, "en værdi har forkert type eller format"),
    "out_of_range": (ERROR, "en værdi ligger uden for det tilladte"),
    "missing_value": (ERROR, "en påkrævet værdi er tom"),
    "duplicate": (ERROR, "en række findes to gange"),
    "unknown_school": (ERROR, "elev på en skole, der ikke er i skoler-tabellen"),
    "unknown_pupil": (ERROR, "besvarelse eller fravær for en ukendt elev"),
    "unknown_question": (ERROR, "besvarelse af et spørgsmål, der ikke er i kodebogen"),
    "two_schools": (ERROR, "samme elev på to skoler i samme skoleår"),
    "cpr_in_column": (ERROR, "CPR-lignende værdi i en kolonne, der ikke er elev_id"),
    "absence_not_school_day": (WARNING, "fravær på en dag, der ikke er skoledag (rækken tælles ikke med)"),
    "params_unknown_school": (WARNING, "params-fil for en skole, der ikke er i data (springes over)"),
    "empty_round": (WARNING, "en runde uden besvarelser på en skole"),
    "no_absence": (WARNING, "ingen fraværsdata for en kommune (vises som 'ikke indberettet', ikke som 0)"),
    "unknown_column": (WARNING, "ukendt kolonne ignoreres"),
}


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
        where = f"{self.file}, række {self.row}, kolonne '{self.column}'"
        return f"[{self.severity}] {where}: fandt {self.value!r}, forventede {self.expected}"


@dataclass
class Report:
    """Problems collected across files; ``raise_if_errors`` turns errors into one exception."""

    problems: list[Problem] = field(default_factory=list)
    max_per_rule_column: int = 20

    def add(self, rule: str, file: str, row, column: str, value, expected: str) -> None:
        self.problems.append(Problem(rule, file, row, column, mask_cpr(str(value)), expected))

    def add_rows(self, rule: str, file: str, rows: pd.Series, column: str, values: pd.Series, expected: str) -> None:
        """Add one problem per offending row, but at most ``max_per_rule_column`` plus a count."""
        rows, values = list(rows), list(values)
        for r, v in zip(rows[: self.max_per_rule_column], values[: self.max_per_rule_column]):
            self.add(rule, file, r, column, v, expected)
        if len(rows) > self.max_per_rule_column:
            self.add(rule, file, f"… og {len(rows) - self.max_per_rule_column} rækker mere", column, "", expected)

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


# --- column checks (pandera) ---------------------------------------------------------------
def _schema(columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


_text = lambda nullable=False: pa.Column(object, nullable=nullable, coerce=False)  # noqa: E731

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "skoler": _schema({
        "institutionsnummer": pa.Column(str, pa.Check.str_matches(r"^\d{6}$"), unique=True),
        "kommunekode": pa.Column(str, pa.Check.str_matches(r"^\d{3}$")),
    }),
    "elever": _schema({
        "klassetrin": pa.Column(float, pa.Check.in_range(0, 10), nullable=True),
        "koen": pa.Column(str, pa.Check.isin(["dreng", "pige"]), nullable=True),  # parse step reports blanks
        "skoleaar": pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{4}$")),
    }),
    "kortlaegning_svar": _schema({
        "runde": pa.Column(str, pa.Check.isin(list(config.ROUNDS))),
        "svar": pa.Column(float, pa.Check.isin([1.0, 2.0, 3.0, 4.0, 5.0]), nullable=True),
    }),
    "kortlaegning_spoergsmaal": _schema({
        "spoergsmaal_id": pa.Column(str, unique=True),
        "klassetrin_fra": pa.Column(float, pa.Check.in_range(0, 10), nullable=True, required=False),
    }),
    "fravaer": _schema({
        "fravaerstype": pa.Column(str, pa.Check.isin(list(config.ABSENCE_TYPES)), nullable=True),
        "omfang": pa.Column(float, [pa.Check.gt(0), pa.Check.le(1)]),
    }),
    "nationale_tal": _schema({
        "niveau": pa.Column(str, pa.Check.isin(["land", "kommune", "skole"])),
        "vaerdi": pa.Column(float, nullable=True),
    }),
}

EXPECTED_TEXT = {
    "institutionsnummer": "6 cifre (fx 861010)",
    "kommunekode": "3 cifre (fx 820)",
    "klassetrin": "et klassetrin 0–10",
    "koen": "dreng/pige (også M/K, D/P)",
    "skoleaar": "et skoleår som 2024/2025",
    "runde": "T1, T2 eller T3",
    "svar": "1–5 eller tom",
    "fravaerstype": "sygdom, lovligt eller ulovligt",
    "omfang": "en andel af en dag: 0 < omfang ≤ 1",
    "niveau": "land, kommune eller skole",
    "spoergsmaal_id": "et entydigt spørgsmåls-id",
    "klassetrin_fra": "et klassetrin 0–10",
}


def check_columns(table: str, frame: pd.DataFrame, file: str, row_of: pd.Series, report: Report) -> None:
    """Run the table's pandera schema lazily and turn its failure cases into Problems."""
    schema = SCHEMAS.get(table)
    if schema is None or frame.empty:
        return
    cols = [c for c in schema.columns if c in frame]
    sub = frame[cols].copy()
    for c in cols:
        dtype = schema.columns[c].dtype
        if dtype is not None and str(dtype) in ("str", "string"):
            sub[c] = sub[c].astype(object)
    schema = schema.select_columns(cols) if hasattr(schema, "select_columns") else schema
    try:
        schema.validate(sub, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            idx = group["index"].astype(int)
            rule = "duplicate" if "unique" in str(check) else (
                "missing_value" if "not_nullable" in str(check) else "out_of_range")
            values = group["failure_case"].map(_shown)
            report.add_rows(rule, file, row_of.loc[idx], str(column), values,
                            EXPECTED_TEXT.get(str(column), str(check)))


def _shown(value) -> str:
    """A failing value as the user typed it: 12, not 12.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- cross-table checks --------------------------------------------------------------------
def cross_checks(tables: dict[str, pd.DataFrame], files: dict[str, str], rows: dict[str, pd.Series], report: Report) -> None:
    """Referential and consistency rules across tables (all vectorised)."""
    skoler, elever = tables["skoler"], tables["elever"]
    svar, spm = tables["kortlaegning_svar"], tables["kortlaegning_spoergsmaal"]

    bad = ~elever["institutionsnummer"].isin(skoler["institutionsnummer"])
    report.add_rows("unknown_school", files["elever"], rows["elever"][bad], "institutionsnummer",
                    elever.loc[bad, "institutionsnummer"], "et institutionsnummer fra skoler-tabellen")

    dup = elever.duplicated(["elev_id", "skoleaar"], keep=False)
    two = elever[dup].groupby(["elev_id", "skoleaar"])["institutionsnummer"].transform("nunique") > 1
    two_idx = two[two].index
    report.add_rows("two_schools", files["elever"], rows["elever"][two_idx], "elev_id",
                    elever.loc[two_idx, "institutionsnummer"].radd("skole "),
                    "én skole pr. elev pr. skoleår")
    same = elever.duplicated(["elev_id", "skoleaar", "institutionsnummer"], keep="first")
    report.add_rows("duplicate", files["elever"], rows["elever"][same], "elev_id",
                    elever.loc[same, "skoleaar"], "én række pr. elev pr. skoleår")

    known_pupils = pd.Index(elever["elev_id"].unique())
    bad = ~svar["elev_id"].isin(known_pupils)
    report.add_rows("unknown_pupil", files["kortlaegning_svar"], rows["kortlaegning_svar"][bad], "elev_id",
                    pd.Series(["(elev-id skjult)"] * int(bad.sum())), "en elev fra elever-tabellen")
    bad = ~svar["spoergsmaal_id"].isin(spm["spoergsmaal_id"])
    report.add_rows("unknown_question", files["kortlaegning_svar"], rows["kortlaegning_svar"][bad],
                    "spoergsmaal_id", svar.loc[bad, "spoergsmaal_id"], "et spørgsmåls-id fra kodebogen")
    dup = svar.duplicated(["elev_id", "runde", "spoergsmaal_id"], keep="first")
    report.add_rows("duplicate", files["kortlaegning_svar"], rows["kortlaegning_svar"][dup], "spoergsmaal_id",
                    svar.loc[dup, "runde"] + " " + svar.loc[dup, "spoergsmaal_id"],
                    "ét svar pr. elev, runde og spørgsmål")

    fravaer = tables.get("fravaer")
    if fravaer is not None and not fravaer.empty:
        bad = ~fravaer["elev_id"].isin(known_pupils)
        report.add_rows("unknown_pupil", files["fravaer"], rows["fravaer"][bad], "elev_id",
                        pd.Series(["(elev-id skjult)"] * int(bad.sum())), "en elev fra elever-tabellen")

    for table, frame in tables.items():
        if frame is None or frame.empty:
            continue
        for col in frame.columns:
            if col == "elev_id" or frame[col].dtype.kind in "fiumMb":
                continue
            values = frame[col].astype(str)
            sample = values if len(values) < 200_000 else values.drop_duplicates()
            hit = sample.str.contains(r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)", regex=True, na=False)
            if hit.any():
                idx = sample[hit].index
                report.add_rows("cpr_in_column", files[table], rows[table].loc[idx], col, sample[hit],
                                "ingen CPR-numre uden for elev_id (de pseudonymiseres kun dér)")
