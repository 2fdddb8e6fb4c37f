"""A health-check run: pick the streams, check them within every provider's connection limit, record the results
as they arrive, re-rank the channels, and log the run in ``job_runs``.

The same function serves ``m3u-strm check``, ``POST /api/health/check`` and (next) the scheduler; it takes an
engine, not a session, because it spans many short transactions (a batch of results each) rather than one long one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import remerge
from m3u_strm.config import Settings
from m3u_strm.db.models import Provider, Stream
from m3u_strm.monitor.accounts import AccountVerdict, judge_account
from m3u_strm.monitor.health import CheckTarget, HealthResult, check_many
from m3u_strm.monitor.records import RecordSummary, record_health
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.tasks.runs import finish_run, start_run

JOB = "health_check"

__all__ = ["CheckScope", "HealthRun", "run_health_check", "select_targets"]

log = logging.getLogger(__name__)
BATCH = 200
DEFAULT_PROVIDER_LIMIT = 5  # providers that never told us their max_connections


@dataclass(frozen=True, slots=True)
class CheckScope:
    provider_id: int | None = None
    channel_id: int | None = None
    stream_ids: tuple[int, ...] = ()
    include_inactive: bool = True
    only_inactive: bool = False


@dataclass
class HealthRun:
    run_id: int
    checked: int = 0
    summary: RecordSummary = field(default_factory=RecordSummary)
    status: str = "running"

    def counts(self) -> dict[str, object]:
        return {"checked": self.checked, "outcomes": self.summary.outcomes,
                "deactivated": self.summary.deactivated, "reactivated": self.summary.reactivated}  # fmt: skip


def _target_query(scope: CheckScope) -> Select[int, int, str, str | None, str | None, str | None]:
    query = (
        select(Stream.id, Stream.provider_id, Stream.url, Stream.user_agent, Stream.referrer, Provider.user_agent)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.removed_at.is_(None), Provider.enabled.is_(True))
        .order_by(Stream.id)
    )
    if scope.provider_id is not None:
        query = query.where(Stream.provider_id == scope.provider_id)
    if scope.channel_id is not None:
        query = query.where(Stream.channel_id == scope.channel_id)
    if scope.stream_ids:
        query = query.where(Stream.id.in_(scope.stream_ids))
    if not scope.include_inactive:
        query = query.where(Stream.is_active.is_(True))
    if scope.only_inactive:
        query = query.where(Stream.is_active.is_(False))
    return query


def select_targets(session: Session, scope: CheckScope) -> tuple[list[CheckTarget], dict[int, int]]:
    """The streams to check, and each provider's connection limit."""
    targets = [
        CheckTarget(stream_id, provider_id, url, stream_agent or provider_agent, referrer)
        for stream_id, provider_id, url, stream_agent, referrer, provider_agent in session.execute(_target_query(scope))
    ]
    limits = {
        provider_id: max_connections or DEFAULT_PROVIDER_LIMIT
        for provider_id, max_connections in session.execute(select(Provider.id, Provider.max_connections))
    }
    return targets, limits


async def run_health_check(
    engine: Engine,
    settings: Settings,
    scope: CheckScope = CheckScope(),
    *,
    trigger: str = "manual",
    progress: Callable[[int, int], None] | None = None,
    run_id: int | None = None,
    ledger: ConnectionLedger | None = None,
) -> HealthRun:
    """Check the streams in ``scope``; see the module docstring. Never raises for a stream's trouble.

    ``run_id``: a ``job_runs`` row the caller started already (the API answers with its id at once).
    ``ledger``: the server's connection count, so checks share each provider's limit with its viewers.
    """
    run = HealthRun(run_id if run_id is not None else start_run(engine, JOB, trigger=trigger))
    try:
        with Session(engine) as session:
            targets, limits = select_targets(session, scope)
        await _check_and_record(engine, settings, targets, limits, run, progress, ledger)
        await anyio.to_thread.run_sync(lambda: remerge(engine, threshold=settings.merge_fuzzy_threshold))
        run.status = "success"
    except Exception as exc:
        log.exception("health check run %s failed", run.run_id)
        run.status = "failed"
        finish_run(engine, run.run_id, status="failed", counts=run.counts(), error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(engine, run.run_id, status=run.status, counts=run.counts())
    return run


async def _check_and_record(
    engine: Engine,
    settings: Settings,
    targets: list[CheckTarget],
    limits: dict[int, int],
    run: HealthRun,
    progress: Callable[[int, int], None] | None,
    ledger: ConnectionLedger | None,
) -> None:
    """Check, and record the results in batches while the checks go on (a long run keeps what it learned)."""
    send, receive = anyio.create_memory_object_stream[tuple[CheckTarget, HealthResult]](max_buffer_size=math.inf)

    def collect(target: CheckTarget, result: HealthResult) -> None:
        run.checked += 1
        if progress:
            progress(run.checked, len(targets))
        send.send_nowait((target, result))

    async def check() -> None:
        async with send:
            await check_many(
                targets, concurrency=settings.health_concurrency, provider_limits=limits,
                timeout=settings.health_timeout_seconds, on_result=collect, ledger=ledger,
            )  # fmt: skip

    verdicts: dict[int, AccountVerdict] = {}

    async def store(batch: list[tuple[CheckTarget, HealthResult]]) -> None:
        for provider_id in {t.provider_id for t, r in batch if r.outcome == "auth_failed"} - verdicts.keys():
            verdicts[provider_id] = await judge_account(engine, settings, provider_id)
        uncounted = frozenset(p for p, v in verdicts.items() if not v.counts_against_streams)
        await anyio.to_thread.run_sync(_record, engine, settings, batch, run, uncounted)

    async def record() -> None:
        async with receive:
            batch: list[tuple[CheckTarget, HealthResult]] = []
            async for item in receive:
                batch.append(item)
                if len(batch) >= BATCH:
                    await store(batch)
                    batch = []
            await store(batch)

    async with anyio.create_task_group() as group:
        group.start_soon(check)
        group.start_soon(record)


def _record(
    engine: Engine,
    settings: Settings,
    batch: list[tuple[CheckTarget, HealthResult]],
    run: HealthRun,
    uncounted_auth: frozenset[int] = frozenset(),
) -> None:
    with Session(engine) as session, session.begin():
        summary = record_health(
            session, batch, now=datetime.now(UTC), run_id=run.run_id,
            failure_threshold=settings.health_failure_threshold, uncounted_auth=uncounted_auth,
        )  # fmt: skip
    run.summary.add(summary)
