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
Both sidebars list municipalities and schools in name order (``name_key``).
Before the site goes live the build scans it for pupil identifiers and refuses to publish
a violation (DOMAIN.md §5).  It also refuses a site that would load anything from the network:
after ``quarto render`` the widget scripts Quarto adds from a CDN are removed first
(``site_offline``).

The fallback renders incrementally: a page's HTML is kept from the live site when its
executed notebook, its sidebar and the page template are unchanged (a digest per page in
``reports/.datapakke/render.json``); when nothing at all changed, the live site is left as
it is.  ``force=True`` renders everything.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import plotly
import yaml

from . import config, fmt, privacy, site_offline, store
from .publication import audit
from .params import slug

SITE = "_site"


class PublishRefused(RuntimeError):
    """The site was built but must not go live; nothing was published."""


class PrivacyViolation(PublishRefused):
    """The built site contains something that looks like a pupil identifier."""


class SiteNotOffline(PublishRefused):
    """A page of the built site would load something from the network."""


class DisclosureRisk(PublishRefused):
    """The site's tables give away a protected cell (``publication.audit``)."""


@dataclass(frozen=True)
class PageInfo:
    path: Path  # relative to the project folder, .ipynb
    title: str


# --- assembling the project ----------------------------------------------------------------
def _markdown_notebook(title: str, cells: list[str], subtitle: str = "") -> nbformat.NotebookNode:
    front = f'---\ntitle: "{title}"\n' + (f'subtitle: "{subtitle}"\n' if subtitle else "") + "---"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell(front)] + [nbformat.v4.new_markdown_cell(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"dp-{i}"  # fixed ids: the same page gives the same file, so publishing can tell it is unchanged
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return nb


def _school_pages(project: Path) -> pd.DataFrame:
    rows = []
    titles = _FrontMatters(project)
    for nb_path in sorted(project.glob("*/*.ipynb")):
        if nb_path.name == "index.ipynb" or nb_path.name.startswith("."):
            continue
        fm = titles.get(nb_path)
        rows.append({"kommune_slug": nb_path.parent.name, "file": nb_path.name, "title": fm.get("title", nb_path.stem),
                     "subtitle": fm.get("subtitle", "")})
    return pd.DataFrame(rows, columns=["kommune_slug", "file", "title", "subtitle"])


def assemble(paths: config.Paths) -> Path:
    """Copy config and assets into ``reports/`` and write the index pages for what was built."""
    project = paths.reports
    project.mkdir(parents=True, exist_ok=True)
    assets = project / "assets"
    shutil.copytree(paths.notebooks / "assets", assets, dirs_exist_ok=True)
    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", assets / "plotly.min.js")

    version = store.current(paths.processed)
    demo = store.is_demo(version)
    schools = pd.read_parquet(store.published(version) / "schools.parquet")
    names = {slug(k): k for k in schools["kommune"].unique()}
    pages = _school_pages(project)
    municipality_links = []
    for kslug, group in pages.groupby("kommune_slug", sort=True):
        kommune = names.get(kslug, kslug)
        items = "\n".join(
            f"- [{g.title}]({g.file.replace('.ipynb', '.html')}) · "
            f"[tabeller (CSV/Excel)]({g.file.replace('.ipynb', '_data')}/datapackage.json)"
            for g in sorted(group.itertuples(), key=lambda g: name_key(g.title)))
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
    write_quarto_config(paths.notebooks / "_quarto.yml", project)
    return project


def _title(nb_path: Path) -> str:
    return str(front_matter(nbformat.read(nb_path, as_version=4)).get("title", nb_path.stem))


def sidebar_contents(project: Path) -> list[dict]:
    """Quarto's sidebar as the fallback's menu: front page, municipalities and their schools in
    name order, the explorer last (Quarto's ``contents: auto`` would order by file name, i.e. by
    institution number)."""
    from .build import EXPLORER_FOLDER  # noqa: PLC0415

    contents: list[dict] = [{"href": "index.ipynb", "text": "Forside"}]
    folders = [d for d in project.iterdir() if d.is_dir() and (d / "index.ipynb").is_file()
               and not d.name.startswith((".", "_")) and d.name != EXPLORER_FOLDER]
    for folder in sorted(folders, key=lambda d: name_key(_title(d / "index.ipynb"))):
        schools = [(_title(nb), nb) for nb in folder.glob("*.ipynb")
                   if nb.name != "index.ipynb" and not nb.name.startswith(".")]
        contents.append({
            "section": _title(folder / "index.ipynb"), "href": f"{folder.name}/index.ipynb",
            "contents": [{"href": f"{folder.name}/{nb.name}", "text": title}
                         for title, nb in sorted(schools, key=lambda t: name_key(t[0]))]})
    if (project / EXPLORER_FOLDER / "index.ipynb").is_file():
        contents.append({"href": f"{EXPLORER_FOLDER}/index.ipynb",
                         "text": _title(project / EXPLORER_FOLDER / "index.ipynb")})
    return contents


def write_quarto_config(template: Path, project: Path) -> Path:
    """``reports/_quarto.yml``: the committed configuration with the sidebar spelled out in name order."""
    config_ = yaml.safe_load(template.read_text(encoding="utf-8"))
    config_.setdefault("website", {}).setdefault("sidebar", {})["contents"] = sidebar_contents(project)
    head = "".join(line for line in template.read_text(encoding="utf-8").splitlines(keepends=True)
                   if line.startswith("#"))
    target = project / "_quarto.yml"
    target.write_text(head + "# Written by 'datapakke publish' (the sidebar lists what was built).\n"
                      + yaml.safe_dump(config_, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


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
<a class="dp-skip" href="#indhold">Gå til indholdet</a>
<div class="dp-layout">
<header class="dp-sidebar">
<a class="dp-site-title" href="{root}index.html">Datapakker</a>
<details class="dp-menu" id="dp-menu" open>
<summary>Menu</summary>
<nav aria-label="Sider">
{nav}
</nav>
</details>
</header>
<script src="{root}assets/site.js"></script>
<main class="dp-main" id="indhold">
<header><h1 class="title">{title}</h1>{subtitle}</header>
{body}
</main>
</div>
</body>
</html>
"""

_DANISH_LETTERS = str.maketrans({"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}"})  # the three after z


def name_key(name: str) -> tuple[str, str]:
    """Sort key for Danish names: case-insensitive, with æ, ø, å after z (as in a Danish index)."""
    return name.casefold().translate(_DANISH_LETTERS), name


def _nav(pages: list[PageInfo], current: Path) -> str:
    """The menu: the front page, the municipalities in name order (the current one with its schools,
    in name order), then the explorer; links relative to the current page."""
    from .build import EXPLORER_FOLDER  # noqa: PLC0415 - build imports papermill; only the name is needed

    root = "../" * (len(current.parts) - 1)

    def link(href: str, label: str, page: Path | None) -> str:
        here = ' aria-current="page" class="active"' if page == current else ""
        return f'<a{here} href="{root}{href}">{html.escape(label)}</a>'

    groups: dict[str, list[PageInfo]] = {}
    tops: dict[str, PageInfo] = {}
    for p in pages:
        if len(p.path.parts) == 2:
            groups.setdefault(p.path.parts[0], [])
            if p.path.name == "index.ipynb":
                tops[p.path.parts[0]] = p
            else:
                groups[p.path.parts[0]].append(p)
    out = ["<ul>", f'<li>{link("index.html", "Forside", Path("index.ipynb"))}</li>']
    municipalities = [f for f in groups if f != EXPLORER_FOLDER]
    for folder in sorted(municipalities, key=lambda f: name_key(tops[f].title if f in tops else f)):
        top = tops.get(folder)
        out.append(f'<li>{link(f"{folder}/index.html", top.title if top else folder, top and top.path)}')
        # only the current municipality's schools are listed: 13 municipalities × ~20 schools is too long
        if len(current.parts) == 2 and current.parts[0] == folder and groups[folder]:
            out.append("<ul>")
            for p in sorted(groups[folder], key=lambda x: name_key(x.title)):
                out.append(f"<li>{link(p.path.with_suffix('.html').as_posix(), p.title, p.path)}</li>")
            out.append("</ul>")
        out.append("</li>")
    if EXPLORER_FOLDER in groups:
        top = tops.get(EXPLORER_FOLDER)
        out.append(f'<li>{link(f"{EXPLORER_FOLDER}/index.html", top.title if top else "Udforsker", top and top.path)}</li>')
    out.append("</ul>")
    return "\n".join(out)


# --- the render loop (incremental) -------------------------------------------------------------
RENDER_STATE = Path(".datapakke") / "render.json"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _load_state(project: Path) -> dict:
    try:
        return json.loads((project / RENDER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_state(project: Path, state: dict) -> None:
    path = project / RENDER_STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


class _FrontMatters:
    """Front matter of executed notebooks, read once per notebook content (cached in the render state)."""

    def __init__(self, project: Path):
        self.cache = _load_state(project).get("front_matter", {})

    def digest(self, path: Path) -> str:
        return _digest(Path(path).read_bytes())

    def get(self, path: Path, digest: str | None = None) -> dict:
        digest = digest or self.digest(path)
        if digest not in self.cache:
            self.cache[digest] = front_matter(nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4))
        return self.cache[digest]


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link (instant; files are never rewritten in place, only replaced), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _data_folders(project: Path) -> list[Path]:
    return sorted(p for p in project.glob("*/*_data") if p.is_dir())


def _tree_digest(folders: list[Path], root: Path) -> str:
    """Names, sizes and modification times of every file in the folders (data packages are replaced, not edited)."""
    parts = []
    for folder in folders:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                st = f.stat()
                parts.append(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return _digest("\n".join(parts))


def _plan(project: Path, force: bool) -> tuple[list[PageInfo], dict, dict, str]:
    """The pages (with titles), per page the digest its HTML depends on, the notebooks, the site digest."""
    files = [p for p in sorted(project.rglob("*.ipynb"))
             if SITE not in p.relative_to(project).parts and not any(part.startswith(".") for part in p.relative_to(project).parts)]
    titles = _FrontMatters(project)
    pages, fms, nb_digests = [], {}, {}
    for f in files:
        rel = f.relative_to(project)
        nb_digests[rel] = titles.digest(f)
        fm = titles.get(f, nb_digests[rel])
        fms[rel] = fm
        pages.append(PageInfo(rel, str(fm.get("title", rel.stem))))
    import nbconvert  # noqa: PLC0415

    keys = {p.path: _digest(nb_digests[p.path], _nav(pages, p.path), PAGE, json.dumps(fms[p.path], default=str),
                            nbconvert.__version__) for p in pages}
    site = _digest(json.dumps(sorted((str(k), v) for k, v in keys.items())),
                   _tree_digest([project / "assets", *_data_folders(project)], project), "force" if force else "")
    return pages, keys, {"front_matter": {d: titles.cache[d] for d in set(nb_digests.values())}}, site


_HEADING_ID = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]+\{#([A-Za-z][\w-]*)\}[ \t]*$", re.MULTILINE)


def heading_ids(markdown: str) -> str:
    """Quarto's heading anchors (``## Fravær {#fravaer}``) as HTML headings with that id, for nbconvert,
    which would print the braces: the same links work in both renderers."""
    return _HEADING_ID.sub(lambda m: f'<h{len(m.group(1))} id="{m.group(3)}">{html.escape(m.group(2))}</h{len(m.group(1))}>',
                           markdown)


def render_fallback(project: Path, out: Path, previous: Path | None = None, keys: dict | None = None,
                    pages: list[PageInfo] | None = None, rendered: dict | None = None) -> Path:
    """Render every page notebook like Quarto would, with nbconvert: same paths, code hidden.

    With ``previous`` (the live site) and the page digests from ``_plan``, a page whose digest
    matches the one it was rendered from (``rendered``) is hard-linked from ``previous``.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    if pages is None or keys is None:
        pages, keys, _, _ = _plan(project, force=True)
    rendered = rendered or {}
    for page in pages:
        target = out / page.path.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        old = previous / page.path.with_suffix(".html") if previous is not None else None
        if old is not None and old.is_file() and rendered.get(str(page.path)) == keys[page.path]:
            _link_or_copy(str(old), str(target))
            continue
        nb = nbformat.read(project / page.path, as_version=4)
        fm = front_matter(nb)
        shown = nbformat.from_dict(nb)
        shown.cells = [c for c in shown.cells if c.cell_type != "raw"]  # front matter is Quarto's, not content
        for c in shown.cells:
            if c.cell_type == "markdown":
                c.source = heading_ids(c.source)
        body, _ = exporter.from_notebook_node(shown)
        root = "../" * (len(page.path.parts) - 1)
        subtitle = f'<p class="subtitle lead">{html.escape(str(fm["subtitle"]))}</p>' if fm.get("subtitle") else ""
        target.write_text(PAGE.format(title=html.escape(page.title), root=root, nav=_nav(pages, page.path),
                                      subtitle=subtitle, body=body), encoding="utf-8")
    shutil.copytree(project / "assets", out / "assets", dirs_exist_ok=True, copy_function=_link_or_copy)
    for data in _data_folders(project):
        shutil.copytree(data, out / data.relative_to(project), dirs_exist_ok=True, copy_function=_link_or_copy)
    return out


def publish(paths: config.Paths, renderer: str = "auto", force: bool = False,
            stats: dict | None = None) -> tuple[Path, str]:
    """Assemble, render (quarto | fallback | auto), privacy-scan, then make the site live.

    Returns the site folder and which renderer was used.  ``stats`` (if given) receives how
    many pages were rendered and kept, and whether the site was left unchanged.
    """
    from .build import sitestate  # noqa: PLC0415

    project = assemble(paths)
    use_quarto = renderer == "quarto" or (renderer == "auto" and quarto_available())
    if renderer == "quarto" and not quarto_available():
        raise RuntimeError("Quarto er ikke installeret (kommandoen 'quarto' findes ikke på PATH).")
    final = project / SITE
    stats = stats if stats is not None else {}
    version = store.current(paths.processed)
    state = _load_state(project)
    pages = keys = None
    if use_quarto:
        site = render_quarto(project)
        site_offline.make_offline(site)
        staging = None
    else:
        pages, keys, cache, site_digest = _plan(project, force)
        site_digest = _digest(site_digest, version.name)
        if not force and final.is_dir() and state.get("site") == site_digest:
            stats.update(rendered=0, kept=len(pages), unchanged=True)
            _save_state(project, {**state, **cache})
            sitestate.record(paths, "fallback")
            return final, "nbconvert"
        staging = store.plain_mode(Path(tempfile.mkdtemp(prefix=".site-", dir=project)))
        rendered = {} if force else state.get("pages", {})
        site = render_fallback(project, staging, final if final.is_dir() else None, keys, pages, rendered)
        kept = sum(1 for p in pages if rendered.get(str(p.path)) == keys[p.path] and (final / p.path.with_suffix(".html")).is_file())
        stats.update(rendered=len(pages) - kept, kept=kept, unchanged=False)
    external = site_offline.external_resources(site)
    if external:
        shutil.rmtree(site, ignore_errors=True)
        raise SiteNotOffline("Webstedet er IKKE udgivet: siderne skal virke uden net, men henter:\n"
                             + "\n".join(map(str, external[:20]))
                             + (f"\n… og {len(external) - 20} mere" if len(external) > 20 else ""))
    import pyarrow.parquet as pq  # noqa: PLC0415

    pseudonyms = set(pq.read_table(version / "elever.parquet", columns=["elev_id"]).column(0).to_pylist())
    problems = privacy.scan_output(site, pseudonyms)
    if not use_quarto:  # the executed notebooks and data folders too (not the site copies beside them)
        for folder in sorted(p for p in project.iterdir() if p.is_dir() and p.name != SITE and not p.name.startswith(".")):
            problems += privacy.scan_output(folder, pseudonyms)
    if problems:
        shutil.rmtree(site, ignore_errors=True)
        raise PrivacyViolation("Webstedet er IKKE udgivet. Mulige elevoplysninger fundet:\n" + "\n".join(problems[:20]))
    if (store.published(version) / "celler.parquet").is_file():
        try:
            stats["audit"] = audit.check(site, version)
        except audit.AuditFailed as exc:
            shutil.rmtree(site, ignore_errors=True)
            raise DisclosureRisk(str(exc)) from None
    if staging is not None:
        old = project / ".site-old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
        _save_state(project, {**cache, "pages": {str(p.path): keys[p.path] for p in pages}, "site": site_digest})
    sitestate.record(paths, "quarto" if use_quarto else "fallback")
    return final, "quarto" if use_quarto else "nbconvert"
