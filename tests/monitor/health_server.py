"""A loopback server for the health-checker tests: media, HLS, error statuses and misbehaving providers.

It runs the fake provider's app (uvicorn in a thread, :class:`FakeProviderServer`) with these routes in front:

``/ts/{name}`` MPEG-TS packets; ``/endless.ts`` TS packets until the client hangs up; ``/media/{kind}`` one
container signature (``mp4``, ``mkv``, ``flv``, ``adts``,
``mp3``, ``ps``) plus padding; ``/plan.ts`` a "buy a plan" HTML page with 200; ``/error.ts`` a JSON error with 200;
``/channels.m3u8`` a plain channel list; ``/head405.ts`` 405 for HEAD, media for GET; ``/status/{code}`` that
status (``?retry_after=`` adds the header); ``/slow.ts`` media after 3 s; ``/reset.ts`` 300 bytes then a cut
connection; ``/hls/...`` master, variant and segment playlists (see :data:`PLAYLISTS`); ``/redirect/{n}`` n hops,
then media (``?to=`` ends the chain elsewhere); ``/hop/{name}`` a redirect by a relative path (``../ts/...``);
``/chunked.ts`` TS packets in a chunked body; ``/short.ts`` a ``Content-Length`` body of two TS packets, shorter
than the checker's sniff; ``/echo.ts`` records the request's headers; ``/counted/{p}/{n}.ts`` counts requests in
flight per provider ``p`` and in all (the peaks are what the limit tests read); ``/limited/{p}/{n}.ts`` answers the
first request per provider 429 with ``Retry-After`` and records when each request arrived. Both of the last two
append their provider to :attr:`HealthServerState.sequence`, the order requests arrived in.

:class:`ScriptedServer` answers with fixed bytes over TCP or TLS, for what no HTTP server sends: a connection closed
before the headers, headers that never end, an answer that is not HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer, create_app, media_bytes

TS_BODY = media_bytes(7, packets=64)
CHUNKED_BODY = media_bytes(8, packets=12)
SHORT_BODY = media_bytes(9, packets=2)
HTML_PLAN = b"<!DOCTYPE html><html><body><h1>Your trial ended</h1><p>Buy a plan to keep watching.</p></body></html>"
SIGNATURES = {
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
    "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm",
    "flv": b"FLV\x01\x05\x00\x00\x00\x09",
    "adts": b"\xff\xf1\x50\x80\x02\x1f\xfc",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x23",
    "ps": b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01",
}
FMP4_SEGMENT = b"\x00\x00\x00\x18stypmsdh\x00\x00\x00\x00msdhmsix" + b"\x00" * 512
PLAYLISTS = {
    "master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=3000000\nhigh/index.m3u8\n",
    "low/index.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n"
    "#EXTINF:6.0,\nseg0.ts\n#EXTINF:6.0,\nseg1.ts\n",
    "broken/master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/hls/broken/v/index.m3u8\n",
    "broken/v/index.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nplan.ts\n",
    "fmp4/index.m3u8": '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg0.m4s\n',
    "crypt/index.m3u8": '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n#EXTINF:6.0,\nseg0.bin\n',
    "empty/index.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:6\n",
    "nested/master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nagain.m3u8\n",
    "disguised.ts": "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nlow/seg0.ts\n",
    "nested/again.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmaster.m3u8\n",
}
SEGMENTS = {"seg0.ts": TS_BODY, "seg0.m4s": FMP4_SEGMENT, "seg0.bin": bytes(range(256)) * 8, "plan.ts": HTML_PLAN}


@dataclass
class HealthServerState:
    """What the routes observed; written on the server's event loop, read by the tests after a run."""

    in_flight: Counter[int] = field(default_factory=Counter)
    peak: Counter[int] = field(default_factory=Counter)
    peak_total: int = 0
    arrivals: defaultdict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    sequence: list[int] = field(default_factory=list)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    counted_hold_seconds: float = 0.05
    retry_after: str = "1"

    def reset(self) -> None:
        fresh = HealthServerState()
        names = ("in_flight", "peak", "peak_total", "arrivals", "sequence", "headers", "counted_hold_seconds")
        for name in (*names, "retry_after"):
            setattr(self, name, getattr(fresh, name))


def _ts(request: Request) -> Response:
    return Response(TS_BODY, media_type="video/mp2t")


def _signature(request: Request) -> Response:
    return Response(SIGNATURES[request.path_params["kind"]] + bytes(2048), media_type="application/octet-stream")


def _endless(request: Request) -> Response:
    """A live stream: TS packets until the client hangs up."""

    async def packets() -> AsyncIterator[bytes]:
        while True:
            yield TS_BODY
            await anyio.lowlevel.checkpoint()

    return StreamingResponse(packets(), media_type="video/mp2t")


def _head_rejected(request: Request) -> Response:
    return PlainTextResponse("Method Not Allowed", 405) if request.method == "HEAD" else _ts(request)


def _status(request: Request) -> Response:
    code = int(request.path_params["code"])
    retry = request.query_params.get("retry_after")
    return PlainTextResponse(f"Error {code}", code, headers={"Retry-After": retry} if retry else None)


