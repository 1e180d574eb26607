"""Benchmark: the whole country on one machine — generate, ingest, and build one municipality.  Not a test.

    .venv/bin/python bench/national.py                       # everything, under /tmp/national (~25 min on 2 cores)
    .venv/bin/python bench/national.py --base /tmp/n --reuse # keep the generated raw data of a previous run

Measured in this one run, each step in its own process with the wall time, CPU time and peak resident
memory of its whole process tree (``bench/build.py``'s ``run``):

* generate: ``datapakke demo --skala land`` (98 municipalities, ~1.500 schools, ~570.000 pupils a school year);
* ingest: ``datapakke ingest`` on it (target: peak memory < 4 GB), with the stage times it prints itself
  (reading and checking, scores and absence days, writing and aggregates, the publication: the site-wide
  cell suppression);
* DuckDB's own scan of the same raw files (``bench/build.py --step duckdb``: every column of every row
  materialised): the baseline.  Ratio: ingest rows/s ÷ DuckDB rows/s (target ≥ 1/3), with and without the
  publication's time;
* ``datapakke params`` and ``datapakke build --kommune <one>`` (its schools, its overview and the explorer).

Other users of the machine slow every step; the load average is printed at the start and end.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_build", Path(__file__).with_name("build.py"))
bench_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_build)
run, machine, load, num, gb, DP = (bench_build.run, bench_build.machine, bench_build.load, bench_build.num,
                                   bench_build.gb, bench_build.DP)


def _stages(output: str) -> dict[str, float]:
    """The stage times ``datapakke ingest`` prints ('Tid pr. trin: læsning og kontrol 12,3 s · …')."""
    lines = output.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Tid pr. trin:")), None)
    if start is None:
        return {}
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    line = " ".join(ln.strip() for ln in lines[start:end])  # the console may have wrapped it
    stages = {}
    for part in line.split(":", 1)[1].split(" · "):
        name, value, _ = part.strip().rsplit(" ", 2)
        stages[name] = float(value.replace(",", "."))
    return stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, default=Path("/tmp/national"), help="arbejdsmappe (standard /tmp/national)")
    ap.add_argument("--reuse", action="store_true", help="genbrug rådata i --base fra en tidligere kørsel")
    ap.add_argument("--kommune", default="Vesthimmerland", help="kommunen, hvis sider bygges")
    args = ap.parse_args()
    base = args.base.resolve()

    from datapakke import config

    base.mkdir(parents=True, exist_ok=True)
    paths = config.Paths.under(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPAKKE_")} | {"COLUMNS": "200"}
    print(f"datapakke bench/national.py · {time.strftime('%Y-%m-%d %H:%M')} · {machine()}")
    print(f"Belastning (load average 1/5/15 min) ved start: {load()} · arbejdsmappe {base}\n")
    steps = {}
    if not (args.reuse and (paths.raw / config.DEMO_FILE).exists()):
        shutil.rmtree(paths.raw, ignore_errors=True)
        steps["generate"] = run("demodata for hele landet: datapakke demo --skala land",
                                [DP, "demo", "--skala", "land", "--base", str(base)], env)
        print(steps["generate"].output.strip().replace("\n", " "))
    for folder in (paths.processed, paths.params, paths.reports):
        shutil.rmtree(folder, ignore_errors=True)
    steps["ingest"] = run("indlæsning: datapakke ingest", [DP, "ingest", "--base", str(base)], env, check=False)
    stages = _stages(steps["ingest"].output)
    if "publikation" not in stages:  # it failed: say where, then measure what can be measured without it
        print(f"datapakke ingest fejlede:\n{steps['ingest'].output[-3000:]}")
    steps["duckdb"] = run("DuckDB: samme råfiler", [sys.executable, bench_build.__file__, "--step", "duckdb",
                                                    "--base", str(base)], env)
    scanned = json.loads(steps["duckdb"].output.strip().splitlines()[-1])
    if "publikation" in stages:
        steps["params"] = run("datapakke params", [DP, "params", "--base", str(base)], env)
        steps["build"] = run(f"byg én kommune: datapakke build --kommune {args.kommune}",
                             [DP, "build", "--base", str(base), "--kommune", args.kommune], env, check=False)
        steps["build"].note = " · ".join(ln.strip() for ln in steps["build"].output.splitlines()
                                         if "bygget" in ln or "fejl" in ln.lower())

    rows = scanned["rows"]
    duck_rate = rows / scanned["seconds"]
    print(f"\n{'trin':<58}{'tid':>12}{'CPU-tid':>12}{'hukommelse (top)':>20}")
    for s in steps.values():
        print(f"{s.label:<58}{num(s.seconds) + ' s':>12}{num(s.cpu) + ' s':>12}{gb(s.peak) if s.peak else '':>20}")
        if s is steps["ingest"] and stages:
            print(f"{'':4}" + " · ".join(f"{k} {num(v)} s" for k, v in stages.items()))
        if s.note:
            print(f"{'':4}{s.note}")
    print(f"\n{num(rows, 0)} rækker i råfilerne · DuckDB-scan {num(duck_rate, 0)} rækker/s "
          f"(scanningen alene {num(scanned['seconds'])} s)")
    if "publikation" in stages:
        ingest_s = steps["ingest"].seconds
        without = ingest_s - stages["publikation"]
        print(f"Indlæsning {num(rows / ingest_s, 0)} rækker/s, uden publikationen {num(rows / without, 0)} rækker/s")
        print(f"Forhold indlæsning/DuckDB-scan = {num(rows / ingest_s / duck_rate, 3)} (mål ≥ 0,333); uden "
              f"publikationen {num(rows / without / duck_rate, 3)} · indlæsningens top-hukommelse "
              f"{gb(steps['ingest'].peak)} (mål < 4 GB)")
    print(f"Belastning ved slut: {load()}")


if __name__ == "__main__":
    main()
