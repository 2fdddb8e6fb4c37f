"""The gateway in proxy mode, end to end over loopback: live channels, shared upstreams, limits, failover, sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import av
import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import HealthCheck, Provider, Stream
from tests.api.conftest import Account
from tests.playback.app_server import AppServer
from tests.playback.conftest import Catalogue, ended_sessions, sessions, wait_for
from tests.playback.upstream_server import Upstream


def play_url(gateway: AppServer, token: str, channel: int, kind: str = "live") -> str:
    return f"{gateway.base_url}/play/{token}/{kind}/{channel}.ts"


@contextmanager
def watching(url: str, *, headers: dict[str, str] | None = None) -> Iterator[tuple[httpx.Response, Iterator[bytes]]]:
    """An open play: the response and its byte iterator; leaving the block hangs up."""
    with httpx.Client(timeout=20) as client, client.stream("GET", url, headers=headers) as response:
        yield response, response.iter_raw(16 * 1024)


def read(chunks: Iterator[bytes], count: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < count:
        parts.append(next(chunks))
        size += len(parts[-1])
    return b"".join(parts)


def drain(chunks: Iterator[bytes], count: int) -> int:
    """Read at least ``count`` bytes as fast as possible, keeping none; the number read."""
    size = 0
    while size < count:
        size += len(next(chunks))
    return size


def test_a_channel_plays_through_the_gateway_and_writes_one_session(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine, viewer: Account
) -> None:
    best = catalogue.streams(engine, _name(catalogue, "news"))[0]
    url = play_url(gateway, play_token, catalogue.channels[_name(catalogue, "news")])
    with av.open(url, options={"user_agent": "TestPlayer/1.0"}) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (320, 180)  # the picture arrives, decoded
    (row,) = ended_sessions(engine)
    assert row.user_id == viewer.id
    assert (row.content_kind, row.content_id) == ("channel", catalogue.channels[_name(catalogue, "news")])
    assert (row.stream_id, row.provider_id) == (best.id, best.provider_id)
    assert row.source == "proxy" and row.failovers == 0
    assert row.bytes_sent > 0 and row.duration_s is not None and row.duration_s >= 0
    assert row.client == "TestPlayer/1.0"
    assert row.client_ip is None  # off unless the admin enables it
    assert row.url_hash == best.url_hash and "live/" not in (row.url_hash or "")


def test_viewers_of_one_channel_share_one_upstream(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    channel = catalogue.channels[_name(catalogue, "sport")]
    best = catalogue.streams(engine, _name(catalogue, "sport"))[0]
    upstream = catalogue.a if best.provider_id == catalogue.provider_a else catalogue.b
    received: list[int] = []
    go = threading.Barrier(3)

    def viewer() -> None:
        with watching(play_url(gateway, play_token, channel)) as (response, chunks):
            assert response.status_code == 200
            received.append(len(read(chunks, 100_000)))
            go.wait(timeout=20)  # all three are attached at the same time

    threads = [threading.Thread(target=viewer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(received) == 3
    assert upstream.state.peak["sport"] == 1
    assert upstream.state.requests["sport"] == 1
    rows = ended_sessions(engine, 3)
    assert len(rows) == 3 and all(r.stream_id == best.id for r in rows)
    wait_for(lambda: upstream.state.open["sport"] == 0, what="the upstream to close after the grace period")


def test_a_full_provider_sends_the_viewer_to_another_provider_then_says_why(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Provider).values(max_connections=1))
    news = catalogue.streams(engine, _name(catalogue, "news"))
    sport = catalogue.streams(engine, _name(catalogue, "sport"))
    with watching(play_url(gateway, play_token, catalogue.channels[_name(catalogue, "news")])) as (_, first):
        read(first, 10_000)
        with watching(play_url(gateway, play_token, catalogue.channels[_name(catalogue, "sport")])) as (_, second):
            read(second, 10_000)
            # News took its best provider's only connection, so Sport plays from the other provider.
            other = next(s for s in sport if s.provider_id != news[0].provider_id)
            assert gateway_upstream(catalogue, other.provider_id).state.open["sport"] == 1
            # Cinema exists only on provider a; a is full whichever channel holds it: a clear 503, no hang.
            holder = {news[0].provider_id, other.provider_id}
            assert catalogue.provider_a in holder
            refused = httpx.get(play_url(gateway, play_token, catalogue.channels[_name(catalogue, "cinema")]))
            assert refused.status_code == 503
            body = refused.json()
            assert body["error"] == "no_playable_stream"
            assert "connection" in body["message"] and "connection limit" in body["hint"]
            assert catalogue.a.state.requests["cinema"] == 0  # never over the limit: not even tried


def test_the_viewer_keeps_watching_when_the_upstream_dies(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    name = _name(catalogue, "news")
    first, second = catalogue.streams(engine, name)[:2]
    dying = gateway_upstream(catalogue, first.provider_id)
    with watching(play_url(gateway, play_token, catalogue.channels[name])) as (response, chunks):
        before = read(chunks, 50_000)
        dying.state.kill("news")
        after = read(chunks, 200_000)  # bytes keep coming on the same connection
        assert response.status_code == 200
    assert before[:1] == b"\x47" and len(after) >= 200_000
    assert gateway_upstream(catalogue, second.provider_id).state.requests["news"] == 1
    (row,) = ended_sessions(engine)
    assert row.failovers == 1
    assert (row.stream_id, row.provider_id) == (second.id, second.provider_id)
    with Session(engine) as session:
        checks = session.scalars(select(HealthCheck).where(HealthCheck.stream_id == first.id)).all()
    assert [c.outcome for c in checks] and checks[-1].outcome in ("dead", "timeout")


def test_a_stalled_upstream_is_replaced_after_the_stall_limit(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    name = _name(catalogue, "sport")
    first, second = catalogue.streams(engine, name)[:2]
    with watching(play_url(gateway, play_token, catalogue.channels[name])) as (_, chunks):
        read(chunks, 20_000)
        gateway_upstream(catalogue, first.provider_id).state.stall("sport")
        read(chunks, 200_000)  # the stall limit is 2 s in these tests: then the other provider's stream flows
    (row,) = ended_sessions(engine)
    assert (row.failovers, row.stream_id) == (1, second.id)
    with Session(engine) as session:
        check = session.scalars(select(HealthCheck).where(HealthCheck.stream_id == first.id)).one()
    assert (check.outcome, check.error_kind) == ("timeout", "stall")


def test_without_failovers_left_the_play_ends(
    settings: Settings, gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    settings.playback_max_failovers = 0
    name = _name(catalogue, "news")
    first = catalogue.streams(engine, name)[0]
    with watching(play_url(gateway, play_token, catalogue.channels[name])) as (_, chunks):
        read(chunks, 20_000)
        gateway_upstream(catalogue, first.provider_id).state.kill("news")
        with pytest.raises(StopIteration):
            drain(chunks, 100_000_000)  # the body ends: nothing else is tried
    (row,) = ended_sessions(engine)
    assert (row.failovers, row.stream_id) == (0, first.id)


def test_an_html_page_with_status_200_is_not_played(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    name = _name(catalogue, "plan")
    streams = catalogue.streams(engine, name)
    plan_page = next(s for s in streams if s.url.endswith("/plan.ts"))
    with Session(engine) as session, session.begin():  # put the "buy a plan" page first
        session.execute(update(Stream).where(Stream.id == plan_page.id).values(rank=0))
    with watching(play_url(gateway, play_token, catalogue.channels[name])) as (response, chunks):
        assert response.status_code == 200
        assert read(chunks, 1000)[:1] == b"\x47"  # the other provider's real stream
    with Session(engine) as session:
        check = session.scalars(select(HealthCheck).where(HealthCheck.stream_id == plan_page.id)).one()
    assert (check.outcome, check.error_kind) == ("dead", "not_media")


def test_a_slow_viewer_is_dropped_and_the_others_keep_playing(
    settings: Settings, gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    settings.playback_viewer_buffer_kb = 64  # read when the first viewer opens the channel
    catalogue.a.state.speed = catalogue.b.state.speed = 0  # as fast as the readers go
    url = play_url(gateway, play_token, catalogue.channels[_name(catalogue, "sport")])
    with watching(url) as (_, stalled), watching(url) as (_, reader):
        read(stalled, 1000)  # attached, then never reads again
        total = drain(reader, 20_000_000)
        assert total >= 20_000_000
    rows = ended_sessions(engine, 2)
    assert sorted(r.bytes_sent > 19_000_000 for r in rows) == [False, True]


def test_redirect_mode_answers_302_and_records_a_started_session(
    settings: Settings, gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    settings.playback_mode = "redirect"
    name = _name(catalogue, "news")
    best = catalogue.streams(engine, name)[0]
    response = httpx.get(play_url(gateway, play_token, catalogue.channels[name]), follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == best.url
    (row,) = wait_for(lambda: sessions(engine), what="the redirect session")
    assert (row.source, row.stream_id, row.ended_at, row.duration_s) == ("redirect", best.id, None, None)


def test_a_provider_can_override_the_mode(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    name = _name(catalogue, "cinema")
    with Session(engine) as session, session.begin():
        session.execute(update(Provider).where(Provider.id == catalogue.provider_a).values(playback_mode="redirect"))
    response = httpx.get(play_url(gateway, play_token, catalogue.channels[name]), follow_redirects=False)
    assert response.status_code == 302


def test_shutdown_closes_the_sessions_in_progress(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    url = play_url(gateway, play_token, catalogue.channels[_name(catalogue, "news")])
    done = threading.Event()

    def watch() -> None:
        try:
            with watching(url) as (_, chunks):
                read(chunks, 10_000)
                wait_for(lambda: sessions(engine), what="the session to start")
                done.wait(20)
                for _ in chunks:
                    pass
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=watch)
    thread.start()
    wait_for(lambda: sessions(engine), what="the session to start")
    gateway.stop()
    done.set()
    thread.join(timeout=20)
    (row,) = sessions(engine)
    assert row.ended_at is not None and row.bytes_sent > 0


@pytest.mark.parametrize("path", ["live/999999", "live/abc", "radio/1", "movie/424242"])
def test_unknown_content_is_404_and_a_bad_token_401(
    gateway: AppServer, catalogue: Catalogue, play_token: str, path: str
) -> None:
    assert httpx.get(f"{gateway.base_url}/play/{play_token}/{path}").status_code == 404
    assert httpx.get(f"{gateway.base_url}/play/not-a-token/{path}").status_code == 401


def gateway_upstream(catalogue: Catalogue, provider_id: int) -> Upstream:
    return catalogue.a if provider_id == catalogue.provider_a else catalogue.b


def _name(catalogue: Catalogue, word: str) -> str:
    return next(name for name in catalogue.channels if word in name.lower())
