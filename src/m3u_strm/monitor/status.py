"""What the health checks found, for the API and the CLI: the last run, outcomes by provider, a stream's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import HealthCheck, Provider, QualitySample, Stream
from m3u_strm.errors import NotFoundError
from m3u_strm.monitor.records import UPTIME_WINDOWS, uptimes
from m3u_strm.tasks.runs import recent_runs

__all__ = ["health_history", "health_status", "quality_history"]


def health_status(session: Session) -> dict[str, Any]:
    """The last health-check run, and each provider's live streams by the outcome of their last check."""
    last = next(iter(recent_runs(session, job="health_check", limit=1)), None)
    rows = session.execute(
        select(Provider.id, Provider.name, Stream.last_outcome, Stream.is_active, func.count())
        .join(Stream, Stream.provider_id == Provider.id)
        .where(Stream.removed_at.is_(None))
        .group_by(Provider.id, Provider.name, Stream.last_outcome, Stream.is_active)
        .order_by(Provider.id)
    )
    providers: dict[int, dict[str, Any]] = {}
    for provider_id, name, outcome, active, count in rows:
        entry = providers.setdefault(provider_id, {"provider_id": provider_id, "provider": name, "streams": 0,
                                                   "active": 0, "outcomes": {}})  # fmt: skip
        entry["streams"] += count
        entry["active"] += count if active else 0
        key = outcome or "unchecked"
        entry["outcomes"][key] = entry["outcomes"].get(key, 0) + count
    provider_uptime = uptimes(session, by_provider=True, ids=list(providers))
    for provider_id, entry in providers.items():
        entry["uptime"] = provider_uptime.get(provider_id, dict.fromkeys(UPTIME_WINDOWS))
    run = None
    if last is not None:
        run = {"id": last.id, "status": last.status, "trigger": last.trigger, "started_at": last.started_at,
               "finished_at": last.finished_at, "counts": last.counts}  # fmt: skip
    return {"last_run": run, "providers": list(providers.values())}


def health_history(session: Session, stream_id: int, *, days: int = 7) -> list[dict[str, Any]]:
    """A stream's checks of the last ``days`` days, newest first."""
    if session.get(Stream, stream_id) is None:
        raise NotFoundError(f"There is no stream {stream_id}.")
    since = datetime.now(UTC) - timedelta(days=days)
    checks = session.scalars(
        select(HealthCheck)
        .where(HealthCheck.stream_id == stream_id, HealthCheck.checked_at >= since)
        .order_by(HealthCheck.checked_at.desc(), HealthCheck.id.desc())
        .limit(10_000)
    )
    return [
        {"checked_at": c.checked_at, "outcome": c.outcome, "counted": c.counted, "status_code": c.status_code,
         "response_ms": c.response_ms, "bytes_read": c.bytes_read, "error_kind": c.error_kind, "detail": c.detail}
        for c in checks
    ]  # fmt: skip


def quality_history(session: Session, stream_id: int, *, days: int = 7) -> list[dict[str, Any]]:
    """A stream's quality samples of the last ``days`` days, oldest first (the seed's shape, plus flags)."""
    if session.get(Stream, stream_id) is None:
        raise NotFoundError(f"There is no stream {stream_id}.")
    since = datetime.now(UTC) - timedelta(days=days)
    samples = session.scalars(
        select(QualitySample)
        .where(QualitySample.stream_id == stream_id, QualitySample.sampled_at >= since)
        .order_by(QualitySample.sampled_at, QualitySample.id)
        .limit(10_000)
    )
    return [
        {"timestamp": q.sampled_at, "method": q.method, "outcome": q.outcome, "resolution": q.resolution,
         "width": q.width, "height": q.height, "bitrate": q.bitrate_kbps, "quality_score": q.score, "codec": q.codec,
         "fps": q.fps, "flags": q.flags, "error": q.error}
        for q in samples
    ]  # fmt: skip
