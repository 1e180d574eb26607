"""The ``datapakke`` command: one small command per pipeline stage, plus ``all``.

Data problems are printed as a report (file, row, column, value, expected) and exit with
code 2 — never a Python traceback.  A build lists every failed school and exits 1.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import build as build_mod, config, params as params_mod, privacy
from .validate import DataError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Datapakker for skoler: demodata, indlæsning, parametre, byg og udgiv.")
console = Console(stderr=False)
err = Console(stderr=True)


def _paths(base: Path | None) -> config.Paths:
    return config.Paths.under(base) if base else config.Paths.default()


BaseOpt = typer.Option(None, "--base", help="Brug <base>/raw, processed, params og reports i stedet for projektets mapper.")


@app.command()
def demo(base: Path | None = BaseOpt, seed: int = typer.Option(20240901, help="Seed for demodata.")) -> None:
    """Generate the synthetic demo data (all 13 programme municipalities) into data/raw."""
    from . import demo as demo_mod

    paths = _paths(base)
    t = time.time()
    s = demo_mod.generate(paths.raw, seed=seed)
    console.print(f"Demodata: {s.schools} skoler, {s.pupils} elever, {s.answers:,} svar, "
                  f"{s.absence_records:,} fraværsrækker → {s.folder} ({time.time() - t:.0f} s)")


@app.command()
def ingest(base: Path | None = BaseOpt,
           report_file: Path | None = typer.Option(None, help="Skriv valideringsrapporten hertil.")) -> None:
    """Validate, pseudonymise and aggregate data/raw into data/processed."""
    from . import ingest as ingest_mod

    paths = _paths(base)
    report_path = report_file or paths.processed / "valideringsrapport.txt"
    t = time.time()
    try:
        result = ingest_mod.ingest(paths.raw, paths.processed)
    except DataError as exc:
        exc.report.write(report_path)
        err.print(exc.report.text(), markup=False, highlight=False)
        err.print(f"\nIndlæsningen er stoppet; intet er skrevet. Rapporten er gemt i {report_path}", markup=False)
        raise typer.Exit(2) from None
    except privacy.KeyError_ as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    result.report.write(report_path)
    for w in result.report.warnings:
        err.print(str(w), markup=False, highlight=False)
    console.print(f"Indlæst til {result.version} ({time.time() - t:.0f} s); "
                  f"{len(result.report.warnings)} advarsler.")


@app.command()
def check(base: Path | None = BaseOpt,
          report_file: Path | None = typer.Option(None, help="Skriv valideringsrapporten hertil.")) -> None:
    """Validate data/raw and print every problem, without writing processed data (exit 2 on errors)."""
    from . import ingest as ingest_mod

    paths = _paths(base)
    report = ingest_mod.check(paths.raw)
    if report_file:
        report.write(report_file)
    err.print(report.text(), markup=False, highlight=False)
    if report.errors:
        raise typer.Exit(2)


@app.command()
def params(base: Path | None = BaseOpt) -> None:
    """Write one params YAML per school (keeps goals someone edited)."""
    from . import store

    paths = _paths(base)
    demo_data = store.is_demo(store.current(paths.processed))
    written = params_mod.write_params(paths.processed, paths.params, demo=demo_data)
    console.print(f"{len(written)} params-filer i {paths.params}")


@app.command("build")
def build_cmd(
    base: Path | None = BaseOpt,
    kommune: str | None = typer.Option(None, help="Kun én kommune (navn eller kode)."),
    skole: str | None = typer.Option(None, help="Kun én skole (institutionsnummer)."),
    workers: int = typer.Option(2, help="Antal skoler, der bygges samtidig."),
    oversigter: bool = typer.Option(True, "--oversigter/--ingen-oversigter",
                                    help="Byg også kommuneoversigten for de valgte skolers kommuner og udforskeren."),
) -> None:
    """Execute the school notebook for each selected school with papermill (and the overview pages)."""
    paths = _paths(base)
    schools = build_mod.select(paths.params, kommune, skole)
    if not schools:
        err.print(f"Ingen skoler matcher (kommune={kommune}, skole={skole}) i {paths.params}. "
                  "Kør 'datapakke params' først.", markup=False)
        raise typer.Exit(2)
    with Progress(TextColumn("[bold]Skoler"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console) as bar:
        task = bar.add_task("", total=len(schools))

        def tick(o: build_mod.Outcome) -> None:
            bar.update(task, advance=1, description=("✓ " if o.ok else "✗ ") + o.school_name)

        summary = build_mod.build(schools, paths, workers=workers, progress=tick)
    if oversigter:
        municipalities = build_mod.municipalities_of(schools)
        with Progress(TextColumn("[bold]Oversigter"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=len(municipalities) + 1)

            def tick_page(o: build_mod.Outcome) -> None:
                bar.update(task, advance=1, description=("✓ " if o.ok else "✗ ") + o.school_name)

            summary.pages = build_mod.build_pages(municipalities, paths, workers=workers, progress=tick_page)
    typer.echo(summary.text())
    if summary.failures or summary.page_failures:
        raise typer.Exit(1)


@app.command()
def publish(base: Path | None = BaseOpt,
            renderer: str = typer.Option("auto", help="auto (Quarto hvis installeret), quarto eller fallback.")) -> None:
    """Render reports/ as a website in reports/_site (Quarto, or the nbconvert fallback)."""
    from . import publish as publish_mod

    paths = _paths(base)
    try:
        site, used = publish_mod.publish(paths, "auto" if renderer == "auto" else renderer)
    except publish_mod.PublishRefused as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(3) from None
    console.print(f"Webstedet er udgivet med {used}: {site / 'index.html'}")


@app.command("all")
def all_cmd(
    base: Path | None = BaseOpt,
    kommune: str | None = typer.Option("Vesthimmerland", help="Kommune at bygge; 'alle' bygger alle 13."),
    workers: int = typer.Option(2, help="Antal skoler, der bygges samtidig."),
    with_demo: bool = typer.Option(False, "--demo", help="Generér demodata først."),
) -> None:
    """demo (optional) → ingest → params → build → publish, with one summary at the end."""
    if with_demo:
        demo(base=base, seed=20240901)
    ingest(base=base, report_file=None)
    params(base=base)
    failed = False
    try:
        build_cmd(base=base, kommune=None if kommune in (None, "", "alle") else kommune, skole=None, workers=workers,
                  oversigter=True)
    except typer.Exit as exc:
        if exc.exit_code != 1:
            raise
        failed = True  # publish the schools that did build; exit non-zero below
    publish(base=base, renderer="auto")
    if failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
