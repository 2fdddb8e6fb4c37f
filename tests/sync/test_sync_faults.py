"""Bad provider answers: each gets a clear, logged error, and the stored catalogue stays exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import Provider
from m3u_strm.demo.fake_provider import FakeProviderServer, Faults
from m3u_strm.ingest.sync import sync_provider
from tests.sync.conftest import PROVIDER_PASSWORD, PROVIDER_USERNAME, catalogue_state
from tests.sync.test_sync import add_provider, xtream_provider

pytestmark = pytest.mark.anyio


def _set(**values: object) -> Callable[[Faults], None]:
    def apply(faults: Faults) -> None:
        for name, value in values.items():
            setattr(faults, name, value)

    return apply


FAULTS = [
    ("html-200", _set(html_200=True), "HTML"),
    ("empty-200", _set(empty_200=True), "empty"),
    ("json-error-200", _set(json_error_200=True), ""),
    ("http-500", _set(status_code=500), "500"),
    ("http-503", _set(status_code=503), "503"),
    ("rate-limited-long", _set(rate_limit_retry_after=3600), "rate"),
    ("truncated-body", _set(truncate_after_bytes=2000), ""),
    ("stall-mid-body", _set(stall_after_bytes=2000), ""),
]


@pytest.mark.parametrize(("apply", "fragment"), [(f[1], f[2]) for f in FAULTS], ids=[f[0] for f in FAULTS])
async def test_m3u_fault_fails_clearly_and_keeps_catalogue(
    engine: Engine,
    settings: Settings,
    fake: FakeProviderServer,
    apply: Callable[[Faults], None],
    fragment: str,
) -> None:
    settings.fetch_timeout_seconds = 1.0
    provider_id = add_provider(engine, name="m3u", kind="m3u", url=fake.m3u_url)
    good = await sync_provider(engine, provider_id, settings=settings)
    assert good.status == "success"
    before = catalogue_state(engine)
    apply(fake.faults)
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "failed"
    assert row.error_kind and row.error_message
    assert fragment.lower() in row.error_message.lower()
    assert PROVIDER_PASSWORD not in row.error_message and PROVIDER_USERNAME not in row.error_message
    assert catalogue_state(engine) == before
    with Session(engine) as session:
        provider = session.get_one(Provider, provider_id)
        assert provider.last_sync_status == "failed"
        assert provider.sync_lock is None


@pytest.mark.parametrize(
    ("apply", "kind"),
    [
        (_set(auth_zero=True), "provider_auth_failed"),
        (_set(expired=True), "provider_auth_failed"),
        (_set(status_code=500), "provider_http_error"),
        (_set(rate_limit_retry_after=3600), "provider_rate_limited"),
    ],
    ids=["auth-zero", "expired", "http-500", "rate-limited"],
)
async def test_xtream_fault_is_classified_and_keeps_catalogue(
    engine: Engine, settings: Settings, fake: FakeProviderServer, apply: Callable[[Faults], None], kind: str
) -> None:
    provider_id = xtream_provider(engine, fake)
    assert (await sync_provider(engine, provider_id, settings=settings)).status == "success"
    before = catalogue_state(engine)
    apply(fake.faults)
    row = await sync_provider(engine, provider_id, settings=settings)
    assert (row.status, row.error_kind) == ("failed", kind)
    assert PROVIDER_PASSWORD not in (row.error_message or "")
    assert catalogue_state(engine) == before


async def test_expired_account_is_recorded_on_the_provider(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = xtream_provider(engine, fake)
    fake.faults.expired = True
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "failed" and "Expired" in (row.error_message or "")
    with Session(engine) as session:
        provider = session.get_one(Provider, provider_id)
        assert provider.account_status == "Expired"
        assert provider.account_expires_at is not None


async def test_reset_after_most_of_the_vod_list_keeps_everything(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = xtream_provider(engine, fake)
    assert (await sync_provider(engine, provider_id, settings=settings)).status == "success"
    before = catalogue_state(engine)
    fake.faults.only_paths = {"get_vod_streams"}
    fake.faults.truncate_after_bytes = 3000
    row = await sync_provider(engine, provider_id, settings=settings)
    assert row.status == "failed"
    assert catalogue_state(engine) == before


async def test_entry_limit_exceeded_fails_without_partial_commit(
    engine: Engine, settings: Settings, fake: FakeProviderServer
) -> None:
    provider_id = add_provider(engine, name="m3u", kind="m3u", url=fake.m3u_url)
    settings.max_entries = 50
    row = await sync_provider(engine, provider_id, settings=settings)
    assert (row.status, row.error_kind) == ("failed", "limit_exceeded")
    assert "M3U_STRM_MAX_ENTRIES" in (row.error_message or "")
    assert catalogue_state(engine)["streams"] == []


async def test_empty_playlist_never_wipes_the_catalogue(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,One\nhttp://cdn.example/1.ts\n")
    provider_id = add_provider(engine, name="local", kind="m3u", url=str(playlist))
    await sync_provider(engine, provider_id, settings=settings)
    before = catalogue_state(engine)
    playlist.write_text("#EXTM3U\n")
    row = await sync_provider(engine, provider_id, settings=settings)
    assert (row.status, row.error_kind) == ("failed", "empty_catalogue")
    assert "catalogue was kept" in (row.error_message or "")
    assert catalogue_state(engine) == before
    with Session(engine) as session:
        assert session.scalars(select(Provider.last_sync_status)).one() == "failed"
