"""Provider sync: fetch everything, then apply it in one transaction, and log the attempt either way.

    begin_sync   take the provider's sync lock (a conditional UPDATE, so it holds across processes) and
                 open a ``provider_syncs`` row with status ``running``
    run_sync     fetch phase (network, into a disk spool; no table touched)
                 → database phase (staging tables + set-based diff, guide, provider and log row; one commit)
                 → on any failure: the log row says why, the catalogue is untouched
                 → the lock is released in every case

A fetch that yields no streams, movies or series is an :class:`EmptyCatalogueError`: an empty answer from a
provider never wipes the catalogue. Likewise a guide that cannot be parsed or holds no programme leaves the stored
guide as it was (:func:`store_guide`; the sync succeeds with a warning).

:mod:`m3u_strm.ingest.guide_refresh` fetches only the guide between syncs with the same lock, log row and guide code
(:func:`provider_source`, :func:`store_guide`, :func:`finish_sync_row`, :func:`record_sync_failure`,
:func:`release_sync`).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
import httpx
from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import merge_catalogue
from m3u_strm.config import Settings, get_settings
from m3u_strm.db.models import Provider, ProviderSync, Stream, VodEpisode, VodSeries
from m3u_strm.errors import EmptyCatalogueError, IngestError, InputError, M3UStrmError, SyncAlreadyRunningError
from m3u_strm.ingest.fetch import (
    FetchReport,
    Progress,
    ProviderSource,
    fetch_guide,
    fetch_m3u,
    fetch_xtream,
    provider_client,
)
from m3u_strm.ingest.guide import GuideCounts, replace_guide
from m3u_strm.ingest.providers import get_provider, register_provider_secrets
from m3u_strm.ingest.snapshot import DiffCounts, apply_snapshot
from m3u_strm.ingest.spool import KINDS, RowSpool
from m3u_strm.privacy.redaction import redact

log = logging.getLogger(__name__)

#: A lock older than this belongs to a process that died mid-sync; the next sync may take it over.
STALE_LOCK = timedelta(hours=2)


@dataclass(frozen=True)
class SyncTicket:
    provider_id: int
    sync_id: int
    lock: str


def begin_sync(engine: Engine, provider_ref: int | str, *, trigger: str = "manual") -> SyncTicket:
    """Take the provider's sync lock and open its log row, or raise SyncAlreadyRunningError."""
    now = datetime.now(UTC)
    lock = uuid.uuid4().hex
    with Session(engine) as session, session.begin():
        provider = get_provider(session, provider_ref)
        if not provider.enabled:
            raise InputError(f"Provider {provider.name!r} is disabled.", hint="Enable it before syncing.")
        taken = (
            session.connection()
            .execute(
                update(Provider)
                .where(
                    Provider.id == provider.id,
                    or_(Provider.sync_lock.is_(None), Provider.sync_locked_at < now - STALE_LOCK),
                )
                .values(sync_lock=lock, sync_locked_at=now)
                .execution_options(synchronize_session=False)
            )
            .rowcount
        )
        if taken != 1:
            raise SyncAlreadyRunningError(provider.name)
        row = ProviderSync(provider_id=provider.id, trigger=trigger, status="running", started_at=now)
        session.add(row)
        session.flush()
        return SyncTicket(provider.id, row.id, lock)


def provider_source(provider: Provider) -> ProviderSource:
    """What the fetch phase needs of a provider, detached from the session (its credentials registered as
    secrets)."""
    register_provider_secrets(provider)
    return ProviderSource(
        id=provider.id, name=provider.name, kind=provider.kind, url=provider.url or "",
        username=provider.username, password=provider.password, epg_url=provider.epg_url,
        user_agent=provider.user_agent, max_connections=provider.max_connections,
    )  # fmt: skip


def _source(engine: Engine, provider_id: int) -> tuple[ProviderSource, dict[str, str], datetime | None]:
    with Session(engine) as session:
        provider = session.get(Provider, provider_id)
        assert provider is not None
        source = provider_source(provider)
        known_series = dict(
            session.execute(
                select(VodSeries.item_key, VodSeries.content_hash).where(
                    VodSeries.provider_id == provider_id, VodSeries.removed_at.is_(None)
                )
            ).all()
        )
        return source, known_series, provider.last_success_at


