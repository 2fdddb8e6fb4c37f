"""Is a stream alive? One check of one stream (:func:`check_stream`) and many at once (:func:`check_many`).

What counts as alive, and every other outcome:

* **MPEG-TS and progressive media**: one streamed ``GET`` that returns media bytes within the timeout. The checker
  reads the first few KB (:data:`~m3u_strm.monitor.signatures.SNIFF_BYTES`), judges them with
  :func:`~m3u_strm.monitor.signatures.sniff_container` (TS sync bytes, MP4/Matroska/FLV/ADTS/MP3/MPEG-PS
  signatures) and closes the connection: a stream is never downloaded. A status 200 whose body is HTML, JSON or
  text (the provider's "buy a plan" page) is ``dead`` / ``not_media``. No ``HEAD`` is sent: many servers reject it
  (405/403) while ``GET`` plays, and a ``HEAD`` cannot tell media from that "buy a plan" page anyway, so it would
  cost a request without ever deciding the verdict.
* **HLS** (a body starting ``#EXTM3U`` with ``#EXT-X-`` tags, whatever the URL says): the playlist is read (up to
  ``max_bytes``); a master playlist's first variant is followed, then the first media segment's first bytes must be
  TS or fMP4 (encrypted segments only have to be a non-text body). At most :data:`MAX_REQUESTS` requests per check,
  redirects included, and :data:`MAX_REDIRECTS` redirects per request (``too_many_redirects``).
* ``429`` is ``rate_limited`` with ``Retry-After`` in seconds (delta or HTTP date); ``401``/``403`` are
  ``auth_failed`` (the caller checks the account and flags the provider, not each stream); any other 4xx/5xx is
  ``dead`` / ``http_NNN``; refused, reset, DNS and TLS failures are ``dead``; a connect or read timeout, or no
  verdict within ``timeout`` seconds in all, is ``timeout``; a scheme other than http/https (rtmp, rtsp, udp,
  rtp, mms ..., also reached by a redirect) is ``unsupported``.
* ``rate_limited`` and ``unsupported`` are never counted as failures (:attr:`HealthResult.is_counted`).
* The stream's own User-Agent and Referer are sent when given. ``detail`` texts are redacted: URLs hold credentials.

:func:`check_many` runs checks under a global limit and a per-provider one; its rules are in its docstring.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from m3u_strm.errors import InputError
from m3u_strm.ingest.http import parse_retry_after
from m3u_strm.monitor.health_result import UNCOUNTED, CheckTarget, HealthResult, Outcome
from m3u_strm.monitor.hls_playlist import parse_playlist
from m3u_strm.monitor.provider_slots import ProviderSlots
from m3u_strm.monitor.signatures import SNIFF_BYTES, describe_body, is_hls_playlist, sniff_container
from m3u_strm.privacy.redaction import redact

MAX_REDIRECTS = 5
MAX_REQUESTS = 8
#: A master playlist, then a media playlist: a third playlist level is a broken stream.
MAX_PLAYLIST_DEPTH = 2
DEFAULT_USER_AGENT = "M3U-STRM-Processor/0.1"
_SCHEMES = ("http", "https")
_MP4_OR_TS = ("mpegts", "mp4")

__all__ = ["UNCOUNTED", "CheckTarget", "HealthResult", "Outcome", "check_many", "check_stream"]


class _VerdictError(Exception):
    """Ends a check early with its verdict (a status answer, a redirect loop, a scheme we cannot check)."""

    def __init__(self, outcome: Outcome, error_kind: str | None, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.outcome, self.error_kind, self.detail, self.extra = outcome, error_kind, detail, extra


@dataclass(frozen=True, slots=True)
class _Body:
    """The first bytes of one answer (all of it for a playlist, up to ``max_bytes``)."""

    url: str
    status_code: int
    content_type: str | None
    head: bytes


class _Probe:
    """The state of one check: the clock, the bytes and requests spent so far, and the last status seen."""

    def __init__(self, client: httpx.AsyncClient, target: CheckTarget, timeout: float, max_bytes: int) -> None:
        self.client, self.target, self.timeout, self.max_bytes = client, target, timeout, max_bytes
        self.started = time.monotonic()
        self.bytes_read = 0
        self.requests = 0
        self.status_code: int | None = None
        self.headers = {"User-Agent": target.user_agent} if target.user_agent else {}
        if target.referrer:
            self.headers["Referer"] = target.referrer

    def result(self, outcome: Outcome, error_kind: str | None, detail: str | None, **extra: object) -> HealthResult:
        elapsed_ms = int((time.monotonic() - self.started) * 1000)
        retry = extra.get("retry_after_s")
        return HealthResult(
            outcome, self.status_code, elapsed_ms, self.bytes_read, error_kind, redact(detail) if detail else None,
            retry_after_s=float(retry) if isinstance(retry, int | float) else None,
        )  # fmt: skip

    async def run(self) -> HealthResult:
        url = self.target.url
        for _ in range(MAX_PLAYLIST_DEPTH):
            body = await self.fetch(url, playlist_allowed=True)
            container = sniff_container(body.head)
            if container is not None:
                return self.result("alive", None, f"{container} from {body.status_code}")
            if not is_hls_playlist(body.head):
                return self.result("dead", "not_media", describe_body(body.head, body.content_type))
            playlist = parse_playlist(body.head.decode("utf-8", errors="replace"), body.url)
            if playlist.next_uri is None:
                return self.result("dead", "empty_playlist", "the HLS playlist lists no variant or segment")
            if playlist.kind == "media":
                return await self.segment(playlist.next_uri, encrypted=playlist.encrypted)
            url = playlist.next_uri
        return self.result("dead", "bad_playlist", "a variant playlist is itself a master playlist")

    async def segment(self, url: str, *, encrypted: bool) -> HealthResult:
        """The first media segment of an HLS stream must start with TS or fMP4 bytes (any non-text if encrypted)."""
        body = await self.fetch(url, playlist_allowed=False)
        container = sniff_container(body.head)
        if container in _MP4_OR_TS or (encrypted and body.head and not _looks_textual(body)):
            return self.result("alive", None, f"HLS segment: {container or 'encrypted'}")
        return self.result("dead", "not_media", "HLS segment: " + describe_body(body.head, body.content_type))

    async def fetch(self, url: str, *, playlist_allowed: bool) -> _Body:
        """GET ``url`` (redirects followed here, bounded) and read its first bytes; error statuses end the check."""
        response = await self.open(url)
        try:
            _raise_for_status(response)
            head = await self.read_head(response, playlist_allowed)
        finally:
            await response.aclose()
        return _Body(str(response.url), response.status_code, response.headers.get("content-type"), head)

    async def open(self, url: str) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            _require_supported_scheme(url)
            self.requests += 1
            if self.requests > MAX_REQUESTS:
                raise _VerdictError("dead", "too_many_requests", f"no verdict within {MAX_REQUESTS} requests")
            request = self.client.build_request("GET", url, headers=self.headers, timeout=self.timeout)
            response = await self.client.send(request, stream=True, follow_redirects=False)
            self.status_code = response.status_code
            if not response.is_redirect:
                return response
            await response.aclose()
            url = urljoin(str(response.url), response.headers["location"])
        raise _VerdictError("dead", "too_many_redirects", f"more than {MAX_REDIRECTS} redirects")

    async def read_head(self, response: httpx.Response, playlist_allowed: bool) -> bytes:
        """Up to :data:`SNIFF_BYTES`; a whole playlist (up to ``max_bytes``) when the start is one."""
        head = bytearray()
        want = min(SNIFF_BYTES, self.max_bytes)
        async for chunk in response.aiter_bytes():
            head += chunk
            self.bytes_read += len(chunk)
            if len(head) >= want:
                if not (playlist_allowed and want < self.max_bytes and is_hls_playlist(bytes(head))):
                    break
                want = self.max_bytes
        return bytes(head[: self.max_bytes])


def _looks_textual(body: _Body) -> bool:
    kind = (body.content_type or "").lower()
    return kind.startswith("text/") or "json" in kind or "html" in kind or body.head.lstrip()[:1] in (b"<", b"{")


def _require_supported_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise _VerdictError("unsupported", f"scheme_{scheme or 'none'}", f"no checker for {scheme or 'this'} URLs")


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429:
        retry = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        raise _VerdictError(
            "rate_limited", "http_429", "the provider answered 429 Too Many Requests", retry_after_s=retry
        )
    if status in (401, 403):
        raise _VerdictError("auth_failed", f"http_{status}", f"the provider refused the credentials ({status})")
    if status >= 300:
        raise _VerdictError("dead", f"http_{status}", f"the provider answered {status} {response.reason_phrase}")


#: Network failures, most specific first: (exception type, outcome, error kind).
_FAILURES: tuple[tuple[type[Exception], Outcome, str], ...] = (
    (httpx.ConnectTimeout, "timeout", "connect_timeout"),
    (httpx.ReadTimeout, "timeout", "read_timeout"),
    (httpx.PoolTimeout, "timeout", "pool_timeout"),
    (httpx.TimeoutException, "timeout", "timeout"),
    (httpx.UnsupportedProtocol, "unsupported", "scheme"),
    (httpx.ReadError, "dead", "reset"),
    (httpx.WriteError, "dead", "reset"),
    (httpx.RemoteProtocolError, "dead", "reset"),
    (httpx.DecodingError, "dead", "decoding"),
)
_CONNECT_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (ssl.SSLError, "tls"),
    (socket.gaierror, "dns"),
    (ConnectionRefusedError, "refused"),
    (ConnectionResetError, "reset"),
)


def _connect_failure_kind(exc: BaseException) -> str:
    """Why a connection failed, from the exception chain httpx keeps (``from exc`` at each layer)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        for kind_type, kind in _CONNECT_CAUSES:
            if isinstance(seen, kind_type):
                return kind
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text:
        return "dns"
    return "refused" if "refused" in text or "all connection attempts failed" in text else "connect_error"


