"""``m3u-strm check`` and ``m3u-strm jobs``: run health checks now, and read the job-run log."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from m3u_strm.cli.common import cli_errors, console, db_session, err_console, print_json, ready_engine
from m3u_strm.config import get_settings
from m3u_strm.db.models import Stream
from m3u_strm.ingest.providers import get_provider
from m3u_strm.monitor.quality import probe
from m3u_strm.monitor.sampling import SamplingRun, probe_and_record, run_quality_sampling
from m3u_strm.monitor.service import CheckScope, run_health_check, select_targets
from m3u_strm.tasks.runs import recent_runs


@cli_errors
def check_command(
    provider: Annotated[str | None, typer.Option(help="Only this provider (name or id)")] = None,
    channel: Annotated[int | None, typer.Option(help="Only this channel's streams")] = None,
    stream: Annotated[list[int] | None, typer.Option(help="Only these stream ids (repeatable)")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="Skip streams marked down")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Then probe and decode the alive streams (black, frozen...)")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check stream health now; prints a summary by outcome (--deep adds quality probes of the alive streams)."""
    engine = ready_engine()
    provider_id = None
    if provider is not None:
        with db_session() as session:
            provider_id = get_provider(session, provider).id
    scope = CheckScope(provider_id, channel, tuple(stream or ()), include_inactive=not active_only)
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:  # fmt: skip
        task = bar.add_task("check", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        run = asyncio.run(run_health_check(engine, get_settings(), scope, progress=tick))
    sampled = asyncio.run(_deep_probes(engine, scope)) if deep else None
    if as_json:
        print_json({"run_id": run.run_id, "status": run.status, **run.counts(),
                    "deep": sampled.counts() if sampled else None})  # fmt: skip
        return
    if sampled is not None:
        console.print(f"Deep probes: {sampled.probed} streams, {sampled.outcomes}")
    table = Table("outcome", "streams", title=f"Health check run {run.run_id}: {run.checked} streams")
    for outcome, count in sorted(run.summary.outcomes.items(), key=lambda item: -item[1]):
        table.add_row(outcome, str(count))
    console.print(table)
    console.print(f"{run.summary.deactivated} deactivated, {run.summary.reactivated} reactivated.")


async def _deep_probes(engine: Engine, scope: CheckScope) -> SamplingRun:
    with db_session() as session:
        targets, _ = select_targets(session, scope)
        alive = tuple(t.stream_id for t in targets if session.get_one(Stream, t.stream_id).last_outcome == "alive")
    return await run_quality_sampling(engine, get_settings(), stream_ids=alive, budget=len(alive) or 1, deep=True)


@cli_errors
def probe_command(
    target: Annotated[str, typer.Argument(help="A stream id (the result is recorded) or a URL (nothing stored)")],
    deep: Annotated[bool, typer.Option("--deep", help="Decode a few seconds: black, frozen, silent, placeholder")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure a stream's real quality with PyAV: codec, size, fps, bitrate (and with --deep, broken pictures)."""
    settings = get_settings()
    if target.isdigit():
        result, flags = probe_and_record(ready_engine(), int(target), deep=deep, settings=settings)
    else:
        result = probe(target, timeout=settings.health_timeout_seconds, deep=deep)
        flags = list(result.flags)
    facts = {"outcome": result.outcome, "container": result.container, "video_codec": result.video_codec,
             "width": result.width, "height": result.height, "fps": result.fps, "bitrate_kbps": result.bitrate_kbps,
             "audio_codec": result.audio_codec, "audio_channels": result.audio_channels, "tier": result.tier,
             "score": result.score, "flags": flags, "error": result.error, "elapsed_ms": result.elapsed_ms}  # fmt: skip
    if as_json:
        print_json(facts)
        return
    table = Table("fact", "value", title="Probe")
    for name, value in facts.items():
        if value not in (None, [], ""):
            table.add_row(name, str(value))
    console.print(table)
    if result.outcome == "failed":
        raise typer.Exit(1)


@cli_errors
def jobs_command(
    job: Annotated[str | None, typer.Option(help="Only this job, e.g. health_check")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recent job runs: what ran, when, how it ended."""
    with db_session() as session:
        runs = [
            {"id": r.id, "job": r.job, "trigger": r.trigger, "status": r.status, "started_at": r.started_at,
             "finished_at": r.finished_at, "counts": r.counts, "error": r.error}
            for r in recent_runs(session, job=job, limit=limit)
        ]  # fmt: skip
    if as_json:
        print_json(runs)
        return
    table = Table("id", "job", "trigger", "status", "started", "finished", "counts")
    for r in runs:
        finished = f"{r['finished_at']:%H:%M:%S}" if r["finished_at"] else ""
        table.add_row(str(r["id"]), str(r["job"]), str(r["trigger"]), str(r["status"]),
                      f"{r['started_at']:%Y-%m-%d %H:%M:%S}", finished, str(r["counts"]))  # fmt: skip
    console.print(table)
