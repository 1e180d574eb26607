"""Danish number formatting and small HTML tables for report text.

Reports are read by Danish school leaders: decimal comma, thousands point, "–" for a
suppressed or missing figure (with a footnote saying why), never "nan".
"""
from __future__ import annotations

import html
import math

import pandas as pd

from .config import DEMO_MARKER

SUPPRESSED = "–"
FOOTNOTE = ("– = ikke vist: for få elever bag tallet, eller tallet kunne regnes ud fra andre viste tal "
            "(diskretionering), eller tallet mangler. «højst 7 %» o.l.: det præcise tal ville vise 1–3 elever.")


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


def rounded(x, decimals: int = 0) -> float:
    """The value as ``num`` shows it (same rounding), as a number: differences of shown values use it."""
    if _missing(x):
        return math.nan
    return float(f"{float(x):.{decimals}f}")


def num(x, decimals: int = 0, suffix: str = "", sign: bool = False) -> str:
    """1234.56 → '1.234,6' (decimals=1); NaN/None → '–'; a value that rounds to zero is '0', never '+0' or '−0'."""
    if _missing(x):
        return SUPPRESSED
    value = rounded(x, decimals)
    if value == 0:
        value, sign = 0.0, False  # no "+0", no "−0"
    s = f"{value:{'+' if sign else ''},.{decimals}f}"
    s = s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return s.replace("-", "−") + suffix


def diff(a, b, decimals: int = 0, suffix: str = "", sign: bool = True) -> str:
    """a − b as the reader can check it: the difference of the two values *as shown* (505 − 531 = −26)."""
    return num(rounded(a, decimals) - rounded(b, decimals), decimals, suffix, sign)


def plural(n, one: str, many: str) -> str:
    """'1 punkt', '3 punkter', '1 skole', '0 skoler' (the count in Danish format)."""
    return f"{count(n)} {one if not _missing(n) and abs(float(n)) == 1 else many}"


def pct(x, decimals: int = 1) -> str:
    return num(x, decimals, " %")


def count(x) -> str:
    return num(x, 0)


def banded(x, text, formatter=pct) -> str:
    """A count or share as published: its band ('højst 7 %') where the exact figure is withheld."""
    if isinstance(text, str) and text:
        return text
    return formatter(x)


def demo_banner(demo: bool) -> str:
    """The synthetic-data marker every page built from demo data must show (DOMAIN.md §5)."""
    return f'<div class="dp-demo-banner" role="alert"><strong>{DEMO_MARKER}</strong></div>' if demo else ""


def is_suppressed_cell(value) -> bool:
    """A cell showing the suppression dash ('–' alone or '(–)'), not a range like '0.–3. kl.'."""
    v = str(value).strip()
    return v == SUPPRESSED or f"({SUPPRESSED})" in v or v.startswith(f"{SUPPRESSED} ")


def table(frame: pd.DataFrame, caption: str | None = None, footnote: bool = True, css: str = "dp-table") -> str:
    """A plain HTML table of already formatted strings (the caller formats the numbers)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in frame.itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    shown = any(is_suppressed_cell(v) for v in frame.to_numpy().ravel())
    note = f'<p class="dp-note">{FOOTNOTE}</p>' if footnote and shown else ""
    return f'<table class="{css}">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}'
