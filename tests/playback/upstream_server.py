"""A provider for the gateway tests, on loopback: endless live MPEG-TS, HLS, a movie with byte ranges, bad bodies.

Routes (media made with PyAV, :mod:`m3u_strm.demo.media`):

``/live/{name}.ts`` endless MPEG-TS, the same 2 s clip looped, paced at about ``speed`` x real time (``0`` = as
fast as the client reads); ``/hls/master.m3u8``, ``/hls/variant.m3u8``, ``/hls/seg{n}.ts`` a VOD HLS package of
three 1 s segments; ``/movie/{path}`` a 3 s movie file answering ``Range``; ``/plan.ts`` a "buy a plan" page with
status 200; ``/status/{code}.ts`` that status.

:class:`UpstreamState` counts the live responses open per name (and the peak) and can :meth:`~UpstreamState.kill`
them: a killed response stops mid-stream with a cut connection, as a provider's server dying would; a stalled one
(:meth:`~UpstreamState.stall`) keeps its connection open and sends nothing more.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import create_app
from m3u_strm.demo.media import hls, mpegts
from m3u_strm.demo.server import FakeProviderServer

CLIP_SECONDS = 2.0
CHUNK = 16 * 1024


def clip() -> bytes:
    return mpegts(CLIP_SECONDS, width=320, height=180, fps=25)


@dataclass
class UpstreamState:
    speed: float = 4.0
    open: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    killed: set[str] = field(default_factory=set)
    stalled: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stall(self, name: str) -> None:
        """Open responses of ``name`` stop sending but keep their connection open (a hung upstream)."""
        with self.lock:
            self.stalled.add(name)

    def kill(self, name: str) -> None:
        """Cut every open response of ``name`` and refuse new ones (503) until :meth:`revive`."""
        with self.lock:
            self.killed.add(name)

    def revive(self, name: str) -> None:
        with self.lock:
            self.killed.discard(name)


class _KilledError(Exception):
    pass


def _routes(state: UpstreamState, movie: Path) -> list[Route]:
    body = clip()
    package = hls(1.0, 3, width=320, height=180)

    async def live(request: Request) -> Response:
        name = request.path_params["name"]
        with state.lock:
            state.requests[name] += 1
            if name in state.killed:
                return PlainTextResponse("gone", 503)

        async def stream() -> AsyncIterator[bytes]:
            with state.lock:
                state.open[name] += 1
                state.peak[name] = max(state.peak[name], state.open[name])
            try:
                pause = CHUNK / (len(body) / CLIP_SECONDS) / state.speed if state.speed else 0.0
                while True:
                    for start in range(0, len(body), CHUNK):
                        if name in state.killed:
                            raise _KilledError(name)  # uvicorn drops the connection mid-body
                        while name in state.stalled:  # noqa: ASYNC110 (set from the test thread)
                            await asyncio.sleep(0.05)
                        yield body[start : start + CHUNK]
                        await asyncio.sleep(pause)
            finally:
                with state.lock:
                    state.open[name] -= 1

        return StreamingResponse(stream(), media_type="video/mp2t")

    def hls_file(request: Request) -> Response:
        file = request.path_params["file"]
        if file == "master.m3u8":
            return Response(package.master, media_type="application/vnd.apple.mpegurl")
        if file == "variant.m3u8":
            return Response(package.variant, media_type="application/vnd.apple.mpegurl")
        if file.startswith("seg") and file.endswith(".ts") and file[3:-3].isdigit() and int(file[3:-3]) < 3:
            with state.lock:
                state.requests["segments"] += 1
            return Response(package.segments[int(file[3:-3])], media_type="video/mp2t")
        return PlainTextResponse("not found", 404)

    return [
        Route("/live/{name}.ts", live),
        Route("/hls/{file}", hls_file),
        Route("/movie/{path:path}", lambda request: FileResponse(movie, media_type="video/mp2t")),
        Route("/plan.ts", lambda request: HTMLResponse("<html><body>Buy a plan to watch</body></html>")),
        Route("/status/{code:int}.ts", lambda request: PlainTextResponse("no", request.path_params["code"])),
    ]


@dataclass
class Upstream:
    server: FakeProviderServer
    state: UpstreamState

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def live(self, name: str) -> str:
        return f"{self.base_url}/live/{name}.ts"


@contextmanager
def serve_upstream(tmp: Path, *, speed: float = 4.0) -> Iterator[Upstream]:
    movie = tmp / "movie.ts"
    if not movie.exists():
        movie.write_bytes(mpegts(3.0, width=320, height=180))
    state = UpstreamState(speed=speed)
    app = create_app(build_catalogue(live=1))
    app.router.routes[:0] = _routes(state, movie)
    server = FakeProviderServer(app)
    with server:
        yield Upstream(server, state)
