"""The pages a build makes, and one job per page that any worker can run.

Three kinds of page, each one parameterised notebook executed by papermill:

* a school report (``datapakke.ipynb`` → ``reports/<kommune>/<id>-<skole>.ipynb``, with its data
  package in ``<id>-<skole>_data/``);
* a municipality overview (``kommune.ipynb`` → ``reports/<kommune>/index.ipynb``, with its
  tables in ``index_data/``);
* the cross-municipality explorer (``explorer.ipynb`` → ``reports/udforsker/index.ipynb``, with
  its CSV tables in ``udforsker/udforsker_data``).

A ``Job`` carries everything a worker needs — the template's text, the parameters, every
path — so a local process and a Dask worker on another machine run it alike (``run``); it never
looks up where the package sits.  A failed page leaves no half-written output: the notebook
is written to a temp file that replaces the page only when execution succeeded, and the input
digest (``inputs.record``) is written only after that.
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import json
import os
import shutil
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import config, params as params_mod, store
from ..params import slug
from . import inputs

TEMPLATE = "datapakke.ipynb"
OVERVIEW_TEMPLATE = "kommune.ipynb"
EXPLORER_TEMPLATE = "explorer.ipynb"
#: The explorer's folder under reports/ (its CSV tables go in <folder>/<folder>_data beside the page).
EXPLORER_FOLDER = "udforsker"
PARAM_NAMES = ("school_id", "school_name", "municipality_code", "municipality", "school_year", "rounds", "goals")
#: A cell that runs longer than this (seconds) fails its page instead of hanging the build.
CELL_TIMEOUT = 900
#: Settings the kernel must see as the orchestrator does (they change the page text).
KERNEL_ENV = ("DATAPAKKE_MIN_SURVEY_N", "DATAPAKKE_MIN_OTHER_N")


@dataclass
class Outcome:
    school_id: str
    school_name: str
    municipality: str
    ok: bool
    path: Path | None = None
    error: str = ""
    #: False when the page was up to date and skipped.
    built: bool = True
    seconds: float = 0.0


@dataclass
class BuildSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    #: The municipality overviews and the explorer, reported apart from the schools.
    pages: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def page_failures(self) -> list[Outcome]:
        return [o for o in self.pages if not o.ok]

    @property
    def built(self) -> list[Outcome]:
        return [o for o in self.outcomes + self.pages if o.ok and o.built]

    @staticmethod
    def _count(outcomes: list[Outcome], noun: str, what: str = "") -> str:
        """"3 af 3 skoler bygget." — or, when some were up to date, how many were built and how many kept."""
        ok = [o for o in outcomes if o.ok]
        kept = len([o for o in ok if not o.built])
        what = f" {what}" if what else ""
        if not kept:
            return f"{len(ok)} af {len(outcomes)} {noun} bygget{what}."
        why = "uændrede siden sidst" if kept == len(ok) else f"{len(ok) - kept} bygget, {kept} uændrede siden sidst"
        return f"{len(ok)} af {len(outcomes)} {noun} klar{what} ({why})."

    def text(self) -> str:
        lines = [self._count(self.outcomes, "skoler")]
        if self.failures:
            lines.append(f"{len(self.failures)} fejlede:")
            lines += [f"  - {o.school_name} ({o.school_id}, {o.municipality}): {o.error}" for o in self.failures]
        if self.pages:
            lines.append(self._count(self.pages, "oversigtssider", "(kommuneoversigter og udforsker)"))
            lines += [f"  - {o.school_name}: {o.error}" for o in self.page_failures]
        return "\n".join(lines)


# --- which pages, where ----------------------------------------------------------------------------------
def report_path(reports: Path, p: dict) -> Path:
    """reports/<municipality-slug>/<institutionsnummer>-<school-slug>.ipynb"""
    return Path(reports) / slug(p["municipality"]) / f"{p['school_id']}-{slug(p['school_name'])}.ipynb"


def package_path(out: Path) -> Path:
    """The school's data package folder beside its report."""
    return out.parent / f"{out.stem}_data"


def overview_path(reports: Path, municipality: str) -> Path:
    """reports/<municipality-slug>/index.ipynb: the overview is the municipality's front page."""
    return Path(reports) / slug(municipality) / "index.ipynb"


def explorer_path(reports: Path) -> Path:
    return Path(reports) / EXPLORER_FOLDER / "index.ipynb"


def select(params_folder: Path, municipality: str | None = None, school: str | None = None,
           processed: Path | None = None, report=None) -> list[dict]:
    """Params of the schools to build: all, one municipality (name or code) or one school.

    A params file for a school that is not in the processed data is skipped with a
    ``params_unknown_school`` warning: into ``report`` (a validate.Report) when one is given,
    and always as a Python warning (shown on stderr by the CLI).  ``processed`` defaults to
    the data folder that belongs to ``params_folder``.
    """
    known = _schools_in_data(processed if processed is not None else _processed_for(params_folder))
    chosen = []
    for path in sorted(Path(params_folder).glob("*.yaml")):
        p = read_params(path)
        if school and p["school_id"] != str(school).zfill(6):
            continue
        if municipality and municipality.lower() not in (p["municipality"].lower(), p["municipality_code"],
                                                          slug(p["municipality"])):
            continue
        if known is not None and p["school_id"] not in known:
            _warn_unknown_school(path, p, report)
            continue
        chosen.append(p)
    return chosen


