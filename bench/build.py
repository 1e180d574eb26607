"""Benchmark: the whole demo site (13 municipalities, 206 schools) built every way, in one run.  Not a test.

    .venv/bin/python bench/build.py                 # everything; ~15 min on 2 cores
    .venv/bin/python bench/build.py --naive-sample 0 --naive-all   # the full naive loop too (~20 min more)
    .venv/bin/python bench/build.py --base /tmp/b --reuse          # keep demo data and ingest from a previous run

Measured in this one run, on the same demo data (``datapakke demo``), each step in its own process with
the peak memory of its whole process tree (workers and kernels included):

(f) ingest (``datapakke ingest``) against DuckDB's own scan of the same raw files (rows per second);
(c) the compute floor: every page's own notebook code (school reports, municipality overviews, the
    explorer) with its outputs rendered, one page after the other in one plain Python process — no
    kernel, no papermill, no data package, no file written;
(a) a naive loop: the ``papermill`` command once per page, sequentially (a fresh kernel each time).  By
    default measured on a sample of schools and overviews plus the explorer and scaled to all pages —
    the output says so; ``--naive-all`` runs every page;
(b) our build: ``datapakke build --force`` for every page (default workers: one per core);
(d) a no-op ``datapakke all`` right after building and publishing;
(e) ``datapakke all`` after one school's params changed (which pages were rebuilt is printed).

Ratios: (a)/(b) (target ≥ 10) and (b)/(c) (target ≤ 1,5).  Other users of the machine slow every step;
the load average is printed at the start and end.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

VENV_BIN = Path(sys.executable).parent
DP = str(VENV_BIN / "datapakke")
PAPERMILL = str(VENV_BIN / "papermill")


# --- measuring one step ------------------------------------------------------------------------------------
class Step:
    def __init__(self, label: str, seconds: float, peak: int, output: str = "", note: str = "", cpu: float = 0.0):
        self.label, self.seconds, self.peak, self.output, self.note, self.cpu = label, seconds, peak, output, note, cpu


def _tree_memory(proc: psutil.Process) -> int:
    """The memory of a process tree: the sum of its proportional set sizes (PSS).

    Forked workers share most of their parent's pages; summing resident sets would count each
    shared page once per process.  PSS splits a shared page among the processes that map it,
    so the sum is the memory the tree really holds (resident set where PSS is not available).
    """
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error, OSError, ValueError):
            total += _pss(p)
    return total


def _pss(p: psutil.Process) -> int:
    """A process's PSS from ``/proc/<pid>/smaps_rollup`` (the kernel's own sum)."""
    try:
        with open(f"/proc/{p.pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return p.memory_info().rss


def run(label: str, cmd: list[str], env: dict | None = None, cwd: Path | None = None, check: bool = True) -> Step:
    """Run ``cmd``; wall time, CPU time and the peak resident memory of its whole process tree.

    CPU: user + system of every descendant (workers and kernels are reaped by their parents, so they
    count); memory: the sum of the tree's proportional set sizes (``_tree_memory``), sampled every 0,5 s.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    watched = psutil.Process(proc.pid)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak[0] = max(peak[0], _tree_memory(watched))
            done.wait(0.5)  # reading PSS walks the page tables: ~50 ms for a few GB

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        raise SystemExit(f"{label} fejlede ({proc.returncode}):\n{output[-3000:]}")
    return Step(label, seconds, peak[0], output, cpu=cpu)


