"""The one atomic-write helper: never over a file unless asked, umask honoured, no partial file."""

import os
import stat
import sys

import pytest

from metaview import atomic
from metaview.errors import OutputError


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_bytes_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    assert atomic.write_bytes(target, b"a,b\n1,2\n") == target
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_existing_file_is_refused_without_overwrite(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"theirs")
    with pytest.raises(OutputError) as info:
        atomic.write_bytes(target, b"ours")
    assert str(info.value) == f"'{target}' exists; use --force to overwrite it"
    assert target.read_bytes() == b"theirs"
    atomic.write_bytes(target, b"ours", overwrite=True)
    assert target.read_bytes() == b"ours"


def test_a_file_appearing_while_writing_is_not_overwritten(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(OutputError, match="exists; use --force"):
        with atomic.atomic_write(target) as out:
            out.write(b"ours")
            target.write_bytes(b"theirs")  # someone else, meanwhile
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_file_permissions_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic.write_bytes(tmp_path / "f.txt", b"x")
        assert atomic.umask() == mask
        assert os.umask(mask) == mask  # reading it left it as it was
        atomic.write_bytes(tmp_path / "g.txt", b"x", overwrite=False)
        with atomic.atomic_write(tmp_path / "h.yaml", mode=0o644) as out:
            out.write(b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "f.txt") == 0o666 & ~mask
    assert mode(tmp_path / "g.txt") == 0o666 & ~mask
    assert mode(tmp_path / "h.yaml") == 0o644 & ~mask


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_replaced_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic.write_bytes(target, b"new", overwrite=True)
    assert mode(target) == 0o640 and target.read_bytes() == b"new"


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_no_partial_file_on_failure(tmp_path, error):
    target = tmp_path / "out.csv"
    target.write_bytes(b"previous")
    with pytest.raises((OutputError, KeyboardInterrupt)) as info:
        with atomic.atomic_write(target, overwrite=True) as out:
            out.write(b"half of it")
            raise error
    if isinstance(error, OSError):
        assert str(info.value) == f"cannot write '{target}': No space left on device"
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_no_file_at_all_when_a_new_file_fails(tmp_path):
    target = tmp_path / "new.csv"
    with pytest.raises(ValueError):
        with atomic.atomic_write(target) as out:
            out.write(b"half")
            raise ValueError("renderer failed")
    assert not list(tmp_path.iterdir())


def test_missing_folder_and_folder_target_are_one_line(tmp_path):
    with pytest.raises(OutputError) as info:
        atomic.write_bytes(tmp_path / "no" / "f.csv", b"x")
    assert str(info.value) == (f"cannot write '{tmp_path / 'no' / 'f.csv'}': folder "
                               f"'{tmp_path / 'no'}' does not exist")
    with pytest.raises(OutputError) as info:
        atomic.write_bytes(tmp_path, b"x", overwrite=True)
    assert str(info.value) == f"cannot write '{tmp_path}': it is a folder"


def test_raw_variant_raises_file_exists(tmp_path):
    target = tmp_path / "s.yaml"
    target.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        with atomic.raw_atomic_write(target) as out:
            out.write(b"ours")
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]
