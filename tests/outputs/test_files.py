"""write_file_atomically: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from m3u_strm.errors import OutputWriteError
from m3u_strm.outputs.files import write_file_atomically


def test_writes_plain_and_gzip(tmp_path: Path) -> None:
    plain, packed = tmp_path / "out" / "list.m3u", tmp_path / "guide.xml.gz"
    assert write_file_atomically(plain, [b"#EXTM3U\n", b"x\n"]) == 10
    write_file_atomically(packed, [b"<tv>", b"</tv>"], compress=True)
    assert plain.read_bytes() == b"#EXTM3U\nx\n"
    assert gzip.decompress(packed.read_bytes()) == b"<tv></tv>"


def _failing(error: BaseException) -> Iterator[bytes]:
    yield b"#EXTM3U\n" * 1000
    raise error


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EROFS, "Read-only file system")],
    ids=["disk-full", "read-only"],
)
def test_a_failed_write_keeps_the_old_file_and_says_why(tmp_path: Path, error: OSError) -> None:
    target = tmp_path / "list.m3u"
    target.write_bytes(b"old playlist\n")
    with pytest.raises(OutputWriteError, match=error.strerror or ""):
        write_file_atomically(target, _failing(error))
    assert target.read_bytes() == b"old playlist\n"
    assert [p.name for p in tmp_path.iterdir()] == ["list.m3u"]  # no temporary file left behind


def test_an_interrupted_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "list.m3u"
    with pytest.raises(KeyboardInterrupt):
        write_file_atomically(target, _failing(KeyboardInterrupt()))
    assert list(tmp_path.iterdir()) == []


def test_a_directory_in_the_way_is_an_output_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a directory should be")
    with pytest.raises(OutputWriteError, match="Cannot write"):
        write_file_atomically(tmp_path / "taken" / "list.m3u", [b"x"])
