"""Stream health: start a check run, the current status, a stream's history, and the job-run log."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from m3u_strm.api.deps import AdminUser, EngineDep, SessionDep, SettingsDep
from m3u_strm.monitor.service import JOB, CheckScope, run_health_check
from m3u_strm.monitor.status import health_history, health_status, quality_history
from m3u_strm.tasks.runs import recent_runs, start_run

router = APIRouter(tags=["health"])


class HealthCheckRequest(BaseModel):
    provider_id: int | None = None
    channel_id: int | None = None
    stream_ids: list[int] = Field(default_factory=list, max_length=10_000)


@router.post("/api/health/check", status_code=202)
async def start_health_check(
    request: Request, _: AdminUser, engine: EngineDep, settings: SettingsDep, body: HealthCheckRequest | None = None
) -> dict[str, Any]:
    """Start a health-check run (all streams, or a provider's, a channel's, or the given ones); poll
    ``GET /api/system/jobs`` or ``GET /api/health/status`` for the result."""
    body = body or HealthCheckRequest()
    scope = CheckScope(body.provider_id, body.channel_id, tuple(body.stream_ids))
    run_id = start_run(engine, JOB, trigger="api")
    ledger = request.app.state.gateway.ledger  # checks share each provider's connections with its viewers
    task = asyncio.create_task(run_health_check(engine, settings, scope, trigger="api", run_id=run_id, ledger=ledger))
    request.app.state.background_tasks.add(task)
    task.add_done_callback(request.app.state.background_tasks.discard)
    return {"run_id": run_id, "status": "running"}


@router.get("/api/health/status")
def read_health_status(_: AdminUser, session: SessionDep) -> dict[str, Any]:
    return health_status(session)


@router.get("/api/streams/{stream_id}/health-history")
def read_health_history(
    stream_id: int, _: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> list[dict[str, Any]]:
    return health_history(session, stream_id, days=days)


@router.get("/api/admin/streams/{stream_id}/quality-history")
def read_quality_history(
    stream_id: int, _: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> list[dict[str, Any]]:
    """Measured quality over time: resolution, bitrate, score, codec, fps and deep-check flags."""
    return quality_history(session, stream_id, days=days)


@router.get("/api/system/jobs")
def read_jobs(
    _: AdminUser,
    session: SessionDep,
    job: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Recent job runs: what ran, when, how it ended and what it counted."""
    return [
        {"id": r.id, "job": r.job, "trigger": r.trigger, "status": r.status, "started_at": r.started_at,
         "finished_at": r.finished_at, "counts": r.counts, "error": r.error}
        for r in recent_runs(session, job=job, limit=limit)
    ]  # fmt: skip
