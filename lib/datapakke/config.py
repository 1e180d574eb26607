"""Every path, threshold and name the pipeline shares, in one place.

Paths are anchored at the repository root (not the current directory) so that the CLI,
papermill-executed notebooks and tests all agree on where data lives.  Each can be
overridden by an environment variable, which is how tests point the pipeline at a
temporary folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = Path(__file__).resolve().parent / "resources"


def _path(env: str, default: Path) -> Path:
    return Path(os.environ.get(env, default)).resolve()


@dataclass(frozen=True)
class Paths:
    """Where each stage reads and writes; one instance is passed down the pipeline."""

    raw: Path
    processed: Path
    params: Path
    reports: Path
    notebooks: Path

    @property
    def aggregates(self) -> Path:
        return self.processed / "aggregates"

    @property
    def site(self) -> Path:
        return self.reports / "_site"

    @classmethod
    def default(cls) -> "Paths":
        return cls(
            raw=_path("DATAPAKKE_RAW", ROOT / "data" / "raw"),
            processed=_path("DATAPAKKE_PROCESSED", ROOT / "data" / "processed"),
            params=_path("DATAPAKKE_PARAMS", ROOT / "params"),
            reports=_path("DATAPAKKE_REPORTS", ROOT / "reports"),
            notebooks=_path("DATAPAKKE_NOTEBOOKS", ROOT / "notebooks"),
        )

    @classmethod
    def under(cls, base: Path) -> "Paths":
        """All data folders below one base folder (tests, scratch builds); notebooks stay."""
        base = Path(base).resolve()
        return cls(
            raw=base / "raw",
            processed=base / "processed",
            params=base / "params",
            reports=base / "reports",
            notebooks=ROOT / "notebooks",
        )


# --- privacy (DOMAIN.md §5) -------------------------------------------------------------
#: A survey figure built on this many respondents or fewer is suppressed.
MIN_SURVEY_N = int(os.environ.get("DATAPAKKE_MIN_SURVEY_N", 5))
#: Any other figure built on this many pupils or fewer is suppressed.
MIN_OTHER_N = int(os.environ.get("DATAPAKKE_MIN_OTHER_N", 3))
if MIN_SURVEY_N < 5 or MIN_OTHER_N < 3:
    raise ValueError("Diskretionering: grænserne må ikke sættes lavere end 5 (spørgeskema) og 3 (øvrige).")

#: The demo data's documented pseudonymisation key. Never valid for real data.
DEMO_KEY = "datapakke-demo-key-not-secret"
DEMO_MARKER = "Syntetiske demodata – ikke rigtige skoletal"
#: The file that marks a raw or processed folder as synthetic demo data.
DEMO_FILE = "DEMODATA.txt"

# --- survey ----------------------------------------------------------------------------
ROUNDS = ("T1", "T2", "T3")
#: Dimensions of the kortlægning pupil questionnaire, in report order, with Danish labels.
DIMENSIONS = {
    "faglig_trivsel": "Faglig trivsel",
    "social_trivsel": "Social trivsel",
    "laeringsmotivation": "Læringsmotivation",
    "relation_til_laererne": "Relation til lærerne",
    "klasseledelse": "Klasseledelse (ro og orden)",
    "foraeldreinvolvering": "Forældreinvolvering",
    "fravaer_af_mobning": "Fravær af mobning",
}
SCALE_MEAN, SCALE_SD = 500.0, 100.0

# --- national wellbeing survey (trivselsmålingen) ---------------------------------------
TRIVSEL_INDICATORS = {
    "faglig_trivsel": "Faglig trivsel",
    "social_trivsel": "Social trivsel",
    "stoette_og_inspiration": "Støtte og inspiration",
    "ro_og_orden": "Ro og orden",
    "generel_skoletrivsel": "Generel skoletrivsel",
}
TRIVSEL_BANDS = ("1,0-2,0", "2,1-3,0", "3,1-4,0", "4,1-5,0")

# --- absence -----------------------------------------------------------------------------
ABSENCE_TYPES = {"sygdom": "Sygefravær", "lovligt": "Lovligt fravær", "ulovligt": "Ulovligt fravær"}
#: Share of pupils above this total absence is the ministry's "bekymrende fravær" statistic.
CONCERNING_ABSENCE_PCT = 10.0
#: Legal triggers: unlawful absence within a quarter (parents warned / municipality notified).
UNLAWFUL_QUARTER_PCTS = (10.0, 15.0)

# --- data quality ------------------------------------------------------------------------
#: Below this response rate (%) a round's figures get a visible warning.
LOW_RESPONSE_RATE_PCT = 80.0
