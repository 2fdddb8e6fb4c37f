"""Opening an upstream for a viewer: one candidate (:func:`open_upstream`) or the first that plays (:func:`open_first`).

An upstream counts as open when its first bytes are in hand, judged like a health check judges them:

* a connection to the provider is leased from the :class:`~m3u_strm.playback.connections.ConnectionLedger` first;
  a provider at its ``max_connections`` is skipped (``provider_full``), never over-subscribed;
* 401/403 are ``auth_failed``, 429 ``rate_limited``, any other status of 400 or more ``dead``; a 200 whose body is
  HTML, JSON or text (a provider's "buy a plan" page) is ``dead`` / ``not_media``;
* a body that is an HLS playlist opens as ``hls``: the caller answers with a rewritten playlist, not a byte relay;
* no first bytes within the connect timeout is ``timeout``; refused, reset, DNS and TLS failures are ``dead``.

:func:`open_first` walks the candidates in rank order and collects a redacted reason per candidate, so a viewer
who gets nothing is told why (503), and the caller can record each failure against the stream's health.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from m3u_strm.errors import NoPlayableStreamError
from m3u_strm.monitor.health_result import HealthResult, Outcome
from m3u_strm.monitor.signatures import describe_body, is_hls_playlist, sniff_container
from m3u_strm.playback.connections import ConnectionLedger, Lease, Purpose
from m3u_strm.playback.gateway import Candidate
from m3u_strm.privacy.redaction import redact

__all__ = ["OpenFailure", "Upstream", "UpstreamError", "open_first", "open_upstream"]

#: Bytes an HLS playlist may have; a bigger "playlist" is not one.
MAX_PLAYLIST_BYTES = 1 << 20
_TEXTUAL = (b"<", b"{", b"[")


class UpstreamError(Exception):
    """One candidate could not play (or stopped playing); ``kind`` is a short stable token, ``detail`` redacted."""

    def __init__(self, outcome: Outcome, kind: str, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(redact(detail))
        self.outcome, self.kind, self.detail, self.status_code = outcome, kind, redact(detail), status_code

    def as_health(self, response_ms: int | None = None) -> HealthResult:
        return HealthResult(self.outcome, self.status_code, response_ms, 0, self.kind, self.detail)


@dataclass(frozen=True, slots=True)
class OpenFailure:
    """Why one candidate was passed over (``provider_full`` is not the stream's fault)."""

    candidate: Candidate
    failure: UpstreamError


@dataclass(eq=False)
class Upstream:
    """An open upstream: the response, its first bytes, and the leased connection (released by :meth:`aclose`)."""

    candidate: Candidate
    response: httpx.Response
    raw: AsyncIterator[bytes]  # the body after ``first`` (one iterator: httpx streams a body once)
    lease: Lease
    first: bytes
    container: str | None  # mpegts, mp4, mkv ... or hls
    opened_ms: int
    opened_at: float = field(default_factory=time.monotonic)
    _closed: bool = field(default=False)

    @property
    def status_code(self) -> int:
        return self.response.status_code

    async def chunks(self) -> AsyncIterator[bytes]:
        """The first bytes, then the rest as it arrives; a read timeout (the stall limit) raises ``stall``."""
        if self.first:
            yield self.first
        try:
            async for chunk in self.raw:
                if chunk:
                    yield chunk
        except httpx.ReadTimeout as exc:
            raise UpstreamError("timeout", "stall", "the upstream sent nothing within the stall limit") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise UpstreamError("dead", _error_kind(exc), f"the upstream failed: {exc}") from exc

    async def read_all(self, limit: int) -> bytes:
        """The whole body (a playlist), at most ``limit`` bytes."""
        parts, size = [self.first], len(self.first)
        async for chunk in self.raw:
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                raise UpstreamError("dead", "too_large", f"the playlist is larger than {limit} bytes")
        return b"".join(parts)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.response.aclose()
        except (httpx.HTTPError, OSError):
            pass  # the connection is going away anyway
        finally:
            self.lease.release()


def build_client(*, connect_timeout: float, stall_seconds: float) -> httpx.AsyncClient:
    """The gateway's client: redirects followed (providers hop to load balancers), no pool limit of its own."""
    timeout = httpx.Timeout(connect=connect_timeout, read=stall_seconds, write=connect_timeout, pool=connect_timeout)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64, keepalive_expiry=30)
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=True, max_redirects=5)


