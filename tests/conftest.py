"""Shared fixtures: the committed fixture raw data, ingested once per test session."""
from __future__ import annotations

import shutil
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
