"""Guide-only refresh between catalogue syncs, against the fake provider: stale guides are fetched again, fresh ones
left alone, a failure keeps the old guide and is logged, and the scheduled job writes its run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from m3u_strm.analytics.provider_performance import provider_performance
from m3u_strm.config import Settings
from m3u_strm.db.models import EpgProgramme, JobRun, Provider, ProviderSync
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.errors import InputError, SyncAlreadyRunningError
from m3u_strm.ingest.guide_refresh import (
    GUIDE_TRIGGER,
    JOB,
    guide_fetched_at,
    refresh_guide,
    run_guide_refresh,
    stale_guides,
)
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import begin_sync, release_sync, sync_provider
from m3u_strm.tasks.scheduler import due_providers, refresh_guides
from tests.sync.conftest import PROVIDER_PASSWORD, PROVIDER_USERNAME

pytestmark = pytest.mark.anyio
DAY = timedelta(hours=24)


@pytest.fixture
def panel(fake: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The session's fake provider; a test may swap its catalogue (put back afterwards)."""
    catalogue = fake.catalogue
    yield fake
    fake.catalogue = catalogue


def _add(engine: Engine, **spec: Any) -> int:
    with Session(engine) as session, session.begin():
        return create_provider(session, ProviderSpec(**spec)).id


def _xtream(engine: Engine, fake: FakeProviderServer, name: str = "panel") -> int:
    return _add(engine, name=name, kind="xtream", url=fake.base_url, username=PROVIDER_USERNAME,
                password=PROVIDER_PASSWORD)  # fmt: skip


async def _synced(engine: Engine, settings: Settings, provider_id: int, *, hours_ago: float = 0) -> ProviderSync:
    """Sync the provider, then pretend that sync (and its guide) is ``hours_ago`` old."""
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "success" and row.epg_programmes > 0, row.error_message
    then = datetime.now(UTC) - timedelta(hours=hours_ago)
    with Session(engine) as session, session.begin():
        session.execute(update(ProviderSync).where(ProviderSync.id == row.id).values(started_at=then, finished_at=then))
        session.execute(update(Provider).where(Provider.id == provider_id).values(last_sync_at=then))
    return row


def _programmes(engine: Engine) -> list[tuple[object, ...]]:
    with Session(engine) as session:
        rows = session.scalars(select(EpgProgramme).order_by(EpgProgramme.id))
        return [(p.id, p.epg_channel_id, p.start, p.title) for p in rows]


def _rows(engine: Engine, provider_id: int) -> list[ProviderSync]:
    with Session(engine) as session:
        query = select(ProviderSync).where(ProviderSync.provider_id == provider_id).order_by(ProviderSync.id)
        return list(session.scalars(query))


def _job_runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.scalars(select(JobRun).where(JobRun.job == JOB).order_by(JobRun.id)))


