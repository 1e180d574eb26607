"""The same municipality built by a local pool of worker processes and by a Dask cluster."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from datapakke import build, config

distributed = pytest.importorskip("distributed")


def _page(path: Path) -> list:
    """What a reader gets from a page: every cell's source and outputs (no timings, paths or ids)."""
    nb = nbformat.read(path, as_version=4)
    # the injected parameters name each build's own reports folder; everything else must match
    return [(c.cell_type, "" if "injected-parameters" in c.metadata.get("tags", []) else c.source,
             c.get("execution_count"),
             re.sub(r" at 0x[0-9a-f]+>", " at 0x…>",  # memory addresses in reprs differ between any two processes
                    json.dumps([{k: v for k, v in o.items() if k != "metadata"} for o in c.get("outputs", [])],
                               sort_keys=True))) for c in nb.cells]


def _pages(reports: Path) -> dict:
    return {str(p.relative_to(reports)): _page(p) for p in sorted(reports.glob("*/*.ipynb")) if not p.name.startswith(".")}


def _tables(reports: Path) -> dict:
    return {str(p.relative_to(reports)): p.read_bytes() for p in sorted(reports.glob("*/*_data/*.csv"))}


@pytest.fixture(scope="module")
def pool_build(built, tmp_path_factory):
    """`datapakke build` as a user runs it: a pool of two worker processes, in a subprocess."""
    base = tmp_path_factory.mktemp("pool")
    env = dict(os.environ, DATAPAKKE_RAW=str(built.raw), DATAPAKKE_PROCESSED=str(built.processed),
               DATAPAKKE_PARAMS=str(built.params), DATAPAKKE_REPORTS=str(base / "reports"))
    datapakke = Path(sys.executable).with_name("datapakke")
    result = subprocess.run([str(datapakke), "build", "--kommune", "820", "--workers", "2"], capture_output=True,
                            text=True, env=env, cwd=base, timeout=600)
    return result, base / "reports"


def test_pool_build_prints_progress_and_summary_and_no_kernel_noise(pool_build):
    result, reports = pool_build
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "3 af 3 skoler bygget." in result.stdout
    assert "2 af 2 oversigtssider bygget" in result.stdout
    for noise in ("Kernel is running over TCP", "KeyboardInterrupt", "Traceback", "[IPKernelApp]"):
        assert noise not in result.stdout + result.stderr, noise
    assert len(list(reports.glob("vesthimmerland/*-*.ipynb"))) == 3


def test_dask_cluster_builds_the_same_pages_as_the_local_pool(built, pool_build, tmp_path):
    _, pool_reports = pool_build
    paths = config.Paths(built.raw, built.processed, built.params, tmp_path / "reports", built.notebooks)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        summary = build.build_site(build.select(paths.params, municipality="820"), paths,
                                   scheduler=cluster.scheduler_address, explorer=True)
    assert not summary.failures and not summary.page_failures, summary.text()
    assert len(summary.built) == 5
    assert _pages(paths.reports) == _pages(pool_reports)
    assert _tables(paths.reports) == _tables(pool_reports)
    assert sorted(p.name for p in (paths.reports / "udforsker" / "udforsker_data").iterdir()) == \
        sorted(p.name for p in (pool_reports / "udforsker" / "udforsker_data").iterdir())


def test_no_scheduler_at_the_address_is_a_clear_error(built, tmp_path):
    from typer.testing import CliRunner

    from datapakke.cli import app

    result = CliRunner().invoke(app, ["build", "--base", str(built.raw.parent), "--kommune", "820",
                                      "--scheduler", "tcp://127.0.0.1:9", "--force"])
    assert result.exit_code == 2
    assert "Kan ikke forbinde til Dask-scheduleren tcp://127.0.0.1:9" in result.output
