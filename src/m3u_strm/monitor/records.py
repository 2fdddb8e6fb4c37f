"""Recording health checks: the append-only ``health_checks`` history and each stream's summary columns.

Per result, in one transaction per batch:

* a ``health_checks`` row (outcome, counted, status code, response time, bytes read, error kind, redacted detail);
* the stream's summary: ``last_check_at``, ``last_outcome``; a counted failure adds one to
  ``consecutive_failures`` and deactivates the stream at the threshold (3 by default); a success resets the count
  and reactivates it; ``rate_limited`` and ``unsupported`` change neither (they are not the stream's fault);
* ``health_score`` from :func:`m3u_strm.monitor.scoring.health_score` over the failures, the last response time
  and the 24-hour uptime read from the history in one grouped query for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from m3u_strm.db.models import HealthCheck, Stream
from m3u_strm.monitor.health import CheckTarget, HealthResult
from m3u_strm.monitor.scoring import health_score
from m3u_strm.privacy.redaction import redact

__all__ = ["UPTIME_WINDOWS", "RecordSummary", "record_health", "uptimes"]


@dataclass
class RecordSummary:
    outcomes: dict[str, int] = field(default_factory=dict)
    deactivated: int = 0
    reactivated: int = 0

    def add(self, other: RecordSummary) -> None:
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count
        self.deactivated += other.deactivated
        self.reactivated += other.reactivated


def record_health(
    session: Session,
    results: Sequence[tuple[CheckTarget, HealthResult]],
    *,
    now: datetime,
    run_id: int | None = None,
    failure_threshold: int = 3,
    uncounted_auth: frozenset[int] = frozenset(),
) -> RecordSummary:
    """Store one batch of check results; see the module docstring. ``uncounted_auth``: providers whose account was
    rejected, so their streams' ``auth_failed`` results are not the streams' fault (see :mod:`.accounts`)."""
    summary = RecordSummary()
    if not results:
        return summary
    counted = [
        result.is_counted and not (result.outcome == "auth_failed" and target.provider_id in uncounted_auth)
        for target, result in results
    ]
    rows = [_history_row(t, r, c, now, run_id) for (t, r), c in zip(results, counted, strict=True)]
    session.execute(insert(HealthCheck), rows)
    query = select(Stream.id, Stream.consecutive_failures, Stream.is_active, Stream.response_time_ms).where(
        Stream.id.in_([target.stream_id for target, _ in results])
    )
    streams = {row[0]: _StreamState(*row) for row in session.execute(query)}
    day = {"24h": UPTIME_WINDOWS["24h"]}
    uptime = {
        stream_id: up["24h"] for stream_id, up in uptimes(session, ids=list(streams), windows=day, now=now).items()
    }
    changes = []
    for (target, result), is_counted in zip(results, counted, strict=True):
        summary.outcomes[result.outcome] = summary.outcomes.get(result.outcome, 0) + 1
        stored = streams.get(target.stream_id)
        if stored is not None:
            change = _summary_change(stored, result, is_counted, now, failure_threshold, uptime.get(stored.id), summary)
            changes.append(change)
    if changes:
        session.execute(update(Stream), changes)
    return summary


def _history_row(
    target: CheckTarget, result: HealthResult, counted: bool, now: datetime, run_id: int | None
) -> dict[str, object]:
    return {
        "stream_id": target.stream_id, "provider_id": target.provider_id, "run_id": run_id, "checked_at": now,
        "outcome": result.outcome, "counted": counted, "status_code": result.status_code,
        "response_ms": result.response_ms, "bytes_read": result.bytes_read, "error_kind": result.error_kind,
        "detail": redact(result.detail) if result.detail else None,
    }  # fmt: skip


UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def uptimes(
    session: Session,
    *,
    by_provider: bool = False,
    ids: list[int] | None = None,
    windows: dict[str, timedelta] = UPTIME_WINDOWS,
    now: datetime | None = None,
) -> dict[int, dict[str, float | None]]:
    """Uptime % (alive among counted checks) over each window (24 h, 7 d, 30 d), per stream or per provider, in one
    query."""
    now = now or datetime.now(UTC)
    key = HealthCheck.provider_id if by_provider else HealthCheck.stream_id
    columns = []
    for window in windows.values():
        inside = HealthCheck.checked_at >= now - window
        columns += [func.sum(case((inside & (HealthCheck.outcome == "alive"), 1), else_=0)),
                    func.sum(case((inside, 1), else_=0))]  # fmt: skip
    query = select(key, *columns).where(
        HealthCheck.counted.is_(True), HealthCheck.checked_at >= now - UPTIME_WINDOWS["30d"]
    )
    if ids is not None:
        query = query.where(key.in_(ids))
    result: dict[int, dict[str, float | None]] = {}
    for row in session.execute(query.group_by(key)):
        counts = [int(value or 0) for value in row[1:]]
        result[row[0]] = {
            name: round(100.0 * counts[2 * i] / counts[2 * i + 1], 2) if counts[2 * i + 1] else None
            for i, name in enumerate(windows)
        }
    return result


@dataclass(frozen=True, slots=True)
class _StreamState:
    id: int
    consecutive_failures: int
    is_active: bool
    response_time_ms: int | None


def _summary_change(
    stored: _StreamState,
    result: HealthResult,
    counted: bool,
    now: datetime,
    threshold: int,
    uptime: float | None,
    summary: RecordSummary,
) -> dict[str, object]:
    failures, active, response_ms = stored.consecutive_failures, stored.is_active, stored.response_time_ms
    change: dict[str, object] = {"id": stored.id, "last_check_at": now, "last_outcome": result.outcome}
    if result.outcome == "alive":
        if not active:
            summary.reactivated += 1
        failures, active, response_ms = 0, True, result.response_ms
        change |= {"last_success_at": now, "failure_reason": None}
    elif counted:
        failures += 1
        if active and failures >= threshold:
            active = False
            summary.deactivated += 1
        change |= {
            "last_failure_at": now,
            "failure_reason": redact(result.detail or result.error_kind or result.outcome),
        }
    change |= {
        "consecutive_failures": failures, "is_active": active, "response_time_ms": response_ms,
        "health_score": health_score(failures, response_ms, uptime),
    }  # fmt: skip
    return change
