"""Health-check runs end to end: streams of a synced provider checked over loopback, history recorded, streams
deactivated after repeated failures and back after one success, 429s never counted, channels re-ranked."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import HealthCheck, JobRun, Stream
from m3u_strm.monitor.service import CheckScope, HealthRun, run_health_check
from tests.api.conftest import Account
from tests.catalogue_helpers import Line, add_provider, sync, write_playlist

TS = bytes([0x47] + [0] * 187) * 64


class _State:
    dead = {"/dead.ts"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in _State.dead:
            self.send_error(404)
        elif self.path == "/limited.ts":
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.end_headers()
        elif self.path == "/html.ts":
            body = b"<html><body>Buy a plan to keep watching</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.send_header("Content-Length", str(len(TS)))
            self.end_headers()
            self.wfile.write(TS)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def streams(engine: Engine, settings: Settings, server: str, tmp_path: Path) -> dict[str, int]:
    lines = [
        Line("UK: News 24 4K", f"{server}/dead.ts", "news24.uk"),
        Line("News 24 HD", f"{server}/ok.ts", "news24.uk"),
        Line("Buy A Plan TV", f"{server}/html.ts"),
        Line("Busy TV", f"{server}/limited.ts"),
        Line("Radio RTMP", "rtmp://127.0.0.1/live/x"),
    ]
    add_provider(engine, "p", write_playlist(tmp_path / "p.m3u", lines))
    sync(engine, settings, "p")
    _State.dead = {"/dead.ts"}
    with Session(engine) as session:
        return {name: stream_id for name, stream_id in session.execute(select(Stream.name, Stream.id))}


def _check(engine: Engine, settings: Settings, scope: CheckScope = CheckScope()) -> HealthRun:
    async def run() -> HealthRun:
        return await run_health_check(engine, settings, scope)

    return anyio.run(run)


def _stream(engine: Engine, stream_id: int) -> Stream:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(Stream, stream_id)


def test_a_run_records_every_outcome_and_the_job(engine: Engine, settings: Settings, streams: dict[str, int]) -> None:
    run = _check(engine, settings)
    outcomes = run.summary.outcomes
    assert run.checked == 5 and outcomes.get("alive") == 1 and outcomes.get("dead") == 2
    assert outcomes.get("rate_limited") == 1 and outcomes.get("unsupported") == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(HealthCheck)) == 5
        job = session.get_one(JobRun, run.run_id)
        assert job.status == "success" and job.counts["checked"] == 5
        html = session.scalars(select(HealthCheck).where(HealthCheck.stream_id == streams["Buy A Plan TV"])).one()
        assert (html.outcome, html.error_kind) == ("dead", "not_media")


def test_three_failures_deactivate_and_one_success_reactivates(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    dead = streams["UK: News 24 4K"]
    for expected_active in (True, True, False):
        _check(engine, settings)
        assert _stream(engine, dead).is_active is expected_active
    assert _stream(engine, dead).consecutive_failures == 3
    _State.dead = set()
    _check(engine, settings, CheckScope(stream_ids=(dead,)))
    revived = _stream(engine, dead)
    assert (revived.is_active, revived.consecutive_failures, revived.last_outcome) == (True, 0, "alive")


def test_rate_limited_and_unsupported_are_never_failures(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    for _ in range(4):
        _check(engine, settings)
    for name in ("Busy TV", "Radio RTMP"):
        stream = _stream(engine, streams[name])
        assert (stream.is_active, stream.consecutive_failures) == (True, 0), name
    with Session(engine) as session:
        counted = session.scalars(select(HealthCheck.counted).where(HealthCheck.stream_id == streams["Busy TV"]))
        assert set(counted) == {False}


def test_a_failing_4k_stream_ranks_below_a_healthy_hd_one(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    assert _stream(engine, streams["UK: News 24 4K"]).rank == 1  # by its name, before any check
    _check(engine, settings)
    assert _stream(engine, streams["News 24 HD"]).rank == 1
    assert _stream(engine, streams["UK: News 24 4K"]).rank == 2
    assert _stream(engine, streams["News 24 HD"]).health_score == 100
    assert _stream(engine, streams["UK: News 24 4K"]).health_score == 0  # 90 for one failure x 0 % uptime


def test_health_api(client: TestClient, admin: Account, viewer: Account, streams: dict[str, int]) -> None:
    assert client.post("/api/health/check", headers=viewer.headers).status_code == 403
    started = client.post("/api/health/check", json={"stream_ids": [streams["News 24 HD"]]}, headers=admin.headers)
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = client.get("/api/system/jobs", params={"job": "health_check"}, headers=admin.headers).json()
        if jobs and jobs[0]["id"] == run_id and jobs[0]["status"] != "running":
            break
        time.sleep(0.1)
    assert jobs[0]["status"] == "success" and jobs[0]["counts"]["checked"] == 1
    status = client.get("/api/health/status", headers=admin.headers).json()
    assert status["last_run"]["id"] == run_id
    assert status["providers"][0]["outcomes"] == {"alive": 1, "unchecked": 4}
    channel = _stream_channel(client, admin, streams["News 24 HD"])
    shown = next(s for s in channel if s["id"] == streams["News 24 HD"])
    assert (shown["last_outcome"], shown["health_score"], shown["consecutive_failures"]) == ("alive", 100, 0)
    history = client.get(f"/api/streams/{streams['News 24 HD']}/health-history", headers=admin.headers).json()
    assert [h["outcome"] for h in history] == ["alive"]
    assert client.get("/api/streams/99999/health-history", headers=admin.headers).status_code == 404


def _stream_channel(client: TestClient, admin: Account, stream_id: int) -> list[dict[str, object]]:
    """The streams of the channel that holds ``stream_id``, as the channel API shows them."""
    for channel in client.get("/api/channels", params={"limit": 1000}, headers=admin.headers).json()["items"]:
        streams: list[dict[str, object]] = client.get(f"/api/channels/{channel['id']}/streams",
                                                      headers=admin.headers).json()  # fmt: skip
        if any(s["id"] == stream_id for s in streams):
            return streams
    raise AssertionError(f"stream {stream_id} is in no channel")


def test_uptime_per_stream_and_per_provider(
    client: TestClient, engine: Engine, settings: Settings, admin: Account, streams: dict[str, int]
) -> None:
    for _ in range(2):
        _check(engine, settings)
    status = client.get("/api/health/status", headers=admin.headers).json()
    # counted per run: the HD stream (alive), the dead 4K and the HTML page; 429 and rtmp are not counted
    assert status["providers"][0]["uptime"] == {"24h": 33.33, "7d": 33.33, "30d": 33.33}
    shown = {s["id"]: s["uptime"] for s in _stream_channel(client, admin, streams["News 24 HD"])}
    assert shown[streams["News 24 HD"]]["24h"] == 100.0
    assert shown[streams["UK: News 24 4K"]]["24h"] == 0.0
    busy = {s["id"]: s["uptime"] for s in _stream_channel(client, admin, streams["Busy TV"])}
    assert busy[streams["Busy TV"]] == {"24h": None, "7d": None, "30d": None}
