"""The history API over the real app and database: reported sessions, pages, filters, and user isolation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.db.models import Channel, Provider, Stream, VodEpisode, VodMovie
from m3u_strm.db.types import utcnow
from m3u_strm.playback.sessions import SessionStart, SessionWriter
from tests.api.conftest import Account
from tests.sessions.conftest import ago, stored

HISTORY = "/api/analytics/history"
SECRET_URL = "http://provider.example/live/user/s3cret-pass/1.ts"


@dataclass(frozen=True)
class Content:
    channel: int
    other_channel: int
    movie: int
    episode: int
    stream: int
    provider: int


@pytest.fixture
def content(engine: Engine) -> Content:
    with Session(engine) as session, session.begin():
        provider = Provider(name="prov", kind="m3u")
        channels = [Channel(name="BBC One", normalized_name="bbc one"), Channel(name="ITV", normalized_name="itv")]
        session.add_all([provider, *channels])
        session.flush()
        common = {"provider_id": provider.id, "content_hash": "h", "url": SECRET_URL, "url_hash": "0" * 64}
        stream = Stream(item_key="s", name="BBC One HD", channel_id=channels[0].id, **common)
        movie = VodMovie(item_key="m", name="Heat (1995)", **common)
        episode = VodEpisode(item_key="e", name="Show S01E02", series_key="show", duration_secs=1800, **common)
        session.add_all([stream, movie, episode])
        session.flush()
        return Content(channels[0].id, channels[1].id, movie.id, episode.id, stream.id, provider.id)


def writer_of(client: TestClient) -> SessionWriter:
    app: FastAPI = client.app  # type: ignore[assignment]
    writer: SessionWriter = app.state.session_writer
    return writer


def report(client: TestClient, who: Account, **body: Any) -> dict[str, Any]:
    response = client.post(HISTORY, json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def stamp(minutes_ago: float) -> str:
    return ago(minutes=minutes_ago).isoformat()


def test_a_reported_start_snapshots_the_title_and_never_shows_a_url(
    client: TestClient, engine: Engine, viewer: Account, content: Content
) -> None:
    response = client.post(
        HISTORY, json={"content_type": "channel", "content_id": content.channel, "stream_id": content.stream},
        headers={**viewer.headers, "User-Agent": "Kodi/21.0"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["title"] == "BBC One" and item["content_type"] == "channel" and item["source"] == "api"
    assert (item["stream_id"], item["provider_id"], item["client"]) == (content.stream, content.provider, "Kodi/21.0")
    assert item["ended_at"] is None and item["duration_s"] is None
    assert "http" not in response.text and "url" not in response.text
    with Session(engine) as session, session.begin():
        session.get(Channel, content.channel).name = "BBC One (renamed)"  # type: ignore[union-attr]
    assert client.get(HISTORY, headers=viewer.headers).json()["items"][0]["title"] == "BBC One"
    row = stored(engine)
    assert len(row) == 1 and next(iter(row.values())).user_id == viewer.id


def test_an_episode_takes_its_length_from_the_catalogue(client: TestClient, viewer: Account, content: Content) -> None:
    item = report(client, viewer, content_type="episode", content_id=content.episode, started_at=stamp(40))
    done = client.patch(f"{HISTORY}/{item['id']}", json={"action": "end", "position_s": 1700}, headers=viewer.headers)
    assert done.status_code == 200, done.text
    assert done.json()["completed"] is True and done.json()["watched_s"] == 1700  # 1700 of 1800 s


@pytest.mark.parametrize(
    ("body", "message"),
    [({"content_type": "channel", "content_id": 999}, "no channel 999"),
     ({"content_type": "movie", "content_id": 999}, "no movie 999"),
     ({"content_type": "episode", "content_id": 999}, "no episode 999"),
     ({"content_type": "channel", "content_id": "CHANNEL", "stream_id": 999}, "no stream 999")],
    ids=["channel", "movie", "episode", "stream"],
)  # fmt: skip
def test_reporting_content_that_does_not_exist_is_404(
    client: TestClient, engine: Engine, viewer: Account, content: Content, body: dict[str, Any], message: str
) -> None:
    if body["content_id"] == "CHANNEL":
        body = {**body, "content_id": content.channel}
    response = client.post(HISTORY, json=body, headers=viewer.headers)
    assert response.status_code == 404 and message in response.json()["message"]
    assert stored(engine) == {}


def test_an_idempotency_key_stores_a_start_once_per_user(
    client: TestClient, engine: Engine, viewer: Account, admin: Account, content: Content
) -> None:
    body = {"content_type": "movie", "content_id": content.movie, "idempotency_key": "play-1"}
    first = report(client, viewer, **body)
    again = report(client, viewer, **body)
    header = client.post(HISTORY, json={"content_type": "movie", "content_id": content.movie},
                         headers={**viewer.headers, "Idempotency-Key": "play-1"})  # fmt: skip
    others = report(client, admin, **body)
    assert first["id"] == again["id"] == header.json()["id"] and others["id"] != first["id"]
    assert len(stored(engine)) == 2


def test_progress_complete_and_end(client: TestClient, viewer: Account, content: Content) -> None:
    item = report(client, viewer, content_type="movie", content_id=content.movie, started_at=stamp(120),
                  media_duration_s=6000)  # fmt: skip
    path = f"{HISTORY}/{item['id']}"
    progress = client.patch(path, json={"action": "progress", "position_s": 1200, "at": stamp(90)},
                            headers=viewer.headers)  # fmt: skip
    assert progress.status_code == 200 and progress.json()["watched_s"] == 1200 and progress.json()["ended_at"] is None
    complete = client.patch(path, json={"action": "complete", "watched_s": 3000, "at": stamp(60)},
                            headers=viewer.headers)  # fmt: skip
    assert complete.json()["completed"] is True and complete.json()["duration_s"] == 3000
    end = client.patch(path, json={"action": "end", "watched_s": 3100}, headers=viewer.headers).json()
    assert end["completed"] is True and end["duration_s"] == 3100 and end["ended_at"] is not None
    assert not end["is_zap"]


def test_an_end_without_position_lasts_from_start_to_end(client: TestClient, viewer: Account, content: Content) -> None:
    item = report(client, viewer, content_type="channel", content_id=content.channel, started_at=stamp(30))
    end = client.patch(f"{HISTORY}/{item['id']}", json={"action": "end", "at": stamp(10)}, headers=viewer.headers)
    assert end.json()["duration_s"] == pytest.approx(1200, abs=1) and end.json()["completed"] is False


def test_another_users_session_is_404_on_patch(
    client: TestClient, viewer: Account, admin: Account, content: Content
) -> None:
    mine = report(client, admin, content_type="channel", content_id=content.channel)
    for who in (viewer,):
        response = client.patch(f"{HISTORY}/{mine['id']}", json={"action": "end"}, headers=who.headers)
        assert response.status_code == 404
    assert client.patch(f"{HISTORY}/987654", json={"action": "end"}, headers=admin.headers).status_code == 404
    own = client.get(HISTORY, headers=admin.headers).json()["items"][0]
    assert own["ended_at"] is None


def test_a_gateway_session_cannot_be_changed_through_the_api(
    client: TestClient, viewer: Account, content: Content
) -> None:
    event = SessionStart("gw", viewer.id, "channel", content.channel, ago(minutes=5), "proxy", title="BBC One")
    session_id = writer_of(client).submit(event).result(timeout=30)
    response = client.patch(f"{HISTORY}/{session_id}", json={"action": "end"}, headers=viewer.headers)
    assert response.status_code == 409 and "gateway" in response.json()["message"]
    listed = client.get(HISTORY, headers=viewer.headers).json()["items"]
    assert [(i["id"], i["source"]) for i in listed] == [(session_id, "proxy")]


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "words"),
    [("post", "", {"content_type": "radio", "content_id": 1}, "body.content_type", "channel"),
     ("post", "", {"content_type": "channel", "content_id": 1, "started_at": "2026-01-01T10:00:00"},
      "body.started_at", "timezone"),
     ("post", "", {"content_type": "channel", "content_id": 1, "url": "http://x"}, "body.url", "not permitted"),
     ("patch", "/1", {"action": "progress", "completed": True}, "body", "complete or end"),
     ("patch", "/1", {"action": "end", "watched_s": -1}, "body.watched_s", "greater than or equal"),
     ("patch", "/1", {"action": "pause"}, "body.action", "progress"),
     ("get", "?limit=0", None, "query.limit", "greater than or equal"),
     ("get", "?limit=501", None, "query.limit", "less than or equal"),
     ("get", "?content_type=radio", None, "query.content_type", "channel")],
    ids=["kind", "naive-time", "extra-field", "completed-progress", "negative", "action", "limit-0", "limit-501",
         "filter-kind"],
)  # fmt: skip
def test_invalid_requests_are_422_naming_the_field(
    client: TestClient, viewer: Account, method: str, path: str, body: dict[str, Any] | None, field: str, words: str
) -> None:
    response = client.request(method, HISTORY + path, json=body, headers=viewer.headers)
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert any(d["field"] == field and words in d["message"] for d in details), details


@pytest.mark.parametrize(
    ("query", "words"),
    [("from=yesterday", "not an ISO date"), ("cursor=bm9wZQ", "cursor")],
    ids=["bad-from", "bad-cursor"],
)
def test_bad_filters_are_422_with_a_hint(client: TestClient, viewer: Account, query: str, words: str) -> None:
    response = client.get(f"{HISTORY}?{query}", headers=viewer.headers)
    assert response.status_code == 422 and words in response.json()["message"] and response.json()["hint"]


def test_a_start_in_the_future_is_refused_naming_the_limit(
    client: TestClient, viewer: Account, content: Content
) -> None:
    late = (utcnow() + timedelta(hours=1)).isoformat()
    response = client.post(HISTORY, json={"content_type": "channel", "content_id": content.channel, "started_at": late},
                           headers=viewer.headers)  # fmt: skip
    assert response.status_code == 422 and "sessions_max_future_seconds" in response.json()["message"]


def test_every_route_needs_a_login(client: TestClient, content: Content) -> None:
    assert client.get(HISTORY).status_code == 401
    assert client.post(HISTORY, json={"content_type": "channel", "content_id": content.channel}).status_code == 401
    assert client.patch(f"{HISTORY}/1", json={"action": "end"}).status_code == 401


def test_the_list_shows_only_the_callers_sessions_and_admins_may_ask_for_anyones(
    client: TestClient, viewer: Account, admin: Account, content: Content
) -> None:
    theirs = [report(client, viewer, content_type="channel", content_id=content.channel)["id"] for _ in range(3)]
    mine = report(client, admin, content_type="movie", content_id=content.movie)["id"]
    assert [i["id"] for i in client.get(HISTORY, headers=viewer.headers).json()["items"]] == theirs[::-1]
    assert [i["id"] for i in client.get(HISTORY, headers=admin.headers).json()["items"]] == [mine]
    as_admin = client.get(HISTORY, params={"user_id": viewer.id}, headers=admin.headers).json()["items"]
    assert [i["id"] for i in as_admin] == theirs[::-1]
    refused = client.get(HISTORY, params={"user_id": admin.id}, headers=viewer.headers)
    assert refused.status_code == 403 and "own history" in refused.json()["message"]
    own_id = client.get(HISTORY, params={"user_id": viewer.id}, headers=viewer.headers)
    assert own_id.status_code == 200 and len(own_id.json()["items"]) == 3


def test_filters(client: TestClient, viewer: Account, content: Content) -> None:
    def started(minutes: float, **body: Any) -> int:
        return int(report(client, viewer, started_at=stamp(minutes), **body)["id"])

    old = started(60 * 24 * 3, content_type="channel", content_id=content.channel)
    other = started(60 * 5, content_type="channel", content_id=content.other_channel)
    movie = started(60 * 4, content_type="movie", content_id=content.movie, media_duration_s=100)
    recent = started(60, content_type="channel", content_id=content.channel)
    client.patch(f"{HISTORY}/{movie}", json={"action": "end", "watched_s": 99}, headers=viewer.headers)

    def ids(**params: Any) -> list[int]:
        response = client.get(HISTORY, params=params, headers=viewer.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    old_day = (utcnow() - timedelta(days=3)).date()
    assert ids() == [recent, movie, other, old]
    assert ids(**{"from": stamp(60 * 6)}) == [recent, movie, other]
    assert ids(to=stamp(60 * 4.5)) == [other, old]
    assert ids(**{"from": old_day.isoformat(), "to": old_day.isoformat()}) == [old]  # a bare date: to its end
    assert ids(to=(old_day - timedelta(days=1)).isoformat()) == []
    assert ids(content_type="channel") == [recent, other, old]
    assert ids(channel_id=content.channel) == [recent, old]
    assert ids(completed=True) == [movie]
    assert ids(completed=False, content_type="movie") == []


def test_keyset_pages_neither_repeat_nor_skip_while_rows_arrive(
    client: TestClient, viewer: Account, content: Content
) -> None:
    writer = writer_of(client)
    same_time = ago(hours=2)
    for n in range(23):  # several share one start time: the id breaks the tie
        when = same_time if n % 3 == 0 else ago(hours=3, minutes=n)
        writer.submit(SessionStart(f"page{n}", viewer.id, "channel", content.channel, when, "proxy")).result(30)
    everything = client.get(HISTORY, params={"limit": 500}, headers=viewer.headers).json()["items"]
    existing = {item["id"] for item in everything}
    seen: list[tuple[datetime, int]] = []
    cursor: str | None = None
    for page in range(20):
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = client.get(HISTORY, params=params, headers=viewer.headers).json()
        seen += [(datetime.fromisoformat(item["started_at"]), item["id"]) for item in body["items"]]
        for n, when in enumerate((ago(minutes=1), ago(hours=1))):  # newer than anything listed: before the cursor
            writer.submit(SessionStart(f"new{page}-{n}", viewer.id, "channel", content.channel, when, "api")).result()
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [session_id for _, session_id in seen]
    assert len(ids) == len(set(ids)) == len(existing) == 23
    assert set(ids) == existing
    assert seen == sorted(seen, reverse=True)


def test_the_app_closes_open_proxy_sessions_at_shutdown_and_leftovers_at_start_up(
    app: FastAPI, engine: Engine, viewer: Account, content: Content
) -> None:
    with TestClient(app) as client:
        event = SessionStart("live", viewer.id, "channel", content.channel, ago(minutes=30), "proxy")
        writer_of(client).submit(event).result(timeout=30)
    assert stored(engine)["live"].ended_at is not None  # stop(close_open_at=now) on the way out

    crashed = SessionWriter(engine, client.app.state.settings)  # type: ignore[attr-defined]
    crashed.start()
    crashed.submit(SessionStart("crash", viewer.id, "channel", content.channel, ago(minutes=30), "proxy")).result()
    crashed.stop()  # no close_open_at: as if the process died
    assert stored(engine)["crash"].ended_at is None
    with TestClient(app):
        pass
    row = stored(engine)["crash"]
    assert row.ended_at == row.last_seen_at == row.started_at and row.is_zap
