"""One HTTP/1.1 ``GET`` per connection for the health checker: asyncio streams, h11 as the parser, nothing else.

Why not httpx on this path: a check sends one ``GET``, reads the headers and a few KB, and hangs up. httpx, httpcore
and anyio spend about 0.7 ms of CPU on each such request: 10,000 checks need 7 s of CPU where the run may take 5.75 s
(``bench/health.py``). This module does only what a check needs, in well under half of that.

Rules:

* One request per connection, sent with ``Connection: close``; :meth:`WireResponse.close` aborts the connection
  rather than draining it (a live stream never ends). The request carries ``Host``, ``User-Agent``,
  ``Accept: */*``, ``Referer`` when given, and Basic ``Authorization`` when the URL holds ``user:password@``.
* ``http`` and ``https`` only (the checker turns other schemes into ``unsupported`` before it gets here). TLS uses
  :attr:`WireClient.ssl_context`: by default the system's verified context, made once per client when first
  needed, with SNI and the certificate's name checked against the URL's host.
* The status line and headers are parsed by h11 and may take at most ``max_header_bytes``
  (:class:`HeadersTooLargeError`); ``1xx`` answers are skipped. Body bytes come as h11 decodes them (chunked,
  ``Content-Length`` or until the server closes), one read at a time, so the caller decides how much to read.
* Every wait (resolving, connecting, the TLS handshake, each read) ends at the caller's ``deadline``, a time on the
  event loop's clock (``loop.time()``): one budget for the whole check, however many requests it takes.
* Failures are :class:`WireError`, each with a stable ``kind`` token; low-level errors are translated here, with
  the cause kept (``raise ... from exc``)::

      WireError
      ├── BadRequestError        bad_url (no host, a bad port), bad_header (a value h11 refuses to send)
      ├── ConnectError           refused, dns, tls, reset, connect_error
      ├── ConnectTimeoutError    connect_timeout
      ├── ReadTimeoutError       read_timeout
      ├── ConnectionLostError    reset (cut before the answer was complete), tls (a TLS error mid-answer)
      ├── HeadersTooLargeError   headers_too_large
      └── BadResponseError       bad_response (not an HTTP/1.x answer, or a broken chunked body)

>>> deadline = asyncio.get_running_loop().time() + 5  # doctest: +SKIP
>>> response = await WireClient().get("http://host/live/1.ts", user_agent="VLC", deadline=deadline)  # doctest: +SKIP
>>> response.status_code, response.header(b"content-type"), await response.read_chunk()  # doctest: +SKIP
(200, 'video/mp2t', b'G@...')
"""

from __future__ import annotations

import asyncio
import base64
import errno
import re
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

import h11

