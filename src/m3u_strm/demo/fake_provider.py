"""A fake IPTV provider on loopback: M3U playlists, the Xtream Codes API, an XMLTV guide and stream bodies.

Tests and the product's demo run it for real (uvicorn in a background thread) so every byte goes over a socket::

    with FakeProviderServer(build_catalogue(live=50)) as provider:
        provider.faults.status_code = 503        # every request now fails ...
        provider.faults.fail_times = 2           # ... but only the first two
        httpx.get(provider.m3u_url)

Routes: ``/get.php`` (M3U with credentials), ``/playlist.m3u`` and ``/playlist.m3u.gz`` (public, no credentials),
``/player_api.php`` (Xtream API), ``/xmltv.php`` and ``/epg.xml`` (guide), ``/live|movie|series/<u>/<p>/<id>.<ext>``
and ``/stream/...`` (media), ``/logos/<name>.png``. Large answers are streamed chunk by chunk, never built whole.

:class:`Faults` switches failures on while the server runs: delays, error statuses, 429 with Retry-After, HTML or
JSON-error pages with status 200, empty bodies, bodies that stall or break off after N bytes, ``auth: 0`` and
expired accounts. ``only_paths`` aims them at one endpoint or Xtream action; ``fail_times`` makes them transient.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from xml.sax.saxutils import escape, quoteattr

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m3u_strm.demo.catalogue import (
    LIVE_CHANNELS,
    CategoryKind,
    FakeCatalogue,
    build_catalogue,
    dumps_php,
    live_record,
    movie_record,
    series_info_record,
    series_record,
)

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "demo-password"  # noqa: S105 (the loopback demo account, shown in the README)
CHUNK_BYTES = 64 * 1024
TS_PACKET = 188
CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1>
<p>Error 520: Web server is returning an unknown error. Ray ID: 7d1f2a3b4c5d6e7f</p>
<form action="/login.php" method="post"><input name="username"><input type="password" name="password"></form>
</body></html>
"""
_EPG_NAMES = {epg: display for channels in LIVE_CHANNELS.values() for _, display, epg in channels}
_KINDS: tuple[CategoryKind, ...] = ("live", "vod", "series")
_PROGRAMME_TITLES = ("Morning News", "Live: Premier League", "The Late Show", "Documentary: Oceans", "Film: Heat")


@dataclass
class Faults:
    """Failures to inject, flipped from a test while the server runs. :meth:`reset` turns everything off.

    ``hits`` counts every request by path and, for the Xtream API, by action (``"get_live_streams"``; plain
    authentication counts as ``"authenticate"``). ``only_paths`` aims the faults: entries starting with ``/`` are
    path prefixes (``"/player_api.php"``, ``"/get.php"``), others Xtream actions (``"get_vod_streams"``,
    ``"authenticate"``). ``fail_times`` limits the failing faults (status codes, 429, 200-with-garbage, stall,
    truncate) to the first N requests they apply to. ``delay_seconds`` applies to every request aimed at.
    """

    delay_seconds: float = 0.0
    stall_after_bytes: int | None = None
    truncate_after_bytes: int | None = None
    status_code: int | None = None
    fail_times: int | None = None
    rate_limit_retry_after: float | str | None = None
    html_200: bool = False
    json_error_200: bool = False
    empty_200: bool = False
    auth_zero: bool = False
    expired: bool = False
    only_paths: set[str] | None = None
    stall_max_seconds: float = 120.0
    hits: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def reset(self) -> None:
        with self._lock:
            fresh = Faults()
            for name in self.__dataclass_fields__:
                if name != "_lock":
                    setattr(self, name, getattr(fresh, name))

    def record_hit(self, path: str, action: str | None) -> None:
        with self._lock:
            self.hits[path] += 1
            if path == "/player_api.php":
                self.hits[action or "authenticate"] += 1

    def applies_to(self, path: str, action: str | None) -> bool:
        if self.only_paths is None:
            return True
        name = (action or "authenticate") if path == "/player_api.php" else None
        return any(path.startswith(t) if t.startswith("/") else t == name for t in self.only_paths)

    def _failing(self) -> bool:
        return (
            self.status_code is not None
            or self.rate_limit_retry_after is not None
            or self.html_200
            or self.json_error_200
            or self.empty_200
            or self.stall_after_bytes is not None
            or self.truncate_after_bytes is not None
        )

    def claim_failure(self) -> bool:
        """Whether this request fails: a failing fault is set and ``fail_times`` is not used up."""
        with self._lock:
            if not self._failing() or (self.fail_times is not None and self.failed >= self.fail_times):
                return False
            self.failed += 1
            return True

    def replacement(self) -> Response | None:
        """The whole response that replaces the real one, if a fault calls for that."""
        if self.rate_limit_retry_after is not None:
            retry = self.rate_limit_retry_after
            value = f"{retry:g}" if isinstance(retry, float | int) else retry
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": value})
        if self.status_code is not None:
            return PlainTextResponse(f"Error {self.status_code}", self.status_code)
        if self.html_200:
            return HTMLResponse(CLOUDFLARE_PAGE)
        if self.json_error_200:
            return JSONResponse({"error": "Server is under maintenance, please try again later."})
        if self.empty_200:
            return Response(b"", 200, media_type="text/html")
        return None


