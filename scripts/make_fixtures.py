"""Regenerate the small committed test fixture (tests/fixtures/raw) from the demo generator.

Five schools in two municipalities: Aars Skole (large, calibrated gender gap), Vestermarkskolen
Aars (tiny: most cells suppressed), Gedsted Skole, and two Roskilde schools.  Absence is
written as CSV (not Parquet) so the fixture also exercises the CSV reader.

    .venv/bin/python scripts/make_fixtures.py
"""
from pathlib import Path

import pandas as pd

from datapakke import demo

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "raw"
SCHOOLS = ["861010", "861901", "793002", "265006", "265011"]

if __name__ == "__main__":
    summary = demo.generate(FIXTURE, seed=7, school_ids=SCHOOLS)
    absence = pd.read_parquet(FIXTURE / "fravaer.parquet")
    absence["dato"] = pd.to_datetime(absence["dato"]).dt.strftime("%d-%m-%Y")
    absence.to_csv(FIXTURE / "fravaer.csv", sep=";", decimal=",", index=False)
    (FIXTURE / "fravaer.parquet").unlink()
    print(summary)
