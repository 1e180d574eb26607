"""What goes wrong reading a user's file, said in Danish: ``ReadError`` and ``io_problem``."""
from __future__ import annotations

import errno
from pathlib import Path

import yaml


class ReadError(Exception):
    """A file that cannot be read: where (row), what was found and what was expected."""

    def __init__(self, row, value: str, expected: str):
        super().__init__(value)
        self.row, self.value, self.expected = row, value, expected



def io_problem(exc: OSError) -> tuple[str, str]:
    """(found, expected) in Danish for a file the system will not let us read."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return ("ingen adgang til filen (den er låst af et andet program, fx Excel, eller du har ikke "
                "læseadgang)", "en fil, der kan læses: luk den i programmet, der har den åben, eller få "
                "læseadgang, og prøv igen")
    if code in (errno.EBUSY, getattr(errno, "ETXTBSY", -1)):
        return ("filen er i brug af et andet program", "luk filen i programmet, der har den åben, og prøv igen")
    if isinstance(exc, IsADirectoryError):
        return "en mappe, ikke en fil", "en fil med tabellen"
    if isinstance(exc, FileNotFoundError):
        return "filen findes ikke (længere)", "filen i rådata-mappen (blev den flyttet under indlæsningen?)"
    name = errno.errorcode.get(code, str(code)) if code is not None else type(exc).__name__
    return (f"filen kan ikke læses (systemfejl {name})",
            "en fil, der kan åbnes: ligger den på et netværksdrev, så kopiér den til rådata-mappen og prøv igen")


class ConfigError(Exception):
    """A config file in the raw folder (``kilder.yaml``, …) that cannot be used: line and problem."""

    def __init__(self, line, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


def read_yaml(path: Path):
    """A YAML config file's content; ``ConfigError`` (line, Danish problem) if it cannot be read."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("-", io_problem(exc)[0]) from None
    except UnicodeDecodeError:
        raise ConfigError("-", "tegn, der ikke er UTF-8 (gem filen som UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        raise ConfigError(mark.line + 1 if mark is not None else "-",
                          f"YAML-fejl: {problem}" if problem else "YAML-fejl") from None