_params_cache: dict[Path, tuple[tuple[int, int], dict]] = {}


def read_params(path: Path) -> dict:
    """``params.read_params``, remembered while the file is unchanged (a build reads each file twice)."""
    st = Path(path).stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _params_cache.get(Path(path))
    if hit is None or hit[0] != stamp:
        hit = _params_cache[Path(path)] = (stamp, params_mod.read_params(path))
    return copy.deepcopy(hit[1])


def _processed_for(params_folder: Path) -> Path:
    """The processed folder next to a params folder: the project's, or ``<base>/processed``."""
    default = config.Paths.default()
    if Path(params_folder).resolve() == default.params:
        return default.processed
    return Path(params_folder).resolve().parent / "processed"


def _schools_in_data(processed: Path) -> set[str] | None:
    """Institution numbers in ``processed/current``; None when nothing is ingested yet."""
    path = Path(processed) / "current" / store.PUBLISHED / "schools.parquet"
    if not path.is_file():
        return None
    import pyarrow.parquet as pq  # noqa: PLC0415

    return {str(x) for x in pq.read_table(path, columns=["institutionsnummer"]).column(0).to_pylist()}


def _warn_unknown_school(path: Path, p: dict, report=None) -> None:
    from ..validate import Problem, Report  # noqa: PLC0415

    args = ("params_unknown_school", path.name, "-", "school_id", p["school_id"],
            f"en skole i de indlæste data; {p.get('school_name', '')} bygges ikke "
            "(slet filen, eller indlæs data med skolen og kør 'datapakke params')")
    if isinstance(report, Report):
        report.add(*args)
    warnings.warn(str(Problem(*args)), UserWarning, stacklevel=3)


def municipalities_of(schools: Iterable[dict]) -> list[tuple[str, str]]:
    """(code, name) of the municipalities the given schools' params belong to, in name order."""
    return sorted({(p["municipality_code"], p["municipality"]) for p in schools}, key=lambda x: x[1])


# --- one job per page ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One page to execute; picklable, self-contained (no path is looked up by the worker)."""

    kind: str  # "school" | "overview" | "explorer"
    key: str  # institutionsnummer, "kommune-<code>" or "udforsker"
    label: str
    municipality: str
    out: Path
    template: Path  # recorded in the notebook's metadata
    template_source: str  # the template itself, so a worker needs no copy of it
    parameters: dict
    title: str
    subtitle: str
    paths: config.Paths
    #: The input digest to store beside the output once it is written ("" stores none).
    digest: str = ""
    #: The school's params, for its data package (school pages only).
    school: dict | None = None
    env: tuple[tuple[str, str], ...] = ()

    def outcome(self, ok: bool, error: str = "", built: bool = True, seconds: float = 0.0) -> Outcome:
        return Outcome(self.key, self.label, self.municipality, ok, self.out if ok else None, error, built, seconds)


def _settings() -> tuple[tuple[str, str], ...]:
    return tuple((k, os.environ[k]) for k in KERNEL_ENV if k in os.environ)


def _source(template: Path) -> str:
    return Path(template).read_text(encoding="utf-8")


def school_job(p: dict, paths: config.Paths, template: Path | None = None, digest: str = "") -> Job:
    template = Path(template or paths.notebooks / TEMPLATE)
    parameters = {k: p[k] for k in PARAM_NAMES if k in p}
    parameters |= {"processed_dir": str(paths.processed), "site_root": "../"}
    return Job("school", p["school_id"], p["school_name"], p["municipality"], report_path(paths.reports, p),
               template, _source(template), parameters, p["school_name"],
               f'{p["municipality"]} Kommune · datapakke {p.get("school_year", "")}', paths, digest, dict(p),
               _settings())


def overview_job(municipality_code: str, municipality: str, paths: config.Paths, template: Path | None = None,
                 digest: str = "") -> Job:
    template = Path(template or paths.notebooks / OVERVIEW_TEMPLATE)
    out = overview_path(paths.reports, municipality)
    return Job("overview", f"kommune-{municipality_code}", f"Kommuneoversigt {municipality}", municipality, out,
               template, _source(template),
               {"municipality_code": str(municipality_code), "municipality": municipality,
                "processed_dir": str(paths.processed), "reports_dir": str(out.parent), "site_root": "../"},
               f"{municipality} Kommune", "Kommuneoversigt: alle skoler side om side", paths, digest, None,
               _settings())


