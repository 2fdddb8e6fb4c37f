"""Quality sampling: probe streams with PyAV, keep each measurement in ``quality_samples``, and put the measured
facts on the stream, where ranking reads them (a probed height and bitrate outrank what a name promises).

A run probes a budget of streams, a few at a time so that probes never take many of a provider's connection slots.
Which ones (:func:`due_streams`): half the budget goes to the streams of the channels watched most over the last
:data:`WATCHED_DAYS` days (views, zaps left out) that were not probed in the last :data:`WATCHED_FRESH`; the rest to
the longest-unsampled streams. With a :class:`~m3u_strm.playback.connections.ConnectionLedger` (the server's), each
probe leases one of its provider's connections first; a provider with none free is left for the next run. A probe
whose score drops clearly below the stream's own rolling baseline (the median of its last probes) is flagged
``quality_degraded``; the alerting issue notifies on it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

import anyio
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import remerge
from m3u_strm.config import Settings
from m3u_strm.db.models import Provider, QualitySample, Stream, ViewingSession
from m3u_strm.errors import NotFoundError
from m3u_strm.monitor.quality import ProbeResult, probe
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.tasks.runs import finish_run, start_run

__all__ = ["SamplingRun", "due_streams", "probe_and_record", "record_probe", "run_quality_sampling"]

JOB = "quality_sampling"
WATCHED_DAYS = 7
WATCHED_FRESH = timedelta(hours=6)
BASELINE_SAMPLES = 10
DEGRADED_RATIO = 0.8  # a score below 80 % of the baseline is "clearly below"


@dataclass
class SamplingRun:
    run_id: int
    probed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    degraded: int = 0
    skipped_busy: int = 0  # the provider had no connection free

    def counts(self) -> dict[str, object]:
        return {
            "probed": self.probed, "outcomes": self.outcomes, "degraded": self.degraded,
            "skipped_busy": self.skipped_busy,
        }  # fmt: skip


def _baseline(session: Session, stream_id: int) -> float | None:
    scores = session.scalars(
        select(QualitySample.score)
        .where(QualitySample.stream_id == stream_id, QualitySample.outcome == "ok", QualitySample.score.is_not(None))
        .order_by(QualitySample.sampled_at.desc(), QualitySample.id.desc())
        .limit(BASELINE_SAMPLES)
    )
    values = [score for score in scores if score is not None]
    return statistics.median(values) if len(values) >= 3 else None


def record_probe(
    session: Session, stream_id: int, result: ProbeResult, *, deep: bool, now: datetime, run_id: int | None = None
) -> QualitySample:
    """Store one probe and update the stream's measured facts; returns the sample."""
    flags = list(result.flags)
    baseline = _baseline(session, stream_id)
    if result.outcome == "ok" and baseline and result.score is not None and result.score < baseline * DEGRADED_RATIO:
        flags.append("quality_degraded")
    sample = QualitySample(
        stream_id=stream_id, run_id=run_id, sampled_at=now, method="deep" if deep else "probe",
        outcome=result.outcome, resolution=result.tier, width=result.width, height=result.height,
        bitrate_kbps=result.bitrate_kbps, codec=result.video_codec, audio_codec=result.audio_codec,
        fps=result.fps, score=result.score, flags=flags, error=result.error,
    )  # fmt: skip
    session.add(sample)
    stream = session.get_one(Stream, stream_id)
    stream.last_probe_at, stream.probe_flags = now, flags
    if result.outcome != "failed":
        stream.width, stream.height, stream.fps = result.width, result.height, result.fps
        stream.bitrate_kbps, stream.codec = result.bitrate_kbps, result.video_codec
    return sample


@dataclass(frozen=True, slots=True)
class _Source:
    url: str  # secret
    headers: dict[str, str]
    provider_id: int
    max_connections: int | None


def _stream_source(session: Session, stream_id: int) -> _Source:
    row = session.execute(
        select(Stream.url, Stream.user_agent, Provider.user_agent, Provider.id, Provider.max_connections)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.id == stream_id, Stream.removed_at.is_(None))
    ).first()
    if row is None:
        raise NotFoundError(f"There is no stream {stream_id} in the catalogue.")
    url, stream_agent, provider_agent, provider_id, max_connections = row
    agent = stream_agent or provider_agent
    return _Source(url, {"User-Agent": agent} if agent else {}, provider_id, max_connections)


@overload
def probe_and_record(
    engine: Engine, stream_id: int, *, deep: bool, settings: Settings, run_id: int | None = None, ledger: None = None
) -> tuple[ProbeResult, list[str]]: ...


