"""Execute the school notebook once per school with papermill, into ``reports/``.

Beside the schools, ``build_pages`` executes the municipality overview
(``notebooks/kommune.ipynb`` → ``reports/<kommune>/index.ipynb``) for each built municipality
and the cross-municipality explorer once (``notebooks/explorer.ipynb`` →
``reports/udforsker/index.ipynb``, with its CSV tables in ``udforsker/udforsker_data``), with
the same failure handling.

The list of schools is data (the params files).  One school's failure never stops the
others: each failure is recorded with its reason, the batch finishes, and the summary
lists them; the CLI then exits non-zero.  A failed school leaves no half-written report:
papermill writes to a temp file that only replaces the report when execution succeeded.
"""
from __future__ import annotations

import json
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
    #: The municipality overviews and the explorer (``build_pages``), reported apart from the schools.
    pages: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def page_failures(self) -> list[Outcome]:
        return [o for o in self.pages if not o.ok]

    def text(self) -> str:
        ok = len(self.outcomes) - len(self.failures)
        lines = [f"{ok} af {len(self.outcomes)} skoler bygget."]
        if self.failures:
            lines.append(f"{len(self.failures)} fejlede:")
            lines += [f"  - {o.school_name} ({o.school_id}, {o.municipality}): {o.error}" for o in self.failures]
        if self.pages:
            lines.append(f"{len(self.pages) - len(self.page_failures)} af {len(self.pages)} oversigtssider bygget "
                         "(kommuneoversigter og udforsker).")
            lines += [f"  - {o.school_name}: {o.error}" for o in self.page_failures]
        return "\n".join(lines)


def report_path(reports: Path, p: dict) -> Path:
    """reports/<municipality-slug>/<institutionsnummer>-<school-slug>.ipynb"""
    return Path(reports) / slug(p["municipality"]) / f"{p['school_id']}-{slug(p['school_name'])}.ipynb"


def select(params_folder: Path, municipality: str | None = None, school: str | None = None,
           processed: Path | None = None, report=None) -> list[dict]:
    """Params of the schools to build: all, one municipality (name or code) or one school.

    A params file for a school that is not in the processed data is skipped with a
    ``params_unknown_school`` warning (see ``_schools_in_data``).
    """
    # --- issue 5 (ingest/validation owner): params for schools not in the data ----------------
    # Warn and skip instead of failing the school's build.  The warning goes into ``report``
    # (a validate.Report) when one is given, and is always issued as a Python warning
    # (UserWarning, shown on stderr by the CLI).  ``processed`` defaults to the data folder
    # that belongs to ``params_folder`` (see ``_processed_for``).
    known = _schools_in_data(processed if processed is not None else _processed_for(params_folder))
    # --- end issue 5 --------------------------------------------------------------------------
    chosen = []
    for path in sorted(Path(params_folder).glob("*.yaml")):
        p = params_mod.read_params(path)
        if school and p["school_id"] != str(school).zfill(6):
            continue
        if municipality and municipality.lower() not in (p["municipality"].lower(), p["municipality_code"],
                                                          slug(p["municipality"])):
            continue
        if known is not None and p["school_id"] not in known:  # issue 5: skip, with a listed warning
            _warn_unknown_school(path, p, report)
            continue
        chosen.append(p)
    return chosen


# --- issue 5 helpers (ingest/validation owner) ------------------------------------------------
def _processed_for(params_folder: Path) -> Path:
    """The processed folder next to a params folder: the project's, or ``<base>/processed``."""
    default = config.Paths.default()
    if Path(params_folder).resolve() == default.params:
        return default.processed
    return Path(params_folder).resolve().parent / "processed"


def _schools_in_data(processed: Path) -> set[str] | None:
    """Institution numbers in ``processed/current``; None when nothing is ingested yet."""
    path = Path(processed) / "current" / "aggregates" / "schools.parquet"
    if not path.is_file():
        return None
    import pandas as pd  # noqa: PLC0415

    return set(pd.read_parquet(path, columns=["institutionsnummer"])["institutionsnummer"].astype(str))


def _warn_unknown_school(path: Path, p: dict, report=None) -> None:
    import warnings  # noqa: PLC0415

    from .validate import Problem, Report  # noqa: PLC0415

    args = ("params_unknown_school", path.name, "-", "school_id", p["school_id"],
            f"en skole i de indlæste data; {p.get('school_name', '')} bygges ikke "
            "(slet filen, eller indlæs data med skolen og kør 'datapakke params')")
    if isinstance(report, Report):
        report.add(*args)
    warnings.warn(str(Problem(*args)), UserWarning, stacklevel=3)
# --- end issue 5 helpers ----------------------------------------------------------------------


