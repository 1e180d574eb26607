"""The published tables a process keeps (store.PublishedTables): the same rows as a filtered read, never stale."""
import os

import pandas as pd
import pyarrow.parquet as pq

from datapakke import store


def _table(folder, values):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "survey_means.parquet"
    frame = pd.DataFrame({"niveau": ["skole", "kommune", "skole", "program", "skole"],
                          "kode": ["1", "820", "2", "program", "1"],
                          "score": values})
    store.write_parquet(frame, path)
    return path


def test_rows_are_what_a_filtered_read_gives(tmp_path):
    path = _table(tmp_path / "v-a" / store.PUBLISHED, [500.0, 501.5, 502.0, 503.0, float("nan")])
    tables = store.PublishedTables()
    for codes in ([("skole", "1"), ("kommune", "820"), ("program", "program")], [("skole", "9")], []):
        old = pq.read_table(path, filters=[[("niveau", "=", n), ("kode", "=", k)] for n, k in codes] or None).to_pandas() \
            if codes else pq.read_table(path).to_pandas().iloc[0:0].reset_index(drop=True)
        pd.testing.assert_frame_equal(tables.rows(path, ("niveau", "kode"), codes), old, check_exact=True)
    pd.testing.assert_frame_equal(tables.rows(path, "kode", ["1"]),
                                  pq.read_table(path, filters=[("kode", "=", "1")]).to_pandas(), check_exact=True)


def test_a_new_processed_version_is_read_not_served_from_the_old_one(tmp_path):
    tables = store.PublishedTables()
    old = _table(tmp_path / "v-a" / store.PUBLISHED, [500.0, 501.0, 502.0, 503.0, 504.0])
    assert tables.rows(old, "kode", ["1"])["score"].tolist() == [500.0, 504.0]
    new = _table(tmp_path / "v-b" / store.PUBLISHED, [600.0, 601.0, 602.0, 603.0, 604.0])
    assert tables.rows(new, "kode", ["1"])["score"].tolist() == [600.0, 604.0]
    assert all(p.parent == new.parent for p in tables._frames)  # the old version is forgotten


def test_a_rewritten_file_is_read_again(tmp_path):
    tables = store.PublishedTables()
    path = _table(tmp_path / "v-a" / store.PUBLISHED, [500.0, 501.0, 502.0, 503.0, 504.0])
    assert tables.rows(path, "kode", ["2"])["score"].tolist() == [502.0]
    st = path.stat()
    _table(path.parent, [700.0, 701.0, 702.0, 703.0, 704.0])  # same size: only the stamp tells
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert tables.rows(path, "kode", ["2"])["score"].tolist() == [702.0]


def test_a_caller_changing_its_rows_changes_nothing_kept(tmp_path):
    tables = store.PublishedTables()
    path = _table(tmp_path / "v-a" / store.PUBLISHED, [500.0, 501.0, 502.0, 503.0, 504.0])
    first = tables.rows(path, ("niveau", "kode"), [("skole", "1")])
    first.loc[0, "score"] = -1.0
    first["extra"] = 1
    again = tables.rows(path, ("niveau", "kode"), [("skole", "1")])
    assert again["score"].tolist() == [500.0, 504.0] and "extra" not in again.columns
