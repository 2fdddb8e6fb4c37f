"""Quality sampling: probe streams with PyAV, keep each measurement in ``quality_samples``, and put the measured
facts on the stream, where ranking reads them (a probed height and bitrate outrank what a name promises).

A run probes a budget of streams, the longest-unsampled first (the playback issue adds "most watched first"), a
few at a time so that probes never take many of a provider's connection slots. A probe whose score drops clearly
below the stream's own rolling baseline (the median of its last probes) is flagged ``quality_degraded``; the
alerting issue notifies on it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import remerge
from m3u_strm.config import Settings
from m3u_strm.db.models import Provider, QualitySample, Stream
from m3u_strm.errors import NotFoundError
from m3u_strm.monitor.quality import ProbeResult, probe
from m3u_strm.tasks.runs import finish_run, start_run

__all__ = ["SamplingRun", "probe_and_record", "record_probe", "run_quality_sampling"]

JOB = "quality_sampling"
BASELINE_SAMPLES = 10
DEGRADED_RATIO = 0.8  # a score below 80 % of the baseline is "clearly below"


@dataclass
class SamplingRun:
    run_id: int
    probed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    degraded: int = 0

    def counts(self) -> dict[str, object]:
        return {"probed": self.probed, "outcomes": self.outcomes, "degraded": self.degraded}


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


def _stream_url(session: Session, stream_id: int) -> tuple[str, dict[str, str]]:
    row = session.execute(
        select(Stream.url, Stream.user_agent, Provider.user_agent)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.id == stream_id, Stream.removed_at.is_(None))
    ).first()
    if row is None:
        raise NotFoundError(f"There is no stream {stream_id} in the catalogue.")
    url, stream_agent, provider_agent = row
    agent = stream_agent or provider_agent
    return url, ({"User-Agent": agent} if agent else {})


def probe_and_record(
    engine: Engine, stream_id: int, *, deep: bool, settings: Settings, run_id: int | None = None
) -> tuple[ProbeResult, list[str]]:
    """Probe one stored stream now (blocking) and record it; returns the result and the flags stored."""
    with Session(engine) as session:
        url, headers = _stream_url(session, stream_id)
    result = probe(url, timeout=settings.health_timeout_seconds, deep=deep, headers=headers or None)
    with Session(engine) as session, session.begin():
        sample = record_probe(session, stream_id, result, deep=deep, now=datetime.now(UTC), run_id=run_id)
        return result, list(sample.flags)


def _due_streams(session: Session, budget: int, stream_ids: tuple[int, ...]) -> list[int]:
    query = (
        select(Stream.id)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.removed_at.is_(None), Stream.is_active.is_(True), Provider.enabled.is_(True))
        .order_by(Stream.last_probe_at.is_not(None), Stream.last_probe_at, Stream.id)
        .limit(budget)
    )
    if stream_ids:
        query = query.where(Stream.id.in_(stream_ids))
    return list(session.scalars(query))


async def run_quality_sampling(
    engine: Engine,
    settings: Settings,
    *,
    budget: int | None = None,
    stream_ids: tuple[int, ...] = (),
    deep: bool = False,
    trigger: str = "manual",
    progress: Callable[[int, int], None] | None = None,
) -> SamplingRun:
    """Probe up to ``budget`` active streams (longest unsampled first), record them, and re-rank the channels."""
    run = SamplingRun(start_run(engine, JOB, trigger=trigger))
    with Session(engine) as session:
        due = _due_streams(session, budget or settings.quality_budget, stream_ids)
    limiter = anyio.CapacityLimiter(settings.quality_concurrency)

    async def one(stream_id: int) -> None:
        result, flags = await anyio.to_thread.run_sync(
            lambda: probe_and_record(engine, stream_id, deep=deep, settings=settings, run_id=run.run_id),
            limiter=limiter,
        )
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