@overload
def probe_and_record(
    engine: Engine, stream_id: int, *, deep: bool, settings: Settings, run_id: int | None, ledger: ConnectionLedger
) -> tuple[ProbeResult, list[str]] | None: ...


def probe_and_record(
    engine: Engine,
    stream_id: int,
    *,
    deep: bool,
    settings: Settings,
    run_id: int | None = None,
    ledger: ConnectionLedger | None = None,
) -> tuple[ProbeResult, list[str]] | None:
    """Probe one stored stream now (blocking) and record it; returns the result and the flags stored, or ``None``
    when the ledger has no connection of its provider free (nothing probed, nothing stored)."""
    with Session(engine) as session:
        source = _stream_source(session, stream_id)
    lease = ledger.try_acquire(source.provider_id, source.max_connections, "probe") if ledger else None
    if ledger is not None and lease is None:
        return None
    try:
        result = probe(source.url, timeout=settings.health_timeout_seconds, deep=deep, headers=source.headers or None)
    finally:
        if lease is not None:
            lease.release()
    with Session(engine) as session, session.begin():
        sample = record_probe(session, stream_id, result, deep=deep, now=datetime.now(UTC), run_id=run_id)
        return result, list(sample.flags)


def due_streams(session: Session, budget: int, stream_ids: tuple[int, ...] = (), *, now: datetime) -> list[int]:
    """The streams to probe, most watched first, then longest unsampled; see the module rules."""
    base = (
        select(Stream.id)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.removed_at.is_(None), Stream.is_active.is_(True), Provider.enabled.is_(True))
    )
    if stream_ids:
        base = base.where(Stream.id.in_(stream_ids))
    views = (
        select(ViewingSession.content_id.label("channel_id"), func.count().label("views"))
        .where(
            ViewingSession.content_kind == "channel",
            ViewingSession.started_at >= now - timedelta(days=WATCHED_DAYS),
            ViewingSession.is_zap.is_(False),
        )
        .group_by(ViewingSession.content_id)
        .subquery()
    )
    watched = list(
        session.scalars(
            base.join(views, views.c.channel_id == Stream.channel_id)
            .where(or_(Stream.last_probe_at.is_(None), Stream.last_probe_at < now - WATCHED_FRESH))
            .order_by(views.c.views.desc(), Stream.rank.is_(None), Stream.rank, Stream.id)
            .limit(budget // 2)
        )
    )
    rest = base.order_by(Stream.last_probe_at.is_not(None), Stream.last_probe_at, Stream.id).limit(budget)
    if watched:
        rest = rest.where(Stream.id.not_in(watched))
    return watched + list(session.scalars(rest.limit(budget - len(watched))))


async def run_quality_sampling(
    engine: Engine,
    settings: Settings,
    *,
    budget: int | None = None,
    stream_ids: tuple[int, ...] = (),
    deep: bool = False,
    trigger: str = "manual",
    progress: Callable[[int, int], None] | None = None,
    ledger: ConnectionLedger | None = None,
) -> SamplingRun:
    """Probe up to ``budget`` active streams (:func:`due_streams`), record them, and re-rank the channels."""
    run = SamplingRun(start_run(engine, JOB, trigger=trigger))
    with Session(engine) as session:
        due = due_streams(session, budget or settings.quality_budget, stream_ids, now=datetime.now(UTC))
    limiter = anyio.CapacityLimiter(settings.quality_concurrency)

    def _probe(stream_id: int) -> tuple[ProbeResult, list[str]] | None:
        if ledger is None:
            return probe_and_record(engine, stream_id, deep=deep, settings=settings, run_id=run.run_id)
        return probe_and_record(engine, stream_id, deep=deep, settings=settings, run_id=run.run_id, ledger=ledger)

    async def one(stream_id: int) -> None:
        probed = await anyio.to_thread.run_sync(lambda: _probe(stream_id), limiter=limiter)
        if probed is None:
            run.skipped_busy += 1
            return
        result, flags = probed
        run.probed += 1
        run.outcomes[result.outcome] = run.outcomes.get(result.outcome, 0) + 1
        run.degraded += "quality_degraded" in flags
        if progress:
            progress(run.probed, len(due))

    try:
        async with anyio.create_task_group() as group:
            for stream_id in due:
                group.start_soon(one, stream_id)
        await anyio.to_thread.run_sync(lambda: remerge(engine, threshold=settings.merge_fuzzy_threshold))
    except Exception as exc:
        finish_run(engine, run.run_id, status="failed", counts=run.counts(), error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(engine, run.run_id, status="success", counts=run.counts())
    return run