async def run_sync(
    engine: Engine,
    ticket: SyncTicket,
    *,
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
    progress: Progress | None = None,
    merge: bool = True,
) -> ProviderSync:
    """Run a sync begun with :func:`begin_sync`; never raises for provider or input trouble (it is logged).

    When live streams changed, the channel merge runs next, in a transaction of its own: a failed merge leaves
    the synced catalogue in place (new streams simply have no channel yet, so no output shows them) and the next
    sync merges again.
    """
    settings = settings or get_settings()
    started = time.monotonic()
    report = FetchReport()
    own_client = http is None
    client = http or provider_client(settings)
    try:
        source, known_series, last_success = _source(engine, ticket.provider_id)
        with RowSpool() as spool:
            try:
                await _fetch(client, source, settings, spool, report, known_series, progress)
                if progress:
                    progress("saving", spool.total)
                row = await anyio.to_thread.run_sync(
                    _apply, engine, ticket, spool, report, settings, started, last_success
                )
            except M3UStrmError as exc:
                log.warning("sync of %s failed: %s", source.name, exc)
                return record_sync_failure(engine, ticket, report, exc, started)
            except Exception as exc:
                log.exception("sync of provider %s failed unexpectedly", ticket.provider_id)
                return record_sync_failure(engine, ticket, report, exc, started)
        if merge and (row.streams_added or row.streams_updated or row.streams_removed or _unmerged(engine)):
            if progress:
                progress("merging", spool.total)
            await anyio.to_thread.run_sync(_merge_channels, engine, settings, row)
        return row
    finally:
        release_sync(engine, ticket)
        if own_client:
            await client.aclose()


async def _fetch(
    client: httpx.AsyncClient,
    source: ProviderSource,
    settings: Settings,
    spool: RowSpool,
    report: FetchReport,
    known_series: dict[str, str],
    progress: Progress | None,
) -> None:
    if progress:
        progress("downloading", 0)
    if source.kind == "xtream":
        await fetch_xtream(client, source, settings, spool, report, known_series=known_series)
    else:
        await fetch_m3u(client, source, settings, spool, report)
    if progress:
        progress("guide", spool.total)
    await fetch_guide(client, source, settings, spool, report)
    if not (spool.counts["streams"] or spool.counts["movies"] or spool.counts["series"]):
        raise EmptyCatalogueError(
            f"The provider {source.name!r} returned an empty catalogue (no channels, movies or series).",
            hint="The stored catalogue was kept. Check the provider's account and playlist URL.",
        )


def _apply(
    engine: Engine,
    ticket: SyncTicket,
    spool: RowSpool,
    report: FetchReport,
    settings: Settings,
    started: float,
    last_success: datetime | None,
) -> ProviderSync:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get_one(ProviderSync, ticket.sync_id)
        row.snapshot_hash = spool.fingerprint()
        if row.snapshot_hash != _last_snapshot(session, ticket.provider_id):  # equal: nothing can have changed
            _apply_catalogue(session.connection(), ticket, spool, report, row, now)
        if report.guide_path is not None:
            _apply_guide(session, row, report, settings)
        provider = session.get_one(Provider, ticket.provider_id)
        _update_provider(provider, report, now, success=True)
        finish_sync_row(row, report, started, status="success")
        row.freshness_hours = (now - last_success).total_seconds() / 3600 if last_success else None
    return row


def _unmerged(engine: Engine) -> bool:
    """Live streams without a channel: left by a failed merge or by a database from before merging existed."""
    query = select(Stream.id).where(Stream.channel_id.is_(None), Stream.removed_at.is_(None)).limit(1)
    with Session(engine) as session:
        return session.scalars(query).first() is not None


def _merge_channels(engine: Engine, settings: Settings, row: ProviderSync) -> None:
    try:
        with Session(engine) as session, session.begin():
            merge_catalogue(session, threshold=settings.merge_fuzzy_threshold)
    except Exception as exc:  # the sync itself succeeded; say so, and that channels wait for the next merge
        log.exception("channel merge after the sync of provider %s failed", row.provider_id)
        warning = redact(f"Channels not merged yet ({type(exc).__name__}: {exc}); the next sync merges again.")
        with Session(engine) as session, session.begin():
            stored = session.get_one(ProviderSync, row.id)
            stored.warnings = [*stored.warnings, warning]
        row.warnings = [*row.warnings, warning]


def _last_snapshot(session: Session, provider_id: int) -> str | None:
    """The snapshot the catalogue holds now: that of the provider's last successful sync (guide-only refreshes
    take none)."""
    return session.scalars(
        select(ProviderSync.snapshot_hash)
        .where(
            ProviderSync.provider_id == provider_id,
            ProviderSync.status == "success",
            ProviderSync.snapshot_hash.is_not(None),
        )
        .order_by(ProviderSync.id.desc())
        .limit(1)
    ).first()


def _apply_catalogue(
    connection: Connection, ticket: SyncTicket, spool: RowSpool, report: FetchReport, row: ProviderSync, now: datetime
) -> None:
    for kind in KINDS:
        scope = None
        if kind == "episodes" and report.refreshed_series is not None:
            gone_series = select(VodSeries.item_key).where(
                VodSeries.provider_id == ticket.provider_id, VodSeries.removed_at.is_not(None)
            )
            scope = or_(
                VodEpisode.series_key.in_(sorted(report.refreshed_series)), VodEpisode.series_key.in_(gone_series)
            )
        counts = apply_snapshot(connection, kind, ticket.provider_id, spool.batches(kind), now=now, removal_scope=scope)
        _store_counts(row, kind, counts)


