"""The whole chain through the CLI, as `make demo` runs it (on a small demo subset)."""
from typer.testing import CliRunner

from datapakke import demo as demo_mod
from datapakke.cli import app


def test_all_with_demo_builds_and_publishes(tmp_path, monkeypatch):
    real = demo_mod.generate
    monkeypatch.setattr(demo_mod, "generate", lambda out, seed: real(out, seed=seed, school_ids=["861010", "861901", "793002", "265006", "265011"]))
    result = CliRunner().invoke(app, ["all", "--demo", "--base", str(tmp_path), "--workers", "1", "--kommune", "820"])
    assert result.exit_code == 0, result.output
    assert "3 af 3 skoler bygget." in result.output
    assert (tmp_path / "reports" / "_site" / "vesthimmerland" / "861010-aars-skole.html").is_file()


def test_data_error_exits_2_without_traceback(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "skoler.csv").write_text("institutionsnummer;skolenavn;kommunekode;kommune\n12;X;820;Y\n")
    result = CliRunner().invoke(app, ["ingest", "--base", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert (tmp_path / "processed" / "valideringsrapport.txt").is_file()


def test_check_reports_without_writing(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "skoler.csv").write_text("institutionsnummer;skolenavn;kommunekode;kommune\n12;X;820;Y\n")
    result = CliRunner().invoke(app, ["check", "--base", str(tmp_path), "--report-file", str(tmp_path / "r.txt")])
    assert result.exit_code == 2
    assert "skoler.csv" in (tmp_path / "r.txt").read_text(encoding="utf-8")
    assert not (tmp_path / "processed").exists()
