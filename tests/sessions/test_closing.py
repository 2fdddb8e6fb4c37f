"""Sessions still open at shutdown end at the shutdown time; what a crash left open ends at start-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from m3u_strm.config import Settings
from m3u_strm.db.types import utcnow
from m3u_strm.playback.sessions import (
    SessionEnd,
    SessionProgress,
    SessionRules,
    SessionStart,
    SessionWriter,
    close_abandoned,
)
from tests.sessions.conftest import ago, stored


def test_stop_drains_the_queue_then_ends_open_proxy_sessions_at_the_given_time(
    engine: Engine, settings: Settings, users: list[int]
) -> None:
    writer = SessionWriter(engine, settings)
    begin = ago(minutes=30)
    for key, source in (("proxy", "proxy"), ("redirect", "redirect"), ("api", "api"), ("done", "proxy")):
        writer.submit(SessionStart(key, users[0], "channel", 1, begin, source))  # type: ignore[arg-type]
    writer.submit(SessionEnd("done", ago(minutes=20)))
    queued = writer.submit(SessionProgress("proxy", ago(minutes=5), bytes_sent=777))
    writer.start()
    shutdown = ago(minutes=1)
    writer.stop(close_open_at=shutdown)
    assert queued.result(timeout=0) > 0  # acknowledged before stop returned
    rows = stored(engine)
    assert rows["proxy"].ended_at == shutdown and rows["proxy"].bytes_sent == 777
    assert rows["proxy"].duration_s == pytest.approx((shutdown - begin).total_seconds())
    assert rows["redirect"].ended_at is None and rows["api"].ended_at is None
    assert rows["done"].ended_at == rows["done"].last_seen_at < shutdown


def test_stop_without_a_time_leaves_sessions_open(engine: Engine, settings: Settings, users: list[int]) -> None:
    writer = SessionWriter(engine, settings)
    writer.start()
    writer.submit(SessionStart("open", users[0], "channel", 1, ago(minutes=3), "proxy")).result(timeout=30)
    writer.stop()
    assert stored(engine)["open"].ended_at is None


def test_events_after_stop_are_refused(engine: Engine, settings: Settings, users: list[int]) -> None:
    writer = SessionWriter(engine, settings)
    writer.start()
    writer.stop()
    future = writer.submit(SessionStart("late", users[0], "channel", 1, ago(minutes=1), "proxy"))
    assert isinstance(future.exception(timeout=5), RuntimeError)
    assert "late" not in stored(engine)


def test_a_writer_never_started_stores_its_queue_on_stop(engine: Engine, settings: Settings, users: list[int]) -> None:
    writer = SessionWriter(engine, settings)
    future = writer.submit(SessionStart("queued", users[0], "movie", 3, ago(minutes=1), "api"))
    writer.stop()
    assert future.result(timeout=0) == stored(engine)["queued"].id


def test_close_abandoned_ends_what_a_crash_left_open(engine: Engine, settings: Settings, users: list[int]) -> None:
    now = utcnow()
    writer = SessionWriter(engine, settings)
    writer.start()
    plan = {  # key: (source, started, last seen, watched)
        "proxy": ("proxy", now - timedelta(hours=2), now - timedelta(minutes=70), None),
        "proxy-hls": ("proxy", now - timedelta(hours=2), now - timedelta(hours=1), 1500.0),
        "proxy-zap": ("proxy", now - timedelta(minutes=5), None, None),
        "api-idle": ("api", now - timedelta(hours=20), now - timedelta(hours=13), None),
        "api-recent": ("api", now - timedelta(hours=20), now - timedelta(hours=11), None),
        "redirect": ("redirect", now - timedelta(hours=30), None, None),
    }
    for key, (source, started, seen, watched) in plan.items():
        writer.submit(SessionStart(key, users[0], "movie", 1, started, source, media_duration_s=3600.0))  # type: ignore[arg-type]
        if seen is not None:
            writer.submit(SessionProgress(key, seen, watched_s=watched))
    writer.submit(SessionStart("ended", users[0], "channel", 1, now - timedelta(hours=3), "proxy"))
    writer.submit(SessionEnd("ended", now - timedelta(hours=2))).result(timeout=30)
    writer.stop()  # a crash: nothing closed on the way out
    before = stored(engine)["ended"]

    assert close_abandoned(engine, now, rules=SessionRules.from_settings(settings)) == 4
    rows = stored(engine)
    assert rows["proxy"].ended_at == now - timedelta(minutes=70)
    assert rows["proxy"].duration_s == pytest.approx(50 * 60) and rows["proxy"].completed is False
    assert rows["proxy-hls"].duration_s == 1500.0
    assert rows["proxy-zap"].ended_at == rows["proxy-zap"].started_at and rows["proxy-zap"].is_zap
    assert rows["api-idle"].ended_at == now - timedelta(hours=13) and rows["api-idle"].completed  # 7 h of 1 h
    assert rows["api-recent"].ended_at is None and rows["redirect"].ended_at is None
    assert (rows["ended"].ended_at, rows["ended"].duration_s) == (before.ended_at, before.duration_s)
    assert close_abandoned(engine, now) == 0


def test_stop_leaves_alone_a_session_another_writer_ended(engine: Engine, settings: Settings, users: list[int]) -> None:
    gateway, other = SessionWriter(engine, settings), SessionWriter(engine, settings)
    gateway.start()
    other.start()
    gateway.submit(SessionStart("moved", users[0], "channel", 1, ago(minutes=30), "proxy")).result(timeout=30)
    ended = ago(minutes=10)
    other.submit(SessionEnd("moved", ended)).result(timeout=30)
    other.stop()
    gateway.stop(close_open_at=ago(minutes=1))
    assert stored(engine)["moved"].ended_at == ended


def test_stop_never_ends_a_session_before_it_was_last_seen(
    engine: Engine, settings: Settings, users: list[int]
) -> None:
    writer = SessionWriter(engine, settings)
    writer.start()
    writer.submit(SessionStart("skew", users[0], "channel", 1, ago(minutes=30), "proxy")).result(timeout=30)
    seen = ago(minutes=2)
    writer.submit(SessionProgress("skew", seen)).result(timeout=30)
    writer.stop(close_open_at=ago(minutes=5))  # the clock went back
    assert stored(engine)["skew"].ended_at == seen
