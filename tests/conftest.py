"""Shared fixtures. Database-facing tests run on a real SQLite file and on the local PostgreSQL server.

PostgreSQL and Redis tests skip with a visible reason when the server is unreachable, unless
``M3U_STRM_REQUIRE_SERVICES=1`` (set by ``.ci/run``), which turns a missing server into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
from m3u_strm.db.models import Base
from m3u_strm.privacy.redaction import forget_secrets

POSTGRES_URL = os.environ.get("M3U_STRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("M3U_STRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("M3U_STRM_REQUIRE_SERVICES") == "1"
SHARED_DATA = Path(
    os.environ.get("M3U_STRM_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def service_unavailable(what: str, reason: object) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (M3U_STRM_REQUIRE_SERVICES=1) but unreachable: {reason}")
    pytest.skip(f"{what} unreachable ({reason}); these tests run when it is up")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_secret_registry() -> Iterator[None]:
    yield
    forget_secrets()


def _admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def create_postgres_database() -> str:
    """Create an empty, uniquely named database on the test server and return its URL."""
    name = f"m3u_strm_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach or use the server
        service_unavailable("PostgreSQL", exc)
    finally:
        admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database for the whole run (tables are emptied before each test)."""
    url = create_postgres_database()
    engine = build_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty_tables(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated database URL: a fresh SQLite file, or the emptied session PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "m3u_strm.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = build_engine(url)
    _empty_tables(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = build_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for one test: its own data directory and database, quick retries, no demo."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        demo=False,
        scheduler=False,  # tests run jobs by calling them
        fetch_timeout_seconds=5.0,
        fetch_retries=2,
        fetch_max_retry_after_seconds=2.0,
        login_max_failures=3,
        login_window_seconds=60,
    )
