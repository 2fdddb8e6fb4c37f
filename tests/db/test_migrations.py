"""Migrations: an empty database upgrades to head and then matches the models exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import current_revision, pending_changes, upgrade
from m3u_strm.db.models import Base
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def test_upgrade_of_empty_database_leaves_nothing_for_autogenerate(empty_url: str) -> None:
    engine = build_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) is not None
    assert pending_changes(engine) == []
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    engine = build_engine(empty_url)
    upgrade(engine)
    revision = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == revision
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_configured_synchronous(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'wal.db'}", sqlite_synchronous="NORMAL")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
