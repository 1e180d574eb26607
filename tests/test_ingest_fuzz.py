"""Damaged exports, generated: `datapakke check` and `datapakke ingest` always end with a report.

Property-based (hypothesis) and bounded: a fixed seed, a fixed number of examples, no example
database, so every run tries the same inputs and takes the same time.  Each example takes the
small clean raw folder of the validation catalogue (two schools) and damages it one to three
times the way files get damaged on their way from a school system, Excel or a network share:
truncated, overwritten with random bytes, saved in another encoding, headers shuffled or
repeated, stray separators, quotes and line breaks, one huge field, a column of wrong-typed
values, a table re-saved as Excel or Parquet with odd cell types, a table emptied or removed.

Through the CLI (typer's runner, in-process) the property is: exit 0 or 2, never a traceback
or an internal error, a "[fejl]" line whenever the exit is 2, and on exit 2 from ingest the
processed store's ``current`` version is exactly what it was.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from typer.testing import CliRunner

from datapakke import ingest
from datapakke.cli import app

from .test_validation_catalogue import make_mini

TABLE_FILES = ("skoler.csv", "elever.csv", "kortlaegning_svar.csv", "kortlaegning_spoergsmaal.csv", "fravaer.csv",
               "skoledage.csv", "nationale_tal.csv")
#: Values that are wrong somewhere: text in number columns, numbers in code columns, odd blanks, CPR-like
#: numbers, Excel's formulas and errors, very long and very strange strings.  (A NUL byte makes the whole
#: file binary, which ``random_bytes`` covers.)
WRONG = ["", " ", "x", "ÆØÅ æøå", "0", "-1", "7", "1e309", "nan", "NaN", "inf", "-0", "12345678901234567890",
         "3,5", "1.234,5", "1,234.5", "2024-13-45", "31-02-2024", "45200", "T9", "t1", "null", "None", "<NA>",
         "=1+1", "#DIV/0!", '"', ";", ",", "010203-1234", "0102031234", "311091234", "🙂", "a" * 500,
         "-", "ja", "TRUE", "1/2", "24/25", "2023/2025", "bh.kl.", "Sygefravær", "dreng", "K", "861010",
         "0861010", "61001", "\t", "\r\n", "'", "1 234", "½"]
ENCODINGS = ["utf-16-le", "utf-16-be", "utf-16", "utf-32", "cp1252", "latin-1", "mac_roman", "cp850", "utf-8-sig"]
EXAMPLES = 60
INGEST_EVERY = 4  # every fourth example also runs `datapakke ingest` on the damaged folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path]:
    """The clean raw folder and a processed store ingested from it (copied into each ingest example)."""
    base = tmp_path_factory.mktemp("fuzz")
    raw = make_mini(base / "raw")
    ingest.ingest(raw, base / "processed")
    return raw, base / "processed"


def _snapshot(version: Path) -> dict[str, str]:
    return {str(f.relative_to(version)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(version.rglob("*")) if f.is_file()}


# --- damages: each takes (raw folder, file name, data) and changes the file -------------------------
def truncate(raw: Path, name: str, data) -> None:
    b = (raw / name).read_bytes()
    (raw / name).write_bytes(b[: int(len(b) * data.draw(st.floats(0, 1), label="keep"))])


def random_bytes(raw: Path, name: str, data) -> None:
    b = bytearray((raw / name).read_bytes())
    junk = data.draw(st.binary(min_size=1, max_size=64), label="junk")
    if data.draw(st.booleans(), label="replace whole file"):
        (raw / name).write_bytes(bytes(junk) * data.draw(st.integers(1, 50), label="repeat"))
        return
    at = data.draw(st.integers(0, len(b)), label="at")
    (raw / name).write_bytes(bytes(b[:at]) + junk + bytes(b[at:]))


def reencode(raw: Path, name: str, data) -> None:
    text = (raw / name).read_text(encoding="utf-8")
    encoding = data.draw(st.sampled_from(ENCODINGS), label="encoding")
    (raw / name).write_bytes(text.encode(encoding, errors="replace"))


def shuffle_or_repeat_header(raw: Path, name: str, data) -> None:
    lines = (raw / name).read_text(encoding="utf-8").split("\n")
    header = lines[0].split(";")
    if data.draw(st.booleans(), label="repeat a name"):
        i, j = data.draw(st.integers(0, len(header) - 1)), data.draw(st.integers(0, len(header) - 1))
        header[i] = header[j]
    else:
        header = data.draw(st.permutations(header), label="order")
    lines[0] = ";".join(header)
    (raw / name).write_text("\n".join(lines), encoding="utf-8")


def stray_characters(raw: Path, name: str, data) -> None:
    text = (raw / name).read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 8), label="how many")):
        at = data.draw(st.integers(0, len(text)), label="at")
        text = text[:at] + data.draw(st.sampled_from(['"', ";", ",", "\t", "|", "\n", "\r", '""', "\n\n", "sep=,\n"]),
                                     label="char") + text[at:]
    (raw / name).write_text(text, encoding="utf-8")


def huge_field(raw: Path, name: str, data) -> None:
    f = pd.read_csv(raw / name, sep=";", dtype=str, keep_default_na=False)
    if f.empty:
        return
    col = data.draw(st.sampled_from(list(f.columns)), label="column")
    row = data.draw(st.integers(0, len(f) - 1), label="row")
    f[col] = f[col].astype(object)
    char = data.draw(st.sampled_from(["x", "1", ";", '"', "æ", "\n"]), label="char")
    f.loc[row, col] = char * 150_000  # over the csv module's 128 KiB field limit
    f.to_csv(raw / name, sep=";", index=False)


def wrong_types(raw: Path, name: str, data) -> None:
    """Every column (or one) gets some values of the wrong type."""
    f = pd.read_csv(raw / name, sep=";", dtype=str, keep_default_na=False)
    if f.empty:
        return
    every = data.draw(st.booleans(), label="every column")
    columns = list(f.columns) if every else [data.draw(st.sampled_from(list(f.columns)), label="column")]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="rng"))
    for col in columns:
        pool = np.array(WRONG, dtype=object)
        if rng.random() < 0.5:  # a few kinds of wrong, or all of them
            pool = rng.choice(pool, rng.integers(1, 5))
        share = rng.choice([0.01, 0.2, 1.0])
        hit = rng.random(len(f)) < share
        f[col] = f[col].astype(object)
        f.loc[hit, col] = rng.choice(pool, int(hit.sum()))
    f.to_csv(raw / name, sep=";", index=False)


def as_excel(raw: Path, name: str, data) -> None:
    """Re-saved in Excel: numbers become number cells, dates dates, a title row, some cells odd."""
    f = pd.read_csv(raw / name, sep=";", dtype=str, keep_default_na=False)
    if len(f) > 3000:
        f = f.iloc[:3000]  # keep the example fast; the missing rows are simply absent
    wb = Workbook()
    ws = wb.active
    if data.draw(st.booleans(), label="title row"):
        ws.append(["Udtræk fra elevadministrationen"])
    ws.append(list(f.columns))
    odd = data.draw(st.sampled_from([None, 0, 1.5, True, "", "=SUM(A1:A2)", dt.datetime(2024, 2, 28, 13, 5),
                                     dt.time(8, 15), 311091234]), label="odd cell")
    for i, r in enumerate(f.itertuples(index=False)):
        cells = [int(v) if v.isdigit() and len(v) < 15 else v for v in r]
        if i == 0:
            cells[0] = odd
        ws.append(cells)
    (raw / name).unlink()
    wb.save(raw / (Path(name).stem + ".xlsx"))


def as_parquet(raw: Path, name: str, data) -> None:
    """Written by another program: columns as numbers, floats, booleans, bytes, lists or dates."""
    f = pd.read_csv(raw / name, sep=";", dtype=str, keep_default_na=False)
    col = data.draw(st.sampled_from(list(f.columns)), label="column")
    kind = data.draw(st.sampled_from(["int", "float", "bool", "bytes", "list", "date", "str"]), label="kind")
    n = len(f)
    f[col] = {"int": lambda: np.arange(n, dtype="int64") * 123457,
              "float": lambda: np.linspace(-1, 1e10, n),
              "bool": lambda: np.arange(n) % 2 == 0,
              "bytes": lambda: [str(v).encode() for v in f[col]],
              "list": lambda: [[1, 2]] * n,
              "date": lambda: pd.date_range("2023-08-01", periods=n, freq="D"),
              "str": lambda: f[col]}[kind]()
    (raw / name).unlink()
    f.to_parquet(raw / (Path(name).stem + ".parquet"), index=False)


def empty_or_remove(raw: Path, name: str, data) -> None:
    how = data.draw(st.sampled_from(["zero bytes", "header only", "remove", "blank lines"]), label="how")
    text = (raw / name).read_text(encoding="utf-8")
    if how == "zero bytes":
        (raw / name).write_bytes(b"")
    elif how == "header only":
        (raw / name).write_text(text.split("\n")[0] + "\n", encoding="utf-8")
    elif how == "remove":
        (raw / name).unlink()
    else:
        (raw / name).write_text("\n\n;;;\n" + text, encoding="utf-8")


DAMAGES = [truncate, random_bytes, reencode, shuffle_or_repeat_header, stray_characters, huge_field, wrong_types,
           as_excel, as_parquet, empty_or_remove]
TEXT_ONLY = {reencode, shuffle_or_repeat_header, stray_characters, huge_field, wrong_types, as_excel, as_parquet,
             empty_or_remove}


def damage(raw: Path, data) -> list[str]:
    done = []
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        name = data.draw(st.sampled_from(TABLE_FILES), label="file")
        fn = data.draw(st.sampled_from(DAMAGES), label="damage")
        path = raw / name
        if not path.is_file():
            continue
        if fn in TEXT_ONLY:
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # already damaged into bytes: the text damages need text
            if fn in (huge_field, wrong_types, as_excel, as_parquet):
                try:
                    pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
                except Exception:  # noqa: BLE001 - already too damaged for pandas to re-save: skip
                    continue
        fn(raw, name, data)
        done.append(f"{fn.__name__}({name})")
    return done


def _errors_shown(output: str) -> bool:
    return any(line.startswith("[fejl]") for line in output.splitlines()) or "Mangler nøgle" in output


@seed(20240901)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_damaged_exports_end_in_a_report_never_a_traceback(clean, data):
    raw0, processed0 = clean
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        base = Path(tmp)
        shutil.copytree(raw0, base / "raw")
        done = damage(base / "raw", data)
        example = data.draw(st.integers(0, INGEST_EVERY - 1), label="command")
        command = "ingest" if example == 0 else "check"
        if command == "ingest":
            shutil.copytree(processed0, base / "processed", symlinks=True)
            link = (base / "processed" / "current").readlink()
            before = _snapshot((base / "processed" / "current").resolve())
        result = CliRunner().invoke(app, [command, "--base", str(base)])
        note = f"{command} after {', '.join(done) or 'no damage'}:\n{result.output[-3000:]}"
        assert result.exit_code in (0, 2), note
        assert result.exception is None or isinstance(result.exception, SystemExit), note
        assert "Traceback" not in result.output and "Intern fejl" not in result.output, note
        if result.exit_code == 2:
            assert _errors_shown(result.output), note
        if command == "ingest" and result.exit_code == 2:
            current = base / "processed" / "current"
            assert current.readlink() == link, note
            assert _snapshot(current.resolve()) == before, note


@pytest.mark.parametrize("name", TABLE_FILES)
def test_every_wrong_value_in_every_column(clean, tmp_path, name):
    """The exhaustive companion: each value of ``WRONG`` in each column of one table (cycled down the rows)."""
    raw0, _ = clean
    raw = shutil.copytree(raw0, tmp_path / "raw")
    f = pd.read_csv(raw / name, sep=";", dtype=str, keep_default_na=False)
    for k, col in enumerate(f.columns):
        f[col] = f[col].astype(object)
        n = min(len(f), len(WRONG))
        f.loc[f.index[:n], col] = [WRONG[(i + k) % len(WRONG)] for i in range(n)]
    f.to_csv(raw / name, sep=";", index=False)
    result = CliRunner().invoke(app, ["check", "--base", str(tmp_path)])
    assert result.exit_code == 2 and _errors_shown(result.output), result.output[-3000:]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output[-3000:]
    assert "Traceback" not in result.output and "Intern fejl" not in result.output
