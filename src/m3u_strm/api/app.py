"""The FastAPI application. The CLI's ``serve`` builds this same app object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from m3u_strm import __version__
from m3u_strm.accounts.ratelimit import build_login_limiter
from m3u_strm.api.routes import analytics, auth, channels, health, health_checks, outputs, play, providers
from m3u_strm.config import Settings, get_settings
from m3u_strm.db.engine import get_engine
from m3u_strm.errors import LoginRateLimitedError, M3UStrmError
from m3u_strm.ingest.providers import load_provider_secrets
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
        scheduler = build_scheduler(engine, settings) if settings.scheduler else None
        if scheduler is not None:
            scheduler.start()
        yield
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
    routers = (health.router, auth.router, providers.router, channels.router, channels.rules_router, analytics.router,
               outputs.router, play.router, health_checks.router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


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