async def _slow(request: Request) -> Response:
    await anyio.sleep(3.0)
    return _ts(request)


def _hls(request: Request) -> Response:
    path = request.path_params["path"]
    if path in PLAYLISTS:
        return PlainTextResponse(PLAYLISTS[path], media_type="application/vnd.apple.mpegurl")
    name = path.rsplit("/", 1)[-1]
    if name == "plan.ts":
        return HTMLResponse(HTML_PLAN)
    return Response(SEGMENTS[name], media_type="video/mp2t") if name in SEGMENTS else PlainTextResponse("no", 404)


def _redirect(request: Request) -> Response:
    hops = int(request.path_params["hops"])
    to = request.query_params.get("to", "/ts/after-redirect.ts")
    target = f"/redirect/{hops - 1}?to={to}" if hops > 1 else to
    return RedirectResponse(target, status_code=302)


def _chunked(request: Request) -> Response:
    """No length given: uvicorn sends a chunked body, one chunk per piece."""

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(CHUNKED_BODY), 500):
            yield CHUNKED_BODY[start : start + 500]

    return StreamingResponse(pieces(), media_type="video/mp2t")


def _routes(state: HealthServerState) -> list[Route]:
    def echo(request: Request) -> Response:
        state.headers[request.url.path] = dict(request.headers)
        return _ts(request)

    async def counted(request: Request) -> Response:
        provider = int(request.path_params["provider"])
        state.sequence.append(provider)
        state.in_flight[provider] += 1
        state.peak[provider] = max(state.peak[provider], state.in_flight[provider])
        state.peak_total = max(state.peak_total, sum(state.in_flight.values()))
        try:
            await anyio.sleep(state.counted_hold_seconds)
        finally:
            state.in_flight[provider] -= 1
        return _ts(request)

    def limited(request: Request) -> Response:
        provider = int(request.path_params["provider"])
        state.sequence.append(provider)
        state.arrivals[provider].append(time.monotonic())
        if len(state.arrivals[provider]) == 1:
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": state.retry_after})
        return _ts(request)

    return [
        Route("/ts/{name:path}", _ts),
        Route("/media/{kind}", _signature),
        Route("/plan.ts", lambda request: HTMLResponse(HTML_PLAN)),
        Route("/error.ts", lambda request: JSONResponse({"user_info": {"auth": 0}, "error": "expired"})),
        Route("/channels.m3u8", lambda request: PlainTextResponse("#EXTM3U\n#EXTINF:-1,News\nhttp://x/1.ts\n")),
        Route("/endless.ts", _endless),
        Route("/head405.ts", _head_rejected, methods=["GET", "HEAD"]),
        Route("/status/{code:int}", _status),
        Route("/slow.ts", _slow),
        Route("/reset.ts", lambda request: Response(TS_BODY, media_type="video/mp2t")),
        Route("/hls/{path:path}", _hls),
        Route("/redirect/{hops:int}", _redirect),
        Route("/hop/{name}", lambda request: RedirectResponse("../ts/after-hop.ts", status_code=302)),
        Route("/chunked.ts", _chunked),
        Route("/short.ts", lambda request: Response(SHORT_BODY, media_type="video/mp2t")),
        Route("/echo.ts", echo),
        Route("/counted/{provider:int}/{n}", counted),
        Route("/limited/{provider:int}/{n}", limited),
    ]


@contextlib.contextmanager
def serve_health_app() -> Iterator[tuple[FakeProviderServer, HealthServerState]]:
    """Run the routes above on loopback; ``/reset.ts`` is cut by the fake provider's own fault injector."""
    state = HealthServerState()
    app = create_app(build_catalogue(live=1, movies=0, series=0))
    app.router.routes[:0] = _routes(state)
    with FakeProviderServer(app) as server:
        server.faults.only_paths = {"/reset.ts"}
        server.faults.truncate_after_bytes = 300
        yield server, state


class ScriptedServer:
    """Answers every connection with the same bytes, then closes it: a TCP (or, given ``tls``, TLS) server on
    loopback with its own event loop in a thread. It records each request's head and the SNI names it was sent.

    ``answer=b""`` closes before any header; ``host="::1"`` serves on IPv6.
    """

    def __init__(self, answer: bytes, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.answer, self.host = answer, host
        self.requests: list[bytes] = []
        self.server_names: list[str | None] = []
        self.port = 0
        self._tls = tls
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="scripted-server", daemon=True)
        if tls is not None:
            tls.sni_callback = self._record_sni

    def url(self, path: str, *, scheme: str = "http", host: str | None = None) -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{name}:{self.port}{path}"

    def _record_sni(self, connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(self.answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client hung up first (as the checker does once it has what it wants) or the handshake failed
        finally:
            writer.transport.abort()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._answer, self.host, 0, ssl=self._tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the scripted server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)


def http_answer(body: bytes, *, headers: bytes = b"", status: bytes = b"200 OK") -> bytes:
    """A whole HTTP/1.1 answer with a ``Content-Length`` body, for :class:`ScriptedServer`."""
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), headers) + body