async def open_upstream(
    client: httpx.AsyncClient,
    ledger: ConnectionLedger,
    candidate: Candidate,
    *,
    first_bytes_within: float,
    purpose: Purpose = "viewer",
    range_header: str | None = None,
) -> Upstream:
    """Open ``candidate`` and read its first bytes within ``first_bytes_within`` seconds; see the module rules."""
    lease = ledger.try_acquire(candidate.provider_id, candidate.max_connections, purpose)
    if lease is None:
        limit = candidate.max_connections
        raise UpstreamError(
            "rate_limited", "provider_full",
            f"provider {candidate.provider_name!r} has all of its {limit} connection(s) in use",
        )  # fmt: skip
    started = time.monotonic()
    headers = candidate.headers()
    if range_header:
        headers["Range"] = range_header
    response: httpx.Response | None = None
    try:
        async with asyncio.timeout(first_bytes_within):
            request = client.build_request("GET", candidate.url, headers=headers)
            response = await client.send(request, stream=True)
            _raise_for_status(response)
            raw = response.aiter_raw()
            first = await _first_bytes(raw)
        container = _judge(response, first, ranged=range_header is not None)
    except TimeoutError as exc:
        await _discard(response, lease)
        raise UpstreamError("timeout", "timeout", f"no media bytes within {first_bytes_within:.0f} s") from exc
    except UpstreamError:
        await _discard(response, lease)
        raise
    except (httpx.HTTPError, OSError) as exc:
        await _discard(response, lease)
        raise UpstreamError("dead", _error_kind(exc), f"the upstream failed: {exc}") from exc
    except BaseException:
        await _discard(response, lease)
        raise
    opened_ms = int((time.monotonic() - started) * 1000)
    return Upstream(candidate, response, raw, lease, first, container, opened_ms)


async def open_first(
    client: httpx.AsyncClient,
    ledger: ConnectionLedger,
    candidates: Sequence[Candidate],
    *,
    first_bytes_within: float,
    on_failure: Callable[[OpenFailure], None] | None = None,
    purpose: Purpose = "viewer",
    range_header: str | None = None,
) -> Upstream:
    """The first candidate that opens; none → :class:`NoPlayableStreamError` listing each one's reason."""
    reasons: list[str] = []
    kinds: set[str] = set()
    for candidate in candidates:
        try:
            return await open_upstream(
                client, ledger, candidate,
                first_bytes_within=first_bytes_within, purpose=purpose, range_header=range_header,
            )  # fmt: skip
        except UpstreamError as failure:
            what = f"stream {candidate.stream_id}" if candidate.stream_id else f"provider {candidate.provider_name!r}"
            reasons.append(f"{what}: {failure.detail}")
            kinds.add(failure.kind)
            if on_failure is not None:
                on_failure(OpenFailure(candidate, failure))
    full = kinds == {"provider_full"}
    raise NoPlayableStreamError(
        "No stream of this content could be opened: " + "; ".join(reasons[:5]),
        hint="Every provider carrying it is at its connection limit; try again when a viewer stops."
        if full
        else "The streams failed just now; health checks will mark them, or try another channel.",
    )


async def _first_bytes(raw: AsyncIterator[bytes]) -> bytes:
    while (chunk := await anext(raw, None)) is not None:
        if chunk:
            return chunk
    return b""


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400 or status == 416:
        return
    if status in (401, 403):
        detail = f"the provider refused the stream ({status})"
        raise UpstreamError("auth_failed", f"http_{status}", detail, status_code=status)
    if status == 429:
        raise UpstreamError("rate_limited", "http_429", "the provider asks to slow down (429)", status_code=status)
    raise UpstreamError("dead", f"http_{status}", f"the provider answered {status}", status_code=status)


def _judge(response: httpx.Response, first: bytes, *, ranged: bool) -> str | None:
    """The container of the first bytes; raises ``not_media`` for a text body. A ranged answer starts mid-file."""
    content_type = response.headers.get("content-type")
    if response.status_code == 416:
        return None
    if is_hls_playlist(first):
        return "hls"
    container = sniff_container(first)
    if container is not None:
        return container
    textual = (content_type or "").startswith(("text/", "application/json")) or first.lstrip()[:1] in _TEXTUAL
    if not first or (textual and not ranged):
        raise UpstreamError("dead", "not_media", describe_body(first, content_type), status_code=200)
    return None  # bytes we do not recognise (encrypted, an exotic container): relayed as they are


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, httpx.TooManyRedirects):
        return "too_many_redirects"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        return "refused" if "refused" in text else "tls" if "ssl" in text or "certificate" in text else "connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "reset"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "error"


async def _discard(response: httpx.Response | None, lease: Lease) -> None:
    try:
        if response is not None:
            await response.aclose()
    except (httpx.HTTPError, OSError):
        pass
    finally:
        lease.release()
