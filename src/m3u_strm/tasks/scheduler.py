"""The in-process scheduler of the embedded default (APScheduler in ``m3u-strm serve``'s event loop).

Jobs, each a plain async function over an engine and settings so that the scale-out runner can call the very same
functions as Celery tasks:

* ``sync_due_providers`` — every minute: each enabled provider whose ``sync_interval_minutes`` has passed since its
  last sync (and that is not syncing) is synced; a sync that changed live streams merges channels again; when any
  sync changed the catalogue and ``strm_auto_user`` is set, the ``.strm`` tree is regenerated (incrementally);
* ``check_active_streams`` — every ``health_interval_minutes``: health checks of active streams;
* ``retry_inactive_streams`` — every ``health_retry_minutes``: the streams marked down, to bring back the ones that
  recovered;
* ``sample_quality`` — every ``quality_interval_minutes``: PyAV probes of a budget of streams, longest unsampled
  first;
* ``refresh_guides`` — hourly: a guide-only refresh of each provider whose guide is ``guide_refresh_hours`` old
  (see :mod:`m3u_strm.ingest.guide_refresh`; it takes the provider's sync lock, so never beside its sync).

No job overlaps itself (``max_instances=1``; a run that would start while the previous one runs is skipped and
missed runs are coalesced into one). Health, quality, guide and ``.strm`` runs are logged in ``job_runs`` (only
when there was something to do); every sync and guide refresh in ``provider_syncs``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import anyio
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import Provider, ProviderSync, Stream
from m3u_strm.errors import SyncAlreadyRunningError
from m3u_strm.ingest.guide_refresh import run_guide_refresh, stale_guides
from m3u_strm.ingest.sync import sync_provider
from m3u_strm.monitor.sampling import run_quality_sampling
from m3u_strm.monitor.service import CheckScope, run_health_check
from m3u_strm.outputs.links import links_for_user
from m3u_strm.outputs.strm_tree import StrmRequest, generate_strm
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.tasks.runs import finish_run, start_run

__all__ = [
    "build_scheduler", "check_active_streams", "due_providers", "refresh_guides", "regenerate_strm",
    "retry_inactive_streams", "sample_quality", "sync_due_providers",
]  # fmt: skip

log = logging.getLogger(__name__)


def due_providers(session: Session, now: datetime) -> list[int]:
    """Enabled, idle providers whose sync interval has passed since their last sync (or never synced)."""
    due = []
    for provider in session.scalars(select(Provider).where(Provider.enabled.is_(True), Provider.sync_lock.is_(None))):
        last = provider.last_sync_at
        if last is None or now - last >= timedelta(minutes=provider.sync_interval_minutes):
            due.append(provider.id)
    return due


async def sync_due_providers(engine: Engine, settings: Settings) -> int:
    with Session(engine) as session:
        due = due_providers(session, datetime.now(UTC))
    changed = False
    for provider_id in due:
        try:
            row = await sync_provider(engine, provider_id, trigger="schedule", settings=settings)
        except SyncAlreadyRunningError:
            log.info("scheduled sync of provider %s skipped: one is running", provider_id)
            continue
        changed |= row.status == "success" and _catalogue_changed(row)
    if changed and settings.strm_auto_user:
        await anyio.to_thread.run_sync(regenerate_strm, engine, settings)
    return len(due)


def _catalogue_changed(row: ProviderSync) -> bool:
    return any(
        getattr(row, f"{kind}_{change}")
        for kind in ("streams", "movies", "series", "episodes")
        for change in ("added", "updated", "removed")
    )


def regenerate_strm(engine: Engine, settings: Settings) -> int:
    """Write the ``.strm`` tree again for ``strm_auto_user`` (unchanged files are left alone); logs a job run."""
    run_id = start_run(engine, "strm_generate", trigger="schedule")
    try:
        with Session(engine) as session, session.begin():
            assert settings.strm_auto_user is not None
            links = links_for_user(session, settings.strm_auto_user, settings)
            request = StrmRequest(settings.resolved_strm_dir.resolve(), live=settings.strm_auto_live,
                                  genre_folders=settings.strm_genre_folders)  # fmt: skip
            summary = generate_strm(session, links, request).to_dict()
    except Exception as exc:
        log.exception("automatic .strm regeneration failed")
        finish_run(engine, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return run_id
    finish_run(engine, run_id, status="success", counts=summary)
    return run_id


def _has_streams(engine: Engine, *, active: bool) -> bool:
    query = select(Stream.id).where(Stream.removed_at.is_(None), Stream.is_active.is_(active)).limit(1)
    with Session(engine) as session:
        return session.scalars(query).first() is not None


async def check_active_streams(engine: Engine, settings: Settings, ledger: ConnectionLedger | None = None) -> None:
    if _has_streams(engine, active=True):
        scope = CheckScope(include_inactive=False)
        await run_health_check(engine, settings, scope, trigger="schedule", ledger=ledger)


async def retry_inactive_streams(engine: Engine, settings: Settings, ledger: ConnectionLedger | None = None) -> None:
    if _has_streams(engine, active=False):
        scope = CheckScope(only_inactive=True)
        await run_health_check(engine, settings, scope, trigger="schedule", ledger=ledger)


async def sample_quality(engine: Engine, settings: Settings, ledger: ConnectionLedger | None = None) -> None:
    if _has_streams(engine, active=True):
        await run_quality_sampling(engine, settings, trigger="schedule", ledger=ledger)


async def refresh_guides(engine: Engine, settings: Settings) -> int:
    """Refresh the guides that are ``guide_refresh_hours`` old; returns how many providers were due."""
    with Session(engine) as session:
        due = stale_guides(session, datetime.now(UTC), timedelta(hours=settings.guide_refresh_hours))
    if due:
        await run_guide_refresh(engine, settings, due, trigger="schedule")
    return len(due)


def build_scheduler(engine: Engine, settings: Settings, *, ledger: ConnectionLedger | None = None) -> AsyncIOScheduler:
    """The scheduler with every job registered (not started: the app's lifespan starts it in its event loop).
    ``ledger``: the gateway's connection count, so checks and probes share each provider's limit with viewers."""
    # APScheduler logs every run at INFO (the sync check runs each minute); the runs are in job_runs instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = (
        (sync_due_providers, 1, "provider syncs"),
        (check_active_streams, settings.health_interval_minutes, "health checks"),
        (retry_inactive_streams, settings.health_retry_minutes, "retry of inactive streams"),
        (sample_quality, settings.quality_interval_minutes, "quality sampling"),
        (refresh_guides, 60, "guide refresh"),
    )
    shares_connections = {check_active_streams, retry_inactive_streams, sample_quality}
    for function, minutes, name in jobs:
        kwargs = {"ledger": ledger} if function in shares_connections else {}
        scheduler.add_job(function, "interval", minutes=minutes, args=(engine, settings), kwargs=kwargs,
                          id=function.__name__, name=name, max_instances=1, coalesce=True,
                          misfire_grace_time=60)  # fmt: skip
    return scheduler