def _set_title(path: Path, p: dict) -> None:
    """Give the executed notebook's Quarto front matter the school's name as page title."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
            subtitle = f'{p["municipality"]} Kommune · datapakke {p.get("school_year", "")}'
            # JSON strings are valid YAML double-quoted scalars: names with quotes or colons stay valid
            cell.source = cell.source.replace('title: "Datapakke"', f"title: {json.dumps(p['school_name'], ensure_ascii=False)}\n"
                                              f"subtitle: {json.dumps(subtitle, ensure_ascii=False)}", 1)
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


# --- municipality overviews and the cross-municipality explorer ------------------------------------
OVERVIEW_TEMPLATE = "kommune.ipynb"
EXPLORER_TEMPLATE = "explorer.ipynb"
#: The explorer's folder under reports/ (its CSV tables go in <folder>/<folder>_data beside the page).
EXPLORER_FOLDER = "udforsker"


def overview_path(reports: Path, municipality: str) -> Path:
    """reports/<municipality-slug>/index.ipynb: the overview is the municipality's front page."""
    return Path(reports) / slug(municipality) / "index.ipynb"


def explorer_path(reports: Path) -> Path:
    return Path(reports) / EXPLORER_FOLDER / "index.ipynb"


def _execute_page(template: Path, out: Path, parameters: dict, title: str, subtitle: str) -> None:
    """papermill into a temp file beside ``out``; the page replaces ``out`` only if execution succeeded."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{out.stem}.", dir=out.parent)
    os.close(fd)
    try:
        pm.execute_notebook(str(template), tmp, parameters=parameters, kernel_name="python3",
                            progress_bar=False, cwd=str(out.parent), log_output=False)
        nb = nbformat.read(tmp, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
                lines = [ln for ln in cell.source.splitlines() if not ln.startswith(("title:", "subtitle:"))]
                lines.insert(1, f'title: "{title}"\nsubtitle: "{subtitle}"')
                cell.source = "\n".join(lines)
                break
        nbformat.write(nb, tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def execute_overview(municipality_code: str, municipality: str, paths: config.Paths,
                     template: Path | None = None) -> Outcome:
    """The municipality overview (notebooks/kommune.ipynb) into reports/<kommune>/index.ipynb."""
    out = overview_path(paths.reports, municipality)
    label = f"Kommuneoversigt {municipality}"
    try:
        _execute_page(template or paths.notebooks / OVERVIEW_TEMPLATE, out, {
            "municipality_code": str(municipality_code), "municipality": municipality,
            "processed_dir": str(paths.processed), "reports_dir": str(out.parent), "site_root": "../"},
            f"{municipality} Kommune", "Kommuneoversigt: alle skoler side om side")
        return Outcome(f"kommune-{municipality_code}", label, municipality, True, out)
    except Exception as exc:  # noqa: BLE001 - one page's failure is reported, never fatal
        return Outcome(f"kommune-{municipality_code}", label, municipality, False, None, _reason(exc))


def execute_explorer(paths: config.Paths, template: Path | None = None) -> Outcome:
    """The explorer over all municipalities (notebooks/explorer.ipynb) into reports/udforsker/index.ipynb."""
    out = explorer_path(paths.reports)
    try:
        _execute_page(template or paths.notebooks / EXPLORER_TEMPLATE, out, {
            "processed_dir": str(paths.processed), "tables_dir": f"{EXPLORER_FOLDER}_data", "site_root": "../"},
            "Udforsker: skoler og kommuner", "Alle kommuner i data – til forskeren")
        return Outcome(EXPLORER_FOLDER, "Udforsker", "alle", True, out)
    except Exception as exc:  # noqa: BLE001 - reported in the summary, never fatal
        return Outcome(EXPLORER_FOLDER, "Udforsker", "alle", False, None, _reason(exc))


def municipalities_of(schools: Iterable[dict]) -> list[tuple[str, str]]:
    """(code, name) of the municipalities the given schools' params belong to, in name order."""
    return sorted({(p["municipality_code"], p["municipality"]) for p in schools}, key=lambda x: x[1])


def _page_job(job: tuple) -> Outcome:
    kind, args = job
    return execute_explorer(*args) if kind == "explorer" else execute_overview(*args)


def build_pages(municipalities: Iterable[tuple[str, str]], paths: config.Paths, explorer: bool = True,
                workers: int = 2, progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Execute the overview of each given municipality and (once) the explorer; never stop early."""
    jobs = [("explorer", (paths,))] if explorer else []
    jobs += [("overview", (code, name, paths)) for code, name in municipalities]
    outcomes = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            outcomes.append(_page_job(job))
            if progress:
                progress(outcomes[-1])
        return outcomes
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_page_job, job): job for job in jobs}
        for f in as_completed(futures):
            kind, args = futures[f]
            try:
                o = f.result()
            except Exception as exc:  # noqa: BLE001 - a crashed worker is one failed page
                name = "Udforsker" if kind == "explorer" else f"Kommuneoversigt {args[1]}"
                o = Outcome(kind, name, "", False, None, _reason(exc))
            outcomes.append(o)
            if progress:
                progress(o)
    return sorted(outcomes, key=lambda o: (o.school_id != EXPLORER_FOLDER, o.school_name))


def clean_reports(reports: Path) -> None:
    """Remove built output (not committed) before a full rebuild."""
    if Path(reports).exists():
        shutil.rmtree(reports)
