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


def assert_figures_are_accessible(page: str, count: int | None = None) -> None:
    """Every figure on a page: a text alternative that is not just its title, a link to a table that is
    on the page, and no plotly menu or slider (filters are native selects with a label)."""
    import re  # noqa: PLC0415

    figures = re.findall(r'<figure class="dp-figure"[^>]*>.*?</figure>', page, re.DOTALL)
    if count is not None:
        assert len(figures) == count, len(figures)
    for f in figures:
        head = f[:f.index(">") + 1]
        assert "aria-describedby" in head, head
        alt = re.search(r'<span class="dp-figure-alt"[^>]*>(.*?)</span>', f).group(1)
        assert re.search(r"\d", alt), f"the text alternative states no number: {alt}"
        link = re.search(r'<a class="dp-figure-data" href="#([^"]+)"', f)
        assert link, head
        assert f'id="{link.group(1)}"' in page, f"#{link.group(1)} is not on the page"
    assert '"updatemenus"' not in page and '"sliders"' not in page
    for select in re.findall(r'<select id="([^"]+)"', page):
        assert f'<label for="{select}">' in page, select


def assert_heatmap_labels_readable(fig) -> int:
    """Every heat-map cell's label contrasts at least 4,5:1 with the cell it is drawn on; the labels checked."""
    from datapakke import plots  # noqa: PLC0415

    checked = 0
    traces = list(fig.data)
    for heat, labels in zip(traces, traces[1:]):
        if heat.type != "heatmap":
            continue
        assert heat.texttemplate is None, "plotly would draw the labels in one colour"
        assert labels.type == "scatter" and labels.mode == "text"
        cells = {(x, y): v for y, row in zip(heat.y, heat.z) for x, v in zip(heat.x, row)}
        for x, y, colour in zip(labels.x, labels.y, labels.textfont.color):
            v = cells[(x, y)]
            fill = "#ffffff" if v is None else plots.colour_at(heat.colorscale, (v - heat.zmin) / (heat.zmax - heat.zmin))
            assert plots.contrast(fill, colour) >= 4.5, (x, y, fill, colour)
            checked += 1
    return checked


#: Folders of test artefacts (screenshots, printed pages) written in this run, listed at the end.
ARTEFACT_FOLDERS: list[Path] = []


def pytest_terminal_summary(terminalreporter):
    for folder in ARTEFACT_FOLDERS:
        terminalreporter.write_line(f"Testartefakter (skærmbilleder, udskrift): {folder}")
