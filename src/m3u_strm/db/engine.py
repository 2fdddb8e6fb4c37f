"""Engine and session set-up for SQLite (WAL, embedded default) and PostgreSQL (scale-out).

SQLite gets WAL, ``synchronous`` from the settings (FULL by default: every acknowledged write survives power
loss), foreign keys, and a busy timeout so that a second writer waits instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from m3u_strm.config import Settings, get_settings
from m3u_strm.errors import ConfigError
from m3u_strm.privacy.redaction import redact

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return on_connect


def build_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """Create an engine for ``url`` with the pragmas and pool settings this product relies on."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"The database URL {redact(url)!r} is not valid.",
            hint="Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/dbname.",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for the configured database (one per URL)."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    engine = _engines.get(url)
    if engine is None:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        engine = build_engine(url, sqlite_synchronous=settings.sqlite_synchronous)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back on any error."""
    factory = session_factory(engine or get_engine())
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
