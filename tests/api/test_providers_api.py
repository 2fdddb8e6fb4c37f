"""Providers over HTTP: CRUD with masked credentials, sync (202/200/409), the sync log and performance."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import AuditLog
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.ingest.sync import begin_sync
from tests.api.conftest import Account

SECRET = "api-Secret-Pass-99"
USER = "api-user-31"


@pytest.fixture(scope="module")
def panel() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(
        build_catalogue(live=40, movies=5, series=2, seed=11), username=USER, password=SECRET
    ) as server:
        yield server


def _create(client: TestClient, admin: Account, panel: FakeProviderServer) -> dict[str, object]:
    body = {"name": "panel", "kind": "xtream", "url": panel.base_url, "username": USER, "password": SECRET}
    response = client.post("/api/providers", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_created_provider_never_shows_its_credentials(
    client: TestClient, admin: Account, panel: FakeProviderServer
) -> None:
    created = _create(client, admin, panel)
    listed = client.get("/api/providers", headers=admin.headers)
    one = client.get(f"/api/providers/{created['id']}", headers=admin.headers)
    for text in (str(created), listed.text, one.text):
        assert SECRET not in text and USER not in text
    assert created["password"] == "***"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "kind": "ftp", "url": "http://h"}, "kind"),
        ({"name": "x", "kind": "xtream", "url": "http://h"}, "username and a password"),
        ({"name": "x", "kind": "m3u", "url": "javascript:alert(1)"}, "not an http(s) URL"),
        ({"name": "x", "kind": "m3u", "url": "/no/such/file.m3u"}, "does not exist"),
        ({"name": "x", "kind": "m3u", "url": "http://h/x.m3u", "max_connections": 0}, "max_connections"),
    ],
    ids=["bad-kind", "xtream-without-credentials", "javascript-url", "missing-file", "zero-connections"],
)
def test_invalid_provider_gets_422_with_a_reason(
    client: TestClient, admin: Account, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/api/providers", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert fragment in response.text


def test_duplicate_name_is_409(client: TestClient, admin: Account, panel: FakeProviderServer) -> None:
    _create(client, admin, panel)
    body = {"name": "PANEL", "kind": "m3u", "url": "http://h/x.m3u"}
    assert client.post("/api/providers", json=body, headers=admin.headers).status_code == 409


def test_update_and_delete_are_audited(
    client: TestClient, admin: Account, panel: FakeProviderServer, engine: Engine
) -> None:
    created = _create(client, admin, panel)
    patched = client.patch(f"/api/providers/{created['id']}", json={"priority": 5}, headers=admin.headers)
    assert patched.json()["priority"] == 5
    assert client.delete(f"/api/providers/{created['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/providers/{created['id']}", headers=admin.headers).status_code == 404
    with Session(engine) as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.target_type == "provider")))
    assert [r.action for r in rows] == ["provider.create", "provider.update", "provider.delete"]
    assert all(SECRET not in str(r.details) for r in rows)


def test_sync_with_wait_returns_the_result_and_the_log(
    client: TestClient, admin: Account, panel: FakeProviderServer
) -> None:
    created = _create(client, admin, panel)
    response = client.post(f"/api/providers/{created['id']}/sync?wait=true", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "success"
    assert response.json()["streams_added"] == 40
    log = client.get(f"/api/providers/{created['id']}/syncs", headers=admin.headers).json()
    assert [row["status"] for row in log] == ["success"]


def test_background_sync_returns_202_and_finishes(
    client: TestClient, admin: Account, panel: FakeProviderServer
) -> None:
    created = _create(client, admin, panel)
    response = client.post(f"/api/providers/{created['id']}/sync", headers=admin.headers)
    assert response.status_code == 202
    assert response.json()["status"] == "running"
    for _ in range(200):
        log = client.get(f"/api/providers/{created['id']}/syncs", headers=admin.headers).json()
        if log[0]["status"] != "running":
            break
        time.sleep(0.05)
    assert log[0]["status"] == "success"


def test_sync_while_one_runs_is_409(client: TestClient, admin: Account, engine: Engine, tmp_path: Path) -> None:
    playlist = tmp_path / "p.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,One\nhttp://cdn.example/1.ts\n")
    body = {"name": "local", "kind": "m3u", "url": str(playlist)}
    created = client.post("/api/providers", json=body, headers=admin.headers).json()
    begin_sync(engine, created["id"])  # someone else (cron, another worker) holds the lock
    response = client.post(f"/api/providers/{created['id']}/sync", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["error"] == "sync_already_running"


def test_provider_performance_summarises_the_sync_log(
    client: TestClient, admin: Account, panel: FakeProviderServer
) -> None:
    created = _create(client, admin, panel)
    client.post(f"/api/providers/{created['id']}/sync?wait=true", headers=admin.headers)
    panel.faults.status_code = 500
    try:
        client.post(f"/api/providers/{created['id']}/sync?wait=true", headers=admin.headers)
    finally:
        panel.faults.reset()
    rows = client.get("/api/analytics/admin/providers/performance?days=7", headers=admin.headers).json()
    (row,) = rows
    assert row["sync_count"] == 2 and row["failed_syncs"] == 1
    assert row["error_rate"] == 0.5
    assert row["total_errors"] == 1
    assert row["avg_duration_ms"] is not None
    assert client.get("/api/analytics/admin/providers/performance?days=0", headers=admin.headers).status_code == 422


def test_provider_cannot_be_removed_while_it_syncs(
    client: TestClient, admin: Account, engine: Engine, tmp_path: Path
) -> None:
    playlist = tmp_path / "p.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,One\nhttp://cdn.example/1.ts\n")
    created = client.post(
        "/api/providers", json={"name": "l", "kind": "m3u", "url": str(playlist)}, headers=admin.headers
    )
    begin_sync(engine, created.json()["id"])
    response = client.delete(f"/api/providers/{created.json()['id']}", headers=admin.headers)
    assert response.status_code == 409
    assert "syncing right now" in response.json()["message"]
