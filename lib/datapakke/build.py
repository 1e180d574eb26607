"""Execute the school notebook once per school with papermill, into ``reports/``.

The list of schools is data (the params files).  One school's failure never stops the
others: each failure is recorded with its reason, the batch finishes, and the summary
lists them; the CLI then exits non-zero.  A failed school leaves no half-written report:
papermill writes to a temp file that only replaces the report when execution succeeded.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from . import config, params as params_mod
from .params import slug

TEMPLATE = "datapakke.ipynb"
PARAM_NAMES = ("school_id", "school_name", "municipality_code", "municipality", "school_year", "rounds", "goals")


@dataclass
class Outcome:
    school_id: str
    school_name: str
    municipality: str
    ok: bool
    path: Path | None = None
    error: str = ""


@dataclass
class BuildSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def text(self) -> str:
        ok = len(self.outcomes) - len(self.failures)
        lines = [f"{ok} af {len(self.outcomes)} skoler bygget."]
        if self.failures:
            lines.append(f"{len(self.failures)} fejlede:")
            lines += [f"  - {o.school_name} ({o.school_id}, {o.municipality}): {o.error}" for o in self.failures]
        return "\n".join(lines)


def report_path(reports: Path, p: dict) -> Path:
    """reports/<municipality-slug>/<institutionsnummer>-<school-slug>.ipynb"""
    return Path(reports) / slug(p["municipality"]) / f"{p['school_id']}-{slug(p['school_name'])}.ipynb"


def select(params_folder: Path, municipality: str | None = None, school: str | None = None) -> list[dict]:
    """Params of the schools to build: all, one municipality (name or code) or one school."""
    chosen = []
    for path in sorted(Path(params_folder).glob("*.yaml")):
        p = params_mod.read_params(path)
        if school and p["school_id"] != str(school).zfill(6):
            continue
        if municipality and municipality.lower() not in (p["municipality"].lower(), p["municipality_code"],
                                                          slug(p["municipality"])):
            continue
        chosen.append(p)
    return chosen


def _set_title(path: Path, p: dict) -> None:
    """Give the executed notebook's Quarto front matter the school's name as page title."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
            cell.source = cell.source.replace('title: "Datapakke"',
                                              f'title: "{p["school_name"]}"\nsubtitle: "{p["municipality"]} Kommune · '
                                              f'datapakke {p.get("school_year", "")}"', 1)
            break
    nbformat.write(nb, path)


def execute_school(p: dict, paths: config.Paths, template: Path | None = None) -> Outcome:
    """Run the template for one school; the report appears only if execution succeeded."""
    out = report_path(paths.reports, p)
    out.parent.mkdir(parents=True, exist_ok=True)
    template = template or paths.notebooks / TEMPLATE
    parameters = {k: p[k] for k in PARAM_NAMES if k in p}
    parameters["processed_dir"] = str(paths.processed)
    parameters["site_root"] = "../"
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{out.stem}.", dir=out.parent)
    os.close(fd)
    try:
        pm.execute_notebook(str(template), tmp, parameters=parameters, kernel_name="python3",
                            progress_bar=False, cwd=str(out.parent), log_output=False)
        _set_title(Path(tmp), p)
        from . import datapackage  # noqa: PLC0415 - heavy (frictionless); only needed here

        datapackage.write_school_package(p, paths, out.parent / f"{out.stem}_data")
        os.replace(tmp, out)
        return Outcome(p["school_id"], p["school_name"], p["municipality"], True, out)
    except Exception as exc:  # noqa: BLE001 - one school's failure is reported, never fatal
        Path(tmp).unlink(missing_ok=True)
        return Outcome(p["school_id"], p["school_name"], p["municipality"], False, None, _reason(exc))


def _reason(exc: Exception) -> str:
    """A one-line reason: papermill's cell error name and message, not a traceback."""
    if isinstance(exc, pm.PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()[:300]
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last[:300]


def build(schools: Iterable[dict], paths: config.Paths, workers: int = 2,
          progress: Callable[[Outcome], None] | None = None) -> BuildSummary:
    """Execute every school (in ``workers`` processes); collect outcomes, never stop early."""
    schools = list(schools)
    summary = BuildSummary()
    if workers <= 1 or len(schools) <= 1:
        for p in schools:
            o = execute_school(p, paths)
            summary.outcomes.append(o)
            if progress:
                progress(o)
        return summary
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(execute_school, p, paths): p for p in schools}
        for f in as_completed(futures):
            p = futures[f]
            try:
                o = f.result()
            except Exception as exc:  # noqa: BLE001 - a crashed worker is one failed school
                o = Outcome(p["school_id"], p["school_name"], p["municipality"], False, None, _reason(exc))
            summary.outcomes.append(o)
            if progress:
                progress(o)
    summary.outcomes.sort(key=lambda o: (o.municipality, o.school_name))
    return summary


def clean_reports(reports: Path) -> None:
    """Remove built output (not committed) before a full rebuild."""
    if Path(reports).exists():
        shutil.rmtree(reports)
