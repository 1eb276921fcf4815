"""User files: `domshare import` reads regular files only, within a size bound, and exports
get the mode an ordinary new file gets under the process's umask."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from jobs import cli, files
from jobs.errors import InvalidData
from local_server import catalogue_store
from store_contents import table_contents


@pytest.mark.parametrize("what, problem", [
    ("fifo", "not a regular file (a pipe, device or socket)"),
    ("/dev/zero", "not a regular file"),
    ("folder", "a folder: give a file"),
    ("missing", "cannot read the file (No such file or directory)"),
])
def test_import_refuses_what_is_no_regular_file_without_reading_it(sqlite_url, tmp_path, capsys, what, problem):
    engine = catalogue_store(sqlite_url)
    path = {"fifo": tmp_path / "pipe.csv", "/dev/zero": "/dev/zero", "folder": tmp_path,
            "missing": tmp_path / "nope.csv"}[what]
    if what == "fifo":
        os.mkfifo(path)  # nobody ever writes to it: reading it would hang
    before = table_contents(engine)
    finished = []
    worker = threading.Thread(target=lambda: finished.append(cli.main(["import", str(path), "--db", sqlite_url])))
    worker.start()
    worker.join(timeout=20)
    assert finished == [4], "import hung or did not refuse"
    err = capsys.readouterr().err
    assert f"{path}: nothing was imported" in err and problem in err
    assert table_contents(engine) == before
    engine.dispose()


def test_a_file_over_the_bound_is_refused_and_one_within_is_read(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    with pytest.raises(InvalidData, match="101 bytes, over the 100-byte limit"):
        files.read_input(path, "nothing was imported", max_bytes=100)
    assert files.read_input(path, "nothing was imported", max_bytes=101) == b"x" * 101


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_exports_get_the_mode_of_the_process_umask(sqlite_url, tmp_path, capsys, umask, mode):
    catalogue_store(sqlite_url).dispose()
    previous = os.umask(umask)
    try:
        assert cli.main(["export", "--db", sqlite_url, "--out", str(tmp_path / "out")]) == 0
    finally:
        os.umask(previous)
    written = [p for p in (tmp_path / "out").iterdir() if p.is_file()]
    assert written and {stat.S_IMODE(p.stat().st_mode) for p in written} == {mode}
