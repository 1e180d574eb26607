"""Is the published site still what ``reports/`` would give?  Answered from file stats alone.

``publish`` renders only the pages that changed (``publish.py``), but even finding that out
means reading every notebook.  When nothing under ``reports/`` was touched since the last
publish — same files, sizes and modification times, same processed version, same software,
same renderer — the site is current and ``datapakke publish`` has nothing to do.  This check
needs no notebook library, so a no-op ``datapakke all`` stays fast.  Any doubt (a file
rewritten with the same content, say) falls through to the full, content-based publish.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import config, store
from . import inputs

STATE = "site.json"
#: Folders under reports/ that are output or state, not input to the site.
SKIP = {"_site", inputs.STATE_DIR, ".quarto"}


def digest(paths: config.Paths, renderer: str) -> str:
    """Names, sizes and modification times of the site's inputs (hidden files and output excluded)."""
    parts = []
    for label, folder in (("reports", paths.reports), ("templates", paths.notebooks)):
        for dirpath, dirnames, filenames in os.walk(folder):
            top = Path(dirpath) == Path(folder)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (top and d in SKIP))
            rel = Path(dirpath).relative_to(folder)
            for name in sorted(f for f in filenames if not f.startswith(".")):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{label}/{rel / name}:{st.st_size}:{st.st_mtime_ns}")
    return inputs._h(parts, store.current(paths.processed).name, inputs.software(), renderer)


def is_current(paths: config.Paths, renderer: str) -> bool:
    try:
        state = json.loads((paths.reports / inputs.STATE_DIR / STATE).read_text(encoding="utf-8"))
        return (paths.site / "index.html").is_file() and state.get("digest") == digest(paths, renderer)
    except (OSError, ValueError):  # no state, or no processed data: publish decides (and reports)
        return False


def record(paths: config.Paths, renderer: str) -> None:
    path = paths.reports / inputs.STATE_DIR / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"digest": digest(paths, renderer)}), encoding="utf-8")
    os.replace(tmp, path)


def forget(paths: config.Paths) -> None:
    (paths.reports / inputs.STATE_DIR / STATE).unlink(missing_ok=True)
