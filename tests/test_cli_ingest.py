"""`datapakke check` and `datapakke ingest` through the CLI: every ending is a report line or
"intern fejl" with a log, never a traceback, and the processed store is untouched on failure."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datapakke import ingest
from datapakke.cli import app

from .test_validation_catalogue import make_mini

LOCKED = ("[fejl] elever.csv: fandt 'ingen adgang til filen (den er låst af et andet program, fx Excel, eller du "
          "har ikke læseadgang)', forventede en fil, der kan læses: luk den i programmet, der har den åben, eller "
          "få læseadgang, og prøv igen")


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_mini(tmp_path_factory.mktemp("cli_mini") / "raw")


@pytest.fixture()
def base(mini, tmp_path) -> Path:
    shutil.copytree(mini, tmp_path / "raw")
    return tmp_path


def snapshot(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def invoke(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def lock(monkeypatch, name: str) -> None:
    """Reading ``name`` fails as it does for a file held open by Excel on a network share (we run as root here,
    so a chmod would not stop us)."""
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_locked_file_is_a_danish_error_with_exit_2(base, monkeypatch):
    lock(monkeypatch, "elever.csv")
    result = invoke("check", "--base", base)
    assert result.exit_code == 2
    assert LOCKED in result.output.splitlines()


def test_locked_file_stops_ingest_and_leaves_the_processed_store_alone(base, monkeypatch):
    assert invoke("ingest", "--base", base).exit_code == 0
    current = (base / "processed" / "current").resolve()
    before = snapshot(current)
    lock(monkeypatch, "elever.csv")
    result = invoke("ingest", "--base", base, "--report-file", base / "rapport.txt")
    assert result.exit_code == 2
    assert LOCKED in (base / "rapport.txt").read_text(encoding="utf-8").splitlines()
    assert (base / "processed" / "current").resolve() == current and snapshot(current) == before


def test_unreadable_raw_folder_names_it(base, monkeypatch):
    real = Path.iterdir

    def iterdir(self):
        if self.name == "raw":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)
    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = invoke("check", "--base", base)
    assert result.exit_code == 2
    assert f"[fejl] {base / 'raw'}: fandt 'ingen adgang til filen" in result.output


def test_unreadable_config_file_is_a_bad_config_error(base, monkeypatch):
    (base / "raw" / "kilder.yaml").write_text("elever: elever.csv\n", encoding="utf-8")
    real = Path.read_text

    def read_text(self, *a, **k):
        if self.name == "kilder.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)
    monkeypatch.setattr(Path, "read_text", read_text)
    report = ingest.check(base / "raw")
    assert [str(p) for p in report.errors] == [
        "[fejl] kilder.yaml: fandt 'ingen adgang til filen (den er låst af et andet program, fx Excel, eller du har "
        "ikke læseadgang)', forventede linjer som 'elever: elevliste.xlsx' eller 'elever: {fil: data.xlsx, ark: "
        "Elever}'"]


def test_a_bug_is_intern_fejl_with_a_log_and_no_pupil_values(base, monkeypatch):
    assert invoke("ingest", "--base", base).exit_code == 0
    current = (base / "processed" / "current").resolve()
    before = snapshot(current)

    name, cpr = "Anna Hansen", "0102031234"  # data values a message might quote

    def bug(*a, **k):
        raise RuntimeError(f"cannot convert {name!r} ({cpr})")
    monkeypatch.setattr(ingest, "load_all", bug)
    for command in ("check", "ingest"):
        result = invoke(command, "--base", base)
        assert result.exit_code == 1
        text = result.output
        assert f"Intern fejl i 'datapakke {command}' (RuntimeError): en fejl i programmet, ikke i dine data." in text
        log = Path(text.split("Detaljerne står i ")[1].split(" – send")[0])
        assert log.parent == base / "processed" / "logs"
        content = log.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" in content and "RuntimeError" in content and "in bug" in content
        assert "Anna" not in content and "0102031234" not in content
    assert (base / "processed" / "current").resolve() == current and snapshot(current) == before
