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
  ``dead`` / ``http_NNN``; refused, reset, DNS and TLS failures, headers past the bound and answers that are not
  HTTP are ``dead`` (the kinds are :mod:`~m3u_strm.monitor.wire`'s); no connection or no answer within
  ``timeout`` seconds for the whole check, redirects and playlists included, is ``timeout``
  (``connect_timeout`` / ``read_timeout``); a scheme other than http/https (rtmp, rtsp, udp, rtp, mms ..., also
  reached by a redirect) is ``unsupported``.
* ``rate_limited`` and ``unsupported`` are never counted as failures (:attr:`HealthResult.is_counted`).
* The stream's own User-Agent (else :data:`DEFAULT_USER_AGENT`) and Referer are sent. ``detail`` texts are
  redacted: URLs hold credentials.
* Requests go through :class:`~m3u_strm.monitor.wire.WireClient` (one ``GET`` per connection, h11 over asyncio
  streams), not httpx: a check needs a fraction of what a general client does per request, and at concurrency 200
  that per-request CPU is what bounds a run.

:func:`check_many` runs checks under a global limit and a per-provider one; its rules are in its docstring.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

from m3u_strm.errors import InputError
from m3u_strm.ingest.http import parse_retry_after
from m3u_strm.monitor.health_result import UNCOUNTED, CheckTarget, HealthResult, Outcome
from m3u_strm.monitor.hls_playlist import parse_playlist
from m3u_strm.monitor.provider_slots import ProviderSlots
from m3u_strm.monitor.signatures import SNIFF_BYTES, describe_body, is_hls_playlist, sniff_container
from m3u_strm.monitor.wire import ConnectTimeoutError, ReadTimeoutError, WireClient, WireError, WireResponse
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.privacy.redaction import redact

MAX_REDIRECTS = 5
MAX_REQUESTS = 8
#: A master playlist, then a media playlist: a third playlist level is a broken stream.
MAX_PLAYLIST_DEPTH = 2
DEFAULT_USER_AGENT = "M3U-STRM-Processor/0.1"
_SCHEMES = ("http", "https")
#: A URL's scheme (RFC 3986), short enough for an error kind (``scheme_rtmp``); anything else has none.
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]{0,15}):")
_MP4_OR_TS = ("mpegts", "mp4")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

__all__ = ["UNCOUNTED", "CheckTarget", "HealthResult", "Outcome", "WireClient", "check_many", "check_stream"]


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
    """The state of one check: the deadline, the bytes and requests spent so far, and the last status seen."""

    def __init__(self, client: WireClient, target: CheckTarget, timeout: float, max_bytes: int) -> None:
        self.client, self.target, self.max_bytes = client, target, max_bytes
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.deadline = self.started + timeout
        self.bytes_read = 0
        self.requests = 0
        self.status_code: int | None = None
        self.user_agent = target.user_agent or DEFAULT_USER_AGENT

    def result(self, outcome: Outcome, error_kind: str | None, detail: str | None, **extra: object) -> HealthResult:
        elapsed_ms = int((self.loop.time() - self.started) * 1000)
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
        with await self.open(url) as response:
            _raise_for_status(response)
            head = await self.read_head(response, playlist_allowed)
        return _Body(response.url, response.status_code, response.header(b"content-type"), head)

    async def open(self, url: str) -> WireResponse:
        for _ in range(MAX_REDIRECTS + 1):
            _require_supported_scheme(url)
            self.requests += 1
            if self.requests > MAX_REQUESTS:
                raise _VerdictError("dead", "too_many_requests", f"no verdict within {MAX_REQUESTS} requests")
            response = await self.client.get(
                url, user_agent=self.user_agent, referer=self.target.referrer, deadline=self.deadline
            )
            self.status_code = response.status_code
            location = response.header(b"location")
            if response.status_code not in _REDIRECTS or location is None:
                return response
            response.close()
            url = urljoin(url, location)
        raise _VerdictError("dead", "too_many_redirects", f"more than {MAX_REDIRECTS} redirects")

    async def read_head(self, response: WireResponse, playlist_allowed: bool) -> bytes:
        """Up to :data:`SNIFF_BYTES`; a whole playlist (up to ``max_bytes``) when the start is one."""
        head = bytearray()
        want = min(SNIFF_BYTES, self.max_bytes)
        while chunk := await response.read_chunk():
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
    found = _SCHEME.match(url)
    scheme = found[1].lower() if found else ""
    if scheme not in _SCHEMES:
        raise _VerdictError("unsupported", f"scheme_{scheme or 'none'}", f"no checker for {scheme or 'this'} URLs")


def _raise_for_status(response: WireResponse) -> None:
    status = response.status_code
    if status == 429:
        retry = parse_retry_after(response.header(b"retry-after"), datetime.now(UTC))
        raise _VerdictError(
            "rate_limited", "http_429", "the provider answered 429 Too Many Requests", retry_after_s=retry
        )
    if status in (401, 403):
        raise _VerdictError("auth_failed", f"http_{status}", f"the provider refused the credentials ({status})")
    if status >= 300:
        raise _VerdictError("dead", f"http_{status}", f"the provider answered {status} {response.reason}")


async def check_stream(
    client: WireClient,
    target: CheckTarget,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (a budget per stream checked, not a deadline for the call)
    max_bytes: int = 64 * 1024,
) -> HealthResult:
    """Check one stream; never raises for anything the stream or network does (see the module rules).

    >>> stream = CheckTarget(1, 1, "http://host/live/u/p/1.ts")
    >>> result = await check_stream(WireClient(), stream, timeout=5)  # doctest: +SKIP
    >>> result.outcome, result.error_kind  # doctest: +SKIP
    ('dead', 'not_media')
    """
    probe = _Probe(client, target, timeout, max_bytes)
    try:
        return await probe.run()
    except _VerdictError as verdict:
        return probe.result(verdict.outcome, verdict.error_kind, verdict.detail, **verdict.extra)
    except WireError as exc:
        timed_out = isinstance(exc, ConnectTimeoutError | ReadTimeoutError)
        return probe.result("timeout" if timed_out else "dead", exc.kind, str(exc))


async def check_many(
    targets: Iterable[CheckTarget],
    *,
    client: WireClient | None = None,
    concurrency: int = 50,
    provider_limits: Mapping[int, int] | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 (the budget of each check; a run of 10,000 takes far longer)
    on_result: Callable[[CheckTarget, HealthResult], None] | None = None,
    ledger: ConnectionLedger | None = None,
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
    * ``client`` (a :class:`~m3u_strm.monitor.wire.WireClient`) sets the TLS context and the header bound; a run
      without one makes its own. Each check opens and closes its own connections either way.
    * ``ledger``: the server's connection count, shared with viewers (see
      :mod:`~m3u_strm.monitor.provider_slots`).
    """
    if concurrency < 1:
        raise InputError(f"The health-check concurrency must be at least 1, not {concurrency}.")
    slots = ProviderSlots(targets, provider_limits or {}, ledger=ledger)
    results: dict[int, HealthResult] = {}
    wire = client or WireClient()

    async def worker() -> None:
        while (taken := await slots.take()) is not None:
            target, skipped = taken
            result = skipped or await _checked(wire, slots, target, timeout)
            results[target.stream_id] = result
            if on_result is not None:
                on_result(target, result)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(slots))):
            group.create_task(worker())
    return results


async def _checked(client: WireClient, slots: ProviderSlots, target: CheckTarget, budget: float) -> HealthResult:
    result: HealthResult | None = None
    try:
        result = await check_stream(client, target, timeout=budget)
    finally:
        slots.release(target, result)
    return result
