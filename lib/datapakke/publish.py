"""Publish the executed notebooks as a website: Quarto when installed, else an nbconvert fallback.

Both renderers work on the same Quarto project folder (``reports/``): the committed
``notebooks/_quarto.yml`` and ``notebooks/assets/``, the executed school notebooks and the
generated index pages (notebooks of markdown cells, so both renderers treat every page
alike).  Both write ``reports/_site`` with the same paths:

    index.html → <kommune>/index.html → <kommune>/<institutionsnummer>-<skole>.html
               → udforsker/index.html

``<kommune>/index`` is the executed municipality overview when the build made one
(``build.build_pages``), else a generated list of the schools; ``udforsker`` is the
cross-municipality explorer, linked from the index when it was built.

plotly.js is copied once to ``assets/plotly.min.js``; pages load it from there (offline).
Before the site goes live the build scans it for pupil identifiers and refuses to publish
a violation (DOMAIN.md §5).
"""
from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import plotly
import yaml

from . import config, fmt, privacy, store
from .params import slug

SITE = "_site"


class PrivacyViolation(RuntimeError):
    """The built site contains something that looks like a pupil identifier."""


@dataclass(frozen=True)
class PageInfo:
    path: Path  # relative to the project folder, .ipynb
    title: str


# --- assembling the project ----------------------------------------------------------------
def _markdown_notebook(title: str, cells: list[str], subtitle: str = "") -> nbformat.NotebookNode:
    front = f'---\ntitle: "{title}"\n' + (f'subtitle: "{subtitle}"\n' if subtitle else "") + "---"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell(front)] + [nbformat.v4.new_markdown_cell(c) for c in cells]
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return nb


def _school_pages(project: Path) -> pd.DataFrame:
    rows = []
    for nb_path in sorted(project.glob("*/*.ipynb")):
        if nb_path.name == "index.ipynb" or nb_path.name.startswith("."):
            continue
        fm = front_matter(nbformat.read(nb_path, as_version=4))
        rows.append({"kommune_slug": nb_path.parent.name, "file": nb_path.name, "title": fm.get("title", nb_path.stem),
                     "subtitle": fm.get("subtitle", "")})
    return pd.DataFrame(rows, columns=["kommune_slug", "file", "title", "subtitle"])


def assemble(paths: config.Paths) -> Path:
    """Copy config and assets into ``reports/`` and write the index pages for what was built."""
    project = paths.reports
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy2(paths.notebooks / "_quarto.yml", project / "_quarto.yml")
    assets = project / "assets"
    shutil.copytree(paths.notebooks / "assets", assets, dirs_exist_ok=True)
    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", assets / "plotly.min.js")

    version = store.current(paths.processed)
    demo = store.is_demo(version)
    schools = pd.read_parquet(version / "aggregates" / "schools.parquet")
    names = {slug(k): k for k in schools["kommune"].unique()}
    pages = _school_pages(project)
    municipality_links = []
    for kslug, group in pages.groupby("kommune_slug", sort=True):
        kommune = names.get(kslug, kslug)
        items = "\n".join(
            f"- [{g.title}]({g.file.replace('.ipynb', '.html')}) · "
            f"[tabeller (CSV/Excel)]({g.file.replace('.ipynb', '_data')}/datapackage.json)"
            for g in group.sort_values("title").itertuples())
        nb = _markdown_notebook(f"{kommune} Kommune", [
            fmt.demo_banner(demo),
            f"Datapakker for {len(group)} skoler i {kommune} Kommune. Vælg en skole:\n\n{items}",
        ])
        overview = (project / kslug / "index.ipynb").is_file() and not _is_generated(project / kslug / "index.ipynb")
        if not overview:
            nb.metadata["datapakke"] = {"generated": True}
            nbformat.write(nb, project / kslug / "index.ipynb")
        municipality_links.append(f"- [{kommune} Kommune]({kslug}/index.html) — "
                                  + ("kommuneoversigt og " if overview else "") + f"{len(group)} skoler")
    from .build import EXPLORER_FOLDER  # noqa: PLC0415 - build imports papermill; only the name is needed

    explorer = []
    if (project / EXPLORER_FOLDER / "index.ipynb").is_file():
        explorer = ["## På tværs af kommuner\n\n"
                    f"- [Udforsker: skoler og kommuner]({EXPLORER_FOLDER}/index.html) — alle kommuner i data: "
                    "fordelinger, flerniveaumodel, skolernes kønsforskelle og fravær mod trivsel (til forskeren)"]
    index = _markdown_notebook("Datapakker", [
        fmt.demo_banner(demo),
        "Datapakker til datasparring og skoleudviklingssamtaler: for hver skole kortlægningen "
        "(T1–T3), kønsforskelle i faglig trivsel og fravær, sammenlignet med kommunen og landet.",
        "## Kommuner\n\n" + ("\n".join(municipality_links) or "Ingen skoler er bygget endnu."),
        *explorer,
        "## Om tallene\n\nAlle tal er aggregerede. Tal bygget på 5 eller færre besvarelser "
        "(spørgeskema) eller 3 eller færre elever (øvrige tal) vises ikke (–).",
    ])
    index.metadata["datapakke"] = {"generated": True}
    nbformat.write(index, project / "index.ipynb")
    return project


