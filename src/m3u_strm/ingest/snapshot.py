"""Apply a provider's full catalogue snapshot to one catalogue table, inside the caller's transaction.

The snapshot's rows go into a temporary staging table; four set-based statements then do the diff in the
database, so memory does not grow with catalogue size and an unchanged re-sync writes almost nothing:

1. revive   rows that had been removed and are back              (counted as added)
2. update   rows whose content hash changed                       (updated)
3. insert   rows the table has never seen                         (added)
4. remove   live rows the snapshot no longer has: soft delete     (removed)

Duplicate keys inside one snapshot keep the first row (the provider's own order) and are counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from m3u_strm.db.models import CATALOGUE_MODELS
from m3u_strm.ingest.rows import PAYLOAD_COLUMNS, Kind, Row


@dataclass
class DiffCounts:
    added: int = 0
    updated: int = 0
    removed: int = 0
    staged: int = 0
    duplicates: int = 0


def _staging_table(kind: Kind, target: Table) -> Table:
    columns: list[Column[Any]] = [
        Column("item_key", String(64), primary_key=True),
        Column("content_hash", String(32), nullable=False),
    ]
    for name in PAYLOAD_COLUMNS[kind]:
        source = target.c[name]
        column_type = JSON() if isinstance(source.type, JSON) else source.type
        if isinstance(source.type, BigInteger):
            column_type = BigInteger()
        columns.append(Column(name, column_type))
    return Table(f"stg_{kind}", MetaData(), *columns, prefixes=["TEMPORARY"])


def _insert_ignoring_duplicates(connection: Connection, staging: Table, rows: list[Row]) -> None:
    if connection.dialect.name == "postgresql":
        pg_statement = postgresql.insert(staging).on_conflict_do_nothing(index_elements=["item_key"])
        connection.execute(pg_statement, rows)
    else:
        lite_statement = sqlite.insert(staging).on_conflict_do_nothing(index_elements=["item_key"])
        connection.execute(lite_statement, rows)


def apply_snapshot(
    connection: Connection,
    kind: Kind,
    provider_id: int,
    batches: Iterable[list[Row]],
    *,
    now: datetime,
    removal_scope: ColumnElement[bool] | None = None,
) -> DiffCounts:
    """Make ``kind``'s rows of ``provider_id`` equal the snapshot; return what changed.

    ``removal_scope`` narrows which missing rows are soft-deleted (episodes of series that were not re-fetched
    must stay).
    """
    target = CATALOGUE_MODELS[kind].__table__  # type: ignore[attr-defined]
    assert isinstance(target, Table)
    staging = _staging_table(kind, target)
    counts = DiffCounts()
    staging.create(connection)
    try:
        for batch in batches:
            _insert_ignoring_duplicates(connection, staging, batch)
            counts.staged += len(batch)
        _diff(connection, target, staging, kind, provider_id, now, removal_scope, counts)
    finally:
        staging.drop(connection)
    return counts


def _diff(
    connection: Connection,
    target: Table,
    staging: Table,
    kind: Kind,
    provider_id: int,
    now: datetime,
    removal_scope: ColumnElement[bool] | None,
    counts: DiffCounts,
) -> None:
    payload = {name: staging.c[name] for name in ("content_hash", *PAYLOAD_COLUMNS[kind])}
    same_item = and_(target.c.provider_id == provider_id, target.c.item_key == staging.c.item_key)
    unique_rows = connection.execute(select(func.count()).select_from(staging)).scalar_one()
    counts.duplicates = counts.staged - int(unique_rows)

    revived = update(target).where(same_item, target.c.removed_at.is_not(None))
    counts.added += connection.execute(revived.values(removed_at=None, last_seen_at=now, **payload)).rowcount
    changed = update(target).where(
        same_item, target.c.removed_at.is_(None), target.c.content_hash != staging.c.content_hash
    )
    counts.updated = connection.execute(changed.values(last_seen_at=now, **payload)).rowcount
    seen = update(target).where(
        target.c.provider_id == provider_id,
        target.c.removed_at.is_(None),
        target.c.last_seen_at < now,
        target.c.item_key.in_(select(staging.c.item_key)),
    )
    connection.execute(seen.values(last_seen_at=now))

    unseen = ~exists().where(target.c.provider_id == provider_id, target.c.item_key == staging.c.item_key)
    # Counted first: drivers disagree on rowcount for INSERT ... SELECT (psycopg reports -1).
    counts.added += connection.execute(select(func.count()).select_from(staging).where(unseen)).scalar_one()
    columns = ["provider_id", "item_key", *payload, "first_seen_at", "last_seen_at"]
    fresh = select(
        literal(provider_id), staging.c.item_key, *payload.values(), literal(now, target.c.first_seen_at.type),
        literal(now, target.c.last_seen_at.type),
    ).where(unseen)  # fmt: skip
    connection.execute(insert(target).from_select(columns, fresh))

    missing = ~exists().where(staging.c.item_key == target.c.item_key)
    scope = [removal_scope] if removal_scope is not None else []
    gone = update(target).where(target.c.provider_id == provider_id, target.c.removed_at.is_(None), missing, *scope)
    counts.removed = connection.execute(gone.values(removed_at=now)).rowcount
