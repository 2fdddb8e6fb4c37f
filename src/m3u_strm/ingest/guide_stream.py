"""A guide's bytes before any XML is parsed: opened from a path or a file object, gunzipped, capped.

Gzip is detected by its magic bytes (``1f 8b``), not by the file name, and more than ``max_bytes`` after
decompression raises :class:`LimitExceededError`, so a gzip bomb stops at the cap::

    with open_guide("epg.xml.gz", max_bytes=1024**3, source_name="Freeview") as stream:
        while chunk := stream.read(64 * 1024):
            ...  # XML bytes; stream.bytes_read counts them
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from m3u_strm.errors import IngestError, LimitExceededError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_GZIP_MAGIC = b"\x1f\x8b"


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes | None: ...


# A path (a ``str`` is always a path) or anything with a blocking binary ``read``: an open file, a BinaryIO,
# a RawIOBase.
GuideSource = _Readable | str | os.PathLike[str]


def _read_bytes(raw: _Readable, size: int) -> bytes:
    data = raw.read(size)
    if not isinstance(data, bytes):  # str from a text-mode file, None from a non-blocking stream
        raise TypeError("A guide must be read from a blocking binary stream (open files with 'rb').")
    return data


class _Replay:
    """Serves the bytes already read to sniff the format, then the rest of the stream."""

    def __init__(self, head: bytes, rest: _Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            head = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(head) :]
            return head
        return _read_bytes(self._rest, size)

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation("a guide stream cannot seek")


class GuideStream(io.RawIOBase):
    """A guide's XML bytes: gunzipped when needed, capped at ``max_bytes``, counted in ``bytes_read``."""

    def __init__(
        self, inner: _Replay | gzip.GzipFile, *, max_bytes: int, source_name: str, owned: Sequence[io.IOBase]
    ) -> None:
        super().__init__()
        self.bytes_read = 0
        self.max_bytes = max_bytes
        self.source_name = source_name
        self._inner = inner
        self._owned = owned

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        target = memoryview(buffer).cast("B")
        # One byte past the cap is enough to know the guide is too large.
        wanted = min(len(target), self.max_bytes - self.bytes_read + 1)
        try:
            data = self._inner.read(wanted)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise IngestError(
                f"The guide {self.source_name!r} is not a valid gzip file ({exc}).",
                hint="The download may be truncated; fetch the guide again.",
            ) from exc
        target[: len(data)] = data
        self.bytes_read += len(data)
        if self.bytes_read > self.max_bytes:
            raise LimitExceededError(
                f"The guide {self.source_name!r} is larger than {self.max_bytes:,} bytes after decompression.",
                hint="If the guide is genuine, raise the setting M3U_STRM_MAX_XMLTV_BYTES.",
            )
        return len(data)

    def close(self) -> None:
        for stream in self._owned:
            stream.close()
        super().close()


def open_guide(source: GuideSource, *, max_bytes: int, source_name: str = "guide") -> GuideStream:
    """Open a guide for reading: gunzips transparently (by magic bytes) and caps the decompressed size.

    A path is opened and closed with the returned stream; a file object passed in is left open.
    """
    owned: list[io.IOBase] = []
    if isinstance(source, str | os.PathLike):
        try:
            opened = open(source, "rb")  # noqa: SIM115 - closed with the GuideStream
        except OSError as exc:
            raise IngestError(
                f"Cannot read the guide {source_name!r}: {exc.strerror}.", hint="Check the guide's file path."
            ) from exc
        owned.append(opened)
        raw: _Readable = opened
    else:
        raw = source
    try:
        head = _read_head(raw, len(_GZIP_MAGIC))
    except BaseException:
        for stream in owned:
            stream.close()
        raise
    replay = _Replay(head, raw)
    if head != _GZIP_MAGIC:
        return GuideStream(replay, max_bytes=max_bytes, source_name=source_name, owned=owned)
    unzipped = gzip.GzipFile(fileobj=replay, mode="rb")
    return GuideStream(unzipped, max_bytes=max_bytes, source_name=source_name, owned=[unzipped, *owned])


def _read_head(raw: _Readable, size: int) -> bytes:
    head = b""
    while len(head) < size and (data := _read_bytes(raw, size - len(head))):
        head += data
    return head
