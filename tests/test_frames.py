"""Categorical frames: the same values and the same statistics as text, in a fraction of the memory."""
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from datapakke import frames, store


def test_categories_are_in_text_order_and_missing_stays_missing():
    c = frames.category(pd.Series(["b", None, "a", "b"], dtype="str"))
    assert list(c.categories) == ["a", "b"]
    assert c.isna().tolist() == [False, True, False, False]


def test_repeat_and_tile_are_numpy_repeat_and_tile():
    values = pd.Series(["x2", "x1", "x2"], dtype="str")
    assert list(frames.repeat(values, 3)) == list(np.repeat(values.to_numpy(), 3))
    assert list(frames.tile(["b", "a", "c"], 2)) == ["b", "a", "c", "b", "a", "c"]
    assert list(frames.tile(["b", "a", "c"], 2).categories) == ["a", "b", "c"]


def test_align_gives_one_type_and_joins_like_text():
    left = pd.DataFrame({"k": pd.Series(["a", "c", "d"], dtype="str"), "x": [1, 2, 3]})
    right = pd.DataFrame({"k": pd.Series(["c", "b", "a"], dtype="str"), "y": [10, 20, 30]})
    a, b = frames.align("k", left, right)
    assert a["k"].dtype == b["k"].dtype and list(a["k"].dtype.categories) == ["a", "b", "c", "d"]
    joined = frames.plain(a.merge(b, on="k", how="left"))
    pd.testing.assert_frame_equal(joined, left.merge(right, on="k", how="left"))


def test_mapped_looks_up_each_category_and_leaves_unknown_missing():
    m = frames.mapped(pd.Series(["s2", "s1", "s3", None], dtype="str"), pd.Series({"s1": "k1", "s2": "k2"}))
    assert [None if pd.isna(v) else v for v in m] == ["k2", "k1", None, None]


def test_plain_turns_categories_back_into_the_text_dtype():
    f = pd.DataFrame({"t": pd.Series(["a", None], dtype="str"), "n": [1, 2]})
    back = frames.plain(frames.compact(f.copy(), ["t"]))
    pd.testing.assert_frame_equal(back, f)


def test_a_categorical_frame_is_written_as_the_same_parquet_as_its_text(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ROW_GROUP", 4)  # several row groups, written one at a time
    rng = np.random.default_rng(1)
    text = pd.DataFrame({"id": pd.Series([f"p{i % 7}" for i in range(11)], dtype="str"),
                         "v": rng.normal(size=11)})
    store.write_parquet(text, tmp_path / "text.parquet")
    store.write_parquet(frames.compact(text.copy(), ["id"]), tmp_path / "cat.parquet")
    assert (tmp_path / "text.parquet").read_bytes() == (tmp_path / "cat.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "cat.parquet").metadata.num_row_groups == 3
