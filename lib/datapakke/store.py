"""The processed store: versioned Parquet folders switched atomically, and safe file writes.

Why versions and a ``current`` symlink: an ingest that is killed half-way must leave the
previous processed data intact and readable.  Each ingest writes a complete new version
folder next to the old one; only when it is complete does one atomic ``os.replace`` of the
``current`` link make it live.  Readers always go through ``current``.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import config, frames

CURRENT = "current"


def current(processed: Path) -> Path:
    """The live version folder; a clear error if nothing has been ingested yet."""
    link = Path(processed) / CURRENT
    if not link.exists():
        raise FileNotFoundError(
            f"Ingen behandlede data i {processed}: kør først 'datapakke ingest' (eller 'make demo')."
        )
    return link.resolve()


#: The folder of a version holding the published tables (``publication.write_all``).
PUBLISHED = "publication"


def published(version: Path) -> Path:
    """The published (suppressed) tables of a version: the only tables pages may read."""
    return Path(version) / PUBLISHED


def is_demo(folder: Path) -> bool:
    """Was this raw folder or processed version made from synthetic demo data?"""
    return (Path(folder) / config.DEMO_FILE).is_file()


ROW_GROUP = 1_000_000


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic Parquet (no index, fixed row groups) so re-ingest is byte-identical.

    Categorical columns (``frames``) are written as the text they stand for, one row group at a
    time, so a country's long table is never held as text all at once.
    """
    if not any(isinstance(t, pd.CategoricalDtype) for t in frame.dtypes) or len(frame) <= ROW_GROUP:
        table = pa.Table.from_pandas(frames.plain(frame), preserve_index=False)
        pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP)
        return
    writer = None
    try:
        for start in range(0, len(frame), ROW_GROUP):
            part = pa.Table.from_pandas(frames.plain(frame.iloc[start:start + ROW_GROUP].reset_index(drop=True)),
                                        preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, part.schema, compression="zstd")
            writer.write_table(part, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def read_parquet(path: Path, filters=None, columns=None) -> pd.DataFrame:
    return pq.read_table(path, filters=filters, columns=columns).to_pandas()



class PublishedTables:
    """Published tables read once per process and kept: a page reads the rows it needs from memory.

    A build runs page after page in one warm kernel, and each school page reads some twenty
    published tables, the same files for every school.  Here each file is read once (as
    ``pq.read_table(path).to_pandas()``) and kept with an index of its rows by the key columns.
    An entry is used only while the file is the same file (path, inode, size and modification
    time): a new processed version is another folder, and a rewritten file another stamp, so
    nothing stale is ever served.  Only the newest version folder is kept.  Every caller gets its
    own frame (the selected rows, a new index), never the kept one.

    It lives on outside the kernel's reset (``build/kernel.py`` puts back plain dicts, lists and
    sets of our modules, not this object): what it holds is the immutable processed data.
    """

    def __init__(self):
        self._frames: dict[Path, tuple[tuple, pd.DataFrame, dict]] = {}

    def _entry(self, path: Path) -> tuple[pd.DataFrame, dict]:
        path = Path(path)
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._frames.get(path)
        if hit is None or hit[0] != stamp:
            for other in [k for k in self._frames if k.parent != path.parent]:
                del self._frames[other]  # another version: forget it
            hit = self._frames[path] = (stamp, pq.read_table(path).to_pandas(), {})
        return hit[1], hit[2]

    def rows(self, path: Path, by: str | tuple[str, ...], keys: list) -> pd.DataFrame:
        """The rows whose ``by`` column(s) equal one of ``keys``, in file order, as a new frame.

        The same rows, columns and dtypes as ``pq.read_table(path, filters=…).to_pandas()`` with one
        equality filter per key (a list of alternatives).
        """
        frame, indexes = self._entry(path)
        if by not in indexes:
            indexes[by] = frame.groupby(list(by) if isinstance(by, tuple) else by, sort=False).indices
        index = indexes[by]
        empty = np.zeros(0, np.int64)
        at = np.unique(np.concatenate([empty, *(index.get(k, empty) for k in keys)]))
        return frame.iloc[at].reset_index(drop=True)

    def clear(self) -> None:
        self._frames.clear()


#: This process's published tables (the pages of a warm kernel share it).
tables = PublishedTables()

def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


STAGING = ".staging-"
#: DuckDB's spill folders (``.duckdb-<pid>-<random>``, ``ingest.duck.session``), which a killed ingest leaves too.
SPILL = ".duckdb-"


def _staging_pid(folder: Path, prefix: str = STAGING) -> int | None:
    """The process id in a staging folder's name (``.staging-<pid>-<random>``), if any."""
    parts = folder.name[len(prefix):].split("-", 1)
    return int(parts[0]) if len(parts) == 2 and parts[0].isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_staging(processed: Path, started: float | None = None) -> list[Path]:
    """Remove staging folders (and DuckDB spill folders) left by an ingest that was killed half-way.

    A staging folder is stale when the process named in it is gone (or is this process,
    i.e. an earlier run in it), or, for a folder without a process id, when it is older
    than ``started``.  A spill folder is stale only when its process is gone: this process's
    own belongs to its open DuckDB session.  A concurrent ingest's folders are left alone.
    """
    removed = []
    processed = Path(processed)
    if not processed.is_dir():
        return removed
    for folder in processed.iterdir():
        prefix = next((p for p in (STAGING, SPILL) if folder.name.startswith(p)), None)
        if prefix is None or not folder.is_dir() or folder.is_symlink():
            continue
        pid = _staging_pid(folder, prefix)
        if pid is not None:
            # this process's own spill folder may be in use by its open DuckDB session
            stale = not _alive(pid) or (pid == os.getpid() and prefix == STAGING)
        else:
            stale = started is None or folder.stat().st_mtime < started
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def new_version(processed: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``processed/current``.

    On an exception the staging folder is discarded; after a kill (SIGKILL, power cut of the
    process) it stays behind, is never read (``current`` still points at the previous
    complete version) and is removed by the next ingest (``remove_stale_staging``).  The
    version ``current`` pointed at before is kept until the next switch, so a build that
    resolved it a moment earlier can finish reading; older versions are removed.
    """
    processed = Path(processed)
    processed.mkdir(parents=True, exist_ok=True)
    started = time.time()
    remove_stale_staging(processed, started)
    link = processed / CURRENT
    previous = os.readlink(link) if link.is_symlink() else None
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-", dir=processed))
    try:
        yield staging
        name = f"v-{_digest(staging)}"
        final = processed / name
        if final.exists():
            shutil.rmtree(staging)  # identical content already stored
        else:
            os.rename(staging, final)
        link_tmp = processed / f".{CURRENT}.tmp"
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        os.symlink(name, link_tmp)
        os.replace(link_tmp, link)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    keep = {name, previous}
    for old in processed.iterdir():
        if old.name.startswith("v-") and old.name not in keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    remove_stale_staging(processed, started)


@contextlib.contextmanager
def staged_files(folder: Path) -> Iterator[Path]:
    """Write files into a staging folder, then move each into ``folder`` with os.replace.

    Other files in ``folder`` (a README, a user's own exports) are left alone; nothing
    half-written ever appears under its final name.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        yield staging
        for f in sorted(staging.iterdir()):
            os.replace(f, folder / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    """This process's umask, read without changing it (``os.umask`` sets it, which races other threads)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()


def plain_mode(path: Path) -> Path:
    """Give a file from ``mkstemp`` (0600) or a folder from ``mkdtemp`` (0700) the mode ``open`` or
    ``mkdir`` would have given it (0666 / 0777 less the umask).

    Temp names keep a half-written file out of sight; they must not also make the reports and
    the site private to the account that built them — a web server or a colleague reads them.
    The processed store keeps its private version folders (pupil-level data).
    """
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~UMASK)
    return Path(path)


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temp file beside ``path``; rename over it only when writing succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        plain_mode(Path(tmp))
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