def _failure(exc: Exception) -> tuple[Outcome, str]:
    if isinstance(exc, httpx.ConnectError):
        return "dead", _connect_failure_kind(exc)
    for exc_type, outcome, kind in _FAILURES:
        if isinstance(exc, exc_type):
            return outcome, kind
    return "dead", "bad_url" if isinstance(exc, httpx.InvalidURL) else "http_error"


async def check_stream(
    client: httpx.AsyncClient,
    target: CheckTarget,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (a budget per stream checked, not a deadline for the call)
    max_bytes: int = 64 * 1024,
) -> HealthResult:
    """Check one stream; never raises for anything the stream or network does (see the module rules).

    >>> async with httpx.AsyncClient() as client:  # doctest: +SKIP
    ...     result = await check_stream(client, CheckTarget(1, 1, "http://host/live/u/p/1.ts"), timeout=5)
    >>> result.outcome, result.error_kind  # doctest: +SKIP
    ('dead', 'not_media')
    """
    probe = _Probe(client, target, timeout, max_bytes)
    try:
        _require_supported_scheme(target.url)
        async with asyncio.timeout(timeout):
            return await probe.run()
    except _VerdictError as verdict:
        return probe.result(verdict.outcome, verdict.error_kind, verdict.detail, **verdict.extra)
    except TimeoutError:
        return probe.result("timeout", "deadline", f"no verdict within {timeout:g} s")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        outcome, kind = _failure(exc)
        return probe.result(outcome, kind, f"{type(exc).__name__}: {exc}")


