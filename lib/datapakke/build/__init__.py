"""Build the pages: one parameterised notebook per school, per municipality and one explorer.

``build_site`` is what ``datapakke build`` runs.  It

1. works out which pages are out of date (``inputs.py``: a digest of each page's data slice,
   params, template and software, stored beside the page) and skips the rest;
2. sends the others as self-contained jobs (``pages.Job``) to a runner (``runner.py``): this
   process, a pool of worker processes (default: one per core) or a Dask cluster — each
   worker executes its pages with papermill on one warm kernel (``engine.py``);
3. schedules the explorer first (the longest page), then the schools, and a municipality's
   overview as soon as its schools are done (the overview links to the reports that exist);
4. collects every outcome — one page's failure never stops the others — into a summary.

The list of schools is data (the params files).  ``build`` (schools only) and ``build_pages``
(overviews and explorer only) are the two halves, for scripts and tests.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import config
from . import inputs
from .pages import _reason
from .pages import (EXPLORER_FOLDER, EXPLORER_TEMPLATE, OVERVIEW_TEMPLATE, PARAM_NAMES, TEMPLATE, BuildSummary,
                    Job, Outcome, clean_reports, execute_explorer, execute_overview, execute_school,
                    explorer_job, explorer_path, municipalities_of, overview_job, overview_path, package_path,
                    read_params, report_path, school_job, select)
from .runner import cores

__all__ = [
    "EXPLORER_FOLDER", "EXPLORER_TEMPLATE", "OVERVIEW_TEMPLATE", "PARAM_NAMES", "TEMPLATE", "BuildSummary", "Job",
    "Outcome", "build", "build_pages", "build_site", "clean_reports", "cores", "execute_explorer",
    "execute_overview", "execute_school", "explorer_path", "municipalities_of", "overview_path", "report_path",
    "select",
]

Progress = Callable[[Outcome], None]


def _linked(folder: Path) -> list[str]:
    """The school reports in a municipality's folder (what its overview links to)."""
    return sorted(p.name for p in Path(folder).glob("*-*.ipynb") if not p.name.startswith("."))


def _remove_leftovers(reports: Path) -> None:
    """Temp notebooks and data-package staging folders left by an interrupted build (hidden, never read)."""
    for leftover in Path(reports).glob("*/.*"):
        if leftover.suffix == ".ipynb" and leftover.is_file():
            leftover.unlink(missing_ok=True)
        elif leftover.is_dir() and "_data." in leftover.name:
            shutil.rmtree(leftover, ignore_errors=True)


def _params_by_municipality(paths: config.Paths) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for path in sorted(Path(paths.params).glob("*.yaml")):
        try:
            p = read_params(path)
        except ValueError:
            continue  # select() reports a broken params file; here it only cannot count
        groups.setdefault(p["municipality_code"], []).append(p)
    return groups


