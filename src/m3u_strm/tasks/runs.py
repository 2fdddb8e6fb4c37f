"""The job-run log: every background or on-demand job run gets a ``job_runs`` row — started, finished, outcome and
counts — so an admin can see what ran, when, and what it did (``GET /api/system/jobs``, ``m3u-strm jobs``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import JobRun
from m3u_strm.privacy.redaction import redact

__all__ = ["finish_run", "recent_runs", "start_run"]


def start_run(engine: Engine, job: str, *, trigger: str = "manual") -> int:
    with Session(engine) as session, session.begin():
        run = JobRun(job=job, trigger=trigger, status="running", started_at=datetime.now(UTC))
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    engine: Engine, run_id: int, *, status: str, counts: dict[str, Any] | None = None, error: str | None = None
) -> JobRun:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        run = session.get_one(JobRun, run_id)
        run.status, run.finished_at = status, datetime.now(UTC)
        run.counts = counts or {}
        run.error = redact(error) if error else None
        return run


def recent_runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))
