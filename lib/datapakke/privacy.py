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
CPR_PATTERN = r"(?<!\d)(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)"
CPR_RE = re.compile(CPR_PATTERN)
#: The same without capturing groups, for ``Series.str.contains``.
CPR_SEARCH = r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)"
#: A CPR number that lost its leading zero on the way through Excel (0102031234 → 102031234).
CPR_LOST_ZERO_RE = re.compile(r"(?<![\d.,])([1-9])(0[1-9]|1[0-2])\d{2}-?\d{4}(?![\d])")


class KeyError_(RuntimeError):
    """No pseudonymisation key for real data."""


def load_key(demo: bool, forbidden: tuple[Path, ...] = ()) -> bytes:
    """The HMAC key: env var, or key file (outside the repo), or the documented demo key.

    A key file inside the repository (or inside ``forbidden`` folders such as the raw and
    processed data) is refused: it would be one ``git add`` or one copied folder away from
    travelling with the data it protects.  Real data is never pseudonymised with the
    published demo key.
    """
    key = None
    if os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
    elif os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV]).expanduser()
        if not path.is_file():
            raise KeyError_(f"Nøglefilen {path} (fra {KEY_FILE_ENV}) findes ikke.")
        resolved = path.resolve()
        for folder in (config.ROOT, *forbidden):
            folder = Path(folder).resolve()
            if resolved == folder or folder in resolved.parents:
                raise KeyError_(
                    f"Nøglefilen {path} (fra {KEY_FILE_ENV}) ligger inde i {folder}. Nøglen skal ligge uden for "
                    "repositoriet og uden for datamapperne (fx /sikker/sti/noegle.txt), så den aldrig kommer med "
                    "i git eller følger med en kopi af data."
                )
        key = path.read_bytes().strip()
        if not key:
            raise KeyError_(f"Nøglefilen {path} (fra {KEY_FILE_ENV}) er tom.")
    if key is None:
        if demo:
            return config.DEMO_KEY.encode()
        raise KeyError_(
            f"Mangler nøgle til pseudonymisering af elev_id. Sæt {KEY_ENV} eller {KEY_FILE_ENV} "
            "(en fil uden for repositoriet). Demo-nøglen gælder kun for syntetiske demodata."
        )
    if not demo and key == config.DEMO_KEY.encode():
        raise KeyError_("Demo-nøglen er offentlig og gælder kun for syntetiske demodata; brug en hemmelig nøgle.")
    return key


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


def mask_cpr_lenient(text: str) -> str:
    """``mask_cpr``, and also a CPR number whose leading zero Excel dropped (102031234).

    For messages about input values (the validation report), where a false positive only
    hides a number the user can find by its row.
    """
    text = mask_cpr(text)
    return CPR_LOST_ZERO_RE.sub(lambda m: "0" + m.group(1) + m.group(2) + "xx-xxxx", text)


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
