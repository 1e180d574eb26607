"""One YAML parameter file per school: the list of reports is data, not code.

``write_params`` derives school id, name, municipality, school year and rounds from the
processed data.  The ``goals`` a school leader or consultant wrote by hand (e.g. boys'
faglig trivsel 510 at T2) are never overwritten: an existing file keeps its goals.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from . import store
from .store import atomic_write

HEADER = (
    "# Parametre til datapakken for {name}.\n"
    "# Genereres af 'datapakke params'. Feltet 'goals' redigeres i hånden og overskrives aldrig.\n"
    "# Et mål: {{dimension: faglig_trivsel, gruppe: dreng, runde: T2, maal: 510, tekst: \"...\"}}\n"
    "# (gruppe: alle, dreng eller pige).\n"
)
#: Goals the demo ships with: Aars Skole's published SMART goal.
DEMO_GOALS = {"861010": [{"dimension": "faglig_trivsel", "gruppe": "dreng", "runde": "T2", "maal": 510,
                          "tekst": "Drengenes faglige trivsel skal op på 510 ved T2"}]}


def slug(text: str) -> str:
    t = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-")


def params_path(folder: Path, school_id: str) -> Path:
    return Path(folder) / f"{school_id}.yaml"


def write_params(processed: Path, folder: Path, demo: bool = False) -> list[Path]:
    """(Re)generate every school's params file, keeping hand-edited goals."""
    agg = store.published(store.current(processed))
    schools = pd.read_parquet(agg / "schools.parquet")
    rounds = pd.read_parquet(agg / "rounds.parquet")
    written = []
    for s in schools.itertuples():
        path = params_path(folder, s.institutionsnummer)
        goals = DEMO_GOALS.get(s.institutionsnummer, []) if demo else []
        if path.is_file():
            old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            goals = old.get("goals", goals)
        data = {
            "school_id": s.institutionsnummer,
            "school_name": s.skolenavn,
            "municipality_code": s.kommunekode,
            "municipality": s.kommune,
            "school_year": str(rounds["skoleaar"].max()),
            "rounds": rounds["runde"].tolist(),
            "goals": goals,
        }
        with atomic_write(path) as fh:
            fh.write(HEADER.format(name=s.skolenavn))
            yaml.safe_dump(data, fh, allow_unicode=True, sort_keys=False)
        written.append(path)
    return written


def read_params(path: Path) -> dict:
    # libyaml's safe loader when PyYAML has it (≈ 10× faster; a build reads every params file)
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    missing = {"school_id", "school_name", "municipality_code", "municipality"} - set(data)
    if missing:
        raise ValueError(f"{path}: mangler feltet/felterne {', '.join(sorted(missing))}.")
    data["school_id"] = str(data["school_id"]).zfill(6)
    data["municipality_code"] = str(data["municipality_code"]).zfill(3)
    return data