class _ConnectionCutError(Exception):
    """Raised inside the app to make uvicorn drop the connection mid-body (the client sees a broken body)."""


class _QuietCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _ConnectionCutError))


class _FaultInjector:
    """ASGI middleware applying :class:`Faults` around the real routes."""

    def __init__(self, app: ASGIApp, faults: Faults, closing: threading.Event) -> None:
        self.app = app
        self.faults = faults
        self.closing = closing  # set when the server stops: stalled responses give up at once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        action = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("action", [None])[0]
        faults = self.faults
        faults.record_hit(path, action)
        if not faults.applies_to(path, action):
            await self.app(scope, receive, send)
            return
        if faults.delay_seconds > 0:
            await anyio.sleep(faults.delay_seconds)
        if not faults.claim_failure():
            await self.app(scope, receive, send)
            return
        response = faults.replacement()
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, self._cutting_send(send, receive))

    def _cutting_send(self, send: Send, receive: Receive) -> Send:
        faults = self.faults
        stall, truncate = faults.stall_after_bytes, faults.truncate_after_bytes
        limit = stall if stall is not None else (truncate or 0)
        sent = 0

        async def cutting_send(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                body: bytes = message.get("body", b"")
                if sent + len(body) > limit:
                    await send({"type": "http.response.body", "body": body[: limit - sent], "more_body": True})
                    if stall is not None:
                        await _stall(receive, self.closing, faults.stall_max_seconds)
                    raise _ConnectionCutError
                sent += len(body)
            await send(message)

        return cutting_send


async def _stall(receive: Receive, closing: threading.Event, max_seconds: float) -> None:
    """Hang until the client gives up (disconnects), the server stops, or ``max_seconds`` pass."""

    async def until_closing() -> None:
        while not closing.is_set():  # noqa: ASYNC110 (set from another thread: an anyio.Event would not do)
            await anyio.sleep(0.05)

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with anyio.move_on_after(max_seconds):
        async with anyio.create_task_group() as group:
            for waiter in (until_closing, until_disconnect):
                group.start_soon(_first_wins, waiter, group.cancel_scope)


async def _first_wins(waiter: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
    await waiter()
    scope.cancel()


# -- rendering ---------------------------------------------------------------------------------------------------


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    """Join small strings into ~64 KiB chunks: few enough sends to be fast, small enough to keep memory flat."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _attr(value: str | None) -> str:
    return (value or "").replace('"', "'")


@dataclass(frozen=True)
class _PlaylistStyle:
    base: str
    credentials: tuple[str, str] | None  # Xtream-style URLs with credentials, else public /stream/ URLs
    plus: bool = True  # m3u_plus attributes, or bare "#EXTINF:-1,Name"
    live_ext: str = "ts"

    def url(self, kind: str, item_id: int, ext: str) -> str:
        if self.credentials is None:
            return (
                f"{self.base}/stream/{item_id}.{ext}"
                if kind == "live"
                else f"{self.base}/stream/{kind}/{item_id}.{ext}"
            )
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"{self.base}/{kind}/{user}/{password}/{item_id}.{ext}"

    def entry(self, name: str, url: str, *, group: str, tvg_id: str | None, logo: str | None, chno: int | None) -> str:
        if not self.plus:
            return f"#EXTINF:-1,{name}\n{url}\n"
        number = f' tvg-chno="{chno}"' if chno is not None else ""
        logo_url = f"{self.base}{logo}" if logo else ""
        return (
            f'#EXTINF:-1 tvg-id="{_attr(tvg_id)}" tvg-name="{_attr(name)}" tvg-logo="{logo_url}"{number} '
            f'group-title="{_attr(group)}",{name}\n{url}\n'
        )


def m3u_lines(catalogue: FakeCatalogue, style: _PlaylistStyle, epg_url: str) -> Iterator[str]:
    """The whole playlist, line by line: live channels, then movies, then series episodes."""
    yield f'#EXTM3U x-tvg-url="{epg_url}" url-tvg="{epg_url}"\n'
    groups = {c.id: c.name for kind in _KINDS for c in catalogue.categories(kind)}
    for live in catalogue.iter_live():
        url = style.url("live", live.stream_id, style.live_ext)
        group = groups[live.category_id]
        yield style.entry(live.name, url, group=group, tvg_id=live.epg_channel_id, logo=live.icon, chno=live.num)
    for movie in catalogue.iter_movies():
        url = style.url("movie", movie.stream_id, movie.container_extension)
        yield style.entry(movie.name, url, group=groups[movie.category_id], tvg_id=None, logo=movie.icon, chno=None)
    for show in catalogue.iter_series():
        for episode in catalogue.episodes_of(show.series_id):
            url = style.url("series", episode.id, episode.container_extension)
            group = groups[show.category_id]
            yield style.entry(episode.title, url, group=group, tvg_id=None, logo=show.cover, chno=None)


def _json_array(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    first = True
    for record in records:
        yield dumps_php(record) if first else "," + dumps_php(record)
        first = False
    yield "]"


def xmltv_lines(catalogue: FakeCatalogue, base: str, now: datetime | None = None) -> Iterator[str]:
    """A small guide: each EPG id found in the catalogue, with four programmes around the current hour."""
    start = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="m3u-strm fake provider">\n'
    seen: list[str] = []
    for live in catalogue.iter_live():
        epg = live.epg_channel_id
        if epg and epg not in seen:
            seen.append(epg)
            logo = f"\n    <icon src={quoteattr(base + live.icon)}/>" if live.icon else ""
            name = escape(_EPG_NAMES.get(epg, live.name))
            yield f"  <channel id={quoteattr(epg)}>\n    <display-name>{name}</display-name>{logo}\n  </channel>\n"
            if len(seen) == len(_EPG_NAMES):
                break
    for n, epg in enumerate(seen):
        begin = start
        for p in range(4):
            end = begin + timedelta(minutes=60 + 30 * ((n + p) % 3))
            title = escape(_PROGRAMME_TITLES[(n + p) % len(_PROGRAMME_TITLES)])
            yield (
                f'  <programme start="{begin:%Y%m%d%H%M%S} +0000" stop="{end:%Y%m%d%H%M%S} +0000" '
                f"channel={quoteattr(epg)}>\n    <title>{title}</title>\n"
                f"    <desc>Programme {p + 1} on {escape(epg)}.</desc>\n  </programme>\n"
            )
            begin = end
    yield "</tv>\n"


def media_bytes(stream_id: int, packets: int = 64) -> bytes:
    """A short body of MPEG-TS-looking packets (188 bytes, sync byte 0x47, PID 0x100) unique to the stream."""
    out = bytearray()
    for n in range(packets):
        start = 0x40 if n == 0 else 0x00  # payload_unit_start_indicator on the first packet
        header = bytes((0x47, start | 0x01, 0x00, 0x10 | (n & 0x0F)))
        pattern = stream_id.to_bytes(8, "big") + n.to_bytes(4, "big")
        out += header + (pattern * (TS_PACKET // len(pattern) + 1))[: TS_PACKET - len(header)]
    return bytes(out)


def logo_png(name: str, size: int = 16) -> bytes:
    """A tiny solid-colour PNG whose colour depends on ``name`` (so logos differ in the demo UI)."""
    colour = zlib.crc32(name.encode()).to_bytes(4, "big")[:3]
    raw = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# -- routes ------------------------------------------------------------------------------------------------------


@dataclass
class _Provider:
    """What the routes read, per request: swap ``catalogue`` to simulate the provider changing its lists."""

    catalogue: FakeCatalogue
    username: str
    password: str
    faults: Faults
    closing: threading.Event = field(default_factory=threading.Event)

    def authorised(self, username: str | None, password: str | None) -> bool:
        return username == self.username and password == self.password


def _state(request: Request) -> _Provider:
    provider: _Provider = request.app.state.provider
    return provider


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _stream(pieces: Iterable[str], media_type: str) -> StreamingResponse:
    return StreamingResponse(_chunked(pieces), media_type=media_type)


def _unauthorised() -> PlainTextResponse:
    return PlainTextResponse("Invalid username or password.", 401)


async def get_playlist(request: Request) -> Response:
    provider, query = _state(request), request.query_params
    if not provider.authorised(query.get("username"), query.get("password")):
        return _unauthorised()
    base = _base(request)
    live_ext = "m3u8" if query.get("output") in ("m3u8", "hls") else "ts"
    style = _PlaylistStyle(base, (provider.username, provider.password), query.get("type") != "m3u", live_ext)
    epg_url = f"{base}/xmltv.php?" + urlencode({"username": provider.username, "password": provider.password})
    return _stream(m3u_lines(provider.catalogue, style, epg_url), "audio/x-mpegurl")


async def get_public_playlist(request: Request) -> Response:
    base = _base(request)
    return _stream(
        m3u_lines(_state(request).catalogue, _PlaylistStyle(base, None), f"{base}/epg.xml"), "audio/x-mpegurl"
    )


def _gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


async def get_public_playlist_gz(request: Request) -> Response:
    """A gzip *file* (no Content-Encoding), as static hosts serve ``.m3u.gz``."""
    base = _base(request)
    lines = m3u_lines(_state(request).catalogue, _PlaylistStyle(base, None), f"{base}/epg.xml")
    return StreamingResponse(_gzipped(_chunked(lines)), media_type="application/octet-stream")


async def get_guide(request: Request) -> Response:
    provider, query = _state(request), request.query_params
    if request.url.path == "/xmltv.php" and not provider.authorised(query.get("username"), query.get("password")):
        return _unauthorised()
    return _stream(xmltv_lines(provider.catalogue, _base(request)), "application/xml")


def account_info(provider: _Provider, request: Request, *, expired: bool = False) -> dict[str, Any]:
    now = int(time.time())
    expiry = now - 10 * 86400 if expired else now + 365 * 86400
    exp_date: Any = str(expiry)
    if provider.catalogue.type_drift and not expired:
        exp_date = (str(expiry), expiry, None)[provider.catalogue.seed % 3]
    url = request.url
    return {
        "user_info": {
            "username": provider.username,
            "password": provider.password,
            "message": "Welcome to the fake provider",
            "auth": 1,
            "status": "Expired" if expired else "Active",
            "exp_date": exp_date,
            "is_trial": "0",
            "active_cons": "0",
            "created_at": "1690000000",
            "max_connections": "2",
            "allowed_output_formats": ["m3u8", "ts", "rtmp"],
        },
        "server_info": {
            "url": url.hostname,
            "port": str(url.port or 80),
            "https_port": "" if provider.catalogue.type_drift else "443",
            "server_protocol": url.scheme,
            "rtmp_port": "8880",
            "timezone": "Europe/London",
            "timestamp_now": now,
            "time_now": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        },
    }


def _category_filter(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _categories_json(catalogue: FakeCatalogue, kind: CategoryKind) -> list[dict[str, Any]]:
    return [{"category_id": str(c.id), "category_name": c.name, "parent_id": 0} for c in catalogue.categories(kind)]


_CATEGORY_ACTIONS: dict[str, CategoryKind] = {
    "get_live_categories": "live",
    "get_vod_categories": "vod",
    "get_series_categories": "series",
}


def _api_answer(provider: _Provider, action: str, request: Request) -> Response:
    catalogue, base, query = provider.catalogue, _base(request), request.query_params
    category = _category_filter(query.get("category_id"))
    if action in _CATEGORY_ACTIONS:
        return JSONResponse(_categories_json(catalogue, _CATEGORY_ACTIONS[action]))
    if action == "get_live_streams":
        records = (live_record(catalogue, item, base) for item in catalogue.iter_live(category))
        return _stream(_json_array(records), "application/json")
    if action == "get_vod_streams":
        records = (movie_record(catalogue, item, base) for item in catalogue.iter_movies(category))
        return _stream(_json_array(records), "application/json")
    if action == "get_series":
        records = (series_record(catalogue, item, base) for item in catalogue.iter_series(category))
        return _stream(_json_array(records), "application/json")
    if action == "get_series_info":
        series_id = _category_filter(query.get("series_id")) or 0
        return Response(dumps_php(series_info_record(catalogue, series_id, base)), media_type="application/json")
    if action == "get_vod_info":
        return JSONResponse(_vod_info(catalogue, _category_filter(query.get("vod_id")) or 0, base))
    return JSONResponse([])


def _vod_info(catalogue: FakeCatalogue, vod_id: int, base: str) -> dict[str, Any]:
    movie = catalogue.movie_by_id(vod_id)
    if movie is None:
        return {"info": [], "movie_data": []}
    record = movie_record(catalogue, movie, base)
    info = {"name": movie.name, "movie_image": record["stream_icon"], "rating": record["rating"],
            "releasedate": f"{movie.year}-01-01", "duration_secs": 5400 + vod_id % 3600, "plot": ""}  # fmt: skip
    return {"info": info, "movie_data": record}


async def player_api(request: Request) -> Response:
    provider, query = _state(request), request.query_params
    action = query.get("action")
    aimed = provider.faults.applies_to(request.url.path, action)
    if (provider.faults.auth_zero and aimed) or not provider.authorised(query.get("username"), query.get("password")):
        return JSONResponse({"user_info": {"auth": 0}})
    if not action:
        return JSONResponse(account_info(provider, request, expired=provider.faults.expired and aimed))
    return _api_answer(provider, action, request)


_MEDIA_TYPES = {"ts": "video/mp2t", "m3u8": "video/mp2t", "mkv": "video/x-matroska", "mp4": "video/mp4"}


def _media(file: str) -> Response:
    stem, _, ext = file.partition(".")
    if not stem.isdigit():
        return PlainTextResponse("Not found.", 404)
    return Response(media_bytes(int(stem)), media_type=_MEDIA_TYPES.get(ext, "application/octet-stream"))


async def get_media(request: Request) -> Response:
    params = request.path_params
    if params["kind"] not in ("live", "movie", "series"):
        return PlainTextResponse("Not found.", 404)
    if not _state(request).authorised(params["username"], params["password"]):
        return _unauthorised()
    return _media(params["file"])


async def get_public_media(request: Request) -> Response:
    return _media(request.path_params["file"])


async def get_logo(request: Request) -> Response:
    return Response(logo_png(request.path_params["name"]), media_type="image/png")


def create_app(
    catalogue: FakeCatalogue | None = None,
    *,
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    faults: Faults | None = None,
) -> Starlette:
    """The fake provider as an ASGI app; ``app.state.provider`` holds its catalogue, credentials and faults."""
    faults = faults if faults is not None else Faults()
    provider = _Provider(catalogue or build_catalogue(), username, password, faults)
    routes = [
        Route("/get.php", get_playlist),
        Route("/playlist.m3u", get_public_playlist),
        Route("/playlist.m3u.gz", get_public_playlist_gz),
        Route("/player_api.php", player_api),
        Route("/xmltv.php", get_guide),
        Route("/epg.xml", get_guide),
        Route("/{kind:str}/{username:str}/{password:str}/{file:str}", get_media),
        Route("/stream/{file:str}", get_public_media),
        Route("/stream/{kind:str}/{file:str}", get_public_media),
        Route("/logos/{name:str}", get_logo),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(_FaultInjector, faults=faults, closing=provider.closing)])
    app.state.provider = provider
    logging.getLogger("uvicorn.error").addFilter(_QUIET_CUTS)
    return app


_QUIET_CUTS = _QuietCuts()


# -- server ------------------------------------------------------------------------------------------------------


class FakeProviderServer:
    """Runs the fake provider with uvicorn in a daemon thread on ``127.0.0.1`` and a free port.

    Safe next to another uvicorn server in the same process (the product's ``serve`` with the demo): it has its own
    event loop, installs no signal handlers and leaves logging configuration alone.
    """

    def __init__(
        self,
        app_or_catalogue: Starlette | FakeCatalogue | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(app_or_catalogue, Starlette):
            self.app = app_or_catalogue
        else:
            self.app = create_app(app_or_catalogue, username=username, password=password, faults=faults)
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def provider(self) -> _Provider:
        provider: _Provider = self.app.state.provider
        return provider

    @property
    def faults(self) -> Faults:
        return self.provider.faults

    @property
    def username(self) -> str:
        return self.provider.username

    @property
    def password(self) -> str:
        return self.provider.password

    @property
    def catalogue(self) -> FakeCatalogue:
        return self.provider.catalogue

    @catalogue.setter
    def catalogue(self, value: FakeCatalogue) -> None:
        self.provider.catalogue = value

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the fake provider is not running; call start() first")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def m3u_url(self) -> str:
        query = urlencode({"username": self.username, "password": self.password, "type": "m3u_plus", "output": "ts"})
        return f"{self.base_url}/get.php?{query}"

    @property
    def public_m3u_url(self) -> str:
        return f"{self.base_url}/playlist.m3u"

    @property
    def xmltv_url(self) -> str:
        return f"{self.base_url}/xmltv.php?" + urlencode({"username": self.username, "password": self.password})

    def start(self, timeout: float = 10.0) -> FakeProviderServer:
        """Start serving; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        self.provider.closing.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.set_inheritable(True)
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, access_log=False, loop="asyncio",
            timeout_graceful_shutdown=1, timeout_keep_alive=5,
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-provider", daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, also when a stalled response is pending: graceful first, then forced."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is not None and thread is not None:
            self.provider.closing.set()
            server.should_exit = True
            thread.join(timeout=2.0)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=timeout)
        if sock is not None:
            sock.close()
        self._server = self._thread = None
        self._socket = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m m3u_strm.demo.fake_provider --live 5000``: serve until interrupted; prints the base URL first."""
    parser = argparse.ArgumentParser(description="Serve the fake IPTV provider on loopback.")
    for name, default in (("live", 300), ("movies", 100), ("series", 20), ("episodes-per-series", 6), ("seed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--type-drift", action="store_true")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    catalogue = build_catalogue(
        live=args.live, movies=args.movies, series=args.series, episodes_per_series=args.episodes_per_series,
        seed=args.seed, type_drift=args.type_drift,
    )  # fmt: skip
    with FakeProviderServer(catalogue, username=args.username, password=args.password, port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
