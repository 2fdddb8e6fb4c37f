"""The in-process scheduler: which providers are due, that syncs run when due and not before, and that no job can
overlap itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from m3u_strm.accounts.users import create_user
from m3u_strm.config import Settings
from m3u_strm.db.models import JobRun, Provider, ProviderSync
from m3u_strm.tasks.scheduler import build_scheduler, due_providers, sync_due_providers
from tests.catalogue_helpers import Line, add_provider, write_playlist


def _syncs(engine: Engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        return [(r.provider_id, r.trigger) for r in session.scalars(select(ProviderSync).order_by(ProviderSync.id))]


def test_providers_are_synced_when_due_and_not_before(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path / "p.m3u", [Line("One", "http://h.example/1.ts")])
    fresh, stale = add_provider(engine, "fresh", playlist), add_provider(engine, "stale", playlist)
    off = add_provider(engine, "off", playlist)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.execute(update(Provider).where(Provider.id == fresh).values(last_sync_at=now - timedelta(minutes=5)))
        session.execute(update(Provider).where(Provider.id == stale).values(last_sync_at=now - timedelta(days=1)))
        session.execute(update(Provider).where(Provider.id == off).values(enabled=False))
    with Session(engine) as session:
        assert due_providers(session, now) == [stale]

    async def tick() -> int:
        return await sync_due_providers(engine, settings)

    assert anyio.run(tick) == 1
    assert _syncs(engine) == [(stale, "schedule")]
    assert anyio.run(tick) == 0  # just synced: not due again


def test_never_synced_providers_are_due(engine: Engine, tmp_path: Path) -> None:
    new = add_provider(engine, "new", write_playlist(tmp_path / "p.m3u", [Line("One", "http://h.example/1.ts")]))
    with Session(engine) as session:
        assert due_providers(session, datetime.now(UTC)) == [new]


def test_scheduler_jobs_never_overlap_themselves(engine: Engine, settings: Settings) -> None:
    scheduler = build_scheduler(engine, settings.model_copy(update={"health_interval_minutes": 30}))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "sync_due_providers", "check_active_streams", "retry_inactive_streams", "sample_quality", "refresh_guides",
    }  # fmt: skip
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    assert jobs["check_active_streams"].trigger.interval == timedelta(minutes=30)
    assert jobs["refresh_guides"].trigger.interval == timedelta(hours=1)  # an hourly look for guides gone stale


def test_a_scheduled_sync_that_changed_something_regenerates_the_strm_tree(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "alice", "alice password 123", role="admin")
    lines = [Line("The Matrix (1999)", "http://h.example/movie/u/p/1.mkv"), Line("One", "http://h.example/1.ts")]
    playlist = write_playlist(tmp_path / "p.m3u", lines)
    provider = add_provider(engine, "p", playlist)
    auto = settings.model_copy(update={"strm_auto_user": "alice", "strm_dir": tmp_path / "tree"})

    def tick() -> None:
        async def run() -> int:
            return await sync_due_providers(engine, auto)

        anyio.run(run)
        with Session(engine) as session, session.begin():  # due again at the next tick
            session.execute(update(Provider).where(Provider.id == provider).values(last_sync_at=None))

    tick()
    movie = tmp_path / "tree" / "Movies" / "The Matrix (1999)" / "The Matrix (1999).strm"
    assert "/play/" in movie.read_text() and "/movie/" in movie.read_text()
    tick()  # nothing changed: no regeneration
    with Session(engine) as session:
        runs = session.scalars(select(JobRun).where(JobRun.job == "strm_generate")).all()
    assert [(r.status, r.counts["parts"]["movies"]["created"]) for r in runs] == [("success", 1)]