def _apply_guide(session: Session, row: ProviderSync, report: FetchReport, settings: Settings) -> None:
    """Store the guide; one that cannot be stored is a warning, never a failed sync."""
    try:
        store_guide(session, row, report, settings)
    except M3UStrmError as exc:
        report.warnings.append(f"Guide not updated: {exc}")


def store_guide(session: Session, row: ProviderSync, report: FetchReport, settings: Settings) -> GuideCounts:
    """Replace the provider's guide with the downloaded ``report.guide_path``, inside a savepoint of the caller's
    transaction, and count it in the log ``row`` (channels, programmes) and ``report`` (skipped entries).

    A guide that cannot be parsed, or that holds no programme (a panel whose EPG grabber failed still lists its
    channels), raises :class:`M3UStrmError` and leaves the stored guide as it was.
    """
    assert report.guide_path is not None
    savepoint = session.begin_nested()
    try:
        guide = replace_guide(
            session.connection(), row.provider_id, report.guide_path, source="guide",
            max_bytes=settings.max_xmltv_bytes,
        )  # fmt: skip
        if not guide.programmes:
            raise IngestError(f"The guide has no programmes ({guide.channels} channels).")
    except M3UStrmError:
        savepoint.rollback()
        raise
    savepoint.commit()
    row.epg_channels, row.epg_programmes = guide.channels, guide.programmes
    report.skipped.update({f"guide_{reason}": n for reason, n in guide.skipped.items()})
    return guide


def _store_counts(row: ProviderSync, kind: str, counts: DiffCounts) -> None:
    setattr(row, f"{kind}_added", counts.added)
    setattr(row, f"{kind}_updated", counts.updated)
    setattr(row, f"{kind}_removed", counts.removed)
    if counts.duplicates and kind != "series":  # M3U episodes repeat their series row on purpose
        row.skipped = {**row.skipped, f"duplicate_{kind}": counts.duplicates}


def _update_provider(provider: Provider, report: FetchReport, now: datetime, *, success: bool) -> None:
    provider.last_sync_at = now
    provider.last_sync_status = "success" if success else "failed"
    if success:
        provider.last_success_at = now
    account = report.account
    if account is not None:
        provider.account_status = account.status
        provider.account_expires_at = account.exp_date
        if account.max_connections:
            provider.max_connections = account.max_connections


def finish_sync_row(row: ProviderSync, report: FetchReport, started: float, *, status: str) -> None:
    """Close a ``provider_syncs`` row: status, end, duration and what the fetch reported."""
    row.status = status
    row.finished_at = datetime.now(UTC)
    row.duration_ms = int((time.monotonic() - started) * 1000)
    row.http_status = report.http_status
    row.bytes_downloaded = report.bytes_downloaded
    row.entries_seen = report.entries_seen
    row.skipped = {**row.skipped, **{reason: n for reason, n in report.skipped.items() if n}}
    row.warnings = [redact(w) for w in report.warnings[:100]]


def record_sync_failure(
    engine: Engine,
    ticket: SyncTicket,
    report: FetchReport,
    exc: BaseException,
    started: float,
    *,
    provider_status: bool = True,
) -> ProviderSync:
    """Close the log row as failed with the error; ``provider_status`` also marks the provider's last sync failed
    (not for a guide-only refresh: that is no catalogue sync)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get_one(ProviderSync, ticket.sync_id)
        finish_sync_row(row, report, started, status="failed")
        row.error_count = 1
        row.error_kind = exc.code if isinstance(exc, M3UStrmError) else type(exc).__name__
        row.error_message = str(exc) if isinstance(exc, M3UStrmError) else redact(f"Unexpected error: {exc}")
        if provider_status:
            provider = session.get_one(Provider, ticket.provider_id)
            _update_provider(provider, report, datetime.now(UTC), success=False)
    return row


def release_sync(engine: Engine, ticket: SyncTicket) -> None:
    """Give the provider's sync lock back (only if this ticket still holds it)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(Provider)
            .where(Provider.id == ticket.provider_id, Provider.sync_lock == ticket.lock)
            .values(sync_lock=None, sync_locked_at=None)
            .execution_options(synchronize_session=False)
        )


async def sync_provider(
    engine: Engine,
    provider_ref: int | str,
    *,
    trigger: str = "manual",
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
    progress: Progress | None = None,
    merge: bool = True,
) -> ProviderSync:
    """Begin and run one sync; raises only when it cannot begin (unknown provider, already running)."""
    ticket = begin_sync(engine, provider_ref, trigger=trigger)
    return await run_sync(engine, ticket, settings=settings, http=http, progress=progress, merge=merge)
