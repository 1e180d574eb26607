"""Incremental builds: only pages whose inputs changed are rebuilt, re-rendered, re-ingested."""
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from datapakke import build, config, publish
from datapakke.build import inputs, sitestate
from datapakke.cli import app

from .conftest import AARS, TINY


@pytest.fixture(scope="module")
def project(built, tmp_path_factory):
    """Vesthimmerland's three fixture schools built once, with their own params and reports."""
    base = tmp_path_factory.mktemp("incremental")
    shutil.copytree(built.params, base / "params")
    paths = config.Paths(built.raw, built.processed, base / "params", base / "reports", built.notebooks)
    summary = build.build_site(build.select(paths.params, municipality="820"), paths, workers=1, explorer=False)
    assert not summary.failures and len(summary.built) == 4, summary.text()
    publish.publish(paths, renderer="fallback")
    return paths


def _build(paths, **kwargs):
    return build.build_site(build.select(paths.params, municipality="820"), paths, workers=1, explorer=False,
                            **kwargs)


def _built(summary) -> set[str]:
    return {o.school_id for o in summary.built}


def test_an_unchanged_build_builds_nothing(project):
    summary = _build(project)
    assert _built(summary) == set()
    assert "3 af 3 skoler klar (uændrede siden sidst)." in summary.text()


def test_one_school_params_change_rebuilds_that_school_and_its_overview(project):
    path = project.params / f"{AARS}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["goals"] = [{"dimension": "social_trivsel", "gruppe": "alle", "runde": "T3", "maal": 530}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    summary = _build(project)
    assert _built(summary) == {AARS, "kommune-820"}
    assert "3 af 3 skoler klar (1 bygget, 2 uændrede siden sidst)." in summary.text()
    stats = {}
    publish.publish(project, renderer="fallback", stats=stats)
    assert {k: stats[k] for k in ("rendered", "kept", "unchanged")} == {
        "rendered": 2, "kept": len(list(project.site.rglob("*.html"))) - 2, "unchanged": False}
    assert stats["audit"]["files"] > 0  # the publish gate read the tables back
    assert "530" in (project.site / "vesthimmerland" / f"{AARS}-aars-skole.html").read_text(encoding="utf-8")
    stats = {}
    publish.publish(project, renderer="fallback", stats=stats)
    assert stats["unchanged"] and stats["rendered"] == 0
    assert sitestate.is_current(project, "fallback")


def test_a_comment_in_the_params_file_changes_nothing(project):
    path = project.params / f"{TINY}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# en kommentar\n", encoding="utf-8")
    assert _built(_build(project)) == set()


def test_a_missing_output_or_data_package_is_rebuilt(project):
    [tiny] = build.select(project.params, school=TINY)
    shutil.rmtree(build.report_path(project.reports, tiny).parent / f"{TINY}-vestermarkskolen-aars_data")
    assert _built(_build(project)) == {TINY}
    shutil.rmtree(build.overview_path(project.reports, "Vesthimmerland").parent / "index_data")
    assert _built(_build(project)) == {"kommune-820"}


def test_force_rebuilds_everything(project):
    assert _built(_build(project, force=True)) == {AARS, TINY, "793002", "kommune-820"}


def test_a_template_change_rebuilds_every_page_of_that_template(project, tmp_path):
    shutil.copytree(project.notebooks, tmp_path / "notebooks")
    (tmp_path / "notebooks" / "kommune.ipynb").write_text(
        (project.notebooks / "kommune.ipynb").read_text(encoding="utf-8").replace("Kommuneoversigt", "Oversigt"),
        encoding="utf-8")
    changed = config.Paths(project.raw, project.processed, project.params, project.reports, tmp_path / "notebooks")
    assert _built(_build(changed)) == {"kommune-820"}


def test_a_school_digest_covers_its_municipality_and_the_programme_only(project):
    digests = inputs.Inputs(project)
    slices = digests.slices
    assert {"820", "265", inputs.SHARED} <= set(slices)
    [aars] = build.select(project.params, school=AARS)
    [roskilde] = build.select(project.params, municipality="265")[:1]
    assert digests.school_data(aars) != digests.school_data(roskilde)
    assert digests.school_data(aars) == digests.overview_data("820")


def test_ingest_is_skipped_while_the_raw_files_are_unchanged(built, tmp_path):
    paths = config.Paths.under(tmp_path)
    shutil.copytree(built.raw, paths.raw)
    shutil.copytree(built.processed, paths.processed, symlinks=True)
    assert not inputs.ingest_is_current(paths)  # no state yet
    inputs.record_ingest(paths)
    assert inputs.ingest_is_current(paths)
    skoler = paths.raw / "skoler.csv"
    skoler.write_text(skoler.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert not inputs.ingest_is_current(paths)


def test_a_second_all_skips_every_step(tmp_path):
    """`datapakke all` twice: the second run ingests nothing, builds nothing and leaves the site."""
    from .conftest import FIXTURE_RAW

    shutil.copytree(FIXTURE_RAW, tmp_path / "raw")
    args = ["all", "--base", str(tmp_path), "--workers", "1", "--kommune", "265"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 af 2 skoler bygget." in first.output
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "Rådata er uændrede siden sidste indlæsning" in second.output
    assert "2 af 2 skoler klar (uændrede siden sidst)." in second.output
    assert "Webstedet er uændret siden sidste udgivelse" in second.output
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "Indlæst til" in forced.output and "2 af 2 skoler bygget." in forced.output
