"""Each school's tables as a Frictionless data package that validates, plus one Excel workbook."""
import pandas as pd
from frictionless import validate

from datapakke import build, datapackage

from .conftest import AARS, TINY


def test_package_validates_and_holds_only_aggregates(built, tmp_path):
    for school in (AARS, TINY):
        [p] = build.select(built.params, school=school)
        folder = datapackage.write_school_package(p, built, tmp_path / f"{school}_data")
        report = validate(str(folder / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])[:5]
        assert (folder / f"datapakke-{school}.xlsx").is_file()
        names = {f.stem for f in folder.glob("*.csv")}
        assert {"survey_means", "gender_gaps", "absence", "flags"} <= names
        for f in folder.glob("*.csv"):
            cols = pd.read_csv(f, nrows=0).columns
            assert "elev_id" not in cols, f.name
        means = pd.read_csv(folder / "survey_means.csv", dtype={"kode": str})
        assert set(means["kode"]) <= {school, p["municipality_code"], "program"}
        assert not list(tmp_path.glob(f".{school}_data.*"))  # no staging left behind
