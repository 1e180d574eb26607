"""Lean pupil-level frames: repeated text keys held as categories, turned back into text on the way out.

A whole country's long tables repeat a few short texts millions of times (a pupil's pseudonym
once per dimension, a school's number once per pupil-round): as text they take gigabytes, as
categories (one small integer per row, each text once) a fraction of it.  The statistics do
not change: pandas groups a categorical key exactly as the text key (the same rows, in the same
order), and the categories are kept in text order, so sorting by them sorts as the text would.

What leaves the aggregate stage (the aggregate tables, the processed Parquet files) is text
again (``plain``): readers never see a category.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def category(values) -> pd.Categorical:
    """``values`` as a categorical with its categories in text order (missing stays missing)."""
    c = pd.Categorical(values)
    order = sorted(c.categories)
    return c if list(c.categories) == order else c.reorder_categories(order)


def repeat(values, repeats: int) -> pd.Categorical:
    """Each value ``repeats`` times in a row, as a categorical (``np.repeat`` without a text copy)."""
    c = category(values)
    return pd.Categorical.from_codes(np.repeat(c.codes, repeats), dtype=c.dtype)


def tile(values: Iterable[str], times: int) -> pd.Categorical:
    """The sequence of ``values`` ``times`` over, as a categorical."""
    values = list(values)
    categories = sorted(set(values))
    codes = np.array([categories.index(v) for v in values], dtype=np.int8 if len(categories) < 127 else np.int32)
    return pd.Categorical.from_codes(np.tile(codes, times), categories=categories)


def compact(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame``, changed in place, with ``columns`` (where present) as categoricals in text order.

    One column at a time, so only one column's text and its categorical exist at once.
    """
    for col in columns:
        if col in frame.columns:
            frame[col] = category(frame[col])
    return frame


def align(column: str, *parts: pd.DataFrame) -> list[pd.DataFrame]:
    """The frames with ``column`` as one shared categorical type (every value of all of them, in text order).

    pandas joins categorical keys on their integer codes only when both sides have the very same
    categories; otherwise it turns both into text first, which is what this module avoids.
    """
    values = [pd.Series(p[column].dropna().unique()).astype(str) for p in parts]
    categories = pd.Index(pd.concat(values, ignore_index=True).unique()).sort_values()
    dtype = pd.CategoricalDtype(categories)
    return [p.assign(**{column: p[column].astype(dtype)}) for p in parts]


def mapped(values, mapping: pd.Series) -> pd.Categorical:
    """``values`` looked up in ``mapping`` (missing where it has no entry), as a categorical.

    The lookup is done once per category, not once per row.
    """
    c = category(values)
    per_category = pd.Series(c.categories).map(mapping)
    categories = sorted(per_category.dropna().unique())
    position = {v: i for i, v in enumerate(categories)}
    lookup = np.array([position.get(v, -1) if pd.notna(v) else -1 for v in per_category] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(lookup[np.asarray(c.codes)], categories=categories)


def constant(value: str, length: int) -> pd.Categorical:
    """One text ``length`` times: a categorical of one category (a level's ``niveau``/``kode``)."""
    return pd.Categorical.from_codes(np.zeros(length, dtype=np.int8), categories=[value])


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every categorical column as its categories' type again (text as ``str``)."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    out = frame.copy(deep=False)
    for c in cats:
        kind = frame[c].cat.categories.dtype
        out[c] = frame[c].astype("str" if pd.api.types.is_string_dtype(kind) or kind == object else kind)
    return out


def give_back_memory() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc's ``malloc_trim``).

    After a country's pupil-level frames are dropped, glibc keeps much of what they used for
    later allocations of the process; the steps that follow need far less, and the ingest's
    peak is what a machine must have.  Elsewhere than glibc this only collects garbage.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass
