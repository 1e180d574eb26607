"""Incremental builds: a page is rebuilt only when a digest of everything it reads has changed.

A page's inputs are

* the rows of the processed data it can read — one small function per page kind below
  (``school_data``, ``overview_data``, ``explorer_data``), so that they can be pointed at other
  tables when the pages read from somewhere else;
* its params (the overview: all its schools' params, and which school reports exist to link);
* the notebook template;
* the software: datapakke's version and a digest of its code, the versions of the libraries
  that shape the output, and the suppression settings.

The digest is stored beside the output (``.<page>.build.json``, hidden from the site); a page
whose stored digest matches, and whose output is still there, is skipped.  ``--force``
rebuilds regardless.  The raw folder gets the same treatment for ingest (``raw_digest``).

Digests of the data slices are computed once per processed version (one read of each
aggregate table, row hashes grouped by municipality) and cached under ``reports/.datapakke``;
the version folder's name is itself a digest of its content, so the cache never goes stale.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from .. import config, store

#: Hidden folder under reports/ for build state (kernel logs, cached digests); Quarto skips dot-folders.
STATE_DIR = ".datapakke"
#: Libraries whose version changes what a page looks like.
LIBRARIES = ("plotly", "pandas", "numpy", "pyarrow", "scipy", "statsmodels", "duckdb", "papermill", "nbformat")
#: Key under which rows shared by every municipality (programme, country) are digested.
SHARED = "*"


def _h(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, ensure_ascii=False,
                                                                default=str).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()[:32]


# --- the software ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def software() -> str:
    """datapakke's version and code, the libraries' versions, the suppression settings."""
    package = Path(__file__).resolve().parents[1]
    code = sorted(p for p in package.rglob("*") if p.is_file() and "templates" not in p.relative_to(package).parts
                  and "__pycache__" not in p.parts)
    versions = {}
    for name in ("datapakke", *LIBRARIES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return _h(versions, [(str(p.relative_to(package)), file_digest(p)) for p in code],
              {"min_survey_n": config.MIN_SURVEY_N, "min_other_n": config.MIN_OTHER_N})


# --- the processed data ---------------------------------------------------------------------------
def _slice_digests(version: Path) -> dict[str, str]:
    """Per municipality code (and ``SHARED``), a digest of its rows in every aggregate table.

    A row belongs to a municipality when it is the municipality's (``niveau`` kommune), one of
    its schools' (``niveau`` skole) or, in tables without ``niveau``, carries its
    ``kommunekode``; every other row (programme, country, tables such as ``rounds``) is shared.
    """
    import pandas as pd  # noqa: PLC0415 - only when a build needs it
    import pyarrow.parquet as pq  # noqa: PLC0415

    agg = store.published(version)
    schools = pd.read_parquet(agg / "schools.parquet", columns=["institutionsnummer", "kommunekode"])
    municipality_of = dict(zip(schools["institutionsnummer"].astype(str), schools["kommunekode"].astype(str)))
    per_key: dict[str, list[str]] = {}
    for path in sorted(agg.glob("*.parquet")):
        if path.stem in AUDIT_ONLY:
            continue
        frame = pq.read_table(path).to_pandas()
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        if {"niveau", "kode"} <= set(frame.columns):
            kode = frame["kode"].astype(str)
            key = kode.where(frame["niveau"] == "kommune",
                             kode.map(municipality_of).where(frame["niveau"] == "skole"))
        elif "kommunekode" in frame.columns:
            key = frame["kommunekode"].astype(str)
        else:
            key = pd.Series(SHARED, index=frame.index)
        key = key.fillna(SHARED).to_numpy()
        header = [path.name, [f"{c}:{t}" for c, t in zip(frame.columns, frame.dtypes.astype(str))]]
        for k in pd.unique(key):
            per_key.setdefault(str(k), []).append(_h(header, rows[key == k].tobytes()))
    return {k: _h(v) for k, v in per_key.items()} | {"demo": str(store.is_demo(version))}


#: Published tables no page reads (the audit's map of cells); they do not decide a rebuild.
AUDIT_ONLY = {"celler", "derived"}


class Inputs:
    """The input digests of one build's pages (the processed version is read once, lazily)."""

    def __init__(self, paths: config.Paths):
        self.paths = paths
        self.version = store.current(paths.processed)
        self._slices: dict[str, str] | None = None
        self._templates: dict[Path, str] = {}

    @property
    def slices(self) -> dict[str, str]:
        if self._slices is None:
            cache = self.paths.reports / STATE_DIR / f"slices-{self.version.name}.json"
            try:
                self._slices = json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._slices = _slice_digests(self.version)
                cache.parent.mkdir(parents=True, exist_ok=True)
                for old in cache.parent.glob("slices-*.json"):
                    old.unlink(missing_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self._slices), encoding="utf-8")
                os.replace(tmp, cache)
        return self._slices

    def template(self, path: Path) -> str:
        if path not in self._templates:
            self._templates[path] = file_digest(path)
        return self._templates[path]

    # --- what each page kind reads: point these at other tables when the pages do ------------
    def school_data(self, p: dict) -> str:
        """A school page reads its own, its municipality's (with the other schools', e.g. for
        the funnel plot) and the programme's and country's rows."""
        return _h(self.slices.get(p["municipality_code"]), self.slices[SHARED], self.slices["demo"])

    def overview_data(self, municipality_code: str) -> str:
        """The overview reads the municipality's schools, the municipality, programme and country."""
        return _h(self.slices.get(municipality_code), self.slices[SHARED], self.slices["demo"])

    def explorer_data(self) -> str:
        """The explorer reads everything (DuckDB over the whole version): the version's own digest."""
        return self.version.name

    # --- the digests stored beside the outputs ---------------------------------------------------
    def school(self, p: dict, template: Path) -> str:
        return _h("school", self.school_data(p), params_digest(p), self.template(template), software())

    def overview(self, municipality_code: str, schools: Iterable[dict], linked: Iterable[str],
                 template: Path) -> str:
        return _h("overview", self.overview_data(municipality_code), sorted(params_digest(p) for p in schools),
                  sorted(linked), self.template(template), software())

    def explorer(self, template: Path) -> str:
        return _h("explorer", self.explorer_data(), self.template(template), software())


