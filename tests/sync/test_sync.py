"""Provider sync end to end: fake provider on loopback → parser → real database, and its performance log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import EpgProgramme, Provider, ProviderSync, Stream, VodEpisode
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.errors import SyncAlreadyRunningError
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import begin_sync, run_sync, sync_provider
from tests.conftest import SHARED_DATA
from tests.sync.conftest import PROVIDER_PASSWORD, PROVIDER_USERNAME, catalogue_state

pytestmark = pytest.mark.anyio


def add_provider(engine: Engine, **spec: object) -> int:
    with Session(engine) as session, session.begin():
        return create_provider(session, ProviderSpec(**spec)).id  # type: ignore[arg-type]


def xtream_provider(engine: Engine, fake: FakeProviderServer, **extra: object) -> int:
    return add_provider(
        engine, name="panel", kind="xtream", url=fake.base_url, username=PROVIDER_USERNAME,
        password=PROVIDER_PASSWORD, **extra,
    )  # fmt: skip


async def test_xtream_sync_stores_live_vod_series_guide_and_account(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = xtream_provider(engine, fake)
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "success", row.error_message
    assert (row.streams_added, row.movies_added, row.series_added) == (120, 30, 6)
    assert row.episodes_added == 24
    assert row.epg_programmes > 0
    assert row.entries_seen >= 120 + 30 + 6
    assert row.bytes_downloaded > 0
    assert row.http_status == 200
    assert row.duration_ms is not None and row.duration_ms >= 0
    assert row.freshness_hours is None  # first success: nothing to be fresh against
    with Session(engine) as session:
        provider = session.get_one(Provider, provider_id)
        assert provider.last_sync_status == "success"
        assert provider.account_status == "Active"
        assert provider.max_connections == 2
        assert provider.account_expires_at is not None
        assert session.scalar(select(func.count()).select_from(Stream)) == 120
        assert session.scalar(select(func.count()).select_from(VodEpisode)) == 24


async def test_unchanged_resync_changes_nothing_and_keeps_ids(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = xtream_provider(engine, fake)
    await sync_provider(engine, provider_id, settings=settings)
    before = catalogue_state(engine)
    again = await sync_provider(engine, provider_id, settings=settings)
    assert again.status == "success"
    changes = [
        getattr(again, f"{k}_{w}")
        for k in ("streams", "movies", "series", "episodes")
        for w in ("added", "removed", "updated")
    ]
    assert changes == [0] * 12
    assert catalogue_state(engine) == before
    assert again.freshness_hours is not None and again.freshness_hours >= 0


async def test_m3u_sync_sorts_entries_into_streams_movies_and_episodes(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = add_provider(engine, name="m3u", kind="m3u", url=fake.m3u_url)
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "success", row.error_message
    assert row.streams_added == 120
    assert row.movies_added == 30
    assert row.episodes_added == 24
    assert row.series_added == 6


async def test_real_iptv_org_file_reimport_is_idempotent(engine: Engine, settings: Settings) -> None:
    path = SHARED_DATA / "real_m3u" / "free-tv_2026-08-22" / "playlist.m3u8"
    provider_id = add_provider(engine, name="freetv", kind="m3u", url=str(path))
    first = await sync_provider(engine, provider_id, settings=settings)
    assert first.status == "success", first.error_message
    assert first.skipped.get("not_a_url") == 9
    assert first.skipped.get("duplicate_streams", 0) > 0  # 18 duplicate URLs in Free-TV
    before = catalogue_state(engine)
    second = await sync_provider(engine, provider_id, settings=settings)
    assert (second.streams_added, second.streams_updated, second.streams_removed) == (0, 0, 0)
    assert catalogue_state(engine) == before


async def test_changed_catalogue_counts_added_removed_updated_and_soft_deletes(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    playlist = tmp_path / "list.m3u"
    entries = {
        n: f'#EXTINF:-1 tvg-id="c{n}" group-title="G",Channel {n}\nhttp://cdn.example/{n}.ts\n' for n in range(10)
    }
    playlist.write_text("#EXTM3U\n" + "".join(entries.values()))
    provider_id = add_provider(engine, name="local", kind="m3u", url=str(playlist))
    await sync_provider(engine, provider_id, settings=settings)
    with Session(engine) as session:
        ids = dict(session.execute(select(Stream.tvg_id, Stream.id)).all())
    entries.pop(0)  # removed
    entries[1] = entries[1].replace('group-title="G"', 'group-title="News"')  # updated
    entries[10] = '#EXTINF:-1 tvg-id="c10",Channel 10\nhttp://cdn.example/10.ts\n'  # added
    playlist.write_text("#EXTM3U\n" + "".join(entries.values()))
    row = await sync_provider(engine, provider_id, settings=settings)
    assert (row.streams_added, row.streams_removed, row.streams_updated) == (1, 1, 1)
    with Session(engine) as session:
        gone = session.scalars(select(Stream).where(Stream.tvg_id == "c0")).one()
        assert gone.removed_at is not None and gone.id == ids["c0"]  # kept for history
        assert session.scalars(select(Stream.id).where(Stream.tvg_id == "c1")).one() == ids["c1"]
    playlist.write_text(
        "#EXTM3U\n"
        + "".join(entries.values())
        + '#EXTINF:-1 tvg-id="c0" group-title="G",Channel 0\nhttp://cdn.example/0.ts\n'
    )
    back = await sync_provider(engine, provider_id, settings=settings)
    assert back.streams_added == 1
    with Session(engine) as session:
        revived = session.scalars(select(Stream).where(Stream.tvg_id == "c0")).one()
        assert revived.removed_at is None and revived.id == ids["c0"]


async def test_second_sync_of_a_provider_is_refused_while_one_runs(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,One\nhttp://cdn.example/1.ts\n")
    provider_id = add_provider(engine, name="local", kind="m3u", url=str(playlist))
    ticket = begin_sync(engine, provider_id)
    with pytest.raises(SyncAlreadyRunningError, match="already running"):
        begin_sync(engine, provider_id)
    row = await run_sync(engine, ticket, settings=settings)
    assert row.status == "success"
    assert (await sync_provider(engine, provider_id, settings=settings)).status == "success"  # lock released


async def test_guide_programmes_are_stored_in_utc(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text('#EXTM3U\n#EXTINF:-1 tvg-id="one.uk",One\nhttp://cdn.example/1.ts\n')
    guide = tmp_path / "guide.xml"
    guide.write_text(
        '<tv><channel id="one.uk"><display-name>One</display-name></channel>'
        '<programme channel="one.uk" start="20260101120000 +0100" stop="20260101130000 +0100">'
        "<title>Noon</title></programme>"
        "</tv>"
    )
    provider_id = add_provider(engine, name="local", kind="m3u", url=str(playlist), epg_url=str(guide))
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.epg_programmes == 1 and row.epg_channels == 1
    with Session(engine) as session:
        programme = session.scalars(select(EpgProgramme)).one()
        assert programme.start.isoformat() == "2026-01-01T11:00:00+00:00"


async def test_broken_guide_keeps_catalogue_sync_and_old_guide(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text('#EXTM3U\n#EXTINF:-1 tvg-id="one.uk",One\nhttp://cdn.example/1.ts\n')
    guide = tmp_path / "guide.xml"
    guide.write_text('<tv><programme channel="one.uk" start="20260101120000 +0000"><title>A</title></programme></tv>')
    provider_id = add_provider(engine, name="local", kind="m3u", url=str(playlist), epg_url=str(guide))
    await sync_provider(engine, provider_id, settings=settings)
    guide.write_text("<ProgramGuide><Item/></ProgramGuide>")
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "success"
    assert any("Guide not updated" in w and "XMLTV" in w for w in row.warnings)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(EpgProgramme)) == 1


async def test_sync_log_rows_accumulate_per_attempt(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = xtream_provider(engine, fake)
    await sync_provider(engine, provider_id, settings=settings)
    fake.faults.status_code = 503
    await sync_provider(engine, provider_id, settings=settings)
    with Session(engine) as session:
        statuses = list(session.scalars(select(ProviderSync.status).order_by(ProviderSync.id)))
    assert statuses == ["success", "failed"]