#: Default bound on the status line and headers together.
MAX_HEADER_BYTES = 16 * 1024
#: Bytes asked of the socket per read while the headers are not in yet: they and the start of the body usually come
#: in one read, and a check mostly wants no more than that (it sniffs under 1 KB).
HEAD_READ_SIZE = 4 * 1024
#: Bytes asked of the socket per read once the headers are in (a playlist may be read whole).
READ_SIZE = 64 * 1024
#: Characters kept as they are when a request target is percent-encoded (RFC 3986 reserved, and ``%`` itself).
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_PLAIN_TARGET = re.compile(r"[A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REFUSED_TEXT = f"[errno {errno.ECONNREFUSED}]"

__all__ = [
    "MAX_HEADER_BYTES",
    "BadRequestError",
    "BadResponseError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "HeadersTooLargeError",
    "ReadTimeoutError",
    "WireClient",
    "WireError",
    "WireResponse",
]


class WireError(Exception):
    """A request that got no usable answer; ``kind`` is a short stable token (see the module's tree)."""

    kind = "http_error"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class BadRequestError(WireError):
    kind = "bad_url"


class ConnectError(WireError):
    kind = "connect_error"


class ConnectTimeoutError(WireError):
    kind = "connect_timeout"


class ReadTimeoutError(WireError):
    kind = "read_timeout"


class ConnectionLostError(WireError):
    kind = "reset"


class HeadersTooLargeError(WireError):
    kind = "headers_too_large"


class BadResponseError(WireError):
    kind = "bad_response"


@dataclass(frozen=True, slots=True)
class _Address:
    """Where a URL's request goes and what its request line and ``Host`` header say."""

    host: str
    port: int
    tls: bool
    host_header: str
    target: str
    authorization: str | None


def _address(url: str) -> _Address:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, an unclosed IPv6 bracket
        raise BadRequestError(f"the URL cannot be read: {exc}") from exc
    if not host:
        raise BadRequestError("the URL names no host")
    userinfo, _, netloc = parts.netloc.rpartition("@")
    try:
        if not netloc.isascii():
            host, netloc = _idna(host), _idna(netloc)
    except UnicodeError as exc:
        raise BadRequestError(f"the URL's host is not a valid name: {exc}") from exc
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _PLAIN_TARGET.fullmatch(target):
        target = quote(target, safe=_TARGET_SAFE)
    scheme = parts.scheme.lower()
    port = _DEFAULT_PORTS.get(scheme, 80) if port is None else port
    return _Address(host, port, scheme == "https", netloc, target, _basic_auth(userinfo) if userinfo else None)


def _basic_auth(userinfo: str) -> str:
    """``user:password@`` in a URL becomes Basic credentials, as browsers and players send them."""
    username, _, password = userinfo.partition(":")
    pair = f"{unquote(username)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _idna(name: str) -> str:
    return name.encode("idna").decode("ascii")


class WireClient:
    """Sends the checker's requests; holds no connections, only the TLS context and the header bound.

    Give ``ssl_context`` to trust another CA (a test's self-signed one); the default verifies against the system's.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self._ssl_context = ssl_context
        self.max_header_bytes = max_header_bytes

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Made on first use: loading the CA bundle costs ~20 ms, so once per client, and not at all for http."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def get(self, url: str, *, user_agent: str, referer: str | None = None, deadline: float) -> WireResponse:
        """Connect, send one ``GET`` and read up to the end of the headers; the body is left to the caller."""
        address = _address(url)
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            # One timer for connecting and the headers: whether ``streams`` is set tells which of the two ran out.
            async with asyncio.timeout_at(deadline):
                streams = reader, writer = await self._connect(address)
                # The request is built once connected, not before: the server accepts the connection meanwhile.
                # Measured at concurrency 200 on loopback, building it first made each answer ~20 ms later.
                connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=self.max_header_bytes)
                writer.write(_request_bytes(connection, address, user_agent, referer))
                head = await _read_head(connection, reader, self.max_header_bytes)
        except TimeoutError as exc:  # the timer's: the kernel's own are WireErrors by now
            if streams is None:
                raise ConnectTimeoutError(f"no connection to {address.host} before the deadline") from exc
            streams[1].transport.abort()
            raise ReadTimeoutError("no answer before the deadline") from exc
        except BaseException:
            if streams is not None:
                streams[1].transport.abort()
            raise
        return WireResponse(url, head, connection, reader, writer, deadline)

    async def _connect(self, address: _Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        tls = self.ssl_context if address.tls else None
        try:
            return await asyncio.open_connection(
                address.host, address.port, ssl=tls, server_hostname=address.host if tls else None
            )
        except TimeoutError as exc:  # the kernel's own (ETIMEDOUT), an OSError too
            raise ConnectTimeoutError(f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # ssl.SSLError and socket.gaierror are OSErrors too
            raise ConnectError(f"{type(exc).__name__}: {exc}", _connect_failure_kind(exc)) from exc
        except ValueError as exc:  # the resolver's IDNA codec: an empty or overlong label (``a..b``)
            raise BadRequestError(f"the URL's host is not a valid name: {exc}") from exc


def _connect_failure_kind(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    # asyncio folds the failures of every address it tried (::1, then 127.0.0.1 ...) into one plain OSError.
    return "refused" if _REFUSED_TEXT in str(exc).lower() else "connect_error"


def _request_bytes(connection: h11.Connection, address: _Address, user_agent: str, referer: str | None) -> bytes:
    headers = [
        (b"Host", address.host_header.encode("ascii")),
        (b"User-Agent", user_agent.encode("latin-1", "replace")),
        (b"Accept", b"*/*"),
        (b"Connection", b"close"),
    ]
    if referer:
        headers.append((b"Referer", referer.encode("latin-1", "replace")))
    if address.authorization:
        headers.append((b"Authorization", address.authorization.encode("ascii")))
    try:
        request = h11.Request(method="GET", target=address.target.encode("ascii"), headers=headers)
        data = connection.send(request) or b""
        return data + (connection.send(h11.EndOfMessage()) or b"")
    except h11.LocalProtocolError as exc:
        raise BadRequestError(f"the request cannot be sent: {exc}", "bad_header") from exc


async def _read(reader: asyncio.StreamReader, size: int) -> bytes:
    """One socket read; the caller's timer bounds it."""
    try:
        return await reader.read(size)
    except TimeoutError as exc:  # the kernel's own (ETIMEDOUT)
        raise ReadTimeoutError(f"{type(exc).__name__}: {exc}") from exc
    except ssl.SSLError as exc:
        raise ConnectionLostError(f"{type(exc).__name__}: {exc}", "tls") from exc
    except OSError as exc:
        raise ConnectionLostError(f"{type(exc).__name__}: {exc}") from exc


async def _read_head(connection: h11.Connection, reader: asyncio.StreamReader, max_header_bytes: int) -> h11.Response:
    """Read until h11 has the status line and headers; reads never run past the bound, so it holds exactly."""
    received, closed = 0, False
    event: h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED] = h11.NEED_DATA  # nothing came yet: read first
    while True:
        if event is h11.NEED_DATA:
            data = await _read(reader, max(1, min(HEAD_READ_SIZE, max_header_bytes + 1 - received)))
            received, closed = received + len(data), not data
            connection.receive_data(data)
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as exc:
            raise _head_error(exc, received, closed) from exc
        if isinstance(event, h11.Response):
            return event
        if event is not h11.NEED_DATA and not isinstance(event, h11.InformationalResponse):  # pragma: no cover
            raise BadResponseError(f"unexpected {type(event).__name__} before the answer")


