"""Reading provider answers: HTTP with retries, Retry-After, gzip by magic bytes and byte caps; local files alike.

:func:`stream_bytes` is what every provider fetch (M3U, Xtream JSON, XMLTV) goes through::

    stats = FetchStats()
    async for chunk in stream_bytes(client, url, source="My IPTV", max_bytes=2**31, stats=stats):
        parser.feed(chunk)

Rules, in the order they apply:

* 5xx answers, refused connections and resets are retried with exponential backoff, but only **before** the
  first byte reached the caller; once bytes were handed on, a break is an error (the caller's transaction then
  rolls back) rather than a silent restart that would feed the parser the same bytes twice.
* 429 waits out ``Retry-After`` (seconds or an HTTP date) when it is at most ``max_retry_after``; a longer wait, or
  429 after every retry, raises :class:`ProviderRateLimitedError` carrying the time to retry at.
* 401/403 raise :class:`ProviderAuthError`; other error statuses :class:`ProviderHTTPError`; network failures
  :class:`ProviderUnreachableError`.
* A body that starts with the gzip magic bytes is gunzipped even without ``Content-Encoding`` (``.m3u.gz``,
  ``.xml.gz`` files); httpx already decodes ``Content-Encoding: gzip``. The byte cap applies after decompression,
  so a decompression bomb stops at the cap with :class:`LimitExceededError`.

No message holds a URL: errors name the source, and the error classes redact whatever else slips in.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import zlib
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import anyio
import httpx

from m3u_strm.errors import (
    InputError,
    LimitExceededError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderRateLimitedError,
    ProviderResponseError,
    ProviderUnreachableError,
)
from m3u_strm.privacy.redaction import redact

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_BACKOFF = 0.2
_PIECE = 256 * 1024  # most bytes one gunzip step may produce: keeps a decompression bomb from ballooning memory
_RETRIED_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)
_CAUSES: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectTimeout, "the connection timed out"),
    (httpx.ConnectError, "the connection was refused or the host was not found"),
    (httpx.ReadTimeout, "no data arrived within the read timeout"),
    (httpx.RemoteProtocolError, "the server closed the connection early"),
    (httpx.ReadError, "the connection was reset"),
    (httpx.PoolTimeout, "no free connection within the timeout"),
    (httpx.UnsupportedProtocol, "the URL scheme is not http or https"),
)


@dataclass
class FetchStats:
    """Filled in while a fetch runs, also when it fails: what the sync's performance log records."""

    status_code: int | None = None
    bytes: int = 0  # bytes received from the network, every attempt included
    decoded_bytes: int = 0  # bytes handed to the caller (after any gunzip)
    attempts: int = 0


def _cause(exc: Exception) -> str:
    for kind, text in _CAUSES:
        if isinstance(exc, kind):
            return text
    return redact(f"{type(exc).__name__}: {exc}".rstrip(": "))


def _too_large(source: str, max_bytes: int, setting: str) -> LimitExceededError:
    return LimitExceededError(
        f"The answer from {source} is larger than the limit of {max_bytes:,} bytes (after decompression).",
        hint=f"If this source is genuine, raise the setting M3U_STRM_{setting.upper()}.",
    )


