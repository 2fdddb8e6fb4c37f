"""Viewing-session fixtures: users to watch, a running writer, a commit counter, and the API fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import User, ViewingSession
from m3u_strm.db.types import utcnow
from m3u_strm.playback.sessions import SessionWriter
from tests.api.conftest import admin, app, client, viewer  # noqa: F401


@pytest.fixture
def users(engine: Engine) -> list[int]:
    """Two users who watch things (no password work: the writer never logs anyone in)."""
    with Session(engine) as session, session.begin():
        rows = [User(username=name, password_hash="-") for name in ("watcher1", "watcher2")]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


@pytest.fixture
def writer(engine: Engine, settings: Settings) -> Iterator[SessionWriter]:
    writer = SessionWriter(engine, settings)
    writer.start()
    yield writer
    writer.stop()


@dataclass(eq=False)  # hashable: SQLAlchemy keeps listeners in a dict
class CommitCounter:
    commits: int = 0

    def __call__(self, _connection: Any) -> None:
        self.commits += 1


@pytest.fixture
def commits(engine: Engine) -> Iterator[CommitCounter]:
    """Counts the transactions committed on ``engine`` (each one an fsync on SQLite)."""
    counter = CommitCounter()
    event.listen(engine, "commit", counter)
    yield counter
    event.remove(engine, "commit", counter)


def stored(engine: Engine) -> dict[str, ViewingSession]:
    """Every session row, by key."""
    with Session(engine) as session:
        return {row.key: row for row in session.scalars(select(ViewingSession))}


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)