def _head_error(exc: h11.RemoteProtocolError, received: int, closed: bool) -> WireError:
    if exc.error_status_hint == 431:
        return HeadersTooLargeError(f"the answer's headers are longer than {received - 1} bytes")
    if closed:
        what = "before answering" if received == 0 else f"after {received} bytes of an incomplete answer"
        return ConnectionLostError(f"the server closed the connection {what}")
    return BadResponseError(f"not an HTTP/1.x answer: {exc}")


class WireResponse:
    """The status and headers of one answer, and its body read on demand; :meth:`close` (or ``with``) hangs up."""

    def __init__(
        self,
        url: str,
        head: h11.Response,
        connection: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
    ) -> None:
        self.url = url
        self.status_code: int = head.status_code
        self.reason = head.reason.decode("latin-1")
        self._headers = head.headers.raw_items()  # one list, not a Sequence walked item by item per lookup
        self._connection, self._reader, self._writer, self._deadline = connection, reader, writer, deadline

    def header(self, name: bytes) -> str | None:
        """The first value of a header, by its lower-case name (``b"content-type"``), or ``None``."""
        for key, value in self._headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    async def read_chunk(self) -> bytes:
        """The next body bytes as they arrive (at most one socket read's worth); ``b""`` once the body ended."""
        connection, closed = self._connection, False
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError as exc:
                if closed:
                    raise ConnectionLostError(f"the server closed the connection mid-body: {exc}") from exc
                raise BadResponseError(f"the body is not valid HTTP/1.1: {exc}") from exc
            if event is h11.NEED_DATA:
                data = await self._read()
                closed = not data
                connection.receive_data(data)
            elif isinstance(event, h11.Data):
                return bytes(event.data)
            else:  # EndOfMessage, ConnectionClosed
                return b""

    async def _read(self) -> bytes:
        try:
            async with asyncio.timeout_at(self._deadline):
                return await _read(self._reader, READ_SIZE)
        except TimeoutError as exc:  # the timer's: the kernel's own is a WireError by now
            raise ReadTimeoutError("the body stalled before the deadline") from exc

    def close(self) -> None:
        """Hang up at once: what the server still sends is never read."""
        self._writer.transport.abort()

    def __enter__(self) -> WireResponse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
