"""The ``datapakke`` command: one small command per pipeline stage, plus ``all``.

Data problems are printed as a report (file, row, column, value, expected) and exit with
code 2 — never a Python traceback.  ``check`` and ``ingest`` run inside one guard
(``_guard``): a file the system will not let us read or write is a Danish error line naming
it (exit 2); anything else is a bug in this program, reported as *intern fejl* with the path
of a log file holding the traceback (exit 1).  A build lists every failed school and exits 1.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import build as build_mod, config, params as params_mod, privacy, store

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Datapakker for skoler: demodata, indlæsning, parametre, byg og udgiv.")
console = Console(stderr=False)
err = Console(stderr=True)


def _paths(base: Path | None) -> config.Paths:
    return config.Paths.under(base) if base else config.Paths.default()


@contextmanager
def _guard(paths: config.Paths, command: str):
    """Every way ``check``/``ingest`` can end without a report becomes one clear line.

    An ``OSError`` (no permission, a locked file, a full disk, a vanished network share) names
    the file and exits 2; nothing has been written, as the processed store only switches to a
    complete new version.  Any other exception is a bug: *intern fejl*, the log's path, exit 1.
    """
    try:
        yield
    except typer.Exit:
        raise
    except OSError as exc:
        from .ingest.readers import io_problem

        found, expected = io_problem(exc)
        where = exc.filename or "(ukendt fil)"
        err.print(f"[fejl] {where}: fandt {found!r}, forventede {expected}", markup=False, highlight=False, soft_wrap=True)
        err.print(f"\n'datapakke {command}' er stoppet; intet er skrevet.", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        log = _write_log(paths, command, exc)
        err.print(f"Intern fejl i 'datapakke {command}' ({type(exc).__name__}): en fejl i programmet, ikke i dine "
                  f"data. Intet er skrevet til de behandlede data. Detaljerne står i {log} – send filen til "
                  "udviklerne.", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _write_log(paths: config.Paths, command: str, exc: BaseException) -> Path:
    """The traceback in ``<processed>/logs/`` (or the temp folder), with quoted values removed.

    Exception messages may quote data values (a pupil id, a name); the log keeps the code's
    path and the exception type, and replaces every quoted value and CPR-like number.
    """
    frames = "".join(traceback.format_tb(exc.__traceback__))
    message = privacy.mask_cpr_lenient(re.sub(r"(['\"]).*?\1", r"\1…\1", str(exc)))[:2000]
    text = (f"datapakke {command}: intern fejl {dt.datetime.now().isoformat(timespec='seconds')}\n"
            f"Traceback (most recent call last):\n{frames}{type(exc).__name__}: {message}\n")
    name = f"intern-fejl-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    for folder in (paths.processed / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return Path(tempfile.gettempdir()) / name  # pragma: no cover - nowhere to write


BaseOpt = typer.Option(None, "--base", help="Brug <base>/raw, processed, params og reports i stedet for projektets mapper.")


@app.command()
def demo(base: Path | None = BaseOpt, seed: int = typer.Option(20240901, help="Seed for demodata."),
         skala: str = typer.Option("demo", help="demo: programmets 13 kommuner; land: hele landet (98 kommuner, "
                                               "ca. 1.500 skoler, 570.000 elever pr. skoleår).")) -> None:
    """Generate the synthetic demo data (all 13 programme municipalities, or the whole country) into data/raw."""
    from . import demo as demo_mod

    if skala not in ("demo", "land"):
        err.print(f"--skala {skala}: forventede demo eller land.")
        raise typer.Exit(2)
    paths = _paths(base)
    t = time.time()
    s = (demo_mod.generate_national if skala == "land" else demo_mod.generate)(paths.raw, seed=seed)
    console.print(f"Demodata: {s.schools} skoler, {s.pupils} elever, {s.answers:,} svar, "
                  f"{s.absence_records:,} fraværsrækker → {s.folder} ({time.time() - t:.0f} s)")


@app.command()
def ingest(base: Path | None = BaseOpt,
           report_file: Path | None = typer.Option(None, help="Skriv valideringsrapporten hertil."),
           motor: str = typer.Option("auto", help="auto: store Parquet-tabeller (svar, fravær) læses i DuckDB uden "
                                                  "for hukommelsen; pandas: alt læses i pandas.")) -> None:
    """Validate, pseudonymise and aggregate data/raw into data/processed."""
    from . import ingest as ingest_mod
    from .validate import DataError  # here, not at the top: pandera is slow to import, most commands never need it

    paths = _paths(base)
    report_path = report_file or paths.processed / "valideringsrapport.txt"
    t = time.time()
    with _guard(paths, "ingest"):
        try:
            if motor not in ingest_mod.ENGINES:
                err.print(f"--motor {motor}: forventede {' eller '.join(ingest_mod.ENGINES)}.")
                raise typer.Exit(2)
            result = ingest_mod.ingest(paths.raw, paths.processed, engine=motor)
        except DataError as exc:
            exc.report.write(report_path)
            err.print(exc.report.text(), markup=False, highlight=False, soft_wrap=True)
            err.print(f"\nIndlæsningen er stoppet; intet er skrevet. Rapporten er gemt i {report_path}", markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except privacy.KeyError_ as exc:
            err.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        result.report.write(report_path)
    for w in result.report.warnings:
        err.print(str(w), markup=False, highlight=False, soft_wrap=True)
    console.print(f"Indlæst til {result.version} ({time.time() - t:.0f} s); "
                  f"{len(result.report.warnings)} advarsler.")
    console.print("Tid pr. trin: " + " · ".join(f"{stage} {seconds:.1f} s".replace(".", ",")
                                                 for stage, seconds in result.seconds.items()))


@app.command()
def check(base: Path | None = BaseOpt,
          report_file: Path | None = typer.Option(None, help="Skriv valideringsrapporten hertil.")) -> None:
    """Validate data/raw and print every problem, without writing processed data (exit 2 on errors)."""
    from . import ingest as ingest_mod

    paths = _paths(base)
    with _guard(paths, "check"):
        report = ingest_mod.check(paths.raw)
        if report_file:
            report.write(report_file)
    err.print(report.text(), markup=False, highlight=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(2)


@app.command()
def params(base: Path | None = BaseOpt) -> None:
    """Write one params YAML per school (keeps goals someone edited)."""

    paths = _paths(base)
    demo_data = store.is_demo(store.current(paths.processed))
    written = params_mod.write_params(paths.processed, paths.params, demo=demo_data)
    console.print(f"{len(written)} params-filer i {paths.params}")


WorkersOpt = typer.Option(None, "--workers", help="Sider, der bygges samtidig på denne maskine "
                          "(standard: DATAPAKKE_WORKERS, 'workers' i datapakke.yaml, ellers én pr. kerne).")
ForceOpt = typer.Option(False, "--force", help="Byg alt igen, også det, der er uændret siden sidst.")
SchedulerOpt = typer.Option(None, "--scheduler", help="Byg på en Dask-klynge, fx tcp://vært:8786 "
                            "(standard: DATAPAKKE_SCHEDULER eller 'scheduler' i datapakke.yaml).")


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _scheduler(value: str | None) -> str | None:
    return value or os.environ.get("DATAPAKKE_SCHEDULER") or config.setting("scheduler") or None


@app.command("build")
def build_cmd(
    base: Path | None = BaseOpt,
    kommune: str | None = typer.Option(None, help="Kun én kommune (navn eller kode)."),
    skole: str | None = typer.Option(None, help="Kun én skole (institutionsnummer)."),
    workers: int | None = WorkersOpt,
    oversigter: bool = typer.Option(True, "--oversigter/--ingen-oversigter",
                                    help="Byg også kommuneoversigten for de valgte skolers kommuner og udforskeren."),
    force: bool = ForceOpt,
    scheduler: str | None = SchedulerOpt,
) -> None:
    """Execute the notebook of each selected school (and the overview pages) with papermill; only what changed."""
    paths = _paths(base)
    schools = build_mod.select(paths.params, kommune, skole)
    if not schools:
        err.print(f"Ingen skoler matcher (kommune={kommune}, skole={skole}) i {paths.params}. "
                  "Kør 'datapakke params' først.", markup=False)
        raise typer.Exit(2)
    try:
        scheduler = _scheduler(scheduler)
        workers = workers or build_mod.default_workers()
    except ValueError as exc:  # a broken datapakke.yaml, or DATAPAKKE_WORKERS that is no number
        err.print(f"Indstillingerne kan ikke bruges: {exc}", markup=False)
        raise typer.Exit(2) from None
    where = f"på Dask-klyngen {scheduler}" if scheduler else f"med {workers} {'proces' if workers == 1 else 'processer'}"
    with Progress(TextColumn("[bold]Sider"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as bar:
        task = bar.add_task("", total=None)

        def plan(pages: int, to_build: int, up_to_date: int) -> None:
            bar.update(task, total=pages)
            note = f" ({up_to_date} uændrede siden sidst)" if up_to_date else ""
            then = ", derefter de ændrede oversigtssider" if oversigter else ""
            bar.console.print(f"Bygger {_n(to_build, 'skole', 'skoler')} {where}{note}{then}.",
                              markup=False, highlight=False)

        def tick(o: build_mod.Outcome) -> None:
            mark = "✗ " if not o.ok else "✓ " if o.built else "= "
            bar.update(task, advance=1, description=mark + o.school_name)

        try:
            summary = build_mod.build_site(schools, paths, workers=workers, overviews=oversigter, explorer=oversigter,
                                           force=force, scheduler=scheduler, progress=tick, on_plan=plan)
        except KeyboardInterrupt:
            bar.stop()
            err.print("Afbrudt. Sider, der var færdige, er gemt; de øvrige bygges ved næste kørsel.", markup=False)
            raise typer.Exit(130) from None
        except (RuntimeError, FileNotFoundError) as exc:  # no Dask scheduler at the address; nothing ingested
            bar.stop()
            err.print(str(exc), markup=False)
            raise typer.Exit(2) from None
    typer.echo(summary.text())
    from .publication import loss_text

    if loss := loss_text(store.current(paths.processed)):
        typer.echo(loss)
    if summary.failures or summary.page_failures:
        raise typer.Exit(1)


@app.command()
def publish(base: Path | None = BaseOpt,
            renderer: str = typer.Option("auto", help="auto (Quarto hvis installeret), quarto eller fallback."),
            force: bool = typer.Option(False, "--force", help="Gengiv alle sider, også de uændrede.")) -> None:
    """Render reports/ as a website in reports/_site (Quarto, or the nbconvert fallback); only what changed."""
    import shutil

    from .build import sitestate

    paths = _paths(base)
    chosen = "quarto" if renderer == "quarto" or (renderer == "auto" and shutil.which("quarto")) else "fallback"
    if not force and sitestate.is_current(paths, chosen):  # decided from file stats, before any notebook is read
        console.print(f"Webstedet er uændret siden sidste udgivelse: {paths.site / 'index.html'}")
        return
    from . import publish as publish_mod

    stats: dict = {}
    try:
        site, used = publish_mod.publish(paths, "auto" if renderer == "auto" else renderer, force=force, stats=stats)
    except publish_mod.PublishRefused as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(3) from None
    except FileNotFoundError as exc:  # nothing ingested yet
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    if stats.get("unchanged"):
        console.print(f"Webstedet er uændret siden sidste udgivelse: {site / 'index.html'}")
    elif stats:
        console.print(f"Webstedet er udgivet med {used} ({_n(stats['rendered'], 'side', 'sider')} gengivet, "
                      f"{stats['kept']} uændrede): {site / 'index.html'}")
        if audit := stats.get("audit"):
            console.print(f"Revision: {_n(audit['files'], 'tabelfil', 'tabelfiler')} læst tilbage, "
                          f"{audit.get('cells_seen', 0)} viste celler; ingen beskyttet celle kan ses eller regnes ud.")
    else:
        console.print(f"Webstedet er udgivet med {used}: {site / 'index.html'}")


@app.command("check-site")
def check_site(base: Path | None = BaseOpt) -> None:
    """Validate every data package in reports/ (schools and overviews) with the frictionless library (exit 2 on errors)."""
    from . import datapackage

    paths = _paths(base)
    folders = sorted(p.parent for p in paths.reports.glob("*/*_data/datapackage.json"))
    if not folders:
        err.print(f"Ingen datapakker i {paths.reports}. Kør 'datapakke build' først.", markup=False)
        raise typer.Exit(2)
    bad = 0
    for folder in folders:
        problems = datapackage.validate_package(folder)
        if problems:
            bad += 1
            err.print(f"{folder.relative_to(paths.reports)}: ugyldig datapakke", markup=False)
            for line in problems[:5]:
                err.print(f"  - {line}", markup=False, highlight=False)
    console.print(f"{len(folders) - bad} af {len(folders)} datapakker er gyldige.")
    if bad:
        raise typer.Exit(2)


def _params_complete(paths: config.Paths) -> bool:
    """Every school in the processed data has a params file newer than the data (nothing to regenerate)."""
    import pyarrow.parquet as pq

    try:
        version = Path(os.path.realpath(paths.processed / "current"))
        ids = pq.read_table(store.published(version) / "schools.parquet", columns=["institutionsnummer"]).column(0)
        data_time = (store.published(version) / "schools.parquet").stat().st_mtime
        return all((paths.params / f"{i}.yaml").stat().st_mtime >= data_time for i in ids.to_pylist())
    except OSError:
        return False


@app.command("all")
def all_cmd(
    base: Path | None = BaseOpt,
    kommune: str | None = typer.Option("Vesthimmerland", help="Kommune at bygge; 'alle' bygger alle 13."),
    workers: int | None = WorkersOpt,
    with_demo: bool = typer.Option(False, "--demo", help="Generér demodata først."),
    force: bool = typer.Option(False, "--force", help="Indlæs, byg og gengiv alt igen, også det uændrede."),
    scheduler: str | None = SchedulerOpt,
) -> None:
    """demo (optional) → ingest → params → build → publish; each step skips what has not changed."""
    from .build import inputs

    if with_demo:
        demo(base=base, seed=20240901, skala="demo")
    paths = _paths(base)
    if not force and inputs.ingest_is_current(paths):
        console.print("Rådata er uændrede siden sidste indlæsning; indlæsningen springes over.")
    else:
        ingest(base=base, report_file=None, motor="auto")
        inputs.record_ingest(paths)
    if not _params_complete(paths):
        params(base=base)
    failed = False
    try:
        build_cmd(base=base, kommune=None if kommune in (None, "", "alle") else kommune, skole=None, workers=workers,
                  oversigter=True, force=force, scheduler=scheduler)
    except typer.Exit as exc:
        if exc.exit_code != 1:
            raise
        failed = True  # publish the schools that did build; exit non-zero below
    publish(base=base, renderer="auto", force=force)
    if failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
