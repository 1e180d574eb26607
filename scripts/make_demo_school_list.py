"""One-off provenance script: derive the demo's school list from the ministry's public data.

The synthetic demo uses real school names and institution numbers so that consultants
recognise their municipality.  Everything else about the schools is synthetic.  The list is
committed as ``lib/datapakke/resources/demo_schools.csv``; this script documents where it
came from and can regenerate it where ``../shared/data/real`` exists::

    python scripts/make_demo_school_list.py ../shared/data/real/dk_anders-wiggers_visualization-of-school-data/commit-9e59618/Skoletal.xlsx

It also writes ``national_schools.csv`` for ``datapakke demo --skala land``: every folkeskole (same
filter) of all 98 municipalities, with the official municipality names (``ALL_MUNICIPALITIES``; the
13 demo municipalities keep the demo's spelling), plus the one school the file lacks (``INVENTED_SCHOOLS``).
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
#: Denmark's 98 municipalities by kommunekode (Danmarks Statistik's list).  Skoletal.xlsx holds the codes,
#: not the names; matching its school names against ``dk_fuglede_skoler`` ("Skole (Kommune)") confirms
#: the names of 95 of them, and the rest (360, 813, 825) are the official ones.
ALL_MUNICIPALITIES = {
    "101": "København", "147": "Frederiksberg", "151": "Ballerup", "153": "Brøndby", "155": "Dragør",
    "157": "Gentofte", "159": "Gladsaxe", "161": "Glostrup", "163": "Herlev", "165": "Albertslund",
    "167": "Hvidovre", "169": "Høje-Taastrup", "173": "Lyngby-Taarbæk", "175": "Rødovre", "183": "Ishøj",
    "185": "Tårnby", "187": "Vallensbæk", "190": "Furesø", "201": "Allerød", "210": "Fredensborg",
    "217": "Helsingør", "219": "Hillerød", "223": "Hørsholm", "230": "Rudersdal", "240": "Egedal",
    "250": "Frederikssund", "253": "Greve", "259": "Køge", "260": "Halsnæs", "265": "Roskilde", "269": "Solrød",
    "270": "Gribskov", "306": "Odsherred", "316": "Holbæk", "320": "Faxe", "326": "Kalundborg", "329": "Ringsted",
    "330": "Slagelse", "336": "Stevns", "340": "Sorø", "350": "Lejre", "360": "Lolland", "370": "Næstved",
    "376": "Guldborgsund", "390": "Vordingborg", "400": "Bornholm", "410": "Middelfart", "420": "Assens",
    "430": "Faaborg-Midtfyn", "440": "Kerteminde", "450": "Nyborg", "461": "Odense", "479": "Svendborg",
    "480": "Nordfyns", "482": "Langeland", "492": "Ærø", "510": "Haderslev", "530": "Billund", "540": "Sønderborg",
    "550": "Tønder", "561": "Esbjerg", "563": "Fanø", "573": "Varde", "575": "Vejen", "580": "Aabenraa",
    "607": "Fredericia", "615": "Horsens", "621": "Kolding", "630": "Vejle", "657": "Herning", "661": "Holstebro",
    "665": "Lemvig", "671": "Struer", "706": "Syddjurs", "707": "Norddjurs", "710": "Favrskov", "727": "Odder",
    "730": "Randers", "740": "Silkeborg", "741": "Samsø", "746": "Skanderborg", "751": "Aarhus",
    "756": "Ikast-Brande", "760": "Ringkøbing-Skjern", "766": "Hedensted", "773": "Morsø", "779": "Skive",
    "787": "Thisted", "791": "Viborg", "810": "Brønderslev", "813": "Frederikshavn", "820": "Vesthimmerlands",
    "825": "Læsø", "840": "Rebild", "846": "Mariagerfjord", "849": "Jammerbugt", "851": "Aalborg", "860": "Hjørring",
} | MUNICIPALITIES
#: Læsø's one school is not in Skoletal.xlsx: its name is real, its institution number and pupil count invented.
INVENTED_SCHOOLS = [("825001", "Læsø Skole", "825", "Læsø", 150)]
# Not folkeskoler: the programme mapped the municipality's own schools.
NOT_FOLKESKOLE = (
    "friskole|efterskole|realskole|ungdomsskole|privatskole|lilleskole|kristne|katolsk|"
    "10\\. ?klasse|fri skole|international|rudolf steiner|montessori|gymnasium|akademi|"
    "naturfriskole|landsbyskole|skolen for|friskolen|privat|efterskolen|eftersk\\."
)
MAX_SCHOOLS = 22
OUT = Path(__file__).resolve().parents[1] / "lib" / "datapakke" / "resources" / "demo_schools.csv"
NATIONAL_OUT = OUT.with_name("national_schools.csv")


def schools_of(raw: pd.DataFrame, municipalities: dict[str, str], cap: int | None) -> pd.DataFrame:
    """The folkeskoler of ``municipalities`` with their 2018/2019 pupil count, at most ``cap`` per municipality."""
    in_year = raw["Skoleår"].str.contains("/", na=False)
    municipality = raw[~in_year & raw["Skoleår"].isin(municipalities)][["Row Labels", "Skoleår"]]
    latest = raw[raw["Skoleår"] == "2018/2019"][["Row Labels", "Institution", "Elevtal"]]
    schools = municipality.drop_duplicates().merge(latest, on="Row Labels")
    schools["Elevtal"] = pd.to_numeric(schools["Elevtal"])
    schools = schools.dropna(subset=["Elevtal"])
    schools = schools[~schools["Institution"].str.lower().str.contains(NOT_FOLKESKOLE)]
    schools = (
        schools.sort_values(["Skoleår", "Elevtal"], ascending=[True, False])
        .groupby("Skoleår").head(cap if cap is not None else len(schools))
    )
    return pd.DataFrame({
        "institutionsnummer": schools["Row Labels"],
        "skolenavn": schools["Institution"].str.strip(),
        "kommunekode": schools["Skoleår"],
        "kommune": schools["Skoleår"].map(municipalities),
        "elevtal": schools["Elevtal"].astype(int),
    }).sort_values(["kommunekode", "institutionsnummer"])


def main(skoletal: str) -> None:
    raw = pd.read_excel(skoletal, header=2, dtype=str)
    raw = raw[["Row Labels", "Institution", "Skoleår", "Elevtal"]].dropna(subset=["Institution"])
    for municipalities, cap, out_path in ((MUNICIPALITIES, MAX_SCHOOLS, OUT), (ALL_MUNICIPALITIES, None, NATIONAL_OUT)):
        out = schools_of(raw, municipalities, cap)
        if cap is None:
            out = pd.concat([out, pd.DataFrame(INVENTED_SCHOOLS, columns=out.columns)], ignore_index=True)
            out = out.sort_values(["kommunekode", "institutionsnummer"])
        out.to_csv(out_path, index=False)
        print(out.groupby("kommune").agg(skoler=("skolenavn", "size"), elever=("elevtal", "sum")))
        print(f"{len(out)} schools, {out['elevtal'].sum()} pupils, {out['kommunekode'].nunique()} municipalities "
              f"-> {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
