"""papermill per school, the CLI summary, and params that keep hand-written goals."""
import nbformat
import yaml
from typer.testing import CliRunner

from datapakke import build, config, params
from datapakke.cli import app

from .conftest import AARS, TINY


def test_papermill_executes_one_school(built):
    [p] = build.select(built.params, school=AARS)
    outcome = build.execute_school(p, built)
    assert outcome.ok, outcome.error
    nb = nbformat.read(outcome.path, as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    html = "\n".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "Syntetiske demodata" in html
    assert "492" in html and "516" in html
    assert 'title: "Aars Skole"' in nb.cells[0].source
    assert (outcome.path.parent / f"{outcome.path.stem}_data" / "datapackage.json").is_file()


def test_tiny_school_builds_with_suppression(built):
    [p] = build.select(built.params, school=TINY)
    outcome = build.execute_school(p, built)
    assert outcome.ok, outcome.error


def test_cli_lists_failing_school_and_finishes_the_others(built):
    """A hand-edited params file with a broken goal fails that school only; the summary names it."""
    path = built.params / "793002.yaml"
    original = path.read_text(encoding="utf-8")
    broken = yaml.safe_load(original)
    broken["goals"] = [{"dimension": "faglig_trivsel", "gruppe": "alle", "runde": "T2", "maal": "høj"}]
    path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    for old in (built.reports / "vesthimmerland").glob("793002*.ipynb"):  # another test may have built it
        old.unlink()
    try:
        result = CliRunner().invoke(app, ["build", "--base", str(built.raw.parent), "--kommune", "820", "--workers", "1",
                                          "--force"])
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.exit_code == 1, result.output
    assert "2 af 3 skoler bygget." in result.output
    assert ("Gedsted Skole (793002, Vesthimmerland): ValueError: params/793002.yaml, goals nr. 1: maal skal "
            "være et tal på 500-skalaen; fandt 'høj'") in result.output
    assert not list((built.reports / "vesthimmerland").glob("793002*.ipynb"))


def test_params_keep_edited_goals(built):
    path = built.params / f"{AARS}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["goals"][0]["maal"] == 510  # the demo's published goal
    data["goals"] = [{"dimension": "social_trivsel", "gruppe": "alle", "runde": "T3", "maal": 520}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    params.write_params(built.processed, built.params, demo=True)
    again = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert again["goals"] == data["goals"]
    assert again["school_name"] == "Aars Skole"


def test_check_site_validates_every_data_package(built):
    [p] = build.select(built.params, school=AARS)
    assert build.execute_school(p, built).ok
    result = CliRunner().invoke(app, ["check-site", "--base", str(built.raw.parent)])
    assert result.exit_code == 0, result.output
    assert "datapakker er gyldige." in result.output
    means = build.report_path(built.reports, p).parent / f"{AARS}-aars-skole_data" / "detaljer" / "survey_means.csv"
    original = means.read_text(encoding="utf-8")
    lines = original.splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[7], "ikke-et-tal", 1)  # the mean column: a number
    means.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        bad = CliRunner().invoke(app, ["check-site", "--base", str(built.raw.parent)])
    finally:
        means.write_text(original, encoding="utf-8")
    assert bad.exit_code == 2
    assert f"vesthimmerland/{AARS}-aars-skole_data: ugyldig datapakke" in bad.output


def test_workers_default_to_the_cores_unless_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("DATAPAKKE_WORKERS", raising=False)
    monkeypatch.setenv(config.HOME_ENV, str(tmp_path))
    assert build.default_workers() == build.cores()
    (tmp_path / config.PROJECT_FILE).write_text("workers: 5\nscheduler: tcp://vaert:8786\n", encoding="utf-8")
    assert build.default_workers() == 5 and config.setting("scheduler") == "tcp://vaert:8786"
    monkeypatch.setenv("DATAPAKKE_WORKERS", "3")
    assert build.default_workers() == 3
    assert config.Paths.default().reports == tmp_path / "reports"


def test_settings_that_cannot_be_used_are_a_clear_error(built, monkeypatch):
    monkeypatch.setenv("DATAPAKKE_WORKERS", "mange")
    result = CliRunner().invoke(app, ["build", "--base", str(built.raw.parent), "--skole", AARS])
    assert result.exit_code == 2
    assert ("Indstillingerne kan ikke bruges: antal workers skal være et helt tal; fandt 'mange'"
            in " ".join(result.output.split()))  # the console wraps long lines