class _Gunzip:
    """Incremental gunzip in bounded steps; concatenated members are joined, trailing padding ignored."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(31)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._inflater.decompress(data, _PIECE)
            if out:
                yield out
            if self._inflater.eof:
                rest = self._inflater.unused_data
                if not rest.startswith(GZIP_MAGIC):
                    return
                self._inflater, data = zlib.decompressobj(31), rest
                continue
            data = self._inflater.unconsumed_tail
            if not data and len(out) < _PIECE:
                return

    @property
    def complete(self) -> bool:
        return self._inflater.eof


class _Decoder:
    """Turns raw body chunks into caller chunks: gunzip when the body starts with the magic bytes, then the cap."""

    def __init__(self, source: str, max_bytes: int, setting: str) -> None:
        self.source, self.max_bytes, self.setting = source, max_bytes, setting
        self.total = 0
        self._head = b""
        self._gunzip: _Gunzip | None = None
        self._decided = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if not self._decided:
            self._head += chunk
            if len(self._head) < len(GZIP_MAGIC):
                return
            chunk, self._head, self._decided = self._head, b"", True
            self._gunzip = _Gunzip() if chunk.startswith(GZIP_MAGIC) else None
        pieces = self._gunzip.feed(chunk) if self._gunzip else iter((chunk,))
        for piece in pieces:
            self.total += len(piece)
            if self.total > self.max_bytes:
                raise _too_large(self.source, self.max_bytes, self.setting)
            yield piece

    def finish(self) -> Iterator[bytes]:
        """Flush what is left; raises ``zlib.error`` when gzip data ends before its end marker."""
        if not self._decided and self._head:
            self._decided = True
            self.total += len(self._head)
            yield self._head
        if self._gunzip is not None and not self._gunzip.complete:
            raise zlib.error("the gzip data ends before its end marker")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent or unusable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass
class _Attempt:
    """The retry policy for one fetch: decides, per failed answer, whether and how long to wait."""

    label: str
    retries: int
    max_retry_after: float
    backoff: float
    number: int = 0

    @property
    def retries_left(self) -> bool:
        return self.number <= self.retries

    def backoff_wait(self) -> float:
        return float(self.backoff * 2 ** (self.number - 1))

    def wait_for_status(self, response: httpx.Response) -> float | None:
        """``None`` when the answer is usable; else seconds to wait before retrying, or raise."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status == 429:
            return self._rate_limited(response)
        if status in (401, 403):
            raise ProviderAuthError(
                f"{self.label} refused the request with HTTP {status}: the credentials were rejected.",
                hint="Check the username, password or URL token in the provider settings.",
                status_code=status,
            )
        if status >= 500 and self.retries_left:
            return self.backoff_wait()
        raise ProviderHTTPError(
            f"{self.label} answered HTTP {status} {response.reason_phrase}".rstrip()
            + (f" after {self.number} attempts." if status >= 500 else "."),
            hint="Check the provider URL; if it is right, the provider has a problem: try again later.",
            status_code=status,
        )

    def _rate_limited(self, response: httpx.Response) -> float:
        now = datetime.now(UTC)
        wait = parse_retry_after(response.headers.get("Retry-After"), now)
        if wait is None:
            wait = self.backoff_wait()
        if wait > self.max_retry_after or not self.retries_left:
            raise ProviderRateLimitedError(
                f"{self.label} is rate limiting requests (HTTP 429).",
                retry_at=now + timedelta(seconds=wait),
            )
        return wait


async def stream_bytes(
    client: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    max_bytes: int,
    retries: int = 3,
    max_retry_after: float = 30.0,
    headers: dict[str, str] | None = None,
    stats: FetchStats | None = None,
    backoff: float = DEFAULT_BACKOFF,
    limit_setting: str = "max_playlist_bytes",
    what: str | None = None,
) -> AsyncGenerator[bytes, None]:
    """GET ``url`` and yield its (decompressed) body in chunks. See the module docstring for the rules.

    ``source`` names the provider in messages, ``what`` the request (``"get_vod_streams"``); ``limit_setting`` is
    the setting named when ``max_bytes`` is exceeded. Close the generator (``contextlib.aclosing``) when leaving a
    loop early, so the connection is released at once.
    """
    stats = stats if stats is not None else FetchStats()
    label = f"The provider {source!r}" + (f" ({what})" if what else "")
    attempt = _Attempt(label, retries, max_retry_after, backoff)
    while True:
        attempt.number += 1
        stats.attempts = attempt.number
        decoder = _Decoder(f"{source!r}" + (f" ({what})" if what else ""), max_bytes, limit_setting)
        received_before = stats.bytes
        try:
            async with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
                stats.status_code = response.status_code
                wait = attempt.wait_for_status(response)
                if wait is None:
                    async for raw in response.aiter_bytes():
                        stats.bytes = received_before + response.num_bytes_downloaded
                        for piece in decoder.feed(raw):
                            stats.decoded_bytes += len(piece)
                            yield piece
                    stats.bytes = received_before + response.num_bytes_downloaded
                    for piece in decoder.finish():
                        stats.decoded_bytes += len(piece)
                        yield piece
                    return
        except (httpx.TransportError, httpx.TooManyRedirects) as exc:
            wait = _transport_failure(exc, attempt, stats)
        except (httpx.DecodingError, zlib.error) as exc:
            raise ProviderResponseError(
                f"{label} sent a compressed answer that cannot be decompressed ({exc}).",
                hint="The provider's answer is damaged; try again later.",
            ) from exc
        log.warning(redact(f"{label}: attempt {attempt.number} failed, retrying in {wait:.1f} s."))
        await anyio.sleep(wait)


