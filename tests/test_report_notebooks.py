"""The report notebook under nbval (lax) for two contrasting schools.

papermill writes parameterised (not executed) copies of the template for a large school
(Aars Skole) and a tiny one where most cells are suppressed; nbval then executes every
cell of each and fails on any error.
"""

import papermill as pm

from datapakke import build, config

from .conftest import AARS, TINY, run_nbval_lax


def test_report_notebook_runs_under_nbval_for_two_schools(built, tmp_path):
    files = []
    for school in (AARS, TINY):
        [p] = build.select(built.params, school=school)
        parameters = {k: p[k] for k in build.PARAM_NAMES}
        parameters["processed_dir"] = str(built.processed)
        out = tmp_path / f"report-{school}.ipynb"
        pm.execute_notebook(str(config.ROOT / "notebooks" / "datapakke.ipynb"), str(out),
                            parameters=parameters, prepare_only=True)
        files.append(str(out))
    run_nbval_lax(files, tmp_path)
