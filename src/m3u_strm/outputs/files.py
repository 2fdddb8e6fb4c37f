"""Writing one output file (a playlist, a guide) so that readers only ever see the old file or the new one.

The bytes go to a hidden temporary file in the target's directory, are flushed and fsynced, and the file is then
renamed over the target (``os.replace`` is atomic on POSIX) and the directory fsynced (FAULTS 18). A failure —
disk full, read-only file system — removes the temporary file, leaves the old file as it was, and is raised as
:class:`~m3u_strm.errors.OutputWriteError`.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from m3u_strm.errors import OutputWriteError

__all__ = ["write_file_atomically"]


def write_file_atomically(path: Path, chunks: Iterable[bytes], *, compress: bool = False) -> int:
    """Write ``chunks`` to ``path`` atomically (gzip-compressed when ``compress``); returns the bytes written."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputWriteError(f"Cannot write {path}: {exc.strerror}.") from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:  # closing it leaves raw open
                    packed.writelines(chunks)
            else:
                raw.writelines(chunks)
            raw.flush()
            os.fsync(raw.fileno())
            size = raw.tell()
        os.replace(temp, path)
        _fsync_directory(directory)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OutputWriteError(
            f"Cannot write {path}: {exc.strerror or exc}.", hint="The old file is unchanged."
        ) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return size


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
