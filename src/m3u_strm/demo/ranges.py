"""Byte ranges for the fake provider's files (``Range: bytes=...``), so that a gateway's seeking can be tested.

The rules:

* No ``Range`` header: 200 with the whole body and ``Accept-Ranges: bytes``.
* One range: ``bytes=a-b``, ``bytes=a-`` (to the end) or ``bytes=-n`` (the last ``n`` bytes); an end past the file
  is cut to the file. The answer is 206 with that slice and ``Content-Range: bytes a-b/size``.
* Anything else is 416 with ``Content-Range: bytes */size``: a start past the end, ``b < a``, ``bytes=-0``, several
  ranges, another unit or a malformed value (real servers differ on the malformed ones; 416 makes a client's bug
  visible instead of hiding it behind a 200).

>>> byte_range("bytes=10-19", 100), byte_range("bytes=90-", 100), byte_range("bytes=-5", 100)
((10, 19), (90, 99), (95, 99))
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["UnsatisfiableRangeError", "byte_range", "ranged_response"]

_RANGE = re.compile(r"bytes=(?P<first>\d*)-(?P<last>\d*)")


class UnsatisfiableRangeError(ValueError):
    """The ``Range`` header cannot be served from a body of this size (answered with 416)."""


def byte_range(header: str, size: int) -> tuple[int, int]:
    """The first and last byte (inclusive) that ``header`` asks for, or :class:`UnsatisfiableRangeError`."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or not (match["first"] or match["last"]):
        raise UnsatisfiableRangeError(header)
    if not match["first"]:  # a suffix: the last n bytes
        suffix = int(match["last"])
        if suffix == 0 or size == 0:
            raise UnsatisfiableRangeError(header)
        return max(0, size - suffix), size - 1
    first = int(match["first"])
    last = min(int(match["last"]), size - 1) if match["last"] else size - 1
    if first >= size or last < first:
        raise UnsatisfiableRangeError(header)
    return first, last


def ranged_response(request: Request, body: bytes, media_type: str) -> Response:
    """``body`` whole (200) or the slice the request's ``Range`` header asks for (206), or 416."""
    header = request.headers.get("range")
    if header is None:
        return Response(body, media_type=media_type, headers={"Accept-Ranges": "bytes"})
    size = len(body)
    try:
        first, last = byte_range(header, size)
    except UnsatisfiableRangeError:
        return Response(b"", 416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    headers = {"Content-Range": f"bytes {first}-{last}/{size}", "Accept-Ranges": "bytes"}
    return Response(body[first : last + 1], 206, media_type=media_type, headers=headers)
