"""The FastAPI application. The CLI's ``serve`` builds this same app object."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m3u_strm import __version__
from m3u_strm.accounts.ratelimit import build_login_limiter
from m3u_strm.api.routes import (
    activity,
    analytics,
    auth,
    channels,
    health,
    health_checks,
    history,
    outputs,
    play,
    providers,
)
from m3u_strm.config import Settings, get_settings
from m3u_strm.db.engine import get_engine
from m3u_strm.db.types import utcnow
from m3u_strm.errors import LoginRateLimitedError, M3UStrmError
from m3u_strm.ingest.providers import load_provider_secrets
from m3u_strm.playback.proxy import Gateway
from m3u_strm.playback.sessions import SessionRules, SessionWriter, close_abandoned
from m3u_strm.privacy.redaction import redact
from m3u_strm.tasks.scheduler import build_scheduler

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https: http:; object-src 'none'",
}


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with Session(engine) as session:
            load_provider_secrets(session)
        close_abandoned(engine, utcnow(), rules=SessionRules.from_settings(settings))
        app.state.session_writer = session_writer = SessionWriter(engine, settings)
        session_writer.start()
        app.state.gateway.sessions = session_writer
        scheduler = build_scheduler(engine, settings, ledger=app.state.gateway.ledger) if settings.scheduler else None
        if scheduler is not None:
            scheduler.start()
        # The ~130,000 objects made at import and start-up live as long as the process: frozen, the collector
        # stops walking them, so a full collection no longer stalls every thread (relays, the writer) for ~50 ms.
        gc.collect()
        gc.freeze()
        yield
        await app.state.gateway.aclose()  # plays in progress end now, their sessions with them
        await asyncio.to_thread(session_writer.stop, close_open_at=utcnow())
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for task in list(app.state.background_tasks):
            task.cancel()
        if app.state.background_tasks:
            await asyncio.gather(*app.state.background_tasks, return_exceptions=True)

    app = FastAPI(title="M3U-STRM-Processor", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.signing_key = settings.signing_key()  # created in the data directory on the first run
    app.state.engine = engine
    app.state.login_limiter = build_login_limiter(
        settings.redis_url, settings.login_max_failures, settings.login_window_seconds
    )
    app.state.background_tasks = set()
    app.state.gateway = Gateway(engine, settings, secret=app.state.signing_key)
    routers = (health.router, auth.router, providers.router, channels.router, channels.rules_router, analytics.router,
               outputs.router, play.router, health_checks.router, history.router, activity.router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)

    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every answer that lacks them. Plain ASGI, not ``BaseHTTPMiddleware``: that one
    copies a streamed body through an extra queue, which costs the gateway's relays throughput and first-byte time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(M3UStrmError)
    async def product_error(_: Request, exc: M3UStrmError) -> JSONResponse:
        headers = {}
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, LoginRateLimitedError):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": redact(str(err.get("msg", "")))}
            for err in exc.errors()
        ]
        body = {"error": "invalid_input", "message": "The request is not valid.", "details": details}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": "http_error", "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse({"error": "internal_error", "message": "An unexpected error happened."}, 500)
