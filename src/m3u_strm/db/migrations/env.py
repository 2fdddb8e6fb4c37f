"""Alembic environment: runs on the connection handed over by :mod:`m3u_strm.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from m3u_strm.db.engine import get_engine
from m3u_strm.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:  # `alembic` invoked directly: use the configured database
    with get_engine().begin() as conn:
        run_on(conn)
