"""A fake IPTV provider on loopback: M3U playlists, the Xtream Codes API, an XMLTV guide and stream bodies.

Tests and the product's demo run it for real (uvicorn in a background thread) so every byte goes over a socket::

    with FakeProviderServer(build_catalogue(live=50)) as provider:
        provider.faults.status_code = 503        # every request now fails ...
        provider.faults.fail_times = 2           # ... but only the first two
        httpx.get(provider.m3u_url)

Routes: ``/get.php`` (M3U with credentials), ``/playlist.m3u`` and ``/playlist.m3u.gz`` (public, no credentials),
``/player_api.php`` (Xtream API), ``/xmltv.php`` and ``/epg.xml`` (guide), ``/live|movie|series/<u>/<p>/<id>.<ext>``
and ``/stream/...`` (media; movie and episode files answer byte ranges), ``/live|movie|series/<u>/<p>/<id>.m3u8``
and ``/live/<u>/<p>/<id>/master.m3u8`` (HLS, laid out in :mod:`m3u_strm.demo.hls`), ``/logos/<name>.png``. Large
answers are streamed chunk by chunk, never built whole.

The routes live here with :func:`create_app`; :mod:`m3u_strm.demo.faults` holds :class:`Faults` (switched on
while the server runs: error statuses, stalls, broken bodies, ``auth: 0`` ...), :mod:`m3u_strm.demo.render` the
playlist, guide and media bodies, and :mod:`m3u_strm.demo.server` the runner. :class:`FakeProviderServer`,
:class:`Faults` and :func:`media_bytes` are re-exported here; ``python -m m3u_strm.demo.fake_provider --live 5000``
serves until interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from m3u_strm.demo import hls
from m3u_strm.demo.catalogue import CategoryKind, FakeCatalogue, build_catalogue
from m3u_strm.demo.faults import QUIET_CUTS, FaultInjector, Faults
from m3u_strm.demo.ranges import ranged_response
from m3u_strm.demo.render import (
    TS_PACKET,
    PlaylistStyle,
    chunked,
    gzipped,
    json_array,
    logo_png,
    m3u_lines,
    media_bytes,
    xmltv_lines,
)
from m3u_strm.demo.xtream_wire import dumps_php, live_record, movie_record, series_info_record, series_record

if TYPE_CHECKING:
    from m3u_strm.demo.server import FakeProviderServer, main

__all__ = ["TS_PACKET", "FakeProviderServer", "Faults", "create_app", "main", "media_bytes"]

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "demo-password"  # noqa: S105 (the loopback demo account, shown in the README)


@dataclass
class ProviderState:
    """What the routes read, per request: swap ``catalogue`` to simulate the provider changing its lists."""

    catalogue: FakeCatalogue
    username: str
    password: str
    faults: Faults
    closing: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.time  # wall time for live HLS; a test may set its own to move time on

    def authorised(self, username: str | None, password: str | None) -> bool:
        return username == self.username and password == self.password


def _state(request: Request) -> ProviderState:
    provider: ProviderState = request.app.state.provider
    return provider


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _stream(pieces: Iterable[str], media_type: str) -> StreamingResponse:
    return StreamingResponse(chunked(pieces), media_type=media_type)


def _unauthorised() -> PlainTextResponse:
    return PlainTextResponse("Invalid username or password.", 401)


async def get_playlist(request: Request) -> Response:
    provider, query = _state(request), request.query_params
    if not provider.authorised(query.get("username"), query.get("password")):
        return _unauthorised()
    base = _base(request)
    live_ext = "m3u8" if query.get("output") in ("m3u8", "hls") else "ts"
    style = PlaylistStyle(base, (provider.username, provider.password), query.get("type") != "m3u", live_ext)
    epg_url = f"{base}/xmltv.php?" + urlencode({"username": provider.username, "password": provider.password})
    return _stream(m3u_lines(provider.catalogue, style, epg_url), "audio/x-mpegurl")


async def get_public_playlist(request: Request) -> Response:
    base = _base(request)
    return _stream(
        m3u_lines(_state(request).catalogue, PlaylistStyle(base, None), f"{base}/epg.xml"), "audio/x-mpegurl"
    )


async def get_public_playlist_gz(request: Request) -> Response:
    """A gzip *file* (no Content-Encoding), as static hosts serve ``.m3u.gz``."""
    base = _base(request)
    lines = m3u_lines(_state(request).catalogue, PlaylistStyle(base, None), f"{base}/epg.xml")
    return StreamingResponse(gzipped(chunked(lines)), media_type="application/octet-stream")


async def get_guide(request: Request) -> Response:
    provider, query = _state(request), request.query_params
    if request.url.path == "/xmltv.php" and not provider.authorised(query.get("username"), query.get("password")):
        return _unauthorised()
    return _stream(xmltv_lines(provider.catalogue, _base(request)), "application/xml")


def account_info(provider: ProviderState, request: Request, *, expired: bool = False) -> dict[str, Any]:
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


def _api_answer(provider: ProviderState, action: str, request: Request) -> Response:
    catalogue, base, query = provider.catalogue, _base(request), request.query_params
    category = _category_filter(query.get("category_id"))
    if action in _CATEGORY_ACTIONS:
        return JSONResponse(_categories_json(catalogue, _CATEGORY_ACTIONS[action]))
    if action == "get_live_streams":
        records = (live_record(catalogue, item, base) for item in catalogue.iter_live(category))
        return _stream(json_array(records), "application/json")
    if action == "get_vod_streams":
        records = (movie_record(catalogue, item, base) for item in catalogue.iter_movies(category))
        return _stream(json_array(records), "application/json")
    if action == "get_series":
        records = (series_record(catalogue, item, base) for item in catalogue.iter_series(category))
        return _stream(json_array(records), "application/json")
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


_MEDIA_TYPES = {"ts": "video/mp2t", "mkv": "video/x-matroska", "mp4": "video/mp4"}
_PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
_MEDIA_KINDS = ("live", "movie", "series")


def _head_rejected(request: Request) -> Response | None:
    """405 for HEAD when ``faults.head_rejected`` is on, as many real panels answer (GET keeps working)."""
    faults = _state(request).faults
    if request.method == "HEAD" and faults.head_rejected and faults.applies_to(request.url.path, None):
        return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET"})
    return None


def _media_file(request: Request, kind: str, file: str) -> Response:
    """Live ``.ts``: an endless MPEG-TS made with PyAV (a moving test card with a tone; ``faults.media_kind`` turns it
    black, frozen, silent or into a placeholder), paced like a live channel (:func:`_live_ts`), so health checks,
    quality probes and players of the demo get something real. VOD files: short TS-looking bodies, enough for the
    gateway and the health checker, answering byte ranges (:mod:`m3u_strm.demo.ranges`) so that seeking can be
    tested."""
    stem, _, ext = file.partition(".")
    if not stem.isdigit():
        return PlainTextResponse("Not found.", 404)
    media_type = _MEDIA_TYPES.get(ext, "application/octet-stream")
    if kind == "live" and ext == "ts":
        return StreamingResponse(_live_ts(_state(request)), media_type=media_type)
    if kind == "live":
        return Response(media_bytes(int(stem)), media_type=media_type)
    return ranged_response(request, media_bytes(int(stem)), media_type)


#: Segments a live ``.ts`` sends at once (a player's start-up buffer, a probe's sample), before real-time pacing.
LIVE_BURST = 2


async def _live_ts(provider: ProviderState) -> AsyncIterator[bytes]:
    """The live HLS timeline's segments, back to back as one transport stream: :data:`LIVE_BURST` at once, then one
    per segment duration, until the client hangs up or the server stops."""
    kind = provider.faults.media_kind
    first = hls.live_sequence(provider.clock()) - LIVE_BURST + 1
    started = time.monotonic()
    number = first
    while not provider.closing.is_set():
        yield hls.segment_bytes(kind, hls.LIVE_TS, number)
        number += 1
        due = started + (number - first - LIVE_BURST + 1) * hls.SEGMENT_SECONDS
        await anyio.sleep(max(due - time.monotonic(), 0.0))


def _playlist(text: str) -> Response:
    return PlainTextResponse(text, media_type=_PLAYLIST_TYPE)


async def get_media(request: Request) -> Response:
    """``/<kind>/<user>/<pass>/<id>.<ext>``: a file, or with ``.m3u8`` an HLS media playlist
    (:mod:`m3u_strm.demo.hls`: live slides with the clock, VOD ends)."""
    params = request.path_params
    if params["kind"] not in _MEDIA_KINDS:
        return PlainTextResponse("Not found.", 404)
    if not _state(request).authorised(params["username"], params["password"]):
        return _unauthorised()
    if (rejected := _head_rejected(request)) is not None:
        return rejected
    stem, _, ext = params["file"].partition(".")
    if ext != "m3u8":
        return _media_file(request, params["kind"], params["file"])
    if not stem.isdigit():
        return PlainTextResponse("Not found.", 404)
    if params["kind"] == "live":
        return _playlist(hls.live_playlist(now=_state(request).clock(), prefix=f"{stem}/"))
    return _playlist(hls.vod_playlist(prefix=f"{stem}/"))


async def get_hls_part(request: Request) -> Response:
    """``/<kind>/<user>/<pass>/<id>/<file>``: a segment, or (live) the master playlist or a rendition's playlist."""
    params, provider = request.path_params, _state(request)
    kind, file = params["kind"], params["file"]
    if kind not in _MEDIA_KINDS or not params["stem"].isdigit():
        return PlainTextResponse("Not found.", 404)
    if not provider.authorised(params["username"], params["password"]):
        return _unauthorised()
    if (rejected := _head_rejected(request)) is not None:
        return rejected
    if file.endswith(".m3u8"):
        return _rendition_playlist(provider, kind, file.removesuffix(".m3u8"))
    segment = hls.parse_segment(file)
    if segment is None or not _segment_exists(provider, kind, segment.number):
        return PlainTextResponse("Not found.", 404)
    media_kind = provider.faults.media_kind
    body = await anyio.to_thread.run_sync(hls.segment_bytes, media_kind, segment.rendition, segment.number)
    return Response(body, media_type="video/mp2t")


