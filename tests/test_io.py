"""Output files (skscore._io): atomic replacement, links, permissions, pipes."""

import os
import stat
import threading

import pytest

from skscore import _io
from skscore._io import atomic_write, check_directory, write_stream

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits, links and pipes")


def _names(directory):
    return sorted(p.name for p in directory.iterdir())


def test_new_file_and_bytes(tmp_path):
    atomic_write(tmp_path / "a.txt", "héllo\n")
    atomic_write(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["a.txt", "b.bin"]


@posix_only
def test_replacing_keeps_the_permission_bits(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    atomic_write(path, "new\n")
    assert path.read_text() == "new\n" and os.stat(path).st_mode & 0o777 == 0o640
    os.chmod(path, 0o604)
    atomic_write(path, "newer\n")
    assert os.stat(path).st_mode & 0o777 == 0o604
    assert _names(tmp_path) == ["out.csv"]


@posix_only
def test_a_symlink_is_followed_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "data.csv"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    link = tmp_path / "link.csv"
    os.symlink(os.path.join("real", "data.csv"), link)
    atomic_write(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "data.csv")
    assert target.read_text() == "new\n" and os.stat(target).st_mode & 0o777 == 0o600
    assert _names(tmp_path) == ["link.csv", "real"] and _names(tmp_path / "real") == ["data.csv"]


def test_no_overwrite(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write(path, "first\n", overwrite=False)
    with pytest.raises(FileExistsError):
        atomic_write(path, "second\n", overwrite=False)
    assert path.read_text() == "first\n" and _names(tmp_path) == ["out.csv"]


def test_no_overwrite_checks_at_the_rename(tmp_path, monkeypatch):
    """A file that appears while the data are written is not replaced."""
    path = tmp_path / "out.csv"
    fsync = os.fsync

    def appear(fd):
        fsync(fd)
        path.write_text("someone else's\n")

    monkeypatch.setattr(_io.os, "fsync", appear)
    with pytest.raises(FileExistsError):
        atomic_write(path, "mine\n", overwrite=False)
    assert path.read_text() == "someone else's\n" and _names(tmp_path) == ["out.csv"]


def test_a_directory_is_not_replaced(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        atomic_write(tmp_path / "d", "x\n")
    assert (tmp_path / "d").is_dir() and _names(tmp_path) == ["d"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_not_replaced_but_can_be_streamed_to(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="is a named pipe"):
        atomic_write(fifo, "x\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and _names(tmp_path) == ["pipe"]

    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_stream(fifo, "a,b\n1,2\n")
    reader.join(10)
    assert received == [b"a,b\n1,2\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_write_stream_refuses_a_regular_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("keep\n")
    with pytest.raises(ValueError, match="not a named pipe"):
        write_stream(path, "x\n")
    assert path.read_text() == "keep\n"
    with pytest.raises(FileNotFoundError):
        write_stream(tmp_path / "missing", "x\n")  # never created
    assert _names(tmp_path) == ["file.txt"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch, error):
    path = tmp_path / "out.csv"
    path.write_text("old\n")

    def fail(fd):
        raise error

    monkeypatch.setattr(_io.os, "fsync", fail)
    with pytest.raises(error):
        atomic_write(path, "new\n")
    assert path.read_text() == "old\n" and _names(tmp_path) == ["out.csv"]


def test_check_directory(tmp_path):
    check_directory(tmp_path)
    assert _names(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        check_directory(tmp_path / "missing")
