"""Benchmark: the site's suppression and its audit on the full demo (13 municipalities, 206 schools).  Not a test.

    .venv/bin/python bench/privacy.py --base /tmp/b        # after `datapakke all --demo --kommune alle --base /tmp/b`

Measured in this one run, on the demo's processed data and built site in ``--base``:

(a) the aggregates themselves (``aggregate.compute_all`` from the pupil tables): the baseline;
(b) the suppression: cells, primary and LP-checked secondary suppression, published tables
    (``publication.build``);
(c) the audit of the built site: read back every table file, the direct check and the LPs
    (``publication.audit.audit``).

Prints the absolute times (target: (b) + (c) under 60 s on the 2-core machine), the ratio
((b) + (c)) / (a), the number of findings (must be 0) and the information loss per table.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import pandas as pd

from datapakke import aggregate, config, publication, store
from datapakke.publication import audit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="project folder of a full demo build")
    args = ap.parse_args()
    paths = config.Paths.under(args.base)
    version = store.current(paths.processed)
    print(f"Maskine: {platform.processor() or platform.machine()}, {os.cpu_count()} kerner, "
          f"belastning {os.getloadavg()[0]:.1f}; data: {version}")

    tables = {f.stem: pd.read_parquet(f) for f in version.glob("*.parquet") if f.stem != "scores"}
    scores = pd.read_parquet(version / "scores.parquet")
    t0 = time.perf_counter()
    agg = aggregate.compute_all(tables, scores)
    a = time.perf_counter() - t0
    del tables, scores

    t0 = time.perf_counter()
    out = publication.build(agg)
    b = time.perf_counter() - t0

    site = paths.site
    t0 = time.perf_counter()
    findings, facts = audit.audit(site, version)
    c = time.perf_counter() - t0

    print(f"(a) aggregaterne (grundlinje):       {a:7.1f} s")
    print(f"(b) diskretionering af hele webstedet: {b:7.1f} s")
    print(f"(c) revision af det byggede websted: {c:7.1f} s  ({facts['files']} tabelfiler, "
          f"{facts.get('cells_seen', 0)} viste celler)")
    print(f"(b) + (c) = {b + c:.1f} s (mål: under 60 s); ((b) + (c)) / (a) = {(b + c) / a:.2f}")
    print(f"Fund i revisionen: {len(findings)}")
    for f in findings[:10]:
        print("  -", f.text())
    print(publication.information_loss(out["celler"]).to_string(index=False))
    print(f"belastning ved slut {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
