"""Fixtures for the gateway tests: two loopback providers carrying the same channels, synced into a real database,
the product's app served by uvicorn, and a viewer's playback token."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.accounts import tokens
from m3u_strm.config import Settings
from m3u_strm.db.models import Channel, Stream, User, ViewingSession
from tests.api.conftest import Account, admin, viewer  # noqa: F401
from tests.catalogue_helpers import Line, add_provider, sync, write_playlist
from tests.playback.app_server import AppServer, serve_app
from tests.playback.upstream_server import Upstream, serve_upstream


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the writer's PostgreSQL behaviour is covered by tests/sessions."""
    database = tmp_path / "m3u_strm.db"
    database.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{database}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.playback_grace_seconds = 0.2
    settings.playback_stall_seconds = 2.0
    settings.playback_connect_timeout_seconds = 5.0
    settings.playback_hls_idle_seconds = 1.0
    return settings


@pytest.fixture
def upstream_a(tmp_path: Path) -> Iterator[Upstream]:
    with serve_upstream(tmp_path) as upstream:
        yield upstream


@pytest.fixture
def upstream_b(tmp_path: Path) -> Iterator[Upstream]:
    with serve_upstream(tmp_path) as upstream:
        yield upstream


@dataclass
class Catalogue:
    a: Upstream
    b: Upstream
    provider_a: int
    provider_b: int
    channels: dict[str, int]  # channel name -> id

    def streams(self, engine: Engine, channel: str) -> list[Stream]:
        """The channel's streams, best ranked first."""
        with Session(engine, expire_on_commit=False) as session:
            query = select(Stream).where(Stream.channel_id == self.channels[channel]).order_by(Stream.rank)
            return list(session.scalars(query))


@pytest.fixture
def catalogue(
    engine: Engine, settings: Settings, tmp_path: Path, upstream_a: Upstream, upstream_b: Upstream
) -> Catalogue:
    a_lines = [
        Line("UK: News HD", upstream_a.live("news"), tvg_id="news.uk"),
        Line("UK: Sport HD", upstream_a.live("sport"), tvg_id="sport.uk"),
        Line("UK: Cinema", upstream_a.live("cinema"), tvg_id="cinema.uk"),
        Line("UK: Plan", f"{upstream_a.base_url}/plan.ts", tvg_id="plan.uk"),
        Line("UK: Hls", f"{upstream_a.base_url}/hls/master.m3u8", tvg_id="hls.uk"),
        Line("Film One", f"{upstream_a.base_url}/movie/u/p/1.ts", group="Movies"),
    ]
    b_lines = [
        Line("UK: News HD", upstream_b.live("news"), tvg_id="news.uk"),
        Line("UK: Sport HD", upstream_b.live("sport"), tvg_id="sport.uk"),
        Line("UK: Plan", upstream_b.live("plan"), tvg_id="plan.uk"),
    ]
    provider_a = add_provider(engine, "a", write_playlist(tmp_path / "a.m3u", a_lines), priority=1)
    provider_b = add_provider(engine, "b", write_playlist(tmp_path / "b.m3u", b_lines))
    sync(engine, settings, "a")
    sync(engine, settings, "b")
    with Session(engine) as session:
        channels = {name: id_ for id_, name in session.execute(select(Channel.id, Channel.name))}
    return Catalogue(upstream_a, upstream_b, provider_a, provider_b, channels)


@pytest.fixture
def play_token(engine: Engine, viewer: Account) -> str:  # noqa: F811
    with Session(engine) as session, session.begin():
        return tokens.playback_token(session, session.get_one(User, viewer.id)).token


@pytest.fixture
def gateway(settings: Settings, engine: Engine, catalogue: Catalogue) -> Iterator[AppServer]:
    with serve_app(settings, engine) as server:
        yield server


def wait_for(condition: Callable[[], Any], *, seconds: float = 15.0, what: str = "the condition") -> Any:
    """Poll until ``condition()`` is truthy (the writer and the upstreams work in their own threads)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sessions(engine: Engine) -> list[ViewingSession]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(ViewingSession).order_by(ViewingSession.id)))


def ended_sessions(engine: Engine, count: int = 1) -> list[ViewingSession]:
    """Wait until ``count`` sessions are closed, then all sessions."""
    return wait_for(
        lambda: (rows := sessions(engine)) and sum(r.ended_at is not None for r in rows) >= count and rows,
        what=f"{count} closed session(s)",
    )
