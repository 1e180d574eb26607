"""Privacy: pseudonyms at ingest, small-group suppression in every output, and a last check.

Pupil data is personal data about children (DOMAIN.md §5).  Three lines of defence:
1. ``pseudonymise``: ``elev_id`` (possibly a CPR number) becomes a keyed HMAC-SHA256 at
   ingest, so no raw identifier is ever stored in ``data/processed``;
2. ``suppress`` / ``suppress_complement``: every aggregated cell on too few pupils is blanked,
   and so is any cell from which a blanked one could be recovered (diskretionering);
3. ``scan_output``: the build reads its own output and refuses to publish if it finds a
   pseudonym or a CPR-like number.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import config

KEY_ENV = "DATAPAKKE_KEY"
KEY_FILE_ENV = "DATAPAKKE_KEY_FILE"
PSEUDONYM_HEX = 20  # 80 bits: collision-free for any school population, short in Parquet

#: DDMMYY-NNNN or DDMMYYNNNN with a plausible day and month: what a CPR number looks like.
CPR_RE = re.compile(r"(?<!\d)(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)")


class KeyError_(RuntimeError):
    """No pseudonymisation key for real data."""


def load_key(demo: bool) -> bytes:
    """The HMAC key: env var, or key file (outside the repo), or the documented demo key."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    key_file = os.environ.get(KEY_FILE_ENV)
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise KeyError_(f"Nøglefilen {path} (fra {KEY_FILE_ENV}) findes ikke.")
        return path.read_bytes().strip()
    if demo:
        return config.DEMO_KEY.encode()
    raise KeyError_(
        f"Mangler nøgle til pseudonymisering af elev_id. Sæt {KEY_ENV} eller {KEY_FILE_ENV} "
        "(en fil uden for repositoriet). Demo-nøglen gælder kun for syntetiske demodata."
    )


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash of each distinct id (hashing distinct values keeps 8 M answers fast)."""
    codes, uniques = pd.factorize(ids.astype(str), sort=False)
    hashed = np.array(
        [hmac.new(key, u.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX] for u in uniques],
        dtype=object,
    )
    out = pd.Series(hashed[codes] if len(codes) else [], index=ids.index, dtype="str")
    out[codes < 0] = pd.NA
    return out


def mask_cpr(text: str) -> str:
    """Never echo a CPR-like value in full: keep the birth date's day/month only."""
    return CPR_RE.sub(lambda m: m.group(1) + m.group(2) + "xx-xxxx", str(text))


def is_suppressed(n: pd.Series, survey: bool) -> pd.Series:
    """True where a cell rests on too few pupils (≤ 5 respondents for surveys, ≤ 3 otherwise)."""
    limit = config.MIN_SURVEY_N if survey else config.MIN_OTHER_N
    return pd.to_numeric(n, errors="coerce").fillna(0) <= limit


def suppress_complement(flags: pd.Series, n: pd.Series, groups: pd.DataFrame) -> pd.Series:
    """Secondary suppression: where exactly one part of a group is blanked, blank the next smallest.

    ``groups`` holds the columns that identify a total (e.g. school × round × dimension); the
    rows of one group are its parts (boys and girls, or the grades).  With the total shown,
    one blanked part could be recovered from the others; blanking the smallest other part
    too makes that impossible.  Repeats until no group has exactly one blanked part.
    """
    flags = flags.copy()
    n = pd.to_numeric(n, errors="coerce").fillna(0)
    key = pd.MultiIndex.from_frame(groups.astype(str)).factorize()[0] if len(groups) else np.array([], int)
    key = pd.Series(key, index=flags.index)
    while True:
        blanked = flags.groupby(key).transform("sum")
        size = flags.groupby(key).transform("size")
        lone = (blanked == 1) & (size > 1)
        if not lone.any():
            return flags
        candidates = n[lone & ~flags]
        pick = candidates.groupby(key[candidates.index]).idxmin()
        flags.loc[pick.to_numpy()] = True


def suppress(
    frame: pd.DataFrame, n_col: str, value_cols: list[str], survey: bool,
    complement_by: list[str] | None = None,
) -> pd.DataFrame:
    """Blank ``value_cols`` (and ``n_col``) on small groups; mark ``undertrykt``.

    ``complement_by``: the columns identifying a total whose parts are the rows (see
    ``suppress_complement``); omit for tables without a shown total.
    """
    out = frame.copy()
    flags = is_suppressed(out[n_col], survey)
    if complement_by:
        flags = suppress_complement(flags, out[n_col], out[complement_by])
    out["undertrykt"] = flags.to_numpy()
    for col in [*value_cols, n_col]:
        out[col] = out[col].astype(float).mask(flags)
    return out


def scan_output(folder: Path, pseudonyms: set[str]) -> list[str]:
    """Every place in ``folder``'s text files where a pupil id or a CPR-like number appears.

    Pseudonyms are fixed-length hex; we look for hex runs of that length and test set
    membership, which is fast even for 80,000 pupils over a whole site.
    """
    problems: list[str] = []
    hex_re = re.compile(rf"(?<![0-9a-f])[0-9a-f]{{{PSEUDONYM_HEX}}}(?![0-9a-f])")
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in {".html", ".csv", ".json", ".txt", ".md", ".ipynb", ".js"}:
            continue
        if path.name.startswith("plotly") and path.suffix == ".js":
            continue  # the vendored plotly.js library itself
        text = path.read_text(encoding="utf-8", errors="ignore")
        for m in hex_re.finditer(text):
            if m.group(0) in pseudonyms:
                problems.append(f"{path}: elev-pseudonym fundet ({m.group(0)[:4]}…)")
                break
        for m in CPR_RE.finditer(text):
            context = text[max(0, m.start() - 1): m.end() + 1]
            if re.fullmatch(r"\D?\d{6}-\d{4}\D?", context) or "cpr" in text[max(0, m.start() - 40): m.start()].lower():
                problems.append(f"{path}: CPR-lignende tal fundet ({mask_cpr(m.group(0))})")
                break
    return problems
