"""Guide-only refresh: fetch a provider's XMLTV guide again between catalogue syncs, and find whose guide is stale.

The rules:

* **What is fetched** is what a sync fetches (:func:`m3u_strm.ingest.fetch.fetch_guide`): the provider's
  ``epg_url``, else for an Xtream account its ``xmltv.php``. A provider with neither has no guide source and is never
  refreshed.
* **Never beside a sync.** A refresh takes the provider's sync lock (:func:`m3u_strm.ingest.sync.begin_sync`), so
  it never runs while a sync or another refresh of that provider does, and it opens a ``provider_syncs`` row with
  trigger :data:`GUIDE_TRIGGER`: the provider's sync log shows refreshes too. The provider's own sync columns
  (``last_sync_at``, ``last_sync_status``) are left alone: a refresh does not postpone the next catalogue sync.
* **One commit, or nothing.** The guide is replaced in one transaction. A failed download, a guide that cannot be
  parsed or one without programmes changes nothing: the stored guide stays, and the row is ``failed`` with why.
* **Fresh or stale.** A provider's guide was fetched when its last successful ``provider_syncs`` row that stored
  programmes finished: a catalogue sync or a guide-only refresh, whichever came last. It is stale when that was
  ``guide_refresh_hours`` ago or more. A failed refresh leaves it stale, so the next hourly check tries again; a
  provider that has never synced successfully waits for its first sync, which brings its guide.
* **Runs are logged.** :func:`run_guide_refresh` refreshes providers one after the other and records a
  ``job_runs`` row (job :data:`JOB`) with counts by outcome; the run is ``failed`` when any refresh failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings, get_settings
from m3u_strm.db.models import Provider, ProviderSync
from m3u_strm.errors import InputError, M3UStrmError, ProviderError
from m3u_strm.ingest.fetch import FetchReport, fetch_guide, guide_location, provider_client
from m3u_strm.ingest.providers import get_provider
from m3u_strm.ingest.spool import RowSpool
from m3u_strm.ingest.sync import (
    SyncTicket,
    begin_sync,
    finish_sync_row,
    provider_source,
    record_sync_failure,
    release_sync,
    store_guide,
)
from m3u_strm.tasks.runs import finish_run, start_run

__all__ = [
    "GUIDE_TRIGGER", "JOB", "GuideRefreshRun", "guide_fetched_at", "has_guide_source", "providers_with_guides",
    "refresh_guide", "run_guide_refresh", "stale_guides",
]  # fmt: skip

log = logging.getLogger(__name__)

GUIDE_TRIGGER = "guide"
JOB = "guide_refresh"


def has_guide_source(provider: Provider) -> bool:
    return guide_location(provider_source(provider)) is not None


def guide_fetched_at(session: Session) -> dict[int, datetime]:
    """Provider id → when its stored guide was fetched (providers whose guide was never stored are absent)."""
    query = (
        select(ProviderSync.provider_id, func.max(ProviderSync.finished_at))
        .where(ProviderSync.status == "success", ProviderSync.epg_programmes > 0)
        .group_by(ProviderSync.provider_id)
    )
    return {provider_id: at for provider_id, at in session.execute(query) if at is not None}


def providers_with_guides(session: Session) -> list[Provider]:
    """Enabled providers that have a guide source, by id."""
    enabled = select(Provider).where(Provider.enabled.is_(True)).order_by(Provider.id)
    return [provider for provider in session.scalars(enabled) if has_guide_source(provider)]


def stale_guides(session: Session, now: datetime, max_age: timedelta) -> list[int]:
    """Providers due a guide-only refresh: enabled, idle, synced before, with a guide source and a stale guide."""
    fetched = guide_fetched_at(session)
    return [
        provider.id
        for provider in providers_with_guides(session)
        if provider.sync_lock is None
        and provider.last_success_at is not None
        and (provider.id not in fetched or now - fetched[provider.id] >= max_age)
    ]


async def refresh_guide(
    engine: Engine,
    provider_ref: int | str,
    *,
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
) -> ProviderSync:
    """Fetch and store one provider's guide now; returns its log row (``success`` or ``failed``).

    Raises only when it cannot begin: an unknown or disabled provider, one without a guide source
    (:class:`InputError`), or one whose sync is running (:class:`SyncAlreadyRunningError`).
    """
    settings = settings or get_settings()
    with Session(engine) as session:
        source = provider_source(get_provider(session, provider_ref))
    if guide_location(source) is None:
        raise InputError(
            f"Provider {source.name!r} has no guide source.",
            hint="Give it an EPG URL (an Xtream account has one of its own).",
        )
    ticket = begin_sync(engine, source.id, trigger=GUIDE_TRIGGER)
    started, report = time.monotonic(), FetchReport()
    client = http or provider_client(settings)
    try:
        with RowSpool() as spool:
            await fetch_guide(client, source, settings, spool, report)
            if report.guide_path is None:
                why = report.warnings[-1] if report.warnings else "the provider sent no guide"
                raise ProviderError(why, hint="The stored guide was kept.")
            return await anyio.to_thread.run_sync(_store, engine, ticket, report, settings, started)
    except M3UStrmError as exc:
        log.warning("guide refresh of %s failed: %s", source.name, exc)
        return record_sync_failure(engine, ticket, report, exc, started, provider_status=False)
    except Exception as exc:
        log.exception("guide refresh of provider %s failed unexpectedly", source.id)
        return record_sync_failure(engine, ticket, report, exc, started, provider_status=False)
    finally:
        release_sync(engine, ticket)
        if http is None:
            await client.aclose()


def _store(engine: Engine, ticket: SyncTicket, report: FetchReport, settings: Settings, started: float) -> ProviderSync:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get_one(ProviderSync, ticket.sync_id)
        store_guide(session, row, report, settings)
        finish_sync_row(row, report, started, status="success")
    return row


@dataclass
class GuideRefreshRun:
    """What one run did, by provider name: programmes stored, or why not (messages are redacted)."""

    run_id: int
    refreshed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # could not begin: a sync running, disabled meanwhile

    @property
    def status(self) -> str:
        return "failed" if self.failed else "success"

    def counts(self) -> dict[str, Any]:
        outcomes = {name: "refreshed" for name in self.refreshed} | dict.fromkeys(self.failed, "failed")
        return {
            "refreshed": len(self.refreshed), "failed": len(self.failed), "skipped": len(self.skipped),
            "programmes": sum(self.refreshed.values()), "providers": outcomes | dict.fromkeys(self.skipped, "skipped"),
        }  # fmt: skip

    def error(self) -> str | None:
        problems = [f"{name}: {why}" for name, why in self.failed.items()]
        return "; ".join(problems) if problems else None


async def run_guide_refresh(
    engine: Engine,
    settings: Settings,
    provider_ids: Sequence[int],
    *,
    trigger: str = "manual",
    http: httpx.AsyncClient | None = None,
) -> GuideRefreshRun:
    """Refresh these providers' guides one after the other (a guide can be large), logged as one job run."""
    run = GuideRefreshRun(start_run(engine, JOB, trigger=trigger))
    client = http or provider_client(settings)
    try:
        with Session(engine) as session:
            names = dict(session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))).all())
        for provider_id in provider_ids:
            await _refresh_one(engine, settings, client, names.get(provider_id, str(provider_id)), provider_id, run)
    except Exception as exc:
        log.exception("guide refresh run %s failed", run.run_id)
        finish_run(engine, run.run_id, status="failed", counts=run.counts(), error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if http is None:
            await client.aclose()
    finish_run(engine, run.run_id, status=run.status, counts=run.counts(), error=run.error())
    return run


async def _refresh_one(
    engine: Engine, settings: Settings, client: httpx.AsyncClient, name: str, provider_id: int, run: GuideRefreshRun
) -> None:
    try:
        row = await refresh_guide(engine, provider_id, settings=settings, http=client)
    except M3UStrmError as exc:
        run.skipped[name] = exc.message
        return
    if row.status == "success":
        run.refreshed[name] = row.epg_programmes
    else:
        run.failed[name] = row.error_message or row.error_kind or "failed"
