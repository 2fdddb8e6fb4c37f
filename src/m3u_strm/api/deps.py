"""Dependencies shared by the routes, as ``Annotated`` aliases (``SessionDep``, ``CurrentUser``, ``AdminUser``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.accounts.ratelimit import LoginLimiter
from m3u_strm.accounts.tokens import resolve_bearer
from m3u_strm.config import Settings
from m3u_strm.db.engine import session_scope
from m3u_strm.db.models import User
from m3u_strm.errors import AuthenticationError, PermissionDeniedError

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine_dep(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine_dep)]) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back when it raises."""
    with session_scope(engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if not token:
        raise AuthenticationError("This endpoint needs a bearer token.", hint="Log in at POST /api/auth/token.")
    return resolve_bearer(session, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin_user(user: CurrentUser) -> User:
    if user.role != "admin":
        raise PermissionDeniedError("This needs an admin account.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


def client_address(request: Request) -> str | None:
    """The client's address; X-Forwarded-For is believed only from a configured trusted proxy."""
    peer = request.client.host if request.client else None
    settings: Settings = request.app.state.settings
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer and peer in settings.trusted_proxies:
        return forwarded.split(",")[-1].strip() or peer
    return peer


ClientAddress = Annotated[str | None, Depends(client_address)]


def get_login_limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


LoginLimiterDep = Annotated[LoginLimiter, Depends(get_login_limiter)]