def _is_generated(path: Path) -> bool:
    return bool(nbformat.read(path, as_version=4).metadata.get("datapakke", {}).get("generated"))


def front_matter(nb: nbformat.NotebookNode) -> dict:
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
            text = cell.source.strip().strip("-")
            try:
                return yaml.safe_load(text) or {}
            except yaml.YAMLError:
                return {}
    return {}


# --- rendering -------------------------------------------------------------------------------
def quarto_available() -> bool:
    return shutil.which("quarto") is not None


def render_quarto(project: Path) -> Path:
    subprocess.run(["quarto", "render", str(project)], check=True)
    return project / SITE


PAGE = """<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="datapakke (nbconvert-fallback)">
<title>{title}</title>
<link rel="stylesheet" href="{root}assets/styles.css">
</head>
<body>
<div class="dp-layout">
<nav class="dp-sidebar" aria-label="Navigation">
<a class="dp-site-title" href="{root}index.html">Datapakker</a>
{nav}
</nav>
<main class="dp-main">
<header><h1 class="title">{title}</h1>{subtitle}</header>
{body}
</main>
</div>
</body>
</html>
"""


def _nav(pages: list[PageInfo], current: Path) -> str:
    """Sidebar: municipalities with their schools, links relative to the current page."""
    root = "../" * (len(current.parts) - 1)
    groups: dict[str, list[PageInfo]] = {}
    tops = {}
    for p in pages:
        if len(p.path.parts) == 2:
            groups.setdefault(p.path.parts[0], [])
            if p.path.name == "index.ipynb":
                tops[p.path.parts[0]] = p
            else:
                groups[p.path.parts[0]].append(p)
    out = ["<ul>"]
    for folder in sorted(groups):
        top = tops.get(folder)
        label = html.escape(top.title if top else folder)
        cls = ' class="active"' if top and top.path == current else ""
        out.append(f'<li><a{cls} href="{root}{folder}/index.html">{label}</a><ul>')
        # only the current municipality's schools are listed: 13 municipalities × ~20 schools is too long
        here = len(current.parts) == 2 and current.parts[0] == folder
        for p in sorted(groups[folder], key=lambda x: x.title) if here else []:
            cls = ' class="active"' if p.path == current else ""
            href = f"{root}{p.path.with_suffix('.html').as_posix()}"
            out.append(f'<li><a{cls} href="{href}">{html.escape(p.title)}</a></li>')
        out.append("</ul></li>")
    out.append("</ul>")
    return "\n".join(out)


def render_fallback(project: Path, out: Path) -> Path:
    """Render every page notebook like Quarto would, with nbconvert: same paths, code hidden."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    files = [p for p in sorted(project.rglob("*.ipynb"))
             if SITE not in p.relative_to(project).parts and not any(part.startswith(".") for part in p.relative_to(project).parts)]
    pages = []
    notebooks = {}
    for f in files:
        nb = nbformat.read(f, as_version=4)
        rel = f.relative_to(project)
        fm = front_matter(nb)
        pages.append(PageInfo(rel, str(fm.get("title", rel.stem))))
        notebooks[rel] = (nb, fm)
    for page in pages:
        nb, fm = notebooks[page.path]
        shown = nbformat.from_dict(nb)
        shown.cells = [c for c in shown.cells if c.cell_type != "raw"]  # front matter is Quarto's, not content
        body, _ = exporter.from_notebook_node(shown)
        root = "../" * (len(page.path.parts) - 1)
        subtitle = f'<p class="subtitle lead">{html.escape(str(fm["subtitle"]))}</p>' if fm.get("subtitle") else ""
        target = out / page.path.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(PAGE.format(title=html.escape(page.title), root=root, nav=_nav(pages, page.path),
                                      subtitle=subtitle, body=body), encoding="utf-8")
    shutil.copytree(project / "assets", out / "assets", dirs_exist_ok=True)
    for data in project.glob("*/*_data"):
        shutil.copytree(data, out / data.relative_to(project), dirs_exist_ok=True)
    return out


def publish(paths: config.Paths, renderer: str = "auto") -> tuple[Path, str]:
    """Assemble, render (quarto | fallback | auto), privacy-scan, then make the site live.

    Returns the site folder and which renderer was used.
    """
    project = assemble(paths)
    use_quarto = renderer == "quarto" or (renderer == "auto" and quarto_available())
    if renderer == "quarto" and not quarto_available():
        raise RuntimeError("Quarto er ikke installeret (kommandoen 'quarto' findes ikke på PATH).")
    final = project / SITE
    if use_quarto:
        site = render_quarto(project)
        staging = None
    else:
        staging = Path(tempfile.mkdtemp(prefix=".site-", dir=project))
        site = render_fallback(project, staging)
    elever = pd.read_parquet(store.current(paths.processed) / "elever.parquet", columns=["elev_id"])
    problems = privacy.scan_output(site, set(elever["elev_id"]))
    problems += privacy.scan_output(project, set(elever["elev_id"])) if not use_quarto else []
    if problems:
        shutil.rmtree(site, ignore_errors=True)
        raise PrivacyViolation("Webstedet er IKKE udgivet. Mulige elevoplysninger fundet:\n" + "\n".join(problems[:20]))
    if staging is not None:
        old = project / ".site-old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    return final, "quarto" if use_quarto else "nbconvert"
