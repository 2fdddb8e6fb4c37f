"""Authentication over HTTP: login, tokens, roles, rate limits, trusted proxies and the audit trail."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import AuditLog
from tests.api.conftest import Account


def _login(client: TestClient, username: str, password: str, **headers: str) -> object:
    return client.post("/api/auth/token", data={"username": username, "password": password}, headers=headers)


def test_login_returns_bearer_token_that_opens_the_api(client: TestClient, admin: Account) -> None:
    response = _login(client, admin.username, admin.password)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["token_type"] == "bearer"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == admin.username
    assert "password_hash" not in me.json()


@pytest.mark.parametrize(
    "path",
    ["/api/auth/me", "/api/providers", "/api/providers/1/syncs", "/api/analytics/admin/providers/performance"],
)
def test_every_api_route_needs_a_token(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "not_authenticated"


def test_health_and_readiness_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}


def test_garbage_token_is_refused(client: TestClient) -> None:
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("path", ["/api/providers", "/api/analytics/admin/providers/performance"])
def test_viewer_gets_403_on_admin_routes(client: TestClient, viewer: Account, path: str) -> None:
    response = client.get(path, headers=viewer.headers)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_wrong_password_is_401_and_logged_without_the_password(
    client: TestClient, admin: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    response = _login(client, admin.username, "wrong password value")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "failed login" in caplog.text
    assert "wrong password value" not in caplog.text


def test_repeated_failures_are_rate_limited_with_retry_after(client: TestClient, admin: Account) -> None:
    for _ in range(3):  # settings fixture: 3 failures per window
        assert _login(client, admin.username, "wrong password!!").status_code == 401  # type: ignore[attr-defined]
    blocked = _login(client, admin.username, admin.password)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) >= 1  # type: ignore[attr-defined]


def test_spoofed_forwarded_for_does_not_escape_the_limit(client: TestClient, admin: Account) -> None:
    for n in range(3):
        _login(client, "someone", "wrong password!!", **{"X-Forwarded-For": f"203.0.113.{n}"})
    # The peer is not a trusted proxy, so all three failures counted against the same address.
    blocked = _login(client, admin.username, admin.password, **{"X-Forwarded-For": "198.51.100.7"})
    assert blocked.status_code == 429  # type: ignore[attr-defined]


def test_personal_token_is_shown_once_and_can_be_revoked(client: TestClient, viewer: Account) -> None:
    created = client.post("/api/auth/tokens", json={"name": "kodi"}, headers=viewer.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    listed = client.get("/api/auth/tokens", headers=viewer.headers).json()
    assert all("token" not in item for item in listed)
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.delete(f"/api/auth/tokens/{created.json()['id']}", headers=viewer.headers).status_code == 204
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_user_cannot_revoke_another_users_token(client: TestClient, viewer: Account, admin: Account) -> None:
    created = client.post("/api/auth/tokens", json={"name": "mine"}, headers=admin.headers).json()
    assert client.delete(f"/api/auth/tokens/{created['id']}", headers=viewer.headers).status_code == 404


def test_playback_token_rotation_changes_the_token(client: TestClient, viewer: Account) -> None:
    first = client.get("/api/auth/playback-token", headers=viewer.headers).json()["token"]
    assert client.get("/api/auth/playback-token", headers=viewer.headers).json()["token"] == first
    rotated = client.post("/api/auth/playback-token/rotate", headers=viewer.headers).json()["token"]
    assert rotated != first


def test_login_and_token_creation_are_audited(client: TestClient, admin: Account, engine: Engine) -> None:
    _login(client, admin.username, admin.password)
    client.post("/api/auth/tokens", json={"name": "x"}, headers=admin.headers)
    with Session(engine) as session:
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"auth.login", "token.create"} <= actions


OPEN_ROUTES = {"/api/auth/token", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


def test_no_route_outside_the_open_list_answers_without_a_token(client: TestClient, app: FastAPI) -> None:
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if path in OPEN_ROUTES:
            continue
        concrete = path.replace("{provider_id}", "1").replace("{token_id}", "1")
        for method in operations:
            response = client.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked >= 10
