"""What the site may publish, decided once for the whole site.

The aggregates (``aggregate.py``) are internal: every school, municipality and the programme,
unsuppressed.  A reader of the site sees all of its pages, plots and downloads at once, so
suppression is decided here for all of them together:

* ``cells``       — every published figure as a cell of a linear table model, with the
                    relations a reader can use (totals = sum of parts, school → municipality →
                    programme, the same pupils in linked tables);
* ``suppression`` — primary suppression (small groups, counts of 1–3 shown as bands) and
                    secondary suppression chosen so that an LP over all relations cannot pin
                    any protected cell;
* ``tables``      — the published tables: the aggregates with hidden values blanked, each row
                    tied to its cell and its status;
* ``audit``       — reads back what a built site actually published and proves the same.

``write_all`` writes ``<version>/publication/<table>.parquet``; pages, plots, data packages
and the explorer read those tables and nothing else.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import store
from . import cells as cells_mod
from .suppression import suppress
from .tables import publish_tables

FOLDER = "publication"


def read_aggregates(folder: Path) -> dict[str, pd.DataFrame]:
    return {f.stem: pd.read_parquet(f) for f in sorted(Path(folder).glob("*.parquet"))}


def build(agg: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """All published tables (plus ``celler``: every cell with its status, and ``flags``)."""
    from .. import flags  # noqa: PLC0415 - scipy.stats: only the ingest needs it, not a build's summary
    cells, bounds, years = cells_mod.from_aggregates(agg)
    status = suppress(cells, bounds, years)
    out = publish_tables(agg, status)
    out["celler"] = cells[["id", "family", "niveau", "kode"]].merge(status, on="id")
    out["flags"] = flags.school_flags(out)
    return out


def information_loss(celler: pd.DataFrame) -> pd.DataFrame:
    """Per cell family: cells published, shown, primarily and secondarily suppressed."""
    pub = celler[celler["status"] != "ikke_publiceret"]
    t = pd.crosstab(pub["family"], pub["status"]).reindex(columns=["vist", "primaer", "sekundaer"], fill_value=0)
    t.index = [cells_mod.FAMILIES[f].title for f in t.index]
    return t.rename_axis("tabel").reset_index()


def loss_text(version: Path) -> str:
    """The build summary's lines on what the suppression withheld, per table ('' without a publication)."""
    path = store.published(version) / "celler.parquet"
    if not path.is_file():
        return ""
    t = information_loss(pd.read_parquet(path, columns=["id", "family", "status"]))
    total = t[["vist", "primaer", "sekundaer"]].sum()
    lines = [f"Diskretionering: {int(total['vist'])} tal vist, {int(total['primaer'])} skjult (for få elever), "
             f"{int(total['sekundaer'])} skjult, så de ikke kan regnes ud af andre viste tal:"]
    lines += [f"  - {r.tabel}: {int(r.primaer)} + {int(r.sekundaer)} skjult af {int(r.vist + r.primaer + r.sekundaer)}"
              for r in t.itertuples()]
    return "\n".join(lines)


def write_all(aggregates: Path, folder: Path) -> dict[str, pd.DataFrame]:
    folder.mkdir(parents=True, exist_ok=True)
    tables = build(read_aggregates(aggregates))
    for name, frame in tables.items():
        store.write_parquet(frame.reset_index(drop=True), folder / f"{name}.parquet")
    return tables
