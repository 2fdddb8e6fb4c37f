"""Failures the fake provider can inject while it runs, and the ASGI middleware that injects them.

:class:`Faults` is flipped from a test while the server runs: delays, error statuses, 429 with Retry-After, HTML or
JSON-error pages with status 200, empty bodies, bodies that stall or break off after N bytes, ``auth: 0`` and
expired accounts (these two are answered by the ``player_api.php`` route itself), media routes that answer HEAD with
405 while GET works (``head_rejected``, answered by the media routes) and broken pictures (``media_kind``).
``only_paths`` aims them at one endpoint or Xtream action; ``fail_times`` makes them transient::

    provider.faults.status_code = 503        # every request now fails ...
    provider.faults.fail_times = 2           # ... but only the first two
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import anyio
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m3u_strm.demo.media import MediaKind

CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1>
<p>Error 520: Web server is returning an unknown error. Ray ID: 7d1f2a3b4c5d6e7f</p>
<form action="/login.php" method="post"><input name="username"><input type="password" name="password"></form>
</body></html>
"""


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
    media_kind: MediaKind = "normal"  # live TS and HLS pictures: normal | black | frozen | silent | placeholder
    head_rejected: bool = False  # media routes (files, playlists, segments) answer HEAD with 405; GET still works
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


class FaultInjector:
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


# One shared instance: a logger adds the same filter only once, however many apps are created.
QUIET_CUTS = _QuietCuts()
