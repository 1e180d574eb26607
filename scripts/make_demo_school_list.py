"""One-off provenance script: derive the demo's school list from the ministry's public data.

The synthetic demo uses real school names and institution numbers so that consultants
recognise their municipality.  Everything else about the schools is synthetic.  The list is
committed as ``lib/datapakke/resources/demo_schools.csv``; this script documents where it
came from and can regenerate it where ``../shared/data/real`` exists::

    python scripts/make_demo_school_list.py ../shared/data/real/dk_anders-wiggers_visualization-of-school-data/commit-9e59618/Skoletal.xlsx
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

MUNICIPALITIES = {
    "787": "Thisted", "621": "Kolding", "480": "Nordfyn", "766": "Hedensted",
    "530": "Billund", "820": "Vesthimmerland", "607": "Fredericia", "265": "Roskilde",
    "316": "Holbæk", "510": "Haderslev", "615": "Horsens", "250": "Frederikssund",
    "479": "Svendborg",
}
# Not folkeskoler: the programme mapped the municipality's own schools.
NOT_FOLKESKOLE = (
    "friskole|efterskole|realskole|ungdomsskole|privatskole|lilleskole|kristne|katolsk|"
    "10\\. ?klasse|fri skole|international|rudolf steiner|montessori|gymnasium|akademi|"
    "naturfriskole|landsbyskole|skolen for|friskolen|privat|efterskolen|eftersk\\."
)
MAX_SCHOOLS = 22
OUT = Path(__file__).resolve().parents[1] / "lib" / "datapakke" / "resources" / "demo_schools.csv"


def main(skoletal: str) -> None:
    raw = pd.read_excel(skoletal, header=2, dtype=str)
    raw = raw[["Row Labels", "Institution", "Skoleår", "Elevtal"]].dropna(subset=["Institution"])
    in_year = raw["Skoleår"].str.contains("/", na=False)
    municipality = raw[~in_year & raw["Skoleår"].isin(MUNICIPALITIES)][["Row Labels", "Skoleår"]]
    latest = raw[raw["Skoleår"] == "2018/2019"][["Row Labels", "Institution", "Elevtal"]]
    schools = municipality.drop_duplicates().merge(latest, on="Row Labels")
    schools["Elevtal"] = pd.to_numeric(schools["Elevtal"])
    schools = schools.dropna(subset=["Elevtal"])
    schools = schools[~schools["Institution"].str.lower().str.contains(NOT_FOLKESKOLE)]
    schools = (
        schools.sort_values(["Skoleår", "Elevtal"], ascending=[True, False])
        .groupby("Skoleår").head(MAX_SCHOOLS)
    )
    out = pd.DataFrame({
        "institutionsnummer": schools["Row Labels"],
        "skolenavn": schools["Institution"].str.strip(),
        "kommunekode": schools["Skoleår"],
        "kommune": schools["Skoleår"].map(MUNICIPALITIES),
        "elevtal": schools["Elevtal"].astype(int),
    }).sort_values(["kommunekode", "institutionsnummer"])
    out.to_csv(OUT, index=False)
    print(out.groupby("kommune").agg(skoler=("skolenavn", "size"), elever=("elevtal", "sum")))
    print(f"{len(out)} schools, {out['elevtal'].sum()} pupils -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
