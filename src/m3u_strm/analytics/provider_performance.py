"""Provider performance from the sync log: how often each provider syncs, how long it takes, how often it fails.

Catalogue syncs only: the guide-only refreshes the scheduler runs between them (trigger ``guide``) are logged in the
same table but are not syncs of the catalogue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import Provider, ProviderSync
from m3u_strm.errors import InputError
from m3u_strm.ingest.guide_refresh import GUIDE_TRIGGER

MAX_DAYS = 3660


def provider_performance(session: Session, days: int = 30) -> list[dict[str, Any]]:
    """Per provider over the last ``days``: syncs, average duration, error rate, errors, average freshness."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"days must be between 1 and {MAX_DAYS}, not {days}.")
    since = datetime.now(UTC) - timedelta(days=days)
    failed = cast(ProviderSync.status == "failed", Integer)
    finished = ProviderSync.status != "running"
    stats = (
        select(
            ProviderSync.provider_id,
            func.count().label("sync_count"),
            func.sum(case((finished, 1), else_=0)).label("finished"),
            func.sum(failed).label("failed"),
            func.avg(ProviderSync.duration_ms).label("avg_duration_ms"),
            func.sum(ProviderSync.error_count).label("total_errors"),
            func.avg(ProviderSync.freshness_hours).label("avg_freshness_hours"),
            func.sum(ProviderSync.bytes_downloaded).label("bytes_downloaded"),
            func.max(ProviderSync.started_at).label("last_sync_at"),
        )
        .where(ProviderSync.started_at >= since, ProviderSync.trigger != GUIDE_TRIGGER)
        .group_by(ProviderSync.provider_id)
        .subquery()
    )
    rows = session.execute(
        select(Provider.id, Provider.name, Provider.kind, Provider.last_sync_status, stats)
        .outerjoin(stats, stats.c.provider_id == Provider.id)
        .order_by(Provider.name)
    ).mappings()
    return [_shape(row, days) for row in rows]


def _shape(row: Any, days: int) -> dict[str, Any]:
    finished = int(row["finished"] or 0)
    failed = int(row["failed"] or 0)
    return {
        "provider_id": row["id"],
        "provider": row["name"],
        "kind": row["kind"],
        "days": days,
        "sync_count": int(row["sync_count"] or 0),
        "failed_syncs": failed,
        "avg_duration_ms": round(float(row["avg_duration_ms"]), 1) if row["avg_duration_ms"] is not None else None,
        "error_rate": round(failed / finished, 4) if finished else None,
        "total_errors": int(row["total_errors"] or 0),
        "avg_freshness_hours": (
            round(float(row["avg_freshness_hours"]), 2) if row["avg_freshness_hours"] is not None else None
        ),
        "bytes_downloaded": int(row["bytes_downloaded"] or 0),
        "last_sync_at": row["last_sync_at"],
        "last_sync_status": row["last_sync_status"],
    }
