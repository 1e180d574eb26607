"""The store's safe writes: nothing half-written appears, and what appears has the usual permissions."""
import os
import stat
import tempfile

from datapakke import store


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_umask_is_read_without_changing_it():
    mask = os.umask(0o027)
    try:
        assert store._umask() == 0o027
        assert os.umask(0o027) == 0o027  # still what it was
    finally:
        os.umask(mask)


def test_atomic_write_gives_the_mode_a_plain_open_gives(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with store.atomic_write(tmp_path / "params.yaml") as fh:
        fh.write("school_id: '861010'\n")
    assert _mode(tmp_path / "params.yaml") == _mode(plain) == 0o666 & ~store.UMASK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "plain.txt"]  # no temp file left


def test_plain_mode_undoes_the_private_modes_of_temp_files_and_folders(tmp_path):
    folder = tempfile.mkdtemp(dir=tmp_path)
    fd, file = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    assert _mode(folder) == 0o700 and _mode(file) == 0o600
    store.plain_mode(folder)
    store.plain_mode(file)
    (tmp_path / "made").mkdir()
    assert _mode(folder) == _mode(tmp_path / "made") == 0o777 & ~store.UMASK
    assert _mode(file) == 0o666 & ~store.UMASK