def build_site(schools: Iterable[dict], paths: config.Paths, *, workers: int | None = None,
               overviews: bool | Iterable[tuple[str, str]] = True, explorer: bool = True, force: bool = False,
               scheduler: str | None = None, progress: Progress | None = None,
               on_plan: Callable[[int, int, int], None] | None = None) -> BuildSummary:
    """Build the out-of-date pages among the given schools, their overviews and the explorer.

    ``overviews``: True for the municipalities of ``schools``, False for none, or a list of
    (code, name).  ``workers``: processes on this machine (default: the cores); ``scheduler``:
    a Dask scheduler address instead.  ``on_plan(to_build, up_to_date)`` is called once the
    schools are sorted, before any page runs, with (pages at most, schools to build, schools up to
    date); ``progress(outcome)`` after each page, also for an overview found up to date.  Scripts
    that use worker processes must guard their entry point (``if __name__ == "__main__":``).
    """
    schools = list(schools)
    workers = workers or cores()
    municipalities = (municipalities_of(schools) if overviews is True else list(overviews) if overviews else [])
    inp = inputs.Inputs(paths)
    summary = BuildSummary()
    log_dir = paths.reports / inputs.STATE_DIR / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    _remove_leftovers(paths.reports)

    school_jobs: list[Job] = []
    for p in schools:
        out = report_path(paths.reports, p)
        template = paths.notebooks / TEMPLATE
        digest = inp.school(p, template)
        if not force and inputs.is_current(out, digest, also=[package_path(out)]):
            summary.outcomes.append(Outcome(p["school_id"], p["school_name"], p["municipality"], True, out,
                                            built=False))
        else:
            school_jobs.append(school_job(p, paths, template, digest))
    explorer_jobs: list[Job] = []
    if explorer:
        template = paths.notebooks / EXPLORER_TEMPLATE
        digest = inp.explorer(template)
        tables = explorer_path(paths.reports).parent / f"{EXPLORER_FOLDER}_data"
        if not force and inputs.is_current(explorer_path(paths.reports), digest, also=[tables]):
            summary.pages.append(Outcome(EXPLORER_FOLDER, "Udforsker", "alle", True, explorer_path(paths.reports),
                                         built=False))
        else:
            explorer_jobs.append(explorer_job(paths, template, digest))
    all_params = _params_by_municipality(paths) if municipalities else {}
    waiting = {code: {j.key for j in school_jobs if j.school["municipality_code"] == code}
               for code, _ in municipalities}
    names = dict(municipalities)
    if on_plan:
        on_plan(len(school_jobs) + len(explorer_jobs) + len(municipalities), len(school_jobs), len(summary.outcomes))

    def overview(code: str) -> Job | None:
        """The overview's job once its schools are done, or None (outcome recorded) when up to date."""
        template = paths.notebooks / OVERVIEW_TEMPLATE
        out = overview_path(paths.reports, names[code])
        digest = inp.overview(code, all_params.get(code, []), _linked(out.parent), template)
        if not force and inputs.is_current(out, digest, also=[package_path(out)]):
            o = Outcome(f"kommune-{code}", f"Kommuneoversigt {names[code]}", names[code], True, out, built=False)
            summary.pages.append(o)
            if progress:
                progress(o)
            return None
        return overview_job(code, names[code], paths, template, digest)

    env = dict(school_jobs[0].env if school_jobs else explorer_jobs[0].env if explorer_jobs else ())
    from .runner import runner  # noqa: PLC0415

    run = runner(workers, scheduler, str(log_dir), env) if (school_jobs or explorer_jobs or municipalities) else None
    pending: dict = {}

    def finished(job: Job, o: Outcome) -> None:
        (summary.outcomes if job.kind == "school" else summary.pages).append(o)
        if progress:
            progress(o)
        if job.kind == "school":
            code = job.school["municipality_code"]
            if code in waiting:
                waiting[code].discard(job.key)
                if not waiting[code]:
                    del waiting[code]
                    submit(overview(code))

    def submit(job: Job | None) -> None:
        if job is None:
            return
        try:
            pending[run.submit(job)] = job
        except Exception as exc:  # noqa: BLE001 - e.g. a broken pool: the page fails, the build goes on
            finished(job, job.outcome(False, _reason(exc)))

    try:
        for job in explorer_jobs + school_jobs:
            submit(job)
        for code in [c for c, left in waiting.items() if not left]:
            del waiting[code]
            submit(overview(code))
        while pending:
            done, _ = run.wait(set(pending))
            for f in done:
                job = pending.pop(f)
                try:
                    o = f.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker is one failed page
                    o = job.outcome(False, _reason(exc))
                finished(job, o)
    except BaseException:
        if run is not None:
            run.close(cancel=True)
        raise
    if run is not None:
        run.close()
    summary.outcomes.sort(key=lambda o: (o.municipality, o.school_name))
    summary.pages.sort(key=lambda o: (o.school_id != EXPLORER_FOLDER, o.school_name))
    return summary


def build(schools: Iterable[dict], paths: config.Paths, workers: int | None = None,
          progress: Progress | None = None, force: bool = False, scheduler: str | None = None) -> BuildSummary:
    """Execute every out-of-date school report; collect outcomes, never stop early."""
    return build_site(schools, paths, workers=workers, overviews=False, explorer=False, force=force,
                      scheduler=scheduler, progress=progress)


def build_pages(municipalities: Iterable[tuple[str, str]], paths: config.Paths, explorer: bool = True,
                workers: int | None = None, progress: Progress | None = None, force: bool = False,
                scheduler: str | None = None) -> list[Outcome]:
    """Execute the overview of each given municipality and (once) the explorer; never stop early."""
    return build_site([], paths, workers=workers, overviews=list(municipalities) or False, explorer=explorer,
                      force=force, scheduler=scheduler, progress=progress).pages


def default_workers() -> int:
    """Workers from ``DATAPAKKE_WORKERS`` or the project's config, else one per core."""
    value = os.environ.get("DATAPAKKE_WORKERS") or config.setting("workers")
    if not value:
        return cores()
    try:
        workers = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"antal workers skal være et helt tal; fandt {value!r}") from None
    if workers < 1:
        raise ValueError(f"antal workers skal være mindst 1; fandt {workers}")
    return workers
