"""Which file holds which table: ``kilder.yaml`` first, then ``<table>.<ext>``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..validate import Report
from .errors import ConfigError, read_yaml
from .headers import config_line, config_problem, normalise_header
from .tables import EXTENSIONS, NOT_DATA, SOURCES_FILE, TABLES, UNSUPPORTED

@dataclass(frozen=True)
class Source:
    table: str
    path: Path
    sheet: str | int | None = None
    via_sources_file: bool = False

    @property
    def name(self) -> str:
        """How the file is named in messages: the name, plus the sheet if one was chosen."""
        return self.path.name


def _data_files(raw: Path) -> list[Path]:
    return sorted(p for p in Path(raw).iterdir()
                  if p.is_file() and not p.name.startswith((".", "~$")) and p.name not in NOT_DATA)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name the system cannot even look up (too long, a NUL byte)
        return False


def find_sources(raw: Path, report: Report) -> dict[str, Source]:
    """Table → file: ``kilder.yaml`` first, then ``<table>.<ext>`` (compared like a header)."""
    raw = Path(raw)
    sources: dict[str, Source] = {}
    listed = raw / SOURCES_FILE
    if listed.is_file():
        try:
            spec = read_yaml(listed) or {}
            if not isinstance(spec, dict):
                raise ValueError("filen skal være en liste af 'tabel: fil'")
        except (ConfigError, ValueError) as exc:
            report.add("bad_config", SOURCES_FILE, config_line(exc), "-", config_problem(exc),
                       "linjer som 'elever: elevliste.xlsx' eller 'elever: {fil: data.xlsx, ark: Elever}'")
            spec = {}
        for key, value in spec.items():
            table = normalise_header(key)
            if table not in TABLES:
                report.add("bad_config", SOURCES_FILE, "-", "-", f"tabellen '{key}'",
                           f"en af tabellerne {', '.join(TABLES)}")
                continue
            if isinstance(value, dict):
                fil = value.get("fil", value.get("file"))
                sheet = value.get("ark", value.get("sheet"))
            else:
                fil, sheet = value, None
            if not fil:
                report.add("bad_config", SOURCES_FILE, "-", "-", f"{key}: {value!r}",
                           f"et filnavn: '{table}: fil.xlsx' eller '{table}: {{fil: fil.xlsx, ark: Ark1}}'")
                continue
            path = (raw / str(fil)) if not Path(str(fil)).is_absolute() else Path(str(fil))
            if not _is_file(path):
                report.add("missing_file", SOURCES_FILE, "-", "-", f"{table}: {fil}",
                           f"en fil {fil} i {raw} (sådan som {SOURCES_FILE} angiver)")
                sources[table] = None  # type: ignore[assignment] - reported; don't fall back
                continue
            sources[table] = Source(table, path, sheet, True)
    by_table: dict[str, list[Path]] = {}
    for p in _data_files(raw):
        t = normalise_header(p.stem)
        if t in TABLES and (p.suffix.lower() in EXTENSIONS or p.suffix.lower() in UNSUPPORTED):
            by_table.setdefault(t, []).append(p)
    for table, paths in by_table.items():
        if table in sources:
            continue
        if len(paths) > 1:
            names = " og ".join(p.name for p in paths)
            report.add("ambiguous_file", paths[0].name, "-", "-", names,
                       f"én fil til tabellen {table}: fjern den forkerte, eller angiv den rigtige i {SOURCES_FILE}")
            sources[table] = None  # type: ignore[assignment]
            continue
        sources[table] = Source(table, paths[0])
    return sources  # a None value: the table's file was named but is missing or ambiguous (reported)