#: Connections per pool of a run's own clients: httpcore scans its whole pool on every request, so one pool of
#: 200 connections spends more time choosing a connection than speaking HTTP; pools of 25 keep that cost flat.
POOL_SIZE = 25


def _own_clients(concurrency: int, timeout: float) -> list[httpx.AsyncClient]:
    """Pools as wide as the run in all (httpx's default of 100 connections would stall a wider run)."""
    count = max(1, -(-concurrency // POOL_SIZE))
    per_pool = -(-concurrency // count)
    limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
    headers = {"User-Agent": DEFAULT_USER_AGENT}
    tls = httpx.create_ssl_context()  # loading the CA bundle costs ~20 ms: once per run, not once per pool
    return [httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers, verify=tls) for _ in range(count)]


async def check_many(
    targets: Iterable[CheckTarget],
    *,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 50,
    provider_limits: Mapping[int, int] | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 (the budget of each check; a run of 10,000 takes far longer)
    on_result: Callable[[CheckTarget, HealthResult], None] | None = None,
) -> dict[int, HealthResult]:
    """Check many streams; results go to ``on_result`` as each finishes and come back keyed by stream id.

    * At most ``concurrency`` checks run at once, and at most ``provider_limits[provider_id]`` of one provider's (its
      ``max_connections``; a provider missing from the mapping has only the global limit). Providers take turns,
      so one big provider does not hold every slot while the others wait.
    * A provider that answered 429 gets no new check until its ``Retry-After`` has passed (2 s when it gave none).
      When that wait is longer than :data:`~m3u_strm.monitor.provider_slots.MAX_RETRY_WAIT` seconds, its remaining
      checks in this run are not sent at all: they come back ``rate_limited`` / ``skipped_retry_after`` (not
      counted) with the seconds left in ``retry_after_s``. The 429'd stream itself is not retried in the run.
    * Memory stays flat: ``concurrency`` workers pull from per-provider queues of targets, so at most
      ``concurrency`` bodies (each at most a playlist's ``max_bytes``) are held at once, however many targets.
    * A given ``client`` is used as is (give it a pool of at least ``concurrency`` connections); otherwise the run
      opens and closes its own, in pools of :data:`POOL_SIZE` connections.
    """
    if concurrency < 1:
        raise InputError(f"The health-check concurrency must be at least 1, not {concurrency}.")
    slots = ProviderSlots(targets, provider_limits or {})
    results: dict[int, HealthResult] = {}
    clients = [client] if client is not None else _own_clients(concurrency, timeout)

    async def worker(http: httpx.AsyncClient) -> None:
        while (taken := await slots.take()) is not None:
            target, skipped = taken
            result = skipped or await _checked(http, slots, target, timeout)
            results[target.stream_id] = result
            if on_result is not None:
                on_result(target, result)

    try:
        async with asyncio.TaskGroup() as group:
            for number in range(min(concurrency, len(slots))):
                group.create_task(worker(clients[number % len(clients)]))
    finally:
        if client is None:
            for own in clients:
                await own.aclose()
    return results


async def _checked(client: httpx.AsyncClient, slots: ProviderSlots, target: CheckTarget, budget: float) -> HealthResult:
    result: HealthResult | None = None
    try:
        result = await check_stream(client, target, timeout=budget)
    finally:
        await slots.release(target, result)
    return result
