"""Apply a provider's full catalogue snapshot to one catalogue table, inside the caller's transaction.

The snapshot's rows go into a temporary staging table (straight through the driver's ``executemany``: at a
million rows the ORM's per-row work would dominate); four set-based statements then do the diff in the database,
so memory does not grow with catalogue size and an unchanged re-sync writes nothing:

1. revive   rows that had been removed and are back              (counted as added)
2. update   rows whose content hash changed                       (updated)
3. insert   rows the table has never seen                         (added)
4. remove   live rows the snapshot no longer has: soft delete     (removed)

``changed_at`` moves only in steps 1-3; a live row is confirmed present by its provider's ``last_success_at``.

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

from m3u_strm.db.models import CATALOGUE_MODELS
from m3u_strm.ingest.rows import PAYLOAD_COLUMNS, STAGING_COLUMNS, Kind
from m3u_strm.ingest.spool import StagedRow


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


def _insert_ignoring_duplicates(connection: Connection, staging: Table, kind: Kind, rows: list[StagedRow]) -> None:
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    columns = STAGING_COLUMNS[kind]
    names, placeholders = ", ".join(columns), ", ".join([marker] * len(columns))
    # Names are our own constants; values are bound parameters.
    sql = f"INSERT INTO {staging.name} ({names}) VALUES ({placeholders})"  # noqa: S608
    sql += " ON CONFLICT (item_key) DO NOTHING"
    connection.exec_driver_sql(sql, rows)


def apply_snapshot(
    connection: Connection,
    kind: Kind,
    provider_id: int,
    batches: Iterable[list[StagedRow]],
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
            _insert_ignoring_duplicates(connection, staging, kind, batch)
            counts.staged += len(batch)
        _diff(connection, target, staging, kind, provider_id, now, removal_scope, counts)
    finally:
        staging.drop(connection)
    return counts


def _count(connection: Connection, staging: Table, *where: ColumnElement[bool]) -> int:
    return int(connection.execute(select(func.count()).select_from(staging).where(*where)).scalar_one())


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
    """Run the four steps. Each write is counted by a cheap join first and skipped when there is nothing to do:
    an unchanged re-sync then costs reads only (and drivers disagree on rowcount for INSERT ... SELECT)."""
    payload = {name: staging.c[name] for name in ("content_hash", *PAYLOAD_COLUMNS[kind])}
    same_item = and_(target.c.provider_id == provider_id, target.c.item_key == staging.c.item_key)
    counts.duplicates = counts.staged - _count(connection, staging)

    def matched(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(same_item, *where)

    revived = _count(connection, staging, matched(target.c.removed_at.is_not(None)))
    if revived:
        statement = update(target).where(same_item, target.c.removed_at.is_not(None))
        connection.execute(statement.values(removed_at=None, changed_at=now, **payload))
    changed_rows = and_(target.c.removed_at.is_(None), target.c.content_hash != staging.c.content_hash)
    counts.updated = _count(connection, staging, matched(changed_rows))
    if counts.updated:
        connection.execute(update(target).where(same_item, changed_rows).values(changed_at=now, **payload))
    unseen = ~exists().where(same_item)
    fresh = _count(connection, staging, unseen)
    counts.added = revived + fresh
    if fresh:
        columns = ["provider_id", "item_key", *payload, "first_seen_at", "changed_at"]
        rows = select(
            literal(provider_id), staging.c.item_key, *payload.values(), literal(now, target.c.first_seen_at.type),
            literal(now, target.c.changed_at.type),
        ).where(unseen)  # fmt: skip
        connection.execute(insert(target).from_select(columns, rows))

    missing = ~exists().where(staging.c.item_key == target.c.item_key)
    scope = [removal_scope] if removal_scope is not None else []
    gone = update(target).where(target.c.provider_id == provider_id, target.c.removed_at.is_(None), missing, *scope)
    counts.removed = connection.execute(gone.values(removed_at=now)).rowcount
