"""The real ASGI app over a real database, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.accounts import tokens
from m3u_strm.accounts.users import create_user
from m3u_strm.api.app import create_app
from m3u_strm.config import Settings

ADMIN_PASSWORD = "admin password 123"
VIEWER_PASSWORD = "viewer password 123"


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _account(engine: Engine, username: str, password: str, role: str) -> Account:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = create_user(session, username, password, role=role)  # type: ignore[arg-type]
        issued = tokens.issue_token(session, user, kind=tokens.PERSONAL, name="tests")
    return Account(user.id, username, password, issued.token)


@pytest.fixture
def admin(engine: Engine) -> Account:
    return _account(engine, "admin", ADMIN_PASSWORD, "admin")


@pytest.fixture
def viewer(engine: Engine) -> Account:
    return _account(engine, "viewer", VIEWER_PASSWORD, "viewer")
