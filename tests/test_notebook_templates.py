"""The committed notebook templates are clean source: papermill executes them, never edits them."""
import nbformat
import pytest

from datapakke import config


@pytest.mark.parametrize("name", ["datapakke.ipynb", "kommune.ipynb", "explorer.ipynb"])
def test_template_is_clean_source(name):
    """No outputs, no injected parameters, one parameters cell, Quarto front matter first, no functions."""
    nb = nbformat.read(config.ROOT / "notebooks" / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tags = [t for c in code for t in c.metadata.get("tags", [])]
    assert tags.count("parameters") == 1 and "injected-parameters" not in tags
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---")
    assert all("def " not in c.source for c in code)
