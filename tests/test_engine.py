"""The warm-kernel papermill engine: nothing leaks between notebooks, outputs equal a fresh kernel's."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from datapakke import build, config
from datapakke.build import engine, pages

from .conftest import AARS, TINY

#: A notebook that reports what it can see, then leaves traces everywhere a notebook can.
PROBE = [
    ("school_id = ''", ["parameters"]),
    ("import json, os, sys, random, warnings\n"
     "import numpy as np, pandas as pd, plotly.io as pio\n"
     "from datapakke import plots, config\n"
     "seen = {\n"
     "    'names': sorted(k for k in globals() if not k.startswith('_') and k not in "
     "{'In', 'Out', 'exit', 'quit', 'get_ipython', 'open'}),\n"
     "    'plots_state': dict(plots._state), 'config_dims': len(config.DIMENSIONS),\n"
     "    'max_rows': pd.get_option('display.max_rows'), 'env': os.environ.get('DP_PROBE'),\n"
     "    'cwd': os.getcwd(), 'template': pio.templates.default, 'path_probe': '/nowhere' in sys.path,\n"
     "    'counter': get_ipython().execution_count, 'has_probe_module': 'datapakke._probe_leak' in sys.modules,\n"
     "}\n"
     "print(json.dumps(seen, sort_keys=True))", []),
    ("globals()['defined_for_' + school_id] = 1\n"
     "plots._state['leak'] = school_id\n"
     "config.DIMENSIONS['leak'] = school_id\n"
     "pd.set_option('display.max_rows', 7)\n"
     "os.environ['DP_PROBE'] = school_id\n"
     "pio.templates.default = 'plotly_dark'\n"
     "sys.path.append('/nowhere')\n"
     "sys.modules['datapakke._probe_leak'] = sys\n"
     "np.random.seed(1)\n"
     "warnings.warn('vises hver gang')", []),
]


def _probe_template(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in PROBE:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def _seen(nb) -> dict:
    out = [o for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    return json.loads(out[0]["text"])


def _run(template, school_id, cwd, engine_name="datapakke"):
    kwargs = {"kernel_cwd": str(cwd)} if engine_name == "datapakke" else {"cwd": str(cwd)}
    return pm.execute_notebook(str(template), None, parameters={"school_id": school_id}, engine_name=engine_name,
                               progress_bar=False, request_save_on_cell_execute=False, **kwargs)


def test_nothing_leaks_from_one_notebook_into_the_next(tmp_path):
    template = _probe_template(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fresh = _seen(_run(template, "B", tmp_path / "b", engine_name="nbclient"))
    a = _run(template, "A", tmp_path / "a")
    b = _run(template, "B", tmp_path / "b")
    assert engine.kernel() is engine.kernel()  # one warm kernel, reused
    seen_b = _seen(b)
    assert "defined_for_A" not in seen_b["names"]
    assert "leak" not in seen_b["plots_state"] and seen_b["config_dims"] == len(config.DIMENSIONS)
    assert seen_b["max_rows"] == 60 and seen_b["env"] is None and seen_b["template"] == "plotly"
    assert not seen_b["path_probe"] and not seen_b["has_probe_module"]
    assert seen_b["cwd"] == str(tmp_path / "b") and _seen(a)["cwd"] == str(tmp_path / "a")
    assert seen_b == fresh  # the same view as a fresh kernel, execution counter included
    warned = [o for c in b.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert warned and "vises hver gang" in warned[0]["text"]  # "shown once" registries are reset too
    assert [c.execution_count for c in b.cells] == [c.execution_count for c in a.cells] == [1, 2, 3, 4]


def test_a_failing_notebook_leaves_the_kernel_usable(tmp_path):
    template = _probe_template(tmp_path)
    broken = nbformat.read(template, as_version=4)
    broken.cells.insert(2, nbformat.v4.new_code_cell("half_done = 1\nraise RuntimeError('med vilje')"))
    nbformat.write(broken, tmp_path / "broken.ipynb")
    with pytest.raises(pm.PapermillExecutionError, match="med vilje"):
        _run(tmp_path / "broken.ipynb", "A", tmp_path)
    assert "half_done" not in _seen(_run(template, "B", tmp_path))["names"]


def test_a_dead_kernel_is_replaced(tmp_path):
    template = _probe_template(tmp_path)
    dying = nbformat.read(template, as_version=4)
    dying.cells.insert(1, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    nbformat.write(dying, tmp_path / "dying.ipynb")
    before = engine.kernel()
    with pytest.raises(Exception):  # noqa: B017 - nbclient's DeadKernelError or papermill's wrapper
        _run(tmp_path / "dying.ipynb", "A", tmp_path)
    assert _seen(_run(template, "B", tmp_path)) == _seen(_run(template, "B", tmp_path, engine_name="nbclient"))
    assert engine.kernel() is not before


def _normalised(nb) -> list:
    """Cells as a reader sees them: source, outputs, execution counts.

    Memory addresses in plain-text reprs (``<Block at 0x7f…>``) differ between any two processes,
    fresh or warm, so they are masked; nothing else is.
    """
    cells = []
    for c in nb.cells:
        outputs = [{k: v for k, v in o.items() if k != "metadata"} for o in c.get("outputs", [])]
        text = re.sub(r" at 0x[0-9a-f]+>", " at 0x…>", json.dumps(outputs, sort_keys=True))
        cells.append((c.cell_type, c.source, c.get("execution_count"), text, sorted(c.metadata.get("tags", []))))
    return cells


def test_warm_outputs_equal_a_fresh_kernel(built, tmp_path):
    """The second school through the warm kernel gives the notebook a fresh kernel gives."""
    [aars] = build.select(built.params, school=AARS)
    [tiny] = build.select(built.params, school=TINY)
    paths = config.Paths(built.raw, built.processed, built.params, tmp_path / "reports", built.notebooks)
    warm = [pages.school_job(p, paths) for p in (aars, tiny)]
    for job in warm:
        assert pages.run(job).ok
    job = warm[1]
    nb = nbformat.reads(job.template_source, as_version=4)
    pages._front_matter(nb, job.title, job.subtitle)
    fresh = pm.execute_notebook(nb, None, parameters=job.parameters, engine_name="nbclient", progress_bar=False,
                                cwd=str(job.out.parent))
    warm_nb = nbformat.read(job.out, as_version=4)
    assert _normalised(warm_nb) == _normalised(fresh)
    assert warm_nb.metadata.papermill["output_path"] == str(job.out)
    assert warm_nb.metadata.papermill["input_path"] == str(job.template)


def test_papermill_command_line_runs_the_engine_quietly(built, tmp_path):
    """`papermill --engine datapakke` works, and the kernel's own messages never reach the terminal."""
    out = tmp_path / "aars.ipynb"
    papermill = Path(sys.executable).with_name("papermill")
    result = subprocess.run(
        [str(papermill), "--engine", "datapakke", str(built.notebooks / "datapakke.ipynb"), str(out),
         "-p", "school_id", AARS, "-p", "processed_dir", str(built.processed), "--no-progress-bar"],
        capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    html = "".join(o.get("data", {}).get("text/html", "") for c in nbformat.read(out, as_version=4).cells
                   for o in c.get("outputs", []))
    assert "492" in html and "516" in html
    for noise in ("Kernel is running over TCP", "KeyboardInterrupt", "Traceback"):
        assert noise not in result.stdout + result.stderr
