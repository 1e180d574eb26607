"""Shared fixtures: the committed fixture raw data, ingested once per test session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datapakke import config, ingest, params

FIXTURE_RAW = Path(__file__).resolve().parent / "fixtures" / "raw"
AARS, TINY = "861010", "861901"


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> config.Paths:
    """Fixture raw → processed → params, under a session temp folder (never the project's data/)."""
    base = tmp_path_factory.mktemp("built")
    paths = config.Paths.under(base)
    shutil.copytree(FIXTURE_RAW, paths.raw)
    ingest.ingest(paths.raw, paths.processed)
    params.write_params(paths.processed, paths.params, demo=True)
    return paths


@pytest.fixture()
def raw_copy(tmp_path) -> Path:
    """A private, editable copy of the fixture raw folder (for bad-input tests)."""
    dst = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW, dst)
    return dst


def run_nbval_lax(files: list, cwd: Path) -> None:
    """Execute notebooks under nbval (lax: every cell must run) in a separate pytest; fail with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-q", *map(str, files)],
        capture_output=True, text=True, cwd=cwd, env=dict(os.environ), timeout=600,
    )
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail


#: Folders of test artefacts (screenshots, printed pages) written in this run, listed at the end.
ARTEFACT_FOLDERS: list[Path] = []


def pytest_terminal_summary(terminalreporter):
    for folder in ARTEFACT_FOLDERS:
        terminalreporter.write_line(f"Testartefakter (skærmbilleder, udskrift): {folder}")