def explorer_job(paths: config.Paths, template: Path | None = None, digest: str = "") -> Job:
    template = Path(template or paths.notebooks / EXPLORER_TEMPLATE)
    return Job("explorer", EXPLORER_FOLDER, "Udforsker", "alle", explorer_path(paths.reports), template,
               _source(template),
               {"processed_dir": str(paths.processed), "tables_dir": f"{EXPLORER_FOLDER}_data", "site_root": "../"},
               "Udforsker: skoler og kommuner", "Alle kommuner i data – til forskeren", paths, digest, None,
               _settings())


def _front_matter(nb, title: str, subtitle: str) -> None:
    """Give the notebook's Quarto front matter the page's title (valid YAML whatever the name)."""
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
            lines = [ln for ln in cell.source.splitlines() if not ln.startswith(("title:", "subtitle:"))]
            at = next(i for i, ln in enumerate(lines) if ln.strip() == "---") + 1
            lines[at:at] = [f"title: {json.dumps(title, ensure_ascii=False)}",
                            f"subtitle: {json.dumps(subtitle, ensure_ascii=False)}"]
            cell.source = "\n".join(lines)
            return


_writer: ThreadPoolExecutor | None = None


def _package_writer() -> ThreadPoolExecutor:
    """A thread that writes data packages while this worker's kernel executes the notebook."""
    global _writer
    if _writer is None:
        _writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="datapakke-datapakke")
    return _writer


def run(job: Job) -> Outcome:
    """Execute one page with papermill on this worker's warm kernel; never raises.

    A school's detail tables do not depend on the executed notebook, so they are written into
    a hidden staging folder at the same time (the kernel and this process work in parallel);
    the page's own tables are read from the executed notebook and added after it.  A school's
    or an overview's package and its page replace the old ones only when both succeeded.
    """
    import nbformat  # noqa: PLC0415 - workers only
    import papermill as pm  # noqa: PLC0415

    from .. import datapackage, pagetables  # noqa: PLC0415
    from . import engine  # noqa: PLC0415

    engine.register()  # the entry point names it too; this also works from a source checkout

    started = time.perf_counter()
    out = Path(job.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{out.stem}.", dir=out.parent)
    os.close(fd)
    store.plain_mode(Path(tmp))
    staged = details = None
    info = (datapackage.school_info(job.school) if job.kind == "school" else
            datapackage.overview_info(job.parameters["municipality_code"], job.parameters["municipality"])
            if job.kind == "overview" else None)
    if info is not None:
        staged = Path(tempfile.mkdtemp(prefix=f".{out.stem}_data.", dir=out.parent))
    if job.kind == "school":
        details = _package_writer().submit(
            lambda: datapackage.write_details(datapackage.school_details(job.school, job.paths), staged / "package", info))
    try:
        nb = nbformat.reads(job.template_source, as_version=4)
        _front_matter(nb, job.title, job.subtitle)
        nb = pm.execute_notebook(nb, None, parameters=job.parameters, engine_name=engine.NAME,
                                 request_save_on_cell_execute=False, kernel_name="python3", progress_bar=False,
                                 log_output=False, execution_timeout=CELL_TIMEOUT, kernel_cwd=str(out.parent),
                                 kernel_log_dir=str(job.paths.reports / inputs.STATE_DIR / "logs"),
                                 kernel_env=dict(job.env))
        nb.metadata.papermill["input_path"] = str(job.template)
        nb.metadata.papermill["output_path"] = str(out)
        nbformat.write(nb, tmp)
        if info is not None:
            resources = details.result() if details is not None else []  # raises the writer's own error
            datapackage.finish(staged / "package", pagetables.read_notebook(nb), info, resources)
            datapackage.replace_folder(staged / "package", package_path(out))
        os.replace(tmp, out)
        if job.digest:
            inputs.record(out, job.digest)
        return job.outcome(True, seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - one page's failure is reported, never fatal
        return job.outcome(False, _reason(exc), seconds=time.perf_counter() - started)
    finally:
        if details is not None:
            cf.wait([details])  # never delete a folder the writer is still writing
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        Path(tmp).unlink(missing_ok=True)


def _reason(exc: Exception) -> str:
    """A one-line reason: papermill's cell error name and message, not a traceback."""
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()[:300]
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last[:300]


# --- one page, here and now (tests, scripts) -----------------------------------------------------------
def execute_school(p: dict, paths: config.Paths, template: Path | None = None) -> Outcome:
    """Run the school template for one school in this process; the report appears only on success."""
    return run(school_job(p, paths, template))


def execute_overview(municipality_code: str, municipality: str, paths: config.Paths,
                     template: Path | None = None) -> Outcome:
    """The municipality overview (kommune.ipynb) into reports/<kommune>/index.ipynb."""
    return run(overview_job(municipality_code, municipality, paths, template))


def execute_explorer(paths: config.Paths, template: Path | None = None) -> Outcome:
    """The explorer over all municipalities (explorer.ipynb) into reports/udforsker/index.ipynb."""
    return run(explorer_job(paths, template))


def clean_reports(reports: Path) -> None:
    """Remove built output (not committed) before a full rebuild."""
    if Path(reports).exists():
        shutil.rmtree(reports)