def _rendition_playlist(provider: ProviderState, kind: str, name: str) -> Response:
    if kind != "live":
        return PlainTextResponse("Not found.", 404)
    if name == "master":
        return _playlist(hls.master_playlist(provider.faults.media_kind))
    if hls.rendition(name) is None:
        return PlainTextResponse("Not found.", 404)
    return _playlist(hls.live_playlist(now=provider.clock(), prefix=f"{name}-"))


def _segment_exists(provider: ProviderState, kind: str, number: int) -> bool:
    if kind == "live":
        return hls.live_segment_available(number, provider.clock())
    return number < hls.VOD_SEGMENTS


async def get_public_media(request: Request) -> Response:
    if (rejected := _head_rejected(request)) is not None:
        return rejected
    return _media_file(request, request.path_params.get("kind", "live"), request.path_params["file"])


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
    provider = ProviderState(catalogue or build_catalogue(), username, password, faults)
    routes = [
        Route("/get.php", get_playlist),
        Route("/playlist.m3u", get_public_playlist),
        Route("/playlist.m3u.gz", get_public_playlist_gz),
        Route("/player_api.php", player_api),
        Route("/xmltv.php", get_guide),
        Route("/epg.xml", get_guide),
        Route("/{kind:str}/{username:str}/{password:str}/{file:str}", get_media),
        Route("/{kind:str}/{username:str}/{password:str}/{stem:str}/{file:str}", get_hls_part),
        Route("/stream/{file:str}", get_public_media),
        Route("/stream/{kind:str}/{file:str}", get_public_media),
        Route("/logos/{name:str}", get_logo),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultInjector, faults=faults, closing=provider.closing)])
    app.state.provider = provider
    logging.getLogger("uvicorn.error").addFilter(QUIET_CUTS)
    return app


def __getattr__(name: str) -> object:
    # The runner imports this module, so it is re-exported on first use: importing it above would be circular.
    if name in ("FakeProviderServer", "main"):
        from m3u_strm.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    from m3u_strm.demo.server import main

    main()