def _stale(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return stale_guides(session, datetime.now(UTC), DAY)


async def test_stale_guide_is_fetched_alone_and_logged_as_guide_only(
    engine: Engine, settings: Settings, panel: FakeProviderServer
) -> None:
    provider_id = _xtream(engine, panel)
    await _synced(engine, settings, provider_id, hours_ago=25)
    assert _stale(engine) == [provider_id]
    panel.faults.reset()  # count only what the refresh asks for
    assert await refresh_guides(engine, settings) == 1
    assert panel.faults.hits["/xmltv.php"] == 1 and panel.faults.hits["/player_api.php"] == 0  # the guide, nothing else
    row = _rows(engine, provider_id)[-1]
    assert (row.trigger, row.status, row.streams_added, row.snapshot_hash) == (GUIDE_TRIGGER, "success", 0, None)
    assert row.epg_programmes == len(_programmes(engine)) > 0 and row.bytes_downloaded > 0
    assert _stale(engine) == []  # fresh now
    with Session(engine) as session:
        provider = session.get_one(Provider, provider_id)
        assert provider.sync_lock is None
        assert due_providers(session, datetime.now(UTC)) == [provider_id]  # a refresh is no catalogue sync
        assert datetime.now(UTC) - guide_fetched_at(session)[provider_id] < timedelta(minutes=5)
    [run] = _job_runs(engine)
    assert (run.trigger, run.status, run.error) == ("schedule", "success", None)
    assert run.counts == {"refreshed": 1, "failed": 0, "skipped": 0, "programmes": row.epg_programmes,
                          "providers": {"panel": "refreshed"}}  # fmt: skip
    with Session(engine) as session:  # the provider performance log counts catalogue syncs, not guide refreshes
        [performance] = provider_performance(session, days=30)
    assert performance["sync_count"] == len(_rows(engine, provider_id)) - 1


async def test_refresh_replaces_the_guide_with_the_providers_new_one(
    engine: Engine, settings: Settings, panel: FakeProviderServer
) -> None:
    provider_id = _xtream(engine, panel)
    first = await _synced(engine, settings, provider_id, hours_ago=30)
    panel.catalogue = build_catalogue(live=4, movies=0, series=0, seed=9)  # a guide of fewer channels
    row = await refresh_guide(engine, provider_id, settings=settings)
    assert row.status == "success", row.error_message
    assert 0 < row.epg_programmes < first.epg_programmes
    assert len(_programmes(engine)) == row.epg_programmes  # the old channels' programmes are gone


async def test_fresh_guides_are_left_alone(engine: Engine, settings: Settings, panel: FakeProviderServer) -> None:
    provider_id = _xtream(engine, panel)
    await _synced(engine, settings, provider_id, hours_ago=23)
    panel.faults.reset()
    assert await refresh_guides(engine, settings) == 0
    assert panel.faults.hits["/xmltv.php"] == 0 and _job_runs(engine) == []
    shorter = settings.model_copy(update={"guide_refresh_hours": 12})
    assert await refresh_guides(engine, shorter) == 1  # the setting decides what is old


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"status_code": 503}, "503"),
        ({"html_200": True}, "XMLTV"),
        ({"truncate_after_bytes": 300}, "Guide not updated"),
        ({"empty_guide": True}, "no programmes"),
    ],
    ids=["5xx", "html-page", "cut-off", "no-programmes"],
)
async def test_failed_refresh_keeps_the_old_guide_and_is_recorded(
    engine: Engine, settings: Settings, panel: FakeProviderServer, faults: dict[str, Any], error: str
) -> None:
    provider_id = _xtream(engine, panel)
    await _synced(engine, settings, provider_id, hours_ago=25)
    before = _programmes(engine)
    for name, value in faults.items():
        if name == "empty_guide":
            panel.catalogue = build_catalogue(live=0, movies=3, series=0)
        else:
            setattr(panel.faults, name, value)
    panel.faults.only_paths = {"/xmltv.php"}
    assert await refresh_guides(engine, settings) == 1
    assert _programmes(engine) == before
    row = _rows(engine, provider_id)[-1]
    assert (row.trigger, row.status, row.error_count) == (GUIDE_TRIGGER, "failed", 1)
    assert row.error_message is not None and error in row.error_message
    [run] = _job_runs(engine)
    assert run.status == "failed" and run.error is not None and run.error.startswith("panel: ")
    assert run.counts["providers"] == {"panel": "failed"}
    for text in (row.error_message, run.error):
        assert PROVIDER_PASSWORD not in text and PROVIDER_USERNAME not in text
    with Session(engine) as session:
        provider = session.get_one(Provider, provider_id)
        assert (provider.last_sync_status, provider.sync_lock) == ("success", None)  # not a failed catalogue sync
    assert _stale(engine) == [provider_id]  # tried again at the next check


async def test_a_provider_whose_sync_runs_is_not_refreshed(
    engine: Engine, settings: Settings, panel: FakeProviderServer
) -> None:
    provider_id = _xtream(engine, panel)
    await _synced(engine, settings, provider_id, hours_ago=25)
    ticket = begin_sync(engine, provider_id)
    try:
        assert _stale(engine) == []
        with pytest.raises(SyncAlreadyRunningError):
            await refresh_guide(engine, provider_id, settings=settings)
        run = await run_guide_refresh(engine, settings, [provider_id])  # asked for all the same: skipped, said so
        assert run.skipped == {"panel": f"A sync of provider {'panel'!r} is already running."}
    finally:
        release_sync(engine, ticket)
    assert [r.trigger for r in _rows(engine, provider_id)] == ["manual", "manual"]  # no guide row was opened
    assert _stale(engine) == [provider_id]


async def test_only_enabled_synced_providers_with_a_guide_source_are_due(
    engine: Engine, settings: Settings, panel: FakeProviderServer, tmp_path: Path
) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text('#EXTM3U\n#EXTINF:-1 tvg-id="one.uk",One\nhttp://cdn.example/1.ts\n')
    no_guide = _add(engine, name="no-guide", kind="m3u", url=str(playlist))
    with_guide = _add(engine, name="m3u-epg", kind="m3u", url=str(playlist), epg_url=panel.xmltv_url)
    never_synced = _xtream(engine, panel, name="new")
    disabled = _xtream(engine, panel, name="off")
    for provider_id in (no_guide, with_guide, disabled):
        await sync_provider(engine, provider_id, settings=settings)
    with Session(engine) as session, session.begin():
        session.execute(update(Provider).where(Provider.id == disabled).values(enabled=False))
        session.execute(update(ProviderSync).values(finished_at=datetime.now(UTC) - 2 * DAY))
    assert _stale(engine) == [with_guide]
    assert never_synced not in _stale(engine)
    with pytest.raises(InputError, match="no guide source"):
        await refresh_guide(engine, no_guide, settings=settings)
    row = await refresh_guide(engine, with_guide, settings=settings)
    assert row.status == "success" and row.epg_programmes > 0  # an M3U provider's epg_url


async def test_a_sync_whose_guide_has_no_programmes_keeps_the_stored_guide(
    engine: Engine, settings: Settings, panel: FakeProviderServer
) -> None:
    provider_id = _xtream(engine, panel)
    await _synced(engine, settings, provider_id)
    before = _programmes(engine)
    panel.catalogue = build_catalogue(live=0, movies=5, series=0)  # the guide lists nothing now
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "success" and row.epg_programmes == 0
    assert any("Guide not updated" in w and "no programmes" in w for w in row.warnings)
    assert _programmes(engine) == before