def params_digest(p: dict) -> str:
    """The parsed params (a comment edited in the YAML file changes nothing)."""
    return _h({k: v for k, v in p.items() if not k.startswith("_")})


# --- state beside the output ------------------------------------------------------------------------
def state_path(out: Path) -> Path:
    """``reports/x/861010-aars-skole.ipynb`` → ``reports/x/.861010-aars-skole.build.json``."""
    return Path(out).with_name(f".{Path(out).stem}.build.json")


def stored(out: Path) -> str | None:
    try:
        return json.loads(state_path(out).read_text(encoding="utf-8")).get("inputs")
    except (OSError, ValueError):
        return None


def is_current(out: Path, digest: str, also: Iterable[Path] = ()) -> bool:
    """The output (and ``also``, e.g. the data package) exists and was built from ``digest``."""
    return Path(out).is_file() and all(Path(a).exists() for a in also) and stored(out) == digest


def record(out: Path, digest: str) -> None:
    path = state_path(out)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"inputs": digest}), encoding="utf-8")
    os.replace(tmp, path)


def forget(out: Path) -> None:
    state_path(out).unlink(missing_ok=True)


# --- ingest ---------------------------------------------------------------------------------------------
INGEST_STATE = "ingest-state.json"


def raw_digest(raw: Path) -> str:
    """Every file under ``raw`` (names and contents), the software, and the pseudonymisation key's
    fingerprint (an HMAC of a fixed text: it identifies the key without revealing it)."""
    import hmac  # noqa: PLC0415

    from .. import privacy  # noqa: PLC0415

    raw = Path(raw)
    files = sorted(p for p in raw.rglob("*") if p.is_file())
    key = privacy.load_key(store.is_demo(raw), forbidden=(raw,))
    fingerprint = hmac.new(key, b"datapakke ingest state", hashlib.sha256).hexdigest()[:16]
    return _h([(str(p.relative_to(raw)), file_digest(p)) for p in files], software(), fingerprint)


def ingest_is_current(paths: config.Paths) -> bool:
    """Raw data unchanged since the ingest that made ``processed/current``?"""
    try:
        state = json.loads((paths.processed / INGEST_STATE).read_text(encoding="utf-8"))
        live = store.current(paths.processed).name
        return state.get("version") == live and state.get("raw") == raw_digest(paths.raw)
    except Exception:  # noqa: BLE001 - no state, no data, no key: ingest decides and reports
        return False


def record_ingest(paths: config.Paths) -> None:
    state = {"raw": raw_digest(paths.raw), "version": store.current(paths.processed).name}
    path = paths.processed / INGEST_STATE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)
