"""Every path, threshold and name the pipeline shares, in one place.

Paths come from the *project folder*, never from where the package is installed: the folder
named by ``DATAPAKKE_HOME``, else the nearest folder from the current one upwards that holds
a ``datapakke.yaml`` (the repository has one), else the current folder.  Its layout is
``data/raw``, ``data/processed``, ``params/`` and ``reports/``; each can be overridden by an
environment variable (``DATAPAKKE_RAW`` …), and ``--base`` puts them all below one folder.

The notebook templates ship with the package (``datapakke/templates``, the repository's
``notebooks/`` folder), so an installed package builds like the repository does; set
``DATAPAKKE_NOTEBOOKS`` to use your own.  ``datapakke.yaml`` also holds project settings such
as ``workers`` and ``scheduler`` (see ``setting``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

HOME_ENV = "DATAPAKKE_HOME"
#: The project's settings file; it also marks the project folder.
PROJECT_FILE = "datapakke.yaml"
RESOURCES = Path(__file__).resolve().parent / "resources"


def project_dir() -> Path:
    """The project folder (see the module docstring)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return here


#: The project folder when the package was imported (prefer ``Paths``, which looks again).
ROOT = project_dir()


def templates() -> Path:
    """The notebook templates (and the site's ``_quarto.yml`` and ``assets/``)."""
    if os.environ.get("DATAPAKKE_NOTEBOOKS"):
        return Path(os.environ["DATAPAKKE_NOTEBOOKS"]).expanduser().resolve()
    return Path(str(resources.files("datapakke") / "templates")).resolve()


def setting(name: str, default=None):
    """A value from the project's ``datapakke.yaml`` (``workers: 4``, ``scheduler: tcp://…``)."""
    path = project_dir() / PROJECT_FILE
    if not path.is_file():
        return default
    import yaml  # noqa: PLC0415

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: kan ikke læses som YAML ({exc}).") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: forventede 'navn: værdi'-linjer, fandt {type(data).__name__}.")
    return data.get(name, default)


def _path(env: str, default: Path) -> Path:
    return Path(os.environ.get(env, default)).resolve()


@dataclass(frozen=True)
class Paths:
    """Where each stage reads and writes; one instance is passed down the pipeline (and to workers)."""

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
        """The project folder's paths, each overridable by its environment variable."""
        root = project_dir()
        return cls(
            raw=_path("DATAPAKKE_RAW", root / "data" / "raw"),
            processed=_path("DATAPAKKE_PROCESSED", root / "data" / "processed"),
            params=_path("DATAPAKKE_PARAMS", root / "params"),
            reports=_path("DATAPAKKE_REPORTS", root / "reports"),
            notebooks=templates(),
        )

    @classmethod
    def under(cls, base: Path) -> "Paths":
        """All data folders below one base folder (``--base``, tests, scratch builds)."""
        base = Path(base).resolve()
        return cls(
            raw=base / "raw",
            processed=base / "processed",
            params=base / "params",
            reports=base / "reports",
            notebooks=templates(),
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

#: The grade bands of the survey's breakdowns (a grade's band: ``gaps.grade_band``).
GRADE_BANDS: tuple[str, ...] = ("0.–3. kl.", "4.–6. kl.", "7.–9. kl.", "10. kl.")