def _transport_failure(exc: Exception, attempt: _Attempt, stats: FetchStats) -> float:
    """Seconds to wait before retrying after a network failure, or raise the error to report."""
    if stats.decoded_bytes > 0:
        raise ProviderUnreachableError(
            f"{attempt.label}: the connection broke after {stats.decoded_bytes:,} bytes ({_cause(exc)}).",
            hint="Nothing was changed; the next sync starts again from the beginning.",
        ) from exc
    if isinstance(exc, httpx.TooManyRedirects):
        raise ProviderHTTPError(f"{attempt.label} redirected too many times.", hint="Check the provider URL.") from exc
    if isinstance(exc, _RETRIED_ERRORS) and attempt.retries_left:
        return attempt.backoff_wait()
    tries = f" after {attempt.number} attempts" if attempt.number > 1 else ""
    raise ProviderUnreachableError(
        f"{attempt.label} could not be reached{tries}: {_cause(exc)}.",
        hint="Check that the provider URL (host and port) is right and the provider is up.",
    ) from exc


# -- local files ---------------------------------------------------------------------------------------------------


def _local_path(location: str | os.PathLike[str]) -> Path:
    text = os.fspath(location)
    if text.startswith("file:"):
        return Path(unquote(urlsplit(text).path))
    return Path(text)


def read_local(
    location: str | os.PathLike[str],
    *,
    chunk_size: int = 65536,
    max_bytes: int | None = None,
    limit_setting: str = "max_playlist_bytes",
) -> Iterator[bytes]:
    """Chunks of a local file (a path or ``file://`` URL), gunzipped when it starts with the gzip magic bytes.

    The file is opened at once, so a missing or unreadable file raises :class:`InputError` here, not on first use.
    """
    path = _local_path(location)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"The file {path} does not exist.", hint="Check the path in the provider settings.") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a directory, not a playlist file.", hint="Give the path of the file.") from exc
    except PermissionError as exc:
        raise InputError(
            f"The file {path} cannot be read: permission denied.",
            hint="Make it readable by the user that runs M3U-STRM-Processor.",
        ) from exc
    except OSError as exc:
        raise InputError(f"The file {path} cannot be read: {exc.strerror}.") from exc
    decoder = _Decoder(str(path), max_bytes if max_bytes is not None else 2**63, limit_setting)
    return _read_chunks(handle, path, decoder, chunk_size)


def _read_chunks(handle: BinaryIO, path: Path, decoder: _Decoder, chunk_size: int) -> Iterator[bytes]:
    with handle:
        try:
            while chunk := handle.read(chunk_size):
                yield from decoder.feed(chunk)
            yield from decoder.finish()
        except zlib.error as exc:
            raise InputError(f"The file {path} looks gzip-compressed but is damaged ({exc}).") from exc
        except OSError as exc:
            raise InputError(f"Reading the file {path} failed: {exc.strerror}.") from exc