# --- (c) the compute floor, (f) DuckDB's scan: run in a child process of this script ----------------------------
def _code_cells(template: Path) -> list[str]:
    nb = json.loads(template.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return ["".join(c["source"]) for c in cells if "parameters" not in c.get("metadata", {}).get("tags", [])]


def _execute(cells: list[str], namespace: dict, fmt) -> None:
    """Each cell as IPython runs it: the statements, then the last expression formatted for display."""
    for source in cells:
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the project's own notebook code
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307
            if value is not None:
                fmt(value)


def floor(base: Path) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from datapakke import build, config

    paths = config.Paths.under(base)
    fmt = InteractiveShell.instance().display_formatter.format
    schools = build.select(paths.params)
    kinds = {"school": (paths.notebooks / build.TEMPLATE, [
        {**{k: p[k] for k in build.PARAM_NAMES}, "processed_dir": str(paths.processed), "site_root": "../"}
        for p in schools])}
    tmp = Path(tempfile.mkdtemp())
    kinds["overview"] = (paths.notebooks / build.OVERVIEW_TEMPLATE, [
        {"municipality_code": c, "municipality": n, "processed_dir": str(paths.processed),
         "reports_dir": str(build.overview_path(paths.reports, n).parent), "site_root": "../"}
        for c, n in build.municipalities_of(schools)])
    kinds["explorer"] = (paths.notebooks / build.EXPLORER_TEMPLATE, [
        {"processed_dir": str(paths.processed), "tables_dir": str(tmp / "tables"), "site_root": "../"}])
    result = {}
    for kind, (template, runs) in kinds.items():
        cells = _code_cells(template)
        started, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            for parameters in runs:
                _execute(cells, dict(parameters), fmt)
        result[kind] = {"pages": len(runs), "seconds": time.perf_counter() - started,
                        "cpu": time.process_time() - cpu}
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


def duckdb_scan(raw: Path) -> None:
    import duckdb

    con = duckdb.connect()
    rows, started = 0, time.perf_counter()
    for f in sorted(raw.iterdir()):
        path = str(f).replace("'", "''")
        if f.suffix == ".parquet":
            relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
        elif f.suffix == ".csv":
            relation = con.sql(f"SELECT * FROM read_csv('{path}', all_varchar=true)")
        else:
            continue
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow  # DuckDB ≥ 2 / older
        rows += fetch().num_rows  # every column of every row, materialised
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


# --- the run -------------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    return (f"{platform.system()} {platform.release()}, {cpu}, {len(os.sched_getaffinity(0))} kerner, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, Python {platform.python_version()}")


def load() -> str:
    return ", ".join(f"{x:.2f}".replace(".", ",") for x in os.getloadavg())


def num(x: float, d: int = 1) -> str:
    return f"{x:,.{d}f}".replace(",", "X").replace(".", ",").replace("X", ".")


def gb(b: int) -> str:
    return f"{num(b / 2**30, 2)} GB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, help="arbejdsmappe (standard: en ny midlertidig mappe)")
    ap.add_argument("--reuse", action="store_true", help="genbrug demodata og indlæsning i --base")
    ap.add_argument("--naive-sample", type=int, default=8, help="skoler i stikprøven til den naive løkke")
    ap.add_argument("--naive-all", action="store_true", help="kør den naive løkke over alle sider")
    ap.add_argument("--workers", type=int, default=None, help="workers til vores byg (standard: én pr. kerne)")
    ap.add_argument("--step", choices=["floor", "duckdb"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step == "floor":
        return floor(args.base)
    if args.step == "duckdb":
        return duckdb_scan(args.base / "raw")

    from datapakke import build, config
    from datapakke.build import inputs

    base = (args.base or Path(tempfile.mkdtemp(prefix="datapakke-bench-"))).resolve()
    base.mkdir(parents=True, exist_ok=True)
    paths = config.Paths.under(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPAKKE_")}
    start_load = load()
    print(f"datapakke bench/build.py · {time.strftime('%Y-%m-%d %H:%M')} · {machine()}")
    print(f"Belastning (load average 1/5/15 min) ved start: {start_load} · arbejdsmappe {base}\n")
    steps: dict[str, Step] = {}

    if not (args.reuse and (paths.processed / "current").exists()):
        for folder in (paths.raw, paths.params, paths.reports):
            shutil.rmtree(folder, ignore_errors=True)
        demo = run("demodata", [DP, "demo", "--base", str(base)], env)
        print(demo.output.strip().replace("\n", " "))
        steps["f"] = run("(f) indlæsning: datapakke ingest", [DP, "ingest", "--base", str(base)], env)
        inputs.record_ingest(paths)  # as 'datapakke all' does after an ingest
    run("params", [DP, "params", "--base", str(base)], env)
    scan = run("(f) DuckDB: samme råfiler", [sys.executable, __file__, "--step", "duckdb", "--base", str(base)], env)
    scanned = json.loads(scan.output.strip().splitlines()[-1])
    steps["f_duckdb"] = scan

    schools = build.select(paths.params)
    municipalities = build.municipalities_of(schools)
    pages = len(schools) + len(municipalities) + 1

    # (c) the compute floor
    fl = run("(c) beregningsgulv", [sys.executable, __file__, "--step", "floor", "--base", str(base)], env)
    floor_parts = json.loads(fl.output.strip().splitlines()[-1])
    fl.seconds = sum(v["seconds"] for v in floor_parts.values())  # the notebook code itself, not the imports
    fl.cpu = sum(v["cpu"] for v in floor_parts.values())
    steps["c"] = fl

    # (a) the naive loop: the papermill command once per page
    naive_dir = base / "naive"
    shutil.rmtree(naive_dir, ignore_errors=True)
    naive_dir.mkdir()
    rng = random.Random(20240901)
    sample = schools if args.naive_all else rng.sample(schools, min(args.naive_sample, len(schools)))
    sample_m = municipalities if args.naive_all else rng.sample(municipalities, min(2, len(municipalities)))
    times = {"school": [], "overview": [], "explorer": []}
    cpus = {"school": [], "overview": [], "explorer": []}
    peak = 0

    def papermill(kind, template, out, parameters):
        nonlocal peak
        cmd = [PAPERMILL, str(template), str(out), "--no-progress-bar", "--cwd", str(out.parent)]
        for k, v in parameters.items():
            cmd += ["-y", f"{k}: {json.dumps(v, ensure_ascii=False)}"]
        s = run(f"papermill {out.name}", cmd, env)
        times[kind].append(s.seconds)
        cpus[kind].append(s.cpu)
        peak = max(peak, s.peak)

    for p in sample:
        papermill("school", paths.notebooks / build.TEMPLATE, naive_dir / f"{p['school_id']}.ipynb",
                  {**{k: p[k] for k in build.PARAM_NAMES}, "processed_dir": str(paths.processed), "site_root": "../"})
    for code, name in sample_m:
        papermill("overview", paths.notebooks / build.OVERVIEW_TEMPLATE, naive_dir / f"kommune-{code}.ipynb",
                  {"municipality_code": code, "municipality": name, "processed_dir": str(paths.processed),
                   "site_root": "../"})
    papermill("explorer", paths.notebooks / build.EXPLORER_TEMPLATE, naive_dir / "udforsker.ipynb",
              {"processed_dir": str(paths.processed), "tables_dir": "udforsker_data", "site_root": "../"})
    mean = {k: sum(v) / len(v) for k, v in times.items()}
    naive_seconds = mean["school"] * len(schools) + mean["overview"] * len(municipalities) + mean["explorer"]
    mean_cpu = {k: sum(v) / len(v) for k, v in cpus.items()}
    naive_cpu = mean_cpu["school"] * len(schools) + mean_cpu["overview"] * len(municipalities) + mean_cpu["explorer"]
    naive_note = ("alle sider kørt" if args.naive_all else
                  f"målt på {len(sample)} skoler, {len(sample_m)} kommuneoversigter og udforskeren, skaleret til "
                  f"{len(schools)} skoler og {len(municipalities)} oversigter: {num(mean['school'])} s pr. skole, "
                  f"{num(mean['overview'])} s pr. oversigt, {num(mean['explorer'])} s udforskeren")
    steps["a"] = Step("(a) naiv papermill-løkke", naive_seconds, peak, note=naive_note, cpu=naive_cpu)

    # (b) our build from nothing, then publish
    shutil.rmtree(paths.reports, ignore_errors=True)
    workers = ["--workers", str(args.workers)] if args.workers else []
    steps["b"] = run("(b) vores byg: datapakke build --force", [DP, "build", "--base", str(base), "--force", *workers], env)
    steps["b"].note = " · ".join(ln.strip() for ln in steps["b"].output.splitlines() if "bygget" in ln)
    steps["publish"] = run("udgiv: datapakke publish", [DP, "publish", "--base", str(base)], env)

    # (d) no-op, (e) one school's params changed
    steps["d"] = run("(d) intet ændret: datapakke all", [DP, "all", "--base", str(base), "--kommune", "alle", *workers], env)
    one = paths.params / f"{schools[0]['school_id']}.yaml"
    text = one.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["goals"] = [{"dimension": "social_trivsel", "gruppe": "alle", "runde": "T3",
                      "maal": 500 + int(time.time()) % 97}]  # a value this school has not had before
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    one.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    steps["e"] = run("(e) én skoles params ændret: datapakke all", [DP, "all", "--base", str(base), "--kommune", "alle",
                                                                    *workers], env)
    steps["e"].note = " · ".join(ln.strip() for ln in steps["e"].output.splitlines()
                                 if "bygget" in ln or "klar" in ln or "gengivet" in ln)

    # --- report ----------------------------------------------------------------------------------------------
    raw_rows = scanned["rows"]
    ours_rate = raw_rows / steps["f"].seconds if "f" in steps else None
    duck_rate = raw_rows / scanned["seconds"]
    print(f"\n{len(schools)} skoler i {len(municipalities)} kommuner: {pages} sider "
          f"({len(schools)} skolerapporter, {len(municipalities)} kommuneoversigter, 1 udforsker)\n")
    print(f"{'trin':<48}{'tid':>12}{'CPU-tid':>12}{'hukommelse (top)':>20}")
    for key in ("f", "f_duckdb", "c", "a", "b", "publish", "d", "e"):
        if key not in steps:
            continue
        s = steps[key]
        print(f"{s.label:<48}{num(s.seconds) + ' s':>12}{num(s.cpu) + ' s':>12}{gb(s.peak) if s.peak else '':>20}")
        if key == "f_duckdb":
            print(f"{'':4}{num(raw_rows, 0)} rækker: DuckDB {num(duck_rate, 0)} rækker/s"
                  + (f", vores indlæsning {num(ours_rate, 0)} rækker/s" if ours_rate else ""))
        if key == "c":
            print(f"{'':4}" + ", ".join(f"{v['pages']} {k}: {num(v['seconds'])} s" for k, v in floor_parts.items())
                  + " (kun notebookkoden; importerne før er ikke talt med)")
        if s.note:
            print(f"{'':4}{s.note}")
    a, b, c = steps["a"].seconds, steps["b"].seconds, steps["c"].seconds
    print(f"\nForhold: (a)/(b) = {num(a / b)} (mål ≥ 10) · (b)/(c) = {num(b / c, 2)} (mål ≤ 1,5)"
          + (f" · indlæsning/DuckDB-scan = {num(ours_rate / duck_rate, 3)}" if ours_rate else ""))
    cores = len(os.sched_getaffinity(0))
    print(f"CPU-tid: (a)/(b) = {num(steps['a'].cpu / steps['b'].cpu)} · (b) brugte {num(steps['b'].cpu / b, 2)} af "
          f"{cores} kerner i gennemsnit (resten gik til andre på maskinen eller til ventetid)")
    print(f"Belastning ved slut: {load()}")


if __name__ == "__main__":
    main()
