"""Reading and writing ``viewing_sessions`` rows for the session writer, with SQLAlchemy Core in bulk.

A batch reads the sessions it does not hold in memory with one query per 500 keys (locked ``FOR UPDATE`` on
PostgreSQL, so that two API instances applying events to one session take turns), inserts its new sessions in one
multi-row ``INSERT ... RETURNING`` and updates the changed ones in one ``executemany``, both as driver SQL
(:class:`_DriverStatements` says why).

:func:`close_abandoned` runs at start-up, before the writer: proxy sessions still open were left by a crash (the
process that relayed them is gone) and end at their ``last_seen_at``; API sessions idle for 12 hours end the same
way; redirect sessions stay open, since nothing but a later event can say how long they lasted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table, or_, select

from m3u_strm.db.models import ViewingSession
from m3u_strm.playback.session_events import SessionRules
from m3u_strm.playback.session_state import STATE_FIELDS, SessionState, finish

TABLE: Table = ViewingSession.__table__  # type: ignore[assignment]
API_IDLE = timedelta(hours=12)
KEYS_PER_QUERY = 500
# What progress and end events may change; the rest of a row is written once, by its start.
MUTABLE = ("stream_id", "provider_id", "last_seen_at", "ended_at", "duration_s", "watched_s", "bytes_sent",
           "failovers", "completed", "is_zap")  # fmt: skip


INSERT_ROWS_PER_STATEMENT = 500  # 21 parameters a row: well under SQLite's 32,766 and PostgreSQL's 65,535
_INSERTED = tuple(name for name in STATE_FIELDS if name != "id")
_UPDATED = (*MUTABLE, "id")


class _DriverStatements:
    """The writer's INSERT and UPDATE as driver SQL for one dialect, with each column's bind processor.

    SQLAlchemy's per-row parameter handling costs three to four times what SQLite itself spends on these rows, and
    the writer shares the GIL with the event loop it acknowledges to; so the two statements every batch runs are
    rendered once here and handed to the driver's ``execute``/``executemany`` with values already converted by the
    columns' own types (``UTCDateTime`` included), exactly as SQLAlchemy would convert them.
    """

    def __init__(self, dialect: Dialect) -> None:
        quote = dialect.identifier_preparer.quote
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]  # sqlite3 and psycopg
        self.row = f"({', '.join(mark for _ in _INSERTED)})"
        columns = ", ".join(quote(name) for name in _INSERTED)
        self.insert_head = f"INSERT INTO {TABLE.name} ({columns}) VALUES "  # noqa: S608 - model names; values bound
        self.insert_tail = f" RETURNING {quote('id')}, {quote('key')}"
        assignments = ", ".join(f"{quote(name)} = {mark}" for name in MUTABLE)
        self.update = f"UPDATE {TABLE.name} SET {assignments} WHERE {quote('id')} = {mark}"  # noqa: S608
        self.insert_values = _converter(dialect, _INSERTED)
        self.update_values = _converter(dialect, _UPDATED)


def _converter(dialect: Dialect, names: tuple[str, ...]) -> Callable[[SessionState], list[Any]]:
    """The values of ``names`` of a state, each converted by its column type's bind processor."""
    processors = [(index, TABLE.c[name].type.bind_processor(dialect)) for index, name in enumerate(names)]
    converting = [(index, process) for index, process in processors if process is not None]

    def values(state: SessionState) -> list[Any]:
        row = [getattr(state, name) for name in names]
        for index, process in converting:
            row[index] = process(row[index])
        return row

    return values


_statements: dict[str, _DriverStatements] = {}


def _driver(connection: Connection) -> _DriverStatements:
    name = connection.dialect.name
    if name not in _statements:
        _statements[name] = _DriverStatements(connection.dialect)
    return _statements[name]


def _state(row: Any) -> SessionState:
    mapping = row._mapping
    return SessionState(**{name: mapping[name] for name in STATE_FIELDS})


def load_states(connection: Connection, keys: Iterable[str]) -> dict[str, SessionState]:
    """The stored sessions among ``keys``, by key."""
    wanted = sorted(keys)
    found: dict[str, SessionState] = {}
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        query = select(TABLE).where(TABLE.c.key.in_(wanted[start : start + KEYS_PER_QUERY]))
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in connection.execute(query):
            state = _state(row)
            found[state.key] = state
    return found


def insert_states(connection: Connection, states: Sequence[SessionState]) -> None:
    """Insert new sessions and set their ``id``: one multi-row ``INSERT ... RETURNING`` per 500."""
    driver = _driver(connection)
    by_key = {state.key: state for state in states}
    for start in range(0, len(states), INSERT_ROWS_PER_STATEMENT):
        chunk = states[start : start + INSERT_ROWS_PER_STATEMENT]
        sql = driver.insert_head + ", ".join(driver.row for _ in chunk) + driver.insert_tail
        values = tuple(value for state in chunk for value in driver.insert_values(state))
        for session_id, key in connection.exec_driver_sql(sql, values):
            by_key[key].id = session_id


def update_states(connection: Connection, states: Sequence[SessionState]) -> None:
    """Write what events change (:data:`MUTABLE`) of stored sessions: one ``executemany``."""
    if states:
        driver = _driver(connection)
        connection.exec_driver_sql(driver.update, [tuple(driver.update_values(state)) for state in states])


def close_abandoned(engine: Engine, now: datetime, *, rules: SessionRules | None = None) -> int:
    """End what a crash left open (see the module docstring); returns how many sessions were closed."""
    rules = rules or SessionRules()
    abandoned = or_(
        TABLE.c.source == "proxy",
        (TABLE.c.source == "api") & (TABLE.c.last_seen_at < now - API_IDLE),
    )
    with engine.begin() as connection:
        states = [_state(row) for row in connection.execute(select(TABLE).where(TABLE.c.ended_at.is_(None), abandoned))]
        for state in states:
            finish(state, state.last_seen_at, None, rules)
        update_states(connection, states)
    return len(states)


def close_open(connection: Connection, keys: Iterable[str], at: datetime, rules: SessionRules) -> int:
    """End the sessions among ``keys`` that are still open at ``at`` (never before they were last seen)."""
    with connection.begin():
        states = [state for state in load_states(connection, keys).values() if state.is_open]
        for state in states:
            finish(state, max(at, state.last_seen_at), None, rules)
        update_states(connection, states)
    return len(states)
